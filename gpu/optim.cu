/*
 * optim.cu — the optimizer updates of core/optim.c on device tensors: SGD (momentum,
 * dampening, Nesterov, weight decay), Adam (bias correction), RMSprop, Adagrad, and gradient
 * clipping by the total 2-norm.
 *
 * core/optim.c checks the arguments and the operands (shapes, dtypes, overlaps) and then
 * routes here, so these only run the update: one elementwise kernel over (param, grad,
 * buffers), strided operands through lt_gpu_ix, each thread updating its own elements with
 * the CPU loop's arithmetic in the same order (the scalars cast to the tensors' type as
 * there). Clipping sums squares in two passes (per-thread partials, then one thread per
 * gradient) and reads the per-gradient sums back once.
 */
#include <math.h>
#include <stdlib.h>

#include "gpu_internal.h"

/* Builds the index of the operands (all of param's shape); LT_ERR, or 1 when there is nothing
 * to do. */
static int prepare(lt_iter *it, lt_gpu_ix *ix, int n, const lt_tensor *const *ts)
{
    if (lt_iter_init_any(it, n, ts)) return LT_ERR;
    if (it->numel == 0) return 1;
    *ix = lt_gpu_ix_of(it);
    return LT_OK;
}

/* Marks the written operands (all but the gradient, operand 1) as modified. */
static void bump_written(int n, const lt_tensor *const *ts)
{
    for (int k = 0; k < n; k++)
        if (k != 1) ts[k]->storage->version++;  /* lt_storage_bump through a const handle */
}

#define SQRT_T(x) (sizeof(T) == sizeof(float) ? (T)sqrtf((float)(x)) : (T)sqrt((double)(x)))

/* ---- SGD ------------------------------------------------------------------------------------ */

struct sgd_args {
    double lr, momentum, dampening, wd;
    int use_wd, first, nesterov, has_buf;
};

/* d = grad (+ wd * param); buf = d (first) or momentum * buf + (1 - dampening) * d;
 * d = d + momentum * buf (Nesterov) or buf; param += -lr * d */
template <typename T>
__global__ void sgd_kernel(lt_gpu_ix ix, T *param, const T *grad, T *buf, sgd_args a,
                           int64_t n)
{
    const T lr = (T)-a.lr, wd = (T)a.wd, mom = (T)a.momentum, damp = (T)(1 - a.dampening);
    for (int64_t i = LT_GPU_TID(); i < n; i += LT_GPU_NTHREADS()) {
        int64_t off[3];
        lt_gpu_offsets(ix, i, off);
        T p = param[off[0]];
        T d = grad[off[1]];
        if (a.use_wd) d = d + wd * p;
        if (a.has_buf) {
            T b = a.first ? d : buf[off[2]] * mom + damp * d;
            buf[off[2]] = b;
            d = a.nesterov ? d + mom * b : b;
        }
        param[off[0]] = p + lr * d;
    }
}

extern "C" int lt_gpu_sgd_step(lt_tensor *param, const lt_tensor *grad, lt_tensor *buf,
                               double lr, double momentum, double dampening,
                               double weight_decay, int nesterov, int first)
{
    sgd_args a = {lr, momentum, dampening, weight_decay, weight_decay != 0, first != 0,
                  nesterov != 0, momentum != 0};
    int nops = a.has_buf ? 3 : 2;
    const lt_tensor *ts[3] = {param, grad, a.has_buf ? buf : NULL};
    lt_iter it;
    lt_gpu_ix ix;
    int st = prepare(&it, &ix, nops, ts);
    if (st == LT_ERR) return LT_ERR;
    if (st == LT_OK) {
        void *b = a.has_buf ? it.data[2] : NULL;
        if (param->dtype == LT_FLOAT32) {
            LT_LAUNCH(sgd_kernel<float>, lt_gpu_blocks(it.numel), LT_GPU_THREADS, ix,
                      (float *)it.data[0], (const float *)it.data[1], (float *)b, a, it.numel);
        } else {
            LT_LAUNCH(sgd_kernel<double>, lt_gpu_blocks(it.numel), LT_GPU_THREADS, ix,
                      (double *)it.data[0], (const double *)it.data[1], (double *)b, a, it.numel);
        }
        LT_CHECK_LAUNCH("sgd_kernel");
    }
    bump_written(nops, ts);
    return LT_OK;
}

