/* mod_shared_session — one login and one session across several domains.
 *
 * Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * The module record, configuration (directives, merge, the checks of
 * configtest) and what the handler and the filter share.  The replay cache
 * is glue/ss_replay.c, the handler glue/ss_handler.c, the filter
 * glue/ss_filter.c.  The protocol is docs/PROTOCOL.md; the directives are
 * README.md's "Directive reference".
 */

#include "ss_glue.h"
#include <sodium.h>

APR_IMPLEMENT_OPTIONAL_HOOK_RUN_ALL(shared_session, SHARED_SESSION, int, replaced,
                                    (request_rec *r, const char *src,
                                     const char *dst, int was_empty),
                                    (r, src, dst, was_empty), OK, DECLINED)

/* ---- configuration -------------------------------------------------------- */

APR_OPTIONAL_FN_TYPE(ap_session_load) *ss_session_load_fn;
APR_OPTIONAL_FN_TYPE(ap_session_save) *ss_session_save_fn;
ss_replay_conf ss_replay;

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
    conf->replace = SS_REPLACE_NEWER;
    conf->resend = SS_DEFAULT_RESEND;
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
    SS_MERGE(replace);
    SS_MERGE(check_referer);
    SS_MERGE(path);
    SS_MERGE(accept_unbound);
    SS_MERGE(resend);
    SS_MERGE(local);
    ss_merge_cookies(conf, base, add);
    return conf;
}

ss_server_conf *ss_conf(server_rec *s)
{
    return ap_get_module_config(s->module_config, &shared_session_module);
}

static const char *ss_set_sites(cmd_parms *cmd, void *dummy, const char *arg)
{
    ss_server_conf *conf = ss_conf(cmd->server);
    ss_site site;
    const char *err;
    int i;

    ss_replay.directives_seen = 1;
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

    ss_replay.directives_seen = 1;
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
    if (loose & SS_KEYFILE_READABLE) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, NULL, SSLOGNO(00001)
                     "SharedSessionKeyFile: '%s' is readable by group or others; "
                     "make it readable by root only (chmod 600)", path);
    }
    if (loose & SS_KEYFILE_WRITABLE) {
        /* whoever may write it may swap in a key of their own */
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, NULL, SSLOGNO(00040)
                     "SharedSessionKeyFile: '%s' is writable by group or others; "
                     "make it writable by root only (chmod 600)", path);
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

    ss_replay.directives_seen = 1;
    v = apr_strtoi64(arg, &end, 10);
    if (!*arg || *end || v < SS_TIMEOUT_MIN || v > SS_TIMEOUT_MAX) {
        return apr_psprintf(cmd->pool, "SharedSessionTimeout: '%s' is out of range: "
                            "give whole seconds from %d to %d", arg, SS_TIMEOUT_MIN,
                            SS_TIMEOUT_MAX);
    }
    conf->timeout = (int)v;
    conf->timeout_set = 1;
    return NULL;
}

static const char *ss_set_always_replace(cmd_parms *cmd, void *dummy, int flag)
{
    ss_server_conf *conf = ss_conf(cmd->server);

    ss_replay.directives_seen = 1;
    conf->replace = flag ? SS_REPLACE_ALWAYS : SS_REPLACE_EMPTY;
    conf->replace_set = 1;
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, NULL, SSLOGNO(00100)
                 "%s: SharedSessionAlwaysReplace is deprecated; it means "
                 "SharedSessionReplace %s (the default, newer, lets the newest session "
                 "win and keeps a logout)", ss_where(cmd), flag ? "always" : "empty");
    return NULL;
}

static const char *ss_set_replace(cmd_parms *cmd, void *dummy, const char *arg)
{
    ss_server_conf *conf = ss_conf(cmd->server);

    ss_replay.directives_seen = 1;
    if (!strcasecmp(arg, "newer")) {
        conf->replace = SS_REPLACE_NEWER;
    }
    else if (!strcasecmp(arg, "empty")) {
        conf->replace = SS_REPLACE_EMPTY;
    }
    else if (!strcasecmp(arg, "always")) {
        conf->replace = SS_REPLACE_ALWAYS;
    }
    else {
        return apr_psprintf(cmd->pool, "SharedSessionReplace: '%s' is not one of "
                            "newer, empty, always", arg);
    }
    conf->replace_set = 1;
    return NULL;
}

