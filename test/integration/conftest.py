"""pytest fixtures for the integration tests (real apache2 on 127.0.0.1).

Run from the repository root:
    /usr/bin/python3 -m pytest test/integration -q -p no:cacheprovider

After every test, each apache2 instance the test used is checked: an
unexpected [warn]/[error]/[crit]/[alert]/[emerg] line in its error log fails
the test.  A test allows lines by tag with @pytest.mark.allow_log("AH00011")
or httpd.allow("MSS00123").  Instances a test made with the `httpd` factory
are stopped before that check, so that shutdown problems count too.
"""

import base64
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyhttpd  # noqa: E402
from pyhttpd import Httpd, Tool  # noqa: E402


# gen/ holds what the runs generate (configs, logs, copies of the tree):
# nothing in there is a test of this run.
collect_ignore = ["gen"]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "allow_log(*tags): error-log tags/substrings this test "
        "expects at warn level or worse")
    config.addinivalue_line(
        "markers", "slow: builds and installs copies of the tree, runs "
        "benchmarks, the demo or the README's blocks (./dev test --quick and "
        "the sanitized run leave it out)")
    config.addinivalue_line(
        "markers", "browser: drives Chromium (./dev test --quick and the "
        "sanitized run leave it out)")


# Whole files that are slow or start a browser, marked here so that one
# list says what "./dev test --quick" (-m "not slow and not browser") and
# "./dev test --sanitize" leave out.
MARKS_BY_FILE = {
    "test_bench.py": ("slow",),       # throughput ratios, seconds per case
    "test_install.py": ("slow",),     # make install, make distcheck on copies
    "test_demo.py": ("slow",),        # the two-site demo application
    "test_readme.py": ("slow",),      # every README block, the demo, a2enmod
    "test_browser.py": ("browser",),  # headless Chromium
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        for name in MARKS_BY_FILE.get(item.path.name, ()):
            item.add_marker(getattr(pytest.mark, name))


# ---------------------------------------------------------------------------
# The error-log check, inside the test's call phase so that it is a failure
# of the test itself (not an error of a fixture).

_per_test = []       # instances made by the `httpd` factory for this test


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    Httpd.touched = list(Httpd.running)
    for h in Httpd.touched:
        h.mark()
    outcome = yield
    allowed = []
    for m in item.iter_markers("allow_log"):
        allowed.extend(m.args)
    for h in list(_per_test):
        h.stop()
    problems = []
    for h in Httpd.touched:
        try:
            h.check_log(allowed)
        except AssertionError as e:
            problems.append(str(e))
    if problems and outcome.excinfo is None:
        raise AssertionError("\n".join(problems))
    if problems:
        # the test failed anyway: show the log lines next to its failure
        item.add_report_section("call", "error_log", "\n".join(problems))


# ---------------------------------------------------------------------------
# Build artifacts and prerequisites.

@pytest.fixture(scope="session")
def apache2():
    if not os.access(pyhttpd.APACHE2, os.X_OK):
        pyhttpd.fail_missing(pyhttpd.APACHE2, "apache2")
    return pyhttpd.APACHE2


@pytest.fixture(scope="session")
def module_so(apache2):
    if not pyhttpd.MODULE_SO.exists():
        pytest.fail(f"module not built: {pyhttpd.MODULE_SO} is missing "
                    f"(build with ./configure && make, or set SS_BUILD)",
                    pytrace=False)
    return pyhttpd.MODULE_SO


@pytest.fixture(scope="session")
def tool():
    if not pyhttpd.TOOL.exists():
        pytest.fail(f"tool not built: {pyhttpd.TOOL} is missing "
                    f"(build with ./configure && make, or set SS_BUILD)",
                    pytrace=False)
    return Tool()


@pytest.fixture(scope="session")
def gen_dir():
    """A directory for this run inside the build tree; removed at the end
    unless SS_KEEP is set or a test failed."""
    pyhttpd.GEN_ROOT.mkdir(parents=True, exist_ok=True)
    import tempfile
    import time
    # runs kept after failures: drop those older than an hour (a run that is
    # going on right now in the same tree is younger)
    for old in pyhttpd.GEN_ROOT.glob("run-*"):
        try:
            if time.time() - old.stat().st_mtime > 3600:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass
    d = Path(tempfile.mkdtemp(prefix="run-", dir=pyhttpd.GEN_ROOT))
    os.chmod(d, 0o755)
    yield d
    if not os.environ.get("SS_KEEP") and not _session_failed:
        shutil.rmtree(d, ignore_errors=True)


_session_failed = False


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    global _session_failed
    if rep.failed:
        _session_failed = True


def _write_key(path, raw, mode=0o600):
    path.write_text(base64.b64encode(raw).decode() + "\n")
    os.chmod(path, mode)
    return path


@pytest.fixture(scope="session")
def keys(gen_dir):
    """Key files: key1 and key2 (0600), other (an unrelated key),
    loose (0644) and the test-vector key of docs/PROTOCOL.md."""
    d = gen_dir / "keys"
    d.mkdir()
    os.chmod(d, 0o755)
    k = {
        "key1": _write_key(d / "key1", os.urandom(32)),
        "key2": _write_key(d / "key2", os.urandom(32)),
        "other": _write_key(d / "other", os.urandom(32)),
        "loose": _write_key(d / "loose", os.urandom(32), 0o644),
        "vector": _write_key(d / "vector", bytes(range(32))),
    }
    return {n: str(p) for n, p in k.items()}


@pytest.fixture
def httpd(gen_dir):
    """Factory: httpd(name, nports=1) -> a new, not yet started Httpd whose
    directory lives in this run's gen dir.  Stopped (and its error log
    checked) right after the test body."""
    made = []

    def make(name="httpd", nports=1):
        h = Httpd(name=name, base_dir=gen_dir, nports=nports)
        made.append(h)
        _per_test.append(h)
        return h

    yield make
    for h in made:
        h.stop()
        if h in _per_test:
            _per_test.remove(h)


@pytest.fixture(scope="session")
def hooktest_so(gen_dir):
    """The test-only module modules/mod_ss_hooktest.c built with apxs -c."""
    apxs = pyhttpd.APXS
    if not os.access(apxs, os.X_OK):
        pyhttpd.fail_missing("apxs", "apache2-dev")
    src = Path(__file__).resolve().parent / "modules" / "mod_ss_hooktest.c"
    d = gen_dir / "hooktest"
    d.mkdir()
    shutil.copy(src, d / src.name)
    cp = subprocess.run([apxs, "-c", f"-I{pyhttpd.TOP}", src.name], cwd=d,
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        text=True, timeout=120)
    so = d / ".libs" / "mod_ss_hooktest.so"
    if cp.returncode != 0 or not so.exists():
        pytest.fail(f"apxs -c mod_ss_hooktest.c failed:\n{cp.stdout}",
                    pytrace=False)
    return so


@pytest.fixture(scope="session", autouse=True)
def _no_leftovers():
    """Stops whatever a test left running (only instances we started)."""
    yield
    for h in list(Httpd.running):
        h.stop()
