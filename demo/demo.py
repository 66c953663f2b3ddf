#!/usr/bin/python3
"""mod_shared_session live demo: two HTTPS sites on loopback share one login.

    ./dev demo             walkthrough, then the sites stay up for a browser
                           until Ctrl-C
    ./dev demo --check     walkthrough only; exit status 1 when a step fails

(./dev runs this file as `/usr/bin/python3 demo/demo.py [args]` from the
repository root, after the build.)

Debian's apache2 serves both sites from one configuration generated under
build/demo/ (ServerRoot, certificates, logs):

  site A  https://localhost:8443    each site: mod_auth_form login (demo/demo)
  site B  https://127.0.0.1:8444    backed by mod_session_cookie +
                                    mod_session_crypto (its own passphrase)

A's pages run through the SHARED_SESSION filter, so while you are logged in
on A they carry a loader <script> for B (the script flow); a language-
switcher style link through A's /shared-session/go sends you to B (the
navigation flow).

The server part is importable (the browser tests use it):

    from demo import DemoServer
    with DemoServer(root, host_a="a.test", host_b="b.test") as srv:
        srv.a.origin, srv.b.origin, srv.b.error_log, srv.b.access_log ...

Environment: SS_BUILD (where the module and the tool were built; default
the repository root), SS_APACHE2 (default /usr/sbin/apache2).
"""

import argparse
import html
import http.client
import ipaddress
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

sys.dont_write_bytecode = True

TOP = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("SS_BUILD") or TOP).resolve()
APACHE2 = os.environ.get("SS_APACHE2") or "/usr/sbin/apache2"
DEBIAN_MODULES = Path("/usr/lib/apache2/modules")
RUN_USER = "www-data"
IS_ROOT = os.geteuid() == 0

DEMO_USER = "demo"
DEMO_PASSWORD = "demo"
AUTH_NAME = "demo"            # the same on both sites: mod_auth_form keeps
                              # "<AuthName>-user"/"-pw" in the session
COOKIE_NAME = "session"
COOKIE_ATTRS = "path=/;Secure;HttpOnly;SameSite=None"
HANDLER_PATH = "/shared-session/"
GRACEFUL_TIMEOUT = 3          # seconds: GracefulShutdownTimeout

MODULES = ["mpm_event", "authz_core", "authz_user", "authn_core", "authn_file",
           "auth_form", "request", "session", "session_cookie", "session_crypto",
           "socache_shmcb", "ssl", "mime", "dir", "include"]

ACCESS_FORMAT = ('%h %u %t \\"%r\\" %>s \\"%{Referer}i\\" '
                 'ss=%{SHARED_SESSION_RESULT}e/%{SHARED_SESSION_REASON}e '
                 'src=%{SHARED_SESSION_SRC}e was_empty=%{SHARED_SESSION_WAS_EMPTY}e')


class DemoError(Exception):
    """Something the demo cannot go on without (a message for the user)."""


# ---------------------------------------------------------------------------
# Processes and ports

def become_subreaper():
    """apache2 -k start detaches; as a child subreaper this process becomes
    the daemon's parent and can reap it when it stops."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except (ChildProcessError, OSError):
        pass


def children_of(pid):
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    kids.append(int(d))
        except (OSError, ValueError, IndexError):
            continue
    return kids


def port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(avoid=()):
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in avoid:
            return port


def pick_port(wanted, default, avoid=()):
    if wanted:
        if wanted in avoid:
            raise DemoError(f"both sites cannot use port {wanted}")
        if not port_free(wanted):
            raise DemoError(f"port {wanted} on 127.0.0.1 is in use")
        return wanted
    if default not in avoid and port_free(default):
        return default
    return free_port(avoid)


def is_ip(host):
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


# ---------------------------------------------------------------------------
# The two sites

class Site:
    def __init__(self, label, host, port, root):
        self.label = label                  # "A" / "B"
        self.key = label.lower()            # file names
        self.host = host.lower()
        self.port = port
        self.passphrase = secrets.token_urlsafe(24)
        self.docroot = root / "htdocs" / self.key
        self.cert = root / "conf" / "certs" / f"{self.host}.crt"
        self.cert_key = root / "conf" / "certs" / f"{self.host}.key"
        self.htpasswd = root / "conf" / f"{self.key}.htpasswd"
        self.error_log = root / "logs" / f"{self.key}_error_log"
        self.access_log = root / "logs" / f"{self.key}_access_log"

    @property
    def origin(self):
        return f"https://{self.host}:{self.port}"

    @property
    def site_id(self):
        return f"{self.host}:{self.port}"

    def url(self, path="/"):
        return self.origin + path

    def __repr__(self):
        return f"<Site {self.label} {self.origin}>"


HOME_PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Site {label} - mod_shared_session demo</title>
<style>
body {{ font-family: sans-serif; max-width: 44em; margin: 2em auto; }}
nav.switcher {{ float: right; }}
code {{ background: #eee; }}
</style>
</head>
<body>
<nav class="switcher">Site: <b>{label}</b> ({site_id}) |
<a id="switch" href="{go_home}">Site {other_label} ({other_id})</a></nav>
<h1>Site {label}</h1>
<p>This is <code>{origin}/</code>, one of the two sites of the
mod_shared_session demo (the other one is <code>{other_origin}/</code>).</p>
<p>This page goes through the <code>SHARED_SESSION</code> output filter: while you
have a session on this site, it carries a loader script for site {other_label}
(look at the page source) that copies your session there, in browsers that allow
third-party cookies. The link at the top right goes to site {other_label}
through <code>{handler}go</code> and copies it in every browser.</p>
<ul>
<li><a id="login" href="/login.html">Log in</a> (user <b>{user}</b>, password <b>{password}</b>)</li>
<li><a id="private" href="/private/">The protected page</a> of this site</li>
<li><a id="private-other" href="{go_private}">The protected page of site {other_label}</a>
    (through <code>{handler}go</code>)</li>
<li><a id="logout" href="/logout">Log out</a> (the next page of this site carries the
    logout to site {other_label})</li>
</ul>
</body>
</html>
"""

