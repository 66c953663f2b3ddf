"""Helpers shared by test_filter.py, test_proxy.py and test_go.py:
reading the loader markup the SHARED_SESSION filter inserts (docs/PROTOCOL.md,
"The script flow"), checking tickets with shared-session-tool, and headers.

A test document carries the marker "@@" where the tags must land; the file
served is the document without it.  A document without the marker must come
back byte for byte."""

import re
import urllib.parse

MARK = "@@"

# One loader tag exactly as docs/PROTOCOL.md ("The script flow") writes it.
TAG_RE = re.compile(
    r'<script src="(?P<origin>https?://[^/"]+)(?P<path>/[^"]*?/)'
    r'(?P<ticket>[A-Za-z0-9_-]+)\.js" async="async" referrerpolicy="origin"></script>')
ANY_SCRIPT = b"<script src="


def served(doc):
    """The file content of a marked document."""
    return doc.replace(MARK, "")


def parse_tags(tags):
    """A run of loader tags (str) -> [(origin, path, ticket)]; asserts that
    it is nothing but loader tags."""
    out, pos = [], 0
    while pos < len(tags):
        m = TAG_RE.match(tags, pos)
        assert m, f"not a loader tag at {pos}: {tags[pos:pos + 120]!r}"
        out.append((m.group("origin"), m.group("path"), m.group("ticket")))
        pos = m.end()
    return out


def inserted(body, doc):
    """body must be doc with loader tags (one or more) at the marker and
    nothing else changed; returns [(origin, path, ticket)]."""
    if isinstance(body, bytes):
        body = body.decode("latin-1")
    i = doc.index(MARK)
    before, after = doc[:i], doc[i + len(MARK):]
    assert body.startswith(before), \
        f"body changed before the insertion point:\n{body[:len(before) + 200]!r}"
    assert body.endswith(after) and len(body) >= len(before) + len(after), \
        f"body changed after the insertion point:\n{body[-(len(after) + 200):]!r}"
    tags = body[len(before):len(body) - len(after)]
    assert tags, f"no loader tags at the insertion point: {body[:400]!r}"
    return parse_tags(tags)


def joined(resp, name):
    """All values of a header, joined with ', ' (lowercased)."""
    return ", ".join(resp.header_all(name)).lower()


def tokens(resp, name):
    return [t.strip() for t in joined(resp, name).split(",") if t.strip()]


def cc_directives(resp):
    """Cache-Control directive names (lowercase), with values: {'private': None,
    'max-age': '60'}."""
    out = {}
    for t in tokens(resp, "Cache-Control"):
        k, _, v = t.partition("=")
        out[k.strip()] = v.strip() or None
    return out


def assert_insert_headers(resp):
    """What an inserting response looks like (docs/PROTOCOL.md, "Answers and
    headers")."""
    assert resp.header("ETag") is None, resp
    assert resp.header("Content-MD5") is None, resp
    cl = resp.header("Content-Length")
    assert cl is None or int(cl) == len(resp.body), resp
    assert "cookie" in tokens(resp, "Vary"), resp
    cc = cc_directives(resp)
    assert "private" in cc and "public" not in cc, resp


def assert_not_marked_by_filter(resp):
    """No trace of an insertion in the headers (Vary: Cookie is only ever
    added by the filter in these configurations)."""
    assert "cookie" not in tokens(resp, "Vary"), resp


def inspect_fields(tool, key, dst, ticket, *extra):
    cp = tool.run("inspect", "--key", key, "--dst", dst, *extra, ticket)
    fields = {}
    for line in cp.stdout.splitlines():
        k, sep, v = line.partition(":")
        if sep:
            fields[k.strip()] = v.strip()
    fields["_rc"] = cp.returncode
    fields["_out"] = cp.stdout + cp.stderr
    return fields


def parse_session(value):
    d = dict(urllib.parse.parse_qsl(value or "", keep_blank_values=True))
    d.pop("expiry", None)
    return d
