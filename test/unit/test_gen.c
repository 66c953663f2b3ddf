/* Unit tests of crypto/ss_gen.c: the digest vectors of docs/PROTOCOL.md,
 * "Generations", the "T.D" text, which copy is newer, the stamp, tombstones
 * and the replace rule. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <stdio.h>
#include <cmocka.h>
#include <sodium.h>
#include <apr_general.h>

#include "ss_gen.h"
#include "ss_cookie.h"
#include "ss_session_codec.h"
#include <apr_strings.h>

/* K = bytes 0x00..0x1f */
static ss_key vector_key(void)
{
    unsigned char k[SS_MASTER_KEY_BYTES];
    ss_key key;
    int i;

    for (i = 0; i < SS_MASTER_KEY_BYTES; i++) {
        k[i] = (unsigned char)i;
    }
    ss_key_derive(&key, k);
    return key;
}

static void hex(const unsigned char *d, char out[33])
{
    int i;

    for (i = 0; i < 16; i++) {
        sprintf(out + 2 * i, "%02x", d[i]);
    }
}

static void test_digest_vectors(void **state)
{
    ss_key key = vector_key();
    ss_gen_pair two[] = { { "user", "alice" }, { "role", "admin" } };
    ss_gen_pair one[] = { { "user", "alice" } };
    unsigned char d[16];
    char h[33];

    (void)state;
    ss_gen_digest(d, key.gk, 1700000000000000ULL, two, 2);
    hex(d, h);
    assert_string_equal(h, "c7cdf77128ef8ac30e6dca9a13ee4ec7");
    /* sorted in place by key bytes */
    assert_string_equal(two[0].key, "role");
    /* a tombstone: no entries */
    ss_gen_digest(d, key.gk, 1700000001000000ULL, NULL, 0);
    hex(d, h);
    assert_string_equal(h, "335e01ad9959bc6f6246bdc12853b99a");
    /* the generation in the state-binding ticket vector */
    ss_gen_digest(d, key.gk, 1700000000000000ULL, one, 1);
    hex(d, h);
    assert_string_equal(h, "12bd781d654d51fcccdabde465496463");
}

static void test_digest_order_and_boundaries(void **state)
{
    ss_key key = vector_key();
    ss_gen_pair a[] = { { "a", "bc" } };
    ss_gen_pair b[] = { { "ab", "c" } };
    ss_gen_pair x[] = { { "b", "1" }, { "a", "2" } };
    ss_gen_pair y[] = { { "a", "2" }, { "b", "1" } };
    ss_gen_pair hi[] = { { "\xc3\xa9", "1" }, { "z", "2" } };
    unsigned char d1[16], d2[16];

    (void)state;
    /* the NUL separators keep "a"/"bc" apart from "ab"/"c" */
    ss_gen_digest(d1, key.gk, 5, a, 1);
    ss_gen_digest(d2, key.gk, 5, b, 1);
    assert_memory_not_equal(d1, d2, 16);
    /* the order entries come in does not matter */
    ss_gen_digest(d1, key.gk, 5, x, 2);
    ss_gen_digest(d2, key.gk, 5, y, 2);
    assert_memory_equal(d1, d2, 16);
    /* key bytes compare unsigned: 0xc3 sorts after 'z' */
    ss_gen_digest(d1, key.gk, 5, hi, 2);
    assert_string_equal(hi[0].key, "z");
    /* T is covered */
    ss_gen_digest(d2, key.gk, 6, hi, 2);
    assert_memory_not_equal(d1, d2, 16);
}

