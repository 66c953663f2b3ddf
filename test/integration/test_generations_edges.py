"""Generations under hostile or unusual conditions (docs/PROTOCOL.md,
"Generations"): clocks at the edge of the skew, other session stores, a
graceful restart, hosts that are not sites.

The scripted two-site browser of test_generations.py visits a.test and
b.test on one real apache2; a CGI changes sessions through SessionHeader as
an application would."""

import re
import time
import urllib.parse

import pytest

import sscfg
import sstickets
from pyhttpd import request
from test_generations import FILTERED, PAGE, SitesBrowser, logged_in_everywhere, started


def _wait_for_fraction(lo, hi):
    """Sleeps until the fractional part of the clock lies in [lo, hi)."""
    while True:
        f = time.time() % 1.0
        if lo <= f < hi:
            return
        time.sleep(0.01)


def test_change_made_while_holding_a_generation_ahead_within_the_skew_reaches_b(
        httpd, module_so, keys):
    """A site whose clock is 4.7 s ahead (inside the 5 s the protocol
    allows) stamped the session A holds; A trusts that generation (it is
    less than 5 s ahead of A's clock) and a change on A stamps T = loaded + 1.
    The loader ticket's iat is whole seconds (the request time, truncated),
    so T - iat exceeds 5 s whenever the page is opened in the second half of
    a second: B must still take A's change.  A then remembers the generation
    as sent, so a refusal here is not retried for SharedSessionResend."""
    h = started(httpd, keys, "skewiat", "")
    key = sstickets.key_from_file(keys["key1"])
    br = logged_in_everywhere(h)
    _wait_for_fraction(0.55, 0.65)
    ahead = int(time.time() * 1e6) + 4_700_000
    entries = {"user": "alice", "role": "admin"}
    br.set_cookie("a.test", "asess=" + urllib.parse.urlencode(
        dict(entries, **{sstickets.GEN_ENTRY: sstickets.gen_text(key, ahead, entries)})))
    br.change("a.test", "cart=1")
    a = br.session("a.test", with_gen=True)
    assert sstickets.gen_of(a)[0] == ahead + 1 and sstickets.gen_verifies(key, a), a
    assert br.page("a.test")
    assert br.outcomes[-1] == ("b.test", "replaced", "-"), br.outcomes
    assert br.session("b.test").get("cart") == "1"


def _store_sites(h, key, db):
    sscfg.prepare_docroot(h)
    h.write_file("htdocs/p.html", PAGE)
    h.write_config(f"""
SharedSessionSites http://a.test http://b.test
SharedSessionKeyFile {key}
{sscfg.vhost("a.test", store="crypto", cookie="asess", extra=FILTERED)}
{sscfg.vhost("b.test", store="dbd", cookie="bsess", db=db, extra=FILTERED)}
""", modules=sorted(set(sscfg.STORE_MODULES["crypto"] + sscfg.STORE_MODULES["dbd"]
                        + ["cgi"])))


def test_logouts_spread_with_crypto_and_dbd_stores(httpd, module_so, keys):
    """mod_session_crypto on A, mod_session_dbd on B: the encode hook runs
    ahead of both stores' encoders, so each logout is a tombstone that
    spreads and that neither site's older copy undoes."""
    h = httpd("stores")
    db = sscfg.make_sqlite_db(str(h.data / "sessions.db"))
    _store_sites(h, keys["key1"], db)
    h.start()
    key = sstickets.key_from_file(keys["key1"])
    for out, other in (("a.test", "b.test"), ("b.test", "a.test")):
        br = logged_in_everywhere(h) if out == "a.test" else SitesBrowser(h)
        if out == "b.test":
            br.change("b.test", "user=alice&role=admin")
            assert br.page("b.test")
            assert br.session("a.test") == {"user": "alice", "role": "admin"}
            br.page("a.test")
        br.change(out, "user=&role=")
        s = br.session(out, with_gen=True)
        assert set(s) == {sstickets.GEN_ENTRY} and sstickets.gen_verifies(key, s), s
        assert br.page(out)
        assert br.session(other) == {}, out
        for _ in range(2):
            br.page(other)
            br.page(out)
        assert br.session(out) == {} and br.session(other) == {}, out


