"""What the module tells an administrator, on a real apache2:

  - configtest warnings about the site list against the virtual hosts that
    use the module (a served name no entry names, an entry one edit away
    from a local ServerName, an http:// entry on an https site, the handler
    or the filter in a server without SharedSessionSites), and the cause the
    handler logs for a URL it does not serve;
  - the filter's warning, once per child, where mod_session is not on;
  - the rate-limited warnings about refused tickets at the default LogLevel,
    with their counts and likely causes;
  - the counters on mod_status's page and in its ?auto form.
"""

import re
import subprocess
import time

import pytest

import sscfg
from pyhttpd import request
from sscfg import Client

# One child: "once per minute and child" is then once per minute.
ONE_CHILD = """
ServerLimit 1
StartServers 1
MaxRequestWorkers 10
MinSpareThreads 1
MaxSpareThreads 20
"""


def line_of(h, text):
    """'conf/httpd.conf:N' of the first line of the generated config holding text."""
    for n, line in enumerate(h.conf.read_text().splitlines(), 1):
        if text in line:
            return f"{h.conf}:{n}"
    raise AssertionError(f"{text!r} not in {h.conf}")


def warn_lines(out, tag):
    return [l for l in out.splitlines() if f"{tag}:" in l]


def assert_warn(out, tag, *needles, count=1):
    lines = warn_lines(out, tag)
    assert len(lines) == count, f"{count} x {tag} expected in:\n{out}"
    for l in lines:
        assert re.search(r"\[shared_session:warn\]", l), l
    for n in needles:
        assert any(n in l for l in lines), f"{n!r} not in {tag} lines:\n{out}"
    return lines


def configtest(h, snippet, modules=("cgi",), **kw):
    sscfg.prepare_docroot(h)
    h.write_config(snippet, modules=list(sscfg.STORE_MODULES["cookie"]) + list(modules), **kw)
    rc, out = h.configtest()
    assert rc == 0 and "Syntax OK" in out, out
    return out


# ---------------------------------------------------------------------------
# configtest

def test_configtest_names_a_misspelt_entry_and_the_server_name_it_misses(httpd, module_so, keys):
    h = httpd("typo")
    out = configtest(h, f"""
SharedSessionSites https://www.exmaple.org https://a.test
SharedSessionKeyFile {keys['key1']}
{sscfg.vhost("a.test", cookie="asess")}
{sscfg.vhost("www.example.org", cookie="bsess")}
""")
    sites_at = line_of(h, "SharedSessionSites")
    name_at = line_of(h, "ServerName www.example.org")
    assert_warn(out, "MSS00091", "the entry www.exmaple.org is one letter away from "
                f"ServerName www.example.org ({name_at})", f"SharedSessionSites ({sites_at})")
    assert_warn(out, "MSS00090", f"ServerName www.example.org ({name_at}) is not in "
                f"SharedSessionSites ({sites_at})", "SetHandler shared-session (",
                "add http://www.example.org")
    # nothing about a.test, which the list names
    assert "a.test (" not in "".join(warn_lines(out, "MSS00090"))


def test_configtest_quiet_for_entries_of_other_servers(httpd, module_so, keys):
    """The same list is on every site: entries for other servers are normal,
    also one edit away from a local name that has its own entry."""
    h = httpd("others")
    out = configtest(h, f"""
SharedSessionSites http://shop1.test http://shop2.test http://www.example.com http://b.test
SharedSessionKeyFile {keys['key1']}
{sscfg.vhost("shop1.test", cookie="asess")}
{sscfg.vhost("b.test", cookie="bsess")}
""")
    assert "MSS0009" not in out and "warn" not in out, out


