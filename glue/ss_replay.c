/* The replay cache (docs/PROTOCOL.md, "One-time use"): each ticket id is
 * claimed once, in one atomic step.
 *
 * - memcache:servers, redis:servers: the module's own client
 *   (lib/ss_kvclient.c) adds the id only if it is absent, on the server
 *   (memcached "add", redis "SET NX PX"): atomic across every process and
 *   every server that shares the store.  mod_socache_memcache/redis are not
 *   used (their providers have no such call).
 * - any mod_socache provider (shmcb, dbm, ...): look-up and store under one
 *   global mutex, whatever the provider's flags say.
 *
 * Graceful restarts: old-generation children finish their requests while
 * the new generation already serves, so both must claim in the same cache
 * under the same mutex.  The provider's instance is therefore created once,
 * in memory that no restart clears, and kept (ap_retained_data) with the
 * mutex; every generation looks the provider's functions up again (its
 * module is unloaded and loaded again on each restart) and uses the kept
 * instance.  A changed SharedSessionReplayCache starts a new cache.
 *
 * shmcb drops the oldest ids of a full subcache, valid or not:
 * lib/ss_replay_floor.c refuses the tickets whose ids may have gone. */

#include "ss_glue.h"
#include "ss_bytes.h"
#include "apr_atomic.h"
#include "apr_shm.h"

#include <stdlib.h>

#define SS_KEPT_KEY "mod_shared_session-replay-cache"

/* shmcb sizes its index from these hints; an entry here is a 24-byte id
 * and an 8-byte value, plus the 24 bytes of shmcb's own index record:
 * with 32 as the object size its index fits the data (4 MB: 74,752 ids;
 * with the plain 8 it would be 32,768).  dbm expires every 30 s. */
static struct ap_socache_hints ss_hints = { SS_NONCE_BYTES, 32, 0 };
#define SS_VALUE_BYTES 8

/* What outlives a restart (ap_retained_data: in the process pool). */
typedef struct {
    char *spec;                     /* "provider:args" it was made for */
    apr_pool_t *pool;               /* unmanaged: no restart clears it */
    ap_socache_instance_t *instance;
    apr_global_mutex_t *mutex;
    ss_replay_floor *floor;
} ss_replay_kept;

/* The module that provides a socache provider in a stock httpd. */
static const char *ss_provider_module(const char *name)
{
    static const char *const known[] = { "shmcb", "dbm", "dc" };
    size_t i;

    for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (!strcmp(name, known[i])) {
            return known[i];
        }
    }
    return NULL;
}

/* The size in a shmcb argument "path(bytes)", or shmcb's own default. */
static apr_size_t ss_shmcb_size(const char *args)
{
    const char *open = args ? strrchr(args, '(') : NULL;

    return open ? (apr_size_t)apr_atoi64(open + 1) : 512 * 1024;
}

/* configtest: resolves SharedSessionReplayCache and checks its arguments
 * (nothing is created here: the cache is made once, in post_config). */
int ss_replay_configure(apr_pool_t *pconf, apr_pool_t *ptemp)
{
    const char *spec = ss_replay.spec ? ss_replay.spec : SS_DEFAULT_CACHE;
    const char *directive = ss_replay.spec
        ? apr_psprintf(ptemp, "SharedSessionReplayCache '%s' (%s)", spec, ss_replay.where)
        : "SharedSessionReplayCache (default shmcb)";
    const char *sep = ap_strchr_c(spec, ':');
    const char *name = sep ? apr_pstrmemdup(ptemp, spec, sep - spec) : spec;
    const char *args = sep ? sep + 1 : NULL;
    ap_socache_instance_t *dry;
    const char *err;

    if (!strcasecmp(spec, "none")) {
        ss_replay.none = 1;
        return OK;
    }
    if (ss_replay.kv) {
        return OK;      /* memcache:/redis: checked by the directive's setter */
    }
    /* "shmcb" alone is the default size too, not shmcb's own 512 KB */
    if (!strcmp(name, "shmcb") && !args) {
        args = apr_psprintf(pconf, "%s(%d)",
                            ap_runtime_dir_relative(ptemp, SS_DEFAULT_CACHE_FILE),
                            SS_DEFAULT_CACHE_SIZE);
    }
    ss_replay.provider_args = args;
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
                         "memcache and redis need no provider; or 'none')",
                         directive, name, loaded);
        }
        return !OK;
    }
    /* mod_socache_dbm: apr_dbm_fetch finds no value and the provider says
     * APR_EGENERAL; a DBM it cannot open is an errno, still refused. */
    ss_replay.egeneral_is_miss = !strcmp(name, "dbm");
    /* the provider checks its arguments; this instance is thrown away */
    err = ss_replay.provider->create(&dry, args, ptemp, ptemp);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL, SSLOGNO(00013)
                     "%s: %s", directive, err);
        return !OK;
    }
    if (!strcmp(name, "shmcb")) {
        ss_shmcb_layout layout;

        if (ss_replay_floor_layout(ss_shmcb_size(args), ss_hints.avg_id_len,
                                   ss_hints.avg_obj_size, SS_NONCE_BYTES, SS_VALUE_BYTES,
                                   &layout) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL, SSLOGNO(00061)
                         "%s: too small for a replay cache",
                         directive);
            return !OK;
        }
    }
    return OK;
}

