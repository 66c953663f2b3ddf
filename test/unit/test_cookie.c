/* Unit tests of lib/ss_cookie.c: reading the Cookie header (a listed name
 * twice is no session), reading an application's Set-Cookie (deletions by
 * Max-Age and Expires), cookie names and values, attributes, the lines a
 * receiving site writes, the marker cookie, and the strict decoding of a
 * ticket's cookie pairs (the protocol's vector). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "ss_cookie.h"
#include "ss_session_codec.h"
#include "ss_gen.h"
#include "ss_keyring.h"

#include "unit_pool.h"

static const char *const NAMES[] = { "sessionid", "csrf" };

static void test_names_are_tokens(void **state)
{
    (void)state;
    assert_true(ss_cookie_token("sessionid", 9));
    assert_true(ss_cookie_token("PHPSESSID", 9));
    assert_true(ss_cookie_token("__Host-app_session", 18));
    assert_true(ss_cookie_token("a!#$%&'*+-.^_`|~z", 17));
    assert_false(ss_cookie_token("", 0));
    assert_false(ss_cookie_token("a b", 3));
    assert_false(ss_cookie_token("a=b", 3));
    assert_false(ss_cookie_token("a;b", 3));
    assert_false(ss_cookie_token("a\"b", 3));
    assert_false(ss_cookie_token("a,b", 3));
    assert_false(ss_cookie_token("a\x01" "b", 3));
    assert_false(ss_cookie_token("\xc3\xa9", 2));
}

static void test_values_are_cookie_octets(void **state)
{
    (void)state;
    assert_true(ss_cookie_octets("q8x1v0k2m9", 10));
    assert_true(ss_cookie_octets("a+b/c=%2F", 9));
    assert_true(ss_cookie_octets("!#$%&'()*+-./:<=>?@[]^_`{|}~", 28));
    assert_false(ss_cookie_octets("", 0));
    assert_false(ss_cookie_octets("a;b", 3));
    assert_false(ss_cookie_octets("a,b", 3));
    assert_false(ss_cookie_octets("a b", 3));
    assert_false(ss_cookie_octets("\"ab\"", 4));
    assert_false(ss_cookie_octets("a\\b", 3));
    assert_false(ss_cookie_octets("a\r\nSet-Cookie: x=1", 19));
    assert_false(ss_cookie_octets("a\0b", 3));
    assert_false(ss_cookie_octets("a\x7f", 2));
    assert_false(ss_cookie_octets("\xc3\xa9", 2));
}

static void test_read_listed_cookies(void **state)
{
    apr_pool_t *p = *state;
    apr_table_t *t = apr_table_make(p, 2);

    assert_int_equal(ss_cookie_read("a=1; sessionid=abc ;csrf=x; other=2", NAMES, 2, t), 1);
    assert_string_equal(apr_table_get(t, "sessionid"), "abc");
    assert_string_equal(apr_table_get(t, "csrf"), "x");
    assert_null(apr_table_get(t, "other"));
    assert_int_equal(apr_table_elts(t)->nelts, 2);

    /* names compare exactly: a prefix or another case is another cookie */
    assert_int_equal(ss_cookie_read("sessionidx=1; SESSIONID=2", NAMES, 2, t), 1);
    assert_int_equal(apr_table_elts(t)->nelts, 0);

    assert_int_equal(ss_cookie_read(NULL, NAMES, 2, t), 1);
    assert_int_equal(apr_table_elts(t)->nelts, 0);
}

