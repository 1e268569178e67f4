/*
 * conv.c — 2-D convolution (and its transpose) as im2col + GEMM, 2-D max / average / adaptive
 * pooling, and batch normalisation, each with a hand-written backward and an autograd
 * recorder. Inputs are batched N x C x H x W here (the Lua layer adds the batch dim of an
 * unbatched input, and the dim of a 1-D one); float32 or float64, host memory.
 *
 * Convolution, per sample and group: col = im2col(x[n]) (C/g * kh * kw rows, one column per
 * output pixel), out[n] = W_g @ col (+ bias). Its backward runs the same two steps the other
 * way: col = W_g^T @ gout[n], dx[n] = col2im(col); dW_g += gout[n] @ col^T. The transposed
 * convolution is that input gradient as its forward, so the four primitives (im2col, col2im
 * and the two GEMM forms) serve both. A 1x1 kernel with stride 1 and no padding skips
 * im2col: x[n] already is col.
 *
 * Threads (core/pool.c): samples are independent, so each chunk (at most one per thread) takes
 * a block of the batch, with its own column buffer and single-threaded GEMMs, as the fused
 * LSTM does with its rows. Weight gradients are summed per chunk and the partial sums added in
 * chunk order: the result depends on the thread count only, like the core's reductions.
 * Pooling and batch norm split planes / channels.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conv_dnnl.h"
#include "dnnl.h"
#include "lt_internal.h"


/* ---- checks ------------------------------------------------------------------------------ */

static int host_float(const lt_tensor *t, const char *what)
{
    if (lt_device(t) != LT_CPU) return lt_error("not implemented for CUDA tensors yet");
    if (t->dtype != LT_FLOAT32 && t->dtype != LT_FLOAT64)
        return lt_error("%s must be a FloatTensor or DoubleTensor, got %s", what,
                        lt_dtype_name(t->dtype));
    return LT_OK;
}

static int same_dtype(const lt_tensor *a, const lt_tensor *b, const char *what)
{
    if (b && a->dtype != b->dtype)
        return lt_error("%s is %s but the input is %s", what, lt_dtype_name(b->dtype),
                        lt_dtype_name(a->dtype));
    return LT_OK;
}

static const char *shape(char *buf, const lt_tensor *t)
{
    return lt_shape_str(buf, LT_SHAPE_BUFSZ, t->ndim, t->size);
}

/* chunks for a loop over `items` independent pieces of `work` operations each, moving
 * `bytes` bytes each (lt_par_chunks' cost model); at most one chunk per item */
static int64_t chunks_for(int64_t items, double work, double bytes)
{
    int64_t c = lt_par_chunks(work * (double)items, bytes * (double)items);
    return c > items ? items : c < 1 ? 1 : c;
}

/* t itself when contiguous, else a contiguous copy in *tmp (released by the caller) */
static const lt_tensor *contig(const lt_tensor *t, lt_tensor **tmp)
{
    *tmp = NULL;
    if (lt_is_contiguous(t)) return t;
    *tmp = lt_tensor_empty(t->dtype);
    if (*tmp && lt_contiguous(*tmp, t) == LT_OK) return *tmp;
    if (*tmp) lt_tensor_release(*tmp);
    *tmp = NULL;
    return NULL;
}

/* ---- im2col / col2im ---------------------------------------------------------------------- */
/* An image of C x H x W and its columns: (C * kh * kw) rows of OH * OW, where output pixel
 * (oy, ox) reads input (oy * sh - ph + i * dh, ox * sw - pw + j * dw) through kernel tap (i, j). */
typedef struct {
    int64_t C, H, W, OH, OW;
    int64_t kh, kw, sh, sw, ph, pw, dh, dw;
} geom;

/* the outputs ox in [*lo, *hi) whose input column ox * sw + x0 lies in [0, W) */
static inline void valid_span(int64_t x0, int64_t sw, int64_t W, int64_t OW, int64_t *lo,
                              int64_t *hi)
{
    int64_t l = x0 >= 0 ? 0 : (-x0 + sw - 1) / sw;
    int64_t h = W - x0 <= 0 ? 0 : (W - x0 + sw - 1) / sw;
    *lo = l < OW ? l : OW;
    *hi = h < OW ? h : OW;
    if (*hi < *lo) *hi = *lo;
}

#define DEF_IM2COL(T)                                                                          \
    static void im2col_##T(const geom *g, const T *img, T *col)                                \
    {                                                                                          \
        for (int64_t c = 0; c < g->C; c++)                                                     \
            for (int64_t i = 0; i < g->kh; i++)                                                \
                for (int64_t j = 0; j < g->kw; j++) {                                          \
                    T *row = col + ((c * g->kh + i) * g->kw + j) * g->OH * g->OW;              \
                    const T *plane = img + c * g->H * g->W;                                    \
                    int64_t x0 = j * g->dw - g->pw, lo, hi;                                    \
                    valid_span(x0, g->sw, g->W, g->OW, &lo, &hi);                              \
                    for (int64_t oy = 0; oy < g->OH; oy++) {                                   \
                        int64_t iy = oy * g->sh - g->ph + i * g->dh;                           \
                        T *r = row + oy * g->OW;                                               \
                        if (iy < 0 || iy >= g->H) {                                            \
                            for (int64_t ox = 0; ox < g->OW; ox++) r[ox] = 0;                  \
                            continue;                                                          \
                        }                                                                      \
                        const T *src = plane + iy * g->W + x0;                                 \
                        for (int64_t ox = 0; ox < lo; ox++) r[ox] = 0;                         \
                        if (g->sw == 1)                                                        \
                            LT_SIMD for (int64_t ox = lo; ox < hi; ox++) r[ox] = src[ox];      \
                        else                                                                   \
                            for (int64_t ox = lo; ox < hi; ox++) r[ox] = src[ox * g->sw];      \
                        for (int64_t ox = hi; ox < g->OW; ox++) r[ox] = 0;                     \
                    }                                                                          \
                }                                                                              \
    }                                                                                          \
    /* img += the columns summed back where they were read (img is not cleared) */             \
    static void col2im_##T(const geom *g, const T *col, T *img)                                \
    {                                                                                          \
        for (int64_t c = 0; c < g->C; c++)                                                     \
            for (int64_t i = 0; i < g->kh; i++)                                                \
                for (int64_t j = 0; j < g->kw; j++) {                                          \
                    const T *row = col + ((c * g->kh + i) * g->kw + j) * g->OH * g->OW;        \
                    T *plane = img + c * g->H * g->W;                                          \
                    int64_t x0 = j * g->dw - g->pw, lo, hi;                                    \
                    valid_span(x0, g->sw, g->W, g->OW, &lo, &hi);                              \
                    for (int64_t oy = 0; oy < g->OH; oy++) {                                   \
                        int64_t iy = oy * g->sh - g->ph + i * g->dh;                           \
                        if (iy < 0 || iy >= g->H) continue;                                    \
                        const T *r = row + oy * g->OW;                                         \
                        T *dst = plane + iy * g->W + x0;                                       \
                        if (g->sw == 1)                                                        \
                            LT_SIMD for (int64_t ox = lo; ox < hi; ox++) dst[ox] += r[ox];     \
                        else                                                                   \
                            for (int64_t ox = lo; ox < hi; ox++) dst[ox * g->sw] += r[ox];     \
                    }                                                                          \
                }                                                                              \
    }
DEF_IM2COL(float)
DEF_IM2COL(double)

static void im2col(lt_dtype dt, const geom *g, const void *img, void *col)
{
    if (dt == LT_FLOAT32) im2col_float(g, img, col);
    else im2col_double(g, img, col);
}

static void col2im(lt_dtype dt, const geom *g, const void *col, void *img)
{
    if (dt == LT_FLOAT32) col2im_float(g, col, img);
    else col2im_double(g, col, img);
}

/* 1x1, stride 1, no padding: the image is its own column matrix */
static int is_pointwise(const geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
}

/* ---- sizes --------------------------------------------------------------------------------- */

