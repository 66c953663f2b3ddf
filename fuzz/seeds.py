#!/usr/bin/python3
"""Writes the hand-made seed inputs of fuzz/corpus/<target>/seed-*.

Run from the repository root: /usr/bin/python3 fuzz/seeds.py
(needs python3-nacl, as the integration tests do).  Seeds are deterministic:
fixed keys (those the targets use), fixed nonces, iat relative to the
targets' fixed clock (1700000000).  Files libFuzzer adds are named by their
SHA-1; regression inputs are named regress-*; neither is touched here."""

import hashlib
import struct
import sys
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TOP / "test" / "integration"))
import sstickets  # noqa: E402
import nacl.bindings as sodium  # noqa: E402

CORPUS = TOP / "fuzz" / "corpus"
NOW = 1700000000
KEY = bytes(range(32))                          # the protocol's test vectors
KEY2 = bytes(0xa0 + i for i in range(32))       # the targets' second key
OTHER_KEY = bytes(0x55 ^ i for i in range(32))  # not in the targets' ring


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / f"seed-{name}").write_bytes(data)


def nonce(i):
    return bytes((i + j) & 0xff for j in range(24))


def payload(iat, mode, src, next_, session):
    s, n = src.encode(), next_.encode()
    return (struct.pack(">Q", iat & 0xffffffffffffffff) + bytes([mode, len(s)]) + s
            + struct.pack(">H", len(n)) + n + session.encode())


def state_digest(cookie_text):
    """S: unkeyed BLAKE2b-16 of a state cookie's text."""
    return hashlib.blake2b(cookie_text.encode(), digest_size=16).digest()


STATE = state_digest("wMHCw8TFxsfIycrLzM3Ozw")   # the state vector's S


def seal_v2(key, src, dst, session="user=alice", mode=2, next_="/", iat=NOW, nonce=None,
            state=STATE, ad_state=None):
    """A version-2 ticket: 0x02 || kid || S || nonce || C, AD = 0x02 || kid ||
    dst || S.  ad_state seals with another S in the AD than in the header."""
    ek, kid = sstickets.derive(key)
    ad = b"\x02" + kid + dst.encode() + (state if ad_state is None else ad_state)
    c = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
        payload(iat, mode, src, next_, session), ad, nonce, ek)
    return sstickets.b64url(b"\x02" + kid + state + nonce + c)


