/* Content-Security-Policy for the pages that get the loader tags
 * (docs/PROTOCOL.md, "Answers and headers").
 *
 * A header value is a list of policies (","), a policy a list of directives
 * (";"), a directive a name and source expressions (white space); names and
 * keywords are ASCII case-insensitive, the first directive of a name counts.
 * The directive that applies to a <script src> element is script-src-elem,
 * else script-src, else default-src; a policy without any of them does not
 * govern scripts.
 *
 * The loader runs under a policy when its exact URLs are sources of that
 * directive (ss_csp_widen; never a directory: a source ending in "/" would
 * let an injected <script> deliver any ticket), or, under 'strict-dynamic'
 * (which ignores URLs), when the tags carry a nonce the directive lists
 * (ss_csp_loader_nonce).  No nonce of the module's own is ever added: a
 * nonce in a directive turns its 'unsafe-inline' off.
 *
 * Bounded parsing of what the application or the configuration sent; plain
 * C on APR, no httpd. */
#ifndef SS_CSP_H
#define SS_CSP_H

#include <apr_pools.h>
#include <apr_tables.h>

/* A header value longer than this is left as it is (and a 'strict-dynamic'
 * in it cannot be seen). */
#define SS_CSP_MAX 16384

/* What the loader tags need to run under some policies. */
typedef enum {
    SS_CSP_URLS = 0,    /* the ticket URLs as sources are enough (or no policy
                           governs scripts) */
    SS_CSP_NONCE,       /* 'strict-dynamic': the tags carry *nonce */
    SS_CSP_NO_NONCE     /* 'strict-dynamic' and no nonce that every such policy
                           lists: the loader cannot run */
} ss_csp_need;

/* Looks at every policy in values (header values, const char *) as one
 * browser enforces them all: under 'strict-dynamic' the nonce is one that
 * every policy with 'strict-dynamic' lists (the first such in the first
 * policy), in *nonce (else NULL). */
ss_csp_need ss_csp_loader_nonce(apr_pool_t *p, const apr_array_header_t *values,
                                const char **nonce);

/* 1 when a script element carrying nonce (NULL: none) is not stopped by a
 * 'strict-dynamic' in any policy of value (a policy without one lets the
 * listed URLs through): what the late header filter checks on a policy
 * that was set after the tags were written. */
int ss_csp_nonce_suffices(apr_pool_t *p, const char *value, const char *nonce);

/* value with sources (white-space separated) added to the directive that
 * applies to script elements, in every policy that has one; a 'none' there
 * goes (it would be ignored beside sources anyway).  Sources the directive
 * already lists are not added twice, so widening twice changes nothing.
 * Returns value itself when nothing changes: no policy governs scripts,
 * value is longer than SS_CSP_MAX, or a source is not a plain source
 * expression (ss_csp_source_ok). */
const char *ss_csp_widen(apr_pool_t *p, const char *value, const char *sources);

/* 1 when every white-space separated word of sources (at least one) is a
 * source expression that cannot change a policy's structure: printable
 * ASCII without ';', ',' or quotes. */
int ss_csp_source_ok(const char *sources);

/* The src="..." URLs of the loader tags, separated by one space ("" when
 * there are none). */
const char *ss_csp_tag_sources(apr_pool_t *p, const char *tags);

/* The tags with nonce="nonce" in every <script> start tag; NULL when the
 * nonce is not a CSP base64 value (ss_csp_nonce_ok). */
const char *ss_csp_tags_with_nonce(apr_pool_t *p, const char *tags, const char *nonce);

/* 1 when nonce is a CSP base64-value: [A-Za-z0-9+/_-]+ then at most two '='
 * (safe inside a quoted HTML attribute). */
int ss_csp_nonce_ok(const char *nonce);

/* Referrer-Policy: 1 when value (the header's values joined with ",", in
 * the order a browser reads them) makes a page send no Referer to another
 * site: the last policy a browser knows is no-referrer or same-origin. */
int ss_referrer_policy_hides_origin(const char *value);

#endif
