"""shared-session-tool (keygen, mint, inspect) and the ticket format of
docs/PROTOCOL.md, checked against an independent Python implementation."""

import base64
import time

import pytest

import sstickets

VEC_SRC, VEC_DST, VEC_IAT = "www.example.com", "www.example.org", 1700000000
VEC_SCRIPT = ("AQU_JThAQUJDREVGR0hJSktMTU5PUFFSU1RVVleL878_4h9a8dslt4GwWl4x6P70EhgJ-Uive7I"
              "ZPpsiEbyeogPbXY-Ptw10WBXzl1fD9Gf79eRIH5EqqOSpWiht")
VEC_NAV = ("AQU_JThgYWJjZGVmZ2hpamtsbW5vcHFyc3R1dncEe33jF93MNC5iOZIsSGLh0gbuaTnNzzjIliCe5o"
           "HH8Wn9hZsC-8zDhhv4UAXu2orlXDsRhkQqQ9P2iNrWvNqweaQ2")


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
    """The independent implementation agrees with docs/PROTOCOL.md (so that forged
    tickets in test_receive are real v1 tickets)."""
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


def test_unknown_command(tool):
    cp = tool.run("frobnicate")
    assert cp.returncode != 0 and cp.stderr.strip()
