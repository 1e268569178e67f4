/*
 * reduce.cu — reductions on device tensors, the twins of core/reduce.c: sum / mean / prod /
 * max / min over everything or along a dim, max / min with indices, variance, p-norms,
 * cumulative sum and product, stable sort and topk; and the line kernels of the reductions'
 * backward passes (core/grad_reduce.c: prod, cumsum, cumprod, norm).
 *
 * Semantics are the CPU's: float32 / float64 accumulate in double, integers in int64 with
 * wrap-around (through uint64); max / min propagate NaN (a NaN wins, the first NaN's index);
 * ties keep the first index. Every kernel is thread-independent and deterministic:
 *   - a full reduction is two passes: P per-thread partials (thread t takes the elements
 *     t, t + P, ...) into a device temporary, then combining passes of G partials per thread
 *     (ping-pong buffers) until one value is left, copied to the host;
 *   - a dim reduction, max / min with indices, cumsum / cumprod, sort and the backward line
 *     kernels give one output slice to one thread, which walks the slice in order; a few long
 *     slices of a dim reduction or max / min are cut into chunks (partials, then combined in
 *     order per output), and long lines sort by parallel merge passes (one thread per
 *     element), which give the CPU's stable order.
 * The core calls these after its own argument checks (LT_GPU_ROUTE), so the error messages
 * are the CPU's; the twins only do what is specific to the device.
 */
#include "gpu_internal.h"

extern "C" {
#include "../core/norm_grad.h"
#include "../core/reduce_kinds.h"
}

/* What a kernel accumulates and the last step of a dim reduction: core/reduce_kinds.h (the
 * kernels take them as ints) */

/* Partials of a full reduction: at most this many threads in the first pass. */
#define RD_PARTS 32768
/* Partials combined by one thread in each later pass. */
#define RD_GROUP 256

/* ---- steps ------------------------------------------------------------------------------ */

LT_HD double f_init(int k)
{
    if (k == K_PROD) return 1.0;
    if (k == K_MAX) return -INFINITY;
    return (k == K_MIN || k == K_AMIN) ? INFINITY : 0.0;
}

LT_HD int64_t i_init(int k)
{
    return k == K_PROD ? 1 : k == K_MAX ? INT64_MIN : k == K_MIN ? INT64_MAX : 0;
}

/* One accumulation step (core/reduce.c's ST_*): max / min keep a NaN once seen. */
LT_HD double f_step(int k, double a, double v, double p)
{
    double w;
    switch (k) {
    case K_SUM: return a + v;
    case K_PROD: return a * v;
    case K_MAX: return ((v > a) | (v != v)) ? v : a;
    case K_MIN: return ((v < a) | (v != v)) ? v : a;
    case K_ASUM: return a + fabs(v);
    case K_SSQ: return a + v * v;
    case K_PSUM: return a + pow(fabs(v), p);
    case K_AMAX: w = fabs(v); return ((w > a) | (w != w)) ? w : a;
    case K_AMIN: w = fabs(v); return ((w < a) | (w != w)) ? w : a;
    case K_NNZ: return a + (v != 0);
    default: w = v - p; return a + w * w;   /* K_SQDEV */
    }
}

/* Two partials of one kernel (core/reduce.c's acc_combine). */
LT_HD double f_comb(int k, double a, double b)
{
    switch (k) {
    case K_PROD: return a * b;
    case K_MAX: case K_AMAX: return (b > a || b != b) ? (a != a ? a : b) : a;
    case K_MIN: case K_AMIN: return (b < a || b != b) ? (a != a ? a : b) : a;
    default: return a + b;
    }
}

LT_HD int64_t i_step(int k, int64_t a, int64_t v)
{
    switch (k) {
    case K_PROD: return (int64_t)((uint64_t)a * (uint64_t)v);
    case K_MAX: return v > a ? v : a;
    case K_MIN: return v < a ? v : a;
    default: return (int64_t)((uint64_t)a + (uint64_t)v);
    }
}

LT_HD double finalize(int fin, double v, int64_t R, double p, int unbiased)
{
    switch (fin) {
    case F_MEAN: return v / (double)R;
    case F_SQRT: return sqrt(v);
    case F_ROOT: return pow(v, 1.0 / p);
    case F_VAR: {
        double d = (double)(R - unbiased);
        return d > 0 ? v / d : NAN;
    }
    default: return v;
    }
}

/* ---- helpers ------------------------------------------------------------------------------ */

/* A device temporary of n elements of dt (NULL + error on failure). */
static lt_tensor *temp(int dev, lt_dtype dt, int64_t n)
{
    return lt_tensor_uninit_on(dev, dt, 1, &n);
}

/* Views for "one slice per output": o (already shaped like the result; with the reduced dim
 * dropped when !keepdim) gets the dim back with size 1, a gets size 1 at dim. *R and *rs are
 * the slice's length and stride. */
static void slice_views(const lt_tensor *o, const lt_tensor *a, int dim, int keepdim,
                        lt_tensor *ov, lt_tensor *av, int64_t *R, int64_t *rs)
{
    *av = lt_as_1d(a);
    *ov = lt_as_1d(o);
    if (!keepdim && a->ndim > 0) lt_unsqueeze(ov, dim);
    *R = av->size[dim];
    *rs = av->stride[dim];
    av->size[dim] = 1;
}

/* Output shape of a reduction of a along dim (core/reduce.c's out_shape). */
static int out_shape(const lt_tensor *a, int dim, int keepdim, int64_t *size)
{
    int n = 0;
    for (int i = 0; i < a->ndim; i++) {
        if (i != dim) size[n++] = a->size[i];
        else if (keepdim) size[n++] = 1;
    }
    return n;
}

/* ---- full reductions ---------------------------------------------------------------------- */

/* The offset of flat position i of a one-operand iteration: a multiplication when the dims
 * merged into one (contiguous or evenly strided input), no 64-bit divisions. */
__device__ __forceinline__ int64_t offset1(const lt_gpu_ix &ix, int64_t i)
{
    if (ix.ndim == 1) return i * ix.stride[0][0];
    int64_t off[1] = {0};
    lt_gpu_offsets(ix, i, off);
    return off[0];
}

template <typename T>
__global__ void all_f_kernel(lt_gpu_ix ix, const T *x, int64_t n, int64_t P, int k, double p,
                             double *part)
{
    int64_t t = LT_GPU_TID();
    if (t >= P) return;
    double a = f_init(k);
    for (int64_t i = t; i < n; i += P) a = f_step(k, a, (double)x[offset1(ix, i)], p);
    part[t] = a;
}

