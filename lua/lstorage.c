/*
 * lstorage.c — torch.FloatStorage / DoubleStorage / LongStorage / ByteStorage /
 * BFloat16Storage: the flat,
 * 1-based Lua view of a core storage. t:size() returns a LongStorage, as in Torch7.
 */
#include <stdio.h>
#include <string.h>

#include "lt_lua.h"
#include "../core/bf16.h"

static const char *storage_names[LT_NDTYPES] = {"torch.FloatStorage", "torch.DoubleStorage",
                                                "torch.LongStorage", "torch.ByteStorage",
                                                "torch.BFloat16Storage"};

static lt_storage *checkstorage(lua_State *L, int arg)
{
    lt_storage **box = luaL_checkudata(L, arg, LT_STORAGE_MT);
    if (!*box) luaL_argerror(L, arg, "storage was freed");
    return *box;
}

/* Pushes a userdata holding one reference to s (taken over from the caller). */
static void pushstorage(lua_State *L, lt_storage *s)
{
    lt_storage **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = s;
    luaL_setmetatable(L, LT_STORAGE_MT);
    ltL_account(L);
}

void ltL_pushstorage(lua_State *L, lt_storage *s)
{
    lt_storage_retain(s);
    pushstorage(L, s);
}

lt_storage *ltL_checkstorage(lua_State *L, int arg) { return checkstorage(L, arg); }

static void setnum(lt_storage *s, int64_t i, lua_State *L, int arg)
{
    switch (s->dtype) {
    case LT_FLOAT32: ((float *)s->data)[i] = (float)luaL_checknumber(L, arg); break;
    case LT_FLOAT64: ((double *)s->data)[i] = luaL_checknumber(L, arg); break;
    case LT_INT64: ((int64_t *)s->data)[i] = luaL_checkinteger(L, arg); break;
    case LT_UINT8: {
        lua_Integer v = luaL_checkinteger(L, arg);
        luaL_argcheck(L, v >= 0 && v <= 255, arg, "value out of range for a ByteStorage");
        ((uint8_t *)s->data)[i] = (uint8_t)v;
        break;
    }
    case LT_BFLOAT16:  /* rounded to float, then to nearest even, as the tensor copies */
        ((lt_bf16 *)s->data)[i] = lt_f32_to_bf16((float)luaL_checknumber(L, arg));
        break;
    default: break;
    }
    s->version++;
}

static void pushnum(lua_State *L, const lt_storage *s, int64_t i)
{
    switch (s->dtype) {
    case LT_FLOAT32: lua_pushnumber(L, ((float *)s->data)[i]); break;
    case LT_FLOAT64: lua_pushnumber(L, ((double *)s->data)[i]); break;
    case LT_INT64: lua_pushinteger(L, ((int64_t *)s->data)[i]); break;
    case LT_UINT8: lua_pushinteger(L, ((uint8_t *)s->data)[i]); break;
    case LT_BFLOAT16: lua_pushnumber(L, lt_bf16_to_f32(((lt_bf16 *)s->data)[i])); break;
    default: lua_pushnil(L);
    }
}

/* torch.<T>Storage([n | table]) */
static int storage_new(lua_State *L)
{
    lt_dtype dt = (lt_dtype)lua_tointeger(L, lua_upvalueindex(1));
    int64_t n = 0;
    int from_table = lua_istable(L, 1);
    if (from_table) n = (int64_t)luaL_len(L, 1);
    else if (!lua_isnoneornil(L, 1)) n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 0, 1, "size must be non-negative");
    lt_storage *s = lt_storage_new(dt, n);
    if (!s) return ltL_error(L, storage_names[dt]);
    pushstorage(L, s);
    for (int64_t i = 0; from_table && i < n; i++) {
        lua_geti(L, 1, i + 1);
        /* checked here: setnum's argument checks would name the stack slot (#-1) */
        int real = dt == LT_FLOAT32 || dt == LT_FLOAT64 || dt == LT_BFLOAT16;
        int ok = real ? lua_type(L, -1) == LUA_TNUMBER
                 : lua_isinteger(L, -1) && (dt != LT_UINT8 || (lua_tointeger(L, -1) >= 0 &&
                                                               lua_tointeger(L, -1) <= 255));
        if (!ok) {
            const char *want = dt == LT_UINT8 ? "an integer from 0 to 255"
                               : dt == LT_INT64 ? "an integer" : "a number";
            if (lua_type(L, -1) == LUA_TNUMBER)
                return luaL_error(L, "%s: element %d of the table must be %s, got %f",
                                  storage_names[dt], (int)(i + 1), want, lua_tonumber(L, -1));
            return luaL_error(L, "%s: element %d of the table must be %s, got %s",
                              storage_names[dt], (int)(i + 1), want, luaL_typename(L, -1));
        }
        setnum(s, i, L, -1);
        lua_pop(L, 1);
    }
    return 1;
}

