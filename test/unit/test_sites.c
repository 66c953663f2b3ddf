/* Unit tests of lib/ss_sites.c: entry syntax, site ids, host matching. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "ss_sites.h"

#include "unit_pool.h"

typedef struct good_case {
    const char *arg, *scheme, *host;
    int port;
    const char *id;
} good_case;

static void test_parse_valid(void **state)
{
    static const char label63[] =
        "abcdefghij" "abcdefghij" "abcdefghij" "abcdefghij" "abcdefghij" "abcdefghij" "abc";
    static const good_case cases[] = {
        { "www.example.com", "https", "www.example.com", 0, "www.example.com" },
        { "https://www.example.com", "https", "www.example.com", 0, "www.example.com" },
        { "https://www.example.com/", "https", "www.example.com", 0, "www.example.com" },
        { "http://www.example.org", "http", "www.example.org", 0, "www.example.org" },
        { "HTTP://WWW.Example.ORG/", "http", "www.example.org", 0, "www.example.org" },
        { "HTTPS://Shop.Example.COM:8443/", "https", "shop.example.com", 8443,
          "shop.example.com:8443" },
        { "127.0.0.1:8081", "https", "127.0.0.1", 8081, "127.0.0.1:8081" },
        { "http://127.0.0.1:8082/", "http", "127.0.0.1", 8082, "127.0.0.1:8082" },
        { "localhost", "https", "localhost", 0, "localhost" },
        { "a-b.x-1.example", "https", "a-b.x-1.example", 0, "a-b.x-1.example" },
        { "x:1", "https", "x", 1, "x:1" },
        { "x:65535", "https", "x", 65535, "x:65535" },
        { "x:08080", "https", "x", 8080, "x:8080" },
        { "[::1]", "https", "[::1]", 0, "[::1]" },
        /* the trailing dot of a fully qualified name is the same name */
        { "example.com.", "https", "example.com", 0, "example.com" },
        { "https://Example.COM.:8443/", "https", "example.com", 8443, "example.com:8443" },
        { "https://[::1]:8443/", "https", "[::1]", 8443, "[::1]:8443" },
        { "http://[2001:DB8::A]", "http", "[2001:db8::a]", 0, "[2001:db8::a]" },
    };
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ss_site s;
        const char *err = "unset";

        assert_int_equal(ss_site_parse(p, cases[i].arg, &s, &err), APR_SUCCESS);
        assert_null(err);
        assert_string_equal(s.scheme, cases[i].scheme);
        assert_string_equal(s.host, cases[i].host);
        assert_int_equal(s.port, cases[i].port);
        assert_string_equal(s.id, cases[i].id);
    }

    {
        ss_site s;
        const char *err;
        const char *arg = apr_pstrcat(p, "https://", label63, ".example", NULL);

        assert_int_equal(ss_site_parse(p, arg, &s, &err), APR_SUCCESS);
        assert_string_equal(s.host, arg + 8);
    }
}

static void test_parse_longest(void **state)
{
    apr_pool_t *p = *state;
    char host[256];
    ss_site s;
    const char *err;
    int i;

    /* 253 characters of host, the longest DNS name: labels of 9 letters
     * and a dot */
    for (i = 0; i < 253; i++) {
        host[i] = (i % 10 == 9) ? '.' : 'a';
    }
    host[253] = '\0';
    assert_int_equal(ss_site_parse(p, host, &s, &err), APR_SUCCESS);
    assert_int_equal(strlen(s.id), 253);
    assert_int_equal(ss_site_parse(p, apr_pstrcat(p, "https://", host, "/", NULL),
                                   &s, &err), APR_SUCCESS);
    /* with a trailing dot, the same name */
    assert_int_equal(ss_site_parse(p, apr_pstrcat(p, host, ".", NULL), &s, &err),
                     APR_SUCCESS);
    assert_int_equal(strlen(s.id), 253);

    /* one character more is refused */
    assert_int_equal(ss_site_parse(p, apr_pstrcat(p, host, "a", NULL), &s, &err),
                     APR_EINVAL);
    assert_non_null(strstr(err, "longer than 253"));
    /* a site id travels with a 1-byte length: host and port within 255 */
    assert_int_equal(ss_site_parse(p, apr_pstrcat(p, host, ":8443", NULL), &s, &err),
                     APR_EINVAL);
    assert_non_null(strstr(err, "longer than 255"));
    host[249] = '\0';   /* 249 + ":8443" */
    assert_int_equal(ss_site_parse(p, apr_pstrcat(p, host, ":8443", NULL), &s, &err),
                     APR_SUCCESS);
    assert_int_equal(strlen(s.id), 254);
    host[249] = '.';
    host[251] = '\0';   /* 251 + ":8443" */
    assert_int_equal(ss_site_parse(p, apr_pstrcat(p, host, ":8443", NULL), &s, &err),
                     APR_EINVAL);
    assert_non_null(strstr(err, "longer than 255"));
}

