/*
 * index.c — indexing by int64 index tensors (0-based here; the Lua layer converts from
 * Torch7's 1-based ones): index_select / index_copy / index_add / index_fill along a dim,
 * gather / scatter / scatter_add (PyTorch's shape rules), and nonzero.
 *
 * Every index is checked before anything is written; an out-of-range one is reported 1-based,
 * as the Lua user wrote it, with the size of the dim. The kernels run on lt_iter with the
 * indexed operand viewed with stride 0 along dim, so the loop adds index * stride itself.
 * Reads (select, gather) run in parallel; writes through indices (copy, add, fill, scatter)
 * run serially so that duplicate indices give the same result every time. Device tensors go
 * to gpu/index.cu once the checks that need no index values have passed; nonzero is host-only.
 */
#include <string.h>

#include "lt_internal.h"


/* ---- checks ----------------------------------------------------------------------------- */

static int check_index_dtype(const lt_tensor *index)
{
    if (index->dtype != LT_INT64)
        return lt_error("index tensor must be Long, got %s", lt_dtype_name(index->dtype));
    return LT_OK;
}

static int check_same_dtype(const lt_tensor *t, const lt_tensor *src, const char *what)
{
    if (t->dtype != src->dtype)
        return lt_error("%s is %s, expected %s (the destination's type)", what,
                        lt_dtype_name(src->dtype), lt_dtype_name(t->dtype));
    return LT_OK;
}

static int check_writable(const lt_tensor *t)
{
    if (lt_is_expanded(t)) return lt_error("cannot write into an expanded tensor (clone it first)");
    return LT_OK;
}

typedef struct { int64_t size; int found; int64_t bad; } range_res;

static void range_loop(char **p, const int64_t *s, int64_t n, const void *vctx)
{
    range_res *r = *(range_res *const *)vctx;
    const int64_t *ix = (const int64_t *)p[0];
    if (r->found) return;
    for (int64_t i = 0; i < n; i++) {
        int64_t v = ix[i * s[0]];
        if (v < 0 || v >= r->size) {
            r->found = 1;
            r->bad = v;
            return;
        }
    }
}

/* Every element of index lies in [0, size); else an error naming the first bad one 1-based.
 * The device twins (gpu/index.cu) check with it too. */
int lt_index_check_range(const lt_tensor *index, int64_t size, int dim)
{
    if (lt_numel(index) == 0) return LT_OK;
    const lt_tensor *h;   /* a device index is checked on a host copy (one transfer) */
    if (lt_host_copy(index, &h)) return LT_ERR;
    range_res r = {size, 0, 0};
    range_res *rp = &r;
    lt_iter it;
    const lt_tensor *ops[1] = {h};
    int st = lt_iter_init(&it, 1, ops);
    if (st == LT_OK) lt_iter_run(&it, range_loop, &rp, 1);
    lt_host_release(index, h);
    if (st != LT_OK) return st;
    if (r.found)
        return lt_error("index %lld out of range for dimension %d of size %lld",
                        (long long)r.bad + 1, dim + 1, (long long)size);
    return LT_OK;
}

/* The 1-d index of index_select & co as a view that broadcasts along every dim but `dim`
 * of an ndim-dimensional operand. */
static int index_vector(const lt_tensor *index, int ndim, int dim, lt_tensor *iv)
{
    if (check_index_dtype(index)) return LT_ERR;
    if (index->ndim > 1) {
        char b[LT_SHAPE_BUFSZ];
        return lt_error("index must be a 1-D tensor, got [%s]",
                        lt_shape_str(b, sizeof b, index->ndim, index->size));
    }
    *iv = *index;
    iv->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        iv->size[i] = 1;
        iv->stride[i] = 0;
    }
    iv->size[dim] = lt_numel(index);
    iv->stride[dim] = index->ndim ? index->stride[0] : 1;
    return LT_OK;
}

/* ---- kernels ---------------------------------------------------------------------------- */

/* Reads: op0[i] = op1[i + op2[i] * sd]; dtype-agnostic, by element size. */
typedef struct { int64_t sd; } take_ctx;

