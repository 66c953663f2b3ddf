/* Unit tests of lib/ss_kvclient.c: the memcached and redis commands of a
 * claim, every kind of reply (complete, cut, too long, unexpected), the
 * server lists, and the client against a fake server on loopback (kept
 * connection, a connection the server closed, a server that is down, a
 * server that does not answer). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "ss_kvclient.h"

#include "unit_pool.h"

static const unsigned char ID[SS_KV_ID_BYTES] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
    0x0c, 0x0d, 0x0e, 0x0f, 0xa0, 0xb1, 0xc2, 0xd3, 0xe4, 0xf5, 0xff, 0x10 };
#define ID_KEY "mod_shared_session-replay:000102030405060708090a0b0c0d0e0fa0b1c2d3e4f5ff10"

static void test_key(void **state)
{
    char key[SS_KV_KEY_MAX];

    (void)state;
    ss_kv_key(key, ID);
    assert_string_equal(key, ID_KEY);
    assert_true(strlen(key) < SS_KV_KEY_MAX);
}

static void test_memcache_request(void **state)
{
    char buf[SS_KV_REQUEST_MAX];
    apr_size_t n;

    (void)state;
    n = ss_kv_claim_request(SS_KV_MEMCACHE, buf, sizeof(buf), ID_KEY, 35000);
    assert_string_equal(buf, "add " ID_KEY " 0 35 1\r\n1\r\n");
    assert_int_equal(n, strlen(buf));
    /* whole seconds, rounded up; never 0 (memcached: no expiry at all) */
    ss_kv_claim_request(SS_KV_MEMCACHE, buf, sizeof(buf), ID_KEY, 35001);
    assert_string_equal(buf, "add " ID_KEY " 0 36 1\r\n1\r\n");
    ss_kv_claim_request(SS_KV_MEMCACHE, buf, sizeof(buf), ID_KEY, 0);
    assert_string_equal(buf, "add " ID_KEY " 0 1 1\r\n1\r\n");
    ss_kv_claim_request(SS_KV_MEMCACHE, buf, sizeof(buf), ID_KEY, -5);
    assert_string_equal(buf, "add " ID_KEY " 0 1 1\r\n1\r\n");
    /* too small a buffer: nothing, not a cut command */
    assert_int_equal(ss_kv_claim_request(SS_KV_MEMCACHE, buf, 40, ID_KEY, 1000), 0);
}

static void test_redis_request(void **state)
{
    char buf[SS_KV_REQUEST_MAX];

    (void)state;
    assert_int_not_equal(ss_kv_claim_request(SS_KV_REDIS, buf, sizeof(buf), ID_KEY, 35000), 0);
    assert_string_equal(buf, "*6\r\n$3\r\nSET\r\n$74\r\n" ID_KEY "\r\n$1\r\n1\r\n"
                        "$2\r\nNX\r\n$2\r\nPX\r\n$5\r\n35000\r\n");
    ss_kv_claim_request(SS_KV_REDIS, buf, sizeof(buf), ID_KEY, 0);
    assert_non_null(strstr(buf, "$2\r\nPX\r\n$1\r\n1\r\n"));
    assert_int_equal(ss_kv_claim_request(SS_KV_REDIS, buf, 80, ID_KEY, 1000), 0);
}

static void expect_reply(ss_kv_kind kind, const char *reply, apr_status_t want_rv,
                         ss_kv_result want)
{
    ss_kv_result result = 99;
    const char *what;
    apr_size_t what_len;
    apr_status_t rv = ss_kv_claim_reply(kind, reply, strlen(reply), &result, &what,
                                        &what_len);

    if (rv != want_rv) {
        fail_msg("reply \"%s\": status %d, expected %d", reply, rv, want_rv);
    }
    if (rv != APR_INCOMPLETE && result != want) {
        fail_msg("reply \"%s\": result %d, expected %d", reply, result, want);
    }
}

