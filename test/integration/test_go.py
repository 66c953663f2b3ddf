"""The navigation flow end to end on a real apache2: A's `go`, B's
`start` (the state cookie that binds the flow to the browser), A's `go`
with the state minting a version-2 ticket, and B opening it.

Sites: http://a.test http://b.test http://c.test https://secure.test and
http://127.0.0.1:P1 (an entry with a port: the instance's second port).
a.test, b.test (with *.b.test) are name-based virtual hosts on the first
port; 127.0.0.1 is served on the second one.  The user's session on A is
the cookie "session=user=alice"."""

import re
import urllib.parse

import pytest

import sscfg
import sstickets
from filterdata import loader
from pyhttpd import Httpd, cookie_attrs, cookie_pair, request
from sscfg import Browser, Client

ALICE = "session=user=alice"
TICKET_LOC = re.compile(r"^(?P<origin>https?://[^/]+)/shared-session/(?P<ticket>[A-Za-z0-9_-]+)$")
START_LOC = re.compile(r"^(?P<origin>https?://[^/]+)/shared-session/start\?(?P<query>.*)$")

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


def go(h, to=None, query=None, cookie=ALICE, host="a.test", method="GET", port=None,
       state=None, extra=()):
    """GET /shared-session/go?to=<to, percent-encoded> (or ?<query> as is),
    with &state=<state> when given (True: a fresh one)."""
    if query is None:
        query = "to=" + urllib.parse.quote(to, safe="") if to is not None else ""
    if state is True:
        state = new_state()[1]
    if state is not None:
        query += f"&state={state}"
    path = "/shared-session/go" + ("?" + query if query else "")
    hs = [("Cookie", cookie)] if cookie else []
    hs.extend(extra)
    return request(port or h.port, path, host=host, method=method, headers=hs)


def start(h, query, host="b.test", cookie=None, method="GET"):
    hs = [("Cookie", cookie)] if cookie else []
    return request(h.port, "/shared-session/start" + (f"?{query}" if query else ""),
                   host=host, method=method, headers=hs)


def new_state(to=None):
    """(state cookie text, S in base64url) of a flow."""
    text = sstickets.state_text(to=to)
    return text, sstickets.b64url(sstickets.state_of(text))


def assert_see_other(r, policy="origin"):
    assert r.status == 303, r
    cc = loader.tokens(r, "Cache-Control")
    assert "no-store" in cc, r
    assert r.header("Referrer-Policy", "").lower() == policy, r
    return r.header("Location")


def ticket_location(r, origin):
    loc = assert_see_other(r)
    m = TICKET_LOC.match(loc or "")
    assert m, r
    assert m.group("origin") == origin, loc
    return m.group("ticket")


def inspect(keys, dst, ticket):
    """The ticket's fields, opened in Python (independent of the C code)."""
    f = sstickets.open_(sstickets.key_from_file(keys["key1"]), dst, ticket)
    f["session"] = loader.parse_session(f["session"])
    return f


def assert_refused(r):
    """400 with a one-line text body, no redirect anywhere, no cookie."""
    assert r.status == 400, r
    assert r.header("Location") is None, r
    assert r.header_all("Set-Cookie") == [], r
    assert r.header("Content-Type", "").split(";")[0] == "text/plain", r
    assert r.body.endswith(b"\n") and r.body.count(b"\n") == 1, r
    assert len(r.body.strip()) > 10 and b"\r" not in r.body, r


# ---------------------------------------------------------------------------
# go without a state, with a session: to B's start, which binds the flow.

def test_go_bounces_to_start(site):
    r = go(site, query="to=http://b.test/some/page?x=1")
    loc = assert_see_other(r)
    m = START_LOC.match(loc or "")
    assert m and m.group("origin") == "http://b.test", loc
    q = urllib.parse.parse_qs(m.group("query"))
    assert q == {"from": ["a.test"], "to": ["/some/page?x=1"]}, loc


