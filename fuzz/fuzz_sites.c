/* The SharedSessionSites list, lib/ss_sites.h.
 *
 * Input: lines.  Line 1 is a request's host, line 2 its port (decimal);
 * every further line (up to 16) is a SharedSessionSites entry.
 *
 * Properties:
 *  - an accepted entry has a lowercase host of valid characters, a port of
 *    0 or 1-65535, a scheme http/https, and an id (host or host:port) of
 *    1-255 printable bytes (it travels in tickets with a 1-byte length);
 *  - its id parses again to the same site (scheme https), and so does its
 *    origin (same scheme too); parsing is deterministic;
 *  - a refusal has a one-line reason;
 *  - its host is in the normal form of lib/ss_host.h (parsing it again
 *    gives itself; labels of 1-63, at most 253 characters, no trailing
 *    dot) and a URL with that host reads the same host (one grammar);
 *  - ss_host_relation agrees with a reference (equal, or a subdomain on a
 *    label boundary, never below an address) and ss_sites_match returns the
 *    reference's most specific entry (exact over subdomain, longer host,
 *    named port over none, first on a tie), saying whether it is exact. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <apr_strings.h>

#include "fuzz.h"
#include "ss_host.h"
#include "ss_sites.h"
#include "ss_ticket.h"
#include "ss_url.h"

const char fuzz_target_name[] = "sites";

#define MAX_SITES 16

static int one_line(const char *s)
{
    return s && *s && !strchr(s, '\n') && !strchr(s, '\r');
}

static int same_site(const ss_site *a, const ss_site *b)
{
    return !strcmp(a->host, b->host) && a->port == b->port && !strcmp(a->id, b->id);
}

/* A name whose last label is all digits, or "[v6]": no subdomains. */
static int ref_is_address(const char *h)
{
    const char *last = strrchr(h, '.');

    if (h[0] == '[') {
        return 1;
    }
    last = last ? last + 1 : h;
    return strspn(last, "0123456789") == strlen(last);
}

static int ref_within(const char *host, const char *site)
{
    size_t hl = strlen(host), sl = strlen(site);

    if (hl && host[hl - 1] == '.') {
        hl--;
    }
    if (!hl || !sl) {
        return 0;
    }
    if (hl == sl) {
        return strncasecmp(host, site, hl) == 0 ? 2 : 0;
    }
    if (hl > sl + 1 && host[hl - sl - 1] == '.' && !ref_is_address(site)
        && strncasecmp(host + hl - sl, site, sl) == 0) {
        return 1;
    }
    return 0;
}

