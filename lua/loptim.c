/*
 * loptim.c — Lua bindings of the optimizer updates (core/optim.c), as the table torch._optim
 * that lua/optim/init.lua builds the optimisers on. Each function updates param (and its
 * state buffers) in place over the whole tensor with PyTorch's rule; grad is only read.
 *
 *   sgd(param, grad, buf|nil, lr, momentum, dampening, weightDecay, nesterov, first)
 *   adam(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step)
 *   adamw(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step)   decoupled decay
 *   rmsprop(param, grad, squareAvg, lr, alpha, eps, weightDecay)
 *   adagrad(param, grad, sum, lr, lrDecay, weightDecay, eps, step)
 *   clipGradNorm({grad, ...}, maxNorm) -> the total 2-norm before clipping
 *
 * buf is the momentum buffer (nil when momentum is 0); first = true on the first step, when
 * buf is not yet initialised (it becomes the gradient, as PyTorch's). step counts from 1.
 */
#include <stdlib.h>

#include "lt_lua.h"

static lt_tensor *checkt(lua_State *L, int arg, const char *fname, const char *what)
{
    lt_tensor *t = ltL_totensor(L, arg);
    if (!t)
        luaL_error(L, "%s: %s must be a tensor (argument #%d), got %s", fname, what, arg,
                   luaL_typename(L, arg));
    return t;
}

static double checknum(lua_State *L, int arg, const char *fname, const char *what)
{
    if (lua_type(L, arg) != LUA_TNUMBER)
        luaL_error(L, "%s: %s must be a number (argument #%d), got %s", fname, what, arg,
                   luaL_typename(L, arg));
    return lua_tonumber(L, arg);
}

static int64_t checkstep(lua_State *L, int arg, const char *fname)
{
    if (!lua_isinteger(L, arg))
        luaL_error(L, "%s: step must be an integer (argument #%d), got %s", fname, arg,
                   lua_type(L, arg) == LUA_TNUMBER ? lua_tostring(L, arg) : luaL_typename(L, arg));
    return (int64_t)lua_tointeger(L, arg);
}

static int checkbool(lua_State *L, int arg, const char *fname, const char *what)
{
    if (!lua_isnoneornil(L, arg) && !lua_isboolean(L, arg))
        luaL_error(L, "%s: %s must be a boolean (argument #%d), got %s", fname, what, arg,
                   luaL_typename(L, arg));
    return lua_toboolean(L, arg);
}

static int o_sgd(lua_State *L)
{
    const char *f = "sgd";
    lt_tensor *p = checkt(L, 1, f, "param"), *g = checkt(L, 2, f, "grad");
    lt_tensor *buf = lua_isnil(L, 3) ? NULL : checkt(L, 3, f, "the momentum buffer (or nil)");
    double lr = checknum(L, 4, f, "lr"), mom = checknum(L, 5, f, "momentum");
    double damp = checknum(L, 6, f, "dampening"), wd = checknum(L, 7, f, "weightDecay");
    int nesterov = checkbool(L, 8, f, "nesterov"), first = checkbool(L, 9, f, "first");
    LT_TRY(L, f, lt_sgd_step(p, g, buf, lr, mom, damp, wd, nesterov, first));
    return 0;
}

static int adam_common(lua_State *L, const char *f, int decoupled)
{
    lt_tensor *p = checkt(L, 1, f, "param"), *g = checkt(L, 2, f, "grad");
    lt_tensor *m = checkt(L, 3, f, "m (the first moment)");
    lt_tensor *v = checkt(L, 4, f, "v (the second moment)");
    double lr = checknum(L, 5, f, "lr"), b1 = checknum(L, 6, f, "beta1");
    double b2 = checknum(L, 7, f, "beta2"), eps = checknum(L, 8, f, "eps");
    double wd = checknum(L, 9, f, "weightDecay");
    int64_t step = checkstep(L, 10, f);
    LT_TRY(L, f, (decoupled ? lt_adamw_step : lt_adam_step)(p, g, m, v, lr, b1, b2, eps, wd, step));
    return 0;
}

static int o_adam(lua_State *L) { return adam_common(L, "adam", 0); }
static int o_adamw(lua_State *L) { return adam_common(L, "adamw", 1); }

