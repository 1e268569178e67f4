/*
 * reduce.c — reductions: sum/mean/prod/max/min over everything or along one dim, max/min
 * with indices, variance, p-norms, cumulative sum/product, stable sort and topk.
 *
 * Accumulation: float32 and float64 accumulate in double, int64/uint8 in int64 with
 * wrap-around (through uint64, never signed overflow). Results are deterministic for a given
 * thread count (in fact for any): a full reduction is cut into fixed-size chunks whose
 * partials are combined in order, and a dim reduction gives each output element to one thread,
 * which walks its slice in order.
 *
 * A dim reduction views the input as "one slice of R elements (stride rs) per output
 * element" and iterates the outputs with lt_iter. Two layouts of the slices are fast:
 *   - row mode: a slice is contiguous (reducing a contiguous last dim): a SIMD loop per row;
 *   - column mode: neighbouring outputs read neighbouring inputs (reducing dim 0 of a
 *     row-major matrix): rows outer, a block of columns inner, accumulators in a small array
 *     that stays in L1, so the inner loop vectorises (this backs bias gradients).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lt_internal.h"
#include "reduce_kinds.h"


/* Device tensors: every public op below hands them to its twin in gpu/reduce.cu
 * (LT_GPU_ROUTE) after its argument checks, so the messages are the same; the twins keep these
 * semantics (double / wrapping int64 accumulation, NaN propagation, first index on ties). */

/* Elements per chunk of a full reduction: fixed, so partials never depend on threads. */
#define RED_CHUNK 16384
/* Columns per block in column mode (accumulators on the stack). */
#define COLBLK 256

/* ---- accumulation kernels ------------------------------------------------------------- */

typedef union { double d; int64_t i; } acc_t;

/* kop (what a kernel accumulates) and fin_op: reduce_kinds.h, shared with gpu/reduce.cu */

/* Accumulate a strided line of n elements into *acc; p is the op's parameter. */
typedef void (*line_fn)(const char *x, int64_t n, int64_t s, double p, acc_t *acc);
/* Accumulate nrow rows (row stride rs) of ncol contiguous columns into acc[0..ncol);
 * pv[j] is column j's parameter (the mean for K_SQDEV). */
typedef void (*cols_fn)(const char *x, int64_t ncol, int64_t nrow, int64_t rs, double p,
                        const double *pv, acc_t *acc);

/* One accumulation step: a is the accumulator, v the element (as double), p the parameter.
 * max/min propagate NaN: once a is NaN nothing replaces it. */
#define ST_SUM(a, v, p) a += v
#define ST_PROD(a, v, p) a *= v
#define ST_MAX(a, v, p) a = ((v > a) | (v != v)) ? v : a   /* | not ||: branch-free */
#define ST_MIN(a, v, p) a = ((v < a) | (v != v)) ? v : a
#define ST_ASUM(a, v, p) a += fabs(v)
#define ST_SSQ(a, v, p) a += v * v
#define ST_PSUM(a, v, p) a += pow(fabs(v), p)
#define ST_AMAX(a, v, p) do { double w_ = fabs(v); a = ((w_ > a) | (w_ != w_)) ? w_ : a; } while (0)
#define ST_AMIN(a, v, p) do { double w_ = fabs(v); a = ((w_ < a) | (w_ != w_)) ? w_ : a; } while (0)
#define ST_NNZ(a, v, p) a += (v != 0)
#define ST_SQDEV(a, v, p) do { double d_ = v - (p); a += d_ * d_; } while (0)

/* Combining two partial accumulators of one kernel. */
#define CB_ADD(a, b) a += b
#define CB_MUL(a, b) a *= b
#define CB_MAX(a, b) a = (b > a || b != b) ? b : a
#define CB_MIN(a, b) a = (b < a || b != b) ? b : a

/* A contiguous line runs eight independent accumulators (lanes, named so they stay in
 * registers), so the dependent adds pipeline and vectorise; the lanes are combined in a fixed
 * order (deterministic). */
#define FLINE(T, K, ST, CB, ID)                                                              \
    LT_WIDE_CLONES static void line_##T##_##K(const char *px, int64_t n, int64_t s, double p, \
                                              acc_t *acc)                                    \
    {                                                                                        \
        const T *x = (const T *)px;                                                          \
        double a = acc->d;                                                                   \
        int64_t i = 0;                                                                       \
        (void)p;                                                                             \
        if (s == 1 && n >= 16) {                                                             \
            double l0 = ID, l1 = ID, l2 = ID, l3 = ID, l4 = ID, l5 = ID, l6 = ID, l7 = ID;   \
            for (; i + 8 <= n; i += 8) {                                                     \
                const T *y = x + i;                                                          \
                double v0 = y[0], v1 = y[1], v2 = y[2], v3 = y[3];                           \
                double v4 = y[4], v5 = y[5], v6 = y[6], v7 = y[7];                           \
                ST(l0, v0, p); ST(l1, v1, p); ST(l2, v2, p); ST(l3, v3, p);                  \
                ST(l4, v4, p); ST(l5, v5, p); ST(l6, v6, p); ST(l7, v7, p);                  \
            }                                                                                \
            CB(l0, l4); CB(l1, l5); CB(l2, l6); CB(l3, l7);                                  \
            CB(l0, l2); CB(l1, l3);                                                          \
            CB(l0, l1);                                                                      \
            CB(a, l0);                                                                       \
        }                                                                                    \
        for (; i < n; i++) { double v = x[i * s]; ST(a, v, p); }                             \
        acc->d = a;                                                                          \
    }

/* Columns: four rows per pass over the accumulators (applied in row order, so each column
 * still accumulates sequentially), to cut the accumulator loads and stores by four. The
 * accumulators never overlap the input, so the column loop vectorises (LT_SIMD), in wide
 * clones: this is the bias gradient of every Linear. */
