/*
 * llstm.c — Lua bindings of the fused LSTM (core/lstm.c), used by nn.LSTM and nn.LSTMCell:
 *
 *   torch.lstm(x, h0, c0, weights [, opts]) -> output, h_n, c_n
 *       x: T x B x I (B x T x I with opts.batchFirst); h0, c0: L x B x H or nil (zeros);
 *       weights: {w_ih_l0, w_hh_l0, b_ih_l0, b_hh_l0, w_ih_l1, ...} (PyTorch's shapes; without
 *       the biases when opts.bias == false); opts: numLayers (1), batchFirst (false),
 *       bias (true), dropout (0), train (true), workspace (a torch._lstmWorkspace(), whose
 *       buffers are reused from call to call).
 *   torch.lstmCell(x, h, c, w_ih, w_hh [, b_ih, b_hh]) -> h', c'   (h, c may be nil)
 *   torch._lstmWorkspace()        workspaces for one module (collected with it)
 *   torch._gemmTrace(fn)          runs fn, returns the GEMMs the recurrent layers issued
 *                                 (core/lstm.c and core/rnn.c; each at its full shape):
 *                                 {{m=, n=, k=, ta=, tb=, beta=, double=}, ...}
 *   torch._gemmReplay(list [, reps [, cpu]])  those GEMMs as bare BLAS calls: best seconds of
 *                                 reps (of process CPU time when cpu is true, else wall time;
 *                                 on wall time at torch.getnumthreads() threads, each running
 *                                 its share of every call's rows with no synchronisation)
 *   torch._blasCorename()         the kernel set OpenBLAS picked for this CPU
 *   torch._lstmGraphs([on])       CUDA graphs for the device time loops (gpu/loop_graph.cu:
 *                                 nn.LSTM's, and nn.GRU's / nn.RNN's / the bidirectional
 *                                 and variable-length LSTM's of gpu/rnn.cu): sets
 *                                 them on / off when given a boolean (nil: leave them;
 *                                 "env": back to LUATORCH_CUDA_GRAPHS), returns the setting
 *   torch._lstmKernel([mode])     the device time loops' per-step kernels (gpu/lstm.cu):
 *                                 "fused" (one kernel per step, the recurrent products in
 *                                 it), "gemm" (a cuBLAS GEMM + a pointwise kernel per step),
 *                                 "auto" (fused for H <= 256), "env" (back to
 *                                 LUATORCH_LSTM_KERNEL), nil (leave it); returns the mode in
 *                                 force ("auto" without CUDA)
 *   torch._lstmGraphStats([kind]) {captures=, replays=, stepwise=, repeats=, fused=}: loops
 *                                 captured into a graph, replayed from one, launched step by
 *                                 step; loops whose graph key held still since their last
 *                                 run; fused: loops (forward or backward, any path) that
 *                                 ran the fused kernels (all 0 without CUDA); of every
 *                                 layer kind summed, or of one: "lstm" (nn.LSTM's fused
 *                                 stack, gpu/lstm.cu), "lstmLayer" (gpu/rnn.cu's LSTM:
 *                                 bidirectional, lengths), "gru", "rnn" (tanh / relu)
 *
 * Both record one autograd node when an input requires grad. With every tensor on one CUDA
 * device they run there (core/lstm.c routes to gpu/lstm.cu); a mix of devices is an error.
 */
#include <stdlib.h>
#include <string.h>

#include "lt_lua.h"
#ifdef LT_HAVE_CUDA
#include "../gpu/lt_gpu.h"
#endif

#define LSTM_WS_MT "torch.LSTMWorkspace"

static int ws_gc(lua_State *L)
{
    lt_lstm **box = luaL_checkudata(L, 1, LSTM_WS_MT);
    lt_lstm_free(*box);
    *box = NULL;
    return 0;
}

static int l_workspace(lua_State *L)
{
    lt_lstm **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    luaL_setmetatable(L, LSTM_WS_MT);
    *box = lt_lstm_new();
    if (!*box) return ltL_error(L, "_lstmWorkspace");
    return 1;
}

static lt_tensor *opttensor(lua_State *L, int arg, const char *fname, const char *what)
{
    if (lua_isnoneornil(L, arg)) return NULL;
    lt_tensor *t = ltL_totensor(L, arg);
    if (!t)
        luaL_error(L, "%s: %s must be a tensor or nil (argument #%d), got %s", fname, what, arg,
                   luaL_typename(L, arg));
    return t;
}

