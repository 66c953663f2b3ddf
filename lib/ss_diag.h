/* What the module tells an administrator about a configuration or a refused
 * ticket that needs no httpd: a site entry one edit away from a server name,
 * the site ids another site may have sealed a ticket for when the lists
 * differ, the names of the status counters.  Plain C on APR. */
#ifndef SS_DIAG_H
#define SS_DIAG_H

#include <apr_pools.h>
#include "ss_sites.h"

/* 1 when a and b, compared case-insensitively, are exactly one edit apart:
 * one character replaced, inserted or deleted, or two adjacent characters
 * swapped (Damerau-Levenshtein distance 1: "www.exmaple.org" and
 * "www.example.org").  Equal strings, NULLs and anything further apart
 * give 0. */
int ss_one_edit_apart(const char *a, const char *b);

/* The host of a ServerName or ServerAlias value ("[scheme://]host[:port]"),
 * lowercased, without a trailing dot; NULL for an empty value or a wildcard
 * alias ("*.example.org", "www?.example.org"). */
const char *ss_server_name_host(apr_pool_t *p, const char *value);

/* The site ids another site's list may name this site by when the lists
 * differ, other than the entry's own id: the entry's host and the request's
 * host, each with and without a leading "www.", each without a port and with
 * the request's port ("example.org", "www.example.org:8443").  At most max
 * ids go into ids, without repeats; returns how many. */
int ss_site_id_variants(apr_pool_t *p, const ss_site *entry, const char *host,
                        int port, const char **ids, int max);

/* A name as mod_status writes its machine-readable keys: "unknown-key"
 * gives "UnknownKey", "cache-unavailable" "CacheUnavailable". */
const char *ss_status_key(apr_pool_t *p, const char *name);

#endif
