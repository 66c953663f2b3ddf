/* Request decisions without httpd; see ss_request.h. */
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include <apr_lib.h>

#include "ss_base64.h"
#include "ss_request.h"
#include "ss_session_codec.h"
#include "ss_ticket.h"

ss_route ss_route_name(const char *name, size_t *ticket_len)
{
    size_t len = strlen(name);

    if (!strcmp(name, "go")) {
        return SS_ROUTE_GO;
    }
    if (!strcmp(name, "start")) {
        return SS_ROUTE_START;
    }
    *ticket_len = len > 3 && !strcmp(name + len - 3, ".js") ? len - 3 : len;
    if (*ticket_len == 0) {
        return SS_ROUTE_NOT_FOUND;
    }
    if (ss_b64url_span(name, *ticket_len) < *ticket_len) {
        return SS_ROUTE_NOT_FOUND;
    }
    return *ticket_len == len ? SS_ROUTE_NAVIGATION : SS_ROUTE_SCRIPT;
}

const char *ss_query_param(apr_pool_t *p, const char *args, const char *name)
{
    size_t nlen = strlen(name);
    const char *pair = args;

    while (pair && *pair) {
        const char *end = strchr(pair, '&');
        size_t plen = end ? (size_t)(end - pair) : strlen(pair);

        if (plen > nlen && pair[nlen] == '=' && !strncmp(pair, name, nlen)) {
            char *val = apr_pstrmemdup(p, pair + nlen + 1, plen - nlen - 1);
            return ss_form_unescape(val) ? val : "";
        }
        pair = end ? end + 1 : NULL;
    }
    return NULL;
}

const char *ss_query_redact(apr_pool_t *p, const char *args, const char *name,
                            const char *shown)
{
    size_t nlen = strlen(name);
    const char *pair = args, *out = "";
    int found = 0;

    while (pair && *pair) {
        const char *end = strchr(pair, '&');
        size_t plen = end ? (size_t)(end - pair) : strlen(pair);
        const char *piece = apr_pstrmemdup(p, pair, plen);

        if (plen > nlen && pair[nlen] == '=' && !strncmp(pair, name, nlen)) {
            piece = apr_pstrcat(p, name, "=", shown, NULL);
            found = 1;
        }
        out = apr_pstrcat(p, out, piece, end ? "&" : "", NULL);
        pair = end ? end + 1 : NULL;
    }
    return found ? out : NULL;
}

const char *ss_request_line_redact(apr_pool_t *p, const char *line,
                                   const char *handler_path)
{
    size_t hlen = strlen(handler_path), nlen;
    const char *target, *path, *name, *rest, *q, *sp, *args, *redacted;

    if (!line || !(target = strchr(line, ' '))) {
        return NULL;
    }
    target++;
    path = target;
    if (*path != '/') {
        /* absolute form: scheme://authority/path */
        const char *auth = strstr(path, "://");

        if (!auth || auth > path + 8 || !(path = strchr(auth + 3, '/'))) {
            return NULL;
        }
        if ((sp = strchr(target, ' ')) && sp < path) {
            return NULL;
        }
    }
    if (strncmp(path, handler_path, hlen)) {
        return NULL;
    }
    name = path + hlen;
    nlen = strcspn(name, "? ");
    rest = name + nlen;
    if ((nlen == 2 && !strncmp(name, "go", 2)) || (nlen == 5 && !strncmp(name, "start", 5))) {
        if (*rest != '?') {
            return NULL;
        }
        q = rest + 1;
        sp = strchr(q, ' ');
        args = sp ? apr_pstrmemdup(p, q, (size_t)(sp - q)) : q;
        if (!(redacted = ss_query_redact(p, args, "state", "<state>"))) {
            return NULL;
        }
        return apr_pstrcat(p, apr_pstrmemdup(p, line, (size_t)(q - line)), redacted,
                           sp ? sp : "", NULL);
    }
    if (nlen == 0) {
        return NULL;
    }
    return apr_pstrcat(p, apr_pstrmemdup(p, line, (size_t)(name - line)), "<ticket>",
                       nlen > 3 && !strncmp(name + nlen - 3, ".js", 3) ? ".js" : "",
                       rest, NULL);
}

