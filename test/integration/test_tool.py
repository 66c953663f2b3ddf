"""shared-session-tool (keygen, mint, inspect) and the tickets it mints,
checked against an independent Python implementation of the ticket format
(docs/PROTOCOL.md, "Ticket format") and against its test vectors."""

import base64
import hashlib
import os
import stat
import struct
import subprocess
import time

import nacl.bindings as sodium
import pytest

import sstickets

VEC_SRC, VEC_DST, VEC_IAT = "www.example.com", "www.example.org", 1700000000
VEC_SCRIPT = ("AQU_JThAQUJDREVGR0hJSktMTU5PUFFSU1RVVleL878_4h9a8dslt4GwWl4x6P70EhgJ-Uive7I"
              "ZPpsiEbyeogPbXY-Ptw10WBXzl1fD9Gf79eRIH5EqqOSpWiht")
VEC_NAV = ("AQU_JThgYWJjZGVmZ2hpamtsbW5vcHFyc3R1dncEe33jF93MNC5iOZIsSGLh0gbuaTnNzzjIliCe5o"
           "HH8Wn9hZsC-8zDhhv4UAXu2orlXDsRhkQqQ9P2iNrWvNqweaQ2")
VEC_COOKIE = ("AQU_JTiAgYKDhIWGh4iJiouMjY6PkJGSk5SVlpfP-JluMMUmqwvd_uHuBVEHZObgySfhJ8iNuQB_"
              "Cy6BhGq1jG9SYpnD1vKHAVVS9jLcDb1cnxnl5NGs3JU34e8")
VEC_STATE_COOKIE, VEC_S = "wMHCw8TFxsfIycrLzM3Ozw", "tcd_sXRZM4zS6rnwnTRIDg"
VEC_V2_SESSION = ("user=alice&shared-session-gen="
                  "1700000000000000.12bd781d654d51fcccdabde465496463")
VEC_V2 = ("AgU_JTi1x3-xdFkzjNLqufCdNEgOoKGio6SlpqeoqaqrrK2ur7CxsrO0tba3wAf175Rti-qetDl0ZUth"
          "ck6pUMajqO5c53VH5-GF7LVgZ4Zw66I4X58FaqFb8AOBk1Lx8aWPs9ZF9tLvYzsk_vwjF-T_xcrT-DSoi8"
          "zLCYO6GwRZcSYBb2s316Vi7yLRbSSG49PvsEed_8bH_0heXdIBcIqba-FNw7FNe8f0O-4PH00gyjdQXQ")


def open_v2(key, dst, ticket):
    """A version-2 ticket opened in Python: T = 0x02 || kid || S || nonce ||
    C, AD = 0x02 || kid || dst || S.  Returns (S, mode byte, next, session)."""
    ek, kid = sstickets.derive(key)
    t = sstickets.unb64url(ticket)
    assert t[0] == 2 and t[1:5] == kid
    s, nonce, c = t[5:21], t[21:45], t[45:]
    p = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        c, b"\x02" + kid + dst.encode() + s, nonce, ek)
    srclen = p[9]
    off = 10 + srclen
    nextlen = struct.unpack(">H", p[off:off + 2])[0]
    return (s, p[8], p[off + 2:off + 2 + nextlen].decode(),
            p[off + 2 + nextlen:].decode())


def state_digest(cookie_text):
    """S: unkeyed BLAKE2b with a 16-byte output of the state cookie's text."""
    return hashlib.blake2b(cookie_text.encode(), digest_size=16).digest()


def fields(out):
    """inspect's 'name: value' lines as a dict."""
    d = {}
    for line in out.splitlines():
        k, sep, v = line.partition(":")
        if sep:
            d[k.strip()] = v.strip()
    return d


def test_keygen(tool):
    k1, k2 = tool.keygen(), tool.keygen()
    assert len(base64.b64decode(k1, validate=True)) == 32
    assert len(base64.b64decode(k2, validate=True)) == 32
    assert k1 != k2


def test_keygen_output_is_a_key_file(tool, httpd, module_so):
    """What keygen prints is accepted by SharedSessionKeyFile as it is."""
    h = httpd("keygen")
    key = h.write_file("conf/gen.key", tool.keygen() + "\n", mode=0o600)
    h.write_config(f"SharedSessionSites http://a.test http://b.test\n"
                   f"SharedSessionKeyFile {key}\n")
    rc, out = h.configtest()
    assert rc == 0, out


