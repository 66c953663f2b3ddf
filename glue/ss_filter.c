/* The SHARED_SESSION output filter (docs/PROTOCOL.md, "The script flow"):
 * streams HTML and inserts the loader tags before the first </head (or
 * <body); and the late header filter, which asserts what the module's
 * answers need on their final headers. */

#include "ss_glue.h"
#include <sodium.h>

/* ---- the SHARED_SESSION output filter --------------------------------------- */

/* How the filter streams a response (one ss_filter_ctx per response that gets
 * a loader; every other response is passed through and the filter removes
 * itself on its first call):
 *
 *   bb ──scan──> pending ──ap_pass_brigade──> f->next
 *          └──> held (a candidate tag cut at a bucket end)
 *
 * - pending: buckets scanned and cleared, in order, not yet passed on.  It
 *   is passed on at the end of every call, and in between whenever
 *   SS_FILTER_PASS_BYTES have gathered, so memory stays flat.
 * - held: at most SS_HTML_SCAN_MAX_HOLD bytes, the start of "</head" or
 *   "<body" that the next bucket completes or refutes.  It always comes
 *   after everything in pending (set aside: its data may be transient).
 * - the headers are final as soon as anything reaches the HTTP header
 *   filter, so they are fixed (once, ss_filter_pass) before the first pass,
 *   unless the response ends untouched in that very pass (a fragment);
 *   fixing them also adds the late header filter, which keeps the answer
 *   private whatever runs after this filter.
 *
 * Buckets move only through SS_FILTER_MOVE (ss_filter_move: the first n
 * bytes of a bucket) and ss_filter_pass (pending out); once the insertion
 * point is found the tags go in, and the filter passes the rest of bb on
 * and removes itself.  The decision is taken once per response (a request
 * note): a second SHARED_SESSION in the chain passes everything on. */

#define SS_FILTER_PASS_BYTES (64 * 1024)  /* pass on at least this often while scanning */
#define SS_FILTER_NOTE "shared-session-loader"  /* set once the filter has decided */

/* The one bucket move: b to the end of the brigade to. */
#define SS_FILTER_MOVE(b, to) do {          \
        APR_BUCKET_REMOVE(b);               \
        APR_BRIGADE_INSERT_TAIL((to), (b)); \
    } while (0)

