/* Diagnostics for administrators that need no httpd (see ss_diag.h). */
#include "ss_diag.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <string.h>

int ss_one_edit_apart(const char *a, const char *b)
{
    size_t la, lb, i = 0;

    if (!a || !b) {
        return 0;
    }
    la = strlen(a);
    lb = strlen(b);
    if (la < lb) {
        const char *t = a;
        size_t tl = la;

        a = b; la = lb;
        b = t; lb = tl;
    }
    if (la - lb > 1) {
        return 0;
    }
    /* the common prefix; the first difference decides which edit it is */
    while (i < lb && apr_tolower(a[i]) == apr_tolower(b[i])) {
        i++;
    }
    if (la == lb) {
        if (i == la) {
            return 0;                               /* equal */
        }
        /* one replaced: the rest is equal */
        if (!strcasecmp(a + i + 1, b + i + 1)) {
            return 1;
        }
        /* two adjacent swapped */
        return i + 1 < la
            && apr_tolower(a[i]) == apr_tolower(b[i + 1])
            && apr_tolower(a[i + 1]) == apr_tolower(b[i])
            && !strcasecmp(a + i + 2, b + i + 2);
    }
    /* one inserted into b (deleted from a) at i */
    return !strcasecmp(a + i + 1, b + i);
}

const char *ss_server_name_host(apr_pool_t *p, const char *value)
{
    const char *s = value, *end;
    char *host, *c;
    size_t n;

    if (!s) {
        return NULL;
    }
    if (!strncasecmp(s, "http://", 7)) {
        s += 7;
    }
    else if (!strncasecmp(s, "https://", 8)) {
        s += 8;
    }
    if (*s == '[') {
        end = strchr(s, ']');
        end = end ? end + 1 : s + strlen(s);
    }
    else {
        end = s + strcspn(s, ":/");
    }
    n = (size_t)(end - s);
    while (n && s[n - 1] == '.') {
        n--;
    }
    if (!n || memchr(s, '*', n) || memchr(s, '?', n)) {
        return NULL;
    }
    host = apr_pstrmemdup(p, s, n);
    for (c = host; *c; c++) {
        *c = (char)apr_tolower(*c);
    }
    return host;
}

static void ss_add_id(const char **ids, int *n, int max, const char *id, const char *own)
{
    int i;

    if (*n >= max || !strcmp(id, own)) {
        return;
    }
    for (i = 0; i < *n; i++) {
        if (!strcmp(ids[i], id)) {
            return;
        }
    }
    ids[(*n)++] = id;
}

int ss_site_id_variants(apr_pool_t *p, const ss_site *entry, const char *host,
                        int port, const char **ids, int max)
{
    const char *bases[4];
    int nbases = 0, n = 0, i;
    const char *hosts[2];

    hosts[0] = entry->host;
    hosts[1] = host ? ss_server_name_host(p, host) : NULL;
    for (i = 0; i < 2; i++) {
        const char *h = hosts[i];

        if (!h) {
            continue;
        }
        bases[nbases++] = h;
        bases[nbases++] = !strncmp(h, "www.", 4) ? h + 4 : apr_pstrcat(p, "www.", h, NULL);
    }
    for (i = 0; i < nbases; i++) {
        if (!*bases[i]) {
            continue;
        }
        ss_add_id(ids, &n, max, bases[i], entry->id);
        if (port > 0) {
            ss_add_id(ids, &n, max, apr_psprintf(p, "%s:%d", bases[i], port), entry->id);
        }
        if (entry->port > 0 && entry->port != port) {
            ss_add_id(ids, &n, max, apr_psprintf(p, "%s:%d", bases[i], entry->port),
                      entry->id);
        }
    }
    return n;
}

const char *ss_status_key(apr_pool_t *p, const char *name)
{
    char *out = apr_palloc(p, strlen(name) + 1), *d = out;
    int up = 1;

    for (; *name; name++) {
        if (*name == '-' || *name == '_' || *name == ' ') {
            up = 1;
            continue;
        }
        *d++ = up ? (char)apr_toupper(*name) : *name;
        up = 0;
    }
    *d = '\0';
    return out;
}
