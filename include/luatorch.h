/*
 * luatorch.h — the public C API of luatorch: write tensor ops and differentiable layers in C,
 * as ordinary Lua C modules ("extensions"), and use them from Lua like the built-in ones.
 *
 * This header is the whole contract. It is versioned (LUATORCH_VERSION_*, checked at run
 * time by luatorch_init) and exposes no internal structure: tensors and autograd nodes are
 * opaque handles read through functions. Build an extension with
 *
 *     cc -O2 -fPIC -shared $(pkg-config --cflags --libs luatorch) -o mymod.so mymod.c
 *
 * It links against nothing: the functions below are reached through a table of function
 * pointers that the loaded torch core (torch/core.so, or the luatorch executable) registers
 * in the Lua registry, so an extension always talks to the one core of its process (its
 * allocator counters, RNG, grad mode and error buffer), never to a second copy.
 *
 * Example: a complete extension adding `scaledSquare(x, a)` = a * x^2 with its gradient
 * 2 a x. (spec/26-extending_spec.lua compiles and runs this exact text.)
 *
 * BEGIN EXAMPLE
 *
 *     #include <luatorch.h>
 *
 *     // d/dx (a x^2) = 2 a x; forward saved a contiguous x and put a in the node's scalars
 *     static int square_backward(luatorch_node *n, luatorch_tensor *const *gout,
 *                                luatorch_tensor **gin)
 *     {
 *         luatorch_tensor *x = luatorch_node_saved(n, 0);   // NULL: modified in place since
 *         if (!x) return LUATORCH_ERR;
 *         double a = luatorch_node_scalars(n)[0];
 *         luatorch_tensor *g = luatorch_contiguous(gout[0]);
 *         gin[0] = g ? luatorch_node_new_grad(n, 0) : NULL;    // zeros shaped like input 0
 *         if (gin[0]) {
 *             int64_t len = luatorch_numel(x);
 *             if (luatorch_get_dtype(x) == LUATORCH_FLOAT64) {
 *                 const double *px = luatorch_data(x), *pg = luatorch_data(g);
 *                 double *pr = luatorch_data(gin[0]);
 *                 for (int64_t i = 0; i < len; i++) pr[i] = 2 * a * px[i] * pg[i];
 *             } else {
 *                 const float *px = luatorch_data(x), *pg = luatorch_data(g);
 *                 float *pr = luatorch_data(gin[0]);
 *                 for (int64_t i = 0; i < len; i++) pr[i] = (float)(2 * a) * px[i] * pg[i];
 *             }
 *         }
 *         luatorch_release(g);
 *         return gin[0] ? LUATORCH_OK : LUATORCH_ERR;
 *     }
 *
 *     static int scaled_square(lua_State *L)
 *     {
 *         luatorch_tensor *x = luatorch_checktensor(L, 1);
 *         double a = luaL_checknumber(L, 2);
 *         luaL_argcheck(L, luatorch_is_float(x), 1, "expected a Float or Double tensor");
 *         // pushed tensors belong to Lua: a Lua error raised later cannot leak them
 *         luatorch_tensor *xc = luatorch_pushtensor(L, luatorch_contiguous(x));
 *         luatorch_tensor *y = luatorch_pushtensor(L, luatorch_new(luatorch_get_dtype(x),
 *                                                   luatorch_ndim(x), luatorch_sizes(x)));
 *         int64_t len = luatorch_numel(x);
 *         if (luatorch_get_dtype(x) == LUATORCH_FLOAT64) {
 *             const double *px = luatorch_data(xc);
 *             double *py = luatorch_data(y);
 *             for (int64_t i = 0; i < len; i++) py[i] = a * px[i] * px[i];
 *         } else {
 *             const float *px = luatorch_data(xc);
 *             float *py = luatorch_data(y);
 *             for (int64_t i = 0; i < len; i++) py[i] = (float)a * px[i] * px[i];
 *         }
 *         if (luatorch_needs_grad(1, &x)) {   // record only when x requires grad
 *             luatorch_node *n = luatorch_node_new("ScaledSquareBackward", square_backward,
 *                                                  1, &x, 1);
 *             if (!n) return luatorch_raise(L, "scaledSquare");
 *             if (luatorch_node_save(n, xc) < 0) {
 *                 luatorch_node_release(n);
 *                 return luatorch_raise(L, "scaledSquare");
 *             }
 *             luatorch_node_scalars(n)[0] = a;
 *             luatorch_node_set_output(n, y, 0);   // y holds the node now
 *             luatorch_node_release(n);
 *         }
 *         return 1;   // y, on top of the stack
 *     }
 *
 *     int luaopen_square(lua_State *L);
 *     int luaopen_square(lua_State *L)
 *     {
 *         luatorch_init(L);   // binds the API; a clear Lua error if the core is incompatible
 *         lua_newtable(L);
 *         lua_pushcfunction(L, scaled_square);
 *         lua_setfield(L, -2, "scaledSquare");
 *         return 1;
 *     }
 *
 * END EXAMPLE
 *
 * From Lua:  local sq = require 'square'
 *            local x = torch.randn(3):double(); x.requiresGrad = true
 *            sq.scaledSquare(x, 3):sum():backward()     -- x.grad == 6 * x
 *
 * luatorch_record() does the recording part in one call (node, saved tensors, outputs), and
 * raises on failure; examples/c_extension/layernorm.c (nn.LayerNorm) uses it.
 *
 * Conventions
 *   - Dims here are 0-based (Lua's are 1-based); sizes and strides are in elements.
 *   - Ownership: luatorch_new / luatorch_contiguous / luatorch_node_new_grad return a new
 *     reference that the caller releases (luatorch_release), or hands to Lua with
 *     luatorch_pushtensor, or stores in gin[k]. luatorch_checktensor / luatorch_totensor /
 *     luatorch_node_saved return borrowed tensors: do not release them.
 *   - Errors: from a Lua C function, raise Lua errors as usual (luaL_argerror, luaL_error),
 *     and turn a failed luatorch call into one with luatorch_raise(L, "fname") ("fname:
 *     <message>"). Backward functions run inside the engine, without a lua_State: they set a
 *     message with luatorch_seterror(fmt, ...) and return LUATORCH_ERR; the Lua call that ran
 *     the backward pass raises "backward: <message>". A failing API call has already set one.
 *   - Autograd: record a node only for a result your function just created (never after
 *     writing into an existing tensor), and only when luatorch_needs_grad() is true. Saved
 *     tensors are checked against in-place changes when backward reads them. Backward math
 *     runs with recording off. The node name must be a string that outlives the node (a
 *     literal).
 *   - Device: a tensor lives on the CPU or on a CUDA device (luatorch_get_device()). The data
 *     of a CUDA tensor is device memory: code that reads it on the host must refuse such
 *     tensors (the example in examples/c_extension does).
 *   - A multi-file extension: in one file `#define LUATORCH_API_DEFINE` before including
 *     this header, in the others `#define LUATORCH_API_EXTERN`; call luatorch_init once.
 */
