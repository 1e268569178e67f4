/*
 * optim.c — optimizer updates in place over whole tensors, with exactly PyTorch's
 * (torch.optim, 1.13, single-tensor path) update rules: SGD (momentum, dampening, Nesterov,
 * weight decay), Adam, AdamW (decoupled weight decay), RMSprop (not centered, no momentum), Adagrad (lr decay),
 * and gradient clipping by the total 2-norm (torch.nn.utils.clip_grad_norm_).
 *
 * Each update is one elementwise loop over (param, grad, buffers) run by lt_iter, so
 * contiguous tensors are one vectorisable run, and big ones are split across threads (each
 * element is independent: results do not depend on the thread count). The arithmetic is
 * done in the tensors' own type in PyTorch's order of operations (its scalars cast to that
 * type, as PyTorch's kernels do), so float32 results track PyTorch's to a few ulps. grad is
 * only read. Device tensors are checked here, then updated by gpu/optim.cu's kernels with the
 * same arithmetic (LT_GPU_ROUTE).
 */
#include <math.h>
#include <string.h>

#include "lt_internal.h"

/* The [first, last] element offsets t can touch in its storage. */
static void extent(const lt_tensor *t, int64_t *lo, int64_t *hi)
{
    *lo = *hi = t->offset;
    for (int d = 0; d < t->ndim; d++) {
        int64_t span = (t->size[d] - 1) * t->stride[d];
        if (span < 0) *lo += span;
        else *hi += span;
    }
}

static int overlap(const lt_tensor *a, const lt_tensor *b)
{
    if (!lt_shares_storage(a, b) || !lt_numel(a) || !lt_numel(b)) return 0;
    int64_t alo, ahi, blo, bhi;
    extent(a, &alo, &ahi);
    extent(b, &blo, &bhi);
    return alo <= bhi && blo <= ahi;
}

/* Checks that every tensor of the update has param's (ts[0]) shape and dtype, that param is
 * a floating-point tensor, and that no written tensor (all but ts[1], the gradient) is
 * expanded or overlaps another operand: each element must be updated exactly once from its
 * own values. names[k] says what ts[k] is. */
static int check_operands(int n, const lt_tensor *const *ts,
                          const char *const *names)
{
    char a[LT_SHAPE_BUFSZ], b[LT_SHAPE_BUFSZ];
    const lt_tensor *p = ts[0];
    if (!lt_dtype_is_float(p->dtype))
        return lt_error("the parameter must be a Float or Double tensor, got %s",
                        lt_dtype_name(p->dtype));
    for (int k = 1; k < n; k++) {
        if (!ts[k]) return lt_error("%s is missing", names[k]);
        if (ts[k]->dtype != p->dtype)
            return lt_error("%s is a %s tensor, the parameter a %s tensor", names[k],
                            lt_dtype_name(ts[k]->dtype), lt_dtype_name(p->dtype));
        if (!lt_same_shape(ts[k], p))
            return lt_error("size mismatch, %s [%s] for a parameter of [%s]",
                            names[k], lt_shape_str(a, sizeof a, ts[k]->ndim, ts[k]->size),
                            lt_shape_str(b, sizeof b, p->ndim, p->size));
    }
    for (int k = 0; k < n; k++) {
        if (k == 1) continue;  /* the gradient is only read */
        for (int d = 0; d < ts[k]->ndim; d++)
            if (ts[k]->stride[d] == 0 && ts[k]->size[d] > 1)
                return lt_error("%s is expanded (several elements share memory); clone it "
                                "first", names[k]);
        for (int j = 0; j < n; j++)
            if (j != k && overlap(ts[k], ts[j]))
                return lt_error("%s overlaps %s in memory", names[k], names[j]);
    }
    return LT_OK;
}

static int check_nonneg(const char *what, double v)
{
    if (v >= 0) return LT_OK;  /* NaN fails too */
    return lt_error("invalid %s %g (must be >= 0)", what, v);
}

/* Runs fn over the operands (all one shape), then marks the written ones (all but the
 * gradient, operand 1) as modified. */
static int run_update(int n, const lt_tensor *const *ts, lt_loop_fn fn, const void *ctx)
{
    lt_iter it;
    if (lt_iter_init(&it, n, ts)) return LT_ERR;
    lt_iter_run(&it, fn, ctx, 0);
    for (int k = 0; k < n; k++)
        if (k != 1) ts[k]->storage->version++;  /* lt_storage_bump, through a const handle */
    return LT_OK;
}

/* An elementwise loop over n elements: a contiguous instance (the compiler vectorises it)
 * and a strided one. P(k) is operand k's element; BODY uses it. */
