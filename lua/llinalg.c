/*
 * llinalg.c — Lua bindings of the dense linear algebra (core/linalg.c on LAPACK; autograd in
 * core/grad_linalg.c). Matrices are the last two dims of a Float or Double tensor; the dims
 * before them are a batch.
 *
 *   torch.inverse(A) / A:inverse()           A^{-1}                          (autograd)
 *   torch.det(A) / A:det()                   a number for a matrix (a 0-dim tensor when
 *                                            recorded, as torch.sum), a tensor for a batch
 *   torch.solve(A, B)                        X with A X = B, PyTorch's linalg.solve (autograd)
 *   torch.gesv(B, A) -> X, LU                Torch7's argument order; LU packed as PyTorch's
 *   torch.cholesky(A [, upper = false])      L (A = L L^T) or U (A = U^T U)  (autograd)
 *   torch.potrf(A [, 'U' | 'L'])             Torch7's: U by default
 *   torch.qr(A) -> Q, R                      reduced                         (no gradient)
 *   torch.svd(A [, some = true]) -> U, S, V  V, not V^T (Torch7 and PyTorch's torch.svd)
 *   torch.symeig(A [, eigenvectors = false [, upper = true]]) -> e, V   (Torch7's 'V'/'N',
 *                                            'U'/'L' too); torch.eigh(A [, 'L' | 'U']) -> e, V
 *
 * No [res,] forms: each returns new tensors. A forward-only op whose input would be recorded
 * raises "svd: no gradient yet ..." rather than return results that silently detach.
 * CUDA tensors are computed on host copies (core/linalg.c says why); BFloat16 ones are
 * widened to float32 by the registration (LT_WIDEN).
 */
#include <string.h>

#include "lt_lua.h"
#include "../core/lt_internal.h"

/* the tensor at arg, a (square) matrix or a batch of them, else an argument error */
static lt_tensor *check_matrix(lua_State *L, int arg, int square)
{
    lt_tensor *a = ltL_checktensor(L, arg);
    if (lt_linalg_check(a, square) != LT_OK) luaL_argerror(L, arg, lt_errmsg());
    return a;
}

/* a boolean at arg, def when absent; Torch7's one-letter strings (yes / no) too when given */
static int optflag(lua_State *L, int arg, int def, const char *yes, const char *no)
{
    if (lua_isnoneornil(L, arg)) return def;
    if (lua_type(L, arg) == LUA_TBOOLEAN) return lua_toboolean(L, arg);
    const char *s = lua_type(L, arg) == LUA_TSTRING ? lua_tostring(L, arg) : NULL;
    if (s && yes && (!strcmp(s, yes) || (s[0] == yes[0] + 32 && !s[1]))) return 1;
    if (s && no && (!strcmp(s, no) || (s[0] == no[0] + 32 && !s[1]))) return 0;
    if (yes)
        return luaL_argerror(L, arg, lua_pushfstring(L, "expected a boolean, '%s' or '%s', got %s",
                                                     yes, no, luaL_typename(L, arg)));
    return luaL_argerror(L, arg, lua_pushfstring(L, "boolean expected, got %s",
                                                 luaL_typename(L, arg)));
}

static void no_extra(lua_State *L, int last, const char *fname)
{
    if (lua_gettop(L) > last && !lua_isnil(L, last + 1))
        luaL_error(L, "%s: expected at most %d argument%s, got %d", fname, last,
                   last == 1 ? "" : "s", lua_gettop(L));
}

/* forward-only ops refuse an input that would be recorded */
static void no_grad_yet(lua_State *L, const char *fname, lt_tensor *a)
{
    if (lt_needs_grad(1, (const lt_tensor *const *)&a))
        luaL_error(L, "%s: no gradient yet (call it under torch.noGrad, or on x:detach(), "
                   "to use the result as a constant)", fname);
}

static int l_inverse(lua_State *L)
{
    lt_tensor *a = check_matrix(L, 1, 1);
    no_extra(L, 1, "inverse");
    lt_tensor *res = ltL_newtensor(L, a->dtype);
    LT_TRY(L, "inverse", lt_linalg_inverse(res, a));
    LT_TRY(L, "inverse", lt_rec_inverse(res, a));
    return 1;
}

static int l_det(lua_State *L)
{
    lt_tensor *a = check_matrix(L, 1, 1);
    no_extra(L, 1, "det");
    lt_tensor *res = ltL_newtensor(L, a->dtype);
    LT_TRY(L, "det", lt_linalg_det(res, a));
    if (a->ndim == 2 && !lt_needs_grad(1, (const lt_tensor *const *)&a)) {
        lua_pushnumber(L, lt_get(res, NULL));   /* Torch7: a number, as x:sum() */
        return 1;
    }
    LT_TRY(L, "det", lt_rec_det(res, a));
    return 1;
}