#define FCOLS(T, K, ST, PEXPR)                                                               \
    LT_WIDE_CLONES static void cols_##T##_##K(const char *px, int64_t ncol, int64_t nrow,   \
                                              int64_t rs, double p, const double *pv,        \
                                              acc_t *acc)                                    \
    {                                                                                        \
        const T *x = (const T *)px;                                                          \
        double *A = &acc->d;                                                                 \
        int64_t r = 0;                                                                       \
        (void)p;                                                                             \
        (void)pv;                                                                            \
        for (; r + 4 <= nrow; r += 4) {                                                      \
            const T *r0 = x + r * rs, *r1 = r0 + rs, *r2 = r1 + rs, *r3 = r2 + rs;           \
            LT_SIMD for (int64_t j = 0; j < ncol; j++) {                                     \
                double a = A[j], v;                                                          \
                v = r0[j]; ST(a, v, PEXPR);                                                  \
                v = r1[j]; ST(a, v, PEXPR);                                                  \
                v = r2[j]; ST(a, v, PEXPR);                                                  \
                v = r3[j]; ST(a, v, PEXPR);                                                  \
                A[j] = a;                                                                    \
            }                                                                                \
        }                                                                                    \
        for (; r < nrow; r++) {                                                              \
            const T *row = x + r * rs;                                                       \
            LT_SIMD for (int64_t j = 0; j < ncol; j++) {                                     \
                double a = A[j], v = row[j];                                                 \
                ST(a, v, PEXPR);                                                             \
                A[j] = a;                                                                    \
            }                                                                                \
        }                                                                                    \
    }

#define FKERNELS(T)                                                                          \
    FLINE(T, K_SUM, ST_SUM, CB_ADD, 0.0)          FCOLS(T, K_SUM, ST_SUM, p)                 \
    FLINE(T, K_PROD, ST_PROD, CB_MUL, 1.0)        FCOLS(T, K_PROD, ST_PROD, p)               \
    FLINE(T, K_MAX, ST_MAX, CB_MAX, -INFINITY)    FCOLS(T, K_MAX, ST_MAX, p)                 \
    FLINE(T, K_MIN, ST_MIN, CB_MIN, INFINITY)     FCOLS(T, K_MIN, ST_MIN, p)                 \
    FLINE(T, K_ASUM, ST_ASUM, CB_ADD, 0.0)        FCOLS(T, K_ASUM, ST_ASUM, p)               \
    FLINE(T, K_SSQ, ST_SSQ, CB_ADD, 0.0)          FCOLS(T, K_SSQ, ST_SSQ, p)                 \
    FLINE(T, K_PSUM, ST_PSUM, CB_ADD, 0.0)        FCOLS(T, K_PSUM, ST_PSUM, p)               \
    FLINE(T, K_AMAX, ST_AMAX, CB_MAX, 0.0)        FCOLS(T, K_AMAX, ST_AMAX, p)               \
    FLINE(T, K_AMIN, ST_AMIN, CB_MIN, INFINITY)   FCOLS(T, K_AMIN, ST_AMIN, p)               \
    FLINE(T, K_NNZ, ST_NNZ, CB_ADD, 0.0)          FCOLS(T, K_NNZ, ST_NNZ, p)                 \
    FLINE(T, K_SQDEV, ST_SQDEV, CB_ADD, 0.0)      FCOLS(T, K_SQDEV, ST_SQDEV, pv[j])

FKERNELS(float)
FKERNELS(double)

/* Integer steps: a is int64_t; sums and products wrap through uint64_t. */
#define IST_SUM(a, v) a = (int64_t)((uint64_t)a + (uint64_t)(v))
#define IST_PROD(a, v) a = (int64_t)((uint64_t)a * (uint64_t)(v))
#define IST_MAX(a, v) a = (v) > a ? (v) : a
#define IST_MIN(a, v) a = (v) < a ? (v) : a

#define ILINE(T, K, ST)                                                                      \
    static void line_##T##_##K(const char *px, int64_t n, int64_t s, double p, acc_t *acc) \
    {                                                                                        \
        const T *x = (const T *)px;                                                          \
        int64_t a = acc->i;                                                                  \
        (void)p;                                                                             \
        if (s == 1)                                                                          \
            for (int64_t i = 0; i < n; i++) { int64_t v = x[i]; ST(a, v); }                  \
        else                                                                                 \
            for (int64_t i = 0; i < n; i++) { int64_t v = x[i * s]; ST(a, v); }              \
        acc->i = a;                                                                          \
    }

#define ICOLS(T, K, ST)                                                                      \
    static void cols_##T##_##K(const char *px, int64_t ncol, int64_t nrow, int64_t rs,       \
                               double p, const double *pv, acc_t *acc)                       \
    {                                                                                        \
        const T *x = (const T *)px;                                                          \
        int64_t *A = &acc->i;                                                                \
        (void)p;                                                                             \
        (void)pv;                                                                            \
        for (int64_t r = 0; r < nrow; r++) {                                                 \
            const T *row = x + r * rs;                                                       \
            for (int64_t j = 0; j < ncol; j++) {                                             \
                int64_t a = A[j], v = row[j];                                                \
                ST(a, v);                                                                    \
                A[j] = a;                                                                    \
            }                                                                                \
        }                                                                                    \
    }

#define IKERNELS(T)                                                                          \
    ILINE(T, K_SUM, IST_SUM)   ICOLS(T, K_SUM, IST_SUM)                                      \
    ILINE(T, K_PROD, IST_PROD) ICOLS(T, K_PROD, IST_PROD)                                    \
    ILINE(T, K_MAX, IST_MAX)   ICOLS(T, K_MAX, IST_MAX)                                      \
    ILINE(T, K_MIN, IST_MIN)   ICOLS(T, K_MIN, IST_MIN)

IKERNELS(int64_t)
IKERNELS(uint8_t)

