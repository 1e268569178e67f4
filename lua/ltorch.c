/*
 * ltorch.c — luaopen_torch_core: builds the `torch.core` table and the tensor metatable, then
 * lets each binding subsystem (lt_open_*) add its functions and methods. The pure-Lua front
 * (lua/torch/init.lua) requires this module and completes the `torch` table.
 */
#include "lt_lua.h"

int luaopen_torch_core(lua_State *L);

int luaopen_torch_core(lua_State *L)
{
    lua_newtable(L);                          /* torch.core                      */
    luaL_newmetatable(L, LT_TENSOR_MT);       /* metatable: filled by ltensor.c  */
    lua_newtable(L);                          /* methods                         */
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "methods");           /* metatable.methods = methods      */
    lua_remove(L, -2);                        /* torch.core, methods              */
    lt_open_storage(L);
    lt_open_tensor(L);
    lt_open_pointwise(L);
    lt_open_reduce(L);
    lt_open_index(L);
    lt_open_blas(L);
    lt_open_random(L);
    lt_open_autograd(L);
    lt_open_sys(L);
    lt_open_nn(L);
    lt_open_optim(L);
    lt_open_lstm(L);
    lt_open_rnn(L);
    lt_open_serialize(L);
    lt_open_safetensors(L);
    lt_open_api(L);
    lt_open_download(L);
    lt_open_datasets(L);
    lt_open_cuda(L);
    lt_open_conv(L);
    lt_open_linalg(L);
    lua_setfield(L, -2, "Tensor");            /* core.Tensor = methods table      */
    return 1;
}
