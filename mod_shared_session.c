/* mod_shared_session — one login and one session across several domains.
 *
 * Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Apache glue only: configuration, the replay cache's life cycle, the
 * shared-session handler (receiving tickets, sending users across with
 * "go") and the SHARED_SESSION output filter.  Everything that is logic
 * lives in httpd-free units under crypto/ and lib/, tested on their own.
 * The contract is SPEC.md; log tags are MSS00001-MSS00099 for
 * configuration, MSS01xxx for the handler, MSS02xxx for the filter.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_provider.h"
#include "ap_socache.h"
#include "util_mutex.h"
#include "util_filter.h"
#include "mod_session.h"

#include "apr_strings.h"
#include "apr_lib.h"
#include "apr_global_mutex.h"
#include "apr_optional.h"
#include "apr_optional_hooks.h"

#include <string.h>
#include <sodium.h>

#include "mod_shared_session.h"
#include "ss_keyring.h"
#include "ss_ticket.h"
#include "ss_sites.h"
#include "ss_url.h"
#include "ss_session_codec.h"
#include "ss_html_scan.h"

module AP_MODULE_DECLARE_DATA shared_session_module;

APLOG_USE_MODULE(shared_session);

/* Our own message tags: the AH prefix is httpd's. */
#define SSLOGNO(n) "MSS" #n ": "

#define SS_HANDLER          "shared-session"
#define SS_FILTER           "SHARED_SESSION"
#define SS_MUTEX_TYPE       "shared-session-cache"
#define SS_CACHE_ID         "mod_shared_session-replay"
#define SS_DEFAULT_PATH     "/shared-session/"
#define SS_DEFAULT_TIMEOUT  30
#define SS_DEFAULT_CACHE    "shmcb"

APR_IMPLEMENT_OPTIONAL_HOOK_RUN_ALL(shared_session, SHARED_SESSION, int, replaced,
                                    (request_rec *r, const char *src,
                                     const char *dst, int was_empty),
                                    (r, src, dst, was_empty), OK, DECLINED)

/* ---- configuration -------------------------------------------------------- */

typedef struct {
    apr_array_header_t *sites;      /* of ss_site */
    ss_keyring *keys;
    const char *key_where;          /* "file:line" of SharedSessionKeyFile */
    const char *sites_where;
    int timeout;
    int always_replace;
    int check_referer;
    const char *path;
    unsigned int sites_set:1, keys_set:1, timeout_set:1, always_replace_set:1,
                 check_referer_set:1, path_set:1;
} ss_server_conf;

/* The replay cache is one per server process tree (server config only). */
static struct {
    const char *spec;               /* as configured, or NULL for the default */
    const char *where;
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *instance;
    apr_global_mutex_t *mutex;
    int none;
    int used;                       /* any SharedSession* directive seen */
} ss_cache;

static APR_OPTIONAL_FN_TYPE(ap_session_load) *ss_session_load_fn;
static APR_OPTIONAL_FN_TYPE(ap_session_save) *ss_session_save_fn;

static const char *ss_where(cmd_parms *cmd)
{
    if (!cmd->directive) {
        return "";
    }
    return apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                        cmd->directive->line_num);
}

static void *ss_create_server_conf(apr_pool_t *p, server_rec *s)
{
    ss_server_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->sites = apr_array_make(p, 4, sizeof(ss_site));
    conf->timeout = SS_DEFAULT_TIMEOUT;
    conf->check_referer = 1;
    conf->path = SS_DEFAULT_PATH;
    return conf;
}

#define SS_MERGE(field) \
    conf->field = add->field##_set ? add->field : base->field; \
    conf->field##_set = add->field##_set || base->field##_set

static void *ss_merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    ss_server_conf *base = basev, *add = addv;
    ss_server_conf *conf = apr_pcalloc(p, sizeof(*conf));

    SS_MERGE(sites);
    conf->sites_where = add->sites_set ? add->sites_where : base->sites_where;
    SS_MERGE(keys);
    conf->key_where = add->keys_set ? add->key_where : base->key_where;
    SS_MERGE(timeout);
    SS_MERGE(always_replace);
    SS_MERGE(check_referer);
    SS_MERGE(path);
    return conf;
}

static ss_server_conf *ss_conf(server_rec *s)
{
    return ap_get_module_config(s->module_config, &shared_session_module);
}

static const char *ss_set_sites(cmd_parms *cmd, void *dummy, const char *arg)
{
    ss_server_conf *conf = ss_conf(cmd->server);
    ss_site site;
    const char *err;
    int i;

    ss_cache.used = 1;
    if (!conf->sites_set) {
        /* a virtual host's own list replaces the inherited one */
        conf->sites = apr_array_make(cmd->pool, 4, sizeof(ss_site));
        conf->sites_set = 1;
        conf->sites_where = ss_where(cmd);
    }
    if (ss_site_parse(cmd->pool, arg, &site, &err) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "SharedSessionSites: '%s' is not a site: %s "
                            "(expected [http://|https://]host[:port])", arg, err);
    }
    for (i = 0; i < conf->sites->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(conf->sites, i, ss_site).id, site.id)) {
            return apr_psprintf(cmd->pool, "SharedSessionSites: '%s' is listed twice "
                                "(site id %s)", arg, site.id);
        }
    }
    APR_ARRAY_PUSH(conf->sites, ss_site) = site;
    return NULL;
}

