/* Content-Security-Policy for the pages that get the loader tags: see
 * ss_csp.h.  Every function walks the header value once per question, in
 * place, without copying it: a policy and a directive are [start, end)
 * spans of the value. */
#include <string.h>

#include <apr_strings.h>

#include "ss_csp.h"

static int csp_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static int csp_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* [s, e) equals word, ASCII case-insensitively */
static int csp_is(const char *s, const char *e, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(e - s) != n) {
        return 0;
    }
    for (; s < e; s++, word++) {
        if (csp_lower((unsigned char)*s) != *word) {
            return 0;
        }
    }
    return 1;
}

/* The next white-space separated word of [*s, e) in [*w, *we); 0 at the end. */
static int csp_word(const char **s, const char *e, const char **w, const char **we)
{
    const char *p = *s;

    while (p < e && csp_space(*p)) {
        p++;
    }
    if (p == e) {
        *s = e;
        return 0;
    }
    *w = p;
    while (p < e && !csp_space(*p)) {
        p++;
    }
    *we = p;
    *s = p;
    return 1;
}

/* The directive of one policy that applies to script elements. */
typedef struct {
    const char *name_end;   /* right after its name */
    const char *end;        /* end of its sources (white space trimmed) */
} csp_directive;

/* Finds it in the policy [s, e); 0 when the policy does not govern scripts. */
static int csp_applying(const char *s, const char *e, csp_directive *d)
{
    static const char *const names[] = { "script-src-elem", "script-src", "default-src" };
    csp_directive found[3];
    int have[3] = { 0, 0, 0 }, i;

    while (s < e) {
        const char *dend = memchr(s, ';', (size_t)(e - s));
        const char *name, *name_end, *p;

        if (!dend) {
            dend = e;
        }
        p = s;
        if (csp_word(&p, dend, &name, &name_end)) {
            for (i = 0; i < 3; i++) {
                /* the first directive of a name counts, later ones are ignored */
                if (!have[i] && csp_is(name, name_end, names[i])) {
                    const char *t = dend;

                    while (t > name_end && csp_space(t[-1])) {
                        t--;
                    }
                    found[i].name_end = name_end;
                    found[i].end = t;
                    have[i] = 1;
                }
            }
        }
        s = dend < e ? dend + 1 : e;
    }
    for (i = 0; i < 3; i++) {
        if (have[i]) {
            *d = found[i];
            return 1;
        }
    }
    return 0;
}

/* The next policy of value [*s, e): [*ps, *pe); 0 at the end. */
static int csp_policy(const char **s, const char *e, const char **ps, const char **pe)
{
    const char *c;

    if (*s >= e) {
        return 0;
    }
    c = memchr(*s, ',', (size_t)(e - *s));
    *ps = *s;
    *pe = c ? c : e;
    *s = c ? c + 1 : e;
    return 1;
}

static int csp_has_keyword(const csp_directive *d, const char *keyword)
{
    const char *s = d->name_end, *w, *we;

    while (csp_word(&s, d->end, &w, &we)) {
        if (csp_is(w, we, keyword)) {
            return 1;
        }
    }
    return 0;
}

/* 'nonce-VALUE' at [w, we): VALUE in [*n, *ne) */
static int csp_nonce_source(const char *w, const char *we, const char **n, const char **ne)
{
    if (we - w < 9 || !csp_is(w, w + 7, "'nonce-") || we[-1] != '\'') {
        return 0;
    }
    *n = w + 7;
    *ne = we - 1;
    return 1;
}

static int csp_lists_nonce(const csp_directive *d, const char *nonce, size_t len)
{
    const char *s = d->name_end, *w, *we, *n, *ne;

    while (csp_word(&s, d->end, &w, &we)) {
        /* nonces are compared as they are (case matters) */
        if (csp_nonce_source(w, we, &n, &ne) && (size_t)(ne - n) == len
            && !memcmp(n, nonce, len)) {
            return 1;
        }
    }
    return 0;
}

int ss_csp_nonce_ok(const char *nonce)
{
    size_t i = 0, eq = 0;

    if (!nonce) {
        return 0;
    }
    for (; nonce[i]; i++) {
        unsigned char c = (unsigned char)nonce[i];
        int b64 = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
            || c == '+' || c == '/' || c == '-' || c == '_';

        if (c == '=' && i > 0) {
            eq++;
        }
        else if (!b64 || eq) {
            return 0;
        }
    }
    return i > eq && eq <= 2;
}

