/*
 * lt.h — the luatorch tensor core: strided tensors, their ops, and the RNG, in plain C11.
 *
 * The core knows nothing about Lua. Every function that can fail returns an int status
 * (LT_OK = 0, LT_ERR = -1) and leaves a message in a thread-local buffer (lt_errmsg()).
 * The Lua layer (lua/) turns that into a Lua error in exactly one place. Indices and dims
 * here are 0-based; the Lua layer converts from Torch7's 1-based ones.
 *
 * Worked example (no error handling shown; every call below returns LT_OK or LT_ERR):
 *
 *     int64_t sz[2] = {2, 3};
 *     lt_tensor *a = lt_tensor_new(LT_FLOAT32, 2, sz);     // 2x3, zero-filled, refcount 1
 *     lt_tensor *b = lt_tensor_empty(LT_FLOAT32);          // 1-D, size 0: an "out" to fill
 *     lt_fill(a, 1.5);
 *     lt_tensor *at = lt_tensor_view_of(a);                // another handle on a's storage
 *     lt_transpose(at, 0, 1);                              // at is now a 3x2 view, no copy
 *     lt_mm(b, a, at);                                     // b = a @ a^T, resized to 2x2
 *     lt_unary(b, LT_OP_EXP, b);                           // in place: out may be an input
 *     lt_tensor_release(at); lt_tensor_release(b); lt_tensor_release(a);
 *
 * Conventions
 *   - Ops write into an `out` tensor that the caller owns; out is resized to the result's
 *     shape (lt_resize) unless it already has it. out may be the same tensor as an input
 *     (in-place); a partial overlap is detected and handled with a temporary.
 *   - Views (narrow, select, transpose, ...) modify the tensor handle they are given; to keep
 *     the original, first take lt_tensor_view_of(t), which shares the storage.
 *   - Binary ops broadcast like NumPy/PyTorch. Tensor operands of one op share one dtype,
 *     except where documented (comparison results and masks are uint8, indices int64).
 */
#ifndef LT_H
#define LT_H

#include <stddef.h>
#include <stdint.h>

#define LT_MAXDIM 16
#define LT_OK 0
#define LT_ERR (-1)

/* ---- dtypes ----------------------------------------------------------------------------- */

/* The numbering is stored in torch.save files: new dtypes go at the end. LT_BFLOAT16 (core/bf16.h)
 * is a storage type: copies convert to and from it (rounding to nearest even), views, fill and
 * element access work; every other op refuses it (the Lua layer says so, lua/lauxt.c). */
typedef enum { LT_FLOAT32, LT_FLOAT64, LT_INT64, LT_UINT8, LT_BFLOAT16, LT_NDTYPES } lt_dtype;

size_t      lt_dtype_size(lt_dtype dt);            /* bytes per element                      */
const char *lt_dtype_name(lt_dtype dt);            /* "Float", "Double", "Long", "Byte",
                                                      "BFloat16"                              */
const char *lt_type_name(lt_dtype dt);             /* "torch.FloatTensor", ... (host types)   */
int         lt_dtype_is_float(lt_dtype dt);        /* Float, Double: the types ops compute in
                                                      (0 for BFloat16, a storage type)        */

/* ---- errors ----------------------------------------------------------------------------- */

int         lt_error(const char *fmt, ...);        /* sets the message, returns LT_ERR        */
const char *lt_errmsg(void);                       /* the last message of this thread         */
/* "2 x 3" style description of a shape, into buf (returns buf). */
char       *lt_shape_str(char *buf, size_t len, int ndim, const int64_t *size);
#define LT_SHAPE_BUFSZ 256

/* ---- storage: one refcounted block, shared by all the views of it ----------------------- */

typedef struct lt_storage {
    void    *data;        /* nbytes, 64-byte aligned (NULL when nbytes == 0); device memory
                             when device >= 0                                               */
    int64_t  nbytes;
    int64_t  numel;       /* nbytes / dtype size                                            */
    lt_dtype dtype;
    int      refcount;
    uint32_t version;     /* bumped by in-place writes; autograd checks saved tensors       */
    int      device;      /* LT_CPU (-1): host memory; >= 0: memory of that CUDA device     */
} lt_storage;

#define LT_CPU (-1)

lt_storage *lt_storage_new(lt_dtype dt, int64_t numel);   /* zero-filled; NULL + error on OOM */
lt_storage *lt_storage_new_uninit(lt_dtype dt, int64_t numel);
/* The same on a device (LT_CPU: host); device memory comes from gpu/'s caching allocator. */
lt_storage *lt_storage_new_on(int device, lt_dtype dt, int64_t numel, int zero);
/* Copies the storage's nbytes into host memory dst (a device storage crosses once). */
int         lt_storage_read(const lt_storage *s, void *dst);
void        lt_storage_retain(lt_storage *s);
void        lt_storage_release(lt_storage *s);            /* frees on the last reference      */

/* Allocator counters: live bytes, and allocations made since start (specs check both). */
typedef struct { int64_t live_bytes, peak_bytes, total_allocs, total_bytes; } lt_alloc_stats;
lt_alloc_stats lt_alloc_get_stats(void);
/* The most host memory one allocation may ask for (RAM + swap), and a check of nbytes against
 * it whose error says what would need how much ("<what> would need 40 GB, more than ..."). */
int64_t lt_alloc_limit(void);
int     lt_alloc_check(int64_t nbytes, const char *what);
/* Freed host blocks kept for reuse (not in live_bytes; none under AddressSanitizer, where
 * lt_alloc_caches() is 0), and giving them back to the system. */
int64_t lt_alloc_cached_bytes(void);
int64_t lt_bf16_storages(void);   /* live host storages of bfloat16 (0: no BFloat16 tensor) */
int lt_alloc_caches(void);
void lt_alloc_release_cache(void);

/* ---- tensors ------------------------------------------------------------------------------ */

struct lt_node;

