"""Every command and configuration block of README.md is exercised by a
test, so that the documentation cannot rot.

README.md is read when this file is collected.  Every fenced block with a
language tag (```sh, ```apache, ```c, ```html, ...) must be preceded by a
line `<!-- readme-test: NAME -->`, and every NAME must be a key of HANDLERS
(bottom of this file): the tests that run that block.  A new block without a
marker, a marker nobody handles, or a handler whose block is gone fails
test_every_readme_block_is_handled.

The configuration and the commands are taken from the README blocks at test
time, never retyped.  Only the mechanical substitutions of SUBSTITUTIONS
(below) are made, everywhere, and nothing else in a block changes.  What a
test adds AROUND a block (its scaffolding) is:

  - the harness's base configuration (pyhttpd.BASE_TEMPLATE: ServerRoot,
    logs, one free 127.0.0.1 port, the LoadModule lines of the Debian modules
    the walk-through says to a2enmod), then the README's server-wide blocks;
  - "In each virtual host": two name-based virtual hosts a.test (site A) and
    b.test (site B) on that one port, with mod_ssl and a self-signed
    certificate made here with openssl (subjectAltName a.test, b.test,
    c.test): the sites stay https:// as written, Secure cookies are real,
    and the client sends SNI and Host and verifies the certificate;
  - mod_ssl's SSLSessionCache (as Debian's ssl.conf has it), and
    `Define APACHE_LOG_DIR` (as Debian's envvars has it);
  - pages in the document root (an HTML page with the go-link block, /en/,
    /login.html, /members/);
  - walk-through 4's SQLite database: the README's CREATE TABLE, in WAL mode
    (see readme_sqlite_db);
  - for the C block: the module record after it (test_hook_block_compiles_
    as_written), plus httpd.h/http_config.h/http_log.h before it for the
    module that test_hook loads.

The install, enable and uninstall blocks need "make install" and Debian's
configuration tree: test_install.py runs them (against a copy of
/etc/apache2); here each of their commands is mapped to the place in
test_install.py that runs it, and enable/uninstall's a2enmod/a2dismod/
apachectl lines also run here, as written, on a copy of /etc/apache2.
"""

import ast
import glob
import html.parser
import http.client
import itertools
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import pytest

import pyhttpd
import sscfg
import test_install as ti
from pyhttpd import Httpd, Response, cookie_attrs, cookie_pair, free_port

# SS_README: check another copy of the README (to test this file itself)
README = Path(os.environ.get("SS_README") or pyhttpd.TOP / "README.md")

# ---------------------------------------------------------------------------
# The substitution table: README text -> what the tests use instead, and why.
# Values are formatted with the test's values ({port}, {key}, ...); a block
# that contains a pattern whose value the test did not provide fails.

SUBSTITUTIONS = [
    # walk-through 6's certificate and its virtual host (before the host
    # names: a certificate names a host, a port is no part of it)
    ("/etc/ssl/private/www.example.com.key", "{tls_dir}/a.test.key",
     "walk-through 6's key, in a temporary directory"),
    ("/etc/ssl/certs/www.example.com.pem", "{tls_dir}/a.test.pem",
     "walk-through 6's certificate, in a temporary directory"),
    ("/CN=www.example.com", "/CN=a.test", "the certificate's name: site A's host"),
    ("DNS:www.example.com", "DNS:a.test", "the certificate's name: site A's host"),
    ("<VirtualHost *:443>", "<VirtualHost 127.0.0.1:{port}>",
     "the test's free 127.0.0.1 port instead of 443"),
    ("/var/www/html", "{htdocs}", "the instance's document root"),
    ("www.example.com", "a.test:{port}",
     "site A: name-based vhost a.test on the test's free 127.0.0.1 port"),
    ("www.example.org", "b.test:{port}",
     "site B: name-based vhost b.test on the same port"),
    ("www.example.net", "c.test:{port}",
     "a third site (directive example of SharedSessionSites)"),
    ("/etc/apache2/shared-session.key", "{key}",
     "a key file made with the built shared-session-tool, mode 0600"),
    ("/var/lib/apache2/sessions", "{db_dir}",
     "walk-through 4's database directory: a temporary one, made by the sqlite-db block"),
    ("/etc/apache2/members.htpasswd", "{htpasswd}",
     "a temporary user file made with htpasswd -bcB"),
    ("redis:10.0.0.5:6379", "redis:127.0.0.1:{redis_port}",
     "a redis-server this test starts on a free loopback port"),
    ("/usr/lib/apache2/modules/mod_shared_session.so", "{module_so}",
     "the module of the build tree under test"),
    ("systemctl restart apache2", "apache2ctl restart",
     "no systemd here: Debian's apache2ctl starts the copy's apache2 itself"),
    ("systemctl reload apache2", "apache2ctl graceful",
     "no systemd here: Debian's apache2ctl (graceful starts a stopped apache2)"),
    ("TICKET", "{ticket}",
     "a real ticket taken from a page of site A"),
    ("127.0.0.1:8080", "127.0.0.1:{backend_port}",
     "walk-through 7's application: backend_echo.py, started by the test on a free "
     "loopback port"),
    ("127.0.0.1:8000", "127.0.0.1:{gunicorn_port}",
     "walk-through 8's Django site (test/integration/apps) under gunicorn, started by "
     "the test on a free loopback port"),
    ("/srv/mysite/mysite", "{django_dir}/ssapp",
     "walk-through 8's Django project package: the test's copy of apps/django_site"),
    ("/srv/mysite", "{django_dir}",
     "walk-through 8's Django project: the test's copy of apps/django_site"),
    ("/srv/php-site", "{php_dir}",
     "walk-through 8's PHP site: the test's copy of apps/php_site"),
    ("unix:/run/php/php8.2-fpm.sock|fcgi://localhost", "fcgi://127.0.0.1:{fpm_port}",
     "walk-through 8's php-fpm: started by the test with a pool of its own on a free "
     "loopback port"),
]
# Not substitutions: sh blocks run with the build tree first in PATH (so
# `shared-session-tool` is the built tool) and ${APACHE_LOG_DIR} is Define'd
# to the instance's log directory, as Debian's envvars defines it.

EXAMPLE_HOST_RE = re.compile(r"example\.(com|org|net)|10\.0\.0\.5")


def substitute(text, **values):
    """The block with the table's substitutions made (and only those)."""
    for pattern, repl, _why in SUBSTITUTIONS:
        if pattern not in text:
            continue
        try:
            value = repl.format(**values)
        except KeyError as e:
            raise AssertionError(f"the block uses {pattern!r}: the test must give "
                                 f"a value for {e} ({_why})") from None
        text = text.replace(pattern, str(value))
    left = EXAMPLE_HOST_RE.search(text)
    assert not left, f"{left.group(0)!r} left in the block after substitution:\n{text}"
    return text


# ---------------------------------------------------------------------------
# README parsing

FENCE_RE = re.compile(r"^(```+|~~~+)\s*([\w+.-]*)\s*$")
MARKER_RE = re.compile(r"^<!--\s*readme-test:\s*([A-Za-z0-9_-]+)\s*-->\s*$")
HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


class Block:
    def __init__(self, lang, name, text, line, headings):
        self.lang = lang            # "" for an untagged block
        self.name = name            # NAME of the marker before it, or None
        self.text = text
        self.line = line            # line number of the opening fence
        self.headings = headings    # the enclosing headings, outermost first

    @property
    def heading(self):
        return self.headings[-1] if self.headings else ""

    def lines(self):
        """Non-blank lines that are not comments (# for sh/apache)."""
        return [l for l in self.text.splitlines()
                if l.strip() and not l.lstrip().startswith("#")]

    def __repr__(self):
        return f"<README block {self.name or '(no marker)'} ```{self.lang} at line {self.line}>"


def parse_readme(text):
    """(blocks, problems) of a README text."""
    lines = text.splitlines()
    blocks, problems = [], []
    headings = []
    marker = None               # (name, line) waiting for its block
    i = 0
    while i < len(lines):
        line = lines[i]
        m = FENCE_RE.match(line)
        if m:
            fence, lang = m.group(1), m.group(2)
            body = []
            j = i + 1
            while j < len(lines) and lines[j].strip() != fence:
                body.append(lines[j])
                j += 1
            if j == len(lines):
                problems.append(f"line {i + 1}: the block is never closed")
            blocks.append(Block(lang, marker[0] if marker else None,
                                "\n".join(body) + "\n", i + 1, list(headings)))
            marker = None
            i = j + 1
            continue
        mm = MARKER_RE.match(line)
        if mm:
            if marker:
                problems.append(f"line {marker[1]}: marker {marker[0]!r} is not "
                                f"followed by a fenced block")
            marker = (mm.group(1), i + 1)
        elif "readme-test" in line:
            problems.append(f"line {i + 1}: malformed marker {line!r} "
                            f"(the form is <!-- readme-test: NAME -->)")
        elif line.strip():
            if marker:
                problems.append(f"line {marker[1]}: marker {marker[0]!r} is not "
                                f"directly followed by a fenced block")
                marker = None
            h = HEADING_RE.match(line)
            if h:
                level = len(h.group(1))
                headings = headings[:level - 1] + [""] * (level - 1 - len(headings))
                headings.append(h.group(2))
        i += 1
    if marker:
        problems.append(f"line {marker[1]}: marker {marker[0]!r} at the end of the file")
    return blocks, problems


README_TEXT = README.read_text()
BLOCKS, PARSE_PROBLEMS = parse_readme(README_TEXT)


def blocks_named(name):
    return [b for b in BLOCKS if b.name == name]


def block(name):
    found = blocks_named(name)
    assert len(found) == 1, f"README.md has {len(found)} blocks named {name!r}: {found}"
    return found[0]


