/* Unit tests of lib/ss_state.c: the state cookie of the navigation flow,
 * its S (the protocol's test vector), finding the cookie that belongs to
 * a ticket, the four-cookie limit and start's `to`. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "ss_state.h"
#include "ss_base64.h"

#include "unit_pool.h"

/* the protocol's vector: state cookie text of bytes 0xc0..0xcf */
#define VECTOR_TEXT "wMHCw8TFxsfIycrLzM3Ozw"
#define VECTOR_S    "tcd_sXRZM4zS6rnwnTRIDg"

static void vector_random(unsigned char r[SS_STATE_RANDOM_BYTES])
{
    int i;

    for (i = 0; i < SS_STATE_RANDOM_BYTES; i++) {
        r[i] = (unsigned char)(0xc0 + i);
    }
}

static void test_vector(void **state)
{
    apr_pool_t *p = *state;
    unsigned char r[SS_STATE_RANDOM_BYTES], s[SS_STATE_BYTES], d[SS_STATE_BYTES];
    const char *text;

    vector_random(r);
    text = ss_state_text(p, r, NULL);
    assert_string_equal(text, VECTOR_TEXT);
    ss_state_digest(text, strlen(text), s);
    assert_string_equal(ss_state_encode(p, s), VECTOR_S);
    assert_true(ss_state_decode(VECTOR_S, d));
    assert_memory_equal(s, d, SS_STATE_BYTES);
    assert_string_equal(ss_state_cookie_name(p, s, 1), "__Host-ssst-tcd_sXRZ");
    assert_string_equal(ss_state_cookie_name(p, s, 0), "ssst-tcd_sXRZ");
}

static void test_decode_refuses(void **state)
{
    unsigned char s[SS_STATE_BYTES];

    (void)state;
    assert_false(ss_state_decode(NULL, s));
    assert_false(ss_state_decode("", s));
    assert_false(ss_state_decode(VECTOR_S "A", s));
    assert_false(ss_state_decode("tcd_sXRZM4zS6rnwnTRID", s));
    assert_false(ss_state_decode("tcd_sXRZM4zS6rnwnTRID+", s));
    assert_false(ss_state_decode("tcd_sXRZM4zS6rnwnTRIDh", s));  /* unused bits set */
}

static void test_text_with_to(void **state)
{
    apr_pool_t *p = *state;
    unsigned char r[SS_STATE_RANDOM_BYTES];
    const char *text;

    vector_random(r);
    text = ss_state_text(p, r, "/page?x=1");
    assert_true(!strncmp(text, VECTOR_TEXT ".", strlen(VECTOR_TEXT) + 1));
    assert_string_equal(ss_state_text_to(p, text, "/shared-session/"), "/page?x=1");
    assert_null(ss_state_text_to(p, VECTOR_TEXT, "/shared-session/"));
    assert_null(ss_state_text_to(p, VECTOR_TEXT ".", "/shared-session/"));
    assert_null(ss_state_text_to(p, VECTOR_TEXT ".%%%", "/shared-session/"));
    /* a carried to that start would refuse is not used */
    assert_null(ss_state_text_to(p, ss_state_text(p, r, "//evil.example/"), "/shared-session/"));
    assert_null(ss_state_text_to(p, ss_state_text(p, r, "/shared-session/go"), "/shared-session/"));
}

static void test_find(void **state)
{
    apr_pool_t *p = *state;
    unsigned char r[SS_STATE_RANDOM_BYTES], s[SS_STATE_BYTES], other[SS_STATE_BYTES];
    const char *text, *name, *hdr, *got;

    vector_random(r);
    text = ss_state_text(p, r, "/a");
    ss_state_digest(text, strlen(text), s);
    name = ss_state_cookie_name(p, s, 1);

    hdr = apr_pstrcat(p, "sess=x; ", name, "=", text, "; z=1", NULL);
    got = ss_state_cookie_find(p, hdr, s, 1);
    assert_non_null(got);
    assert_string_equal(got, text);
    /* not on the other scheme's name */
    assert_null(ss_state_cookie_find(p, hdr, s, 0));
    /* the right name with a text of another state (a cookie of the same
     * name planted by someone else) does not match; a second cookie of the
     * name with the right text still does */
    hdr = apr_pstrcat(p, name, "=", VECTOR_TEXT, ";", name, "=", text, NULL);
    assert_string_equal(ss_state_cookie_find(p, hdr, s, 1), text);
    hdr = apr_pstrcat(p, name, "=", VECTOR_TEXT, NULL);
    assert_null(ss_state_cookie_find(p, hdr, s, 1));
    /* another S */
    memcpy(other, s, sizeof(other));
    other[15] ^= 1;
    hdr = apr_pstrcat(p, name, "=", text, NULL);
    assert_null(ss_state_cookie_find(p, hdr, other, 1));
    assert_null(ss_state_cookie_find(p, NULL, s, 1));
    assert_null(ss_state_cookie_find(p, "", s, 1));
    assert_null(ss_state_cookie_find(p, ";;; ;", s, 1));
    /* white space around name and value */
    hdr = apr_pstrcat(p, "  ", name, " = ", text, " ;", NULL);
    assert_string_equal(ss_state_cookie_find(p, hdr, s, 1), text);
}

