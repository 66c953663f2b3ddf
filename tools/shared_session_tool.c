/* shared-session-tool: keygen, mint, inspect (README, "shared-session-tool";
 * the ticket format is docs/PROTOCOL.md, "Ticket format").
 * Plain C on APR + libsodium and the project's core; no httpd. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
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
#include "ss_session_codec.h"
#include "ss_gen.h"
#include "ss_url.h"

#define TOOL_NAME      "shared-session-tool"
#define TOOL_OK        0
#define TOOL_FAILURE   1   /* also: a ticket inspect rejects */
#define TOOL_USAGE     2
#define TOOL_TIME_MAX  INT64_C(253402300799)   /* 9999-12-31T23:59:59Z */
#define TOOL_COUNT_MAX 10000000
#define TOOL_STR_(x)   #x
#define TOOL_STR(x)    TOOL_STR_(x)   /* a number's text, for the usage text */

static const char tool_usage_text[] =
"usage: " TOOL_NAME " keygen [--out FILE]\n"
"       " TOOL_NAME " mint --key FILE --src SITE --dst SITE\n"
"                           (--session 'k=v&...' | --cookie NAME=VALUE ...)\n"
"                           [--nav NEXT [--state COOKIE_TEXT]] [--gen T|now]\n"
"                           [--count N]\n"
"                           [--iat UNIX] [--nonce HEX48]\n"
"       " TOOL_NAME " inspect --key FILE [--key FILE ...] [--dst SITE]\n"
"                           [--timeout SECONDS] [--now UNIX] [--show-session] TICKET\n"
"\n"
"  keygen             print a new random 32-byte key in base64 (a SharedSessionKeyFile)\n"
"  mint               print a ticket that carries the session from SRC to DST: a script\n"
"                     ticket, or with --nav a navigation ticket\n"
"  inspect            print a ticket's fields and whether DST would accept it; TICKET is\n"
"                     the ticket, TICKET.js, or the URL that carries it, e.g.\n"
"                     https://b.example/shared-session/TICKET.js (then DST defaults to\n"
"                     the URL's site)\n"
"\n"
"  --out FILE         keygen: also write the key to FILE, created with mode 0600; an\n"
"                     existing FILE is never overwritten\n"
"  --key FILE         key file (mint: the key that seals; inspect: every key that opens)\n"
"  --src, --dst SITE  a SharedSessionSites entry, [http://|https://]host[:port]\n"
"  --session ENTRIES  the session in mod_session's encoding, e.g. 'user=alice&role=admin'\n"
"  --cookie NAME=VALUE  an application cookie to carry instead of a session (a ticket\n"
"                     with cookie pairs; sites that share mod_session's session refuse\n"
"                     it with reason kind); repeat it for several cookies\n"
"  --nav NEXT         navigation ticket to NEXT, a path and query on DST starting with '/'\n"
"  --state COOKIE_TEXT  bind the navigation ticket to the state cookie DST set for this\n"
"                     flow (its value); without it the ticket is unbound, and receivers\n"
"                     refuse it unless SharedSessionAcceptUnbound is On\n"
"  --gen T|now        stamp the session (or cookies) with a generation made with the\n"
"                     key: T in Unix microseconds, or now; the receiver replaces its\n"
"                     session only with a newer one (SharedSessionReplace newer)\n"
"  --count N          print N tickets, one per line, each with its own nonce\n"
"  --timeout SECONDS  DST's SharedSessionTimeout, " TOOL_STR(SS_TIMEOUT_MIN) "-"
TOOL_STR(SS_TIMEOUT_MAX) " (default " TOOL_STR(SS_TIMEOUT_DEFAULT) ")\n"
"  --show-session     also print the session or the cookies (they may hold secrets);\n"
"                     the generation is printed always, with whether it verifies\n"
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
    OPT_NONCE, OPT_TIMEOUT, OPT_NOW, OPT_SHOW_SESSION, OPT_STATE, OPT_COOKIE, OPT_OUT,
    OPT_GEN
};

static const apr_getopt_option_t tool_keygen_opts[] = {
    { "out", OPT_OUT, 1, NULL },
    { "help", 'h', 0, NULL },
    { NULL, 0, 0, NULL }
};

