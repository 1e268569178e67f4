/*
 * lrandom.c — Lua bindings of the random number generator (core/random.c).
 *
 *   torch.manualSeed(n)          seeds and rewinds the generator
 *   torch.seed()                 seeds from /dev/urandom (or the clock) and returns the seed
 *   torch.initialSeed()          the current seed
 *   torch.getRNGState()          a LongTensor {seed, offset}: offset counts the 128-bit Philox
 *                                blocks used since seeding (the seed is its 64-bit pattern)
 *   torch.setRNGState(state)     restores such a tensor: the same numbers follow again
 *   torch.rand([res,] sizes...)  uniform [0, 1), torch.randn(...) standard normal; in the
 *                                default type, or into res (resized when sizes are given)
 *   torch.randperm([res,] n)     a LongTensor permutation of 1..n
 *   torch.multinomial([res,] probs, n [, replacement=false])   1-based LongTensor indices
 *   t:uniform([a=0, b=1])  t:normal([mean=0, std=1])  t:bernoulli([p=0.5] | probs)
 *   t:random()  t:random(b) -> [1, b]  t:random(a, b) -> [a, b]   (in place, return t)
 *   torch.uniform/normal/bernoulli/random(...) without a tensor: one number.
 *   torch._philox(seed, counter), torch._philox4x32(c0, c1, c2, c3, k0, k1): the raw Philox
 *   block as 4 integers (for known-answer tests).
 */
#include <stdio.h>
#include <time.h>

#include "../core/lt_internal.h"
#include "lt_lua.h"

static int l_manualseed(lua_State *L)
{
    lt_rng_seed((uint64_t)luaL_checkinteger(L, 1));
    return 0;
}

static int l_seed(lua_State *L)
{
    uint64_t s = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(&s, sizeof s, 1, f) != 1)
        s = (uint64_t)time(NULL) * 6364136223846793005ULL ^ (uint64_t)clock();
    if (f) fclose(f);
    s &= (uint64_t)INT64_MAX;  /* a non-negative Lua integer that manualSeed takes back */
    lt_rng_seed(s);
    lua_pushinteger(L, (lua_Integer)s);
    return 1;
}

static int l_initialseed(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)lt_rng_get_state().seed);
    return 1;
}

static int l_getrngstate(lua_State *L)
{
    lt_rng_state s = lt_rng_get_state();
    lt_tensor *t = ltL_newtensor(L, LT_INT64);
    int64_t two = 2, i0 = 0, i1 = 1;
    LT_TRY(L, "getRNGState", lt_resize(t, 1, &two));
    lt_set_int(t, &i0, (int64_t)s.seed);
    lt_set_int(t, &i1, (int64_t)s.offset);
    return 1;
}

static int l_setrngstate(lua_State *L)
{
    lt_tensor *t = ltL_checktensor(L, 1);
    luaL_argcheck(L, t->dtype == LT_INT64 && t->ndim == 1 && t->size[0] == 2, 1,
                  "expected the 2-element LongTensor {seed, offset} of getRNGState");
    int64_t i0 = 0, i1 = 1;
    lt_rng_set_state((lt_rng_state){(uint64_t)lt_get_int(t, &i0), (uint64_t)lt_get_int(t, &i1)});
    return 0;
}

static int push_words(lua_State *L, const uint32_t w[4])
{
    for (int i = 0; i < 4; i++) lua_pushinteger(L, (lua_Integer)w[i]);
    return 4;
}

static int l_philox(lua_State *L)
{
    uint32_t w[4];
    lt_philox((uint64_t)luaL_checkinteger(L, 1), (uint64_t)luaL_checkinteger(L, 2), w);
    return push_words(L, w);
}

static int l_philox4x32(lua_State *L)
{
    uint32_t ctr[4], key[2], w[4];
    for (int i = 0; i < 4; i++) ctr[i] = (uint32_t)luaL_checkinteger(L, i + 1);
    for (int i = 0; i < 2; i++) key[i] = (uint32_t)luaL_checkinteger(L, i + 5);
    lt_philox4x32_10(ctr, key, w);
    return push_words(L, w);
}

