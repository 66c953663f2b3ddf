"""The hostile-input matrix: malformed, forged and oversized requests.

One running apache2 (name-based virtual hosts a.test and b.test on one
loopback port, cookie store, the default shmcb replay cache) receives one
hostile request per case.  Every case asserts, whatever it attacks:

  * the documented answer (docs/PROTOCOL.md, "Answers and headers"): a
    script URL answers 200, empty, text/javascript, no-store, nosniff; a
    navigation URL 303 to the ticket's next (when it opened) or to /; `go` 400 with one line of text, or
    303; other names 404; other methods 405 with an Allow header that lists
    GET and HEAD (RFC 9110 section 15.5.6);
  * no Set-Cookie at all;
  * the exact outcome in the access log (SHARED_SESSION_RESULT/REASON; "-"
    where the handler never looked at a ticket) and, for tickets, that the
    log shows <ticket> instead of the ticket;
  * B's existing session is unchanged: each hostile request carries B's
    session cookie, and the next request with it still shows its entries;
  * the server still serves the next request (a plain GET on the attacked
    host and on B answers 200), and the error log stays clean (conftest).

One case restarts the server (`apache2 -k graceful`) between a ticket's use
and its replay: one-time use must survive a restart.

What test_receive.py and test_go.py check in depth (every reason, every
refused `to=`) is not repeated here: this file covers the inputs an attacker
controls (URL, ticket bytes, headers, methods) with one case each.

The server raises LimitRequestFieldSize to 16 KiB so that an 8 KiB Referer
reaches the module (with httpd's default of 8190 bytes core would answer 400
before any module runs)."""

import base64
import random
import time
import urllib.parse
from dataclasses import dataclass, field

import pytest

import sscfg
import sstickets
from pyhttpd import Httpd, cookie_pair, request
from sscfg import Client

TIMEOUT = 30                 # SharedSessionTimeout: the default
NEXT = "/after?x=1"          # the next of the navigation tickets used here
B_ENTRIES = {"user": "bob", "cart": "3"}


def a_session(keys):
    """A's session cookie as A holds it: with its generation, so that go
    carries it as it is (a session without one would be stamped and
    written first)."""
    gen = sstickets.gen_text(sstickets.key_from_file(keys["key1"]), 1700000000000000,
                             {"user": "alice"})
    return f"asess=user=alice&shared-session-gen={gen}"


PLANTED = "bsess=user=mallory"


@pytest.fixture(scope="module")
def site(gen_dir, module_so, tool, keys):
    h = Httpd("hostile", base_dir=gen_dir)
    sscfg.two_sites(h, keys["key1"], server_extra="LimitRequestFieldSize 16384")
    h.start()
    yield h
    h.stop()
    h.check_log()


@pytest.fixture(scope="module")
def b_session(site, tool, keys):
    """B's existing session: the 'bsess=...' cookie every case sends."""
    b = Client(site, tool, keys["key1"])
    mine = b.set_session(urllib.parse.urlencode(B_ENTRIES))
    assert b.page(mine) == B_ENTRIES
    return mine


# ---------------------------------------------------------------------------
# What a case sends and what it expects.

@dataclass
class Req:
    path: str
    host: str = "b.test"            # without the port
    method: str = "GET"
    headers: list = field(default_factory=list)
    body: str = None
    ticket: str = None              # the ticket in the path, if any


