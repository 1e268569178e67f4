/*
 * ltensor.c — the tensor userdata: constructors, shape queries, views, copies and type
 * conversion, Torch7 indexing (t[i], t[{ {1,2}, 3 }], masks) and the lifetime metamethods.
 *
 * A tensor userdata is a box holding one reference to a core lt_tensor; __gc, __close and
 * :free() share one idempotent release. Views make a new handle on the same storage.
 */
#include <math.h>
#include <string.h>

#include "lt_lua.h"
#include "../gpu/lt_gpu.h"

static lt_tensor **checkbox(lua_State *L, int arg)
{
    return luaL_checkudata(L, arg, LT_TENSOR_MT);
}

/* The dtype of a host type name ("torch.FloatTensor", "Float..."), or -1. */
static int dtype_from_name(const char *name)
{
    lt_dtype dt;
    int cuda;
    return ltL_parse_typename(name, &dt, &cuda) && !cuda ? (int)dt : -1;
}

/* A new handle on t's storage and layout, pushed; returns it for a view op to reshape. */
static lt_tensor *pushview(lua_State *L, const lt_tensor *t, const char *fname)
{
    lt_tensor *v = lt_tensor_view_of(t);
    ltL_pushtensor(L, v, fname);
    return v;
}

/* Records the view v of t for autograd (nothing happens unless t requires grad). */
static void recview(lua_State *L, lt_tensor *v, lt_tensor *t, lt_view_kind kind,
                    const int64_t *args, const char *fname)
{
    if (lt_rec_view(v, t, kind, args) != LT_OK) ltL_error(L, fname);
}

/* Chains of views (sub, t[{...}]): without autograd, one new handle that every step changes
 * in place. When t requires grad, each step must be its own recorded node, so the handle
 * boxed at the top of the stack starts as t itself and each step replaces it with a
 * recorded view of the previous one (view_done makes sure the result is never t). */
typedef struct { lt_tensor *t, *cur; int rec, box; } view_chain;

static lt_tensor *view_begin(lua_State *L, view_chain *c, lt_tensor *t, const char *fname)
{
    c->t = t;
    c->rec = lt_needs_grad(1, (const lt_tensor *const *)&t);
    if (c->rec) {
        lt_tensor_retain(t);
        ltL_pushtensor(L, t, fname);
        c->cur = t;
    } else {
        c->cur = pushview(L, t, fname);
    }
    c->box = lua_gettop(L);
    return c->cur;
}

/* One narrow (args: dim, start, length) or select (dim, index) step; returns the new view. */
static lt_tensor *view_step(lua_State *L, view_chain *c, lt_view_kind kind,
                            const int64_t *args, const char *fname)
{
    lt_tensor *v = c->rec ? lt_tensor_view_of(c->cur) : c->cur;
    if (!v) ltL_error(L, fname);
    int st = kind == LT_VIEW_NARROW ? lt_narrow(v, (int)args[0], args[1], args[2])
           : kind == LT_VIEW_SELECT ? lt_select(v, (int)args[0], args[1])
                                    : LT_OK;  /* RESHAPE to the same shape: the identity */
    if (st == LT_OK && c->rec) st = lt_rec_view(v, c->cur, kind, args);
    if (st != LT_OK) {
        if (c->rec) lt_tensor_release(v);
        ltL_error(L, fname);
    }
    if (c->rec) {  /* the box owned cur; the node now holds what the graph needs of it */
        lt_tensor **box = lua_touserdata(L, c->box);
        *box = v;
        lt_tensor_release(c->cur);
        c->cur = v;
    }
    return v;
}

static lt_tensor *view_done(lua_State *L, view_chain *c, const char *fname)
{
    if (c->rec && c->cur == c->t) view_step(L, c, LT_VIEW_RESHAPE, NULL, fname);
    return c->cur;
}

/* ---- construction ------------------------------------------------------------------------ */

/* Shape of a nested Lua table, checked to be rectangular when the values are filled. */
static int table_shape(lua_State *L, int idx, int64_t *size)
{
    int nd = 0;
    lua_pushvalue(L, idx);
    while (lua_istable(L, -1)) {
        if (nd == LT_MAXDIM) luaL_error(L, "tensor: nested table is too deep");
        size[nd++] = (int64_t)luaL_len(L, -1);
        if (size[nd - 1] == 0) break;
        lua_geti(L, -1, 1);
        lua_remove(L, -2);
    }
    lua_pop(L, 1);
    return nd;
}

static void fill_from_table(lua_State *L, int idx, lt_tensor *t, int dim, int64_t *pos)
{
    int64_t n = (int64_t)luaL_len(L, idx);
    if (n != t->size[dim])
        luaL_error(L, "tensor: nested table is not rectangular (dimension %d has %I and %I "
                      "elements)", dim + 1, (lua_Integer)t->size[dim], (lua_Integer)n);
    for (int64_t i = 0; i < n; i++) {
        lua_geti(L, idx, i + 1);
        pos[dim] = i;
        if (dim + 1 < t->ndim) {
            if (!lua_istable(L, -1))
                luaL_error(L, "tensor: nested table is not rectangular (expected a table at "
                              "depth %d)", dim + 2);
            fill_from_table(L, lua_gettop(L), t, dim + 1, pos);
        } else {
            int isnum;
            if (lua_isboolean(L, -1)) {
                lt_set(t, pos, lua_toboolean(L, -1));
            } else if (t->dtype == LT_INT64 && lua_isinteger(L, -1)) {
                lt_set_int(t, pos, lua_tointeger(L, -1));
            } else {
                lua_Number v = lua_tonumberx(L, -1, &isnum);
                if (!isnum)
                    luaL_error(L, "tensor: expected numbers in the table, got %s",
                               luaL_typename(L, -1));
                lt_set(t, pos, v);
            }
        }
        lua_pop(L, 1);
    }
}

/* torch.FloatTensor(...) and friends (upvalues: dtype or -1 for the default type, name).
 * Forms, as Torch7:  ()  (sizes...)  (LongStorage of sizes)  ({nested table})  (tensor)
 *                    (storage [, offset [, sizes [, strides]]]) */
/* torch.CudaTensor(sizes...) etc.: zeros allocated on the device, with no host tensor on the
 * way (lua/torch/init.lua sends the other forms through the host constructor). */
static int tensor_new_cuda(lua_State *L)
{
    lt_dtype dt = (lt_dtype)lua_tointeger(L, lua_upvalueindex(1));
    const char *fname = lua_tostring(L, lua_upvalueindex(2));
    int64_t size[LT_MAXDIM];
    int nd = ltL_checksizes_named(L, 1, size, fname);
    LT_TRY(L, fname, lt_gpu_require());
    ltL_pushtensor(L, lt_tensor_new_on(0, dt, nd, size), fname);
    return 1;
}

