"""The live demo (`./dev demo`, i.e. demo/demo.py) runs its walkthrough.

`demo.py --check` starts Debian's apache2 with the two HTTPS demo sites,
runs the scripted walkthrough (script flow, then navigation flow) and must
exit 0 with every step OK and apache2 stopped; without --check it stays up
until Ctrl-C.  A walkthrough against sites that cannot share (B has another
key) must report FAIL and make --check exit non-zero.
"""

import glob
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

import pyhttpd

DEMO = pyhttpd.TOP / "demo" / "demo.py"
PY = "/usr/bin/python3"

sys.path.insert(0, str(DEMO.parent))
import demo  # noqa: E402

STEP_TITLES = {
    1: r"Log in on site A \(https://localhost:\d+\) as demo/demo",
    2: r"The page the login lands on carries the loader <script> for site B \(once: "
       r"unchanged pages carry none\)",
    3: r"The browser fetches the loader from B \(Referer: A\): B sets its own cookie",
    4: r"B's protected page \(https://127\.0\.0\.1:\d+/private/\) greets demo",
    5: r"Log in on A, follow A's link to site B: 303 to B's start, 303 back to A's go "
       r"with B's state, 303 to B's handler, 303 to B's protected page, which greets demo",
    6: r"Log out on A: A's next page carries the logout to B, and B's pages never log A "
       r"back in",
}


def demo_env():
    env = dict(os.environ)
    env["SS_BUILD"] = str(pyhttpd.BUILD)
    return env


def demo_dir(gen_dir, name):
    d = tempfile.mkdtemp(prefix=f"{name}-", dir=gen_dir)
    os.chmod(d, 0o755)
    return d


def two_ports():
    port_a = demo.free_port()
    return port_a, demo.free_port(avoid=(port_a,))


def demo_argv(root, *extra):
    port_a, port_b = two_ports()
    return [PY, str(DEMO), "--port-a", str(port_a), "--port-b", str(port_b),
            "--dir", root, *extra]


def apache_pid(output):
    m = re.search(r"apache2 pid (\d+) started", output)
    assert m, output
    return int(m.group(1))


def bad_log_lines(root):
    rx = re.compile(r"\[(?:[\w.-]+:)?(warn|error|crit|alert|emerg)\]|exit signal|"
                    r"seg(mentation)? ?fault", re.I)
    bad = []
    for name in ("error_log", "a_error_log", "b_error_log"):
        p = os.path.join(root, "logs", name)
        with open(p, errors="replace") as f:
            bad += [f"{name}: {line}" for line in f.read().splitlines() if rx.search(line)]
    return bad


