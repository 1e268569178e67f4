/*
 * lrnn.c — Lua binding of core/rnn.c, the building block of nn.RNN, nn.GRU, their cells and
 * nn.LSTM's bidirectional and variable-length forms (lua/nn/RNN.lua stacks the layers):
 *
 *   torch.rnnLayer(mode, x, h0, c0, weights [, reverse [, lengths [, workspace]]])
 *       -> y, h_n [, c_n]
 *       mode: "tanh", "relu", "gru" or "lstm"; x: T x B x I (time-major); h0, c0: B x H or
 *       nil (zeros; c0 for "lstm" only); weights: {w_ih, w_hh [, b_ih, b_hh]} in PyTorch's
 *       shapes; reverse: run from the last step to the first; lengths: a LongTensor of B
 *       lengths in [1, T] (steps past a length give 0 and leave the state as it was).
 *       One autograd node when an input requires grad. On the host or on one CUDA device
 *       (gpu/rnn.cu); the lengths may be a host tensor either way. workspace: a
 *       torch._rnnWorkspace() (one per layer and direction of a module): the call's buffers
 *       are reused from call to call at a fixed shape (on the host, recorded results are then
 *       views of them that the next call after the backward rewrites; on a CUDA device the
 *       loops replay from CUDA graphs, gpu/loop_graph.cu); without one each call allocates
 *       its own (and on a device launches step by step).
 *   torch._rnnWorkspace()     workspaces for one layer and direction (collected with it)
 */
#include <string.h>

#include "lt_lua.h"

#define RNN_WS_MT "torch.RNNWorkspace"

static int ws_gc(lua_State *L)
{
    lt_rnn_ws **box = luaL_checkudata(L, 1, RNN_WS_MT);
    lt_rnn_ws_free(*box);
    *box = NULL;
    return 0;
}

static int l_workspace(lua_State *L)
{
    lt_rnn_ws **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    luaL_setmetatable(L, RNN_WS_MT);
    *box = lt_rnn_ws_new();
    if (!*box) return ltL_error(L, "_rnnWorkspace");
    return 1;
}

static const char *const modes[] = {"tanh", "relu", "gru", "lstm", NULL};

static lt_tensor *opt_tensor(lua_State *L, int arg, const char *what)
{
    if (lua_isnoneornil(L, arg)) return NULL;
    lt_tensor *t = ltL_totensor(L, arg);
    if (!t) {
        lua_pushfstring(L, "%s must be a tensor or nil, got %s", what, luaL_typename(L, arg));
        luaL_argerror(L, arg, lua_tostring(L, -1));
    }
    return t;
}

static int l_rnn_layer(lua_State *L)
{
    const char *fname = "rnnLayer";
    int mode = luaL_checkoption(L, 1, NULL, modes);
    lt_tensor *x = ltL_checktensor(L, 2);
    lt_tensor *h0 = opt_tensor(L, 3, "h0");
    lt_tensor *c0 = opt_tensor(L, 4, "c0");
    luaL_checktype(L, 5, LUA_TTABLE);
    int reverse = lua_toboolean(L, 6);
    if (!lua_isnoneornil(L, 6)) luaL_checktype(L, 6, LUA_TBOOLEAN);
    lt_tensor *lengths = opt_tensor(L, 7, "lengths");
    lt_rnn_ws *ws = NULL;
    if (!lua_isnoneornil(L, 8)) {
        lt_rnn_ws **box = luaL_testudata(L, 8, RNN_WS_MT);
        if (!box || !*box)
            return luaL_argerror(L, 8, lua_pushfstring(L, "expected a torch._rnnWorkspace() or "
                                                          "nil, got %s", luaL_typename(L, 8)));
        ws = *box;
    }
    lua_Integer nw = luaL_len(L, 5);
    if (nw != 2 && nw != 4)
        return luaL_argerror(L, 5, lua_pushfstring(L, "expected {w_ih, w_hh [, b_ih, b_hh]}, "
                                                      "got %I tensors", nw));
    lt_tensor *w[4] = {NULL, NULL, NULL, NULL};
    for (int i = 0; i < nw; i++) {
        lua_geti(L, 5, i + 1);
        w[i] = ltL_totensor(L, -1);
        lua_pop(L, 1);  /* the table keeps it alive */
        if (!w[i])
            return luaL_argerror(L, 5, lua_pushfstring(L, "weight %d is not a tensor", i + 1));
    }
    lt_tensor *y, *hn, *cn = NULL;
    LT_TRY(L, fname, lt_rnn_layer(mode, reverse, x, h0, c0, w, lengths, ws, &y, &hn,
                                  mode == LT_RNN_LSTM ? &cn : NULL));
    ltL_pushtensor(L, y, fname);
    ltL_pushtensor(L, hn, fname);
    if (!cn) return 2;
    ltL_pushtensor(L, cn, fname);
    return 3;
}

void lt_open_rnn(lua_State *L)
{
    if (luaL_newmetatable(L, RNN_WS_MT)) {
        lua_pushcfunction(L, ws_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    static const ltL_Reg regs[] = {
        {"rnnLayer", l_rnn_layer, LT_FN},
        {"_rnnWorkspace", l_workspace, LT_FN},
        {NULL, NULL, 0},
    };
    ltL_register(L, regs);
}
