/* mod_ss_hooktest — a test-only module (like httpd's own test modules):
 * registers the optional hook shared_session_replaced of mod_shared_session.h
 * and records what it is called with, so that the integration tests can
 * check it:
 *   - a response header  X-SS-Hook: src=S dst=D was_empty=N user=U
 *   - the same line appended to the file named by  SSHookTestFile path
 * "user" is the session entry read back through mod_session in the hook,
 * as the header documents ("the session is available through mod_session").
 *
 * Built by the tests with: apxs -c -I<source tree> mod_ss_hooktest.c
 * Licensed under the Apache License, Version 2.0. */

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "apr_strings.h"
#include "apr_file_io.h"
#include "apr_optional.h"
#include "mod_session.h"
#include "mod_shared_session.h"

module AP_MODULE_DECLARE_DATA ss_hooktest_module;

typedef struct {
    const char *file;
} hooktest_conf;

static void *hooktest_create(apr_pool_t *p, server_rec *s)
{
    return apr_pcalloc(p, sizeof(hooktest_conf));
}

static void *hooktest_merge(apr_pool_t *p, void *basev, void *addv)
{
    hooktest_conf *base = basev, *add = addv;
    hooktest_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->file = add->file ? add->file : base->file;
    return conf;
}

static const char *hooktest_set_file(cmd_parms *cmd, void *dummy, const char *arg)
{
    hooktest_conf *conf = ap_get_module_config(cmd->server->module_config,
                                               &ss_hooktest_module);
    conf->file = ap_server_root_relative(cmd->pool, arg);
    return NULL;
}

static int hooktest_replaced(request_rec *r, const char *src, const char *dst,
                             int was_empty)
{
    hooktest_conf *conf = ap_get_module_config(r->server->module_config,
                                               &ss_hooktest_module);
    APR_OPTIONAL_FN_TYPE(ap_session_load) *load = APR_RETRIEVE_OPTIONAL_FN(ap_session_load);
    APR_OPTIONAL_FN_TYPE(ap_session_get) *get = APR_RETRIEVE_OPTIONAL_FN(ap_session_get);
    session_rec *z = NULL;
    const char *user = NULL;
    const char *line;

    if (load && get && load(r, &z) == APR_SUCCESS && z) {
        get(r, z, "user", &user);
    }
    line = apr_psprintf(r->pool, "src=%s dst=%s was_empty=%d user=%s",
                        src ? src : "(null)", dst ? dst : "(null)", was_empty,
                        user ? user : "(none)");
    apr_table_add(r->err_headers_out, "X-SS-Hook", line);
    if (conf->file) {
        apr_file_t *f;
        apr_status_t rv = apr_file_open(&f, conf->file,
                                        APR_FOPEN_WRITE | APR_FOPEN_CREATE |
                                        APR_FOPEN_APPEND, APR_FPROT_OS_DEFAULT,
                                        r->pool);
        if (rv == APR_SUCCESS) {
            apr_file_printf(f, "%s\n", line);
            apr_file_close(f);
        }
        else {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                          "ss_hooktest: cannot append to %s", conf->file);
        }
    }
    return OK;
}

static void hooktest_register_hooks(apr_pool_t *p)
{
    APR_OPTIONAL_HOOK(shared_session, replaced, hooktest_replaced,
                      NULL, NULL, APR_HOOK_MIDDLE);
}

static const command_rec hooktest_cmds[] = {
    AP_INIT_TAKE1("SSHookTestFile", hooktest_set_file, NULL, RSRC_CONF,
                  "file to which every shared_session_replaced call is appended"),
    { NULL }
};

AP_DECLARE_MODULE(ss_hooktest) = {
    STANDARD20_MODULE_STUFF,
    NULL,
    NULL,
    hooktest_create,
    hooktest_merge,
    hooktest_cmds,
    hooktest_register_hooks
};
