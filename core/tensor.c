/*
 * tensor.c — tensor handles over storages: creation, resize, element access and the views
 * (narrow, select, transpose, permute, (un)squeeze, expand, view). Views never copy.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bf16.h"
#include "lt_hd.h"
#include "lt_internal.h"
#ifdef LT_HAVE_CUDA
#include "../gpu/lt_gpu.h"
#endif

static void set_contiguous_strides(lt_tensor *t)
{
    int64_t st = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        t->stride[i] = st;
        st *= t->size[i] ? t->size[i] : 1;
    }
}

/* Every shape a tensor can take obeys one bound: the product of its sizes, each counted as at
 * least 1, is at most LT_MAX_NUMEL. So element counts, contiguous strides, the extent of any
 * view and byte counts (x 8) never overflow int64, whatever the sizes (2^32 x 2^32 x 0 is
 * refused too: it would make the next product overflow). Every path that makes a new shape
 * (constructors, resize, view, reshape, expand) goes through here. */
/* Torch7's unfold: the windows of `size` elements every `step` along dim, as a new last dim
 * (dim's size becomes the window count). A view: windows may share elements. The strides
 * and the new shape are checked for overflow before t changes. */
int lt_unfold(lt_tensor *t, int dim, int64_t size, int64_t step)
{
    if (t->ndim == 0) return lt_error("unfold needs a tensor with at least one dimension");
    if (lt_check_dim("dimension", dim, t->ndim)) return LT_ERR;
    if (t->ndim + 1 > LT_MAXDIM)
        return lt_error("%d dimensions requested, at most %d are supported", t->ndim + 1,
                        LT_MAXDIM);
    if (size < 0 || size > t->size[dim])
        return lt_error("window size %lld out of range for dimension %d of size %lld",
                        (long long)size, dim + 1, (long long)t->size[dim]);
    if (step < 1) return lt_error("step must be positive, got %lld", (long long)step);
    int64_t nsize[LT_MAXDIM], nstride[LT_MAXDIM];
    memcpy(nsize, t->size, (size_t)t->ndim * sizeof *nsize);
    memcpy(nstride, t->stride, (size_t)t->ndim * sizeof *nstride);
    nsize[dim] = (t->size[dim] - size) / step + 1;
    if (__builtin_mul_overflow(t->stride[dim], step, &nstride[dim]))
        return lt_error("unfold: step %lld overflows the stride", (long long)step);
    nsize[t->ndim] = size;
    nstride[t->ndim] = t->stride[dim];
    if (lt_shape_numel(t->ndim + 1, nsize, NULL)) return LT_ERR;
    t->ndim++;
    memcpy(t->size, nsize, (size_t)t->ndim * sizeof *nsize);
    memcpy(t->stride, nstride, (size_t)t->ndim * sizeof *nstride);
    return LT_OK;
}

int lt_shape_numel(int ndim, const int64_t *size, int64_t *numel)
{
    char s[LT_SHAPE_BUFSZ];
    if (ndim < 0 || ndim > LT_MAXDIM)
        return lt_error("%d dimensions requested, at most %d are supported", ndim, LT_MAXDIM);
    int64_t n = 1, bound = 1;
    for (int i = 0; i < ndim; i++) {
        if (size[i] < 0) return lt_error("invalid size %lld at dim %d", (long long)size[i], i + 1);
        if (__builtin_mul_overflow(bound, size[i] ? size[i] : 1, &bound) || bound > LT_MAX_NUMEL)
            return lt_error("shape [%s] is too large (more than 2^59 elements)",
                            lt_shape_str(s, sizeof s, ndim, size));
        n *= size[i];
    }
    if (numel) *numel = n;
    return LT_OK;
}

static lt_tensor *tensor_alloc(int device, lt_dtype dt, int ndim, const int64_t *size, int zero)
{
    int64_t numel;
    if (lt_shape_numel(ndim, size, &numel)) return NULL;
    lt_tensor *t = calloc(1, sizeof *t);
    if (!t) {
        lt_error("out of memory");
        return NULL;
    }
    t->storage = lt_storage_new_on(device, dt, numel, zero);
    if (!t->storage) {
        free(t);
        return NULL;
    }
    t->dtype = dt;
    t->ndim = ndim;
    t->refcount = 1;
    if (ndim) memcpy(t->size, size, (size_t)ndim * sizeof *size);
    set_contiguous_strides(t);
    return t;
}

