/* Unit tests of lib/ss_pull.c: which requests are arrivals, which Referer
 * names a source site, and the guard cookie (its text, its limits, and
 * what a forged, garbled or oversized one does: nothing). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "ss_pull.h"
#include "ss_sites.h"

#include "unit_pool.h"

#define NOW ((apr_int64_t)1700000000)

static void test_period(void **state)
{
    (void)state;
    assert_int_equal(ss_pull_period(600), 600);
    assert_int_equal(ss_pull_period(86400), 86400);
    /* Resend 0 (and anything shorter than a minute): once a minute */
    assert_int_equal(ss_pull_period(0), SS_PULL_PERIOD_MIN);
    assert_int_equal(ss_pull_period(5), SS_PULL_PERIOD_MIN);
    assert_string_equal(ss_pull_cookie_name(1), "__Host-sspull");
    assert_string_equal(ss_pull_cookie_name(0), "sspull");
}

static void test_arrival_with_fetch_metadata(void **state)
{
    (void)state;
    assert_true(ss_pull_arrival("document", "cross-site", "1", NULL, NULL));
    assert_true(ss_pull_arrival("document", "cross-site", NULL, NULL, NULL));
    assert_true(ss_pull_arrival(" Document ", "Cross-Site", NULL, NULL, NULL));
    /* not a top-level navigation */
    assert_false(ss_pull_arrival("iframe", "cross-site", "1", NULL, NULL));
    assert_false(ss_pull_arrival("image", "cross-site", NULL, NULL, NULL));
    assert_false(ss_pull_arrival("empty", "cross-site", NULL, NULL, NULL));
    /* not from another site: typed, bookmarked, same site, same origin */
    assert_false(ss_pull_arrival("document", "none", "1", NULL, NULL));
    assert_false(ss_pull_arrival("document", "same-site", "1", NULL, NULL));
    assert_false(ss_pull_arrival("document", "same-origin", "1", NULL, NULL));
    /* one of the pair alone is not enough, even with the http fallback's header */
    assert_false(ss_pull_arrival("document", NULL, "1", NULL, NULL));
    assert_false(ss_pull_arrival(NULL, "cross-site", "1", NULL, NULL));
    assert_false(ss_pull_arrival("documentx", "cross-site", NULL, NULL, NULL));
    assert_false(ss_pull_arrival("document", "cross-sitex", NULL, NULL, NULL));
}

static void test_arrival_without_fetch_metadata(void **state)
{
    (void)state;
    assert_true(ss_pull_arrival(NULL, NULL, "1", NULL, NULL));
    assert_true(ss_pull_arrival(NULL, NULL, " 1 ", NULL, NULL));
    assert_false(ss_pull_arrival(NULL, NULL, NULL, NULL, NULL));
    assert_false(ss_pull_arrival(NULL, NULL, "0", NULL, NULL));
    assert_false(ss_pull_arrival(NULL, NULL, "11", NULL, NULL));
}

static void test_arrival_not_a_prefetch(void **state)
{
    (void)state;
    assert_false(ss_pull_arrival("document", "cross-site", "1", "prefetch", NULL));
    assert_false(ss_pull_arrival("document", "cross-site", "1", "prefetch;prerender", NULL));
    assert_false(ss_pull_arrival("document", "cross-site", "1", "", NULL));
    assert_false(ss_pull_arrival(NULL, NULL, "1", NULL, "prefetch"));
    assert_false(ss_pull_arrival(NULL, NULL, "1", NULL, "Prerender"));
    assert_true(ss_pull_arrival(NULL, NULL, "1", NULL, "other"));
}

static ss_site sites[5];

static int sites_setup(void **state)
{
    static const char *const list[] = {
        "http://a.test", "http://b.test", "https://secure.test", "http://127.0.0.1:8081",
        "https://c.test:8443"
    };
    apr_pool_t *p = *state;
    const char *err;
    int i;

    for (i = 0; i < 5; i++) {
        if (ss_site_parse(p, list[i], &sites[i], &err) != APR_SUCCESS) {
            return -1;
        }
    }
    return 0;
}