def shell_commands(text):
    """The commands of an sh block: continuation lines joined, comments and
    blank lines dropped, white space normalised."""
    out, cur = [], ""
    for line in text.splitlines():
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        cur += line
        cmd = re.sub(r"(^|\s)#.*$", "", cur).strip()
        cur = ""
        if cmd:
            out.append(" ".join(cmd.split()))
    return out


def directive_args(text, directive):
    """Arguments of the first line of a config block that sets directive."""
    m = re.search(rf"^\s*{directive}\s+(.*?)\s*$", text, re.M)
    assert m, f"no {directive} line in:\n{text}"
    return m.group(1).split()


# ---------------------------------------------------------------------------
# Helpers: TLS, a client with SNI, the tool, two-site instances

_ids = itertools.count(1)


def run(argv, check=True, timeout=60, **kw):
    cp = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, text=True, timeout=timeout,
                        stdin=subprocess.DEVNULL, **kw)
    if check and cp.returncode != 0:
        pytest.fail(f"{' '.join(map(str, argv))} failed ({cp.returncode}):\n"
                    f"{cp.stdout[-4000:]}", pytrace=False)
    return cp


def sh(command, env=None, cwd=None, check=True):
    """Runs one README command line with bash (stdout+stderr together)."""
    cp = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", command], env=env,
                        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        text=True, timeout=60, stdin=subprocess.DEVNULL)
    if check and cp.returncode != 0:
        pytest.fail(f"README command {command!r} failed ({cp.returncode}):\n"
                    f"{cp.stdout[-4000:]}", pytrace=False)
    return cp


def tool_env():
    """PATH with the build tree first: `shared-session-tool` is the built one."""
    return dict(os.environ, PATH=f"{pyhttpd.BUILD}:{os.environ.get('PATH', '/usr/bin:/bin')}")


def inspect_ticket(key, dst, ticket):
    """shared-session-tool inspect --show-session: {field: value}."""
    cp = run([pyhttpd.TOOL, "inspect", "--key", key, "--dst", dst, "--show-session",
              ticket], check=False)
    fields = {}
    for line in cp.stdout.splitlines():
        k, sep, v = line.partition(":")
        if sep:
            fields[k.strip()] = v.strip()
    fields["_output"] = cp.stdout
    return fields


def session_of(key, dst, ticket):
    """The session entries a ticket carries (decoded)."""
    f = inspect_ticket(key, dst, ticket)
    assert f.get("result") == "ok", f["_output"]
    return sscfg.parse_session(f.get("session", ""))


@pytest.fixture(scope="module")
def readme_dir(gen_dir):
    d = gen_dir / "readme"
    d.mkdir(exist_ok=True)
    os.chmod(d, 0o755)
    return d


@pytest.fixture(scope="module")
def tls(readme_dir):
    """A self-signed certificate for a.test, b.test and c.test."""
    if not shutil.which("openssl"):
        pyhttpd.fail_missing("openssl", "openssl")
    d = readme_dir / "tls"
    d.mkdir()
    cert, key = d / "sites.crt", d / "sites.key"
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
         "-days", "2", "-subj", "/CN=a.test",
         "-addext", "subjectAltName=DNS:a.test,DNS:b.test,DNS:c.test",
         "-addext", "basicConstraints=critical,CA:FALSE",
         "-addext", "keyUsage=critical,digitalSignature",
         "-addext", "extendedKeyUsage=serverAuth"])
    os.chmod(key, 0o600)
    return {"cert": cert, "key": key}


@pytest.fixture(scope="module")
def site_key(readme_dir):
    """The shared key: README's keygen + chmod, run here as written (with
    the path substituted) by test_keygen; this one is made the same way."""
    p = readme_dir / "shared-session.key"
    key = run([pyhttpd.TOOL, "keygen"]).stdout
    p.write_text(key)
    os.chmod(p, 0o600)
    return str(p)


def https_request(port, path, host, method="GET", headers=(), body=None,
                  cafile=None, timeout=10):
    """One request over TLS to 127.0.0.1:port with SNI = the host's name, the
    certificate verified against cafile (our self-signed one)."""
    name = host.rsplit(":", 1)[0]
    ctx = ssl.create_default_context(cafile=str(cafile))
    test_id = f"readme{os.getpid()}-{next(_ids)}"
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=ctx)
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        conn.sock = ctx.wrap_socket(raw, server_hostname=name)
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host)
        conn.putheader("X-Test-Id", test_id)
        for k, v in headers:
            conn.putheader(k, v)
        if body is not None:
            data = body.encode()
            conn.putheader("Content-Length", str(len(data)))
            conn.endheaders(data)
        else:
            conn.endheaders()
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, resp.reason, resp.getheaders(), data, test_id, path)
    finally:
        conn.close()


class Site:
    """One of the two name-based virtual hosts, seen as a browser sees it."""

    def __init__(self, h, host, cafile):
        self.h = h
        self.host = host
        self.cafile = cafile

    @property
    def hostport(self):         # also the site id (the entry names the port)
        return f"{self.host}:{self.h.port}"

    @property
    def origin(self):
        return f"https://{self.hostport}"

    def get(self, path, cookie=None, referer=None, method="GET", headers=(), body=None):
        hs = list(headers)
        if path.endswith(".js") and not any(k == "Sec-Fetch-Dest" for k, _ in hs):
            # as a browser fetches a loader: for a <script>
            hs.append(("Sec-Fetch-Dest", "script"))
        if referer:
            hs.append(("Referer", referer))
        if cookie:
            hs.append(("Cookie", cookie))
        return https_request(self.h.port, path, self.hostport, method=method,
                             headers=hs, body=body, cafile=self.cafile)


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
</head>
<body>
<h1>{title}</h1>
{body}
</body>
</html>
"""


class Sites:
    """One apache2 with A and B as README's virtual hosts."""

    def __init__(self, h, a, b, values):
        self.h, self.a, self.b, self.values = h, a, b, values


def start_sites(readme_dir, tls, name, server_blocks, vhost_blocks, modules,
                values, pages=(), before=""):
    """Starts apache2 with: `before` (scaffolding), the README's server-wide
    blocks, and the README's vhost blocks inside <VirtualHost> a.test and
    b.test (mod_ssl).  Blocks are README texts, substituted here."""
    h = Httpd(name=f"readme-{name}", base_dir=readme_dir)
    values = dict(values, port=h.port)
    server = "\n".join(substitute(t, **values) for t in server_blocks)
    inside = "\n".join(substitute(t, **values) for t in vhost_blocks)
    vhosts = "".join(f"""
<VirtualHost 127.0.0.1:{h.port}>
    ServerName {host}
    SSLEngine on
    SSLCertificateFile "{tls['cert']}"
    SSLCertificateKeyFile "{tls['key']}"
# ---- README block(s) ----
{inside}
# ---- end ----
</VirtualHost>
""" for host in ("a.test", "b.test"))
    h.write_file("htdocs/page.html", PAGE.format(title="A page", body="<p>page</p>"))
    h.write_file("htdocs/en/index.html", PAGE.format(title="English site", body="<p>en</p>"))
    for rel, text in pages:
        h.write_file(rel, substitute(text, **values))
    # as Debian's ssl.conf does (mod_ssl warns without it)
    ssl_cache = 'SSLSessionCache "shmcb:{run}/ssl_scache(512000)"\n'
    h.write_config(f"{ssl_cache}{before}\n# ---- README server-wide block(s) ----\n{server}\n"
                   f"# ---- end ----\n{vhosts}",
                   modules=["ssl", "dir"] + list(modules))
    rc, out = h.configtest()
    assert rc == 0 and out.strip() == "Syntax OK", f"apache2 -t:\n{out}\n{h.conf.read_text()}"
    h.start()
    try:
        h.check_log()   # start-up lines: the per-test check starts after them
    except AssertionError:
        h.stop()
        raise
    cafile = tls["cert"]
    return Sites(h, Site(h, "a.test", cafile), Site(h, "b.test", cafile), values)


def stop_sites(s):
    s.h.stop()
    s.h.check_log()


LOADER_RE = (r'<script src="https://{site}(/shared-session/)([A-Za-z0-9_-]+)\.js" '
             r'async="async" referrerpolicy="origin"></script>')


def loader_tickets(resp, target):
    """Tickets of the loader tags for target (a Site) in a response body."""
    rx = LOADER_RE.format(site=re.escape(target.hostport))
    return [m.group(2) for m in re.finditer(rx, resp.body.decode(errors="replace"))]


def expected_cookie(vhost_text):
    """(cookie name, {attr: value}, max-age) as the README block configures them."""
    m = re.search(r"^\s*Session(?:DBD)?CookieName\s+(\S+)\s+(\S+)\s*$", vhost_text, re.M)
    assert m, vhost_text
    attrs = {}
    for part in m.group(2).split(";"):
        k, _, v = part.partition("=")
        attrs[k.strip().lower()] = v.strip()
    maxage = directive_args(vhost_text, "SessionMaxAge")[0]
    return m.group(1), attrs, maxage


def received_cookie(resp, vhost_text):
    """B's one Set-Cookie, checked against the README block's attributes;
    returns 'name=value'."""
    name, attrs, maxage = expected_cookie(vhost_text)
    sc = sorted(set(resp.set_cookies(name)))
    assert len(sc) == 1, resp
    got = cookie_attrs(sc[0])
    for k, v in attrs.items():
        assert k in got and got[k] == v, f"{k}={v} missing from {sc[0]!r}"
    assert got.get("max-age") == maxage, sc[0]
    return cookie_pair(sc[0])


def give_a_session(s, key, session="user=alice"):
    """A session on A: a ticket minted by the tool, received by A's own
    handler (README config only, no helper application).  Returns A's cookie."""
    t = run([pyhttpd.TOOL, "mint", "--key", key, "--src", s.b.hostport, "--dst",
             s.a.hostport, "--session", session]).stdout.strip()
    r = s.a.get(f"/shared-session/{t}.js", referer=s.b.origin + "/")
    assert r.status == 200, r
    assert s.h.access_entry(r)["result"] == "replaced", s.h.access_entry(r)
    cookies = [v for v in r.header_all("Set-Cookie")]
    assert cookies, r
    return cookie_pair(cookies[0])


