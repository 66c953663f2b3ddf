"""Cookie mode (SharedSessionCookie) with a static site and a CGI standing in
for the application: configtest, the marker cookie and its generation,
what the loader and go carry, and the receiving side's answers to hostile
tickets.  Real applications: test_cookie_apps.py."""

import time
import urllib.parse

import pytest

import pyhttpd
import sstickets
from ssapps import MODULE_LOCATIONS, Visitor

A = "http://a.test"
B = "http://b.test"

SET_CGI = """#!/bin/sh
# sets (or deletes, with ?delete) the application's cookie from a CGI: its
# headers land in err_headers_out
if [ "$QUERY_STRING" = delete ]; then
  printf 'Set-Cookie: sessionid=deleted; Max-Age=0; Path=/\\r\\n'
else
  printf 'Set-Cookie: %s; Path=/; HttpOnly\\r\\n' "$QUERY_STRING"
fi
printf 'Content-Type: text/html\\r\\n\\r\\n<html><head></head><body>set</body></html>\\n'
"""

PAGE = "<html><head><title>p</title></head><body>page</body></html>\n"


def cookie_gen(keyfile, t, pairs):
    """T.D of pairs (name -> value) under the key file's generation key."""
    return sstickets.gen_text(sstickets.key_from_file(keyfile), t, pairs)


def now_us(offset=0.0):
    return int((time.time() + offset) * 1_000_000)


def payload(pairs, gen=None):
    items = list(pairs.items()) + ([("shared-session-gen", gen)] if gen else [])
    return "&".join(f"{urllib.parse.quote_plus(k, safe='.-*_')}="
                    f"{urllib.parse.quote_plus(v, safe='.-*_')}" for k, v in items)


def cookie_ticket(keyfile, session, src="a.test", dst="b.test"):
    return sstickets.seal(sstickets.key_from_file(keyfile), src, dst, session,
                          sstickets.MODE_SCRIPT | sstickets.MODE_COOKIE_PAIRS)


def vhost(name, extra=""):
    return f"""
<VirtualHost 127.0.0.1:{{port}}>
    ServerName {name}
    <Directory "{{htdocs}}/cgi">
        Options +ExecCGI
        SetHandler cgi-script
    </Directory>
{MODULE_LOCATIONS}    {extra}
</VirtualHost>
"""


def write_sites(h, key, cookie_line="SharedSessionCookie sessionid", extra="",
                base_modules=None, resend="SharedSessionResend 0"):
    h.write_file("htdocs/index.html", PAGE)
    h.write_file("htdocs/cgi/set.cgi", SET_CGI, mode=0o755)
    h.write_config(f"""
SharedSessionSites http://a.test http://b.test
SharedSessionKeyFile {key}
{cookie_line}
{resend}
{extra}
{vhost("a.test")}
{vhost("b.test")}
""", modules=["cgi"], base_modules=base_modules)


@pytest.fixture
def sites(httpd, keys, module_so):
    h = httpd("cookie")
    write_sites(h, keys["key1"])
    h.start()
    return h


# ---------------------------------------------------------------------------
# configtest

NO_SESSION = ["mpm_event", "authz_core", "mime", "headers", "socache_shmcb"]


@pytest.mark.parametrize("line,why", [
    ("SharedSessionCookie 'sess;id'", "is not a cookie name"),
    ("SharedSessionCookie ssgen", "keeps itself"),
    ("SharedSessionCookie __Host-ssgen", "keeps itself"),
    ("SharedSessionCookie shared-session-gen", "keeps itself"),
    ('SharedSessionCookie sessionid "Path=/, Secure"', "',' outside an Expires"),
    ('SharedSessionCookie sessionid "Path=/;\tSecure"', "control character"),
    ('SharedSessionCookie sessionid "SameSite=Sometimes"', "SameSite"),
    ('SharedSessionCookie sessionid "Max-Age=2w"', "Max-Age"),
    ("SharedSessionCookie sessionid\nSharedSessionCookie sessionid", "listed twice"),
])
def test_configtest_refuses_bad_names_and_attributes(httpd, keys, module_so, line, why):
    h = httpd("cookie-conf")
    write_sites(h, keys["key1"], cookie_line=line)
    rc, out = h.configtest()
    assert rc != 0, out
    assert "SharedSessionCookie" in out and why in out, out


