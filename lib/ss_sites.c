/* The SharedSessionSites list (docs/PROTOCOL.md, "Sites and site ids"). */
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include <apr_lib.h>

#include "ss_host.h"
#include "ss_sites.h"
#include "ss_ticket.h"   /* SS_SITE_ID_MAX: a site id travels with a 1-byte length */

static apr_status_t site_refuse(const char **err, const char *why)
{
    *err = why;
    return APR_EINVAL;
}

apr_status_t ss_site_parse(apr_pool_t *p, const char *arg, ss_site *out,
                           const char **err)
{
    const char *s, *end, *host, *host_end, *why;
    int port = 0;

    memset(out, 0, sizeof(*out));
    if (!arg || !*arg) {
        return site_refuse(err, "empty site");
    }

    /* a "://" before any '/', '?' or '#' ends a scheme; none means https */
    s = strstr(arg, "://");
    if (s && (size_t)(s - arg) < strcspn(arg, "/?#")) {
        if (s - arg == 5 && !strncasecmp(arg, "https", 5)) {
            out->scheme = "https";
        }
        else if (s - arg == 4 && !strncasecmp(arg, "http", 4)) {
            out->scheme = "http";
        }
        else {
            return site_refuse(err, "unknown scheme (only http:// and https://)");
        }
        s += 3;
    }
    else {
        out->scheme = "https";
        s = arg;
    }

    /* The authority ends at the first '/', '?' or '#'; after it only one
     * trailing '/' may follow. */
    end = s + strcspn(s, "/?#");
    if (strpbrk(end, "?#")) {
        return site_refuse(err, "a query or fragment is not allowed");
    }
    if (*end == '/' && end[1] != '\0') {
        return site_refuse(err, "a path is not allowed (only a trailing '/')");
    }
    if (memchr(s, '@', (size_t)(end - s))) {
        return site_refuse(err, "user information (user@) is not allowed");
    }
    if ((size_t)(end - s) > SS_SITE_ID_MAX) {
        return site_refuse(err, "site longer than 255 characters");
    }

    host = s;
    if (*host == '[') {
        /* an IPv6 address ends at its ']' (the grammar refuses it without) */
        host_end = memchr(host, ']', (size_t)(end - host));
        host_end = host_end ? host_end + 1 : end;
    }
    else {
        host_end = host + strcspn(host, ":/?#");
    }
    if (!ss_host_parse(p, host, (size_t)(host_end - host), &out->host, &why)) {
        return site_refuse(err, why);
    }
    if (host_end < end) {
        if (*host_end != ':') {
            return site_refuse(err, "invalid character after the host");
        }
        if (!(port = ss_host_port_parse(host_end + 1, (size_t)(end - host_end - 1), &why))) {
            return site_refuse(err, why);
        }
    }
    out->port = port;
    out->id = port ? apr_psprintf(p, "%s:%d", out->host, port) : out->host;
    *err = NULL;
    return APR_SUCCESS;
}

int ss_site_default_port(const char *scheme)
{
    return (scheme && !strcasecmp(scheme, "http")) ? 80 : 443;
}

const ss_site *ss_sites_match(const ss_site *sites, int nsites,
                              const char *host, int port, int *exact)
{
    const ss_site *best = NULL;
    ss_host_rel best_rel = SS_HOST_OTHER;
    size_t best_len = 0;
    int i;

    for (i = 0; i < nsites; i++) {
        const ss_site *s = &sites[i];
        ss_host_rel rel = ss_host_relation(host, s->host);
        size_t len;

        if (rel == SS_HOST_OTHER || (s->port && s->port != port)) {
            continue;
        }
        len = strlen(s->host);
        /* Most specific wins: exact over subdomain, longer host over
         * shorter, a named port over none; on a tie the first entry. */
        if (!best || rel > best_rel
            || (rel == best_rel && len > best_len)
            || (rel == best_rel && len == best_len && s->port && !best->port)) {
            best = s;
            best_rel = rel;
            best_len = len;
        }
    }
    if (exact) {
        *exact = best_rel == SS_HOST_SAME;
    }
    return best;
}

const char *ss_site_origin(apr_pool_t *p, const ss_site *site)
{
    if (site->port) {
        return apr_psprintf(p, "%s://%s:%d", site->scheme, site->host,
                            site->port);
    }
    return apr_pstrcat(p, site->scheme, "://", site->host, NULL);
}
