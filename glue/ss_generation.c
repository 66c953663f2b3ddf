/* Generations of mod_session sessions (docs/PROTOCOL.md, "Generations"):
 * what a session was loaded with, the one stamp function that the filter,
 * "go", the receiver and mod_session's encode hook call, and the site's
 * own cookie that remembers which generation it already sent. */

#include "ss_glue.h"
#include "ss_cookie.h"
#include <dlfcn.h>

#define SS_SENT_HTTPS "__Host-sssent"
#define SS_SENT_HTTP  "sssent"

/* What a session_rec held when mod_session first decoded it: whether it
 * held anything (entries or a generation: emptying such a session is a
 * logout), and a copy of its entries, from which the loaded generation is
 * verified only when it is needed (a stamp).  A short list per request
 * tree, in the pool of the request that started it: the session stores
 * cache one session_rec for a request, its subrequests and its internal
 * redirects (which share the pool). */
typedef struct ss_gen_loaded {
    struct ss_gen_loaded *next;
    const session_rec *z;
    const request_rec *r;           /* the request that decoded it first */
    const apr_table_t *entries;     /* the table decoded into */
    apr_table_t *as_loaded;         /* a copy of the entries then */
    ss_gen gen;                     /* the loaded generation, once known */
    int gen_known;
    int had_content;
} ss_gen_loaded;

#define SS_GEN_LOADED_KEY "shared-session-gen-loaded"

static apr_pool_t *ss_gen_pool(request_rec *r)
{
    while (r->main) {
        r = r->main;
    }
    return r->pool;
}

static ss_gen_loaded *ss_gen_loaded_list(request_rec *r)
{
    void *head = NULL;

    apr_pool_userdata_get(&head, SS_GEN_LOADED_KEY, ss_gen_pool(r));
    return head;
}

/* What z held when it was decoded, or NULL.  mod_session gives an expired
 * or undecodable session a new, empty table after decoding it: such a
 * session was not loaded with anything (its emptiness is no logout). */
static ss_gen_loaded *ss_gen_loaded_get(request_rec *r, const session_rec *z)
{
    ss_gen_loaded *rec;

    for (rec = ss_gen_loaded_list(r); rec; rec = rec->next) {
        if (rec->z == z) {
            return rec->entries == z->entries ? rec : NULL;
        }
    }
    return NULL;
}

static ss_gen_loaded *ss_gen_loaded_make(request_rec *r, const session_rec *z)
{
    apr_pool_t *p = ss_gen_pool(r);
    ss_gen_loaded *rec, *head = ss_gen_loaded_list(r);

    for (rec = head; rec; rec = rec->next) {
        if (rec->z == z) {
            break;
        }
    }
    if (!rec) {
        rec = apr_pcalloc(p, sizeof(*rec));
        rec->z = z;
        rec->next = head;
        apr_pool_userdata_setn(rec, SS_GEN_LOADED_KEY, NULL, p);
    }
    rec->r = r;
    rec->entries = z->entries;
    return rec;
}

/* The generation z was loaded with, when it counted. */
static ss_gen ss_gen_loaded_gen(request_rec *r, const ss_server_conf *conf,
                                ss_gen_loaded *rec)
{
    if (!rec->gen_known) {
        rec->gen = ss_gen_of_entries(r->pool, rec->as_loaded, conf->local, conf->keys,
                                     (apr_uint64_t)apr_time_now());
        rec->gen_known = 1;
    }
    return rec->gen;
}

session_rec *ss_session_decoded(request_rec *r)
{
    ss_gen_loaded *rec;

    for (rec = ss_gen_loaded_list(r); rec; rec = rec->next) {
        if (rec->r == r && rec->entries == rec->z->entries) {
            /* mod_session hands out a new, empty session instead of an
             * expired one, on every load: that is its to do */
            if (rec->z->expiry && rec->z->expiry < apr_time_now()) {
                return NULL;
            }
            return (session_rec *)rec->z;
        }
    }
    return NULL;
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
    const ss_key *sealer;
    ss_gen_loaded *rec;
    ss_gen g, none, loaded;
    ss_gen_pair *pairs;
    const char *text;
    char stamp[SS_GEN_TEXT_MAX];
    size_t n;

    memset(&none, 0, sizeof(none));
    loaded = none;
    if (stamped) {
        *stamped = 0;
    }
    if (!conf->keys || !conf->keys->nkeys) {
        return none;
    }
    text = apr_table_get(z->entries, SS_GEN_ENTRY);
    if (!z->dirty && text && ss_gen_parse(text, &g)
        && g.t <= (apr_uint64_t)apr_time_now() + SS_GEN_SKEW_US) {
        /* unchanged since it was saved with its generation: sent as it
         * is, unverified (every receiver verifies what it takes, and only
         * the sessions a request changes need a new one) */
        return g;
    }
    if (!ss_gen_configured(r, conf) || !(sealer = ss_keyring_sealer(conf->keys))) {
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

        if (!text && !(rec && rec->had_content)) {
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
    if (rec) {
        loaded = ss_gen_loaded_gen(r, conf, rec);
    }
    ss_gen_stamp(&g, sealer, (apr_uint64_t)apr_time_now(), &loaded, pairs, n);
    ss_gen_format(&g, stamp);
    apr_table_set(z->entries, SS_GEN_ENTRY, stamp);
    z->dirty = 1;
    rec = ss_gen_loaded_make(r, z);
    rec->gen = g;
    rec->gen_known = 1;
    rec->had_content = 1;
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
    rec->as_loaded = apr_table_copy(ss_gen_pool(r), z->entries);
    rec->had_content = !ss_session_entries_empty_except(z->entries, conf->local);
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

int ss_sent_is(request_rec *r, const ss_site *self, const char *text)
{
    const char *sent = ss_cookie_get(r->pool, apr_table_get(r->headers_in, "Cookie"),
                                     ss_sent_name(self), NULL);

    return text && sent && !strcmp(sent, text);
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
                   apr_pstrcat(r->pool, ss_sent_name(self), "=", text, "; Path=/; Max-Age=",
                               apr_itoa(r->pool, conf->resend), "; HttpOnly; ",
                               secure ? "Secure; " : "", "SameSite=",
                               cross_site && secure ? "None" : "Lax", NULL));
}
