/*
 * lreduce.c — Lua bindings of the reductions (core/reduce.c) with Torch7's names, 1-based
 * dims and 1-based returned indices: sum, prod, mean, max, min, argmax, argmin, var, std,
 * norm, cumsum, cumprod, sort, topk.
 *
 * Conventions (Torch7's, where Torch7 and PyTorch differ):
 *   - Without a dim, sum/prod/mean/max/min/var/std/norm return a Lua number (an integer for
 *     the sum/prod/max/min of Long and Byte tensors; mean is always a float).
 *   - With a dim, the reduced dim is KEPT with size 1 (Torch7); pass `false` after the dim to
 *     drop it as PyTorch does: x:sum(2, false).
 *   - Reductions never modify self: x:sum(2) returns a new tensor. The [res,] forms write into
 *     given tensors: torch.sum(res, x, dim), torch.max(values, indices, x, dim).
 *   - Returned indices are 1-based LongTensors.
 *   - var/std: x:var([dim] [, biased]). The flag is Torch7's: true normalizes by n (biased),
 *     false or absent by n - 1 (unbiased, the default).
 *   - cumsum/cumprod: dim defaults to 1, the first dim (Torch7).
 *   - sort([dim] [, descending]): dim defaults to the last; a stable sort (equal elements keep
 *     their order), NaN sorts above every number.
 *   - topk(k [, dim] [, dir] [, sort]): Torch7's positional API. dim defaults to the last;
 *     dir = false (the default) returns the k SMALLEST, dir = true the k largest (PyTorch's
 *     default is largest: write x:topk(k, -1, true) for it). Results always come sorted
 *     (smallest first, or largest first for dir = true); the sort flag is accepted and ignored.
 *   - Integer mean along a dim is an error (PyTorch's rule); convert with :double() first.
 *
 * Autograd: the forms that return a new tensor record a node (core/grad_reduce.c) when x
 * requires grad; the reductions that return a Lua number return a 0-dim tensor instead in
 * that case (so that loss:backward() works). The [res,] forms refuse to write into a result
 * when recording would be needed (ltL_checkinplace). Indices are never differentiable.
 */
#include <math.h>

#include "lt_lua.h"

/* ---- argument helpers ------------------------------------------------------------------- */

/* keepdim flag after a dim: absent or nil keeps the dim (Torch7); false drops it. */
static int optkeep(lua_State *L, int arg)
{
    return lua_isnoneornil(L, arg) ? 1 : lua_toboolean(L, arg);
}

static int isnum(lua_State *L, int arg) { return lua_type(L, arg) == LUA_TNUMBER; }

/* An integer tensor's all-elements sum, prod, max or min: a Lua integer, exact (int64 wraps
 * as the tensor's own arithmetic does; a double would lose the low bits of large ids). */
static int push_exact(lua_State *L, lt_reduce_op op, const lt_tensor *x, const char *fname)
{
    int64_t r;
    LT_TRY(L, fname, lt_reduce_all_int(&r, op, x));
    lua_pushinteger(L, (lua_Integer)r);
    return 1;
}

/* True when an op on x must be recorded for autograd. */
static int needs_grad(const lt_tensor *x)
{
    const lt_tensor *ins[1] = {x};
    return lt_needs_grad(1, ins);
}

/* Pushes a new 0-dim tensor of x's dtype on x's device holding v (the result of a full
 * reduction of x that must be recorded) and returns it. */
static lt_tensor *push_scalar(lua_State *L, const lt_tensor *x, double v, const char *fname)
{
    lt_tensor *t = lt_tensor_uninit_on(lt_device(x), x->dtype, 0, NULL);
    ltL_pushtensor(L, t, fname);
    lt_set(t, NULL, v);
    return t;
}

/* Refuses a [res,] form that would have to be recorded (before anything is written). */
static void check_res(lua_State *L, const char *fname, const lt_tensor *res, lt_tensor *x)
{
    const lt_tensor *ins[1] = {x};
    ltL_checkinplace(L, fname, res, 1, ins);
}

