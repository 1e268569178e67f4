/*
 * ldownload.c — Lua bindings of datasets/download.c, used by lua/datasets/download.lua:
 *
 *   torch._download(url, path [, md5 [, opts]]) -> md5hex, nbytes  |  nil, message
 *       opts: connectTimeout (s), lowSpeedLimit (bytes/s), lowSpeedTime (s), timeout (s),
 *             progress (true: a bar when stderr is a TTY (default); false; 'always'), label
 *   torch._md5file(path) -> md5hex, nbytes  |  nil, message
 *   torch._mkdirs(dir) -> true  |  nil, message          (mkdir -p)
 *
 * A failed download is an expected outcome (a mirror is down), so it is returned as
 * nil + message, io.open style, for the caller to try the next mirror; bad arguments raise.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../datasets/download.h"
#include "lt_lua.h"

static double opt_number(lua_State *L, int t, const char *k, double def)
{
    double v = def;
    lua_getfield(L, t, k);
    if (!lua_isnil(L, -1)) {
        if (!lua_isnumber(L, -1))
            luaL_error(L, "torch._download: opts.%s must be a number, got %s", k, luaL_typename(L, -1));
        v = lua_tonumber(L, -1);
        if (!(v >= 0))
            luaL_error(L, "torch._download: opts.%s must be >= 0", k);
    }
    lua_pop(L, 1);
    return v;
}

static int l_download(lua_State *L)
{
    const char *url = luaL_checkstring(L, 1);
    const char *path = luaL_checkstring(L, 2);
    const char *md5 = luaL_optstring(L, 3, NULL);
    lt_download_opts o;
    lt_download_defaults(&o);
    if (!lua_isnoneornil(L, 4)) {
        luaL_checktype(L, 4, LUA_TTABLE);
        o.connect_timeout = opt_number(L, 4, "connectTimeout", o.connect_timeout);
        o.low_speed_limit = (long)opt_number(L, 4, "lowSpeedLimit", (double)o.low_speed_limit);
        o.low_speed_time  = (long)opt_number(L, 4, "lowSpeedTime", (double)o.low_speed_time);
        o.timeout         = opt_number(L, 4, "timeout", o.timeout);
        lua_getfield(L, 4, "progress");
        if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "always") == 0)
            o.progress = 2;
        else if (lua_isboolean(L, -1))
            o.progress = lua_toboolean(L, -1);
        else if (!lua_isnil(L, -1))
            return luaL_error(L, "torch._download: opts.progress must be a boolean or 'always'");
        lua_pop(L, 1);
        lua_getfield(L, 4, "label");       /* stays on the stack: o.label points into it */
        o.label = lua_isnil(L, -1) ? NULL : luaL_checkstring(L, -1);
    }
    char got[33];
    int64_t n = 0;
    if (lt_download(url, path, md5, &o, got, &n) != LT_OK) {
        lua_pushnil(L);
        lua_pushstring(L, lt_errmsg());
        return 2;
    }
    lua_pushstring(L, got);
    lua_pushinteger(L, (lua_Integer)n);
    return 2;
}

static int l_md5file(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    char got[33];
    int64_t n = 0;
    if (lt_md5_file(path, got, &n) != LT_OK) {
        lua_pushnil(L);
        lua_pushstring(L, lt_errmsg());
        return 2;
    }
    lua_pushstring(L, got);
    lua_pushinteger(L, (lua_Integer)n);
    return 2;
}

static int l_mkdirs(lua_State *L)
{
    size_t len;
    const char *dir = luaL_checklstring(L, 1, &len);
    char *p = lua_newuserdatauv(L, len + 1, 0);     /* scratch copy, collected by Lua */
    memcpy(p, dir, len + 1);
    /* Create each prefix ending before a '/', then the whole path. */
    for (size_t i = 1; i <= len; i++) {
        if (i < len && p[i] != '/') continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            int e = errno;
            lua_pushnil(L);
            lua_pushfstring(L, "cannot create directory %s: %s", p, strerror(e));
            return 2;
        }
        p[i] = c;
    }
    struct stat st;
    int bad = stat(dir, &st) != 0 ? errno : (!S_ISDIR(st.st_mode) ? ENOTDIR : 0);
    if (bad) {
        lua_pushnil(L);
        lua_pushfstring(L, "cannot create directory %s: %s", dir, strerror(bad));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

void lt_open_download(lua_State *L)
{
    static const ltL_Reg regs[] = {
        { "_download", l_download, LT_FN },
        { "_mkdirs", l_mkdirs, LT_FN },
        { "_md5file", l_md5file, LT_FN },
        { NULL, NULL, 0 },
    };
    ltL_register(L, regs);
}
