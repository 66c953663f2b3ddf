/* Where `go` may send a user, and the other request decisions of
 * lib/ss_request.h and lib/ss_url.h that read attacker-chosen text.
 *
 * Input: lines.  Line 1 is the request's query string, as r->args (the
 * handler takes to= from it with ss_query_param); when it has no to=, the
 * line itself is the `to` URL.  Line 2 picks the current site (a number);
 * further lines are SharedSessionSites entries (when none parses, a fixed
 * list is used).  Line 1 is also used as a Referer, a handler name and a
 * Cache-Control value.
 *
 * Properties:
 *  - ss_url_parse: any byte < 0x21 or >= 0x7f, a backslash or userinfo
 *    refuses the URL; an accepted one has scheme http(s), a lowercase host
 *    of host characters, a port 1-65535 (the scheme's when none is given),
 *    and a path_query that starts with '/' and holds only 0x21-0x7e and no
 *    '#'; scheme://host[:port]path_query parses to the same URL;
 *  - an accepted URL's host is in the normal form of lib/ss_host.h, the
 *    grammar of site entries too (one grammar for both);
 *  - ss_go_target never returns the current site, returns a site only for
 *    its very host (no subdomain), keeps to the entry's port (or the
 *    scheme's default), its
 *    path_query passes ss_next_valid, and the Location the handler builds
 *    from it has no CR/LF/space/control byte and leads back to that site;
 *    a refusal has a one-line reason;
 *  - ss_referer_matches only for a parsable URL of the source site's very
 *    scheme, host and port (the scheme's default when its entry names none);
 *    ss_route_name and ss_cache_control_private keep their contracts;
 *  - start's `to` (line 1 as a path): an accepted one is a path that a
 *    navigation ticket can carry, at most SS_STATE_TO_MAX characters, not
 *    under the handler's path, and travels through a state cookie's text
 *    unchanged; a refusal has a one-line reason;
 *  - line 1 as a request line: what the logs show has no base64url name
 *    left under the handler's path (but go and start), and no state= value
 *    but "<state>". */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <apr_strings.h>

#include "fuzz.h"
#include "ss_host.h"
#include "ss_request.h"
#include "ss_sites.h"
#include "ss_state.h"
#include "ss_ticket.h"
#include "ss_url.h"

const char fuzz_target_name[] = "go";

#define MAX_SITES 8

static const char *const default_sites[] = {
    "www.example.com", "https://www.example.org", "http://b.test:8080",
    "example.net", "https://[::1]:8443", "127.0.0.1:8081"
};

static int clean(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e) {
            return 0;
        }
    }
    return 1;
}

static int one_line(const char *s)
{
    return s && *s && !strchr(s, '\n') && !strchr(s, '\r');
}

static int b64url_only(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_') {
            return 0;
        }
    }
    return 1;
}

static void check_url(apr_pool_t *p, const char *s)
{
    const char *err = NULL, *again;
    ss_url u, v;
    size_t i;
    int bad_byte = 0;

    for (i = 0; s[i] && i <= SS_URL_MAX; i++) {
        unsigned char c = (unsigned char)s[i];

        bad_byte |= c < 0x21 || c >= 0x7f || c == '\\';
    }
    if (ss_url_parse(p, s, &u, &err) != APR_SUCCESS) {
        FUZZ_CHECK(one_line(err));
        return;
    }
    FUZZ_CHECK(!bad_byte);
    FUZZ_CHECK(!strcmp(u.scheme, "http") || !strcmp(u.scheme, "https"));
    FUZZ_CHECK(u.host && *u.host && clean(u.host));
    for (i = 0; u.host[i]; i++) {
        FUZZ_CHECK(!isupper((unsigned char)u.host[i]));
        FUZZ_CHECK(isalnum((unsigned char)u.host[i]) || strchr(".-[]:", u.host[i]));
        FUZZ_CHECK(u.host[i] != '@');
    }
    {
        const char *norm = NULL;
        ss_site site;

        FUZZ_CHECK(ss_host_parse(p, u.host, strlen(u.host), &norm, &err) != SS_HOST_INVALID
                   && !strcmp(norm, u.host));
        if (strlen(u.host) <= SS_SITE_ID_MAX) {
            FUZZ_CHECK(ss_site_parse(p, u.host, &site, &err) == APR_SUCCESS
                       && !strcmp(site.host, u.host));
        }
    }
    FUZZ_CHECK(u.port >= 1 && u.port <= 65535);
    FUZZ_CHECK(u.port_given || u.port == ss_site_default_port(u.scheme));
    FUZZ_CHECK(u.path_query && u.path_query[0] == '/' && clean(u.path_query));
    FUZZ_CHECK(!strchr(u.path_query, '#'));
    again = u.port_given
        ? apr_psprintf(p, "%s://%s:%d%s", u.scheme, u.host, u.port, u.path_query)
        : apr_pstrcat(p, u.scheme, "://", u.host, u.path_query, NULL);
    FUZZ_CHECK(ss_url_parse(p, again, &v, &err) == APR_SUCCESS);
    FUZZ_CHECK(!strcmp(v.scheme, u.scheme) && !strcmp(v.host, u.host)
               && v.port == u.port && v.port_given == u.port_given
               && !strcmp(v.path_query, u.path_query));
}

