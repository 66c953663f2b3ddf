/* The shared-session handler: receiving tickets (docs/PROTOCOL.md, "The
 * script flow", "The navigation flow", "Opening a ticket: checks and
 * reasons"), sending users across with "go" (A's side) and starting a
 * navigation flow with "start" (B's side, "The state binding"). */

#include "ss_glue.h"
#include "ss_state.h"
#include <sodium.h>

/* ---- handler: receiving tickets ------------------------------------------- */

typedef struct {
    ss_reason reason;
    const char *result;     /* replaced, kept, rejected */
    const char *src;        /* from the ticket, once it opened */
    const char *dst;
    const char *next;
    int opened;
    int was_empty;
} ss_outcome;

/* What a navigation request carries for the state binding: S from the
 * ticket's clear header, and the state cookie that digests to it. */
typedef struct {
    unsigned char s[SS_STATE_BYTES];
    const char *cookie_name;    /* the flow's cookie name, when sent */
    const char *cookie_text;    /* its text, when it digests to S */
} ss_state_seen;

static int ss_site_secure(const ss_site *site)
{
    return site && !strcmp(site->scheme, "https");
}

/* The state cookie's header text: set (text) or deleted (NULL). */
static const char *ss_state_set_cookie(request_rec *r, const ss_server_conf *conf,
                                       const char *name, const char *text, int secure)
{
    return apr_psprintf(r->pool, "%s=%s; Path=/; Max-Age=%d; %sHttpOnly; SameSite=Lax",
                        name, text ? text : "", text ? conf->timeout : 0,
                        secure ? "Secure; " : "");
}

/* Script tickets come from a <script>: Sec-Fetch-Dest says so wherever the
 * browser sends it, and every browser in which the script flow works sends
 * it to https sites (the entry's scheme, whatever terminates TLS). */
static int ss_fetch_dest_ok(request_rec *r, const ss_site *site)
{
    const char *dest = apr_table_get(r->headers_in, "Sec-Fetch-Dest");

    if (!dest) {
        return !ss_site_secure(site);
    }
    return !strcasecmp(dest, "script");
}

/* The only session write on a receiving URL is ours: mod_session's own
 * output filter would otherwise save a second (blank) record after ours when
 * the incoming cookie was expired or undecodable, or refresh a session that
 * a rejected ticket must leave untouched. */
static void ss_remove_session_filter(request_rec *r)
{
    ap_filter_t *f;

    for (f = r->output_filters; f; f = f->next) {
        if (!strcasecmp(f->frec->name, "MOD_SESSION_OUT")) {
            ap_remove_output_filter(f);
            return;
        }
    }
}

/* mod_session_dbd writes its cookie into headers_out and err_headers_out
 * alike, which a 2xx/3xx response sends twice: keep one. */
static void ss_single_set_cookie(request_rec *r)
{
    const apr_array_header_t *out = apr_table_elts(r->headers_out);
    const apr_array_header_t *err = apr_table_elts(r->err_headers_out);
    const apr_table_entry_t *o = (const apr_table_entry_t *)out->elts;
    const apr_table_entry_t *e = (const apr_table_entry_t *)err->elts;
    apr_array_header_t *kept = apr_array_make(r->pool, 2, sizeof(const char *));
    int i, j, dup = 0;

    for (i = 0; i < out->nelts; i++) {
        int twin = 0;

        if (!o[i].key || strcasecmp(o[i].key, "Set-Cookie")) {
            continue;
        }
        for (j = 0; j < err->nelts && !twin; j++) {
            twin = e[j].key && !strcasecmp(e[j].key, "Set-Cookie") && !strcmp(e[j].val, o[i].val);
        }
        dup |= twin;
        if (!twin) {
            APR_ARRAY_PUSH(kept, const char *) = o[i].val;
        }
    }
    if (dup) {
        apr_table_unset(r->headers_out, "Set-Cookie");
        for (i = 0; i < kept->nelts; i++) {
            apr_table_addn(r->headers_out, "Set-Cookie", APR_ARRAY_IDX(kept, i, const char *));
        }
    }
}