static int tensor_new(lua_State *L)
{
    lua_Integer up = lua_tointeger(L, lua_upvalueindex(1));
    lt_dtype dt = up < 0 ? ltL_default_dtype() : (lt_dtype)up;
    const char *fname = lua_tostring(L, lua_upvalueindex(2));
    int64_t size[LT_MAXDIM], stride[LT_MAXDIM];
    lt_tensor *src;
    lt_storage **sbox = luaL_testudata(L, 1, LT_STORAGE_MT);
    int storage_view = sbox && (!*sbox || (*sbox)->dtype != LT_INT64 || lua_isnumber(L, 2));
    if (lua_isnoneornil(L, 1)) {
        ltL_newtensor(L, dt);
        return 1;
    }
    if ((src = ltL_totensor(L, 1)) != NULL) {
        if (src->dtype == dt) {  /* Torch7: a new tensor on the same storage */
            pushview(L, src, fname);
        } else {
            lt_tensor *t = lt_tensor_new_uninit(dt, src->ndim, src->size);
            ltL_pushtensor(L, t, fname);
            LT_TRY(L, fname, lt_copy(t, src));
        }
        return 1;
    }
    if (storage_view) {
        lt_storage *s = ltL_checkstorage(L, 1);
        if (s->dtype != dt)
            return luaL_error(L, "%s: storage type does not match the tensor type", fname);
        lua_Integer first = luaL_optinteger(L, 2, 1);
        luaL_argcheck(L, first >= 1 && first <= s->numel + 1, 2,
                      lua_pushfstring(L, "offset %I out of range for a storage of %I elements",
                                      first, (lua_Integer)s->numel));
        int64_t offset = first - 1;
        int nd;
        if (lua_isnoneornil(L, 3)) {
            nd = 1;
            size[0] = s->numel - offset;
            stride[0] = 1;
        } else {
            nd = ltL_checksizes_named(L, 3, size, fname);
            if (lua_isnoneornil(L, 4)) {
                int64_t st = 1;
                for (int i = nd - 1; i >= 0; i--) {
                    stride[i] = st;
                    st *= size[i];
                }
            } else if (ltL_checksizes_named(L, 4, stride, fname) != nd) {
                return luaL_error(L, "%s: strides and sizes differ in length", fname);
            }
        }
        ltL_pushtensor(L, lt_tensor_from_storage(s, offset, nd, size, stride), fname);
        return 1;
    }
    if (lua_istable(L, 1)) {
        int nd = table_shape(L, 1, size);
        lt_tensor *t = lt_tensor_new(dt, nd, size);
        ltL_pushtensor(L, t, fname);
        int64_t pos[LT_MAXDIM] = {0};
        if (lt_numel(t) > 0) fill_from_table(L, 1, t, 0, pos);
        return 1;
    }
    int nd = ltL_checksizes_named(L, 1, size, fname);
    ltL_pushtensor(L, lt_tensor_new(dt, nd, size), fname);
    return 1;
}

/* core.range(dtype, a, b, step): Torch7's inclusive range. */
static int tensor_range(lua_State *L)
{
    lt_dtype dt = (lt_dtype)luaL_checkinteger(L, 1);
    double a = luaL_checknumber(L, 2), b = luaL_checknumber(L, 3), step = luaL_optnumber(L, 4, 1);
    luaL_argcheck(L, step != 0 && isfinite(step), 4, "step must be a non-zero number");
    luaL_argcheck(L, isfinite(a) && isfinite(b), 2, "bounds must be finite");
    double count = floor((b - a) / step + 1e-9) + 1;
    luaL_argcheck(L, count >= 0, 3, "upper bound and step are inconsistent");
    luaL_argcheck(L, count < 1e12, 3, "range is too large");
    int64_t n = (int64_t)count;
    lt_tensor *t = lt_tensor_new_uninit(dt, 1, &n);
    ltL_pushtensor(L, t, "range");
    for (int64_t i = 0; i < n; i++) lt_set(t, &i, a + (double)i * step);
    return 1;
}

/* core.linspace(dtype, a, b, n) */
static int tensor_linspace(lua_State *L)
{
    lt_dtype dt = (lt_dtype)luaL_checkinteger(L, 1);
    double a = luaL_checknumber(L, 2), b = luaL_checknumber(L, 3);
    int64_t n = luaL_optinteger(L, 4, 100);
    luaL_argcheck(L, n >= 0, 4, "number of points must be non-negative");
    lt_tensor *t = lt_tensor_new_uninit(dt, 1, &n);
    ltL_pushtensor(L, t, "linspace");
    double step = n > 1 ? (b - a) / (double)(n - 1) : 0;
    /* the second half counts back from b, as PyTorch does, so both ends are exact */
    for (int64_t i = 0; i < n; i++)
        lt_set(t, &i, i < n / 2 ? a + step * (double)i : b - step * (double)(n - 1 - i));
    return 1;
}

/* ---- queries ----------------------------------------------------------------------------- */

static void push_longstorage(lua_State *L, int n, const int64_t *v)
{
    lt_storage *s = lt_storage_new(LT_INT64, n);
    if (!s) ltL_error(L, "size");
    if (n) memcpy(s->data, v, (size_t)n * sizeof *v);
    ltL_pushstorage(L, s);
    lt_storage_release(s);
}

static int t_size(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    if (lua_isnoneornil(L, 2)) push_longstorage(L, t->ndim, t->size);
    else lua_pushinteger(L, t->size[ltL_checkdim(L, 2, t->ndim)]);
    return 1;
}

static int t_stride(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    if (lua_isnoneornil(L, 2)) push_longstorage(L, t->ndim, t->stride);
    else lua_pushinteger(L, t->stride[ltL_checkdim(L, 2, t->ndim)]);
    return 1;
}

static int t_dim(lua_State *L)
{
    lua_pushinteger(L, ltL_checktensor(L, 1)->ndim);
    return 1;
}

static int t_nelement(lua_State *L)
{
    lua_pushinteger(L, lt_numel(ltL_checktensor(L, 1)));
    return 1;
}

static int t_storageoffset(lua_State *L)
{
    lua_pushinteger(L, ltL_checktensor(L, 1)->offset + 1);
    return 1;
}

static int t_iscontiguous(lua_State *L)
{
    lua_pushboolean(L, lt_is_contiguous(ltL_checktensor(L, 1)));
    return 1;
}

static int t_issamesizeas(lua_State *L)
{
    lua_pushboolean(L, lt_same_shape(ltL_checktensor(L, 1), ltL_checktensor(L, 2)));
    return 1;
}

static int t_storage(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    /* storages are read element by element on the host */
    if (lt_device(t) != LT_CPU)
        return luaL_error(L, "storage: a %s has no host storage (copy it with :cpu() first)",
                          ltL_typename(t));
    ltL_pushstorage(L, t->storage);
    return 1;
}

/* A copy of t (arg 1) as dtype dt on device dev, recorded for autograd; t itself when it
 * already is that (Torch7: the same tensor, not a copy). */