def test_mint_inspect_round_trip(tool, keys):
    t = tool.mint(keys["key1"], "a.test", "b.test", session="user=alice&role=admin")
    cp = tool.inspect(keys["key1"], "b.test", t)
    assert cp.returncode == 0, cp.stderr
    f = fields(cp.stdout)
    assert f["result"] == "ok"
    assert f["src"] == "a.test" and f["dst"] == "b.test" and f["mode"] == "script"
    assert int(f["age"]) in (0, 1, 2)
    # the session stays out of the output unless asked for
    assert "alice" not in cp.stdout
    cp = tool.run("inspect", "--key", keys["key1"], "--dst", "b.test", "--show-session", t)
    assert cp.returncode == 0 and "user=alice&role=admin" in cp.stdout


def test_mint_navigation_round_trip(tool, keys):
    t = tool.mint(keys["key1"], "http://a.test", "http://b.test:8080", nav="/account?tab=1")
    cp = tool.inspect(keys["key1"], "b.test:8080", t)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    f = fields(cp.stdout)
    assert f["mode"] == "navigation" and f["next"] == "/account?tab=1"
    assert f["result"] == "ok"


def test_mint_site_entries_give_site_ids(tool, keys):
    """--src/--dst take SharedSessionSites entries; the ids are lowercased
    host[:port], the scheme is not part of them."""
    t = tool.mint(keys["key1"], "https://A.Test", "http://B.TEST:8443")
    opened = sstickets.open_(sstickets.key_from_file(keys["key1"]), "b.test:8443", t)
    assert opened["src"] == "a.test"


def test_tool_tickets_open_in_python(tool, keys):
    now = int(time.time())
    t = tool.mint(keys["key1"], "a.test", "b.test", session="user=al%20ice&x=1",
                  nav="/p?q=1")
    o = sstickets.open_(sstickets.key_from_file(keys["key1"]), "b.test", t)
    assert o["src"] == "a.test" and o["next"] == "/p?q=1"
    assert o["mode"] == sstickets.MODE_NAVIGATION
    assert o["session"] == "user=al%20ice&x=1"
    assert abs(o["iat"] - now) <= 2


def test_python_tickets_open_in_tool(tool, keys):
    t = sstickets.seal(sstickets.key_from_file(keys["key1"]), "a.test", "b.test", "user=bob")
    cp = tool.inspect(keys["key1"], "b.test", t)
    assert cp.returncode == 0 and fields(cp.stdout)["result"] == "ok", cp.stdout


def test_each_ticket_has_its_own_nonce(tool, keys):
    t1 = tool.mint(keys["key1"], "a.test", "b.test")
    t2 = tool.mint(keys["key1"], "a.test", "b.test")
    assert t1 != t2
    k = sstickets.key_from_file(keys["key1"])
    assert sstickets.open_(k, "b.test", t1)["nonce"] != sstickets.open_(k, "b.test", t2)["nonce"]


@pytest.mark.parametrize("pos", [10, 40, 60, -10])
def test_inspect_altered_ticket(tool, keys, pos):
    t = tool.mint(keys["key1"], "a.test", "b.test")
    bad = sstickets.flip_char(t, pos if pos > 0 else len(t) + pos)
    cp = tool.inspect(keys["key1"], "b.test", bad)
    assert cp.returncode != 0
    assert "rejected (bad-ticket)" in cp.stdout, cp.stdout


def test_inspect_other_destination(tool, keys):
    t = tool.mint(keys["key1"], "a.test", "b.test")
    cp = tool.inspect(keys["key1"], "c.test", t)
    assert cp.returncode != 0 and "rejected (bad-ticket)" in cp.stdout


def test_inspect_unknown_key(tool, keys):
    t = tool.mint(keys["key1"], "a.test", "b.test")
    cp = tool.inspect(keys["other"], "b.test", t)
    assert cp.returncode != 0 and "rejected (unknown-key)" in cp.stdout


def test_inspect_key_rotation(tool, keys):
    old = tool.mint(keys["key1"], "a.test", "b.test")
    new = tool.mint(keys["key2"], "a.test", "b.test")
    for t in (old, new):
        cp = tool.inspect([keys["key2"], keys["key1"]], "b.test", t)
        assert cp.returncode == 0 and "result: ok" in cp.stdout, cp.stdout


@pytest.mark.parametrize("text", ["abc", "A" * 6001, "AQ" + "*" * 100])
def test_inspect_malformed(tool, keys, text):
    cp = tool.inspect(keys["key1"], "b.test", text)
    assert cp.returncode != 0
    assert "rejected (malformed)" in cp.stdout or cp.returncode == 2, cp.stdout + cp.stderr