static const char *ss_set_key_file(cmd_parms *cmd, void *dummy, const char *arg)
{
    ss_server_conf *conf = ss_conf(cmd->server);
    const char *path = ap_server_root_relative(cmd->pool, arg);
    const char *err = NULL;
    int loose = 0;
    ss_key key;
    apr_status_t rv;

    ss_cache.used = 1;
    if (!path) {
        return apr_psprintf(cmd->pool, "SharedSessionKeyFile: '%s' is not a valid path", arg);
    }
    if (!conf->keys_set) {
        conf->keys = ss_keyring_make(cmd->pool);
        conf->keys_set = 1;
        conf->key_where = ss_where(cmd);
    }
    rv = ss_keyfile_load(&key, cmd->pool, path, &loose, &err);
    if (rv != APR_SUCCESS) {
        return apr_pstrcat(cmd->pool, "SharedSessionKeyFile: ", err, NULL);
    }
    if (loose) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, NULL, SSLOGNO(00001)
                     "SharedSessionKeyFile: '%s' is readable by group or others; "
                     "make it readable by root only (chmod 600)", path);
    }
    rv = ss_keyring_add(conf->keys, cmd->pool, &key);
    sodium_memzero(&key, sizeof(key));
    if (rv == APR_EEXIST) {
        return apr_psprintf(cmd->pool, "SharedSessionKeyFile: '%s' holds a key that "
                            "is already listed", path);
    }
    return rv == APR_SUCCESS ? NULL
        : apr_psprintf(cmd->pool, "SharedSessionKeyFile: '%s': cannot add the key", path);
}

static const char *ss_set_timeout(cmd_parms *cmd, void *dummy, const char *arg)
{
    ss_server_conf *conf = ss_conf(cmd->server);
    char *end;
    apr_int64_t v;

    ss_cache.used = 1;
    v = apr_strtoi64(arg, &end, 10);
    if (!*arg || *end || v < 1 || v > 3600) {
        return apr_psprintf(cmd->pool, "SharedSessionTimeout: '%s' is out of range: "
                            "give whole seconds from 1 to 3600", arg);
    }
    conf->timeout = (int)v;
    conf->timeout_set = 1;
    return NULL;
}

static const char *ss_set_always_replace(cmd_parms *cmd, void *dummy, int flag)
{
    ss_server_conf *conf = ss_conf(cmd->server);

    ss_cache.used = 1;
    conf->always_replace = flag;
    conf->always_replace_set = 1;
    return NULL;
}

static const char *ss_set_check_referer(cmd_parms *cmd, void *dummy, int flag)
{
    ss_server_conf *conf = ss_conf(cmd->server);

    ss_cache.used = 1;
    conf->check_referer = flag;
    conf->check_referer_set = 1;
    return NULL;
}

static const char *ss_set_path(cmd_parms *cmd, void *dummy, const char *arg)
{
    ss_server_conf *conf = ss_conf(cmd->server);
    size_t len = strlen(arg);
    const char *c;

    ss_cache.used = 1;
    if (len < 1 || arg[0] != '/' || arg[len - 1] != '/') {
        return apr_psprintf(cmd->pool, "SharedSessionPath: '%s' must start and end "
                            "with '/' (for example /shared-session/)", arg);
    }
    for (c = arg; *c; c++) {
        if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e || strchr("?#%\\\"<>", *c)) {
            return apr_psprintf(cmd->pool, "SharedSessionPath: '%s' contains a "
                                "character that is not allowed in a URL path", arg);
        }
    }
    conf->path = arg;
    conf->path_set = 1;
    return NULL;
}

static const char *ss_set_replay_cache(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err) {
        return err;
    }
    ss_cache.used = 1;
    ss_cache.spec = arg;
    ss_cache.where = ss_where(cmd);
    return NULL;
}

static const command_rec ss_cmds[] = {
    AP_INIT_ITERATE("SharedSessionSites", ss_set_sites, NULL, RSRC_CONF,
                    "The sites that share sessions: [http://|https://]host[:port] ..."),
    AP_INIT_ITERATE("SharedSessionKeyFile", ss_set_key_file, NULL, RSRC_CONF,
                    "Key files (base64 of 32 bytes); the first seals, all open"),
    AP_INIT_TAKE1("SharedSessionTimeout", ss_set_timeout, NULL, RSRC_CONF,
                  "Seconds a ticket stays valid (1-3600, default 30)"),
    AP_INIT_FLAG("SharedSessionAlwaysReplace", ss_set_always_replace, NULL, RSRC_CONF,
                 "On: a ticket replaces a session that already has entries (default Off)"),
    AP_INIT_TAKE1("SharedSessionPath", ss_set_path, NULL, RSRC_CONF,
                  "URL path where SetHandler shared-session is mounted (default /shared-session/)"),
    AP_INIT_FLAG("SharedSessionCheckReferer", ss_set_check_referer, NULL, RSRC_CONF,
                 "On: a ticket must come with a Referer or Origin of its source site (default On)"),
    AP_INIT_TAKE1("SharedSessionReplayCache", ss_set_replay_cache, NULL, RSRC_CONF,
                  "provider[:args] of mod_socache for one-time tickets, or none (default shmcb)"),
    { NULL }
};

