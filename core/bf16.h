/*
 * bf16.h — bfloat16 <-> float32 conversion, shared by the BFloat16 tensor type and bf16
 * autocast. bfloat16 is the top half of an IEEE float32 (1 sign, 8 exponent, 7 mantissa bits):
 * widening is a shift; narrowing rounds to nearest, ties to even, as PyTorch and oneDNN do.
 */
#ifndef LT_BF16_H
#define LT_BF16_H

#include <stdint.h>
#include <string.h>

typedef uint16_t lt_bf16;

static inline float lt_bf16_to_f32(lt_bf16 h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline lt_bf16 lt_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it a quiet NaN, sign kept */
        return (lt_bf16)((u >> 16) | 0x0040u);
    u += 0x7fffu + ((u >> 16) & 1u); /* round to nearest, ties to even; overflow gives inf */
    return (lt_bf16)(u >> 16);
}

#endif
