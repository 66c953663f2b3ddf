/* The SharedSessionSites list (docs/PROTOCOL.md, "Sites and site ids"). */
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include <apr_lib.h>

#include "ss_sites.h"
#include "ss_ticket.h"   /* SS_SITE_ID_MAX: a site id travels with a 1-byte length */

#define SS_LABEL_MAX 63  /* RFC 1035 */

static apr_status_t site_refuse(const char **err, const char *why)
{
    *err = why;
    return APR_EINVAL;
}

static int is_host_char(char c)
{
    return apr_isalnum(c) || c == '-' || c == '.';
}

/* Letters, digits, '-' and '.', in non-empty labels that neither start nor
 * end with '-'. */
static const char *site_host_check(const char *h, size_t len)
{
    size_t i, label = 0;

    for (i = 0; i < len; i++) {
        if (!is_host_char(h[i])) {
            return "invalid character in host (letters, digits, '-' and '.' only)";
        }
        if (h[i] == '.') {
            if (label == 0) {
                return "empty label in host";
            }
            if (h[i - 1] == '-') {
                return "host label ends with '-'";
            }
            label = 0;
            continue;
        }
        if (label == 0 && h[i] == '-') {
            return "host label starts with '-'";
        }
        if (++label > SS_LABEL_MAX) {
            return "host label longer than 63 characters";
        }
    }
    if (label == 0) {
        return "empty label in host";
    }
    if (h[len - 1] == '-') {
        return "host label ends with '-'";
    }
    return NULL;
}

/* "[v6]": hex digits and ':' only, at least the two colons of "::". */
static const char *site_ipv6_check(const char *h, size_t len)
{
    size_t i, colons = 0;

    for (i = 1; i + 1 < len; i++) {
        if (h[i] == ':') {
            colons++;
        }
        else if (!apr_isxdigit(h[i])) {
            return "invalid IPv6 address (hex digits and ':' in brackets)";
        }
    }
    if (colons < 2) {
        return "invalid IPv6 address (hex digits and ':' in brackets)";
    }
    return NULL;
}

apr_status_t ss_site_parse(apr_pool_t *p, const char *arg, ss_site *out,
                           const char **err)
{
    const char *s, *end, *host, *host_end, *why;
    size_t hlen, i;
    int port = 0;
    char *lower;

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
        host_end = memchr(host, ']', (size_t)(end - host));
        if (!host_end) {
            return site_refuse(err, "invalid IPv6 address (no closing ']')");
        }
        host_end++;
        if ((why = site_ipv6_check(host, (size_t)(host_end - host)))) {
            return site_refuse(err, why);
        }
    }
    else {
        host_end = host + strcspn(host, ":/?#");
        if (host_end == host) {
            return site_refuse(err, "empty host");
        }
        if ((why = site_host_check(host, (size_t)(host_end - host)))) {
            return site_refuse(err, why);
        }
    }

    if (host_end < end) {
        const char *d;

        if (*host_end != ':') {
            return site_refuse(err, "invalid character after the host");
        }
        if (host_end + 1 == end) {
            return site_refuse(err, "port is not a number");
        }
        for (d = host_end + 1; d < end; d++) {
            if (!apr_isdigit(*d)) {
                return site_refuse(err, "port is not a number");
            }
            port = port * 10 + (*d - '0');
            if (port > 65535) {
                return site_refuse(err, "port out of range (1-65535)");
            }
        }
        if (port == 0) {
            return site_refuse(err, "port out of range (1-65535)");
        }
    }

    hlen = (size_t)(host_end - host);
    lower = apr_pstrmemdup(p, host, hlen);
    for (i = 0; i < hlen; i++) {
        lower[i] = (char)apr_tolower(lower[i]);
    }
    out->host = lower;
    out->port = port;
    out->id = port ? apr_psprintf(p, "%s:%d", lower, port) : lower;
    *err = NULL;
    return APR_SUCCESS;
}

/* An address has no subdomains: "[v6]", or a name whose last label is all
 * digits (browsers read that as IPv4). */
static int host_is_address(const char *h, size_t len)
{
    size_t i = len;

    if (h[0] == '[') {
        return 1;
    }
    while (i > 0 && h[i - 1] != '.') {
        if (!apr_isdigit(h[i - 1])) {
            return 0;
        }
        i--;
    }
    return 1;
}

/* 2: host equals site_host; 1: a subdomain of it; 0: neither. */
static int host_relation(const char *host, const char *site_host)
{
    size_t hlen, slen;

    if (!host || !site_host) {
        return 0;
    }
    hlen = strlen(host);
    slen = strlen(site_host);
    if (hlen > 0 && host[hlen - 1] == '.') {
        hlen--;   /* "example.com." is the same name as "example.com" */
    }
    if (hlen == 0 || slen == 0) {
        return 0;
    }
    if (hlen == slen) {
        return strncasecmp(host, site_host, slen) ? 0 : 2;
    }
    if (hlen > slen + 1 && host[hlen - slen - 1] == '.'
        && !host_is_address(site_host, slen)
        && !strncasecmp(host + hlen - slen, site_host, slen)) {
        return 1;
    }
    return 0;
}

int ss_host_within(const char *host, const char *site_host)
{
    return host_relation(host, site_host) != 0;
}

int ss_site_default_port(const char *scheme)
{
    return (scheme && !strcasecmp(scheme, "http")) ? 80 : 443;
}

const ss_site *ss_sites_match(const ss_site *sites, int nsites,
                              const char *host, int port)
{
    const ss_site *best = NULL;
    int best_rel = 0, i;
    size_t best_len = 0;

    for (i = 0; i < nsites; i++) {
        const ss_site *s = &sites[i];
        int rel = host_relation(host, s->host);
        size_t len;

        if (!rel || (s->port && s->port != port)) {
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