@pytest.mark.parametrize("delta,expect", [
    (0, "ok"), (30, "ok"), (31, "expired"), (-5, "ok"), (-6, "future"),
])
def test_inspect_time_bounds(tool, keys, delta, expect):
    iat = 1750000000
    t = tool.mint(keys["key1"], "a.test", "b.test", iat=iat)
    cp = tool.run("inspect", "--key", keys["key1"], "--dst", "b.test",
                  "--now", iat + delta, t)
    want = "result: ok" if expect == "ok" else f"rejected ({expect})"
    assert want in cp.stdout, cp.stdout
    assert (cp.returncode == 0) == (expect == "ok")


def test_inspect_timeout_option(tool, keys):
    iat = 1750000000
    t = tool.mint(keys["key1"], "a.test", "b.test", iat=iat)
    cp = tool.run("inspect", "--key", keys["key1"], "--dst", "b.test", "--timeout", "600",
                  "--now", iat + 300, t)
    assert cp.returncode == 0, cp.stdout


def test_expired_and_future_by_iat(tool, keys):
    now = int(time.time())
    old = tool.mint(keys["key1"], "a.test", "b.test", iat=now - 100)
    assert "rejected (expired)" in tool.inspect(keys["key1"], "b.test", old).stdout
    fut = tool.mint(keys["key1"], "a.test", "b.test", iat=now + 100)
    assert "rejected (future)" in tool.inspect(keys["key1"], "b.test", fut).stdout


@pytest.mark.parametrize("nav", ["//evil.example", "//evil.example/x", "/\\evil",
                                 "https://evil.example/", "evil", "/a#frag", "/a b",
                                 "/a\nb", "\\\\evil"])
def test_mint_refuses_bad_next(tool, keys, nav):
    cp = tool.run("mint", "--key", keys["key1"], "--src", "a.test", "--dst", "b.test",
                  "--session", "user=alice", "--nav", nav)
    assert cp.returncode != 0
    assert cp.stdout.strip() == ""
    assert cp.stderr.strip()


@pytest.mark.parametrize("args", [
    ["--src", "a.test", "--dst", "b.test", "--session", "user=alice"],  # no --key
    ["--key", "KEY", "--dst", "b.test", "--session", "user=alice"],    # no --src
    ["--key", "KEY", "--src", "a.test", "--dst", "b.test", "--session", ""],
    ["--key", "KEY", "--src", "ftp://a.test", "--dst", "b.test", "--session", "u=1"],
    ["--key", "KEY", "--src", "a.test", "--dst", "b.test", "--session", "u=1",
     "--nonce", "00"],
    ["--key", "/nonexistent/key", "--src", "a.test", "--dst", "b.test", "--session", "u=1"],
])
def test_mint_errors(tool, keys, args):
    args = [keys["key1"] if a == "KEY" else a for a in args]
    cp = tool.run("mint", *args)
    assert cp.returncode != 0
    assert cp.stdout.strip() == ""
    assert cp.stderr.strip()


def test_mint_refuses_oversized_ticket(tool, keys):
    cp = tool.run("mint", "--key", keys["key1"], "--src", "a.test", "--dst", "b.test",
                  "--session", "x=" + "a" * 5000)
    assert cp.returncode != 0 and cp.stdout.strip() == ""


def test_vector_key_id(tool, keys):
    t = tool.mint(keys["vector"], VEC_SRC, VEC_DST)
    assert base64.urlsafe_b64decode(t[:8] + "==")[1:5].hex() == "053f2538"


def test_vector_script(tool, keys):
    nonce = bytes(range(0x40, 0x58)).hex()
    t = tool.mint(keys["vector"], VEC_SRC, VEC_DST, session="user=alice&role=admin",
                  iat=VEC_IAT, nonce=nonce)
    assert t == VEC_SCRIPT


def test_vector_navigation(tool, keys):
    nonce = bytes(range(0x60, 0x78)).hex()
    t = tool.mint(keys["vector"], VEC_SRC, VEC_DST, session="user=alice",
                  nav="/account?tab=1", iat=VEC_IAT, nonce=nonce)
    assert t == VEC_NAV


