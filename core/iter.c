/*
 * iter.c — the strided N-operand iterator under every elementwise op: broadcasts the
 * operands to operand 0's shape, merges dims that are contiguous for all operands, and
 * calls a typed inner loop per run of the innermost dim, split in chunks on the pool.
 */
#include <stdio.h>
#include <string.h>

#include "lt_internal.h"


static const char *device_name(int dev, char *buf, size_t len)
{
    if (dev == LT_CPU) return "the CPU";
    snprintf(buf, len, "CUDA device %d", dev + 1);
    return buf;
}

int lt_common_device(int *dev, int n, const lt_tensor *const *ts)
{
    int d = LT_CPU, seen = 0;
    for (int k = 0; k < n; k++) {
        if (!ts[k]) continue;
        int dk = lt_device(ts[k]);
        if (seen && dk != d) {
            char b1[32], b2[32];
            return lt_error("expected all tensors on one device, got tensors on %s and on %s",
                            device_name(d, b1, sizeof b1), device_name(dk, b2, sizeof b2));
        }
        d = dk;
        seen = 1;
    }
    *dev = d;
    return LT_OK;
}

int lt_out_on(lt_tensor *out, int dev)
{
    if (lt_device(out) == dev) return LT_OK;
    if (out->storage->nbytes == 0) {
        lt_storage *s = lt_storage_new_on(dev, out->dtype, 0, 0);
        if (!s) return LT_ERR;
        lt_storage_release(out->storage);
        out->storage = s;
        out->offset = 0;
        return LT_OK;
    }
    char b1[32], b2[32];
    return lt_error("the result tensor is on %s but the inputs are on %s",
                    device_name(lt_device(out), b1, sizeof b1), device_name(dev, b2, sizeof b2));
}

int lt_route(lt_tensor *out, int n, const lt_tensor *const *ins)
{
    int dev;
    if (lt_common_device(&dev, n, ins)) return LT_ERR;
    if (out) {
        int some = 0;
        for (int k = 0; k < n; k++) some |= ins[k] != NULL;
        if (!some) dev = lt_device(out);
        if (lt_out_on(out, dev)) return LT_ERR;
    }
    return dev != LT_CPU;
}

int lt_host_copy(const lt_tensor *t, const lt_tensor **h)
{
    *h = t;
    if (!t || lt_device(t) == LT_CPU) return LT_OK;
    lt_tensor *c = lt_tensor_empty(t->dtype);
    if (!c) return LT_ERR;
    if (lt_to_device(c, t, LT_CPU)) {
        lt_tensor_release(c);
        return LT_ERR;
    }
    *h = c;
    return LT_OK;
}

void lt_host_release(const lt_tensor *t, const lt_tensor *h)
{
    if (h && h != t) lt_tensor_release((lt_tensor *)(uintptr_t)h);
}

int lt_host_result(lt_tensor *out, const lt_tensor *hr)
{
    if (lt_resize(out, hr->ndim, hr->size)) return LT_ERR;
    return lt_copy(out, hr);
}

/* "not implemented for CUDA tensors" when a tensor lives on a device: host loops only */
static int host_only(int n, const lt_tensor *const *ts)
{
    for (int k = 0; k < n; k++)
        if (ts[k] && lt_device(ts[k]) != LT_CPU)
            return lt_error("not implemented for CUDA tensors yet (CUDA device %d)",
                            lt_device(ts[k]) + 1);
    return LT_OK;
}

int lt_iter_init(lt_iter *it, int nops, const lt_tensor *const *ops)
{
    if (host_only(nops, ops)) return LT_ERR;
    return lt_iter_init_any(it, nops, ops);
}