static int convert(lua_State *L, lt_dtype dt, int dev, const char *fname)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    if (dt == t->dtype && dev == lt_device(t)) {
        lua_settop(L, 1);
        return 1;
    }
    if (dt == LT_BFLOAT16 && dev != LT_CPU)
        return luaL_error(L, "%s: not supported for torch.BFloat16Tensor (convert with :float()); "
                             "BFloat16 tensors live in host memory", fname);
    if (t->dtype == LT_BFLOAT16 || dt == LT_BFLOAT16) {
        /* gpu/ has no bfloat16: a device operand crosses in its own dtype (or dt), and the
         * conversion happens on the host. A host conversion is recorded for autograd (its
         * backward converts the gradient back); one crossing from or to a device is not */
        lt_tensor *h = t;
        if (lt_device(t) != LT_CPU) {
            h = lt_tensor_uninit_on(LT_CPU, t->dtype, t->ndim, t->size);
            ltL_pushtensor(L, h, fname);
            LT_TRY(L, fname, lt_copy(h, t));
        }
        lt_tensor *r = lt_tensor_uninit_on(LT_CPU, dt, t->ndim, t->size);
        ltL_pushtensor(L, r, fname);
        LT_TRY(L, fname, lt_copy(r, h));
        if (h == t && dev == LT_CPU) LT_TRY(L, fname, lt_rec_copy(r, t));
        if (dev == LT_CPU) return 1;
        lt_tensor *d = lt_tensor_uninit_on(dev, dt, t->ndim, t->size);
        ltL_pushtensor(L, d, fname);
        LT_TRY(L, fname, lt_copy(d, r));
        return 1;
    }
    lt_tensor *r = lt_tensor_uninit_on(dev, dt, t->ndim, t->size);
    ltL_pushtensor(L, r, fname);
    LT_TRY(L, fname, lt_copy(r, t));
    LT_TRY(L, fname, lt_rec_copy(r, t));  /* float <-> double, host <-> device */
    return 1;
}

static int t_type(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    if (lua_isnoneornil(L, 2)) {
        lua_pushstring(L, ltL_typename(t));
        return 1;
    }
    lt_dtype dt;
    int cuda;
    if (!ltL_parse_typename(luaL_checkstring(L, 2), &dt, &cuda))
        return luaL_argerror(L, 2, lua_pushfstring(L, "unknown tensor type '%s'",
                                                   lua_tostring(L, 2)));
    if (cuda && lt_device(t) == LT_CPU) LT_TRY(L, "type", lt_gpu_require());
    return convert(L, dt, cuda ? (lt_device(t) == LT_CPU ? 0 : lt_device(t)) : LT_CPU, "type");
}

/* t:cuda(): the same dtype on the (first) CUDA device, as PyTorch's .cuda() (cutorch made
 * every :cuda() a float CudaTensor; :cudaDouble() etc. ask for a dtype). */
static int t_cuda(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    if (t->dtype == LT_BFLOAT16)  /* said before "no CUDA device", which would not help */
        return luaL_error(L, "cuda: not supported for torch.BFloat16Tensor (convert with "
                             ":float()); BFloat16 tensors live in host memory");
    if (lt_device(t) == LT_CPU) LT_TRY(L, "cuda", lt_gpu_require());
    lua_settop(L, 1);
    return convert(L, t->dtype, lt_device(t) == LT_CPU ? 0 : lt_device(t), "cuda");
}

/* t:cpu(): the same dtype in host memory */
static int t_cpu(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    lua_settop(L, 1);
    return convert(L, t->dtype, LT_CPU, "cpu");
}

static int t_iscuda(lua_State *L)
{
    lua_pushboolean(L, lt_device(ltL_checktensor(L, 1)) != LT_CPU);
    return 1;
}

/* t:getDevice(): the 1-based CUDA device of t, or -1 in host memory (PyTorch's get_device) */
static int t_getdevice(lua_State *L)
{
    int dev = lt_device(ltL_checktensor(L, 1));
    lua_pushinteger(L, dev == LT_CPU ? -1 : dev + 1);
    return 1;
}

static int t_typeas(lua_State *L)
{
    lt_tensor *like = ltL_checktensor(L, 2);
    lua_settop(L, 1);
    lua_pushstring(L, ltL_typename(like));
    return t_type(L);
}

/* :float() etc. give host tensors, as in Torch7 (a CudaTensor's :float() comes home) */
static int t_float(lua_State *L) { lua_settop(L, 1); return convert(L, LT_FLOAT32, LT_CPU, "float"); }
static int t_double(lua_State *L) { lua_settop(L, 1); return convert(L, LT_FLOAT64, LT_CPU, "double"); }
static int t_long(lua_State *L) { lua_settop(L, 1); return convert(L, LT_INT64, LT_CPU, "long"); }
static int t_byte(lua_State *L) { lua_settop(L, 1); return convert(L, LT_UINT8, LT_CPU, "byte"); }
static int t_bfloat16(lua_State *L)
{
    lua_settop(L, 1);
    return convert(L, LT_BFLOAT16, LT_CPU, "bfloat16");
}
static int to_cuda_as(lua_State *L, lt_dtype dt, const char *fname)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    if (lt_device(t) == LT_CPU) LT_TRY(L, fname, lt_gpu_require());
    lua_settop(L, 1);
    return convert(L, dt, lt_device(t) == LT_CPU ? 0 : lt_device(t), fname);
}
static int t_cudafloat(lua_State *L) { return to_cuda_as(L, LT_FLOAT32, "cudaFloat"); }
static int t_cudadouble(lua_State *L) { return to_cuda_as(L, LT_FLOAT64, "cudaDouble"); }
static int t_cudalong(lua_State *L) { return to_cuda_as(L, LT_INT64, "cudaLong"); }
static int t_cudabyte(lua_State *L) { return to_cuda_as(L, LT_UINT8, "cudaByte"); }

/* ---- views ------------------------------------------------------------------------------- */

static int t_narrow(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    int dim = ltL_checkdim(L, 2, t->ndim);
    lua_Integer first = luaL_checkinteger(L, 3), len = luaL_checkinteger(L, 4);
    luaL_argcheck(L, first >= 1 && first <= t->size[dim] + 1, 3,
                  lua_pushfstring(L, "start %I out of range for dimension %d of size %I", first,
                                  dim + 1, (lua_Integer)t->size[dim]));
    int64_t start = first - 1;
    lt_tensor *v = pushview(L, t, "narrow");
    LT_TRY(L, "narrow", lt_narrow(v, dim, start, len));
    recview(L, v, t, LT_VIEW_NARROW, (const int64_t[]){dim, start, len}, "narrow");
    return 1;
}

static int t_select(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    int dim = ltL_checkdim(L, 2, t->ndim);
    if (t->ndim == 0) return luaL_error(L, "select: cannot select from a 0-dimensional tensor");
    int64_t index = ltL_checkindex(L, 3, t->size[dim]);
    lt_tensor *v = pushview(L, t, "select");
    LT_TRY(L, "select", lt_select(v, dim, index));
    recview(L, v, t, LT_VIEW_SELECT, (const int64_t[]){dim, index}, "select");
    return 1;
}

/* Torch7's sub(d1start, d1end [, d2start, d2end ...]): inclusive, negative from the end. */
static int t_sub(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    int nargs = lua_gettop(L) - 1;
    if (nargs % 2 || nargs / 2 > t->ndim)
        return luaL_error(L, "sub: expected start/end pairs for at most %d dimensions", t->ndim);
    view_chain c;
    view_begin(L, &c, t, "sub");
    for (int d = 0; d < nargs / 2; d++) {
        int64_t n = t->size[d];
        int64_t a = luaL_checkinteger(L, 2 + 2 * d), b = luaL_checkinteger(L, 3 + 2 * d);
        if (a < 0) a += n + 1;
        if (b < 0) b += n + 1;
        if (a < 1 || b > n || a > b + 1)
            return luaL_error(L, "sub: range [%I, %I] out of bounds for dimension %d of size %I",
                              (lua_Integer)a, (lua_Integer)b, d + 1, (lua_Integer)n);
        view_step(L, &c, LT_VIEW_NARROW, (const int64_t[]){d, a - 1, b - a + 1}, "sub");
    }
    view_done(L, &c, "sub");
    return 1;
}

