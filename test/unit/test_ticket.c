/* Unit tests of crypto/ss_ticket.c: the test vectors of docs/PROTOCOL.md,
 * "Test vectors" (each written out as it stands there), round trips,
 * tampering, key rotation, every (version, mode) pair, the state binding of
 * version 2, every rejection reason and its order, time boundaries, and the
 * validation of the fields. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>
#include <sodium.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "ss_base64.h"
#include "ss_session_codec.h"
#include "ss_ticket.h"

#define IAT  INT64_C(1700000000)
#define SRC  "www.example.com"
#define DST  "www.example.org"
/* K as its key file holds it, and the EK derived from it */
#define VECTOR_KEY_TEXT "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define VECTOR_EK_HEX   "4212ed6960ba9e06198e476ea761b65ff5d868434e02468c27699c497fba7a28"
#define VECTOR_KID_HEX  "053f2538"
/* version 1, mode 0x01: nonce 0x40..0x57, session "user=alice&role=admin" */
#define VECTOR_SCRIPT "AQU_JThAQUJDREVGR0hJSktMTU5PUFFSU1RVVleL878_4h9a8dslt4GwWl4x6P70EhgJ-Uive7IZPpsiEbyeogPbXY-Ptw10WBXzl1fD9Gf79eRIH5EqqOSpWiht"
/* version 1, mode 0x02: nonce 0x60..0x77, next "/account?tab=1", session "user=alice" */
#define VECTOR_NAV    "AQU_JThgYWJjZGVmZ2hpamtsbW5vcHFyc3R1dncEe33jF93MNC5iOZIsSGLh0gbuaTnNzzjIliCe5oHH8Wn9hZsC-8zDhhv4UAXu2orlXDsRhkQqQ9P2iNrWvNqweaQ2"
/* version 1, mode 0x11: nonce 0x80..0x97, cookie pairs "sessionid=q8x1v0k2m9" */
#define VECTOR_COOKIE "AQU_JTiAgYKDhIWGh4iJiouMjY6PkJGSk5SVlpfP-JluMMUmqwvd_uHuBVEHZObgySfhJ8iNuQB_Cy6BhGq1jG9SYpnD1vKHAVVS9jLcDb1cnxnl5NGs3JU34e8"
/* the state cookie's text (bytes 0xc0..0xcf), its S, and S in hex */
#define VECTOR_STATE_COOKIE "wMHCw8TFxsfIycrLzM3Ozw"
#define VECTOR_STATE_S      "tcd_sXRZM4zS6rnwnTRIDg"
#define VECTOR_STATE_S_HEX  "b5c77fb17459338cd2eab9f09d34480e"
#define VECTOR_STATE_NAME   "__Host-ssst-tcd_sXRZ"
/* version 2, mode 0x02, S above: nonce 0xa0..0xb7, next "/account?tab=1" */
#define VECTOR_V2_SESSION "user=alice&shared-session-gen=1700000000000000.12bd781d654d51fcccdabde465496463"
#define VECTOR_V2     "AgU_JTi1x3-xdFkzjNLqufCdNEgOoKGio6SlpqeoqaqrrK2ur7CxsrO0tba3wAf175Rti-qetDl0ZUthck6pUMajqO5c53VH5-GF7LVgZ4Zw66I4X58FaqFb8AOBk1Lx8aWPs9ZF9tLvYzsk_vwjF-T_xcrT-DSoi8zLCYO6GwRZcSYBb2s316Vi7yLRbSSG49PvsEed_8bH_0heXdIBcIqba-FNw7FNe8f0O-4PH00gyjdQXQ"
/* a cookie value as the session field carries it */
#define VECTOR_FIELD_VALUE "a+b/c=%2F"
#define VECTOR_FIELD  "sid=a%2bb%2fc%3d%252F"

static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const unsigned char vector_kid[SS_KID_BYTES] = { 0x05, 0x3f, 0x25, 0x38 };

typedef struct fixture {
    apr_pool_t *pool;
    ss_key key;          /* K = 0x00..0x1f */
    ss_key other;        /* K = 0x20..0x3f */
    ss_keyring *kr;      /* holds key only */
} fixture;

static ss_key key_from(unsigned char first)
{
    unsigned char master[SS_MASTER_KEY_BYTES];
    ss_key key;
    int i;

    for (i = 0; i < SS_MASTER_KEY_BYTES; i++) {
        master[i] = (unsigned char)(first + i);
    }
    ss_key_derive(&key, master);
    return key;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));

    if (!f || apr_pool_create(&f->pool, NULL) != APR_SUCCESS) {
        return -1;
    }
    f->key = key_from(0x00);
    f->other = key_from(0x20);
    f->kr = ss_keyring_make(f->pool);
    if (ss_keyring_add(f->kr, f->pool, &f->key) != APR_SUCCESS) {
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    apr_pool_destroy(f->pool);
    free(f);
    return 0;
}

static int is_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;

    for (i = 0; i < n; i++) {
        if (b[i]) {
            return 0;
        }
    }
    return 1;
}

static void nonce_from(unsigned char nonce[SS_NONCE_BYTES], unsigned char first)
{
    int i;

    for (i = 0; i < SS_NONCE_BYTES; i++) {
        nonce[i] = (unsigned char)(first + i);
    }
}

static ss_ticket make_ticket(ss_mode mode, const char *src, const char *next,
                             const char *session)
{
    ss_ticket t;

    memset(&t, 0, sizeof(t));
    t.iat = IAT;
    t.mode = mode;
    t.src = src;
    t.next = next;
    t.session = session;
    return t;
}

/* Opens text (NUL-terminated) for DST at IAT with timeout 30. */
static ss_reason open_text(fixture *f, const ss_keyring *kr, const char *text, ss_ticket *t)
{
    return ss_ticket_open(f->pool, kr, DST, text, strlen(text), IAT, 30, t);
}

/* Opens and expects a rejection with t zeroed; returns the reason. */
static ss_reason open_bad(fixture *f, const char *text, size_t len)
{
    ss_ticket t;
    ss_reason r;

    memset(&t, 0xa5, sizeof(t));
    r = ss_ticket_open(f->pool, f->kr, DST, text, len, IAT, 30, &t);
    assert_int_not_equal(r, SS_OK);
    assert_true(is_zero(&t, sizeof(t)));
    return r;
}

/* A ticket made by hand with the AEAD of the ticket format: any version
 * byte, kid and payload.  With state NULL the layout is version 1's (AD =
 * version || kid || dst); with a state, version 2's (S after the kid, AD =
 * version || kid || dst || S). */
static char *craft_as(fixture *f, unsigned char version, const unsigned char *state,
                      const ss_key *key, const unsigned char *pt, size_t ptlen)
{
    unsigned char raw[8192], ad[1 + SS_KID_BYTES + sizeof(DST) - 1 + SS_STATE_BYTES];
    size_t hdr = state ? SS_TICKET_HEADER_BYTES_2 : SS_TICKET_HEADER_BYTES;
    size_t rawlen = hdr + ptlen + SS_TAG_BYTES, adlen = 0;
    char *text = apr_palloc(f->pool, SS_B64URL_LEN(rawlen) + 1);

    assert_true(rawlen <= sizeof(raw));
    raw[0] = version;
    memcpy(raw + 1, key->kid, SS_KID_BYTES);
    if (state) {
        memcpy(raw + 1 + SS_KID_BYTES, state, SS_STATE_BYTES);
    }
    randombytes_buf(raw + hdr - SS_NONCE_BYTES, SS_NONCE_BYTES);
    ad[adlen++] = version;
    memcpy(ad + adlen, key->kid, SS_KID_BYTES);
    adlen += SS_KID_BYTES;
    memcpy(ad + adlen, DST, sizeof(DST) - 1);
    adlen += sizeof(DST) - 1;
    if (state) {
        memcpy(ad + adlen, state, SS_STATE_BYTES);
        adlen += SS_STATE_BYTES;
    }
    crypto_aead_xchacha20poly1305_ietf_encrypt(raw + hdr, NULL, pt, ptlen, ad, adlen, NULL,
                                               raw + hdr - SS_NONCE_BYTES, key->ek);
    ss_b64url_encode(text, SS_B64URL_LEN(rawlen) + 1, raw, rawlen);
    return text;
}

static char *craft(fixture *f, unsigned char version, const ss_key *key,
                   const unsigned char *pt, size_t ptlen)
{
    return craft_as(f, version, NULL, key, pt, ptlen);
}

/* The bytes of a ticket text (strict base64url); returns their number. */
static size_t decode(const char *text, unsigned char *raw, size_t cap)
{
    size_t n = 0;

    assert_int_equal(ss_b64_decode(SS_B64_URL_NOPAD, raw, cap, &n, text, strlen(text)), 0);
    return n;
}

static char *encode(fixture *f, const unsigned char *raw, size_t n)
{
    char *text = apr_palloc(f->pool, SS_B64URL_LEN(n) + 1);

    ss_b64url_encode(text, SS_B64URL_LEN(n) + 1, raw, n);
    return text;
}

/* S of the state vector */
static void vector_state(unsigned char S[SS_STATE_BYTES])
{
    ss_state_digest(VECTOR_STATE_COOKIE, strlen(VECTOR_STATE_COOKIE), S);
}

/* A payload P: iat || mode || srclen || src || nextlen || next || session,
 * with the length fields given separately so they can lie. */
