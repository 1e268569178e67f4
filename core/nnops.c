/*
 * nnops.c — fused nn kernels: softmax and log-softmax along any dim, the negative
 * log-likelihood loss, and cross entropy (log-softmax + NLL over the logits, never
 * materialising the log-probabilities), plus their autograd recorders with fused backward
 * kernels.
 *
 * Accuracy: every slice is shifted by its max before exp (logits of +-1000 are fine); x - max
 * is rounded once in the tensor's type, exp is lt_internal.h's inlined polynomial within about 1
 * ulp (so the loops vectorise), and sums, log-sums and the final scaling are in double: float32
 * results are within a few ulps (~5e-7 relative) of the exact values, float64 within ~1e-15.
 * The hot row / column kernels also get an AVX2 build picked at load time (target_clones).
 *
 * Softmax along a dim views the tensor as "one slice of R elements (stride ls) per position
 * of the other dims" and walks the slice starts with lt_iter (one position = one slice, so
 * threads split slices and results do not depend on the thread count). Slices are handled
 * in blocks: a block of b adjacent slices (softmax over a non-last dim of a contiguous
 * tensor) keeps b running maxima / sums in a small array, so its loops run along memory;
 * a single slice is the row case (the last dim).
 *
 * The losses take (N, C) scores or one (C) row, int64 0-based targets, optional (C) class
 * weights. size_average divides by the summed weights of the targets (PyTorch's "mean").
 * Cross entropy sums row losses in fixed chunks of rows combined in order: deterministic for
 * any number of threads.
 *
 * Device tensors go to gpu/nnops.cu (forward ops through LT_GPU_ROUTE after the checks, the
 * backward functions through its *_backward kernels). The range of device targets is checked
 * on a host copy (a transfer and a synchronisation per forward call; the recorder's
 * normaliser with class weights reads host copies of target and weight too).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lt_internal.h"


/* The row kernels are also built for AVX-512 and AVX2 and picked at load time (the wide
 * clones, lt_internal.h: no contraction here, so every clone gives the same bits): two or
 * four times the SIMD width for the exp loops on the machines that have it. Cross entropy's
 * row kernels stop at AVX2 (CE_KERNEL): their AVX-512 build ran twice as slow (1000 x 1000,
 * 2.07 against 1.07 ms), where softmax's ran 22% faster. */
#define ROW_KERNEL LT_WIDE_CLONES
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define CE_KERNEL __attribute__((target_clones("avx2", "default")))
#else
#define CE_KERNEL
#endif

#if defined(__GNUC__)
#define INLINE inline __attribute__((always_inline))
#else
#define INLINE inline
#endif

/* Slices per column block (running maxima and sums live on the stack). */
#define COLBLK 128
/* Logit elements per chunk of rows in the cross-entropy sum (fixed: deterministic). */
#define CE_CHUNK 8192

static int need_float(const lt_tensor *t, const char *what)
{
    if (lt_dtype_is_float(t->dtype)) return LT_OK;
    return lt_error("%s must be a floating-point tensor (Float or Double), got %s", what,
                    lt_dtype_name(t->dtype));
}

/* ---- slices along a dim -------------------------------------------------------------------- */

/* A slice kernel: b slices of R elements; operand k's slice j starts at p[k] + j * cs[k]
 * elements, and its elements are ls[k] apart. Operand 0 is written. */
typedef void (*slice_fn)(char **p, const int64_t *ls, const int64_t *cs, int64_t R, int64_t b);

typedef struct {
    slice_fn fn;
    int nops;
    size_t elsize;
    int64_t R;
    int64_t ls[3];
} slice_ctx;

/* The handle of t with size 1 at dim: iterating it visits one position per slice. A 0-dim
 * tensor is seen as 1-D of size 1. */
static lt_tensor slice_starts(const lt_tensor *t, int dim, int64_t *ls)
{
    lt_tensor v = *t;
    if (v.ndim == 0) {
        v.ndim = 1;
        v.size[0] = 1;
        v.stride[0] = 1;
    }
    *ls = v.stride[dim];
    v.size[dim] = 1;
    return v;
}

static void slices_run(char **data, const int64_t *strides, int64_t n, const void *vctx)
{
    const slice_ctx *c = vctx;
    char *p[3];
    int col = n > 1;
    for (int k = 0; k < c->nops; k++) col &= strides[k] == 1;
    if (col) {  /* neighbouring slices are neighbours in memory: blocks of columns */
        for (int64_t j = 0; j < n; j += COLBLK) {
            int64_t b = n - j < COLBLK ? n - j : COLBLK;
            for (int k = 0; k < c->nops; k++) p[k] = data[k] + j * (int64_t)c->elsize;
            c->fn(p, c->ls, strides, c->R, b);
        }
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        for (int k = 0; k < c->nops; k++) p[k] = data[k] + i * strides[k] * (int64_t)c->elsize;
        c->fn(p, c->ls, strides, c->R, 1);
    }
}