def script_receive(s, key, vhost_text, session="user=alice", cookie=None):
    """The loader request on B for a ticket the tool minted for A -> B; returns
    (response, B's cookie)."""
    t = run([pyhttpd.TOOL, "mint", "--key", key, "--src", s.a.hostport, "--dst",
             s.b.hostport, "--session", session]).stdout.strip()
    r = s.b.get(f"/shared-session/{t}.js", referer=s.a.origin + "/", cookie=cookie)
    assert r.status == 200 and r.body == b"", r
    assert r.header("Content-Type", "").startswith("text/javascript"), r
    e = s.h.access_entry(r)
    assert (e["result"], e["reason"]) == ("replaced", "-"), e
    return r, received_cookie(r, vhost_text)


def probe_session(s, site, other, cookie, key):
    """The session a site holds for a cookie, seen with the README config
    only: the site's own `go` link to the other site mints a navigation
    ticket from that session (303 straight to `to` when it is empty), and
    the tool opens the ticket."""
    to = urllib.parse.quote(other.origin + "/en/", safe="")
    # with a state, as after the bounce through the other site's start
    state = sscfg.sstickets.b64url(os.urandom(16))
    r = site.get(f"/shared-session/go?to={to}&state={state}", cookie=cookie)
    assert r.status == 303, r
    loc = r.header("Location")
    prefix = other.origin + "/shared-session/"
    if not loc.startswith(prefix):
        assert loc == other.origin + "/en/", r
        return {}
    return session_of(key, other.hostport, loc[len(prefix):])


# ---------------------------------------------------------------------------
# 0. The README itself: every tagged block has a marker and a handler.

def test_every_readme_block_is_handled():
    problems = list(PARSE_PROBLEMS)
    names = set()
    for b in BLOCKS:
        if b.lang and not b.name:
            problems.append(f"line {b.line}: ```{b.lang} block without a "
                            f"<!-- readme-test: NAME --> marker before it")
        if b.name:
            names.add(b.name)
            if b.name not in HANDLERS:
                problems.append(f"line {b.line}: block {b.name!r} has no handler "
                                f"in HANDLERS of {Path(__file__).name}")
    for name in sorted(set(HANDLERS) - names):
        problems.append(f"HANDLERS has {name!r}, but README.md has no such block")
    for name, tests in HANDLERS.items():
        for t in tests:
            mod = sys.modules.get(t.__module__)
            ok = (callable(t) and t.__name__.startswith("test_") and mod is not None
                  and getattr(mod, t.__name__, None) is t)
            if not ok:
                problems.append(f"handler {t!r} of {name!r} is not a collected test")
    assert not problems, "\n".join(problems)


def test_substitutions_are_used():
    """Every row of the table is needed by some block (no dead rows)."""
    text = "\n".join(b.text for b in BLOCKS if b.name)
    unused = [p for p, _r, _w in SUBSTITUTIONS if p not in text]
    assert unused == [], f"substitutions no README block needs: {unused}"


# ---------------------------------------------------------------------------
# quick-start

def test_quick_start_commands_exist():
    """./dev demo and ./dev test: subcommands of ./dev, listed by ./dev help.
    (./dev test itself is the suite this test belongs to.)"""
    cmds = shell_commands(block("quick-start").text)
    assert cmds, block("quick-start")
    dev = pyhttpd.TOP / "dev"
    assert os.access(dev, os.X_OK)
    help_out = run([dev, "help"], cwd=pyhttpd.TOP).stdout
    cases = re.findall(r"^\s+([\w|-]+)\)", dev.read_text(), re.M)
    handled = {c for group in cases for c in group.split("|")}
    for cmd in cmds:
        argv = cmd.split()
        assert argv[0] == "./dev" and len(argv) == 2, cmd
        assert argv[1] in handled, f"./dev has no {argv[1]!r} command"
        assert re.search(rf"^\s*{re.escape(cmd)}(\s|$)", help_out, re.M), \
            f"./dev help does not list {cmd!r}:\n{help_out}"


def test_quick_start_demo_check(readme_dir, module_so, tool):
    """What ./dev demo runs after the build: demo/demo.py; with --check (the
    README's "./dev demo --check") on free ports, it must pass and stop."""
    sys.path.insert(0, str(pyhttpd.TOP / "demo"))
    try:
        import demo
    finally:
        sys.path.pop(0)
    pa = demo.free_port()
    pb = demo.free_port(avoid=(pa,))
    d = readme_dir / "demo"
    cp = run(["/usr/bin/python3", pyhttpd.TOP / "demo" / "demo.py", "--check",
              "--port-a", pa, "--port-b", pb, "--dir", d], check=False,
             cwd=pyhttpd.TOP, env=dict(os.environ, SS_BUILD=str(pyhttpd.BUILD)))
    assert cp.returncode == 0, cp.stdout
    assert "walkthrough: 6/6 steps OK" in cp.stdout, cp.stdout
    m = re.search(r"apache2 \(pid (\d+)\) stopped", cp.stdout)
    assert m and not pyhttpd.pid_alive(int(m.group(1))), cp.stdout


# ---------------------------------------------------------------------------
# install / enable / uninstall: run by test_install.py (make install into a
# copy of /etc/apache2).  Each command of the block -> (where in
# test_install.py, a regex its source must match).  A command missing here
# fails; so does test_install.py no longer running it.

TEST_INSTALL_RUNS = {
    "autoreconf -fi": ("sources", r'run\(\["autoreconf", "-fi"\]'),
    "./configure": ("build", r'run\(\[sources\.path / "configure"\]'),
    "make": ("build", r'run\(\["make", "-s", f"-j\{NPROC\}"\]'),
    # distcheck runs "make check" in the unpacked tarball
    "make check": ("test_distcheck_as_an_unprivileged_user",
                   r'run\(\["make", f"-j\{NPROC\}", "distcheck"\]'),
    "make install": ("test_install_and_uninstall_into_a_copy_of_etc_apache2",
                     r'run\(\["make", "install", f"DESTDIR=\{root\}"\]'),
    "a2enmod shared_session": ("Debian.enable_module",
                               r'self\.a2\("a2enmod", "shared_session"\)'),
    "a2enmod session_cookie": ("test_installed_module_serves_a_ticket",
                               r'debian\.a2\("a2enmod", "session_cookie"\)'),
    "apachectl configtest": ("test_a2enmod_and_configtest_on_stock_configuration",
                             r'run\(\[APACHE2CTL, "configtest"\]'),
    "systemctl restart apache2": ("test_installed_module_serves_a_ticket",
                                  r'debian\.start\(\)'),
    "a2dismod shared_session": ("test_a2dismod_then_uninstall",
                                r'debian\.a2\("a2dismod", "shared_session"\)'),
    "make uninstall": ("test_a2dismod_then_uninstall",
                       r'run\(\["make", "uninstall", f"DESTDIR=\{debian\.root\}"\]'),
}


def install_source(name):
    """Source text of a function (or Class.method) of test_install.py."""
    tree = ast.parse(Path(ti.__file__).read_text())
    src = Path(ti.__file__).read_text()
    parts = name.split(".")
    nodes = tree.body
    for i, part in enumerate(parts):
        found = [n for n in nodes if isinstance(n, (ast.FunctionDef, ast.ClassDef))
                 and n.name == part]
        assert found, f"test_install.py has no {name}"
        if i == len(parts) - 1:
            return ast.get_source_segment(src, found[0])
        nodes = found[0].body


# Commands of those blocks that run here instead, as written, on a copy of
# /etc/apache2: -> the test that runs them.
RUN_HERE = {
    "a2disconf shared-session": "test_enable_conf_block_on_a_copy_of_etc_apache2",
}


def check_run_by_test_install(name):
    problems = []
    for cmd in shell_commands(block(name).text):
        if cmd.startswith("apt-get "):
            continue        # test_install_block_packages
        if cmd in RUN_HERE:
            assert RUN_HERE[cmd] in globals(), RUN_HERE[cmd]
            continue
        if cmd not in TEST_INSTALL_RUNS:
            problems.append(f"{name}: README command {cmd!r} is not mapped to "
                            f"test_install.py in TEST_INSTALL_RUNS")
            continue
        where, rx = TEST_INSTALL_RUNS[cmd]
        if not re.search(rx, install_source(where)):
            problems.append(f"{name}: test_install.py's {where} no longer runs "
                            f"{cmd!r} (no match for {rx})")
    assert not problems, "\n".join(problems)


def test_install_block_is_run_by_test_install():
    check_run_by_test_install("install")


def test_install_block_packages():
    """apt-get install's packages: the names exist and are installed here,
    and they are the ones ./dev installs for a build."""
    all_cmds = shell_commands(block("install").text)
    cmds = [c for c in all_cmds if c.startswith("apt-get install ")]
    assert len(cmds) == 1, cmds
    # the package lists first (a new machine's may be old or empty), and
    # no question to answer
    assert "apt-get update" in all_cmds[:all_cmds.index(cmds[0])], all_cmds
    assert "-y" in cmds[0].split(), cmds[0]
    pkgs = [w for w in cmds[0].split()[2:] if not w.startswith("-")]
    m = re.search(r'^PKGS_BUILD="([^"]*)"',
                  (pyhttpd.TOP / "scripts" / "devlib.sh").read_text(), re.M)
    assert m and sorted(m.group(1).split()) == sorted(pkgs), (m and m.group(1), pkgs)
    for p in pkgs:
        cp = run(["dpkg-query", "-W", "-f=${Status}", p], check=False)
        assert "install ok installed" in cp.stdout, f"{p}: {cp.stdout}"


