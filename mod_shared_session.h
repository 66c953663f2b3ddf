/* mod_shared_session — public interface for other modules.
 *
 * Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * The hook shared_session_replaced runs after a received ticket replaced the
 * session of this site (the counterpart of django-shared-session's
 * session_replaced signal).  It is an optional hook: a module registers it
 * without linking against mod_shared_session, and nothing breaks when
 * mod_shared_session is not loaded:
 *
 *   #include "mod_shared_session.h"
 *
 *   static int my_replaced(request_rec *r, const char *src, const char *dst,
 *                          int was_empty)
 *   {
 *       ... src and dst are site ids ("www.example.com", "127.0.0.1:8443");
 *       ... was_empty is 1 when this site's session had no entries before
 *       return OK;   (or DECLINED; every registered function runs)
 *   }
 *
 *   static void my_register_hooks(apr_pool_t *p)
 *   {
 *       APR_OPTIONAL_HOOK(shared_session, replaced, my_replaced,
 *                         NULL, NULL, APR_HOOK_MIDDLE);
 *   }
 *
 * The session itself is available through mod_session (ap_session_get) in
 * the same request.
 */
#ifndef MOD_SHARED_SESSION_H
#define MOD_SHARED_SESSION_H

#include "httpd.h"
#include "apr_hooks.h"
#include "apr_optional_hooks.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Linkage of the hook functions (the module is a plain DSO on Unix). */
#ifndef SHARED_SESSION_DECLARE
#define SHARED_SESSION_DECLARE(type) type
#endif

APR_DECLARE_EXTERNAL_HOOK(shared_session, SHARED_SESSION, int, replaced,
                          (request_rec *r, const char *src, const char *dst,
                           int was_empty))

#ifdef __cplusplus
}
#endif

#endif /* MOD_SHARED_SESSION_H */
