"""Receiving tickets.  The shared-session handler checks a ticket
(docs/PROTOCOL.md, "Opening a ticket: checks and reasons"), replaces B's
session through mod_session, and answers uniformly; everything observed on a
real apache2 with name-based virtual hosts a.test and b.test on one loopback
port (Host header), tickets minted with shared-session-tool (or forged in
Python where the tool refuses)."""

import re
import time
import urllib.parse

import pytest

import sscfg
import sstickets
from pyhttpd import Httpd, cookie_attrs, cookie_pair, request
from sscfg import Client

SCRIPT_CT = "text/javascript"


# ---------------------------------------------------------------------------
# One shared instance for the tests that need no special configuration.

@pytest.fixture(scope="module")
def site(gen_dir, module_so, tool, keys):
    h = Httpd("receive", base_dir=gen_dir)
    sscfg.two_sites(h, keys["key1"])
    h.start()
    yield h
    h.stop()
    h.check_log()


@pytest.fixture
def b(site, tool, keys):
    return Client(site, tool, keys["key1"])


def entry(h, resp):
    return h.access_entry(resp)


def assert_script_answer(r):
    """The uniform answer of the script receiver (no oracle)."""
    assert r.status == 200, r
    assert r.header("Content-Type", "").split(";")[0].strip() == SCRIPT_CT, r
    assert r.body == b"", r
    cc = ", ".join(r.header_all("Cache-Control")).lower()
    assert "no-store" in cc and "public" not in cc, r
    assert r.header("X-Content-Type-Options", "").lower() == "nosniff", r


def assert_outcome(h, r, result, reason="-", src=None, was_empty=None):
    e = entry(h, r)
    assert e["result"] == result, e
    assert e["reason"] == reason, e
    if src is not None:
        assert e["src"] == src, e
    if was_empty is not None:
        assert e["was_empty"] == str(was_empty), e
    return e


def assert_info_line(h, result, reason="-", mode="script", src=None, dst=None,
                     was_empty=None):
    pat = rf"\[shared_session:info\].*MSS\d{{5}}: result={result} reason={re.escape(reason)} mode={mode}"
    if src is not None:
        pat += rf" src={re.escape(src)}"
    if dst is not None:
        pat += rf" dst={re.escape(dst)}" if src is not None else rf".* dst={re.escape(dst)}"
    if was_empty is not None:
        pat += rf".* was_empty={was_empty}"
    assert h.wait_error_log(pat), f"no info line /{pat}/ in\n{h.error_log_since_mark()}"


def assert_location_local(r, host=None):
    """Location of a navigation answer stays on this site."""
    loc = r.header("Location")
    assert loc, r
    assert not loc.startswith("//") and "\\" not in loc, loc
    parts = urllib.parse.urlsplit(loc)
    if parts.netloc:
        assert host and parts.netloc.split(":")[0] == host.split(":")[0], loc
    else:
        assert loc.startswith("/"), loc
    return parts.path + (("?" + parts.query) if parts.query else "")


def assert_nav_answer(r, next_, host="b.test"):
    assert r.status == 303, r
    assert assert_location_local(r, host) == next_, r
    cc = ", ".join(r.header_all("Cache-Control")).lower()
    assert "no-store" in cc, r
    assert r.header("Referrer-Policy", "").lower() == "no-referrer", r


# ---------------------------------------------------------------------------
# Accepted tickets.

def test_script_ticket_replaces_session(site, b):
    t = b.mint("user=alice&role=admin")
    r = b.script(t)
    assert_script_answer(r)
    cookies = r.set_cookies("bsess")
    assert len(cookies) == 1, r
    assert_outcome(site, r, "replaced", "-", src="a.test", was_empty=1)
    assert_info_line(site, "replaced", "-", "script", src="a.test", dst="b.test",
                     was_empty=1)
    # the next request to B sees the ticket's entries
    assert b.page(cookie_pair(cookies[0])) == {"user": "alice", "role": "admin"}


def test_same_ticket_again_is_replayed(site, b):
    t = b.mint("user=alice")
    r1 = b.script(t)
    assert_outcome(site, r1, "replaced")
    r2 = b.script(t)
    assert_script_answer(r2)
    assert r2.set_cookies("bsess") == []
    assert_outcome(site, r2, "rejected", "replayed", src="a.test")


def test_replay_detected_across_children(site, b):
    """Several requests on fresh connections (two child processes share the
    default shmcb cache): exactly one acceptance."""
    t = b.mint("user=alice")
    results = [entry(site, b.script(t))["result"] for _ in range(8)]
    assert results.count("replaced") == 1, results
    assert results.count("rejected") == 7, results


def test_entries_with_special_characters(site, b):
    session = "user=al%C3%AFce+smith&to=%2Fhome%3Fx%3D1&n=42"
    r = b.script(b.mint(session))
    assert_outcome(site, r, "replaced")
    got = b.page(cookie_pair(r.set_cookies("bsess")[0]))
    assert got == {"user": "al\u00efce smith", "to": "/home?x=1", "n": "42"}


def test_expiry_entry_is_never_copied(site, b):
    r = b.script(b.mint("user=alice&expiry=1"))
    assert_outcome(site, r, "replaced")
    sc = r.set_cookies("bsess")
    assert len(sc) == 1 and "expiry=1" not in sc[0], sc
    assert b.page(cookie_pair(sc[0])) == {"user": "alice"}


def test_session_values_not_in_error_log(site, b):
    r = b.script(b.mint("secretvalue=Zx9Q7unique"))
    assert_outcome(site, r, "replaced")
    assert "Zx9Q7unique" not in site.error_log_text()


def test_reverse_direction(site, tool, keys):
    """b.test -> a.test lands in A's own cookie."""
    a = Client(site, tool, keys["key1"], host="a.test", src="b.test", cookie="asess")
    r = a.script(a.mint("user=carol"))
    assert_outcome(site, r, "replaced", src="b.test", was_empty=1)
    assert r.set_cookies("bsess") == [] and len(r.set_cookies("asess")) == 1
    assert a.page(cookie_pair(r.set_cookies("asess")[0])) == {"user": "carol"}


def test_subdomain_host_receives_nothing(site, b):
    """www.b.test belongs to the entry b.test for log lines only: tickets
    are received on b.test itself."""
    r = b.script(b.mint("user=dave"), host=f"www.b.test:{site.port}")
    assert_outcome(site, r, "rejected", "no-site")
    assert r.set_cookies("bsess") == []


def test_origin_instead_of_referer(site, b):
    r = b.script(b.mint(), referer=None, origin="http://a.test")
    assert_outcome(site, r, "replaced")


@pytest.mark.allow_log("MSS01087")   # the rate-limited line about refused Referers
def test_referer_from_subdomain_of_source(site, b):
    r = b.script(b.mint(), referer="http://www.a.test/x")
    assert_outcome(site, r, "rejected", "referer")


@pytest.mark.parametrize("size", [3000, 4200])
def test_large_ticket_accepted(site, b, size):
    """Tickets up to 6000 characters are valid (docs/PROTOCOL.md, "Limits"): one that is
    longer than a file name or PATH_MAX still reaches the handler."""
    value = "v" * size
    t = b.mint(f"user=alice&blob={value}")
    assert 4000 < len(t) <= 6000 or size < 4000
    r = b.script(t)
    assert_script_answer(r)
    assert_outcome(site, r, "replaced")
    assert b.page(cookie_pair(r.set_cookies("bsess")[0]))["blob"] == value
    e = entry(site, r)
    assert e["uri"] == "/shared-session/<ticket>.js", e
    assert t[:200] not in site.error_log_text()