static int optfield(lua_State *L, int opts, const char *key, int type)
{
    if (opts == 0) return 0;
    int t = lua_getfield(L, opts, key);
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    if (t != type)
        luaL_error(L, "lstm: option %s must be a %s, got %s", key, lua_typename(L, type),
                   luaL_typename(L, -1));
    return 1;  /* the value is on the stack */
}

/* torch.lstm(x, h0, c0, weights [, opts]) */
static int l_lstm(lua_State *L)
{
    const char *fname = "lstm";
    lt_tensor *x = ltL_totensor(L, 1);
    if (!x)
        return luaL_error(L, "%s: input tensor expected (argument #1), got %s", fname,
                          luaL_typename(L, 1));
    lt_tensor *h0 = opttensor(L, 2, fname, "h0");
    lt_tensor *c0 = opttensor(L, 3, fname, "c0");
    luaL_checktype(L, 4, LUA_TTABLE);
    int opts = lua_istable(L, 5) ? 5 : 0;
    if (!opts && !lua_isnoneornil(L, 5)) luaL_checktype(L, 5, LUA_TTABLE);
    lt_lstm_opts o = {1, 0, 0.0, 1};
    int bias = 1;
    lt_lstm *ws = NULL;
    if (optfield(L, opts, "numLayers", LUA_TNUMBER)) {
        if (!lua_isinteger(L, -1)) return luaL_error(L, "%s: numLayers must be an integer", fname);
        lua_Integer nl = lua_tointeger(L, -1);
        if (nl < 1 || nl > 64) return luaL_error(L, "%s: numLayers must be in [1, 64], got %I", fname, nl);
        o.num_layers = (int)nl;
        lua_pop(L, 1);
    }
    if (optfield(L, opts, "batchFirst", LUA_TBOOLEAN)) o.batch_first = lua_toboolean(L, -1), lua_pop(L, 1);
    if (optfield(L, opts, "bias", LUA_TBOOLEAN)) bias = lua_toboolean(L, -1), lua_pop(L, 1);
    if (optfield(L, opts, "train", LUA_TBOOLEAN)) o.train = lua_toboolean(L, -1), lua_pop(L, 1);
    if (optfield(L, opts, "dropout", LUA_TNUMBER)) o.dropout = lua_tonumber(L, -1), lua_pop(L, 1);
    if (opts && lua_getfield(L, opts, "workspace") != LUA_TNIL) {
        lt_lstm **box = luaL_testudata(L, -1, LSTM_WS_MT);
        if (!box || !*box) return luaL_error(L, "%s: workspace must be a torch._lstmWorkspace()", fname);
        ws = *box;  /* the opts table keeps it alive during the call */
    }
    lua_settop(L, 5);
    int per = bias ? 4 : 2, n = per * o.num_layers;
    if ((int)luaL_len(L, 4) != n)
        return luaL_error(L, "%s: expected %d weight tensors (%d layers%s), got %d", fname, n,
                          o.num_layers, bias ? " with biases" : ", no biases", (int)luaL_len(L, 4));
    lt_tensor *wts[4 * 64];
    for (int l = 0; l < o.num_layers; l++)
        for (int k = 0; k < 4; k++) {
            lt_tensor *t = NULL;
            if (k < per) {
                lua_geti(L, 4, l * per + k + 1);
                t = ltL_totensor(L, -1);
                lua_pop(L, 1);  /* the table keeps it alive */
                if (!t) return luaL_error(L, "%s: weight %d is not a tensor", fname, l * per + k + 1);
            }
            wts[4 * l + k] = t;
        }
    lt_tensor *out, *hn, *cn;
    LT_TRY(L, fname, lt_lstm_forward(ws, &o, x, h0, c0, wts, bias, &out, &hn, &cn));
    ltL_pushtensor(L, out, fname);
    ltL_pushtensor(L, hn, fname);
    ltL_pushtensor(L, cn, fname);
    return 3;
}

