/*
 * lauxt.c — the auxiliary functions every binding file uses (declared in lt_lua.h): tensor
 * userdata boxes, argument checks with 1-based dims, the [res,] convention, and errors.
 */
#include <stdint.h>
#include <string.h>

#include "lt_lua.h"
#include "../core/bf16.h"
#include "../core/dnnl.h"
#include "../gpu/lt_gpu.h"

static lt_dtype default_dtype = LT_FLOAT32;
lt_dtype ltL_default_dtype(void) { return default_dtype; }
void ltL_set_default_dtype(lt_dtype dt) { default_dtype = dt; }

/* [on a device][dtype]: cutorch's names for the device types (NULL: BFloat16 tensors live in
 * host memory only) */
static const char *type_names[2][LT_NDTYPES] = {
    {"torch.FloatTensor", "torch.DoubleTensor", "torch.LongTensor", "torch.ByteTensor",
     "torch.BFloat16Tensor"},
    {"torch.CudaTensor", "torch.CudaDoubleTensor", "torch.CudaLongTensor", "torch.CudaByteTensor",
     NULL}};

const char *ltL_typename(const lt_tensor *t)
{
    return ltL_typename_of(lt_device(t) != LT_CPU, t->dtype);
}

const char *ltL_typename_of(int cuda, lt_dtype dt)
{
    const char *name = type_names[cuda != 0][dt];
    return name ? name : "?";  /* the core allocates no device BFloat16 storage */
}

int ltL_parse_typename(const char *name, lt_dtype *dt, int *cuda)
{
    for (int c = 0; c < 2; c++)
        for (int d = 0; d < LT_NDTYPES; d++)
            if (type_names[c][d] && (!strcmp(name, type_names[c][d]) ||
                                     !strcmp(name, type_names[c][d] + 6))) {
                *dt = (lt_dtype)d;
                *cuda = c;
                return 1;
            }
    return 0;
}

int ltL_error(lua_State *L, const char *fname)
{
    return luaL_error(L, "%s: %s", fname, lt_errmsg());
}

/* Headroom of tensor memory over what was live after the last collection, before tensor
 * allocations start driving the collector: GC_HEAP_FACTOR times Lua's own heap, within
 * [GC_HEADROOM_MIN, GC_HEADROOM_MAX]. A cycle's cost grows with Lua's heap, not with tensor
 * bytes (a full cycle: ~25 us at the seed cell's 300 KB heap, ~18 ms at 85 MB), so the
 * collector's share of a loop's time stays bounded; and a small headroom hands dead
 * temporaries back to the allocator while their memory is still in cache. With 64 MB of
 * headroom a new 50 KB result cost 3 us of cache misses and page faults against 1 us for the
 * op itself, and the seed cell's step (30 MB of temporaries) ran 7-10% slower. */
#define GC_HEADROOM_MIN ((int64_t)4 << 20)
#define GC_HEADROOM_MAX ((int64_t)256 << 20)
#define GC_HEAP_FACTOR 16

void ltL_account(lua_State *L)
{
    /* Lua's collector cannot see tensor memory (malloc'd, or on the device), so loops making
     * big temporaries would grow without collectgarbage(). Once live tensor memory passes the
     * threshold, each new KB steps the collector as if Lua had allocated it, until a cycle
     * completes; then the threshold moves to the live bytes plus headroom. Below it, tensor
     * allocations cost no collector work: stepping on every allocation re-marked the whole Lua
     * heap every few megabytes (~9% of a small-op training loop). Device bytes count too, or
     * a GPU loop would fill the device before its first collection. The threshold also
     * follows live memory down (a freed model, collectgarbage()), or a loop after a big
     * release would grow to the old high-water mark first. */
    static int64_t seen, threshold = GC_HEADROOM_MIN, room = GC_HEADROOM_MIN;
    lt_alloc_stats h = lt_alloc_get_stats();
    lt_gpu_mem_stats d = lt_gpu_memory_stats();
    int64_t total = h.total_bytes + d.total_allocated, live = h.live_bytes + d.allocated;
    int64_t kb = (total - seen) / 1024;
    if (kb <= 0) return;
    seen += kb * 1024;
    if (threshold > live + room) threshold = live + room;
    if (live < threshold) return;
    /* a completed cycle, or (in generational mode, where steps never report one) a step
     * that freed tensors, resets the threshold */
    int done = lua_gc(L, LUA_GCSTEP, (int)(kb > 1 << 30 ? 1 << 30 : kb));
    h = lt_alloc_get_stats();
    d = lt_gpu_memory_stats();
    int64_t now = h.live_bytes + d.allocated;
    if (done || now < live) {
        room = (int64_t)lua_gc(L, LUA_GCCOUNT) * 1024 * GC_HEAP_FACTOR;
        if (room < GC_HEADROOM_MIN) room = GC_HEADROOM_MIN;
        if (room > GC_HEADROOM_MAX) room = GC_HEADROOM_MAX;
        threshold = now + room;
    }
}

