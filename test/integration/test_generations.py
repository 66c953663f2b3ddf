"""One session kept in step across sites (docs/PROTOCOL.md, "Generations").

A scripted browser that keeps cookies per host and runs every loader a page
carries (as a browser allowing third-party cookies does) visits two sites,
a.test and b.test, on one real apache2.  Each site keeps its session in a
mod_session cookie; a CGI changes it through SessionHeader (a login, a
change, a logout), as an application would.  What is asserted: which pages
carry loader tags, the session each site's next request sees, the outcome of
each ticket in the access log, and that every generation verifies."""

import time
import urllib.parse

import pytest

import sscfg
import sstickets
from filterdata import loader
from pyhttpd import Httpd, cookie_attrs, request

PAGE = "<html><head><title>p</title></head><body>p</body></html>\n"
COOKIE = {"a.test": "asess", "b.test": "bsess", "c.test": "csess"}
FILTERED = """
    <Location /p.html>
        SetOutputFilter SHARED_SESSION
    </Location>
"""


class SitesBrowser(sscfg.Browser):
    """sscfg.Browser that also opens pages and runs their loaders."""

    def __init__(self, h, run_loaders=True):
        super().__init__(h)
        self.run_loaders = run_loaders
        self.outcomes = []      # (destination, result) of each loader run

    def _cookie_header(self, host):
        jar = self.jar.get(host, {})
        return [("Cookie", "; ".join(f"{k}={v}" for k, v in jar.items()))] if jar else []

    def page(self, host, path="/p.html"):
        """Opens a page; returns the loader tags it carried (after running
        them, when run_loaders)."""
        r = request(self.port, path, host=host,
                    headers=self._cookie_header(host) + [("Sec-Fetch-Dest", "document")])
        assert r.status == 200, r
        self._store(host, r)
        body = r.body.decode("latin-1")
        tags = [(m.group("origin"), m.group("path"), m.group("ticket"))
                for m in loader.TAG_RE.finditer(body)]
        if self.run_loaders:
            for origin, path_, ticket in tags:
                self.loader(origin.split("://", 1)[1], path_ + ticket + ".js", host)
        return tags

    def loader(self, dst, path, src):
        r = request(self.port, path, host=dst,
                    headers=self._cookie_header(dst)
                    + [("Sec-Fetch-Dest", "script"), ("Referer", f"http://{src}/p.html")])
        assert r.status == 200, r
        self._store(dst, r)
        e = self.h.access_entry(r)
        self.outcomes.append((dst, e["result"], e["reason"]))
        return r

    def change(self, host, query):
        """What the application does: sets (k=v) or removes (k=) entries."""
        r = request(self.port, f"/cgi/set.cgi?{query}", host=host,
                    headers=self._cookie_header(host))
        assert r.status == 200, r
        self._store(host, r)

    def session(self, host, with_gen=False):
        """The session the site's next request sees."""
        r = request(self.port, "/page.txt", host=host, headers=self._cookie_header(host))
        assert r.status == 200, r
        self._store(host, r)
        return sscfg.parse_session(r.header("X-Session"), with_gen)


def write_sites(h, key, extra="", sites=("a.test", "b.test")):
    sscfg.prepare_docroot(h)
    h.write_file("htdocs/p.html", PAGE)
    vhosts = "".join(sscfg.vhost(s, cookie=COOKIE[s], extra=FILTERED) for s in sites)
    h.write_config(f"""
SharedSessionSites {' '.join('http://' + s for s in sites)}
SharedSessionKeyFile {key}
{extra}
{vhosts}
""", modules=["session", "session_cookie", "cgi"])


def started(httpd, keys, name, extra):
    """A new apache2 with the two sites and extra server directives."""
    h = httpd(name)
    write_sites(h, keys["key1"], extra=extra)
    h.start()
    return h


@pytest.fixture(scope="module")
def site(gen_dir, module_so, keys):
    h = Httpd("generations", base_dir=gen_dir)
    write_sites(h, keys["key1"])
    h.start()
    yield h
    h.stop()
    h.check_log()


@pytest.fixture
def key(keys):
    return sstickets.key_from_file(keys["key1"])


def assert_verifies(key, browser, host):
    s = browser.session(host, with_gen=True)
    assert sstickets.gen_verifies(key, s), (host, s)
    return sstickets.gen_of(s)


def logged_in_everywhere(site):
    """A browser logged in on A whose one page on A and on B has run."""
    br = SitesBrowser(site)
    br.change("a.test", "user=alice&role=admin")
    assert br.page("a.test")            # the loader carries the login to B
    assert br.session("b.test") == {"user": "alice", "role": "admin"}
    br.page("b.test")
    return br


# ---------------------------------------------------------------------------
# A login spreads; unchanged pages carry no loader.