static size_t payload(unsigned char *pt, unsigned mode, size_t srclen_field,
                      const char *src, size_t srclen, size_t nextlen_field,
                      const char *next, size_t nextlen, const char *session, size_t sesslen)
{
    size_t n = 0;
    int i;

    for (i = 7; i >= 0; i--) {
        pt[n++] = (unsigned char)((uint64_t)IAT >> (8 * i));
    }
    pt[n++] = (unsigned char)mode;
    pt[n++] = (unsigned char)srclen_field;
    memcpy(pt + n, src, srclen);
    n += srclen;
    if (nextlen_field != (size_t)-1) {
        pt[n++] = (unsigned char)(nextlen_field >> 8);
        pt[n++] = (unsigned char)nextlen_field;
    }
    memcpy(pt + n, next, nextlen);
    n += nextlen;
    memcpy(pt + n, session, sesslen);
    return n + sesslen;
}

/* --- the test vectors ------------------------------------------------------ */

/* Seals the vector's fields (version 2 with the state vector's S) and
 * compares with the text; opens the text and compares the fields. */
static void check_vector_as(fixture *f, int version, ss_mode mode, int cookie_pairs,
                            unsigned char nonce_first, const char *next, const char *session,
                            const char *expected)
{
    unsigned char nonce[SS_NONCE_BYTES], S[SS_STATE_BYTES] = { 0 };
    ss_ticket t = make_ticket(mode, SRC, next, session), o;
    char *text = NULL;

    if (version == SS_TICKET_VERSION_2) {
        vector_state(S);
    }
    t.version = version;
    t.cookie_pairs = cookie_pairs;
    memcpy(t.state, S, SS_STATE_BYTES);
    nonce_from(nonce, nonce_first);
    assert_int_equal(ss_ticket_seal(f->pool, &f->key, DST, &t, nonce, &text), APR_SUCCESS);
    assert_string_equal(text, expected);
    assert_memory_equal(t.nonce, nonce, SS_NONCE_BYTES);
    assert_memory_equal(t.kid, vector_kid, SS_KID_BYTES);

    assert_int_equal(open_text(f, f->kr, expected, &o), SS_OK);
    assert_int_equal(o.version, version ? version : SS_TICKET_VERSION);
    assert_memory_equal(o.state, S, SS_STATE_BYTES);
    assert_int_equal(o.cookie_pairs, cookie_pairs);
    assert_int_equal(o.iat, IAT);
    assert_int_equal(o.mode, mode);
    assert_string_equal(o.src, SRC);
    assert_string_equal(o.next, next ? next : "");
    assert_string_equal(o.session, session);
    assert_memory_equal(o.nonce, nonce, SS_NONCE_BYTES);
    assert_memory_equal(o.kid, vector_kid, SS_KID_BYTES);
}

static void check_vector(fixture *f, ss_mode mode, unsigned char nonce_first,
                         const char *next, const char *session, const char *expected)
{
    check_vector_as(f, 0, mode, 0, nonce_first, next, session, expected);
}

static void test_vector_script(void **state)
{
    check_vector(*state, SS_MODE_SCRIPT, 0x40, NULL, "user=alice&role=admin", VECTOR_SCRIPT);
    /* "" for next in script mode is the same as none */
    check_vector(*state, SS_MODE_SCRIPT, 0x40, "", "user=alice&role=admin", VECTOR_SCRIPT);
}

/* version 1 with mode 0x02 still opens (t->version 1): refusing it with
 * reason state is the receiver's call */
static void test_vector_navigation(void **state)
{
    check_vector(*state, SS_MODE_NAVIGATION, 0x60, "/account?tab=1", "user=alice", VECTOR_NAV);
    check_vector_as(*state, SS_TICKET_VERSION, SS_MODE_NAVIGATION, 0, 0x60, "/account?tab=1",
                    "user=alice", VECTOR_NAV);
}

/* mode 0x11: a script ticket whose session field holds cookie pairs */
static void test_vector_cookie_pairs(void **state)
{
    check_vector_as(*state, 0, SS_MODE_SCRIPT, 1, 0x80, NULL, "sessionid=q8x1v0k2m9",
                    VECTOR_COOKIE);
}

static void test_vector_version_2(void **state)
{
    check_vector_as(*state, SS_TICKET_VERSION_2, SS_MODE_NAVIGATION, 0, 0xa0,
                    "/account?tab=1", VECTOR_V2_SESSION, VECTOR_V2);
}

/* S = BLAKE2b-16 of the state cookie's whole text */
static void test_vector_state(void **state)
{
    fixture *f = *state;
    unsigned char S[SS_STATE_BYTES], other[SS_STATE_BYTES], bytes[SS_STATE_BYTES];
    unsigned char expected[SS_STATE_BYTES];
    char text[SS_STATE_CHARS + 1], hex[2 * SS_STATE_BYTES + 1];
    const char *with_to;
    int i;

    /* the cookie's text is base64url of the bytes 0xc0..0xcf */
    assert_int_equal(decode(VECTOR_STATE_COOKIE, bytes, sizeof(bytes)), SS_STATE_BYTES);
    for (i = 0; i < SS_STATE_BYTES; i++) {
        assert_int_equal(bytes[i], 0xc0 + i);
    }
    ss_state_digest(VECTOR_STATE_COOKIE, strlen(VECTOR_STATE_COOKIE), S);
    assert_int_equal(ss_b64url_encode(text, sizeof(text), S, SS_STATE_BYTES), SS_STATE_CHARS);
    assert_string_equal(text, VECTOR_STATE_S);
    sodium_bin2hex(hex, sizeof(hex), S, SS_STATE_BYTES);
    assert_string_equal(hex, VECTOR_STATE_S_HEX);
    /* the cookie's name on an https site: the prefix and 8 characters of S */
    assert_string_equal(apr_pstrcat(f->pool, "__Host-ssst-", apr_pstrndup(f->pool, text, 8),
                                    NULL), VECTOR_STATE_NAME);
    /* the same as libsodium's BLAKE2b with a 16-byte output, no key */
    crypto_generichash_blake2b(expected, sizeof(expected),
                               (const unsigned char *)VECTOR_STATE_COOKIE,
                               strlen(VECTOR_STATE_COOKIE), NULL, 0);
    assert_memory_equal(S, expected, SS_STATE_BYTES);
    /* the whole text counts: with "to" after the random part, another S */
    with_to = VECTOR_STATE_COOKIE ".L2FjY291bnQ_dGFiPTE";
    ss_state_digest(with_to, strlen(with_to), other);
    assert_memory_not_equal(S, other, SS_STATE_BYTES);
    /* ... and the length, not a NUL */
    ss_state_digest(with_to, strlen(VECTOR_STATE_COOKIE), other);
    assert_memory_equal(S, other, SS_STATE_BYTES);
    ss_state_digest(VECTOR_STATE_COOKIE, strlen(VECTOR_STATE_COOKIE) - 1, other);
    assert_memory_not_equal(S, other, SS_STATE_BYTES);
    /* the vector ticket carries this S in clear, after the kid */
    {
        unsigned char raw[512];

        decode(VECTOR_V2, raw, sizeof(raw));
        assert_memory_equal(raw + 1 + SS_KID_BYTES, S, SS_STATE_BYTES);
    }
}

/* K's key file text gives the vector's EK and kid */
static void test_vector_key(void **state)
{
    ss_key key;
    const char *err = NULL;
    char hex[2 * SS_EK_BYTES + 1];

    assert_int_equal(ss_key_parse(&key, VECTOR_KEY_TEXT, strlen(VECTOR_KEY_TEXT), &err),
                     APR_SUCCESS);
    sodium_bin2hex(hex, sizeof(hex), key.ek, SS_EK_BYTES);
    assert_string_equal(hex, VECTOR_EK_HEX);
    sodium_bin2hex(hex, sizeof(hex), key.kid, SS_KID_BYTES);
    assert_string_equal(hex, VECTOR_KID_HEX);
    assert_memory_equal(key.kid, vector_kid, SS_KID_BYTES);
}

/* the session field's escaping: a cookie value with '+', '/', '=', '%' */
static void test_vector_session_field(void **state)
{
    fixture *f = *state;
    apr_table_t *entries = apr_table_make(f->pool, 1), *back = apr_table_make(f->pool, 1);

    apr_table_set(entries, "sid", VECTOR_FIELD_VALUE);
    assert_string_equal(ss_session_encode(f->pool, entries), VECTOR_FIELD);
    assert_int_equal(ss_session_decode(f->pool, VECTOR_FIELD, back), 1);
    assert_string_equal(apr_table_get(back, "sid"), VECTOR_FIELD_VALUE);
}

/* --- one payload, several destinations (the filter) ------------------------ */

