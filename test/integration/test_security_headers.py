"""Security headers on a real apache2, without a browser (docs/PROTOCOL.md,
"Answers and headers"): the Content-Security-Policy of a page that gets the
loader, set by the application (a CGI) or by mod_headers before and after
the filter, widened by exactly the ticket URLs; the page's nonce under
'strict-dynamic'; no loader under a policy <meta>; and the Referrer-Policy
of every answer of the handler whatever `Header` / `Header always` say.

Sites http://a.test, http://b.test, http://c.test are name-based virtual
hosts on one loopback port.  The user's session on A is the cookie
"session=user=alice".  B answers every request with `Header always set
Referrer-Policy unsafe-url`, C with `Header always set Referrer-Policy
no-referrer` and `Header set Referrer-Policy same-origin`: policies that
would break the flow if they reached the handler's answers."""

import re
import urllib.parse

import pytest

import sscfg
import sstickets
from pyhttpd import Httpd, request

ALICE = "session=user=alice"
SITES = "http://a.test http://b.test http://c.test"

# the loader tags, with the nonce attribute they may carry
TAG_RE = re.compile(
    r'<script (?:nonce="(?P<nonce>[^"]*)" )?src="(?P<url>https?://[^"]+\.js)" '
    r'async="async" referrerpolicy="origin"></script>')

PAGE = "<!DOCTYPE html>\n<html><head><title>t</title></head><body>x</body></html>\n"
META_PAGE = ('<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
             '<meta http-equiv="Content-Security-Policy" content="script-src \'self\'">'
             '<title>t</title></head><body>x</body></html>\n')

# The application's own headers: ?csp=...&ro=...&rp=... (percent-encoded)
APP_CGI = """#!/usr/bin/python3
import os, sys, urllib.parse
q = urllib.parse.parse_qs(os.environ.get("QUERY_STRING", ""))
out = ["Content-Type: text/html"]
for key, name in (("csp", "Content-Security-Policy"),
                  ("ro", "Content-Security-Policy-Report-Only"),
                  ("rp", "Referrer-Policy")):
    for v in q.get(key, []):
        out.append(f"{name}: {v}")
sys.stdout.write("\\r\\n".join(out) + "\\r\\n\\r\\n")
sys.stdout.write(open(os.path.join(os.path.dirname(__file__), "page.html")).read())
"""

A_EXTRA = """
    <Directory "{htdocs}/app">
        Options +ExecCGI
        AddHandler cgi-script .cgi
    </Directory>
    <Location /app/>
        SetOutputFilter SHARED_SESSION
    </Location>
    <Location /hdr/>
        SetOutputFilter SHARED_SESSION
        Header set Content-Security-Policy "script-src 'self'"
    </Location>
    <Location /hdralways/>
        SetOutputFilter SHARED_SESSION
        Header always set Content-Security-Policy "default-src 'self'"
        Header always set Content-Security-Policy-Report-Only "script-src 'none'"
    </Location>
    <Location /hdradd/>
        SetOutputFilter SHARED_SESSION
        AddHandler cgi-script .cgi
        Options +ExecCGI
        Header add Content-Security-Policy "default-src 'self'"
    </Location>
    <Location /hdrsd/>
        SetOutputFilter SHARED_SESSION
        Header set Content-Security-Policy "script-src 'nonce-n0nce' 'strict-dynamic'"
    </Location>
    <Location /meta/>
        SetOutputFilter SHARED_SESSION
        Header set Content-Security-Policy "img-src 'self'; script-src 'self'"
    </Location>
"""

B_EXTRA = """
    Header always set Referrer-Policy unsafe-url
"""

C_EXTRA = """
    Header always set Referrer-Policy no-referrer
    Header set Referrer-Policy same-origin
    <Location /pages/>
        SetOutputFilter SHARED_SESSION
    </Location>
"""