def test_demo_check_walkthrough_passes(gen_dir, module_so, tool):
    root = demo_dir(gen_dir, "demo-check")
    t0 = time.monotonic()
    cp = subprocess.run(demo_argv(root, "--check"), cwd=pyhttpd.TOP, env=demo_env(),
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                        timeout=60, stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - t0
    out = cp.stdout
    assert cp.returncode == 0, out
    for n, title in STEP_TITLES.items():
        assert re.search(rf"^\[{n}\] {title}", out, re.M), f"step {n} title missing:\n{out}"
        assert re.search(rf"^\[{n}\] OK$", out, re.M), f"step {n} not OK:\n{out}"
    assert "FAIL" not in out, out
    assert "walkthrough: 6/6 steps OK" in out, out
    # what a newcomer is shown along the way
    assert re.search(r'<script src="https://127\.0\.0\.1:\d+/shared-session/[^"]+\.js" async="async" '
                     r'referrerpolicy="origin"></script>', out), out
    assert re.search(r"B's Set-Cookie: session=<\d+ chars, encrypted>; Max-Age=3600; "
                     r"path=/; Secure; HttpOnly; SameSite=None", out), out
    assert re.search(r"B's error log \(b_error_log\): result=replaced reason=- mode=script "
                     r"src=localhost:\d+ dst=127\.0\.0\.1:\d+ was_empty=1", out), out
    assert re.search(r"B's error log: result=replaced reason=- mode=navigation", out), out
    assert re.search(r'greets "demo"', out), out
    # the walkthrough only: no browser instructions, apache2 stopped by pid
    assert "Press Ctrl-C" not in out, out
    pid = apache_pid(out)
    assert f"apache2 (pid {pid}) stopped" in out, out
    assert not pyhttpd.pid_alive(pid), f"apache2 {pid} still runs"
    # generated files: the shared key 0600, made with the tool
    key = os.path.join(root, "conf", "shared-session.key")
    assert os.stat(key).st_mode & 0o777 == 0o600
    assert tool.mint(key, "localhost", "127.0.0.1")     # a valid key
    conf = open(os.path.join(root, "conf", "httpd.conf")).read()
    assert "SetOutputFilter SHARED_SESSION" in conf
    assert "SetHandler shared-session" in conf
    assert "SessionCookieName session path=/;Secure;HttpOnly;SameSite=None" in conf
    assert not bad_log_lines(root), "\n".join(bad_log_lines(root))
    assert elapsed < 30, f"the demo took {elapsed:.1f}s"


def _https_get(url):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(url, context=ctx, timeout=10) as r:
        return r.status, r.read().decode()


def test_demo_stays_up_until_ctrl_c(gen_dir, module_so, tool):
    root = demo_dir(gen_dir, "demo-live")
    argv = demo_argv(root)
    port_a, port_b = int(argv[argv.index("--port-a") + 1]), int(argv[argv.index("--port-b") + 1])
    p = subprocess.Popen(argv, cwd=pyhttpd.TOP, env=demo_env(), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    out = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            out.append(line)
            if "Press Ctrl-C to stop the demo." in line:
                break
        text = "".join(out)
        assert "Press Ctrl-C to stop the demo." in text, text
        assert "walkthrough: 6/6 steps OK" in text, text
        # the browser instructions name both sites and both flows
        assert f"https://localhost:{port_a}/" in text and f"https://127.0.0.1:{port_b}/" in text
        assert "Accept the self-signed certificate" in text, text
        assert "third-party cookies" in text and "every browser" in text, text
        pid = apache_pid(text)
        # still serving after the walkthrough
        status, body = _https_get(f"https://127.0.0.1:{port_b}/")
        assert status == 200 and "Site B" in body
        status, body = _https_get(f"https://localhost:{port_a}/login.html")
        assert status == 200 and "httpd_username" in body
        assert pyhttpd.pid_alive(pid)
        p.send_signal(signal.SIGINT)
        rest, _ = p.communicate(timeout=20)
        text += rest
        assert p.returncode == 0, text
        assert f"apache2 (pid {pid}) stopped" in text, text
        assert not pyhttpd.pid_alive(pid), f"apache2 {pid} still runs"
    finally:
        # a failed assertion above must not leave the demo's apache2 behind:
        # Ctrl-C first (the demo stops it), then by its pid file
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
        for pidfile in glob.glob(os.path.join(str(root), "**", "httpd.pid"), recursive=True):
            try:
                os.kill(int(open(pidfile).read().strip()), signal.SIGTERM)
            except (OSError, ValueError):
                pass
    assert not bad_log_lines(root), "\n".join(bad_log_lines(root))


def test_walkthrough_reports_failures(gen_dir, module_so, tool, monkeypatch, capsys):
    """Sites that cannot share (B opens tickets with another key): the
    steps that need sharing print FAIL and --check exits 1; apache2 is
    stopped all the same."""
    root = demo_dir(gen_dir, "demo-fail")
    other_key = tool.write_key(os.path.join(root, "other.key"))
    real = demo.DemoServer.config_text

    def b_has_another_key(self):
        text = real(self)
        marker = f"<VirtualHost 127.0.0.1:{self.b.port}>\n"
        assert marker in text
        return text.replace(marker, marker + f'    SharedSessionKeyFile "{other_key}"\n')

    monkeypatch.setattr(demo.DemoServer, "config_text", b_has_another_key)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        port_a, port_b = two_ports()
        rc = demo.main(["--check", "--dir", root, "--port-a", str(port_a),
                        "--port-b", str(port_b)])
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)
    out = capsys.readouterr().out
    assert rc == 1, out
    assert re.search(r"^\[1\] OK$", out, re.M), out
    assert re.search(r"^\[2\] OK$", out, re.M), out
    assert re.search(r"^\[3\] FAIL: expected 200 with B's Set-Cookie", out, re.M), out
    assert re.search(r"^\[4\] FAIL: not run, step 3 failed", out, re.M), out
    assert re.search(r"^\[5\] FAIL: ", out, re.M), out
    assert re.search(r"^\[6\] FAIL: not run, step 3 failed", out, re.M), out
    assert "walkthrough: 2/6 steps OK - FAILED" in out, out
    pid = apache_pid(out)
    assert not pyhttpd.pid_alive(pid)
    b_log = open(os.path.join(root, "logs", "b_error_log")).read()
    assert "result=rejected reason=unknown-key mode=script" in b_log, b_log
    assert "result=rejected reason=unknown-key mode=navigation" in b_log, b_log