def test_enable_block_is_run_by_test_install():
    check_run_by_test_install("enable")
    # the README says apachectl, test_install.py runs apache2ctl: the same
    assert os.path.realpath("/usr/sbin/apachectl") == os.path.realpath(ti.APACHE2CTL)


def test_uninstall_block_is_run_by_test_install():
    check_run_by_test_install("uninstall")


def test_enable_and_a2dismod_as_written_on_a_copy_of_etc_apache2(readme_dir, module_so):
    """The enable block's commands run as written (systemctl substituted) on
    a copy of Debian's /etc/apache2 where the build tree's
    shared_session.load/.conf stand in for "make install" (the .load's
    module path substituted like the LoadModule block); then the uninstall
    block's a2dismod."""
    root = readme_dir / "debian"
    ti.copy_live_confdir(root / "etc" / "apache2")
    d = ti.Debian(root, free_port())
    d.make_runnable()
    avail = d.confdir / "mods-available"
    load = pyhttpd.BUILD / "shared_session.load"
    assert load.exists(), f"{load} missing (made by configure)"
    (avail / "shared_session.load").write_text(
        substitute(load.read_text(), module_so=module_so))
    shutil.copy(pyhttpd.TOP / "shared_session.conf", avail / "shared_session.conf")

    env = d.env()
    env["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin"
    outputs = []
    try:
        for cmd in shell_commands(substitute(block("enable").text)):
            cp = sh(cmd, env=env)
            outputs.append(cp.stdout)
            if cmd == "apachectl configtest":
                ti.assert_syntax_ok(cp.stdout, allowed=("AH00558",))
            if cmd.startswith("apache2ctl "):
                pidfile = Path(d.vars["APACHE_PID_FILE"])
                deadline = time.monotonic() + 10
                while d.pid is None and time.monotonic() < deadline:
                    try:
                        d.pid = int(pidfile.read_text().strip())
                    except (OSError, ValueError):
                        time.sleep(0.02)
                assert d.pid, cp.stdout + d.error_log_text()
        en = d.confdir / "mods-enabled"
        for f in ("shared_session.load", "shared_session.conf", "session.load",
                  "socache_shmcb.load", "session_cookie.load"):
            assert (en / f).is_symlink(), f"{f} not enabled:\n" + "\n".join(outputs)
        assert d.pid, "the enable block did not start apache2"
        pyhttpd.wait_port(d.port, 10)
        r = pyhttpd.request(d.port, "/")
        assert r.status in (200, 403, 404), r
        mods = d.apache2("-t", "-D", "DUMP_MODULES").stdout
        assert " shared_session_module (shared)" in mods, mods
    finally:
        d.stop()
    bad = ti.bad_log_lines("\n".join(outputs) + "\n" + d.error_log_text())
    bad = [l for l in bad if "AH00558" not in l]   # no ServerName in stock config
    assert bad == [], "\n".join(bad)

    # the uninstall block's first line (make uninstall: test_install.py)
    cmds = shell_commands(block("uninstall").text)
    assert "a2dismod shared_session" in cmds, cmds
    sh("a2dismod shared_session", env=env)
    assert not list((d.confdir / "mods-enabled").glob("shared_session.*"))
    assert (d.confdir / "mods-enabled" / "session.load").is_symlink()


def test_enable_conf_block_on_a_copy_of_etc_apache2(readme_dir, module_so, site_key):
    """Walk-through 2's server-wide block, in the file the README names
    (conf-available/shared-session.conf), enabled by the enable-conf block
    as written (systemctl substituted) on a copy of Debian's /etc/apache2
    with the module enabled; then the uninstall block's a2disconf, which
    comes before a2dismod (the directives need the module)."""
    root = readme_dir / "debian-conf"
    ti.copy_live_confdir(root / "etc" / "apache2")
    d = ti.Debian(root, free_port())
    d.make_runnable()
    avail = d.confdir / "mods-available"
    load = pyhttpd.BUILD / "shared_session.load"
    (avail / "shared_session.load").write_text(
        substitute(load.read_text(), module_so=module_so))
    shutil.copy(pyhttpd.TOP / "shared_session.conf", avail / "shared_session.conf")
    d.a2("a2enmod", "shared_session", "session_cookie")
    conf = d.confdir / "conf-available" / "shared-session.conf"
    conf.write_text(substitute(block("server-cookie").text, key=site_key, port=d.port))

    env = d.env()
    env["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin"
    outputs = []
    try:
        for cmd in shell_commands(substitute(block("enable-conf").text)):
            cp = sh(cmd, env=env)
            outputs.append(cp.stdout)
            if cmd == "apachectl configtest":
                ti.assert_syntax_ok(cp.stdout, allowed=("AH00558",))
        link = d.confdir / "conf-enabled" / "shared-session.conf"
        assert link.is_symlink() and link.resolve() == conf.resolve(), outputs
        pidfile = Path(d.vars["APACHE_PID_FILE"])
        deadline = time.monotonic() + 10
        while d.pid is None and time.monotonic() < deadline:
            try:
                d.pid = int(pidfile.read_text().strip())
            except (OSError, ValueError):
                time.sleep(0.02)
        assert d.pid, "the enable-conf block did not start apache2:\n" + "\n".join(outputs)
        pyhttpd.wait_port(d.port, 10)
        r = pyhttpd.request(d.port, "/")
        assert r.status in (200, 403, 404), r
        # the configuration apache2 reads includes the file
        inc = d.apache2("-t", "-D", "DUMP_INCLUDES").stdout
        assert re.search(r"\bconf-enabled/shared-session\.conf\b", inc), inc

        cmds = shell_commands(block("uninstall").text)
        assert cmds.index("a2disconf shared-session") < cmds.index("a2dismod shared_session"), cmds
        sh("a2disconf shared-session", env=env)
        assert not link.exists() and not link.is_symlink()
        sh("a2dismod shared_session", env=env)
        cp = d.apache2("-t")
        ti.assert_syntax_ok(cp.stdout, allowed=("AH00558",))
    finally:
        d.stop()
    bad = ti.bad_log_lines("\n".join(outputs) + "\n" + d.error_log_text())
    bad = [l for l in bad if "AH00558" not in l]
    assert bad == [], "\n".join(bad)


# ---------------------------------------------------------------------------
# loadmodule, keygen, directive examples: configtest

def configtest_ok(h):
    rc, out = h.configtest()
    assert rc == 0 and out.strip() == "Syntax OK", \
        f"apache2 -t:\n{out}\n--- config:\n{h.conf.read_text()}"


def test_loadmodule(readme_dir, module_so):
    """The LoadModule line, after mod_session's and mod_socache_shmcb's."""
    h = Httpd(name="readme-loadmodule", base_dir=readme_dir)
    line = substitute(block("loadmodule").text, module_so=module_so)
    h.write_config(line, shared_session=False)
    text = h.conf.read_text()
    assert text.index("LoadModule session_module ") < text.index(line.strip())
    assert text.index("LoadModule socache_shmcb_module ") < text.index(line.strip())
    configtest_ok(h)
    rc, out = h.dump_modules()
    assert rc == 0 and " shared_session_module (shared)" in out, out


def test_keygen(readme_dir, module_so):
    """keygen > FILE; chmod 600 FILE: a 0600 file of 32 bytes in base64 that
    apache2 takes without a word."""
    d = readme_dir / "keygen"
    d.mkdir()
    key = d / "shared-session.key"
    for cmd in shell_commands(substitute(block("keygen").text, key=key)):
        sh(cmd, env=tool_env(), cwd=d)
    assert key.stat().st_mode & 0o777 == 0o600
    text = key.read_text()
    assert re.fullmatch(r"[A-Za-z0-9+/]{43}=\n", text), text
    h = Httpd(name="readme-keygen", base_dir=readme_dir)
    h.write_config(f"SharedSessionSites https://a.test https://b.test\n"
                   f"SharedSessionKeyFile {key}\n")
    configtest_ok(h)


DIRECTIVE_BLOCKS = blocks_named("directive-example")


@pytest.mark.parametrize("blk", DIRECTIVE_BLOCKS,
                         ids=[(b.lines() or ["empty"])[0].split()[0] for b in DIRECTIVE_BLOCKS])
def test_directive_example(blk, readme_dir, module_so, site_key):
    """Each line of the example, in a minimal server config with the
    companions it needs (SharedSessionSites and a key), passes apache2 -t."""
    directive = blk.heading
    assert directive.startswith("SharedSession"), blk.headings
    assert "Directive reference" in blk.headings, blk.headings
    lines = blk.lines()
    assert lines
    for line in lines:
        assert line.split()[0] == directive, \
            f"the example under ### {directive} sets {line.split()[0]}"
        h = Httpd(name="readme-directive", base_dir=readme_dir)
        ex = substitute(line, key=site_key, port=h.port)
        companions = []
        if directive != "SharedSessionSites":
            companions.append("SharedSessionSites https://a.test https://b.test")
        if directive != "SharedSessionKeyFile":
            companions.append(f"SharedSessionKeyFile {site_key}")
        h.write_config("\n".join(companions + [ex]) + "\n")
        configtest_ok(h)
        shutil.rmtree(h.root, ignore_errors=True)


def test_every_directive_has_an_example():
    """One directive-example per directive of the reference (a deprecated
    one, which configtest warns about, has none), and the reference names
    every directive of shared_session.conf."""
    documented = {b.heading for b in DIRECTIVE_BLOCKS}
    sections, deprecated = set(), set()
    in_ref, current = False, None
    for line in README_TEXT.splitlines():
        h = HEADING_RE.match(line)
        if h and len(h.group(1)) == 2:
            in_ref = h.group(2) == "Directive reference"
        elif h and in_ref and h.group(2).startswith("SharedSession"):
            current = h.group(2)
            sections.add(current)
        elif in_ref and current and line.startswith("| Description | Deprecated"):
            deprecated.add(current)
    conf = (pyhttpd.TOP / "shared_session.conf").read_text()
    in_conf = set(re.findall(r"^# (SharedSession\w+)\s*$", conf, re.M))
    assert sections == in_conf, (sections, in_conf)
    assert sections - deprecated == documented, (sections, deprecated, documented)
    assert deprecated == {"SharedSessionAlwaysReplace"}, deprecated


# ---------------------------------------------------------------------------
# 2. Two sites with the cookie store (server-cookie, vhost-cookie, go-link),
# and inspect on one of its tickets.

@pytest.fixture(scope="module")
def cookie_sites(readme_dir, tls, site_key, module_so):
    a_page = PAGE.format(title="Site A", body=block("go-link").text)
    s = start_sites(readme_dir, tls, "cookie",
                    [block("server-cookie").text], [block("vhost-cookie").text],
                    modules=["filter"], values={"key": site_key},
                    pages=[("htdocs/a.html", a_page)])
    yield s
    stop_sites(s)


def test_server_cookie_and_vhost_cookie_script_flow(cookie_sites, site_key):
    s = cookie_sites
    vhost_text = block("vhost-cookie").text
    # the server-wide block names both sites
    sites = directive_args(substitute(block("server-cookie").text, key=site_key,
                                      port=s.h.port), "SharedSessionSites")
    assert sites == [s.a.origin, s.b.origin], sites

    # no session on A: no loader
    r = s.a.get("/page.html")
    assert r.status == 200 and loader_tickets(r, s.b) == [] and b"<script" not in r.body, r

    a_cookie = give_a_session(s, site_key)
    r = s.a.get("/page.html", cookie=a_cookie)
    assert r.status == 200, r
    tickets = loader_tickets(r, s.b)
    assert len(tickets) == 1, r.body.decode()
    assert r.body.decode().index("<script") < r.body.decode().index("</head>")
    assert "Cookie" in (r.header("Vary") or ""), r

    # the browser fetches the loader from B, with A's origin as Referer
    r = s.b.get(f"/shared-session/{tickets[0]}.js", referer=s.a.origin + "/")
    assert r.status == 200 and r.body == b"", r
    assert r.header("Content-Type", "").startswith("text/javascript"), r
    e = s.h.access_entry(r)
    assert (e["result"], e["reason"], e["src"]) == ("replaced", "-", s.a.hostport), e
    b_cookie = received_cookie(r, vhost_text)

    # B's next request sees the session: B's own pages now carry A's loader
    r = s.b.get("/page.html", cookie=b_cookie)
    back = loader_tickets(r, s.a)
    assert len(back) == 1, r.body.decode()
    assert session_of(site_key, s.a.hostport, back[0]) == {"user": "alice"}


def test_go_link(cookie_sites, site_key):
    """The README's link, on a page of A: through A's go to B's handler, to
    /en/ on B with B's cookie."""
    s = cookie_sites
    a_cookie = give_a_session(s, site_key)
    r = s.a.get("/a.html", cookie=a_cookie)
    assert r.status == 200, r

    hrefs = []

    class Links(html.parser.HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "a":
                hrefs.append(dict(attrs)["href"])
    Links().feed(r.body.decode())
    # the page holds the README's link (substituted: the example's host ->
    # b.test:port), through the SHARED_SESSION filter
    assert substitute(block("go-link").text, port=s.h.port).strip() in r.body.decode()
    assert len(loader_tickets(r, s.b)) == 1, r.body.decode()
    assert len(hrefs) == 1, hrefs
    href = hrefs[0]
    assert href.startswith("/shared-session/go?to="), href
    to = urllib.parse.parse_qs(urllib.parse.urlsplit(href).query)["to"][0]
    assert to == s.b.origin + "/en/", to

    # A bounces to B's start, which binds the flow to this browser with a
    # state cookie and sends it back to A's go with the state
    r = s.a.get(href, cookie=a_cookie)
    assert r.status == 303, r
    loc = r.header("Location")
    assert loc.startswith(s.b.origin + "/shared-session/start?"), r
    assert r.header("Referrer-Policy") == "origin", r
    u = urllib.parse.urlsplit(loc)
    r = s.b.get(f"{u.path}?{u.query}")
    assert r.status == 303, r
    state = [c for c in r.header_all("Set-Cookie") if c.startswith("__Host-ssst-")]
    assert len(state) == 1, r
    loc = r.header("Location")
    assert loc.startswith(s.a.origin + "/shared-session/go?") and "&state=" in loc, r
    u = urllib.parse.urlsplit(loc)
    r = s.a.get(f"{u.path}?{u.query}", cookie=a_cookie)
    assert r.status == 303, r
    loc = r.header("Location")
    assert loc.startswith(s.b.origin + "/shared-session/"), r
    assert r.header("Referrer-Policy") == "origin", r

    # the browser follows with the state cookie of its flow
    path = urllib.parse.urlsplit(loc).path
    r = s.b.get(path, cookie=cookie_pair(state[0]))
    assert r.status == 303, r
    assert r.header("Location") in ("/en/", s.b.origin + "/en/"), r
    e = s.h.access_entry(r)
    assert (e["result"], e["reason"]) == ("replaced", "-"), e
    b_cookie = received_cookie(r, block("vhost-cookie").text)
    r = s.b.get("/en/", cookie=b_cookie)
    assert r.status == 200 and b"English site" in r.body, r
    back = loader_tickets(r, s.a)
    assert len(back) == 1 and session_of(site_key, s.a.hostport, back[0]) == \
        {"user": "alice"}, r.body.decode()


def test_inspect(cookie_sites, site_key):
    """The README's inspect command on a ticket from A's page: result ok."""
    s = cookie_sites
    a_cookie = give_a_session(s, site_key)
    r = s.a.get("/page.html", cookie=a_cookie)
    ticket = loader_tickets(r, s.b)[0]
    cmds = shell_commands(substitute(block("inspect").text, key=site_key,
                                     port=s.h.port, ticket=ticket))
    assert len(cmds) == 1, cmds
    cp = sh(cmds[0], env=tool_env())
    assert re.search(r"^result: ok$", cp.stdout, re.M), cp.stdout
    assert re.search(rf"^src: {re.escape(s.a.hostport)}$", cp.stdout, re.M), cp.stdout
    assert re.search(rf"^dst: {re.escape(s.b.hostport)}$", cp.stdout, re.M), cp.stdout
    assert re.search(r"^age: \d+", cp.stdout, re.M), cp.stdout


# ---------------------------------------------------------------------------
# 3. mod_session_crypto, 4. mod_session_dbd

@pytest.fixture(scope="module")
def crypto_sites(readme_dir, tls, site_key, module_so):
    s = start_sites(readme_dir, tls, "crypto",
                    [block("server-cookie").text], [block("vhost-crypto").text],
                    modules=["session_crypto", "filter"], values={"key": site_key})
    yield s
    stop_sites(s)


def test_vhost_crypto(crypto_sites, site_key):
    s = crypto_sites
    vhost_text = block("vhost-crypto").text
    r, b_cookie = script_receive(s, site_key, vhost_text)
    assert "alice" not in b_cookie          # encrypted
    assert probe_session(s, s.b, s.a, b_cookie, site_key) == {"user": "alice"}
    # "A cookie B cannot decrypt counts as an empty session: a ticket still
    # replaces it, and exactly one Set-Cookie for it goes out" (beside the
    # site's own note of the generation it received).  mod_session logs
    # that it cannot decode that cookie (AH01817; AH01842 is
    # mod_session_crypto's "decrypt session failed"): expected here.
    s.h.allow("AH01817", "AH01842")
    name = expected_cookie(vhost_text)[0]
    r, again = script_receive(s, site_key, vhost_text, session="user=bob",
                              cookie=f"{name}=bm90IGVuY3J5cHRlZA")
    assert len(r.set_cookies(name)) == 1, r
    assert [c.split("=")[0] for c in r.header_all("Set-Cookie")] == \
        [name, "__Host-sssent"], r
    assert probe_session(s, s.b, s.a, again, site_key) == {"user": "bob"}


def readme_sqlite_db(db_dir):
    """The database of walk-through 4, made by the README's sqlite-db block
    as written (directory of its own for www-data, WAL mode, the table)."""
    if not glob.glob("/usr/lib/*/apr-util-1/apr_dbd_sqlite3*.so"):
        pyhttpd.fail_missing("APR's SQLite driver (apr_dbd_sqlite3)",
                             "libaprutil1-dbd-sqlite3")
    if not shutil.which("sqlite3"):
        pyhttpd.fail_missing("sqlite3", "sqlite3")
    for cmd in shell_commands(substitute(block("sqlite-db").text, db_dir=db_dir)):
        sh(cmd)
    db = Path(db_dir) / "sessions.db"
    assert db.exists(), "the sqlite-db block made no database"
    return str(db)


@pytest.fixture(scope="module")
def dbd_sites(readme_dir, tls, site_key, module_so):
    db_dir = readme_dir / "dbd"
    db = readme_sqlite_db(db_dir)
    s = start_sites(readme_dir, tls, "dbd",
                    [block("server-cookie").text], [block("vhost-dbd").text],
                    modules=["dbd", "session_dbd"],
                    values={"key": site_key, "db_dir": db_dir})
    s.db = db
    yield s
    stop_sites(s)


def test_vhost_dbd(dbd_sites, site_key):
    import sqlite3
    s = dbd_sites
    vhost_text = block("vhost-dbd").text
    for stmt in re.findall(r'^\s*DBDPrepareSQL\s+"([^"]*)"', vhost_text, re.M):
        assert stmt in s.h.conf.read_text()       # as written
    r, b_cookie = script_receive(s, site_key, vhost_text)
    row_key = b_cookie.split("=", 1)[1]
    con = sqlite3.connect(s.db)
    try:
        rows = con.execute("select key, value from session").fetchall()
    finally:
        con.close()
    mine = [v for k, v in rows if k == row_key]
    assert len(mine) == 1 and "user=alice" in mine[0], rows
    # with SessionMaxAge, mod_session_dbd also stores a row for every
    # cookieless response (the harness's plain-HTTP readiness probe): those
    # hold nothing but mod_session's expiry
    assert all(re.fullmatch(r"expiry=\d+", v) for k, v in rows if k != row_key), rows
    # B reads it back; the ticket B would mint carries entries, not the row key
    assert probe_session(s, s.b, s.a, b_cookie, site_key) == {"user": "alice"}


# ---------------------------------------------------------------------------
# 5. A shared replay cache in redis

def redis_command(port, *args):
    """One RESP command to redis-server; returns the raw reply."""
    cmd = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall(cmd.encode())
        return c.recv(4096).decode()


@pytest.fixture(scope="module")
def redis_sites(readme_dir, tls, site_key, module_so):
    wd = readme_dir / "redis"
    wd.mkdir()
    redis = pyhttpd.redis_server(wd)
    try:
        s = start_sites(readme_dir, tls, "redis",
                        [block("server-cookie").text, block("server-redis").text],
                        [block("vhost-cookie").text],
                        modules=["filter"],
                        values={"key": site_key, "redis_port": redis.port})
        s.redis = redis
        yield s
        stop_sites(s)
    finally:
        redis.stop()


def test_server_redis(redis_sites, site_key):
    s = redis_sites
    assert f"SharedSessionReplayCache redis:127.0.0.1:{s.redis.port}" in s.h.conf.read_text()
    assert redis_command(s.redis.port, "DBSIZE") == ":0\r\n"
    t = run([pyhttpd.TOOL, "mint", "--key", site_key, "--src", s.a.hostport,
             "--dst", s.b.hostport, "--session", "user=alice"]).stdout.strip()
    r1 = s.b.get(f"/shared-session/{t}.js", referer=s.a.origin + "/")
    r2 = s.b.get(f"/shared-session/{t}.js", referer=s.a.origin + "/")
    e1, e2 = s.h.access_entry(r1), s.h.access_entry(r2)
    assert (e1["result"], e1["reason"]) == ("replaced", "-"), e1
    assert (e2["result"], e2["reason"]) == ("rejected", "replayed"), e2
    assert r1.set_cookies() and not r2.set_cookies(), (r1, r2)
    # the ticket id went to redis (not to a local shmcb)
    assert redis_command(s.redis.port, "DBSIZE") == ":1\r\n"


# ---------------------------------------------------------------------------
# 6. mod_auth_form

LOGIN_PAGE = PAGE.format(title="Log in", body="""<form method="post" action="/dologin">
<input name="httpd_username"><input type="password" name="httpd_password">
</form>""")
MEMBERS_PAGE = PAGE.format(title="Members", body="<p>Welcome, member.</p>")
BYE_PAGE = PAGE.format(title="Bye", body="<p>Logged out.</p>")
MEMBER, MEMBER_PW = "alice", "wonderland"


def run_with_terminal(command, answers, env=None, timeout=30):
    """Runs one command line under a pseudo-terminal (as typed by hand),
    typing each answer after the next "password" prompt; returns the
    output.  htpasswd reads a password from the terminal, not from stdin."""
    import pty
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvpe("bash", ["bash", "-e", "-c", command], env or os.environ)
        finally:
            os._exit(127)
    out, pending = b"", list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                chunk = os.read(fd, 4096)
            except OSError:         # EIO: the child is gone
                break
            if not chunk:
                break
            out += chunk
            if pending and out.lower().count(b"password:") > len(answers) - len(pending):
                os.write(fd, pending.pop(0).encode() + b"\n")
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    text = out.decode(errors="replace")
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, \
        f"{command} failed ({status}):\n{text}"
    return text


def members_file(readme_dir):
    """The user file of walk-through 6, made by its block as written: the
    password typed twice at htpasswd's prompts, then chown and chmod."""
    if not shutil.which("htpasswd"):
        pyhttpd.fail_missing("htpasswd", "apache2-utils")
    pw = readme_dir / "members.htpasswd"
    for cmd in shell_commands(substitute(block("members-htpasswd").text, htpasswd=pw)):
        if cmd.startswith("htpasswd "):
            assert cmd.split()[-1] == MEMBER, cmd
            run_with_terminal(cmd, [MEMBER_PW, MEMBER_PW])
        elif cmd.startswith("chown ") and not pyhttpd.IS_ROOT:
            # only root may give the file to www-data's group
            os.chmod(pw, 0o600)
        else:
            sh(cmd)
    assert run(["htpasswd", "-vb", pw, MEMBER, MEMBER_PW], check=False).returncode == 0
    return pw


@pytest.fixture(scope="module")
def auth_sites(readme_dir, tls, site_key, module_so):
    pw = members_file(readme_dir)
    if pyhttpd.IS_ROOT:
        assert pw.stat().st_mode & 0o777 == 0o640, oct(pw.stat().st_mode)
    s = start_sites(readme_dir, tls, "authform",
                    [block("server-cookie").text],
                    [block("vhost-auth-form").text + "\n" + block("auth-form-logout").text],
                    modules=["auth_form", "request", "session_crypto", "authn_core",
                             "authn_file", "authz_user"],
                    values={"key": site_key, "htpasswd": pw},
                    pages=[("htdocs/login.html", block("login-form").text),
                           ("htdocs/members/index.html", MEMBERS_PAGE),
                           ("htdocs/bye.html", BYE_PAGE)])
    yield s
    stop_sites(s)


class FormFields(html.parser.HTMLParser):
    """The form's action and the names of its inputs."""

    def __init__(self):
        super().__init__()
        self.action, self.names = None, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.action = a.get("action")
        elif tag == "input" and a.get("name"):
            self.names.append(a["name"])


def test_vhost_auth_form(auth_sites, site_key):
    s = auth_sites
    vhost_text = block("vhost-auth-form").text
    auth_name = directive_args(vhost_text, "AuthName")[0]
    success = directive_args(vhost_text, "AuthFormLoginSuccessLocation")[0]

    # not logged in on B: 401 with the README's login form
    r = s.b.get("/members/")
    assert r.status == 401 and b"Log in" in r.body, r
    fields = FormFields()
    fields.feed(r.body.decode())
    assert fields.names == ["httpd_username", "httpd_password"], fields.names
    assert fields.action == "/dologin" and "<Location \"/dologin\">" in vhost_text

    # the form as a browser sends it
    form = urllib.parse.urlencode(dict(zip(fields.names, (MEMBER, MEMBER_PW))))
    r = s.a.get(fields.action, method="POST", body=form, referer=s.a.origin + "/login.html",
                headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert r.status in (302, 303), r
    assert r.header("Location") in (success, s.a.origin + success), r
    a_cookie = received_cookie(r, vhost_text)
    # (the login response is this 302, whose body a browser never renders:
    # the loader goes out on the page it redirects to)

    r = s.a.get(success, cookie=a_cookie)
    assert r.status == 200 and b"Welcome, member." in r.body, r
    tickets = loader_tickets(r, s.b)
    assert len(tickets) == 1, r.body.decode()
    carried = session_of(site_key, s.b.hostport, tickets[0])
    assert carried.get(f"{auth_name}-user") == MEMBER, carried

    r = s.b.get(f"/shared-session/{tickets[0]}.js", referer=s.a.origin + "/")
    e = s.h.access_entry(r)
    assert (e["result"], e["reason"]) == ("replaced", "-"), e
    b_cookie = received_cookie(r, vhost_text)
    r = s.b.get(success, cookie=b_cookie)
    assert r.status == 200 and b"Welcome, member." in r.body, r


def test_tls_selfsigned_certificate_serves_the_site(readme_dir, module_so):
    """Walk-through 6's certificate, made by its openssl line as written,
    in its virtual host as written: apache2 serves A's page over TLS with
    it, and a client that trusts that certificate alone verifies the name."""
    d = readme_dir / "tls-selfsigned"
    d.mkdir()
    h = Httpd(name="readme-tls", base_dir=readme_dir)
    values = {"tls_dir": d, "port": h.port, "htdocs": h.htdocs}
    for cmd in shell_commands(substitute(block("tls-selfsigned").text, **values)):
        sh(cmd, cwd=d)
    cert, key = d / "a.test.pem", d / "a.test.key"
    assert key.stat().st_mode & 0o077 == 0, oct(key.stat().st_mode)
    vhost = substitute(block("vhost-tls").text, **values)
    h.write_file("htdocs/index.html", PAGE.format(title="Site A", body="<p>over TLS</p>"))
    h.write_config('SSLSessionCache "shmcb:{run}/ssl_scache(512000)"\n' + vhost,
                   modules=["ssl", "dir"], shared_session=False)
    configtest_ok(h)
    h.start()
    try:
        r = https_request(h.port, "/", f"a.test:{h.port}", cafile=cert)
        assert r.status == 200 and b"over TLS" in r.body, r
    finally:
        h.stop()
    h.check_log()


def with_sent(resp, cookie):
    """cookie plus the site's __Host-sssent from a script answer on an https
    site: SameSite=None; Secure, so that a browser stores it there."""
    sc = resp.set_cookies("__Host-sssent")
    assert len(sc) == 1, resp
    attrs = cookie_attrs(sc[0])
    assert attrs.get("samesite") == "None" and "secure" in attrs and "httponly" in attrs, sc
    assert attrs.get("path") == "/" and "domain" not in attrs, sc
    return f"{cookie}; {cookie_pair(sc[0])}"


def test_auth_form_logout_spreads(auth_sites, site_key):
    """Log in on A, B logged in by the loader; log out on A, one page on A
    (where the logout sends the user): B is logged out, and B's pages never
    log A back in."""
    s = auth_sites
    vhost_text = block("vhost-auth-form").text
    logout_text = block("auth-form-logout").text
    success = directive_args(vhost_text, "AuthFormLoginSuccessLocation")[0]
    bye = directive_args(logout_text, "AuthFormLogoutLocation")[0]
    logout = directive_args(logout_text, "<Location")[0].strip('">')

    form = urllib.parse.urlencode({"httpd_username": MEMBER, "httpd_password": MEMBER_PW})
    r = s.a.get("/dologin", method="POST", body=form, referer=s.a.origin + "/login.html",
                headers=[("Content-Type", "application/x-www-form-urlencoded")])
    a_cookie = received_cookie(r, vhost_text)
    r = s.a.get(success, cookie=a_cookie)
    (ticket,) = loader_tickets(r, s.b)
    r = s.b.get(f"/shared-session/{ticket}.js", referer=s.a.origin + "/")
    b_cookie = received_cookie(r, vhost_text)
    assert s.b.get(success, cookie=b_cookie).status == 200
    # B remembers what it received (its own small cookie, stored from the
    # script answer): a page of B sends nothing back
    b_cookie = with_sent(r, b_cookie)
    assert loader_tickets(s.b.get(success, cookie=b_cookie), s.a) == []

    # log out on A: mod_auth_form empties the session, the module keeps a
    # tombstone, the page the logout sends the user to carries it
    r = s.a.get(logout, cookie=a_cookie)
    assert r.status in (302, 303, 307) and r.header("Location", "").endswith(bye), r
    a_cookie = received_cookie(r, vhost_text)
    assert s.a.get(success, cookie=a_cookie).status == 401
    r = s.a.get(bye, cookie=a_cookie)
    (ticket,) = loader_tickets(r, s.b)
    r = s.b.get(f"/shared-session/{ticket}.js", referer=s.a.origin + "/",
                cookie=b_cookie)
    e = s.h.access_entry(r)
    assert (e["result"], e["reason"]) == ("replaced", "-"), e
    b_cookie = with_sent(r, received_cookie(r, vhost_text))
    assert s.b.get(success, cookie=b_cookie).status == 401

    # B's pages afterwards: no loader (B holds A's tombstone), A stays logged out
    assert loader_tickets(s.b.get(bye, cookie=b_cookie), s.a) == []
    assert s.a.get(success, cookie=a_cookie).status == 401


# ---------------------------------------------------------------------------
# The hook (C block) and troubleshooting-log, on one instance

# The block's functions verbatim, in a module file: what a reader adds is the
# module record (and http_config.h, which declares it).  The running test
# also puts httpd.h/http_config.h/http_log.h first, so that it checks what
# the hook does even while the block lacks an include (see
# test_hook_block_compiles_as_written).
HOOK_HEAD = """\
/* generated by test_readme.py: README's hook block, wrapped into a module */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
"""
HOOK_RECORD = """\
/* ---- end of the README block ---- */
#include "http_config.h"
AP_DECLARE_MODULE(readme_hook) = {
    STANDARD20_MODULE_STUFF,
    NULL, NULL, NULL, NULL, NULL,
    my_register_hooks
};
"""


def build_hook(d, head):
    """apxs -c (as test_receive.py's hooktest module is built, plus -Wall
    -Werror) of the block with head before it; returns (output, .so or None)."""
    apxs = pyhttpd.APXS
    if not os.access(apxs, os.X_OK):
        pyhttpd.fail_missing("apxs", "apache2-dev")
    d.mkdir()
    (d / "mod_readme_hook.c").write_text(
        head + "/* ---- README block ---- */\n" + block("hook").text + HOOK_RECORD)
    cp = run([apxs, "-c", "-Wc,-Wall", "-Wc,-Werror", f"-I{pyhttpd.TOP}",
              "mod_readme_hook.c"], check=False, cwd=d, timeout=120)
    so = d / ".libs" / "mod_readme_hook.so"
    return cp.stdout, (so if cp.returncode == 0 and so.exists() else None)


@pytest.fixture(scope="module")
def readme_hook_so(readme_dir):
    out, so = build_hook(readme_dir / "hook", HOOK_HEAD)
    assert so, f"apxs -c failed:\n{out}"
    return so


def test_hook_block_compiles_as_written(readme_dir):
    """The block with nothing but the module record after it: its own
    #include lines must declare what it uses (ap_log_rerror, APLOG_MARK)."""
    out, so = build_hook(readme_dir / "hook-as-written", "")
    assert so, ("the README's hook block does not compile as written "
                f"(apxs -c -Wall -Werror):\n{out[-3000:]}")


@pytest.fixture(scope="module")
def observed_sites(readme_dir, tls, site_key, module_so, readme_hook_so):
    s = start_sites(readme_dir, tls, "observe",
                    [block("server-cookie").text, block("troubleshooting-log").text],
                    [block("vhost-cookie").text],
                    modules=["filter"], values={"key": site_key},
                    before=f'Define APACHE_LOG_DIR "{{logs}}"\n'
                           f"LoadModule readme_hook_module {readme_hook_so}\n")
    yield s
    stop_sites(s)


def test_hook(observed_sites, site_key):
    s = observed_sites
    rc, mods = s.h.dump_modules()
    assert " readme_hook_module (shared)" in mods, mods
    r, _ = script_receive(s, site_key, block("vhost-cookie").text)
    fmt = re.search(r'"(session from [^"]*)"', block("hook").text).group(1)
    want = fmt.replace("%s", s.a.hostport)
    # (Apache appends ", referer: ..." to a request's log line)
    m = s.h.wait_error_log(r"(?m)\[readme_hook:info\] .* " + re.escape(want)
                           + "(, referer: .*)?$")
    assert m, s.h.error_log_since_mark()[-3000:]


def test_troubleshooting_log(observed_sites, site_key):
    s = observed_sites
    text = block("troubleshooting-log").text
    fmt_name = directive_args(text, "CustomLog")[-1]
    log = s.h.logs / "shared-session.log"
    assert fmt_name == "shared", fmt_name

    def lines():
        return log.read_text().splitlines() if log.exists() else []
    before = len(lines())       # (other tests' requests on this instance)
    t = run([pyhttpd.TOOL, "mint", "--key", site_key, "--src", s.a.hostport,
             "--dst", s.b.hostport, "--session", "user=alice"]).stdout.strip()
    r1 = s.b.get(f"/shared-session/{t}.js", referer=s.a.origin + "/")
    s.h.access_entry(r1)        # r1 logged before r2 is sent
    r2 = s.b.get(f"/shared-session/{t}.js", referer=s.a.origin + "/")
    assert r1.status == r2.status == 200
    s.h.access_entry(r2)
    sscfg.wait_until(lambda: len(lines()) >= before + 2)
    got = lines()[before:]
    assert len(got) == 2, got
    src = re.escape(s.a.hostport)
    assert re.search(r'"GET /shared-session/<ticket>\.js HTTP/1\.1" 200 '
                     rf"ss=replaced/- src={src}$", got[0]), got
    assert re.search(rf" 200 ss=rejected/replayed src={src}$", got[1]), got
    assert t not in log.read_text()

    # the error-log line the README shows after the block
    example = next(b for b in BLOCKS if not b.lang and "MSS01001" in b.text)
    rx = re.escape(substitute(example.text.strip(), port=s.h.port)).replace(r"\.\.\.", ".*")
    assert re.search(rx, s.h.error_log_since_mark()), \
        (rx, s.h.error_log_since_mark()[-3000:])


# ---------------------------------------------------------------------------
# Walk-through 7: an application behind mod_proxy reads the session

@pytest.fixture(scope="module")
def backend_port(readme_dir):
    """backend_echo.py on a free loopback port, started here and stopped by pid."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve().parent
                                                 / "backend_echo.py"), str(port)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        pyhttpd.wait_port(port, 10, proc)
        yield port
    finally:
        os.kill(proc.pid, 15)
        proc.wait(10)


def backend_saw(resp):
    """What the application received: {header name: [values]}."""
    import json
    assert resp.status == 200, resp
    return json.loads(resp.body)


def session_header(seen):
    values = seen.get("x-session", [])
    assert len(values) == 1, seen       # exactly one, never the client's beside it
    return values[0]


@pytest.fixture(scope="module")
def backend_sites(readme_dir, tls, site_key, module_so, backend_port):
    s = start_sites(readme_dir, tls, "backend",
                    [block("server-cookie").text],
                    [block("vhost-cookie").text, block("vhost-backend").text],
                    modules=["filter", "proxy", "proxy_http"],
                    values={"key": site_key, "backend_port": backend_port})
    yield s
    stop_sites(s)


def test_vhost_backend(backend_sites, site_key):
    s = backend_sites
    forged = [("X-Session", "user=mallory"), ("Session", "user=mallory")]

    # no session: mod_session's fresh one (only its expiry, as the block's
    # vhost sets SessionMaxAge), never what the client sent
    seen = backend_saw(s.b.get("/app/echo", headers=forged))
    value = session_header(seen)
    assert set(dict(urllib.parse.parse_qsl(value))) == {"expiry"}, value
    assert "mallory" not in value, value

    # a session that came with a ticket from A: the application reads it
    _, b_cookie = script_receive(s, site_key, block("vhost-cookie").text)
    seen = backend_saw(s.b.get("/app/echo", cookie=b_cookie, headers=forged))
    value = session_header(seen)
    got = dict(urllib.parse.parse_qsl(value))
    assert got.get("user") == "alice" and "expiry" in got, value
    assert "mallory" not in value, value

    # the application changes it with X-Replace-Session; the client never
    # sees that header, and the change is shared like any other
    r = s.b.get("/app/login", cookie=b_cookie)
    assert r.status == 200 and r.header("X-Replace-Session") is None, r
    new_cookie = received_cookie(r, block("vhost-cookie").text)
    seen = backend_saw(s.b.get("/app/echo", cookie=new_cookie))
    assert dict(urllib.parse.parse_qsl(session_header(seen))).get("user") == "bob", seen
    assert probe_session(s, s.b, s.a, new_cookie, site_key) == {"user": "bob"}


@pytest.fixture(scope="module")
def backend_auth_sites(readme_dir, tls, site_key, module_so, backend_port):
    pw = readme_dir / "members-backend.htpasswd"
    run(["htpasswd", "-bcB", pw, MEMBER, MEMBER_PW])
    if pyhttpd.IS_ROOT:
        shutil.chown(pw, "root", pyhttpd.RUN_USER)
    os.chmod(pw, 0o640 if pyhttpd.IS_ROOT else 0o600)
    s = start_sites(readme_dir, tls, "backend-authform",
                    [block("server-cookie").text],
                    [block("vhost-auth-form").text, block("vhost-backend").text],
                    modules=["auth_form", "request", "session_crypto", "authn_core",
                             "authn_file", "authz_user", "proxy", "proxy_http"],
                    values={"key": site_key, "htpasswd": pw, "backend_port": backend_port},
                    pages=[("htdocs/login.html", LOGIN_PAGE),
                           ("htdocs/members/index.html", MEMBERS_PAGE)])
    yield s
    stop_sites(s)


def test_vhost_backend_sees_what_auth_form_keeps(backend_auth_sites):
    """mod_auth_form's session, as the application receives it: the user
    name and the password in clear (the cookie is encrypted)."""
    s = backend_auth_sites
    vhost_text = block("vhost-auth-form").text
    auth_name = directive_args(vhost_text, "AuthName")[0]
    form = urllib.parse.urlencode({"httpd_username": MEMBER, "httpd_password": MEMBER_PW})
    r = s.b.get("/dologin", method="POST", body=form, referer=s.b.origin + "/login.html",
                headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert r.status in (302, 303), r
    cookie = received_cookie(r, vhost_text)
    assert MEMBER_PW not in cookie
    got = dict(urllib.parse.parse_qsl(session_header(backend_saw(
        s.b.get("/app/echo", cookie=cookie)))))
    assert got.get(f"{auth_name}-user") == MEMBER, got
    assert got.get(f"{auth_name}-pw") == MEMBER_PW, got


# ---------------------------------------------------------------------------
# Status counters

@pytest.fixture(scope="module")
def status_sites(readme_dir, tls, site_key, module_so):
    s = start_sites(readme_dir, tls, "status",
                    [block("server-cookie").text, block("server-status").text],
                    [block("vhost-cookie").text],
                    modules=["filter", "status", "authz_host"], values={"key": site_key})
    yield s
    stop_sites(s)


def test_status_counters_block(status_sites, site_key):
    s = status_sites
    script_receive(s, site_key, block("vhost-cookie").text)
    r = s.b.get("/server-status?auto")
    assert r.status == 200, r
    auto = dict(l.split(": ", 1) for l in r.body.decode().splitlines() if ": " in l)
    assert auto.get("SharedSessionTicketsReplaced") == "1", auto
    assert auto.get("SharedSessionTicketsRejected") == "0", auto
    # every counter the README's example shows, except the reasons it elides
    example = next(b for b in BLOCKS if not b.lang and "SharedSessionCountersSince" in b.text)
    for line in example.lines():
        if ": " in line:
            assert line.split(": ")[0] in auto, (line, sorted(auto))
    r = s.b.get("/server-status")
    assert b"Shared session (mod_shared_session)" in r.body, r.body[-2000:]


# ---------------------------------------------------------------------------
# 8. An application behind Apache: each block with its real application
# (test/integration/apps, ssapps.py), the server-wide block of walk-through 2.

@pytest.fixture(scope="module")
def readme_apps(readme_dir):
    import ssapps
    d = readme_dir / "apps"
    d.mkdir()
    os.chmod(d, 0o755)
    django = ssapps.django_site(d)
    php = ssapps.php_site(d)
    g = ssapps.gunicorn(django)
    f = ssapps.php_fpm(d)
    yield {"django_dir": django, "php_dir": php, "gunicorn_port": g.port,
           "fpm_port": f.port}
    g.stop()
    f.stop()


def app_visitor(s):
    """A scripted browser over https to the README's two sites."""
    import ssapps
    return ssapps.Visitor(s.h, transport=lambda path, host, method, hs, body: https_request(
        s.h.port, path, host, method=method, headers=hs, body=body, cafile=s.a.cafile))


def app_shares_login(s, login, cookie):
    """Log in on A through the application's own form; A's loader takes the
    login to B, which then greets the user; a logout on A logs B out."""
    import ssapps
    v = app_visitor(s)
    a, b = s.a.origin, s.b.origin
    login(v, a)
    r = v.get(a + "/")
    assert "user: alice" in r.body.decode(), r
    assert len(v.loaders(r)) == 1, (r, v.jar)
    (res,) = v.run_loaders(a + "/", r)
    e = s.h.access_entry(res)
    assert (e["result"], e["reason"]) == ("replaced", "-"), e
    sc = [c for c in res.set_cookies(cookie)]
    assert sc and cookie_attrs(sc[0]).get("samesite") == "None" \
        and "secure" in cookie_attrs(sc[0]), sc
    assert v.cookies("b.test")[cookie] == v.cookies("a.test")[cookie]
    assert v.cookies("b.test")["__Host-ssgen"] == v.cookies("a.test")["__Host-ssgen"]
    assert v.user(b + "/") == ssapps.USER
    v.get(a + ("/logout/" if cookie == "sessionid" else "/logout.php"), run_loaders=True)
    assert v.user(a + "/") == "anonymous"
    assert v.user(b + "/") == "anonymous"


def test_vhost_django_proxy(readme_dir, tls, site_key, module_so, readme_apps):
    import ssapps
    s = start_sites(readme_dir, tls, "django-proxy", [block("server-cookie").text],
                    [block("vhost-django-proxy").text], modules=["proxy", "proxy_http"],
                    values=dict(readme_apps, key=site_key))
    try:
        app_shares_login(s, ssapps.django_login, "sessionid")
    finally:
        stop_sites(s)


def test_server_wsgi_and_vhost_django_wsgi(readme_dir, tls, site_key, module_so, readme_apps):
    import ssapps
    sockets = tempfile.mkdtemp(prefix="sswsgi-")   # a short path for the daemon's socket
    os.chmod(sockets, 0o755)
    s = start_sites(readme_dir, tls, "django-wsgi",
                    [block("server-cookie").text, block("server-wsgi").text],
                    [block("vhost-django-wsgi").text], modules=["wsgi"],
                    values=dict(readme_apps, key=site_key),
                    before=f"WSGISocketPrefix {sockets}/s")
    try:
        app_shares_login(s, ssapps.django_login, "sessionid")
    finally:
        stop_sites(s)
        shutil.rmtree(sockets, ignore_errors=True)


def test_vhost_php_fpm(readme_dir, tls, site_key, module_so, readme_apps):
    import ssapps
    s = start_sites(readme_dir, tls, "php-fpm", [block("server-cookie").text],
                    [block("vhost-php-fpm").text], modules=["proxy", "proxy_fcgi"],
                    values=dict(readme_apps, key=site_key))
    try:
        app_shares_login(s, ssapps.php_login, "PHPSESSID")
    finally:
        stop_sites(s)


# ---------------------------------------------------------------------------
# NAME -> the tests that exercise that README block

HANDLERS = {
    "quick-start": [test_quick_start_commands_exist, test_quick_start_demo_check],
    "install": [test_install_block_is_run_by_test_install, test_install_block_packages,
                ti.test_install_and_uninstall_into_a_copy_of_etc_apache2,
                ti.test_distcheck_as_an_unprivileged_user],
    "enable": [test_enable_block_is_run_by_test_install,
               test_enable_and_a2dismod_as_written_on_a_copy_of_etc_apache2,
               ti.test_a2enmod_and_configtest_on_stock_configuration,
               ti.test_installed_module_serves_a_ticket],
    "loadmodule": [test_loadmodule],
    "enable-conf": [test_enable_conf_block_on_a_copy_of_etc_apache2],
    "uninstall": [test_uninstall_block_is_run_by_test_install,
                  test_enable_and_a2dismod_as_written_on_a_copy_of_etc_apache2,
                  test_enable_conf_block_on_a_copy_of_etc_apache2,
                  ti.test_a2dismod_then_uninstall],
    "keygen": [test_keygen],
    "server-cookie": [test_server_cookie_and_vhost_cookie_script_flow],
    "vhost-cookie": [test_server_cookie_and_vhost_cookie_script_flow, test_go_link],
    "go-link": [test_go_link],
    "vhost-crypto": [test_vhost_crypto],
    "sqlite-db": [test_vhost_dbd],
    "vhost-dbd": [test_vhost_dbd],
    "server-redis": [test_server_redis],
    "vhost-auth-form": [test_vhost_auth_form],
    "members-htpasswd": [test_vhost_auth_form],
    "login-form": [test_vhost_auth_form],
    "tls-selfsigned": [test_tls_selfsigned_certificate_serves_the_site],
    "vhost-tls": [test_tls_selfsigned_certificate_serves_the_site],
    "auth-form-logout": [test_auth_form_logout_spreads],
    "hook": [test_hook_block_compiles_as_written, test_hook],
    "directive-example": [test_directive_example, test_every_directive_has_an_example],
    "troubleshooting-log": [test_troubleshooting_log],
    "inspect": [test_inspect],
    "vhost-backend": [test_vhost_backend, test_vhost_backend_sees_what_auth_form_keeps],
    "server-status": [test_status_counters_block],
    "vhost-django-proxy": [test_vhost_django_proxy],
    "server-wsgi": [test_server_wsgi_and_vhost_django_wsgi],
    "vhost-django-wsgi": [test_server_wsgi_and_vhost_django_wsgi],
    "vhost-php-fpm": [test_vhost_php_fpm],
}
