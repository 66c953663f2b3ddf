"""Proxied HTML through the SHARED_SESSION filter (README, "Handler and
filter").  A small HTTP/1.1 backend on loopback (a Python thread, started
and stopped by the module fixture) behind mod_proxy_http:

    ProxyPass /app/ http://127.0.0.1:BACKEND/
    <Location /app/> SetOutputFilter SHARED_SESSION </Location>

The backend writes its responses by hand: lengths, chunk boundaries and
pauses are exactly as each test says (a "</he" + "ad>" cut across chunks,
one byte per chunk, a response that waits for the client)."""

import gzip
import http.client
import socketserver
import threading
import time

import pytest

import sscfg
from filterdata import loader
from pyhttpd import Httpd, free_port, request

ALICE = "session=user=alice"
ORIGINS = ["http://b.test", "http://c.test"]

HEAD_DOC = "<html><head><title>proxied</title>@@</head><body><p>backend</p></body></html>\n"
PAGE = loader.served(HEAD_DOC).encode()


# ---------------------------------------------------------------------------
# The backend.

class Backend(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, port):
        self.events = {}        # token -> (threading.Event, threading.Event)
        self.results = {}       # token -> what the handler saw
        self.requests = []      # (path, headers) received
        super().__init__(("127.0.0.1", port), BackendHandler)


def chunk(data):
    return b"%x\r\n%s\r\n" % (len(data), data)


