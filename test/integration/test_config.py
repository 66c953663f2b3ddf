"""The module loads into Debian's apache2, and every bad directive value
(README, "Directive reference") fails `apache2 -t` with a message naming the
directive, the value and why."""

import base64
import os
import re

import pytest

from pyhttpd import BASE_MODULES

SITES = "SharedSessionSites http://a.test http://b.test"


def configtest(h, snippet, **kw):
    h.write_config(snippet, **kw)
    return h.configtest()


def assert_fails(rc, out, *needles):
    assert rc != 0, f"apache2 -t passed, expected a failure:\n{out}"
    low = out.lower()
    for n in needles:
        assert n.lower() in low, f"{n!r} not in apache2 -t output:\n{out}"


# ---------------------------------------------------------------------------
# The module loads; good configurations pass.

def test_module_loads_and_server_answers(httpd, module_so, keys):
    h = httpd("load")
    h.write_config(f"{SITES}\nSharedSessionKeyFile {keys['key1']}\n")
    rc, out = h.configtest()
    assert rc == 0 and "Syntax OK" in out, out
    rc, out = h.dump_modules()
    assert rc == 0 and "shared_session_module (shared)" in out, out
    h.write_file("htdocs/index.html", "<p>hello</p>\n")
    h.start()
    r = h.get("/index.html")
    assert r.status == 200 and r.body == b"<p>hello</p>\n"


def test_module_loads_without_directives(httpd, module_so):
    """Loaded but not configured: nothing to complain about."""
    h = httpd("bare")
    rc, out = configtest(h, "")
    assert rc == 0 and "Syntax OK" in out, out
    h.start()
    assert h.get("/").status in (200, 403, 404)


def test_all_directives_good(httpd, module_so, keys):
    h = httpd("good")
    rc, out = configtest(h, f"""
SharedSessionSites https://www.example.com www.example.org:8443 http://127.0.0.1:8080 http://a.test
SharedSessionKeyFile {keys['key1']} {keys['key2']}
SharedSessionTimeout 45
SharedSessionReplace always
SharedSessionResend 0
SharedSessionLocal csrf_token flash
SharedSessionPath /sso/
SharedSessionCheckReferer Off
SharedSessionReplayCache shmcb
""")
    assert rc == 0 and "Syntax OK" in out, out
    assert "warn" not in out.lower(), out


@pytest.mark.parametrize("value", ["1", "3600", "30"])
def test_timeout_bounds_accepted(httpd, module_so, keys, value):
    h = httpd("timeout")
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {keys['key1']}\n"
                            f"SharedSessionTimeout {value}\n")
    assert rc == 0, out


@pytest.mark.parametrize("value", ["On", "Off", "on", "off"])
def test_flags_accepted(httpd, module_so, keys, value):
    h = httpd("flags")
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {keys['key1']}\n"
                            f"SharedSessionCheckReferer {value}\n")
    assert rc == 0, out


@pytest.mark.parametrize("value,means", [("On", "always"), ("off", "empty")])
def test_always_replace_is_deprecated(httpd, module_so, keys, value, means):
    """The old flag still starts, and configtest names what to write instead."""
    h = httpd("alwaysrepl")
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {keys['key1']}\n"
                            f"SharedSessionAlwaysReplace {value}\n")
    assert rc == 0 and "Syntax OK" in out, out
    assert "MSS00100" in out and "deprecated" in out, out
    assert f"SharedSessionReplace {means}" in out, out


@pytest.mark.parametrize("line", ["SharedSessionReplace newer", "SharedSessionReplace EMPTY",
                                  "SharedSessionReplace always", "SharedSessionResend 0",
                                  "SharedSessionResend 86400",
                                  "SharedSessionLocal csrf Expiry flash.messages"])
def test_generation_directives_accepted(httpd, module_so, keys, line):
    h = httpd("genok")
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {keys['key1']}\n{line}\n")
    assert rc == 0 and "Syntax OK" in out, out
    assert "warn" not in out.lower(), out


