/* Pulls on arrival (docs/PROTOCOL.md, "Pulls on arrival"): a top-level GET
 * navigation that arrives at this site from another listed site's own
 * host is answered 303 to this site's own "start" for that source and the
 * very URL asked for, so that the navigation flow brings the source's
 * session along; the visitor then lands on that URL.
 *
 * Decided in header_parser: it runs for the main request only, after the
 * location walk (SharedSessionPull of the directory is known) and before
 * the access, authentication and authorization checks and any handler
 * (server/request.c, ap_process_request_internal), so the application
 * never sees the request twice.  The hook answers 303 as httpd answers an
 * error or a Redirect: no handler, no output filter of the page runs for
 * it, and what is configured with "Header always" is on it.
 * The decisions themselves are lib/ss_pull.c's. */

#include "ss_glue.h"
#include "ss_pull.h"

/* The request target's path and query as sent: an origin-form target as it
 * is, the path of an absolute-form one. */
static const char *ss_pull_target(request_rec *r)
{
    const char *u = r->unparsed_uri, *p;

    if (!u || *u == '/') {
        return u;
    }
    if (!(p = ap_strstr_c(u, "://")) || !(p = ap_strchr_c(p + 3, '/'))) {
        return NULL;
    }
    return p;
}

static int ss_pull_secure(const ss_site *site)
{
    return !strcmp(site->scheme, "https");
}

/* Whether this host answers its start: SetHandler shared-session at
 * SharedSessionPath, reachable (a lookup, as a request to it would be
 * mapped and checked).  Only an arrival that is about to be pulled pays
 * for it; without it the visitor would land on an error page. */
static int ss_pull_start_mounted(request_rec *r, const ss_server_conf *conf)
{
    static int warned;      /* once per child */
    request_rec *sub = ap_sub_req_lookup_uri(apr_pstrcat(r->pool, conf->path, "start", NULL),
                                             r, NULL);
    int status = sub->status;
    int mounted = status == HTTP_OK && sub->handler && !strcmp(sub->handler, SS_HANDLER);

    ap_destroy_sub_req(sub);
    if (!mounted && !warned) {
        warned = 1;
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, SSLOGNO(01143)
                      "no pull on arrival at %s: %sstart is %s here (SetHandler "
                      "shared-session and access for everyone where SharedSessionPath "
                      "points, or SharedSessionPull Off)", r->hostname, conf->path,
                      status == HTTP_OK ? "not served by SetHandler shared-session"
                                        : apr_psprintf(r->pool, "refused (%d)", status));
    }
    return mounted;
}

int ss_pull_header_parser(request_rec *r)
{
    const ss_server_conf *conf;
    const ss_dir_conf *dconf;
    const ss_site *site, *src;
    const char *referer, *to, *cookie;
    ss_pull_guard guard;
    apr_int64_t now;
    int period, secure;
    ss_late_headers *late;

    /* the cheap refusals first: most requests end here */
    if (r->main || r->prev || r->method_number != M_GET || r->header_only
        || !(referer = apr_table_get(r->headers_in, "Referer"))) {
        return DECLINED;
    }
    dconf = ap_get_module_config(r->per_dir_config, &shared_session_module);
    conf = ss_conf(r->server);
    if (!conf->sites->nelts || (dconf && dconf->pull == 0)
        /* translate_name claimed it: a name under SharedSessionPath */
        || ap_get_module_config(r->request_config, &shared_session_module)
        || !strncmp(r->uri, conf->path, strlen(conf->path))
        || !(site = ss_request_site(r, conf)) || !conf->keys
        || !(src = ss_pull_source(r->pool, (const ss_site *)conf->sites->elts,
                                  conf->sites->nelts, site, referer))
        || !ss_pull_arrival(apr_table_get(r->headers_in, "Sec-Fetch-Dest"),
                            apr_table_get(r->headers_in, "Sec-Fetch-Site"),
                            apr_table_get(r->headers_in, "Upgrade-Insecure-Requests"),
                            apr_table_get(r->headers_in, "Sec-Purpose"),
                            apr_table_get(r->headers_in, "Purpose"))) {
        return DECLINED;
    }
    /* the path and query exactly as the browser sent them (core has
     * decoded r->uri and r->parsed_uri.path in place): what start accepts
     * and what fits into go's to= with this site's origin, else no pull at
     * all (never a dead end) */
    to = ss_pull_target(r);
    if (!to || ss_state_to_check(to, conf->path)
        || strlen(ss_site_origin(r->pool, site)) + strlen(to) > SS_STATE_TO_MAX) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, SSLOGNO(01141)
                      "arrival from %s not pulled: start would refuse this URL", src->id);
        return DECLINED;
    }
    secure = ss_pull_secure(site);
    now = (apr_int64_t)apr_time_sec(r->request_time);
    period = ss_pull_period(conf->resend);
    cookie = apr_table_get(r->headers_in, "Cookie");
    if (!ss_pull_guard_read(r->pool, cookie, secure, now, &guard) && cookie
        && ap_strstr_c(cookie, ss_pull_cookie_name(secure))) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, SSLOGNO(01142)
                      "the %s cookie is not a guard cookie: ignored",
                      ss_pull_cookie_name(secure));
    }
    if (ss_pull_guarded(&guard, src->id, now, period) || !ss_pull_start_mounted(r, conf)) {
        return DECLINED;
    }

    /* the guard is set on the 303 itself: a SameSite=Lax cookie set on a
     * top-level navigation's answer is stored, so the landing, and any
     * arrival from src within the period, is a single request.  The 303
     * is an answer of httpd's own (as mod_alias' Redirect): what is
     * configured with "Header always" is on it, the headers an error
     * answer keeps are in err_headers_out, and the late header filter
     * asserts the module's Referrer-Policy and no-store after them. */
    apr_table_addn(r->err_headers_out, "Set-Cookie",
                   apr_psprintf(r->pool, "%s=%s; Path=/; Max-Age=%d; %sHttpOnly; SameSite=Lax",
                                ss_pull_cookie_name(secure),
                                ss_pull_guard_text(r->pool, &guard, src->id, now, period),
                                period, secure ? "Secure; " : ""));
    apr_table_setn(r->headers_out, "Location",
                   ss_start_url(r, conf, site, src, to));
    late = ss_late_headers_add(r);
    late->no_store = 1;
    late->referrer_policy = "origin";
    apr_table_setn(r->subprocess_env, "SHARED_SESSION_PULL", src->id);
    ss_count(SS_COUNT_PULL);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, SSLOGNO(01140)
                  "pull: a visitor arriving from %s goes through start first", src->id);
    return HTTP_SEE_OTHER;
}
