/*
 * pointwise.c — the elementwise ops: unary math, binary arithmetic with broadcasting,
 * comparisons (uint8 results), clamp, leaky_relu, addcmul/addcdiv, where and the masked ops.
 *
 * Every op runs on lt_iter with operand 0 the result (of the broadcast shape) and the
 * inputs after it. A scalar operand is a 0-dim tensor of the input's dtype, which the
 * iterator broadcasts with stride 0; the typed inner loops have fast paths for "all
 * contiguous" and "one operand is stride 0". Loops are generated per (op, dtype) by small
 * macros from one expression in the element variables, and looked up in tables.
 *
 * Integer semantics follow Torch7: division truncates, division by zero is an error (never
 * SIGFPE), and int64 add/sub/mul wrap (done through uint64_t, since signed overflow is UB).
 */
#include <math.h>
#include <string.h>

#include "gamma.h"
#include "lt_hd.h"
#include "lt_internal.h"
#include "../gpu/lt_gpu.h"   /* lt_pw_*: shared with the device twins */

/* LT_SIMD (lt_internal.h) in the contiguous loops: d == x (in place) is the only overlap
 * that reaches here — lt_out_prepare diverts any partial overlap to a temporary. */

/* ---- scalars and conversions ------------------------------------------------------------ */

/* A 0-dim tensor holding s in dtype dt. Integers truncate; uint8 wraps modulo 256, as
 * PyTorch does for `byte_tensor + (-1)`. */
static lt_tensor *scalar_tensor(lt_dtype dt, double s)
{
    lt_tensor *t = lt_tensor_new_uninit(dt, 0, NULL);
    if (!t) return NULL;
    void *p = t->storage->data;
    switch (dt) {
    case LT_FLOAT32: *(float *)p = (float)s; break;
    case LT_FLOAT64: *(double *)p = s; break;
    case LT_INT64: *(int64_t *)p = lt_f2i64(s); break;
    case LT_UINT8: *(uint8_t *)p = (uint8_t)(uint64_t)lt_f2i64(s); break;
    default: break;
    }
    return t;
}

static int64_t ipow64(int64_t base, int64_t e)
{
    uint64_t r = 1, b = (uint64_t)base;
    while (e > 0) {
        if (e & 1) r *= b;
        b *= b;
        e >>= 1;
    }
    return (int64_t)r;
}

static uint8_t ipow8(uint8_t base, uint8_t e)
{
    return (uint8_t)ipow64(base, e);
}

/* exp, sigmoid and tanh in plain arithmetic (lt_internal.h's exp), branch-free so that the
 * contiguous loops vectorise; libm's expf / tanhf are a call per element. */

/* sigmoid from e = exp(-|v|) <= 1 (never overflows): 1 / (1 + e) for v >= 0, else
 * e / (1 + e); a few ulp, subnormal results included. */
static inline float sigmoid_f(float v)
{
    float e = lt_exp_float(-fabsf(v));
    return (v >= 0 ? 1.0f : e) / (1.0f + e);
}

static inline double sigmoid_d(double v)
{
    double e = lt_exp_double(-fabs(v));
    return (v >= 0 ? 1.0 : e) / (1.0 + e);
}

/* tanh: Cephes' odd polynomial (float) / rational (double) approximation below |v| = 0.625,
 * where (1 - e) / (1 + e) would cancel, else (1 - e) / (1 + e) with e = exp(-2|v|) <= 0.29
 * (no overflow; 1 for large |v|); the sign is put back last, so tanh(-0) = -0. */
static inline float tanh_f(float v)
{
    float a = fabsf(v), z = v * v;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    float small = p * z * a + a;
    float e = lt_exp_float(-2.0f * a);
    float big = (1.0f - e) / (1.0f + e);
    return copysignf(a < 0.625f ? small : big, v);
}

static inline double tanh_d(double v)
{
    double a = fabs(v), z = v * v;
    double p = (-9.64399179425052238628e-1 * z - 9.92877231001918586564e1) * z -
               1.61468768441708447952e3;
    double q = ((z + 1.12811678491632931402e2) * z + 2.23548839060100448583e3) * z +
               4.84406305325125486048e3;
    double small = a + a * z * (p / q);
    double e = lt_exp_double(-2.0 * a);
    double big = (1.0 - e) / (1.0 + e);
    return copysign(a < 0.625 ? small : big, v);
}

/* ---- the shared driver ------------------------------------------------------------------ */

int lt_pw_check_same_dtype(const lt_tensor *a, const lt_tensor *b)
{
    if (a->dtype != b->dtype)
        return lt_error("expected tensors of one type, got %s and %s", lt_dtype_name(a->dtype),
                        lt_dtype_name(b->dtype));
    return LT_OK;
}

/* The op's name is left to the caller: every Lua binding prefixes it. */
int lt_pw_check_float(const lt_tensor *a)
{
    if (!lt_dtype_is_float(a->dtype))
        return lt_error("needs a Float or Double tensor, got %s", lt_dtype_name(a->dtype));
    return LT_OK;
}

/* Checks out's dtype, broadcasts the inputs and prepares out (or a temporary when out
 * overlaps an input), for this file and its device twin (gpu/pointwise.cu). */
int lt_pw_prepare(lt_tensor *out, lt_dtype out_dt, const lt_tensor *const *ins, int nins,
                  lt_tensor **target)
{
    int ndim;
    int64_t size[LT_MAXDIM];
    char x[LT_SHAPE_BUFSZ], y[LT_SHAPE_BUFSZ];
    if (out->dtype != out_dt)
        return lt_error("result is a %s tensor, expected %s", lt_dtype_name(out->dtype),
                        lt_dtype_name(out_dt));
    if (lt_broadcast_many(ins, nins, &ndim, size)) return LT_ERR;
    /* in place (out is an input): out must already have the broadcast shape */
    for (int k = 0; k < nins; k++)
        if (ins[k] == out && (out->ndim != ndim ||
                              memcmp(out->size, size, (size_t)ndim * sizeof *size)))
            return lt_error("in-place result of size [%s] cannot hold the broadcast size [%s]",
                            lt_shape_str(x, sizeof x, out->ndim, out->size),
                            lt_shape_str(y, sizeof y, ndim, size));
    return lt_out_prepare(out, ndim, size, ins, nins, target);
}

/* Sets up an elementwise op: lt_pw_prepare, then the iterator over (target, ins...). On
 * error nothing is left allocated. */
static int ew_begin(lt_tensor *out, lt_dtype out_dt, const lt_tensor *const *ins, int nins,
                    lt_tensor **target, lt_iter *it)
{
    if (lt_pw_prepare(out, out_dt, ins, nins, target)) return LT_ERR;
    const lt_tensor *ops[LT_MAXOPS];
    ops[0] = *target;
    for (int k = 0; k < nins; k++) ops[k + 1] = ins[k];
    if (lt_iter_init(it, nins + 1, ops)) return lt_out_finish(out, *target, LT_ERR);
    return LT_OK;
}

/* Runs fn over (target, ins...) and finishes out. */
static int ew_run(lt_tensor *out, lt_dtype out_dt, const lt_tensor *const *ins, int nins,
                  lt_loop_fn fn, const void *ctx)
{
    lt_tensor *target;
    lt_iter it;
    if (ew_begin(out, out_dt, ins, nins, &target, &it)) return LT_ERR;
    lt_iter_run(&it, fn, ctx, 0);
    return lt_out_finish(out, target, LT_OK);
}