#define TAKE_LOOP(T)                                                                         \
    static void take_##T(char **p, const int64_t *s, int64_t n, const void *vctx)            \
    {                                                                                        \
        int64_t sd = ((const take_ctx *)vctx)->sd;                                           \
        T *o = (T *)p[0];                                                                    \
        const T *x = (const T *)p[1];                                                        \
        const int64_t *ix = (const int64_t *)p[2];                                           \
        for (int64_t i = 0; i < n; i++) o[i * s[0]] = x[i * s[1] + ix[i * s[2]] * sd];       \
    }

TAKE_LOOP(uint8_t)
TAKE_LOOP(uint32_t)
TAKE_LOOP(uint64_t)

static lt_loop_fn take_loop(lt_dtype dt)
{
    size_t sz = lt_dtype_size(dt);
    return sz == 1 ? take_uint8_t : sz == 4 ? take_uint32_t : take_uint64_t;
}

/* Writes: t[i + index[i] * sd] (=|+=) src[i], or = value. Operands sit at positions pi
 * (index), pt (target) and ps (source) of the iterator. */
typedef enum { PUT_COPY, PUT_ADD, PUT_FILL } put_mode;
typedef struct {
    int64_t sd;
    int pi, pt, ps;
    put_mode mode;
    char value[8];       /* the fill value, already in the target's dtype */
} put_ctx;

#define ADD_F(a, b) ((a) + (b))
#define ADD_L(a, b) ((int64_t)((uint64_t)(a) + (uint64_t)(b)))
#define ADD_B(a, b) ((uint8_t)((a) + (b)))

#define PUT_LOOP(T, ADD)                                                                     \
    static void put_##T(char **p, const int64_t *s, int64_t n, const void *vctx)             \
    {                                                                                        \
        const put_ctx *c = vctx;                                                             \
        const int64_t *ix = (const int64_t *)p[c->pi];                                       \
        T *t = (T *)p[c->pt];                                                                \
        int64_t si = s[c->pi], st = s[c->pt], sd = c->sd;                                    \
        if (c->mode == PUT_FILL) {                                                           \
            T v;                                                                             \
            memcpy(&v, c->value, sizeof v);                                                  \
            for (int64_t i = 0; i < n; i++) t[i * st + ix[i * si] * sd] = v;                 \
            return;                                                                          \
        }                                                                                    \
        const T *x = (const T *)p[c->ps];                                                    \
        int64_t ss = s[c->ps];                                                               \
        if (c->mode == PUT_COPY) {                                                           \
            for (int64_t i = 0; i < n; i++) t[i * st + ix[i * si] * sd] = x[i * ss];         \
        } else {                                                                             \
            for (int64_t i = 0; i < n; i++) {                                                \
                T *d = &t[i * st + ix[i * si] * sd];                                         \
                *d = ADD(*d, x[i * ss]);                                                     \
            }                                                                                \
        }                                                                                    \
    }

PUT_LOOP(float, ADD_F)
PUT_LOOP(double, ADD_F)
PUT_LOOP(int64_t, ADD_L)
PUT_LOOP(uint8_t, ADD_B)

static const lt_loop_fn put_tab[LT_NDTYPES] = {put_float, put_double, put_int64_t, put_uint8_t};

/* value converted to dt exactly as lt_fill converts it. */
static int fill_value(lt_dtype dt, double value, char *bytes)
{
    lt_tensor *v = lt_tensor_new_uninit(dt, 0, NULL);
    if (!v) return LT_ERR;
    int st = lt_fill(v, value);
    memcpy(bytes, lt_data(v), lt_dtype_size(dt));
    lt_tensor_release(v);
    return st;
}

/* ---- index_select ----------------------------------------------------------------------- */

typedef struct {
    char *o;
    const char *x;
    const int64_t *ix;
    int64_t is, rowbytes;
} select_job;

static void select_range(void *p, int64_t k0, int64_t k1)
{
    const select_job *j = p;
    for (int64_t k = k0; k < k1; k++)
        memcpy(j->o + k * j->rowbytes, j->x + j->ix[k * j->is] * j->rowbytes, (size_t)j->rowbytes);
}

/* out rows = a rows picked by index, with one memcpy per row (a and out contiguous). */
static void select_rows(char *o, const char *x, const lt_tensor *index, int64_t rowbytes)
{
    int64_t K = lt_numel(index);
    select_job j = {o, x, lt_data(index), index->ndim ? index->stride[0] : 1, rowbytes};
    lt_parallel_range(lt_par_chunks(0, 2.0 * (double)K * (double)rowbytes), K, select_range, &j);
}