/* Checks that the cache keeps what the floor assumes: capacity ids in a
 * subcache, and no other subcache's ids in it.  Fills subcache 0, puts one
 * id in every other, checks that the first id of subcache 0 is still there;
 * removes them all (shmcb reclaims removed entries on its next store). */
static int ss_replay_floor_check(server_rec *s, apr_pool_t *ptemp,
                                 const ss_shmcb_layout *layout)
{
    const ap_socache_provider_t *pv = ss_replay.provider;
    ap_socache_instance_t *inst = ss_replay.instance;
    apr_time_t expiry = apr_time_now() + apr_time_from_sec(60);
    unsigned char id[SS_NONCE_BYTES], value[SS_VALUE_BYTES] = { 0 }, out[SS_VALUE_BYTES];
    unsigned int i, len, stored = 0;
    int ok = 1;

    memset(id, 0xa5, sizeof(id));
    for (i = 0; ok && i < layout->capacity + layout->subcaches - 1; i++) {
        id[0] = i < layout->capacity ? 0 : (unsigned char)(i - layout->capacity + 1);
        ss_be64_put(id + 1, i);
        ok = pv->store(inst, s, id, sizeof(id), expiry, value, sizeof(value),
                       ptemp) == APR_SUCCESS;
        stored += ok;
        if (ok && i + 1 >= layout->capacity) {
            id[0] = 0;
            ss_be64_put(id + 1, 0);
            len = sizeof(out);
            ok = pv->retrieve(inst, s, id, sizeof(id), out, &len, ptemp) == APR_SUCCESS;
        }
    }
    for (i = 0; i < stored; i++) {
        id[0] = i < layout->capacity ? 0 : (unsigned char)(i - layout->capacity + 1);
        ss_be64_put(id + 1, i);
        pv->remove(inst, s, id, sizeof(id), ptemp);
    }
    return ok;
}