/* torch.lstmCell(x, h, c, w_ih, w_hh [, b_ih, b_hh]) */
static int l_lstm_cell(lua_State *L)
{
    const char *fname = "lstmCell";
    lt_tensor *x = ltL_totensor(L, 1);
    if (!x)
        return luaL_error(L, "%s: input tensor expected (argument #1), got %s", fname,
                          luaL_typename(L, 1));
    lt_tensor *h = opttensor(L, 2, fname, "h");
    lt_tensor *c = opttensor(L, 3, fname, "c");
    lt_tensor *wih = ltL_checktensor(L, 4), *whh = ltL_checktensor(L, 5);
    lt_tensor *bih = opttensor(L, 6, fname, "b_ih"), *bhh = opttensor(L, 7, fname, "b_hh");
    lt_tensor *h1, *c1;
    LT_TRY(L, fname, lt_lstm_cell(x, h, c, wih, whh, bih, bhh, &h1, &c1));
    ltL_pushtensor(L, h1, fname);
    ltL_pushtensor(L, c1, fname);
    return 2;
}

/* torch._gemmTrace(fn) */
static int l_gemm_trace(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    lt_gemm_trace_start();
    int status = lua_pcall(L, 0, 0, 0);
    lt_gemm_call *calls;
    int n;
    lt_gemm_trace_stop(&calls, &n);
    if (status != LUA_OK) {
        free(calls);
        return lua_error(L);
    }
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_createtable(L, 0, 7);
        lua_pushinteger(L, calls[i].m), lua_setfield(L, -2, "m");
        lua_pushinteger(L, calls[i].n), lua_setfield(L, -2, "n");
        lua_pushinteger(L, calls[i].k), lua_setfield(L, -2, "k");
        lua_pushboolean(L, calls[i].ta), lua_setfield(L, -2, "ta");
        lua_pushboolean(L, calls[i].tb), lua_setfield(L, -2, "tb");
        lua_pushnumber(L, calls[i].beta), lua_setfield(L, -2, "beta");
        lua_pushboolean(L, calls[i].dtype == LT_FLOAT64), lua_setfield(L, -2, "double");
        lua_seti(L, -2, i + 1);
    }
    free(calls);
    return 1;
}

/* torch._gemmReplay(list [, reps [, cpu]]) */
static int l_gemm_replay(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer reps = luaL_optinteger(L, 2, 5);
    luaL_argcheck(L, reps >= 1 && reps <= 1000000, 2, "repetitions must be between 1 and 10^6");
    int cpu_clock = lua_toboolean(L, 3);  /* read before the stack grows past the arguments */
    int n = (int)luaL_len(L, 1);
    lt_gemm_call *calls = lua_newuserdatauv(L, (size_t)(n > 0 ? n : 1) * sizeof *calls, 0);
    for (int i = 0; i < n; i++) {
        lua_geti(L, 1, i + 1);
        luaL_checktype(L, -1, LUA_TTABLE);
        lua_getfield(L, -1, "m"), calls[i].m = luaL_checkinteger(L, -1), lua_pop(L, 1);
        lua_getfield(L, -1, "n"), calls[i].n = luaL_checkinteger(L, -1), lua_pop(L, 1);
        lua_getfield(L, -1, "k"), calls[i].k = luaL_checkinteger(L, -1), lua_pop(L, 1);
        lua_getfield(L, -1, "ta"), calls[i].ta = lua_toboolean(L, -1), lua_pop(L, 1);
        lua_getfield(L, -1, "tb"), calls[i].tb = lua_toboolean(L, -1), lua_pop(L, 1);
        lua_getfield(L, -1, "beta"), calls[i].beta = luaL_optnumber(L, -1, 0), lua_pop(L, 1);
        lua_getfield(L, -1, "double");
        calls[i].dtype = lua_toboolean(L, -1) ? LT_FLOAT64 : LT_FLOAT32;
        lua_pop(L, 2);
        if (calls[i].m < 0 || calls[i].n < 0 || calls[i].k < 0 || calls[i].m > (1 << 30) ||
            calls[i].n > (1 << 30) || calls[i].k > (1 << 30))
            return luaL_error(L, "_gemmReplay: bad sizes in entry %d", i + 1);
    }
    double best;
    LT_TRY(L, "_gemmReplay", lt_gemm_replay(calls, n, reps, cpu_clock, &best));
    lua_pushnumber(L, best);
    return 1;
}

