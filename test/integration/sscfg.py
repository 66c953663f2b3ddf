"""Configurations and a client for the receiving side.

A typical setup: one apache2, name-based virtual hosts a.test and b.test on
one loopback port, SharedSessionSites/KeyFile at server level (inherited),
B's session in a cookie "bsess" (or crypto, or SQLite through mod_dbd).
B has helper URLs:
  /page.txt      answers X-Session: the session as mod_session encodes it
                 (SessionEnv On + mod_headers), "(null)" when empty
  /cgi/set.cgi?Q sets B's session to Q through SessionHeader (a CGI), so a
                 test can give B a session without the module
"""

import glob
import os
import sqlite3
import time
import urllib.parse

import pyhttpd
import sstickets
from pyhttpd import cookie_pair

SET_CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\nX-Replace-Session: %s\\r\\n\\r\\nset\\n' "$QUERY_STRING"
"""

DBD_SQL = """\
    DBDriver sqlite3
    DBDParams "{db}"
    DBDMin 0
    DBDKeep 1
    DBDMax 4
    DBDExptime 30
    DBDPrepareSQL "delete from session where key = %s" deletesession
    DBDPrepareSQL "update session set value = %s, expiry = %lld, key = %s where key = %s" updatesession
    DBDPrepareSQL "insert into session (value, expiry, key) values (%s, %lld, %s)" insertsession
    DBDPrepareSQL "select value from session where key = %s and (expiry = 0 or expiry > %lld)" selectsession
    DBDPrepareSQL "delete from session where expiry != 0 and expiry < %lld" cleansession
"""

STORE_MODULES = {
    "cookie": ["session", "session_cookie"],
    "crypto": ["session", "session_cookie", "session_crypto"],
    "dbd": ["session", "session_cookie", "dbd", "session_dbd"],
}


def store_lines(store, cookie, attrs="path=/", passphrase="secret-one", db=None):
    if store == "cookie":
        return f"SessionCookieName {cookie} {attrs}"
    if store == "crypto":
        return (f"SessionCookieName {cookie} {attrs}\n"
                f"    SessionCryptoPassphrase {passphrase}")
    if store == "dbd":
        return f"SessionDBDCookieName {cookie} {attrs}\n" + DBD_SQL.format(db=db)
    raise ValueError(store)


def make_sqlite_db(path):
    """The table mod_session_dbd's default queries use, writable by the
    children (they run as www-data)."""
    if not glob.glob("/usr/lib/*/apr-util-1/apr_dbd_sqlite3*.so"):
        pyhttpd.fail_missing("APR's SQLite driver (apr_dbd_sqlite3)",
                             "libaprutil1-dbd-sqlite3")
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE session (key TEXT PRIMARY KEY, value TEXT, expiry INTEGER)")
    con.commit()
    con.close()
    pyhttpd.chown_run_user(path)
    os.chmod(path, 0o660)
    return path


def vhost(name, store="cookie", cookie="sess", attrs="path=/", extra="",
          passphrase="secret-one", db=None, maxage=None, port="{port}",
          aliases="", handler_path="/shared-session/"):
    maxage_line = f"SessionMaxAge {maxage}" if maxage is not None else ""
    alias_line = f"ServerAlias {aliases}" if aliases else ""
    return f"""
<VirtualHost 127.0.0.1:{port}>
    ServerName {name}
    {alias_line}
    Session On
    {store_lines(store, cookie, attrs, passphrase, db)}
    {maxage_line}
    SessionEnv On
    SessionHeader X-Replace-Session
    <Location /page.txt>
        Header always set X-Session "%{{HTTP_SESSION}}e"
    </Location>
    <Directory "{{htdocs}}/cgi">
        Options +ExecCGI
        SetHandler cgi-script
    </Directory>
    <Location {handler_path}>
        SetHandler shared-session
    </Location>
    {extra}
</VirtualHost>
"""


def prepare_docroot(h):
    h.write_file("htdocs/page.txt", "page\n")
    h.write_file("htdocs/index.html", "<html><head></head><body>B</body></html>\n")
    h.write_file("htdocs/cgi/set.cgi", SET_CGI, mode=0o755)


def two_sites(h, key, store="cookie", server_extra="", a_extra="", b_extra="",
              b_maxage=None, b_attrs="path=/", sites="http://a.test http://b.test",
              extra_vhosts="", modules=(), b_db=None):
    """Writes the config of the typical two-site setup and returns the
    modules it needs (already written)."""
    prepare_docroot(h)
    mods = list(STORE_MODULES[store]) + ["cgi"] + list(modules)
    snippet = f"""
