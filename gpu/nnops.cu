/*
 * nnops.cu — the nn kernels of core/nnops.c on device tensors: softmax and log-softmax along
 * any dim, the negative log-likelihood loss and cross entropy, and their backward passes.
 *
 * Numerics are the CPU's: every slice is shifted by its max before exp (a NaN in a slice makes
 * the whole slice NaN), x - max is rounded in the tensor's type, sums, log-sums and scalings
 * are in double. One thread per slice (softmax; a few long slices go in chunks, below) or per
 * row of scores (losses), walking it in order; a loss sums the rows' values from a device
 * temporary in chunks of rows, then the chunks in one thread, in order: deterministic, no
 * atomics. The core calls these after its argument checks (including the range of the
 * targets, which it reads from a host copy), so messages are the CPU's.
 */
#include "gpu_internal.h"

LT_HD float exp_t(float v) { return expf(v); }
LT_HD double exp_t(double v) { return exp(v); }

/* ---- softmax / log-softmax ------------------------------------------------------------------ */

template <typename T>
__global__ void softmax_kernel(lt_gpu_ix ix, T *y0, const T *x0, int64_t n, int64_t R, int64_t ys,
                               int64_t xs, int lg)
{
    for (int64_t i = LT_GPU_TID(); i < n; i += LT_GPU_NTHREADS()) {
        int64_t off[2] = {0, 0};
        lt_gpu_offsets(ix, i, off);
        T *y = y0 + off[0];
        const T *x = x0 + off[1];
        T mx = -INFINITY;
        for (int64_t r = 0; r < R; r++) {
            T v = x[r * xs];
            mx = ((v > mx) | (v != v)) ? v : mx;   /* NaN sticks: a NaN slice */
        }
        double s = 0;
        if (lg) {
            for (int64_t r = 0; r < R; r++) s += exp_t((T)(x[r * xs] - mx));
            double ls = log(s);
            for (int64_t r = 0; r < R; r++) y[r * ys] = (T)(((double)x[r * xs] - mx) - ls);
        } else {
            for (int64_t r = 0; r < R; r++) {
                T e = exp_t((T)(x[r * xs] - mx));
                y[r * ys] = e;
                s += e;
            }
            double inv = 1 / s;
            for (int64_t r = 0; r < R; r++) y[r * ys] = (T)(y[r * ys] * inv);
        }
    }
}

/* gx = y * (g - sum(g * y)) (softmax), g - exp(y) * sum(g) (log-softmax) */
template <typename T>
__global__ void softmax_grad_kernel(lt_gpu_ix ix, T *gx0, const T *g0, const T *y0, int64_t n,
                                    int64_t R, int64_t xs, int64_t gs, int64_t ys, int lg)
{
    for (int64_t i = LT_GPU_TID(); i < n; i += LT_GPU_NTHREADS()) {
        int64_t off[3] = {0, 0, 0};
        lt_gpu_offsets(ix, i, off);
        T *gx = gx0 + off[0];
        const T *g = g0 + off[1], *y = y0 + off[2];
        double s = 0;
        for (int64_t r = 0; r < R; r++) {
            double gv = g[r * gs];
            s += lg ? gv : gv * (double)y[r * ys];
        }
        for (int64_t r = 0; r < R; r++) {
            double gv = g[r * gs];
            T yv = y[r * ys];
            gx[r * xs] = (T)(lg ? gv - (double)exp_t(yv) * s : (double)yv * (gv - s));
        }
    }
}

/* Few slices of many elements: each slice is cut into S chunks of L elements, one thread per
 * chunk, with per-slice steps in between (one thread per slice, the chunks in order): the
 * chunks' maxima -> the slice's max M; the chunks' sums of exp(x - M) -> 1 / s or log s;
 * then the chunks are written. The terms are the one-thread form's; only the order of the
 * double sums differs. The backward: the chunks' sums of g (or g * y), their total, the write. */
#define SM_SPLIT_MIN_R 4096
#define SM_SPLIT_MIN_CHUNK 1024
#define SM_SPLIT_PARTS 32768

static int64_t sm_split_chunks(int64_t ns, int64_t R)
{
    if (R < SM_SPLIT_MIN_R || ns >= SM_SPLIT_PARTS / 4) return 1;
    int64_t S = R / SM_SPLIT_MIN_CHUNK, cap = SM_SPLIT_PARTS / ns;
    if (S > cap) S = cap;
    if (S < 2) return 1;
    int64_t L = (R + S - 1) / S;
    return (R + L - 1) / L;
}

