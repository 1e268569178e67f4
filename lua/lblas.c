/*
 * lblas.c — Lua bindings of the matrix products (core/blas.c) with Torch7's argument forms,
 * PyTorch's matmul, and the thread count (torch.setnumthreads / torch.getnumthreads), which
 * governs the core's thread pool (core/pool.c); the float32 GEMM engine
 * (torch.setGemmEngine / getGemmEngine) and the bf16 autocast switch under torch.autocast
 * (lua/torch/autocast.lua): core/dnnl.c.
 *
 *   torch.mm([res,] a, b)      res:mm(a, b) writes res;  a:mm(b) returns a new a @ b
 *   torch.bmm, torch.mv, torch.ger / torch.outer: the same forms
 *   torch.addmm([res,] [beta,] M, [alpha,] a, b)        res = beta * M + alpha * a @ b
 *   M:addmm([beta,] [alpha,] a, b)                      in place on M (one number = alpha)
 *   res:addmm([beta,] M, [alpha,] a, b)                 writes res
 *   torch.baddbmm, torch.addmv, torch.addr: the same forms
 *   torch.dot(a, b) / a:dot(b)                          a number
 *   torch.matmul(a, b) / a:matmul(b)                    dispatch on dims, batch broadcasting
 *
 * Autograd: the forms that return a new tensor record a node (core/grad_blas.c) when an
 * operand requires grad, and dot returns a 0-dim tensor instead of a number then. The forms
 * that write into a given tensor (res, or self for M:addmm) refuse when recording would be
 * needed (ltL_checkinplace), before anything is written.
 */
#include "lt_lua.h"
#include "../core/lt_internal.h"
#include "../core/dnnl.h"

/* ---- products without an addend: mm, bmm, mv, ger ---------------------------------------- */

typedef int (*prod_fn)(lt_tensor *out, const lt_tensor *a, const lt_tensor *b);
typedef int (*prod_rec)(lt_tensor *out, lt_tensor *a, lt_tensor *b);

/* (res, a, b): writes res and returns it; (a, b): returns a new tensor. Method and function
 * forms are the same: x:mm(a, b) writes x, a:mm(b) is a @ b. */
static int product(lua_State *L, const char *fname, prod_fn fn, prod_rec rec)
{
    lt_tensor *res, *a, *b;
    int resform = ltL_leadingtensors(L, 2);
    if (resform) {
        res = ltL_checktensor(L, 1);
        a = ltL_checktensor(L, 2);
        b = ltL_checktensor(L, 3);
        ltL_checkinplace(L, fname, res, 2, (const lt_tensor *[]){a, b});
        lua_pushvalue(L, 1);
    } else {
        a = ltL_checktensor(L, 1);
        b = ltL_checktensor(L, 2);
        res = ltL_newtensor(L, a->dtype);
    }
    LT_TRY(L, fname, fn(res, a, b));
    if (!resform) LT_TRY(L, fname, rec(res, a, b));
    return 1;
}

static int ger_fn(lt_tensor *out, const lt_tensor *a, const lt_tensor *b)
{
    return lt_addr(out, 0, NULL, 1, a, b);
}

static int mm_rec(lt_tensor *out, lt_tensor *a, lt_tensor *b)
{
    return lt_rec_addmm(out, 0, NULL, 1, a, b);
}
static int bmm_rec(lt_tensor *out, lt_tensor *a, lt_tensor *b)
{
    return lt_rec_baddbmm(out, 0, NULL, 1, a, b);
}
static int mv_rec(lt_tensor *out, lt_tensor *a, lt_tensor *b)
{
    return lt_rec_addmv(out, 0, NULL, 1, a, b);
}
static int ger_rec(lt_tensor *out, lt_tensor *a, lt_tensor *b)
{
    return lt_rec_addr(out, 0, NULL, 1, a, b);
}

static int l_mm(lua_State *L) { return product(L, "mm", lt_mm, mm_rec); }
static int l_bmm(lua_State *L) { return product(L, "bmm", lt_bmm, bmm_rec); }
static int l_mv(lua_State *L) { return product(L, "mv", lt_mv, mv_rec); }
static int l_ger(lua_State *L) { return product(L, "ger", ger_fn, ger_rec); }
static int l_outer(lua_State *L) { return product(L, "outer", ger_fn, ger_rec); }

/* ---- products with an addend: addmm, baddbmm, addmv, addr ---------------------------------- */

typedef int (*addprod_fn)(lt_tensor *out, double beta, const lt_tensor *c, double alpha,
                          const lt_tensor *a, const lt_tensor *b);
typedef int (*addprod_rec)(lt_tensor *out, double beta, lt_tensor *c, double alpha,
                           lt_tensor *a, lt_tensor *b);