#define CONTIG(nops) (strides[0] == 1 && strides[1] == 1 && ((nops) < 3 || strides[2] == 1) && \
                      ((nops) < 4 || strides[3] == 1))
#define UPDATE_LOOP(T, nops, BODY)                                                           \
    do {                                                                                     \
        T *p0 = (T *)data[0];                                                                \
        const T *p1 = (const T *)data[1];                                                    \
        T *p2 = (nops) > 2 ? (T *)data[2] : NULL;                                            \
        T *p3 = (nops) > 3 ? (T *)data[3] : NULL;                                            \
        (void)p2;                                                                            \
        (void)p3;                                                                            \
        if (CONTIG(nops)) {                                                                  \
            const int64_t s0 = 1, s1 = 1, s2 = 1, s3 = 1;                                    \
            (void)s2;                                                                        \
            (void)s3;                                                                        \
            _Pragma("omp simd")                                                              \
            for (int64_t i = 0; i < n; i++) { BODY }                                         \
        } else {                                                                             \
            const int64_t s0 = strides[0], s1 = strides[1];                                  \
            const int64_t s2 = (nops) > 2 ? strides[2] : 0, s3 = (nops) > 3 ? strides[3] : 0; \
            (void)s2;                                                                        \
            (void)s3;                                                                        \
            for (int64_t i = 0; i < n; i++) { BODY }                                         \
        }                                                                                    \
    } while (0)

/* Forces the per-flag instances to be inlined, so their flags are constants. */
#if defined(__GNUC__)
#define INLINE inline __attribute__((always_inline))
#else
#define INLINE inline
#endif

/* with -fno-math-errno (set for this file in the Makefile) these vectorise */
#define SQRT_float sqrtf
#define SQRT_double sqrt

#define PARAM p0[i * s0]
#define GRAD p1[i * s1]
#define BUF1 p2[i * s2]
#define BUF2 p3[i * s3]

/* ---- SGD ------------------------------------------------------------------------------------ */

typedef struct {
    double lr, momentum, dampening, wd;
    int nesterov, first, has_buf;
} sgd_ctx;

/* d_p = grad (+ wd * param); buf = d_p (first) or momentum * buf + (1 - dampening) * d_p;
 * d_p = d_p + momentum * buf (Nesterov) or buf; param += -lr * d_p.
 * The flags are constants in each instance (see sgd_##T), so the loops have no branches. */
#define SGD_LOOP(T)                                                                          \
    static INLINE void sgd_run_##T(char **data, const int64_t *strides, int64_t n,           \
                                   const sgd_ctx *c, int use_wd, int first, int nest,        \
                                   int has_buf)                                              \
    {                                                                                        \
        const T lr = (T)-c->lr, wd = (T)c->wd, mom = (T)c->momentum;                         \
        const T damp = (T)(1 - c->dampening);                                                \
        if (!has_buf) {                                                                      \
            UPDATE_LOOP(T, 2, {                                                              \
                T d = GRAD;                                                                  \
                if (use_wd) d = d + wd * PARAM;                                              \
                PARAM = PARAM + lr * d;                                                      \
            });                                                                              \
        } else {                                                                             \
            UPDATE_LOOP(T, 3, {                                                              \
                T d = GRAD;                                                                  \
                if (use_wd) d = d + wd * PARAM;                                              \
                T b = first ? d : BUF1 * mom + damp * d;                                     \
                BUF1 = b;                                                                    \
                d = nest ? d + mom * b : b;                                                  \
                PARAM = PARAM + lr * d;                                                      \
            });                                                                              \
        }                                                                                    \
    }                                                                                        \
    static void sgd_##T(char **data, const int64_t *strides, int64_t n, const void *vctx)    \
    {                                                                                        \
        const sgd_ctx *c = vctx;                                                             \
        int key = (c->wd != 0) | c->first << 1 | c->nesterov << 2 | c->has_buf << 3;         \
        switch (key) {                                                                       \
            SGD_CASE(T, 0) SGD_CASE(T, 1) SGD_CASE(T, 8) SGD_CASE(T, 9)                      \
            SGD_CASE(T, 10) SGD_CASE(T, 11) SGD_CASE(T, 12) SGD_CASE(T, 13)                  \
            SGD_CASE(T, 14) SGD_CASE(T, 15)                                                  \
        default: sgd_run_##T(data, strides, n, c, c->wd != 0, 0, 0, 0); break;               \
        }                                                                                    \
    }
#define SGD_CASE(T, k)                                                                       \
    case k: sgd_run_##T(data, strides, n, c, (k) & 1, (k) >> 1 & 1, (k) >> 2 & 1, (k) >> 3 & 1); \
        break;

