/* Content-Security-Policy and Referrer-Policy values, lib/ss_csp.h: what
 * the application or the configuration sends, read by the module.
 *
 * Input: two header values separated by '\n' (the second may be absent).
 * Properties: widening by the loader's URLs keeps the value's structure
 * (the same ',' and ';' in the same order, nothing but white space and
 * sources added, a 'none' dropped), is idempotent, grows the value by at
 * most the URLs per policy, and never changes what 'strict-dynamic' asks;
 * a nonce chosen for the tags is a CSP base64 value that every policy
 * accepts (and the tags carrying it stay well formed); the Referrer-Policy
 * reader takes any value. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "fuzz.h"
#include "ss_csp.h"

const char fuzz_target_name[] = "csp";

#define URL1 "https://b.test/shared-session/AQID.js"
#define URL2 "https://c.test:8443/shared-session/BAUG.js"
#define SOURCES URL1 " " URL2
#define TAGS "<script src=\"" URL1 "\" async=\"async\" referrerpolicy=\"origin\"></script>" \
             "<script src=\"" URL2 "\" async=\"async\" referrerpolicy=\"origin\"></script>"

/* The value's ',' and ';' in order: the structure widening must keep. */
static char *skeleton(const char *v)
{
    size_t n = strlen(v), i, k = 0;
    char *out = malloc(n + 1);

    if (!out) {
        abort();
    }
    for (i = 0; i < n; i++) {
        if (v[i] == ',' || v[i] == ';') {
            out[k++] = v[i];
        }
    }
    out[k] = '\0';
    return out;
}

static size_t count(const char *v, char c)
{
    size_t n = 0;

    for (; *v; v++) {
        n += *v == c;
    }
    return n;
}

static void check_one(apr_pool_t *p, const char *v)
{
    const char *w = ss_csp_widen(p, v, SOURCES), *w2, *nonce_v, *nonce_w;
    apr_array_header_t *one = apr_array_make(p, 1, sizeof(const char *));
    apr_array_header_t *onew = apr_array_make(p, 1, sizeof(const char *));
    ss_csp_need need_v, need_w;
    char *sk_v, *sk_w;

    FUZZ_CHECK(w != NULL);
    if (w != v) {
        FUZZ_CHECK(strlen(v) <= SS_CSP_MAX);
        FUZZ_CHECK(strlen(w) <= strlen(v) + (count(v, ',') + 1) * (sizeof(SOURCES) + 1));
        FUZZ_CHECK(strstr(w, URL1) || strstr(v, URL1));
        FUZZ_CHECK(strstr(w, URL2) || strstr(v, URL2));
    }
    sk_v = skeleton(v);
    sk_w = skeleton(w);
    FUZZ_CHECK(strcmp(sk_v, sk_w) == 0);
    free(sk_v);
    free(sk_w);
    /* widening what is widened changes nothing */
    w2 = ss_csp_widen(p, w, SOURCES);
    FUZZ_CHECK(w2 == w);

    APR_ARRAY_PUSH(one, const char *) = v;
    APR_ARRAY_PUSH(onew, const char *) = w;
    need_v = ss_csp_loader_nonce(p, one, &nonce_v);
    need_w = ss_csp_loader_nonce(p, onew, &nonce_w);
    FUZZ_CHECK(need_v == need_w);
    FUZZ_CHECK((nonce_v == NULL) == (nonce_w == NULL));
    FUZZ_CHECK(!nonce_v || strcmp(nonce_v, nonce_w) == 0);
    FUZZ_CHECK((need_v == SS_CSP_NONCE) == (nonce_v != NULL));
    if (nonce_v) {
        const char *tags = ss_csp_tags_with_nonce(p, TAGS, nonce_v);

        FUZZ_CHECK(ss_csp_nonce_ok(nonce_v));
        FUZZ_CHECK(ss_csp_nonce_suffices(p, v, nonce_v));
        FUZZ_CHECK(ss_csp_nonce_suffices(p, w, nonce_v));
        FUZZ_CHECK(tags != NULL);
        FUZZ_CHECK(strcmp(ss_csp_tag_sources(p, tags), SOURCES) == 0);
        FUZZ_CHECK(count(tags, '"') == count(TAGS, '"') + 4);
    }
    if (need_v == SS_CSP_URLS) {
        FUZZ_CHECK(ss_csp_nonce_suffices(p, v, NULL));
    }
    (void)ss_referrer_policy_hides_origin(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_input_pool();
    const uint8_t *rest;
    size_t restlen;
    char *first, *second = NULL;
    int two = fuzz_split(data, size, '\n', &first, &rest, &restlen);

    /* header values hold no NUL */
    if (memchr(data, '\0', size)) {
        fuzz_input_done();
        return 0;
    }
    check_one(p, first);
    if (two) {
        apr_array_header_t *both = apr_array_make(p, 2, sizeof(const char *));
        const char *nonce;

        second = fuzz_strndup(rest, restlen);
        check_one(p, second);
        APR_ARRAY_PUSH(both, const char *) = first;
        APR_ARRAY_PUSH(both, const char *) = second;
        /* a nonce for two policies is one both accept */
        if (ss_csp_loader_nonce(p, both, &nonce) == SS_CSP_NONCE) {
            FUZZ_CHECK(ss_csp_nonce_suffices(p, first, nonce));
            FUZZ_CHECK(ss_csp_nonce_suffices(p, second, nonce));
        }
    }
    fuzz_input_done();
    return 0;
}
