/* Security headers (docs/PROTOCOL.md, "Answers and headers"): the
 * Content-Security-Policy of a page that gets the loader, and the
 * Referrer-Policy of the module's answers and of the pages that send
 * visitors to the other sites.  The policy logic is lib/ss_csp.c; this file
 * reads and writes the header tables at the two moments that matter: when
 * the SHARED_SESSION filter writes the tags (what the page's own policy asks
 * of them) and in the late header filter, after mod_headers (what the
 * final headers must say). */

#include "ss_glue.h"
#include "ss_csp.h"

#include "apr_atomic.h"

#define SS_CSP "Content-Security-Policy"
#define SS_CSP_RO "Content-Security-Policy-Report-Only"
#define SS_REFERRER_POLICY "Referrer-Policy"

/* Said once per process: a page of this site sends no Referer. */
static apr_uint32_t ss_referrer_hidden_said;

static void ss_referrer_check_page(request_rec *r);

typedef struct {
    apr_array_header_t *enforced;
    apr_array_header_t *report_only;
} ss_csp_values;

static int ss_csp_collect(void *rec, const char *key, const char *val)
{
    ss_csp_values *v = rec;

    if (!val || !*val) {
        return 1;
    }
    if (!strcasecmp(key, SS_CSP)) {
        APR_ARRAY_PUSH(v->enforced, const char *) = val;
    }
    else if (!strcasecmp(key, SS_CSP_RO)) {
        APR_ARRAY_PUSH(v->report_only, const char *) = val;
    }
    return 1;
}

static void ss_csp_read(request_rec *r, ss_csp_values *v)
{
    v->enforced = apr_array_make(r->pool, 2, sizeof(const char *));
    v->report_only = apr_array_make(r->pool, 1, sizeof(const char *));
    apr_table_do(ss_csp_collect, v, r->headers_out, SS_CSP, SS_CSP_RO, NULL);
    apr_table_do(ss_csp_collect, v, r->err_headers_out, SS_CSP, SS_CSP_RO, NULL);
}

/* Whether the response has a policy yet (most pages have none). */
static int ss_csp_present(request_rec *r)
{
    return apr_table_get(r->headers_out, SS_CSP) || apr_table_get(r->err_headers_out, SS_CSP)
        || apr_table_get(r->headers_out, SS_CSP_RO)
        || apr_table_get(r->err_headers_out, SS_CSP_RO);
}

const char *ss_csp_loader_tags(request_rec *r, const char *tags, apr_size_t *len)
{
    ss_csp_values v;
    const char *nonce = NULL, *ro_nonce = NULL;
    ss_late_headers *late;

    if (!ss_csp_present(r)) {
        goto record;
    }
    ss_csp_read(r, &v);
    switch (ss_csp_loader_nonce(r->pool, v.enforced, &nonce)) {
    case SS_CSP_NO_NONCE:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, SSLOGNO(02160)
                      "no loader in %s: its Content-Security-Policy has 'strict-dynamic' "
                      "and no nonce that the loader's <script> tags could carry (the "
                      "module never adds one of its own); give script-src a 'nonce-...' "
                      "of the page, or remove the SHARED_SESSION filter there and link "
                      "through the handler's go instead",
                      ap_escape_logitem(r->pool, r->uri));
        return NULL;
    case SS_CSP_NONCE:
        break;
    default:
        /* a report-only policy never stops the loader; its nonce, if it
         * has one, keeps it from being reported */
        if (ss_csp_loader_nonce(r->pool, v.report_only, &ro_nonce) == SS_CSP_NONCE) {
            nonce = ro_nonce;
        }
        break;
    }
    if (nonce) {
        tags = ss_csp_tags_with_nonce(r->pool, tags, nonce);
        *len = strlen(tags);
    }
record:
    /* every policy gets the URLs, whichever module sets it: the late
     * header filter widens what the final headers say */
    late = ss_late_headers_add(r);
    late->csp_tags = tags;
    late->csp_nonce = nonce;
    /* its Referrer-Policy, now and once "Header" has had its say */
    late->page = 1;
    ss_referrer_check_page(r);
    return tags;
}

void ss_csp_meta_seen(request_rec *r)
{
    ss_late_headers *late = ss_late_headers_add(r);

    late->csp_tags = NULL;
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, SSLOGNO(02161)
                  "no loader in %s: the page's <head> carries a Content-Security-Policy "
                  "<meta>, which the module cannot widen; send the policy as a header "
                  "instead", ap_escape_logitem(r->pool, r->uri));
}

