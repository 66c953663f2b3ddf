/* crypto_bench: microseconds per ticket seal and open (docs/PROTOCOL.md, "Ticket format"),
 * on the project's own crypto/ code (linked from libsscore), built with the
 * project's flags by scripts/dev-bench.
 *
 *   crypto_bench [SECONDS] [SESSION_BYTES...]
 *
 * For each session size: seal (ss_ticket_seal: random nonce, payload,
 * XChaCha20-Poly1305, base64url) and open (ss_ticket_open: base64url,
 * keyring lookup, AEAD, payload parse), each timed in batches for about
 * SECONDS (default 0.3) five times; the median batch is printed.  Also the
 * key derivation that the module does once per key at start-up.  Output, one
 * line per figure:  crypto <what> bytes=<n> us=<microseconds per operation>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include <apr_general.h>
#include <apr_pools.h>

#include "ss_keyring.h"
#include "ss_ticket.h"

#define REPEATS 5

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static volatile unsigned long sink;

enum { OP_SEAL, OP_OPEN, OP_DERIVE };

typedef struct {
    apr_pool_t *pool;
    const ss_key *key;
    const ss_keyring *ring;
    ss_ticket tmpl;
    const char *ticket;
    size_t ticket_len;
    int64_t now;
    unsigned char master[SS_MASTER_KEY_BYTES];
} bench_ctx;

/* One batch of n operations; returns seconds. */
static double run_batch(bench_ctx *c, int op, long n)
{
    double t0 = now_s();
    long i;

    for (i = 0; i < n; i++) {
        if (op == OP_SEAL) {
            ss_ticket t = c->tmpl;
            char *out = NULL;

            if (ss_ticket_seal(c->pool, c->key, "b.test", &t, NULL, &out) != APR_SUCCESS) {
                fprintf(stderr, "crypto_bench: seal failed\n");
                exit(1);
            }
            sink += (unsigned char)out[0];
        }
        else if (op == OP_OPEN) {
            ss_ticket t;

            if (ss_ticket_open(c->pool, c->ring, "b.test", c->ticket, c->ticket_len,
                               c->now, 30, &t) != SS_OK) {
                fprintf(stderr, "crypto_bench: open failed\n");
                exit(1);
            }
            sink += (unsigned char)t.session[0];
        }
        else {
            ss_key k;

            c->master[0] = (unsigned char)i;
            ss_key_derive(&k, c->master);
            sink += k.kid[0];
        }
        if ((i & 255) == 255) {
            apr_pool_clear(c->pool);   /* a request's pool, roughly */
        }
    }
    apr_pool_clear(c->pool);
    return now_s() - t0;
}

/* Microseconds per operation: median of REPEATS batches of about secs. */
static double measure(bench_ctx *c, int op, double secs)
{
    double times[REPEATS];
    long n = 64;
    int i;

    /* calibrate: a batch that takes about secs / REPEATS */
    for (;;) {
        double t = run_batch(c, op, n);

        if (t >= secs / REPEATS / 4 || n > (1L << 28)) {
            n = (long)((double)n * (secs / REPEATS) / (t > 0 ? t : 1e-9));
            if (n < 16) {
                n = 16;
            }
            break;
        }
        n *= 4;
    }
    for (i = 0; i < REPEATS; i++) {
        times[i] = run_batch(c, op, n) / (double)n * 1e6;
    }
    qsort(times, REPEATS, sizeof(times[0]), cmp_double);
    return times[REPEATS / 2];
}

static char *make_session(apr_pool_t *p, size_t size)
{
    static const char head[] = "user=alice&lang=en&csrf=";
    char *s = apr_palloc(p, size + sizeof(head) + 1);
    size_t i, len = strlen(head);

    memcpy(s, head, len);
    for (i = len; i < size; i++) {
        s[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[i % 36];
    }
    s[size > len ? size : len] = '\0';
    return s;
}

int main(int argc, char **argv)
{
    apr_pool_t *root, *keep;
    ss_keyring *ring;
    ss_key key;
    bench_ctx c;
    double secs = 0.3;
    int i, first_size = 1;

    if (argc > 1) {
        secs = atof(argv[1]);
        if (secs <= 0) {
            fprintf(stderr, "usage: crypto_bench [SECONDS] [SESSION_BYTES...]\n");
            return 2;
        }
        first_size = 2;
    }
    if (sodium_init() < 0 || apr_initialize() != APR_SUCCESS) {
        fprintf(stderr, "crypto_bench: cannot initialise libsodium or APR\n");
        return 1;
    }
    apr_pool_create(&root, NULL);
    apr_pool_create(&keep, root);
    memset(&c, 0, sizeof(c));
    for (i = 0; i < SS_MASTER_KEY_BYTES; i++) {
        c.master[i] = (unsigned char)i;
    }
    ss_key_derive(&key, c.master);
    ring = ss_keyring_make(keep);
    ss_keyring_add(ring, keep, &key);
    c.key = ss_keyring_sealer(ring);
    c.ring = ring;
    c.now = (int64_t)time(NULL);
    apr_pool_create(&c.pool, root);

    printf("crypto derive bytes=%d us=%.3f\n", SS_MASTER_KEY_BYTES,
           measure(&c, OP_DERIVE, secs));
    for (i = first_size; i < argc || (argc <= first_size && i == first_size); i++) {
        size_t size = argc > first_size ? (size_t)atol(argv[i]) : 200;
        char *ticket = NULL;
        ss_ticket t;

        memset(&c.tmpl, 0, sizeof(c.tmpl));
        c.tmpl.iat = c.now;
        c.tmpl.mode = SS_MODE_SCRIPT;
        c.tmpl.src = "a.test";
        c.tmpl.next = "";
        c.tmpl.session = make_session(keep, size);
        t = c.tmpl;
        if (ss_ticket_seal(keep, c.key, "b.test", &t, NULL, &ticket) != APR_SUCCESS) {
            fprintf(stderr, "crypto_bench: a session of %zu bytes does not fit a ticket\n",
                    size);
            return 1;
        }
        c.ticket = ticket;
        c.ticket_len = strlen(ticket);
        printf("crypto seal bytes=%zu chars=%zu us=%.3f\n", strlen(c.tmpl.session),
               c.ticket_len, measure(&c, OP_SEAL, secs));
        printf("crypto open bytes=%zu chars=%zu us=%.3f\n", strlen(c.tmpl.session),
               c.ticket_len, measure(&c, OP_OPEN, secs));
    }
    apr_pool_destroy(root);
    apr_terminate();
    return 0;   /* (sink is volatile: the loops cannot be optimised away) */
}