lt_tensor *lt_tensor_new(lt_dtype dt, int ndim, const int64_t *size)
{
    return tensor_alloc(LT_CPU, dt, ndim, size, 1);
}

lt_tensor *lt_tensor_new_uninit(lt_dtype dt, int ndim, const int64_t *size)
{
    return tensor_alloc(LT_CPU, dt, ndim, size, 0);
}

void *lt_scratch_get(size_t bytes, lt_tensor **hold)
{
    int64_t n = (int64_t)((bytes + 3) / 4);
    *hold = lt_tensor_new_uninit(LT_FLOAT32, 1, &n);
    return *hold ? lt_data(*hold) : NULL;
}

void lt_scratch_put(lt_tensor *hold)
{
    if (hold) lt_tensor_release(hold);
}

lt_tensor *lt_tensor_empty(lt_dtype dt)
{
    int64_t zero = 0;
    return tensor_alloc(LT_CPU, dt, 1, &zero, 0);
}

lt_tensor *lt_tensor_new_on(int device, lt_dtype dt, int ndim, const int64_t *size)
{
    return tensor_alloc(device, dt, ndim, size, 1);
}

lt_tensor *lt_tensor_uninit_on(int device, lt_dtype dt, int ndim, const int64_t *size)
{
    return tensor_alloc(device, dt, ndim, size, 0);
}

lt_tensor *lt_tensor_view_of(const lt_tensor *src)
{
    lt_tensor *t = malloc(sizeof *t);
    if (!t) {
        lt_error("out of memory");
        return NULL;
    }
    *t = *src;
    t->refcount = 1;
    t->requires_grad = 0;
    t->grad = NULL;
    t->grad_fn = NULL;
    t->output_nr = 0;
    t->grad_hook = 0;
    t->acc_pending = 0;
    lt_storage_retain(t->storage);
    return t;
}

lt_tensor *lt_tensor_from_storage(lt_storage *s, int64_t offset, int ndim, const int64_t *size,
                                  const int64_t *stride)
{
    int64_t numel;
    if (lt_shape_numel(ndim, size, &numel)) return NULL;
    if (offset < 0) {
        lt_error("negative storage offset %lld", (long long)offset);
        return NULL;
    }
    int64_t hi = offset, step; /* largest element index reached */
    for (int i = 0; i < ndim; i++) {
        if (stride[i] < 0) {
            lt_error("negative stride %lld at dim %d", (long long)stride[i], i + 1);
            return NULL;
        }
        if (size[i] > 0 && (__builtin_mul_overflow(size[i] - 1, stride[i], &step) ||
                            __builtin_add_overflow(hi, step, &hi))) {
            lt_error("view reaches past element 2^63 (stride %lld at dim %d)",
                     (long long)stride[i], i + 1);
            return NULL;
        }
    }
    if (numel > 0 && hi >= s->numel) {
        lt_error("view reaches element %lld of a storage of %lld elements", (long long)hi + 1,
                 (long long)s->numel);
        return NULL;
    }
    lt_tensor *t = calloc(1, sizeof *t);
    if (!t) {
        lt_error("out of memory");
        return NULL;
    }
    t->storage = s;
    lt_storage_retain(s);
    t->offset = offset;
    t->ndim = ndim;
    t->dtype = s->dtype;
    t->refcount = 1;
    if (ndim) {
        memcpy(t->size, size, (size_t)ndim * sizeof *size);
        memcpy(t->stride, stride, (size_t)ndim * sizeof *stride);
    }
    return t;
}

void lt_tensor_retain(lt_tensor *t) { t->refcount++; }

void lt_node_release(struct lt_node *n);  /* autograd.c */

