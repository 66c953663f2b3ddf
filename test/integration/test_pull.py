"""Pulls on arrival on a real apache2: a top-level GET navigation that
arrives at B from another listed site's own host is sent through B's
`start` first (a 303 decided in header_parser, before any access check or
handler), and lands on the very URL it asked for with the source's session;
the guard cookie (`sspull` on http, `__Host-sspull` on https) makes it once
per source site and period.

Sites: http://a.test http://b.test http://c.test https://secure.test
http://d.test, all name-based virtual hosts on one loopback port
(secure.test is an https entry whatever terminates TLS; d.test mounts the
handler elsewhere than SharedSessionPath).  The user's session on A is the cookie
"session=user=alice".  The scripted browser below never runs loaders; it
sends what a browser sends on a navigation: Referer (cut by each answer's
Referrer-Policy), Sec-Fetch-Dest/-Mode/-Site (or, as browsers do towards
plain http, none of them) and Upgrade-Insecure-Requests.

start's refusals of bad input (a from= not in the list, a to= on another
host, under the handler's path, overlong: 400 with a one-line reason and
no cookie) are test_go.py's START_REFUSED and test_start_refused; here: a
pull never builds a start URL that start would refuse."""

import os
import re
import time
import urllib.parse

import pytest

import sscfg
from pyhttpd import Httpd, cookie_attrs, request
from sscfg import Browser

ALICE = "session=user=alice"
START_LOC = re.compile(r"^(?P<origin>https?://[^/]+)/shared-session/start\?(?P<query>.*)$")
PAGE = "http://b.test/x/?y=1&z=2"
FROM_A = "http://a.test/page.html"

STATUS = """
ExtendedStatus On
<Location /server-status>
    SetHandler server-status
</Location>
"""

# B's pages show the session they see (X-Session); /api/ keeps the pull off,
# and its missing pages are answered by /x/ through an internal redirect;
# /private/ asks for a password (answered before the pull? never: the pull
# is decided first)
B_EXTRA = """
    <LocationMatch "^/(x|api|private)/">
        Header always set X-Session "%{HTTP_SESSION}e"
    </LocationMatch>
    <Location /api/>
        SharedSessionPull Off
        ErrorDocument 404 /x/index.html
    </Location>
    <Location /private/>
        AuthType Basic
        AuthName private
        AuthUserFile /dev/null
        Require valid-user
    </Location>
"""

# c.test: the pull off for the whole virtual host, on again for /on/
C_EXTRA = """
    SharedSessionPull Off
    <Location /on/>
        SharedSessionPull On
    </Location>
"""

ECHO_CGI = """#!/bin/sh
cat >/dev/null
printf 'Content-Type: text/plain\\r\\n\\r\\n%s %s\\n' "$REQUEST_METHOD" "$QUERY_STRING"
"""


@pytest.fixture(scope="module")
def site(gen_dir, module_so, keys):
    h = Httpd("pull", base_dir=gen_dir)
    sscfg.prepare_docroot(h)
    h.write_file("htdocs/x/index.html", "<html><body>x</body></html>\n")
    h.write_file("htdocs/api/data.txt", "data\n")
    h.write_file("htdocs/on/index.html", "<html><body>on</body></html>\n")
    h.write_file("htdocs/private/index.html", "<html><body>private</body></html>\n")
    h.write_file("htdocs/cgi/echo.cgi", ECHO_CGI, mode=0o755)
    snippet = f"""
SharedSessionSites http://a.test http://b.test http://c.test https://secure.test http://d.test
SharedSessionKeyFile {keys["key1"]}
{STATUS}
{sscfg.vhost("a.test", cookie="session")}
{sscfg.vhost("b.test", cookie="bsess", extra=B_EXTRA)}
{sscfg.vhost("c.test", cookie="csess", extra=C_EXTRA)}
{sscfg.vhost("d.test", cookie="dsess", handler_path="/elsewhere/")}
{sscfg.vhost("secure.test", cookie="ssess", extra=B_EXTRA + "SharedSessionResend 0")}
"""
    h.write_config(snippet, modules=["cgi", "dir", "status", "auth_basic", "authn_core", "authn_file",
                                     "authz_user"])
    h.start()
    yield h
    h.stop()
    h.check_log()