/* Runs fn over every slice along dim of ops (one shape, one dtype; ops[0] is written). */
static int run_slices(slice_fn fn, int nops, const lt_tensor *const *ops, int dim, int cost)
{
    lt_tensor v[3];
    const lt_tensor *vp[3];
    slice_ctx c = {fn, nops, lt_dtype_size(ops[0]->dtype), 1, {0, 0, 0}};
    if (lt_numel(ops[0]) == 0) return LT_OK;
    for (int k = 0; k < nops; k++) {
        v[k] = slice_starts(ops[k], dim, &c.ls[k]);
        vp[k] = &v[k];
    }
    c.R = ops[0]->ndim ? ops[0]->size[dim] : 1;
    lt_iter it;
    if (lt_iter_init(&it, nops, vp)) return LT_ERR;
    lt_iter_run_work(&it, slices_run, &c, lt_numel(ops[0]) * cost);
    return LT_OK;
}

/* ---- softmax / log-softmax kernels ------------------------------------------------------- */

static const int64_t ONE[3] = {1, 1, 1};

/* The max of a contiguous row (NaN when the row holds one: the whole row becomes NaN). */
#define ROW_MAX(T)                                                                           \
    static inline T row_max_##T(const T *x, int64_t R)                                      \
    {                                                                                        \
        T mx = -INFINITY;                                                                    \
        int nan = 0;                                                                         \
        _Pragma("omp simd reduction(max:mx) reduction(|:nan)")                               \
        for (int64_t j = 0; j < R; j++) {                                                    \
            T v = x[j];                                                                      \
            mx = v > mx ? v : mx;                                                            \
            nan |= v != v;                                                                   \
        }                                                                                    \
        return nan ? (T)NAN : mx;                                                            \
    }

/* Forward: y (operand 0) = softmax or log-softmax of x (operand 1). Every element of x is
 * read before the same element of y is written, so y == x (in place) is safe. Sums are in
 * double; x - max is exact in T's rounding, and exp of it within an ulp. */