@pytest.mark.parametrize("line,words", [
    ("SharedSessionReplace sometimes", ["'sometimes'", "newer, empty, always"]),
    ("SharedSessionReplace", ["SharedSessionReplace"]),
    ("SharedSessionResend -1", ["'-1'", "0", "86400"]),
    ("SharedSessionResend 86401", ["'86401'", "86400"]),
    ("SharedSessionResend 10m", ["'10m'", "whole seconds"]),
    ("SharedSessionLocal expiry", ["'expiry'", "keeps it itself"]),
    ("SharedSessionLocal shared-session-gen", ["'shared-session-gen'"]),
])
def test_bad_generation_directives(httpd, module_so, keys, line, words):
    h = httpd("genbad")
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {keys['key1']}\n{line}\n")
    assert_fails(rc, out, line.split()[0], *words)


def test_path_root_accepted(httpd, module_so, keys):
    h = httpd("path")
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {keys['key1']}\n"
                            f"SharedSessionPath /\n")
    assert rc == 0, out


def test_key_file_white_space_ignored(httpd, module_so):
    h = httpd("keyws")
    key = h.write_file("conf/ws.key", "\n  " + base64.b64encode(os.urandom(32)).decode()
                       + "  \n\n", mode=0o600)
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {key}\n")
    assert rc == 0, out


def test_key_file_relative_to_server_root(httpd, module_so):
    h = httpd("keyrel")
    h.write_file("conf/rel.key", base64.b64encode(os.urandom(32)).decode(), mode=0o600)
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile conf/rel.key\n")
    assert rc == 0, out


def test_vhost_inherits_server_config(httpd, module_so, keys):
    """Sites and keys at server level; virtual hosts set only what differs."""
    h = httpd("inherit")
    rc, out = configtest(h, f"""
{SITES}
SharedSessionKeyFile {keys['key1']}
SharedSessionTimeout 60
<VirtualHost 127.0.0.1:{{port}}>
    ServerName a.test
    SharedSessionTimeout 10
</VirtualHost>
<VirtualHost 127.0.0.1:{{port}}>
    ServerName b.test
    SharedSessionReplace always
</VirtualHost>
""")
    assert rc == 0 and "Syntax OK" in out, out
    h.start()
    assert h.get("/", host="b.test").status in (200, 403, 404)


def test_vhost_with_own_sites_and_keys(httpd, module_so, keys):
    h = httpd("vhostown")
    rc, out = configtest(h, f"""
<VirtualHost 127.0.0.1:{{port}}>
    ServerName a.test
    {SITES}
    SharedSessionKeyFile {keys['key1']}
</VirtualHost>
""")
    assert rc == 0, out


def test_replay_cache_none_needs_no_provider(httpd, module_so, keys):
    h = httpd("nocache")
    base = [m for m in BASE_MODULES if m != "socache_shmcb"]
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {keys['key1']}\n"
                            f"SharedSessionReplayCache none\n", base_modules=base)
    assert rc == 0, out


@pytest.mark.parametrize("spec,module", [
    ("shmcb", "socache_shmcb"),
    ("redis:127.0.0.1:6379", "socache_redis"),
    ("memcache:127.0.0.1:11211", "socache_memcache"),
])
def test_replay_cache_provider_loaded(httpd, module_so, keys, spec, module):
    h = httpd("cache")
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {keys['key1']}\n"
                            f"SharedSessionReplayCache {spec}\n", modules=[module])
    assert rc == 0, out


def test_loose_key_file_warns_but_passes(httpd, module_so, keys):
    h = httpd("loose")
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {keys['loose']}\n")
    assert rc == 0, out
    assert "warn" in out.lower(), out
    assert keys["loose"] in out and "SharedSessionKeyFile" in out, out


def test_loose_key_file_warning_at_start(httpd, module_so, keys):
    """The warning shows at start too (and is the only one)."""
    h = httpd("loose")
    h.write_config(f"{SITES}\nSharedSessionKeyFile {keys['loose']}\n")
    h.start()
    assert keys["loose"] in h.start_output, h.start_output
    bad = h.bad_log_lines()
    assert bad and all(keys["loose"] in line for line in bad), bad
    h.allow(keys["loose"])


# ---------------------------------------------------------------------------
# Bad values: each fails apache2 -t, naming the directive, the value and why.

@pytest.mark.parametrize("value,why", [
    ("ftp://a.test", None),
    ("http://a.test/path", None),
    ("http://a.test:99999", "port"),
    ("http://a.test:0", "port"),
    ("http://a.test:http", "port"),
    ("http://", None),
    ("http://user@a.test", None),
    ("http://a test", None),
])
def test_bad_site(httpd, module_so, keys, value, why):
    h = httpd("badsite")
    rc, out = configtest(h, f'SharedSessionSites http://b.test "{value}"\n'
                            f"SharedSessionKeyFile {keys['key1']}\n")
    assert_fails(rc, out, "SharedSessionSites", value, *([why] if why else []))