def test_vectors_in_python():
    """The independent implementation agrees with the test vectors (so that
    forged tickets in test_receive are real version-1 tickets)."""
    k = bytes(range(32))
    assert sstickets.seal(k, VEC_SRC, VEC_DST, "user=alice&role=admin",
                          iat=VEC_IAT, nonce=bytes(range(0x40, 0x58))) == VEC_SCRIPT
    assert sstickets.seal(k, VEC_SRC, VEC_DST, "user=alice", sstickets.MODE_NAVIGATION,
                          "/account?tab=1", iat=VEC_IAT,
                          nonce=bytes(range(0x60, 0x78))) == VEC_NAV


@pytest.mark.parametrize("ticket,mode,next_,session", [
    (VEC_SCRIPT, "script", "-", "user=alice&role=admin"),
    (VEC_NAV, "navigation", "/account?tab=1", "user=alice"),
])
def test_vectors_inspect(tool, keys, ticket, mode, next_, session):
    cp = tool.run("inspect", "--key", keys["vector"], "--dst", VEC_DST, "--now", VEC_IAT,
                  "--show-session", ticket)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    f = fields(cp.stdout)
    assert f["kid"] == "053f2538" and f["src"] == VEC_SRC and f["mode"] == mode
    assert f["next"] == next_ and f["session"] == session
    assert f["result"] == "ok"
    assert f["version"] == "1" and f["payload"] == "session entries"
    assert "S" not in f


def test_unknown_command(tool):
    cp = tool.run("frobnicate")
    assert cp.returncode != 0 and cp.stderr.strip()


# --- keygen --out ----------------------------------------------------------------

def test_keygen_out_creates_a_private_key_file(tool, tmp_path, httpd):
    """keygen --out FILE writes the key it prints into a new file of mode
    0600 (whatever the umask), and that file is a key file the module loads."""
    path = tmp_path / "site.key"
    old = os.umask(0)
    try:
        cp = tool.run("keygen", "--out", path)
    finally:
        os.umask(old)
    assert cp.returncode == 0, cp.stderr
    assert cp.stderr == ""
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == cp.stdout
    assert len(base64.b64decode(cp.stdout.strip(), validate=True)) == 32
    h = httpd("keygen_out")
    h.write_config(f"SharedSessionSites http://a.test http://b.test\n"
                   f"SharedSessionKeyFile {path}\n")
    rc, out = h.configtest()
    assert rc == 0 and "MSS" not in out, out


def test_keygen_out_never_overwrites(tool, tmp_path):
    """An existing file stays as it was: exit 1, the reason on stderr, no
    key printed."""
    path = tmp_path / "site.key"
    path.write_text("the key in use\n")
    os.chmod(path, 0o600)
    cp = tool.run("keygen", "--out", path)
    assert cp.returncode == 1
    assert cp.stdout == ""
    assert "File exists" in cp.stderr and "never overwritten" in cp.stderr
    assert path.read_text() == "the key in use\n"


def test_keygen_out_does_not_follow_a_symlink(tool, tmp_path):
    """A symlink in FILE's place (even one pointing nowhere) is refused:
    nothing is created where it points."""
    target = tmp_path / "elsewhere"
    link = tmp_path / "site.key"
    link.symlink_to(target)
    cp = tool.run("keygen", "--out", link)
    assert cp.returncode == 1 and cp.stdout == ""
    assert not target.exists()


@pytest.mark.parametrize("args,rc,says", [
    (["--out"], 2, "missing argument"),
    (["--out", ""], 2, "--out needs a file name"),
    (["--out", "a", "--out", "b"], 2, "--out given twice"),
    (["--out", "/nonexistent/dir/site.key"], 1, "No such file or directory"),
])
def test_keygen_out_errors(tool, tmp_path, args, rc, says):
    cp = tool.run("keygen", *args)
    assert cp.returncode == rc
    assert cp.stdout == ""
    assert says in cp.stderr, cp.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


# --- mint --state: version 2 ------------------------------------------------------

def test_vector_version_2(tool, keys):
    """--nav with --state mints version 2 with S from the state cookie's text:
    the test vector."""
    t = tool.run("mint", "--key", keys["vector"], "--src", VEC_SRC, "--dst", VEC_DST,
                 "--session", VEC_V2_SESSION, "--nav", "/account?tab=1",
                 "--state", VEC_STATE_COOKIE, "--iat", VEC_IAT,
                 "--nonce", bytes(range(0xa0, 0xb8)).hex(), check=True).stdout.strip()
    assert t == VEC_V2
    assert sstickets.b64url(state_digest(VEC_STATE_COOKIE)) == VEC_S