void lt_tensor_release(lt_tensor *t)
{
    if (!t || --t->refcount > 0) return;
    lt_storage_release(t->storage);
    lt_tensor_release(t->grad);
    lt_node_release(t->grad_fn);
    free(t);
}

int64_t lt_numel(const lt_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->size[i];
    return n;
}

int lt_is_contiguous(const lt_tensor *t)
{
    if (lt_numel(t) == 0) return 1;  /* no elements: any strides describe the same nothing */
    int64_t st = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->size[i] == 1) continue;
        if (t->stride[i] != st) return 0;
        st *= t->size[i];
    }
    return 1;
}

void *lt_data(const lt_tensor *t)
{
    return (char *)t->storage->data + t->offset * (int64_t)lt_dtype_size(t->dtype);
}

int lt_same_shape(const lt_tensor *a, const lt_tensor *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->size[i] != b->size[i]) return 0;
    return 1;
}

static int64_t elem_offset(const lt_tensor *t, const int64_t *idx)
{
    int64_t off = t->offset;
    for (int i = 0; i < t->ndim; i++) off += idx[i] * t->stride[i];
    return off;
}

/* One element of a device tensor, through a bounce buffer on the host. */
typedef union { float f; double d; int64_t l; uint8_t b; lt_bf16 h; } elem_box;

static int device_elem(const lt_tensor *t, const int64_t *idx, elem_box *v, int write)
{
#ifdef LT_HAVE_CUDA
    int64_t es = (int64_t)lt_dtype_size(t->dtype);
    char *dev = (char *)t->storage->data + elem_offset(t, idx) * es;
    return write ? lt_gpu_copy_h2d(dev, v, es) : lt_gpu_copy_d2h(v, dev, es);
#else
    (void)t, (void)idx, (void)v, (void)write;
    return lt_error("luatorch was built without CUDA");
#endif
}

static void *host_elem(const lt_tensor *t, const int64_t *idx, elem_box *box)
{
    if (lt_device(t) == LT_CPU)
        return (char *)t->storage->data + elem_offset(t, idx) * (int64_t)lt_dtype_size(t->dtype);
    /* an unreachable device reads as NaN / 0: lt_get has no error channel */
    if (device_elem(t, idx, box, 0) != LT_OK) memset(box, 0xff, sizeof *box);
    return box;
}

double lt_get(const lt_tensor *t, const int64_t *idx)
{
    elem_box box;
    void *p = host_elem(t, idx, &box);
    switch (t->dtype) {
    case LT_FLOAT32: return *(float *)p;
    case LT_FLOAT64: return *(double *)p;
    case LT_INT64: return (double)*(int64_t *)p;
    case LT_UINT8: return *(uint8_t *)p;
    case LT_BFLOAT16: return lt_bf16_to_f32(*(lt_bf16 *)p);
    default: return 0;
    }
}

int64_t lt_get_int(const lt_tensor *t, const int64_t *idx)
{
    elem_box box;
    if (t->dtype == LT_INT64) return *(int64_t *)host_elem(t, idx, &box);
    return (int64_t)lt_get(t, idx);
}

static void put_elem(lt_tensor *t, const int64_t *idx, elem_box *v)
{
    if (lt_device(t) == LT_CPU)
        memcpy((char *)t->storage->data + elem_offset(t, idx) * (int64_t)lt_dtype_size(t->dtype),
               v, lt_dtype_size(t->dtype));
    else
        (void)device_elem(t, idx, v, 1);
    t->storage->version++;
}

void lt_set(lt_tensor *t, const int64_t *idx, double v)
{
    elem_box box;
    switch (t->dtype) {
    case LT_FLOAT32: box.f = (float)v; break;
    case LT_FLOAT64: box.d = v; break;
    case LT_INT64: box.l = lt_f2i64(v); break;
    case LT_UINT8: box.b = lt_f2u8(v); break;
    case LT_BFLOAT16: box.h = lt_f32_to_bf16((float)v); break;  /* as copy.c: via float */
    default: return;
    }
    put_elem(t, idx, &box);
}

