/*
 * main.c — the luatorch executable: Lua 5.4 (linked statically) with the toolkit built in.
 *
 *   luatorch script.lua args...   run a script; the global `arg` is as in lua5.4
 *   luatorch -e 'code'            run code (several -e run in order)
 *   luatorch -i script.lua        run the script, then the interactive prompt
 *   luatorch -l mod               require mod into the global mod
 *   luatorch                      the interactive prompt (stdin not a terminal: run stdin)
 *   luatorch --help / --version   the usage (options, environment) / the version
 *   luatorch --install-kernel [--user]   registers the Jupyter kernel built beside it
 *
 * The prompt (lua/torch/repl.lua) edits lines with libedit, keeps a history file
 * (LUATORCH_HISTORY, default ~/.luatorch_history; LUATORCH_HISTSIZE lines, default 1000),
 * completes names with TAB and survives Ctrl-C.
 *
 * `torch` is a preloaded global. The usage text below is also the man page's (docs/luatorch.1),
 * which spec/00-exe_spec.lua keeps in step with it. The pure-Lua modules are embedded (tools/embed.lua) and
 * found by a package searcher placed right after the preload one, so the binary runs where
 * no Lua is installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <editline/readline.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "../include/luatorch.h"
#include "lt_exe.h"

#define LUATORCH_VERSION LUATORCH_VERSION_STRING  /* the public C API's (include/luatorch.h) */

static const char *progname = "luatorch";

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
    lua_pushcfunction(L, lt_exe_msghandler);
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

/* ---- the interactive prompt -------------------------------------------------------------
 * The loop itself is Lua (lua/torch/repl.lua: evaluation, printing, help, completion lists);
 * this file gives it the parts that need C: libedit's line editor and history file, the
 * completion hook, and SIGINT handling. At the prompt Ctrl-C clears the line (readline
 * returns early with EINTR); while a command runs (lt_exe_eval, lua/lt_exe.c, shared with the
 * Jupyter kernel), a hook raises "interrupted!" at the next Lua instruction, as lua.c does. */

static lua_State *repl_L;                 /* the state the completer runs in */
static volatile sig_atomic_t prompt_sigint;
static int use_editline;                  /* stdin is a terminal: libedit, prompts, history */
static char *history_path;                /* NULL: no history file */
static int completer_key;                 /* registry key of the Lua completion function */

static void on_sigint_prompt(int sig)
{
    (void)sig;
    prompt_sigint = 1;
}

/* No SA_RESTART: a read blocked at the prompt (or in a command's io.read) must return. */
static void set_sigint(void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

/* Completion: the Lua function gets the word before the cursor ("nn.Line", "t:ad") and returns
 * the full candidates; readline wants [common prefix, candidates..., NULL], malloc'd. */
static char **repl_complete(const char *text, int start, int end)
{
    (void)start, (void)end;
    rl_attempted_completion_over = 1;  /* never fall back to file names */
    lua_State *L = repl_L;
    if (!L) return NULL;
    int top = lua_gettop(L);
    char **m = NULL;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &completer_key);
    lua_pushstring(L, text);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_istable(L, -1)) goto done;
    lua_Integer n = luaL_len(L, -1);
    if (n <= 0 || n > 100000) goto done;
    m = calloc((size_t)n + 2, sizeof *m);
    if (!m) goto done;
    size_t common = SIZE_MAX;
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, -1, i);
        const char *c = lua_tostring(L, -1);
        m[i] = strdup(c ? c : "");
        lua_pop(L, 1);
        if (!m[i]) goto fail;
        size_t k = 0;
        while (k < common && m[1][k] && m[1][k] == m[i][k]) k++;
        if (common == SIZE_MAX || k < common) common = k;
    }
    if (n == 1) {        /* a unique match is the substitution itself */
        m[0] = m[1];
        m[1] = NULL;
    } else if (!(m[0] = strndup(m[1], common))) goto fail;
    goto done;
fail:
    for (lua_Integer i = 0; i <= n; i++) free(m[i]);
    free(m);
    m = NULL;
done:
    lua_settop(L, top);
    return m;
}

/* repl.readline(prompt [, completer]) -> line | nil (end of input) | false (Ctrl-C) */
static int repl_readline(lua_State *L)
{
    const char *prompt = luaL_optstring(L, 1, "");
    if (lua_isfunction(L, 2)) {
        lua_pushvalue(L, 2);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &completer_key);
    }
    prompt_sigint = 0;
    set_sigint(on_sigint_prompt);
    if (use_editline) {
        repl_L = L;
        char *line = readline(prompt);
        repl_L = NULL;
        if (line) lua_pushstring(L, line);
        else if (prompt_sigint) lua_pushboolean(L, 0);
        else lua_pushnil(L);
        free(line);
        return 1;
    }
    luaL_Buffer b;              /* not a terminal: plain lines, no prompt */
    luaL_buffinit(L, &b);
    int c = EOF, any = 0;
    while ((c = getchar()) != EOF && c != '\n') luaL_addchar(&b, (char)c), any = 1;
    if (c == EOF && !any) {
        int interrupted = prompt_sigint && ferror(stdin);
        clearerr(stdin);
        luaL_pushresult(&b);
        if (interrupted) lua_pushboolean(L, 0);
        else lua_pushnil(L);
        return 1;
    }
    luaL_pushresult(&b);
    return 1;
}