const ss_site *ss_go_target(apr_pool_t *p, const ss_site *sites, int nsites,
                            const ss_site *current, const char *to, ss_url *u,
                            const char **err)
{
    const ss_site *target;
    const char *why;
    int exact;

    if (!to || !*to) {
        *err = "missing the to= parameter (an absolute URL on another site)";
        return NULL;
    }
    if (ss_url_parse(p, to, u, &why) != APR_SUCCESS) {
        *err = apr_pstrcat(p, "to= is refused: ", why, NULL);
        return NULL;
    }
    target = ss_sites_match(sites, nsites, u->host, u->port, &exact);
    if (!target || target == current) {
        *err = "to= is not on one of the other SharedSessionSites";
        return NULL;
    }
    if (!exact) {
        /* a subdomain of a target: whoever runs it must not get tickets */
        *err = "to= is not a page of another site that shares sessions";
        return NULL;
    }
    if (!target->port && u->port != ss_site_default_port(u->scheme)) {
        *err = "to= names a port that its site does not use";
        return NULL;
    }
    if (!ss_next_valid(u->path_query, strlen(u->path_query))) {
        *err = "to= has a path that cannot be carried (it must start with a single '/')";
        return NULL;
    }
    return target;
}

int ss_referer_matches(apr_pool_t *p, const char *value, const ss_site *src)
{
    const char *err;
    ss_url u;

    if (!value || ss_url_parse(p, value, &u, &err) != APR_SUCCESS) {
        return 0;
    }
    /* both hosts are in normal form: equal text is the same host */
    return !strcmp(u.scheme, src->scheme) && !strcmp(u.host, src->host)
           && u.port == (src->port ? src->port : ss_site_default_port(src->scheme));
}

#define CC_OWS(c) ((c) == ' ' || (c) == '\t')   /* HTTP's optional white space */

/* The next comma-separated member of a Cache-Control value at *s, trimmed
 * of optional white space, as [*tok, *tok + *len); 0 once *s is used up.
 * A comma at the end gives a last, empty member. */
static int cc_next(const char **s, const char **tok, size_t *len)
{
    const char *c = *s, *end;

    if (!c) {
        return 0;
    }
    while (CC_OWS(*c)) {
        c++;
    }
    *tok = c;
    while (*c && *c != ',') {
        c++;
    }
    end = c;
    while (end > *tok && CC_OWS(end[-1])) {
        end--;
    }
    *len = (size_t)(end - *tok);
    *s = *c ? c + 1 : NULL;
    return 1;
}

/* tok is the member name, alone or with a value ("max-age=60") */
static int cc_is(const char *tok, size_t len, const char *name, size_t n)
{
    return len >= n && !strncasecmp(tok, name, n)
           && (len == n || tok[n] == '=');
}

/* what a private answer cannot carry: an empty member, public, s-maxage
 * (a lifetime for shared caches only) */
static int cc_dropped(const char *tok, size_t len)
{
    return len == 0 || (len == 6 && !strncasecmp(tok, "public", 6))
           || cc_is(tok, len, "s-maxage", 8);
}

/* One scan decides; a value that already says private and has nothing to
 * drop or add (mod_session_cookie's "no-cache, private" on every page with a
 * session) is returned as it is, without a copy. */
const char *ss_cache_control_private(apr_pool_t *p, const char *cc, int no_store)
{
    const char *s, *tok;
    size_t len;
    int private = 0, drop = 0, has_no_store = 0;
    char *out, *d;

    if (!cc || !*cc) {
        return no_store ? "private, no-store" : "private";
    }
    for (s = cc; cc_next(&s, &tok, &len);) {
        drop |= cc_dropped(tok, len);
        private |= cc_is(tok, len, "private", 7);
        has_no_store |= len == 8 && !strncasecmp(tok, "no-store", 8);
    }
    no_store &= !has_no_store;
    if (private && !drop && !no_store) {
        return cc;
    }
    /* each kept member grows by at most one byte (", " for ","), plus
     * "private" in front and ", no-store" at the end: 2 * strlen + 20 holds
     * any value */
    d = out = apr_palloc(p, 2 * strlen(cc) + 20);
    if (!private) {
        memcpy(d, "private", 7);
        d += 7;
    }
    for (s = cc; cc_next(&s, &tok, &len);) {
        if (cc_dropped(tok, len)) {
            continue;
        }
        if (d != out) {
            memcpy(d, ", ", 2);
            d += 2;
        }
        memcpy(d, tok, len);
        d += len;
    }
    if (no_store) {
        memcpy(d, ", no-store", 10);
        d += 10;
    }
    *d = '\0';
    return out;
}
