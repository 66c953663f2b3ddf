/* Generations of mod_session sessions (docs/PROTOCOL.md, "Generations"):
 * what a session was loaded with, the one stamp function that the filter,
 * "go", the receiver and mod_session's encode hook call, and the site's
 * own cookie that remembers which generation it already sent. */

#include "ss_glue.h"
#include "ss_cookie.h"
#include <dlfcn.h>

#define SS_SENT_HTTPS "__Host-sssent"
#define SS_SENT_HTTP  "sssent"

/* What a session_rec held when mod_session decoded it: its generation,
 * when that verifies, and whether it held anything (entries or a
 * generation): emptying such a session is a logout.  One per session_rec
 * (internal redirects and subrequests may load their own), in r->pool. */
typedef struct {
    ss_gen gen;
    int had_content;
    const apr_table_t *entries;     /* the table decoded into */
} ss_gen_loaded;

/* The records live in the pool of the request that started it all: the
 * session stores cache one session_rec for a request and its subrequests,
 * and an internal redirect shares its request's pool. */
static apr_pool_t *ss_gen_pool(request_rec *r)
{
    while (r->main) {
        r = r->main;
    }
    return r->pool;
}

static const char *ss_gen_loaded_key(request_rec *r, const session_rec *z)
{
    return apr_psprintf(r->pool, "shared-session-gen-%pp", (const void *)z);
}

/* What z held when it was decoded, or NULL.  mod_session gives an expired
 * or undecodable session a new, empty table after decoding it: such a
 * session was not loaded with anything (its emptiness is no logout). */
static ss_gen_loaded *ss_gen_loaded_get(request_rec *r, const session_rec *z)
{
    void *rec = NULL;

    apr_pool_userdata_get(&rec, ss_gen_loaded_key(r, z), ss_gen_pool(r));
    if (rec && ((ss_gen_loaded *)rec)->entries != z->entries) {
        return NULL;
    }
    return rec;
}

static ss_gen_loaded *ss_gen_loaded_make(request_rec *r, const session_rec *z)
{
    ss_gen_loaded *rec = ss_gen_loaded_get(r, z);

    if (!rec) {
        apr_pool_t *p = ss_gen_pool(r);

        rec = apr_pcalloc(p, sizeof(*rec));
        apr_pool_userdata_set(rec, apr_pstrdup(p, ss_gen_loaded_key(r, z)), NULL, p);
    }
    return rec;
}

/* Generations are kept for the sessions of a listed site's own host only:
 * another virtual host's session is its application's alone. */
static int ss_gen_configured(request_rec *r, const ss_server_conf *conf)
{
    return conf && conf->keys && conf->keys->nkeys && conf->sites->nelts
        && ss_request_site(r, conf);
}

/* z's generation as it stands, when it verifies against z's entries and is
 * not ahead of now by more than the skew; t == 0 otherwise. */
ss_gen ss_gen_current(request_rec *r, const ss_server_conf *conf, const session_rec *z)
{
    return ss_gen_of_entries(r->pool, z->entries, conf->local, conf->keys,
                             (apr_uint64_t)apr_time_now());
}

ss_gen ss_gen_sync(request_rec *r, const ss_server_conf *conf, session_rec *z,
                   int *stamped)
{
    const ss_key *sealer = ss_gen_configured(r, conf) ? ss_keyring_sealer(conf->keys) : NULL;
    ss_gen_loaded *rec;
    ss_gen g, none;
    ss_gen_pair *pairs;
    char text[SS_GEN_TEXT_MAX];
    size_t n;

    memset(&none, 0, sizeof(none));
    if (stamped) {
        *stamped = 0;
    }
    if (!sealer) {
        return none;
    }
    g = ss_gen_current(r, conf, z);
    if (g.t) {
        return g;           /* nothing changed since it was stamped */
    }
    rec = ss_gen_loaded_get(r, z);
    pairs = ss_gen_pairs(r->pool, z->entries, conf->local, &n);
    if (!n) {
        const apr_array_header_t *arr;
        const apr_table_entry_t *e;
        int i;

        if (!apr_table_get(z->entries, SS_GEN_ENTRY) && !(rec && rec->had_content)) {
            return none;    /* empty, and never held anything */
        }
        /* a logout: a tombstone keeps the generation and the local keys */
        arr = apr_table_elts(z->entries);
        e = (const apr_table_entry_t *)arr->elts;
        for (i = arr->nelts - 1; i >= 0; i--) {
            if (strcmp(e[i].key, SS_SESSION_RESERVED_KEY)
                && !ss_session_key_listed(conf->local, e[i].key)) {
                apr_table_unset(z->entries, e[i].key);
                arr = apr_table_elts(z->entries);
                e = (const apr_table_entry_t *)arr->elts;
            }
        }
    }
    ss_gen_stamp(&g, sealer, (apr_uint64_t)apr_time_now(), rec ? &rec->gen : &none,
                 pairs, n);
    ss_gen_format(&g, text);
    apr_table_set(z->entries, SS_GEN_ENTRY, text);
    z->dirty = 1;
    rec = ss_gen_loaded_make(r, z);
    rec->gen = g;
    rec->had_content = 1;
    rec->entries = z->entries;
    if (stamped) {
        *stamped = 1;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, SSLOGNO(01100)
                  "session changed: new generation %" APR_UINT64_T_FMT "%s", g.t,
                  n ? "" : " (emptied: a logout, kept as a tombstone)");
    return g;
}