static int o_rmsprop(lua_State *L)
{
    const char *f = "rmsprop";
    lt_tensor *p = checkt(L, 1, f, "param"), *g = checkt(L, 2, f, "grad");
    lt_tensor *sq = checkt(L, 3, f, "squareAvg");
    double lr = checknum(L, 4, f, "lr"), alpha = checknum(L, 5, f, "alpha");
    double eps = checknum(L, 6, f, "eps"), wd = checknum(L, 7, f, "weightDecay");
    LT_TRY(L, f, lt_rmsprop_step(p, g, sq, lr, alpha, eps, wd));
    return 0;
}

static int o_adagrad(lua_State *L)
{
    const char *f = "adagrad";
    lt_tensor *p = checkt(L, 1, f, "param"), *g = checkt(L, 2, f, "grad");
    lt_tensor *sum = checkt(L, 3, f, "sum");
    double lr = checknum(L, 4, f, "lr"), lrd = checknum(L, 5, f, "lrDecay");
    double wd = checknum(L, 6, f, "weightDecay"), eps = checknum(L, 7, f, "eps");
    int64_t step = checkstep(L, 8, f);
    LT_TRY(L, f, lt_adagrad_step(p, g, sum, lr, lrd, wd, eps, step));
    return 0;
}

/* clipGradNorm({grads...}, maxNorm) -> total norm */
static int o_clip_grad_norm(lua_State *L)
{
    const char *f = "clipGradNorm";
    if (ltL_istensor(L, 1)) {  /* one tensor: as a list of one */
        lua_createtable(L, 1, 0);
        lua_pushvalue(L, 1);
        lua_rawseti(L, -2, 1);
        lua_replace(L, 1);
    }
    if (!lua_istable(L, 1))
        return luaL_error(L, "%s: expected a list of gradient tensors (argument #1), got %s", f,
                          luaL_typename(L, 1));
    double max_norm = checknum(L, 2, f, "maxNorm");
    lua_Integer n = luaL_len(L, 1);
    if (n > 1 << 24) return luaL_error(L, "%s: too many gradients", f);
    /* the array lives in a userdata, so an error below cannot leak it */
    lt_tensor **gs = lua_newuserdatauv(L, (size_t)(n > 0 ? n : 1) * sizeof *gs, 0);
    lua_newtable(L);  /* index 4: float32 copies of the BFloat16 gradients, by position */
    int widened = 0;
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, 1, i);
        lt_tensor **box = luaL_testudata(L, -1, LT_TENSOR_MT);
        if (box && *box && (*box)->dtype == LT_BFLOAT16) {  /* clipped in float32, rounded */
            lt_tensor *w = lt_tensor_new_uninit(LT_FLOAT32, (*box)->ndim, (*box)->size);
            ltL_pushtensor(L, w, f);
            LT_TRY(L, f, lt_copy(w, *box));
            lua_rawseti(L, 4, i);
            gs[i - 1] = w;
            widened = 1;
        } else if (!(gs[i - 1] = ltL_totensor(L, -1))) {
            return luaL_error(L, "%s: gradient %I is a %s, not a tensor", f, i,
                              luaL_typename(L, -1));
        }
        lua_pop(L, 1);  /* still referenced by the list */
    }
    double total;
    LT_TRY(L, f, lt_clip_grad_norm(gs, (int)n, max_norm, &total));
    for (lua_Integer i = 1; widened && i <= n; i++) {
        if (lua_rawgeti(L, 4, i) != LUA_TNIL) {
            lua_geti(L, 1, i);
            LT_TRY(L, f, lt_copy(*(lt_tensor **)lua_touserdata(L, -1), gs[i - 1]));
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lua_pushnumber(L, total);
    return 1;
}

void lt_open_optim(lua_State *L)
{
    /* BFloat16 parameters, gradients and state are widened: the update runs in float32 and
     * is rounded back (lauxt.c); clipGradNorm widens its list's BFloat16 gradients itself */
    static const ltL_Reg fns[] = {
        {"sgd", o_sgd, 0},         {"adam", o_adam, 0},       {"adamw", o_adamw, 0},
        {"rmsprop", o_rmsprop, 0}, {"adagrad", o_adagrad, 0}, {NULL, NULL, 0},
    };
    lua_newtable(L);
    for (const ltL_Reg *r = fns; r->name; r++) {
        ltL_pushwidening(L, r, 0);
        lua_setfield(L, -2, r->name);
    }
    lua_pushcfunction(L, o_clip_grad_norm);
    lua_setfield(L, -2, "clipGradNorm");
    lua_setfield(L, -3, "_optim");  /* torch table at -2 before the push */
}