#ifndef LUATORCH_H
#define LUATORCH_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <lauxlib.h>
#include <lua.h>

#define LUATORCH_VERSION_MAJOR 0
#define LUATORCH_VERSION_MINOR 1
#define LUATORCH_VERSION_PATCH 0
#define LUATORCH_VERSION_STRING "0.1.0"

#define LUATORCH_OK 0
#define LUATORCH_ERR (-1)
#define LUATORCH_MAXDIM 16        /* most dimensions a tensor can have                        */
#define LUATORCH_NSCALARS 4       /* doubles a node keeps for its backward (node_scalars)     */
#define LUATORCH_MAXSAVED 8       /* tensors a node can save                                  */
#define LUATORCH_API_KEY "luatorch.api"   /* registry field holding the API table             */

typedef enum {
    LUATORCH_FLOAT32 = 0,   /* torch.FloatTensor  */
    LUATORCH_FLOAT64 = 1,   /* torch.DoubleTensor */
    LUATORCH_INT64 = 2,     /* torch.LongTensor   */
    LUATORCH_UINT8 = 3,     /* torch.ByteTensor   */
    LUATORCH_BFLOAT16 = 4   /* torch.BFloat16Tensor: host memory, copies and views only; the
                               Lua layer refuses it to other bindings (luatorch_checktensor) */
} luatorch_dtype;

