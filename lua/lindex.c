/*
 * lindex.c — Lua bindings of indexing by index tensors (core/index.c) with Torch7's names and
 * 1-based dims and indices: index/indexSelect, indexCopy, indexAdd, indexFill, gather,
 * scatter, scatterAdd, nonzero.
 *
 *   x:index(dim, idx)            new tensor of the slices idx (1-D LongTensor) along dim;
 *   torch.index([res,] x, dim, idx)        (indexSelect is the same function)
 *   x:indexCopy(dim, idx, src)   x[..idx[k]..] = src[..k..], in place, returns x
 *   x:indexAdd(dim, idx, src)    x[..idx[k]..] += src[..k..], in place (duplicates add up)
 *   x:indexFill(dim, idx, v)     x[..idx[k]..] = v, in place
 *   x:gather(dim, idx)           out[i][j] = x[i][idx[i][j]] (dim 2); new tensor of idx's shape;
 *   torch.gather([res,] x, dim, idx)
 *   x:scatter(dim, idx, src|v)   x[i][idx[i][j]] = src[i][j] (dim 2), in place, returns x
 *   x:scatterAdd(dim, idx, src)  x[i][idx[i][j]] += src[i][j], in place
 *   torch.nonzero([res,] x)      LongTensor n x ndim of the 1-based positions of nonzero
 *                                elements, in row-major order (x:nonzero() too)
 * index/gather are recorded for autograd; the in-place ones (and the [res,] forms) refuse to
 * write when x or src requires grad, unless recording is off (torch.noGrad).
 * Index tensors must be LongTensors; an index out of range raises an error naming the
 * function, the 1-based index and the size of the dim. Writes through duplicate indices are
 * done in order, so the last one wins (indexCopy, scatter).
 */
#include "lt_lua.h"

/* The 1-based Lua index tensor at arg as a 0-based int64 copy (on the stack, owned by Lua). */
static lt_tensor *checkindex(lua_State *L, int arg, const char *fname)
{
    lt_tensor *t = ltL_totensor(L, arg);
    if (!t)
        luaL_error(L, "%s: index must be a LongTensor (argument #%d), got %s", fname, arg,
                   luaL_typename(L, arg));
    if (t->dtype != LT_INT64)
        luaL_error(L, "%s: index must be a LongTensor, got %s", fname, ltL_typename(t));
    return ltL_checkindices(L, arg, fname);
}

/* ---- index / indexSelect ------------------------------------------------------------------ */

/* [res,] x, dim, idx; fname is the name it was called by, so errors name it */
static int index_select(lua_State *L, const char *fname)
{
    int resform = ltL_istensor(L, 1) && ltL_istensor(L, 2);
    int base = resform ? 2 : 1;
    lt_tensor *x = ltL_checktensor_named(L, base, fname);
    int dim = ltL_checkdim_named(L, base + 1, x->ndim, fname);
    lt_tensor *idx = checkindex(L, base + 2, fname);
    lt_tensor *res = resform ? ltL_checktensor(L, 1) : ltL_newtensor(L, x->dtype);
    if (resform) ltL_checkinplace(L, fname, res, 1, (const lt_tensor *[]){x});
    LT_TRY(L, fname, lt_index_select(res, x, dim, idx));
    if (resform) lua_pushvalue(L, 1);
    else LT_TRY(L, fname, lt_rec_index_select(res, x, dim, idx));
    return 1;
}

static int i_index(lua_State *L) { return index_select(L, "index"); }
static int i_index_select(lua_State *L) { return index_select(L, "indexSelect"); }

/* ---- indexCopy / indexAdd / indexFill ----------------------------------------------------- */

/* x, dim, idx, src|value: in place on x (arg 1, self for the method), returns x */
static int index_put(lua_State *L, int which, const char *fname)
{
    lt_tensor *x = ltL_checktensor_named(L, 1, fname);
    int dim = ltL_checkdim_named(L, 2, x->ndim, fname);
    lt_tensor *idx = checkindex(L, 3, fname);
    /* in place on x: refused when recording would be needed (x or src requires grad) */
    ltL_checkinplace(L, fname, x, 1, (const lt_tensor *[]){ltL_totensor(L, 4)});
    if (which == 2) {
        if (lua_type(L, 4) != LUA_TNUMBER)
            luaL_error(L, "%s: fill value must be a number, got %s", fname, luaL_typename(L, 4));
        LT_TRY(L, fname, lt_index_fill(x, dim, idx, ltL_checkvalue(L, 4, x, fname)));
    } else {
        lt_tensor *src = ltL_checktensor_named(L, 4, fname);
        LT_TRY(L, fname, which == 0 ? lt_index_copy(x, dim, idx, src)
                                    : lt_index_add(x, dim, idx, src));
    }
    lua_pushvalue(L, 1);
    return 1;
}

