/* Shared by the module's glue files (mod_shared_session.c and the files in glue/);
 * not a public interface.  Glue only: every decision that is logic lives
 * in crypto/ and lib/. */
#ifndef SS_GLUE_H
#define SS_GLUE_H

/* before any APR header: with offsetof defined, APR_OFFSETOF (behind the
 * APR_RING and APR_BRIGADE macros) is offsetof, not APR_OFFSET's member
 * access through a NULL pointer, which is undefined behaviour */
#include <stddef.h>

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

#include "mod_shared_session.h"
#include "ss_keyring.h"
#include "ss_ticket.h"
#include "ss_sites.h"
#include "ss_session_codec.h"
#include "ss_html_scan.h"
#include "ss_request.h"
#include "ss_state.h"
#include "ss_kvclient.h"
#include "ss_replay_floor.h"
#include "ss_gen.h"
#include "ss_cookie.h"

extern module AP_MODULE_DECLARE_DATA shared_session_module;
APLOG_USE_MODULE(shared_session);

/* Our own message tags (the AH prefix is httpd's): MSS00001-MSS00099 for
 * configuration and start-up, MSS01xxx for the handler, MSS02xxx for the
 * filter. */
#define SSLOGNO(n) "MSS" #n ": "

#define SS_HANDLER          "shared-session"
#define SS_FILTER           "SHARED_SESSION"
#define SS_LATE_FILTER      "SHARED_SESSION_LATE"
#define SS_MUTEX_TYPE       "shared-session-cache"
#define SS_CACHE_ID         "mod_shared_session-replay"
#define SS_DEFAULT_PATH     "/shared-session/"
#define SS_DEFAULT_TIMEOUT  SS_TIMEOUT_DEFAULT
#define SS_DEFAULT_RESEND   600
#define SS_RESEND_MAX       86400
#define SS_DEFAULT_CACHE    "shmcb"
#define SS_DEFAULT_CACHE_FILE "shared-session-replay"   /* in DefaultRuntimeDir */
#define SS_DEFAULT_CACHE_SIZE (4 * 1024 * 1024)
#define SS_LOADER_HEAD      "<script src=\""
/* async="async": a bare attribute is not XML (application/xhtml+xml pages) */
#define SS_LOADER_TAIL      ".js\" async=\"async\" referrerpolicy=\"origin\"></script>"

typedef struct ss_server_conf {
    apr_array_header_t *sites;      /* of ss_site */
    ss_keyring *keys;
    const char *key_where;          /* "file:line" of SharedSessionKeyFile */
    const char *sites_where;
    int timeout;
    ss_replace_mode replace;        /* SharedSessionReplace (AlwaysReplace maps onto it) */
    int check_referer;
    int accept_unbound;             /* server config only */
    const char *path;
    /* per site, set at start-up: "<script src=\"" origin path, the head of
     * its loader tag (the filter adds the ticket and SS_LOADER_TAIL) */
    const char **loader_heads;
    apr_size_t *loader_head_lens;
    int resend;                     /* SharedSessionResend: seconds, 0 = every page */
    apr_array_header_t *local;      /* SharedSessionLocal: of const char *, or NULL */
    unsigned int sites_set:1, keys_set:1, timeout_set:1, replace_set:1,
                 check_referer_set:1, path_set:1, accept_unbound_set:1,
                 resend_set:1, local_set:1;
    /* SharedSessionCookie (cookie mode, glue/ss_cookie.c): of ss_cookie_spec,
     * NULL when the site shares mod_session's session; cookie_names the
     * names in the same order */
    apr_array_header_t *cookies;
    const char **cookie_names;
    int cookies_set;
} ss_server_conf;

