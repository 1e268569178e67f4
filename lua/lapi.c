/*
 * lapi.c — the public C API of include/luatorch.h: fills the luatorch_api function table and
 * registers it in the Lua registry (field LUATORCH_API_KEY) when torch.core opens.
 *
 * Extensions never link against the core: they read this table (luatorch_init), so every
 * call lands in the one core of the process — in a stock lua5.4, torch/core.so is loaded with
 * RTLD_LOCAL and its symbols are invisible to other modules anyway, and linking a second
 * copy (libluatorch.so) would give the extension its own grad mode, RNG, allocator counters
 * and error buffer. The table is append-only within a major version (see luatorch.h).
 */
#include <stdarg.h>
#include <stdio.h>

#define LUATORCH_CORE
#include "../include/luatorch.h"
#include "lt_lua.h"

_Static_assert((int)LUATORCH_FLOAT32 == (int)LT_FLOAT32 && (int)LUATORCH_FLOAT64 == (int)LT_FLOAT64 &&
               (int)LUATORCH_INT64 == (int)LT_INT64 && (int)LUATORCH_UINT8 == (int)LT_UINT8 &&
               (int)LUATORCH_BFLOAT16 == (int)LT_BFLOAT16,
               "luatorch_dtype must match lt_dtype");
_Static_assert(LUATORCH_MAXDIM == LT_MAXDIM, "LUATORCH_MAXDIM must match LT_MAXDIM");
_Static_assert(LUATORCH_MAXSAVED == LT_NODE_MAXSAVED, "LUATORCH_MAXSAVED must match");
_Static_assert(LUATORCH_NSCALARS <= sizeof ((lt_node *)0)->d / sizeof(double),
               "a node keeps LUATORCH_NSCALARS doubles");

/* ---- tensors ------------------------------------------------------------------------------ */

static lt_tensor *api_new(luatorch_dtype dt, int ndim, const int64_t *size)
{
    if ((int)dt < 0 || (int)dt >= LT_NDTYPES) {
        lt_error("unknown dtype %d", (int)dt);
        return NULL;
    }
    if (ndim < 0 || ndim > LT_MAXDIM) {
        lt_error("%d dimensions (at most %d)", ndim, LT_MAXDIM);
        return NULL;
    }
    for (int d = 0; d < ndim; d++)
        if (size[d] < 0) {
            lt_error("negative size %lld in dimension %d", (long long)size[d], d);
            return NULL;
        }
    return lt_tensor_new((lt_dtype)dt, ndim, size);
}

static lt_tensor *api_contiguous(const lt_tensor *t)
{
    lt_tensor *out = lt_tensor_empty(t->dtype);
    if (out && lt_contiguous(out, t) != LT_OK) {
        lt_tensor_release(out);
        return NULL;
    }
    return out;
}

static int api_ndim(const lt_tensor *t) { return t->ndim; }
static const int64_t *api_sizes(const lt_tensor *t) { return t->size; }
static const int64_t *api_strides(const lt_tensor *t) { return t->stride; }
static luatorch_dtype api_dtype(const lt_tensor *t) { return (luatorch_dtype)t->dtype; }
static luatorch_device api_device(const lt_tensor *t)
{
    return lt_device(t) == LT_CPU ? LUATORCH_CPU : LUATORCH_CUDA;
}

static char *api_shape_str(const lt_tensor *t, char *buf, size_t len)
{
    return lt_shape_str(buf, len, t->ndim, t->size);
}

/* ---- Lua ---------------------------------------------------------------------------------- */

/* The name the running C function was called by, for messages. */
static const char *current_name(lua_State *L)
{
    lua_Debug ar;
    if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar) && ar.name) return ar.name;
    return "?";
}

static int api_raise(lua_State *L, const char *fname)
{
    return ltL_error(L, fname ? fname : current_name(L));
}

static lt_tensor *api_pushtensor(lua_State *L, lt_tensor *t)
{
    if (!t) api_raise(L, NULL);
    ltL_pushtensor(L, t, "?");
    return t;
}

/* ---- errors ------------------------------------------------------------------------------- */

static int api_verror(const char *fmt, va_list ap)
{
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    return lt_error("%s", buf);
}

/* ---- autograd ----------------------------------------------------------------------------- */

static int api_needs_grad(int n, lt_tensor *const *inputs)
{
    return lt_needs_grad(n, (const lt_tensor *const *)inputs);
}

