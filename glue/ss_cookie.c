/* Cookie mode (docs/PROTOCOL.md, "Application cookies"): a site with
 * SharedSessionCookie shares the application's own session cookie(s), not
 * mod_session's session.  The logic is lib/ss_cookie.c and crypto/ss_gen.c;
 * here is what touches httpd:
 *
 * - the directive and its configtest checks;
 * - per request, the listed cookies the request carries and their
 *   generation, read from the marker cookie (once, kept with the request);
 * - the SHARED_SESSION_COOKIES filter, inserted for every request on a
 *   cookie-mode site, which reads the application's Set-Cookie (headers_out
 *   for proxied responses, err_headers_out for CGI and FastCGI) on its
 *   first call, and stamps a new generation into the marker when the
 *   listed cookies changed; the loader filter does the same when it runs
 *   first, so that the loader carries what this very response sets;
 * - the payload of the loader and of go, and the receiving side. */

#include "ss_glue.h"

#define SS_COOKIE_REQ_KEY "shared-session-cookie-req"

/* ---- configuration ---------------------------------------------------------- */

/* Names the module sets itself: never an application's cookie. */
static int ss_cookie_reserved(const char *name)
{
    return !strcmp(name, SS_SESSION_RESERVED_KEY) || !strcmp(name, SS_GEN_ENTRY)
        || !strcmp(name, SS_COOKIE_MARKER_HTTPS) || !strcmp(name, SS_COOKIE_MARKER_HTTP)
        || !strcmp(name, "__Host-sssent") || !strcmp(name, "sssent")
        || !strncmp(name, SS_STATE_PREFIX_HTTPS, strlen(SS_STATE_PREFIX_HTTPS))
        || !strncmp(name, SS_STATE_PREFIX_HTTP, strlen(SS_STATE_PREFIX_HTTP));
}

const char *ss_set_cookie(cmd_parms *cmd, void *dummy, const char *name, const char *attrs)
{
    ss_server_conf *conf = ss_conf(cmd->server);
    ss_cookie_spec *spec;
    const char *err;
    int i;

    (void)dummy;
    ss_replay.directives_seen = 1;
    if (!ss_cookie_token(name, strlen(name))) {
        return apr_psprintf(cmd->pool, "SharedSessionCookie: '%s' is not a cookie name "
                            "(an RFC 6265 token: letters, digits and !#$%%&'*+-.^_`|~)",
                            name);
    }
    if (ss_cookie_reserved(name)) {
        return apr_psprintf(cmd->pool, "SharedSessionCookie: '%s' is a name the module "
                            "keeps itself", name);
    }
    if (!conf->cookies_set) {
        /* a virtual host's own list replaces the inherited one */
        conf->cookies = apr_array_make(cmd->pool, 2, sizeof(ss_cookie_spec));
        conf->cookies_set = 1;
    }
    for (i = 0; i < conf->cookies->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(conf->cookies, i, ss_cookie_spec).name, name)) {
            return apr_psprintf(cmd->pool, "SharedSessionCookie: '%s' is listed twice", name);
        }
    }
    spec = apr_array_push(conf->cookies);
    memset(spec, 0, sizeof(*spec));
    spec->name = name;
    spec->where = cmd->directive ? apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                                                cmd->directive->line_num) : "";
    if (attrs) {
        if ((err = ss_cookie_attrs_parse(cmd->pool, attrs, &spec->attrs))) {
            return apr_psprintf(cmd->pool, "SharedSessionCookie %s: the attributes '%s' "
                                "are refused: %s", name, ap_escape_logitem(cmd->pool, attrs),
                                err);
        }
        spec->attrs_given = 1;
    }
    conf->cookie_names = apr_palloc(cmd->pool, sizeof(const char *) * conf->cookies->nelts);
    for (i = 0; i < conf->cookies->nelts; i++) {
        conf->cookie_names[i] = APR_ARRAY_IDX(conf->cookies, i, ss_cookie_spec).name;
    }
    return NULL;
}

void ss_merge_cookies(ss_server_conf *conf, const ss_server_conf *base,
                      const ss_server_conf *add)
{
    const ss_server_conf *from = add->cookies_set ? add : base;

    conf->cookies = from->cookies;
    conf->cookie_names = from->cookie_names;
    conf->cookies_set = from->cookies_set;
}

