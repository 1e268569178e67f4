/*
 * lcuda.c — torch.cuda (device queries of the CUDA backend, gpu/lt_gpu.h) and t:cuda().
 *
 * Devices are numbered from 1 here, like cutorch's (the backend counts from 0). Device tensors
 * do not exist yet: t:cuda() raises a clear error rather than pretending (gpu/README.md). On a
 * machine without a GPU, or in a build without CUDA, isAvailable() is false, deviceCount() is 0,
 * and every other call raises "cuda.<fn>: no CUDA device is available (<why>)".
 */
#include <limits.h>

#include "lt_lua.h"

#include "../gpu/lt_gpu.h"
#include "../gpu/lt_nccl.h"

/* torch.cuda.isBuilt(): whether this luatorch has the CUDA backend compiled in */
static int cuda_isbuilt(lua_State *L)
{
    lua_pushboolean(L, lt_gpu_built());
    return 1;
}

/* torch.cuda.isAvailable(): true when a CUDA device can be used; never raises */
static int cuda_isavailable(lua_State *L)
{
    int n = 0;
    lua_pushboolean(L, lt_gpu_device_count(&n) == LT_OK && n > 0);
    return 1;
}

/* torch.cuda.deviceCount(): 0 without a driver or a device */
static int cuda_devicecount(lua_State *L)
{
    int n = 0;
    LT_TRY(L, "cuda.deviceCount", lt_gpu_device_count(&n));
    lua_pushinteger(L, n);
    return 1;
}

/* torch.cuda.whyUnavailable(): nil when a device can be used, else the reason (a string) */
static int cuda_whyunavailable(lua_State *L)
{
    const char *why = lt_gpu_unavailable();
    if (why) lua_pushstring(L, why); else lua_pushnil(L);
    return 1;
}

/* torch.cuda.getDeviceProperties(i): a table describing device i (1-based) */
static int cuda_getdeviceproperties(lua_State *L)
{
    lua_Integer i;
    /* checked by hand: luaL_checkinteger cannot name a function inside torch.cuda */
    if (!lua_isinteger(L, 1))
        return luaL_error(L, "cuda.getDeviceProperties: the device must be an integer, got %s",
                          luaL_typename(L, 1));
    i = lua_tointeger(L, 1);
    lt_gpu_props p;
    int n = 0;
    LT_TRY(L, "cuda.getDeviceProperties", lt_gpu_require());
    LT_TRY(L, "cuda.getDeviceProperties", lt_gpu_device_count(&n));
    if (i < 1 || i > n)
        return luaL_error(L, "cuda.getDeviceProperties: device %I is out of range (%d device%s, "
                             "counted from 1)", i, n, n == 1 ? "" : "s");
    LT_TRY(L, "cuda.getDeviceProperties", lt_gpu_device_props((int)i - 1, &p));
    lua_createtable(L, 0, 10);
    lua_pushstring(L, p.name);                          lua_setfield(L, -2, "name");
    lua_pushinteger(L, p.major);                        lua_setfield(L, -2, "major");
    lua_pushinteger(L, p.minor);                        lua_setfield(L, -2, "minor");
    lua_pushinteger(L, p.total_memory);                 lua_setfield(L, -2, "totalMemory");
    lua_pushinteger(L, p.multiprocessors);              lua_setfield(L, -2, "multiProcessorCount");
    lua_pushinteger(L, p.warp_size);                    lua_setfield(L, -2, "warpSize");
    lua_pushinteger(L, p.shared_memory_per_block);      lua_setfield(L, -2, "sharedMemPerBlock");
    lua_pushinteger(L, p.l2_cache_size);                lua_setfield(L, -2, "l2CacheSize");
    lua_pushstring(L, p.pci_bus_id);                    lua_setfield(L, -2, "pciBusID");
    return 1;
}

/* torch.cuda.memGetInfo(): free and total bytes of the current device */
static int cuda_memgetinfo(lua_State *L)
{
    int64_t f = 0, t = 0;
    LT_TRY(L, "cuda.memGetInfo", lt_gpu_mem_info(&f, &t));
    lua_pushinteger(L, f);
    lua_pushinteger(L, t);
    return 2;
}

