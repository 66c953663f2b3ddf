/* Unit tests of lib/ss_request.c: handler routing, the go target, the
 * Referer check and the private Cache-Control. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "ss_request.h"

#include "unit_pool.h"

static void test_route(void **state)
{
    static const struct { const char *name; ss_route route; size_t len; } cases[] = {
        { "go", SS_ROUTE_GO, 0 },
        { "abc", SS_ROUTE_NAVIGATION, 3 },
        { "abc.js", SS_ROUTE_SCRIPT, 3 },
        { "A-z_09", SS_ROUTE_NAVIGATION, 6 },
        { "go.js", SS_ROUTE_SCRIPT, 2 },       /* a (bad) ticket named "go" */
        { "gox", SS_ROUTE_NAVIGATION, 3 },
        { "", SS_ROUTE_NOT_FOUND, 0 },
        { ".js", SS_ROUTE_NOT_FOUND, 0 },
        { "a/b", SS_ROUTE_NOT_FOUND, 0 },
        { "a/b.js", SS_ROUTE_NOT_FOUND, 0 },
        { "ab=", SS_ROUTE_NOT_FOUND, 0 },
        { "a+b", SS_ROUTE_NOT_FOUND, 0 },
        { "a.b", SS_ROUTE_NOT_FOUND, 0 },
        { "a.js.js", SS_ROUTE_NOT_FOUND, 0 },
        { "abc.JS", SS_ROUTE_NOT_FOUND, 0 },
        { "a b", SS_ROUTE_NOT_FOUND, 0 },
        { "\xc3\xa9", SS_ROUTE_NOT_FOUND, 0 },
        { "go/", SS_ROUTE_NOT_FOUND, 0 },
        { "start", SS_ROUTE_START, 0 },
        { "start.js", SS_ROUTE_SCRIPT, 5 },
        { "starts", SS_ROUTE_NAVIGATION, 6 },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = 99;
        ss_route got = ss_route_name(cases[i].name, &len);

        if (got != cases[i].route) {
            fail_msg("route of '%s': %d, expected %d", cases[i].name, got, cases[i].route);
        }
        if (got == SS_ROUTE_SCRIPT || got == SS_ROUTE_NAVIGATION) {
            assert_int_equal(len, cases[i].len);
        }
    }
}

static void test_query_param(void **state)
{
    apr_pool_t *p = *state;

    assert_null(ss_query_param(p, NULL, "to"));
    assert_null(ss_query_param(p, "", "to"));
    assert_null(ss_query_param(p, "x=1", "to"));
    assert_null(ss_query_param(p, "tox=1&xto=2", "to"));
    assert_null(ss_query_param(p, "to", "to"));
    assert_string_equal(ss_query_param(p, "to=", "to"), "");
    assert_string_equal(ss_query_param(p, "to=a", "to"), "a");
    assert_string_equal(ss_query_param(p, "x=1&to=a%2Fb&to=second", "to"), "a/b");
    assert_string_equal(ss_query_param(p, "to=https%3A%2F%2Fb.test%2Fp%3Fx%3D1", "to"),
                        "https://b.test/p?x=1");
    assert_string_equal(ss_query_param(p, "to=a+b", "to"), "a b");
    assert_string_equal(ss_query_param(p, "to=%0d%0a", "to"), "\r\n");
    /* undecodable: empty, never the raw text */
    assert_string_equal(ss_query_param(p, "to=%zz", "to"), "");
    assert_string_equal(ss_query_param(p, "to=%00x", "to"), "");
}

static ss_site site(apr_pool_t *p, const char *arg)
{
    ss_site s;
    const char *err;

    assert_int_equal(ss_site_parse(p, arg, &s, &err), APR_SUCCESS);
    return s;
}

