#!/usr/bin/env python3
"""./dev bench: mod_shared_session's costs as ratios against Apache's own.

Starts Debian's apache2 (event MPM) on 127.0.0.1 with the built module,
drives it with wrk and prints one table.  Every figure is a ratio of the
subject's rate to a baseline's rate measured in the same run on the same
server, alternating baseline and subject (B S, S B, ...) for several rounds;
the median of the per-round ratios is reported.  Next to it, the "cpu
ratio": the server's CPU time per request (from /proc), baseline over
subject, which other load on the machine disturbs much less.  The rows:

  R1        script receiver: a fresh, valid ticket per request (session
            ~200 bytes, cookie store with mod_session_crypto, default shmcb
            replay cache) vs. an empty static .js on the same virtual host
  R1-nav    navigation receiver (303 + session cookie) vs. mod_alias'
            "Redirect 303" on the same virtual host (both answer a 303
            without touching the file system)
  R1-100B, R1-1KiB, R1-4KiB
            R1 with sessions of 100 B, 1 KiB, 4 KiB
  R1-write  R1 vs. the same session write done by mod_session alone
            (static .js + SessionHeader): the module's own share of R1
  R1-plain  R1 with mod_session_cookie without mod_session_crypto
  R2        an 8 KiB HTML page with a ~200-byte session in a cookie, 3 sites
            (2 loader tags) vs. the same page and session, filter off: the
            first page after a change (the session carries its generation,
            the site has not sent it yet)
  R2-steady R2 for a page whose session generation was already sent (the
            site's sssent cookie holds it): no loader
  R2-1, R2-4, R2-16
            R2 with 1, 4 and 16 target sites
  R2-crypto R2 with the session in a mod_session_crypto cookie
  R1-cookie the receiver of a site in cookie mode (SharedSessionCookie, the
            application's session cookie and the marker, no mod_session)
            vs. an empty static .js on the same virtual host
  R2-cookie R2 in cookie mode (the request carries the application's cookie
            and its marker; SharedSessionResend 0: a loader on every page)
  R2-cookie-proxy
            R2-cookie with the page proxied (mod_proxy_http) to a real
            application, the Django site of test/integration/apps served by
            gunicorn, which re-sends its session cookie on every response
  R3        a 100 MiB HTML page (</head> in its first KiB) through the
            filter vs. without: throughput (one child)
  R3-scan   the worst case: 100 MiB whose only insertion point is at the
            very end, so that the filter scans every byte
  R3-rss    peak RSS (VmHWM) growth of the single serving child for the
            100 MiB worst case minus the same for 1 KiB, filter on (and,
            for comparison, off)
  G-loaders one user viewing 150 pages round-robin on 3 sites with an
            unchanged session: cross-site loader requests per 100 page views,
            SharedSessionResend 600 (the default) vs. 0 (a loader on every page)
  G-cpu     the same views: the servers' CPU per page view (the page and
            the receiving sites' work, mod_session_crypto cookies), Resend 0
            over the default
  P1        an 8 KiB page on B reached without a cross-site Referer (an
            in-site navigation over plain http: Referer from B itself,
            Upgrade-Insecure-Requests: 1, the deepest the pull's check goes
            for a page it does not pull), SharedSessionPull On vs. Off
  P1-arrival
            one arrival that pulls (B's page, B's start, A's go, B's ticket,
            B's page again; A has a 200 B session), run one after the other
            on one keep-alive connection, vs. the page alone: arrivals/s vs
            pages/s, the server's CPU time (A and B together) per arrival
  C-*       ticket seal/open in microseconds per operation (crypto_bench)

Tickets are minted in bulk with shared-session-tool mint --count into a
file that bench/requests.lua reads, one per request; the script counts the
responses that show the work (a Set-Cookie, a loader tag), and the run
reports a problem when they are not all there.  By default wrk and apache2
share the CPUs; --pin puts apache2 on one CPU and wrk on another, so that
the rates are the server's own and the rounds agree much more closely.  Goals are printed with
PASS/FAIL; the exit status is 0 whatever they say (numbers, not a test).
Options: see --help.
"""

import argparse
import datetime
import http.client
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

TOP = Path(os.environ.get("TOP") or Path(__file__).resolve().parent.parent).resolve()
BUILD = Path(os.environ.get("SS_BUILD") or TOP).resolve()
BENCH = TOP / "bench"
CONF = BENCH / "conf"
sys.path.insert(0, str(TOP / "test" / "integration"))
sys.dont_write_bytecode = True

import pyhttpd  # noqa: E402  (the integration harness: Httpd, children_of)
import sstickets  # noqa: E402  (the state cookie of the navigation flow)

# the state cookie every navigation ticket of a run is bound to: a browser
# that started the flow holds it (one flow for all, as wrk sends one cookie)
NAV_STATE = sstickets.state_text()
NAV_COOKIE = sstickets.state_cookie(NAV_STATE)

MODULE_SO = BUILD / ".libs" / "mod_shared_session.so"
TOOL = BUILD / "shared-session-tool"
CRYPTO_BENCH = BUILD / "build" / "bench" / "crypto_bench"
WRK = shutil.which("wrk") or "/usr/bin/wrk"

MODULES = ["mpm_event", "authz_core", "mime", "alias", "headers", "session",
           "session_cookie", "session_crypto", "socache_shmcb", "proxy", "proxy_http"]
PASSPHRASE = "bench-passphrase-0123456789"
MIB = 1024 * 1024


def say(msg):
    print(f"==> {msg}", file=sys.stderr, flush=True)


