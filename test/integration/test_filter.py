"""The SHARED_SESSION output filter end to end on a real apache2, without a
browser: where the loader tags go (and where a browser would not see a tag:
comments, script and style text), the headers of an inserting response
whatever runs after the filter (mod_headers, a CGI's own headers), XHTML,
and one loader per response however often the filter is configured.

Three sites a.test, b.test, c.test are name-based virtual hosts on one
loopback port (Host header); each has mod_session_cookie (a.test's cookie is
"session", b.test's "bsess", c.test's "csess") and the shared-session
handler, so that a ticket found in a page on A can be taken to B's handler.
The client sends A's session as a cookie ("session=user=alice").
"""

import base64
import email.utils
import gzip
import hashlib
import http.client
import os
import re
import time
from xml.etree import ElementTree

import pytest

import sscfg
import sstickets
from filterdata import loader
from filterdata.loader import MARK, served
from pyhttpd import Httpd, children_of, cookie_pair, request
from sscfg import Client

SITES = "http://a.test http://b.test http://c.test"
COOKIE = {"a.test": "session", "b.test": "bsess", "c.test": "csess"}
ALICE = "session=user=alice"

# ---------------------------------------------------------------------------
# Documents: "@@" marks where the tags must land; none means "unchanged".

DOCS = {
    "head": "<!DOCTYPE html>\n<html><head><title>t</title>@@</head><body><p>x</p></body></html>\n",
    "head-upper": "<HTML><HEAD><TITLE>T</TITLE>@@</HEAD><BODY>X</BODY></HTML>\n",
    "head-mixed-space": "<html><head><meta charset=utf-8>@@</hEaD\n><body>x</body></html>\n",
    "head-tab": "<html><head>@@</head\t><body>x</body></html>\n",
    "body-first": "<html>\n@@<body class=\"main\"><p>no head element</p></body></html>\n",
    "body-upper-newline": "<html><head><title>t</title>@@<BODY\nclass=x>x</BODY></html>\n",
    "not-header": ("<html><header>top</header><bodyx>y</bodyx><headx></headx>"
                  "<p>a < b</p>@@</head><body>x</body></html>\n"),
    "head-then-body": "<html><head>@@</head><body>first</body><body>second</body></html>\n",
    "body-then-head": "<html>@@<body>x</body></head></html>\n",
    "lt-runs": "<<<</</</h</he</hea<</head<<bo<bod<<body<<@@</head>\n",
    # no insertion point: byte for byte
    "fragment": "<p>only a fragment</p>\n",
    "fragment-lookalikes": "<div><header>h</header><bodyx></bodyx></headline><b>x</b></div>\n",
    "empty": "",
    "cut-head-at-end": "<html><head><title>t</title></head",
    "cut-body-at-end": "<html><bod",
    "cut-lt-at-end": "<html><",
    # where a browser sees no tag: comments, bogus comments, raw text
    "comment-head": "<html><head><!-- </head> <body> -->@@</head><body>x</body></html>\n",
    "comment-abrupt": "<html><head><!--><!---><!-- a --!>@@</head><body>x</body></html>\n",
    "doctype-bogus": "<!DOCTYPE html><?pi </head>?><html><head>@@</head><body>x</body></html>\n",
    "script-text": ('<html><head><script>var s="<body>"; var t="</head>";</script>'
                    '@@</head><body>x</body></html>\n'),
    "script-upper-attrs": ("<html><head><SCRIPT data-x=\"a>b\" type='t'>"
                           "document.write('</HEAD><BODY>')</SCRIPT\n>@@</head><body>x</body></html>\n"),
    "script-self-closed": '<html><head><script src="a.js"/>@@</head><body>x</body></html>\n',
    "style-title": ('<html><head><title>a </head> b</title><style>p::after{content:"<body>"}'
                    '</style>@@</head><body>x</body></html>\n'),
    "textarea": "<html><textarea><body></head></textarea>@@<body>x</body></html>\n",
    # no insertion point outside them: byte for byte
    "script-unclosed": '<html><head><script>var s="</head><body>";\n',
    "comment-unclosed": "<html><head><!-- </head><body>\n",
}

HEAD_DOC = DOCS["head"]

CT_CGI = """#!/bin/sh
printf 'Content-Type: %s\\r\\n\\r\\n' "$QUERY_STRING"
cat '{doc}'
"""

HDR_CGI = """#!/bin/sh
printf 'Content-Type: text/html\\r\\n'
printf 'Cache-Control: public, max-age=60\\r\\n'
printf 'ETag: "cgi-etag"\\r\\n'
printf 'Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\\r\\n'
printf 'Vary: Accept-Language\\r\\n'
printf 'Content-Length: %s\\r\\n\\r\\n' {size}
cat '{doc}'
"""

GZ_CGI = """#!/bin/sh
printf 'Content-Type: text/html\\r\\nContent-Encoding: %s\\r\\n\\r\\n' "$QUERY_STRING"
if [ "$QUERY_STRING" = gzip ]; then cat '{gz}'; else cat '{doc}'; fi
"""

S204_CGI = """#!/bin/sh
printf 'Status: 204 No Content\\r\\nContent-Type: text/html\\r\\nETag: "e204"\\r\\n\\r\\n'
printf '<html><head></head><body>x</body></html>\\n'
"""

CACHE_CGI = """#!/bin/sh
printf 'Content-Type: text/html\\r\\n'
printf 'Cache-Control: public, max-age=600, s-maxage=3600\\r\\n'
printf 'Surrogate-Control: max-age=3600\\r\\n'
printf 'CDN-Cache-Control: max-age=3600\\r\\n'
printf 'Expires: Thu, 01 Jan 2037 00:00:00 GMT\\r\\n\\r\\n'
cat '{doc}'
"""