PRIVATE_PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Site {label} - protected page</title>
<style>body {{ font-family: sans-serif; max-width: 44em; margin: 2em auto; }}
nav.switcher {{ float: right; }}</style>
</head>
<body>
<nav class="switcher">Site: <b>{label}</b> ({site_id}) |
<a id="switch" href="{go_private}">Site {other_label} ({other_id})</a></nav>
<h1>Site {label}: protected page</h1>
<p id="greeting">Hello, <b id="user"><!--#echo var="REMOTE_USER" --></b>!</p>
<p>You are logged in on site {label} (<code>{origin}</code>).
<a href="/">Home</a> | <a id="logout" href="/logout">Log out</a> (of both sites)</p>
</body>
</html>
"""

LOGIN_PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Site {label} - log in</title>
<style>body {{ font-family: sans-serif; max-width: 44em; margin: 2em auto; }}</style>
</head>
<body>
<h1>Site {label}: log in</h1>
<form id="login-form" method="post" action="/dologin">
<p><label>User <input name="httpd_username" autocomplete="username" value=""></label></p>
<p><label>Password <input type="password" name="httpd_password" autocomplete="current-password"></label></p>
<input type="hidden" name="httpd_location" value="/private/">
<p><button id="login-button" type="submit">Log in</button></p>
</form>
<p>Demo user: <b>{user}</b>, password <b>{password}</b>. <a href="/">Home</a></p>
</body>
</html>
"""

CONF_TEMPLATE = """\
# mod_shared_session demo, generated by demo/demo.py: do not edit
ServerRoot "{root}"
ServerName {server_name}
Listen 127.0.0.1:{port_a}
Listen 127.0.0.1:{port_b}
PidFile "{run}/httpd.pid"
DefaultRuntimeDir "{run}"
Mutex file:{run} default
ErrorLog "{logs}/error_log"
LogLevel {loglevel}
LogFormat "{access_format}" demo
{user_group}
{load_modules}

StartServers 1
ServerLimit 2
ThreadsPerChild 16
ThreadLimit 16
MaxRequestWorkers 32
MinSpareThreads 4
MaxSpareThreads 32
Timeout 30
KeepAlive On
GracefulShutdownTimeout {graceful}

TypesConfig /etc/mime.types
AddType text/html .shtml
DirectoryIndex index.html index.shtml

SSLSessionCache "shmcb:{run}/ssl_scache(512000)"
SSLProtocol all -SSLv3 -TLSv1 -TLSv1.1

<Directory />
    AllowOverride None
    Require all denied
</Directory>

# The same two lines on every site: the list of sites and the shared key.
SharedSessionSites {site_a} {site_b}
SharedSessionKeyFile "{keyfile}"
{vhosts}
"""

VHOST_TEMPLATE = """
# ---- site {label}: {origin}
<VirtualHost 127.0.0.1:{port}>
    ServerName {origin}
    DocumentRoot "{docroot}"
    ErrorLog "{error_log}"
    CustomLog "{access_log}" demo

    SSLEngine on
    SSLCertificateFile "{cert}"
    SSLCertificateKeyFile "{cert_key}"

    # the session: an encrypted cookie, this site's own passphrase
    Session On
    SessionCookieName {cookie_name} {cookie_attrs}
    SessionCryptoPassphrase "{passphrase}"
    SessionMaxAge {max_age}

    ErrorDocument 401 /login.html

    <Directory "{docroot}">
        Require all granted
        Options -Indexes
        # HTML pages carry the loader <script> for the other site
        SetOutputFilter SHARED_SESSION
    </Directory>

    <Directory "{docroot}/private">
        Options +IncludesNOEXEC
        SetOutputFilter INCLUDES;SHARED_SESSION
        AuthType form
        AuthName {auth_name}
        AuthFormProvider file
        AuthUserFile "{htpasswd}"
        Require valid-user
    </Directory>

    <Location "/dologin">
        SetHandler form-login-handler
        AuthType form
        AuthName {auth_name}
        AuthFormProvider file
        AuthUserFile "{htpasswd}"
        AuthFormLoginSuccessLocation /private/
        Require all granted
    </Location>

    <Location "/logout">
        SetHandler form-logout-handler
        AuthType form
        AuthName {auth_name}
        # the home page it sends the user to carries the logout to the
        # other site (its loader: the emptied session is a newer generation)
        AuthFormLogoutLocation /
        Require all granted
    </Location>

    # mod_shared_session's handler (mod_session is on here: Session On above)
    <Location "{handler}">
        SetHandler shared-session
        Require all granted
    </Location>
</VirtualHost>
"""


def go_url(src, dst, path):
    """The `go` link on src that sends the user to dst's path."""
    return (src.url(HANDLER_PATH + "go") + "?to="
            + urllib.parse.quote(dst.url(path), safe=""))