static int l_blas_corename(lua_State *L)
{
    lua_pushstring(L, lt_blas_corename());
    return 1;
}

/* torch._lstmGraphs([on | "env"]) */
static int l_lstm_graphs(lua_State *L)
{
#ifdef LT_HAVE_CUDA
    if (lua_isboolean(L, 1)) lt_gpu_loop_set_graphs(lua_toboolean(L, 1));
    else if (lua_type(L, 1) == LUA_TSTRING && !strcmp(lua_tostring(L, 1), "env"))
        lt_gpu_loop_set_graphs(-1);
    else if (!lua_isnoneornil(L, 1))
        return luaL_error(L, "_lstmGraphs: expected a boolean, \"env\" or nothing, got %s",
                          luaL_typename(L, 1));
    lua_pushboolean(L, lt_gpu_loop_graphs());
#else
    lua_pushboolean(L, 0);
#endif
    return 1;
}

/* torch._lstmKernel([mode | "env"]) */
static int l_lstm_kernel(lua_State *L)
{
    const char *s = luaL_optstring(L, 1, NULL);
#ifdef LT_HAVE_CUDA
    if (s && !strcmp(s, "env")) {
        lt_gpu_lstm_set_kernel(-1);
    } else if (s) {
        int m = lt_gpu_lstm_kernel_of(s);
        if (m < 0)
            return luaL_error(L, "_lstmKernel: expected \"fused\", \"gemm\", \"auto\", \"env\" "
                                 "or nothing, got \"%s\"", s);
        lt_gpu_lstm_set_kernel(m);
    }
    lua_pushstring(L, lt_gpu_lstm_kernel_name(lt_gpu_lstm_kernel()));
#else
    if (s && strcmp(s, "env") && strcmp(s, "fused") && strcmp(s, "gemm") && strcmp(s, "auto"))
        return luaL_error(L, "_lstmKernel: expected \"fused\", \"gemm\", \"auto\", \"env\" "
                             "or nothing, got \"%s\"", s);
    lua_pushstring(L, "auto");
#endif
    return 1;
}

/* torch._lstmGraphStats([kind]): the counters of every kind summed, or of one kind */
static int l_lstm_graph_stats(lua_State *L)
{
    static const char *const kinds[] = {"lstm", "lstmLayer", "gru", "rnn", NULL};
    int kind = lua_isnoneornil(L, 1) ? -1 : luaL_checkoption(L, 1, NULL, kinds);
    int64_t c = 0, r = 0, s = 0, k = 0, fu = 0;
#ifdef LT_HAVE_CUDA
    lt_gpu_loop_stats a = lt_gpu_loop_graph_stats(kind);
    c = a.captures, r = a.replays, s = a.stepwise, k = a.repeats;
    fu = kind < 0 || kind == LT_GPU_LOOP_LSTM ? lt_gpu_lstm_fused_loops() : 0;
#else
    (void)kind;  /* (checked: a bad name is an error without CUDA too) */
#endif
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, c), lua_setfield(L, -2, "captures");
    lua_pushinteger(L, r), lua_setfield(L, -2, "replays");
    lua_pushinteger(L, s), lua_setfield(L, -2, "stepwise");
    lua_pushinteger(L, k), lua_setfield(L, -2, "repeats");
    lua_pushinteger(L, fu), lua_setfield(L, -2, "fused");
    return 1;
}

void lt_open_lstm(lua_State *L)
{
    if (luaL_newmetatable(L, LSTM_WS_MT)) {
        lua_pushcfunction(L, ws_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    static const ltL_Reg regs[] = {
        {"lstm", l_lstm, LT_FN},
        {"lstmCell", l_lstm_cell, LT_FN},
        {"_lstmWorkspace", l_workspace, LT_FN},
        {"_gemmTrace", l_gemm_trace, LT_FN},
        {"_gemmReplay", l_gemm_replay, LT_FN},
        {"_blasCorename", l_blas_corename, LT_FN},
        {"_lstmGraphs", l_lstm_graphs, LT_FN},
        {"_lstmGraphStats", l_lstm_graph_stats, LT_FN},
        {"_lstmKernel", l_lstm_kernel, LT_FN},
        {NULL, NULL, 0},
    };
    ltL_register(L, regs);
}