def test_go_stamps_a_session_without_generation_once(site, keys):
    """A session that carries no generation (made before generations, or
    edited by hand) gets one in go, saved with it, so that what travels is
    what A holds; a session that carries a valid one is not written."""
    r = go(site, query="to=http://b.test/some/page?x=1")
    assert START_LOC.match(assert_see_other(r) or "")
    sc = r.set_cookies("session")
    assert len(sc) == 1, r
    held = loader.parse_session(cookie_pair(sc[0]).split("=", 1)[1])
    assert held.pop(sstickets.GEN_ENTRY, None) and held == {"user": "alice"}, sc
    assert sstickets.gen_verifies(sstickets.key_from_file(keys["key1"]),
                                  loader.parse_session(cookie_pair(sc[0]).split("=", 1)[1]))
    r = go(site, query="to=http://b.test/some/page?x=1", cookie=cookie_pair(sc[0]))
    assert START_LOC.match(assert_see_other(r) or "")
    assert r.header_all("Set-Cookie") == [], r


def test_go_bounces_to_start_on_the_entrys_scheme_and_port(site):
    p1 = site.ports[1]
    loc = assert_see_other(go(site, "http://secure.test/x"))
    assert loc.startswith("https://secure.test/shared-session/start?from=a.test&"), loc
    loc = assert_see_other(go(site, f"http://127.0.0.1:{p1}/x?y=2"))
    assert loc.startswith(f"http://127.0.0.1:{p1}/shared-session/start?from=a.test&"), loc


# ---------------------------------------------------------------------------
# go with a state: a version-2 navigation ticket bound to it.

def test_go_mints_a_bound_navigation_ticket(site, keys):
    text, s = new_state()
    r = go(site, query="to=http://b.test/some/page?x=1", state=s)
    ticket = ticket_location(r, "http://b.test")
    f = inspect(keys, "b.test", ticket)
    assert f["version"] == 2 and f["mode"] == sstickets.MODE_NAVIGATION, f
    assert sstickets.b64url(f["state"]) == s, f
    assert f["next"] == "/some/page?x=1" and f["src"] == "a.test", f
    # A's session and its generation, which verifies
    assert sstickets.gen_verifies(sstickets.key_from_file(keys["key1"]), f["session"]), f
    assert {k: v for k, v in f["session"].items() if k != sstickets.GEN_ENTRY} == \
        {"user": "alice"}
    # for b.test only
    with pytest.raises(Exception):
        sstickets.open_(sstickets.key_from_file(keys["key1"]), "c.test", ticket)
    # following it on B with the flow's state cookie: B's cookie, then the page
    b = Client(site, None, keys["key1"], host="b.test", src="a.test", cookie="bsess")
    rr = b.navigate(ticket, referer=None, state=sstickets.state_cookie(text))
    assert rr.status == 303, rr
    assert rr.header("Location") == "/some/page?x=1", rr
    assert rr.header("Referrer-Policy", "").lower() == "no-referrer", rr
    sc = rr.set_cookies("bsess")
    assert len(sc) == 1, rr
    assert b.page(cookie_pair(sc[0])) == {"user": "alice"}
    assert site.access_entry(rr)["result"] == "replaced"


def test_go_with_encoded_query(site, keys):
    r = go(site, "http://b.test/p/q.html?x=1&y=a%20b", state=True)
    ticket = ticket_location(r, "http://b.test")
    assert inspect(keys, "b.test", ticket)["next"] == "/p/q.html?x=1&y=a%20b"


def test_go_without_path(site, keys):
    ticket = ticket_location(go(site, "http://b.test", state=True), "http://b.test")
    assert inspect(keys, "b.test", ticket)["next"] == "/"


def test_go_case_insensitive_scheme_and_host(site, keys):
    ticket = ticket_location(go(site, "HTTP://B.TEST/Some/Path", state=True), "http://b.test")
    assert inspect(keys, "b.test", ticket)["next"] == "/Some/Path"


def test_go_scheme_from_the_entry(site, keys):
    """secure.test is an https entry: the ticket URL is https even when `to`
    says http; b.test is an http entry."""
    ticket = ticket_location(go(site, "http://secure.test/x", state=True), "https://secure.test")
    f = inspect(keys, "secure.test", ticket)
    assert f["next"] == "/x", f
    ticket = ticket_location(go(site, "https://b.test/y", state=True), "http://b.test")
    assert inspect(keys, "b.test", ticket)["next"] == "/y"