def test_configtest_refuses_a_domain_of_no_site(httpd, keys, module_so):
    h = httpd("cookie-conf")
    write_sites(h, keys["key1"],
                cookie_line='SharedSessionCookie sessionid "Path=/; Domain=example.com"')
    rc, out = h.configtest()
    assert rc != 0, out
    assert "MSS00120" in out and "Domain=example.com" in out, out
    write_sites(h, keys["key1"],
                cookie_line='SharedSessionCookie sessionid "Path=/; Domain=b.test"')
    rc, out = h.configtest()
    assert rc == 0, out


def test_cookie_mode_needs_no_mod_session(httpd, keys, module_so):
    h = httpd("cookie-nosession")
    write_sites(h, keys["key1"], base_modules=NO_SESSION)
    rc, out = h.configtest()
    assert rc == 0 and "MSS00020" not in out, out
    h.start()
    v = Visitor(h)
    v.get(A + "/cgi/set.cgi?sessionid=k1")
    r = v.get(A + "/index.html")
    assert len(v.loaders(r)) == 1
    v.run_loaders(A + "/index.html", r)
    assert v.cookies("b.test")["sessionid"] == "k1"


def test_a_site_sharing_mod_sessions_session_still_needs_it(httpd, keys, module_so):
    h = httpd("cookie-nosession")
    write_sites(h, keys["key1"], cookie_line="", base_modules=NO_SESSION,
                extra=f"<VirtualHost 127.0.0.1:{{port}}>\n ServerName c.test\n"
                      f" SharedSessionCookie sessionid\n</VirtualHost>")
    rc, out = h.configtest()
    assert rc != 0 and "MSS00020" in out, out


def test_configtest_warns_when_proxypass_takes_the_handler_path(httpd, keys, module_so):
    h = httpd("cookie-proxy")
    backend = "ProxyPass / http://127.0.0.1:9/"
    write_sites(h, keys["key1"], extra=backend)
    h.write_config(h.conf.read_text().split("LoadModule shared_session_module")[1]
                   .split("\n", 1)[1], modules=["cgi", "proxy", "proxy_http"])
    rc, out = h.configtest()
    assert rc == 0, out
    assert "MSS00121" in out and "ProxyPass / !" not in out \
        and "ProxyPass /shared-session/ !" in out, out
    write_sites(h, keys["key1"], extra="ProxyPass /shared-session/ !\n" + backend)
    h.write_config(h.conf.read_text().split("LoadModule shared_session_module")[1]
                   .split("\n", 1)[1], modules=["cgi", "proxy", "proxy_http"])
    rc, out = h.configtest()
    assert rc == 0 and "MSS00121" not in out, out


# ---------------------------------------------------------------------------
# the marker and what travels