static const char *ss_set_resend(cmd_parms *cmd, void *dummy, const char *arg)
{
    ss_server_conf *conf = ss_conf(cmd->server);
    char *end;
    apr_int64_t v;

    ss_replay.directives_seen = 1;
    v = apr_strtoi64(arg, &end, 10);
    if (!*arg || *end || v < 0 || v > SS_RESEND_MAX) {
        return apr_psprintf(cmd->pool, "SharedSessionResend: '%s' is out of range: "
                            "give whole seconds from 0 (a loader on every page) to %d",
                            arg, SS_RESEND_MAX);
    }
    conf->resend = (int)v;
    conf->resend_set = 1;
    return NULL;
}

static const char *ss_set_local(cmd_parms *cmd, void *dummy, const char *arg)
{
    ss_server_conf *conf = ss_conf(cmd->server);

    ss_replay.directives_seen = 1;
    if (!*arg || !strcmp(arg, SS_SESSION_RESERVED_KEY) || !strcmp(arg, SS_GEN_ENTRY)) {
        return apr_psprintf(cmd->pool, "SharedSessionLocal: '%s' cannot be a local "
                            "entry (%s)", arg, !*arg ? "an empty name"
                            : "the module keeps it itself");
    }
    if (!conf->local_set) {
        /* a virtual host's own list replaces the inherited one */
        conf->local = apr_array_make(cmd->pool, 4, sizeof(const char *));
        conf->local_set = 1;
    }
    APR_ARRAY_PUSH(conf->local, const char *) = arg;
    return NULL;
}

static const char *ss_set_check_referer(cmd_parms *cmd, void *dummy, int flag)
{
    ss_server_conf *conf = ss_conf(cmd->server);

    ss_replay.directives_seen = 1;
    conf->check_referer = flag;
    conf->check_referer_set = 1;
    return NULL;
}

static const char *ss_set_path(cmd_parms *cmd, void *dummy, const char *arg)
{
    ss_server_conf *conf = ss_conf(cmd->server);
    size_t len = strlen(arg);
    const char *c;

    ss_replay.directives_seen = 1;
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

static const char *ss_set_accept_unbound(cmd_parms *cmd, void *dummy, int flag)
{
    ss_server_conf *conf = ss_conf(cmd->server);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err) {
        return err;
    }
    ss_replay.directives_seen = 1;
    conf->accept_unbound = flag;
    conf->accept_unbound_set = 1;
    return NULL;
}

static const char *ss_set_replay_cache(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err) {
        return err;
    }
    ss_replay.directives_seen = 1;
    ss_replay.spec = arg;
    ss_replay.where = ss_where(cmd);
    /* memcache and redis are spoken to by the module itself (atomic add) */
    if (!strncmp(arg, "memcache:", 9) || !strncmp(arg, "redis:", 6)
        || !strcmp(arg, "memcache") || !strcmp(arg, "redis")) {
        const char *list = ap_strchr_c(arg, ':');

        if (ss_kv_client_parse(&ss_replay.kv, cmd->pool,
                               *arg == 'm' ? SS_KV_MEMCACHE : SS_KV_REDIS,
                               list ? list + 1 : NULL, &err) != APR_SUCCESS) {
            return apr_pstrcat(cmd->pool, "SharedSessionReplayCache: ", err, NULL);
        }
    }
    return NULL;
}

/* ---- per-directory configuration: SharedSessionPull ------------------------ */

static void *ss_create_dir_conf(apr_pool_t *p, char *dir)
{
    ss_dir_conf *dconf = apr_palloc(p, sizeof(*dconf));

    dconf->pull = -1;
    return dconf;
}