static const char *source(apr_pool_t *p, const char *referer)
{
    const ss_site *s = ss_pull_source(p, sites, 5, &sites[1], referer);
    return s ? s->id : NULL;
}

static void test_source(void **state)
{
    apr_pool_t *p = *state;

    assert_int_equal(sites_setup(state), 0);
    assert_string_equal(source(p, "http://a.test/"), "a.test");
    assert_string_equal(source(p, "http://a.test/page?x=1#f"), "a.test");
    assert_string_equal(source(p, "HTTP://A.TEST:80/"), "a.test");
    assert_string_equal(source(p, "http://a.test./"), "a.test");
    assert_string_equal(source(p, "http://a.test"), "a.test");
    assert_string_equal(source(p, "http://a.test?x"), "a.test");
    assert_string_equal(source(p, "https://secure.test/x"), "secure.test");
    assert_string_equal(source(p, "http://127.0.0.1:8081/"), "127.0.0.1:8081");
    assert_string_equal(source(p, "https://c.test:8443/"), "c.test:8443");
    /* the current site itself */
    assert_null(source(p, "http://b.test/"));
    /* another scheme or port than the entry's */
    assert_null(source(p, "https://a.test/"));
    assert_null(source(p, "http://a.test:8080/"));
    assert_null(source(p, "http://secure.test/"));
    assert_null(source(p, "https://c.test/"));
    assert_null(source(p, "http://127.0.0.1/"));
    /* a subdomain, a look-alike, an unlisted site */
    assert_null(source(p, "http://shop.a.test/"));
    assert_null(source(p, "http://xa.test/"));
    assert_null(source(p, "http://a.testx/"));
    assert_null(source(p, "http://a.test.evil.example/"));
    assert_null(source(p, "http://a.test-evil.example/"));
    assert_null(source(p, "http:/a.test/"));
    assert_null(source(p, "http://evil.example/"));
    /* not an absolute http(s) URL */
    assert_null(source(p, NULL));
    assert_null(source(p, ""));
    assert_null(source(p, "null"));
    assert_null(source(p, "/relative"));
    assert_null(source(p, "a.test"));
    assert_null(source(p, "ftp://a.test/"));
    assert_null(source(p, "http://user@a.test/"));
    assert_null(source(p, "http://a.test\r\n/"));
}

static int parse(apr_pool_t *p, const char *text, ss_pull_guard *g)
{
    return ss_pull_guard_parse(p, text, strlen(text), NOW, g);
}

static void test_guard_parse(void **state)
{
    apr_pool_t *p = *state;
    ss_pull_guard g;

    assert_true(parse(p, "a.test/1700000000", &g));
    assert_int_equal(g.n, 1);
    assert_string_equal(g.marks[0].id, "a.test");
    assert_true(g.marks[0].at == NOW);
    assert_true(parse(p, "a.test/1699999000~127.0.0.1:8081/1699999999~[::1]:8443/5", &g));
    assert_int_equal(g.n, 3);
    assert_string_equal(g.marks[1].id, "127.0.0.1:8081");
    assert_string_equal(g.marks[2].id, "[::1]:8443");
    assert_true(g.marks[2].at == 5);
    /* a site named twice: its latest time */
    assert_true(parse(p, "a.test/10~a.test/1699999990~a.test/20", &g));
    assert_int_equal(g.n, 1);
    assert_true(g.marks[0].at == 1699999990);
    /* a little ahead of this server's clock: another server of the farm */
    assert_true(parse(p, "a.test/1700000060", &g));
}

