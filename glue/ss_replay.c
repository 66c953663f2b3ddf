/* The replay cache (SPEC.md section 8): a mod_socache provider, with the
 * global mutex when the provider is not multi-process safe.  Life cycle as
 * mod_authn_socache: create at configuration, init in post_config, destroy
 * in a pconf cleanup, mutex re-attached in child_init. */

#include "ss_glue.h"

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

/* Resolves SharedSessionReplayCache into a provider and an instance. */
int ss_replay_configure(apr_pool_t *pconf, apr_pool_t *ptemp)
{
    const char *spec = ss_replay.spec ? ss_replay.spec : SS_DEFAULT_CACHE;
    const char *directive = ss_replay.spec
        ? apr_psprintf(ptemp, "SharedSessionReplayCache '%s' (%s)", spec, ss_replay.where)
        : "SharedSessionReplayCache (default shmcb)";
    const char *sep = ap_strchr_c(spec, ':');
    const char *name = sep ? apr_pstrmemdup(ptemp, spec, sep - spec) : spec;
    const char *args = sep ? sep + 1 : NULL;
    const char *err;
    apr_status_t rv;

    if (!strcasecmp(spec, "none")) {
        ss_replay.none = 1;
        return OK;
    }
    ss_replay.provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                           AP_SOCACHE_PROVIDER_VERSION);
    if (!ss_replay.provider) {
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
    /* mod_socache_dbm: apr_dbm_fetch finds no value and the provider says
     * APR_EGENERAL; a DBM it cannot open is an errno, still refused. */
    ss_replay.egeneral_is_miss = !strcmp(name, "dbm");
    err = ss_replay.provider->create(&ss_replay.instance, args, ptemp, pconf);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL, SSLOGNO(00013)
                     "%s: %s", directive, err);
        return !OK;
    }
    (void)rv;
    return OK;
}

static apr_status_t ss_replay_cleanup(void *data)
{
    if (ss_replay.instance) {
        ss_replay.provider->destroy(ss_replay.instance, (server_rec *)data);
        ss_replay.instance = NULL;
    }
    return APR_SUCCESS;
}

int ss_replay_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *s)
{
    static struct ap_socache_hints hints = { 24, 1, SS_DEFAULT_TIMEOUT };
    apr_status_t rv;

    if (!ss_replay.provider) {
        return OK;
    }
    if (ss_replay.provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        rv = ap_global_mutex_create(&ss_replay.mutex, NULL, SS_MUTEX_TYPE, NULL,
                                    s, pconf, 0);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, SSLOGNO(00030)
                         "cannot create the replay cache mutex (Mutex %s)", SS_MUTEX_TYPE);
            return !OK;
        }
    }
    rv = ss_replay.provider->init(ss_replay.instance, SS_CACHE_ID, &hints, s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, SSLOGNO(00031)
                     "cannot initialise the replay cache (%s)",
                     ss_replay.spec ? ss_replay.spec : SS_DEFAULT_CACHE);
        return !OK;
    }
    apr_pool_cleanup_register(pconf, s, ss_replay_cleanup, apr_pool_cleanup_null);
    return OK;
}

void ss_replay_child_init(apr_pool_t *p, server_rec *s)
{
    apr_status_t rv;

    if (!ss_replay.mutex) {
        return;
    }
    rv = apr_global_mutex_child_init(&ss_replay.mutex,
                                     apr_global_mutex_lockfile(ss_replay.mutex), p);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, SSLOGNO(00032)
                     "cannot attach the replay cache mutex in a child");
    }
}

/* Records a ticket id once.  SS_OK the first time, replayed after, and
 * cache-unavailable when the cache cannot answer (fail closed).  Without an
 * atomic add-if-absent in socache, servers sharing memcache/redis keep a tiny
 * race window; the ticket timeout bounds it. */
ss_reason ss_replay_check(request_rec *r, const ss_ticket *t, int timeout)
{
    unsigned char flag[1] = { 1 };
    unsigned char buf[8];
    unsigned int len = sizeof(buf);
    apr_status_t rv;
    ss_reason reason = SS_OK;

    if (ss_replay.none || !ss_replay.provider) {
        return SS_OK;
    }
    if (ss_replay.mutex && (rv = apr_global_mutex_lock(ss_replay.mutex)) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, SSLOGNO(01030)
                      "cannot lock the replay cache mutex");
        return SS_R_CACHE_UNAVAILABLE;
    }
    rv = ss_replay.provider->retrieve(ss_replay.instance, r->server, t->nonce,
                                     sizeof(t->nonce), buf, &len, r->pool);
    if (rv == APR_SUCCESS) {
        reason = SS_R_REPLAYED;
    }
    else if (!APR_STATUS_IS_NOTFOUND(rv)
             && !(rv == APR_EGENERAL && ss_replay.egeneral_is_miss)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, SSLOGNO(01031)
                      "replay cache lookup failed: refusing tickets until it answers");
        reason = SS_R_CACHE_UNAVAILABLE;
    }
    else {
        apr_time_t expiry = apr_time_from_sec(t->iat + timeout + SS_CLOCK_SKEW);

        rv = ss_replay.provider->store(ss_replay.instance, r->server, t->nonce,
                                      sizeof(t->nonce), expiry, flag, sizeof(flag),
                                      r->pool);
        if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, SSLOGNO(01032)
                          "replay cache store failed: refusing tickets until it answers");
            reason = SS_R_CACHE_UNAVAILABLE;
        }
    }
    if (ss_replay.mutex) {
        apr_global_mutex_unlock(ss_replay.mutex);
    }
    return reason;
}