void lt_set_int(lt_tensor *t, const int64_t *idx, int64_t v)
{
    if (t->dtype == LT_INT64) {
        elem_box box;
        box.l = v;
        put_elem(t, idx, &box);
    } else {
        lt_set(t, idx, (double)v);
    }
}

void lt_storage_bump(lt_tensor *t) { t->storage->version++; }

int lt_resize(lt_tensor *t, int ndim, const int64_t *size)
{
    int64_t numel;
    if (lt_shape_numel(ndim, size, &numel)) return LT_ERR;
    if (t->ndim == ndim && !memcmp(t->size, size, (size_t)ndim * sizeof *size)) return LT_OK;
    t->ndim = ndim;
    if (ndim) memcpy(t->size, size, (size_t)ndim * sizeof *size);
    set_contiguous_strides(t);
    if (t->offset + numel > t->storage->numel) {
        lt_storage *s = lt_storage_new_on(t->storage->device, t->dtype, numel, 0);
        if (!s) return LT_ERR;
        lt_storage_release(t->storage);
        t->storage = s;
        t->offset = 0;
    }
    return LT_OK;
}

int lt_resize_as(lt_tensor *t, const lt_tensor *like)
{
    return lt_resize(t, like->ndim, like->size);
}

void lt_set_tensor(lt_tensor *t, const lt_tensor *src)
{
    if (t == src) return;
    lt_storage_retain(src->storage);
    lt_storage_release(t->storage);
    t->storage = src->storage;
    t->offset = src->offset;
    t->ndim = src->ndim;
    t->dtype = src->dtype;
    memcpy(t->size, src->size, sizeof t->size);
    memcpy(t->stride, src->stride, sizeof t->stride);
}

int lt_check_dim(const char *what, int dim, int ndim)
{
    if (dim < 0 || dim >= ndim)
        return lt_error("%s %d out of range for a %d-dimensional tensor", what, dim + 1, ndim);
    return LT_OK;
}

int lt_narrow(lt_tensor *t, int dim, int64_t start, int64_t length)
{
    if (lt_check_dim("dimension", dim, t->ndim)) return LT_ERR;
    if (start < 0 || length < 0 || start > t->size[dim] || length > t->size[dim] - start)
        return lt_error("range [%lld, %lld] out of bounds for dimension %d of size %lld",
                        (long long)start + 1,
                        (long long)(length > INT64_MAX - start ? INT64_MAX : start + length), dim + 1,
                        (long long)t->size[dim]);
    t->offset += start * t->stride[dim];
    t->size[dim] = length;
    return LT_OK;
}

int lt_select(lt_tensor *t, int dim, int64_t index)
{
    if (lt_check_dim("dimension", dim, t->ndim)) return LT_ERR;
    if (index < 0 || index >= t->size[dim])
        return lt_error("index %lld out of range for dimension %d of size %lld",
                        (long long)index + 1, dim + 1, (long long)t->size[dim]);
    t->offset += index * t->stride[dim];
    for (int i = dim; i < t->ndim - 1; i++) {
        t->size[i] = t->size[i + 1];
        t->stride[i] = t->stride[i + 1];
    }
    t->ndim--;
    return LT_OK;
}

int lt_transpose(lt_tensor *t, int d0, int d1)
{
    if (lt_check_dim("dimension", d0, t->ndim) || lt_check_dim("dimension", d1, t->ndim))
        return LT_ERR;
    int64_t s = t->size[d0], st = t->stride[d0];
    t->size[d0] = t->size[d1];
    t->stride[d0] = t->stride[d1];
    t->size[d1] = s;
    t->stride[d1] = st;
    return LT_OK;
}

int lt_permute(lt_tensor *t, const int *perm)
{
    int seen[LT_MAXDIM] = {0};
    int64_t size[LT_MAXDIM], stride[LT_MAXDIM];
    for (int i = 0; i < t->ndim; i++) {
        if (lt_check_dim("dimension", perm[i], t->ndim)) return LT_ERR;
        if (seen[perm[i]]++) return lt_error("dimension %d repeated in permutation", perm[i] + 1);
        size[i] = t->size[perm[i]];
        stride[i] = t->stride[perm[i]];
    }
    memcpy(t->size, size, sizeof size);
    memcpy(t->stride, stride, sizeof stride);
    return LT_OK;
}

