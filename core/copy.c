/*
 * copy.c — moving elements between tensors: copy with dtype conversion and broadcasting,
 * fill, contiguous/clone/reshape, cat and stack.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bf16.h"
#include "lt_hd.h"
#include "lt_internal.h"

/* the conversions (lt_f2i64, lt_f2u8, lt_i2u8) are lt_hd.h's: gpu/copy.cu uses the same.
 * lt_copy sends overlapping views through a temporary, so the loops may vectorise (LT_SIMD),
 * in wide clones (LT_WIDE_CLONES): a Linear's bias rows and the chunks autograd assembles are
 * cache-resident copies, bound by the store width (a 100 x 512 bias broadcast: 5.0 us with
 * 16-byte stores). */
static inline float f2f(double v) { return (float)v; }

#define COPY_LOOP(NAME, TD, TS, CONV)                                                       \
    LT_WIDE_CLONES static void NAME(char **p, const int64_t *s, int64_t n,                  \
                                    const void *ctx)                                        \
    {                                                                                       \
        (void)ctx;                                                                          \
        TD *d = (TD *)p[0];                                                                 \
        const TS *x = (const TS *)p[1];                                                     \
        if (s[0] == 1 && s[1] == 1) {                                                       \
            LT_SIMD for (int64_t i = 0; i < n; i++) d[i] = CONV(x[i]);                      \
        } else if (s[0] == 1 && s[1] == 0) {  /* fill, and broadcast rows */                \
            const TD v = CONV(x[0]);                                                        \
            LT_SIMD for (int64_t i = 0; i < n; i++) d[i] = v;                               \
        } else                                                                              \
            for (int64_t i = 0; i < n; i++) d[i * s[0]] = CONV(x[i * s[1]]);                \
    }

#define SAME(v) (v)
COPY_LOOP(copy_f_f, float, float, SAME)
COPY_LOOP(copy_f_d, float, double, f2f)
COPY_LOOP(copy_f_l, float, int64_t, (float))
COPY_LOOP(copy_f_b, float, uint8_t, (float))
COPY_LOOP(copy_d_f, double, float, (double))
COPY_LOOP(copy_d_d, double, double, SAME)
COPY_LOOP(copy_d_l, double, int64_t, (double))
COPY_LOOP(copy_d_b, double, uint8_t, (double))
COPY_LOOP(copy_l_f, int64_t, float, lt_f2i64)
COPY_LOOP(copy_l_d, int64_t, double, lt_f2i64)
COPY_LOOP(copy_l_l, int64_t, int64_t, SAME)
COPY_LOOP(copy_l_b, int64_t, uint8_t, (int64_t))
COPY_LOOP(copy_b_f, uint8_t, float, lt_f2u8)
COPY_LOOP(copy_b_d, uint8_t, double, lt_f2u8)
COPY_LOOP(copy_b_l, uint8_t, int64_t, lt_i2u8)
COPY_LOOP(copy_b_b, uint8_t, uint8_t, SAME)
/* bfloat16 goes through float32 both ways, as PyTorch's c10::BFloat16 does: a double or an
 * int64 is rounded to float first, then to bfloat16 (nearest even). */
static inline lt_bf16 d2h(double v) { return lt_f32_to_bf16((float)v); }
static inline double h2d(lt_bf16 v) { return lt_bf16_to_f32(v); }
static inline int64_t h2l(lt_bf16 v) { return lt_f2i64(lt_bf16_to_f32(v)); }
static inline uint8_t h2b(lt_bf16 v) { return lt_f2u8(lt_bf16_to_f32(v)); }
COPY_LOOP(copy_f_h, float, lt_bf16, lt_bf16_to_f32)
COPY_LOOP(copy_d_h, double, lt_bf16, h2d)
COPY_LOOP(copy_l_h, int64_t, lt_bf16, h2l)
COPY_LOOP(copy_b_h, uint8_t, lt_bf16, h2b)
COPY_LOOP(copy_h_f, lt_bf16, float, lt_f32_to_bf16)
COPY_LOOP(copy_h_d, lt_bf16, double, d2h)
COPY_LOOP(copy_h_l, lt_bf16, int64_t, d2h)
COPY_LOOP(copy_h_b, lt_bf16, uint8_t, d2h)
COPY_LOOP(copy_h_h, lt_bf16, lt_bf16, SAME)