def test_mint_state_opens_in_python(tool, keys):
    """A version-2 ticket of the tool opens with an independent implementation
    under AD = 0x02 || kid || dst || S, S = BLAKE2b-16 of the cookie's text
    (the text after the random part, `to`, counts too)."""
    cookie = "q83vEjRWeJq8zN7wESIzRA.L2FjY291bnQ_dGFiPTE"
    t = tool.run("mint", "--key", keys["key1"], "--src", "a.test", "--dst", "b.test",
                 "--session", "user=alice", "--nav", "/account?tab=1", "--state", cookie,
                 check=True).stdout.strip()
    s, mode, next_, session = open_v2(sstickets.key_from_file(keys["key1"]), "b.test", t)
    assert s == state_digest(cookie)
    assert mode == 0x02 and next_ == "/account?tab=1" and session == "user=alice"
    # S is authenticated: another S in its place does not open
    raw = bytearray(sstickets.unb64url(t))
    raw[5:21] = state_digest("another browser")
    with pytest.raises(Exception):
        open_v2(sstickets.key_from_file(keys["key1"]), "b.test", sstickets.b64url(raw))


def test_mint_nav_without_state_is_version_1(tool, keys):
    """Without --state, --nav still mints an unbound version-1 ticket (what
    receivers refuse with reason state): inspect says so."""
    t = tool.mint(keys["key1"], "a.test", "b.test", nav="/x")
    assert sstickets.unb64url(t)[0] == 1
    cp = tool.inspect(keys["key1"], "b.test", t)
    f = fields(cp.stdout)
    assert f["version"] == "1" and f["mode"] == "navigation" and "S" not in f
    assert f["binding"].startswith("none") and "reason state" in f["binding"]
    assert "SharedSessionAcceptUnbound" in f["binding"]


@pytest.mark.parametrize("args,says", [
    (["--state", VEC_STATE_COOKIE], "--state binds a navigation ticket: give --nav too"),
    (["--nav", "/x", "--state", ""], "--state: give the state cookie's value"),
    (["--nav", "/x", "--state", "ssst-tcd_sXRZ=" + VEC_STATE_COOKIE], "--state: give"),
    (["--nav", "/x", "--state", "a b"], "--state: give"),
    (["--nav", "/x", "--state", "a;b"], "--state: give"),
])
def test_mint_state_errors(tool, keys, args, says):
    cp = tool.run("mint", "--key", keys["key1"], "--src", "a.test", "--dst", "b.test",
                  "--session", "user=alice", *args)
    assert cp.returncode == 2
    assert cp.stdout == ""
    assert says in cp.stderr, cp.stderr
    # the cookie's text is not repeated
    assert VEC_STATE_COOKIE not in cp.stderr


# --- mint --cookie: cookie pairs --------------------------------------------------

def test_vector_cookie_pairs(tool, keys):
    """--cookie mints a ticket with mode bit 0x10: the test vector."""
    t = tool.run("mint", "--key", keys["vector"], "--src", VEC_SRC, "--dst", VEC_DST,
                 "--cookie", "sessionid=q8x1v0k2m9", "--iat", VEC_IAT,
                 "--nonce", bytes(range(0x80, 0x98)).hex(), check=True).stdout.strip()
    assert t == VEC_COOKIE


def test_mint_cookies_escaped_as_mod_session_escapes(tool, keys):
    """Each --cookie is one pair; names and values are escaped as
    ap_escape_urlencoded does (lower-case hex); the ticket is a script
    ticket with mode 0x11, or 0x12 with --nav."""
    k = sstickets.key_from_file(keys["key1"])
    t = tool.run("mint", "--key", keys["key1"], "--src", "a.test", "--dst", "b.test",
                 "--cookie", "sid=a+b/c=%2F", "--cookie", "PHPSESSID=x y",
                 check=True).stdout.strip()
    o = sstickets.open_(k, "b.test", t)
    assert o["mode"] == 0x11
    assert o["session"] == "sid=a%2bb%2fc%3d%252F&PHPSESSID=x+y"
    t = tool.run("mint", "--key", keys["key1"], "--src", "a.test", "--dst", "b.test",
                 "--cookie", "sid=1", "--nav", "/x", check=True).stdout.strip()
    assert sstickets.open_(k, "b.test", t)["mode"] == 0x12
    t = tool.run("mint", "--key", keys["key1"], "--src", "a.test", "--dst", "b.test",
                 "--cookie", "sid=1", "--nav", "/x", "--state", "abc",
                 check=True).stdout.strip()
    assert open_v2(k, "b.test", t)[1] == 0x12