@pytest.fixture(scope="module")
def site(gen_dir, module_so, keys):
    h = Httpd("sechdr", base_dir=gen_dir)
    sscfg.prepare_docroot(h)
    h.write_file("htdocs/app/page.html", PAGE)
    h.write_file("htdocs/app/app.cgi", APP_CGI, mode=0o755)
    h.write_file("htdocs/hdradd/page.html", PAGE)
    h.write_file("htdocs/hdradd/app.cgi", APP_CGI, mode=0o755)
    for d in ("hdr", "hdralways", "hdrsd", "pages"):
        h.write_file(f"htdocs/{d}/page.html", PAGE)
    h.write_file("htdocs/meta/page.html", META_PAGE)
    snippet = f"""
SharedSessionSites {SITES}
SharedSessionKeyFile {keys["key1"]}
{sscfg.vhost("a.test", cookie="session", extra=A_EXTRA)}
{sscfg.vhost("b.test", cookie="bsess", extra=B_EXTRA)}
{sscfg.vhost("c.test", cookie="session", extra=C_EXTRA)}
"""
    h.write_config(snippet, modules=["cgi"])
    h.start()
    yield h
    h.stop()
    h.check_log()


def get(h, path, host="a.test", cookie=ALICE, headers=()):
    hs = list(headers)
    if cookie:
        hs.append(("Cookie", cookie))
    return request(h.port, path, host=host, headers=hs)


def app(h, csp=(), ro=(), rp=(), cookie=ALICE, path="/app/app.cgi"):
    q = [("csp", v) for v in csp] + [("ro", v) for v in ro] + [("rp", v) for v in rp]
    return get(h, path + "?" + urllib.parse.urlencode(q), cookie=cookie)


def tags(r):
    """[(nonce or None, url)] of the loader tags in the page."""
    body = r.body.decode()
    found = [(m.group("nonce"), m.group("url")) for m in TAG_RE.finditer(body)]
    assert body.count("<script") == len(found), body
    return found


def loader_urls(r):
    urls = [u for _, u in tags(r)]
    assert sorted(urllib.parse.urlsplit(u).netloc for u in urls) == ["b.test", "c.test"], urls
    return urls


def policies(r, name="Content-Security-Policy"):
    return r.header_all(name)


def directive(policy, name):
    """The sources of a directive of one policy (None when absent)."""
    for d in policy.split(";"):
        words = d.split()
        if words and words[0].lower() == name:
            return words[1:]
    return None


# ---------------------------------------------------------------------------
# Content-Security-Policy set by the application

@pytest.mark.parametrize("csp, name", [
    ("script-src 'self'", "script-src"),
    ("default-src 'self'; img-src *", "default-src"),
    ("default-src 'self'; script-src 'self'", "script-src"),
    ("script-src 'self'; script-src-elem 'self' https://cdn.test", "script-src-elem"),
])
def test_application_policy_gains_exactly_the_ticket_urls(site, csp, name):
    r = app(site, csp=[csp])
    assert r.status == 200, r
    urls = loader_urls(r)
    assert all(n is None for n, _ in tags(r)), r
    [got] = policies(r)
    want = directive(csp, name) + urls
    assert directive(got, name) == want, got
    # the other directives as they were
    for other in ("default-src", "script-src", "script-src-elem", "img-src"):
        if other != name:
            assert directive(got, other) == directive(csp, other), got
    # full URLs with their path, never a directory
    assert not any(s.endswith("/") for s in directive(got, name) if s.startswith("http")), got


def test_policy_that_governs_no_script_is_left_alone(site):
    r = app(site, csp=["img-src 'self'; frame-ancestors 'none'"])
    loader_urls(r)
    assert policies(r) == ["img-src 'self'; frame-ancestors 'none'"], r


def test_report_only_policy_is_widened_too(site):
    r = app(site, csp=["script-src 'self'"], ro=["default-src 'none'"])
    urls = loader_urls(r)
    [ro] = policies(r, "Content-Security-Policy-Report-Only")
    assert directive(ro, "default-src") == urls, ro      # 'none' gives way
    [csp] = policies(r)
    assert directive(csp, "script-src") == ["'self'"] + urls, csp


