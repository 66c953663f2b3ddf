/* mod_session's identity encoding, without httpd.  The output must be the
 * bytes session_identity_encode writes (ap_escape_urlencoded per key and
 * value), and decoding must end in the entries session_identity_decode
 * would set, so that a session crosses sites unchanged. */
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include <apr_lib.h>

#include "ss_session_codec.h"

/* What ap_escape_urlencoded does with each byte (done in the C locale:
 * bytes >= 0x80 are escaped): 0 keeps it (ASCII letters, digits, ".-*_"),
 * 1 writes '+' (the space), 2 writes %xx.  A table: the filter encodes
 * the session on every page it inserts a loader into. */
static const unsigned char codec_class[256] = {
#define E2 2, 2
#define E4 E2, E2
#define E8 E4, E4
#define E16 E8, E8
    E16, E16,                                              /* 0x00-0x1f */
    1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 2, 2, 0, 0, 2,        /* " !"#$%&'()*+,-./" */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2,        /* 0-9 :;<=>? */
    2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,        /* @ A-O */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 0,        /* P-Z [\]^_ */
    2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,        /* ` a-o */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2,        /* p-z {|}~ DEL */
    E16, E16, E16, E16, E16, E16, E16, E16                 /* 0x80-0xff */
#undef E16
#undef E8
#undef E4
#undef E2
};

int ss_session_entry_counts(const char *key, const char *val)
{
    /* the first letter before the whole word: most keys differ there */
    return key && *key && val && *val
           && (key[0] != SS_SESSION_RESERVED_KEY[0]
               || strcmp(key, SS_SESSION_RESERVED_KEY) != 0);
}

int ss_session_key_listed(const apr_array_header_t *keys, const char *key)
{
    int i;

    for (i = 0; keys && i < keys->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(keys, i, const char *), key)) {
            return 1;
        }
    }
    return 0;
}

int ss_session_entry_shared(const char *key, const char *val,
                            const apr_array_header_t *local)
{
    return ss_session_entry_counts(key, val) && !ss_session_key_listed(local, key);
}

int ss_session_entries_empty_except(const apr_table_t *entries,
                                    const apr_array_header_t *local)
{
    const apr_array_header_t *arr = apr_table_elts(entries);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    int i;

    for (i = 0; i < arr->nelts; i++) {
        if (ss_session_entry_shared(e[i].key, e[i].val, local)) {
            return 0;
        }
    }
    return 1;
}

int ss_session_entries_empty(const apr_table_t *entries)
{
    return ss_session_entries_empty_except(entries, NULL);
}

#if defined(__SSE2__)
#include <emmintrin.h>

/* How many bytes from the start of s[0..len) the table keeps, 16 at a time
 * with SSE2 (every x86-64 CPU has it): letters are the bytes whose value
 * | 0x20 lies in 'a'..'z', digits those in '0'..'9', each range tested with
 * one signed compare after moving it to the bottom of the signed bytes;
 * then ".-*_" one by one.  A session is mostly such runs. */
static size_t codec_kept_run(const unsigned char *s, size_t len)
{
    const __m128i to_a = _mm_set1_epi8((char)(0x80 - 'a'));
    const __m128i to_0 = _mm_set1_epi8((char)(0x80 - '0'));
    const __m128i below26 = _mm_set1_epi8((char)(-128 + 26));
    const __m128i below10 = _mm_set1_epi8((char)(-128 + 10));
    size_t i = 0;

    while (len - i >= 16) {
        __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i lower = _mm_or_si128(c, _mm_set1_epi8(0x20));
        __m128i keep = _mm_or_si128(
            _mm_cmplt_epi8(_mm_add_epi8(lower, to_a), below26),
            _mm_cmplt_epi8(_mm_add_epi8(c, to_0), below10));
        unsigned mask;

        keep = _mm_or_si128(keep, _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(c, _mm_set1_epi8('.')),
                         _mm_cmpeq_epi8(c, _mm_set1_epi8('-'))),
            _mm_or_si128(_mm_cmpeq_epi8(c, _mm_set1_epi8('*')),
                         _mm_cmpeq_epi8(c, _mm_set1_epi8('_')))));
        mask = (unsigned)_mm_movemask_epi8(keep);
        if (mask != 0xffff) {
            return i + (size_t)__builtin_ctz(~mask);
        }
        i += 16;
    }
    while (i < len && !codec_class[s[i]]) {
        i++;
    }
    return i;
}
#else
static size_t codec_kept_run(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len && !codec_class[s[i]]) {
        i++;
    }
    return i;
}
#endif

