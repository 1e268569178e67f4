/*
 * lautograd.c — the Lua face of the autograd engine (core/autograd.c): the tensor fields
 * requiresGrad / grad / gradFn / isLeaf, backward, detach, grad mode, and
 * torch.autograd.Function nodes whose forward and backward are Lua functions.
 */
#include <stdlib.h>
#include <string.h>

#include "lt_lua.h"

/* ---- fields: t.requiresGrad, t.grad, t.gradFn, t.isLeaf -------------------------------- */

int ltL_autograd_index(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    const char *k = lua_tostring(L, 2);
    if (!strcmp(k, "requiresGrad")) {
        lua_pushboolean(L, t->requires_grad);
    } else if (!strcmp(k, "grad")) {
        if (t->grad) {
            lt_tensor_retain(t->grad);
            ltL_pushtensor(L, t->grad, "grad");
        } else {
            lua_pushnil(L);
        }
    } else if (!strcmp(k, "gradFn")) {
        if (t->grad_fn) lua_pushstring(L, t->grad_fn->name);
        else lua_pushnil(L);
    } else if (!strcmp(k, "isLeaf")) {
        lua_pushboolean(L, t->grad_fn == NULL);
    } else {
        lua_pushnil(L);
    }
    return 1;
}

/* fname: the field or the method that set it, for the messages */
static void set_requires_grad(lua_State *L, lt_tensor *t, int on, const char *fname)
{
    if (!on && t->grad_fn)
        luaL_error(L, "%s: cannot turn off requiresGrad of a non-leaf tensor (use detach())",
                   fname);
    if (on && !lt_dtype_is_float(t->dtype) && t->dtype != LT_BFLOAT16)
        luaL_error(L, "%s: only Float, Double and BFloat16 tensors can require gradients, got %s",
                   fname, ltL_typename(t));
    t->requires_grad = on;
}

int ltL_autograd_newindex(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    const char *k = lua_tostring(L, 2);
    if (!strcmp(k, "requiresGrad")) {
        set_requires_grad(L, t, lua_toboolean(L, 3), "requiresGrad");
        return 1;
    }
    if (!strcmp(k, "grad")) {
        lt_tensor *g = lua_isnil(L, 3) ? NULL : ltL_checktensor(L, 3);
        if (g && (!lt_same_shape(g, t) || g->dtype != t->dtype))
            return luaL_error(L, "grad: a %s gradient does not fit a %s tensor of another "
                                 "shape or type", ltL_typename(g), ltL_typename(t));
        if (g) lt_tensor_retain(g);
        lt_tensor_release(t->grad);
        t->grad = g;
        return 1;
    }
    return 0;
}

/* ---- gradient-ready hooks (lt_grad_hooks; nn.DistributedDataParallel's overlap) ----------
 * torch._setGradReadyHook(leaf, fn | nil): fn() runs during a backward pass as soon as the
 * leaf's gradient for that pass is complete. torch._queueBackwardCallback(fn): fn(ok) runs
 * once at the end of the pass now running (ok: it succeeded). A Lua error in either stops the
 * pass and is raised by backward. */
#define HOOKS_KEY "torch.gradReadyHooks"    /* lightuserdata(lt_tensor *) -> function */
#define QUEUE_KEY "torch.backwardCallbacks" /* functions for the end of the pass (a list) */
static lua_State *hook_L;   /* the state running the current backward (NULL: none) */