/* The 'strict-dynamic' directives of every policy in values, in order. */
static apr_array_header_t *csp_strict_dynamic(apr_pool_t *p, const apr_array_header_t *values)
{
    apr_array_header_t *sd = apr_array_make(p, 2, sizeof(csp_directive));
    int i;

    for (i = 0; values && i < values->nelts; i++) {
        const char *v = APR_ARRAY_IDX(values, i, const char *), *s, *e, *ps, *pe;
        size_t len = v ? strlen(v) : 0;
        csp_directive d;

        if (!len || len > SS_CSP_MAX) {
            continue;
        }
        s = v;
        e = v + len;
        while (csp_policy(&s, e, &ps, &pe)) {
            if (csp_applying(ps, pe, &d) && csp_has_keyword(&d, "'strict-dynamic'")) {
                APR_ARRAY_PUSH(sd, csp_directive) = d;
            }
        }
    }
    return sd;
}

ss_csp_need ss_csp_loader_nonce(apr_pool_t *p, const apr_array_header_t *values,
                                const char **nonce)
{
    apr_array_header_t *sd = csp_strict_dynamic(p, values);
    const csp_directive *dirs = (const csp_directive *)sd->elts;
    const char *s, *w, *we, *n, *ne;
    int i;

    *nonce = NULL;
    if (!sd->nelts) {
        return SS_CSP_URLS;
    }
    s = dirs[0].name_end;
    while (csp_word(&s, dirs[0].end, &w, &we)) {
        char *candidate;

        if (!csp_nonce_source(w, we, &n, &ne)) {
            continue;
        }
        candidate = apr_pstrmemdup(p, n, (apr_size_t)(ne - n));
        if (!ss_csp_nonce_ok(candidate)) {
            continue;
        }
        for (i = 1; i < sd->nelts; i++) {
            if (!csp_lists_nonce(&dirs[i], n, (size_t)(ne - n))) {
                break;
            }
        }
        if (i == sd->nelts) {
            *nonce = candidate;
            return SS_CSP_NONCE;
        }
    }
    return SS_CSP_NO_NONCE;
}

int ss_csp_nonce_suffices(apr_pool_t *p, const char *value, const char *nonce)
{
    apr_array_header_t *one = apr_array_make(p, 1, sizeof(const char *));
    apr_array_header_t *sd;
    int i;

    APR_ARRAY_PUSH(one, const char *) = value;
    sd = csp_strict_dynamic(p, one);
    for (i = 0; i < sd->nelts; i++) {
        if (!nonce || !csp_lists_nonce(&APR_ARRAY_IDX(sd, i, csp_directive), nonce,
                                       strlen(nonce))) {
            return 0;
        }
    }
    return 1;
}

int ss_csp_source_ok(const char *sources)
{
    const char *s;
    int words = 0, in_word = 0;

    if (!sources) {
        return 0;
    }
    for (s = sources; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == ' ') {
            in_word = 0;
            continue;
        }
        if (c < 0x21 || c > 0x7e || c == ';' || c == ',' || c == '\'' || c == '"') {
            return 0;
        }
        if (!in_word) {
            words++;
            in_word = 1;
        }
    }
    return words > 0;
}

/* [w, we) is one of the words of the directive */
static int csp_lists(const csp_directive *d, const char *w, const char *we)
{
    const char *s = d->name_end, *x, *xe;

    while (csp_word(&s, d->end, &x, &xe)) {
        if (xe - x == we - w && !memcmp(x, w, (size_t)(we - w))) {
            return 1;
        }
    }
    return 0;
}

/* The directive's sources with 'none' left out and the missing ones of
 * sources appended; NULL when that is what it says already. */
