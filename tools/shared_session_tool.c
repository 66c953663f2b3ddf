/* shared-session-tool: keygen, mint, inspect (tickets as docs/PROTOCOL.md,
 * "Ticket format", defines them).
 * Plain C on APR + libsodium and the project's core; no httpd. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include <apr_general.h>
#include <apr_getopt.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_base64.h>
#include <apr_time.h>

#include "ss_base64.h"
#include "ss_keyring.h"
#include "ss_ticket.h"
#include "ss_sites.h"

#define TOOL_NAME      "shared-session-tool"
#define TOOL_OK        0
#define TOOL_FAILURE   1   /* also: a ticket inspect rejects */
#define TOOL_USAGE     2
#define TOOL_TIME_MAX  INT64_C(253402300799)   /* 9999-12-31T23:59:59Z */
#define TOOL_COUNT_MAX 10000000
#define TOOL_HEADER_BYTES (1 + SS_KID_BYTES + SS_NONCE_BYTES)

static const char tool_usage_text[] =
"usage: " TOOL_NAME " keygen\n"
"       " TOOL_NAME " mint --key FILE --src SITE --dst SITE --session 'k=v&...'\n"
"                           [--nav NEXT] [--count N] [--iat UNIX] [--nonce HEX48]\n"
"       " TOOL_NAME " inspect --key FILE [--key FILE ...] --dst SITE\n"
"                           [--timeout SECONDS] [--now UNIX] [--show-session] TICKET\n"
"\n"
"  keygen             print a new random 32-byte key in base64 (a SharedSessionKeyFile)\n"
"  mint               print a ticket that carries the session from SRC to DST: a script\n"
"                     ticket, or with --nav a navigation ticket\n"
"  inspect            print a ticket's fields and whether DST would accept it\n"
"\n"
"  --key FILE         key file (mint: the key that seals; inspect: every key that opens)\n"
"  --src, --dst SITE  a SharedSessionSites entry, [http://|https://]host[:port]\n"
"  --session ENTRIES  the session in mod_session's encoding, e.g. 'user=alice&role=admin'\n"
"  --nav NEXT         navigation ticket to NEXT, a path and query on DST starting with '/'\n"
"  --count N          print N tickets, one per line, each with its own nonce\n"
"  --timeout SECONDS  DST's SharedSessionTimeout, 1-3600 (default 30)\n"
"  --show-session     also print the session (it may hold secrets)\n"
"  -h, --help         print this text\n"
"\n"
"  test options:\n"
"  --iat UNIX         mint as if at this time (expired or future tickets)\n"
"  --nonce HEX48      mint with this 24-byte nonce, in hex (test vectors)\n"
"  --now UNIX         inspect as if at this time\n"
"\n"
"Exit status: 0 done (inspect: accepted), 1 failure (inspect: rejected), 2 usage error.\n";

enum {
    OPT_KEY = 256, OPT_SRC, OPT_DST, OPT_SESSION, OPT_NAV, OPT_COUNT, OPT_IAT,
    OPT_NONCE, OPT_TIMEOUT, OPT_NOW, OPT_SHOW_SESSION
};

static const apr_getopt_option_t tool_keygen_opts[] = {
    { "help", 'h', 0, NULL },
    { NULL, 0, 0, NULL }
};

static const apr_getopt_option_t tool_mint_opts[] = {
    { "key", OPT_KEY, 1, NULL },
    { "src", OPT_SRC, 1, NULL },
    { "dst", OPT_DST, 1, NULL },
    { "session", OPT_SESSION, 1, NULL },
    { "nav", OPT_NAV, 1, NULL },
    { "count", OPT_COUNT, 1, NULL },
    { "iat", OPT_IAT, 1, NULL },
    { "nonce", OPT_NONCE, 1, NULL },
    { "help", 'h', 0, NULL },
    { NULL, 0, 0, NULL }
};

static const apr_getopt_option_t tool_inspect_opts[] = {
    { "key", OPT_KEY, 1, NULL },
    { "dst", OPT_DST, 1, NULL },
    { "timeout", OPT_TIMEOUT, 1, NULL },
    { "now", OPT_NOW, 1, NULL },
    { "show-session", OPT_SHOW_SESSION, 0, NULL },
    { "help", 'h', 0, NULL },
    { NULL, 0, 0, NULL }
};