static int t_transpose(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    int d0 = ltL_checkdim(L, 2, t->ndim), d1 = ltL_checkdim(L, 3, t->ndim);
    lt_tensor *v = pushview(L, t, "transpose");
    LT_TRY(L, "transpose", lt_transpose(v, d0, d1));
    recview(L, v, t, LT_VIEW_TRANSPOSE, (const int64_t[]){d0, d1}, "transpose");
    return 1;
}

static int t_t(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    if (t->ndim != 2)
        return luaL_error(L, "t: expected a 2-dimensional tensor, got %d dimensions", t->ndim);
    lt_tensor *v = pushview(L, t, "t");
    LT_TRY(L, "t", lt_transpose(v, 0, 1));
    recview(L, v, t, LT_VIEW_TRANSPOSE, (const int64_t[]){0, 1}, "t");
    return 1;
}

static int t_permute(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    int perm[LT_MAXDIM];
    int n = lua_istable(L, 2) ? (int)luaL_len(L, 2) : lua_gettop(L) - 1;
    if (n != t->ndim)
        return luaL_error(L, "permute: expected %d dimensions, got %d", t->ndim, n);
    for (int i = 0; i < n; i++) {
        if (lua_istable(L, 2)) {
            perm[i] = ltL_checkdim_elem(L, 2, i + 1, t->ndim);
        } else {
            perm[i] = ltL_checkdim(L, 2 + i, t->ndim);
        }
    }
    lt_tensor *v = pushview(L, t, "permute");
    LT_TRY(L, "permute", lt_permute(v, perm));
    int64_t args[LT_MAXDIM];
    for (int i = 0; i < n; i++) args[i] = perm[i];
    recview(L, v, t, LT_VIEW_PERMUTE, args, "permute");
    return 1;
}

static int t_unsqueeze(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    lua_Integer d = luaL_checkinteger(L, 2), d0 = d;
    if (d < 0) d += t->ndim + 2;
    luaL_argcheck(L, d >= 1 && d <= t->ndim + 1, 2,
                  lua_pushfstring(L, "dimension %I out of range for unsqueeze of a "
                                     "%d-dimensional tensor", d0, t->ndim));
    lt_tensor *v = pushview(L, t, "unsqueeze");
    LT_TRY(L, "unsqueeze", lt_unsqueeze(v, (int)d - 1));
    recview(L, v, t, LT_VIEW_RESHAPE, NULL, "unsqueeze");
    return 1;
}

static int t_squeeze(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    int dim = lua_isnoneornil(L, 2) ? -1 : ltL_checkdim(L, 2, t->ndim);
    lt_tensor *v = pushview(L, t, "squeeze");
    LT_TRY(L, "squeeze", dim < 0 ? lt_squeeze(v) : lt_squeeze_dim(v, dim));
    recview(L, v, t, LT_VIEW_RESHAPE, NULL, "squeeze");
    return 1;
}

static int t_expand(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    int64_t size[LT_MAXDIM];
    int nd = ltL_checksizes(L, 2, size);
    lt_tensor *v = pushview(L, t, "expand");
    LT_TRY(L, "expand", lt_expand(v, nd, size));
    recview(L, v, t, LT_VIEW_EXPAND, NULL, "expand");
    return 1;
}

/* unfold(dim, size, step): the windows of size elements every step along dim, as a new last
 * dim; a view (Torch7, PyTorch) */
static int t_unfold(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    luaL_argcheck(L, t->ndim > 0, 1, "unfold needs a tensor with at least one dimension");
    int dim = ltL_checkdim(L, 2, t->ndim);
    lua_Integer size = luaL_checkinteger(L, 3), step = luaL_checkinteger(L, 4);
    luaL_argcheck(L, size >= 0 && size <= t->size[dim], 3,
                  lua_pushfstring(L, "window size %I out of range for dimension %d of size %I",
                                  size, dim + 1, (lua_Integer)t->size[dim]));
    luaL_argcheck(L, step >= 1, 4, lua_pushfstring(L, "step must be positive, got %I", step));
    lt_tensor *v = pushview(L, t, "unfold");
    LT_TRY(L, "unfold", lt_unfold(v, dim, size, step));
    recview(L, v, t, LT_VIEW_UNFOLD, (const int64_t[]){dim, size, step}, "unfold");
    return 1;
}

static int t_expandas(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1), *like = ltL_checktensor(L, 2);
    lt_tensor *v = pushview(L, t, "expandAs");
    LT_TRY(L, "expandAs", lt_expand(v, like->ndim, like->size));
    recview(L, v, t, LT_VIEW_EXPAND, NULL, "expandAs");
    return 1;
}

static int t_view(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    int64_t size[LT_MAXDIM];
    int nd = ltL_checksizes(L, 2, size);
    lt_tensor *v = pushview(L, t, "view");
    LT_TRY(L, "view", lt_view(v, nd, size));
    recview(L, v, t, LT_VIEW_RESHAPE, NULL, "view");
    return 1;
}

static int t_viewas(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1), *like = ltL_checktensor(L, 2);
    lt_tensor *v = pushview(L, t, "viewAs");
    LT_TRY(L, "viewAs", lt_view(v, like->ndim, like->size));
    recview(L, v, t, LT_VIEW_RESHAPE, NULL, "viewAs");
    return 1;
}

static int t_reshape(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    int64_t size[LT_MAXDIM];
    int nd = ltL_checksizes(L, 2, size);
    lt_tensor *r = ltL_newtensor(L, t->dtype);
    LT_TRY(L, "reshape", lt_reshape(r, t, nd, size));
    recview(L, r, t, LT_VIEW_RESHAPE, NULL, "reshape");  /* a view or a copy: either way */
    return 1;
}

/* split(size [, dim]) / chunk(n [, dim]): tables of views along dim (default 1). */
static int split_views(lua_State *L, const char *fname, lt_tensor *t, int dim, int64_t piece)
{
    int64_t n = t->size[dim];
    int64_t count = n == 0 ? 1 : (n - 1) / piece + 1;  /* ceil(n / piece), without overflow */
    if (count > INT32_MAX) return luaL_error(L, "%s: too many pieces", fname);
    lt_tensor **pieces = lua_newuserdatauv(L, (size_t)count * sizeof *pieces, 0);
    lua_createtable(L, (int)count, 0);
    for (int64_t k = 0; k < count; k++) {
        int64_t start = k * piece, len = n - start < piece ? n - start : piece;
        lt_tensor *v = pushview(L, t, fname);
        LT_TRY(L, fname, lt_narrow(v, dim, start, len));
        pieces[k] = v;
        lua_seti(L, -2, k + 1);
    }
    /* one node for all pieces: its backward fills one gradient, slice by slice */
    LT_TRY(L, fname, lt_rec_split(pieces, (int)count, t, dim, piece));
    return 1;
}

static int t_split(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    int64_t piece = luaL_checkinteger(L, 2);
    luaL_argcheck(L, piece > 0, 2, "split size must be positive");
    int dim = lua_isnoneornil(L, 3) ? 0 : ltL_checkdim(L, 3, t->ndim);
    if (t->ndim == 0) return luaL_error(L, "split: cannot split a 0-dimensional tensor");
    return split_views(L, "split", t, dim, piece);
}