#define FTAB(P, T)                                                                           \
    {P##T##_K_SUM, P##T##_K_PROD, P##T##_K_MAX, P##T##_K_MIN, P##T##_K_ASUM, P##T##_K_SSQ,   \
     P##T##_K_PSUM, P##T##_K_AMAX, P##T##_K_AMIN, P##T##_K_NNZ, P##T##_K_SQDEV}
#define ITAB(P, T) {P##T##_K_SUM, P##T##_K_PROD, P##T##_K_MAX, P##T##_K_MIN}

static const line_fn line_tab[LT_NDTYPES][NK] = {
    [LT_FLOAT32] = FTAB(line_, float), [LT_FLOAT64] = FTAB(line_, double),
    [LT_INT64] = ITAB(line_, int64_t), [LT_UINT8] = ITAB(line_, uint8_t),
};
static const cols_fn cols_tab[LT_NDTYPES][NK] = {
    [LT_FLOAT32] = FTAB(cols_, float), [LT_FLOAT64] = FTAB(cols_, double),
    [LT_INT64] = ITAB(cols_, int64_t), [LT_UINT8] = ITAB(cols_, uint8_t),
};

static acc_t acc_init(kop k, int fl)
{
    acc_t a;
    if (fl) {
        a.d = k == K_PROD ? 1 : k == K_MAX ? -INFINITY : (k == K_MIN || k == K_AMIN) ? INFINITY : 0;
    } else {
        a.i = k == K_PROD ? 1 : k == K_MAX ? INT64_MIN : k == K_MIN ? INT64_MAX : 0;
    }
    return a;
}

/* Combines partial b into a (in chunk order, so the result is deterministic). */
static void acc_combine(kop k, int fl, acc_t *a, acc_t b)
{
    if (fl) {
        switch (k) {
        case K_PROD: a->d *= b.d; break;
        case K_MAX: case K_AMAX: if (b.d > a->d || b.d != b.d) a->d = a->d != a->d ? a->d : b.d; break;
        case K_MIN: case K_AMIN: if (b.d < a->d || b.d != b.d) a->d = a->d != a->d ? a->d : b.d; break;
        default: a->d += b.d; break;
        }
    } else {
        switch (k) {
        case K_PROD: IST_PROD(a->i, b.i); break;
        case K_MAX: IST_MAX(a->i, b.i); break;
        case K_MIN: IST_MIN(a->i, b.i); break;
        default: IST_SUM(a->i, b.i); break;
        }
    }
}

/* ---- full reductions ------------------------------------------------------------------ */

typedef struct { line_fn line; double p; acc_t *acc; } all_ctx;

static void all_run(char **ptr, const int64_t *inner, int64_t n, const void *vctx)
{
    const all_ctx *c = vctx;
    c->line(ptr[0], n, inner[0], c->p, c->acc);
}

typedef struct {
    const lt_iter *it;
    line_fn line;
    double p;
    acc_t *part;          /* (nblocks) one partial per RED_CHUNK block */
    int k, fl;
    int64_t n;
} all_job;

static void all_blocks(void *vjob, int64_t c0, int64_t c1)
{
    const all_job *j = vjob;
    for (int64_t c = c0; c < c1; c++) {
        j->part[c] = acc_init(j->k, j->fl);
        all_ctx ctx = {j->line, j->p, &j->part[c]};
        int64_t end = (c + 1) * RED_CHUNK < j->n ? (c + 1) * RED_CHUNK : j->n;
        lt_iter_run_range(j->it, all_run, &ctx, c * RED_CHUNK, end);
    }
}

/* *res = the k-reduction of every element of a (fixed chunks, partials combined in order). */
static int reduce_all_k(acc_t *res, kop k, const lt_tensor *a, double p)
{
    int fl = lt_dtype_is_float(a->dtype);
    line_fn line = line_tab[a->dtype][k];
    int64_t n = lt_numel(a);
    *res = acc_init(k, fl);
    if (!line) return lt_error("this reduction needs a floating-point tensor, got %s",
                               lt_dtype_name(a->dtype));
    if (n == 0) return LT_OK;
    lt_iter it;
    const lt_tensor *ops[1] = {a};
    if (lt_iter_init(&it, 1, ops)) return LT_ERR;
    int64_t nch = (n + RED_CHUNK - 1) / RED_CHUNK;
    acc_t small[64];
    acc_t *part = nch <= 64 ? small : malloc((size_t)nch * sizeof *part);
    if (!part) return lt_error("out of memory");
    /* one partial per RED_CHUNK elements, added in order: the same bits at any thread count */
    all_job job = {&it, line, p, part, k, fl, n};
    lt_parallel_range(lt_par_chunks((double)n, (double)n * (double)it.elsize[0]), nch,
                      all_blocks, &job);
    for (int64_t c = 0; c < nch; c++) acc_combine(k, fl, res, part[c]);
    if (part != small) free(part);
    return LT_OK;
}

static double acc_to_double(acc_t a, int fl) { return fl ? a.d : (double)a.i; }

static const char *red_name(lt_reduce_op op)
{
    static const char *names[LT_NRED] = {"sum", "mean", "prod", "max", "min"};
    return op >= 0 && op < LT_NRED ? names[op] : "?";
}

/* Both forms of an all-elements result: *result as a double and, for an integer tensor,
 * *exact as the int64 it accumulated. */
static int reduce_all_both(double *result, int64_t *exact, lt_reduce_op op, const lt_tensor *a)
{
    static const kop kops[LT_NRED] = {K_SUM, K_SUM, K_PROD, K_MAX, K_MIN};
    if (op < 0 || op >= LT_NRED) return lt_error("unknown reduction %d", (int)op);
    int64_t n = lt_numel(a);
    if ((op == LT_RED_MAX || op == LT_RED_MIN) && n == 0)
        return lt_error("%s of an empty tensor is not defined", red_name(op));
    LT_GPU_ROUTE(NULL, lt_gpu_reduce_all(result, exact, op, a), a);
    acc_t acc;
    if (reduce_all_k(&acc, kops[op], a, 0)) return LT_ERR;
    int fl = lt_dtype_is_float(a->dtype);
    *result = acc_to_double(acc, fl);
    *exact = fl ? 0 : acc.i;
    if (op == LT_RED_MEAN) *result = n ? *result / (double)n : NAN;
    return LT_OK;
}

int lt_reduce_all(double *result, lt_reduce_op op, const lt_tensor *a)
{
    int64_t exact;
    return reduce_all_both(result, &exact, op, a);
}

int lt_reduce_all_int(int64_t *result, lt_reduce_op op, const lt_tensor *a)
{
    if (lt_dtype_is_float(a->dtype) || op == LT_RED_MEAN)
        return lt_error("%s: an exact integer result needs an integer tensor and not the mean",
                        red_name(op));
    double unused;
    return reduce_all_both(&unused, result, op, a);
}

/* ---- dim reductions ------------------------------------------------------------------- */

typedef struct {
    kop k;
    int fl;                 /* accumulate in double (else int64)           */
    lt_dtype idt, odt;
    line_fn line;
    cols_fn cols;
    int64_t R, rs;          /* reduced length and stride (elements)         */
    double p;               /* kernel parameter (norm p)                    */
    fin_op fin;
    int var, unbiased;      /* two-pass variance                            */
} dim_ctx;

static double finalize(double v, const dim_ctx *c)
{
    switch (c->fin) {
    case F_MEAN: return v / (double)c->R;
    case F_SQRT: return sqrt(v);
    case F_ROOT: return pow(v, 1.0 / c->p);
    case F_VAR: {
        double d = (double)(c->R - c->unbiased);
        return d > 0 ? v / d : NAN;
    }
    default: return v;
    }
}

static void store(char *o, const dim_ctx *c, acc_t a)
{
    if (c->fl) {
        double v = finalize(a.d, c);
        if (c->odt == LT_FLOAT32) *(float *)o = (float)v;
        else *(double *)o = v;
    } else if (c->odt == LT_INT64) {
        *(int64_t *)o = a.i;
    } else {
        *(uint8_t *)o = (uint8_t)a.i;
    }
}

/* Column mode for one block of b outputs whose slices start at xb (adjacent columns). */
static void dim_block(const dim_ctx *c, const char *xb, int64_t b, acc_t *acc)
{
    if (c->var) {
        double mean[COLBLK];
        for (int64_t j = 0; j < b; j++) acc[j].d = 0;
        cols_tab[c->idt][K_SUM](xb, b, c->R, c->rs, 0, NULL, acc);
        for (int64_t j = 0; j < b; j++) {
            mean[j] = acc[j].d / (double)c->R;
            acc[j].d = 0;
        }
        cols_tab[c->idt][K_SQDEV](xb, b, c->R, c->rs, 0, mean, acc);
    } else {
        for (int64_t j = 0; j < b; j++) acc[j] = acc_init(c->k, c->fl);
        c->cols(xb, b, c->R, c->rs, c->p, NULL, acc);
    }
}

/* Row mode for the output whose slice starts at x. */
static acc_t dim_line(const dim_ctx *c, const char *x)
{
    acc_t acc;
    if (c->var) {
        acc.d = 0;
        line_tab[c->idt][K_SUM](x, c->R, c->rs, 0, &acc);
        double mean = acc.d / (double)c->R;
        acc.d = 0;
        line_tab[c->idt][K_SQDEV](x, c->R, c->rs, mean, &acc);
    } else {
        acc = acc_init(c->k, c->fl);
        c->line(x, c->R, c->rs, c->p, &acc);
    }
    return acc;
}

static void dim_run(char **ptr, const int64_t *inner, int64_t n, const void *vctx)
{
    const dim_ctx *c = vctx;
    int64_t osz = (int64_t)lt_dtype_size(c->odt), isz = (int64_t)lt_dtype_size(c->idt);
    int64_t os = inner[0] * osz, is = inner[1] * isz;
    if (inner[1] == 1 && c->rs != 1 && n > 1) {
        acc_t acc[COLBLK];
        for (int64_t j0 = 0; j0 < n; j0 += COLBLK) {
            int64_t b = n - j0 < COLBLK ? n - j0 : COLBLK;
            dim_block(c, ptr[1] + j0 * isz, b, acc);
            for (int64_t j = 0; j < b; j++) store(ptr[0] + (j0 + j) * os, c, acc[j]);
        }
    } else {
        for (int64_t j = 0; j < n; j++) store(ptr[0] + j * os, c, dim_line(c, ptr[1] + j * is));
    }
}

/* Output shape of a reduction of `a` along dim. */
static int out_shape(const lt_tensor *a, int dim, int keepdim, int64_t *size)
{
    int n = 0;
    if (a->ndim == 0) return 0;
    for (int i = 0; i < a->ndim; i++) {
        if (i != dim) size[n++] = a->size[i];
        else if (keepdim) size[n++] = 1;
    }
    return n;
}

/* Checks dim for a (0-d tensors accept dim 0) and returns the 1-d-ised input. */
static int check_red_dim(const lt_tensor *a, int dim, lt_tensor *a1d)
{
    *a1d = lt_as_1d(a);
    return lt_check_dim("dimension", dim, a1d->ndim);
}

static int check_out_dtype(const lt_tensor *out, lt_dtype want)
{
    if (out->dtype != want)
        return lt_error("result tensor is %s, expected %s", lt_dtype_name(out->dtype),
                        lt_dtype_name(want));
    return LT_OK;
}

/* Runs c over `a` along dim into out (resized to the reduced shape). */
static int reduce_dim_run(lt_tensor *out, const lt_tensor *a_in, int dim, int keepdim,
                          dim_ctx *c)
{
    lt_tensor a;
    if (check_red_dim(a_in, dim, &a)) return LT_ERR;
    if (check_out_dtype(out, c->odt)) return LT_ERR;
    int64_t osize[LT_MAXDIM];
    int ondim = out_shape(a_in, dim, keepdim, osize);
    lt_tensor *target;
    const lt_tensor *ins[1] = {a_in};
    if (lt_out_prepare(out, ondim, osize, ins, 1, &target)) return LT_ERR;
    lt_tensor o = lt_as_1d(target);
    if (!keepdim && a_in->ndim > 0) lt_unsqueeze(&o, dim);
    lt_tensor a1 = a;
    a1.size[dim] = 1;
    c->R = a.size[dim];
    c->rs = a.stride[dim];
    lt_iter it;
    const lt_tensor *ops[2] = {&o, &a1};
    int st = lt_iter_init(&it, 2, ops);
    if (st == LT_OK) lt_iter_run_work(&it, dim_run, c, it.numel * (c->R ? c->R : 1));
    return lt_out_finish(out, target, st);
}

static void ctx_init(dim_ctx *c, kop k, const lt_tensor *a, lt_dtype odt, fin_op fin, double p)
{
    memset(c, 0, sizeof *c);
    c->k = k;
    c->fl = lt_dtype_is_float(a->dtype);
    c->idt = a->dtype;
    c->odt = odt;
    c->line = line_tab[a->dtype][k];
    c->cols = cols_tab[a->dtype][k];
    c->fin = fin;
    c->p = p;
}

int lt_reduce_dim(lt_tensor *out, lt_reduce_op op, const lt_tensor *a, int dim, int keepdim)
{
    static const kop kops[LT_NRED] = {K_SUM, K_SUM, K_PROD, K_MAX, K_MIN};
    if (op < 0 || op >= LT_NRED) return lt_error("unknown reduction %d", (int)op);
    if (a->dtype == LT_BFLOAT16) return lt_bf16_reduce_dim(out, op, a, dim, keepdim);
    int fl = lt_dtype_is_float(a->dtype);
    lt_tensor a1d;
    if (check_red_dim(a, dim, &a1d)) return LT_ERR;
    if (op == LT_RED_MEAN && !fl)
        return lt_error("mean along a dimension needs a Float or Double tensor, got %s "
                        "(convert it first, e.g. with :double())", lt_dtype_name(a->dtype));
    if ((op == LT_RED_MAX || op == LT_RED_MIN) && a1d.size[dim] == 0)
        return lt_error("%s over dimension %d of size 0 is not defined", red_name(op), dim + 1);
    /* sums and products of integers are int64 (uint8 would overflow at once), as in PyTorch */
    lt_dtype odt = (!fl && (op == LT_RED_SUM || op == LT_RED_PROD)) ? LT_INT64 : a->dtype;
    if (check_out_dtype(out, odt)) return LT_ERR;
    LT_GPU_ROUTE(out, lt_gpu_reduce_dim(out, op, a, dim, keepdim), a);
    dim_ctx c;
    ctx_init(&c, kops[op], a, odt, op == LT_RED_MEAN ? F_MEAN : F_NONE, 0);
    return reduce_dim_run(out, a, dim, keepdim, &c);
}

/* ---- max/min with indices ------------------------------------------------------------- */

typedef struct { int64_t R, rs; int want_max; } mm_ctx;

#define FNAN(v) ((v) != (v))
#define INAN(v) 0

/* Update when v beats best, or v is the first NaN (NaN wins and the first one stays). */
#define MM_RUN(T, ISNAN)                                                                     \
    static void mm_run_##T(char **ptr, const int64_t *inner, int64_t n, const void *vctx)          \
    {                                                                                        \
        const mm_ctx *c = vctx;                                                              \
        T *val = (T *)ptr[0];                                                                \
        int64_t *ind = (int64_t *)ptr[1];                                                    \
        const T *x = (const T *)ptr[2];                                                      \
        int64_t R = c->R, rs = c->rs;                                                        \
        int mx = c->want_max;                                                                \
        if (inner[2] == 1 && rs != 1 && n > 1) { /* column mode */                          \
            T best[COLBLK];                                                                  \
            int64_t bi[COLBLK];                                                              \
            for (int64_t j0 = 0; j0 < n; j0 += COLBLK) {                                     \
                int64_t b = n - j0 < COLBLK ? n - j0 : COLBLK;                               \
                for (int64_t j = 0; j < b; j++) { best[j] = x[j0 + j]; bi[j] = 0; }          \
                for (int64_t r = 1; r < R; r++) {                                            \
                    const T *row = x + r * rs + j0;                                          \
                    for (int64_t j = 0; j < b; j++) {                                        \
                        T v = row[j];                                                        \
                        int up = ISNAN(v) ? !ISNAN(best[j]) : mx ? v > best[j] : v < best[j]; \
                        if (up) { best[j] = v; bi[j] = r; }                                  \
                    }                                                                        \
                }                                                                            \
                for (int64_t j = 0; j < b; j++) {                                            \
                    val[(j0 + j) * inner[0]] = best[j];                                      \
                    ind[(j0 + j) * inner[1]] = bi[j];                                        \
                }                                                                            \
            }                                                                                \
            return;                                                                          \
        }                                                                                    \
        for (int64_t j = 0; j < n; j++) {                                                    \
            const T *xj = x + j * inner[2];                                                  \
            T best = xj[0];                                                                  \
            int64_t bi = 0;                                                                  \
            for (int64_t r = 1; r < R && !ISNAN(best); r++) {                                \
                T v = xj[r * rs];                                                            \
                if (ISNAN(v) || (mx ? v > best : v < best)) { best = v; bi = r; }            \
            }                                                                                \
            val[j * inner[0]] = best;                                                        \
            ind[j * inner[1]] = bi;                                                          \
        }                                                                                    \
    }

MM_RUN(float, FNAN)
MM_RUN(double, FNAN)
MM_RUN(int64_t, INAN)
MM_RUN(uint8_t, INAN)

static const lt_loop_fn mm_tab[LT_NDTYPES] = {mm_run_float, mm_run_double, mm_run_int64_t,
                                          mm_run_uint8_t};

int lt_maxmin_dim(lt_tensor *values, lt_tensor *indices, const lt_tensor *a, int dim,
                  int keepdim, int want_max)
{
    const char *name = want_max ? "max" : "min";
    lt_tensor a1d;
    if (check_red_dim(a, dim, &a1d)) return LT_ERR;
    if (check_out_dtype(values, a->dtype) || check_out_dtype(indices, LT_INT64)) return LT_ERR;
    if (a1d.size[dim] == 0)
        return lt_error("%s over dimension %d of size 0 is not defined", name, dim + 1);
    LT_GPU_ROUTE(values, lt_gpu_maxmin_dim(values, indices, a, dim, keepdim, want_max), a);
    int64_t osize[LT_MAXDIM];
    int ondim = out_shape(a, dim, keepdim, osize);
    lt_tensor *tv, *ti;
    if (lt_out_prepare_pair(values, indices, ondim, osize, a, &tv, &ti)) return LT_ERR;
    lt_tensor ov = lt_as_1d(tv), oi = lt_as_1d(ti), a1 = a1d;
    if (!keepdim && a->ndim > 0) {
        lt_unsqueeze(&ov, dim);
        lt_unsqueeze(&oi, dim);
    }
    a1.size[dim] = 1;
    mm_ctx c = {a1d.size[dim], a1d.stride[dim], want_max};
    lt_iter it;
    const lt_tensor *ops[3] = {&ov, &oi, &a1};
    int st = lt_iter_init(&it, 3, ops);
    if (st == LT_OK) lt_iter_run_work(&it, mm_tab[a->dtype], &c, it.numel * c.R);
    return lt_out_finish_pair(values, tv, indices, ti, st);
}

/* ---- variance and norms --------------------------------------------------------------- */

/* The checks of a dim reduction into out of dtype odt (reduce_dim_run's, done before a
 * device twin takes over). */
static int check_dim_out(const lt_tensor *out, const lt_tensor *a, int dim, lt_dtype odt)
{
    lt_tensor a1d;
    if (check_red_dim(a, dim, &a1d)) return LT_ERR;
    return check_out_dtype(out, odt);
}

static int need_float(const lt_tensor *a, const char *what)
{
    if (!lt_dtype_is_float(a->dtype))
        return lt_error("%s needs a Float or Double tensor, got %s", what,
                        lt_dtype_name(a->dtype));
    return LT_OK;
}

int lt_var_all(double *result, const lt_tensor *a, int unbiased)
{
    if (need_float(a, "variance")) return LT_ERR;
    LT_GPU_ROUTE(NULL, lt_gpu_var_all(result, a, unbiased), a);
    int64_t n = lt_numel(a);
    acc_t s, q;
    if (reduce_all_k(&s, K_SUM, a, 0)) return LT_ERR;
    if (reduce_all_k(&q, K_SQDEV, a, s.d / (double)n)) return LT_ERR;
    double d = (double)(n - (unbiased ? 1 : 0));
    *result = d > 0 ? q.d / d : NAN;
    return LT_OK;
}

int lt_var_dim(lt_tensor *out, const lt_tensor *a, int dim, int unbiased, int keepdim)
{
    if (need_float(a, "variance")) return LT_ERR;
    if (check_dim_out(out, a, dim, a->dtype)) return LT_ERR;
    LT_GPU_ROUTE(out, lt_gpu_var_dim(out, a, dim, unbiased, keepdim), a);
    dim_ctx c;
    ctx_init(&c, K_SQDEV, a, a->dtype, F_VAR, 0);
    c.var = 1;
    c.unbiased = unbiased ? 1 : 0;
    return reduce_dim_run(out, a, dim, keepdim, &c);
}

int lt_norm_all(double *result, const lt_tensor *a, double p)
{
    if (need_float(a, "norm")) return LT_ERR;
    if (p != p) return lt_error("norm: p is NaN");
    kop k;
    fin_op fin;
    LT_GPU_ROUTE(NULL, lt_gpu_norm_all(result, a, p), a);
    lt_norm_kind(p, &k, &fin);
    acc_t acc;
    if (reduce_all_k(&acc, k, a, p)) return LT_ERR;
    *result = fin == F_SQRT ? sqrt(acc.d) : fin == F_ROOT ? pow(acc.d, 1.0 / p) : acc.d;
    return LT_OK;
}

int lt_norm_dim(lt_tensor *out, const lt_tensor *a, double p, int dim, int keepdim)
{
    if (need_float(a, "norm")) return LT_ERR;
    if (p != p) return lt_error("norm: p is NaN");
    if (check_dim_out(out, a, dim, a->dtype)) return LT_ERR;
    LT_GPU_ROUTE(out, lt_gpu_norm_dim(out, a, p, dim, keepdim), a);
    kop k;
    fin_op fin;
    lt_norm_kind(p, &k, &fin);
    dim_ctx c;
    ctx_init(&c, k, a, a->dtype, fin, p);
    return reduce_dim_run(out, a, dim, keepdim, &c);
}

/* ---- cumulative sum and product ------------------------------------------------------- */

typedef struct { int64_t R, rs, ors; int prod; } cum_ctx;

/* A is the accumulator type (double, or uint64_t so integer overflow wraps). */
#define CUM_RUN(NAME, TI, TO, A)                                                             \
    static void NAME(char **ptr, const int64_t *inner, int64_t n, const void *vctx)                \
    {                                                                                        \
        const cum_ctx *c = vctx;                                                             \
        TO *o = (TO *)ptr[0];                                                                \
        const TI *x = (const TI *)ptr[1];                                                    \
        int64_t R = c->R, rs = c->rs, ors = c->ors;                                          \
        A init = c->prod ? (A)1 : (A)0;                                                      \
        if (inner[0] == 1 && inner[1] == 1 && rs != 1 && n > 1) { /* column mode */         \
            A acc[COLBLK];                                                                   \
            for (int64_t j0 = 0; j0 < n; j0 += COLBLK) {                                     \
                int64_t b = n - j0 < COLBLK ? n - j0 : COLBLK;                               \
                for (int64_t j = 0; j < b; j++) acc[j] = init;                               \
                for (int64_t r = 0; r < R; r++) {                                            \
                    const TI *xr = x + r * rs + j0;                                          \
                    TO *orow = o + r * ors + j0;                                             \
                    if (c->prod)                                                             \
                        for (int64_t j = 0; j < b; j++) orow[j] = (TO)(acc[j] *= (A)xr[j]);  \
                    else                                                                     \
                        for (int64_t j = 0; j < b; j++) orow[j] = (TO)(acc[j] += (A)xr[j]);  \
                }                                                                            \
            }                                                                                \
            return;                                                                          \
        }                                                                                    \
        for (int64_t j = 0; j < n; j++) {                                                    \
            const TI *xj = x + j * inner[1];                                                 \
            TO *oj = o + j * inner[0];                                                       \
            A acc = init;                                                                    \
            if (c->prod)                                                                     \
                for (int64_t r = 0; r < R; r++) oj[r * ors] = (TO)(acc *= (A)xj[r * rs]);    \
            else                                                                             \
                for (int64_t r = 0; r < R; r++) oj[r * ors] = (TO)(acc += (A)xj[r * rs]);    \
        }                                                                                    \
    }

CUM_RUN(cum_f, float, float, double)
CUM_RUN(cum_d, double, double, double)
CUM_RUN(cum_l, int64_t, int64_t, uint64_t)
CUM_RUN(cum_b, uint8_t, int64_t, uint64_t)

static const lt_loop_fn cum_tab[LT_NDTYPES] = {cum_f, cum_d, cum_l, cum_b};

static int cumulate(lt_tensor *out, const lt_tensor *a, int dim, int prod)
{
    lt_tensor a1d;
    if (check_red_dim(a, dim, &a1d)) return LT_ERR;
    lt_dtype odt = lt_dtype_is_float(a->dtype) ? a->dtype : LT_INT64;
    if (check_out_dtype(out, odt)) return LT_ERR;
    LT_GPU_ROUTE(out, prod ? lt_gpu_cumprod(out, a, dim) : lt_gpu_cumsum(out, a, dim), a);
    lt_tensor *target;
    const lt_tensor *ins[1] = {a};
    if (lt_out_prepare(out, a->ndim, a->size, ins, 1, &target)) return LT_ERR;
    lt_tensor o1 = lt_as_1d(target), a1 = a1d;
    cum_ctx c = {a1d.size[dim], a1d.stride[dim], o1.stride[dim], prod};
    o1.size[dim] = 1;
    a1.size[dim] = 1;
    lt_iter it;
    const lt_tensor *ops[2] = {&o1, &a1};
    int st = lt_iter_init(&it, 2, ops);
    if (st == LT_OK) lt_iter_run_work(&it, cum_tab[a->dtype], &c, it.numel * c.R);
    return lt_out_finish(out, target, st);
}

int lt_cumsum(lt_tensor *out, const lt_tensor *a, int dim) { return cumulate(out, a, dim, 0); }
int lt_cumprod(lt_tensor *out, const lt_tensor *a, int dim) { return cumulate(out, a, dim, 1); }

/* ---- sort and topk -------------------------------------------------------------------- */

typedef struct {
    int64_t R, rs, vs, is;   /* line length; input, values, indices strides along dim */
    int64_t k;               /* how many of the sorted line to write                   */
    int desc;
    int *failed;             /* set (atomically) when a line buffer cannot be allocated */
} sort_ctx;

/* NaN sorts as larger than every number (PyTorch's order): last ascending, first descending.
 * BEFORE(a, b) is "a strictly precedes b"; merging takes the right element only when it
 * strictly precedes the left one, so equal elements keep their order (stable). */
#define SORT_IMPL(T, ISNAN)                                                                  \
    typedef struct { T v; int64_t i; } pair_##T;                                             \
    static inline int before_##T(T a, T b, int desc)                                         \
    {                                                                                        \
        if (desc) return a > b || (ISNAN(a) && !ISNAN(b));                                   \
        return a < b || (ISNAN(b) && !ISNAN(a));                                             \
    }                                                                                        \
    static void msort_##T(pair_##T *a, pair_##T *t, int64_t n, int desc)                     \
    {                                                                                        \
        for (int64_t s = 0; s < n; s += 32) { /* insertion sort runs of 32 */              \
            int64_t e = s + 32 < n ? s + 32 : n;                                             \
            for (int64_t i = s + 1; i < e; i++) {                                            \
                pair_##T x = a[i];                                                           \
                int64_t j = i;                                                               \
                while (j > s && before_##T(x.v, a[j - 1].v, desc)) { a[j] = a[j - 1]; j--; } \
                a[j] = x;                                                                    \
            }                                                                                \
        }                                                                                    \
        pair_##T *src = a, *dst = t;                                                         \
        for (int64_t w = 32; w < n; w *= 2) {                                                \
            for (int64_t lo = 0; lo < n; lo += 2 * w) {                                      \
                int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n; \
                int64_t i = lo, j = mid, o = lo;                                             \
                while (i < mid && j < hi)                                                    \
                    dst[o++] = before_##T(src[j].v, src[i].v, desc) ? src[j++] : src[i++];   \
                while (i < mid) dst[o++] = src[i++];                                         \
                while (j < hi) dst[o++] = src[j++];                                          \
            }                                                                                \
            pair_##T *tmp = src; src = dst; dst = tmp;                                       \
        }                                                                                    \
        if (src != a) memcpy(a, src, (size_t)n * sizeof *a);                                 \
    }                                                                                        \
    /* The first k of a stable sort, for small k: a sorted buffer of the best k so far; a   \
     * newcomer enters only when it strictly precedes the worst, and goes after its equals. */\
    static void select_##T(pair_##T *buf, const T *x, int64_t R, int64_t rs, int64_t k,      \
                           int desc)                                                         \
    {                                                                                        \
        int64_t m = 0;                                                                       \
        for (int64_t r = 0; r < R && k > 0; r++) {                                           \
            T v = x[r * rs];                                                                 \
            if (m == k) {                                                                    \
                if (!before_##T(v, buf[k - 1].v, desc)) continue;                            \
                m--;                                                                         \
            }                                                                                \
            int64_t q = m;                                                                   \
            while (q > 0 && before_##T(v, buf[q - 1].v, desc)) { buf[q] = buf[q - 1]; q--; } \
            buf[q].v = v;                                                                    \
            buf[q].i = r;                                                                    \
            m++;                                                                             \
        }                                                                                    \
    }                                                                                        \
    static void sort_run_##T(char **ptr, const int64_t *inner, int64_t n, const void *vctx)        \
    {                                                                                        \
        const sort_ctx *c = vctx;                                                                \
        int64_t R = c->R;                                                                    \
        pair_##T *buf = malloc((size_t)(2 * R > 0 ? 2 * R : 1) * sizeof *buf);               \
        if (!buf) {                                                                          \
            __atomic_store_n(c->failed, 1, __ATOMIC_RELAXED);                                \
            return;                                                                          \
        }                                                                                    \
        for (int64_t j = 0; j < n; j++) {                                                    \
            T *val = (T *)ptr[0] + j * inner[0];                                             \
            int64_t *ind = (int64_t *)ptr[1] + j * inner[1];                                 \
            const T *x = (const T *)ptr[2] + j * inner[2];                                   \
            if (c->k <= 64 && c->k * 4 <= R) {                                               \
                select_##T(buf, x, R, c->rs, c->k, c->desc);                                 \
            } else {                                                                         \
                for (int64_t r = 0; r < R; r++) { buf[r].v = x[r * c->rs]; buf[r].i = r; }   \
                msort_##T(buf, buf + R, R, c->desc);                                         \
            }                                                                                \
            for (int64_t r = 0; r < c->k; r++) {                                             \
                val[r * c->vs] = buf[r].v;                                                   \
                ind[r * c->is] = buf[r].i;                                                   \
            }                                                                                \
        }                                                                                    \
        free(buf);                                                                           \
    }

SORT_IMPL(float, FNAN)
SORT_IMPL(double, FNAN)
SORT_IMPL(int64_t, INAN)
SORT_IMPL(uint8_t, INAN)

static const lt_loop_fn sort_tab[LT_NDTYPES] = {sort_run_float, sort_run_double, sort_run_int64_t,
                                            sort_run_uint8_t};

/* Sorts every line of a along dim and writes its first k entries into values/indices. */
static int sort_lines(lt_tensor *values, lt_tensor *indices, const lt_tensor *a, int dim,
                      int64_t k, int desc)
{
    lt_tensor a1d = lt_as_1d(a);
    int64_t osize[LT_MAXDIM];
    memcpy(osize, a->size, sizeof osize);
    if (a->ndim > 0) osize[dim] = k;
    lt_tensor *tv, *ti;
    if (lt_out_prepare_pair(values, indices, a->ndim, osize, a, &tv, &ti)) return LT_ERR;
    lt_tensor ov = lt_as_1d(tv), oi = lt_as_1d(ti), a1 = a1d;
    int failed = 0;
    sort_ctx c = {a1d.size[dim], a1d.stride[dim], ov.stride[dim], oi.stride[dim], k, desc, &failed};
    ov.size[dim] = oi.size[dim] = a1.size[dim] = 1;
    lt_iter it;
    const lt_tensor *ops[3] = {&ov, &oi, &a1};
    int st = lt_iter_init(&it, 3, ops);
    if (st == LT_OK && c.R > 0) {
        double lg = log2((double)c.R + 1);
        lt_iter_run_work(&it, sort_tab[a->dtype], &c, (int64_t)((double)(it.numel * c.R) * lg));
        if (failed) st = lt_error("out of memory");
    }
    return lt_out_finish_pair(values, tv, indices, ti, st);
}

int lt_sort(lt_tensor *values, lt_tensor *indices, const lt_tensor *a, int dim, int descending)
{
    lt_tensor a1d;
    if (check_red_dim(a, dim, &a1d)) return LT_ERR;
    if (check_out_dtype(values, a->dtype) || check_out_dtype(indices, LT_INT64)) return LT_ERR;
    LT_GPU_ROUTE(values, lt_gpu_sort(values, indices, a, dim, descending), a);
    return sort_lines(values, indices, a, dim, a1d.size[dim], descending);
}

int lt_topk(lt_tensor *values, lt_tensor *indices, const lt_tensor *a, int64_t k, int dim,
            int largest, int sorted)
{
    (void)sorted;  /* the k results always come sorted: a valid answer either way */
    lt_tensor a1d;
    if (check_red_dim(a, dim, &a1d)) return LT_ERR;
    if (check_out_dtype(values, a->dtype) || check_out_dtype(indices, LT_INT64)) return LT_ERR;
    if (k < 0 || k > a1d.size[dim])
        return lt_error("k = %lld out of range for dimension %d of size %lld", (long long)k,
                        dim + 1, (long long)a1d.size[dim]);
    LT_GPU_ROUTE(values, lt_gpu_topk(values, indices, a, k, dim, largest, sorted), a);
    return sort_lines(values, indices, a, dim, k, largest);
}
