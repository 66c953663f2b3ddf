/* The payload parser behind ss_ticket_open, reached with arbitrary
 * plaintext: the target seals the input's bytes itself (XChaCha20-Poly1305
 * with this target's key, docs/PROTOCOL.md, "Ticket format"), so every
 * input authenticates and the parser sees exactly the fuzzer's bytes.  A
 * forger who had the key could send these; a site that shares the key but
 * runs other code could mint them.
 *
 * Input: byte 0 picks the destination (bit 0), whether the ticket is
 * sealed with the second key of the ring (bit 1), and version 2 (bit 2:
 * S after the kid and at the end of the AD, S = the state vector's);
 * the rest is the plaintext P = iat(8) || mode(1) || srclen(1) || src ||
 * nextlen(2) || next || session.
 *
 * Properties: ss_ticket_open agrees with a reference parser written from
 * the protocol document (accept/reject and the reason: field rules
 * bad-ticket, then the (version, mode) pair malformed; every field, the
 * version, S, the flow and the cookie-pairs bit; the age verdict, computed
 * here without overflow); an accepted ticket re-seals to the same text. */
#include <string.h>
#include <sodium.h>

#include "fuzz.h"
#include "ss_base64.h"
#include "ss_keyring.h"
#include "ss_ticket.h"

const char fuzz_target_name[] = "ticket_payload";

#define NOW      INT64_C(1700000000)
#define TIMEOUT  30
#define HEADER_2 (1 + SS_KID_BYTES + SS_STATE_BYTES + SS_NONCE_BYTES)
#define RAW_MAX  (HEADER_2 + 8192 + SS_TAG_BYTES)

static const char *const dsts[] = { "www.example.org", "b.test:8443" };
static ss_keyring *ring;
static ss_key keys[2];

static void setup(void)
{
    apr_pool_t *g = fuzz_global_pool();
    unsigned char master[SS_MASTER_KEY_BYTES];
    int i;

    ring = ss_keyring_make(g);
    for (i = 0; i < SS_MASTER_KEY_BYTES; i++) {
        master[i] = (unsigned char)i;
    }
    ss_key_derive(&keys[0], master);
    for (i = 0; i < SS_MASTER_KEY_BYTES; i++) {
        master[i] = (unsigned char)(0xa0 + i);
    }
    ss_key_derive(&keys[1], master);
    ss_keyring_add(ring, g, &keys[0]);
    ss_keyring_add(ring, g, &keys[1]);
}

static int printable(const uint8_t *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] < 0x21 || s[i] > 0x7e) {
            return 0;
        }
    }
    return 1;
}

/* The protocol document's "Ticket format", read independently of
 * ss_ticket.c. */
typedef struct ref_payload {
    int64_t iat;
    int mode;
    const uint8_t *src, *next, *session;
    size_t srclen, nextlen, sesslen;
} ref_payload;

static int ref_next_valid(const uint8_t *s, size_t n)
{
    if (n == 0) {
        return 1;
    }
    if (s[0] != '/' || (n > 1 && (s[1] == '/' || s[1] == '\\'))) {
        return 0;
    }
    return printable(s, n) && !memchr(s, '\\', n) && !memchr(s, '#', n);
}

/* 1: the payload opens; 0: a field breaks its rules (bad-ticket); -1: the
 * fields are good but (version, mode) is not a pair that opens
 * (malformed). */
static int ref_parse(int version, const uint8_t *pt, size_t n, ref_payload *out)
{
    uint64_t iat = 0;
    size_t pos, i;

    if (n < 8 + 1 + 1) {
        return 0;
    }
    for (i = 0; i < 8; i++) {
        iat = (iat << 8) | pt[i];
    }
    out->iat = (int64_t)iat;
    out->mode = pt[8];
    out->srclen = pt[9];
    pos = 10;
    if (out->srclen < 1 || n - pos < out->srclen || !printable(pt + pos, out->srclen)) {
        return 0;
    }
    out->src = pt + pos;
    pos += out->srclen;
    if (n - pos < 2) {
        return 0;
    }
    out->nextlen = ((size_t)pt[pos] << 8) | pt[pos + 1];
    pos += 2;
    if (n - pos < out->nextlen || ((out->mode & 0x0f) == 1 && out->nextlen)
        || !ref_next_valid(pt + pos, out->nextlen)) {
        return 0;
    }
    out->next = pt + pos;
    pos += out->nextlen;
    out->session = pt + pos;
    out->sesslen = n - pos;
    if (out->sesslen == 0 || !printable(out->session, out->sesslen)) {
        return 0;
    }
    if (version == 1) {
        return out->mode == 0x01 || out->mode == 0x11 || out->mode == 0x02
               || out->mode == 0x12 ? 1 : -1;
    }
    return out->mode == 0x02 || out->mode == 0x12 ? 1 : -1;
}

