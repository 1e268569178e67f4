/*
 * lt_internal.h — private helpers of the core: the strided N-operand iterator that every
 * elementwise op runs on, dtype dispatch macros, and the thread pool's interface.
 * Not installed; extensions use lt.h only.
 */
#ifndef LT_INTERNAL_H
#define LT_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "lt.h"

#define LT_MAXOPS 5

/* ---- threads (core/pool.c; docs/ARCHITECTURE.md, "Threads") ------------------------------- */

/* Runs fn(ctx, 0) .. fn(ctx, nchunks - 1), each chunk exactly once, on the calling thread and
 * up to lt_get_num_threads() - 1 pool workers; returns when every chunk has finished. The
 * caller claims chunks too and waits only for chunks workers already claimed. Inside a chunk
 * (or with one thread, or one chunk) it runs every chunk inline, in order, on the caller.
 * Chunk boundaries must depend on the loop and the thread count only (never on which thread
 * runs a chunk); a reduction keeps one partial per chunk and adds them in chunk order. */
void lt_parallel_for(int64_t nchunks, void (*fn)(void *ctx, int64_t chunk), void *ctx);
/* True inside a chunk of lt_parallel_for, on any thread (the caller's included): code there
 * must stay on this thread (lt_blas_gemm runs single-threaded there). */
int lt_in_parallel(void);
/* A host work buffer of `bytes` from the storage block cache (core/storage.c keeps freed blocks
 * by size): buffers of the same size every step are reused, where a fresh malloc of megabytes is
 * a fresh mmap whose page faults cost as much as the work that fills it. *hold owns it; NULL (an
 * error set) when out of memory. lt_scratch_put(hold) gives it back (NULL: nothing). */
void *lt_scratch_get(size_t bytes, lt_tensor **hold);
void lt_scratch_put(lt_tensor *hold);
/* The cost model: how many chunks a loop of `flops` arithmetic operations moving `bytes`
 * bytes gets: 1 (run it here, serially) unless each chunk holds at least LT_PAR_CHUNK_NS of
 * work at the rates below, at most LT_PAR_PER_THREAD chunks per thread. Fixed rates of one
 * core, per nanosecond (docs/ARCHITECTURE.md, "Threads", says how they were chosen). */
#define LT_PAR_FLOPS_NS   4.0     /* simple vectorised arithmetic */
#define LT_PAR_GEMM_NS    40.0    /* a GEMM's flops (2 per multiply-add) */
#define LT_PAR_BYTES_NS   8.0     /* memory traffic (read + written) */
#define LT_PAR_CHUNK_NS   40000.0 /* least work per chunk */
#define LT_PAR_PER_THREAD 4
int64_t lt_par_chunks(double flops, double bytes);
/* fn(ctx, lo, hi) over [0, len) cut in `chunks` ranges (lt_par_range), as lt_parallel_for */
void lt_parallel_range(int64_t chunks, int64_t len, void (*fn)(void *ctx, int64_t lo, int64_t hi),
                       void *ctx);
/* step(ctx, b, t) for every block b < nblocks and step t < nsteps, the steps of one block in
 * order (t after t - 1), blocks independent of one another (a recurrence over time on blocks
 * of batch rows): threads take a free block for one step at a time, so a thread descheduled
 * in a step delays only that block, and the caller keeps the others going. */
void lt_parallel_steps(int64_t nblocks, int64_t nsteps,
                       void (*step)(void *ctx, int64_t block, int64_t t), void *ctx);
/* The pool's self-test: nchunks chunks, each calling a nested lt_parallel_for of `nested`
 * chunks; *ran_once: chunks that ran exactly once, *nested_ran: nested chunks run, *threads:
 * distinct threads that ran chunks, *ok: lt_in_parallel held inside every chunk and not
 * outside, and every nested call ran inline, in order, on its chunk's thread. */
int lt_pool_probe(int64_t nchunks, int64_t nested, int64_t *ran_once, int64_t *nested_ran,
                  int *threads, int *ok);
/* [lo, hi) of chunk i of n over len items (boundaries depend on len and n only) */
static inline void lt_par_range(int64_t len, int64_t n, int64_t i, int64_t *lo, int64_t *hi)
{
    *lo = len * i / n;
    *hi = len * (i + 1) / n;
}

