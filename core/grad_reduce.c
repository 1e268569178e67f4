/*
 * grad_reduce.c — autograd for the reductions of core/reduce.c: sum, mean, prod, max/min
 * (over everything, along a dim, with indices), var/std, p-norms, cumsum, cumprod, and the
 * values of sort/topk. Each lt_rec_* records one node when an input requires grad; the
 * backward functions are plain core ops plus a few line kernels (below).
 *
 * Semantics follow PyTorch 1.13:
 *   - prod: exact with zeros (each gradient is the product of the OTHER elements of its slice,
 *     computed from prefix and suffix products, never by dividing by the input);
 *   - max/min without a dim (and lt_rec_reduce_dim with MAX/MIN, PyTorch's amax/amin): the
 *     gradient is shared evenly among the elements equal to the result (ties); a NaN result
 *     shares it among the NaNs;
 *   - max/min along a dim, sort, topk: the gradient goes to the returned indices only;
 *   - std: 0 where the std is 0; norm p=2 (and p>1): 0 for a zero slice; p<1: 0 at zeros;
 *     p=inf/-inf: shared evenly among the elements whose |x| is the result; p=0: zero;
 *   - cumprod: exact with zeros too (O(n) per line: the gradient of x[i] is
 *     prefix(i) * T(i), with T(i) = g[i] + x[i+1] * T(i+1), no division).
 *
 * Device tensors: gradients and temporaries are made on the output gradient's device, the
 * composed backwards use routed core ops, and the line kernels (prod, cumsum, cumprod) and the
 * norm's elementwise step have device twins in gpu/reduce.cu.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lt_internal.h"
#include "norm_grad.h"

/* ---- helpers ----------------------------------------------------------------------------- */

/* A new uninitialised tensor of input k's shape and dtype, on the device of g (the output
 * gradient: the input's device). */
static lt_tensor *new_input(const lt_node *n, int k, const lt_tensor *g)
{
    return lt_tensor_uninit_on(lt_device(g), n->in_dtype[k], n->in_ndim[k], n->in_size[k]);
}

/* A stack view of t (an output gradient or a saved output of the reduction) that broadcasts
 * against input 0: the reduced dim is put back with size 1 when it was dropped. dim < 0 (all
 * elements) needs nothing: t is 0-dim. */
static lt_tensor unreduce(const lt_tensor *t, const lt_node *n, int dim, int keepdim)
{
    lt_tensor v = *t;
    if (dim >= 0 && !keepdim && n->in_ndim[0] > 0) lt_unsqueeze(&v, dim);
    return v;
}

/* The same, further expanded to input 0's shape. */
static int unreduce_expanded(lt_tensor *v, const lt_tensor *t, const lt_node *n, int dim,
                             int keepdim)
{
    *v = unreduce(t, n, dim, keepdim);
    return lt_expand(v, n->in_ndim[0], n->in_size[0]);
}

/* Records a one-output node over a; *out_node receives it (NULL when nothing needs grad). */
static int begin(lt_node **nd, const char *name, lt_backward_fn fn, lt_tensor *a)
{
    lt_tensor *ins[1] = {a};
    *nd = NULL;
    if (!lt_needs_grad(1, (const lt_tensor *const *)ins)) return LT_OK;
    *nd = lt_node_new(name, fn, 1, ins, 1);
    return *nd ? LT_OK : LT_ERR;
}

/* Attaches the node to out and drops the recorder's reference; on error just drops it. */
static int finish(lt_node *nd, lt_tensor *out, int st)
{
    if (st == LT_OK) lt_node_set_output(nd, out, 0);
    lt_node_release(nd);
    return st;
}

/* Number of elements of input 0 along dim (dim < 0: all of them). */
static int64_t reduced_count(const lt_node *n, int dim)
{
    int64_t c = 1;
    if (dim < 0) {
        for (int i = 0; i < n->in_ndim[0]; i++) c *= n->in_size[0][i];
    } else if (n->in_ndim[0] > 0) {
        c = n->in_size[0][dim];
    }
    return c;
}

/* ---- line kernels: one pass per slice along dim -------------------------------------------- */