static void test_a_listed_name_twice_is_no_session(void **state)
{
    apr_pool_t *p = *state;
    apr_table_t *t = apr_table_make(p, 2);

    assert_int_equal(ss_cookie_read("sessionid=abc; csrf=x; sessionid=evil", NAMES, 2, t), 0);
    assert_int_equal(apr_table_elts(t)->nelts, 0);
    /* even with one value twice */
    assert_int_equal(ss_cookie_read("sessionid=abc; sessionid=abc", NAMES, 2, t), 0);
    /* a value that is no cookie-octets */
    assert_int_equal(ss_cookie_read("sessionid=\"abc\"", NAMES, 2, t), 0);
    assert_int_equal(apr_table_elts(t)->nelts, 0);
    /* other names twice do not matter */
    assert_int_equal(ss_cookie_read("x=1; x=2; sessionid=abc", NAMES, 2, t), 1);
    assert_string_equal(apr_table_get(t, "sessionid"), "abc");
}

static void test_get_one_cookie(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(ss_cookie_get(p, "a=1; ssgen=1.ab; b=2", "ssgen", NULL), "1.ab");
    assert_null(ss_cookie_get(p, "a=1; ssgen=1; ssgen=2", "ssgen", NULL));
    assert_null(ss_cookie_get(p, "a=1", "ssgen", NULL));
    assert_null(ss_cookie_get(p, NULL, "ssgen", NULL));
}

static void test_set_cookie_lines(void **state)
{
    apr_pool_t *p = *state;
    apr_time_t now = apr_time_from_sec(1700000000);
    ss_cookie_change c;

    assert_true(ss_set_cookie_parse(p, "sessionid=k1; expires=Sat, 02 Dec 2023 00:00:00 GMT; "
                                       "HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax",
                                    now, &c));
    assert_string_equal(c.name, "sessionid");
    assert_string_equal(c.value, "k1");
    assert_false(c.deletes);

    /* Django's deletion: a quoted empty value, Max-Age=0 */
    assert_true(ss_set_cookie_parse(p, "sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; "
                                       "Max-Age=0; Path=/; SameSite=Lax", now, &c));
    assert_true(c.deletes);
    /* PHP's deletion: a value and a past Expires (and Max-Age=0) */
    assert_true(ss_set_cookie_parse(p, "PHPSESSID=deleted; expires=Thu, 01-Jan-1970 00:00:01 GMT; "
                                       "Max-Age=0; path=/", now, &c));
    assert_string_equal(c.value, "deleted");
    assert_true(c.deletes);
    /* a past Expires alone, whatever the value */
    assert_true(ss_set_cookie_parse(p, "PHPSESSID=deleted; expires=Thu, 01-Jan-1970 00:00:01 GMT",
                                    now, &c));
    assert_true(c.deletes);
    /* a negative Max-Age; Max-Age wins over Expires either way */
    assert_true(ss_set_cookie_parse(p, "a=b; Max-Age=-1", now, &c));
    assert_true(c.deletes);
    assert_true(ss_set_cookie_parse(p, "a=b; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=60",
                                    now, &c));
    assert_false(c.deletes);
    /* an Expires in the future, a Max-Age that is no number (ignored) */
    assert_true(ss_set_cookie_parse(p, "a=b; Expires=Sun, 01 Jan 2040 00:00:00 GMT", now, &c));
    assert_false(c.deletes);
    assert_true(ss_set_cookie_parse(p, "a=b; Max-Age=soon", now, &c));
    assert_false(c.deletes);
    /* white space around name and value */
    assert_true(ss_set_cookie_parse(p, "  a = b ;Path=/", now, &c));
    assert_string_equal(c.name, "a");
    assert_string_equal(c.value, "b");
    /* no '=' before the first ';', or no name: no cookie */
    assert_false(ss_set_cookie_parse(p, "justtext; a=b", now, &c));
    assert_false(ss_set_cookie_parse(p, "=b", now, &c));
    assert_false(ss_set_cookie_parse(p, NULL, now, &c));
}

