/* Opening tickets, crypto/ss_ticket.h: the input is the ticket text, as the
 * handler gets it from the URL.  The corpus is seeded with valid tickets of
 * both versions, every mode byte pair and both payload kinds for this
 * target's keys (the test-vector key of docs/PROTOCOL.md), so that
 * libFuzzer's mutations are edits of real tickets: bit flips in the header,
 * S, nonce, ciphertext and tag, truncations, insertions, re-encodings.
 *
 * Properties:
 *  - a ticket that authenticates (SS_OK, expired, future) is exactly what
 *    ss_ticket_seal writes for its fields, version, S and nonce: no second
 *    encoding of a ticket opens (no malleability, strict base64url);
 *  - its fields are valid (src a site id, next ss_next_valid and empty in
 *    script mode, session printable), its (version, mode) pair is one of
 *    the table (version 2 only navigation; S zero in version 1), and the
 *    age verdict matches iat;
 *  - the same text never opens for another destination, nor with a keyring
 *    that lacks its key; with its version byte turned into the other
 *    version, or one bit of S flipped, it is bad-ticket (or malformed when
 *    too short for version 2); a rejected ticket leaves t zeroed;
 *  - ss_ticket_peek reads the same clear header as ss_ticket_open, and
 *    fails exactly where open fails before a key is looked up;
 *  - over SS_TICKET_MAX_CHARS is malformed whatever it holds. */
#include <string.h>

#include "fuzz.h"
#include "ss_base64.h"
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
        master[i] = (unsigned char)i;           /* the test-vector key */
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

static int authenticated(ss_reason r)
{
    return r == SS_OK || r == SS_R_EXPIRED || r == SS_R_FUTURE;
}

/* The text with raw byte at changed by x (decoded, changed, encoded). */
static char *with_byte(apr_pool_t *p, const char *text, size_t size, size_t at,
                       unsigned char x, size_t *outlen)
{
    static unsigned char raw[SS_B64_DECODED_MAX(SS_TICKET_MAX_CHARS)];
    size_t n = 0;
    char *out;

    FUZZ_CHECK(ss_b64_decode(SS_B64_URL_NOPAD, raw, sizeof(raw), &n, text, size) == 0);
    FUZZ_CHECK(at < n);
    raw[at] ^= x;
    *outlen = SS_B64URL_LEN(n);
    out = apr_palloc(p, *outlen + 1);
    FUZZ_CHECK(ss_b64url_encode(out, *outlen + 1, raw, n) == *outlen);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    char *text, *again = NULL, *changed;
    ss_ticket t, t2, copy, h;
    ss_reason r, r2, rh;
    const ss_key *key;
    size_t changed_len;

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

    /* the clear header, without a key: what open read before the key */
    memset(&h, 0xa5, sizeof(h));
    rh = ss_ticket_peek(text, size, &h);
    FUZZ_CHECK(rh == SS_OK || rh == SS_R_MALFORMED || rh == SS_R_UNKNOWN_KEY);
    if (rh == SS_R_MALFORMED) {
        FUZZ_CHECK(r == SS_R_MALFORMED && zeroed(&h));
    }
    else if (rh == SS_R_UNKNOWN_KEY) {
        FUZZ_CHECK(r == SS_R_UNKNOWN_KEY);
        FUZZ_CHECK(h.version != SS_TICKET_VERSION && h.version != SS_TICKET_VERSION_2);
        h.version = 0;
        FUZZ_CHECK(zeroed(&h));
    }
    else {
        FUZZ_CHECK(h.version == SS_TICKET_VERSION || h.version == SS_TICKET_VERSION_2);
        FUZZ_CHECK(!h.src && !h.next && !h.session && h.iat == 0);
        if (h.version == SS_TICKET_VERSION) {
            static const unsigned char zero_state[SS_STATE_BYTES];

            FUZZ_CHECK(memcmp(h.state, zero_state, SS_STATE_BYTES) == 0);
        }
        /* unknown-key now only for a kid not in the ring */
        FUZZ_CHECK(r != SS_R_UNKNOWN_KEY || !ss_keyring_find(ring, h.kid));
    }

    if (authenticated(r)) {
        FUZZ_CHECK(rh == SS_OK && t.version == h.version);
        FUZZ_CHECK(memcmp(t.kid, h.kid, SS_KID_BYTES) == 0);
        FUZZ_CHECK(memcmp(t.state, h.state, SS_STATE_BYTES) == 0);
        FUZZ_CHECK(memcmp(t.nonce, h.nonce, SS_NONCE_BYTES) == 0);
        FUZZ_CHECK(t.src && *t.src && strlen(t.src) <= SS_SITE_ID_MAX);
        FUZZ_CHECK(t.next && ss_next_valid(t.next, strlen(t.next)));
        FUZZ_CHECK(t.session && ss_session_valid(t.session, strlen(t.session)));
        FUZZ_CHECK(t.mode == SS_MODE_SCRIPT || t.mode == SS_MODE_NAVIGATION);
        FUZZ_CHECK(t.mode == SS_MODE_NAVIGATION || !*t.next);
        FUZZ_CHECK(t.cookie_pairs == 0 || t.cookie_pairs == 1);
        /* version 2 is navigation only */
        FUZZ_CHECK(t.version == SS_TICKET_VERSION || t.mode == SS_MODE_NAVIGATION);
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
        /* the version byte is authenticated: 1 <-> 2 does not open */
        changed = with_byte(p, text, size, 0, SS_TICKET_VERSION ^ SS_TICKET_VERSION_2,
                            &changed_len);
        r2 = ss_ticket_open(p, ring, DST, changed, changed_len, NOW, TIMEOUT, &t2);
        FUZZ_CHECK((r2 == SS_R_BAD_TICKET || r2 == SS_R_MALFORMED) && zeroed(&t2));
        /* so is S: one bit of it, chosen by the nonce */
        if (t.version == SS_TICKET_VERSION_2) {
            changed = with_byte(p, text, size, 1 + SS_KID_BYTES + t.nonce[0] % SS_STATE_BYTES,
                                (unsigned char)(1u << (t.nonce[1] % 8)), &changed_len);
            r2 = ss_ticket_open(p, ring, DST, changed, changed_len, NOW, TIMEOUT, &t2);
            FUZZ_CHECK(r2 == SS_R_BAD_TICKET && zeroed(&t2));
        }
    }
    else {
        FUZZ_CHECK(zeroed(&t));
    }
    /* no keyring, no destination: refused without a crash */
    r2 = ss_ticket_open(p, NULL, DST, text, size, NOW, TIMEOUT, &t2);
    FUZZ_CHECK(r2 == (rh == SS_OK ? SS_R_UNKNOWN_KEY : rh));
    r2 = ss_ticket_open(p, ring, NULL, text, size, NOW, TIMEOUT, &t2);
    FUZZ_CHECK(r2 != SS_OK && r2 != SS_R_EXPIRED && r2 != SS_R_FUTURE);
    fuzz_input_done();
    return 0;
}
