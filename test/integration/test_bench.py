"""`./dev bench --quick` works.

Runs scripts/dev-bench --quick --no-build (the tree is built already; the
benchmark must not rebuild the module under the other tests' feet) and
checks the one table it prints: every row is there with a number in its
ratio column (and in its cpu ratio column where wrk measured), and nothing says the measurement went wrong (tickets
rejected, no loader tag, warnings in the servers' error logs).  Timings
are not asserted: they are numbers, not a test.
"""

import os
import re
import subprocess
import sys

import pyhttpd

ROWS = ["R1", "R1-nav", "R1-100B", "R1-1KiB", "R1-4KiB", "R1-write", "R1-plain",
        "R2", "R2-steady", "R2-1", "R2-4", "R2-16", "R2-crypto", "R1-cookie", "R2-cookie",
        "R2-cookie-proxy", "G-loaders", "G-cpu", "R3", "R3-scan", "R3-rss", "P1", "P1-arrival",
        "C-seal-200", "C-open-200", "C-seal-4096", "C-open-4096", "C-derive"]
GOALS = {"R1": ">= 0.9", "R2": ">= 0.9", "R2-steady": ">= 0.98", "R2-16": ">= 0.75",
         "G-loaders": "<= 2", "R3": ">= 0.97", "R3-rss": "< 2 MiB", "P1": ">= 0.98",
         "R1-cookie": ">= 0.9", "R2-cookie": ">= 0.9", "R2-cookie-proxy": ">= 0.97"}
FIGURE_RE = re.compile(r"^[+-]?\d+(\.\d+)?( MiB| µs/op)?$")


def run_bench(*args):
    env = dict(os.environ, TOP=str(pyhttpd.TOP), SS_BUILD=str(pyhttpd.BUILD),
               PY=sys.executable)
    return subprocess.run([str(pyhttpd.TOP / "scripts" / "dev-bench"), "--quick", "--no-build",
                           *args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env, timeout=900, stdin=subprocess.DEVNULL)


def table_of(out):
    table = {}
    for line in out.splitlines():
        if not line.startswith("| "):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] in ("row",) or set(cells[0]) <= set("-"):
            continue
        table[cells[0]] = cells
    return table


def test_bench_quick(module_so, tool):
    cp = run_bench()
    out = cp.stdout
    assert cp.returncode == 0, f"dev-bench failed ({cp.returncode}):\n{out}\n{cp.stderr[-3000:]}"
    assert "; not pinned (wrk and apache2 share the CPUs)" in out, out

    # the header names the machine and the date
    assert re.search(r"^mod_shared_session benchmark, \d{4}-\d\d-\d\d \d\d:\d\d UTC",
                     out, re.M), out
    assert re.search(r"^machine: .+, \d+ cores, Linux \S+; load average", out, re.M), out

    table = table_of(out)
    missing = [r for r in ROWS if r not in table]
    assert not missing, f"rows missing from the table: {missing}\n{out}"
    for rid in ROWS:
        cells = table[rid]
        assert len(cells) == 9, (rid, cells)
        figure = cells[5]
        assert FIGURE_RE.match(figure), f"{rid}: ratio column is not a number: {figure!r}"
        # the server's CPU per request, baseline over subject, for the rows
        # measured with wrk
        cpu = cells[8]
        if rid.startswith(("C-", "R3-rss", "G-loaders")):
            assert cpu == "-", (rid, cells)
        else:
            assert FIGURE_RE.match(cpu) and float(cpu) > 0, f"{rid}: cpu ratio {cpu!r}"
        if rid in GOALS:
            assert cells[6] == GOALS[rid], (rid, cells)
            assert cells[7] in ("PASS", "FAIL"), (rid, cells)
        if not rid.startswith(("C-", "R3-rss")):
            assert float(figure) > 0, f"{rid}: ratio {figure}"
    # loaders only when there is news: the figure itself is a count, not a timing
    assert float(table["G-loaders"][5]) <= 2, table["G-loaders"]
    assert table["G-loaders"][4] == "200.0 loaders", table["G-loaders"]

    # the measurement itself went right: tickets accepted, tags inserted,
    # no warning or error in the servers' logs
    problems = out.split("PROBLEMS", 1)[1] if "PROBLEMS" in out else ""
    for bad in ("show the work", "ran out of tickets", "no loader tag", "error_log",
                "R3:", "R3-rss:", "G-default", "G-resend0"):
        assert bad not in problems, f"benchmark problem ({bad}):\n{problems}"


def test_bench_pin_and_only(module_so, tool):
    """--pin puts apache2 and wrk on CPUs of their own (or says why not);
    --only measures exactly the rows it names."""
    cp = run_bench("--pin", "--only", "R2,C-derive")
    out = cp.stdout
    if len(os.sched_getaffinity(0)) < 2:
        assert cp.returncode != 0 and "--pin needs 2 CPUs or more" in cp.stderr + out
        return
    assert cp.returncode == 0, f"dev-bench failed ({cp.returncode}):\n{out}\n{cp.stderr[-3000:]}"
    first, second = sorted(os.sched_getaffinity(0))[:2]
    assert f"; pinned: apache2 on CPU {first}, wrk on CPU {second}" in out, out
    table = table_of(out)
    assert sorted(table) == ["C-derive", "R2"], out
    assert FIGURE_RE.match(table["R2"][5]) and float(table["R2"][5]) > 0, table["R2"]
    assert table["R2"][6] == ">= 0.9", table["R2"]
    assert "PROBLEMS" not in out, out
