/* The SharedSessionSites list: parsing entries, site ids, which entry a host
 * belongs to (docs/PROTOCOL.md, "Sites and site ids").  Plain C on APR, no
 * httpd. */
#ifndef SS_SITES_H
#define SS_SITES_H

#include <apr_pools.h>
#include <apr_errno.h>

typedef struct ss_site {
    const char *scheme;  /* "https" (default) or "http" */
    const char *host;    /* normal form of lib/ss_host.h: a DNS name, an IPv4
                          * address or "[v6]", lowercased, no trailing dot */
    int port;            /* 0 when the entry names none */
    const char *id;      /* host, or host:port when the entry names a port */
} ss_site;

/* Parses "[http://|https://]host[:port]" (a trailing "/" is allowed, nothing
 * else after the host/port; host and port as lib/ss_host.h reads them).
 * Returns APR_SUCCESS, or APR_EINVAL with *err a one-line reason (in p)
 * such as "port out of range". */
apr_status_t ss_site_parse(apr_pool_t *p, const char *arg, ss_site *out,
                           const char **err);

/* The scheme's default port: 443 for https, 80 for http. */
int ss_site_default_port(const char *scheme);

/* The entry a host (and port, the one the client used) belongs to, or NULL.
 * An entry that names a port matches only that port; one without a port
 * matches any.  When several match, the most specific wins: exact host over
 * subdomain, longer host over shorter, named port over none.  *exact (may
 * be NULL) tells whether host is that entry's own host: only then may the
 * module act on the request (tickets, loaders, go); an entry that host is
 * merely a subdomain of is for log lines (docs/PROTOCOL.md, "Sites and site
 * ids"). */
const ss_site *ss_sites_match(const ss_site *sites, int nsites,
                              const char *host, int port, int *exact);

/* "scheme://host[:port]" of a site, with the port only when it names one. */
const char *ss_site_origin(apr_pool_t *p, const ss_site *site);

#endif