/* ---- tensor factories ------------------------------------------------------------------- */

/* [res,] sizes...: a tensor first is the result unless it is a lone LongTensor (then it holds
 * the sizes). Leaves the result on top of the stack. */
static lt_tensor *sized_result(lua_State *L, const char *fname)
{
    int64_t size[LT_MAXDIM];
    lt_tensor *t1 = ltL_totensor(L, 1);
    if (t1 && (!lua_isnoneornil(L, 2) || t1->dtype != LT_INT64)) {
        if (!lua_isnoneornil(L, 2)) {
            int nd = ltL_checksizes(L, 2, size);
            if (lt_resize(t1, nd, size)) ltL_error(L, fname);
        }
        lua_pushvalue(L, 1);
        return t1;
    }
    int nd = ltL_checksizes(L, 1, size);  /* before pushing anything: it reads args 1.. */
    lt_tensor *t = ltL_newtensor(L, ltL_default_dtype());
    if (lt_resize(t, nd, size)) ltL_error(L, fname);
    return t;
}

static int l_rand(lua_State *L)
{
    lt_tensor *t = sized_result(L, "rand");
    LT_TRY(L, "rand", lt_rand_uniform(t, 0, 1));
    return 1;
}

static int l_randn(lua_State *L)
{
    lt_tensor *t = sized_result(L, "randn");
    LT_TRY(L, "randn", lt_rand_normal(t, 0, 1));
    return 1;
}

static int l_randperm(lua_State *L)
{
    int arg = 1;
    lt_tensor *res = ltL_totensor(L, 1);
    if (res) arg = 2;
    lua_Integer n = luaL_checkinteger(L, arg);
    luaL_argcheck(L, n >= 0, arg, "expected n >= 0");
    if (res) lua_pushvalue(L, 1);
    else res = ltL_newtensor(L, LT_INT64);
    LT_TRY(L, "randperm", lt_randperm(res, (int64_t)n));
    LT_TRY(L, "randperm", lt_binary_scalar(res, LT_OP_ADD, res, 1));  /* 1-based */
    return 1;
}

static int l_multinomial(lua_State *L)
{
    lt_tensor *res = NULL;
    int arg = 1;
    if (ltL_leadingtensors(L, 1)) {  /* (res, probs, n, ...) */
        res = ltL_checktensor(L, 1);
        arg = 2;
    }
    lt_tensor *probs = ltL_checktensor(L, arg);
    lua_Integer n = luaL_checkinteger(L, arg + 1);
    int repl = lua_toboolean(L, arg + 2);
    if (res) lua_pushvalue(L, 1);
    else res = ltL_newtensor(L, LT_INT64);
    LT_TRY(L, "multinomial", lt_multinomial(res, probs, (int64_t)n, repl));
    LT_TRY(L, "multinomial", lt_binary_scalar(res, LT_OP_ADD, res, 1));  /* 1-based */
    return 1;
}

/* ---- in-place samplers, and their one-number forms -------------------------------------- */

/* A one-element tensor of dtype dt, filled by the caller's sampler; pushed (Lua owns it). */
static lt_tensor *scalar_box(lua_State *L, lt_dtype dt, const char *fname)
{
    lt_tensor *t = ltL_newtensor(L, dt);
    int64_t one = 1;
    if (lt_resize(t, 1, &one)) ltL_error(L, fname);
    return t;
}

static double first(const lt_tensor *t)
{
    int64_t i0 = 0;
    return lt_get(t, &i0);
}

static int l_uniform(lua_State *L)
{
    lt_tensor *t = ltL_totensor(L, 1);
    int a0 = t ? 2 : 1;
    double a = luaL_optnumber(L, a0, 0), b = luaL_optnumber(L, a0 + 1, 1);
    if (t) lua_pushvalue(L, 1);
    else t = scalar_box(L, LT_FLOAT64, "uniform");
    LT_TRY(L, "uniform", lt_rand_uniform(t, a, b));
    if (a0 == 1) lua_pushnumber(L, first(t));
    return 1;
}