static int add_usage(lua_State *L, const char *fname)
{
    return luaL_error(L, "%s: expected arguments [res,] [beta,] M, [alpha,] %s", fname,
                      fname[3] == 'r' ? "vec1, vec2" : fname[3] == 'v' ? "mat, vec"
                                                                          : "mat1, mat2");
}

/* Parses Torch7's [res,] [beta,] M, [alpha,] a, b (see the header) and runs fn. A number's
 * role follows from how many tensors precede it. */
static int addprod(lua_State *L, const char *fname, addprod_fn fn, addprod_rec rec)
{
    int top = lua_gettop(L), tix[4], nt = 0, nn = 0, npos[2];
    double nums[2];
    for (int i = 1; i <= top; i++) {
        if (ltL_istensor(L, i)) {
            if (nt == 4) return add_usage(L, fname);
            tix[nt++] = i;
        } else if (lua_type(L, i) == LUA_TNUMBER) {
            if (nn == 2) return add_usage(L, fname);
            nums[nn] = lua_tonumber(L, i);
            npos[nn++] = nt;
        } else {
            return add_usage(L, fname);
        }
    }
    int method = ltL_ismethod(L), resarg = 0;
    lt_tensor *M, *a, *b;
    double beta = 1, alpha = 1;
    if (method && nt == 3 && tix[0] == 1) {
        /* M:addmm([beta,] [alpha,] a, b): M is self and the result; one number is alpha */
        for (int k = 0; k < nn; k++)
            if (npos[k] != 1) return add_usage(L, fname);
        if (nn == 1) alpha = nums[0];
        if (nn == 2) beta = nums[0], alpha = nums[1];
        resarg = 1;
        M = ltL_checktensor(L, 1);
        a = ltL_checktensor(L, tix[1]);
        b = ltL_checktensor(L, tix[2]);
    } else if (nt == 4 || (nt == 3 && !method)) {
        int first = nt - 3;  /* index in tix of M; a res comes before it */
        int seen_beta = 0, seen_alpha = 0;
        for (int k = 0; k < nn; k++) {
            if (npos[k] == first && !seen_beta) beta = nums[k], seen_beta = 1;
            else if (npos[k] == first + 1 && !seen_alpha) alpha = nums[k], seen_alpha = 1;
            else return add_usage(L, fname);
        }
        if (nt == 4) resarg = tix[0];
        M = ltL_checktensor(L, tix[first]);
        a = ltL_checktensor(L, tix[first + 1]);
        b = ltL_checktensor(L, tix[first + 2]);
    } else {
        return add_usage(L, fname);
    }
    lt_tensor *res;
    if (resarg) {
        res = ltL_checktensor(L, resarg);
        ltL_checkinplace(L, fname, res, 3, (const lt_tensor *[]){M, a, b});
        lua_pushvalue(L, resarg);
    } else {
        res = ltL_newtensor(L, M->dtype);
    }
    LT_TRY(L, fname, fn(res, beta, M, alpha, a, b));
    if (!resarg) LT_TRY(L, fname, rec(res, beta, M, alpha, a, b));
    return 1;
}

static int l_addmm(lua_State *L) { return addprod(L, "addmm", lt_addmm, lt_rec_addmm); }
static int l_baddbmm(lua_State *L) { return addprod(L, "baddbmm", lt_baddbmm, lt_rec_baddbmm); }
static int l_addmv(lua_State *L) { return addprod(L, "addmv", lt_addmv, lt_rec_addmv); }
static int l_addr(lua_State *L) { return addprod(L, "addr", lt_addr, lt_rec_addr); }

/* a number, or a 0-dim tensor with a node when an operand requires grad */
/* torch.linear(x, weight [, bias]): x @ weight^T + bias, as nn.Linear computes it */
static int l_linear(lua_State *L)
{
    lt_tensor *x = ltL_checktensor(L, 1), *w = ltL_checktensor(L, 2);
    lt_tensor *bias = lua_isnoneornil(L, 3) ? NULL : ltL_checktensor(L, 3);
    lt_tensor *res = ltL_newtensor(L, x->dtype);
    LT_TRY(L, "linear", lt_linear(res, x, w, bias));
    LT_TRY(L, "linear", lt_rec_linear(res, x, w, bias));
    return 1;
}

static int l_dot(lua_State *L)
{
    lt_tensor *a = ltL_checktensor(L, 1), *b = ltL_checktensor(L, 2);
    double r;
    LT_TRY(L, "dot", lt_dot(&r, a, b));
    if (!lt_needs_grad(2, (const lt_tensor *[]){a, b})) {
        lua_pushnumber(L, r);
        return 1;
    }
    lt_tensor *res = lt_tensor_uninit_on(lt_device(a), a->dtype, 0, NULL);
    ltL_pushtensor(L, res, "dot");
    LT_TRY(L, "dot", lt_fill(res, r));   /* on a's device, as PyTorch's 0-dim result */
    LT_TRY(L, "dot", lt_rec_dot(res, a, b));
    return 1;
}

