"""Real-browser end-to-end tests in headless Chromium.

Two HTTPS sites, https://a.test:PA and https://b.test:PB, served by the
demo's apache2 setup (demo/demo.py: mod_auth_form login, mod_session_cookie
+ mod_session_crypto with a passphrase per site, the SHARED_SESSION filter,
the shared-session handler, `go` links); Chromium maps both names to
127.0.0.1 with --host-resolver-rules and accepts the self-signed
certificates with --ignore-certificate-errors.  Every test gets a fresh
browser profile.

Needs Debian's chromium, chromium-driver and python3-selenium (the tests
fail, naming the package, when one is missing).
"""

import http.server
import importlib.util
import os
import re
import shutil
import ssl
import sys
import tempfile
import threading
import time
import urllib.parse

import pytest

import pyhttpd

sys.path.insert(0, str(pyhttpd.TOP / "demo"))
import demo  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
MAX_AGE = 1800          # B's SessionMaxAge: the cookie's expiry must match it
WAIT = 15               # seconds, for anything the browser does

CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu",
    "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
    "--host-resolver-rules=MAP a.test 127.0.0.1, MAP b.test 127.0.0.1, MAP evil.test 127.0.0.1",
    "--ignore-certificate-errors",
]

LOADER_LINE = '"GET /shared-session/<ticket>.js '
NAV_LINE = '"GET /shared-session/<ticket> '
START_LINE = '"GET /shared-session/start?'


def _need_browser():
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            pyhttpd.fail_missing(path, package)
    if importlib.util.find_spec("selenium") is None:
        pyhttpd.fail_missing("the Python module selenium", "python3-selenium")


# ---------------------------------------------------------------------------
# Fixtures

@pytest.fixture(scope="module")
def sites(gen_dir, module_so, tool):
    root = tempfile.mkdtemp(prefix="browser-", dir=gen_dir)
    os.chmod(root, 0o755)
    port_a = demo.free_port()
    srv = demo.DemoServer(root, host_a="a.test", host_b="b.test",
                          port_a=port_a, port_b=demo.free_port(avoid=(port_a,)),
                          build=pyhttpd.BUILD, max_age=MAX_AGE)
    srv.prepare()
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def chromium(gen_dir):
    """Factory: chromium(third_party_cookies) -> a selenium driver with a
    fresh profile; every driver is quit and its profile removed after the
    test."""
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    made = []

    def make(third_party_cookies):
        profile = tempfile.mkdtemp(prefix="chromium-profile-")
        made.append((None, profile))
        opts = Options()
        opts.binary_location = CHROMIUM
        for flag in CHROMIUM_FLAGS:
            opts.add_argument(flag)
        opts.add_argument(f"--user-data-dir={profile}")
        opts.add_experimental_option("prefs", {
            # 0: allow all cookies; 1: block third-party cookies
            "profile.cookie_controls_mode": 0 if third_party_cookies else 1,
            "profile.block_third_party_cookies": not third_party_cookies,
        })
        log = os.path.join(gen_dir, f"chromedriver-{os.getpid()}-{len(made)}.log")
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER, log_path=log),
                                  options=opts)
        made[-1] = (driver, profile)
        driver.set_page_load_timeout(WAIT)
        driver.set_script_timeout(WAIT)
        return driver

    yield make
    for driver, profile in made:
        if driver is not None:
            try:
                driver.quit()
            except Exception:       # a browser that is gone already
                pass
        shutil.rmtree(profile, ignore_errors=True)


# ---------------------------------------------------------------------------
# Helpers