typedef struct lt_tensor {
    lt_storage *storage;           /* never NULL                                            */
    int64_t     offset;            /* first element, in elements of storage                 */
    int         ndim;              /* 0 = a scalar holding one element                      */
    int64_t     size[LT_MAXDIM];   /* (ndim)                                                */
    int64_t     stride[LT_MAXDIM]; /* (ndim), in elements; 0 for expanded dims              */
    lt_dtype    dtype;             /* == storage->dtype                                     */
    int         refcount;          /* handles: Lua userdata, autograd nodes                 */
    /* autograd (core/autograd.c); a handle made by lt_tensor_view_of starts without them  */
    int         requires_grad;
    struct lt_tensor *grad;        /* accumulated gradient of a leaf (same shape), or NULL  */
    struct lt_node   *grad_fn;     /* the node that made this tensor, NULL for a leaf       */
    int         output_nr;         /* which output of grad_fn                               */
    int         grad_hook;         /* nonzero: the engine reports this leaf's gradient ready
                                      (lt_autograd_set_hooks); not copied to views          */
    int         acc_pending;       /* engine scratch: this pass's accumulations still to run */
} lt_tensor;

lt_tensor *lt_tensor_new(lt_dtype dt, int ndim, const int64_t *size);     /* zero-filled     */
lt_tensor *lt_tensor_new_uninit(lt_dtype dt, int ndim, const int64_t *size);
lt_tensor *lt_tensor_empty(lt_dtype dt);                                  /* 1-D, size 0     */
/* The same on a device (LT_CPU: host). An op writing a tensor with an empty storage moves
 * it to its inputs' device, so lt_tensor_empty results serve any device. */
lt_tensor *lt_tensor_new_on(int device, lt_dtype dt, int ndim, const int64_t *size);
lt_tensor *lt_tensor_uninit_on(int device, lt_dtype dt, int ndim, const int64_t *size);
static inline int lt_device(const lt_tensor *t) { return t->storage->device; }
/* out = t's elements, contiguous, on device (LT_CPU: host), in t's dtype. */
int lt_to_device(lt_tensor *out, const lt_tensor *t, int device);
lt_tensor *lt_tensor_view_of(const lt_tensor *t);     /* new handle, same storage and layout,
                                                          no autograd history (a detached view) */
/* A tensor over an existing storage; checks that every element lies inside the storage. */
lt_tensor *lt_tensor_from_storage(lt_storage *s, int64_t offset, int ndim,
                                  const int64_t *size, const int64_t *stride);
void       lt_tensor_retain(lt_tensor *t);
void       lt_tensor_release(lt_tensor *t);

int64_t lt_numel(const lt_tensor *t);
int     lt_is_contiguous(const lt_tensor *t);
void   *lt_data(const lt_tensor *t);                  /* address of element (0,...,0)        */
int     lt_same_shape(const lt_tensor *a, const lt_tensor *b);
/* Reads/writes one element by 0-based multi-index (slow; for printing and scalar access;
 * on a device tensor each is a copy to or from the device). */
double  lt_get(const lt_tensor *t, const int64_t *idx);
void    lt_set(lt_tensor *t, const int64_t *idx, double v);
int64_t lt_get_int(const lt_tensor *t, const int64_t *idx);   /* exact for int64            */
void    lt_set_int(lt_tensor *t, const int64_t *idx, int64_t v);

/* Resize to a contiguous layout of the given shape; keeps t as is when the shape already
 * matches. Grows the storage (a fresh one) when it is too small. Contents are unspecified. */
int lt_resize(lt_tensor *t, int ndim, const int64_t *size);
int lt_resize_as(lt_tensor *t, const lt_tensor *like);
/* Make t point at src's storage and layout (Torch7's set); t keeps its autograd fields. */
void lt_set_tensor(lt_tensor *t, const lt_tensor *src);

/* ---- views: change the handle t in place, never copy ----------------------------------- */

int lt_narrow(lt_tensor *t, int dim, int64_t start, int64_t length);
int lt_select(lt_tensor *t, int dim, int64_t index);           /* drops dim                  */
int lt_transpose(lt_tensor *t, int dim0, int dim1);
int lt_permute(lt_tensor *t, const int *perm);                  /* perm has t->ndim entries  */
int lt_unsqueeze(lt_tensor *t, int dim);
int lt_squeeze(lt_tensor *t);                                   /* all size-1 dims           */
int lt_squeeze_dim(lt_tensor *t, int dim);
int lt_expand(lt_tensor *t, int ndim, const int64_t *size);     /* -1 keeps a size           */
/* the windows of size elements every step along dim, as a new last dim (Torch7's unfold) */
int lt_unfold(lt_tensor *t, int dim, int64_t size, int64_t step);
/* view: shape with at most one -1; fails when the strides cannot express it. */
int lt_view(lt_tensor *t, int ndim, const int64_t *size);
/* The bound on every shape: the product of its sizes (each counted as at least 1). */
#define LT_MAX_NUMEL ((int64_t)1 << 59)
/* numel of a shape (may be NULL); LT_ERR for a negative size or a shape over LT_MAX_NUMEL. */
int lt_shape_numel(int ndim, const int64_t *size, int64_t *numel);
/* Fills size with the shape (resolving -1) and checks the element count. */
int lt_infer_shape(int64_t numel, int ndim, int64_t *size);
/* Broadcast shape of two shapes; LT_ERR with both shapes in the message when incompatible. */
int lt_broadcast_shape(int na, const int64_t *sa, int nb, const int64_t *sb,
                       int *nout, int64_t *sout);

/* ---- copies ------------------------------------------------------------------------------ */

int lt_copy(lt_tensor *dst, const lt_tensor *src);    /* broadcasts src to dst, converts dtype */
int lt_contiguous(lt_tensor *out, const lt_tensor *t);   /* out = t, or a contiguous copy    */
int lt_clone(lt_tensor *out, const lt_tensor *t);        /* out = always a fresh copy        */
int lt_fill(lt_tensor *t, double value);
int lt_fill_int(lt_tensor *t, int64_t value);           /* exact for int64                  */
int lt_cat(lt_tensor *out, lt_tensor *const *ts, int n, int dim);
int lt_stack(lt_tensor *out, lt_tensor *const *ts, int n, int dim);
/* reshape: a view when possible, otherwise a copy; out receives the result. */
int lt_reshape(lt_tensor *out, const lt_tensor *t, int ndim, const int64_t *size);