static void test_batch(void **state)
{
    static const char *const dsts[] = { DST, "b.test:8443", "[2001:db8::1]" };
    fixture *f = *state;
    unsigned char nonce[SS_NONCE_BYTES];
    ss_ticket t = make_ticket(SS_MODE_SCRIPT, SRC, NULL, "user=alice&role=admin"), o;
    ss_ticket_batch b;
    char out[200];
    size_t i;

    /* the test vector, through the batch */
    assert_int_equal(ss_ticket_batch_init(f->pool, &b, &f->key, &t), APR_SUCCESS);
    assert_memory_equal(t.kid, vector_kid, SS_KID_BYTES);
    assert_int_equal(b.chars, strlen(VECTOR_SCRIPT));
    assert_true(b.chars < sizeof(out));
    nonce_from(nonce, 0x40);
    memset(out, 'x', sizeof(out));
    assert_int_equal(ss_ticket_batch_seal(&b, DST, nonce, out), APR_SUCCESS);
    assert_string_equal(out, VECTOR_SCRIPT);

    /* each destination opens its own ticket only; all have b.chars characters */
    for (i = 0; i < sizeof(dsts) / sizeof(dsts[0]); i++) {
        ss_ticket other;
        size_t j;

        nonce_from(nonce, (unsigned char)(0x80 + i));
        assert_int_equal(ss_ticket_batch_seal(&b, dsts[i], nonce, out), APR_SUCCESS);
        assert_int_equal(strlen(out), b.chars);
        assert_int_equal(ss_ticket_open(f->pool, f->kr, dsts[i], out, strlen(out), IAT,
                                        30, &o), SS_OK);
        assert_string_equal(o.session, "user=alice&role=admin");
        assert_string_equal(o.src, SRC);
        assert_memory_equal(o.nonce, nonce, SS_NONCE_BYTES);
        for (j = 0; j < sizeof(dsts) / sizeof(dsts[0]); j++) {
            if (j != i) {
                assert_int_equal(ss_ticket_open(f->pool, f->kr, dsts[j], out, strlen(out),
                                                IAT, 30, &other), SS_R_BAD_TICKET);
            }
        }
    }
    /* an invalid destination, a missing nonce */
    assert_int_equal(ss_ticket_batch_seal(&b, "", nonce, out), APR_EINVAL);
    assert_int_equal(ss_ticket_batch_seal(&b, "a b", nonce, out), APR_EINVAL);
    assert_int_equal(ss_ticket_batch_seal(&b, DST, NULL, out), APR_EINVAL);

    /* clear wipes the payload (it holds the session) and ends the batch */
    {
        unsigned char *pt = b.pt;
        size_t ptlen = b.ptlen;

        ss_ticket_batch_clear(&b);
        assert_true(is_zero(pt, ptlen));
        assert_null(b.pt);
        assert_int_equal(ss_ticket_batch_seal(&b, DST, nonce, out), APR_EINVAL);
    }

    /* init checks the fields as seal does */
    t = make_ticket(SS_MODE_SCRIPT, SRC, "/next", "u=1");
    assert_int_equal(ss_ticket_batch_init(f->pool, &b, &f->key, &t), APR_EINVAL);
    t = make_ticket(SS_MODE_SCRIPT, SRC, NULL, "u=1 2");
    assert_int_equal(ss_ticket_batch_init(f->pool, &b, &f->key, &t), APR_EINVAL);
    t = make_ticket(SS_MODE_SCRIPT, SRC, NULL, "u=1");
    assert_int_equal(ss_ticket_batch_init(f->pool, &b, NULL, &t), APR_EINVAL);
}

/* --- round trips ----------------------------------------------------------- */

static void round_trip(fixture *f, ss_mode mode, const char *src, const char *next,
                       const char *session)
{
    ss_ticket t = make_ticket(mode, src, next, session), o;
    unsigned char first_nonce[SS_NONCE_BYTES];
    char *text = NULL, *again = NULL;

    assert_int_equal(ss_ticket_seal(f->pool, &f->key, DST, &t, NULL, &text), APR_SUCCESS);
    memcpy(first_nonce, t.nonce, SS_NONCE_BYTES);
    assert_int_equal(open_text(f, f->kr, text, &o), SS_OK);
    assert_int_equal(o.iat, IAT);
    assert_int_equal(o.mode, mode);
    assert_string_equal(o.src, src);
    assert_string_equal(o.next, next ? next : "");
    assert_string_equal(o.session, session);
    assert_memory_equal(o.nonce, t.nonce, SS_NONCE_BYTES);
    assert_memory_equal(o.kid, f->key.kid, SS_KID_BYTES);
    /* a fresh random nonce, so a fresh ticket, every time */
    assert_int_equal(ss_ticket_seal(f->pool, &f->key, DST, &t, NULL, &again), APR_SUCCESS);
    assert_memory_not_equal(t.nonce, first_nonce, SS_NONCE_BYTES);
    assert_string_not_equal(text, again);
    assert_int_equal(strlen(text), strlen(again));
}

static void test_round_trip(void **state)
{
    fixture *f = *state;
    char *text = NULL;
    ss_ticket t = make_ticket(SS_MODE_SCRIPT, "a", NULL, "x"), o;

    round_trip(f, SS_MODE_SCRIPT, SRC, NULL, "user=alice&role=admin");
    round_trip(f, SS_MODE_SCRIPT, "shop.example.net:8443", "", "k=%C3%A9t%C3%A9+x&b=2");
    round_trip(f, SS_MODE_NAVIGATION, SRC, "/account?tab=1", "user=alice");
    round_trip(f, SS_MODE_NAVIGATION, SRC, NULL, "user=alice");
    round_trip(f, SS_MODE_NAVIGATION, SRC, "", "user=alice");
    round_trip(f, SS_MODE_NAVIGATION, SRC, "/", "u=1");
    round_trip(f, SS_MODE_NAVIGATION, "[2001:db8::1]:8080", "/a/b/c?d=%2F&e=~!$'()*,;:@", "u=1");
    t.version = SS_TICKET_VERSION_2;
    t.mode = SS_MODE_NAVIGATION;
    t.cookie_pairs = 1;
    ss_state_digest("abc", 3, t.state);
    assert_int_equal(ss_ticket_seal(f->pool, &f->key, DST, &t, NULL, &text), APR_SUCCESS);
    assert_int_equal(strlen(text), SS_B64URL_LEN(SS_TICKET_MIN_BYTES_2));
    assert_int_equal(open_text(f, f->kr, text, &o), SS_OK);
    assert_int_equal(o.version, SS_TICKET_VERSION_2);
    assert_int_equal(o.cookie_pairs, 1);
    assert_memory_equal(o.state, t.state, SS_STATE_BYTES);
    assert_string_equal(o.next, "");
    t = make_ticket(SS_MODE_SCRIPT, "a", NULL, "x");

    /* the smallest ticket there is opens */
    assert_int_equal(ss_ticket_seal(f->pool, &f->key, DST, &t, NULL, &text), APR_SUCCESS);
    assert_int_equal(strlen(text), SS_B64URL_LEN(SS_TICKET_MIN_BYTES));
    assert_int_equal(open_text(f, f->kr, text, &o), SS_OK);
    assert_string_equal(o.src, "a");
    assert_string_equal(o.session, "x");
}

/* --- tampering ------------------------------------------------------------- */

/* The reason a ticket text must get when it is a vector with one character
 * changed: malformed when it is no longer strict base64url (unused bits in
 * the last character); unknown-key when the version byte is neither 1 nor
 * 2 or the kid is another; malformed when a version-2 ticket is too short;
 * bad-ticket for every other change (S, nonce, ciphertext, tag, and the
 * version byte turned from 1 into 2 or back). */
static ss_reason substituted_reason(const char *text, size_t len)
{
    unsigned char raw[SS_TICKET_MAX_CHARS];
    size_t n = 0;

    if (ss_b64_decode(SS_B64_URL_NOPAD, raw, sizeof(raw), &n, text, len) != 0) {
        return SS_R_MALFORMED;
    }
    if (raw[0] != SS_TICKET_VERSION && raw[0] != SS_TICKET_VERSION_2) {
        return SS_R_UNKNOWN_KEY;
    }
    if (raw[0] == SS_TICKET_VERSION_2 && n < SS_TICKET_MIN_BYTES_2) {
        return SS_R_MALFORMED;
    }
    if (memcmp(raw + 1, vector_kid, SS_KID_BYTES) != 0) {
        return SS_R_UNKNOWN_KEY;
    }
    return SS_R_BAD_TICKET;
}

/* Every other base64url character at every position is rejected, with the
 * reason of its position: the first 6 characters carry the version and the
 * kid (unknown-key, or bad-ticket when the version turns into the other
 * known one), the rest S, the nonce and C (bad-ticket). */
static void check_every_substitution(fixture *f, const char *vector)
{
    static const char not_b64url[] = { '+', '/', '=', ' ', '.', '%', '\n', '\0', '\x7f',
                                       (char)0x80, (char)0xff };
    size_t len = strlen(vector), i, j;
    char *text = apr_pstrdup(f->pool, vector);
    ss_reason r;

    int version_swaps = 0;

    for (i = 0; i < len; i++) {
        for (j = 0; j < 64; j++) {
            if (url_alphabet[j] == vector[i]) {
                continue;
            }
            text[i] = url_alphabet[j];
            r = open_bad(f, text, len);
            assert_int_equal(r, substituted_reason(text, len));
            if (i < 6) {
                assert_true(r == SS_R_UNKNOWN_KEY || r == SS_R_BAD_TICKET);
                version_swaps += r == SS_R_BAD_TICKET;
            }
            else if (i > 6 && i < len - 1) {
                assert_int_equal(r, SS_R_BAD_TICKET);
            }
        }
        for (j = 0; j < sizeof(not_b64url); j++) {
            text[i] = not_b64url[j];
            assert_int_equal(open_bad(f, text, len), SS_R_MALFORMED);
        }
        text[i] = vector[i];
    }
    /* the second character alone turns version 1 into 2 (or back) and keeps
     * the kid: exactly one such text, and it does not authenticate */
    assert_int_equal(version_swaps, 1);
    /* and the text is intact again */
    assert_int_equal(ss_ticket_open(f->pool, f->kr, DST, text, len, IAT, 30,
                                    &(ss_ticket){ 0 }), SS_OK);
}