def wait_for(pred, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def greeting(driver):
    """The user name B's or A's protected page greets, or None."""
    from selenium.webdriver.common.by import By
    els = driver.find_elements(By.CSS_SELECTOR, "#greeting #user")
    return els[0].text if els else None


def shows_login_form(driver):
    from selenium.webdriver.common.by import By
    return bool(driver.find_elements(By.NAME, "httpd_username"))


def access_lines(site, marker):
    try:
        text = site.access_log.read_text(errors="replace")
    except FileNotFoundError:
        return []
    return [line for line in text.splitlines() if marker in line]


def wait_loader_requests(srv, driver, count):
    """Waits until B's access log shows `count` loader requests in all and
    the page's resource timing has B's loader answered (so the browser has
    seen B's Set-Cookie); returns the access log lines of the loaders."""
    def enough():
        lines = access_lines(srv.b, LOADER_LINE)
        return lines if len(lines) >= count else None

    lines = wait_for(enough, f"{count} loader request(s) in {srv.b.access_log}")
    prefix = srv.b.url("/shared-session/")
    wait_for(lambda: driver.execute_script(
        "return performance.getEntriesByType('resource').some("
        "e => e.name.startsWith(arguments[0]) && e.responseEnd > 0)", prefix),
        f"the loader {prefix}….js in the page's resource timing")
    return lines


def browser_cookies(driver):
    try:
        return driver.execute_cdp_cmd("Storage.getCookies", {})["cookies"]
    except Exception:
        return driver.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]


def cookies_of(driver, host):
    return [c for c in browser_cookies(driver) if c["domain"].lstrip(".") == host]


def log_in(driver, site):
    """Fills and sends site's login form; lands on its protected page."""
    from selenium.webdriver.common.by import By
    driver.get(site.url("/login.html"))
    driver.find_element(By.NAME, "httpd_username").send_keys(demo.DEMO_USER)
    driver.find_element(By.NAME, "httpd_password").send_keys(demo.DEMO_PASSWORD)
    driver.find_element(By.ID, "login-button").click()
    wait_for(lambda: driver.current_url == site.url("/private/")
             and greeting(driver) == demo.DEMO_USER,
             f"the login on {site.origin} to land on /private/ greeting {demo.DEMO_USER} "
             f"(at {driver.current_url})")


def fields(line):
    """ss=result/reason, src, was_empty of one demo access log line."""
    m = re.search(r'"([^"]*)" (\d{3}) "([^"]*)" ss=(\S+)/(\S+) src=(\S+) was_empty=(\S+)$',
                  line)
    assert m, line
    return dict(zip(("request", "status", "referer", "result", "reason", "src",
                     "was_empty"), m.groups()))


def assert_b_cookie(driver, srv):
    """B's session cookie as B's configuration asked for it:
    SessionCookieName session path=/;Secure;HttpOnly;SameSite=None,
    SessionMaxAge MAX_AGE."""
    cookies = [c for c in cookies_of(driver, srv.b.host) if c["name"] == demo.COOKIE_NAME]
    assert len(cookies) == 1, cookies
    c = cookies[0]
    assert c["name"] == demo.COOKIE_NAME, c
    assert c["domain"] == srv.b.host, c          # host-only: no Domain attribute
    assert c["path"] == "/", c
    assert c["secure"] is True, c
    assert c["httpOnly"] is True, c
    assert c["sameSite"] == "None", c
    assert c["session"] is False, c              # persistent: Max-Age was sent
    assert abs(c["expires"] - (time.time() + MAX_AGE)) < 60, \
        f"expires {c['expires']} is not now + SessionMaxAge {MAX_AGE}: {c}"
    assert not c.get("partitionKey"), c
    assert c["value"], c
    return c


def assert_logs_clean(srv):
    bad = srv.bad_log_lines()
    assert not bad, "unexpected lines in the demo's error logs:\n" + "\n".join(bad)


# ---------------------------------------------------------------------------
# Tests

def loader_tags_in_page(driver):
    """The loader <script> elements of the page the browser shows."""
    return driver.execute_script(
        "return document.querySelectorAll('script[src*=\"/shared-session/\"]').length")


def test_script_flow_with_third_party_cookies_allowed(sites, chromium):
    """Log in on A: the page the login lands on carries the loader, which
    sets B's cookie; A remembers it sent that session, so its next page
    carries none; then open B: B greets the user without a login."""
    srv = sites
    d = chromium(third_party_cookies=True)
    before = len(access_lines(srv.b, LOADER_LINE))
    log_in(d, srv.a)                # A's protected page carries the loader
    lines = wait_loader_requests(srv, d, before + 1)[before:]
    first = fields(lines[0])
    assert first["result"] == "replaced" and first["was_empty"] == "1", lines
    # (the loader's referrerpolicy="origin": A's origin, not the page)
    assert first["referer"] == srv.a.url("/") and first["src"] == srv.a.site_id, lines
    assert cookies_of(d, srv.b.host), browser_cookies(d)
    # an unchanged session is no news: A's next page has no loader
    assert "__Host-sssent" in [c["name"] for c in cookies_of(d, srv.a.host)], \
        browser_cookies(d)
    d.get(srv.a.url("/"))
    assert loader_tags_in_page(d) == 0, d.page_source[:2000]

    d.get(srv.b.url("/private/"))
    assert d.current_url == srv.b.url("/private/")
    assert greeting(d) == demo.DEMO_USER, d.page_source[:2000]
    assert len(access_lines(srv.b, LOADER_LINE)) == before + 1
    assert_logs_clean(srv)


