/* The one host grammar of the module: every host it reads (a
 * SharedSessionSites entry, the `to` of `go`, a Referer or Origin) is
 * checked and put in normal form here, so that they compare equal exactly
 * when they name the same host.  Plain C on APR, no httpd.
 *
 *   host   = name | ipv4 | "[" ipv6 "]"
 *   name   = label *("." label) ["."]    at most SS_HOST_NAME_MAX characters
 *                                        without the trailing dot, and its
 *                                        last label is not a number
 *   label  = 1 to SS_HOST_LABEL_MAX letters, digits and '-', neither first
 *            nor last a '-'
 *   ipv4   = four decimal numbers 0-255 without leading zeros, joined by "."
 *   ipv6   = eight groups of 1-4 hex digits joined by ":", or fewer with
 *            one "::" in their place (no zone, no embedded IPv4)
 *
 * A host whose last label is a number (digits, or "0x" and hex digits) is
 * what browsers read as an IPv4 address: it must be a dotted quad.  The
 * normal form is lowercased, without the trailing dot.  The port after a
 * host is read here too. */
#ifndef SS_HOST_H
#define SS_HOST_H

#include <stddef.h>
#include <apr_pools.h>

#define SS_HOST_LABEL_MAX   63    /* characters in one label (RFC 1035) */
#define SS_HOST_NAME_MAX    253   /* characters in a name, trailing dot not counted */
#define SS_HOST_IPV6_GROUPS 8     /* 16-bit groups in an IPv6 address */

typedef enum {
    SS_HOST_INVALID = 0,
    SS_HOST_NAME,         /* a DNS name */
    SS_HOST_IPV4,         /* "192.0.2.1" */
    SS_HOST_IPV6          /* "[2001:db8::1]", brackets included */
} ss_host_kind;

/* Checks h[0..len) against the grammar.  Returns its kind and sets
 * *norm_len to the length of its normal form (len, or len - 1 without a
 * trailing dot); or SS_HOST_INVALID with *err a static one-line reason
 * that does not repeat the host. */
ss_host_kind ss_host_check(const char *h, size_t len, size_t *norm_len,
                           const char **err);

/* ss_host_check, and *out the normal form in p (lowercased, no trailing
 * dot).  On SS_HOST_INVALID *out is NULL. */
ss_host_kind ss_host_parse(apr_pool_t *p, const char *h, size_t len,
                           const char **out, const char **err);

typedef enum {
    SS_HOST_OTHER = 0,    /* neither */
    SS_HOST_SUBDOMAIN,    /* host is below site_host on a label boundary */
    SS_HOST_SAME          /* the same host */
} ss_host_rel;

/* How a request's host relates to a site's host (a normal form).  Case
 * does not matter and a trailing dot on host is ignored; "shop.example.com"
 * is a subdomain of "example.com", "myexample.com" is not, and an address
 * has no subdomains.  NULL or empty: SS_HOST_OTHER. */
ss_host_rel ss_host_relation(const char *host, const char *site_host);

/* A port: decimal digits (leading zeros allowed) of a value 1-65535.
 * Returns it, or 0 with *err "port is not a number" (also for no digits at
 * all) or "port out of range (1-65535)". */
int ss_host_port_parse(const char *s, size_t len, const char **err);

#endif