/* ---- matmul ---------------------------------------------------------------------------------- */

/* PyTorch's matmul: 1-D . 1-D is a 0-dim tensor, 2-D @ 2-D mm, 2-D @ 1-D mv, 1-D @ 2-D a row
 * vector times a matrix, and beyond that a batched product whose batch dims broadcast (a 1-D
 * operand gets a dim of 1 that the result drops). Every temporary is a Lua-owned tensor, so
 * an error cannot leak one. */
static int l_matmul(lua_State *L)
{
    const char *fn = "matmul";
    lt_tensor *a = ltL_checktensor(L, 1), *b = ltL_checktensor(L, 2);
    lua_settop(L, 2);
    if (a->ndim == 0 || b->ndim == 0)
        return luaL_error(L, "matmul: both arguments need at least one dimension, got %d and %d",
                          a->ndim, b->ndim);
    if (a->ndim == 1 && b->ndim == 1) {
        double r;
        LT_TRY(L, fn, lt_dot(&r, a, b));
        lt_tensor *res = lt_tensor_uninit_on(lt_device(a), a->dtype, 0, NULL);
        ltL_pushtensor(L, res, fn);
        LT_TRY(L, fn, lt_fill(res, r));
        LT_TRY(L, fn, lt_rec_matmul(res, a, b));
        return 1;
    }
    lt_tensor va = *a, vb = *b;  /* stack views: no refcounts */
    if (a->ndim == 2 && b->ndim == 2) {
        lt_tensor *res = ltL_newtensor(L, a->dtype);
        LT_TRY(L, fn, lt_mm(res, a, b));
        LT_TRY(L, fn, lt_rec_matmul(res, a, b));
        return 1;
    }
    if (a->ndim == 2 && b->ndim == 1) {
        lt_tensor *res = ltL_newtensor(L, a->dtype);
        LT_TRY(L, fn, lt_mv(res, a, b));
        LT_TRY(L, fn, lt_rec_matmul(res, a, b));
        return 1;
    }
    if (a->ndim == 1 && b->ndim == 2) {  /* (k) @ (k x n) = (b^T) @ a */
        lt_tensor *res = ltL_newtensor(L, a->dtype);
        LT_TRY(L, fn, lt_transpose(&vb, 0, 1));
        LT_TRY(L, fn, lt_mv(res, &vb, a));
        LT_TRY(L, fn, lt_rec_matmul(res, a, b));
        return 1;
    }
    int drop_row = a->ndim == 1, drop_col = b->ndim == 1;
    if (drop_row) LT_TRY(L, fn, lt_unsqueeze(&va, 0));
    if (drop_col) LT_TRY(L, fn, lt_unsqueeze(&vb, 1));
    int64_t m = va.size[va.ndim - 2], k = va.size[va.ndim - 1], n = vb.size[vb.ndim - 1];
    if (vb.size[vb.ndim - 2] != k) {
        char x[LT_SHAPE_BUFSZ], y[LT_SHAPE_BUFSZ];
        return luaL_error(L, "matmul: size mismatch, [%s] * [%s]",
                          lt_shape_str(x, sizeof x, a->ndim, a->size),
                          lt_shape_str(y, sizeof y, b->ndim, b->size));
    }
    int nbd, rnd;
    int64_t bshape[LT_MAXDIM], rshape[LT_MAXDIM], nb = 1;
    LT_TRY(L, fn, lt_broadcast_shape(va.ndim - 2, va.size, vb.ndim - 2, vb.size, &nbd, bshape));
    if (nbd + 2 > LT_MAXDIM) return luaL_error(L, "matmul: too many dimensions");
    for (int i = 0; i < nbd; i++) nb *= bshape[i];
    lt_tensor *res = ltL_newtensor(L, a->dtype);
    if (vb.ndim == 2) {
        /* (batch..., m, k) @ (k, n): one mm over (batch*m, k), b is not replicated */
        lt_tensor *fa = ltL_newtensor(L, a->dtype);
        int64_t s2[2] = {nb * m, k};
        LT_TRY(L, fn, lt_reshape(fa, &va, 2, s2));
        LT_TRY(L, fn, lt_mm(res, fa, &vb));
        lua_pop(L, 1);
    } else {
        int64_t sa[LT_MAXDIM], sb[LT_MAXDIM], s3a[3] = {nb, m, k}, s3b[3] = {nb, k, n};
        for (int i = 0; i < nbd; i++) sa[i] = sb[i] = bshape[i];
        sa[nbd] = m, sa[nbd + 1] = k, sb[nbd] = k, sb[nbd + 1] = n;
        LT_TRY(L, fn, lt_expand(&va, nbd + 2, sa));
        LT_TRY(L, fn, lt_expand(&vb, nbd + 2, sb));
        lt_tensor *fa = ltL_newtensor(L, a->dtype), *fb = ltL_newtensor(L, a->dtype);
        LT_TRY(L, fn, lt_reshape(fa, &va, 3, s3a));
        LT_TRY(L, fn, lt_reshape(fb, &vb, 3, s3b));
        LT_TRY(L, fn, lt_bmm(res, fa, fb));
        lua_pop(L, 2);
    }
    rnd = 0;
    for (int i = 0; i < nbd; i++) rshape[rnd++] = bshape[i];
    if (!drop_row) rshape[rnd++] = m;
    if (!drop_col) rshape[rnd++] = n;
    LT_TRY(L, fn, lt_view(res, rnd, rshape));
    LT_TRY(L, fn, lt_rec_matmul(res, a, b));
    return 1;
}