int ss_cookie_check_config(apr_pool_t *ptemp, server_rec *s)
{
    server_rec *vs;
    int i, j;

    for (vs = s; vs; vs = vs->next) {
        const ss_server_conf *conf = ss_conf(vs);

        for (i = 0; conf->cookies && i < conf->cookies->nelts; i++) {
            const ss_cookie_spec *spec = &APR_ARRAY_IDX(conf->cookies, i, ss_cookie_spec);
            int matched = 0;

            if (!spec->attrs.domain) {
                continue;
            }
            for (j = 0; j < conf->sites->nelts && !matched; j++) {
                matched = ss_cookie_domain_matches(spec->attrs.domain,
                                                   APR_ARRAY_IDX(conf->sites, j, ss_site).host);
            }
            if (!matched) {
                ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL, SSLOGNO(00120)
                             "SharedSessionCookie %s (%s): Domain=%s matches none of the "
                             "hosts in SharedSessionSites: browsers would refuse the cookie; "
                             "give the site's own domain or leave Domain out",
                             spec->name, spec->where,
                             ap_escape_logitem(ptemp, spec->attrs.domain));
                return !OK;
            }
        }
    }
    return OK;
}

int ss_cookie_mode_everywhere(server_rec *s)
{
    server_rec *vs;
    int any = 0;

    for (vs = s; vs; vs = vs->next) {
        const ss_server_conf *conf = ss_conf(vs);

        if (conf->sites->nelts && !conf->cookies) {
            return 0;
        }
        any |= conf->sites->nelts && conf->cookies;
    }
    return any;
}

/* ---- the request's cookies and their generation ------------------------------ */

typedef struct {
    int secure;             /* the site is https */
    apr_table_t *pairs;     /* listed cookie -> value */
    ss_gen gen;             /* their generation; t = 0: none */
    int response_done;      /* the response's Set-Cookie are applied */
} ss_cookie_req;

/* The entries a digest covers: the listed cookies (name, value). */
static ss_gen_pair *ss_cookie_gen_pairs(apr_pool_t *p, const apr_table_t *pairs, size_t *n)
{
    return ss_gen_pairs(p, pairs, NULL, n);
}

static ss_gen ss_cookie_trusted(apr_pool_t *p, const ss_server_conf *conf, const char *text,
                                const apr_table_t *pairs, apr_uint64_t limit_us)
{
    ss_gen g;
    ss_gen_pair *arr;
    size_t n;

    ss_gen_parse(text, &g);
    arr = ss_cookie_gen_pairs(p, pairs, &n);
    return ss_gen_trusted(&g, conf->keys, arr, n, limit_us);
}

static const ss_cookie_attrs *ss_cookie_spec_attrs(apr_pool_t *p, const ss_cookie_spec *spec,
                                                   int secure)
{
    ss_cookie_attrs *a;

    if (spec->attrs_given) {
        return &spec->attrs;
    }
    a = apr_palloc(p, sizeof(*a));
    ss_cookie_attrs_default(p, secure, a);
    return a;
}

/* The marker's Set-Cookie: gen, or deleted when it has none. */
static const char *ss_cookie_marker(request_rec *r, const ss_server_conf *conf, int secure,
                                    const ss_gen *g)
{
    char text[SS_GEN_TEXT_MAX];
    const ss_cookie_spec *first = &APR_ARRAY_IDX(conf->cookies, 0, ss_cookie_spec);

    if (g->t) {
        ss_gen_format(g, text);
    }
    return ss_cookie_marker_line(r->pool, secure, ss_cookie_spec_attrs(r->pool, first, secure),
                                 g->t ? text : NULL);
}

static ss_cookie_req *ss_cookie_req_get(request_rec *r, const ss_server_conf *conf,
                                        const ss_site *site)
{
    void *v = NULL;
    ss_cookie_req *q;
    const char *header = apr_table_get(r->headers_in, "Cookie");

    apr_pool_userdata_get(&v, SS_COOKIE_REQ_KEY, r->pool);
    if (v) {
        return v;
    }
    q = apr_pcalloc(r->pool, sizeof(*q));
    q->secure = !strcmp(site->scheme, "https");
    q->pairs = apr_table_make(r->pool, conf->cookies->nelts);
    /* two cookies of one listed name: no session */
    ss_cookie_read(header, conf->cookie_names, conf->cookies->nelts, q->pairs);
    q->gen = ss_cookie_trusted(r->pool, conf,
                               ss_cookie_get(r->pool, header, ss_cookie_marker_name(q->secure),
                                             NULL),
                               q->pairs, (apr_uint64_t)apr_time_now());
    apr_pool_userdata_setn(q, SS_COOKIE_REQ_KEY, NULL, r->pool);
    return q;
}

