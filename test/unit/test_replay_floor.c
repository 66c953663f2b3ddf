/* Unit tests of lib/ss_replay_floor.c: the shmcb layouts of the sizes the
 * documentation names, and the floor against a model of a first-in
 * first-out subcache: no id that the model pushed out while still valid is
 * ever admitted again, and fresh tickets are admitted under a flood. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>

#include "ss_replay_floor.h"

#include "unit_pool.h"

static void test_layouts(void **state)
{
    ss_shmcb_layout l;

    (void)state;
    /* the default: 4 MB, hints 24/32, entries of 24 + 8 bytes */
    assert_int_equal(ss_replay_floor_layout(4 * 1024 * 1024, 24, 32, 24, 8, &l), APR_SUCCESS);
    assert_int_equal(l.subcaches, 128);
    assert_int_equal(l.capacity, 584);
    /* the same size with the object size hint at the value's 8 bytes:
     * shmcb builds an index four times too long and keeps 256 per subcache */
    assert_int_equal(ss_replay_floor_layout(4 * 1024 * 1024, 24, 8, 24, 8, &l), APR_SUCCESS);
    assert_int_equal(l.subcaches, 128);
    assert_int_equal(l.capacity, 256);
    /* the 64 KB a test uses */
    assert_int_equal(ss_replay_floor_layout(65536, 24, 32, 24, 8, &l), APR_SUCCESS);
    assert_int_equal(l.subcaches, 16);
    assert_int_equal(l.capacity, 72);
    /* shmcb's smallest */
    assert_int_equal(ss_replay_floor_layout(8192, 24, 32, 24, 8, &l), APR_SUCCESS);
    assert_true(l.subcaches >= 1 && l.capacity >= 5);
    assert_int_equal(ss_replay_floor_layout(100, 24, 32, 24, 8, &l), APR_ENOSPC);
}

/* A model subcache: the last `capacity` ids stored, first in first out. */
typedef struct {
    unsigned int capacity, head, count;
    apr_uint32_t *ids;
    apr_int64_t *iats;
} model;

static int model_has(const model *m, apr_uint32_t id)
{
    unsigned int i;

    for (i = 0; i < m->count; i++) {
        if (m->ids[(m->head + i) % m->capacity] == id) {
            return 1;
        }
    }
    return 0;
}

/* Stores; returns the iat of the id pushed out, or INT64_MIN. */
static apr_int64_t model_store(model *m, apr_uint32_t id, apr_int64_t iat)
{
    apr_int64_t gone = INT64_MIN;

    if (m->count == m->capacity) {
        gone = m->iats[m->head];
        m->head = (m->head + 1) % m->capacity;
        m->count--;
    }
    m->ids[(m->head + m->count) % m->capacity] = id;
    m->iats[(m->head + m->count) % m->capacity] = iat;
    m->count++;
    return gone;
}

/* One subcache (id[0] = 0), tickets of every age arriving, a flood of
 * fresh ones, replays of old ones: a ticket the model forgot is never
 * admitted while it could still be valid. */
static void run_against_model(unsigned int capacity)
{
    ss_shmcb_layout l = { 1, capacity };
    void *mem = calloc(1, ss_replay_floor_size(&l));
    ss_replay_floor *f = ss_replay_floor_init(mem, &l);
    model m = { capacity, 0, 0, calloc(capacity, 4), calloc(capacity, 8) };
    apr_int64_t *claimed_iat = calloc(20000, 8);
    char *stored = calloc(20000, 1);
    apr_int64_t max_gone = INT64_MIN, now = 1000000;
    unsigned char id[24] = { 0 };
    unsigned int n, fresh_refused = 0;

    srand(capacity);
    for (n = 0; n < 20000; n++) {
        apr_uint32_t which;
        apr_int64_t iat;

        if (n % 50 == 0) {
            now++;
        }
        /* a replay of an earlier ticket now and then, else a new one */
        which = (n > 0 && rand() % 4 == 0) ? (apr_uint32_t)(rand() % n) : n;
        iat = which == n ? now - rand() % 30 : claimed_iat[which];
        if (which == n) {
            claimed_iat[n] = iat;
        }
        memcpy(id + 1, &which, 4);
        if (model_has(&m, which)) {
            continue;               /* "replayed" */
        }
        if (!ss_replay_floor_admits(f, id, iat)) {
            fresh_refused += which == n && iat >= now - 1;
            continue;               /* refused: cannot tell */
        }
        /* admitted and absent: it must never have been stored before */
        assert_false(stored[which]);
        stored[which] = 1;
        {
            apr_int64_t gone = model_store(&m, which, iat);

            if (gone > max_gone) {
                max_gone = gone;
            }
        }
        ss_replay_floor_stored(f, id, iat);
        /* the floor covers everything the model pushed out */
        assert_false(ss_replay_floor_admits(f, id, max_gone));
    }
    /* the floor is only about a quarter of a subcache ahead of the model:
     * fresh tickets (minted this second or the last) are never refused
     * here, where a subcache lasts far longer than a second */
    if (capacity >= 400) {
        assert_int_equal(fresh_refused, 0);
    }
    free(claimed_iat);
    free(stored);
    free(m.ids);
    free(m.iats);
    free(mem);
}

static void test_floor_against_model(void **state)
{
    (void)state;
    run_against_model(1);
    run_against_model(3);
    run_against_model(5);
    run_against_model(72);
    run_against_model(584);
}

static void test_floor_per_subcache(void **state)
{
    ss_shmcb_layout l = { 4, 8 };
    void *mem = calloc(1, ss_replay_floor_size(&l));
    ss_replay_floor *f = ss_replay_floor_init(mem, &l);
    unsigned char a[24] = { 0 }, b[24] = { 1 };
    int i;

    (void)state;
    assert_true(ss_replay_floor_admits(f, a, -1000000));
    /* a flood in subcache 0 (id[0] = 0, 4, 8, ...: id[0] modulo 4) */
    for (i = 0; i < 100; i++) {
        a[0] = (unsigned char)(4 * (i % 60));
        ss_replay_floor_stored(f, a, 500 + i);
    }
    a[0] = 0;
    assert_false(ss_replay_floor_admits(f, a, 500));
    assert_false(ss_replay_floor_admits(f, a, 580));
    assert_true(ss_replay_floor_admits(f, a, 600));
    /* subcache 1 is untouched */
    assert_true(ss_replay_floor_admits(f, b, 500));
    free(mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layouts),
        cmocka_unit_test(test_floor_against_model),
        cmocka_unit_test(test_floor_per_subcache),
    };

    return cmocka_run_group_tests(tests, pool_setup, pool_teardown);
}