static int l_normal(lua_State *L)
{
    lt_tensor *t = ltL_totensor(L, 1);
    int a0 = t ? 2 : 1;
    double mean = luaL_optnumber(L, a0, 0), std = luaL_optnumber(L, a0 + 1, 1);
    if (t) lua_pushvalue(L, 1);
    else t = scalar_box(L, LT_FLOAT64, "normal");
    LT_TRY(L, "normal", lt_rand_normal(t, mean, std));
    if (a0 == 1) lua_pushnumber(L, first(t));
    return 1;
}

static int l_bernoulli(lua_State *L)
{
    lt_tensor *t = ltL_totensor(L, 1);
    int a0 = t ? 2 : 1;
    lt_tensor *pt = t ? ltL_totensor(L, 2) : NULL;
    double p = pt ? 0 : luaL_optnumber(L, a0, 0.5);
    if (t) lua_pushvalue(L, 1);
    else t = scalar_box(L, LT_INT64, "bernoulli");
    if (pt) LT_TRY(L, "bernoulli", lt_rand_bernoulli_tensor(t, pt));
    else LT_TRY(L, "bernoulli", lt_rand_bernoulli(t, p));
    if (a0 == 1) lua_pushinteger(L, (lua_Integer)first(t));
    return 1;
}

/* random(): the dtype's whole exact non-negative range, as Torch7 ([0, 2^24] for Float,
 * [0, 2^53] for Double, [0, 2^63-1] for Long, [0, 255] for Byte; a number: [0, 2^32-1]);
 * random(b): [1, b]; random(a, b): [a, b]. */
static int l_random(lua_State *L)
{
    lt_tensor *t = ltL_totensor(L, 1);
    int a0 = t ? 2 : 1;
    lua_Integer lo, hi;
    if (lua_isnoneornil(L, a0)) {
        lo = 0;
        hi = !t ? 4294967295LL
             : t->dtype == LT_FLOAT32 ? (1LL << 24)
             : t->dtype == LT_FLOAT64 ? (1LL << 53)
             : t->dtype == LT_INT64 ? LUA_MAXINTEGER : 255;
    } else if (lua_isnoneornil(L, a0 + 1)) {
        lo = 1;
        hi = luaL_checkinteger(L, a0);
    } else {
        lo = luaL_checkinteger(L, a0);
        hi = luaL_checkinteger(L, a0 + 1);
    }
    if (t) lua_pushvalue(L, 1);
    else t = scalar_box(L, LT_INT64, "random");
    LT_TRY(L, "random", lt_rand_int(t, (int64_t)lo, (int64_t)hi));
    if (a0 == 1) {
        int64_t i0 = 0;
        lua_pushinteger(L, (lua_Integer)lt_get_int(t, &i0));
    }
    return 1;
}

void lt_open_random(lua_State *L)
{
    static const ltL_Reg regs[] = {
        {"manualSeed", l_manualseed, LT_FN},
        {"seed", l_seed, LT_FN},
        {"initialSeed", l_initialseed, LT_FN},
        {"getRNGState", l_getrngstate, LT_FN},
        {"setRNGState", l_setrngstate, LT_FN},
        {"_philox", l_philox, LT_FN},
        {"_philox4x32", l_philox4x32, LT_FN},
        {"rand", l_rand, LT_FN},
        {"randn", l_randn, LT_FN},
        {"randperm", l_randperm, LT_FN},
        {"multinomial", l_multinomial, LT_FMW},
        {"uniform", l_uniform, LT_FMW},
        {"normal", l_normal, LT_FMW},
        {"bernoulli", l_bernoulli, LT_FMW},
        {"random", l_random, LT_FMW},
        {NULL, NULL, 0},
    };
    ltL_register(L, regs);
}