/* ---- start-up: checks, replay cache, mutex ---------------------------------- */

/* The module that provides a socache provider in a stock httpd. */
static const char *ss_provider_module(const char *name)
{
    static const char *const known[] = { "shmcb", "dbm", "memcache", "redis", "dc" };
    size_t i;

    for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (!strcmp(name, known[i])) {
            return known[i];
        }
    }
    return NULL;
}

static int ss_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    apr_status_t rv;

    /* configuration is read anew on every restart */
    memset(&ss_cache, 0, sizeof(ss_cache));
    if (sodium_init() < 0) {
        ap_log_perror(APLOG_MARK, APLOG_CRIT, 0, plog, SSLOGNO(00014)
                      "libsodium cannot be initialised");
        return !OK;
    }
    rv = ap_mutex_register(pconf, SS_MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0);
    if (rv != APR_SUCCESS) {
        ap_log_perror(APLOG_MARK, APLOG_CRIT, rv, plog, SSLOGNO(00010)
                      "cannot register the %s mutex type", SS_MUTEX_TYPE);
        return !OK;
    }
    return OK;
}

/* Resolves SharedSessionReplayCache into a provider and an instance. */
static int ss_cache_configure(apr_pool_t *pconf, apr_pool_t *ptemp)
{
    const char *spec = ss_cache.spec ? ss_cache.spec : SS_DEFAULT_CACHE;
    const char *directive = ss_cache.spec
        ? apr_psprintf(ptemp, "SharedSessionReplayCache '%s' (%s)", spec, ss_cache.where)
        : "SharedSessionReplayCache (default shmcb)";
    const char *sep = ap_strchr_c(spec, ':');
    const char *name = sep ? apr_pstrmemdup(ptemp, spec, sep - spec) : spec;
    const char *args = sep ? sep + 1 : NULL;
    const char *err;
    apr_status_t rv;

    if (!strcasecmp(spec, "none")) {
        ss_cache.none = 1;
        return OK;
    }
    ss_cache.provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                           AP_SOCACHE_PROVIDER_VERSION);
    if (!ss_cache.provider) {
        const char *module = ss_provider_module(name);
        apr_array_header_t *names = ap_list_provider_names(ptemp,
                                        AP_SOCACHE_PROVIDER_GROUP,
                                        AP_SOCACHE_PROVIDER_VERSION);
        const char *loaded = "none";
        int i;

        for (i = 0; i < names->nelts; i++) {
            const char *n = APR_ARRAY_IDX(names, i, ap_list_provider_names_t).provider_name;
            loaded = i ? apr_pstrcat(ptemp, loaded, ", ", n, NULL) : n;
        }
        if (module) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL, SSLOGNO(00011)
                         "%s: the socache provider '%s' is not loaded: add "
                         "'LoadModule socache_%s_module modules/mod_socache_%s.so' "
                         "(mod_socache_%s; loaded providers: %s)",
                         directive, name, module, module, module, loaded);
        }
        else {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL, SSLOGNO(00012)
                         "%s: unknown socache provider '%s' (loaded providers: %s; "
                         "or 'none')", directive, name, loaded);
        }
        return !OK;
    }
    err = ss_cache.provider->create(&ss_cache.instance, args, ptemp, pconf);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL, SSLOGNO(00013)
                     "%s: %s", directive, err);
        return !OK;
    }
    (void)rv;
    return OK;
}

static int ss_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                           server_rec *s)
{
    int needs_cache = 0;
    server_rec *vs;

    if (!ss_cache.used) {
        return OK;
    }
    ss_session_load_fn = APR_RETRIEVE_OPTIONAL_FN(ap_session_load);
    ss_session_save_fn = APR_RETRIEVE_OPTIONAL_FN(ap_session_save);
    if (!ss_session_load_fn || !ss_session_save_fn) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL, SSLOGNO(00020)
                     "SharedSession* directives need mod_session: add "
                     "'LoadModule session_module modules/mod_session.so' and a store "
                     "(mod_session_cookie or mod_session_dbd)");
        return !OK;
    }
    for (vs = s; vs; vs = vs->next) {
        ss_server_conf *conf = ss_conf(vs);
        const char *name = apr_psprintf(ptemp, "%s:%d (%s:%u)",
                                        vs->server_hostname ? vs->server_hostname : "?",
                                        vs->port, vs->defn_name ? vs->defn_name : "?",
                                        vs->defn_line_number);
        int nsites = conf->sites->nelts;
        int nkeys = conf->keys ? conf->keys->nkeys : 0;

        if (nsites && !nkeys) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL, SSLOGNO(00021)
                         "SharedSessionSites (%s) is set for server %s but no "
                         "SharedSessionKeyFile: add one (shared-session-tool keygen)",
                         conf->sites_where, name);
            return !OK;
        }
        if (nkeys && !nsites) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL, SSLOGNO(00022)
                         "SharedSessionKeyFile (%s) is set for server %s but no "
                         "SharedSessionSites: list the sites that share sessions",
                         conf->key_where, name);
            return !OK;
        }
        if (nsites == 1) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, NULL, SSLOGNO(00023)
                         "SharedSessionSites (%s) lists one site only: there is no "
                         "other site to share sessions with", conf->sites_where);
        }
        needs_cache |= nsites > 0;
    }
    if (needs_cache) {
        return ss_cache_configure(pconf, ptemp);
    }
    return OK;
}

