/*
 * copy.cu — copies on the device and across host and device, with the CPU's dtype conversion
 * rules (core/lt_hd.h: NaN to integer is 0, out of range saturates, integer to byte wraps) and
 * broadcasting of src to dst; fill.
 *
 * Across devices the bytes move once, contiguous: a host source is first made contiguous in
 * dst's dtype and shape on the host; a device source is made so on the device.
 */
#include "gpu_internal.h"

extern "C" {
#include "../core/lt_hd.h"
}

template <typename D, typename S> LT_HD D convert(S v) { return (D)v; }
template <> LT_HD int64_t convert<int64_t, float>(float v) { return lt_f2i64(v); }
template <> LT_HD int64_t convert<int64_t, double>(double v) { return lt_f2i64(v); }
template <> LT_HD uint8_t convert<uint8_t, float>(float v) { return lt_f2u8(v); }
template <> LT_HD uint8_t convert<uint8_t, double>(double v) { return lt_f2u8(v); }
template <> LT_HD uint8_t convert<uint8_t, int64_t>(int64_t v) { return lt_i2u8(v); }

template <typename D, typename S>
__global__ void copy_kernel(lt_gpu_ix ix, D *dst, const S *src, int64_t n)
{
    for (int64_t i = LT_GPU_TID(); i < n; i += LT_GPU_NTHREADS()) {
        int64_t off[2];
        lt_gpu_offsets(ix, i, off);
        dst[off[0]] = convert<D, S>(src[off[1]]);
    }
}

template <typename D, typename S>
static void launch_copy(const lt_gpu_ix &ix, void *dst, const void *src, int64_t n)
{
    auto kernel = copy_kernel<D, S>;   /* a template's comma would split the macro's arguments */
    LT_LAUNCH(kernel, lt_gpu_blocks(n), LT_GPU_THREADS, ix, (D *)dst, (const S *)src, n);
}

template <typename D>
static void launch_copy_from(lt_dtype st, const lt_gpu_ix &ix, void *dst, const void *src,
                             int64_t n)
{
    switch (st) {
    case LT_FLOAT32: launch_copy<D, float>(ix, dst, src, n); break;
    case LT_FLOAT64: launch_copy<D, double>(ix, dst, src, n); break;
    case LT_INT64: launch_copy<D, int64_t>(ix, dst, src, n); break;
    default: launch_copy<D, uint8_t>(ix, dst, src, n); break;
    }
}

/* dst = src within one device; src broadcasts to dst; no overlap (the caller sees to that). */
static int copy_on_device(lt_tensor *dst, const lt_tensor *src)
{
    lt_iter it;
    const lt_tensor *ops[2] = {dst, src};
    if (lt_iter_init_any(&it, 2, ops)) return LT_ERR;
    if (it.numel == 0) return LT_OK;
    if (dst->dtype == src->dtype && it.ndim == 1 && it.stride[0][0] == 1 && it.stride[1][0] == 1)
        return lt_gpu_copy_d2d(it.data[0], it.data[1], it.numel * (int64_t)it.elsize[0]);
    lt_gpu_ix ix = lt_gpu_ix_of(&it);
    void *d = it.data[0], *s = it.data[1];
    switch (dst->dtype) {
    case LT_FLOAT32: launch_copy_from<float>(src->dtype, ix, d, s, it.numel); break;
    case LT_FLOAT64: launch_copy_from<double>(src->dtype, ix, d, s, it.numel); break;
    case LT_INT64: launch_copy_from<int64_t>(src->dtype, ix, d, s, it.numel); break;
    default: launch_copy_from<uint8_t>(src->dtype, ix, d, s, it.numel); break;
    }
    LT_CHECK_LAUNCH("copy_kernel");
    return LT_OK;
}

/* A contiguous tensor on device dev in dst's dtype and shape holding src (broadcast and
 * converted), made on src's side; NULL + error on failure. */
static lt_tensor *staged(const lt_tensor *dst, const lt_tensor *src)
{
    lt_tensor *c = lt_tensor_uninit_on(lt_device(src), dst->dtype, dst->ndim, dst->size);
    if (!c) return NULL;
    if (lt_copy(c, src) != LT_OK) {
        lt_tensor_release(c);
        return NULL;
    }
    return c;
}

