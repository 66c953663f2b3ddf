/* Unit tests of lib/ss_url.c, including every hostile `to` of `go`. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "ss_url.h"

#include "unit_pool.h"

static void expect_parsed(apr_pool_t *p, const char *in, const char *scheme,
                          const char *host, int port, int port_given,
                          const char *path_query)
{
    ss_url u;
    const char *err = "unset";

    if (ss_url_parse(p, in, &u, &err) != APR_SUCCESS) {
        fail_msg("\"%s\" refused: %s", in, err);
    }
    assert_null(err);
    assert_string_equal(u.scheme, scheme);
    assert_string_equal(u.host, host);
    assert_int_equal(u.port, port);
    assert_int_equal(u.port_given, port_given);
    assert_string_equal(u.path_query, path_query);
}

/* reason: the exact one-line text */
static void expect_refused(apr_pool_t *p, const char *in, const char *reason)
{
    ss_url u;
    const char *err = NULL;

    if (ss_url_parse(p, in, &u, &err) != APR_EINVAL) {
        fail_msg("\"%s\" accepted", in ? in : "(null)");
    }
    assert_non_null(err);
    if (strcmp(err, reason)) {
        fail_msg("\"%s\": reason \"%s\", expected \"%s\"", in ? in : "(null)", err,
                 reason);
    }
}

/* Every `to` of the brief for `go`, hostile or tricky. */
static void test_parse_go_targets(void **state)
{
    apr_pool_t *p = *state;

    expect_refused(p, NULL, "empty URL");   /* `to` missing */
    expect_refused(p, "", "empty URL");
    expect_refused(p, "javascript:alert(1)", "not an absolute http(s) URL");
    expect_refused(p, "//evil.example", "not an absolute http(s) URL");
    /* parses; the handler refuses it as not a target site */
    expect_parsed(p, "https://evil.example", "https", "evil.example", 443, 0, "/");
    expect_refused(p, "https://B@evil.example", "user information is not allowed in the URL");
    expect_refused(p, "https://b.example/\r\nSet-Cookie:x",
                   "control character or space in the URL");
    expect_parsed(p, "https://b.example:8443/", "https", "b.example", 8443, 1, "/");
    expect_parsed(p, "HTTPS://B.EXAMPLE/x?y=1#frag", "https", "b.example", 443, 0, "/x?y=1");
    expect_parsed(p, "https://b.example", "https", "b.example", 443, 0, "/");
    expect_parsed(p, "https://b.example?x=1", "https", "b.example", 443, 0, "/?x=1");
    expect_parsed(p, "https://[::1]:8080/", "https", "[::1]", 8080, 1, "/");
}

static void test_parse_valid(void **state)
{
    apr_pool_t *p = *state;

    expect_parsed(p, "https://b.example/some/page?x=1", "https", "b.example", 443, 0,
                  "/some/page?x=1");
    expect_parsed(p, "https://b.example#frag", "https", "b.example", 443, 0, "/");
    expect_parsed(p, "https://b.example?x=1#f", "https", "b.example", 443, 0, "/?x=1");
    expect_parsed(p, "https://b.example/#", "https", "b.example", 443, 0, "/");
    expect_parsed(p, "https://b.example/a?b#c?d/e", "https", "b.example", 443, 0, "/a?b");
    expect_parsed(p, "http://[2001:DB8::1]/a", "http", "[2001:db8::1]", 80, 0, "/a");
    expect_parsed(p, "http://b.example/", "http", "b.example", 80, 0, "/");
    expect_parsed(p, "Http://B.Example:80/A/B?C=D", "http", "b.example", 80, 1, "/A/B?C=D");
    expect_parsed(p, "http://127.0.0.1:8081/x", "http", "127.0.0.1", 8081, 1, "/x");
    expect_parsed(p, "https://b.example:1/", "https", "b.example", 1, 1, "/");
    expect_parsed(p, "https://b.example:65535", "https", "b.example", 65535, 1, "/");
    expect_parsed(p, "https://b.example:00443/", "https", "b.example", 443, 1, "/");
    /* the trailing dot of a fully qualified name: the same host */
    expect_parsed(p, "https://b.example.:443/", "https", "b.example", 443, 1, "/");
    expect_parsed(p, "https://B.Example./x", "https", "b.example", 443, 0, "/x");
    expect_parsed(p, "https://b.example/p@th?u=a@b", "https", "b.example", 443, 0,
                  "/p@th?u=a@b");
    /* escapes are not decoded here */
    expect_parsed(p, "https://b.example/%0d%0a", "https", "b.example", 443, 0, "/%0d%0a");
    /* parsed as is; ss_next_valid refuses it as a navigation target */
    expect_parsed(p, "https://b.example//x", "https", "b.example", 443, 0, "//x");
}

static void test_parse_scheme(void **state)
{
    static const char *const bad[] = {
        "JavaScript://b.example/%0aalert(1)", "data:text/html,x", "/local/path",
        "ftp://b.example/", "https:/b.example", "https:b.example", "httpss://b.example",
        "ws://b.example/", "b.example", "b.example:443", "://b.example",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_refused(*state, bad[i], "not an absolute http(s) URL");
    }
}

static void test_parse_userinfo(void **state)
{
    static const char *const bad[] = {
        "https://user:pw@b.example/", "https://b.example@evil.example/", "https://@b.example",
        "https://user@b.example:443/x", "http://a:b@[::1]/",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_refused(*state, bad[i], "user information is not allowed in the URL");
    }
}