/* phase 0: part[t] = the chunk's max (NaN sticks); 1: part[t] = its sum of e = exp(x - M)
 * (softmax also stores e in y); 2: y = e * (1 / s) or (x - M) - log s (q = sl[slice]). */
template <typename T>
__global__ void sm_chunk_kernel(lt_gpu_ix ix, T *y0, const T *x0, int64_t ns, int64_t S,
                                int64_t L, int64_t R, int64_t ys, int64_t xs, int lg, int phase,
                                double *part, const double *mx, const double *sl)
{
    for (int64_t t = LT_GPU_TID(); t < ns * S; t += LT_GPU_NTHREADS()) {
        int64_t j = t / S, c = t % S;
        int64_t off[2] = {0, 0};
        lt_gpu_offsets(ix, j, off);
        T *y = y0 + off[0];
        const T *x = x0 + off[1];
        int64_t r0 = c * L, r1 = (c + 1) * L < R ? (c + 1) * L : R;
        if (phase == 0) {
            T m = -INFINITY;
            for (int64_t r = r0; r < r1; r++) {
                T v = x[r * xs];
                m = ((v > m) | (v != v)) ? v : m;
            }
            part[t] = (double)m;
        } else if (phase == 1) {
            T m = (T)mx[j];
            double acc = 0;
            for (int64_t r = r0; r < r1; r++) {
                T e = exp_t((T)(x[r * xs] - m));
                if (!lg) y[r * ys] = e;
                acc += e;
            }
            part[t] = acc;
        } else {
            T m = (T)mx[j];
            double q = sl[j];
            if (lg)
                for (int64_t r = r0; r < r1; r++) y[r * ys] = (T)(((double)x[r * xs] - m) - q);
            else
                for (int64_t r = r0; r < r1; r++) y[r * ys] = (T)(y[r * ys] * q);
        }
    }
}

/* One thread per slice over its S chunk values, in order. kind 0: the NaN-sticky max;
 * 1: lg ? log(sum) : 1 / sum; 2: the sum. */
__global__ void sm_slice_kernel(int64_t ns, int64_t S, int kind, int lg, const double *part,
                                double *out)
{
    for (int64_t j = LT_GPU_TID(); j < ns; j += LT_GPU_NTHREADS()) {
        const double *p = part + j * S;
        if (kind == 0) {
            double m = p[0];
            for (int64_t c = 1; c < S; c++) m = ((p[c] > m) | (p[c] != p[c])) ? p[c] : m;
            out[j] = m;
        } else {
            double acc = 0;
            for (int64_t c = 0; c < S; c++) acc += p[c];
            out[j] = kind == 2 ? acc : lg ? log(acc) : 1 / acc;
        }
    }
}

/* phase 0: part[t] = the chunk's sum of g (log-softmax) or g * y; 1: gx from the slice's sum */
template <typename T>
__global__ void smb_chunk_kernel(lt_gpu_ix ix, T *gx0, const T *g0, const T *y0, int64_t ns,
                                 int64_t S, int64_t L, int64_t R, int64_t xs, int64_t gs,
                                 int64_t ys, int lg, int phase, double *part, const double *sv)
{
    for (int64_t t = LT_GPU_TID(); t < ns * S; t += LT_GPU_NTHREADS()) {
        int64_t j = t / S, c = t % S;
        int64_t off[3] = {0, 0, 0};
        lt_gpu_offsets(ix, j, off);
        T *gx = gx0 + off[0];
        const T *g = g0 + off[1], *y = y0 + off[2];
        int64_t r0 = c * L, r1 = (c + 1) * L < R ? (c + 1) * L : R;
        if (phase == 0) {
            double acc = 0;
            for (int64_t r = r0; r < r1; r++) {
                double gv = g[r * gs];
                acc += lg ? gv : gv * (double)y[r * ys];
            }
            part[t] = acc;
        } else {
            double s = sv[j];
            for (int64_t r = r0; r < r1; r++) {
                double gv = g[r * gs];
                T yv = y[r * ys];
                gx[r * xs] = (T)(lg ? gv - (double)exp_t(yv) * s : (double)yv * (gv - s));
            }
        }
    }
}