def test_head_request_answers_like_get(site, b):
    r = b.script(b.mint(), method="HEAD")
    assert r.status == 200 and r.body == b""
    assert r.header("Content-Type", "").startswith(SCRIPT_CT)


# ---------------------------------------------------------------------------
# Kept, and SharedSessionReplace always.

def test_existing_session_is_kept(site, b):
    mine = b.set_session("user=bob&cart=3")
    r = b.script(b.mint("user=alice"), cookie=mine)
    assert_script_answer(r)
    assert r.set_cookies("bsess") == []
    assert_outcome(site, r, "kept", "-", src="a.test", was_empty=0)
    assert_info_line(site, "kept", "-", "script", src="a.test", dst="b.test", was_empty=0)
    assert b.page(mine) == {"user": "bob", "cart": "3"}


@pytest.mark.parametrize("line", ["SharedSessionReplace always",
                                  "SharedSessionAlwaysReplace On"])
@pytest.mark.allow_log("MSS00100")
def test_replace_always(httpd, module_so, tool, keys, line):
    """always (or the deprecated AlwaysReplace On) replaces a session that has entries."""
    h = httpd("always")
    sscfg.two_sites(h, keys["key1"], server_extra=line)
    h.start()
    b = Client(h, tool, keys["key1"])
    mine = b.set_session("user=bob&cart=3")
    r = b.script(b.mint("user=alice"), cookie=mine)
    assert_script_answer(r)
    sc = r.set_cookies("bsess")
    assert len(sc) == 1
    assert_outcome(h, r, "replaced", src="a.test", was_empty=0)
    # every old entry is gone
    assert b.page(cookie_pair(sc[0])) == {"user": "alice"}


def test_replace_always_in_vhost_only(httpd, module_so, tool, keys):
    """A virtual host's own SharedSessionReplace always; the others keep newer."""
    h = httpd("alwaysvhost")
    sscfg.two_sites(h, keys["key1"], b_extra="SharedSessionReplace always")
    h.start()
    b = Client(h, tool, keys["key1"])
    r = b.script(b.mint("user=alice"), cookie=b.set_session("user=bob"))
    assert_outcome(h, r, "replaced", was_empty=0)
    a = Client(h, tool, keys["key1"], host="a.test", src="b.test", cookie="asess")
    r = a.script(a.mint("user=alice"), cookie=a.set_session("user=bob"))
    assert_outcome(h, r, "kept", was_empty=0)


# ---------------------------------------------------------------------------
# Rejections: each reason, the same answer, no Set-Cookie, B untouched.

NOW = lambda: int(time.time())  # noqa: E731

REJECTIONS = {
    # name: (function(client, keys) -> (ticket, request kwargs), reason)
    "malformed-short": (lambda c, k: ("AQAB", {}), "malformed"),
    "malformed-long": (lambda c, k: ("A" * 6001, {}), "malformed"),
    "malformed-version-only": (lambda c, k: ("AQ", {}), "malformed"),
    "unknown-key": (lambda c, k: (c.mint(key=k["other"]), {}), "unknown-key"),
    "bad-ticket-bitflip": (lambda c, k: (sstickets.flip_char(c.mint(), 60), {}), "bad-ticket"),
    "bad-ticket-other-destination": (lambda c, k: (c.mint(dst="a.test"), {}), "bad-ticket"),
    "bad-ticket-destination-port": (lambda c, k: (c.mint(dst=f"b.test:{c.port}"), {}),
                                     "bad-ticket"),
    "expired": (lambda c, k: (c.mint(iat=NOW() - 100), {}), "expired"),
    "future": (lambda c, k: (c.mint(iat=NOW() + 60), {}), "future"),
    "unknown-source": (lambda c, k: (c.mint(src="c.test"), {}), "unknown-source"),
    "source-is-this-site": (lambda c, k: (c.mint(src="b.test"), {}), "unknown-source"),
    "mode-navigation-ticket-on-script-url": (lambda c, k: (c.mint(nav="/x"), {}), "mode"),
    "referer-missing": (lambda c, k: (c.mint(), {"referer": None}), "referer"),
    "referer-foreign": (lambda c, k: (c.mint(), {"referer": "http://evil.example/"}), "referer"),
    "referer-lookalike": (lambda c, k: (c.mint(), {"referer": f"http://xa.test:{c.port}/"}),
                          "referer"),
    "referer-destination": (lambda c, k: (c.mint(), {"referer": f"http://b.test:{c.port}/"}),
                            "referer"),
    "referer-garbage": (lambda c, k: (c.mint(), {"referer": "not a url"}), "referer"),
    "origin-foreign": (lambda c, k: (c.mint(), {"referer": None,
                                             "origin": "http://evil.example"}), "referer"),
    "origin-null": (lambda c, k: (c.mint(), {"referer": None, "origin": "null"}), "referer"),
    # only a <script> fetches a script ticket (an <img>, a navigation, fetch())
    "fetch-dest-image": (lambda c, k: (c.mint(), {"extra": [("Sec-Fetch-Dest", "image")]}),
                         "fetch-dest"),
    "fetch-dest-document": (lambda c, k: (c.mint(), {"extra": [("Sec-Fetch-Dest", "document")]}),
                            "fetch-dest"),
    "fetch-dest-empty": (lambda c, k: (c.mint(), {"extra": [("Sec-Fetch-Dest", "empty")]}),
                         "fetch-dest"),
    # cookie pairs are for a site that shares an application's cookie
    "kind-cookie-pairs": (lambda c, k: (sstickets.seal(
        sstickets.key_from_file(k["key1"]), "a.test", "b.test", "sessionid=q8x1",
        mode=sstickets.MODE_SCRIPT | sstickets.MODE_COOKIE_PAIRS), {}), "kind"),
}


@pytest.mark.parametrize("case", list(REJECTIONS))
@pytest.mark.allow_log("MSS01080", "MSS01081", "MSS01082", "MSS01083", "MSS01084", "MSS01086", "MSS01087")
def test_script_rejections(site, b, keys, case):
    make, reason = REJECTIONS[case]
    mine = b.set_session("user=bob&cart=3")
    ticket, kw = make(b, keys)
    r = b.script(ticket, cookie=mine, **kw)
    assert_script_answer(r)
    assert r.header_all("Set-Cookie") == [], r
    e = assert_outcome(site, r, "rejected", reason)
    assert_info_line(site, "rejected", reason, "script")
    assert b.page(mine) == {"user": "bob", "cart": "3"}
    assert e["was_empty"] in ("0", "-")


@pytest.mark.parametrize("case", ["unknown-key", "bad-ticket-bitflip", "expired",
                                  "referer-missing"])
@pytest.mark.allow_log("MSS01080", "MSS01081", "MSS01082", "MSS01083", "MSS01084", "MSS01086", "MSS01087")
def test_rejection_without_session(site, b, keys, case):
    """Rejected with no cookie at all: still no Set-Cookie."""
    make, reason = REJECTIONS[case]
    ticket, kw = make(b, keys)
    r = b.script(ticket, **kw)
    assert_script_answer(r)
    assert r.header_all("Set-Cookie") == []
    assert_outcome(site, r, "rejected", reason)