@pytest.mark.parametrize("to,origin", [
    ("http://secure.test:80/x", "https://secure.test"),
    ("https://b.test:443/x", "http://b.test"),
])
def test_go_scheme_change_drops_the_old_default_port(site, keys, to, origin):
    """An entry without a port accepts `to` only on the default port of
    `to`'s scheme; when the ticket URL takes the entry's other scheme, that
    port must not come along (no https on port 80, no http on 443)."""
    ticket = ticket_location(go(site, to, state=True), origin)
    assert inspect(keys, origin.split("://")[1], ticket)["next"] == "/x"


def test_go_to_a_subdomain_of_a_target(site):
    """A subdomain of b.test is not b.test: whoever runs it gets no ticket."""
    r = go(site, "http://shop.b.test/x")
    assert_refused(r)
    assert b"not a page of another site that shares sessions" in r.body, r


def test_go_to_an_entry_with_a_port(site, keys):
    p1 = site.ports[1]
    text, s = new_state()
    r = go(site, f"http://127.0.0.1:{p1}/x?y=2", state=s)
    ticket = ticket_location(r, f"http://127.0.0.1:{p1}")
    f = inspect(keys, f"127.0.0.1:{p1}", ticket)
    assert f["next"] == "/x?y=2" and f["src"] == "a.test", f
    dest = Client(site, None, keys["key1"], host=f"127.0.0.1:{p1}", src="a.test",
                  cookie="isess", port=p1)
    rr = dest.navigate(ticket, referer=None, state=sstickets.state_cookie(text))
    assert rr.status == 303 and rr.header("Location") == "/x?y=2", rr
    assert len(rr.set_cookies("isess")) == 1, rr


def test_go_from_a_subdomain_of_the_current_site(site):
    """go works on a site's own host only (shop.a.test is not a.test)."""
    assert_refused(go(site, "http://b.test/", host="shop.a.test"))


def test_go_head(site):
    r = go(site, "http://b.test/x", method="HEAD", state=True)
    assert TICKET_LOC.match(assert_see_other(r) or ""), r
    assert r.body == b""


def test_first_to_parameter_counts(site):
    r = go(site, query="to=http%3A%2F%2Fb.test%2Fa&to=http%3A%2F%2Fevil.example%2F", state=True)
    assert TICKET_LOC.match(assert_see_other(r) or "").group("origin") == "http://b.test"
    assert_refused(go(site, query="to=http%3A%2F%2Fevil.example%2F&to=http%3A%2F%2Fb.test%2F",
                      state=True))


@pytest.mark.parametrize("dest", [None, "document", "Document"])
def test_go_with_state_for_a_navigation(site, dest):
    extra = [("Sec-Fetch-Dest", dest)] if dest else []
    r = go(site, "http://b.test/x", state=True, extra=extra)
    assert TICKET_LOC.match(assert_see_other(r) or ""), r


@pytest.mark.parametrize("dest", ["image", "script", "iframe", "empty"])
def test_go_with_state_not_for_a_navigation(site, dest):
    """An <img> or a fetch() of go with a state gets no ticket."""
    r = go(site, "http://b.test/x", state=True, extra=[("Sec-Fetch-Dest", dest)])
    assert_refused(r)
    assert b"top-level navigations" in r.body, r


@pytest.mark.parametrize("state", ["", "x", "A" * 21, "A" * 23, "tcd_sXRZM4zS6rnwnTRIDh",
                                   "tcd_sXRZM4zS6rnwnTRID%2B", "%00" * 22])
def test_go_with_a_bad_state(site, state):
    assert_refused(go(site, "http://b.test/x", state=state))


def test_go_state_hidden_in_the_access_log(site):
    text, s = new_state()
    r = go(site, "http://b.test/x", state=s)
    e = site.access_entry(r)
    assert s not in e["raw"], e
    assert e["request"].endswith("&state=<state> HTTP/1.1"), e


# ---------------------------------------------------------------------------
# Without a session: straight to `to`, with or without a state.

