/* Opening tickets, crypto/ss_ticket.h: the input is the ticket text, as the
 * handler gets it from the URL.  The corpus is seeded with valid tickets for
 * this target's keys (the test-vector key of docs/PROTOCOL.md), so that libFuzzer's
 * mutations are edits of real tickets: bit flips in the header, nonce,
 * ciphertext and tag, truncations, insertions, re-encodings.
 *
 * Properties:
 *  - a ticket that authenticates (SS_OK, expired, future) is exactly what
 *    ss_ticket_seal writes for its fields and nonce: no second encoding of a
 *    ticket opens (no malleability, strict base64url);
 *  - its fields are valid (src a site id, next ss_next_valid and empty in
 *    script mode, session printable) and the age verdict matches iat;
 *  - the same text never opens for another destination, nor with a keyring
 *    that lacks its key; a rejected ticket leaves t zeroed;
 *  - over SS_TICKET_MAX_CHARS is malformed whatever it holds. */
#include <string.h>

#include "fuzz.h"
#include "ss_keyring.h"
#include "ss_ticket.h"

const char fuzz_target_name[] = "ticket";

#define NOW      INT64_C(1700000000)
#define TIMEOUT  30
#define DST      "www.example.org"
#define OTHER    "www.example.com"

static ss_keyring *ring, *other_ring;

static void setup(void)
{
    apr_pool_t *g = fuzz_global_pool();
    unsigned char master[SS_MASTER_KEY_BYTES];
    ss_key k;
    int i;

    ring = ss_keyring_make(g);
    other_ring = ss_keyring_make(g);
    for (i = 0; i < SS_MASTER_KEY_BYTES; i++) {
        master[i] = (unsigned char)i;           /* docs/PROTOCOL.md test-vector key */
    }
    ss_key_derive(&k, master);
    ss_keyring_add(ring, g, &k);
    for (i = 0; i < SS_MASTER_KEY_BYTES; i++) {
        master[i] = (unsigned char)(0xa0 + i);  /* a second, rotated-in key */
    }
    ss_key_derive(&k, master);
    ss_keyring_add(ring, g, &k);
    for (i = 0; i < SS_MASTER_KEY_BYTES; i++) {
        master[i] = (unsigned char)(0x55 ^ i);  /* a key of some other site */
    }
    ss_key_derive(&k, master);
    ss_keyring_add(other_ring, g, &k);
}

static int zeroed(const ss_ticket *t)
{
    static const ss_ticket zero;

    return memcmp(t, &zero, sizeof(zero)) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    char *text, *again = NULL;
    ss_ticket t, t2, copy;
    ss_reason r, r2;
    const ss_key *key;

    if (!ring) {
        setup();
    }
    p = fuzz_input_pool();
    text = fuzz_strndup(data, size);

    r = ss_ticket_open(p, ring, DST, text, size, NOW, TIMEOUT, &t);
    FUZZ_CHECK(strcmp(ss_reason_name(r), "?") != 0);
    FUZZ_CHECK(r == SS_OK || r == SS_R_MALFORMED || r == SS_R_UNKNOWN_KEY
               || r == SS_R_BAD_TICKET || r == SS_R_EXPIRED || r == SS_R_FUTURE);
    if (size > SS_TICKET_MAX_CHARS) {
        FUZZ_CHECK(r == SS_R_MALFORMED);
    }
    if (r == SS_OK || r == SS_R_EXPIRED || r == SS_R_FUTURE) {
        FUZZ_CHECK(t.src && *t.src && strlen(t.src) <= SS_SITE_ID_MAX);
        FUZZ_CHECK(t.next && ss_next_valid(t.next, strlen(t.next)));
        FUZZ_CHECK(t.session && ss_session_valid(t.session, strlen(t.session)));
        FUZZ_CHECK(t.mode == SS_MODE_SCRIPT || t.mode == SS_MODE_NAVIGATION);
        FUZZ_CHECK(t.mode == SS_MODE_NAVIGATION || !*t.next);
        if (r == SS_OK) {
            FUZZ_CHECK(t.iat >= NOW - TIMEOUT && t.iat <= NOW + SS_CLOCK_SKEW);
        }
        else if (r == SS_R_EXPIRED) {
            FUZZ_CHECK(t.iat < NOW - TIMEOUT);
        }
        else {
            FUZZ_CHECK(t.iat > NOW + SS_CLOCK_SKEW);
        }
        /* sealing the fields again with the same nonce gives this very text */
        key = ss_keyring_find(ring, t.kid);
        FUZZ_CHECK(key != NULL);
        copy = t;
        FUZZ_CHECK(ss_ticket_seal(p, key, DST, &copy, t.nonce, &again) == APR_SUCCESS);
        FUZZ_CHECK(strlen(again) == size && memcmp(again, text, size) == 0);
        /* bound to its destination and to its key */
        r2 = ss_ticket_open(p, ring, OTHER, text, size, NOW, TIMEOUT, &t2);
        FUZZ_CHECK(r2 == SS_R_BAD_TICKET && zeroed(&t2));
        r2 = ss_ticket_open(p, other_ring, DST, text, size, NOW, TIMEOUT, &t2);
        FUZZ_CHECK(r2 == SS_R_UNKNOWN_KEY && zeroed(&t2));
    }
    else {
        FUZZ_CHECK(zeroed(&t));
    }
    /* no keyring, no destination: refused without a crash */
    r2 = ss_ticket_open(p, NULL, DST, text, size, NOW, TIMEOUT, &t2);
    FUZZ_CHECK(r2 == SS_R_MALFORMED || r2 == SS_R_UNKNOWN_KEY);
    r2 = ss_ticket_open(p, ring, NULL, text, size, NOW, TIMEOUT, &t2);
    FUZZ_CHECK(r2 != SS_OK && r2 != SS_R_EXPIRED && r2 != SS_R_FUTURE);
    fuzz_input_done();
    return 0;
}
