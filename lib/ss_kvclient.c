/* The add-if-absent client of the replay cache (memcached, redis). */

#include "ss_kvclient.h"

#include "apr_strings.h"
#include "apr_lib.h"

#include <string.h>

#define SS_KV_KEY_PREFIX "mod_shared_session-replay:"

void ss_kv_key(char *key, const unsigned char id[SS_KV_ID_BYTES])
{
    static const char hex[] = "0123456789abcdef";
    size_t n = sizeof(SS_KV_KEY_PREFIX) - 1, i;

    memcpy(key, SS_KV_KEY_PREFIX, n);
    for (i = 0; i < SS_KV_ID_BYTES; i++) {
        key[n++] = hex[id[i] >> 4];
        key[n++] = hex[id[i] & 0x0f];
    }
    key[n] = '\0';
}

apr_size_t ss_kv_claim_request(ss_kv_kind kind, char *buf, apr_size_t cap,
                               const char *key, apr_int64_t ttl_ms)
{
    apr_size_t keylen = strlen(key);
    int n;

    if (ttl_ms < 1) {
        ttl_ms = 1;
    }
    if (kind == SS_KV_MEMCACHE) {
        /* whole seconds, rounded up: an id may stay longer, never shorter */
        apr_int64_t sec = (ttl_ms + 999) / 1000;

        n = apr_snprintf(buf, cap, "add %s 0 %" APR_INT64_T_FMT " 1\r\n1\r\n", key, sec);
    }
    else {
        char ms[32];
        int mslen = apr_snprintf(ms, sizeof(ms), "%" APR_INT64_T_FMT, ttl_ms);

        n = apr_snprintf(buf, cap, "*6\r\n$3\r\nSET\r\n$%" APR_SIZE_T_FMT "\r\n%s\r\n"
                         "$1\r\n1\r\n$2\r\nNX\r\n$2\r\nPX\r\n$%d\r\n%s\r\n",
                         keylen, key, mslen, ms);
    }
    /* apr_snprintf stops at cap - 1: a full buffer may be a cut command */
    if (n <= 0 || (apr_size_t)n >= cap - 1) {
        return 0;
    }
    return (apr_size_t)n;
}

static int ss_line_is(const char *line, apr_size_t len, const char *word)
{
    return strlen(word) == len && !memcmp(line, word, len);
}

apr_status_t ss_kv_claim_reply(ss_kv_kind kind, const char *buf, apr_size_t len,
                               ss_kv_result *result, const char **what,
                               apr_size_t *what_len)
{
    const char *cr = len ? memchr(buf, '\r', len) : NULL;
    apr_size_t line;

    *result = SS_KV_ERROR;
    *what = "";
    *what_len = 0;
    if (!cr || (apr_size_t)(cr - buf) + 1 >= len) {
        if (len >= SS_KV_REPLY_MAX) {
            *what = "reply too long";
            *what_len = strlen(*what);
            return APR_EGENERAL;
        }
        return APR_INCOMPLETE;      /* no CR yet, or CR is the last byte */
    }
    line = (apr_size_t)(cr - buf);
    if (cr[1] != '\n' || line + 2 != len) {
        /* one command, one line: anything else is not this protocol (and
         * bytes after it would answer the next command) */
        *what = cr[1] != '\n' ? "CR without LF in the reply" : "bytes after the reply";
        *what_len = strlen(*what);
        return APR_EGENERAL;
    }
    *what = buf;
    *what_len = line;
    if (kind == SS_KV_MEMCACHE) {
        if (ss_line_is(buf, line, "STORED")) {
            *result = SS_KV_CLAIMED;
        }
        else if (ss_line_is(buf, line, "NOT_STORED")) {
            *result = SS_KV_TAKEN;
        }
    }
    else {
        if (ss_line_is(buf, line, "+OK")) {
            *result = SS_KV_CLAIMED;
        }
        else if (ss_line_is(buf, line, "$-1") || ss_line_is(buf, line, "_")) {
            *result = SS_KV_TAKEN;      /* nil in RESP2, null in RESP3 */
        }
    }
    return *result == SS_KV_ERROR ? APR_EGENERAL : APR_SUCCESS;
}

/* ---- servers ---------------------------------------------------------------- */

