/* Unit tests of lib/ss_session_codec.c against mod_session's identity
 * encoding (session_identity_encode / session_identity_decode). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "ss_session_codec.h"

#include "unit_pool.h"

/* A table from "k1", "v1", "k2", "v2", ..., NULL (apr_table_add: keeps
 * duplicates, as a table may hold them). */
static apr_table_t *entries_make(apr_pool_t *p, const char *k, ...)
{
    apr_table_t *t = apr_table_make(p, 4);
    va_list ap;

    va_start(ap, k);
    while (k) {
        const char *v = va_arg(ap, const char *);

        apr_table_add(t, k, v);
        k = va_arg(ap, const char *);
    }
    va_end(ap);
    return t;
}

static void test_encode_basic(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(ss_session_encode(p, entries_make(p, "user", "alice", "role", "admin",
                                                          NULL)),
                        "user=alice&role=admin");
    assert_string_equal(ss_session_encode(p, entries_make(p, "user", "alice", NULL)),
                        "user=alice");
    assert_string_equal(ss_session_encode(p, apr_table_make(p, 1)), "");
}

static void test_encode_escaping(void **state)
{
    apr_pool_t *p = *state;

    /* kept: letters, digits and ".-*_"; space is '+'; the rest %xx, lowercase */
    assert_string_equal(ss_session_encode(p, entries_make(p, "a.b-c*d_e", "Zz09", NULL)),
                        "a.b-c*d_e=Zz09");
    assert_string_equal(ss_session_encode(p, entries_make(p, "full name", "Alice Smith", NULL)),
                        "full+name=Alice+Smith");
    assert_string_equal(ss_session_encode(p, entries_make(p, "q", "a+b&c=d%e/f?g#h~i", NULL)),
                        "q=a%2bb%26c%3dd%25e%2ff%3fg%23h%7ei");
    assert_string_equal(ss_session_encode(p, entries_make(p, "name", "J\xc3\xa9r\xc3\xb4me",
                                                          NULL)),
                        "name=J%c3%a9r%c3%b4me");
    assert_string_equal(ss_session_encode(p, entries_make(p, "k", "\x01\x1f\x7f\xff", NULL)),
                        "k=%01%1f%7f%ff");
}

/* Every byte, against the rule written out independently. */
static void test_encode_every_byte(void **state)
{
    apr_pool_t *p = *state;
    char value[256], expected[3 * 255 + 3], *e = expected;
    int c;

    e += sprintf(e, "k=");
    for (c = 1; c < 256; c++) {
        value[c - 1] = (char)c;
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || strchr(".-*_", c)) {
            *e++ = (char)c;
        }
        else if (c == ' ') {
            *e++ = '+';
        }
        else {
            e += sprintf(e, "%%%02x", c);
        }
    }
    *e = '\0';
    value[255] = '\0';
    assert_string_equal(ss_session_encode(p, entries_make(p, "k", value, NULL)), expected);
}

/* Every byte at every position of a 40-byte value, in runs of kept bytes
 * (the 16-byte steps of the SSE2 path) and alone: the same rule. */