def seeds_ticket():
    t = "ticket"
    dst = "www.example.org"
    write(t, "vector-script", "AQU_JThAQUJDREVGR0hJSktMTU5PUFFSU1RVVleL878_4h9a8dslt4GwWl4x6P70EhgJ-Uive7IZPpsiEbyeogPbXY-Ptw10WBXzl1fD9Gf79eRIH5EqqOSpWiht")
    write(t, "vector-navigation", "AQU_JThgYWJjZGVmZ2hpamtsbW5vcHFyc3R1dncEe33jF93MNC5iOZIsSGLh0gbuaTnNzzjIliCe5oHH8Wn9hZsC-8zDhhv4UAXu2orlXDsRhkQqQ9P2iNrWvNqweaQ2")
    cases = [
        ("ok-script", KEY, dict(iat=NOW - 3)),
        ("ok-nav", KEY, dict(iat=NOW, mode=2, next_="/account?tab=1&x=%2F")),
        ("ok-key2", KEY2, dict(iat=NOW - 30, session="a=1&b=2&c=%26")),
        ("expired", KEY, dict(iat=NOW - 31)),
        ("future", KEY, dict(iat=NOW + 6, mode=2, next_="/")),
        ("iat-max", KEY, dict(iat=0xffffffffffffffff)),
        ("other-key", OTHER_KEY, dict(iat=NOW)),
        ("long-session", KEY, dict(iat=NOW, session="k=" + "v" * 3000)),
        ("long-src", KEY, dict(iat=NOW, src="s" * 255)),
    ]
    for i, (name, key, kw) in enumerate(cases):
        src = kw.pop("src", "www.example.com")
        write(t, name, sstickets.seal(key, src, dst, nonce=nonce(i), **kw))
    write(t, "other-dst", sstickets.seal(KEY, "www.example.com", "www.example.net",
                                         iat=NOW, nonce=nonce(40)))
    write(t, "too-short", "AQU_JTg")
    write(t, "bad-version", "AgU_JThAQUJDREVGR0hJSktMTU5PUFFSU1RVVleL878_4h9a8dslt4GwWl4x6P70EhgJ-Uive7IZPpsiEbyeogPbXY-Ptw10WBXzl1fD9Gf79eRIH5EqqOSpWiht")
    write(t, "padded", "AQU_JThAQUJDREVGR0hJSktMTU5PUFFSU1RVVleL878_4h9a8dslt4GwWl4x6P70EhgJ-Uive7IZPpsiEbyeogPbXY-Ptw10WBXzl1fD9Gf79eRIH5EqqOSpWiht==")
    # version 2 and the mode bits
    write(t, "vector-cookie-pairs", "AQU_JTiAgYKDhIWGh4iJiouMjY6PkJGSk5SVlpfP-JluMMUmqwvd_uHuBVEHZObgySfhJ8iNuQB_Cy6BhGq1jG9SYpnD1vKHAVVS9jLcDb1cnxnl5NGs3JU34e8")
    write(t, "vector-version-2", "AgU_JTi1x3-xdFkzjNLqufCdNEgOoKGio6SlpqeoqaqrrK2ur7CxsrO0tba3wAf175Rti-qetDl0ZUthck6pUMajqO5c53VH5-GF7LVgZ4Zw66I4X58FaqFb8AOBk1Lx8aWPs9ZF9tLvYzsk_vwjF-T_xcrT-DSoi8zLCYO6GwRZcSYBb2s316Vi7yLRbSSG49PvsEed_8bH_0heXdIBcIqba-FNw7FNe8f0O-4PH00gyjdQXQ")
    src = "www.example.com"
    for i, (name, mode, next_) in enumerate([
            ("v1-script-cookies", 0x11, ""), ("v1-nav-cookies", 0x12, "/a?b=1"),
            ("v1-pair-0x03", 0x03, ""), ("v1-pair-0x10", 0x10, ""),
            ("v1-pair-0x21", 0x21, ""), ("v1-pair-0x00", 0x00, "")]):
        write(t, name, sstickets.seal(KEY, src, dst, "sid=a%2bb", mode=mode, next_=next_,
                                      iat=NOW, nonce=nonce(60 + i)))
    for i, (name, key, kw) in enumerate([
            ("v2-ok", KEY, dict(next_="/account?tab=1")),
            ("v2-cookies", KEY, dict(mode=0x12, session="sessionid=q8x1v0k2m9")),
            ("v2-key2-empty-next", KEY2, dict(next_="", iat=NOW - 30)),
            ("v2-expired", KEY, dict(iat=NOW - 31)),
            ("v2-future", KEY, dict(iat=NOW + 6)),
            ("v2-pair-script", KEY, dict(mode=0x01, next_="")),
            ("v2-pair-0x11", KEY, dict(mode=0x11, next_="")),
            ("v2-pair-0x22", KEY, dict(mode=0x22)),
            ("v2-other-state-in-ad", KEY, dict(ad_state=state_digest("another browser"))),
            ("v2-other-key", OTHER_KEY, dict()),
            ("v2-long-session", KEY, dict(session="k=" + "v" * 3000))]):
        write(t, name, seal_v2(key, src, dst, nonce=nonce(80 + i), **kw))
    # version 2 one byte too short for S, and an unknown version
    raw = sstickets.unb64url(sstickets.seal(KEY, "x", dst, "k", iat=NOW, nonce=nonce(99)))
    write(t, "v2-too-short", sstickets.b64url(b"\x02" + raw[1:] + b"\0" * 15))
    write(t, "version-3", sstickets.b64url(b"\x03" + raw[1:] + b"\0" * 16))


def seeds_ticket_payload():
    t = "ticket_payload"
    write(t, "script", b"\x00" + payload(NOW, 1, "www.example.com", "", "user=alice&role=admin"))
    write(t, "nav", b"\x00" + payload(NOW - 30, 2, "www.example.com", "/account?tab=1", "user=alice"))
    write(t, "nav-b-key2", b"\x03" + payload(NOW + 5, 2, "a.test:8443", "/p/q?r#", "u=1"))
    write(t, "expired", b"\x00" + payload(NOW - 31, 1, "x", "", "k=v"))
    write(t, "negative-iat", b"\x00" + payload(-1, 1, "x", "", "k=v"))
    write(t, "script-with-next", b"\x00" + payload(NOW, 1, "x", "/n", "k=v"))
    write(t, "next-double-slash", b"\x00" + payload(NOW, 2, "x", "//evil.example", "k=v"))
    write(t, "nextlen-too-long", b"\x00" + payload(NOW, 2, "x", "", "")[:-2] + b"\xff\xff/abc")
    write(t, "srclen-zero", b"\x00" + struct.pack(">Q", NOW) + b"\x01\x00\x00\x00k=v")
    write(t, "empty-session", b"\x00" + payload(NOW, 1, "x", "", ""))
    write(t, "mode-3", b"\x00" + payload(NOW, 3, "x", "", "k=v"))
    write(t, "short", b"\x00" + struct.pack(">Q", NOW) + b"\x01")
    # the mode bits under version 1 (byte 0 bit 2 clear) and 2 (bit 2 set)
    for name, head, mode, next_ in [
            ("v1-script-cookies", 0x00, 0x11, ""), ("v1-nav-cookies", 0x01, 0x12, "/x"),
            ("v1-mode-0x10", 0x00, 0x10, ""), ("v1-mode-0x13", 0x00, 0x13, ""),
            ("v1-mode-0x21", 0x00, 0x21, ""), ("v1-mode-0x92", 0x00, 0x92, "/x"),
            ("v2-nav", 0x04, 0x02, "/account?tab=1"), ("v2-nav-cookies", 0x04, 0x12, "/"),
            ("v2-nav-key2-b", 0x07, 0x02, ""), ("v2-script", 0x04, 0x01, ""),
            ("v2-script-cookies", 0x04, 0x11, ""), ("v2-mode-0x22", 0x04, 0x22, "/x")]:
        write(t, name, bytes([head]) + payload(NOW, mode, "www.example.com", next_, "sid=1"))
    write(t, "v2-mode-3-bad-next", b"\x04" + payload(NOW, 3, "x", "//evil", "k=v"))
    write(t, "v2-smallest", b"\x04" + payload(NOW, 2, "x", "", "k"))
    write(t, "v2-one-short", b"\x04" + payload(NOW, 2, "x", "", "k")[:-1])