def test_key_file_missing(httpd, module_so):
    h = httpd("nokey")
    path = str(h.root / "does-not-exist.key")
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {path}\n")
    assert_fails(rc, out, "SharedSessionKeyFile", path)
    low = out.lower()
    assert any(w in low for w in ("no such file", "cannot", "unable", "read", "open")), out


def test_key_file_is_a_directory(httpd, module_so):
    h = httpd("dirkey")
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {h.data}\n")
    assert_fails(rc, out, "SharedSessionKeyFile", str(h.data))


@pytest.mark.parametrize("content,why", [
    (base64.b64encode(os.urandom(16)).decode(), "32 bytes"),
    (base64.b64encode(os.urandom(33)).decode(), "32 bytes"),
    (base64.b64encode(os.urandom(31)).decode(), "32 bytes"),
    ("this is not base64 at all!!", "base64"),
    ("", None),
    (base64.b64encode(os.urandom(32)).decode() + " extra", None),
], ids=["16-bytes", "33-bytes", "31-bytes", "not-base64", "empty", "trailing-garbage"])
def test_bad_key_content(httpd, module_so, content, why):
    h = httpd("badkey")
    key = h.write_file("conf/bad.key", content, mode=0o600)
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {key}\n")
    assert_fails(rc, out, "SharedSessionKeyFile", str(key), *([why] if why else []))
    # nothing of the key's text in the message
    if len(content) > 8:
        assert content not in out


@pytest.mark.parametrize("value", ["0", "3601", "abc", "-5", "30s", "99999999999999999999"])
def test_bad_timeout(httpd, module_so, keys, value):
    h = httpd("badtimeout")
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {keys['key1']}\n"
                            f"SharedSessionTimeout {value}\n")
    assert_fails(rc, out, "SharedSessionTimeout", value, "range")


@pytest.mark.parametrize("value", ["/shared-session", "shared-session/", "shared-session",
                                   "sso"])
def test_bad_path(httpd, module_so, keys, value):
    h = httpd("badpath")
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {keys['key1']}\n"
                            f"SharedSessionPath {value}\n")
    assert_fails(rc, out, "SharedSessionPath", value, "/")


@pytest.mark.parametrize("directive", ["SharedSessionAlwaysReplace",
                                       "SharedSessionCheckReferer"])
@pytest.mark.parametrize("value", ["maybe", "yes", "1"])
def test_bad_flag(httpd, module_so, keys, directive, value):
    h = httpd("badflag")
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {keys['key1']}\n"
                            f"{directive} {value}\n")
    assert_fails(rc, out, directive, "On or Off")


def test_unknown_socache_provider_lists_loaded(httpd, module_so, keys):
    h = httpd("badcache")
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {keys['key1']}\n"
                            f"SharedSessionReplayCache nosuchcache:foo\n",
                         modules=["socache_dbm"])
    assert_fails(rc, out, "SharedSessionReplayCache", "nosuchcache", "shmcb", "dbm")


@pytest.mark.parametrize("spec,module", [
    ("dbm:/tmp/ss-replay", "mod_socache_dbm"),
])
def test_socache_module_not_loaded(httpd, module_so, keys, spec, module):
    h = httpd("notloaded")
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {keys['key1']}\n"
                            f"SharedSessionReplayCache {spec}\n")
    assert_fails(rc, out, "SharedSessionReplayCache", spec.split(":")[0], module,
                 "LoadModule")


def test_default_shmcb_not_loaded(httpd, module_so, keys):
    h = httpd("noshmcb")
    base = [m for m in BASE_MODULES if m != "socache_shmcb"]
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {keys['key1']}\n",
                         base_modules=base)
    assert_fails(rc, out, "SharedSessionReplayCache", "shmcb", "mod_socache_shmcb",
                 "LoadModule")


def test_replay_cache_not_in_vhost(httpd, module_so, keys):
    h = httpd("cachevhost")
    rc, out = configtest(h, f"""
{SITES}
SharedSessionKeyFile {keys['key1']}
<VirtualHost 127.0.0.1:{{port}}>
    ServerName a.test
    SharedSessionReplayCache none
</VirtualHost>
""")
    assert_fails(rc, out, "SharedSessionReplayCache", "VirtualHost")