typedef struct {
    ss_html_scan scan;
    apr_bucket_brigade *held;
    apr_bucket_brigade *pending;
    const char *tags;           /* the <script> tags to insert */
    apr_size_t tags_len;
    ss_gen sent;                /* the generation the tags carry */
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

/* "b.test c.test": the sites a page of site gets a loader for (log lines). */
static const char *ss_target_names(apr_pool_t *p, const ss_server_conf *conf,
                                   const ss_site *site)
{
    const ss_site *sites = (const ss_site *)conf->sites->elts;
    const char *names = NULL;
    int i;

    for (i = 0; i < conf->sites->nelts; i++) {
        if (&sites[i] != site) {
            names = names ? apr_pstrcat(p, names, " ", sites[i].id, NULL) : sites[i].id;
        }
    }
    return names ? names : "-";
}

/* The loader tags for every target site, or NULL when nothing goes in.
 * One payload for all of them (the destination is authenticated, not
 * carried), so every ticket has the same length: the tags are written in
 * place into one buffer sized up front. */
static const char *ss_loader_tags(request_rec *r, const ss_server_conf *conf,
                                  apr_size_t *len, ss_gen *sent)
{
    static const char tail[] = SS_LOADER_TAIL;
    const ss_site *site = ss_request_site(r, conf);
    const ss_key *sealer = conf->keys ? ss_keyring_sealer(conf->keys) : NULL;
    int nsites = conf->sites->nelts, i;
    const ss_site *sites = (const ss_site *)conf->sites->elts;
    unsigned char *nonces;
    ss_ticket_batch batch;
    apr_size_t total = 0;
    apr_status_t rv;
    const char *session;
    char *out, *d;
    session_rec *z;
    ss_ticket t;

    if (!site) {
        const ss_site *within = APLOGrdebug(r) ? ss_request_site_within(r, conf) : NULL;

        if (within) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, SSLOGNO(00042)
                          "no loader on host '%s': a subdomain of the site %s, not its "
                          "own host", ap_escape_logitem(r->pool, r->hostname), within->id);
        }
        return NULL;
    }
    if (!sealer || !conf->loader_heads) {
        return NULL;
    }
    if (conf->cookies) {
        /* cookie mode: the application's cookies and their generation
         * (glue/ss_cookie.c), after this response's Set-Cookie */
        session = ss_cookie_payload(r, conf, sent);
        if (!*session) {
            return NULL;        /* no cookie, no generation */
        }
    }
    else {
        if (!(z = ss_load_session(r))) {
            return NULL;
        }
        /* the page of a session that this request did not change and
         * whose generation this site already sent: nothing to do, nothing
         * to verify (the sent cookie only ever holds back loaders) */
        if (conf->resend && !z->dirty
            && ss_sent_is(r, site, apr_table_get(z->entries, SS_GEN_ENTRY))) {
            return NULL;
        }
        /* a change made while handling this request (a login, a logout) gets
         * its generation now, before mod_session saves the session */
        *sent = ss_gen_sync(r, conf, z, NULL);
        if (!sent->t) {
            return NULL;        /* empty: no entries, no generation */
        }
        session = ss_session_encode_except(r->pool, z->entries, conf->local);
    }
    if (conf->resend && ss_sent_matches(r, site, sent)) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                      "no loader: generation %" APR_UINT64_T_FMT " was already sent",
                      sent->t);
        return NULL;        /* no news for the other sites */
    }
    memset(&t, 0, sizeof(t));
    t.cookie_pairs = conf->cookies != NULL;
    t.iat = apr_time_sec(r->request_time);
    t.mode = SS_MODE_SCRIPT;
    t.src = site->id;
    t.next = "";
    t.session = session;
    rv = ss_ticket_batch_init(r->pool, &batch, sealer, &t);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r, SSLOGNO(02001)
                      "no loader for %s: the session (%" APR_SIZE_T_FMT " bytes) "
                      "does not fit into a ticket of %d characters",
                      ss_target_names(r->pool, conf, site), strlen(session),
                      SS_TICKET_MAX_CHARS);
        return NULL;
    }
    for (i = 0; i < nsites; i++) {
        if (&sites[i] != site) {
            total += conf->loader_head_lens[i] + batch.chars + sizeof(tail) - 1;
        }
    }
    /* the nonces of all the tickets from one draw: one getrandom() per
     * page instead of one per target site */
    nonces = apr_palloc(r->pool, (apr_size_t)nsites * SS_NONCE_BYTES);
    randombytes_buf(nonces, (size_t)nsites * SS_NONCE_BYTES);
    d = out = apr_palloc(r->pool, total + 1);
    for (i = 0; i < nsites; i++) {
        if (&sites[i] == site) {
            continue;
        }
        memcpy(d, conf->loader_heads[i], conf->loader_head_lens[i]);
        d += conf->loader_head_lens[i];
        rv = ss_ticket_batch_seal(&batch, sites[i].id,
                                  nonces + (apr_size_t)i * SS_NONCE_BYTES, d);
        if (rv != APR_SUCCESS) {
            /* site ids are checked at start-up: not seen */
            ss_ticket_batch_clear(&batch);
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, SSLOGNO(02002)
                          "no loader: cannot seal a ticket for %s", sites[i].id);
            return NULL;
        }
        d += batch.chars;
        memcpy(d, tail, sizeof(tail) - 1);
        d += sizeof(tail) - 1;
    }
    ss_ticket_batch_clear(&batch);
    *d = '\0';
    *len = (apr_size_t)(d - out);
    return d > out ? out : NULL;
}

/* ---- the late header filter ------------------------------------------------ */