def origin_of(url):
    u = urllib.parse.urlsplit(url)
    return f"{u.scheme}://{u.netloc}"


def site_of(url):
    """A browser's "site": scheme and registrable domain (here the host)."""
    u = urllib.parse.urlsplit(url)
    return (u.scheme, u.hostname)


def referrer(page, target, policy):
    """The Referer a browser sends for target when the chain started on
    page, under policy (the default, then each redirect's)."""
    if page is None or policy == "no-referrer":
        return None
    page = page.split("#")[0]
    downgrade = page.startswith("https:") and target.startswith("http:")
    if policy == "origin":
        return origin_of(page) + "/"
    if policy in ("unsafe-url",):
        return page
    if policy == "no-referrer-when-downgrade":
        return None if downgrade else page
    # strict-origin-when-cross-origin, the browsers' default
    if downgrade:
        return None
    return page if origin_of(page) == origin_of(target) else origin_of(page) + "/"


class Visitor(Browser):
    """Browser (cookies per host, redirects followed) that navigates as a
    browser does from a page: Referer from the page where the chain started,
    cut by each answer's Referrer-Policy; Sec-Fetch-Site cross-site as soon
    as a hop is on another site than the page's; Sec-Fetch-* left out
    altogether with fetch_metadata=False (what browsers send to plain http
    URLs)."""

    def __init__(self, h, fetch_metadata=True):
        super().__init__(h)
        self.fetch_metadata = fetch_metadata

    def follow(self, url, page=FROM_A, method="GET", extra=(), max_hops=8, policy=None,
               stop_after=None):
        policy = policy or "strict-origin-when-cross-origin"
        crossed = False
        hops = []
        for _ in range(max_hops):
            u = urllib.parse.urlsplit(url)
            jar = self.jar.get(u.hostname, {})
            hs = [("Cookie", "; ".join(f"{k}={v}" for k, v in jar.items()))] if jar else []
            ref = referrer(page, url, policy)
            if ref:
                hs.append(("Referer", ref))
            if self.fetch_metadata:
                if page is None:
                    fsite = "none"
                else:
                    crossed |= site_of(url) != site_of(page)
                    fsite = ("cross-site" if crossed else
                             "same-origin" if origin_of(url) == origin_of(page) else "same-site")
                hs += [("Sec-Fetch-Dest", "document"), ("Sec-Fetch-Mode", "navigate"),
                       ("Sec-Fetch-Site", fsite)]
            hs.append(("Upgrade-Insecure-Requests", "1"))
            hs.extend(extra)
            path = (u.path or "/") + (f"?{u.query}" if u.query else "")
            r = request(self.port, path, host=u.netloc, method=method, headers=hs,
                        body=b"a=1" if method == "POST" else None)
            self._store(u.hostname, r)
            hops.append((url, r))
            if r.status not in (301, 302, 303, 307, 308) or len(hops) == stop_after:
                return hops
            policy = (r.header("Referrer-Policy") or policy).split(",")[-1].strip().lower()
            url = urllib.parse.urljoin(url, r.header("Location"))
            method = "GET"
        raise AssertionError(f"more than {max_hops} redirects: {[h[0] for h in hops]}")


def where(hops):
    return [(urllib.parse.urlsplit(u).hostname, urllib.parse.urlsplit(u).path)
            for u, _ in hops]


def shown_session(r):
    return sscfg.parse_session(r.header("X-Session"))


def visitor(h, session=ALICE, **kw):
    v = Visitor(h, **kw)
    if session:
        v.set_cookie("a.test", session)
    return v


def guard_of(r, name="sspull"):
    sc = r.set_cookies(name)
    assert len(sc) == 1, r
    return sc[0]


def guard_marks(set_cookie):
    text = set_cookie.split(";", 1)[0].split("=", 1)[1]
    return [tuple(m.rsplit("/", 1)) for m in text.split("~")]