typedef enum { LUATORCH_CPU = 0, LUATORCH_CUDA = 1 } luatorch_device;

typedef struct lt_tensor luatorch_tensor;   /* opaque */
typedef struct lt_node luatorch_node;       /* opaque */

/* A backward function: gout[k] is the gradient w.r.t. output k (NULL for an output of a
 * multi-output node that received none: read it as zeros). Fill gin[k], for each input k with
 * luatorch_node_needs_input_grad(n, k), with a new tensor of input k's shape and dtype
 * (luatorch_node_new_grad); leave the others NULL. Return LUATORCH_OK, or LUATORCH_ERR
 * after luatorch_seterror (tensors already put in gin are released by the engine). */
typedef int (*luatorch_backward_fn)(luatorch_node *n, luatorch_tensor *const *gout,
                                    luatorch_tensor **gin);

/* The table the core registers. Entries are only ever appended within a major version, so
 * an extension built against minor M runs on any core of the same major with minor >= M. */
typedef struct luatorch_api {
    int    major, minor, patch;   /* the core's version                                       */
    int    lua_version;           /* LUA_VERSION_NUM the core was built with                  */
    size_t size;                  /* sizeof the core's table                                  */
    /* 0.1: tensors */
    luatorch_tensor *(*new_tensor)(luatorch_dtype dt, int ndim, const int64_t *size);
    luatorch_tensor *(*contiguous)(const luatorch_tensor *t);
    int              (*copy)(luatorch_tensor *dst, const luatorch_tensor *src);
    void             (*retain)(luatorch_tensor *t);
    void             (*release)(luatorch_tensor *t);
    int              (*ndim)(const luatorch_tensor *t);
    const int64_t   *(*sizes)(const luatorch_tensor *t);
    const int64_t   *(*strides)(const luatorch_tensor *t);
    int64_t          (*numel)(const luatorch_tensor *t);
    luatorch_dtype   (*dtype)(const luatorch_tensor *t);
    luatorch_device  (*device)(const luatorch_tensor *t);
    void            *(*data)(const luatorch_tensor *t);
    int              (*is_contiguous)(const luatorch_tensor *t);
    const char      *(*type_name)(const luatorch_tensor *t);
    char            *(*shape_str)(const luatorch_tensor *t, char *buf, size_t len);
    /* 0.1: Lua */
    luatorch_tensor *(*checktensor)(lua_State *L, int arg);
    luatorch_tensor *(*totensor)(lua_State *L, int arg);
    luatorch_tensor *(*pushtensor)(lua_State *L, luatorch_tensor *t);
    int              (*raise)(lua_State *L, const char *fname);
    /* 0.1: errors */
    int              (*verror)(const char *fmt, va_list ap);
    const char      *(*errmsg)(void);
    /* 0.1: autograd */
    int              (*grad_enabled)(void);
    int              (*needs_grad)(int n, luatorch_tensor *const *inputs);
    luatorch_node   *(*node_new)(const char *name, luatorch_backward_fn fn, int ninputs,
                                 luatorch_tensor *const *inputs, int noutputs);
    int              (*node_save)(luatorch_node *n, const luatorch_tensor *t);
    luatorch_tensor *(*node_saved)(luatorch_node *n, int k);
    void             (*node_set_output)(luatorch_node *n, luatorch_tensor *out, int slot);
    void             (*node_release)(luatorch_node *n);
    int              (*node_needs_input_grad)(const luatorch_node *n, int k);
    luatorch_tensor *(*node_new_grad)(const luatorch_node *n, int k);
    double          *(*node_scalars)(luatorch_node *n);
    luatorch_node   *(*record)(lua_State *L, const char *name, luatorch_backward_fn fn,
                               int ninputs, luatorch_tensor *const *inputs, int noutputs,
                               luatorch_tensor *const *outputs, int nsaved,
                               luatorch_tensor *const *saved);
} luatorch_api;