static int tool_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int tool_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, TOOL_NAME " %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(" TOOL_NAME " --help for usage)\n");
    return TOOL_USAGE;
}

/* After apr_getopt's own message ("invalid option", "missing argument"). */
static int tool_usage_hint(void)
{
    fprintf(stderr, "(" TOOL_NAME " --help for usage)\n");
    return TOOL_USAGE;
}

static int tool_fail(const char *msg)
{
    fprintf(stderr, TOOL_NAME ": %s\n", msg);
    return TOOL_FAILURE;
}

/* Decimal digits only (no sign, no spaces), within [min, max]. */
static int tool_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    int64_t v = 0;
    const char *c;

    if (!*s) {
        return 0;
    }
    for (c = s; *c; c++) {
        if (*c < '0' || *c > '9') {
            return 0;
        }
        v = v * 10 + (*c - '0');
        if (v > max) {
            return 0;
        }
    }
    if (v < min) {
        return 0;
    }
    *out = v;
    return 1;
}

static int64_t tool_now(void)
{
    return (int64_t)apr_time_sec(apr_time_now());
}

/* The site id of an entry given as --src/--dst, or NULL after saying why. */
static const char *tool_site_id(apr_pool_t *p, const char *cmd, const char *opt,
                                const char *arg)
{
    ss_site site;
    const char *err;

    if (ss_site_parse(p, arg, &site, &err) != APR_SUCCESS) {
        fprintf(stderr, TOOL_NAME " %s: --%s %s: %s\n", cmd, opt, arg, err);
        return NULL;
    }
    return site.id;
}

static int tool_key_load(apr_pool_t *p, const char *path, ss_key *key)
{
    const char *err;
    int loose = 0;

    if (ss_keyfile_load(key, p, path, &loose, &err) != APR_SUCCESS) {
        return tool_fail(err);
    }
    if (loose & SS_KEYFILE_READABLE) {
        fprintf(stderr, TOOL_NAME ": warning: key file %s is readable by group or "
                "others (chmod 600 %s)\n", path, path);
    }
    if (loose & SS_KEYFILE_WRITABLE) {
        fprintf(stderr, TOOL_NAME ": warning: key file %s is writable by group or "
                "others (chmod 600 %s)\n", path, path);
    }
    return TOOL_OK;
}

/* Option parsing of argv after the command name; options and arguments
 * may come in any order. */
static apr_getopt_t *tool_getopt_init(apr_pool_t *p, const char *cmd, int argc,
                                      const char *const *argv)
{
    apr_getopt_t *os;
    const char **args = apr_pcalloc(p, sizeof(*args) * (size_t)(argc + 1));
    int i;

    /* apr_getopt names argv[0] in its messages */
    args[0] = apr_pstrcat(p, TOOL_NAME " ", cmd, NULL);
    for (i = 1; i < argc; i++) {
        args[i] = argv[i];
    }
    apr_getopt_init(&os, p, argc, args);
    os->interleave = 1;
    return os;
}

static int tool_keygen(apr_pool_t *p, int argc, const char *const *argv)
{
    unsigned char key[SS_MASTER_KEY_BYTES];
    char text[64];   /* apr_base64_encode_len(32) is 45 */
    apr_getopt_t *os = tool_getopt_init(p, "keygen", argc, argv);
    const char *arg;
    int opt;
    apr_status_t rv;

    /* its only option is --help */
    if ((rv = apr_getopt_long(os, tool_keygen_opts, &opt, &arg)) == APR_SUCCESS) {
        fputs(tool_usage_text, stdout);
        return TOOL_OK;
    }
    if (rv != APR_EOF) {
        return tool_usage_hint();
    }
    if (os->ind < os->argc) {
        return tool_usage_error("keygen", "unexpected argument %s", os->argv[os->ind]);
    }
    randombytes_buf(key, sizeof(key));
    apr_base64_encode_binary(text, key, sizeof(key));
    printf("%s\n", text);
    sodium_memzero(key, sizeof(key));
    sodium_memzero(text, sizeof(text));
    return fflush(stdout) == 0 ? TOOL_OK : tool_fail("cannot write the key");
}