@pytest.mark.parametrize("state", [None, True], ids=["nostate", "state"])
@pytest.mark.parametrize("cookie", [None, "session=", "session=user="])
def test_go_without_session(site, cookie, state):
    r = go(site, query="to=http://b.test/some/page?x=1", cookie=cookie, state=state)
    assert assert_see_other(r, "no-referrer") == "http://b.test/some/page?x=1", r
    r = go(site, "https://secure.test/a?b=c", cookie=cookie, state=state)
    assert assert_see_other(r, "no-referrer") == "https://secure.test/a?b=c", r


@pytest.mark.allow_log("MSS01022")
def test_go_where_mod_session_is_off(site):
    """c.test has no Session On: a warning, and the user goes across without
    the session."""
    r = go(site, "http://b.test/x", host="c.test")
    assert assert_see_other(r, "no-referrer") == "http://b.test/x", r
    assert site.wait_error_log(r"MSS01022"), site.error_log_since_mark()


@pytest.mark.allow_log("MSS01021")
@pytest.mark.parametrize("state", [None, True], ids=["nostate", "state"])
def test_go_with_a_session_too_large_for_a_ticket(site, state):
    """No bounce through start for a session that cannot travel."""
    r = go(site, "http://b.test/x", cookie="session=user=" + "x" * 5000, state=state)
    assert assert_see_other(r, "no-referrer") == "http://b.test/x", r
    m = site.wait_error_log(r"\[shared_session:warn\].*MSS01021.*")
    assert m and "LimitRequestLine" in m.group(0), site.error_log_since_mark()


# ---------------------------------------------------------------------------
# B's start: checks both parameters, sets the state cookie, bounces to A.

def test_start_sets_the_state_cookie_and_bounces_to_go(site):
    r = start(site, "from=a.test&to=%2Fpage%3Fx%3D1")
    loc = assert_see_other(r)
    u = urllib.parse.urlsplit(loc)
    assert (u.scheme, u.netloc, u.path) == ("http", "a.test", "/shared-session/go"), loc
    q = urllib.parse.parse_qs(u.query)
    assert q["to"] == ["http://b.test/page?x=1"], loc
    s = q["state"][0]
    sc = r.header_all("Set-Cookie")
    assert len(sc) == 1, r
    name, _, text = sc[0].split(";")[0].partition("=")
    assert name == "ssst-" + s[:8], sc
    assert sstickets.b64url(sstickets.state_of(text)) == s, sc
    # the random part, then the page asked for
    rnd, _, to = text.partition(".")
    assert len(sstickets.unb64url(rnd)) == 16, text
    assert sstickets.unb64url(to) == b"/page?x=1", text
    attrs = cookie_attrs(sc[0])
    assert attrs["path"] == "/" and attrs["max-age"] == "30", sc
    assert attrs["samesite"].lower() == "lax" and "httponly" in attrs, sc
    assert "secure" not in attrs and "domain" not in attrs, sc


def test_start_on_an_https_entry(site):
    """secure.test is an https entry (whatever terminates TLS)."""
    r = start(site, "from=a.test&to=%2F", host="secure.test")
    loc = assert_see_other(r)
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)
    assert q["to"] == ["https://secure.test/"], loc
    sc = r.header_all("Set-Cookie")
    assert len(sc) == 1 and sc[0].startswith("__Host-ssst-" + q["state"][0][:8] + "="), sc
    attrs = cookie_attrs(sc[0])
    assert "secure" in attrs and attrs["path"] == "/" and "domain" not in attrs, sc


def test_start_every_flow_its_own_state(site):
    states = set()
    for _ in range(5):
        loc = assert_see_other(start(site, "from=a.test&to=%2F"))
        states.add(urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)["state"][0])
    assert len(states) == 5


def test_start_keeps_at_most_four_state_cookies(site):
    held = [sstickets.state_cookie(sstickets.state_text()) for _ in range(4)]
    r = start(site, "from=a.test&to=%2F", cookie="bsess=x; " + "; ".join(held))
    sc = r.header_all("Set-Cookie")
    assert len(sc) == 2, r
    first = held[0].split("=")[0]
    dropped = [c for c in sc if c.startswith(first + "=")]
    assert len(dropped) == 1 and cookie_attrs(dropped[0])["max-age"] == "0", sc
    # three: nothing dropped
    r = start(site, "from=a.test&to=%2F", cookie="; ".join(held[:3]))
    assert len(r.header_all("Set-Cookie")) == 1, r