static void test_encode_every_byte_every_position(void **state)
{
    apr_pool_t *p = *state;
    static const char kept[] = "aZ09.-*_mM";
    char value[41], expected[3 * 40 + 3];
    int c, pos, i;

    for (c = 1; c < 256; c++) {
        for (pos = 0; pos < 40; pos++) {
            char *e = expected;

            e += sprintf(e, "k=");
            for (i = 0; i < 40; i++) {
                value[i] = i == pos ? (char)c : kept[i % 10];
            }
            value[40] = '\0';
            for (i = 0; i < 40; i++) {
                unsigned char b = (unsigned char)value[i];

                if ((b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')
                    || (b && strchr(".-*_", b))) {
                    *e++ = (char)b;
                }
                else if (b == ' ') {
                    *e++ = '+';
                }
                else {
                    e += sprintf(e, "%%%02x", b);
                }
            }
            *e = '\0';
            assert_string_equal(ss_session_encode(p, entries_make(p, "k", value, NULL)),
                                expected);
        }
    }
}

static void test_encode_skips(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(ss_session_encode(p, entries_make(p, "expiry", "1700000000000000",
                                                          "user", "alice", NULL)),
                        "user=alice");
    /* reserved is that very name, compared as mod_session does: "Expiry"
     * is an ordinary entry */
    assert_string_equal(ss_session_encode(p, entries_make(p, "user", "alice", "EXPIRY", "1",
                                                          "Expiry", "2", NULL)),
                        "user=alice&EXPIRY=1&Expiry=2");
    assert_string_equal(ss_session_encode(p, entries_make(p, "", "x", "user", "alice",
                                                          "empty", "", NULL)),
                        "user=alice");
    assert_string_equal(ss_session_encode(p, entries_make(p, "expiry", "1", "", "", NULL)), "");
    /* "expiry" is reserved as a whole name only */
    assert_string_equal(ss_session_encode(p, entries_make(p, "expiry2", "1", "my expiry", "2",
                                                          NULL)),
                        "expiry2=1&my+expiry=2");
}

/* The one definition of an empty session, which decides whether a page
 * gets a loader, whether go sends a ticket and whether a ticket may
 * replace the session: an entry counts when neither key nor value is empty
 * and the key is not "expiry" (case-sensitive); the encoder carries exactly
 * those, so a session is empty exactly when it encodes to "". */
static void test_empty_definition(void **state)
{
    static const struct { const char *k, *v; int counts; } entries[] = {
        { "user", "alice", 1 },
        { "Expiry", "1", 1 },          /* not mod_session's reserved key */
        { "EXPIRY", "1", 1 },
        { "expiry2", "1", 1 },
        { "expiry", "1", 0 },          /* mod_session's own */
        { "expiry", "", 0 },
        { "user", "", 0 },
        { "", "x", 0 },
        { "", "", 0 },
    };
    apr_pool_t *p = *state;
    size_t i;

    assert_false(ss_session_entry_counts(NULL, "x"));
    assert_false(ss_session_entry_counts("x", NULL));
    assert_true(ss_session_entries_empty(apr_table_make(p, 1)));
    for (i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
        apr_table_t *t = entries_make(p, entries[i].k, entries[i].v, NULL);
        const char *enc = ss_session_encode(p, t);

        if (ss_session_entry_counts(entries[i].k, entries[i].v) != entries[i].counts
            || ss_session_entries_empty(t) == entries[i].counts
            || (*enc != '\0') != entries[i].counts) {
            fail_msg("\"%s\"=\"%s\": counts %d, empty %d, encoded \"%s\"; expected to %s",
                     entries[i].k, entries[i].v,
                     ss_session_entry_counts(entries[i].k, entries[i].v),
                     ss_session_entries_empty(t), enc,
                     entries[i].counts ? "count" : "not count");
        }
    }
    /* one entry that counts among those that do not */
    assert_false(ss_session_entries_empty(entries_make(p, "expiry", "1", "", "x", "Expiry", "1",
                                                       NULL)));
    assert_true(ss_session_entries_empty(entries_make(p, "expiry", "1", "", "x", "a", "",
                                                      NULL)));
}

static void test_encode_duplicates(void **state)
{
    apr_pool_t *p = *state;

    /* every entry, in table order, as apr_table_do walks them */
    assert_string_equal(ss_session_encode(p, entries_make(p, "a", "1", "b", "2", "a", "3", NULL)),
                        "a=1&b=2&a=3");
}

static void expect_entry(const apr_table_t *t, const char *k, const char *v)
{
    const char *got = apr_table_get(t, k);

    if (!got || strcmp(got, v)) {
        fail_msg("entry \"%s\": \"%s\", expected \"%s\"", k, got ? got : "(none)", v);
    }
}

static void test_decode_basic(void **state)
{
    apr_pool_t *p = *state;
    apr_table_t *t = apr_table_make(p, 4);

    assert_int_equal(ss_session_decode(p, "user=alice&role=admin", t), 2);
    expect_entry(t, "user", "alice");
    expect_entry(t, "role", "admin");

    t = apr_table_make(p, 4);
    assert_int_equal(ss_session_decode(p, "full+name=Alice+Smith&q=a%2bb%26c%3dd%25e%2Ff", t), 2);
    expect_entry(t, "full name", "Alice Smith");
    expect_entry(t, "q", "a+b&c=d%e/f");

    t = apr_table_make(p, 4);
    assert_int_equal(ss_session_decode(p, "name=J%C3%A9r%c3%b4me", t), 1);
    expect_entry(t, "name", "J\xc3\xa9r\xc3\xb4me");

    t = apr_table_make(p, 4);
    assert_int_equal(ss_session_decode(p, NULL, t), 0);
    assert_int_equal(ss_session_decode(p, "", t), 0);
    assert_int_equal(ss_session_decode(p, "&&&", t), 0);
    assert_int_equal(ss_session_decode(p, "===", t), 0);
}

/* apr_strtok, as mod_session splits: runs of separators collapse, leading
 * '=' of a pair are skipped, the value keeps any later '='. */
static void test_decode_splitting(void **state)
{
    apr_pool_t *p = *state;
    apr_table_t *t = apr_table_make(p, 4);

    assert_int_equal(ss_session_decode(p, "&&a=1&&&b=2&", t), 2);
    expect_entry(t, "a", "1");
    expect_entry(t, "b", "2");

    t = apr_table_make(p, 4);
    assert_int_equal(ss_session_decode(p, "a=b=c", t), 1);
    expect_entry(t, "a", "b=c");

    t = apr_table_make(p, 4);
    assert_int_equal(ss_session_decode(p, "==a=1", t), 1);
    expect_entry(t, "a", "1");

    t = apr_table_make(p, 4);
    assert_int_equal(ss_session_decode(p, "a==1", t), 1);
    expect_entry(t, "a", "=1");

    /* apr_table_set: the last one wins, keys compare without case */
    t = apr_table_make(p, 4);
    assert_int_equal(ss_session_decode(p, "a=1&A=2&a=3", t), 1);
    expect_entry(t, "a", "3");
}

static void test_decode_bad_escapes(void **state)
{
    static const char *const bad[] = {
        "x=%zz", "x=%2", "x=%", "x=%%41", "x=%g1", "x=a%0", "x%=1", "%=1",
        "x=%00", "x=a%00b", "%00=1", "k%00=1", "x=%+1",
    };
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        apr_table_t *t = apr_table_make(p, 4);
        const char *s = apr_pstrcat(p, "a=1&", bad[i], "&b=2", NULL);

        if (ss_session_decode(p, s, t) != 2) {
            fail_msg("\"%s\" not skipped", bad[i]);
        }
        expect_entry(t, "a", "1");
        expect_entry(t, "b", "2");
        assert_null(apr_table_get(t, "x"));
    }
}

