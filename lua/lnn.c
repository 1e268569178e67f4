/*
 * lnn.c — Lua bindings of the fused nn kernels (core/nnops.c):
 *
 *   torch.softmax([res,] x [, dim])      softmax along dim (1-based; default: the last dim)
 *   torch.logSoftmax([res,] x [, dim])   log-softmax along dim
 *   torch.nllLoss(logp, target [, weight [, sizeAverage = true [, ignoreIndex]]])
 *   torch.crossEntropy(input, target [, weight [, sizeAverage = true [, ignoreIndex]]])
 *
 * The losses take (N x C) scores with a LongTensor of N 1-based class indices, or (C) scores
 * with one class index (a number or a one-element LongTensor), or PyTorch's (N x C x d1 ...)
 * scores with (N x d1 ...) indices (each position a row); weight is an optional (C)
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

/* PyTorch's N x C x d1 ... form (targets N x d1 ...): each position becomes a row of C scores,
 * by a permute (C last) and a reshape to (N * d1 * ...) x C, both recorded, so the loss and
 * its gradient are those of the 2-D form. Pushes the three new handles. */
static lt_tensor *positions_as_rows(lua_State *L, lt_tensor *x, lt_tensor **target,
                                    const char *fname)
{
    char a[LT_SHAPE_BUFSZ], b[LT_SHAPE_BUFSZ], c[LT_SHAPE_BUFSZ];
    const lt_tensor *t = *target;
    int nd = x->ndim, ok = t->ndim == nd - 1 && t->size[0] == x->size[0];
    int64_t want[LT_MAXDIM], rows = x->size[0];
    want[0] = x->size[0];
    for (int d = 2; d < nd; d++) {
        want[d - 1] = x->size[d];
        rows *= x->size[d];
        ok = ok && t->size[d - 1] == x->size[d];
    }
    if (!ok)
        luaL_error(L, "%s: an input of [%s] (N x C x d1 ...) needs a target of [%s] (N x d1 ...), "
                      "got [%s]", fname, lt_shape_str(a, sizeof a, nd, x->size),
                   lt_shape_str(b, sizeof b, nd - 1, want), lt_shape_str(c, sizeof c, t->ndim, t->size));
    int perm[LT_MAXDIM];
    int64_t perm64[LT_MAXDIM];
    perm[0] = 0;
    for (int d = 2; d < nd; d++) perm[d - 1] = d;
    perm[nd - 1] = 1;
    for (int d = 0; d < nd; d++) perm64[d] = perm[d];
    lt_tensor *moved = lt_tensor_view_of(x);
    ltL_pushtensor(L, moved, fname);
    if (lt_permute(moved, perm)) ltL_error(L, fname);
    if (lt_rec_view(moved, x, LT_VIEW_PERMUTE, perm64)) ltL_error(L, fname);
    lt_tensor *flat = ltL_newtensor(L, x->dtype);
    if (lt_reshape(flat, moved, 2, (const int64_t[]){rows, x->size[1]})) ltL_error(L, fname);
    if (lt_rec_view(flat, moved, LT_VIEW_RESHAPE, NULL)) ltL_error(L, fname);
    lt_tensor *tflat = lt_tensor_view_of(t);
    ltL_pushtensor(L, tflat, fname);
    if (lt_reshape(tflat, t, 1, &rows)) ltL_error(L, fname);
    *target = tflat;
    return flat;
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
    if (x->ndim > 2) x = positions_as_rows(L, x, &target, fname);  /* pushes 3 */
    lt_tensor *out = ltL_newtensor(L, x->dtype);
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
        {"softmax", nn_softmax, LT_FW},
        {"logSoftmax", nn_log_softmax, LT_FW},
        {"nllLoss", nn_nll_loss, LT_FW},
        {"crossEntropy", nn_cross_entropy, LT_FW},
        {NULL, NULL, 0},
    };
    ltL_register(L, regs);
}