def session_of(size):
    """A session in mod_session's encoding of exactly `size` bytes (no '%':
    mod_headers would read it as a format)."""
    head = "user=alice&uid=1001&lang=en&roles=admin.editor&csrf="
    pad = "abcdefghijklmnopqrstuvwxyz0123456789"
    if size <= len(head):
        return ("user=" + pad * 4)[:size]
    return head + (pad * (size // len(pad) + 1))[:size - len(head)]


def html_page(size):
    """A page of about `size` bytes: a head of about 1 KiB, then a body."""
    head = ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>Benchmark page</title>\n"
            "<link rel=\"stylesheet\" href=\"/static/site.css\">\n"
            "<link rel=\"icon\" href=\"/static/favicon.png\">\n"
            "<script src=\"/static/app.js\" defer></script>\n"
            + "".join(f"<meta property=\"og:x{i}\" content=\"value {i} of the page\">\n"
                      for i in range(12))
            + "</head>\n<body>\n<main>\n")
    row = ("<div class=\"row\"><p>Lorem ipsum dolor sit amet, <a href=\"/x\">"
           "consectetur</a> adipiscing elit.</p></div>\n")
    tail = "</main>\n</body>\n</html>\n"
    body = row * max(0, (size - len(head) - len(tail)) // len(row))
    text = head + body + tail
    return text + " " * max(0, size - len(text))


def write_stream_page(path, size, head_first):
    """`size` bytes of HTML rows.  head_first: a real page, </head> in the
    first KiB (the filter inserts there and steps aside); otherwise the only
    insertion point is at the very end, so that the filter scans every byte
    (the worst case for its speed and for what it must not keep)."""
    row = ("<div class=\"row\"><p>Lorem ipsum dolor sit amet, <a href=\"/x\">"
           "consectetur</a> adipiscing elit.</p></div>\n").encode()
    if head_first:
        head = html_page(1024).split("<main>")[0].encode() + b"<main>\n"
        tail = b"</main>\n</body>\n</html>\n"
    else:
        head = b"<!DOCTYPE html>\n<html>\n"
        tail = b"</head>\n<body></body>\n</html>\n"
    n = max(0, size - len(head) - len(tail))
    block = row * (MIB // len(row) + 1)
    with open(path, "wb") as f:
        f.write(head)
        left = n
        while left > 0:
            chunk = block[:min(len(block), left)]
            f.write(chunk)
            left -= len(chunk)
        f.write(tail)


# ---------------------------------------------------------------------------
# servers

def render(_template, **values):
    text = (CONF / _template).read_text()
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)])
                  if m.group(1) in values else m.group(0), text)


def store_lines(store):
    return f"SessionCryptoPassphrase {PASSPHRASE}" if store == "crypto" else ""


class Server:
    """One apache2 instance of the benchmark (pyhttpd.Httpd does the
    directory, start and stop)."""

    def __init__(self, name, rundir, children, threads):
        self.h = pyhttpd.Httpd(name=name, base_dir=rundir)
        self.children = children
        self.threads = threads
        self.vhosts = []

    @property
    def port(self):
        return self.h.port

    def add(self, template, **values):
        values.setdefault("port", self.port)
        self.vhosts.append(render(template, **values))

    def write(self):
        h = self.h
        lines = [pyhttpd.module_line(m) for m in MODULES]
        lines.append(f"LoadModule shared_session_module {MODULE_SO}")
        user = (f"User {pyhttpd.RUN_USER}\nGroup {pyhttpd.RUN_USER}"
                if pyhttpd.IS_ROOT else "")
        text = render("base.conf.in", root=h.root, port=self.port, run=h.run,
                      logs=h.logs, user_group=user, load_modules="\n".join(lines),
                      children=self.children, threads=self.threads,
                      workers=self.children * self.threads, htdocs=h.htdocs,
                      vhosts="\n".join(self.vhosts))
        h.conf.write_text(text)

    def start(self):
        self.write()
        rc, out = self.h.configtest()
        if rc != 0:
            raise SystemExit(f"bench: apache2 -t fails for {self.h.conf}:\n{out}")
        self.h.start()

    def stop(self):
        self.h.stop()

    def cpu_ticks(self):
        """CPU time (user + system, clock ticks) used so far by the parent
        and the children, all their threads."""
        total = 0
        for pid in [self.h.pid] + self.child_pids():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                pass
        return total

    def child_pids(self):
        return pyhttpd.children_of(self.h.pid) if self.h.pid else []

    def error_lines(self):
        return [ln for ln in self.h.error_log_text().splitlines()
                if pyhttpd.LEVEL_RE.search(ln) or pyhttpd.DIED_RE.search(ln)]


# ---------------------------------------------------------------------------
# wrk

BENCH_RE = re.compile(r"^BENCH (.*)$", re.M)


# --pin: the CPUs of wrk (the server's are set before it starts, see main)
WRK_CPUS = None


def pin_wrk():
    if WRK_CPUS:
        os.sched_setaffinity(0, WRK_CPUS)


def run_wrk(port, secs, conns, threads, script, args=(), headers=(), path="/"):
    cmd = [WRK, f"-t{threads}", f"-c{conns}", f"-d{secs}s", "--timeout", "10s",
           "-s", str(BENCH / script)]
    for h in headers:
        cmd += ["-H", h]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    if args:
        cmd += ["--", *map(str, args)]
    cp = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        text=True, timeout=secs + 60, stdin=subprocess.DEVNULL,
                        preexec_fn=pin_wrk if WRK_CPUS else None)
    m = BENCH_RE.search(cp.stdout)
    if cp.returncode != 0 or not m:
        raise SystemExit(f"bench: wrk failed ({cp.returncode}): {' '.join(cmd)}\n"
                         f"{cp.stdout[-3000:]}")
    res = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    dur = max(res["duration_us"], 1) / 1e6
    res["rate"] = res["requests"] / dur
    res["bytes_rate"] = res["bytes"] / dur
    return res


def run_wrk_cpu(server, *args, **kw):
    """run_wrk, plus the server's CPU time per request and per byte."""
    t0 = server.cpu_ticks()
    res = run_wrk(server.port, *args, **kw)
    cpu = (server.cpu_ticks() - t0) / os.sysconf("SC_CLK_TCK")
    res["cpu_s"] = cpu
    res["cpu_per_req"] = cpu / res["requests"] if res["requests"] else float("inf")
    res["cpu_per_byte"] = cpu / res["bytes"] if res["bytes"] else float("inf")
    return res


def cpu_ratio(base, subj, key):
    """Server CPU per unit, baseline over subject: 1.0 = the subject costs the
    server no more CPU than the baseline; less sensitive to other load on
    the machine than the rates."""
    if not subj[key] or subj[key] == float("inf"):
        return 0.0
    return base[key] / subj[key]


class Side:
    """What wrk sends for one side of a ratio."""

    def __init__(self, label, host, prefix, suffix="", referer="-", cookie="-",
                 check="none", mint=None, expect_ok=False, extra="-"):
        self.label = label
        self.extra = extra          # more headers: "Name: value|Name: value" 
        self.host = host
        self.prefix = prefix
        self.suffix = suffix
        self.referer = referer
        self.cookie = cookie
        self.check = check
        self.mint = mint            # (dst, session, nav or None): fresh tickets
        self.expect_ok = expect_ok  # every response must pass `check`