int lt_iter_init_any(lt_iter *it, int nops, const lt_tensor *const *ops)
{
    const lt_tensor *out = ops[0];
    int nd = out->ndim, k;
    memset(it, 0, sizeof *it);
    it->nops = nops;
    for (k = 0; k < nops; k++) {
        const lt_tensor *t = ops[k];
        if (t->ndim > nd) goto bad;
        it->data[k] = lt_data(t);
        it->elsize[k] = lt_dtype_size(t->dtype);
        for (int i = 0; i < nd; i++) {
            int j = i - (nd - t->ndim);
            if (j < 0) {
                it->stride[k][i] = 0;
            } else if (t->size[j] == out->size[i]) {
                it->stride[k][i] = t->stride[j];
            } else if (t->size[j] == 1) {
                it->stride[k][i] = 0;
            } else {
                goto bad;
            }
        }
    }
    /* drop size-1 dims, then merge neighbours that are one run for every operand */
    int n = 0;
    for (int i = 0; i < nd; i++) {
        if (out->size[i] == 1) continue;
        it->size[n] = out->size[i];
        for (k = 0; k < nops; k++) it->stride[k][n] = it->stride[k][i];
        n++;
    }
    if (n == 0) {
        it->size[0] = 1;
        for (k = 0; k < nops; k++) it->stride[k][0] = 0;
        n = 1;
    }
    int m = 0;
    for (int i = 1; i < n; i++) {
        int mergeable = 1;
        for (k = 0; k < nops; k++)
            if (it->stride[k][m] != it->stride[k][i] * it->size[i]) mergeable = 0;
        if (mergeable) {
            it->size[m] *= it->size[i];
            for (k = 0; k < nops; k++) it->stride[k][m] = it->stride[k][i];
        } else {
            m++;
            it->size[m] = it->size[i];
            for (k = 0; k < nops; k++) it->stride[k][m] = it->stride[k][i];
        }
    }
    it->ndim = m + 1;
    it->numel = lt_numel(out);
    return LT_OK;
bad:;
    char a[LT_SHAPE_BUFSZ], b[LT_SHAPE_BUFSZ];
    return lt_error("shape [%s] cannot be broadcast to [%s]",
                    lt_shape_str(a, sizeof a, ops[k]->ndim, ops[k]->size),
                    lt_shape_str(b, sizeof b, out->ndim, out->size));
}

void lt_iter_run_range(const lt_iter *it, lt_loop_fn fn, const void *ctx, int64_t begin,
                       int64_t end)
{
    int nd = it->ndim, last = nd - 1;
    int64_t idx[LT_MAXDIM];
    char *ptr[LT_MAXOPS];
    int64_t inner[LT_MAXOPS];
    int64_t rem = begin;
    for (int i = last; i >= 0; i--) {
        idx[i] = rem % it->size[i];
        rem /= it->size[i];
    }
    for (int k = 0; k < it->nops; k++) inner[k] = it->stride[k][last];
    int64_t pos = begin;
    while (pos < end) {
        for (int k = 0; k < it->nops; k++) {
            int64_t off = 0;
            for (int i = 0; i < nd; i++) off += idx[i] * it->stride[k][i];
            ptr[k] = it->data[k] + off * (int64_t)it->elsize[k];
        }
        int64_t n = it->size[last] - idx[last];
        if (n > end - pos) n = end - pos;
        fn(ptr, inner, n, ctx);
        pos += n;
        idx[last] += n;
        for (int i = last; i > 0 && idx[i] >= it->size[i]; i--) {
            idx[i] = 0;
            idx[i - 1]++;
        }
    }
}

typedef struct {
    const lt_iter *it;
    lt_loop_fn fn;
    const void *ctx;
    int64_t chunks;
} iter_job;

static void iter_chunk(void *p, int64_t c)
{
    const iter_job *j = p;
    int64_t lo, hi;
    lt_par_range(j->it->numel, j->chunks, c, &lo, &hi);
    lt_iter_run_range(j->it, j->fn, j->ctx, lo, hi);
}

void lt_iter_run_work(const lt_iter *it, lt_loop_fn fn, const void *ctx, int64_t work)
{
    int64_t total = it->numel;
    if (total == 0) return;
    double bytes = 0;
    for (int k = 0; k < it->nops; k++) bytes += (double)it->elsize[k];
    int64_t chunks = work > 0 ? lt_par_chunks((double)work, bytes * (double)total) : 1;
    if (chunks > total) chunks = total;
    if (chunks < 2) {
        lt_iter_run_range(it, fn, ctx, 0, total);
        return;
    }
    iter_job j = {it, fn, ctx, chunks};
    lt_parallel_for(chunks, iter_chunk, &j);
}