/* Replaces z's entries by the incoming ones: the local keys stay as they
 * are (and are never taken from a ticket); "expiry" is mod_session's; a
 * generation that did not verify is dropped, so that the save stamps one. */
static void ss_session_replace(session_rec *z, apr_table_t *incoming,
                               const apr_array_header_t *local, int gen_trusted)
{
    const apr_array_header_t *arr = apr_table_elts(z->entries);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    int i;

    for (i = arr->nelts - 1; i >= 0; i--) {
        if (!ss_session_key_listed(local, e[i].key)) {
            apr_table_unset(z->entries, e[i].key);
            arr = apr_table_elts(z->entries);
            e = (const apr_table_entry_t *)arr->elts;
        }
    }
    arr = apr_table_elts(incoming);
    e = (const apr_table_entry_t *)arr->elts;
    for (i = 0; i < arr->nelts; i++) {
        if (!ss_session_key_listed(local, e[i].key)
            && (gen_trusted || strcmp(e[i].key, SS_GEN_ENTRY) != 0)) {
            apr_table_set(z->entries, e[i].key, e[i].val);
        }
    }
    z->dirty = 1;
}

static void ss_receive(request_rec *r, const ss_server_conf *conf, const char *ticket,
                       apr_size_t len, ss_mode want, const ss_state_seen *seen,
                       ss_outcome *o)
{
    const ss_site *site = ss_request_site(r, conf);
    const ss_site *src;
    const char *referer;
    apr_table_t *incoming;
    ss_gen tgen, dgen;
    size_t dst_entries;
    session_rec *z = NULL;
    ss_ticket t;

    o->result = "rejected";
    if (!site) {
        const ss_site *within = ss_request_site_within(r, conf);

        o->reason = SS_R_NO_SITE;
        /* info, not error: any client can send any Host */
        if (within) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, SSLOGNO(00041)
                          "host '%s' is a subdomain of the site %s: tickets are received "
                          "on the site's own host only",
                          ap_escape_logitem(r->pool, r->hostname), within->id);
            return;
        }
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, SSLOGNO(01010)
                      "host '%s' is not in SharedSessionSites: tickets cannot be "
                      "received here", r->hostname ? ap_escape_logitem(r->pool, r->hostname) : "");
        return;
    }
    o->dst = site->id;
    o->reason = ss_ticket_open(r->pool, conf->keys, site->id, ticket, len,
                               apr_time_sec(r->request_time), conf->timeout, &t);
    if (o->reason == SS_OK || o->reason == SS_R_EXPIRED || o->reason == SS_R_FUTURE) {
        o->opened = 1;
        o->src = t.src;
        o->next = t.next;
    }
    if (o->reason != SS_OK) {
        return;
    }
    src = ss_site_by_id(conf, t.src);
    if (!src || src == site) {
        o->reason = SS_R_UNKNOWN_SOURCE;
        return;
    }
    if (t.mode != want) {
        o->reason = SS_R_MODE;
        return;
    }
    if (!t.cookie_pairs != !conf->cookies) {
        /* cookie pairs at a site that shares mod_session's session, or
         * the reverse */
        o->reason = SS_R_KIND;
        return;
    }
    if (want == SS_MODE_SCRIPT) {
        if (!ss_fetch_dest_ok(r, site)) {
            o->reason = SS_R_FETCH_DEST;
            return;
        }
        /* defence in depth: a redirect keeps the Referer of the page where
         * it started, so this alone proves nothing */
        referer = apr_table_get(r->headers_in, "Referer");
        if (!referer || !*referer) {
            referer = apr_table_get(r->headers_in, "Origin");
        }
        if (conf->check_referer && !ss_referer_matches(r->pool, referer, src)) {
            o->reason = SS_R_REFERER;
            return;
        }
    }
    if (!conf->cookies && !(z = ss_load_session(r))) {
        o->reason = SS_R_NO_SESSION;
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, SSLOGNO(01011)
                      "mod_session is not on at %s: add 'Session On' and a session "
                      "store where SetHandler shared-session is", conf->path);
        return;
    }
    if (want == SS_MODE_NAVIGATION && t.version != SS_TICKET_VERSION_2
        && !conf->accept_unbound) {
        o->reason = SS_R_STATE;
        return;
    }
    /* claimed before the state is compared: a ticket that fails the
     * state is used up, so nobody can try it against other browsers */
    if ((o->reason = ss_replay_claim(r, &t, conf->timeout)) != SS_OK) {
        return;
    }
    if (want == SS_MODE_NAVIGATION && t.version != SS_TICKET_VERSION_2) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, SSLOGNO(01050)
                      "accepting a navigation ticket from %s that is not bound to "
                      "this browser (SharedSessionAcceptUnbound On): turn it Off "
                      "once every site sends bound tickets", src->id);
    }
    else if (want == SS_MODE_NAVIGATION
             && (!seen->cookie_text
                 || sodium_memcmp(t.state, seen->s, SS_STATE_BYTES) != 0)) {
        o->reason = SS_R_STATE;
        return;
    }
    if (conf->cookies) {
        /* cookie mode: the application's cookies (glue/ss_cookie.c) */
        int replaced = 0;

        o->reason = ss_cookie_receive(r, conf, site, &t, &replaced, &o->was_empty);
        if (o->reason == SS_OK) {
            o->result = replaced ? "replaced" : "kept";
            if (replaced) {
                shared_session_run_replaced(r, t.src, site->id, o->was_empty);
            }
        }
        return;
    }
    o->was_empty = ss_session_is_empty(conf, z);
    incoming = apr_table_make(r->pool, 8);
    ss_session_decode(r->pool, t.session, incoming);
    /* a generation counts up to the skew after the ticket was minted */
    tgen = ss_gen_of_entries(r->pool, incoming, conf->local, conf->keys,
                             SS_GEN_TICKET_LIMIT_US(t.iat));
    dgen = ss_gen_current(r, conf, z);
    ss_gen_pairs(r->pool, z->entries, conf->local, &dst_entries);
    if (!ss_replace_wins(conf->replace, dst_entries, &dgen, &tgen)) {
        o->result = "kept";
        if (tgen.t && ss_gen_compare(&tgen, &dgen) == 0) {
            /* the same session: nothing to send back */
            ss_sent_set(r, conf, site, &tgen, want == SS_MODE_SCRIPT);
        }
        return;
    }
    ss_session_replace(z, incoming, conf->local, tgen.t != 0);
    if (ss_session_save_fn(r, z) != APR_SUCCESS) {
        o->reason = SS_R_NO_SESSION;
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, SSLOGNO(01012)
                      "the session could not be saved by mod_session (see its "
                      "message above)");
        return;
    }
    /* what was received is not news for the other sites: no loader sends
     * it back (a generation stamped on save when the ticket had none) */
    tgen = ss_gen_current(r, conf, z);
    ss_sent_set(r, conf, site, &tgen, want == SS_MODE_SCRIPT);
    ss_single_set_cookie(r);
    o->result = "replaced";
    shared_session_run_replaced(r, t.src, site->id, o->was_empty);
}