/* The replay cache is one per server process tree (server config only). */
typedef struct ss_replay_conf {
    const char *spec;               /* as configured, or NULL for the default */
    const char *where;
    const ap_socache_provider_t *provider;
    const char *provider_args;
    ap_socache_instance_t *instance;    /* kept across restarts (glue/ss_replay.c) */
    apr_global_mutex_t *mutex;
    ss_kv_client *kv;                   /* memcache/redis: the module's own client */
    ss_replay_floor *floor;             /* shmcb: ids that may have been pushed out */
    int none;
    int egeneral_is_miss;           /* dbm answers APR_EGENERAL for a missing id */
    int directives_seen;            /* any SharedSession* directive seen */
} ss_replay_conf;

extern ss_replay_conf ss_replay;
extern APR_OPTIONAL_FN_TYPE(ap_session_load) *ss_session_load_fn;
extern APR_OPTIONAL_FN_TYPE(ap_session_save) *ss_session_save_fn;

/* mod_shared_session.c */
ss_server_conf *ss_conf(server_rec *s);
const ss_site *ss_request_site(request_rec *r, const ss_server_conf *conf);
const ss_site *ss_request_site_within(request_rec *r, const ss_server_conf *conf);
const ss_site *ss_site_by_id(const ss_server_conf *conf, const char *id);
int ss_session_is_empty(const ss_server_conf *conf, const session_rec *z);
session_rec *ss_load_session(request_rec *r);

/* glue/ss_replay.c */
int ss_replay_configure(apr_pool_t *pconf, apr_pool_t *ptemp);
int ss_replay_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *s);
void ss_replay_child_init(apr_pool_t *p, server_rec *s);
ss_reason ss_replay_claim(request_rec *r, const ss_ticket *t, int timeout);

/* glue/ss_handler.c */
int ss_translate_name(request_rec *r);
int ss_map_to_storage(request_rec *r);
int ss_log_redact(request_rec *r);
int ss_post_read_redact(request_rec *r);
int ss_handler(request_rec *r);
const char *ss_start_url(request_rec *r, const ss_server_conf *conf, const ss_site *b,
                         const ss_site *src, const char *to);

/* Per-directory configuration (server config and virtual hosts set the
 * defaults of their directories). */
typedef struct ss_dir_conf {
    int pull;                       /* SharedSessionPull; -1 unset (On) */
} ss_dir_conf;

/* glue/ss_pull.c */
int ss_pull_header_parser(request_rec *r);

/* glue/ss_generation.c: generations of mod_session sessions */
void ss_generation_hooks(void);     /* in pre_config: mod_session's hooks */
/* z's generation as it stands (verified, not too far ahead), or t == 0 */
ss_gen ss_gen_current(request_rec *r, const ss_server_conf *conf, const session_rec *z);
/* The one stamp: when z's entries no longer match its generation (a login, a
 * change, a logout that leaves a tombstone), a new one, T = max(now, loaded
 * + 1), and z is made dirty (*stamped set).  Returns z's generation now;
 * t == 0 for an empty session that never held anything, or without keys. */
ss_gen ss_gen_sync(request_rec *r, const ss_server_conf *conf, session_rec *z,
                   int *stamped);
/* The session mod_session decoded for this very request, when the module
 * saw it being decoded (its decode hook), else NULL */
session_rec *ss_session_decoded(request_rec *r);
/* The site's "sent" cookie (__Host-sssent, sssent on http): 1 when it holds g */
int ss_sent_matches(request_rec *r, const ss_site *self, const ss_gen *g);
/* 1 when it holds exactly this text (a generation's "T.D") */
int ss_sent_is(request_rec *r, const ss_site *self, const char *text);
/* Remembers g for SharedSessionResend seconds (nothing when it is 0);
 * cross_site: in a script answer, where only SameSite=None is stored */
void ss_sent_set(request_rec *r, const ss_server_conf *conf, const ss_site *self,
                 const ss_gen *g, int cross_site);

/* glue/ss_filter.c */
apr_status_t ss_filter(ap_filter_t *f, apr_bucket_brigade *bb);