#define SOFTMAX_KERNELS(T)                                                                   \
    ROW_MAX(T)                                                                               \
    /* one contiguous row: loops that vectorise */                                           \
    ROW_KERNEL static void sm_row_##T(T *y, const T *x, int64_t R, int lg)                  \
    {                                                                                        \
        T mx = row_max_##T(x, R);                                                            \
        double s = 0;                                                                        \
        if (lg) {                                                                            \
            _Pragma("omp simd reduction(+:s)")                                               \
            for (int64_t j = 0; j < R; j++) s += lt_exp_##T(x[j] - mx);                      \
            double ls = log(s);                                                              \
            _Pragma("omp simd")                                                              \
            for (int64_t j = 0; j < R; j++) y[j] = (T)(((double)x[j] - mx) - ls);           \
        } else {                                                                             \
            _Pragma("omp simd reduction(+:s)")                                               \
            for (int64_t j = 0; j < R; j++) {                                                \
                T e = lt_exp_##T(x[j] - mx);                                                 \
                y[j] = e;                                                                    \
                s += e;                                                                      \
            }                                                                                \
            double inv = 1 / s;                                                              \
            _Pragma("omp simd")                                                              \
            for (int64_t j = 0; j < R; j++) y[j] = (T)(y[j] * inv);                          \
        }                                                                                    \
    }                                                                                        \
    /* b slices at once (b adjacent columns, or one strided slice) */                        \
    static INLINE void sm_block_##T(char **p, const int64_t *ls, const int64_t *cs,         \
                                    int64_t R, int64_t b, int lg)                            \
    {                                                                                        \
        T *y = (T *)p[0];                                                                    \
        const T *x = (const T *)p[1];                                                        \
        const int64_t yr = ls[0], xr = ls[1], yc = cs[0], xc = cs[1];                        \
        T m[COLBLK];                                                                         \
        double s[COLBLK];                                                                    \
        for (int64_t j = 0; j < b; j++) {                                                    \
            m[j] = -INFINITY;                                                                \
            s[j] = 0;                                                                        \
        }                                                                                    \
        for (int64_t r = 0; r < R; r++)                                                      \
            _Pragma("omp simd")                                                              \
            for (int64_t j = 0; j < b; j++) {                                                \
                T v = x[r * xr + j * xc];                                                    \
                m[j] = (v > m[j]) | (v != v) ? v : m[j]; /* NaN sticks: a NaN slice */       \
            }                                                                                \
        if (lg) /* two loops, so that neither has a branch */                                \
            for (int64_t r = 0; r < R; r++)                                                  \
                _Pragma("omp simd")                                                          \
                for (int64_t j = 0; j < b; j++)                                              \
                    s[j] += lt_exp_##T(x[r * xr + j * xc] - m[j]);                           \
        else                                                                                 \
            for (int64_t r = 0; r < R; r++)                                                  \
                _Pragma("omp simd")                                                          \
                for (int64_t j = 0; j < b; j++) {                                            \
                    T e = lt_exp_##T(x[r * xr + j * xc] - m[j]);                             \
                    s[j] += e;                                                               \
                    y[r * yr + j * yc] = e;                                                  \
                }                                                                            \
        if (lg) {                                                                            \
            for (int64_t j = 0; j < b; j++) s[j] = log(s[j]);                                \
            for (int64_t r = 0; r < R; r++)                                                  \
                _Pragma("omp simd")                                                          \
                for (int64_t j = 0; j < b; j++)                                              \
                    y[r * yr + j * yc] = (T)(((double)x[r * xr + j * xc] - m[j]) - s[j]);    \
        } else {                                                                             \
            for (int64_t j = 0; j < b; j++) s[j] = 1 / s[j];                                 \
            for (int64_t r = 0; r < R; r++)                                                  \
                _Pragma("omp simd")                                                          \
                for (int64_t j = 0; j < b; j++)                                              \
                    y[r * yr + j * yc] = (T)(y[r * yr + j * yc] * s[j]);                     \
        }                                                                                    \
    }                                                                                        \
    /* Backward: gx (0) = y * (g - sum(g * y)) for softmax, g - exp(y) * sum(g) for           \
     * log-softmax; g (1), y (2). */                                                         \
    ROW_KERNEL static void smb_row_##T(T *gx, const T *g, const T *y, int64_t R, int lg)    \
    {                                                                                        \
        double s = 0;                                                                        \
        if (lg) {                                                                            \
            _Pragma("omp simd reduction(+:s)")                                               \
            for (int64_t j = 0; j < R; j++) s += g[j];                                       \
            _Pragma("omp simd")                                                              \
            for (int64_t j = 0; j < R; j++)                                                  \
                gx[j] = (T)((double)g[j] - (double)lt_exp_##T(y[j]) * s);                    \
        } else {                                                                             \
            _Pragma("omp simd reduction(+:s)")                                               \
            for (int64_t j = 0; j < R; j++) s += (double)g[j] * y[j];                        \
            _Pragma("omp simd")                                                              \
            for (int64_t j = 0; j < R; j++) gx[j] = (T)((double)y[j] * ((double)g[j] - s)); \
        }                                                                                    \
    }                                                                                        \
    static INLINE void smb_block_##T(char **p, const int64_t *ls, const int64_t *cs,        \
                                     int64_t R, int64_t b, int lg)                           \
    {                                                                                        \
        T *gx = (T *)p[0];                                                                   \
        const T *g = (const T *)p[1], *y = (const T *)p[2];                                  \
        const int64_t xr = ls[0], gr = ls[1], yr = ls[2], xc = cs[0], gc = cs[1], yc = cs[2]; \
        double s[COLBLK];                                                                    \
        for (int64_t j = 0; j < b; j++) s[j] = 0;                                            \
        for (int64_t r = 0; r < R; r++)                                                      \
            _Pragma("omp simd")                                                              \
            for (int64_t j = 0; j < b; j++) {                                                \
                double gv = g[r * gr + j * gc];                                              \
                s[j] += lg ? gv : gv * (double)y[r * yr + j * yc];                           \
            }                                                                                \
        for (int64_t r = 0; r < R; r++)                                                      \
            _Pragma("omp simd")                                                              \
            for (int64_t j = 0; j < b; j++) {                                                \
                double gv = g[r * gr + j * gc];                                              \
                T yv = y[r * yr + j * yc];                                                   \
                gx[r * xr + j * xc] =                                                        \
                    (T)(lg ? gv - (double)lt_exp_##T(yv) * s[j] : (double)yv * (gv - s[j])); \
            }                                                                                \
    }                                                                                        \
    /* adjacent slices (columns) get instances with the column stride known to be 1 */     \
    ROW_KERNEL static void sm_cols_##T(char **p, const int64_t *ls, int64_t R, int64_t b,   \
                                       int lg)                                               \
    {                                                                                        \
        sm_block_##T(p, ls, ONE, R, b, lg);                                                  \
    }                                                                                        \
    ROW_KERNEL static void smb_cols_##T(char **p, const int64_t *ls, int64_t R, int64_t b,  \
                                        int lg)                                              \
    {                                                                                        \
        smb_block_##T(p, ls, ONE, R, b, lg);                                                 \
    }                                                                                        \
    static void sm_any_##T(char **p, const int64_t *ls, const int64_t *cs, int64_t R,       \
                           int64_t b, int lg)                                                \
    {                                                                                        \
        if (b == 1 && ls[0] == 1 && ls[1] == 1) sm_row_##T((T *)p[0], (const T *)p[1], R, lg); \
        else if (b > 1 && cs[0] == 1 && cs[1] == 1) sm_cols_##T(p, ls, R, b, lg);            \
        else sm_block_##T(p, ls, cs, R, b, lg);                                              \
    }                                                                                        \
    static void smb_any_##T(char **p, const int64_t *ls, const int64_t *cs, int64_t R,      \
                            int64_t b, int lg)                                               \
    {                                                                                        \
        if (b == 1 && !memcmp(ls, ONE, sizeof ONE))                                          \
            smb_row_##T((T *)p[0], (const T *)p[1], (const T *)p[2], R, lg);                 \
        else if (b > 1 && !memcmp(cs, ONE, sizeof ONE))                                      \
            smb_cols_##T(p, ls, R, b, lg);                                                   \
        else                                                                                 \
            smb_block_##T(p, ls, cs, R, b, lg);                                              \
    }                                                                                        \
    static void sm_##T(char **p, const int64_t *ls, const int64_t *cs, int64_t R, int64_t b) \
    {                                                                                        \
        sm_any_##T(p, ls, cs, R, b, 0);                                                      \
    }                                                                                        \
    static void lsm_##T(char **p, const int64_t *ls, const int64_t *cs, int64_t R, int64_t b) \
    {                                                                                        \
        sm_any_##T(p, ls, cs, R, b, 1);                                                      \
    }                                                                                        \
    static void smb_##T(char **p, const int64_t *ls, const int64_t *cs, int64_t R, int64_t b) \
    {                                                                                        \
        smb_any_##T(p, ls, cs, R, b, 0);                                                     \
    }                                                                                        \
    static void lsmb_##T(char **p, const int64_t *ls, const int64_t *cs, int64_t R, int64_t b) \
    {                                                                                        \
        smb_any_##T(p, ls, cs, R, b, 1);                                                     \
    }

