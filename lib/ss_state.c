/* The state of a navigation flow; see ss_state.h. */
#include <string.h>
#include <strings.h>
#include <sodium.h>
#include <apr_strings.h>

#include "ss_base64.h"
#include "ss_state.h"
#include "ss_cookie.h"

#define B64URL_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
/* the longest cookie text: random part, '.', base64url of the longest to */
#define SS_STATE_TEXT_MAX (SS_STATE_CHARS + 1 + SS_B64URL_LEN(SS_STATE_TO_MAX))

const char *ss_state_text(apr_pool_t *p, const unsigned char random_part[SS_STATE_RANDOM_BYTES],
                          const char *to)
{
    size_t tolen = to ? strlen(to) : 0;
    size_t cap = SS_STATE_CHARS + 1 + SS_B64URL_LEN(tolen) + 1;
    char *out = apr_palloc(p, cap);
    size_t n = ss_b64url_encode(out, cap, random_part, SS_STATE_RANDOM_BYTES);

    if (tolen) {
        out[n++] = '.';
        ss_b64url_encode(out + n, cap - n, (const unsigned char *)to, tolen);
    }
    return out;
}

const char *ss_state_encode(apr_pool_t *p, const unsigned char s[SS_STATE_BYTES])
{
    char *out = apr_palloc(p, SS_STATE_CHARS + 1);

    ss_b64url_encode(out, SS_STATE_CHARS + 1, s, SS_STATE_BYTES);
    return out;
}

int ss_state_decode(const char *text, unsigned char s[SS_STATE_BYTES])
{
    size_t n = 0;

    return text && strlen(text) == SS_STATE_CHARS
        && ss_b64_decode(SS_B64_URL_NOPAD, s, SS_STATE_BYTES, &n, text, SS_STATE_CHARS) == 0
        && n == SS_STATE_BYTES;
}

static const char *ss_state_prefix(int secure)
{
    return secure ? SS_STATE_PREFIX_HTTPS : SS_STATE_PREFIX_HTTP;
}

const char *ss_state_cookie_name(apr_pool_t *p, const unsigned char s[SS_STATE_BYTES],
                                 int secure)
{
    char enc[SS_STATE_CHARS + 1];

    ss_b64url_encode(enc, sizeof(enc), s, SS_STATE_BYTES);
    return apr_pstrcat(p, ss_state_prefix(secure),
                       apr_pstrmemdup(p, enc, SS_STATE_NAME_CHARS), NULL);
}

/* 1 when a cookie name is a state cookie's: the prefix and 8 base64url
 * characters. */
static int ss_state_name(const char *name, size_t nlen, int secure)
{
    const char *prefix = ss_state_prefix(secure);
    size_t plen = strlen(prefix), i;

    if (nlen != plen + SS_STATE_NAME_CHARS || strncmp(name, prefix, plen)) {
        return 0;
    }
    for (i = plen; i < nlen; i++) {
        if (!strchr(B64URL_CHARS, name[i]) || !name[i]) {
            return 0;
        }
    }
    return 1;
}

const char *ss_state_cookie_find(apr_pool_t *p, const char *cookie_header,
                                 const unsigned char s[SS_STATE_BYTES], int secure)
{
    const char *want = ss_state_cookie_name(p, s, secure);
    size_t wlen = strlen(want), nlen, vlen;
    const char *h = cookie_header, *name, *val;
    unsigned char got[SS_STATE_BYTES];

    while (ss_cookie_next(&h, &name, &nlen, &val, &vlen)) {
        if (nlen != wlen || strncmp(name, want, wlen)
            || vlen < SS_STATE_CHARS || vlen > SS_STATE_TEXT_MAX) {
            continue;
        }
        ss_state_digest(val, vlen, got);
        if (sodium_memcmp(got, s, SS_STATE_BYTES) == 0) {
            return apr_pstrmemdup(p, val, vlen);
        }
    }
    return NULL;
}

const char *ss_state_cookie_evict(apr_pool_t *p, const char *cookie_header, int secure)
{
    const char *h = cookie_header, *name, *val, *first = NULL;
    size_t nlen, vlen;
    int n = 0;

    while (ss_cookie_next(&h, &name, &nlen, &val, &vlen)) {
        if (ss_state_name(name, nlen, secure)) {
            if (!n++) {
                first = apr_pstrmemdup(p, name, nlen);
            }
        }
    }
    return n >= SS_STATE_COOKIES_MAX ? first : NULL;
}

static int ss_hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

const char *ss_state_to_check(const char *to, const char *handler_path)
{
    size_t len = to ? strlen(to) : 0, plen, i, d = 0, hlen = strlen(handler_path);
    char path[SS_STATE_TO_MAX + 2];
    const char *q;

    if (!len) {
        return "missing the to= parameter (a path on this site)";
    }
    if (len > SS_STATE_TO_MAX) {
        return "to= is longer than 2048 characters";
    }
    if (to[0] != '/') {
        return "to= must be a path on this site, starting with '/'";
    }
    if (!ss_next_valid(to, len)) {
        return "to= must start with a single '/' and hold printable characters "
               "only (no '\\' or '#')";
    }
    /* the path as the server will see it: percent-decoded, then checked
     * for segments that a browser or the server would fold */
    q = strchr(to, '?');
    plen = q ? (size_t)(q - to) : len;
    for (i = 0; i < plen; i++) {
        int hi, lo;

        if (to[i] != '%') {
            path[d++] = to[i];
            continue;
        }
        if (i + 2 >= plen) {
            return "to= has a bad percent escape";
        }
        hi = ss_hexval(to[i + 1]);
        lo = ss_hexval(to[i + 2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            return "to= has a bad percent escape";
        }
        path[d++] = (char)(hi * 16 + lo);
        i += 2;
    }
    path[d] = '\0';
    if (strstr(path, "//") || strstr(path, "/./") || strstr(path, "/../")
        || (d >= 2 && !strcmp(path + d - 2, "/."))
        || (d >= 3 && !strcmp(path + d - 3, "/.."))
        || strchr(path, '\\')) {
        return "to= has a path with empty or dot segments";
    }
    /* under the handler, or the handler's path without its final '/' */
    if (!strncasecmp(path, handler_path, hlen)
        || (d == hlen - 1 && !strncasecmp(path, handler_path, d))) {
        return "to= is under the shared-session handler's path";
    }
    return NULL;
}

const char *ss_state_text_to(apr_pool_t *p, const char *text, const char *handler_path)
{
    const char *dot = strchr(text, '.');
    unsigned char buf[SS_STATE_TO_MAX + 1];
    size_t n = 0, elen;

    if (!dot || !dot[1]) {
        return NULL;
    }
    elen = strlen(dot + 1);
    if (elen > SS_B64URL_LEN(SS_STATE_TO_MAX)
        || ss_b64_decode(SS_B64_URL_NOPAD, buf, SS_STATE_TO_MAX, &n, dot + 1, elen) != 0) {
        return NULL;
    }
    buf[n] = '\0';
    if (memchr(buf, '\0', n) || ss_state_to_check((const char *)buf, handler_path)) {
        return NULL;
    }
    return apr_pstrmemdup(p, (const char *)buf, n);
}