/* 0-based indices -> 1-based, in place. */
static void one_based(lua_State *L, lt_tensor *ind, const char *fname)
{
    if (lt_binary_scalar(ind, LT_OP_ADD, ind, 1) != LT_OK) ltL_error(L, fname);
}

/* ---- sum / prod / mean ------------------------------------------------------------------ */

/* [res,] x [, dim [, keepdim]] */
static int reduce(lua_State *L, lt_reduce_op op, const char *fname)
{
    int resform = ltL_leadingtensors(L, 1);
    int base = resform ? 2 : 1;
    lt_tensor *x = ltL_checktensor_named(L, base, fname);
    if (lua_isnoneornil(L, base + 1)) {
        if (resform) luaL_error(L, "%s: a result tensor needs a dimension", fname);
        if (!lt_dtype_is_float(x->dtype) && op != LT_RED_MEAN) return push_exact(L, op, x, fname);
        double r;
        LT_TRY(L, fname, lt_reduce_all(&r, op, x));
        if (needs_grad(x)) LT_TRY(L, fname, lt_rec_reduce_all(push_scalar(L, x, r, fname), op, x));
        else lua_pushnumber(L, r);
        return 1;
    }
    int dim = ltL_checkdim_named(L, base + 1, x->ndim, fname);
    int keep = optkeep(L, base + 2);
    lt_dtype odt = x->dtype;
    if (!lt_dtype_is_float(odt) && (op == LT_RED_SUM || op == LT_RED_PROD)) odt = LT_INT64;
    lt_tensor *res = resform ? ltL_checktensor(L, 1) : ltL_newtensor(L, odt);
    if (resform) check_res(L, fname, res, x);
    LT_TRY(L, fname, lt_reduce_dim(res, op, x, dim, keep));
    if (resform) lua_pushvalue(L, 1);
    else LT_TRY(L, fname, lt_rec_reduce_dim(res, op, x, dim, keep));
    return 1;
}

static int r_sum(lua_State *L) { return reduce(L, LT_RED_SUM, "sum"); }
static int r_prod(lua_State *L) { return reduce(L, LT_RED_PROD, "prod"); }
static int r_mean(lua_State *L) { return reduce(L, LT_RED_MEAN, "mean"); }

/* ---- max / min / argmax / argmin -------------------------------------------------------- */

/* [values, indices,] x [, dim [, keepdim]] -> number | values, indices (1-based) */
static int maxmin(lua_State *L, int want_max, const char *fname)
{
    int resform = ltL_leadingtensors(L, 2);
    int base = resform ? 3 : 1;
    lt_tensor *x = ltL_checktensor_named(L, base, fname);
    if (!resform && ltL_istensor(L, base + 1))
        luaL_error(L, "%s: expected a dimension, got a tensor (use %s for the elementwise "
                      "%s of two tensors)", fname, want_max ? "cmax" : "cmin", fname);
    if (lua_isnoneornil(L, base + 1)) {
        if (resform) luaL_error(L, "%s: result tensors need a dimension", fname);
        lt_reduce_op op = want_max ? LT_RED_MAX : LT_RED_MIN;
        if (!lt_dtype_is_float(x->dtype)) return push_exact(L, op, x, fname);
        double r;
        LT_TRY(L, fname, lt_reduce_all(&r, op, x));
        if (needs_grad(x))
            LT_TRY(L, fname, lt_rec_maxmin_all(push_scalar(L, x, r, fname), x, want_max));
        else
            lua_pushnumber(L, r);
        return 1;
    }
    int dim = ltL_checkdim_named(L, base + 1, x->ndim, fname);
    int keep = optkeep(L, base + 2);
    lt_tensor *vals, *ind;
    if (resform) {
        vals = ltL_checktensor(L, 1);
        ind = ltL_checktensor(L, 2);
        check_res(L, fname, vals, x);
        lua_pushvalue(L, 1);
        lua_pushvalue(L, 2);
    } else {
        vals = ltL_newtensor(L, x->dtype);
        ind = ltL_newtensor(L, LT_INT64);
    }
    LT_TRY(L, fname, lt_maxmin_dim(vals, ind, x, dim, keep, want_max));
    if (!resform) {
        LT_TRY(L, fname, lt_rec_maxmin_dim(vals, ind, x, dim, keep));
        if (!want_max && vals->grad_fn) vals->grad_fn->name = "MinBackward";
    }
    one_based(L, ind, fname);
    return 2;
}