SOFTMAX_KERNELS(float)
SOFTMAX_KERNELS(double)

/* [float32, float64][forward, backward][softmax, log-softmax] */
static const slice_fn sm_tab[2][2][2] = {
    {{sm_float, lsm_float}, {smb_float, lsmb_float}},
    {{sm_double, lsm_double}, {smb_double, lsmb_double}},
};

static int softmax_common(lt_tensor *out, const lt_tensor *a, int dim, int log)
{
    const char *what = log ? "logSoftmax input" : "softmax input";
    if (need_float(a, what)) return LT_ERR;
    if (out->dtype != a->dtype)
        return lt_error("the result is a %s tensor, the input a %s tensor",
                        lt_dtype_name(out->dtype), lt_dtype_name(a->dtype));
    if (lt_check_dim("dimension", dim, a->ndim ? a->ndim : 1)) return LT_ERR;
    LT_GPU_ROUTE(out, log ? lt_gpu_log_softmax(out, a, dim) : lt_gpu_softmax(out, a, dim), a);
    lt_tensor *target;
    if (lt_out_prepare(out, a->ndim, a->size, &a, 1, &target)) return LT_ERR;
    const lt_tensor *ops[2] = {target, a};
    int st = run_slices(sm_tab[a->dtype == LT_FLOAT64][0][log], 2, ops, dim, 16);
    return lt_out_finish(out, target, st);
}

int lt_softmax(lt_tensor *out, const lt_tensor *a, int dim)
{
    return softmax_common(out, a, dim, 0);
}

int lt_log_softmax(lt_tensor *out, const lt_tensor *a, int dim)
{
    return softmax_common(out, a, dim, 1);
}

/* gx (fresh, y's shape and device) = the gradient of softmax / log-softmax along dim. */
static int softmax_grad_run(lt_tensor *gx, const lt_tensor *g, const lt_tensor *y, int dim, int log)
{
    LT_GPU_ROUTE(gx, lt_gpu_softmax_backward(gx, g, y, dim, log), g, y);
    const lt_tensor *ops[3] = {gx, g, y};
    return run_slices(sm_tab[y->dtype == LT_FLOAT64][1][log], 3, ops, dim, 6);
}

/* n->i[0] = dim, n->i[1] = log; saved 0 = the output y. */
static int softmax_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    if (!n->next[0]) return LT_OK;
    lt_tensor *y = lt_node_saved(n, 0);
    if (!y) return LT_ERR;
    const lt_tensor *g = gout[0];
    if (!lt_same_shape(g, y)) {
        char a[LT_SHAPE_BUFSZ], b[LT_SHAPE_BUFSZ];
        return lt_error("%s: gradient of shape [%s] for an output of shape [%s]", n->name,
                        lt_shape_str(a, sizeof a, g->ndim, g->size),
                        lt_shape_str(b, sizeof b, y->ndim, y->size));
    }
    if (g->dtype != y->dtype)
        return lt_error("%s: a %s gradient for a %s output", n->name, lt_dtype_name(g->dtype),
                        lt_dtype_name(y->dtype));
    lt_tensor *gx = lt_tensor_uninit_on(lt_device(y), y->dtype, y->ndim, y->size);
    if (!gx) return LT_ERR;
    if (softmax_grad_run(gx, g, y, (int)n->i[0], (int)n->i[1])) {
        lt_tensor_release(gx);
        return LT_ERR;
    }
    gin[0] = gx;
    return LT_OK;
}

static int rec_softmax_common(lt_tensor *out, lt_tensor *a, int dim, int log)
{
    lt_tensor *ins[1] = {a};
    if (!lt_needs_grad(1, (const lt_tensor *const *)ins)) return LT_OK;
    lt_node *n = lt_node_new(log ? "LogSoftmaxBackward" : "SoftmaxBackward", softmax_backward,
                             1, ins, 1);
    if (!n) return LT_ERR;
    if (lt_node_save(n, out) < 0) {
        lt_node_release(n);
        return LT_ERR;
    }
    n->i[0] = dim;
    n->i[1] = log;
    lt_node_set_output(n, out, 0);
    lt_node_release(n);
    return LT_OK;
}

int lt_rec_softmax(lt_tensor *out, lt_tensor *a, int dim)
{
    return rec_softmax_common(out, a, dim, 0);
}

int lt_rec_log_softmax(lt_tensor *out, lt_tensor *a, int dim)
{
    return rec_softmax_common(out, a, dim, 1);
}

/* ---- losses: shared checks ---------------------------------------------------------------- */

/* The layout of a loss's operands: N rows of C scores. */
typedef struct {
    int64_t N, C;
    int64_t rs, cs;         /* row and class strides of the scores (elements)              */
    const char *x;          /* score (0, 0)                                                */
    const int64_t *t;       /* target 0; ts apart                                          */
    int64_t ts;
    const char *w;          /* weight 0 or NULL; ws apart                                  */
    int64_t ws;
    int64_t ignore;         /* the target that adds nothing, or LT_NO_IGNORE               */
    lt_dtype dt;
} loss_args;

