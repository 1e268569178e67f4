/*
 * pointwise.cu — the elementwise ops of core/pointwise.c on device tensors: unary math, binary
 * arithmetic with broadcasting (tensor-tensor, tensor-number, number-tensor), comparisons
 * (uint8 results), clamp, leaky_relu, addcmul / addcdiv, where and the masked ops (fill,
 * select, copy).
 *
 * Same semantics as the host loops, written once as functors over the element types: integer
 * division truncates and a zero divisor (or INT64_MIN / -1, or a negative integer exponent) is
 * an error found by a scan before anything is written; int64 add/sub/mul/neg/square wrap
 * through uint64_t; uint8 arithmetic happens in int and wraps when stored; round is
 * nearbyint (halves to even, as the host); max/min propagate NaN. Numbers are converted to
 * the tensor's dtype as core/pointwise.c's scalar_tensor does (integers truncate and
 * saturate, uint8 wraps modulo 256) and passed to the kernel by value.
 *
 * core/pointwise.c checks the operands (dtypes, masks, the op) before it hands over, and the
 * shared steps (result dtype check, broadcast, in-place shape check, lt_out_prepare /
 * lt_out_finish for resizing and overlap) are its own (lt_pw_prepare), so the messages are
 * the host's. One grid-stride kernel per arity (k_map1/2/3) reads its operands
 * through lt_gpu_ix (broadcast = stride 0); every thread is independent.
 *
 * Transcendentals are CUDA's (expf, tanhf, powf...), within a few ulp of the host's own
 * polynomial exp / sigmoid / tanh; integer results are bit-for-bit the host's.
 */
#include <math.h>

#include "gpu_internal.h"

extern "C" {
#include "../core/gamma.h"
#include "../core/lt_hd.h"
}

/* ---- conversions and scalar math --------------------------------------------------------- */

/* a number in dtype T, as the host's scalar_tensor / make_scalar4 convert it */
template <typename T> static T conv(double v);
template <> float conv<float>(double v) { return (float)v; }
template <> double conv<double>(double v) { return v; }
template <> int64_t conv<int64_t>(double v) { return lt_f2i64(v); }
template <> uint8_t conv<uint8_t>(double v) { return (uint8_t)(uint64_t)lt_f2i64(v); }

template <typename T> struct is_flt { static constexpr bool v = false; };
template <> struct is_flt<float> { static constexpr bool v = true; };
template <> struct is_flt<double> { static constexpr bool v = true; };

#define LT_MATH1(name, ff, fd)                                    \
    static LT_HD float name(float v) { return ff(v); }            \
    static LT_HD double name(double v) { return fd(v); }
#define LT_MATH2(name, ff, fd)                                    \
    static LT_HD float name(float a, float b) { return ff(a, b); } \
    static LT_HD double name(double a, double b) { return fd(a, b); }

LT_MATH1(m_abs, fabsf, fabs)
LT_MATH1(m_exp, expf, exp)
LT_MATH1(m_log, logf, log)
LT_MATH1(m_log1p, log1pf, log1p)
LT_MATH1(m_sqrt, sqrtf, sqrt)
LT_MATH1(m_tanh, tanhf, tanh)
LT_MATH1(m_floor, floorf, floor)
LT_MATH1(m_ceil, ceilf, ceil)
LT_MATH1(m_round, nearbyintf, nearbyint)
LT_MATH1(m_sin, sinf, sin)
LT_MATH1(m_cos, cosf, cos)
LT_MATH1(m_tan, tanf, tan)
LT_MATH1(m_asin, asinf, asin)
LT_MATH1(m_acos, acosf, acos)
LT_MATH1(m_atan, atanf, atan)
LT_MATH1(m_sinh, sinhf, sinh)
LT_MATH1(m_cosh, coshf, cosh)
LT_MATH1(m_expm1, expm1f, expm1)
LT_MATH1(m_erf, erff, erf)
LT_MATH1(m_erfc, erfcf, erfc)
LT_MATH1(m_lgamma, lgammaf, lgamma)
LT_MATH1(m_trunc, truncf, trunc)
LT_MATH2(m_pow, powf, pow)
LT_MATH2(m_fmod, fmodf, fmod)
LT_MATH2(m_atan2, atan2f, atan2)

/* A product rounded on its own, never fused with the sum after it: the host computes
 * a + al * b as two roundings (no FMA in its -O2 x86-64 code), and nvcc would contract it
 * into one fma by default, which differs by up to an ulp of the product (visible when the
 * sum cancels). */
static LT_HD float mul_rn(float a, float b)
{
#ifdef __CUDA_ARCH__
    return __fmul_rn(a, b);
#else
    return a * b;
#endif
}
static LT_HD double mul_rn(double a, double b)
{
#ifdef __CUDA_ARCH__
    return __dmul_rn(a, b);
#else
    return a * b;
#endif
}

#define U64(v) ((uint64_t)(v))

static LT_HD int64_t ipow64(int64_t base, int64_t e)
{
    uint64_t r = 1, b = (uint64_t)base;
    while (e > 0) {
        if (e & 1) r *= b;
        b *= b;
        e >>= 1;
    }
    return (int64_t)r;
}

/* ---- kernels ----------------------------------------------------------------------------- */

/* Element offsets of flat position i for the N operands (N = ix.nops). small: the walk has
 * fewer than 2^32 elements (so has every dim), and the position's digits come from 32-bit
 * divisions, several times cheaper on the device than 64-bit ones. */
template <int N>
__device__ __forceinline__ void offsets(const lt_gpu_ix &ix, int64_t i, int64_t *off, bool small)
{
    if (ix.ndim == 1) {
        for (int k = 0; k < N; k++) off[k] = i * ix.stride[k][0];
        return;
    }
    for (int k = 0; k < N; k++) off[k] = 0;
    if (small) {
        uint32_t j = (uint32_t)i;
        for (int d = ix.ndim - 1; d >= 0; d--) {
            uint32_t s = (uint32_t)ix.size[d], c = j % s;
            j /= s;
            for (int k = 0; k < N; k++) off[k] += (int64_t)c * ix.stride[k][d];
        }
        return;
    }
    for (int d = ix.ndim - 1; d >= 0; d--) {
        int64_t s = ix.size[d], c = i % s;
        i /= s;
        for (int k = 0; k < N; k++) off[k] += c * ix.stride[k][d];
    }
}

