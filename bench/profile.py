#!/usr/bin/env python3
"""Where the time goes per request (callgrind or perf), for one side of a row
of ./dev bench.

  profile.py callgrind [--requests N] ROW:SIDE ...
      apache2 -X (one process) under valgrind --tool=callgrind with the
      bench's configuration, N requests on one keep-alive connection; only
      what runs under ap_run_process_connection is counted (reading,
      handling and writing requests; not start-up).  Prints instructions per
      request in total, by shared object (self cost), and the inclusive cost
      of the functions that matter (the module's entry points, mod_session,
      libsodium, ...).  Instruction counts do not depend on the machine's
      load, unlike wrk's rates.
  profile.py perf [--seconds S] [--pin] ROW:SIDE ...
      the bench's server as ./dev bench runs it, wrk for S seconds, and
      perf record -e cpu-clock -g on its children: the server's CPU time
      per request by shared object (compare the two sides of a row), and
      the share of CPU samples by shared object and by symbol (kernel
      included).  --pin: apache2 on one CPU and wrk on another.

ROW is a row id of bench.py (R1, R1-plain, R1-write, R1-nav, R2, R2-16, ...);
SIDE is "subject" or "baseline".  Example:

  TOP=$PWD python3 bench/profile.py callgrind R1-plain:baseline R1-plain:subject

Needs valgrind (Debian valgrind) or perf (Debian linux-perf); --keep keeps
the outputs in build/bench/profile-*.
"""

import argparse
import collections
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402
from bench import pyhttpd  # noqa: E402

GROUPS = [
    ("module", re.compile(r"mod_shared_session\.so$")),
    ("libsodium", re.compile(r"libsodium")),
    ("mod_session (+ cookie, crypto)", re.compile(r"mod_session(_cookie|_crypto)?\.so$")),
    ("OpenSSL via apr_crypto", re.compile(r"libcrypto|apr_crypto_openssl")),
    ("socache shmcb", re.compile(r"mod_socache_shmcb")),
    ("APR / APR-util", re.compile(r"libapr")),
    ("libc / ld.so", re.compile(r"libc\.so|libc-|ld-linux|libpthread|libm\.so")),
    ("httpd (apache2 + other modules)", re.compile(r"apache2$|/mod_\w+\.so$")),
]


def group_of(obj):
    for name, rx in GROUPS:
        if rx.search(obj):
            return name
    return "other: " + os.path.basename(obj)


# ---------------------------------------------------------------------------
# callgrind output: self cost by object and function

def parse_callgrind(path):
    """{(object, function): self Ir} and the total Ir of a callgrind dump."""
    names = {"ob": {}, "fn": {}}
    cur_ob, cur_fn = "?", "?"
    self_cost = collections.Counter()
    skip_next = False
    total = 0

    def resolve(kind, value):
        m = re.match(r"\((\d+)\)(?:\s+(.*))?$", value)
        if not m:
            return value
        if m.group(2) is not None:
            names[kind][m.group(1)] = m.group(2)
            return m.group(2)
        return names[kind].get(m.group(1), value)

    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                if skip_next:
                    skip_next = False
                    continue
                parts = line.split()
                if len(parts) >= 2:
                    self_cost[(cur_ob, cur_fn)] += int(parts[1])
                continue
            if line.startswith("ob="):
                cur_ob = resolve("ob", line[3:])
            elif line.startswith("fn="):
                cur_fn = resolve("fn", line[3:])
            elif line.startswith(("cob=", "cfn=")):
                kind = "ob" if line.startswith("cob=") else "fn"
                resolve(kind, line[4:])
            elif line.startswith("calls="):
                skip_next = True
            elif line.startswith(("summary:", "totals:")):
                total = int(line.split()[1])
    return self_cost, total or sum(self_cost.values())


INCL_RE = re.compile(r"^\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?(.*?):(\S+)\s+\[(.*)\]\s*$")
INTERESTING = re.compile(
    r"^(ss_|shared_session|session_|ap_session|crypto_|randombytes|sodium_|apr_crypto|"
    r"PKCS5|EVP_|socache_shmcb|shmcb_|apr_global_mutex|ap_process_request|"
    r"ap_run_handler|ap_invoke_handler|ap_pass_brigade|default_handler|"
    r"ap_core_output_filter|ap_read_request|ap_run_translate_name|"
    r"ap_process_request_internal|ap_cookie|ap_run_fixups|ap_run_insert_filter)")


def inclusive(path, requests):
    cp = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100",
                         str(path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                        text=True)
    rows = []
    for line in cp.stdout.splitlines():
        m = INCL_RE.match(line)
        if not m:
            continue
        fn = m.group(3)
        if INTERESTING.match(fn):
            rows.append((int(m.group(1).replace(",", "")) / requests, fn,
                         os.path.basename(m.group(4))))
    return rows


# ---------------------------------------------------------------------------