class Bench:
    def __init__(self, opts, rundir):
        self.o = opts
        self.rundir = rundir
        self.key = rundir / "bench.key"
        self.rate_seen = {}         # row id -> highest rate seen (ticket counts)
        self.problems = []

    # -- tickets ----------------------------------------------------------
    def mint(self, rid, mint, count):
        dst, session, nav = mint
        path = self.rundir / f"tickets-{rid}.txt"
        # "--cookie=NAME=VALUE": a ticket of cookie pairs (cookie mode)
        carry = (["--cookie", session[len("--cookie="):]] if session.startswith("--cookie=")
                 else ["--session", session])
        args = [str(TOOL), "mint", "--key", str(self.key), "--src", "a.test",
                "--dst", dst, *carry, "--count", str(count)]
        if nav:
            args += ["--nav", nav, "--state", NAV_STATE]
        with open(path, "w") as f:
            subprocess.run(args, stdout=f, check=True, timeout=300,
                           stdin=subprocess.DEVNULL)
        return path

    def run_side(self, rid, server, side, secs):
        """One wrk run; with tickets, mints enough first (and again, twice as
        many, if wrk ran out)."""
        mode, tickets = "CYCLE", "-"
        for attempt in range(4):
            if side.mint:
                rate = self.rate_seen.get(rid, 4000.0)
                count = int(rate * secs * 1.5 * (2 ** attempt)) + 500
                tickets = self.mint(rid, side.mint, count)
                mode = "ONCE"
            res = run_wrk_cpu(server, secs, self.o.connections, self.o.threads,
                          "requests.lua",
                          [self.o.threads, tickets, mode, side.prefix, side.suffix,
                           f"{side.host}:{server.port}", side.referer, side.cookie,
                           side.check, side.extra])
            self.rate_seen[rid] = max(self.rate_seen.get(rid, 0.0), res["rate"])
            if not res["wrapped"]:
                break
        else:
            self.problems.append(f"{rid}: wrk ran out of tickets")
        if res["errors"] or res["status_errors"]:
            self.problems.append(f"{rid} {side.label}: {res['errors']} socket errors "
                                 f"(connect {res['connect']}, read {res['read']}, write "
                                 f"{res['write']}, timeout {res['timeout']}), "
                                 f"{res['status_errors']} non-2xx/3xx responses")
        if side.expect_ok and res["requests"] and res["ok"] < 0.99 * res["requests"]:
            self.problems.append(
                f"{rid} {side.label}: only {res['ok']} of {res['requests']} responses "
                f"show the work ({side.check}): tickets rejected?")
        return res

    def ratio_row(self, rid, server, subject, baseline, secs=None, rate_key="rate"):
        """Alternates baseline and subject; returns per-round results."""
        secs = secs or self.o.seconds
        if not self.o.quick:
            # warm-up (not counted); also the first estimate of the rate
            self.run_side(rid, server, baseline, 1)
            self.run_side(rid, server, subject, 1)
        subj, base, ratios, cpu = [], [], [], []
        for r in range(self.o.rounds):
            order = (("b", baseline), ("s", subject))
            if r % 2:
                order = order[::-1]
            got = {}
            for which, side in order:
                got[which] = self.run_side(rid, server, side, secs)
            subj.append(got["s"][rate_key])
            base.append(got["b"][rate_key])
            ratios.append(got["s"][rate_key] / got["b"][rate_key]
                          if got["b"][rate_key] else 0.0)
            cpu.append(cpu_ratio(got["b"], got["s"], "cpu_per_req"))
        return {"subject": statistics.median(subj), "baseline": statistics.median(base),
                "ratio": statistics.median(ratios), "ratios": ratios,
                "cpu": statistics.median(cpu), "cpus": cpu}


# ---------------------------------------------------------------------------
# rows

class Result:
    def __init__(self, rid, what, baseline, subj, base, figure, unit, goal=None,
                 note="", cpu=None):
        self.cpu = cpu              # server CPU ratio, or None
        self.rid, self.what, self.baseline = rid, what, baseline
        self.subj, self.base, self.figure, self.unit = subj, base, figure, unit
        self.goal = goal            # (op, value) or None
        self.note = note

    def verdict(self):
        if not self.goal:
            return ""
        op, v = self.goal
        ok = {">=": self.figure >= v, "<=": self.figure <= v}.get(op, self.figure < v)
        return "PASS" if ok else "FAIL"

    def goal_text(self):
        if not self.goal:
            return "-"
        op, v = self.goal
        return f"{op} {v:g}{' MiB' if self.unit == 'MiB' else ''}"


def fmt_rate(v, unit):
    if v is None:
        return "-"
    if unit == "req/s":
        return f"{v:,.0f} req/s"
    if unit == "MiB/s":
        return f"{v / MIB:,.0f} MiB/s"
    if unit == "MiB":
        return f"{v:,.1f} MiB"
    if unit == "us":
        return f"{v:.2f} µs"
    if unit == "ms":
        return f"{v:.2f} ms"
    if unit == "loaders":
        return f"{v:.1f} loaders"
    if unit == "/s":
        return f"{v:,.0f}/s"
    return f"{v:g}"


def fmt_figure(r):
    if r.unit == "MiB":
        return f"{r.figure:+.2f} MiB"
    if r.unit == "us":
        return f"{r.figure:.2f} µs/op"
    if r.unit == "loaders":
        return f"{r.figure:.2f}"
    return f"{r.figure:.3f}"


