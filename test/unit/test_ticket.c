/* Unit tests of crypto/ss_ticket.c: the test vectors of docs/PROTOCOL.md,
 * round trips, tampering, key rotation, every rejection reason and its
 * order, time boundaries, and the validation of the fields. */
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
#include "ss_ticket.h"

#define IAT  INT64_C(1700000000)
#define SRC  "www.example.com"
#define DST  "www.example.org"
#define VECTOR_SCRIPT "AQU_JThAQUJDREVGR0hJSktMTU5PUFFSU1RVVleL878_4h9a8dslt4GwWl4x6P70EhgJ-" \
                      "Uive7IZPpsiEbyeogPbXY-Ptw10WBXzl1fD9Gf79eRIH5EqqOSpWiht"
#define VECTOR_NAV    "AQU_JThgYWJjZGVmZ2hpamtsbW5vcHFyc3R1dncEe33jF93MNC5iOZIsSGLh0gbuaTnNzz" \
                      "jIliCe5oHH8Wn9hZsC-8zDhhv4UAXu2orlXDsRhkQqQ9P2iNrWvNqweaQ2"

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

/* A ticket made by hand: any version byte, kid and payload, sealed with
 * the AEAD of docs/PROTOCOL.md, "Ticket format" (AD = 0x01 || kid || dst). */