/* ---- Adam ----------------------------------------------------------------------------------- */

struct adam_args { double beta1, beta2, eps, wd, step_size, bc2_sqrt; int use_wd; };

/* g = grad (+ wd * param); m = m * beta1 + (1 - beta1) * g; v = v * beta2 + (1 - beta2) * g * g;
 * denom = sqrt(v) / sqrt(1 - beta2^t) + eps; param += (-lr / (1 - beta1^t)) * m / denom */
template <typename T>
__global__ void adam_kernel(lt_gpu_ix ix, T *param, const T *grad, T *mbuf, T *vbuf,
                            adam_args a, int64_t n)
{
    const T b1 = (T)a.beta1, b2 = (T)a.beta2, ob1 = (T)(1 - a.beta1), ob2 = (T)(1 - a.beta2);
    const T wd = (T)a.wd, eps = (T)a.eps, ss = (T)-a.step_size, bc2 = (T)a.bc2_sqrt;
    for (int64_t i = LT_GPU_TID(); i < n; i += LT_GPU_NTHREADS()) {
        int64_t off[4];
        lt_gpu_offsets(ix, i, off);
        T p = param[off[0]];
        T g = grad[off[1]];
        if (a.use_wd) g = g + wd * p;
        T m = mbuf[off[2]] * b1 + ob1 * g;
        T v = vbuf[off[3]] * b2 + ob2 * g * g;
        mbuf[off[2]] = m;
        vbuf[off[3]] = v;
        T denom = SQRT_T(v) / bc2 + eps;
        param[off[0]] = p + ss * m / denom;
    }
}

extern "C" int lt_gpu_adam_step(lt_tensor *param, const lt_tensor *grad, lt_tensor *m,
                                lt_tensor *v, double lr, double beta1, double beta2, double eps,
                                double weight_decay, int64_t step)
{
    /* the scalars exactly as torch.optim (and core/optim.c) computes them, in double */
    double bc1 = 1 - pow(beta1, (double)step), bc2 = 1 - pow(beta2, (double)step);
    adam_args a = {beta1, beta2, eps, weight_decay, lr / bc1, sqrt(bc2), weight_decay != 0};
    const lt_tensor *ts[4] = {param, grad, m, v};
    lt_iter it;
    lt_gpu_ix ix;
    int st = prepare(&it, &ix, 4, ts);
    if (st == LT_ERR) return LT_ERR;
    if (st == LT_OK) {
        if (param->dtype == LT_FLOAT32) {
            LT_LAUNCH(adam_kernel<float>, lt_gpu_blocks(it.numel), LT_GPU_THREADS, ix,
                      (float *)it.data[0], (const float *)it.data[1], (float *)it.data[2],
                      (float *)it.data[3], a, it.numel);
        } else {
            LT_LAUNCH(adam_kernel<double>, lt_gpu_blocks(it.numel), LT_GPU_THREADS, ix,
                      (double *)it.data[0], (const double *)it.data[1], (double *)it.data[2],
                      (double *)it.data[3], a, it.numel);
        }
        LT_CHECK_LAUNCH("adam_kernel");
    }
    bump_written(4, ts);
    return LT_OK;
}

/* ---- RMSprop and Adagrad: one kernel, param += -lr * g / (sqrt(acc) + eps) ------------------ */

struct acc_args {
    double lr, alpha, eps, wd;   /* RMSprop: acc = acc * alpha + (1 - alpha) * g * g        */
    int use_wd, adagrad;         /* Adagrad: acc = acc + 1 * g * g, lr the decayed rate     */
};