/* torch.cuda.synchronize(): waits for all work on the current device */
static int cuda_synchronize(lua_State *L)
{
    LT_TRY(L, "cuda.synchronize", lt_gpu_synchronize());
    return 0;
}

/* torch.cuda.setDevice(i) (1-based; luatorch drives one device so far) */
static int cuda_setdevice(lua_State *L)
{
    lua_Integer i = luaL_checkinteger(L, 1);
    if (i < 1 || i > INT_MAX) return luaL_error(L, "cuda.setDevice: device %I does not exist", i);
    LT_TRY(L, "cuda.setDevice", lt_gpu_set_device((int)i - 1));
    return 0;
}

/* torch.cuda.getDevice(): the current device, 1-based */
static int cuda_getdevice(lua_State *L)
{
    int dev;
    LT_TRY(L, "cuda.getDevice", lt_gpu_current_device(&dev));
    lua_pushinteger(L, dev + 1);
    return 1;
}

/* torch.cuda.memoryAllocated() / memoryReserved() / maxMemoryAllocated(): bytes held by live
 * device tensors, held by the caching allocator in all, and the most ever held by tensors */
static int cuda_memory(lua_State *L)
{
    lt_gpu_mem_stats s = lt_gpu_memory_stats();
    switch (lua_tointeger(L, lua_upvalueindex(1))) {
    case 0: lua_pushinteger(L, s.allocated); break;
    case 1: lua_pushinteger(L, s.reserved); break;
    case 2: lua_pushinteger(L, s.peak_allocated); break;
    default: lua_pushinteger(L, s.cuda_mallocs); break;
    }
    return 1;
}

/* torch.cuda.emptyCache(): gives cached device blocks back to CUDA */
static int cuda_emptycache(lua_State *L)
{
    LT_TRY(L, "cuda.emptyCache", lt_gpu_empty_cache());
    return 0;
}

/* torch.cuda.allowTF32([on]): TF32 tensor-core math for cuBLAS products (off by default);
 * returns the setting in force */
static int cuda_allowtf32(lua_State *L)
{
    if (!lua_isnoneornil(L, 1)) {
        luaL_checktype(L, 1, LUA_TBOOLEAN);
        lt_gpu_set_allow_tf32(lua_toboolean(L, 1));
    }
    lua_pushboolean(L, lt_gpu_allow_tf32());
    return 1;
}

/* torch.cuda.manualSeed(s): device draws use the host's Philox generator (one seed gives the
 * same numbers on both), so this seeds that one generator, as torch.manualSeed does */
static int cuda_manualseed(lua_State *L)
{
    lt_rng_seed((uint64_t)luaL_checkinteger(L, 1));
    return 0;
}

/* torch.cuda.isEmulated(): true in a `make CUDA=emu` build, whose "device" is the host */
static int cuda_isemulated(lua_State *L)
{
    lua_pushboolean(L, lt_gpu_built() && lt_gpu_emulated());
    return 1;
}

/* ---- whole-step CUDA graphs: torch.cuda.graph(fn) -> g; g:replay(); g:free() ---- */

#define GRAPH_MT "torch.cuda.Graph"

/* torch.cuda.graph(fn): runs fn once with the device's stream capturing and returns the graph
 * of the device work it issued. Capturing runs nothing on the device: g:replay() does, as often
 * as asked, on the same memory (the tensors fn used and made: keep them to read the results;
 * copy new inputs into the ones fn read). Inside fn, nothing may need the host: reading a
 * value, a host copy, a loss's class weights raise. */
static int cuda_graph(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lt_gpu_graph **box = (lt_gpu_graph **)lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    luaL_setmetatable(L, GRAPH_MT);
    lua_gc(L, LUA_GCCOLLECT);   /* dead tensors' blocks back to the cache before capturing */
    LT_TRY(L, "cuda.graph", lt_gpu_graph_begin(box));
    lua_pushvalue(L, 1);
    int st = lua_pcall(L, 0, 0, 0);
    if (lt_gpu_graph_end(*box, st == LUA_OK) != LT_OK) {
        lt_gpu_graph_free(*box);
        *box = NULL;
        if (st != LUA_OK) return lua_error(L);   /* fn's own error, as it was raised */
        return ltL_error(L, "cuda.graph");
    }
    lua_settop(L, 2);
    return 1;
}