typedef struct {
    apr_pool_t *p;
    const ss_server_conf *conf;
    apr_table_t *out;
    apr_time_t now;
    int seen;
} ss_cookie_scan;

static int ss_cookie_scan_one(void *rec, const char *key, const char *val)
{
    ss_cookie_scan *s = rec;
    ss_cookie_change sc;
    int i;

    (void)key;
    if (!ss_set_cookie_parse(s->p, val, s->now, &sc)) {
        return 1;
    }
    for (i = 0; i < s->conf->cookies->nelts; i++) {
        if (strcmp(sc.name, s->conf->cookie_names[i])) {
            continue;
        }
        s->seen = 1;
        /* a value the module could not carry counts as none */
        if (sc.deletes || !ss_cookie_octets(sc.value, strlen(sc.value))) {
            apr_table_unset(s->out, s->conf->cookie_names[i]);
        }
        else {
            apr_table_setn(s->out, s->conf->cookie_names[i], sc.value);
        }
        break;
    }
    return 1;
}

/* The application's Set-Cookie for listed cookies, once per request: the
 * new pairs, and a new generation in the marker when they no longer match
 * the one loaded (an unchanged re-sent cookie changes nothing; a session
 * that was empty and stays empty gets none). */
static void ss_cookie_apply(request_rec *r, const ss_server_conf *conf, ss_cookie_req *q)
{
    const ss_key *sealer = conf->keys ? ss_keyring_sealer(conf->keys) : NULL;
    ss_cookie_scan s;
    ss_gen_pair *arr;
    size_t n;
    ss_gen g;

    if (q->response_done) {
        return;
    }
    q->response_done = 1;
    s.p = r->pool;
    s.conf = conf;
    s.out = apr_table_copy(r->pool, q->pairs);
    s.now = apr_time_now();
    s.seen = 0;
    apr_table_do(ss_cookie_scan_one, &s, r->headers_out, "Set-Cookie", NULL);
    apr_table_do(ss_cookie_scan_one, &s, r->err_headers_out, "Set-Cookie", NULL);
    if (!s.seen || !sealer) {
        return;
    }
    arr = ss_cookie_gen_pairs(r->pool, s.out, &n);
    if (!n && !q->gen.t && apr_is_empty_table(q->pairs)) {
        return;
    }
    if (q->gen.t && ss_gen_verify(&q->gen, conf->keys, arr, n)) {
        return;
    }
    ss_gen_stamp(&g, sealer, (apr_uint64_t)s.now, &q->gen, arr, n);
    q->pairs = s.out;
    q->gen = g;
    apr_table_addn(r->err_headers_out, "Set-Cookie", ss_cookie_marker(r, conf, q->secure, &g));
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, SSLOGNO(02120)
                  "the application %s its cookies: new generation %" APR_UINT64_T_FMT,
                  n ? "changed" : "deleted", g.t);
}

/* ---- the SHARED_SESSION_COOKIES filter ---------------------------------------- */

typedef struct {
    const ss_server_conf *conf;
    int found;
} ss_cookie_probe;

/* A Set-Cookie that starts with a listed name and '=' (or white space):
 * the only responses worth reading the request's cookies for. */
static int ss_cookie_probe_one(void *rec, const char *key, const char *val)
{
    ss_cookie_probe *pr = rec;
    int i;

    (void)key;
    while (*val == ' ' || *val == '\t') {
        val++;
    }
    for (i = 0; i < pr->conf->cookies->nelts; i++) {
        const char *name = pr->conf->cookie_names[i];
        size_t n = strlen(name);

        if (!strncmp(val, name, n) && (val[n] == '=' || val[n] == ' ' || val[n] == '\t')) {
            pr->found = 1;
            return 0;
        }
    }
    return 1;
}

static int ss_cookie_response_sets_listed(request_rec *r, const ss_server_conf *conf)
{
    ss_cookie_probe pr = { conf, 0 };

    apr_table_do(ss_cookie_probe_one, &pr, r->headers_out, "Set-Cookie", NULL);
    if (!pr.found) {
        apr_table_do(ss_cookie_probe_one, &pr, r->err_headers_out, "Set-Cookie", NULL);
    }
    return pr.found;
}