/* ---- elementwise (core/pointwise.c) ------------------------------------------------------ */

typedef enum {
    LT_OP_NEG, LT_OP_ABS, LT_OP_SIGN, LT_OP_EXP, LT_OP_LOG, LT_OP_LOG1P, LT_OP_SQRT,
    LT_OP_RSQRT, LT_OP_SIGMOID, LT_OP_TANH, LT_OP_RELU, LT_OP_FLOOR, LT_OP_CEIL, LT_OP_ROUND,
    LT_OP_SIN, LT_OP_COS, LT_OP_TRUNC, LT_OP_FRAC, LT_OP_SQUARE, LT_OP_RECIPROCAL,
    LT_OP_TAN, LT_OP_ASIN, LT_OP_ACOS, LT_OP_ATAN, LT_OP_SINH, LT_OP_COSH, LT_OP_EXPM1,
    LT_OP_ERF, LT_OP_ERFC, LT_OP_LGAMMA, LT_OP_DIGAMMA,
    LT_OP_TRIGAMMA,  /* digamma's derivative, for its backward (not bound in Lua) */
    LT_NUNARY
} lt_unary_op;
const char *lt_unary_name(lt_unary_op op);
int lt_unary(lt_tensor *out, lt_unary_op op, const lt_tensor *a);

typedef enum {
    LT_OP_ADD, LT_OP_SUB, LT_OP_MUL, LT_OP_DIV, LT_OP_POW, LT_OP_MAX2, LT_OP_MIN2,
    LT_OP_REM, LT_OP_ATAN2,
    LT_OP_REMAINDER, /* Python's a mod b: the sign of b (REM, fmod: the sign of a) */
    /* float only, for backward: a = the gradient, b = the op's output (leaky relu: its input);
     * one pass instead of three, with the bits of the three (g * (1 - y) * y, g * (1 - y * y),
     * y <= 0 ? 0 : g, and x > 0 ? g : g * alpha, alpha the slope; at NaN, PyTorch's g and
     * g * alpha) */
    LT_OP_SIGMOID_GRAD, LT_OP_TANH_GRAD, LT_OP_RELU_GRAD, LT_OP_LEAKY_GRAD,
    LT_NBINARY
} lt_binary_op;
const char *lt_binary_name(lt_binary_op op);
/* out = a op (alpha * b) for ADD/SUB (LEAKY_GRAD: alpha is the slope; the others ignore it);
 * broadcasting. */
int lt_binary(lt_tensor *out, lt_binary_op op, const lt_tensor *a, const lt_tensor *b,
              double alpha);
/* out = a op s, with the scalar converted to a's dtype. */
int lt_binary_scalar(lt_tensor *out, lt_binary_op op, const lt_tensor *a, double s);
/* out = s op a (e.g. 1 / a, 2 ^ a). */
int lt_scalar_binary(lt_tensor *out, lt_binary_op op, double s, const lt_tensor *a);

typedef enum { LT_CMP_EQ, LT_CMP_NE, LT_CMP_LT, LT_CMP_LE, LT_CMP_GT, LT_CMP_GE } lt_cmp_op;
int lt_compare(lt_tensor *out, lt_cmp_op op, const lt_tensor *a, const lt_tensor *b); /* u8 */
int lt_compare_scalar(lt_tensor *out, lt_cmp_op op, const lt_tensor *a, double s);

int lt_clamp(lt_tensor *out, const lt_tensor *a, double lo, double hi);  /* NAN: no bound */
int lt_leaky_relu(lt_tensor *out, const lt_tensor *a, double slope);
/* out = a + value * b * c  /  out = a + value * b / c  (broadcasting) */
int lt_addcmul(lt_tensor *out, const lt_tensor *a, double value, const lt_tensor *b,
               const lt_tensor *c);
int lt_addcdiv(lt_tensor *out, const lt_tensor *a, double value, const lt_tensor *b,
               const lt_tensor *c);
/* out = cond ? a : b, cond uint8; broadcasting. */
int lt_where(lt_tensor *out, const lt_tensor *cond, const lt_tensor *a, const lt_tensor *b);
int lt_masked_fill(lt_tensor *t, const lt_tensor *mask, double value);   /* in place       */
int lt_masked_select(lt_tensor *out, const lt_tensor *t, const lt_tensor *mask); /* 1-D   */
int lt_masked_copy(lt_tensor *t, const lt_tensor *mask, const lt_tensor *src);

/* ---- reductions (core/reduce.c); dim < 0 means over all elements ----------------------- */

typedef enum {
    LT_RED_SUM, LT_RED_MEAN, LT_RED_PROD, LT_RED_MAX, LT_RED_MIN, LT_NRED
} lt_reduce_op;
/* Over all elements, the result as a double (int64 sums are exact up to 2^53). */
int lt_reduce_all(double *result, lt_reduce_op op, const lt_tensor *a);
/* The same for an integer tensor (sum, prod, max, min; not mean), exactly: an int64, sums and
 * products wrapping as int64 does (a double loses the low bits of ids and timestamps). */
int lt_reduce_all_int(int64_t *result, lt_reduce_op op, const lt_tensor *a);
/* Along one dim; out has size 1 there (keepdim) or loses it. */
int lt_reduce_dim(lt_tensor *out, lt_reduce_op op, const lt_tensor *a, int dim, int keepdim);
/* max/min along dim with their 0-based int64 indices. */
int lt_maxmin_dim(lt_tensor *values, lt_tensor *indices, const lt_tensor *a, int dim,
                  int keepdim, int want_max);
int lt_var_all(double *result, const lt_tensor *a, int unbiased);
int lt_var_dim(lt_tensor *out, const lt_tensor *a, int dim, int unbiased, int keepdim);
int lt_norm_all(double *result, const lt_tensor *a, double p);
int lt_norm_dim(lt_tensor *out, const lt_tensor *a, double p, int dim, int keepdim);
int lt_cumsum(lt_tensor *out, const lt_tensor *a, int dim);
int lt_cumprod(lt_tensor *out, const lt_tensor *a, int dim);
/* Stable sort along dim; indices are 0-based int64. */
int lt_sort(lt_tensor *values, lt_tensor *indices, const lt_tensor *a, int dim, int descending);
int lt_topk(lt_tensor *values, lt_tensor *indices, const lt_tensor *a, int64_t k, int dim,
            int largest, int sorted);

