/*
 * lt_hd.h — scalar code that the host's loops and the CUDA kernels must share exactly: the
 * LT_HD_FN marker (a host + device function under nvcc, a static inline one elsewhere) and
 * the dtype conversions of copies (core/copy.c, gpu/copy.cu). Plain C99. philox.h,
 * norm_grad.h and gamma.h hold the other shared formulas.
 */
#ifndef LT_HD_H
#define LT_HD_H

#include <stdint.h>

#if defined(__CUDACC__)
#define LT_HD_FN static inline __host__ __device__
#else
#define LT_HD_FN static inline
#endif

/* Conversions that never hit undefined behaviour: NaN -> 0, out of range saturates. */
LT_HD_FN int64_t lt_f2i64(double v)
{
    if (v != v) return 0;
    if (v >= 9223372036854775807.0) return INT64_MAX;
    if (v <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)v;
}
LT_HD_FN uint8_t lt_f2u8(double v) { return v > 0 ? (v >= 255 ? 255 : (uint8_t)v) : 0; }
/* integer to uint8 wraps modulo 256, as C and Torch7 do */
LT_HD_FN uint8_t lt_i2u8(int64_t v) { return (uint8_t)(uint64_t)v; }

#endif