static void check_entry(apr_pool_t *p, const char *arg, const ss_site *s)
{
    ss_site again, o;
    const char *err = NULL, *origin;
    size_t i, idlen = strlen(s->id);

    FUZZ_CHECK(!strcmp(s->scheme, "https") || !strcmp(s->scheme, "http"));
    FUZZ_CHECK(s->host && *s->host);
    for (i = 0; s->host[i]; i++) {
        FUZZ_CHECK(!isupper((unsigned char)s->host[i]));
        FUZZ_CHECK(isalnum((unsigned char)s->host[i]) || strchr(".-[]:", s->host[i]));
    }
    /* the normal form of the one host grammar, which URLs share */
    {
        const char *norm = NULL, *label = s->host, *dot;
        size_t hlen = strlen(s->host);
        ss_host_kind kind = ss_host_parse(p, s->host, hlen, &norm, &err);
        ss_url u;

        FUZZ_CHECK(kind != SS_HOST_INVALID && !strcmp(norm, s->host));
        FUZZ_CHECK(s->host[hlen - 1] != '.');
        if (kind != SS_HOST_IPV6) {
            FUZZ_CHECK(hlen <= SS_HOST_NAME_MAX);
            for (;; label = dot + 1) {
                size_t llen;

                dot = strchr(label, '.');
                llen = dot ? (size_t)(dot - label) : strlen(label);
                FUZZ_CHECK(llen >= 1 && llen <= SS_HOST_LABEL_MAX);
                FUZZ_CHECK(label[0] != '-' && label[llen - 1] != '-');
                if (!dot) {
                    break;
                }
            }
        }
        FUZZ_CHECK(ss_url_parse(p, apr_pstrcat(p, s->scheme, "://", s->id, "/", NULL), &u,
                                &err) == APR_SUCCESS);
        FUZZ_CHECK(!strcmp(u.host, s->host) && u.port == (s->port ? s->port
                                                          : ss_site_default_port(s->scheme)));
    }
    FUZZ_CHECK(s->port >= 0 && s->port <= 65535);
    FUZZ_CHECK(idlen >= 1 && idlen <= SS_SITE_ID_MAX);
    for (i = 0; i < idlen; i++) {
        FUZZ_CHECK(s->id[i] >= 0x21 && s->id[i] <= 0x7e);
    }
    if (s->port) {
        FUZZ_CHECK(!strcmp(s->id, apr_psprintf(p, "%s:%d", s->host, s->port)));
    }
    else {
        FUZZ_CHECK(!strcmp(s->id, s->host));
    }
    /* the id is an entry again (without a scheme: https) */
    FUZZ_CHECK(ss_site_parse(p, s->id, &again, &err) == APR_SUCCESS);
    FUZZ_CHECK(same_site(&again, s) && !strcmp(again.scheme, "https"));
    origin = ss_site_origin(p, s);
    FUZZ_CHECK(ss_site_parse(p, origin, &o, &err) == APR_SUCCESS);
    FUZZ_CHECK(same_site(&o, s) && !strcmp(o.scheme, s->scheme));
    FUZZ_CHECK(ss_site_default_port(s->scheme) == (!strcmp(s->scheme, "http") ? 80 : 443));
    /* deterministic */
    FUZZ_CHECK(ss_site_parse(p, arg, &again, &err) == APR_SUCCESS && same_site(&again, s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_input_pool();
    ss_site sites[MAX_SITES];
    const ss_site *m, *best = NULL;
    int exact = -1;
    const uint8_t *rest = data;
    size_t restlen = size, best_len = 0;
    char *host, *portline, *line;
    int nsites = 0, port, best_rel = 0, i;

    fuzz_split(rest, restlen, '\n', &host, &rest, &restlen);
    fuzz_split(rest, restlen, '\n', &portline, &rest, &restlen);
    port = (int)(strtol(portline, NULL, 10) % 70000);
    while (restlen > 0 && nsites < MAX_SITES) {
        const char *err = NULL;
        ss_site s;

        fuzz_split(rest, restlen, '\n', &line, &rest, &restlen);
        if (ss_site_parse(p, line, &s, &err) == APR_SUCCESS) {
            check_entry(p, line, &s);
            sites[nsites++] = s;
        }
        else {
            FUZZ_CHECK(one_line(err));
            FUZZ_CHECK(ss_site_parse(p, line, &s, &err) != APR_SUCCESS);
        }
    }

    for (i = 0; i < nsites; i++) {
        int rel = ref_within(host, sites[i].host);
        size_t len = strlen(sites[i].host);

        FUZZ_CHECK((int)ss_host_relation(host, sites[i].host) == rel);
        if (!rel || (sites[i].port && sites[i].port != port)) {
            continue;
        }
        if (!best || rel > best_rel || (rel == best_rel && len > best_len)
            || (rel == best_rel && len == best_len && sites[i].port && !best->port)) {
            best = &sites[i];
            best_rel = rel;
            best_len = len;
        }
    }
    m = ss_sites_match(sites, nsites, host, port, &exact);
    FUZZ_CHECK(m == best);
    FUZZ_CHECK(exact == (best_rel == SS_HOST_SAME));
    FUZZ_CHECK(ss_sites_match(sites, nsites, host, port, NULL) == best);
    FUZZ_CHECK(ss_sites_match(sites, 0, host, port, &exact) == NULL && exact == 0);
    FUZZ_CHECK(ss_host_relation(NULL, "example.com") == SS_HOST_OTHER
               && ss_host_relation(host, NULL) == SS_HOST_OTHER);
    fuzz_input_done();
    return 0;
}