static void test_memcache_replies(void **state)
{
    (void)state;
    expect_reply(SS_KV_MEMCACHE, "STORED\r\n", APR_SUCCESS, SS_KV_CLAIMED);
    expect_reply(SS_KV_MEMCACHE, "NOT_STORED\r\n", APR_SUCCESS, SS_KV_TAKEN);
    expect_reply(SS_KV_MEMCACHE, "SERVER_ERROR out of memory storing object\r\n",
                 APR_EGENERAL, SS_KV_ERROR);
    expect_reply(SS_KV_MEMCACHE, "CLIENT_ERROR bad command line format\r\n",
                 APR_EGENERAL, SS_KV_ERROR);
    expect_reply(SS_KV_MEMCACHE, "ERROR\r\n", APR_EGENERAL, SS_KV_ERROR);
    expect_reply(SS_KV_MEMCACHE, "EXISTS\r\n", APR_EGENERAL, SS_KV_ERROR);
    expect_reply(SS_KV_MEMCACHE, "STORED", APR_INCOMPLETE, SS_KV_ERROR);
    expect_reply(SS_KV_MEMCACHE, "STORED\r", APR_INCOMPLETE, SS_KV_ERROR);
    expect_reply(SS_KV_MEMCACHE, "", APR_INCOMPLETE, SS_KV_ERROR);
    expect_reply(SS_KV_MEMCACHE, "STOR", APR_INCOMPLETE, SS_KV_ERROR);
    /* a redis answer is not a memcached one */
    expect_reply(SS_KV_MEMCACHE, "+OK\r\n", APR_EGENERAL, SS_KV_ERROR);
    /* two replies to one command: the connection is out of step */
    expect_reply(SS_KV_MEMCACHE, "STORED\r\nSTORED\r\n", APR_EGENERAL, SS_KV_ERROR);
    expect_reply(SS_KV_MEMCACHE, "STORED\rX", APR_EGENERAL, SS_KV_ERROR);
    expect_reply(SS_KV_MEMCACHE, "STORED\n", APR_INCOMPLETE, SS_KV_ERROR);
    expect_reply(SS_KV_MEMCACHE, "stored\r\n", APR_EGENERAL, SS_KV_ERROR);
}

static void test_redis_replies(void **state)
{
    (void)state;
    expect_reply(SS_KV_REDIS, "+OK\r\n", APR_SUCCESS, SS_KV_CLAIMED);
    expect_reply(SS_KV_REDIS, "$-1\r\n", APR_SUCCESS, SS_KV_TAKEN);
    expect_reply(SS_KV_REDIS, "_\r\n", APR_SUCCESS, SS_KV_TAKEN);
    expect_reply(SS_KV_REDIS, "-OOM command not allowed when used memory > 'maxmemory'.\r\n",
                 APR_EGENERAL, SS_KV_ERROR);
    expect_reply(SS_KV_REDIS, "-ERR wrong number of arguments\r\n", APR_EGENERAL, SS_KV_ERROR);
    expect_reply(SS_KV_REDIS, "-READONLY You can't write against a read only replica.\r\n",
                 APR_EGENERAL, SS_KV_ERROR);
    expect_reply(SS_KV_REDIS, "$1\r\n", APR_EGENERAL, SS_KV_ERROR);
    expect_reply(SS_KV_REDIS, ":1\r\n", APR_EGENERAL, SS_KV_ERROR);
    expect_reply(SS_KV_REDIS, "+OK", APR_INCOMPLETE, SS_KV_ERROR);
    expect_reply(SS_KV_REDIS, "$-", APR_INCOMPLETE, SS_KV_ERROR);
    expect_reply(SS_KV_REDIS, "+OK\r\n+OK\r\n", APR_EGENERAL, SS_KV_ERROR);
    expect_reply(SS_KV_REDIS, "STORED\r\n", APR_EGENERAL, SS_KV_ERROR);
}

static void test_reply_bound(void **state)
{
    char big[SS_KV_REPLY_MAX + 1];
    ss_kv_result result;
    const char *what;
    apr_size_t what_len;

    (void)state;
    memset(big, '-', sizeof(big));
    /* no end of line within the bound: an error, not a wait for more */
    assert_int_equal(ss_kv_claim_reply(SS_KV_REDIS, big, SS_KV_REPLY_MAX - 1, &result,
                                       &what, &what_len), APR_INCOMPLETE);
    assert_int_equal(ss_kv_claim_reply(SS_KV_REDIS, big, SS_KV_REPLY_MAX, &result,
                                       &what, &what_len), APR_EGENERAL);
    assert_int_equal(result, SS_KV_ERROR);
}

static void expect_servers(apr_pool_t *p, ss_kv_kind kind, const char *list, int n,
                           const char *const *names)
{
    ss_kv_client *c = NULL;
    const char *err = NULL;
    int i;

    if (ss_kv_client_parse(&c, p, kind, list, &err) != APR_SUCCESS) {
        fail_msg("'%s' refused: %s", list, err);
    }
    assert_int_equal(c->nservers, n);
    assert_int_equal(c->kind, kind);
    for (i = 0; i < n; i++) {
        assert_string_equal(c->servers[i].name, names[i]);
    }
}

static void expect_list_refused(apr_pool_t *p, ss_kv_kind kind, const char *list,
                                const char *needle)
{
    ss_kv_client *c = NULL;
    const char *err = NULL;

    if (ss_kv_client_parse(&c, p, kind, list, &err) == APR_SUCCESS) {
        fail_msg("'%s' accepted", list ? list : "(null)");
    }
    assert_non_null(err);
    if (!strstr(err, needle)) {
        fail_msg("'%s': message \"%s\" does not contain \"%s\"", list, err, needle);
    }
}