NO_SESSION = [m for m in BASE_MODULES if m not in ("session", "session_cookie")]


@pytest.mark.parametrize("line", [
    "SharedSessionSites http://a.test http://b.test",
    "SharedSessionKeyFile {key}",
    "SharedSessionTimeout 30",
    "SharedSessionReplace always",
    "SharedSessionPath /shared-session/",
    "SharedSessionCheckReferer Off",
    "SharedSessionReplayCache none",
    "SharedSessionSites http://a.test http://b.test\nSharedSessionKeyFile {key}",
], ids=["Sites", "KeyFile", "Timeout", "Replace", "Path", "CheckReferer",
        "ReplayCache", "Sites+KeyFile"])
def test_directive_without_mod_session(httpd, module_so, keys, line):
    h = httpd("nosession")
    rc, out = configtest(h, line.replace("{key}", keys["key1"]) + "\n",
                         base_modules=NO_SESSION)
    assert_fails(rc, out, "mod_session", "LoadModule")


def test_sites_without_key(httpd, module_so):
    h = httpd("sitesnokey")
    rc, out = configtest(h, f"{SITES}\n")
    assert_fails(rc, out, "SharedSessionSites", "SharedSessionKeyFile")


def test_key_without_sites(httpd, module_so, keys):
    h = httpd("keynosites")
    rc, out = configtest(h, f"SharedSessionKeyFile {keys['key1']}\n")
    assert_fails(rc, out, "SharedSessionKeyFile", "SharedSessionSites")


def test_vhost_sites_without_key(httpd, module_so):
    h = httpd("vhostnokey")
    rc, out = configtest(h, f"""
<VirtualHost 127.0.0.1:{{port}}>
    ServerName b.test
    {SITES}
</VirtualHost>
""")
    assert_fails(rc, out, "SharedSessionSites", "SharedSessionKeyFile")


def test_vhost_key_without_sites(httpd, module_so, keys):
    h = httpd("vhostnosites")
    rc, out = configtest(h, f"""
<VirtualHost 127.0.0.1:{{port}}>
    ServerName b.test
    SharedSessionKeyFile {keys['key1']}
</VirtualHost>
""")
    assert_fails(rc, out, "SharedSessionKeyFile", "SharedSessionSites")


# ---------------------------------------------------------------------------
# A session cookie with SameSite=Strict: browsers withhold it on the
# cross-site redirects of the navigation flow (go finds no session).

STRICT_VHOST = """
<VirtualHost 127.0.0.1:{{port}}>
    ServerName {name}
    Session On
    {directive} {cookie}
</VirtualHost>
"""


@pytest.mark.parametrize("directive,cookie,modules", [
    ("SessionCookieName", "sess path=/;Secure;HttpOnly;SameSite=Strict",
     ["session", "session_cookie"]),
    ("SessionCookieName", "sess path=/;samesite=strict", ["session", "session_cookie"]),
    ("SessionDBDCookieName", "sess path=/;SameSite=Strict", ["session", "dbd", "session_dbd"]),
])
def test_strict_session_cookie_warns(httpd, module_so, keys, directive, cookie, modules):
    h = httpd("strict")
    vhost = STRICT_VHOST.format(name="a.test", directive=directive, cookie=cookie)
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {keys['key1']}\n{vhost}",
                         modules=modules)
    assert rc == 0, out
    assert "MSS00071" in out and directive in out and "SameSite=Lax" in out, out
    assert str(h.conf) in out, out


@pytest.mark.parametrize("cookie", ["sess path=/;SameSite=Lax", "sess path=/;SameSite=None;Secure",
                                    "sess path=/"])
def test_lax_or_none_session_cookie_does_not_warn(httpd, module_so, keys, cookie):
    h = httpd("lax")
    vhost = STRICT_VHOST.format(name="a.test", directive="SessionCookieName", cookie=cookie)
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {keys['key1']}\n{vhost}",
                         modules=["session", "session_cookie"])
    assert rc == 0 and "MSS00071" not in out, out


def test_strict_session_cookie_without_sites_does_not_warn(httpd, module_so, keys):
    """A virtual host with its own empty site list: no flow there."""
    h = httpd("strictother")
    vhost = STRICT_VHOST.format(name="x.test", directive="SessionCookieName",
                                cookie="sess path=/;SameSite=Strict")
    rc, out = configtest(h, f"SharedSessionPath /sso/\n{vhost}",
                         modules=["session", "session_cookie"])
    assert rc == 0 and "MSS00071" not in out, out