/* What one of the module's answers needs on its final headers, asserted by
 * the late header filter (SS_LATE_FILTER) after everything configured has
 * had its say ("Header set", a CGI's own headers, mod_session's).  One
 * record per request; set its fields on what ss_late_headers_add returns:
 *
 *     ss_late_headers_add(r)->private = 1;
 *
 * To assert something more (Referrer-Policy, Content-Security-Policy
 * sources): add a field here, set it where the answer is made, and give it
 * its step in ss_late_headers_apply (glue/ss_filter.c); the filter, its
 * place in the chain and the record stay as they are. */
typedef struct ss_late_headers {
    /* Cache-Control says private and neither public nor s-maxage;
     * Surrogate-Control and CDN-Cache-Control go; an Expires is made past */
    unsigned int private:1;
    unsigned int no_store:1;    /* Cache-Control says no-store too */
    /* security headers (glue/ss_sechdr.c) */
    unsigned int page:1;        /* a page with the loader: a Referrer-Policy that
                                   sends no Referer to the other sites is logged */
    const char *referrer_policy;    /* the module's answer: this policy, no other */
    const char *csp_tags;       /* the loader's tags: every Content-Security-Policy
                                   (-Report-Only) of a private page gains their
                                   URLs (worked out only when a policy is there) */
    const char *csp_nonce;      /* the nonce the loader's tags carry, or NULL */
} ss_late_headers;

/* The request's record; the first call adds the late header filter. */
ss_late_headers *ss_late_headers_add(request_rec *r);
apr_status_t ss_late_filter(ap_filter_t *f, apr_bucket_brigade *bb);
/* An answer through ap_die() loses every filter added so far: the late
 * header filter comes back (insert_error_filter hook). */
void ss_late_insert_error_filter(request_rec *r);

/* glue/ss_sechdr.c: security headers */
/* The tags the page gets under its Content-Security-Policy (with the page's
 * nonce under 'strict-dynamic'), or NULL (logged) when none can run; sets
 * what the late header filter widens. */
const char *ss_csp_loader_tags(request_rec *r, const char *tags, apr_size_t *len);
/* The scanner met a Content-Security-Policy <meta>: no loader, nothing widened. */
void ss_csp_meta_seen(request_rec *r);
/* The late header filter's step for the security headers. */
void ss_sechdr_late(request_rec *r, const ss_late_headers *late);

/* ---- glue/ss_cookie.c: cookie mode (SharedSessionCookie) ---------------- */

/* One SharedSessionCookie: the cookie and what B appends to it. */
typedef struct ss_cookie_spec {
    const char *name;
    const char *where;          /* file:line */
    int attrs_given;            /* else the default, "; Secure" on https sites */
    ss_cookie_attrs attrs;
} ss_cookie_spec;

#define SS_COOKIE_FILTER "SHARED_SESSION_COOKIES"

const char *ss_set_cookie(cmd_parms *cmd, void *dummy, const char *name, const char *attrs);
void ss_merge_cookies(ss_server_conf *conf, const ss_server_conf *base,
                      const ss_server_conf *add);
/* configtest: a Domain attribute that matches none of the sites; 0 or !OK */
int ss_cookie_check_config(apr_pool_t *ptemp, server_rec *s);
/* 1 when the module can run without mod_session: some server lists sites,
 * and every server that does is in cookie mode */
int ss_cookie_mode_everywhere(server_rec *s);
void ss_cookie_register_hooks(apr_pool_t *p);
/* The payload the loader and go carry for this request (after the
 * application's Set-Cookie of this response): the listed cookies and their
 * generation (*g, t = 0 when none), "" when there is nothing. */
const char *ss_cookie_payload(request_rec *r, const ss_server_conf *conf, ss_gen *g);
/* The receiving side once a cookie-pairs ticket passed every check: the
 * reason (SS_OK or SS_R_MALFORMED), *replaced and *was_empty. */
ss_reason ss_cookie_receive(request_rec *r, const ss_server_conf *conf, const ss_site *site,
                            const ss_ticket *t, int *replaced, int *was_empty);

#include "ss_admin.h"

#endif
