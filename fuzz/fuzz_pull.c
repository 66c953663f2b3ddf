/* Pulls on arrival, lib/ss_pull.h: the guard cookie and the Referer rule.
 *
 * Input: line 1 is a Referer; the rest is a Cookie header (it may hold a
 * guard cookie, "sspull=..."), also read as a guard cookie's text itself.
 *
 * Properties:
 *  - a guard is read or ignored as a whole: accepted, it holds 1 to
 *    SS_PULL_GUARD_MARKS marks, each id of 1-SS_PULL_ID_MAX characters of
 *    the site-id alphabet, no time more than SS_PULL_FUTURE_MAX ahead, no
 *    id twice; refused, it holds none; reading is deterministic;
 *  - the text written after a pull is at most SS_PULL_GUARD_MAX_CHARS,
 *    reads back as a guard, names the pulled source first at now (so it is
 *    guarded) and otherwise only marks of the old guard still within the
 *    period;
 *  - ss_pull_source names another entry than the current one, exactly when
 *    the handler's Referer rule (ss_referer_matches) accepts the Referer
 *    for that entry; never the current site. */
#include <string.h>
#include <apr_strings.h>

#include "fuzz.h"
#include "ss_pull.h"
#include "ss_request.h"
#include "ss_sites.h"

const char fuzz_target_name[] = "pull";

#define NOW ((apr_int64_t)1700000000)
#define PERIOD 600
#define NSITES 5

static ss_site sites[NSITES];

static void setup(void)
{
    static int done;
    static const char *const list[] = {
        "http://a.test", "http://b.test", "https://secure.test", "http://127.0.0.1:8081",
        "https://c.test:8443"
    };
    apr_pool_t *gp = fuzz_global_pool();
    const char *err;
    int i;

    if (done) {
        return;
    }
    for (i = 0; i < NSITES; i++) {
        FUZZ_CHECK(ss_site_parse(gp, list[i], &sites[i], &err) == APR_SUCCESS);
    }
    done = 1;
}

static void check_guard(const ss_pull_guard *g, int ok)
{
    int i, j;

    if (!ok) {
        FUZZ_CHECK(g->n == 0);
        return;
    }
    FUZZ_CHECK(g->n >= 1 && g->n <= SS_PULL_GUARD_MARKS);
    for (i = 0; i < g->n; i++) {
        size_t len = strlen(g->marks[i].id);

        FUZZ_CHECK(len >= 1 && len <= SS_PULL_ID_MAX);
        FUZZ_CHECK(strspn(g->marks[i].id, "abcdefghijklmnopqrstuvwxyz0123456789.-:[]") == len);
        FUZZ_CHECK(g->marks[i].at >= 0 && g->marks[i].at <= NOW + SS_PULL_FUTURE_MAX);
        for (j = 0; j < i; j++) {
            FUZZ_CHECK(strcmp(g->marks[i].id, g->marks[j].id));
        }
    }
}

static const ss_pull_mark *mark_of(const ss_pull_guard *g, const char *id)
{
    int i;

    for (i = 0; i < g->n; i++) {
        if (!strcmp(g->marks[i].id, id)) {
            return &g->marks[i];
        }
    }
    return NULL;
}

static void check_rewrite(apr_pool_t *p, const ss_pull_guard *g, const char *src)
{
    const char *text = ss_pull_guard_text(p, g, src, NOW, PERIOD);
    ss_pull_guard again;
    int i;

    FUZZ_CHECK(strlen(text) <= SS_PULL_GUARD_MAX_CHARS);
    FUZZ_CHECK(ss_pull_guard_parse(p, text, strlen(text), NOW, &again) == 1);
    check_guard(&again, 1);
    FUZZ_CHECK(!strcmp(again.marks[0].id, src) && again.marks[0].at == NOW);
    FUZZ_CHECK(ss_pull_guarded(&again, src, NOW, PERIOD));
    for (i = 1; i < again.n; i++) {
        const ss_pull_mark *old = mark_of(g, again.marks[i].id);

        FUZZ_CHECK(old && old->at == again.marks[i].at && NOW - old->at < PERIOD);
        /* newest first after the source (a mark may be a little ahead) */
        FUZZ_CHECK(i == 1 || again.marks[i].at <= again.marks[i - 1].at);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_input_pool();
    const uint8_t *rest;
    size_t restlen;
    char *referer, *cookie;
    ss_pull_guard g, g2;
    int ok, i, secure;

    setup();
    fuzz_split(data, size, '\n', &referer, &rest, &restlen);
    cookie = fuzz_strndup(rest, restlen);

    /* the rest as a guard's text, NUL bytes and all */
    ok = ss_pull_guard_parse(p, (const char *)rest, restlen, NOW, &g);
    check_guard(&g, ok);
    FUZZ_CHECK(ss_pull_guard_parse(p, (const char *)rest, restlen, NOW, &g2) == ok
               && g2.n == g.n);
    if (ok) {
        check_rewrite(p, &g, "a.test");
        check_rewrite(p, &g, sites[3].id);
    }
    /* the rest as a Cookie header */
    for (secure = 0; secure <= 1; secure++) {
        ok = ss_pull_guard_read(p, cookie, secure, NOW, &g);
        check_guard(&g, ok);
        check_rewrite(p, &g, "secure.test");
    }

    /* the Referer rule, for each entry as the current site */
    for (i = 0; i < NSITES; i++) {
        const ss_site *src = ss_pull_source(p, sites, NSITES, &sites[i], referer);
        int j;

        FUZZ_CHECK(src != &sites[i]);
        for (j = 0; j < NSITES; j++) {
            if (j != i) {
                FUZZ_CHECK((src == &sites[j]) == ss_referer_matches(p, referer, &sites[j]));
            }
        }
    }
    fuzz_input_done();
    return 0;
}
