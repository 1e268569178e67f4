/*
 * ldatasets.c — Lua bindings of the data loading kernels (datasets/idx.c, datasets/transform.c),
 * used by lua/datasets and lua/transforms:
 *
 *   torch.readIDX(path [, ndim])     the IDX file (gzip or plain) as a new tensor: ByteTensor
 *                                    for ubyte data, LongTensor for byte/short/int, Float/
 *                                    DoubleTensor for float/double. ndim: required number of
 *                                    dims. Errors read "readIDX: <path>: <what is wrong>".
 *   torch._normalize([res,] src, cdim, div, mean, std)
 *                                    res = ((T)src / div - mean[c]) / std[c], c along dim cdim
 *                                    (1-based); mean/std: numbers or tables (one per channel);
 *                                    res is a new FloatTensor (DoubleTensor for a Double src)
 *                                    unless given. ToTensor + Normalize in one pass.
 *   torch._exePath()                 the running executable (/proc/self/exe) or nil: where an
 *                                    installed luatorch finds its shared data.
 */
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "../datasets/idx.h"
#include "../datasets/transform.h"
#include "lt_lua.h"

static int l_readidx(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lua_Integer nd = luaL_optinteger(L, 2, 0);
    luaL_argcheck(L, nd >= 0 && nd <= LT_MAXDIM, 2, "expected a number of dims in 0..16");
    lt_tensor *t = NULL;
    LT_TRY(L, "readIDX", lt_idx_read(&t, path, (int)nd));
    ltL_pushtensor(L, t, "readIDX");
    return 1;
}

/* mean/std at arg: a number or a table of numbers; returns the count (at most LT_MAXDIM*4). */
#define MAXCHAN 64
static int checkconsts(lua_State *L, int arg, double *v, const char *what)
{
    if (lua_type(L, arg) == LUA_TNUMBER) {
        v[0] = lua_tonumber(L, arg);
        return 1;
    }
    if (!lua_istable(L, arg))
        luaL_error(L, "_normalize: %s must be a number or a table of numbers, got %s", what,
                   luaL_typename(L, arg));
    lua_Integer n = luaL_len(L, arg);
    if (n < 1 || n > MAXCHAN)
        luaL_error(L, "_normalize: %s must have 1 to %d values, got %I", what, MAXCHAN, n);
    for (lua_Integer i = 1; i <= n; i++) {
        int isnum;
        lua_geti(L, arg, i);
        v[i - 1] = lua_tonumberx(L, -1, &isnum);
        lua_pop(L, 1);
        if (!isnum) luaL_error(L, "_normalize: %s[%I] is not a number", what, i);
    }
    return (int)n;
}

static int l_normalize(lua_State *L)
{
    int resform = ltL_istensor(L, 1) && ltL_istensor(L, 2);
    int a = resform ? 2 : 1;
    lt_tensor *src = ltL_checktensor(L, a);
    int cdim = src->ndim ? ltL_checkdim(L, a + 1, src->ndim) : 0;
    double div = luaL_checknumber(L, a + 2);
    double mean[MAXCHAN], std[MAXCHAN];
    int nm = checkconsts(L, a + 3, mean, "mean"), ns = checkconsts(L, a + 4, std, "std");
    if (nm != ns && nm != 1 && ns != 1)
        luaL_error(L, "_normalize: %d means but %d stds", nm, ns);
    int n = nm > ns ? nm : ns;
    for (int i = nm; i < n; i++) mean[i] = mean[0];
    for (int i = ns; i < n; i++) std[i] = std[0];
    lt_tensor *res;
    if (resform) {
        res = ltL_checktensor(L, 1);
        lua_pushvalue(L, 1);
    } else {
        res = ltL_newtensor(L, src->dtype == LT_FLOAT64 ? LT_FLOAT64 : LT_FLOAT32);
    }
    LT_TRY(L, "_normalize", lt_normalize(res, src, cdim, div, n, mean, std));
    return 1;
}

static int l_exepath(lua_State *L)
{
    char buf[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (k <= 0) return 0;
    lua_pushlstring(L, buf, (size_t)k);
    return 1;
}

void lt_open_datasets(lua_State *L)
{
    static const ltL_Reg regs[] = {
        {"readIDX", l_readidx, LT_FN},
        {"_normalize", l_normalize, LT_FN},
        {"_exePath", l_exepath, LT_FN},
        {NULL, NULL, 0},
    };
    ltL_register(L, regs);
}