static apr_status_t ss_cache_cleanup(void *data)
{
    if (ss_cache.instance) {
        ss_cache.provider->destroy(ss_cache.instance, (server_rec *)data);
        ss_cache.instance = NULL;
    }
    return APR_SUCCESS;
}

static int ss_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *s)
{
    static struct ap_socache_hints hints = { 24, 1, SS_DEFAULT_TIMEOUT };
    apr_status_t rv;

    if (!ss_cache.provider) {
        return OK;
    }
    if (ss_cache.provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        rv = ap_global_mutex_create(&ss_cache.mutex, NULL, SS_MUTEX_TYPE, NULL,
                                    s, pconf, 0);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, SSLOGNO(00030)
                         "cannot create the replay cache mutex (Mutex %s)", SS_MUTEX_TYPE);
            return !OK;
        }
    }
    rv = ss_cache.provider->init(ss_cache.instance, SS_CACHE_ID, &hints, s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, SSLOGNO(00031)
                     "cannot initialise the replay cache (%s)",
                     ss_cache.spec ? ss_cache.spec : SS_DEFAULT_CACHE);
        return !OK;
    }
    apr_pool_cleanup_register(pconf, s, ss_cache_cleanup, apr_pool_cleanup_null);
    return OK;
}

static void ss_child_init(apr_pool_t *p, server_rec *s)
{
    apr_status_t rv;

    if (!ss_cache.mutex) {
        return;
    }
    rv = apr_global_mutex_child_init(&ss_cache.mutex,
                                     apr_global_mutex_lockfile(ss_cache.mutex), p);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, SSLOGNO(00032)
                     "cannot attach the replay cache mutex in a child");
    }
}

/* Records a ticket id once.  SS_OK the first time, replayed after, and
 * cache-unavailable when the cache cannot answer (fail closed).  Without an
 * atomic add-if-absent in socache, servers sharing memcache/redis keep a tiny
 * race window; the ticket timeout bounds it. */
static ss_reason ss_replay_check(request_rec *r, const ss_ticket *t, int timeout)
{
    unsigned char flag[1] = { 1 };
    unsigned char buf[8];
    unsigned int len = sizeof(buf);
    apr_status_t rv;
    ss_reason reason = SS_OK;

    if (ss_cache.none || !ss_cache.provider) {
        return SS_OK;
    }
    if (ss_cache.mutex && (rv = apr_global_mutex_lock(ss_cache.mutex)) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, SSLOGNO(01030)
                      "cannot lock the replay cache mutex");
        return SS_R_CACHE_UNAVAILABLE;
    }
    rv = ss_cache.provider->retrieve(ss_cache.instance, r->server, t->nonce,
                                     sizeof(t->nonce), buf, &len, r->pool);
    if (rv == APR_SUCCESS) {
        reason = SS_R_REPLAYED;
    }
    else if (!APR_STATUS_IS_NOTFOUND(rv)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, SSLOGNO(01031)
                      "replay cache lookup failed: refusing tickets until it answers");
        reason = SS_R_CACHE_UNAVAILABLE;
    }
    else {
        apr_time_t expiry = apr_time_from_sec(t->iat + timeout + SS_CLOCK_SKEW);

        rv = ss_cache.provider->store(ss_cache.instance, r->server, t->nonce,
                                      sizeof(t->nonce), expiry, flag, sizeof(flag),
                                      r->pool);
        if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, SSLOGNO(01032)
                          "replay cache store failed: refusing tickets until it answers");
            reason = SS_R_CACHE_UNAVAILABLE;
        }
    }
    if (ss_cache.mutex) {
        apr_global_mutex_unlock(ss_cache.mutex);
    }
    return reason;
}

/* ---- shared by the handler and the filter ----------------------------------- */

/* The SharedSessionSites entry this request belongs to (SPEC.md section 2). */
static const ss_site *ss_request_site(request_rec *r, const ss_server_conf *conf)
{
    if (!r->hostname || !conf->sites->nelts) {
        return NULL;
    }
    return ss_sites_match((const ss_site *)conf->sites->elts, conf->sites->nelts,
                          r->hostname, ap_get_server_port(r));
}

static const ss_site *ss_site_by_id(const ss_server_conf *conf, const char *id)
{
    int i;

    for (i = 0; i < conf->sites->nelts; i++) {
        const ss_site *site = &APR_ARRAY_IDX(conf->sites, i, ss_site);
        if (!strcmp(site->id, id)) {
            return site;
        }
    }
    return NULL;
}