/* copy_loops[dst dtype][src dtype] */
static const lt_loop_fn copy_loops[LT_NDTYPES][LT_NDTYPES] = {
    [LT_FLOAT32] = {copy_f_f, copy_f_d, copy_f_l, copy_f_b, copy_f_h},
    [LT_FLOAT64] = {copy_d_f, copy_d_d, copy_d_l, copy_d_b, copy_d_h},
    [LT_INT64] = {copy_l_f, copy_l_d, copy_l_l, copy_l_b, copy_l_h},
    [LT_UINT8] = {copy_b_f, copy_b_d, copy_b_l, copy_b_b, copy_b_h},
    [LT_BFLOAT16] = {copy_h_f, copy_h_d, copy_h_l, copy_h_b, copy_h_h},
};

/* Rows of at least this many bytes with unit stride on both sides (and one dtype) copy by
 * memcpy, one row at a time, when the copy is too small for threads: the typed loop's per-row
 * set-up cost more on short rows (a batch-first 28-wide sequence seen time-major: 0.7% of the
 * seed's GRU step). */
#define COPY_ROW_MIN_BYTES 64

/* the iterator's rows (its innermost dim), each by memcpy, the outer dims walked in order */
static void copy_rows(const lt_iter *it)
{
    int last = it->ndim - 1;
    size_t n = (size_t)it->size[last] * it->elsize[0];
    int64_t idx[LT_MAXDIM] = {0}, rows = it->numel / it->size[last];
    char *d = it->data[0];
    const char *s = it->data[1];
    for (int64_t r = 0; r < rows; r++) {
        memcpy(d, s, n);
        for (int k = last - 1; k >= 0; k--) {  /* next row: an odometer over the outer dims */
            d += it->stride[0][k] * (int64_t)it->elsize[0];
            s += it->stride[1][k] * (int64_t)it->elsize[1];
            if (++idx[k] < it->size[k]) break;
            d -= it->size[k] * it->stride[0][k] * (int64_t)it->elsize[0];
            s -= it->size[k] * it->stride[1][k] * (int64_t)it->elsize[1];
            idx[k] = 0;
        }
    }
}

/* A 2-D copy whose source runs down the destination's columns (a transpose, x:t():contiguous()):
 * tile by tile, so that the cache lines a tile reads on either side are used whole before they
 * leave (element by element, every source read was a new line: 1000 x 1000 floats 0.69 ms, 1.3x
 * PyTorch's). Rows [r0, r1) of the destination; a bit copy, so one loop per element size. */
#define TR_TILE 16
#define DEF_TRANSPOSE(T)                                                                     \
    static void transpose_##T(const lt_iter *it, int64_t r0, int64_t r1)                    \
    {                                                                                        \
        int64_t C = it->size[1], ds = it->stride[0][0], ss = it->stride[1][1];               \
        T *d = (T *)it->data[0];                                                             \
        const T *src = (const T *)it->data[1];                                               \
        for (int64_t i0 = r0; i0 < r1; i0 += TR_TILE) {                                      \
            int64_t i1 = i0 + TR_TILE < r1 ? i0 + TR_TILE : r1;                              \
            for (int64_t j0 = 0; j0 < C; j0 += TR_TILE) {                                    \
                int64_t j1 = j0 + TR_TILE < C ? j0 + TR_TILE : C;                            \
                for (int64_t i = i0; i < i1; i++)                                            \
                    for (int64_t j = j0; j < j1; j++) d[i * ds + j] = src[i + j * ss];       \
            }                                                                                \
        }                                                                                    \
    }
DEF_TRANSPOSE(uint8_t)
DEF_TRANSPOSE(uint16_t)
DEF_TRANSPOSE(uint32_t)
DEF_TRANSPOSE(uint64_t)

static void transpose_rows(void *ctx, int64_t r0, int64_t r1)
{
    const lt_iter *it = ctx;
    switch (it->elsize[0]) {
    case 1: transpose_uint8_t(it, r0, r1); break;
    case 2: transpose_uint16_t(it, r0, r1); break;
    case 4: transpose_uint32_t(it, r0, r1); break;
    default: transpose_uint64_t(it, r0, r1); break;
    }
}

/* whether it (dst, src) is such a transpose: two dims, one dtype, unit stride along dst's rows
 * and down src's columns, both dims longer than a tile */