void lt_iter_run(const lt_iter *it, lt_loop_fn fn, const void *ctx, int serial)
{
    lt_iter_run_work(it, fn, ctx, serial ? 0 : it->numel);
}

int lt_shares_storage(const lt_tensor *a, const lt_tensor *b)
{
    return a->storage == b->storage;
}

int lt_same_layout(const lt_tensor *t, const lt_tensor *u)
{
    if (t->storage != u->storage || t->offset != u->offset || t->ndim != u->ndim) return 0;
    for (int i = 0; i < t->ndim; i++)
        if (t->size[i] != u->size[i] || (t->size[i] > 1 && t->stride[i] != u->stride[i]))
            return 0;
    return 1;
}

int lt_out_prepare(lt_tensor *out, int ndim, const int64_t *size, const lt_tensor *const *ins,
                   int nins, lt_tensor **target)
{
    *target = out;
    if (lt_route(out, nins, ins) < 0) return LT_ERR;
    int same_shape = out->ndim == ndim && !memcmp(out->size, size, (size_t)ndim * sizeof *size);
    /* An output that is written through stride-0 (expanded) dims would race with itself. */
    if (same_shape && lt_is_expanded(out))
        return lt_error("cannot write into an expanded tensor (clone it first)");
    int clash = 0;
    if (same_shape)
        for (int k = 0; k < nins; k++)
            if (ins[k] && lt_shares_storage(out, ins[k]) && !lt_same_layout(out, ins[k]))
                clash = 1;
    if (!same_shape) {
        /* resizing may keep the storage; if an input shares it, use a fresh one instead */
        for (int k = 0; k < nins; k++)
            if (ins[k] && lt_shares_storage(out, ins[k])) clash = 1;
        if (!clash) return lt_resize(out, ndim, size);
    }
    if (!clash) return LT_OK;
    *target = lt_tensor_uninit_on(lt_device(out), out->dtype, ndim, size);
    return *target ? LT_OK : LT_ERR;
}

int lt_out_prepare_pair(lt_tensor *o1, lt_tensor *o2, int ndim, const int64_t *size,
                        const lt_tensor *a, lt_tensor **t1, lt_tensor **t2)
{
    if (o1 == o2) return lt_error("values and indices must be two different tensors");
    const lt_tensor *ins[2] = {a, o1};
    if (lt_out_prepare(o1, ndim, size, ins, 1, t1)) return LT_ERR;
    /* o2 must not alias a, nor o1 (which may already have been resized) */
    ins[1] = *t1;
    if (lt_out_prepare(o2, ndim, size, ins, 2, t2)) {
        lt_out_finish(o1, *t1, LT_ERR);
        return LT_ERR;
    }
    return LT_OK;
}

int lt_out_finish_pair(lt_tensor *o1, lt_tensor *t1, lt_tensor *o2, lt_tensor *t2, int st)
{
    st = lt_out_finish(o1, t1, st);
    return lt_out_finish(o2, t2, st);
}

const lt_tensor *lt_unaliased(const lt_tensor *t, const lt_tensor *src, lt_tensor **tmp)
{
    *tmp = NULL;
    if (!lt_shares_storage(t, src)) return src;
    *tmp = lt_tensor_uninit_on(lt_device(src), src->dtype, src->ndim, src->size);
    if (!*tmp) return NULL;
    if (lt_copy(*tmp, src)) {
        lt_tensor_release(*tmp);
        *tmp = NULL;
        return NULL;
    }
    return *tmp;
}

int lt_out_through(lt_tensor *out, lt_tensor *fresh, int st)
{
    if (st == LT_OK) {
        if (lt_same_shape(out, fresh)) st = lt_copy(out, fresh);
        else lt_set_tensor(out, fresh);
    }
    lt_tensor_release(fresh);
    return st;
}

int lt_out_finish(lt_tensor *out, lt_tensor *target, int status)
{
    if (target != out) {
        if (status == LT_OK) {
            int same_shape = out->ndim == target->ndim &&
                             !memcmp(out->size, target->size, (size_t)out->ndim * sizeof(int64_t));
            if (same_shape) status = lt_copy(out, target);
            else lt_set_tensor(out, target);
        }
        lt_tensor_release(target);
    }
    if (status == LT_OK) lt_storage_bump(out);
    return status;
}