static void test_guard_parse_refuses(void **state)
{
    static const char *const bad[] = {
        "", "a", "/1", "a.test/", "a.test", "a.test1700000000", "/",
        "A.test/1", "a_test/1", "a.test/1x", "a.test/-1", "a.test/+1", "a.test/ 1",
        "a.test /1", "a.test/1~", "~a.test/1", "a.test/1~~b.test/2", "a.test/1;b",
        "a.test/1,b.test/2", "a.test/1\"", "a.test/123456789012",
        "a.test/1700000061",                     /* too far in the future */
        "a.test/99999999999",
        "a\x01.test/1", "a.test/1\x7f",
    };
    apr_pool_t *p = *state;
    ss_pull_guard g;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        g.n = 7;
        if (parse(p, bad[i], &g) || g.n != 0) {
            fail_msg("accepted: '%s'", bad[i]);
        }
    }
    /* an embedded NUL */
    assert_false(ss_pull_guard_parse(p, "a.t\0st/1", 8, NOW, &g));
    assert_false(ss_pull_guard_parse(p, NULL, 0, NOW, &g));
}

static void test_guard_parse_limits(void **state)
{
    apr_pool_t *p = *state;
    ss_pull_guard g;
    char id[SS_PULL_ID_MAX + 2];
    const char *text = "";
    int i;

    /* SS_PULL_GUARD_MARKS marks; one more is a forgery */
    for (i = 0; i < SS_PULL_GUARD_MARKS; i++) {
        text = apr_psprintf(p, "%s%ss%d.test/1699999999", text, i ? "~" : "", i);
    }
    assert_true(parse(p, text, &g));
    assert_int_equal(g.n, SS_PULL_GUARD_MARKS);
    assert_false(parse(p, apr_pstrcat(p, text, "~x.test/1", NULL), &g));
    assert_int_equal(g.n, 0);
    /* the longest site id, and one character more */
    memset(id, 'a', sizeof(id));
    id[SS_PULL_ID_MAX] = '\0';
    assert_true(parse(p, apr_pstrcat(p, id, "/1", NULL), &g));
    id[SS_PULL_ID_MAX] = 'a';
    id[SS_PULL_ID_MAX + 1] = '\0';
    assert_false(parse(p, apr_pstrcat(p, id, "/1", NULL), &g));
    /* the text's limit, whatever it holds */
    text = apr_pstrcat(p, "a.test/", NULL);
    while (strlen(text) < SS_PULL_GUARD_MAX_CHARS) {
        text = apr_pstrcat(p, text, "0", NULL);
    }
    assert_false(parse(p, text, &g));
    text = apr_psprintf(p, "%0*d", SS_PULL_GUARD_MAX_CHARS * 4, 0);
    assert_false(parse(p, text, &g));
}

static void test_guard_read(void **state)
{
    apr_pool_t *p = *state;
    ss_pull_guard g;

    assert_true(ss_pull_guard_read(p, "x=1; sspull=a.test/1699999999; y=2", 0, NOW, &g));
    assert_int_equal(g.n, 1);
    assert_string_equal(g.marks[0].id, "a.test");
    /* the https name on an https entry only */
    assert_false(ss_pull_guard_read(p, "sspull=a.test/1699999999", 1, NOW, &g));
    assert_true(ss_pull_guard_read(p, "__Host-sspull=a.test/1699999999", 1, NOW, &g));
    assert_false(ss_pull_guard_read(p, "__Host-sspull=a.test/1699999999", 0, NOW, &g));
    /* names that only start alike are other cookies */
    assert_true(ss_pull_guard_read(p, "sspullx=b.test/1; sspull=a.test/1; xsspull=c.test/2",
                                   0, NOW, &g));
    assert_int_equal(g.n, 1);
    assert_string_equal(g.marks[0].id, "a.test");
    /* two of that name (one tossed from a sibling host on http): neither */
    assert_false(ss_pull_guard_read(p, "sspull=a.test/1; sspull=c.test/2", 0, NOW, &g));
    assert_int_equal(g.n, 0);
    assert_false(ss_pull_guard_read(p, "sspull=garbled", 0, NOW, &g));
    assert_int_equal(g.n, 0);
    assert_false(ss_pull_guard_read(p, NULL, 0, NOW, &g));
    assert_false(ss_pull_guard_read(p, "", 0, NOW, &g));
    assert_false(ss_pull_guard_read(p, ";;; sspull", 0, NOW, &g));
}