def test_inspect_cookie_pairs(tool, keys):
    """inspect names the payload kind; the cookies stay out of the output
    unless asked for."""
    t = tool.run("mint", "--key", keys["key1"], "--src", "a.test", "--dst", "b.test",
                 "--cookie", "sessionid=s3cr3tvalue", check=True).stdout.strip()
    cp = tool.inspect(keys["key1"], "b.test", t)
    assert cp.returncode == 0, cp.stderr
    f = fields(cp.stdout)
    assert f["mode"] == "script" and f["payload"] == "cookie pairs"
    assert f["cookies"].endswith("(--show-session prints it)")
    assert "s3cr3tvalue" not in cp.stdout + cp.stderr
    cp = tool.run("inspect", "--key", keys["key1"], "--dst", "b.test", "--show-session", t)
    assert fields(cp.stdout)["cookies"] == "sessionid=s3cr3tvalue"


@pytest.mark.parametrize("args,says", [
    (["--cookie", "s3cr3tvalue"], "--cookie (number 1): give NAME=VALUE"),
    (["--cookie", "sid=1", "--cookie", "=s3cr3tvalue"], "--cookie (number 2): give NAME=VALUE"),
    (["--cookie", "sid="], "--cookie (number 1): give NAME=VALUE"),
    (["--cookie", "Expiry=s3cr3tvalue"], "--cookie Expiry=...: the name expiry is reserved"),
    (["--cookie", "sid=s3cr3tvalue", "--session", "u=1"],
     "--session and --cookie: a ticket carries either"),
    ([], "--session or --cookie is required"),
])
def test_mint_cookie_errors(tool, keys, args, says):
    cp = tool.run("mint", "--key", keys["key1"], "--src", "a.test", "--dst", "b.test", *args)
    assert cp.returncode == 2
    assert cp.stdout == ""
    assert says in cp.stderr, cp.stderr
    assert "s3cr3tvalue" not in cp.stderr


def test_mint_oversized_cookies(tool, keys):
    cp = tool.run("mint", "--key", keys["key1"], "--src", "a.test", "--dst", "b.test",
                  "--cookie", "sid=" + "a" * 5000)
    assert cp.returncode == 1 and cp.stdout == ""
    assert "longer than 6000 characters: the cookies are too large" in cp.stderr


# --- inspect: version 2, URLs -----------------------------------------------------

def test_inspect_version_2_vector(tool, keys):
    cp = tool.run("inspect", "--key", keys["vector"], "--dst", VEC_DST, "--now", VEC_IAT,
                  "--show-session", VEC_V2)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    f = fields(cp.stdout)
    assert f["version"] == "2" and f["S"] == VEC_S and f["kid"] == "053f2538"
    assert f["nonce"] == bytes(range(0xa0, 0xb8)).hex()
    assert f["mode"] == "navigation" and f["payload"] == "session entries"
    assert f["binding"] == "state cookie with S"
    assert f["next"] == "/account?tab=1" and f["session"] == VEC_V2_SESSION
    assert f["result"] == "ok"
    # S shows even when the ticket does not open (another destination)
    cp = tool.run("inspect", "--key", keys["vector"], "--dst", VEC_SRC, "--now", VEC_IAT,
                  VEC_V2)
    f = fields(cp.stdout)
    assert cp.returncode == 1 and f["S"] == VEC_S and f["result"] == "rejected (bad-ticket)"
    assert "mode" not in f


def test_inspect_ticket_url_forms(tool, keys):
    """A bare ticket, TICKET.js, a path, and the full URL copied from a page
    (the destination then comes from the URL) all inspect the same ticket."""
    script = tool.mint(keys["key1"], "a.test", "b.test:8443")
    nav = tool.run("mint", "--key", keys["key1"], "--src", "a.test", "--dst", "b.test:8443",
                   "--session", "u=1", "--nav", "/x", "--state", "abc",
                   check=True).stdout.strip()
    for form, ticket, route in [
        ("{t}", script, None),
        ("{t}.js", script, "script (TICKET.js)"),
        ("/shared-session/{t}.js", script, "script (TICKET.js)"),
        ("https://b.test:8443/shared-session/{t}.js", script, "script (TICKET.js)"),
        ("https://b.test:8443/shared-session/{t}", nav, "navigation (TICKET)"),
        ("http://B.TEST:8443/sso/{t}", nav, "navigation (TICKET)"),
    ]:
        arg = form.format(t=ticket)
        if arg.startswith("http"):
            cp = tool.run("inspect", "--key", keys["key1"], arg)
        else:
            cp = tool.inspect(keys["key1"], "b.test:8443", arg)
        f = fields(cp.stdout)
        assert cp.returncode == 0, (arg, cp.stdout, cp.stderr)
        assert f["result"] == "ok" and f["dst"] == "b.test:8443", cp.stdout
        assert f.get("route") == route, cp.stdout
        nonce_at = 21 if ticket is nav else 5
        assert f["nonce"] == sstickets.unb64url(ticket)[nonce_at:nonce_at + 24].hex()


