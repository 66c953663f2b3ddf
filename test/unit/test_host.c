/* Unit tests of lib/ss_host.c: the one host grammar that site entries,
 * `to` URLs and Referer/Origin values are read with, its normal form, its
 * limits, and how a request's host relates to a site's. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "ss_host.h"
#include "ss_sites.h"
#include "ss_url.h"

#include "unit_pool.h"

static void expect_host(apr_pool_t *p, const char *in, ss_host_kind kind, const char *norm)
{
    const char *out = NULL, *err = "unset";
    ss_host_kind got = ss_host_parse(p, in, strlen(in), &out, &err);

    if (got != kind) {
        fail_msg("\"%s\": kind %d (%s), expected %d", in, got, err ? err : "-", kind);
    }
    assert_null(err);
    assert_string_equal(out, norm);
}

/* why: a substring of the one-line reason */
static void expect_bad(apr_pool_t *p, const char *in, size_t len, const char *why)
{
    const char *out = "unset", *err = NULL;

    if (ss_host_parse(p, in, len, &out, &err) != SS_HOST_INVALID) {
        fail_msg("\"%.*s\" accepted", (int)len, in);
    }
    assert_null(out);
    assert_non_null(err);
    if (!strstr(err, why)) {
        fail_msg("\"%.*s\": reason \"%s\", expected \"%s\"", (int)len, in, err, why);
    }
    assert_null(strchr(err, '\n'));
}

static void test_names(void **state)
{
    apr_pool_t *p = *state;

    expect_host(p, "example.com", SS_HOST_NAME, "example.com");
    expect_host(p, "WWW.Example.COM", SS_HOST_NAME, "www.example.com");
    expect_host(p, "localhost", SS_HOST_NAME, "localhost");
    expect_host(p, "a", SS_HOST_NAME, "a");
    expect_host(p, "a-b.x-1.example", SS_HOST_NAME, "a-b.x-1.example");
    expect_host(p, "xn--bcher-kva.example", SS_HOST_NAME, "xn--bcher-kva.example");
    expect_host(p, "1.example", SS_HOST_NAME, "1.example");       /* digits inside: a name */
    expect_host(p, "example.1a", SS_HOST_NAME, "example.1a");
    expect_host(p, "0x.example", SS_HOST_NAME, "0x.example");
    /* one trailing dot is the same name */
    expect_host(p, "example.com.", SS_HOST_NAME, "example.com");
    expect_host(p, "A.", SS_HOST_NAME, "a");

    expect_bad(p, "", 0, "empty host");
    expect_bad(p, NULL, 0, "empty host");
    expect_bad(p, ".", 1, "empty label");
    expect_bad(p, "example.com..", 13, "empty label");
    expect_bad(p, ".example.com", 12, "empty label");
    expect_bad(p, "a..b", 4, "empty label");
    expect_bad(p, "-a.example", 10, "starts with '-'");
    expect_bad(p, "www.-example.com", 16, "starts with '-'");
    expect_bad(p, ".-.a.test", 9, "empty label");
    expect_bad(p, "a-.example", 10, "ends with '-'");
    expect_bad(p, "example.com-", 12, "ends with '-'");
    expect_bad(p, "example.com-.", 13, "ends with '-'");
    expect_bad(p, "exa_mple.com", 12, "invalid character");
    expect_bad(p, "exa mple.com", 12, "invalid character");
    expect_bad(p, "ex%61mple.com", 13, "invalid character");
    expect_bad(p, "ex\xc3\xa4mple.com", 13, "invalid character");
    expect_bad(p, "a:b", 3, "invalid character");
    expect_bad(p, "x.[::1]", 7, "invalid character");
    /* the length given counts, not a NUL */
    expect_bad(p, "a\0b", 3, "invalid character");
}