int lt_index_select(lt_tensor *out, const lt_tensor *a_in, int dim, const lt_tensor *index)
{
    lt_tensor a = lt_as_1d(a_in), iv;
    if (lt_check_dim("dimension", dim, a.ndim)) return LT_ERR;
    if (index_vector(index, a.ndim, dim, &iv)) return LT_ERR;
    if (check_same_dtype(a_in, out, "result tensor")) return LT_ERR;
    LT_GPU_ROUTE(out, lt_gpu_index_select(out, a_in, dim, index), a_in, index);
    if (lt_index_check_range(index, a.size[dim], dim)) return LT_ERR;
    if (lt_shares_storage(out, a_in)) {
        lt_tensor *fresh = lt_tensor_empty(out->dtype);
        if (!fresh) return LT_ERR;
        return lt_out_through(out, fresh, lt_index_select(fresh, a_in, dim, index));
    }
    int64_t K = lt_numel(index), osize[LT_MAXDIM];
    memcpy(osize, a.size, sizeof osize);
    osize[dim] = K;
    lt_tensor *target;
    const lt_tensor *ins[2] = {a_in, index};
    if (lt_out_prepare(out, a.ndim, osize, ins, 2, &target)) return LT_ERR;
    int st = LT_OK;
    if (dim == 0 && lt_is_contiguous(&a) && lt_is_contiguous(target)) {
        int64_t rowbytes = (int64_t)lt_dtype_size(a.dtype);
        for (int i = 1; i < a.ndim; i++) rowbytes *= a.size[i];
        if (rowbytes > 0) select_rows(lt_data(target), lt_data(&a), index, rowbytes);
    } else {
        lt_tensor a1 = a;
        a1.size[dim] = K;
        a1.stride[dim] = 0;
        take_ctx c = {a.stride[dim]};
        lt_iter it;
        const lt_tensor *ops[3] = {target, &a1, &iv};
        lt_tensor o1 = lt_as_1d(target);
        ops[0] = &o1;
        st = lt_iter_init(&it, 3, ops);
        if (st == LT_OK) lt_iter_run(&it, take_loop(a.dtype), &c, 0);
    }
    return lt_out_finish(out, target, st);
}

/* ---- index_copy / index_add / index_fill ------------------------------------------------ */

/* src must be t's shape with `dim` resized to the index length. */
static int check_slices(const lt_tensor *t, const lt_tensor *src, int dim, int64_t K)
{
    int ok = src->ndim == t->ndim;
    for (int i = 0; ok && i < t->ndim; i++)
        if (src->size[i] != (i == dim ? K : t->size[i])) ok = 0;
    if (!ok) {
        char a[LT_SHAPE_BUFSZ], b[LT_SHAPE_BUFSZ];
        return lt_error("source [%s] does not match destination [%s] with dimension %d of "
                        "size %lld (the index length)",
                        lt_shape_str(a, sizeof a, src->ndim, src->size),
                        lt_shape_str(b, sizeof b, t->ndim, t->size), dim + 1, (long long)K);
    }
    return LT_OK;
}

/* t[..., i_k, ...] += src[..., k, ...] for contiguous row-major t and src, along dim 0. */
#define ADD_ROWS(T, ADD)                                                                     \
    static void add_rows_##T(char *pt, const char *ps, const int64_t *ix, int64_t is,        \
                             int64_t K, int64_t row)                                         \
    {                                                                                        \
        T *t = (T *)pt;                                                                      \
        const T *s = (const T *)ps;                                                          \
        for (int64_t k = 0; k < K; k++) {                                                    \
            T *d = t + ix[k * is] * row;                                                     \
            const T *x = s + k * row;                                                        \
            for (int64_t j = 0; j < row; j++) d[j] = ADD(d[j], x[j]);                        \
        }                                                                                    \
    }

ADD_ROWS(float, ADD_F)
ADD_ROWS(double, ADD_F)
ADD_ROWS(int64_t, ADD_L)
ADD_ROWS(uint8_t, ADD_B)

typedef void (*add_rows_fn)(char *, const char *, const int64_t *, int64_t, int64_t, int64_t);
static const add_rows_fn add_rows_tab[LT_NDTYPES] = {add_rows_float, add_rows_double,
                                                     add_rows_int64_t, add_rows_uint8_t};