static void test_decode_reserved(void **state)
{
    apr_pool_t *p = *state;
    apr_table_t *t = apr_table_make(p, 4);

    assert_int_equal(ss_session_decode(p, "expiry=1700000000000000&user=x&expir%79=2", t),
                     1);
    expect_entry(t, "user", "x");
    assert_null(apr_table_get(t, "expiry"));

    /* another case is another key (the table itself ignores case) */
    t = apr_table_make(p, 4);
    assert_int_equal(ss_session_decode(p, "user=x&Expiry=3", t), 2);
    expect_entry(t, "Expiry", "3");

    t = apr_table_make(p, 4);
    assert_int_equal(ss_session_decode(p, "expiry2=1&my+expiry=2", t), 2);
}

/* A pair without a value removes the key, by its name as written. */
static void test_decode_no_value(void **state)
{
    apr_pool_t *p = *state;
    apr_table_t *t = apr_table_make(p, 4);

    assert_int_equal(ss_session_decode(p, "a=1&b=2&a", t), 1);
    assert_null(apr_table_get(t, "a"));
    expect_entry(t, "b", "2");

    t = apr_table_make(p, 4);
    assert_int_equal(ss_session_decode(p, "a=1&a=&b=2", t), 1);
    assert_null(apr_table_get(t, "a"));

    t = apr_table_make(p, 4);
    assert_int_equal(ss_session_decode(p, "a+b=1&a+b", t), 1);
    expect_entry(t, "a b", "1");

    t = apr_table_make(p, 4);
    assert_int_equal(ss_session_decode(p, "a&a=1", t), 1);
    expect_entry(t, "a", "1");

    t = apr_table_make(p, 4);
    assert_int_equal(ss_session_decode(p, "lonely", t), 0);
}

static void test_decode_into_filled(void **state)
{
    apr_pool_t *p = *state;
    apr_table_t *t = apr_table_make(p, 4);

    apr_table_set(t, "old", "x");
    apr_table_set(t, "user", "bob");
    assert_int_equal(ss_session_decode(p, "user=alice&role=admin", t), 3);
    expect_entry(t, "user", "alice");
    expect_entry(t, "old", "x");
}

static void test_round_trip(void **state)
{
    apr_pool_t *p = *state;
    char value[256];
    apr_table_t *in, *out;
    const apr_array_header_t *arr;
    const apr_table_entry_t *e;
    int c, i;

    for (c = 1; c < 256; c++) {
        value[c - 1] = (char)c;
    }
    value[255] = '\0';
    in = entries_make(p, "every byte", value, "k=&+%", "v=&+%", "user", "alice",
                      "expiry", "12", NULL);
    out = apr_table_make(p, 4);
    assert_int_equal(ss_session_decode(p, ss_session_encode(p, in), out), 3);
    arr = apr_table_elts(out);
    e = (const apr_table_entry_t *)arr->elts;
    for (i = 0; i < arr->nelts; i++) {
        expect_entry(in, e[i].key, e[i].val);
    }
    assert_string_equal(ss_session_encode(p, out), ss_session_encode(p, in));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_basic),
        cmocka_unit_test(test_encode_escaping),
        cmocka_unit_test(test_encode_every_byte),
        cmocka_unit_test(test_encode_every_byte_every_position),
        cmocka_unit_test(test_encode_skips),
        cmocka_unit_test(test_empty_definition),
        cmocka_unit_test(test_encode_duplicates),
        cmocka_unit_test(test_decode_basic),
        cmocka_unit_test(test_decode_splitting),
        cmocka_unit_test(test_decode_bad_escapes),
        cmocka_unit_test(test_decode_reserved),
        cmocka_unit_test(test_decode_no_value),
        cmocka_unit_test(test_decode_into_filled),
        cmocka_unit_test(test_round_trip),
    };

    return cmocka_run_group_tests(tests, pool_setup, pool_teardown);
}