static void *ss_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    const ss_dir_conf *base = basev, *add = addv;
    ss_dir_conf *dconf = apr_palloc(p, sizeof(*dconf));

    dconf->pull = add->pull != -1 ? add->pull : base->pull;
    return dconf;
}

static const char *ss_set_pull(cmd_parms *cmd, void *dconfv, int flag)
{
    ss_dir_conf *dconf = dconfv;

    ss_replay.directives_seen = 1;
    dconf->pull = flag;
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
                 "Deprecated: On means SharedSessionReplace always, Off means empty"),
    AP_INIT_TAKE1("SharedSessionPath", ss_set_path, NULL, RSRC_CONF,
                  "URL path where SetHandler shared-session is mounted (default /shared-session/)"),
    AP_INIT_FLAG("SharedSessionCheckReferer", ss_set_check_referer, NULL, RSRC_CONF,
                 "On: a ticket must come with a Referer or Origin of its source site (default On)"),
    AP_INIT_FLAG("SharedSessionAcceptUnbound", ss_set_accept_unbound, NULL, RSRC_CONF,
                 "On: accept navigation tickets not bound to the browser, during an "
                 "upgrade of the sites (default Off)"),
    AP_INIT_TAKE1("SharedSessionReplace", ss_set_replace, NULL, RSRC_CONF,
                  "When a ticket replaces this site's session: newer (default), empty, always"),
    AP_INIT_TAKE1("SharedSessionResend", ss_set_resend, NULL, RSRC_CONF,
                  "Seconds a site remembers the session it sent; 0 sends the loader on "
                  "every page (0-86400, default 600)"),
    AP_INIT_ITERATE("SharedSessionLocal", ss_set_local, NULL, RSRC_CONF,
                    "Session entries that stay on this site: neither sent nor replaced"),
    AP_INIT_TAKE1("SharedSessionReplayCache", ss_set_replay_cache, NULL, RSRC_CONF,
                  "shmcb, dbm:path, memcache:servers, redis:servers or another mod_socache provider for one-time tickets, or none (default shmcb)"),
    AP_INIT_FLAG("SharedSessionPull", ss_set_pull, NULL, RSRC_CONF | ACCESS_CONF,
                 "Off: a visitor arriving here from another site is not sent through "
                 "start first (default On)"),
    AP_INIT_TAKE12("SharedSessionCookie", ss_set_cookie, NULL, RSRC_CONF,
                   "An application's session cookie to share instead of mod_session's "
                   "session: name [attributes] (repeatable)"),
    { NULL }
};

/* ---- start-up checks ----------------------------------------------------------- */

static int ss_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    apr_status_t rv;

    /* configuration is read anew on every restart */
    memset(&ss_replay, 0, sizeof(ss_replay));
    if (sodium_init() < 0) {
        ap_log_perror(APLOG_MARK, APLOG_CRIT, 0, plog, SSLOGNO(00014)
                      "libsodium cannot be initialised");
        return !OK;
    }
    ss_generation_hooks();
    rv = ap_mutex_register(pconf, SS_MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0);
    if (rv != APR_SUCCESS) {
        ap_log_perror(APLOG_MARK, APLOG_CRIT, rv, plog, SSLOGNO(00010)
                      "cannot register the %s mutex type", SS_MUTEX_TYPE);
        return !OK;
    }
    return OK;
}

/* The fixed part of every loader tag, once per start instead of per page.
 * Start-up work, not a check: post_config (never run by "apache2 -t"); the
 * first of its two runs at start-up reads a configuration that is thrown
 * away, so the work is done on the second. */