static void test_parse_format(void **state)
{
    ss_gen g;
    char out[SS_GEN_TEXT_MAX];
    static const char *bad[] = {
        "", "0.c7cdf77128ef8ac30e6dca9a13ee4ec7", "01.c7cdf77128ef8ac30e6dca9a13ee4ec7",
        "1700000000000000", "1700000000000000.", "1700000000000000.c7cdf7",
        "1700000000000000.C7CDF77128EF8AC30E6DCA9A13EE4EC7",
        "1700000000000000.c7cdf77128ef8ac30e6dca9a13ee4ec7 ",
        "1700000000000000.c7cdf77128ef8ac30e6dca9a13ee4ec70",
        "1700000000000000.c7cdf77128ef8ac30e6dca9a13ee4ecg",
        "-1.c7cdf77128ef8ac30e6dca9a13ee4ec7", "+1.c7cdf77128ef8ac30e6dca9a13ee4ec7",
        "18446744073709551616.c7cdf77128ef8ac30e6dca9a13ee4ec7",
        "100000000000000000000.c7cdf77128ef8ac30e6dca9a13ee4ec7",
        "17x.c7cdf77128ef8ac30e6dca9a13ee4ec7", NULL
    };
    int i;

    (void)state;
    assert_int_equal(ss_gen_parse("1700000000000000.c7cdf77128ef8ac30e6dca9a13ee4ec7", &g), 1);
    assert_true(g.t == 1700000000000000ULL);
    assert_int_equal(g.d[0], 0xc7);
    assert_int_equal(g.d[15], 0xc7);
    ss_gen_format(&g, out);
    assert_string_equal(out, "1700000000000000.c7cdf77128ef8ac30e6dca9a13ee4ec7");
    assert_int_equal(ss_gen_parse("18446744073709551615.00000000000000000000000000000000", &g), 1);
    assert_true(g.t == UINT64_MAX);
    ss_gen_format(&g, out);
    assert_string_equal(out, "18446744073709551615.00000000000000000000000000000000");
    for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
        g.t = 99;
        assert_int_equal(ss_gen_parse(bad[i], &g), 0);
        assert_true(g.t == 0);
    }
}

static void test_verify_and_trust(void **state)
{
    apr_pool_t *p;
    ss_keyring *kr;
    ss_key key = vector_key(), other;
    unsigned char k2[32];
    ss_gen g, t;
    ss_gen_pair two[] = { { "user", "alice" }, { "role", "admin" } };
    ss_gen_pair changed[] = { { "user", "mallory" }, { "role", "admin" } };
    apr_uint64_t now = 1700000000000000ULL;

    (void)state;
    apr_pool_create(&p, NULL);
    memset(k2, 7, sizeof(k2));
    ss_key_derive(&other, k2);
    kr = ss_keyring_make(p);
    ss_keyring_add(kr, p, &other);
    ss_keyring_add(kr, p, &key);
    assert_int_equal(ss_gen_parse("1700000000000000.c7cdf77128ef8ac30e6dca9a13ee4ec7", &g), 1);
    /* any key of the ring verifies (rotation) */
    assert_int_equal(ss_gen_verify(&g, kr, two, 2), 1);
    /* the same generation on other entries: forged */
    assert_int_equal(ss_gen_verify(&g, kr, changed, 2), 0);
    /* another T with the same D */
    g.t++;
    assert_int_equal(ss_gen_verify(&g, kr, two, 2), 0);
    g.t--;
    /* trusted up to 5 s ahead of the limit, not beyond */
    t = ss_gen_trusted(&g, kr, two, 2, now - SS_GEN_SKEW_US);
    assert_true(t.t == g.t);
    t = ss_gen_trusted(&g, kr, two, 2, now - SS_GEN_SKEW_US - 1);
    assert_true(t.t == 0);
    t = ss_gen_trusted(&g, kr, changed, 2, now);
    assert_true(t.t == 0);
    t = ss_gen_trusted(NULL, kr, two, 2, now);
    assert_true(t.t == 0);
    apr_pool_destroy(p);
}