typedef enum {
    LK_PROD,     /* o[r] = g[r] * prod_{j != r} x[j]                          */
    LK_REVSUM,   /* o[r] = sum_{j >= r} g[j]           (cumsum backward)      */
    LK_CUMPROD   /* o[r] = sum_{j >= r} g[j] * prod_{k <= j, k != r} x[k]     */
} line_kind;

typedef struct { int64_t R, os, xs, gs; line_kind kind; } line_ctx;

#define LINE_LOOP(T)                                                                         \
    static void lines_##T(char **ptr, const int64_t *inner, int64_t n, const void *vctx)     \
    {                                                                                        \
        const line_ctx *c = vctx;                                                            \
        int64_t R = c->R, os = c->os, xs = c->xs, gs = c->gs;                                \
        for (int64_t j = 0; j < n; j++) {                                                    \
            T *o = (T *)ptr[0] + j * inner[0];                                               \
            const T *x = (const T *)ptr[1] + j * inner[1];                                   \
            const T *g = (const T *)ptr[2] + j * inner[2];                                   \
            double acc;                                                                      \
            switch (c->kind) {                                                               \
            case LK_PROD: /* suffix products, then prefix products times g */               \
                acc = 1;                                                                     \
                for (int64_t r = R - 1; r >= 0; r--) {                                       \
                    o[r * os] = (T)acc;                                                      \
                    acc *= (double)x[r * xs];                                                \
                }                                                                            \
                acc = 1;                                                                     \
                for (int64_t r = 0; r < R; r++) {                                            \
                    o[r * os] = (T)((double)o[r * os] * acc * (double)g[r * gs]);            \
                    acc *= (double)x[r * xs];                                                \
                }                                                                            \
                break;                                                                       \
            case LK_REVSUM:                                                                  \
                acc = 0;                                                                     \
                for (int64_t r = R - 1; r >= 0; r--) {                                       \
                    acc += (double)g[r * gs];                                                \
                    o[r * os] = (T)acc;                                                      \
                }                                                                            \
                break;                                                                       \
            case LK_CUMPROD: /* T(r) right to left, then times the exclusive prefix */      \
                acc = 0;                                                                     \
                for (int64_t r = R - 1; r >= 0; r--) {                                       \
                    if (r < R - 1) acc *= (double)x[(r + 1) * xs];                           \
                    acc += (double)g[r * gs];                                                \
                    o[r * os] = (T)acc;                                                      \
                }                                                                            \
                acc = 1;                                                                     \
                for (int64_t r = 0; r < R; r++) {                                            \
                    o[r * os] = (T)((double)o[r * os] * acc);                                \
                    acc *= (double)x[r * xs];                                                \
                }                                                                            \
                break;                                                                       \
            }                                                                                \
        }                                                                                    \
    }

LINE_LOOP(float)
LINE_LOOP(double)

/* Runs a line kernel over every slice along dim. o (fresh), x and g have one ndim >= 1; o and
 * x the same shape; g either that shape or size 1 along dim (one value per slice), and it may
 * broadcast in the other dims. Each slice is handled by one thread, in order: deterministic. */
static int run_lines(lt_tensor *o, const lt_tensor *x, const lt_tensor *g, int dim,
                     line_kind kind)
{
    if (lt_numel(o) == 0) return LT_OK;
    if (o->dtype != LT_FLOAT32 && o->dtype != LT_FLOAT64)
        return lt_error("gradients need a Float or Double tensor");
    LT_GPU_ROUTE(NULL, lt_gpu_grad_lines(o, x, g, dim, (int)kind), o, x, g);
    lt_tensor o1 = *o, x1 = *x, g1 = *g;
    line_ctx c = {o->size[dim], o->stride[dim], x->stride[dim],
                  g->size[dim] == 1 ? 0 : g->stride[dim], kind};
    o1.size[dim] = x1.size[dim] = g1.size[dim] = 1;
    lt_iter it;
    const lt_tensor *ops[3] = {&o1, &x1, &g1};
    if (lt_iter_init(&it, 3, ops)) return LT_ERR;
    lt_iter_run_work(&it, o->dtype == LT_FLOAT32 ? lines_float : lines_double, &c,
                     it.numel * c.R);
    return LT_OK;
}