class Ctx:
    """What a case's builder may use: minting, forging, the ports."""

    def __init__(self, h, tool, keys, mine):
        self.h = h
        self.keys = keys
        self.port = h.port
        self.mine = mine
        self.b = Client(h, tool, keys["key1"])
        self.key = sstickets.key_from_file(keys["key1"])
        self.rng = random.Random(6)     # reproducible "random" bytes

    # tickets
    def mint(self, **kw):
        return self.b.mint(**kw)

    def nav_ticket(self, **kw):
        return self.b.mint(nav=NEXT, **kw)

    def consumed_then_graceful(self, ticket):
        """The ticket after one good use, then `apache2 -k graceful`: the
        replay cache must still know it (docs/PROTOCOL.md, "One-time use")."""
        self.consumed(ticket)
        self.h.graceful()
        return ticket

    def consumed(self, ticket, nav=False):
        """The ticket after one good use (the replay cache has its id)."""
        r = self.b.navigate(ticket) if nav else self.b.script(ticket)
        e = self.h.access_entry(r)
        assert e["result"] == "replaced", e
        return ticket

    # requests
    def source_referer(self, path="/page"):
        return f"http://a.test{path}"     # the entry http://a.test: port 80

    def headers(self, referer=True, origin=None, cookie=True, extra=()):
        hs = []
        if referer is True:
            hs.append(("Referer", self.source_referer()))
        elif referer:
            hs.append(("Referer", referer))
        if origin:
            hs.append(("Origin", origin))
        if cookie is True:
            hs.append(("Cookie", self.mine))
        elif cookie:
            hs.append(("Cookie", cookie))
        hs.extend(extra)
        return hs

    def script(self, ticket, method="GET", body=None, **kw):
        return Req(f"/shared-session/{ticket}.js", method=method, body=body,
                   headers=self.headers(**kw), ticket=ticket)

    def nav(self, ticket, method="GET", body=None, state=True, **kw):
        """B's ticket URL; a bound ticket brings the state cookie of its
        flow (state True), or the 'name=text' given, or none (False)."""
        if state is True:
            state = self.b.state_cookie(ticket) if ticket in self.b.states else None
        hs = self.headers(**kw)
        if state:
            cookies = [v for k, v in hs if k == "Cookie"]
            hs = [(k, v) for k, v in hs if k != "Cookie"]
            hs.insert(0, ("Cookie", "; ".join(cookies[:1] + [state])))
        return Req(f"/shared-session/{ticket}", method=method, body=body,
                   headers=hs, ticket=ticket)

    def other_state(self):
        """The state cookie of another flow of this browser."""
        return self.b.state_cookie(self.nav_ticket())

    def state_failed(self, ticket):
        """The ticket after a try without its state: used up."""
        r = self.b.navigate(ticket, state=False)
        assert self.h.access_entry(r)["reason"] == "state"
        return ticket

    def start(self, query):
        return Req(f"/shared-session/start?{query}", headers=self.headers())

    def go_state(self, to, state, extra=()):
        req = self.go(to=to)
        req.path += f"&state={state}"
        req.headers.extend(extra)
        return req

    @staticmethod
    def on_host(host, req):
        req.host = host
        return req

    def name(self, name, **kw):
        """A name under SharedSessionPath, as it goes on the wire."""
        return Req(f"/shared-session/{name}", headers=self.headers(**kw))

    def go(self, query=None, to=None, method="GET", body=None):
        if to is not None:
            query = "to=" + urllib.parse.quote(to, safe="")
        path = "/shared-session/go" + (f"?{query}" if query else "")
        # A has a session (go would mint a ticket); B's cookie rides along
        return Req(path, host="a.test", method=method, body=body,
                   headers=[("Cookie", f"{a_session(self.keys)}; {self.mine}")])


# ---------------------------------------------------------------------------
# Ticket surgery: the decoded bytes (docs/PROTOCOL.md, "Ticket format"),
# changed, re-encoded.

HEADER = 1 + 4 + 24          # version || kid || nonce
TAG = 16


def flip(ticket, index, mask=0x01):
    """The ticket with one bit of its decoded byte `index` flipped
    (a negative index counts from the end)."""
    raw = bytearray(sstickets.unb64url(ticket))
    raw[index] ^= mask
    return sstickets.b64url(bytes(raw))


def set_byte(ticket, index, value):
    raw = bytearray(sstickets.unb64url(ticket))
    raw[index] = value
    return sstickets.b64url(bytes(raw))


def random_ticket(c, keep_header):
    """Random bytes as long as a real ticket; with keep_header the real
    version, kid and nonce stay (only ciphertext and tag are random)."""
    raw = sstickets.unb64url(c.mint())
    rand = bytes(c.rng.getrandbits(8) for _ in range(len(raw)))
    if keep_header:
        rand = raw[:HEADER] + rand[HEADER:]
    else:
        # a first byte other than the version: unknown-key whatever the rest
        rand = bytes([rand[0] | 0x80]) + rand[1:]
    return sstickets.b64url(rand)


def pad_to(ticket, n):
    """A valid ticket lengthened with base64url characters to n characters."""
    return ticket + "A" * (n - len(ticket))


def bad_length(ticket):
    """A valid ticket lengthened to 4k+1 characters: no base64 has that length."""
    return ticket + "A" * ((1 - len(ticket)) % 4 or 4)


