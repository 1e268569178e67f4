/*
 * reduce_kinds.h — what a reduction kernel accumulates, what its last step does, and which
 * of them a p-norm uses: one definition for the host's reductions (core/reduce.c) and the
 * device's (gpu/reduce.cu), which index their kernels by these numbers.
 */
#ifndef LT_REDUCE_KINDS_H
#define LT_REDUCE_KINDS_H

#include <math.h>

/* What a kernel accumulates. Integer dtypes support SUM/PROD/MAX/MIN only. */
typedef enum {
    K_SUM, K_PROD, K_MAX, K_MIN,
    K_ASUM,   /* sum |x|          (1-norm)                      */
    K_SSQ,    /* sum x^2          (2-norm)                      */
    K_PSUM,   /* sum |x|^p        (p-norm)                      */
    K_AMAX,   /* max |x|          (inf-norm)                    */
    K_AMIN,   /* min |x|          (-inf-norm)                   */
    K_NNZ,    /* count x != 0     (0-"norm")                    */
    K_SQDEV,  /* sum (x - m)^2    (variance, m = the mean)      */
    NK
} kop;

/* The last step of a reduction. */
typedef enum { F_NONE, F_MEAN, F_SQRT, F_ROOT, F_VAR } fin_op;

/* The kernel and final step of a p-norm. */
static inline void lt_norm_kind(double p, kop *k, fin_op *fin)
{
    *fin = F_NONE;
    if (p == 2) { *k = K_SSQ; *fin = F_SQRT; }
    else if (p == 1) *k = K_ASUM;
    else if (p == INFINITY) *k = K_AMAX;
    else if (p == -INFINITY) *k = K_AMIN;
    else if (p == 0) *k = K_NNZ;
    else { *k = K_PSUM; *fin = F_ROOT; }
}

#endif