/* The late step for a page with the loader: every policy present now is
 * widened by the ticket URLs, and a 'strict-dynamic' policy that the tags
 * cannot satisfy (set after the filter wrote them) is reported. */
static void ss_csp_late(request_rec *r, const ss_late_headers *late)
{
    apr_table_t *tables[2];
    int i, j, stopped = 0, widened = 0;
    const char *sources = NULL;

    tables[0] = r->headers_out;
    tables[1] = r->err_headers_out;
    for (i = 0; i < 2; i++) {
        const apr_array_header_t *arr = apr_table_elts(tables[i]);
        apr_table_entry_t *e = (apr_table_entry_t *)arr->elts;

        for (j = 0; j < arr->nelts; j++) {
            int enforced;
            const char *v;

            if (!e[j].key || !e[j].val) {
                continue;
            }
            enforced = !strcasecmp(e[j].key, SS_CSP);
            if (!enforced && strcasecmp(e[j].key, SS_CSP_RO)) {
                continue;
            }
            if (enforced && !ss_csp_nonce_suffices(r->pool, e[j].val, late->csp_nonce)) {
                stopped = 1;
            }
            if (!sources) {
                sources = ss_csp_tag_sources(r->pool, late->csp_tags);
            }
            v = ss_csp_widen(r->pool, e[j].val, sources);
            if (v != e[j].val) {
                /* the key stays: only the value of the entry changes */
                e[j].val = (char *)v;
                widened++;
            }
        }
    }
    if (stopped) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, SSLOGNO(02162)
                      "the loader in %s will not run: a Content-Security-Policy with "
                      "'strict-dynamic' was set after the %s filter had written its tags "
                      "(by 'Header set' or another output filter), so they carry no "
                      "nonce it accepts; let the application send that policy (its "
                      "headers are there when the filter writes the tags)",
                      ap_escape_logitem(r->pool, r->uri), SS_FILTER);
    }
    if (widened) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, SSLOGNO(02163)
                      "%d Content-Security-Policy header(s) of %s widened by the "
                      "loader's URLs", widened, ap_escape_logitem(r->pool, r->uri));
    }
}

/* Every Referrer-Policy value in the order the client reads them (the
 * HTTP header filter puts err_headers_out first). */
typedef struct {
    apr_pool_t *p;
    const char *all;
} ss_referrer_values;

static int ss_referrer_join(void *rec, const char *key, const char *val)
{
    ss_referrer_values *v = rec;

    (void)key;
    if (val && *val) {
        v->all = v->all ? apr_pstrcat(v->p, v->all, ", ", val, NULL) : val;
    }
    return 1;
}

/* A page of a site that says it sends no Referer: said once per process. */
static void ss_referrer_check_page(request_rec *r)
{
    ss_referrer_values v = { r->pool, NULL };
    const char *all;
    const ss_site *site;

    if (apr_atomic_read32(&ss_referrer_hidden_said) || r->main) {
        return;
    }
    apr_table_do(ss_referrer_join, &v, r->err_headers_out, SS_REFERRER_POLICY, NULL);
    apr_table_do(ss_referrer_join, &v, r->headers_out, SS_REFERRER_POLICY, NULL);
    all = v.all;
    if (!ss_referrer_policy_hides_origin(all)
        || !(site = ss_request_site(r, ss_conf(r->server)))) {
        return;
    }
    if (apr_atomic_cas32(&ss_referrer_hidden_said, 1, 0) == 0) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, SSLOGNO(02164)
                      "pages of %s (here %s) say 'Referrer-Policy: %s': links from them "
                      "to the other sites carry no Referer, so those sites cannot tell "
                      "that a visitor comes from %s and do not pull the session; use "
                      "strict-origin-when-cross-origin (the browsers' default) or origin "
                      "on pages that link to them (said once per process)", site->id,
                      ap_escape_logitem(r->pool, r->uri), ap_escape_logitem(r->pool, all),
                      site->id);
    }
}

void ss_sechdr_late(request_rec *r, const ss_late_headers *late)
{
    if (late->referrer_policy) {
        /* the module's own answer: its policy, whatever was configured */
        apr_table_unset(r->err_headers_out, SS_REFERRER_POLICY);
        apr_table_setn(r->headers_out, SS_REFERRER_POLICY, late->referrer_policy);
    }
    if (late->private && late->csp_tags) {
        ss_csp_late(r, late);
    }
    if (late->page) {
        ss_referrer_check_page(r);
    }
}