def test_a_set_cookie_stamps_the_marker_and_the_loader_carries_it(sites, keys):
    h = sites
    v = Visitor(h)
    r = v.get(A + "/index.html")
    assert not v.loaders(r), "no cookie and no generation: no loader"
    r = v.get(A + "/cgi/set.cgi?sessionid=k1")
    (marker,) = r.set_cookies("ssgen")
    attrs = pyhttpd.cookie_attrs(marker)
    assert attrs["path"] == "/" and "httponly" in attrs and attrs["samesite"] == "Lax"
    gen = v.cookies("a.test")["ssgen"]
    t = int(gen.split(".")[0])
    assert abs(t - now_us()) < 5_000_000
    assert gen == cookie_gen(keys["key1"], t, {"sessionid": "k1"})
    # the very page that set it carries it
    (src,) = v.loaders(r)
    ticket = src.rsplit("/", 1)[1][:-3]
    opened = sstickets.open_(sstickets.key_from_file(keys["key1"]), "b.test", ticket)
    assert opened["mode"] == sstickets.MODE_SCRIPT | sstickets.MODE_COOKIE_PAIRS, opened
    assert opened["session"] == f"sessionid=k1&shared-session-gen={gen}", opened
    # the same value again changes nothing; a new value is a new generation
    r = v.get(A + "/cgi/set.cgi?sessionid=k1")
    assert not r.set_cookies("ssgen")
    r = v.get(A + "/cgi/set.cgi?sessionid=k2")
    assert v.cookies("a.test")["ssgen"] != gen
    assert int(v.cookies("a.test")["ssgen"].split(".")[0]) > t


def test_a_deletion_is_a_tombstone_that_logs_b_out(sites, keys):
    h = sites
    v = Visitor(h)
    v.get(A + "/cgi/set.cgi?sessionid=k1", run_loaders=True)
    assert v.cookies("b.test")["sessionid"] == "k1"
    r = v.get(A + "/cgi/set.cgi?delete")
    assert "sessionid" not in v.cookies("a.test")
    gen = v.cookies("a.test")["ssgen"]
    t = int(gen.split(".")[0])
    assert gen == cookie_gen(keys["key1"], t, {}), "a tombstone over no cookie"
    (src,) = v.loaders(r)
    res = v.run_loaders(A + "/index.html", r)[0]
    assert h.access_entry(res)["result"] == "replaced"
    deleted = res.set_cookies("sessionid")
    assert deleted and pyhttpd.cookie_attrs(deleted[0])["max-age"] == "0", res
    assert "sessionid" not in v.cookies("b.test")
    assert v.cookies("b.test")["ssgen"] == gen
    # B's loaders now carry the tombstone back: A stays logged out
    r = v.get(B + "/index.html")
    for res in v.run_loaders(B + "/index.html", r):
        assert h.access_entry(res)["result"] == "kept"
    assert "sessionid" not in v.cookies("a.test")


def test_values_without_a_matching_marker_have_no_generation(sites, keys):
    """A cookie planted without the marker (or with another one) travels
    without a generation: a site with a session keeps its own."""
    h = sites
    v = Visitor(h)
    v.get(B + "/cgi/set.cgi?sessionid=mine")
    b_before = v.cookies("b.test")
    v.jar["a.test"] = {"sessionid": "planted",
                       "ssgen": b_before["ssgen"]}     # a marker of other values
    r = v.get(A + "/index.html")
    (res,) = v.run_loaders(A + "/index.html", r)
    e = h.access_entry(res)
    assert (e["result"], e["reason"]) == ("kept", "-"), e
    assert not res.set_cookies()
    assert v.cookies("b.test") == b_before


def test_the_loader_only_when_there_is_news(httpd, keys, module_so):
    """With SharedSessionResend (default 600 s) a page whose cookies were
    already sent, or just received, gets no loader; a change gets one."""
    h = httpd("cookie-resend")
    write_sites(h, keys["key1"], resend="")
    h.start()
    v = Visitor(h)
    r = v.get(A + "/cgi/set.cgi?sessionid=k1")
    assert len(v.loaders(r)) == 1
    assert v.cookies("a.test")["sssent"] == v.cookies("a.test")["ssgen"]
    v.run_loaders(A + "/index.html", r)
    for _ in range(3):
        assert not v.loaders(v.get(A + "/index.html"))
    # what B received is no news for B: no loader sends it back
    assert v.cookies("b.test")["sssent"] == v.cookies("b.test")["ssgen"]
    assert not v.loaders(v.get(B + "/index.html"))
    r = v.get(A + "/cgi/set.cgi?sessionid=k2")
    assert len(v.loaders(r)) == 1
    v.run_loaders(A + "/index.html", r)
    assert v.cookies("b.test")["sessionid"] == "k2"