START_REFUSED = [
    ("", "missing the from="),
    ("to=%2F", "missing the from="),
    ("from=&to=%2F", "missing the from="),
    ("from=evil.example&to=%2F", "not one of the other SharedSessionSites"),
    ("from=b.test&to=%2F", "not one of the other SharedSessionSites"),
    ("from=A.TEST&to=%2F", "not one of the other SharedSessionSites"),
    ("from=shop.a.test&to=%2F", "not one of the other SharedSessionSites"),
    ("from=a.test", "missing the to="),
    ("from=a.test&to=", "missing the to="),
    ("from=a.test&to=http%3A%2F%2Fevil.example%2F", "a path on this site"),
    ("from=a.test&to=http%3A%2F%2Fb.test%2F", "a path on this site"),
    ("from=a.test&to=%2F%2Fevil.example%2F", "single '/'"),
    ("from=a.test&to=%2F%5Cevil.example", "single '/'"),
    ("from=a.test&to=%2Fx%0d%0aSet-Cookie:%20a=1", "single '/'"),
    ("from=a.test&to=%2Fshared-session%2Fgo%3Fto%3Dx", "handler's path"),
    ("from=a.test&to=%2Fshared-session%2Fstart", "handler's path"),
    ("from=a.test&to=%2Fx%2F..%2Fshared-session%2Fgo", "dot segments"),
    ("from=a.test&to=%2F%2573hared-session%2Fgo", "handler's path"),
    ("from=a.test&to=%2F" + "x" * 2048, "longer than 2048"),
]


@pytest.mark.parametrize("query,why", START_REFUSED)
def test_start_refused(site, query, why):
    r = start(site, query)
    assert_refused(r)
    assert why.encode() in r.body, r


def test_start_longest_to(site):
    r = start(site, "from=a.test&to=%2F" + "x" * 2047)
    assert r.status == 303, r
    assert len(r.header_all("Set-Cookie")) == 1, r


def test_start_from_a_host_not_in_sites(site):
    assert_refused(start(site, "from=a.test&to=%2F", host="other.test"))


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_start_other_methods(site, method):
    r = start(site, "from=a.test&to=%2F", method=method)
    assert r.status == 405 and r.header_all("Set-Cookie") == [], r


# ---------------------------------------------------------------------------
# The whole flow, as a browser follows it (cookies kept per host).

def hops_of(b, url):
    return [(urllib.parse.urlsplit(u).netloc, urllib.parse.urlsplit(u).path, r)
            for u, r in b.navigate(url)]


def test_flow_go_start_go_ticket(site):
    br = Browser(site)
    br.set_cookie("a.test", ALICE)
    to = "http://b.test/page.txt?x=1"
    hops = hops_of(br, "http://a.test/shared-session/go?to=" + urllib.parse.quote(to, safe=""))
    where = [(host, path) for host, path, _ in hops]
    assert where == [("a.test", "/shared-session/go"), ("b.test", "/shared-session/start"),
                     ("a.test", "/shared-session/go"), ("b.test", hops[3][1]),
                     ("b.test", "/page.txt")], where
    policies = [r.header("Referrer-Policy", "").lower() for _, _, r in hops[:4]]
    assert policies == ["origin", "origin", "origin", "no-referrer"], policies
    page = hops[-1][2]
    assert page.status == 200 and sscfg.parse_session(page.header("X-Session")) == \
        {"user": "alice"}, page
    # the ticket was accepted; the state cookie is gone, the session stays
    assert site.access_entry(hops[3][2])["result"] == "replaced"
    assert not [n for n in br.cookies("b.test") if n.startswith("ssst-")], br.jar
    assert "bsess" in br.cookies("b.test")
    # A's go with the state shows <state> in the access log
    assert "state=<state>" in site.access_entry(hops[2][2])["request"]


def test_flow_starting_at_b(site):
    """A link may point at B's start directly: one hop less."""
    br = Browser(site)
    br.set_cookie("a.test", ALICE)
    hops = hops_of(br, "http://b.test/shared-session/start?from=a.test&to=%2Fpage.txt")
    assert [h[1] for h in hops][0:2] == ["/shared-session/start", "/shared-session/go"]
    page = hops[-1][2]
    assert page.status == 200 and sscfg.parse_session(page.header("X-Session")) == \
        {"user": "alice"}, page


