/*
 * transform.c — the fused ToTensor/Normalize kernel (see transform.h). The flat element
 * range is cut into fixed chunks run in parallel; inside a chunk each run of one channel is
 * a plain loop: a table lookup for uint8 sources, arithmetic in the result's type otherwise.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/lt_internal.h"
#include "transform.h"

#define CHUNK 65536

typedef struct {
    int64_t n, inner;          /* elements; elements per channel run */
    int nchan;                 /* channels (1: the same constants for all) */
    double div;
    const double *mean, *std;
    const void *lut;           /* uint8 sources: [nchan][256] of the result type */
} norm_ctx;

/* Segment [a, b) of channel c, for result type T and source type S. */
#define NORM_SEG(NAME, T, S)                                                                \
    static void NAME(void *dp, const void *xp, int64_t a, int64_t b, const norm_ctx *k,    \
                     int c)                                                                 \
    {                                                                                       \
        T *restrict d = dp;                                                                 \
        const S *restrict x = xp;                                                           \
        const T m = (T)k->mean[c], s = (T)k->std[c], dv = (T)k->div;                        \
        if (k->div == 1)                                                                    \
            for (int64_t i = a; i < b; i++) d[i] = ((T)x[i] - m) / s;                       \
        else                                                                                \
            for (int64_t i = a; i < b; i++) d[i] = ((T)x[i] / dv - m) / s;                  \
    }
NORM_SEG(seg_f_f, float, float)
NORM_SEG(seg_f_d, float, double)
NORM_SEG(seg_f_l, float, int64_t)
NORM_SEG(seg_d_f, double, float)
NORM_SEG(seg_d_d, double, double)
NORM_SEG(seg_d_l, double, int64_t)

#define LUT_SEG(NAME, T)                                                                    \
    static void NAME(void *dp, const void *xp, int64_t a, int64_t b, const norm_ctx *k,    \
                     int c)                                                                 \
    {                                                                                       \
        T *restrict d = dp;                                                                 \
        const uint8_t *restrict x = xp;                                                     \
        const T *lut = (const T *)k->lut + 256 * c;                                         \
        for (int64_t i = a; i < b; i++) d[i] = lut[x[i]];                                   \
    }
LUT_SEG(seg_f_b, float)
LUT_SEG(seg_d_b, double)

#define BUILD_LUT(T)                                                                        \
    do {                                                                                    \
        T *l = lut;                                                                         \
        for (int c = 0; c < nchan; c++) {                                                   \
            const T m = (T)mean[c], s = (T)std[c], dv = (T)div;                             \
            for (int v = 0; v < 256; v++)                                                   \
                l[256 * c + v] = div == 1 ? ((T)v - m) / s : ((T)v / dv - m) / s;           \
        }                                                                                   \
    } while (0)

typedef void (*seg_fn)(void *d, const void *x, int64_t a, int64_t b, const norm_ctx *k, int c);

/* segs[result is double][source dtype] */
static const seg_fn segs[2][LT_NDTYPES] = {
    {seg_f_f, seg_f_d, seg_f_l, seg_f_b},
    {seg_d_f, seg_d_d, seg_d_l, seg_d_b},
};

typedef struct {
    seg_fn fn;
    void *d;
    const void *x;
    const norm_ctx *k;
} run_job;

static void run_blocks(void *p, int64_t c0, int64_t c1)
{
    const run_job *j = p;
    const norm_ctx *k = j->k;
    for (int64_t ch = c0; ch < c1; ch++) {
        int64_t a = ch * CHUNK, b = a + CHUNK < k->n ? a + CHUNK : k->n;
        while (a < b) {
            int64_t blk = a / k->inner, end = (blk + 1) * k->inner;
            if (end > b) end = b;
            j->fn(j->d, j->x, a, end, k, k->nchan == 1 ? 0 : (int)(blk % k->nchan));
            a = end;
        }
    }
}

/* blocks of CHUNK elements on the pool (a table look-up and a store per element) */
static void run(lt_tensor *dst, const lt_tensor *src, const norm_ctx *k)
{
    run_job j = {segs[dst->dtype == LT_FLOAT64][src->dtype], lt_data(dst), lt_data(src), k};
    int64_t nchunks = (k->n + CHUNK - 1) / CHUNK;
    double bytes = (double)k->n * (double)(lt_dtype_size(dst->dtype) + lt_dtype_size(src->dtype));
    lt_parallel_range(lt_par_chunks(2.0 * (double)k->n, bytes), nchunks, run_blocks, &j);
}

int lt_normalize(lt_tensor *out, const lt_tensor *src, int cdim, double div, int nchan,
                 const double *mean, const double *std)
{
    char sh[LT_SHAPE_BUFSZ];
    if (!lt_dtype_is_float(out->dtype))
        return lt_error("result must be a Float or Double tensor, got %s",
                        lt_dtype_name(out->dtype));
    if (src->dtype == LT_BFLOAT16)  /* no segs[][] entry: a storage type (lt.h) */
        return lt_error("not supported for torch.BFloat16Tensor (convert with :float())");
    if (nchan < 1) return lt_error("expected at least one mean and std");
    if (nchan > 1) {
        if (cdim < 0 || cdim >= src->ndim || src->size[cdim] != nchan)
            return lt_error("%d means and stds for a tensor of size [%s] with channel dim %d",
                            nchan, lt_shape_str(sh, sizeof sh, src->ndim, src->size),
                            cdim + 1);
    }
    if (!(div != 0)) return lt_error("the divisor must not be zero");
    for (int c = 0; c < nchan; c++)
        if (!(std[c] != 0)) return lt_error("std must not be zero (channel %d)", c + 1);
    norm_ctx k = {lt_numel(src), 1, nchan, div, mean, std, NULL};
    if (nchan > 1)
        for (int i = cdim + 1; i < src->ndim; i++) k.inner *= src->size[i];
    else
        k.inner = k.n > 0 ? k.n : 1;
    void *lut = NULL;
    if (src->dtype == LT_UINT8) {
        lut = malloc((size_t)nchan * 256 * lt_dtype_size(out->dtype));
        if (!lut) return lt_error("out of memory");
        if (out->dtype == LT_FLOAT32) BUILD_LUT(float);
        else BUILD_LUT(double);
        k.lut = lut;
    }
    lt_tensor *csrc = NULL, *target = NULL, *dst = NULL;
    int st = LT_OK;
    if (!lt_is_contiguous(src)) {
        csrc = lt_tensor_empty(src->dtype);
        if (!csrc || lt_contiguous(csrc, src)) st = LT_ERR;
    }
    const lt_tensor *s = csrc ? csrc : src;
    if (st == LT_OK) st = lt_out_prepare(out, src->ndim, src->size, &src, 1, &target);
    if (st == LT_OK) {
        dst = lt_is_contiguous(target) ? target
                                       : lt_tensor_new_uninit(out->dtype, src->ndim, src->size);
        if (!dst) st = LT_ERR;
    }
    if (st == LT_OK) {
        if (k.n > 0) run(dst, s, &k);
        if (dst != target) {
            st = lt_copy(target, dst);
            lt_tensor_release(dst);
        }
        st = lt_out_finish(out, target, st);
    } else if (target && target != out) {
        lt_tensor_release(target);
    }
    if (csrc) lt_tensor_release(csrc);
    free(lut);
    return st;
}