typedef struct bad_case {
    const char *arg;
    const char *reason;   /* a substring of *err */
} bad_case;

static void test_parse_invalid(void **state)
{
    static const char label64[] =
        "abcdefghij" "abcdefghij" "abcdefghij" "abcdefghij" "abcdefghij" "abcdefghij" "abcd";
    static const bad_case cases[] = {
        { NULL, "empty site" },
        { "", "empty site" },
        { "ftp://example.com", "unknown scheme" },
        { "://example.com", "unknown scheme" },
        { "httpx://example.com", "unknown scheme" },
        { "javascript://example.com", "unknown scheme" },
        { "https://user@example.com", "user information" },
        { "user:pw@example.com", "user information" },
        { "https://@example.com", "user information" },
        { "example.com/path", "path is not allowed" },
        { "https://example.com//", "path is not allowed" },
        { "https://example.com/a/", "path is not allowed" },
        { "example.com?x=1", "query or fragment" },
        { "example.com/?x=1", "query or fragment" },
        { "example.com#top", "query or fragment" },
        { "https://", "empty host" },
        { "https:///", "empty host" },
        { "/", "empty host" },
        { "https://:8080", "empty host" },
        { "exa mple.com", "invalid character" },
        { "exa_mple.com", "invalid character" },
        { "exa*mple.com", "invalid character" },
        { "ex\xc3\xa4mple.com", "invalid character" },
        { "example.com\\", "invalid character" },
        { "ex%61mple.com", "invalid character" },
        { "-example.com", "starts with '-'" },
        { "www.-example.com", "starts with '-'" },
        { "example-.com", "ends with '-'" },
        { "example.com-", "ends with '-'" },
        { "a..b", "empty label" },
        { ".example.com", "empty label" },
        { "example.com..", "empty label" },
        { "1.2.3", "IPv4" },
        { "127.0.0.01", "IPv4" },
        { "example.123", "IPv4" },
        { "[1:2:3:4:5:6:7]", "IPv6" },
        { "[1::2::3]", "IPv6" },
        { "example.com:", "port is not a number" },
        { "example.com:http", "port is not a number" },
        { "example.com:80a", "port is not a number" },
        { "example.com:-1", "port is not a number" },
        { "example.com:+80", "port is not a number" },
        { "example.com:0", "port out of range" },
        { "example.com:00", "port out of range" },
        { "example.com:65536", "port out of range" },
        { "example.com:99999999999999999999", "port out of range" },
        { "example.com:80:81", "port is not a number" },
        { "[::1", "IPv6" },
        { "[]", "IPv6" },
        { "[1]", "IPv6" },
        { "[::g]", "IPv6" },
        { "[::1.2.3.4]", "IPv6" },
        { "[::1]x", "after the host" },
        { "[::1]:0", "port out of range" },
        { "exa[::1]", "invalid character" },
    };
    apr_pool_t *p = *state;
    size_t i;
    ss_site s;
    const char *err;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err = NULL;
        assert_int_equal(ss_site_parse(p, cases[i].arg, &s, &err), APR_EINVAL);
        assert_non_null(err);
        if (!strstr(err, cases[i].reason)) {
            fail_msg("\"%s\": reason \"%s\", expected \"%s\"",
                     cases[i].arg ? cases[i].arg : "(null)", err, cases[i].reason);
        }
        assert_null(strchr(err, '\n'));
    }

    assert_int_equal(ss_site_parse(p, apr_pstrcat(p, label64, ".example", NULL), &s, &err),
                     APR_EINVAL);
    assert_non_null(strstr(err, "longer than 63"));
}

static void test_default_port(void **state)
{
    assert_int_equal(ss_site_default_port("https"), 443);
    assert_int_equal(ss_site_default_port("http"), 80);
    assert_int_equal(ss_site_default_port("HTTP"), 80);
    assert_int_equal(ss_site_default_port(NULL), 443);
}

static ss_site *sites_make(apr_pool_t *p, const char *const *args, int n)
{
    ss_site *sites = apr_pcalloc(p, sizeof(*sites) * (size_t)n);
    const char *err;
    int i;

    for (i = 0; i < n; i++) {
        assert_int_equal(ss_site_parse(p, args[i], &sites[i], &err), APR_SUCCESS);
    }
    return sites;
}

/* id: the entry expected, or NULL; exact: whether host is its own host */
static void expect_match(const ss_site *sites, int n, const char *host, int port,
                         const char *id, int exact)
{
    int got_exact = -1;
    const ss_site *m = ss_sites_match(sites, n, host, port, &got_exact);

    if (!id) {
        if (m) {
            fail_msg("%s port %d matched %s, expected none",
                     host ? host : "(null)", port, m->id);
        }
        assert_int_equal(got_exact, 0);
        return;
    }
    if (!m || strcmp(m->id, id)) {
        fail_msg("%s port %d matched %s, expected %s", host ? host : "(null)", port,
                 m ? m->id : "none", id);
    }
    if (got_exact != exact) {
        fail_msg("%s port %d: exact %d, expected %d", host ? host : "(null)", port,
                 got_exact, exact);
    }
    /* exact may be NULL */
    assert_ptr_equal(ss_sites_match(sites, n, host, port, NULL), m);
}

