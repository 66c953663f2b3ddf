"""A small harness that runs Debian's real apache2 for the integration tests.

In the spirit of httpd's own test/pyhttpd: every instance gets its own
directory inside the build tree (conf/, logs/, run/, htdocs/, data/), free
loopback ports, a config written from a base template plus the test's
snippet, and is started and stopped with apache2 itself (-k start / -k stop),
never a fake server.  The error log is scanned after each test: any
[warn]/[error]/[crit]/[alert]/[emerg] line (or a child that died of a
signal) fails the test unless the test allowed the line's message tag.

Environment:
  SS_TOP     source tree (default: two levels above this file)
  SS_BUILD   build tree  (default: SS_TOP); the module is
             $SS_BUILD/.libs/mod_shared_session.so, the tool
             $SS_BUILD/shared-session-tool
  SS_APACHE2 the apache2 binary (default /usr/sbin/apache2)
  SS_KEEP    when set, generated directories are kept after the run
"""

import http.client
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOP = Path(os.environ.get("SS_TOP") or HERE.parent.parent).resolve()
BUILD = Path(os.environ.get("SS_BUILD") or TOP).resolve()
MODULE_SO = BUILD / ".libs" / "mod_shared_session.so"
TOOL = BUILD / "shared-session-tool"
APACHE2 = os.environ.get("SS_APACHE2") or "/usr/sbin/apache2"
APXS = shutil.which("apxs") or shutil.which("apxs2") or "/usr/bin/apxs"
DEBIAN_MODULES = Path("/usr/lib/apache2/modules")
GEN_ROOT = BUILD / "test" / "integration" / "gen"

IS_ROOT = os.geteuid() == 0
RUN_USER = "www-data"

# Levels that fail a test unless allowed, and other lines that always matter.
BAD_LEVELS = ("warn", "error", "crit", "alert", "emerg")
LEVEL_RE = re.compile(r"\[(?:[\w.-]+:)?(warn|error|crit|alert|emerg)\]")
TAG_RE = re.compile(r"\b(AH\d{5}|MSS\d{5})\b")
DIED_RE = re.compile(r"exit signal|child process \d+ still did not exit|"
                     r"seg(mentation)? ?fault", re.I)

# Modules every instance loads (on top of the built-in log_config, unixd, so).
BASE_MODULES = ["mpm_event", "authz_core", "mime", "headers", "session",
                "session_cookie", "socache_shmcb"]

ACCESS_FORMAT = (r'%{X-Test-Id}i\t%r\t%U\t%>s\t%{Host}i\t'
                 r'%{SHARED_SESSION_RESULT}e\t%{SHARED_SESSION_REASON}e\t'
                 r'%{SHARED_SESSION_SRC}e\t%{SHARED_SESSION_WAS_EMPTY}e')
ACCESS_FIELDS = ("test_id", "request", "uri", "status", "host", "result",
                 "reason", "src", "was_empty")


class HarnessError(Exception):
    pass


def fail_missing(what, package):
    """A prerequisite is missing: a test failure naming the Debian package."""
    import pytest
    pytest.fail(f"{what} not found: install the Debian package {package} "
                f"(./dev test installs it)", pytrace=False)


def become_subreaper():
    """apache2 -k start detaches; as a child subreaper this process becomes
    the daemon's parent and reaps it when it exits (no zombies left behind
    where pid 1 does not reap)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)       # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


become_subreaper()


def reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def free_port():
    """A loopback TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port():
    """A loopback port that refuses connections (nothing bound to it)."""
    return free_port()