/* An entry other than the reserved "expiry" makes a session non-empty. */
static int ss_session_is_empty(const session_rec *z)
{
    const apr_array_header_t *arr = apr_table_elts(z->entries);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    int i;

    for (i = 0; i < arr->nelts; i++) {
        if (e[i].key && strcmp(e[i].key, SS_SESSION_RESERVED_KEY) && e[i].val && *e[i].val) {
            return 0;
        }
    }
    return 1;
}

/* mod_session's session, or NULL when mod_session is not on here. */
static session_rec *ss_load_session(request_rec *r)
{
    session_rec *z = NULL;

    if (!ss_session_load_fn || ss_session_load_fn(r, &z) != APR_SUCCESS) {
        return NULL;
    }
    return z;
}

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

/* CheckReferer: Referer (or Origin) on the ticket's source site. */
static int ss_referer_ok(request_rec *r, const ss_site *src)
{
    const char *h = apr_table_get(r->headers_in, "Referer");
    const char *err;
    ss_url u;

    if (!h || !*h) {
        h = apr_table_get(r->headers_in, "Origin");
    }
    if (!h || ss_url_parse(r->pool, h, &u, &err) != APR_SUCCESS) {
        return 0;
    }
    return ss_host_within(u.host, src->host) && (!src->port || u.port == src->port);
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

static void ss_receive(request_rec *r, const ss_server_conf *conf, const char *ticket,
                       apr_size_t len, ss_mode want, ss_outcome *o)
{
    const ss_site *site = ss_request_site(r, conf);
    const ss_site *src;
    session_rec *z;
    ss_ticket t;

    o->result = "rejected";
    if (!site) {
        o->reason = SS_R_NO_SITE;
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, SSLOGNO(01010)
                      "host '%s' is not in SharedSessionSites: tickets cannot be "
                      "received here", ap_escape_logitem(r->pool, r->hostname));
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
    if (conf->check_referer && !ss_referer_ok(r, src)) {
        o->reason = SS_R_REFERER;
        return;
    }
    if (!(z = ss_load_session(r))) {
        o->reason = SS_R_NO_SESSION;
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, SSLOGNO(01011)
                      "mod_session is not on at %s: add 'Session On' and a session "
                      "store where SetHandler shared-session is", conf->path);
        return;
    }
    if ((o->reason = ss_replay_check(r, &t, conf->timeout)) != SS_OK) {
        return;
    }
    o->was_empty = ss_session_is_empty(z);
    if (!o->was_empty && !conf->always_replace) {
        o->result = "kept";
        return;
    }
    apr_table_clear(z->entries);
    ss_session_decode(r->pool, t.session, z->entries);
    z->dirty = 1;
    if (ss_session_save_fn(r, z) != APR_SUCCESS) {
        o->reason = SS_R_NO_SESSION;
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, SSLOGNO(01012)
                      "the session could not be saved by mod_session (see its "
                      "message above)");
        return;
    }
    o->result = "replaced";
    shared_session_run_replaced(r, t.src, site->id, o->was_empty);
}

/* Puts "<ticket>" in place of the ticket in what the access log shows. */
static void ss_redact_request(request_rec *r, const char *prefix, int script)
{
    const char *shown = apr_pstrcat(r->pool, prefix, "<ticket>", script ? ".js" : "", NULL);

    r->uri = (char *)shown;
    r->unparsed_uri = (char *)shown;
    r->parsed_uri.path = (char *)shown;
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

static int ss_handle_ticket(request_rec *r, const ss_server_conf *conf,
                            const char *prefix, const char *name, apr_size_t len,
                            ss_mode mode)
{
    const char *ticket = apr_pstrmemdup(r->pool, name, len);
    ss_outcome o = { SS_OK, NULL, NULL, NULL, NULL, 0, 0 };

    ss_redact_request(r, prefix, mode == SS_MODE_SCRIPT);
    ss_receive(r, conf, ticket, len, mode, &o);
    ss_remove_session_filter(r);
    ss_note_outcome(r, &o, mode);

    if (mode == SS_MODE_SCRIPT) {
        /* the same answer whatever the outcome: no oracle */
        apr_table_setn(r->headers_out, "Cache-Control", "no-store");
        apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
        ap_set_content_type(r, "text/javascript");
        ap_set_content_length(r, 0);
        return OK;
    }
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->err_headers_out, "Referrer-Policy", "no-referrer");
    apr_table_setn(r->headers_out, "Location",
                   o.opened && o.next && *o.next ? o.next : "/");
    return HTTP_SEE_OTHER;
}

/* ---- handler: sending users across ("go") ----------------------------------- */

static int ss_go_refuse(request_rec *r, const char *why)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, SSLOGNO(01020) "go refused: %s", why);
    r->status = HTTP_BAD_REQUEST;
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_set_content_type(r, "text/plain; charset=utf-8");
    if (!r->header_only) {
        ap_rvputs(r, "shared-session: ", why, "\n", NULL);
    }
    return OK;
}