static void test_sites_match(void **state)
{
    static const char *const args[] = {
        "https://example.com", "https://shop.example.com", "example.org",
        "example.org:8443", "http://127.0.0.1:8081", "http://127.0.0.1:8082",
        "[::1]:9443",
    };
    const int n = (int)(sizeof(args) / sizeof(args[0]));
    ss_site *sites = sites_make(*state, args, n);

    expect_match(sites, n, "example.com", 443, "example.com", 1);
    expect_match(sites, n, "EXAMPLE.COM", 443, "example.com", 1);
    expect_match(sites, n, "example.com.", 443, "example.com", 1);
    expect_match(sites, n, "www.example.com", 443, "example.com", 0);
    expect_match(sites, n, "www.example.com", 8080, "example.com", 0);   /* no port: any */
    expect_match(sites, n, "shop.example.com", 443, "shop.example.com", 1);
    expect_match(sites, n, "Shop.Example.Com", 443, "shop.example.com", 1);
    expect_match(sites, n, "a.shop.example.com", 443, "shop.example.com", 0);
    expect_match(sites, n, "myexample.com", 443, NULL, 0);
    expect_match(sites, n, "example.com.evil.test", 443, NULL, 0);
    expect_match(sites, n, "example.org", 443, "example.org", 1);
    expect_match(sites, n, "example.org", 8443, "example.org:8443", 1);
    expect_match(sites, n, "www.example.org", 8443, "example.org:8443", 0);
    expect_match(sites, n, "127.0.0.1", 8081, "127.0.0.1:8081", 1);
    expect_match(sites, n, "127.0.0.1", 8082, "127.0.0.1:8082", 1);
    expect_match(sites, n, "127.0.0.1", 8083, NULL, 0);
    expect_match(sites, n, "127.0.0.1", 0, NULL, 0);
    expect_match(sites, n, "[::1]", 9443, "[::1]:9443", 1);
    expect_match(sites, n, "[::1]", 443, NULL, 0);
    expect_match(sites, n, "", 443, NULL, 0);
    expect_match(sites, n, NULL, 443, NULL, 0);
    expect_match(sites, 0, "example.com", 443, NULL, 0);
}

static void test_sites_match_specificity(void **state)
{
    apr_pool_t *p = *state;
    static const char *const exact_first[] = { "example.com:8443", "shop.example.com" };
    static const char *const port_first[] = { "shop.example.com", "shop.example.com:8443" };
    static const char *const tie[] = { "example.com", "https://example.com/" };
    ss_site *s;

    /* exact host beats a subdomain match with a named port */
    s = sites_make(p, exact_first, 2);
    expect_match(s, 2, "shop.example.com", 8443, "shop.example.com", 1);
    /* longer host beats shorter even when the shorter names the port */
    expect_match(s, 2, "a.shop.example.com", 8443, "shop.example.com", 0);
    expect_match(s, 2, "www.example.com", 8443, "example.com:8443", 0);

    /* same host: a named port beats none, whatever the order */
    s = sites_make(p, port_first, 2);
    expect_match(s, 2, "shop.example.com", 8443, "shop.example.com:8443", 1);
    expect_match(s, 2, "shop.example.com", 443, "shop.example.com", 1);
    expect_match(s, 2, "a.shop.example.com", 8443, "shop.example.com:8443", 0);

    /* an exact tie goes to the first entry */
    s = sites_make(p, tie, 2);
    assert_ptr_equal(ss_sites_match(s, 2, "example.com", 443, NULL), &s[0]);
}

static void test_site_origin(void **state)
{
    static const char *const args[] = {
        "www.example.com", "http://127.0.0.1:8081/", "https://[::1]:8443", "HTTP://A.Example",
    };
    apr_pool_t *p = *state;
    ss_site *s = sites_make(p, args, 4);

    assert_string_equal(ss_site_origin(p, &s[0]), "https://www.example.com");
    assert_string_equal(ss_site_origin(p, &s[1]), "http://127.0.0.1:8081");
    assert_string_equal(ss_site_origin(p, &s[2]), "https://[::1]:8443");
    assert_string_equal(ss_site_origin(p, &s[3]), "http://a.example");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_longest),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_default_port),
        cmocka_unit_test(test_sites_match),
        cmocka_unit_test(test_sites_match_specificity),
        cmocka_unit_test(test_site_origin),
    };

    return cmocka_run_group_tests(tests, pool_setup, pool_teardown);
}
