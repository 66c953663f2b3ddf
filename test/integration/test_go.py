"""`go`, the navigation flow on the sending side (docs/PROTOCOL.md, "The
navigation flow"), end to end on a real apache2.

Sites: http://a.test http://b.test http://c.test https://secure.test and
http://127.0.0.1:P1 (an entry with a port: the instance's second port).
a.test, b.test (with *.b.test) are name-based virtual hosts on the first
port; 127.0.0.1 is served on the second one.  The user's session on A is
the cookie "session=user=alice"."""

import re
import urllib.parse

import pytest

import sscfg
from filterdata import loader
from pyhttpd import Httpd, cookie_pair, request
from sscfg import Client

ALICE = "session=user=alice"
TICKET_LOC = re.compile(r"^(?P<origin>https?://[^/]+)/shared-session/(?P<ticket>[A-Za-z0-9_-]+)$")

OTHER_VHOST = """
<VirtualHost 127.0.0.1:{port}>
    ServerName other.test
    Session On
    SessionCookieName session path=/
    <Location /shared-session/>
        SetHandler shared-session
    </Location>
</VirtualHost>
"""

NOSESSION_VHOST = """
<VirtualHost 127.0.0.1:{port}>
    ServerName c.test
    <Location /shared-session/>
        SetHandler shared-session
    </Location>
</VirtualHost>
"""


@pytest.fixture(scope="module")
def site(gen_dir, module_so, keys):
    h = Httpd("go", base_dir=gen_dir, nports=2)
    sscfg.prepare_docroot(h)
    snippet = f"""
SharedSessionSites http://a.test http://b.test http://c.test https://secure.test http://127.0.0.1:{{port1}}
SharedSessionKeyFile {keys["key1"]}
{OTHER_VHOST}
{sscfg.vhost("a.test", cookie="session", aliases="shop.a.test")}
{sscfg.vhost("b.test", cookie="bsess", aliases="*.b.test")}
{NOSESSION_VHOST}
{sscfg.vhost("127.0.0.1", cookie="isess", port="{port1}")}
"""
    h.write_config(snippet, modules=["cgi"])
    h.start()
    h.check_log(["MSS00090"])   # configtest's warning about the unlisted hosts, expected
    yield h
    h.stop()
    h.check_log()


def go(h, to=None, query=None, cookie=ALICE, host="a.test", method="GET", port=None):
    """GET /shared-session/go?to=<to, percent-encoded> (or ?<query> as is)."""
    if query is None:
        query = "to=" + urllib.parse.quote(to, safe="") if to is not None else ""
    path = "/shared-session/go" + ("?" + query if query else "")
    hs = [("Cookie", cookie)] if cookie else []
    return request(port or h.port, path, host=host, method=method, headers=hs)


def assert_see_other(r):
    assert r.status == 303, r
    cc = loader.tokens(r, "Cache-Control")
    assert "no-store" in cc, r
    assert r.header("Referrer-Policy", "").lower() == "origin", r
    return r.header("Location")


def ticket_location(r, origin):
    loc = assert_see_other(r)
    m = TICKET_LOC.match(loc or "")
    assert m, r
    assert m.group("origin") == origin, loc
    return m.group("ticket")


def inspect(tool, keys, dst, ticket):
    f = loader.inspect_fields(tool, keys["key1"], dst, ticket, "--show-session")
    assert f["_rc"] == 0, f["_out"]
    return f


def assert_refused(r):
    """400 with a one-line text body, and no redirect anywhere."""
    assert r.status == 400, r
    assert r.header("Location") is None, r
    assert r.header("Content-Type", "").split(";")[0] == "text/plain", r
    assert r.body.endswith(b"\n") and r.body.count(b"\n") == 1, r
    assert len(r.body.strip()) > 10 and b"\r" not in r.body, r


# ---------------------------------------------------------------------------
# With a session: a navigation ticket for the target.

def test_go_mints_a_navigation_ticket(site, tool, keys):
    # as a page would write it, unencoded
    r = go(site, query="to=http://b.test/some/page?x=1")
    ticket = ticket_location(r, "http://b.test")
    f = inspect(tool, keys, "b.test", ticket)
    assert f["result"] == "ok" and f["mode"] == "navigation", f["_out"]
    assert f["next"] == "/some/page?x=1", f["_out"]
    assert f["src"] == "a.test" and f["dst"] == "b.test", f["_out"]
    assert loader.parse_session(f["session"]) == {"user": "alice"}
    # for b.test only
    assert loader.inspect_fields(tool, keys["key1"], "c.test", ticket)["_rc"] != 0
    # following it on B: B's cookie, then the page
    b = Client(site, tool, keys["key1"], host="b.test", src="a.test", cookie="bsess")
    rr = b.navigate(ticket, referer="http://a.test/")
    assert rr.status == 303, rr
    assert rr.header("Location") == "/some/page?x=1", rr
    assert rr.header("Referrer-Policy", "").lower() == "no-referrer", rr
    sc = rr.set_cookies("bsess")
    assert len(sc) == 1, rr
    assert b.page(cookie_pair(sc[0])) == {"user": "alice"}
    assert site.access_entry(rr)["result"] == "replaced"