/* Operands 0..nops-1 over one shape (operand 0's), after broadcasting and merging dims. */
typedef struct {
    int     nops;
    int     ndim;                           /* >= 1 after init                          */
    int64_t size[LT_MAXDIM];                /* (ndim), innermost last                   */
    int64_t stride[LT_MAXOPS][LT_MAXDIM];   /* (nops, ndim) in elements; 0 = broadcast  */
    char   *data[LT_MAXOPS];                /* (nops) address of element 0              */
    size_t  elsize[LT_MAXOPS];
    int64_t numel;
} lt_iter;

/* Inner loop over n elements; strides[k] is operand k's inner stride in elements. */
typedef void (*lt_loop_fn)(char **data, const int64_t *strides, int64_t n, const void *ctx);

/* ops[0] gives the shape; every other operand must broadcast to it (checked). Refuses device
 * tensors (a host loop would read device memory): gpu/ calls lt_iter_init_any. */
int  lt_iter_init(lt_iter *it, int nops, const lt_tensor *const *ops);
int  lt_iter_init_any(lt_iter *it, int nops, const lt_tensor *const *ops);
/* Runs fn over every element, in chunks on the pool where lt_par_chunks says they pay (from
 * the element count and the operands' bytes), unless serial is set. */
void lt_iter_run(const lt_iter *it, lt_loop_fn fn, const void *ctx, int serial);
/* The same, where `work` (elements x cost per element) decides whether threads pay off;
 * each position is handled by exactly one call of fn. */
void lt_iter_run_work(const lt_iter *it, lt_loop_fn fn, const void *ctx, int64_t work);
/* fn over the positions [begin, end) of the flat iteration order, on this thread. */
void lt_iter_run_range(const lt_iter *it, lt_loop_fn fn, const void *ctx, int64_t begin,
                       int64_t end);

/* True when a and b are backed by the same storage (they may overlap). */
int lt_shares_storage(const lt_tensor *a, const lt_tensor *b);
/* True when t and u are the same elements in the same order (in-place safe). */
int lt_same_layout(const lt_tensor *t, const lt_tensor *u);
/* Prepares out for an elementwise result of shape (ndim, size): resizes it, and if it
 * overlaps any input in a different layout, points *target at a fresh temporary that
 * lt_out_finish copies back. */
int lt_out_prepare(lt_tensor *out, int ndim, const int64_t *size, const lt_tensor *const *ins,
                   int nins, lt_tensor **target);
int lt_out_finish(lt_tensor *out, lt_tensor *target, int status);
/* Two outputs of one shape (values and indices); on failure nothing is left allocated. */
int lt_out_prepare_pair(lt_tensor *o1, lt_tensor *o2, int ndim, const int64_t *size,
                        const lt_tensor *a, lt_tensor **t1, lt_tensor **t2);
int lt_out_finish_pair(lt_tensor *o1, lt_tensor *t1, lt_tensor *o2, lt_tensor *t2, int st);
/* src, or a private copy of it (on its device, in *tmp) when it shares storage with t, the
 * tensor being written: writes must not change what is still to be read. */
const lt_tensor *lt_unaliased(const lt_tensor *t, const lt_tensor *src, lt_tensor **tmp);
/* A result that shares storage with the input it reads (out[k] = a[idx[k]]) is computed into
 * fresh, then copied or set into out; fresh is released. */
int lt_out_through(lt_tensor *out, lt_tensor *fresh, int st);
/* Broadcast shape of several tensors. */
int lt_broadcast_many(const lt_tensor *const *ts, int n, int *ndim, int64_t *size);
/* Checks dim in [0, ndim) and reports it 1-based in the message, as the Lua user sees it. */
int lt_check_dim(const char *what, int dim, int ndim);
void lt_storage_bump(lt_tensor *t);              /* in-place write: version++          */
/* bf16.c: lt_binary / lt_reduce_dim with a bfloat16 operand (the autograd engine's sums of a
 * BFloat16 leaf's gradients, view backwards): widened to float32, rounded once into out. */
int lt_bf16_binary(lt_tensor *out, lt_binary_op op, const lt_tensor *a, const lt_tensor *b,
                   double alpha);
int lt_bf16_reduce_dim(lt_tensor *out, lt_reduce_op op, const lt_tensor *a, int dim, int keepdim);
/* The full Philox4x32-10 block (128-bit counter, 64-bit key), for known-answer tests;
 * lt_philox(seed, counter) is this with ctr = {counter lo, counter hi, 0, 0}, key = seed. */
