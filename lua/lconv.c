/*
 * lconv.c — Lua bindings of core/conv.c, the kernels behind nn's convolution, pooling and
 * batch-norm modules (lua/nn/conv.lua, lua/nn/norm.lua), which check their arguments and add
 * the batch dim of an unbatched input; these take batched N x C x H x W tensors:
 *
 *   torch._conv2d(x, w, bias|nil, sH, sW, padH, padW, dilH, dilW, groups) -> out
 *   torch._convTranspose2d(x, w, bias|nil, sH, sW, padH, padW, dilH, dilW, outPadH, outPadW,
 *                          groups) -> out
 *   torch._maxPool2d(x, kH, kW, sH, sW, padH, padW, dilH, dilW, ceil) -> out, indices (0-based
 *                          positions in each H x W plane)
 *   torch._avgPool2d(x, kH, kW, sH, sW, padH, padW, ceil, countIncludePad) -> out
 *   torch._adaptiveMaxPool2d(x, oH, oW) -> out, indices
 *   torch._adaptiveAvgPool2d(x, oH, oW) -> out
 *   torch._batchNorm(x, w|nil, b|nil, runningMean|nil, runningVar|nil, training, momentum,
 *                    eps) -> out   (the running statistics are updated in place in training)
 *   torch._convBackend([name]) -> the previous name, whether oneDNN is built in, how many
 *                          convolution directions it has run: 'auto' (per
 *                          shape, the default), 'im2col' or 'onednn' for every float32
 *                          convolution (tests, bench)
 *
 * Each records one autograd node when an input requires grad.
 */
#include <string.h>

#include "../core/conv_dnnl.h"
#include "lt_lua.h"

static lt_tensor *opt_tensor(lua_State *L, int arg)
{
    return lua_isnoneornil(L, arg) ? NULL : ltL_checktensor(L, arg);
}

static int64_t int_arg(lua_State *L, int arg)
{
    lua_Integer v = luaL_checkinteger(L, arg);
    luaL_argcheck(L, v >= -(1LL << 40) && v <= (1LL << 40), arg, "value out of range");
    return (int64_t)v;
}

static int conv(lua_State *L, int transposed)
{
    const char *fname = transposed ? "convTranspose2d" : "conv2d";
    lt_tensor *x = ltL_checktensor(L, 1), *w = ltL_checktensor(L, 2), *bias = opt_tensor(L, 3);
    lt_conv_params p;
    memset(&p, 0, sizeof p);
    int a = 4;
    for (int k = 0; k < 2; k++) p.stride[k] = int_arg(L, a++);
    for (int k = 0; k < 2; k++) p.padding[k] = int_arg(L, a++);
    for (int k = 0; k < 2; k++) p.dilation[k] = int_arg(L, a++);
    if (transposed)
        for (int k = 0; k < 2; k++) p.output_padding[k] = int_arg(L, a++);
    p.groups = int_arg(L, a);
    lt_tensor *out = ltL_newtensor(L, x->dtype);
    if (transposed) {
        LT_TRY(L, fname, lt_conv_transpose2d(out, x, w, bias, &p));
        LT_TRY(L, fname, lt_rec_conv_transpose2d(out, x, w, bias, &p));
    } else {
        LT_TRY(L, fname, lt_conv2d(out, x, w, bias, &p));
        LT_TRY(L, fname, lt_rec_conv2d(out, x, w, bias, &p));
    }
    return 1;
}

static int l_conv2d(lua_State *L) { return conv(L, 0); }
static int l_conv_transpose2d(lua_State *L) { return conv(L, 1); }

static int l_max_pool2d(lua_State *L)
{
    lt_tensor *x = ltL_checktensor(L, 1);
    lt_pool_params p;
    memset(&p, 0, sizeof p);
    int a = 2;
    for (int k = 0; k < 2; k++) p.kernel[k] = int_arg(L, a++);
    for (int k = 0; k < 2; k++) p.stride[k] = int_arg(L, a++);
    for (int k = 0; k < 2; k++) p.padding[k] = int_arg(L, a++);
    for (int k = 0; k < 2; k++) p.dilation[k] = int_arg(L, a++);
    p.ceil_mode = lua_toboolean(L, a);
    lt_tensor *out = ltL_newtensor(L, x->dtype), *idx = ltL_newtensor(L, LT_INT64);
    LT_TRY(L, "maxPool2d", lt_max_pool2d(out, idx, x, &p));
    LT_TRY(L, "maxPool2d", lt_rec_max_pool2d(out, x, idx));
    return 2;
}