/* ---- indexing (core/index.c); index tensors are int64 and 0-based ---------------------- */

int lt_index_select(lt_tensor *out, const lt_tensor *a, int dim, const lt_tensor *index);
int lt_index_copy(lt_tensor *t, int dim, const lt_tensor *index, const lt_tensor *src);
int lt_index_add(lt_tensor *t, int dim, const lt_tensor *index, const lt_tensor *src);
int lt_index_fill(lt_tensor *t, int dim, const lt_tensor *index, double value);
int lt_gather(lt_tensor *out, const lt_tensor *a, int dim, const lt_tensor *index);
int lt_scatter(lt_tensor *t, int dim, const lt_tensor *index, const lt_tensor *src);
int lt_scatter_value(lt_tensor *t, int dim, const lt_tensor *index, double value);
int lt_scatter_add(lt_tensor *t, int dim, const lt_tensor *index, const lt_tensor *src);
int lt_nonzero(lt_tensor *out, const lt_tensor *a);        /* (n, ndim) int64, 0-based       */

/* ---- matrix products through BLAS (core/blas.c); float32/float64 ----------------------- */

/* out = beta * c + alpha * (a @ b); c may be out itself, or NULL (then beta is ignored). */
int lt_addmm(lt_tensor *out, double beta, const lt_tensor *c, double alpha,
             const lt_tensor *a, const lt_tensor *b);
int lt_mm(lt_tensor *out, const lt_tensor *a, const lt_tensor *b);
int lt_baddbmm(lt_tensor *out, double beta, const lt_tensor *c, double alpha,
               const lt_tensor *a, const lt_tensor *b);
int lt_bmm(lt_tensor *out, const lt_tensor *a, const lt_tensor *b);
int lt_addmv(lt_tensor *out, double beta, const lt_tensor *c, double alpha,
             const lt_tensor *m, const lt_tensor *v);
int lt_mv(lt_tensor *out, const lt_tensor *m, const lt_tensor *v);
int lt_dot(double *result, const lt_tensor *a, const lt_tensor *b);
/* out = beta * c + alpha * outer(a, b) */
int lt_addr(lt_tensor *out, double beta, const lt_tensor *c, double alpha,
            const lt_tensor *a, const lt_tensor *b);

/* ---- dense linear algebra through LAPACK (core/linalg.c); float32/float64 -----------------
 * a: a matrix or a batch of them (..., m, n). Every function runs on host copies of its
 * inputs (a CUDA tensor's too: no cuSOLVER) and writes fresh outs on the inputs' device;
 * inputs with a NaN or infinity, singular or not positive definite matrices are errors. */
int lt_linalg_check(const lt_tensor *a, int square);   /* dtype, >= 2 dims, square if asked */
int lt_linalg_check_solve(const lt_tensor *a, const lt_tensor *b);   /* B's type and shape  */
int lt_linalg_inverse(lt_tensor *out, const lt_tensor *a);
int lt_linalg_det(lt_tensor *out, const lt_tensor *a);              /* out: a's batch dims  */
/* A X = B: B (..., n, k) or a vector (..., n), batch dims equal to A's; lu (may be NULL):
 * PyTorch's packed LU of A (L's unit diagonal implied) */
int lt_linalg_solve(lt_tensor *x, lt_tensor *lu, const lt_tensor *a, const lt_tensor *b);
int lt_linalg_cholesky(lt_tensor *out, const lt_tensor *a, int upper);  /* L, or U = L^T  */
int lt_linalg_qr(lt_tensor *q, lt_tensor *r, const lt_tensor *a);   /* reduced: (m, k) (k, n) */
/* A = U diag(S) V^T; some: U (m, k), V (n, k), else U (m, m), V (n, n) */
int lt_linalg_svd(lt_tensor *u, lt_tensor *s, lt_tensor *v, const lt_tensor *a, int some);
/* ascending eigenvalues e (..., n) and, when vectors, eigenvectors as the columns of v;
 * upper: read A's upper triangle, else the lower one */
int lt_linalg_eigh(lt_tensor *e, lt_tensor *v, const lt_tensor *a, int vectors, int upper);
/* gradient kernels: det(A) A^{-T} (any rank), and Cholesky's backward from the factor */
int lt_linalg_cofactor(lt_tensor *out, const lt_tensor *a);
int lt_linalg_cholesky_backward(lt_tensor *ga, const lt_tensor *l, const lt_tensor *gl,
                                int upper);

/* ---- random numbers (core/random.c): Philox4x32-10, counter-based ---------------------- */
/* Element i of a draw depends only on (seed, offset, i): the same numbers for any number of
 * threads. Each draw advances the generator's offset past the counters it used. */

typedef struct { uint64_t seed; uint64_t offset; } lt_rng_state;
void         lt_rng_seed(uint64_t seed);                 /* also resets the offset to 0     */
lt_rng_state lt_rng_get_state(void);
void         lt_rng_set_state(lt_rng_state s);
/* Philox4x32-10 on one counter; exposed for tests and for the GPU backend. */
void         lt_philox(uint64_t seed, uint64_t counter, uint32_t out[4]);

int lt_rand_uniform(lt_tensor *t, double lo, double hi);      /* [lo, hi)                   */
int lt_rand_normal(lt_tensor *t, double mean, double std);
int lt_rand_bernoulli(lt_tensor *t, double p);                /* 0/1 in t's dtype           */
int lt_rand_bernoulli_tensor(lt_tensor *t, const lt_tensor *p); /* p per element            */
int lt_rand_int(lt_tensor *t, int64_t lo, int64_t hi);        /* integers in [lo, hi]       */
int lt_randperm(lt_tensor *out, int64_t n);                   /* int64 0..n-1 shuffled      */
/* n draws per row of probs (1-D or 2-D), 0-based int64 indices. */
int lt_multinomial(lt_tensor *out, const lt_tensor *probs, int64_t n, int replacement);

