/* Application cookies (ss_cookie.h; docs/PROTOCOL.md, "Application cookies"). */

#include "ss_cookie.h"
#include <string.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_date.h>
#include "ss_session_codec.h"
#include "ss_gen.h"

int ss_cookie_token(const char *s, size_t len)
{
    size_t i;

    if (!s || !len) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!(apr_isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c)))) {
            return 0;
        }
    }
    return 1;
}

static int ss_octet(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a)
        || (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

int ss_cookie_octets(const char *v, size_t len)
{
    size_t i;

    if (!v || !len) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (!ss_octet((unsigned char)v[i])) {
            return 0;
        }
    }
    return 1;
}

static int ss_ows(char c)
{
    return c == ' ' || c == '\t';
}

int ss_cookie_next(const char **h, const char **name, size_t *nlen,
                   const char **val, size_t *vlen)
{
    const char *c = *h, *end, *eq;

    if (!c) {
        return 0;
    }
    while (ss_ows(*c) || *c == ';') {
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
    while (*nlen && ss_ows(c[*nlen - 1])) {
        (*nlen)--;
    }
    *val = eq ? eq + 1 : end;
    while (*val < end && ss_ows(**val)) {
        (*val)++;
    }
    *vlen = (size_t)(end - *val);
    while (*vlen && ss_ows((*val)[*vlen - 1])) {
        (*vlen)--;
    }
    return 1;
}

int ss_cookie_read(const char *header, const char *const *names, int n, apr_table_t *out)
{
    apr_pool_t *p = apr_table_elts(out)->pool;
    const char *h = header, *name, *val;
    size_t nlen, vlen;
    int i;

    apr_table_clear(out);
    while (ss_cookie_next(&h, &name, &nlen, &val, &vlen)) {
        for (i = 0; i < n; i++) {
            const char *want = names[i];
            char *k;

            if (strlen(want) != nlen || strncmp(want, name, nlen)) {
                continue;
            }
            if (apr_table_get(out, want) || !ss_cookie_octets(val, vlen)) {
                apr_table_clear(out);
                return 0;
            }
            k = apr_pstrmemdup(p, val, vlen);
            apr_table_setn(out, want, k);
            break;
        }
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

static int ss_attr_is(const char *name, size_t nlen, const char *want)
{
    return strlen(want) == nlen && !strncasecmp(name, want, nlen);
}

/* Max-Age's value: 1 with *v for an optional '-' and digits, else 0. */
static int ss_max_age(const char *val, size_t vlen, apr_int64_t *v)
{
    size_t i = 0;
    int neg = 0;
    apr_int64_t x = 0;

    if (vlen && val[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == vlen) {
        return 0;
    }
    for (; i < vlen; i++) {
        if (!apr_isdigit(val[i])) {
            return 0;
        }
        if (x < APR_INT64_C(100000000000)) {
            x = x * 10 + (val[i] - '0');
        }
    }
    *v = neg ? -x : x;
    return 1;
}

int ss_set_cookie_parse(apr_pool_t *p, const char *line, apr_time_t now, ss_cookie_change *out)
{
    const char *h = line, *name, *val;
    size_t nlen, vlen;
    int has_max_age = 0;
    apr_int64_t max_age = 0;
    apr_time_t expires = 0;

    memset(out, 0, sizeof(*out));
    if (!line) {
        return 0;
    }
    /* the first part is the cookie: without '=' or a name, none */
    {
        size_t first = strcspn(line, ";");

        if (!memchr(line, '=', first)) {
            return 0;
        }
    }
    if (!ss_cookie_next(&h, &name, &nlen, &val, &vlen) || !nlen) {
        return 0;
    }
    out->name = apr_pstrmemdup(p, name, nlen);
    out->value = apr_pstrmemdup(p, val, vlen);
    while (ss_cookie_next(&h, &name, &nlen, &val, &vlen)) {
        if (ss_attr_is(name, nlen, "Max-Age")) {
            apr_int64_t v;

            /* a Max-Age that is not a number is ignored (RFC 6265 5.2.2) */
            if (ss_max_age(val, vlen, &v)) {
                has_max_age = 1;
                max_age = v;
            }
        }
        else if (ss_attr_is(name, nlen, "Expires")) {
            apr_time_t t = apr_date_parse_rfc(apr_pstrmemdup(p, val, vlen));

            if (t != APR_DATE_BAD) {
                expires = t;
            }
        }
    }
    /* Max-Age wins over Expires */
    out->deletes = has_max_age ? max_age <= 0 : (expires && expires <= now);
    return 1;
}

void ss_cookie_attrs_default(apr_pool_t *p, int secure, ss_cookie_attrs *a)
{
    ss_cookie_attrs_parse(p, secure ? SS_COOKIE_DEFAULT_ATTRS "; Secure"
                                    : SS_COOKIE_DEFAULT_ATTRS, a);
}

const char *ss_cookie_attrs_parse(apr_pool_t *p, const char *text, ss_cookie_attrs *a)
{
    const char *h = text, *name, *val, *c;
    size_t nlen, vlen;

    memset(a, 0, sizeof(*a));
    for (c = text; *c; c++) {
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) {
            return "a control character or a byte that is not printable ASCII";
        }
    }
    while (ss_cookie_next(&h, &name, &nlen, &val, &vlen)) {
        if (!nlen) {
            return "an attribute without a name";
        }
        if (!ss_attr_is(name, nlen, "Expires") && memchr(name, ',', (size_t)(val + vlen - name))) {
            return "',' outside an Expires date";
        }
        if (ss_attr_is(name, nlen, "Path")) {
            a->path = apr_pstrmemdup(p, val, vlen);
        }
        else if (ss_attr_is(name, nlen, "Domain")) {
            a->domain = apr_pstrmemdup(p, val, vlen);
        }
        else if (ss_attr_is(name, nlen, "SameSite")) {
            a->samesite = apr_pstrmemdup(p, val, vlen);
            if (strcasecmp(a->samesite, "Strict") && strcasecmp(a->samesite, "Lax")
                && strcasecmp(a->samesite, "None")) {
                return "SameSite is not one of Strict, Lax, None";
            }
        }
        else if (ss_attr_is(name, nlen, "Secure")) {
            a->secure = 1;
        }
        else if (ss_attr_is(name, nlen, "HttpOnly")) {
            a->httponly = 1;
        }
        else if (ss_attr_is(name, nlen, "Max-Age")) {
            if (!ss_max_age(val, vlen, &a->max_age)) {
                return "Max-Age is not a whole number of seconds";
            }
            a->has_max_age = 1;
        }
        else if (ss_attr_is(name, nlen, "Expires")) {
            a->expires = apr_pstrmemdup(p, val, vlen);
            if (apr_date_parse_rfc(a->expires) == APR_DATE_BAD) {
                return "Expires is not a date";
            }
        }
    }
    a->text = apr_pstrdup(p, text);
    return NULL;
}

int ss_cookie_domain_matches(const char *domain, const char *host)
{
    size_t dl, hl;

    if (!domain || !host) {
        return 0;
    }
    if (*domain == '.') {
        domain++;
    }
    dl = strlen(domain);
    hl = strlen(host);
    if (!dl || dl > hl) {
        return 0;
    }
    if (strcasecmp(host + hl - dl, domain)) {
        return 0;
    }
    return dl == hl || host[hl - dl - 1] == '.';
}

const char *ss_cookie_set_line(apr_pool_t *p, const char *name, const char *value,
                               const ss_cookie_attrs *a)
{
    return apr_pstrcat(p, name, "=", value, a->text && *a->text ? "; " : "",
                       a->text ? a->text : "", NULL);
}

const char *ss_cookie_delete_line(apr_pool_t *p, const char *name, const ss_cookie_attrs *a)
{
    return apr_pstrcat(p, name, "=; Max-Age=0; Expires=" SS_COOKIE_PAST,
                       a->path ? "; Path=" : "", a->path ? a->path : "",
                       a->domain ? "; Domain=" : "", a->domain ? a->domain : "",
                       a->samesite ? "; SameSite=" : "", a->samesite ? a->samesite : "",
                       a->secure ? "; Secure" : "", a->httponly ? "; HttpOnly" : "",
                       NULL);
}

const char *ss_cookie_marker_name(int secure)
{
    return secure ? SS_COOKIE_MARKER_HTTPS : SS_COOKIE_MARKER_HTTP;
}

const char *ss_cookie_marker_line(apr_pool_t *p, int secure, const ss_cookie_attrs *a,
                                  const char *gen_text)
{
    const char *life = "";

    if (!gen_text) {
        life = "; Max-Age=0; Expires=" SS_COOKIE_PAST;
    }
    else if (a->has_max_age) {
        life = apr_psprintf(p, "; Max-Age=%" APR_INT64_T_FMT, a->max_age);
    }
    else if (a->expires) {
        life = apr_pstrcat(p, "; Expires=", a->expires, NULL);
    }
    return apr_pstrcat(p, ss_cookie_marker_name(secure), "=", gen_text ? gen_text : "",
                       "; Path=/", life, "; HttpOnly; SameSite=",
                       a->samesite ? a->samesite : "Lax", secure ? "; Secure" : "", NULL);
}

int ss_cookie_payload_decode(apr_pool_t *p, const char *field, const char *const *names,
                             int n, apr_table_t *pairs, const char **gen)
{
    char *copy = apr_pstrdup(p, field ? field : ""), *last = NULL, *tok;
    int i;

    apr_table_clear(pairs);
    *gen = NULL;
    for (tok = apr_strtok(copy, "&", &last); tok; tok = apr_strtok(NULL, "&", &last)) {
        char *eq = strchr(tok, '='), *key = tok, *val;

        if (!eq || eq == tok || !eq[1]) {
            goto malformed;
        }
        *eq = '\0';
        val = eq + 1;
        if (!ss_form_unescape(key) || !ss_form_unescape(val)) {
            goto malformed;
        }
        if (!strcmp(key, SS_GEN_ENTRY)) {
            if (*gen) {
                goto malformed;
            }
            *gen = val;
            continue;
        }
        for (i = 0; i < n; i++) {
            if (strcmp(key, names[i])) {
                continue;
            }
            if (apr_table_get(pairs, names[i]) || !ss_cookie_octets(val, strlen(val))
                || strlen(key) + strlen(val) > SS_COOKIE_MAX) {
                goto malformed;
            }
            apr_table_setn(pairs, names[i], val);
            break;
        }
    }
    return 1;

malformed:
    apr_table_clear(pairs);
    *gen = NULL;
    return 0;
}