def test_configtest_server_alias_port_and_subdomain(httpd, module_so, keys):
    """A ServerAlias of a served host counts like its ServerName; a subdomain
    of an entry is not covered (the module acts only for an entry's own host)
    and the warning says so; an entry with a port covers a name only on that
    port; a host that does not use the module, and a wildcard
    alias, are left alone."""
    h = httpd("alias")
    out = configtest(h, f"""
SharedSessionSites http://a.test http://b.test:1
SharedSessionKeyFile {keys['key1']}
{sscfg.vhost("a.test", cookie="asess", aliases="shop.a.test a-shop.test *.shop.test")}
{sscfg.vhost("b.test", cookie="bsess")}
<VirtualHost 127.0.0.1:{{port}}>
    ServerName static.other.test
</VirtualHost>
""")
    alias_at = line_of(h, "ServerAlias shop.a.test")
    lines = assert_warn(out, "MSS00090", f"ServerAlias a-shop.test ({alias_at})",
                        "ServerName b.test (", "(the entry b.test:1 names another port)",
                        "ServerAlias shop.a.test (", "(a subdomain of the entry a.test",
                        count=3)
    assert "static.other.test" not in out and "*.shop.test" not in out, out


def test_configtest_filter_counts_as_serving(httpd, module_so, keys):
    h = httpd("filter")
    out = configtest(h, f"""
SharedSessionSites http://a.test http://b.test
SharedSessionKeyFile {keys['key1']}
<VirtualHost 127.0.0.1:{{port}}>
    ServerName www.c.test
    <Location "/">
        AddOutputFilterByType SHARED_SESSION text/html
    </Location>
</VirtualHost>
""", modules=("cgi", "filter"))
    assert_warn(out, "MSS00090", "ServerName www.c.test", "AddOutputFilterByType SHARED_SESSION")


@pytest.fixture(scope="module")
def tls_cert(gen_dir):
    d = gen_dir / "admin-tls"
    d.mkdir(exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", "/CN=a.test", "-keyout", str(d / "key.pem"),
                    "-out", str(d / "cert.pem")],
                   check=True, capture_output=True, timeout=60)
    return d / "cert.pem", d / "key.pem"


def test_configtest_http_entry_on_an_https_site(httpd, module_so, keys, tls_cert):
    cert, key = tls_cert
    h = httpd("mixed")
    out = configtest(h, f"""
SharedSessionSites https://a.test http://b.test
SharedSessionKeyFile {keys['key1']}
<VirtualHost 127.0.0.1:{{port}}>
    ServerName a.test
    SSLEngine on
    SSLCertificateFile {cert}
    SSLCertificateKeyFile {key}
    <Location /shared-session/>
        SetHandler shared-session
    </Location>
</VirtualHost>
""", modules=("cgi", "ssl"))
    assert_warn(out, "MSS00092", f"SharedSessionSites ({line_of(h, 'SharedSessionSites')}) "
                "lists http://b.test", "<VirtualHost> a.test", "mixed content",
                "list it as https://b.test")
    assert "MSS00090" not in out, out


def test_configtest_http_entries_on_http_sites_are_fine(httpd, module_so, keys):
    h = httpd("plain")
    out = configtest(h, f"""
SharedSessionSites http://a.test http://b.test
SharedSessionKeyFile {keys['key1']}
{sscfg.vhost("a.test", cookie="asess")}
{sscfg.vhost("b.test", cookie="bsess")}
""")
    assert "warn" not in out, out


def test_configtest_handler_in_a_server_without_sites(httpd, module_so, keys):
    """The list and key in one virtual host only (the server-wide file not
    enabled): the other one mounts the handler for nothing."""
    h = httpd("nosites")
    out = configtest(h, f"""
{sscfg.vhost("a.test", cookie="asess", extra=f'''
    SharedSessionSites http://a.test http://b.test
    SharedSessionKeyFile {keys['key1']}''')}
{sscfg.vhost("b.test", cookie="bsess")}
""")
    assert_warn(out, "MSS00093", "<VirtualHost> b.test", "SetHandler shared-session",
                "has no SharedSessionSites", "a2enconf")


# ---------------------------------------------------------------------------
# The handler's cause for a URL it does not serve