static int index_put(lt_tensor *t_in, int dim, const lt_tensor *index_in,
                     const lt_tensor *src_in, put_mode mode, double value)
{
    lt_tensor t = lt_as_1d(t_in), iv, src;
    if (lt_check_dim("dimension", dim, t.ndim)) return LT_ERR;
    if (index_vector(index_in, t.ndim, dim, &iv)) return LT_ERR;
    if (check_writable(t_in)) return LT_ERR;
    int64_t K = lt_numel(index_in);
    if (src_in) {
        if (check_same_dtype(t_in, src_in, "source")) return LT_ERR;
        src = t_in->ndim == 0 ? lt_as_1d(src_in) : *src_in;
        if (check_slices(&t, &src, dim, K)) return LT_ERR;
    }
    LT_GPU_ROUTE(NULL,
                 mode == PUT_COPY  ? lt_gpu_index_copy(t_in, dim, index_in, src_in)
                 : mode == PUT_ADD ? lt_gpu_index_add(t_in, dim, index_in, src_in)
                                   : lt_gpu_index_fill(t_in, dim, index_in, value),
                 t_in, index_in, src_in);
    if (lt_index_check_range(index_in, t.size[dim], dim)) return LT_ERR;
    if (K == 0) return LT_OK;
    put_ctx c = {t.stride[dim], 0, 1, 2, mode, {0}};
    if (mode == PUT_FILL && fill_value(t.dtype, value, c.value)) return LT_ERR;
    /* inputs that share t's storage are copied first: writes must not change them */
    lt_tensor *stmp = NULL, *itmp = NULL;
    const lt_tensor *sp = src_in ? lt_unaliased(t_in, &src, &stmp) : NULL;
    const lt_tensor *index = lt_unaliased(t_in, index_in, &itmp);
    if ((src_in && !sp) || !index) {
        lt_tensor_release(stmp);
        return LT_ERR;
    }
    index_vector(index, t.ndim, dim, &iv);
    int st = LT_OK;
    if (mode == PUT_ADD && dim == 0 && lt_is_contiguous(&t) && lt_is_contiguous(sp)) {
        int64_t row = 1;
        for (int i = 1; i < t.ndim; i++) row *= t.size[i];
        add_rows_tab[t.dtype](lt_data(&t), lt_data(sp), lt_data(index),
                              index->ndim ? index->stride[0] : 1, K, row);
    } else {
        lt_tensor t1 = t;
        t1.size[dim] = K;
        t1.stride[dim] = 0;
        lt_iter it;
        if (sp) {
            const lt_tensor *ops[3] = {sp, &t1, &iv};   /* src gives the shape */
            c.ps = 0;
            c.pt = 1;
            c.pi = 2;
            st = lt_iter_init(&it, 3, ops);
        } else {
            const lt_tensor *ops[2] = {&t1, &iv};
            c.pt = 0;
            c.pi = 1;
            st = lt_iter_init(&it, 2, ops);
        }
        if (st == LT_OK) lt_iter_run(&it, put_tab[t.dtype], &c, 1);
    }
    if (st == LT_OK) lt_storage_bump(t_in);
    lt_tensor_release(stmp);
    lt_tensor_release(itmp);
    return st;
}

int lt_index_copy(lt_tensor *t, int dim, const lt_tensor *index, const lt_tensor *src)
{
    return index_put(t, dim, index, src, PUT_COPY, 0);
}

int lt_index_add(lt_tensor *t, int dim, const lt_tensor *index, const lt_tensor *src)
{
    return index_put(t, dim, index, src, PUT_ADD, 0);
}

int lt_index_fill(lt_tensor *t, int dim, const lt_tensor *index, double value)
{
    return index_put(t, dim, index, NULL, PUT_FILL, value);
}

/* ---- gather / scatter ------------------------------------------------------------------- */

/* PyTorch's rules: index has the input's ndim, and index.size(d) <= input.size(d) for every
 * d != dim (and <= src.size(d) for every d, when there is a src). */