template <typename T>
__global__ void all_i_kernel(lt_gpu_ix ix, const T *x, int64_t n, int64_t P, int k, int64_t *part)
{
    int64_t t = LT_GPU_TID();
    if (t >= P) return;
    int64_t a = i_init(k);
    for (int64_t i = t; i < n; i += P) a = i_step(k, a, (int64_t)x[offset1(ix, i)]);
    part[t] = a;
}

/* out[j] = the in-order combination of in[j*G .. min((j+1)*G, m)) */
__global__ void comb_f_kernel(const double *in, int64_t m, int64_t G, int k, double *out,
                              int64_t mo)
{
    int64_t j = LT_GPU_TID();
    if (j >= mo) return;
    int64_t e = (j + 1) * G < m ? (j + 1) * G : m;
    double a = in[j * G];
    for (int64_t q = j * G + 1; q < e; q++) a = f_comb(k, a, in[q]);
    out[j] = a;
}

__global__ void comb_i_kernel(const int64_t *in, int64_t m, int64_t G, int k, int64_t *out,
                              int64_t mo)
{
    int64_t j = LT_GPU_TID();
    if (j >= mo) return;
    int64_t e = (j + 1) * G < m ? (j + 1) * G : m;
    int64_t a = in[j * G];
    for (int64_t q = j * G + 1; q < e; q++) a = i_step(k, a, in[q]);
    out[j] = a;
}

/* The k-reduction of every element of a: *fres (floating dtypes) or *ires (integers). */
static int reduce_all_k(double *fres, int64_t *ires, int k, const lt_tensor *a, double p)
{
    int fl = lt_dtype_is_float(a->dtype);
    int64_t n = lt_numel(a);
    if (fl) *fres = f_init(k);
    else *ires = i_init(k);
    if (n == 0) return LT_OK;
    lt_iter it;
    const lt_tensor *ops[1] = {a};
    if (lt_iter_init_any(&it, 1, ops)) return LT_ERR;
    lt_gpu_ix ix = lt_gpu_ix_of(&it);
    int64_t P = n < RD_PARTS ? n : RD_PARTS;
    int64_t m2 = (P + RD_GROUP - 1) / RD_GROUP;
    lt_tensor *buf = temp(lt_device(a), fl ? LT_FLOAT64 : LT_INT64, P + m2);
    if (!buf) return LT_ERR;
    int st = LT_OK;
    char *base = (char *)lt_data(buf);
    void *cur = base, *nxt = base + P * 8;
    unsigned g = lt_gpu_blocks(P);
    switch (a->dtype) {
    case LT_FLOAT32:
        LT_LAUNCH(all_f_kernel<float>, g, LT_GPU_THREADS, ix, (const float *)it.data[0], n, P, k, p,
                  (double *)cur);
        break;
    case LT_FLOAT64:
        LT_LAUNCH(all_f_kernel<double>, g, LT_GPU_THREADS, ix, (const double *)it.data[0], n, P, k,
                  p, (double *)cur);
        break;
    case LT_INT64:
        LT_LAUNCH(all_i_kernel<int64_t>, g, LT_GPU_THREADS, ix, (const int64_t *)it.data[0], n, P,
                  k, (int64_t *)cur);
        break;
    default:
        LT_LAUNCH(all_i_kernel<uint8_t>, g, LT_GPU_THREADS, ix, (const uint8_t *)it.data[0], n, P,
                  k, (int64_t *)cur);
        break;
    }
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) st = lt_gpu_fail("reduce_all_kernel", e);
    /* m partials in cur -> ceil(m / G) in nxt; the second buffer never needs more than m2 */
    int64_t m = P;
    while (st == LT_OK && m > 1) {
        int64_t mo = (m + RD_GROUP - 1) / RD_GROUP;
        if (fl)
            LT_LAUNCH(comb_f_kernel, lt_gpu_blocks(mo), LT_GPU_THREADS, (const double *)cur, m,
                      (int64_t)RD_GROUP, k, (double *)nxt, mo);
        else
            LT_LAUNCH(comb_i_kernel, lt_gpu_blocks(mo), LT_GPU_THREADS, (const int64_t *)cur, m,
                      (int64_t)RD_GROUP, k, (int64_t *)nxt, mo);
        e = cudaGetLastError();
        if (e != cudaSuccess) st = lt_gpu_fail("reduce_combine_kernel", e);
        void *t = cur;
        cur = nxt;
        nxt = t;
        m = mo;
    }
    if (st == LT_OK) st = lt_gpu_copy_d2h(fl ? (void *)fres : (void *)ires, cur, 8);
    lt_tensor_release(buf);
    return st;
}

extern "C" int lt_gpu_reduce_all(double *result, int64_t *exact, lt_reduce_op op,
                                 const lt_tensor *a)
{
    static const int kops[LT_NRED] = {K_SUM, K_SUM, K_PROD, K_MAX, K_MIN};
    int64_t n = lt_numel(a);
    double f = 0;
    int64_t i = 0;
    if (reduce_all_k(&f, &i, kops[op], a, 0)) return LT_ERR;
    *result = lt_dtype_is_float(a->dtype) ? f : (double)i;
    *exact = i;
    if (op == LT_RED_MEAN) *result = n ? *result / (double)n : NAN;
    return LT_OK;
}

extern "C" int lt_gpu_var_all(double *result, const lt_tensor *a, int unbiased)
{
    int64_t n = lt_numel(a);
    double s, q;
    int64_t unused;
    if (reduce_all_k(&s, &unused, K_SUM, a, 0)) return LT_ERR;
    if (reduce_all_k(&q, &unused, K_SQDEV, a, s / (double)n)) return LT_ERR;
    double d = (double)(n - (unbiased ? 1 : 0));
    *result = d > 0 ? q / d : NAN;
    return LT_OK;
}

extern "C" int lt_gpu_norm_all(double *result, const lt_tensor *a, double p)
{
    kop k;
    fin_op fin;
    lt_norm_kind(p, &k, &fin);
    double acc;
    int64_t unused;
    if (reduce_all_k(&acc, &unused, k, a, p)) return LT_ERR;
    *result = fin == F_SQRT ? sqrt(acc) : fin == F_ROOT ? pow(acc, 1.0 / p) : acc;
    return LT_OK;
}

/* ---- dim reductions ----------------------------------------------------------------------- */

