/*
 * lt_internal.h — private helpers of the core: the strided N-operand iterator that every
 * elementwise op runs on, dtype dispatch macros, and the OpenMP grain size.
 * Not installed; extensions use lt.h only.
 */
#ifndef LT_INTERNAL_H
#define LT_INTERNAL_H

#include "lt.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define LT_MAXOPS 5
/* Below this many elements a loop runs on one thread: forking costs more than it saves. */
#define LT_PAR_GRAIN 32768

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

/* ops[0] gives the shape; every other operand must broadcast to it (checked). */
int  lt_iter_init(lt_iter *it, int nops, const lt_tensor *const *ops);
/* Runs fn over every element, in parallel above LT_PAR_GRAIN unless serial is set. */
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
/* Broadcast shape of several tensors. */
int lt_broadcast_many(const lt_tensor *const *ts, int n, int *ndim, int64_t *size);
/* Checks dim in [0, ndim) and reports it 1-based in the message, as the Lua user sees it. */
int lt_check_dim(const char *what, int dim, int ndim);
void lt_storage_bump(lt_tensor *t);              /* in-place write: version++          */
/* The full Philox4x32-10 block (128-bit counter, 64-bit key), for known-answer tests;
 * lt_philox(seed, counter) is this with ctr = {counter lo, counter hi, 0, 0}, key = seed. */
void lt_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* True when `work` (elements x cost per element) pays for forking OpenMP threads here. */
static inline int lt_worth_threads(int64_t work)
{
#ifdef _OPENMP
    return work >= LT_PAR_GRAIN && omp_get_max_threads() > 1 && !omp_in_parallel();
#else
    (void)work;
    return 0;
#endif
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

/* Typed element access by dtype. */
#define LT_DISPATCH(dt, MACRO)                              \
    switch (dt) {                                           \
    case LT_FLOAT32: MACRO(float); break;                   \
    case LT_FLOAT64: MACRO(double); break;                  \
    case LT_INT64: MACRO(int64_t); break;                   \
    case LT_UINT8: MACRO(uint8_t); break;                   \
    default: break;                                         \
    }

#endif /* LT_INTERNAL_H */