static const apr_getopt_option_t tool_mint_opts[] = {
    { "key", OPT_KEY, 1, NULL },
    { "src", OPT_SRC, 1, NULL },
    { "dst", OPT_DST, 1, NULL },
    { "session", OPT_SESSION, 1, NULL },
    { "nav", OPT_NAV, 1, NULL },
    { "state", OPT_STATE, 1, NULL },
    { "cookie", OPT_COOKIE, 1, NULL },
    { "gen", OPT_GEN, 1, NULL },
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

/* Writes the key's text to a new file of mode 0600: O_EXCL, so an existing
 * file (or a symlink in its place) is never written through. */
static int tool_key_write(const char *path, const char *text)
{
    size_t len = strlen(text), done = 0;
    int fd, ok = 1;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, TOOL_NAME " keygen: --out %s: %s%s\n", path, strerror(errno),
                errno == EEXIST ? " (an existing key file is never overwritten)" : "");
        return TOOL_FAILURE;
    }
    while (ok && done < len) {
        ssize_t n = write(fd, text + done, len - done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        ok = n > 0;
        done += ok ? (size_t)n : 0;
    }
    ok = ok && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    if (close(fd) != 0 || !ok) {
        fprintf(stderr, TOOL_NAME " keygen: --out %s: cannot write the key: %s\n", path,
                strerror(errno));
        unlink(path);
        return TOOL_FAILURE;
    }
    return TOOL_OK;
}

static int tool_keygen(apr_pool_t *p, int argc, const char *const *argv)
{
    unsigned char key[SS_MASTER_KEY_BYTES];
    char text[64];   /* apr_base64_encode_len(32) is 45 */
    apr_getopt_t *os = tool_getopt_init(p, "keygen", argc, argv);
    const char *arg, *out = NULL;
    int opt, rc = TOOL_OK;
    apr_status_t rv;

    while ((rv = apr_getopt_long(os, tool_keygen_opts, &opt, &arg)) == APR_SUCCESS) {
        switch (opt) {
        case 'h':
            fputs(tool_usage_text, stdout);
            return TOOL_OK;
        case OPT_OUT:
            if (out) {
                return tool_usage_error("keygen", "--out given twice");
            }
            out = arg;
            break;
        }
    }
    if (rv != APR_EOF) {
        return tool_usage_hint();
    }
    if (os->ind < os->argc) {
        return tool_usage_error("keygen", "unexpected argument %s", os->argv[os->ind]);
    }
    if (out && !*out) {
        return tool_usage_error("keygen", "--out needs a file name");
    }
    randombytes_buf(key, sizeof(key));
    apr_base64_encode_binary(text, key, sizeof(key));
    sodium_memzero(key, sizeof(key));
    if (out) {
        rc = tool_key_write(out, text);
    }
    if (rc == TOOL_OK) {
        printf("%s\n", text);
        if (fflush(stdout) != 0) {
            rc = tool_fail("cannot write the key");
        }
    }
    sodium_memzero(text, sizeof(text));
    return rc;
}

/* The session field of a cookie-pairs ticket from the --cookie arguments
 * (NAME=VALUE, VALUE as the browser holds it): escaped as mod_session
 * escapes its entries, by the one encoder of lib/ss_session_codec.  NULL
 * after saying why. */
static const char *tool_cookie_field(apr_pool_t *p, const apr_array_header_t *cookies)
{
    apr_table_t *pairs = apr_table_make(p, cookies->nelts);
    int i;

    for (i = 0; i < cookies->nelts; i++) {
        const char *arg = APR_ARRAY_IDX(cookies, i, const char *);
        const char *eq = strchr(arg, '=');

        /* the value may be a secret: messages name the cookie, never its value */
        if (!eq || eq == arg || !eq[1]) {
            tool_usage_error("mint", "--cookie (number %d): give NAME=VALUE, both not "
                             "empty", i + 1);
            return NULL;
        }
        if ((size_t)(eq - arg) == strlen(SS_SESSION_RESERVED_KEY)
            && !strncasecmp(arg, SS_SESSION_RESERVED_KEY, (size_t)(eq - arg))) {
            tool_usage_error("mint", "--cookie %.*s=...: the name " SS_SESSION_RESERVED_KEY
                             " is reserved and never carried", (int)(eq - arg), arg);
            return NULL;
        }
        apr_table_addn(pairs, apr_pstrndup(p, arg, (apr_size_t)(eq - arg)), eq + 1);
    }
    return ss_session_encode(p, pairs);
}

