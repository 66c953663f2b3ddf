/* Application cookies, lib/ss_cookie.h: what a browser, an application and
 * a ticket hand to a site in cookie mode.
 *
 * The input is used as each of:
 *  - a Cookie header: the listed cookies read have cookie-octet values,
 *    each as ss_cookie_get finds it once; a listed name twice is no session;
 *  - a Set-Cookie line: a cookie it names has a non-empty name and neither
 *    holds ';';
 *  - SharedSessionCookie attributes: accepted ones are printable ASCII, and
 *    the lines built with them hold no CR, LF or NUL;
 *  - a ticket's session field of cookie pairs: what decodes has listed
 *    names only with cookie-octet values of bounded length, its Set-Cookie
 *    line is exactly "name=value; attributes", and encoding it again
 *    decodes to the same pairs and generation. */
#include <string.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "fuzz.h"
#include "ss_cookie.h"
#include "ss_session_codec.h"

const char fuzz_target_name[] = "cookie";

static const char *const NAMES[] = { "sessionid", "PHPSESSID", "a" };
#define NNAMES 3

static int no_ctl(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f) {
            return 0;
        }
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_input_pool();
    char *text = fuzz_strndup(data, size);
    apr_table_t *t = apr_table_make(p, 4), *again = apr_table_make(p, 4);
    ss_cookie_change c;
    ss_cookie_attrs a;
    const char *gen, *gen2;
    int i;

    /* a Cookie header */
    if (ss_cookie_read(text, NAMES, NNAMES, t)) {
        for (i = 0; i < NNAMES; i++) {
            const char *v = apr_table_get(t, NAMES[i]);
            int count = 0;
            const char *got = ss_cookie_get(p, text, NAMES[i], &count);

            FUZZ_CHECK(count <= 1);
            FUZZ_CHECK((v == NULL) == (got == NULL));
            if (v) {
                FUZZ_CHECK(ss_cookie_octets(v, strlen(v)) && !strcmp(v, got));
            }
        }
    }
    else {
        FUZZ_CHECK(apr_table_elts(t)->nelts == 0);
    }

    /* a Set-Cookie line */
    if (ss_set_cookie_parse(p, text, apr_time_from_sec(1700000000), &c)) {
        FUZZ_CHECK(*c.name && !strchr(c.name, ';') && !strchr(c.value, ';'));
    }

    /* attributes */
    if (!ss_cookie_attrs_parse(p, text, &a)) {
        FUZZ_CHECK(no_ctl(text));
        FUZZ_CHECK(no_ctl(ss_cookie_set_line(p, "sessionid", "v", &a)));
        FUZZ_CHECK(no_ctl(ss_cookie_delete_line(p, "sessionid", &a)));
        FUZZ_CHECK(no_ctl(ss_cookie_marker_line(p, 1, &a, "1.ab")));
    }

    /* a ticket's cookie pairs */
    if (ss_cookie_payload_decode(p, text, NAMES, NNAMES, t, &gen)) {
        const apr_array_header_t *arr = apr_table_elts(t);
        const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
        apr_table_t *enc = apr_table_copy(p, t);

        ss_cookie_attrs_default(p, 1, &a);
        for (i = 0; i < arr->nelts; i++) {
            size_t vlen = strlen(e[i].val);
            const char *line = ss_cookie_set_line(p, e[i].key, e[i].val, &a);

            FUZZ_CHECK(ss_cookie_octets(e[i].val, vlen));
            FUZZ_CHECK(strlen(e[i].key) + vlen <= SS_COOKIE_MAX);
            FUZZ_CHECK(!strcmp(line, apr_pstrcat(p, e[i].key, "=", e[i].val, "; ", a.text,
                                                 NULL)));
        }
        if (gen && *gen) {
            apr_table_setn(enc, "shared-session-gen", gen);
        }
        if (arr->nelts || (gen && *gen)) {
            FUZZ_CHECK(ss_cookie_payload_decode(p, ss_session_encode(p, enc), NAMES, NNAMES,
                                                again, &gen2));
            FUZZ_CHECK(apr_table_elts(again)->nelts == arr->nelts);
            for (i = 0; i < arr->nelts; i++) {
                FUZZ_CHECK(!strcmp(apr_table_get(again, e[i].key), e[i].val));
            }
            FUZZ_CHECK((gen2 && gen && !strcmp(gen, gen2)) || (!gen2 && (!gen || !*gen)));
        }
    }
    else {
        FUZZ_CHECK(apr_table_elts(t)->nelts == 0 && gen == NULL);
    }
    fuzz_input_done();
    return 0;
}
