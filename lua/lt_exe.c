/*
 * lt_exe.c — the parts of an embedding program shared by the luatorch executable (lua/main.c)
 * and the Jupyter kernel (jupyter/kernel.cpp): see lt_exe.h. Linked into those two only (the
 * Makefile keeps it out of torch/core.so, which a stock lua5.4 loads).
 */
#include <signal.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "lt_exe.h"

typedef struct { const char *name; const char *src; size_t len; } lt_embedded;
extern const lt_embedded lt_embedded_modules[];
int luaopen_torch_core(lua_State *L);

static int search_embedded(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    for (const lt_embedded *m = lt_embedded_modules; m->name; m++) {
        if (strcmp(m->name, name)) continue;
        const char *chunk = lua_pushfstring(L, "@[luatorch]/%s.lua", name);
        if (luaL_loadbuffer(L, m->src, m->len, chunk) != LUA_OK)
            return luaL_error(L, "error loading embedded module '%s':\n\t%s", name,
                              lua_tostring(L, -1));
        lua_pushstring(L, chunk + 1);
        return 2;
    }
    lua_pushfstring(L, "no embedded module '%s'", name);
    return 1;
}

void lt_exe_install_searcher(lua_State *L)
{
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, luaopen_torch_core);
    lua_setfield(L, -2, "torch.core");
    lua_pop(L, 1);
    lua_getfield(L, -1, "searchers");
    lua_Integer n = luaL_len(L, -1);
    for (lua_Integer i = n; i >= 2; i--) {  /* shift to make room at position 2 */
        lua_geti(L, -1, i);
        lua_seti(L, -2, i + 1);
    }
    lua_pushcfunction(L, search_embedded);
    lua_seti(L, -2, 2);
    lua_pop(L, 2);
}

int lt_exe_msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* ---- interrupting a running call (as lua.c does): the SIGINT handler sets a hook, which
 * raises the error from inside the Lua code at its next instruction. */
static lua_State *eval_L;
static volatile sig_atomic_t eval_sigints;

static void lstop(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted!");
}

static void on_sigint_eval(int sig)
{
    if (++eval_sigints >= 3) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    if (eval_L) lua_sethook(eval_L, lstop, LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT, 1);
}

int lt_exe_eval(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    int narg = lua_gettop(L) - 1;
    lua_pushcfunction(L, lt_exe_msghandler);
    lua_insert(L, 1);
    /* No SA_RESTART: a read blocked in the command (io.read) must return. */
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint_eval;
    sigemptyset(&sa.sa_mask);
    lua_State *outer = eval_L;   /* eval inside eval (a nested prompt) keeps the outer state */
    eval_L = L;
    eval_sigints = 0;
    sigaction(SIGINT, &sa, &old);
    int status = lua_pcall(L, narg, LUA_MULTRET, 1);
    sigaction(SIGINT, &old, NULL);
    if (lua_gethook(L) == lstop) lua_sethook(L, NULL, 0, 0);  /* a SIGINT after the end */
    eval_L = outer;
    lua_pushboolean(L, status == LUA_OK);
    lua_replace(L, 1);
    return lua_gettop(L);
}
