/* The replay cache's memcached/redis client, lib/ss_kvclient.h: replies and
 * server lists from untrusted bytes.
 *
 * The first byte picks the kind (memcached or redis); the rest is
 *  - a reply, fed as it would arrive, one prefix after another: a prefix is
 *    incomplete until it is complete or refused, and once decided a longer
 *    input is never incomplete again; only the exact "yes" and "no" lines of
 *    the kind are a success; nothing is read past the given length (the
 *    reply is copied into an exact-size heap block);
 *  - a server list: parsed or refused with a message; a parsed list has
 *    1..(commas + 1) servers, each with a name and a port. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "fuzz.h"
#include "ss_kvclient.h"

const char fuzz_target_name[] = "kvclient";

static int is_line(const char *buf, size_t len, const char *line)
{
    return len == strlen(line) && !memcmp(buf, line, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ss_kv_kind kind;
    char *copy;
    size_t n, len, decided = 0;
    apr_pool_t *p;
    ss_kv_client *client = NULL;
    const char *err = NULL;

    if (size < 1 || size > 4096) {
        return 0;
    }
    kind = data[0] & 1 ? SS_KV_REDIS : SS_KV_MEMCACHE;
    len = size - 1;
    for (n = 0; n <= len; n++) {
        ss_kv_result result;
        const char *what;
        apr_size_t what_len;
        apr_status_t rv;

        copy = malloc(n ? n : 1);
        FUZZ_CHECK(copy);
        memcpy(copy, data + 1, n);
        rv = ss_kv_claim_reply(kind, copy, n, &result, &what, &what_len);
        FUZZ_CHECK(rv == APR_SUCCESS || rv == APR_INCOMPLETE || rv == APR_EGENERAL);
        if (rv == APR_INCOMPLETE) {
            FUZZ_CHECK(!decided);
            FUZZ_CHECK(n < SS_KV_REPLY_MAX);
        }
        else {
            decided = 1;
        }
        if (rv == APR_SUCCESS) {
            int yes = kind == SS_KV_MEMCACHE ? is_line(copy, n, "STORED\r\n")
                                             : is_line(copy, n, "+OK\r\n");
            int no = kind == SS_KV_MEMCACHE ? is_line(copy, n, "NOT_STORED\r\n")
                                            : (is_line(copy, n, "$-1\r\n")
                                               || is_line(copy, n, "_\r\n"));

            FUZZ_CHECK(yes || no);
            FUZZ_CHECK(result == (yes ? SS_KV_CLAIMED : SS_KV_TAKEN));
        }
        else {
            FUZZ_CHECK(result == SS_KV_ERROR);
        }
        free(copy);
    }

    p = fuzz_input_pool();
    copy = apr_pstrmemdup(p, (const char *)data + 1, len);
    if (strlen(copy) == len) {
        size_t commas = 0, i;

        for (i = 0; i < len; i++) {
            commas += copy[i] == ',';
        }
        if (ss_kv_client_parse(&client, p, kind, copy, &err) == APR_SUCCESS) {
            FUZZ_CHECK(client->nservers >= 1 && (size_t)client->nservers <= commas + 1);
            for (i = 0; i < (size_t)client->nservers; i++) {
                FUZZ_CHECK(client->servers[i].name && client->servers[i].port);
            }
        }
        else {
            FUZZ_CHECK(err && *err);
        }
    }
    return 0;
}
