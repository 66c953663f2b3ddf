/* Strict absolute-URL parsing for `go?to=` and Referer/Origin. */
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include <apr_lib.h>

#include "ss_url.h"

static apr_status_t url_refuse(const char **err, const char *why)
{
    *err = why;
    return APR_EINVAL;
}

/* Lowercased copy of s[0..len). */
static const char *url_lower(apr_pool_t *p, const char *s, size_t len)
{
    char *out = apr_pstrmemdup(p, s, len);
    size_t i;

    for (i = 0; i < len; i++) {
        out[i] = (char)apr_tolower(out[i]);
    }
    return out;
}

/* "[v6]" with hex digits and ':', or a name of letters, digits, '-', '.'.
 * Anything else cannot be one of our sites, and refusing it here keeps odd
 * hosts out of later comparisons and logs. */
static int url_host_valid(const char *h, size_t len)
{
    size_t i;

    if (h[0] == '[') {
        if (len < 4 || h[len - 1] != ']') {
            return 0;
        }
        for (i = 1; i + 1 < len; i++) {
            if (h[i] != ':' && !apr_isxdigit(h[i])) {
                return 0;
            }
        }
        return 1;
    }
    for (i = 0; i < len; i++) {
        if (!apr_isalnum(h[i]) && h[i] != '-' && h[i] != '.') {
            return 0;
        }
        /* no empty label (".a", "a..b"); one trailing dot ("a.") is a FQDN */
        if (h[i] == '.' && (i == 0 || h[i - 1] == '.')) {
            return 0;
        }
    }
    return 1;
}

apr_status_t ss_url_parse(apr_pool_t *p, const char *s, ss_url *u,
                          const char **err)
{
    const char *auth, *auth_end, *host_end, *rest, *frag;
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
    if (!url_host_valid(auth, (size_t)(host_end - auth))) {
        return url_refuse(err, "invalid host in the URL");
    }

    if (host_end < auth_end) {
        const char *d;

        /* ":" then 1-65535 in decimal; an empty port is refused too */
        if (*host_end != ':' || host_end + 1 == auth_end) {
            return url_refuse(err, "invalid port");
        }
        for (d = host_end + 1; d < auth_end; d++) {
            if (!apr_isdigit(*d)) {
                return url_refuse(err, "invalid port");
            }
            port = port * 10 + (*d - '0');
            if (port > 65535) {
                return url_refuse(err, "invalid port");
            }
        }
        if (port == 0) {
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
    u->host = url_lower(p, auth, (size_t)(host_end - auth));
    u->port = port;
    *err = NULL;
    return APR_SUCCESS;
}
