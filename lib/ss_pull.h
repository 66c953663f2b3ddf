/* Pulls on arrival (docs/PROTOCOL.md, "Pulls on arrival"): whether a
 * request is a top-level navigation that arrives from another listed site,
 * and the guard cookie that lets a browser be pulled at most once per
 * source site and period.  Plain C on APR, no httpd; the glue is
 * glue/ss_pull.c.
 *
 * The guard cookie ("__Host-sspull" on an https entry, "sspull" on http):
 *
 *   text  = mark *( "~" mark )              at most SS_PULL_GUARD_MAX_CHARS
 *   mark  = site-id "/" seconds             at most SS_PULL_GUARD_MARKS marks
 *   site-id  = the source entry's id: 1 to SS_PULL_ID_MAX characters of
 *              a-z 0-9 . - : [ ]
 *   seconds  = 1 to 11 decimal digits: when that source was last pulled
 *              (Unix time, the receiving server's clock)
 *
 * A text that breaks any of these rules, or names a time more than
 * SS_PULL_FUTURE_MAX seconds ahead, is ignored as a whole (as if absent):
 * the worst a forged guard can do is cost its own browser one pull more
 * or one less. */
#ifndef SS_PULL_H
#define SS_PULL_H

#include <stddef.h>
#include <apr_pools.h>
#include "ss_sites.h"

#define SS_PULL_COOKIE_HTTPS     "__Host-sspull"
#define SS_PULL_COOKIE_HTTP      "sspull"
#define SS_PULL_GUARD_MAX_CHARS  1024   /* the cookie's text */
#define SS_PULL_GUARD_MARKS      16     /* source sites in one guard */
#define SS_PULL_ID_MAX           262    /* "[v6]" or a 253-character name, ":65535" */
#define SS_PULL_SECONDS_DIGITS   11
#define SS_PULL_FUTURE_MAX       60     /* seconds a mark may be ahead (clocks of a server farm) */
#define SS_PULL_PERIOD_MIN       60     /* the guard's shortest period, whatever Resend says */

typedef struct ss_pull_mark {
    const char *id;         /* a source site id */
    apr_int64_t at;           /* when it was pulled, Unix seconds */
} ss_pull_mark;

typedef struct ss_pull_guard {
    int n;
    ss_pull_mark marks[SS_PULL_GUARD_MARKS];
} ss_pull_guard;

/* How long a source stays guarded: SharedSessionResend's seconds, and
 * never less than SS_PULL_PERIOD_MIN (Resend 0, which sends the loader on
 * every page, still pulls at most once a minute per source: a redirect
 * chain that came back as a new arrival could otherwise bounce again). */
int ss_pull_period(int resend);

/* The guard cookie's name on an https (secure 1) or http entry. */
const char *ss_pull_cookie_name(int secure);

/* Parses a guard cookie's text [text, text + len) as of now into *g (ids
 * copied into p).  Returns 1 for a well-formed guard; 0, with *g empty,
 * for anything else (see above). */
int ss_pull_guard_parse(apr_pool_t *p, const char *text, size_t len, apr_int64_t now,
                        ss_pull_guard *g);

/* The guard cookie of a Cookie header, parsed as ss_pull_guard_parse
 * does; 0 and *g empty when there is none, several (ss_cookie_get: which
 * one the browser meant cannot be told), or it is ignored. */
int ss_pull_guard_read(apr_pool_t *p, const char *cookie_header, int secure, apr_int64_t now,
                       ss_pull_guard *g);

/* 1 when src_id was pulled less than period seconds before now. */
int ss_pull_guarded(const ss_pull_guard *g, const char *src_id, apr_int64_t now, int period);

/* The guard's new text once src_id is pulled now: src_id at now, and the
 * other marks that are still within period, the newest first, as many as
 * the limits allow. */
const char *ss_pull_guard_text(apr_pool_t *p, const ss_pull_guard *g, const char *src_id,
                               apr_int64_t now, int period);

/* 1 when the request headers describe a top-level navigation arriving
 * from another site, not a prefetch or prerender:
 *   Sec-Purpose (any value) or a Purpose naming prefetch/prerender: 0;
 *   else, when Sec-Fetch-Dest or Sec-Fetch-Site is sent: Sec-Fetch-Dest
 *   "document" and Sec-Fetch-Site "cross-site";
 *   else (browsers send no Sec-Fetch-* to plain http URLs):
 *   Upgrade-Insecure-Requests "1", which browsers send on navigations.
 * Each argument is the header's value or NULL. */
int ss_pull_arrival(const char *fetch_dest, const char *fetch_site,
                    const char *upgrade_insecure, const char *sec_purpose,
                    const char *purpose);

/* The entry a Referer comes from when it is a URL of another entry's own
 * host (no subdomain) with that entry's scheme and port (the scheme's
 * default when the entry names none); NULL otherwise, also for current
 * itself and for Referers that are not absolute http(s) URLs. */
const ss_site *ss_pull_source(apr_pool_t *p, const ss_site *sites, int nsites,
                              const ss_site *current, const char *referer);

#endif
