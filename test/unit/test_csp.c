/* Unit tests of lib/ss_csp.c: which directive a policy applies to the
 * loader's <script src>, how it is widened by exactly the ticket URLs, and
 * when 'strict-dynamic' needs the page's own nonce. */
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

#include "ss_csp.h"

#include "unit_pool.h"

#define T1 "https://b.test/shared-session/AQEB.js"
#define T2 "https://c.test:8443/shared-session/AgIC.js"

static void expect_widened(apr_pool_t *p, const char *in, const char *sources,
                           const char *want)
{
    const char *got = ss_csp_widen(p, in, sources);

    if (strcmp(got, want)) {
        fail_msg("widen(\"%s\", \"%s\")\n  got  \"%s\"\n  want \"%s\"", in, sources, got,
                 want);
    }
    /* widening what is widened changes nothing */
    assert_string_equal(ss_csp_widen(p, got, sources), got);
}

static void expect_unchanged(apr_pool_t *p, const char *in, const char *sources)
{
    /* the very same pointer: the caller knows nothing changed */
    assert_ptr_equal(ss_csp_widen(p, in, sources), in);
}

static void test_widen_the_directive_that_applies(void **state)
{
    apr_pool_t *p = *state;

    expect_widened(p, "script-src 'self'", T1, "script-src 'self' " T1);
    expect_widened(p, "default-src 'self'", T1 " " T2, "default-src 'self' " T1 " " T2);
    /* script-src-elem before script-src before default-src */
    expect_widened(p, "default-src 'self'; script-src 'self'; img-src *",
                   T1, "default-src 'self'; script-src 'self' " T1 "; img-src *");
    expect_widened(p, "script-src-elem 'self'; script-src 'none'; default-src 'none'",
                   T1, "script-src-elem 'self' " T1 "; script-src 'none'; default-src 'none'");
    /* names are case-insensitive; white space and the rest are kept */
    expect_widened(p, "  Script-Src\t'self'  ;object-src 'none' ", T1,
                   "  Script-Src 'self' " T1 "  ;object-src 'none' ");
    /* the first directive of a name counts */
    expect_widened(p, "script-src 'self'; script-src https:", T1,
                   "script-src 'self' " T1 "; script-src https:");
    /* a directive without sources, and 'none', allow exactly the loader then */
    expect_widened(p, "script-src; img-src 'self'", T1, "script-src " T1 "; img-src 'self'");
    expect_widened(p, "script-src 'NONE'", T1, "script-src " T1);
}

static void test_widen_every_policy_of_a_list(void **state)
{
    apr_pool_t *p = *state;

    expect_widened(p, "script-src 'self', default-src https:, img-src 'self'", T1,
                   "script-src 'self' " T1 ", default-src https: " T1 ", img-src 'self'");
}

static void test_widen_leaves_alone(void **state)
{
    apr_pool_t *p = *state;
    char *big = apr_palloc(p, SS_CSP_MAX + 20);

    /* no directive that governs scripts */
    expect_unchanged(p, "img-src 'self'; frame-ancestors 'none'", T1);
    expect_unchanged(p, "script-src-attr 'none'", T1);
    expect_unchanged(p, "", T1);
    /* listed already */
    expect_unchanged(p, "script-src 'self' " T1, T1);
    /* a source that would change the policy's structure */
    expect_unchanged(p, "script-src 'self'", "https://b.test/x;script-src *");
    expect_unchanged(p, "script-src 'self'", "https://b.test/x,script-src *");
    expect_unchanged(p, "script-src 'self'", "'unsafe-inline'");
    expect_unchanged(p, "script-src 'self'", "");
    expect_unchanged(p, "script-src 'self'", "https://b.test/\x01");
    /* too long to be read */
    memset(big, ' ', SS_CSP_MAX + 10);
    memcpy(big, "script-src 'self'", 17);
    big[SS_CSP_MAX + 10] = '\0';
    expect_unchanged(p, big, T1);
}