apr_status_t ss_kv_client_parse(ss_kv_client **clientp, apr_pool_t *p, ss_kv_kind kind,
                                const char *list, const char **err)
{
    ss_kv_client *client = apr_pcalloc(p, sizeof(*client));
    const char *name = kind == SS_KV_MEMCACHE ? "memcache" : "redis";
    char *copy, *entry, *last;
    int n = 0, i;

    *err = NULL;
    if (!list || !*list) {
        *err = apr_psprintf(p, "%s needs a server: %s:host[:port][,host[:port]...]",
                            name, name);
        return APR_EINVAL;
    }
    for (i = 0; list[i]; i++) {
        n += list[i] == ',';
    }
    client->kind = kind;
    client->servers = apr_pcalloc(p, sizeof(ss_kv_server) * (n + 1));
    copy = apr_pstrdup(p, list);
    n = 0;
    /* an empty entry (",,", a trailing ",") is a mistake, not nothing */
    for (entry = copy; entry; entry = last) {
        ss_kv_server *srv = &client->servers[n];
        char *host = NULL, *scope = NULL;
        apr_port_t port = 0;

        last = strchr(entry, ',');
        if (last) {
            *last++ = '\0';
        }
        if (!*entry || apr_parse_addr_port(&host, &scope, &port, entry, p) != APR_SUCCESS
            || !host || scope || (strchr(host, ':') && *entry != '[')) {
            /* (APR takes "host:port" with a port that is not a number for
             * one host name) */
            *err = apr_psprintf(p, "'%s' is not a %s server: give host[:port] "
                                "(several separated by commas)", entry, name);
            return APR_EINVAL;
        }
        srv->host = host;
        srv->port = port ? port
            : kind == SS_KV_MEMCACHE ? SS_KV_MEMCACHE_PORT : SS_KV_REDIS_PORT;
        srv->name = apr_psprintf(p, strchr(host, ':') ? "[%s]:%u" : "%s:%u",
                                 host, (unsigned)srv->port);
        for (i = 0; i < n; i++) {
            if (!strcmp(client->servers[i].name, srv->name)) {
                *err = apr_psprintf(p, "%s server %s is listed twice", name, srv->name);
                return APR_EINVAL;
            }
        }
        n++;
    }
    client->nservers = n;
    *clientp = client;
    return APR_SUCCESS;
}

int ss_kv_server_index(const unsigned char id[SS_KV_ID_BYTES], int nservers)
{
    apr_uint32_t v = ((apr_uint32_t)id[0] << 24) | ((apr_uint32_t)id[1] << 16)
                   | ((apr_uint32_t)id[2] << 8) | id[3];

    return nservers > 1 ? (int)(v % (apr_uint32_t)nservers) : 0;
}

/* ---- connections ------------------------------------------------------------ */

struct ss_kv_conn {
    ss_kv_conn *next;
    apr_pool_t *pool;           /* its own: a closed connection frees all */
    apr_socket_t *sock;
};

apr_status_t ss_kv_client_child_init(ss_kv_client *client, apr_pool_t *p)
{
    int i;
    apr_status_t rv;

    for (i = 0; i < client->nservers; i++) {
        ss_kv_server *srv = &client->servers[i];

        srv->idle = NULL;
        srv->down_until = 0;
        rv = apr_thread_mutex_create(&srv->lock, APR_THREAD_MUTEX_DEFAULT, p);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

static void ss_kv_close(ss_kv_conn *conn)
{
    apr_socket_close(conn->sock);
    apr_pool_destroy(conn->pool);
}

/* A new connection (srv->lock not held). */
static apr_status_t ss_kv_open(ss_kv_server *srv, ss_kv_conn **connp, const char **err,
                               apr_pool_t *p)
{
    apr_pool_t *pool;
    ss_kv_conn *conn;
    apr_sockaddr_t *addr;
    apr_status_t rv;

    /* unmanaged: created and destroyed by any thread, no parent to lock */
    rv = apr_pool_create_unmanaged_ex(&pool, NULL, NULL);
    if (rv != APR_SUCCESS) {
        *err = "out of memory";
        return rv;
    }
    conn = apr_pcalloc(pool, sizeof(*conn));
    conn->pool = pool;
    /* resolved for each new connection, which is rare: connections are kept */
    rv = apr_sockaddr_info_get(&addr, srv->host, APR_UNSPEC, srv->port, 0, pool);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "cannot resolve %s", srv->name);
        apr_pool_destroy(pool);
        return rv;
    }
    rv = apr_socket_create(&conn->sock, addr->family, SOCK_STREAM, APR_PROTO_TCP, pool);
    if (rv == APR_SUCCESS) {
        apr_socket_opt_set(conn->sock, APR_TCP_NODELAY, 1);
        apr_socket_timeout_set(conn->sock, SS_KV_CONNECT_TIMEOUT);
        rv = apr_socket_connect(conn->sock, addr);
    }
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "cannot connect to %s", srv->name);
        if (conn->sock) {
            apr_socket_close(conn->sock);
        }
        apr_pool_destroy(pool);
        return rv;
    }
    apr_socket_timeout_set(conn->sock, SS_KV_IO_TIMEOUT);
    *connp = conn;
    return APR_SUCCESS;
}