/* A 303 answered by the handler itself, not through ap_die(): an error
 * response would run insert_error_filter and bring back mod_session's
 * output filter, which saves a second record. */
static int ss_see_other(request_rec *r, const char *location, const char *referrer_policy)
{
    apr_table_setn(r->headers_out, "Location", location);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "Referrer-Policy", referrer_policy);
    /* ... and no other, whatever "Header" or "Header always" set */
    ss_late_headers_add(r)->referrer_policy = referrer_policy;
    r->status = HTTP_SEE_OTHER;
    ap_set_content_length(r, 0);
    return OK;
}

/* Puts "<ticket>" in place of the ticket in what the access log shows. */
static void ss_redact_request(request_rec *r, const char *prefix, int script)
{
    char *shown = apr_pstrcat(r->pool, prefix, "<ticket>", script ? ".js" : "", NULL);

    r->uri = shown;
    r->unparsed_uri = shown;
    r->parsed_uri.path = shown;
    r->parsed_uri.query = NULL;
    r->args = NULL;
    r->the_request = apr_pstrcat(r->pool, r->method, " ", shown,
                                 r->protocol ? " " : "", r->protocol ? r->protocol : "",
                                 NULL);
}

static void ss_note_outcome(request_rec *r, const ss_outcome *o, ss_mode mode)
{
    const char *src = o->src ? ap_escape_logitem(r->pool, o->src) : "-";

    apr_table_setn(r->subprocess_env, "SHARED_SESSION_RESULT", o->result);
    apr_table_setn(r->subprocess_env, "SHARED_SESSION_REASON", ss_reason_name(o->reason));
    apr_table_setn(r->subprocess_env, "SHARED_SESSION_SRC", src);
    apr_table_setn(r->subprocess_env, "SHARED_SESSION_WAS_EMPTY", o->was_empty ? "1" : "0");
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, SSLOGNO(01001)
                  "result=%s reason=%s mode=%s src=%s dst=%s was_empty=%d",
                  o->result, ss_reason_name(o->reason),
                  mode == SS_MODE_SCRIPT ? "script" : "navigation", src,
                  o->dst ? o->dst : "-", o->was_empty);
}

