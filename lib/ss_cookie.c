/* Reading a Cookie request header (ss_cookie.h). */

#include "ss_cookie.h"
#include <string.h>
#include <apr_strings.h>

int ss_cookie_next(const char **h, const char **name, size_t *nlen,
                          const char **val, size_t *vlen)
{
    const char *c = *h, *end, *eq;

    if (!c) {
        return 0;
    }
    while (*c == ' ' || *c == '\t' || *c == ';') {
        c++;
    }
    if (!*c) {
        *h = NULL;
        return 0;
    }
    end = strchr(c, ';');
    if (!end) {
        end = c + strlen(c);
    }
    *h = *end ? end + 1 : NULL;
    eq = memchr(c, '=', (size_t)(end - c));
    *name = c;
    *nlen = eq ? (size_t)(eq - c) : (size_t)(end - c);
    while (*nlen && (c[*nlen - 1] == ' ' || c[*nlen - 1] == '\t')) {
        (*nlen)--;
    }
    *val = eq ? eq + 1 : end;
    while (*val < end && (**val == ' ' || **val == '\t')) {
        (*val)++;
    }
    *vlen = (size_t)(end - *val);
    while (*vlen && ((*val)[*vlen - 1] == ' ' || (*val)[*vlen - 1] == '\t')) {
        (*vlen)--;
    }
    return 1;
}

const char *ss_cookie_get(apr_pool_t *p, const char *cookie_header, const char *name,
                          int *count)
{
    const char *h = cookie_header, *n, *v, *found = NULL;
    size_t want = strlen(name), nlen, vlen, flen = 0;
    int seen = 0;

    while (ss_cookie_next(&h, &n, &nlen, &v, &vlen)) {
        if (nlen == want && !memcmp(n, name, want)) {
            seen++;
            found = v;
            flen = vlen;
        }
    }
    if (count) {
        *count = seen;
    }
    return seen == 1 ? apr_pstrmemdup(p, found, flen) : NULL;
}