/* A new cache: instance, mutex and (shmcb) floor in memory of their own. */
static int ss_replay_create(server_rec *s, apr_pool_t *ptemp, ss_replay_kept *kept,
                            const char *spec)
{
    apr_pool_t *pool, *mutex_pool;
    const char *err;
    apr_status_t rv;

    rv = apr_pool_create_unmanaged_ex(&pool, NULL, NULL);
    if (rv == APR_SUCCESS) {
        /* the mutex's cleanups are APR's own: it goes when the server stops */
        rv = apr_pool_create(&mutex_pool, s->process->pool);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, SSLOGNO(00062)
                     "replay cache: out of memory");
        return !OK;
    }
    err = ss_replay.provider->create(&ss_replay.instance, ss_replay.provider_args,
                                     ptemp, pool);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, SSLOGNO(00068)
                     "SharedSessionReplayCache '%s': %s", spec, err);
        return !OK;
    }
    rv = ss_replay.provider->init(ss_replay.instance, SS_CACHE_ID, &ss_hints, s, pool);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, SSLOGNO(00031)
                     "cannot initialise the replay cache (%s)", spec);
        return !OK;
    }
    rv = ap_global_mutex_create(&ss_replay.mutex, NULL, SS_MUTEX_TYPE, NULL, s,
                                mutex_pool, 0);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, SSLOGNO(00030)
                     "cannot create the replay cache mutex (Mutex %s)", SS_MUTEX_TYPE);
        return !OK;
    }
    ss_replay.floor = NULL;
    if (!strcmp(ss_replay.provider->name, "shmcb")) {
        ss_shmcb_layout layout;
        apr_shm_t *shm;

        if (ss_replay_floor_layout(ss_shmcb_size(ss_replay.provider_args),
                                   ss_hints.avg_id_len, ss_hints.avg_obj_size,
                                   SS_NONCE_BYTES, SS_VALUE_BYTES, &layout) != APR_SUCCESS
            || (rv = apr_shm_create(&shm, ss_replay_floor_size(&layout), NULL,
                                    pool)) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, SSLOGNO(00063)
                         "replay cache: cannot set up the record of pushed-out ids");
            return !OK;
        }
        if (!ss_replay_floor_check(s, ptemp, &layout)) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, SSLOGNO(00064)
                         "replay cache '%s': mod_socache_shmcb does not keep ids as "
                         "this module expects (%u subcaches of %u ids): a full cache "
                         "could accept a ticket twice; use SharedSessionReplayCache "
                         "dbm:, memcache: or redis:", spec, layout.subcaches,
                         layout.capacity);
            return !OK;
        }
        ss_replay.floor = ss_replay_floor_init(apr_shm_baseaddr_get(shm), &layout);
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, SSLOGNO(00065)
                     "replay cache '%s': %u ticket ids (%u subcaches of %u)",
                     spec, layout.subcaches * layout.capacity, layout.subcaches,
                     layout.capacity);
    }
    if (kept->instance) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, SSLOGNO(00066)
                     "SharedSessionReplayCache changed from '%s' to '%s': a new "
                     "replay cache (the previous one is freed when the server stops)",
                     kept->spec, spec);
    }
    free(kept->spec);
    kept->spec = strdup(spec);
    kept->pool = pool;
    kept->instance = ss_replay.instance;
    kept->mutex = ss_replay.mutex;
    kept->floor = ss_replay.floor;
    return kept->spec ? OK : !OK;
}

int ss_replay_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *s)
{
    ss_replay_kept *kept;
    const char *spec;

    /* the first pass at start-up only reads the configuration */
    if (!ss_replay.provider || ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    spec = apr_pstrcat(ptemp, ss_replay.provider->name ? ss_replay.provider->name : "?",
                       ":", ss_replay.provider_args ? ss_replay.provider_args : "", NULL);
    kept = ap_retained_data_get(SS_KEPT_KEY);
    if (!kept) {
        kept = ap_retained_data_create(SS_KEPT_KEY, sizeof(*kept));
    }
    if (kept->instance && !strcmp(kept->spec, spec)) {
        ss_replay.instance = kept->instance;
        ss_replay.mutex = kept->mutex;
        ss_replay.floor = kept->floor;
        return OK;
    }
    return ss_replay_create(s, ptemp, kept, spec);
}

void ss_replay_child_init(apr_pool_t *p, server_rec *s)
{
    apr_status_t rv;

    if (ss_replay.kv && (rv = ss_kv_client_child_init(ss_replay.kv, p)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, SSLOGNO(00067)
                     "replay cache: cannot set up the client in a child");
    }
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

/* what: "lookup", "store", or the client's message (memcache/redis). */
static void ss_cache_failed(request_rec *r, apr_status_t rv, const char *what)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    apr_uint32_t last = apr_atomic_read32(&ss_cache_logged_sec);

    apr_atomic_set32(&ss_cache_failing, 1);
    ss_count(SS_COUNT_REPLAY_ERRORS);
    if (last == now || apr_atomic_cas32(&ss_cache_logged_sec, now, last) != last) {
        apr_atomic_inc32(&ss_cache_unlogged);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r, SSLOGNO(01033)
                      "replay cache failed: %s", what);
        return;
    }
    if (ss_replay.kv) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, SSLOGNO(01040)
                      "replay cache %s: %s: refusing tickets until it answers "
                      "(%u more refused since the last such message in this process)",
                      ss_replay.spec, what, apr_atomic_xchg32(&ss_cache_unlogged, 0));
    }
    else if (!strcmp(what, "store")) {
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

/* A ticket whose id may have been pushed out of a full shmcb cache: one
 * warning a minute per child says the cache is too small for the rate. */
static apr_uint32_t ss_floor_logged_min;

static void ss_floor_refused(request_rec *r, const ss_ticket *t)
{
    apr_uint32_t now = (apr_uint32_t)(apr_time_sec(apr_time_now()) / 60);
    apr_uint32_t last = apr_atomic_read32(&ss_floor_logged_min);

    if (last != now && apr_atomic_cas32(&ss_floor_logged_min, now, last) == last) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, SSLOGNO(01041)
                      "replay cache full: ids of tickets still valid were pushed out "
                      "by newer ones, so a ticket minted %" APR_INT64_T_FMT " s ago is "
                      "refused (cache-unavailable); give the cache more room "
                      "(SharedSessionReplayCache shmcb:path(bytes))",
                      (apr_int64_t)apr_time_sec(apr_time_now()) - (apr_int64_t)t->iat);
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, SSLOGNO(01042)
                      "replay cache full: ticket older than the ids pushed out, refused");
    }
}