static void test_stamp(void **state)
{
    apr_pool_t *p;
    ss_keyring *kr;
    ss_key key = vector_key();
    ss_gen loaded, g;
    ss_gen_pair two[] = { { "user", "alice" }, { "role", "admin" } };
    char out[SS_GEN_TEXT_MAX];

    (void)state;
    apr_pool_create(&p, NULL);
    kr = ss_keyring_make(p);
    ss_keyring_add(kr, p, &key);
    memset(&loaded, 0, sizeof(loaded));
    /* no generation loaded: T = now */
    ss_gen_stamp(&g, &key, 1700000000000000ULL, &loaded, two, 2);
    ss_gen_format(&g, out);
    assert_string_equal(out, "1700000000000000.c7cdf77128ef8ac30e6dca9a13ee4ec7");
    assert_int_equal(ss_gen_verify(&g, kr, two, 2), 1);
    /* a loaded generation ahead of the clock: T = loaded + 1, always newer */
    loaded.t = 1700000003000000ULL;
    ss_gen_stamp(&g, &key, 1700000000000000ULL, &loaded, two, 2);
    assert_true(g.t == 1700000003000001ULL);
    assert_true(ss_gen_compare(&g, &loaded) > 0);
    /* a tombstone: a stamp over no entries, newer than what was loaded */
    loaded = g;
    ss_gen_stamp(&g, &key, 1700000001000000ULL, &loaded, NULL, 0);
    assert_true(g.t == 1700000003000002ULL);
    assert_int_equal(ss_gen_verify(&g, kr, NULL, 0), 1);
    assert_int_equal(ss_gen_verify(&g, kr, two, 2), 0);
    assert_true(ss_gen_compare(&g, &loaded) > 0);
    apr_pool_destroy(p);
}

static void test_compare(void **state)
{
    ss_gen none, a, b;

    (void)state;
    memset(&none, 0, sizeof(none));
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    a.t = 10;
    b.t = 11;
    assert_true(ss_gen_compare(&b, &a) > 0);
    assert_true(ss_gen_compare(&a, &b) < 0);
    /* equal T: greater D */
    b.t = 10;
    b.d[0] = 1;
    assert_true(ss_gen_compare(&b, &a) > 0);
    assert_true(ss_gen_compare(&a, &a) == 0);
    /* none is older than any */
    assert_true(ss_gen_compare(&none, &a) < 0);
    assert_true(ss_gen_compare(&a, &none) > 0);
    assert_true(ss_gen_compare(&none, &none) == 0);
}

static void test_replace_rule(void **state)
{
    ss_gen none, old, young;

    (void)state;
    memset(&none, 0, sizeof(none));
    memset(&old, 0, sizeof(old));
    old.t = 100;
    young = old;
    young.t = 200;
    /* an empty receiver (no entries, no generation) takes any valid ticket */
    assert_int_equal(ss_replace_wins(SS_REPLACE_NEWER, 0, &none, &none), 1);
    assert_int_equal(ss_replace_wins(SS_REPLACE_EMPTY, 0, &none, &none), 1);
    assert_int_equal(ss_replace_wins(SS_REPLACE_EMPTY, 0, &none, &old), 1);
    /* newer: only a newer generation, over entries or a tombstone */
    assert_int_equal(ss_replace_wins(SS_REPLACE_NEWER, 2, &old, &young), 1);
    assert_int_equal(ss_replace_wins(SS_REPLACE_NEWER, 2, &young, &old), 0);
    assert_int_equal(ss_replace_wins(SS_REPLACE_NEWER, 2, &old, &old), 0);
    assert_int_equal(ss_replace_wins(SS_REPLACE_NEWER, 0, &young, &old), 0);
    assert_int_equal(ss_replace_wins(SS_REPLACE_NEWER, 0, &old, &young), 1);
    /* a ticket without a generation is older than any */
    assert_int_equal(ss_replace_wins(SS_REPLACE_NEWER, 2, &old, &none), 0);
    assert_int_equal(ss_replace_wins(SS_REPLACE_NEWER, 0, &old, &none), 0);
    /* a session from before generations (entries, none) takes a generation,
     * not a ticket without one */
    assert_int_equal(ss_replace_wins(SS_REPLACE_NEWER, 1, &none, &old), 1);
    assert_int_equal(ss_replace_wins(SS_REPLACE_NEWER, 1, &none, &none), 0);
    /* empty: never over entries; over a tombstone only a newer generation
     * (a site that logged out takes the next login) */
    assert_int_equal(ss_replace_wins(SS_REPLACE_EMPTY, 1, &old, &young), 0);
    assert_int_equal(ss_replace_wins(SS_REPLACE_EMPTY, 0, &old, &young), 1);
    assert_int_equal(ss_replace_wins(SS_REPLACE_EMPTY, 0, &young, &old), 0);
    assert_int_equal(ss_replace_wins(SS_REPLACE_EMPTY, 0, &old, &none), 0);
    /* always: every time */
    assert_int_equal(ss_replace_wins(SS_REPLACE_ALWAYS, 3, &young, &old), 1);
    assert_int_equal(ss_replace_wins(SS_REPLACE_ALWAYS, 0, &young, &none), 1);
}