# the insertion point (or none) after the first 64 KiB: the headers leave
# with those bytes, before the filter knows whether it inserts
FAR_DOC = "<html><p>" + "far away " * 12000 + "</p>@@</head><body>x</body></html>\n"
FAR_FRAGMENT = "<p>" + "far away " * 12000 + "</p>\n"

# a well-formed XHTML page (served as application/xhtml+xml)
XHTML_DOC = ('<?xml version="1.0" encoding="utf-8"?>\n'
             '<!DOCTYPE html>\n'
             '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title>'
             '<script src="/app.js"/>@@</head><body><p>strict</p></body></html>\n')

LOGIN_CGI = """#!/bin/sh
printf 'Content-Type: text/html\\r\\n\\r\\n'
printf '<html><head><title>welcome</title></head><body>hello %s</body></html>\\n' "$REMOTE_USER"
"""

# a page and a CGI whose insertion point lies after the first read of the
# bucket (a file read without mmap, a pipe): the filter must scan on
LATE_DOC = "<html><p>" + "late " * 4000 + "</p>@@</head><body>x</body></html>\n"
LATE_CGI = """#!/bin/sh
printf 'Content-Type: text/html\\r\\n\\r\\n'
cat '{doc}'
"""
SPLIT_CGI = """#!/bin/sh
printf 'Content-Type: text/html\\r\\n\\r\\n'
printf '<html><he'
sleep 0.2
printf 'ad><title>t</title></he'
sleep 0.2
printf 'ad><body>x</body></html>\\n'
"""
SPLIT_DOC = "<html><head><title>t</title>@@</head><body>x</body></html>\n"

SSI_MAIN = ("<html><head><title>main</title>@@</head><body>"
            "<!--#include virtual=\"/f/inc.html\" --></body></html>\n")
SSI_INC = "<html><head><title>inc</title></head><body>included</body></html>\n"

FILTER_F = """
    <Location /f/>
        SetOutputFilter SHARED_SESSION
    </Location>
"""

A_EXTRA = """
    <Directory "{htdocs}/f">
        Options +ExecCGI +Includes
    </Directory>
    <Directory "{htdocs}/prot">
        Options +ExecCGI
    </Directory>
    <Location /f/>
        SetOutputFilter SHARED_SESSION
        ContentDigest On
        AddHandler cgi-script .cgi
        AddType text/html .shtml
        AddOutputFilter INCLUDES .shtml
        AddType text/htmlx .htmlx
        RemoveType .gz
        AddEncoding gzip .gz
    </Location>
    <Location /nommap/>
        SetOutputFilter SHARED_SESSION
        EnableMMAP Off
    </Location>
    <Location /deflate/>
        SetOutputFilter SHARED_SESSION;DEFLATE
    </Location>
    <Location /nosess/>
        Session Off
        SetOutputFilter SHARED_SESSION
    </Location>
    <Location /bytype/>
        AddOutputFilterByType SHARED_SESSION text/html application/xhtml+xml
    </Location>
    <Location /late/>
        SetOutputFilter SHARED_SESSION
        Header set Cache-Control "public, max-age=600, s-maxage=3600"
        Header set Surrogate-Control "max-age=3600"
        Header set CDN-Cache-Control "max-age=3600"
        Header set Expires "Thu, 01 Jan 2037 00:00:00 GMT"
    </Location>
    <Location /latealways/>
        SetOutputFilter SHARED_SESSION
        Header always set Cache-Control "public, max-age=600, s-maxage=3600"
        Header always set Surrogate-Control "max-age=3600"
        Header always set Expires "Thu, 01 Jan 2037 00:00:00 GMT"
    </Location>
    <Location /prot/>
        SetOutputFilter SHARED_SESSION
        AddHandler cgi-script .cgi
        AuthType form
        AuthName demo
        AuthFormProvider file
        AuthUserFile "{conf}/htpasswd"
        Require valid-user
    </Location>
"""

CC_EXTRA = """
    SharedSessionSites http://cc.a.test http://b.test http://c.test
    Header set Cache-Control "public, max-age=60" early
    <Location /f/>
        SetOutputFilter SHARED_SESSION
    </Location>
"""

OTHER_VHOST = """
<VirtualHost 127.0.0.1:{port}>
    ServerName other.test
    ServerAlias nota.test xa.test
    Session On
    SessionCookieName session path=/
    <Location /f/>
        SetOutputFilter SHARED_SESSION
    </Location>
</VirtualHost>
"""

MODULES = ["cgi", "include", "deflate", "filter", "dir", "auth_form",
           "authn_core", "authn_file", "authz_user", "request"]


