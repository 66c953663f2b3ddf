/* The state of a navigation flow: the cookie B sets in "start", the S it
 * digests to (carried by "go" and sealed into the version-2 ticket), and
 * finding that cookie again when the ticket arrives
 * (docs/PROTOCOL.md, "The state binding").  Plain C on APR + libsodium.
 *
 *   cookie text  = base64url(16 random bytes) [ "." base64url(to) ]
 *   S            = ss_state_digest of the whole text (BLAKE2b-16, unkeyed)
 *   cookie name  = "__Host-ssst-" (https entry) or "ssst-" (http entry)
 *                  + the first 8 characters of base64url(S)
 */
#ifndef SS_STATE_H
#define SS_STATE_H

#include <stddef.h>
#include <apr_pools.h>
#include "ss_ticket.h"

#define SS_STATE_RANDOM_BYTES  16
#define SS_STATE_NAME_CHARS    8      /* characters of S in the cookie name */
#define SS_STATE_TO_MAX        2048   /* `to` of start and go, characters */
#define SS_STATE_COOKIES_MAX   4      /* state cookies one browser holds at once */
#define SS_STATE_PREFIX_HTTPS  "__Host-ssst-"
#define SS_STATE_PREFIX_HTTP   "ssst-"

/* A new state cookie text carrying to (NULL: none) after the random part;
 * random_part is 16 bytes (drawn by the caller: tests give their own). */
const char *ss_state_text(apr_pool_t *p, const unsigned char random_part[SS_STATE_RANDOM_BYTES],
                          const char *to);

/* base64url of S (SS_STATE_CHARS characters, as the random part). */
const char *ss_state_encode(apr_pool_t *p, const unsigned char s[SS_STATE_BYTES]);

/* Decodes the `state` parameter of go: 1 when it is exactly the base64url
 * of 16 bytes. */
int ss_state_decode(const char *text, unsigned char s[SS_STATE_BYTES]);

/* The name of the state cookie for S on an https (secure 1) or http entry. */
const char *ss_state_cookie_name(apr_pool_t *p, const unsigned char s[SS_STATE_BYTES],
                                 int secure);

/* The text of the state cookie in a Cookie header whose name belongs to S
 * and whose text digests to S (compared in constant time), or NULL. */
const char *ss_state_cookie_find(apr_pool_t *p, const char *cookie_header,
                                 const unsigned char s[SS_STATE_BYTES], int secure);

/* The name of the state cookie to drop before a new one is set: the first
 * state cookie in the Cookie header when it carries SS_STATE_COOKIES_MAX or
 * more of them; NULL otherwise. */
const char *ss_state_cookie_evict(apr_pool_t *p, const char *cookie_header, int secure);

/* The `to` a state cookie's text carries, when it is a path that start
 * accepts (see ss_state_to_check); NULL when it carries none or a bad one. */
const char *ss_state_text_to(apr_pool_t *p, const char *text, const char *handler_path);

/* start's `to`: a path and query on this site, starting with a single
 * '/', printable ASCII, no '\\' or '#', at most SS_STATE_TO_MAX characters,
 * and not under handler_path (also not once percent-decoded or through
 * dot segments).  NULL when acceptable, else a one-line reason. */
const char *ss_state_to_check(const char *to, const char *handler_path);

#endif