static int64_t conv_out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d)
{
    return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

/* whether the size arithmetic of one axis (in + 2 * pad, dil * (k - 1), (in - 1) * stride)
 * could leave int64: checked in double first */
static int too_large(int64_t in, int64_t k, int64_t s, int64_t pad, int64_t dil)
{
    const double lim = 576460752303423488.0;  /* 2^59, the core's bound on a shape */
    return (double)in + 2.0 * (double)pad > lim || (double)dil * (double)(k - 1) > lim ||
           (double)(in - 1) * (double)s > lim;
}

static int check_params(const lt_conv_params *p)
{
    for (int a = 0; a < 2; a++) {
        if (p->stride[a] < 1 || p->dilation[a] < 1)
            return lt_error("stride and dilation must be positive, got stride %lld x %lld and "
                            "dilation %lld x %lld", (long long)p->stride[0],
                            (long long)p->stride[1], (long long)p->dilation[0],
                            (long long)p->dilation[1]);
        if (p->padding[a] < 0 || p->output_padding[a] < 0)
            return lt_error("padding must not be negative, got %lld x %lld",
                            (long long)p->padding[0], (long long)p->padding[1]);
    }
    if (p->groups < 1) return lt_error("groups must be positive, got %lld", (long long)p->groups);
    return LT_OK;
}

/* Checks x (N x C x H x W), w and bias for a convolution (transposed: w is Cin x Cout/g x kh x
 * kw) and gives the geometry of one group (the image side is the convolution's input for a
 * plain convolution, its output for a transposed one) and the output shape. */
static int conv_setup(const lt_tensor *x, const lt_tensor *w, const lt_tensor *bias,
                      const lt_conv_params *p, int transposed, geom *g, int64_t osize[4])
{
    char b1[LT_SHAPE_BUFSZ], b2[LT_SHAPE_BUFSZ];
    if (host_float(x, "input") || host_float(w, "weight") || same_dtype(x, w, "the weight") ||
        (bias && (host_float(bias, "bias") || same_dtype(x, bias, "the bias"))) ||
        check_params(p))
        return LT_ERR;
    if (x->ndim != 4) return lt_error("expected a 4-D input (N x C x H x W), got [%s]", shape(b1, x));
    if (w->ndim != 4) return lt_error("expected a 4-D weight, got [%s]", shape(b1, w));
    int64_t G = p->groups, N = x->size[0], C = x->size[1], H = x->size[2], W = x->size[3];
    int64_t cin_w = transposed ? w->size[0] : w->size[1] * G;
    int64_t cout = transposed ? w->size[1] * G : w->size[0];
    if (C != cin_w)
        return lt_error("input [%s] has %lld channels, the weight [%s] with %lld groups expects %lld",
                        shape(b1, x), (long long)C, shape(b2, w), (long long)G,
                        (long long)cin_w);
    if (w->size[0] % G)
        return lt_error("weight [%s]: %lld channels do not split into %lld groups", shape(b1, w),
                        (long long)w->size[0], (long long)G);
    if (bias && (bias->ndim != 1 || bias->size[0] != cout))
        return lt_error("bias must have %lld elements (one per output channel), got [%s]",
                        (long long)cout, shape(b1, bias));
    int64_t kh = w->size[2], kw = w->size[3];
    if (kh < 1 || kw < 1) return lt_error("empty kernel [%s]", shape(b1, w));
    if (too_large(H, kh, p->stride[0], p->padding[0], p->dilation[0]) ||
        too_large(W, kw, p->stride[1], p->padding[1], p->dilation[1]))
        return lt_error("input [%s] with kernel [%s] and these strides, paddings and dilations "
                        "gives sizes beyond 2^59", shape(b1, x), shape(b2, w));
    int64_t OH, OW;
    if (!transposed) {
        OH = conv_out_size(H, kh, p->stride[0], p->padding[0], p->dilation[0]);
        OW = conv_out_size(W, kw, p->stride[1], p->padding[1], p->dilation[1]);
        if (H + 2 * p->padding[0] < p->dilation[0] * (kh - 1) + 1 ||
            W + 2 * p->padding[1] < p->dilation[1] * (kw - 1) + 1)
            return lt_error("input [%s] padded by %lld x %lld is smaller than the kernel "
                            "(%lld x %lld, dilation %lld x %lld)", shape(b1, x),
                            (long long)p->padding[0], (long long)p->padding[1], (long long)kh,
                            (long long)kw, (long long)p->dilation[0], (long long)p->dilation[1]);
        *g = (geom){C / G, H, W, OH, OW, kh, kw, p->stride[0], p->stride[1], p->padding[0],
                    p->padding[1], p->dilation[0], p->dilation[1]};
    } else {
        for (int a = 0; a < 2; a++)
            if (p->output_padding[a] >= p->stride[a] && p->output_padding[a] >= p->dilation[a])
                return lt_error("output padding must be smaller than the stride or the "
                                "dilation, got %lld (stride %lld, dilation %lld)",
                                (long long)p->output_padding[a], (long long)p->stride[a],
                                (long long)p->dilation[a]);
        OH = (H - 1) * p->stride[0] - 2 * p->padding[0] + p->dilation[0] * (kh - 1) +
             p->output_padding[0] + 1;
        OW = (W - 1) * p->stride[1] - 2 * p->padding[1] + p->dilation[1] * (kw - 1) +
             p->output_padding[1] + 1;
        if (OH < 1 || OW < 1)
            return lt_error("input [%s] gives an empty output (%lld x %lld)", shape(b1, x),
                            (long long)OH, (long long)OW);
        /* the image is the output, the columns are the input's pixels */
        *g = (geom){cout / G, OH, OW, H, W, kh, kw, p->stride[0], p->stride[1], p->padding[0],
                    p->padding[1], p->dilation[0], p->dilation[1]};
    }
    int64_t sz[4] = {N, cout, OH, OW};
    if (lt_shape_numel(4, sz, NULL)) return LT_ERR;
    /* BLAS takes int sizes: one sample's plane and column rows must fit */
    if (g->OH * g->OW > INT32_MAX || g->H * g->W > INT32_MAX || g->C * kh * kw > INT32_MAX ||
        cout > INT32_MAX || C > INT32_MAX)
        return lt_error("input [%s] with weight [%s] is too large for one BLAS product per "
                        "sample", shape(b1, x), shape(b2, w));
    memcpy(osize, sz, sizeof sz);
    return LT_OK;
}

/* ---- the two directions, per sample --------------------------------------------------------
 * "down": image -> columns -> product (a convolution's forward, a transposed one's input
 * gradient); "up": product -> columns -> image (the other two). Both over a block of samples,
 * with one column buffer per thread. */

typedef struct {
    lt_dtype dt;
    geom g;
    int64_t groups;
    int64_t img_c, img_sz;       /* image side: channels (all groups), pixels per channel   */
    int64_t mat_c, mat_sz;       /* product side: channels (all groups), pixels per channel */
    int64_t K;                   /* column rows per group: g.C * kh * kw                    */
    int64_t mat_g;               /* product channels per group                              */
} plan;

/* A convolution's weight is Cout x K (K = Cin/g * kh * kw): group gi's block W_g is rows
 * [gi * Cout/g, (gi + 1) * Cout/g). A transposed convolution's weight is Cin x (Cout/g * kh *
 * kw): its rows are the product side (the input's channels), K wide, so W_g is again the
 * (mat_g x K) block at row gi * mat_g. */

static size_t esz(lt_dtype dt) { return lt_dtype_size(dt); }

/* The K x mat_sz columns of sample n, group gi of img: im2col into col, or the image itself
 * for a pointwise (1x1, stride 1, no padding) kernel */
static const char *columns(const plan *P, const char *img, int64_t n, int64_t gi, char *col)
{
    const char *im = img + ((n * P->img_c + gi * P->g.C) * P->img_sz) * esz(P->dt);
    if (is_pointwise(&P->g)) return im;
    im2col(P->dt, &P->g, im, col);
    return col;
}

/* mat[n] (mat_c x mat_sz) = W @ im2col(img[n]) for samples [n0, n1); col: K x mat_sz scratch */
static void down_block(const plan *P, const char *img, const char *w, char *mat, char *col,
                       int64_t n0, int64_t n1, double beta)
{
    size_t e = esz(P->dt);
    for (int64_t n = n0; n < n1; n++)
        for (int64_t gi = 0; gi < P->groups; gi++) {
            const char *cm = columns(P, img, n, gi, col);
            lt_blas_gemm(P->dt, 0, 0, 0, P->mat_g, P->mat_sz, P->K, 1.0,
                         w + gi * P->mat_g * P->K * e, P->K, cm, P->mat_sz, beta,
                         mat + ((n * P->mat_c + gi * P->mat_g) * P->mat_sz) * e, P->mat_sz);
        }
}

/* img[n] += col2im(W^T @ mat[n]) for samples [n0, n1) (img cleared first when zero) */
static void up_block(const plan *P, const char *mat, const char *w, char *img, char *col,
                     int64_t n0, int64_t n1)
{
    size_t e = esz(P->dt);
    int pw = is_pointwise(&P->g);
    for (int64_t n = n0; n < n1; n++) {
        memset(img + n * P->img_c * P->img_sz * e, 0, (size_t)(P->img_c * P->img_sz) * e);
        for (int64_t gi = 0; gi < P->groups; gi++) {
            char *im = img + ((n * P->img_c + gi * P->g.C) * P->img_sz) * e;
            lt_blas_gemm(P->dt, 0, 1, 0, P->K, P->mat_sz, P->mat_g, 1.0,
                         w + gi * P->mat_g * P->K * e, P->K,
                         mat + ((n * P->mat_c + gi * P->mat_g) * P->mat_sz) * e, P->mat_sz,
                         0.0, pw ? im : col, P->mat_sz);
            if (!pw) col2im(P->dt, &P->g, col, im);
        }
    }
}

/* dW (mat_c x K) += sum over samples [n0, n1) of mat[n] @ im2col(img[n])^T */
static void wgrad_block(const plan *P, const char *img, const char *mat, char *dw, char *col,
                        int64_t n0, int64_t n1)
{
    size_t e = esz(P->dt);
    for (int64_t n = n0; n < n1; n++)
        for (int64_t gi = 0; gi < P->groups; gi++) {
            const char *cm = columns(P, img, n, gi, col);
            lt_blas_gemm(P->dt, 0, 0, 1, P->mat_g, P->K, P->mat_sz, 1.0,
                         mat + ((n * P->mat_c + gi * P->mat_g) * P->mat_sz) * e, P->mat_sz,
                         cm, P->mat_sz, 1.0, dw + gi * P->mat_g * P->K * e, P->K);
        }
}

typedef enum { RUN_DOWN, RUN_UP, RUN_WGRAD } run_kind;

typedef struct {
    const plan *P;
    run_kind kind;
    int64_t N;
    const char *a, *w;
    char *out;
    char *buf;            /* (nt, scratch) column buffer [+ partial dW] per chunk */
    int64_t colsz, scratch, nt;
} batch_job;

/* chunk t: its block of samples, with column buffer t (and partial dW t) */
static void batch_chunk(void *p, int64_t t)
{
    const batch_job *j = p;
    const plan *P = j->P;
    size_t e = esz(P->dt);
    int64_t n0 = j->N * t / j->nt, n1 = j->N * (t + 1) / j->nt;
    char *col = j->buf + (size_t)(t * j->scratch) * e;
    if (j->kind == RUN_DOWN) down_block(P, j->a, j->w, j->out, col, n0, n1, 0.0);
    else if (j->kind == RUN_UP) up_block(P, j->a, j->w, j->out, col, n0, n1);
    else wgrad_block(P, j->a, j->w, t == 0 ? j->out : col + j->colsz * e, col, n0, n1);
}

/* Runs one of the three over the batch, a block of samples per thread. RUN_WGRAD sums into
 * out (mat_c x K, cleared here) through per-thread partial sums added in thread order. */
static int run_batch(const plan *P, run_kind kind, int64_t N, const char *a, const char *w,
                     char *out)
{
    size_t e = esz(P->dt);
    int64_t colsz = is_pointwise(&P->g) ? 1 : P->K * P->mat_sz;
    int64_t wsz = P->mat_c * P->K;
    /* a multiply-add of the GEMMs costs 2 flops at the GEMM rate; at most one chunk per thread
     * (each chunk holds a column buffer) */
    double macs = (double)P->mat_c * (double)P->K * (double)P->mat_sz;
    int64_t nt = chunks_for(N, 2.0 * macs * LT_PAR_FLOPS_NS / LT_PAR_GEMM_NS, 0);
    if (nt > lt_get_num_threads()) nt = lt_get_num_threads();
    int64_t scratch = colsz + (kind == RUN_WGRAD ? wsz : 0);
    if (lt_alloc_check(nt * scratch * (int64_t)e, "the convolution's column buffers"))
        return LT_ERR;
    char *buf = malloc((size_t)(nt * scratch) * e);
    if (!buf) return lt_error("out of memory allocating the convolution's column buffers");
    if (kind == RUN_WGRAD) {
        memset(out, 0, (size_t)wsz * e);
        for (int64_t t = 1; t < nt; t++) memset(buf + (t * scratch + colsz) * e, 0, (size_t)wsz * e);
    }
    batch_job job = {P, kind, N, a, w, out, buf, colsz, scratch, nt};
    lt_parallel_for(nt, batch_chunk, &job);
    if (kind == RUN_WGRAD)
        for (int64_t t = 1; t < nt; t++) {
            const char *part = buf + (size_t)(t * scratch + colsz) * e;
            if (P->dt == LT_FLOAT32)
                for (int64_t i = 0; i < wsz; i++) ((float *)out)[i] += ((const float *)part)[i];
            else
                for (int64_t i = 0; i < wsz; i++) ((double *)out)[i] += ((const double *)part)[i];
        }
    free(buf);
    return LT_OK;
}

static plan make_plan(lt_dtype dt, const geom *g, int64_t groups, int64_t mat_c)
{
    plan P = {0};
    P.dt = dt;
    P.g = *g;
    P.groups = groups;
    P.img_c = g->C * groups;
    P.img_sz = g->H * g->W;
    P.mat_c = mat_c;
    P.mat_sz = g->OH * g->OW;
    P.K = g->C * g->kh * g->kw;
    P.mat_g = mat_c / groups;
    return P;
}

/* out (N x C x S) += bias per channel */
static void add_bias(lt_tensor *out, const lt_tensor *bias)
{
    int64_t N = out->size[0], C = out->size[1], S = out->size[2] * out->size[3];
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            if (out->dtype == LT_FLOAT32) {
                float b = ((const float *)lt_data(bias))[c * bias->stride[0]];
                float *o = (float *)lt_data(out) + (n * C + c) * S;
                LT_SIMD for (int64_t i = 0; i < S; i++) o[i] += b;
            } else {
                double b = ((const double *)lt_data(bias))[c * bias->stride[0]];
                double *o = (double *)lt_data(out) + (n * C + c) * S;
                LT_SIMD for (int64_t i = 0; i < S; i++) o[i] += b;
            }
        }
}