static void test_widen_adds_only_what_is_missing(void **state)
{
    apr_pool_t *p = *state;

    expect_widened(p, "script-src " T2 " 'self'", T1 " " T2, "script-src " T2 " 'self' " T1);
    /* a directory of the same path is not the URL: the URL is added */
    expect_widened(p, "script-src https://b.test/shared-session/", T1,
                   "script-src https://b.test/shared-session/ " T1);
}

static apr_array_header_t *values(apr_pool_t *p, const char *a, const char *b)
{
    apr_array_header_t *v = apr_array_make(p, 2, sizeof(const char *));

    if (a) {
        APR_ARRAY_PUSH(v, const char *) = a;
    }
    if (b) {
        APR_ARRAY_PUSH(v, const char *) = b;
    }
    return v;
}

static void expect_need(apr_pool_t *p, const char *a, const char *b, ss_csp_need want,
                        const char *want_nonce)
{
    const char *nonce = "unset";

    assert_int_equal(ss_csp_loader_nonce(p, values(p, a, b), &nonce), want);
    if (want_nonce) {
        assert_non_null(nonce);
        assert_string_equal(nonce, want_nonce);
    }
    else {
        assert_null(nonce);
    }
}

static void test_strict_dynamic_needs_the_page_nonce(void **state)
{
    apr_pool_t *p = *state;

    expect_need(p, NULL, NULL, SS_CSP_URLS, NULL);
    expect_need(p, "script-src 'self'", NULL, SS_CSP_URLS, NULL);
    /* a nonce without 'strict-dynamic': the URLs still work */
    expect_need(p, "script-src 'nonce-abc' 'self'", NULL, SS_CSP_URLS, NULL);
    expect_need(p, "script-src 'nonce-r4nd0m+/=' 'strict-dynamic'", NULL, SS_CSP_NONCE,
                "r4nd0m+/=");
    expect_need(p, "default-src 'self'; script-src 'STRICT-DYNAMIC' 'NONCE-Ab_-'", NULL,
                SS_CSP_NONCE, "Ab_-");
    /* 'strict-dynamic' in a directive that does not apply counts not */
    expect_need(p, "script-src-elem 'self'; script-src 'strict-dynamic'", NULL, SS_CSP_URLS,
                NULL);
    /* hashes only: no nonce to carry */
    expect_need(p, "script-src 'sha256-AAAA' 'strict-dynamic'", NULL, SS_CSP_NO_NONCE, NULL);
    /* a nonce that is not a base64 value is not used */
    expect_need(p, "script-src 'nonce-a\"b' 'strict-dynamic'", NULL, SS_CSP_NO_NONCE, NULL);
    expect_need(p, "script-src 'nonce-' 'strict-dynamic'", NULL, SS_CSP_NO_NONCE, NULL);
    /* two policies: the nonce both list */
    expect_need(p, "script-src 'nonce-one' 'nonce-two' 'strict-dynamic'",
                "default-src 'nonce-two' 'strict-dynamic'", SS_CSP_NONCE, "two");
    expect_need(p, "script-src 'nonce-one' 'strict-dynamic', script-src 'nonce-two' "
                "'strict-dynamic'", NULL, SS_CSP_NO_NONCE, NULL);
    /* nonces are compared as they are */
    expect_need(p, "script-src 'nonce-abc' 'strict-dynamic'",
                "script-src 'nonce-ABC' 'strict-dynamic'", SS_CSP_NO_NONCE, NULL);
    /* one policy with it, one without: the nonce of the first */
    expect_need(p, "script-src 'self'", "script-src 'nonce-n1' 'strict-dynamic'",
                SS_CSP_NONCE, "n1");
}