/* repl.addhistory(line): into the editor's history and the history file (bounded). */
static int repl_addhistory(lua_State *L)
{
    const char *line = luaL_checkstring(L, 1);
    if (!use_editline || !*line) return 0;
    HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
    if (last && last->line && strcmp(last->line, line) == 0) return 0;  /* no repeats */
    add_history(line);
    if (history_path && write_history(history_path) == 0) chmod(history_path, 0600);
    return 0;
}

static void history_open(void)
{
    const char *env = getenv("LUATORCH_HISTORY"), *home = getenv("HOME");
    const char *size = getenv("LUATORCH_HISTSIZE");
    long n = size && *size ? strtol(size, NULL, 10) : 1000;
    using_history();
    stifle_history(n > 0 && n < 1000000 ? (int)n : 1000);
    if (env) {
        if (*env) history_path = strdup(env);  /* LUATORCH_HISTORY= turns the file off */
    } else if (home && *home) {
        size_t len = strlen(home) + sizeof "/.luatorch_history";
        if ((history_path = malloc(len))) snprintf(history_path, len, "%s/.luatorch_history", home);
    }
    if (history_path) read_history(history_path);
}

/* Lua identifiers run across '.' and ':' so that "nn.Line" and "t:ad" are one word. */
static const char word_breaks[] = " \t\n\"\\'`@$><=;|&{}()[],+-*/%^~#";

static int repl(lua_State *L)
{
    use_editline = isatty(0);
    if (use_editline) {
        rl_readline_name = "luatorch";   /* ~/.editrc: "luatorch:bind ..." */
        rl_basic_word_break_characters = word_breaks;
        rl_completer_word_break_characters = (char *)(uintptr_t)word_breaks;
        rl_attempted_completion_function = repl_complete;
        rl_completion_append_character = '\0';
        history_open();
    }
    lua_getglobal(L, "require");
    lua_pushstring(L, "torch.repl");
    int status = docall(L, 1, 1);
    if (status == LUA_OK) {
        lua_getfield(L, -1, "run");
        static const luaL_Reg fns[] = {{"readline", repl_readline},
                                       {"addhistory", repl_addhistory},
                                       {"eval", lt_exe_eval},
                                       {NULL, NULL}};
        luaL_newlib(L, fns);
        lua_pushboolean(L, use_editline);
        lua_setfield(L, -2, "tty");
        lua_pushstring(L, history_path ? history_path : "");
        lua_setfield(L, -2, "historyfile");
        lua_pushstring(L, LUATORCH_VERSION);
        lua_setfield(L, -2, "version");
        status = docall(L, 1, 0);
        lua_remove(L, status == LUA_OK ? -1 : -2);  /* the module table */
    }
    signal(SIGINT, SIG_DFL);
    free(history_path);
    history_path = NULL;
    return report(L, status);
}

/* --help on stdout; after a wrong option, on stderr. The environment variables are every
 * one the toolkit reads (grep getenv): keep this list, and docs/luatorch.1's, complete. */
static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [options] [script [args]]\n"
            "Lua 5.4 with the luatorch deep learning toolkit built in: torch is a preloaded global;\n"
            "require 'nn', 'optim', 'datasets', 'transforms' (each sets its global too). With no\n"
            "script and no -e or -v, the interactive prompt (when stdin is not a terminal: runs stdin).\n"
            "\n"
            "Options:\n"
            "  -e stat        execute string 'stat'\n"
            "  -i             enter interactive mode after executing 'script'\n"
            "  -l mod         require library 'mod' into global 'mod'\n"
            "  -v, --version  show version information\n"
            "  --install-kernel [--user]\n"
            "                 register the Jupyter kernel (luatorch-kernel, built beside this\n"
            "                 executable) for all users (/usr/local/share/jupyter) or this user\n"
            "  -h, --help     show this help and exit\n"
            "  --             stop handling options\n"
            "  -              execute stdin and stop handling options\n"
            "\n"
            "Environment:\n"
            "  LUATORCH_DATA          directory of the bundled data sets (mnist-10k), searched first\n"
            "  LUATORCH_MNIST_MIRRORS, LUATORCH_FASHION_MNIST_MIRRORS\n"
            "                         download mirrors (URLs separated by spaces, commas or ;)\n"
            "  LUATORCH_HISTORY       the prompt's history file (default ~/.luatorch_history;\n"
            "                         empty: none)\n"
            "  LUATORCH_HISTSIZE      lines of history kept (default 1000)\n"
            "  LUATORCH_TIME          set and not 0: the prompt times each command (:time on)\n"
            "  LUATORCH_LSTM_KERNEL   GPU LSTM step: auto (default), fused or gemm\n"
            "  LUATORCH_CUDA_GRAPHS   0: recurrent layers on a GPU do not replay their loops from CUDA graphs\n"
            "  LUATORCH_CUBLAS        the cuBLAS library to load (default libcublas.so.13, .12, .so)\n"
            "  no_proxy, NO_PROXY     hosts downloads reach without a proxy (loopback always)\n"
            "  LUA_PATH, LUA_CPATH    Lua's module search paths (LUA_PATH_5_4, LUA_CPATH_5_4 first)\n"
            "  OMP_NUM_THREADS        the initial thread count (torch.setnumthreads changes it)\n"
            "  JUPYTER_DATA_DIR, XDG_DATA_HOME\n"
            "                         where --install-kernel --user writes (else ~/.local/share/jupyter)\n"
            "\n"
            "Documentation: help() at the prompt, docs/API.md, man luatorch.\n",
            progname);
}