class DemoServer:
    """Debian's apache2 with the two demo sites, all files under root."""

    def __init__(self, root=None, host_a="localhost", host_b="127.0.0.1",
                 port_a=None, port_b=None, build=None, max_age=3600,
                 loglevel="warn shared_session:info", apache2=APACHE2):
        self.root = Path(root or TOP / "build" / "demo").resolve()
        self.build = Path(build or BUILD).resolve()
        self.module_so = self.build / ".libs" / "mod_shared_session.so"
        self.tool = self.build / "shared-session-tool"
        self.apache2 = apache2
        self.max_age = max_age
        self.loglevel = loglevel
        self.conf = self.root / "conf" / "httpd.conf"
        self.keyfile = self.root / "conf" / "shared-session.key"
        self.logs = self.root / "logs"
        self.run = self.root / "run"
        self.pidfile = self.run / "httpd.pid"
        self.error_log = self.logs / "error_log"
        self.pid = None
        self._started = False
        if host_a.lower() == host_b.lower():
            raise DemoError("the two sites need two different host names")
        pa = pick_port(port_a, 8443)
        pb = pick_port(port_b, 8444, avoid=(pa,))
        self.a = Site("A", host_a, pa, self.root)
        self.b = Site("B", host_b, pb, self.root)
        self.a.other, self.b.other = self.b, self.a

    @property
    def sites(self):
        return (self.a, self.b)

    # ---- files -----------------------------------------------------------
    def check_prerequisites(self):
        def need(path, what):
            if not Path(path).exists():
                raise DemoError(what)
        need(self.apache2, f"{self.apache2} not found: install the Debian package apache2")
        need(DEBIAN_MODULES / "mod_ssl.so", "mod_ssl not found: install the Debian package apache2")
        need(DEBIAN_MODULES / "mod_auth_form.so",
             "mod_auth_form not found: install the Debian package apache2")
        for exe, pkg in (("openssl", "openssl"), ("htpasswd", "apache2-utils")):
            if not shutil.which(exe):
                raise DemoError(f"{exe} not found: install the Debian package {pkg}")
        need(self.module_so, f"module not built: {self.module_so} is missing "
             f"(./dev build, or set SS_BUILD)")
        need(self.tool, f"tool not built: {self.tool} is missing (./dev build, or set SS_BUILD)")

    def _run(self, argv, what):
        cp = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            stdin=subprocess.DEVNULL, timeout=60)
        if cp.returncode != 0:
            raise DemoError(f"{what} failed ({cp.returncode}):\n{cp.stdout}")
        return cp.stdout

    def _make_cert(self, site):
        """A self-signed certificate for the site's host (kept between runs,
        so that a browser's exception for it stays valid)."""
        if site.cert.exists() and site.cert_key.exists():
            return
        site.cert.parent.mkdir(parents=True, exist_ok=True)
        san = f"IP:{site.host}" if is_ip(site.host) else f"DNS:{site.host}"
        self._run(["openssl", "req", "-x509", "-newkey", "ec",
                   "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                   "-keyout", site.cert_key, "-out", site.cert, "-days", "825",
                   "-subj", f"/CN={site.host}/O=mod_shared_session demo",
                   "-addext", f"subjectAltName={san}",
                   "-addext", "basicConstraints=critical,CA:FALSE",
                   "-addext", "keyUsage=critical,digitalSignature",
                   "-addext", "extendedKeyUsage=serverAuth"],
                  f"openssl req (certificate for {site.host})")
        os.chmod(site.cert_key, 0o600)

    def _chmod_for_children(self, path, mode=0o640):
        """Readable by apache2's children (www-data when run as root)."""
        if IS_ROOT:
            shutil.chown(path, "root", RUN_USER)
            os.chmod(path, mode)
        else:
            os.chmod(path, 0o600)

    def prepare(self):
        """Writes certificates, the shared key, password files, pages and
        httpd.conf."""
        self.check_prerequisites()
        self._check_not_running()
        for d in (self.root, self.root / "conf", self.logs, self.run,
                  self.root / "htdocs"):
            d.mkdir(parents=True, exist_ok=True)
            os.chmod(d, 0o755)
        for f in list(self.logs.iterdir()):
            f.unlink()
        # the key every site shares, made by the project's tool, 0600
        key = self._run([self.tool, "keygen"], "shared-session-tool keygen").strip()
        fd = os.open(self.keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key + "\n")
        os.chmod(self.keyfile, 0o600)
        for site in self.sites:
            self._make_cert(site)
            self._run(["htpasswd", "-bcB", site.htpasswd, DEMO_USER, DEMO_PASSWORD],
                      f"htpasswd for site {site.label}")
            self._chmod_for_children(site.htpasswd)
            self._write_pages(site)
        self.conf.write_text(self.config_text())
        return self

    def _write_pages(self, site):
        other = site.other
        values = dict(label=site.label, other_label=other.label,
                      site_id=html.escape(site.site_id),
                      other_id=html.escape(other.site_id),
                      origin=html.escape(site.origin),
                      other_origin=html.escape(other.origin),
                      go_home=html.escape(go_url(site, other, "/")),
                      go_private=html.escape(go_url(site, other, "/private/")),
                      handler=HANDLER_PATH, user=DEMO_USER, password=DEMO_PASSWORD)
        if site.docroot.exists():
            shutil.rmtree(site.docroot)
        (site.docroot / "private").mkdir(parents=True)
        for rel, text in (("index.html", HOME_PAGE), ("login.html", LOGIN_PAGE),
                          ("private/index.shtml", PRIVATE_PAGE)):
            p = site.docroot / rel
            p.write_text(text.format(**values))
            os.chmod(p, 0o644)
        for d in (site.docroot, site.docroot / "private"):
            os.chmod(d, 0o755)

    def config_text(self):
        mods = [f"LoadModule {m}_module {DEBIAN_MODULES / f'mod_{m}.so'}" for m in MODULES]
        mods.append(f"LoadModule shared_session_module {self.module_so}")
        vhosts = "".join(VHOST_TEMPLATE.format(
            label=s.label, origin=s.origin, port=s.port, docroot=s.docroot,
            error_log=s.error_log, access_log=s.access_log, cert=s.cert,
            cert_key=s.cert_key, cookie_name=COOKIE_NAME, cookie_attrs=COOKIE_ATTRS,
            passphrase=s.passphrase, max_age=self.max_age, auth_name=AUTH_NAME,
            htpasswd=s.htpasswd, handler=HANDLER_PATH) for s in self.sites)
        return CONF_TEMPLATE.format(
            root=self.root, server_name=self.a.host, port_a=self.a.port,
            port_b=self.b.port, run=self.run, logs=self.logs,
            loglevel=self.loglevel, access_format=ACCESS_FORMAT,
            user_group=f"User {RUN_USER}\nGroup {RUN_USER}" if IS_ROOT else "",
            load_modules="\n".join(mods), site_a=self.a.origin, site_b=self.b.origin,
            keyfile=self.keyfile, vhosts=vhosts, graceful=GRACEFUL_TIMEOUT)

    # ---- control -----------------------------------------------------------
    def _apache2(self, *args, timeout=30):
        cp = subprocess.run([self.apache2, "-f", str(self.conf), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        return cp.returncode, cp.stdout

    def _pid_from_file(self):
        """The pid in our pid file when that process is an apache2 running
        our configuration, else None."""
        try:
            pid = int(self.pidfile.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) and str(self.conf).encode() in cmdline else None

    def _check_not_running(self):
        """Refuses to overwrite the files of a demo apache2 that still runs
        from this directory (another terminal, or a demo killed with -9)."""
        pid = self._pid_from_file()
        if pid:
            raise DemoError(f"a demo apache2 (pid {pid}) still runs from {self.root}: stop "
                            f"it (Ctrl-C where it runs, or: kill {pid}) or use --dir")

    def start(self, timeout=15):
        become_subreaper()
        rc, out = self._apache2("-t")
        if rc != 0:
            raise DemoError(f"apache2 -t failed:\n{out}")
        self.start_output = out
        self._started = True
        rc, out = self._apache2("-k", "start")
        if rc != 0:
            raise DemoError(f"apache2 -k start failed ({rc}):\n{out}\n{self.log_tail()}")
        deadline = time.monotonic() + timeout
        while self.pid is None:
            try:
                self.pid = int(self.pidfile.read_text().strip())
            except (OSError, ValueError):
                if time.monotonic() > deadline:
                    raise DemoError(f"apache2 wrote no pid file {self.pidfile}\n{self.log_tail()}")
                time.sleep(0.02)
        try:
            for s in self.sites:
                self._wait_ready(s, deadline)
        except DemoError:
            self.stop()
            raise
        return self

    def _wait_ready(self, site, deadline):
        last = None
        while time.monotonic() < deadline:
            if not pid_alive(self.pid):
                raise DemoError(f"apache2 exited during start-up\n{self.log_tail()}")
            try:
                Client().request("GET", site.url("/login.html"), timeout=2)
                return
            except (OSError, http.client.HTTPException) as e:
                last = e
                time.sleep(0.05)
        raise DemoError(f"site {site.label} does not answer on {site.origin}: {last}\n"
                        f"{self.log_tail()}")

    def stop(self, timeout=10):
        """Stops apache2 by its pid and reaps it: a graceful stop (SIGWINCH,
        like apache2 -k graceful-stop; GracefulShutdownTimeout bounds it),
        then SIGTERM, then SIGKILL.  (A plain SIGTERM makes Debian's
        mpm_event child crash now and then in its shutdown path, when a
        worker is still closing a connection; the graceful stop avoids it.)"""
        pid, self.pid = self.pid, None
        if not pid and self._started:
            pid = self._pid_from_file()     # interrupted while starting
        self._started = False
        if not pid:
            return
        kids = children_of(pid)
        deadline = time.monotonic() + timeout
        for sig, wait in ((signal.SIGWINCH, GRACEFUL_TIMEOUT + 2), (signal.SIGTERM, timeout)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            end = min(deadline, time.monotonic() + wait)
            while pid_alive(pid) and time.monotonic() < end:
                reap(pid)
                time.sleep(0.02)
            if not pid_alive(pid):
                break
        for p in [pid] + kids:
            end = time.monotonic() + 3
            while pid_alive(p) and time.monotonic() < end:
                time.sleep(0.02)
            if pid_alive(p):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            reap(p)

    @property
    def running(self):
        return bool(self.pid) and pid_alive(self.pid)

    def __enter__(self):
        self.prepare()
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # ---- logs --------------------------------------------------------------
    def log_tail(self, n=3000):
        out = []
        for p in (self.error_log, self.a.error_log, self.b.error_log):
            try:
                t = p.read_text(errors="replace")
            except OSError:
                continue
            if t.strip():
                out.append(f"--- {p}\n{t[-n:]}")
        return "\n".join(out)

    def bad_log_lines(self):
        """warn-or-worse lines (or children that died) in every error log."""
        rx = re.compile(r"\[(?:[\w.-]+:)?(warn|error|crit|alert|emerg)\]|exit signal|"
                        r"seg(mentation)? ?fault", re.I)
        bad = []
        for p in (self.error_log, self.a.error_log, self.b.error_log):
            try:
                bad += [f"{p.name}: {l}" for l in p.read_text(errors="replace").splitlines()
                        if rx.search(l)]
            except OSError:
                pass
        return bad


# ---------------------------------------------------------------------------
# A minimal scripted browser: a cookie jar per host, Referer headers, no
# JavaScript, redirects followed by the caller.  Every connection goes to
# 127.0.0.1 (like Chromium's --host-resolver-rules), with the site's host
# name in SNI and Host.

class _Conn(http.client.HTTPSConnection):
    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(
            sock, server_hostname=None if is_ip(self.host) else self.host)


class Response:
    def __init__(self, method, url, status, headers, body):
        self.method, self.url, self.status = method, url, status
        self.headers = headers          # [(name, value)] as received
        self.body = body

    def header(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    def set_cookies(self):
        return [v for k, v in self.headers if k.lower() == "set-cookie"]

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")


def parse_set_cookie(value):
    """'n=v; A=1; Secure' -> (name, value, {'a': '1', 'secure': ''}, [attr names as sent])"""
    parts = value.split(";")
    name, _, val = parts[0].strip().partition("=")
    attrs, shown = {}, []
    for p in parts[1:]:
        p = p.strip()
        if not p:
            continue
        k, _, v = p.partition("=")
        attrs[k.strip().lower()] = v.strip()
        shown.append(p)
    return name.strip(), val.strip(), attrs, shown


class Client:
    def __init__(self):
        self.jar = {}       # host -> {name: value}
        self.ctx = ssl.create_default_context()
        self.ctx.check_hostname = False
        self.ctx.verify_mode = ssl.CERT_NONE

    def cookies(self, host):
        return dict(self.jar.get(host.lower(), {}))

    def request(self, method, url, referer=None, form=None, timeout=10, dest=None):
        u = urllib.parse.urlsplit(url)
        host = u.hostname
        path = (u.path or "/") + (f"?{u.query}" if u.query else "")
        conn = _Conn(host, u.port or 443, timeout=timeout, context=self.ctx)
        try:
            headers = {"User-Agent": "mod_shared_session-demo/1",
                       "Accept": "text/html,*/*"}
            jar = self.jar.get(host.lower())
            if jar:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
            if referer:
                headers["Referer"] = referer
            if dest:
                # what a browser says it fetches for (a <script>, a page)
                headers["Sec-Fetch-Dest"] = dest
            body = None
            if form is not None:
                body = urllib.parse.urlencode(form)
                headers["Content-Type"] = "application/x-www-form-urlencoded"
                headers["Origin"] = f"{u.scheme}://{u.netloc}"
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            resp = Response(method, url, r.status, r.getheaders(), r.read())
        finally:
            conn.close()
        for sc in resp.set_cookies():
            name, val, attrs, _ = parse_set_cookie(sc)
            jar = self.jar.setdefault(host.lower(), {})
            gone = attrs.get("max-age", "1").lstrip("-").isdigit() and \
                int(attrs.get("max-age", "1")) <= 0
            if gone or not val:
                jar.pop(name, None)
            else:
                jar[name] = val
        return resp

    def get(self, url, referer=None, dest="document"):
        return self.request("GET", url, referer=referer, dest=dest)

    def post(self, url, form, referer=None):
        return self.request("POST", url, referer=referer, form=form)


# ---------------------------------------------------------------------------
# The walkthrough

class StepFailed(Exception):
    pass


def short(s, keep=10):
    """A long token shortened for printing."""
    return s if len(s) <= 2 * keep + 3 else f"{s[:keep]}…{s[-4:]} ({len(s)} chars)"


def cookie_line(sc):
    name, val, _, shown = parse_set_cookie(sc)
    return f"{name}=<{len(val)} chars, encrypted>; " + "; ".join(shown)


GREETING_RE = re.compile(r'<p id="greeting">Hello, <b id="user">([^<]*)</b>!</p>')
LOADER_RE = re.compile(r'<script src="([^"]*)" async="async" referrerpolicy="origin"></script>')
INFO_RE = r"\[shared_session:info\].*MSS01001: (result=\S+ reason=\S+ mode={mode} .*)"


class Walkthrough:
    def __init__(self, srv, out=None):
        self.srv = srv
        self.a, self.b = srv.a, srv.b
        self.out = out
        self.results = []

    def say(self, text=""):
        print(text, file=self.out or sys.stdout, flush=True)

    def detail(self, text):
        self.say("      " + text)

    def expect(self, cond, why):
        if not cond:
            raise StepFailed(why)

    def run_step(self, n, title, fn, *args):
        self.say(f"\n[{n}] {title}")
        try:
            fn(*args)
        except StepFailed as e:
            self.results.append((n, False))
            self.say(f"[{n}] FAIL: {e}")
            return False
        except (OSError, http.client.HTTPException) as e:
            self.results.append((n, False))
            self.say(f"[{n}] FAIL: {type(e).__name__}: {e}")
            return False
        self.results.append((n, True))
        self.say(f"[{n}] OK")
        return True

    def skip(self, n, title, because):
        self.say(f"\n[{n}] {title}")
        self.results.append((n, False))
        self.say(f"[{n}] FAIL: not run, step {because} failed")

    @property
    def ok(self):
        return bool(self.results) and all(ok for _, ok in self.results)

    # ---- helpers ----------------------------------------------------------
    def show(self, r, note=""):
        loc = r.header("Location")
        path = urllib.parse.urlsplit(r.url)
        shown = f"{path.scheme}://{path.netloc}{path.path}"
        if "/shared-session/" in path.path and not path.path.endswith(("/go", "/start")):
            ticket = path.path.rsplit("/", 1)[1]
            ticket = ticket[:-3] if ticket.endswith(".js") else ticket
            shown = shown.replace(ticket, short(ticket))
        elif path.query:
            shown += "?" + path.query
        line = f"{r.method} {shown} -> {r.status}"
        if loc:
            lu = urllib.parse.urlsplit(loc)
            if "/shared-session/" in lu.path and not lu.path.endswith(("/go", "/start")):
                t = lu.path.rsplit("/", 1)[1]
                loc = loc.replace(t, short(t))
            line += f"  Location: {loc}"
        self.detail(line + (f"  {note}" if note else ""))

    def log_size(self, site):
        try:
            return site.error_log.stat().st_size
        except OSError:
            return 0

    def wait_info_line(self, site, since, mode, timeout=3.0):
        rx = re.compile(INFO_RE.format(mode=mode))
        deadline = time.monotonic() + timeout
        while True:
            try:
                with open(site.error_log, "rb") as f:
                    f.seek(since)
                    text = f.read().decode("utf-8", "replace")
            except OSError:
                text = ""
            m = rx.search(text)
            if m or time.monotonic() > deadline:
                return m.group(1) if m else None
            time.sleep(0.05)

    def login(self, c, site):
        r = c.get(site.url("/private/"))
        self.show(r, "(not logged in: the login form)")
        self.expect(r.status == 401 and "httpd_username" in r.text,
                    f"expected 401 with the login form, got {r.status}")
        r = c.post(site.url("/dologin"), {"httpd_username": DEMO_USER,
                                          "httpd_password": DEMO_PASSWORD,
                                          "httpd_location": "/private/"},
                   referer=site.url("/login.html"))
        self.show(r, f"(form: httpd_username={DEMO_USER}, httpd_password=***)")
        sc = [s for s in r.set_cookies() if s.startswith(COOKIE_NAME + "=")]
        self.expect(r.status in (302, 303) and sc,
                    f"expected a redirect with a Set-Cookie {COOKIE_NAME}, got {r.status} "
                    f"{r.set_cookies()}")
        self.detail(f"{site.label}'s Set-Cookie: {cookie_line(sc[-1])}")
        r = c.get(urllib.parse.urljoin(site.url("/"), r.header("Location")),
                  referer=site.url("/login.html"))
        m = GREETING_RE.search(r.text)
        self.show(r, f'greets "{m.group(1)}"' if m else "(no greeting)")
        self.expect(r.status == 200 and m and m.group(1) == DEMO_USER,
                    f"site {site.label}'s protected page does not greet {DEMO_USER}")
        return r

    # ---- steps ------------------------------------------------------------
    def step1(self):
        self.detail("(the browser: a small scripted client that keeps cookies per host "
                    "and sends Referer)")
        self.landing = self.login(self.c1, self.a)
        self.expect(COOKIE_NAME in self.c1.cookies(self.a.host),
                    f"no {COOKIE_NAME} cookie for {self.a.host}")

    def step2(self):
        r = self.landing
        self.show(r, "(the page the login landed on, above)")
        loaders = LOADER_RE.findall(r.text)
        self.expect(r.status == 200 and loaders,
                    f"A's protected page ({r.status}) has no loader <script>")
        prefix = self.b.url(HANDLER_PATH)
        mine = [u for u in loaders if u.startswith(prefix) and u.endswith(".js")]
        self.expect(len(mine) == 1, f"expected one loader for {prefix}, got {loaders}")
        self.loader = mine[0]
        ticket = self.loader[len(prefix):-3]
        self.detail("the loader, right before </head>:")
        self.detail(f'  <script src="{prefix}{short(ticket, 16)}.js" async="async" '
                    f'referrerpolicy="origin"></script>')
        self.detail(f"  (the ticket: A's session, encrypted for {self.b.site_id} with "
                    f"the shared key, valid for 30 s, once)")
        self.detail(f"Cache-Control: {r.header('Cache-Control')}   Vary: {r.header('Vary')}")
        sent = [x for x in r.set_cookies() if x.startswith("__Host-sssent=")]
        self.expect(sent, "A did not remember what it sent (no __Host-sssent cookie)")
        self.detail(f"A remembers what it sent: {parse_set_cookie(sent[0])[0]}=<generation>; "
                    + "; ".join(parse_set_cookie(sent[0])[3]))
        r = self.c1.get(self.a.url("/"), referer=self.a.url("/private/"))
        self.show(r, "A's home page: the session did not change, no loader")
        self.expect(r.status == 200 and not LOADER_RE.findall(r.text),
                    "A's home page sends the unchanged session again")

    def step3(self):
        since = self.log_size(self.b)
        referer = self.a.url("/private/")
        self.detail(f"(as a browser does for the <script>: Referer: {referer})")
        r = self.c1.get(self.loader, referer=referer, dest="script")
        self.show(r, f"{r.header('Content-Type')}, {len(r.body)} bytes")
        sc = [s for s in r.set_cookies() if s.startswith(COOKIE_NAME + "=")]
        self.expect(r.status == 200 and sc, f"expected 200 with B's Set-Cookie, got "
                    f"{r.status} {r.set_cookies()}")
        name, _, attrs, _ = parse_set_cookie(sc[-1])
        self.detail(f"B's Set-Cookie: {cookie_line(sc[-1])}")
        self.detail("  (B's own cookie name, attributes and SessionMaxAge, encrypted with "
                    "B's own passphrase)")
        missing = [a for a in ("secure", "httponly") if a not in attrs]
        if attrs.get("samesite", "").lower() != "none":
            missing.append("SameSite=None")
        self.expect(not missing, f"B's cookie lacks {missing}")
        line = self.wait_info_line(self.b, since, "script")
        self.detail(f"B's error log ({self.b.error_log.name}): {line or '(no line)'}")
        self.expect(line and line.startswith("result=replaced reason=-"),
                    "B's error log has no 'result=replaced' line for the script ticket")

    def step4(self):
        r = Client().get(self.b.url("/private/"))
        self.show(r, "without B's cookie: the login form")
        self.expect(r.status == 401, f"B's protected page without a cookie: {r.status}")
        r = self.c1.get(self.b.url("/private/"), referer=self.b.url("/"))
        m = GREETING_RE.search(r.text)
        self.show(r, f'with B\'s cookie: greets "{m.group(1)}"' if m else
                  "with B's cookie: no greeting")
        self.expect(r.status == 200 and m and m.group(1) == DEMO_USER,
                    f"B's protected page does not greet {DEMO_USER} ({r.status})")

    def step5(self):
        c = Client()
        self.detail("(a new client without cookies; it ignores the loader script, like a "
                    "browser that blocks third-party cookies)")
        self.login(c, self.a)
        r = c.get(self.a.url("/"))
        m = re.search(r'<a id="private-other" href="([^"]*)"', r.text)
        self.expect(r.status == 200 and m, "A's home page has no link to B's protected page")
        link = html.unescape(m.group(1))
        self.detail("A's home page links to B's protected page through A's handler:")
        self.detail(f"  {link}")
        r = c.get(link, referer=self.a.url("/"))
        self.show(r, "(A has a session: the flow starts at B)")
        loc = r.header("Location") or ""
        start = self.b.url(HANDLER_PATH + "start?")
        self.expect(r.status == 303 and loc.startswith(start),
                    f"expected 303 to {start}…, got {r.status} {loc}")
        r = c.get(loc, referer=self.a.url("/"))
        self.show(r, "(B binds the flow to this browser: a state cookie)")
        loc = r.header("Location") or ""
        state = [x for x in r.set_cookies() if x.startswith("__Host-ssst-")]
        self.expect(r.status == 303 and loc.startswith(self.a.url(HANDLER_PATH + "go?"))
                    and "&state=" in loc and state,
                    f"expected 303 to A's go with a state and a state cookie, got "
                    f"{r.status} {loc} {r.set_cookies()}")
        self.detail(f"B's state cookie: {parse_set_cookie(state[0])[0]}=…; "
                    + "; ".join(parse_set_cookie(state[0])[3]))
        r = c.get(loc, referer=self.b.url("/"))
        self.show(r, "(A mints a navigation ticket bound to that state)")
        loc = r.header("Location") or ""
        self.expect(r.status == 303 and loc.startswith(self.b.url(HANDLER_PATH)),
                    f"expected 303 to {self.b.url(HANDLER_PATH)}…, got {r.status} {loc}")
        since = self.log_size(self.b)
        r = c.get(loc, referer=self.a.url("/"))
        sc = [s for s in r.set_cookies() if s.startswith(COOKIE_NAME + "=")]
        self.show(r)
        self.expect(r.status == 303 and r.header("Location") == "/private/" and sc,
                    f"expected 303 to /private/ with B's Set-Cookie, got {r.status} "
                    f"{r.header('Location')} {r.set_cookies()}")
        self.detail(f"B's Set-Cookie (first-party now): {cookie_line(sc[-1])}")
        line = self.wait_info_line(self.b, since, "navigation")
        self.detail(f"B's error log: {line or '(no line)'}")
        self.expect(line and line.startswith("result=replaced reason=-"),
                    "B's error log has no 'result=replaced' line for the navigation ticket")
        r = c.get(self.b.url("/private/"), referer=self.a.url("/"))
        m = GREETING_RE.search(r.text)
        self.show(r, f'greets "{m.group(1)}"' if m else "(no greeting)")
        self.expect(r.status == 200 and m and m.group(1) == DEMO_USER,
                    f"B's protected page does not greet {DEMO_USER}")

    def step6(self):
        since = self.log_size(self.b)
        r = self.c1.get(self.a.url("/logout"), referer=self.a.url("/private/"))
        self.show(r, "(mod_auth_form empties A's session; the module keeps a newer "
                     "generation of it with no entries: a tombstone)")
        self.expect(r.status in (302, 303, 307), f"A's /logout answered {r.status}")
        r = self.c1.get(self.a.url("/"), referer=self.a.url("/private/"))
        loaders = [u for u in LOADER_RE.findall(r.text)
                   if u.startswith(self.b.url(HANDLER_PATH))]
        self.show(r, "A's home page: its loader carries the logout to B")
        self.expect(r.status == 200 and len(loaders) == 1,
                    f"A's home page after the logout has no loader for B ({r.status})")
        r = self.c1.get(loaders[0], referer=self.a.url("/"), dest="script")
        line = self.wait_info_line(self.b, since, "script")
        self.detail(f"B's error log: {line or '(no line)'}")
        self.expect(line and line.startswith("result=replaced reason=-"),
                    "B did not take the logout (no 'result=replaced' line)")
        r = self.c1.get(self.b.url("/private/"), referer=self.b.url("/"))
        self.show(r, "B's protected page: the login form again")
        self.expect(r.status == 401, f"B's protected page after the logout: {r.status}")
        r = self.c1.get(self.b.url("/"))
        self.expect(not [u for u in LOADER_RE.findall(r.text)
                         if u.startswith(self.a.url(HANDLER_PATH))],
                    "B's home page sends its copy back to A")
        r = self.c1.get(self.a.url("/private/"), referer=self.a.url("/"))
        self.show(r, "A's protected page, after a page on B: still logged out")
        self.expect(r.status == 401, f"A's protected page after B's page: {r.status}")

    def run(self):
        a, b = self.a, self.b
        self.c1 = Client()
        self.say("\n=== Script flow: A's pages carry a loader <script> for B "
                 "(in browsers: needs third-party cookies)")
        s1 = self.run_step(1, f"Log in on site A ({a.origin}) as {DEMO_USER}/{DEMO_PASSWORD}: "
                              f"A's session cookie", self.step1)
        t2 = ("The page the login lands on carries the loader <script> for site B "
              "(once: unchanged pages carry none)")
        t3 = "The browser fetches the loader from B (Referer: A): B sets its own cookie"
        t4 = f"B's protected page ({b.url('/private/')}) greets {DEMO_USER}, no login on B"
        t6 = (f"Log out on A: A's next page carries the logout to B, and B's pages never "
              f"log A back in")
        s4, failed = False, 1
        if s1 and self.run_step(2, t2, self.step2):
            if self.run_step(3, t3, self.step3):
                s4 = self.run_step(4, t4, self.step4)
                failed = 4
            else:
                self.skip(4, t4, 3)
                failed = 3
        else:
            if not s1:
                self.skip(2, t2, 1)
            self.skip(3, t3, 2)
            self.skip(4, t4, 2)
            failed = 2 if s1 else 1
        self.say(f"\n=== Navigation flow: a link through A's {HANDLER_PATH}go "
                 f"(works in every browser)")
        self.run_step(5, f"Log in on A, follow A's link to site B: 303 to B's start, 303 "
                         f"back to A's go with B's state, 303 to B's handler, 303 to B's "
                         f"protected page, which greets {DEMO_USER}", self.step5)
        self.say("\n=== Logging out: the emptied session is a change like any other")
        if s4:
            self.run_step(6, t6, self.step6)
        else:
            self.skip(6, t6, failed)
        n_ok = sum(1 for _, ok in self.results if ok)
        self.say(f"\nwalkthrough: {n_ok}/{len(self.results)} steps OK"
                 + ("" if self.ok else " - FAILED"))
        return self.ok


# ---------------------------------------------------------------------------

def browser_help(srv):
    a, b = srv.a, srv.b
    names = [s.host for s in (a, b) if s.host != "localhost" and not is_ip(s.host)]
    resolve = ""
    if names:
        rules = ", ".join(f"MAP {n} 127.0.0.1" for n in names)
        resolve = (f"  0. Make {' and '.join(names)} resolve to 127.0.0.1: a line in /etc/hosts,\n"
                   f"     or start Chromium with --host-resolver-rules=\"{rules}\"\n")
    return f"""
=== The demo is up: try it in a browser
{resolve}  1. Accept the self-signed certificate of BOTH sites first (open each once and
     confirm the warning; else the browser refuses the loader script for B):
         {a.url('/')}
         {b.url('/')}
  2. Log in on site A: {a.url('/login.html')}   (user {DEMO_USER}, password {DEMO_PASSWORD})
  3. Script flow: open A's home page {a.url('/')}, then B's protected page
     {b.url('/private/')}: it greets you without a login where the browser
     allows third-party cookies (Chrome/Chromium with third-party cookies allowed).
     Safari, Firefox (Total Cookie Protection) and Chrome with third-party cookies
     blocked (incognito) drop the cookie of the loader: B shows its login form.
  4. Navigation flow (every browser): on A, click "Site B" (top right) or
     "The protected page of site B": A's {HANDLER_PATH}go sends you through
     B's handler, which sets B's cookie first-party.
  5. "Log out" on one site: the home page it lands on carries the logout to the
     other site (in browsers that allow third-party cookies; else a "Site B" link
     carries it), and the other site never logs you back in.
  What happened: {b.error_log}
                 (one line per ticket: result=replaced/kept/rejected reason=...)
                 {b.access_log}
  Configuration: {srv.conf}

Press Ctrl-C to stop the demo."""


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="./dev demo", description="mod_shared_session: two HTTPS sites on "
        "loopback that share one login (apache2, mod_auth_form, mod_session_crypto).")
    p.add_argument("--check", action="store_true",
                   help="run the walkthrough only; exit 1 when a step fails")
    p.add_argument("--host-a", default="localhost", help="host name of site A (default localhost)")
    p.add_argument("--host-b", default="127.0.0.1", help="host name of site B (default 127.0.0.1)")
    p.add_argument("--port-a", type=int, help="port of site A (default 8443 when free)")
    p.add_argument("--port-b", type=int, help="port of site B (default 8444 when free)")
    p.add_argument("--dir", help="where the server's files go (default build/demo)")
    return p.parse_args(argv)


def _raise_exit(signum, frame):
    raise SystemExit(128 + signum)


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    # Ctrl-C even where the caller started us with SIGINT ignored (a "&" job)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_exit)
    signal.signal(signal.SIGHUP, _raise_exit)
    srv = None
    try:
        t0 = time.monotonic()
        srv = DemoServer(args.dir, host_a=args.host_a, host_b=args.host_b,
                         port_a=args.port_a, port_b=args.port_b)
        print("mod_shared_session demo: one login, two sites")
        print(f"  site A  {srv.a.url('/')}    site B  {srv.b.url('/')}")
        print(f"  each: mod_auth_form login, mod_session_cookie + mod_session_crypto "
              f"(own passphrase), cookie '{COOKIE_NAME} {COOKIE_ATTRS}', "
              f"SessionMaxAge {srv.max_age}")
        print(f"  both: SharedSessionSites {srv.a.origin} {srv.b.origin}")
        print(f"        SharedSessionKeyFile {srv.keyfile} (shared-session-tool keygen, 0600)")
        srv.prepare()
        srv.start()
        print(f"  apache2 pid {srv.pid} started in {time.monotonic() - t0:.1f}s "
              f"(config {srv.conf}, logs {srv.logs}/)")
        ok = Walkthrough(srv).run()
        if args.check:
            return 0 if ok else 1
        if not ok:
            print("\nSome steps failed (see above); the sites stay up so that you can look.")
        print(browser_help(srv), flush=True)
        while srv.running:
            time.sleep(0.5)
        print("apache2 exited by itself:\n" + srv.log_tail(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping")
        return 0 if args.check is False else 130
    except DemoError as e:
        print(f"demo: {e}", file=sys.stderr)
        return 2
    finally:
        if srv is not None and (srv.pid or srv._started):
            pid = srv.pid or srv._pid_from_file()
            srv.stop()
            if pid:
                print(f"apache2 (pid {pid}) stopped")


if __name__ == "__main__":
    sys.exit(main())