template <typename T>
__global__ void acc_kernel(lt_gpu_ix ix, T *param, const T *grad, T *acc, acc_args a, int64_t n)
{
    const T lr = (T)-a.lr, al = (T)a.alpha, oal = (T)(1 - a.alpha), eps = (T)a.eps;
    const T wd = (T)a.wd;
    for (int64_t i = LT_GPU_TID(); i < n; i += LT_GPU_NTHREADS()) {
        int64_t off[3];
        lt_gpu_offsets(ix, i, off);
        T p = param[off[0]];
        T g = grad[off[1]];
        if (a.use_wd) g = g + wd * p;
        T s = a.adagrad ? acc[off[2]] + (T)1 * g * g : acc[off[2]] * al + oal * g * g;
        acc[off[2]] = s;
        T den = SQRT_T(s) + eps;
        param[off[0]] = p + lr * g / den;
    }
}

static int acc_step(lt_tensor *param, const lt_tensor *grad, lt_tensor *acc, acc_args a)
{
    const lt_tensor *ts[3] = {param, grad, acc};
    lt_iter it;
    lt_gpu_ix ix;
    int st = prepare(&it, &ix, 3, ts);
    if (st == LT_ERR) return LT_ERR;
    if (st == LT_OK) {
        if (param->dtype == LT_FLOAT32) {
            LT_LAUNCH(acc_kernel<float>, lt_gpu_blocks(it.numel), LT_GPU_THREADS, ix,
                      (float *)it.data[0], (const float *)it.data[1], (float *)it.data[2], a,
                      it.numel);
        } else {
            LT_LAUNCH(acc_kernel<double>, lt_gpu_blocks(it.numel), LT_GPU_THREADS, ix,
                      (double *)it.data[0], (const double *)it.data[1], (double *)it.data[2], a,
                      it.numel);
        }
        LT_CHECK_LAUNCH("acc_kernel");
    }
    bump_written(3, ts);
    return LT_OK;
}

extern "C" int lt_gpu_rmsprop_step(lt_tensor *param, const lt_tensor *grad,
                                   lt_tensor *square_avg, double lr, double alpha, double eps,
                                   double weight_decay)
{
    acc_args a = {lr, alpha, eps, weight_decay, weight_decay != 0, 0};
    return acc_step(param, grad, square_avg, a);
}

extern "C" int lt_gpu_adagrad_step(lt_tensor *param, const lt_tensor *grad, lt_tensor *sum,
                                   double lr, double lr_decay, double weight_decay, double eps,
                                   int64_t step)
{
    acc_args a = {lr / (1 + (double)(step - 1) * lr_decay), 0, eps, weight_decay,
                  weight_decay != 0, 1};
    return acc_step(param, grad, sum, a);
}

/* ---- gradient clipping -------------------------------------------------------------------- */

#define CLIP_MAX_BLOCKS 64   /* partial sums per gradient: at most 64 * 256 */

/* Pass 1: each thread's sum of squares over its grid-stride elements, in double. */
template <typename T>
__global__ void ssq_partial_kernel(lt_gpu_ix ix, const T *g, double *partial, int64_t n)
{
    double s = 0;
    for (int64_t i = LT_GPU_TID(); i < n; i += LT_GPU_NTHREADS()) {
        int64_t off[1];
        lt_gpu_offsets(ix, i, off);
        double v = (double)g[off[0]];
        s += v * v;
    }
    partial[LT_GPU_TID()] = s;
}

/* Pass 2: one thread adds the partials, in order. */
__global__ void ssq_final_kernel(const double *partial, int64_t np, double *out)
{
    if (LT_GPU_TID() != 0) return;
    double s = 0;
    for (int64_t i = 0; i < np; i++) s += partial[i];
    *out = s;
}

template <typename T> __global__ void scale_kernel(lt_gpu_ix ix, T *g, T coef, int64_t n)
{
    for (int64_t i = LT_GPU_TID(); i < n; i += LT_GPU_NTHREADS()) {
        int64_t off[1];
        lt_gpu_offsets(ix, i, off);
        g[off[0]] = g[off[0]] * coef;
    }
}

