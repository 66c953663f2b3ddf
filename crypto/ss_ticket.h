/* Tickets: seal and open, with the rejection reasons that need no httpd.
 * Plain C on APR + libsodium.  The format is docs/PROTOCOL.md, "Ticket
 * format"; the checks are its "Opening a ticket: checks and reasons".
 *
 * A ticket is the base64url text, without padding, of T, which stores data
 * as follows (sizes in bytes; integers big-endian):
 *
 *   version 1:  0x01 | kid (4) | nonce (24)          | C
 *   version 2:  0x02 | kid (4) | S (16) | nonce (24) | C
 *
 *   C      XChaCha20-Poly1305-IETF (key EK, the nonce, AD) of P:
 *          the ciphertext and a 16-byte tag
 *   AD     version 1:  0x01 | kid | dst
 *          version 2:  0x02 | kid | dst | S
 *          dst is the destination's site id: a ticket opens only there
 *   S      version 2 only: BLAKE2b-16 (unkeyed) of the text of the state
 *          cookie the receiving browser holds (ss_state_digest); in clear so
 *          that the receiver finds that cookie, and bound by the AD
 *   P      iat (8, Unix seconds) | mode (1) | srclen (1) | src (1-255)
 *          | nextlen (2) | next (nextlen) | session (the rest, not empty)
 *   kid    the key's id (ss_keyring.h); the nonce is the ticket's id
 *
 * The mode byte is the flow plus one bit; no other bits are set:
 *
 *   0x01  script flow (the loader's <script>); next is empty
 *   0x02  navigation flow; next is a path and query on dst, or empty
 *   0x10  the session field holds cookie pairs, not mod_session entries
 *         (t->cookie_pairs); both are key=value pairs joined by '&', each
 *         side escaped as ap_escape_urlencoded does
 *
 * The (version, mode) pairs that open:
 *
 *   (1, 0x01) (1, 0x11)  script tickets
 *   (2, 0x02) (2, 0x12)  navigation tickets bound to S
 *   (1, 0x02) (1, 0x12)  navigation tickets bound to nothing: they open
 *                        (t->version 1) so that the receiver refuses them
 *                        with reason state, or takes them under
 *                        SharedSessionAcceptUnbound
 *   any other pair       malformed
 *
 * ss_ticket_open's reasons, in the order it finds them (cheapest first):
 *
 *   malformed    over SS_TICKET_MAX_CHARS (decided on the length alone),
 *                not strict base64url, shorter than the smallest ticket of
 *                its version
 *   unknown-key  a version other than 1 and 2, a kid not in the keyring
 *   bad-ticket   authentication fails (tampered, S altered or moved, another
 *                destination, another key with the same kid, the version
 *                byte changed): every such failure gives the same answer;
 *                or a field of P breaks its rules (src, next, session)
 *   malformed    an authenticated (version, mode) pair not in the table
 *   expired      older than the timeout
 *   future       more than SS_CLOCK_SKEW seconds ahead
 *
 * The receiving site finds the rest (lib/ss_reason.h).
 */
#ifndef SS_TICKET_H
#define SS_TICKET_H

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>
#include <apr_errno.h>
#include "ss_keyring.h"
#include "ss_reason.h"

#define SS_TICKET_VERSION    0x01  /* script tickets (and unbound navigation tickets) */
#define SS_TICKET_VERSION_2  0x02  /* navigation tickets bound to a state */
#define SS_STATE_BYTES       16    /* S: BLAKE2b-16 of the state cookie's text */
#define SS_STATE_CHARS       22    /* S in base64url, without padding */
#define SS_TICKET_MAX_CHARS  6000  /* checked before decoding */
#define SS_NONCE_BYTES       24
#define SS_TAG_BYTES         16
#define SS_CLOCK_SKEW        5     /* seconds a ticket may come "from the future" */
#define SS_SITE_ID_MAX       255

/* SharedSessionTimeout: a ticket's lifetime in seconds, its range and default. */
#define SS_TIMEOUT_MIN       1
#define SS_TIMEOUT_MAX       3600
#define SS_TIMEOUT_DEFAULT   30

/* The clear part before C: version || kid || nonce (version 1), with S
 * before the nonce in version 2. */
#define SS_TICKET_HEADER_BYTES   (1 + SS_KID_BYTES + SS_NONCE_BYTES)
#define SS_TICKET_HEADER_BYTES_2 (SS_TICKET_HEADER_BYTES + SS_STATE_BYTES)
/* The smallest ticket: header || (iat, mode, srclen, 1-byte src, nextlen,
 * session of 1 byte) || tag; version 2 adds S. */
