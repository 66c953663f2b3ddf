#!/usr/bin/env python3
"""./dev soak: load and fault runs against a real apache2: memory, restarts,
replay-cache outages and key rotation under load.

Scenarios (all by default, in this order; --only picks some):

  load      wrk, 64 keep-alive connections, mixing filtered HTML pages on
            a.test (with A's session cookie: each page seals a loader ticket),
            fresh script tickets and fresh navigation tickets on b.test (B's
            session cookie on the navigation ones: kept); child RSS sampled
            from /proc every few seconds.  Pass: zero socket errors, zero
            unexpected statuses (and page bodies with their loader), every
            ticket accepted (script: replaced, navigation: kept), child RSS
            growth < 5 % from the end of the warm-up to the end.  Reported,
            not a pass condition: how long the default shmcb replay cache
            remembers a ticket id at this rate (probes replayed 1/5/15 s on).
  graceful  the same load with `apache2 -k graceful` every 5 s.  Pass: zero
            failed requests (socket errors, non-2xx/3xx), every restart
            completed, every ticket accepted, a ticket used before a restart
            still refused after it (replayed), nothing crashed.
  redis     the same load with SharedSessionReplayCache redis:127.0.0.1:P, the
            redis-server (started here, with its append-only file so that
            the ids outlive the stop) stopped at 30 % of the run and started
            again at 50 %.  Pass: no ticket accepted while redis is down, all
            refused with reason cache-unavailable and logged (MSS01040),
            pages served throughout, no crash, tickets accepted again by
            themselves within 30 s of redis returning (probed after the load
            when the load ended first), tickets used before the outage never
            accepted again.
  keys      the same load with SharedSessionKeyFile K1 K2; at half time K2's
            file is replaced by a third key K3 and graceful is issued.
            Pass: no request fails, the load's tickets (sealed with K1, still
            listed) are all accepted, probes sealed with K2 are accepted
            before and refused after (unknown-key), K3 the reverse.

The scenarios that restart (graceful, keys) send Connection: close on every
request: httpd itself drops keep-alive requests on restarts (see below).

Every scenario runs its own apache2 (event MPM, 2 children x (connections
+ 32) threads: 96 for the default 64 connections) on a free 127.0.0.1 port, with its directory under
build/soak/<scenario>/ (logs and config kept until the next run).
Tickets come from `shared-session-tool mint --count N`, one file per wrk
thread, sized from a 2 s pages-only warm-up run.  They must stay fresh for
the whole run, so SharedSessionTimeout is the run's length plus two minutes.
Every shmcb scenario uses a 32 MiB replay cache (about 600,000 ids): tickets
minted before the run stay valid for all of it, and a cache that cannot hold
them all refuses those whose ids it may have dropped (cache-unavailable).

Options: --quick (12 s per scenario, a little over a minute in all),
--duration S, --connections C, --threads T, --only a,b.  Exit status 1 when
a check failed, 2 on a usage or set-up error.
"""

import argparse
import base64
import hashlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

TOP = Path(os.environ.get("TOP") or Path(__file__).resolve().parent.parent).resolve()
os.environ.setdefault("SS_TOP", str(TOP))
os.environ.setdefault("SS_BUILD", str(TOP))
sys.path.insert(0, str(TOP / "test" / "integration"))
sys.dont_write_bytecode = True

import pyhttpd  # noqa: E402
from pyhttpd import Daemon, Httpd, Tool, children_of, request  # noqa: E402

HERE = Path(__file__).resolve().parent
MIX_LUA = HERE / "mix.lua"
SOAK_ROOT = pyhttpd.BUILD / "build" / "soak"

NEXT = "/after?x=1"
A_COOKIE = "asess=user=alice&role=admin"
# Navigation tickets are bound to the state cookie of the browser that
# started the flow at B's start: every navigation ticket of a run is bound
# to this one, which the navigation requests carry beside B's session.
NAV_STATE = secrets.token_urlsafe(16)
NAV_STATE_COOKIE = "ssst-{}={}".format(base64.urlsafe_b64encode(
    hashlib.blake2b(NAV_STATE.encode(), digest_size=16).digest()).decode()[:8], NAV_STATE)
B_COOKIE = "bsess=user=bob&cart=3; " + NAV_STATE_COOKIE
SESSION = "user=alice&role=admin"
BIG_SHMCB = 32 * 1024 * 1024
EXPECTED_KEYS = {"page:200", "script:200", "nav:303"}
CONNECTIONS = [64]          # --connections (sizes the MPM)

SOAK_FORMAT = (r"%{msec}t\t%>s\t%{Host}i\t%U\t%{SHARED_SESSION_RESULT}e\t"
               r"%{SHARED_SESSION_REASON}e\t%{X-Test-Id}i")
SOAK_FIELDS = ("ms", "status", "host", "uri", "result", "reason", "test_id")

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>soak page</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<h1>A page of site A</h1>
{paragraphs}
</body>
</html>
"""

# Restarts and keep-alive: on `graceful` the old generation closes its idle
# keep-alive connections; a client that sent its next request on one at that
# moment sees the connection close without an answer.  Browsers retry such
# requests (RFC 9112 section 9.3.1), wrk counts a read error.  Seen here for a
# static file with no module involved: 181 read errors in 16 s with three
# graceful restarts at 64 keep-alive connections, 0 with Connection: close.
# So the scenarios that restart (graceful, keys) send Connection: close, and
# every request is a new connection, which is what they test.

# Two children, each with more workers than wrk has connections: an event
# MPM child whose workers are all busy closes its idle keep-alive connections
# to make room, and a client that just sent its next request on one sees the
# connection close (wrk: a read error; seen with 64 workers in all for 64
# connections, 0.3-1 % of the requests, for a static file without the module
# too).  MaxSpareThreads high: no child is stopped for being idle, so the RSS
# of the same two children is compared from warm-up to the end.  ServerLimit
# leaves room for the old generation during graceful restarts.
def threads_per_child(connections):
    return connections + 32

MPM = """
ServerLimit 6
StartServers 2
ThreadLimit {threads}
ThreadsPerChild {threads}
MaxRequestWorkers {workers}
MinSpareThreads 8
MaxSpareThreads 1024
MaxConnectionsPerChild 0
ListenBacklog 1024
BufferedLogs On
"""

VHOSTS = """
<VirtualHost 127.0.0.1:{port}>
    ServerName a.test
    Session On
    SessionCookieName asess path=/
    <Location /shared-session/>
        SetHandler shared-session
    </Location>
    <Location /pages/>
        SetOutputFilter SHARED_SESSION
    </Location>
