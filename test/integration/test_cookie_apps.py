"""Cookie mode with real applications: a Django site (django.contrib.auth,
database sessions in SQLite) behind mod_proxy_http with gunicorn and inside
apache2 with mod_wsgi, and a PHP site with native file sessions through
php-fpm and mod_proxy_fcgi.  The applications contain no session-sharing
code; both sites of a setup read one session store, as the application's
servers for every domain do.

Each test logs in on A through the application's own form and checks what
B shows to the same (scripted) browser after A's loader or a go link.
"""

import re

import pytest

import pyhttpd
import ssapps
from ssapps import Visitor

A = "http://a.test"
B = "http://b.test"


@pytest.fixture(scope="module")
def django_dir(gen_dir):
    import os
    import tempfile
    d = tempfile.mkdtemp(prefix="django-", dir=gen_dir)
    os.chmod(d, 0o755)
    return ssapps.django_site(d)


@pytest.fixture(scope="module")
def gunicorn(django_dir):
    g = ssapps.gunicorn(django_dir)
    yield g
    g.stop()


@pytest.fixture(scope="module")
def fpm(gen_dir):
    import os
    import tempfile
    d = tempfile.mkdtemp(prefix="php-", dir=gen_dir)
    os.chmod(d, 0o755)
    docroot = ssapps.php_site(d)
    f = ssapps.php_fpm(d)
    f.docroot = docroot
    yield f
    f.stop()


class App:
    def __init__(self, name, cookie, login, home, logout, color):
        self.name = name
        self.cookie = cookie
        self.login = login
        self.home = home
        self.logout = logout
        self.color = color


DJANGO = dict(cookie="sessionid", login=ssapps.django_login, home="/",
              logout="/logout/", color="/color/?c=")
PHP = dict(cookie="PHPSESSID", login=ssapps.php_login, home="/",
           logout="/logout.php", color="/color.php?c=")


def backend(request, kind):
    """The running application server a setup needs."""
    return request.getfixturevalue({"django-proxy": "gunicorn", "django-wsgi": "django_dir",
                                   "php-fpm": "fpm"}[kind])


@pytest.fixture(params=["django-proxy", "django-wsgi", "php-fpm"])
def app(request, httpd, keys, module_so):
    """apache2 with sites a.test and b.test in cookie mode, in front of one
    of the applications; returns (h, App)."""
    h = httpd("cookie-" + request.param)
    ssapps.configure(h, request.param, keys["key1"], backend(request, request.param))
    h.start()
    spec = PHP if request.param == "php-fpm" else DJANGO
    return h, App(request.param, **spec)


def marker(v, host):
    return v.cookies(host).get("ssgen")


def test_login_on_a_is_seen_on_b_after_a_loader(app):
    h, a = app
    v = Visitor(h)
    # anonymous visits: the application gives a session of its own on
    # each site, older than the login that follows
    assert v.user(B + a.home) == "anonymous"
    r = v.get(A + a.home)
    assert "user: anonymous" in r.body.decode()
    before = v.cookies("a.test")[a.cookie]
    a.login(v, A)
    after = v.cookies("a.test")[a.cookie]
    assert after != before, "the application rotates its session key at a login"
    assert marker(v, "a.test"), "the login's Set-Cookie stamped a generation"

    r = v.get(A + a.home)
    assert "user: alice" in r.body.decode()
    loaders = v.loaders(r)
    assert len(loaders) == 1 and "//b.test" in loaders[0], r.body
    (res,) = v.run_loaders(A + a.home, r)
    assert res.status == 200
    e = h.access_entry(res)
    assert (e["result"], e["reason"], e["src"]) == ("replaced", "-", "a.test"), e
    # the key the login rotated to is the one that travelled
    assert v.cookies("b.test")[a.cookie] == after
    assert marker(v, "b.test") == marker(v, "a.test")
    assert v.user(B + a.home) == "alice"


def test_unchanged_cookie_resent_changes_no_generation(app):
    h, a = app
    v = Visitor(h)
    a.login(v, A)
    gen = marker(v, "a.test")
    for _ in range(3):
        r = v.get(A + a.home)
        assert r.status == 200
        assert not r.set_cookies("ssgen"), r
    assert marker(v, "a.test") == gen


def test_go_link_carries_the_session(app):
    h, a = app
    v = Visitor(h)
    a.login(v, A)
    r = v.get(f"{A}/shared-session/go?to=" + "http%3A%2F%2Fb.test%2F")
    assert r.status == 200
    assert v.last_url.startswith(B), v.last_url
    assert "user: alice" in r.body.decode()
    assert v.cookies("b.test")[a.cookie] == v.cookies("a.test")[a.cookie]


def test_change_on_a_is_seen_on_b(app):
    h, a = app
    v = Visitor(h)
    a.login(v, A)
    v.run_loaders(A + a.home, v.get(A + a.home))
    assert v.color(B + a.home) == "-"
    assert v.get(A + a.color + "red").status == 200
    v.run_loaders(A + a.home, v.get(A + a.home))
    assert v.color(B + a.home) == "red"


def test_logout_on_a_logs_out_b_and_b_never_logs_a_back_in(app):
    h, a = app
    v = Visitor(h)
    a.login(v, A)
    v.run_loaders(A + a.home, v.get(A + a.home))
    assert v.user(B + a.home) == "alice"
    logged_in_gen = marker(v, "a.test")

    r = v.request(A + a.logout)
    assert r.status in (302, 303), r
    deleted = [c for c in r.set_cookies(a.cookie)
               if pyhttpd.cookie_attrs(c).get("max-age") in ("0", "-1")
               or "1970" in c]
    assert deleted, r
    assert marker(v, "a.test") != logged_in_gen, "the logout stamped a tombstone"
    r = v.get(A + a.home, run_loaders=True)
    assert "user: anonymous" in r.body.decode()
    assert v.user(B + a.home) == "anonymous"
    # B's loaders go to A and keep it logged out
    rb = v.get(B + a.home)
    for res in v.run_loaders(B + a.home, rb):
        e = h.access_entry(res)
        assert e["result"] in ("kept", "replaced"), e
    assert v.user(A + a.home) == "anonymous"


def test_anonymous_visitor_without_cookie_gets_no_loader_and_go_passes_through(app):
    h, a = app
    v = Visitor(h)
    r = v.request(f"{A}/shared-session/go?to=http%3A%2F%2Fb.test%2F")
    assert r.status == 303
    assert r.header("Location") == "http://b.test/"


def test_a_mod_session_ticket_is_refused_with_kind(app, tool, keys):
    h, a = app
    v = Visitor(h)
    a.login(v, A)
    v.run_loaders(A + a.home, v.get(A + a.home))
    before = v.cookies("b.test")
    t = tool.mint(keys["key1"], "a.test", "b.test", session="user=mallory")
    r = v.request(f"{B}/shared-session/{t}.js", fetch_dest="script", referer="http://a.test/")
    assert r.status == 200
    assert not r.set_cookies(), r
    assert h.access_entry(r)["reason"] == "kind"
    assert v.cookies("b.test") == before
    assert v.user(B + a.home) == "alice"