/* It runs after mod_headers' "Header set" (FIXUP_HEADERS_OUT, a CONTENT_SET
 * filter added by the insert_filter hook, before any handler or filter can
 * add this one: among filters of one type, the one added later runs later)
 * and before mod_cache's CACHE_SAVE (CONTENT_SET + 1) and the HTTP header
 * filter (PROTOCOL).  Headers only: it looks at the first brigade, asserts
 * the record and removes itself. */
#define SS_LATE_KEY "shared-session-late-headers"
#define SS_PAST_DATE "Thu, 01 Jan 1970 00:00:00 GMT"

ss_late_headers *ss_late_headers_add(request_rec *r)
{
    void *late = NULL;

    apr_pool_userdata_get(&late, SS_LATE_KEY, r->pool);
    if (!late) {
        late = apr_pcalloc(r->pool, sizeof(ss_late_headers));
        apr_pool_userdata_setn(late, SS_LATE_KEY, NULL, r->pool);
        ap_add_output_filter(SS_LATE_FILTER, late, r, r->connection);
    }
    return late;
}

/* Every value of a header in both tables, joined with ", ": a CGI's
 * (FastCGI's, SCGI's) own headers and "Header always" land in
 * err_headers_out. */
typedef struct {
    apr_pool_t *p;
    const char *all;
} ss_join_ctx;

static int ss_join_value(void *rec, const char *key, const char *val)
{
    ss_join_ctx *j = rec;

    (void)key;
    if (val && *val) {
        j->all = j->all ? apr_pstrcat(j->p, j->all, ", ", val, NULL) : val;
    }
    return 1;
}

static const char *ss_joined(request_rec *r, const char *name)
{
    ss_join_ctx j = { r->pool, NULL };

    apr_table_do(ss_join_value, &j, r->headers_out, name, NULL);
    apr_table_do(ss_join_value, &j, r->err_headers_out, name, NULL);
    return j.all;
}

static void ss_unset_both(request_rec *r, const char *name)
{
    apr_table_unset(r->headers_out, name);
    apr_table_unset(r->err_headers_out, name);
}

static void ss_late_headers_apply(request_rec *r, const ss_late_headers *late)
{
    if (late->private || late->no_store) {
        const char *cc = ss_joined(r, "Cache-Control");

        apr_table_unset(r->err_headers_out, "Cache-Control");
        apr_table_setn(r->headers_out, "Cache-Control",
                       ss_cache_control_private(r->pool, cc, late->no_store));
        /* the lifetimes of CDNs and reverse proxies, which may override
         * Cache-Control for them */
        ss_unset_both(r, "Surrogate-Control");
        ss_unset_both(r, "CDN-Cache-Control");
        /* an HTTP/1.0 cache knows no "private": an Expires is made past */
        if (apr_table_get(r->headers_out, "Expires")
            || apr_table_get(r->err_headers_out, "Expires")) {
            apr_table_unset(r->err_headers_out, "Expires");
            apr_table_setn(r->headers_out, "Expires", SS_PAST_DATE);
        }
    }
    /* Referrer-Policy, Content-Security-Policy */
    ss_sechdr_late(r, late);
}

apr_status_t ss_late_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    ss_late_headers_apply(f->r, f->ctx);
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

/* ap_die() starts the answer's filters afresh (r->output_filters =
 * r->proto_output_filters) and then runs this hook, after mod_headers'
 * own (which brings back FIXUP_HEADERS_ERR for "Header always"): the
 * record, if the request has one, gets its filter again, after that one. */
void ss_late_insert_error_filter(request_rec *r)
{
    void *late = NULL;

    apr_pool_userdata_get(&late, SS_LATE_KEY, r->pool);
    if (late) {
        ap_add_output_filter(SS_LATE_FILTER, late, r, r->connection);
    }
}

/* ---- the SHARED_SESSION output filter, continued ---------------------------- */