/* --install-kernel [--user]: copies the kernelspec beside the executable into Jupyter's data
 * directory (lua/torch/jupyter.lua, install_kernel) */
static int install_kernel(lua_State *L, int user)
{
    luaL_openlibs(L);
    lt_exe_install_searcher(L);
    if (dorequire(L, "torch") != LUA_OK) return 0;
    lua_getglobal(L, "require");
    lua_pushstring(L, "torch.jupyter");
    if (report(L, docall(L, 1, 1)) != LUA_OK) return 0;
    lua_getfield(L, -1, "install_kernel");
    lua_pushnil(L);  /* the running executable */
    lua_pushboolean(L, user);
    if (report(L, docall(L, 2, 1)) != LUA_OK) return 0;
    printf("%s: the Jupyter kernel 'luatorch' is registered in %s\n", progname, lua_tostring(L, -1));
    lua_pushboolean(L, 1);
    return 1;
}

static int is_help(const char *a) { return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0; }
static int is_version(const char *a) { return strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0; }

static int pmain(lua_State *L)
{
    int argc = (int)lua_tointeger(L, 1);
    char **argv = lua_touserdata(L, 2);
    int interactive = 0, ran = 0, script = argc;
    int i;
    for (i = 1; i < argc; i++) {  /* first pass: find the script and validate options */
        const char *a = argv[i];
        if (a[0] != '-') break;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "-") == 0) break;
        if (is_help(a)) {  /* before anything loads: --help works even where torch cannot */
            usage(stdout);
            lua_pushboolean(L, 1);
            return 1;
        }
        if (strcmp(a, "--install-kernel") == 0) {
            int user = i + 1 < argc && strcmp(argv[i + 1], "--user") == 0;
            if (i + 1 + user < argc) {
                fprintf(stderr, "%s: --install-kernel takes only --user, got '%s'\n", progname,
                        argv[i + 1 + user]);
                usage(stderr);
                return 0;
            }
            return install_kernel(L, user);
        }
        if (strcmp(a, "-i") == 0 || is_version(a)) continue;
        if ((strcmp(a, "-e") == 0 || strcmp(a, "-l") == 0)) {
            if (++i >= argc) {
                fprintf(stderr, "%s: '%s' needs an argument\n", progname, a);
                usage(stderr);
                return 0;
            }
            continue;
        }
        fprintf(stderr, "%s: unrecognized option '%s'\n", progname, a);
        usage(stderr);
        return 0;
    }
    script = i;
    luaL_openlibs(L);
    lt_exe_install_searcher(L);
    if (dorequire(L, "torch") != LUA_OK) return 0;
    createargtable(L, argv, argc, script);
    for (i = 1; i < script; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-i") == 0) interactive = 1;
        else if (is_version(a)) printf("luatorch " LUATORCH_VERSION " (%s)\n", LUA_RELEASE), ran = 1;
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
        if (isatty(0) || interactive) {
            if (repl(L) != LUA_OK) return 0;
        } else {
            static char dash[] = "-";
            char *stdin_args[] = {dash};
            if (runscript(L, stdin_args, 1, 0) != LUA_OK) return 0;
        }
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* A script that ends in an error calls the registry's "luatorch.onfailure" (set by
 * require 'distributed' after dist.init(): MPI_Abort, so the other ranks do not wait in a
 * collective forever; lua_close would finalise MPI as after a clean run). */
static void on_failure(lua_State *L)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, "luatorch.onfailure") == LUA_TFUNCTION)
        lua_pcall(L, 0, 0, 0);
    lua_settop(L, 0);
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
    if (!ok) on_failure(L);
    lua_close(L);
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
