/*
 * lsys.c — small system helpers the Lua front needs: a monotonic clock (torch.Timer, the
 * benchmarks) and whether a stream is a terminal (progress bars draw only on a TTY).
 */
#include <limits.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "lt_lua.h"

/* torch.clock(): seconds on a monotonic clock */
static int sys_clock(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec * 1e-9);
    return 1;
}

/* torch.isatty([file = io.stdout]): a Lua file handle, or a descriptor number */
static int sys_isatty(lua_State *L)
{
    int fd;
    if (lua_isnoneornil(L, 1)) {
        fd = fileno(stdout);
    } else if (lua_isinteger(L, 1)) {
        lua_Integer n = lua_tointeger(L, 1);
        fd = n >= 0 && n <= INT_MAX ? (int)n : -1;  /* isatty(-1) is false */
    } else {
        luaL_Stream *p = luaL_checkudata(L, 1, LUA_FILEHANDLE);
        if (!p->closef || !p->f) return luaL_argerror(L, 1, "file is closed");
        fd = fileno(p->f);
    }
    lua_pushboolean(L, isatty(fd));
    return 1;
}

void lt_open_sys(lua_State *L)
{
    static const ltL_Reg regs[] = {{"clock", sys_clock, LT_FN}, {"isatty", sys_isatty, LT_FN},
                                   {NULL, NULL, 0}};
    ltL_register(L, regs);
}