def log_out(driver, site):
    """Clicks the logout link of the page shown; lands on site's home page."""
    from selenium.webdriver.common.by import By
    driver.find_element(By.ID, "logout").click()
    wait_for(lambda: driver.current_url == site.url("/"),
             f"the logout to land on {site.url('/')} (at {driver.current_url})")


def test_logout_spreads_with_third_party_cookies_allowed(sites, chromium):
    """Log in on A, B logged in; log out on A: the one page on A the logout
    lands on carries it to B, B is logged out; opening B afterwards never
    logs A back in."""
    srv = sites
    d = chromium(third_party_cookies=True)
    before = len(access_lines(srv.b, LOADER_LINE))
    log_in(d, srv.a)
    wait_loader_requests(srv, d, before + 1)
    d.get(srv.b.url("/private/"))
    assert greeting(d) == demo.DEMO_USER, d.page_source[:2000]

    d.get(srv.a.url("/private/"))
    log_out(d, srv.a)
    lines = wait_loader_requests(srv, d, before + 2)[before:]
    f = fields(lines[1])
    assert (f["result"], f["reason"], f["was_empty"]) == ("replaced", "-", "0"), lines
    d.get(srv.b.url("/private/"))
    assert greeting(d) is None and shows_login_form(d), d.page_source[:2000]

    # B's pages carry nothing back (B holds A's logout), A stays logged out
    a_loaders = len(access_lines(srv.a, LOADER_LINE))
    d.get(srv.b.url("/"))
    assert loader_tags_in_page(d) == 0, d.page_source[:2000]
    d.get(srv.a.url("/private/"))
    assert greeting(d) is None and shows_login_form(d), d.page_source[:2000]
    assert len(access_lines(srv.a, LOADER_LINE)) == a_loaders
    assert_logs_clean(srv)


def test_logout_spreads_through_navigation_with_third_party_cookies_blocked(sites, chromium):
    """The same in a browser that blocks third-party cookies: the login
    reaches B through A's go link, and so does the logout."""
    from selenium.webdriver.common.by import By
    srv = sites
    d = chromium(third_party_cookies=False)
    log_in(d, srv.a)
    d.get(srv.a.url("/"))
    d.find_element(By.ID, "private-other").click()
    wait_for(lambda: d.current_url == srv.b.url("/private/")
             and greeting(d) == demo.DEMO_USER,
             f"the go link to land on B's protected page greeting {demo.DEMO_USER}")

    d.get(srv.a.url("/private/"))
    log_out(d, srv.a)
    navs = len(access_lines(srv.b, NAV_LINE))
    # A's link to B through go carries A's emptied session
    d.find_element(By.ID, "switch").click()
    wait_for(lambda: d.current_url == srv.b.url("/"), f"B's home page (at {d.current_url})")
    nav = wait_for(lambda: access_lines(srv.b, NAV_LINE)[navs:], "the navigation ticket")
    f = fields(nav[0])
    assert (f["result"], f["reason"]) == ("replaced", "-"), nav
    d.get(srv.b.url("/private/"))
    assert greeting(d) is None and shows_login_form(d), d.page_source[:2000]

    # and B's link back to A does not log A in again
    d.get(srv.b.url("/"))
    d.find_element(By.ID, "switch").click()
    wait_for(lambda: d.current_url == srv.a.url("/"), f"A's home page (at {d.current_url})")
    d.get(srv.a.url("/private/"))
    assert greeting(d) is None and shows_login_form(d), d.page_source[:2000]
    assert_logs_clean(srv)