/* The state cookie a navigation ticket names in its clear header, looked
 * up before the ticket is opened: a ticket that fails still lands the
 * visitor on the `to` the cookie carries, and the cookie is dropped. */
static void ss_state_look(request_rec *r, const ss_server_conf *conf, const char *ticket,
                          apr_size_t len, ss_state_seen *seen)
{
    const ss_site *site = ss_request_site(r, conf);
    const char *cookies = apr_table_get(r->headers_in, "Cookie");
    int secure = ss_site_secure(site);
    ss_ticket head;

    memset(seen, 0, sizeof(*seen));
    if (!site || ss_ticket_peek(ticket, len, &head) != SS_OK
        || head.version != SS_TICKET_VERSION_2) {
        return;
    }
    memcpy(seen->s, head.state, SS_STATE_BYTES);
    seen->cookie_name = ss_state_cookie_name(r->pool, seen->s, secure);
    if (!cookies || !ap_strstr_c(cookies, seen->cookie_name)) {
        seen->cookie_name = NULL;
        return;
    }
    seen->cookie_text = ss_state_cookie_find(r->pool, cookies, seen->s, secure);
}

static int ss_handle_ticket(request_rec *r, const ss_server_conf *conf,
                            const char *ticket, apr_size_t len, ss_mode mode)
{
    ss_outcome o = { SS_OK, NULL, NULL, NULL, NULL, 0, 0 };
    ss_state_seen seen;
    const char *where;

    memset(&seen, 0, sizeof(seen));
    if (mode == SS_MODE_NAVIGATION) {
        ss_state_look(r, conf, ticket, len, &seen);
    }
    ss_receive(r, conf, ticket, len, mode, &seen, &o);
    ss_remove_session_filter(r);
    ss_note_outcome(r, &o, mode);
    ss_ticket_seen(r, conf, o.result, o.reason, ticket, len);

    if (mode == SS_MODE_SCRIPT) {
        /* the same answer whatever the outcome: no oracle */
        apr_table_setn(r->headers_out, "Cache-Control", "no-store");
        apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
        ap_set_content_type(r, "text/javascript");
        ap_set_content_length(r, 0);
        return OK;
    }
    /* the flow is over, whatever the outcome */
    if (seen.cookie_name) {
        apr_table_addn(r->headers_out, "Set-Cookie",
                       ss_state_set_cookie(r, conf, seen.cookie_name, NULL,
                                           ss_site_secure(ss_request_site(r, conf))));
    }
    /* next when the ticket opened, else the page the flow was started for */
    if (o.opened) {
        where = o.next && *o.next ? o.next : "/";
    }
    else if (!seen.cookie_text
             || !(where = ss_state_text_to(r->pool, seen.cookie_text, conf->path))) {
        where = "/";
    }
    return ss_see_other(r, where, "no-referrer");
}

