/* A small client for the two shared stores of the replay cache, memcached
 * and redis, that does the one thing mod_socache's providers cannot: add a
 * key only if it is absent, in one step on the server.
 *
 *   memcached (text protocol): add <key> 0 <seconds> 1\r\n1\r\n
 *                              -> STORED | NOT_STORED
 *   redis (RESP):              SET <key> 1 NX PX <milliseconds>
 *                              -> +OK | nil
 *
 * Servers are listed as mod_socache_memcache and mod_socache_redis take
 * them: host[:port][,host[:port]...] (IPv6 as [addr]:port).  A ticket id
 * always goes to the same server of the list (its first four bytes modulo
 * the number of servers), and never to another when that one is down: an
 * id must be answered by the server that holds it, or not at all.
 *
 * Connections: per process, each server keeps the connections that are
 * idle; a claim takes one (or opens one), uses it without any lock, and
 * gives it back.  Connect and I/O have timeouts; a reply is read up to a
 * fixed bound.  Plain C on APR, no httpd. */
#ifndef SS_KVCLIENT_H
#define SS_KVCLIENT_H

#include "apr_pools.h"
#include "apr_network_io.h"
#include "apr_thread_mutex.h"

typedef enum { SS_KV_MEMCACHE, SS_KV_REDIS } ss_kv_kind;

#define SS_KV_MEMCACHE_PORT 11211
#define SS_KV_REDIS_PORT    6379
#define SS_KV_ID_BYTES      24          /* a ticket id */
#define SS_KV_KEY_MAX       96
#define SS_KV_REQUEST_MAX   256
#define SS_KV_REPLY_MAX     512         /* a longer reply is a protocol error */
#define SS_KV_CONNECT_TIMEOUT apr_time_from_sec(1)
#define SS_KV_IO_TIMEOUT      apr_time_from_sec(1)
#define SS_KV_RETRY_AFTER     apr_time_from_msec(500)

/* What a claim found. */
typedef enum {
    SS_KV_CLAIMED = 0,      /* the id was absent and is now stored */
    SS_KV_TAKEN,            /* the id was there already */
    SS_KV_ERROR             /* no answer, or not one of the two above */
} ss_kv_result;

/* ---- protocol (pure functions) ---------------------------------------- */

/* The key of a ticket id: "mod_shared_session-replay:" and the id in
 * lower-case hex, the key mod_socache_memcache and mod_socache_redis gave
 * it, so that servers still on a version that used them and upgraded ones
 * see each other's ids during a rolling upgrade.  Writes a NUL-terminated
 * string of at most SS_KV_KEY_MAX bytes. */
void ss_kv_key(char *key, const unsigned char id[SS_KV_ID_BYTES]);

/* The add-if-absent command for key with a lifetime of ttl_ms (at least 1
 * ms; memcached gets whole seconds, rounded up).  Returns its length, or 0
 * when it does not fit cap bytes. */
apr_size_t ss_kv_claim_request(ss_kv_kind kind, char *buf, apr_size_t cap,
                               const char *key, apr_int64_t ttl_ms);

/* Reads the reply in buf[0..len): APR_SUCCESS with *result set when it is
 * complete, APR_INCOMPLETE when more bytes are needed (and len is below
 * SS_KV_REPLY_MAX), APR_EGENERAL when it cannot be a complete reply (then
 * *result is SS_KV_ERROR); *what points into a static string or the reply
 * line for a log message (never NUL-terminated: *what_len). */
apr_status_t ss_kv_claim_reply(ss_kv_kind kind, const char *buf, apr_size_t len,
                               ss_kv_result *result, const char **what,
                               apr_size_t *what_len);

/* ---- servers and connections ------------------------------------------ */

typedef struct ss_kv_conn ss_kv_conn;

typedef struct {
    const char *host;
    apr_port_t port;
    const char *name;               /* "host:port" for messages */
    ss_kv_conn *idle;               /* connections not in use */
    apr_thread_mutex_t *lock;       /* guards idle and down_until */
    apr_time_t down_until;          /* no new connection before */
} ss_kv_server;

typedef struct {
    ss_kv_kind kind;
    int nservers;
    ss_kv_server *servers;
} ss_kv_client;

/* Parses "host[:port][,host[:port]...]" (default port of the kind).
 * APR_SUCCESS, or APR_EINVAL with *err saying which entry and why. */
apr_status_t ss_kv_client_parse(ss_kv_client **client, apr_pool_t *p, ss_kv_kind kind,
                                const char *list, const char **err);

/* The server of the list that answers for an id. */
int ss_kv_server_index(const unsigned char id[SS_KV_ID_BYTES], int nservers);

/* Per process (an httpd child), before the first claim: the locks. */
apr_status_t ss_kv_client_child_init(ss_kv_client *client, apr_pool_t *p);

/* Claims an id for ttl_ms.  SS_KV_ERROR with *err (allocated in p) when
 * the server cannot be reached or answers something else; a connection
 * that failed is closed, the next claim opens a new one.  After a failed
 * connect the server is not tried again for SS_KV_RETRY_AFTER in this
 * process (each claim in that time is an error at once). */
ss_kv_result ss_kv_claim(ss_kv_client *client, const unsigned char id[SS_KV_ID_BYTES],
                         apr_int64_t ttl_ms, apr_pool_t *p, const char **err);

#endif
