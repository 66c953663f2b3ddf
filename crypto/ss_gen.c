/* Generations (ss_gen.h; docs/PROTOCOL.md, "Generations"). */

#include "ss_gen.h"
#include <string.h>
#include <stdlib.h>
#include <stdio.h>
#include <sodium.h>
#include "ss_session_codec.h"

static int ss_pair_cmp(const void *a, const void *b)
{
    /* strcmp compares as unsigned char: key bytes order */
    return strcmp(((const ss_gen_pair *)a)->key, ((const ss_gen_pair *)b)->key);
}

ss_gen_pair *ss_gen_pairs(apr_pool_t *p, const apr_table_t *entries,
                          const apr_array_header_t *local, size_t *n)
{
    const apr_array_header_t *arr = apr_table_elts(entries);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    ss_gen_pair *pairs = apr_palloc(p, sizeof(*pairs) * (apr_size_t)(arr->nelts + 1));
    int i;

    *n = 0;
    for (i = 0; i < arr->nelts; i++) {
        if (ss_session_entry_shared(e[i].key, e[i].val, local)
            && strcmp(e[i].key, SS_GEN_ENTRY) != 0) {
            pairs[*n].key = e[i].key;
            pairs[*n].val = e[i].val;
            (*n)++;
        }
    }
    return pairs;
}

void ss_gen_digest(unsigned char d[SS_GEN_DIGEST_BYTES],
                   const unsigned char gk[SS_GK_BYTES], apr_uint64_t t,
                   ss_gen_pair *pairs, size_t n)
{
    crypto_generichash_state st;
    char tt[21];
    int tl = snprintf(tt, sizeof(tt), "%" APR_UINT64_T_FMT, t);
    static const unsigned char zero = 0;
    size_t i;

    if (n > 1) {
        qsort(pairs, n, sizeof(*pairs), ss_pair_cmp);
    }
    crypto_generichash_init(&st, gk, SS_GK_BYTES, SS_GEN_DIGEST_BYTES);
    crypto_generichash_update(&st, (const unsigned char *)tt, (unsigned long long)tl);
    crypto_generichash_update(&st, &zero, 1);
    for (i = 0; i < n; i++) {
        crypto_generichash_update(&st, (const unsigned char *)pairs[i].key,
                                  strlen(pairs[i].key));
        crypto_generichash_update(&st, &zero, 1);
        crypto_generichash_update(&st, (const unsigned char *)pairs[i].val,
                                  strlen(pairs[i].val));
        crypto_generichash_update(&st, &zero, 1);
    }
    crypto_generichash_final(&st, d, SS_GEN_DIGEST_BYTES);
}

static int ss_hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

int ss_gen_parse(const char *text, ss_gen *g)
{
    apr_uint64_t t = 0;
    size_t i = 0, k;

    memset(g, 0, sizeof(*g));
    if (!text || text[0] < '1' || text[0] > '9') {
        return 0;
    }
    for (; text[i] >= '0' && text[i] <= '9'; i++) {
        unsigned v = (unsigned)(text[i] - '0');

        if (i >= 20 || t > (APR_UINT64_MAX - v) / 10) {
            return 0;
        }
        t = t * 10 + v;
    }
    if (text[i++] != '.') {
        return 0;
    }
    for (k = 0; k < SS_GEN_DIGEST_BYTES; k++) {
        int hi = ss_hexval(text[i + 2 * k]);
        int lo = hi < 0 ? -1 : ss_hexval(text[i + 2 * k + 1]);

        if (lo < 0) {
            memset(g, 0, sizeof(*g));
            return 0;
        }
        g->d[k] = (unsigned char)(hi << 4 | lo);
    }
    if (text[i + 2 * SS_GEN_DIGEST_BYTES] != '\0') {
        memset(g, 0, sizeof(*g));
        return 0;
    }
    g->t = t;
    return 1;
}

void ss_gen_format(const ss_gen *g, char out[SS_GEN_TEXT_MAX])
{
    static const char hex[] = "0123456789abcdef";
    int len = snprintf(out, SS_GEN_TEXT_MAX, "%" APR_UINT64_T_FMT ".", g->t);
    size_t k;

    for (k = 0; k < SS_GEN_DIGEST_BYTES; k++) {
        out[len++] = hex[g->d[k] >> 4];
        out[len++] = hex[g->d[k] & 15];
    }
    out[len] = '\0';
}

int ss_gen_verify(const ss_gen *g, const ss_keyring *kr, ss_gen_pair *pairs, size_t n)
{
    unsigned char d[SS_GEN_DIGEST_BYTES];
    int i, ok = 0;

    if (!g->t || !kr) {
        return 0;
    }
    for (i = 0; i < kr->nkeys; i++) {
        ss_gen_digest(d, kr->keys[i].gk, g->t, pairs, n);
        ok |= sodium_memcmp(d, g->d, sizeof(d)) == 0;
    }
    return ok;
}

ss_gen ss_gen_trusted(const ss_gen *g, const ss_keyring *kr, ss_gen_pair *pairs,
                      size_t n, apr_uint64_t limit_us)
{
    ss_gen none;

    memset(&none, 0, sizeof(none));
    if (!g || !g->t || g->t > limit_us + SS_GEN_SKEW_US
        || !ss_gen_verify(g, kr, pairs, n)) {
        return none;
    }
    return *g;
}

ss_gen ss_gen_of_entries(apr_pool_t *p, const apr_table_t *entries,
                         const apr_array_header_t *local, const ss_keyring *kr,
                         apr_uint64_t limit_us)
{
    const char *text = apr_table_get(entries, SS_GEN_ENTRY);
    ss_gen g;
    ss_gen_pair *pairs;
    size_t n;

    if (!text || !ss_gen_parse(text, &g)) {
        memset(&g, 0, sizeof(g));
        return g;
    }
    pairs = ss_gen_pairs(p, entries, local, &n);
    return ss_gen_trusted(&g, kr, pairs, n, limit_us);
}

void ss_gen_stamp(ss_gen *out, const ss_key *sealer, apr_uint64_t now_us,
                  const ss_gen *loaded, ss_gen_pair *pairs, size_t n)
{
    apr_uint64_t t = now_us;

    if (loaded && loaded->t >= t) {
        t = loaded->t + 1;
    }
    if (!t) {
        t = 1;
    }
    out->t = t;
    ss_gen_digest(out->d, sealer->gk, t, pairs, n);
}

int ss_gen_compare(const ss_gen *a, const ss_gen *b)
{
    if (a->t != b->t) {
        return a->t < b->t ? -1 : 1;
    }
    if (!a->t) {
        return 0;
    }
    return memcmp(a->d, b->d, SS_GEN_DIGEST_BYTES);
}

int ss_replace_wins(ss_replace_mode mode, size_t dst_entries, const ss_gen *dst,
                    const ss_gen *ticket)
{
    if ((!dst_entries && !dst->t) || mode == SS_REPLACE_ALWAYS) {
        return 1;
    }
    if (mode == SS_REPLACE_EMPTY && dst_entries) {
        return 0;
    }
    return ss_gen_compare(ticket, dst) > 0;
}