static void test_every_substitution(void **state)
{
    check_every_substitution(*state, VECTOR_SCRIPT);
    check_every_substitution(*state, VECTOR_NAV);
    check_every_substitution(*state, VECTOR_COOKIE);
    check_every_substitution(*state, VECTOR_V2);
}

static void check_every_truncation(fixture *f, const char *vector, size_t min_bytes)
{
    size_t len = strlen(vector), n;
    ss_reason r;

    for (n = 0; n < len; n++) {
        r = open_bad(f, vector, n);
        if (n < SS_B64URL_LEN(min_bytes) || n % 4 == 1) {
            assert_int_equal(r, SS_R_MALFORMED);
        }
        else {
            /* a shorter base64url text, or non-canonical last bits */
            assert_true(r == SS_R_BAD_TICKET || r == SS_R_MALFORMED);
        }
    }
}

static void test_every_truncation(void **state)
{
    check_every_truncation(*state, VECTOR_SCRIPT, SS_TICKET_MIN_BYTES);
    check_every_truncation(*state, VECTOR_NAV, SS_TICKET_MIN_BYTES);
    check_every_truncation(*state, VECTOR_COOKIE, SS_TICKET_MIN_BYTES);
    check_every_truncation(*state, VECTOR_V2, SS_TICKET_MIN_BYTES_2);
}

static void test_appended(void **state)
{
    fixture *f = *state;
    size_t len = strlen(VECTOR_SCRIPT), i, n;
    char text[sizeof(VECTOR_SCRIPT) + 8];

    memcpy(text, VECTOR_SCRIPT, len);
    for (i = 0; i < 64; i++) {
        for (n = 1; n <= 8; n++) {
            memset(text + len, url_alphabet[i], n);
            assert_true(open_bad(f, text, len + n) <= SS_R_BAD_TICKET);
        }
    }
    /* padding is not base64url */
    memcpy(text + len, "==", 2);
    assert_int_equal(open_bad(f, text, len + 2), SS_R_MALFORMED);
}

/* --- keys ------------------------------------------------------------------ */

static void test_wrong_key(void **state)
{
    fixture *f = *state;
    ss_keyring *other = ss_keyring_make(f->pool), *empty = ss_keyring_make(f->pool);
    ss_key twin = f->key;
    ss_keyring *twins = ss_keyring_make(f->pool);
    ss_ticket t;

    assert_int_equal(ss_keyring_add(other, f->pool, &f->other), APR_SUCCESS);
    assert_int_equal(open_text(f, other, VECTOR_SCRIPT, &t), SS_R_UNKNOWN_KEY);
    assert_true(is_zero(&t, sizeof(t)));
    assert_int_equal(open_text(f, empty, VECTOR_SCRIPT, &t), SS_R_UNKNOWN_KEY);
    assert_int_equal(open_text(f, NULL, VECTOR_SCRIPT, &t), SS_R_UNKNOWN_KEY);
    /* the same kid with another key does not authenticate */
    twin.ek[31] ^= 0x80;
    assert_int_equal(ss_keyring_add(twins, f->pool, &twin), APR_SUCCESS);
    assert_int_equal(open_text(f, twins, VECTOR_SCRIPT, &t), SS_R_BAD_TICKET);
    assert_true(is_zero(&t, sizeof(t)));
}

/* docs/PROTOCOL.md, "Keys": the first key seals, every key opens. */
static void test_key_rotation(void **state)
{
    fixture *f = *state;
    ss_keyring *both = ss_keyring_make(f->pool), *new_only = ss_keyring_make(f->pool);
    ss_ticket t = make_ticket(SS_MODE_SCRIPT, SRC, NULL, "u=1"), o;
    char *by_old = NULL, *by_new = NULL;

    assert_int_equal(ss_keyring_add(both, f->pool, &f->other), APR_SUCCESS); /* new */
    assert_int_equal(ss_keyring_add(both, f->pool, &f->key), APR_SUCCESS);   /* old */
    assert_int_equal(ss_keyring_add(new_only, f->pool, &f->other), APR_SUCCESS);
    assert_ptr_equal(ss_keyring_sealer(both), &both->keys[0]);
    assert_memory_equal(ss_keyring_sealer(both)->kid, f->other.kid, SS_KID_BYTES);

    assert_int_equal(ss_ticket_seal(f->pool, &f->key, DST, &t, NULL, &by_old), APR_SUCCESS);
    assert_int_equal(ss_ticket_seal(f->pool, ss_keyring_sealer(both), DST, &t, NULL, &by_new),
                     APR_SUCCESS);
    assert_int_equal(open_text(f, both, by_old, &o), SS_OK);
    assert_memory_equal(o.kid, f->key.kid, SS_KID_BYTES);
    assert_int_equal(open_text(f, both, VECTOR_NAV, &o), SS_OK);
    assert_int_equal(open_text(f, both, by_new, &o), SS_OK);
    assert_memory_equal(o.kid, f->other.kid, SS_KID_BYTES);
    assert_string_equal(o.session, "u=1");
    /* once the old key is dropped, its tickets are unknown */
    assert_int_equal(open_text(f, new_only, by_old, &o), SS_R_UNKNOWN_KEY);
    assert_int_equal(open_text(f, new_only, by_new, &o), SS_OK);
}

/* --- destination, time ----------------------------------------------------- */

static void test_wrong_destination(void **state)
{
    static const char *const wrong[] = {
        SRC, "WWW.EXAMPLE.ORG", "www.example.org:443", "www.example.org.", "example.org",
        "www.example.or", "www.example.org ", "",
    };
    fixture *f = *state;
    size_t len = strlen(VECTOR_SCRIPT), i;
    char *long_dst = apr_pcalloc(f->pool, 300);
    ss_ticket t;

    for (i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        memset(&t, 0xa5, sizeof(t));
        assert_int_equal(ss_ticket_open(f->pool, f->kr, wrong[i], VECTOR_SCRIPT, len, IAT, 30,
                                        &t), SS_R_BAD_TICKET);
        assert_true(is_zero(&t, sizeof(t)));
    }
    assert_int_equal(ss_ticket_open(f->pool, f->kr, NULL, VECTOR_SCRIPT, len, IAT, 30, &t),
                     SS_R_BAD_TICKET);
    memset(long_dst, 'a', 299);
    assert_int_equal(ss_ticket_open(f->pool, f->kr, long_dst, VECTOR_SCRIPT, len, IAT, 30, &t),
                     SS_R_BAD_TICKET);
}

static ss_reason open_at(fixture *f, const char *text, int64_t now, int timeout, ss_ticket *t)
{
    memset(t, 0xa5, sizeof(*t));
    return ss_ticket_open(f->pool, f->kr, DST, text, strlen(text), now, timeout, t);
}

static void test_time_boundaries(void **state)
{
    fixture *f = *state;
    ss_ticket t;

    assert_int_equal(open_at(f, VECTOR_SCRIPT, IAT + 30, 30, &t), SS_OK);
    assert_int_equal(open_at(f, VECTOR_SCRIPT, IAT + 31, 30, &t), SS_R_EXPIRED);
    /* filled: the ticket authenticated, only its age is wrong */
    assert_int_equal(t.iat, IAT);
    assert_string_equal(t.src, SRC);
    assert_string_equal(t.session, "user=alice&role=admin");
    assert_memory_equal(t.kid, vector_kid, SS_KID_BYTES);
    assert_int_equal(open_at(f, VECTOR_SCRIPT, IAT + 1000000, 30, &t), SS_R_EXPIRED);

    assert_int_equal(open_at(f, VECTOR_SCRIPT, IAT - SS_CLOCK_SKEW, 30, &t), SS_OK);
    assert_int_equal(open_at(f, VECTOR_NAV, IAT - SS_CLOCK_SKEW - 1, 30, &t), SS_R_FUTURE);
    assert_int_equal(t.iat, IAT);
    assert_int_equal(t.mode, SS_MODE_NAVIGATION);
    assert_string_equal(t.next, "/account?tab=1");
    assert_int_equal(open_at(f, VECTOR_NAV, 0, 30, &t), SS_R_FUTURE);

    assert_int_equal(open_at(f, VECTOR_SCRIPT, IAT, 0, &t), SS_OK);
    assert_int_equal(open_at(f, VECTOR_SCRIPT, IAT + 1, 0, &t), SS_R_EXPIRED);
    assert_int_equal(open_at(f, VECTOR_SCRIPT, IAT + 3600, 3600, &t), SS_OK);
    assert_int_equal(open_at(f, VECTOR_SCRIPT, IAT + 3601, 3600, &t), SS_R_EXPIRED);
    /* extremes do not overflow (UBSan watches) */
    assert_int_equal(open_at(f, VECTOR_SCRIPT, INT64_MAX, 30, &t), SS_R_EXPIRED);
    assert_int_equal(open_at(f, VECTOR_SCRIPT, INT64_MIN, 30, &t), SS_R_FUTURE);
    assert_int_equal(open_at(f, VECTOR_SCRIPT, IAT, -1, &t), SS_OK);
    assert_int_equal(open_at(f, VECTOR_SCRIPT, IAT + 1, -1, &t), SS_R_EXPIRED);
}