static const char *csp_widened_sources(apr_pool_t *p, const csp_directive *d,
                                       const char *sources)
{
    const char *s = d->name_end, *w, *we, *out = "";
    const char *send = sources + strlen(sources);
    int changed = 0;

    while (csp_word(&s, d->end, &w, &we)) {
        if (csp_is(w, we, "'none'")) {
            changed = 1;
            continue;
        }
        out = apr_pstrcat(p, out, " ", apr_pstrmemdup(p, w, (apr_size_t)(we - w)), NULL);
    }
    s = sources;
    while (csp_word(&s, send, &w, &we)) {
        if (!csp_lists(d, w, we)) {
            out = apr_pstrcat(p, out, " ", apr_pstrmemdup(p, w, (apr_size_t)(we - w)), NULL);
            changed = 1;
        }
    }
    return changed ? out : NULL;
}

const char *ss_csp_widen(apr_pool_t *p, const char *value, const char *sources)
{
    const char *s, *e, *ps, *pe, *done, *out = "";
    size_t len = value ? strlen(value) : 0;
    int changed = 0;

    if (!len || len > SS_CSP_MAX || !ss_csp_source_ok(sources)) {
        return value;
    }
    s = done = value;
    e = value + len;
    while (csp_policy(&s, e, &ps, &pe)) {
        csp_directive d;
        const char *added;

        if (!csp_applying(ps, pe, &d) || !(added = csp_widened_sources(p, &d, sources))) {
            continue;
        }
        /* everything up to the directive's name as it was, its sources
         * rewritten, the rest of the value as it was */
        out = apr_pstrcat(p, out, apr_pstrmemdup(p, done, (apr_size_t)(d.name_end - done)),
                          added, NULL);
        done = d.end;
        changed = 1;
    }
    return changed ? apr_pstrcat(p, out, done, NULL) : value;
}

const char *ss_csp_tag_sources(apr_pool_t *p, const char *tags)
{
    const char *s = tags, *out = NULL, *q, *end;

    while (s && (q = strstr(s, "src=\""))) {
        q += 5;
        if (!(end = strchr(q, '"'))) {
            break;
        }
        out = apr_pstrcat(p, out ? out : "", out ? " " : "",
                          apr_pstrmemdup(p, q, (apr_size_t)(end - q)), NULL);
        s = end + 1;
    }
    return out ? out : "";
}

const char *ss_csp_tags_with_nonce(apr_pool_t *p, const char *tags, const char *nonce)
{
    static const char open[] = "<script ";
    const char *s, *q, *attr;
    size_t n = 0, alen, tlen;
    char *out, *d;

    if (!ss_csp_nonce_ok(nonce)) {
        return NULL;
    }
    attr = apr_pstrcat(p, "nonce=\"", nonce, "\" ", NULL);
    alen = strlen(attr);
    for (s = tags; (q = strstr(s, open)); s = q + sizeof(open) - 1) {
        n++;
    }
    tlen = strlen(tags);
    d = out = apr_palloc(p, tlen + n * alen + 1);
    for (s = tags; (q = strstr(s, open)); s = q + sizeof(open) - 1) {
        size_t k = (size_t)(q - s) + sizeof(open) - 1;

        memcpy(d, s, k);
        d += k;
        memcpy(d, attr, alen);
        d += alen;
    }
    memcpy(d, s, strlen(s) + 1);
    return out;
}

int ss_referrer_policy_hides_origin(const char *value)
{
    static const char *const known[] = {
        "no-referrer", "no-referrer-when-downgrade", "same-origin", "origin",
        "strict-origin", "origin-when-cross-origin", "strict-origin-when-cross-origin",
        "unsafe-url",
    };
    const char *s = value, *e, *w, *we, *last = NULL, *last_end = NULL;
    const char *extra, *extra_end;      /* a second word: no token */
    size_t i;

    if (!value || strlen(value) > SS_CSP_MAX) {
        return 0;
    }
    e = value + strlen(value);
    while (s < e) {
        const char *c = memchr(s, ',', (size_t)(e - s)), *te = c ? c : e, *t = s;

        /* one token, white space around it */
        if (csp_word(&t, te, &w, &we) && !csp_word(&t, te, &extra, &extra_end)) {
            for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
                if (csp_is(w, we, known[i])) {
                    last = w;
                    last_end = we;
                }
            }
        }
        s = c ? c + 1 : e;
    }
    return last && (csp_is(last, last_end, "no-referrer") || csp_is(last, last_end, "same-origin"));
}