/* ---- handler: sending users across ("go") and starting a flow ("start") ---- */

static int ss_refuse(request_rec *r, const char *name, const char *why)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, SSLOGNO(01020) "%s refused: %s", name, why);
    r->status = HTTP_BAD_REQUEST;
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_set_content_type(r, "text/plain; charset=utf-8");
    if (!r->header_only) {
        ap_rvputs(r, "shared-session: ", why, "\n", NULL);
    }
    return OK;
}

/* A version-2 navigation ticket for target, bound to s, or NULL (logged)
 * when the session does not fit into one. */
static const char *ss_go_mint(request_rec *r, const ss_key *sealer, const ss_site *site,
                              const ss_site *target, const char *next, const char *session,
                              const unsigned char s[SS_STATE_BYTES], int cookie_pairs)
{
    char *ticket = NULL;
    ss_ticket t;
    apr_status_t rv;

    memset(&t, 0, sizeof(t));
    t.version = SS_TICKET_VERSION_2;
    memcpy(t.state, s, SS_STATE_BYTES);
    t.iat = apr_time_sec(r->request_time);
    t.mode = SS_MODE_NAVIGATION;
    t.src = site->id;
    t.next = next;
    t.session = session;
    t.cookie_pairs = cookie_pairs;
    rv = ss_ticket_seal(r->pool, sealer, target->id, &t, NULL, &ticket);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r, SSLOGNO(01021)
                      "no ticket for %s: the session (%" APR_SIZE_T_FMT " bytes) does not "
                      "fit into a ticket of %d characters (a ticket URL longer than "
                      "LimitRequestLine is refused by %s too)", target->id,
                      strlen(session), SS_TICKET_MAX_CHARS, target->id);
        return NULL;
    }
    return ticket;
}

/* B's start for a flow from src that lands on to (a path and query on
 * B): go's bounce and a pull on arrival (glue/ss_pull.c) both send the
 * browser here. */
const char *ss_start_url(request_rec *r, const ss_server_conf *conf, const ss_site *b,
                         const ss_site *src, const char *to)
{
    return apr_pstrcat(r->pool, ss_site_origin(r->pool, b), conf->path, "start?from=",
                       ap_escape_urlencoded(r->pool, src->id), "&to=",
                       ap_escape_urlencoded(r->pool, to), NULL);
}

/* Every answer of go that sends the user on is counted. */
static int ss_go_redirect(request_rec *r, const char *location, const char *referrer_policy)
{
    ss_count(SS_COUNT_GO);
    return ss_see_other(r, location, referrer_policy);
}