/* ---- mod_session's hooks --------------------------------------------------- */

/* After mod_session's own decoder: what the session held as it was loaded. */
static apr_status_t ss_session_decode_hook(request_rec *r, session_rec *z)
{
    const ss_server_conf *conf = ss_conf(r->server);
    ss_gen_loaded *rec;

    if (!ss_gen_configured(r, conf) || !z || !z->entries) {
        return OK;
    }
    /* mod_session runs the decoders on every load of the request's one
     * session_rec; only the first one sees what the session was loaded
     * with, later ones see what the request has made of it since */
    if (ss_gen_loaded_get(r, z)) {
        return OK;
    }
    rec = ss_gen_loaded_make(r, z);
    rec->gen = ss_gen_current(r, conf, z);
    rec->had_content = !ss_session_entries_empty_except(z->entries, conf->local);
    rec->entries = z->entries;
    return OK;
}

/* Before mod_session's own encoder: every save of a session whose entries
 * no longer match its generation stamps a new one (a login, a change, a
 * logout), whoever made the change. */
static apr_status_t ss_session_encode_hook(request_rec *r, session_rec *z)
{
    const ss_server_conf *conf = ss_conf(r->server);

    if (z && z->entries && ss_gen_configured(r, conf)) {
        ss_gen_sync(r, conf, z, NULL);
    }
    return OK;
}

typedef void ss_hook_encode_fn(ap_HOOK_session_encode_t *pf, const char *const *pre,
                               const char *const *succ, int order);
typedef void ss_hook_decode_fn(ap_HOOK_session_decode_t *pf, const char *const *pre,
                               const char *const *succ, int order);

/* mod_session's hooks are found when the configuration has been read, so
 * that LoadModule lines may come in any order and the module loads without
 * mod_session (a site sharing an application's cookie needs none).  Hooks
 * added here are sorted with the rest before the configuration is
 * processed. */
void ss_generation_hooks(void)
{
    static const char *const session[] = { "mod_session.c", NULL };
    ss_hook_encode_fn *enc;
    ss_hook_decode_fn *dec;

    if (!ap_find_linked_module("mod_session.c")) {
        return;
    }
    enc = (ss_hook_encode_fn *)dlsym(RTLD_DEFAULT, "ap_hook_session_encode");
    dec = (ss_hook_decode_fn *)dlsym(RTLD_DEFAULT, "ap_hook_session_decode");
    if (enc) {
        /* mod_session's encoder is REALLY_FIRST too: ours goes ahead of it */
        enc(ss_session_encode_hook, NULL, session, APR_HOOK_REALLY_FIRST);
    }
    if (dec) {
        dec(ss_session_decode_hook, session, NULL, APR_HOOK_REALLY_LAST);
    }
}

/* ---- the site's "sent" cookie -------------------------------------------- */

static const char *ss_sent_name(const ss_site *self)
{
    return self && !strcmp(self->scheme, "https") ? SS_SENT_HTTPS : SS_SENT_HTTP;
}

int ss_sent_matches(request_rec *r, const ss_site *self, const ss_gen *g)
{
    const char *text = ss_cookie_get(r->pool, apr_table_get(r->headers_in, "Cookie"),
                                     ss_sent_name(self), NULL);
    ss_gen sent;

    return g->t && text && ss_gen_parse(text, &sent) && ss_gen_compare(&sent, g) == 0;
}

void ss_sent_set(request_rec *r, const ss_server_conf *conf, const ss_site *self,
                 const ss_gen *g, int cross_site)
{
    char text[SS_GEN_TEXT_MAX];
    int secure = self && !strcmp(self->scheme, "https");

    if (!conf->resend || !g->t) {
        return;
    }
    ss_gen_format(g, text);
    /* in a script answer (a cross-site request) only SameSite=None; Secure
     * is stored, as for the session cookie itself */
    apr_table_addn(r->err_headers_out, "Set-Cookie",
                   apr_psprintf(r->pool, "%s=%s; Path=/; Max-Age=%d; HttpOnly; %sSameSite=%s",
                                ss_sent_name(self), text, conf->resend,
                                secure ? "Secure; " : "",
                                cross_site && secure ? "None" : "Lax"));
}