static void test_go_target(void **state)
{
    apr_pool_t *p = *state;
    ss_site sites[4];
    const ss_site *t;
    const char *err;
    ss_url u;
    static const char *const refused[] = {
        "", "javascript:alert(1)", "//evil.example", "https://evil.example/",
        "http://b.test@evil.example/", "http://evil.example/?http://b.test/",
        "http://b.test/\r\nSet-Cookie:x", "http://a.test/", "http://b.test:8080/",
        "http://b.test//evil.example/", "http://b.test/\\evil", "ftp://b.test/",
        "http://127.0.0.1:9999/", "http://127.0.0.1/", "b.test/x", "/local",
        "http://myb.test/", "http://b.test.evil.example/", "http://..b.test/x",
        "http://.b.test/", "http://shop..b.test/",
    };
    size_t i;

    sites[0] = site(p, "http://a.test");
    sites[1] = site(p, "http://b.test");
    sites[2] = site(p, "https://c.test");
    sites[3] = site(p, "http://127.0.0.1:8082");

    assert_null(ss_go_target(p, sites, 4, &sites[0], NULL, &u, &err));
    assert_non_null(strstr(err, "missing"));
    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        err = NULL;
        if (ss_go_target(p, sites, 4, &sites[0], refused[i], &u, &err)) {
            fail_msg("go to '%s' accepted", refused[i]);
        }
        assert_non_null(err);
        assert_null(strpbrk(err, "\r\n"));
    }

    t = ss_go_target(p, sites, 4, &sites[0], "http://b.test/some/page?x=1#frag", &u, &err);
    assert_ptr_equal(t, &sites[1]);
    assert_string_equal(u.host, "b.test");
    assert_string_equal(u.path_query, "/some/page?x=1");
    t = ss_go_target(p, sites, 4, &sites[0], "HTTP://B.TEST.:80", &u, &err);
    assert_ptr_equal(t, &sites[1]);
    assert_string_equal(u.host, "b.test");
    assert_string_equal(u.path_query, "/");
    /* the URL's scheme decides the default port; the entry's decides the redirect */
    t = ss_go_target(p, sites, 4, &sites[0], "https://c.test:443/x", &u, &err);
    assert_ptr_equal(t, &sites[2]);
    t = ss_go_target(p, sites, 4, &sites[0], "http://127.0.0.1:8082/y", &u, &err);
    assert_ptr_equal(t, &sites[3]);
    assert_int_equal(u.port, 8082);
    /* a subdomain of a target is not the target: whoever runs it gets no
     * ticket, and the reason names neither the host nor the list */
    for (i = 0; i < 4; i++) {
        static const char *const subdomains[] = {
            "http://evil.b.test/", "HTTP://SHOP.B.TEST:80", "https://x.y.c.test/p?q=1",
            "http://www.b.test./",
        };

        err = NULL;
        assert_null(ss_go_target(p, sites, 4, &sites[0], subdomains[i], &u, &err));
        assert_string_equal(err, "to= is not a page of another site that shares sessions");
    }
    /* of the current site: not another site at all */
    assert_null(ss_go_target(p, sites, 4, &sites[0], "http://shop.a.test/", &u, &err));
    assert_string_equal(err, "to= is not on one of the other SharedSessionSites");
    /* from b, a is a target and b is not */
    assert_ptr_equal(ss_go_target(p, sites, 4, &sites[1], "http://a.test/", &u, &err), &sites[0]);
    assert_null(ss_go_target(p, sites, 4, &sites[1], "http://b.test/", &u, &err));
}