def assert_single(hops, status=200):
    assert len(hops) == 1, where(hops)
    r = hops[0][1]
    assert r.status == status, r
    assert r.set_cookies("sspull") == [] and r.set_cookies("__Host-sspull") == [], r
    return r


def status_auto(h):
    r = request(h.port, "/server-status?auto", host="a.test")
    assert r.status == 200, r
    out = {}
    for line in r.body.decode().splitlines():
        k, sep, v = line.partition(": ")
        if sep and k.startswith("SharedSession"):
            out[k[len("SharedSession"):]] = int(v)
    return out


# ---------------------------------------------------------------------------
# A plain link from A to B lands on that URL of B with A's session.

@pytest.mark.parametrize("fetch_metadata", [True, False], ids=["sec-fetch", "plain-http"])
def test_link_from_a_lands_on_the_exact_url_with_as_session(site, fetch_metadata):
    v = visitor(site, fetch_metadata=fetch_metadata)
    hops = v.follow(PAGE)
    assert where(hops) == [("b.test", "/x/"), ("b.test", "/shared-session/start"),
                           ("a.test", "/shared-session/go"), ("b.test", where(hops)[3][1]),
                           ("b.test", "/x/")], where(hops)
    assert hops[-1][0] == PAGE
    page = hops[-1][1]
    assert page.status == 200 and b"x" in page.body, page
    assert shown_session(page) == {"user": "alice"}, page
    # the pull: a 303 to B's own start for a.test and this path and query
    pull = hops[0][1]
    # (httpd's own answer, as for a Redirect: its short "See Other" page)
    assert pull.status == 303 and b"See Other" in pull.body, pull
    m = START_LOC.match(pull.header("Location"))
    assert m and m.group("origin") == "http://b.test", pull
    assert urllib.parse.parse_qs(m.group("query")) == {"from": ["a.test"],
                                                      "to": ["/x/?y=1&z=2"]}, pull
    assert "no-store" in pull.header("Cache-Control"), pull
    assert pull.header("Referrer-Policy") == "origin", pull
    # the page itself was answered once, the session arrived with it
    assert site.access_entry(hops[3][1])["result"] == "replaced"
    assert "bsess" in v.cookies("b.test")


def test_guard_cookie_set_on_the_pull_itself(site):
    v = visitor(site)
    before = time.time()
    pull = v.follow(PAGE)[0][1]
    sc = guard_of(pull)
    attrs = cookie_attrs(sc)
    assert attrs["path"] == "/" and attrs["samesite"] == "Lax" and "httponly" in attrs, sc
    assert attrs["max-age"] == "600", sc
    assert "secure" not in attrs and "domain" not in attrs and "expires" not in attrs, sc
    [(src, at)] = guard_marks(sc)
    assert src == "a.test" and before - 2 <= int(at) <= time.time() + 1, sc


def test_second_arrival_soon_after_is_a_single_request(site):
    v = visitor(site)
    assert len(v.follow(PAGE)) == 5
    r = assert_single(v.follow("http://b.test/x/?second=1"))
    assert shown_session(r) == {"user": "alice"}
    # and from the same page again
    assert_single(v.follow(PAGE))


def test_no_session_on_a_lands_on_the_page_without_one(site):
    v = visitor(site, session=None)
    hops = v.follow(PAGE)
    assert where(hops) == [("b.test", "/x/"), ("b.test", "/shared-session/start"),
                           ("a.test", "/shared-session/go"), ("b.test", "/x/")], where(hops)
    assert hops[-1][0] == PAGE
    assert hops[2][1].header("Referrer-Policy") == "no-referrer", hops[2][1]
    assert hops[-1][1].status == 200 and shown_session(hops[-1][1]) == {}
    # the guard holds: the next arrival is a single request
    assert_single(v.follow(PAGE))


def test_landing_page_is_not_pulled_again_even_without_the_guard(site):
    """The landing comes with no Referer (Referrer-Policy: no-referrer on
    the last redirect): a browser that kept no guard cookie is not bounced
    again either."""
    v = visitor(site)
    hops = v.follow(PAGE)
    v.jar["b.test"].pop("sspull")
    last = hops[-2][1]
    assert last.header("Referrer-Policy") == "no-referrer", last
    assert_single(v.follow(PAGE, page=FROM_A, policy="no-referrer"))