def write_docroot(h):
    sscfg.prepare_docroot(h)
    for d in ("f", "nommap", "deflate", "nosess", "bytype", "prot"):
        for name, doc in DOCS.items():
            h.write_file(f"htdocs/{d}/{name}.html", served(doc))
    f = h.htdocs / "f"
    h.write_file("htdocs/f/index.html", served(HEAD_DOC))
    h.write_file("htdocs/f/page.xhtml", served(HEAD_DOC))
    h.write_file("htdocs/bytype/page.xhtml", served(HEAD_DOC))
    for ext in ("txt", "json", "htmlx", "xml"):
        h.write_file(f"htdocs/f/page.{ext}", served(HEAD_DOC))
        h.write_file(f"htdocs/bytype/page.{ext}", served(HEAD_DOC))
    (f / "pre.html.gz").write_bytes(gzip.compress(served(HEAD_DOC).encode()))
    os.chmod(f / "pre.html.gz", 0o644)
    (f / "head.gzdata").write_bytes(gzip.compress(served(HEAD_DOC).encode()))
    os.chmod(f / "head.gzdata", 0o644)
    h.write_file("htdocs/f/ct.cgi", CT_CGI.format(doc=f / "head.html"), mode=0o755)
    h.write_file("htdocs/f/hdr.cgi", HDR_CGI.format(
        doc=f / "head.html", size=len(served(HEAD_DOC))), mode=0o755)
    h.write_file("htdocs/f/gz.cgi", GZ_CGI.format(
        gz=f / "head.gzdata", doc=f / "head.html"), mode=0o755)
    h.write_file("htdocs/f/s204.cgi", S204_CGI, mode=0o755)
    h.write_file("htdocs/f/late.html", served(LATE_DOC))
    h.write_file("htdocs/nommap/late.html", served(LATE_DOC))
    h.write_file("htdocs/f/late.cgi", LATE_CGI.format(doc=f / "late.html"), mode=0o755)
    h.write_file("htdocs/f/split.cgi", SPLIT_CGI, mode=0o755)
    h.write_file("htdocs/f/main.shtml", served(SSI_MAIN))
    h.write_file("htdocs/f/inc.html", SSI_INC)
    h.write_file("htdocs/prot/login.cgi", LOGIN_CGI, mode=0o755)
    h.write_file("htdocs/f/cache.cgi", CACHE_CGI.format(doc=f / "head.html"), mode=0o755)
    h.write_file("htdocs/f/strict.xhtml", served(XHTML_DOC))
    for d in ("late", "latealways"):
        h.write_file(f"htdocs/{d}/head.html", served(HEAD_DOC))
        h.write_file(f"htdocs/{d}/far.html", served(FAR_DOC))
        h.write_file(f"htdocs/{d}/far-fragment.html", FAR_FRAGMENT)
        h.write_file(f"htdocs/{d}/fragment.html", served(DOCS["fragment"]))
    sha = base64.b64encode(hashlib.sha1(b"s3cret").digest()).decode()
    h.write_file("conf/htpasswd", f"alice:{{SHA}}{sha}\n")


@pytest.fixture(scope="module")
def site(gen_dir, module_so, tool, keys):
    h = Httpd("filter", base_dir=gen_dir)
    write_docroot(h)
    snippet = f"""
SharedSessionSites {SITES}
SharedSessionKeyFile {keys["key1"]}
{OTHER_VHOST}
{sscfg.vhost("cc.a.test", cookie="session", extra=CC_EXTRA)}
{sscfg.vhost("a.test", cookie="session", extra=A_EXTRA, aliases="shop.a.test")}
{sscfg.vhost("b.test", cookie="bsess", extra=FILTER_F, aliases="*.b.test")}
{sscfg.vhost("c.test", cookie="csess", extra=FILTER_F)}
"""
    h.write_config(snippet, modules=MODULES)
    h.start()
    h.check_log(["MSS00090"])   # configtest's warning about the unlisted hosts, expected
    yield h
    h.stop()
    h.check_log()


def get(h, path, host="a.test", cookie=ALICE, method="GET", headers=(), **kw):
    hs = list(headers)
    if cookie:
        hs.append(("Cookie", cookie))
    return request(h.port, path, host=host, method=method, headers=hs, **kw)


def file_bytes(h, path):
    return (h.htdocs / path.lstrip("/")).read_bytes()


def assert_untouched(h, r, path, etag=True):
    """The response is the file as it is, with its own validators."""
    body = file_bytes(h, path)
    assert r.status == 200, r
    assert r.body == body, r
    if body:
        assert r.header("Content-Length") == str(len(body)), r
    if etag:
        assert r.header("ETag"), r
    loader.assert_not_marked_by_filter(r)


def expect_tags(body, doc, origins, path="/shared-session/"):
    tags = loader.inserted(body, doc)
    assert [t[0] for t in tags] == origins, tags
    assert all(t[1] == path for t in tags), tags
    return tags


# ---------------------------------------------------------------------------
# The markup and where it goes.

@pytest.mark.parametrize("name", list(DOCS))
def test_insertion_point(site, name):
    doc = DOCS[name]
    r = get(site, f"/f/{name}.html")
    assert r.status == 200, r
    if MARK in doc:
        expect_tags(r.body, doc, ["http://b.test", "http://c.test"])
        loader.assert_insert_headers(r)
    else:
        assert_untouched(site, r, f"/f/{name}.html")


def test_exact_markup(site):
    """One tag per target, exactly as docs/PROTOCOL.md ("The script flow")
    writes it (valid XHTML too), in the order of SharedSessionSites,
    nothing between them."""
    r = get(site, "/f/head.html")
    body = r.body.decode()
    m = re.fullmatch(
        r'(.*<title>t</title>)'
        r'<script src="http://b\.test/shared-session/([A-Za-z0-9_-]+)\.js" async="async" referrerpolicy="origin"></script>'
        r'<script src="http://c\.test/shared-session/([A-Za-z0-9_-]+)\.js" async="async" referrerpolicy="origin"></script>'
        r'(</head>.*)', body, re.S)
    assert m, body
    assert m.group(2) != m.group(3)
    assert m.group(1) + m.group(4) == served(HEAD_DOC)


@pytest.mark.parametrize("host,origins", [
    ("a.test", ["http://b.test", "http://c.test"]),
    ("b.test", ["http://a.test", "http://c.test"]),
    ("c.test", ["http://a.test", "http://b.test"]),
])
def test_never_a_tag_for_the_current_site(site, host, origins):
    name = host.split(".", 1)[1] if host.count(".") > 1 else host
    r = get(site, "/f/head.html", host=host, cookie=f"{COOKIE[name]}=user=alice")
    expect_tags(r.body, HEAD_DOC, origins)