/* ---- autograd engine (core/autograd.c) -------------------------------------------------- */
/* A node is one recorded op: edges to the nodes that made its inputs (a leaf input gets an
 * accumulate node), the tensors it saved (detached handles plus their storage versions), and
 * a backward function. Tensors own their grad_fn; nodes own their next nodes. */

typedef struct lt_node lt_node;
/* grad_out: (noutputs) gradients w.r.t. the outputs, NULL where none arrived (read as zeros).
 * Fill grad_in[i] (ninputs) with a new tensor of input i's shape, or leave it NULL. */
typedef int (*lt_backward_fn)(lt_node *n, lt_tensor *const *grad_out, lt_tensor **grad_in);

#define LT_NODE_MAXSAVED 8
struct lt_node {
    int            refcount;
    const char    *name;                  /* "MulBackward", reported in errors             */
    lt_backward_fn backward;
    void         (*release_ctx)(lt_node *n);  /* frees ctx; may be NULL                    */
    int            ninputs, noutputs;
    lt_node      **next;                  /* (ninputs) producer of input i's gradient, or NULL */
    int           *next_slot;             /* (ninputs) which output of next[i]             */
    int64_t      (*in_size)[LT_MAXDIM];   /* (ninputs) input shapes, for undoing broadcasts */
    int           *in_ndim;               /* (ninputs)                                     */
    lt_dtype      *in_dtype;              /* (ninputs)                                     */
    lt_tensor     *saved[LT_NODE_MAXSAVED];   /* detached handles                          */
    uint32_t       saved_version[LT_NODE_MAXSAVED];
    int            nsaved;
    int            freed;                 /* saved tensors released after a backward       */
    double         d[4];                  /* op parameters: scalars                        */
    int64_t        i[LT_MAXDIM + 4];      /* op parameters: dims, sizes                    */
    void          *ctx;                   /* op-specific data (e.g. a Lua function ref)    */
    lt_tensor     *leaf;                  /* accumulate nodes: the leaf that receives grad */
    int            autocast;              /* bf16 autocast was on when recorded: the
                                             backward's products run under it too          */
    /* engine scratch, valid during one backward */
    lt_tensor    **grad_buf;              /* (noutputs)                                    */
    int            deps;
    unsigned       mark;
};

int  lt_grad_enabled(void);
void lt_set_grad_enabled(int enabled);
/* True when recording is on and some input requires grad. */
int  lt_needs_grad(int n, const lt_tensor *const *inputs);
/* A node over the inputs that require grad (others get no edge); NULL + LT_ERR on OOM. */
lt_node *lt_node_new(const char *name, lt_backward_fn fn, int ninputs,
                     lt_tensor *const *inputs, int noutputs);
int   lt_node_save(lt_node *n, const lt_tensor *t);        /* index of the saved handle     */
/* The saved tensor k, or NULL + error when it was modified in place since it was saved. */
lt_tensor *lt_node_saved(lt_node *n, int k);
void  lt_node_set_output(lt_node *n, lt_tensor *out, int slot);  /* out->grad_fn = n       */
void  lt_node_retain(lt_node *n);
/* When input k of n feeds a leaf's existing .grad and nothing else (an accumulate edge), that
 * .grad: a backward may add its gradient straight into it (e.g. a GEMM with beta = 1) and
 * leave gin[k] NULL, saving a temporary and an add. NULL otherwise. */
lt_tensor *lt_node_leaf_grad(const lt_node *n, int k);
void  lt_node_release(lt_node *n);
/* Runs reverse mode from root with gradient grad (NULL: root must have one element; the
 * gradient is 1), accumulating into the .grad of leaves that require grad. */
int   lt_backward(lt_tensor *root, const lt_tensor *grad, int retain_graph);
/* The same from several roots at once (each grads[k] may be NULL as above). */
/* Gradient-ready hooks (the overlap of nn.DistributedDataParallel): during a backward pass,
 * leaf_ready(leaf) is called as soon as every contribution of this pass to the .grad of a
 * leaf with grad_hook set has been accumulated (the rest of the graph may still be running),
 * and pass_done(status) once at the end of a pass that called leaf_ready, also after an
 * error (status: the pass's own). A nonzero return from either stops the pass with that
 * error (set it with lt_error). NULL hooks: none are called. */
typedef struct {
    int (*leaf_ready)(lt_tensor *leaf, void *ud);
    int (*pass_done)(int status, void *ud);
    void *ud;
} lt_grad_hooks;
void  lt_autograd_set_hooks(const lt_grad_hooks *hooks);
/* From inside node n's backward: input k's gradient is final now (gin[k], or already written
 * into the parameter's .grad). When gradient-ready hooks are on and input k is a parameter
 * used only here, its accumulate node runs at once (taking gin[k]) and its hook fires, so a
 * multi-layer node (the fused nn.LSTM) reports each layer's weights as soon as that layer is
 * done; otherwise nothing happens and the engine takes gin[k] after the backward as usual. */
int   lt_node_input_ready(lt_node *n, int k, lt_tensor **gin);
int   lt_backward_many(int n, lt_tensor *const *roots, const lt_tensor *const *grads,
                       int retain_graph);
/* Refuses an op that writes into an existing tensor (in place, or a [res,] result) when
 * recording is on and an input requires grad, or out is a recorded (non-leaf) result: such
 * writes cannot be differentiated. Plain data written into a leaf is allowed (Torch7's
 * m.weight:copy(w)); nodes that saved the leaf detect the change by its version. */
int   lt_check_inplace(const lt_tensor *out, int n, const lt_tensor *const *inputs);
/* Sums g over the broadcast dims so that it has shape (ndim, size); out receives it. */
int   lt_sum_to_shape(lt_tensor *out, const lt_tensor *g, int ndim, const int64_t *size);

/* ---- recording differentiable ops (core/grad_*.c) ---------------------------------------
 * A binding calls lt_rec_<op> right after the op wrote a FRESH result tensor `out` from its
 * inputs (never after an in-place or [res,] write: see lt_check_inplace). Each one records a
 * node when lt_needs_grad(inputs) and does nothing otherwise, so the cost without grad is one
 * test. Indices passed here are 0-based int64 tensors (the ones the op used). */