void lt_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);


/* dst[k] <- src[k] (NULL: zeros) for k < n, as n lt_copy calls, host copies of one shape in one
 * parallel region; the dsts must not overlap one another (a cat's or split's pieces). */
int lt_copy_many(lt_tensor *const *dst, const lt_tensor *const *src, int n);

/* da = g * y and db = g * x (a product's two input gradients), in one pass when g, x, y are
 * host float tensors of one shape and da, db fresh; else as two lt_binary products. */
int lt_mul_pair(lt_tensor *da, lt_tensor *db, const lt_tensor *g, const lt_tensor *x,
                const lt_tensor *y);

/* True when t has a stride-0 dim of size > 1 (an expand): writing it would write one element
 * through several positions. */
static inline int lt_is_expanded(const lt_tensor *t)
{
    for (int i = 0; i < t->ndim; i++)
        if (t->stride[i] == 0 && t->size[i] > 1) return 1;
    return 0;
}

/* A 0-d tensor seen as 1-d of size 1, so that dim 0 (Lua's 1 or -1) works on scalars. */
static inline lt_tensor lt_as_1d(const lt_tensor *t)
{
    lt_tensor v = *t;
    if (v.ndim == 0) {
        v.ndim = 1;
        v.size[0] = 1;
        v.stride[0] = 1;
    }
    return v;
}

/* ---- BLAS layouts (core/blas.c), shared with gpu/blas.cu --------------------------------- */

/* How BLAS sees a rows x cols matrix with strides (s0, s1): row-major or column-major with
 * leading dimension ld; 0 when neither describes it. */
int lt_blas_mat_layout(int64_t rows, int64_t cols, int64_t s0, int64_t s1, int *colmajor,
                       int64_t *ld);
/* Whether BLAS can take t (vector, matrix, batch of matrices) as it is (an output: with
 * batch slices that do not overlap). */
int lt_blas_usable(const lt_tensor *t, int for_output);
/* *use = t, or a contiguous copy on t's device in *copy (the caller releases it). */
int lt_blas_operand(const lt_tensor *t, const lt_tensor **use, lt_tensor **copy);
/* The product's target: out (resized) or a temporary on out's device; finish copies back. */
int lt_blas_prepare_target(lt_tensor *out, int nd, const int64_t *rs, const lt_tensor *a,
                           const lt_tensor *b, const lt_tensor *c, lt_tensor **target);
int lt_blas_finish_target(lt_tensor *out, lt_tensor *target, int st);
/* C (m x n) = alpha op(A) op(B) + beta C through cblas_sgemm / cblas_dgemm by dt: row-major
 * unless colmajor, op = transpose where ta / tb is set (host memory; core/lstm.c too). Always
 * on the calling thread: OpenBLAS is single-threaded for good (core/pool.c), so inside a chunk
 * (lt_in_parallel()) it never starts threads of its own. */
void lt_blas_gemm(lt_dtype dt, int colmajor, int ta, int tb, int64_t m, int64_t n, int64_t k,
                  double alpha, const void *a, int64_t lda, const void *b, int64_t ldb,
                  double beta, void *c, int64_t ldc);
/* The same (row-major), cut in slabs of C on the pool where the cost model says they pay
 * (blas.c's gemm_run); inside a chunk it is lt_blas_gemm. */
void lt_blas_gemm_par(lt_dtype dt, int ta, int tb, int64_t m, int64_t n, int64_t k, double alpha,
                      const void *a, int64_t lda, const void *b, int64_t ldb, double beta, void *c,
                      int64_t ldc);
/* The recurrent layers' sweeps (core/lstm.c, shared by core/rnn.c): lt_sweep_chunks is the
 * chunk count for a sweep over T steps of B batch rows of `gates` x H units (1 when small or
 * inside a chunk); lt_gemm_chunks the row blocks of an m x n x k GEMM split along m. */
int lt_sweep_chunks(int64_t T, int64_t B, int64_t H, int gates);
/* The sweep's blocks are whole groups of 8 batch rows (lt_sweep_groups of them), block k of nb
 * is rows [*b0, *b1): per-group bias-gradient partials keep their order at any block count. */