/* ---- sum and mean ------------------------------------------------------------------------ */
/* i[0] = dim (-1: all), i[1] = keepdim, d[0] = the scale (1, or 1/N for mean) */

static int sum_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    if (!n->next[0]) return LT_OK;
    lt_tensor gv;
    if (unreduce_expanded(&gv, gout[0], n, (int)n->i[0], (int)n->i[1])) return LT_ERR;
    lt_tensor *r = new_input(n, 0, gout[0]);
    if (!r) return LT_ERR;
    int st = n->d[0] == 1 ? lt_copy(r, &gv) : lt_binary_scalar(r, LT_OP_MUL, &gv, n->d[0]);
    if (st) {
        lt_tensor_release(r);
        return LT_ERR;
    }
    gin[0] = r;
    return LT_OK;
}

/* ---- prod -------------------------------------------------------------------------------- */
/* saved[0] = a; i[0] = dim (-1: all), i[1] = keepdim */

static int prod_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    if (!n->next[0]) return LT_OK;
    lt_tensor *a = lt_node_saved(n, 0);
    if (!a) return LT_ERR;
    int dim = (int)n->i[0];
    lt_tensor *r = new_input(n, 0, gout[0]), *flat = NULL;
    if (!r) return LT_ERR;
    int st;
    if (dim < 0) {
        /* every element is one slice: run on flat 1-d views (a copied when not contiguous) */
        int64_t N = lt_numel(a);
        flat = lt_tensor_empty(a->dtype);
        st = flat ? lt_contiguous(flat, a) : LT_ERR;
        if (st == LT_OK) {
            lt_tensor x1 = *flat, o1 = *r, g1 = *gout[0];
            x1.ndim = o1.ndim = g1.ndim = 1;
            x1.size[0] = o1.size[0] = N;
            x1.stride[0] = o1.stride[0] = 1;
            g1.size[0] = 1;
            g1.stride[0] = 0;
            st = run_lines(&o1, &x1, &g1, 0, LK_PROD);
        }
    } else {
        lt_tensor o1 = lt_as_1d(r), x1 = lt_as_1d(a), gu = unreduce(gout[0], n, dim, (int)n->i[1]);
        lt_tensor g1 = lt_as_1d(&gu);
        st = run_lines(&o1, &x1, &g1, dim, LK_PROD);
    }
    lt_tensor_release(flat);
    if (st) {
        lt_tensor_release(r);
        return LT_ERR;
    }
    gin[0] = r;
    return LT_OK;
}

/* cnt (a float tensor) = how many elements of each slice the uint8 mask selects, shaped like
 * the unreduced output: 0-dim for dim < 0 (all elements), else size 1 along dim. */
static int slice_count(lt_tensor *cnt, const lt_tensor *mask, int dim, int nd0)
{
    int64_t none[1] = {0};
    if (dim < 0) {
        double k;
        if (lt_reduce_all(&k, LT_RED_SUM, mask) || lt_resize(cnt, 0, none)) return LT_ERR;
        return lt_fill(cnt, k);
    }
    lt_tensor *c = lt_tensor_empty(LT_INT64);
    if (!c) return LT_ERR;
    lt_tensor m1 = lt_as_1d(mask);
    int st = lt_reduce_dim(c, LT_RED_SUM, &m1, dim, 1);
    if (st == LT_OK && nd0 == 0) st = lt_squeeze(c);
    if (st == LT_OK) st = lt_resize(cnt, c->ndim, c->size);
    if (st == LT_OK) st = lt_copy(cnt, c);
    lt_tensor_release(c);
    return st;
}

/* ---- max/min shared among ties (max(), min(), amax/amin along a dim) -------------------- */
/* saved[0] = a, saved[1] = out; i[0] = dim (-1: all), i[1] = keepdim */