static void test_guarded(void **state)
{
    apr_pool_t *p = *state;
    ss_pull_guard g;

    assert_true(parse(p, "a.test/1699999401~secure.test/1699999400", &g));
    assert_true(ss_pull_guarded(&g, "a.test", NOW, 600));
    assert_false(ss_pull_guarded(&g, "secure.test", NOW, 600));    /* 600 s ago: over */
    assert_false(ss_pull_guarded(&g, "c.test:8443", NOW, 600));
    assert_false(ss_pull_guarded(&g, "a.tes", NOW, 600));
    /* a mark from up to a minute ahead still guards */
    assert_true(parse(p, "a.test/1700000030", &g));
    assert_true(ss_pull_guarded(&g, "a.test", NOW, 600));
    g.n = 0;
    assert_false(ss_pull_guarded(&g, "a.test", NOW, 600));
}

static void test_guard_text(void **state)
{
    apr_pool_t *p = *state;
    ss_pull_guard g;
    const char *text;
    char id[SS_PULL_ID_MAX + 1];
    int i;

    g.n = 0;
    assert_string_equal(ss_pull_guard_text(p, &g, "a.test", NOW, 600), "a.test/1700000000");
    /* the source's new mark first, then the others newest first; the
     * expired ones and the source's old mark go */
    assert_true(parse(p, "a.test/1699999900~c.test:8443/1699999000~"
                         "secure.test/1699999500~127.0.0.1:8081/1699999450", &g));
    text = ss_pull_guard_text(p, &g, "a.test", NOW, 600);
    assert_string_equal(text, "a.test/1700000000~secure.test/1699999500~"
                              "127.0.0.1:8081/1699999450");
    /* what it writes, it reads */
    assert_true(parse(p, text, &g));
    assert_int_equal(g.n, 3);
    /* never more marks than the limit: the oldest go */
    g.n = 0;
    for (i = 0; i < SS_PULL_GUARD_MARKS; i++) {
        g.marks[g.n].id = apr_psprintf(p, "s%d.test", i);
        g.marks[g.n++].at = NOW - 100 + i;
    }
    text = ss_pull_guard_text(p, &g, "a.test", NOW, 600);
    assert_true(parse(p, text, &g));
    assert_int_equal(g.n, SS_PULL_GUARD_MARKS);
    assert_string_equal(g.marks[0].id, "a.test");
    assert_string_equal(g.marks[1].id, "s15.test");
    assert_null(strstr(text, "s0.test/"));
    /* never more characters than the limit: long ids make room */
    memset(id, 'x', sizeof(id));
    id[SS_PULL_ID_MAX] = '\0';
    g.n = 0;
    for (i = 0; i < 6; i++) {
        id[0] = (char)('a' + i);
        g.marks[g.n].id = apr_pstrdup(p, id);
        g.marks[g.n++].at = NOW - i;
    }
    text = ss_pull_guard_text(p, &g, id, NOW, 600);
    assert_true(strlen(text) <= SS_PULL_GUARD_MAX_CHARS);
    assert_true(parse(p, text, &g));
    assert_int_equal(g.n, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_period),
        cmocka_unit_test(test_arrival_with_fetch_metadata),
        cmocka_unit_test(test_arrival_without_fetch_metadata),
        cmocka_unit_test(test_arrival_not_a_prefetch),
        cmocka_unit_test(test_source),
        cmocka_unit_test(test_guard_parse),
        cmocka_unit_test(test_guard_parse_refuses),
        cmocka_unit_test(test_guard_parse_limits),
        cmocka_unit_test(test_guard_read),
        cmocka_unit_test(test_guarded),
        cmocka_unit_test(test_guard_text),
    };

    return cmocka_run_group_tests(tests, pool_setup, pool_teardown);
}