</VirtualHost>

<VirtualHost 127.0.0.1:{port}>
    ServerName b.test
    Session On
    SessionCookieName bsess path=/
    <Location /shared-session/>
        SetHandler shared-session
    </Location>
</VirtualHost>
"""


class SetupError(Exception):
    pass


def say(msg):
    print(msg, flush=True)


def loadavg():
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


# ---------------------------------------------------------------------------
# One apache2 per scenario.

def fresh_dir(path, mode=0o755):
    """path, emptied (left over from an earlier run) and created; mode: so
    that apache2's www-data children can read it (None: as created)."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    if mode is not None:
        os.chmod(path, mode)
    return path


class Run:
    def __init__(self, name, keyfiles, timeout, cache=None, modules=()):
        self.name = name
        self.dir = fresh_dir(SOAK_ROOT / name)
        self.h = Httpd(name, base_dir=self.dir)
        self.keyfiles = keyfiles
        self.timeout = timeout
        self.cache = cache
        self.modules = list(modules)
        self.soak_log = self.h.logs / "soak_log"
        self.threads = threads_per_child(CONNECTIONS[0])

    def write(self):
        h = self.h
        paragraphs = "\n".join(f"<p>Paragraph {i}: " + "lorem ipsum dolor sit amet " * 6 + "</p>"
                               for i in range(12))
        h.write_file("htdocs/pages/page.html", PAGE.format(paragraphs=paragraphs))
        h.write_file("htdocs/index.html", "<html><head></head><body>soak</body></html>\n")
        mpm = MPM.replace("{threads}", str(self.threads)).replace(
            "{workers}", str(2 * self.threads))
        lines = [mpm,
                 f"LogFormat \"{SOAK_FORMAT}\" soak",
                 "SharedSessionSites http://a.test http://b.test",
                 "SharedSessionKeyFile " + " ".join(str(k) for k in self.keyfiles),
                 f"SharedSessionTimeout {self.timeout}"]
        if self.cache:
            lines.append(f"SharedSessionReplayCache {self.cache}")
        lines.append(VHOSTS)
        h.write_config("\n".join(lines), modules=self.modules, loglevel="notice")
        # one access log, with times (the harness's own format has none)
        text = h.conf.read_text()
        text, n = re.subn(r'^CustomLog "[^"]*/access_log" sstest$',
                          f'CustomLog "{self.soak_log}" soak', text, flags=re.M)
        if n != 1:
            raise SetupError("cannot find the harness's CustomLog line in " + str(h.conf))
        h.conf.write_text(text)
        rc, out = h.configtest()
        if rc != 0:
            raise SetupError(f"configtest failed for {self.name}:\n{out}")

    def start(self):
        self.write()
        self.h.start(timeout=20)
        return self

    def stop(self):
        self.h.stop()

    def generations(self):
        return self.h.error_log_text().count("resuming normal operations")

    def graceful_async(self):
        """apache2 -k graceful, without waiting for the new generation."""
        rc, out = self.h._run("-k", "graceful")
        if rc != 0:
            raise SetupError(f"graceful failed ({rc}): {out}")

    def wait_generation(self, before, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.generations() > before:
                return True
            time.sleep(0.05)
        return False

    def entries(self):
        out = []
        try:
            text = self.soak_log.read_text(errors="replace")
        except FileNotFoundError:
            return out
        for line in text.splitlines():
            parts = line.split("\t")
            if len(parts) != len(SOAK_FIELDS):
                continue
            e = dict(zip(SOAK_FIELDS, parts))
            try:
                e["t"] = int(e["ms"]) / 1000.0
            except ValueError:
                continue
            uri = e["uri"]
            if uri.endswith("<ticket>.js"):
                e["kind"] = "script"
            elif uri.endswith("<ticket>"):
                e["kind"] = "nav"
            elif uri.startswith("/pages/"):
                e["kind"] = "page"
            else:
                e["kind"] = "other"
            out.append(e)
        return out

    def crashes(self):
        return [line for line in self.h.error_log_text().splitlines()
                if pyhttpd.DIED_RE.search(line)]

    def log_lines(self, pattern):
        rx = re.compile(pattern)
        return [line for line in self.h.error_log_text().splitlines() if rx.search(line)]


# ---------------------------------------------------------------------------
# Tickets, wrk, samplers, probes.

def mint_files(tool, key, prefix, count, threads, nav=None):
    """count tickets in PREFIX-0.txt .. PREFIX-<threads-1>.txt (one file per
    wrk thread); returns the prefix."""
    for i in range(threads):
        mint_file(tool, key, Path(f"{prefix}-{i}.txt"), count // threads + 1, nav=nav)
    return prefix


def mint_file(tool, key, path, count, nav=None, src="a.test", dst="b.test"):
    args = [str(tool.path), "mint", "--key", str(key), "--src", src, "--dst", dst,
            "--session", SESSION, "--count", str(count)]
    if nav:
        args += ["--nav", nav, "--state", NAV_STATE]
    with open(path, "w") as f:
        cp = subprocess.run(args, stdout=f, stderr=subprocess.PIPE, text=True, timeout=300)
    if cp.returncode != 0:
        raise SetupError(f"shared-session-tool mint failed: {cp.stderr}")
    return path


class Wrk:
    def __init__(self, run, seconds, connections, threads, mix, script_prefix="-",
                 nav_prefix="-", close=False):
        exe = shutil.which("wrk")
        if not exe:
            raise SetupError("wrk not found: install the Debian package wrk")
        self.threads = threads
        self.ready = run.dir / f"ready-{time.monotonic_ns()}"
        self.argv = [exe, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
                     "--timeout", "10s", "-s", str(MIX_LUA),
                     f"http://127.0.0.1:{run.h.port}/", "--",
                     str(script_prefix), str(nav_prefix), mix, A_COOKIE, B_COOKIE, NEXT,
                     str(run.h.port), str(self.ready), "close" if close else "keep-alive"]
        self.proc = None
        self.out = ""

    def start(self):
        """Starts wrk; returns once every thread has loaded its tickets (wrk's
        -d counts from then), setting self.started."""
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        marks = [Path(f"{self.ready}-{i}") for i in range(self.threads)]
        while not all(m.exists() for m in marks):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise SetupError(f"wrk did not start:\n{self.proc.stdout.read() if self.proc.stdout else ''}")
            time.sleep(0.01)
        self.started = time.time()
        return self

    def wait(self, timeout):
        try:
            self.out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise SetupError("wrk did not finish in time")
        self.ended = time.time()
        return self.parse()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()

    def parse(self):
        res = {"counts": {}, "summary": {}, "rps": None, "raw": self.out}
        for line in self.out.splitlines():
            if line.startswith("SOAK-COUNTS"):
                for kv in line.split("\t")[1:]:
                    k, _, v = kv.rpartition("=")
                    res["counts"][k] = int(v)
            elif line.startswith("SOAK-SUMMARY"):
                for kv in line.split("\t")[1:]:
                    k, _, v = kv.partition("=")
                    res["summary"][k] = int(v)
            elif line.strip().startswith("Requests/sec:"):
                res["rps"] = float(line.split()[1])
        if not res["summary"]:
            raise SetupError(f"no summary from wrk (exit {self.proc.returncode}):\n{self.out}")
        return res


class RssSampler(threading.Thread):
    """Private resident memory (kB: VmRSS less RssShmem) of every child of the
    apache2 parent, every `every` s.  The replay cache's shared segment is
    left out: its pages become resident as the cache fills for the first
    time, which is not growth of a child."""

    def __init__(self, ppid, every):
        super().__init__(daemon=True)
        self.ppid = ppid
        self.every = every
        self.samples = []          # (time, {pid: kB})
        self.stopping = threading.Event()

    @staticmethod
    def rss(pid):
        vals = {}
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith(("VmRSS:", "RssShmem:")):
                        vals[line.split(":")[0]] = int(line.split()[1])
        except OSError:
            pass
        if "VmRSS" not in vals:
            return None
        return vals["VmRSS"] - vals.get("RssShmem", 0)

    def sample(self):
        kids = {}
        for pid in children_of(self.ppid):
            v = self.rss(pid)
            if v is not None:
                kids[pid] = v
        self.samples.append((time.time(), kids))

    def run(self):
        while not self.stopping.is_set():
            self.sample()
            self.stopping.wait(self.every)

    def stop(self):
        self.stopping.set()
        self.join()

    def at(self, t):
        """The first sample at or after t."""
        for s in self.samples:
            if s[0] >= t:
                return s
        return self.samples[-1] if self.samples else None


class Prober:
    """Requests sent next to the load, looked up in the log afterwards by
    their X-Test-Id.  expect: a set of acceptable (result, reason)."""

    def __init__(self, run, tool, key):
        self.run = run
        self.tool = tool
        self.key = key
        self.sent = []             # (test_id, label, expect, time, status)
        self.last_response = None

    def ticket(self, key=None, nav=False):
        args = ["mint", "--key", key or self.key, "--src", "a.test", "--dst", "b.test",
                "--session", "user=probe"]
        if nav:
            args += ["--nav", NEXT, "--state", NAV_STATE]
        return self.tool.run(*args, check=True).stdout.strip()

    def send(self, ticket, label, expect, cookie=None):
        hs = [("Referer", "http://a.test/pages/page.html")]   # the entry: port 80
        if cookie:
            hs.append(("Cookie", cookie))
        t = time.time()
        self.last_response = None
        try:
            r = request(self.run.h.port, f"/shared-session/{ticket}.js", host="b.test",
                        headers=hs, timeout=15)
            status, test_id = r.status, r.test_id
            self.last_response = r
        except OSError as e:
            status, test_id = f"error: {e}", None
        self.sent.append((test_id, label, frozenset(expect), t, status))
        return test_id

    def results(self, entries):
        by_id = {e["test_id"]: e for e in entries if e["test_id"] != "-"}
        out = []
        for test_id, label, expect, t, status in self.sent:
            e = by_id.get(test_id)
            got = (e["result"], e["reason"]) if e else ("(no log line)", str(status))
            out.append({"label": label, "expect": expect, "got": got, "t": t,
                        "ok": got in expect and status == 200})
        return out


ACCEPTED = {("replaced", "-"), ("kept", "-")}
REPLAYED = {("rejected", "replayed")}


# ---------------------------------------------------------------------------
# Reporting.

class Report:
    def __init__(self, name, title):
        self.name = name
        self.title = title
        self.figures = []
        self.checks = []

    def fig(self, label, text):
        self.figures.append((label, text))

    def check(self, ok, text):
        self.checks.append((bool(ok), text))
        return ok

    @property
    def ok(self):
        return all(ok for ok, _ in self.checks)

    def print(self):
        say(f"\n== {self.name}: {self.title}")
        width = max([len(lbl) for lbl, _ in self.figures] + [8])
        for label, text in self.figures:
            first, *rest = str(text).split("\n")
            say(f"   {label:<{width}}  {first}")
            for line in rest:
                say(f"   {'':<{width}}  {line}")
        for ok, text in self.checks:
            say(f"   [{'PASS' if ok else 'FAIL'}] {text}")


def fmt_counts(counts, prefix=None):
    keys = sorted(k for k in counts if prefix is None or k.startswith(prefix))
    return ", ".join(f"{k}={counts[k]}" for k in keys) or "none"


def wrk_figures(rep, res, seconds, connections, threads):
    s = res["summary"]
    dur = s["duration_us"] / 1e6 if s.get("duration_us") else seconds
    rep.fig("requests", f"{s['requests']} in {dur:.1f} s = {s['requests'] / dur:.0f} req/s "
            f"({connections} connections, {threads} wrk threads)")
    resp = {k: v for k, v in res["counts"].items()
            if not k.startswith(("sent:", "exhausted:"))}
    rep.fig("statuses", fmt_counts(resp))
    rep.fig("sent", fmt_counts(res["counts"], "sent:") +
            (f"; tickets ran out: {fmt_counts(res['counts'], 'exhausted:')}"
             if any(k.startswith("exhausted:") for k in res["counts"]) else ""))
    rep.fig("socket errors", f"connect {s['connect']}, read {s['read']}, write {s['write']}, "
            f"timeout {s['timeout']}; non-2xx/3xx {s['status']}")
    rep.fig("latency", f"mean {s['lat_mean_us'] / 1000:.1f} ms, p50 {s['lat_p50_us'] / 1000:.1f} ms, "
            f"p99 {s['lat_p99_us'] / 1000:.1f} ms, max {s['lat_max_us'] / 1000:.1f} ms")
    return resp


def window_figure(rep, entries, t0, seconds):
    """When wrk's requests reached apache2, from the access log."""
    ts = [e["t"] for e in entries if e["test_id"] == "-" and e["kind"] in ("script", "nav")]
    if ts:
        rep.fig("load window", f"tickets from t={min(ts) - t0:.1f} s to t={max(ts) - t0:.1f} s "
                f"(t=0: every wrk thread loaded; -d {seconds} s)")


def wrk_checks(rep, res):
    s = res["summary"]
    errors = s["connect"] + s["read"] + s["write"] + s["timeout"]
    rep.check(errors == 0, f"zero socket errors ({errors})")
    unexpected = {k: v for k, v in res["counts"].items()
                  if not k.startswith(("sent:", "exhausted:")) and k not in EXPECTED_KEYS}
    rep.check(s["status"] == 0 and not unexpected,
              f"zero unexpected statuses (non-2xx/3xx {s['status']}; "
              f"other answers: {fmt_counts(unexpected)})")
    total = s["requests"] or 1
    exhausted = sum(v for k, v in res["counts"].items() if k.startswith("exhausted:"))
    rep.check(exhausted <= total // 100,
              f"the mix held: ticket requests that found no fresh ticket {exhausted} (<= 1 %)")


def outcome_table(entries, kinds=("script", "nav")):
    table = {}
    for e in entries:
        if e["kind"] in kinds and e["test_id"] == "-":
            key = (e["kind"], e["result"], e["reason"])
            table[key] = table.get(key, 0) + 1
    return table


def fmt_outcomes(table):
    if not table:
        return "none"
    return ", ".join(f"{k}: {r}{'' if why == '-' else ' ' + why}={n}"
                     for (k, r, why), n in sorted(table.items()))


def load_outcome_checks(rep, entries, label="the load's tickets"):
    """script tickets (no B cookie) are replaced, navigation tickets (B has
    a session) kept: anything else is unexpected."""
    table = outcome_table(entries)
    rep.fig("ticket outcomes", fmt_outcomes(table))
    bad = {k: n for k, n in table.items()
           if k not in (("script", "replaced", "-"), ("nav", "kept", "-"))}
    rep.check(not bad, f"{label} all accepted (script replaced, navigation kept); "
              f"other outcomes: {fmt_outcomes(bad)}")
    pages = [e for e in entries if e["kind"] == "page" and e["test_id"] == "-"]
    bad_pages = sum(1 for e in pages if e["status"] != "200")
    return table, pages, bad_pages


def crash_check(rep, run):
    crashes = run.crashes()
    rep.check(not crashes, f"nothing crashed (no 'exit signal' / segfault in the error log: "
              f"{len(crashes)})" + ("\n      " + "\n      ".join(crashes[:5]) if crashes else ""))


# ---------------------------------------------------------------------------
# Scenarios.

class Ctx:
    def __init__(self, args):
        self.args = args
        self.tool = Tool()
        self.keys_dir = fresh_dir(SOAK_ROOT / "keyfiles")
        self.key1 = self.tool.write_key(self.keys_dir / "k1")
        self.rate = None           # req/s seen in the calibration

    def timeout(self):
        return min(3600, self.args.duration + 120)


def calibrate(ctx, run):
    """A short pages-only run: warms the server and tells how many tickets
    the real run needs."""
    w = Wrk(run, 2, ctx.args.connections, ctx.args.threads, "p").start()
    res = w.wait(60)
    s = res["summary"]
    rate = s["requests"] / max(s["duration_us"] / 1e6, 0.1)
    ctx.rate = max(rate, ctx.rate or 0)
    return rate


def tickets_needed(ctx, mix, kind):
    per_cycle = mix.count(kind) / len(mix)
    # the mix runs faster than pages alone (tickets are cheap): twice the
    # pages-only rate (seen: 1.5x)
    n = int(ctx.rate * 2 * ctx.args.duration * per_cycle) + 1000
    return min(n, 3_000_000)


def drive(ctx, run, key, rep, events=(), mix="psn", sampler_every=None, close=False,
          after=None):
    """Mints the tickets, runs wrk for the scenario's duration and the events
    [(seconds after start, callable)] meanwhile, then after(); returns (wrk
    result, sampler or None, start time)."""
    args = ctx.args
    calibrate(ctx, run)
    sf = mint_files(ctx.tool, key, run.dir / "tickets-script", tickets_needed(ctx, mix, "s"),
                    args.threads)
    nf = mint_files(ctx.tool, key, run.dir / "tickets-nav", tickets_needed(ctx, mix, "n"),
                    args.threads, nav=NEXT)
    sampler = None
    if sampler_every:
        sampler = RssSampler(run.h.pid, sampler_every)
    w = Wrk(run, args.duration, args.connections, args.threads, mix, sf, nf, close)
    w.start()
    t0 = w.started
    if sampler:
        sampler.start()
    try:
        for at, fn in sorted(events, key=lambda e: e[0]):
            delay = t0 + at - time.time()
            if delay > 0:
                time.sleep(delay)
            if w.proc.poll() is not None:
                break
            fn()
        res = w.wait(args.duration + 60)
        if after:
            after()
    finally:
        w.kill()
        if sampler:
            sampler.stop()
        # spent tickets: hundreds of MB in a full run
        for f in list(run.dir.glob("tickets-*.txt")) + list(run.dir.glob("ready-*")):
            f.unlink()
    return res, sampler, t0


def scenario_load(ctx):
    args = ctx.args
    rep = Report("load", f"{args.duration} s of wrk, {args.connections} connections, "
                 "pages + script tickets + navigation tickets")
    # the tickets are minted before the run and stay valid for all of it:
    # the cache must hold every id of the run (the default 4 MB holds 74,752;
    # a smaller one refuses the tickets whose ids it may have dropped)
    run = Run("load", [ctx.key1], ctx.timeout(),
              cache=f"shmcb:{SOAK_ROOT / 'load'}/replay({BIG_SHMCB})").start()
    prober = Prober(run, ctx.tool, str(ctx.key1))
    warmup = args.warmup
    events = []
    # replay probes: a ticket used once, then again 1, 5 and 15 s later
    # (a full shmcb cache drops its oldest ids; the module then refuses the
    # tickets that may have been dropped: cache-unavailable, never accepted)
    delays = [1, 5, 15]
    probe_times = [x for x in range(2, max(3, args.duration - 16), 6)]
    for i, at in enumerate(probe_times):
        state = {}

        def first(state=state, i=i):
            state["t"] = prober.ticket()
            prober.send(state["t"], f"probe{i}:first", ACCEPTED)

        events.append((at, first))
        for d in delays:
            if at + d < args.duration - 1:
                events.append((at + d, lambda state=state, i=i, d=d:
                               prober.send(state["t"], f"probe{i}:replay+{d}s",
                                           REPLAYED | {("rejected", "cache-unavailable")})))
    try:
        res, sampler, t0 = drive(ctx, run, ctx.key1, rep, events,
                                 sampler_every=args.rss_every)
    finally:
        run.stop()
    wrk_figures(rep, res, args.duration, args.connections, args.threads)
    entries = run.entries()
    window_figure(rep, entries, t0, args.duration)
    wrk_checks(rep, res)
    _, pages, bad_pages = load_outcome_checks(rep, entries)
    # RSS
    base = sampler.at(t0 + warmup)
    under_load = [x for x in sampler.samples if x[0] <= t0 + args.duration]
    end = under_load[-1] if under_load else None
    if base and end:
        common = sorted(set(base[1]) & set(end[1]))
        b = sum(base[1][p] for p in common)
        e = sum(end[1][p] for p in common)
        growth = (e - b) / b * 100 if b else 0.0
        per = ", ".join(f"pid {p}: {base[1][p]} -> {end[1][p]} kB" for p in common)
        rep.fig("child RSS", f"after warm-up (t={base[0] - t0:.0f} s): {b} kB, end "
                f"(t={end[0] - t0:.0f} s): {e} kB, growth {growth:+.2f} %\n{per}")
        series = " ".join(str(sum(x[1].values())) for x in under_load)
        rep.fig("RSS series", f"all children, kB, every {args.rss_every} s: {series}")
        peak = max(sum(s[1].values()) for s in sampler.samples)
        rep.fig("RSS samples", f"{len(sampler.samples)} every {args.rss_every} s; "
                f"peak (all children) {peak} kB; children at warm-up "
                f"{len(base[1])}, at end {len(end[1])}")
        rep.check(common and growth < 5.0,
                  f"child RSS growth after warm-up < 5 % ({growth:+.2f} % over "
                  f"{len(common)} children)")
        if set(base[1]) != set(end[1]):
            rep.fig("note", "children changed during the run: only those present at "
                    "both samples are compared")
    else:
        rep.check(False, "child RSS sampled")
    rep.check(bad_pages == 0, f"every page answered 200 ({len(pages)} pages with the warm-up, {bad_pages} not)")
    crash_check(rep, run)
    # replay horizon of the default cache (a figure, not a pass condition)
    pr = prober.results(entries)
    firsts = [p for p in pr if p["label"].endswith(":first")]
    rep.fig("replay probes", f"{len(firsts)} probe tickets used once, "
            f"{sum(1 for p in firsts if p['ok'])} accepted")
    for d in delays:
        rs = [p for p in pr if p["label"].endswith(f"replay+{d}s")]
        if rs:
            again = sum(1 for p in rs if p["got"][0] in ("replaced", "kept"))
            full = sum(1 for p in rs if p["got"] == ("rejected", "cache-unavailable"))
            rep.fig(f"  again +{d} s", f"{len(rs)} sent: {again} accepted a second time, "
                    f"{len(rs) - again - full} refused as replayed, {full} as "
                    f"cache-unavailable (id possibly dropped by a full cache)")
    twice = sum(1 for p in pr if "replay" in p["label"] and p["got"][0] in ("replaced", "kept"))
    if twice:
        rep.fig("note", "a ticket was accepted a second time: the replay cache lost an id")
    return rep


def scenario_graceful(ctx):
    args = ctx.args
    rep = Report("graceful", f"{args.duration} s of wrk, {args.connections} connections, "
                 f"apache2 -k graceful every {args.graceful_every} s")
    run = Run("graceful", [ctx.key1], ctx.timeout(),
              cache=f"shmcb:{SOAK_ROOT / 'graceful'}/replay({BIG_SHMCB})").start()
    prober = Prober(run, ctx.tool, str(ctx.key1))
    done = {"issued": 0, "completed": 0, "times": []}

    def restart(i):
        t = prober.ticket()
        prober.send(t, f"g{i}:before", ACCEPTED)
        before = run.generations()
        started = time.monotonic()
        run.graceful_async()
        done["issued"] += 1
        if run.wait_generation(before):
            done["completed"] += 1
            done["times"].append(time.monotonic() - started)
        prober.send(t, f"g{i}:replay-after", REPLAYED)
        prober.send(prober.ticket(), f"g{i}:fresh-after", ACCEPTED)

    events = [(at, lambda i=i: restart(i))
              for i, at in enumerate(range(args.graceful_every, args.duration - 1,
                                           args.graceful_every))]
    try:
        res, _, t0 = drive(ctx, run, ctx.key1, rep, events, close=True)
    finally:
        run.stop()
    wrk_figures(rep, res, args.duration, args.connections, args.threads)
    rep.fig("connections", "Connection: close on every request (httpd loses keep-alive requests on restarts, module or not: see soak.py)")
    entries = run.entries()
    window_figure(rep, entries, t0, args.duration)
    load_outcome_checks(rep, entries)
    times = done["times"]
    rep.fig("restarts", f"{done['issued']} graceful issued, {done['completed']} new generations "
            f"serving" + (f" (after {min(times):.2f}-{max(times):.2f} s)" if times else ""))
    rep.check(done["issued"] > 0 and done["completed"] == done["issued"],
              "every graceful restart completed")
    s = res["summary"]
    failed = s["connect"] + s["read"] + s["write"] + s["timeout"] + s["status"]
    rep.check(failed == 0, f"zero failed requests across the restarts ({failed})")
    wrk_checks(rep, res)
    pr = prober.results(entries)
    for kind in ("before", "replay-after", "fresh-after"):
        rs = [p for p in pr if p["label"].endswith(kind)]
        rep.fig(f"probes {kind}", f"{sum(1 for p in rs if p['ok'])}/{len(rs)} as expected: "
                + fmt_counts({f"{g[0]} {g[1]}": sum(1 for p in rs if p["got"] == g)
                              for g in {p["got"] for p in rs}}))
    twice = [p for p in pr if p["label"].endswith("replay-after")
             and p["got"][0] in ("replaced", "kept")]
    rep.check(not twice, f"tickets used before a restart refused after it (accepted twice: "
              f"{len(twice)} of {sum(1 for p in pr if p['label'].endswith('replay-after'))})")
    rep.check(all(p["ok"] for p in pr if not p["label"].endswith("replay-after")),
              "probe tickets accepted before and after every restart")
    crash_check(rep, run)
    return rep


RECOVERY_WAIT = 30      # seconds after redis returns that sharing may take to resume


def scenario_redis(ctx):
    args = ctx.args
    rep = Report("redis", f"{args.duration} s of wrk, {args.connections} connections, "
                 "redis replay cache stopped at 30 % and started again at 50 %")
    rdir = fresh_dir(SOAK_ROOT / "redis-data", mode=None)
    exe = shutil.which("redis-server")
    if not exe:
        raise SetupError("redis-server not found: install the Debian package redis-server")
    port = pyhttpd.free_port()
    # the append-only file keeps the ids across the stop (a redis without
    # persistence would come back empty and forget every ticket it saw)
    argv = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(rdir),
            "--daemonize", "no"]
    redis = Daemon(argv, port, "redis", rdir).start()
    run = None
    marks = {}
    recovery_probes = []           # (time, accepted) after wrk ended
    try:
        run = Run("redis", [ctx.key1], ctx.timeout(), cache=f"redis:127.0.0.1:{port}").start()
        prober = Prober(run, ctx.tool, str(ctx.key1))
        before_tickets = []
        t_stop = max(2.0, args.duration * 0.3)
        t_start = max(t_stop + 2.0, args.duration * 0.5)

        def probe_before():
            for i in range(3):
                t = prober.ticket()
                before_tickets.append(t)
                prober.send(t, "before:first", ACCEPTED)

        def stop():
            marks["stop"] = time.time()
            redis.stop()               # SIGTERM, waits for the exit
            marks["stopped"] = time.time()

        def probe_during():
            for t in before_tickets:
                prober.send(t, "during:replay", {("rejected", "cache-unavailable")})
            for i in range(3):
                prober.send(prober.ticket(), "during:fresh", {("rejected", "cache-unavailable")})

        def start():
            marks["start"] = time.time()
            redis.start()
            marks["started"] = time.time()

        def probe_after():
            """After the load: fresh tickets (no B cookie: an accepted one
            sets B's cookie) until one is accepted, then the replays."""
            deadline = marks["started"] + RECOVERY_WAIT
            streak = tries = 0
            while streak < 6 and (time.time() < deadline or tries < 6):
                tries += 1
                t = prober.ticket()
                prober.send(t, "after:fresh", ACCEPTED | {("rejected", "cache-unavailable")})
                r = prober.last_response
                ok = r is not None and bool(r.set_cookies("bsess"))
                recovery_probes.append((time.time(), ok))
                streak = streak + 1 if ok else 0
                if not ok:
                    time.sleep(0.5)
            # (a child that has not found redis again yet still refuses)
            for t in before_tickets:
                prober.send(t, "after:replay", REPLAYED | {("rejected", "cache-unavailable")})

        events = [(t_stop - 1.0, probe_before), (t_stop, stop), (t_stop + 1.5, probe_during),
                  (t_start, start)]
        try:
            res, _, t0 = drive(ctx, run, ctx.key1, rep, events, after=probe_after)
        finally:
            run.stop()
    finally:
        redis.stop()
    wrk_figures(rep, res, args.duration, args.connections, args.threads)
    all_entries = run.entries()
    entries = [e for e in all_entries if e["test_id"] == "-"]
    window_figure(rep, entries, t0, args.duration)
    wrk_checks(rep, res)
    tickets = [e for e in entries if e["kind"] in ("script", "nav")]
    pages = [e for e in entries if e["kind"] == "page"]
    if not all(k in marks for k in ("stop", "stopped", "start", "started")):
        rep.check(False, "redis was stopped and started during the run")
        return rep
    st, sd, rs, rd = marks["stop"], marks["stopped"], marks["start"], marks["started"]
    rep.fig("timeline", f"redis stopped at t={st - t0:.1f} s (gone at {sd - t0:.1f} s), "
            f"started at t={rs - t0:.1f} s (listening at {rd - t0:.1f} s), load ends at "
            f"t={args.duration} s")
    # a request logged just before the stop may reach the cache after it
    phases = {"before": [e for e in tickets if e["t"] < st - 1.0],
              "outage": [e for e in tickets if sd < e["t"] < rs],
              "after": [e for e in tickets if e["t"] >= rd]}
    for name, es in phases.items():
        rep.fig(f"tickets {name}", fmt_outcomes(outcome_table(es)))
    accepted_outage = [e for e in phases["outage"] if e["result"] in ("replaced", "kept")]
    rep.check(phases["outage"] and not accepted_outage,
              f"fail closed: no ticket accepted while redis was down "
              f"({len(accepted_outage)} of {len(phases['outage'])})")
    unavailable = [e for e in phases["outage"] if e["reason"] == "cache-unavailable"]
    rep.check(phases["outage"] and len(unavailable) == len(phases["outage"]),
              f"refused with reason cache-unavailable ({len(unavailable)} of "
              f"{len(phases['outage'])})")
    logged = run.log_lines(r"MSS0103[12]|MSS01040")
    span = max(max((e["t"] for e in tickets if e["reason"] == "cache-unavailable"),
                   default=sd) - sd, 1.0)
    rep.fig("error log", f"{len(logged)} 'replay cache lookup/store failed' lines "
            f"(MSS01040, {len(logged) / span:.0f}/s while refusing); "
            f"{len(run.log_lines(r'MSS01034'))} 'answers again'")
    rep.check(logged, "the refusals are logged with the module's reason (MSS01040)")
    before_bad = [e for e in phases["before"] if e["result"] not in ("replaced", "kept")]
    rep.check(phases["before"] and not before_bad,
              f"tickets accepted before the outage ({len(phases['before']) - len(before_bad)} "
              f"of {len(phases['before'])})")
    # recovery: the first acceptance after redis returned (load or probes)
    after = sorted(phases["after"], key=lambda e: e["t"])
    first_ok = next((e["t"] for e in after if e["result"] in ("replaced", "kept")), None)
    if first_ok is None:
        first_ok = next((t for t, ok in recovery_probes if ok), None)
    if first_ok is None:
        rep.check(False, f"sharing resumed by itself: no ticket accepted within "
                  f"{RECOVERY_WAIT} s after redis returned")
    else:
        later_bad = [e for e in after if e["t"] > first_ok and e["result"] == "rejected"]
        last_bad = max((e["t"] for e in after if e["result"] == "rejected"), default=None)
        rep.fig("recovery", f"first ticket accepted {first_ok - rd:.1f} s after redis was "
                f"back ({first_ok - sd:.1f} s after it went away); "
                + (f"last refusal {last_bad - rd:.1f} s after; " if last_bad else "")
                + f"{sum(1 for e in after if e['t'] > first_ok and e['result'] != 'rejected')}"
                f" load tickets accepted since, {len(later_bad)} refused"
                + ("" if any(e["t"] > first_ok for e in after)
                   else " (the load had ended: seen by the probes after it)"))
        rep.fig("", "each child tries a server again 0.5 s after a failed connect: "
                "sharing resumes within about a second of redis being back")
        rep.check(True, f"sharing resumed by itself ({first_ok - rd:.1f} s after redis returned)")
    outage_pages = [e for e in pages if sd < e["t"] < rs]
    bad_pages = [e for e in pages if e["status"] != "200"]
    rep.fig("pages", f"{len(pages)} served, {len(outage_pages)} during the outage, "
            f"{len(bad_pages)} not 200")
    rep.check(outage_pages and not bad_pages, "pages served throughout (200 with loader)")
    crash_check(rep, run)
    pr = prober.results(all_entries)
    for kind in ("before:first", "during:replay", "during:fresh", "after:fresh", "after:replay"):
        rs_ = [p for p in pr if p["label"] == kind]
        rep.fig(f"probes {kind}", f"{sum(1 for p in rs_ if p['ok'])}/{len(rs_)} as expected: "
                + fmt_counts({f"{g[0]} {g[1]}": sum(1 for p in rs_ if p["got"] == g)
                              for g in {p["got"] for p in rs_}}))
    twice = [p for p in pr if "replay" in p["label"] and p["got"][0] in ("replaced", "kept")]
    rep.check(not twice, f"never accepted twice: tickets used before the outage refused "
              f"during and after it ({len(twice)} accepted again)")
    rep.check(all(p["ok"] for p in pr), "every probe answered as expected")
    return rep


def scenario_keys(ctx):
    args = ctx.args
    rep = Report("keys", f"{args.duration} s of wrk, {args.connections} connections, "
                 "key file K2 replaced by K3 at half time + graceful")
    kdir = fresh_dir(SOAK_ROOT / "keys-rotation")
    tool = ctx.tool
    k1 = tool.write_key(kdir / "k1")
    k2 = tool.write_key(kdir / "k2")
    spare = tool.write_key(ctx.keys_dir / "k3")
    k2_copy = ctx.keys_dir / "k2-as-it-was"
    shutil.copy(k2, k2_copy)
    os.chmod(k2_copy, 0o600)
    run = Run("keys", [k1, k2], ctx.timeout(),
              cache=f"shmcb:{SOAK_ROOT / 'keys'}/replay({BIG_SHMCB})").start()
    prober = Prober(run, tool, str(k1))
    marks = {}

    def probes(phase, expect_k2, expect_k3):
        for i in range(5):
            prober.send(prober.ticket(key=str(k1)), f"{phase}:k1", ACCEPTED)
            prober.send(prober.ticket(key=str(k2_copy)), f"{phase}:k2", expect_k2)
            prober.send(prober.ticket(key=str(spare)), f"{phase}:k3", expect_k3)

    def swap():
        tmp = kdir / "k2.new"
        shutil.copy(spare, tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, k2)                    # the file is replaced, atomically
        before = run.generations()
        marks["graceful"] = time.time()
        run.graceful_async()
        marks["completed"] = run.wait_generation(before)
        marks["served"] = time.time()

    unknown = {("rejected", "unknown-key")}
    half = args.duration / 2
    events = [(half - 3, lambda: probes("before", ACCEPTED, unknown)),
              (half, swap),
              (half + 2, lambda: probes("after", unknown, ACCEPTED))]
    try:
        res, _, t0 = drive(ctx, run, k1, rep, events, close=True)
    finally:
        run.stop()
    wrk_figures(rep, res, args.duration, args.connections, args.threads)
    rep.fig("connections", "Connection: close on every request (httpd loses keep-alive requests on restarts, module or not: see soak.py)")
    entries = run.entries()
    window_figure(rep, entries, t0, args.duration)
    load_outcome_checks(rep, entries, "the load's tickets (sealed with K1, listed throughout)")
    if "graceful" in marks:
        rep.fig("rotation", f"K2's file replaced by K3 and graceful issued at "
                f"t={marks['graceful'] - t0:.1f} s; new generation serving after "
                f"{marks['served'] - marks['graceful']:.2f} s")
    rep.check(marks.get("completed"), "the graceful restart completed")
    s = res["summary"]
    failed = s["connect"] + s["read"] + s["write"] + s["timeout"] + s["status"]
    rep.check(failed == 0, f"no request failed ({failed})")
    wrk_checks(rep, res)
    pr = prober.results(entries)
    for phase in ("before", "after"):
        for k in ("k1", "k2", "k3"):
            rs = [p for p in pr if p["label"] == f"{phase}:{k}"]
            got = {f"{g[0]} {g[1]}": sum(1 for p in rs if p["got"] == g)
                   for g in {p["got"] for p in rs}}
            rep.fig(f"{phase} {k.upper()}", f"{sum(1 for p in rs if p['ok'])}/{len(rs)} as "
                    f"expected: {fmt_counts(got)}")
    rep.check(all(p["ok"] for p in pr),
              "K1 accepted throughout; K2 accepted before, unknown-key after; "
              "K3 unknown-key before, accepted after")
    crash_check(rep, run)
    return rep


SCENARIOS = {"load": scenario_load, "graceful": scenario_graceful,
             "redis": scenario_redis, "keys": scenario_keys}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="./dev soak", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="12 s per scenario")
    ap.add_argument("--duration", type=int, help="seconds of load per scenario (default 60)")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    ap.add_argument("--only", help="comma-separated: " + ",".join(SCENARIOS))
    ap.add_argument("--graceful-every", type=int, default=5)
    args = ap.parse_args(argv)
    if args.duration is None:
        args.duration = 12 if args.quick else 60
    if args.duration < 10:
        ap.error("--duration must be at least 10 seconds")
    CONNECTIONS[0] = args.connections
    args.warmup = 5 if args.duration < 30 else 10
    args.rss_every = 1 if args.duration < 30 else 3
    names = args.only.split(",") if args.only else list(SCENARIOS)
    for n in names:
        if n not in SCENARIOS:
            ap.error(f"unknown scenario {n} (scenarios: {', '.join(SCENARIOS)})")
    for what, path in (("module", pyhttpd.MODULE_SO), ("tool", pyhttpd.TOOL)):
        if not Path(path).exists():
            say(f"soak: the {what} is not built: {path} is missing (./dev build)")
            return 2
    SOAK_ROOT.mkdir(parents=True, exist_ok=True)
    say(f"soak: {', '.join(names)}; {args.duration} s each, {args.connections} connections, "
        f"{args.threads} wrk threads; {os.cpu_count()} CPUs, load average {loadavg()}; "
        f"apache2 event MPM, 2 children x {threads_per_child(args.connections)} threads")
    ctx = Ctx(args)
    reports = []
    # stop cleanly on Ctrl-C / SIGTERM: the finally blocks stop what we started
    signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    started = time.monotonic()
    try:
        for n in names:
            try:
                rep = SCENARIOS[n](ctx)
            except SetupError as e:
                rep = Report(n, "set-up failed")
                rep.check(False, str(e))
            rep.print()
            reports.append(rep)
    finally:
        for h in list(Httpd.running):
            h.stop()
    say(f"\nsoak: {sum(r.ok for r in reports)} of {len(reports)} scenarios passed "
        f"({', '.join(f'{r.name} ' + ('PASS' if r.ok else 'FAIL') for r in reports)}); "
        f"{time.monotonic() - started:.0f} s; load average now {loadavg()}; "
        f"logs in {SOAK_ROOT}")
    return 0 if all(r.ok for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