/* ---- unary ------------------------------------------------------------------------------ */

#define UNARY_LOOP(NAME, T, EXPR) UNARY_LOOP_AS(NAME, T, EXPR, )
/* the transcendental loops get wide clones (LT_WIDE_CLONES); the other unary loops are left
 * narrow (cheap per element; no profile so far has shown them) */
#define UNARY_LOOP_WIDE(NAME, T, EXPR) UNARY_LOOP_AS(NAME, T, EXPR, LT_WIDE_CLONES)
#define UNARY_LOOP_AS(NAME, T, EXPR, ATTR)                                                  \
    ATTR static void NAME(char **p, const int64_t *s, int64_t n, const void *ctx)         \
    {                                                                                       \
        (void)ctx;                                                                          \
        T *d = (T *)p[0];                                                                   \
        const T *x = (const T *)p[1];                                                       \
        if (s[0] == 1 && s[1] == 1) {                                                       \
            LT_SIMD for (int64_t i = 0; i < n; i++) {                                       \
                T v = x[i];                                                                 \
                d[i] = (T)(EXPR);                                                           \
            }                                                                               \
        } else {                                                                            \
            for (int64_t i = 0; i < n; i++) {                                               \
                T v = x[i * s[1]];                                                          \
                d[i * s[0]] = (T)(EXPR);                                                    \
            }                                                                               \
        }                                                                                   \
    }

/* lgamma through the reentrant forms: plain lgamma writes the global signgam, a race between
 * the pool's threads */
static inline float lgamma_r_f(float v)
{
    int sign;
    return lgammaf_r(v, &sign);
}
static inline double lgamma_r_d(double v)
{
    int sign;
    return lgamma_r(v, &sign);
}