static int t_chunk(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    int64_t chunks = luaL_checkinteger(L, 2);
    luaL_argcheck(L, chunks > 0, 2, "number of chunks must be positive");
    int dim = lua_isnoneornil(L, 3) ? 0 : ltL_checkdim(L, 3, t->ndim);
    if (t->ndim == 0) return luaL_error(L, "chunk: cannot chunk a 0-dimensional tensor");
    int64_t n = t->size[dim], piece = n == 0 ? 1 : (n - 1) / chunks + 1;
    return split_views(L, "chunk", t, dim, piece);
}

/* ---- copies and in-place changes of the handle ----------------------------------------- */

static int t_contiguous(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    if (lt_is_contiguous(t)) {
        lua_settop(L, 1);  /* Torch7 and PyTorch: self when already contiguous */
        return 1;
    }
    lt_tensor *r = ltL_newtensor(L, t->dtype);
    LT_TRY(L, "contiguous", lt_clone(r, t));
    LT_TRY(L, "contiguous", lt_rec_copy(r, t));
    return 1;
}

static int t_clone(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    lt_tensor *r = ltL_newtensor(L, t->dtype);
    LT_TRY(L, "clone", lt_clone(r, t));
    LT_TRY(L, "clone", lt_rec_copy(r, t));
    return 1;
}

static int t_copy(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1), *src = ltL_checktensor(L, 2);
    ltL_checkinplace(L, "copy", t, 1, (const lt_tensor *[]){src});
    LT_TRY(L, "copy", lt_copy(t, src));
    lua_settop(L, 1);
    return 1;
}

static int t_fill(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    ltL_checkinplace(L, "fill", t, 0, NULL);
    if (t->dtype == LT_INT64 && lua_isinteger(L, 2))
        LT_TRY(L, "fill", lt_fill_int(t, lua_tointeger(L, 2)));
    else
        LT_TRY(L, "fill", lt_fill(t, luaL_checknumber(L, 2)));
    lua_settop(L, 1);
    return 1;
}

static int t_zero(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    ltL_checkinplace(L, "zero", t, 0, NULL);
    LT_TRY(L, "zero", lt_fill(t, 0));
    lua_settop(L, 1);
    return 1;
}

static int t_resize(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    int64_t size[LT_MAXDIM];
    int nd = ltL_checksizes(L, 2, size);
    for (int i = 0; i < nd; i++)
        if (size[i] < 0) return luaL_argerror(L, 2 + i, "sizes must be non-negative");
    ltL_checkinplace(L, "resize", t, 0, NULL);
    LT_TRY(L, "resize", lt_resize(t, nd, size));
    ltL_account(L);
    lua_settop(L, 1);
    return 1;
}

static int t_resizeas(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1), *like = ltL_checktensor(L, 2);
    ltL_checkinplace(L, "resizeAs", t, 0, NULL);
    LT_TRY(L, "resizeAs", lt_resize_as(t, like));
    ltL_account(L);
    lua_settop(L, 1);
    return 1;
}

/* set(tensor) or set(storage [, offset, sizes [, strides]]): Torch7's re-pointing. */
static int t_set(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    lt_tensor *src = ltL_totensor(L, 2);
    /* t would alias data without its history (or lose its own): refused while recording */
    ltL_checkinplace(L, "set", t, src ? 1 : 0, (const lt_tensor *[]){src});
    if (src) {
        if (src->dtype != t->dtype)
            return luaL_error(L, "set: %s cannot point at a %s", ltL_typename(t),
                              ltL_typename(src));
        lt_set_tensor(t, src);
        lua_settop(L, 1);
        return 1;
    }
    lt_storage *s = ltL_checkstorage(L, 2);
    if (s->dtype != t->dtype) return luaL_argerror(L, 2, "storage type does not match");
    int top = lua_gettop(L);
    lua_pushinteger(L, t->dtype);
    lua_pushliteral(L, "set");
    lua_pushcclosure(L, tensor_new, 2);
    for (int i = 2; i <= top; i++) lua_pushvalue(L, i);
    /* builds the view with all of its checks; its argument errors, which Lua cannot name from
     * here, are set's (the numbering is the same: the storage is #1 of the method form) */
    if (lua_pcall(L, top - 1, 1, 0) != LUA_OK) {
        if (lua_type(L, -1) == LUA_TSTRING) luaL_gsub(L, lua_tostring(L, -1), "to '?'", "to 'set'");
        return lua_error(L);
    }
    lt_set_tensor(t, ltL_checktensor(L, -1));
    lua_settop(L, 1);
    return 1;
}

static int t_free(lua_State *L)
{
    lt_tensor **box = checkbox(L, 1);
    lt_tensor_release(*box);
    *box = NULL;
    return 0;
}

static void push_element(lua_State *L, const lt_tensor *t, const int64_t *pos)
{
    if (lt_dtype_is_float(t->dtype) || t->dtype == LT_BFLOAT16) lua_pushnumber(L, lt_get(t, pos));
    else lua_pushinteger(L, lt_get_int(t, pos));
}

/* totable(): nested Lua tables; integers stay integers for Long/Byte. */
static void totable_rec(lua_State *L, const lt_tensor *t, int dim, int64_t *pos)
{
    lua_createtable(L, (int)t->size[dim], 0);
    for (int64_t i = 0; i < t->size[dim]; i++) {
        pos[dim] = i;
        if (dim + 1 < t->ndim) totable_rec(L, t, dim + 1, pos);
        else push_element(L, t, pos);
        lua_seti(L, -2, i + 1);
    }
}

static int t_totable(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    int64_t pos[LT_MAXDIM] = {0};
    if (t->ndim == 0) push_element(L, t, pos);
    else totable_rec(L, t, 0, pos);
    return 1;
}

/* item()/value(): the number in a one-element tensor. */
static int item(lua_State *L, const char *fname)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    if (lt_numel(t) != 1)
        return luaL_error(L, "%s: expected a tensor with one element, got %I", fname,
                          (lua_Integer)lt_numel(t));
    int64_t pos[LT_MAXDIM] = {0};
    push_element(L, t, pos);
    return 1;
}

static int t_item(lua_State *L) { return item(L, "item"); }
static int t_value(lua_State *L) { return item(L, "value"); }

static void store_number(lua_State *L, lt_tensor *t, const int64_t *pos, int idx,
                         const char *fname)
{
    if (t->dtype == LT_INT64 && lua_isinteger(L, idx)) {
        lt_set_int(t, pos, lua_tointeger(L, idx));
    } else {
        int ok;
        lua_Number v = lua_tonumberx(L, idx, &ok);
        if (!ok) luaL_error(L, "%s: expected a number, got %s", fname, luaL_typename(L, idx));
        lt_set(t, pos, v);
    }
}

/* Calls fn on every element in row-major order; a number it returns replaces the element.
 * apply(fn): fn(x); map(u, fn): fn(x, y); map2(u, v, fn): fn(x, y, z). */