/* grad_pointwise.c */
int lt_rec_unary(lt_tensor *out, lt_unary_op op, lt_tensor *a);
int lt_rec_binary(lt_tensor *out, lt_binary_op op, lt_tensor *a, lt_tensor *b, double alpha);
int lt_rec_binary_scalar(lt_tensor *out, lt_binary_op op, lt_tensor *a, double s);
int lt_rec_scalar_binary(lt_tensor *out, lt_binary_op op, double s, lt_tensor *a);
int lt_rec_clamp(lt_tensor *out, lt_tensor *a, double lo, double hi);
int lt_rec_leaky_relu(lt_tensor *out, lt_tensor *a, double slope);
int lt_rec_addcmul(lt_tensor *out, lt_tensor *a, double value, lt_tensor *b, lt_tensor *c,
                   int divide);
int lt_rec_where(lt_tensor *out, lt_tensor *cond, lt_tensor *a, lt_tensor *b); /* a/b NULL: number */
int lt_rec_masked_select(lt_tensor *out, lt_tensor *a, lt_tensor *mask);

/* grad_reduce.c */
int lt_rec_reduce_all(lt_tensor *out, lt_reduce_op op, lt_tensor *a);           /* out 0-dim */
int lt_rec_reduce_dim(lt_tensor *out, lt_reduce_op op, lt_tensor *a, int dim, int keepdim);
int lt_rec_maxmin_all(lt_tensor *out, lt_tensor *a, int want_max);                 /* out 0-dim */
int lt_rec_maxmin_dim(lt_tensor *values, lt_tensor *indices, lt_tensor *a, int dim, int keepdim);
int lt_rec_var(lt_tensor *out, lt_tensor *a, int dim, int unbiased, int keepdim, int take_sqrt);
int lt_rec_norm(lt_tensor *out, lt_tensor *a, double p, int dim, int keepdim);  /* dim -1: all */
int lt_rec_cumsum(lt_tensor *out, lt_tensor *a, int dim);
int lt_rec_cumprod(lt_tensor *out, lt_tensor *a, int dim);
int lt_rec_sort(lt_tensor *values, lt_tensor *indices, lt_tensor *a, int dim);  /* sort, topk */

/* grad_blas.c */
int lt_rec_addmm(lt_tensor *out, double beta, lt_tensor *c, double alpha, lt_tensor *a,
                 lt_tensor *b);                                         /* c NULL: mm       */
int lt_rec_baddbmm(lt_tensor *out, double beta, lt_tensor *c, double alpha, lt_tensor *a,
                   lt_tensor *b);                                       /* c NULL: bmm      */
int lt_rec_addmv(lt_tensor *out, double beta, lt_tensor *c, double alpha, lt_tensor *m,
                 lt_tensor *v);                                         /* c NULL: mv       */
int lt_rec_addr(lt_tensor *out, double beta, lt_tensor *c, double alpha, lt_tensor *a,
                lt_tensor *b);                                          /* c NULL: outer    */
int lt_rec_dot(lt_tensor *out, lt_tensor *a, lt_tensor *b);                        /* out 0-dim */
/* out = x @ w^T (+ bias), x (N, in) or (in), w (out, in), bias (out) or NULL: nn.Linear as one
 * node whose edges reach the parameters themselves, so their gradients go straight into
 * their .grad (lt_node_leaf_grad) */
int lt_linear(lt_tensor *out, const lt_tensor *x, const lt_tensor *w, const lt_tensor *bias);
int lt_rec_linear(lt_tensor *out, lt_tensor *x, lt_tensor *w, lt_tensor *bias);
/* PyTorch's matmul (dot, mm, mv, or batched with broadcast batch dims; a 1-D a is a row,
 * a 1-D b a column, and the result drops those dims): out as the Lua binding computes it */
int lt_rec_matmul(lt_tensor *out, lt_tensor *a, lt_tensor *b);

/* grad_linalg.c */
int lt_rec_inverse(lt_tensor *out, lt_tensor *a);
int lt_rec_det(lt_tensor *out, lt_tensor *a);
int lt_rec_solve(lt_tensor *out, lt_tensor *a, lt_tensor *b);
int lt_rec_cholesky(lt_tensor *out, lt_tensor *a, int upper);

/* grad_shape.c: views, copies, joins, indexing */
typedef enum {
    LT_VIEW_NARROW,     /* args: dim, start, length                                          */
    LT_VIEW_SELECT,     /* args: dim, index                                                  */
    LT_VIEW_TRANSPOSE,  /* args: dim0, dim1                                                  */
    LT_VIEW_PERMUTE,    /* args: the permutation (out dim i = input dim args[i])            */
    LT_VIEW_RESHAPE,    /* view, reshape, (un)squeeze, viewAs: the gradient takes a's shape */
    LT_VIEW_EXPAND,     /* expand, expandAs: the gradient is summed back to a's shape        */
    LT_VIEW_UNFOLD      /* args: dim, size, step; the windows' gradients are summed back      */
} lt_view_kind;
int lt_rec_view(lt_tensor *out, lt_tensor *a, lt_view_kind kind, const int64_t *args);
int lt_rec_copy(lt_tensor *out, lt_tensor *a);       /* clone, contiguous, type conversion  */
/* split/chunk: pieces[k] = narrow(a, dim, k * piece, ...), one node for all of them, whose
 * backward writes each piece's gradient into its slice of one tensor */
int lt_rec_split(lt_tensor *const *pieces, int count, lt_tensor *a, int dim, int64_t piece);
int lt_rec_cat(lt_tensor *out, lt_tensor *const *ts, int n, int dim);
int lt_rec_stack(lt_tensor *out, lt_tensor *const *ts, int n, int dim);
int lt_rec_index_select(lt_tensor *out, lt_tensor *a, int dim, lt_tensor *index);
int lt_rec_gather(lt_tensor *out, lt_tensor *a, int dim, lt_tensor *index);

/* ---- nn kernels (core/nnops.c): fused, numerically stable --------------------------------- */