static void check_go(apr_pool_t *p, const ss_site *sites, int nsites, int cur,
                     const char *to)
{
    const ss_site *target, *current = &sites[cur];
    const char *err = NULL, *authority, *where;
    ss_url u, w;
    int idx;

    target = ss_go_target(p, sites, nsites, current, to, &u, &err);
    if (!target) {
        FUZZ_CHECK(one_line(err));
        return;
    }
    idx = (int)(target - sites);
    FUZZ_CHECK(idx >= 0 && idx < nsites && target != current);
    FUZZ_CHECK(ss_host_relation(u.host, target->host) == SS_HOST_SAME);
    FUZZ_CHECK(ss_sites_match(sites, nsites, u.host, u.port, NULL) == target);
    if (target->port) {
        FUZZ_CHECK(u.port == target->port);
    }
    else {
        FUZZ_CHECK(u.port == ss_site_default_port(u.scheme));
    }
    FUZZ_CHECK(ss_next_valid(u.path_query, strlen(u.path_query)));
    FUZZ_CHECK(clean(u.host) && clean(u.path_query));
    /* the Location of glue/ss_handler.c's ss_handle_go, without a ticket
     * and with one (a navigation ticket's next is u.path_query) */
    authority = u.port_given ? apr_psprintf(p, "%s:%d", u.host, u.port) : u.host;
    where = apr_pstrcat(p, u.scheme, "://", authority, u.path_query, NULL);
    FUZZ_CHECK(clean(where));
    FUZZ_CHECK(ss_url_parse(p, where, &w, &err) == APR_SUCCESS);
    FUZZ_CHECK(ss_sites_match(sites, nsites, w.host, w.port, NULL) == target);
    where = apr_pstrcat(p, target->scheme, "://", authority, "/shared-session/", "AQ", NULL);
    FUZZ_CHECK(clean(where));
    FUZZ_CHECK(ss_url_parse(p, where, &w, &err) == APR_SUCCESS);
    FUZZ_CHECK(!strcmp(w.host, target->host));
}

static void check_route(const char *name)
{
    size_t tlen = 9999, len = strlen(name);
    ss_route r = ss_route_name(name, &tlen);

    if (!strcmp(name, "go")) {
        FUZZ_CHECK(r == SS_ROUTE_GO);
        return;
    }
    if (!strcmp(name, "start")) {
        FUZZ_CHECK(r == SS_ROUTE_START);
        return;
    }
    FUZZ_CHECK(r != SS_ROUTE_GO && r != SS_ROUTE_START);
    if (r == SS_ROUTE_NAVIGATION) {
        FUZZ_CHECK(tlen == len && tlen > 0 && b64url_only(name, tlen));
    }
    else if (r == SS_ROUTE_SCRIPT) {
        FUZZ_CHECK(tlen + 3 == len && tlen > 0 && b64url_only(name, tlen)
                   && !strcmp(name + tlen, ".js"));
    }
    else {
        FUZZ_CHECK(len == 0 || !b64url_only(name, len));
        FUZZ_CHECK(len <= 3 || strcmp(name + len - 3, ".js") || !b64url_only(name, len - 3));
    }
}

#define HANDLER_PATH "/shared-session/"

static void check_start_to(apr_pool_t *p, const char *to)
{
    static const unsigned char rnd[SS_STATE_RANDOM_BYTES] = { 1, 2, 3 };
    const char *why = ss_state_to_check(to, HANDLER_PATH), *text, *back;
    size_t len = strlen(to);

    if (why) {
        FUZZ_CHECK(one_line(why));
        return;
    }
    FUZZ_CHECK(len >= 1 && len <= SS_STATE_TO_MAX && ss_next_valid(to, len));
    FUZZ_CHECK(strncasecmp(to, HANDLER_PATH, strlen(HANDLER_PATH)) != 0);
    text = ss_state_text(p, rnd, to);
    FUZZ_CHECK(clean(text));
    back = ss_state_text_to(p, text, HANDLER_PATH);
    FUZZ_CHECK(back && !strcmp(back, to));
}