/* s[0..len) escaped to d; returns the end of what was written. */
static char *codec_escape(char *d, const char *str, size_t len)
{
    static const char hex[] = "0123456789abcdef";   /* lowercase, as httpd */
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run;

    for (;;) {
        run = codec_kept_run(s + i, len - i);
        memcpy(d, s + i, run);
        d += run;
        i += run;
        if (i == len) {
            return d;
        }
        if (codec_class[s[i]] == 1) {
            *d++ = '+';
        }
        else {
            *d++ = '%';
            *d++ = hex[s[i] >> 4];
            *d++ = hex[s[i] & 0xf];
        }
        i++;
    }
}

char *ss_session_encode(apr_pool_t *p, const apr_table_t *entries)
{
    return ss_session_encode_except(p, entries, NULL);
}

char *ss_session_encode_except(apr_pool_t *p, const apr_table_t *entries,
                               const apr_array_header_t *local)
{
    const apr_array_header_t *arr = apr_table_elts(entries);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    apr_size_t need = 1, *lens;
    char *out, *d;
    int i;

    /* key and value lengths, 0 for an entry left out */
    lens = apr_palloc(p, 2 * (apr_size_t)(arr->nelts + 1) * sizeof(*lens));
    for (i = 0; i < arr->nelts; i++) {
        lens[2 * i] = lens[2 * i + 1] = 0;
        if (ss_session_entry_shared(e[i].key, e[i].val, local)) {
            lens[2 * i] = strlen(e[i].key);
            lens[2 * i + 1] = strlen(e[i].val);
            need += 3 * lens[2 * i] + 3 * lens[2 * i + 1] + 2;
        }
    }
    out = d = apr_palloc(p, need);
    for (i = 0; i < arr->nelts; i++) {
        if (!lens[2 * i]) {
            continue;
        }
        if (d != out) {
            *d++ = '&';
        }
        d = codec_escape(d, e[i].key, lens[2 * i]);
        *d++ = '=';
        d = codec_escape(d, e[i].val, lens[2 * i + 1]);
    }
    *d = '\0';
    return out;
}

static int codec_hexval(char c)
{
    return c <= '9' ? c - '0' : (apr_tolower(c) - 'a') + 10;
}

/* ap_unescape_urlencoded in place: '+' is a space, %XX a byte.  Returns 0
 * for a '%' without two hex digits after it or for %00; the caller then
 * drops the value, so the string may be left half done. */
int ss_form_unescape(char *s)
{
    char *r = s, *w = s;

    for (; *r; r++, w++) {
        if (*r == '+') {
            *w = ' ';
        }
        else if (*r != '%') {
            *w = *r;
        }
        else if (!apr_isxdigit(r[1]) || !apr_isxdigit(r[2])) {
            return 0;
        }
        else {
            *w = (char)(codec_hexval(r[1]) * 16 + codec_hexval(r[2]));
            if (*w == '\0') {
                return 0;
            }
            r += 2;
        }
    }
    *w = '\0';
    return 1;
}

/* apr_strtok, token for token, without its strchr() per character (every
 * received ticket's session is decoded here). */
static char *codec_strtok(char *str, const char *sep, char **last)
{
    char *token;

    if (!str) {
        str = *last;
    }
    str += strspn(str, sep);
    if (!*str) {
        return NULL;
    }
    token = str;
    *last = token + 1 + strcspn(token + 1, sep);
    if (**last) {
        **last = '\0';
        ++*last;
    }
    return token;
}

int ss_session_decode(apr_pool_t *p, const char *encoded, apr_table_t *out)
{
    char *copy, *pair, *last = NULL;

    if (!encoded) {
        return apr_table_elts(out)->nelts;
    }
    copy = apr_pstrdup(p, encoded);
    /* apr_strtok as mod_session uses it: runs of '&' are one separator, a
     * pair's leading '=' are skipped, the value runs to the pair's end. */
    for (pair = codec_strtok(copy, "&", &last); pair;
         pair = codec_strtok(NULL, "&", &last)) {
        char *plast = NULL;
        char *key = codec_strtok(pair, "=", &plast);
        char *val;

        if (!key) {
            continue;
        }
        val = codec_strtok(NULL, "&", &plast);
        if (!val) {
            /* "k" or "k=": mod_session removes k, by its still-escaped name */
            apr_table_unset(out, key);
            continue;
        }
        if (!ss_form_unescape(key) || !ss_form_unescape(val)
            || !strcmp(key, SS_SESSION_RESERVED_KEY)) {
            continue;
        }
        apr_table_set(out, key, val);
    }
    return apr_table_elts(out)->nelts;
}