def test_handler_names_the_missing_site_list_or_the_path(httpd, module_so, keys):
    h = httpd("unmounted")
    sscfg.prepare_docroot(h)
    h.write_config(f"""
{sscfg.vhost("a.test", cookie="asess", extra=f'''
    SharedSessionSites http://a.test http://b.test
    SharedSessionKeyFile {keys['key1']}
    <Location /sso/>
        SetHandler shared-session
    </Location>''')}
{sscfg.vhost("b.test", cookie="bsess")}
""", modules=sscfg.STORE_MODULES["cookie"] + ["cgi"])
    h.allow("MSS00093")
    h.start()
    r = request(h.port, "/shared-session/x.js", host=f"b.test:{h.port}")
    assert r.status == 404, r
    m = h.wait_error_log(r"\[shared_session:error\].*MSS01085: SetHandler shared-session "
                         r"serves /shared-session/x\.js, but <VirtualHost> b\.test .* has no "
                         r"SharedSessionSites")
    assert m, h.error_log_since_mark()
    r = request(h.port, "/sso/x.js", host=f"a.test:{h.port}")
    assert r.status == 404, r
    assert h.wait_error_log(r"MSS01002: SetHandler shared-session serves /sso/x\.js, "
                            r"outside SharedSessionPath /shared-session/"), h.error_log_since_mark()
    assert len(re.findall("MSS01085", h.error_log_since_mark())) == 1
    h.allow("MSS01085", "MSS01002")


# ---------------------------------------------------------------------------
# The filter where mod_session is not on

def test_filter_without_session_warns_once_per_child(httpd, module_so, keys):
    h = httpd("nosession")
    h.write_file("htdocs/index.html", "<html><head></head><body>x</body></html>\n")
    h.write_config(f"""
SharedSessionSites http://a.test http://b.test
SharedSessionKeyFile {keys['key1']}
<VirtualHost 127.0.0.1:{{port}}>
    ServerName a.test
    SetOutputFilter SHARED_SESSION
</VirtualHost>
""", loglevel="warn")
    h.start()
    for _ in range(12):
        r = request(h.port, "/index.html", host=f"a.test:{h.port}")
        assert r.status == 200 and b"<script" not in r.body, r
    assert h.wait_error_log(r"MSS02030")
    time.sleep(0.3)
    lines = [l for l in h.error_log_since_mark().splitlines() if "MSS02030" in l]
    pids = [re.search(r"\[pid (\d+)", l).group(1) for l in lines]
    assert len(lines) == len(set(pids)) >= 1, lines    # one per child
    assert "[shared_session:warn]" in lines[0], lines
    assert ("the SHARED_SESSION filter runs for /index.html on a.test, where "
            "mod_session is not on") in lines[0], lines
    h.allow("MSS02030")


def test_filter_with_session_says_nothing(httpd, module_so, keys):
    h = httpd("withsession")
    sscfg.two_sites(h, keys["key1"], a_extra="SetOutputFilter SHARED_SESSION")
    h.start()
    r = request(h.port, "/index.html", host=f"a.test:{h.port}")
    assert r.status == 200, r
    time.sleep(0.2)
    assert "MSS02030" not in h.error_log_since_mark()


# ---------------------------------------------------------------------------
# Refused tickets at the default LogLevel

WARNINGS = {
    # reason: (tag, what the line says)
    "unknown-key": ("MSS01080", r"sealed with key id [0-9a-f]{8}, and this site opens key "
                                r"ids [0-9a-f]{8} \(SharedSessionKeyFile, .*\): the sites use "
                                r"different keys"),
    "bad-ticket-id": ("MSS01081", r"from a\.test, was sealed for the site id b\.test:\d+, but "
                                  r"this site's entry is b\.test \(SharedSessionSites, .*\): "
                                  r"the two sites' lists name this site differently"),
    "expired": ("MSS01083", r"from a\.test, was minted (9[89]|10[0-2]) s "
                            r"behind this server's clock .* about (9[89]|10[0-2]) s apart"),
    "future": ("MSS01083", r"from a\.test, was minted (4[89]|5[0-2]) s ahead "
                           r"of this server's clock"),
    "unknown-source": ("MSS01084", r"comes from the site id d\.test, which this site's "
                                   r"SharedSessionSites \(.*\) does not list"),
    "referer": ("MSS01087", r"script tickets from a\.test must come with a Referer or Origin of "
                            r"http://a\.test, and the last one came with a Referer of "
                            r"http://elsewhere\.test:\d+"),
}