def test_tickets_open_on_their_destination(site, tool, keys):
    """Each ticket is a script ticket from a.test for its destination, carries
    A's session, and B's / C's handler accepts it (their own cookie is set)."""
    r = get(site, "/f/head.html", cookie="session=user=alice&role=admin")
    tags = expect_tags(r.body, HEAD_DOC, ["http://b.test", "http://c.test"])
    for origin, _, ticket in tags:
        dst = origin.split("://", 1)[1]
        f = loader.inspect_fields(tool, keys["key1"], dst, ticket, "--show-session")
        assert f["_rc"] == 0, f["_out"]
        assert f["result"] == "ok" and f["mode"] == "script", f["_out"]
        assert f["src"] == "a.test" and f["dst"] == dst, f["_out"]
        got = loader.parse_session(f["session"])
        # A's session with the generation it was given on this page
        assert sstickets.gen_verifies(sstickets.key_from_file(keys["key1"]), got), got
        got.pop(sstickets.GEN_ENTRY)
        assert got == {"user": "alice", "role": "admin"}
        # another destination cannot open it
        other = "c.test" if dst == "b.test" else "b.test"
        assert loader.inspect_fields(tool, keys["key1"], other, ticket)["_rc"] != 0
        # the destination's handler takes it
        dest = Client(site, tool, keys["key1"], host=dst, src="a.test", cookie=COOKIE[dst])
        rr = dest.script(ticket)
        assert rr.status == 200 and rr.body == b"", rr
        sc = rr.set_cookies(COOKIE[dst])
        assert len(sc) == 1, rr
        assert dest.page(cookie_pair(sc[0])) == {"user": "alice", "role": "admin"}
        assert site.access_entry(rr)["result"] == "replaced"


def test_fresh_tickets_per_response(site):
    t1 = expect_tags(get(site, "/f/head.html").body, HEAD_DOC, ["http://b.test", "http://c.test"])
    t2 = expect_tags(get(site, "/f/head.html").body, HEAD_DOC, ["http://b.test", "http://c.test"])
    assert {t[2] for t in t1}.isdisjoint({t[2] for t in t2})


def test_directory_index(site):
    """/f/ served by mod_dir (an internal fast redirect, not a subrequest)."""
    r = get(site, "/f/")
    assert r.status == 200, r
    expect_tags(r.body, HEAD_DOC, ["http://b.test", "http://c.test"])


# ---------------------------------------------------------------------------
# Content types and encodings.

@pytest.mark.parametrize("path", ["/f/head.html", "/f/page.xhtml"])
def test_html_types_get_tags(site, path):
    r = get(site, path)
    assert r.header("Content-Type").split(";")[0] in ("text/html", "application/xhtml+xml"), r
    expect_tags(r.body, HEAD_DOC, ["http://b.test", "http://c.test"])


@pytest.mark.parametrize("path", ["/f/page.txt", "/f/page.json", "/f/page.htmlx",
                                  "/f/page.xml"])
def test_other_types_untouched(site, path):
    r = get(site, path)
    assert_untouched(site, r, path)


@pytest.mark.parametrize("ctype,tagged", [
    ("text/html", True),
    ("text/html;charset=utf-8", True),
    ("text/html;charset=ISO-8859-1", True),
    ("TEXT/HTML", True),
    ("application/xhtml+xml;charset=utf-8", True),
    ("text/plain", False),
    ("application/json", False),
    ("text/htmlx", False),
    ("text/html-fragment", False),
    ("application/xhtml+xmlx", False),
    ("text/xml", False),
])
def test_cgi_content_types(site, ctype, tagged):
    r = get(site, f"/f/ct.cgi?{ctype}")
    assert r.status == 200, r
    if tagged:
        expect_tags(r.body, HEAD_DOC, ["http://b.test", "http://c.test"])
        loader.assert_insert_headers(r)
    else:
        assert r.body == served(HEAD_DOC).encode(), r
        loader.assert_not_marked_by_filter(r)


def test_precompressed_file_untouched(site):
    """pre.html.gz: text/html with Content-Encoding gzip (AddEncoding)."""
    r = get(site, "/f/pre.html.gz", headers=[("Accept-Encoding", "gzip")])
    assert r.status == 200, r
    assert r.header("Content-Encoding") == "gzip", r
    assert r.header("Content-Type").startswith("text/html"), r
    assert r.body == file_bytes(site, "/f/pre.html.gz")
    assert r.header("ETag"), r
    loader.assert_not_marked_by_filter(r)


def test_cgi_gzip_untouched(site):
    r = get(site, "/f/gz.cgi?gzip", headers=[("Accept-Encoding", "gzip")])
    assert r.status == 200 and r.header("Content-Encoding") == "gzip", r
    assert r.body == file_bytes(site, "/f/head.gzdata")
    assert gzip.decompress(r.body) == served(HEAD_DOC).encode()
    loader.assert_not_marked_by_filter(r)


def test_cgi_identity_encoding_gets_tags(site):
    r = get(site, "/f/gz.cgi?identity")
    assert r.status == 200, r
    expect_tags(r.body, HEAD_DOC, ["http://b.test", "http://c.test"])


def test_deflate_after_the_filter(site):
    """SetOutputFilter SHARED_SESSION;DEFLATE: tags first, then gzip."""
    r = get(site, "/deflate/head.html", headers=[("Accept-Encoding", "gzip")])
    assert r.status == 200, r
    assert r.header("Content-Encoding") == "gzip", r
    expect_tags(gzip.decompress(r.body), HEAD_DOC, ["http://b.test", "http://c.test"])
    vary = loader.tokens(r, "Vary")
    assert "cookie" in vary and "accept-encoding" in vary, r
    assert r.header("ETag") is None, r
    assert "public" not in loader.cc_directives(r)
    # the same without Accept-Encoding: plain, with the tags
    r = get(site, "/deflate/head.html")
    assert r.header("Content-Encoding") is None, r
    expect_tags(r.body, HEAD_DOC, ["http://b.test", "http://c.test"])
    loader.assert_insert_headers(r)


