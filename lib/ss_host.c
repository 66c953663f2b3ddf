/* The host grammar; see ss_host.h. */
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include <apr_lib.h>

#include "ss_host.h"

#define HOST_STR_(x) #x
#define HOST_STR(x) HOST_STR_(x)

#define HOST_BAD_IPV6 "invalid IPv6 address (hex digits and ':' in brackets)"
#define HOST_BAD_IPV4 "invalid IPv4 address (a host that ends in a number must be " \
                      "four numbers 0-255 without leading zeros)"

/* The last label of h[0..len) (no trailing dot) is a number, as browsers
 * see one: decimal digits, or "0x"/"0X" and hex digits.  Such a host is an
 * IPv4 address or nothing. */
static int host_ends_in_number(const char *h, size_t len)
{
    size_t start = len, i;

    while (start > 0 && h[start - 1] != '.') {
        start--;
    }
    if (start == len) {
        return 0;
    }
    if (len - start >= 2 && h[start] == '0' && (h[start + 1] | 0x20) == 'x') {
        for (i = start + 2; i < len; i++) {
            if (!apr_isxdigit(h[i])) {
                return 0;
            }
        }
        return 1;
    }
    for (i = start; i < len; i++) {
        if (!apr_isdigit(h[i])) {
            return 0;
        }
    }
    return 1;
}

/* Four decimal numbers 0-255 without leading zeros, joined by '.'. */
static int host_is_dotted_quad(const char *h, size_t len)
{
    size_t i = 0;
    int part;

    for (part = 0; part < 4; part++) {
        size_t start = i;
        unsigned v = 0;

        if (part > 0) {
            if (i >= len || h[i] != '.') {
                return 0;
            }
            start = ++i;
        }
        while (i < len && apr_isdigit(h[i]) && i - start < 3) {
            v = v * 10 + (unsigned)(h[i] - '0');
            i++;
        }
        if (i == start || v > 255 || (h[start] == '0' && i - start > 1)) {
            return 0;
        }
    }
    return i == len;
}

/* Labels of letters, digits and '-' (h has no trailing dot). */
static const char *host_name_check(const char *h, size_t len)
{
    size_t i, label = 0;

    for (i = 0; i < len; i++) {
        if (h[i] == '.') {
            if (label == 0) {
                return "empty label in host";
            }
            if (h[i - 1] == '-') {
                return "host label ends with '-'";
            }
            label = 0;
            continue;
        }
        if (!apr_isalnum(h[i]) && h[i] != '-') {
            return "invalid character in host (letters, digits, '-' and '.' only)";
        }
        if (label == 0 && h[i] == '-') {
            return "host label starts with '-'";
        }
        if (++label > SS_HOST_LABEL_MAX) {
            return "host label longer than " HOST_STR(SS_HOST_LABEL_MAX) " characters";
        }
    }
    if (label == 0) {
        return "empty label in host";
    }
    if (h[len - 1] == '-') {
        return "host label ends with '-'";
    }
    if (len > SS_HOST_NAME_MAX) {
        return "host longer than " HOST_STR(SS_HOST_NAME_MAX) " characters";
    }
    if (host_ends_in_number(h, len) && !host_is_dotted_quad(h, len)) {
        return HOST_BAD_IPV4;
    }
    return NULL;
}

/* "[" groups "]": at most SS_HOST_IPV6_GROUPS groups of 1-4 hex digits
 * joined by ':', exactly that many unless one "::" stands for the rest. */
static const char *host_ipv6_check(const char *h, size_t len)
{
    const char *s = h + 1, *end = h + len - 1;
    int groups = 0, gap = 0;

    if (len < 2 || h[len - 1] != ']') {
        return "invalid IPv6 address (no closing ']')";
    }
    if (s < end && *s == ':') {
        if (end - s < 2 || s[1] != ':') {
            return HOST_BAD_IPV6;
        }
        gap = 1;
        s += 2;
    }
    while (s < end) {
        size_t n = 0;

        while (s + n < end && apr_isxdigit(s[n])) {
            n++;
        }
        if (n == 0 || n > 4) {
            return HOST_BAD_IPV6;
        }
        groups++;
        s += n;
        if (s == end) {
            break;
        }
        if (*s++ != ':' || s == end) {
            return HOST_BAD_IPV6;       /* another character, or a ':' at the end */
        }
        if (*s == ':') {
            if (gap) {
                return HOST_BAD_IPV6;   /* a second "::" */
            }
            gap = 1;
            s++;
        }
    }
    if (gap ? groups > SS_HOST_IPV6_GROUPS - 1 : groups != SS_HOST_IPV6_GROUPS) {
        return HOST_BAD_IPV6;
    }
    return NULL;
}

ss_host_kind ss_host_check(const char *h, size_t len, size_t *norm_len,
                           const char **err)
{
    const char *why;

    *norm_len = 0;
    if (!h || len == 0) {
        *err = "empty host";
        return SS_HOST_INVALID;
    }
    if (h[0] == '[') {
        if ((why = host_ipv6_check(h, len))) {
            *err = why;
            return SS_HOST_INVALID;
        }
        *norm_len = len;
        *err = NULL;
        return SS_HOST_IPV6;
    }
    if (h[len - 1] == '.') {
        len--;   /* "example.com." is the same name as "example.com" */
    }
    if ((why = host_name_check(h, len))) {
        *err = why;
        return SS_HOST_INVALID;
    }
    *norm_len = len;
    *err = NULL;
    return host_ends_in_number(h, len) ? SS_HOST_IPV4 : SS_HOST_NAME;
}

ss_host_kind ss_host_parse(apr_pool_t *p, const char *h, size_t len,
                           const char **out, const char **err)
{
    ss_host_kind kind = ss_host_check(h, len, &len, err);
    char *lower;
    size_t i;

    *out = NULL;
    if (kind == SS_HOST_INVALID) {
        return kind;
    }
    lower = apr_pstrmemdup(p, h, len);
    for (i = 0; i < len; i++) {
        lower[i] = (char)apr_tolower(lower[i]);
    }
    *out = lower;
    return kind;
}

ss_host_rel ss_host_relation(const char *host, const char *site_host)
{
    size_t hlen, slen;

    if (!host || !site_host) {
        return SS_HOST_OTHER;
    }
    hlen = strlen(host);
    slen = strlen(site_host);
    if (hlen > 0 && host[hlen - 1] == '.') {
        hlen--;
    }
    if (hlen == 0 || slen == 0) {
        return SS_HOST_OTHER;
    }
    if (hlen == slen) {
        return strncasecmp(host, site_host, slen) ? SS_HOST_OTHER : SS_HOST_SAME;
    }
    /* an address has no subdomains: "[v6]", or a host that ends in a number */
    if (hlen > slen + 1 && host[hlen - slen - 1] == '.'
        && site_host[0] != '[' && !host_ends_in_number(site_host, slen)
        && !strncasecmp(host + hlen - slen, site_host, slen)) {
        return SS_HOST_SUBDOMAIN;
    }
    return SS_HOST_OTHER;
}

int ss_host_port_parse(const char *s, size_t len, const char **err)
{
    size_t i;
    int port = 0;

    if (len == 0) {
        *err = "port is not a number";
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (!apr_isdigit(s[i])) {
            *err = "port is not a number";
            return 0;
        }
        port = port * 10 + (s[i] - '0');
        if (port > 65535) {
            *err = "port out of range (1-65535)";
            return 0;
        }
    }
    if (port == 0) {
        *err = "port out of range (1-65535)";
        return 0;
    }
    *err = NULL;
    return port;
}