# ---------------------------------------------------------------------------
# Key files that are no secret, or not one anybody else may change.

@pytest.mark.parametrize("content", [
    base64.b64encode(bytes(32)).decode() + "\n",
    base64.b64encode(bytes(32)).decode().rstrip("=") + "\n",
], ids=["padded", "unpadded"])
def test_all_zero_key_fails(httpd, module_so, content):
    h = httpd("zerokey")
    key = h.write_file("conf/zero.key", content, mode=0o600)
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {key}\n")
    assert_fails(rc, out, "SharedSessionKeyFile", f"key file {key}: all 32 bytes are zero",
                 "shared-session-tool keygen")


def test_hex_key_fails_saying_hex(httpd, module_so):
    """openssl rand -hex 32 writes 64 hex digits, which are also base64 (of
    48 bytes): the message says what the file looks like, not the size."""
    h = httpd("hexkey")
    content = os.urandom(32).hex()
    key = h.write_file("conf/hex.key", content + "\n", mode=0o600)
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {key}\n")
    assert_fails(rc, out, "SharedSessionKeyFile",
                 f"key file {key}: not base64 (it looks like hex: ", f"xxd -r -p {key} | base64")
    assert "48 bytes" not in out, out
    assert content not in out and content[:16] not in out, out


def test_missing_key_file_says_how_to_create_one(httpd, module_so):
    h = httpd("nokeyhow")
    path = str(h.root / "conf" / "new.key")
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {path}\n")
    assert_fails(rc, out, "SharedSessionKeyFile", path,
                 f"shared-session-tool keygen --out {path}",
                 f"umask 077; shared-session-tool keygen > {path}")


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o622], ids=["group", "others", "both"])
def test_key_file_writable_by_others_warns(httpd, module_so, mode):
    """Whoever may write the key file may put a key of their own in it:
    a warning (tagged) at configtest and at start, and the server runs."""
    h = httpd("writablekey")
    key = h.write_file("conf/w.key", base64.b64encode(os.urandom(32)).decode() + "\n",
                       mode=mode)
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {key}\n")
    assert rc == 0 and "Syntax OK" in out, out
    assert re.search(rf"MSS00040: SharedSessionKeyFile: '{re.escape(str(key))}' is writable "
                     r"by group or others", out), out
    assert "MSS00001" not in out, out     # it is not readable by them
    h.start()
    bad = h.bad_log_lines()
    assert bad and all("MSS00040" in line for line in bad), bad
    h.allow("MSS00040")


def test_key_file_readable_and_writable_by_others_warns_twice(httpd, module_so):
    h = httpd("loosekey")
    key = h.write_file("conf/rw.key", base64.b64encode(os.urandom(32)).decode() + "\n",
                       mode=0o666)
    rc, out = configtest(h, f"{SITES}\nSharedSessionKeyFile {key}\n")
    assert rc == 0, out
    assert "MSS00001" in out and "readable by group or others" in out, out
    assert "MSS00040" in out and "writable by group or others" in out, out


# ---------------------------------------------------------------------------
# Site entries are read with the host grammar that URLs are read with.

@pytest.mark.parametrize("value,why", [
    ("http://-a.test", "starts with '-'"),
    ("http://a-.test", "ends with '-'"),
    ("http://" + "a" * 64 + ".test", "longer than 63"),
    ("http://1.2.3", "IPv4"),
    ("http://127.0.0.01", "IPv4"),
    ("http://[1::2::3]", "IPv6"),
])
def test_site_host_outside_the_grammar(httpd, module_so, keys, value, why):
    h = httpd("badhost")
    rc, out = configtest(h, f'SharedSessionSites http://b.test "{value}"\n'
                            f"SharedSessionKeyFile {keys['key1']}\n")
    assert_fails(rc, out, "SharedSessionSites", value, why)


def test_site_with_a_trailing_dot_is_the_same_site(httpd, module_so, keys):
    """a.test. names a.test: listed twice."""
    h = httpd("dotsite")
    rc, out = configtest(h, "SharedSessionSites http://a.test http://b.test http://A.Test.\n"
                            f"SharedSessionKeyFile {keys['key1']}\n")
    assert_fails(rc, out, "SharedSessionSites", "listed twice", "site id a.test")