/* calls the function under its nargs arguments on top of L; an error becomes the core's */
static int hook_call(lua_State *L, int nargs)
{
    if (lua_pcall(L, nargs, 0, 0) == LUA_OK) return LT_OK;
    int st = lt_error("%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "(error object is not a string)");
    lua_pop(L, 1);
    return st;
}

static int hook_leaf_ready(lt_tensor *leaf, void *ud)
{
    lua_State *L = hook_L;
    if (!L) return LT_OK;
    /* never a Lua error here: it would jump over the engine's clean-up */
    if (!lua_checkstack(L, 4)) return lt_error("gradient hook: Lua stack overflow");
    if (lua_getfield(L, LUA_REGISTRYINDEX, HOOKS_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        return LT_OK;
    }
    if (lua_rawgetp(L, -1, leaf) != LUA_TFUNCTION) {
        lua_pop(L, 2);
        return LT_OK;
    }
    lua_remove(L, -2);
    return hook_call(L, 0);
}

static int hook_pass_done(int status, void *ud)
{
    lua_State *L = hook_L;
    if (!L) return LT_OK;
    if (!lua_checkstack(L, 4)) return lt_error("backward callback: Lua stack overflow");
    if (lua_getfield(L, LUA_REGISTRYINDEX, QUEUE_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        return LT_OK;
    }
    lua_pushnil(L);   /* a callback that queues another runs it at the end of the next pass */
    lua_setfield(L, LUA_REGISTRYINDEX, QUEUE_KEY);
    int st = LT_OK, n = (int)lua_rawlen(L, -1);
    for (int k = 1; k <= n; k++) {
        lua_rawgeti(L, -1, k);
        lua_pushboolean(L, status == LT_OK);
        int r = hook_call(L, 1);
        if (st == LT_OK) st = r;
    }
    lua_pop(L, 1);
    return st;
}

static int ag_setgradreadyhook(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
    if (t->grad_fn) return luaL_argerror(L, 1, "a leaf tensor expected (one made by an op has no .grad)");
    static const lt_grad_hooks hooks = {hook_leaf_ready, hook_pass_done, NULL};
    lt_autograd_set_hooks(&hooks);
    if (lua_getfield(L, LUA_REGISTRYINDEX, HOOKS_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, HOOKS_KEY);
    }
    lua_settop(L, 3);
    lua_pushvalue(L, 2);   /* nil removes it */
    lua_rawsetp(L, 3, t);
    t->grad_hook = !lua_isnoneornil(L, 2);
    return 0;
}

static int ag_queuebackwardcallback(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    if (lua_getfield(L, LUA_REGISTRYINDEX, QUEUE_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, QUEUE_KEY);
    }
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    return 0;
}

/* runs a backward with the hooks pointed at L; restores the previous state before raising */
static int hooked_backward(lua_State *L, int n, lt_tensor *const *roots,
                           const lt_tensor *const *grads, int retain)
{
    lua_State *prev = hook_L;
    hook_L = L;
    int st = lt_backward_many(n, roots, grads, retain);
    hook_L = prev;
    if (st != LT_OK) return ltL_error(L, "backward");
    ltL_account(L);
    return 0;
}

/* ---- methods ------------------------------------------------------------------------------ */

/* retainGraph as a boolean or as an options table {retainGraph = bool}: PyTorch's keyword,
 * the form the freed-graph error's advice leads a PyTorch user to write */
static int retain_arg(lua_State *L, int idx)
{
    if (!lua_istable(L, idx)) return lua_toboolean(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING || strcmp(lua_tostring(L, -1), "retainGraph") != 0)
            return luaL_error(L, "backward: unknown option %s (accepted: retainGraph)",
                              luaL_tolstring(L, -1, NULL));
    }
    lua_getfield(L, idx, "retainGraph");
    int retain = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return retain;
}

/* t:backward([gradient] [, retainGraph | {retainGraph = bool}]) */
static int ag_backward(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    int opts_second = lua_istable(L, 2);  /* backward{retainGraph = true}: no gradient */
    const lt_tensor *g = opts_second || lua_isnoneornil(L, 2) ? NULL : ltL_checktensor(L, 2);
    int retain = retain_arg(L, opts_second ? 2 : 3);
    return hooked_backward(L, 1, &t, &g, retain);
}

/* torch.autograd.backward(tensors, grads [, retainGraph]): several roots in one pass */
/* element k (1-based) of the table at idx, pushed: a tensor, else an error naming the element
 * (a plain argument check would report the stack slot, 'bad argument #-1') */
static lt_tensor *element_tensor(lua_State *L, int idx, int k, const char *what)
{
    lua_geti(L, idx, k);
    lt_tensor *t = ltL_totensor(L, -1);
    if (!t) luaL_error(L, "backward: %s[%d] must be a tensor, got %s", what, k, luaL_typename(L, -1));
    return t;
}

static int ag_backward_many(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int n = (int)luaL_len(L, 1);
    if (n < 1 || n > 256) return luaL_argerror(L, 1, "expected 1 to 256 tensors");
    lt_tensor *roots[256];
    const lt_tensor *grads[256];
    for (int k = 0; k < n; k++) {
        roots[k] = element_tensor(L, 1, k + 1, "tensors");
        lua_pop(L, 1);  /* the table keeps it alive */
        grads[k] = NULL;
        if (lua_istable(L, 2)) {
            lua_geti(L, 2, k + 1);
            int none = lua_isnil(L, -1);
            lua_pop(L, 1);
            if (!none) grads[k] = element_tensor(L, 2, k + 1, "grads");
            if (!none) lua_pop(L, 1);
        }
    }
    return hooked_backward(L, n, roots, grads, lua_toboolean(L, 3));
}

/* t:detach(): the same data, no history, requiresGrad false */
static int ag_detach(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    ltL_pushtensor(L, lt_tensor_view_of(t), "detach");
    return 1;
}

/* t:requiresGrad_([on=true]) sets the flag and returns t (for chaining) */
static int ag_requiresgrad(lua_State *L)
{
    set_requires_grad(L, ltL_checktensor(L, 1), lua_isnoneornil(L, 2) || lua_toboolean(L, 2),
                      "requiresGrad_");
    lua_settop(L, 1);
    return 1;
}

/* t:zeroGrad(): drops the accumulated gradient (PyTorch's set_to_none) */
static int ag_zerograd(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    if (t->grad) LT_TRY(L, "zeroGrad", lt_fill(t->grad, 0));
    lua_settop(L, 1);
    return 1;
}

/* ---- grad mode ---------------------------------------------------------------------------- */

static int ag_setgradenabled(lua_State *L)
{
    lua_pushboolean(L, lt_grad_enabled());
    lt_set_grad_enabled(lua_toboolean(L, 1));
    return 1;  /* the previous mode */
}

static int ag_isgradenabled(lua_State *L)
{
    lua_pushboolean(L, lt_grad_enabled());
    return 1;
}

/* torch.noGrad(fn, ...): calls fn with recording off, restores the mode even on error */
static int ag_nograd(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    int was = lt_grad_enabled();
    lt_set_grad_enabled(0);
    int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    lt_set_grad_enabled(was);
    if (status != LUA_OK) return lua_error(L);
    return lua_gettop(L);
}

/* torch._moduleCall(f, ...): calls f with the "inside a PyTorch-style module call" depth one
 * higher, restoring it whatever f raises. In C because a hook (Ctrl-C raises from one) runs
 * only at Lua instructions: Lua code that bumps a counter and restores it, even from a
 * to-be-closed variable, can be interrupted between the two and leave it stuck, and then no
 * module records a graph for Torch7's backward again (nn.Module.__call). */
static int module_call_depth;

static int ag_modulecall(lua_State *L)
{
    luaL_checkany(L, 1);
    module_call_depth++;
    int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    module_call_depth--;
    if (status != LUA_OK) return lua_error(L);
    return lua_gettop(L);
}

static int ag_modulecalldepth(lua_State *L)
{
    lua_pushinteger(L, module_call_depth);
    return 1;
}

/* ---- torch.autograd.Function: nodes with Lua forward/backward ----------------------------- */

typedef struct {
    lua_State *L;   /* the main thread: the registry lives as long as the state */
    int fn_ref;     /* the Function table (with backward)                      */
    int ctx_ref;    /* the ctx table forward filled                            */
} lua_fn_ctx;

static void luafn_release(lt_node *n)
{
    lua_fn_ctx *c = n->ctx;
    if (!c) return;
    luaL_unref(c->L, LUA_REGISTRYINDEX, c->fn_ref);
    luaL_unref(c->L, LUA_REGISTRYINDEX, c->ctx_ref);
    free(c);
    n->ctx = NULL;
}

/* Calls Function.backward(ctx, gradOutputs...) and collects one gradient per input. */
static int luafn_backward(lt_node *n, lt_tensor *const *grad_out, lt_tensor **grad_in)
{
    lua_fn_ctx *c = n->ctx;
    lua_State *L = c->L;
    int top = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->fn_ref);
    lua_getfield(L, -1, "backward");
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->ctx_ref);
    for (int k = 0; k < n->noutputs; k++) {
        if (grad_out[k]) {
            lt_tensor_retain(grad_out[k]);
            lt_tensor **box = lua_newuserdatauv(L, sizeof *box, 1);
            *box = grad_out[k];
            luaL_setmetatable(L, LT_TENSOR_MT);
        } else {
            lua_pushnil(L);
        }
    }
    int was = lt_grad_enabled();
    lt_set_grad_enabled(0);
    int status = lua_pcall(L, 1 + n->noutputs, n->ninputs, 0);
    lt_set_grad_enabled(was);
    if (status != LUA_OK) {
        lt_error("%s", lua_tostring(L, -1));
        lua_settop(L, top);
        return LT_ERR;
    }
    int base = lua_gettop(L) - n->ninputs;
    int st = LT_OK;
    /* the inputs live where the outputs' gradients do: a host gradient returned for a device
     * graph is moved there by the copy below */
    int dev = LT_CPU;
    for (int j = n->noutputs - 1; j >= 0; j--)
        if (grad_out[j]) dev = lt_device(grad_out[j]);
    for (int k = 0; k < n->ninputs && st == LT_OK; k++) {
        lt_tensor *g = ltL_totensor(L, base + 1 + k);
        if (!g || !n->next[k]) continue;
        if (g->ndim != n->in_ndim[k] || memcmp(g->size, n->in_size[k], (size_t)g->ndim * 8)) {
            char a[LT_SHAPE_BUFSZ], b[LT_SHAPE_BUFSZ];
            st = lt_error("backward returned a gradient of shape [%s] for input %d of shape [%s]",
                          lt_shape_str(a, sizeof a, g->ndim, g->size), k + 1,
                          lt_shape_str(b, sizeof b, n->in_ndim[k], n->in_size[k]));
            break;
        }
        grad_in[k] = lt_tensor_uninit_on(dev, n->in_dtype[k], g->ndim, g->size);
        if (!grad_in[k] || lt_copy(grad_in[k], g)) st = LT_ERR;
    }
    lua_settop(L, top);
    return st;
}