def test_generations_survive_a_graceful_restart(httpd, module_so, keys):
    """mod_session's hooks are added in pre_config; after a graceful restart
    a logout still leaves a tombstone (and a login still a generation)."""
    h = started(httpd, keys, "graceful", "")
    key = sstickets.key_from_file(keys["key1"])
    br = logged_in_everywhere(h)
    h.graceful()
    br.change("a.test", "user=&role=")
    a = br.session("a.test", with_gen=True)
    assert set(a) == {sstickets.GEN_ENTRY} and sstickets.gen_verifies(key, a), a
    assert br.page("a.test")
    assert br.session("b.test") == {}
    br.change("b.test", "user=bob")
    assert sstickets.gen_verifies(key, br.session("b.test", with_gen=True))


def test_a_host_that_is_not_a_site_keeps_its_session_as_the_application_wrote_it(
        httpd, module_so, keys):
    """A virtual host outside SharedSessionSites shares nothing: its
    application's session gets no shared-session-gen entry, and emptying it
    leaves it empty (no tombstone the application would see as an entry)."""
    h = httpd("notasite")
    sscfg.prepare_docroot(h)
    h.write_file("htdocs/p.html", PAGE)
    # an application's own host: mod_session, no shared-session handler
    intranet = re.sub(r"<Location /shared-session/>.*?</Location>", "",
                      sscfg.vhost("intranet.test", cookie="isess"), flags=re.S)
    h.write_config(f"""
SharedSessionSites http://a.test http://b.test
SharedSessionKeyFile {keys["key1"]}
{sscfg.vhost("a.test", cookie="asess", extra=FILTERED)}
{sscfg.vhost("b.test", cookie="bsess", extra=FILTERED)}
{intranet}
""", modules=["session", "session_cookie", "cgi"])
    h.start()
    br = SitesBrowser(h)
    br.change("intranet.test", "user=carol")
    assert br.session("intranet.test", with_gen=True) == {"user": "carol"}
    br.change("intranet.test", "user=")
    assert br.session("intranet.test", with_gen=True) == {}


LOGOUT = """
    <Location /logout>
        AuthName demo
        SetHandler form-logout-handler
        AuthFormLogoutLocation http://a.test/p.html
    </Location>
"""


def test_an_in_process_logout_is_stamped_after_the_generation_it_was_loaded_with(
        httpd, module_so, keys):
    """mod_auth_form's logout empties the session inside the request; then
    mod_session's output filter loads the session again before saving it.
    The tombstone must still be stamped T = max(now, T_loaded + 1) from the
    generation the request was loaded with (here one stamped 4 s ahead, by a
    site whose clock runs ahead within the skew): if the second load makes
    the module forget what the session was loaded with, the tombstone is
    stamped at "now", older than the logged-in copy B still holds, and B's
    next loader logs A back in."""
    h = httpd("authformlogout")
    sscfg.prepare_docroot(h)
    h.write_file("htdocs/p.html", PAGE)
    h.write_config(f"""
SharedSessionSites http://a.test http://b.test
SharedSessionKeyFile {keys["key1"]}
{sscfg.vhost("a.test", cookie="asess", extra=FILTERED + LOGOUT)}
{sscfg.vhost("b.test", cookie="bsess", extra=FILTERED)}
""", modules=["session", "session_cookie", "cgi", "auth_form", "request", "authn_core"])
    h.start()
    key = sstickets.key_from_file(keys["key1"])
    ahead = int(time.time() * 1e6) + 4_000_000
    entries = {"demo-user": "alice", "demo-pw": "secret"}
    value = urllib.parse.urlencode(
        dict(entries, **{sstickets.GEN_ENTRY: sstickets.gen_text(key, ahead, entries)}))
    br = SitesBrowser(h)
    br.set_cookie("a.test", f"asess={value}")
    br.set_cookie("b.test", f"bsess={value}")
    assert br.session("a.test") == entries
    r = request(h.port, "/logout", host="a.test", headers=br._cookie_header("a.test"))
    assert r.status in (302, 303, 307), r
    br._store("a.test", r)
    a = br.session("a.test", with_gen=True)
    assert set(a) == {sstickets.GEN_ENTRY} and sstickets.gen_verifies(key, a), a
    assert sstickets.gen_of(a)[0] > ahead, (sstickets.gen_of(a)[0] - ahead, a)
    # what that means: B's copy, sent by B's next page, must not revive A
    br.page("b.test")
    assert br.session("a.test") == {}, br.outcomes


