/* Strict parsing of the absolute URLs the module acts on: the `to` of `go`
 * and the Referer/Origin of a receiving request.  Bounded, plain C on APR. */
#ifndef SS_URL_H
#define SS_URL_H

#include <apr_pools.h>
#include <apr_errno.h>

#define SS_URL_MAX 8192   /* longer input is refused without being scanned */

typedef struct ss_url {
    const char *scheme;      /* "http" or "https", lowercased */
    const char *host;        /* normal form of lib/ss_host.h (lowercased, no trailing dot) */
    int port;                /* explicit port, or the scheme's default */
    int port_given;          /* 1 when the URL named a port */
    const char *path_query;  /* path and query, starts with "/"; "/" when empty; no fragment */
} ss_url;

/* Parses an absolute http(s) URL.  Refused, with *err a one-line reason:
 * other schemes, a missing or empty host, a host or a port outside the
 * grammar of lib/ss_host.h, userinfo ("user@host"), any byte < 0x21 or
 * >= 0x7f (CR, LF, space, ...), a backslash anywhere, length > SS_URL_MAX.
 * The fragment is dropped. */
apr_status_t ss_url_parse(apr_pool_t *p, const char *s, ss_url *u,
                          const char **err);

#endif