def test_deflate_without_session(site):
    r = get(site, "/deflate/head.html", cookie=None, headers=[("Accept-Encoding", "gzip")])
    assert r.header("Content-Encoding") == "gzip", r
    assert gzip.decompress(r.body) == served(HEAD_DOC).encode()
    loader.assert_not_marked_by_filter(r)


def test_filter_through_mod_filter(site):
    """AddOutputFilterByType SHARED_SESSION text/html application/xhtml+xml."""
    for path in ("/bytype/head.html", "/bytype/page.xhtml"):
        r = get(site, path)
        expect_tags(r.body, HEAD_DOC, ["http://b.test", "http://c.test"])
        loader.assert_insert_headers(r)
    for path in ("/bytype/page.txt", "/bytype/page.json", "/bytype/fragment.html"):
        assert_untouched(site, get(site, path), path)


# ---------------------------------------------------------------------------
# Headers of an inserting response.

def test_headers_static_file(site):
    base = get(site, "/f/head.html", cookie=None)
    size = len(served(HEAD_DOC))
    # what the original has (so that the assertions below can fail); a
    # Content-MD5 (ContentDigest) is never computed with a resource filter in
    # the chain: see test_headers_from_a_cgi for that one
    assert base.header("Content-Length") == str(size), base
    assert base.header("ETag"), base
    r = get(site, "/f/head.html")
    expect_tags(r.body, HEAD_DOC, ["http://b.test", "http://c.test"])
    loader.assert_insert_headers(r)
    assert "private" in loader.cc_directives(r)


def test_headers_public_cache_control_made_private(site):
    """Header early set Cache-Control "public, max-age=60" (before the
    handler): public goes, private comes, max-age stays."""
    base = get(site, "/f/head.html", host="cc.a.test", cookie=None)
    assert "public" in loader.cc_directives(base), base
    r = get(site, "/f/head.html", host="cc.a.test")
    expect_tags(r.body, HEAD_DOC, ["http://b.test", "http://c.test"])
    cc = loader.cc_directives(r)
    assert "private" in cc and "public" not in cc, r
    assert cc.get("max-age") == "60", r
    # every other directive stays (mod_session_cookie's no-cache too)
    kept = dict(loader.cc_directives(base))
    kept.pop("public")
    assert kept.items() <= cc.items(), (base, r)
    loader.assert_insert_headers(r)


def test_headers_from_a_cgi(site):
    """The original (a CGI) sends Cache-Control public, ETag, Content-MD5,
    Content-Length and Vary: Accept-Language."""
    base = get(site, "/f/hdr.cgi", cookie=None)
    assert base.header("ETag") == '"cgi-etag"' and base.header("Content-MD5"), base
    assert "public" in loader.cc_directives(base), base
    r = get(site, "/f/hdr.cgi")
    expect_tags(r.body, HEAD_DOC, ["http://b.test", "http://c.test"])
    loader.assert_insert_headers(r)
    vary = loader.tokens(r, "Vary")
    assert "accept-language" in vary and "cookie" in vary, r
    kept = dict(loader.cc_directives(base))
    kept.pop("public")
    assert kept.items() <= loader.cc_directives(r).items(), (base, r)


# ---------------------------------------------------------------------------
# A page with tickets stays out of shared caches whatever runs after the
# filter: mod_headers' "Header set" and "Header always set" (they run later
# than a resource filter), a CGI that sends caching headers itself.

def assert_cacheable(r):
    """What the page says without a session (so that the checks below can fail)."""
    cc = loader.cc_directives(r)
    assert "public" in cc and cc.get("s-maxage") == "3600", r
    assert r.header("Surrogate-Control") == "max-age=3600", r
    assert r.header("Expires") == "Thu, 01 Jan 2037 00:00:00 GMT", r


def assert_private_whatever_runs_later(r):
    cc = loader.cc_directives(r)
    assert "private" in cc, r
    assert "public" not in cc and "s-maxage" not in cc, r
    assert cc.get("max-age") == "600", r       # the browser's own cache may keep it
    assert r.header_all("Surrogate-Control") == [], r
    assert r.header_all("CDN-Cache-Control") == [], r
    expires = r.header_all("Expires")
    assert len(expires) <= 1, r
    if expires:
        assert email.utils.parsedate_to_datetime(expires[0]).timestamp() < time.time(), r


@pytest.mark.parametrize("path", ["/late/head.html", "/latealways/head.html",
                                  "/f/cache.cgi"])
def test_caching_headers_set_after_the_filter(site, path):
    assert_cacheable(get(site, path, cookie=None))
    r = get(site, path)
    expect_tags(r.body, HEAD_DOC, ["http://b.test", "http://c.test"])
    loader.assert_insert_headers(r)
    assert_private_whatever_runs_later(r)


@pytest.mark.parametrize("d", ["late", "latealways"])
def test_caching_headers_when_they_leave_before_the_insertion_point(site, d):
    """The first 64 KiB go out (with the headers) before the insertion
    point is seen, or before it is clear that there is none."""
    assert_cacheable(get(site, f"/{d}/far.html", cookie=None))
    r = get(site, f"/{d}/far.html")
    expect_tags(r.body, FAR_DOC, ["http://b.test", "http://c.test"])
    assert_private_whatever_runs_later(r)
    r = get(site, f"/{d}/far-fragment.html")
    assert r.body == FAR_FRAGMENT.encode(), r
    assert_private_whatever_runs_later(r)


def test_caching_headers_untouched_without_a_loader(site):
    """A page that gets no loader keeps what was configured."""
    assert_cacheable(get(site, "/late/fragment.html"))
    assert_cacheable(get(site, "/f/cache.cgi", cookie="session="))


