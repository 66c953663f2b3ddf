/* What a refused ticket tells an administrator.  The rejections that
 * persist when two sites are configured apart (different keys, lists that
 * name a site differently, clocks apart, Referer dropped) are logged at
 * info only, one line per ticket (MSS01001), which the default LogLevel
 * hides.  Here, at warn: at most one line per reason per minute and child,
 * with the number of tickets since the last one and the likely cause, found
 * by looking at the last ticket again (the key id it names, the site id it
 * was sealed for, its age).  The ticket is never logged. */

#include "ss_glue.h"
#include "ss_diag.h"
#include "ss_base64.h"
#include "apr_atomic.h"

#define SS_WARN_INTERVAL    60          /* seconds between two lines of one reason */
#define SS_WARN_SLOTS       32
#define SS_ID_VARIANTS      12

typedef struct {
    apr_uint32_t last;                  /* second of the last line; 0: none yet */
    apr_uint32_t unlogged;              /* tickets since, this one included */
} ss_warn_rate;

static ss_warn_rate ss_warn_rates[SS_WARN_SLOTS];

/* 1 when a line is due for this reason now; *count the tickets it stands for. */
static int ss_warn_due(ss_reason reason, apr_uint32_t now, apr_uint32_t *count)
{
    ss_warn_rate *w = &ss_warn_rates[reason];
    apr_uint32_t last;

    apr_atomic_inc32(&w->unlogged);
    last = apr_atomic_read32(&w->last);
    if ((last && now - last < SS_WARN_INTERVAL)
        || apr_atomic_cas32(&w->last, now, last) != last) {
        return 0;
    }
    *count = apr_atomic_xchg32(&w->unlogged, 0);
    return 1;
}

static const char *ss_tickets(apr_pool_t *p, apr_uint32_t n)
{
    return apr_psprintf(p, "%u ticket%s", n, n == 1 ? "" : "s");
}

static const char *ss_hex(apr_pool_t *p, const unsigned char *b, int n)
{
    char *out = apr_palloc(p, (apr_size_t)n * 2 + 1);
    int i;

    for (i = 0; i < n; i++) {
        apr_snprintf(out + 2 * i, 3, "%02x", b[i]);
    }
    return out;
}

static void ss_warn_unknown_key(request_rec *r, const ss_server_conf *conf,
                                const char *n, const char *ticket, apr_size_t len)
{
    unsigned char head[6];
    apr_size_t hlen = 0;
    const char *ours = "";
    int i;

    for (i = 0; conf->keys && i < conf->keys->nkeys; i++) {
        ours = apr_pstrcat(r->pool, ours, i ? " " : "",
                           ss_hex(r->pool, conf->keys->keys[i].kid, SS_KID_BYTES), NULL);
    }
    if (len < 8 || ss_b64_decode(SS_B64_URL_NOPAD, head, sizeof(head), &hlen, ticket, 8)
        || hlen < 1 + SS_KID_BYTES) {
        return;
    }
    if (ss_keyring_find(conf->keys, head + 1)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, SSLOGNO(01086)
                      "%s refused (reason=unknown-key) since the last such line in this "
                      "process: the last one names a key of this site but has format "
                      "version %d, which this module does not read: the sites run "
                      "different versions of mod_shared_session", n, head[0]);
        return;
    }
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, SSLOGNO(01080)
                  "%s refused (reason=unknown-key) since the last such line in this "
                  "process: the last one was sealed with key id %s, and this site opens "
                  "key ids %s (SharedSessionKeyFile, %s): the sites use different keys "
                  "(or the ticket was not made by a listed site); copy the same key file "
                  "to every site (to rotate, list the new key first and keep the old one "
                  "for one SharedSessionTimeout)", n,
                  ss_hex(r->pool, head + 1, SS_KID_BYTES), ours,
                  conf->key_where ? conf->key_where : "-");
}

static void ss_warn_bad_ticket(request_rec *r, const ss_server_conf *conf,
                               const ss_site *site, const char *n, const char *ticket,
                               apr_size_t len, apr_int64_t now)
{
    const char *ids[SS_ID_VARIANTS];
    int nids = ss_site_id_variants(r->pool, site, r->hostname, ap_get_server_port(r),
                                   ids, SS_ID_VARIANTS);
    int i;

    for (i = 0; i < nids; i++) {
        ss_ticket t;

        if (ss_ticket_open(r->pool, conf->keys, ids[i], ticket, len, now, conf->timeout,
                           &t) != SS_R_BAD_TICKET) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, SSLOGNO(01081)
                          "%s refused (reason=bad-ticket) since the last such line in this "
                          "process: the last one, from %s, was sealed for the site id %s, "
                          "but this site's entry is %s (SharedSessionSites, %s): the two "
                          "sites' lists name this site differently (www. or a port on one "
                          "side only); use the same SharedSessionSites list on every site",
                          n, ap_escape_logitem(r->pool, t.src), ids[i], site->id,
                          conf->sites_where ? conf->sites_where : "-");
            return;
        }
    }
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, SSLOGNO(01082)
                  "%s refused (reason=bad-ticket) since the last such line in this "
                  "process: the last one does not open for this site's id %s "
                  "(SharedSessionSites, %s) with a key this site has: either the source "
                  "site's list names this site differently (another host, or a port on "
                  "one side only: use the same list on every site), or the ticket was "
                  "altered on its way (a truncated or rewritten URL)", n, site->id,
                  conf->sites_where ? conf->sites_where : "-");
}