static int r_max(lua_State *L) { return maxmin(L, 1, "max"); }
static int r_min(lua_State *L) { return maxmin(L, 0, "min"); }

/* x [, dim [, keepdim]] -> 1-based flat index (no dim) | LongTensor of 1-based indices */
static int argmaxmin(lua_State *L, int want_max, const char *fname)
{
    lt_tensor *x = ltL_checktensor_named(L, 1, fname);
    if (lua_isnoneornil(L, 2)) {
        int64_t n = lt_numel(x);
        lt_tensor flat = *x;  /* a stack view when x is contiguous, else a copy */
        lt_tensor *src = x;
        if (lt_is_contiguous(x)) {
            flat.ndim = 1;
            flat.size[0] = n;
            flat.stride[0] = 1;
            src = &flat;
        } else {
            lt_tensor *c = ltL_newtensor(L, x->dtype);
            LT_TRY(L, fname, lt_reshape(c, x, 1, &n));
            src = c;
        }
        lt_tensor *vals = ltL_newtensor(L, x->dtype);
        lt_tensor *ind = ltL_newtensor(L, LT_INT64);
        LT_TRY(L, fname, lt_maxmin_dim(vals, ind, src, 0, 0, want_max));
        lua_pushinteger(L, (lua_Integer)lt_get_int(ind, NULL) + 1);
        return 1;
    }
    int dim = ltL_checkdim_named(L, 2, x->ndim, fname);
    int keep = optkeep(L, 3);
    lt_tensor *vals = ltL_newtensor(L, x->dtype);
    lt_tensor *ind = ltL_newtensor(L, LT_INT64);
    LT_TRY(L, fname, lt_maxmin_dim(vals, ind, x, dim, keep, want_max));
    one_based(L, ind, fname);
    return 1;
}

static int r_argmax(lua_State *L) { return argmaxmin(L, 1, "argmax"); }
static int r_argmin(lua_State *L) { return argmaxmin(L, 0, "argmin"); }

/* ---- var / std -------------------------------------------------------------------------- */

/* [res,] x [, dim] [, biased]  (biased = true normalizes by n; Torch7's flag) */
static int varstd(lua_State *L, int take_sqrt, const char *fname)
{
    int resform = ltL_leadingtensors(L, 1);
    int base = resform ? 2 : 1;
    lt_tensor *x = ltL_checktensor_named(L, base, fname);
    int arg = base + 1, has_dim = 0, dim = 0;
    if (!lua_isnoneornil(L, arg) && !lua_isboolean(L, arg)) {
        dim = ltL_checkdim_named(L, arg, x->ndim, fname);
        has_dim = 1;
        arg++;
    }
    if (!lua_isnoneornil(L, arg) && !lua_isboolean(L, arg))
        luaL_error(L, "%s: the flag after the dimension must be a boolean (true = biased), "
                      "got %s", fname, luaL_typename(L, arg));
    int unbiased = !lua_toboolean(L, arg);
    int keep = optkeep(L, arg + 1);
    if (!has_dim) {
        if (resform) luaL_error(L, "%s: a result tensor needs a dimension", fname);
        double r;
        LT_TRY(L, fname, lt_var_all(&r, x, unbiased));
        if (take_sqrt) r = sqrt(r);
        if (needs_grad(x))
            LT_TRY(L, fname,
                   lt_rec_var(push_scalar(L, x, r, fname), x, -1, unbiased, 0, take_sqrt));
        else
            lua_pushnumber(L, r);
        return 1;
    }
    lt_tensor *res = resform ? ltL_checktensor(L, 1) : ltL_newtensor(L, x->dtype);
    if (resform) check_res(L, fname, res, x);
    LT_TRY(L, fname, lt_var_dim(res, x, dim, unbiased, keep));
    if (take_sqrt) LT_TRY(L, fname, lt_unary(res, LT_OP_SQRT, res));
    if (resform) lua_pushvalue(L, 1);
    else LT_TRY(L, fname, lt_rec_var(res, x, dim, unbiased, keep, take_sqrt));
    return 1;
}

