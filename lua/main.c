/*
 * main.c — the luatorch executable: Lua 5.4 (linked statically) with the toolkit built in.
 *
 *   luatorch script.lua args...   run a script; the global `arg` is as in lua5.4
 *   luatorch -e 'code'            run code (several -e run in order)
 *   luatorch -i script.lua        run the script, then the interactive prompt
 *   luatorch -l mod               require mod into the global mod
 *   luatorch                      the interactive prompt (stdin not a terminal: run stdin)
 *
 * `torch` is a preloaded global. The pure-Lua modules are embedded (tools/embed.lua) and
 * found by a package searcher placed right after the preload one, so the binary runs where
 * no Lua is installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

typedef struct { const char *name; const char *src; size_t len; } lt_embedded;
extern const lt_embedded lt_embedded_modules[];
int luaopen_torch_core(lua_State *L);

static const char *progname = "luatorch";

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

static void install_searcher(lua_State *L)
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

static int msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

static int report(lua_State *L, int status)
{
    if (status != LUA_OK) {
        fprintf(stderr, "%s: %s\n", progname, lua_tostring(L, -1));
        fflush(stderr);
        lua_pop(L, 1);
    }
    return status;
}

static int docall(lua_State *L, int narg, int nres)
{
    int base = lua_gettop(L) - narg;
    lua_pushcfunction(L, msghandler);
    lua_insert(L, base);
    int status = lua_pcall(L, narg, nres, base);
    lua_remove(L, base);
    return status;
}

static int dostring(lua_State *L, const char *s, const char *name)
{
    int status = luaL_loadbuffer(L, s, strlen(s), name);
    if (status == LUA_OK) status = docall(L, 0, 0);
    return report(L, status);
}

static int dorequire(lua_State *L, const char *name)
{
    lua_getglobal(L, "require");
    lua_pushstring(L, name);
    int status = docall(L, 1, 1);
    if (status == LUA_OK) lua_setglobal(L, name);
    return report(L, status);
}

/* arg table as lua.c builds it: arg[0] = script, negative indices = interpreter + options */
static void createargtable(lua_State *L, char **argv, int argc, int script)
{
    if (script == argc) script = 0;
    lua_createtable(L, argc - script, script + 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_seti(L, -2, i - script);
    }
    lua_setglobal(L, "arg");
}

static int runscript(lua_State *L, char **argv, int argc, int script)
{
    const char *fname = strcmp(argv[script], "-") == 0 ? NULL : argv[script];
    int status = luaL_loadfile(L, fname);
    if (status == LUA_OK) {
        int n = argc - script - 1;
        luaL_checkstack(L, n + 1, "too many arguments to script");
        for (int i = script + 1; i < argc; i++) lua_pushstring(L, argv[i]);
        status = docall(L, n, LUA_MULTRET);
    }
    return report(L, status);
}

/* ---- the interactive prompt (line editing and completion come with the REPL issue) ---- */

static int incomplete(lua_State *L, int status)
{
    if (status == LUA_ERRSYNTAX) {
        size_t lmsg;
        const char *msg = lua_tolstring(L, -1, &lmsg);
        if (lmsg >= 5 && strcmp(msg + lmsg - 5, "<eof>") == 0) {
            lua_pop(L, 1);
            return 1;
        }
    }
    return 0;
}

static void print_results(lua_State *L, int base)
{
    int n = lua_gettop(L) - base;
    if (n <= 0) return;
    lua_getglobal(L, "print");
    lua_insert(L, base + 1);
    if (lua_pcall(L, n, 0, 0) != LUA_OK) report(L, LUA_ERRRUN);
}