static int ss_handle_go(request_rec *r, const ss_server_conf *conf, const char *state)
{
    const ss_site *site = ss_request_site(r, conf);
    const ss_site *target;
    const char *to = ss_query_param(r->pool, r->args, "to"), *err, *where, *ticket = NULL;
    const char *session, *origin;
    const ss_key *sealer = conf->keys ? ss_keyring_sealer(conf->keys) : NULL;
    unsigned char s[SS_STATE_BYTES];
    session_rec *z;
    ss_url u;

    if (!site && ss_request_site_within(r, conf)) {
        return ss_refuse(r, "go", "this host is a subdomain of a site that shares sessions: "
                         "go works on the site's own host only");
    }
    if (!site || !sealer) {
        return ss_refuse(r, "go", "this host is not one of SharedSessionSites");
    }
    if (to && strlen(to) > SS_STATE_TO_MAX) {
        return ss_refuse(r, "go", "to= is longer than 2048 characters");
    }
    target = ss_go_target(r->pool, (const ss_site *)conf->sites->elts, conf->sites->nelts,
                          site, to, &u, &err);
    if (!target) {
        return ss_refuse(r, "go", err);
    }
    /* the page on the target is what start accepts: never a name under
     * the handler (a ticket, go, start), also not once percent-decoded or
     * through dot segments */
    if ((err = ss_state_to_check(u.path_query, conf->path))) {
        return ss_refuse(r, "go", err);
    }
    if (state && !ss_state_decode(state, s)) {
        return ss_refuse(r, "go", "state= is not a state of the navigation flow");
    }
    if (state) {
        const char *dest = apr_table_get(r->headers_in, "Sec-Fetch-Dest");

        if (dest && strcasecmp(dest, "document")) {
            return ss_refuse(r, "go", "go with a state= answers top-level navigations only");
        }
    }
    /* the target entry's own scheme, host and port */
    origin = ss_site_origin(r->pool, target);
    where = apr_pstrcat(r->pool, origin, u.path_query, NULL);
    ss_remove_session_filter(r);

    session = "";
    if (conf->cookies) {
        /* cookie mode: the application's cookies (glue/ss_cookie.c) */
        ss_gen g;

        session = ss_cookie_payload(r, conf, &g);
    }
    else if ((z = ss_load_session(r))) {
        int stamped = 0;

        /* a tombstone travels too: a logout on this site logs the user out there */
        if (ss_gen_sync(r, conf, z, &stamped).t) {
            session = ss_session_encode_except(r->pool, z->entries, conf->local);
        }
        if (stamped && ss_session_save_fn(r, z) == APR_SUCCESS) {
            /* mod_session's own filter is off on this answer */
            ss_single_set_cookie(r);
        }
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, SSLOGNO(01022)
                      "mod_session is not on at %s: 'go' sends users across without "
                      "their session", conf->path);
    }
    if (!*session) {
        /* nothing to carry: straight to the page, as a page link would */
        return ss_go_redirect(r, where, "no-referrer");
    }
    if (!state) {
        unsigned char probe[SS_STATE_BYTES];

        /* a session that cannot travel is not worth the bounce */
        randombytes_buf(probe, sizeof(probe));
        if (!ss_go_mint(r, sealer, site, target, u.path_query, session, probe,
                        conf->cookies != NULL)) {
            return ss_go_redirect(r, where, "no-referrer");
        }
        /* the flow starts at B, which binds it to the browser */
        return ss_go_redirect(r, ss_start_url(r, conf, target, site, u.path_query), "origin");
    }
    if (!(ticket = ss_go_mint(r, sealer, site, target, u.path_query, session, s,
                              conf->cookies != NULL))) {
        return ss_go_redirect(r, where, "no-referrer");
    }
    return ss_go_redirect(r, apr_pstrcat(r->pool, origin, conf->path, ticket, NULL), "origin");
}