static void test_attributes(void **state)
{
    apr_pool_t *p = *state;
    ss_cookie_attrs a;

    assert_null(ss_cookie_attrs_parse(p, "Path=/app; Domain=.example.com; Secure; HttpOnly; "
                                         "SameSite=None; Max-Age=1209600", &a));
    assert_string_equal(a.path, "/app");
    assert_string_equal(a.domain, ".example.com");
    assert_string_equal(a.samesite, "None");
    assert_true(a.secure);
    assert_true(a.httponly);
    assert_true(a.has_max_age);
    assert_int_equal(a.max_age, 1209600);

    /* a ',' in an Expires date, and only there */
    assert_null(ss_cookie_attrs_parse(p, "Expires=Sun, 01 Jan 2040 00:00:00 GMT; Path=/", &a));
    assert_string_equal(a.expires, "Sun, 01 Jan 2040 00:00:00 GMT");
    assert_non_null(ss_cookie_attrs_parse(p, "Path=/a,b", &a));
    assert_non_null(ss_cookie_attrs_parse(p, "Path=/, Secure", &a));
    /* control characters: a header or an attribute of their own */
    assert_non_null(ss_cookie_attrs_parse(p, "Path=/\r\nSet-Cookie: x=1", &a));
    assert_non_null(ss_cookie_attrs_parse(p, "Path=/\t", &a));
    assert_non_null(ss_cookie_attrs_parse(p, "Path=/\x7f", &a));
    assert_non_null(ss_cookie_attrs_parse(p, "SameSite=Sometimes", &a));
    assert_non_null(ss_cookie_attrs_parse(p, "Max-Age=1d", &a));
    assert_non_null(ss_cookie_attrs_parse(p, "Expires=tomorrow", &a));
    assert_non_null(ss_cookie_attrs_parse(p, "Path=/; =x", &a));

    ss_cookie_attrs_default(p, 1, &a);
    assert_string_equal(a.text, "Path=/; HttpOnly; SameSite=Lax; Secure");
    assert_true(a.secure);
    ss_cookie_attrs_default(p, 0, &a);
    assert_string_equal(a.text, "Path=/; HttpOnly; SameSite=Lax");
    assert_false(a.secure);
}

static void test_domain_matches(void **state)
{
    (void)state;
    assert_true(ss_cookie_domain_matches("example.com", "example.com"));
    assert_true(ss_cookie_domain_matches(".example.com", "www.example.com"));
    assert_true(ss_cookie_domain_matches("EXAMPLE.com", "www.example.COM"));
    assert_false(ss_cookie_domain_matches("example.com", "badexample.com"));
    assert_false(ss_cookie_domain_matches("www.example.com", "example.com"));
    assert_false(ss_cookie_domain_matches("example.org", "www.example.com"));
    assert_false(ss_cookie_domain_matches(".", "example.com"));
}

