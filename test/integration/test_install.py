""""make install" places everything where Apache expects it,
"a2enmod shared_session && apachectl configtest" works on Debian's stock
configuration, "make uninstall" removes exactly what install added, and
"make distcheck" passes.

Everything happens on copies: the sources are copied (git ls-files, plus
untracked files) into this run's gen dir and built there out of tree, so the
build tree under test is never reconfigured; Debian's stock /etc/apache2 is
copied to <root>/etc/apache2 and "make install DESTDIR=<root>" installs into
that copy (the default --with-apache-confdir is /etc/apache2, so DESTDIR
points it at the copy) while the installed shared_session.load keeps the real
path.  a2enmod runs for real on the copy (APACHE_CONFDIR, and
APACHE_STATE_DIRECTORY so that its markers stay out of /var/lib/apache2).
The live /etc/apache2 and /usr/lib/apache2/modules are only read.
"""

import grp
import hashlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

import pyhttpd
from pyhttpd import free_port, pid_alive, reap, request, wait_port

LIVE_CONFDIR = Path("/etc/apache2")
A2ENMOD = "/usr/sbin/a2enmod"
APACHE2CTL = "/usr/sbin/apache2ctl"
DEFAULT_BINDIR = "usr/local/bin"    # autoconf's default prefix /usr/local
NPROC = str(os.cpu_count() or 2)


# ---------------------------------------------------------------------------
# helpers

