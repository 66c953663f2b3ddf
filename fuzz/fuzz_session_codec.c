/* mod_session's encoding, lib/ss_session_codec.h: the receiver decodes what
 * a ticket carries, the sender encodes a session into a ticket.
 *
 * The input is used twice:
 *  - as an encoded session (a ticket's payload, an incoming cookie):
 *    decode gives entries with non-empty keys and values and no "expiry"
 *    (that very name: "Expiry" is an ordinary entry, as for mod_session);
 *    encode(decode(x)) is a valid ticket payload (ss_session_valid) or ""
 *    when there are no entries, and decodes to the same entries; encoding
 *    is idempotent from there;
 *  - as entries "k\0v\0k\0v..." (any bytes but NUL, as a backend may store):
 *    encode gives a valid payload, decode gives the entries back (except
 *    "expiry" and empty ones).
 * A table is empty (ss_session_entries_empty) exactly when it encodes to "".
 * ss_form_unescape agrees with a reference (ap_unescape_urlencoded). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "fuzz.h"
#include "ss_session_codec.h"
#include "ss_ticket.h"

const char fuzz_target_name[] = "session_codec";

/* 1 when both tables hold the same keys (case-insensitively, as apr
 * tables compare) with the same values. */
static int same_entries(const apr_table_t *a, const apr_table_t *b)
{
    const apr_array_header_t *arr = apr_table_elts(a);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    int i;

    if (arr->nelts != apr_table_elts(b)->nelts) {
        return 0;
    }
    for (i = 0; i < arr->nelts; i++) {
        const char *v = apr_table_get(b, e[i].key);

        if (!v || strcmp(v, e[i].val) != 0) {
            return 0;
        }
    }
    return 1;
}

static void check_decoded(const apr_table_t *t)
{
    const apr_array_header_t *arr = apr_table_elts(t);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    int i;

    for (i = 0; i < arr->nelts; i++) {
        FUZZ_CHECK(e[i].key && *e[i].key && e[i].val && *e[i].val);
        FUZZ_CHECK(strcmp(e[i].key, SS_SESSION_RESERVED_KEY) != 0);
    }
}

static void check_roundtrip(apr_pool_t *p, const apr_table_t *t, int expect_n)
{
    char *enc = ss_session_encode(p, t), *enc2;
    apr_table_t *back = apr_table_make(p, 4);
    int n;

    FUZZ_CHECK(enc != NULL);
    FUZZ_CHECK((*enc == '\0') == (expect_n == 0));
    if (*enc) {
        FUZZ_CHECK(ss_session_valid(enc, strlen(enc)));
    }
    n = ss_session_decode(p, enc, back);
    FUZZ_CHECK(n == expect_n);
    check_decoded(back);
    enc2 = ss_session_encode(p, back);
    FUZZ_CHECK(strcmp(enc, enc2) == 0);
}

/* ap_unescape_urlencoded: '+' is a space, %XX a byte; a bad %XX or %00
 * makes the whole value unusable. */
static int ref_unescape(const char *in, char *out)
{
    for (; *in; in++) {
        if (*in == '+') {
            *out++ = ' ';
        }
        else if (*in != '%') {
            *out++ = *in;
        }
        else if (!isxdigit((unsigned char)in[1]) || !isxdigit((unsigned char)in[2])) {
            return 0;
        }
        else {
            char hex[3] = { in[1], in[2], 0 };
            long v = strtol(hex, NULL, 16);

            if (v == 0) {
                return 0;
            }
            *out++ = (char)v;
            in += 2;
        }
    }
    *out = '\0';
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_input_pool();
    char *text = fuzz_strndup(data, size), *mine, *ref;
    apr_table_t *t = apr_table_make(p, 4), *direct = apr_table_make(p, 4);
    const uint8_t *rest = data;
    size_t restlen = size;
    int n, ok, dropped_checks = 0;

    /* as an encoded session */
    n = ss_session_decode(p, text, t);
    FUZZ_CHECK(n == apr_table_elts(t)->nelts);
    check_decoded(t);
    check_roundtrip(p, t, n);
    FUZZ_CHECK(ss_session_decode(p, NULL, t) == n);

    /* as entries */
    while (restlen > 0) {
        char *k, *v;

        if (!fuzz_split(rest, restlen, '\0', &k, &rest, &restlen)) {
            break;   /* a key without a value */
        }
        fuzz_split(rest, restlen, '\0', &v, &rest, &restlen);
        if (*k && *v && strcmp(k, SS_SESSION_RESERVED_KEY) != 0) {
            apr_table_set(direct, k, v);
        }
        else if (*k && dropped_checks++ < 8 && !apr_table_get(direct, k)) {
            /* not carried ("expiry", empty value): it must be dropped
             * (a few per input: each check copies the table) */
            apr_table_t *with = apr_table_copy(p, direct), *back = apr_table_make(p, 4);

            apr_table_set(with, k, v);
            ss_session_decode(p, ss_session_encode(p, with), back);
            FUZZ_CHECK(same_entries(back, direct));
        }
    }
    {
        char *enc = ss_session_encode(p, direct);
        apr_table_t *back = apr_table_make(p, 4);

        FUZZ_CHECK(!*enc || ss_session_valid(enc, strlen(enc)));
        ss_session_decode(p, enc, back);
        FUZZ_CHECK(same_entries(back, direct));
        /* one definition: empty exactly when nothing is carried */
        FUZZ_CHECK(ss_session_entries_empty(direct) == !*enc);
        FUZZ_CHECK(ss_session_entries_empty(t) == !*ss_session_encode(p, t));
        check_roundtrip(p, direct, apr_table_elts(direct)->nelts);
    }

    /* ss_form_unescape against the reference */
    mine = apr_pstrdup(p, text);
    ref = apr_palloc(p, strlen(text) + 1);
    ok = ref_unescape(text, ref);
    FUZZ_CHECK(ss_form_unescape(mine) == ok);
    if (ok) {
        FUZZ_CHECK(strcmp(mine, ref) == 0);
    }
    fuzz_input_done();
    return 0;
}