#ifndef LUATORCH_CORE   /* the core itself fills the table; everything below is for extensions */

#if defined(LUATORCH_API_EXTERN)
extern const luatorch_api *luatorch_api_;
#elif defined(LUATORCH_API_DEFINE)
const luatorch_api *luatorch_api_;
#else
static const luatorch_api *luatorch_api_;
#endif

/* ---- setup -------------------------------------------------------------------------------- */

/* Binds the API of the torch core loaded in L (requiring torch first if needed) and
 * checks that it is compatible with this header: the same major version, a minor at least
 * this header's, the same Lua version. Raises a Lua error naming both versions otherwise.
 * Call it first in luaopen_<yourmodule>. */
static inline void luatorch_init_version(lua_State *L, int major, int minor, int patch)
{
    const luatorch_api *api;
    lua_getfield(L, LUA_REGISTRYINDEX, LUATORCH_API_KEY);
    if (!lua_islightuserdata(L, -1)) {
        lua_pop(L, 1);
        lua_getglobal(L, "require");
        lua_pushliteral(L, "torch");   /* the core and its Lua front (printing, ...) */
        lua_call(L, 1, 0);
        lua_getfield(L, LUA_REGISTRYINDEX, LUATORCH_API_KEY);
    }
    api = (const luatorch_api *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (!api) {
        luaL_error(L, "luatorch: the loaded torch.core provides no C API (older than 0.1?)");
        return;
    }
    if (api->major != major || api->minor < minor || api->size < sizeof(luatorch_api))
        luaL_error(L, "luatorch: this extension was built against luatorch %d.%d.%d, but the "
                      "loaded torch core is %d.%d.%d (an extension needs the same major "
                      "version and a core at least as new); rebuild it against the installed "
                      "luatorch.h", major, minor, patch, api->major, api->minor, api->patch);
    if (api->lua_version != LUA_VERSION_NUM)
        luaL_error(L, "luatorch: this extension was built for Lua %d, the torch core for Lua %d",
                   (int)LUA_VERSION_NUM, api->lua_version);
    luatorch_api_ = api;
}
#define luatorch_init(L) \
    luatorch_init_version((L), LUATORCH_VERSION_MAJOR, LUATORCH_VERSION_MINOR, \
                          LUATORCH_VERSION_PATCH)

/* The core's version, e.g. for messages (after luatorch_init). */
static inline int luatorch_core_version(int *major, int *minor, int *patch)
{
    if (major) *major = luatorch_api_->major;
    if (minor) *minor = luatorch_api_->minor;
    if (patch) *patch = luatorch_api_->patch;
    return luatorch_api_->major * 10000 + luatorch_api_->minor * 100 + luatorch_api_->patch;
}

/* ---- tensors ------------------------------------------------------------------------------ */

/* A new contiguous, zero-filled tensor (a new reference), or NULL with an error set. */
static inline luatorch_tensor *luatorch_new(luatorch_dtype dt, int ndim, const int64_t *size)
{ return luatorch_api_->new_tensor(dt, ndim, size); }
/* A new reference to a contiguous tensor holding t's values, without autograd history: a view
 * of t when t already is contiguous (then it shares t's storage), otherwise a copy. */
static inline luatorch_tensor *luatorch_contiguous(const luatorch_tensor *t)
{ return luatorch_api_->contiguous(t); }
/* dst = src, broadcasting src and converting its dtype; LUATORCH_OK or LUATORCH_ERR. */
static inline int luatorch_copy(luatorch_tensor *dst, const luatorch_tensor *src)
{ return luatorch_api_->copy(dst, src); }
static inline void luatorch_retain(luatorch_tensor *t) { luatorch_api_->retain(t); }
static inline void luatorch_release(luatorch_tensor *t) { luatorch_api_->release(t); }  /* NULL ok */

static inline int luatorch_ndim(const luatorch_tensor *t) { return luatorch_api_->ndim(t); }
/* (ndim) sizes and strides in elements; valid while t lives and is not resized */
static inline const int64_t *luatorch_sizes(const luatorch_tensor *t)
{ return luatorch_api_->sizes(t); }
static inline const int64_t *luatorch_strides(const luatorch_tensor *t)
{ return luatorch_api_->strides(t); }
static inline int64_t luatorch_size(const luatorch_tensor *t, int dim)
{ return luatorch_api_->sizes(t)[dim]; }
static inline int64_t luatorch_stride(const luatorch_tensor *t, int dim)
{ return luatorch_api_->strides(t)[dim]; }
static inline int64_t luatorch_numel(const luatorch_tensor *t) { return luatorch_api_->numel(t); }
static inline luatorch_dtype luatorch_get_dtype(const luatorch_tensor *t)
{ return luatorch_api_->dtype(t); }
static inline luatorch_device luatorch_get_device(const luatorch_tensor *t)
{ return luatorch_api_->device(t); }
/* Address of element (0, ..., 0); element (i, j, ...) is at data + i*stride[0] + j*stride[1]
 * + ... elements. Data is shared with every view of the same storage. */
static inline void *luatorch_data(const luatorch_tensor *t) { return luatorch_api_->data(t); }
static inline int luatorch_is_contiguous(const luatorch_tensor *t)
{ return luatorch_api_->is_contiguous(t); }
static inline int luatorch_is_float(const luatorch_tensor *t)
{
    luatorch_dtype dt = luatorch_api_->dtype(t);
    return dt == LUATORCH_FLOAT32 || dt == LUATORCH_FLOAT64;
}
/* "torch.FloatTensor", ... */
static inline const char *luatorch_typename(const luatorch_tensor *t)
{ return luatorch_api_->type_name(t); }
/* "2 x 3" (or "scalar") into buf; returns buf */
static inline char *luatorch_shape_str(const luatorch_tensor *t, char *buf, size_t len)
{ return luatorch_api_->shape_str(t, buf, len); }

/* ---- Lua ---------------------------------------------------------------------------------- */

/* The tensor at stack index arg (borrowed), or a Lua argument error. */
static inline luatorch_tensor *luatorch_checktensor(lua_State *L, int arg)
{ return luatorch_api_->checktensor(L, arg); }
/* The same, or NULL when the value is not a live tensor. */
static inline luatorch_tensor *luatorch_totensor(lua_State *L, int arg)
{ return luatorch_api_->totensor(L, arg); }
/* Pushes t as a Lua tensor, which takes over the caller's reference; returns t. When t is
 * NULL (a failed luatorch_new, ...), raises the pending error as a Lua error instead. */
static inline luatorch_tensor *luatorch_pushtensor(lua_State *L, luatorch_tensor *t)
{ return luatorch_api_->pushtensor(L, t); }
/* Raises "fname: <the last luatorch error message>"; never returns (the int is for
 * `return luatorch_raise(L, "f");`). fname NULL: the name of the running Lua function. */
static inline int luatorch_raise(lua_State *L, const char *fname)
{ return luatorch_api_->raise(L, fname); }
#define LUATORCH_TRY(L, fname, call) \
    do { if ((call) != LUATORCH_OK) return luatorch_raise((L), (fname)); } while (0)

/* ---- errors without a lua_State (backward functions) ------------------------------------- */

/* Sets the message that the caller of backward will raise; returns LUATORCH_ERR. */
static inline int luatorch_seterror(const char *fmt, ...)
{
    va_list ap;
    int st;
    va_start(ap, fmt);
    st = luatorch_api_->verror(fmt, ap);
    va_end(ap);
    return st;
}
static inline const char *luatorch_errmsg(void) { return luatorch_api_->errmsg(); }

/* ---- autograd ----------------------------------------------------------------------------- */

/* True when recording is on (not inside torch.noGrad) and an input requires grad. */
static inline int luatorch_grad_enabled(void) { return luatorch_api_->grad_enabled(); }
static inline int luatorch_needs_grad(int n, luatorch_tensor *const *inputs)
{ return luatorch_api_->needs_grad(n, inputs); }

/* A node for an op with ninputs inputs (NULL entries are fine: non-tensor arguments) and
 * noutputs outputs. Edges go to the inputs that require grad. A new reference, or NULL with
 * an error set. */
static inline luatorch_node *luatorch_node_new(const char *name, luatorch_backward_fn fn,
                                               int ninputs, luatorch_tensor *const *inputs,
                                               int noutputs)
{ return luatorch_api_->node_new(name, fn, ninputs, inputs, noutputs); }
/* Saves t for backward (a detached handle on t's data, with its version): returns the index
 * for luatorch_node_saved (0, 1, ... in order), or -1 with an error set. */
static inline int luatorch_node_save(luatorch_node *n, const luatorch_tensor *t)
{ return luatorch_api_->node_save(n, t); }
/* Saved tensor k (borrowed), or NULL with an error set when it was modified in place since
 * it was saved, or when the graph was already freed by a backward pass. */
static inline luatorch_tensor *luatorch_node_saved(luatorch_node *n, int k)
{ return luatorch_api_->node_saved(n, k); }
/* Makes out (a tensor your function just created) output `slot` of n: out requires grad and
 * holds a reference to n. */
static inline void luatorch_node_set_output(luatorch_node *n, luatorch_tensor *out, int slot)
{ luatorch_api_->node_set_output(n, out, slot); }
static inline void luatorch_node_release(luatorch_node *n) { luatorch_api_->node_release(n); }
/* True when input k has a gradient to receive (it requires grad). */
static inline int luatorch_node_needs_input_grad(const luatorch_node *n, int k)
{ return luatorch_api_->node_needs_input_grad(n, k); }
/* A new zero tensor with input k's shape and dtype (for gin[k]), or NULL with an error set. */
static inline luatorch_tensor *luatorch_node_new_grad(const luatorch_node *n, int k)
{ return luatorch_api_->node_new_grad(n, k); }
/* LUATORCH_NSCALARS doubles of the node, zero at first: op parameters for backward. */
static inline double *luatorch_node_scalars(luatorch_node *n) { return luatorch_api_->node_scalars(n); }

/* All of the recording in one call: when luatorch_needs_grad(ninputs, inputs), makes the
 * node, saves the nsaved tensors (in order: luatorch_node_saved(n, 0 .. nsaved-1)) and sets
 * the non-NULL outputs; returns the node (borrowed: the outputs hold it; set its scalars
 * now), or NULL when nothing was recorded. Raises a Lua error (leaking nothing) on failure. */
static inline luatorch_node *luatorch_record(lua_State *L, const char *name,
                                             luatorch_backward_fn fn, int ninputs,
                                             luatorch_tensor *const *inputs, int noutputs,
                                             luatorch_tensor *const *outputs, int nsaved,
                                             luatorch_tensor *const *saved)
{
    return luatorch_api_->record(L, name, fn, ninputs, inputs, noutputs, outputs, nsaved,
                                 saved);
}

#endif /* LUATORCH_CORE */

#ifdef __cplusplus
}
#endif
#endif /* LUATORCH_H */