def test_a_page_that_needs_a_login_is_pulled_before_the_login_is_asked(site):
    v = visitor(site)
    hops = v.follow("http://b.test/private/?p=1")
    assert hops[0][1].status == 303, hops[0][1]
    assert where(hops)[1] == ("b.test", "/shared-session/start")
    # (Basic auth knows no session: the page still asks for its password)
    assert hops[-1][0] == "http://b.test/private/?p=1" and hops[-1][1].status == 401


# ---------------------------------------------------------------------------
# Arrivals that are a single request.

@pytest.mark.parametrize("page", [
    "http://evil.example/page",          # not in the list
    "http://b.test/other.html",          # B itself
    "http://shop.a.test/page",           # a subdomain of a listed site
    "https://a.test/page",               # not the entry's scheme
    "http://a.test:8080/page",           # not the entry's port
    None,                                # typed, a bookmark (no Referer)
])
def test_arrival_not_from_another_listed_site(site, page):
    assert_single(visitor(site).follow(PAGE, page=page))


@pytest.mark.parametrize("fetch_metadata", [True, False], ids=["sec-fetch", "plain-http"])
def test_arrival_without_referer(site, fetch_metadata):
    """A's page sent no Referer (rel=noreferrer, Referrer-Policy: no-referrer)."""
    v = visitor(site, fetch_metadata=fetch_metadata)
    assert_single(v.follow(PAGE, policy="no-referrer"))


@pytest.mark.parametrize("headers", [
    [("Sec-Fetch-Dest", "iframe"), ("Sec-Fetch-Site", "cross-site")],
    [("Sec-Fetch-Dest", "document"), ("Sec-Fetch-Site", "same-site")],
    [("Sec-Fetch-Dest", "document"), ("Sec-Fetch-Site", "none")],
    [("Sec-Fetch-Dest", "document")],
    [("Sec-Fetch-Dest", "document"), ("Sec-Fetch-Site", "cross-site"),
     ("Sec-Purpose", "prefetch")],
    [("Sec-Fetch-Dest", "document"), ("Sec-Fetch-Site", "cross-site"),
     ("Sec-Purpose", "prefetch;prerender")],
    [("Upgrade-Insecure-Requests", "1"), ("Purpose", "prefetch")],
    [],                                  # no Sec-Fetch-*, no Upgrade-Insecure-Requests
], ids=["iframe", "same-site", "typed", "dest-only", "prefetch", "prerender",
        "purpose-prefetch", "not-a-navigation"])
def test_not_a_top_level_arrival(site, headers):
    hs = [("Referer", "http://a.test/"), ("Cookie", ALICE)] + headers
    r = request(site.port, "/x/?y=1", host="b.test", headers=hs)
    assert r.status == 200 and r.header_all("Set-Cookie") == [], r


@pytest.mark.parametrize("method", ["POST", "HEAD"])
def test_other_methods_untouched(site, method):
    path = "http://b.test/cgi/echo.cgi?q=1" if method == "POST" else PAGE
    hops = visitor(site).follow(path, method=method)
    r = assert_single(hops)
    if method == "POST":
        assert r.body == b"POST q=1\n", r


def test_pull_off_in_a_location(site):
    r = assert_single(visitor(site).follow("http://b.test/api/data.txt?x=1"))
    assert r.body == b"data\n", r


def test_pull_off_for_a_virtual_host_on_for_a_location(site):
    assert_single(visitor(site).follow("http://c.test/x/?y=1"))
    hops = visitor(site).follow("http://c.test/on/?y=1")
    assert where(hops)[:2] == [("c.test", "/on/"), ("c.test", "/shared-session/start")], hops
    assert hops[-1][0] == "http://c.test/on/?y=1" and hops[-1][1].status == 200


def test_internal_redirect_is_not_pulled(site):
    """A page under Pull Off whose ErrorDocument is a page where the pull is
    on: the internal redirect is part of the same arrival, never pulled."""
    r = assert_single(visitor(site).follow("http://b.test/api/missing"), status=404)
    assert b"x" in r.body, r