extern "C" int lt_gpu_copy(lt_tensor *dst, const lt_tensor *src)
{
    int dd = lt_device(dst), sd = lt_device(src);
    int64_t nbytes = lt_numel(dst) * (int64_t)lt_dtype_size(dst->dtype);
    if (dd == sd) {
        if (lt_shares_storage(dst, src) && !lt_same_layout(dst, src)) {
            lt_tensor *tmp = lt_tensor_uninit_on(sd, src->dtype, src->ndim, src->size);
            if (!tmp) return LT_ERR;
            int st = copy_on_device(tmp, src);
            if (st == LT_OK) st = copy_on_device(dst, tmp);
            lt_tensor_release(tmp);
            if (st == LT_OK) lt_storage_bump(dst);
            return st;
        }
        int st = copy_on_device(dst, src);
        if (st == LT_OK) lt_storage_bump(dst);
        return st;
    }
    if (dd != LT_CPU && sd != LT_CPU)
        return lt_error("copy between CUDA devices %d and %d is not supported", sd + 1, dd + 1);
    /* one contiguous block in dst's dtype and shape on src's side, then one transfer */
    lt_tensor *c = staged(dst, src);
    if (!c) return LT_ERR;
    int st;
    if (lt_is_contiguous(dst)) {
        st = dd == LT_CPU ? lt_gpu_copy_d2h(lt_data(dst), lt_data(c), nbytes)
                          : lt_gpu_copy_h2d(lt_data(dst), lt_data(c), nbytes);
    } else {
        /* the transfer lands in a contiguous block on dst's side, then a strided copy */
        lt_tensor *d = lt_tensor_uninit_on(dd, dst->dtype, dst->ndim, dst->size);
        st = d ? LT_OK : LT_ERR;
        if (st == LT_OK)
            st = dd == LT_CPU ? lt_gpu_copy_d2h(lt_data(d), lt_data(c), nbytes)
                              : lt_gpu_copy_h2d(lt_data(d), lt_data(c), nbytes);
        if (st == LT_OK) st = lt_copy(dst, d);
        lt_tensor_release(d);
    }
    lt_tensor_release(c);
    if (st == LT_OK) lt_storage_bump(dst);
    return st;
}

template <typename T> __global__ void fill_kernel(lt_gpu_ix ix, T *t, T v, int64_t n)
{
    for (int64_t i = LT_GPU_TID(); i < n; i += LT_GPU_NTHREADS()) {
        int64_t off[1];
        lt_gpu_offsets(ix, i, off);
        t[off[0]] = v;
    }
}

template <typename T> static int launch_fill(const lt_iter &it, T v)
{
    lt_gpu_ix ix = lt_gpu_ix_of(&it);
    LT_LAUNCH((fill_kernel<T>), lt_gpu_blocks(it.numel), LT_GPU_THREADS, ix, (T *)it.data[0], v,
              it.numel);
    LT_CHECK_LAUNCH("fill_kernel");
    return LT_OK;
}

/* value already converted to t's dtype by the caller's rules (the CPU's copy from a scalar) */
static int fill_any(lt_tensor *t, double dv, int64_t iv, int is_int)
{
    if (lt_is_expanded(t))
        return lt_error("cannot copy into an expanded tensor (clone it first)");
    lt_iter it;
    const lt_tensor *ops[1] = {t};
    if (lt_iter_init_any(&it, 1, ops)) return LT_ERR;
    if (it.numel == 0) return LT_OK;
    int st;
    switch (t->dtype) {
    case LT_FLOAT32: st = launch_fill<float>(it, is_int ? (float)iv : (float)dv); break;
    case LT_FLOAT64: st = launch_fill<double>(it, is_int ? (double)iv : dv); break;
    case LT_INT64: st = launch_fill<int64_t>(it, is_int ? iv : convert<int64_t, double>(dv)); break;
    default: st = launch_fill<uint8_t>(it, is_int ? convert<uint8_t, int64_t>(iv)
                                                  : convert<uint8_t, double>(dv)); break;
    }
    if (st == LT_OK) lt_storage_bump(t);
    return st;
}

extern "C" int lt_gpu_fill(lt_tensor *t, double value) { return fill_any(t, value, 0, 0); }
extern "C" int lt_gpu_fill_int(lt_tensor *t, int64_t value) { return fill_any(t, 0, value, 1); }