def test_replayed_leaves_session_untouched(site, b):
    t = b.mint("user=alice")
    assert_outcome(site, b.script(t), "replaced")
    mine = b.set_session("user=bob")
    r = b.script(t, cookie=mine)
    assert r.header_all("Set-Cookie") == []
    assert_outcome(site, r, "rejected", "replayed")
    assert b.page(mine) == {"user": "bob"}


def test_rejected_ticket_is_not_consumed(site, b):
    """A ticket refused for its referer is not marked as used: the same
    ticket with a good referer is accepted (the replay cache comes last)."""
    t = b.mint("user=alice")
    assert_outcome(site, b.script(t, referer=None), "rejected", "referer")
    assert_outcome(site, b.script(t), "replaced")


@pytest.mark.allow_log("MSS01010")
def test_host_not_in_sites(site, b):
    """A host outside SharedSessionSites (here the first virtual host answers
    for c.test) receives nothing."""
    r = b.script(b.mint(dst="c.test"), host=f"c.test:{site.port}")
    assert_script_answer(r)
    assert r.header_all("Set-Cookie") == []
    assert_outcome(site, r, "rejected", "no-site")


def test_check_referer_off(httpd, module_so, tool, keys):
    h = httpd("noreferer")
    sscfg.two_sites(h, keys["key1"], server_extra="SharedSessionCheckReferer Off")
    h.start()
    b = Client(h, tool, keys["key1"])
    r = b.script(b.mint(), referer=None)
    assert_outcome(h, r, "replaced")
    r = b.script(b.mint(), referer="http://evil.example/")
    assert_outcome(h, r, "replaced")


@pytest.mark.allow_log("MSS01083")
def test_timeout_setting(httpd, module_so, tool, keys):
    """SharedSessionTimeout 60 at server level, 5 in B's virtual host."""
    h = httpd("timeout")
    sscfg.two_sites(h, keys["key1"], server_extra="SharedSessionTimeout 60",
                    b_extra="SharedSessionTimeout 5")
    h.start()
    b = Client(h, tool, keys["key1"])
    assert_outcome(h, b.script(b.mint(iat=NOW() - 20)), "rejected", "expired")
    assert_outcome(h, b.script(b.mint(iat=NOW() - 3)), "replaced")
    a = Client(h, tool, keys["key1"], host="a.test", src="b.test", cookie="asess")
    assert_outcome(h, a.script(a.mint(iat=NOW() - 20)), "replaced")
    assert_outcome(h, a.script(a.mint(iat=NOW() - 100)), "rejected", "expired")


@pytest.mark.allow_log("MSS01080")
def test_key_rotation(httpd, module_so, tool, keys):
    """The first key seals, every listed key opens."""
    h = httpd("rotation")
    sscfg.two_sites(h, f"{keys['key2']} {keys['key1']}")
    h.start()
    b = Client(h, tool, keys["key1"])
    assert_outcome(h, b.script(b.mint(key=keys["key1"])), "replaced")
    assert_outcome(h, b.script(b.mint(key=keys["key2"])), "replaced")
    assert_outcome(h, b.script(b.mint(key=keys["other"])), "rejected", "unknown-key")


@pytest.mark.allow_log("MSS01011")
def test_no_session_at_handler(httpd, module_so, tool, keys):
    h = httpd("nosession")
    sscfg.two_sites(h, keys["key1"], b_extra="""
    <Location /shared-session/>
        Session Off
    </Location>""")
    h.start()
    b = Client(h, tool, keys["key1"])
    r = b.script(b.mint())
    assert_script_answer(r)
    assert r.header_all("Set-Cookie") == []
    assert_outcome(h, r, "rejected", "no-session")
    m = h.wait_error_log(r"\[shared_session:error\].*MSS\d{5}: .*mod_session")
    assert m, h.error_log_since_mark()


# ---------------------------------------------------------------------------
# Navigation receiver.

def test_navigation_ticket(site, b):
    r = b.navigate(b.mint("user=erin", nav="/account?tab=1"))
    assert_nav_answer(r, "/account?tab=1")
    sc = r.set_cookies("bsess")
    assert len(sc) == 1
    assert_outcome(site, r, "replaced", src="a.test", was_empty=1)
    assert_info_line(site, "replaced", "-", "navigation", src="a.test", dst="b.test")
    assert b.page(cookie_pair(sc[0])) == {"user": "erin"}


def test_navigation_without_next_goes_home(site, b, keys):
    t = b.mint("user=frank", nav="")
    r = b.navigate(t)
    assert_nav_answer(r, "/")
    assert_outcome(site, r, "replaced")


def test_navigation_kept(site, b):
    mine = b.set_session("user=bob")
    r = b.navigate(b.mint("user=alice", nav="/welcome"), cookie=mine)
    assert_nav_answer(r, "/welcome")
    assert r.set_cookies("bsess") == []
    assert_outcome(site, r, "kept", was_empty=0)


def test_script_ticket_on_navigation_url(site, b):
    mine = b.set_session("user=bob")
    r = b.navigate(b.mint(), cookie=mine)
    assert_nav_answer(r, "/")
    assert r.header_all("Set-Cookie") == []
    assert_outcome(site, r, "rejected", "mode")
    assert b.page(mine) == {"user": "bob"}


def assert_state_cookie_dropped(r, b, ticket):
    """The answer deletes the flow's state cookie and sets nothing else."""
    name = b.state_cookie(ticket).split("=")[0]
    sc = r.header_all("Set-Cookie")
    assert len(sc) == 1 and sc[0].startswith(name + "="), r
    assert "max-age=0" in sc[0].lower().replace(" ", ""), sc


@pytest.mark.allow_log("MSS01080", "MSS01081", "MSS01082", "MSS01083", "MSS01084", "MSS01086", "MSS01087")
@pytest.mark.parametrize("case,next_", [
    ("expired", "/after"), ("replayed", "/after"), ("unknown-source", "/after"),
])
def test_rejected_navigation_that_opened_goes_to_next(site, b, case, next_):
    mine = b.set_session("user=bob")
    if case == "expired":
        t = b.mint(nav=next_, iat=NOW() - 100)
    elif case == "replayed":
        t = b.mint(nav=next_)
        assert_outcome(site, b.navigate(t), "replaced")
    else:
        t = b.mint(nav=next_, src="c.test")
    r = b.navigate(t, cookie=mine)
    assert_nav_answer(r, next_)
    assert_state_cookie_dropped(r, b, t)
    assert_outcome(site, r, "rejected", case)
    assert b.page(mine) == {"user": "bob"}


def test_navigation_needs_no_referer(site, b):
    """The state cookie binds a navigation ticket; a missing or foreign
    Referer (mail links, rel=noreferrer) does not matter."""
    for referer in (None, "http://evil.example/"):
        r = b.navigate(b.mint("user=ida", nav="/r"), referer=referer)
        assert_nav_answer(r, "/r")
        assert_outcome(site, r, "replaced")
        assert len(r.set_cookies("bsess")) == 1