@pytest.mark.parametrize("path", ["/shared-session/start?from=a.test&to=%2Fx%2F",
                                  "/shared-session/nothing-here!",
                                  "/shared-session/"])
def test_handler_path_never_pulled(site, path):
    r = visitor(site).follow("http://b.test" + path, stop_after=1)[0][1]
    assert r.set_cookies("sspull") == [], r
    if "start" in path:
        # start itself answered: on to A's go
        assert r.status == 303 and "/shared-session/go?" in r.header("Location"), r
    else:
        assert r.status == 404, r


@pytest.mark.allow_log("MSS01143")
def test_no_pull_where_start_is_not_served(site):
    """d.test mounts the handler elsewhere than SharedSessionPath: a pull
    would land on an error page; the page is served as it is, and the log
    says why (once per child)."""
    r = assert_single(visitor(site).follow("http://d.test/x/?y=1"))
    assert b"x" in r.body, r
    m = site.wait_error_log(r"\[shared_session:warn\].*MSS01143.*")
    assert m and "SetHandler shared-session" in m.group(0), site.error_log_since_mark()


def test_url_that_start_would_refuse_is_not_pulled(site):
    """Never a dead end: an overlong URL is served as it is."""
    r = assert_single(visitor(site).follow("http://b.test/x/?q=" + "y" * 2100))
    assert b"x" in r.body, r


# ---------------------------------------------------------------------------
# The guard cookie's limits.

def arrive(site, guard, page=FROM_A, host="b.test", name="sspull"):
    v = visitor(site)
    if guard is not None:
        v.set_cookie(host, f"{name}={guard}")
    return v.follow(f"http://{host}/x/?y=1", page=page)


def test_guard_expires_after_the_resend_period(site):
    now = int(time.time())
    assert_single(arrive(site, f"a.test/{now - 590}"))
    hops = arrive(site, f"a.test/{now - 610}")
    assert len(hops) == 5, where(hops)
    [(src, at)] = guard_marks(guard_of(hops[0][1]))
    assert src == "a.test" and int(at) >= now


def test_guard_is_per_source_site(site):
    now = int(time.time())
    hops = arrive(site, f"c.test/{now - 10}~secure.test/{now - 700}")
    assert len(hops) == 5, where(hops)
    marks = guard_marks(guard_of(hops[0][1]))
    assert [m[0] for m in marks] == ["a.test", "c.test"], marks
    assert marks[1][1] == str(now - 10), marks
    # from c.test: guarded; from a.test: guarded now too
    assert_single(arrive(site, "~".join("/".join(m) for m in marks),
                         page="http://c.test/"))


@pytest.mark.parametrize("guard", [
    "garbled",
    "a.test/",
    "a.test/1~",
    "A.TEST/{now}",
    "a.test/{now}x",
    "a.test/99999999999",                          # far in the future: forged
    "a.test/{now}~" + "~".join(f"s{i}.test/1" for i in range(16)),    # too many marks
    "a.test/{now}" + "0" * 1100,                   # oversized
    "x" * 4000,
])
def test_bad_guard_is_ignored(site, guard):
    guard = guard.replace("{now}", str(int(time.time())))
    hops = arrive(site, guard)
    assert len(hops) == 5, where(hops)
    assert hops[-1][1].status == 200 and shown_session(hops[-1][1]) == {"user": "alice"}
    # replaced by a clean guard
    [(src, _)] = guard_marks(guard_of(hops[0][1]))
    assert src == "a.test"


