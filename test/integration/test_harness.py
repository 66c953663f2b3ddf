"""Self-test of the harness (no shared_session module needed): a real
apache2 starts on a free loopback port, serves, stops, and the error-log
check sees warn-or-worse lines."""

import pytest

from pyhttpd import pid_alive, children_of


def test_start_serve_stop(httpd, apache2):
    h = httpd("plain")
    h.write_config("", shared_session=False)
    rc, out = h.configtest()
    assert rc == 0, out
    h.write_file("htdocs/hello.txt", "hello\n")
    h.start()
    pid = h.pid
    assert pid_alive(pid)
    r = h.get("/hello.txt")
    assert r.status == 200 and r.body == b"hello\n"
    e = h.access_entry(r)
    assert e["request"] == "GET /hello.txt HTTP/1.1" and e["status"] == "200"
    assert e["result"] == "-"
    kids = children_of(pid)
    h.stop()
    assert not pid_alive(pid)
    assert not any(pid_alive(k) for k in kids)


@pytest.mark.allow_log("AH01630")
def test_error_log_check(httpd, apache2):
    h = httpd("plain")
    h.write_config("<Location /denied>\n  Require all denied\n</Location>\n",
                   shared_session=False)
    h.start()
    r = h.get("/denied")
    assert r.status == 403
    assert h.wait_error_log(r"AH01630")
    bad = h.bad_log_lines()
    assert bad and all("AH01630" in line for line in bad), bad
