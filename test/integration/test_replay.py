"""One use per ticket, atomically, with every replay cache.

Fifty concurrent uses of one fresh ticket are accepted exactly once, round
after round, with shmcb, dbm, memcached and redis; two servers sharing one
memcached or redis accept a ticket once between them; uses racing a graceful
restart (old-generation children still working) are accepted once; a store
that goes down refuses tickets (cache-unavailable) and works again by itself
when it is back; a flood of tickets that fills a small shmcb cache cannot
make a replay acceptable; configtest checks the server lists and needs no
mod_socache_memcache/redis."""

import socket
import threading
import time

import pytest

import pyhttpd
import sscfg
import sstickets
from pyhttpd import BASE_MODULES, Httpd
from sscfg import Client

USES = 50
ROUNDS = 4


def uses(targets, ticket, n=USES):
    """n uses of one script ticket at once, spread over targets (Client
    objects); returns the access log entries (result, reason) of all."""
    barrier = threading.Barrier(n)
    out = [None] * n
    errors = []

    def one(i):
        b = targets[i % len(targets)]
        try:
            barrier.wait(10)
            out[i] = (b, b.script(ticket))
        except Exception as e:      # surfaces below, with the others
            errors.append(repr(e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors[:3]
    return [b.h.access_entry(r) for b, r in out]


def outcome_counts(entries):
    counts = {}
    for e in entries:
        k = f"{e['result']}/{e['reason']}"
        counts[k] = counts.get(k, 0) + 1
    return counts


def assert_once(entries):
    counts = outcome_counts(entries)
    assert counts == {"replaced/-": 1, "rejected/replayed": len(entries) - 1}, counts


def store_daemon(kind, workdir):
    return (pyhttpd.redis_server if kind == "redis" else pyhttpd.memcached_server)(workdir)


def site(httpd, keys, name, spec, modules=(), extra=""):
    h = httpd(name)
    sscfg.two_sites(h, keys["key1"], modules=list(modules),
                    server_extra=f"SharedSessionReplayCache {spec}\n{extra}")
    h.start()
    return h


# ---------------------------------------------------------------------------
# Fifty at once, on one server.

@pytest.mark.parametrize("kind", ["shmcb", "dbm", "memcache", "redis"])
def test_concurrent_uses_accepted_once(httpd, module_so, tool, keys, gen_dir, kind):
    d = store_daemon(kind, gen_dir) if kind in ("memcache", "redis") else None
    try:
        spec = {"shmcb": "shmcb", "dbm": "dbm:{data}/replay"}.get(
            kind, f"{kind}:127.0.0.1:{d.port if d else 0}")
        # no mod_socache_memcache/redis: the module speaks to them itself
        h = site(httpd, keys, f"once-{kind}", spec,
                 modules=["socache_dbm"] if kind == "dbm" else [])
        b = Client(h, tool, keys["key1"])
        for _ in range(ROUNDS):
            assert_once(uses([b], b.mint("user=alice")))
        h.stop()
    finally:
        if d:
            d.stop()


# ---------------------------------------------------------------------------
# Two servers, one store.

@pytest.mark.parametrize("kind", ["memcache", "redis"])
def test_two_servers_accept_once_between_them(httpd, module_so, tool, keys, gen_dir, kind):
    d = store_daemon(kind, gen_dir)
    try:
        hs = [site(httpd, keys, f"pair-{kind}{i}", f"{kind}:127.0.0.1:{d.port}")
              for i in (1, 2)]
        clients = [Client(h, tool, keys["key1"]) for h in hs]
        for _ in range(ROUNDS):
            entries = uses(clients, clients[0].mint("user=alice"))
            assert_once(entries)
            # both servers took part
            assert {e["host"] for e in entries} == {f"b.test:{h.port}" for h in hs}
        for h in hs:
            h.stop()
    finally:
        d.stop()


def test_server_list_shards_ids(httpd, module_so, tool, keys, gen_dir):
    """Two redis servers listed: every id goes to one of them (both get
    some), and each ticket is still accepted once."""
    d1, d2 = store_daemon("redis", gen_dir), None
    try:
        d2 = store_daemon("redis", gen_dir)
        h = site(httpd, keys, "shards",
                 f"redis:127.0.0.1:{d1.port},127.0.0.1:{d2.port}")
        b = Client(h, tool, keys["key1"])
        for _ in range(12):
            t = b.mint("user=alice")
            assert [e["result"] for e in uses([b], t, n=4)].count("replaced") == 1
        n1, n2 = (redis_dbsize(d.port) for d in (d1, d2))
        assert n1 + n2 == 12 and n1 and n2, (n1, n2)
        h.stop()
    finally:
        d1.stop()
        if d2:
            d2.stop()


@pytest.mark.parametrize("kind", ["memcache", "redis"])
def test_ids_stored_by_the_previous_version_are_seen(httpd, module_so, tool, keys, gen_dir,
                                                     kind):
    """During a rolling upgrade, servers still on a version that used
    mod_socache_memcache/redis store an id under "mod_shared_session-replay:"
    and its hex; an upgraded server sees it (and the other way round)."""
    d = store_daemon(kind, gen_dir)
    try:
        h = site(httpd, keys, f"upgrade-{kind}", f"{kind}:127.0.0.1:{d.port}")
        b = Client(h, tool, keys["key1"])
        key = sstickets.key_from_file(keys["key1"])
        nonce = bytes(range(100, 124))
        name = b"mod_shared_session-replay:" + nonce.hex().encode()
        if kind == "redis":
            cmd = (b"*4\r\n$5\r\nSETEX\r\n$%d\r\n%s\r\n$2\r\n60\r\n$8\r\n12345678\r\n"
                   % (len(name), name))
            want = b"+OK\r\n"
        else:
            cmd = b"set %s 0 60 8\r\n12345678\r\n" % name
            want = b"STORED\r\n"
        with socket.create_connection(("127.0.0.1", d.port), timeout=5) as s:
            s.sendall(cmd)
            assert s.recv(100) == want
        t = sstickets.seal(key, "a.test", "b.test", nonce=nonce)
        e = h.access_entry(b.script(t))
        assert (e["result"], e["reason"]) == ("rejected", "replayed")
        # and a key this version stores is under the same name
        nonce2 = bytes(range(50, 74))
        t2 = sstickets.seal(key, "a.test", "b.test", nonce=nonce2)
        assert h.access_entry(b.script(t2))["result"] == "replaced"
        name2 = b"mod_shared_session-replay:" + nonce2.hex().encode()
        get = (b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(name2), name2)
               if kind == "redis" else b"get %s\r\n" % name2)
        with socket.create_connection(("127.0.0.1", d.port), timeout=5) as s:
            s.sendall(get)
            time.sleep(0.2)
            reply = s.recv(300)
        assert reply.startswith(b"$1\r\n1" if kind == "redis" else b"VALUE " + name2), reply
        h.stop()
    finally:
        d.stop()


def redis_dbsize(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"*1\r\n$6\r\nDBSIZE\r\n")
        reply = s.recv(100)
    assert reply.startswith(b":"), reply
    return int(reply[1:].strip())


# ---------------------------------------------------------------------------
# A graceful restart: old-generation children finish the requests they
# were reading while the new generation already serves.

def _begin(port, ticket, referer, test_id):
    """A request to an old-generation child, cut before its last line."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall((f"GET /shared-session/{ticket}.js HTTP/1.1\r\n"
               f"Host: b.test:{port}\r\nReferer: {referer}\r\n"
               f"X-Test-Id: {test_id}\r\nConnection: close\r\n").encode())
    return s


def _finish(s):
    s.sendall(b"\r\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    return data


@pytest.mark.parametrize("kind", ["shmcb", "dbm"])
def test_uses_racing_a_graceful_restart_accepted_once(httpd, module_so, tool, keys, kind):
    spec = "shmcb" if kind == "shmcb" else "dbm:{data}/replay"
    h = site(httpd, keys, f"graceful-{kind}", spec,
             modules=["socache_dbm"] if kind == "dbm" else [])
    b = Client(h, tool, keys["key1"])
    for rnd in range(3):
        t = b.mint("user=alice")
        old = [_begin(h.port, t, b.referer(), f"g{rnd}-old{i}") for i in range(4)]
        time.sleep(0.3)         # the old children are reading them
        h.graceful()
        entries = []
        done = []
        finishers = [threading.Thread(target=lambda s=s: done.append(_finish(s)))
                     for s in old]
        for th in finishers:
            th.start()
        entries += uses([b], t, n=16)
        for th in finishers:
            th.join(15)
        assert len(done) == 4
        entries += [h.access_entry(f"g{rnd}-old{i}") for i in range(4)]
        assert_once(entries)
        # and the ticket stays used in the new generation
        assert [e["reason"] for e in uses([b], t, n=2)] == ["replayed", "replayed"]


def test_cache_is_the_same_after_restarts(httpd, module_so, tool, keys):
    """A ticket used before two graceful restarts is still refused after
    them; the cache is made once (one line saying its size)."""
    h = site(httpd, keys, "kept", "shmcb")
    b = Client(h, tool, keys["key1"])
    t = b.mint("user=alice")
    assert_once(uses([b], t, n=2))
    h.graceful()
    h.graceful()
    assert [e["reason"] for e in uses([b], t, n=3)] == ["replayed"] * 3
    assert h.error_log_text().count("MSS00065") == 1


# ---------------------------------------------------------------------------
# The store goes down and comes back.

@pytest.mark.allow_log("MSS01040")
@pytest.mark.parametrize("kind", ["memcache", "redis"])
def test_store_down_then_back(httpd, module_so, tool, keys, gen_dir, kind):
    d = store_daemon(kind, gen_dir)
    port, argv = d.port, d.argv
    h = site(httpd, keys, f"down-{kind}", f"{kind}:127.0.0.1:{port}")
    b = Client(h, tool, keys["key1"])
    assert_once(uses([b], b.mint(), n=10))      # connections are open now
    d.stop()
    for _ in range(3):
        entries = uses([b], b.mint(), n=10)
        assert outcome_counts(entries) == {"rejected/cache-unavailable": 10}
    assert h.wait_error_log(r"MSS01040: replay cache .*(cannot connect|closed|send)")
    d = pyhttpd.Daemon(argv, port, f"{kind}-back", gen_dir).start()
    try:
        # every child tries again 0.5 s after a failed connect
        deadline = time.monotonic() + 5
        while True:
            time.sleep(0.6)
            counts = outcome_counts(uses([b], b.mint(), n=10))
            if counts.get("replaced/-") == 1:
                break
            assert time.monotonic() < deadline, counts
        for _ in range(2):
            assert_once(uses([b], b.mint(), n=20))
        h.stop()
    finally:
        d.stop()


# ---------------------------------------------------------------------------
# A flood of valid tickets cannot push an id out and make a replay pass.

@pytest.mark.allow_log("MSS01041")
def test_flood_cannot_resurrect_a_ticket(httpd, module_so, tool, keys):
    # 64 KB: 16 subcaches of 72 ids (the info line says so)
    h = site(httpd, keys, "flood", "shmcb:{run}/replay(65536)",
             extra="SharedSessionTimeout 120")
    assert h.wait_error_log(r"MSS00065: .*1152 ticket ids \(16 subcaches of 72\)",
                            since_mark=False)
    b = Client(h, tool, keys["key1"])
    key = sstickets.key_from_file(keys["key1"])
    now = int(time.time())
    victim_nonce = bytes([0x30]) + bytes(range(23))
    victim = sstickets.seal(key, "a.test", "b.test", iat=now - 60, nonce=victim_nonce)
    assert_once(uses([b], victim, n=3))
    # 200 tickets of the flooder's own, all valid, all in the victim's
    # subcache (first byte 0x30 modulo 16)
    for i in range(200):
        nonce = bytes([0x30 + 16 * (i % 8)]) + i.to_bytes(4, "big") + bytes(19)
        # minted later and later, as a flood of fresh tickets would be
        t = sstickets.seal(key, "a.test", "b.test", iat=now - 50 + i // 5, nonce=nonce)
        assert h.access_entry(b.script(t))["result"] == "replaced", i
    # the victim's id is gone from shmcb; its replay is still refused
    e = h.access_entry(b.script(victim))
    assert (e["result"], e["reason"]) == ("rejected", "cache-unavailable")
    assert h.wait_error_log(r"MSS01041: replay cache full")
    # a fresh ticket in the same subcache is accepted: the flood only
    # shortens how old a ticket may be
    fresh = sstickets.seal(key, "a.test", "b.test", nonce=bytes([0x30]) + bytes(23 * [7]))
    assert_once(uses([b], fresh, n=3))


# ---------------------------------------------------------------------------
# configtest

def _configtest(h, keys, spec, modules=(), base=None):
    h.write_config(f"SharedSessionSites http://a.test http://b.test\n"
                   f"SharedSessionKeyFile {keys['key1']}\n"
                   f"SharedSessionReplayCache {spec}\n", modules=modules,
                   base_modules=base)
    return h.configtest()


@pytest.mark.parametrize("spec", ["memcache:127.0.0.1:11211", "redis:127.0.0.1",
                                  "redis:10.0.0.5:6379,10.0.0.6:6380",
                                  "memcache:[::1]:11211"])
def test_stores_need_no_socache_module(httpd, module_so, keys, spec):
    base = [m for m in BASE_MODULES if m != "socache_shmcb"]
    rc, out = _configtest(httpd("nosocache"), keys, spec, base=base)
    assert rc == 0, out


@pytest.mark.parametrize("spec,why", [
    ("redis:", "needs a server"),
    ("memcache", "needs a server"),
    ("redis:a,,b", "'' is not a redis server"),
    ("memcache:host:port", "'host:port' is not a memcache server"),
    ("redis:a:6379,a:6379", "listed twice"),
])
def test_bad_server_list(httpd, module_so, keys, spec, why):
    rc, out = _configtest(httpd("badlist"), keys, spec)
    assert rc != 0, out
    assert "SharedSessionReplayCache" in out and why in out, out


@pytest.mark.allow_log("MSS01041")
def test_default_cache_holds_584_ids_per_subcache(httpd, module_so, tool, keys):
    """The default 4 MB: 128 subcaches of 584 ids (74,752).  An id stays
    while its subcache takes 583 more; the 584th pushes it out, and then
    its replay is refused as cache-unavailable, never accepted."""
    h = site(httpd, keys, "capacity", "shmcb", extra="SharedSessionTimeout 600")
    assert h.wait_error_log(r"MSS00065: .*74752 ticket ids \(128 subcaches of 584\)",
                            since_mark=False)
    b = Client(h, tool, keys["key1"])
    key = sstickets.key_from_file(keys["key1"])
    now = int(time.time())

    def use(i, iat):
        # first byte a multiple of 128: all in subcache 0
        nonce = bytes([128 * (i % 2)]) + i.to_bytes(4, "big") + bytes(19)
        t = sstickets.seal(key, "a.test", "b.test", iat=iat, nonce=nonce)
        e = h.access_entry(b.script(t))
        return t, (e["result"], e["reason"])

    victim, outcome = use(0, now - 500)
    assert outcome == ("replaced", "-")
    for i in range(1, 584):
        assert use(i, now - 400 + i // 2)[1] == ("replaced", "-"), i
    e = h.access_entry(b.script(victim))
    assert (e["result"], e["reason"]) == ("rejected", "replayed")
    assert use(584, now - 100)[1] == ("replaced", "-")
    e = h.access_entry(b.script(victim))
    assert (e["result"], e["reason"]) == ("rejected", "cache-unavailable")