static void test_server_lists(void **state)
{
    apr_pool_t *p = *state;
    static const char *const one[] = { "10.0.0.5:6379" };
    static const char *const dflt_m[] = { "cache.example:11211" };
    static const char *const two[] = { "10.0.0.5:7000", "10.0.0.6:11211" };
    static const char *const v6[] = { "[::1]:6380" };

    expect_servers(p, SS_KV_REDIS, "10.0.0.5:6379", 1, one);
    expect_servers(p, SS_KV_REDIS, "10.0.0.5", 1, one);
    expect_servers(p, SS_KV_MEMCACHE, "cache.example", 1, dflt_m);
    expect_servers(p, SS_KV_MEMCACHE, "10.0.0.5:7000,10.0.0.6", 2, two);
    expect_servers(p, SS_KV_REDIS, "[::1]:6380", 1, v6);
    expect_list_refused(p, SS_KV_REDIS, "", "needs a server");
    expect_list_refused(p, SS_KV_REDIS, NULL, "needs a server");
    expect_list_refused(p, SS_KV_REDIS, "a,,b", "'' is not a redis server");
    expect_list_refused(p, SS_KV_MEMCACHE, "a,", "'' is not a memcache server");
    expect_list_refused(p, SS_KV_REDIS, "host:port", "'host:port'");
    expect_list_refused(p, SS_KV_REDIS, "host:99999", "'host:99999'");
    expect_list_refused(p, SS_KV_REDIS, ":6379", "':6379'");
    expect_list_refused(p, SS_KV_REDIS, "a:6379,a", "listed twice");
}

static void test_server_index(void **state)
{
    unsigned char id[SS_KV_ID_BYTES] = { 0 };
    int counts[3] = { 0 }, i;

    (void)state;
    assert_int_equal(ss_kv_server_index(ID, 1), 0);
    assert_int_equal(ss_kv_server_index(ID, 2), 0x00010203 % 2);
    assert_int_equal(ss_kv_server_index(ID, 3), 0x00010203 % 3);
    for (i = 0; i < 3000; i++) {
        id[0] = (unsigned char)(i >> 8);
        id[3] = (unsigned char)i;
        counts[ss_kv_server_index(id, 3)]++;
    }
    for (i = 0; i < 3; i++) {
        assert_true(counts[i] >= 900 && counts[i] <= 1100);
    }
}

/* ---- against a fake server on loopback ------------------------------------- */

typedef struct {
    apr_socket_t *listener;
    const char *const *replies;     /* one per command; "" closes, NULL: no answer */
    int nreplies;
    int accepted;
    char last[SS_KV_REQUEST_MAX];
} fake_server;

static void *APR_THREAD_FUNC fake_serve(apr_thread_t *th, void *data)
{
    fake_server *fs = data;
    apr_pool_t *p;
    apr_socket_t *c = NULL;
    int i;

    apr_pool_create(&p, NULL);
    for (i = 0; i < fs->nreplies; i++) {
        char buf[SS_KV_REQUEST_MAX];
        apr_size_t n = sizeof(buf) - 1;

        if (!c) {
            if (apr_socket_accept(&c, fs->listener, p) != APR_SUCCESS) {
                break;
            }
            fs->accepted++;
        }
        if (apr_socket_recv(c, buf, &n) != APR_SUCCESS) {
            break;
        }
        buf[n] = '\0';
        memcpy(fs->last, buf, n + 1);
        if (!fs->replies[i]) {
            apr_sleep(apr_time_from_msec(1500));
            continue;
        }
        if (!*fs->replies[i]) {
            apr_socket_close(c);
            c = NULL;
            continue;
        }
        n = strlen(fs->replies[i]);
        apr_socket_send(c, fs->replies[i], &n);
    }
    if (c) {
        apr_socket_close(c);
    }
    apr_pool_destroy(p);
    apr_thread_exit(th, APR_SUCCESS);
    return NULL;
}

static apr_port_t fake_listen(apr_pool_t *p, fake_server *fs)
{
    apr_sockaddr_t *sa;

    assert_int_equal(apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET, 0, 0, p), APR_SUCCESS);
    assert_int_equal(apr_socket_create(&fs->listener, APR_INET, SOCK_STREAM, APR_PROTO_TCP, p),
                     APR_SUCCESS);
    apr_socket_opt_set(fs->listener, APR_SO_REUSEADDR, 1);
    assert_int_equal(apr_socket_bind(fs->listener, sa), APR_SUCCESS);
    assert_int_equal(apr_socket_listen(fs->listener, 4), APR_SUCCESS);
    assert_int_equal(apr_socket_addr_get(&sa, APR_LOCAL, fs->listener), APR_SUCCESS);
    return sa->port;
}