/* A state cookie's text: cookie-octets (printable ASCII without '"', ',',
 * ';', '\\'), and no '=' (its value, not "name=value"). */
static int tool_state_text_valid(const char *s)
{
    if (!*s) {
        return 0;
    }
    for (; *s; s++) {
        if (*s < 0x21 || *s > 0x7e || strchr("\",;\\=", *s)) {
            return 0;
        }
    }
    return 1;
}

/* The session field with a generation at T (microseconds) appended, its
 * digest made with the key over the field's own entries (docs/PROTOCOL.md,
 * "Generations").  NULL after saying why. */
static const char *tool_with_gen(apr_pool_t *p, const char *field, apr_uint64_t t,
                                 const ss_key *key)
{
    apr_table_t *entries = apr_table_make(p, 8);
    char text[SS_GEN_TEXT_MAX];
    ss_gen_pair *pairs;
    ss_gen g;
    size_t n;

    ss_session_decode(p, field, entries);
    if (apr_table_get(entries, SS_GEN_ENTRY)) {
        tool_usage_error("mint", "--gen: the session already carries " SS_GEN_ENTRY);
        return NULL;
    }
    pairs = ss_gen_pairs(p, entries, NULL, &n);
    g.t = t;
    ss_gen_digest(g.d, key->gk, t, pairs, n);
    ss_gen_format(&g, text);
    return apr_pstrcat(p, field, "&" SS_GEN_ENTRY "=", text, NULL);
}