/* db (C) = g (N x C x H x W) summed over all but the channel dim, in double; each plane's
 * part in lanes (a serial float sum was a 4-cycle add per element: a sixth of LeNet's first
 * layer's backward) */
#define DEF_BIAS_GRAD(T)                                                                       \
    static void bias_grad_##T(const T *g, int64_t N, int64_t C, int64_t S, T *db)              \
    {                                                                                          \
        for (int64_t c = 0; c < C; c++) {                                                      \
            double s = 0;                                                                      \
            for (int64_t n = 0; n < N; n++) {                                                  \
                const T *p = g + (n * C + c) * S;                                              \
                T part = 0;                                                                    \
                _Pragma("omp simd reduction(+:part)")                                          \
                for (int64_t i = 0; i < S; i++) part += p[i];                                  \
                s += part;                                                                     \
            }                                                                                  \
            db[c] = (T)s;                                                                      \
        }                                                                                      \
    }
DEF_BIAS_GRAD(float)
DEF_BIAS_GRAD(double)

static int bias_grad(lt_tensor **db, const lt_tensor *g)
{
    int64_t N = g->size[0], C = g->size[1], S = g->size[2] * g->size[3];
    *db = lt_tensor_new_uninit(g->dtype, 1, &C);
    if (!*db) return LT_ERR;
    if (g->dtype == LT_FLOAT32) bias_grad_float(lt_data(g), N, C, S, lt_data(*db));
    else bias_grad_double(lt_data(g), N, C, S, lt_data(*db));
    return LT_OK;
}

/* ---- oneDNN or im2col -----------------------------------------------------------------------
 * Float32 convolutions may run on oneDNN (core/conv_dnnl.c); float64 always runs im2col. */

static int conv_backend = LT_CONV_AUTO;   /* torch.convbackend: tests and benchmarks pin one */

int lt_conv_set_backend(int backend)
{
    if (backend < LT_CONV_AUTO || backend > LT_CONV_ONEDNN)
        return lt_error("unknown convolution backend %d", backend);
    conv_backend = backend;
    return LT_OK;
}

int lt_conv_get_backend(void) { return conv_backend; }

/* AUTOCAST HOOK: whether a float32 convolution on oneDNN computes in bfloat16 (oneDNN's
 * reorders convert its inputs and output, the caller sees float32): under bf16 autocast
 * (core/dnnl.h; the autograd engine restores a node's recorded state for its backward). A
 * shape oneDNN refuses in bf16 runs im2col, whose products follow autocast in lt_blas_gemm. */
static int conv_autocast_bf16(void) { return lt_autocast_get(); }

/* the oneDNN shape of a convolution of x giving os, or 0 when it stays on im2col */
static int dnnl_shape(lt_dnnl_conv_shape *s, const lt_tensor *x, const lt_tensor *w,
                      const lt_conv_params *p, int transposed, const int64_t os[4])
{
    if (x->dtype != LT_FLOAT32 || conv_backend == LT_CONV_IM2COL ||
        !lt_dnnl_conv_available() || x->size[0] == 0)
        return 0;
    memset(s, 0, sizeof *s);
    *s = (lt_dnnl_conv_shape){x->size[0], x->size[1], x->size[2], x->size[3], os[1], os[2], os[3],
                              w->size[2], w->size[3], p->stride[0], p->stride[1], p->padding[0],
                              p->padding[1], p->dilation[0], p->dilation[1], p->groups,
                              p->output_padding[0], p->output_padding[1], transposed, 0,
                              conv_autocast_bf16()};
    if (conv_backend == LT_CONV_ONEDNN) return 1;
    /* The rule, from bench/conv.lua's shapes (bench/README.md, "the per-shape rule"): oneDNN's
     * direct kernels win 1.3-3.5x with 8 input channels or more (ResNet's 3x3 64-channel,
     * dilated, transposed, grouped and depth-wise ones) or when each output sums over
     * C/groups * kh * kw >= 64 inputs (LeNet's second layer: 6 channels, 5x5); with fewer
     * channels and a small window (LeNet's first layer, 1-4 channels 3x3) the reorders to its
     * blocked layouts cost more than they save, and im2col + GEMM is 1.4-4x faster. */
    int64_t K = x->size[1] / p->groups * w->size[2] * w->size[3];
    return x->size[1] >= 8 || K >= 64;
}

