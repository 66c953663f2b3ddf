/* Tickets (docs/PROTOCOL.md, "Ticket format"): seal and open, with the rejection
 * reasons that need no httpd.  Plain C on APR + libsodium. */
#ifndef SS_TICKET_H
#define SS_TICKET_H

#include <stdint.h>
#include <apr_pools.h>
#include <apr_errno.h>
#include "ss_keyring.h"
#include "ss_reason.h"

#define SS_TICKET_VERSION    0x01  /* script tickets (and unbound navigation tickets) */
#define SS_TICKET_VERSION_2  0x02  /* navigation tickets bound to a state */
#define SS_STATE_BYTES       16    /* S: BLAKE2b-16 of the state cookie's text */
#define SS_TICKET_MAX_CHARS  6000  /* checked before decoding */
#define SS_NONCE_BYTES       24
#define SS_TAG_BYTES         16
#define SS_CLOCK_SKEW        5     /* seconds a ticket may come "from the future" */
#define SS_SITE_ID_MAX       255
/* 0x01 || kid || nonce || (iat, mode, srclen, 1-byte src, nextlen, session >= 1) || tag */
#define SS_TICKET_MIN_BYTES  (1 + SS_KID_BYTES + SS_NONCE_BYTES + 8 + 1 + 1 + 1 + 2 + 1 + SS_TAG_BYTES)

/* The flow of a ticket (the low bits of its mode byte). */
typedef enum {
    SS_MODE_SCRIPT     = 0x01,
    SS_MODE_NAVIGATION = 0x02
} ss_mode;

/* Mode bit: the session field holds cookie pairs, not mod_session entries. */
#define SS_MODE_COOKIE_PAIRS 0x10

/* A ticket's content.  Strings are NUL-terminated. */
typedef struct ss_ticket {
    int version;                          /* SS_TICKET_VERSION or SS_TICKET_VERSION_2;
                                             0 when sealing means SS_TICKET_VERSION */
    unsigned char state[SS_STATE_BYTES];  /* version 2: S, the state binding */
    int64_t iat;                          /* Unix seconds */
    ss_mode mode;                         /* the flow */
    int cookie_pairs;                     /* 1: mode bit SS_MODE_COOKIE_PAIRS */
    const char *src;                      /* source site id, 1-255 bytes */
    const char *next;                     /* navigation: path+query, "" when absent; script: "" */
    const char *session;                  /* mod_session encoding, not empty */
    unsigned char nonce[SS_NONCE_BYTES];  /* the ticket id */
    unsigned char kid[SS_KID_BYTES];
} ss_ticket;

/* 1 when next is acceptable as a navigation target on the destination: empty,
 * or starting with a single '/' (not "//", not "/\"), only printable ASCII
 * 0x21-0x7e, no '\\', no '#'.  Shared by mint and open. */
int ss_next_valid(const char *next, size_t len);

/* 1 when session is acceptable as a ticket payload: not empty, printable
 * ASCII 0x21-0x7e only. */
int ss_session_valid(const char *session, size_t len);

/* Seals t for destination site id dst with key.  When nonce is NULL a random
 * nonce is drawn (and written to t->nonce); otherwise it is used as given
 * (test vectors).  t->kid is set from key.  *out is the ticket text, in p.
 * Returns APR_SUCCESS; APR_EINVAL when a field is invalid (src or dst empty,
 * > 255 bytes or not printable ASCII 0x21-0x7e, bad mode, next invalid or
 * given in script mode, session invalid); APR_ENOSPC when the ticket would
 * exceed SS_TICKET_MAX_CHARS. */
apr_status_t ss_ticket_seal(apr_pool_t *p, const ss_key *key, const char *dst,
                            ss_ticket *t, const unsigned char *nonce,
                            char **out);

/* One payload sealed for several destinations (the filter seals one ticket
 * per target site on every page): the fields are checked and the payload
 * built once, then each destination costs one AEAD and one encoding.
 *
 *   ss_ticket_batch_init: checks t as ss_ticket_seal does (APR_EINVAL,
 *     APR_ENOSPC) and sets t->kid; the payload (it holds the session) is
 *     allocated in p, and b->chars is the length of every ticket text of
 *     the batch (the destination is authenticated, not carried);
 *   ss_ticket_batch_seal: the ticket for dst with the given nonce into out,
 *     which holds b->chars + 1 bytes (NUL-terminated); APR_EINVAL for an
 *     invalid dst;
 *   ss_ticket_batch_clear: wipes the payload.
 * Every nonce must be fresh (a random draw per ticket). */
typedef struct ss_ticket_batch {
    const ss_key *key;
    unsigned char *pt;
    size_t ptlen;
    size_t chars;
} ss_ticket_batch;

apr_status_t ss_ticket_batch_init(apr_pool_t *p, ss_ticket_batch *b,
                                  const ss_key *key, ss_ticket *t);
apr_status_t ss_ticket_batch_seal(const ss_ticket_batch *b, const char *dst,
                                  const unsigned char *nonce, char *out);
void ss_ticket_batch_clear(ss_ticket_batch *b);

/* Opens a ticket for destination site id dst, at time now (Unix seconds),
 * accepting tickets at most timeout seconds old and SS_CLOCK_SKEW seconds
 * ahead.  Checks, cheapest first: length <= SS_TICKET_MAX_CHARS before any
 * decoding, base64url, minimum size (malformed); version and kid
 * (unknown-key); AEAD and payload structure (bad-ticket); age (expired,
 * future).  t is filled whenever the ticket authenticated (so also for
 * expired/future); otherwise it is zeroed.  Every authentication failure
 * gives the same SS_R_BAD_TICKET. */
ss_reason ss_ticket_open(apr_pool_t *p, const ss_keyring *kr, const char *dst,
                         const char *ticket, size_t len, int64_t now,
                         int timeout, ss_ticket *t);

#endif