/* Claims a ticket id, in one atomic step.  SS_OK the first time, replayed
 * after, and cache-unavailable when the cache cannot answer (fail closed)
 * or a full shmcb cache may have lost the id. */
ss_reason ss_replay_claim(request_rec *r, const ss_ticket *t, int timeout)
{
    apr_time_t expiry = apr_time_from_sec(t->iat + timeout + SS_CLOCK_SKEW);
    unsigned char buf[SS_VALUE_BYTES];
    unsigned int len = sizeof(buf);
    apr_status_t rv;
    ss_reason reason = SS_OK;

    if (ss_replay.none || (!ss_replay.provider && !ss_replay.kv)) {
        return SS_OK;
    }
    if (ss_replay.kv) {
        const char *err;
        ss_kv_result res = ss_kv_claim(ss_replay.kv, t->nonce,
                                       apr_time_as_msec(expiry - apr_time_now()),
                                       r->pool, &err);

        if (res == SS_KV_ERROR) {
            ss_cache_failed(r, APR_EGENERAL, err);
            return SS_R_CACHE_UNAVAILABLE;
        }
        ss_cache_answered(r);
        return res == SS_KV_CLAIMED ? SS_OK : SS_R_REPLAYED;
    }
    if ((rv = apr_global_mutex_lock(ss_replay.mutex)) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, SSLOGNO(01030)
                      "cannot lock the replay cache mutex");
        ss_count(SS_COUNT_REPLAY_ERRORS);
        return SS_R_CACHE_UNAVAILABLE;
    }
    rv = ss_replay.provider->retrieve(ss_replay.instance, r->server, t->nonce,
                                     sizeof(t->nonce), buf, &len, r->pool);
    if (rv == APR_SUCCESS) {
        reason = SS_R_REPLAYED;
    }
    else if (!APR_STATUS_IS_NOTFOUND(rv)
             && !(rv == APR_EGENERAL && ss_replay.egeneral_is_miss)) {
        ss_cache_failed(r, rv, "lookup");
        reason = SS_R_CACHE_UNAVAILABLE;
    }
    else if (ss_replay.floor && !ss_replay_floor_admits(ss_replay.floor, t->nonce, t->iat)) {
        ss_floor_refused(r, t);
        reason = SS_R_CACHE_UNAVAILABLE;
    }
    else {
        unsigned char value[SS_VALUE_BYTES];

        ss_be64_put(value, (uint64_t)expiry);
        rv = ss_replay.provider->store(ss_replay.instance, r->server, t->nonce,
                                      sizeof(t->nonce), expiry, value, sizeof(value),
                                      r->pool);
        if (rv != APR_SUCCESS) {
            ss_cache_failed(r, rv, "store");
            reason = SS_R_CACHE_UNAVAILABLE;
        }
        else if (ss_replay.floor) {
            ss_replay_floor_stored(ss_replay.floor, t->nonce, t->iat);
        }
    }
    apr_global_mutex_unlock(ss_replay.mutex);
    if (reason == SS_R_REPLAYED || reason == SS_OK) {
        ss_cache_answered(r);
    }
    return reason;
}