#define LT_SMALL(n) ((n) <= (int64_t)0xffffffff)

template <typename TD, typename TX, typename F>
__global__ void k_map1(lt_gpu_ix ix, TD *d, const TX *x, F f, int64_t n)
{
    const bool small = LT_SMALL(n);
    for (int64_t i = LT_GPU_TID(); i < n; i += LT_GPU_NTHREADS()) {
        int64_t o[2];
        offsets<2>(ix, i, o, small);
        d[o[0]] = f(x[o[1]]);
    }
}

template <typename TD, typename TX, typename TY, typename F>
__global__ void k_map2(lt_gpu_ix ix, TD *d, const TX *x, const TY *y, F f, int64_t n)
{
    const bool small = LT_SMALL(n);
    for (int64_t i = LT_GPU_TID(); i < n; i += LT_GPU_NTHREADS()) {
        int64_t o[3];
        offsets<3>(ix, i, o, small);
        d[o[0]] = f(x[o[1]], y[o[2]]);
    }
}

template <typename TD, typename TX, typename TY, typename TZ, typename F>
__global__ void k_map3(lt_gpu_ix ix, TD *d, const TX *x, const TY *y, const TZ *z, F f,
                       int64_t n)
{
    const bool small = LT_SMALL(n);
    for (int64_t i = LT_GPU_TID(); i < n; i += LT_GPU_NTHREADS()) {
        int64_t o[4];
        offsets<4>(ix, i, o, small);
        d[o[0]] = f(x[o[1]], y[o[2]], z[o[3]]);
    }
}

/* (target, x): d = f(x) */
template <typename TD, typename TX, typename F> static int run1(const lt_iter &it, F f)
{
    lt_gpu_ix ix = lt_gpu_ix_of(&it);
    auto k = k_map1<TD, TX, F>;
    LT_LAUNCH(k, lt_gpu_blocks(it.numel), LT_GPU_THREADS, ix, (TD *)it.data[0],
              (const TX *)it.data[1], f, it.numel);
    LT_CHECK_LAUNCH("pointwise kernel");
    return LT_OK;
}

/* (target, x, y): d = f(x, y) */
template <typename TD, typename TX, typename TY, typename F> static int run2(const lt_iter &it, F f)
{
    lt_gpu_ix ix = lt_gpu_ix_of(&it);
    auto k = k_map2<TD, TX, TY, F>;
    LT_LAUNCH(k, lt_gpu_blocks(it.numel), LT_GPU_THREADS, ix, (TD *)it.data[0],
              (const TX *)it.data[1], (const TY *)it.data[2], f, it.numel);
    LT_CHECK_LAUNCH("pointwise kernel");
    return LT_OK;
}

/* (target, x, y, z): d = f(x, y, z) */
template <typename TD, typename TX, typename TY, typename TZ, typename F>
static int run3(const lt_iter &it, F f)
{
    lt_gpu_ix ix = lt_gpu_ix_of(&it);
    auto k = k_map3<TD, TX, TY, TZ, F>;
    LT_LAUNCH(k, lt_gpu_blocks(it.numel), LT_GPU_THREADS, ix, (TD *)it.data[0],
              (const TX *)it.data[1], (const TY *)it.data[2], (const TZ *)it.data[3], f,
              it.numel);
    LT_CHECK_LAUNCH("pointwise kernel");
    return LT_OK;
}

/* The host's shared setup (lt_pw_prepare), then the iterator over (target, ins...) and
 * launch(it) unless there is nothing to do; lt_out_finish copies a temporary back. */
template <typename L>
static int ew(lt_tensor *out, lt_dtype out_dt, const lt_tensor *const *ins, int nins, L launch)
{
    lt_tensor *target;
    if (lt_pw_prepare(out, out_dt, ins, nins, &target)) return LT_ERR;
    const lt_tensor *ops[LT_MAXOPS];
    ops[0] = target;
    for (int k = 0; k < nins; k++) ops[k + 1] = ins[k];
    lt_iter it;
    int st = lt_iter_init_any(&it, nins + 1, ops);
    if (st == LT_OK && it.numel > 0) st = launch(it);
    return lt_out_finish(out, target, st);
}

/* ---- unary ------------------------------------------------------------------------------- */