/* core.applyFunction(Function, ...): forward under no-grad with a fresh ctx, then one node
 * for all tensor results when an input requires grad. */
static int ag_apply(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int nargs = lua_gettop(L) - 1;
    lua_newtable(L);  /* ctx */
    int ctx = lua_gettop(L);
    lua_getfield(L, 1, "forward");
    luaL_argcheck(L, lua_isfunction(L, -1), 1, "Function has no forward");
    lua_pushvalue(L, ctx);
    for (int k = 0; k < nargs; k++) lua_pushvalue(L, 2 + k);
    int was = lt_grad_enabled();
    lt_set_grad_enabled(0);
    int status = lua_pcall(L, 1 + nargs, LUA_MULTRET, 0);
    lt_set_grad_enabled(was);
    if (status != LUA_OK) return lua_error(L);
    int nres = lua_gettop(L) - ctx;
    lt_tensor *inputs[64];
    int nin = 0;
    for (int k = 0; k < nargs && nin < 64; k++) inputs[nin++] = ltL_totensor(L, 2 + k);
    if (!lt_needs_grad(nin, (const lt_tensor *const *)inputs)) return nres;
    /* the results become new handles so that the node owns what it names */
    lt_node *n = lt_node_new("FunctionBackward", luafn_backward, nin, inputs, nres);
    if (!n) return ltL_error(L, "Function");
    lua_fn_ctx *c = malloc(sizeof *c);
    if (!c) {
        lt_node_release(n);
        return luaL_error(L, "Function: out of memory");
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    c->L = lua_tothread(L, -1);
    lua_pop(L, 1);
    lua_pushvalue(L, 1);
    c->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushvalue(L, ctx);
    c->ctx_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    n->ctx = c;
    n->release_ctx = luafn_release;
    for (int k = 0; k < nres; k++) {
        lt_tensor *r = ltL_totensor(L, ctx + 1 + k);
        if (!r) continue;
        lt_tensor *h = lt_tensor_view_of(r);
        if (!h) {
            lt_node_release(n);
            return ltL_error(L, "Function");
        }
        lt_node_set_output(n, h, k);
        ltL_pushtensor(L, h, "Function");
        lua_replace(L, ctx + 1 + k);
    }
    lt_node_release(n);  /* the outputs hold it now */
    return nres;
}

void lt_open_autograd(lua_State *L)
{
    static const ltL_Reg regs[] = {
        {"backward", ag_backward, LT_METHOD | LT_BF16},
        {"detach", ag_detach, LT_FN | LT_METHOD | LT_BF16},
        {"requiresGrad_", ag_requiresgrad, LT_METHOD | LT_BF16},
        {"zeroGrad", ag_zerograd, LT_METHOD | LT_BF16},
        {"setGradEnabled", ag_setgradenabled, LT_FN}, {"isGradEnabled", ag_isgradenabled, LT_FN},
        {"noGrad", ag_nograd, LT_FN}, {"applyFunction", ag_apply, LT_FN},
        {"_moduleCall", ag_modulecall, LT_FN}, {"_moduleCallDepth", ag_modulecalldepth, LT_FN},
        {"backwardMany", ag_backward_many, LT_FN | LT_BF16},
        {"_setGradReadyHook", ag_setgradreadyhook, LT_FN},
        {"_queueBackwardCallback", ag_queuebackwardcallback, LT_FN},
        {NULL, NULL, 0}};
    ltL_register(L, regs);
}