def rss_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def fetch_discard(port, host, path):
    """GET with A's session cookie; (status, bytes, first 4 KiB, last 4 KiB)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host)
        conn.putheader("Cookie", f"session={session_of(200)}")
        conn.endheaders()
        resp = conn.getresponse()
        n, head, tail = 0, b"", b""
        while True:
            chunk = resp.read(256 * 1024)
            if not chunk:
                break
            n += len(chunk)
            if len(head) < 4096:
                head = (head + chunk)[:4096]
            tail = (tail + chunk)[-4096:]
        return resp.status, n, head, tail
    finally:
        conn.close()


def machine_lines():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    apache = subprocess.run([pyhttpd.APACHE2, "-v"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True).stdout
    m = re.search(r"Apache/(\S+)", apache)
    wrk = subprocess.run([WRK, "--version"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True).stdout
    w = re.search(r"wrk (\S+)", wrk)
    return cpu, os.cpu_count(), platform.release(), m.group(1) if m else "?", \
        w.group(1) if w else "?"


def make_servers(o, b, rundir):
    """The main server (R1, R2: 2 children) and the streaming server (R3: one
    child, so that its RSS is the one that serves), configured, not started."""
    main_srv = Server("bench", rundir, children=2, threads=25)
    stream_srv = Server("stream", rundir, children=1, threads=4)
    s200 = session_of(200)
    main_srv.add("receiver.conf.in", name="b.test", key=b.key, cookie="bsess",
                 store="cookie store with mod_session_crypto",
                 store_lines=store_lines("crypto"))
    main_srv.add("receiver.conf.in", name="bp.test", key=b.key, cookie="bsess",
                 store="cookie store, no mod_session_crypto", store_lines="")
    main_srv.add("session-write.conf.in", name="bw.test", cookie="bsess",
                 store="cookie store with mod_session_crypto",
                 store_lines=store_lines("crypto"), session=s200)
    for n in (1, 2, 4, 16):
        sites = " ".join([f"http://a{n}.test"] + [f"http://t{i}.test" for i in range(1, n + 1)])
        main_srv.add("loader.conf.in", name=f"a{n}.test", key=b.key, sites=sites,
                     ntargets=n, cookie="session", store="cookie store",
                     store_lines="", extra="")
    main_srv.add("loader.conf.in", name="a2c.test", key=b.key,
                 sites="http://a2c.test http://t1.test http://t2.test", ntargets=2,
                 cookie="session", store="cookie store with mod_session_crypto",
                 store_lines=store_lines("crypto"), extra="")
    backend = getattr(b, "backend", None)
    proxy = ""
    if backend:
        proxy = (f"ProxyPass /pf/ http://127.0.0.1:{backend.port}/\n"
                 f"    ProxyPass /pnf/ http://127.0.0.1:{backend.port}/\n"
                 f"    <Location /pf/>\n        SetOutputFilter SHARED_SESSION\n"
                 f"    </Location>")
    main_srv.add("cookie.conf.in", name="ac.test", key=b.key,
                 sites="http://a.test http://ac.test http://t1.test",
                 proxy=proxy, backend_what="the Django site (gunicorn)")
    g_sites = {"default": ["g1.test", "g2.test", "g3.test"],
               "resend0": ["z1.test", "z2.test", "z3.test"]}
    for side, names in g_sites.items():
        for name in names:
            main_srv.add("kept.conf.in", name=name, key=b.key,
                         sites=" ".join(f"http://{n}" for n in names), cookie="session",
                         passphrase=PASSPHRASE,
                         extra="SharedSessionResend 0" if side == "resend0" else "")
    h = main_srv.h
    h.write_file("htdocs/empty.js", "")
    page = html_page(8 * 1024)
    h.write_file("htdocs/f/page.html", page)
    h.write_file("htdocs/nf/page.html", page)
    main_srv.add("pull.conf.in", a="pa.test", b="pb.test", key=b.key)
    h.write_file("htdocs/p/page.html", page)
    h.write_file("htdocs/np/page.html", page)

    # -- the streaming server (R3): one child, so that its RSS is the one --
    # s.test as Debian has it (EnableMMAP On) for the throughput; sm.test
    # with EnableMMAP Off for the RSS: with mmap, reading a file maps it in
    # windows of 4 MiB that count in VmHWM, for any filter that reads the
    # body (the same window with or without this module; bounded, but not
    # the heap growth that R3-rss is about)
    sites = "http://s.test http://t1.test"
    stream_srv.add("loader.conf.in", name="s.test", key=b.key, sites=sites, ntargets=1,
                   cookie="session", store="cookie store", store_lines="", extra="")
    stream_srv.add("loader.conf.in", name="sm.test", key=b.key,
                   sites="http://sm.test http://t1.test", ntargets=1, cookie="session",
                   store="cookie store", store_lines="", extra="EnableMMAP Off")
    sh = stream_srv.h
    for d in ("f", "nf"):
        (sh.htdocs / d).mkdir()
    write_stream_page(sh.htdocs / "f" / "page.html", o.stream_mib * MIB, head_first=True)
    write_stream_page(sh.htdocs / "f" / "scan.html", o.stream_mib * MIB, head_first=False)
    write_stream_page(sh.htdocs / "f" / "small.html", 1024, head_first=False)
    for name in ("page.html", "scan.html", "small.html"):
        os.link(sh.htdocs / "f" / name, sh.htdocs / "nf" / name)
    return main_srv, stream_srv


def interrupted(*_):
    raise KeyboardInterrupt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="2 rounds x 1 s, 8 MiB stream body: proves the benchmark works")
    ap.add_argument("--rounds", type=int, help="rounds per row (default 5; quick 2)")
    ap.add_argument("--seconds", type=int, help="seconds per wrk run (default 5; quick 1)")
    ap.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    ap.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    ap.add_argument("--stream-mib", type=int, help="R3 body in MiB (default 100; quick 8)")
    ap.add_argument("--only", help="comma-separated row ids, '*' ends a prefix "
                    "(R1,R2-16,R3*,C-seal-200; C: all the crypto rows)")
    ap.add_argument("--pin", action="store_true",
                    help="apache2 on one CPU, wrk on another: the rates are the server's "
                    "own, without wrk and the scheduler in them (steadier; 2 CPUs or more)")
    ap.add_argument("--keep", action="store_true", help="keep build/bench/run-*")
    ap.add_argument("--serve", action="store_true",
                    help="start the servers, print how to reach them, wait for ^C")
    o = ap.parse_args()
    o.rounds = o.rounds or (2 if o.quick else 5)
    o.seconds = o.seconds or (1 if o.quick else 5)
    o.stream_mib = o.stream_mib or (8 if o.quick else 100)

    for path, what in ((MODULE_SO, "the module"), (TOOL, "shared-session-tool"),
                       (CRYPTO_BENCH, "crypto_bench"), (Path(WRK), "wrk")):
        if not path.exists():
            raise SystemExit(f"bench: {what} not found at {path} (./dev bench builds it)")

    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()
    base = BUILD / "build" / "bench"
    base.mkdir(parents=True, exist_ok=True)
    rundir = Path(__import__("tempfile").mkdtemp(prefix="run-", dir=base))
    os.chmod(rundir, 0o755)
    b = Bench(o, rundir)
    subprocess.run([str(TOOL), "keygen"], stdout=open(b.key, "w"), check=True)
    os.chmod(b.key, 0o600)

    def wanted(rid):
        if not o.only:
            return True
        return any(rid == w or (w.endswith("*") and rid.startswith(w[:-1]))
                   for w in o.only.split(","))

    b.backend = start_backend(rundir) if wanted("R2-cookie-proxy") else None
    if wanted("R2-cookie-proxy") and not b.backend:
        b.problems.append("R2-cookie-proxy: no Django/gunicorn backend")
    main_srv, stream_srv = make_servers(o, b, rundir)

    results = []
    servers = [main_srv, stream_srv]
    global WRK_CPUS
    all_cpus = os.sched_getaffinity(0)
    if o.pin:
        if len(all_cpus) < 2:
            raise SystemExit("bench: --pin needs 2 CPUs or more")
        first, second = sorted(all_cpus)[:2]
        o.pinned = f"apache2 on CPU {first}, wrk on CPU {second}"
        WRK_CPUS = {second}
    try:
        # the servers' processes inherit this affinity (--pin)
        if o.pin:
            os.sched_setaffinity(0, {first})
        try:
            for s in servers:
                s.start()
        finally:
            os.sched_setaffinity(0, all_cpus)
        if o.serve:
            # ^C, or a TERM from whoever started it in the background
            signal.signal(signal.SIGTERM, interrupted)
            print(f"main server: 127.0.0.1:{main_srv.port} ({main_srv.h.conf})\n"
                  f"stream server: 127.0.0.1:{stream_srv.port} ({stream_srv.h.conf})\n"
                  f"key: {b.key}\n^C (or kill -TERM {os.getpid()}) stops them", flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                return 0
        run_rows(o, b, main_srv, stream_srv, wanted, results)
        # (read before stopping: the event MPM may log AH03093 while it stops)
        for s in servers:
            for line in s.error_lines():
                b.problems.append(f"{s.h.name} error_log: {line}")
    finally:
        for s in servers:
            s.stop()
        if b.backend:
            b.backend.stop()
    load_after = os.getloadavg()
    print_table(o, results, started, load_before, load_after, b.problems)
    if not o.keep and not b.problems:
        shutil.rmtree(rundir, ignore_errors=True)
    else:
        say(f"kept {rundir}")
    return 0


def ratio_rows_of(b, main_srv, wanted):
    """(id, subject text, baseline text, subject Side, baseline Side, goal)
    of the rows measured on the main server (R1*, R2*); the server runs."""
    referer = "http://a.test/page"    # the entry http://a.test: its default port
    s200 = session_of(200)
    nav = "/landing?from=a"
    empty_js = Side("static .js", "b.test", "/empty.js", referer=referer)
    r303 = Side("Redirect 303", "b.test", "/r303", referer=referer)

    def receiver(size, host="b.test", navigation=False):
        return Side(f"ticket {size} B", host, "/shared-session/",
                    "" if navigation else ".js", referer=referer, check="cookie",
                    cookie=NAV_COOKIE if navigation else "-",
                    mint=(host, session_of(size), nav if navigation else None),
                    expect_ok=True)

    ratio_rows = [
        ("R1", "script receiver, 200 B session, crypto cookie, shmcb",
         "empty static .js", receiver(200), empty_js, (">=", 0.90)),
        ("R1-nav", "navigation receiver (303 + cookie), 200 B session",
         "Redirect 303 (mod_alias)", receiver(200, navigation=True), r303, None),
        ("R1-100B", "R1 with a 100 B session", "empty static .js", receiver(100),
         empty_js, None),
        ("R1-1KiB", "R1 with a 1 KiB session", "empty static .js", receiver(1024),
         empty_js, None),
        ("R1-4KiB", "R1 with a 4 KiB session", "empty static .js", receiver(4096),
         empty_js, None),
        ("R1-write", "R1 (200 B session)",
         "static .js + the same session write by mod_session alone", receiver(200),
         Side("static .js + session write", "bw.test", "/empty.js", referer=referer,
              check="cookie", expect_ok=True), None),
        ("R1-plain", "R1 with mod_session_cookie, no mod_session_crypto",
         "empty static .js (same host)", receiver(200, host="bp.test"),
         Side("static .js", "bp.test", "/empty.js", referer=referer), None),
    ]
    # A's session as A holds it after a change: with its generation
    gen = with_generation(b.key, s200)
    cookie = f"session={s200}&{sstickets.GEN_ENTRY}={gen}"
    for n, rid in ((2, "R2"), (1, "R2-1"), (4, "R2-4"), (16, "R2-16")):
        what = (f"8 KiB page, 200 B session cookie, {n + 1} sites ({n} tag"
                f"{'s' if n > 1 else ''})")
        goal = (">=", 0.90) if n == 2 else ((">=", 0.75) if n == 16 else None)
        ratio_rows.append((rid, what, "same page, filter off",
                           Side("filter on", f"a{n}.test", "/f/page.html", cookie=cookie,
                                check="tags", expect_ok=True),
                           Side("filter off", f"a{n}.test", "/nf/page.html",
                                cookie=cookie, check="tags"), goal))
    # cookie mode: the application's session cookie and its marker
    ckey = "q8x1v0k2m9n3b4v5c6x7z8l9k0j1h2g3"
    ckie = f"sessionid={ckey}; ssgen={cookie_marker(b.key, {'sessionid': ckey})}"
    ratio_rows.append(("R1-cookie", "script receiver in cookie mode (application cookie "
                       "and marker, no mod_session)", "empty static .js",
                       Side("ticket, cookie pairs", "ac.test", "/shared-session/", ".js",
                            referer=referer, check="cookie",
                            mint=("ac.test", f"--cookie=sessionid={ckey}", None),
                            expect_ok=True),
                       Side("static .js", "ac.test", "/empty.js", referer=referer),
                       (">=", 0.90)))
    ratio_rows.append(("R2-cookie", "8 KiB page, cookie mode, 3 sites (2 tags: a.test, t1.test)",
                       "same page, filter off",
                       Side("filter on", "ac.test", "/f/page.html", cookie=ckie, check="tags",
                            expect_ok=True),
                       Side("filter off", "ac.test", "/nf/page.html", cookie=ckie,
                            check="tags"), (">=", 0.90)))
    if getattr(b, "backend", None) and wanted("R2-cookie-proxy"):
        pk = b.backend.session_key
        pc = f"sessionid={pk}; ssgen={cookie_marker(b.key, {'sessionid': pk})}"
        ratio_rows.append(("R2-cookie-proxy", "R2-cookie, page proxied to Django (gunicorn)",
                           "same proxied page, filter off",
                           Side("filter on", "ac.test", "/pf/", cookie=pc, check="tags",
                                expect_ok=True),
                           Side("filter off", "ac.test", "/pnf/", cookie=pc, check="tags"),
                           (">=", 0.97)))
    # the same page once the site has sent that generation: its own cookie says so
    sent = f"{cookie}; sssent={gen}"
    ratio_rows.append(("R2-steady", "R2 (2 tags) whose session was already sent: no loader",
                       "same page, filter off",
                       Side("filter on", "a2.test", "/f/page.html", cookie=sent,
                            check="notags", expect_ok=True),
                       Side("filter off", "a2.test", "/nf/page.html", cookie=sent,
                            check="tags"), (">=", 0.98)))
    # an in-site navigation on B: not pulled, whatever the check costs
    in_site = dict(referer="http://pb.test/p/", extra="Upgrade-Insecure-Requests: 1")
    ratio_rows.append(("P1", "8 KiB page on B, in-site navigation, SharedSessionPull On",
                       "same page, SharedSessionPull Off",
                       Side("pull on", "pb.test", "/p/page.html", **in_site),
                       Side("pull off", "pb.test", "/np/page.html", **in_site), (">=", 0.98)))
    if wanted("R2-crypto"):
        ccookie = crypto_cookie(b, main_srv, referer, s200)
        ratio_rows.append(("R2-crypto", "R2 (2 tags), session in a mod_session_crypto cookie",
                           "same page, filter off",
                           Side("filter on", "a2c.test", "/f/page.html",
                                cookie=f"session={ccookie}", check="tags", expect_ok=True),
                           Side("filter off", "a2c.test", "/nf/page.html",
                                cookie=f"session={ccookie}", check="tags"), None))
    return ratio_rows


def with_generation(keyfile, session):
    """The shared-session-gen value of an encoded session, made now with the
    bench key, as the module stamps it."""
    entries = dict(urllib.parse.parse_qsl(session))
    return sstickets.gen_text(sstickets.key_from_file(keyfile), int(time.time() * 1e6),
                              entries)


class Visitor:
    """One browser visiting the G-* sites: cookies per host, every loader of a
    page fetched as a browser would (Sec-Fetch-Dest: script, the page's
    origin as Referer)."""

    LOADER_RE = re.compile(r'<script src="http://([^/"]+)(/shared-session/[A-Za-z0-9_-]+\.js)"')

    def __init__(self, b, port):
        self.b, self.port, self.jar, self.loaders, self.rejected = b, port, {}, 0, 0

    def get(self, host, path, headers=()):
        jar = self.jar.get(host, {})
        hs = list(headers)
        if jar:
            hs.append(("Cookie", "; ".join(f"{k}={v}" for k, v in jar.items())))
        r = pyhttpd.request(self.port, path, host=f"{host}:{self.port}", headers=hs)
        for sc in r.header_all("Set-Cookie"):
            name, _, value = sc.split(";")[0].partition("=")
            self.jar.setdefault(host, {})[name.strip()] = value.strip()
        return r

    def view(self, host):
        r = self.get(host, "/f/page.html", [("Sec-Fetch-Dest", "document")])
        if r.status != 200:
            raise SystemExit(f"bench: {host}/f/page.html answered {r.status}")
        for dst, path in self.LOADER_RE.findall(r.body.decode("latin-1")):
            self.loaders += 1
            rr = self.get(dst.split(":")[0], path, [("Sec-Fetch-Dest", "script"),
                                                    ("Referer", f"http://{host}/")])
            if rr.status != 200:
                self.rejected += 1


def generation_rows(o, b, srv, wanted, results):
    """G-loaders and G-cpu: the same visit with Resend 600 and with 0, the
    servers' CPU measured around each (the visitor's own CPU is not the
    servers')."""
    views = 150
    got = {}
    for side, names in (("default", ["g1.test", "g2.test", "g3.test"]),
                        ("resend0", ["z1.test", "z2.test", "z3.test"])):
        v = Visitor(b, srv.port)
        # the login on the first site: a mod_session_crypto cookie with a
        # session and its generation (written by b.test's receiver, which
        # has the same passphrase and key), not yet sent anywhere
        v.jar[names[0]] = {"session": crypto_cookie(b, srv, "http://a.test/page",
                                                    session_of(200))}
        t0 = srv.cpu_ticks()
        for i in range(views):
            v.view(names[i % 3])
        cpu = (srv.cpu_ticks() - t0) / os.sysconf("SC_CLK_TCK")
        if v.rejected:
            b.problems.append(f"G-{side}: {v.rejected} loader requests failed")
        if not all("session" in v.jar.get(n, {}) for n in names):
            b.problems.append(f"G-{side}: the session did not reach every site")
        got[side] = {"loaders": v.loaders * 100 / views, "cpu_ms": cpu * 1000 / views}
    d, z = got["default"], got["resend0"]
    if wanted("G-loaders"):
        results.append(Result("G-loaders", "loader requests per 100 page views, 3 sites, "
                              "unchanged session, Resend 600", "the same, Resend 0",
                              d["loaders"], z["loaders"], d["loaders"], "loaders",
                              ("<=", 2), f"{views} views; Resend 0: {z['loaders']:.0f} "
                              "per 100", cpu=None))
    if wanted("G-cpu"):
        ratio = z["cpu_ms"] / d["cpu_ms"] if d["cpu_ms"] else 0.0
        results.append(Result("G-cpu", "servers' CPU per page view (page + receivers, "
                              "crypto cookies), Resend 600", "the same, Resend 0",
                              d["cpu_ms"], z["cpu_ms"], ratio, "ms", None,
                              f"{d['cpu_ms']:.2f} ms vs {z['cpu_ms']:.2f} ms of server CPU "
                              "per page view", cpu=ratio))


