/* Generations: which of two copies of a session is the newer one
 * (docs/PROTOCOL.md, "Generations").  Plain C on APR + libsodium, no httpd.
 *
 * Every session the module has seen carries the entry
 *
 *   shared-session-gen = T.D
 *
 *   T  the time of the session's last change, Unix microseconds, decimal
 *   D  32 lower-case hex digits: BLAKE2b-16 keyed with GK (ss_key.gk) over
 *      T's decimal text, 0x00, then the session's other entries (never
 *      "expiry", the SharedSessionLocal keys or this entry itself),
 *      decoded, sorted by key bytes, each as key 0x00 value 0x00
 *
 * D authenticates T: without a key nobody makes a generation, and a
 * generation moved to other entries does not verify.  The same digest
 * serves mod_session entries and application cookies (name, value). */
#ifndef SS_GEN_H
#define SS_GEN_H

#include <stddef.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include "ss_keyring.h"

#define SS_GEN_ENTRY        "shared-session-gen"
#define SS_GEN_DIGEST_BYTES 16
#define SS_GEN_TEXT_MAX     (20 + 1 + 2 * SS_GEN_DIGEST_BYTES + 1)  /* with its NUL */
#define SS_GEN_SKEW_US      ((apr_uint64_t)5 * 1000000)  /* how far ahead a T may be */
/* What a ticket's generation is measured against: the end of the second of
 * its iat (whole seconds), so that a T stamped during that second is not
 * counted ahead */
#define SS_GEN_TICKET_LIMIT_US(iat) ((apr_uint64_t)((iat) + 1) * 1000000)

/* A generation; t == 0 means none (absent, forged, or too far ahead):
 * older than every generation. */
typedef struct ss_gen {
    apr_uint64_t t;
    unsigned char d[SS_GEN_DIGEST_BYTES];
} ss_gen;

/* One entry the digest covers: decoded key and value, NUL-terminated. */
typedef struct ss_gen_pair {
    const char *key;
    const char *val;
} ss_gen_pair;

/* The entries of a session that its digest covers: every entry with a
 * non-empty key and value except "expiry", SS_GEN_ENTRY and the keys
 * listed in local (an array of const char *, or NULL).  *n is their
 * number; the array is allocated in p (never NULL). */
ss_gen_pair *ss_gen_pairs(apr_pool_t *p, const apr_table_t *entries,
                          const apr_array_header_t *local, size_t *n);

/* D of (t, pairs) under gk.  Sorts pairs in place by key bytes. */
void ss_gen_digest(unsigned char d[SS_GEN_DIGEST_BYTES],
                   const unsigned char gk[SS_GK_BYTES], apr_uint64_t t,
                   ss_gen_pair *pairs, size_t n);

/* Parses "T.D" (T: 1-20 digits, no leading zero, not above 2^64-1; D: 32
 * lower-case hex digits, nothing after).  Returns 1, or 0 with *g zeroed. */
int ss_gen_parse(const char *text, ss_gen *g);

/* "T.D" into out (SS_GEN_TEXT_MAX bytes). */
void ss_gen_format(const ss_gen *g, char out[SS_GEN_TEXT_MAX]);

/* 1 when g's D is the digest of (g->t, pairs) under some key of kr (each
 * compared in constant time), else 0; 0 for t == 0.  Sorts pairs. */
int ss_gen_verify(const ss_gen *g, const ss_keyring *kr, ss_gen_pair *pairs, size_t n);

/* The generation that counts: g when it verifies and its T is at most
 * SS_GEN_SKEW_US after limit_us, else none (t = 0).  limit_us is now for a
 * loaded session, the ticket's iat for a ticket's session. */
ss_gen ss_gen_trusted(const ss_gen *g, const ss_keyring *kr, ss_gen_pair *pairs,
                      size_t n, apr_uint64_t limit_us);

/* The generation that counts of a session's (or a ticket's) entries: the
 * SS_GEN_ENTRY value, when it parses, verifies against the other entries
 * (ss_gen_pairs with local) and is at most SS_GEN_SKEW_US after limit_us;
 * t == 0 otherwise. */
ss_gen ss_gen_of_entries(apr_pool_t *p, const apr_table_t *entries,
                         const apr_array_header_t *local, const ss_keyring *kr,
                         apr_uint64_t limit_us);

/* A new generation for pairs after a change: T = max(now_us, loaded->t + 1)
 * (loaded: the trusted generation the session was loaded with, t == 0 for
 * none), D under the sealing key. */
void ss_gen_stamp(ss_gen *out, const ss_key *sealer, apr_uint64_t now_us,
                  const ss_gen *loaded, ss_gen_pair *pairs, size_t n);

/* < 0, 0, > 0 as a is older than, as old as, newer than b: greater T is
 * newer; equal T, greater D; none (t == 0) is older than any. */
int ss_gen_compare(const ss_gen *a, const ss_gen *b);

/* SharedSessionReplace */
typedef enum {
    SS_REPLACE_NEWER = 0,   /* the default */
    SS_REPLACE_EMPTY,
    SS_REPLACE_ALWAYS
} ss_replace_mode;

/* Whether a valid ticket replaces the receiver's session.  dst_entries:
 * how many entries of the receiver's session count (ss_gen_pairs), dst its
 * generation.  An empty receiver (no entries, no generation) takes any
 * ticket; "always" every time; "newer" when the ticket's trusted
 * generation is newer than the receiver's; "empty" never over entries,
 * and over a tombstone (a logout: no entries, a generation) only a newer
 * generation, so that a site that logged out takes the next login. */
int ss_replace_wins(ss_replace_mode mode, size_t dst_entries, const ss_gen *dst,
                    const ss_gen *ticket);

#endif