template <typename T>
static int run_split(const lt_iter &it, int dev, int nops, int64_t R, const int64_t *ls,
                     int64_t S, int lg)
{
    int64_t ns = it.numel, L = (R + S - 1) / S, np = ns * S, nt = np + 2 * ns;
    lt_tensor *tmp = lt_tensor_uninit_on(dev, LT_FLOAT64, 1, &nt);
    if (!tmp) return LT_ERR;
    double *part = (double *)lt_data(tmp), *a = part + np, *b = a + ns;
    lt_gpu_ix ix = lt_gpu_ix_of(&it);
    unsigned gc = lt_gpu_blocks(np), gs = lt_gpu_blocks(ns);
    if (nops == 2) {
        T *y = (T *)it.data[0];
        const T *x = (const T *)it.data[1];
        for (int phase = 0; phase < 3; phase++) {
            LT_LAUNCH(sm_chunk_kernel<T>, gc, LT_GPU_THREADS, ix, y, x, ns, S, L, R, ls[0], ls[1],
                      lg, phase, part, (const double *)a, (const double *)b);
            if (phase < 2)
                LT_LAUNCH(sm_slice_kernel, gs, LT_GPU_THREADS, ns, S, phase, lg,
                          (const double *)part, phase == 0 ? a : b);
        }
    } else {
        T *gx = (T *)it.data[0];
        const T *g = (const T *)it.data[1], *y = (const T *)it.data[2];
        LT_LAUNCH(smb_chunk_kernel<T>, gc, LT_GPU_THREADS, ix, gx, g, y, ns, S, L, R, ls[0], ls[1],
                  ls[2], lg, 0, part, (const double *)a);
        LT_LAUNCH(sm_slice_kernel, gs, LT_GPU_THREADS, ns, S, 2, lg, (const double *)part, a);
        LT_LAUNCH(smb_chunk_kernel<T>, gc, LT_GPU_THREADS, ix, gx, g, y, ns, S, L, R, ls[0], ls[1],
                  ls[2], lg, 1, part, (const double *)a);
    }
    cudaError_t e = cudaGetLastError();
    lt_tensor_release(tmp);
    if (e != cudaSuccess) return lt_gpu_fail(nops == 2 ? "softmax_split_kernel"
                                                       : "softmax_grad_split_kernel", e);
    return LT_OK;
}

/* Runs the forward (nops 2: y, x) or backward (nops 3: gx, g, y) kernel over the slices of
 * ops along dim (one shape, one floating dtype; 0-dim tensors are 1-D of size 1). */
static int run_slices(int nops, const lt_tensor *const *ops, int dim, int lg)
{
    if (lt_numel(ops[0]) == 0) return LT_OK;
    lt_tensor v[3];
    const lt_tensor *vp[3];
    int64_t ls[3];
    for (int k = 0; k < nops; k++) {
        v[k] = lt_as_1d(ops[k]);
        ls[k] = v[k].stride[dim];
        vp[k] = &v[k];
    }
    int64_t R = v[0].size[dim];
    for (int k = 0; k < nops; k++) v[k].size[dim] = 1;
    lt_iter it;
    if (lt_iter_init_any(&it, nops, vp)) return LT_ERR;
    int dbl = ops[0]->dtype == LT_FLOAT64;
    int64_t S = sm_split_chunks(it.numel, R);
    if (S > 1)
        return dbl ? run_split<double>(it, lt_device(ops[0]), nops, R, ls, S, lg)
                   : run_split<float>(it, lt_device(ops[0]), nops, R, ls, S, lg);
    lt_gpu_ix ix = lt_gpu_ix_of(&it);
    unsigned g = lt_gpu_blocks(it.numel);
    if (nops == 2) {
        if (dbl)
            LT_LAUNCH(softmax_kernel<double>, g, LT_GPU_THREADS, ix, (double *)it.data[0],
                      (const double *)it.data[1], it.numel, R, ls[0], ls[1], lg);
        else
            LT_LAUNCH(softmax_kernel<float>, g, LT_GPU_THREADS, ix, (float *)it.data[0],
                      (const float *)it.data[1], it.numel, R, ls[0], ls[1], lg);
        LT_CHECK_LAUNCH("softmax_kernel");
    } else {
        if (dbl)
            LT_LAUNCH(softmax_grad_kernel<double>, g, LT_GPU_THREADS, ix, (double *)it.data[0],
                      (const double *)it.data[1], (const double *)it.data[2], it.numel, R, ls[0],
                      ls[1], ls[2], lg);
        else
            LT_LAUNCH(softmax_grad_kernel<float>, g, LT_GPU_THREADS, ix, (float *)it.data[0],
                      (const float *)it.data[1], (const float *)it.data[2], it.numel, R, ls[0],
                      ls[1], ls[2], lg);
        LT_CHECK_LAUNCH("softmax_grad_kernel");
    }
    return LT_OK;
}

