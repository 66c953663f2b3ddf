/* Application cookies (docs/PROTOCOL.md, "Application cookies"): reading
 * the Cookie header, reading an application's Set-Cookie, checking names,
 * values and attributes, and writing the Set-Cookie lines of a receiving
 * site and of the marker cookie that holds the cookies' generation.  Plain
 * C on APR, no httpd; the one Cookie header tokenizer of the module (the
 * state cookies of lib/ss_state.c use it too).
 *
 *   cookie-octet  0x21, 0x23-0x2b, 0x2d-0x3a, 0x3c-0x5b, 0x5d-0x7e
 *                 (RFC 6265: no control, space, '"', ',', ';', '\\')
 *   token         RFC 7230 tchar: ALPHA DIGIT ! # $ % & ' * + - . ^ _ ` | ~
 *   marker        "__Host-ssgen" (https site) or "ssgen" (http site), value
 *                 T.D of the listed cookies (crypto/ss_gen.h)
 */
#ifndef SS_COOKIE_H
#define SS_COOKIE_H

#include <stddef.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#define SS_COOKIE_MARKER_HTTPS "__Host-ssgen"
#define SS_COOKIE_MARKER_HTTP  "ssgen"
/* name and value of one cookie, as browsers store at least (RFC 6265) */
#define SS_COOKIE_MAX          4096
/* the default attributes of a listed cookie ("; Secure" on an https site) */
#define SS_COOKIE_DEFAULT_ATTRS "Path=/; HttpOnly; SameSite=Lax"
#define SS_COOKIE_PAST         "Thu, 01 Jan 1970 00:00:00 GMT"

/* 1 when s (len bytes) is a non-empty RFC 7230 token: a cookie name. */
int ss_cookie_token(const char *s, size_t len);

/* 1 when v (len bytes, not empty) is cookie-octets only. */
int ss_cookie_octets(const char *v, size_t len);

/* The next "name=value" of a Cookie header at *h (advanced past it),
 * white space around name and value trimmed; a member without '=' is a
 * name with an empty value.  Returns 0 at the end. */
int ss_cookie_next(const char **h, const char **name, size_t *nlen,
                   const char **val, size_t *vlen);

/* The cookies called names[0..n-1] that a Cookie header (may be NULL)
 * carries, as name -> value into out (cleared first).  Returns 1; 0 with out
 * empty when one of those names appears twice (ambiguous: how cookie tossing
 * works) or one of their values is not cookie-octets: no session. */
int ss_cookie_read(const char *header, const char *const *names, int n, apr_table_t *out);

/* The value of the cookie called name (compared exactly), copied into p,
 * when the header carries exactly one cookie of that name; NULL when it
 * carries none or several (which one the browser meant cannot be told:
 * cookie tossing works that way).  *count (may be NULL) is how many it
 * carries. */
const char *ss_cookie_get(apr_pool_t *p, const char *cookie_header, const char *name,
                          int *count);

/* What a Set-Cookie header says: the cookie's name and value, and whether
 * it deletes the cookie (Max-Age <= 0, or no Max-Age and an Expires that
 * is not after now). */
typedef struct ss_cookie_change {
    const char *name;
    const char *value;
    int deletes;
} ss_cookie_change;

/* Parses a Set-Cookie header value; 0 when it names no cookie. */
int ss_set_cookie_parse(apr_pool_t *p, const char *line, apr_time_t now, ss_cookie_change *out);

/* The attributes a receiving site appends to a listed cookie (what
 * SharedSessionCookie gives, or the default), and what the deletion line
 * and the marker cookie repeat of them. */
typedef struct ss_cookie_attrs {
    const char *text;       /* appended after "name=value; " */
    const char *path;       /* NULL when absent */
    const char *domain;
    const char *samesite;
    int secure;
    int httponly;
    int has_max_age;
    apr_int64_t max_age;
    const char *expires;
} ss_cookie_attrs;

/* Parses attributes ("Path=/; Secure; Max-Age=600"), stored in p.  NULL
 * when acceptable, else a one-line reason: a control character or a byte
 * outside printable ASCII, a ',' outside an Expires date, an attribute
 * without a name, a Max-Age that is not an integer, a SameSite other than
 * Strict, Lax and None. */
const char *ss_cookie_attrs_parse(apr_pool_t *p, const char *text, ss_cookie_attrs *a);

/* The default attributes of a site (secure: an https site). */
void ss_cookie_attrs_default(apr_pool_t *p, int secure, ss_cookie_attrs *a);

/* 1 when host domain-matches the Domain attribute domain (a leading '.'
 * ignored, case-insensitive): host is domain or a subdomain of it. */
int ss_cookie_domain_matches(const char *domain, const char *host);

/* "name=value; attributes" */
const char *ss_cookie_set_line(apr_pool_t *p, const char *name, const char *value,
                               const ss_cookie_attrs *a);

/* The line that deletes name as a's attributes set it: empty value,
 * Max-Age=0 and a past Expires, with the same Path, Domain, SameSite,
 * Secure (and HttpOnly). */
const char *ss_cookie_delete_line(apr_pool_t *p, const char *name, const ss_cookie_attrs *a);

/* The marker cookie's name on an https (secure 1) or http site. */
const char *ss_cookie_marker_name(int secure);

/* The marker's Set-Cookie line: value gen_text, or deleted when gen_text is
 * NULL.  Path=/, HttpOnly; Secure on an https site; the SameSite of the
 * listed cookie's attributes (Lax when they name none); the lifetime of
 * the listed cookie (its Max-Age or Expires; a browser session when it has
 * neither). */
const char *ss_cookie_marker_line(apr_pool_t *p, int secure, const ss_cookie_attrs *a,
                                  const char *gen_text);

/* A ticket's session field of cookie pairs (docs/PROTOCOL.md, "Application
 * cookies"), decoded strictly: 1 with pairs (cleared first: name -> value
 * of the listed names only; other names are ignored) and *gen the text of
 * the generation entry, NULL when absent.  0 (malformed: nothing of it may
 * be used) when a pair has no '=' or an empty side or does not decode ('%'
 * without two hex digits, %00), the generation or a listed name comes
 * twice, or a listed cookie's value is not cookie-octets or is, with its
 * name, longer than SS_COOKIE_MAX. */
int ss_cookie_payload_decode(apr_pool_t *p, const char *field, const char *const *names,
                             int n, apr_table_t *pairs, const char **gen);

#endif