template <typename T>
__global__ void dim_f_kernel(lt_gpu_ix ix, T *o, const T *x, int64_t n, int64_t R, int64_t rs,
                             int k, int fin, double p, int unbiased)
{
    for (int64_t i = LT_GPU_TID(); i < n; i += LT_GPU_NTHREADS()) {
        int64_t off[2] = {0};
        lt_gpu_offsets(ix, i, off);
        const T *s = x + off[1];
        double a;
        if (fin == F_VAR) {  /* two passes: the mean, then the squared deviations */
            a = 0;
            for (int64_t r = 0; r < R; r++) a += (double)s[r * rs];
            double mean = a / (double)R;
            a = 0;
            for (int64_t r = 0; r < R; r++) a = f_step(K_SQDEV, a, (double)s[r * rs], mean);
        } else {
            a = f_init(k);
            for (int64_t r = 0; r < R; r++) a = f_step(k, a, (double)s[r * rs], p);
        }
        o[off[0]] = (T)finalize(fin, a, R, p, unbiased);
    }
}

template <typename T, typename O>
__global__ void dim_i_kernel(lt_gpu_ix ix, O *o, const T *x, int64_t n, int64_t R, int64_t rs,
                             int k)
{
    for (int64_t i = LT_GPU_TID(); i < n; i += LT_GPU_NTHREADS()) {
        int64_t off[2] = {0};
        lt_gpu_offsets(ix, i, off);
        const T *s = x + off[1];
        int64_t a = i_init(k);
        for (int64_t r = 0; r < R; r++) a = i_step(k, a, (int64_t)s[r * rs]);
        o[off[0]] = (O)a;
    }
}

/* Few outputs with long slices: each slice is cut into S chunks of L elements, one thread per
 * chunk writes a partial, then one thread per output combines its S partials in chunk order
 * (deterministic) and finishes. */
#define SPLIT_MIN_R 2048      /* slices shorter than this: one thread per output       */
#define SPLIT_MIN_CHUNK 1024  /* elements per chunk at least                            */

/* Chunks per slice for nout outputs of R elements (1: don't split). */
static int64_t split_chunks(int64_t nout, int64_t R)
{
    if (R < SPLIT_MIN_R || nout >= RD_PARTS / 4) return 1;
    int64_t S = R / SPLIT_MIN_CHUNK, cap = RD_PARTS / nout;
    if (S > cap) S = cap;
    if (S < 2) return 1;
    int64_t L = (R + S - 1) / S;
    return (R + L - 1) / L;   /* no empty chunk */
}

template <typename T>
__global__ void dim_part_f_kernel(lt_gpu_ix ix, const T *x, int64_t nout, int64_t S, int64_t L,
                                  int64_t R, int64_t rs, int k, double p, double *part)
{
    for (int64_t t = LT_GPU_TID(); t < nout * S; t += LT_GPU_NTHREADS()) {
        int64_t j = t / S, c = t % S;
        int64_t off[2] = {0, 0};
        lt_gpu_offsets(ix, j, off);
        const T *s = x + off[1];
        int64_t r1 = (c + 1) * L < R ? (c + 1) * L : R;
        double a = f_init(k);
        for (int64_t r = c * L; r < r1; r++) a = f_step(k, a, (double)s[r * rs], p);
        part[t] = a;
    }
}

template <typename T>
__global__ void dim_fin_f_kernel(lt_gpu_ix ix, T *o, const double *part, int64_t nout, int64_t S,
                                 int64_t R, int k, int fin, double p)
{
    for (int64_t j = LT_GPU_TID(); j < nout; j += LT_GPU_NTHREADS()) {
        int64_t off[2] = {0, 0};
        lt_gpu_offsets(ix, j, off);
        double a = part[j * S];
        for (int64_t c = 1; c < S; c++) a = f_comb(k, a, part[j * S + c]);
        o[off[0]] = (T)finalize(fin, a, R, p, 0);
    }
}

template <typename T>
__global__ void dim_part_i_kernel(lt_gpu_ix ix, const T *x, int64_t nout, int64_t S, int64_t L,
                                  int64_t R, int64_t rs, int k, int64_t *part)
{
    for (int64_t t = LT_GPU_TID(); t < nout * S; t += LT_GPU_NTHREADS()) {
        int64_t j = t / S, c = t % S;
        int64_t off[2] = {0, 0};
        lt_gpu_offsets(ix, j, off);
        const T *s = x + off[1];
        int64_t r1 = (c + 1) * L < R ? (c + 1) * L : R;
        int64_t a = i_init(k);
        for (int64_t r = c * L; r < r1; r++) a = i_step(k, a, (int64_t)s[r * rs]);
        part[t] = a;
    }
}

template <typename O>
__global__ void dim_fin_i_kernel(lt_gpu_ix ix, O *o, const int64_t *part, int64_t nout, int64_t S,
                                 int k)
{
    for (int64_t j = LT_GPU_TID(); j < nout; j += LT_GPU_NTHREADS()) {
        int64_t off[2] = {0, 0};
        lt_gpu_offsets(ix, j, off);
        int64_t a = part[j * S];
        for (int64_t c = 1; c < S; c++) a = i_step(k, a, part[j * S + c]);
        o[off[0]] = (O)a;
    }
}