/* The response changes per request once the loader may be in it: what
 * depends on the bytes goes now, what keeps it out of shared caches is
 * asserted by the late header filter.  Private, not no-store: the tickets
 * are single-use and expire within SharedSessionTimeout, so a copy in the
 * browser's own cache hands nothing to anyone else; shared caches are what
 * must never keep a page with one user's tickets. */
static void ss_fix_headers(request_rec *r)
{
    apr_table_t *tables[2];
    int i;

    tables[0] = r->headers_out;
    tables[1] = r->err_headers_out;
    for (i = 0; i < 2; i++) {
        if (apr_is_empty_table(tables[i])) {
            continue;
        }
        apr_table_unset(tables[i], "Content-Length");
        apr_table_unset(tables[i], "ETag");
        apr_table_unset(tables[i], "Content-MD5");
        /* a range of the file is no range of what the client saw */
        apr_table_unset(tables[i], "Accept-Ranges");
    }
    apr_table_mergen(r->headers_out, "Vary", "Cookie");
    ss_late_headers_add(r)->private = 1;
}

static int ss_filter_wanted(ap_filter_t *f)
{
    request_rec *r = f->r;

    return !r->main && !r->header_only
        && r->status != HTTP_NO_CONTENT && r->status != HTTP_PARTIAL_CONTENT
        && r->status != HTTP_NOT_MODIFIED
        /* the byterange filter answers 206 after us, from what we pass on */
        && !apr_table_get(r->headers_in, "Range")
        && ss_is_html(r->content_type)
        && ss_is_identity(r->content_encoding)
        && ss_is_identity(apr_table_get(r->headers_out, "Content-Encoding"))
        && ss_is_identity(apr_table_get(r->err_headers_out, "Content-Encoding"));
}

/* Moves the first n bytes of b (len bytes long) to the end of to; returns
 * the bucket with the rest, b itself when n is 0, NULL when nothing is left. */
static apr_bucket *ss_filter_move(apr_bucket *b, apr_size_t n, apr_size_t len,
                                  apr_bucket_brigade *to)
{
    apr_bucket *rest = NULL;

    if (n == 0) {
        return b;
    }
    if (n < len) {
        apr_bucket_split(b, n);
        rest = APR_BUCKET_NEXT(b);
    }
    SS_FILTER_MOVE(b, to);
    return rest;
}

/* Passes out on; the headers are fixed first, once, unless the response
 * ends untouched in this very brigade.  done: the filter leaves the chain,
 * only after that (a filter added to the chain of a removed filter would
 * not be seen by it). */
static apr_status_t ss_filter_pass(ap_filter_t *f, ss_filter_ctx *ctx,
                                   apr_bucket_brigade *out, int untouched_end,
                                   int done)
{
    apr_status_t rv;

    if (!ctx->headers_done && !untouched_end) {
        ss_fix_headers(f->r);
        ctx->headers_done = 1;
    }
    if (done) {
        ap_remove_output_filter(f);
    }
    rv = ap_pass_brigade(f->next, out);
    apr_brigade_cleanup(out);
    return rv;
}

