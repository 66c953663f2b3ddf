/* Strict absolute-URL parsing for `go?to=` and Referer/Origin. */
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include <apr_lib.h>

#include "ss_host.h"
#include "ss_url.h"

static apr_status_t url_refuse(const char **err, const char *why)
{
    *err = why;
    return APR_EINVAL;
}

apr_status_t ss_url_parse(apr_pool_t *p, const char *s, ss_url *u,
                          const char **err)
{
    const char *auth, *auth_end, *host_end, *rest, *frag, *why, *host;
    size_t len, i, scheme_len;
    int port = 0;

    memset(u, 0, sizeof(*u));
    if (!s || !*s) {
        return url_refuse(err, "empty URL");
    }
    len = strnlen(s, SS_URL_MAX + 1);
    if (len > SS_URL_MAX) {
        return url_refuse(err, "URL longer than 8192 characters");
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x21 || c == 0x7f) {
            return url_refuse(err, "control character or space in the URL");
        }
        if (c > 0x7f) {
            return url_refuse(err, "non-ASCII byte in the URL");
        }
        if (c == '\\') {
            return url_refuse(err, "backslash in the URL");
        }
    }

    if (!strncasecmp(s, "https://", 8)) {
        scheme_len = 5;
    }
    else if (!strncasecmp(s, "http://", 7)) {
        scheme_len = 4;
    }
    else {
        return url_refuse(err, "not an absolute http(s) URL");
    }

    auth = s + scheme_len + 3;
    auth_end = auth + strcspn(auth, "/?#");
    if (memchr(auth, '@', (size_t)(auth_end - auth))) {
        return url_refuse(err, "user information is not allowed in the URL");
    }
    if (*auth == '[') {
        host_end = memchr(auth, ']', (size_t)(auth_end - auth));
        host_end = host_end ? host_end + 1 : auth_end;
    }
    else {
        host_end = memchr(auth, ':', (size_t)(auth_end - auth));
        host_end = host_end ? host_end : auth_end;
    }
    if (host_end == auth) {
        return url_refuse(err, "empty host in the URL");
    }
    /* the grammar of SharedSessionSites entries: an odd host cannot be one
     * of the sites, and it stays out of later comparisons and logs */
    if (!ss_host_parse(p, auth, (size_t)(host_end - auth), &host, &why)) {
        return url_refuse(err, "invalid host in the URL");
    }

    if (host_end < auth_end) {
        /* ":" then 1-65535 in decimal; an empty port is refused too */
        if (*host_end != ':'
            || !(port = ss_host_port_parse(host_end + 1, (size_t)(auth_end - host_end - 1),
                                           &why))) {
            return url_refuse(err, "invalid port");
        }
        u->port_given = 1;
    }
    else {
        port = scheme_len == 5 ? 443 : 80;
    }

    rest = auth_end;
    frag = strchr(rest, '#');
    if (!frag) {
        frag = s + len;
    }
    if (*rest == '/') {
        u->path_query = apr_pstrmemdup(p, rest, (size_t)(frag - rest));
    }
    else {
        /* "" or "?query": the path is "/" */
        u->path_query = apr_pstrcat(p, "/", apr_pstrmemdup(p, rest, (size_t)(frag - rest)),
                                    NULL);
    }
    u->scheme = scheme_len == 5 ? "https" : "http";
    u->host = host;
    u->port = port;
    *err = NULL;
    return APR_SUCCESS;
}