static lt_node *api_node_new(const char *name, luatorch_backward_fn fn, int ninputs,
                             lt_tensor *const *inputs, int noutputs)
{
    if (!name || !fn || ninputs < 0 || noutputs < 1) {
        lt_error("%s: a node needs a name, a backward function and at least one output",
                 name ? name : "node");
        return NULL;
    }
    return lt_node_new(name, fn, ninputs, inputs, noutputs);
}

static lt_tensor *api_node_saved(lt_node *n, int k)
{
    if (k < 0 || k >= n->nsaved) {
        if (n->freed)
            return lt_node_saved(n, 0);  /* the "graph was freed" message */
        lt_error("%s: no saved tensor %d (%d saved)", n->name, k, n->nsaved);
        return NULL;
    }
    return lt_node_saved(n, k);
}

static int api_node_needs_input_grad(const lt_node *n, int k)
{
    return k >= 0 && k < n->ninputs && n->next[k] != NULL;
}

static lt_tensor *api_node_new_grad(const lt_node *n, int k)
{
    if (k < 0 || k >= n->ninputs) {
        lt_error("%s: no input %d (%d inputs)", n->name, k, n->ninputs);
        return NULL;
    }
    return lt_tensor_new(n->in_dtype[k], n->in_ndim[k], n->in_size[k]);
}

static double *api_node_scalars(lt_node *n) { return n->d; }

static lt_node *api_record(lua_State *L, const char *name, luatorch_backward_fn fn,
                           int ninputs, lt_tensor *const *inputs, int noutputs,
                           lt_tensor *const *outputs, int nsaved, lt_tensor *const *saved)
{
    if (!api_needs_grad(ninputs, inputs)) return NULL;
    int nout = 0;
    for (int k = 0; k < noutputs; k++) nout += outputs[k] != NULL;
    if (nout == 0) {
        lt_error("%s: no output to record", name ? name : "node");
        api_raise(L, NULL);
    }
    lt_node *n = api_node_new(name, fn, ninputs, inputs, noutputs);
    if (!n) api_raise(L, NULL);
    for (int k = 0; k < nsaved; k++) {
        if (!saved[k] || lt_node_save(n, saved[k]) < 0) {
            if (!saved[k]) lt_error("%s: saved tensor %d is NULL", name, k);
            lt_node_release(n);
            api_raise(L, NULL);
        }
    }
    for (int k = 0; k < noutputs; k++)
        if (outputs[k]) lt_node_set_output(n, outputs[k], k);
    lt_node_release(n);  /* the outputs hold it */
    return n;
}

static luatorch_api api = {
    .major = LUATORCH_VERSION_MAJOR,
    .minor = LUATORCH_VERSION_MINOR,
    .patch = LUATORCH_VERSION_PATCH,
    .lua_version = LUA_VERSION_NUM,
    .size = sizeof(luatorch_api),
    .new_tensor = api_new,
    .contiguous = api_contiguous,
    .copy = lt_copy,
    .retain = lt_tensor_retain,
    .release = lt_tensor_release,
    .ndim = api_ndim,
    .sizes = api_sizes,
    .strides = api_strides,
    .numel = lt_numel,
    .dtype = api_dtype,
    .device = api_device,
    .data = lt_data,
    .is_contiguous = lt_is_contiguous,
    .type_name = ltL_typename,
    .shape_str = api_shape_str,
    .checktensor = ltL_checktensor,
    .totensor = ltL_totensor,
    .pushtensor = api_pushtensor,
    .raise = api_raise,
    .verror = api_verror,
    .errmsg = lt_errmsg,
    .grad_enabled = lt_grad_enabled,
    .needs_grad = api_needs_grad,
    .node_new = api_node_new,
    .node_save = lt_node_save,
    .node_saved = api_node_saved,
    .node_set_output = lt_node_set_output,
    .node_release = lt_node_release,
    .node_needs_input_grad = api_node_needs_input_grad,
    .node_new_grad = api_node_new_grad,
    .node_scalars = api_node_scalars,
    .record = api_record,
};

void lt_open_api(lua_State *L)
{
    lua_pushlightuserdata(L, &api);
    lua_setfield(L, LUA_REGISTRYINDEX, LUATORCH_API_KEY);
    lua_pushfstring(L, "%d.%d.%d", LUATORCH_VERSION_MAJOR, LUATORCH_VERSION_MINOR,
                    LUATORCH_VERSION_PATCH);
    lua_setfield(L, -3, "_VERSION");   /* torch._VERSION, for scripts and messages */
}
