/*
 * lnn.c — Lua bindings of the fused nn kernels (core/nnops.c):
 *
 *   torch.softmax([res,] x [, dim])      softmax along dim (1-based; default: the last dim)
 *   torch.logSoftmax([res,] x [, dim])   log-softmax along dim
 *   torch.nllLoss(logp, target [, weight [, sizeAverage = true [, ignoreIndex]]])
 *   torch.crossEntropy(input, target [, weight [, sizeAverage = true [, ignoreIndex]]])
 *
 * The losses take (N x C) scores with a LongTensor of N 1-based class indices, or (C) scores
 * with one class index (a number or a one-element LongTensor); weight is an optional (C)
 * tensor of class weights. sizeAverage = true averages over the summed weights of the
 * targets (PyTorch's "mean"); false sums. They return a 0-dim tensor (loss:item() reads
 * it), recorded for autograd when the input requires grad.
 * softmax / logSoftmax are recorded when they make a new tensor; the [res,] form writes res.
 */
#include "lt_lua.h"

/* ---- softmax / logSoftmax ------------------------------------------------------------------ */

static int softmax_common(lua_State *L, int log, const char *fname)
{
    int resform = ltL_leadingtensors(L, 1);
    int base = resform ? 2 : 1;
    lt_tensor *x = ltL_totensor(L, base);
    if (!x)
        return luaL_error(L, "%s: tensor expected (argument #%d), got %s", fname, base,
                          luaL_typename(L, base));
    int nd = x->ndim > 0 ? x->ndim : 1;
    int dim = nd - 1;
    if (!lua_isnoneornil(L, base + 1)) {
        if (!lua_isinteger(L, base + 1))
            return luaL_error(L, "%s: dimension must be an integer (argument #%d), got %s",
                              fname, base + 1, luaL_typename(L, base + 1));
        lua_Integer d = lua_tointeger(L, base + 1), d0 = d;
        if (d < 0) d += nd + 1;
        if (d < 1 || d > nd)
            return luaL_error(L, "%s: dimension %I out of range for a %d-dimensional tensor",
                              fname, d0, x->ndim);
        dim = (int)d - 1;
    }
    lt_tensor *res = ltL_result(L, resform, x->dtype);
    int fresh = ltL_fresh(L, resform);
    if (!fresh) ltL_checkinplace(L, fname, res, 1, (const lt_tensor *[]){x});
    LT_TRY(L, fname, log ? lt_log_softmax(res, x, dim) : lt_softmax(res, x, dim));
    if (fresh) LT_TRY(L, fname, log ? lt_rec_log_softmax(res, x, dim) : lt_rec_softmax(res, x, dim));
    lua_pushvalue(L, 1);
    return 1;
}

static int nn_softmax(lua_State *L) { return softmax_common(L, 0, "softmax"); }
static int nn_log_softmax(lua_State *L) { return softmax_common(L, 1, "logSoftmax"); }

/* ---- losses ------------------------------------------------------------------------------ */

/* The 0-based int64 target at arg (pushed on the stack, owned by Lua): a LongTensor of
 * 1-based class indices, or one class number for a single row of scores. */
static lt_tensor *checktarget(lua_State *L, int arg, const lt_tensor *x, const char *fname)
{
    if (lua_type(L, arg) == LUA_TNUMBER) {
        if (!lua_isinteger(L, arg))
            luaL_error(L, "%s: the target class must be an integer, got %s", fname,
                       lua_tostring(L, arg));
        if (x->ndim != 1 && !(x->ndim == 2 && x->size[0] == 1))
            luaL_error(L, "%s: a number target needs one row of scores (a 1-D input); for "
                          "N rows pass a LongTensor of N class indices", fname);
        int64_t one = 1;
        lt_tensor *t = lt_tensor_new_uninit(LT_INT64, 1, &one);
        ltL_pushtensor(L, t, fname);
        *(int64_t *)lt_data(t) = (int64_t)((uint64_t)lua_tointeger(L, arg) - 1);
        if (lt_device(x) == LT_CPU) return t;
        /* a number has no device: it goes where the scores are */
        lt_tensor *d = lt_tensor_uninit_on(lt_device(x), LT_INT64, 1, &one);
        ltL_pushtensor(L, d, fname);
        if (lt_copy(d, t)) ltL_error(L, fname);
        return d;
    }
    lt_tensor *t = ltL_totensor(L, arg);
    if (!t)
        luaL_error(L, "%s: target expected (argument #%d): a LongTensor of class indices or a "
                      "number, got %s", fname, arg, luaL_typename(L, arg));
    if (t->dtype != LT_INT64)
        luaL_error(L, "%s: the target must be a LongTensor of class indices, got %s (convert "
                      "it with :long())", fname, ltL_typename(t));
    return ltL_checkindices(L, arg, fname);
}

