/*
 * rnn_math.h — the float32 nonlinearities of the recurrent kernels (core/lstm.c, core/rnn.c):
 * inlined polynomial exp / sigmoid / tanh, about 1 ulp, branch-free so that the per-step passes
 * vectorise (libm's expf / tanhf are a call per element). float64 uses libm. Also the prefetch
 * helper of the backward sweeps. Included by those
 * two files only; needs INLINE defined.
 */
#ifndef LT_RNN_MATH_H
#define LT_RNN_MATH_H

#include <stdint.h>
#include <string.h>
#include <math.h>

/* exp by Cody-Waite reduction and Cephes' polynomial, 2^n built in the exponent bits; about
 * 1 ulp for x in [-87, 88]; clamped outside (the callers only need saturation there). NaN
 * stays NaN: the clamps compare so that a NaN x fails both tests and passes through (written
 * `x > -87 ? x : -87`, NaN became e^-87, and a NaN input to an LSTM gave finite outputs).
 * This is lt_exp_float (lt_internal.h) without its full-range scaling: the gates never need
 * subnormals, and the shared one made the seed step ~2% slower (measured with
 * LUATORCH_BENCH_QUICK=1 bench/lstm.lua, 2026-11-26). */
static INLINE float exp_f(float x)
{
    const float magic = 12582912.0f;  /* 1.5 * 2^23: adding it rounds to an integer */
    float xc = x < -87.0f ? -87.0f : x;
    xc = xc > 88.0f ? 88.0f : xc;
    float t = xc * 1.44269504088896341f + magic;
    float n = t - magic;
    int32_t ti, mi;
    memcpy(&ti, &t, sizeof ti);
    memcpy(&mi, &magic, sizeof mi);
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * r * r + r + 1.0f;
    int32_t sb = (int32_t)((uint32_t)(ti - mi + 127) << 23);  /* 2^n, n in [-126, 127] */
    float sc;
    memcpy(&sc, &sb, sizeof sc);
    return y * sc;
}

static INLINE float sigmoid_f(float x) { return 1.0f / (1.0f + exp_f(-x)); }

/* tanh: Cephes' odd polynomial below |x| = 0.625 (no cancellation near 0), else
 * 1 - 2 / (exp(2|x|) + 1) with the sign put back. */
static INLINE float tanh_f(float x)
{
    float ax = x < 0 ? -x : x;
    float z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    float small = p * z * x + x;
    float big = 1.0f - 2.0f / (exp_f(2.0f * ax) + 1.0f);
    big = x < 0 ? -big : big;
    return ax < 0.625f ? small : big;
}

/* Brings n bytes at p towards L2. The backward sweeps call it on the rows of the step they
 * process next: the saved activations were written a whole sequence earlier and a step's rows
 * (one per batch row, up to a few KB apart) are more streams than the hardware prefetcher
 * follows; the seed's LSTM backward pass spent a third of its time waiting on them. */
static INLINE void prefetch_bytes(const void *p, size_t n)
{
    for (size_t i = 0; i < n; i += 64) __builtin_prefetch((const char *)p + i, 0, 2);
}

static INLINE double sigmoid_d(double x) { return 1.0 / (1.0 + exp(-x)); }

#endif /* LT_RNN_MATH_H */