SharedSessionSites {sites}
SharedSessionKeyFile {key}
{server_extra}
{vhost("a.test", cookie="asess", extra=a_extra)}
{vhost("b.test", store=store, cookie="bsess", attrs=b_attrs, extra=b_extra,
       db=b_db, maxage=b_maxage, aliases="*.b.test")}
{extra_vhosts}
"""
    h.write_config(snippet, modules=mods)
    return mods


GEN = "shared-session-gen"


def parse_session(value, with_gen=False):
    """X-Session header value -> dict (without mod_session's expiry, and
    without the session's generation unless with_gen)."""
    if value in (None, "", "(null)"):
        return {}
    d = dict(urllib.parse.parse_qsl(value, keep_blank_values=True))
    d.pop("expiry", None)
    if not with_gen:
        d.pop(GEN, None)
    return d


class Client:
    """Talks to one site of an Httpd as a browser would (cookies by hand)."""

    def __init__(self, h, tool, key, host="b.test", src="a.test", cookie="bsess",
                 port=None, path="/shared-session/"):
        self.h = h
        self.tool = tool
        self.key = key
        self.host = host
        self.src = src
        self.cookie = cookie
        self.port = port or h.port
        self.path = path
        self.secure = False
        # navigation tickets minted here and the state cookie each is bound
        # to: the browser that started the flow holds that cookie
        self.states = {}

    @property
    def host_header(self):
        return f"{self.host}:{self.port}" if ":" not in self.host else self.host

    def referer(self, host=None):
        """A page of the source site as a browser names it: scheme, host and
        the port of its entry (a site id has the port when the entry names
        one; otherwise the scheme's default, which a URL leaves out)."""
        return f"http://{host or self.src}/page"

    def mint(self, session="user=alice", src=None, dst=None, nav=None, iat=None,
             key=None, bound=True, to=None):
        """A ticket; a navigation ticket is bound to a new state cookie of
        this client (carrying `to` when given) unless bound is False (a
        version-1 ticket, as sites before the state binding sent)."""
        if nav is None or not bound:
            return self.tool.mint(key or self.key, src or self.src, dst or self.host,
                                  session=session, nav=nav, iat=iat)
        text = sstickets.state_text(to=to)
        t = sstickets.seal(sstickets.key_from_file(key or self.key), src or self.src,
                           dst or self.host,
                           session, sstickets.MODE_NAVIGATION, nav, iat=iat,
                           state=sstickets.state_of(text))
        self.states[t] = text
        return t

    def state_cookie(self, ticket):
        """'name=text' of the state cookie a bound ticket belongs to."""
        return sstickets.state_cookie(self.states[ticket], self.secure)

    def _headers(self, cookie=None, referer=True, origin=None, extra=(), state=None):
        hs = []
        if state:
            cookie = f"{cookie}; {state}" if cookie else state
        if referer is True:
            hs.append(("Referer", self.referer()))
        elif referer:
            hs.append(("Referer", referer))
        if origin:
            hs.append(("Origin", origin))
        if cookie:
            hs.append(("Cookie", cookie))
        hs.extend(extra)
        return hs

    def script(self, ticket, cookie=None, referer=True, origin=None, host=None,
               method="GET", extra=()):
        return pyhttpd.request(self.port, f"{self.path}{ticket}.js",
                               host=host or self.host_header, method=method,
                               headers=self._headers(cookie, referer, origin, extra))

    def navigate(self, ticket, cookie=None, referer=True, origin=None, host=None,
                 extra=(), state=True):
        """B's ticket URL; the state cookie the ticket is bound to rides
        along (state True), or the 'name=text' given, or none (False)."""
        if state is True:
            state = self.state_cookie(ticket) if ticket in self.states else None
        return pyhttpd.request(self.port, f"{self.path}{ticket}",
                               host=host or self.host_header,
                               headers=self._headers(cookie, referer, origin, extra, state))

    def page(self, cookie, with_gen=False):
        """B's session as seen by the next request with this cookie."""
        r = pyhttpd.request(self.port, "/page.txt", host=self.host_header,
                            headers=[("Cookie", cookie)] if cookie else [])
        assert r.status == 200, r
        return parse_session(r.header("X-Session"), with_gen)

    def set_session(self, query, cookie=None):
        """Gives this site a session (through mod_session's SessionHeader);
        returns the 'name=value' cookie to send from now on."""
        r = pyhttpd.request(self.port, f"/cgi/set.cgi?{query}", host=self.host_header,
                            headers=[("Cookie", cookie)] if cookie else [])
        assert r.status == 200, r
        # (mod_session_dbd sends its cookie twice, identical)
        sc = sorted(set(r.set_cookies(self.cookie)))
        assert len(sc) == 1, r
        return cookie_pair(sc[0])


def wait_until(pred, timeout=3.0):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(0.02)


class Browser:
    """A scripted browser for the navigation flow: follows redirects across
    the test's host names (all served on one loopback port, as Chromium's
    --host-resolver-rules maps them), keeps cookies per host (Max-Age=0
    deletes), and sends Sec-Fetch-Dest: document on every navigation."""

    def __init__(self, h, port=None):
        self.h = h
        self.port = port or h.port
        self.jar = {}           # host -> {name: value}

    def set_cookie(self, host, pair):
        name, _, value = pair.partition("=")
        self.jar.setdefault(host, {})[name.strip()] = value.strip()

    def cookies(self, host):
        return dict(self.jar.get(host, {}))

    def _store(self, host, resp):
        for sc in resp.header_all("Set-Cookie"):
            name, _, value = sc.split(";")[0].partition("=")
            attrs = pyhttpd.cookie_attrs(sc)
            if attrs.get("max-age") == "0":
                self.jar.get(host, {}).pop(name.strip(), None)
            else:
                self.jar.setdefault(host, {})[name.strip()] = value.strip()

    def navigate(self, url, max_hops=8, fetch_dest="document", stop_after=None):
        """GETs url and follows 303s; returns [(url, response), ...] (after
        stop_after requests at the latest)."""
        hops = []
        for _ in range(stop_after or max_hops):
            u = urllib.parse.urlsplit(url)
            host = u.hostname
            path = (u.path or "/") + (f"?{u.query}" if u.query else "")
            jar = self.jar.get(host, {})
            hs = [("Cookie", "; ".join(f"{k}={v}" for k, v in jar.items()))] if jar else []
            if fetch_dest:
                hs.append(("Sec-Fetch-Dest", fetch_dest))
            r = pyhttpd.request(self.port, path, host=u.netloc, headers=hs)
            self._store(host, r)
            hops.append((url, r))
            if r.status not in (301, 302, 303, 307, 308) or len(hops) == stop_after:
                return hops
            url = urllib.parse.urljoin(url, r.header("Location"))
        raise AssertionError(f"more than {max_hops} redirects: {[h[0] for h in hops]}")