def seeds_base64():
    t = "base64"
    for name, s in [("empty", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"),
                    ("f-pad", "Zg=="), ("fo-pad", "Zm8="), ("noncanon", "Zh"),
                    ("key", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
                    ("url-chars", "-_-_"), ("std-chars", "+/+/"), ("bad-pad", "Zg="),
                    ("len1", "A"), ("binary", bytes(range(256)))]:
        write(t, name, s)


def seeds_keyfile():
    t = "keyfile"
    k = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    write(t, "key", k + "\n")
    write(t, "key-crlf-spaces", " \t" + k + "\r\n\r\n")
    write(t, "key-unpadded", k.rstrip("="))
    write(t, "key-31", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n")
    write(t, "key-33", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\n")
    write(t, "key-url-alphabet", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh-_\n")
    write(t, "two-keys", k + "\n" + k + "\n")
    write(t, "empty", "")
    write(t, "spaces", " \n\t\r\n")
    write(t, "too-long", "A" * 4100)


def seeds_sites():
    t = "sites"
    write(t, "basic", "shop.example.com\n443\nexample.com\nwww.example.org\nhttp://b.test:8080/\n")
    write(t, "ports", "b.test\n8080\nb.test\nb.test:8080\nhttps://b.test:8443\n")
    write(t, "ipv6", "[::1]\n8443\nhttps://[::1]:8443\n[fe80::1]\n")
    write(t, "ipv4", "1.2.3.4\n80\n2.3.4\nhttp://1.2.3.4\n")
    write(t, "trailing-dot", "WWW.Example.COM.\n443\nexample.com\nwww.example.com\n")
    write(t, "bad", "x\n1\nftp://a\nhttps://\nuser@host\na:0\na:65536\n-a.b\na..b\na/b\na?x\n")
    write(t, "long-label", "a\n1\n" + "a" * 64 + ".com\n" + "a" * 63 + ".com\n")
    write(t, "long-site", "a\n1\n" + ".".join(["abcdefg"] * 33) + "\n")
    write(t, "host-grammar", "shop.example.com\n443\nexample.com.\n1.2.3\n127.0.0.01\n"
          "[1::2::3]\n[2001:DB8::1]:8443\n0x10.example\nexample.0x10\n-a.example\n")


def seeds_go():
    t = "go"
    sites = "\nwww.example.com\nhttps://www.example.org\nhttp://b.test:8080\nexample.net\n"
    for name, args in [
        ("ok", "to=https%3A%2F%2Fwww.example.org%2Fsome%2Fpage%3Fx%3D1"),
        ("ok-raw", "https://shop.example.net/a?b=c#frag"),
        ("ok-port", "x=1&to=http://b.test:8080/"),
        ("self", "to=https://www.example.com/"),
        ("userinfo", "to=https://www.example.com@evil.example/"),
        ("evil", "to=https://evil.example/"),
        ("js", "to=javascript:alert(1)"),
        ("schemeless", "to=//evil.example/"),
        ("crlf", "to=https://www.example.org/%0d%0aSet-Cookie:x=1"),
        ("bad-port", "to=https://www.example.org:8443/"),
        ("backslash", "to=https://www.example.org/\\evil"),
        ("double-slash-path", "to=https://www.example.org//evil.example"),
        ("ipv6", "to=https://[::1]:8443/x"),
        ("route-script", "AQU_JTg.js"),
        ("route-go", "go"),
        ("cache-control", "public, max-age=60, Private=x"),
        ("referer", "https://shop.www.example.org:443/"),
        ("subdomain", "to=https://evil.www.example.org/x"),
        ("trailing-dot", "to=https://WWW.Example.ORG./x"),
        ("referer-exact", "https://www.example.com/"),
        ("referer-other-port", "https://www.example.com:444/"),
    ]:
        write(t, name, args + "\n0" + sites)
    write(t, "default-sites", "to=https://[::1]:8443/p\n4\n")


def seeds_session_codec():
    t = "session_codec"
    for name, s in [("basic", "user=alice&role=admin"), ("escapes", "a=%41+b&b%20c=%7e&expiry=123"),
                    ("remove", "a=1&a&b=2&b="), ("bad-escape", "a=%zz&b=%0&c=%00&d=1"),
                    ("eq-runs", "&&=a==b&&c=d=e&"), ("case", "A=1&a=2&EXPIRY=3"),
                    ("entries", b"user\0alice smith\0expiry\0123\0k\0\0\0v\0bin\0\xff\x01\x7f"),
                    ("utf8", "name=%C3%A9l%C3%A8ve")]:
        write(t, name, s)


def seeds_cookie():
    t = "cookie"
    for name, s in [("header", "a=1; sessionid=k1 ; PHPSESSID=p"),
                    ("header-twice", "sessionid=k1; sessionid=k2"),
                    ("set-cookie", "sessionid=k1; expires=Thu, 01 Jan 1970 00:00:00 GMT; "
                                   "Max-Age=0; Path=/"),
                    ("attrs", "Path=/; Domain=.example.com; Secure; HttpOnly; SameSite=None; "
                              "Max-Age=600; Expires=Sun, 01 Jan 2040 00:00:00 GMT"),
                    ("payload", "sessionid=a%2bb%2fc%3d%252F&shared-session-gen=5.ab&x=%3b"),
                    ("payload-bad", "sessionid=a%3bb&PHPSESSID=%00&a=%0d%0a"),
                    ("tombstone", "shared-session-gen=1700000001000000.335e01ad9959bc6f6246bdc12853b99a")]:
        write(t, name, s)


def seeds_html_scan():
    t = "html_scan"
    docs = [
        ("head", b"<html><head><title>x</title></head><body>hi</body></html>"),
        ("body-first", b"<!doctype html><BODY class=x>text</body>"),
        ("upper-head", b"<HTML><HEAD></HEAD\n>"),
        ("fragment", b"<p>no head here</p><bod><bodyx><</hea"),
        ("nested-lt", b"<<</<b<bo<bod<body\t>"),
        ("tail-cut", b"<p></head"),
    ]
    for name, doc in docs:
        write(t, name, b"\x00" + doc)
        # the same document cut into 1-byte chunks up to the tag, then the rest
        cuts = [1] * min(len(doc), 31)
        write(t, name + "-bytes", bytes([len(cuts)]) + bytes(cuts) + doc)
    write(t, "empty-chunks", b"\x05\x00\x03\x00\x00\x04<p></head><x>")


def seeds_pull():
    """Referer, then a Cookie header / guard text (fuzz_pull.c)."""
    t = "pull"
    cases = [
        ("plain", "http://a.test/page\nsspull=a.test/1699999900"),
        ("origin", "https://secure.test/\n__Host-sspull=secure.test/1700000000~a.test/1699999500"),
        ("port", "http://127.0.0.1:8081/x?y\n127.0.0.1:8081/1699999999~[::1]:8443/5"),
        ("self", "http://b.test/\nx=1; sspull=b.test/1; y=2"),
        ("subdomain", "http://shop.a.test/\nsspull=a.test/1; sspull=c.test/2"),
        ("scheme", "https://a.test/\nsspull=a.test/99999999999"),
        ("lookalike", "http://a.test.evil.example/\nsspull=a.test/1~~b.test/2"),
        ("upper", "HTTP://A.TEST./\nsspull=A.TEST/1"),
        ("userinfo", "http://user@a.test/\nsspull=" + "~".join(f"s{i}.test/1" for i in range(17))),
        ("many", "http://c.test:8443/\n" + "~".join(f"s{i}.test/{NOW - i}" for i in range(16))),
        ("long", "http://a.test/" + "x" * 300 + "\n" + "a" * 262 + "/1~" + "b" * 263 + "/2"),
        ("nul", b"http://a.test/\na.t\x00st/1~b.test/1700000060"),
        ("empty", ""),
    ]
    for name, data in cases:
        write(t, name, data)


def main():
    seeds_ticket()
    seeds_ticket_payload()
    seeds_base64()
    seeds_keyfile()
    seeds_sites()
    seeds_go()
    seeds_session_codec()
    seeds_cookie()
    seeds_html_scan()
    seeds_pull()


if __name__ == "__main__":
    main()