static int elementwise_lua(lua_State *L, int ntensors, const char *fname)
{
    lt_tensor *ts[3];
    for (int k = 0; k < ntensors; k++) ts[k] = ltL_checktensor(L, 1 + k);
    luaL_checktype(L, ntensors + 1, LUA_TFUNCTION);
    ltL_checkinplace(L, fname, ts[0], ntensors - 1, (const lt_tensor *const *)ts + 1);
    for (int k = 1; k < ntensors; k++)
        if (lt_numel(ts[k]) != lt_numel(ts[0]))
            return luaL_error(L, "%s: tensors have %I and %I elements", fname,
                              (lua_Integer)lt_numel(ts[0]), (lua_Integer)lt_numel(ts[k]));
    int64_t n = lt_numel(ts[0]);
    int64_t pos[3][LT_MAXDIM] = {{0}};
    for (int64_t i = 0; i < n; i++) {
        lua_pushvalue(L, ntensors + 1);
        for (int k = 0; k < ntensors; k++) push_element(L, ts[k], pos[k]);
        lua_call(L, ntensors, 1);
        if (!lua_isnil(L, -1)) store_number(L, ts[0], pos[0], -1, fname);
        lua_pop(L, 1);
        for (int k = 0; k < ntensors; k++)  /* advance each multi-index in row-major order */
            for (int d = ts[k]->ndim - 1; d >= 0; d--) {
                if (++pos[k][d] < ts[k]->size[d]) break;
                pos[k][d] = 0;
            }
    }
    lua_settop(L, 1);
    return 1;
}
static int t_apply(lua_State *L) { return elementwise_lua(L, 1, "apply"); }
static int t_map(lua_State *L) { return elementwise_lua(L, 2, "map"); }
static int t_map2(lua_State *L) { return elementwise_lua(L, 3, "map2"); }

/* ---- cat / stack -------------------------------------------------------------------------- */

/* Collects the tensors of cat/stack: ([res,] t1, t2, ... [, dim]) or ([res,] {t1, ...} [, dim]).
 * Returns the count; the tensors stay referenced from the Lua stack during the call. */
static int collect_tensors(lua_State *L, int first, lt_tensor **ts, int max, int *dimarg)
{
    int n = 0;
    if (lua_istable(L, first) && !ltL_istensor(L, first)) {
        int len = (int)luaL_len(L, first);
        if (len > max) luaL_error(L, "cat: too many tensors (%d)", len);
        for (int i = 1; i <= len; i++) ts[n++] = ltL_checktensor_elem(L, first, i);
        *dimarg = first + 1;
    } else {
        int i = first;
        while (ltL_istensor(L, i)) {
            if (n == max) luaL_error(L, "cat: too many tensors");
            ts[n++] = ltL_checktensor(L, i++);
        }
        *dimarg = i;
    }
    return n;
}

#define LT_MAXCAT 4096
static int cat_or_stack(lua_State *L, int stack)
{
    const char *fname = stack ? "stack" : "cat";
    lt_tensor *ts[LT_MAXCAT];
    int resform = ltL_istensor(L, 1) &&
                  ((lua_istable(L, 2) && !ltL_istensor(L, 2)) ||
                   (ltL_istensor(L, 2) && ltL_istensor(L, 3)));
    int first = resform ? 2 : 1, dimarg;
    int n = collect_tensors(L, first, ts, LT_MAXCAT, &dimarg);
    if (n == 0) return luaL_error(L, "%s: expected at least one tensor", fname);
    /* Torch7: cat defaults to the last dimension; stack to the first */
    int nd = ts[0]->ndim + stack;
    int dim = lua_isnoneornil(L, dimarg) ? (stack ? 0 : ts[0]->ndim - 1)
                                         : ltL_checkdim(L, dimarg, nd);
    if (dim < 0) return luaL_error(L, "%s: cannot concatenate 0-dimensional tensors", fname);
    lt_tensor *res;
    if (resform) {
        res = ltL_checktensor(L, 1);
        ltL_checkinplace(L, fname, res, n, (const lt_tensor *const *)ts);
        lua_pushvalue(L, 1);
    } else {
        res = ltL_newtensor(L, ts[0]->dtype);
    }
    LT_TRY(L, fname, stack ? lt_stack(res, ts, n, dim) : lt_cat(res, ts, n, dim));
    if (!resform)
        LT_TRY(L, fname, stack ? lt_rec_stack(res, ts, n, dim) : lt_rec_cat(res, ts, n, dim));
    return 1;
}
static int t_cat(lua_State *L) { return cat_or_stack(L, 0); }
static int t_stack(lua_State *L) { return cat_or_stack(L, 1); }

/* ---- Torch7 indexing --------------------------------------------------------------------- */

/* Applies a Torch7 index table { i, {a,b}, {a}, {} ... } to the view chain, dim by dim. */
static void apply_index_table(lua_State *L, int tidx, view_chain *c, const char *fname)
{
    lt_tensor *v = c->cur;
    int n = (int)luaL_len(L, tidx);
    if (n > v->ndim)
        luaL_error(L, "%s: %d indices for a %d-dimensional tensor", fname, n, v->ndim);
    int dim = 0;
    for (int k = 1; k <= n; k++) {
        lua_geti(L, tidx, k);
        int64_t size = v->size[dim];
        if (lua_type(L, -1) == LUA_TNUMBER) {
            int isint;
            lua_Integer i = lua_tointegerx(L, -1, &isint);
            if (!isint) luaL_error(L, "%s: index %s is not an integer", fname, lua_tostring(L, -1));
            if (i < 0) i += size + 1;
            if (i < 1 || i > size)
                luaL_error(L, "%s: index %I out of range for dimension %d of size %I", fname,
                           (lua_Integer)i, dim + 1, (lua_Integer)size);
            v = view_step(L, c, LT_VIEW_SELECT, (const int64_t[]){dim, i - 1}, fname);
        } else if (lua_istable(L, -1)) {
            int len = (int)luaL_len(L, -1);
            lua_Integer a = 1, b = size;
            if (len >= 1) {
                lua_geti(L, -1, 1);
                a = luaL_checkinteger(L, -1);
                lua_pop(L, 1);
                b = a;
            }
            if (len >= 2) {
                lua_geti(L, -1, 2);
                b = luaL_checkinteger(L, -1);
                lua_pop(L, 1);
            }
            if (a < 0) a += size + 1;
            if (b < 0) b += size + 1;
            if (a < 1 || b > size || a > b + 1)
                luaL_error(L, "%s: range {%I, %I} out of bounds for dimension %d of size %I",
                           fname, (lua_Integer)a, (lua_Integer)b, dim + 1, (lua_Integer)size);
            v = view_step(L, c, LT_VIEW_NARROW, (const int64_t[]){dim, a - 1, b - a + 1}, fname);
            dim++;
        } else {
            luaL_error(L, "%s: index entries must be numbers or tables, got %s", fname,
                       luaL_typename(L, -1));
        }
        lua_pop(L, 1);
    }
}

/* The element or view that t[key] names, pushed; for a 1-D tensor and a number, nothing is
 * pushed and *elem receives the 0-based position (so reads and writes share the checks). */
static int index_target(lua_State *L, lt_tensor *t, int key, int64_t *elem, const char *fname)
{
    if (lua_type(L, key) == LUA_TNUMBER) {
        int isint;
        lua_Integer i = lua_tointegerx(L, key, &isint);
        if (!isint) luaL_error(L, "%s: index %s is not an integer", fname, lua_tostring(L, key));
        if (t->ndim == 0) luaL_error(L, "%s: cannot index a 0-dimensional tensor", fname);
        if (i < 0) i += t->size[0] + 1;
        if (i < 1 || i > t->size[0])
            luaL_error(L, "%s: index %I out of range for dimension 1 of size %I", fname,
                       (lua_Integer)lua_tointeger(L, key), (lua_Integer)t->size[0]);
        if (t->ndim == 1) {
            *elem = i - 1;
            return 0;
        }
        view_chain c;
        view_begin(L, &c, t, fname);
        view_step(L, &c, LT_VIEW_SELECT, (const int64_t[]){0, i - 1}, fname);
        return 1;
    }
    view_chain c;
    view_begin(L, &c, t, fname);
    apply_index_table(L, key, &c, fname);
    view_done(L, &c, fname);
    return 1;
}