static int tool_mint(apr_pool_t *p, int argc, const char *const *argv)
{
    apr_getopt_t *os = tool_getopt_init(p, "mint", argc, argv);
    const char *keyfile = NULL, *src = NULL, *dst = NULL, *session = NULL;
    const char *nav = NULL, *nonce_hex = NULL, *arg;
    unsigned char nonce[SS_NONCE_BYTES];
    int64_t count = 1, iat = tool_now();
    int opt, rc = TOOL_OK, i;
    ss_key key;
    ss_ticket t;
    apr_pool_t *iter;
    apr_status_t rv;

    while ((rv = apr_getopt_long(os, tool_mint_opts, &opt, &arg)) == APR_SUCCESS) {
        switch (opt) {
        case 'h':
            fputs(tool_usage_text, stdout);
            return TOOL_OK;
        case OPT_KEY:
            if (keyfile) {
                return tool_usage_error("mint", "--key given twice (one key seals)");
            }
            keyfile = arg;
            break;
        case OPT_SRC:
            src = arg;
            break;
        case OPT_DST:
            dst = arg;
            break;
        case OPT_SESSION:
            session = arg;
            break;
        case OPT_NAV:
            nav = arg;
            break;
        case OPT_COUNT:
            if (!tool_parse_int(arg, 1, TOOL_COUNT_MAX, &count)) {
                return tool_usage_error("mint", "--count %s: not a number from 1 to 10000000",
                                        arg);
            }
            break;
        case OPT_IAT:
            if (!tool_parse_int(arg, 0, TOOL_TIME_MAX, &iat)) {
                return tool_usage_error("mint", "--iat %s: not Unix seconds", arg);
            }
            break;
        case OPT_NONCE:
            nonce_hex = arg;
            break;
        }
    }
    if (rv != APR_EOF) {
        return tool_usage_hint();
    }
    if (os->ind < os->argc) {
        return tool_usage_error("mint", "unexpected argument %s", os->argv[os->ind]);
    }
    if (!keyfile || !src || !dst) {
        return tool_usage_error("mint", "--key, --src and --dst are required");
    }
    if (!session) {
        return tool_usage_error("mint", "--session is required, e.g. --session 'user=alice'");
    }
    if (!ss_session_valid(session, strlen(session))) {
        return tool_usage_error("mint", "--session: must be mod_session's encoding, not "
                                "empty, printable ASCII without spaces (a space is '+')");
    }
    if (nav && !ss_next_valid(nav, strlen(nav))) {
        return tool_usage_error("mint", "--nav %s: must be a path and query on the "
                                "destination starting with a single '/' (no '//', '\\', "
                                "'#', spaces or control characters)", nav);
    }
    if (nonce_hex) {
        size_t len = 0;
        const char *end = NULL;

        if (count > 1) {
            return tool_usage_error("mint", "--nonce and --count: every ticket needs "
                                    "its own nonce");
        }
        if (strlen(nonce_hex) != 2 * SS_NONCE_BYTES
            || sodium_hex2bin(nonce, sizeof(nonce), nonce_hex, strlen(nonce_hex), NULL,
                              &len, &end) != 0
            || len != SS_NONCE_BYTES || *end != '\0') {
            return tool_usage_error("mint", "--nonce %s: not 48 hex digits", nonce_hex);
        }
    }
    memset(&t, 0, sizeof(t));
    if (!(t.src = tool_site_id(p, "mint", "src", src))
        || !(dst = tool_site_id(p, "mint", "dst", dst))) {
        return TOOL_USAGE;
    }
    if ((rc = tool_key_load(p, keyfile, &key)) != TOOL_OK) {
        return rc;
    }

    t.iat = iat;
    t.mode = nav ? SS_MODE_NAVIGATION : SS_MODE_SCRIPT;
    t.next = nav ? nav : "";
    t.session = session;
    apr_pool_create(&iter, p);
    for (i = 0; i < count && rc == TOOL_OK; i++) {
        char *ticket;

        apr_pool_clear(iter);
        rv = ss_ticket_seal(iter, &key, dst, &t, nonce_hex ? nonce : NULL, &ticket);
        if (rv == APR_ENOSPC) {
            rc = tool_fail("the ticket would be longer than 6000 characters: the session "
                           "is too large");
        }
        else if (rv != APR_SUCCESS) {
            rc = tool_fail("cannot seal the ticket");
        }
        else if (puts(ticket) == EOF) {
            rc = tool_fail("cannot write the ticket");
        }
    }
    sodium_memzero(&key, sizeof(key));
    if (rc == TOOL_OK && fflush(stdout) != 0) {
        rc = tool_fail("cannot write the ticket");
    }
    return rc;
}