def refuse(b, keys, case):
    now = int(time.time())
    if case == "unknown-key":
        return b.script(b.mint(key=keys["other"]))
    if case == "bad-ticket-id":
        return b.script(b.mint(dst=f"b.test:{b.h.port}"))
    if case == "bad-ticket":
        return b.script(b.mint(dst="c.test"))
    if case == "expired":
        return b.script(b.mint(iat=now - 100))
    if case == "future":
        return b.script(b.mint(iat=now + 50))
    if case == "unknown-source":
        return b.script(b.mint(src="d.test"))
    if case == "referer":
        return b.script(b.mint(), referer=f"http://elsewhere.test:{b.h.port}/page")
    raise ValueError(case)


def two_sites(h, key, loglevel=None, server_extra="", a_extra="", b_extra="",
              modules=()):
    """sscfg's two-site setup (a.test, b.test) at a chosen LogLevel."""
    sscfg.prepare_docroot(h)
    h.write_config(f"""
SharedSessionSites http://a.test http://b.test
SharedSessionKeyFile {key}
{server_extra}
{sscfg.vhost("a.test", cookie="asess", extra=a_extra)}
{sscfg.vhost("b.test", cookie="bsess", extra=b_extra)}
""", modules=sscfg.STORE_MODULES["cookie"] + ["cgi"] + list(modules), loglevel=loglevel)


def test_refused_tickets_warn_once_a_minute_with_count_and_cause(httpd, module_so, tool, keys):
    """At the default LogLevel (warn), where the per-ticket info line is
    hidden: the first refusal of each kind says why at once, the next ones
    of the minute are counted, and the line after the minute gives their
    number."""
    h = httpd("refused")
    two_sites(h, keys["key1"], loglevel="warn", server_extra=ONE_CHILD)
    h.start()
    b = Client(h, tool, keys["key1"])
    for case in WARNINGS:
        r = refuse(b, keys, case)
        assert r.status == 200 and r.body == b"", r
    start = time.monotonic()
    log = h.error_log_since_mark()
    assert "MSS01001" not in log, log       # info: hidden at warn
    for case, (tag, said) in WARNINGS.items():
        reason = case.replace("-id", "")
        pat = (rf"\[shared_session:warn\].*{tag}: 1 ticket refused \(reason={reason}\) "
               rf"since the last such line in this process: .*{said}")
        assert h.wait_error_log(pat), f"{case}: /{pat}/ not in\n{log}"
    # three more unknown-key and two more expired within the minute: no line
    for _ in range(3):
        refuse(b, keys, "unknown-key")
    for _ in range(2):
        refuse(b, keys, "expired")
    time.sleep(0.3)
    log = h.error_log_since_mark()
    assert len(re.findall("MSS01080", log)) == 1, log
    assert len(re.findall(r"MSS01083: \d+ tickets? refused \(reason=expired", log)) == 1, log
    # after the minute, the next one says how many the line stands for
    time.sleep(max(0.0, 61 - (time.monotonic() - start)))
    refuse(b, keys, "unknown-key")
    refuse(b, keys, "expired")
    assert h.wait_error_log(r"MSS01080: 4 tickets refused \(reason=unknown-key\)"), \
        h.error_log_since_mark()
    assert h.wait_error_log(r"MSS01083: 3 tickets refused \(reason=expired\)"), \
        h.error_log_since_mark()
    assert "ticket=" not in h.error_log_since_mark()
    h.allow(*{tag for tag, _ in WARNINGS.values()})