/* The split form of a dim reduction (not for the variance): S chunks per slice. */
static int reduce_dim_split(const lt_iter &it, lt_dtype idt, lt_dtype odt, int dev, int64_t R,
                            int64_t rs, int64_t S, int k, int fin, double p)
{
    int64_t nout = it.numel, L = (R + S - 1) / S, np = nout * S;
    int fl = lt_dtype_is_float(idt);
    lt_tensor *part = temp(dev, fl ? LT_FLOAT64 : LT_INT64, np);
    if (!part) return LT_ERR;
    lt_gpu_ix ix = lt_gpu_ix_of(&it);
    unsigned g1 = lt_gpu_blocks(np), g2 = lt_gpu_blocks(nout);
    void *o = it.data[0], *pp = lt_data(part);
    const void *x = it.data[1];
    switch (idt) {
    case LT_FLOAT32:
        LT_LAUNCH(dim_part_f_kernel<float>, g1, LT_GPU_THREADS, ix, (const float *)x, nout, S, L,
                  R, rs, k, p, (double *)pp);
        LT_LAUNCH(dim_fin_f_kernel<float>, g2, LT_GPU_THREADS, ix, (float *)o,
                  (const double *)pp, nout, S, R, k, fin, p);
        break;
    case LT_FLOAT64:
        LT_LAUNCH(dim_part_f_kernel<double>, g1, LT_GPU_THREADS, ix, (const double *)x, nout, S,
                  L, R, rs, k, p, (double *)pp);
        LT_LAUNCH(dim_fin_f_kernel<double>, g2, LT_GPU_THREADS, ix, (double *)o,
                  (const double *)pp, nout, S, R, k, fin, p);
        break;
    case LT_INT64:
        LT_LAUNCH(dim_part_i_kernel<int64_t>, g1, LT_GPU_THREADS, ix, (const int64_t *)x, nout,
                  S, L, R, rs, k, (int64_t *)pp);
        LT_LAUNCH(dim_fin_i_kernel<int64_t>, g2, LT_GPU_THREADS, ix, (int64_t *)o,
                  (const int64_t *)pp, nout, S, k);
        break;
    default:
        LT_LAUNCH(dim_part_i_kernel<uint8_t>, g1, LT_GPU_THREADS, ix, (const uint8_t *)x, nout,
                  S, L, R, rs, k, (int64_t *)pp);
        if (odt == LT_INT64)
            LT_LAUNCH(dim_fin_i_kernel<int64_t>, g2, LT_GPU_THREADS, ix, (int64_t *)o,
                      (const int64_t *)pp, nout, S, k);
        else
            LT_LAUNCH(dim_fin_i_kernel<uint8_t>, g2, LT_GPU_THREADS, ix, (uint8_t *)o,
                      (const int64_t *)pp, nout, S, k);
        break;
    }
    cudaError_t e = cudaGetLastError();
    lt_tensor_release(part);
    if (e != cudaSuccess) return lt_gpu_fail("reduce_dim_split_kernel", e);
    return LT_OK;
}

/* out (dtype checked by the core) = the k-reduction of a along dim, finished with fin. */
static int reduce_dim_k(lt_tensor *out, const lt_tensor *a, int dim, int keepdim, int k, int fin,
                        double p, int unbiased)
{
    int64_t osize[LT_MAXDIM];
    int ondim = out_shape(a, dim, keepdim, osize);
    lt_tensor *target;
    const lt_tensor *ins[1] = {a};
    if (lt_out_prepare(out, ondim, osize, ins, 1, &target)) return LT_ERR;
    lt_tensor ov, av;
    int64_t R, rs;
    slice_views(target, a, dim, keepdim, &ov, &av, &R, &rs);
    lt_iter it;
    const lt_tensor *ops[2] = {&ov, &av};
    int st = lt_iter_init_any(&it, 2, ops);
    int64_t S = st == LT_OK && fin != F_VAR ? split_chunks(it.numel, R) : 1;
    if (st == LT_OK && it.numel > 0 && S > 1) {
        st = reduce_dim_split(it, a->dtype, target->dtype, lt_device(a), R, rs, S, k, fin, p);
    } else if (st == LT_OK && it.numel > 0) {
        lt_gpu_ix ix = lt_gpu_ix_of(&it);
        unsigned g = lt_gpu_blocks(it.numel);
        void *o = it.data[0];
        const void *x = it.data[1];
        int64_t nn = it.numel;
        switch (a->dtype) {
        case LT_FLOAT32:
            LT_LAUNCH(dim_f_kernel<float>, g, LT_GPU_THREADS, ix, (float *)o, (const float *)x, nn,
                      R, rs, k, fin, p, unbiased);
            break;
        case LT_FLOAT64:
            LT_LAUNCH(dim_f_kernel<double>, g, LT_GPU_THREADS, ix, (double *)o, (const double *)x,
                      nn, R, rs, k, fin, p, unbiased);
            break;
        case LT_INT64: {
            auto kern = dim_i_kernel<int64_t, int64_t>;
            LT_LAUNCH(kern, g, LT_GPU_THREADS, ix, (int64_t *)o, (const int64_t *)x, nn, R, rs, k);
            break;
        }
        default:
            if (target->dtype == LT_INT64) {
                auto kern = dim_i_kernel<uint8_t, int64_t>;
                LT_LAUNCH(kern, g, LT_GPU_THREADS, ix, (int64_t *)o, (const uint8_t *)x, nn, R, rs,
                          k);
            } else {
                auto kern = dim_i_kernel<uint8_t, uint8_t>;
                LT_LAUNCH(kern, g, LT_GPU_THREADS, ix, (uint8_t *)o, (const uint8_t *)x, nn, R, rs,
                          k);
            }
            break;
        }
        cudaError_t e = cudaGetLastError();
        if (e != cudaSuccess) st = lt_gpu_fail("reduce_dim_kernel", e);
    }
    return lt_out_finish(out, target, st);
}

extern "C" int lt_gpu_reduce_dim(lt_tensor *out, lt_reduce_op op, const lt_tensor *a, int dim,
                                 int keepdim)
{
    static const int kops[LT_NRED] = {K_SUM, K_SUM, K_PROD, K_MAX, K_MIN};
    return reduce_dim_k(out, a, dim, keepdim, kops[op], op == LT_RED_MEAN ? F_MEAN : F_NONE, 0, 0);
}

extern "C" int lt_gpu_var_dim(lt_tensor *out, const lt_tensor *a, int dim, int unbiased,
                              int keepdim)
{
    return reduce_dim_k(out, a, dim, keepdim, K_SQDEV, F_VAR, 0, unbiased ? 1 : 0);
}

extern "C" int lt_gpu_norm_dim(lt_tensor *out, const lt_tensor *a, double p, int dim, int keepdim)
{
    kop k;
    fin_op fin;
    lt_norm_kind(p, &k, &fin);
    return reduce_dim_k(out, a, dim, keepdim, k, fin, p, 0);
}

/* ---- max / min with indices ------------------------------------------------------------- */

template <typename T> LT_HD int is_nan(T v) { return v != v; }

/* The first NaN wins; otherwise the first strict max (min): core/reduce.c's MM_RUN. */
template <typename T>
__global__ void maxmin_kernel(lt_gpu_ix ix, T *val, int64_t *ind, const T *x, int64_t n,
                              int64_t R, int64_t rs, int mx)
{
    for (int64_t i = LT_GPU_TID(); i < n; i += LT_GPU_NTHREADS()) {
        int64_t off[3] = {0};
        lt_gpu_offsets(ix, i, off);
        const T *s = x + off[2];
        T best = s[0];
        int64_t bi = 0;
        for (int64_t r = 1; r < R && !is_nan(best); r++) {
            T v = s[r * rs];
            if (is_nan(v) || (mx ? v > best : v < best)) {
                best = v;
                bi = r;
            }
        }
        val[off[0]] = best;
        ind[off[1]] = bi;
    }
}