def test_go_with_encoded_query(site, tool, keys):
    r = go(site, "http://b.test/p/q.html?x=1&y=a%20b")
    ticket = ticket_location(r, "http://b.test")
    assert inspect(tool, keys, "b.test", ticket)["next"] == "/p/q.html?x=1&y=a%20b"


def test_go_without_path(site, tool, keys):
    ticket = ticket_location(go(site, "http://b.test"), "http://b.test")
    assert inspect(tool, keys, "b.test", ticket)["next"] == "/"


def test_go_case_insensitive_scheme_and_host(site, tool, keys):
    ticket = ticket_location(go(site, "HTTP://B.TEST/Some/Path"), "http://b.test")
    assert inspect(tool, keys, "b.test", ticket)["next"] == "/Some/Path"


def test_go_scheme_from_the_entry(site, tool, keys):
    """secure.test is an https entry: the ticket URL is https even when `to`
    says http; b.test is an http entry."""
    ticket = ticket_location(go(site, "http://secure.test/x"), "https://secure.test")
    f = inspect(tool, keys, "secure.test", ticket)
    assert f["next"] == "/x" and f["dst"] == "secure.test", f["_out"]
    ticket = ticket_location(go(site, "https://b.test/y"), "http://b.test")
    assert inspect(tool, keys, "b.test", ticket)["next"] == "/y"


@pytest.mark.parametrize("to,origin", [
    ("http://secure.test:80/x", "https://secure.test"),
    ("https://b.test:443/x", "http://b.test"),
])
def test_go_scheme_change_drops_the_old_default_port(site, tool, keys, to, origin):
    """An entry without a port accepts `to` only on the default port of
    `to`'s scheme; when the ticket URL takes the entry's other scheme, that
    port must not come along (no https on port 80, no http on 443)."""
    ticket = ticket_location(go(site, to), origin)
    assert inspect(tool, keys, origin.split("://")[1], ticket)["next"] == "/x"


def test_go_to_a_subdomain_of_a_target(site):
    """A subdomain of b.test is not b.test: whoever runs it gets no ticket."""
    r = go(site, "http://shop.b.test/x")
    assert_refused(r)
    assert b"not a page of another site that shares sessions" in r.body, r


def test_go_to_an_entry_with_a_port(site, tool, keys):
    p1 = site.ports[1]
    r = go(site, f"http://127.0.0.1:{p1}/x?y=2")
    ticket = ticket_location(r, f"http://127.0.0.1:{p1}")
    f = inspect(tool, keys, f"127.0.0.1:{p1}", ticket)
    assert f["next"] == "/x?y=2" and f["src"] == "a.test", f["_out"]
    dest = Client(site, tool, keys["key1"], host=f"127.0.0.1:{p1}", src="a.test",
                  cookie="isess", port=p1)
    rr = dest.navigate(ticket, referer="http://a.test/")
    assert rr.status == 303 and rr.header("Location") == "/x?y=2", rr
    assert len(rr.set_cookies("isess")) == 1, rr


def test_go_from_a_subdomain_of_the_current_site(site):
    """go works on a site's own host only (shop.a.test is not a.test)."""
    assert_refused(go(site, "http://b.test/", host="shop.a.test"))


def test_go_head(site):
    r = go(site, "http://b.test/x", method="HEAD")
    assert TICKET_LOC.match(assert_see_other(r) or ""), r
    assert r.body == b""


def test_first_to_parameter_counts(site):
    r = go(site, query="to=http%3A%2F%2Fb.test%2Fa&to=http%3A%2F%2Fevil.example%2F")
    assert TICKET_LOC.match(assert_see_other(r) or "").group("origin") == "http://b.test"
    assert_refused(go(site, query="to=http%3A%2F%2Fevil.example%2F&to=http%3A%2F%2Fb.test%2F"))


# ---------------------------------------------------------------------------
# Without a session: straight to `to`.