def test_bad_ticket_that_opens_for_no_variant_of_this_site(httpd, module_so, tool, keys):
    """Sealed for another site altogether (or altered on its way): the line
    says both causes."""
    h = httpd("badticket")
    two_sites(h, keys["key1"], loglevel="warn")
    h.start()
    b = Client(h, tool, keys["key1"])
    assert b.script(b.mint(dst="c.test")).status == 200
    assert h.wait_error_log(r"\[shared_session:warn\].*MSS01082: 1 ticket refused "
                            r"\(reason=bad-ticket\) .* does not open for this site's id "
                            r"b\.test \(SharedSessionSites, .*\) with a key this site has: "
                            r".*or the ticket was altered on its way"), h.error_log_since_mark()
    h.allow("MSS01082")


def test_other_rejections_stay_quiet(httpd, module_so, tool, keys):
    """A replayed ticket (a reload) and a malformed one are no
    misconfiguration: nothing at warn."""
    h = httpd("quiet")
    two_sites(h, keys["key1"], loglevel="warn")
    h.start()
    b = Client(h, tool, keys["key1"])
    t = b.mint()
    for ticket in (t, t, "AAAA"):
        assert b.script(ticket).status == 200
    time.sleep(0.2)
    assert "shared_session:warn" not in h.error_log_since_mark()


# ---------------------------------------------------------------------------
# Counters on mod_status

STATUS = """
ExtendedStatus {extended}
<Location /server-status>
    SetHandler server-status
</Location>
"""
A_PAGE = """
    <Location /index.html>
        SetOutputFilter SHARED_SESSION
    </Location>
"""


def status_auto(h):
    r = request(h.port, "/server-status?auto", host=f"a.test:{h.port}")
    assert r.status == 200, r
    out = {}
    for line in r.body.decode().splitlines():
        k, sep, v = line.partition(": ")
        if sep and k.startswith("SharedSession"):
            out[k[len("SharedSession"):]] = int(v)
    return out


def test_status_counts_tickets_loaders_and_redirects(httpd, module_so, tool, keys):
    h = httpd("status")
    two_sites(h, keys["key1"], server_extra=STATUS.format(extended="On"), a_extra=A_PAGE,
              modules=["status"])
    h.start()
    before = status_auto(h)
    assert before, "no SharedSession* lines in /server-status?auto"
    assert all(v == 0 for k, v in before.items() if k != "CountersSince"), before
    assert abs(before["CountersSince"] - time.time()) < 60, before
    for k in ("TicketsReplaced", "TicketsKept", "TicketsRejected", "RejectedUnknownKey",
              "RejectedReplayed", "RejectedMalformed", "LoadersInserted", "GoRedirects",
              "StartRedirects", "PullRedirects", "ReplayCacheErrors"):
        assert k in before, (k, before)

    b = Client(h, tool, keys["key1"])
    t1, t2 = b.mint(), b.mint()
    r = b.script(t1)                                        # replaced
    cookie = pyhttpd_cookie(r)
    b.script(t1)                                            # replayed
    b.script(t2, cookie=cookie)                             # kept
    b.script(b.mint(key=keys["other"]))                     # unknown-key
    a = Client(h, tool, keys["key1"], host="a.test", src="b.test", cookie="asess")
    acookie = a.set_session("user=alice")
    for _ in range(3):                                      # three pages with the loader
        r = request(h.port, "/index.html", host=f"a.test:{h.port}",
                    headers=[("Cookie", acookie)])
        assert b"shared-session/" in r.body, r
    r = request(h.port, "/shared-session/go?to=http%3A%2F%2Fb.test%2Fx",
                host=f"a.test:{h.port}", headers=[("Cookie", acookie)])
    assert r.status == 303 and "/shared-session/start?" in r.header("Location"), r
    r = request(h.port, "/shared-session/start?from=a.test&to=%2Fx", host=f"b.test:{h.port}")
    assert r.status == 303 and "/shared-session/go?" in r.header("Location"), r

    after = status_auto(h)
    want = dict(TicketsReplaced=1, TicketsKept=1, TicketsRejected=2, RejectedReplayed=1,
                RejectedUnknownKey=1, LoadersInserted=3, GoRedirects=1,
                StartRedirects=1, PullRedirects=0, ReplayCacheErrors=0, RejectedMalformed=0)
    for k, v in want.items():
        assert after[k] == v, (k, after)

    # the page, in HTML
    r = request(h.port, "/server-status", host=f"a.test:{h.port}")
    page = r.body.decode()
    assert "Shared session (mod_shared_session)" in page, page[-2000:]
    assert "<tr><td>tickets replaced</td><td>1</td></tr>" in page, page[-2000:]
    assert "<tr><td>pages given the loader</td><td>3</td></tr>" in page, page[-2000:]

    # shared by the children, and kept over a graceful restart
    h.graceful()
    assert status_auto(h)["TicketsReplaced"] == 1
    assert status_auto(h)["CountersSince"] == before["CountersSince"]
    h.allow("MSS01080")