def test_an_in_process_logout_of_a_session_without_a_generation_is_a_tombstone(
        httpd, module_so, keys):
    """A session that holds a login but no generation yet (written before the
    sites stamped generations, or only read since) is logged out with
    mod_auth_form: emptying a session that was loaded with entries is a
    logout and leaves a tombstone, however often the session is loaded
    again in that request.  Without one A counts as empty, and the copy B
    holds logs A back in at B's next page (the same logout made through
    SessionHeader, where the session is loaded once, passes)."""
    h = httpd("authformlegacy")
    sscfg.prepare_docroot(h)
    h.write_file("htdocs/p.html", PAGE)
    h.write_config(f"""
SharedSessionSites http://a.test http://b.test
SharedSessionKeyFile {keys["key1"]}
{sscfg.vhost("a.test", cookie="asess", extra=FILTERED + LOGOUT)}
{sscfg.vhost("b.test", cookie="bsess", extra=FILTERED)}
""", modules=["session", "session_cookie", "cgi", "auth_form", "request", "authn_core"])
    h.start()
    key = sstickets.key_from_file(keys["key1"])
    entries = {"demo-user": "alice", "demo-pw": "secret"}
    br = SitesBrowser(h)
    br.set_cookie("a.test", "asess=" + urllib.parse.urlencode(entries))
    br.set_cookie("b.test", "bsess=" + urllib.parse.urlencode(entries))
    r = request(h.port, "/logout", host="a.test", headers=br._cookie_header("a.test"))
    assert r.status in (302, 303, 307), r
    br._store("a.test", r)
    a = br.session("a.test", with_gen=True)
    assert set(a) == {sstickets.GEN_ENTRY} and sstickets.gen_verifies(key, a), a
    br.page("a.test")                   # the tombstone travels to B
    br.page("b.test")
    assert br.session("a.test") == {}, br.outcomes


def test_entries_with_separators_and_odd_keys_stay_in_step(site_pair):
    """Keys and values holding '&', '=', '+', '%', spaces and non-ASCII bytes
    (after decoding) travel with a generation that verifies on both sites,
    and nothing is sent back and forth afterwards."""
    h = site_pair
    br = logged_in_everywhere(h)
    query = urllib.parse.urlencode({"note": "a&b=c+d %e", "Zed": "1", "\u00e9t\u00e9": "x",
                                    "a b": "=", "_": "&"})
    br.change("a.test", query)
    assert br.page("a.test")
    a = br.session("a.test", with_gen=True)
    b = br.session("b.test", with_gen=True)
    assert a == b and a["note"] == "a&b=c+d %e", (a, b)
    for i in range(4):
        assert br.page("a.test" if i % 2 else "b.test") == [], i


@pytest.fixture
def site_pair(httpd, module_so, keys):
    return started(httpd, keys, "pair", "")