static int even_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    if (!n->next[0]) return LT_OK;
    lt_tensor *a = lt_node_saved(n, 0), *out = a ? lt_node_saved(n, 1) : NULL;
    if (!out) return LT_ERR;
    int dim = (int)n->i[0], keep = (int)n->i[1];
    lt_tensor ov = unreduce(out, n, dim, keep), gv = unreduce(gout[0], n, dim, keep);
    lt_tensor *mask = lt_tensor_empty(LT_UINT8), *nan_a = lt_tensor_empty(LT_UINT8);
    lt_tensor *nan_o = lt_tensor_empty(LT_UINT8);
    lt_tensor *q = lt_tensor_uninit_on(lt_device(a), a->dtype, 0, NULL);
    lt_tensor *r = new_input(n, 0, gout[0]);
    int st = mask && nan_a && nan_o && q && r ? LT_OK : LT_ERR;
    /* mask: equal to the result, or NaN where the result is NaN */
    if (st == LT_OK) st = lt_compare(mask, LT_CMP_EQ, a, &ov);
    if (st == LT_OK) st = lt_compare(nan_a, LT_CMP_NE, a, a);
    if (st == LT_OK) st = lt_compare(nan_o, LT_CMP_NE, &ov, &ov);
    if (st == LT_OK) st = lt_binary(nan_a, LT_OP_MUL, nan_a, nan_o, 1);
    if (st == LT_OK) st = lt_binary(mask, LT_OP_ADD, mask, nan_a, 1);
    /* q = g / (number of elements sharing the result) */
    if (st == LT_OK) st = slice_count(q, mask, dim, n->in_ndim[0]);
    if (st == LT_OK) st = lt_binary(q, LT_OP_DIV, &gv, q, 1);
    if (st == LT_OK) st = lt_copy(r, mask);
    if (st == LT_OK) st = lt_binary(r, LT_OP_MUL, r, q, 1);
    lt_tensor_release(mask);
    lt_tensor_release(nan_a);
    lt_tensor_release(nan_o);
    lt_tensor_release(q);
    if (st) {
        lt_tensor_release(r);
        return LT_ERR;
    }
    gin[0] = r;
    return LT_OK;
}

static int rec_even(lt_tensor *out, lt_tensor *a, int dim, int keepdim, const char *name)
{
    lt_node *nd;
    if (begin(&nd, name, even_backward, a)) return LT_ERR;
    if (!nd) return LT_OK;
    nd->i[0] = dim;
    nd->i[1] = keepdim;
    int st = lt_node_save(nd, a) < 0 ? LT_ERR : LT_OK;
    if (st == LT_OK && lt_node_save(nd, out) < 0) st = LT_ERR;
    return finish(nd, out, st);
}

int lt_rec_maxmin_all(lt_tensor *out, lt_tensor *a, int want_max)
{
    return rec_even(out, a, -1, 0, want_max ? "MaxBackward" : "MinBackward");
}

/* ---- gradients through indices: max/min along a dim, sort, topk ------------------------ */
/* saved[0] = a private copy of the 0-based indices; i[0] = dim, i[1] = keepdim */

static int scatter_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    if (!n->next[0]) return LT_OK;
    lt_tensor *idx = lt_node_saved(n, 0);
    if (!idx) return LT_ERR;
    int dim = (int)n->i[0], keep = (int)n->i[1];
    lt_tensor *r = new_input(n, 0, gout[0]);
    if (!r) return LT_ERR;
    int st;
    if (n->in_ndim[0] == 0) {
        st = lt_copy(r, gout[0]);  /* a scalar's only element was selected */
    } else {
        lt_tensor gv = unreduce(gout[0], n, dim, keep), iv = unreduce(idx, n, dim, keep);
        st = lt_fill(r, 0);
        if (st == LT_OK) st = lt_scatter_add(r, dim, &iv, &gv);
    }
    if (st) {
        lt_tensor_release(r);
        return LT_ERR;
    }
    gin[0] = r;
    return LT_OK;
}

/* A node that scatters the gradient of values back through indices (a private copy). */
static int rec_scatter(lt_tensor *values, lt_tensor *indices, lt_tensor *a, int dim,
                       int keepdim, const char *name)
{
    lt_node *nd;
    if (begin(&nd, name, scatter_backward, a)) return LT_ERR;
    if (!nd) return LT_OK;
    nd->i[0] = dim;
    nd->i[1] = keepdim;
    lt_tensor *copy = lt_tensor_empty(LT_INT64);
    int st = copy ? lt_clone(copy, indices) : LT_ERR;
    if (st == LT_OK && lt_node_save(nd, copy) < 0) st = LT_ERR;
    lt_tensor_release(copy);
    return finish(nd, values, st);
}