/* The split form: the first NaN, else the first strict max (min), of each chunk; then the
 * chunks in order with the same rule, which gives the sequential answer. */
template <typename T>
__global__ void mm_part_kernel(lt_gpu_ix ix, const T *x, int64_t nout, int64_t S, int64_t L,
                               int64_t R, int64_t rs, int mx, T *pv, int64_t *pi)
{
    for (int64_t t = LT_GPU_TID(); t < nout * S; t += LT_GPU_NTHREADS()) {
        int64_t j = t / S, c = t % S;
        int64_t off[3] = {0, 0, 0};
        lt_gpu_offsets(ix, j, off);
        const T *s = x + off[2];
        int64_t r0 = c * L, r1 = (c + 1) * L < R ? (c + 1) * L : R;
        T best = s[r0 * rs];
        int64_t bi = r0;
        for (int64_t r = r0 + 1; r < r1 && !is_nan(best); r++) {
            T v = s[r * rs];
            if (is_nan(v) || (mx ? v > best : v < best)) {
                best = v;
                bi = r;
            }
        }
        pv[t] = best;
        pi[t] = bi;
    }
}

template <typename T>
__global__ void mm_fin_kernel(lt_gpu_ix ix, T *val, int64_t *ind, const T *pv, const int64_t *pi,
                              int64_t nout, int64_t S, int mx)
{
    for (int64_t j = LT_GPU_TID(); j < nout; j += LT_GPU_NTHREADS()) {
        int64_t off[3] = {0, 0, 0};
        lt_gpu_offsets(ix, j, off);
        T best = pv[j * S];
        int64_t bi = pi[j * S];
        for (int64_t c = 1; c < S && !is_nan(best); c++) {
            T v = pv[j * S + c];
            if (is_nan(v) || (mx ? v > best : v < best)) {
                best = v;
                bi = pi[j * S + c];
            }
        }
        val[off[0]] = best;
        ind[off[1]] = bi;
    }
}

template <typename T>
static int maxmin_split(const lt_iter &it, int dev, lt_dtype dt, int64_t R, int64_t rs, int64_t S,
                        int mx)
{
    int64_t nout = it.numel, L = (R + S - 1) / S, np = nout * S;
    lt_tensor *pv = temp(dev, dt, np), *pi = pv ? temp(dev, LT_INT64, np) : NULL;
    int st = pi ? LT_OK : LT_ERR;
    if (st == LT_OK) {
        lt_gpu_ix ix = lt_gpu_ix_of(&it);
        LT_LAUNCH(mm_part_kernel<T>, lt_gpu_blocks(np), LT_GPU_THREADS, ix,
                  (const T *)it.data[2], nout, S, L, R, rs, mx, (T *)lt_data(pv),
                  (int64_t *)lt_data(pi));
        LT_LAUNCH(mm_fin_kernel<T>, lt_gpu_blocks(nout), LT_GPU_THREADS, ix, (T *)it.data[0],
                  (int64_t *)it.data[1], (const T *)lt_data(pv), (const int64_t *)lt_data(pi),
                  nout, S, mx);
        cudaError_t e = cudaGetLastError();
        if (e != cudaSuccess) st = lt_gpu_fail("maxmin_split_kernel", e);
    }
    lt_tensor_release(pv);
    lt_tensor_release(pi);
    return st;
}

extern "C" int lt_gpu_maxmin_dim(lt_tensor *values, lt_tensor *indices, const lt_tensor *a,
                                 int dim, int keepdim, int want_max)
{
    int64_t osize[LT_MAXDIM];
    int ondim = out_shape(a, dim, keepdim, osize);
    lt_tensor *tv, *ti;
    if (lt_out_prepare_pair(values, indices, ondim, osize, a, &tv, &ti)) return LT_ERR;
    lt_tensor ov, oi, av;
    int64_t R, rs;
    slice_views(tv, a, dim, keepdim, &ov, &av, &R, &rs);
    slice_views(ti, a, dim, keepdim, &oi, &av, &R, &rs);
    lt_iter it;
    const lt_tensor *ops[3] = {&ov, &oi, &av};
    int st = lt_iter_init_any(&it, 3, ops);
    int64_t S = st == LT_OK ? split_chunks(it.numel, R) : 1;
    if (st == LT_OK && it.numel > 0 && S > 1) {
        int dev = lt_device(a);
        switch (a->dtype) {
        case LT_FLOAT32: st = maxmin_split<float>(it, dev, a->dtype, R, rs, S, want_max); break;
        case LT_FLOAT64: st = maxmin_split<double>(it, dev, a->dtype, R, rs, S, want_max); break;
        case LT_INT64: st = maxmin_split<int64_t>(it, dev, a->dtype, R, rs, S, want_max); break;
        default: st = maxmin_split<uint8_t>(it, dev, a->dtype, R, rs, S, want_max); break;
        }
    } else if (st == LT_OK && it.numel > 0) {
        lt_gpu_ix ix = lt_gpu_ix_of(&it);
        unsigned g = lt_gpu_blocks(it.numel);
        int64_t *ind = (int64_t *)it.data[1];
        switch (a->dtype) {
        case LT_FLOAT32:
            LT_LAUNCH(maxmin_kernel<float>, g, LT_GPU_THREADS, ix, (float *)it.data[0], ind,
                      (const float *)it.data[2], it.numel, R, rs, want_max);
            break;
        case LT_FLOAT64:
            LT_LAUNCH(maxmin_kernel<double>, g, LT_GPU_THREADS, ix, (double *)it.data[0], ind,
                      (const double *)it.data[2], it.numel, R, rs, want_max);
            break;
        case LT_INT64:
            LT_LAUNCH(maxmin_kernel<int64_t>, g, LT_GPU_THREADS, ix, (int64_t *)it.data[0], ind,
                      (const int64_t *)it.data[2], it.numel, R, rs, want_max);
            break;
        default:
            LT_LAUNCH(maxmin_kernel<uint8_t>, g, LT_GPU_THREADS, ix, (uint8_t *)it.data[0], ind,
                      (const uint8_t *)it.data[2], it.numel, R, rs, want_max);
            break;
        }
        cudaError_t e = cudaGetLastError();
        if (e != cudaSuccess) st = lt_gpu_fail("maxmin_kernel", e);
    }
    return lt_out_finish_pair(values, tv, indices, ti, st);
}

/* ---- cumulative sum and product ---------------------------------------------------------- */