/* ---- BFloat16: a storage type -------------------------------------------------------------
 * Only copies, views, fill and element access take BFloat16 tensors (lt.h); every other
 * kernel's dtype tables stop at the four computing types. So a binding takes a BFloat16 tensor
 * only when it is in the registry's set of functions marked LT_BF16 (ltL_register) or by
 * ltL_allowbf16; any other binding meets a BFloat16 argument in ltL_totensor, which every
 * tensor argument passes through, and raises. The set is looked up only when a BFloat16 tensor
 * shows up, so the other types pay nothing. */
static const char bf16_key = 0;   /* registry[&bf16_key]: {[function] = true} */

void ltL_allowbf16(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &bf16_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &bf16_key);
    }
    lua_pushvalue(L, idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* Whether the running C function is marked as taking BFloat16 tensors. */
static int bf16_allowed(lua_State *L)
{
    lua_Debug ar;
    luaL_checkstack(L, 3, NULL);
    if (!lua_getstack(L, 0, &ar) || !lua_getinfo(L, "f", &ar)) return 0;
    int ok = 0;
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &bf16_key) == LUA_TTABLE) {
        lua_pushvalue(L, -2);
        ok = lua_rawget(L, -2) != LUA_TNIL;
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
    return ok;
}

int ltL_bf16error(lua_State *L, const char *fname)
{
    return luaL_error(L, "%s: " LT_BF16_MSG, fname);
}

/* The tensor at arg, or NULL when arg is not a tensor. A freed tensor is never "not a
 * tensor": every binding, metamethod and form test (ltL_istensor) meets it here first, so
 * it raises "tensor was freed" instead of being taken for a number or dereferenced. */
lt_tensor *ltL_totensor(lua_State *L, int arg)
{
    lt_tensor **box = luaL_testudata(L, arg, LT_TENSOR_MT);
    if (!box) return NULL;
    if (!*box) luaL_argerror(L, arg, "tensor was freed");
    if ((*box)->dtype == LT_BFLOAT16 && !bf16_allowed(L)) luaL_argerror(L, arg, LT_BF16_MSG);
    return *box;
}

int ltL_istensor(lua_State *L, int arg) { return ltL_totensor(L, arg) != NULL; }

lt_tensor *ltL_checktensor(lua_State *L, int arg)
{
    lt_tensor *t = ltL_totensor(L, arg);
    if (!t) {
        const char *got = luaL_typename(L, arg);
        if (luaL_getmetafield(L, arg, "__name") == LUA_TSTRING) got = lua_tostring(L, -1);
        luaL_argerror(L, arg, lua_pushfstring(L, "tensor expected, got %s", got));
    }
    return t;
}

void ltL_pushtensor(lua_State *L, lt_tensor *t, const char *fname)
{
    if (!t) {
        ltL_error(L, fname);
        return;
    }
    lt_tensor **box = lua_newuserdatauv(L, sizeof *box, 1);
    *box = t;
    luaL_setmetatable(L, LT_TENSOR_MT);
    ltL_account(L);
}

lt_tensor *ltL_newtensor(lua_State *L, lt_dtype dt)
{
    lt_tensor *t = lt_tensor_empty(dt);
    ltL_pushtensor(L, t, "tensor");
    return t;
}

int ltL_checkdim(lua_State *L, int arg, int ndim)
{
    lua_Integer d = luaL_checkinteger(L, arg);
    int n = ndim > 0 ? ndim : 1;
    if (d < 0) d += n + 1;
    if (d < 1 || d > n)
        luaL_argerror(L, arg, lua_pushfstring(L, "dimension %I out of range for a "
                                                 "%d-dimensional tensor",
                                              luaL_checkinteger(L, arg), ndim));
    return (int)d - 1;
}