/* One command, one reply.  *received: whether any byte of a reply came. */
static apr_status_t ss_kv_exchange(ss_kv_client *client, ss_kv_conn *conn,
                                   const char *req, apr_size_t reqlen,
                                   ss_kv_result *result, int *received,
                                   const char **err, apr_pool_t *p)
{
    char reply[SS_KV_REPLY_MAX];
    apr_size_t len = 0, sent = 0;
    apr_status_t rv;

    *received = 0;
    while (sent < reqlen) {
        apr_size_t n = reqlen - sent;

        rv = apr_socket_send(conn->sock, req + sent, &n);
        if (rv != APR_SUCCESS) {
            *err = "cannot send";
            return rv;
        }
        sent += n;
    }
    for (;;) {
        apr_size_t n = sizeof(reply) - len;
        const char *what;
        apr_size_t what_len;

        rv = apr_socket_recv(conn->sock, reply + len, &n);
        len += n;
        if (n) {
            *received = 1;
        }
        if (rv != APR_SUCCESS && !(rv == APR_EOF && n)) {
            *err = APR_STATUS_IS_TIMEUP(rv) ? "no answer in time"
                 : rv == APR_EOF ? "connection closed" : "cannot receive";
            return rv;
        }
        rv = ss_kv_claim_reply(client->kind, reply, len, result, &what, &what_len);
        if (rv == APR_SUCCESS) {
            return APR_SUCCESS;
        }
        if (rv != APR_INCOMPLETE) {
            /* say what came, printable and bounded */
            char shown[81];
            apr_size_t i;

            for (i = 0; i < what_len && i < sizeof(shown) - 1; i++) {
                shown[i] = apr_isprint(what[i]) ? what[i] : '?';
            }
            shown[i] = '\0';
            *err = apr_psprintf(p, "unexpected answer '%s'", shown);
            return rv;
        }
    }
}

ss_kv_result ss_kv_claim(ss_kv_client *client, const unsigned char id[SS_KV_ID_BYTES],
                         apr_int64_t ttl_ms, apr_pool_t *p, const char **err)
{
    ss_kv_server *srv = &client->servers[ss_kv_server_index(id, client->nservers)];
    char key[SS_KV_KEY_MAX], req[SS_KV_REQUEST_MAX];
    apr_size_t reqlen;
    int attempt;

    *err = NULL;
    ss_kv_key(key, id);
    reqlen = ss_kv_claim_request(client->kind, req, sizeof(req), key, ttl_ms);
    if (!reqlen) {
        *err = "command too long";
        return SS_KV_ERROR;
    }
    for (attempt = 0; attempt < 2; attempt++) {
        ss_kv_conn *conn;
        ss_kv_result result;
        const char *why = NULL;
        int reused, received;
        apr_status_t rv;

        apr_thread_mutex_lock(srv->lock);
        conn = srv->idle;
        if (conn) {
            srv->idle = conn->next;
        }
        else if (apr_time_now() < srv->down_until) {
            apr_thread_mutex_unlock(srv->lock);
            *err = apr_psprintf(p, "%s: not tried again yet after a failed connect",
                                srv->name);
            return SS_KV_ERROR;
        }
        apr_thread_mutex_unlock(srv->lock);
        reused = conn != NULL;
        if (!conn) {
            rv = ss_kv_open(srv, &conn, &why, p);
            if (rv != APR_SUCCESS) {
                apr_thread_mutex_lock(srv->lock);
                srv->down_until = apr_time_now() + SS_KV_RETRY_AFTER;
                apr_thread_mutex_unlock(srv->lock);
                *err = apr_psprintf(p, "%s (%pm)", why, &rv);
                return SS_KV_ERROR;
            }
        }
        rv = ss_kv_exchange(client, conn, req, reqlen, &result, &received, &why, p);
        if (rv == APR_SUCCESS) {
            apr_thread_mutex_lock(srv->lock);
            conn->next = srv->idle;
            srv->idle = conn;
            apr_thread_mutex_unlock(srv->lock);
            return result;
        }
        ss_kv_close(conn);
        /* a kept connection the server has closed meanwhile (idle timeout,
         * restart) answers nothing: once more on a new one.  If the server
         * did take the id before closing, the second try finds it taken and
         * the ticket is refused: the safe side. */
        if (reused && !received && rv != APR_TIMEUP && !APR_STATUS_IS_TIMEUP(rv)) {
            continue;
        }
        *err = rv == APR_EGENERAL ? apr_psprintf(p, "%s: %s", srv->name, why)
                                  : apr_psprintf(p, "%s: %s (%pm)", srv->name, why, &rv);
        return SS_KV_ERROR;
    }
    *err = apr_psprintf(p, "%s: connection closed twice", srv->name);
    return SS_KV_ERROR;
}