static void test_extreme_iat(void **state)
{
    static const int64_t iats[] = { INT64_MIN, -1, 0, INT64_MAX };
    fixture *f = *state;
    ss_ticket t = make_ticket(SS_MODE_SCRIPT, SRC, NULL, "u=1"), o;
    char *text = NULL;
    size_t i;

    for (i = 0; i < sizeof(iats) / sizeof(iats[0]); i++) {
        t.iat = iats[i];
        assert_int_equal(ss_ticket_seal(f->pool, &f->key, DST, &t, NULL, &text), APR_SUCCESS);
        assert_int_equal(open_at(f, text, iats[i], 30, &o), SS_OK);
        assert_int_equal(o.iat, iats[i]);
        assert_int_equal(open_at(f, text, IAT, 30, &o), iats[i] > IAT ? SS_R_FUTURE
                                                                        : SS_R_EXPIRED);
        assert_int_equal(o.iat, iats[i]);
    }
}

/* --- malformed ------------------------------------------------------------- */

static void test_oversize(void **state)
{
    fixture *f = *state;
    char *text = apr_palloc(f->pool, SS_TICKET_MAX_CHARS + 8);
    char *session = apr_palloc(f->pool, SS_TICKET_MAX_CHARS);
    char *sealed = NULL;
    ss_ticket t = make_ticket(SS_MODE_SCRIPT, SRC, NULL, session), o;
    /* 8 + 1 + 1 + 15 + 2 = 27 bytes before the session; 45 around P */
    size_t fits = SS_B64_DECODED_MAX(SS_TICKET_MAX_CHARS) - 45 - 27;

    memset(text, 'A', SS_TICKET_MAX_CHARS + 8);
    assert_int_equal(open_bad(f, text, SS_TICKET_MAX_CHARS + 1), SS_R_MALFORMED);
    assert_int_equal(open_bad(f, text, SS_TICKET_MAX_CHARS + 4), SS_R_MALFORMED);
    assert_int_equal(open_bad(f, text, SS_TICKET_MAX_CHARS + 8), SS_R_MALFORMED);
    /* decided on the length alone: nothing past these 3 bytes is read
     * (ASan and valgrind would see it) */
    assert_int_equal(open_bad(f, "AQU", SS_TICKET_MAX_CHARS + 1), SS_R_MALFORMED);
    assert_int_equal(open_bad(f, "AQU", SIZE_MAX), SS_R_MALFORMED);

    /* the largest ticket is exactly SS_TICKET_MAX_CHARS and opens */
    memset(session, 'a', fits);
    session[fits] = '\0';
    assert_int_equal(ss_ticket_seal(f->pool, &f->key, DST, &t, NULL, &sealed), APR_SUCCESS);
    assert_int_equal(strlen(sealed), SS_TICKET_MAX_CHARS);
    assert_int_equal(open_text(f, f->kr, sealed, &o), SS_OK);
    assert_int_equal(strlen(o.session), fits);
    /* one byte more does not fit */
    session[fits] = 'a';
    session[fits + 1] = '\0';
    sealed = NULL;
    assert_int_equal(ss_ticket_seal(f->pool, &f->key, DST, &t, NULL, &sealed), APR_ENOSPC);
    assert_null(sealed);
}

static void test_not_base64url(void **state)
{
    fixture *f = *state;
    char *text = apr_pstrdup(f->pool, VECTOR_SCRIPT), *padded;
    ss_ticket t = make_ticket(SS_MODE_SCRIPT, SRC, NULL, "u=12"), o;
    size_t i, len = strlen(text);

    /* the same bytes in the standard alphabet */
    for (i = 0; i < len; i++) {
        text[i] = text[i] == '-' ? '+' : text[i] == '_' ? '/' : text[i];
    }
    assert_int_equal(open_bad(f, text, len), SS_R_MALFORMED);
    assert_int_equal(open_bad(f, "", 0), SS_R_MALFORMED);
    assert_int_equal(open_bad(f, "<script>", 8), SS_R_MALFORMED);
    assert_int_equal(open_bad(f, VECTOR_SCRIPT ".js", len + 3), SS_R_MALFORMED);
    assert_int_equal(ss_ticket_open(f->pool, f->kr, DST, NULL, 0, IAT, 30, &o), SS_R_MALFORMED);

    /* a ticket whose length is not a multiple of 4, padded */
    assert_int_equal(ss_ticket_seal(f->pool, &f->key, DST, &t, NULL, &text), APR_SUCCESS);
    len = strlen(text);
    assert_int_not_equal(len % 4, 0);
    assert_int_equal(open_text(f, f->kr, text, &o), SS_OK);
    padded = apr_pstrcat(f->pool, text, len % 4 == 2 ? "==" : "=", NULL);
    assert_int_equal(open_bad(f, padded, strlen(padded)), SS_R_MALFORMED);
    /* its last character with non-zero unused bits: the same bytes, refused */
    for (i = 0; i < 64; i++) {
        text[len - 1] = url_alphabet[i];
        if (i & (len % 4 == 2 ? 0x0f : 0x03)) {
            assert_int_equal(open_bad(f, text, len), SS_R_MALFORMED);
        }
    }
}

static void test_short_and_version(void **state)
{
    fixture *f = *state;
    unsigned char raw[SS_TICKET_MIN_BYTES], pt[64];
    char text[SS_B64URL_LEN(SS_TICKET_MIN_BYTES) + 1];
    size_t n;

    /* a good header and one byte short of the smallest ticket */
    memset(raw, 0, sizeof(raw));
    raw[0] = SS_TICKET_VERSION;
    memcpy(raw + 1, vector_kid, SS_KID_BYTES);
    ss_b64url_encode(text, sizeof(text), raw, SS_TICKET_MIN_BYTES - 1);
    assert_int_equal(open_bad(f, text, strlen(text)), SS_R_MALFORMED);
    ss_b64url_encode(text, sizeof(text), raw, SS_TICKET_MIN_BYTES);
    assert_int_equal(open_bad(f, text, strlen(text)), SS_R_BAD_TICKET);
    ss_b64url_encode(text, sizeof(text), raw, 1);
    assert_int_equal(open_bad(f, text, strlen(text)), SS_R_MALFORMED);

    /* another version, even with a good kid and a good AEAD, is unknown */
    n = payload(pt, SS_MODE_SCRIPT, 1, "a", 1, 0, "", 0, "x", 1);
    assert_int_equal(n + 45, SS_TICKET_MIN_BYTES);
    assert_int_equal(open_bad(f, craft(f, 0x03, &f->key, pt, n), sizeof(text) - 1),
                     SS_R_UNKNOWN_KEY);
    assert_int_equal(open_bad(f, craft(f, 0x00, &f->key, pt, n), sizeof(text) - 1),
                     SS_R_UNKNOWN_KEY);
    assert_int_equal(open_bad(f, craft(f, 0xff, &f->key, pt, n), sizeof(text) - 1),
                     SS_R_UNKNOWN_KEY);
    /* version 2 in the size of the smallest version-1 ticket: too short for S */
    assert_int_equal(open_bad(f, craft(f, 0x02, &f->key, pt, n), sizeof(text) - 1),
                     SS_R_MALFORMED);
    /* the control: version 1 opens */
    assert_int_equal(ss_ticket_open(f->pool, f->kr, DST, craft(f, 0x01, &f->key, pt, n),
                                    sizeof(text) - 1, IAT, 30, &(ss_ticket){ 0 }), SS_OK);
}