static int i_indexcopy(lua_State *L) { return index_put(L, 0, "indexCopy"); }
static int i_indexadd(lua_State *L) { return index_put(L, 1, "indexAdd"); }
static int i_indexfill(lua_State *L) { return index_put(L, 2, "indexFill"); }

/* ---- gather / scatter --------------------------------------------------------------------- */

/* [res,] x, dim, idx */
static int i_gather(lua_State *L)
{
    const char *fname = "gather";
    int resform = ltL_istensor(L, 1) && ltL_istensor(L, 2);
    int base = resform ? 2 : 1;
    lt_tensor *x = ltL_checktensor_named(L, base, fname);
    int dim = ltL_checkdim_named(L, base + 1, x->ndim, fname);
    lt_tensor *idx = checkindex(L, base + 2, fname);
    lt_tensor *res = resform ? ltL_checktensor(L, 1) : ltL_newtensor(L, x->dtype);
    if (resform) ltL_checkinplace(L, fname, res, 1, (const lt_tensor *[]){x});
    LT_TRY(L, fname, lt_gather(res, x, dim, idx));
    if (resform) lua_pushvalue(L, 1);
    else LT_TRY(L, fname, lt_rec_gather(res, x, dim, idx));
    return 1;
}

/* x, dim, idx, src|value: in place, returns x */
static int scatter(lua_State *L, int add, const char *fname)
{
    lt_tensor *x = ltL_checktensor_named(L, 1, fname);
    int dim = ltL_checkdim_named(L, 2, x->ndim, fname);
    lt_tensor *idx = checkindex(L, 3, fname);
    ltL_checkinplace(L, fname, x, 1, (const lt_tensor *[]){ltL_totensor(L, 4)});
    if (!add && lua_type(L, 4) == LUA_TNUMBER) {
        LT_TRY(L, fname, lt_scatter_value(x, dim, idx, ltL_checkvalue(L, 4, x, fname)));
    } else {
        lt_tensor *src = ltL_totensor(L, 4);
        if (!src)
            luaL_error(L, "%s: source must be a tensor%s, got %s", fname,
                       add ? "" : " or a number", luaL_typename(L, 4));
        LT_TRY(L, fname, add ? lt_scatter_add(x, dim, idx, src) : lt_scatter(x, dim, idx, src));
    }
    lua_pushvalue(L, 1);
    return 1;
}

static int i_scatter(lua_State *L) { return scatter(L, 0, "scatter"); }
static int i_scatteradd(lua_State *L) { return scatter(L, 1, "scatterAdd"); }

/* ---- nonzero ------------------------------------------------------------------------------ */

/* [res,] x -> LongTensor n x ndim, 1-based */
static int i_nonzero(lua_State *L)
{
    const char *fname = "nonzero";
    int resform = ltL_istensor(L, 1) && ltL_istensor(L, 2);
    lt_tensor *x = ltL_checktensor_named(L, resform ? 2 : 1, fname);
    lt_tensor *res = resform ? ltL_checktensor(L, 1) : ltL_newtensor(L, LT_INT64);
    LT_TRY(L, fname, lt_nonzero(res, x));
    LT_TRY(L, fname, lt_binary_scalar(res, LT_OP_ADD, res, 1));
    if (resform) lua_pushvalue(L, 1);
    return 1;
}

void lt_open_index(lua_State *L)
{
    static const ltL_Reg regs[] = {
        {"index", i_index, LT_FMW},
        {"indexSelect", i_index_select, LT_FMW},
        {"indexCopy", i_indexcopy, LT_FMW},
        {"indexAdd", i_indexadd, LT_FMW},
        {"indexFill", i_indexfill, LT_FMW},
        {"gather", i_gather, LT_FMW},
        {"scatter", i_scatter, LT_FMW},
        {"scatterAdd", i_scatteradd, LT_FMW},
        {"nonzero", i_nonzero, LT_FMW},
        {NULL, NULL, 0}};
    ltL_register(L, regs);
}