static void test_nonce_suffices(void **state)
{
    apr_pool_t *p = *state;

    assert_true(ss_csp_nonce_suffices(p, "script-src 'self'", NULL));
    assert_true(ss_csp_nonce_suffices(p, "script-src 'nonce-x' 'strict-dynamic'", "x"));
    assert_false(ss_csp_nonce_suffices(p, "script-src 'nonce-x' 'strict-dynamic'", NULL));
    assert_false(ss_csp_nonce_suffices(p, "script-src 'nonce-x' 'strict-dynamic'", "y"));
    assert_false(ss_csp_nonce_suffices(p, "img-src *, default-src 'strict-dynamic'", "y"));
}

static void test_nonce_ok(void **unused)
{
    (void)unused;
    assert_true(ss_csp_nonce_ok("abc"));
    assert_true(ss_csp_nonce_ok("a+/_-9=="));
    assert_false(ss_csp_nonce_ok(NULL));
    assert_false(ss_csp_nonce_ok(""));
    assert_false(ss_csp_nonce_ok("="));
    assert_false(ss_csp_nonce_ok("a==="));
    assert_false(ss_csp_nonce_ok("a=b"));
    assert_false(ss_csp_nonce_ok("a\"b"));
    assert_false(ss_csp_nonce_ok("a b"));
    assert_false(ss_csp_nonce_ok("a'"));
}

#define TAG(u) "<script src=\"" u "\" async=\"async\" referrerpolicy=\"origin\"></script>"

static void test_tags(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(ss_csp_tag_sources(p, TAG(T1) TAG(T2)), T1 " " T2);
    assert_string_equal(ss_csp_tag_sources(p, ""), "");
    assert_string_equal(ss_csp_tags_with_nonce(p, TAG(T1) TAG(T2), "n0+/"),
                        "<script nonce=\"n0+/\" src=\"" T1 "\" async=\"async\" "
                        "referrerpolicy=\"origin\"></script>"
                        "<script nonce=\"n0+/\" src=\"" T2 "\" async=\"async\" "
                        "referrerpolicy=\"origin\"></script>");
    /* never a value that could leave the attribute */
    assert_null(ss_csp_tags_with_nonce(p, TAG(T1), "x\" onload=\"alert(1)"));
}

static void test_source_ok(void **unused)
{
    (void)unused;
    assert_true(ss_csp_source_ok(T1));
    assert_true(ss_csp_source_ok(T1 " " T2));
    assert_false(ss_csp_source_ok(NULL));
    assert_false(ss_csp_source_ok(" "));
    assert_false(ss_csp_source_ok("https://b.test/a\tb"));
    assert_false(ss_csp_source_ok("https://b.test/\xc3\xa9"));
}

static void test_referrer_policy(void **unused)
{
    (void)unused;
    assert_true(ss_referrer_policy_hides_origin("no-referrer"));
    assert_true(ss_referrer_policy_hides_origin(" Same-Origin "));
    assert_true(ss_referrer_policy_hides_origin("origin, no-referrer"));
    /* the last one a browser knows wins */
    assert_false(ss_referrer_policy_hides_origin("no-referrer, origin"));
    assert_true(ss_referrer_policy_hides_origin("same-origin, no-such-policy"));
    assert_false(ss_referrer_policy_hides_origin("strict-origin-when-cross-origin"));
    assert_false(ss_referrer_policy_hides_origin("no-referrer-when-downgrade"));
    assert_false(ss_referrer_policy_hides_origin("unsafe-url"));
    assert_false(ss_referrer_policy_hides_origin(""));
    assert_false(ss_referrer_policy_hides_origin(NULL));
    assert_false(ss_referrer_policy_hides_origin("no-referrer origin"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_widen_the_directive_that_applies),
        cmocka_unit_test(test_widen_every_policy_of_a_list),
        cmocka_unit_test(test_widen_leaves_alone),
        cmocka_unit_test(test_widen_adds_only_what_is_missing),
        cmocka_unit_test(test_strict_dynamic_needs_the_page_nonce),
        cmocka_unit_test(test_nonce_suffices),
        cmocka_unit_test(test_nonce_ok),
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_source_ok),
        cmocka_unit_test(test_referrer_policy),
    };

    return cmocka_run_group_tests(tests, pool_setup, pool_teardown);
}