static int ss_prepare_loader_heads(apr_pool_t *pconf, apr_pool_t *plog,
                                   apr_pool_t *ptemp, server_rec *s)
{
    server_rec *vs;

    if (!ss_replay.directives_seen
        || ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    for (vs = s; vs; vs = vs->next) {
        ss_server_conf *conf = ss_conf(vs);
        int i, n = conf->sites->nelts;

        conf->loader_heads = apr_palloc(pconf, (apr_size_t)n * sizeof(*conf->loader_heads) + 1);
        conf->loader_head_lens = apr_palloc(pconf, (apr_size_t)n * sizeof(apr_size_t) + 1);
        for (i = 0; i < n; i++) {
            const ss_site *site = &APR_ARRAY_IDX(conf->sites, i, ss_site);

            conf->loader_heads[i] = apr_pstrcat(pconf, SS_LOADER_HEAD,
                                                ss_site_origin(pconf, site), conf->path, NULL);
            conf->loader_head_lens[i] = strlen(conf->loader_heads[i]);
        }
    }
    return OK;
}

static int ss_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                           server_rec *s)
{
    int needs_cache = 0;
    server_rec *vs;
    /* MSS00023 once per directive: virtual hosts without their own list
     * inherit the main server's (same list, same line), and the first real
     * pass at start-up (generation 1) repeats the pre-flight pass */
    apr_hash_t *warned = apr_hash_make(ptemp);
    int repeated_pass = ap_state_query(AP_SQ_CONFIG_GEN) == 1;

    ss_check_sites(ptemp, s);
    if (!ss_replay.directives_seen) {
        return OK;
    }
    ss_session_load_fn = APR_RETRIEVE_OPTIONAL_FN(ap_session_load);
    ss_session_save_fn = APR_RETRIEVE_OPTIONAL_FN(ap_session_save);
    /* a site in cookie mode (SharedSessionCookie) needs no mod_session */
    if ((!ss_session_load_fn || !ss_session_save_fn) && !ss_cookie_mode_everywhere(s)) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL, SSLOGNO(00020)
                     "SharedSession* directives need mod_session and a store: on "
                     "Debian 'a2enmod session session_cookie' (or session_dbd); "
                     "elsewhere the LoadModule lines of mod_session and "
                     "mod_session_cookie (or mod_session_dbd)");
        return !OK;
    }
    for (vs = s; vs; vs = vs->next) {
        ss_server_conf *conf = ss_conf(vs);
        const char *name = vs->is_virtual
            ? apr_psprintf(ptemp, "<VirtualHost> %s (%s:%u)",
                           vs->server_hostname ? vs->server_hostname : "",
                           vs->defn_name ? vs->defn_name : "?", vs->defn_line_number)
            : "the main server";
        int nsites = conf->sites->nelts;
        int nkeys = conf->keys ? conf->keys->nkeys : 0;

        if (nsites && !nkeys) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL, SSLOGNO(00021)
                         "SharedSessionSites (%s) is set for %s but no "
                         "SharedSessionKeyFile: add one (shared-session-tool keygen)",
                         conf->sites_where, name);
            return !OK;
        }
        if (nkeys && !nsites) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL, SSLOGNO(00022)
                         "SharedSessionKeyFile (%s) is set for %s but no "
                         "SharedSessionSites: list the sites that share sessions",
                         conf->key_where, name);
            return !OK;
        }
        if (nsites == 1 && !repeated_pass
            && !apr_hash_get(warned, conf->sites_where, APR_HASH_KEY_STRING)) {
            apr_hash_set(warned, conf->sites_where, APR_HASH_KEY_STRING, "");
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, NULL, SSLOGNO(00023)
                         "SharedSessionSites (%s) lists one site only: there is no "
                         "other site to share sessions with", conf->sites_where);
        }
        needs_cache |= nsites > 0;
    }
    if (ss_cookie_check_config(ptemp, s) != OK) {
        return !OK;
    }
    if (ss_conf(s)->accept_unbound) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, NULL, SSLOGNO(00070)
                     "SharedSessionAcceptUnbound On: navigation tickets that are not bound "
                     "to the browser are accepted (login CSRF); turn it Off once every "
                     "site sends bound tickets");
    }
    if (needs_cache) {
        return ss_replay_configure(pconf, ptemp);
    }
    return OK;
}

/* ---- shared by the handler and the filter ----------------------------------- */

