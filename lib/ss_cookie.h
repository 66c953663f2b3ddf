/* Reading a Cookie request header: one parser for every cookie the module
 * reads (state cookies, the "sent" cookie, application cookies).  Plain C
 * on APR. */
#ifndef SS_COOKIE_H
#define SS_COOKIE_H

#include <stddef.h>
#include <apr_pools.h>

/* The next "name=value" of a Cookie header at *h (advanced past it),
 * white space around name and value trimmed; a member without '=' is a
 * name with an empty value.  Returns 0 at the end. */
int ss_cookie_next(const char **h, const char **name, size_t *nlen,
                   const char **val, size_t *vlen);

/* The value of the cookie called name (compared exactly), copied into p,
 * when the header carries exactly one cookie of that name; NULL when it
 * carries none or several (which one the browser meant cannot be told:
 * cookie tossing works that way).  *count (may be NULL) is how many it
 * carries. */
const char *ss_cookie_get(apr_pool_t *p, const char *cookie_header, const char *name,
                          int *count);

#endif
