/*
 * index.cu — indexing of device tensors by int64 device index tensors (0-based), the twins of
 * core/index.c: index_select, index_copy, index_add, index_fill, gather, scatter,
 * scatter_value, scatter_add. core/index.c checks dims, dtypes and shapes first (so the
 * messages are the CPU's) and hands over; nonzero stays on the host.
 *
 * Index range: every twin first checks it with core's lt_index_check_range, on a host copy
 * of the index (a device-to-host copy, which waits for the work queued before it), before
 * anything is written: an out-of-range index raises the CPU's error.
 *
 * Reads (select, gather) are one thread per result element. Writes through indices are one
 * thread per DESTINATION element, which visits the sources that land on it in the order the
 * CPU's serial loop does: no atomics, the same result on every run, bit for bit the CPU's
 * (index_add sums in the same order; index_copy and scatter keep the last write).
 * index_copy/add/fill get, from the host copy of the index, the list of the positions k that
 * write each slice p of dim (CSR: start[p] .. start[p + 1] into ks), so each destination
 * element reads only its own sources. scatter* loop over index's extent along dim for each
 * destination element (index.size(dim) reads per element).
 */
#include <string.h>

#include "gpu_internal.h"

/* ---- the index on the host ------------------------------------------------------------------ */

/* A contiguous host copy of index (for index_put's CSR). */
static lt_tensor *host_index(const lt_tensor *index)
{
    lt_tensor *h = lt_tensor_new_uninit(LT_INT64, index->ndim, index->size);
    if (h && lt_numel(index) > 0 && lt_copy(h, index)) {
        lt_tensor_release(h);
        return NULL;
    }
    return h;
}

/* ---- reads: op0[i] = op1[i + op2[i] * sd] ---------------------------------------------------- */

template <typename T>
__global__ void take_kernel(lt_gpu_ix ix, T *o, const T *x, const int64_t *idx, int64_t sd,
                            int64_t n)
{
    for (int64_t i = LT_GPU_TID(); i < n; i += LT_GPU_NTHREADS()) {
        int64_t off[3];
        lt_gpu_offsets(ix, i, off);
        o[off[0]] = x[off[1] + idx[off[2]] * sd];
    }
}

/* ops: (result, input viewed with stride 0 along dim, index view), shapes equal */
static int take(const lt_tensor *const ops[3], int64_t sd)
{
    lt_iter it;
    if (lt_iter_init_any(&it, 3, ops)) return LT_ERR;
    if (it.numel == 0) return LT_OK;
    lt_gpu_ix ix = lt_gpu_ix_of(&it);
    unsigned nb = lt_gpu_blocks(it.numel);
    const int64_t *idx = (const int64_t *)it.data[2];
    switch (lt_dtype_size(ops[0]->dtype)) {
    case 1:
        LT_LAUNCH(take_kernel<uint8_t>, nb, LT_GPU_THREADS, ix, (uint8_t *)it.data[0],
                  (const uint8_t *)it.data[1], idx, sd, it.numel);
        break;
    case 4:
        LT_LAUNCH(take_kernel<uint32_t>, nb, LT_GPU_THREADS, ix, (uint32_t *)it.data[0],
                  (const uint32_t *)it.data[1], idx, sd, it.numel);
        break;
    default:
        LT_LAUNCH(take_kernel<uint64_t>, nb, LT_GPU_THREADS, ix, (uint64_t *)it.data[0],
                  (const uint64_t *)it.data[1], idx, sd, it.numel);
        break;
    }
    LT_CHECK_LAUNCH("take_kernel");
    return LT_OK;
}

extern "C" int lt_gpu_index_select(lt_tensor *out, const lt_tensor *a_in, int dim,
                                   const lt_tensor *index)
{
    lt_tensor a = lt_as_1d(a_in);
    if (lt_index_check_range(index, a.size[dim], dim)) return LT_ERR;
    if (lt_shares_storage(out, a_in)) {
        lt_tensor *fresh = lt_tensor_empty(out->dtype);
        if (!fresh) return LT_ERR;
        return lt_out_through(out, fresh, lt_gpu_index_select(fresh, a_in, dim, index));
    }
    int64_t K = lt_numel(index), osize[LT_MAXDIM];
    memcpy(osize, a.size, sizeof osize);
    osize[dim] = K;
    lt_tensor *target;
    const lt_tensor *ins[2] = {a_in, index};
    if (lt_out_prepare(out, a.ndim, osize, ins, 2, &target)) return LT_ERR;
    /* the index as a view broadcasting along every dim but dim */
    lt_tensor iv = *index;
    iv.ndim = a.ndim;
    for (int i = 0; i < a.ndim; i++) {
        iv.size[i] = 1;
        iv.stride[i] = 0;
    }
    iv.size[dim] = K;
    iv.stride[dim] = index->ndim ? index->stride[0] : 1;
    lt_tensor a1 = a, o1 = lt_as_1d(target);
    a1.size[dim] = K;
    a1.stride[dim] = 0;
    const lt_tensor *ops[3] = {&o1, &a1, &iv};
    return lt_out_finish(out, target, take(ops, a.stride[dim]));
}