static void tool_print_hex(const char *field, const unsigned char *b, size_t n)
{
    size_t i;

    printf("%s: ", field);
    for (i = 0; i < n; i++) {
        printf("%02x", b[i]);
    }
    putchar('\n');
}

/* The clear header (version, kid, nonce), when the text decodes that far. */
static void tool_print_header(const char *ticket, size_t len)
{
    unsigned char raw[SS_B64_DECODED_MAX(SS_TICKET_MAX_CHARS)];
    size_t n = 0;

    if (len > SS_TICKET_MAX_CHARS
        || ss_b64_decode(SS_B64_URL_NOPAD, raw, sizeof(raw), &n, ticket, len) != 0
        || n < TOOL_HEADER_BYTES) {
        return;
    }
    printf("version: %u\n", raw[0]);
    tool_print_hex("kid", raw + 1, SS_KID_BYTES);
    tool_print_hex("nonce", raw + 1 + SS_KID_BYTES, SS_NONCE_BYTES);
}

/* iat, age, mode, src: known once the ticket authenticated. */
static void tool_print_origin(const ss_ticket *t, int64_t now)
{
    if (t->iat >= 0 && t->iat <= TOOL_TIME_MAX) {
        apr_time_exp_t tm;

        apr_time_exp_gmt(&tm, apr_time_from_sec(t->iat));
        printf("iat: %" APR_INT64_T_FMT " (%04d-%02d-%02dT%02d:%02d:%02dZ)\n", t->iat,
               tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
               tm.tm_sec);
        printf("age: %" APR_INT64_T_FMT "\n", now - t->iat);
    }
    else {
        printf("iat: %" APR_INT64_T_FMT " (out of range)\n", t->iat);
    }
    printf("mode: %s\n", t->mode == SS_MODE_NAVIGATION ? "navigation" : "script");
    printf("src: %s\n", t->src);
}

/* next and session; the session only on request, it may hold secrets. */
static void tool_print_payload(const ss_ticket *t, int show_session)
{
    printf("next: %s\n", *t->next ? t->next : "-");
    if (show_session) {
        printf("session: %s\n", t->session);
    }
    else {
        printf("session: %" APR_SIZE_T_FMT " bytes (--show-session prints it)\n",
               strlen(t->session));
    }
}