#define LT_SWEEP_GROUP 8
int64_t lt_sweep_groups(int64_t B);
void lt_sweep_rows(int64_t B, int64_t nb, int64_t k, int64_t *b0, int64_t *b1);
int lt_gemm_chunks(int64_t m, int64_t n, int64_t k);
/* Rows [b0, b1) of a sweep's per-step product C (B x n) = A (B x k) op(B) (a, c at row b0):
 * a block's part, on the engine the whole takes; on OpenBLAS group by group of LT_SWEEP_GROUP
 * rows, so that the rows per call, and a row's bits, never follow the thread count. */
void lt_sweep_gemm(lt_dtype dt, int64_t B, int64_t b0, int64_t b1, int tb, int64_t n, int64_t k,
                   const void *a, int64_t lda, const void *b, int64_t ldb, double beta, void *c,
                   int64_t ldc);
/* records one logical GEMM in torch._gemmTrace's list (the benchmarks' floor) while one runs */
void lt_gemm_trace_note(lt_dtype dt, int ta, int tb, int64_t m, int64_t n, int64_t k, double beta);
/* target <- beta * c as a product's starting value, or zeros (see blas.c); *beta_left is the
 * beta BLAS still has to apply */
int lt_blas_load_c(lt_tensor *target, const lt_tensor *c, double beta, int blas_zeroes,
                   double *beta_left);

/* index.c: every element of index (host or device) in [0, size), else the error naming the
 * first bad one 1-based */
int lt_index_check_range(const lt_tensor *index, int64_t size, int dim);

/* ---- devices ------------------------------------------------------------------------------ */

/* The device the tensors live on (NULL entries are skipped; LT_CPU when none), or LT_ERR
 * naming both devices when they differ. */
int lt_common_device(int *dev, int n, const lt_tensor *const *ts);
/* Readies out for a result on device dev: a tensor whose storage holds no bytes (a fresh
 * lt_tensor_empty) moves there; any other tensor must already live there. */
int lt_out_on(lt_tensor *out, int dev);
/* 1 when the operands (out may be NULL) live on a device, after the checks above; 0 on the
 * host; LT_ERR on a mix. */
int lt_route(lt_tensor *out, int n, const lt_tensor *const *ins);
/* Host copies of device inputs for ops that run on the host whatever the device (results of
 * data-dependent size, sequential draws): *h is t itself on the host, else a new host copy
 * (release it with lt_host_release). */
int  lt_host_copy(const lt_tensor *t, const lt_tensor **h);
void lt_host_release(const lt_tensor *t, const lt_tensor *h);
/* out (any device) = host result hr: resized to hr's shape, then copied across. */
int  lt_host_result(lt_tensor *out, const lt_tensor *hr);

/* An op's first lines: LT_GPU_ROUTE(out, lt_gpu_op(...), inputs...) hands the op to its twin
 * in gpu/ when the operands live on a device. It vanishes in a build without CUDA, where no
 * tensor can live on a device. */
#ifdef LT_HAVE_CUDA
#include "../gpu/lt_gpu.h"
#define LT_GPU_ROUTE(out, call, ...)                                                        \
    do {                                                                                    \
        const lt_tensor *lt_ins_[] = {__VA_ARGS__};                                         \
        int lt_r_ = lt_route((out), (int)(sizeof lt_ins_ / sizeof *lt_ins_), lt_ins_);      \
        if (lt_r_) return lt_r_ < 0 ? LT_ERR : (call);                                     \
    } while (0)
#else
#define LT_GPU_ROUTE(out, call, ...) ((void)0)
#endif

/* Typed element access by dtype. */
#define LT_DISPATCH(dt, MACRO)                              \
    switch (dt) {                                           \
    case LT_FLOAT32: MACRO(float); break;                   \
    case LT_FLOAT64: MACRO(double); break;                  \
    case LT_INT64: MACRO(int64_t); break;                   \
    case LT_UINT8: MACRO(uint8_t); break;                   \
    default: break;                                         \
    }

/* "#pragma omp simd" for a loop whose operands never partially overlap: GCC's -O2 cost model
 * will not vectorise a loop that needs a runtime alias check. */
#define LT_SIMD _Pragma("omp simd")

/* ---- wide-vector clones ------------------------------------------------------------------- */