template <int OP, typename T> static LT_HD T unary_op(T v)
{
    if constexpr (is_flt<T>::v) {
        if constexpr (OP == LT_OP_NEG) return -v;
        else if constexpr (OP == LT_OP_ABS) return m_abs(v);
        else if constexpr (OP == LT_OP_SIGN) return (T)((v > 0) - (v < 0));
        else if constexpr (OP == LT_OP_EXP) return m_exp(v);
        else if constexpr (OP == LT_OP_LOG) return m_log(v);
        else if constexpr (OP == LT_OP_LOG1P) return m_log1p(v);
        else if constexpr (OP == LT_OP_SQRT) return m_sqrt(v);
        else if constexpr (OP == LT_OP_RSQRT) return (T)1 / m_sqrt(v);
        else if constexpr (OP == LT_OP_SIGMOID) {
            /* the host's form: e = exp(-|v|) <= 1 never overflows */
            T e = m_exp(-m_abs(v));
            return (v >= 0 ? (T)1 : e) / ((T)1 + e);
        }
        else if constexpr (OP == LT_OP_TANH) return m_tanh(v);
        else if constexpr (OP == LT_OP_RELU) return v <= 0 ? (T)0 : v;
        else if constexpr (OP == LT_OP_FLOOR) return m_floor(v);
        else if constexpr (OP == LT_OP_CEIL) return m_ceil(v);
        else if constexpr (OP == LT_OP_ROUND) return m_round(v);
        else if constexpr (OP == LT_OP_SIN) return m_sin(v);
        else if constexpr (OP == LT_OP_COS) return m_cos(v);
        else if constexpr (OP == LT_OP_TRUNC) return m_trunc(v);
        else if constexpr (OP == LT_OP_FRAC) return v - m_trunc(v);
        else if constexpr (OP == LT_OP_SQUARE) return v * v;
        else if constexpr (OP == LT_OP_RECIPROCAL) return (T)1 / v;
        else if constexpr (OP == LT_OP_TAN) return m_tan(v);
        else if constexpr (OP == LT_OP_ASIN) return m_asin(v);
        else if constexpr (OP == LT_OP_ACOS) return m_acos(v);
        else if constexpr (OP == LT_OP_ATAN) return m_atan(v);
        else if constexpr (OP == LT_OP_SINH) return m_sinh(v);
        else if constexpr (OP == LT_OP_COSH) return m_cosh(v);
        else if constexpr (OP == LT_OP_EXPM1) return m_expm1(v);
        else if constexpr (OP == LT_OP_ERF) return m_erf(v);
        else if constexpr (OP == LT_OP_ERFC) return m_erfc(v);
        else if constexpr (OP == LT_OP_LGAMMA) return m_lgamma(v);
        else if constexpr (OP == LT_OP_DIGAMMA) return (T)lt_digamma((double)v);
        else if constexpr (OP == LT_OP_TRIGAMMA) return (T)lt_trigamma((double)v);
        else return v;
    } else if constexpr (sizeof(T) == 8) {  /* int64: wraps like the hardware, no UB */
        if constexpr (OP == LT_OP_NEG) return (int64_t)(0 - U64(v));
        else if constexpr (OP == LT_OP_ABS) return v < 0 ? (int64_t)(0 - U64(v)) : v;
        else if constexpr (OP == LT_OP_SIGN) return (int64_t)((v > 0) - (v < 0));
        else if constexpr (OP == LT_OP_RELU) return v > 0 ? v : 0;
        else if constexpr (OP == LT_OP_FRAC) return 0;
        else if constexpr (OP == LT_OP_SQUARE) return (int64_t)(U64(v) * U64(v));
        else return v;  /* floor, ceil, round, trunc */
    } else {  /* uint8: abs and relu are the identity, -v wraps modulo 256 */
        if constexpr (OP == LT_OP_NEG) return (uint8_t)(0u - v);
        else if constexpr (OP == LT_OP_SIGN) return (uint8_t)(v > 0);
        else if constexpr (OP == LT_OP_FRAC) return 0;
        else if constexpr (OP == LT_OP_SQUARE) return (uint8_t)((unsigned)v * v);
        else return v;  /* abs, relu, floor, ceil, round, trunc */
    }
}

template <int OP, typename T> struct Un {
    LT_HD T operator()(T v) const { return unary_op<OP, T>(v); }
};

template <typename T> static int unary_typed(const lt_iter &it, lt_unary_op op)
{
#define LT_U(OP)                                                 \
    case OP: return run1<T, T>(it, Un<OP, T>());
#define LT_UF(OP)                                                \
    case OP:                                                     \
        if constexpr (is_flt<T>::v) return run1<T, T>(it, Un<OP, T>()); \
        break;
    switch (op) {
    LT_U(LT_OP_NEG) LT_U(LT_OP_ABS) LT_U(LT_OP_SIGN) LT_UF(LT_OP_EXP) LT_UF(LT_OP_LOG)
    LT_UF(LT_OP_LOG1P) LT_UF(LT_OP_SQRT) LT_UF(LT_OP_RSQRT) LT_UF(LT_OP_SIGMOID)
    LT_UF(LT_OP_TANH) LT_U(LT_OP_RELU) LT_U(LT_OP_FLOOR) LT_U(LT_OP_CEIL) LT_U(LT_OP_ROUND)
    LT_UF(LT_OP_SIN) LT_UF(LT_OP_COS) LT_U(LT_OP_TRUNC) LT_U(LT_OP_FRAC) LT_U(LT_OP_SQUARE)
    LT_UF(LT_OP_RECIPROCAL) LT_UF(LT_OP_TAN) LT_UF(LT_OP_ASIN) LT_UF(LT_OP_ACOS) LT_UF(LT_OP_ATAN)
    LT_UF(LT_OP_SINH) LT_UF(LT_OP_COSH) LT_UF(LT_OP_EXPM1) LT_UF(LT_OP_ERF) LT_UF(LT_OP_ERFC)
    LT_UF(LT_OP_LGAMMA) LT_UF(LT_OP_DIGAMMA) LT_UF(LT_OP_TRIGAMMA)
    default: break;
    }
#undef LT_U
#undef LT_UF
    return lt_error("unknown unary op %d", (int)op);
}

extern "C" int lt_gpu_unary(lt_tensor *out, lt_unary_op op, const lt_tensor *a)
{
    const lt_tensor *ins[1] = {a};
    return ew(out, a->dtype, ins, 1, [&](const lt_iter &it) -> int {
        switch (a->dtype) {
        case LT_FLOAT32: return unary_typed<float>(it, op);
        case LT_FLOAT64: return unary_typed<double>(it, op);
        case LT_INT64: return unary_typed<int64_t>(it, op);
        default: return unary_typed<uint8_t>(it, op);
        }
    });
}

/* ---- binary ------------------------------------------------------------------------------ */