int lt_softmax(lt_tensor *out, const lt_tensor *a, int dim);
int lt_log_softmax(lt_tensor *out, const lt_tensor *a, int dim);
/* out (0-dim) = mean (size_average) or sum over i of -weight[t_i] * logp[i, t_i]; logp is
 * (N, C) with target (N) int64 0-based, or (C) with a one-element target. The mean divides
 * by the summed weights, as PyTorch does. weight (C) may be NULL. Rows whose target is
 * ignore (0-based; LT_NO_IGNORE for none) add nothing, to the loss, its normaliser or the
 * gradient (PyTorch's ignore_index; all rows ignored: the mean is 0 / 0). */
#define LT_NO_IGNORE INT64_MIN
int lt_nll_loss(lt_tensor *out, const lt_tensor *logp, const lt_tensor *target,
                const lt_tensor *weight, int size_average, int64_t ignore);
/* log_softmax + nll_loss in one pass over the logits */
int lt_cross_entropy(lt_tensor *out, const lt_tensor *input, const lt_tensor *target,
                     const lt_tensor *weight, int size_average, int64_t ignore);
int lt_rec_softmax(lt_tensor *out, lt_tensor *a, int dim);
int lt_rec_log_softmax(lt_tensor *out, lt_tensor *a, int dim);
int lt_rec_nll_loss(lt_tensor *out, lt_tensor *logp, lt_tensor *target, lt_tensor *weight,
                    int size_average, int64_t ignore);
int lt_rec_cross_entropy(lt_tensor *out, lt_tensor *input, lt_tensor *target,
                         lt_tensor *weight, int size_average, int64_t ignore);

/* ---- LSTM (core/lstm.c): fused multi-layer LSTM and LSTM cell, one autograd node each ---- */
/* PyTorch's layout: per layer l, weight_ih [4H x I_l], weight_hh [4H x H], bias_ih [4H],
 * bias_hh [4H], gates in the order (i, f, g, o); I_0 = input size, I_l = H above. */

/* Workspaces of one nn.LSTM, reused across calls at a fixed shape (see core/lstm.c). */
typedef struct lt_lstm lt_lstm;
lt_lstm *lt_lstm_new(void);
void     lt_lstm_free(lt_lstm *m);       /* workspaces pending graphs use live on with them */

typedef struct {
    int    num_layers;
    int    batch_first;                  /* x is B x T x I (else T x B x I)                 */
    double dropout;                      /* on the inputs of layers > 0, when train         */
    int    train;
} lt_lstm_opts;

/* out (T x B x H, or B x T x H batch-first), hn and cn (L x B x H) receive new handles.
 * h0, c0: L x B x H or NULL (zeros). weights: 4 * num_layers tensors (w_ih, w_hh, b_ih, b_hh
 * per layer; the biases NULL when has_bias is 0). m may be NULL (no workspace reuse). With
 * grad recorded, the results are views of workspace buffers that the next call after the
 * backward overwrites; without grad they are fresh tensors. */
int lt_lstm_forward(lt_lstm *m, const lt_lstm_opts *o, lt_tensor *x, lt_tensor *h0,
                    lt_tensor *c0, lt_tensor *const *weights, int has_bias, lt_tensor **out,
                    lt_tensor **hn, lt_tensor **cn);
/* One step: x (B x I or I), h and c (B x H or H; NULL: zeros) -> new h1, c1. Biases may be
 * NULL (both). */
int lt_lstm_cell(lt_tensor *x, lt_tensor *h, lt_tensor *c, lt_tensor *w_ih, lt_tensor *w_hh,
                 lt_tensor *b_ih, lt_tensor *b_hh, lt_tensor **h1, lt_tensor **c1);

/* ---- recurrent layers (core/rnn.c): one layer, one direction, one autograd node ---------- */
/* modes, with G gate rows per hidden unit: Elman tanh / relu (1), GRU (3: r, z, n), LSTM (4) */
enum { LT_RNN_TANH, LT_RNN_RELU, LT_RNN_GRU, LT_RNN_LSTM };
/* x: T x B x I (time-major); h0, c0: B x H or NULL (zeros; c0 for the LSTM only); w: w_ih
 * [G*H x I], w_hh [G*H x H], b_ih, b_hh [G*H] (both NULL without bias); lengths: an int64
 * tensor of B lengths in [1, T], or NULL; reverse: run from the last step to the first.
 * y (T x B x H, zero past each length), hn and cn (B x H: the state after each sequence's
 * last step; cn only for the LSTM, and may be NULL otherwise) receive fresh tensors, on the
 * host or on the CUDA device of every operand but the lengths (gpu/rnn.cu there). */
/* ws: the caller's workspaces (one per layer and direction of a module), or NULL: on a CUDA
 * device the time loops' buffers then hold still from call to call at a fixed shape, and
 * the loops replay from CUDA graphs (see core/rnn.c); ignored on the host. */
typedef struct lt_rnn_ws lt_rnn_ws;
lt_rnn_ws *lt_rnn_ws_new(void);
void       lt_rnn_ws_free(lt_rnn_ws *m);  /* workspaces pending graphs use live on with them */
int lt_rnn_layer(int mode, int reverse, lt_tensor *x, lt_tensor *h0, lt_tensor *c0,
                 lt_tensor *const *w, lt_tensor *lengths, lt_rnn_ws *ws, lt_tensor **y,
                 lt_tensor **hn, lt_tensor **cn);

/* Benchmark support: the GEMMs the LSTM code issues between start and stop (row-major
 * op(A) m x k times op(B) k x n), and a replay of such a list as bare BLAS calls on
 * preallocated buffers (the best of reps runs, in seconds). *calls is the caller's to free. */
typedef struct { int ta, tb; int64_t m, n, k; double beta; lt_dtype dtype; } lt_gemm_call;
void lt_gemm_trace_start(void);
int  lt_gemm_trace_stop(lt_gemm_call **calls, int *n);
int  lt_gemm_replay(const lt_gemm_call *calls, int n, int reps, int cpu_clock, double *best);
const char *lt_blas_corename(void);   /* the kernels OpenBLAS picked ("Haswell", ...)   */

/* ---- convolution, pooling, batch norm (core/conv.c): N x C x H x W, float, host ---------- */

/* [0] is along H, [1] along W. output_padding: transposed convolutions only. */
typedef struct {
    int64_t stride[2], padding[2], dilation[2], output_padding[2];
    int64_t groups;
} lt_conv_params;
/* out = conv(x, w) + bias: w Cout x Cin/groups x kh x kw, bias (Cout) or NULL (im2col + GEMM) */
int lt_conv2d(lt_tensor *out, const lt_tensor *x, const lt_tensor *w, const lt_tensor *bias,
              const lt_conv_params *p);