int ltL_checkdim_named(lua_State *L, int arg, int ndim, const char *fname)
{
    if (!lua_isinteger(L, arg)) {
        if (lua_type(L, arg) == LUA_TNUMBER)
            luaL_error(L, "%s: dimension must be an integer, got %s", fname,
                       lua_tostring(L, arg));
        luaL_error(L, "%s: dimension expected (argument #%d), got %s", fname, arg,
                   luaL_typename(L, arg));
    }
    lua_Integer d = lua_tointeger(L, arg), n = ndim > 0 ? ndim : 1, d0 = d;
    if (d < 0) d += n + 1;
    if (d < 1 || d > n)
        luaL_error(L, "%s: dimension %I out of range for a %d-dimensional tensor", fname, d0,
                   ndim);
    return (int)d - 1;
}

/* Element i of the table at arg as a tensor (it stays referenced by the table), or an
 * argument error naming arg and the element: bad argument #1 to 'cat' (element 2: ...). */
lt_tensor *ltL_checktensor_elem(lua_State *L, int arg, int i)
{
    lua_geti(L, arg, i);
    lt_tensor **box = luaL_testudata(L, -1, LT_TENSOR_MT);
    if (!box)
        luaL_argerror(L, arg, lua_pushfstring(L, "element %d: tensor expected, got %s", i,
                                              luaL_typename(L, -1)));
    if (!*box) luaL_argerror(L, arg, lua_pushfstring(L, "element %d: tensor was freed", i));
    if ((*box)->dtype == LT_BFLOAT16 && !bf16_allowed(L))
        luaL_argerror(L, arg, lua_pushfstring(L, "element %d: " LT_BF16_MSG, i));
    lua_pop(L, 1);
    return *box;
}

/* Element i of the table at arg as a 0-based dim of an ndim tensor (1-based, negative from
 * the end), or an argument error naming arg and the element. */
int ltL_checkdim_elem(lua_State *L, int arg, int i, int ndim)
{
    lua_geti(L, arg, i);
    if (!lua_isinteger(L, -1))
        luaL_argerror(L, arg, lua_pushfstring(L, "element %d: dimension expected, got %s", i,
                                              luaL_typename(L, -1)));
    lua_Integer d = lua_tointeger(L, -1), d0 = d, n = ndim > 0 ? ndim : 1;
    lua_pop(L, 1);
    if (d < 0) d += n + 1;
    if (d < 1 || d > n)
        luaL_argerror(L, arg, lua_pushfstring(L, "element %d: dimension %I out of range for a "
                                                 "%d-dimensional tensor", i, d0, ndim));
    return (int)d - 1;
}

lt_tensor *ltL_checktensor_named(lua_State *L, int arg, const char *fname)
{
    lt_tensor *t = ltL_totensor(L, arg);
    if (!t)
        luaL_error(L, "%s: tensor expected (argument #%d), got %s", fname, arg,
                   luaL_typename(L, arg));
    return t;
}

int ltL_optdim(lua_State *L, int arg, int ndim, int def)
{
    return lua_isnoneornil(L, arg) ? def : ltL_checkdim(L, arg, ndim);
}

int64_t ltL_checkindex(lua_State *L, int arg, int64_t size)
{
    lua_Integer i = luaL_checkinteger(L, arg);
    if (i < 0) i += size + 1;
    if (i < 1 || i > size)
        luaL_argerror(L, arg, lua_pushfstring(L, "index %I out of range for size %I",
                                              luaL_checkinteger(L, arg), (lua_Integer)size));
    return i - 1;
}