def test_report_only_policy_never_stops_the_loader(site):
    """A report-only policy blocks nothing: with 'strict-dynamic' and no
    nonce the loader still goes in (no warning); with a nonce, the tags carry
    it so that no report is sent for them."""
    r = app(site, ro=["script-src 'sha256-AAAA' 'strict-dynamic'"])
    assert [n for n, _ in tags(r)] == [None, None], r
    r = app(site, ro=["script-src 'nonce-r3p0rt' 'strict-dynamic'"])
    assert [n for n, _ in tags(r)] == ["r3p0rt", "r3p0rt"], r
    # an enforced policy's nonce comes first
    r = app(site, csp=["script-src 'nonce-3nf' 'strict-dynamic'"],
            ro=["script-src 'nonce-r3p0rt' 'strict-dynamic'"])
    assert [n for n, _ in tags(r)] == ["3nf", "3nf"], r


def test_strict_dynamic_with_the_page_nonce(site):
    csp = "script-src 'nonce-Pg9nXq+/w=' 'strict-dynamic' https:; object-src 'none'"
    r = app(site, csp=[csp])
    found = tags(r)
    assert len(found) == 2 and all(n == "Pg9nXq+/w=" for n, _ in found), found
    [got] = policies(r)
    # the nonce is the page's own: no nonce of the module's is added
    assert re.findall(r"'nonce-[^']*'", got) == ["'nonce-Pg9nXq+/w='"], got


@pytest.mark.allow_log("MSS02160")
def test_strict_dynamic_without_a_nonce_gets_no_loader(site):
    site.mark()
    csp = "script-src 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' 'strict-dynamic'"
    r = app(site, csp=[csp])
    assert r.status == 200 and b"<script" not in r.body, r
    assert r.body.decode() == PAGE
    assert policies(r) == [csp], r
    assert site.wait_error_log(r"MSS02160: no loader in /app/app\.cgi: its "
                               r"Content-Security-Policy has 'strict-dynamic'")


def test_no_session_no_change(site):
    r = app(site, csp=["script-src 'self'"], cookie=None)
    assert b"<script" not in r.body and policies(r) == ["script-src 'self'"], r


def test_policy_meta_in_the_head_gets_no_loader(site):
    site.mark()
    r = get(site, "/meta/page.html")
    assert r.status == 200 and r.body.decode() == META_PAGE, r
    # the header policy is not widened either: no tickets anywhere
    assert policies(r) == ["img-src 'self'; script-src 'self'"], r
    assert site.wait_error_log(r":info\].*MSS02161: no loader in /meta/page\.html: the "
                               r"page's <head> carries a Content-Security-Policy <meta>")
    # left as it was: cacheable, with its validators
    assert r.header("ETag") and r.header("Content-Length") == str(len(META_PAGE)), r


# ---------------------------------------------------------------------------
# Content-Security-Policy set by mod_headers: after the filter, widened late

def test_header_set_after_the_filter_is_widened(site):
    r = get(site, "/hdr/page.html")
    urls = loader_urls(r)
    assert policies(r) == ["script-src 'self' " + " ".join(urls)], r


def test_header_always_set_is_widened(site):
    r = get(site, "/hdralways/page.html")
    urls = loader_urls(r)
    assert policies(r) == ["default-src 'self' " + " ".join(urls)], r
    assert policies(r, "Content-Security-Policy-Report-Only") == [
        "script-src " + " ".join(urls)], r


def test_every_policy_present_is_widened(site):
    """The application's policy and one that "Header add" puts beside it:
    a browser enforces both, so both gain the URLs."""
    r = app(site, csp=["script-src 'self'"], path="/hdradd/app.cgi")
    urls = loader_urls(r)
    assert sorted(policies(r)) == sorted(["script-src 'self' " + " ".join(urls),
                                          "default-src 'self' " + " ".join(urls)]), r