static double loss_weight(const loss_args *a, int64_t t)
{
    if (!a->w) return 1;
    return a->dt == LT_FLOAT32 ? (double)((const float *)a->w)[t * a->ws]
                               : ((const double *)a->w)[t * a->ws];
}

/* The targets' range: 0 <= t < C (a device target is read from a host copy: one transfer and
 * one synchronisation; none while a CUDA graph captures, where the kernels turn an
 * out-of-range target into a NaN loss instead). */
static int check_targets(const loss_args *a, const lt_tensor *target)
{
    const int64_t *t = a->t;
    int64_t ts = a->ts;
    lt_tensor *h = NULL;
    if (lt_device(target) != LT_CPU) {
#ifdef LT_HAVE_CUDA
        if (lt_gpu_capturing()) return LT_OK;
#endif
        h = lt_tensor_empty(LT_INT64);
        if (!h || lt_to_device(h, target, LT_CPU)) {
            lt_tensor_release(h);
            return LT_ERR;
        }
        t = lt_data(h);
        ts = ts ? 1 : 0;
    }
    int st = LT_OK;
    for (int64_t i = 0; i < a->N; i++) {
        int64_t v = t[i * ts];
        if ((v < 0 || v >= a->C) && v != a->ignore) {  /* reported 1-based, as Lua counts */
            st = lt_error("target %lld is out of range for %lld classes (expected 1 to %lld)",
                          (long long)(int64_t)((uint64_t)v + 1), (long long)a->C,
                          (long long)a->C);  /* wraps back: the Lua number given */
            break;
        }
    }
    lt_tensor_release(h);
    return st;
}

/* Checks scores x (N, C) or (C), target (N) or one element, weight (C) or NULL, and (when
 * check_range) every target's range; fills *a. On a device, a's pointers are device
 * pointers: only the kernels of gpu/nnops.cu read them. */
static int loss_check(const lt_tensor *x, const lt_tensor *target, const lt_tensor *weight,
                      int64_t ignore, loss_args *a, int check_range)
{
    char s1[LT_SHAPE_BUFSZ], s2[LT_SHAPE_BUFSZ];
    if (need_float(x, "the input")) return LT_ERR;
    memset(a, 0, sizeof *a);
    a->dt = x->dtype;
    a->ignore = ignore;
    if (x->ndim == 2) {
        a->N = x->size[0];
        a->C = x->size[1];
        a->rs = x->stride[0];
        a->cs = x->stride[1];
        if (target->ndim != 1 || target->size[0] != a->N)
            return lt_error("size mismatch, input [%s] needs a target of %lld class indices, "
                            "got [%s]", lt_shape_str(s1, sizeof s1, x->ndim, x->size),
                            (long long)a->N,
                            lt_shape_str(s2, sizeof s2, target->ndim, target->size));
        a->ts = target->stride[0];
    } else if (x->ndim == 1) {
        a->N = 1;
        a->C = x->size[0];
        a->cs = x->stride[0];
        if (lt_numel(target) != 1 || target->ndim > 1)
            return lt_error("size mismatch, input [%s] needs one class index as target, got "
                            "[%s]", lt_shape_str(s1, sizeof s1, x->ndim, x->size),
                            lt_shape_str(s2, sizeof s2, target->ndim, target->size));
    } else {
        return lt_error("expected an input of N x C scores (2-D) or C scores (1-D), got [%s]",
                        lt_shape_str(s1, sizeof s1, x->ndim, x->size));
    }
    if (target->dtype != LT_INT64)
        return lt_error("the target must hold class indices in a Long tensor, got %s",
                        lt_dtype_name(target->dtype));
    if (weight) {
        if (weight->dtype != x->dtype)
            return lt_error("the weight is a %s tensor, the input a %s tensor",
                            lt_dtype_name(weight->dtype), lt_dtype_name(x->dtype));
        if (weight->ndim != 1 || weight->size[0] != a->C)
            return lt_error("size mismatch, weight [%s] for %lld classes (input [%s])",
                            lt_shape_str(s1, sizeof s1, weight->ndim, weight->size),
                            (long long)a->C, lt_shape_str(s2, sizeof s2, x->ndim, x->size));
        a->w = lt_data(weight);
        a->ws = weight->stride[0];
    }
    a->x = lt_data(x);
    a->t = lt_data(target);
    return check_range ? check_targets(a, target) : LT_OK;
}

/* The normaliser of the loss: the summed target weights of the rows not ignored (mean) or 1
 * (sum). Device targets and weights are read from host copies (transfers and a
 * synchronisation) when there are weights or an ignored class. */