static int softmax_common(lt_tensor *out, const lt_tensor *a, int dim, int lg)
{
    lt_tensor *target;
    if (lt_out_prepare(out, a->ndim, a->size, &a, 1, &target)) return LT_ERR;
    const lt_tensor *ops[2] = {target, a};
    return lt_out_finish(out, target, run_slices(2, ops, dim, lg));
}

extern "C" int lt_gpu_softmax(lt_tensor *out, const lt_tensor *a, int dim)
{
    return softmax_common(out, a, dim, 0);
}

extern "C" int lt_gpu_log_softmax(lt_tensor *out, const lt_tensor *a, int dim)
{
    return softmax_common(out, a, dim, 1);
}

extern "C" int lt_gpu_softmax_backward(lt_tensor *gx, const lt_tensor *g, const lt_tensor *y,
                                       int dim, int log)
{
    const lt_tensor *ops[3] = {gx, g, y};
    return run_slices(3, ops, dim, log);
}

/* ---- losses ------------------------------------------------------------------------------- */

/* N rows of C scores: row i, class j at x[i * rs + j * cs]; target i at t[i * ts]; weight of
 * class j at w[j * ws] (w NULL: 1). Passed by value to the kernels. */
struct loss_rows {
    int64_t N, C, rs, cs, ts, ws;
    int64_t ignore;   /* the target that adds nothing (LT_NO_IGNORE: none) */
    const int64_t *t;
};

static loss_rows rows_of(const lt_tensor *x, const lt_tensor *target, const lt_tensor *weight,
                         int64_t ignore)
{
    loss_rows a;
    memset(&a, 0, sizeof a);
    a.ignore = ignore;
    if (x->ndim == 2) {
        a.N = x->size[0];
        a.C = x->size[1];
        a.rs = x->stride[0];
        a.cs = x->stride[1];
        a.ts = target->stride[0];
    } else {
        a.N = 1;
        a.C = x->size[0];
        a.cs = x->stride[0];
    }
    if (weight) a.ws = weight->stride[0];
    a.t = (const int64_t *)lt_data(target);
    return a;
}

template <typename T> LT_HD double weight_of(const T *w, int64_t ws, int64_t t)
{
    return w ? (double)w[t * ws] : 1.0;
}

/* The max m of a row (NaN when it holds one) and s = sum exp(x - m). */
template <typename T> __device__ T row_sum(const T *x, int64_t C, int64_t cs, double *s)
{
    T mx = -INFINITY;
    for (int64_t j = 0; j < C; j++) {
        T v = x[j * cs];
        mx = ((v > mx) | (v != v)) ? v : mx;
    }
    double acc = 0;
    for (int64_t j = 0; j < C; j++) acc += exp_t((T)(x[j * cs] - mx));
    *s = acc;
    return mx;
}

/* part[2i] = row i's loss -w_t * log p_t, part[2i+1] = w_t; ce: the scores are logits */
template <typename T>
__global__ void loss_rows_kernel(loss_rows a, const T *x, const T *w, int ce, double *part)
{
    for (int64_t i = LT_GPU_TID(); i < a.N; i += LT_GPU_NTHREADS()) {
        const T *row = x + i * a.rs;
        int64_t t = a.t[i * a.ts];
        if (t == a.ignore) {   /* adds nothing to the loss or its normaliser */
            part[2 * i] = 0;
            part[2 * i + 1] = 0;
            continue;
        }
        if (t < 0 || t >= a.C) {   /* only inside a graph capture, which skips the host check */
            part[2 * i] = NAN;
            part[2 * i + 1] = 1;
            continue;
        }
        double wt = weight_of(w, a.ws, t), l;
        if (ce) {
            double s;
            T m = row_sum(row, a.C, a.cs, &s);
            l = -(wt * (((double)row[t * a.cs] - m) - log(s)));
        } else {
            l = -(wt * (double)row[t * a.cs]);
        }
        part[2 * i] = l;
        part[2 * i + 1] = wt;
    }
}

