"""Security headers in real headless Chromium: the loader runs on pages
under a Content-Security-Policy (set by the application, a CGI, or by
mod_headers after the filter), under a nonce policy with 'strict-dynamic'
set by the application; a 'strict-dynamic' policy that arrives only after
the filter stops it, and the log says so.  And a site-wide `Header always
set Referrer-Policy no-referrer` on both sites: `go` still carries the
session to B, and the handler's answers carry the module's own policy.

The demo's two HTTPS sites (demo/demo.py, as in test_browser.py) with, on
both: mod_headers' site-wide Referrer-Policy no-referrer, a CGI that sends
the policy its query names (/csp/app.cgi?csp=...), and directories whose
policy `Header set` adds (/hdr-self/, /hdr-default/, /hdr-sd/).
"""

import collections
import os
import tempfile
import urllib.parse

import pytest

import pyhttpd
from test_browser import (LOADER_LINE, NAV_LINE, access_lines, chromium,  # noqa: F401
                          demo, greeting, log_in, wait_for, wait_loader_requests,
                          fields)

pytestmark = pytest.mark.browser

PAGE = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>under a policy</title></head><body><p id=\"page\">policy page</p>"
        "</body></html>\n")

APP_CGI = """#!/usr/bin/python3
import os, sys, urllib.parse
q = urllib.parse.parse_qs(os.environ.get("QUERY_STRING", ""))
out = ["Content-Type: text/html; charset=utf-8"]
for v in q.get("csp", []):
    out.append("Content-Security-Policy: " + v)
sys.stdout.write("\\r\\n".join(out) + "\\r\\n\\r\\n")
sys.stdout.write(open(os.path.join(os.path.dirname(__file__), "page.html")).read())
"""

VHOST_EXTRA = """
    # mod_headers, site-wide: no Referer from any page or answer
    Header always set Referrer-Policy no-referrer
    <Directory "{docroot}/csp">
        Options +ExecCGI
        AddHandler cgi-script .cgi
    </Directory>
    <Directory "{docroot}/hdr-self">
        Header set Content-Security-Policy "script-src 'self'"
    </Directory>
    <Directory "{docroot}/hdr-default">
        Header set Content-Security-Policy "default-src 'self'"
    </Directory>
    <Directory "{docroot}/hdr-sd">
        Header set Content-Security-Policy "script-src 'nonce-s3t-l4te' 'strict-dynamic'"
    </Directory>
</VirtualHost>
"""

# expected on every page with the loader: the pages say no-referrer
ALWAYS_ALLOWED = ("MSS02164",)


class PolicyDemo(demo.DemoServer):
    """The demo with mod_headers, mod_cgi and the directories above, and
    SharedSessionResend 0: every page of a test carries the loader."""

    def config_text(self):
        text = super().config_text()
        mods = "".join(f"LoadModule {m}_module {demo.DEBIAN_MODULES / f'mod_{m}.so'}\n"
                       for m in ("headers", "cgi"))
        text = text.replace("LoadModule shared_session_module", mods
                            + "LoadModule shared_session_module", 1)
        # a loader on every page (the login's page has one already)
        text = text.replace("SharedSessionKeyFile ", "SharedSessionResend 0\nSharedSessionKeyFile ", 1)
        for s in self.sites:
            head = f"# ---- site {s.label}: {s.origin}"
            i = text.index(head)
            j = text.index("</VirtualHost>\n", i)
            text = (text[:j] + VHOST_EXTRA.format(docroot=s.docroot)
                    + text[j + len("</VirtualHost>\n"):])
        return text

    def write_policy_pages(self):
        for s in self.sites:
            for d in ("csp", "hdr-self", "hdr-default", "hdr-sd"):
                p = s.docroot / d
                p.mkdir(exist_ok=True)
                os.chmod(p, 0o755)
                (p / "page.html").write_text(PAGE)
                os.chmod(p / "page.html", 0o644)
            cgi = s.docroot / "csp" / "app.cgi"
            cgi.write_text(APP_CGI)
            os.chmod(cgi, 0o755)


@pytest.fixture(scope="module")
def sites(gen_dir, module_so, tool):
    root = tempfile.mkdtemp(prefix="browser-sechdr-", dir=gen_dir)
    os.chmod(root, 0o755)
    port_a = demo.free_port()
    srv = PolicyDemo(root, host_a="a.test", host_b="b.test",
                     port_a=port_a, port_b=demo.free_port(avoid=(port_a,)),
                     build=pyhttpd.BUILD)
    srv.prepare()
    srv.write_policy_pages()
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


_seen_bad = collections.Counter()


@pytest.fixture(autouse=True)
def earlier_lines(sites):
    """Warnings of the tests before this one are theirs."""
    _seen_bad.clear()
    _seen_bad.update(sites.bad_log_lines())


def bad_lines(srv, allowed=()):
    """warn-or-worse lines of this test, but those allowed."""
    seen = collections.Counter(_seen_bad)
    new = []
    for line in srv.bad_log_lines():
        if seen[line]:
            seen[line] -= 1
        elif not any(tag in line for tag in ALWAYS_ALLOWED + tuple(allowed)):
            new.append(line)
    return new


def app_url(site, csp):
    return site.url("/csp/app.cgi?" + urllib.parse.urlencode({"csp": csp}))


def record_violations(d):
    """From now on every document of d lists the policy violations it
    reports in window.ssViolations ("blocked-URL directive")."""
    d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": (
        "window.ssViolations = [];"
        "document.addEventListener('securitypolicyviolation', e =>"
        " window.ssViolations.push(e.blockedURI + ' ' + e.effectiveDirective));")})