/* What the logs show of a request line. */
static void check_line_redact(apr_pool_t *p, const char *line)
{
    const char *shown = ss_request_line_redact(p, line, HANDLER_PATH), *at, *st;

    if (!shown) {
        shown = line;
    }
    for (at = strstr(shown, HANDLER_PATH); at; at = strstr(at + 1, HANDLER_PATH)) {
        const char *name = at + strlen(HANDLER_PATH);
        const char *sp = strchr(shown, ' ');
        size_t n = strcspn(name, "? ");

        /* the first occurrence after the method is the path */
        if (!sp || at != sp + 1 || !strchr(line, ' ')) {
            break;
        }
        FUZZ_CHECK(n == 0 || !b64url_only(name, n) || (n == 2 && !strncmp(name, "go", 2))
                   || (n == 5 && !strncmp(name, "start", 5))
                   || !strncmp(name, "<ticket>", 8));
        if (n == 2 && !strncmp(name, "go", 2) && name[2] == '?') {
            for (st = strstr(name, "state="); st; st = strstr(st + 1, "state=")) {
                if (st[-1] == '?' || st[-1] == '&') {
                    FUZZ_CHECK(!strncmp(st + 6, "<state>", 7));
                }
            }
        }
        break;
    }
}

/* Cache-Control: "private" is one of the tokens, "public" and "s-maxage"
 * none of them; with no_store, "no-store" is one of them. */
static void check_cache_control(apr_pool_t *p, const char *cc, int no_store)
{
    const char *out = ss_cache_control_private(p, cc, no_store);
    char *copy = apr_pstrdup(p, out), *tok, *last = NULL;
    int private = 0, has_no_store = 0;

    /* within the buffer ss_cache_control_private sizes for it */
    FUZZ_CHECK(strlen(out) + 1 <= (cc ? 2 * strlen(cc) : 0) + 20);

    for (tok = apr_strtok(copy, ",", &last); tok; tok = apr_strtok(NULL, ",", &last)) {
        while (*tok == ' ' || *tok == '\t') {
            tok++;
        }
        FUZZ_CHECK(strcasecmp(tok, "public") != 0);
        FUZZ_CHECK(strncasecmp(tok, "s-maxage=", 9) != 0 && strcasecmp(tok, "s-maxage") != 0);
        private |= !strncasecmp(tok, "private", 7);
        has_no_store |= !strncasecmp(tok, "no-store", 8);
    }
    FUZZ_CHECK(private);
    FUZZ_CHECK(!no_store || has_no_store);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_input_pool();
    ss_site sites[MAX_SITES];
    const uint8_t *rest;
    size_t restlen;
    char *args, *curline, *line;
    const char *to, *err;
    int nsites = 0, cur, i;

    fuzz_split(data, size, '\n', &args, &rest, &restlen);
    fuzz_split(rest, restlen, '\n', &curline, &rest, &restlen);
    while (restlen > 0 && nsites < MAX_SITES) {
        fuzz_split(rest, restlen, '\n', &line, &rest, &restlen);
        if (ss_site_parse(p, line, &sites[nsites], &err) == APR_SUCCESS) {
            nsites++;
        }
    }
    if (nsites == 0) {
        for (i = 0; i < (int)(sizeof(default_sites) / sizeof(default_sites[0])); i++) {
            FUZZ_CHECK(ss_site_parse(p, default_sites[i], &sites[nsites++], &err)
                       == APR_SUCCESS);
        }
    }
    cur = (int)(strtoul(curline, NULL, 10) % (unsigned long)nsites);

    to = ss_query_param(p, args, "to");
    if (!to) {
        to = args;
    }
    check_url(p, to);
    check_go(p, sites, nsites, cur, to);
    /* as a Referer/Origin of a ticket from each site */
    for (i = 0; i < nsites; i++) {
        if (ss_referer_matches(p, args, &sites[i])) {
            ss_url u;

            FUZZ_CHECK(ss_url_parse(p, args, &u, &err) == APR_SUCCESS);
            FUZZ_CHECK(!strcmp(u.scheme, sites[i].scheme) && !strcmp(u.host, sites[i].host));
            FUZZ_CHECK(u.port == (sites[i].port ? sites[i].port
                                                : ss_site_default_port(sites[i].scheme)));
        }
    }
    check_route(args);
    check_cache_control(p, args, 0);
    check_cache_control(p, args, 1);
    check_start_to(p, args);
    check_line_redact(p, args);
    fuzz_input_done();
    return 0;
}