def test_two_cookies_of_one_listed_name_are_no_session(sites):
    h = sites
    r = pyhttpd.request(h.port, "/index.html", host="a.test",
                        headers=[("Cookie", "sessionid=a; sessionid=b")])
    assert r.status == 200 and b"/shared-session/" not in r.body
    r = pyhttpd.request(h.port, "/shared-session/go?to=http%3A%2F%2Fb.test%2Fx", host="a.test",
                        headers=[("Cookie", "sessionid=a; sessionid=b")])
    assert r.status == 303 and r.header("Location") == "http://b.test/x"


def test_go_carries_the_cookies(sites):
    h = sites
    v = Visitor(h)
    v.get(A + "/cgi/set.cgi?sessionid=k1")
    r = v.get(A + "/shared-session/go?to=http%3A%2F%2Fb.test%2Findex.html")
    assert r.status == 200 and v.last_url == B + "/index.html"
    assert v.cookies("b.test")["sessionid"] == "k1"
    assert v.cookies("b.test")["ssgen"] == v.cookies("a.test")["ssgen"]


def test_a_link_from_a_pulls_the_cookies_on_arrival(sites):
    """A plain link from a page of A to B: B sends the visitor through its
    start, A's go carries the cookies, the visitor lands on the page."""
    h = sites
    v = Visitor(h)
    v.get(A + "/cgi/set.cgi?sessionid=k1")
    url = B + "/index.html"
    hops = []
    headers = [("Referer", "http://a.test/index.html"), ("Sec-Fetch-Site", "cross-site")]
    for _ in range(8):
        r = v.request(url, headers=headers)
        hops.append((url, r.status))
        if r.status != 303:
            break
        url = urllib.parse.urljoin(url, r.header("Location"))
        headers = [("Sec-Fetch-Site", "cross-site")]
    assert r.status == 200 and url == B + "/index.html", hops
    assert any("/shared-session/start?" in u for u, _ in hops), hops
    assert v.cookies("b.test")["sessionid"] == "k1"
    assert v.cookies("b.test")["ssgen"] == v.cookies("a.test")["ssgen"]


def test_received_cookies_have_the_configured_attributes(httpd, keys, module_so):
    h = httpd("cookie-attrs")
    write_sites(h, keys["key1"], cookie_line='SharedSessionCookie sessionid '
                '"Path=/; Domain=b.test; HttpOnly; SameSite=Strict; Max-Age=600"\n'
                'SharedSessionCookie other')
    h.start()
    t = now_us()
    gen = cookie_gen(keys["key1"], t, {"sessionid": "k1"})
    ticket = cookie_ticket(keys["key1"], payload({"sessionid": "k1"}, gen))
    r = pyhttpd.request(h.port, f"/shared-session/{ticket}.js", host="b.test",
                        headers=[("Referer", "http://a.test/")])
    assert h.access_entry(r)["result"] == "replaced"
    sc = r.header_all("Set-Cookie")
    assert "sessionid=k1; Path=/; Domain=b.test; HttpOnly; SameSite=Strict; Max-Age=600" in sc
    assert ("other=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; "
            "SameSite=Lax; HttpOnly") in sc
    assert (f"ssgen={gen}; Path=/; Max-Age=600; HttpOnly; SameSite=Strict") in sc
    assert len(sc) == 3, sc


# ---------------------------------------------------------------------------
# hostile tickets: the documented answer, no Set-Cookie, B unchanged, the
# next request served

HOSTILE = {
    "semicolon": "k1; Domain=evil.test",
    "comma": "k1,other=x",
    "space": "k1 x",
    "quotes": '"k1"',
    "crlf": "k1\r\nSet-Cookie: evil=1",
    "backslash": "k1\\x",
    "big": "k" * 4090,
}