static apr_status_t ss_cookie_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    const ss_server_conf *conf = ss_conf(r->server);
    const ss_site *site = ss_request_site(r, conf);

    if (conf->cookies && site && ss_cookie_response_sets_listed(r, conf)) {
        ss_cookie_apply(r, conf, ss_cookie_req_get(r, conf, site));
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

/* Every response of a cookie-mode site but the handler's own (the receiver
 * sets the cookies and the marker itself). */
static void ss_cookie_insert(request_rec *r)
{
    const ss_server_conf *conf = ss_conf(r->server);

    if (!conf->cookies || r->main
        || ap_get_module_config(r->request_config, &shared_session_module)
        || apr_table_get(r->notes, SS_COOKIE_FILTER)
        || !ss_request_site(r, conf)) {
        return;
    }
    apr_table_setn(r->notes, SS_COOKIE_FILTER, "1");
    ap_add_output_filter(SS_COOKIE_FILTER, NULL, r, r->connection);
}

void ss_cookie_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_insert_filter(ss_cookie_insert, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_error_filter(ss_cookie_insert, NULL, NULL, APR_HOOK_MIDDLE);
    ap_register_output_filter(SS_COOKIE_FILTER, ss_cookie_filter, NULL, AP_FTYPE_RESOURCE);
}

/* ---- sending ------------------------------------------------------------------- */

const char *ss_cookie_payload(request_rec *r, const ss_server_conf *conf, ss_gen *g)
{
    const ss_site *site = ss_request_site(r, conf);
    ss_cookie_req *q;
    apr_table_t *entries;

    memset(g, 0, sizeof(*g));
    if (!site) {
        return "";
    }
    q = ss_cookie_req_get(r, conf, site);
    ss_cookie_apply(r, conf, q);
    *g = q->gen;
    if (apr_is_empty_table(q->pairs) && !q->gen.t) {
        return "";
    }
    entries = apr_table_copy(r->pool, q->pairs);
    if (q->gen.t) {
        char text[SS_GEN_TEXT_MAX];

        ss_gen_format(&q->gen, text);
        apr_table_setn(entries, SS_GEN_ENTRY, apr_pstrdup(r->pool, text));
    }
    return ss_session_encode(r->pool, entries);
}

/* ---- receiving ------------------------------------------------------------------ */

ss_reason ss_cookie_receive(request_rec *r, const ss_server_conf *conf, const ss_site *site,
                            const ss_ticket *t, int *replaced, int *was_empty)
{
    ss_cookie_req *q = ss_cookie_req_get(r, conf, site);
    apr_table_t *pairs = apr_table_make(r->pool, conf->cookies->nelts);
    const char *gen_text;
    ss_gen tg;
    int i;

    *replaced = 0;
    *was_empty = apr_is_empty_table(q->pairs) && !q->gen.t;
    if (!ss_cookie_payload_decode(r->pool, t->session, conf->cookie_names,
                                  conf->cookies->nelts, pairs, &gen_text)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, SSLOGNO(01120)
                      "a ticket from %s carries a cookie value that is not cookie-octets "
                      "(or a pair that does not decode): nothing of it is set", t->src);
        return SS_R_MALFORMED;
    }
    tg = ss_cookie_trusted(r->pool, conf, gen_text, pairs, SS_GEN_TICKET_LIMIT_US(t->iat));
    if (apr_is_empty_table(pairs) && !tg.t) {
        /* none of this site's cookies and no generation: nothing to take */
        return SS_OK;
    }
    if (!ss_replace_wins(conf->replace, (size_t)apr_table_elts(q->pairs)->nelts, &q->gen,
                         &tg)) {
        if (tg.t && ss_gen_compare(&tg, &q->gen) == 0) {
            /* the same session: nothing to send back */
            ss_sent_set(r, conf, site, &tg, t->mode == SS_MODE_SCRIPT);
        }
        return SS_OK;
    }
    for (i = 0; i < conf->cookies->nelts; i++) {
        const ss_cookie_spec *spec = &APR_ARRAY_IDX(conf->cookies, i, ss_cookie_spec);
        const ss_cookie_attrs *a = ss_cookie_spec_attrs(r->pool, spec, q->secure);
        const char *v = apr_table_get(pairs, spec->name);

        apr_table_addn(r->headers_out, "Set-Cookie",
                       v ? ss_cookie_set_line(r->pool, spec->name, v, a)
                         : ss_cookie_delete_line(r->pool, spec->name, a));
    }
    apr_table_addn(r->headers_out, "Set-Cookie", ss_cookie_marker(r, conf, q->secure, &tg));
    ss_sent_set(r, conf, site, &tg, t->mode == SS_MODE_SCRIPT);
    *replaced = 1;
    return SS_OK;
}