int lt_rec_maxmin_dim(lt_tensor *values, lt_tensor *indices, lt_tensor *a, int dim, int keepdim)
{
    /* the binding renames the node MinBackward for min: the indices do not say which */
    return rec_scatter(values, indices, a, dim, keepdim, "MaxBackward");
}

int lt_rec_sort(lt_tensor *values, lt_tensor *indices, lt_tensor *a, int dim)
{
    return rec_scatter(values, indices, a, dim, 1, "SortBackward");
}

/* ---- sum / mean / prod / max / min: entry points ----------------------------------------- */

static int rec_reduce(lt_tensor *out, lt_reduce_op op, lt_tensor *a, int dim, int keepdim)
{
    static const char *names[LT_NRED] = {"SumBackward", "MeanBackward", "ProdBackward",
                                         "AmaxBackward", "AminBackward"};
    if (op < 0 || op >= LT_NRED) return lt_error("unknown reduction %d", (int)op);
    if (op == LT_RED_MAX || op == LT_RED_MIN) {
        if (dim < 0) return lt_rec_maxmin_all(out, a, op == LT_RED_MAX);
        return rec_even(out, a, dim, keepdim, names[op]);
    }
    lt_node *nd;
    if (begin(&nd, names[op], op == LT_RED_PROD ? prod_backward : sum_backward, a))
        return LT_ERR;
    if (!nd) return LT_OK;
    nd->i[0] = dim;
    nd->i[1] = keepdim;
    nd->d[0] = 1;
    if (op == LT_RED_MEAN) nd->d[0] = 1.0 / (double)reduced_count(nd, dim);
    int st = LT_OK;
    if (op == LT_RED_PROD && lt_node_save(nd, a) < 0) st = LT_ERR;
    return finish(nd, out, st);
}

int lt_rec_reduce_all(lt_tensor *out, lt_reduce_op op, lt_tensor *a)
{
    return rec_reduce(out, op, a, -1, 0);
}

int lt_rec_reduce_dim(lt_tensor *out, lt_reduce_op op, lt_tensor *a, int dim, int keepdim)
{
    return rec_reduce(out, op, a, dim, keepdim);
}

/* ---- var / std --------------------------------------------------------------------------- */
/* saved[0] = a, saved[1] = out (std only); i[0] = dim (-1: all), i[1] = keepdim,
 * i[2] = unbiased, i[3] = take_sqrt */

static int var_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    if (!n->next[0]) return LT_OK;
    int dim = (int)n->i[0], keep = (int)n->i[1], sq = (int)n->i[3];
    lt_tensor *a = lt_node_saved(n, 0), *out = NULL;
    if (!a) return LT_ERR;
    if (sq && !(out = lt_node_saved(n, 1))) return LT_ERR;
    double denom = (double)(reduced_count(n, dim) - n->i[2]);
    lt_tensor gv = unreduce(gout[0], n, dim, keep);
    lt_tensor *mean = lt_tensor_empty(a->dtype), *s = lt_tensor_empty(a->dtype);
    lt_tensor *zero = lt_tensor_empty(LT_UINT8), *r = new_input(n, 0, gout[0]);
    int st = mean && s && zero && r ? LT_OK : LT_ERR;
    /* r = a - mean */
    if (st == LT_OK && dim < 0) {
        double m;
        st = lt_reduce_all(&m, LT_RED_MEAN, a);
        if (st == LT_OK) st = lt_binary_scalar(r, LT_OP_SUB, a, m);
    } else if (st == LT_OK) {
        lt_tensor a1 = lt_as_1d(a);
        st = lt_reduce_dim(mean, LT_RED_MEAN, &a1, dim, 1);
        if (st == LT_OK && n->in_ndim[0] == 0) st = lt_squeeze(mean);
        if (st == LT_OK) st = lt_binary(r, LT_OP_SUB, a, mean, 1);
    }
    /* s = g * 2 / denom (var), or g / (std * denom) with 0 where std == 0 (std) */
    if (st == LT_OK && !sq) {
        st = lt_binary_scalar(s, LT_OP_MUL, &gv, 2.0 / denom);
    } else if (st == LT_OK) {
        lt_tensor ov = unreduce(out, n, dim, keep);
        st = lt_binary(s, LT_OP_DIV, &gv, &ov, 1);
        if (st == LT_OK) st = lt_compare_scalar(zero, LT_CMP_EQ, &ov, 0);
        if (st == LT_OK) st = lt_masked_fill(s, zero, 0);
        if (st == LT_OK) st = lt_binary_scalar(s, LT_OP_DIV, s, denom);
    }
    if (st == LT_OK) st = lt_binary(r, LT_OP_MUL, r, s, 1);
    lt_tensor_release(mean);
    lt_tensor_release(s);
    lt_tensor_release(zero);
    if (st) {
        lt_tensor_release(r);
        return LT_ERR;
    }
    gin[0] = r;
    return LT_OK;
}

