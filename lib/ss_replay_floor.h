/* Eviction in a shmcb replay cache, made unable to accept a ticket twice.
 *
 * mod_socache_shmcb splits its segment into subcaches, picks one by the
 * first byte of the id (id[0] modulo the number of subcaches, a power of
 * two), and keeps each subcache first-in first-out: when a subcache is
 * full, storing an id drops the oldest one, expired or not.  Nothing tells
 * the caller.  A visitor who redeems many tickets of his own can so push
 * out the ids of others' tickets that are still valid, and one of those
 * would then be accepted again.
 *
 * The floor: for each subcache, a count of the ids stored and, per chunk
 * of a quarter of its capacity, the latest mint time (iat) of the ids in
 * the chunk.  Once the first id of a chunk can have been pushed out (the
 * subcache took `capacity` more ids since), the chunk's latest iat joins
 * the subcache's floor.  A ticket whose iat is not above the floor of its
 * subcache might have been pushed out, so it is refused; any other ticket
 * that was claimed before is still in the cache.  Under a flood only
 * tickets older than the time the flood takes to fill the cache are
 * refused; fresh tickets keep working.
 *
 * ss_replay_floor_layout computes what mod_socache_shmcb computes from its
 * size and the hints (the module checks it against the cache at start-up).
 * Plain C on APR, no httpd; the floor lives in shared memory under the
 * replay cache's mutex. */
#ifndef SS_REPLAY_FLOOR_H
#define SS_REPLAY_FLOOR_H

#include "apr.h"
#include "apr_errno.h"

#define SS_FLOOR_CHUNKS 6       /* capacity / quarter + 2 in flight */

typedef struct {
    unsigned int subcaches;     /* a power of two */
    unsigned int capacity;      /* ids per subcache before the oldest goes */
} ss_shmcb_layout;

/* The layout mod_socache_shmcb chooses for a segment of size bytes and
 * the hints avg_id_len and avg_obj_size, for entries of id_len + data_len
 * bytes.  APR_SUCCESS, or APR_ENOSPC when shmcb would refuse the size. */
apr_status_t ss_replay_floor_layout(apr_size_t size, apr_size_t avg_id_len,
                                    apr_size_t avg_obj_size, apr_size_t id_len,
                                    apr_size_t data_len, ss_shmcb_layout *layout);

typedef struct ss_replay_floor ss_replay_floor;

/* Bytes of shared memory for a floor of this layout. */
apr_size_t ss_replay_floor_size(const ss_shmcb_layout *layout);

/* Sets up a floor in mem (ss_replay_floor_size bytes, suitably aligned). */
ss_replay_floor *ss_replay_floor_init(void *mem, const ss_shmcb_layout *layout);

/* 1 when an id of a ticket minted at iat (seconds) that the cache does not
 * hold was never stored, or was stored and is still there: the cache's
 * "not found" can be trusted.  0 when it might have been pushed out. */
int ss_replay_floor_admits(const ss_replay_floor *floor, const unsigned char *id,
                           apr_int64_t iat);

/* Records that the id of a ticket minted at iat was stored. */
void ss_replay_floor_stored(ss_replay_floor *floor, const unsigned char *id,
                            apr_int64_t iat);

#endif