static int tool_inspect(apr_pool_t *p, int argc, const char *const *argv)
{
    apr_getopt_t *os = tool_getopt_init(p, "inspect", argc, argv);
    apr_array_header_t *keyfiles = apr_array_make(p, 2, sizeof(const char *));
    const char *dst = NULL, *ticket, *arg;
    int64_t timeout = 30, now = tool_now();
    int opt, rc, show_session = 0, authenticated, i;
    ss_keyring *kr = ss_keyring_make(p);
    ss_ticket t;
    ss_reason reason;
    apr_status_t rv;

    while ((rv = apr_getopt_long(os, tool_inspect_opts, &opt, &arg)) == APR_SUCCESS) {
        switch (opt) {
        case 'h':
            fputs(tool_usage_text, stdout);
            return TOOL_OK;
        case OPT_KEY:
            APR_ARRAY_PUSH(keyfiles, const char *) = arg;
            break;
        case OPT_DST:
            dst = arg;
            break;
        case OPT_TIMEOUT:
            if (!tool_parse_int(arg, 1, 3600, &timeout)) {
                return tool_usage_error("inspect", "--timeout %s: not seconds from 1 to 3600",
                                        arg);
            }
            break;
        case OPT_NOW:
            if (!tool_parse_int(arg, 0, TOOL_TIME_MAX, &now)) {
                return tool_usage_error("inspect", "--now %s: not Unix seconds", arg);
            }
            break;
        case OPT_SHOW_SESSION:
            show_session = 1;
            break;
        }
    }
    if (rv != APR_EOF) {
        return tool_usage_hint();
    }
    if (keyfiles->nelts == 0 || !dst) {
        return tool_usage_error("inspect", "--key and --dst are required");
    }
    if (os->argc - os->ind != 1) {
        return tool_usage_error("inspect", "give exactly one TICKET");
    }
    ticket = os->argv[os->ind];
    if (!(dst = tool_site_id(p, "inspect", "dst", dst))) {
        return TOOL_USAGE;
    }
    for (i = 0; i < keyfiles->nelts; i++) {
        const char *path = APR_ARRAY_IDX(keyfiles, i, const char *);
        ss_key key;

        rc = tool_key_load(p, path, &key);
        if (rc == TOOL_OK && ss_keyring_add(kr, p, &key) == APR_EEXIST) {
            fprintf(stderr, TOOL_NAME ": warning: key file %s holds a key already given "
                    "(same key id); ignored\n", path);
        }
        sodium_memzero(&key, sizeof(key));
        if (rc != TOOL_OK) {
            return rc;
        }
    }

    reason = ss_ticket_open(p, kr, dst, ticket, strlen(ticket), now, (int)timeout, &t);
    authenticated = reason == SS_OK || reason == SS_R_EXPIRED || reason == SS_R_FUTURE;
    tool_print_header(ticket, strlen(ticket));
    if (authenticated) {
        tool_print_origin(&t, now);
    }
    printf("dst: %s\n", dst);
    if (authenticated) {
        tool_print_payload(&t, show_session);
    }
    if (reason == SS_OK) {
        printf("result: ok\n");
    }
    else {
        printf("result: rejected (%s)\n", ss_reason_name(reason));
    }
    if (reason == SS_R_UNKNOWN_KEY) {
        fprintf(stderr, TOOL_NAME ": the ticket's version or key id is not among the "
                "keys given (version 1; key ids:");
        for (i = 0; i < kr->nkeys; i++) {
            fprintf(stderr, " %02x%02x%02x%02x", kr->keys[i].kid[0], kr->keys[i].kid[1],
                    kr->keys[i].kid[2], kr->keys[i].kid[3]);
        }
        fprintf(stderr, ")\n");
    }
    else if (reason == SS_R_BAD_TICKET) {
        fprintf(stderr, TOOL_NAME ": the ticket does not authenticate for destination %s: "
                "minted for another destination (mind the port), with another key, or "
                "altered\n", dst);
    }
    if (fflush(stdout) != 0) {
        return tool_fail("cannot write the result");
    }
    return reason == SS_OK ? TOOL_OK : TOOL_FAILURE;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;
    const char *cmd;
    int rc;

    if (apr_app_initialize(&argc, &argv, NULL) != APR_SUCCESS
        || apr_pool_create(&p, NULL) != APR_SUCCESS) {
        fprintf(stderr, TOOL_NAME ": cannot initialize APR\n");
        return TOOL_FAILURE;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, TOOL_NAME ": cannot initialize libsodium\n");
        return TOOL_FAILURE;
    }
    cmd = argc > 1 ? argv[1] : NULL;
    if (!cmd) {
        fputs(tool_usage_text, stderr);
        rc = TOOL_USAGE;
    }
    else if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(tool_usage_text, stdout);
        rc = TOOL_OK;
    }
    else if (!strcmp(cmd, "keygen")) {
        rc = tool_keygen(p, argc - 1, argv + 1);
    }
    else if (!strcmp(cmd, "mint")) {
        rc = tool_mint(p, argc - 1, argv + 1);
    }
    else if (!strcmp(cmd, "inspect")) {
        rc = tool_inspect(p, argc - 1, argv + 1);
    }
    else {
        fprintf(stderr, TOOL_NAME ": unknown command %s\n(" TOOL_NAME
                " --help for usage)\n", cmd);
        rc = TOOL_USAGE;
    }
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