@pytest.mark.allow_log("MSS01080", "MSS01081", "MSS01082", "MSS01083", "MSS01084", "MSS01086", "MSS01087")
@pytest.mark.parametrize("case", ["bitflip", "other-destination", "unknown-key",
                                  "malformed"])
def test_rejected_navigation_that_did_not_open_goes_home(site, b, keys, case):
    if case == "bitflip":
        t, reason = sstickets.flip_char(b.mint(nav="/after"), 60), "bad-ticket"
    elif case == "other-destination":
        t, reason = b.mint(nav="/after", dst="a.test"), "bad-ticket"
    elif case == "unknown-key":
        t, reason = b.mint(nav="/after", key=keys["other"]), "unknown-key"
    else:
        t, reason = "AAAA", "malformed"
    r = b.navigate(t)
    assert_nav_answer(r, "/")
    assert r.set_cookies("bsess") == []
    assert_outcome(site, r, "rejected", reason)


@pytest.mark.allow_log("MSS01080", "MSS01081", "MSS01082", "MSS01083", "MSS01084", "MSS01086", "MSS01087")
@pytest.mark.parametrize("next_", [
    "//evil.example", "//evil.example/x", "/\\evil", "/\\\\evil.example",
    "https://evil.example/", "http://evil.example", "evil.example/x",
    "/x\r\nLocation: http://evil.example/", "/x#frag", "/a b",
])
def test_forged_next_is_rejected(site, b, keys, next_):
    """A ticket with a next the tool refuses to mint, sealed with the right
    key: bad-ticket, and the redirect stays home."""
    k = sstickets.key_from_file(keys["key1"])
    t = sstickets.seal(k, "a.test", "b.test", "user=mallory",
                       sstickets.MODE_NAVIGATION, next_)
    mine = b.set_session("user=bob")
    r = b.navigate(t, cookie=mine)
    assert_nav_answer(r, "/")
    assert r.header("Location") in ("/", f"http://b.test:{site.port}/", "http://b.test/")
    assert r.header_all("Set-Cookie") == []
    assert_outcome(site, r, "rejected", "bad-ticket")
    assert b.page(mine) == {"user": "bob"}


@pytest.mark.allow_log("MSS01080", "MSS01081", "MSS01082", "MSS01083", "MSS01084", "MSS01086", "MSS01087")
@pytest.mark.parametrize("payload", ["next-too-long", "srclen-zero", "session-empty",
                                     "truncated"])
def test_forged_structure_is_rejected(site, b, keys, payload):
    """Authenticated but structurally wrong payloads are refused."""
    import struct
    k = sstickets.key_from_file(keys["key1"])
    iat = struct.pack(">Q", NOW())
    raw = {
        "next-too-long": iat + b"\x02\x06a.test" + struct.pack(">H", 500) + b"/x" + b"u=1",
        "srclen-zero": iat + b"\x01\x00" + struct.pack(">H", 0) + b"user=x",
        "session-empty": iat + b"\x01\x06a.test" + struct.pack(">H", 0),
        "truncated": iat + b"\x01\x14a.test" + struct.pack(">H", 0) + b"u=1",
    }[payload]
    t = sstickets.seal(k, "a.test", "b.test", raw_payload=raw)
    r = b.script(t)
    assert_script_answer(r)
    assert r.header_all("Set-Cookie") == []
    # a mode byte outside the table of (version, mode) pairs is malformed
    assert_outcome(site, r, "rejected", "malformed" if payload == "mode-3" else "bad-ticket")


@pytest.mark.parametrize("mode", [0x00, 0x03, 0x10, 0x13, 0x21, 0x81])
def test_forged_mode_outside_the_table_is_malformed(site, b, keys, mode):
    """An authenticated version-1 ticket whose mode byte is none of the
    table's (flow 0x01 or 0x02, plus 0x10) is malformed."""
    import struct
    k = sstickets.key_from_file(keys["key1"])
    raw = (struct.pack(">Q", NOW()) + bytes([mode]) + b"\x06a.test" + struct.pack(">H", 0)
           + b"user=x")
    r = b.script(sstickets.seal(k, "a.test", "b.test", raw_payload=raw))
    assert_script_answer(r)
    assert r.header_all("Set-Cookie") == []
    assert_outcome(site, r, "rejected", "malformed")


def test_location_never_another_host_with_host_header(site, b):
    """Even with a strange Host header the redirect is a path on this site."""
    r = b.navigate(b.mint(nav="/p"), host=f"www.b.test:{site.port}")
    assert r.status == 303
    assert_location_local(r, "www.b.test")


# ---------------------------------------------------------------------------
# Navigation tickets are bound to the browser that started the flow: the
# state cookie B set in `start` digests to the S sealed into the ticket.

def test_state_cookie_missing(site, b):
    """A ticket for the attacker's session, delivered to a browser that never
    started a flow (login CSRF): refused, B's session untouched."""
    mine = b.set_session("user=bob")
    t = b.mint("user=mallory", nav="/next")
    r = b.navigate(t, cookie=mine, state=False)
    assert_nav_answer(r, "/next")
    assert r.header_all("Set-Cookie") == [], r
    assert_outcome(site, r, "rejected", "state")
    assert b.page(mine) == {"user": "bob"}


def test_state_cookie_of_another_flow(site, b):
    mine = b.set_session("user=bob")
    t = b.mint("user=mallory", nav="/next")
    other = b.mint("user=bob", nav="/x")
    r = b.navigate(t, cookie=mine, state=b.state_cookie(other))
    assert_nav_answer(r, "/next")
    assert r.set_cookies("bsess") == [], r
    assert_outcome(site, r, "rejected", "state")
    assert b.page(mine) == {"user": "bob"}


def test_state_cookie_name_with_another_text(site, b):
    """A cookie of the right name whose text does not digest to S (planted
    on an http site, for instance) does not bind."""
    t = b.mint("user=mallory", nav="/next")
    name = b.state_cookie(t).split("=")[0]
    r = b.navigate(t, state=f"{name}={sstickets.state_text()}")
    assert_nav_answer(r, "/next")
    assert r.set_cookies("bsess") == [], r
    assert_outcome(site, r, "rejected", "state")


def test_state_failure_uses_the_ticket_up(site, b):
    """The id is claimed before S is compared: a ticket refused for its
    state cannot be tried again, not even by the browser it belongs to."""
    t = b.mint("user=mallory", nav="/next")
    assert_outcome(site, b.navigate(t, state=False), "rejected", "state")
    r = b.navigate(t)
    assert_outcome(site, r, "rejected", "replayed")
    assert r.set_cookies("bsess") == [], r


def test_state_cookie_dropped_and_ticket_accepted(site, b):
    t = b.mint("user=jo", nav="/next")
    r = b.navigate(t)
    assert_nav_answer(r, "/next")
    assert_outcome(site, r, "replaced")
    name = b.state_cookie(t).split("=")[0]
    drop = [c for c in r.header_all("Set-Cookie") if c.startswith(name + "=")]
    assert len(drop) == 1, r
    attrs = cookie_attrs(drop[0])
    assert attrs.get("max-age") == "0" and attrs.get("path") == "/", drop
    assert "httponly" in attrs and "secure" not in attrs, drop
    assert b.page(cookie_pair(r.set_cookies("bsess")[0])) == {"user": "jo"}