static void test_parse_bytes(void **state)
{
    apr_pool_t *p = *state;
    char s[64];
    int c;

    expect_refused(p, "https://b.example/\nx", "control character or space in the URL");
    expect_refused(p, "https://b.example/\tx", "control character or space in the URL");
    expect_refused(p, "https://b.example/ x", "control character or space in the URL");
    expect_refused(p, " https://b.example/", "control character or space in the URL");
    expect_refused(p, "https://b.example/#a b", "control character or space in the URL");
    expect_refused(p, "https://b.ex\xc3\xa4mple/", "non-ASCII byte in the URL");
    expect_refused(p, "https://b.example/#\xff", "non-ASCII byte in the URL");
    expect_refused(p, "https://b.example\\@evil.example/", "backslash in the URL");
    expect_refused(p, "https://b.example/\\evil", "backslash in the URL");
    expect_refused(p, "https:\\\\evil.example", "backslash in the URL");
    expect_refused(p, "https://b.example/?q=\\", "backslash in the URL");

    /* every byte below 0x21 and 0x7f, anywhere */
    for (c = 1; c < 0x21; c++) {
        snprintf(s, sizeof(s), "https://b.example/a%cb", c);
        expect_refused(p, s, "control character or space in the URL");
        snprintf(s, sizeof(s), "https://b.ex%cample/", c);
        expect_refused(p, s, "control character or space in the URL");
    }
    expect_refused(p, "https://b.example/\x7f", "control character or space in the URL");
}

static void test_parse_host(void **state)
{
    apr_pool_t *p = *state;

    expect_refused(p, "https://", "empty host in the URL");
    expect_refused(p, "https:///x", "empty host in the URL");
    expect_refused(p, "https://?x", "empty host in the URL");
    expect_refused(p, "https://#x", "empty host in the URL");
    expect_refused(p, "https://:443/", "empty host in the URL");
    expect_refused(p, "https://b_example/", "invalid host in the URL");
    expect_refused(p, "https://b%2eexample/", "invalid host in the URL");
    expect_refused(p, "https://b.example;x/", "invalid host in the URL");
    expect_refused(p, "https://[::1/", "invalid host in the URL");
    expect_refused(p, "https://[]/", "invalid host in the URL");
    expect_refused(p, "https://[::g]/", "invalid host in the URL");
    expect_refused(p, "https://[::1.2.3.4]/", "invalid host in the URL");
    /* the grammar of site entries (lib/ss_host.h): a label that starts or
     * ends with '-', a label over 63 characters, a name ending in a number
     * that is no IPv4 address, an IPv6 address of too few groups */
    expect_refused(p, "https://-b.example/", "invalid host in the URL");
    expect_refused(p, "https://.-.b.example/", "invalid host in the URL");
    expect_refused(p, "https://b-.example/", "invalid host in the URL");
    expect_refused(p, "https://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                      ".example/", "invalid host in the URL");
    expect_refused(p, "https://b.example..:443/", "invalid host in the URL");
    expect_refused(p, "https://127.0.0.01/", "invalid host in the URL");
    expect_refused(p, "https://1.2.3/", "invalid host in the URL");
    expect_refused(p, "https://b.example.0x10/", "invalid host in the URL");
    expect_refused(p, "https://[1]/", "invalid host in the URL");
    expect_refused(p, "https://[1::2::3]/", "invalid host in the URL");
    expect_parsed(p, "https://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                     ".example/", "https",
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example", 443,
                  0, "/");
}

static void test_parse_port(void **state)
{
    static const char *const bad[] = {
        "https://b.example:/", "https://b.example:0/", "https://b.example:00/",
        "https://b.example:65536/", "https://b.example:99999999999999999999/",
        "https://b.example:-1/", "https://b.example:+443/", "https://b.example:0x1bb/",
        "https://b.example:443:443/", "https://b.example:https/", "https://[::1]x/",
        "https://[::1]:/",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_refused(*state, bad[i], "invalid port");
    }
    /* the port ends at '?' or '#' */
    expect_parsed(*state, "https://b.example:8443?x", "https", "b.example", 8443, 1, "/?x");
    expect_parsed(*state, "https://b.example:8443#x", "https", "b.example", 8443, 1, "/");
}

static void test_parse_length(void **state)
{
    apr_pool_t *p = *state;
    const char *prefix = "https://b.example/";
    size_t plen = strlen(prefix);
    char *s = apr_palloc(p, SS_URL_MAX + 2);
    ss_url u;
    const char *err;

    memcpy(s, prefix, plen);
    memset(s + plen, 'a', SS_URL_MAX - plen);
    s[SS_URL_MAX] = '\0';
    assert_int_equal(ss_url_parse(p, s, &u, &err), APR_SUCCESS);
    assert_int_equal(strlen(u.path_query), SS_URL_MAX - plen + 1);

    /* one byte more is refused before anything else is looked at: a control
     * character inside does not change the reason */
    s[SS_URL_MAX] = 'a';
    s[SS_URL_MAX + 1] = '\0';
    s[plen] = '\n';
    assert_int_equal(ss_url_parse(p, s, &u, &err), APR_EINVAL);
    assert_string_equal(err, "URL longer than 8192 characters");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_go_targets),
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_scheme),
        cmocka_unit_test(test_parse_userinfo),
        cmocka_unit_test(test_parse_bytes),
        cmocka_unit_test(test_parse_host),
        cmocka_unit_test(test_parse_port),
        cmocka_unit_test(test_parse_length),
    };

    return cmocka_run_group_tests(tests, pool_setup, pool_teardown);
}