def run_rows(o, b, main_srv, stream_srv, wanted, results):
    for rid, what, base_what, subject, baseline, goal in ratio_rows_of(b, main_srv, wanted):
        if not wanted(rid):
            continue
        say(f"{rid}: {what} vs {base_what}")
        r = b.ratio_row(rid, main_srv, subject, baseline)
        results.append(Result(rid, what, base_what, r["subject"], r["baseline"],
                              r["ratio"], "req/s", goal,
                              "rounds: " + " ".join(f"{x:.3f}" for x in r["ratios"])
                              + "; cpu: " + " ".join(f"{x:.3f}" for x in r["cpus"]),
                              cpu=r["cpu"]))

    if wanted("G-loaders") or wanted("G-cpu"):
        say("G-loaders, G-cpu: 150 page views on 3 sites, Resend 600 vs 0")
        generation_rows(o, b, main_srv, wanted, results)
    if wanted("P1-arrival"):
        arrival_row(o, b, main_srv, results)
    if any(wanted(rid) for rid in ("R3", "R3-scan", "R3-rss")):
        stream_rows(o, b, stream_srv, wanted, results)
    crypto = [rid for rid in CRYPTO_ROWS if wanted(rid) or wanted("C")]
    if crypto:
        crypto_rows(o, results, crypto)