def test_guard_on_an_https_entry(site):
    """secure.test is an https entry: __Host-sspull, Secure."""
    hops = visitor(site).follow("http://secure.test/x/?y=1", stop_after=1)
    r = hops[0][1]
    assert r.status == 303, r
    assert r.header("Location").lower() == \
        "https://secure.test/shared-session/start?from=a.test&to=%2fx%2f%3fy%3d1", r
    sc = guard_of(r, "__Host-sspull")
    attrs = cookie_attrs(sc)
    assert "secure" in attrs and attrs["path"] == "/" and "domain" not in attrs, sc
    assert attrs["httponly"] == "" and attrs["samesite"] == "Lax", sc
    # SharedSessionResend 0 there: still once a minute per source
    assert attrs["max-age"] == "60", sc
    assert r.set_cookies("sspull") == [], r
    # the http name is not the guard there
    now = int(time.time())
    assert len(arrive(site, f"a.test/{now}", host="secure.test", name="sspull")) >= 2
    assert_single(arrive(site, f"a.test/{now}", host="secure.test", name="__Host-sspull"))
    assert_single(arrive(site, f"a.test/{now - 50}", host="secure.test", name="__Host-sspull"))
    assert len(arrive(site, f"a.test/{now - 70}", host="secure.test",
                      name="__Host-sspull")) >= 2


# ---------------------------------------------------------------------------
# Counters on mod_status.

def test_pull_and_start_counted(site):
    before = status_auto(site)
    hops = visitor(site).follow(PAGE)
    assert len(hops) == 5
    assert_single(visitor(site).follow(PAGE, page=None))
    after = status_auto(site)
    assert after["PullRedirects"] - before["PullRedirects"] == 1, (before, after)
    assert after["StartRedirects"] - before["StartRedirects"] == 1, (before, after)
    assert after["GoRedirects"] - before["GoRedirects"] == 1, (before, after)


# ---------------------------------------------------------------------------
# Headless Chromium, third-party cookies blocked (a fresh profile's default,
# here set explicitly): the script flow does nothing there, the pull does;
# and allowed, where both run.
# The two-site demo (test_browser.py's fixtures): https://a.test:PA and
# https://b.test:PB, form login, B's /private/ asks for a login.

from test_browser import (START_LINE, access_lines, assert_logs_clean,  # noqa: E402
                          chromium, greeting, log_in, sites, wait_for)
import demo  # noqa: E402  (test_browser put demo/ on the path)

PULL_LINE = '"GET /private/?'


def _b_greets_after(d, srv, url, open_it):
    before = len(access_lines(srv.b, START_LINE))
    open_it()
    wait_for(lambda: d.current_url == url and greeting(d) == demo.DEMO_USER,
             f"B to greet {demo.DEMO_USER} at {url} (at {d.current_url}: "
             f"{d.page_source[:300]})")
    # through B's start: the pull answered the first request with a 303
    assert len(access_lines(srv.b, START_LINE)) == before + 1, srv.b.access_log.read_text()
    path = urllib.parse.urlsplit(url)
    first = [ln for ln in access_lines(srv.b, f'"GET {path.path}?{path.query} ')]
    assert [ln.split('" ')[1][:3] for ln in first] == ["303", "200"], first
    assert_logs_clean(srv)


@pytest.mark.browser
@pytest.mark.parametrize("third_party", [False, True], ids=["3p-blocked", "3p-allowed"])
def test_browser_plain_link_from_a_pulls_the_session(sites, chromium, third_party):
    """Also where third-party cookies are allowed (the loader may have set
    B's session already): the pull happens once, the page greets the user."""
    from selenium.webdriver.common.by import By
    srv = sites
    d = chromium(third_party_cookies=third_party)
    log_in(d, srv.a)
    d.get(srv.a.url("/"))
    url = srv.b.url(f"/private/?via=link&n=1&third_party={int(third_party)}")
    # a link written with no knowledge of the module
    d.execute_script("var a = document.createElement('a'); a.id = 'plain-b';"
                     "a.href = arguments[0]; a.textContent = 'B';"
                     "document.body.appendChild(a);", url)
    _b_greets_after(d, srv, url, lambda: d.find_element(By.ID, "plain-b").click())


@pytest.mark.browser
def test_browser_script_navigation_from_a_pulls_the_session(sites, chromium):
    srv = sites
    d = chromium(third_party_cookies=False)
    log_in(d, srv.a)
    d.get(srv.a.url("/"))
    url = srv.b.url("/private/?via=script&n=2")
    _b_greets_after(d, srv, url,
                    lambda: d.execute_script("window.location = arguments[0];", url))