static int t_index(lua_State *L)
{
    int kt = lua_type(L, 2);
    if (kt == LUA_TSTRING) {  /* methods first: the common case; then fields */
        lua_pushvalue(L, 2);
        if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
        lua_pop(L, 1);
        if (!strcmp(lua_tostring(L, 2), "shape")) {  /* PyTorch's x.shape: a table of sizes */
            lt_tensor *t = ltL_checktensor(L, 1);
            lua_createtable(L, t->ndim, 0);
            for (int d = 0; d < t->ndim; d++) {
                lua_pushinteger(L, (lua_Integer)t->size[d]);
                lua_rawseti(L, -2, d + 1);
            }
            return 1;
        }
        return ltL_autograd_index(L);
    }
    lt_tensor *t = ltL_checktensor(L, 1);
    lt_tensor *mask;
    if ((mask = ltL_totensor(L, 2)) != NULL) {
        if (t->dtype == LT_BFLOAT16) {  /* through the widening methods (lauxt.c) */
            int mask_key = mask->dtype == LT_UINT8;
            lua_getfield(L, lua_upvalueindex(1), mask_key ? "maskedSelect" : "index");
            lua_pushvalue(L, 1);
            if (!mask_key) lua_pushinteger(L, 1);
            lua_pushvalue(L, 2);
            lua_call(L, mask_key ? 2 : 3, 1);
            return 1;
        }
        if (mask->dtype == LT_UINT8) {  /* t[mask] -> maskedSelect */
            lt_tensor *r = ltL_newtensor(L, t->dtype);
            LT_TRY(L, "index", lt_masked_select(r, t, mask));
            LT_TRY(L, "index", lt_rec_masked_select(r, t, mask));
            return 1;
        }
        lt_tensor *idx = ltL_checkindices(L, 2, "index");  /* t[longtensor] -> indexSelect */
        lt_tensor *r = ltL_newtensor(L, t->dtype);
        LT_TRY(L, "index", lt_index_select(r, t, 0, idx));
        LT_TRY(L, "index", lt_rec_index_select(r, t, 0, idx));
        return 1;
    }
    if (kt != LUA_TNUMBER && kt != LUA_TTABLE) {
        lua_pushnil(L);
        return 1;
    }
    int64_t elem;
    if (index_target(L, t, 2, &elem, "index")) {
        lt_tensor *v = ltL_checktensor(L, -1);
        if (v->ndim == 0 && kt == LUA_TTABLE) {  /* t[{i, j}] on a matrix: a number */
            int64_t pos[1] = {0};
            push_element(L, v, pos);
        }
        return 1;
    }
    push_element(L, t, &elem);
    return 1;
}

static int t_newindex(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    lt_tensor *key;
    int kt = lua_type(L, 2);
    if (kt == LUA_TSTRING && ltL_autograd_newindex(L)) return 0;
    if (kt != LUA_TNUMBER && kt != LUA_TTABLE && !ltL_istensor(L, 2))
        return luaL_error(L, "newindex: cannot set field '%s' of a tensor",
                          luaL_tolstring(L, 2, NULL));
    /* every other form writes into t: refused before anything is written when recording */
    ltL_checkinplace(L, "newindex", t, 1, (const lt_tensor *[]){ltL_totensor(L, 3)});
    if ((key = ltL_totensor(L, 2)) != NULL) {
        lt_tensor *src = ltL_totensor(L, 3);
        if (key->dtype != LT_UINT8) return luaL_error(L, "newindex: only ByteTensor masks are "
                                                         "supported as tensor keys");
        if (t->dtype == LT_BFLOAT16 || (src && src->dtype == LT_BFLOAT16)) {
            if (!src) luaL_checknumber(L, 3);  /* through the widening methods (lauxt.c) */
            luaL_getmetafield(L, 1, "__index");
            lua_getupvalue(L, -1, 1);  /* the methods table */
            lua_getfield(L, -1, src ? "maskedCopy" : "maskedFill");
            lua_pushvalue(L, 1);
            lua_pushvalue(L, 2);
            lua_pushvalue(L, 3);
            lua_call(L, 3, 0);
            return 0;
        }
        if (src) LT_TRY(L, "newindex", lt_masked_copy(t, key, src));
        else LT_TRY(L, "newindex", lt_masked_fill(t, key, ltL_checkvalue(L, 3, t, "newindex")));
        return 0;
    }
    int64_t elem;
    if (!index_target(L, t, 2, &elem, "newindex")) {
        store_number(L, t, &elem, 3, "newindex");
        return 0;
    }
    lt_tensor *v = ltL_checktensor(L, -1);
    lt_tensor *src = ltL_totensor(L, 3);
    if (src) LT_TRY(L, "newindex", lt_copy(v, src));
    else if (v->dtype == LT_INT64 && lua_isinteger(L, 3))
        LT_TRY(L, "newindex", lt_fill_int(v, lua_tointeger(L, 3)));
    else LT_TRY(L, "newindex", lt_fill(v, luaL_checknumber(L, 3)));
    return 0;
}

/* #t is the size, as in Torch7 */
static int t_len(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    push_longstorage(L, t->ndim, t->size);
    return 1;
}

/* ---- module-level helpers ---------------------------------------------------------------- */

static int core_istensor(lua_State *L)
{
    lua_pushboolean(L, luaL_testudata(L, 1, LT_TENSOR_MT) != NULL);
    return 1;
}

static int core_typename(lua_State *L)
{
    lt_tensor **box = luaL_testudata(L, 1, LT_TENSOR_MT);
    if (box && *box) lua_pushstring(L, ltL_typename(*box));
    else if (box) lua_pushliteral(L, "torch.Tensor");
    else if (luaL_testudata(L, 1, LT_STORAGE_MT)) {
        lua_getfield(L, 1, "type");
        lua_pushvalue(L, 1);
        lua_call(L, 1, 1);
    } else lua_pushnil(L);
    return 1;
}

static int core_setdefault(lua_State *L)
{
    int dt = dtype_from_name(luaL_checkstring(L, 1));
    if (dt < 0 || !lt_dtype_is_float((lt_dtype)dt))
        return luaL_argerror(L, 1, "expected 'torch.FloatTensor' or 'torch.DoubleTensor'");
    ltL_set_default_dtype((lt_dtype)dt);
    return 0;
}

static int core_getdefault(lua_State *L)
{
    lua_pushinteger(L, ltL_default_dtype());
    return 1;
}