/* Payloads that authenticate but are not well formed: bad-ticket, t zeroed. */
static void test_payload_structure(void **state)
{
    fixture *f = *state;
    unsigned char pt[600];
    char *text;
    char big[300];
    ss_ticket o;
    size_t n;

#define BAD(...) do { \
        n = payload(pt, __VA_ARGS__); \
        text = craft(f, SS_TICKET_VERSION, &f->key, pt, n); \
        assert_int_equal(open_bad(f, text, strlen(text)), SS_R_BAD_TICKET); \
    } while (0)

    /* the control */
    n = payload(pt, SS_MODE_NAVIGATION, 3, "a.b", 3, 2, "/x", 2, "k=v", 3);
    text = craft(f, SS_TICKET_VERSION, &f->key, pt, n);
    assert_int_equal(open_text(f, f->kr, text, &o), SS_OK);
    assert_string_equal(o.src, "a.b");
    assert_string_equal(o.next, "/x");
    assert_string_equal(o.session, "k=v");

    /* a mode outside the table with good fields: malformed (see
     * test_mode_pairs); with a bad field as well, the field decides */
    n = payload(pt, 0x03, 3, "a.b", 3, 0, "", 0, "k=v", 3);
    text = craft(f, SS_TICKET_VERSION, &f->key, pt, n);
    assert_int_equal(open_bad(f, text, strlen(text)), SS_R_MALFORMED);
    BAD(0, 0, "", 0, 0, "", 0, "k=v&a=b", 7);                     /* mode 0, srclen 0 */
    BAD(3, 3, "a.b", 3, 0, "", 0, "", 0);                         /* mode 3, no session */
    BAD(0xff, 3, "a b", 3, 0, "", 0, "k=v", 3);
    BAD(SS_MODE_SCRIPT | SS_MODE_COOKIE_PAIRS, 3, "a.b", 3, 2, "/x", 2, "k=v", 3);
    BAD(SS_MODE_SCRIPT, 0, "", 0, 0, "", 0, "k=v&a=b", 7);        /* srclen 0 */
    BAD(SS_MODE_SCRIPT, 200, "a.b", 3, 0, "", 0, "k=v", 3);       /* src past the end */
    BAD(SS_MODE_SCRIPT, 6, "abcdef", 6, (size_t)-1, "", 0, "", 0); /* no room for nextlen */
    BAD(SS_MODE_SCRIPT, 7, "abcdef", 6, (size_t)-1, "", 0, "", 0); /* src one past */
    BAD(SS_MODE_SCRIPT, 3, "a b", 3, 0, "", 0, "k=v", 3);         /* src not printable */
    BAD(SS_MODE_SCRIPT, 3, "a\0b", 3, 0, "", 0, "k=v", 3);
    BAD(SS_MODE_SCRIPT, 3, "a\nb", 3, 0, "", 0, "k=v", 3);
    BAD(SS_MODE_NAVIGATION, 3, "a.b", 3, 1000, "/x", 2, "k=v", 3); /* next past the end */
    BAD(SS_MODE_NAVIGATION, 3, "a.b", 3, 0xffff, "/x", 2, "k=v", 3);
    BAD(SS_MODE_NAVIGATION, 3, "a.b", 3, 6, "/x", 2, "k=v", 3);    /* eats the session */
    BAD(SS_MODE_SCRIPT, 3, "a.b", 3, 2, "/x", 2, "k=v", 3);        /* next in script mode */
    BAD(SS_MODE_NAVIGATION, 3, "a.b", 3, 14, "//evil.example", 14, "k=v", 3);
    BAD(SS_MODE_NAVIGATION, 3, "a.b", 3, 6, "/\\evil", 6, "k=v", 3);
    BAD(SS_MODE_NAVIGATION, 3, "a.b", 3, 9, "https://x", 9, "k=v", 3);
    BAD(SS_MODE_NAVIGATION, 3, "a.b", 3, 4, "/a b", 4, "k=v", 3);
    BAD(SS_MODE_NAVIGATION, 3, "a.b", 3, 4, "/a#f", 4, "k=v", 3);
    BAD(SS_MODE_NAVIGATION, 3, "a.b", 3, 4, "/a\r\n", 4, "k=v", 3);
    BAD(SS_MODE_NAVIGATION, 3, "a.b", 3, 9, "/abcdefgh", 9, "", 0); /* empty session */
    BAD(SS_MODE_SCRIPT, 3, "a.b", 3, 0, "", 0, "k=v w", 5);       /* session not printable */
    BAD(SS_MODE_SCRIPT, 3, "a.b", 3, 0, "", 0, "k=v\0", 4);
    BAD(SS_MODE_SCRIPT, 3, "a.b", 3, 0, "", 0, "k=v\r\nX: y", 10);
    BAD(SS_MODE_SCRIPT, 3, "a.b", 3, 0, "", 0, "k=\x80", 3);
    /* a 255-byte source is the longest */
    memset(big, 's', sizeof(big));
    n = payload(pt, SS_MODE_SCRIPT, 255, big, 255, 0, "", 0, "k=v", 3);
    text = craft(f, SS_TICKET_VERSION, &f->key, pt, n);
    assert_int_equal(open_text(f, f->kr, text, &o), SS_OK);
    assert_int_equal(strlen(o.src), 255);
#undef BAD
}

/* --- versions, mode bits, the state binding ------------------------------- */

/* Every mode byte under every version byte, sealed with a good AEAD and
 * good fields: the six pairs of the table open with their fields, an
 * unknown version is unknown-key, every other pair is malformed. */
static void test_mode_pairs(void **state)
{
    static const unsigned versions[] = { 0x00, 0x01, 0x02, 0x03, 0x81, 0xff };
    fixture *f = *state;
    unsigned char pt[64], S[SS_STATE_BYTES];
    size_t v, n;
    unsigned mode;
    int opened = 0;

    vector_state(S);
    for (v = 0; v < sizeof(versions) / sizeof(versions[0]); v++) {
        unsigned version = versions[v];

        for (mode = 0; mode <= 0xff; mode++) {
            unsigned flow = mode & 0x0f;
            int valid = (version == 1 && (mode == 0x01 || mode == 0x11 || mode == 0x02
                                          || mode == 0x12))
                        || (version == 2 && (mode == 0x02 || mode == 0x12));
            const char *text;
            ss_ticket o;
            ss_reason r;

            /* next may be given for every flow but script */
            n = payload(pt, mode, 3, "a.b", 3, flow == SS_MODE_SCRIPT ? 0 : 2,
                        "/x", flow == SS_MODE_SCRIPT ? 0 : 2, "k=v", 3);
            text = craft_as(f, (unsigned char)version, version == 2 ? S : NULL, &f->key,
                            pt, n);
            memset(&o, 0xa5, sizeof(o));
            r = open_text(f, f->kr, text, &o);
            if (version != 1 && version != 2) {
                assert_int_equal(r, SS_R_UNKNOWN_KEY);
                assert_true(is_zero(&o, sizeof(o)));
            }
            else if (valid) {
                opened++;
                assert_int_equal(r, SS_OK);
                assert_int_equal(o.version, version);
                assert_int_equal(o.mode, flow);
                assert_int_equal(o.cookie_pairs, (mode & SS_MODE_COOKIE_PAIRS) != 0);
                assert_string_equal(o.next, flow == SS_MODE_SCRIPT ? "" : "/x");
                assert_string_equal(o.session, "k=v");
                if (version == 2) {
                    assert_memory_equal(o.state, S, SS_STATE_BYTES);
                }
                else {
                    assert_true(is_zero(o.state, SS_STATE_BYTES));
                }
            }
            else {
                if (r != SS_R_MALFORMED) {
                    fail_msg("version %u mode 0x%02x: %s", version, mode, ss_reason_name(r));
                }
                assert_true(is_zero(&o, sizeof(o)));
            }
        }
    }
    assert_int_equal(opened, 6);
}

/* Sealing takes the same table: t->mode is the flow, t->cookie_pairs the
 * bit, t->version 0 is version 1; the mode byte written is the flow plus
 * 0x10 and nothing else. */
static void test_seal_pairs(void **state)
{
    static const int versions[] = { -1, 0, 1, 2, 3, 256 };
    static const unsigned flows[] = { 0x00, 0x01, 0x02, 0x03, 0x11, 0x12 };
    fixture *f = *state;
    size_t v, m;
    int cp, sealed = 0;

    for (v = 0; v < sizeof(versions) / sizeof(versions[0]); v++) {
        for (m = 0; m < sizeof(flows) / sizeof(flows[0]); m++) {
            for (cp = 0; cp <= 1; cp++) {
                int version = versions[v] == 0 ? 1 : versions[v];
                int valid = (version == 1 && (flows[m] == 1 || flows[m] == 2))
                            || (version == 2 && flows[m] == 2);
                ss_ticket t = make_ticket((ss_mode)flows[m], SRC, NULL, "u=1"), o;
                unsigned char raw[256], pt[256];
                unsigned long long ptlen = 0;
                char *text = NULL;
                size_t rawlen, hdr;

                t.version = versions[v];
                t.cookie_pairs = cp ? 7 : 0;   /* any true value sets the bit */
                memset(t.state, 0x5a, SS_STATE_BYTES);
                if (!valid) {
                    assert_int_equal(ss_ticket_seal(f->pool, &f->key, DST, &t, NULL, &text),
                                     APR_EINVAL);
                    assert_null(text);
                    continue;
                }
                sealed++;
                assert_int_equal(ss_ticket_seal(f->pool, &f->key, DST, &t, NULL, &text),
                                 APR_SUCCESS);
                assert_int_equal(open_text(f, f->kr, text, &o), SS_OK);
                assert_int_equal(o.version, version);
                assert_int_equal(o.mode, flows[m]);
                assert_int_equal(o.cookie_pairs, cp);
                /* the bytes: version, S for version 2 only, the mode byte */
                rawlen = decode(text, raw, sizeof(raw));
                hdr = version == 2 ? SS_TICKET_HEADER_BYTES_2 : SS_TICKET_HEADER_BYTES;
                assert_int_equal(raw[0], version);
                if (version == 2) {
                    assert_memory_equal(o.state, t.state, SS_STATE_BYTES);
                    assert_memory_equal(raw + 1 + SS_KID_BYTES, t.state, SS_STATE_BYTES);
                }
                else {
                    assert_true(is_zero(o.state, SS_STATE_BYTES));
                }
                /* the AD of the layout: version || kid || dst (|| S) */
                {
                    unsigned char ad[64];
                    size_t adlen = 0;

                    ad[adlen++] = (unsigned char)version;
                    memcpy(ad + adlen, f->key.kid, SS_KID_BYTES);
                    adlen += SS_KID_BYTES;
                    memcpy(ad + adlen, DST, strlen(DST));
                    adlen += strlen(DST);
                    if (version == 2) {
                        memcpy(ad + adlen, t.state, SS_STATE_BYTES);
                        adlen += SS_STATE_BYTES;
                    }
                    assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(
                                         pt, &ptlen, NULL, raw + hdr, rawlen - hdr, ad, adlen,
                                         raw + hdr - SS_NONCE_BYTES, f->key.ek), 0);
                }
                assert_int_equal(pt[8], flows[m] | (cp ? SS_MODE_COOKIE_PAIRS : 0));
            }
        }
    }
    assert_int_equal(sealed, 4 + 4 + 2);   /* versions 0 and 1: two flows; 2: one */
}

/* S is authenticated: changed, moved within the ticket, or taken from
 * another ticket, the ticket is bad-ticket like any tampering. */