static void test_name_limits(void **state)
{
    apr_pool_t *p = *state;
    char label[SS_HOST_LABEL_MAX + 2], name[SS_HOST_NAME_MAX + 3];
    const char *out, *err;
    int i;

    /* a label of SS_HOST_LABEL_MAX characters, then one more */
    memset(label, 'a', sizeof(label));
    label[SS_HOST_LABEL_MAX] = '\0';
    expect_host(p, apr_pstrcat(p, label, ".example", NULL), SS_HOST_NAME,
                apr_pstrcat(p, label, ".example", NULL));
    expect_host(p, label, SS_HOST_NAME, label);
    label[SS_HOST_LABEL_MAX] = 'a';
    label[SS_HOST_LABEL_MAX + 1] = '\0';
    expect_bad(p, label, strlen(label), "host label longer than 63 characters");
    expect_bad(p, apr_pstrcat(p, "www.", label, NULL), strlen(label) + 4,
               "longer than 63");

    /* SS_HOST_NAME_MAX characters in labels of 9 and a dot; with a
     * trailing dot one more; one letter more is refused */
    for (i = 0; i < SS_HOST_NAME_MAX; i++) {
        name[i] = (i % 10 == 9) ? '.' : 'a';
    }
    name[SS_HOST_NAME_MAX] = '\0';
    assert_int_equal(ss_host_parse(p, name, SS_HOST_NAME_MAX, &out, &err), SS_HOST_NAME);
    assert_int_equal(strlen(out), SS_HOST_NAME_MAX);
    name[SS_HOST_NAME_MAX] = '.';
    assert_int_equal(ss_host_parse(p, name, SS_HOST_NAME_MAX + 1, &out, &err), SS_HOST_NAME);
    assert_int_equal(strlen(out), SS_HOST_NAME_MAX);
    name[SS_HOST_NAME_MAX] = 'a';
    expect_bad(p, name, SS_HOST_NAME_MAX + 1, "host longer than 253 characters");
}

static void test_ipv4(void **state)
{
    apr_pool_t *p = *state;
    static const char *const bad[] = {
        "1", "123", "1.2", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.256", "1.2.3.999",
        "01.2.3.4", "1.2.3.04", "1.2.3.00", "0x7f.0.0.1", "127.0.0.0x1", "1.2.3.1234",
        "example.123", "example.0x10", "example.0X1f", "a.0x", "1..2.3.4",
    };
    size_t i;

    expect_host(p, "127.0.0.1", SS_HOST_IPV4, "127.0.0.1");
    expect_host(p, "0.0.0.0", SS_HOST_IPV4, "0.0.0.0");
    expect_host(p, "255.255.255.255", SS_HOST_IPV4, "255.255.255.255");
    expect_host(p, "192.0.2.10.", SS_HOST_IPV4, "192.0.2.10");
    /* browsers read a host that ends in a number as an address: a dotted
     * quad, or refused */
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_bad(p, bad[i], strlen(bad[i]),
                   strstr(bad[i], "..") ? "empty label" : "invalid IPv4 address");
    }
}

static void test_ipv6(void **state)
{
    apr_pool_t *p = *state;
    static const char *const bad[] = {
        "[]", "[1]", "[:]", "[:1]", "[1:]", "[::g]", "[1:::2]", "[1::2::3]",
        "[::1.2.3.4]", "[::ffff:127.0.0.1]", "[12345::]", "[1:2:3:4:5:6:7]",
        "[1:2:3:4:5:6:7:8:9]", "[1:2:3:4::5:6:7:8]", "[fe80::1%25eth0]", "[ ::1]",
        "[::1]x", "[::1]:", "[[::1]]",
    };
    size_t i;

    expect_host(p, "[::1]", SS_HOST_IPV6, "[::1]");
    expect_host(p, "[::]", SS_HOST_IPV6, "[::]");
    expect_host(p, "[2001:DB8::A]", SS_HOST_IPV6, "[2001:db8::a]");
    expect_host(p, "[1::]", SS_HOST_IPV6, "[1::]");
    expect_host(p, "[1:2:3:4:5:6:7:8]", SS_HOST_IPV6, "[1:2:3:4:5:6:7:8]");
    expect_host(p, "[1:2:3:4:5:6:7::]", SS_HOST_IPV6, "[1:2:3:4:5:6:7::]");
    expect_host(p, "[::2:3:4:5:6:7:8]", SS_HOST_IPV6, "[::2:3:4:5:6:7:8]");
    expect_host(p, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]", SS_HOST_IPV6,
                "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_bad(p, bad[i], strlen(bad[i]), "IPv6");
    }
    expect_bad(p, "[::1", 4, "no closing ']'");
    expect_bad(p, "[", 1, "no closing ']'");
}

