/* Configuration mistakes that would otherwise pass in silence: configtest
 * warnings about the site list against the virtual hosts that use the
 * module, a warning once per child when the filter runs where there is no
 * session to share, and the right cause when SetHandler shared-session
 * serves a URL the handler does not know.
 *
 * Which servers use the module is read from the configuration tree: a
 * server serves the handler or the filter when SetHandler/AddHandler
 * shared-session or SHARED_SESSION in SetOutputFilter, AddOutputFilter,
 * AddOutputFilterByType or FilterProvider appears inside its <VirtualHost>,
 * or outside every <VirtualHost> (then every server does).  A .htaccess is
 * not seen. */

#include "ss_glue.h"
#include "ss_diag.h"
#include "ss_host.h"
#include "util_cfgtree.h"
#include "apr_atomic.h"

typedef struct {
    const char *host;           /* lowercased */
    const char *directive;      /* "ServerName" or "ServerAlias" */
    const char *where;          /* file:line */
} ss_local_name;

/* One <VirtualHost> of the tree, or the main server. */
typedef struct {
    const ap_directive_t *node;     /* NULL for the main server */
    apr_array_header_t *names;      /* of ss_local_name */
    const char *mount;              /* "SetHandler shared-session (file:line)", first seen */
    int ssl;                        /* SSLEngine on */
    apr_array_header_t *strict;     /* session cookie directives with SameSite=Strict */
    apr_array_header_t *proxied;    /* ProxyPass and ProxyPassMatch directives */
} ss_tree_host;

static const char *ss_node_where(apr_pool_t *p, const ap_directive_t *d)
{
    return apr_psprintf(p, "%s:%d", d->filename, d->line_num);
}

/* 1 when SHARED_SESSION is one of the ';'-separated filter names. */
static int ss_names_filter(apr_pool_t *p, const char *list)
{
    char *copy = apr_pstrdup(p, list), *last, *tok;

    for (tok = apr_strtok(copy, ";", &last); tok; tok = apr_strtok(NULL, ";", &last)) {
        if (!strcasecmp(tok, SS_FILTER)) {
            return 1;
        }
    }
    return 0;
}

/* What a directive mounts of the module, or NULL. */
static const char *ss_mount_of(apr_pool_t *p, const ap_directive_t *d)
{
    const char *args = d->args ? d->args : "";
    const char *w1 = ap_getword_conf(p, &args);
    const char *w2 = ap_getword_conf(p, &args);
    const char *name = d->directive;

    if ((!strcasecmp(name, "SetHandler") || !strcasecmp(name, "AddHandler"))
        && !strcasecmp(w1, SS_HANDLER)) {
        return apr_psprintf(p, "%s %s (%s)", name, SS_HANDLER, ss_node_where(p, d));
    }
    if ((!strcasecmp(name, "SetOutputFilter") || !strcasecmp(name, "AddOutputFilter")
         || !strcasecmp(name, "AddOutputFilterByType")) && ss_names_filter(p, w1)) {
        return apr_psprintf(p, "%s %s (%s)", name, w1, ss_node_where(p, d));
    }
    if (!strcasecmp(name, "FilterProvider") && !strcasecmp(w2, SS_FILTER)) {
        return apr_psprintf(p, "%s %s %s (%s)", name, w1, w2, ss_node_where(p, d));
    }
    return NULL;
}

static ss_tree_host *ss_tree_host_make(apr_pool_t *p, const ap_directive_t *node)
{
    ss_tree_host *h = apr_pcalloc(p, sizeof(*h));

    h->node = node;
    h->names = apr_array_make(p, 4, sizeof(ss_local_name));
    h->strict = apr_array_make(p, 1, sizeof(const ap_directive_t *));
    h->proxied = apr_array_make(p, 1, sizeof(const ap_directive_t *));
    return h;
}