@pytest.mark.allow_log("MSS02162")
def test_strict_dynamic_policy_set_after_the_filter_is_reported(site):
    site.mark()
    r = get(site, "/hdrsd/page.html")
    found = tags(r)
    assert len(found) == 2 and all(n is None for n, _ in found), found
    assert site.wait_error_log(r":warn\].*MSS02162: the loader in /hdrsd/page\.html will "
                               r"not run: a Content-Security-Policy with 'strict-dynamic' "
                               r"was set after the SHARED_SESSION filter")


# ---------------------------------------------------------------------------
# Referrer-Policy: the handler's answers carry the policy the next hop needs

def only_policy(r):
    return [v.strip().lower() for v in r.header_all("Referrer-Policy")]


def follow(site, url, cookies):
    """One hop of a browser: GET url with the cookies of its host."""
    u = urllib.parse.urlsplit(url)
    jar = cookies.setdefault(u.hostname, {})
    hs = [("Sec-Fetch-Dest", "document")]
    if jar:
        hs.append(("Cookie", "; ".join(f"{k}={v}" for k, v in jar.items())))
    r = request(site.port, u.path + (f"?{u.query}" if u.query else ""), host=u.netloc,
                headers=hs)
    for sc in r.header_all("Set-Cookie"):
        name, _, value = sc.split(";")[0].partition("=")
        jar[name.strip()] = value.strip()
    return r


def test_navigation_flow_answers_carry_the_module_policy(site):
    """C (no-referrer, same-origin configured) sends the user to B
    (unsafe-url configured): go -> B's start -> C's go -> B's ticket -> page.
    Each answer says exactly what its next hop needs."""
    cookies = {"c.test": {"session": "user=alice"}}
    to = "http://b.test/page.txt"
    r = follow(site, "http://c.test/shared-session/go?to=" + urllib.parse.quote(to, safe=""),
               cookies)
    assert r.status == 303 and "/shared-session/start?" in r.header("Location"), r
    assert only_policy(r) == ["origin"], r
    r = follow(site, r.header("Location"), cookies)
    assert r.status == 303 and r.header("Location").startswith(
        "http://c.test/shared-session/go?"), r
    assert only_policy(r) == ["origin"], r
    r = follow(site, r.header("Location"), cookies)
    assert r.status == 303 and r.header("Location").startswith(
        "http://b.test/shared-session/"), r
    assert only_policy(r) == ["origin"], r
    r = follow(site, r.header("Location"), cookies)
    assert r.status == 303 and r.header("Location") == "/page.txt", r
    assert only_policy(r) == ["no-referrer"], r
    # B has the session now
    r = follow(site, "http://b.test/page.txt", cookies)
    assert sscfg.parse_session(r.header("X-Session")) == {"user": "alice"}, r


def test_go_without_a_session_says_no_referrer(site):
    r = get(site, "/shared-session/go?to=" + urllib.parse.quote("http://b.test/x", safe=""),
            host="c.test", cookie=None)
    assert r.status == 303 and r.header("Location") == "http://b.test/x", r
    assert only_policy(r) == ["no-referrer"], r


@pytest.mark.allow_log("MSS01080")     # the rate-limited line about the made-up ticket
def test_rejected_ticket_answer_says_no_referrer(site):
    r = get(site, "/shared-session/" + "A" * 80, host="b.test", cookie=None)
    assert r.status == 303, r
    assert only_policy(r) == ["no-referrer"], r


def test_other_answers_keep_what_is_configured(site):
    """Only the handler's redirects are the module's to decide."""
    r = get(site, "/page.txt", host="b.test", cookie=None)
    assert only_policy(r) == ["unsafe-url"], r


@pytest.mark.allow_log("MSS02164")
def test_page_that_sends_no_referer_is_reported(site):
    site.mark()
    r = get(site, "/pages/page.html", host="c.test")
    assert len(tags(r)) == 2, r
    assert "no-referrer" in only_policy(r), r
    assert site.wait_error_log(r":warn\].*MSS02164: pages of c\.test \(here "
                               r"/pages/page\.html\) say 'Referrer-Policy: no-referrer")