class BackendHandler(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline(65537).decode("latin-1")
        if not line:
            return
        method, target, _ = line.split(" ", 2)
        headers = {}
        while True:
            h = self.rfile.readline(65537).decode("latin-1")
            if h in ("\r\n", "\n", ""):
                break
            k, _, v = h.partition(":")
            headers[k.strip().lower()] = v.strip()
        self.server.requests.append((target, headers))
        path, _, query = target.partition("?")
        fn = getattr(self, "r_" + path.strip("/").replace("-", "_"), None)
        if fn is None:
            self.send(404, [("Content-Type", "text/plain")], b"no\n")
            return
        fn(query)

    # helpers
    def head(self, status, hdrs, chunked=False):
        out = [f"HTTP/1.1 {status} X"]
        for k, v in hdrs:
            out.append(f"{k}: {v}")
        if chunked:
            out.append("Transfer-Encoding: chunked")
        out.append("Connection: close")
        self.wfile.write(("\r\n".join(out) + "\r\n\r\n").encode())
        self.wfile.flush()

    def send(self, status, hdrs, body):
        self.head(status, hdrs + [("Content-Length", str(len(body)))])
        self.wfile.write(body)
        self.wfile.flush()

    def chunks(self, status, hdrs, parts, pause=0.0):
        self.head(status, hdrs, chunked=True)
        for p in parts:
            self.wfile.write(chunk(p))
            self.wfile.flush()
            if pause:
                time.sleep(pause)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    # endpoints
    def r_plain(self, q):
        self.send(200, [("Content-Type", "text/html")], PAGE)

    def r_headers(self, q):
        self.send(200, [("Content-Type", "text/html; charset=utf-8"),
                        ("Cache-Control", "public, max-age=60"),
                        ("ETag", '"backend-etag"'),
                        ("Content-MD5", "Q2hlY2sgSW50ZWdyaXR5IQ=="),
                        ("Vary", "Accept-Language")], PAGE)

    def r_length_split(self, q):
        """Content-Length, the body in pieces with pauses, "</he" | "ad>"."""
        body = SPLIT_PARTS_JOINED
        self.head(200, [("Content-Type", "text/html"), ("Content-Length", str(len(body)))])
        for p in SPLIT_PARTS:
            self.wfile.write(p)
            self.wfile.flush()
            time.sleep(0.05)

    def r_chunked(self, q):
        self.chunks(200, [("Content-Type", "text/html")], SPLIT_PARTS, pause=0.05)

    def r_bytes(self, q):
        data = SPLIT_PARTS_JOINED
        self.chunks(200, [("Content-Type", "text/html")],
                    [data[i:i + 1] for i in range(len(data))], pause=0.002)

    def r_body_split(self, q):
        self.chunks(200, [("Content-Type", "text/html")], BODY_PARTS, pause=0.05)

    def first_with_head(self, hdrs, parts, chunked):
        """The header block and the first part in one write (the proxy's
        first read of the body gets exactly that part), then a pause."""
        out = ["HTTP/1.1 200 X"] + [f"{k}: {v}" for k, v in hdrs]
        out += ["Transfer-Encoding: chunked"] if chunked else []
        out += ["Connection: close"]
        enc = chunk if chunked else (lambda d: d)
        self.wfile.write(("\r\n".join(out) + "\r\n\r\n").encode() + enc(parts[0]))
        self.wfile.flush()
        for p in parts[1:]:
            time.sleep(0.2)
            self.wfile.write(enc(p))
            self.wfile.flush()
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def r_lt_first(self, q):
        """The first read holds nothing but the start of a candidate."""
        self.first_with_head([("Content-Type", "text/html")], LT_FIRST_PARTS, True)

    def r_cut_first(self, q):
        self.first_with_head([("Content-Type", "text/html")], CUT_FIRST_PARTS, True)

    def r_cut_first_length(self, q):
        body = b"".join(CUT_FIRST_PARTS)
        self.first_with_head([("Content-Type", "text/html"), ("ETag", '"e1"'),
                              ("Content-Length", str(len(body)))], CUT_FIRST_PARTS, False)

    def r_fragment(self, q):
        self.chunks(200, [("Content-Type", "text/html")],
                    [b"<div><he", b"ader>x</header><bo", b"dyx></div></he", b"ad"], pause=0.05)

    def r_slow(self, q):
        ev1, ev2 = self.server.events[q]
        self.head(200, [("Content-Type", "text/html")], chunked=True)
        self.wfile.write(chunk(SLOW_1))
        self.wfile.flush()
        ok1 = ev1.wait(4)
        self.wfile.write(chunk(SLOW_2))
        self.wfile.flush()
        ok2 = ev2.wait(4)
        self.wfile.write(chunk(SLOW_3))
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        self.server.results[q] = (ok1, ok2)

    def r_gzip(self, q):
        self.send(200, [("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
                  GZ_PAGE)

    def r_gzip_chunked(self, q):
        self.chunks(200, [("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
                    [GZ_PAGE[:20], GZ_PAGE[20:]], pause=0.02)

    def r_partial(self, q):
        part = PAGE[:40]
        self.send(206, [("Content-Type", "text/html"),
                        ("Content-Range", f"bytes 0-39/{len(PAGE)}")], part)

    def r_json(self, q):
        self.send(200, [("Content-Type", "application/json")], PAGE)

    def r_nocontent(self, q):
        self.head(204, [("Content-Type", "text/html")])


SPLIT_DOC = ("<html><he" "ad><title>t</title>" "@@</he" "ad><body>" "<p>x</p></body></html>\n")
SPLIT_PARTS = [b"<html><he", b"ad><title>t</title></he", b"ad><body>", b"<p>x</p></body></html>\n"]
SPLIT_PARTS_JOINED = b"".join(SPLIT_PARTS)
assert loader.served(SPLIT_DOC).encode() == SPLIT_PARTS_JOINED
BODY_DOC = "<html>\n@@<body class=main>x</body></html>\n"
BODY_PARTS = [b"<html>\n<", b"bo", b"dy", b" class=main>x</body></html>\n"]
assert loader.served(BODY_DOC).encode() == b"".join(BODY_PARTS)
LT_FIRST_DOC = "<html><head><title>t</title>@@</head><body>x</body></html>\n"
LT_FIRST_PARTS = [b"<", b"html><head><title>t</title></head><body>x</body></html>\n"]
assert loader.served(LT_FIRST_DOC).encode() == b"".join(LT_FIRST_PARTS)
CUT_FIRST_DOC = "@@</head><body>x</body>\n"
CUT_FIRST_PARTS = [b"</he", b"ad><body>x</body>\n"]
assert loader.served(CUT_FIRST_DOC).encode() == b"".join(CUT_FIRST_PARTS)
SLOW_1 = b"<html><head><title>slow</title>" + b"<meta name=x content=y>" * 50
SLOW_2 = b"</head><body><p>first</p>"
SLOW_3 = b"<p>last</p></body></html>\n"
SLOW_DOC = (SLOW_1 + b"@@" + SLOW_2 + SLOW_3).decode()
GZ_PAGE = gzip.compress(PAGE)


@pytest.fixture(scope="module")
def backend():
    srv = Backend(free_port())
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    t.join(5)


@pytest.fixture(scope="module")
def site(gen_dir, module_so, keys, backend):
    h = Httpd("proxy", base_dir=gen_dir)
    sscfg.prepare_docroot(h)
    bport = backend.server_address[1]
    extra = f"""
    ProxyPass /app/ http://127.0.0.1:{bport}/
    ProxyPass /noses/ http://127.0.0.1:{bport}/
    <Location /app/>
        SetOutputFilter SHARED_SESSION
    </Location>
    <Location /noses/>
        Session Off
        SetOutputFilter SHARED_SESSION
    </Location>
"""
    h.write_config(f"""
SharedSessionSites http://a.test http://b.test http://c.test
SharedSessionKeyFile {keys["key1"]}
{sscfg.vhost("a.test", cookie="session", extra=extra)}
""", modules=["proxy", "proxy_http"])
    h.start()
    yield h
    h.stop()
    h.check_log()


def get(h, path, cookie=ALICE, headers=()):
    hs = list(headers) + ([("Cookie", cookie)] if cookie else [])
    return request(h.port, path, host="a.test", headers=hs)


# ---------------------------------------------------------------------------

def test_plain(site):
    r = get(site, "/app/plain")
    assert r.status == 200, r
    tags = loader.inserted(r.body, HEAD_DOC)
    assert [t[0] for t in tags] == ORIGINS
    loader.assert_insert_headers(r)


def test_plain_without_session(site):
    r = get(site, "/app/plain", cookie=None)
    assert r.status == 200 and r.body == PAGE, r
    assert r.header("Content-Length") == str(len(PAGE)), r
    loader.assert_not_marked_by_filter(r)


@pytest.mark.allow_log("MSS02030")
def test_session_off_at_proxied_location(site):
    r = get(site, "/noses/plain")
    assert r.status == 200 and r.body == PAGE, r
    loader.assert_not_marked_by_filter(r)


def test_backend_headers_made_private(site):
    """The backend's validators and Cache-Control: public do not survive an
    insertion; its Vary is kept and Cookie added."""
    base = get(site, "/app/headers", cookie=None)
    assert base.header("ETag") == '"backend-etag"' and base.header("Content-MD5"), base
    assert "public" in loader.cc_directives(base), base
    r = get(site, "/app/headers")
    loader.inserted(r.body, HEAD_DOC)
    loader.assert_insert_headers(r)
    vary = loader.tokens(r, "Vary")
    assert "accept-language" in vary and "cookie" in vary, r
    assert loader.cc_directives(r).get("max-age") == "60", r


@pytest.mark.parametrize("path,doc", [
    ("/app/length-split", SPLIT_DOC),
    ("/app/chunked", SPLIT_DOC),
    ("/app/bytes", SPLIT_DOC),
    ("/app/body-split", BODY_DOC),
    ("/app/lt-first", LT_FIRST_DOC),
    ("/app/cut-first", CUT_FIRST_DOC),
    ("/app/cut-first-length", CUT_FIRST_DOC),
])
def test_cut_across_backend_writes(site, backend, path, doc):
    """"</he" and "ad>" (or "<", "bo", "dy") arrive in different reads with
    pauses between them; the tags still land right before the tag."""
    r = get(site, path)
    assert r.status == 200, r
    tags = loader.inserted(r.body, doc)
    assert [t[0] for t in tags] == ORIGINS
    loader.assert_insert_headers(r)


def test_fragment_across_writes_unchanged(site):
    r = get(site, "/app/fragment")
    assert r.status == 200, r
    assert r.body == b"<div><header>x</header><bodyx></div></head", r


def test_slow_response_streams(site, backend):
    """The backend waits for the client twice: after its first bytes
    (before any insertion point) and after "</head>".  The client can only
    release it if those bytes reach it while the backend is still busy."""
    token = f"t{time.monotonic_ns()}"
    ev1, ev2 = threading.Event(), threading.Event()
    backend.events[token] = (ev1, ev2)
    conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=15)
    try:
        conn.putrequest("GET", f"/app/slow?{token}", skip_host=True,
                        skip_accept_encoding=True)
        conn.putheader("Host", "a.test")
        conn.putheader("Cookie", ALICE)
        conn.endheaders()
        t0 = time.monotonic()
        resp = conn.getresponse()
        assert resp.status == 200
        got = b""
        while b"<title>slow</title>" not in got:
            data = resp.read1(65536)
            assert data, got
            got += data
        first_bytes_after = time.monotonic() - t0
        ev1.set()
        while b"</head>" not in got:
            data = resp.read1(65536)
            assert data, got
            got += data
        ev2.set()
        got += resp.read()
        headers = resp.getheaders()
    finally:
        conn.close()
    deadline = time.monotonic() + 10
    while token not in backend.results and time.monotonic() < deadline:
        time.sleep(0.01)
    assert backend.results.get(token) == (True, True), (
        f"the client got the first bytes only after {first_bytes_after:.1f}s: "
        f"held back while the backend waited")
    tags = loader.inserted(got, SLOW_DOC)
    assert [t[0] for t in tags] == ORIGINS
    # the headers left before the decision: made for an insertion
    hv = {}
    for k, v in headers:
        hv.setdefault(k.lower(), []).append(v)
    assert "cookie" in ", ".join(hv.get("vary", [])).lower()
    assert "etag" not in hv and "content-length" not in hv


@pytest.mark.parametrize("path", ["/app/gzip", "/app/gzip-chunked"])
def test_gzip_from_backend_untouched(site, path):
    r = get(site, path, headers=[("Accept-Encoding", "gzip")])
    assert r.status == 200, r
    assert r.header("Content-Encoding") == "gzip", r
    assert r.body == GZ_PAGE, r
    loader.assert_not_marked_by_filter(r)


def test_partial_content_from_backend_untouched(site):
    r = get(site, "/app/partial")
    assert r.status == 206, r
    assert r.body == PAGE[:40], r
    assert r.header("Content-Range") == f"bytes 0-39/{len(PAGE)}", r
    loader.assert_not_marked_by_filter(r)


def test_json_from_backend_untouched(site):
    r = get(site, "/app/json")
    assert r.status == 200 and r.body == PAGE, r
    loader.assert_not_marked_by_filter(r)


def test_204_from_backend(site):
    r = get(site, "/app/nocontent")
    assert r.status == 204 and r.body == b"", r
    loader.assert_not_marked_by_filter(r)


def test_backend_gets_the_request(site, backend):
    """(the harness itself: the proxied request reached the backend)"""
    n = len(backend.requests)
    get(site, "/app/plain")
    assert len(backend.requests) == n + 1
    assert backend.requests[-1][0] == "/plain"