static int check_gather_shapes(const lt_tensor *self, const lt_tensor *index,
                               const lt_tensor *src, int dim)
{
    char a[LT_SHAPE_BUFSZ], b[LT_SHAPE_BUFSZ];
    if (check_index_dtype(index)) return LT_ERR;
    if (index->ndim != self->ndim)
        return lt_error("index [%s] must have as many dimensions as the tensor [%s]",
                        lt_shape_str(a, sizeof a, index->ndim, index->size),
                        lt_shape_str(b, sizeof b, self->ndim, self->size));
    for (int d = 0; d < self->ndim; d++)
        if (d != dim && index->size[d] > self->size[d])
            return lt_error("index [%s] is larger than the tensor [%s] in dimension %d",
                            lt_shape_str(a, sizeof a, index->ndim, index->size),
                            lt_shape_str(b, sizeof b, self->ndim, self->size), d + 1);
    if (src) {
        if (src->ndim != index->ndim)
            return lt_error("index [%s] and source [%s] must have the same number of "
                            "dimensions",
                            lt_shape_str(a, sizeof a, index->ndim, index->size),
                            lt_shape_str(b, sizeof b, src->ndim, src->size));
        for (int d = 0; d < src->ndim; d++)
            if (index->size[d] > src->size[d])
                return lt_error("index [%s] is larger than the source [%s] in dimension %d",
                                lt_shape_str(a, sizeof a, index->ndim, index->size),
                                lt_shape_str(b, sizeof b, src->ndim, src->size), d + 1);
    }
    return LT_OK;
}

/* t viewed with index's sizes and stride 0 along dim (the kernel adds index * stride). */
static lt_tensor indexed_view(const lt_tensor *t, const lt_tensor *index, int dim)
{
    lt_tensor v = lt_as_1d(t);
    lt_tensor i1 = lt_as_1d(index);
    memcpy(v.size, i1.size, sizeof v.size);
    v.stride[dim] = 0;
    return v;
}

int lt_gather(lt_tensor *out, const lt_tensor *a, int dim, const lt_tensor *index)
{
    lt_tensor a1d = lt_as_1d(a);
    if (lt_check_dim("dimension", dim, a1d.ndim)) return LT_ERR;
    if (check_gather_shapes(a, index, NULL, dim)) return LT_ERR;
    if (check_same_dtype(a, out, "result tensor")) return LT_ERR;
    LT_GPU_ROUTE(out, lt_gpu_gather(out, a, dim, index), a, index);
    if (lt_index_check_range(index, a1d.size[dim], dim)) return LT_ERR;
    if (lt_shares_storage(out, a)) {
        lt_tensor *fresh = lt_tensor_empty(out->dtype);
        if (!fresh) return LT_ERR;
        return lt_out_through(out, fresh, lt_gather(fresh, a, dim, index));
    }
    lt_tensor *target;
    const lt_tensor *ins[2] = {a, index};
    if (lt_out_prepare(out, index->ndim, index->size, ins, 2, &target)) return LT_ERR;
    lt_tensor o1 = lt_as_1d(target), a1 = indexed_view(a, index, dim), i1 = lt_as_1d(index);
    take_ctx c = {a1d.stride[dim]};
    lt_iter it;
    const lt_tensor *ops[3] = {&o1, &a1, &i1};
    int st = lt_iter_init(&it, 3, ops);
    if (st == LT_OK) lt_iter_run(&it, take_loop(a->dtype), &c, 0);
    return lt_out_finish(out, target, st);
}

static int scatter_impl(lt_tensor *t, int dim, const lt_tensor *index, const lt_tensor *src,
                        put_mode mode, double value)
{
    lt_tensor t1d = lt_as_1d(t);
    if (lt_check_dim("dimension", dim, t1d.ndim)) return LT_ERR;
    if (check_gather_shapes(t, index, src, dim)) return LT_ERR;
    if (src && check_same_dtype(t, src, "source")) return LT_ERR;
    if (check_writable(t)) return LT_ERR;
    LT_GPU_ROUTE(NULL,
                 mode == PUT_COPY  ? lt_gpu_scatter(t, dim, index, src)
                 : mode == PUT_ADD ? lt_gpu_scatter_add(t, dim, index, src)
                                   : lt_gpu_scatter_value(t, dim, index, value),
                 t, index, src);
    if (lt_index_check_range(index, t1d.size[dim], dim)) return LT_ERR;
    if (lt_numel(index) == 0) return LT_OK;
    put_ctx c = {t1d.stride[dim], 0, 1, 2, mode, {0}};
    if (mode == PUT_FILL && fill_value(t->dtype, value, c.value)) return LT_ERR;
    lt_tensor *tmp = NULL, *itmp = NULL;
    const lt_tensor *sp = src ? lt_unaliased(t, src, &tmp) : NULL;
    const lt_tensor *ip = lt_unaliased(t, index, &itmp);
    if ((src && !sp) || !ip) {
        lt_tensor_release(tmp);
        return LT_ERR;
    }
    lt_tensor i1 = lt_as_1d(ip), tv = indexed_view(t, index, dim), sv;
    lt_iter it;
    int st;
    if (src) {
        sv = lt_as_1d(sp);
        memcpy(sv.size, i1.size, sizeof sv.size);
        const lt_tensor *ops[3] = {&i1, &tv, &sv};
        st = lt_iter_init(&it, 3, ops);
    } else {
        const lt_tensor *ops[2] = {&i1, &tv};
        st = lt_iter_init(&it, 2, ops);
    }
    if (st == LT_OK) {
        lt_iter_run(&it, put_tab[t->dtype], &c, 1);
        lt_storage_bump(t);
    }
    lt_tensor_release(tmp);
    lt_tensor_release(itmp);
    return st;
}