static void test_state_tampered(void **state)
{
    fixture *f = *state;
    unsigned char raw[512], copy[512], S[SS_STATE_BYTES], other_raw[512];
    const size_t s_at = 1 + SS_KID_BYTES, nonce_at = s_at + SS_STATE_BYTES;
    size_t n = decode(VECTOR_V2, raw, sizeof(raw)), other_n, i;
    int bit;
    ss_ticket t = make_ticket(SS_MODE_NAVIGATION, SRC, "/account?tab=1", VECTOR_V2_SESSION);
    char *other = NULL;

    /* every bit of S */
    for (i = 0; i < SS_STATE_BYTES; i++) {
        for (bit = 0; bit < 8; bit++) {
            memcpy(copy, raw, n);
            copy[s_at + i] ^= (unsigned char)(1 << bit);
            assert_int_equal(open_bad(f, encode(f, copy, n), SS_B64URL_LEN(n)),
                             SS_R_BAD_TICKET);
        }
    }
    /* S and the first 16 bytes of the nonce swapped */
    memcpy(copy, raw, n);
    memcpy(copy + s_at, raw + nonce_at, SS_STATE_BYTES);
    memcpy(copy + nonce_at, raw + s_at, SS_STATE_BYTES);
    assert_int_equal(open_bad(f, encode(f, copy, n), SS_B64URL_LEN(n)), SS_R_BAD_TICKET);
    /* S moved behind the nonce */
    memcpy(copy, raw, n);
    memcpy(copy + s_at, raw + nonce_at, SS_NONCE_BYTES);
    memcpy(copy + s_at + SS_NONCE_BYTES, raw + s_at, SS_STATE_BYTES);
    assert_int_equal(open_bad(f, encode(f, copy, n), SS_B64URL_LEN(n)), SS_R_BAD_TICKET);
    /* another ticket of the same fields bound to another S, given the
     * vector's S: the ticket of one browser's flow does not serve another */
    t.version = SS_TICKET_VERSION_2;
    ss_state_digest("attacker", 8, t.state);
    assert_int_equal(ss_ticket_seal(f->pool, &f->key, DST, &t, NULL, &other), APR_SUCCESS);
    assert_int_equal(open_text(f, f->kr, other, &(ss_ticket){ 0 }), SS_OK);
    other_n = decode(other, other_raw, sizeof(other_raw));
    vector_state(S);
    memcpy(other_raw + s_at, S, SS_STATE_BYTES);
    assert_int_equal(open_bad(f, encode(f, other_raw, other_n), SS_B64URL_LEN(other_n)),
                     SS_R_BAD_TICKET);
}

/* A version-2 ticket read as version 1 and the reverse: the version byte
 * is in the AD, so neither the byte alone nor the byte with the layout
 * changed to match authenticates. */
static void test_version_swap(void **state)
{
    fixture *f = *state;
    unsigned char raw[512], copy[512], pt[64];
    const size_t s_at = 1 + SS_KID_BYTES;
    size_t n, i;
    static const char *const v1[] = { VECTOR_SCRIPT, VECTOR_NAV, VECTOR_COOKIE };
    char *text;

    /* version 2 read as 1: the byte only (S read as nonce), S dropped */
    n = decode(VECTOR_V2, raw, sizeof(raw));
    memcpy(copy, raw, n);
    copy[0] = SS_TICKET_VERSION;
    assert_int_equal(open_bad(f, encode(f, copy, n), SS_B64URL_LEN(n)), SS_R_BAD_TICKET);
    copy[0] = SS_TICKET_VERSION;
    memcpy(copy + s_at, raw + s_at + SS_STATE_BYTES, n - s_at - SS_STATE_BYTES);
    assert_int_equal(open_bad(f, encode(f, copy, n - SS_STATE_BYTES),
                              SS_B64URL_LEN(n - SS_STATE_BYTES)), SS_R_BAD_TICKET);

    /* version 1 read as 2: the byte only (the nonce read as S), an S added */
    for (i = 0; i < sizeof(v1) / sizeof(v1[0]); i++) {
        n = decode(v1[i], raw, sizeof(raw));
        memcpy(copy, raw, n);
        copy[0] = SS_TICKET_VERSION_2;
        assert_int_equal(open_bad(f, encode(f, copy, n), SS_B64URL_LEN(n)), SS_R_BAD_TICKET);
        memcpy(copy + s_at + SS_STATE_BYTES, raw + s_at, n - s_at);
        vector_state(copy + s_at);
        assert_int_equal(open_bad(f, encode(f, copy, n + SS_STATE_BYTES),
                                  SS_B64URL_LEN(n + SS_STATE_BYTES)), SS_R_BAD_TICKET);
    }

    /* sealed with one version's AD, sent with the other's byte */
    n = payload(pt, SS_MODE_NAVIGATION, 3, "a.b", 3, 2, "/x", 2, "k=v", 3);
    vector_state(copy);
    text = craft_as(f, SS_TICKET_VERSION_2, copy, &f->key, pt, n);
    assert_int_equal(open_text(f, f->kr, text, &(ss_ticket){ 0 }), SS_OK);
    n = decode(text, raw, sizeof(raw));
    raw[0] = SS_TICKET_VERSION;
    assert_int_equal(open_bad(f, encode(f, raw, n), SS_B64URL_LEN(n)), SS_R_BAD_TICKET);
    text = craft_as(f, SS_TICKET_VERSION, copy, &f->key, pt,
                    payload(pt, SS_MODE_NAVIGATION, 3, "a.b", 3, 2, "/x", 2, "k=v", 3));
    assert_int_equal(open_bad(f, text, strlen(text)), SS_R_BAD_TICKET);
}

/* The clear part, read without a key. */
static void test_peek(void **state)
{
    fixture *f = *state;
    unsigned char S[SS_STATE_BYTES], nonce[SS_NONCE_BYTES], raw[512];
    char *text;
    size_t n;
    ss_ticket t;

    vector_state(S);
    memset(&t, 0xa5, sizeof(t));
    assert_int_equal(ss_ticket_peek(VECTOR_V2, strlen(VECTOR_V2), &t), SS_OK);
    assert_int_equal(t.version, SS_TICKET_VERSION_2);
    assert_memory_equal(t.kid, vector_kid, SS_KID_BYTES);
    assert_memory_equal(t.state, S, SS_STATE_BYTES);
    nonce_from(nonce, 0xa0);
    assert_memory_equal(t.nonce, nonce, SS_NONCE_BYTES);
    assert_null(t.src);
    assert_null(t.session);

    memset(&t, 0xa5, sizeof(t));
    assert_int_equal(ss_ticket_peek(VECTOR_NAV, strlen(VECTOR_NAV), &t), SS_OK);
    assert_int_equal(t.version, SS_TICKET_VERSION);
    assert_true(is_zero(t.state, SS_STATE_BYTES));
    nonce_from(nonce, 0x60);
    assert_memory_equal(t.nonce, nonce, SS_NONCE_BYTES);

    /* malformed as ss_ticket_open says it */
    memset(&t, 0xa5, sizeof(t));
    assert_int_equal(ss_ticket_peek(VECTOR_V2, SS_TICKET_MAX_CHARS + 1, &t), SS_R_MALFORMED);
    assert_true(is_zero(&t, sizeof(t)));
    assert_int_equal(ss_ticket_peek(VECTOR_V2 ".js", strlen(VECTOR_V2) + 3, &t),
                     SS_R_MALFORMED);
    assert_int_equal(ss_ticket_peek(NULL, 0, &t), SS_R_MALFORMED);
    assert_int_equal(ss_ticket_peek(VECTOR_V2, SS_B64URL_LEN(SS_TICKET_MIN_BYTES_2 - 1), &t),
                     SS_R_MALFORMED);
    assert_true(is_zero(&t, sizeof(t)));
    /* an unknown version: its byte only */
    n = decode(VECTOR_SCRIPT, raw, sizeof(raw));
    raw[0] = 0x07;
    text = encode(f, raw, n);
    memset(&t, 0xa5, sizeof(t));
    assert_int_equal(ss_ticket_peek(text, strlen(text), &t), SS_R_UNKNOWN_KEY);
    assert_int_equal(t.version, 0x07);
    t.version = 0;
    assert_true(is_zero(&t, sizeof(t)));
}

/* Version 2 through the batch and at the size limit (S takes 16 bytes of
 * the room a version-1 ticket has). */
static void test_version_2_limits(void **state)
{
    fixture *f = *state;
    char *session = apr_palloc(f->pool, SS_TICKET_MAX_CHARS), *sealed = NULL;
    ss_ticket t = make_ticket(SS_MODE_NAVIGATION, SRC, "/n", session), o;
    /* 8 + 1 + 1 + 15 + 2 + 2 = 29 bytes before the session; 61 around P */
    size_t fits = SS_B64_DECODED_MAX(SS_TICKET_MAX_CHARS) - 61 - 29;
    ss_ticket_batch b;
    unsigned char nonce[SS_NONCE_BYTES];
    char out[300];

    t.version = SS_TICKET_VERSION_2;
    t.cookie_pairs = 1;
    ss_state_digest("s", 1, t.state);
    memset(session, 'a', fits);
    session[fits] = '\0';
    assert_int_equal(ss_ticket_seal(f->pool, &f->key, DST, &t, NULL, &sealed), APR_SUCCESS);
    assert_int_equal(strlen(sealed), SS_TICKET_MAX_CHARS);
    assert_int_equal(open_text(f, f->kr, sealed, &o), SS_OK);
    assert_int_equal(o.version, SS_TICKET_VERSION_2);
    assert_int_equal(o.cookie_pairs, 1);
    assert_memory_equal(o.state, t.state, SS_STATE_BYTES);
    session[fits] = 'a';
    session[fits + 1] = '\0';
    sealed = NULL;
    assert_int_equal(ss_ticket_seal(f->pool, &f->key, DST, &t, NULL, &sealed), APR_ENOSPC);
    assert_null(sealed);
    /* the same session fits a version-1 ticket */
    t.version = SS_TICKET_VERSION;
    assert_int_equal(ss_ticket_seal(f->pool, &f->key, DST, &t, NULL, &sealed), APR_SUCCESS);

    /* the batch seals version 2 as ss_ticket_seal does: the vector */
    t = make_ticket(SS_MODE_NAVIGATION, SRC, "/account?tab=1", VECTOR_V2_SESSION);
    t.version = SS_TICKET_VERSION_2;
    vector_state(t.state);
    assert_int_equal(ss_ticket_batch_init(f->pool, &b, &f->key, &t), APR_SUCCESS);
    assert_int_equal(b.chars, strlen(VECTOR_V2));
    assert_true(b.chars < sizeof(out));
    nonce_from(nonce, 0xa0);
    assert_int_equal(ss_ticket_batch_seal(&b, DST, nonce, out), APR_SUCCESS);
    assert_string_equal(out, VECTOR_V2);
    ss_ticket_batch_clear(&b);
    t.mode = SS_MODE_SCRIPT;
    t.next = "";
    assert_int_equal(ss_ticket_batch_init(f->pool, &b, &f->key, &t), APR_EINVAL);
}