/* The decoded value of the first "to" parameter, or NULL. */
static const char *ss_query_to(request_rec *r)
{
    char *args = r->args ? apr_pstrdup(r->pool, r->args) : NULL;
    char *pair, *last = NULL;

    for (pair = args ? apr_strtok(args, "&", &last) : NULL; pair;
         pair = apr_strtok(NULL, "&", &last)) {
        if (!strncmp(pair, "to=", 3)) {
            char *val = pair + 3;
            return ap_unescape_urlencoded(val) == OK ? val : "";
        }
    }
    return NULL;
}

static int ss_handle_go(request_rec *r, const ss_server_conf *conf)
{
    const ss_site *site = ss_request_site(r, conf);
    const ss_site *target;
    const char *to = ss_query_to(r), *err, *where, *ticket = NULL, *authority, *session;
    const ss_key *sealer = conf->keys ? ss_keyring_sealer(conf->keys) : NULL;
    session_rec *z;
    ss_url u;

    if (!site || !sealer) {
        return ss_go_refuse(r, "this host is not one of SharedSessionSites");
    }
    if (!to || !*to) {
        return ss_go_refuse(r, "missing the to= parameter (an absolute URL on another site)");
    }
    if (ss_url_parse(r->pool, to, &u, &err) != APR_SUCCESS) {
        return ss_go_refuse(r, apr_pstrcat(r->pool, "to= is refused: ", err, NULL));
    }
    target = ss_sites_match((const ss_site *)conf->sites->elts, conf->sites->nelts,
                            u.host, u.port);
    if (!target || target == site) {
        return ss_go_refuse(r, "to= is not on one of the other SharedSessionSites");
    }
    if (!target->port && u.port != ss_site_default_port(u.scheme)) {
        return ss_go_refuse(r, "to= names a port that its site does not use");
    }
    if (!ss_next_valid(u.path_query, strlen(u.path_query))) {
        return ss_go_refuse(r, "to= has a path that cannot be carried (it must start "
                            "with a single '/')");
    }
    authority = u.port_given ? apr_psprintf(r->pool, "%s:%d", u.host, u.port) : u.host;
    where = apr_pstrcat(r->pool, u.scheme, "://", authority, u.path_query, NULL);

    z = ss_load_session(r);
    session = z ? ss_session_encode(r->pool, z->entries) : "";
    if (*session) {
        ss_ticket t;
        apr_status_t rv;

        memset(&t, 0, sizeof(t));
        t.iat = apr_time_sec(r->request_time);
        t.mode = SS_MODE_NAVIGATION;
        t.src = site->id;
        t.next = u.path_query;
        t.session = session;
        rv = ss_ticket_seal(r->pool, sealer, target->id, &t, NULL, (char **)&ticket);
        if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r, SSLOGNO(01021)
                          "no ticket for %s: the session does not fit into a ticket "
                          "of %d characters", target->id, SS_TICKET_MAX_CHARS);
            ticket = NULL;
        }
    }
    else if (!z) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, SSLOGNO(01022)
                      "mod_session is not on at %s: 'go' sends users across without "
                      "their session", conf->path);
    }
    if (ticket) {
        where = apr_pstrcat(r->pool, target->scheme, "://", authority, conf->path,
                            ticket, NULL);
    }
    ss_remove_session_filter(r);
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->err_headers_out, "Referrer-Policy", "origin");
    apr_table_setn(r->headers_out, "Location", where);
    return HTTP_SEE_OTHER;
}

/* ---- handler entry ---------------------------------------------------------- */

static int ss_is_b64url(const char *s, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len; i++) {
        if (!apr_isalnum(s[i]) && s[i] != '-' && s[i] != '_') {
            return 0;
        }
    }
    return len > 0;
}

static int ss_handler(request_rec *r)
{
    const ss_server_conf *conf;
    const char *name, *prefix;
    apr_size_t plen, nlen;
    int script;

    if (!r->handler || strcmp(r->handler, SS_HANDLER)) {
        return DECLINED;
    }
    conf = ss_conf(r->server);
    plen = strlen(conf->path);
    if (strncmp(r->uri, conf->path, plen)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, SSLOGNO(01002)
                      "SetHandler shared-session serves %s, outside SharedSessionPath %s: "
                      "mount it at SharedSessionPath", ap_escape_logitem(r->pool, r->uri),
                      conf->path);
        return HTTP_NOT_FOUND;
    }
    prefix = apr_pstrmemdup(r->pool, r->uri, plen);
    name = r->uri + plen;
    nlen = strlen(name);
    script = nlen > 3 && !strcmp(name + nlen - 3, ".js");
    if (script) {
        nlen -= 3;
    }
    if (!script && !strcmp(name, "go")) {
        if (r->method_number != M_GET) {
            r->allowed = (AP_METHOD_BIT << M_GET);
            return HTTP_METHOD_NOT_ALLOWED;
        }
        return ss_handle_go(r, conf);
    }
    if (!ss_is_b64url(name, nlen)) {
        return HTTP_NOT_FOUND;
    }
    if (r->method_number != M_GET) {
        r->allowed = (AP_METHOD_BIT << M_GET);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    return ss_handle_ticket(r, conf, prefix, name, nlen,
                            script ? SS_MODE_SCRIPT : SS_MODE_NAVIGATION);
}