static void test_evict(void **state)
{
    apr_pool_t *p = *state;

    assert_null(ss_state_cookie_evict(p, NULL, 1));
    assert_null(ss_state_cookie_evict(p, "a=1", 1));
    assert_null(ss_state_cookie_evict(p, "__Host-ssst-AAAAAAAA=x; __Host-ssst-BBBBBBBB=x; "
                                         "__Host-ssst-CCCCCCCC=x", 1));
    assert_string_equal(ss_state_cookie_evict(p, "a=1; __Host-ssst-AAAAAAAA=x; "
                                                 "__Host-ssst-BBBBBBBB=x; b=2; "
                                                 "__Host-ssst-CCCCCCCC=x; __Host-ssst-DDDDDDDD=x", 1),
                        "__Host-ssst-AAAAAAAA");
    assert_string_equal(ss_state_cookie_evict(p, "ssst-AAAAAAAA=x; ssst-BBBBBBBB=x; "
                                                 "ssst-CCCCCCCC=x; ssst-DDDDDDDD=x; "
                                                 "ssst-EEEEEEEE=x", 0), "ssst-AAAAAAAA");
    /* the other scheme's cookies and look-alike names do not count */
    assert_null(ss_state_cookie_evict(p, "ssst-AAAAAAAA=x; ssst-BBBBBBBB=x; "
                                         "ssst-CCCCCCCC=x; ssst-DDDDDDDD=x", 1));
    assert_null(ss_state_cookie_evict(p, "ssst-AAAAAAA=x; ssst-BBBBBBBBB=x; "
                                         "ssst-CCCC+CCC=x; xssst-DDDDDDDD=x", 0));
}

static void test_to_check(void **state)
{
    static const char *const good[] = {
        "/", "/page?x=1", "/a/b.html", "/p?to=/shared-session/go", "/shared-sessions/x",
        "/x/shared-session/", "/a.b/c..d/",
    };
    static const char *const bad[] = {
        "", "page", "//evil.example/", "/\\evil", "/a#b", "/a b", "/a\tb",
        "/shared-session/", "/shared-session/go?to=x", "/shared-session/start",
        "/SHARED-SESSION/go", "/%73hared-session/go", "/shared-session%2Fgo",
        "/x/../shared-session/go", "/./shared-session/", "/x//shared-session/",
        "/a/.", "/a/..", "/%2e%2e/shared-session/", "/a%00b", "/a%zz", "/a%2",
        "/a%", "http://b.test/", "/shared-session%2f", "/shared-session",
    };
    char *longest;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        const char *why = ss_state_to_check(good[i], "/shared-session/");
        if (why) {
            fail_msg("'%s' refused: %s", good[i], why);
        }
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (!ss_state_to_check(bad[i], "/shared-session/")) {
            fail_msg("'%s' accepted", bad[i]);
        }
    }
    assert_non_null(ss_state_to_check(NULL, "/shared-session/"));
    longest = malloc(SS_STATE_TO_MAX + 2);
    longest[0] = '/';
    memset(longest + 1, 'x', SS_STATE_TO_MAX - 1);
    longest[SS_STATE_TO_MAX] = '\0';
    assert_null(ss_state_to_check(longest, "/shared-session/"));
    longest[SS_STATE_TO_MAX] = 'x';
    longest[SS_STATE_TO_MAX + 1] = '\0';
    assert_non_null(ss_state_to_check(longest, "/shared-session/"));
    free(longest);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector),
        cmocka_unit_test(test_decode_refuses),
        cmocka_unit_test(test_text_with_to),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_evict),
        cmocka_unit_test(test_to_check),
    };

    return cmocka_run_group_tests(tests, pool_setup, pool_teardown);
}
