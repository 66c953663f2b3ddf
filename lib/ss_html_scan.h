/* Finds where the loader tags go in a stream of HTML (docs/PROTOCOL.md,
 * "The script flow"): right before the first "</head" (any case, followed
 * by '>' or white space), or before "<body" (same rule) when that comes
 * first.  A tag only counts where a browser sees one: never inside a comment
 * ("<!-- -->", and "<!...>", "<?...>"), nor in the text of <script>,
 * <style>, <textarea> or <title> (up to their end tag; a start tag closed
 * with "/>" opens no text, as in XHTML).  Attribute values of other tags are
 * not told apart from text, except those of <meta>: a <meta> whose
 * http-equiv is Content-Security-Policy (any case) before the insertion point
 * means there is none (a policy in the page cannot be widened by the
 * module): res->csp_meta, and the scanner is done.
 *
 * No allocation; the scanner holds a few bytes of state and every byte moves
 * it the same way wherever the chunks are cut, so the result cannot depend on
 * how the stream is cut into chunks.  Plain C, no httpd. */
#ifndef SS_HTML_SCAN_H
#define SS_HTML_SCAN_H

#include <stddef.h>

/* Longest candidate the caller may have to hold back: "</head" (6 bytes);
 * the byte that decides ('>' or space) is never held.  Only a possible
 * insertion point is ever held: comments and the rest pass on at once. */
#define SS_HTML_SCAN_MAX_HOLD 6

typedef struct ss_html_scan {
    unsigned char mode;     /* private: where in the markup the stream is */
    unsigned char k;        /* private: bytes of a name or an end tag matched */
    unsigned char names;    /* private: the tag names still possible */
    unsigned char raw;      /* private: the element whose text is open */
    unsigned char slash;    /* private: a start tag's last byte was '/' */
    unsigned char meta;     /* private: what a <meta> attribute matched so far */
    size_t held;     /* bytes the caller holds back: a candidate tag cut at a chunk end */
} ss_html_scan;

typedef struct ss_html_scan_result {
    int found;          /* 1: the insertion point is found (the scanner is done) */
    int held_in_tag;    /* found and the tag began in the held bytes: insert
                           before them (then the held bytes, then all of the chunk) */
    int release_held;   /* not found inside held: the held bytes go out first, unchanged */
    int csp_meta;       /* a Content-Security-Policy <meta> came first: nothing is
                           inserted; the whole chunk (after any held bytes) passes
                           and the scanner is done */
    size_t pos;         /* found && !held_in_tag: insertion offset in the chunk.
                           !found: chunk[0..pos) may be passed on; chunk[pos..len)
                           must be held back (appended to any still-held bytes) */
} ss_html_scan_result;

void ss_html_scan_init(ss_html_scan *s);

/* Scans the next chunk.  s->held tells how many bytes the caller is holding
 * back; after the call it tells how many it must hold (0 when found). */
void ss_html_scan_feed(ss_html_scan *s, const char *chunk, size_t len,
                       ss_html_scan_result *res);

#endif