static int tool_mint(apr_pool_t *p, int argc, const char *const *argv)
{
    apr_getopt_t *os = tool_getopt_init(p, "mint", argc, argv);
    const char *keyfile = NULL, *src = NULL, *dst = NULL, *session = NULL;
    const char *nav = NULL, *nonce_hex = NULL, *state = NULL, *gen = NULL, *arg;
    apr_uint64_t gen_t = 0;
    apr_array_header_t *cookies = apr_array_make(p, 2, sizeof(const char *));
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
        case OPT_STATE:
            state = arg;
            break;
        case OPT_COOKIE:
            APR_ARRAY_PUSH(cookies, const char *) = arg;
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
        case OPT_GEN:
            gen = arg;
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
    if (session && cookies->nelts > 0) {
        return tool_usage_error("mint", "--session and --cookie: a ticket carries either "
                                "a session or cookies");
    }
    if (!session && cookies->nelts == 0) {
        return tool_usage_error("mint", "--session or --cookie is required, e.g. "
                                "--session 'user=alice' or --cookie 'sessionid=abc'");
    }
    if (state && !nav) {
        return tool_usage_error("mint", "--state binds a navigation ticket: give --nav too");
    }
    if (state && !tool_state_text_valid(state)) {
        return tool_usage_error("mint", "--state: give the state cookie's value as the "
                                "browser holds it (printable, no spaces, no '=', ';', ',', "
                                "'\\' or '\"')");
    }
    if (cookies->nelts > 0 && !(session = tool_cookie_field(p, cookies))) {
        return TOOL_USAGE;
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

    if (gen) {
        int64_t v = 0;

        if (strcmp(gen, "now") && !tool_parse_int(gen, 1, INT64_MAX, &v)) {
            sodium_memzero(&key, sizeof(key));
            return tool_usage_error("mint", "--gen %s: not Unix microseconds or now", gen);
        }
        gen_t = strcmp(gen, "now") ? (apr_uint64_t)v : (apr_uint64_t)apr_time_now();
        if (!(session = tool_with_gen(p, session, gen_t, &key))) {
            sodium_memzero(&key, sizeof(key));
            return TOOL_USAGE;
        }
    }
    t.iat = iat;
    t.mode = nav ? SS_MODE_NAVIGATION : SS_MODE_SCRIPT;
    t.next = nav ? nav : "";
    t.session = session;
    t.cookie_pairs = cookies->nelts > 0;
    if (state) {
        t.version = SS_TICKET_VERSION_2;
        ss_state_digest(state, strlen(state), t.state);
    }
    apr_pool_create(&iter, p);
    for (i = 0; i < count && rc == TOOL_OK; i++) {
        char *ticket;

        apr_pool_clear(iter);
        rv = ss_ticket_seal(iter, &key, dst, &t, nonce_hex ? nonce : NULL, &ticket);
        if (rv == APR_ENOSPC) {
            fprintf(stderr, TOOL_NAME ": the ticket would be longer than %d characters: "
                    "the %s too large\n", SS_TICKET_MAX_CHARS,
                    t.cookie_pairs ? "cookies are" : "session is");
            rc = TOOL_FAILURE;
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

/* The clear header (version, kid, S, nonce), when the text decodes that far:
 * the same reading as the receiver's (ss_ticket_peek). */
static void tool_print_header(const char *ticket, size_t len)
{
    ss_ticket h;
    ss_reason r = ss_ticket_peek(ticket, len, &h);

    if (r == SS_R_UNKNOWN_KEY) {
        printf("version: %d (unknown)\n", h.version);
        return;
    }
    if (r != SS_OK) {
        return;
    }
    printf("version: %d\n", h.version);
    tool_print_hex("kid", h.kid, SS_KID_BYTES);
    if (h.version == SS_TICKET_VERSION_2) {
        char text[SS_STATE_CHARS + 1];

        ss_b64url_encode(text, sizeof(text), h.state, SS_STATE_BYTES);
        printf("S: %s\n", text);
    }
    tool_print_hex("nonce", h.nonce, SS_NONCE_BYTES);
}

/* iat, age, mode, payload kind, src: known once the ticket authenticated. */
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
    printf("payload: %s\n", t->cookie_pairs ? "cookie pairs" : "session entries");
    if (t->mode == SS_MODE_NAVIGATION && t->version != SS_TICKET_VERSION_2) {
        printf("binding: none (version 1: refused with reason state unless the receiver "
               "has SharedSessionAcceptUnbound On)\n");
    }
    else if (t->mode == SS_MODE_NAVIGATION) {
        printf("binding: state cookie with S\n");
    }
    printf("src: %s\n", t->src);
}

/* next and the session field; the field only on request, it may hold
 * secrets. */
static void tool_print_payload(const ss_ticket *t, int show_session)
{
    const char *field = t->cookie_pairs ? "cookies" : "session";

    printf("next: %s\n", *t->next ? t->next : "-");
    if (show_session) {
        printf("%s: %s\n", field, t->session);
    }
    else {
        printf("%s: %" APR_SIZE_T_FMT " bytes (--show-session prints it)\n", field,
               strlen(t->session));
    }
}

/* The ticket's generation, which is no secret: T, D, and whether the
 * receiver would count it (docs/PROTOCOL.md, "Generations"). */
static void tool_print_gen(apr_pool_t *p, const ss_ticket *t, const ss_keyring *kr)
{
    apr_table_t *entries = apr_table_make(p, 8);
    const char *text;
    ss_gen_pair *pairs;
    ss_gen g, trusted;
    size_t n;

    ss_session_decode(p, t->session, entries);
    text = apr_table_get(entries, SS_GEN_ENTRY);
    if (!text) {
        printf("generation: none (older than any: it replaces only a session "
               "without entries)\n");
        return;
    }
    if (!ss_gen_parse(text, &g)) {
        printf("generation: %s (malformed: counts as none)\n", text);
        return;
    }
    pairs = ss_gen_pairs(p, entries, NULL, &n);
    trusted = ss_gen_trusted(&g, kr, pairs, n, SS_GEN_TICKET_LIMIT_US(t->iat));
    printf("generation: %s (%s)\n", text,
           trusted.t ? (n ? "verifies" : "verifies; a logout (tombstone)")
           : !ss_gen_verify(&g, kr, pairs, n)
               ? "does not verify with these keys: counts as none"
               : "more than 5 s after the second of iat: counts as none");
}

/* How a ticket reached inspect: the text alone, or the URL it travels in. */
typedef struct tool_ticket_arg {
    const char *ticket;     /* the ticket's text */
    const char *dst_entry;  /* from a URL: scheme://host[:port], else NULL */
    int route;              /* 0 unknown; else the mode its URL asks for */
} tool_ticket_arg;

/* Accepts TICKET, TICKET.js, .../TICKET[.js] and an http(s) URL ending in
 * /TICKET or /TICKET.js (the URL parsed as strictly as the module parses
 * URLs, at most SS_URL_MAX characters).  0 after saying why. */
static int tool_ticket_arg_parse(apr_pool_t *p, const char *arg, tool_ticket_arg *out)
{
    const char *last, *scheme_end = strstr(arg, "://");
    size_t len;

    memset(out, 0, sizeof(*out));
    if (scheme_end) {
        ss_url u;
        const char *err, *path;

        if (ss_url_parse(p, arg, &u, &err) != APR_SUCCESS) {
            tool_usage_error("inspect", "TICKET: not a ticket URL: %s", err);
            return 0;
        }
        if (strchr(arg, '?') || strchr(arg, '#')) {
            tool_usage_error("inspect", "TICKET: a ticket URL ends with /TICKET or "
                             "/TICKET.js, without query or fragment");
            return 0;
        }
        path = strchr(scheme_end + 3, '/');
        if (!path) {
            tool_usage_error("inspect", "TICKET: the URL has no ticket in its path");
            return 0;
        }
        out->dst_entry = apr_pstrndup(p, arg, (apr_size_t)(path - arg));
        out->route = SS_MODE_NAVIGATION;
    }
    last = strrchr(arg, '/');
    last = last ? last + 1 : arg;
    len = strlen(last);
    if (len > 3 && !strcmp(last + len - 3, ".js")) {
        len -= 3;
        out->route = SS_MODE_SCRIPT;
    }
    if (len == 0) {
        tool_usage_error("inspect", "TICKET: empty");
        return 0;
    }
    out->ticket = apr_pstrndup(p, last, len);
    return 1;
}

static int tool_inspect(apr_pool_t *p, int argc, const char *const *argv)
{
    apr_getopt_t *os = tool_getopt_init(p, "inspect", argc, argv);
    apr_array_header_t *keyfiles = apr_array_make(p, 2, sizeof(const char *));
    const char *dst = NULL, *ticket, *arg;
    int64_t timeout = SS_TIMEOUT_DEFAULT, now = tool_now();
    int opt, rc, show_session = 0, authenticated, i;
    ss_keyring *kr = ss_keyring_make(p);
    tool_ticket_arg targ;
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
            if (!tool_parse_int(arg, SS_TIMEOUT_MIN, SS_TIMEOUT_MAX, &timeout)) {
                return tool_usage_error("inspect", "--timeout %s: not seconds from %d to %d",
                                        arg, SS_TIMEOUT_MIN, SS_TIMEOUT_MAX);
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
    if (os->argc - os->ind != 1) {
        return tool_usage_error("inspect", "give exactly one TICKET");
    }
    if (!tool_ticket_arg_parse(p, os->argv[os->ind], &targ)) {
        return TOOL_USAGE;
    }
    ticket = targ.ticket;
    if (!dst) {
        dst = targ.dst_entry;
    }
    if (keyfiles->nelts == 0 || !dst) {
        return tool_usage_error("inspect", "--key and --dst are required (--dst may come "
                                "from a ticket URL)");
    }
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
    if (targ.route) {
        printf("route: %s\n", targ.route == SS_MODE_SCRIPT ? "script (TICKET.js)"
                                                           : "navigation (TICKET)");
    }
    if (authenticated) {
        tool_print_payload(&t, show_session);
        tool_print_gen(p, &t, kr);
    }
    /* the receiver checks the route after the ticket's own checks */
    if (reason == SS_OK && targ.route && targ.route != (int)t.mode) {
        reason = SS_R_MODE;
    }
    if (reason == SS_OK) {
        printf("result: ok\n");
    }
    else {
        printf("result: rejected (%s)\n", ss_reason_name(reason));
    }
    if (reason == SS_R_UNKNOWN_KEY) {
        fprintf(stderr, TOOL_NAME ": the ticket's version or key id is not among the "
                "keys given (versions 1 and 2; key ids:");
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
    else if (reason == SS_R_MODE) {
        fprintf(stderr, TOOL_NAME ": a %s ticket in a %s URL: the receiver refuses it\n",
                t.mode == SS_MODE_SCRIPT ? "script" : "navigation",
                targ.route == SS_MODE_SCRIPT ? "script (TICKET.js)" : "navigation");
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