/* Marks a hot float loop for AVX-512 / AVX2 clones picked at load time (GCC ifuncs), so the
 * generic x86-64 build still runs 8 or 16 lanes where the CPU has them. Without FMA
 * contraction (the files compile with -std=c11, so -ffp-contract=off unless they opt in),
 * every clone gives the same bits; only the lane count differs. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define LT_WIDE_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LT_WIDE_CLONES
#endif

/* ---- exp in plain arithmetic ------------------------------------------------------------- */

/* exp without a libm call, so that the loops calling it vectorise (nnops' softmax / NLL rows,
 * pointwise exp / sigmoid / tanh): Cody-Waite reduction x = n ln2 + r, Cephes' polynomial
 * (float) or rational (double) approximation of e^r, and 2^n built in the exponent bits as
 * 2^n1 * 2^n2 (n1 + n2 = n, both in the normal range) so that the whole range is covered:
 * within about 1 ulp of the exact value, overflow gives +inf, underflow gives the (correctly
 * scaled) subnormals and then 0, exp(-inf) = 0, NaN stays NaN. No integer conversions (the
 * float -> int rounding is the "+ magic" trick), so it vectorises with plain SSE2. */
static inline float lt_exp_float(float x)
{
    const float magic = 12582912.0f;   /* 1.5 * 2^23: adding it rounds to an integer */
    float xc = x > -104.0f ? x : -104.0f;   /* e^-104 < 2^-150: rounds to 0 */
    xc = xc < 89.0f ? xc : 89.0f;           /* e^89 > FLT_MAX: overflows to inf */
    float t = xc * 1.44269504088896341f + magic;
    float n = t - magic;                    /* in [-150, 128] */
    float h = n * 0.5f + magic;             /* n1 = n / 2 rounded, n2 = n - n1 */
    float t2 = (n - (h - magic)) + magic;
    int32_t hi, t2i, mi;
    memcpy(&hi, &h, sizeof hi);
    memcpy(&t2i, &t2, sizeof t2i);
    memcpy(&mi, &magic, sizeof mi);
    float r = xc - n * 0.693359375f;        /* exact: ln2's high part has 9 bits */
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * r * r + r + 1.0f;
    int32_t b1 = (int32_t)((uint32_t)(hi - mi + 127) << 23);   /* 2^n1, n1 in [-75, 64] */
    int32_t b2 = (int32_t)((uint32_t)(t2i - mi + 127) << 23);
    float s1, s2;
    memcpy(&s1, &b1, sizeof s1);
    memcpy(&s2, &b2, sizeof s2);
    y = y * s1 * s2;                        /* one rounding into the subnormals */
    return x == x ? y : x;
}

static inline double lt_exp_double(double x)
{
    const double magic = 6755399441055744.0;   /* 1.5 * 2^52 */
    double xc = x > -746.0 ? x : -746.0;        /* e^-746 < 2^-1075: rounds to 0 */
    xc = xc < 710.0 ? xc : 710.0;               /* e^710 > DBL_MAX */
    double t = xc * 1.4426950408889634074 + magic;
    double n = t - magic;                       /* in [-1076, 1024] */
    double h = n * 0.5 + magic;
    double t2 = (n - (h - magic)) + magic;
    int64_t hi, t2i, mi;
    memcpy(&hi, &h, sizeof hi);
    memcpy(&t2i, &t2, sizeof t2i);
    memcpy(&mi, &magic, sizeof mi);
    double r = xc - n * 6.93145751953125e-1;
    r = r - n * 1.42860682030941723212e-6;
    double rr = r * r;
    double px = r * ((1.26177193074810590878e-4 * rr + 3.02994407707441961300e-2) * rr +
                     9.99999999999999999910e-1);
    double q = ((3.00198505138664455042e-6 * rr + 2.52448340349684104192e-3) * rr +
                2.27265548208155028766e-1) * rr + 2.00000000000000000009e0;
    double y = 1.0 + 2.0 * (px / (q - px));
    uint64_t b1 = (uint64_t)(hi - mi + 1023) << 52;   /* 2^n1, n1 in [-538, 512] */
    uint64_t b2 = (uint64_t)(t2i - mi + 1023) << 52;
    double s1, s2;
    memcpy(&s1, &b1, sizeof s1);
    memcpy(&s2, &b2, sizeof s2);
    y = y * s1 * s2;
    return x == x ? y : x;
}

#endif /* LT_INTERNAL_H */