def violations(d):
    return d.execute_script("return window.ssViolations")


@pytest.mark.parametrize("where, csp", [
    ("application", "script-src 'self'"),
    ("application", "default-src 'self'"),
    ("application", "script-src 'nonce-R4nd0m+Pg/9=' 'strict-dynamic'; object-src 'none'"),
    ("mod_headers", "/hdr-self/page.html"),
    ("mod_headers", "/hdr-default/page.html"),
])
def test_loader_runs_under_the_page_policy(sites, chromium, where, csp):
    """Logged in on A, a page of A under the policy: its loader reaches B
    (the browser let it through) and B keeps the session the first loader
    gave it."""
    srv = sites
    d = chromium(third_party_cookies=True)
    before = len(access_lines(srv.b, LOADER_LINE))
    log_in(d, srv.a)
    wait_loader_requests(srv, d, before + 1)
    url = app_url(srv.a, csp) if where == "application" else srv.a.url(csp)
    record_violations(d)
    d.get(url)
    assert d.find_element("id", "page").text == "policy page"
    lines = wait_loader_requests(srv, d, before + 2)[before:]
    assert violations(d) == [], violations(d)
    f = fields(lines[1])
    assert f["status"] == "200" and f["result"] == "kept", lines
    # the loader tag's own referrerpolicy="origin" beat the page's no-referrer
    assert f["referer"] == srv.a.origin + "/", lines
    d.get(srv.b.url("/private/"))
    assert greeting(d) == demo.DEMO_USER, d.page_source[:2000]
    assert not bad_lines(srv), "\n".join(bad_lines(srv))


def test_strict_dynamic_policy_after_the_filter_stops_the_loader(sites, chromium):
    """mod_headers sets a 'strict-dynamic' policy after the filter has
    written the tags: they carry no nonce, Chromium refuses them, and A's
    log says why."""
    srv = sites
    d = chromium(third_party_cookies=True)
    before = len(access_lines(srv.b, LOADER_LINE))
    log_in(d, srv.a)
    wait_loader_requests(srv, d, before + 1)
    log_size = srv.a.error_log.stat().st_size
    record_violations(d)
    d.get(srv.a.url("/hdr-sd/page.html"))
    assert d.find_element("id", "page").text == "policy page"
    warned = wait_for(lambda: [line for line in srv.a.error_log.read_text()[log_size:]
                               .splitlines() if "MSS02162" in line],
                      "the warning in A's error log")
    assert ":warn]" in warned[0] and "/hdr-sd/page.html" in warned[0], warned
    # the browser refused the tag, which fetched nothing
    assert d.execute_script("return document.scripts.length") == 1
    refused = wait_for(lambda: violations(d), "the page's policy violation")
    assert len(refused) == 1, refused
    assert refused[0].startswith(srv.b.url("/shared-session/")), refused
    assert refused[0].endswith(".js script-src-elem"), refused
    assert len(access_lines(srv.b, LOADER_LINE)) == before + 1
    assert not bad_lines(srv, ("MSS02162",)), "\n".join(bad_lines(srv, ("MSS02162",)))


def test_go_under_a_site_wide_no_referrer_policy(sites, chromium):
    """Both sites say Referrer-Policy no-referrer on everything: the go link
    still lands on B's protected page with the session (third-party cookies
    blocked, so only the navigation flow can have carried it)."""
    from selenium.webdriver.common.by import By
    srv = sites
    d = chromium(third_party_cookies=False)
    log_in(d, srv.a)
    navs = len(access_lines(srv.b, NAV_LINE))
    d.get(srv.a.url("/"))
    d.find_element(By.ID, "private-other").click()
    wait_for(lambda: d.current_url == srv.b.url("/private/")
             and greeting(d) == demo.DEMO_USER,
             f"the go link to land on B's protected page (at {d.current_url})")
    nav = access_lines(srv.b, NAV_LINE)[navs:]
    assert len(nav) == 1 and fields(nav[0])["result"] == "replaced", nav
    assert not bad_lines(srv), "\n".join(bad_lines(srv))


def test_handler_answers_carry_the_module_policy(sites):
    """The same flow hop by hop: every answer of the handler carries one
    Referrer-Policy, the module's, not the site-wide no-referrer."""
    srv = sites
    c = demo.Client()
    r = c.post(srv.a.url("/dologin"), {"httpd_username": demo.DEMO_USER,
                                      "httpd_password": demo.DEMO_PASSWORD,
                                      "httpd_location": "/private/"},
               referer=srv.a.url("/login.html"))
    assert r.status in (302, 303), r.status
    # an ordinary page keeps what the site configured
    assert [v for k, v in c.get(srv.a.url("/")).headers
            if k.lower() == "referrer-policy"] == ["no-referrer"]
    url = demo.go_url(srv.a, srv.b, "/private/")
    seen = []
    for _ in range(4):
        r = c.get(url)
        assert r.status == 303, (url, r.status, r.headers)
        seen.append((urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1][:5],
                     [v for k, v in r.headers if k.lower() == "referrer-policy"]))
        url = urllib.parse.urljoin(url, r.header("Location"))
    assert url == srv.b.url("/private/"), url
    # go -> start -> go with the state -> the ticket -> the page
    assert [p for _, p in seen] == [["origin"], ["origin"], ["origin"], ["no-referrer"]], seen
    assert greeting_of(c.get(url)) == demo.DEMO_USER
    assert not bad_lines(srv), "\n".join(bad_lines(srv))


def greeting_of(r):
    m = demo.GREETING_RE.search(r.text)
    return m.group(1) if m else None