SGD_LOOP(float)
SGD_LOOP(double)

int lt_sgd_step(lt_tensor *param, const lt_tensor *grad, lt_tensor *buf, double lr,
                double momentum, double dampening, double weight_decay, int nesterov, int first)
{
    if (check_nonneg("learning rate", lr) || check_nonneg("momentum", momentum) ||
        check_nonneg("weight decay", weight_decay))
        return LT_ERR;
    if (!isfinite(dampening)) return lt_error("invalid dampening %g", dampening);
    if (nesterov && (momentum <= 0 || dampening != 0))
        return lt_error("Nesterov momentum requires a momentum and zero dampening");
    int has_buf = momentum != 0;
    if (has_buf && !buf) return lt_error("a momentum buffer is needed when momentum != 0");
    const lt_tensor *ts[3] = {param, grad, buf};
    static const char *const names[3] = {"the parameter", "the gradient",
                                         "the momentum buffer"};
    if (check_operands(has_buf ? 3 : 2, ts, names)) return LT_ERR;
    LT_GPU_ROUTE(NULL, lt_gpu_sgd_step(param, grad, buf, lr, momentum, dampening, weight_decay,
                                       nesterov, first),
                 param, grad, has_buf ? buf : NULL);
    sgd_ctx c = {lr, momentum, dampening, weight_decay, nesterov != 0, first != 0, has_buf};
    lt_loop_fn fn = param->dtype == LT_FLOAT32 ? sgd_float : sgd_double;
    if (run_update(has_buf ? 3 : 2, ts, fn, &c)) return LT_ERR;
    return LT_OK;
}

/* ---- Adam ------------------------------------------------------------------------------------ */

typedef struct { double beta1, beta2, eps, wd, step_size, bc2_sqrt; } adam_ctx;

/* g = grad (+ wd * param); m = m * beta1 + (1 - beta1) * g; v = v * beta2 + (1 - beta2) * g * g;
 * denom = sqrt(v) / sqrt(1 - beta2^t) + eps; param += (-lr / (1 - beta1^t)) * m / denom */
#define ADAM_LOOP(T)                                                                         \
    static INLINE void adam_run_##T(char **data, const int64_t *strides, int64_t n,          \
                                    const void *vctx, int use_wd)                            \
    {                                                                                        \
        const adam_ctx *c = vctx;                                                            \
        const T b1 = (T)c->beta1, b2 = (T)c->beta2, ob1 = (T)(1 - c->beta1);                 \
        const T ob2 = (T)(1 - c->beta2), wd = (T)c->wd, eps = (T)c->eps;                     \
        const T ss = (T)-c->step_size, bc2 = (T)c->bc2_sqrt;                                 \
        UPDATE_LOOP(T, 4, {                                                                  \
            T g = GRAD;                                                                      \
            if (use_wd) g = g + wd * PARAM;                                                  \
            T m = BUF1 * b1 + ob1 * g;                                                       \
            T v = BUF2 * b2 + ob2 * g * g;                                                   \
            BUF1 = m;                                                                        \
            BUF2 = v;                                                                        \
            T denom = SQRT_##T(v) / bc2 + eps;                                               \
            PARAM = PARAM + ss * m / denom;                                                  \
        });                                                                                  \
    }                                                                                        \
    static void adam_##T(char **data, const int64_t *strides, int64_t n, const void *vctx)   \
    {                                                                                        \
        if (((const adam_ctx *)vctx)->wd != 0) adam_run_##T(data, strides, n, vctx, 1);      \
        else adam_run_##T(data, strides, n, vctx, 0);                                        \
    }

ADAM_LOOP(float)
ADAM_LOOP(double)

int lt_adam_step(lt_tensor *param, const lt_tensor *grad, lt_tensor *m, lt_tensor *v,
                 double lr, double beta1, double beta2, double eps, double weight_decay,
                 int64_t step)
{
    if (check_nonneg("learning rate", lr) || check_nonneg("epsilon", eps) ||
        check_nonneg("weight decay", weight_decay))
        return LT_ERR;
    if (!(beta1 >= 0 && beta1 < 1)) return lt_error("invalid beta1 %g (must be in [0, 1))", beta1);
    if (!(beta2 >= 0 && beta2 < 1)) return lt_error("invalid beta2 %g (must be in [0, 1))", beta2);
    if (step < 1) return lt_error("the step count starts at 1, got %lld", (long long)step);
    const lt_tensor *ts[4] = {param, grad, m, v};
    static const char *const names[4] = {"the parameter", "the gradient",
                                         "the first moment", "the second moment"};
    if (check_operands(4, ts, names)) return LT_ERR;
    LT_GPU_ROUTE(NULL, lt_gpu_adam_step(param, grad, m, v, lr, beta1, beta2, eps, weight_decay,
                                        step),
                 param, grad, m, v);
    /* the scalars exactly as torch.optim computes them, in double */
    double bc1 = 1 - pow(beta1, (double)step), bc2 = 1 - pow(beta2, (double)step);
    adam_ctx c = {beta1, beta2, eps, weight_decay, lr / bc1, sqrt(bc2)};
    if (run_update(4, ts, param->dtype == LT_FLOAT32 ? adam_float : adam_double, &c))
        return LT_ERR;
    return LT_OK;
}