static int loss_norm(const loss_args *a, const lt_tensor *target, const lt_tensor *weight,
                     int size_average, double *norm)
{
    *norm = 1;
    if (!size_average) return LT_OK;
    *norm = (double)a->N;
    if (!a->w && a->ignore == LT_NO_IGNORE) return LT_OK;
    loss_args h = *a;
    lt_tensor *ht = NULL, *hw = NULL;
    if (lt_device(target) != LT_CPU || (weight && lt_device(weight) != LT_CPU)) {
        ht = lt_tensor_empty(LT_INT64);
        hw = weight ? lt_tensor_empty(weight->dtype) : NULL;
        if (!ht || (weight && !hw) || lt_to_device(ht, target, LT_CPU) ||
            (weight && lt_to_device(hw, weight, LT_CPU))) {
            lt_tensor_release(ht);
            lt_tensor_release(hw);
            return LT_ERR;
        }
        h.t = lt_data(ht);
        h.ts = h.ts ? 1 : 0;
        h.w = hw ? lt_data(hw) : NULL;
        h.ws = 1;
    }
    double s = 0;
    for (int64_t i = 0; i < h.N; i++)
        if (h.t[i * h.ts] != h.ignore) s += loss_weight(&h, h.t[i * h.ts]);
    lt_tensor_release(ht);
    lt_tensor_release(hw);
    *norm = s;
    return LT_OK;
}

static int write_scalar(lt_tensor *out, double v)
{
    if (lt_resize(out, 0, NULL)) return LT_ERR;
    if (out->dtype == LT_FLOAT32) *(float *)lt_data(out) = (float)v;
    else *(double *)lt_data(out) = v;
    lt_storage_bump(out);
    return LT_OK;
}

static int check_out(const lt_tensor *out, const lt_tensor *x)
{
    if (out->dtype == x->dtype) return LT_OK;
    return lt_error("the result is a %s tensor, the input a %s tensor",
                    lt_dtype_name(out->dtype), lt_dtype_name(x->dtype));
}

/* ---- NLL ------------------------------------------------------------------------------------ */

int lt_nll_loss(lt_tensor *out, const lt_tensor *logp, const lt_tensor *target,
                const lt_tensor *weight, int size_average, int64_t ignore)
{
    loss_args a;
    if (loss_check(logp, target, weight, ignore, &a, 1) || check_out(out, logp)) return LT_ERR;
    LT_GPU_ROUTE(out, lt_gpu_nll_loss(out, logp, target, weight, size_average, ignore), logp,
                 target, weight);
    double total = 0, wsum = 0;
    for (int64_t i = 0; i < a.N; i++) {
        if (a.t[i * a.ts] == a.ignore) continue;
        int64_t t = a.t[i * a.ts], off = i * a.rs + t * a.cs;
        double w = loss_weight(&a, t);
        double v = a.dt == LT_FLOAT32 ? (double)((const float *)a.x)[off]
                                      : ((const double *)a.x)[off];
        total -= w * v;
        wsum += w;
    }
    return write_scalar(out, size_average ? total / wsum : total);
}

/* The gradient of a loss wrt its 0-dim output, as a double (v NULL: only the check, for a
 * device gradient that the kernel reads). */
static int scalar_grad(lt_node *n, const lt_tensor *g, double *v)
{
    if (lt_numel(g) != 1)
        return lt_error("%s: expected a one-element gradient, got %lld elements", n->name,
                        (long long)lt_numel(g));
    if (!v) return LT_OK;
    *v = g->dtype == LT_FLOAT32 ? (double)*(const float *)lt_data(g)
                                : g->dtype == LT_FLOAT64 ? *(const double *)lt_data(g)
                                                         : lt_get(g, (const int64_t[]){0});
    return LT_OK;
}

/* saved: 0 = scores (CrossEntropy) or a placeholder, then target, then weight (i[0] = 1);
 * i[1] = the ignored target; d[0] = the normaliser. Fills loss_args from the saved tensors; *dev = their device, which
 * the output gradient g must share. Device targets were range-checked by the forward op. */
static int loss_saved(lt_node *n, const lt_tensor *g, const lt_tensor **x, const lt_tensor **t,
                      const lt_tensor **w, loss_args *a, int *dev)
{
    lt_tensor *sx = lt_node_saved(n, 0);
    lt_tensor *st = sx ? lt_node_saved(n, 1) : NULL;
    lt_tensor *sw = st && n->i[0] ? lt_node_saved(n, 2) : NULL;
    if (!st || (n->i[0] && !sw)) return LT_ERR;
    *x = sx;
    *t = st;
    *w = sw;
    const lt_tensor *all[4] = {sx, st, sw, g};
    if (lt_common_device(dev, 4, all)) return LT_ERR;
    return loss_check(sx, st, sw, n->i[1], a, *dev == LT_CPU);
}

static int nll_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    if (!n->next[0]) return LT_OK;
    const lt_tensor *x, *tg, *wt;
    loss_args a;
    double g = 0;
    int dev;
    if (loss_saved(n, gout[0], &x, &tg, &wt, &a, &dev) ||
        scalar_grad(n, gout[0], dev == LT_CPU ? &g : NULL))
        return LT_ERR;
    lt_tensor *gx = lt_tensor_new_on(dev, n->in_dtype[0], n->in_ndim[0], n->in_size[0]);
    if (!gx) return LT_ERR;
#ifdef LT_HAVE_CUDA
    if (dev != LT_CPU) {
        if (lt_gpu_nll_loss_backward(gx, gout[0], x, tg, wt, n->d[0], n->i[1])) {
            lt_tensor_release(gx);
            return LT_ERR;
        }
        gin[0] = gx;
        return LT_OK;
    }