int lt_unsqueeze(lt_tensor *t, int dim)
{
    if (dim < 0 || dim > t->ndim)
        return lt_error("dimension %d out of range for unsqueeze of a %d-dimensional tensor",
                        dim + 1, t->ndim);
    if (t->ndim == LT_MAXDIM) return lt_error("at most %d dimensions are supported", LT_MAXDIM);
    for (int i = t->ndim; i > dim; i--) {
        t->size[i] = t->size[i - 1];
        t->stride[i] = t->stride[i - 1];
    }
    t->size[dim] = 1;
    /* any stride is valid for a size-1 dim; this one keeps contiguous tensors contiguous */
    t->stride[dim] = dim < t->ndim ? t->size[dim + 1] * t->stride[dim + 1] : 1;
    t->ndim++;
    return LT_OK;
}

int lt_squeeze_dim(lt_tensor *t, int dim)
{
    if (lt_check_dim("dimension", dim, t->ndim)) return LT_ERR;
    if (t->size[dim] != 1) return LT_OK;  /* as Torch7 and PyTorch: a no-op, not an error */
    for (int i = dim; i < t->ndim - 1; i++) {
        t->size[i] = t->size[i + 1];
        t->stride[i] = t->stride[i + 1];
    }
    t->ndim--;
    return LT_OK;
}

int lt_squeeze(lt_tensor *t)
{
    int n = 0;
    for (int i = 0; i < t->ndim; i++) {
        if (t->size[i] == 1) continue;
        t->size[n] = t->size[i];
        t->stride[n] = t->stride[i];
        n++;
    }
    t->ndim = n;
    return LT_OK;
}

int lt_expand(lt_tensor *t, int ndim, const int64_t *size)
{
    char a[LT_SHAPE_BUFSZ], b[LT_SHAPE_BUFSZ];
    if (ndim < t->ndim || ndim > LT_MAXDIM)
        return lt_error("cannot expand [%s] to [%s]", lt_shape_str(a, sizeof a, t->ndim, t->size),
                        lt_shape_str(b, sizeof b, ndim, size));
    int64_t nsize[LT_MAXDIM], nstride[LT_MAXDIM];
    int lead = ndim - t->ndim;
    for (int i = ndim - 1; i >= 0; i--) {
        int j = i - lead;
        int64_t cur = j >= 0 ? t->size[j] : 1, want = size[i] == -1 ? cur : size[i];
        if (j < 0 && size[i] == -1) goto bad;
        if (cur == want) {
            nsize[i] = cur;
            nstride[i] = j >= 0 ? t->stride[j] : 0;
        } else if (cur == 1 && want >= 0) {
            nsize[i] = want;
            nstride[i] = 0;
        } else {
            goto bad;
        }
    }
    if (lt_shape_numel(ndim, nsize, NULL)) return LT_ERR;
    t->ndim = ndim;
    memcpy(t->size, nsize, (size_t)ndim * sizeof *nsize);
    memcpy(t->stride, nstride, (size_t)ndim * sizeof *nstride);
    return LT_OK;
bad:
    return lt_error("cannot expand [%s] to [%s]", lt_shape_str(a, sizeof a, t->ndim, t->size),
                    lt_shape_str(b, sizeof b, ndim, size));
}

int lt_infer_shape(int64_t numel, int ndim, int64_t *size)
{
    int infer = -1;
    int64_t known = 1, given[LT_MAXDIM] = {0};
    if (ndim > LT_MAXDIM) return lt_error("at most %d dimensions are supported", LT_MAXDIM);
    for (int i = 0; i < ndim; i++) {
        if (size[i] == -1) {
            if (infer >= 0) return lt_error("only one dimension can be inferred (-1)");
            infer = i;
        }
        given[i] = size[i] == -1 ? 1 : size[i];
    }
    if (lt_shape_numel(ndim, given, &known)) return LT_ERR;
    if (infer >= 0) {
        if (known == 0 || numel % known)
            goto bad;
        size[infer] = numel / known;
    } else if (known != numel) {
        goto bad;
    }
    return LT_OK;
bad:;
    char s[LT_SHAPE_BUFSZ];
    return lt_error("shape [%s] is invalid for %lld elements", lt_shape_str(s, sizeof s, ndim, size),
                    (long long)numel);
}

