/* What the module tells an administrator: the checks of configtest, the
 * rate-limited warnings about refused tickets, and the counters shown on
 * mod_status's page.  Included by ss_glue.h (after its types); the
 * handler, the filter and the replay cache call these one-liners. */
#ifndef SS_ADMIN_H
#define SS_ADMIN_H

/* ---- glue/ss_counters.c: counters shared by every child ----------------- */

typedef enum {
    SS_COUNT_LOADERS = 0,       /* pages that got the loader tags */
    SS_COUNT_GO,                /* "go" redirects */
    SS_COUNT_START,             /* "start" redirects */
    SS_COUNT_PULL,              /* pull redirects (a visitor arriving from a site) */
    SS_COUNT_REPLAY_ERRORS,     /* the replay cache could not be locked, read or written */
    SS_COUNT_MAX
} ss_counter;

/* Adds one (atomically, across children); nothing before post_config. */
void ss_count(ss_counter which);

/* Counts a ticket's outcome: result "replaced", "kept" or "rejected", and
 * the reason of a rejection. */
void ss_count_ticket(const char *result, ss_reason reason);

/* Registers the hooks of the counters (post_config: the shared segment)
 * and of the start-up checks; mod_status's status_hook when it is loaded. */
void ss_admin_register_hooks(apr_pool_t *p);

/* ---- glue/ss_checks.c: configuration mistakes -------------------------- */

/* configtest: virtual hosts that serve the handler or the filter without a
 * SharedSessionSites entry for their names, entries one edit away from a
 * local ServerName, http:// entries on https sites, the handler or the
 * filter in a server without SharedSessionSites.  Warnings only. */
void ss_check_sites(apr_pool_t *ptemp, server_rec *s);

/* The filter's first call on a response: says once per child, at warn,
 * when it runs where neither mod_session is on nor cookies are shared. */
void ss_filter_check_session(request_rec *r);

/* SetHandler shared-session outside what the handler serves: logs the
 * cause that applies (no SharedSessionSites in this server, or a URL
 * outside SharedSessionPath) and returns HTTP_NOT_FOUND. */
int ss_handler_unmounted(request_rec *r, const ss_server_conf *conf);

/* ---- glue/ss_rejections.c: what a ticket's outcome tells ----------------- */

/* After every ticket: counts its outcome and, for the rejections that point
 * to a misconfiguration (unknown-key, bad-ticket, expired, future,
 * unknown-source, referer), logs at most one warning per reason per minute
 * and child with the count since the last one and the likely cause. */
void ss_ticket_seen(request_rec *r, const ss_server_conf *conf, const char *result,
                    ss_reason reason, const char *ticket, apr_size_t len);

#endif