def side_of(b, srv, spec):
    rid, _, which = spec.partition(":")
    which = which or "subject"
    for row in bench.ratio_rows_of(b, srv, lambda r: r == rid):
        if row[0] == rid:
            return row[3] if which == "subject" else row[4]
    raise SystemExit(f"profile: no row {rid} (rows: R1, R1-nav, R1-100B, R1-1KiB, "
                     f"R1-4KiB, R1-write, R1-plain, R2, R2-1, R2-4, R2-16, R2-crypto)")


def request_paths(b, rid, side, n):
    if side.mint:
        return [side.prefix + t + side.suffix
                for t in b.mint(rid, side.mint, n).read_text().split()]
    return [side.prefix + side.suffix] * n


def drive(port, side, paths):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    ok = 0
    try:
        for p in paths:
            conn.putrequest("GET", p, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", f"{side.host}:{port}")
            if side.referer != "-":
                conn.putheader("Referer", side.referer)
            if side.cookie != "-":
                conn.putheader("Cookie", side.cookie)
            for extra in (side.extra.split("|") if side.extra != "-" else []):
                name, _, value = extra.partition(":")
                conn.putheader(name.strip(), value.strip())
            conn.endheaders()
            r = conn.getresponse()
            body = r.read()
            if side.check == "cookie":
                ok += r.getheader("Set-Cookie") is not None
            elif side.check == "tags":
                ok += b"/shared-session/" in body
            else:
                ok += 1
    finally:
        conn.close()
    return ok


class _Arrival:
    def __init__(self, label):
        self.label = label


def drive_arrivals(port, spec, n):
    """P1-arrival: n arrivals that pull (subject: each of its 5 hops is
    counted in "per request", so per request here means per arrival), or n
    requests for the page alone (baseline)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    ok = 0
    try:
        for _ in range(n):
            if spec.endswith(":subject"):
                hops, status, jar = bench.pull_arrival(conn, bench.session_of(200))
                ok += status == 200 and hops == 5 and "bsess" in jar["pb.test"]
            else:
                ok += bench.page_alone(conn).status == 200
    finally:
        conn.close()
    label = "arrivals that pull" if spec.endswith(":subject") else "the page alone"
    return _Arrival(label), ok


def run_callgrind(o, b, srv, spec, outdir):
    rid = spec.split(":")[0]
    h = srv.h
    srv.write()
    out = outdir / f"cg-{spec.replace(':', '-')}"
    os.chmod(outdir, 0o777)
    dump = Path(f"{out}.out")
    dump.write_text("")
    os.chmod(dump, 0o666)       # written at exit by the child's user (www-data)
    # counted: everything under ap_run_process_connection (reading, handling
    # and writing a request), not start-up and shut-down; no vgdb (it needs
    # ptrace, which may hang in a sandbox)
    vg = subprocess.Popen(["valgrind", "--tool=callgrind", "--quiet", "--vgdb=no",
                           "--collect-atstart=no",
                           "--toggle-collect=ap_run_process_connection",
                           f"--callgrind-out-file={dump}", pyhttpd.APACHE2, "-X",
                           "-f", str(h.conf)], stdout=subprocess.DEVNULL,
                          stderr=open(outdir / f"{out.name}.valgrind.log", "w"),
                          stdin=subprocess.DEVNULL)
    try:
        pyhttpd.wait_port(srv.port, 120, vg)
        if rid == "P1-arrival":
            side, ok = drive_arrivals(srv.port, spec, o.requests)
        else:
            side = side_of(b, srv, spec)
            paths = request_paths(b, rid, side, o.requests)
            ok = drive(srv.port, side, paths)
    finally:
        vg.send_signal(signal.SIGTERM)
        try:
            vg.wait(60)
        except subprocess.TimeoutExpired:
            vg.kill()
            vg.wait()
    if not dump.stat().st_size:
        raise SystemExit(f"profile: no callgrind output for {spec} in {outdir}")
    self_cost, total = parse_callgrind(dump)
    n = o.requests
    print(f"\n## {spec}: {side.label} — callgrind, {n} requests "
          f"({ok} showed the work), {total / n:,.0f} instructions per request")
    groups = collections.Counter()
    for (obj, _fn), v in self_cost.items():
        groups[group_of(obj)] += v
    print("\nself cost by part (instructions per request):")
    for g, v in groups.most_common():
        print(f"  {v / n:>12,.0f}  {100.0 * v / total:5.1f}%  {g}")
    print("\ntop functions, self cost per request:")
    for (obj, fn), v in self_cost.most_common(o.top):
        print(f"  {v / n:>12,.0f}  {100.0 * v / total:5.1f}%  {fn}  [{os.path.basename(obj)}]")
    print("\ninclusive cost per request of the functions that matter:")
    for v, fn, where in inclusive(dump, n)[:o.top]:
        print(f"  {v:>12,.0f}  {100.0 * v * n / total:5.1f}%  {fn}  [{where}]")
    return dump


def run_perf(o, b, srv, spec, outdir):
    rid = spec.split(":")[0]
    all_cpus = os.sched_getaffinity(0)
    if o.pin:
        # as ./dev bench --pin: apache2 on the first CPU, wrk on the second
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            raise SystemExit("profile: --pin needs 2 CPUs or more")
        bench.WRK_CPUS = {cpus[1]}
        os.sched_setaffinity(0, {cpus[0]})
    try:
        srv.start()
    finally:
        os.sched_setaffinity(0, all_cpus)
    try:
        side = side_of(b, srv, spec)
        pids = [str(p) for p in srv.child_pids()]
        data = outdir / f"perf-{spec.replace(':', '-')}.data"
        tickets, mode = "-", "CYCLE"
        if side.mint:
            tickets, mode = b.mint(rid, side.mint, int(o.rate * o.seconds)), "ONCE"
        rec = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-g",
                                "-o", str(data), "-p", ",".join(pids)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        res = bench.run_wrk(srv.port, o.seconds, 16, 1, "requests.lua",
                            [1, tickets, mode, side.prefix, side.suffix,
                             f"{side.host}:{srv.port}", side.referer, side.cookie,
                             side.check])
        rec.send_signal(signal.SIGINT)
        rec.wait(60)
    finally:
        srv.stop()
    print(f"\n## {spec}: {side.label} — perf cpu-clock, {res['rate']:,.0f} req/s, "
          f"{res['ok']}/{res['requests']} showed the work, wrapped={res['wrapped']}"
          f"{'' if not bench.WRK_CPUS else ' (apache2 and wrk pinned)'}")
    # the server's CPU time per request, by shared object: comparable
    # between the two sides of a row, unlike the shares below
    cp = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--no-children",
                         "--sort", "dso", "-g", "none"],
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    m = re.search(r"Event count \(approx.\): (\d+)", cp.stdout)
    if m and res["requests"]:
        per_req = int(m.group(1)) / 1e3 / res["requests"]   # cpu-clock counts ns
        print(f"\nserver CPU per request: {per_req:.2f} µs (cpu-clock samples / requests "
              f"wrk completed), by shared object:")
        for share, dso in re.findall(r"^\s+([\d.]+)%\s+(\S+)", cp.stdout, re.M):
            if float(share) >= 0.5:
                print(f"  {per_req * float(share) / 100:8.2f} µs  {dso}")
    for sort in ("dso", "dso,sym"):
        cp = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--no-children",
                             "--sort", sort, "-g", "none", "--percent-limit", "0.7"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        print(f"\nperf report --sort {sort}:")
        for line in cp.stdout.splitlines():
            if line.strip() and not line.startswith("#"):
                print("  " + line.strip())
    return data


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tool", choices=["callgrind", "perf"])
    ap.add_argument("specs", nargs="+", metavar="ROW:SIDE")
    ap.add_argument("--requests", type=int, default=400, help="callgrind: requests (400)")
    ap.add_argument("--seconds", type=int, default=10, help="perf: seconds of wrk (10)")
    ap.add_argument("--rate", type=float, default=30000,
                    help="perf: tickets minted per second of wrk (30000)")
    ap.add_argument("--top", type=int, default=25, help="functions listed (25)")
    ap.add_argument("--pin", action="store_true",
                    help="perf: apache2 on one CPU, wrk on another (as ./dev bench --pin)")
    ap.add_argument("--keep", action="store_true")
    o = ap.parse_args()
    tool = "valgrind" if o.tool == "callgrind" else "perf"
    if not shutil.which(tool):
        raise SystemExit(f"profile: {tool} not found (Debian package "
                         f"{'valgrind' if tool == 'valgrind' else 'linux-perf'})")
    base = bench.BUILD / "build" / "bench"
    base.mkdir(parents=True, exist_ok=True)
    outdir = Path(tempfile.mkdtemp(prefix="profile-", dir=base))
    os.chmod(outdir, 0o777)
    b = bench.Bench(argparse.Namespace(quick=True, rounds=1, seconds=1, connections=16,
                                       threads=1), outdir)
    subprocess.run([str(bench.TOOL), "keygen"], stdout=open(b.key, "w"), check=True)
    os.chmod(b.key, 0o600)
    opts = argparse.Namespace(quick=True, stream_mib=1)
    for spec in o.specs:
        d = outdir / spec.replace(":", "-")
        d.mkdir()
        srv, _stream = bench.make_servers(opts, b, d)
        if o.tool == "callgrind":
            run_callgrind(o, b, srv, spec, outdir)
        else:
            run_perf(o, b, srv, spec, outdir)
    if o.keep:
        print(f"\n(kept {outdir})")
    else:
        shutil.rmtree(outdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