def pyhttpd_cookie(r):
    from pyhttpd import cookie_pair
    sc = r.set_cookies("bsess")
    assert len(sc) == 1, r
    return cookie_pair(sc[0])


def test_status_without_extended_status_shows_no_counters(httpd, module_so, keys):
    h = httpd("status-off")
    two_sites(h, keys["key1"], server_extra=STATUS.format(extended="Off"), modules=["status"])
    h.start()
    r = request(h.port, "/server-status?auto", host=f"a.test:{h.port}")
    assert r.status == 200 and b"SharedSession" not in r.body, r.body


def test_status_counts_replay_cache_errors(httpd, module_so, tool, keys):
    from pyhttpd import closed_port
    h = httpd("status-cache")
    two_sites(h, keys["key1"],
              server_extra=STATUS.format(extended="On")
              + f"SharedSessionReplayCache memcache:127.0.0.1:{closed_port()}\n",
              modules=["status", "socache_memcache"])
    h.start()
    b = Client(h, tool, keys["key1"])
    for _ in range(2):
        b.script(b.mint())
    s = status_auto(h)
    assert s["ReplayCacheErrors"] == 2 and s["RejectedCacheUnavailable"] == 2, s
    h.allow("MSS01040")     # the replay cache's own line: memcached cannot be reached


# ---------------------------------------------------------------------------
# An application behind mod_proxy reads the session through a header (the
# README's walk-through runs in test_readme.py under TLS and SessionMaxAge;
# here without SessionMaxAge, where no session reads as an empty value, and
# where Session is not on, "(null)")

def test_backend_header_is_overwritten_with_or_without_session(httpd, module_so, tool, keys):
    import json
    import os
    import signal
    import sys
    from pathlib import Path
    from pyhttpd import free_port, wait_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve().parent
                                                 / "backend_echo.py"), str(port)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_port(port, 10, proc)
        h = httpd("backend")
        two_sites(h, keys["key1"], modules=["proxy", "proxy_http"], b_extra=f"""
    <Location "/app/">
        ProxyPass "http://127.0.0.1:{port}/"
        RequestHeader set X-Session "%{{HTTP_SESSION}}e"
    </Location>
    <Location "/app/off/">
        Session Off
    </Location>""")
        h.start()
        b = Client(h, tool, keys["key1"])
        forged = [("X-Session", "user=mallory"), ("Session", "user=mallory")]

        def seen(cookie=None, path="/app/echo"):
            r = request(h.port, path, host=f"b.test:{h.port}",
                        headers=forged + ([("Cookie", cookie)] if cookie else []))
            assert r.status == 200, r
            return json.loads(r.body)["x-session"]

        assert seen() == [""]
        r = b.script(b.mint(session="user=alice"))
        cookie = pyhttpd_cookie(r)
        # B's session, with the generation the module keeps in it
        got = seen(cookie)
        assert len(got) == 1 and got[0].startswith("user=alice&shared-session-gen="), got
        assert "mallory" not in got[0], got
        # where Session is not on, mod_headers writes "(null)": still not the client's
        assert seen(cookie, path="/app/off/echo") == ["(null)"]
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(10)