def run(argv, cwd=None, env=None, timeout=180, check=True, user=None):
    """Runs argv (stdout+stderr together); a failure shows the output's tail.
    user: (uid, gid) to run as, through setpriv (only when we are root)."""
    if user is not None:
        argv = ["setpriv", f"--reuid={user[0]}", f"--regid={user[1]}",
                "--clear-groups", *argv]
    cp = subprocess.run([str(a) for a in argv], cwd=cwd, env=env,
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if check and cp.returncode != 0:
        pytest.fail(f"{' '.join(map(str, argv))} (in {cwd}) failed with "
                    f"{cp.returncode}:\n{cp.stdout[-6000:]}", pytrace=False)
    return cp


def apxs_q(var):
    return run([pyhttpd.APXS, "-q", var]).stdout.strip()


def tree_state(root):
    """{relative path: content hash or symlink target} of every file and
    symlink under root (directories are not "files left behind")."""
    root = Path(root)
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames
                                 if os.path.islink(os.path.join(dirpath, d))]:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                state[rel] = "-> " + os.readlink(p)
            else:
                state[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return state


def a2enmod_depends(load_file):
    """The dependencies a2enmod reads from a .load file, as its get_deps()
    does: the first "# Depends:" line before the first non-comment line."""
    for line in Path(load_file).read_text().splitlines():
        m = re.match(r"^# Depends:\s+(.*?)\s*$", line)
        if m:
            return m.group(1).split()
        if not re.match(r"^\s*(?:#.*)?$", line):
            break
    return []


def copy_live_confdir(dest):
    """A copy of Debian's /etc/apache2 (symlinks of mods-enabled kept as
    links), without any shared_session files an earlier install left there."""
    if not (LIVE_CONFDIR / "apache2.conf").exists():
        pyhttpd.fail_missing("/etc/apache2/apache2.conf", "apache2")
    shutil.copytree(LIVE_CONFDIR, dest, symlinks=True)
    for sub in ("mods-available", "mods-enabled"):
        for f in (dest / sub).glob("shared_session.*"):
            f.unlink()
    return dest


def unprivileged_user():
    """(uid, gid) for the distcheck run: nobody when we are root."""
    if os.geteuid() != 0:
        return None
    pw = pwd.getpwnam("nobody")
    return pw.pw_uid, pw.pw_gid


# ---------------------------------------------------------------------------
# the source copy and its builds

class Sources:
    def __init__(self, path, tracked):
        self.path = path
        self.tracked = tracked      # files git tracks (None: not a checkout)


@pytest.fixture(scope="module")
def work(gen_dir):
    d = gen_dir / "install"
    d.mkdir()
    return d


@pytest.fixture(scope="module")
def sources(work):
    """The sources (tracked and untracked, not ignored) copied and
    autoreconf'ed; the build tree under test stays as it is."""
    top = pyhttpd.TOP
    dest = work / "src"
    dest.mkdir()
    cp = subprocess.run(["git", "-C", str(top), "ls-files", "-z", "--cached",
                         "--others", "--exclude-standard"],
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    tracked = None
    if cp.returncode == 0:
        for rel in cp.stdout.decode().split("\0"):
            if rel and (top / rel).is_file():
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(top / rel, dest / rel)
        tracked = run(["git", "-C", top, "ls-files"]).stdout.split()
    else:   # an unpacked tarball: copy it and clean an in-place build
        shutil.rmtree(dest)
        shutil.copytree(top, dest, symlinks=True, ignore=shutil.ignore_patterns(
            "gen", "__pycache__", ".git", "build"))
        if (dest / "Makefile").exists():
            run(["make", "-s", "distclean"], cwd=dest)
    run(["autoreconf", "-fi"], cwd=dest)
    return Sources(dest, tracked)


@pytest.fixture(scope="module")
def build(sources, work):
    """An out-of-tree build with the default configure options."""
    b = work / "build"
    b.mkdir()
    cp = run([sources.path / "configure"], cwd=b)
    assert re.search(r"whether to install Debian-style mods-available files\.\.\. "
                     r"yes, into /etc/apache2/mods-available", cp.stdout), cp.stdout
    run(["make", "-s", f"-j{NPROC}"], cwd=b)
    return b


@pytest.fixture(scope="module")
def dirs():
    """Where the parts belong, relative to / (DESTDIR)."""
    return {
        "module": apxs_q("LIBEXECDIR").lstrip("/") + "/mod_shared_session.so",
        "header": apxs_q("INCLUDEDIR").lstrip("/") + "/mod_shared_session.h",
        "tool": f"{DEFAULT_BINDIR}/shared-session-tool",
        "load": "etc/apache2/mods-available/shared_session.load",
        "conf": "etc/apache2/mods-available/shared_session.conf",
    }


# ---------------------------------------------------------------------------
# install / uninstall

def test_install_and_uninstall_into_a_copy_of_etc_apache2(build, sources, work, dirs):
    root = work / "destdir-uninstall"
    copy_live_confdir(root / "etc" / "apache2")
    before = tree_state(root)
    run(["make", "install", f"DESTDIR={root}"], cwd=build)
    after = tree_state(root)

    added = set(after) - set(before)
    assert added == set(dirs.values()), sorted(added)
    changed = [f for f in before if after.get(f) != before[f]]
    assert changed == [], f"make install modified existing files: {changed}"

    moddir = "/" + str(Path(dirs["module"]).parent)
    so = root / dirs["module"]
    assert so.stat().st_mode & 0o777 == 0o644
    assert not list(so.parent.glob("mod_shared_session.la*")), "apxs -i left a .la"
    assert (root / dirs["header"]).read_bytes() == \
        (sources.path / "mod_shared_session.h").read_bytes()
    assert (root / dirs["conf"]).read_bytes() == \
        (sources.path / "shared_session.conf").read_bytes()
    load = (root / dirs["load"]).read_text()
    assert f"LoadModule shared_session_module {moddir}/mod_shared_session.so\n" in load
    assert "@" not in load, load
    tool = root / dirs["tool"]
    assert os.access(tool, os.X_OK)
    key = run([tool, "keygen"]).stdout.strip()
    assert re.fullmatch(r"[A-Za-z0-9+/]{43}=", key), key

    # still enabled (as a2enmod would have left it): uninstall says so
    enabled = root / "etc/apache2/mods-enabled/shared_session.load"
    enabled.symlink_to("../mods-available/shared_session.load")
    out = run(["make", "uninstall", f"DESTDIR={root}"], cwd=build).stdout
    assert "run a2dismod shared_session" in out, out
    enabled.unlink()
    assert tree_state(root) == before, "make uninstall left files behind or " \
        "removed others: " + str(sorted(set(tree_state(root)) ^ set(before)))


def test_load_file_declares_dependencies_for_a2enmod(build, dirs):
    """a2enmod enables what "# Depends:" names; the store is the admin's."""
    load = build / "shared_session.load"
    assert a2enmod_depends(load) == ["session", "socache_shmcb"]
    for dep in a2enmod_depends(load):
        assert (LIVE_CONFDIR / "mods-available" / f"{dep}.load").exists(), dep
    lines = [l for l in load.read_text().splitlines() if l and not l.startswith("#")]
    assert lines == [f"LoadModule shared_session_module /{dirs['module']}"]


def test_configure_options_move_every_part(sources, work):
    """--with-apache-moddir/-includedir (values may use ${prefix}), an install
    without DESTDIR, --without-debian-layout.  (--with-apache-confdir=DIR is
    what distcheck uses: see test_distcheck_as_an_unprivileged_user.)"""
    b = work / "build-options"
    b.mkdir()
    p = work / "prefix"
    cp = run([sources.path / "configure", "-q", f"--prefix={p}",
              f"--with-apache-moddir={p}/modules", "--without-debian-layout",
              f"--with-apache-confdir={p}/apache2"], cwd=b, check=False)
    assert cp.returncode != 0 and "contradicts" in cp.stdout, cp.stdout
    run([sources.path / "configure", "-q", f"--prefix={p}",
         f"--with-apache-moddir={p}/modules",
         "--with-apache-includedir=${prefix}/include/apache2",
         "--without-debian-layout"], cwd=b)
    run(["make", "-s", f"-j{NPROC}"], cwd=b)
    run(["make", "install"], cwd=b)
    assert set(tree_state(p)) == {"modules/mod_shared_session.so",
                                  "include/apache2/mod_shared_session.h",
                                  "bin/shared-session-tool"}
    run(["make", "uninstall"], cwd=b)
    assert tree_state(p) == {}


# ---------------------------------------------------------------------------
# Debian: a2enmod, apachectl configtest, a running server

class Debian:
    """A copy of /etc/apache2 with the module installed into it, set up to
    run unprivileged on a free loopback port."""

    def __init__(self, root, port):
        self.root = root
        self.confdir = root / "etc" / "apache2"
        self.port = port
        var = root / "var"
        if os.geteuid() == 0:
            user = group = pyhttpd.RUN_USER
        else:
            user = pwd.getpwuid(os.getuid()).pw_name
            group = grp.getgrgid(os.getgid()).gr_name
        self.vars = {
            "APACHE_RUN_USER": user, "APACHE_RUN_GROUP": group,
            "APACHE_RUN_DIR": str(var / "run"),
            "APACHE_PID_FILE": str(var / "run" / "apache2.pid"),
            "APACHE_LOCK_DIR": str(var / "lock"),
            "APACHE_LOG_DIR": str(var / "log"),
        }
        self.state_dir = var / "lib" / "apache2"
        self.pid = None

    @property
    def error_log(self):
        return Path(self.vars["APACHE_LOG_DIR"]) / "error.log"

    def env(self):
        env = dict(os.environ, LANG="C", **self.vars)
        env["APACHE_CONFDIR"] = str(self.confdir)
        env["APACHE_STATE_DIRECTORY"] = str(self.state_dir)
        return env

    def make_runnable(self):
        """Runtime dirs, envvars and ports.conf pointed into the temp dir."""
        for d in ("APACHE_RUN_DIR", "APACHE_LOG_DIR"):
            Path(self.vars[d]).mkdir(parents=True, exist_ok=True)
        lock = Path(self.vars["APACHE_LOCK_DIR"])
        lock.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(lock, self.vars["APACHE_RUN_USER"], self.vars["APACHE_RUN_GROUP"])
        envvars = self.confdir / "envvars"
        text = envvars.read_text()
        for k, v in self.vars.items():
            text, n = re.subn(rf"^export {k}=.*$", f"export {k}={v}", text, flags=re.M)
            assert n == 1, f"{k} not in Debian's envvars"
        envvars.write_text(text)
        (self.confdir / "ports.conf").write_text(f"Listen 127.0.0.1:{self.port}\n")

    def a2(self, cmd, *names):
        return run([f"/usr/sbin/{cmd}", "-q", *names], env=self.env())

    def enable_module(self, module_rel):
        """a2enmod shared_session, then the .load pointed at the DESTDIR copy
        of the module (its final path does not exist yet).  Idempotent."""
        out = self.a2("a2enmod", "shared_session").stdout
        load = self.confdir / "mods-available" / "shared_session.load"
        text = load.read_text()
        final = f"/{module_rel}"
        if f" {final}\n" in text:
            load.write_text(text.replace(final, str(self.root / module_rel)))
        return out

    def apache2(self, *args, check=False, timeout=30):
        return run([pyhttpd.APACHE2, "-d", self.confdir, "-f",
                    self.confdir / "apache2.conf", *args],
                   env=self.env(), check=check, timeout=timeout)

    def start(self):
        cp = self.apache2("-k", "start")
        assert cp.returncode == 0, cp.stdout + self.error_log_text()
        self.start_output = cp.stdout
        pidfile = Path(self.vars["APACHE_PID_FILE"])
        deadline = time.monotonic() + 10
        while self.pid is None and time.monotonic() < deadline:
            try:
                self.pid = int(pidfile.read_text().strip())
            except (OSError, ValueError):
                time.sleep(0.02)
        assert self.pid, "no pid file:\n" + self.error_log_text()
        wait_port(self.port, 10)

    def stop(self):
        if not self.pid:
            return
        pid, self.pid = self.pid, None
        kids = pyhttpd.children_of(pid)
        try:
            self.apache2("-k", "stop", timeout=15)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + 10
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        for p in [pid] + kids:     # only the processes this test started
            if pid_alive(p):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            reap(p)

    def error_log_text(self):
        try:
            return self.error_log.read_text(errors="replace")
        except FileNotFoundError:
            return ""


def assert_syntax_ok(output, allowed=()):
    """"Syntax OK" and nothing else but the allowed message tags."""
    assert "Syntax OK" in output, output
    other = [l for l in output.splitlines()
             if l.strip() and l.strip() != "Syntax OK"
             and not any(a in l for a in allowed)]
    assert other == [], output


def bad_log_lines(text):
    return [l for l in text.splitlines()
            if pyhttpd.LEVEL_RE.search(l) or pyhttpd.DIED_RE.search(l)]


@pytest.fixture(scope="module")
def debian(build, work):
    root = work / "destdir-debian"
    copy_live_confdir(root / "etc" / "apache2")
    run(["make", "install", f"DESTDIR={root}"], cwd=build)
    d = Debian(root, free_port())
    d.make_runnable()
    yield d
    d.stop()


def test_a2enmod_and_configtest_on_stock_configuration(debian, dirs):
    c = debian.confdir
    load = c / "mods-available" / "shared_session.load"
    assert f" /{dirs['module']}\n" in load.read_text()
    out = debian.enable_module(dirs["module"])
    # a2enmod followed "# Depends:" and linked both files, as for its own modules
    for name in ("session.load", "socache_shmcb.load", "shared_session.load",
                 "shared_session.conf"):
        link = c / "mods-enabled" / name
        assert link.is_symlink(), f"{link} missing; a2enmod said:\n{out}"
        assert os.readlink(link) == f"../mods-available/{name}"
    assert (debian.state_dir / "module" / "enabled_by_admin" / "shared_session").exists()
    assert str(debian.root / dirs["module"]) in load.read_text()

    cp = debian.apache2("-t")
    assert cp.returncode == 0, cp.stdout
    # AH00558 (no ServerName in the stock configuration) depends on the host
    assert_syntax_ok(cp.stdout, allowed=("AH00558",))
    cp = run([APACHE2CTL, "configtest"], env=debian.env(), check=False)
    assert cp.returncode == 0, cp.stdout
    assert_syntax_ok(cp.stdout, allowed=("AH00558",))
    mods = debian.apache2("-t", "-D", "DUMP_MODULES").stdout
    for m in ("shared_session_module", "session_module", "socache_shmcb_module"):
        assert f" {m} (shared)" in mods, mods


def test_installed_module_serves_a_ticket(debian, dirs):
    c = debian.confdir
    debian.enable_module(dirs["module"])
    tool = debian.root / dirs["tool"]
    key = c / "shared-session.key"
    key.write_text(run([tool, "keygen"]).stdout)
    os.chmod(key, 0o600)
    www = debian.root / "var" / "www"
    www.mkdir(parents=True)
    (c / "sites-available" / "shared-session-test.conf").write_text(f"""\
ServerName localhost
SharedSessionSites http://a.test http://b.test
SharedSessionKeyFile {key}
<VirtualHost 127.0.0.1:{debian.port}>
    ServerName b.test
    DocumentRoot {www}
    <Directory {www}>
        Require all granted
    </Directory>
    Session On
    SessionCookieName bsess path=/;HttpOnly;SameSite=Lax
    <Location "/shared-session/">
        SetHandler shared-session
    </Location>
    CustomLog ${{APACHE_LOG_DIR}}/shared-session.log "%{{SHARED_SESSION_RESULT}}e %{{SHARED_SESSION_REASON}}e %U"
</VirtualHost>
""")
    debian.a2("a2enmod", "session_cookie")
    debian.a2("a2dissite", "000-default")
    debian.a2("a2ensite", "shared-session-test")
    cp = debian.apache2("-t")
    assert cp.returncode == 0, cp.stdout
    assert_syntax_ok(cp.stdout)

    debian.start()
    try:
        ticket = run([tool, "mint", "--key", key, "--src", "a.test", "--dst", "b.test",
                      "--session", "user=alice"]).stdout.strip()
        r = request(debian.port, f"/shared-session/{ticket}.js",
                    host=f"b.test:{debian.port}",
                    headers=[("Referer", "http://a.test/page")])
        assert r.status == 200, r
        assert r.header("Content-Type", "").startswith("text/javascript"), r
        cookies = r.set_cookies("bsess")
        assert len(cookies) == 1 and "user=alice" in cookies[0], r
    finally:
        debian.stop()
    access = (Path(debian.vars["APACHE_LOG_DIR"]) / "shared-session.log").read_text()
    assert access.splitlines() == ["replaced - /shared-session/<ticket>.js"], access
    bad = bad_log_lines(debian.start_output + "\n" + debian.error_log_text())
    assert bad == [], "\n".join(bad)


def test_a2dismod_then_uninstall(debian, build, dirs):
    """The README's way out: a2dismod shared_session, then make uninstall."""
    c = debian.confdir
    debian.enable_module(dirs["module"])
    debian.a2("a2dismod", "shared_session")
    assert not list((c / "mods-enabled").glob("shared_session.*"))
    assert (c / "mods-enabled" / "session.load").is_symlink()   # others stay
    out = run(["make", "uninstall", f"DESTDIR={debian.root}"], cwd=build).stdout
    assert "a2dismod" not in out, out
    for part in dirs.values():
        assert not (debian.root / part).exists(), part


# ---------------------------------------------------------------------------
# make distcheck

def test_distcheck_as_an_unprivileged_user(build, sources, work):
    """The tarball holds every tracked file (and no test leftovers); unpacked
    as a normal user, its "make distcheck" builds, passes make check, installs
    into a temporary prefix (the Apache directories too) and uninstalls."""
    leftovers = sources.path / "test" / "integration" / "gen" / "run-x"
    leftovers.mkdir(parents=True)
    (leftovers / "error_log").write_text("left by a failed run\n")
    cache = sources.path / "test" / "integration" / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "x.cpython.pyc").write_bytes(b"")
    try:
        run(["make", "-s", "dist"], cwd=build)
    finally:
        shutil.rmtree(leftovers.parent)
        shutil.rmtree(cache)
    tarball = next(build.glob("mod_shared_session-*.tar.gz"))
    with tarfile.open(tarball) as tf:
        names = tf.getnames()
    top = names[0].split("/")[0]
    files = {n.split("/", 1)[1] for n in names if "/" in n}
    assert not [f for f in files if "/gen/" in f or "__pycache__" in f]
    for must in ("shared_session.load.in", "shared_session.conf", "configure",
                 "test/check_reference.sh", "test/integration/test_install.py",
                 "scripts/devlib.sh", "dev"):
        assert must in files, f"{must} is not in {tarball.name}"
    if sources.tracked is not None:
        missing = sorted(set(sources.tracked) - files - {".gitignore", "m4/.gitkeep"})
        assert missing == [], f"tracked files missing from {tarball.name} " \
            f"(add them to EXTRA_DIST in Makefile.am): {missing}"

    d = work / "distcheck"
    d.mkdir()
    with tarfile.open(tarball) as tf:
        tf.extractall(d)
    user = unprivileged_user()
    if user:
        for dirpath, dirnames, filenames in os.walk(d):
            for n in [dirpath] + [os.path.join(dirpath, f) for f in filenames]:
                os.chown(n, *user)
    env = dict(os.environ, HOME=str(d))
    src = d / top
    run(["./configure", "-q"], cwd=src, env=env, user=user)
    cp = run(["make", f"-j{NPROC}", "distcheck"], cwd=src, env=env, user=user,
             timeout=300)
    assert "archives ready for distribution" in cp.stdout, cp.stdout[-3000:]
    # the Apache parts went into distcheck's prefix, mods-available included
    assert re.search(r"apxs -i -S LIBEXECDIR=\"[^\"]*/_inst/lib/apache2/modules\"",
                     cp.stdout), cp.stdout[-3000:]
    assert re.search(r"install .*shared_session\.load .*shared_session\.conf "
                     r"'[^']*/_inst/etc/apache2/mods-available'", cp.stdout), \
        cp.stdout[-3000:]