def test_replayed_with_its_state(site, b):
    t = b.mint("user=jo", nav="/next")
    assert_outcome(site, b.navigate(t), "replaced")
    r = b.navigate(t)
    assert_nav_answer(r, "/next")
    assert_outcome(site, r, "rejected", "replayed")
    assert r.set_cookies("bsess") == [], r


@pytest.mark.allow_log("MSS01080", "MSS01081", "MSS01082", "MSS01083", "MSS01084", "MSS01086", "MSS01087")
@pytest.mark.parametrize("case", ["bitflip", "other-destination", "expired", "state"])
def test_failed_ticket_lands_on_the_flows_to(site, b, case):
    """The state cookie carries the page the visitor asked for: a ticket
    that fails to open still lands there (without the session); one that
    opened lands on its next."""
    t = b.mint("user=jo", nav="/next", to="/asked?for=1",
               iat=NOW() - 100 if case == "expired" else None)
    state = b.state_cookie(t)
    if case == "bitflip":
        t = sstickets.flip_char(t, 80)
    elif case == "other-destination":
        t = b.mint("user=jo", nav="/next", dst="a.test", to="/asked?for=1")
        state = b.state_cookie(t)
    elif case == "state":
        state = b.state_cookie(b.mint("user=x", nav="/y", to="/other"))
        # the state cookie of another flow: its `to` is not this ticket's
    r = b.navigate(t, state=state)
    assert r.status == 303, r
    want = "/next" if case in ("state", "expired") else "/asked?for=1"
    assert_nav_answer(r, want)
    assert r.set_cookies("bsess") == [], r


def test_version_1_navigation_ticket_refused(site, b):
    """Unbound navigation tickets (sites before the state binding) open,
    then are refused: reason state, before their id is claimed."""
    mine = b.set_session("user=bob")
    t = b.mint("user=mallory", nav="/next", bound=False)
    for _ in range(2):
        r = b.navigate(t, cookie=mine)
        assert_nav_answer(r, "/next")
        assert r.header_all("Set-Cookie") == [], r
        assert_outcome(site, r, "rejected", "state")
    assert b.page(mine) == {"user": "bob"}


@pytest.mark.allow_log("MSS00070", "MSS01050")
def test_accept_unbound(httpd, module_so, tool, keys):
    """During an upgrade: version-1 navigation tickets accepted, with a
    warning at start-up and on every use; bound tickets still need their
    state."""
    h = httpd("unbound")
    sscfg.two_sites(h, keys["key1"], server_extra="SharedSessionAcceptUnbound On")
    h.start()
    assert "MSS00070: SharedSessionAcceptUnbound On" in h.start_output, h.start_output
    rc, out = h.configtest()
    assert rc == 0 and "MSS00070" in out, out
    b = Client(h, tool, keys["key1"])
    for n in range(2):
        h.mark()
        r = b.navigate(b.mint(f"user=u{n}", nav="/next", bound=False))
        assert_nav_answer(r, "/next")
        assert_outcome(h, r, "replaced")
        assert b.page(cookie_pair(r.set_cookies("bsess")[0])) == {"user": f"u{n}"}
        assert h.wait_error_log(r"\[shared_session:warn\].*MSS01050:.*from a\.test"), \
            h.error_log_since_mark()
    r = b.navigate(b.mint("user=mallory", nav="/next"), state=False)
    assert_outcome(h, r, "rejected", "state")


def test_accept_unbound_is_server_config_only(httpd, module_so, keys):
    h = httpd("unboundvhost")
    sscfg.two_sites(h, keys["key1"], b_extra="SharedSessionAcceptUnbound On")
    rc, out = h.configtest()
    assert rc != 0, out
    assert "SharedSessionAcceptUnbound cannot occur within <VirtualHost>" in out, out


def test_accept_unbound_off(httpd, module_so, tool, keys):
    h = httpd("unboundoff")
    sscfg.two_sites(h, keys["key1"], server_extra="SharedSessionAcceptUnbound Off")
    h.start()
    b = Client(h, tool, keys["key1"])
    r = b.navigate(b.mint("user=u", nav="/next", bound=False))
    assert_outcome(h, r, "rejected", "state")


# ---------------------------------------------------------------------------
# Sec-Fetch-Dest on an https entry (the entry's scheme decides, whatever
# terminates TLS: here apache2 speaks plain HTTP behind it).

@pytest.fixture(scope="module")
def https_entry(gen_dir, module_so, keys):
    h = Httpd("fetchdest", base_dir=gen_dir)
    sscfg.two_sites(h, keys["key1"], sites="https://a.test https://b.test")
    h.start()
    yield h
    h.stop()
    h.check_log()


@pytest.mark.parametrize("dest,result,reason", [
    (None, "rejected", "fetch-dest"),
    ("script", "replaced", "-"),
    ("Script", "replaced", "-"),
    ("image", "rejected", "fetch-dest"),
    ("document", "rejected", "fetch-dest"),
])
def test_fetch_dest_on_an_https_entry(https_entry, tool, keys, dest, result, reason):
    b = Client(https_entry, tool, keys["key1"])
    b.referer = lambda host=None: "https://a.test/page"
    extra = [("Sec-Fetch-Dest", dest)] if dest else []
    r = b.script(b.mint("user=alice"), extra=extra)
    assert_script_answer(r)
    assert_outcome(https_entry, r, result, reason)


@pytest.mark.allow_log("MSS01080", "MSS01081", "MSS01082", "MSS01083", "MSS01084", "MSS01086", "MSS01087")
def test_fetch_dest_then_referer_on_an_https_entry(https_entry, tool, keys):
    """Sec-Fetch-Dest: script does not replace the Referer check."""
    b = Client(https_entry, tool, keys["key1"])
    r = b.script(b.mint("user=alice"), referer="https://evil.example/",
                 extra=[("Sec-Fetch-Dest", "script")])
    assert_outcome(https_entry, r, "rejected", "referer")


def test_state_cookie_on_an_https_entry(https_entry, tool, keys):
    """__Host- prefixed state cookies there; deleted with Secure."""
    b = Client(https_entry, tool, keys["key1"])
    b.secure = True
    t = b.mint("user=alice", nav="/n")
    assert b.state_cookie(t).startswith("__Host-ssst-")
    r = b.navigate(t)
    assert_outcome(https_entry, r, "replaced")
    drop = [c for c in r.header_all("Set-Cookie") if c.startswith("__Host-ssst-")]
    assert len(drop) == 1 and "secure" in cookie_attrs(drop[0]), r
    # the http name does not count there
    b.secure = False
    t = b.mint("user=alice", nav="/n")
    assert_outcome(https_entry, b.navigate(t), "rejected", "state")


# ---------------------------------------------------------------------------
# The access log never shows the ticket.

def test_access_log_hides_ticket(site, b):
    ts = b.mint("user=gina")
    tn = b.mint("user=gina", nav="/n?x=1")
    bad = sstickets.flip_char(b.mint(), 60)
    r1, r2, r3 = b.script(ts), b.navigate(tn), b.script(bad)
    e1, e2, e3 = entry(site, r1), entry(site, r2), entry(site, r3)
    assert e1["request"] == "GET /shared-session/<ticket>.js HTTP/1.1", e1
    assert e1["uri"] == "/shared-session/<ticket>.js", e1
    assert e2["request"] == "GET /shared-session/<ticket> HTTP/1.1", e2
    assert e2["uri"] == "/shared-session/<ticket>", e2
    assert e3["uri"] == "/shared-session/<ticket>.js", e3
    log = site.access_log.read_text()
    for t in (ts, tn, bad):
        assert t not in log
        assert t[20:60] not in log
        assert t not in site.error_log_text()


