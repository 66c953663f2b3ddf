"""Exact hosts: tickets, loaders and `go` act only on a SharedSessionSites
entry's own host.  A subdomain that belongs to an entry (shop.a.test to
a.test) is named in log lines, and nothing more: whoever runs a subdomain
of a site must never receive a ticket, and a page there gets no loader.
The Referer/Origin of a script ticket must carry the source entry's very
scheme, host and port (the scheme's default when the entry names none).

Sites: https://a.test (served over plain http on the test port: the module
reads the scheme from the entry) and http://b.test, name-based virtual hosts
with the aliases shop.a.test and *.b.test.  The user's session on A is the
cookie "session=user=alice"."""

import re
import urllib.parse

import pytest

import sscfg
from filterdata import loader
from pyhttpd import Httpd, request
from sscfg import Client

ALICE = "session=user=alice"
PAGE = "<!DOCTYPE html>\n<html><head><title>t</title>@@</head><body><p>x</p></body></html>\n"
FILTER_ON_F = """
    <Location /f/>
        SetOutputFilter SHARED_SESSION
    </Location>
"""
SCRIPT = [("Sec-Fetch-Dest", "script")]
# a ticket is long base64url text; nothing like it may leave a refusal
TICKET_LIKE = re.compile(rb"[A-Za-z0-9_-]{40,}")


@pytest.fixture(scope="module")
def site(gen_dir, module_so, keys):
    h = Httpd("exact-hosts", base_dir=gen_dir)
    sscfg.prepare_docroot(h)
    h.write_file("htdocs/f/page.html", loader.served(PAGE))
    snippet = f"""
SharedSessionSites https://a.test http://b.test
SharedSessionKeyFile {keys["key1"]}
{sscfg.vhost("a.test", cookie="session", aliases="shop.a.test", extra=FILTER_ON_F)}
{sscfg.vhost("b.test", cookie="bsess", aliases="*.b.test")}
"""
    h.write_config(snippet, modules=["cgi"])
    h.start()
    yield h
    h.stop()
    h.check_log()


@pytest.fixture
def b(site, tool, keys):
    """B's side: script tickets from a.test, sent as a browser would."""
    return Client(site, tool, keys["key1"], host="b.test", src="a.test", cookie="bsess")


def go(h, to, host="a.test"):
    path = "/shared-session/go?to=" + urllib.parse.quote(to, safe="")
    return request(h.port, path, host=host, headers=[("Cookie", ALICE)])


def assert_no_ticket_leaves(r):
    """A refusal: 400, one line of text, no redirect, no cookie, nothing
    that could be a ticket."""
    assert r.status == 400, r
    assert r.header("Location") is None, r
    assert r.header_all("Set-Cookie") == [], r
    assert r.body.endswith(b"\n") and r.body.count(b"\n") == 1, r
    assert not TICKET_LIKE.search(r.body), r


# ---------------------------------------------------------------------------
# go: tickets only for a target entry's own host.

def test_go_to_the_target_itself_leaves_for_it(site):
    """The control: to= on b.test itself sends the user to b.test."""
    r = go(site, "http://b.test/x")
    assert r.status == 303, r
    assert urllib.parse.urlsplit(r.header("Location")).hostname == "b.test", r


@pytest.mark.parametrize("to", [
    "https://evil.b.test/x",
    "http://evil.b.test/x",
    "https://EVIL.B.TEST./x?y=1",
    "http://a.b.b.test:80/",
    "http://www.b.test/",
])
def test_go_to_a_subdomain_of_a_target_is_refused(site, to):
    r = go(site, to)
    assert_no_ticket_leaves(r)
    # the reason names neither the host nor the list of sites
    assert r.body == b"shared-session: to= is not a page of another site that shares sessions\n", r
    assert b"b.test" not in r.body.lower(), r
    assert site.wait_error_log(r"MSS01020: go refused: to= is not a page of another site")


def test_go_on_a_subdomain_of_the_current_site_is_refused(site):
    """shop.a.test belongs to a.test, but go works on a.test itself only."""
    r = go(site, "http://b.test/x", host="shop.a.test")
    assert_no_ticket_leaves(r)
    assert b"own host only" in r.body, r


# ---------------------------------------------------------------------------
# The Referer/Origin check: the source entry's scheme, host and port.

@pytest.mark.parametrize("referer", [
    "https://a.test/page",
    "https://a.test:443/page",          # the default port of https, written out
    "https://A.Test./page",             # the same name
])
def test_referer_of_the_source_entry_is_accepted(site, b, referer):
    r = b.script(b.mint("user=alice"), referer=referer, extra=SCRIPT)
    e = site.access_entry(r)
    assert (e["result"], e["reason"]) == ("replaced", "-"), e
    assert len(r.set_cookies("bsess")) == 1, r


@pytest.mark.parametrize("referer,origin", [
    ("http://a.test/page", None),       # another scheme
    ("https://sub.a.test/page", None),  # a subdomain
    ("https://a.test:444/page", None),  # another port than the entry's (443)
    ("http://a.test:443/page", None),
    (None, "http://a.test"),
    (None, "https://sub.a.test"),
    (None, "https://a.test:444"),
], ids=["http", "subdomain", "port-444", "http-on-443", "origin-http", "origin-subdomain",
        "origin-port-444"])
def test_referer_not_of_the_source_entry_is_refused(site, b, referer, origin):
    r = b.script(b.mint("user=mallory"), referer=referer, origin=origin, extra=SCRIPT)
    e = site.access_entry(r)
    assert (e["result"], e["reason"]) == ("rejected", "referer"), e
    assert r.header_all("Set-Cookie") == [], r
    assert r.status == 200 and r.body == b"", r   # the same answer as any script ticket


# ---------------------------------------------------------------------------
# Receiving: on the entry's own host only.

def test_ticket_on_a_subdomain_of_the_destination_is_refused(site, b):
    """A ticket for b.test sent to www.b.test (a vhost alias of B) opens
    nowhere; the log line names the site the host belongs to."""
    r = b.script(b.mint("user=alice"), host=f"www.b.test:{site.port}",
                 referer="https://a.test/page", extra=SCRIPT)
    e = site.access_entry(r)
    assert (e["result"], e["reason"]) == ("rejected", "no-site"), e
    assert r.header_all("Set-Cookie") == [], r
    assert site.wait_error_log(r"MSS00041: host 'www\.b\.test' is a subdomain of the site "
                               r"b\.test: tickets are received on the site's own host only")


# ---------------------------------------------------------------------------
# Loaders: on the entry's own host only.

def test_page_of_the_entry_gets_a_loader(site):
    """The control: a.test's own page gets the loader for b.test."""
    r = request(site.port, "/f/page.html", host="a.test", headers=[("Cookie", ALICE)])
    tags = loader.inserted(r.body, PAGE)
    assert [t[0] for t in tags] == ["http://b.test"], tags


def test_page_on_a_subdomain_of_an_entry_gets_no_loader(site):
    r = request(site.port, "/f/page.html", host="shop.a.test", headers=[("Cookie", ALICE)])
    assert r.status == 200, r
    assert r.body == loader.served(PAGE).encode(), r
    assert loader.ANY_SCRIPT not in r.body, r
    assert site.wait_error_log(r"MSS00042: no loader on host 'shop\.a\.test': a subdomain "
                               r"of the site a\.test, not its own host")