static void test_set_and_delete_lines(void **state)
{
    apr_pool_t *p = *state;
    ss_cookie_attrs a;

    ss_cookie_attrs_parse(p, "Path=/app; Domain=example.com; Secure; HttpOnly; SameSite=None; "
                             "Max-Age=600", &a);
    assert_string_equal(ss_cookie_set_line(p, "sessionid", "k1", &a),
                        "sessionid=k1; Path=/app; Domain=example.com; Secure; HttpOnly; "
                        "SameSite=None; Max-Age=600");
    assert_string_equal(ss_cookie_delete_line(p, "sessionid", &a),
                        "sessionid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; "
                        "Path=/app; Domain=example.com; SameSite=None; Secure; HttpOnly");
    ss_cookie_attrs_parse(p, "", &a);
    assert_string_equal(ss_cookie_set_line(p, "a", "b", &a), "a=b");
    assert_string_equal(ss_cookie_delete_line(p, "a", &a),
                        "a=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
}

static void test_marker(void **state)
{
    apr_pool_t *p = *state;
    ss_cookie_attrs a;

    assert_string_equal(ss_cookie_marker_name(1), "__Host-ssgen");
    assert_string_equal(ss_cookie_marker_name(0), "ssgen");
    ss_cookie_attrs_parse(p, "Path=/; Secure; HttpOnly; SameSite=None; Max-Age=1209600", &a);
    assert_string_equal(ss_cookie_marker_line(p, 1, &a, "1700000000000000.c7cd"),
                        "__Host-ssgen=1700000000000000.c7cd; Path=/; Max-Age=1209600; "
                        "HttpOnly; SameSite=None; Secure");
    ss_cookie_attrs_default(p, 0, &a);
    assert_string_equal(ss_cookie_marker_line(p, 0, &a, "5.ab"),
                        "ssgen=5.ab; Path=/; HttpOnly; SameSite=Lax");
    ss_cookie_attrs_parse(p, "Expires=Sun, 01 Jan 2040 00:00:00 GMT", &a);
    assert_string_equal(ss_cookie_marker_line(p, 0, &a, "5.ab"),
                        "ssgen=5.ab; Path=/; Expires=Sun, 01 Jan 2040 00:00:00 GMT; "
                        "HttpOnly; SameSite=Lax");
    assert_string_equal(ss_cookie_marker_line(p, 0, &a, NULL),
                        "ssgen=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; "
                        "HttpOnly; SameSite=Lax");
}

/* the protocol's vector: the value a+b/c=%2F of sid */
static void test_payload_vector(void **state)
{
    apr_pool_t *p = *state;
    static const char *const sid[] = { "sid" };
    apr_table_t *t = apr_table_make(p, 2);
    const char *gen;

    apr_table_set(t, "sid", "a+b/c=%2F");
    assert_string_equal(ss_session_encode(p, t), "sid=a%2bb%2fc%3d%252F");
    assert_int_equal(ss_cookie_payload_decode(p, "sid=a%2bb%2fc%3d%252F", sid, 1, t, &gen), 1);
    assert_string_equal(apr_table_get(t, "sid"), "a+b/c=%2F");
    assert_null(gen);
}

static void test_payload_decode(void **state)
{
    apr_pool_t *p = *state;
    apr_table_t *t = apr_table_make(p, 2);
    const char *gen;

    assert_int_equal(ss_cookie_payload_decode(p, "sessionid=k1&shared-session-gen=5.ab&other=x",
                                              NAMES, 2, t, &gen), 1);
    assert_string_equal(apr_table_get(t, "sessionid"), "k1");
    assert_null(apr_table_get(t, "other"));
    assert_string_equal(gen, "5.ab");
    /* a tombstone: the generation only */
    assert_int_equal(ss_cookie_payload_decode(p, "shared-session-gen=6.cd", NAMES, 2, t, &gen), 1);
    assert_int_equal(apr_table_elts(t)->nelts, 0);
    assert_string_equal(gen, "6.cd");
    /* not cookie-octets once decoded: ; , space " CR LF */
    assert_int_equal(ss_cookie_payload_decode(p, "sessionid=a%3bb", NAMES, 2, t, &gen), 0);
    assert_int_equal(apr_table_elts(t)->nelts, 0);
    assert_int_equal(ss_cookie_payload_decode(p, "sessionid=a%2cb", NAMES, 2, t, &gen), 0);
    assert_int_equal(ss_cookie_payload_decode(p, "sessionid=a+b", NAMES, 2, t, &gen), 0);
    assert_int_equal(ss_cookie_payload_decode(p, "sessionid=%22ab%22", NAMES, 2, t, &gen), 0);
    assert_int_equal(ss_cookie_payload_decode(p, "sessionid=a%0d%0aSet-Cookie:+x=1", NAMES, 2,
                                              t, &gen), 0);
    /* does not decode: %00, a bad escape; no '=', an empty side */
    assert_int_equal(ss_cookie_payload_decode(p, "sessionid=a%00b", NAMES, 2, t, &gen), 0);
    assert_int_equal(ss_cookie_payload_decode(p, "sessionid=a%zz", NAMES, 2, t, &gen), 0);
    assert_int_equal(ss_cookie_payload_decode(p, "sessionid", NAMES, 2, t, &gen), 0);
    assert_int_equal(ss_cookie_payload_decode(p, "sessionid=", NAMES, 2, t, &gen), 0);
    assert_int_equal(ss_cookie_payload_decode(p, "=x", NAMES, 2, t, &gen), 0);
    /* twice */
    assert_int_equal(ss_cookie_payload_decode(p, "sessionid=a&sessionid=b", NAMES, 2, t, &gen), 0);
    assert_int_equal(ss_cookie_payload_decode(p, "shared-session-gen=1.a&shared-session-gen=2.b",
                                              NAMES, 2, t, &gen), 0);
    assert_null(gen);
    /* an unlisted name's value is not looked at */
    assert_int_equal(ss_cookie_payload_decode(p, "other=a%3bb&sessionid=k", NAMES, 2, t, &gen), 1);
    assert_string_equal(apr_table_get(t, "sessionid"), "k");
}

static void test_payload_size(void **state)
{
    apr_pool_t *p = *state;
    apr_table_t *t = apr_table_make(p, 2);
    const char *gen;
    char *big = apr_palloc(p, SS_COOKIE_MAX + 20);

    /* name and value at most SS_COOKIE_MAX bytes */
    memset(big, 'x', SS_COOKIE_MAX + 19);
    big[SS_COOKIE_MAX + 19] = '\0';
    memcpy(big, "sessionid=", 10);
    big[10 + SS_COOKIE_MAX - 9] = '\0';
    assert_int_equal(ss_cookie_payload_decode(p, big, NAMES, 2, t, &gen), 1);
    big[10 + SS_COOKIE_MAX - 9] = 'x';
    big[10 + SS_COOKIE_MAX - 8] = '\0';
    assert_int_equal(ss_cookie_payload_decode(p, big, NAMES, 2, t, &gen), 0);
}

/* the protocol's vectors: the marker of sessionid=q8x1v0k2m9, and a tombstone */
static void test_marker_vector(void **state)
{
    apr_pool_t *p = *state;
    static const char *const sid[] = { "sessionid" };
    unsigned char master[SS_MASTER_KEY_BYTES];
    apr_table_t *t = apr_table_make(p, 1);
    ss_gen_pair pair;
    ss_key key;
    ss_gen g;
    char text[SS_GEN_TEXT_MAX];
    int i;

    for (i = 0; i < SS_MASTER_KEY_BYTES; i++) {
        master[i] = (unsigned char)i;
    }
    ss_key_derive(&key, master);
    assert_int_equal(ss_cookie_read("a=1; sessionid=q8x1v0k2m9", sid, 1, t), 1);
    pair.key = "sessionid";
    pair.val = apr_table_get(t, "sessionid");
    g.t = APR_UINT64_C(1700000000000000);
    ss_gen_digest(g.d, key.gk, g.t, &pair, 1);
    ss_gen_format(&g, text);
    assert_string_equal(text, "1700000000000000.b8e42bba5a7399115e12fce7202a9f09");
    g.t = APR_UINT64_C(1700000001000000);
    ss_gen_digest(g.d, key.gk, g.t, NULL, 0);
    ss_gen_format(&g, text);
    assert_string_equal(text, "1700000001000000.335e01ad9959bc6f6246bdc12853b99a");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_are_tokens),
        cmocka_unit_test(test_values_are_cookie_octets),
        cmocka_unit_test(test_read_listed_cookies),
        cmocka_unit_test(test_a_listed_name_twice_is_no_session),
        cmocka_unit_test(test_get_one_cookie),
        cmocka_unit_test(test_set_cookie_lines),
        cmocka_unit_test(test_attributes),
        cmocka_unit_test(test_domain_matches),
        cmocka_unit_test(test_set_and_delete_lines),
        cmocka_unit_test(test_marker),
        cmocka_unit_test(test_payload_vector),
        cmocka_unit_test(test_payload_decode),
        cmocka_unit_test(test_payload_size),
        cmocka_unit_test(test_marker_vector),
    };

    return cmocka_run_group_tests(tests, pool_setup, pool_teardown);
}