def test_login_spreads_then_unchanged_pages_send_nothing(site, key):
    br = logged_in_everywhere(site)
    assert br.outcomes == [("b.test", "replaced", "-")]
    # both sites hold the same generation, and it verifies
    assert assert_verifies(key, br, "a.test") == assert_verifies(key, br, "b.test")
    # forty pages without a change, on A and on B: no loader at all
    for i in range(40):
        assert br.page("a.test" if i % 2 else "b.test") == [], i
    assert br.outcomes == [("b.test", "replaced", "-")]


def test_the_sent_cookie(site):
    """What A remembers: the generation it sent, in a cookie of its own."""
    br = SitesBrowser(site, run_loaders=False)
    br.change("a.test", "user=alice")
    r = request(site.port, "/p.html", host="a.test",
                headers=br._cookie_header("a.test"))
    sent = [c for c in r.header_all("Set-Cookie") if c.startswith("sssent=")]
    assert len(sent) == 1, r
    attrs = cookie_attrs(sent[0])
    assert attrs.get("max-age") == "600" and attrs.get("path") == "/", sent
    assert "httponly" in attrs and attrs.get("samesite") == "Lax", sent
    value = sent[0].split(";")[0].split("=", 1)[1]
    assert value == br.session("a.test", with_gen=True)[sstickets.GEN_ENTRY]


# ---------------------------------------------------------------------------
# Changes follow, both ways.

def test_a_change_on_a_reaches_b_after_one_page(site, key):
    br = logged_in_everywhere(site)
    br.change("a.test", "cart=3")
    assert br.page("a.test")
    assert br.session("b.test") == {"user": "alice", "role": "admin", "cart": "3"}
    assert br.outcomes[-1] == ("b.test", "replaced", "-")
    # B got A's generation: nothing goes back
    assert br.page("b.test") == []
    assert br.page("a.test") == []


def test_a_change_on_b_reaches_a(site):
    br = logged_in_everywhere(site)
    br.change("b.test", "role=viewer")
    assert br.page("b.test")
    assert br.session("a.test") == {"user": "alice", "role": "viewer"}
    assert br.page("a.test") == []


def test_alternating_changes_converge(site):
    """Two sites changing in turn: each change wins once, nothing bounces."""
    br = logged_in_everywhere(site)
    for i in range(4):
        host = "a.test" if i % 2 == 0 else "b.test"
        br.change(host, f"step={i}")
        assert br.page(host), i
        other = "b.test" if host == "a.test" else "a.test"
        assert br.session(other)["step"] == str(i), i
        assert br.page(other) == [], i
        assert br.page(host) == [], i
    assert br.session("a.test") == br.session("b.test")
    assert [o[1] for o in br.outcomes] == ["replaced"] * 5


# ---------------------------------------------------------------------------
# A logout spreads and is never undone.

def test_logout_on_a_logs_b_out(site, key):
    br = logged_in_everywhere(site)
    br.change("a.test", "user=&role=")
    # A keeps a tombstone: no entry an application sees, a newer generation
    a = br.session("a.test", with_gen=True)
    assert set(a) == {sstickets.GEN_ENTRY} and sstickets.gen_verifies(key, a), a
    assert br.page("a.test")            # the tombstone travels
    assert br.session("b.test") == {}
    assert br.outcomes[-1] == ("b.test", "replaced", "-")
    # visiting B afterwards: no loader, A stays logged out
    assert br.page("b.test") == []
    assert br.session("a.test") == {}
    # and the seed's undoing: B's copy sent to A by hand is refused
    for _ in range(3):
        br.page("b.test")
        br.page("a.test")
    assert br.session("a.test") == {} and br.session("b.test") == {}


def test_ticket_from_before_the_logout_never_revives_it(site, tool, keys):
    """A ticket minted on B while logged in, used on A after the logout on A:
    kept, A stays logged out."""
    br = logged_in_everywhere(site)
    # B's page would have carried this: B's session with its generation
    b_session = br.session("b.test", with_gen=True)
    old = tool.mint(keys["key1"], "b.test", "a.test",
                    session=urllib.parse.urlencode(b_session))
    br.change("a.test", "user=&role=")
    assert br.page("a.test")
    r = br.loader("a.test", f"/shared-session/{old}.js", "b.test")
    assert br.outcomes[-1] == ("a.test", "kept", "-"), br.outcomes
    assert r.header_all("Set-Cookie") == [] or \
        all(not c.startswith("asess=") for c in r.header_all("Set-Cookie")), r
    assert br.session("a.test") == {}


def test_empty_session_sends_nothing(site):
    """No session and never a login: no loader, no generation, no cookie."""
    br = SitesBrowser(site)
    r = request(site.port, "/p.html", host="a.test")
    assert r.header_all("Set-Cookie") == [] and b"<script" not in r.body, r
    assert br.page("a.test") == []


# ---------------------------------------------------------------------------
# Generations that do not verify count as none.