extern "C" int lt_gpu_gather(lt_tensor *out, const lt_tensor *a, int dim, const lt_tensor *index)
{
    lt_tensor a1d = lt_as_1d(a);
    if (lt_index_check_range(index, a1d.size[dim], dim)) return LT_ERR;
    if (lt_shares_storage(out, a)) {
        lt_tensor *fresh = lt_tensor_empty(out->dtype);
        if (!fresh) return LT_ERR;
        return lt_out_through(out, fresh, lt_gpu_gather(fresh, a, dim, index));
    }
    lt_tensor *target;
    const lt_tensor *ins[2] = {a, index};
    if (lt_out_prepare(out, index->ndim, index->size, ins, 2, &target)) return LT_ERR;
    lt_tensor o1 = lt_as_1d(target), i1 = lt_as_1d(index), a1 = a1d;
    memcpy(a1.size, i1.size, sizeof a1.size);
    a1.stride[dim] = 0;
    const lt_tensor *ops[3] = {&o1, &a1, &i1};
    return lt_out_finish(out, target, take(ops, a1d.stride[dim]));
}

/* ---- writes ---------------------------------------------------------------------------------- */

enum put_mode { PUT_COPY, PUT_ADD, PUT_FILL };

template <typename T> LT_HD T add_wrap(T a, T b) { return a + b; }
template <> LT_HD int64_t add_wrap<int64_t>(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}
template <> LT_HD uint8_t add_wrap<uint8_t>(uint8_t a, uint8_t b) { return (uint8_t)(a + b); }

/* The destination's shape and strides, and the source's strides (src has the destination's
 * shape but for dim, along which it is indexed by k). */
struct put_geom {
    int ndim, dim;
    int64_t size[LT_MAXDIM], ts[LT_MAXDIM], ss[LT_MAXDIM], is[LT_MAXDIM];
    int64_t ilen;        /* scatter: index's extent along dim */
};

/* index_copy/add/fill: destination element e (row-major over t) with coordinate p along dim
 * takes the slices ks[start[p] .. start[p + 1]) of src in that order. */
template <typename T, int MODE>
__global__ void put_dim_kernel(put_geom g, T *t, const T *src, const int64_t *start,
                               const int64_t *ks, T value, int64_t n)
{
    for (int64_t e = LT_GPU_TID(); e < n; e += LT_GPU_NTHREADS()) {
        int64_t rem = e, toff = 0, soff = 0, p = 0;
        for (int d = g.ndim - 1; d >= 0; d--) {
            int64_t c = rem % g.size[d];
            rem /= g.size[d];
            toff += c * g.ts[d];
            if (d == g.dim) p = c;
            else soff += c * g.ss[d];
        }
        int64_t b = start[p], end = start[p + 1];
        if (b == end) continue;
        if (MODE == PUT_FILL) {
            t[toff] = value;
        } else if (MODE == PUT_COPY) {
            t[toff] = src[soff + ks[end - 1] * g.ss[g.dim]];
        } else {
            T v = t[toff];
            for (int64_t q = b; q < end; q++) v = add_wrap<T>(v, src[soff + ks[q] * g.ss[g.dim]]);
            t[toff] = v;
        }
    }
}

/* scatter*: destination element e (row-major over index's extent in every dim but dim, t's
 * along dim) takes, for j = 0 .. ilen - 1, src at (.., j, ..) where index at (.., j, ..) is
 * its coordinate p along dim. */
template <typename T, int MODE>
__global__ void scatter_kernel(put_geom g, T *t, const T *src, const int64_t *idx, T value,
                               int64_t n)
{
    for (int64_t e = LT_GPU_TID(); e < n; e += LT_GPU_NTHREADS()) {
        int64_t rem = e, toff = 0, soff = 0, ioff = 0, p = 0;
        for (int d = g.ndim - 1; d >= 0; d--) {
            int64_t c = rem % g.size[d];
            rem /= g.size[d];
            toff += c * g.ts[d];
            if (d == g.dim) {
                p = c;
            } else {
                soff += c * g.ss[d];
                ioff += c * g.is[d];
            }
        }
        int found = 0;
        T v = t[toff];
        for (int64_t j = 0; j < g.ilen; j++) {
            if (idx[ioff + j * g.is[g.dim]] != p) continue;
            found = 1;
            if (MODE == PUT_FILL) v = value;
            else if (MODE == PUT_COPY) v = src[soff + j * g.ss[g.dim]];
            else v = add_wrap<T>(v, src[soff + j * g.ss[g.dim]]);
        }
        if (found) t[toff] = v;
    }
}