def wait_port(port, timeout=10.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise HarnessError(f"process exited with {proc.returncode} before "
                               f"listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise HarnessError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def children_of(pid):
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            kids.append(int(d))
    return kids


def chown_run_user(path):
    if IS_ROOT:
        shutil.chown(path, RUN_USER, RUN_USER)


def module_line(name):
    """LoadModule line for a Debian module given as "session_crypto"."""
    so = DEBIAN_MODULES / f"mod_{name}.so"
    return f"LoadModule {name}_module {so}"


# --------------------------------------------------------------------------
# HTTP client: http.client, so that every header line (two Set-Cookie, two
# Cookie) is visible as sent, and nothing follows redirects.

_test_ids = itertools.count(1)


class Response:
    def __init__(self, status, reason, headers, body, test_id, request_path):
        self.status = status
        self.reason = reason
        self.headers = headers          # list of (name, value) as received
        self.body = body
        self.test_id = test_id
        self.request_path = request_path

    def header(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def set_cookies(self, cookie_name=None):
        """Set-Cookie values, only those of cookie_name when given."""
        out = []
        for v in self.header_all("Set-Cookie"):
            n = v.split("=", 1)[0].strip()
            if cookie_name is None or n == cookie_name:
                out.append(v)
        return out

    def __repr__(self):
        return (f"<Response {self.status} {self.request_path} "
                f"headers={self.headers!r} body={self.body[:200]!r}>")


def cookie_pair(set_cookie):
    """'name=value' of a Set-Cookie header value (attributes dropped)."""
    return set_cookie.split(";", 1)[0].strip()


def cookie_attrs(set_cookie):
    """Attributes of a Set-Cookie value, names lowercased: {'path': '/', ...}."""
    attrs = {}
    for part in set_cookie.split(";")[1:]:
        part = part.strip()
        if not part:
            continue
        k, _, v = part.partition("=")
        attrs[k.strip().lower()] = v.strip()
    return attrs


def request(port, path, host=None, method="GET", headers=None, body=None,
            timeout=10):
    """One request on a fresh connection to 127.0.0.1:port.

    headers: dict or list of pairs (a list may repeat a name). Host is set
    explicitly (host or '127.0.0.1:port').  Every request carries an
    X-Test-Id header that the access log records, so that a test can find
    the log line of its own request."""
    test_id = f"t{os.getpid()}-{next(_test_ids)}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_host=True,
                        skip_accept_encoding=True)
        conn.putheader("Host", host or f"127.0.0.1:{port}")
        conn.putheader("X-Test-Id", test_id)
        pairs = headers.items() if isinstance(headers, dict) else (headers or [])
        for k, v in pairs:
            conn.putheader(k, v)
        if body is not None:
            data = body.encode() if isinstance(body, str) else body
            conn.putheader("Content-Length", str(len(data)))
            conn.endheaders(data)
        else:
            conn.endheaders()
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, resp.reason, resp.getheaders(), data,
                        test_id, path)
    finally:
        conn.close()


# --------------------------------------------------------------------------

BASE_TEMPLATE = """\
# generated by test/integration/pyhttpd.py
ServerRoot "{root}"
ServerName {server_name}
{listen}
PidFile "{run}/httpd.pid"
DefaultRuntimeDir "{run}"
Mutex file:{run} default
ErrorLog "{logs}/error_log"
LogLevel {loglevel}
LogFormat "{access_format}" sstest
CustomLog "{logs}/access_log" sstest
{user_group}
{load_modules}

StartServers 2
ServerLimit 4
ThreadsPerChild 10
ThreadLimit 10
MaxRequestWorkers 40
MinSpareThreads 10
MaxSpareThreads 40
Timeout 10
KeepAlive On
KeepAliveTimeout 2
GracefulShutdownTimeout 3
{types}
DocumentRoot "{htdocs}"
<Directory "{htdocs}">
    Require all granted
</Directory>

{snippet}
"""


class Httpd:
    """One apache2 instance with its own directory, ports, config and logs."""

    _seq = itertools.count(1)
    running = []        # instances started and not yet stopped
    touched = []        # instances to check after the current test

    def __init__(self, name="httpd", base_dir=None, nports=1):
        GEN_ROOT.mkdir(parents=True, exist_ok=True)
        base = Path(base_dir) if base_dir else GEN_ROOT
        self.name = name
        self.root = Path(tempfile.mkdtemp(
            prefix=f"{name}-{next(self._seq)}-", dir=base))
        os.chmod(self.root, 0o755)
        self.conf_dir = self.root / "conf"
        self.logs = self.root / "logs"
        self.run = self.root / "run"
        self.htdocs = self.root / "htdocs"
        self.data = self.root / "data"      # writable by the children
        for d in (self.conf_dir, self.logs, self.run, self.htdocs, self.data):
            d.mkdir()
            os.chmod(d, 0o755)
        chown_run_user(self.data)
        os.chmod(self.data, 0o770 if IS_ROOT else 0o755)
        self.conf = self.conf_dir / "httpd.conf"
        self.error_log = self.logs / "error_log"
        self.access_log = self.logs / "access_log"
        self.pidfile = self.run / "httpd.pid"
        self.ports = [free_port() for _ in range(nports)]
        self.pid = None
        self.start_output = ""
        self._log_mark = 0      # error log offset already checked
        self._allowed = set()   # tags/substrings allowed for the current test
        self._extra_log = ""    # output of apache2 -k start, checked once
        self.write_config("")

    @property
    def port(self):
        return self.ports[0]

    # ---- configuration ---------------------------------------------------
    def write_config(self, snippet, modules=(), shared_session=True,
                     base_modules=None, loglevel=None,
                     extra_listen=(), server_name="localhost",
                     mime_types=True, module_so=None):
        """Writes httpd.conf: base template + snippet.

        modules: extra Debian modules by short name ("session_crypto");
        base_modules: replaces BASE_MODULES (e.g. to leave mod_session out);
        shared_session: adds LoadModule for the built module (module_so
        overrides its path); extra_listen: further "Listen" arguments."""
        names = list(BASE_MODULES if base_modules is None else base_modules)
        if loglevel is None:
            loglevel = "info shared_session:debug" if shared_session else "info"
        for m in modules:
            if m not in names:
                names.append(m)
        lines = [module_line(m) for m in names]
        if shared_session:
            lines.append(f"LoadModule shared_session_module "
                         f"{module_so or MODULE_SO}")
        listen = "\n".join([f"Listen 127.0.0.1:{p}" for p in self.ports] +
                           [f"Listen {x}" for x in extra_listen])
        user_group = (f"User {RUN_USER}\nGroup {RUN_USER}" if IS_ROOT else "")
        types = "TypesConfig /etc/mime.types" if mime_types and "mime" in names else ""
        text = BASE_TEMPLATE.format(
            root=self.root, server_name=server_name, listen=listen,
            run=self.run, logs=self.logs, loglevel=loglevel,
            access_format=ACCESS_FORMAT.replace('"', '\\"'),
            user_group=user_group, load_modules="\n".join(lines),
            types=types, htdocs=self.htdocs, snippet=self.expand(snippet))
        self.conf.write_text(text)
        return self.conf

    def expand(self, text):
        """{port}, {port1}.., {root}, {data}, {htdocs}, {logs}, {run} in snippets."""
        values = {"root": self.root, "data": self.data, "htdocs": self.htdocs,
                  "logs": self.logs, "run": self.run, "port": self.port,
                  "conf": self.conf_dir}
        for i, p in enumerate(self.ports):
            values[f"port{i}"] = p
        # only these names: other braces (%{HTTP_SESSION}e) stay as they are
        return re.sub(r"\{(port\d*|root|data|htdocs|logs|run|conf)\}",
                      lambda m: str(values[m.group(1)]), text)

    def write_file(self, relpath, text, mode=0o644):
        p = self.root / relpath
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        os.chmod(p, mode)
        return p

    # ---- control ---------------------------------------------------------
    def _run(self, *args, timeout=30):
        cp = subprocess.run([APACHE2, "-f", str(self.conf), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        return cp.returncode, cp.stdout

    def configtest(self):
        """apache2 -t: (exit code, combined output)."""
        return self._run("-t")

    def dump_modules(self):
        return self._run("-t", "-D", "DUMP_MODULES")

    def start(self, timeout=10):
        if self.pid and pid_alive(self.pid):
            raise HarnessError(f"{self.name} already running")
        rc, out = self._run("-k", "start")
        self.start_output = out
        self._extra_log = out   # start-up messages go to stderr, not error_log
        if rc != 0:
            raise HarnessError(f"apache2 -k start failed ({rc}):\n{out}\n"
                               f"{self.error_log_text()[-4000:]}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.pid = int(self.pidfile.read_text().strip())
                break
            except (OSError, ValueError):
                time.sleep(0.02)
        else:
            raise HarnessError(f"no pid file {self.pidfile}:\n"
                               f"{self.error_log_text()[-4000:]}")
        Httpd.running.append(self)
        if self not in Httpd.touched:
            Httpd.touched.append(self)
        for p in self.ports:
            try:
                wait_port(p, max(0.5, deadline - time.monotonic()))
            except HarnessError:
                self.stop()
                raise HarnessError(f"{self.name} does not listen on {p}:\n"
                                   f"{self.error_log_text()[-4000:]}")
        self._wait_ready(deadline)
        return self

    def _wait_ready(self, deadline):
        # The parent listens before the children serve; one request proves it.
        while time.monotonic() < deadline:
            try:
                request(self.port, "/__ready", timeout=2)
                return
            except OSError:
                time.sleep(0.05)

    def stop(self, timeout=10):
        if not self.pid:
            return
        pid = self.pid
        kids = children_of(pid)
        try:
            rc, _ = self._run("-k", "stop", timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = -1
        if rc != 0 and pid_alive(pid):
            # e.g. the config was rewritten since start and does not parse
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if pid_alive(pid):
            for p in [pid] + kids:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        # Children of ours that outlived the parent (they should not).
        for k in kids:
            end = time.monotonic() + 3
            while pid_alive(k) and time.monotonic() < end:
                time.sleep(0.02)
            if pid_alive(k):
                try:
                    os.kill(k, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for p in [pid] + kids:
            reap(p)
        self.pid = None
        if self in Httpd.running:
            Httpd.running.remove(self)

    def graceful(self, timeout=10):
        """apache2 -k graceful; returns when the new generation serves."""
        before = self.error_log_text().count("resuming normal operations")
        rc, out = self._run("-k", "graceful")
        if rc != 0:
            raise HarnessError(f"graceful failed ({rc}): {out}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.error_log_text().count("resuming normal operations") > before:
                self._wait_ready(deadline)
                return
            time.sleep(0.05)
        raise HarnessError("graceful restart did not complete:\n"
                           + self.error_log_text()[-3000:])

    @property
    def is_running(self):
        return bool(self.pid) and pid_alive(self.pid)

    # ---- requests ----------------------------------------------------------
    def get(self, path, host=None, port=None, **kw):
        return request(port or self.port, path, host=host, **kw)

    def origin(self, host, port=None):
        return f"http://{host}:{port or self.port}"

    # ---- logs --------------------------------------------------------------
    def error_log_text(self):
        try:
            return self.error_log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def error_log_since_mark(self):
        return self.error_log_text()[self._log_mark:]

    def allow(self, *tags):
        """Allows error-log lines carrying one of these tags (or substrings)
        for the current test."""
        self._allowed.update(tags)

    def mark(self):
        self._log_mark = len(self.error_log_text())
        self._allowed = set()

    def bad_log_lines(self, allowed=()):
        allowed = set(allowed) | self._allowed
        bad = []
        text = self._extra_log + "\n" + self.error_log_since_mark()
        for line in text.splitlines():
            if not (LEVEL_RE.search(line) or DIED_RE.search(line)):
                continue
            if any(a in line for a in allowed):
                continue
            bad.append(line)
        return bad

    def check_log(self, allowed=()):
        """Raises AssertionError listing unexpected warn-or-worse lines since
        the last mark, then moves the mark to the end."""
        bad = self.bad_log_lines(allowed)
        self._log_mark = len(self.error_log_text())
        self._extra_log = ""
        if bad:
            raise AssertionError(
                f"unexpected lines in {self.error_log} ({self.name}):\n"
                + "\n".join(bad[:30]))

    def wait_error_log(self, pattern, timeout=3.0, since_mark=True):
        """Waits until a line matching the regex appears; returns the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            text = self.error_log_since_mark() if since_mark else self.error_log_text()
            m = rx.search(text)
            if m or time.monotonic() >= deadline:
                return m
            time.sleep(0.02)

    def access_entries(self):
        out = []
        try:
            text = self.access_log.read_text(errors="replace")
        except FileNotFoundError:
            return out
        for line in text.splitlines():
            parts = line.split("\t")
            if len(parts) != len(ACCESS_FIELDS):
                continue
            out.append(dict(zip(ACCESS_FIELDS, parts)))
        return out

    def access_entry(self, resp, timeout=3.0):
        """The access log entry of a Response (found by its X-Test-Id)."""
        test_id = resp.test_id if isinstance(resp, Response) else resp
        deadline = time.monotonic() + timeout
        while True:
            for e in self.access_entries():
                if e["test_id"] == test_id:
                    e["raw"] = "\t".join(e[f] for f in ACCESS_FIELDS)
                    return e
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"no access log line for {test_id} in {self.access_log}")
            time.sleep(0.02)


# --------------------------------------------------------------------------
# Helper daemons (redis-server, memcached), started and stopped by pid.

class Daemon:
    def __init__(self, argv, port, name, workdir):
        self.argv = argv
        self.port = port
        self.name = name
        self.workdir = Path(workdir)
        self.proc = None

    def start(self):
        self.log = open(self.workdir / f"{self.name}.log", "wb")
        self.proc = subprocess.Popen(self.argv, stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL,
                                     cwd=self.workdir)
        try:
            wait_port(self.port, 10, self.proc)
        except HarnessError:
            self.stop()
            raise
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc:
            self.log.close()
        self.proc = None


def redis_server(workdir):
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(exe):
        fail_missing("redis-server", "redis-server")
    port = free_port()
    return Daemon([exe, "--port", str(port), "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no", "--daemonize", "no",
                   "--dir", str(workdir)], port, "redis", workdir).start()


def memcached_server(workdir):
    exe = shutil.which("memcached") or "/usr/bin/memcached"
    if not os.path.exists(exe):
        fail_missing("memcached", "memcached")
    port = free_port()
    argv = [exe, "-l", "127.0.0.1", "-p", str(port), "-U", "0"]
    if IS_ROOT:
        argv += ["-u", "nobody"]
    return Daemon(argv, port, "memcached", workdir).start()


# --------------------------------------------------------------------------
# shared-session-tool

class Tool:
    def __init__(self, path=TOOL):
        self.path = Path(path)

    def run(self, *args, check=False):
        cp = subprocess.run([str(self.path), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, timeout=30, stdin=subprocess.DEVNULL)
        if check and cp.returncode != 0:
            raise AssertionError(f"shared-session-tool {' '.join(map(str, args))} "
                                 f"failed ({cp.returncode}): {cp.stderr}")
        return cp

    def keygen(self):
        return self.run("keygen", check=True).stdout.strip()

    def write_key(self, path, key=None, mode=0o600):
        key = key or self.keygen()
        path = Path(path)
        path.write_text(key + "\n")
        os.chmod(path, mode)
        return path

    def mint(self, key, src, dst, session="user=alice", nav=None, iat=None,
             nonce=None):
        args = ["mint", "--key", key, "--src", src, "--dst", dst]
        if nav is not None:
            args += ["--nav", nav]
        if session is not None:
            args += ["--session", session]
        if iat is not None:
            args += ["--iat", str(iat)]
        if nonce is not None:
            args += ["--nonce", nonce]
        return self.run(*args, check=True).stdout.strip()

    def inspect(self, keys, dst, ticket):
        args = ["inspect"]
        for k in ([keys] if isinstance(keys, (str, Path)) else keys):
            args += ["--key", k]
        args += ["--dst", dst, ticket]
        return self.run(*args)