static int conv_any(lt_tensor *out, const lt_tensor *x, const lt_tensor *w,
                    const lt_tensor *bias, const lt_conv_params *p, int transposed)
{
    geom g;
    int64_t os[4];
    if (conv_setup(x, w, bias, p, transposed, &g, os)) return LT_ERR;
    lt_tensor *xt, *wt;
    const lt_tensor *xc = contig(x, &xt), *wc = contig(w, &wt);
    int st = xc && wc ? lt_resize(out, 4, os) : LT_ERR;
    lt_dnnl_conv_shape ds;
    int on_dnnl = st == LT_OK && lt_numel(out) > 0 && dnnl_shape(&ds, x, w, p, transposed, os);
    if (on_dnnl) {
        ds.bias = bias != NULL;
        lt_tensor *bt = NULL;
        const lt_tensor *bc = bias ? contig(bias, &bt) : NULL;
        st = bias && !bc ? LT_ERR
                         : lt_dnnl_conv_run(LT_DNNL_CONV_FWD, &ds, lt_data(xc), lt_data(wc),
                                            bc ? lt_data(bc) : NULL, lt_data(out));
        if (bt) lt_tensor_release(bt);
        if (st == 0) on_dnnl = 0;         /* oneDNN did not take it: im2col below */
        else if (st == 1) st = LT_OK;
    }
    if (st == LT_OK && !on_dnnl && lt_numel(out) > 0) {
        if (!transposed) {
            plan P = make_plan(x->dtype, &g, p->groups, os[1]);
            st = run_batch(&P, RUN_DOWN, os[0], lt_data(xc), lt_data(wc), lt_data(out));
        } else {
            plan P = make_plan(x->dtype, &g, p->groups, x->size[1]);
            st = run_batch(&P, RUN_UP, os[0], lt_data(xc), lt_data(wc), lt_data(out));
        }
        if (st == LT_OK && bias) add_bias(out, bias);
    }
    if (xt) lt_tensor_release(xt);
    if (wt) lt_tensor_release(wt);
    if (st == LT_OK) lt_storage_bump(out);
    return st;
}

int lt_conv2d(lt_tensor *out, const lt_tensor *x, const lt_tensor *w, const lt_tensor *bias,
              const lt_conv_params *p)
{
    return conv_any(out, x, w, bias, p, 0);
}

int lt_conv_transpose2d(lt_tensor *out, const lt_tensor *x, const lt_tensor *w,
                        const lt_tensor *bias, const lt_conv_params *p)
{
    return conv_any(out, x, w, bias, p, 1);
}

/* ---- convolution backward --------------------------------------------------------------
 * inputs (x, w, bias); saved x at 0, w at 1; i[0..9]: stride, padding, dilation,
 * output_padding (2 each), groups, transposed */

static void params_to_node(lt_node *nd, const lt_conv_params *p, int transposed)
{
    for (int a = 0; a < 2; a++) {
        nd->i[a] = p->stride[a];
        nd->i[2 + a] = p->padding[a];
        nd->i[4 + a] = p->dilation[a];
        nd->i[6 + a] = p->output_padding[a];
    }
    nd->i[8] = p->groups;
    nd->i[9] = transposed;
}

static lt_conv_params params_of_node(const lt_node *nd)
{
    lt_conv_params p;
    for (int a = 0; a < 2; a++) {
        p.stride[a] = nd->i[a];
        p.padding[a] = nd->i[2 + a];
        p.dilation[a] = nd->i[4 + a];
        p.output_padding[a] = nd->i[6 + a];
    }
    p.groups = nd->i[8];
    return p;
}

static int conv_backward(lt_node *nd, lt_tensor *const *gout, lt_tensor **gin)
{
    lt_tensor *x = lt_node_saved(nd, 0), *w = x ? lt_node_saved(nd, 1) : NULL;
    if (!w) return LT_ERR;
    lt_conv_params p = params_of_node(nd);
    int transposed = (int)nd->i[9];
    geom g;
    int64_t os[4];
    if (conv_setup(x, w, NULL, &p, transposed, &g, os)) return LT_ERR;
    lt_tensor *gt, *xt, *wt;
    const lt_tensor *gc = contig(gout[0], &gt), *xc = contig(x, &xt), *wc = contig(w, &wt);
    int st = gc && xc && wc ? LT_OK : LT_ERR;
    int64_t N = x->size[0];
    /* the image side is x for a convolution, the gradient for a transposed one */
    plan P = make_plan(x->dtype, &g, p.groups, transposed ? x->size[1] : os[1]);
    const char *img = st ? NULL : transposed ? lt_data(gc) : lt_data(xc);
    const char *mat = st ? NULL : transposed ? lt_data(xc) : lt_data(gc);
    lt_dnnl_conv_shape ds;
    int on_dnnl = st == LT_OK && dnnl_shape(&ds, x, w, &p, transposed, os);
    if (st == LT_OK && nd->next[0]) {
        gin[0] = lt_tensor_new_uninit(x->dtype, 4, x->size);
        int done = 0;
        if (!gin[0]) st = LT_ERR;
        else if (on_dnnl)
            st = (done = lt_dnnl_conv_run(LT_DNNL_CONV_BWD_DATA, &ds, lt_data(gc), lt_data(wc),
                                          NULL, lt_data(gin[0]))) == LT_ERR ? LT_ERR : LT_OK;
        if (st == LT_OK && !done && N > 0)
            st = transposed ? run_batch(&P, RUN_DOWN, N, img, lt_data(wc), lt_data(gin[0]))
                            : run_batch(&P, RUN_UP, N, mat, lt_data(wc), lt_data(gin[0]));
    }
    if (st == LT_OK && nd->next[1]) {
        gin[1] = lt_tensor_new_uninit(w->dtype, 4, w->size);
        int done = 0;
        if (!gin[1]) st = LT_ERR;
        else if (on_dnnl)
            st = (done = lt_dnnl_conv_run(LT_DNNL_CONV_BWD_WEIGHTS, &ds, lt_data(xc), lt_data(gc),
                                          NULL, lt_data(gin[1]))) == LT_ERR ? LT_ERR : LT_OK;
        if (st == LT_OK && !done) st = run_batch(&P, RUN_WGRAD, N, img, mat, lt_data(gin[1]));
    }
    if (st == LT_OK && nd->next[2]) st = bias_grad(&gin[2], gc);
    if (gt) lt_tensor_release(gt);
    if (xt) lt_tensor_release(xt);
    if (wt) lt_tensor_release(wt);
    return st;
}

static int rec_conv(lt_tensor *out, lt_tensor *x, lt_tensor *w, lt_tensor *bias,
                    const lt_conv_params *p, int transposed)
{
    lt_tensor *ins[3] = {x, w, bias};
    if (!lt_needs_grad(3, (const lt_tensor *const *)ins)) return LT_OK;
    lt_node *nd = lt_node_new(transposed ? "ConvTranspose2dBackward" : "Conv2dBackward",
                              conv_backward, 3, ins, 1);
    if (!nd) return LT_ERR;
    params_to_node(nd, p, transposed);
    int st = lt_node_save(nd, x) < 0 || lt_node_save(nd, w) < 0 ? LT_ERR : LT_OK;
    if (st == LT_OK) lt_node_set_output(nd, out, 0);
    lt_node_release(nd);
    return st;
}

int lt_rec_conv2d(lt_tensor *out, lt_tensor *x, lt_tensor *w, lt_tensor *bias,
                  const lt_conv_params *p)
{
    return rec_conv(out, x, w, bias, p, 0);
}

int lt_rec_conv_transpose2d(lt_tensor *out, lt_tensor *x, lt_tensor *w, lt_tensor *bias,
                            const lt_conv_params *p)
{
    return rec_conv(out, x, w, bias, p, 1);
}

/* ---- pooling ---------------------------------------------------------------------------------
 * Planes (n, c) are independent: threads split them. A window along one axis is [lo, hi)
 * (every dilation-th element for max pooling); adaptive windows are PyTorch's
 * [floor(o * H / OH), ceil((o + 1) * H / OH)). Max pooling keeps the argmax as an index into
 * the plane (y * W + x, PyTorch's form), which its backward (shared by the adaptive form)
 * scatters through; a NaN wins (the last one), as in PyTorch, and among equals the first one. */

static inline double ld(const void *p, int64_t i, lt_dtype dt)
{
    return dt == LT_FLOAT32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}

static inline void st(void *p, int64_t i, lt_dtype dt, double v)
{
    if (dt == LT_FLOAT32) ((float *)p)[i] = (float)v;
    else ((double *)p)[i] = v;
}

typedef struct {
    int adaptive;
    int64_t H, W, OH, OW;
    lt_pool_params p;
} pool_spec;

/* window of output o along axis a: [*lo, *hi) clamped to the input, *span before clamping
 * (the divisor of an average that counts padding) */
static void window(const pool_spec *s, int a, int64_t o, int64_t *lo, int64_t *hi,
                   int64_t *span)
{
    int64_t in = a ? s->W : s->H, out = a ? s->OW : s->OH;
    if (s->adaptive) {
        *lo = o * in / out;
        *hi = ((o + 1) * in + out - 1) / out;
        *span = *hi - *lo;
        return;
    }
    int64_t k = s->p.kernel[a], st_ = s->p.stride[a], pad = s->p.padding[a], d = s->p.dilation[a];
    int64_t start = o * st_ - pad, end = start + (k - 1) * d + 1;
    if (end > in + pad) end = in + pad;
    *span = end - start;
    while (start < 0) start += d;
    if (end > in) end = in;
    *lo = start;
    *hi = end;
}

static int64_t pool_out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, int ceil)
{
    int64_t num = in + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0);
    int64_t o = (num < 0 ? -((-num + s - 1) / s) : num / s) + 1;
    if (ceil && (o - 1) * s >= in + p) o--;
    return o;
}