def test_flow_without_session_on_a(site):
    br = Browser(site)
    hops = hops_of(br, "http://b.test/shared-session/start?from=a.test&to=%2Fpage.txt")
    assert [h[1] for h in hops] == ["/shared-session/start", "/shared-session/go", "/page.txt"]
    assert hops[1][2].header("Referrer-Policy") == "no-referrer"
    # the unused state cookie expires by itself (Max-Age = the timeout)
    assert [n for n in br.cookies("b.test") if n.startswith("ssst-")]
    assert sscfg.parse_session(hops[-1][2].header("X-Session")) == {}


def test_flow_login_csrf_refused(site, keys):
    """An attacker runs the flow with his own session up to the ticket and
    hands the ticket URL to a victim (a link or an image on a page, a
    redirect): the victim's browser holds no state cookie for it."""
    attacker = Browser(site)
    attacker.set_cookie("a.test", "session=user=mallory")
    hops = attacker.navigate("http://a.test/shared-session/go?to=http%3A%2F%2Fb.test%2F",
                             stop_after=3)
    ticket_url = hops[-1][1].header("Location")
    assert TICKET_LOC.match(ticket_url), ticket_url
    victim = Browser(site)
    b = Client(site, None, keys["key1"], host="b.test", cookie="bsess")
    mine = b.set_session("user=victim")
    victim.set_cookie("b.test", mine)
    hops = victim.navigate(ticket_url)
    r = hops[0][1]
    assert r.status == 303 and r.header("Location") == "/", r
    assert site.access_entry(r)["reason"] == "state"
    assert victim.cookies("b.test")["bsess"] == mine.split("=", 1)[1]
    assert b.page(mine) == {"user": "victim"}
    # and the ticket is used up for the attacker too
    r = attacker.navigate(ticket_url, stop_after=1)[0][1]
    assert site.access_entry(r)["reason"] == "replayed"


def test_flow_state_cookies_of_parallel_flows(site):
    """Two flows started in one browser (two tabs) both complete."""
    br = Browser(site)
    br.set_cookie("a.test", ALICE)
    first = br.navigate("http://b.test/shared-session/start?from=a.test&to=%2Fone", stop_after=2)
    second = br.navigate("http://b.test/shared-session/start?from=a.test&to=%2Ftwo", stop_after=2)
    assert len([n for n in br.cookies("b.test") if n.startswith("ssst-")]) == 2
    for hops, page in ((second, "/two"), (first, "/one")):
        ticket_url = hops[-1][1].header("Location")
        r = br.navigate(ticket_url, stop_after=1)[0][1]
        assert r.header("Location") == page, r
        assert site.access_entry(r)["result"] in ("replaced", "kept")


# ---------------------------------------------------------------------------
# Refused: 400, one line, never a Location.

REFUSED = [
    "http://shop.b.test/x",
    "http://www.b.test/",
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
    # pages under the handler's path on the target, as start refuses them
    "http://b.test/shared-session/go?to=http%3A%2F%2Fc.test%2F",
    "http://b.test/shared-session/start?from=c.test&to=%2Fx",
    "http://b.test/shared-session/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "http://b.test/shared-session",
    "http://b.test/Shared-Session/go",
    "http://b.test/%73hared-session/go",
    "http://b.test/x/../shared-session/go",
    "http://b.test/x/%2e%2e/shared-session/go",
    "http://b.test/./shared-session/go",
    "http://b.test/x/..",
    "http://b.test/x%2F%2Fy",
    "http://b.test/x%00y",
    "http://b.test/shared-session/x",
    "http://b.test/x/./y",
]


@pytest.mark.parametrize("state", [None, True], ids=["nostate", "state"])
@pytest.mark.parametrize("cookie", [ALICE, None], ids=["session", "nosession"])
@pytest.mark.parametrize("to", REFUSED)
def test_go_refused(site, to, cookie, state):
    assert_refused(go(site, to, cookie=cookie, state=state))


def test_go_overlong_to(site):
    assert_refused(go(site, "http://b.test/" + "x" * 2040))


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