/* value converted to dt as lt_fill converts it (on the host) */
static int fill_bits(lt_dtype dt, double value, uint64_t *bits)
{
    lt_tensor *v = lt_tensor_new_uninit(dt, 0, NULL);
    if (!v) return LT_ERR;
    int st = lt_fill(v, value);
    *bits = 0;
    memcpy(bits, lt_data(v), lt_dtype_size(dt));
    lt_tensor_release(v);
    return st;
}

template <typename T> static T from_bits(uint64_t bits)
{
    T v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

template <typename T, int MODE>
static void launch_put(bool scatter, const put_geom &g, void *t, const void *src,
                       const int64_t *a, const int64_t *b, uint64_t value, int64_t n)
{
    unsigned nb = lt_gpu_blocks(n);
    if (scatter) {
        auto k = scatter_kernel<T, MODE>;
        LT_LAUNCH(k, nb, LT_GPU_THREADS, g, (T *)t, (const T *)src, a, from_bits<T>(value), n);
    } else {
        auto k = put_dim_kernel<T, MODE>;
        LT_LAUNCH(k, nb, LT_GPU_THREADS, g, (T *)t, (const T *)src, a, b, from_bits<T>(value), n);
    }
}

template <typename T>
static int launch_put_mode(int mode, bool scatter, const put_geom &g, void *t, const void *src,
                           const int64_t *a, const int64_t *b, uint64_t value, int64_t n)
{
    switch (mode) {
    case PUT_COPY: launch_put<T, PUT_COPY>(scatter, g, t, src, a, b, value, n); break;
    case PUT_ADD: launch_put<T, PUT_ADD>(scatter, g, t, src, a, b, value, n); break;
    default: launch_put<T, PUT_FILL>(scatter, g, t, src, a, b, value, n); break;
    }
    LT_CHECK_LAUNCH(scatter ? "scatter_kernel" : "put_dim_kernel");
    return LT_OK;
}

static int launch_any(lt_dtype dt, int mode, bool scatter, const put_geom &g, void *t,
                      const void *src, const int64_t *a, const int64_t *b, uint64_t value,
                      int64_t n)
{
    switch (dt) {
    case LT_FLOAT32: return launch_put_mode<float>(mode, scatter, g, t, src, a, b, value, n);
    case LT_FLOAT64: return launch_put_mode<double>(mode, scatter, g, t, src, a, b, value, n);
    case LT_INT64: return launch_put_mode<int64_t>(mode, scatter, g, t, src, a, b, value, n);
    default: return launch_put_mode<uint8_t>(mode, scatter, g, t, src, a, b, value, n);
    }
}

/* index_copy / index_add / index_fill (checked by core/index.c but for the index range) */
static int index_put(lt_tensor *t_in, int dim, const lt_tensor *index, const lt_tensor *src_in,
                     int mode, double value)
{
    lt_tensor t = lt_as_1d(t_in);
    int64_t K = lt_numel(index), D = t.size[dim];
    lt_tensor *hidx = host_index(index);   /* for the CSR below; checked there (no transfer) */
    if (!hidx) return LT_ERR;
    if (lt_index_check_range(hidx, D, dim)) {
        lt_tensor_release(hidx);
        return LT_ERR;
    }
    if (K == 0) {
        lt_tensor_release(hidx);
        return LT_OK;
    }
    uint64_t bits = 0;
    if (mode == PUT_FILL && fill_bits(t.dtype, value, &bits)) {
        lt_tensor_release(hidx);
        return LT_ERR;
    }
    /* CSR of the index on the host: start (D + 1), then ks (K), ascending k per slice */
    int64_t csr_n = D + 1 + K;
    lt_tensor *csr = lt_tensor_new_uninit(LT_INT64, 1, &csr_n);
    lt_tensor *dcsr = csr ? lt_tensor_uninit_on(lt_device(t_in), LT_INT64, 1, &csr_n) : NULL;
    int st = dcsr ? LT_OK : LT_ERR;
    if (st == LT_OK) {
        const int64_t *ix = (const int64_t *)lt_data(hidx);
        int64_t *start = (int64_t *)lt_data(csr), *ks = start + D + 1;
        memset(start, 0, (size_t)(D + 1) * sizeof *start);
        for (int64_t k = 0; k < K; k++) start[ix[k] + 1]++;
        for (int64_t p = 0; p < D; p++) start[p + 1] += start[p];
        /* fill with a moving cursor per slice, then shift the starts back */
        for (int64_t k = 0; k < K; k++) ks[start[ix[k]]++] = k;
        for (int64_t p = D; p > 0; p--) start[p] = start[p - 1];
        start[0] = 0;
        st = lt_copy(dcsr, csr);
    }
    lt_tensor *stmp = NULL;
    const lt_tensor *sp = NULL;
    lt_tensor src;
    if (st == LT_OK && src_in) {
        src = t_in->ndim == 0 ? lt_as_1d(src_in) : *src_in;
        if (!(sp = lt_unaliased(t_in, &src, &stmp))) st = LT_ERR;
    }
    if (st == LT_OK) {
        put_geom g;
        memset(&g, 0, sizeof g);
        g.ndim = t.ndim;
        g.dim = dim;
        for (int d = 0; d < t.ndim; d++) {
            g.size[d] = t.size[d];
            g.ts[d] = t.stride[d];
            g.ss[d] = sp ? sp->stride[d] : 0;
        }
        const int64_t *start = (const int64_t *)lt_data(dcsr);
        st = launch_any(t.dtype, mode, false, g, lt_data(&t), sp ? lt_data(sp) : NULL, start,
                        start + D + 1, bits, lt_numel(&t));
    }
    if (st == LT_OK) lt_storage_bump(t_in);
    lt_tensor_release(stmp);
    lt_tensor_release(csr);
    lt_tensor_release(dcsr);
    lt_tensor_release(hidx);
    return st;
}

extern "C" int lt_gpu_index_copy(lt_tensor *t, int dim, const lt_tensor *index,
                                 const lt_tensor *src)
{
    return index_put(t, dim, index, src, PUT_COPY, 0);
}

extern "C" int lt_gpu_index_add(lt_tensor *t, int dim, const lt_tensor *index, const lt_tensor *src)
{
    return index_put(t, dim, index, src, PUT_ADD, 0);
}

extern "C" int lt_gpu_index_fill(lt_tensor *t, int dim, const lt_tensor *index, double value)
{
    return index_put(t, dim, index, NULL, PUT_FILL, value);
}

/* scatter / scatter_value / scatter_add (checked by core/index.c but for the index range) */
static int scatter_impl(lt_tensor *t_in, int dim, const lt_tensor *index, const lt_tensor *src,
                        int mode, double value)
{
    lt_tensor t = lt_as_1d(t_in);
    if (lt_index_check_range(index, t.size[dim], dim)) return LT_ERR;
    if (lt_numel(index) == 0) return LT_OK;
    uint64_t bits = 0;
    if (mode == PUT_FILL && fill_bits(t.dtype, value, &bits)) return LT_ERR;
    lt_tensor *stmp = NULL, *itmp = NULL;
    const lt_tensor *sp = src ? lt_unaliased(t_in, src, &stmp) : NULL;
    const lt_tensor *ip = lt_unaliased(t_in, index, &itmp);
    int st = (src && !sp) || !ip ? LT_ERR : LT_OK;
    if (st == LT_OK) {
        lt_tensor i1 = lt_as_1d(ip), s1;
        if (sp) s1 = lt_as_1d(sp);
        put_geom g;
        memset(&g, 0, sizeof g);
        g.ndim = t.ndim;
        g.dim = dim;
        g.ilen = i1.size[dim];
        int64_t n = 1;
        for (int d = 0; d < t.ndim; d++) {
            g.size[d] = d == dim ? t.size[d] : i1.size[d];
            g.ts[d] = t.stride[d];
            g.is[d] = i1.stride[d];
            g.ss[d] = sp ? s1.stride[d] : 0;
            n *= g.size[d];
        }
        if (n > 0)
            st = launch_any(t.dtype, mode, true, g, lt_data(&t), sp ? lt_data(&s1) : NULL,
                            (const int64_t *)lt_data(&i1), NULL, bits, n);
    }
    if (st == LT_OK) lt_storage_bump(t_in);
    lt_tensor_release(stmp);
    lt_tensor_release(itmp);
    return st;
}

extern "C" int lt_gpu_scatter(lt_tensor *t, int dim, const lt_tensor *index, const lt_tensor *src)
{
    return scatter_impl(t, dim, index, src, PUT_COPY, 0);
}

extern "C" int lt_gpu_scatter_value(lt_tensor *t, int dim, const lt_tensor *index, double value)
{
    return scatter_impl(t, dim, index, NULL, PUT_FILL, value);
}

extern "C" int lt_gpu_scatter_add(lt_tensor *t, int dim, const lt_tensor *index,
                                  const lt_tensor *src)
{
    return scatter_impl(t, dim, index, src, PUT_ADD, 0);
}