/* ---- threads ------------------------------------------------------------------------------ */

static int l_setnumthreads(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    if (n < 1 || n > 4096)
        return luaL_argerror(L, 1, lua_pushfstring(L, "expected a thread count in [1, 4096], got %I",
                                                   n));
    lt_set_num_threads((int)n);
    return 0;
}

/* torch._poolProbe(chunks, nested) -> {ranOnce, nestedRan, threads, ok} (spec 50) */
static int l_pool_probe(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1), m = luaL_optinteger(L, 2, 0);
    int64_t once, nested;
    int threads, ok;
    LT_TRY(L, "_poolProbe", lt_pool_probe((int64_t)n, (int64_t)m, &once, &nested, &threads, &ok));
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, once);
    lua_setfield(L, -2, "ranOnce");
    lua_pushinteger(L, nested);
    lua_setfield(L, -2, "nestedRan");
    lua_pushinteger(L, threads);
    lua_setfield(L, -2, "threads");
    lua_pushboolean(L, ok);
    lua_setfield(L, -2, "ok");
    return 1;
}

static int l_getnumthreads(lua_State *L)
{
    lua_pushinteger(L, lt_get_num_threads());
    return 1;
}

/* ---- engine and autocast (core/dnnl.c) --------------------------------------------------- */

static const char *const engine_names[] = {"auto", "openblas", "onednn", NULL};

static int l_setgemmengine(lua_State *L)
{
    int e = luaL_checkoption(L, 1, NULL, engine_names);
    if (lt_gemm_set_engine((lt_gemm_engine)e))
        return luaL_argerror(L, 1, lt_errmsg());
    return 0;
}

static int l_getgemmengine(lua_State *L)
{
    lua_pushstring(L, engine_names[lt_gemm_get_engine()]);
    return 1;
}

/* torch._autocastSet(on): switches autocast, returns the previous state (torch.autocast keeps
 * the nesting in Lua) */
static int l_autocastset(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TBOOLEAN);
    lua_pushboolean(L, lt_autocast_set(lua_toboolean(L, 1)));
    return 1;
}

static int l_isautocastenabled(lua_State *L)
{
    lua_pushboolean(L, lt_autocast_get());
    return 1;
}

/* torch._autocastNative(): bf16 products run in hardware (else they are emulated) */
static int l_autocastnative(lua_State *L)
{
    lua_pushboolean(L, lt_autocast_native());
    return 1;
}

void lt_open_blas(lua_State *L)
{
    static const ltL_Reg regs[] = {
        {"mm", l_mm, LT_FMW | LT_BF16_GEMM},
        {"bmm", l_bmm, LT_FMW | LT_BF16_GEMM},
        {"mv", l_mv, LT_FMW | LT_BF16_GEMM},
        {"ger", l_ger, LT_FMW},
        {"outer", l_outer, LT_FMW},
        {"addmm", l_addmm, LT_FMW | LT_BF16_GEMM},
        {"linear", l_linear, LT_FW | LT_BF16_GEMM},
        {"baddbmm", l_baddbmm, LT_FMW | LT_BF16_GEMM},
        {"addmv", l_addmv, LT_FMW | LT_BF16_GEMM},
        {"addr", l_addr, LT_FMW},
        {"dot", l_dot, LT_FMW},
        {"matmul", l_matmul, LT_FMW | LT_BF16_GEMM},
        {"setnumthreads", l_setnumthreads, LT_FN},
        {"getnumthreads", l_getnumthreads, LT_FN},
        {"_poolProbe", l_pool_probe, LT_FN},
        {"setGemmEngine", l_setgemmengine, LT_FN},
        {"getGemmEngine", l_getgemmengine, LT_FN},
        {"_autocastSet", l_autocastset, LT_FN},
        {"_autocastNative", l_autocastnative, LT_FN},
        {"isAutocastEnabled", l_isautocastenabled, LT_FN},
        {NULL, NULL, 0},
    };
    ltL_register(L, regs);
}