/* Rows per chunk of the loss sum: chunk c's (loss, weight) sums go to sums[2c], sums[2c+1]. */
#define LOSS_CHUNK 256

__global__ void loss_chunks_kernel(const double *part, int64_t N, int64_t nch, double *sums)
{
    for (int64_t c = LT_GPU_TID(); c < nch; c += LT_GPU_NTHREADS()) {
        int64_t e = (c + 1) * LOSS_CHUNK < N ? (c + 1) * LOSS_CHUNK : N;
        double total = 0, wsum = 0;
        for (int64_t i = c * LOSS_CHUNK; i < e; i++) {
            total += part[2 * i];
            wsum += part[2 * i + 1];
        }
        sums[2 * c] = total;
        sums[2 * c + 1] = wsum;
    }
}

/* One thread: the chunks in order, then the normalised total into the 0-dim out. */
template <typename T>
__global__ void loss_sum_kernel(const double *sums, int64_t nch, int size_average, T *out)
{
    if (LT_GPU_TID() != 0) return;
    double total = 0, wsum = 0;
    for (int64_t c = 0; c < nch; c++) {
        total += sums[2 * c];
        wsum += sums[2 * c + 1];
    }
    *out = (T)(size_average ? total / wsum : total);
}

static int loss_forward(lt_tensor *out, const lt_tensor *x, const lt_tensor *target,
                        const lt_tensor *weight, int size_average, int64_t ignore, int ce)
{
    if (lt_resize(out, 0, NULL)) return LT_ERR;
    loss_rows a = rows_of(x, target, weight, ignore);
    int64_t nch = (a.N + LOSS_CHUNK - 1) / LOSS_CHUNK;
    int64_t np = 2 * (a.N + nch) > 0 ? 2 * (a.N + nch) : 1;
    lt_tensor *part = lt_tensor_uninit_on(lt_device(x), LT_FLOAT64, 1, &np);
    if (!part) return LT_ERR;
    double *pp = (double *)lt_data(part), *sums = pp + 2 * a.N;
    unsigned g = lt_gpu_blocks(a.N);
    if (x->dtype == LT_FLOAT64) {
        if (a.N > 0)
            LT_LAUNCH(loss_rows_kernel<double>, g, LT_GPU_THREADS, a, (const double *)lt_data(x),
                      weight ? (const double *)lt_data(weight) : (const double *)NULL, ce, pp);
    } else {
        if (a.N > 0)
            LT_LAUNCH(loss_rows_kernel<float>, g, LT_GPU_THREADS, a, (const float *)lt_data(x),
                      weight ? (const float *)lt_data(weight) : (const float *)NULL, ce, pp);
    }
    if (nch > 0)
        LT_LAUNCH(loss_chunks_kernel, lt_gpu_blocks(nch), LT_GPU_THREADS, (const double *)pp,
                  a.N, nch, sums);
    if (x->dtype == LT_FLOAT64)
        LT_LAUNCH(loss_sum_kernel<double>, 1, 1, (const double *)sums, nch, size_average,
                  (double *)lt_data(out));
    else
        LT_LAUNCH(loss_sum_kernel<float>, 1, 1, (const double *)sums, nch, size_average,
                  (float *)lt_data(out));
    cudaError_t e = cudaGetLastError();
    lt_tensor_release(part);
    if (e != cudaSuccess) return lt_gpu_fail(ce ? "cross_entropy_kernel" : "nll_loss_kernel", e);
    lt_storage_bump(out);
    return LT_OK;
}

extern "C" int lt_gpu_nll_loss(lt_tensor *out, const lt_tensor *logp, const lt_tensor *target,
                               const lt_tensor *weight, int size_average, int64_t ignore)
{
    return loss_forward(out, logp, target, weight, size_average, ignore, 0);
}

extern "C" int lt_gpu_cross_entropy(lt_tensor *out, const lt_tensor *input,
                                    const lt_tensor *target, const lt_tensor *weight,
                                    int size_average, int64_t ignore)
{
    return loss_forward(out, input, target, weight, size_average, ignore, 1);
}

/* The 0-dim output gradient, read on the device (no copy to the host). */
LT_HD double grad_value(const void *g, int gdt)
{
    switch (gdt) {
    case LT_FLOAT32: return (double)*(const float *)g;
    case LT_FLOAT64: return *(const double *)g;
    case LT_INT64: return (double)*(const int64_t *)g;
    default: return (double)*(const uint8_t *)g;
    }
}