def cookie_marker(keyfile, pairs):
    """A marker cookie's value T.D for pairs (docs/PROTOCOL.md, "Generations")."""
    import hashlib
    gk = sstickets.kdf(32, 3, sstickets.key_from_file(keyfile))
    t = int(time.time() * 1_000_000) - 1_000_000
    h = hashlib.blake2b(key=gk, digest_size=16)
    h.update(str(t).encode() + b"\0")
    for k in sorted(pairs):
        h.update(k.encode() + b"\0" + pairs[k].encode() + b"\0")
    return f"{t}.{h.hexdigest()}"


def start_backend(rundir):
    """The Django site of test/integration/apps under gunicorn, and one
    session of it (its key), for R2-cookie-proxy; None when Django or
    gunicorn is missing (the row is then left out, with a problem)."""
    import ssapps
    try:
        site = ssapps.django_site(rundir)
        g = ssapps.gunicorn(site)
    except BaseException as e:          # fail_missing raises pytest's Failed
        say(f"R2-cookie-proxy left out: {e}")
        return None
    r = pyhttpd.request(g.port, "/", host="ac.test")
    sc = r.set_cookies("sessionid")
    if not sc:
        g.stop()
        raise SystemExit(f"bench: the Django site gave no session: {r}")
    g.session_key = pyhttpd.cookie_pair(sc[0]).split("=", 1)[1]
    return g


