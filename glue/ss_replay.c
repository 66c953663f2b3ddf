/* The replay cache (docs/PROTOCOL.md, "One-time use"): a mod_socache provider, with the
 * global mutex when the provider is not multi-process safe.  Life cycle as
 * mod_authn_socache: create at configuration, init in post_config, destroy
 * in a pconf cleanup, mutex re-attached in child_init. */

#include "ss_glue.h"
#include "ss_bytes.h"
#include "apr_atomic.h"

#include <stdlib.h>
#include <unistd.h>

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
    /* shmcb's own default (512 KB, ~10,000 ids) is flushed in about a
     * second under load; the default here keeps ~80,000 ids */
    const char *args = sep ? sep + 1
        : ss_replay.spec ? NULL
        : apr_psprintf(ptemp, "%s(%d)", ap_runtime_dir_relative(ptemp, SS_DEFAULT_CACHE_FILE),
                       SS_DEFAULT_CACHE_SIZE);
    const char *err;

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
    return OK;
}

/* Ticket ids outlive a graceful restart.  httpd clears pconf and unloads
 * every DSO (the providers' and ours) on each restart, so neither a cache
 * instance nor a function pointer may be kept across it: the parent copies
 * the ids that are still valid into plain memory while the old cache is
 * still there, and stores them into the new cache.  Only in-process caches
 * (shmcb, dbm) need it; memcache and redis keep their ids themselves.
 * Old-generation children finishing their last requests during a graceful
 * restart still write to the old cache; the window is the time they take. */
typedef struct {
    unsigned char id[SS_NONCE_BYTES];
    apr_time_t expiry;
} ss_carried_id;

typedef struct {
    ss_carried_id *ids;         /* malloc'd: reused by every restart, never in a pool */
    apr_size_t n, cap;
    pid_t parent;
} ss_replay_carry;

#define SS_CARRY_KEY "mod_shared_session-replay-carry"

static apr_status_t ss_replay_collect(ap_socache_instance_t *instance, server_rec *s,
                                      void *userctx, const unsigned char *id,
                                      unsigned int idlen, const unsigned char *data,
                                      unsigned int datalen, apr_pool_t *pool)
{
    ss_replay_carry *carry = userctx;
    apr_uint64_t expiry;

    if (idlen != SS_NONCE_BYTES || datalen != 8) {
        return APR_SUCCESS;
    }
    if (carry->n == carry->cap) {
        apr_size_t cap = carry->cap ? carry->cap * 2 : 1024;
        ss_carried_id *ids = realloc(carry->ids, cap * sizeof(*ids));

        if (!ids) {
            return APR_ENOMEM;
        }
        carry->ids = ids;
        carry->cap = cap;
    }
    expiry = ss_be64_get(data);
    memcpy(carry->ids[carry->n].id, id, SS_NONCE_BYTES);
    carry->ids[carry->n].expiry = (apr_time_t)expiry;
    carry->n++;
    return APR_SUCCESS;
}

/* pconf cleanup, registered after the cache's own: runs before it. */
static apr_status_t ss_replay_save(void *data)
{
    server_rec *s = data;
    ss_replay_carry *carry = ap_retained_data_get(SS_CARRY_KEY);
    apr_pool_t *tmp;

    /* children run pconf's cleanups too when they exit */
    if (!carry || carry->parent != getpid() || !ss_replay.instance
        || !ss_replay.provider->iterate || apr_pool_create(&tmp, NULL) != APR_SUCCESS) {
        return APR_SUCCESS;
    }
    carry->n = 0;
    if (!ss_replay.mutex || apr_global_mutex_lock(ss_replay.mutex) == APR_SUCCESS) {
        ss_replay.provider->iterate(ss_replay.instance, s, carry, ss_replay_collect, tmp);
        if (ss_replay.mutex) {
            apr_global_mutex_unlock(ss_replay.mutex);
        }
    }
    apr_pool_destroy(tmp);
    return APR_SUCCESS;
}

