/* The floor of ids pushed out of a shmcb replay cache (see the header). */

#include <stddef.h>

#include "ss_replay_floor.h"
#include "apr_general.h"

#include <string.h>

/* mod_socache_shmcb's structures, by their sizes: a header of eight
 * unsigned longs and five unsigned ints, a subcache of four unsigned ints,
 * an index of an apr_time_t, three unsigned ints and a flag. */
#define SS_ALIGN(n) APR_ALIGN_DEFAULT(n)
typedef struct { unsigned long stats[8]; unsigned int sizes[5]; } ss_shmcb_header_shape;
typedef struct { unsigned int pos[4]; } ss_shmcb_subcache_shape;
typedef struct { apr_time_t expires; unsigned int pos[3]; unsigned char removed; }
    ss_shmcb_index_shape;

apr_status_t ss_replay_floor_layout(apr_size_t size, apr_size_t avg_id_len,
                                    apr_size_t avg_obj_size, apr_size_t id_len,
                                    apr_size_t data_len, ss_shmcb_layout *layout)
{
    apr_size_t header = SS_ALIGN(sizeof(ss_shmcb_header_shape));
    apr_size_t seg, num_idx, sub_size, data_size, by_data;
    unsigned int num_sub = 256;

    if (size < 5 * header || !id_len) {
        return APR_ENOSPC;
    }
    seg = size - header;
    num_idx = seg / (avg_obj_size + avg_id_len);
    while ((num_idx / num_sub) < (2 * (apr_size_t)num_sub)) {
        num_sub /= 2;
        if (!num_sub) {
            return APR_ENOSPC;
        }
    }
    num_idx /= num_sub;
    if (num_idx < 5) {
        return APR_ENOSPC;
    }
    sub_size = seg / num_sub;
    if (sub_size != SS_ALIGN(sub_size)) {
        sub_size = SS_ALIGN(sub_size) - SS_ALIGN(1);
    }
    if (sub_size < SS_ALIGN(sizeof(ss_shmcb_subcache_shape))
                   + num_idx * SS_ALIGN(sizeof(ss_shmcb_index_shape)) + id_len + data_len) {
        return APR_ENOSPC;
    }
    data_size = sub_size - SS_ALIGN(sizeof(ss_shmcb_subcache_shape))
                - num_idx * SS_ALIGN(sizeof(ss_shmcb_index_shape));
    by_data = data_size / (id_len + data_len);
    layout->subcaches = num_sub;
    layout->capacity = (unsigned int)(by_data < num_idx ? by_data : num_idx);
    return APR_SUCCESS;
}

typedef struct {
    apr_uint64_t stored;                    /* ids stored so far */
    apr_int64_t floor;                      /* latest iat that may be gone */
    apr_int64_t chunk_iat[SS_FLOOR_CHUNKS]; /* latest iat per chunk, a ring */
} ss_floor_subcache;

struct ss_replay_floor {
    unsigned int subcaches, capacity, chunk;
    ss_floor_subcache sub[1];               /* subcaches of them */
};

apr_size_t ss_replay_floor_size(const ss_shmcb_layout *layout)
{
    return offsetof(ss_replay_floor, sub)
        + (apr_size_t)layout->subcaches * sizeof(ss_floor_subcache);
}

ss_replay_floor *ss_replay_floor_init(void *mem, const ss_shmcb_layout *layout)
{
    ss_replay_floor *f = mem;
    unsigned int i, c;

    memset(mem, 0, ss_replay_floor_size(layout));
    f->subcaches = layout->subcaches;
    f->capacity = layout->capacity;
    /* a quarter: the floor rises at most a quarter of a subcache early */
    f->chunk = (layout->capacity + 3) / 4;
    if (!f->chunk) {
        f->chunk = 1;
    }
    for (i = 0; i < f->subcaches; i++) {
        f->sub[i].floor = APR_INT64_MIN;
        for (c = 0; c < SS_FLOOR_CHUNKS; c++) {
            f->sub[i].chunk_iat[c] = APR_INT64_MIN;
        }
    }
    return f;
}

static const ss_floor_subcache *ss_floor_of(const ss_replay_floor *f,
                                            const unsigned char *id)
{
    return &f->sub[id[0] & (f->subcaches - 1)];
}

int ss_replay_floor_admits(const ss_replay_floor *f, const unsigned char *id,
                           apr_int64_t iat)
{
    return iat > ss_floor_of(f, id)->floor;
}

void ss_replay_floor_stored(ss_replay_floor *f, const unsigned char *id, apr_int64_t iat)
{
    ss_floor_subcache *sc = (ss_floor_subcache *)ss_floor_of(f, id);
    apr_uint64_t n = sc->stored++;
    apr_int64_t *slot = &sc->chunk_iat[(n / f->chunk) % SS_FLOOR_CHUNKS];

    /* the first id of a chunk starts it afresh */
    if (n % f->chunk == 0 || *slot < iat) {
        *slot = iat;
    }
    /* id number n pushes out number n - capacity when the subcache is full:
     * from the first id of a chunk on, the whole chunk counts as gone */
    if (n >= f->capacity && (n - f->capacity) % f->chunk == 0) {
        apr_int64_t gone = sc->chunk_iat[((n - f->capacity) / f->chunk) % SS_FLOOR_CHUNKS];

        if (gone > sc->floor) {
            sc->floor = gone;
        }
    }
}