static int r_var(lua_State *L) { return varstd(L, 0, "var"); }
static int r_std(lua_State *L) { return varstd(L, 1, "std"); }

/* ---- norm ------------------------------------------------------------------------------- */

/* [res,] x [, p=2 [, dim [, keepdim]]]; p may be math.huge or -math.huge */
static int r_norm(lua_State *L)
{
    const char *fname = "norm";
    int resform = ltL_leadingtensors(L, 1);
    int base = resform ? 2 : 1;
    lt_tensor *x = ltL_checktensor_named(L, base, fname);
    double p = 2;
    if (!lua_isnoneornil(L, base + 1)) {
        if (!isnum(L, base + 1))
            luaL_error(L, "norm: p must be a number, got %s", luaL_typename(L, base + 1));
        p = lua_tonumber(L, base + 1);
    }
    if (lua_isnoneornil(L, base + 2)) {
        if (resform) luaL_error(L, "norm: a result tensor needs a dimension");
        double r;
        LT_TRY(L, fname, lt_norm_all(&r, x, p));
        if (needs_grad(x))
            LT_TRY(L, fname, lt_rec_norm(push_scalar(L, x, r, fname), x, p, -1, 0));
        else
            lua_pushnumber(L, r);
        return 1;
    }
    int dim = ltL_checkdim_named(L, base + 2, x->ndim, fname);
    int keep = optkeep(L, base + 3);
    lt_tensor *res = resform ? ltL_checktensor(L, 1) : ltL_newtensor(L, x->dtype);
    if (resform) check_res(L, fname, res, x);
    LT_TRY(L, fname, lt_norm_dim(res, x, p, dim, keep));
    if (resform) lua_pushvalue(L, 1);
    else LT_TRY(L, fname, lt_rec_norm(res, x, p, dim, keep));
    return 1;
}

/* ---- cumsum / cumprod ------------------------------------------------------------------- */

/* [res,] x [, dim=1]; Long/Byte inputs give a LongTensor */
static int cumulative(lua_State *L, int prod, const char *fname)
{
    int resform = ltL_leadingtensors(L, 1);
    int base = resform ? 2 : 1;
    lt_tensor *x = ltL_checktensor_named(L, base, fname);
    int dim = lua_isnoneornil(L, base + 1) ? 0 : ltL_checkdim_named(L, base + 1, x->ndim, fname);
    lt_dtype odt = lt_dtype_is_float(x->dtype) ? x->dtype : LT_INT64;
    lt_tensor *res = resform ? ltL_checktensor(L, 1) : ltL_newtensor(L, odt);
    if (resform) check_res(L, fname, res, x);
    LT_TRY(L, fname, prod ? lt_cumprod(res, x, dim) : lt_cumsum(res, x, dim));
    if (resform) lua_pushvalue(L, 1);
    else LT_TRY(L, fname, prod ? lt_rec_cumprod(res, x, dim) : lt_rec_cumsum(res, x, dim));
    return 1;
}

static int r_cumsum(lua_State *L) { return cumulative(L, 0, "cumsum"); }
static int r_cumprod(lua_State *L) { return cumulative(L, 1, "cumprod"); }