/* A X = B, A at arg ia and B at ib; lu: also return the LU of A (gesv) */
static int solve(lua_State *L, const char *fname, int ia, int ib, int lu)
{
    lt_tensor *a = check_matrix(L, ia, 1), *b = ltL_checktensor(L, ib);
    if (lt_linalg_check_solve(a, b) != LT_OK) luaL_argerror(L, ib, lt_errmsg());
    no_extra(L, 2, fname);
    lt_tensor *x = ltL_newtensor(L, a->dtype);
    lt_tensor *f = lu ? ltL_newtensor(L, a->dtype) : NULL;
    LT_TRY(L, fname, lt_linalg_solve(x, f, a, b));
    LT_TRY(L, fname, lt_rec_solve(x, a, b));
    return lu ? 2 : 1;
}

static int l_solve(lua_State *L) { return solve(L, "solve", 1, 2, 0); }
static int l_gesv(lua_State *L) { return solve(L, "gesv", 2, 1, 1); }

static int cholesky(lua_State *L, const char *fname, int upper)
{
    lt_tensor *a = check_matrix(L, 1, 1);
    no_extra(L, 2, fname);
    lt_tensor *res = ltL_newtensor(L, a->dtype);
    LT_TRY(L, fname, lt_linalg_cholesky(res, a, upper));
    LT_TRY(L, fname, lt_rec_cholesky(res, a, upper));
    return 1;
}

static int l_cholesky(lua_State *L)
{
    return cholesky(L, "cholesky", optflag(L, 2, 0, NULL, NULL));
}

static int l_potrf(lua_State *L) { return cholesky(L, "potrf", optflag(L, 2, 1, "U", "L")); }

static int l_qr(lua_State *L)
{
    lt_tensor *a = check_matrix(L, 1, 0);
    no_extra(L, 1, "qr");
    no_grad_yet(L, "qr", a);
    lt_tensor *q = ltL_newtensor(L, a->dtype), *r = ltL_newtensor(L, a->dtype);
    LT_TRY(L, "qr", lt_linalg_qr(q, r, a));
    return 2;
}

static int l_svd(lua_State *L)
{
    lt_tensor *a = check_matrix(L, 1, 0);
    int some = optflag(L, 2, 1, NULL, NULL);
    no_extra(L, 2, "svd");
    no_grad_yet(L, "svd", a);
    lt_tensor *u = ltL_newtensor(L, a->dtype), *s = ltL_newtensor(L, a->dtype);
    lt_tensor *v = ltL_newtensor(L, a->dtype);
    LT_TRY(L, "svd", lt_linalg_svd(u, s, v, a, some));
    return 3;
}

static int eig(lua_State *L, const char *fname, int vectors, int upper)
{
    lt_tensor *a = ltL_checktensor(L, 1);
    no_grad_yet(L, fname, a);
    lt_tensor *e = ltL_newtensor(L, a->dtype), *v = ltL_newtensor(L, a->dtype);
    LT_TRY(L, fname, lt_linalg_eigh(e, vectors ? v : NULL, a, vectors, upper));
    return 2;
}

static int l_symeig(lua_State *L)
{
    check_matrix(L, 1, 1);
    int vectors = optflag(L, 2, 0, "V", "N"), upper = optflag(L, 3, 1, "U", "L");
    no_extra(L, 3, "symeig");
    return eig(L, "symeig", vectors, upper);
}

static int l_eigh(lua_State *L)
{
    check_matrix(L, 1, 1);
    int upper = optflag(L, 2, 0, "U", "L");
    no_extra(L, 2, "eigh");
    return eig(L, "eigh", 1, upper);
}

void lt_open_linalg(lua_State *L)
{
    static const ltL_Reg regs[] = {
        {"inverse", l_inverse, LT_FMW},
        {"det", l_det, LT_FMW},
        {"solve", l_solve, LT_FW},
        {"gesv", l_gesv, LT_FW},
        {"cholesky", l_cholesky, LT_FMW},
        {"potrf", l_potrf, LT_FW},
        {"qr", l_qr, LT_FMW},
        {"svd", l_svd, LT_FMW},
        {"symeig", l_symeig, LT_FMW},
        {"eigh", l_eigh, LT_FW},
        {NULL, NULL, 0},
    };
    ltL_register(L, regs);
}