static void test_port(void **state)
{
    static const struct { const char *s; int port; const char *why; } cases[] = {
        { "1", 1, NULL }, { "443", 443, NULL }, { "65535", 65535, NULL },
        { "08080", 8080, NULL }, { "000000000443", 443, NULL },
        { "", 0, "not a number" }, { "0", 0, "out of range" }, { "00", 0, "out of range" },
        { "65536", 0, "out of range" }, { "99999999999999999999", 0, "out of range" },
        { "-1", 0, "not a number" }, { "+80", 0, "not a number" }, { "80a", 0, "not a number" },
        { "0x1bb", 0, "not a number" }, { "80:81", 0, "not a number" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *err = "unset";
        int got = ss_host_port_parse(cases[i].s, strlen(cases[i].s), &err);

        if (got != cases[i].port) {
            fail_msg("port \"%s\": %d, expected %d", cases[i].s, got, cases[i].port);
        }
        if (cases[i].why) {
            assert_non_null(err);
            assert_non_null(strstr(err, cases[i].why));
        }
        else {
            assert_null(err);
        }
    }
}

static void test_relation(void **state)
{
    static const struct {
        const char *host, *site;
        ss_host_rel rel;
    } cases[] = {
        { "example.com", "example.com", SS_HOST_SAME },
        { "EXAMPLE.Com", "example.com", SS_HOST_SAME },
        { "example.com.", "example.com", SS_HOST_SAME },
        { "shop.example.com", "example.com", SS_HOST_SUBDOMAIN },
        { "a.b.shop.example.com", "example.com", SS_HOST_SUBDOMAIN },
        { "Shop.Example.Com.", "example.com", SS_HOST_SUBDOMAIN },
        { "myexample.com", "example.com", SS_HOST_OTHER },
        { "example.com.evil.test", "example.com", SS_HOST_OTHER },
        { "evil-example.com", "example.com", SS_HOST_OTHER },
        { "xample.com", "example.com", SS_HOST_OTHER },
        { "com", "example.com", SS_HOST_OTHER },
        { ".example.com", "example.com", SS_HOST_OTHER },
        { "example.com..", "example.com", SS_HOST_OTHER },
        { "", "example.com", SS_HOST_OTHER },
        { ".", "example.com", SS_HOST_OTHER },
        { NULL, "example.com", SS_HOST_OTHER },
        { "example.com", "", SS_HOST_OTHER },
        { "example.com", NULL, SS_HOST_OTHER },
        { "127.0.0.1", "127.0.0.1", SS_HOST_SAME },
        { "1.127.0.0.1", "127.0.0.1", SS_HOST_OTHER },   /* an address has no subdomains */
        { "127.0.0.10", "127.0.0.1", SS_HOST_OTHER },
        { "[::1]", "[::1]", SS_HOST_SAME },
        { "x.[::1]", "[::1]", SS_HOST_OTHER },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (ss_host_relation(cases[i].host, cases[i].site) != cases[i].rel) {
            fail_msg("ss_host_relation(\"%s\", \"%s\") != %d",
                     cases[i].host ? cases[i].host : "(null)",
                     cases[i].site ? cases[i].site : "(null)", cases[i].rel);
        }
    }
}

/* A site entry and a URL read the same host the same way: the same
 * refusals, the same normal form (the two parsers used to differ on a
 * leading '-', the label limit, IPv6 and the trailing dot). */
static void test_entries_and_urls_agree(void **state)
{
    apr_pool_t *p = *state;
    static const char *const hosts[] = {
        "b.example", "B.Example.", "-b.example", "b-.example", "b..example", "b_example",
        "127.0.0.1", "127.0.0.01", "1.2.3", "example.123", "[::1]", "[2001:DB8::1]",
        "[::1.2.3.4]", "[1]", "[1:2:3:4:5:6:7:8]", "xn--bcher-kva.example",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example",
    };
    size_t i;

    for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        const char *err;
        ss_site s;
        ss_url u;
        int site_ok = ss_site_parse(p, apr_pstrcat(p, "https://", hosts[i], NULL), &s,
                                    &err) == APR_SUCCESS;
        int url_ok = ss_url_parse(p, apr_pstrcat(p, "https://", hosts[i], "/x", NULL), &u,
                                  &err) == APR_SUCCESS;

        if (site_ok != url_ok) {
            fail_msg("\"%s\": entry %s, URL %s", hosts[i], site_ok ? "accepted" : "refused",
                     url_ok ? "accepted" : "refused");
        }
        if (site_ok) {
            assert_string_equal(s.host, u.host);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_name_limits),
        cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_port),
        cmocka_unit_test(test_relation),
        cmocka_unit_test(test_entries_and_urls_agree),
    };

    return cmocka_run_group_tests(tests, pool_setup, pool_teardown);
}
