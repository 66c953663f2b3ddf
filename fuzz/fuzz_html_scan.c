/* The loader's insertion point in streamed HTML, lib/ss_html_scan.h: a
 * differential test.  The document is cut into chunks at fuzzer-chosen
 * points and run through an exact emulation of glue/ss_filter.c (pass on
 * what the scanner releases, hold back the rest, insert MARK at the
 * insertion point, release what is held at the end of the stream); the
 * output must equal a whole-string reference search (which skips comments
 * and the text of script, style, textarea and title as the scanner must,
 * and gives up at a Content-Security-Policy <meta> before the insertion
 * point), the scanner reports that <meta> exactly when the reference finds
 * it, and the bytes held back never exceed SS_HTML_SCAN_MAX_HOLD.
 *
 * Input: byte 0 gives the number of cuts (0-31), the next bytes the chunk
 * lengths (0-255 each; 0 is an empty chunk, passed as NULL), the rest is the
 * document (the last chunk takes what the lengths leave). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "ss_html_scan.h"

const char fuzz_target_name[] = "html_scan";

#define MARK "<!--TAGS-->"
#define MARK_LEN (sizeof(MARK) - 1)
#define MAX_CUTS 32

typedef struct buf {
    char *d;
    size_t n;
} buf;

static void put(buf *b, const void *d, size_t n)
{
    if (n) {
        memcpy(b->d + b->n, d, n);
        b->n += n;
    }
}

/* The whole-document reference, shared with the unit tests. */
#include "html_scan_reference.h"

/* Offset of the insertion point, or len when there is none; *csp when a
 * policy <meta> comes first. */
static size_t ref_find(const char *d, size_t len, int *csp)
{
    long at = reference_find(d, len);

    *csp = at == -2;
    return at < 0 ? len : (size_t)at;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t ncuts, cuts[MAX_CUTS + 1], nchunks = 0, doclen, off, i, at;
    const char *doc;
    char held[64];
    size_t hlen = 0;
    buf out, want;
    ss_html_scan s;
    ss_html_scan_result res;
    int done = 0, csp_meta = 0, ref_csp;

    if (size < 1) {
        return 0;
    }
    ncuts = data[0] % MAX_CUTS;
    if (size < 1 + ncuts) {
        return 0;
    }
    doc = (const char *)data + 1 + ncuts;
    doclen = size - 1 - ncuts;
    off = 0;
    for (i = 0; i < ncuts; i++) {
        size_t n = data[1 + i];

        if (n > doclen - off) {
            n = doclen - off;
        }
        cuts[nchunks++] = n;
        off += n;
    }
    cuts[nchunks++] = doclen - off;

    out.d = malloc(doclen + MARK_LEN + 1);
    want.d = malloc(doclen + MARK_LEN + 1);
    if (!out.d || !want.d) {
        abort();
    }
    out.n = want.n = 0;

    ss_html_scan_init(&s);
    FUZZ_CHECK(s.held == 0);
    off = 0;
    for (i = 0; i < nchunks; i++) {
        const char *chunk = cuts[i] ? doc + off : NULL;
        size_t len = cuts[i];

        off += len;
        FUZZ_CHECK(s.held == hlen);
        if (done) {
            /* the filter is gone; the scanner, asked again, finds nothing */
            ss_html_scan_feed(&s, chunk, len, &res);
            FUZZ_CHECK(!res.found && res.pos == len && s.held == 0);
            put(&out, chunk, len);
            continue;
        }
        ss_html_scan_feed(&s, chunk, len, &res);
        FUZZ_CHECK(res.pos <= len);
        if (res.csp_meta) {
            /* nothing goes in: what is held, the chunk, and the rest */
            FUZZ_CHECK(!res.found && !res.held_in_tag && res.pos == len && s.held == 0);
            FUZZ_CHECK(res.release_held == (hlen > 0));
            put(&out, held, hlen);
            put(&out, chunk, len);
            hlen = 0;
            done = csp_meta = 1;
            continue;
        }
        if (res.found) {
            /* the held bytes go out before the chunk, in order, in every case */
            FUZZ_CHECK(hlen == 0 || res.held_in_tag || res.release_held);
            FUZZ_CHECK(!(res.held_in_tag && res.release_held));
            FUZZ_CHECK(!res.held_in_tag || hlen > 0);
            if (res.held_in_tag) {
                put(&out, MARK, MARK_LEN);
                put(&out, held, hlen);
                put(&out, chunk, len);
            }
            else {
                if (res.release_held) {
                    put(&out, held, hlen);
                }
                put(&out, chunk, res.pos);
                put(&out, MARK, MARK_LEN);
                put(&out, chunk ? chunk + res.pos : NULL, len - res.pos);
            }
            hlen = 0;
            done = 1;
            FUZZ_CHECK(s.held == 0);
            continue;
        }
        if (res.release_held) {
            put(&out, held, hlen);
            hlen = 0;
        }
        /* bytes passed on now may not overtake bytes still held */
        FUZZ_CHECK(hlen == 0 || res.pos == 0);
        put(&out, chunk, res.pos);
        FUZZ_CHECK(hlen + (len - res.pos) <= SS_HTML_SCAN_MAX_HOLD);
        if (len > res.pos) {
            memcpy(held + hlen, chunk + res.pos, len - res.pos);
            hlen += len - res.pos;
        }
        FUZZ_CHECK(s.held == hlen);
    }
    put(&out, held, hlen);   /* EOS: a fragment's held bytes go out as they were */

    at = ref_find(doc, doclen, &ref_csp);
    FUZZ_CHECK(csp_meta == ref_csp);
    put(&want, doc, at);
    if (at < doclen) {
        put(&want, MARK, MARK_LEN);
        put(&want, doc + at, doclen - at);
    }
    FUZZ_CHECK(done == (at < doclen || ref_csp));
    FUZZ_CHECK(out.n == want.n && (out.n == 0 || memcmp(out.d, want.d, out.n) == 0));
    free(out.d);
    free(want.d);
    return 0;
}