static void ss_add_names(apr_pool_t *p, ss_tree_host *h, const ap_directive_t *d, int many)
{
    const char *args = d->args ? d->args : "";

    while (*args) {
        const char *word = ap_getword_conf(p, &args);
        const char *host = ss_server_name_host(p, word);

        if (host) {
            ss_local_name *n = apr_array_push(h->names);

            n->host = host;
            n->directive = d->directive;
            n->where = ss_node_where(p, d);
        }
        if (!many) {
            break;
        }
    }
}

static void ss_walk(apr_pool_t *p, const ap_directive_t *d, ss_tree_host *h,
                    apr_array_header_t *vhosts)
{
    for (; d; d = d->next) {
        const char *mount;

        if (!strcasecmp(d->directive, "<VirtualHost")) {
            ss_tree_host *v = ss_tree_host_make(p, d);

            APR_ARRAY_PUSH(vhosts, ss_tree_host *) = v;
            ss_walk(p, d->first_child, v, vhosts);
            continue;
        }
        if (!strcasecmp(d->directive, "ServerName")) {
            ss_add_names(p, h, d, 0);
        }
        else if (!strcasecmp(d->directive, "ServerAlias")) {
            ss_add_names(p, h, d, 1);
        }
        else if (!strcasecmp(d->directive, "SSLEngine")) {
            h->ssl = d->args && !strcasecmp(d->args, "on");
        }
        else if ((!strcasecmp(d->directive, "SessionCookieName")
                  || !strcasecmp(d->directive, "SessionDBDCookieName"))
                 && d->args && ap_strcasestr(d->args, "samesite=strict")) {
            APR_ARRAY_PUSH(h->strict, const ap_directive_t *) = d;
        }
        else if (!strcasecmp(d->directive, "ProxyPass")
                 || !strcasecmp(d->directive, "ProxyPassMatch")) {
            APR_ARRAY_PUSH(h->proxied, const ap_directive_t *) = d;
        }
        else if (!h->mount && (mount = ss_mount_of(p, d))) {
            h->mount = mount;
        }
        ss_walk(p, d->first_child, h, vhosts);
    }
}

/* 1 when a host is an entry's own host (the module acts for no subdomain of
 * it) on a port the server listens on, when the entry names one. */
static int ss_entry_names(const ss_site *e, const char *host, const server_rec *vs)
{
    const server_addr_rec *a;

    if (ss_host_relation(host, e->host) != SS_HOST_SAME) {
        return 0;
    }
    if (!e->port || !vs->is_virtual || vs->port == e->port) {
        return 1;
    }
    for (a = vs->addrs; a; a = a->next) {
        if (a->host_port == 0 || a->host_port == e->port) {
            return 1;
        }
    }
    return 0;
}

static const ss_site *ss_entry_for(const apr_array_header_t *sites, const char *host,
                                   const server_rec *vs)
{
    int i;

    for (i = 0; i < sites->nelts; i++) {
        const ss_site *e = &APR_ARRAY_IDX(sites, i, ss_site);

        if (ss_entry_names(e, host, vs)) {
            return e;
        }
    }
    return NULL;
}

static int ss_any_entry_host(const apr_array_header_t *sites, const char *host)
{
    int i;

    for (i = 0; i < sites->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(sites, i, ss_site).host, host)) {
            return 1;
        }
    }
    return 0;
}

static const char *ss_server_label(apr_pool_t *p, const server_rec *vs)
{
    if (!vs->is_virtual) {
        return "the main server";
    }
    return apr_psprintf(p, "<VirtualHost> %s (%s:%u)",
                        vs->server_hostname ? vs->server_hostname : "",
                        vs->defn_name ? vs->defn_name : "?", vs->defn_line_number);
}

/* Once per (list, entry): the same list is inherited by many servers. */
static int ss_first_time(apr_hash_t *said, apr_pool_t *p, const char *kind,
                         const void *list, int entry)
{
    const char *key = apr_psprintf(p, "%s %pp %d", kind, list, entry);

    if (apr_hash_get(said, key, APR_HASH_KEY_STRING)) {
        return 0;
    }
    apr_hash_set(said, key, APR_HASH_KEY_STRING, "");
    return 1;
}