static int core_allocstats(lua_State *L)
{
    lt_alloc_stats s = lt_alloc_get_stats();
    lua_createtable(L, 0, 7);
    lua_pushinteger(L, s.live_bytes);
    lua_setfield(L, -2, "liveBytes");
    lua_pushinteger(L, s.peak_bytes);
    lua_setfield(L, -2, "peakBytes");
    lua_pushinteger(L, s.total_allocs);
    lua_setfield(L, -2, "allocations");
    lua_pushinteger(L, s.total_bytes);
    lua_setfield(L, -2, "allocatedBytes");
    lua_pushinteger(L, lt_alloc_cached_bytes());
    lua_setfield(L, -2, "cachedBytes");
    lua_pushboolean(L, lt_alloc_caches());
    lua_setfield(L, -2, "caches");
    lua_pushinteger(L, lt_alloc_limit());
    lua_setfield(L, -2, "limitBytes");
    return 1;
}

/* Every binding of this file takes BFloat16 tensors: shapes, conversions, views, copies and
 * element access are what a storage type does (lt.h); marks the functions regs registered. */
static void allow_bf16(lua_State *L, const ltL_Reg *regs)
{
    for (; regs->name; regs++)
        for (int k = 0; k < 2; k++)
            if (regs->where & (k ? LT_METHOD : LT_FN)) {
                lua_getfield(L, k ? -1 : -2, regs->name);
                ltL_allowbf16(L, -1);
                lua_pop(L, 1);
            }
}

void lt_open_tensor(lua_State *L)
{
    static const ltL_Reg regs[] = {
        {"size", t_size, LT_METHOD}, {"stride", t_stride, LT_METHOD},
        {"dim", t_dim, LT_METHOD}, {"nDimension", t_dim, LT_METHOD},
        {"nElement", t_nelement, LT_METHOD}, {"numel", t_nelement, LT_FN | LT_METHOD},
        {"storageOffset", t_storageoffset, LT_METHOD},
        {"isContiguous", t_iscontiguous, LT_METHOD},
        {"isSameSizeAs", t_issamesizeas, LT_METHOD}, {"storage", t_storage, LT_METHOD},
        {"type", t_type, LT_METHOD}, {"typeAs", t_typeas, LT_METHOD},
        {"float", t_float, LT_METHOD}, {"double", t_double, LT_METHOD},
        {"cuda", t_cuda, LT_METHOD}, {"cpu", t_cpu, LT_METHOD},
        {"cudaFloat", t_cudafloat, LT_METHOD}, {"cudaDouble", t_cudadouble, LT_METHOD},
        {"cudaLong", t_cudalong, LT_METHOD}, {"cudaByte", t_cudabyte, LT_METHOD},
        {"isCuda", t_iscuda, LT_METHOD}, {"getDevice", t_getdevice, LT_METHOD},
        {"long", t_long, LT_METHOD}, {"byte", t_byte, LT_METHOD},
        {"bfloat16", t_bfloat16, LT_METHOD},
        {"narrow", t_narrow, LT_FN | LT_METHOD}, {"select", t_select, LT_FN | LT_METHOD},
        {"sub", t_sub, LT_METHOD}, {"transpose", t_transpose, LT_FN | LT_METHOD},
        {"t", t_t, LT_FN | LT_METHOD}, {"permute", t_permute, LT_FN | LT_METHOD},
        {"unsqueeze", t_unsqueeze, LT_FN | LT_METHOD}, {"squeeze", t_squeeze, LT_FN | LT_METHOD},
        {"expand", t_expand, LT_FN | LT_METHOD}, {"expandAs", t_expandas, LT_FN | LT_METHOD},
        {"unfold", t_unfold, LT_FN | LT_METHOD},
        {"view", t_view, LT_FN | LT_METHOD}, {"viewAs", t_viewas, LT_FN | LT_METHOD},
        {"reshape", t_reshape, LT_FN | LT_METHOD}, {"split", t_split, LT_FN | LT_METHOD},
        {"chunk", t_chunk, LT_FN | LT_METHOD}, {"contiguous", t_contiguous, LT_METHOD},
        {"clone", t_clone, LT_FN | LT_METHOD}, {"copy", t_copy, LT_METHOD},
        {"fill", t_fill, LT_METHOD}, {"zero", t_zero, LT_METHOD},
        {"resize", t_resize, LT_METHOD}, {"resizeAs", t_resizeas, LT_METHOD},
        {"set", t_set, LT_METHOD}, {"free", t_free, LT_METHOD},
        {"totable", t_totable, LT_METHOD}, {"item", t_item, LT_METHOD},
        {"value", t_value, LT_METHOD}, {"apply", t_apply, LT_METHOD},
        {"map", t_map, LT_METHOD}, {"map2", t_map2, LT_METHOD},
        {"cat", t_cat, LT_FN | LT_METHOD}, {"stack", t_stack, LT_FN},
        {NULL, NULL, 0}};
    ltL_register(L, regs);
    allow_bf16(L, regs);

    /* metatable: __index looks methods up first (upvalue), then numbers and tables */
    luaL_getmetatable(L, LT_TENSOR_MT);
    lua_pushvalue(L, -2);
    lua_pushcclosure(L, t_index, 1);
    ltL_allowbf16(L, -1);
    lua_setfield(L, -2, "__index");
    static const luaL_Reg meta[] = {{"__newindex", t_newindex}, {"__len", t_len},
                                    {"__gc", t_free}, {"__close", t_free}, {NULL, NULL}};
    luaL_setfuncs(L, meta, 0);
    for (const luaL_Reg *m = meta; m->name; m++) {
        lua_getfield(L, -1, m->name);
        ltL_allowbf16(L, -1);
        lua_pop(L, 1);
    }
    lua_setfield(L, -3, "metatable");  /* core.metatable, for the Lua front */

    static const luaL_Reg fns[] = {
        {"range", tensor_range}, {"linspace", tensor_linspace},
        {"isTensor", core_istensor}, {"typename", core_typename},
        {"setdefaulttensortype", core_setdefault}, {"defaultdtype", core_getdefault},
        {"allocatorStats", core_allocstats}, {NULL, NULL}};
    lua_pushvalue(L, -2);
    luaL_setfuncs(L, fns, 0);
    lua_pop(L, 1);

    /* core.constructors[dtype] (and [-1] for the default type), called by the type objects */
    static const char *ctor_names[LT_NDTYPES] = {"torch.FloatTensor", "torch.DoubleTensor",
                                                 "torch.LongTensor", "torch.ByteTensor",
                                                 "torch.BFloat16Tensor"};
    lua_createtable(L, LT_NDTYPES, 1);
    for (int dt = -1; dt < LT_NDTYPES; dt++) {
        lua_pushinteger(L, dt);
        lua_pushstring(L, dt < 0 ? "torch.Tensor" : ctor_names[dt]);
        lua_pushcclosure(L, tensor_new, 2);
        ltL_allowbf16(L, -1);
        lua_seti(L, -2, dt);
    }
    lua_setfield(L, -3, "constructors");

    static const char *cuda_names[LT_BFLOAT16] = {"torch.CudaTensor", "torch.CudaDoubleTensor",
                                                  "torch.CudaLongTensor", "torch.CudaByteTensor"};
    lua_createtable(L, LT_BFLOAT16, 0);
    for (int dt = 0; dt < LT_BFLOAT16; dt++) {  /* no device BFloat16 (lt.h) */
        lua_pushinteger(L, dt);
        lua_pushstring(L, cuda_names[dt]);
        lua_pushcclosure(L, tensor_new_cuda, 2);
        lua_seti(L, -2, dt);
    }
    lua_setfield(L, -3, "cudaConstructors");
}