static int pool_setup(const lt_tensor *x, const lt_pool_params *p, int64_t oh, int64_t ow,
                      int adaptive, pool_spec *s, int64_t os[4])
{
    char b1[LT_SHAPE_BUFSZ];
    if (host_float(x, "input")) return LT_ERR;
    if (x->ndim != 4) return lt_error("expected a 4-D input (N x C x H x W), got [%s]", shape(b1, x));
    memset(s, 0, sizeof *s);
    s->adaptive = adaptive;
    s->H = x->size[2];
    s->W = x->size[3];
    if (adaptive) {
        if (oh < 1 || ow < 1)
            return lt_error("output size must be positive, got %lld x %lld", (long long)oh,
                            (long long)ow);
        if (s->H < 1 || s->W < 1) return lt_error("empty input [%s]", shape(b1, x));
        s->OH = oh;
        s->OW = ow;
    } else {
        s->p = *p;
        for (int a = 0; a < 2; a++) {
            if (too_large(a ? s->W : s->H, p->kernel[a], p->stride[a], p->padding[a], p->dilation[a]))
                return lt_error("input [%s] with kernel %lld x %lld gives sizes beyond 2^59",
                                shape(b1, x), (long long)p->kernel[0], (long long)p->kernel[1]);
            if (p->kernel[a] < 1 || p->stride[a] < 1 || p->dilation[a] < 1)
                return lt_error("kernel size, stride and dilation must be positive, got "
                                "kernel %lld x %lld, stride %lld x %lld, dilation %lld x %lld",
                                (long long)p->kernel[0], (long long)p->kernel[1],
                                (long long)p->stride[0], (long long)p->stride[1],
                                (long long)p->dilation[0], (long long)p->dilation[1]);
            if (p->padding[a] < 0 || p->padding[a] > p->kernel[a] / 2)
                return lt_error("padding must be between 0 and half the kernel size, got "
                                "padding %lld x %lld for a %lld x %lld kernel",
                                (long long)p->padding[0], (long long)p->padding[1],
                                (long long)p->kernel[0], (long long)p->kernel[1]);
        }
        s->OH = pool_out_size(s->H, p->kernel[0], p->stride[0], p->padding[0], p->dilation[0], p->ceil_mode);
        s->OW = pool_out_size(s->W, p->kernel[1], p->stride[1], p->padding[1], p->dilation[1], p->ceil_mode);
        if (s->OH < 1 || s->OW < 1)
            return lt_error("input [%s] is smaller than the %lld x %lld kernel (output %lld x %lld)",
                            shape(b1, x), (long long)p->kernel[0], (long long)p->kernel[1],
                            (long long)s->OH, (long long)s->OW);
    }
    os[0] = x->size[0];
    os[1] = x->size[1];
    os[2] = s->OH;
    os[3] = s->OW;
    return LT_OK;
}

/* The windows of every output row and column, computed once per call: w[3 * o + 0, 1, 2] =
 * lo, hi, span; rows first (OH of them), then columns. NULL + error when out of memory. */
static int64_t *pool_windows(const pool_spec *s)
{
    int64_t *w = malloc((size_t)(3 * (s->OH + s->OW)) * sizeof *w);
    if (!w) {
        lt_error("out of memory");
        return NULL;
    }
    for (int64_t o = 0; o < s->OH; o++) window(s, 0, o, &w[3 * o], &w[3 * o + 1], &w[3 * o + 2]);
    int64_t *wx = w + 3 * s->OH;
    for (int64_t o = 0; o < s->OW; o++) window(s, 1, o, &wx[3 * o], &wx[3 * o + 1], &wx[3 * o + 2]);
    return w;
}

/* the common 2x2 window, stride 2, no padding or dilation: every window lies inside the plane */
static int is_pool2x2(const pool_spec *s)
{
    return !s->adaptive && s->p.kernel[0] == 2 && s->p.kernel[1] == 2 && s->p.stride[0] == 2 &&
           s->p.stride[1] == 2 && s->p.padding[0] == 0 && s->p.padding[1] == 0 &&
           s->p.dilation[0] == 1 && s->p.dilation[1] == 1 && 2 * s->OH <= s->H &&
           2 * s->OW <= s->W;
}

#define MAX_STEP(T, v, pos)                                                                    \
    do {                                                                                       \
        int better_ = ((v) > m) | ((v) != (v));                                                \
        T mv_[2] = {m, (v)};                                                                   \
        int64_t mp_[2] = {mi, (pos)};                                                          \
        m = mv_[better_];                                                                      \
        mi = mp_[better_];                                                                     \
    } while (0)