def test_xhtml_page_stays_xml(site):
    """An application/xhtml+xml page with the loader is still well-formed
    XML: the tags' attributes all have values."""
    r = get(site, "/f/strict.xhtml")
    assert r.header("Content-Type").startswith("application/xhtml+xml"), r
    tags = expect_tags(r.body, XHTML_DOC, ["http://b.test", "http://c.test"])
    root = ElementTree.fromstring(r.body)
    scripts = root.findall("./{http://www.w3.org/1999/xhtml}head/"
                           "{http://www.w3.org/1999/xhtml}script")
    assert [s.get("src") for s in scripts] == ["/app.js"] + [
        f"{origin}{path}{ticket}.js" for origin, path, ticket in tags], r.body
    for s in scripts[1:]:
        assert s.get("async") == "async" and s.get("referrerpolicy") == "origin", s.attrib


# ---------------------------------------------------------------------------
# Where the filter stays out.

def test_head_request(site):
    base = get(site, "/f/head.html", cookie=None)
    r = get(site, "/f/head.html", method="HEAD")
    assert r.status == 200 and r.body == b"", r
    assert r.header("Content-Length") == base.header("Content-Length"), r
    assert r.header("ETag") == base.header("ETag"), r
    assert r.header("Content-MD5") == base.header("Content-MD5"), r
    loader.assert_not_marked_by_filter(r)


def test_204_untouched(site):
    r = get(site, "/f/s204.cgi")
    assert r.status == 204 and r.body == b"", r
    assert r.header("ETag") == '"e204"', r
    loader.assert_not_marked_by_filter(r)


@pytest.mark.parametrize("cond", ["etag", "date"])
def test_304_stays_304(site, cond):
    base = get(site, "/f/head.html", cookie=None)
    hdr = (("If-None-Match", base.header("ETag")) if cond == "etag"
           else ("If-Modified-Since", base.header("Last-Modified")))
    r = get(site, "/f/head.html", headers=[hdr])
    assert r.status == 304 and r.body == b"", r
    assert r.header("ETag") == base.header("ETag"), r
    loader.assert_not_marked_by_filter(r)


def test_206_range_untouched(site):
    """A Range request on a static page: the 206 carries the bytes of the
    file (the filter stays out of ranges), with the file's validators."""
    body = file_bytes(site, "/f/head.html")
    base = get(site, "/f/head.html", cookie=None)
    r = get(site, "/f/head.html", headers=[("Range", "bytes=0-59")])
    assert r.status == 206, r
    assert r.header("Content-Range") == f"bytes 0-59/{len(body)}", r
    assert r.body == body[:60], r
    assert r.header("ETag") == base.header("ETag"), r
    loader.assert_not_marked_by_filter(r)


@pytest.mark.parametrize("cookie", [
    None,
    "session=",
    "session=user=",
    "other=user%3Dalice",
    f"session=expiry={int((time.time() + 3600) * 1e6)}",
    "session=user=alice&expiry=1000000",    # expired: mod_session starts blank
], ids=["no-cookie", "empty-cookie", "empty-value", "other-cookie", "expiry-only",
        "expired"])
def test_empty_session_untouched(site, cookie):
    for path in ("/f/head.html", "/f/body-first.html"):
        assert_untouched(site, get(site, path, cookie=cookie), path)


@pytest.mark.allow_log("MSS02030")
def test_session_off_at_location(site):
    assert_untouched(site, get(site, "/nosess/head.html"), "/nosess/head.html")


@pytest.mark.parametrize("host", ["other.test", "nota.test", "xa.test"])
def test_host_not_in_sites(site, host):
    assert_untouched(site, get(site, "/f/head.html", host=host), "/f/head.html")


def test_ssi_subrequest_gets_no_tags(site):
    """An SSI page including another HTML page (a subrequest through the
    same filter): the tags appear once, in the main page."""
    r = get(site, "/f/main.shtml")
    assert r.status == 200, r
    expected = SSI_MAIN.replace('<!--#include virtual="/f/inc.html" -->', SSI_INC)
    expect_tags(r.body, expected, ["http://b.test", "http://c.test"])
    assert r.body.count(loader.ANY_SCRIPT) == 2, r.body


# ---------------------------------------------------------------------------
# A session created by this very request: mod_auth_form's inline login (the
# POST to a protected page carries the credentials; mod_auth_form writes the
# session with ap_session_set before the handler runs).

def test_login_response_carries_the_loader(site, tool, keys):
    r = request(site.port, "/prot/login.cgi", host="a.test", method="POST",
                headers=[("Content-Type", "application/x-www-form-urlencoded")],
                body="httpd_username=alice&httpd_password=s3cret")
    assert r.status == 200, r
    sc = r.set_cookies("session")
    assert len(sc) == 1 and "alice" in sc[0], r
    doc = "<html><head><title>welcome</title>@@</head><body>hello alice</body></html>\n"
    tags = expect_tags(r.body, doc, ["http://b.test", "http://c.test"])
    loader.assert_insert_headers(r)
    ticket = tags[0][2]
    f = loader.inspect_fields(tool, keys["key1"], "b.test", ticket, "--show-session")
    assert f["result"] == "ok" and f["src"] == "a.test", f["_out"]
    assert loader.parse_session(f["session"]).get("demo-user") == "alice", f["_out"]
    b = Client(site, tool, keys["key1"], host="b.test", src="a.test", cookie="bsess")
    rr = b.script(ticket)
    got = b.page(cookie_pair(rr.set_cookies("bsess")[0]))
    assert got.get("demo-user") == "alice", got