static void ss_check_served(apr_pool_t *p, server_rec *vs, const ss_tree_host *h,
                            const char *mount, apr_hash_t *said)
{
    const ss_server_conf *conf = ss_conf(vs);
    const apr_array_header_t *sites = conf->sites;
    int i;

    if (!sites->nelts) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, vs, SSLOGNO(00093)
                     "%s serves %s but has no SharedSessionSites: the module does "
                     "nothing there; enable the server-wide configuration (on Debian: "
                     "a2enconf with the file that holds SharedSessionSites and "
                     "SharedSessionKeyFile) or add both directives to this virtual host",
                     ss_server_label(p, vs), mount);
        return;
    }
    for (i = 0; h && i < h->names->nelts; i++) {
        const ss_local_name *n = &APR_ARRAY_IDX(h->names, i, ss_local_name);
        const char *within = "";
        int j;

        if (ss_entry_for(sites, n->host, vs)) {
            continue;
        }
        for (j = 0; j < sites->nelts; j++) {
            const ss_site *e = &APR_ARRAY_IDX(sites, j, ss_site);

            ss_host_rel rel = ss_host_relation(n->host, e->host);

            if (rel == SS_HOST_SAME) {
                within = apr_psprintf(p, " (the entry %s names another port)", e->id);
                break;
            }
            if (rel == SS_HOST_SUBDOMAIN) {
                within = apr_psprintf(p, " (a subdomain of the entry %s: the module acts "
                                      "only for an entry's own host)", e->id);
                break;
            }
        }
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, vs, SSLOGNO(00090)
                     "%s serves %s, but its %s %s (%s) is not in SharedSessionSites "
                     "(%s)%s: its pages get no loader and tickets sent to it are "
                     "refused; add %s://%s to the list on every site",
                     ss_server_label(p, vs), mount, n->directive, n->host, n->where,
                     conf->sites_where, within,
                     h->ssl || (vs->server_scheme && !strcmp(vs->server_scheme, "https"))
                         ? "https" : "http", n->host);
    }
    if (!(h && h->ssl) && !(vs->server_scheme && !strcmp(vs->server_scheme, "https"))) {
        return;
    }
    for (i = 0; i < sites->nelts; i++) {
        const ss_site *e = &APR_ARRAY_IDX(sites, i, ss_site);

        if (strcmp(e->scheme, "http") || !ss_first_time(said, p, "http", sites, i)) {
            continue;
        }
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, vs, SSLOGNO(00092)
                     "SharedSessionSites (%s) lists http://%s, and %s is served over "
                     "https: tickets to and from it travel in clear and browsers block "
                     "its loader as mixed content; serve that site over https and list "
                     "it as https://%s", conf->sites_where, e->id, ss_server_label(p, vs),
                     e->id);
    }
}

/* An entry one edit away from a local name that no entry names: a typo. */
static void ss_check_typos(apr_pool_t *p, server_rec *vs, apr_array_header_t *all_names,
                           apr_hash_t *said)
{
    const ss_server_conf *conf = ss_conf(vs);
    const apr_array_header_t *sites = conf->sites;
    int i, j;

    for (i = 0; i < sites->nelts; i++) {
        const ss_site *e = &APR_ARRAY_IDX(sites, i, ss_site);
        const ss_local_name *near = NULL;

        for (j = 0; j < all_names->nelts; j++) {
            const ss_local_name *n = &APR_ARRAY_IDX(all_names, j, ss_local_name);

            if (!strcmp(n->host, e->host)) {
                near = NULL;
                break;              /* a local name: no typo */
            }
            if (!near && ss_one_edit_apart(n->host, e->host)
                && !ss_any_entry_host(sites, n->host)) {
                near = n;
            }
        }
        if (near && ss_first_time(said, p, "typo", sites, i)) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, vs, SSLOGNO(00091)
                         "SharedSessionSites (%s): the entry %s is one letter away from "
                         "%s %s (%s), which no entry names: a typo? Write the host "
                         "exactly as the site's ServerName (the loader would point at "
                         "%s)", conf->sites_where, e->id, near->directive, near->host,
                         near->where, e->host);
        }
    }
}