def test_a_generation_made_with_the_second_key_counts_after_a_rotation(
        httpd, module_so, tool, keys):
    """Key rotation: the sites seal with key2 and still accept key1.  A
    session whose generation was made with key1 (before the rotation) is
    newer or older by its T as before: a newer one replaces, an older one
    (minted before a logout) never revives the logout."""
    h = started(httpd, keys, "rotation", "")
    h.stop()
    from test_generations import write_sites
    write_sites(h, f"{keys['key2']} {keys['key1']}")
    h.start()
    k1 = sstickets.key_from_file(keys["key1"])
    k2 = sstickets.key_from_file(keys["key2"])
    br = logged_in_everywhere(h)
    # what B holds was stamped with the sealing key, key2
    assert sstickets.gen_verifies(k2, br.session("b.test", with_gen=True))
    before = int(time.time() * 1e6) - 10**6
    entries = {"user": "alice", "role": "admin"}
    old = dict(entries, **{sstickets.GEN_ENTRY: sstickets.gen_text(k1, before, entries)})
    br.change("a.test", "user=&role=")
    assert br.page("a.test")
    t = tool.mint(keys["key1"], "b.test", "a.test", session=urllib.parse.urlencode(old))
    br.loader("a.test", f"/shared-session/{t}.js", "b.test")
    assert br.outcomes[-1] == ("a.test", "kept", "-"), br.outcomes
    now = int(time.time() * 1e6)
    new = dict(entries, **{sstickets.GEN_ENTRY: sstickets.gen_text(k1, now, entries)})
    t = tool.mint(keys["key1"], "b.test", "a.test", session=urllib.parse.urlencode(new))
    br.loader("a.test", f"/shared-session/{t}.js", "b.test")
    assert br.outcomes[-1] == ("a.test", "replaced", "-"), br.outcomes
    assert br.session("a.test", with_gen=True) == new


def test_replace_empty_takes_a_new_login_after_a_logout(httpd, module_so, keys):
    """SharedSessionReplace empty (what SharedSessionAlwaysReplace Off maps
    onto) keeps a session that has entries; a site whose user logged out
    holds only a tombstone, no entry an application sees.  A later login on
    B (newer than the logout) must still reach A, as it did before A's
    logout left a tombstone."""
    h = started(httpd, keys, "emptytomb", "SharedSessionReplace empty")
    br = logged_in_everywhere(h)
    br.change("a.test", "user=&role=")
    assert br.page("a.test")            # the logout travels (B: kept, mode empty)
    assert br.session("a.test") == {}
    br.change("b.test", "user=bob&role=")
    assert br.page("b.test")
    assert br.outcomes[-1] == ("a.test", "replaced", "-"), br.outcomes
    assert br.session("a.test") == {"user": "bob"}


def test_a_logout_served_as_an_error_document_is_stamped_once(httpd, module_so, keys):
    """An application's logout reached through an internal redirect (an
    ErrorDocument that runs the CGI): one new generation, a tombstone, and
    the logout spreads after one page."""
    h = httpd("errordoc")
    sscfg.prepare_docroot(h)
    h.write_file("htdocs/p.html", PAGE)
    bye = '\n    ErrorDocument 404 "/cgi/set.cgi?user=&role="\n'
    h.write_config(f"""
SharedSessionSites http://a.test http://b.test
SharedSessionKeyFile {keys["key1"]}
{sscfg.vhost("a.test", cookie="asess", extra=FILTERED + bye)}
{sscfg.vhost("b.test", cookie="bsess", extra=FILTERED)}
""", modules=["session", "session_cookie", "cgi"])
    h.start()
    key = sstickets.key_from_file(keys["key1"])
    br = logged_in_everywhere(h)
    h.mark()
    r = request(h.port, "/no/such/page", host="a.test", headers=br._cookie_header("a.test"))
    assert r.status == 404, r
    br._store("a.test", r)
    assert h.error_log_since_mark().count("MSS01100") == 1, h.error_log_since_mark()
    a = br.session("a.test", with_gen=True)
    assert set(a) == {sstickets.GEN_ENTRY} and sstickets.gen_verifies(key, a), a
    assert br.page("a.test")
    assert br.session("b.test") == {}
