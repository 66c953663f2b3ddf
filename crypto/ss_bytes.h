/* Big-endian integers in byte strings (tickets, replay-cache records). */
#ifndef SS_BYTES_H
#define SS_BYTES_H

#include <stdint.h>

static inline void ss_be64_put(unsigned char out[8], uint64_t v)
{
    int i;

    for (i = 0; i < 8; i++) {
        out[i] = (unsigned char)(v >> (56 - 8 * i));
    }
}

static inline uint64_t ss_be64_get(const unsigned char in[8])
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++) {
        v = (v << 8) | in[i];
    }
    return v;
}

#endif