static void ss_warn_age(request_rec *r, const ss_server_conf *conf, const char *n,
                        ss_reason reason, const ss_ticket *t, apr_int64_t now)
{
    apr_int64_t skew = reason == SS_R_EXPIRED ? now - t->iat : t->iat - now;

    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, SSLOGNO(01083)
                  "%s refused (reason=%s) since the last such line in this process: the "
                  "last one, from %s, was minted %" APR_INT64_T_FMT " s %s this server's "
                  "clock (accepted: up to %d s old, SharedSessionTimeout, and %d s ahead): "
                  "the clocks of this server and %s are about %" APR_INT64_T_FMT " s "
                  "apart; keep both in time (NTP)%s", n, ss_reason_name(reason),
                  ap_escape_logitem(r->pool, t->src), skew,
                  reason == SS_R_EXPIRED ? "behind" : "ahead of", conf->timeout,
                  SS_CLOCK_SKEW, ap_escape_logitem(r->pool, t->src), skew,
                  reason == SS_R_EXPIRED
                      ? ", or the page that carried the ticket came from a cache" : "");
}

/* "no Referer or Origin", or the origin of what came instead. */
static const char *ss_referer_seen(request_rec *r)
{
    const char *v = apr_table_get(r->headers_in, "Referer");
    const char *what = "Referer";
    const char *err;
    ss_url u;

    if (!v || !*v) {
        v = apr_table_get(r->headers_in, "Origin");
        what = "Origin";
    }
    if (!v || !*v) {
        return "no Referer or Origin";
    }
    if (ss_url_parse(r->pool, v, &u, &err) != APR_SUCCESS) {
        return apr_psprintf(r->pool, "a %s that is not an http(s) URL", what);
    }
    return apr_psprintf(r->pool, "a %s of %s://%s%s", what, u.scheme,
                        ap_escape_logitem(r->pool, u.host),
                        u.port_given ? apr_psprintf(r->pool, ":%d", u.port) : "");
}

void ss_ticket_seen(request_rec *r, const ss_server_conf *conf, const char *result,
                    ss_reason reason, const char *ticket, apr_size_t len)
{
    apr_int64_t now = apr_time_sec(r->request_time);
    const ss_site *site, *src;
    apr_uint32_t count = 0;
    const char *n;
    ss_ticket t;

    ss_count_ticket(result, reason);
    switch (reason) {
    case SS_R_UNKNOWN_KEY: case SS_R_BAD_TICKET: case SS_R_EXPIRED: case SS_R_FUTURE:
    case SS_R_UNKNOWN_SOURCE: case SS_R_REFERER:
        break;
    default:
        return;
    }
    if ((unsigned)reason >= SS_WARN_SLOTS
        || !ss_warn_due(reason, (apr_uint32_t)apr_time_sec(apr_time_now()), &count)
        || !(site = ss_request_site(r, conf)) || !ticket) {
        return;
    }
    n = ss_tickets(r->pool, count);
    if (reason == SS_R_UNKNOWN_KEY) {
        ss_warn_unknown_key(r, conf, n, ticket, len);
        return;
    }
    if (reason == SS_R_BAD_TICKET) {
        ss_warn_bad_ticket(r, conf, site, n, ticket, len, now);
        return;
    }
    /* the others opened: their source and age are in the ticket */
    if (ss_ticket_open(r->pool, conf->keys, site->id, ticket, len, now, conf->timeout,
                       &t) == SS_R_BAD_TICKET || !t.src) {
        return;
    }
    if (reason == SS_R_EXPIRED || reason == SS_R_FUTURE) {
        ss_warn_age(r, conf, n, reason, &t, now);
    }
    else if (reason == SS_R_UNKNOWN_SOURCE) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, SSLOGNO(01084)
                      "%s refused (reason=unknown-source) since the last such line in this "
                      "process: the last one comes from the site id %s, which %s: the "
                      "sites' lists differ; use the same SharedSessionSites list on every "
                      "site", n, ap_escape_logitem(r->pool, t.src),
                      strcmp(t.src, site->id)
                          ? apr_psprintf(r->pool, "this site's SharedSessionSites (%s) "
                                         "does not list", conf->sites_where)
                          : "is this site itself");
    }
    else if ((src = ss_site_by_id(conf, t.src))) {
        const char *origin = ss_site_origin(r->pool, src);

        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, SSLOGNO(01087)
                      "%s refused (reason=referer) since the last such line in this "
                      "process: script tickets from %s must come with a Referer or Origin "
                      "of %s, and the last one came with %s: a Referrer-Policy on %s's "
                      "pages that sends none (no-referrer, same-origin; 'Header set "
                      "Referrer-Policy' there), an https page loading an http site, or a "
                      "proxy that drops Referer; SharedSessionCheckReferer Off turns this "
                      "check off", n, src->id, origin, ss_referer_seen(r), src->id);
    }
}