static int is_transpose(const lt_iter *it, const lt_tensor *dst, const lt_tensor *src)
{
    return it->ndim == 2 && dst->dtype == src->dtype && it->stride[0][1] == 1 &&
           it->stride[1][0] == 1 && it->stride[1][1] != 1 && it->size[0] >= TR_TILE &&
           it->size[1] >= TR_TILE;
}

int lt_copy(lt_tensor *dst, const lt_tensor *src)
{
    /* Torch7 copies between any two shapes with the same element count; we do that when
     * both are contiguous, and otherwise broadcast src to dst as PyTorch does. */
    if (!lt_same_shape(dst, src) && lt_numel(dst) == lt_numel(src) && lt_is_contiguous(dst) &&
        lt_is_contiguous(src)) {
        lt_tensor flat = *src;
        flat.ndim = dst->ndim;
        memcpy(flat.size, dst->size, sizeof flat.size);
        memcpy(flat.stride, dst->stride, sizeof flat.stride);
        return lt_copy(dst, &flat);
    }
    if (lt_is_expanded(dst))
        return lt_error("cannot copy into an expanded tensor (clone it first)");
    if (lt_same_layout(dst, src)) return LT_OK;
#ifdef LT_HAVE_CUDA
    if ((dst->dtype == LT_BFLOAT16 || src->dtype == LT_BFLOAT16) &&
        (lt_device(dst) != LT_CPU || lt_device(src) != LT_CPU))
        return lt_error("not supported for torch.BFloat16Tensor (convert with :float()); "
                        "BFloat16 tensors live in host memory");
    /* within a device, or across: gpu/copy.cu has the same rules */
    if (lt_device(dst) != LT_CPU || lt_device(src) != LT_CPU) return lt_gpu_copy(dst, src);
#endif
    lt_tensor *tmp = NULL;
    const lt_tensor *from = src;
    if (lt_shares_storage(dst, src)) {  /* overlapping views: go through a temporary */
        tmp = lt_tensor_uninit_on(lt_device(src), src->dtype, src->ndim, src->size);
        if (!tmp) return LT_ERR;
        if (lt_copy(tmp, src)) {
            lt_tensor_release(tmp);
            return LT_ERR;
        }
        from = tmp;
    }
    lt_iter it;
    const lt_tensor *ops[2] = {dst, from};
    int st = lt_iter_init(&it, 2, ops);
    if (st == LT_OK && it.numel > 0) {  /* empty: data may be NULL, which memcpy must not see */
        int last = it.ndim - 1;
        int rows = dst->dtype == from->dtype && it.stride[0][last] == 1 &&
                   it.stride[1][last] == 1;
        int64_t chunks = lt_par_chunks(0, 2.0 * (double)it.numel * (double)it.elsize[0]);
        if (rows && it.ndim == 1)
            memcpy(it.data[0], it.data[1], (size_t)it.numel * it.elsize[0]);
        else if (is_transpose(&it, dst, from))
            lt_parallel_range(chunks, it.size[0], transpose_rows, &it);
        else if (rows && it.size[last] * (int64_t)it.elsize[0] >= COPY_ROW_MIN_BYTES &&
                 chunks <= 1)
            copy_rows(&it);  /* (a copy big enough for threads stays on the parallel loop) */
        else
            lt_iter_run(&it, copy_loops[dst->dtype][from->dtype], NULL, 0);
        lt_storage_bump(dst);
    }
    lt_tensor_release(tmp);
    return st;
}

typedef struct {
    lt_tensor *const *dst;
    const lt_tensor *const *src;
    const lt_iter *its;   /* (n) */
    const char *fast;     /* (n) 1: copied here, in chunks */
    int n;
    int64_t chunks;
} copy_job;

/* chunk c of every piece (each piece cut in the same number of ranges) */
static void copy_chunk(void *p, int64_t c)
{
    const copy_job *j = p;
    for (int k = 0; k < j->n; k++) {
        if (!j->fast[k]) continue;
        int64_t lo, hi;
        lt_par_range(j->its[k].numel, j->chunks, c, &lo, &hi);
        if (hi > lo)
            lt_iter_run_range(&j->its[k], copy_loops[j->dst[k]->dtype][j->src[k]->dtype], NULL,
                              lo, hi);
    }
}

