/* Pulls on arrival; see ss_pull.h. */
#include <string.h>
#include <strings.h>
#include <apr_strings.h>

#include "ss_pull.h"
#include "ss_cookie.h"
#include "ss_url.h"

#define SS_PULL_ID_CHARS "abcdefghijklmnopqrstuvwxyz0123456789.-:[]"

int ss_pull_period(int resend)
{
    return resend > SS_PULL_PERIOD_MIN ? resend : SS_PULL_PERIOD_MIN;
}

const char *ss_pull_cookie_name(int secure)
{
    return secure ? SS_PULL_COOKIE_HTTPS : SS_PULL_COOKIE_HTTP;
}

/* One mark [m, m + len): "site-id/seconds". */
static int ss_pull_mark_parse(apr_pool_t *p, const char *m, size_t len, apr_int64_t now,
                              ss_pull_mark *out)
{
    const char *slash = NULL;
    size_t i, idlen, dlen;
    apr_int64_t at = 0;

    for (i = len; i > 0; i--) {
        if (m[i - 1] == '/') {
            slash = m + i - 1;
            break;
        }
    }
    if (!slash) {
        return 0;
    }
    idlen = (size_t)(slash - m);
    dlen = len - idlen - 1;
    if (idlen < 1 || idlen > SS_PULL_ID_MAX || dlen < 1 || dlen > SS_PULL_SECONDS_DIGITS) {
        return 0;
    }
    for (i = 0; i < idlen; i++) {
        if (!m[i] || !strchr(SS_PULL_ID_CHARS, m[i])) {
            return 0;
        }
    }
    for (i = 0; i < dlen; i++) {
        char c = slash[1 + i];

        if (c < '0' || c > '9') {
            return 0;
        }
        at = at * 10 + (c - '0');      /* 11 digits: no overflow */
    }
    if (at > now + SS_PULL_FUTURE_MAX) {
        return 0;
    }
    out->id = apr_pstrmemdup(p, m, idlen);
    out->at = at;
    return 1;
}

int ss_pull_guard_parse(apr_pool_t *p, const char *text, size_t len, apr_int64_t now,
                        ss_pull_guard *g)
{
    size_t start = 0, i;
    int j;

    g->n = 0;
    if (!text || len < 3 || len > SS_PULL_GUARD_MAX_CHARS) {
        return 0;
    }
    for (i = 0; i <= len; i++) {
        ss_pull_mark mark;

        if (i < len && text[i] != '~') {
            continue;
        }
        if (g->n == SS_PULL_GUARD_MARKS
            || !ss_pull_mark_parse(p, text + start, i - start, now, &mark)) {
            g->n = 0;
            return 0;
        }
        start = i + 1;
        /* a site named twice counts with its latest time */
        for (j = 0; j < g->n && strcmp(g->marks[j].id, mark.id); j++) {
        }
        if (j < g->n) {
            if (mark.at > g->marks[j].at) {
                g->marks[j].at = mark.at;
            }
            continue;
        }
        g->marks[g->n++] = mark;
    }
    return 1;
}

int ss_pull_guard_read(apr_pool_t *p, const char *cookie_header, int secure, apr_int64_t now,
                       ss_pull_guard *g)
{
    const char *val = ss_cookie_get(p, cookie_header, ss_pull_cookie_name(secure), NULL);

    g->n = 0;
    return val ? ss_pull_guard_parse(p, val, strlen(val), now, g) : 0;
}

int ss_pull_guarded(const ss_pull_guard *g, const char *src_id, apr_int64_t now, int period)
{
    int i;

    for (i = 0; i < g->n; i++) {
        if (!strcmp(g->marks[i].id, src_id)) {
            return now - g->marks[i].at < period;
        }
    }
    return 0;
}