#endif
    double c = -g / n->d[0];
    for (int64_t i = 0; i < a.N; i++) {  /* gx is contiguous: (i, t) is i * C + t */
        if (a.t[i * a.ts] == a.ignore) continue;   /* its row stays zero */
        int64_t t = a.t[i * a.ts], off = i * a.C + t;
        double v = c * loss_weight(&a, t);
        if (a.dt == LT_FLOAT32) ((float *)lt_data(gx))[off] = (float)v;
        else ((double *)lt_data(gx))[off] = v;
    }
    gin[0] = gx;
    return LT_OK;
}

/* Records a loss node over the scores x; saves x (for CrossEntropy; NLL needs only its
 * layout, and saving it costs nothing), target and weight. */
static int rec_loss(lt_tensor *out, lt_tensor *x, lt_tensor *target, lt_tensor *weight,
                    int size_average, int64_t ignore, const char *name, lt_backward_fn fn)
{
    lt_tensor *ins[1] = {x};
    if (!lt_needs_grad(1, (const lt_tensor *const *)ins)) return LT_OK;
    loss_args a;
    double norm;
    if (loss_check(x, target, weight, ignore, &a, lt_device(target) == LT_CPU) ||
        loss_norm(&a, target, weight, size_average, &norm))
        return LT_ERR;
    lt_node *n = lt_node_new(name, fn, 1, ins, 1);
    if (!n) return LT_ERR;
    if (lt_node_save(n, x) < 0 || lt_node_save(n, target) < 0 ||
        (weight && lt_node_save(n, weight) < 0)) {
        lt_node_release(n);
        return LT_ERR;
    }
    n->i[0] = weight != NULL;
    n->i[1] = ignore;
    n->d[0] = norm;
    lt_node_set_output(n, out, 0);
    lt_node_release(n);
    return LT_OK;
}

int lt_rec_nll_loss(lt_tensor *out, lt_tensor *logp, lt_tensor *target, lt_tensor *weight,
                    int size_average, int64_t ignore)
{
    return rec_loss(out, logp, target, weight, size_average, ignore, "NllLossBackward",
                    nll_backward);
}

/* ---- cross entropy ------------------------------------------------------------------------ */