#define DEF_POOL(T)                                                                            \
    static void max_plane2x2_##T(const pool_spec *s, const T *in, T *out, int64_t *idx)       \
    {                                                                                          \
        for (int64_t oy = 0; oy < s->OH; oy++) {                                               \
            const T *r0 = in + 2 * oy * s->W, *r1 = r0 + s->W;                                 \
            for (int64_t ox = 0; ox < s->OW; ox++) {                                           \
                int64_t p0 = 2 * oy * s->W + 2 * ox;                                           \
                T m = r0[2 * ox];                                                              \
                int64_t mi = p0;                                                               \
                MAX_STEP(T, r0[2 * ox + 1], p0 + 1);                                           \
                MAX_STEP(T, r1[2 * ox], p0 + s->W);                                            \
                MAX_STEP(T, r1[2 * ox + 1], p0 + s->W + 1);                                    \
                out[oy * s->OW + ox] = m;                                                      \
                idx[oy * s->OW + ox] = mi;                                                     \
            }                                                                                  \
        }                                                                                      \
    }                                                                                          \
    static void max_plane_##T(const pool_spec *s, const int64_t *wy, const T *in, T *out,      \
                              int64_t *idx)                                                    \
    {                                                                                          \
        if (is_pool2x2(s)) {                                                                   \
            max_plane2x2_##T(s, in, out, idx);                                                 \
            return;                                                                            \
        }                                                                                      \
        const int64_t *wx = wy + 3 * s->OH;                                                    \
        int64_t dh = s->adaptive ? 1 : s->p.dilation[0], dw = s->adaptive ? 1 : s->p.dilation[1]; \
        for (int64_t oy = 0; oy < s->OH; oy++)                                                 \
            for (int64_t ox = 0; ox < s->OW; ox++) {                                           \
                int64_t y0 = wy[3 * oy], y1 = wy[3 * oy + 1], x0 = wx[3 * ox], x1 = wx[3 * ox + 1]; \
                T m = (T)-INFINITY;                                                            \
                int64_t mi = -1;                                                               \
                if (y0 < y1 && x0 < x1) {                                                      \
                    m = in[y0 * s->W + x0];                                                    \
                    mi = y0 * s->W + x0;                                                       \
                }                                                                              \
                /* branch-free (random data defeats prediction); NaN wins, as PyTorch's */     \
                for (int64_t y = y0; y < y1; y += dh)                                          \
                    for (int64_t x = x0; x < x1; x += dw) {                                    \
                        T v = in[y * s->W + x];                                                \
                        MAX_STEP(T, v, y * s->W + x);                                          \
                    }                                                                          \
                out[oy * s->OW + ox] = m;                                                      \
                idx[oy * s->OW + ox] = mi;                                                     \
            }                                                                                  \
    }                                                                                          \
    /* the divisor of output (oy, ox) */                                                       \
    static inline double avg_div_##T(const pool_spec *s, const int64_t *wy, const int64_t *wx) \
    {                                                                                          \
        if (s->adaptive || !s->p.count_include_pad)                                            \
            return (double)((wy[1] - wy[0]) * (wx[1] - wx[0]));                                \
        return (double)(wy[2] * wx[2]);                                                        \
    }                                                                                          \
    static void avg_plane_##T(const pool_spec *s, const int64_t *wy, const T *in, T *out)      \
    {                                                                                          \
        const int64_t *wx = wy + 3 * s->OH;                                                    \
        for (int64_t oy = 0; oy < s->OH; oy++)                                                 \
            for (int64_t ox = 0; ox < s->OW; ox++) {                                           \
                double sum = 0;                                                                \
                for (int64_t y = wy[3 * oy]; y < wy[3 * oy + 1]; y++)                          \
                    for (int64_t x = wx[3 * ox]; x < wx[3 * ox + 1]; x++) sum += in[y * s->W + x]; \
                out[oy * s->OW + ox] = (T)(sum / avg_div_##T(s, wy + 3 * oy, wx + 3 * ox));    \
            }                                                                                  \
    }                                                                                          \
    /* dx (cleared) += each output's gradient spread evenly over its window */                 \
    static void avg_back_plane_##T(const pool_spec *s, const int64_t *wy, const T *g, T *dx)   \
    {                                                                                          \
        const int64_t *wx = wy + 3 * s->OH;                                                    \
        for (int64_t oy = 0; oy < s->OH; oy++)                                                 \
            for (int64_t ox = 0; ox < s->OW; ox++) {                                           \
                T v = (T)(g[oy * s->OW + ox] / avg_div_##T(s, wy + 3 * oy, wx + 3 * ox));      \
                for (int64_t y = wy[3 * oy]; y < wy[3 * oy + 1]; y++)                          \
                    for (int64_t x = wx[3 * ox]; x < wx[3 * ox + 1]; x++) dx[y * s->W + x] += v; \
            }                                                                                  \
    }                                                                                          \
    static void max_back_plane_##T(int64_t osz, const T *g, const int64_t *idx, T *dx)         \
    {                                                                                          \
        for (int64_t o = 0; o < osz; o++)                                                      \
            if (idx[o] >= 0) dx[idx[o]] += g[o];                                               \
    }
DEF_POOL(float)
DEF_POOL(double)

/* The oneDNN shape of a fixed-window float32 pooling (max when `max`), or 0 when it stays here:
 * oneDNN's kernels were 1.5-15x faster than the loops below at LeNet's 2x2 and a ResNet's 3x3
 * (bench/README.md), so it takes every shape it can, except an average over a ceil-mode window
 * that runs past the padding while counting the padding (PyTorch's divisor stops at the padding,
 * oneDNN's would not). */
static int dnnl_pool_shape(lt_dnnl_pool_shape *d, const lt_tensor *x, const pool_spec *s, int max)
{
    if (x->dtype != LT_FLOAT32 || s->adaptive || conv_backend == LT_CONV_IM2COL ||
        !lt_dnnl_conv_available() || lt_numel(x) == 0 || s->OH * s->OW == 0)
        return 0;
    const lt_pool_params *p = &s->p;
    int64_t pr[2], in[2] = {s->H, s->W}, on[2] = {s->OH, s->OW};
    for (int a = 0; a < 2; a++) {
        int64_t need = (on[a] - 1) * p->stride[a] + (p->kernel[a] - 1) * p->dilation[a] + 1 -
                       in[a] - p->padding[a];
        pr[a] = need > p->padding[a] ? need : p->padding[a];
        if (!max && p->count_include_pad && pr[a] > p->padding[a]) return 0;
        if (!max && p->dilation[a] != 1) return 0;
    }
    *d = (lt_dnnl_pool_shape){x->size[0], x->size[1], s->H, s->W, s->OH, s->OW,
                              p->kernel[0], p->kernel[1], p->stride[0], p->stride[1],
                              p->padding[0], p->padding[1], pr[0], pr[1], p->dilation[0],
                              p->dilation[1], max ? 0 : !p->count_include_pad};
    return 1;
}

/* whether a float32 buffer holds a NaN (max pooling's NaN rule is PyTorch's: such inputs stay here) */
static int has_nan(const float *v, int64_t n)
{
    int any = 0;
    LT_SIMD for (int64_t i = 0; i < n; i++) any |= v[i] != v[i];
    return any;
}

/* The planes of a pooling (forward or backward) split over the pool. */
typedef struct {
    const pool_spec *s;
    const int64_t *w;     /* the windows (pool_windows) */
    const void *in;       /* (planes, isz) input, or (planes, osz) output gradient */
    void *o;              /* (planes, osz) output, or (planes, isz) input gradient */
    int64_t *ix;          /* (planes, osz) argmax indices or NULL */
    int64_t isz, osz;
    int f32;
} plane_job;

static void max_planes(void *p, int64_t p0, int64_t p1)
{
    const plane_job *j = p;
    int64_t isz = j->isz, osz = j->osz;
    for (int64_t pl = p0; pl < p1; pl++)
        if (j->f32)
            max_plane_float(j->s, j->w, (const float *)j->in + pl * isz, (float *)j->o + pl * osz,
                            j->ix + pl * osz);
        else
            max_plane_double(j->s, j->w, (const double *)j->in + pl * isz,
                             (double *)j->o + pl * osz, j->ix + pl * osz);
}

static void avg_planes(void *p, int64_t p0, int64_t p1)
{
    const plane_job *j = p;
    int64_t isz = j->isz, osz = j->osz;
    for (int64_t pl = p0; pl < p1; pl++)
        if (j->f32)
            avg_plane_float(j->s, j->w, (const float *)j->in + pl * isz, (float *)j->o + pl * osz);
        else
            avg_plane_double(j->s, j->w, (const double *)j->in + pl * isz,
                             (double *)j->o + pl * osz);
}

static void max_back_planes(void *p, int64_t p0, int64_t p1)
{
    const plane_job *j = p;
    int64_t isz = j->isz, osz = j->osz;
    for (int64_t pl = p0; pl < p1; pl++)
        if (j->f32)
            max_back_plane_float(osz, (const float *)j->in + pl * osz, j->ix + pl * osz,
                                 (float *)j->o + pl * isz);
        else
            max_back_plane_double(osz, (const double *)j->in + pl * osz, j->ix + pl * osz,
                                  (double *)j->o + pl * isz);
}

static void avg_back_planes(void *p, int64_t p0, int64_t p1)
{
    const plane_job *j = p;
    int64_t isz = j->isz, osz = j->osz;
    for (int64_t pl = p0; pl < p1; pl++)
        if (j->f32)
            avg_back_plane_float(j->s, j->w, (const float *)j->in + pl * osz,
                                 (float *)j->o + pl * isz);
        else
            avg_back_plane_double(j->s, j->w, (const double *)j->in + pl * osz,
                                  (double *)j->o + pl * isz);
}

/* out (and indices when max) over every plane of x */
static int pool_forward(lt_tensor *out, lt_tensor *indices, const lt_tensor *x,
                        const pool_spec *s, const int64_t os[4])
{
    lt_tensor *xt;
    const lt_tensor *xc = contig(x, &xt);
    lt_dnnl_pool_shape ds;
    if (xc && dnnl_pool_shape(&ds, x, s, indices != NULL) &&
        !(indices && has_nan(lt_data(xc), lt_numel(xc)))) {
        int r = lt_resize(out, 4, os);
        if (r == LT_OK && indices) r = lt_resize(indices, 4, os);
        if (r == LT_OK)
            r = indices ? lt_dnnl_max_pool(&ds, lt_data(xc), lt_data(out), lt_data(indices))
                        : lt_dnnl_avg_pool(&ds, lt_data(xc), lt_data(out));
        if (r != 0) {               /* done (1) or an error; 0: oneDNN refused, run below */
            if (r == 1) {
                lt_storage_bump(out);
                if (indices) lt_storage_bump(indices);
            }
            if (xt) lt_tensor_release(xt);
            return r == 1 ? LT_OK : LT_ERR;
        }
    }
    int64_t *w = xc ? pool_windows(s) : NULL;
    int r = w ? lt_resize(out, 4, os) : LT_ERR;
    if (r == LT_OK && indices) r = lt_resize(indices, 4, os);
    if (r == LT_OK) {
        int64_t planes = os[0] * os[1], isz = s->H * s->W, osz = s->OH * s->OW;
        int f32 = x->dtype == LT_FLOAT32;
        const void *in = lt_data(xc);
        void *o = lt_data(out);
        int64_t *ix = indices ? lt_data(indices) : NULL;
        plane_job j = {s, w, in, o, ix, isz, osz, f32};
        lt_parallel_range(chunks_for(planes, (double)isz, (double)(isz + osz) * 4), planes,
                          indices ? max_planes : avg_planes, &j);
        lt_storage_bump(out);
    }
    free(w);
    if (xt) lt_tensor_release(xt);
    return r;
}

int lt_max_pool2d(lt_tensor *out, lt_tensor *indices, const lt_tensor *x, const lt_pool_params *p)
{
    pool_spec s;
    int64_t os[4];
    if (pool_setup(x, p, 0, 0, 0, &s, os)) return LT_ERR;
    if (indices->dtype != LT_INT64) return lt_error("indices must be a LongTensor");
    return pool_forward(out, indices, x, &s, os);
}

int lt_avg_pool2d(lt_tensor *out, const lt_tensor *x, const lt_pool_params *p)
{
    pool_spec s;
    int64_t os[4];
    if (pool_setup(x, p, 0, 0, 0, &s, os)) return LT_ERR;
    return pool_forward(out, NULL, x, &s, os);
}

int lt_adaptive_max_pool2d(lt_tensor *out, lt_tensor *indices, const lt_tensor *x, int64_t oh,
                           int64_t ow)
{
    pool_spec s;
    int64_t os[4];
    if (pool_setup(x, NULL, oh, ow, 1, &s, os)) return LT_ERR;
    if (indices->dtype != LT_INT64) return lt_error("indices must be a LongTensor");
    return pool_forward(out, indices, x, &s, os);
}

int lt_adaptive_avg_pool2d(lt_tensor *out, const lt_tensor *x, int64_t oh, int64_t ow)
{
    pool_spec s;
    int64_t os[4];
    if (pool_setup(x, NULL, oh, ow, 1, &s, os)) return LT_ERR;
    return pool_forward(out, NULL, x, &s, os);
}

/* max pooling (fixed or adaptive): inputs (x); saved indices at 0; the gradient of each
 * output goes to its argmax */
static int max_pool_backward(lt_node *nd, lt_tensor *const *gout, lt_tensor **gin)
{
    lt_tensor *idx = lt_node_saved(nd, 0);
    if (!idx) return LT_ERR;
    lt_tensor *gt;
    const lt_tensor *g = contig(gout[0], &gt);
    if (!g) return LT_ERR;
    gin[0] = lt_tensor_new(nd->in_dtype[0], 4, nd->in_size[0]);
    if (!gin[0]) {
        if (gt) lt_tensor_release(gt);
        return LT_ERR;
    }
    int64_t planes = g->size[0] * g->size[1], osz = g->size[2] * g->size[3];
    int64_t isz = nd->in_size[0][2] * nd->in_size[0][3];
    int f32 = g->dtype == LT_FLOAT32;
    const void *gp = lt_data(g);
    void *dp = lt_data(gin[0]);
    const int64_t *ix = lt_data(idx);
    plane_job j = {NULL, NULL, gp, dp, (int64_t *)(uintptr_t)ix, isz, osz, f32};
    lt_parallel_range(chunks_for(planes, (double)osz, (double)(isz + 3 * osz) * 4), planes,
                      max_back_planes, &j);
    if (gt) lt_tensor_release(gt);
    return LT_OK;
}

int lt_rec_max_pool2d(lt_tensor *out, lt_tensor *x, lt_tensor *indices)
{
    if (!lt_needs_grad(1, (const lt_tensor *const *)&x)) return LT_OK;
    lt_node *nd = lt_node_new("MaxPool2dBackward", max_pool_backward, 1, &x, 1);
    if (!nd) return LT_ERR;
    int r = lt_node_save(nd, indices) < 0 ? LT_ERR : LT_OK;
    if (r == LT_OK) lt_node_set_output(nd, out, 0);
    lt_node_release(nd);
    return r;
}

/* average pooling: inputs (x); i[0..10]: kernel, stride, padding, dilation (2 each),
 * ceil_mode, count_include_pad, adaptive; the output size comes from the gradient */
static int avg_pool_backward(lt_node *nd, lt_tensor *const *gout, lt_tensor **gin)
{
    lt_tensor *gt;
    const lt_tensor *g = contig(gout[0], &gt);
    if (!g) return LT_ERR;
    pool_spec s;
    memset(&s, 0, sizeof s);
    for (int a = 0; a < 2; a++) {
        s.p.kernel[a] = nd->i[a];
        s.p.stride[a] = nd->i[2 + a];
        s.p.padding[a] = nd->i[4 + a];
        s.p.dilation[a] = nd->i[6 + a];
    }
    s.p.ceil_mode = (int)nd->i[8];
    s.p.count_include_pad = (int)nd->i[9];
    s.adaptive = (int)nd->i[10];
    s.H = nd->in_size[0][2];
    s.W = nd->in_size[0][3];
    s.OH = g->size[2];
    s.OW = g->size[3];
    gin[0] = lt_tensor_new(nd->in_dtype[0], 4, nd->in_size[0]);
    if (!gin[0]) {
        if (gt) lt_tensor_release(gt);
        return LT_ERR;
    }
    lt_dnnl_pool_shape ds;
    if (dnnl_pool_shape(&ds, gin[0], &s, 0)) {
        int r = lt_dnnl_avg_pool_backward(&ds, lt_data(g), lt_data(gin[0]));
        if (r != 0) {
            if (gt) lt_tensor_release(gt);
            return r == 1 ? LT_OK : LT_ERR;
        }
    }
    int64_t planes = g->size[0] * g->size[1], osz = s.OH * s.OW, isz = s.H * s.W;
    int64_t *w = pool_windows(&s);
    if (!w) {
        if (gt) lt_tensor_release(gt);
        return LT_ERR;
    }
    int f32 = g->dtype == LT_FLOAT32;
    const void *gp = lt_data(g);
    void *dp = lt_data(gin[0]);
    plane_job j = {&s, w, gp, dp, NULL, isz, osz, f32};
    lt_parallel_range(chunks_for(planes, (double)isz, (double)(isz + osz) * 4), planes,
                      avg_back_planes, &j);
    free(w);
    if (gt) lt_tensor_release(gt);
    return LT_OK;
}

int lt_rec_avg_pool2d(lt_tensor *out, lt_tensor *x, const lt_pool_params *p, int adaptive)
{
    if (!lt_needs_grad(1, (const lt_tensor *const *)&x)) return LT_OK;
    lt_node *nd = lt_node_new(adaptive ? "AdaptiveAvgPool2dBackward" : "AvgPool2dBackward",
                              avg_pool_backward, 1, &x, 1);
    if (!nd) return LT_ERR;
    memset(nd->i, 0, 11 * sizeof nd->i[0]);
    if (!adaptive)
        for (int a = 0; a < 2; a++) {
            nd->i[a] = p->kernel[a];
            nd->i[2 + a] = p->stride[a];
            nd->i[4 + a] = p->padding[a];
            nd->i[6 + a] = p->dilation[a];
        }
    if (!adaptive) {
        nd->i[8] = p->ceil_mode;
        nd->i[9] = p->count_include_pad;
    }
    nd->i[10] = adaptive;
    lt_node_set_output(nd, out, 0);
    lt_node_release(nd);
    return LT_OK;
}

/* ---- batch normalisation ---------------------------------------------------------------------
 * x is N x C or N x C x (any), seen as N x C x S; statistics per channel over N * S values, in
 * double, two passes (mean, then the centred sum of squares). Channels split across threads. */

static int bn_view(const lt_tensor *x, int64_t *N, int64_t *C, int64_t *S)
{
    char b1[LT_SHAPE_BUFSZ];
    if (x->ndim < 2) return lt_error("expected an input of N x C or N x C x ..., got [%s]", shape(b1, x));
    *N = x->size[0];
    *C = x->size[1];
    *S = 1;
    for (int d = 2; d < x->ndim; d++) *S *= x->size[d];
    return LT_OK;
}

static int bn_vec(const lt_tensor *t, const lt_tensor *x, int64_t C, const char *what)
{
    char b1[LT_SHAPE_BUFSZ];
    if (!t) return LT_OK;
    if (host_float(t, what) || same_dtype(x, t, what)) return LT_ERR;
    if (t->ndim != 1 || t->size[0] != C)
        return lt_error("%s must have %lld elements (one per channel), got [%s]", what,
                        (long long)C, shape(b1, t));
    return LT_OK;
}

/* One plane (S contiguous values of one sample and channel), in double, the sums in SIMD
 * lanes: typed loops, where a load through ld() per element ran batch norm at half PyTorch's
 * speed. */
#define DEF_BN_PLANE(T)                                                                        \
    static double bn_sum_##T(const T *p, int64_t S)                                            \
    {                                                                                          \
        double s = 0;                                                                          \
        _Pragma("omp simd reduction(+:s)")                                                     \
        for (int64_t k = 0; k < S; k++) s += (double)p[k];                                     \
        return s;                                                                              \
    }                                                                                          \
    /* the sum of (p - mean)^2 */                                                              \
    static double bn_ss_##T(const T *p, int64_t S, double mean)                                \
    {                                                                                          \
        double s = 0;                                                                          \
        _Pragma("omp simd reduction(+:s)")                                                     \
        for (int64_t k = 0; k < S; k++) {                                                      \
            double d = (double)p[k] - mean;                                                    \
            s += d * d;                                                                        \
        }                                                                                      \
        return s;                                                                              \
    }                                                                                          \
    static void bn_affine_##T(T *o, const T *p, int64_t S, double scale, double shift)         \
    {                                                                                          \
        LT_SIMD for (int64_t k = 0; k < S; k++) o[k] = (T)((double)p[k] * scale + shift);      \
    }                                                                                          \
    /* *sg += sum g, *sgx += sum g * (x - mean) */                                             \
    static void bn_gsums_##T(const T *g, const T *x, int64_t S, double mean, double *sg,       \
                             double *sgx)                                                      \
    {                                                                                          \
        double a = 0, b = 0;                                                                   \
        _Pragma("omp simd reduction(+:a, b)")                                                  \
        for (int64_t k = 0; k < S; k++) {                                                      \
            double gv = (double)g[k];                                                          \
            a += gv;                                                                           \
            b += gv * ((double)x[k] - mean);                                                   \
        }                                                                                      \
        *sg += a;                                                                              \
        *sgx += b;                                                                             \
    }                                                                                          \
    /* dx = scale * (g - (sg + xhat * dwc) / M), xhat = (x - mean) * invstd; or scale * g */   \
    static void bn_dx_##T(T *dx, const T *g, const T *x, int64_t S, int training, double mean, \
                          double invstd, double sg, double dwc, double M, double scale)        \
    {                                                                                          \
        if (training)                                                                          \
            LT_SIMD for (int64_t k = 0; k < S; k++) {                                          \
                double xhat = ((double)x[k] - mean) * invstd;                                  \
                dx[k] = (T)(scale * ((double)g[k] - (sg + xhat * dwc) / M));                   \
            }                                                                                  \
        else                                                                                   \
            LT_SIMD for (int64_t k = 0; k < S; k++) dx[k] = (T)(scale * (double)g[k]);         \
    }