/* AdamW (torch.optim.AdamW, 1.13): the decay is decoupled from the gradient: param *= 1 - lr *
 * weight_decay first (a separate pass, as PyTorch's param.mul_), then Adam's update without
 * weight decay. Both passes route to the device for device tensors. */
int lt_adamw_step(lt_tensor *param, const lt_tensor *grad, lt_tensor *m, lt_tensor *v,
                  double lr, double beta1, double beta2, double eps, double weight_decay,
                  int64_t step)
{
    if (check_nonneg("learning rate", lr) || check_nonneg("weight decay", weight_decay))
        return LT_ERR;
    /* every operand is checked before the decay changes param */
    const lt_tensor *ts[4] = {param, grad, m, v};
    static const char *const names[4] = {"the parameter", "the gradient",
                                         "the first moment", "the second moment"};
    if (check_operands(4, ts, names)) return LT_ERR;
    if (check_nonneg("epsilon", eps)) return LT_ERR;
    if (!(beta1 >= 0 && beta1 < 1)) return lt_error("invalid beta1 %g (must be in [0, 1))", beta1);
    if (!(beta2 >= 0 && beta2 < 1)) return lt_error("invalid beta2 %g (must be in [0, 1))", beta2);
    if (step < 1) return lt_error("the step count starts at 1, got %lld", (long long)step);
    if (weight_decay != 0 && lt_binary_scalar(param, LT_OP_MUL, param, 1 - lr * weight_decay))
        return LT_ERR;
    return lt_adam_step(param, grad, m, v, lr, beta1, beta2, eps, 0, step);
}

/* ---- RMSprop ----------------------------------------------------------------------------- */

typedef struct { double lr, alpha, eps, wd; } rms_ctx;

/* g = grad (+ wd * param); sq = sq * alpha + (1 - alpha) * g * g;
 * param += -lr * g / (sqrt(sq) + eps) */
#define RMS_LOOP(T)                                                                          \
    static INLINE void rms_run_##T(char **data, const int64_t *strides, int64_t n,           \
                                    const void *vctx, int use_wd)                            \
    {                                                                                        \
        const rms_ctx *c = vctx;                                                             \
        const T lr = (T)-c->lr, al = (T)c->alpha, oal = (T)(1 - c->alpha);                   \
        const T eps = (T)c->eps, wd = (T)c->wd;                                              \
        UPDATE_LOOP(T, 3, {                                                                  \
            T g = GRAD;                                                                      \
            if (use_wd) g = g + wd * PARAM;                                                  \
            T sq = BUF1 * al + oal * g * g;                                                  \
            BUF1 = sq;                                                                       \
            T avg = SQRT_##T(sq) + eps;                                                      \
            PARAM = PARAM + lr * g / avg;                                                    \
        });                                                                                  \
    }                                                                                        \
    static void rms_##T(char **data, const int64_t *strides, int64_t n, const void *vctx)    \
    {                                                                                        \
        if (((const rms_ctx *)vctx)->wd != 0) rms_run_##T(data, strides, n, vctx, 1);        \
        else rms_run_##T(data, strides, n, vctx, 0);                                         \
    }

RMS_LOOP(float)
RMS_LOOP(double)

int lt_rmsprop_step(lt_tensor *param, const lt_tensor *grad, lt_tensor *square_avg,
                    double lr, double alpha, double eps, double weight_decay)
{
    if (check_nonneg("learning rate", lr) || check_nonneg("epsilon", eps) ||
        check_nonneg("weight decay", weight_decay) || check_nonneg("alpha", alpha))
        return LT_ERR;
    const lt_tensor *ts[3] = {param, grad, square_avg};
    static const char *const names[3] = {"the parameter", "the gradient",
                                         "the square average"};
    if (check_operands(3, ts, names)) return LT_ERR;
    LT_GPU_ROUTE(NULL, lt_gpu_rmsprop_step(param, grad, square_avg, lr, alpha, eps, weight_decay),
                 param, grad, square_avg);
    rms_ctx c = {lr, alpha, eps, weight_decay};
    if (run_update(3, ts, param->dtype == LT_FLOAT32 ? rms_float : rms_double, &c))
        return LT_ERR;
    return LT_OK;
}