/* A is the accumulator: double, or uint64_t so that integer overflow wraps. */
template <typename TI, typename TO, typename A>
__global__ void cum_kernel(lt_gpu_ix ix, TO *o, const TI *x, int64_t n, int64_t R, int64_t rs,
                           int64_t ors, int prod)
{
    for (int64_t i = LT_GPU_TID(); i < n; i += LT_GPU_NTHREADS()) {
        int64_t off[2] = {0};
        lt_gpu_offsets(ix, i, off);
        TO *oj = o + off[0];
        const TI *xj = x + off[1];
        A acc = prod ? (A)1 : (A)0;
        if (prod)
            for (int64_t r = 0; r < R; r++) oj[r * ors] = (TO)(acc *= (A)xj[r * rs]);
        else
            for (int64_t r = 0; r < R; r++) oj[r * ors] = (TO)(acc += (A)xj[r * rs]);
    }
}

static int cumulate(lt_tensor *out, const lt_tensor *a, int dim, int prod)
{
    lt_tensor *target;
    const lt_tensor *ins[1] = {a};
    if (lt_out_prepare(out, a->ndim, a->size, ins, 1, &target)) return LT_ERR;
    lt_tensor ov, av;
    int64_t R, rs;
    slice_views(target, a, dim, 1, &ov, &av, &R, &rs);
    int64_t ors = ov.stride[dim];
    ov.size[dim] = 1;
    lt_iter it;
    const lt_tensor *ops[2] = {&ov, &av};
    int st = lt_iter_init_any(&it, 2, ops);
    if (st == LT_OK && it.numel > 0 && R > 0) {
        lt_gpu_ix ix = lt_gpu_ix_of(&it);
        unsigned g = lt_gpu_blocks(it.numel);
        void *o = it.data[0];
        const void *x = it.data[1];
        switch (a->dtype) {
        case LT_FLOAT32: {
            auto kern = cum_kernel<float, float, double>;
            LT_LAUNCH(kern, g, LT_GPU_THREADS, ix, (float *)o, (const float *)x, it.numel, R, rs,
                      ors, prod);
            break;
        }
        case LT_FLOAT64: {
            auto kern = cum_kernel<double, double, double>;
            LT_LAUNCH(kern, g, LT_GPU_THREADS, ix, (double *)o, (const double *)x, it.numel, R, rs,
                      ors, prod);
            break;
        }
        case LT_INT64: {
            auto kern = cum_kernel<int64_t, int64_t, uint64_t>;
            LT_LAUNCH(kern, g, LT_GPU_THREADS, ix, (int64_t *)o, (const int64_t *)x, it.numel, R,
                      rs, ors, prod);
            break;
        }
        default: {
            auto kern = cum_kernel<uint8_t, int64_t, uint64_t>;
            LT_LAUNCH(kern, g, LT_GPU_THREADS, ix, (int64_t *)o, (const uint8_t *)x, it.numel, R,
                      rs, ors, prod);
            break;
        }
        }
        cudaError_t e = cudaGetLastError();
        if (e != cudaSuccess) st = lt_gpu_fail("cum_kernel", e);
    }
    return lt_out_finish(out, target, st);
}

extern "C" int lt_gpu_cumsum(lt_tensor *out, const lt_tensor *a, int dim)
{
    return cumulate(out, a, dim, 0);
}

extern "C" int lt_gpu_cumprod(lt_tensor *out, const lt_tensor *a, int dim)
{
    return cumulate(out, a, dim, 1);
}

/* ---- sort and topk ------------------------------------------------------------------------ */

/* NaN sorts above every number (PyTorch's order). "a strictly precedes b". */
template <typename T> LT_HD int before(T a, T b, int desc)
{
    if (desc) return a > b || (is_nan(a) && !is_nan(b));
    return a < b || (is_nan(b) && !is_nan(a));
}

/* Short lines, one thread per line: core/reduce.c's stable merge sort (insertion-sorted runs
 * of 32, then bottom-up merges), on (value, index) pairs in the thread's own stretch of two
 * device buffers (R pairs each); the first k go out. Equal elements keep their order. */
template <typename T>
__global__ void sort_kernel(lt_gpu_ix ix, T *val, int64_t *ind, const T *x, int64_t n, int64_t R,
                            int64_t rs, int64_t vs, int64_t is, int64_t k, int desc, T *bv,
                            int64_t *bi)
{
    for (int64_t l = LT_GPU_TID(); l < n; l += LT_GPU_NTHREADS()) {
        int64_t off[3] = {0};
        lt_gpu_offsets(ix, l, off);
        const T *xl = x + off[2];
        T *av = bv + l * 2 * R, *tv = av + R;
        int64_t *ai = bi + l * 2 * R, *ti = ai + R;
        for (int64_t r = 0; r < R; r++) {
            av[r] = xl[r * rs];
            ai[r] = r;
        }
        for (int64_t s = 0; s < R; s += 32) {
            int64_t e = s + 32 < R ? s + 32 : R;
            for (int64_t i = s + 1; i < e; i++) {
                T xv = av[i];
                int64_t xi = ai[i], j = i;
                while (j > s && before(xv, av[j - 1], desc)) {
                    av[j] = av[j - 1];
                    ai[j] = ai[j - 1];
                    j--;
                }
                av[j] = xv;
                ai[j] = xi;
            }
        }
        T *sv = av, *dv = tv;
        int64_t *si = ai, *di = ti;
        for (int64_t w = 32; w < R; w *= 2) {
            for (int64_t lo = 0; lo < R; lo += 2 * w) {
                int64_t mid = lo + w < R ? lo + w : R, hi = lo + 2 * w < R ? lo + 2 * w : R;
                int64_t i = lo, j = mid, o = lo;
                while (i < mid && j < hi) {
                    if (before(sv[j], sv[i], desc)) { dv[o] = sv[j]; di[o++] = si[j++]; }
                    else { dv[o] = sv[i]; di[o++] = si[i++]; }
                }
                while (i < mid) { dv[o] = sv[i]; di[o++] = si[i++]; }
                while (j < hi) { dv[o] = sv[j]; di[o++] = si[j++]; }
            }
            T *t1 = sv; sv = dv; dv = t1;
            int64_t *t2 = si; si = di; di = t2;
        }
        T *vo = val + off[0];
        int64_t *io = ind + off[1];
        for (int64_t r = 0; r < k; r++) {
            vo[r * vs] = sv[r];
            io[r * is] = si[r];
        }
    }
}