DEF_BN_PLANE(float)
DEF_BN_PLANE(double)

/* the byte offset of plane (n, c) of an (N, C, S) tensor of dtype dt */
static inline int64_t bn_off(lt_dtype dt, int64_t n, int64_t c, int64_t C, int64_t S)
{
    return (n * C + c) * S * (int64_t)lt_dtype_size(dt);
}

/* Batch norm's channels split over the pool (one channel's statistics on one thread). */
typedef struct {
    lt_dtype dt;
    int64_t N, C, S, M;
    int training;
    double momentum, eps;
    const void *xp;       /* (N, C, S) input */
    void *op, *mp, *ip;   /* (N, C, S) output, (C) saved mean and inverse std */
    const lt_tensor *w, *b, *running_mean, *running_var;
} bn_fwd_job;

static void bn_fwd_channels(void *p, int64_t c0, int64_t c1)
{
    const bn_fwd_job *j = p;
    lt_dtype dt = j->dt;
    int64_t N = j->N, C = j->C, S = j->S, M = j->M;
    int training = j->training;
    double momentum = j->momentum, eps = j->eps;
    const void *xp = j->xp;
    void *op = j->op, *mp = j->mp, *ip = j->ip;
    const lt_tensor *w = j->w, *b = j->b, *running_mean = j->running_mean,
                    *running_var = j->running_var;
    for (int64_t c = c0; c < c1; c++) {
        double mean, var;
        if (training) {
            double s = 0, ss = 0;
            for (int64_t n = 0; n < N; n++) {
                const void *pl = (const char *)xp + bn_off(dt, n, c, C, S);
                s += dt == LT_FLOAT32 ? bn_sum_float(pl, S) : bn_sum_double(pl, S);
            }
            mean = s / (double)M;
            for (int64_t n = 0; n < N; n++) {
                const void *pl = (const char *)xp + bn_off(dt, n, c, C, S);
                ss += dt == LT_FLOAT32 ? bn_ss_float(pl, S, mean) : bn_ss_double(pl, S, mean);
            }
            var = ss / (double)M;
            if (running_mean) {  /* PyTorch's: the running variance is the unbiased one */
                void *rm = lt_data(running_mean), *rv = lt_data(running_var);
                st(rm, c, dt, (1 - momentum) * ld(rm, c, dt) + momentum * mean);
                st(rv, c, dt, (1 - momentum) * ld(rv, c, dt) +
                                  momentum * ss / (double)(M - 1));
            }
        } else {
            mean = ld(lt_data(running_mean), c, dt);
            var = ld(lt_data(running_var), c, dt);
        }
        double invstd = 1 / sqrt(var + eps);
        double scale = w ? ld(lt_data(w), c * w->stride[0], dt) * invstd : invstd;
        double shift = (b ? ld(lt_data(b), c * b->stride[0], dt) : 0) - mean * scale;
        st(mp, c, dt, mean);
        st(ip, c, dt, invstd);
        for (int64_t n = 0; n < N; n++) {
            int64_t off = bn_off(dt, n, c, C, S);
            const void *pl = (const char *)xp + off;
            void *o = (char *)op + off;
            if (dt == LT_FLOAT32) bn_affine_float(o, pl, S, scale, shift);
            else bn_affine_double(o, pl, S, scale, shift);
        }
    }
}

