/* base64url (tickets) and base64 (key files), crypto/ss_base64.h.
 *
 * The input is used twice:
 *  - as text: ss_b64_decode (both variants) must accept exactly the
 *    canonical encodings (those a simple reference encoder writes: for std,
 *    with or without padding), and then give the reference's bytes; output
 *    buffers are exact-size heap blocks, so any write past outcap is caught;
 *  - as bytes: decode(encode(x)) == x, the text has SS_B64URL_LEN(n)
 *    characters of the url alphabet and is the reference's, by the SSSE3
 *    and by the portable path; a buffer one byte short is refused. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ss_base64.h"

const char fuzz_target_name[] = "base64";

static const char url_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char std_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Reference encoder: RFC 4648, padding optional. */
static char *ref_encode(const unsigned char *in, size_t n, const char *alpha, int pad)
{
    char *out = malloc(((n + 2) / 3) * 4 + 1), *o = out;
    size_t i;

    if (!out) {
        abort();
    }
    for (i = 0; i + 3 <= n; i += 3) {
        unsigned v = ((unsigned)in[i] << 16) | ((unsigned)in[i + 1] << 8) | in[i + 2];
        *o++ = alpha[(v >> 18) & 63];
        *o++ = alpha[(v >> 12) & 63];
        *o++ = alpha[(v >> 6) & 63];
        *o++ = alpha[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        *o++ = alpha[(v >> 18) & 63];
        *o++ = alpha[(v >> 12) & 63];
        if (pad) {
            *o++ = '=';
            *o++ = '=';
        }
    }
    else if (n - i == 2) {
        unsigned v = ((unsigned)in[i] << 16) | ((unsigned)in[i + 1] << 8);
        *o++ = alpha[(v >> 18) & 63];
        *o++ = alpha[(v >> 12) & 63];
        *o++ = alpha[(v >> 6) & 63];
        if (pad) {
            *o++ = '=';
        }
    }
    *o = '\0';
    return out;
}

/* Reference lenient decoder: alphabet characters only (no '='), length
 * mod 4 != 1, trailing bits ignored.  Returns a malloc'd buffer or NULL. */
static unsigned char *ref_decode(const char *s, size_t len, const char *alpha, size_t *outlen)
{
    unsigned char *out;
    unsigned acc = 0;
    size_t i, o = 0, bits = 0;

    if (len % 4 == 1) {
        return NULL;
    }
    out = malloc(len + 1);
    if (!out) {
        abort();
    }
    for (i = 0; i < len; i++) {
        const char *c = s[i] ? memchr(alpha, s[i], 64) : NULL;

        if (!c) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned)(c - alpha);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    *outlen = o;
    return out;
}

/* 1 when the variant's strict decoder must accept text. */
static int canonical(const char *text, size_t len, ss_b64_variant v)
{
    const char *alpha = v == SS_B64_STD ? std_alpha : url_alpha;
    size_t body = len, n;
    unsigned char *raw;
    char *enc;
    int ok;

    if (v == SS_B64_STD && len >= 4 && len % 4 == 0 && text[len - 1] == '=') {
        body -= (text[len - 2] == '=') ? 2 : 1;
    }
    raw = ref_decode(text, body, alpha, &n);
    if (!raw) {
        return 0;
    }
    enc = ref_encode(raw, n, alpha, body != len);
    ok = strlen(enc) == len && memcmp(enc, text, len) == 0;
    free(enc);
    free(raw);
    return ok;
}

static void check_decode(const char *text, size_t len, ss_b64_variant v)
{
    const char *alpha = v == SS_B64_STD ? std_alpha : url_alpha;
    size_t cap = SS_B64_DECODED_MAX(len), n = 12345, body = len, rn = 0;
    unsigned char *out = malloc(cap ? cap : 1), *ref, *shorter;
    int rc, want = canonical(text, len, v);

    if (!out) {
        abort();
    }
    rc = ss_b64_decode(v, out, cap, &n, text, len);
    FUZZ_CHECK((rc == 0) == want);
    if (rc == 0) {
        if (v == SS_B64_STD && len >= 4 && len % 4 == 0 && text[len - 1] == '=') {
            body -= (text[len - 2] == '=') ? 2 : 1;
        }
        ref = ref_decode(text, body, alpha, &rn);
        FUZZ_CHECK(ref != NULL && rn == n && n <= cap);
        FUZZ_CHECK(n == 0 || memcmp(ref, out, n) == 0);
        free(ref);
        /* an exact-size buffer is enough, one byte less is refused */
        free(out);
        out = malloc(n ? n : 1);
        if (!out) {
            abort();
        }
        FUZZ_CHECK(ss_b64_decode(v, out, n, &rn, text, len) == 0 && rn == n);
        if (n > 0) {
            shorter = malloc(n - 1 ? n - 1 : 1);
            if (!shorter) {
                abort();
            }
            FUZZ_CHECK(ss_b64_decode(v, shorter, n - 1, &rn, text, len) != 0);
            free(shorter);
        }
    }
    free(out);
}

static void check_roundtrip(const unsigned char *in, size_t n)
{
    size_t need = SS_B64URL_LEN(n) + 1, got, i, dn = 0;
    char *text = malloc(need), *ref;
    unsigned char *back = malloc(n ? n : 1);

    if (!text || !back) {
        abort();
    }
    got = ss_b64url_encode(text, need, in, n);
    FUZZ_CHECK(got == need - 1 && text[got] == '\0');
    for (i = 0; i < got; i++) {
        FUZZ_CHECK(memchr(url_alpha, text[i], 64) != NULL);
    }
    ref = ref_encode(in, n, url_alpha, 0);
    FUZZ_CHECK(strcmp(ref, text) == 0);
    /* the portable path too (ss_b64url_encode takes SSSE3 where it can) */
    FUZZ_CHECK(ss_b64url_encode_with(text, need, in, n, 0) == got && strcmp(ref, text) == 0);
    free(ref);
    FUZZ_CHECK(ss_b64_decode(SS_B64_URL_NOPAD, back, n, &dn, text, got) == 0);
    FUZZ_CHECK(dn == n && (n == 0 || memcmp(back, in, n) == 0));
    if (n > 0) {
        /* one byte short: refused, nothing written */
        char *small = malloc(need - 1);

        if (!small) {
            abort();
        }
        FUZZ_CHECK(ss_b64url_encode(small, need - 1, in, n) == 0);
        free(small);
    }
    /* the standard alphabet, padded and not, decodes to the same bytes */
    ref = ref_encode(in, n, std_alpha, 1);
    FUZZ_CHECK(ss_b64_decode(SS_B64_STD, back, n, &dn, ref, strlen(ref)) == 0);
    FUZZ_CHECK(dn == n && (n == 0 || memcmp(back, in, n) == 0));
    free(ref);
    ref = ref_encode(in, n, std_alpha, 0);
    FUZZ_CHECK(ss_b64_decode(SS_B64_STD, back, n, &dn, ref, strlen(ref)) == 0);
    FUZZ_CHECK(dn == n && (n == 0 || memcmp(back, in, n) == 0));
    free(ref);
    free(back);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    size_t n = 0;
    unsigned char one[4];

    fuzz_input_pool();
    text = fuzz_strndup(data, size);   /* exact size + NUL */
    check_decode(text, size, SS_B64_URL_NOPAD);
    check_decode(text, size, SS_B64_STD);
    /* an unknown variant decodes nothing */
    FUZZ_CHECK(ss_b64_decode((ss_b64_variant)0, one, sizeof(one), &n, text, size) != 0);
    check_roundtrip(data, size);
    fuzz_input_done();
    return 0;
}