static lt_gpu_graph *check_graph(lua_State *L, const char *fname)
{
    lt_gpu_graph **box = (lt_gpu_graph **)luaL_checkudata(L, 1, GRAPH_MT);
    if (!*box) luaL_error(L, "%s: the graph was freed", fname);
    return *box;
}

/* g:replay(): the captured device work once more (asynchronous, like any device op) */
static int graph_replay(lua_State *L)
{
    LT_TRY(L, "replay", lt_gpu_graph_replay(check_graph(L, "replay")));
    return 0;
}

/* g:free(), __gc, __close: waits for the device, then gives the graph's blocks back */
static int graph_free(lua_State *L)
{
    lt_gpu_graph **box = (lt_gpu_graph **)luaL_checkudata(L, 1, GRAPH_MT);
    lt_gpu_graph_free(*box);
    *box = NULL;
    return 0;
}

static int graph_tostring(lua_State *L)
{
    lt_gpu_graph **box = (lt_gpu_graph **)luaL_checkudata(L, 1, GRAPH_MT);
    lua_pushstring(L, *box ? "torch.cuda.Graph" : "torch.cuda.Graph (freed)");
    return 1;
}

/* torch.cuda.isCapturing(): true inside torch.cuda.graph's function */
static int cuda_iscapturing(lua_State *L)
{
    lua_pushboolean(L, lt_gpu_capturing());
    return 1;
}

static void graph_createmeta(lua_State *L)
{
    static const luaL_Reg meta[] = {
        {"__gc", graph_free}, {"__close", graph_free}, {"__tostring", graph_tostring},
        {NULL, NULL}};
    static const luaL_Reg methods[] = {{"replay", graph_replay}, {"free", graph_free},
                                       {NULL, NULL}};
    luaL_newmetatable(L, GRAPH_MT);
    luaL_setfuncs(L, meta, 0);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

/* Out of device memory: one full collection returns dead tensors' blocks to the cache. */
static void collect_on_oom(void *ud)
{
    lua_gc((lua_State *)ud, LUA_GCCOLLECT);
}

void lt_open_cuda(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"isBuilt", cuda_isbuilt},
        {"isAvailable", cuda_isavailable},
        {"isEmulated", cuda_isemulated},
        {"deviceCount", cuda_devicecount},
        {"whyUnavailable", cuda_whyunavailable},
        {"getDeviceProperties", cuda_getdeviceproperties},
        {"memGetInfo", cuda_memgetinfo},
        {"synchronize", cuda_synchronize},
        {"setDevice", cuda_setdevice},
        {"getDevice", cuda_getdevice},
        {"emptyCache", cuda_emptycache},
        {"allowTF32", cuda_allowtf32},
        {"manualSeed", cuda_manualseed},
        {"graph", cuda_graph},
        {"isCapturing", cuda_iscapturing},
        {NULL, NULL},
    };
    graph_createmeta(L);
    luaL_newlib(L, fns);
    static const char *memfns[] = {"memoryAllocated", "memoryReserved", "maxMemoryAllocated",
                                   "cudaMallocCount"};
    for (int i = 0; i < 4; i++) {
        lua_pushinteger(L, i);
        lua_pushcclosure(L, cuda_memory, 1);
        lua_setfield(L, -2, memfns[i]);
    }
    lua_setfield(L, -3, "cuda");                  /* torch.cuda (torch table at -2 before) */
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    lt_gpu_set_oom_hook(collect_on_oom, lua_tothread(L, -1));
    lua_pop(L, 1);
    /* NCCL for the distributed module, which cannot see this module's symbols (lt_nccl.h) */
    const lt_nccl_api *nccl = lt_gpu_nccl();
    if (nccl) {
        lua_pushlightuserdata(L, (void *)(uintptr_t)nccl);
        lua_setfield(L, LUA_REGISTRYINDEX, LT_NCCL_KEY);
    }
}