static char *craft(fixture *f, unsigned char version, const ss_key *key,
                   const unsigned char *pt, size_t ptlen)
{
    unsigned char raw[8192], ad[1 + SS_KID_BYTES + sizeof(DST) - 1];
    size_t rawlen = 1 + SS_KID_BYTES + SS_NONCE_BYTES + ptlen + SS_TAG_BYTES;
    char *text = apr_palloc(f->pool, SS_B64URL_LEN(rawlen) + 1);

    assert_true(rawlen <= sizeof(raw));
    raw[0] = version;
    memcpy(raw + 1, key->kid, SS_KID_BYTES);
    randombytes_buf(raw + 1 + SS_KID_BYTES, SS_NONCE_BYTES);
    ad[0] = 0x01;
    memcpy(ad + 1, key->kid, SS_KID_BYTES);
    memcpy(ad + 1 + SS_KID_BYTES, DST, sizeof(DST) - 1);
    crypto_aead_xchacha20poly1305_ietf_encrypt(raw + 1 + SS_KID_BYTES + SS_NONCE_BYTES, NULL,
                                               pt, ptlen, ad, sizeof(ad), NULL,
                                               raw + 1 + SS_KID_BYTES, key->ek);
    ss_b64url_encode(text, SS_B64URL_LEN(rawlen) + 1, raw, rawlen);
    return text;
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

static void check_vector(fixture *f, ss_mode mode, unsigned char nonce_first,
                         const char *next, const char *session, const char *expected)
{
    unsigned char nonce[SS_NONCE_BYTES];
    ss_ticket t = make_ticket(mode, SRC, next, session), o;
    char *text = NULL;

    nonce_from(nonce, nonce_first);
    assert_int_equal(ss_ticket_seal(f->pool, &f->key, DST, &t, nonce, &text), APR_SUCCESS);
    assert_string_equal(text, expected);
    assert_memory_equal(t.nonce, nonce, SS_NONCE_BYTES);
    assert_memory_equal(t.kid, vector_kid, SS_KID_BYTES);

    assert_int_equal(open_text(f, f->kr, expected, &o), SS_OK);
    assert_int_equal(o.iat, IAT);
    assert_int_equal(o.mode, mode);
    assert_string_equal(o.src, SRC);
    assert_string_equal(o.next, next ? next : "");
    assert_string_equal(o.session, session);
    assert_memory_equal(o.nonce, nonce, SS_NONCE_BYTES);
    assert_memory_equal(o.kid, vector_kid, SS_KID_BYTES);
}

static void test_vector_script(void **state)
{
    check_vector(*state, SS_MODE_SCRIPT, 0x40, NULL, "user=alice&role=admin", VECTOR_SCRIPT);
    /* "" for next in script mode is the same as none */
    check_vector(*state, SS_MODE_SCRIPT, 0x40, "", "user=alice&role=admin", VECTOR_SCRIPT);
}

static void test_vector_navigation(void **state)
{
    check_vector(*state, SS_MODE_NAVIGATION, 0x60, "/account?tab=1", "user=alice", VECTOR_NAV);
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

    /* the smallest ticket there is opens */
    assert_int_equal(ss_ticket_seal(f->pool, &f->key, DST, &t, NULL, &text), APR_SUCCESS);
    assert_int_equal(strlen(text), SS_B64URL_LEN(SS_TICKET_MIN_BYTES));
    assert_int_equal(open_text(f, f->kr, text, &o), SS_OK);
    assert_string_equal(o.src, "a");
    assert_string_equal(o.session, "x");
}

/* --- tampering ------------------------------------------------------------- */

/* Every other base64url character at every position is rejected: as
 * unknown-key while it changes the version or kid (the first 6 chars carry
 * bits 0-35), as bad-ticket after (char 6 carries kid and nonce bits). */
static void check_every_substitution(fixture *f, const char *vector)
{
    static const char not_b64url[] = { '+', '/', '=', ' ', '.', '%', '\n', '\0', '\x7f',
                                       (char)0x80, (char)0xff };
    size_t len = strlen(vector), i, j;
    char *text = apr_pstrdup(f->pool, vector);
    ss_reason r;

    assert_int_equal(len % 4, 0); /* no unused trailing bits in the vectors */
    for (i = 0; i < len; i++) {
        for (j = 0; j < 64; j++) {
            if (url_alphabet[j] == vector[i]) {
                continue;
            }
            text[i] = url_alphabet[j];
            r = open_bad(f, text, len);
            if (i < 6) {
                assert_int_equal(r, SS_R_UNKNOWN_KEY);
            }
            else if (i == 6) {
                assert_true(r == SS_R_UNKNOWN_KEY || r == SS_R_BAD_TICKET);
            }
            else {
                assert_int_equal(r, SS_R_BAD_TICKET);
            }
        }
        for (j = 0; j < sizeof(not_b64url); j++) {
            text[i] = not_b64url[j];
            assert_int_equal(open_bad(f, text, len), SS_R_MALFORMED);
        }
        text[i] = vector[i];
    }
    /* and the text is intact again */
    assert_int_equal(ss_ticket_open(f->pool, f->kr, DST, text, len, IAT, 30,
                                    &(ss_ticket){ 0 }), SS_OK);
}

static void test_every_substitution(void **state)
{
    check_every_substitution(*state, VECTOR_SCRIPT);
    check_every_substitution(*state, VECTOR_NAV);
}

static void check_every_truncation(fixture *f, const char *vector)
{
    size_t len = strlen(vector), n;
    ss_reason r;

    for (n = 0; n < len; n++) {
        r = open_bad(f, vector, n);
        if (n < SS_B64URL_LEN(SS_TICKET_MIN_BYTES) || n % 4 == 1) {
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
    check_every_truncation(*state, VECTOR_SCRIPT);
    check_every_truncation(*state, VECTOR_NAV);
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
    assert_int_equal(open_bad(f, craft(f, 0x02, &f->key, pt, n), sizeof(text) - 1),
                     SS_R_UNKNOWN_KEY);
    assert_int_equal(open_bad(f, craft(f, 0x00, &f->key, pt, n), sizeof(text) - 1),
                     SS_R_UNKNOWN_KEY);
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

    BAD(0, 3, "a.b", 3, 0, "", 0, "k=v", 3);                      /* mode 0 */
    BAD(3, 3, "a.b", 3, 0, "", 0, "k=v", 3);                      /* mode 3 */
    BAD(0xff, 3, "a.b", 3, 0, "", 0, "k=v", 3);
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