# ---------------------------------------------------------------------------
# Names and methods.

@pytest.mark.parametrize("path", [
    "/shared-session/", "/shared-session/.js", "/shared-session/a/b",
    "/shared-session/abc/def.js", "/shared-session/abc!def", "/shared-session/abc.txt",
    "/shared-session/ab%20cd", "/shared-session/abc.js.js", "/shared-session/abc=",
    "/shared-session/abc+def", "/shared-session/abc%2Fdef", "/shared-session/ab.cd",
])
def test_bad_names_are_404(site, b, path):
    r = request(site.port, path, host=f"b.test:{site.port}",
                headers=[("Referer", b.referer())])
    assert r.status == 404, r
    assert r.header_all("Set-Cookie") == []


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
@pytest.mark.parametrize("suffix", [".js", ""])
def test_other_methods_are_405(site, b, method, suffix):
    t = b.mint()
    r = request(site.port, f"/shared-session/{t}{suffix}", host=f"b.test:{site.port}",
                method=method, headers=[("Referer", b.referer())],
                body="x" if method in ("POST", "PUT", "PATCH") else None)
    assert r.status == 405, r
    assert r.header_all("Set-Cookie") == []
    # the ticket was not used up
    assert_outcome(site, b.script(t), "replaced")


# ---------------------------------------------------------------------------
# Stores: cookie, cookie + crypto, dbd on SQLite.

def session_cookies(r, name, store):
    """The Set-Cookie values for name on a receiving response.  With every
    store exactly one goes out: mod_session_dbd itself writes its cookie
    into headers_out and err_headers_out (twice on a 2xx/3xx), and the
    module drops the copy."""
    return r.set_cookies(name)


def store_setup(httpd, tool, keys, store, **kw):
    h = httpd(f"store-{store}")
    db = None
    if store == "dbd":
        db = sscfg.make_sqlite_db(str(h.data / "sessions.db"))
    sscfg.two_sites(h, keys["key1"], store=store, b_db=db, **kw)
    h.start()
    return h, Client(h, tool, keys["key1"])


@pytest.mark.parametrize("store", ["cookie", "crypto", "dbd"])
def test_store_replacement(httpd, module_so, tool, keys, store):
    h, b = store_setup(httpd, tool, keys, store)
    r = b.script(b.mint("user=alice&role=admin"))
    assert_script_answer(r)
    sc = session_cookies(r, "bsess", store)
    assert len(sc) == 1, r
    assert_outcome(h, r, "replaced", was_empty=1)
    if store != "cookie":
        assert "alice" not in sc[0]       # encrypted, or a key into the table
    assert b.page(cookie_pair(sc[0])) == {"user": "alice", "role": "admin"}


@pytest.mark.parametrize("store", ["cookie", "crypto", "dbd"])
@pytest.mark.allow_log("MSS01083")
def test_store_kept_and_untouched(httpd, module_so, tool, keys, store):
    h, b = store_setup(httpd, tool, keys, store)
    mine = b.set_session("user=bob&cart=3")
    r = b.script(b.mint("user=alice"), cookie=mine)
    assert r.header_all("Set-Cookie") == []
    assert_outcome(h, r, "kept", was_empty=0)
    r = b.script(b.mint("user=alice", iat=NOW() - 100), cookie=mine)
    assert r.header_all("Set-Cookie") == []
    assert_outcome(h, r, "rejected", "expired")
    assert b.page(mine) == {"user": "bob", "cart": "3"}


@pytest.mark.parametrize("store", ["cookie", "crypto", "dbd"])
def test_store_always_replace(httpd, module_so, tool, keys, store):
    h, b = store_setup(httpd, tool, keys, store,
                       server_extra="SharedSessionReplace always")
    mine = b.set_session("user=bob&cart=3")
    r = b.script(b.mint("user=alice"), cookie=mine)
    sc = session_cookies(r, "bsess", store)
    assert len(sc) == 1, r
    assert_outcome(h, r, "replaced", was_empty=0)
    assert b.page(cookie_pair(sc[0])) == {"user": "alice"}


def test_dbd_rows(httpd, module_so, tool, keys):
    """mod_session_dbd: the cookie holds a key of a row that holds the entries."""
    import sqlite3
    h, b = store_setup(httpd, tool, keys, "dbd")
    r = b.script(b.mint("user=alice"))
    sc = session_cookies(r, "bsess", "dbd")
    assert len(sc) == 1
    uuid = cookie_pair(sc[0]).split("=", 1)[1]
    con = sqlite3.connect(str(h.data / "sessions.db"))
    try:
        rows = con.execute("select key, value from session").fetchall()
    finally:
        con.close()
    assert (uuid, "user=alice") in [(k, v) for k, v in rows] or \
        any(k == uuid and "user=alice" in v for k, v in rows), rows


# Incoming cookie that mod_session cannot use: counts as empty, the ticket
# still replaces, exactly one Set-Cookie goes out.  SessionMaxAge makes
# mod_session want to write the cookie on every response.

def _receive(b, mode, session, cookie=None, extra=()):
    if mode == "script":
        r = b.script(b.mint(session), cookie=cookie, extra=extra)
        assert_script_answer(r)
    else:
        r = b.navigate(b.mint(session, nav="/next"), cookie=cookie, extra=extra)
        assert_nav_answer(r, "/next")
    return r


def _one_cookie_then_entries(h, b, r, want):
    sc = r.set_cookies("bsess")
    assert len(sc) == 1, f"expected exactly one Set-Cookie for bsess: {r.headers}"
    assert_outcome(h, r, "replaced", was_empty=1)
    assert b.page(cookie_pair(sc[0])) == want


@pytest.mark.parametrize("mode", ["script", "navigation"])
def test_incoming_cookie_expired(httpd, module_so, tool, keys, mode):
    h, b = store_setup(httpd, tool, keys, "cookie", b_maxage=600)
    old = "bsess=user=old&expiry=1000000"
    assert b.page(old) == {}           # mod_session itself sees it as empty
    r = _receive(b, mode, "user=alice", cookie=old)
    _one_cookie_then_entries(h, b, r, {"user": "alice"})


@pytest.mark.allow_log("AH01817", "AH01842")
@pytest.mark.parametrize("mode", ["script", "navigation"])
@pytest.mark.allow_log("MSS00090")
def test_incoming_cookie_undecodable(httpd, module_so, tool, keys, mode):
    """A cookie sealed with another SessionCryptoPassphrase."""
    h = httpd("undecodable")
    other = sscfg.vhost("x.test", store="crypto", cookie="bsess", passphrase="other-pass")
    sscfg.two_sites(h, keys["key1"], store="crypto", b_maxage=600, extra_vhosts=other)
    h.start()
    b = Client(h, tool, keys["key1"])
    x = Client(h, tool, keys["key1"], host="x.test")
    foreign = x.set_session("user=intruder")
    assert b.page(foreign) == {}
    r = _receive(b, mode, "user=alice", cookie=foreign)
    _one_cookie_then_entries(h, b, r, {"user": "alice"})