static void test_referer(void **state)
{
    apr_pool_t *p = *state;
    ss_site a = site(p, "https://a.test");
    ss_site ap = site(p, "http://127.0.0.1:8081");
    ss_site ah = site(p, "http://a.test");
    ss_site a6 = site(p, "https://[::1]:8443");

    assert_true(ss_referer_matches(p, "https://a.test/", &a));
    assert_true(ss_referer_matches(p, "https://a.test/page?x=1", &a));
    assert_true(ss_referer_matches(p, "https://A.TEST", &a));       /* an Origin */
    assert_true(ss_referer_matches(p, "https://a.test:443/", &a));  /* the default port */
    assert_true(ss_referer_matches(p, "https://a.test./", &a));     /* the same name */
    assert_false(ss_referer_matches(p, NULL, &a));
    assert_false(ss_referer_matches(p, "", &a));
    assert_false(ss_referer_matches(p, "null", &a));
    assert_false(ss_referer_matches(p, "/relative", &a));
    assert_false(ss_referer_matches(p, "https://b.test/", &a));
    assert_false(ss_referer_matches(p, "https://aa.test/", &a));
    assert_false(ss_referer_matches(p, "https://a.test.evil/", &a));
    assert_false(ss_referer_matches(p, "https://a.test@evil.test/", &a));
    assert_false(ss_referer_matches(p, "https://.-.a.test/", &a));
    assert_false(ss_referer_matches(p, "https://x..a.test/", &a));
    /* the entry's own scheme, host and port: not http, not a subdomain, not
     * another port (an entry without one means the scheme's default) */
    assert_false(ss_referer_matches(p, "http://a.test/", &a));
    assert_false(ss_referer_matches(p, "http://a.test:443/", &a));
    assert_false(ss_referer_matches(p, "https://shop.a.test/", &a));
    assert_false(ss_referer_matches(p, "https://sub.a.test/", &a));
    assert_false(ss_referer_matches(p, "https://a.test:444/", &a));
    assert_false(ss_referer_matches(p, "https://a.test:8080/", &a));
    assert_true(ss_referer_matches(p, "http://a.test/x", &ah));
    assert_true(ss_referer_matches(p, "http://a.test:80/x", &ah));
    assert_false(ss_referer_matches(p, "https://a.test/x", &ah));
    assert_false(ss_referer_matches(p, "http://a.test:8080/x", &ah));
    assert_true(ss_referer_matches(p, "http://127.0.0.1:8081/", &ap));
    assert_false(ss_referer_matches(p, "https://127.0.0.1:8081/", &ap));
    assert_false(ss_referer_matches(p, "http://127.0.0.1:8082/", &ap));
    assert_false(ss_referer_matches(p, "http://127.0.0.1/", &ap));
    assert_true(ss_referer_matches(p, "https://[::1]:8443/", &a6));
    assert_false(ss_referer_matches(p, "https://[::1]/", &a6));
}

static void test_cache_control(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(ss_cache_control_private(p, NULL, 0), "private");
    assert_string_equal(ss_cache_control_private(p, "", 0), "private");
    assert_string_equal(ss_cache_control_private(p, "public", 0), "private");
    assert_string_equal(ss_cache_control_private(p, "public, max-age=60", 0), "private, max-age=60");
    assert_string_equal(ss_cache_control_private(p, "max-age=60 , PUBLIC", 0), "private, max-age=60");
    assert_string_equal(ss_cache_control_private(p, "no-cache, private", 0), "no-cache, private");
    assert_string_equal(ss_cache_control_private(p, "private=\"Set-Cookie\"", 0), "private=\"Set-Cookie\"");
    assert_string_equal(ss_cache_control_private(p, "privately", 0), "private, privately");
    assert_string_equal(ss_cache_control_private(p, "no-store", 0), "private, no-store");
    /* already private, nothing to drop: the value itself, not a copy */
    {
        const char *cc = "no-cache, private";
        const char *cc2 = " Private = , no-store";

        assert_ptr_equal(ss_cache_control_private(p, cc, 0), cc);
        assert_string_equal(ss_cache_control_private(p, cc2, 0), "private, Private =, no-store");
    }
    /* private, but a public or an empty member to drop */
    assert_string_equal(ss_cache_control_private(p, "private, public", 0), "private");
    assert_string_equal(ss_cache_control_private(p, "no-cache,,private", 0), "no-cache, private");
    assert_string_equal(ss_cache_control_private(p, "private,", 0), "private");
    /* the joined value is longer than the one it came from */
    assert_string_equal(ss_cache_control_private(p, "a,b,c,d", 0), "private, a, b, c, d");
    assert_string_equal(ss_cache_control_private(p, ",", 0), "private");
    assert_string_equal(ss_cache_control_private(p, "PRIVATE=\"x\", max-age=0", 0),
                        "PRIVATE=\"x\", max-age=0");
    /* s-maxage is a lifetime for shared caches: it goes like public */
    assert_string_equal(ss_cache_control_private(p, "public, max-age=600, s-maxage=3600", 0),
                        "private, max-age=600");
    assert_string_equal(ss_cache_control_private(p, "private, S-MAXAGE=1", 0), "private");
    assert_string_equal(ss_cache_control_private(p, "s-maxage", 0), "private");
    assert_string_equal(ss_cache_control_private(p, "s-maxagex=1", 0), "private, s-maxagex=1");
    /* no_store: added once, kept where it is */
    assert_string_equal(ss_cache_control_private(p, NULL, 1), "private, no-store");
    assert_string_equal(ss_cache_control_private(p, "public, max-age=600", 1),
                        "private, max-age=600, no-store");
    assert_string_equal(ss_cache_control_private(p, "no-store, private", 1), "no-store, private");
    assert_string_equal(ss_cache_control_private(p, "No-Store", 1), "private, No-Store");
    {
        const char *cc = "private, no-store";

        assert_ptr_equal(ss_cache_control_private(p, cc, 1), cc);
    }
}