static void repl(lua_State *L)
{
    char line[4096];
    int tty = isatty(0);
    if (tty) printf("luatorch — Lua 5.4 with torch. Ctrl-D to quit.\n");
    for (;;) {
        int base = lua_gettop(L);
        if (tty) fputs("> ", stdout), fflush(stdout);
        if (!fgets(line, sizeof line, stdin)) break;
        lua_pushstring(L, line[0] == '=' ? line + 1 : line);
        /* first try it as an expression, so results print themselves */
        const char *code = lua_pushfstring(L, "return %s", lua_tostring(L, -1));
        int status = luaL_loadbuffer(L, code, strlen(code), "=stdin");
        if (status == LUA_OK) {
            lua_remove(L, -2);  /* the "return ..." string */
            lua_remove(L, -2);  /* the line */
        } else {
            lua_pop(L, 2);      /* error message and "return ..." */
            for (;;) {          /* a statement, possibly spanning lines */
                size_t len;
                const char *buf = lua_tolstring(L, -1, &len);
                status = luaL_loadbuffer(L, buf, len, "=stdin");
                if (!incomplete(L, status)) break;
                if (tty) fputs(">> ", stdout), fflush(stdout);
                if (!fgets(line, sizeof line, stdin)) break;
                lua_pushstring(L, line);
                lua_concat(L, 2);
            }
            lua_remove(L, -2);  /* the source text */
        }
        if (status == LUA_OK) status = docall(L, 0, LUA_MULTRET);
        if (status == LUA_OK) print_results(L, base);
        else report(L, status);
        lua_settop(L, base);
    }
    if (tty) putchar('\n');
}

static void usage(void)
{
    fprintf(stderr,
            "usage: %s [options] [script [args]]\n"
            "  -e stat   execute string 'stat'\n"
            "  -i        enter interactive mode after executing 'script'\n"
            "  -l mod    require library 'mod' into global 'mod'\n"
            "  -v        show version information\n"
            "  --        stop handling options\n"
            "  -         execute stdin and stop handling options\n",
            progname);
}

static int pmain(lua_State *L)
{
    int argc = (int)lua_tointeger(L, 1);
    char **argv = lua_touserdata(L, 2);
    int interactive = 0, ran = 0, script = argc;
    luaL_openlibs(L);
    install_searcher(L);
    if (dorequire(L, "torch") != LUA_OK) return 0;
    int i;
    for (i = 1; i < argc; i++) {  /* first pass: find the script and validate options */
        const char *a = argv[i];
        if (a[0] != '-') break;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "-") == 0) break;
        if (strcmp(a, "-i") == 0 || strcmp(a, "-v") == 0) continue;
        if ((strcmp(a, "-e") == 0 || strcmp(a, "-l") == 0)) {
            if (++i >= argc) {
                usage();
                return 0;
            }
            continue;
        }
        fprintf(stderr, "%s: unrecognized option '%s'\n", progname, a);
        usage();
        return 0;
    }
    script = i;
    createargtable(L, argv, argc, script);
    for (i = 1; i < script; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-i") == 0) interactive = 1;
        else if (strcmp(a, "-v") == 0) printf("luatorch 0.1.0 (%s)\n", LUA_RELEASE), ran = 1;
        else if (strcmp(a, "-e") == 0) {
            ran = 1;
            if (dostring(L, argv[++i], "=(command line)") != LUA_OK) return 0;
        } else if (strcmp(a, "-l") == 0) {
            if (dorequire(L, argv[++i]) != LUA_OK) return 0;
        }
    }
    if (script < argc) {
        if (runscript(L, argv, argc, script) != LUA_OK) return 0;
        ran = 1;
    }
    if (interactive || !ran) {
        if (isatty(0) || interactive) repl(L);
        else {
            static char dash[] = "-";
            char *stdin_args[] = {dash};
            if (runscript(L, stdin_args, 1, 0) != LUA_OK) return 0;
        }
    }
    lua_pushboolean(L, 1);
    return 1;
}

int main(int argc, char **argv)
{
    if (argv[0] && argv[0][0]) progname = argv[0];
    lua_State *L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "%s: cannot create state: not enough memory\n", progname);
        return EXIT_FAILURE;
    }
    lua_pushcfunction(L, pmain);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    int status = lua_pcall(L, 2, 1, 0);
    int ok = status == LUA_OK && lua_toboolean(L, -1);
    if (status != LUA_OK) report(L, status);
    lua_close(L);
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
