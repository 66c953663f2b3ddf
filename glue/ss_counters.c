/* Counters an operator reads on mod_status's page (and its ?auto form):
 * tickets by outcome and by reason, loaders inserted, go/start/pull
 * redirects, replay cache errors.
 *
 * One anonymous shared-memory segment, made by the parent in post_config
 * and inherited by every child; children add with apr_atomic, nobody
 * locks.  The segment hangs off ap_retained_data, so it outlives restarts
 * (graceful or not) for as long as the parent runs: the counters run from
 * the parent's start ("SharedSessionCountersSince").  A module built with
 * another layout gets a fresh segment. */

#include "ss_glue.h"
#include "ss_diag.h"
#include "apr_atomic.h"
#include "apr_shm.h"
#include "mod_status.h"

#define SS_COUNTERS_KEY      "mod_shared_session-counters"
#define SS_REASON_SLOTS      32     /* room for reasons added later */
#define SS_OUTCOMES          3      /* replaced, kept, rejected */

typedef struct {
    apr_uint32_t layout;                        /* SS_COUNTERS_LAYOUT */
    apr_uint32_t unused;
    apr_time_t since;
    volatile apr_uint64_t counts[SS_COUNT_MAX];
    volatile apr_uint64_t outcomes[SS_OUTCOMES];
    volatile apr_uint64_t reasons[SS_REASON_SLOTS];
} ss_counter_block;

#define SS_COUNTERS_LAYOUT \
    ((apr_uint32_t)(0x53530000u | (SS_COUNT_MAX << 8) | SS_REASON_SLOTS))

typedef struct {
    apr_shm_t *shm;             /* in the process pool: lives as long as the parent */
    ss_counter_block *block;
} ss_counters_retained;

static ss_counter_block *ss_counters;           /* NULL: not counting */

static const char *const ss_outcome_names[SS_OUTCOMES] = { "replaced", "kept", "rejected" };

/* Labels of ss_counter, for the status page and its ?auto keys. */
static const struct {
    const char *key;
    const char *label;
} ss_counter_labels[SS_COUNT_MAX] = {
    { "LoadersInserted", "pages given the loader" },
    { "GoRedirects", "go redirects" },
    { "StartRedirects", "start redirects" },
    { "PullRedirects", "pull redirects" },
    { "ReplayCacheErrors", "replay cache errors" },
};

void ss_count(ss_counter which)
{
    if (ss_counters && (unsigned)which < SS_COUNT_MAX) {
        apr_atomic_inc64(&ss_counters->counts[which]);
    }
}

void ss_count_ticket(const char *result, ss_reason reason)
{
    int i;

    if (!ss_counters || !result) {
        return;
    }
    for (i = 0; i < SS_OUTCOMES; i++) {
        if (!strcmp(result, ss_outcome_names[i])) {
            apr_atomic_inc64(&ss_counters->outcomes[i]);
            break;
        }
    }
    if (reason != SS_OK && (unsigned)reason < SS_REASON_SLOTS) {
        apr_atomic_inc64(&ss_counters->reasons[reason]);
    }
}

static int ss_counters_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                                   server_rec *s)
{
    ss_counters_retained *kept;
    apr_status_t rv;

    ss_counters = NULL;
    if (!ss_replay.directives_seen) {
        return OK;
    }
    kept = ap_retained_data_get(SS_COUNTERS_KEY);
    if (!kept) {
        kept = ap_retained_data_create(SS_COUNTERS_KEY, sizeof(*kept));
    }
    if (kept->block && kept->block->layout != SS_COUNTERS_LAYOUT) {
        /* children of the old generation keep their own mapping */
        apr_shm_destroy(kept->shm);
        kept->shm = NULL;
        kept->block = NULL;
    }
    if (!kept->block) {
        rv = apr_shm_create(&kept->shm, sizeof(ss_counter_block), NULL, s->process->pool);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, SSLOGNO(00094)
                         "cannot create the shared memory of the status counters: "
                         "mod_status will not show them (everything else works)");
            return OK;
        }
        kept->block = apr_shm_baseaddr_get(kept->shm);
        memset(kept->block, 0, sizeof(*kept->block));
        kept->block->layout = SS_COUNTERS_LAYOUT;
        kept->block->since = apr_time_now();
    }
    ss_counters = kept->block;
    return OK;
}

/* One counter: "SharedSessionKey: n" in ?auto, a table row on the page. */
static void ss_status_line(request_rec *r, int flags, const char *key, const char *label,
                           apr_uint64_t value)
{
    if (flags & AP_STATUS_SHORT) {
        ap_rprintf(r, "SharedSession%s: %" APR_UINT64_T_FMT "\n", key, value);
    }
    else if (flags & AP_STATUS_NOTABLE) {
        ap_rprintf(r, "<dt>%s: %" APR_UINT64_T_FMT "</dt>\n", label, value);
    }
    else {
        ap_rprintf(r, "<tr><td>%s</td><td>%" APR_UINT64_T_FMT "</td></tr>\n", label, value);
    }
}

static int ss_status_hook(request_rec *r, int flags)
{
    int i;

    if (!ss_counters || !(flags & AP_STATUS_EXTENDED)) {
        return OK;
    }
    if (!(flags & AP_STATUS_SHORT)) {
        ap_rputs("<hr />\n<h2>Shared session (mod_shared_session)</h2>\n", r);
        ap_rprintf(r, "<p>Counted by all children since %s.</p>\n",
                   ap_ht_time(r->pool, ss_counters->since, "%Y-%m-%d %H:%M:%S %Z", 0));
        ap_rputs((flags & AP_STATUS_NOTABLE) ? "<dl>\n"
                 : "<table border=\"0\"><tr><th>counter</th><th>count</th></tr>\n", r);
    }
    else {
        ap_rprintf(r, "SharedSessionCountersSince: %" APR_TIME_T_FMT "\n",
                   apr_time_sec(ss_counters->since));
    }
    for (i = 0; i < SS_OUTCOMES; i++) {
        ss_status_line(r, flags,
                       apr_pstrcat(r->pool, "Tickets", ss_status_key(r->pool, ss_outcome_names[i]),
                                   NULL),
                       apr_pstrcat(r->pool, "tickets ", ss_outcome_names[i], NULL),
                       apr_atomic_read64(&ss_counters->outcomes[i]));
    }
    for (i = 1; i < SS_REASON_SLOTS; i++) {
        const char *name = ss_reason_name((ss_reason)i);

        if (!strcmp(name, "?")) {
            break;
        }
        ss_status_line(r, flags,
                       apr_pstrcat(r->pool, "Rejected", ss_status_key(r->pool, name), NULL),
                       apr_pstrcat(r->pool, "tickets rejected: ", name, NULL),
                       apr_atomic_read64(&ss_counters->reasons[i]));
    }
    for (i = 0; i < SS_COUNT_MAX; i++) {
        ss_status_line(r, flags, ss_counter_labels[i].key, ss_counter_labels[i].label,
                       apr_atomic_read64(&ss_counters->counts[i]));
    }
    if (!(flags & AP_STATUS_SHORT)) {
        ap_rputs((flags & AP_STATUS_NOTABLE) ? "</dl>\n" : "</table>\n", r);
    }
    return OK;
}

void ss_admin_register_hooks(apr_pool_t *p)
{
    ap_hook_post_config(ss_counters_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, ss_status_hook, NULL, NULL, APR_HOOK_MIDDLE);
}