/* Long lines sort with every element in its own thread: the line is copied, then bottom-up
 * merge passes of width w = 1, 2, 4 ... where each element finds its place in the merged run
 * from its rank in the other run (binary search): an element of the left run goes after the
 * right run's elements that strictly precede it, one of the right run after the left run's
 * elements that it does not strictly precede. That is the stable merge, so the result is the
 * CPU's (a stable sort has one answer). log2(R) launches, each O(log w) per element. */
#define SORT_SERIAL_MAX 64

template <typename T>
__global__ void sort_load_kernel(lt_gpu_ix ix, const T *x, int64_t n, int64_t R, int64_t rs,
                                 T *bv, int64_t *bi)
{
    for (int64_t e = LT_GPU_TID(); e < n; e += LT_GPU_NTHREADS()) {
        int64_t l = e / R, r = e % R;
        int64_t off[3] = {0, 0, 0};
        lt_gpu_offsets(ix, l, off);
        bv[e] = x[off[2] + r * rs];
        bi[e] = r;
    }
}

template <typename T>
__global__ void sort_merge_kernel(int64_t n, int64_t R, int64_t w, int desc, const T *sv,
                                  const int64_t *si, T *dv, int64_t *di)
{
    for (int64_t e = LT_GPU_TID(); e < n; e += LT_GPU_NTHREADS()) {
        int64_t base = e / R * R, p = e - base;
        int64_t lo = p / (2 * w) * (2 * w);
        int64_t mid = lo + w < R ? lo + w : R, hi = lo + 2 * w < R ? lo + 2 * w : R;
        const T *v0 = sv + base;
        T v = v0[p];
        int64_t a, b, pos;
        if (p < mid) {   /* left run: after the right run's elements strictly before v */
            a = mid;
            b = hi;
            while (a < b) {
                int64_t m = a + (b - a) / 2;
                if (before(v0[m], v, desc)) a = m + 1;
                else b = m;
            }
            pos = p + (a - mid);
        } else {         /* right run: after the left run's elements that v does not precede */
            a = lo;
            b = mid;
            while (a < b) {
                int64_t m = a + (b - a) / 2;
                if (!before(v, v0[m], desc)) a = m + 1;
                else b = m;
            }
            pos = lo + (p - mid) + (a - lo);
        }
        dv[base + pos] = v;
        di[base + pos] = si[base + p];
    }
}

template <typename T>
__global__ void sort_store_kernel(lt_gpu_ix ix, T *val, int64_t *ind, int64_t nk, int64_t k,
                                  int64_t R, int64_t vs, int64_t is, const T *bv,
                                  const int64_t *bi)
{
    for (int64_t e = LT_GPU_TID(); e < nk; e += LT_GPU_NTHREADS()) {
        int64_t l = e / k, r = e % k;
        int64_t off[3] = {0, 0, 0};
        lt_gpu_offsets(ix, l, off);
        val[off[0] + r * vs] = bv[l * R + r];
        ind[off[1] + r * is] = bi[l * R + r];
    }
}

template <typename T>
static void launch_sort(const lt_gpu_ix &ix, const lt_iter &it, int64_t R, int64_t rs, int64_t vs,
                        int64_t is, int64_t k, int desc, void *bv, int64_t *bi)
{
    if (R <= SORT_SERIAL_MAX) {  /* one thread per line */
        LT_LAUNCH(sort_kernel<T>, lt_gpu_blocks(it.numel), LT_GPU_THREADS, ix, (T *)it.data[0],
                  (int64_t *)it.data[1], (const T *)it.data[2], it.numel, R, rs, vs, is, k, desc,
                  (T *)bv, bi);
        return;
    }
    int64_t n = it.numel * R;
    T *sv = (T *)bv, *dv = sv + n;
    int64_t *si = bi, *di = bi + n;
    unsigned g = lt_gpu_blocks(n);
    LT_LAUNCH(sort_load_kernel<T>, g, LT_GPU_THREADS, ix, (const T *)it.data[2], n, R, rs, sv, si);
    for (int64_t w = 1; w < R; w *= 2) {
        LT_LAUNCH(sort_merge_kernel<T>, g, LT_GPU_THREADS, n, R, w, desc, (const T *)sv,
                  (const int64_t *)si, dv, di);
        T *t1 = sv; sv = dv; dv = t1;
        int64_t *t2 = si; si = di; di = t2;
    }
    int64_t nk = it.numel * k;
    LT_LAUNCH(sort_store_kernel<T>, lt_gpu_blocks(nk), LT_GPU_THREADS, ix, (T *)it.data[0],
              (int64_t *)it.data[1], nk, k, R, vs, is, (const T *)sv, (const int64_t *)si);
}

/* Sorts every line of a along dim; values / indices get the first k of each. */
static int sort_lines(lt_tensor *values, lt_tensor *indices, const lt_tensor *a, int dim,
                      int64_t k, int desc)
{
    int64_t osize[LT_MAXDIM];
    memcpy(osize, a->size, sizeof osize);
    if (a->ndim > 0) osize[dim] = k;
    lt_tensor *tv, *ti;
    if (lt_out_prepare_pair(values, indices, a->ndim, osize, a, &tv, &ti)) return LT_ERR;
    lt_tensor ov = lt_as_1d(tv), oi = lt_as_1d(ti), av = lt_as_1d(a);
    int64_t R = av.size[dim], rs = av.stride[dim], vs = ov.stride[dim], is = oi.stride[dim];
    ov.size[dim] = oi.size[dim] = av.size[dim] = 1;
    lt_iter it;
    const lt_tensor *ops[3] = {&ov, &oi, &av};
    int st = lt_iter_init_any(&it, 3, ops);
    if (st == LT_OK && it.numel > 0 && R > 0 && k > 0) {
        int64_t nb = it.numel * 2 * R;
        lt_tensor *bv = temp(lt_device(a), a->dtype, nb);
        lt_tensor *bi = bv ? temp(lt_device(a), LT_INT64, nb) : NULL;
        if (!bi) st = LT_ERR;
        if (st == LT_OK) {
            lt_gpu_ix ix = lt_gpu_ix_of(&it);
            void *pv = lt_data(bv);
            int64_t *pi = (int64_t *)lt_data(bi);
            switch (a->dtype) {
            case LT_FLOAT32: launch_sort<float>(ix, it, R, rs, vs, is, k, desc, pv, pi); break;
            case LT_FLOAT64: launch_sort<double>(ix, it, R, rs, vs, is, k, desc, pv, pi); break;
            case LT_INT64: launch_sort<int64_t>(ix, it, R, rs, vs, is, k, desc, pv, pi); break;
            default: launch_sort<uint8_t>(ix, it, R, rs, vs, is, k, desc, pv, pi); break;
            }
            cudaError_t e = cudaGetLastError();
            if (e != cudaSuccess) st = lt_gpu_fail("sort_kernel", e);
        }
        lt_tensor_release(bv);
        lt_tensor_release(bi);
    }
    return lt_out_finish_pair(values, tv, indices, ti, st);
}