/* SameSite=Strict on a session cookie: browsers withhold it on the
 * cross-site redirects of the navigation flow, so "go" finds no session.
 * mod_session keeps its settings to itself: read from the tree. */
static void ss_check_strict(const ss_tree_host *h)
{
    int i;

    for (i = 0; i < h->strict->nelts; i++) {
        const ap_directive_t *d = APR_ARRAY_IDX(h->strict, i, const ap_directive_t *);

        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, NULL, SSLOGNO(00071)
                     "%s (%s:%d) makes the session cookie SameSite=Strict: browsers "
                     "withhold it on the cross-site redirects of the navigation flow, "
                     "so 'go' sends users across without their session; use "
                     "SameSite=Lax", d->directive, d->filename, d->line_num);
    }
}

/* A ProxyPass's path and target: "ProxyPass /path url" or, inside
 * <Location /path>, "ProxyPass url"; NULL when it cannot tell. */
static const char *ss_proxy_path(apr_pool_t *p, const ap_directive_t *d, const char **target)
{
    const char *args = d->args ? d->args : "";
    const char *w1 = ap_getword_conf(p, &args);
    const char *w2 = ap_getword_conf(p, &args);

    if (*w2) {
        *target = w2;
        return w1;
    }
    *target = w1;
    if (d->parent && (!strcasecmp(d->parent->directive, "<Location")
                      || !strcasecmp(d->parent->directive, "<LocationMatch"))) {
        const char *pargs = d->parent->args ? d->parent->args : "";
        char *path = ap_getword_conf(p, &pargs);
        size_t n = strlen(path);

        if (n && path[n - 1] == '>') {
            path[n - 1] = '\0';
        }
        return path;
    }
    return NULL;
}

/* 1 when a ProxyPass(Match) path covers the handler's path. */
static int ss_proxy_covers(apr_pool_t *p, const ap_directive_t *d, const char *path,
                           const char *handler_path)
{
    int match = !strcasecmp(d->directive, "ProxyPassMatch")
        || (d->parent && !strcasecmp(d->parent->directive, "<LocationMatch"));

    if (match) {
        ap_regex_t *rx = ap_pregcomp(p, path, AP_REG_EXTENDED);

        return rx && ap_regexec(rx, handler_path, 0, NULL, 0) == 0;
    }
    return !strncmp(handler_path, path, strlen(path));
}

/* The handler's URL sent to the application by mod_proxy: tickets, go
 * and start never reach the module there.  "ProxyPass /shared-session/ !"
 * (or a covering "!") keeps it with Apache. */
static void ss_check_proxied(apr_pool_t *p, server_rec *vs, const ss_tree_host *h,
                             const ss_tree_host *main_host, apr_hash_t *said)
{
    const ss_server_conf *conf = ss_conf(vs);
    const ap_directive_t *covering = NULL;
    const char *covering_target = NULL;
    int pass, i;

    for (pass = 0; pass < 2; pass++) {
        const ss_tree_host *t = pass ? main_host : h;

        for (i = 0; t && i < t->proxied->nelts; i++) {
            const ap_directive_t *d = APR_ARRAY_IDX(t->proxied, i, const ap_directive_t *);
            const char *target = NULL, *path = ss_proxy_path(p, d, &target);

            if (!path || !ss_proxy_covers(p, d, path, conf->path)) {
                continue;
            }
            if (!strcmp(target, "!")) {
                return;
            }
            if (!covering) {
                covering = d;
                covering_target = target;
            }
        }
        if (h == main_host) {
            break;
        }
    }
    if (covering && ss_first_time(said, p, "proxied", covering, 0)) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, NULL, SSLOGNO(00121)
                     "%s (%s:%d) sends SharedSessionPath %s of %s to %s: tickets, go and "
                     "start never reach the module there; add 'ProxyPass %s !' before it",
                     covering->directive, covering->filename, covering->line_num,
                     conf->path, ss_server_label(p, vs), covering_target, conf->path);
    }
}