@pytest.mark.allow_log("AH01807")
def test_failed_login_has_no_loader(site):
    r = request(site.port, "/prot/login.cgi", host="a.test", method="POST",
                headers=[("Content-Type", "application/x-www-form-urlencoded")],
                body="httpd_username=alice&httpd_password=wrong")
    assert r.status in (401, 403), r
    assert loader.ANY_SCRIPT not in r.body
    assert r.set_cookies("session") == [], r


# ---------------------------------------------------------------------------
# Ticket size: 6000 characters at most (docs/PROTOCOL.md, "Limits").  A ticket
# from a.test is base64url(63 + len(session field) bytes): a field of 4437
# bytes makes 6000 characters, one more byte 6002.  The field carries the
# session's generation too: "&shared-session-gen=" and T.D (16 + 1 + 32).
GEN_FIELD = len("&shared-session-gen=") + 16 + 1 + 32


def test_largest_ticket_is_inserted(site, tool, keys):
    value = "x" * (4437 - len("user=") - GEN_FIELD)
    r = get(site, "/f/head.html", cookie=f"session=user={value}")
    tags = expect_tags(r.body, HEAD_DOC, ["http://b.test", "http://c.test"])
    assert all(len(t[2]) == 6000 for t in tags), [len(t[2]) for t in tags]
    b = Client(site, tool, keys["key1"], host="b.test", src="a.test", cookie="bsess")
    rr = b.script(tags[0][2])
    assert site.access_entry(rr)["result"] == "replaced"
    assert b.page(cookie_pair(rr.set_cookies("bsess")[0])) == {"user": value}


def test_too_large_ticket_is_left_out(site):
    site.allow("MSS02001")
    value = "x" * (4438 - len("user=") - GEN_FIELD)
    r = get(site, "/f/head.html", cookie=f"session=user={value}")
    assert_untouched(site, r, "/f/head.html")
    m = site.wait_error_log(r"\[shared_session:warn\].*MSS02001: .*b\.test")
    assert m, site.error_log_since_mark()
    assert site.wait_error_log(r"MSS02001: .*c\.test"), site.error_log_since_mark()
    assert value[:100] not in site.error_log_since_mark()


# ---------------------------------------------------------------------------
# The insertion point after the first read of a bucket: a file read without
# mmap (8 KiB at a time), a CGI's pipe, a CGI writing "</he" and "ad>" apart.

@pytest.mark.parametrize("path", ["/f/late.html", "/nommap/late.html", "/f/late.cgi"])
def test_insertion_point_after_first_read(site, path):
    r = get(site, path)
    assert r.status == 200, r
    expect_tags(r.body, LATE_DOC, ["http://b.test", "http://c.test"])
    loader.assert_insert_headers(r)


def test_tag_split_across_cgi_writes(site):
    r = get(site, "/f/split.cgi")
    assert r.status == 200, r
    expect_tags(r.body, SPLIT_DOC, ["http://b.test", "http://c.test"])


# ---------------------------------------------------------------------------
# The filter configured twice for one response: SetOutputFilter for the
# virtual host and AddOutputFilter for a directory, twice in one
# SetOutputFilter chain, SetOutputFilter and AddOutputFilterByType.  One
# loader per response: one tag per target site.

TWICE_EXTRA = """
    SetOutputFilter SHARED_SESSION
    <Directory "{htdocs}/twice">
        AddOutputFilter SHARED_SESSION .html
    </Directory>
    <Location /chain/>
        SetOutputFilter SHARED_SESSION;SHARED_SESSION
    </Location>
    <Location /bytype/>
        AddOutputFilterByType SHARED_SESSION text/html
    </Location>
"""


def test_filter_configured_twice_inserts_once(httpd, module_so, keys):
    h = httpd("filtertwice")
    sscfg.prepare_docroot(h)
    for d in ("twice", "chain", "bytype"):
        h.write_file(f"htdocs/{d}/head.html", served(HEAD_DOC))
        h.write_file(f"htdocs/{d}/far.html", served(FAR_DOC))
    h.write_config(f"""
SharedSessionSites {SITES}
SharedSessionKeyFile {keys["key1"]}
{sscfg.vhost("a.test", cookie="session", extra=TWICE_EXTRA)}
""", modules=MODULES)
    h.start()
    for d in ("twice", "chain", "bytype"):
        for name, doc in (("head", HEAD_DOC), ("far", FAR_DOC)):
            r = get(h, f"/{d}/{name}.html")
            assert r.status == 200, r
            expect_tags(r.body, doc, ["http://b.test", "http://c.test"])
            loader.assert_insert_headers(r)
            assert r.body.count(loader.ANY_SCRIPT) == 2, (d, name)
            assert loader.tokens(r, "Vary").count("cookie") == 1, r


# ---------------------------------------------------------------------------
# SharedSessionPath, https entries, entries with ports.

def test_path_schemes_and_ports(httpd, module_so, tool, keys):
    h = httpd("filterpaths")
    write_docroot(h)
    h.write_config(f"""
SharedSessionSites http://a.test:{{port}} https://b.test http://c.test:8080 d.test https://e.test:8443
SharedSessionKeyFile {keys["key1"]}
SharedSessionPath /sso/
<VirtualHost 127.0.0.1:{{port}}>
    ServerName a.test
    Session On
    SessionCookieName session path=/
    <Location /f/>
        SetOutputFilter SHARED_SESSION
    </Location>
    <Location /sso/>
        SetHandler shared-session
    </Location>
</VirtualHost>
""", modules=MODULES)
    h.start()
    r = get(h, "/f/head.html", host=f"a.test:{h.port}")
    tags = expect_tags(r.body, HEAD_DOC,
                       ["https://b.test", "http://c.test:8080", "https://d.test",
                        "https://e.test:8443"], path="/sso/")
    for origin, _, ticket in tags:
        dst = origin.split("://", 1)[1]
        f = loader.inspect_fields(tool, keys["key1"], dst, ticket)
        assert f["result"] == "ok" and f["dst"] == dst, f["_out"]
        assert f["src"] == f"a.test:{h.port}", f["_out"]
    # a request on another port does not belong to a.test:PORT
    r = get(h, "/f/head.html", host="a.test:8999")
    assert_untouched(h, r, "/f/head.html")


