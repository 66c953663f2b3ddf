/* Unit tests of lib/ss_diag.c: a site entry one edit away from a server
 * name, the host of a ServerName, the site ids a differing list may use,
 * the status keys. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "ss_diag.h"

#include "unit_pool.h"

static void test_one_edit_apart(void **state)
{
    (void)state;
    /* the four kinds of one edit */
    assert_true(ss_one_edit_apart("www.exmaple.org", "www.example.org"));   /* swap */
    assert_true(ss_one_edit_apart("www.example.org", "www.exanple.org"));   /* replace */
    assert_true(ss_one_edit_apart("www.exaple.org", "www.example.org"));    /* delete */
    assert_true(ss_one_edit_apart("www.example.org", "www.examplle.org"));  /* insert */
    /* at the ends */
    assert_true(ss_one_edit_apart("xwww.example.org", "www.example.org"));
    assert_true(ss_one_edit_apart("www.example.org", "www.example.or"));
    assert_true(ss_one_edit_apart("www.example.org", "www.example.ogr"));
    assert_true(ss_one_edit_apart("a", ""));
    assert_true(ss_one_edit_apart("ab", "ba"));
    /* case does not count */
    assert_true(ss_one_edit_apart("WWW.Exmaple.org", "www.example.ORG"));
    assert_false(ss_one_edit_apart("WWW.EXAMPLE.ORG", "www.example.org"));
    /* equal, or further apart */
    assert_false(ss_one_edit_apart("www.example.org", "www.example.org"));
    assert_false(ss_one_edit_apart("www.example.com", "www.example.org"));
    assert_false(ss_one_edit_apart("example.org", "www.example.org"));
    assert_false(ss_one_edit_apart("www.exmalpe.org", "www.example.org"));  /* two swaps */
    assert_false(ss_one_edit_apart("abc", "cba"));                          /* not adjacent */
    assert_false(ss_one_edit_apart("www.example.org", "ww.example.orgg"));
    assert_false(ss_one_edit_apart("", ""));
    assert_false(ss_one_edit_apart(NULL, "a"));
    assert_false(ss_one_edit_apart("a", NULL));
}

static void test_server_name_host(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(ss_server_name_host(p, "www.example.org"), "www.example.org");
    assert_string_equal(ss_server_name_host(p, "WWW.Example.ORG."), "www.example.org");
    assert_string_equal(ss_server_name_host(p, "https://www.example.org:8443"),
                        "www.example.org");
    assert_string_equal(ss_server_name_host(p, "http://a.test/"), "a.test");
    assert_string_equal(ss_server_name_host(p, "127.0.0.1:8080"), "127.0.0.1");
    assert_string_equal(ss_server_name_host(p, "[::1]:8443"), "[::1]");
    assert_null(ss_server_name_host(p, "*.example.org"));
    assert_null(ss_server_name_host(p, "www?.example.org"));
    assert_null(ss_server_name_host(p, ""));
    assert_null(ss_server_name_host(p, "https://"));
    assert_null(ss_server_name_host(p, NULL));
}

static int has(const char **ids, int n, const char *id)
{
    int i;

    for (i = 0; i < n; i++) {
        if (!strcmp(ids[i], id)) {
            return 1;
        }
    }
    return 0;
}

static void test_site_id_variants(void **state)
{
    apr_pool_t *p = *state;
    const char *ids[16];
    ss_site entry;
    const char *err;
    int n, i, j;

    /* this site is "www.example.org"; the other side may say "example.org",
     * or name the port */
    assert_int_equal(ss_site_parse(p, "https://www.example.org", &entry, &err), APR_SUCCESS);
    n = ss_site_id_variants(p, &entry, "www.example.org", 8443, ids, 16);
    assert_true(has(ids, n, "example.org"));
    assert_true(has(ids, n, "www.example.org:8443"));
    assert_true(has(ids, n, "example.org:8443"));
    assert_false(has(ids, n, "www.example.org"));     /* the entry's own id */

    /* this site names a port, the other side does not */
    assert_int_equal(ss_site_parse(p, "b.test:8443", &entry, &err), APR_SUCCESS);
    n = ss_site_id_variants(p, &entry, "b.test", 8443, ids, 16);
    assert_true(has(ids, n, "b.test"));
    assert_true(has(ids, n, "www.b.test:8443"));
    assert_false(has(ids, n, "b.test:8443"));

    /* the request's own host counts too (a subdomain of the entry) */
    assert_int_equal(ss_site_parse(p, "example.org", &entry, &err), APR_SUCCESS);
    n = ss_site_id_variants(p, &entry, "shop.example.org", 443, ids, 16);
    assert_true(has(ids, n, "shop.example.org"));
    assert_true(has(ids, n, "www.example.org"));

    /* no repeats, bounded */
    for (i = 0; i < n; i++) {
        for (j = i + 1; j < n; j++) {
            assert_string_not_equal(ids[i], ids[j]);
        }
    }
    assert_int_equal(ss_site_id_variants(p, &entry, "shop.example.org", 443, ids, 2), 2);
    assert_int_equal(ss_site_id_variants(p, &entry, NULL, 0, ids, 16), 1);
    assert_string_equal(ids[0], "www.example.org");
}

static void test_status_key(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(ss_status_key(p, "unknown-key"), "UnknownKey");
    assert_string_equal(ss_status_key(p, "cache-unavailable"), "CacheUnavailable");
    assert_string_equal(ss_status_key(p, "expired"), "Expired");
    assert_string_equal(ss_status_key(p, ""), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_edit_apart),
        cmocka_unit_test(test_server_name_host),
        cmocka_unit_test(test_site_id_variants),
        cmocka_unit_test(test_status_key),
    };

    return cmocka_run_group_tests(tests, pool_setup, pool_teardown);
}