static apr_table_t *table(apr_pool_t *p, const char *const *kv)
{
    apr_table_t *t = apr_table_make(p, 4);

    for (; *kv; kv += 2) {
        apr_table_add(t, kv[0], kv[1]);
    }
    return t;
}

/* What a digest covers and what a ticket carries: not expiry, not the
 * generation itself, not the local keys; a tombstone is not empty. */
static void test_pairs_local_and_empty(void **state)
{
    apr_pool_t *p;
    apr_array_header_t *local;
    static const char *const kv[] = {
        "user", "alice", "expiry", "1", "shared-session-gen", "5.00000000000000000000000000000000",
        "csrf", "x1", "empty", "", "Expiry", "2", NULL
    };
    static const char *const tomb[] = {
        "shared-session-gen", "5.00000000000000000000000000000000", "csrf", "x", NULL
    };
    static const char *const only_local[] = { "csrf", "x", "expiry", "9", NULL };
    ss_gen_pair *pairs;
    size_t n;

    (void)state;
    apr_pool_create(&p, NULL);
    local = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(local, const char *) = "csrf";
    pairs = ss_gen_pairs(p, table(p, kv), local, &n);
    assert_int_equal((int)n, 2);
    assert_string_equal(pairs[0].key, "user");
    assert_string_equal(pairs[1].key, "Expiry");
    pairs = ss_gen_pairs(p, table(p, kv), NULL, &n);
    assert_int_equal((int)n, 3);
    assert_string_equal(ss_session_encode_except(p, table(p, kv), local),
                        "user=alice&shared-session-gen=5.00000000000000000000000000000000"
                        "&Expiry=2");
    assert_false(ss_session_entries_empty_except(table(p, tomb), local));
    assert_true(ss_session_entries_empty_except(table(p, only_local), local));
    assert_false(ss_session_entries_empty_except(table(p, only_local), NULL));
    assert_true(ss_session_key_listed(local, "csrf"));
    assert_false(ss_session_key_listed(local, "CSRF"));
    assert_false(ss_session_key_listed(NULL, "csrf"));
    apr_pool_destroy(p);
}

/* One cookie of a name, or none: two of one name are not told apart. */
static void test_cookie_get(void **state)
{
    apr_pool_t *p;
    int count;

    (void)state;
    apr_pool_create(&p, NULL);
    assert_string_equal(ss_cookie_get(p, "a=1; __Host-sssent=5.ab ; b=2", "__Host-sssent",
                                      &count), "5.ab");
    assert_int_equal(count, 1);
    assert_null(ss_cookie_get(p, "sssent=1;sssent=2", "sssent", &count));
    assert_int_equal(count, 2);
    assert_null(ss_cookie_get(p, "xsssent=1; sssentx=2", "sssent", &count));
    assert_int_equal(count, 0);
    assert_null(ss_cookie_get(p, NULL, "sssent", NULL));
    assert_string_equal(ss_cookie_get(p, "sssent", "sssent", NULL), "");
    assert_string_equal(ss_cookie_get(p, ";;\tsssent = v=w ;", "sssent", NULL), "v=w");
    apr_pool_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_vectors),
        cmocka_unit_test(test_digest_order_and_boundaries),
        cmocka_unit_test(test_parse_format),
        cmocka_unit_test(test_verify_and_trust),
        cmocka_unit_test(test_stamp),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_replace_rule),
        cmocka_unit_test(test_pairs_local_and_empty),
        cmocka_unit_test(test_cookie_get),
    };

    if (sodium_init() < 0 || apr_initialize() != APR_SUCCESS) {
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