/* Strides for viewing t (any strides) as shape size, if possible (PyTorch's computeStride). */
static int view_strides(const lt_tensor *t, int ndim, const int64_t *size, int64_t *stride)
{
    int64_t numel = lt_numel(t);
    if (numel == 0 || t->ndim == 0) {
        int64_t st = 1;
        for (int i = ndim - 1; i >= 0; i--) {
            stride[i] = st;
            st *= size[i] ? size[i] : 1;
        }
        return 1;
    }
    int vd = ndim - 1;
    int64_t chunk_base = t->stride[t->ndim - 1], tensor_numel = 1, view_numel = 1;
    for (int td = t->ndim - 1; td >= 0; td--) {
        tensor_numel *= t->size[td];
        if (td == 0 || (t->size[td - 1] != 1 && t->stride[td - 1] != tensor_numel * chunk_base)) {
            while (vd >= 0 && (view_numel < tensor_numel || size[vd] == 1)) {
                stride[vd] = view_numel * chunk_base;
                view_numel *= size[vd];
                vd--;
            }
            if (view_numel != tensor_numel) return 0;
            if (td > 0) {
                chunk_base = t->stride[td - 1];
                tensor_numel = 1;
                view_numel = 1;
            }
        }
    }
    return vd == -1;
}

int lt_view(lt_tensor *t, int ndim, const int64_t *size_in)
{
    int64_t size[LT_MAXDIM], stride[LT_MAXDIM];
    if (ndim > LT_MAXDIM) return lt_error("at most %d dimensions are supported", LT_MAXDIM);
    memcpy(size, size_in, (size_t)ndim * sizeof *size);
    if (lt_infer_shape(lt_numel(t), ndim, size)) return LT_ERR;
    if (!view_strides(t, ndim, size, stride)) {
        char a[LT_SHAPE_BUFSZ], b[LT_SHAPE_BUFSZ];
        return lt_error("cannot view a non-contiguous [%s] tensor as [%s] (use reshape or "
                        "contiguous)",
                        lt_shape_str(a, sizeof a, t->ndim, t->size),
                        lt_shape_str(b, sizeof b, ndim, size));
    }
    t->ndim = ndim;
    memcpy(t->size, size, (size_t)ndim * sizeof *size);
    memcpy(t->stride, stride, (size_t)ndim * sizeof *stride);
    return LT_OK;
}

int lt_broadcast_shape(int na, const int64_t *sa, int nb, const int64_t *sb, int *nout,
                       int64_t *sout)
{
    int n = na > nb ? na : nb;
    int64_t res[LT_MAXDIM];
    for (int i = 0; i < n; i++) {
        int ia = na - n + i, ib = nb - n + i;
        int64_t a = ia >= 0 ? sa[ia] : 1, b = ib >= 0 ? sb[ib] : 1;
        if (a == b || b == 1) res[i] = a;
        else if (a == 1) res[i] = b;
        else {
            char x[LT_SHAPE_BUFSZ], y[LT_SHAPE_BUFSZ];
            return lt_error("shapes [%s] and [%s] cannot be broadcast together",
                            lt_shape_str(x, sizeof x, na, sa), lt_shape_str(y, sizeof y, nb, sb));
        }
    }
    *nout = n;
    memcpy(sout, res, (size_t)n * sizeof *res);
    return LT_OK;
}

int lt_broadcast_many(const lt_tensor *const *ts, int n, int *ndim, int64_t *size)
{
    *ndim = ts[0]->ndim;
    memcpy(size, ts[0]->size, (size_t)ts[0]->ndim * sizeof *size);
    for (int i = 1; i < n; i++)
        if (lt_broadcast_shape(*ndim, size, ts[i]->ndim, ts[i]->size, ndim, size)) return LT_ERR;
    return LT_OK;
}