typedef int (*loss_fn)(lt_tensor *, const lt_tensor *, const lt_tensor *, const lt_tensor *,
                       int, int64_t);
typedef int (*loss_rec_fn)(lt_tensor *, lt_tensor *, lt_tensor *, lt_tensor *, int, int64_t);

/* (input, target [, weight [, sizeAverage [, ignoreIndex]]]) -> 0-dim loss; ignoreIndex is a
 * class number (1-based, like the targets) whose rows add nothing */
static int loss_common(lua_State *L, loss_fn fn, loss_rec_fn rec, const char *fname)
{
    lt_tensor *x = ltL_totensor(L, 1);
    if (!x)
        return luaL_error(L, "%s: input tensor expected (argument #1), got %s", fname,
                          luaL_typename(L, 1));
    lt_tensor *weight = NULL;
    int size_average = 1;
    int64_t ignore = LT_NO_IGNORE;
    if (!lua_isnoneornil(L, 5)) {
        if (!lua_isinteger(L, 5))
            return luaL_error(L, "%s: ignoreIndex must be an integer class number (argument "
                                 "#5), got %s", fname, luaL_typename(L, 5));
        lua_Integer v = lua_tointeger(L, 5);
        if (v == LUA_MININTEGER)
            return luaL_error(L, "%s: ignoreIndex %I is out of range", fname, v);
        ignore = (int64_t)v - 1;   /* the targets are 1-based here, 0-based in the core */
    }
    if (lua_isboolean(L, 3) && lua_isnoneornil(L, 4)) {  /* (input, target, sizeAverage) */
        size_average = lua_toboolean(L, 3);
    } else {
        if (!lua_isnoneornil(L, 3)) {
            weight = ltL_totensor(L, 3);
            if (!weight)
                return luaL_error(L, "%s: weight must be a tensor of class weights or nil "
                                     "(argument #3), got %s", fname, luaL_typename(L, 3));
        }
        if (!lua_isnoneornil(L, 4)) {
            if (!lua_isboolean(L, 4))
                return luaL_error(L, "%s: sizeAverage must be a boolean (argument #4), got %s",
                                  fname, luaL_typename(L, 4));
            size_average = lua_toboolean(L, 4);
        }
    }
    lua_settop(L, 4);
    lt_tensor *target = checktarget(L, 2, x, fname);   /* at 5 */
    lt_tensor *out = ltL_newtensor(L, x->dtype);        /* at 6 */
    LT_TRY(L, fname, fn(out, x, target, weight, size_average, ignore));
    LT_TRY(L, fname, rec(out, x, target, weight, size_average, ignore));
    return 1;
}

static int nn_nll_loss(lua_State *L)
{
    return loss_common(L, lt_nll_loss, lt_rec_nll_loss, "nllLoss");
}

static int nn_cross_entropy(lua_State *L)
{
    return loss_common(L, lt_cross_entropy, lt_rec_cross_entropy, "crossEntropy");
}

void lt_open_nn(lua_State *L)
{
    static const ltL_Reg regs[] = {
        {"softmax", nn_softmax, LT_FN},
        {"logSoftmax", nn_log_softmax, LT_FN},
        {"nllLoss", nn_nll_loss, LT_FN},
        {"crossEntropy", nn_cross_entropy, LT_FN},
        {NULL, NULL, 0},
    };
    ltL_register(L, regs);
}