/* a op b with alpha al (add / sub only); integer divisors and exponents were checked */
template <int OP, typename T> static LT_HD T binary_op(T a, T b, T al)
{
    if constexpr (is_flt<T>::v) {
        if constexpr (OP == LT_OP_ADD) return a + mul_rn(al, b);
        else if constexpr (OP == LT_OP_SUB) return a - mul_rn(al, b);
        else if constexpr (OP == LT_OP_MUL) return a * b;
        else if constexpr (OP == LT_OP_DIV) return a / b;
        else if constexpr (OP == LT_OP_POW) return m_pow(a, b);
        else if constexpr (OP == LT_OP_MAX2) return (a != a || a > b) ? a : b;
        else if constexpr (OP == LT_OP_MIN2) return (a != a || a < b) ? a : b;
        else if constexpr (OP == LT_OP_REM) return m_fmod(a, b);
        else if constexpr (OP == LT_OP_REMAINDER) {  /* fmod moved into b's sign (the host's) */
            T r = m_fmod(a, b);
            return r != 0 && (r < 0) != (b < 0) ? r + b : r;
        }
        else if constexpr (OP == LT_OP_ATAN2) return m_atan2(a, b);
        /* the host's order and roundings (no contraction into an FMA) */
        else if constexpr (OP == LT_OP_SIGMOID_GRAD) return mul_rn(mul_rn(a, T(1) - b), b);
        else if constexpr (OP == LT_OP_RELU_GRAD) return b <= T(0) ? T(0) : a;
        else if constexpr (OP == LT_OP_LEAKY_GRAD) return b > T(0) ? a : mul_rn(a, al);
        else return mul_rn(a, T(1) - mul_rn(b, b));
    } else if constexpr (sizeof(T) == 8) {
        if constexpr (OP == LT_OP_ADD) return (int64_t)(U64(a) + U64(al) * U64(b));
        else if constexpr (OP == LT_OP_SUB) return (int64_t)(U64(a) - U64(al) * U64(b));
        else if constexpr (OP == LT_OP_MUL) return (int64_t)(U64(a) * U64(b));
        else if constexpr (OP == LT_OP_DIV) return a / b;
        else if constexpr (OP == LT_OP_POW) return ipow64(a, b);
        else if constexpr (OP == LT_OP_MAX2) return a > b ? a : b;
        else if constexpr (OP == LT_OP_MIN2) return a < b ? a : b;
        else if constexpr (OP == LT_OP_REM) return b == -1 ? 0 : a % b;
        else if constexpr (OP == LT_OP_REMAINDER) {
            int64_t r = b == -1 ? 0 : a % b;
            return r != 0 && (r < 0) != (b < 0) ? r + b : r;
        }
        else return a;
    } else {  /* uint8: in int, wrapping when stored */
        if constexpr (OP == LT_OP_ADD) return (uint8_t)(a + al * b);
        else if constexpr (OP == LT_OP_SUB) return (uint8_t)(a - al * b);
        else if constexpr (OP == LT_OP_MUL) return (uint8_t)(a * b);
        else if constexpr (OP == LT_OP_DIV) return (uint8_t)(a / b);
        else if constexpr (OP == LT_OP_POW) return (uint8_t)ipow64(a, b);
        else if constexpr (OP == LT_OP_MAX2) return a > b ? a : b;
        else if constexpr (OP == LT_OP_MIN2) return a < b ? a : b;
        else if constexpr (OP == LT_OP_REM || OP == LT_OP_REMAINDER) return (uint8_t)(a % b);
        else return a;
    }
}

/* tensor op tensor; tensor op number (b fixed); number op tensor (a fixed) */
template <int OP, typename T> struct Bin {
    T al;
    LT_HD T operator()(T a, T b) const { return binary_op<OP, T>(a, b, al); }
};
template <int OP, typename T> struct BinB {
    T al, b;
    LT_HD T operator()(T a) const { return binary_op<OP, T>(a, b, al); }
};
template <int OP, typename T> struct BinA {
    T al, a;
    LT_HD T operator()(T b) const { return binary_op<OP, T>(a, b, al); }
};

enum { TT, TS, ST };   /* operand forms: tensor-tensor, tensor-number, number-tensor */

template <int OP, typename T> static int bin_launch(const lt_iter &it, int form, T al, T s)
{
    if (form == TT) return run2<T, T, T>(it, Bin<OP, T>{al});
    if (form == TS) return run1<T, T>(it, BinB<OP, T>{al, s});
    return run1<T, T>(it, BinA<OP, T>{al, s});
}

template <typename T>
static int bin_typed(const lt_iter &it, lt_binary_op op, int form, double alpha, double s)
{
    T al = conv<T>(alpha), sv = conv<T>(s);
    switch (op) {
    case LT_OP_ADD: return bin_launch<LT_OP_ADD, T>(it, form, al, sv);
    case LT_OP_SUB: return bin_launch<LT_OP_SUB, T>(it, form, al, sv);
    case LT_OP_MUL: return bin_launch<LT_OP_MUL, T>(it, form, al, sv);
    case LT_OP_DIV: return bin_launch<LT_OP_DIV, T>(it, form, al, sv);
    case LT_OP_POW: return bin_launch<LT_OP_POW, T>(it, form, al, sv);
    case LT_OP_MAX2: return bin_launch<LT_OP_MAX2, T>(it, form, al, sv);
    case LT_OP_MIN2: return bin_launch<LT_OP_MIN2, T>(it, form, al, sv);
    case LT_OP_REM: return bin_launch<LT_OP_REM, T>(it, form, al, sv);
    case LT_OP_REMAINDER: return bin_launch<LT_OP_REMAINDER, T>(it, form, al, sv);
    case LT_OP_ATAN2:
        if constexpr (is_flt<T>::v) return bin_launch<LT_OP_ATAN2, T>(it, form, al, sv);
        break;
    case LT_OP_SIGMOID_GRAD:
        if constexpr (is_flt<T>::v) return bin_launch<LT_OP_SIGMOID_GRAD, T>(it, form, al, sv);
        break;
    case LT_OP_TANH_GRAD:
        if constexpr (is_flt<T>::v) return bin_launch<LT_OP_TANH_GRAD, T>(it, form, al, sv);
        break;
    case LT_OP_RELU_GRAD:
        if constexpr (is_flt<T>::v) return bin_launch<LT_OP_RELU_GRAD, T>(it, form, al, sv);
        break;
    case LT_OP_LEAKY_GRAD:
        if constexpr (is_flt<T>::v) return bin_launch<LT_OP_LEAKY_GRAD, T>(it, form, al, sv);
        break;
    default: break;
    }
    return lt_error("unknown binary op %d", (int)op);
}