# ---------------------------------------------------------------------------
# 50 MiB through the filter: correct bodies, and the serving child's memory
# does not grow with the body (one child, one worker thread, no mmap).

BIG = 50 * 1024 * 1024
FILLER = b"<p>lorem <b>ipsum</b> <header>x</header> <bodyx> dolor</p>\n"


def big_docs():
    n = BIG // len(FILLER) + 1
    filler = (FILLER * n)[:BIG]
    head = b"<html><head><title>big</title>"
    return {
        # name: (bytes before the insertion point, bytes after it)
        "big-head": (head, b"</head><body>\n" + filler + b"</body></html>\n"),
        "big-end": (b"<html>\n" + filler, b"</head>"),
        "big-none": (filler, None),
    }


def vm(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS"):
                out[k] = int(v.split()[0]) * 1024
    return out


def stream_check(port, path, before, after, tag_len, timeout=60):
    """Streams the response; checks it equals before + tags + after (or
    before alone when after is None) without keeping it in memory."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", "a.test")
        conn.putheader("Cookie", ALICE)
        conn.endheaders()
        resp = conn.getresponse()
        assert resp.status == 200
        cl = resp.getheader("Content-Length")
        tags_at = len(before) if after is not None else None
        expected_len = len(before) + (tag_len + len(after) if after is not None else 0)
        h_got, h_want = hashlib.sha256(), hashlib.sha256()
        h_want.update(before)
        if after is not None:
            h_want.update(after)
        tags = bytearray()
        pos = 0
        scripts = 0
        tail = b""
        while True:
            chunk = resp.read(256 * 1024)
            if not chunk:
                break
            window = tail + chunk
            scripts += window.count(loader.ANY_SCRIPT) - tail.count(loader.ANY_SCRIPT)
            tail = window[-(len(loader.ANY_SCRIPT) - 1):]
            start, end = pos, pos + len(chunk)
            if tags_at is None or end <= tags_at or start >= tags_at + tag_len:
                h_got.update(chunk)
            else:
                a = max(tags_at - start, 0)
                b = min(tags_at + tag_len - start, len(chunk))
                h_got.update(chunk[:a])
                tags += chunk[a:b]
                h_got.update(chunk[b:])
            pos = end
        assert pos == expected_len, (path, pos, expected_len)
        if cl is not None:
            assert int(cl) == pos, (path, cl, pos)
        assert h_got.digest() == h_want.digest(), f"{path}: body differs"
        if after is not None:
            found = loader.parse_tags(tags.decode())
            assert [t[0] for t in found] == ["http://b.test", "http://c.test"]
            assert scripts == 2, scripts
        else:
            assert scripts == 0, scripts
        return resp
    finally:
        conn.close()


@pytest.fixture(scope="module")
def big_site(gen_dir, module_so, keys):
    h = Httpd("filterbig", base_dir=gen_dir)
    sscfg.prepare_docroot(h)
    h.write_file("htdocs/f/small.html", served(HEAD_DOC) + "<!-- pad -->\n" * 75)
    docs = big_docs()
    try:
        for name, (before, after) in docs.items():
            p = h.htdocs / "f" / f"{name}.html"
            with open(p, "wb") as f:
                f.write(before)
                if after is not None:
                    f.write(after)
            os.chmod(p, 0o644)
        h.write_config(f"""
StartServers 1
ServerLimit 1
ThreadsPerChild 1
MaxRequestWorkers 1
MinSpareThreads 1
MaxSpareThreads 2
EnableMMAP Off
EnableSendfile Off
SharedSessionSites {SITES}
SharedSessionKeyFile {keys["key1"]}
{sscfg.vhost("a.test", cookie="session", extra=FILTER_F)}
""")
        h.start()
        yield h, docs
    finally:
        h.stop()
        for name in docs:       # 150 MiB: never left behind
            try:
                (h.htdocs / "f" / f"{name}.html").unlink()
            except FileNotFoundError:
                pass
    h.check_log(["AH00484"])


# one worker on purpose (the same child serves every body): on a loaded
# machine httpd may say so (AH00484 "server reached MaxRequestWorkers")
@pytest.mark.allow_log("AH00484")
def test_50mib_bodies_stream_in_constant_memory(big_site):
    h, docs = big_site
    kids = children_of(h.pid)
    assert len(kids) == 1, kids
    child = kids[0]
    small = (h.htdocs / "f" / "small.html").read_bytes()
    assert 1000 <= len(small) <= 2048
    # warm up the one worker: a small page with the loader, a few times
    for _ in range(5):
        r = get(h, "/f/small.html")
        assert r.status == 200 and r.body.count(loader.ANY_SCRIPT) == 2, r
    tag_len = len(r.body) - len(small)
    before_mem = vm(child)
    for name in ("big-head", "big-end", "big-none"):
        before, after = docs[name]
        stream_check(h.port, f"/f/{name}.html", before, after, tag_len)
    after_mem = vm(child)
    assert children_of(h.pid) == [child], "the child was replaced"
    growth = after_mem["VmHWM"] - before_mem["VmHWM"]
    print(f"child {child}: before {before_mem}, after {after_mem}")
    assert after_mem["VmRSS"] - before_mem["VmRSS"] < 8 * 1024 * 1024, (before_mem, after_mem)
    assert growth < 8 * 1024 * 1024, (
        f"peak RSS of the child grew by {growth / 1048576:.1f} MiB while serving "
        f"3 x 50 MiB (before {before_mem}, after {after_mem})")