const char *ss_pull_guard_text(apr_pool_t *p, const ss_pull_guard *g, const char *src_id,
                               apr_int64_t now, int period)
{
    const ss_pull_mark *kept[SS_PULL_GUARD_MARKS];
    int n = 0, i, j;
    char *out, *d;

    /* the marks still within the period, other than src_id, newest first */
    for (i = 0; i < g->n; i++) {
        const ss_pull_mark *m = &g->marks[i];

        if (!strcmp(m->id, src_id) || now - m->at >= period) {
            continue;
        }
        for (j = n; j > 0 && kept[j - 1]->at < m->at; j--) {
            kept[j] = kept[j - 1];
        }
        kept[j] = m;
        n++;
    }
    d = out = apr_palloc(p, SS_PULL_GUARD_MAX_CHARS + 1);
    d += apr_snprintf(d, SS_PULL_GUARD_MAX_CHARS + 1, "%s/%" APR_INT64_T_FMT, src_id, now);
    for (i = 0; i < n && i < SS_PULL_GUARD_MARKS - 1; i++) {
        char mark[SS_PULL_ID_MAX + 2 + SS_PULL_SECONDS_DIGITS + 1];
        size_t mlen = (size_t)apr_snprintf(mark, sizeof(mark), "~%s/%" APR_INT64_T_FMT,
                                           kept[i]->id, kept[i]->at);

        if ((size_t)(d - out) + mlen > SS_PULL_GUARD_MAX_CHARS) {
            break;
        }
        memcpy(d, mark, mlen);
        d += mlen;
    }
    *d = '\0';
    return out;
}

/* A header value equal to want, ignoring case and surrounding blanks. */
static int ss_pull_header_is(const char *value, const char *want)
{
    size_t n = strlen(want), len;

    if (!value) {
        return 0;
    }
    while (*value == ' ' || *value == '\t') {
        value++;
    }
    len = strlen(value);
    while (len && (value[len - 1] == ' ' || value[len - 1] == '\t')) {
        len--;
    }
    return len == n && !strncasecmp(value, want, n);
}

static int ss_pull_names(const char *value, const char *word)
{
    size_t n = strlen(word);
    const char *c;

    for (c = value; c && *c; c++) {
        if (!strncasecmp(c, word, n)) {
            return 1;
        }
    }
    return 0;
}

int ss_pull_arrival(const char *fetch_dest, const char *fetch_site,
                    const char *upgrade_insecure, const char *sec_purpose,
                    const char *purpose)
{
    if (sec_purpose || ss_pull_names(purpose, "prefetch") || ss_pull_names(purpose, "prerender")) {
        return 0;
    }
    if (fetch_dest || fetch_site) {
        return ss_pull_header_is(fetch_dest, "document")
               && ss_pull_header_is(fetch_site, "cross-site");
    }
    return ss_pull_header_is(upgrade_insecure, "1");
}

/* 1 when value may be a URL of site: it starts with the site's scheme,
 * "://" and its host (any case), followed by what may follow a host.  A
 * necessary condition for ss_pull_source, without parsing: most requests
 * (in-site navigations, other sites) stop here. */
static int ss_pull_may_be(const char *value, const ss_site *site)
{
    size_t sl = strlen(site->scheme), hl = strlen(site->host);

    return !strncasecmp(value, site->scheme, sl) && !strncmp(value + sl, "://", 3)
           && !strncasecmp(value + sl + 3, site->host, hl)
           && (value[sl + 3 + hl] == '\0' || strchr(":/?#.", value[sl + 3 + hl]));
}

const ss_site *ss_pull_source(apr_pool_t *p, const ss_site *sites, int nsites,
                              const ss_site *current, const char *referer)
{
    const ss_site *src;
    const char *err;
    int exact = 0, i;
    ss_url u;

    if (!referer || !*referer) {
        return NULL;
    }
    for (i = 0; i < nsites && (&sites[i] == current || !ss_pull_may_be(referer, &sites[i]));
         i++) {
    }
    if (i == nsites || ss_url_parse(p, referer, &u, &err) != APR_SUCCESS) {
        return NULL;
    }
    src = ss_sites_match(sites, nsites, u.host, u.port, &exact);
    if (!src || !exact || src == current || strcmp(u.scheme, src->scheme)
        || u.port != (src->port ? src->port : ss_site_default_port(src->scheme))) {
        return NULL;
    }
    return src;
}