@pytest.fixture
def b_logged_in(sites, keys):
    v = Visitor(sites)
    v.get(B + "/cgi/set.cgi?sessionid=good")
    return v


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_values_are_malformed(sites, keys, b_logged_in, name):
    h, v = sites, b_logged_in
    before = v.cookies("b.test")
    value = HOSTILE[name]
    gen = cookie_gen(keys["key1"], now_us(1), {"sessionid": value})
    ticket = cookie_ticket(keys["key1"], payload({"sessionid": value}, gen))
    r = v.request(f"{B}/shared-session/{ticket}.js", fetch_dest="script",
                  referer="http://a.test/")
    assert r.status == 200 and r.body == b""
    assert not r.set_cookies(), r
    e = h.access_entry(r)
    assert (e["result"], e["reason"]) == ("rejected", "malformed"), e
    assert h.wait_error_log(r"MSS01120")
    assert v.cookies("b.test") == before
    r = v.get(B + "/index.html")
    assert r.status == 200 and not r.set_cookies()


def test_a_nul_byte_is_malformed(sites, keys, b_logged_in):
    h, v = sites, b_logged_in
    before = v.cookies("b.test")
    ticket = cookie_ticket(keys["key1"], "sessionid=k%00x&shared-session-gen="
                           + cookie_gen(keys["key1"], now_us(1), {"sessionid": "kx"}))
    r = v.request(f"{B}/shared-session/{ticket}.js", fetch_dest="script",
                  referer="http://a.test/")
    assert (h.access_entry(r)["reason"], r.set_cookies()) == ("malformed", [])
    assert v.cookies("b.test") == before


def test_a_name_not_listed_is_ignored(sites, keys, b_logged_in):
    h, v = sites, b_logged_in
    before = v.cookies("b.test")
    pairs = {"admin": "1"}
    ticket = cookie_ticket(keys["key1"], payload(pairs, cookie_gen(keys["key1"], now_us(1),
                                                                   pairs)))
    r = v.request(f"{B}/shared-session/{ticket}.js", fetch_dest="script",
                  referer="http://a.test/")
    e = h.access_entry(r)
    assert (e["result"], e["reason"]) == ("kept", "-"), e
    assert not r.set_cookies()
    assert v.cookies("b.test") == before
    assert v.get(B + "/index.html").status == 200


def test_a_mod_session_ticket_at_a_cookie_site_is_kind(sites, keys, tool, b_logged_in):
    h, v = sites, b_logged_in
    before = v.cookies("b.test")
    t = tool.mint(keys["key1"], "a.test", "b.test", session="sessionid=evil")
    r = v.request(f"{B}/shared-session/{t}.js", fetch_dest="script", referer="http://a.test/")
    assert (h.access_entry(r)["reason"], r.set_cookies()) == ("kind", [])
    assert v.cookies("b.test") == before


def test_a_cookie_ticket_at_a_mod_session_site_is_kind(httpd, keys, tool, module_so):
    import sscfg
    h = httpd("session-site")
    sscfg.two_sites(h, keys["key1"])
    h.start()
    c = sscfg.Client(h, tool, keys["key1"])
    cookie = c.set_session("user=bob")
    t = tool.run("mint", "--key", keys["key1"], "--src", "a.test", "--dst", "b.test",
                 "--cookie", "sessionid=k1", check=True).stdout.strip()
    r = c.script(t, cookie=cookie)
    assert (h.access_entry(r)["reason"], r.set_cookies()) == ("kind", [])
    assert c.page(cookie) == {"user": "bob"}


def test_inspect_names_the_payload_kind(tool, keys):
    t = tool.run("mint", "--key", keys["key1"], "--src", "a.test", "--dst", "b.test",
                 "--cookie", "sessionid=k1", check=True).stdout.strip()
    out = tool.inspect(keys["key1"], "b.test", t).stdout
    assert "payload: cookie pairs" in out, out
    t = tool.mint(keys["key1"], "a.test", "b.test")
    assert "payload: session entries" in tool.inspect(keys["key1"], "b.test", t).stdout
