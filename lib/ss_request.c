/* Request decisions without httpd; see ss_request.h. */
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include <apr_lib.h>

#include "ss_request.h"
#include "ss_session_codec.h"
#include "ss_ticket.h"

#define B64URL_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

ss_route ss_route_name(const char *name, size_t *ticket_len)
{
    size_t len = strlen(name);

    if (!strcmp(name, "go")) {
        return SS_ROUTE_GO;
    }
    *ticket_len = len > 3 && !strcmp(name + len - 3, ".js") ? len - 3 : len;
    if (*ticket_len == 0) {
        return SS_ROUTE_NOT_FOUND;
    }
    if (strspn(name, B64URL_CHARS) < *ticket_len) {
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

const ss_site *ss_go_target(apr_pool_t *p, const ss_site *sites, int nsites,
                            const ss_site *current, const char *to, ss_url *u,
                            const char **err)
{
    const ss_site *target;
    const char *why;

    if (!to || !*to) {
        *err = "missing the to= parameter (an absolute URL on another site)";
        return NULL;
    }
    if (ss_url_parse(p, to, u, &why) != APR_SUCCESS) {
        *err = apr_pstrcat(p, "to= is refused: ", why, NULL);
        return NULL;
    }
    target = ss_sites_match(sites, nsites, u->host, u->port);
    if (!target || target == current) {
        *err = "to= is not on one of the other SharedSessionSites";
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
    return ss_host_within(u.host, src->host) && (!src->port || u.port == src->port);
}

/* 1 when cc already says private and has nothing to drop (no "public", no
 * empty member): mod_session_cookie's "no-cache, private" on every page
 * with a session, read without a copy. */
static int cc_private_as_is(const char *cc)
{
    int private = 0;

    for (;;) {
        const char *tok, *end;

        while (apr_isspace(*cc)) {
            cc++;
        }
        tok = cc;
        while (*cc && *cc != ',') {
            cc++;
        }
        end = cc;
        while (end > tok && apr_isspace(end[-1])) {
            end--;
        }
        if (end == tok || (end - tok == 6 && !strncasecmp(tok, "public", 6))) {
            return 0;
        }
        private |= end - tok >= 7 && !strncasecmp(tok, "private", 7)
                   && (end - tok == 7 || tok[7] == '=');
        if (!*cc) {
            return private;
        }
        cc++;   /* the ',' */
    }
}

const char *ss_cache_control_private(apr_pool_t *p, const char *cc)
{
    char *copy, *tok, *last = NULL;
    const char *kept = NULL;
    int private = 0;

    if (!cc || !*cc) {
        return "private";
    }
    if (cc_private_as_is(cc)) {
        return cc;
    }
    copy = apr_pstrdup(p, cc);
    for (tok = apr_strtok(copy, ",", &last); tok; tok = apr_strtok(NULL, ",", &last)) {
        char *end;

        while (apr_isspace(*tok)) {
            tok++;
        }
        end = tok + strlen(tok);
        while (end > tok && apr_isspace(end[-1])) {
            *--end = '\0';
        }
        if (!*tok || !strcasecmp(tok, "public")) {
            continue;
        }
        private |= !strncasecmp(tok, "private", 7) && (!tok[7] || tok[7] == '=');
        kept = kept ? apr_pstrcat(p, kept, ", ", tok, NULL) : tok;
    }
    if (private) {
        return kept;
    }
    return kept ? apr_pstrcat(p, "private, ", kept, NULL) : "private";
}