int lt_batch_norm(lt_tensor *out, lt_tensor *save_mean, lt_tensor *save_invstd,
                  const lt_tensor *x, const lt_tensor *w, const lt_tensor *b,
                  lt_tensor *running_mean, lt_tensor *running_var, int training,
                  double momentum, double eps)
{
    char b1[LT_SHAPE_BUFSZ];
    int64_t N, C, S;
    if (host_float(x, "input") || bn_view(x, &N, &C, &S) || bn_vec(w, x, C, "weight") ||
        bn_vec(b, x, C, "bias") || bn_vec(running_mean, x, C, "running mean") ||
        bn_vec(running_var, x, C, "running variance"))
        return LT_ERR;
    if ((running_mean == NULL) != (running_var == NULL))
        return lt_error("running mean and variance go together");
    if (!training && !running_mean)
        return lt_error("evaluation needs the running statistics");
    if (running_mean && (!lt_is_contiguous(running_mean) || !lt_is_contiguous(running_var)))
        return lt_error("running statistics must be contiguous");
    int64_t M = N * S;
    if (training && M <= 1)
        return lt_error("expected more than 1 value per channel when training, got input [%s]",
                        shape(b1, x));
    if (eps < 0 || !isfinite(eps)) return lt_error("eps must be a non-negative number, got %g", eps);
    lt_tensor *xt;
    const lt_tensor *xc = contig(x, &xt);
    int r = xc ? lt_resize(out, x->ndim, x->size) : LT_ERR;
    if (r == LT_OK) r = lt_resize(save_mean, 1, &C);
    if (r == LT_OK) r = lt_resize(save_invstd, 1, &C);
    if (r == LT_OK) {
        lt_dtype dt = x->dtype;
        const void *xp = lt_data(xc);
        void *op = lt_data(out), *mp = lt_data(save_mean), *ip = lt_data(save_invstd);
        bn_fwd_job job = {dt, N, C, S, M, training, momentum, eps, xp, op, mp, ip,
                          w, b, running_mean, running_var};
        lt_parallel_range(chunks_for(C, 8.0 * (double)M, 12.0 * (double)M), C, bn_fwd_channels, &job);
        lt_storage_bump(out);
        if (training && running_mean) {
            lt_storage_bump(running_mean);
            lt_storage_bump(running_var);
        }
    }
    if (xt) lt_tensor_release(xt);
    return r;
}

typedef struct {
    lt_dtype dt;
    int64_t N, C, S;
    double M;
    int training;
    const void *xp, *gp;  /* (N, C, S) input and output gradient */
    void *dx;             /* (N, C, S) input gradient or NULL */
    lt_tensor **gin;      /* gin[1], gin[2]: (C) weight and bias gradients or NULL */
    const lt_tensor *w, *mt, *it;
} bn_bwd_job;

static void bn_bwd_channels(void *p, int64_t c0, int64_t c1)
{
    const bn_bwd_job *j = p;
    lt_dtype dt = j->dt;
    int64_t N = j->N, C = j->C, S = j->S;
    double M = j->M;
    int training = j->training;
    const void *xp = j->xp, *gp = j->gp;
    void *dx = j->dx;
    lt_tensor **gin = j->gin;
    const lt_tensor *w = j->w, *mt = j->mt, *it = j->it;
    for (int64_t c = c0; c < c1; c++) {
        double mean = ld(lt_data(mt), c, dt), invstd = ld(lt_data(it), c, dt);
        double sg = 0, sgx = 0;
        for (int64_t n = 0; n < N; n++) {
            int64_t off = bn_off(dt, n, c, C, S);
            const void *gl = (const char *)gp + off, *xl = (const char *)xp + off;
            if (dt == LT_FLOAT32) bn_gsums_float(gl, xl, S, mean, &sg, &sgx);
            else bn_gsums_double(gl, xl, S, mean, &sg, &sgx);
        }
        double dwc = sgx * invstd;
        if (gin[1]) st(lt_data(gin[1]), c, dt, dwc);
        if (gin[2]) st(lt_data(gin[2]), c, dt, sg);
        if (!dx) continue;
        double scale = (w ? ld(lt_data(w), c * w->stride[0], dt) : 1) * invstd;
        for (int64_t n = 0; n < N; n++) {
            int64_t off = bn_off(dt, n, c, C, S);
            const void *gl = (const char *)gp + off, *xl = (const char *)xp + off;
            void *dl = (char *)dx + off;
            if (dt == LT_FLOAT32)
                bn_dx_float(dl, gl, xl, S, training, mean, invstd, sg, dwc, M, scale);
            else
                bn_dx_double(dl, gl, xl, S, training, mean, invstd, sg, dwc, M, scale);
        }
    }
}

/* inputs (x, w, b); saved x 0, mean 1, invstd 2, w 3 (when given); i[0] training.
 * With xhat = (x - mean) * invstd: db = sum g, dw = sum g * xhat, and dx = w * invstd * (g -
 * (db + xhat * dw) / M) in training (the statistics depend on x), w * invstd * g otherwise. */
static int bn_backward(lt_node *nd, lt_tensor *const *gout, lt_tensor **gin)
{
    lt_tensor *x = lt_node_saved(nd, 0), *mt = x ? lt_node_saved(nd, 1) : NULL;
    lt_tensor *it = mt ? lt_node_saved(nd, 2) : NULL, *w = NULL;
    if (!it) return LT_ERR;
    if (nd->nsaved > 3 && !(w = lt_node_saved(nd, 3))) return LT_ERR;
    lt_tensor *xt, *gt;
    const lt_tensor *xc = contig(x, &xt), *g = xc ? contig(gout[0], &gt) : NULL;
    if (!g) {
        if (xt) lt_tensor_release(xt);
        return LT_ERR;
    }
    int64_t N, C, S;
    bn_view(x, &N, &C, &S);
    int training = (int)nd->i[0], r = LT_OK;
    lt_dtype dt = x->dtype;
    if (nd->next[0] && !(gin[0] = lt_tensor_new_uninit(dt, x->ndim, x->size))) r = LT_ERR;
    if (r == LT_OK && nd->next[1] && !(gin[1] = lt_tensor_new_uninit(dt, 1, &C))) r = LT_ERR;
    if (r == LT_OK && nd->next[2] && !(gin[2] = lt_tensor_new_uninit(dt, 1, &C))) r = LT_ERR;
    if (r == LT_OK) {
        const void *xp = lt_data(xc), *gp = lt_data(g);
        void *dx = gin[0] ? lt_data(gin[0]) : NULL;
        double M = (double)(N * S);
        bn_bwd_job job = {dt, N, C, S, M, training, xp, gp, dx, gin, w, mt, it};
        lt_parallel_range(chunks_for(C, 10.0 * M, 16.0 * M), C, bn_bwd_channels, &job);
    }
    if (xt) lt_tensor_release(xt);
    if (gt) lt_tensor_release(gt);
    return r;
}

int lt_rec_batch_norm(lt_tensor *out, lt_tensor *x, lt_tensor *w, lt_tensor *b,
                      lt_tensor *save_mean, lt_tensor *save_invstd, int training)
{
    lt_tensor *ins[3] = {x, w, b};
    if (!lt_needs_grad(3, (const lt_tensor *const *)ins)) return LT_OK;
    lt_node *nd = lt_node_new("BatchNormBackward", bn_backward, 3, ins, 1);
    if (!nd) return LT_ERR;
    nd->i[0] = training;
    int r = lt_node_save(nd, x) < 0 || lt_node_save(nd, save_mean) < 0 ||
            lt_node_save(nd, save_invstd) < 0 || (w && lt_node_save(nd, w) < 0) ? LT_ERR : LT_OK;
    if (r == LT_OK) lt_node_set_output(nd, out, 0);
    lt_node_release(nd);
    return r;
}