def test_third_party_cookies_blocked_script_fails_navigation_works(sites, chromium):
    """Third-party cookies blocked (a fresh profile's default, here set
    explicitly): B answers the loader with its Set-Cookie but the browser
    drops it, so B still asks for a login; the `go` link works."""
    from selenium.webdriver.common.by import By
    srv = sites
    d = chromium(third_party_cookies=False)
    before = len(access_lines(srv.b, LOADER_LINE))
    log_in(d, srv.a)
    lines = wait_loader_requests(srv, d, before + 1)[before:]
    # B replaced its session and sent the cookie ...
    f = fields(lines[0])
    assert f["result"] == "replaced" and f["reason"] == "-" and f["was_empty"] == "1", lines
    # ... but the browser never stored it; A counts it as sent all the same
    # (until its sssent cookie expires: the README says so)
    d.get(srv.a.url("/"))
    assert loader_tags_in_page(d) == 0, d.page_source[:2000]
    assert cookies_of(d, srv.b.host) == [], browser_cookies(d)

    d.get(srv.b.url("/private/"))
    assert greeting(d) is None, d.page_source[:2000]
    assert shows_login_form(d), d.page_source[:2000]
    # (from here on B has a first-party cookie of its own: with SessionMaxAge
    # mod_session refreshes even an empty session, it only holds "expiry")

    # the navigation flow: A's link through /shared-session/go
    navs = len(access_lines(srv.b, NAV_LINE))
    d.get(srv.a.url("/"))
    link = d.find_element(By.ID, "private-other")
    assert link.get_attribute("href") == demo.go_url(srv.a, srv.b, "/private/")
    link.click()
    wait_for(lambda: d.current_url == srv.b.url("/private/")
             and greeting(d) == demo.DEMO_USER,
             f"the go link to land on {srv.b.url('/private/')} greeting "
             f"{demo.DEMO_USER} (at {d.current_url})")
    nav = wait_for(lambda: access_lines(srv.b, NAV_LINE)[navs:], "the navigation ticket")
    assert len(nav) == 1, nav
    f = fields(nav[0])
    assert f["status"] == "303" and f["result"] == "replaced", nav
    # the flow went through B's start, which bound it to this browser
    assert access_lines(srv.b, START_LINE), srv.b.access_log.read_text()
    # B's session cookie and what B received; the flow's state cookie is gone
    assert sorted(c["name"] for c in cookies_of(d, srv.b.host)) == \
        ["__Host-sssent", demo.COOKIE_NAME], browser_cookies(d)
    assert_logs_clean(srv)


@pytest.mark.parametrize("flow", ["script", "navigation"])
def test_b_cookie_has_the_attributes_of_b_configuration(sites, chromium, flow):
    """B's cookie as the browser stored it (read through the DevTools
    protocol): name, host, Secure, HttpOnly, SameSite=None and an expiry of
    SessionMaxAge, whichever flow set it."""
    from selenium.webdriver.common.by import By
    srv = sites
    d = chromium(third_party_cookies=(flow == "script"))
    before = len(access_lines(srv.b, LOADER_LINE))
    log_in(d, srv.a)
    if flow == "script":
        wait_loader_requests(srv, d, before + 1)
        wait_for(lambda: cookies_of(d, srv.b.host), "B's cookie in the browser")
    else:
        d.get(srv.a.url("/"))
        d.find_element(By.ID, "private-other").click()
        wait_for(lambda: greeting(d) == demo.DEMO_USER
                 and d.current_url == srv.b.url("/private/"),
                 f"B's protected page through the go link (at {d.current_url})")
    assert_b_cookie(d, srv)
    # what B received, remembered in B's own cookie: stored in a script
    # answer too (SameSite=None; Secure there), host-only, HttpOnly
    sent = [c for c in cookies_of(d, srv.b.host) if c["name"] == "__Host-sssent"]
    assert len(sent) == 1, browser_cookies(d)
    assert sent[0]["sameSite"] == ("None" if flow == "script" else "Lax"), sent
    assert sent[0]["secure"] and sent[0]["httpOnly"] and sent[0]["path"] == "/", sent
    assert sent[0]["domain"] == srv.b.host and not sent[0]["session"], sent
    # A's own cookie follows A's configuration the same way
    a = [c for c in cookies_of(d, srv.a.host) if c["name"] == demo.COOKIE_NAME]
    assert len(a) == 1 and a[0]["sameSite"] == "None" and a[0]["secure"], a
    assert_logs_clean(srv)