/* ---- sort / topk ------------------------------------------------------------------------ */

/* Pushes the (values, indices) pair: the given result tensors, or new ones. */
static void result_pair(lua_State *L, int resform, lt_tensor *x, lt_tensor **v, lt_tensor **i,
                        const char *fname)
{
    if (resform) {
        *v = ltL_checktensor(L, 1);
        *i = ltL_checktensor(L, 2);
        check_res(L, fname, *v, x);
        lua_pushvalue(L, 1);
        lua_pushvalue(L, 2);
    } else {
        *v = ltL_newtensor(L, x->dtype);
        *i = ltL_newtensor(L, LT_INT64);
    }
}

/* [values, indices,] x [, dim=last] [, descending=false] */
static int r_sort(lua_State *L)
{
    const char *fname = "sort";
    int resform = ltL_leadingtensors(L, 2);
    int base = resform ? 3 : 1;
    lt_tensor *x = ltL_checktensor_named(L, base, fname);
    int arg = base + 1;
    int dim = x->ndim > 0 ? x->ndim - 1 : 0;
    if (!lua_isnoneornil(L, arg) && !lua_isboolean(L, arg)) dim = ltL_checkdim_named(L, arg++, x->ndim, fname);
    else if (lua_isnil(L, arg)) arg++;
    int desc = lua_toboolean(L, arg);
    lt_tensor *v, *i;
    result_pair(L, resform, x, &v, &i, fname);
    LT_TRY(L, fname, lt_sort(v, i, x, dim, desc));
    if (!resform) LT_TRY(L, fname, lt_rec_sort(v, i, x, dim));
    one_based(L, i, fname);
    return 2;
}

/* [values, indices,] x, k [, dim=last] [, dir=false] [, sort]: dir false = k smallest */
static int r_topk(lua_State *L)
{
    const char *fname = "topk";
    int resform = ltL_leadingtensors(L, 2);
    int base = resform ? 3 : 1;
    lt_tensor *x = ltL_checktensor_named(L, base, fname);
    if (!lua_isinteger(L, base + 1))
        luaL_error(L, "topk: k must be an integer, got %s", luaL_typename(L, base + 1));
    lua_Integer k = lua_tointeger(L, base + 1);
    int dim = lua_isnoneornil(L, base + 2) ? (x->ndim > 0 ? x->ndim - 1 : 0)
                                           : ltL_checkdim_named(L, base + 2, x->ndim, fname);
    int largest = lua_toboolean(L, base + 3);
    int sorted = lua_toboolean(L, base + 4);
    lt_tensor *v, *i;
    result_pair(L, resform, x, &v, &i, fname);
    LT_TRY(L, fname, lt_topk(v, i, x, (int64_t)k, dim, largest, sorted));
    if (!resform) {
        LT_TRY(L, fname, lt_rec_sort(v, i, x, dim));
        if (v->grad_fn) v->grad_fn->name = "TopkBackward";
    }
    one_based(L, i, fname);
    return 2;
}

void lt_open_reduce(lua_State *L)
{
    static const ltL_Reg regs[] = {
        {"sum", r_sum, LT_FMW},         {"prod", r_prod, LT_FMW},
        {"mean", r_mean, LT_FMW},       {"max", r_max, LT_FMW},
        {"min", r_min, LT_FMW},         {"argmax", r_argmax, LT_FMW},
        {"argmin", r_argmin, LT_FMW},   {"var", r_var, LT_FMW},
        {"std", r_std, LT_FMW},         {"norm", r_norm, LT_FMW},
        {"cumsum", r_cumsum, LT_FMW},   {"cumprod", r_cumprod, LT_FMW},
        {"sort", r_sort, LT_FMW},       {"topk", r_topk, LT_FMW},
        {NULL, NULL, 0}};
    ltL_register(L, regs);
}