/* ---- the SHARED_SESSION output filter --------------------------------------- */

#define SS_FILTER_PASS_BYTES (64 * 1024)  /* pass on at least this often while scanning */

typedef struct {
    ss_html_scan scan;
    apr_bucket_brigade *held;   /* a candidate tag cut at a bucket end (<= 6 bytes) */
    apr_bucket_brigade *pending;
    const char *tags;           /* the <script> tags to insert */
    int headers_done;
} ss_filter_ctx;

static int ss_is_html(const char *ct)
{
    size_t n;

    if (!ct) {
        return 0;
    }
    n = strcspn(ct, "; \t");
    return (n == 9 && !strncasecmp(ct, "text/html", 9))
        || (n == 21 && !strncasecmp(ct, "application/xhtml+xml", 21));
}

static int ss_is_identity(const char *enc)
{
    return !enc || !*enc || !strcasecmp(enc, "identity");
}

/* The loader tags for every target site, or NULL when nothing goes in. */
static const char *ss_loader_tags(request_rec *r, const ss_server_conf *conf)
{
    const ss_site *site = ss_request_site(r, conf);
    const ss_key *sealer = conf->keys ? ss_keyring_sealer(conf->keys) : NULL;
    const char *tags = NULL;
    const char *session;
    session_rec *z;
    int i;

    if (!site || !sealer || !(z = ss_load_session(r))) {
        return NULL;
    }
    /* empty once "expiry" and empty entries are left out */
    session = ss_session_encode(r->pool, z->entries);
    if (!*session) {
        return NULL;
    }
    for (i = 0; i < conf->sites->nelts; i++) {
        const ss_site *target = &APR_ARRAY_IDX(conf->sites, i, ss_site);
        ss_ticket t;
        char *ticket;
        apr_status_t rv;

        if (target == site) {
            continue;
        }
        memset(&t, 0, sizeof(t));
        t.iat = apr_time_sec(r->request_time);
        t.mode = SS_MODE_SCRIPT;
        t.src = site->id;
        t.next = "";
        t.session = session;
        rv = ss_ticket_seal(r->pool, sealer, target->id, &t, NULL, &ticket);
        if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r, SSLOGNO(02001)
                          "no loader for %s: the session does not fit into a ticket "
                          "of %d characters", target->id, SS_TICKET_MAX_CHARS);
            continue;
        }
        tags = apr_pstrcat(r->pool, tags ? tags : "", "<script src=\"",
                           ss_site_origin(r->pool, target), conf->path, ticket,
                           ".js\" async referrerpolicy=\"origin\"></script>", NULL);
    }
    return tags;
}

/* The response changes per request once the loader is in it. */
static void ss_fix_headers(request_rec *r)
{
    const char *cc = apr_table_get(r->headers_out, "Cache-Control");

    apr_table_unset(r->headers_out, "Content-Length");
    apr_table_unset(r->headers_out, "ETag");
    apr_table_unset(r->headers_out, "Content-MD5");
    apr_table_mergen(r->headers_out, "Vary", "Cookie");
    if (cc) {
        char *tok, *last = NULL, *copy = apr_pstrdup(r->pool, cc);
        const char *kept = NULL;
        int private = 0;

        for (tok = apr_strtok(copy, ",", &last); tok; tok = apr_strtok(NULL, ",", &last)) {
            while (apr_isspace(*tok)) {
                tok++;
            }
            if (!*tok || !strcasecmp(tok, "public")) {
                continue;
            }
            private |= !strncasecmp(tok, "private", 7);
            kept = kept ? apr_pstrcat(r->pool, kept, ", ", tok, NULL) : tok;
        }
        cc = private ? kept : (kept ? apr_pstrcat(r->pool, "private, ", kept, NULL) : "private");
    }
    apr_table_setn(r->headers_out, "Cache-Control", cc ? cc : "private");
}

static int ss_filter_wanted(ap_filter_t *f)
{
    request_rec *r = f->r;

    return !r->main && !r->header_only
        && r->status != HTTP_NO_CONTENT && r->status != HTTP_PARTIAL_CONTENT
        && r->status != HTTP_NOT_MODIFIED
        && ss_is_html(r->content_type)
        && ss_is_identity(r->content_encoding)
        && ss_is_identity(apr_table_get(r->headers_out, "Content-Encoding"))
        && ss_is_identity(apr_table_get(r->err_headers_out, "Content-Encoding"));
}