/* Reads sizes without raising: returns ndim, or -1 with *badarg and msg set. */
static int tosizes(lua_State *L, int arg, int64_t *size, int *badarg, const char **msg)
{
    int n = 0;
    lt_tensor *t;
    *badarg = arg;
    if (lua_istable(L, arg)) {
        n = (int)luaL_len(L, arg);
        if (n > LT_MAXDIM) return *msg = "too many dimensions", -1;
        for (int i = 0; i < n; i++) {
            int ok;
            lua_geti(L, arg, i + 1);
            lua_Integer v = lua_tointegerx(L, -1, &ok);
            lua_pop(L, 1);
            if (!ok) return *msg = "sizes must be integers", -1;
            size[i] = v;
        }
    } else if ((t = ltL_totensor(L, arg)) != NULL) {  /* a LongTensor of sizes */
        int64_t numel = lt_numel(t);
        if (t->ndim > 1 || numel > LT_MAXDIM) return *msg = "expected a 1-D tensor of sizes", -1;
        for (int64_t i = 0; i < numel; i++) size[n++] = lt_get_int(t, &i);
    } else if (luaL_testudata(L, arg, LT_STORAGE_MT)) {
        lt_storage *s = *(lt_storage **)lua_touserdata(L, arg);
        if (!s || s->dtype != LT_INT64) return *msg = "expected a LongStorage of sizes", -1;
        if (s->numel > LT_MAXDIM) return *msg = "too many dimensions", -1;
        for (int64_t i = 0; i < s->numel; i++) size[n++] = ((int64_t *)s->data)[i];
    } else {
        while (!lua_isnoneornil(L, arg + n)) {
            int ok;
            *badarg = arg + n;
            if (n == LT_MAXDIM) return *msg = "too many dimensions", -1;
            size[n] = lua_tointegerx(L, arg + n, &ok);
            if (!ok)
                return *msg = lua_type(L, arg + n) == LUA_TNUMBER ? "size has no integer value"
                                                                    : "sizes must be integers",
                       -1;
            n++;
        }
    }
    for (int i = 0; i < n; i++)
        if (size[i] < -1) return *msg = lua_pushfstring(L, "invalid size %I", (lua_Integer)size[i]), -1;
    return n;
}

int ltL_checksizes(lua_State *L, int arg, int64_t *size)
{
    int badarg;
    const char *msg;
    int n = tosizes(L, arg, size, &badarg, &msg);
    if (n < 0) luaL_argerror(L, badarg, msg);
    return n;
}

int ltL_checksizes_named(lua_State *L, int arg, int64_t *size, const char *fname)
{
    int badarg;
    const char *msg;
    int n = tosizes(L, arg, size, &badarg, &msg);
    if (n < 0) luaL_error(L, "%s: %s", fname, msg);
    for (int i = 0; i < n; i++)
        if (size[i] < 0) luaL_error(L, "%s: sizes must be non-negative, got %I", fname,
                                    (lua_Integer)size[i]);
    return n;
}

int ltL_ismethod(lua_State *L) { return lua_toboolean(L, lua_upvalueindex(1)); }

lt_tensor *ltL_result(lua_State *L, int resform, lt_dtype dt)
{
    if (resform) return ltL_checktensor(L, 1);
    if (ltL_ismethod(L)) {
        lt_tensor *self = ltL_checktensor(L, 1);
        lua_pushvalue(L, 1);
        lua_insert(L, 2);
        return self;
    }
    lt_tensor *res = ltL_newtensor(L, dt);
    lua_insert(L, 1);
    return res;
}

void ltL_checkinplace(lua_State *L, const char *fname, const lt_tensor *res, int n,
                      const lt_tensor *const *inputs)
{
    if (lt_check_inplace(res, n, inputs) != LT_OK) ltL_error(L, fname);
}

int ltL_leadingtensors(lua_State *L, int k)
{
    for (int i = 1; i <= k + 1; i++)
        if (!ltL_istensor(L, i)) return 0;
    return 1;
}

lt_tensor *ltL_checkindices(lua_State *L, int arg, const char *fname)
{
    lt_tensor *idx = ltL_checktensor(L, arg);
    if (idx->dtype != LT_INT64) luaL_argerror(L, arg, "index tensor must be a LongTensor");
    lt_tensor *z = lt_tensor_uninit_on(lt_device(idx), LT_INT64, idx->ndim, idx->size);
    ltL_pushtensor(L, z, fname);  /* owned by Lua from here, so no error path leaks it */
    if (lt_copy(z, idx) || lt_binary_scalar(z, LT_OP_SUB, z, 1)) ltL_error(L, fname);
    return z;
}