def test_forged_and_far_future_generations_lose(site, tool, keys, key):
    br = logged_in_everywhere(site)
    held = br.session("b.test")
    future = int(time.time() * 1e6) + 3600 * 10**6
    forged = {"user": "mallory", sstickets.GEN_ENTRY: f"{future}.{'0' * 32}"}
    # a D made with the right key, but T an hour after the ticket's iat
    ahead = {"user": "mallory",
             sstickets.GEN_ENTRY: sstickets.gen_text(key, future, {"user": "mallory"})}
    for session in (forged, ahead):
        t = tool.mint(keys["key1"], "a.test", "b.test",
                      session=urllib.parse.urlencode(session))
        br.loader("b.test", f"/shared-session/{t}.js", "a.test")
        assert br.outcomes[-1] == ("b.test", "kept", "-"), br.outcomes
        assert br.session("b.test") == held


def test_newer_generation_from_another_key_holder_wins(site, tool, keys, key):
    """A site that is not Apache, holding the key, makes its own generation."""
    br = logged_in_everywhere(site)
    now = int(time.time() * 1e6)
    entries = {"user": "bob"}
    session = dict(entries, **{sstickets.GEN_ENTRY: sstickets.gen_text(key, now, entries)})
    t = tool.mint(keys["key1"], "a.test", "b.test", session=urllib.parse.urlencode(session))
    br.loader("b.test", f"/shared-session/{t}.js", "a.test")
    assert br.outcomes[-1] == ("b.test", "replaced", "-")
    assert br.session("b.test", with_gen=True) == session


def test_stamp_is_after_a_loaded_generation_ahead_of_the_clock(site, key):
    """T = max(now, loaded + 1): a change made on a site whose clock is behind
    still makes a newer generation."""
    ahead = int(time.time() * 1e6) + 3 * 10**6
    entries = {"user": "alice"}
    value = urllib.parse.urlencode(
        dict(entries, **{sstickets.GEN_ENTRY: sstickets.gen_text(key, ahead, entries)}))
    br = SitesBrowser(site, run_loaders=False)
    br.set_cookie("a.test", f"asess={value}")
    br.change("a.test", "cart=1")
    t, _ = assert_verifies(key, br, "a.test")
    assert t == ahead + 1


# ---------------------------------------------------------------------------
# Resend 0, Local entries, Replace empty.

def test_resend_zero_sends_a_loader_on_every_page(httpd, module_so, keys):
    h = started(httpd, keys, "resend0", "SharedSessionResend 0")
    br = SitesBrowser(h)
    br.change("a.test", "user=alice")
    for i in range(5):
        assert len(br.page("a.test")) == 1, i
    assert [o[1] for o in br.outcomes] == ["replaced"] + ["kept"] * 4
    assert not any(c.startswith("sssent") for host in ("a.test", "b.test")
                   for c in br.cookies(host))


def test_local_entries_stay_on_their_site(httpd, module_so, keys):
    h = started(httpd, keys, "local", "SharedSessionLocal csrf")
    key = sstickets.key_from_file(keys["key1"])
    br = SitesBrowser(h)
    br.change("b.test", "csrf=b-token")
    br.change("a.test", "user=alice&csrf=a-token")
    assert br.page("a.test")
    # B took A's session and kept its own token; the token did not travel
    assert br.session("b.test") == {"user": "alice", "csrf": "b-token"}
    # a change of a local entry is no news
    br.page("b.test")
    br.change("a.test", "csrf=a-token-2")
    assert br.page("a.test") == []
    # a logout keeps the local entry beside the tombstone
    br.change("a.test", "user=")
    a = br.session("a.test", with_gen=True)
    assert a.get("csrf") == "a-token-2" and sstickets.gen_verifies(key, a, local=("csrf",)), a
    assert br.page("a.test")
    assert br.session("b.test") == {"csrf": "b-token"}


def test_replace_empty_keeps_a_session_that_has_entries(httpd, module_so, keys):
    h = started(httpd, keys, "replempty", "SharedSessionReplace empty")
    br = logged_in_everywhere(h)
    br.change("a.test", "cart=1")
    assert br.page("a.test")
    assert br.outcomes[-1] == ("b.test", "kept", "-")
    assert "cart" not in br.session("b.test")


# ---------------------------------------------------------------------------
# Navigation carries generations too: go with a tombstone logs B out.

def test_go_carries_a_logout(site):
    br = logged_in_everywhere(site)
    br.change("a.test", "user=&role=")
    hops = br.navigate("http://a.test/shared-session/go?to=http://b.test/page.txt")
    assert hops[-1][1].status == 200, hops
    assert br.session("b.test") == {}
    assert br.session("a.test") == {}


def test_an_expired_session_is_no_logout(site):
    """A session that expired on A (SessionMaxAge) is empty there, not a
    logout: nothing goes to B, which keeps the session it is using."""
    br = logged_in_everywhere(site)
    a = br.session("a.test", with_gen=True)
    past = int((time.time() - 60) * 1e6)
    br.set_cookie("a.test", "asess=" + urllib.parse.urlencode(dict(a, expiry=str(past))))
    assert br.session("a.test") == {}
    assert br.page("a.test") == []
    assert br.session("b.test") == {"user": "alice", "role": "admin"}