apr_status_t ss_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    ss_filter_ctx *ctx = f->ctx;
    apr_bucket *b, *next;
    apr_size_t pending_bytes = 0;
    apr_status_t rv;

    if (!ctx) {
        apr_size_t tags_len = 0;
        /* one decision per response, however often the filter is in the
         * chain (SetOutputFilter here, AddOutputFilter there) */
        const char *tags;
        ss_gen sent;

        memset(&sent, 0, sizeof(sent));
        ss_filter_check_session(r);
        tags = !apr_table_get(r->notes, SS_FILTER_NOTE) && ss_filter_wanted(f)
            ? ss_loader_tags(r, ss_conf(r->server), &tags_len, &sent) : NULL;
        /* what the page's Content-Security-Policy asks of them */
        if (tags) {
            tags = ss_csp_loader_tags(r, tags, &tags_len);
        }

        apr_table_setn(r->notes, SS_FILTER_NOTE, "1");
        if (!tags) {
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
        f->ctx = ctx = apr_pcalloc(r->pool, sizeof(*ctx));
        ss_html_scan_init(&ctx->scan);
        ctx->held = apr_brigade_create(r->pool, f->c->bucket_alloc);
        ctx->pending = apr_brigade_create(r->pool, f->c->bucket_alloc);
        ctx->tags = tags;
        ctx->tags_len = tags_len;
        ctx->sent = sent;
    }

    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb); b = next) {
        ss_html_scan_result res;
        const char *data;
        apr_size_t len;
        apr_bucket *rest;

        if (APR_BUCKET_IS_EOS(b)) {
            /* no insertion point (a fragment): what was held goes out as it was */
            APR_BRIGADE_CONCAT(ctx->pending, ctx->held);
            break;
        }
        if (APR_BUCKET_IS_METADATA(b)) {
            /* FLUSH and the like pass in order; held bytes (<= 6) stay held */
            next = APR_BUCKET_NEXT(b);
            SS_FILTER_MOVE(b, ctx->pending);
            continue;
        }
        rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        /* only now: reading a file, pipe or socket bucket puts the rest of
         * its data into a new bucket right after b */
        next = APR_BUCKET_NEXT(b);
        ss_html_scan_feed(&ctx->scan, data, len, &res);
        if (res.release_held) {
            APR_BRIGADE_CONCAT(ctx->pending, ctx->held);
        }
        /* what the scanner cleared (nothing when the tag began in held) */
        rest = ss_filter_move(b, res.pos, len, ctx->pending);
        if (res.csp_meta) {
            /* a policy in the page itself: no loader, the rest goes on as it is */
            ss_csp_meta_seen(r);
            APR_BRIGADE_PREPEND(bb, ctx->pending);
            return ss_filter_pass(f, ctx, bb, 1, 1);
        }
        if (res.found) {
            /* a pool bucket: turns into a heap copy should r->pool go first */
            APR_BRIGADE_INSERT_TAIL(ctx->pending,
                                    apr_bucket_pool_create(ctx->tags, ctx->tags_len,
                                                           r->pool, f->c->bucket_alloc));
            /* the held start of the tag, if that is where it began */
            APR_BRIGADE_CONCAT(ctx->pending, ctx->held);
            ss_count(SS_COUNT_LOADERS);
            if (!ctx->headers_done) {
                const ss_server_conf *conf = ss_conf(r->server);

                /* what went out, so that the next pages send nothing until
                 * it changes: only once the tags are in (a response that
                 * passed a brigade before, e.g. a redirect's empty body
                 * with a FLUSH first, carried none), and only while the
                 * headers are still to go */
                ss_sent_set(r, conf, ss_request_site(r, conf), &ctx->sent, 0);
            }
            /* done: everything after the insertion point goes on untouched */
            APR_BRIGADE_PREPEND(bb, ctx->pending);
            return ss_filter_pass(f, ctx, bb, 0, 1);
        }
        if (rest) {
            /* hold back the tail: a tag may be cut here */
            if ((rv = apr_bucket_setaside(rest, r->pool)) != APR_SUCCESS) {
                return rv;
            }
            SS_FILTER_MOVE(rest, ctx->held);
        }
        pending_bytes += res.pos;
        if (pending_bytes >= SS_FILTER_PASS_BYTES) {
            /* an insertion is still possible after these bytes */
            if ((rv = ss_filter_pass(f, ctx, ctx->pending, 0, 0)) != APR_SUCCESS) {
                return rv;
            }
            pending_bytes = 0;
        }
    }
    /* rest of bb (EOS and after) follows what was processed */
    APR_BRIGADE_PREPEND(bb, ctx->pending);
    if (APR_BRIGADE_EMPTY(bb)) {
        /* everything is held: pass nothing, an empty brigade would make
         * the HTTP header filter send the headers before they are fixed */
        return APR_SUCCESS;
    }
    return ss_filter_pass(f, ctx, bb, APR_BUCKET_IS_EOS(APR_BRIGADE_LAST(bb)), 0);
}