static apr_status_t ss_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    ss_filter_ctx *ctx = f->ctx;
    apr_bucket *b, *next;
    apr_size_t pending_bytes = 0;
    apr_status_t rv;

    if (!ctx) {
        const char *tags = ss_filter_wanted(f)
            ? ss_loader_tags(r, ss_conf(r->server)) : NULL;

        if (!tags) {
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
        f->ctx = ctx = apr_pcalloc(r->pool, sizeof(*ctx));
        ss_html_scan_init(&ctx->scan);
        ctx->held = apr_brigade_create(r->pool, f->c->bucket_alloc);
        ctx->pending = apr_brigade_create(r->pool, f->c->bucket_alloc);
        ctx->tags = tags;
    }

    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb); b = next) {
        ss_html_scan_result res;
        const char *data;
        apr_size_t len;

        next = APR_BUCKET_NEXT(b);
        if (APR_BUCKET_IS_EOS(b)) {
            /* no insertion point (a fragment): what was held goes out as it was */
            APR_BRIGADE_CONCAT(ctx->pending, ctx->held);
            break;
        }
        if (APR_BUCKET_IS_METADATA(b)) {
            /* FLUSH and the like pass in order; held bytes (<= 6) stay held */
            APR_BUCKET_REMOVE(b);
            APR_BRIGADE_INSERT_TAIL(ctx->pending, b);
            continue;
        }
        rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        ss_html_scan_feed(&ctx->scan, data, len, &res);
        if (res.found) {
            apr_bucket *tags = apr_bucket_immortal_create(ctx->tags, strlen(ctx->tags),
                                                          f->c->bucket_alloc);
            if (res.held_in_tag) {
                APR_BRIGADE_INSERT_TAIL(ctx->pending, tags);
                APR_BRIGADE_CONCAT(ctx->pending, ctx->held);
            }
            else {
                if (res.release_held) {
                    APR_BRIGADE_CONCAT(ctx->pending, ctx->held);
                }
                if (res.pos > 0 && res.pos < len) {
                    apr_bucket_split(b, res.pos);
                }
                if (res.pos > 0) {
                    next = APR_BUCKET_NEXT(b);
                    APR_BUCKET_REMOVE(b);
                    APR_BRIGADE_INSERT_TAIL(ctx->pending, b);
                }
                APR_BRIGADE_INSERT_TAIL(ctx->pending, tags);
            }
            if (!ctx->headers_done) {
                ss_fix_headers(r);
            }
            /* done: everything after the insertion point goes on untouched */
            ap_remove_output_filter(f);
            APR_BRIGADE_PREPEND(bb, ctx->pending);
            return ap_pass_brigade(f->next, bb);
        }
        if (res.release_held) {
            APR_BRIGADE_CONCAT(ctx->pending, ctx->held);
        }
        if (res.pos < len) {
            /* hold back the tail: a tag may be cut here */
            if (res.pos > 0) {
                apr_bucket_split(b, res.pos);
                next = APR_BUCKET_NEXT(b);
                APR_BUCKET_REMOVE(b);
                APR_BRIGADE_INSERT_TAIL(ctx->pending, b);
                b = next;
                next = APR_BUCKET_NEXT(b);
            }
            APR_BUCKET_REMOVE(b);
            if ((rv = apr_bucket_setaside(b, r->pool)) != APR_SUCCESS) {
                return rv;
            }
            APR_BRIGADE_INSERT_TAIL(ctx->held, b);
        }
        else {
            APR_BUCKET_REMOVE(b);
            APR_BRIGADE_INSERT_TAIL(ctx->pending, b);
        }
        pending_bytes += res.pos;
        if (pending_bytes >= SS_FILTER_PASS_BYTES) {
            /* headers leave with the first bytes: an insertion is still possible */
            if (!ctx->headers_done) {
                ss_fix_headers(r);
                ctx->headers_done = 1;
            }
            rv = ap_pass_brigade(f->next, ctx->pending);
            apr_brigade_cleanup(ctx->pending);
            if (rv != APR_SUCCESS) {
                return rv;
            }
            pending_bytes = 0;
        }
    }
    /* rest of bb (EOS and after) follows what was processed */
    APR_BRIGADE_PREPEND(bb, ctx->pending);
    if (!APR_BRIGADE_EMPTY(bb) && !ctx->headers_done
        && !APR_BUCKET_IS_EOS(APR_BRIGADE_LAST(bb))) {
        ss_fix_headers(r);
        ctx->headers_done = 1;
    }
    rv = ap_pass_brigade(f->next, bb);
    apr_brigade_cleanup(bb);
    return rv;
}

/* ---- registration ------------------------------------------------------------- */

static void ss_register_hooks(apr_pool_t *p)
{
    static const char *const after_session[] = { "mod_session.c", NULL };

    ap_hook_pre_config(ss_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(ss_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(ss_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(ss_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(ss_handler, after_session, NULL, APR_HOOK_MIDDLE);
    ap_register_output_filter(SS_FILTER, ss_filter, NULL, AP_FTYPE_RESOURCE);
}

module AP_MODULE_DECLARE_DATA shared_session_module = {
    STANDARD20_MODULE_STUFF,
    NULL,                       /* per-directory config: none */
    NULL,
    ss_create_server_conf,
    ss_merge_server_conf,
    ss_cmds,
    ss_register_hooks,
#if defined(AP_MODULE_FLAG_NONE)
    AP_MODULE_FLAG_NONE
#endif
};