def noncanonical(c):
    """A valid ticket whose last character has an unused low bit set: the
    same bytes, a second spelling (base64url must have one)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for n in range(3):
        t = c.mint(session="user=alice" + "x" * n)
        if len(t) % 4:
            i = alphabet.index(t[-1])
            return t[:-1] + alphabet[i | 1]
    raise AssertionError("no ticket length with unused bits")


def at_second_start():
    """Waits, when needed, so that the next ~0.6 s stay within one second:
    a ticket minted now for now+6 arrives 6 s early, not 5."""
    frac = time.time() % 1
    if frac > 0.4:
        time.sleep(1.02 - frac)
    return int(time.time())


def future_ticket(c):
    now = at_second_start()
    return c.mint(iat=now + 6)


def standard_base64(ticket):
    """The same bytes in standard base64 with padding ('+', '/', '=')."""
    raw = sstickets.unb64url(ticket)
    s = base64.b64encode(raw).decode()
    if "+" not in s and "/" not in s and "=" not in s:
        s += "="
    return s


def forged_next(c, next_):
    """A navigation ticket with a next the tool refuses, sealed with the
    right key (authenticates, fails the payload check)."""
    return sstickets.seal(c.key, "a.test", "b.test", "user=mallory",
                          sstickets.MODE_NAVIGATION, next_)


def long_referer(host_port, total):
    base = f"http://{host_port}/"
    return base + "x" * (total - len(base))


# ---------------------------------------------------------------------------
# The matrix.  kind: script | nav | go400 | start400 | go303 | 404 | 405 | core400 (refused
# by httpd itself before any module runs).
# outcome: (SHARED_SESSION_RESULT, SHARED_SESSION_REASON) in the access log.
# expect: for nav the Location; for go400/start400 a piece of the one-line reason.

@dataclass
class Case:
    id: str
    build: object
    kind: str
    outcome: tuple = ("-", "-")
    expect: str = None
    allow: tuple = ()


def rejected(reason):
    return ("rejected", reason)


CASES = [
    # -- names under SharedSessionPath ---------------------------------------
    Case("name-empty", lambda c: c.name(""), "404"),
    Case("name-empty-script", lambda c: c.name(".js"), "404"),
    Case("name-1-char-script", lambda c: c.script("A"), "script", rejected("malformed")),
    Case("name-1-char-nav", lambda c: c.nav("A"), "nav", rejected("malformed"), "/"),
    Case("name-6001-chars-script", lambda c: c.script(pad_to(c.mint(), 6001)),
         "script", rejected("malformed")),
    Case("name-6001-chars-nav", lambda c: c.nav(pad_to(c.nav_ticket(), 6001)),
         "nav", rejected("malformed"), "/"),
    Case("name-impossible-base64-length", lambda c: c.script(bad_length(c.mint())),
         "script", rejected("malformed")),
    Case("name-noncanonical-base64", lambda c: c.script(noncanonical(c)),
         "script", rejected("malformed")),
    Case("name-non-base64-char", lambda c: c.name("abc!def.js"), "404"),
    Case("name-standard-base64", lambda c: c.name(standard_base64(c.mint()) + ".js"), "404"),
    Case("name-non-ascii", lambda c: c.name("t%C3%A9st.js"), "404"),
    Case("name-nul-byte", lambda c: c.name(c.mint()[:20] + "%00" + ".js"), "404"),
    Case("name-encoded-slash", lambda c: c.name("..%2F..%2Fetc%2Fpasswd"), "404"),
    Case("name-dot-dot", lambda c: c.name("x/../../etc/passwd.js"), "404"),
    # -- not a ticket of ours --------------------------------------------------
    Case("random-bytes-valid-length", lambda c: c.script(random_ticket(c, False)),
         "script", rejected("unknown-key")),
    Case("random-body-real-header", lambda c: c.script(random_ticket(c, True)),
         "script", rejected("bad-ticket")),
    Case("wrong-version-3", lambda c: c.script(set_byte(c.mint(), 0, 0x03)),
         "script", rejected("unknown-key")),
    # a version-1 ticket read as version 2: S takes 16 bytes, too short
    Case("version-1-as-version-2", lambda c: c.script(set_byte(c.mint(), 0, 0x02)),
         "script", rejected("malformed")),
    Case("unknown-key-id", lambda c: c.script(c.mint(key=c.keys["other"])),
         "script", rejected("unknown-key")),
    # -- one bit of a valid ticket flipped, in each part -------------------------
    Case("bitflip-header-version", lambda c: c.script(flip(c.mint(), 0, 0x80)),
         "script", rejected("unknown-key")),
    Case("bitflip-kid", lambda c: c.script(flip(c.mint(), 3)),
         "script", rejected("unknown-key")),
    Case("bitflip-nonce", lambda c: c.script(flip(c.mint(), 1 + 4 + 11)),
         "script", rejected("bad-ticket")),
    Case("bitflip-ciphertext", lambda c: c.script(flip(c.mint(), HEADER + 3)),
         "script", rejected("bad-ticket")),
    Case("bitflip-tag", lambda c: c.script(flip(c.mint(), -1, 0x40)),
         "script", rejected("bad-ticket")),
    Case("bitflip-tag-nav", lambda c: c.nav(flip(c.nav_ticket(), -TAG)),
         "nav", rejected("bad-ticket"), "/"),
    # -- authentic tickets, wrong in what they say --------------------------------
    Case("other-destination", lambda c: c.script(c.mint(dst="a.test")),
         "script", rejected("bad-ticket")),
    Case("expired-by-1s", lambda c: c.script(c.mint(iat=int(time.time()) - TIMEOUT - 1)),
         "script", rejected("expired")),
    Case("expired-by-1s-nav", lambda c: c.nav(c.nav_ticket(iat=int(time.time()) - TIMEOUT - 1)),
         "nav", rejected("expired"), NEXT),
    Case("future-by-6s", lambda c: c.script(future_ticket(c)),
         "script", rejected("future")),
    Case("source-is-destination", lambda c: c.script(c.mint(src="b.test")),
         "script", rejected("unknown-source")),
    Case("source-not-in-sites", lambda c: c.script(c.mint(src="evil.example")),
         "script", rejected("unknown-source")),
    Case("script-ticket-on-nav-url", lambda c: c.nav(c.mint()),
         "nav", rejected("mode"), "/"),
    Case("nav-ticket-on-script-url", lambda c: c.script(c.nav_ticket()),
         "script", rejected("mode")),
    Case("nav-next-protocol-relative", lambda c: c.nav(forged_next(c, "//evil.example/")),
         "nav", rejected("bad-ticket"), "/"),
    Case("replay-script", lambda c: c.script(c.consumed(c.mint())),
         "script", rejected("replayed")),
    Case("replay-nav", lambda c: c.nav(c.consumed(c.nav_ticket(), nav=True)),
         "nav", rejected("replayed"), NEXT),
    Case("replay-after-graceful", lambda c: c.script(c.consumed_then_graceful(c.mint())),
         "script", rejected("replayed")),
    # -- Referer / Origin (login CSRF) --------------------------------------------
    Case("referer-missing", lambda c: c.script(c.mint(), referer=None),
         "script", rejected("referer")),
    # a navigation ticket is bound by its state, not by the Referer: B has
    # a session, so it keeps it
    Case("referer-missing-nav", lambda c: c.nav(c.nav_ticket(), referer=None),
         "nav", ("kept", "-"), NEXT),
    Case("referer-foreign", lambda c: c.script(c.mint(), referer="https://evil.example/"),
         "script", rejected("referer")),
    Case("referer-lookalike-suffix", lambda c: c.script(
        c.mint(), referer=f"http://a.test.evil.example:{c.port}/"),
         "script", rejected("referer")),
    Case("origin-null", lambda c: c.script(c.mint(), referer=None, origin="null"),
         "script", rejected("referer")),
    Case("referer-8KiB-foreign", lambda c: c.script(
        c.mint(), referer=long_referer("evil.example", 8192)),
         "script", rejected("referer")),
    Case("referer-over-8KiB-from-source", lambda c: c.script(
        c.mint(), referer=long_referer("a.test", 8193)),
         "script", rejected("referer")),
    # a long but genuine Referer: the ticket is good, B's session is kept
    Case("referer-8KiB-from-source", lambda c: c.script(
        c.mint(), referer=long_referer("a.test", 8192)),
         "script", ("kept", "-")),
    Case("referer-two-headers", lambda c: c.script(
        c.mint(), extra=[("Referer", "http://evil.example/")]),
         "script", rejected("referer")),
    # -- cookies and hosts ----------------------------------------------------------
    Case("duplicate-session-cookies", lambda c: c.script(
        c.mint(), referer="http://evil.example/", cookie=f"{PLANTED}; {c.mine}"),
         "script", rejected("referer"), allow=("AH00011",)),
    Case("duplicate-session-cookie-headers-nav", lambda c: c.nav(
        c.consumed(c.nav_ticket(), nav=True), extra=[("Cookie", PLANTED)]),
         "nav", rejected("replayed"), NEXT, allow=("AH00011",)),
    Case("host-not-in-sites", lambda c: c.on_host("c.test", c.script(c.mint(dst="c.test"))),
         "script", rejected("no-site"), allow=("MSS01010",)),
    Case("host-suffix-of-site", lambda c: c.on_host("b.test.evil.example", c.script(c.mint())),
         "script", rejected("no-site"), allow=("MSS01010",)),
    # refused by core before any module runs (400): the ticket, still unused
    # and valid, must not reach the access log either
    Case("cookie-header-over-limit", lambda c: c.script(
        c.mint(), cookie=f"{c.mine}; tracking={'x' * 17000}"), "core400"),
    Case("bad-host-header", lambda c: c.on_host("x@b.test", c.nav(c.nav_ticket())), "core400"),
    # -- the state binding (login CSRF through a redirect) ----------------------------
    Case("nav-state-missing", lambda c: c.nav(c.nav_ticket(), state=False),
         "nav", rejected("state"), NEXT),
    Case("nav-state-of-another-flow", lambda c: c.nav(c.nav_ticket(), state=c.other_state()),
         "nav", rejected("state"), NEXT),
    Case("nav-state-name-planted", lambda c: (lambda t: c.nav(
        t, state=c.b.state_cookie(t).split("=")[0] + "=" + sstickets.state_text()))(c.nav_ticket()),
         "nav", rejected("state"), NEXT),
    Case("nav-state-after-state-failure", lambda c: c.nav(c.state_failed(c.nav_ticket())),
         "nav", rejected("replayed"), NEXT),
    Case("nav-version-1-unbound", lambda c: c.nav(c.b.mint(nav=NEXT, bound=False)),
         "nav", rejected("state"), NEXT),
    Case("nav-state-with-referer-from-source", lambda c: c.nav(c.nav_ticket(), state=False,
                                                              referer=c.source_referer()),
         "nav", rejected("state"), NEXT),
    # -- script tickets only for a <script> ---------------------------------------------
    Case("script-fetch-dest-image", lambda c: c.script(
        c.mint(), extra=[("Sec-Fetch-Dest", "image")]), "script", rejected("fetch-dest")),
    Case("script-fetch-dest-document", lambda c: c.script(
        c.mint(), extra=[("Sec-Fetch-Dest", "document")]), "script", rejected("fetch-dest")),
    Case("script-fetch-dest-iframe", lambda c: c.script(
        c.mint(), extra=[("Sec-Fetch-Dest", "iframe")]), "script", rejected("fetch-dest")),
    Case("script-cookie-pairs", lambda c: c.script(sstickets.seal(
        c.key, "a.test", "b.test", "sessionid=x",
        mode=sstickets.MODE_SCRIPT | sstickets.MODE_COOKIE_PAIRS)), "script", rejected("kind")),
    # -- start: nothing set for bad input ------------------------------------------------
    Case("start-from-not-listed", lambda c: c.start("from=evil.example&to=%2F"),
         "start400", expect="not one of the other SharedSessionSites"),
    Case("start-from-itself", lambda c: c.start("from=b.test&to=%2F"),
         "start400", expect="not one of the other SharedSessionSites"),
    Case("start-to-another-host", lambda c: c.start("from=a.test&to=https%3A%2F%2Fevil.example%2F"),
         "start400", expect="a path on this site"),
    Case("start-to-protocol-relative", lambda c: c.start("from=a.test&to=%2F%2Fevil.example"),
         "start400", expect="single '/'"),
    Case("start-to-handler", lambda c: c.start("from=a.test&to=%2Fshared-session%2Fgo"),
         "start400", expect="handler's path"),
    Case("start-to-overlong", lambda c: c.start("from=a.test&to=%2F" + "x" * 2048),
         "start400", expect="longer than 2048"),
    # -- go with a state ----------------------------------------------------------------
    Case("go-bad-state", lambda c: c.go_state("http://b.test/", "not-a-state"),
         "go400", expect="state= is not a state"),
    Case("go-state-from-an-image", lambda c: c.go_state(
        "http://b.test/", "tcd_sXRZM4zS6rnwnTRIDg", [("Sec-Fetch-Dest", "image")]),
         "go400", expect="top-level navigations"),
    Case("go-subdomain-of-target", lambda c: c.go(to="http://evil.b.test/x"),
         "go400", expect="not a page of another site that shares sessions"),
    # -- go ------------------------------------------------------------------------
    Case("go-to-missing", lambda c: c.go(""), "go400", expect="missing the to= parameter"),
    Case("go-to-empty", lambda c: c.go("to="), "go400", expect="missing the to= parameter"),
    Case("go-javascript", lambda c: c.go(to="javascript:alert(document.cookie)"),
         "go400", expect="not an absolute http(s) URL"),
    Case("go-protocol-relative", lambda c: c.go(to="//evil.example"),
         "go400", expect="not an absolute http(s) URL"),
    Case("go-foreign-site", lambda c: c.go(to="https://evil.example"),
         "go400", expect="not on one of the other SharedSessionSites"),
    Case("go-userinfo", lambda c: c.go(to="https://b.test@evil.example"),
         "go400", expect="user information is not allowed"),
    Case("go-crlf", lambda c: c.go("to=http://b.test/%0d%0aSet-Cookie:%20x=1"),
         "go400", expect="control character"),
    Case("go-crlf-in-host", lambda c: c.go("to=http://b.test%0d%0a.evil.example/"),
         "go400", expect="control character"),
    Case("go-non-site-port", lambda c: c.go(to="http://b.test:8080/"),
         "go400", expect="names a port that its site does not use"),
    Case("go-to-current-site", lambda c: c.go(to="http://a.test/"),
         "go400", expect="not on one of the other SharedSessionSites"),
    # looks like an open redirect, is a plain page on B: a ticket for B
    Case("go-evil-in-query", lambda c: c.go(to="http://b.test/?next=//evil.example"),
         "go303", expect="http://b.test/shared-session/"),
    # -- methods -----------------------------------------------------------------------
    Case("post-script-ticket", lambda c: c.script(c.mint(), method="POST", body="x=1"), "405"),
    Case("put-nav-ticket", lambda c: c.nav(c.nav_ticket(), method="PUT", body="x"), "405"),
    Case("post-go", lambda c: c.go(to="http://b.test/", method="POST", body="to=x"), "405"),
    Case("put-go", lambda c: c.go(to="http://b.test/", method="PUT", body="x"), "405"),
]


def params():
    out = []
    for case in CASES:
        marks = [pytest.mark.allow_log(*case.allow)] if case.allow else []
        out.append(pytest.param(case, id=case.id, marks=marks))
    return out


def test_unaltered_ticket_is_taken(site, tool, keys):
    """The control for the matrix: on the same server, a ticket sent as a
    browser sends it, with nothing changed, replaces an empty session on B
    and is refused as replayed the second time, so the refusals above come
    from what each case alters, not from a setup that refuses everything."""
    b = Client(site, tool, keys["key1"])
    ticket = b.mint(session="user=carol")
    r = b.script(ticket)
    assert r.status == 200 and r.body == b"", r
    e = site.access_entry(r)
    assert (e["result"], e["reason"]) == ("replaced", "-"), e
    cookies = r.set_cookies("bsess")
    assert len(cookies) == 1, r
    assert b.page(cookie_pair(cookies[0])) == {"user": "carol"}
    again = b.script(ticket)
    assert (site.access_entry(again)["result"], site.access_entry(again)["reason"]) \
        == ("rejected", "replayed")
    assert again.header_all("Set-Cookie") == [], again


# ---------------------------------------------------------------------------
# The checks every case goes through.

def check_answer(r, case, port):
    kind = case.kind
    cc = ", ".join(r.header_all("Cache-Control")).lower()
    if kind == "script":
        assert r.status == 200, r
        assert r.header("Content-Type", "").split(";")[0].strip() == "text/javascript", r
        assert r.body == b"", r
        assert "no-store" in cc and "public" not in cc, r
        assert r.header("X-Content-Type-Options", "").lower() == "nosniff", r
    elif kind == "nav":
        assert r.status == 303, r
        loc = r.header("Location", "")
        parts = urllib.parse.urlsplit(loc)
        if parts.netloc:    # absolute: only ever this site
            assert parts.netloc in ("b.test", f"b.test:{port}"), loc
        got = parts.path + (f"?{parts.query}" if parts.query else "")
        assert got == case.expect, r
        assert not loc.startswith("//") and "\\" not in loc, loc
        assert "no-store" in cc, r
        assert r.header("Referrer-Policy", "").lower() == "no-referrer", r
    elif kind in ("go400", "start400"):
        assert r.status == 400, r
        assert r.header("Location") is None, r
        assert r.header("Content-Type", "").split(";")[0] == "text/plain", r
        assert r.body.endswith(b"\n") and r.body.count(b"\n") == 1, r
        assert b"\r" not in r.body, r
        assert case.expect.encode() in r.body, r
    elif kind == "go303":
        assert r.status == 303, r
        assert r.header("Location", "").startswith(case.expect), r
        assert "no-store" in cc, r
        assert r.header("Referrer-Policy", "").lower() == "origin", r
    elif kind == "core400":
        assert r.status == 400, r
        assert r.header("Location") is None, r
    elif kind in ("404", "405"):
        assert r.status == int(kind), r
        assert r.header("Location") is None, r
        if kind == "405":
            # RFC 9110 15.5.6: a 405 lists the methods the resource supports
            allow = [m.strip() for m in r.header("Allow", "").split(",")]
            assert "GET" in allow and "HEAD" in allow, r.headers
    else:
        raise AssertionError(f"unknown kind {kind}")


@pytest.mark.parametrize("case", params())
@pytest.mark.allow_log("MSS01080", "MSS01081", "MSS01082", "MSS01083", "MSS01084", "MSS01086", "MSS01087")
def test_hostile(site, b_session, tool, keys, case):
    c = Ctx(site, tool, keys, b_session)
    req = case.build(c)
    r = request(site.port, req.path, host=f"{req.host}:{site.port}", method=req.method,
                headers=req.headers, body=req.body)

    # the documented answer
    check_answer(r, case, site.port)
    # nothing written into any cookie (but the flow's state cookie, dropped)
    for sc in r.header_all("Set-Cookie"):
        assert sc.startswith("ssst-") and "Max-Age=0" in sc, r
    # the exact outcome, logged; the ticket itself never is
    e = site.access_entry(r)
    assert (e["result"], e["reason"]) == case.outcome, e
    if req.ticket and case.kind in ("script", "nav", "405", "core400"):
        assert e["uri"].startswith("/shared-session/<ticket>"), e
        assert req.ticket[:40] not in e["raw"], e
    # B's session as it was, and the server still answers plain requests
    assert c.b.page(b_session) == B_ENTRIES
    host = req.host if "@" not in req.host else "a.test"
    again = request(site.port, "/index.html", host=f"{host}:{site.port}")
    assert again.status == 200, again


# ---------------------------------------------------------------------------
# Request lines that core logs as they came: a 414 (longer than
# LimitRequestLine, with no URI parsed at all) and mod_log_forensic, which
# writes the request line before any module has looked at it.

@pytest.fixture(scope="module")
def hardened(gen_dir, module_so, keys):
    h = Httpd("hardened", base_dir=gen_dir)
    sscfg.two_sites(h, keys["key1"], modules=["log_forensic"],
                    server_extra='LimitRequestLine 512\nForensicLog "{logs}/forensic_log"')
    h.start()
    yield h
    h.stop()
    h.check_log()


def logs_of(h):
    return "\n".join(p.read_text(errors="replace") for p in
                     (h.access_log, h.error_log, h.logs / "forensic_log") if p.exists())


def line_414(h, before):
    for _ in range(100):
        lines = h.access_log.read_text(errors="replace").splitlines()[before:]
        got = [ln for ln in lines if "\t414\t" in ln]
        if got:
            return got
        time.sleep(0.03)
    raise AssertionError(f"no 414 line in {h.access_log}")


@pytest.mark.parametrize("how", ["long-ticket", "short-ticket-long-query", "go-long-query"])
def test_414_hides_the_ticket(hardened, tool, keys, how):
    """A ticket of a session over about 300 bytes no longer fits into a
    request line of 512 (what the README says); the request line as it came
    reaches the log without the ticket, whole or cut short."""
    b = Client(hardened, tool, keys["key1"])
    before = len(hardened.access_log.read_text(errors="replace").splitlines())
    if how == "long-ticket":
        t = b.mint("user=" + "x" * 300)
        path, secret = f"/shared-session/{t}.js", t[:40]
    elif how == "short-ticket-long-query":
        t = b.mint("user=alice")
        path, secret = f"/shared-session/{t}.js?pad={'p' * 500}", t
    else:
        s = sstickets.b64url(sstickets.state_of(sstickets.state_text()))
        path, secret = f"/shared-session/go?state={s}&to={'p' * 500}", s
    r = request(hardened.port, path, host=f"b.test:{hardened.port}")
    assert r.status == 414, r
    lines = line_414(hardened, before)
    assert ("<ticket>" in lines[0]) or ("state=<state>" in lines[0]), lines
    assert secret not in logs_of(hardened)


def test_ticket_fits_at_about_300_bytes_of_session(hardened, tool, keys):
    b = Client(hardened, tool, keys["key1"])
    r = b.script(b.mint("user=" + "x" * 270), extra=[("Sec-Fetch-Dest", "script")])
    assert r.status == 200 and hardened.access_entry(r)["result"] == "replaced", r


def test_forensic_log_hides_ticket_and_state(hardened, tool, keys):
    b = Client(hardened, tool, keys["key1"])
    ts, tn = b.mint("user=alice"), b.mint("user=alice", nav="/n")
    s = sstickets.b64url(sstickets.state_of(sstickets.state_text()))
    r1 = b.script(ts)
    r2 = b.navigate(tn)
    r3 = request(hardened.port, f"/shared-session/go?to=http%3A%2F%2Fb.test%2F&state={s}",
                 host=f"a.test:{hardened.port}", headers=[("Cookie", a_session(keys))])
    assert r1.status == 200 and r2.status == 303 and r3.status == 303, (r1, r2, r3)
    forensic = hardened.logs / "forensic_log"
    for _ in range(100):
        text = forensic.read_text(errors="replace") if forensic.exists() else ""
        if text.count("GET /shared-session/") >= 3:
            break
        time.sleep(0.03)
    assert "GET /shared-session/<ticket>.js HTTP/1.1" in text, text
    assert "GET /shared-session/<ticket> HTTP/1.1" in text, text
    assert "&state=<state> HTTP/1.1" in text, text
    for secret in (ts[:40], tn[:40], s):
        assert secret not in logs_of(hardened)


@pytest.mark.allow_log("MSS01080", "MSS01081", "MSS01082", "MSS01083", "MSS01084", "MSS01086", "MSS01087")
@pytest.mark.parametrize("form", ["//shared-session/{t}.js", "/./shared-session/{t}.js",
                                  "/%73hared-session/{t}.js", "/x/../shared-session/{t}",
                                  "/shared-session/./{t}",
                                  "//shared-session/go?to=http%3A%2F%2Fb.test%2F&state={s}",
                                  "/x/../shared-%73ession/go?state={s}&to=http%3A%2F%2Fb.test%2F"])
def test_forensic_log_hides_ticket_of_a_path_core_normalises(hardened, tool, keys, form):
    """Doubled slashes, dot segments and escaped letters reach the handler
    once core has normalised the path: the request line as it came (the
    forensic log's) hides the ticket and the state there too."""
    b = Client(hardened, tool, keys["key1"])
    t = b.mint("user=alice", nav="/n") if "{t}" in form and ".js" not in form else b.mint("user=alice")
    s = sstickets.b64url(sstickets.state_of(sstickets.state_text()))
    path = form.format(t=t, s=s)
    host = f"a.test:{hardened.port}" if "go?" in form else f"b.test:{hardened.port}"
    forensic = hardened.logs / "forensic_log"
    before = forensic.read_text(errors="replace").count("\n") if forensic.exists() else 0
    r = request(hardened.port, path, host=host, headers=[("Cookie", a_session(keys))])
    assert r.status in (200, 303), r
    for _ in range(100):
        if forensic.exists() and forensic.read_text(errors="replace").count("\n") >= before + 2:
            break
        time.sleep(0.03)
    text = logs_of(hardened)
    assert t[:40] not in text and s not in text, path
    assert "/shared-session/<ticket>" in text or "state=<state>" in text, text