/* Each gradient's sum of squares into sums[k] (device doubles), partial the scratch of pass 1. */
static int ssq_all(lt_tensor *const *grads, int n, double *partial, double *sums)
{
    for (int k = 0; k < n; k++) {
        lt_iter it;
        const lt_tensor *ops[1] = {grads[k]};
        if (lt_iter_init_any(&it, 1, ops)) return LT_ERR;
        if (it.numel == 0) continue;  /* sums[k] stays 0 */
        lt_gpu_ix ix = lt_gpu_ix_of(&it);
        unsigned blocks = lt_gpu_blocks(it.numel);
        if (blocks > CLIP_MAX_BLOCKS) blocks = CLIP_MAX_BLOCKS;
        if (grads[k]->dtype == LT_FLOAT32)
            LT_LAUNCH(ssq_partial_kernel<float>, blocks, LT_GPU_THREADS, ix,
                      (const float *)it.data[0], partial, it.numel);
        else
            LT_LAUNCH(ssq_partial_kernel<double>, blocks, LT_GPU_THREADS, ix,
                      (const double *)it.data[0], partial, it.numel);
        LT_CHECK_LAUNCH("ssq_partial_kernel");
        LT_LAUNCH(ssq_final_kernel, 1, 1, partial, (int64_t)blocks * LT_GPU_THREADS, sums + k);
        LT_CHECK_LAUNCH("ssq_final_kernel");
    }
    return LT_OK;
}

/* The caller (core/optim.c) checked the arguments and that every gradient is a floating-point
 * tensor on this device. */
extern "C" int lt_gpu_clip_grad_norm(lt_tensor *const *grads, int n, double max_norm,
                                     double *total_norm)
{
    if (n <= 0) {
        *total_norm = 0;
        return LT_OK;
    }
    int dev = lt_device(grads[0]);
    const int64_t np = (int64_t)CLIP_MAX_BLOCKS * LT_GPU_THREADS;
    int64_t nsums = n;
    lt_tensor *partial = lt_tensor_uninit_on(dev, LT_FLOAT64, 1, &np);
    lt_tensor *sums = lt_tensor_new_on(dev, LT_FLOAT64, 1, &nsums);
    double *host = (double *)calloc((size_t)n, sizeof *host);
    int st = partial && sums ? LT_OK : LT_ERR;
    if (st == LT_OK && !host) st = lt_error("out of memory in clipGradNorm");
    if (st == LT_OK) st = ssq_all(grads, n, (double *)lt_data(partial), (double *)lt_data(sums));
    if (st == LT_OK) st = lt_gpu_copy_d2h(host, lt_data(sums), (int64_t)n * (int64_t)sizeof *host);
    double ssq = 0;
    for (int k = 0; k < n && st == LT_OK; k++) {
        double nk = sqrt(host[k]);  /* each gradient's norm, as the CPU path adds them */
        ssq += nk * nk;
    }
    free(host);
    lt_tensor_release(partial);
    lt_tensor_release(sums);
    if (st != LT_OK) return LT_ERR;
    double total = sqrt(ssq);
    *total_norm = total;
    /* PyTorch multiplies by min(coef, 1); NaN/inf totals propagate the same way */
    double coef = max_norm / (total + 1e-6);
    if (coef >= 1) return LT_OK;
    for (int k = 0; k < n; k++) {
        lt_tensor *g = grads[k];
        for (int d = 0; d < g->ndim; d++)
            if (g->stride[d] == 0 && g->size[d] > 1)
                return lt_error("gradient %d is expanded (several elements share memory); "
                                "clone it first", k + 1);
        lt_iter it;
        const lt_tensor *ops[1] = {g};
        if (lt_iter_init_any(&it, 1, ops)) return LT_ERR;
        if (it.numel == 0) continue;
        lt_gpu_ix ix = lt_gpu_ix_of(&it);
        if (g->dtype == LT_FLOAT32)
            LT_LAUNCH(scale_kernel<float>, lt_gpu_blocks(it.numel), LT_GPU_THREADS, ix,
                      (float *)it.data[0], (float)coef, it.numel);
        else
            LT_LAUNCH(scale_kernel<double>, lt_gpu_blocks(it.numel), LT_GPU_THREADS, ix,
                      (double *)it.data[0], coef, it.numel);
        LT_CHECK_LAUNCH("scale_kernel");
        lt_storage_bump(g);
    }
    return LT_OK;
}