def test_inspect_route_mismatch_is_mode(tool, keys):
    """A navigation ticket in a TICKET.js URL (or a script ticket in a
    TICKET URL) is what the receiver refuses with reason mode."""
    nav = tool.mint(keys["key1"], "a.test", "b.test", nav="/x")
    cp = tool.run("inspect", "--key", keys["key1"], f"https://b.test/shared-session/{nav}.js")
    assert cp.returncode == 1
    assert fields(cp.stdout)["result"] == "rejected (mode)"
    assert "a navigation ticket in a script (TICKET.js) URL" in cp.stderr
    script = tool.mint(keys["key1"], "a.test", "b.test")
    cp = tool.run("inspect", "--key", keys["key1"], f"https://b.test/shared-session/{script}")
    assert cp.returncode == 1 and fields(cp.stdout)["result"] == "rejected (mode)"


def test_inspect_dst_option_wins_over_the_url(tool, keys):
    t = tool.mint(keys["key1"], "a.test", "b.test")
    cp = tool.run("inspect", "--key", keys["key1"], "--dst", "c.test",
                  f"https://b.test/shared-session/{t}.js")
    assert cp.returncode == 1
    f = fields(cp.stdout)
    assert f["dst"] == "c.test" and f["result"] == "rejected (bad-ticket)"


@pytest.mark.parametrize("arg,says", [
    ("https://b.test/shared-session/TICKET.js?x=1", "without query or fragment"),
    ("https://b.test/shared-session/TICKET#f", "without query or fragment"),
    ("https://user@b.test/shared-session/TICKET", "not a ticket URL"),
    ("ftp://b.test/shared-session/TICKET", "not a ticket URL"),
    ("https://b.test", "the URL has no ticket in its path"),
    ("https://b.test/shared-session/", "TICKET: empty"),
    ("https://b.test/" + "A" * 8200, "URL longer than 8192 characters"),
])
def test_inspect_bad_urls(tool, keys, arg, says):
    cp = tool.run("inspect", "--key", keys["key1"], arg)
    assert cp.returncode == 2
    assert cp.stdout == ""
    assert says in cp.stderr, cp.stderr


def test_inspect_needs_a_destination(tool, keys):
    t = tool.mint(keys["key1"], "a.test", "b.test")
    cp = tool.run("inspect", "--key", keys["key1"], t + ".js")
    assert cp.returncode == 2 and cp.stdout == ""
    assert "--dst may come from a ticket URL" in cp.stderr


def test_inspect_unknown_version(tool, keys):
    raw = bytearray(sstickets.unb64url(tool.mint(keys["key1"], "a.test", "b.test")))
    raw[0] = 3
    cp = tool.inspect(keys["key1"], "b.test", sstickets.b64url(raw))
    assert cp.returncode == 1
    f = fields(cp.stdout)
    assert f["version"] == "3 (unknown)" and "kid" not in f
    assert f["result"] == "rejected (unknown-key)"
    assert "versions 1 and 2" in cp.stderr


# --- limits come from the code that owns them -------------------------------------

@pytest.mark.parametrize("value", ["0", "3601", "-1", "30s"])
def test_inspect_timeout_range(tool, keys, value):
    cp = tool.run("inspect", "--key", keys["key1"], "--dst", "b.test", "--timeout", value,
                  "AAAA")
    assert cp.returncode == 2 and cp.stdout == ""
    assert "not seconds from 1 to 3600" in cp.stderr


def test_inspect_timeout_bounds_accepted(tool, keys):
    iat = 1750000000
    t = tool.mint(keys["key1"], "a.test", "b.test", iat=iat)
    for timeout, now, ok in [(1, iat + 1, True), (1, iat + 2, False),
                             (3600, iat + 3600, True), (3600, iat + 3601, False)]:
        cp = tool.run("inspect", "--key", keys["key1"], "--dst", "b.test",
                      "--timeout", timeout, "--now", now, t)
        assert (cp.returncode == 0) == ok, cp.stdout
    # the default is 30
    cp = tool.run("inspect", "--key", keys["key1"], "--dst", "b.test", "--now", iat + 31, t)
    assert "rejected (expired)" in cp.stdout


