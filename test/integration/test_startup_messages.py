"""What an administrator sees at configtest, start and restart.

A SharedSessionSites list with one site is allowed but useless: one warning
(MSS00023) with its level, once per directive, although virtual hosts
inherit the list and httpd reads its configuration twice at start-up.
Without mod_session the module names how to enable it on Debian.
"""

import re

import pyhttpd


ONE_SITE = """
SharedSessionSites http://a.test:{port}
SharedSessionKeyFile {key}
<VirtualHost 127.0.0.1:{port}>
    ServerName a.test
</VirtualHost>
<VirtualHost 127.0.0.1:{port}>
    ServerName b.test
</VirtualHost>
"""


def one_site(h, keys):
    h.write_config(ONE_SITE.replace("{key}", keys["key1"]))


def mss23(text):
    return [line for line in text.splitlines() if "MSS00023" in line]


def test_one_site_warns_once_with_its_level_at_configtest(httpd, module_so, keys):
    h = httpd("one-site")
    one_site(h, keys)
    rc, out = h.configtest()
    assert rc == 0, out
    lines = mss23(out)
    assert len(lines) == 1, out
    assert re.search(r"\[shared_session:warn\] .*MSS00023: SharedSessionSites "
                     r"\(.*httpd\.conf:\d+\) lists one site only", lines[0]), lines


def test_one_site_warns_once_at_start_and_once_per_restart(httpd, module_so, keys):
    h = httpd("one-site")
    one_site(h, keys)
    h.allow("MSS00023")
    h.start()
    assert len(mss23(h.start_output + h.error_log_text())) == 1, \
        h.start_output + h.error_log_text()
    h.graceful()
    h.wait_error_log(r"AH00493|resuming normal operations", since_mark=False)
    assert len(mss23(h.start_output + h.error_log_text())) == 2, \
        h.start_output + h.error_log_text()


def test_missing_mod_session_names_a2enmod(httpd, module_so, keys):
    h = httpd("no-session")
    h.write_config(ONE_SITE.replace("{key}", keys["key1"]).replace(
        "http://a.test:{port}", "http://a.test:{port} http://b.test:{port}"),
        base_modules=[m for m in pyhttpd.BASE_MODULES
                      if not m.startswith("session")])
    rc, out = h.configtest()
    assert rc != 0, out
    assert "MSS00020" in out and "a2enmod session session_cookie" in out, out