/* Per row: the max m and the sum s of exp(x - m), so that log p_j = (x_j - m) - log(s). */
#define CE_KERNELS(T)                                                                        \
    static inline T row_sum_##T(const T *x, int64_t C, int64_t cs, double *s)               \
    {                                                                                        \
        T mx = -INFINITY;                                                                    \
        double acc = 0;                                                                      \
        if (cs == 1) {                                                                       \
            mx = row_max_##T(x, C);                                                          \
            _Pragma("omp simd reduction(+:acc)")                                             \
            for (int64_t j = 0; j < C; j++) acc += lt_exp_##T(x[j] - mx);                    \
        } else {                                                                             \
            for (int64_t j = 0; j < C; j++) {                                                \
                T v = x[j * cs];                                                             \
                mx = (v > mx) | (v != v) ? v : mx;                                           \
            }                                                                                \
            for (int64_t j = 0; j < C; j++) acc += lt_exp_##T(x[j * cs] - mx);               \
        }                                                                                    \
        *s = acc;                                                                            \
        return mx;                                                                           \
    }                                                                                        \
    /* rows [i0, i1): adds -w_t * log p_t into *loss and w_t into *wsum */                   \
    CE_KERNEL static void ce_rows_##T(const loss_args *a, int64_t i0, int64_t i1,           \
                                       double *loss, double *wsum)                           \
    {                                                                                        \
        const T *x = (const T *)a->x;                                                        \
        double l = 0, ws = 0;                                                                \
        for (int64_t i = i0; i < i1; i++) {                                                  \
            const T *row = x + i * a->rs;                                                    \
            if (a->t[i * a->ts] == a->ignore) continue;                                      \
            double s;                                                                        \
            T m = row_sum_##T(row, a->C, a->cs, &s);                                         \
            int64_t t = a->t[i * a->ts];                                                     \
            double w = loss_weight(a, t);                                                    \
            l -= w * (((double)row[t * a->cs] - m) - log(s));                                \
            ws += w;                                                                         \
        }                                                                                    \
        *loss = l;                                                                           \
        *wsum = ws;                                                                          \
    }                                                                                        \
    /* gx rows [i0, i1) (contiguous N x C) = (softmax - onehot(t)) * w_t * c */              \
    CE_KERNEL static void ce_grad_rows_##T(const loss_args *a, T *gx, double c,             \
                                            int64_t i0, int64_t i1)                          \
    {                                                                                        \
        const T *x = (const T *)a->x;                                                        \
        const int64_t cs = a->cs;                                                            \
        for (int64_t i = i0; i < i1; i++) {                                                  \
            const T *row = x + i * a->rs;                                                    \
            T *grow = gx + i * a->C;                                                         \
            if (a->t[i * a->ts] == a->ignore) {  /* no gradient for an ignored row */        \
                for (int64_t j = 0; j < a->C; j++) grow[j] = 0;                              \
                continue;                                                                    \
            }                                                                                \
            double s;                                                                        \
            T m = row_sum_##T(row, a->C, cs, &s);                                            \
            int64_t t = a->t[i * a->ts];                                                     \
            double k = c * loss_weight(a, t) / s;   /* softmax_j * k' = exp(x_j - m) * k */  \
            if (cs == 1) {                                                                   \
                _Pragma("omp simd")                                                          \
                for (int64_t j = 0; j < a->C; j++)                                           \
                    grow[j] = (T)((double)lt_exp_##T(row[j] - m) * k);                       \
            } else {                                                                         \
                for (int64_t j = 0; j < a->C; j++)                                           \
                    grow[j] = (T)((double)lt_exp_##T(row[j * cs] - m) * k);                  \
            }                                                                                \
            /* the target's entry in one rounding: (p_t - 1) * w_t * c */                    \
            grow[t] = (T)(((double)lt_exp_##T(row[t * cs] - m) / s - 1) * c *                \
                          loss_weight(a, t));                                                \
        }                                                                                    \
    }

CE_KERNELS(float)
CE_KERNELS(double)

/* The loss's blocks of rows (CE_CHUNK elements each) on the pool: a row's softmax costs
 * about 16 operations per class. */
typedef struct {
    const loss_args *a;
    int64_t rows;         /* rows per block */
    double *part;         /* (nblocks, 2) loss and weight sums per block (forward) */
    void *gx;             /* (N, C) input gradient (backward) */
    double c;             /* its scale */
} ce_job;

static int64_t ce_chunks(const loss_args *a, int64_t C)
{
    double n = (double)a->N * (double)C;
    return lt_par_chunks(16.0 * n, n * (double)lt_dtype_size(a->dt));
}

static void ce_blocks(void *p, int64_t k0, int64_t k1)
{
    const ce_job *j = p;
    const loss_args *a = j->a;
    for (int64_t k = k0; k < k1; k++) {
        int64_t i0 = k * j->rows, i1 = i0 + j->rows < a->N ? i0 + j->rows : a->N;
        if (a->dt == LT_FLOAT32) ce_rows_float(a, i0, i1, &j->part[2 * k], &j->part[2 * k + 1]);
        else ce_rows_double(a, i0, i1, &j->part[2 * k], &j->part[2 * k + 1]);
    }
}

static void ce_grad_blocks(void *p, int64_t k0, int64_t k1)
{
    const ce_job *j = p;
    const loss_args *a = j->a;
    for (int64_t k = k0; k < k1; k++) {
        int64_t i0 = k * j->rows, i1 = i0 + j->rows < a->N ? i0 + j->rows : a->N;
        if (a->dt == LT_FLOAT32) ce_grad_rows_float(a, j->gx, j->c, i0, i1);
        else ce_grad_rows_double(a, j->gx, j->c, i0, i1);
    }
}

int lt_cross_entropy(lt_tensor *out, const lt_tensor *input, const lt_tensor *target,
                     const lt_tensor *weight, int size_average, int64_t ignore)
{
    loss_args a;
    if (loss_check(input, target, weight, ignore, &a, 1) || check_out(out, input)) return LT_ERR;
    LT_GPU_ROUTE(out, lt_gpu_cross_entropy(out, input, target, weight, size_average, ignore),
                 input, target, weight);
    int64_t C = a.C > 0 ? a.C : 1;
    int64_t rows = CE_CHUNK / C > 0 ? CE_CHUNK / C : 1;
    int64_t nch = (a.N + rows - 1) / rows;
    double small[2 * 64];
    double *part = nch <= 64 ? small : malloc((size_t)nch * 2 * sizeof *part);
    if (!part) return lt_error("out of memory");
    ce_job job = {&a, rows, part, NULL, 0};
    lt_parallel_range(ce_chunks(&a, C), nch, ce_blocks, &job);
    double total = 0, wsum = 0;
    for (int64_t k = 0; k < nch; k++) {  /* in chunk order: deterministic */
        total += part[2 * k];
        wsum += part[2 * k + 1];
    }
    if (part != small) free(part);
    return write_scalar(out, size_average ? total / wsum : total);
}

static int ce_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    if (!n->next[0]) return LT_OK;
    const lt_tensor *x, *tg, *wt;
    loss_args a;
    double g = 0;
    int dev;
    if (loss_saved(n, gout[0], &x, &tg, &wt, &a, &dev) ||
        scalar_grad(n, gout[0], dev == LT_CPU ? &g : NULL))
        return LT_ERR;
    lt_tensor *gx = lt_tensor_uninit_on(dev, x->dtype, x->ndim, x->size);
    if (!gx) return LT_ERR;
#ifdef LT_HAVE_CUDA
    if (dev != LT_CPU) {
        if (lt_gpu_cross_entropy_backward(gx, gout[0], x, tg, wt, n->d[0], n->i[1])) {
            lt_tensor_release(gx);
            return LT_ERR;
        }
        gin[0] = gx;
        return LT_OK;
    }
#endif
    double c = g / n->d[0];
    int64_t C = a.C > 0 ? a.C : 1;
    int64_t rows = CE_CHUNK / C > 0 ? CE_CHUNK / C : 1;
    int64_t nch = (a.N + rows - 1) / rows;
    ce_job job = {&a, rows, NULL, lt_data(gx), c};
    lt_parallel_range(ce_chunks(&a, C), nch, ce_grad_blocks, &job);
    gin[0] = gx;
    return LT_OK;
}

int lt_rec_cross_entropy(lt_tensor *out, lt_tensor *input, lt_tensor *target,
                         lt_tensor *weight, int size_average, int64_t ignore)
{
    return rec_loss(out, input, target, weight, size_average, ignore, "CrossEntropyBackward",
                    ce_backward);
}