@pytest.mark.allow_log("AH00011")
@pytest.mark.parametrize("mode", ["script", "navigation"])
@pytest.mark.parametrize("store", ["cookie", "crypto"])
def test_incoming_cookie_duplicated(httpd, module_so, tool, keys, store, mode):
    h, b = store_setup(httpd, tool, keys, store, b_maxage=600)
    c1 = b.set_session("user=one")
    c2 = b.set_session("user=two")
    r = _receive(b, mode, "user=alice", cookie=f"{c1}; {c2}")
    _one_cookie_then_entries(h, b, r, {"user": "alice"})


@pytest.mark.allow_log("AH00011")
def test_incoming_cookie_duplicated_in_two_headers(httpd, module_so, tool, keys):
    h, b = store_setup(httpd, tool, keys, "cookie", b_maxage=600)
    r = _receive(b, "script", "user=alice", extra=[("Cookie", "bsess=user=one"),
                                                   ("Cookie", "bsess=user=two")])
    _one_cookie_then_entries(h, b, r, {"user": "alice"})


@pytest.mark.parametrize("store", ["cookie", "crypto", "dbd"])
def test_cookie_attributes_and_max_age(httpd, module_so, tool, keys, store):
    h, b = store_setup(httpd, tool, keys, store, b_maxage=600,
                       b_attrs="path=/;Secure;HttpOnly;SameSite=None")
    r = b.script(b.mint("user=alice"))
    sc = session_cookies(r, "bsess", store)
    assert len(sc) == 1, r
    attrs = cookie_attrs(sc[0])
    assert attrs.get("max-age") == "600", sc
    assert attrs.get("path") == "/", sc
    assert "secure" in attrs and "httponly" in attrs, sc
    assert attrs.get("samesite", "").lower() == "none", sc
    assert b.page(cookie_pair(sc[0])) == {"user": "alice"}


# ---------------------------------------------------------------------------
# Replay cache: none, dbm, redis and memcached shared by two servers,
# unreachable cache, graceful restart.

@pytest.mark.allow_log("MSS01083")
def test_replay_cache_none(httpd, module_so, tool, keys):
    h = httpd("cachenone")
    sscfg.two_sites(h, keys["key1"], server_extra="SharedSessionReplayCache none")
    h.start()
    b = Client(h, tool, keys["key1"])
    t = b.mint("user=alice")
    assert_outcome(h, b.script(t), "replaced")
    assert_outcome(h, b.script(t), "replaced")
    # the timeout still applies
    assert_outcome(h, b.script(b.mint(iat=NOW() - 100)), "rejected", "expired")


def test_replay_cache_dbm(httpd, module_so, tool, keys):
    h = httpd("cachedbm")
    sscfg.two_sites(h, keys["key1"], modules=["socache_dbm"],
                    server_extra="SharedSessionReplayCache dbm:{data}/replay")
    h.start()
    b = Client(h, tool, keys["key1"])
    t = b.mint("user=alice")
    assert_outcome(h, b.script(t), "replaced")
    assert_outcome(h, b.script(t), "rejected", "replayed")


def _cluster(httpd, tool, keys, spec, module, name):
    servers = []
    for i in (1, 2):
        h = httpd(f"{name}{i}")
        sscfg.two_sites(h, keys["key1"], modules=[module],
                        server_extra=f"SharedSessionReplayCache {spec}")
        h.start()
        servers.append(h)
    return servers


@pytest.mark.parametrize("kind", ["redis", "memcache"])
def test_cluster_shares_replay_cache(httpd, module_so, tool, keys, gen_dir, kind):
    import pyhttpd
    workdir = gen_dir
    d = (pyhttpd.redis_server if kind == "redis" else pyhttpd.memcached_server)(workdir)
    try:
        h1, h2 = _cluster(httpd, tool, keys, f"{kind}:127.0.0.1:{d.port}",
                          f"socache_{kind}", kind)
        b1 = Client(h1, tool, keys["key1"])
        b2 = Client(h2, tool, keys["key1"])
        t = b1.mint("user=alice")
        assert_outcome(h1, b1.script(t), "replaced")
        r = b2.script(t)
        assert_script_answer(r)
        assert r.header_all("Set-Cookie") == []
        assert_outcome(h2, r, "rejected", "replayed")
        # and the other way round
        t = b2.mint("user=bob")
        assert_outcome(h2, b2.script(t), "replaced")
        assert_outcome(h1, b1.script(t), "rejected", "replayed")
        for h in (h1, h2):
            h.stop()
    finally:
        d.stop()


@pytest.mark.allow_log("MSS01040")
def test_cache_unavailable_then_recovers(httpd, module_so, tool, keys, gen_dir):
    import pyhttpd
    port = pyhttpd.closed_port()
    h = httpd("cacheoff")
    sscfg.two_sites(h, keys["key1"],
                    server_extra=f"SharedSessionReplayCache redis:127.0.0.1:{port}")
    h.start()
    b = Client(h, tool, keys["key1"])
    mine = b.set_session("user=bob")
    t = b.mint("user=alice")
    r = b.script(t, cookie=mine)
    assert_script_answer(r)
    assert r.header_all("Set-Cookie") == []
    assert_outcome(h, r, "rejected", "cache-unavailable")
    r = b.script(b.mint("user=alice"))
    assert_outcome(h, r, "rejected", "cache-unavailable")
    last_failure = time.monotonic()
    # pages keep being served
    assert b.page(mine) == {"user": "bob"}
    # the cache comes (back) on the configured port: tickets are accepted again
    d = pyhttpd.Daemon(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                        "--save", "", "--appendonly", "no"], port, "redis-late", gen_dir)
    d.start()
    try:
        # every child finds the cache again by itself (it tries a server
        # whose connect failed again 0.5 s later): once that time has passed
        # in every child, tickets are accepted again, all of them
        deadline = time.monotonic() + 20
        while True:
            ok = all(entry(h, b.script(b.mint("user=carol")))["result"] == "replaced"
                     for _ in range(6))
            if ok and time.monotonic() - last_failure > 6:
                break
            assert time.monotonic() < deadline, \
                "tickets still refused 20 s after the cache came back"
            time.sleep(0.25)
        t = b.mint("user=dave")
        assert_outcome(h, b.script(t), "replaced")
        assert_outcome(h, b.script(t), "rejected", "replayed")
        h.stop()
    finally:
        d.stop()


def test_graceful_restart(httpd, module_so, tool, keys):
    h = httpd("graceful")
    sscfg.two_sites(h, keys["key1"])
    h.start()
    b = Client(h, tool, keys["key1"])
    assert_outcome(h, b.script(b.mint()), "replaced")
    h.graceful()
    t = b.mint("user=after")
    r = b.script(t)
    assert_outcome(h, r, "replaced")
    assert b.page(cookie_pair(r.set_cookies("bsess")[0])) == {"user": "after"}
    assert_outcome(h, b.script(t), "rejected", "replayed")
    h.graceful()
    # the replay cache itself lives on across the restart
    assert_outcome(h, b.script(t), "rejected", "replayed")
    assert_outcome(h, b.script(b.mint()), "replaced")