static ss_kv_client *fake_client(apr_pool_t *p, ss_kv_kind kind, apr_port_t port)
{
    ss_kv_client *c;
    const char *err;

    assert_int_equal(ss_kv_client_parse(&c, p, kind, apr_psprintf(p, "127.0.0.1:%u", port),
                                        &err), APR_SUCCESS);
    assert_int_equal(ss_kv_client_child_init(c, p), APR_SUCCESS);
    return c;
}

static void test_client_conversation(void **state)
{
    apr_pool_t *p = *state;
    static const char *const replies[] = {
        "+OK\r\n", "$-1\r\n",   /* claimed, then taken: one connection */
        "",                     /* the server closes the kept connection */
        "+OK\r\n",              /* the client tried again on a new one */
        "-OOM no room\r\n",     /* an error answer */
    };
    fake_server fs = { .replies = replies, .nreplies = 5 };
    apr_port_t port = fake_listen(p, &fs);
    ss_kv_client *c = fake_client(p, SS_KV_REDIS, port);
    apr_thread_t *th;
    apr_status_t trv;
    const char *err;

    assert_int_equal(apr_thread_create(&th, NULL, fake_serve, &fs, p), APR_SUCCESS);
    assert_int_equal(ss_kv_claim(c, ID, 35000, p, &err), SS_KV_CLAIMED);
    assert_non_null(strstr(fs.last, "$2\r\nNX\r\n$2\r\nPX\r\n$5\r\n35000\r\n"));
    assert_int_equal(ss_kv_claim(c, ID, 35000, p, &err), SS_KV_TAKEN);
    assert_int_equal(fs.accepted, 1);
    assert_int_equal(ss_kv_claim(c, ID, 35000, p, &err), SS_KV_CLAIMED);
    assert_int_equal(fs.accepted, 2);
    assert_int_equal(ss_kv_claim(c, ID, 35000, p, &err), SS_KV_ERROR);
    assert_non_null(strstr(err, "unexpected answer '-OOM no room'"));
    apr_thread_join(&trv, th);
    apr_socket_close(fs.listener);
}

static void test_client_no_answer_in_time(void **state)
{
    apr_pool_t *p = *state;
    static const char *const replies[] = { NULL };
    fake_server fs = { .replies = replies, .nreplies = 1 };
    apr_port_t port = fake_listen(p, &fs);
    ss_kv_client *c = fake_client(p, SS_KV_MEMCACHE, port);
    apr_thread_t *th;
    apr_status_t trv;
    apr_time_t t0;
    const char *err;

    assert_int_equal(apr_thread_create(&th, NULL, fake_serve, &fs, p), APR_SUCCESS);
    t0 = apr_time_now();
    assert_int_equal(ss_kv_claim(c, ID, 5000, p, &err), SS_KV_ERROR);
    assert_true(apr_time_now() - t0 < SS_KV_IO_TIMEOUT + apr_time_from_msec(400));
    assert_non_null(strstr(err, "no answer in time"));
    assert_string_equal(fs.last, "add " ID_KEY " 0 5 1\r\n1\r\n");
    apr_thread_join(&trv, th);
    apr_socket_close(fs.listener);
}

static void test_client_server_down(void **state)
{
    apr_pool_t *p = *state;
    fake_server fs = { 0 };
    apr_port_t port = fake_listen(p, &fs);
    ss_kv_client *c;
    const char *err;

    apr_socket_close(fs.listener);      /* nothing listens there now */
    c = fake_client(p, SS_KV_MEMCACHE, port);
    assert_int_equal(ss_kv_claim(c, ID, 5000, p, &err), SS_KV_ERROR);
    assert_non_null(strstr(err, "cannot connect to 127.0.0.1:"));
    /* not tried again at once: fails fast */
    assert_int_equal(ss_kv_claim(c, ID, 5000, p, &err), SS_KV_ERROR);
    assert_non_null(strstr(err, "not tried again yet"));
    /* and tried again after the pause */
    apr_sleep(SS_KV_RETRY_AFTER + apr_time_from_msec(50));
    assert_int_equal(ss_kv_claim(c, ID, 5000, p, &err), SS_KV_ERROR);
    assert_non_null(strstr(err, "cannot connect"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key),
        cmocka_unit_test(test_memcache_request),
        cmocka_unit_test(test_redis_request),
        cmocka_unit_test(test_memcache_replies),
        cmocka_unit_test(test_redis_replies),
        cmocka_unit_test(test_reply_bound),
        cmocka_unit_test(test_server_lists),
        cmocka_unit_test(test_server_index),
        cmocka_unit_test(test_client_conversation),
        cmocka_unit_test(test_client_no_answer_in_time),
        cmocka_unit_test(test_client_server_down),
    };

    return cmocka_run_group_tests(tests, pool_setup, pool_teardown);
}
