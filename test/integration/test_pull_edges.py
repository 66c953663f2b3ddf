"""Pulls on arrival at the edges: the answer's configured headers, URLs
near the length limit, paths with percent-encoded characters.  The sites
of test_pull.py (http://a.test, http://b.test, ... on one loopback port,
a real apache2); a scripted visitor that follows every redirect."""

import pytest

from test_pull import PAGE, shown_session, site, visitor, where  # noqa: F401  (site: fixture)


def test_pull_answer_carries_the_headers_configured_with_header_always(site):
    """B's /x/ answers every request with `Header always set X-Session ...`
    (as a site sets Strict-Transport-Security or X-Frame-Options): the
    pull's 303 carries it like any other answer there, and the module's
    own Referrer-Policy."""
    hops = visitor(site).follow(PAGE, stop_after=1)
    r = hops[0][1]
    assert r.status == 303, r
    assert r.header("X-Session") is not None, r
    assert r.header("Referrer-Policy") == "origin", r


@pytest.mark.parametrize("session", ["session=user=alice", None], ids=["session-on-a", "none-on-a"])
def test_arrival_at_a_url_just_under_starts_limit_lands_on_the_page(site, session):
    """A's go takes a to= of 2048 characters at most, B's origin included:
    an arrival at a B URL of 2040 characters (long query strings of
    tracking links reach that) is not pulled, and the visitor lands on the
    URL asked for, never on go's 400."""
    path = "/x/?q="
    url = "http://b.test" + path + "y" * (2040 - len(path))
    hops = visitor(site, session=session).follow(url)
    final_url, final = hops[-1]
    assert (final_url, final.status) == (url, 200), (where(hops), final.status)


@pytest.mark.parametrize("encoded, name", [
    ("a%3fb.html", "a?b.html"),         # an encoded question mark in a file name
    ("caf%C3%A9.html", "café.html"),     # a non-ASCII slug
    ("a%20b.html", "a b.html"),         # a space
    ("a%25b.html", "a%b.html"),         # a percent sign
], ids=["encoded-question-mark", "non-ascii", "space", "percent"])
def test_pull_keeps_the_path_exactly_as_the_browser_sent_it(site, encoded, name):
    """The pull carries the path as the browser sent it, not as core decoded
    it: an encoded '?' stays part of the file name, and a non-ASCII slug, a
    space or a '%' are pulled like any path.  The visitor lands on the very
    URL asked for (percent-encoding intact), with A's session, through one
    pull."""
    site.write_file(f"htdocs/x/{name}", "<html><body>file</body></html>\n")
    url = f"http://b.test/x/{encoded}"
    hops = visitor(site).follow(url)
    final_url, final = hops[-1]
    assert len(hops) == 5, where(hops)
    assert (final_url, final.status) == (url, 200), where(hops)
    assert shown_session(final) == {"user": "alice"}, final