static int storage_index(lua_State *L)
{
    lt_storage *s = checkstorage(L, 1);
    if (lua_type(L, 2) == LUA_TNUMBER) {
        lua_Integer i = luaL_checkinteger(L, 2);
        luaL_argcheck(L, i >= 1 && i <= s->numel, 2, "index out of range");
        pushnum(L, s, i - 1);
        return 1;
    }
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "methods");
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
}

static int storage_newindex(lua_State *L)
{
    lt_storage *s = checkstorage(L, 1);
    lua_Integer i = luaL_checkinteger(L, 2);
    luaL_argcheck(L, i >= 1 && i <= s->numel, 2, "index out of range");
    setnum(s, i - 1, L, 3);
    return 0;
}

static int storage_len(lua_State *L)
{
    lua_pushinteger(L, checkstorage(L, 1)->numel);
    return 1;
}

static int storage_totable(lua_State *L)
{
    lt_storage *s = checkstorage(L, 1);
    lua_createtable(L, (int)s->numel, 0);
    for (int64_t i = 0; i < s->numel; i++) {
        pushnum(L, s, i);
        lua_seti(L, -2, i + 1);
    }
    return 1;
}

static int storage_fill(lua_State *L)
{
    lt_storage *s = checkstorage(L, 1);
    for (int64_t i = 0; i < s->numel; i++) setnum(s, i, L, 2);
    lua_settop(L, 1);
    return 1;
}

static int storage_type(lua_State *L)
{
    lua_pushstring(L, storage_names[checkstorage(L, 1)->dtype]);
    return 1;
}

/* One idempotent release for __gc, __close and :free(). */
static int storage_free(lua_State *L)
{
    lt_storage **box = luaL_checkudata(L, 1, LT_STORAGE_MT);
    lt_storage_release(*box);
    *box = NULL;
    return 0;
}

/* Two handles on one storage are equal: views compare their storages this way. */
static int storage_eq(lua_State *L)
{
    lt_storage **a = luaL_testudata(L, 1, LT_STORAGE_MT), **b = luaL_testudata(L, 2, LT_STORAGE_MT);
    lua_pushboolean(L, a && b && *a == *b);
    return 1;
}

static int storage_tostring(lua_State *L)
{
    lt_storage *s = checkstorage(L, 1);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    int64_t n = s->numel > 20 ? 20 : s->numel;
    for (int64_t i = 0; i < n; i++) {
        char num[64];
        if (s->dtype == LT_FLOAT32) snprintf(num, sizeof num, " %.6g\n", ((float *)s->data)[i]);
        else if (s->dtype == LT_FLOAT64) snprintf(num, sizeof num, " %.6g\n", ((double *)s->data)[i]);
        else if (s->dtype == LT_BFLOAT16)
            snprintf(num, sizeof num, " %.6g\n", (double)lt_bf16_to_f32(((lt_bf16 *)s->data)[i]));
        else if (s->dtype == LT_INT64)
            snprintf(num, sizeof num, " %lld\n", (long long)((int64_t *)s->data)[i]);
        else snprintf(num, sizeof num, " %d\n", ((uint8_t *)s->data)[i]);
        luaL_addstring(&b, num);
    }
    if (n < s->numel) luaL_addstring(&b, "...\n");
    lua_pushfstring(L, "[%s of size %I]", storage_names[s->dtype], (lua_Integer)s->numel);
    luaL_addvalue(&b);
    luaL_pushresult(&b);
    return 1;
}

void lt_open_storage(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"size", storage_len}, {"totable", storage_totable}, {"fill", storage_fill},
        {"type", storage_type}, {"free", storage_free}, {NULL, NULL}};
    static const luaL_Reg meta[] = {
        {"__index", storage_index}, {"__newindex", storage_newindex}, {"__len", storage_len},
        {"__gc", storage_free}, {"__close", storage_free}, {"__tostring", storage_tostring},
        {"__eq", storage_eq},
        {NULL, NULL}};
    luaL_newmetatable(L, LT_STORAGE_MT);
    luaL_setfuncs(L, meta, 0);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "methods");
    lua_pop(L, 1);
    static const char *ctor[LT_NDTYPES] = {"FloatStorage", "DoubleStorage", "LongStorage",
                                           "ByteStorage", "BFloat16Storage"};
    for (int dt = 0; dt < LT_NDTYPES; dt++) {
        lua_pushinteger(L, dt);
        lua_pushcclosure(L, storage_new, 1);
        lua_setfield(L, -3, ctor[dt]);
    }
}