static void test_query_redact(void **state)
{
    apr_pool_t *p = *state;

    assert_null(ss_query_redact(p, NULL, "state", "<state>"));
    assert_null(ss_query_redact(p, "to=x", "state", "<state>"));
    assert_null(ss_query_redact(p, "states=1&xstate=2", "state", "<state>"));
    assert_string_equal(ss_query_redact(p, "to=x&state=abc", "state", "<state>"),
                        "to=x&state=<state>");
    assert_string_equal(ss_query_redact(p, "state=abc&to=x&state=d&", "state", "<state>"),
                        "state=<state>&to=x&state=<state>&");
}

static void test_request_line_redact(void **state)
{
    apr_pool_t *p = *state;
    static const struct { const char *line, *shown; } cases[] = {
        { "GET /shared-session/AbC-_12.js HTTP/1.1", "GET /shared-session/<ticket>.js HTTP/1.1" },
        { "GET /shared-session/AbC-_12 HTTP/1.1", "GET /shared-session/<ticket> HTTP/1.1" },
        { "GET /shared-session/AbC-_12?x=1 HTTP/1.1", "GET /shared-session/<ticket>?x=1 HTTP/1.1" },
        /* cut short by LimitRequestLine */
        { "GET /shared-session/AbC-_12", "GET /shared-session/<ticket>" },
        { "GET http://b.test:8080/shared-session/AbC.js HTTP/1.1",
          "GET http://b.test:8080/shared-session/<ticket>.js HTTP/1.1" },
        { "GET /shared-session/go?to=http%3A%2F%2Fb.test%2F&state=SSSS HTTP/1.1",
          "GET /shared-session/go?to=http%3A%2F%2Fb.test%2F&state=<state> HTTP/1.1" },
        { "GET /shared-session/go?state=SSSS", "GET /shared-session/go?state=<state>" },
        { "GET /shared-session/go?to=x HTTP/1.1", NULL },
        { "GET /shared-session/start?from=a.test&to=%2F HTTP/1.1", NULL },
        { "GET /shared-session/ HTTP/1.1", NULL },
        { "GET /other/AbC.js HTTP/1.1", NULL },
        { "GET /x?/shared-session/AbC HTTP/1.1", NULL },
        { "GET", NULL },
        { "", NULL },
    };
    size_t i;

    assert_null(ss_request_line_redact(p, NULL, "/shared-session/"));
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = ss_request_line_redact(p, cases[i].line, "/shared-session/");

        if (!cases[i].shown ? got != NULL : !got || strcmp(got, cases[i].shown)) {
            fail_msg("'%s' shown as '%s'", cases[i].line, got ? got : "(unchanged)");
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route),
        cmocka_unit_test(test_query_param),
        cmocka_unit_test(test_go_target),
        cmocka_unit_test(test_referer),
        cmocka_unit_test(test_cache_control),
        cmocka_unit_test(test_query_redact),
        cmocka_unit_test(test_request_line_redact),
    };

    return cmocka_run_group_tests(tests, pool_setup, pool_teardown);
}