ARRIVAL_PAGE = "/p/page.html?from=a&n=1"


def get_on(conn, host, path, headers):
    """One GET on a kept-alive connection (any virtual host of the server)."""
    conn.request("GET", path, headers=dict(headers, Host=host))
    r = conn.getresponse()
    r.read()
    return r


def pull_arrival(conn, session, page=ARRIVAL_PAGE):
    """One arrival at pb.test from a page of pa.test, followed as a browser
    follows it (cookies per host, Referer cut by each Referrer-Policy);
    returns (hops, last status, cookies per host)."""
    jar = {"pa.test": {"session": session}, "pb.test": {}}
    host, path, referer, hops = "pb.test", page, "http://pa.test/", 0
    while True:
        hs = {"Sec-Fetch-Dest": "document", "Sec-Fetch-Mode": "navigate",
              "Sec-Fetch-Site": "cross-site", "Upgrade-Insecure-Requests": "1"}
        if referer:
            hs["Referer"] = referer
        if jar[host]:
            hs["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar[host].items())
        r = get_on(conn, host, path, hs)
        hops += 1
        for sc in r.headers.get_all("Set-Cookie") or []:
            name, _, value = sc.split(";")[0].partition("=")
            if "max-age=0" in sc.lower().replace(" ", ""):
                jar[host].pop(name.strip(), None)
            else:
                jar[host][name.strip()] = value.strip()
        if r.status != 303 or hops > 8:
            return hops, r.status, jar
        if (r.getheader("Referrer-Policy") or "").lower() == "no-referrer":
            referer = None
        u = urllib.parse.urlsplit(urllib.parse.urljoin(f"http://{host}{path}",
                                                       r.getheader("Location")))
        host, path = u.hostname, u.path + (f"?{u.query}" if u.query else "")


def page_alone(conn):
    """The arrival's page, reached in-site (not pulled)."""
    return get_on(conn, "pb.test", ARRIVAL_PAGE,
                  {"Referer": "http://pb.test/", "Upgrade-Insecure-Requests": "1"})


def arrival_row(o, b, srv, results):
    """P1-arrival: arrivals that pull, one after the other, against requests
    for the page alone; wall time and the server's CPU time (A and B are
    virtual hosts of the one server)."""
    n = 300 if o.quick else 2000
    session = session_of(200)
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)

    def arrive():
        return pull_arrival(conn, session)

    say("P1-arrival: arrivals that pull vs the page alone")
    arrive()                                            # warm-up
    t0, c0 = time.perf_counter(), srv.cpu_ticks()
    hops_seen = set()
    for _ in range(n):
        hops, status, jar = arrive()
        hops_seen.add(hops)
        if status != 200 or "bsess" not in jar["pb.test"] or hops != 5:
            b.problems.append(f"P1-arrival: an arrival ended {status} after {hops} hops "
                              f"without B's session ({sorted(jar['pb.test'])})")
            break
    wall = time.perf_counter() - t0
    cpu = (srv.cpu_ticks() - c0) / os.sysconf("SC_CLK_TCK")
    nb = n * 5
    t0, c0 = time.perf_counter(), srv.cpu_ticks()
    for _ in range(nb):
        r = page_alone(conn)
        if r.status != 200:
            b.problems.append(f"P1-arrival: the page alone answered {r.status}")
            break
    base_wall = time.perf_counter() - t0
    base_cpu = (srv.cpu_ticks() - c0) / os.sysconf("SC_CLK_TCK")
    conn.close()
    results.append(Result(
        "P1-arrival", "one arrival that pulls (5 hops, A has a 200 B session)",
        "the page alone (1 request)", n / wall, nb / base_wall,
        (n / wall) / (nb / base_wall), "/s", None,
        f"hops {'/'.join(map(str, sorted(hops_seen)))}; {wall / n * 1000:.2f} ms per arrival "
        f"(sequential, one connection) vs {base_wall / nb * 1000:.3f} ms per page; server CPU "
        f"(A+B) {cpu / n * 1000:.3f} ms per arrival vs {base_cpu / nb * 1000:.3f} ms per page",
        cpu=(base_cpu / nb) / (cpu / n) if cpu and base_cpu else 0.0))


def crypto_cookie(b, srv, referer, session):
    """A mod_session_crypto cookie holding `session`: the receiver on
    b.test writes one (same passphrase as a2c.test)."""
    t = b.mint("cookie", ("b.test", session, None), 1).read_text().split()[0]
    r = pyhttpd.request(srv.port, f"/shared-session/{t}.js", host=f"b.test:{srv.port}",
                        headers=[("Referer", referer)])
    sc = r.set_cookies("bsess")
    if r.status != 200 or not sc:
        raise SystemExit(f"bench: no session cookie from the receiver: {r}")
    return pyhttpd.cookie_pair(sc[0]).split("=", 1)[1]