/* ---- BFloat16 arithmetic by widening ------------------------------------------------------
 * A function registered LT_WIDEN computes on BFloat16 tensors as PyTorch's CPU does: each
 * BFloat16 argument becomes a float32 copy (exact), the float32 kernel runs, and what it
 * produced comes back rounded to nearest even (core/bf16.h):
 *   - a copy the kernel wrote into (in place, a [res,] result, a random fill, an optimiser's
 *     state) is copied back into its BFloat16 original, which is returned in its place;
 *   - a new float32 tensor becomes a new BFloat16 one, and a float number is rounded to a
 *     bfloat16 value, when every floating-point tensor argument was BFloat16 (PyTorch's type
 *     promotion: a Float or Double operand makes the result Float or Double);
 *   - integer and byte results (indices, comparisons) are left as they are.
 * With a Double tensor among the arguments the copies are float64 (promotion again). Autograd
 * follows: the copies of tensors that need gradients are recorded conversions (their backward
 * rounds the float32 gradient to bfloat16), and so are the rounded results, so a BFloat16
 * leaf gets a BFloat16 gradient. An in-place write that the kernel records for autograd is
 * refused (it would have to be grafted onto the BFloat16 tensor's history); one it does not
 * record (an optimiser step, a fill, anything under torch.noGrad) is copied back.
 * The wrapper costs one load while no BFloat16 storage exists, and one pass over the
 * arguments when none of them is BFloat16 (the closure runs the C function in its own frame).
 * With one, it calls itself again on the widened arguments, so argument errors keep naming
 * the function. */
#define WIDEN_MAXARGS 64

/* Whether the running widened op rounds to bfloat16 (set by widened_call for the call it
 * makes, taken by the widen_entry it reaches, reset by every widen_entry: so an error inside
 * leaves it set only until the next widened op starts). */
static _Thread_local int scalars_pending, scalars_bf16;

/* The tensor at i when it is a live BFloat16 one (the tensor metatable is upvalue 3). */
static lt_tensor *bf16_arg(lua_State *L, int i)
{
    if (lua_type(L, i) != LUA_TUSERDATA || !lua_getmetatable(L, i)) return NULL;
    int tensor = lua_rawequal(L, -1, lua_upvalueindex(3));
    lua_pop(L, 1);
    lt_tensor *t = tensor ? *(lt_tensor **)lua_touserdata(L, i) : NULL;
    return t && t->dtype == LT_BFLOAT16 ? t : NULL;
}

/* Any live tensor at i (no BFloat16 refusal), or NULL. */
static lt_tensor *any_tensor(lua_State *L, int i)
{
    if (lua_type(L, i) != LUA_TUSERDATA || !lua_getmetatable(L, i)) return NULL;
    int tensor = lua_rawequal(L, -1, lua_upvalueindex(3));
    lua_pop(L, 1);
    return tensor ? *(lt_tensor **)lua_touserdata(L, i) : NULL;
}

typedef struct { int init; luaL_Buffer b; } dump_state;

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
    dump_state *d = ud;
    if (!d->init) {  /* as lstrlib's string.dump: the buffer starts above the function */
        d->init = 1;
        luaL_buffinit(L, &d->b);
    }
    luaL_addlstring(&d->b, (const char *)p, sz);
    return 0;
}

/* Pushes function(f, ...) T.NAME = f; return T.NAME(...) end for this name (cached in the
 * registry): the widened call goes through it so that an argument error raised inside says
 * 'bad argument #n to 'NAME'' as the direct call does (Lua names a C function by its call
 * site, here the field NAME; one called from C has none). Stripped of line information, so
 * no position of the trampoline is put before the message. */