/* B's side: a state cookie for this flow, then to A's go with its S. */
static int ss_handle_start(request_rec *r, const ss_server_conf *conf)
{
    const ss_site *site = ss_request_site(r, conf);
    const char *from = ss_query_param(r->pool, r->args, "from");
    const char *to = ss_query_param(r->pool, r->args, "to");
    const char *err, *text, *evict, *where;
    const ss_site *src;
    unsigned char rnd[SS_STATE_RANDOM_BYTES], s[SS_STATE_BYTES];
    int secure = ss_site_secure(site);

    if (!site || !conf->keys) {
        return ss_refuse(r, "start", "this host is not one of SharedSessionSites");
    }
    if (!from || !*from) {
        return ss_refuse(r, "start", "missing the from= parameter (a site id)");
    }
    src = ss_site_by_id(conf, from);
    if (!src || src == site) {
        return ss_refuse(r, "start", "from= is not one of the other SharedSessionSites");
    }
    if ((err = ss_state_to_check(to, conf->path))) {
        return ss_refuse(r, "start", err);
    }
    randombytes_buf(rnd, sizeof(rnd));
    text = ss_state_text(r->pool, rnd, to);
    sodium_memzero(rnd, sizeof(rnd));
    ss_state_digest(text, strlen(text), s);

    /* at most four flows at once: the oldest goes first */
    evict = ss_state_cookie_evict(r->pool, apr_table_get(r->headers_in, "Cookie"), secure);
    if (evict) {
        apr_table_addn(r->headers_out, "Set-Cookie",
                       ss_state_set_cookie(r, conf, evict, NULL, secure));
    }
    apr_table_addn(r->headers_out, "Set-Cookie",
                   ss_state_set_cookie(r, conf, ss_state_cookie_name(r->pool, s, secure),
                                       text, secure));
    where = apr_pstrcat(r->pool, ss_site_origin(r->pool, src), conf->path, "go?to=",
                        ap_escape_urlencoded(r->pool,
                                             apr_pstrcat(r->pool, ss_site_origin(r->pool, site),
                                                         to, NULL)),
                        "&state=", ss_state_encode(r->pool, s), NULL);
    ss_remove_session_filter(r);
    ss_count(SS_COUNT_START);
    return ss_see_other(r, where, "origin");
}

/* ---- handler entry ---------------------------------------------------------- */

/* What translate_name found under SharedSessionPath, for the handler. */
typedef struct {
    ss_route route;
    const char *ticket;     /* the ticket, before the request shows "<ticket>" */
    apr_size_t len;
    const char *state;      /* go: its state=, before the request shows "<state>" */
} ss_request_note;

/* Puts "<state>" in place of go's state in what the logs show. */
static void ss_redact_state(request_rec *r)
{
    const char *args = ss_query_redact(r->pool, r->args, "state", "<state>");
    char *shown;

    if (!args) {
        return;
    }
    shown = apr_pstrcat(r->pool, r->uri, "?", args, NULL);
    r->args = shown + strlen(r->uri) + 1;
    r->parsed_uri.query = r->args;
    r->unparsed_uri = shown;
    r->the_request = apr_pstrcat(r->pool, r->method, " ", shown,
                                 r->protocol ? " " : "", r->protocol ? r->protocol : "",
                                 NULL);
}

/* Names under SharedSessionPath are not files: claim them at translation
 * and skip the directory walk, as mod_proxy does for its URLs (otherwise
 * core maps a long ticket onto the file system and answers 403).  The
 * ticket leaves r->uri and the request line here, before any other module
 * can log them: the access log and mod_session's messages show <ticket>. */
int ss_translate_name(request_rec *r)
{
    const ss_server_conf *conf = ss_conf(r->server);
    apr_size_t plen = strlen(conf->path);
    ss_request_note *note;

    if (!conf->sites->nelts || !r->uri || strncmp(r->uri, conf->path, plen)) {
        return DECLINED;
    }
    note = apr_pcalloc(r->pool, sizeof(*note));
    note->route = ss_route_name(r->uri + plen, &note->len);
    if (note->route == SS_ROUTE_SCRIPT || note->route == SS_ROUTE_NAVIGATION) {
        note->ticket = apr_pstrmemdup(r->pool, r->uri + plen, note->len);
        ss_redact_request(r, apr_pstrmemdup(r->pool, r->uri, plen),
                          note->route == SS_ROUTE_SCRIPT);
    }
    else if (note->route == SS_ROUTE_GO) {
        note->state = ss_query_param(r->pool, r->args, "state");
        ss_redact_state(r);
    }
    ap_set_module_config(r->request_config, &shared_session_module, note);
    r->filename = apr_pstrcat(r->pool, SS_HANDLER ":", r->uri, NULL);
    return OK;
}

/* The raw request line, as mod_log_forensic logs it in post_read_request
 * (this hook runs before it) and as a refused request logs it. */
