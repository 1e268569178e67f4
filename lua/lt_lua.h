/*
 * lt_lua.h — shared helpers of the Lua bindings (the lua/ C files): tensor userdata, argument
 * checking with Torch7's 1-based dims, the [res,] result convention, and the one place
 * where a core error becomes a Lua error.
 *
 * Each binding file exports one `lt_open_<subsystem>(L)`; ltorch.c calls them all with the
 * torch table at stack index -2 and the Tensor methods table at -1.
 */
#ifndef LT_LUA_H
#define LT_LUA_H

#include <lauxlib.h>
#include <lua.h>

#include "../core/lt.h"

#define LT_TENSOR_MT "torch.Tensor"     /* one metatable; typename comes from the dtype */
#define LT_STORAGE_MT "torch.Storage"

/* ---- tensors ---- */
lt_tensor *ltL_totensor(lua_State *L, int arg);     /* NULL when arg is not a live tensor    */
lt_tensor *ltL_checktensor(lua_State *L, int arg);  /* "bad argument #arg to 'f' (...)"     */
int        ltL_istensor(lua_State *L, int arg);
/* Pushes a userdata owning one reference to t (the caller's); raises on t == NULL with the
 * core's message, naming fname. Steps the GC for the bytes the core allocated. */
void ltL_pushtensor(lua_State *L, lt_tensor *t, const char *fname);
/* Pushes a new empty tensor of dtype dt and returns it. */
lt_tensor *ltL_newtensor(lua_State *L, lt_dtype dt);
/* "torch.FloatTensor", "torch.CudaTensor" etc. */
const char *ltL_typename(const lt_tensor *t);
const char *ltL_typename_of(int cuda, lt_dtype dt);
/* Reads "torch.CudaTensor", "DoubleTensor", ...; 0 when name is no tensor type. */
int ltL_parse_typename(const char *name, lt_dtype *dt, int *cuda);
lt_dtype ltL_default_dtype(void);
void     ltL_set_default_dtype(lt_dtype dt);

/* ---- storages (lstorage.c) ---- */
void        ltL_pushstorage(lua_State *L, lt_storage *s);   /* takes a new reference to s */
lt_storage *ltL_checkstorage(lua_State *L, int arg);

/* ---- BFloat16 (lauxt.c): a storage type that most bindings refuse ---- */
/* Marks the function at idx as taking BFloat16 tensors; any other binding raises "bad argument
 * #n to 'f' (not supported for torch.BFloat16Tensor (convert with :float()))" when one reaches
 * ltL_totensor. */
void ltL_allowbf16(lua_State *L, int idx);
/* Raises "fname: " LT_BF16_MSG. */
int  ltL_bf16error(lua_State *L, const char *fname);
#define LT_BF16_MSG "not supported for torch.BFloat16Tensor (convert with :float())"

/* ---- errors: the single place a core status is raised ---- */
int  ltL_error(lua_State *L, const char *fname);    /* luaL_error("fname: <lt_errmsg()>")    */
#define LT_TRY(L, fname, call) \
    do { if ((call) != LT_OK) return ltL_error(L, fname); } while (0)
/* Tells Lua's collector about bytes the core allocated since the last call. */
void ltL_account(lua_State *L);

/* ---- arguments ---- */
/* Lua dim (1-based; negative counts from the end) -> 0-based, checked against ndim. */
int     ltL_checkdim(lua_State *L, int arg, int ndim);
int     ltL_optdim(lua_State *L, int arg, int ndim, int def);   /* def is 0-based, -1 = none */
/* The same checks with messages that start "fname: " instead of "bad argument #n to ...",
 * for functions whose argument positions shift with the [res,] form. */
int        ltL_checkdim_named(lua_State *L, int arg, int ndim, const char *fname);
lt_tensor *ltL_checktensor_named(lua_State *L, int arg, const char *fname);
/* element i of the table at arg, as a tensor / as a 0-based dim: errors name arg and i */
lt_tensor *ltL_checktensor_elem(lua_State *L, int arg, int i);
int ltL_checkdim_elem(lua_State *L, int arg, int i, int ndim);
int64_t ltL_checkindex(lua_State *L, int arg, int64_t size);    /* 1-based -> 0-based      */
/* Reads sizes given as numbers from arg on, or as one table / torch.LongStorage / tensor of
 * sizes. Returns ndim. */
int ltL_checksizes(lua_State *L, int arg, int64_t *size);
/* The same for constructors: errors read "fname: ...", and -1 is refused. */
int ltL_checksizes_named(lua_State *L, int arg, int64_t *size, const char *fname);
/* true when called as a method (first upvalue of every registered function) */
int ltL_ismethod(lua_State *L);
/* Torch7's optional first result argument. Arranges the stack as (res, inputs...) and returns
 * res: when resform, arg 1 already is res; otherwise a method works in place on self (self
 * is inserted as the first input), and a function gets a new tensor of dtype dt. */
lt_tensor *ltL_result(lua_State *L, int resform, lt_dtype dt);
/* True when ltL_result made a new tensor (neither in place nor a [res,] result): only then
 * may the op be recorded for autograd. Otherwise call ltL_checkinplace before writing. */