@pytest.mark.parametrize("cookie", [None, "session=", "session=user="])
def test_go_without_session(site, cookie):
    r = go(site, query="to=http://b.test/some/page?x=1", cookie=cookie)
    assert assert_see_other(r) == "http://b.test/some/page?x=1", r
    r = go(site, "https://secure.test/a?b=c", cookie=cookie)
    assert assert_see_other(r) == "https://secure.test/a?b=c", r


@pytest.mark.allow_log("MSS01022")
def test_go_where_mod_session_is_off(site):
    """c.test has no Session On: a warning, and the user goes across without
    the session."""
    r = go(site, "http://b.test/x", host="c.test")
    assert assert_see_other(r) == "http://b.test/x", r
    assert site.wait_error_log(r"MSS01022"), site.error_log_since_mark()


@pytest.mark.allow_log("MSS01021")
def test_go_with_a_session_too_large_for_a_ticket(site):
    r = go(site, "http://b.test/x", cookie="session=user=" + "x" * 5000)
    assert assert_see_other(r) == "http://b.test/x", r
    assert site.wait_error_log(r"\[shared_session:warn\].*MSS01021"), site.error_log_since_mark()


# ---------------------------------------------------------------------------
# Refused: 400, one line, never a Location.

REFUSED = [
    "javascript:alert(1)",
    "//evil.example",
    "//b.test/x",
    "/local/path",
    "https://evil.example/",
    "http://b.test@evil.example/",
    "http://user:pw@b.test/",
    "http://evil.example/?http://b.test/",
    "http://evil.example#@b.test/",
    "http://evil.example\\@b.test/",
    "http://b.test\\@evil.example/",
    "http://b.test/\r\nSet-Cookie: x=1",
    "http://b.test/\nx",
    "http://b.test\r\n.evil.example/",
    "http://b.test/\tx",
    "http://b.test/ x",
    " http://b.test/",
    "http://b.test/\x00x",
    "http://a.test/",
    "http://A.TEST/x",
    "http://shop.a.test/",
    "http://b.test:8080/",
    "https://b.test:80/",
    "http://b.test:0/",
    "http://b.test:99999/",
    "http://b.test:/",
    "http://b.test:8o/",
    "http://b.test//evil.example/",
    "http://b.test//",
    "http://myb.test/",
    "http://b.test.evil.example/",
    "http://b.test%2eevil.example/",
    "ftp://b.test/",
    "http:/b.test/",
    "http:///b.test/",
    "http://",
    "http://[::1]/",
    "http://127.0.0.1/",
    "b.test/x",
]


@pytest.mark.parametrize("cookie", [ALICE, None], ids=["session", "nosession"])
@pytest.mark.parametrize("to", REFUSED)
def test_go_refused(site, to, cookie):
    assert_refused(go(site, to, cookie=cookie))


@pytest.mark.parametrize("query", ["", "x=1", "to", "to=", "too=http://b.test/",
                                   "TO=http://b.test/", "to=%zz", "to=%"])
def test_go_missing_to(site, query):
    assert_refused(go(site, query=query))


def test_go_raw_crlf_in_query(site):
    """%0d%0a as it arrives from a link (not decoded by anybody before)."""
    assert_refused(go(site, query="to=http://b.test/%0d%0aSet-Cookie:%20x=1"))
    assert_refused(go(site, query="to=http://b.test%0d%0a.evil.example/"))


def test_go_port_not_the_entrys_port(site):
    """Entry http://127.0.0.1:P1; another port on 127.0.0.1 is no site."""
    p1 = site.ports[1]
    p3 = p1 + 1 if p1 < 65535 else p1 - 1
    assert_refused(go(site, f"http://127.0.0.1:{p3}/"))
    assert_refused(go(site, "http://127.0.0.1/"))


def test_go_to_the_current_site_with_a_port_entry(site):
    """On 127.0.0.1:P1 (its own entry), to= itself is refused."""
    p1 = site.ports[1]
    r = go(site, f"http://127.0.0.1:{p1}/x", host=f"127.0.0.1:{p1}", port=p1,
           cookie="isess=user=alice")
    assert_refused(r)


def test_go_from_a_host_not_in_sites(site):
    assert_refused(go(site, "http://b.test/", host="other.test"))


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
def test_go_other_methods(site, method):
    r = request(site.port, "/shared-session/go?to=http%3A%2F%2Fb.test%2F", host="a.test",
                method=method, headers=[("Cookie", ALICE)], body="" if method in ("POST", "PUT") else None)
    assert r.status == 405, r
    assert r.header("Location") is None, r