int lt_scatter(lt_tensor *t, int dim, const lt_tensor *index, const lt_tensor *src)
{
    return scatter_impl(t, dim, index, src, PUT_COPY, 0);
}

int lt_scatter_value(lt_tensor *t, int dim, const lt_tensor *index, double value)
{
    return scatter_impl(t, dim, index, NULL, PUT_FILL, value);
}

int lt_scatter_add(lt_tensor *t, int dim, const lt_tensor *index, const lt_tensor *src)
{
    return scatter_impl(t, dim, index, src, PUT_ADD, 0);
}

/* ---- nonzero ---------------------------------------------------------------------------- */

static int is_nonzero(const char *p, lt_dtype dt)
{
    switch (dt) {
    case LT_FLOAT32: return *(const float *)p != 0;   /* NaN counts as nonzero */
    case LT_FLOAT64: return *(const double *)p != 0;
    case LT_INT64: return *(const int64_t *)p != 0;
    default: return *(const uint8_t *)p != 0;
    }
}

/* Visits a's elements in row-major order; with out, writes the multi-index of each nonzero
 * one as a row of out; returns the count. */
static int64_t nonzero_pass(const lt_tensor *a, lt_tensor *out)
{
    int nd = a->ndim;
    int64_t n = lt_numel(a), count = 0, idx[LT_MAXDIM] = {0};
    int64_t esz = (int64_t)lt_dtype_size(a->dtype);
    const char *base = lt_data(a);
    int64_t *o = out ? lt_data(out) : NULL;
    for (int64_t e = 0; e < n; e++) {
        int64_t off = 0;
        for (int i = 0; i < nd; i++) off += idx[i] * a->stride[i];
        if (is_nonzero(base + off * esz, a->dtype)) {
            if (o)
                for (int i = 0; i < nd; i++) o[count * out->stride[0] + i * out->stride[1]] = idx[i];
            count++;
        }
        for (int i = nd - 1; i >= 0 && ++idx[i] >= a->size[i]; i--) idx[i] = 0;
    }
    return count;
}

int lt_nonzero(lt_tensor *out, const lt_tensor *a)
{
    if (out->dtype != LT_INT64)
        return lt_error("result tensor is %s, expected Long", lt_dtype_name(out->dtype));
    int dev;
    if (lt_common_device(&dev, 1, &a) || lt_out_on(out, dev)) return LT_ERR;
    if (dev != LT_CPU) {
        /* the result's size depends on the data: counted on a host copy, one round trip */
        const lt_tensor *h = a;
        lt_tensor *hr = lt_tensor_empty(LT_INT64);
        int st = hr ? lt_host_copy(a, &h) : LT_ERR;
        if (st == LT_OK) st = lt_nonzero(hr, h);
        if (st == LT_OK) st = lt_host_result(out, hr);
        lt_host_release(a, h);
        lt_tensor_release(hr);
        return st;
    }
    int64_t size[2] = {nonzero_pass(a, NULL), a->ndim};
    lt_tensor *target;
    const lt_tensor *ins[1] = {a};
    if (lt_out_prepare(out, 2, size, ins, 1, &target)) return LT_ERR;
    if (size[0] > 0 && size[1] > 0) nonzero_pass(a, target);
    return lt_out_finish(out, target, LT_OK);
}