#define ltL_fresh(L, resform) (!(resform) && !ltL_ismethod(L))
/* Raises "fname: ..." when writing into res cannot be recorded (lt_check_inplace). */
void ltL_checkinplace(lua_State *L, const char *fname, const lt_tensor *res, int n,
                      const lt_tensor *const *inputs);
/* resform test for ops with k tensor inputs: args 1..k+1 are all tensors. */
int ltL_leadingtensors(lua_State *L, int k);
/* A 0-based int64 copy of the 1-based index tensor at arg, pushed on the stack (Lua owns it,
 * so an error raised later cannot leak it). */
lt_tensor *ltL_checkindices(lua_State *L, int arg, const char *fname);

/* ---- registration ---- */
#define LT_FN 1        /* torch.name(...)      */
#define LT_METHOD 2    /* tensor:name(...)     */
#define LT_BF16 4      /* takes torch.BFloat16Tensor arguments (copies, views, element access) */
#define LT_WIDEN 8     /* computes on BFloat16 arguments by widening them to float32 (lauxt.c) */
#define LT_BF16_GEMM 16 /* with LT_WIDEN: its products of BFloat16 operands may run as bf16 ones */
#define LT_FMW (LT_FN | LT_METHOD | LT_WIDEN)   /* the usual computing op */
#define LT_FW (LT_FN | LT_WIDEN)
#define LT_MW (LT_METHOD | LT_WIDEN)
typedef struct { const char *name; lua_CFunction fn; int where; } ltL_Reg;
/* Pushes reg's function as a closure (upvalue 1: ismethod) that widens BFloat16 arguments:
 * what ltL_register does for LT_WIDEN entries; for metamethods and other tables. reg must
 * outlive the Lua state (a static array). */
void ltL_pushwidening(lua_State *L, const ltL_Reg *reg, int ismethod);
/* A number operand of a pointwise op (x + 0.1, clamp's bounds, a comparison's value): rounded
 * to bfloat16 while a widened op computes a BFloat16 result, as PyTorch casts a scalar operand
 * to the tensor's dtype; v itself otherwise. */
double ltL_scalar_operand(double v);
/* The number at arg that a fill-like op (maskedFill, indexFill, scatter, clamp) writes into t,
 * as the double those ops take: a Lua integer a double cannot hold (beyond 2^53) is refused
 * for an int64 t, rather than written rounded; fname names the op in the error. */
double ltL_checkvalue(lua_State *L, int arg, const lt_tensor *t, const char *fname);
/* Whether arg is a Lua integer that a double cannot hold exactly. */
int ltL_inexact_int(lua_State *L, int arg);
/* With the torch table at -2 and the methods table at -1: registers each function as a
 * closure whose upvalue says whether it was called as a method. */
void ltL_register(lua_State *L, const ltL_Reg *regs);

/* subsystem openers, called by luaopen_torch_core */
void lt_open_tensor(lua_State *L);     /* ltensor.c: constructors, views, metamethods     */
void lt_open_storage(lua_State *L);    /* lstorage.c                                      */
void lt_open_pointwise(lua_State *L);  /* lpointwise.c: elementwise ops and operators     */
void lt_open_reduce(lua_State *L);     /* lreduce.c: reductions, sort, topk               */
void lt_open_index(lua_State *L);      /* lindex.c: indexSelect, gather, scatter, ...     */
void lt_open_blas(lua_State *L);       /* lblas.c: mm, addmm, bmm, mv, dot, ...           */
void lt_open_random(lua_State *L);     /* lrandom.c: RNG state and sampling               */
void lt_open_autograd(lua_State *L);   /* lautograd.c: backward, grad mode, Functions     */
void lt_open_sys(lua_State *L);        /* lsys.c: clock, isatty                           */
void lt_open_nn(lua_State *L);         /* lnn.c: softmax, logSoftmax, nllLoss, crossEntropy */
void lt_open_optim(lua_State *L);      /* loptim.c: torch._optim update kernels           */
void lt_open_lstm(lua_State *L);       /* llstm.c: torch.lstm, torch.lstmCell (fused LSTM) */
void lt_open_rnn(lua_State *L);        /* lrnn.c: torch.rnnLayer (RNN, GRU, LSTM layers) */
void lt_open_serialize(lua_State *L);  /* lserialize.c: torch._save, torch._load         */
void lt_open_safetensors(lua_State *L); /* lsafetensors.c: torch._save/_loadSafetensors  */
void lt_open_api(lua_State *L);        /* lapi.c: the public C API table (luatorch.h)     */
void lt_open_download(lua_State *L);   /* ldownload.c: torch._download, torch._mkdirs      */
void lt_open_datasets(lua_State *L);   /* ldatasets.c: readIDX, _normalize, _exePath       */
void lt_open_cuda(lua_State *L);       /* lcuda.c: torch.cuda device queries, t:cuda()     */
void lt_open_conv(lua_State *L);       /* lconv.c: torch._conv2d, pooling, _batchNorm      */
void lt_open_linalg(lua_State *L);     /* llinalg.c: inverse, det, solve, cholesky, qr, svd */

/* tensor fields served by lautograd.c: t.requiresGrad, t.grad, t.gradFn, t.isLeaf */
int ltL_autograd_index(lua_State *L);      /* (t, key) -> pushes the value or nil          */
int ltL_autograd_newindex(lua_State *L);   /* (t, key, value) -> 1 when key was a field    */

#endif /* LT_LUA_H */