/* The integer pre-scan: flags[0] = a zero divisor, [1] = INT64_MIN / -1, [2] = a negative
 * exponent. Each thread only ever stores 1, so concurrent stores agree. x or y NULL: that
 * side is the number xs / ys; xi / yi are the operands' positions in ix. */
template <typename T>
__global__ void k_scan(lt_gpu_ix ix, const T *x, const T *y, T xs, T ys, int xi, int yi,
                       int pow_op, int div_op, int *flags, int64_t n)
{
    for (int64_t i = LT_GPU_TID(); i < n; i += LT_GPU_NTHREADS()) {
        int64_t o[LT_MAXOPS];
        lt_gpu_offsets(ix, i, o);
        T a = x ? x[o[xi]] : xs, b = y ? y[o[yi]] : ys;
        if (pow_op) {
            if constexpr (sizeof(T) == 8)
                if (b < 0) flags[2] = 1;
        } else {
            if (b == 0) flags[0] = 1;
            if constexpr (sizeof(T) == 8)
                if (div_op && b == -1 && a == INT64_MIN) flags[1] = 1;
        }
    }
}

static int scan_error(const int *f)
{
    if (f[0]) return lt_error("integer division by zero");
    if (f[1]) return lt_error("integer overflow in division (INT64_MIN / -1)");
    if (f[2]) return lt_error("integers cannot be raised to a negative power");
    return LT_OK;
}

template <typename T>
static int scan_typed(const lt_iter &it, lt_binary_op op, int form, double s, int dev)
{
    T sv = conv<T>(s);
    int f[3] = {0, 0, 0};
    if (form == TS) {
        /* the divisor / exponent is the number: only INT64_MIN / -1 needs the elements */
        if (op == LT_OP_POW) {
            if constexpr (sizeof(T) == 8) f[2] = sv < 0;
        } else {
            f[0] = sv == 0;
        }
        int need = 0;
        if constexpr (sizeof(T) == 8) need = op == LT_OP_DIV && sv == -1;
        if (!need) return scan_error(f);
    }
    void *flags;
    const int64_t nbytes = 4 * sizeof(int);
    if (lt_gpu_malloc(&flags, nbytes, dev)) return LT_ERR;
    int st = lt_gpu_memset0(flags, nbytes);
    if (st == LT_OK) {
        lt_gpu_ix ix = lt_gpu_ix_of(&it);
        const T *x = form == ST ? NULL : (const T *)it.data[1];
        const T *y = form == TT ? (const T *)it.data[2] : form == ST ? (const T *)it.data[1] : NULL;
        auto k = k_scan<T>;
        LT_LAUNCH(k, lt_gpu_blocks(it.numel), LT_GPU_THREADS, ix, x, y, sv, sv, 1,
                  form == TT ? 2 : 1, op == LT_OP_POW, op == LT_OP_DIV, (int *)flags, it.numel);
        cudaError_t e = cudaGetLastError();
        st = e == cudaSuccess ? LT_OK : lt_gpu_fail("k_scan", e);
    }
    int g[4] = {0, 0, 0, 0};
    if (st == LT_OK) st = lt_gpu_copy_d2h(g, flags, nbytes);
    lt_gpu_free(flags, nbytes, dev);
    if (st != LT_OK) return st;
    for (int k = 0; k < 3; k++) f[k] |= g[k];
    return scan_error(f);
}

/* it over (target, operands of the form); scans integer divisors / exponents first */
static int bin_run(const lt_iter &it, lt_binary_op op, lt_dtype dt, int form, double alpha,
                   double s, int dev)
{
    int divides = op == LT_OP_DIV || op == LT_OP_REM || op == LT_OP_REMAINDER;
    if (dt == LT_INT64 && (divides || op == LT_OP_POW)) {
        if (scan_typed<int64_t>(it, op, form, s, dev)) return LT_ERR;
    } else if (dt == LT_UINT8 && divides) {
        if (scan_typed<uint8_t>(it, op, form, s, dev)) return LT_ERR;
    }
    switch (dt) {
    case LT_FLOAT32: return bin_typed<float>(it, op, form, alpha, s);
    case LT_FLOAT64: return bin_typed<double>(it, op, form, alpha, s);
    case LT_INT64: return bin_typed<int64_t>(it, op, form, alpha, s);
    default: return bin_typed<uint8_t>(it, op, form, alpha, s);
    }
}

extern "C" int lt_gpu_binary(lt_tensor *out, lt_binary_op op, const lt_tensor *a,
                             const lt_tensor *b, double alpha)
{
    const lt_tensor *ins[2] = {a, b};
    int dev = lt_device(a);
    return ew(out, a->dtype, ins, 2, [&](const lt_iter &it) -> int {
        return bin_run(it, op, a->dtype, TT, alpha, 0, dev);
    });
}

extern "C" int lt_gpu_binary_scalar(lt_tensor *out, lt_binary_op op, const lt_tensor *a,
                                    double s)
{
    const lt_tensor *ins[1] = {a};
    int dev = lt_device(a);
    return ew(out, a->dtype, ins, 1, [&](const lt_iter &it) -> int {
        return bin_run(it, op, a->dtype, TS, 1.0, s, dev);
    });
}

extern "C" int lt_gpu_scalar_binary(lt_tensor *out, lt_binary_op op, double s,
                                    const lt_tensor *a)
{
    const lt_tensor *ins[1] = {a};
    int dev = lt_device(a);
    return ew(out, a->dtype, ins, 1, [&](const lt_iter &it) -> int {
        return bin_run(it, op, a->dtype, ST, 1.0, s, dev);
    });
}

/* ---- comparisons ------------------------------------------------------------------------- */

