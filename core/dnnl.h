/*
 * dnnl.h — the float32 matrix-product engine behind lt_blas_gemm (core/blas.c): OpenBLAS or
 * oneDNN chosen per shape, and bf16 autocast (bf16 operands, fp32 accumulation). core/dnnl.c.
 * Built without oneDNN (make DNNL=0) everything here still works on OpenBLAS alone: the
 * engine is always OpenBLAS and autocast is emulated (operands rounded to bf16, fp32 GEMM).
 */
#ifndef LT_DNNL_H
#define LT_DNNL_H

#include <stdint.h>

typedef enum { LT_GEMM_AUTO, LT_GEMM_OPENBLAS, LT_GEMM_DNNL } lt_gemm_engine;

/* Which engine float32 products use: AUTO (the per-shape rule in dnnl.c), or one forced for
 * every product (the benchmark's two GEMM floors). LT_GEMM_DNNL is an error without oneDNN. */
int lt_gemm_set_engine(lt_gemm_engine e);
lt_gemm_engine lt_gemm_get_engine(void);
int lt_dnnl_available(void);  /* built with oneDNN */

/* bf16 autocast: while on, every float32 product takes bf16-rounded operands and accumulates
 * in fp32. Native (oneDNN bf16 matmul on AVX512_BF16 / AMX) or emulated (no such ISA, no
 * oneDNN, or LUATORCH_BF16=emulate): the emulated path rounds the operands to bf16 and runs
 * the fp32 GEMM, and says so once on stderr. lt_autocast_set returns the previous state. */
int lt_autocast_set(int on);
int lt_autocast_get(void);
int lt_autocast_native(void);

/* A float32 matrix (rows x cols, row stride ld) converted to the autocast operand format once
 * for a whole call (the recurrent layers' weights, used at every time step): products whose
 * operand lies inside it use the converted copy. A no-op when autocast is off; out of memory,
 * the products convert per call (same values). Pins are made and removed outside parallel
 * regions; unpin every pin, in any order. */
int lt_autocast_pin(const float *p, int64_t rows, int64_t cols, int64_t ld); /* 1: pinned */
void lt_autocast_unpin(const float *p);

/* A pin that the caller fills: a compact rows x cols bf16 buffer (uint16_t, round to nearest
 * even) registered as the autocast copy of the float32 matrix at p (row stride ld), so that a
 * kernel producing an operand writes its bf16 form directly and no product converts it. NULL
 * unless autocast is on and native (then convert as usual). The float32 matrix need not be
 * written at all (the LSTM's gate gradients): a product that cannot run in bf16 widens the
 * copy back rather than read p. Unpinned by lt_autocast_unpin(p). */
void *lt_autocast_shadow(const float *p, int64_t rows, int64_t cols, int64_t ld);

/* The shape the engine rule judges for the float32 products this thread issues next, when
 * they are parts of one larger product (row-major C m x n, inner dimension k): the blocks of
 * a product split over threads, a sweep's batch rows. Each part then runs on the engine the
 * whole would take, so the thread count never changes which engine computes an element
 * (OpenBLAS's small-matrix kernels round differently from its blocked ones, and oneDNN from
 * both). lt_gemm_rule_set returns the previous setting for lt_gemm_rule_restore. */
typedef struct {
    double macs;  /* 0: judge each product by its own shape */
    int64_t n;
} lt_gemm_rule;
lt_gemm_rule lt_gemm_rule_set(int64_t m, int64_t n, int64_t k);
void lt_gemm_rule_restore(lt_gemm_rule prev);

/* Whether a row-major float32 product of this shape runs on OpenBLAS (the engine rule, a
 * forced engine; 0 under autocast, whose products run on oneDNN's matmul). */
int lt_sgemm_on_openblas(int64_t m, int64_t n, int64_t k);

/* C (m x n, row stride ldc) = alpha op(A) op(B) + beta C, row-major float32, op = transpose
 * where ta / tb is set; beta = 0 never reads C. On one thread inside a parallel region (a
 * pool chunk), else on the toolkit's thread count. */
void lt_sgemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
              int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

#endif