extern "C" int lt_gpu_sort(lt_tensor *values, lt_tensor *indices, const lt_tensor *a, int dim,
                           int descending)
{
    lt_tensor a1 = lt_as_1d(a);
    return sort_lines(values, indices, a, dim, a1.size[dim], descending);
}

extern "C" int lt_gpu_topk(lt_tensor *values, lt_tensor *indices, const lt_tensor *a, int64_t k,
                           int dim, int largest, int sorted)
{
    (void)sorted;
    return sort_lines(values, indices, a, dim, k, largest);
}

/* ---- backward line kernels (core/grad_reduce.c) ----------------------------------------- */

/* kind: 0 = prod (o[r] = g[r] * prod_{j != r} x[j]), 1 = reverse cumulative sum of g,
 * 2 = cumprod (o[r] = sum_{j >= r} g[j] * prod_{k <= j, k != r} x[k]); grad_reduce.c's
 * LINE_LOOP, one thread per line. */
template <typename T>
__global__ void lines_kernel(lt_gpu_ix ix, T *o0, const T *x0, const T *g0, int64_t n, int64_t R,
                             int64_t os, int64_t xs, int64_t gs, int kind)
{
    for (int64_t l = LT_GPU_TID(); l < n; l += LT_GPU_NTHREADS()) {
        int64_t off[3] = {0};
        lt_gpu_offsets(ix, l, off);
        T *o = o0 + off[0];
        const T *x = x0 + off[1], *g = g0 + off[2];
        double acc;
        if (kind == 0) {
            acc = 1;
            for (int64_t r = R - 1; r >= 0; r--) {
                o[r * os] = (T)acc;
                acc *= (double)x[r * xs];
            }
            acc = 1;
            for (int64_t r = 0; r < R; r++) {
                o[r * os] = (T)((double)o[r * os] * acc * (double)g[r * gs]);
                acc *= (double)x[r * xs];
            }
        } else if (kind == 1) {
            acc = 0;
            for (int64_t r = R - 1; r >= 0; r--) {
                acc += (double)g[r * gs];
                o[r * os] = (T)acc;
            }
        } else {
            acc = 0;
            for (int64_t r = R - 1; r >= 0; r--) {
                if (r < R - 1) acc *= (double)x[(r + 1) * xs];
                acc += (double)g[r * gs];
                o[r * os] = (T)acc;
            }
            acc = 1;
            for (int64_t r = 0; r < R; r++) {
                o[r * os] = (T)((double)o[r * os] * acc);
                acc *= (double)x[r * xs];
            }
        }
    }
}

extern "C" int lt_gpu_grad_lines(lt_tensor *o, const lt_tensor *x, const lt_tensor *g, int dim,
                                 int kind)
{
    if (lt_numel(o) == 0) return LT_OK;
    if (o->dtype != LT_FLOAT32 && o->dtype != LT_FLOAT64)
        return lt_error("gradients need a Float or Double tensor");
    lt_tensor o1 = *o, x1 = *x, g1 = *g;
    int64_t R = o->size[dim], os = o->stride[dim], xs = x->stride[dim];
    int64_t gs = g->size[dim] == 1 ? 0 : g->stride[dim];
    o1.size[dim] = x1.size[dim] = g1.size[dim] = 1;
    lt_iter it;
    const lt_tensor *ops[3] = {&o1, &x1, &g1};
    if (lt_iter_init_any(&it, 3, ops)) return LT_ERR;
    lt_gpu_ix ix = lt_gpu_ix_of(&it);
    unsigned gr = lt_gpu_blocks(it.numel);
    if (o->dtype == LT_FLOAT32)
        LT_LAUNCH(lines_kernel<float>, gr, LT_GPU_THREADS, ix, (float *)it.data[0],
                  (const float *)it.data[1], (const float *)it.data[2], it.numel, R, os, xs, gs,
                  kind);
    else
        LT_LAUNCH(lines_kernel<double>, gr, LT_GPU_THREADS, ix, (double *)it.data[0],
                  (const double *)it.data[1], (const double *)it.data[2], it.numel, R, os, xs, gs,
                  kind);
    LT_CHECK_LAUNCH("lines_kernel");
    return LT_OK;
}

template <typename T>
__global__ void norm_grad_kernel(lt_gpu_ix ix, T *o, const T *x, const T *g, const T *nr,
                                 const T *c, int64_t n, double p)
{
    for (int64_t i = LT_GPU_TID(); i < n; i += LT_GPU_NTHREADS()) {
        int64_t off[5] = {0};
        lt_gpu_offsets(ix, i, off);
        o[off[0]] = (T)lt_norm_grad_elem((double)x[off[1]], (double)g[off[2]],
                                         (double)nr[off[3]], (double)c[off[4]], p);
    }
}

extern "C" int lt_gpu_norm_grad(lt_tensor *r, const lt_tensor *a, const lt_tensor *g,
                                const lt_tensor *nrm, const lt_tensor *cnt, double p)
{
    lt_iter it;
    const lt_tensor *ops[5] = {r, a, g, nrm, cnt};
    if (lt_iter_init_any(&it, 5, ops)) return LT_ERR;
    if (it.numel == 0) return LT_OK;
    lt_gpu_ix ix = lt_gpu_ix_of(&it);
    unsigned gr = lt_gpu_blocks(it.numel);
    if (r->dtype == LT_FLOAT32)
        LT_LAUNCH(norm_grad_kernel<float>, gr, LT_GPU_THREADS, ix, (float *)it.data[0],
                  (const float *)it.data[1], (const float *)it.data[2], (const float *)it.data[3],
                  (const float *)it.data[4], it.numel, p);
    else
        LT_LAUNCH(norm_grad_kernel<double>, gr, LT_GPU_THREADS, ix, (double *)it.data[0],
                  (const double *)it.data[1], (const double *)it.data[2],
                  (const double *)it.data[3], (const double *)it.data[4], it.numel, p);
    LT_CHECK_LAUNCH("norm_grad_kernel");
    return LT_OK;
}
