/*
 * philox.h — Philox4x32-10 and the conversions of its 32-bit words to numbers, in one
 * definition for the host (core/random.c) and for CUDA kernels (gpu/random.cu): the promise
 * that one seed gives the same numbers on both rests on these being the same code.
 * Plain C99 that nvcc also compiles as host + device functions.
 */
#ifndef LT_PHILOX_H
#define LT_PHILOX_H

#include <stdint.h>

#include "lt_hd.h"

#define LT_PHILOX_M0 0xD2511F53u
#define LT_PHILOX_M1 0xCD9E8D57u
#define LT_PHILOX_W0 0x9E3779B9u /* golden ratio */
#define LT_PHILOX_W1 0xBB67AE85u /* sqrt(3) - 1 */

/* The full block (Salmon et al., SC'11): a 128-bit counter, a 64-bit key, ten rounds. */
LT_HD_FN void lt_philox_block(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3], k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
        if (r > 0) {  /* the key is bumped before every round but the first */
            k0 += LT_PHILOX_W0;
            k1 += LT_PHILOX_W1;
        }
        uint64_t p0 = (uint64_t)LT_PHILOX_M0 * c0, p1 = (uint64_t)LT_PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* The generator's use of it: counter = {counter lo, counter hi, 0, 0}, key = seed. */
LT_HD_FN void lt_philox_at(uint64_t seed, uint64_t counter, uint32_t out[4])
{
    uint32_t ctr[4] = {(uint32_t)counter, (uint32_t)(counter >> 32), 0, 0};
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    lt_philox_block(ctr, key, out);
}

/* Words to numbers in [0, 1): 24 bits to a float, 32 bits and 53 bits to a double. */
LT_HD_FN float lt_philox_u24(uint32_t w) { return (float)(w >> 8) * 0x1p-24f; }
LT_HD_FN double lt_philox_u32d(uint32_t w) { return (double)w * 0x1p-32; }
LT_HD_FN double lt_philox_u53(uint32_t hi, uint32_t lo)
{
    return (double)((((uint64_t)hi << 32) | lo) >> 11) * 0x1p-53;
}

#endif