# ---------------------------------------------------------------------------
# Login CSRF through a redirect: a page of A links to (and embeds an image
# from) an attacker's site, which redirects the victim's browser to B's
# handler with tickets for the attacker's own session.  The browser keeps
# A's Referer across the redirect; B must still not plant that session.

class EvilSite:
    """https://evil.test:PORT on loopback (a thread of this process): /link
    and /img answer 302 to the URLs the attacker chose."""

    def __init__(self, cert, key):
        self.targets = {}
        self.hits = []
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                site.hits.append((self.path, self.headers.get("Referer")))
                where = site.targets.get(self.path.split("?")[0])
                if where:
                    self.send_response(302)
                    self.send_header("Location", where)
                else:
                    self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"https://evil.test:{self.port}{path}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def evil(sites):
    e = EvilSite(sites.a.cert, sites.a.cert_key)
    yield e
    e.stop()


def attacker_tickets(srv):
    """What the attacker gets with his own login and his own client: a
    navigation ticket URL (go, B's start, go with his state) and a loader
    URL from A's page."""
    c = demo.Client()
    r = c.post(srv.a.url("/dologin"), {"httpd_username": demo.DEMO_USER,
                                      "httpd_password": demo.DEMO_PASSWORD,
                                      "httpd_location": "/private/"},
               referer=srv.a.url("/login.html"))
    assert r.status in (302, 303), r.status
    url = demo.go_url(srv.a, srv.b, "/private/")
    for _ in range(3):
        r = c.get(url)
        assert r.status == 303, (url, r.status, r.headers)
        url = urllib.parse.urljoin(url, r.header("Location"))
    assert url.startswith(srv.b.url("/shared-session/")) and "?" not in url, url
    page = c.get(srv.a.url("/")).text
    loaders = [u for u in demo.LOADER_RE.findall(page) if u.startswith(srv.b.url("/"))]
    assert len(loaders) == 1, page[:2000]
    return url, loaders[0]


def test_login_csrf_through_a_redirect_is_refused(sites, chromium, evil):
    from selenium.webdriver.common.by import By
    srv = sites
    nav_url, loader_url = attacker_tickets(srv)
    evil.targets = {"/link": nav_url, "/img": loader_url}
    srv.a.docroot.joinpath("forum.html").write_text(
        "<!DOCTYPE html><html><head><title>Forum</title></head><body>"
        f'<p>A post on A: <a id="evil" href="{evil.url("/link")}">look</a>'
        f'<img src="{evil.url("/img")}" alt=""></p></body></html>\n')
    navs = len(access_lines(srv.b, NAV_LINE))
    loaders = len(access_lines(srv.b, LOADER_LINE))

    # the victim: a browser that accepts third-party cookies (the strongest
    # case for the image), logged in nowhere
    d = chromium(third_party_cookies=True)
    d.get(srv.a.url("/forum.html"))
    got = wait_for(lambda: access_lines(srv.b, LOADER_LINE)[loaders:], "the image's request")
    f = fields(got[0])
    # the browser kept A's Referer across the redirect: only Sec-Fetch-Dest
    # tells an image from a <script>
    assert f["referer"].startswith(srv.a.origin), got
    assert (f["result"], f["reason"]) == ("rejected", "fetch-dest"), got

    d.find_element(By.ID, "evil").click()
    got = wait_for(lambda: access_lines(srv.b, NAV_LINE)[navs:], "the link's navigation")
    f = fields(got[0])
    assert (f["result"], f["reason"]) == ("rejected", "state"), got
    wait_for(lambda: d.current_url == srv.b.url("/private/"), "landing on B's page")
    assert greeting(d) is None and shows_login_form(d), d.page_source[:2000]
    # both went through the attacker's site, from A's page
    assert sorted(p for p, _ in evil.hits) == ["/img", "/link"], evil.hits
    assert all(r and r.startswith(srv.a.origin) for _, r in evil.hits), evil.hits
    assert_logs_clean(srv)