template <int OP, typename T> static LT_HD uint8_t cmp_op(T a, T b)
{
    if constexpr (OP == LT_CMP_EQ) return a == b;
    else if constexpr (OP == LT_CMP_NE) return a != b;
    else if constexpr (OP == LT_CMP_LT) return a < b;
    else if constexpr (OP == LT_CMP_LE) return a <= b;
    else if constexpr (OP == LT_CMP_GT) return a > b;
    else return a >= b;
}

template <int OP, typename T> struct Cmp {
    LT_HD uint8_t operator()(T a, T b) const { return cmp_op<OP, T>(a, b); }
};
template <int OP, typename T> struct CmpB {
    T b;
    LT_HD uint8_t operator()(T a) const { return cmp_op<OP, T>(a, b); }
};

template <int OP, typename T> static int cmp_launch(const lt_iter &it, int form, T s)
{
    if (form == TT) return run2<uint8_t, T, T>(it, Cmp<OP, T>());
    return run1<uint8_t, T>(it, CmpB<OP, T>{s});
}

template <typename T> static int cmp_typed(const lt_iter &it, lt_cmp_op op, int form, double s)
{
    T sv = conv<T>(s);
    switch (op) {
    case LT_CMP_EQ: return cmp_launch<LT_CMP_EQ, T>(it, form, sv);
    case LT_CMP_NE: return cmp_launch<LT_CMP_NE, T>(it, form, sv);
    case LT_CMP_LT: return cmp_launch<LT_CMP_LT, T>(it, form, sv);
    case LT_CMP_LE: return cmp_launch<LT_CMP_LE, T>(it, form, sv);
    case LT_CMP_GT: return cmp_launch<LT_CMP_GT, T>(it, form, sv);
    default: return cmp_launch<LT_CMP_GE, T>(it, form, sv);
    }
}

static int cmp_run(const lt_iter &it, lt_cmp_op op, lt_dtype dt, int form, double s)
{
    switch (dt) {
    case LT_FLOAT32: return cmp_typed<float>(it, op, form, s);
    case LT_FLOAT64: return cmp_typed<double>(it, op, form, s);
    case LT_INT64: return cmp_typed<int64_t>(it, op, form, s);
    default: return cmp_typed<uint8_t>(it, op, form, s);
    }
}

extern "C" int lt_gpu_compare(lt_tensor *out, lt_cmp_op op, const lt_tensor *a,
                              const lt_tensor *b)
{
    const lt_tensor *ins[2] = {a, b};
    return ew(out, LT_UINT8, ins, 2, [&](const lt_iter &it) -> int {
        return cmp_run(it, op, a->dtype, TT, 0);
    });
}

extern "C" int lt_gpu_compare_scalar(lt_tensor *out, lt_cmp_op op, const lt_tensor *a, double s)
{
    if ((unsigned)op > LT_CMP_GE) return lt_error("unknown comparison %d", (int)op);
    int constant = lt_pw_cmp_scalar_plan(a->dtype, &op, &s);
    if (constant >= 0) return lt_pw_fill_like(out, a, constant);
    const lt_tensor *ins[1] = {a};
    return ew(out, LT_UINT8, ins, 1, [&](const lt_iter &it) -> int {
        return cmp_run(it, op, a->dtype, TS, s);
    });
}

/* ---- clamp and leaky_relu ---------------------------------------------------------------- */

/* two steps, so lo > hi gives hi; NaN passes through */
template <typename T> struct Clamp {
    T lo, hi;
    LT_HD T operator()(T v) const
    {
        v = v < lo ? lo : v;
        return v > hi ? hi : v;
    }
};

/* A bound in dtype T: NaN is no bound; integers round it inwards and saturate. */
template <typename T> static T clamp_bound(double v, int upper)
{
    if (v != v) v = upper ? INFINITY : -INFINITY;
    if constexpr (is_flt<T>::v) {
        return (T)v;
    } else {
        double iv = upper ? floor(v) : ceil(v);
        if constexpr (sizeof(T) == 8) return lt_f2i64(iv);
        else return iv <= 0 ? 0 : iv >= 255 ? 255 : (uint8_t)iv;
    }
}

template <typename T> static int clamp_typed(const lt_iter &it, double lo, double hi)
{
    return run1<T, T>(it, Clamp<T>{clamp_bound<T>(lo, 0), clamp_bound<T>(hi, 1)});
}

extern "C" int lt_gpu_clamp(lt_tensor *out, const lt_tensor *a, double lo, double hi)
{
    const lt_tensor *ins[1] = {a};
    return ew(out, a->dtype, ins, 1, [&](const lt_iter &it) -> int {
        switch (a->dtype) {
        case LT_FLOAT32: return clamp_typed<float>(it, lo, hi);
        case LT_FLOAT64: return clamp_typed<double>(it, lo, hi);
        case LT_INT64: return clamp_typed<int64_t>(it, lo, hi);
        default: return clamp_typed<uint8_t>(it, lo, hi);
        }
    });
}

template <typename T> struct Leaky {
    T sl;
    LT_HD T operator()(T v) const { return v > 0 ? v : v * sl; }
};

extern "C" int lt_gpu_leaky_relu(lt_tensor *out, const lt_tensor *a, double slope)
{
    const lt_tensor *ins[1] = {a};
    return ew(out, a->dtype, ins, 1, [&](const lt_iter &it) -> int {
        if (a->dtype == LT_FLOAT32) return run1<float, float>(it, Leaky<float>{(float)slope});
        return run1<double, double>(it, Leaky<double>{slope});
    });
}

/* ---- addcmul / addcdiv: a + v * b * c, a + v * b / c (PyTorch's order) -------------------- */

template <typename T, int DIV> struct Addc {
    T v;
    LT_HD T operator()(T a, T b, T c) const
    {
        if constexpr (DIV) return a + v * b / c;
        else if constexpr (is_flt<T>::v) return a + mul_rn(mul_rn(v, b), c);
        else if constexpr (sizeof(T) == 8) return (int64_t)(U64(a) + U64(v) * U64(b) * U64(c));
        else return (uint8_t)(a + v * b * c);
    }
};

