"""The machine the tests run on is consistent with itself.

./dev installs Debian's packages; when the archive has moved on since the
machine was set up, a freshly installed package can be newer than the
installed libraries it was built against.  The case that happens: apache2
built against a newer OpenSSL than the installed libssl3, so that mod_ssl
warns AH01882 ("compiled against a newer library") at every start, and
every test whose apache2 loads mod_ssl fails on that warning.  ./dev
upgrades such libraries (scripts/devlib.sh, install_packages); these tests
fail, naming the packages, when that did not happen.
"""

import re
import subprocess

import pyhttpd


def devlib(script):
    """Runs bash with scripts/devlib.sh sourced; (exit code, stdout)."""
    cp = subprocess.run(
        ["bash", "-c", f'. "$TOP/scripts/devlib.sh"; {script}'],
        env={"TOP": str(pyhttpd.TOP), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
             "LC_ALL": "C"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    return cp.returncode, cp.stdout, cp.stderr


def test_dependency_closure_reaches_the_libraries():
    """The closure that ./dev keeps current holds the packages themselves
    and the libraries mod_ssl and the module run on (an empty closure
    would make the next test pass for nothing)."""
    rc, out, err = devlib("installed_closure $PKGS_BUILD")
    assert rc == 0, err
    closure = set(out.split())
    for p in ("apache2", "apache2-bin", "libssl3", "libsodium23", "libapr1",
              "libc6"):
        assert p in closure, (p, sorted(closure))


def test_no_package_the_tests_use_is_older_than_the_archive():
    """Every installed package in the dependency closure of what ./dev test
    installs is at the archive's candidate version (./dev deps --check)."""
    cp = subprocess.run([str(pyhttpd.TOP / "dev"), "deps", "--check", "test"],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        text=True, timeout=300)
    assert cp.returncode == 0, (
        "./dev test (as root) installs or upgrades these; by hand: "
        "apt-get install --only-upgrade NAMES\n" + cp.stdout)


def test_apache2_with_mod_ssl_starts_without_a_library_mismatch(httpd, apache2):
    """mod_ssl checks at start-up that the OpenSSL it runs on is not older
    than the one it was compiled against (AH01882 otherwise)."""
    h = httpd("ssl")
    h.write_config("SSLSessionCache shmcb:{run}/ssl_scache(512000)\n",
                   modules=["ssl"], shared_session=False)
    h.start()
    assert h.get("/").status == 404
    h.stop()
    text = h.start_output + h.error_log_text()
    mismatch = [line for line in text.splitlines() if "AH01882" in line]
    assert not mismatch, "\n".join(mismatch)
    # mod_ssl was loaded and initialised: it names its OpenSSL at start-up
    assert re.search(r"AH01876: mod_ssl/\S+ compiled against Server: \S+, "
                     r"Library: OpenSSL/", text) or \
        re.search(r"mod_ssl/\S+ .*OpenSSL/", text), text[-2000:]