def test_help_names_the_new_options(tool):
    cp = tool.run("--help")
    assert cp.returncode == 0
    for text in ("--out FILE", "--state COOKIE_TEXT", "--cookie NAME=VALUE",
                 "1-3600 (default 30)", "TICKET.js"):
        assert text in cp.stdout, text


# ---------------------------------------------------------------------------
# Generations (docs/PROTOCOL.md, "Generations"): mint --gen, inspect's line.

def vector_key_file(tmp_path):
    path = tmp_path / "vector.key"
    path.write_text("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n")
    path.chmod(0o600)
    return str(path)


def test_mint_gen_gives_the_digest_vectors(tool, tmp_path):
    key = vector_key_file(tmp_path)
    t = tool.run("mint", "--key", key, "--src", VEC_SRC, "--dst", VEC_DST,
                 "--session", "user=alice&role=admin", "--gen", "1700000000000000").stdout.strip()
    cp = tool.run("inspect", "--key", key, "--dst", VEC_DST, "--show-session", t)
    f = fields(cp.stdout)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert f["session"] == ("user=alice&role=admin&shared-session-gen="
                            "1700000000000000.c7cdf77128ef8ac30e6dca9a13ee4ec7"), cp.stdout
    assert f["generation"] == "1700000000000000.c7cdf77128ef8ac30e6dca9a13ee4ec7 (verifies)"
    # the version-2 vector's generation verifies too
    cp = tool.run("inspect", "--key", key, "--dst", VEC_DST, "--now", str(VEC_IAT), VEC_V2)
    assert fields(cp.stdout)["generation"].endswith("(verifies)"), cp.stdout


def test_inspect_generation_verdicts(tool, keys, tmp_path):
    now_us = int(time.time() * 1e6)
    cp = tool.inspect(keys["key1"], "b.test",
                      tool.mint(keys["key1"], "a.test", "b.test", session="user=a"))
    assert fields(cp.stdout)["generation"].startswith("none"), cp.stdout
    # made with another key: the receiver counts it as none
    other = tool.run("mint", "--key", keys["key2"], "--src", "a.test", "--dst", "b.test",
                     "--session", "user=a", "--gen", "now").stdout.strip()
    cp = tool.run("inspect", "--key", keys["key1"], "--key", keys["key2"], "--dst", "b.test",
                  other)
    assert fields(cp.stdout)["generation"].endswith("(verifies)"), cp.stdout
    session = "user=a&shared-session-gen=" + sstickets.gen_text(
        sstickets.key_from_file(keys["key2"]), now_us, {"user": "a"})
    t = tool.mint(keys["key1"], "a.test", "b.test", session=session)
    cp = tool.inspect(keys["key1"], "b.test", t)
    assert "does not verify" in fields(cp.stdout)["generation"], cp.stdout
    # an hour after the ticket's iat
    t = tool.run("mint", "--key", keys["key1"], "--src", "a.test", "--dst", "b.test",
                 "--session", "user=a", "--gen", str(now_us + 3600 * 10**6)).stdout.strip()
    assert "after iat" in fields(tool.inspect(keys["key1"], "b.test", t).stdout)["generation"]
    # a tombstone
    tomb = "shared-session-gen=" + sstickets.gen_text(
        sstickets.key_from_file(keys["key1"]), now_us, {})
    t = tool.mint(keys["key1"], "a.test", "b.test", session=tomb)
    assert "tombstone" in fields(tool.inspect(keys["key1"], "b.test", t).stdout)["generation"]


@pytest.mark.parametrize("value", ["soon", "-1", "0", "1.5", ""])
def test_mint_gen_refuses_bad_values(tool, keys, value):
    cp = tool.run("mint", "--key", keys["key1"], "--src", "a.test", "--dst", "b.test",
                  "--session", "user=a", "--gen", value)
    assert cp.returncode == 2 and "--gen" in cp.stderr and cp.stdout == "", cp


def test_mint_gen_refuses_a_session_with_one(tool, keys):
    cp = tool.run("mint", "--key", keys["key1"], "--src", "a.test", "--dst", "b.test",
                  "--session", "user=a&shared-session-gen=1.00", "--gen", "now")
    assert cp.returncode == 2 and "already carries" in cp.stderr, cp