def stream_rows(o, b, srv, wanted, results):
    host = f"s.test:{srv.port}"
    big = o.stream_mib * MIB
    # where the filter inserts: early in page.html, at the very end of scan.html
    for path, where in (("/f/page.html", "head"), ("/f/scan.html", "tail")):
        st, n, head, tail = fetch_discard(srv.port, host, path)
        ok = st == 200 and n > big and b"/shared-session/" in (head if where == "head" else tail)
        if not ok:
            b.problems.append(f"R3: no loader tag at the {where} of {path} "
                              f"(status {st}, {n} bytes)")
    for path in ("/nf/page.html", "/nf/scan.html"):
        st, n, _head, _tail = fetch_discard(srv.port, host, path)
        if st != 200 or n != big:
            b.problems.append(f"R3: {path} is {n} bytes, status {st}")

    hdr = [f"Host: {host}", f"Cookie: session={session_of(200)}"]
    for rid, name, what, goal in (
            ("R3", "page.html", f"{o.stream_mib} MiB HTML page through the filter "
             "(</head> in the first KiB)", (">=", 0.97)),
            ("R3-scan", "scan.html", f"{o.stream_mib} MiB HTML, only insertion point at "
             "the end (all of it scanned)", None)):
        if not wanted(rid):
            continue
        say(f"{rid}: {what} vs filter off")
        subj, base, ratios, cpu = [], [], [], []
        for r in range(o.rounds):
            got = {}
            order = (("b", f"/nf/{name}"), ("s", f"/f/{name}"))
            for which, path in (order if r % 2 == 0 else order[::-1]):
                got[which] = run_wrk_cpu(srv, o.seconds, 2, 1, "stream.lua",
                                         headers=hdr, path=path)
                if got[which]["errors"] or got[which]["status_errors"]:
                    b.problems.append(f"{rid} {path}: errors {got[which]}")
            subj.append(got["s"]["bytes_rate"])
            base.append(got["b"]["bytes_rate"])
            ratios.append(subj[-1] / base[-1] if base[-1] else 0.0)
            cpu.append(cpu_ratio(got["b"], got["s"], "cpu_per_byte"))
        results.append(Result(rid, what, "same file, filter off", statistics.median(subj),
                              statistics.median(base), statistics.median(ratios), "MiB/s",
                              goal, "rounds: " + " ".join(f"{x:.3f}" for x in ratios)
                              + "; cpu: " + " ".join(f"{x:.3f}" for x in cpu),
                              cpu=statistics.median(cpu)))

    if wanted("R3-rss"):
        say(f"R3-rss: peak RSS of the child, {o.stream_mib} MiB vs 1 KiB")
        host = f"sm.test:{srv.port}"
        kids = srv.child_pids()
        if len(kids) != 1:
            raise SystemExit(f"bench: the stream server has {len(kids)} children, not 1")
        pid = kids[0]
        growth = {k: [] for k in ("f/scan", "f/small", "nf/scan", "nf/small")}
        for r in range(max(o.rounds, 3)):
            for k in (growth if r % 2 == 0 else list(growth)[::-1]):
                with open(f"/proc/{pid}/clear_refs", "w") as f:
                    f.write("5")        # VmHWM := VmRSS
                before = rss_kib(pid, "VmRSS")
                st, n, _h, _t = fetch_discard(srv.port, host, f"/{k}.html")
                if st != 200 or n < (big if "scan" in k else 1024):
                    b.problems.append(f"R3-rss: /{k}.html gave {st}, {n} bytes")
                growth[k].append((rss_kib(pid, "VmHWM") - before) / 1024.0)
        if srv.child_pids() != [pid]:
            b.problems.append("R3-rss: the serving child changed during the measurement")
        diff_f = [x - y for x, y in zip(growth["f/scan"], growth["f/small"])]
        diff_nf = [x - y for x, y in zip(growth["nf/scan"], growth["nf/small"])]
        results.append(Result(
            "R3-rss", f"child VmHWM growth, {o.stream_mib} MiB (all scanned) minus 1 KiB, "
            "filter on", "same, filter off", max(diff_f), max(diff_nf), max(diff_f), "MiB",
            ("<", 2), "max of the rounds (EnableMMAP Off); filter on: "
            + " ".join(f"{x:+.2f}" for x in diff_f)
            + "; off: " + " ".join(f"{x:+.2f}" for x in diff_nf)))


CRYPTO_ROWS = ["C-seal-200", "C-seal-4096", "C-open-200", "C-open-4096", "C-derive"]


def crypto_rows(o, results, wanted_rows):
    say("crypto: seal and open")
    secs = "0.1" if o.quick else "0.5"
    cp = subprocess.run([str(CRYPTO_BENCH), secs, "200", "4096"], stdout=subprocess.PIPE,
                        text=True, check=True, timeout=300)
    got = {}
    for m in re.finditer(r"^crypto (\w+) bytes=(\d+)(?: chars=(\d+))? us=([\d.]+)$",
                         cp.stdout, re.M):
        got[(m.group(1), int(m.group(2)))] = (float(m.group(4)), m.group(3))
    rows = []
    for op in ("seal", "open"):
        for size in (200, 4096):
            us, chars = got[(op, size)]
            rows.append(Result(f"C-{op}-{size}", f"ticket {op}, {size} B session "
                               f"({chars} chars)", "-", us, None, us, "us"))
    us, _ = got[("derive", 32)]
    rows.append(Result("C-derive", "key derivation (EK + kid), once per key at start-up",
                       "-", us, None, us, "us"))
    results.extend(r for r in rows if r.rid in wanted_rows)


def print_table(o, results, started, load_before, load_after, problems):
    cpu, cores, kernel, apache, wrk = machine_lines()
    out = []
    out.append(f"mod_shared_session benchmark, {started:%Y-%m-%d %H:%M} UTC"
               f"{' (--quick)' if o.quick else ''}")
    out.append(f"machine: {cpu}, {cores} cores, Linux {kernel}; load average "
               f"{load_before[0]:.2f} before, {load_after[0]:.2f} after")
    out.append(f"apache2 {apache} event MPM (R1/R2: 2 children x 25 threads; R3: 1 child), "
               f"wrk {wrk} ({o.threads} thread, {o.connections} connections; "
               f"R3: 2); {o.rounds} rounds x {o.seconds} s, baseline and subject "
               f"alternating, median of the per-round ratios; "
               f"{('pinned: ' + o.pinned) if o.pin else 'not pinned (wrk and apache2 share the CPUs)'}")
    out.append("ratio: subject rate / baseline rate (the goals apply to it); cpu ratio: "
               "the server's CPU time per request (R3: per byte), baseline / subject, "
               "from /proc (less sensitive to other load on the machine)")
    out.append("")
    head = ["row", "subject", "baseline", "subject rate", "baseline rate", "ratio", "goal", "",
            "cpu ratio"]
    rows = []
    for r in results:
        rows.append([r.rid, r.what, r.baseline, fmt_rate(r.subj, r.unit),
                     fmt_rate(r.base, r.unit), fmt_figure(r), r.goal_text(), r.verdict(),
                     "-" if r.cpu is None else f"{r.cpu:.3f}"])
    widths = [max(len(str(x[i])) for x in rows + [head]) for i in range(len(head))]
    right = {3, 4, 5, 8}

    def line(cells):
        return "| " + " | ".join(str(c).rjust(widths[i]) if i in right else
                                 str(c).ljust(widths[i]) for i, c in enumerate(cells)) + " |"
    out.append(line(head))
    out.append("|" + "|".join(("-" * (w + 1) + ":") if i in right else "-" * (w + 2)
                              for i, w in enumerate(widths)) + "|")
    out.extend(line(x) for x in rows)
    out.append("")
    for r in results:
        if r.note:
            out.append(f"  {r.rid}: {r.note}")
    if problems:
        out.append("")
        out.append("PROBLEMS (the figures above may be wrong):")
        out.extend(f"  {p}" for p in problems[:40])
    print("\n".join(out), flush=True)


if __name__ == "__main__":
    sys.exit(main())