/* ---- Adagrad ------------------------------------------------------------------------------- */

typedef struct { double clr, eps, wd; } adagrad_ctx;

/* g = grad (+ wd * param); sum = sum + g * g; param += -clr * g / (sqrt(sum) + eps),
 * clr = lr / (1 + (step - 1) * lr_decay) */
#define ADAGRAD_LOOP(T)                                                                      \
    static INLINE void adagrad_run_##T(char **data, const int64_t *strides, int64_t n,       \
                                    const void *vctx, int use_wd)                            \
    {                                                                                        \
        const adagrad_ctx *c = vctx;                                                         \
        const T clr = (T)-c->clr, eps = (T)c->eps, wd = (T)c->wd;                            \
        UPDATE_LOOP(T, 3, {                                                                  \
            T g = GRAD;                                                                      \
            if (use_wd) g = g + wd * PARAM;                                                  \
            T s = BUF1 + (T)1 * g * g;                                                       \
            BUF1 = s;                                                                        \
            T std = SQRT_##T(s) + eps;                                                       \
            PARAM = PARAM + clr * g / std;                                                   \
        });                                                                                  \
    }                                                                                        \
    static void adagrad_##T(char **data, const int64_t *strides, int64_t n, const void *vctx) \
    {                                                                                        \
        if (((const adagrad_ctx *)vctx)->wd != 0) adagrad_run_##T(data, strides, n, vctx, 1); \
        else adagrad_run_##T(data, strides, n, vctx, 0);                                     \
    }

ADAGRAD_LOOP(float)
ADAGRAD_LOOP(double)

int lt_adagrad_step(lt_tensor *param, const lt_tensor *grad, lt_tensor *sum, double lr,
                    double lr_decay, double weight_decay, double eps, int64_t step)
{
    if (check_nonneg("learning rate", lr) || check_nonneg("lr decay", lr_decay) ||
        check_nonneg("weight decay", weight_decay) || check_nonneg("epsilon", eps))
        return LT_ERR;
    if (step < 1) return lt_error("the step count starts at 1, got %lld", (long long)step);
    const lt_tensor *ts[3] = {param, grad, sum};
    static const char *const names[3] = {"the parameter", "the gradient",
                                         "the squared-gradient sum"};
    if (check_operands(3, ts, names)) return LT_ERR;
    LT_GPU_ROUTE(NULL, lt_gpu_adagrad_step(param, grad, sum, lr, lr_decay, weight_decay, eps, step),
                 param, grad, sum);
    adagrad_ctx c = {lr / (1 + (double)(step - 1) * lr_decay), eps, weight_decay};
    if (run_update(3, ts, param->dtype == LT_FLOAT32 ? adagrad_float : adagrad_double, &c))
        return LT_ERR;
    return LT_OK;
}

/* ---- gradient clipping ---------------------------------------------------------------------- */

int lt_clip_grad_norm(lt_tensor *const *grads, int n, double max_norm, double *total_norm)
{
    if (!(max_norm >= 0)) return lt_error("invalid max norm %g (must be >= 0)", max_norm);
    double ssq = 0;
    for (int k = 0; k < n; k++) {
        if (!grads[k]) return lt_error("gradient %d is missing", k + 1);
        if (!lt_dtype_is_float(grads[k]->dtype))
            return lt_error("gradient %d must be a Float or Double tensor, got %s", k + 1,
                            lt_dtype_name(grads[k]->dtype));
    }
#ifdef LT_HAVE_CUDA
    /* every gradient on one device (a mixed list is an error), and the device clips its own */
    int dev;
    if (lt_common_device(&dev, n, (const lt_tensor *const *)grads)) return LT_ERR;
    if (dev != LT_CPU) return lt_gpu_clip_grad_norm(grads, n, max_norm, total_norm);
#endif
    for (int k = 0; k < n; k++) {
        double nk;
        if (lt_norm_all(&nk, grads[k], 2)) return LT_ERR;
        ssq += nk * nk;
    }
    double total = sqrt(ssq);
    *total_norm = total;
    /* PyTorch multiplies by min(coef, 1); NaN/inf totals propagate the same way */
    double coef = max_norm / (total + 1e-6);
    if (!(coef >= 1))
        for (int k = 0; k < n; k++)
            if (lt_binary_scalar(grads[k], LT_OP_MUL, grads[k], coef)) return LT_ERR;
    return LT_OK;
}