/* dst[k] <- src[k] for every k, as n lt_copy calls would (a NULL src: zeros, as lt_fill), but
 * with the host copies between same-shape, non-overlapping tensors run in ONE parallel region:
 * the pieces of a cat or of a split's gradient are small, and a region per piece waits for
 * every thread each time (the seed cell's chunk gradient: 4 regions per time step). The dsts
 * must not overlap one another. */
int lt_copy_many(lt_tensor *const *dst, const lt_tensor *const *src, int n)
{
    lt_iter *its = malloc((size_t)(n > 0 ? n : 1) * sizeof *its);
    char *fast = calloc((size_t)(n > 0 ? n : 1), 1);
    if (!its || !fast) {
        free(its), free(fast);
        return lt_error("out of memory");
    }
    int st = LT_OK;
    for (int k = 0; k < n && st == LT_OK; k++) {
        const lt_tensor *d = dst[k], *x = src[k];
        int one = x && lt_same_shape(d, x) && lt_device(d) == LT_CPU && lt_device(x) == LT_CPU &&
                  !lt_is_expanded(d);
        for (int j = 0; one && j < n; j++) one = !lt_shares_storage(dst[j], x);
        if (one) {
            const lt_tensor *ops[2] = {d, x};
            st = lt_iter_init(&its[k], 2, ops);
            fast[k] = st == LT_OK && its[k].numel > 0;
        } else {
            st = x ? lt_copy(dst[k], x) : lt_fill(dst[k], 0);
        }
    }
    if (st == LT_OK) {
        copy_job job = {dst, src, its, fast, n, 0};
        double bytes = 0;
        for (int k = 0; k < n; k++)
            if (fast[k]) bytes += (double)its[k].numel * (double)(its[k].elsize[0] + its[k].elsize[1]);
        job.chunks = lt_par_chunks(0, bytes);
        lt_parallel_for(job.chunks, copy_chunk, &job);
        for (int k = 0; k < n; k++)
            if (fast[k]) lt_storage_bump(dst[k]);
    }
    free(its);
    free(fast);
    return st;
}

int lt_fill(lt_tensor *t, double value)
{
    LT_GPU_ROUTE(t, lt_gpu_fill(t, value), t);
    lt_tensor *v = lt_tensor_new_uninit(LT_FLOAT64, 0, NULL);
    if (!v) return LT_ERR;
    *(double *)v->storage->data = value;
    int st = lt_copy(t, v);
    lt_tensor_release(v);
    return st;
}

int lt_fill_int(lt_tensor *t, int64_t value)
{
    LT_GPU_ROUTE(t, lt_gpu_fill_int(t, value), t);
    lt_tensor *v = lt_tensor_new_uninit(LT_INT64, 0, NULL);
    if (!v) return LT_ERR;
    *(int64_t *)v->storage->data = value;
    int st = lt_copy(t, v);
    lt_tensor_release(v);
    return st;
}

int lt_clone(lt_tensor *out, const lt_tensor *t)
{
    lt_tensor *c = lt_tensor_uninit_on(lt_device(t), t->dtype, t->ndim, t->size);
    if (!c) return LT_ERR;
    int st = lt_copy(c, t);
    if (st == LT_OK) lt_set_tensor(out, c);
    lt_tensor_release(c);
    return st;
}

int lt_to_device(lt_tensor *out, const lt_tensor *t, int device)
{
    lt_tensor *c = lt_tensor_uninit_on(device, t->dtype, t->ndim, t->size);
    if (!c) return LT_ERR;
    int st = lt_copy(c, t);
    if (st == LT_OK) lt_set_tensor(out, c);
    lt_tensor_release(c);
    return st;
}

int lt_contiguous(lt_tensor *out, const lt_tensor *t)
{
    if (lt_is_contiguous(t)) {
        lt_set_tensor(out, t);
        return LT_OK;
    }
    return lt_clone(out, t);
}

int lt_reshape(lt_tensor *out, const lt_tensor *t, int ndim, const int64_t *size)
{
    lt_tensor v = *t;  /* a stack handle: views never touch the refcount */
    if (lt_view(&v, ndim, size) == LT_OK) {
        lt_set_tensor(out, &v);
        return LT_OK;
    }
    int64_t shape[LT_MAXDIM];
    memcpy(shape, size, (size_t)ndim * sizeof *size);
    if (lt_infer_shape(lt_numel(t), ndim, shape)) return LT_ERR;
    lt_tensor *c = lt_tensor_uninit_on(lt_device(t), t->dtype, t->ndim, t->size);
    if (!c) return LT_ERR;
    int st = lt_copy(c, t);
    if (st == LT_OK) st = lt_view(c, ndim, shape);
    if (st == LT_OK) lt_set_tensor(out, c);
    lt_tensor_release(c);
    return st;
}