/* the transposed convolution (the gradient of conv2d w.r.t. its input): w Cin x Cout/groups x
 * kh x kw; output (H - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1 */
int lt_conv_transpose2d(lt_tensor *out, const lt_tensor *x, const lt_tensor *w,
                        const lt_tensor *bias, const lt_conv_params *p);
/* which code runs float32 convolutions: chosen per shape (default), always im2col + GEMM, or
 * always oneDNN (where built in and it takes the shape; float64 stays on im2col) */
enum { LT_CONV_AUTO, LT_CONV_IM2COL, LT_CONV_ONEDNN };
int lt_conv_set_backend(int backend);
int lt_conv_get_backend(void);
int lt_rec_conv2d(lt_tensor *out, lt_tensor *x, lt_tensor *w, lt_tensor *bias,
                  const lt_conv_params *p);
int lt_rec_conv_transpose2d(lt_tensor *out, lt_tensor *x, lt_tensor *w, lt_tensor *bias,
                            const lt_conv_params *p);

typedef struct {
    int64_t kernel[2], stride[2], padding[2], dilation[2];
    int ceil_mode, count_include_pad;   /* count_include_pad: average pooling only */
} lt_pool_params;
/* indices (int64) receive each maximum's position in its plane, y * W + x (0-based) */
int lt_max_pool2d(lt_tensor *out, lt_tensor *indices, const lt_tensor *x, const lt_pool_params *p);
int lt_avg_pool2d(lt_tensor *out, const lt_tensor *x, const lt_pool_params *p);
int lt_adaptive_max_pool2d(lt_tensor *out, lt_tensor *indices, const lt_tensor *x, int64_t oh,
                           int64_t ow);
int lt_adaptive_avg_pool2d(lt_tensor *out, const lt_tensor *x, int64_t oh, int64_t ow);
int lt_rec_max_pool2d(lt_tensor *out, lt_tensor *x, lt_tensor *indices);   /* both max forms */
int lt_rec_avg_pool2d(lt_tensor *out, lt_tensor *x, const lt_pool_params *p, int adaptive);

/* x: N x C [x ...]; per-channel statistics of the batch (training; running_mean/var, when
 * given, move towards them by momentum, the variance unbiased as in PyTorch) or the running
 * ones (evaluation). save_mean / save_invstd (C) receive the statistics used. w, b may be NULL. */
int lt_batch_norm(lt_tensor *out, lt_tensor *save_mean, lt_tensor *save_invstd,
                  const lt_tensor *x, const lt_tensor *w, const lt_tensor *b,
                  lt_tensor *running_mean, lt_tensor *running_var, int training,
                  double momentum, double eps);
int lt_rec_batch_norm(lt_tensor *out, lt_tensor *x, lt_tensor *w, lt_tensor *b,
                      lt_tensor *save_mean, lt_tensor *save_invstd, int training);

/* ---- optimizer updates (core/optim.c): in place over whole tensors, PyTorch's rules ------ */

/* buf: momentum buffer (same shape) or NULL when momentum == 0; first: buf is uninitialised */
int lt_sgd_step(lt_tensor *param, const lt_tensor *grad, lt_tensor *buf, double lr,
                double momentum, double dampening, double weight_decay, int nesterov, int first);
/* m, v: moment buffers (zero at step 1); step counts from 1 */
int lt_adam_step(lt_tensor *param, const lt_tensor *grad, lt_tensor *m, lt_tensor *v,
                 double lr, double beta1, double beta2, double eps, double weight_decay,
                 int64_t step);
/* AdamW: param *= 1 - lr * weight_decay, then Adam's update without weight decay */
int lt_adamw_step(lt_tensor *param, const lt_tensor *grad, lt_tensor *m, lt_tensor *v,
                  double lr, double beta1, double beta2, double eps, double weight_decay,
                  int64_t step);
int lt_rmsprop_step(lt_tensor *param, const lt_tensor *grad, lt_tensor *square_avg,
                    double lr, double alpha, double eps, double weight_decay);
int lt_adagrad_step(lt_tensor *param, const lt_tensor *grad, lt_tensor *sum, double lr,
                    double lr_decay, double weight_decay, double eps, int64_t step);
/* Scales every grad by max_norm / total when the total 2-norm exceeds max_norm. */
int lt_clip_grad_norm(lt_tensor *const *grads, int n, double max_norm, double *total_norm);

/* ---- checkpoint files (core/fileio.c) ------------------------------------------------------ */

/* Atomic writes: data goes to a temporary file beside path; lt_afile_commit flushes, fsyncs
 * and renames it over path (then fsyncs the directory), so readers see the old file or the
 * complete new one, never a partial one. lt_afile_abort removes the temporary. Both free f.
 * lt_afile_open first removes path's temporaries left by writers no longer running. */
typedef struct lt_afile lt_afile;
lt_afile *lt_afile_open(const char *path);                 /* NULL + error                   */
int       lt_afile_write(lt_afile *f, const void *data, size_t n);   /* buffered, appends  */
int       lt_afile_pwrite(lt_afile *f, const void *data, size_t n, int64_t offset); /* patch */
int64_t   lt_afile_tell(const lt_afile *f);                /* bytes appended so far           */
int       lt_afile_commit(lt_afile *f);
void      lt_afile_abort(lt_afile *f);
/* Reads a whole regular file into *data (malloc'd; the caller frees it). */
int       lt_read_file(const char *path, void **data, int64_t *size);
/* zlib's CRC-32 (start with crc = 0), for any length. */
uint32_t  lt_crc32(uint32_t crc, const void *data, size_t n);

/* ---- threads ------------------------------------------------------------------------------ */

/* The core's thread count (core/pool.c): the default is LUATORCH_NUM_THREADS, else
 * OMP_NUM_THREADS, else the CPUs this process may run on; n is clamped to [1, 4096]. */
void lt_set_num_threads(int n);
int  lt_get_num_threads(void);

#endif /* LT_H */