static void ss_redact_line(request_rec *r)
{
    const ss_server_conf *conf = ss_conf(r->server);
    const char *shown;

    if ((shown = ss_request_line_redact(r->pool, r->the_request, conf->path))) {
        r->the_request = apr_pstrdup(r->pool, shown);
        return;
    }
#if AP_MODULE_MAGIC_AT_LEAST(20120211, 109)
    /* "//shared-session/T", "/x/../shared-session/T", "/%73hared-session/T"
     * reach the handler once core has normalised the path: hide the ticket
     * of such a line too, shown as the path the handler sees */
    if (r->the_request && r->method && r->parsed_uri.path) {
        char *path = apr_pstrdup(r->pool, r->parsed_uri.path);

        if (ap_normalize_path(path, AP_NORMALIZE_NOT_ABOVE_ROOT
                                    | AP_NORMALIZE_DECODE_UNRESERVED
                                    | AP_NORMALIZE_MERGE_SLASHES)
            && (shown = ss_request_line_redact(r->pool,
                                               apr_pstrcat(r->pool, r->method, " ", path,
                                                           r->args ? "?" : "",
                                                           r->args ? r->args : "",
                                                           r->protocol ? " " : "",
                                                           r->protocol ? r->protocol : "",
                                                           NULL),
                                               conf->path))) {
            r->the_request = apr_pstrdup(r->pool, shown);
        }
    }
#endif
}

int ss_post_read_redact(request_rec *r)
{
    ss_redact_line(r);
    return DECLINED;
}

/* A request that core refuses before translate_name (a header over
 * LimitRequestFieldSize, too many headers, a bad Host: 400; a request line
 * over LimitRequestLine: 414, with no URI parsed at all) is still logged,
 * with its request line as it came, and its ticket still valid: hide the
 * ticket there too, before mod_log_config writes the line. */
int ss_log_redact(request_rec *r)
{
    const ss_server_conf *conf = ss_conf(r->server);
    apr_size_t plen = strlen(conf->path), len = 0;
    ss_route route;

    if (r->request_config && ap_get_module_config(r->request_config, &shared_session_module)) {
        return DECLINED;
    }
    ss_redact_line(r);
    if (!r->uri || strncmp(r->uri, conf->path, plen)) {
        return DECLINED;
    }
    route = ss_route_name(r->uri + plen, &len);
    if (route == SS_ROUTE_SCRIPT || route == SS_ROUTE_NAVIGATION) {
        ss_redact_request(r, apr_pstrmemdup(r->pool, r->uri, plen),
                          route == SS_ROUTE_SCRIPT);
    }
    return DECLINED;
}

int ss_map_to_storage(request_rec *r)
{
    return ap_get_module_config(r->request_config, &shared_session_module) ? OK : DECLINED;
}

int ss_handler(request_rec *r)
{
    const ss_server_conf *conf;
    const ss_request_note *note;

    if (!r->handler || strcmp(r->handler, SS_HANDLER)) {
        return DECLINED;
    }
    conf = ss_conf(r->server);
    note = ap_get_module_config(r->request_config, &shared_session_module);
    if (!note) {
        return ss_handler_unmounted(r, conf);
    }
    if (note->route == SS_ROUTE_NOT_FOUND) {
        return HTTP_NOT_FOUND;
    }
    if (r->method_number != M_GET) {
        /* make_allow() reads r->allowed_methods, not the legacy r->allowed */
        ap_allow_standard_methods(r, REPLACE_ALLOW, M_GET, -1);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (note->route == SS_ROUTE_GO) {
        return ss_handle_go(r, conf, note->state);
    }
    if (note->route == SS_ROUTE_START) {
        return ss_handle_start(r, conf);
    }
    return ss_handle_ticket(r, conf, note->ticket, note->len,
                            note->route == SS_ROUTE_SCRIPT ? SS_MODE_SCRIPT
                                                           : SS_MODE_NAVIGATION);
}