static void push_trampoline(lua_State *L, const char *name)
{
    static const char key = 0;
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &key);
    }
    int cache = lua_gettop(L);
    if (lua_getfield(L, cache, name) == LUA_TFUNCTION) {
        lua_remove(L, cache);
        return;
    }
    lua_pop(L, 1);
    const char *src = lua_pushfstring(L, "local pass, T = function(...) return ... end, {}\n"
                                         "return function(f, ...) T.%s = f "
                                         "return pass(T.%s(...)) end", name, name);
    if (luaL_loadbufferx(L, src, strlen(src), "=widen", "t") != LUA_OK) lua_error(L);
    lua_call(L, 0, 1);
    int fn = lua_gettop(L);
    dump_state d = {0};
    lua_pushvalue(L, fn);
    lua_dump(L, dump_writer, &d, 1);
    if (!d.init) luaL_error(L, "%s: cannot build its widening trampoline", name);
    luaL_pushresult(&d.b);
    size_t len;
    const char *bin = lua_tolstring(L, -1, &len);
    if (luaL_loadbufferx(L, bin, len, "=widen", "b") != LUA_OK) lua_error(L);
    int stripped = lua_gettop(L);
    for (int k = 1; lua_getupvalue(L, fn, k); k++)  /* load set the first one to _ENV */
        lua_setupvalue(L, stripped, k);
    lua_pushvalue(L, stripped);
    lua_setfield(L, cache, name);
    lua_replace(L, cache);
    lua_settop(L, cache);
}

static int widened_call(lua_State *L, const ltL_Reg *r, int n)
{
    if (n > WIDEN_MAXARGS) return luaL_error(L, "%s: too many arguments (%d)", r->name, n);
    luaL_checkstack(L, 2 * n + 8, r->name);
    lt_dtype wdt = LT_FLOAT32;
    int narrow = 1;
    for (int i = 1; i <= n; i++) {
        lt_tensor *t = any_tensor(L, i);
        if (t && (t->dtype == LT_FLOAT32 || t->dtype == LT_FLOAT64)) narrow = 0;
        if (t && t->dtype == LT_FLOAT64) wdt = LT_FLOAT64;
    }
    /* n+1 .. 2n: the arguments with each BFloat16 tensor replaced by its widened copy (one
     * copy per tensor, so an argument given twice stays one tensor) */
    uint32_t version[WIDEN_MAXARGS + 1] = {0};
    const struct lt_node *node[WIDEN_MAXARGS + 1] = {0};
    for (int i = 1; i <= n; i++) {
        lt_tensor *t = bf16_arg(L, i);
        int same = 0;
        for (int j = 1; t && j < i && !same; j++)
            if (bf16_arg(L, j) == t) same = j;
        if (!t) {
            lua_pushvalue(L, i);
        } else if (same) {
            lua_pushvalue(L, n + same);
        } else {
            lt_tensor *w = lt_tensor_new_uninit(wdt, t->ndim, t->size);
            ltL_pushtensor(L, w, r->name);
            if (lt_copy(w, t) || lt_rec_copy(w, t)) return ltL_error(L, r->name);
            version[i] = w->storage->version;
            node[i] = w->grad_fn;
        }
    }
    push_trampoline(L, r->name);
    lua_Debug ar;  /* this very closure, called again on the widened arguments */
    if (!lua_getstack(L, 0, &ar) || !lua_getinfo(L, "f", &ar))
        return luaL_error(L, "%s: cannot find the running function", r->name);
    for (int i = 1; i <= n; i++) lua_pushvalue(L, n + i);
    scalars_pending = narrow;
    if (narrow && (r->where & LT_BF16_GEMM) && lt_autocast_native()) {
        /* the operands are bf16 values already, so autocast's bf16 products (oneDNN, fp32
         * accumulation) compute what the float32 ones do, up to the order of the sums, at
         * twice the speed; the nodes recorded keep the switch for their backward products,
         * whose operands are bf16 values too (saved inputs, widened gradients) */
        int was = lt_autocast_set(1);
        int st = lua_pcall(L, n + 1, LUA_MULTRET, 0);
        lt_autocast_set(was);
        if (st != LUA_OK) lua_error(L);
    } else {
        lua_call(L, n + 1, LUA_MULTRET);
    }
    scalars_bf16 = 0;
    int top = lua_gettop(L);
    /* copies the kernel wrote into go back into their BFloat16 originals */
    for (int i = 1; i <= n; i++) {
        lt_tensor *t = bf16_arg(L, i), *w = t ? *(lt_tensor **)lua_touserdata(L, n + i) : NULL;
        int first = t != NULL;
        for (int j = 1; t && j < i && first; j++)
            if (bf16_arg(L, j) == t) first = 0;
        if (!first || !w || w->storage->version == version[i]) continue;
        if (w->grad_fn != node[i])  /* the kernel recorded its write into the copy */
            return luaL_error(L, "%s: an in-place operation on a torch.BFloat16Tensor that "
                                 "requires grad cannot be recorded (use the form that returns "
                                 "a new tensor, or torch.noGrad)", r->name);
        if ((!lt_same_shape(t, w) && lt_resize(t, w->ndim, w->size)) || lt_copy(t, w))
            return ltL_error(L, r->name);
    }
    for (int k = 2 * n + 1; k <= top; k++) {
        lt_tensor *res = any_tensor(L, k);
        if (res) {
            int orig = 0;
            for (int i = 1; i <= n && !orig; i++)
                if (bf16_arg(L, i) && *(lt_tensor **)lua_touserdata(L, n + i) == res) orig = i;
            if (orig) {
                lua_copy(L, orig, k);  /* in place or [res,]: the BFloat16 tensor itself */
            } else if (narrow && res->dtype == wdt && lt_device(res) == LT_CPU) {
                lt_tensor *b = lt_tensor_new_uninit(LT_BFLOAT16, res->ndim, res->size);
                ltL_pushtensor(L, b, r->name);
                if (lt_copy(b, res) || lt_rec_copy(b, res)) return ltL_error(L, r->name);
                lua_replace(L, k);
            }
        } else if (narrow && lua_type(L, k) == LUA_TNUMBER && !lua_isinteger(L, k)) {
            lua_pushnumber(L, lt_bf16_to_f32(lt_f32_to_bf16((float)lua_tonumber(L, k))));
            lua_replace(L, k);
        }
    }
    return top - 2 * n;
}

