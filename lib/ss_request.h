/* The handler's and the filter's decisions about a request that need no
 * httpd: which name was asked for, where "go" may send a user, whether a
 * Referer comes from a site, and how a response becomes private.  Plain C
 * on APR; each is tested on its own (test/unit/test_request.c). */
#ifndef SS_REQUEST_H
#define SS_REQUEST_H

#include <apr_pools.h>
#include "ss_sites.h"
#include "ss_url.h"

typedef enum {
    SS_ROUTE_NOT_FOUND = 0,   /* 404 */
    SS_ROUTE_GO,              /* "go": send the user to another site */
    SS_ROUTE_START,           /* "start": B's side of a navigation flow */
    SS_ROUTE_SCRIPT,          /* "TICKET.js" */
    SS_ROUTE_NAVIGATION       /* "TICKET" */
} ss_route;

/* Routes the name after SharedSessionPath (docs/PROTOCOL.md, "Answers and
 * headers"): "go", "start"; X.js or X where X is base64url characters only
 * (a ticket, good or bad); anything else (empty, a '/', other characters) is
 * not found.  For tickets *ticket_len is the length of X. */
ss_route ss_route_name(const char *name, size_t *ticket_len);

/* The decoded value of the first parameter called name in a query string
 * ("a=1&to=..."), or NULL when there is none; "" when it does not decode. */
const char *ss_query_param(apr_pool_t *p, const char *args, const char *name);

/* The query string args with the value of every parameter called name
 * replaced by shown ("to=x&state=<state>"), or NULL when args has no
 * such parameter. */
const char *ss_query_redact(apr_pool_t *p, const char *args, const char *name,
                            const char *shown);

/* A raw request line ("GET /shared-session/TICKET.js HTTP/1.1", perhaps
 * cut short by LimitRequestLine, perhaps with an absolute URL) as the logs
 * may show it: a name under handler_path other than "go" and "start" becomes
 * "<ticket>" (".js" kept), and the state of go becomes "<state>".  NULL when
 * nothing needs hiding. */
const char *ss_request_line_redact(apr_pool_t *p, const char *line,
                                   const char *handler_path);

/* Where "go" may send a user (docs/PROTOCOL.md, "The navigation flow"): `to` must be an absolute
 * http(s) URL on the very host of one of the sites other than current (a
 * subdomain of one is refused), on that site's port (its entry's port, or
 * the scheme's default when the entry names none), with a path that a
 * navigation ticket can carry.  Returns the target entry and fills *u, or
 * NULL with *err a one-line reason for a 400 answer. */
const ss_site *ss_go_target(apr_pool_t *p, const ss_site *sites, int nsites,
                            const ss_site *current, const char *to, ss_url *u,
                            const char **err);

/* CheckReferer: 1 when a Referer or Origin value is a URL of the site src
 * itself: its scheme, its host (no subdomain) and its port (the scheme's
 * default when its entry names none).  "null", relative or unparsable
 * values never match (docs/PROTOCOL.md, "Opening a ticket: checks and
 * reasons"). */
int ss_referer_matches(apr_pool_t *p, const char *value, const ss_site *src);

/* A Cache-Control value made private (docs/PROTOCOL.md, "Answers and
 * headers"): "public" and "s-maxage" removed, "private" added unless there,
 * and "no-store" when no_store is set and it is not there; every other
 * member kept.  NULL or "" gives "private" (or "private, no-store"). */
const char *ss_cache_control_private(apr_pool_t *p, const char *cc, int no_store);

#endif