def test_graceful_restart_dbm_cache(httpd, module_so, tool, keys):
    h = httpd("graceful-dbm")
    sscfg.two_sites(h, keys["key1"], modules=["socache_dbm"],
                    server_extra="SharedSessionReplayCache dbm:{run}/replay.dbm")
    h.start()
    b = Client(h, tool, keys["key1"])
    t = b.mint()
    assert_outcome(h, b.script(t), "replaced")
    h.graceful()
    assert_outcome(h, b.script(t), "rejected", "replayed")


# ---------------------------------------------------------------------------
# The hook shared_session_replaced, seen by a test-only module.

def hook_setup(httpd, tool, keys, hooktest_so, **kw):
    h = httpd("hook")
    server_extra = kw.pop("server_extra", "")
    sscfg.two_sites(h, keys["key1"], server_extra=f"""
LoadModule ss_hooktest_module {hooktest_so}
SSHookTestFile {{data}}/hook.log
{server_extra}""", **kw)
    h.start()
    return h, Client(h, tool, keys["key1"])


def hook_lines(h):
    p = h.data / "hook.log"
    return p.read_text().splitlines() if p.exists() else []


def test_hook_replaced(httpd, module_so, tool, keys, hooktest_so):
    h, b = hook_setup(httpd, tool, keys, hooktest_so)
    r = b.script(b.mint("user=alice"))
    assert_outcome(h, r, "replaced")
    want = "src=a.test dst=b.test was_empty=1 user=alice"
    assert r.header("X-SS-Hook") == want, r
    assert hook_lines(h) == [want]


@pytest.mark.allow_log("MSS01080", "MSS01081", "MSS01082", "MSS01083", "MSS01084", "MSS01086", "MSS01087")
def test_hook_not_called_when_not_replaced(httpd, module_so, tool, keys, hooktest_so):
    h, b = hook_setup(httpd, tool, keys, hooktest_so)
    mine = b.set_session("user=bob")
    r = b.script(b.mint("user=alice"), cookie=mine)          # kept
    assert_outcome(h, r, "kept")
    assert r.header("X-SS-Hook") is None
    r = b.script(b.mint("user=alice"), referer=None)          # rejected
    assert_outcome(h, r, "rejected", "referer")
    assert r.header("X-SS-Hook") is None
    assert hook_lines(h) == []


def test_hook_was_empty_0_and_navigation(httpd, module_so, tool, keys, hooktest_so):
    h, b = hook_setup(httpd, tool, keys, hooktest_so,
                      server_extra="SharedSessionReplace always")
    mine = b.set_session("user=bob")
    r = b.navigate(b.mint("user=alice", nav="/n"), cookie=mine)
    assert r.status == 303
    assert_outcome(h, r, "replaced", was_empty=0)
    want = "src=a.test dst=b.test was_empty=0 user=alice"
    assert r.header("X-SS-Hook") == want, r
    assert hook_lines(h) == [want]


# ---------------------------------------------------------------------------
# Two sites on two ports of 127.0.0.1 (site ids with ports).

def two_ports(httpd, keys, check_referer=True):
    h = httpd("twoports", nports=2)
    sscfg.prepare_docroot(h)
    p0, p1 = h.ports
    h.write_config(f"""
SharedSessionSites http://127.0.0.1:{p0} http://127.0.0.1:{p1}
SharedSessionKeyFile {keys['key1']}
{'' if check_referer else 'SharedSessionCheckReferer Off'}
{sscfg.vhost("127.0.0.1", cookie="s0", port=p0)}
{sscfg.vhost("127.0.0.1", cookie="s1", port=p1)}
""", modules=sscfg.STORE_MODULES["cookie"] + ["cgi"])
    h.start()
    return h, p0, p1


@pytest.mark.allow_log("MSS01081", "MSS01082")
def test_two_ports(httpd, module_so, tool, keys):
    h, p0, p1 = two_ports(httpd, keys)
    one = Client(h, tool, keys["key1"], host=f"127.0.0.1:{p1}", src=f"127.0.0.1:{p0}",
                 cookie="s1", port=p1)
    one.referer = lambda host=None: f"http://127.0.0.1:{p0}/page"
    t = one.mint("user=alice")
    r = one.script(t)
    assert_script_answer(r)
    sc = r.set_cookies("s1")
    assert len(sc) == 1 and r.set_cookies("s0") == []
    assert_outcome(h, r, "replaced", src=f"127.0.0.1:{p0}", was_empty=1)
    assert_info_line(h, "replaced", "-", "script", src=f"127.0.0.1:{p0}",
                     dst=f"127.0.0.1:{p1}")
    assert one.page(cookie_pair(sc[0])) == {"user": "alice"}
    # the same ticket on the other port: another destination
    zero = Client(h, tool, keys["key1"], host=f"127.0.0.1:{p0}", src=f"127.0.0.1:{p1}",
                  cookie="s0", port=p0)
    zero.referer = lambda host=None: f"http://127.0.0.1:{p1}/page"
    assert_outcome(h, zero.script(one.mint("user=x")), "rejected", "bad-ticket")
    # the other direction works
    r = zero.script(zero.mint("user=bob"))
    assert_outcome(h, r, "replaced", src=f"127.0.0.1:{p1}")
    assert len(r.set_cookies("s0")) == 1


@pytest.mark.allow_log("MSS01087")
def test_two_ports_referer_port_must_match(httpd, module_so, tool, keys):
    """The source's site id names a port: the Referer's port must be it."""
    h, p0, p1 = two_ports(httpd, keys)
    one = Client(h, tool, keys["key1"], host=f"127.0.0.1:{p1}", src=f"127.0.0.1:{p0}",
                 cookie="s1", port=p1)
    for ref in (f"http://127.0.0.1:{p1}/", "http://127.0.0.1/", "http://127.0.0.1:1/"):
        r = one.script(one.mint(), referer=ref)
        assert_outcome(h, r, "rejected", "referer")
    r = one.script(one.mint(), referer=f"http://127.0.0.1:{p0}/x")
    assert_outcome(h, r, "replaced")


@pytest.mark.allow_log("MSS01084")
def test_two_ports_source_is_this_site(httpd, module_so, tool, keys):
    h, p0, p1 = two_ports(httpd, keys, check_referer=False)
    one = Client(h, tool, keys["key1"], host=f"127.0.0.1:{p1}", src=f"127.0.0.1:{p1}",
                 cookie="s1", port=p1)
    assert_outcome(h, one.script(one.mint()), "rejected", "unknown-source")


# ---------------------------------------------------------------------------
# SharedSessionPath

def test_custom_path(httpd, module_so, tool, keys):
    h = httpd("path")
    sscfg.prepare_docroot(h)
    h.write_config(f"""
SharedSessionSites http://a.test http://b.test
SharedSessionKeyFile {keys['key1']}
SharedSessionPath /sso/x/
{sscfg.vhost("b.test", cookie="bsess", handler_path="/sso/x/")}
""", modules=sscfg.STORE_MODULES["cookie"] + ["cgi"])
    h.start()
    b = Client(h, tool, keys["key1"], path="/sso/x/")
    r = b.script(b.mint("user=alice"))
    assert_script_answer(r)
    assert_outcome(h, r, "replaced")
    assert entry(h, r)["uri"] == "/sso/x/<ticket>.js"
    r = b.navigate(b.mint("user=alice", nav="/here"))
    assert_nav_answer(r, "/here")