int lt_rec_var(lt_tensor *out, lt_tensor *a, int dim, int unbiased, int keepdim, int take_sqrt)
{
    lt_node *nd;
    if (begin(&nd, take_sqrt ? "StdBackward" : "VarBackward", var_backward, a)) return LT_ERR;
    if (!nd) return LT_OK;
    nd->i[0] = dim;
    nd->i[1] = keepdim;
    nd->i[2] = unbiased ? 1 : 0;
    nd->i[3] = take_sqrt ? 1 : 0;
    int st = lt_node_save(nd, a) < 0 ? LT_ERR : LT_OK;
    if (st == LT_OK && take_sqrt && lt_node_save(nd, out) < 0) st = LT_ERR;
    return finish(nd, out, st);
}

/* ---- norms ------------------------------------------------------------------------------- */
/* saved[0] = a, saved[1] = out; d[0] = p; i[0] = dim (-1: all), i[1] = keepdim */

typedef struct { double p; } norm_ctx;

#define NORM_LOOP(T)                                                                         \
    static void norm_##T(char **ptr, const int64_t *s, int64_t n, const void *vctx)          \
    {                                                                                        \
        double p = ((const norm_ctx *)vctx)->p;                                              \
        T *o = (T *)ptr[0];                                                                  \
        const T *x = (const T *)ptr[1], *g = (const T *)ptr[2], *nr = (const T *)ptr[3];     \
        const T *c = (const T *)ptr[4];                                                      \
        for (int64_t i = 0; i < n; i++)                                                      \
            o[i * s[0]] = (T)lt_norm_grad_elem((double)x[i * s[1]], (double)g[i * s[2]],     \
                                               (double)nr[i * s[3]], (double)c[i * s[4]],    \
                                               p);                                           \
    }
NORM_LOOP(float)
NORM_LOOP(double)

/* For p = +-inf: how many elements per slice have |x| == norm (or are NaN), as a tensor of
 * a's dtype shaped like the unreduced output. */
static int inf_count(lt_tensor *cnt, const lt_tensor *a, const lt_tensor *ov, int dim, int nd0)
{
    lt_tensor *ab = lt_tensor_empty(a->dtype), *m = lt_tensor_empty(LT_UINT8);
    lt_tensor *m2 = lt_tensor_empty(LT_UINT8);
    int st = ab && m && m2 ? LT_OK : LT_ERR;
    if (st == LT_OK) st = lt_unary(ab, LT_OP_ABS, a);
    if (st == LT_OK) st = lt_compare(m, LT_CMP_EQ, ab, ov);
    if (st == LT_OK) st = lt_compare(m2, LT_CMP_NE, ab, ab);
    if (st == LT_OK) st = lt_binary(m, LT_OP_ADD, m, m2, 1);
    if (st == LT_OK) st = slice_count(cnt, m, dim, nd0);
    lt_tensor_release(ab);
    lt_tensor_release(m);
    lt_tensor_release(m2);
    return st;
}