/* NLL: gx (zeroed, contiguous N x C) gets -g / norm * w_t at (i, t). */
template <typename T>
__global__ void nll_grad_kernel(loss_rows a, T *gx, const T *w, const void *g, int gdt, double norm)
{
    for (int64_t i = LT_GPU_TID(); i < a.N; i += LT_GPU_NTHREADS()) {
        double c = -grad_value(g, gdt) / norm;
        int64_t t = a.t[i * a.ts];
        if (t == a.ignore || t < 0 || t >= a.C) continue;   /* (see loss_rows_kernel) */
        gx[i * a.C + t] = (T)(c * weight_of(w, a.ws, t));
    }
}

/* Cross entropy: gx (contiguous N x C) = (softmax - onehot(t)) * w_t * g / norm. */
template <typename T>
__global__ void ce_grad_kernel(loss_rows a, T *gx, const T *x, const T *w, const void *g, int gdt,
                               double norm)
{
    for (int64_t i = LT_GPU_TID(); i < a.N; i += LT_GPU_NTHREADS()) {
        double c = grad_value(g, gdt) / norm;
        const T *row = x + i * a.rs;
        T *grow = gx + i * a.C;
        double s;
        T m = row_sum(row, a.C, a.cs, &s);
        int64_t t = a.t[i * a.ts];
        if (t == a.ignore || t < 0 || t >= a.C) {   /* (see loss_rows_kernel) */
            for (int64_t j = 0; j < a.C; j++) grow[j] = t == a.ignore ? (T)0 : (T)NAN;
            continue;
        }
        double wt = weight_of(w, a.ws, t);
        double k = c * wt / s;
        for (int64_t j = 0; j < a.C; j++) grow[j] = (T)((double)exp_t((T)(row[j * a.cs] - m)) * k);
        grow[t] = (T)(((double)exp_t((T)(row[t * a.cs] - m)) / s - 1) * c * wt);
    }
}

static int loss_backward(lt_tensor *gx, const lt_tensor *g, const lt_tensor *x,
                         const lt_tensor *target, const lt_tensor *weight, double norm,
                         int64_t ignore, int ce)
{
    loss_rows a = rows_of(x, target, weight, ignore);
    if (a.N == 0) return LT_OK;
    unsigned gr = lt_gpu_blocks(a.N);
    const void *gp = lt_data(g);
    int gdt = (int)g->dtype;
    if (x->dtype == LT_FLOAT64) {
        const double *w = weight ? (const double *)lt_data(weight) : NULL;
        if (ce)
            LT_LAUNCH(ce_grad_kernel<double>, gr, LT_GPU_THREADS, a, (double *)lt_data(gx),
                      (const double *)lt_data(x), w, gp, gdt, norm);
        else
            LT_LAUNCH(nll_grad_kernel<double>, gr, LT_GPU_THREADS, a, (double *)lt_data(gx), w, gp,
                      gdt, norm);
    } else {
        const float *w = weight ? (const float *)lt_data(weight) : NULL;
        if (ce)
            LT_LAUNCH(ce_grad_kernel<float>, gr, LT_GPU_THREADS, a, (float *)lt_data(gx),
                      (const float *)lt_data(x), w, gp, gdt, norm);
        else
            LT_LAUNCH(nll_grad_kernel<float>, gr, LT_GPU_THREADS, a, (float *)lt_data(gx), w, gp,
                      gdt, norm);
    }
    LT_CHECK_LAUNCH(ce ? "cross_entropy_grad_kernel" : "nll_loss_grad_kernel");
    return LT_OK;
}

extern "C" int lt_gpu_nll_loss_backward(lt_tensor *gx, const lt_tensor *g, const lt_tensor *x,
                                        const lt_tensor *target, const lt_tensor *weight,
                                        double norm, int64_t ignore)
{
    return loss_backward(gx, g, x, target, weight, norm, ignore, 0);
}

extern "C" int lt_gpu_cross_entropy_backward(lt_tensor *gx, const lt_tensor *g, const lt_tensor *x,
                                             const lt_tensor *target, const lt_tensor *weight,
                                             double norm, int64_t ignore)
{
    return loss_backward(gx, g, x, target, weight, norm, ignore, 1);
}