#define SS_TICKET_MIN_BYTES   (SS_TICKET_HEADER_BYTES + 8 + 1 + 1 + 1 + 2 + 1 + SS_TAG_BYTES)
#define SS_TICKET_MIN_BYTES_2 (SS_TICKET_MIN_BYTES + SS_STATE_BYTES)

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
    unsigned char state[SS_STATE_BYTES];  /* version 2: S, the state binding; else zero */
    int64_t iat;                          /* Unix seconds */
    ss_mode mode;                         /* the flow */
    int cookie_pairs;                     /* 1: mode bit SS_MODE_COOKIE_PAIRS */
    const char *src;                      /* source site id, 1-255 bytes */
    const char *next;                     /* navigation: path+query, "" when absent; script: "" */
    const char *session;                  /* the session field, not empty */
    unsigned char nonce[SS_NONCE_BYTES];  /* the ticket id */
    unsigned char kid[SS_KID_BYTES];
} ss_ticket;

/* S for a state cookie: the unkeyed BLAKE2b digest, 16 bytes long, of the
 * cookie's whole text (len bytes). */
void ss_state_digest(const char *cookie_text, size_t len, unsigned char S[SS_STATE_BYTES]);

/* 1 when next is acceptable as a navigation target on the destination: empty,
 * or starting with a single '/' (not "//", not "/\"), only printable ASCII
 * 0x21-0x7e, no '\\', no '#'.  Shared by mint and open. */
int ss_next_valid(const char *next, size_t len);

/* 1 when session is acceptable as a ticket payload: not empty, printable
 * ASCII 0x21-0x7e only. */
int ss_session_valid(const char *session, size_t len);

/* Seals t for destination site id dst with key: version t->version (0 means
 * 1), mode byte t->mode plus SS_MODE_COOKIE_PAIRS when t->cookie_pairs, and
 * for version 2 the state t->state.  When nonce is NULL a random nonce is
 * drawn (and written to t->nonce); otherwise it is used as given (test
 * vectors).  t->kid is set from key.  *out is the ticket text, in p.
 * Returns APR_SUCCESS; APR_EINVAL when a field is invalid (src or dst empty,
 * > 255 bytes or not printable ASCII 0x21-0x7e, a version other than 0, 1
 * and 2, a mode other than script and navigation, version 2 with script,
 * next invalid or given in script mode, session invalid); APR_ENOSPC when
 * the ticket would exceed SS_TICKET_MAX_CHARS. */
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
    unsigned char version;                /* 1 or 2 */
    unsigned char state[SS_STATE_BYTES];  /* version 2 */
} ss_ticket_batch;

apr_status_t ss_ticket_batch_init(apr_pool_t *p, ss_ticket_batch *b,
                                  const ss_key *key, ss_ticket *t);
apr_status_t ss_ticket_batch_seal(const ss_ticket_batch *b, const char *dst,
                                  const unsigned char *nonce, char *out);
void ss_ticket_batch_clear(ss_ticket_batch *b);

/* The clear part of a ticket, without a key: the checks of ss_ticket_open
 * up to the version.  Fills t->version, t->kid, t->state (version 2) and
 * t->nonce and returns SS_OK; SS_R_MALFORMED (t zeroed) as ss_ticket_open;
 * SS_R_UNKNOWN_KEY for a version other than 1 and 2 (t zeroed but
 * t->version).  Nothing in it is authenticated yet. */
ss_reason ss_ticket_peek(const char *ticket, size_t len, ss_ticket *t);

/* Opens a ticket for destination site id dst, at time now (Unix seconds),
 * accepting tickets at most timeout seconds old and SS_CLOCK_SKEW seconds
 * ahead, with the checks and reasons of the block above.  t is filled
 * whenever the ticket authenticated and its (version, mode) pair is valid
 * (so also for expired/future): t->version, t->state, t->mode,
 * t->cookie_pairs and the rest; otherwise it is zeroed.  A version-1
 * navigation ticket opens with t->version 1: refusing it (reason state) is
 * the receiver's call. */
ss_reason ss_ticket_open(apr_pool_t *p, const ss_keyring *kr, const char *dst,
                         const char *ticket, size_t len, int64_t now,
                         int timeout, ss_ticket *t);

#endif