/* Float loops; F is the libm suffix ("f" for float, nothing for double). */
#define FLOAT_UNARY(T, tag, F, one)                                                         \
    UNARY_LOOP(u_neg_##tag, T, -v)                                                          \
    UNARY_LOOP(u_abs_##tag, T, fabs##F(v))                                                  \
    UNARY_LOOP(u_sign_##tag, T, (v > 0) - (v < 0))                                          \
    UNARY_LOOP_WIDE(u_exp_##tag, T, lt_exp_##T(v))                                          \
    UNARY_LOOP(u_log_##tag, T, log##F(v))                                                   \
    UNARY_LOOP(u_log1p_##tag, T, log1p##F(v))                                               \
    UNARY_LOOP(u_sqrt_##tag, T, sqrt##F(v))                                                 \
    UNARY_LOOP(u_rsqrt_##tag, T, one / sqrt##F(v))                                          \
    UNARY_LOOP_WIDE(u_sigmoid_##tag, T, sigmoid_##tag(v))                                   \
    UNARY_LOOP_WIDE(u_tanh_##tag, T, tanh_##tag(v))                                         \
    UNARY_LOOP(u_relu_##tag, T, v <= 0 ? 0 : v)                                             \
    UNARY_LOOP(u_floor_##tag, T, floor##F(v))                                               \
    UNARY_LOOP(u_ceil_##tag, T, ceil##F(v))                                                 \
    UNARY_LOOP(u_round_##tag, T, nearbyint##F(v))                                           \
    UNARY_LOOP(u_sin_##tag, T, sin##F(v))                                                   \
    UNARY_LOOP(u_cos_##tag, T, cos##F(v))                                                   \
    UNARY_LOOP(u_trunc_##tag, T, trunc##F(v))                                               \
    UNARY_LOOP(u_frac_##tag, T, v - trunc##F(v))                                            \
    UNARY_LOOP(u_square_##tag, T, v * v)                                                    \
    UNARY_LOOP(u_reciprocal_##tag, T, one / v)                                              \
    UNARY_LOOP(u_tan_##tag, T, tan##F(v))                                                   \
    UNARY_LOOP(u_asin_##tag, T, asin##F(v))                                                 \
    UNARY_LOOP(u_acos_##tag, T, acos##F(v))                                                 \
    UNARY_LOOP(u_atan_##tag, T, atan##F(v))                                                 \
    UNARY_LOOP(u_sinh_##tag, T, sinh##F(v))                                                 \
    UNARY_LOOP(u_cosh_##tag, T, cosh##F(v))                                                 \
    UNARY_LOOP(u_expm1_##tag, T, expm1##F(v))                                               \
    UNARY_LOOP(u_erf_##tag, T, erf##F(v))                                                   \
    UNARY_LOOP(u_erfc_##tag, T, erfc##F(v))                                                 \
    UNARY_LOOP(u_lgamma_##tag, T, lgamma_r_##tag(v))                                        \
    UNARY_LOOP(u_digamma_##tag, T, (T)lt_digamma(v))                                        \
    UNARY_LOOP(u_trigamma_##tag, T, (T)lt_trigamma(v))

FLOAT_UNARY(float, f, f, 1.0f)
FLOAT_UNARY(double, d, , 1.0)

/* int64: negation and squares wrap like the hardware would, without signed overflow */
UNARY_LOOP(u_neg_l, int64_t, (int64_t)(0 - (uint64_t)v))
UNARY_LOOP(u_abs_l, int64_t, v < 0 ? (int64_t)(0 - (uint64_t)v) : v)
UNARY_LOOP(u_sign_l, int64_t, (v > 0) - (v < 0))
UNARY_LOOP(u_relu_l, int64_t, v > 0 ? v : 0)
UNARY_LOOP(u_id_l, int64_t, v)
UNARY_LOOP(u_zero_l, int64_t, 0 * v)
UNARY_LOOP(u_square_l, int64_t, (int64_t)((uint64_t)v * (uint64_t)v))
/* uint8: unsigned, so abs and relu are the identity, and -v wraps modulo 256 */
UNARY_LOOP(u_neg_b, uint8_t, 0u - v)
UNARY_LOOP(u_sign_b, uint8_t, v > 0)
UNARY_LOOP(u_id_b, uint8_t, v)
UNARY_LOOP(u_zero_b, uint8_t, 0 * v)
UNARY_LOOP(u_square_b, uint8_t, (unsigned)v * v)

#define FLOAT_ONLY(op) {u_##op##_f, u_##op##_d, NULL, NULL}
static const lt_loop_fn unary_loops[LT_NUNARY][LT_NDTYPES] = {
    [LT_OP_NEG] = {u_neg_f, u_neg_d, u_neg_l, u_neg_b},
    [LT_OP_ABS] = {u_abs_f, u_abs_d, u_abs_l, u_id_b},
    [LT_OP_SIGN] = {u_sign_f, u_sign_d, u_sign_l, u_sign_b},
    [LT_OP_EXP] = FLOAT_ONLY(exp),
    [LT_OP_LOG] = FLOAT_ONLY(log),
    [LT_OP_LOG1P] = FLOAT_ONLY(log1p),
    [LT_OP_SQRT] = FLOAT_ONLY(sqrt),
    [LT_OP_RSQRT] = FLOAT_ONLY(rsqrt),
    [LT_OP_SIGMOID] = FLOAT_ONLY(sigmoid),
    [LT_OP_TANH] = FLOAT_ONLY(tanh),
    [LT_OP_RELU] = {u_relu_f, u_relu_d, u_relu_l, u_id_b},
    [LT_OP_FLOOR] = {u_floor_f, u_floor_d, u_id_l, u_id_b},
    [LT_OP_CEIL] = {u_ceil_f, u_ceil_d, u_id_l, u_id_b},
    [LT_OP_ROUND] = {u_round_f, u_round_d, u_id_l, u_id_b},
    [LT_OP_SIN] = FLOAT_ONLY(sin),
    [LT_OP_COS] = FLOAT_ONLY(cos),
    [LT_OP_TRUNC] = {u_trunc_f, u_trunc_d, u_id_l, u_id_b},
    [LT_OP_FRAC] = {u_frac_f, u_frac_d, u_zero_l, u_zero_b},
    [LT_OP_SQUARE] = {u_square_f, u_square_d, u_square_l, u_square_b},
    [LT_OP_RECIPROCAL] = FLOAT_ONLY(reciprocal),
    [LT_OP_TAN] = FLOAT_ONLY(tan),
    [LT_OP_ASIN] = FLOAT_ONLY(asin),
    [LT_OP_ACOS] = FLOAT_ONLY(acos),
    [LT_OP_ATAN] = FLOAT_ONLY(atan),
    [LT_OP_SINH] = FLOAT_ONLY(sinh),
    [LT_OP_COSH] = FLOAT_ONLY(cosh),
    [LT_OP_EXPM1] = FLOAT_ONLY(expm1),
    [LT_OP_ERF] = FLOAT_ONLY(erf),
    [LT_OP_ERFC] = FLOAT_ONLY(erfc),
    [LT_OP_LGAMMA] = FLOAT_ONLY(lgamma),
    [LT_OP_DIGAMMA] = FLOAT_ONLY(digamma),
    [LT_OP_TRIGAMMA] = FLOAT_ONLY(trigamma),
};

static const char *const unary_names[LT_NUNARY] = {
    "neg", "abs", "sign", "exp", "log", "log1p", "sqrt", "rsqrt", "sigmoid", "tanh", "relu",
    "floor", "ceil", "round", "sin", "cos", "trunc", "frac", "square", "reciprocal",
    "tan", "asin", "acos", "atan", "sinh", "cosh", "expm1", "erf", "erfc", "lgamma", "digamma",
    "trigamma",
};

const char *lt_unary_name(lt_unary_op op)
{
    return (unsigned)op < LT_NUNARY ? unary_names[op] : "?";
}

int lt_unary(lt_tensor *out, lt_unary_op op, const lt_tensor *a)
{
    if ((unsigned)op >= LT_NUNARY) return lt_error("unknown unary op %d", (int)op);
    lt_loop_fn fn = unary_loops[op][a->dtype];
    if (!fn) return lt_pw_check_float(a);
    LT_GPU_ROUTE(out, lt_gpu_unary(out, op, a), a);
    const lt_tensor *ins[1] = {a};
    return ew_run(out, a->dtype, ins, 1, fn, NULL);
}

/* ---- binary ----------------------------------------------------------------------------- */

/* alpha in every dtype, converted once */
typedef struct {
    float f;
    double d;
    int64_t l;
    uint8_t b;
} scalar4;

static scalar4 make_scalar4(double v)
{
    scalar4 s = {(float)v, v, lt_f2i64(v), (uint8_t)(uint64_t)lt_f2i64(v)};
    return s;
}

/* EXPR is in a, b (the elements) and al (alpha, field AL of the ctx). The two stride-0
 * fast paths cover tensor-op-scalar and scalar-op-tensor. */
#define BINARY_LOOP(NAME, T, AL, EXPR) BINARY_LOOP_AS(NAME, T, AL, EXPR, )
/* arithmetic on cache-resident operands (a training step's gate tensors) runs at the lane
 * count: wide clones (LT_WIDE_CLONES) for the float loops an autograd step is made of */
#define BINARY_LOOP_WIDE(NAME, T, AL, EXPR) BINARY_LOOP_AS(NAME, T, AL, EXPR, LT_WIDE_CLONES)
#define BINARY_LOOP_AS(NAME, T, AL, EXPR, ATTR)                                             \
    ATTR static void NAME(char **p, const int64_t *s, int64_t n, const void *ctx)         \
    {                                                                                       \
        const T al = ((const scalar4 *)ctx)->AL;                                            \
        (void)al;                                                                           \
        T *d = (T *)p[0];                                                                   \
        const T *x = (const T *)p[1], *y = (const T *)p[2];                                 \
        if (s[0] == 1 && s[1] == 1 && s[2] == 1) {                                          \
            LT_SIMD for (int64_t i = 0; i < n; i++) {                                       \
                T a = x[i], b = y[i];                                                       \
                d[i] = (T)(EXPR);                                                           \
            }                                                                               \
        } else if (s[0] == 1 && s[1] == 1 && s[2] == 0) {                                   \
            const T b = y[0];                                                               \
            LT_SIMD for (int64_t i = 0; i < n; i++) {                                       \
                T a = x[i];                                                                 \
                d[i] = (T)(EXPR);                                                           \
            }                                                                               \
        } else if (s[0] == 1 && s[1] == 0 && s[2] == 1) {                                   \
            const T a = x[0];                                                               \
            LT_SIMD for (int64_t i = 0; i < n; i++) {                                       \
                T b = y[i];                                                                 \
                d[i] = (T)(EXPR);                                                           \
            }                                                                               \
        } else {                                                                            \
            for (int64_t i = 0; i < n; i++) {                                               \
                T a = x[i * s[1]], b = y[i * s[2]];                                         \
                d[i * s[0]] = (T)(EXPR);                                                    \
            }                                                                               \
        }                                                                                   \
    }

/* Python's (and PyTorch's) remainder: fmod moved into b's sign; b = 0 gives NaN (floats). */
static inline float remainder_f(float a, float b)
{
    float r = fmodf(a, b);
    return r != 0 && (r < 0) != (b < 0) ? r + b : r;
}
static inline double remainder_d(double a, double b)
{
    double r = fmod(a, b);
    return r != 0 && (r < 0) != (b < 0) ? r + b : r;
}
/* integers: divisors were scanned (no zero); b = -1 leaves 0 (INT64_MIN % -1 is undefined) */
static inline int64_t remainder_l(int64_t a, int64_t b)
{
    int64_t r = b == -1 ? 0 : a % b;
    return r != 0 && (r < 0) != (b < 0) ? r + b : r;
}

/* max/min propagate NaN like torch.maximum/minimum */
#define FLOAT_BINARY(T, tag, F)                                                             \
    BINARY_LOOP_WIDE(b_add_##tag, T, tag, a + al * b)                                       \
    BINARY_LOOP_WIDE(b_sub_##tag, T, tag, a - al * b)                                       \
    BINARY_LOOP_WIDE(b_mul_##tag, T, tag, a * b)                                            \
    BINARY_LOOP_WIDE(b_div_##tag, T, tag, a / b)                                            \
    BINARY_LOOP(b_pow_##tag, T, tag, pow##F(a, b))                                          \
    BINARY_LOOP(b_max_##tag, T, tag, (a != a || a > b) ? a : b)                             \
    BINARY_LOOP(b_min_##tag, T, tag, (a != a || a < b) ? a : b)                             \
    BINARY_LOOP(b_rem_##tag, T, tag, fmod##F(a, b))                                         \
    BINARY_LOOP(b_remainder_##tag, T, tag, remainder_##tag(a, b))                           \
    BINARY_LOOP(b_atan2_##tag, T, tag, atan2##F(a, b))                                      \
    BINARY_LOOP_WIDE(b_sigmoid_grad_##tag, T, tag, a * (1 - b) * b)                         \
    BINARY_LOOP_WIDE(b_tanh_grad_##tag, T, tag, a * (1 - b * b))                            \
    BINARY_LOOP_WIDE(b_relu_grad_##tag, T, tag, b <= 0 ? 0 : a)                             \
    BINARY_LOOP_WIDE(b_leaky_grad_##tag, T, tag, b > 0 ? a : a * al)

FLOAT_BINARY(float, f, f)
FLOAT_BINARY(double, d, )

/* Integer loops. Divisors (zero, INT64_MIN / -1) and negative exponents were rejected by
 * a scan before any write, so the expressions below are always defined. */
#define U64(v) ((uint64_t)(v))
BINARY_LOOP(b_add_l, int64_t, l, U64(a) + U64(al) * U64(b))
BINARY_LOOP(b_sub_l, int64_t, l, U64(a) - U64(al) * U64(b))
BINARY_LOOP(b_mul_l, int64_t, l, U64(a) * U64(b))
BINARY_LOOP(b_div_l, int64_t, l, a / b)
BINARY_LOOP(b_pow_l, int64_t, l, ipow64(a, b))
BINARY_LOOP(b_max_l, int64_t, l, a > b ? a : b)
BINARY_LOOP(b_min_l, int64_t, l, a < b ? a : b)
BINARY_LOOP(b_rem_l, int64_t, l, b == -1 ? 0 : a % b)
BINARY_LOOP(b_remainder_l, int64_t, l, remainder_l(a, b))
/* uint8 arithmetic happens in int and wraps when converted back */
BINARY_LOOP(b_add_b, uint8_t, b, a + al * b)
BINARY_LOOP(b_sub_b, uint8_t, b, a - al * b)
BINARY_LOOP(b_mul_b, uint8_t, b, a * b)
BINARY_LOOP(b_div_b, uint8_t, b, a / b)
BINARY_LOOP(b_pow_b, uint8_t, b, ipow8(a, b))
BINARY_LOOP(b_max_b, uint8_t, b, a > b ? a : b)
BINARY_LOOP(b_min_b, uint8_t, b, a < b ? a : b)
BINARY_LOOP(b_rem_b, uint8_t, b, a % b)

static const lt_loop_fn binary_loops[LT_NBINARY][LT_NDTYPES] = {
    [LT_OP_ADD] = {b_add_f, b_add_d, b_add_l, b_add_b},
    [LT_OP_SUB] = {b_sub_f, b_sub_d, b_sub_l, b_sub_b},
    [LT_OP_MUL] = {b_mul_f, b_mul_d, b_mul_l, b_mul_b},
    [LT_OP_DIV] = {b_div_f, b_div_d, b_div_l, b_div_b},
    [LT_OP_POW] = {b_pow_f, b_pow_d, b_pow_l, b_pow_b},
    [LT_OP_MAX2] = {b_max_f, b_max_d, b_max_l, b_max_b},
    [LT_OP_MIN2] = {b_min_f, b_min_d, b_min_l, b_min_b},
    [LT_OP_REM] = {b_rem_f, b_rem_d, b_rem_l, b_rem_b},
    [LT_OP_REMAINDER] = {b_remainder_f, b_remainder_d, b_remainder_l, b_rem_b},
    [LT_OP_ATAN2] = {b_atan2_f, b_atan2_d, NULL, NULL},
    [LT_OP_SIGMOID_GRAD] = {b_sigmoid_grad_f, b_sigmoid_grad_d, NULL, NULL},
    [LT_OP_TANH_GRAD] = {b_tanh_grad_f, b_tanh_grad_d, NULL, NULL},
    [LT_OP_RELU_GRAD] = {b_relu_grad_f, b_relu_grad_d, NULL, NULL},
    [LT_OP_LEAKY_GRAD] = {b_leaky_grad_f, b_leaky_grad_d, NULL, NULL},
};

static const char *const binary_names[LT_NBINARY] = {
    "add", "sub", "mul", "div", "pow", "max", "min", "fmod", "atan2", "remainder",
    "sigmoid_backward", "tanh_backward", "relu_backward", "leaky_relu_backward",
};

const char *lt_binary_name(lt_binary_op op)
{
    return (unsigned)op < LT_NBINARY ? binary_names[op] : "?";
}

/* The pre-scan of integer operands: bit 1 = zero divisor, 2 = INT64_MIN / -1,
 * 4 = negative exponent. Runs serially, so the flag needs no atomics. */
typedef struct { int *flags; int op; } scan_ctx;

static void scan_l(char **p, const int64_t *s, int64_t n, const void *ctx)
{
    const scan_ctx *c = ctx;
    const int64_t *x = (const int64_t *)p[1], *y = (const int64_t *)p[2];
    int f = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t b = y[i * s[2]];
        if (c->op == LT_OP_POW) {
            f |= (b < 0) << 2;
        } else {
            f |= b == 0;
            if (c->op == LT_OP_DIV && b == -1 && x[i * s[1]] == INT64_MIN) f |= 2;
        }
    }
    *c->flags |= f;
}

static void scan_b(char **p, const int64_t *s, int64_t n, const void *ctx)
{
    const scan_ctx *c = ctx;
    const uint8_t *y = (const uint8_t *)p[2];
    int f = 0;
    for (int64_t i = 0; i < n; i++) f |= y[i * s[2]] == 0;
    *c->flags |= f;
}

/* The checks every form of a binary op shares (on the host and the device): the loop, or
 * NULL + error. */
static lt_loop_fn binary_check(lt_binary_op op, const lt_tensor *a, const lt_tensor *b)
{
    if ((unsigned)op >= LT_NBINARY) {
        lt_error("unknown binary op %d", (int)op);
        return NULL;
    }
    if (lt_pw_check_same_dtype(a, b)) return NULL;
    lt_loop_fn fn = binary_loops[op][a->dtype];
    if (!fn) lt_pw_check_float(a);
    return fn;
}

static int binary_core(lt_tensor *out, lt_binary_op op, const lt_tensor *a,
                       const lt_tensor *b, double alpha)
{
    lt_loop_fn fn = binary_check(op, a, b);
    if (!fn) return LT_ERR;
    const lt_tensor *ins[2] = {a, b};
    lt_tensor *target;
    lt_iter it;
    if (ew_begin(out, a->dtype, ins, 2, &target, &it)) return LT_ERR;
    int integer = !lt_dtype_is_float(a->dtype);
    if (integer && (op == LT_OP_DIV || op == LT_OP_REM || op == LT_OP_REMAINDER ||
                    (op == LT_OP_POW && a->dtype == LT_INT64))) {
        int flags = 0;
        scan_ctx sc = {&flags, op};
        lt_iter_run(&it, a->dtype == LT_INT64 ? scan_l : scan_b, &sc, 1);
        if (flags)
            return lt_out_finish(out, target,
                                 lt_error(flags & 1   ? "integer division by zero"
                                          : flags & 2 ? "integer overflow in division "
                                                        "(INT64_MIN / -1)"
                                                      : "integers cannot be raised to a "
                                                        "negative power"));
    }
    scalar4 al = make_scalar4(alpha);
    lt_iter_run(&it, fn, &al, 0);
    return lt_out_finish(out, target, LT_OK);
}

int lt_binary(lt_tensor *out, lt_binary_op op, const lt_tensor *a, const lt_tensor *b,
              double alpha)
{
    if (a->dtype == LT_BFLOAT16 || b->dtype == LT_BFLOAT16)
        return lt_bf16_binary(out, op, a, b, alpha);
    if (!binary_check(op, a, b)) return LT_ERR;
    LT_GPU_ROUTE(out, lt_gpu_binary(out, op, a, b, alpha), a, b);
    return binary_core(out, op, a, b, alpha);
}

int lt_binary_scalar(lt_tensor *out, lt_binary_op op, const lt_tensor *a, double s)
{
    /* the exponents PyTorch also special-cases: exact and faster than pow() */
    if (op == LT_OP_POW) {
        if (s == 2) return lt_unary(out, LT_OP_SQUARE, a);
        if (lt_dtype_is_float(a->dtype)) {
            if (s == 0.5) return lt_unary(out, LT_OP_SQRT, a);
            if (s == -1) return lt_unary(out, LT_OP_RECIPROCAL, a);
        }
    }
    if (!binary_check(op, a, a)) return LT_ERR;
    LT_GPU_ROUTE(out, lt_gpu_binary_scalar(out, op, a, s), a);
    lt_tensor *st = scalar_tensor(a->dtype, s);
    if (!st) return LT_ERR;
    int r = binary_core(out, op, a, st, 1.0);
    lt_tensor_release(st);
    return r;
}

int lt_scalar_binary(lt_tensor *out, lt_binary_op op, double s, const lt_tensor *a)
{
    if (!binary_check(op, a, a)) return LT_ERR;
    LT_GPU_ROUTE(out, lt_gpu_scalar_binary(out, op, s, a), a);
    lt_tensor *st = scalar_tensor(a->dtype, s);
    if (!st) return LT_ERR;
    int r = binary_core(out, op, st, a, 1.0);
    lt_tensor_release(st);
    return r;
}

/* ---- the two products of a product's gradient ------------------------------------------ */

/* da = g * y and db = g * x in one pass: g is read once, and a training step's gate products
 * take one parallel region instead of two (same bits as two multiplies). */
#define MUL_PAIR_LOOP(NAME, T)                                                              \
    LT_WIDE_CLONES static void NAME(char **p, const int64_t *s, int64_t n,                  \
                                    const void *ctx)                                        \
    {                                                                                       \
        (void)ctx;                                                                          \
        T *da = (T *)p[0], *db = (T *)p[1];                                                 \
        const T *g = (const T *)p[2], *x = (const T *)p[3], *y = (const T *)p[4];           \
        if (s[0] == 1 && s[1] == 1 && s[2] == 1 && s[3] == 1 && s[4] == 1) {                \
            LT_SIMD for (int64_t i = 0; i < n; i++) {                                       \
                da[i] = g[i] * y[i];                                                        \
                db[i] = g[i] * x[i];                                                        \
            }                                                                               \
        } else {                                                                            \
            for (int64_t i = 0; i < n; i++) {                                               \
                da[i * s[0]] = g[i * s[2]] * y[i * s[4]];                                   \
                db[i * s[1]] = g[i * s[2]] * x[i * s[3]];                                   \
            }                                                                               \
        }                                                                                   \
    }

MUL_PAIR_LOOP(mul_pair_f, float)
MUL_PAIR_LOOP(mul_pair_d, double)

int lt_mul_pair(lt_tensor *da, lt_tensor *db, const lt_tensor *g, const lt_tensor *x,
                const lt_tensor *y)
{
    /* one pass where g, x and y are host float tensors of one shape and the results are
     * fresh; anything else takes the two general products (broadcasts, devices, integers) */
    int one_pass = lt_dtype_is_float(g->dtype) && x->dtype == g->dtype && y->dtype == g->dtype &&
                   da->dtype == g->dtype && db->dtype == g->dtype && lt_same_shape(x, g) &&
                   lt_same_shape(y, g) && lt_device(g) == LT_CPU && lt_device(x) == LT_CPU &&
                   lt_device(y) == LT_CPU && lt_device(da) == LT_CPU && lt_device(db) == LT_CPU &&
                   da->storage != db->storage;
    const lt_tensor *ins[3] = {g, x, y};
    for (int k = 0; one_pass && k < 3; k++)
        one_pass = !lt_shares_storage(da, ins[k]) && !lt_shares_storage(db, ins[k]);
    if (!one_pass)
        return lt_binary(da, LT_OP_MUL, g, y, 1.0) ? LT_ERR : lt_binary(db, LT_OP_MUL, g, x, 1.0);
    if (lt_resize(da, g->ndim, g->size) || lt_resize(db, g->ndim, g->size)) return LT_ERR;
    lt_iter it;
    const lt_tensor *ops[5] = {da, db, g, x, y};
    if (lt_iter_init(&it, 5, ops)) return LT_ERR;
    lt_iter_run(&it, g->dtype == LT_FLOAT32 ? mul_pair_f : mul_pair_d, NULL, 0);
    lt_storage_bump(da);
    lt_storage_bump(db);
    return LT_OK;
}

/* ---- comparisons ------------------------------------------------------------------------ */

#define CMP_LOOP(NAME, T, OP)                                                               \
    static void NAME(char **p, const int64_t *s, int64_t n, const void *ctx)              \
    {                                                                                       \
        (void)ctx;                                                                          \
        uint8_t *d = (uint8_t *)p[0];                                                       \
        const T *x = (const T *)p[1], *y = (const T *)p[2];                                 \
        if (s[0] == 1 && s[1] == 1 && s[2] == 1) {                                          \
            LT_SIMD for (int64_t i = 0; i < n; i++) d[i] = x[i] OP y[i];                    \
        } else if (s[0] == 1 && s[1] == 1 && s[2] == 0) {                                   \
            const T b = y[0];                                                               \
            LT_SIMD for (int64_t i = 0; i < n; i++) d[i] = x[i] OP b;                       \
        } else {                                                                            \
            for (int64_t i = 0; i < n; i++) d[i * s[0]] = x[i * s[1]] OP y[i * s[2]];       \
        }                                                                                   \
    }

#define CMP_ALL(T, tag)                                                                     \
    CMP_LOOP(c_eq_##tag, T, ==)                                                             \
    CMP_LOOP(c_ne_##tag, T, !=)                                                             \
    CMP_LOOP(c_lt_##tag, T, <)                                                              \
    CMP_LOOP(c_le_##tag, T, <=)                                                             \
    CMP_LOOP(c_gt_##tag, T, >)                                                              \
    CMP_LOOP(c_ge_##tag, T, >=)

CMP_ALL(float, f)
CMP_ALL(double, d)
CMP_ALL(int64_t, l)
CMP_ALL(uint8_t, b)

#define CMP_ROW(op) {c_##op##_f, c_##op##_d, c_##op##_l, c_##op##_b}
static const lt_loop_fn cmp_loops[6][LT_NDTYPES] = {
    [LT_CMP_EQ] = CMP_ROW(eq), [LT_CMP_NE] = CMP_ROW(ne), [LT_CMP_LT] = CMP_ROW(lt),
    [LT_CMP_LE] = CMP_ROW(le), [LT_CMP_GT] = CMP_ROW(gt), [LT_CMP_GE] = CMP_ROW(ge),
};

int lt_compare(lt_tensor *out, lt_cmp_op op, const lt_tensor *a, const lt_tensor *b)
{
    if ((unsigned)op > LT_CMP_GE) return lt_error("unknown comparison %d", (int)op);
    if (lt_pw_check_same_dtype(a, b)) return LT_ERR;
    LT_GPU_ROUTE(out, lt_gpu_compare(out, op, a, b), a, b);
    const lt_tensor *ins[2] = {a, b};
    return ew_run(out, LT_UINT8, ins, 2, cmp_loops[op][a->dtype], NULL);
}

/* out = value everywhere, with a's shape (a comparison's constant result; device tensors
 * too: lt_out_prepare and lt_fill route) */
int lt_pw_fill_like(lt_tensor *out, const lt_tensor *a, double value)
{
    lt_tensor *target;
    const lt_tensor *ins[1] = {a};
    if (out->dtype != LT_UINT8)
        return lt_error("result is a %s tensor, expected Byte", lt_dtype_name(out->dtype));
    if (lt_out_prepare(out, a->ndim, a->size, ins, 1, &target)) return LT_ERR;
    return lt_out_finish(out, target, lt_fill(target, value));
}

/* Integers compare exactly against any double: a fraction or an out-of-range s gives a
 * constant result (returned, 0 or 1) or an equivalent integer bound (*op, *s rewritten),
 * never a wrapped one; -1 when the comparison has to run. Shared with gpu/pointwise.cu. */
int lt_pw_cmp_scalar_plan(lt_dtype dt, lt_cmp_op *opp, double *sp)
{
    if (lt_dtype_is_float(dt)) return -1;
    lt_cmp_op op = *opp;
    double s = *sp;
    double lo = dt == LT_INT64 ? -9223372036854775808.0 : 0.0;
    double hi = dt == LT_INT64 ? 9223372036854775808.0 : 256.0;  /* exclusive */
    int constant = -1;
    if (s != s) {
        constant = op == LT_CMP_NE;
    } else if (s != floor(s)) {      /* x < 2.5 <=> x <= 2; x >= 2.5 <=> x > 2 */
        if (op == LT_CMP_EQ || op == LT_CMP_NE) constant = op == LT_CMP_NE;
        s = floor(s);
        if (op == LT_CMP_LT) op = LT_CMP_LE;
        if (op == LT_CMP_GE) op = LT_CMP_GT;
    }
    if (constant < 0 && s < lo)
        constant = op == LT_CMP_NE || op == LT_CMP_GT || op == LT_CMP_GE;
    if (constant < 0 && s >= hi)
        constant = op == LT_CMP_NE || op == LT_CMP_LT || op == LT_CMP_LE;
    *opp = op;
    *sp = s;
    return constant;
}

int lt_compare_scalar(lt_tensor *out, lt_cmp_op op, const lt_tensor *a, double s)
{
    if ((unsigned)op > LT_CMP_GE) return lt_error("unknown comparison %d", (int)op);
    LT_GPU_ROUTE(out, lt_gpu_compare_scalar(out, op, a, s), a);
    int constant = lt_pw_cmp_scalar_plan(a->dtype, &op, &s);
    if (constant >= 0) return lt_pw_fill_like(out, a, constant);
    lt_tensor *st = scalar_tensor(a->dtype, s);
    if (!st) return LT_ERR;
    int r = lt_compare(out, op, a, st);
    lt_tensor_release(st);
    return r;
}

/* ---- clamp and leaky_relu --------------------------------------------------------------- */

typedef struct { scalar4 lo, hi; } clamp_ctx;

/* two steps, so lo > hi gives hi, as min(max(x, lo), hi) does; NaN passes through */
#define CLAMP_LOOP(NAME, T, F)                                                              \
    static void NAME(char **p, const int64_t *s, int64_t n, const void *ctx)              \
    {                                                                                       \
        const clamp_ctx *c = ctx;                                                           \
        const T lo = c->lo.F, hi = c->hi.F;                                                 \
        T *d = (T *)p[0];                                                                   \
        const T *x = (const T *)p[1];                                                       \
        if (s[0] == 1 && s[1] == 1) {                                                       \
            LT_SIMD for (int64_t i = 0; i < n; i++) {                                       \
                T v = x[i];                                                                 \
                v = v < lo ? lo : v;                                                        \
                d[i] = v > hi ? hi : v;                                                     \
            }                                                                               \
        } else {                                                                            \
            for (int64_t i = 0; i < n; i++) {                                               \
                T v = x[i * s[1]];                                                          \
                v = v < lo ? lo : v;                                                        \
                d[i * s[0]] = v > hi ? hi : v;                                              \
            }                                                                               \
        }                                                                                   \
    }

CLAMP_LOOP(clamp_f, float, f)
CLAMP_LOOP(clamp_d, double, d)
CLAMP_LOOP(clamp_l, int64_t, l)
CLAMP_LOOP(clamp_b, uint8_t, b)
static const lt_loop_fn clamp_loops[LT_NDTYPES] = {clamp_f, clamp_d, clamp_l, clamp_b};

/* A bound in every dtype: integers round it inwards (x >= 2.5 <=> x >= 3) and saturate. */
static scalar4 clamp_bound(double v, int upper)
{
    scalar4 s;
    double none = upper ? INFINITY : -INFINITY;
    if (v != v) v = none;
    s.f = (float)v;
    s.d = v;
    double iv = upper ? floor(v) : ceil(v);
    s.l = lt_f2i64(iv);
    s.b = iv <= 0 ? 0 : iv >= 255 ? 255 : (uint8_t)iv;
    return s;
}

int lt_clamp(lt_tensor *out, const lt_tensor *a, double lo, double hi)
{
    LT_GPU_ROUTE(out, lt_gpu_clamp(out, a, lo, hi), a);
    clamp_ctx c = {clamp_bound(lo, 0), clamp_bound(hi, 1)};
    const lt_tensor *ins[1] = {a};
    return ew_run(out, a->dtype, ins, 1, clamp_loops[a->dtype], &c);
}

#define LEAKY_LOOP(NAME, T, F)                                                              \
    static void NAME(char **p, const int64_t *s, int64_t n, const void *ctx)              \
    {                                                                                       \
        const T sl = ((const scalar4 *)ctx)->F;                                             \
        T *d = (T *)p[0];                                                                   \
        const T *x = (const T *)p[1];                                                       \
        if (s[0] == 1 && s[1] == 1) {                                                       \
            LT_SIMD for (int64_t i = 0; i < n; i++) d[i] = x[i] > 0 ? x[i] : x[i] * sl;     \
        } else {                                                                            \
            for (int64_t i = 0; i < n; i++) {                                               \
                T v = x[i * s[1]];                                                          \
                d[i * s[0]] = v > 0 ? v : v * sl;                                           \
            }                                                                               \
        }                                                                                   \
    }

LEAKY_LOOP(leaky_f, float, f)
LEAKY_LOOP(leaky_d, double, d)

int lt_leaky_relu(lt_tensor *out, const lt_tensor *a, double slope)
{
    if (lt_pw_check_float(a)) return LT_ERR;
    LT_GPU_ROUTE(out, lt_gpu_leaky_relu(out, a, slope), a);
    scalar4 sl = make_scalar4(slope);
    const lt_tensor *ins[1] = {a};
    return ew_run(out, a->dtype, ins, 1, a->dtype == LT_FLOAT32 ? leaky_f : leaky_d, &sl);
}

/* ---- addcmul / addcdiv ------------------------------------------------------------------ */

/* EXPR in a, b, c and v (the value); same evaluation order as PyTorch: a + v * b * c */
#define TERNARY_LOOP(NAME, T, F, EXPR)                                                      \
    static void NAME(char **p, const int64_t *s, int64_t n, const void *ctx)              \
    {                                                                                       \
        const T v = ((const scalar4 *)ctx)->F;                                              \
        T *d = (T *)p[0];                                                                   \
        const T *x = (const T *)p[1], *y = (const T *)p[2], *z = (const T *)p[3];           \
        if (s[0] == 1 && s[1] == 1 && s[2] == 1 && s[3] == 1) {                             \
            LT_SIMD for (int64_t i = 0; i < n; i++) {                                       \
                T a = x[i], b = y[i], c = z[i];                                             \
                d[i] = (T)(EXPR);                                                           \
            }                                                                               \
        } else {                                                                            \
            for (int64_t i = 0; i < n; i++) {                                               \
                T a = x[i * s[1]], b = y[i * s[2]], c = z[i * s[3]];                        \
                d[i * s[0]] = (T)(EXPR);                                                    \
            }                                                                               \
        }                                                                                   \
    }

TERNARY_LOOP(addcmul_f, float, f, a + v * b * c)
TERNARY_LOOP(addcmul_d, double, d, a + v * b * c)
TERNARY_LOOP(addcmul_l, int64_t, l, U64(a) + U64(v) * U64(b) * U64(c))
TERNARY_LOOP(addcmul_b, uint8_t, b, a + v * b * c)
TERNARY_LOOP(addcdiv_f, float, f, a + v * b / c)
TERNARY_LOOP(addcdiv_d, double, d, a + v * b / c)
static const lt_loop_fn addcmul_loops[LT_NDTYPES] = {addcmul_f, addcmul_d, addcmul_l,
                                                     addcmul_b};

static int addc(lt_tensor *out, const lt_tensor *a, double value, const lt_tensor *b,
                const lt_tensor *c, lt_loop_fn fn, int divide)
{
    if (lt_pw_check_same_dtype(a, b) || lt_pw_check_same_dtype(a, c)) return LT_ERR;
    LT_GPU_ROUTE(out, divide ? lt_gpu_addcdiv(out, a, value, b, c)
                             : lt_gpu_addcmul(out, a, value, b, c), a, b, c);
    (void)divide;
    scalar4 v = make_scalar4(value);
    const lt_tensor *ins[3] = {a, b, c};
    return ew_run(out, a->dtype, ins, 3, fn, &v);
}

int lt_addcmul(lt_tensor *out, const lt_tensor *a, double value, const lt_tensor *b,
               const lt_tensor *c)
{
    return addc(out, a, value, b, c, addcmul_loops[a->dtype], 0);
}

int lt_addcdiv(lt_tensor *out, const lt_tensor *a, double value, const lt_tensor *b,
               const lt_tensor *c)
{
    if (lt_pw_check_float(a)) return LT_ERR;
    return addc(out, a, value, b, c, a->dtype == LT_FLOAT32 ? addcdiv_f : addcdiv_d, 1);
}

/* ---- where ------------------------------------------------------------------------------ */

/* Both sides are read whatever the mask says, so that the unit-stride loops vectorise as a
 * blend (a branch per element mispredicts on a random mask: 4 ns an element) */
#define WHERE_LOOP(NAME, T)                                                                 \
    static void NAME(char **p, const int64_t *s, int64_t n, const void *ctx)              \
    {                                                                                       \
        (void)ctx;                                                                          \
        T *d = (T *)p[0];                                                                   \
        const uint8_t *m = (const uint8_t *)p[1];                                           \
        const T *x = (const T *)p[2], *y = (const T *)p[3];                                 \
        if (s[0] == 1 && s[1] == 1 && s[2] == 1 && s[3] == 1) {                             \
            LT_SIMD for (int64_t i = 0; i < n; i++) {                                       \
                T a = x[i], b = y[i];                                                       \
                d[i] = m[i] ? a : b;                                                        \
            }                                                                               \
        } else if (s[0] == 1 && s[1] == 1 && s[2] == 1 && s[3] == 0) {                      \
            /* a broadcast scalar: the gradients of relu / clamp (g where kept, else 0) */  \
            const T b = *y;                                                                 \
            LT_SIMD for (int64_t i = 0; i < n; i++) {                                       \
                T a = x[i];                                                                 \
                d[i] = m[i] ? a : b;                                                        \
            }                                                                               \
        } else if (s[0] == 1 && s[1] == 1 && s[2] == 0 && s[3] == 1) {                      \
            const T a = *x;                                                                 \
            LT_SIMD for (int64_t i = 0; i < n; i++) {                                       \
                T b = y[i];                                                                 \
                d[i] = m[i] ? a : b;                                                        \
            }                                                                               \
        } else {                                                                            \
            for (int64_t i = 0; i < n; i++)                                                 \
                d[i * s[0]] = m[i * s[1]] ? x[i * s[2]] : y[i * s[3]];                      \
        }                                                                                   \
    }

WHERE_LOOP(where_f, float)
WHERE_LOOP(where_d, double)
WHERE_LOOP(where_l, int64_t)
WHERE_LOOP(where_b, uint8_t)
static const lt_loop_fn where_loops[LT_NDTYPES] = {where_f, where_d, where_l, where_b};

int lt_pw_check_mask(const char *what, const lt_tensor *m)
{
    if (m->dtype != LT_UINT8)
        return lt_error("%s must be a ByteTensor, got %s", what, lt_dtype_name(m->dtype));
    return LT_OK;
}

int lt_where(lt_tensor *out, const lt_tensor *cond, const lt_tensor *a, const lt_tensor *b)
{
    if (lt_pw_check_mask("condition", cond) || lt_pw_check_same_dtype(a, b)) return LT_ERR;
    LT_GPU_ROUTE(out, lt_gpu_where(out, cond, a, b), cond, a, b);
    const lt_tensor *ins[3] = {cond, a, b};
    return ew_run(out, a->dtype, ins, 3, where_loops[a->dtype], NULL);
}

/* ---- masked ops ------------------------------------------------------------------------- */
/* These run serially: select and copy consume their elements in row-major order. */

/* A mask safe to read while t is written: a copy when it overlaps t in another layout. */
static int mask_for(const lt_tensor *t, const lt_tensor *mask, lt_tensor **m)
{
    *m = NULL;
    if (lt_pw_check_mask("mask", mask)) return LT_ERR;
    if (lt_shares_storage(t, mask) && !lt_same_layout(t, mask)) {
        *m = lt_tensor_empty(LT_UINT8);
        if (!*m || lt_clone(*m, mask)) return LT_ERR;
    }
    return LT_OK;
}

/* An iterator over (t, mask) with mask broadcast to t, refusing expanded t when written. */
static int mask_iter(lt_iter *it, const lt_tensor *t, const lt_tensor *mask, int writes)
{
    if (writes && lt_is_expanded(t))
        return lt_error("cannot write into an expanded tensor (clone it first)");
    const lt_tensor *ops[2] = {t, mask};
    if (lt_iter_init(it, 2, ops) == LT_OK) return LT_OK;
    char x[LT_SHAPE_BUFSZ], y[LT_SHAPE_BUFSZ];
    return lt_error("mask of size [%s] does not broadcast to the tensor's size [%s]",
                    lt_shape_str(x, sizeof x, mask->ndim, mask->size),
                    lt_shape_str(y, sizeof y, t->ndim, t->size));
}

#define MFILL_LOOP(NAME, T, F)                                                              \
    static void NAME(char **p, const int64_t *s, int64_t n, const void *ctx)              \
    {                                                                                       \
        const T v = ((const scalar4 *)ctx)->F;                                              \
        T *d = (T *)p[0];                                                                   \
        const uint8_t *m = (const uint8_t *)p[1];                                           \
        for (int64_t i = 0; i < n; i++)                                                     \
            if (m[i * s[1]]) d[i * s[0]] = v;                                               \
    }

MFILL_LOOP(mfill_f, float, f)
MFILL_LOOP(mfill_d, double, d)
MFILL_LOOP(mfill_l, int64_t, l)
MFILL_LOOP(mfill_b, uint8_t, b)
static const lt_loop_fn mfill_loops[LT_NDTYPES] = {mfill_f, mfill_d, mfill_l, mfill_b};

int lt_masked_fill(lt_tensor *t, const lt_tensor *mask, double value)
{
    if (lt_pw_check_mask("mask", mask)) return LT_ERR;
    LT_GPU_ROUTE(NULL, lt_gpu_masked_fill(t, mask, value), t, mask);
    lt_tensor *m;
    lt_iter it;
    int st = mask_for(t, mask, &m);
    if (st == LT_OK) st = mask_iter(&it, t, m ? m : mask, 1);
    if (st == LT_OK) {
        scalar4 v = make_scalar4(value);
        lt_iter_run(&it, mfill_loops[t->dtype], &v, 0);
        lt_storage_bump(t);
    }
    lt_tensor_release(m);
    return st;
}

/* Counting pass of select/copy. */
static void mcount(char **p, const int64_t *s, int64_t n, const void *ctx)
{
    int64_t *count = *(int64_t *const *)ctx;
    const uint8_t *m = (const uint8_t *)p[1];
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++) c += m[i * s[1]] != 0;
    *count += c;
}

/* Gathers (select) or scatters (copy) the masked elements, a cursor walking a dense
 * buffer. */
typedef struct { char *buf; size_t elsize; int scatter; } mmove_ctx;

static void mmove(char **p, const int64_t *s, int64_t n, const void *ctx)
{
    mmove_ctx *c = *(mmove_ctx *const *)ctx;
    const uint8_t *m = (const uint8_t *)p[1];
    size_t es = c->elsize;
    for (int64_t i = 0; i < n; i++) {
        if (!m[i * s[1]]) continue;
        char *e = p[0] + i * s[0] * (int64_t)es;
        if (c->scatter) memcpy(e, c->buf, es);
        else memcpy(c->buf, e, es);
        c->buf += es;
    }
}

static int64_t mask_count(const lt_iter *it)
{
    int64_t count = 0, *pc = &count;
    lt_iter_run(it, mcount, &pc, 1);
    return count;
}

int lt_masked_select(lt_tensor *out, const lt_tensor *t, const lt_tensor *mask)
{
    if (lt_pw_check_mask("mask", mask)) return LT_ERR;
    if (out->dtype != t->dtype)
        return lt_error("result is a %s tensor, expected %s", lt_dtype_name(out->dtype),
                        lt_dtype_name(t->dtype));
    LT_GPU_ROUTE(out, lt_gpu_masked_select(out, t, mask), t, mask);
    /* both broadcast, as in PyTorch: walk t expanded to the common shape */
    int ndim;
    int64_t size[LT_MAXDIM];
    const lt_tensor *both[2] = {t, mask};
    if (lt_broadcast_many(both, 2, &ndim, size)) return LT_ERR;
    lt_tensor tx = *t;
    if (lt_expand(&tx, ndim, size)) return LT_ERR;
    lt_iter it;
    if (mask_iter(&it, &tx, mask, 0)) return LT_ERR;
    int64_t count = mask_count(&it);
    lt_tensor *target;
    if (lt_out_prepare(out, 1, &count, both, 2, &target)) return LT_ERR;
    mmove_ctx c = {lt_data(target), lt_dtype_size(t->dtype), 0}, *pc = &c;
    if (!lt_is_contiguous(target)) {
        /* out came with a strided layout of the right size: fill a dense temporary */
        lt_tensor *dense = lt_tensor_new_uninit(t->dtype, 1, &count);
        if (!dense) return lt_out_finish(out, target, LT_ERR);
        c.buf = lt_data(dense);
        lt_iter_run(&it, mmove, &pc, 1);
        int st = lt_copy(target, dense);
        lt_tensor_release(dense);
        return lt_out_finish(out, target, st);
    }
    lt_iter_run(&it, mmove, &pc, 1);
    return lt_out_finish(out, target, LT_OK);
}

int lt_masked_copy(lt_tensor *t, const lt_tensor *mask, const lt_tensor *src)
{
    if (lt_pw_check_same_dtype(t, src) || lt_pw_check_mask("mask", mask)) return LT_ERR;
    LT_GPU_ROUTE(NULL, lt_gpu_masked_copy(t, mask, src), t, mask, src);
    lt_tensor *m, *dense = NULL;
    lt_iter it;
    int st = mask_for(t, mask, &m);
    if (st == LT_OK) st = mask_iter(&it, t, m ? m : mask, 1);
    if (st == LT_OK) {
        int64_t count = mask_count(&it);
        if (lt_numel(src) < count)
            st = lt_error("source has %lld elements, the mask selects %lld",
                          (long long)lt_numel(src), (long long)count);
    }
    /* src read densely, and from a copy when it shares t's storage */
    if (st == LT_OK) {
        dense = lt_tensor_empty(src->dtype);
        if (!dense) st = LT_ERR;
        else if (lt_shares_storage(t, src) || !lt_is_contiguous(src)) st = lt_clone(dense, src);
        else lt_set_tensor(dense, src);
    }
    if (st == LT_OK) {
        mmove_ctx c = {lt_data(dense), lt_dtype_size(t->dtype), 1}, *pc = &c;
        lt_iter_run(&it, mmove, &pc, 1);
        lt_storage_bump(t);
    }
    lt_tensor_release(dense);
    lt_tensor_release(m);
    return st;
}