/* The SharedSessionSites entry whose own host this request is for, the
 * only one the module acts for (docs/PROTOCOL.md, "Sites and site ids").  A request to a
 * subdomain of an entry gets NULL; ss_request_site_within names that entry
 * for log lines. */
const ss_site *ss_request_site(request_rec *r, const ss_server_conf *conf)
{
    const ss_site *site;
    int exact = 0;

    if (!r->hostname || !conf->sites->nelts) {
        return NULL;
    }
    site = ss_sites_match((const ss_site *)conf->sites->elts, conf->sites->nelts,
                          r->hostname, ap_get_server_port(r), &exact);
    return exact ? site : NULL;
}

const ss_site *ss_request_site_within(request_rec *r, const ss_server_conf *conf)
{
    if (!r->hostname || !conf->sites->nelts) {
        return NULL;
    }
    return ss_sites_match((const ss_site *)conf->sites->elts, conf->sites->nelts,
                          r->hostname, ap_get_server_port(r), NULL);
}

const ss_site *ss_site_by_id(const ss_server_conf *conf, const char *id)
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

/* Empty as lib/ss_session_codec.h defines it: no entry that a ticket
 * would carry. */
int ss_session_is_empty(const ss_server_conf *conf, const session_rec *z)
{
    return ss_session_entries_empty_except(z->entries, conf->local);
}

/* mod_session's session, or NULL when mod_session is not on here. */
session_rec *ss_load_session(request_rec *r)
{
    session_rec *z = ss_session_decoded(r);

    /* mod_session loaded it for this request already (its fixups do, on
     * every request where it is on): no second round through its hooks */
    if (z) {
        return z;
    }
    if (!ss_session_load_fn || ss_session_load_fn(r, &z) != APR_SUCCESS) {
        return NULL;
    }
    return z;
}

/* ---- registration ------------------------------------------------------------- */

static void ss_register_hooks(apr_pool_t *p)
{
    static const char *const after_session[] = { "mod_session.c", NULL };
    static const char *const before_forensic[] = { "mod_log_forensic.c", NULL };
    static const char *const after_headers[] = { "mod_headers.c", NULL };

    ap_hook_pre_config(ss_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(ss_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(ss_replay_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(ss_prepare_loader_heads, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(ss_replay_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_translate_name(ss_translate_name, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_map_to_storage(ss_map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_log_transaction(ss_log_redact, NULL, NULL, APR_HOOK_REALLY_FIRST);
    /* before mod_log_forensic writes the request line */
    ap_hook_post_read_request(ss_post_read_redact, NULL, before_forensic,
                              APR_HOOK_REALLY_FIRST);
    ap_hook_handler(ss_handler, after_session, NULL, APR_HOOK_MIDDLE);
    /* after the location walk, before access checks and handlers */
    ap_hook_header_parser(ss_pull_header_parser, NULL, NULL, APR_HOOK_FIRST);
    ap_register_output_filter(SS_FILTER, ss_filter, NULL, AP_FTYPE_RESOURCE);
    /* after mod_headers' FIXUP_HEADERS_OUT: see glue/ss_filter.c */
    ap_register_output_filter(SS_LATE_FILTER, ss_late_filter, NULL, AP_FTYPE_CONTENT_SET);
    /* after mod_headers' own: the filter it adds runs before ours */
    ap_hook_insert_error_filter(ss_late_insert_error_filter, after_headers, NULL,
                                APR_HOOK_LAST);
    ss_admin_register_hooks(p);
    ss_cookie_register_hooks(p);
}

module AP_MODULE_DECLARE_DATA shared_session_module = {
    STANDARD20_MODULE_STUFF,
    ss_create_dir_conf,         /* per-directory config: SharedSessionPull */
    ss_merge_dir_conf,
    ss_create_server_conf,
    ss_merge_server_conf,
    ss_cmds,
    ss_register_hooks,
#if defined(AP_MODULE_FLAG_NONE)
    AP_MODULE_FLAG_NONE
#endif
};