/* Stores the ids carried over from the previous generation. */
static void ss_replay_restore(server_rec *s, apr_pool_t *ptemp, ss_replay_carry *carry)
{
    apr_time_t now = apr_time_now();
    apr_size_t i, kept = 0;

    for (i = 0; i < carry->n; i++) {
        unsigned char value[8];

        if (carry->ids[i].expiry <= now) {
            continue;
        }
        ss_be64_put(value, (uint64_t)carry->ids[i].expiry);
        if (ss_replay.provider->store(ss_replay.instance, s, carry->ids[i].id,
                                      SS_NONCE_BYTES, carry->ids[i].expiry, value,
                                      sizeof(value), ptemp) == APR_SUCCESS) {
            kept++;
        }
    }
    if (carry->n) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, SSLOGNO(00034)
                     "replay cache: %" APR_SIZE_T_FMT " ticket ids carried over the restart",
                     kept);
    }
    carry->n = 0;
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
    static struct ap_socache_hints hints = { SS_NONCE_BYTES, 8, SS_DEFAULT_TIMEOUT };
    ss_replay_carry *carry;
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

    carry = ap_retained_data_get(SS_CARRY_KEY);
    if (!carry) {
        carry = ap_retained_data_create(SS_CARRY_KEY, sizeof(*carry));
    }
    carry->parent = getpid();
    ss_replay_restore(s, ptemp, carry);
    apr_pool_cleanup_register(pconf, s, ss_replay_save, apr_pool_cleanup_null);
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

/* While the cache cannot be reached every ticket is refused; saying so once
 * per request would write an error line per ticket (tens of thousands a
 * second under load, next to the provider's own line).  One error line per
 * second and child says it, with the number of refusals it stands for; one
 * notice says when the cache answers again. */
static apr_uint32_t ss_cache_failing;       /* 1 from a failure to the next answer */
static apr_uint32_t ss_cache_logged_sec;    /* second of the last error line */
static apr_uint32_t ss_cache_unlogged;      /* refusals since that line */

static void ss_cache_failed(request_rec *r, apr_status_t rv, int store)
{
    const char *what = store ? "store" : "lookup";
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    apr_uint32_t last = apr_atomic_read32(&ss_cache_logged_sec);

    apr_atomic_set32(&ss_cache_failing, 1);
    if (last == now || apr_atomic_cas32(&ss_cache_logged_sec, now, last) != last) {
        apr_atomic_inc32(&ss_cache_unlogged);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r, SSLOGNO(01033)
                      "replay cache %s failed", what);
        return;
    }
    if (store) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, SSLOGNO(01032)
                      "replay cache store failed: refusing tickets until it answers "
                      "(%u more refused since the last such message in this process)",
                      apr_atomic_xchg32(&ss_cache_unlogged, 0));
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, SSLOGNO(01031)
                      "replay cache lookup failed: refusing tickets until it answers "
                      "(%u more refused since the last such message in this process)",
                      apr_atomic_xchg32(&ss_cache_unlogged, 0));
    }
}

static void ss_cache_answered(request_rec *r)
{
    if (apr_atomic_read32(&ss_cache_failing)
        && apr_atomic_cas32(&ss_cache_failing, 0, 1) == 1) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, SSLOGNO(01034)
                      "replay cache answers again: accepting tickets "
                      "(%u more refused since the last error message)",
                      apr_atomic_xchg32(&ss_cache_unlogged, 0));
    }
}

/* Records a ticket id once.  SS_OK the first time, replayed after, and
 * cache-unavailable when the cache cannot answer (fail closed).  Without an
 * atomic add-if-absent in socache, servers sharing memcache/redis keep a tiny
 * race window; the ticket timeout bounds it. */
ss_reason ss_replay_claim(request_rec *r, const ss_ticket *t, int timeout)
{
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
        ss_cache_failed(r, rv, 0);
        reason = SS_R_CACHE_UNAVAILABLE;
    }
    else {
        /* the value is the expiry, so that the ids can be carried over a restart */
        apr_time_t expiry = apr_time_from_sec(t->iat + timeout + SS_CLOCK_SKEW);
        unsigned char value[8];

        ss_be64_put(value, (uint64_t)expiry);
        rv = ss_replay.provider->store(ss_replay.instance, r->server, t->nonce,
                                      sizeof(t->nonce), expiry, value, sizeof(value),
                                      r->pool);
        if (rv != APR_SUCCESS) {
            ss_cache_failed(r, rv, 1);
            reason = SS_R_CACHE_UNAVAILABLE;
        }
    }
    if (ss_replay.mutex) {
        apr_global_mutex_unlock(ss_replay.mutex);
    }
    if (reason != SS_R_CACHE_UNAVAILABLE) {
        ss_cache_answered(r);
    }
    return reason;
}