/* --- field validation ------------------------------------------------------ */

static void test_next_valid(void **state)
{
    static const char *const good[] = {
        "", "/", "/a?b=1", "/account?tab=1", "/a/b/c.html", "/?x", "/a//b", "/~user/%41",
    };
    static const char *const bad[] = {
        "//evil.example", "/\\evil", "https://x", "a", "/a b", "/a\r\n", "/a#f", "//",
        "/\\", "?a", "#", "/a\\b", "/a\tb", "/\x7f", "/\x80", " /", "\\/",
    };
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(ss_next_valid(good[i], strlen(good[i])), 1);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ss_next_valid(bad[i], strlen(bad[i]))) {
            fail_msg("next \"%s\" accepted", bad[i]);
        }
    }
    /* the length counts, not a NUL */
    assert_int_equal(ss_next_valid("/a\0b", 4), 0);
    assert_int_equal(ss_next_valid("/ab//x", 3), 1);
    assert_int_equal(ss_next_valid("//x", 1), 1);
}

static void test_session_valid(void **state)
{
    assert_int_equal(ss_session_valid("a=b", 3), 1);
    assert_int_equal(ss_session_valid("a=b&c=%20+~", 11), 1);
    assert_int_equal(ss_session_valid("", 0), 0);
    assert_int_equal(ss_session_valid("a b", 3), 0);
    assert_int_equal(ss_session_valid("a\tb", 3), 0);
    assert_int_equal(ss_session_valid("a\nb", 3), 0);
    assert_int_equal(ss_session_valid("a\x7f", 2), 0);
    assert_int_equal(ss_session_valid("a\xc3\xa9", 3), 0);
    assert_int_equal(ss_session_valid("a\0b", 3), 0);
    assert_int_equal(ss_session_valid("ab\0", 2), 1);
}

static void test_seal_invalid(void **state)
{
    fixture *f = *state;
    char *long_id = apr_pcalloc(f->pool, 300), *max_id = apr_pcalloc(f->pool, 300);
    char *huge = apr_pcalloc(f->pool, 70002);
    ss_ticket t;
    char *text = NULL;

#define SEAL_AS(rv, key, dst, mode, src, next, session) do { \
        t = make_ticket(mode, src, next, session); \
        text = NULL; \
        assert_int_equal(ss_ticket_seal(f->pool, key, dst, &t, NULL, &text), rv); \
        if (rv != APR_SUCCESS) { assert_null(text); } else { assert_non_null(text); } \
    } while (0)

    memset(long_id, 'a', 256);
    memset(max_id, 'a', 255);
    SEAL_AS(APR_SUCCESS, &f->key, DST, SS_MODE_SCRIPT, SRC, NULL, "u=1");
    SEAL_AS(APR_SUCCESS, &f->key, max_id, SS_MODE_SCRIPT, max_id, NULL, "u=1");
    SEAL_AS(APR_EINVAL, NULL, DST, SS_MODE_SCRIPT, SRC, NULL, "u=1");
    SEAL_AS(APR_EINVAL, &f->key, NULL, SS_MODE_SCRIPT, SRC, NULL, "u=1");
    SEAL_AS(APR_EINVAL, &f->key, "", SS_MODE_SCRIPT, SRC, NULL, "u=1");
    SEAL_AS(APR_EINVAL, &f->key, long_id, SS_MODE_SCRIPT, SRC, NULL, "u=1");
    SEAL_AS(APR_EINVAL, &f->key, "a b", SS_MODE_SCRIPT, SRC, NULL, "u=1");
    SEAL_AS(APR_EINVAL, &f->key, DST, SS_MODE_SCRIPT, NULL, NULL, "u=1");
    SEAL_AS(APR_EINVAL, &f->key, DST, SS_MODE_SCRIPT, "", NULL, "u=1");
    SEAL_AS(APR_EINVAL, &f->key, DST, SS_MODE_SCRIPT, long_id, NULL, "u=1");
    SEAL_AS(APR_EINVAL, &f->key, DST, SS_MODE_SCRIPT, "a\nb", NULL, "u=1");
    SEAL_AS(APR_EINVAL, &f->key, DST, (ss_mode)0, SRC, NULL, "u=1");
    SEAL_AS(APR_EINVAL, &f->key, DST, (ss_mode)3, SRC, NULL, "u=1");
    SEAL_AS(APR_EINVAL, &f->key, DST, SS_MODE_SCRIPT, SRC, "/x", "u=1");
    SEAL_AS(APR_EINVAL, &f->key, DST, SS_MODE_NAVIGATION, SRC, "//evil.example", "u=1");
    SEAL_AS(APR_EINVAL, &f->key, DST, SS_MODE_NAVIGATION, SRC, "x", "u=1");
    SEAL_AS(APR_EINVAL, &f->key, DST, SS_MODE_NAVIGATION, SRC, "/a#f", "u=1");
    SEAL_AS(APR_EINVAL, &f->key, DST, SS_MODE_SCRIPT, SRC, NULL, NULL);
    SEAL_AS(APR_EINVAL, &f->key, DST, SS_MODE_SCRIPT, SRC, NULL, "");
    SEAL_AS(APR_EINVAL, &f->key, DST, SS_MODE_SCRIPT, SRC, NULL, "u=a b");
    SEAL_AS(APR_EINVAL, &f->key, DST, SS_MODE_SCRIPT, SRC, NULL, "u=1\r\n");
    /* over the 16-bit next length or the ticket size: no space, no wrap */
    huge[0] = '/';
    memset(huge + 1, 'n', 70000);
    SEAL_AS(APR_ENOSPC, &f->key, DST, SS_MODE_NAVIGATION, SRC, huge, "u=1");
    huge[4440] = '\0';
    SEAL_AS(APR_ENOSPC, &f->key, DST, SS_MODE_NAVIGATION, SRC, huge, "u=1");
    huge[4000] = '\0';
    SEAL_AS(APR_SUCCESS, &f->key, DST, SS_MODE_NAVIGATION, SRC, huge, "u=1");
    memset(huge, 's', 70000);
    SEAL_AS(APR_ENOSPC, &f->key, DST, SS_MODE_SCRIPT, SRC, NULL, huge);
#undef SEAL_AS
}

static void test_reason_names(void **state)
{
    static const char *const names[] = {
        "-", "malformed", "unknown-key", "bad-ticket", "expired", "future", "unknown-source",
        "mode", "referer", "replayed", "cache-unavailable", "no-session", "no-site",
    };
    int i;

    assert_int_equal(SS_R_NO_SITE + 1, sizeof(names) / sizeof(names[0]));
    for (i = SS_OK; i <= SS_R_NO_SITE; i++) {
        assert_string_equal(ss_reason_name((ss_reason)i), names[i]);
    }
    assert_string_equal(ss_reason_name(SS_OK), "-");
    assert_string_equal(ss_reason_name(SS_R_CACHE_UNAVAILABLE), "cache-unavailable");
    assert_non_null(ss_reason_name((ss_reason)(SS_R_NO_SITE + 1)));
    assert_non_null(ss_reason_name((ss_reason)-1));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_vector_script),
        T(test_vector_navigation),
        T(test_vector_cookie_pairs),
        T(test_vector_version_2),
        T(test_vector_state),
        cmocka_unit_test(test_vector_key),
        T(test_vector_session_field),
        T(test_batch),
        T(test_round_trip),
        T(test_every_substitution),
        T(test_every_truncation),
        T(test_appended),
        T(test_wrong_key),
        T(test_key_rotation),
        T(test_wrong_destination),
        T(test_time_boundaries),
        T(test_extreme_iat),
        T(test_oversize),
        T(test_not_base64url),
        T(test_short_and_version),
        T(test_payload_structure),
        T(test_mode_pairs),
        T(test_seal_pairs),
        T(test_state_tampered),
        T(test_version_swap),
        T(test_peek),
        T(test_version_2_limits),
        cmocka_unit_test(test_next_valid),
        cmocka_unit_test(test_session_valid),
        T(test_seal_invalid),
        cmocka_unit_test(test_reason_names),
    };
#undef T

    /* no sodium_init(): the library must work without one */
    if (apr_initialize() != APR_SUCCESS) {
        return 1;
    }
    atexit(apr_terminate);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