/* r = norm_elem over a, g, the norm and the count (broadcast to r). */
static int norm_grad_run(lt_tensor *r, const lt_tensor *a, const lt_tensor *g,
                         const lt_tensor *nrm, const lt_tensor *cnt, const norm_ctx *c)
{
    LT_GPU_ROUTE(r, lt_gpu_norm_grad(r, a, g, nrm, cnt, c->p), a, g, nrm, cnt);
    lt_iter it;
    const lt_tensor *ops[5] = {r, a, g, nrm, cnt};
    if (lt_iter_init(&it, 5, ops)) return LT_ERR;
    lt_iter_run(&it, a->dtype == LT_FLOAT32 ? norm_float : norm_double, c, 0);
    return LT_OK;
}

static int norm_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    if (!n->next[0]) return LT_OK;
    lt_tensor *a = lt_node_saved(n, 0), *out = a ? lt_node_saved(n, 1) : NULL;
    if (!out) return LT_ERR;
    int dim = (int)n->i[0], keep = (int)n->i[1];
    norm_ctx c = {n->d[0]};
    lt_tensor gv = unreduce(gout[0], n, dim, keep), ov = unreduce(out, n, dim, keep);
    lt_tensor *cnt = NULL, *r = new_input(n, 0, gout[0]);
    int st = r ? LT_OK : LT_ERR;
    if (st == LT_OK && isinf(c.p)) {
        cnt = lt_tensor_uninit_on(lt_device(a), a->dtype, 0, NULL);
        st = cnt ? inf_count(cnt, a, &ov, dim, n->in_ndim[0]) : LT_ERR;
    }
    if (st == LT_OK) st = norm_grad_run(r, a, &gv, &ov, cnt ? cnt : &ov, &c);
    lt_tensor_release(cnt);
    if (st) {
        lt_tensor_release(r);
        return LT_ERR;
    }
    gin[0] = r;
    return LT_OK;
}

int lt_rec_norm(lt_tensor *out, lt_tensor *a, double p, int dim, int keepdim)
{
    lt_node *nd;
    if (begin(&nd, "NormBackward", norm_backward, a)) return LT_ERR;
    if (!nd) return LT_OK;
    if (!lt_dtype_is_float(a->dtype)) {
        lt_node_release(nd);
        return lt_error("norm: gradients need a Float or Double tensor");
    }
    nd->d[0] = p;
    nd->i[0] = dim;
    nd->i[1] = keepdim;
    int st = lt_node_save(nd, a) < 0 ? LT_ERR : LT_OK;
    if (st == LT_OK && lt_node_save(nd, out) < 0) st = LT_ERR;
    return finish(nd, out, st);
}

/* ---- cumsum / cumprod -------------------------------------------------------------------- */
/* i[0] = dim, i[1] = 1 for cumprod; cumprod: saved[0] = a */

static int cum_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    if (!n->next[0]) return LT_OK;
    int prod = (int)n->i[1];
    lt_tensor *a = NULL;
    if (prod && !(a = lt_node_saved(n, 0))) return LT_ERR;
    lt_tensor *r = new_input(n, 0, gout[0]);
    if (!r) return LT_ERR;
    lt_tensor o1 = lt_as_1d(r), g1 = lt_as_1d(gout[0]), x1 = prod ? lt_as_1d(a) : g1;
    int st = run_lines(&o1, &x1, &g1, (int)n->i[0], prod ? LK_CUMPROD : LK_REVSUM);
    if (st) {
        lt_tensor_release(r);
        return LT_ERR;
    }
    gin[0] = r;
    return LT_OK;
}

static int rec_cum(lt_tensor *out, lt_tensor *a, int dim, int prod)
{
    lt_node *nd;
    if (begin(&nd, prod ? "CumprodBackward" : "CumsumBackward", cum_backward, a))
        return LT_ERR;
    if (!nd) return LT_OK;
    nd->i[0] = dim;
    nd->i[1] = prod;
    int st = LT_OK;
    if (prod && lt_node_save(nd, a) < 0) st = LT_ERR;
    return finish(nd, out, st);
}

int lt_rec_cumsum(lt_tensor *out, lt_tensor *a, int dim) { return rec_cum(out, a, dim, 0); }
int lt_rec_cumprod(lt_tensor *out, lt_tensor *a, int dim) { return rec_cum(out, a, dim, 1); }