void ss_check_sites(apr_pool_t *ptemp, server_rec *s)
{
    ss_tree_host *main_host = ss_tree_host_make(ptemp, NULL);
    apr_array_header_t *vhosts = apr_array_make(ptemp, 8, sizeof(ss_tree_host *));
    apr_array_header_t *all_names = apr_array_make(ptemp, 16, sizeof(ss_local_name));
    apr_hash_t *said = apr_hash_make(ptemp);
    server_rec *vs;
    int i;

    ss_walk(ptemp, ap_conftree, main_host, vhosts);
    apr_array_cat(all_names, main_host->names);
    for (i = 0; i < vhosts->nelts; i++) {
        apr_array_cat(all_names, APR_ARRAY_IDX(vhosts, i, ss_tree_host *)->names);
    }
    for (vs = s; vs; vs = vs->next) {
        const ss_tree_host *h = NULL;
        const char *mount;

        if (!vs->is_virtual) {
            /* with virtual hosts, the main server answers only what none takes */
            h = main_host;
            mount = s->next ? NULL : main_host->mount;
        }
        else {
            for (i = 0; i < vhosts->nelts; i++) {
                const ss_tree_host *v = APR_ARRAY_IDX(vhosts, i, ss_tree_host *);

                if (vs->defn_name && !strcmp(v->node->filename, vs->defn_name)
                    && v->node->line_num == (int)vs->defn_line_number) {
                    h = v;
                    break;
                }
            }
            mount = h && h->mount ? h->mount : main_host->mount;
        }
        if (mount) {
            ss_check_served(ptemp, vs, h, mount, said);
        }
        if (h && ss_conf(vs)->sites->nelts) {
            ss_check_strict(h);
            ss_check_proxied(ptemp, vs, h, main_host, said);
        }
        ss_check_typos(ptemp, vs, all_names, said);
    }
}

/* ---- at run time ---------------------------------------------------------- */

static apr_uint32_t ss_filter_without_session_said;

void ss_filter_check_session(request_rec *r)
{
    /* without SharedSessionSites the cause is that (configtest says so) */
    if (apr_atomic_read32(&ss_filter_without_session_said)
        || !ss_conf(r->server)->sites->nelts || ss_conf(r->server)->cookies
        || ss_load_session(r)) {
        return;
    }
    if (apr_atomic_cas32(&ss_filter_without_session_said, 1, 0) == 0) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, SSLOGNO(02030)
                      "the %s filter runs for %s on %s, where mod_session is not on: "
                      "it has no session to share and inserts nothing; add 'Session On' "
                      "and a session store (SessionCookieName) where the filter is, or "
                      "remove the filter (said once per process)", SS_FILTER,
                      ap_escape_logitem(r->pool, r->uri),
                      r->hostname ? ap_escape_logitem(r->pool, r->hostname) : "-");
    }
}

int ss_handler_unmounted(request_rec *r, const ss_server_conf *conf)
{
    if (!conf->sites->nelts) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, SSLOGNO(01085)
                      "SetHandler shared-session serves %s, but %s has no "
                      "SharedSessionSites: the module is not configured for this "
                      "server; enable the server-wide configuration (on Debian: "
                      "a2enconf with the file that holds SharedSessionSites and "
                      "SharedSessionKeyFile) or add both directives to this virtual host",
                      ap_escape_logitem(r->pool, r->uri),
                      ss_server_label(r->pool, r->server));
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, SSLOGNO(01002)
                      "SetHandler shared-session serves %s, outside SharedSessionPath %s: "
                      "mount the handler at <Location %s>, or set SharedSessionPath to "
                      "where it is mounted", ap_escape_logitem(r->pool, r->uri), conf->path,
                      conf->path);
    }
    return HTTP_NOT_FOUND;
}