int ltL_inexact_int(lua_State *L, int arg)
{
    if (!lua_isinteger(L, arg)) return 0;
    lua_Integer i = lua_tointeger(L, arg);
    double v = (double)i;
    /* 2^63 itself is out of range: the cast back would be undefined */
    return !(v >= -9223372036854775808.0 && v < 9223372036854775808.0 && (lua_Integer)v == i);
}

double ltL_checkvalue(lua_State *L, int arg, const lt_tensor *t, const char *fname)
{
    double v = luaL_checknumber(L, arg);
    if (t->dtype == LT_INT64 && ltL_inexact_int(L, arg))
        return luaL_error(L, "%s: the value %I is beyond 2^53 and would be rounded in a "
                             "LongTensor here (torch.where, cmax / cmin, fill and the arithmetic "
                             "operators are exact for it)", fname, lua_tointeger(L, arg)), 0.0;
    return v;
}

double ltL_scalar_operand(double v)
{
    /* a flag left by an error counts only until the next widened op, or no longer matters
     * once no BFloat16 tensor is left */
    if (!scalars_bf16 || lt_bf16_storages() == 0) return v;
    return (double)lt_bf16_to_f32(lt_f32_to_bf16((float)v));
}

static int widen_entry(lua_State *L)
{
    const ltL_Reg *r = lua_touserdata(L, lua_upvalueindex(2));
    if (lt_bf16_storages() > 0) {  /* no BFloat16 tensor anywhere: nothing to look for */
        scalars_bf16 = scalars_pending;
        scalars_pending = 0;
        int n = lua_gettop(L);
        for (int i = 1; i <= n; i++)
            if (bf16_arg(L, i)) return widened_call(L, r, n);
    }
    return r->fn(L);
}

void ltL_pushwidening(lua_State *L, const ltL_Reg *reg, int ismethod)
{
    lua_pushboolean(L, ismethod);
    lua_pushlightuserdata(L, (void *)(uintptr_t)reg);  /* read only, by widen_entry */
    luaL_getmetatable(L, LT_TENSOR_MT);
    lua_pushcclosure(L, widen_entry, 3);
}

void ltL_register(lua_State *L, const ltL_Reg *regs)
{
    for (; regs->name; regs++) {
        for (int m = 0; m < 2; m++) {
            if (!(regs->where & (m ? LT_METHOD : LT_FN))) continue;
            if (regs->where & LT_WIDEN) {
                ltL_pushwidening(L, regs, m);
            } else {
                lua_pushboolean(L, m);
                lua_pushcclosure(L, regs->fn, 1);
            }
            if (regs->where & LT_BF16) ltL_allowbf16(L, -1);
            lua_setfield(L, m ? -2 : -3, regs->name);
        }
    }
}