/* Shape check shared by cat and stack: all tensors agree except along dim (cat). */
static int check_cat_shapes(lt_tensor *const *ts, int n, int dim, int64_t *total)
{
    const lt_tensor *a = ts[0];
    *total = 0;
    for (int k = 0; k < n; k++) {
        const lt_tensor *b = ts[k];
        char x[LT_SHAPE_BUFSZ], y[LT_SHAPE_BUFSZ];
        if (b->dtype != a->dtype)
            return lt_error("tensor %d is %s, tensor 1 is %s", k + 1, lt_dtype_name(b->dtype),
                            lt_dtype_name(a->dtype));
        int ok = b->ndim == a->ndim;
        for (int i = 0; ok && i < a->ndim; i++)
            if (i != dim && b->size[i] != a->size[i]) ok = 0;
        if (!ok)
            return lt_error("sizes of tensors must match except in dimension %d: [%s] vs [%s]",
                            dim + 1, lt_shape_str(x, sizeof x, a->ndim, a->size),
                            lt_shape_str(y, sizeof y, b->ndim, b->size));
        *total += b->size[dim];
    }
    return LT_OK;
}

int lt_cat(lt_tensor *out, lt_tensor *const *ts, int n, int dim)
{
    if (n < 1) return lt_error("expected at least one tensor");
    if (lt_check_dim("dimension", dim, ts[0]->ndim)) return LT_ERR;
    int64_t total, size[LT_MAXDIM];
    if (check_cat_shapes(ts, n, dim, &total)) return LT_ERR;
    if (out->dtype != ts[0]->dtype)
        return lt_error("result is %s, inputs are %s", lt_dtype_name(out->dtype),
                        lt_dtype_name(ts[0]->dtype));
    memcpy(size, ts[0]->size, sizeof size);
    size[dim] = total;
    lt_tensor *target;
    if (lt_out_prepare(out, ts[0]->ndim, size, (const lt_tensor *const *)ts, n, &target))
        return LT_ERR;
    lt_tensor *parts = malloc((size_t)n * sizeof *parts);
    lt_tensor **dsts = malloc((size_t)n * sizeof *dsts);
    int st = parts && dsts ? LT_OK : lt_error("out of memory");
    int64_t at = 0;
    for (int k = 0; k < n && st == LT_OK; k++) {
        parts[k] = *target;
        dsts[k] = &parts[k];
        st = lt_narrow(&parts[k], dim, at, ts[k]->size[dim]);
        at += ts[k]->size[dim];
    }
    if (st == LT_OK) st = lt_copy_many(dsts, (const lt_tensor *const *)ts, n);
    free(parts);
    free(dsts);
    return lt_out_finish(out, target, st);
}

int lt_stack(lt_tensor *out, lt_tensor *const *ts, int n, int dim)
{
    if (n < 1) return lt_error("expected at least one tensor");
    if (dim < 0 || dim > ts[0]->ndim)
        return lt_error("dimension %d out of range for stacking %d-dimensional tensors", dim + 1,
                        ts[0]->ndim);
    lt_tensor *views = malloc((size_t)n * sizeof *views);
    lt_tensor **ptrs = malloc((size_t)n * sizeof *ptrs);
    int st = views && ptrs ? LT_OK : lt_error("out of memory");
    for (int k = 0; k < n && st == LT_OK; k++) {
        if (!lt_same_shape(ts[k], ts[0])) {
            char x[LT_SHAPE_BUFSZ], y[LT_SHAPE_BUFSZ];
            st = lt_error("stack expects tensors of one shape: [%s] vs [%s]",
                          lt_shape_str(x, sizeof x, ts[0]->ndim, ts[0]->size),
                          lt_shape_str(y, sizeof y, ts[k]->ndim, ts[k]->size));
            break;
        }
        views[k] = *ts[k];
        st = lt_unsqueeze(&views[k], dim);
        ptrs[k] = &views[k];
    }
    if (st == LT_OK) st = lt_cat(out, ptrs, n, dim);
    free(views);
    free(ptrs);
    return st;
}