template <typename T, int DIV> static int addc_typed(const lt_iter &it, double value)
{
    return run3<T, T, T, T>(it, Addc<T, DIV>{conv<T>(value)});
}

static int addc(lt_tensor *out, const lt_tensor *a, double value, const lt_tensor *b,
                const lt_tensor *c, int divide)
{
    const lt_tensor *ins[3] = {a, b, c};
    return ew(out, a->dtype, ins, 3, [&](const lt_iter &it) -> int {
        if (divide)
            return a->dtype == LT_FLOAT32 ? addc_typed<float, 1>(it, value)
                                          : addc_typed<double, 1>(it, value);
        switch (a->dtype) {
        case LT_FLOAT32: return addc_typed<float, 0>(it, value);
        case LT_FLOAT64: return addc_typed<double, 0>(it, value);
        case LT_INT64: return addc_typed<int64_t, 0>(it, value);
        default: return addc_typed<uint8_t, 0>(it, value);
        }
    });
}

extern "C" int lt_gpu_addcmul(lt_tensor *out, const lt_tensor *a, double value,
                              const lt_tensor *b, const lt_tensor *c)
{
    return addc(out, a, value, b, c, 0);
}

extern "C" int lt_gpu_addcdiv(lt_tensor *out, const lt_tensor *a, double value,
                              const lt_tensor *b, const lt_tensor *c)
{
    return addc(out, a, value, b, c, 1);
}

/* ---- where, masked_fill ------------------------------------------------------------------ */

template <typename T> struct Where {
    LT_HD T operator()(uint8_t m, T x, T y) const { return m ? x : y; }
};

extern "C" int lt_gpu_where(lt_tensor *out, const lt_tensor *cond, const lt_tensor *a,
                            const lt_tensor *b)
{
    const lt_tensor *ins[3] = {cond, a, b};
    return ew(out, a->dtype, ins, 3, [&](const lt_iter &it) -> int {
        switch (a->dtype) {
        case LT_FLOAT32: return run3<float, uint8_t, float, float>(it, Where<float>());
        case LT_FLOAT64: return run3<double, uint8_t, double, double>(it, Where<double>());
        case LT_INT64: return run3<int64_t, uint8_t, int64_t, int64_t>(it, Where<int64_t>());
        default: return run3<uint8_t, uint8_t, uint8_t, uint8_t>(it, Where<uint8_t>());
        }
    });
}

template <typename T>
__global__ void k_mfill(lt_gpu_ix ix, T *d, const uint8_t *m, T v, int64_t n)
{
    const bool small = LT_SMALL(n);
    for (int64_t i = LT_GPU_TID(); i < n; i += LT_GPU_NTHREADS()) {
        int64_t o[2];
        offsets<2>(ix, i, o, small);
        if (m[o[1]]) d[o[0]] = v;
    }
}

template <typename T> static int mfill_typed(const lt_iter &it, double value)
{
    lt_gpu_ix ix = lt_gpu_ix_of(&it);
    auto k = k_mfill<T>;
    LT_LAUNCH(k, lt_gpu_blocks(it.numel), LT_GPU_THREADS, ix, (T *)it.data[0],
              (const uint8_t *)it.data[1], conv<T>(value), it.numel);
    LT_CHECK_LAUNCH("k_mfill");
    return LT_OK;
}

extern "C" int lt_gpu_masked_fill(lt_tensor *t, const lt_tensor *mask, double value)
{
    /* a mask that overlaps t in another layout is read from a copy */
    lt_tensor *m = NULL;
    if (lt_shares_storage(t, mask) && !lt_same_layout(t, mask)) {
        m = lt_tensor_empty(LT_UINT8);
        if (!m || lt_clone(m, mask)) {
            lt_tensor_release(m);
            return LT_ERR;
        }
    }
    int st = lt_is_expanded(t) ? lt_error("cannot write into an expanded tensor (clone it first)")
                               : LT_OK;
    lt_iter it;
    const lt_tensor *ops[2] = {t, m ? m : mask};
    if (st == LT_OK && lt_iter_init_any(&it, 2, ops)) {
        char x[LT_SHAPE_BUFSZ], y[LT_SHAPE_BUFSZ];
        st = lt_error("mask of size [%s] does not broadcast to the tensor's size [%s]",
                      lt_shape_str(x, sizeof x, mask->ndim, mask->size),
                      lt_shape_str(y, sizeof y, t->ndim, t->size));
    }
    if (st == LT_OK && it.numel > 0) {
        switch (t->dtype) {
        case LT_FLOAT32: st = mfill_typed<float>(it, value); break;
        case LT_FLOAT64: st = mfill_typed<double>(it, value); break;
        case LT_INT64: st = mfill_typed<int64_t>(it, value); break;
        default: st = mfill_typed<uint8_t>(it, value); break;
        }
    }
    if (st == LT_OK) lt_storage_bump(t);
    lt_tensor_release(m);
    return st;
}

/* ---- masked_select / masked_copy --------------------------------------------------------- */
/* The selected positions depend on every mask element before them (a prefix count), which
 * no thread-independent kernel computes: the mask, broadcast to the walk's shape, comes to
 * the host once (as PyTorch, which must learn the result's size there too), the flat
 * positions of its set elements go back as an int64 list, and one thread per selected
 * element gathers or scatters. The mask is read before anything is written, so a mask that
 * overlaps t needs no copy. */

/* The row-major flat positions where the mask (broadcast to (ndim, size)) is set: an int64
 * device tensor on dev (NULL when count is 0) and their count; LT_ERR on failure. */