static int same(const char *s, const uint8_t *ref, size_t n)
{
    return s && strlen(s) == n && (n == 0 || memcmp(s, ref, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned char raw[RAW_MAX];
    static const unsigned char nonce[SS_NONCE_BYTES] = {
        0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b,
        0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77
    };
    /* S of the state vector: BLAKE2b-16 of "wMHCw8TFxsfIycrLzM3Ozw" */
    static const unsigned char state[SS_STATE_BYTES] = {
        0xb5, 0xc7, 0x7f, 0xb1, 0x74, 0x59, 0x33, 0x8c,
        0xd2, 0xea, 0xb9, 0xf0, 0x9d, 0x34, 0x48, 0x0e
    };
    static const unsigned char zero_state[SS_STATE_BYTES];
    unsigned char ad[1 + SS_KID_BYTES + 64 + SS_STATE_BYTES];
    int version;
    size_t header, min_bytes;
    const uint8_t *pt;
    const ss_key *key;
    const char *dst;
    size_t ptlen, rawlen, adlen, dstlen, textlen;
    char *text, *again = NULL;
    ss_ticket t, copy;
    ss_reason r, want;
    ref_payload ref;
    apr_pool_t *p;
    __int128 diff;
    int parsed;

    if (!ring) {
        setup();
    }
    if (size < 1 || size - 1 > 8192) {
        return 0;
    }
    memset(&ref, 0, sizeof(ref));
    p = fuzz_input_pool();
    dst = dsts[data[0] & 1];
    key = &keys[(data[0] >> 1) & 1];
    version = (data[0] & 4) ? 2 : 1;
    pt = data + 1;
    ptlen = size - 1;

    /* version 1: T = 0x01 || kid || nonce || AEAD(P, AD = 0x01 || kid || dst)
     * version 2: T = 0x02 || kid || S || nonce || AEAD(P, AD = 0x02 || kid || dst || S) */
    dstlen = strlen(dst);
    header = 1 + SS_KID_BYTES + (version == 2 ? SS_STATE_BYTES : 0) + SS_NONCE_BYTES;
    min_bytes = 1 + SS_KID_BYTES + (version == 2 ? SS_STATE_BYTES : 0) + SS_NONCE_BYTES
                + 8 + 1 + 1 + 1 + 2 + 1 + SS_TAG_BYTES;
    raw[0] = (unsigned char)version;
    memcpy(raw + 1, key->kid, SS_KID_BYTES);
    if (version == 2) {
        memcpy(raw + 1 + SS_KID_BYTES, state, SS_STATE_BYTES);
    }
    memcpy(raw + header - SS_NONCE_BYTES, nonce, SS_NONCE_BYTES);
    ad[0] = (unsigned char)version;
    memcpy(ad + 1, key->kid, SS_KID_BYTES);
    memcpy(ad + 1 + SS_KID_BYTES, dst, dstlen);
    adlen = 1 + SS_KID_BYTES + dstlen;
    if (version == 2) {
        memcpy(ad + adlen, state, SS_STATE_BYTES);
        adlen += SS_STATE_BYTES;
    }
    crypto_aead_xchacha20poly1305_ietf_encrypt(raw + header, NULL, pt, ptlen, ad, adlen,
                                               NULL, nonce, key->ek);
    rawlen = header + ptlen + SS_TAG_BYTES;
    textlen = SS_B64URL_LEN(rawlen);
    text = apr_palloc(p, textlen + 1);
    FUZZ_CHECK(ss_b64url_encode(text, textlen + 1, raw, rawlen) == textlen);

    r = ss_ticket_open(p, ring, dst, text, textlen, NOW, TIMEOUT, &t);

    if (textlen > SS_TICKET_MAX_CHARS || rawlen < min_bytes) {
        want = SS_R_MALFORMED;
    }
    else if ((parsed = ref_parse(version, pt, ptlen, &ref)) != 1) {
        want = parsed == 0 ? SS_R_BAD_TICKET : SS_R_MALFORMED;
    }
    else {
        diff = (__int128)NOW - (__int128)ref.iat;   /* the age, exactly */
        want = diff > TIMEOUT ? SS_R_EXPIRED
             : -diff > SS_CLOCK_SKEW ? SS_R_FUTURE : SS_OK;
    }
    FUZZ_CHECK(r == want);
    if (r == SS_OK || r == SS_R_EXPIRED || r == SS_R_FUTURE) {
        FUZZ_CHECK(t.iat == ref.iat && (int)t.mode == (ref.mode & 0x0f));
        FUZZ_CHECK(t.cookie_pairs == ((ref.mode & 0x10) != 0) && t.version == version);
        FUZZ_CHECK(memcmp(t.state, version == 2 ? state : zero_state, SS_STATE_BYTES) == 0);
        FUZZ_CHECK(same(t.src, ref.src, ref.srclen));
        FUZZ_CHECK(same(t.next, ref.next, ref.nextlen));
        FUZZ_CHECK(same(t.session, ref.session, ref.sesslen));
        FUZZ_CHECK(memcmp(t.nonce, nonce, SS_NONCE_BYTES) == 0);
        FUZZ_CHECK(memcmp(t.kid, key->kid, SS_KID_BYTES) == 0);
        copy = t;
        FUZZ_CHECK(ss_ticket_seal(p, key, dst, &copy, nonce, &again) == APR_SUCCESS);
        FUZZ_CHECK(strcmp(again, text) == 0);
    }
    else {
        static const ss_ticket zero;

        FUZZ_CHECK(memcmp(&t, &zero, sizeof(t)) == 0);
    }
    fuzz_input_done();
    return 0;
}