static int l_avg_pool2d(lua_State *L)
{
    lt_tensor *x = ltL_checktensor(L, 1);
    lt_pool_params p;
    memset(&p, 0, sizeof p);
    int a = 2;
    for (int k = 0; k < 2; k++) p.kernel[k] = int_arg(L, a++);
    for (int k = 0; k < 2; k++) p.stride[k] = int_arg(L, a++);
    for (int k = 0; k < 2; k++) p.padding[k] = int_arg(L, a++);
    p.dilation[0] = p.dilation[1] = 1;
    p.ceil_mode = lua_toboolean(L, a++);
    p.count_include_pad = lua_toboolean(L, a);
    lt_tensor *out = ltL_newtensor(L, x->dtype);
    LT_TRY(L, "avgPool2d", lt_avg_pool2d(out, x, &p));
    LT_TRY(L, "avgPool2d", lt_rec_avg_pool2d(out, x, &p, 0));
    return 1;
}

static int l_adaptive_max_pool2d(lua_State *L)
{
    lt_tensor *x = ltL_checktensor(L, 1);
    int64_t oh = int_arg(L, 2), ow = int_arg(L, 3);
    lt_tensor *out = ltL_newtensor(L, x->dtype), *idx = ltL_newtensor(L, LT_INT64);
    LT_TRY(L, "adaptiveMaxPool2d", lt_adaptive_max_pool2d(out, idx, x, oh, ow));
    LT_TRY(L, "adaptiveMaxPool2d", lt_rec_max_pool2d(out, x, idx));
    return 2;
}

static int l_adaptive_avg_pool2d(lua_State *L)
{
    lt_tensor *x = ltL_checktensor(L, 1);
    int64_t oh = int_arg(L, 2), ow = int_arg(L, 3);
    lt_tensor *out = ltL_newtensor(L, x->dtype);
    LT_TRY(L, "adaptiveAvgPool2d", lt_adaptive_avg_pool2d(out, x, oh, ow));
    LT_TRY(L, "adaptiveAvgPool2d", lt_rec_avg_pool2d(out, x, NULL, 1));
    return 1;
}

static int l_batch_norm(lua_State *L)
{
    lt_tensor *x = ltL_checktensor(L, 1), *w = opt_tensor(L, 2), *b = opt_tensor(L, 3);
    lt_tensor *rm = opt_tensor(L, 4), *rv = opt_tensor(L, 5);
    int training = lua_toboolean(L, 6);
    double momentum = luaL_checknumber(L, 7), eps = luaL_checknumber(L, 8);
    lt_tensor *out = ltL_newtensor(L, x->dtype);
    int out_at = lua_gettop(L);
    lt_tensor *mean = ltL_newtensor(L, x->dtype), *invstd = ltL_newtensor(L, x->dtype);
    LT_TRY(L, "batchNorm", lt_batch_norm(out, mean, invstd, x, w, b, rm, rv, training, momentum, eps));
    LT_TRY(L, "batchNorm", lt_rec_batch_norm(out, x, w, b, mean, invstd, training));
    lua_pushvalue(L, out_at);
    return 1;
}

static int l_conv_backend(lua_State *L)
{
    static const char *const names[] = {"auto", "im2col", "onednn", NULL};
    int old = lt_conv_get_backend();
    if (!lua_isnoneornil(L, 1)) lt_conv_set_backend(luaL_checkoption(L, 1, NULL, names));
    lua_pushstring(L, names[old]);
    lua_pushboolean(L, lt_dnnl_conv_available());
    lua_pushinteger(L, (lua_Integer)lt_dnnl_conv_calls());
    return 3;
}

void lt_open_conv(lua_State *L)
{
    static const ltL_Reg regs[] = {
        {"_conv2d", l_conv2d, LT_FW | LT_BF16_GEMM},
        {"_convTranspose2d", l_conv_transpose2d, LT_FW | LT_BF16_GEMM},
        {"_maxPool2d", l_max_pool2d, LT_FW},
        {"_avgPool2d", l_avg_pool2d, LT_FW},
        {"_adaptiveMaxPool2d", l_adaptive_max_pool2d, LT_FW},
        {"_adaptiveAvgPool2d", l_adaptive_avg_pool2d, LT_FW},
        {"_batchNorm", l_batch_norm, LT_FW},
        {"_convBackend", l_conv_backend, LT_FN},
        {NULL, NULL, 0},
    };
    ltL_register(L, regs);
}