static int mask_positions(const lt_tensor *mask, int ndim, const int64_t *size, int dev,
                          lt_tensor **pos, int64_t *count)
{
    *pos = NULL;
    *count = 0;
    lt_tensor *hm = lt_tensor_new_uninit(LT_UINT8, ndim, size);
    if (!hm) return LT_ERR;
    int st = lt_copy(hm, mask);
    int64_t n = lt_numel(hm), c = 0;
    const uint8_t *m = (const uint8_t *)lt_data(hm);
    if (st == LT_OK)
        for (int64_t i = 0; i < n; i++) c += m[i] != 0;
    lt_tensor *hp = NULL;
    if (st == LT_OK && c > 0) {
        hp = lt_tensor_new_uninit(LT_INT64, 1, &c);
        if (!hp) st = LT_ERR;
    }
    if (st == LT_OK && c > 0) {
        int64_t *p = (int64_t *)lt_data(hp), j = 0;
        for (int64_t i = 0; i < n; i++)
            if (m[i]) p[j++] = i;
        *pos = lt_tensor_uninit_on(dev, LT_INT64, 1, &c);
        if (!*pos || lt_copy(*pos, hp)) st = LT_ERR;
    }
    lt_tensor_release(hp);
    lt_tensor_release(hm);
    if (st != LT_OK) {
        lt_tensor_release(*pos);
        *pos = NULL;
        return LT_ERR;
    }
    *count = c;
    return LT_OK;
}

/* scatter: t[pos[j]] = dense[j * ds]; gather: dense[j * ds] = t[pos[j]] (t walked by ix) */
template <typename T>
__global__ void k_mmove(lt_gpu_ix ix, T *t, T *dense, int64_t ds, const int64_t *pos,
                        int scatter, int64_t count)
{
    for (int64_t j = LT_GPU_TID(); j < count; j += LT_GPU_NTHREADS()) {
        int64_t o[1];
        offsets<1>(ix, pos[j], o, false);
        if (scatter) t[o[0]] = dense[j * ds];
        else dense[j * ds] = t[o[0]];
    }
}

template <typename T>
static int mmove_typed(const lt_iter &it, void *dense, int64_t ds, const lt_tensor *pos,
                       int scatter, int64_t count)
{
    lt_gpu_ix ix = lt_gpu_ix_of(&it);
    auto k = k_mmove<T>;
    LT_LAUNCH(k, lt_gpu_blocks(count), LT_GPU_THREADS, ix, (T *)it.data[0], (T *)dense, ds,
              (const int64_t *)lt_data(pos), scatter, count);
    LT_CHECK_LAUNCH("k_mmove");
    return LT_OK;
}

static int mmove(const lt_iter &it, lt_dtype dt, void *dense, int64_t ds, const lt_tensor *pos,
                 int scatter, int64_t count)
{
    switch (dt) {
    case LT_FLOAT32: return mmove_typed<float>(it, dense, ds, pos, scatter, count);
    case LT_FLOAT64: return mmove_typed<double>(it, dense, ds, pos, scatter, count);
    case LT_INT64: return mmove_typed<int64_t>(it, dense, ds, pos, scatter, count);
    default: return mmove_typed<uint8_t>(it, dense, ds, pos, scatter, count);
    }
}

/* The host's check that mask broadcasts to t (an iterator over t alone for the kernel). */
static int mask_walk(lt_iter *it, const lt_tensor *t, const lt_tensor *mask, int writes)
{
    if (writes && lt_is_expanded(t))
        return lt_error("cannot write into an expanded tensor (clone it first)");
    const lt_tensor *ops[2] = {t, mask};
    if (lt_iter_init_any(it, 2, ops) == LT_OK) {
        const lt_tensor *one[1] = {t};
        return lt_iter_init_any(it, 1, one);
    }
    char x[LT_SHAPE_BUFSZ], y[LT_SHAPE_BUFSZ];
    return lt_error("mask of size [%s] does not broadcast to the tensor's size [%s]",
                    lt_shape_str(x, sizeof x, mask->ndim, mask->size),
                    lt_shape_str(y, sizeof y, t->ndim, t->size));
}

extern "C" int lt_gpu_masked_select(lt_tensor *out, const lt_tensor *t, const lt_tensor *mask)
{
    int ndim;
    int64_t size[LT_MAXDIM];
    const lt_tensor *both[2] = {t, mask};
    if (lt_broadcast_many(both, 2, &ndim, size)) return LT_ERR;
    lt_tensor tx = *t;
    if (lt_expand(&tx, ndim, size)) return LT_ERR;
    lt_iter it;
    if (mask_walk(&it, &tx, mask, 0)) return LT_ERR;
    lt_tensor *pos;
    int64_t count;
    if (mask_positions(mask, ndim, size, lt_device(t), &pos, &count)) return LT_ERR;
    lt_tensor *target;
    if (lt_out_prepare(out, 1, &count, both, 2, &target)) {
        lt_tensor_release(pos);
        return LT_ERR;
    }
    int st = LT_OK;
    if (count > 0)
        st = mmove(it, t->dtype, lt_data(target), target->stride[0], pos, 0, count);
    lt_tensor_release(pos);
    return lt_out_finish(out, target, st);
}

extern "C" int lt_gpu_masked_copy(lt_tensor *t, const lt_tensor *mask, const lt_tensor *src)
{
    lt_iter it;
    if (mask_walk(&it, t, mask, 1)) return LT_ERR;
    lt_tensor *pos;
    int64_t count;
    if (mask_positions(mask, t->ndim, t->size, lt_device(t), &pos, &count)) return LT_ERR;
    int st = LT_OK;
    if (lt_numel(src) < count)
        st = lt_error("source has %lld elements, the mask selects %lld",
                      (long long)lt_numel(src), (long long)count);
    /* src read densely, and from a copy when it shares t's storage */
    lt_tensor *dense = NULL;
    if (st == LT_OK) {
        dense = lt_tensor_empty(src->dtype);
        if (!dense) st = LT_ERR;
        else if (lt_shares_storage(t, src) || !lt_is_contiguous(src)) st = lt_clone(dense, src);
        else lt_set_tensor(dense, src);
    }
    if (st == LT_OK && count > 0) st = mmove(it, t->dtype, lt_data(dense), 1, pos, 1, count);
    if (st == LT_OK) lt_storage_bump(t);
    lt_tensor_release(dense);
    lt_tensor_release(pos);
    return st;
}
