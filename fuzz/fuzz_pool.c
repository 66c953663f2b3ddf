/* Process set-up and per-input pools for the fuzz targets (see fuzz.h).
 *
 * apr_palloc is interposed: this executable's definition wins over
 * libapr's, also for the calls libapr makes to itself through its PLT
 * (apr_pstrdup, apr_pstrcat, apr_table_*, ...).  Allocations from the input
 * pool or its sub-pools become separate malloc blocks, so that the
 * sanitizers and valgrind see their bounds; all others go to the real
 * apr_palloc.  (apr_psprintf writes into the pool's own blocks: those stay
 * unchecked.) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <apr_general.h>

#include "fuzz.h"

const char *fuzz_current_input;

static apr_pool_t *global_pool;
static apr_pool_t *input_pool;
static void **blocks;
static size_t nblocks, capblocks;

typedef void *(*palloc_fn)(apr_pool_t *, apr_size_t);

void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "\nFUZZ PROPERTY FAILED at %s:%d: %s\n", file, line, what);
    if (fuzz_current_input) {
        fprintf(stderr, "input: %s\n", fuzz_current_input);
    }
    fflush(stderr);
    abort();
}

static void track(void *ptr)
{
    if (nblocks == capblocks) {
        size_t cap = capblocks ? capblocks * 2 : 256;
        void **grown = realloc(blocks, cap * sizeof(*grown));

        if (!grown) {
            abort();
        }
        blocks = grown;
        capblocks = cap;
    }
    blocks[nblocks++] = ptr;
}

static int in_input_pool(apr_pool_t *p)
{
    for (; p && input_pool; p = apr_pool_parent_get(p)) {
        if (p == input_pool) {
            return 1;
        }
    }
    return 0;
}

void *apr_palloc(apr_pool_t *p, apr_size_t size)
{
    static palloc_fn real;
    void *m;

    if (in_input_pool(p)) {
        m = malloc(size ? size : 1);
        if (!m) {
            abort();
        }
        track(m);
        return m;
    }
    if (!real) {
        real = (palloc_fn)(uintptr_t)dlsym(RTLD_NEXT, "apr_palloc");
        if (!real) {
            abort();
        }
    }
    return real(p, size);
}

apr_pool_t *fuzz_global_pool(void)
{
    if (!global_pool) {
        if (apr_initialize() != APR_SUCCESS || sodium_init() < 0
            || apr_pool_create(&global_pool, NULL) != APR_SUCCESS) {
            abort();
        }
    }
    return global_pool;
}

apr_pool_t *fuzz_input_pool(void)
{
    apr_pool_t *parent = fuzz_global_pool();

    fuzz_input_done();
    if (apr_pool_create(&input_pool, parent) != APR_SUCCESS) {
        abort();
    }
    return input_pool;
}

void fuzz_input_done(void)
{
    size_t i;

    if (input_pool) {
        apr_pool_destroy(input_pool);   /* its cleanups may read tracked blocks */
        input_pool = NULL;
    }
    for (i = 0; i < nblocks; i++) {
        free(blocks[i]);
    }
    nblocks = 0;
}

char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (!s) {
        abort();
    }
    if (size) {
        memcpy(s, data, size);
    }
    s[size] = '\0';
    track(s);
    return s;
}

int fuzz_split(const uint8_t *data, size_t size, uint8_t sep, char **head,
               const uint8_t **rest, size_t *restlen)
{
    const uint8_t *at = size ? memchr(data, sep, size) : NULL;

    if (!at) {
        *head = fuzz_strndup(data, size);
        *rest = data + size;
        *restlen = 0;
        return 0;
    }
    *head = fuzz_strndup(data, (size_t)(at - data));
    *rest = at + 1;
    *restlen = size - (size_t)(at - data) - 1;
    return 1;
}
