/*
 * gpu_internal.h — what the .cu files of gpu/ share (C++ only, never seen by the core): the
 * CUDA headers (or the host emulation of `make CUDA=emu`), error checking that names the
 * failing call, the launch macro, the one stream and cuBLAS handle, and the strided index
 * descriptor that elementwise kernels take by value.
 *
 * Kernels here are thread-independent: no __syncthreads, shared memory or warp shuffles, so
 * that the emulation (gpu/emu/cuda_emu.h) runs them as written. Reductions give one thread
 * per output (or a second pass over per-thread partials) and products go through cuBLAS.
 */
#ifndef LT_GPU_INTERNAL_H
#define LT_GPU_INTERNAL_H

#ifdef LT_CUDA_EMU
#include "emu/cuda_emu.h"
#else
#include <cublas_v2.h>
#include <cuda_runtime.h>
/* A template kernel with several arguments goes through a local first (auto k = f<A, B>;):
 * the comma would split the macro's arguments. */
#define LT_LAUNCH(kernel, grid, block, ...) \
    kernel<<<(grid), (block), 0, lt_gpu_stream()>>>(__VA_ARGS__)
#endif

#include <stdint.h>

extern "C" {
#include "../core/lt_internal.h"
}
#include "lt_gpu.h"

/* The failing call's name and CUDA's description; clears CUDA's sticky last error. */
int lt_gpu_fail(const char *call, cudaError_t e);
int lt_gpu_cublas_fail(const char *call, cublasStatus_t s);

#define LT_CUDA(name, call)                                                    \
    do {                                                                       \
        cudaError_t lt_cuda_e_ = (call);                                       \
        if (lt_cuda_e_ != cudaSuccess) return lt_gpu_fail(name, lt_cuda_e_);   \
    } while (0)
#define LT_CUBLAS(name, call)                                                         \
    do {                                                                              \
        cublasStatus_t lt_cublas_s_ = (call);                                         \
        if (lt_cublas_s_ != CUBLAS_STATUS_SUCCESS) return lt_gpu_cublas_fail(name, lt_cublas_s_); \
    } while (0)
/* After a launch: a bad configuration shows up as the last error, named after the kernel. */
#define LT_CHECK_LAUNCH(kernel_name) LT_CUDA(kernel_name, cudaGetLastError())

/* cuBLAS's entry points, loaded on first use (gpu/cublas.cu), or NULL + error. */
struct lt_cublas_fns {
    cublasStatus_t (*create)(cublasHandle_t *h);
    cublasStatus_t (*destroy)(cublasHandle_t h);
    cublasStatus_t (*set_stream)(cublasHandle_t h, cudaStream_t s);
    cublasStatus_t (*set_math_mode)(cublasHandle_t h, cublasMath_t m);
    const char *(*status_string)(cublasStatus_t s);
    cublasStatus_t (*sgemm)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                            const float *, const float *, int, const float *, int, const float *,
                            float *, int);
    cublasStatus_t (*dgemm)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                            const double *, const double *, int, const double *, int,
                            const double *, double *, int);
    cublasStatus_t (*sgemm_batched)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int,
                                    int, const float *, const float *, int, long long,
                                    const float *, int, long long, const float *, float *, int,
                                    long long, int);
    cublasStatus_t (*dgemm_batched)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int,
                                    int, const double *, const double *, int, long long,
                                    const double *, int, long long, const double *, double *, int,
                                    long long, int);
    cublasStatus_t (*sgemv)(cublasHandle_t, cublasOperation_t, int, int, const float *,
                            const float *, int, const float *, int, const float *, float *, int);
    cublasStatus_t (*dgemv)(cublasHandle_t, cublasOperation_t, int, int, const double *,
                            const double *, int, const double *, int, const double *, double *,
                            int);
    char library[256];   /* which library was loaded */
};
const lt_cublas_fns *lt_gpu_blas(void);

/* Shared by the recurrent layers (defined in gpu/lstm.cu, used by gpu/rnn.cu too):
 * C (m x n, ldc) = op(A) op(B) + beta C for ROW-major buffers through cuBLAS; and the
 * deterministic two-pass column sums of d (R x G) into o1 / o2 (G each, either NULL; beta 1
 * adds), part: lt_gpu_lstm_bias_blocks(R) x G doubles of scratch. */
int lt_gpu_gemm_rm(cublasHandle_t h, const lt_cublas_fns *f, lt_dtype dt, int ta, int tb,
                   int64_t m, int64_t n, int64_t k, const void *a, int64_t lda, const void *b,
                   int64_t ldb, double beta, void *c, int64_t ldc);
int lt_gpu_colsums(lt_dtype dt, int64_t R, int64_t G, const void *d, double *part, void *o1,
                   int beta1, void *o2, int beta2);

/* The stream every kernel, copy and cuBLAS call of luatorch goes on (one per process: work is
 * ordered, so memory freed to the cache can be reused by the next op at once). */
cudaStream_t lt_gpu_stream(void);
/* The cuBLAS handle on that stream, with TF32 math as torch.cuda.allowTF32 set it. */
int lt_gpu_cublas(cublasHandle_t *h);

/* Functions both kernels and host code call (conversions, scalar math). */
#define LT_HD __host__ __device__ __forceinline__

#define LT_GPU_THREADS 256
/* Blocks for n threads of LT_GPU_THREADS each (at least 1; the grid's x is below 2^31). */
static inline unsigned lt_gpu_blocks(int64_t n)
{
    int64_t b = (n + LT_GPU_THREADS - 1) / LT_GPU_THREADS;
    if (b < 1) b = 1;
    if (b > 0x7fffffff) b = 0x7fffffff;
    return (unsigned)b;
}
/* The flat index of this thread, and the grid's stride for grid-stride loops. */
#define LT_GPU_TID() ((int64_t)blockIdx.x * blockDim.x + threadIdx.x)
#define LT_GPU_NTHREADS() ((int64_t)gridDim.x * blockDim.x)

/* Operands of an elementwise kernel after lt_iter_init (broadcast, merged dims): passed by
 * value, so no device copy of the shape is needed. */
struct lt_gpu_ix {
    int     nops, ndim;
    int64_t size[LT_MAXDIM];                /* (ndim), innermost last                  */
    int64_t stride[LT_MAXOPS][LT_MAXDIM];   /* (nops, ndim) in elements, 0 = broadcast */
};

static inline lt_gpu_ix lt_gpu_ix_of(const lt_iter *it)
{
    lt_gpu_ix ix;
    ix.nops = it->nops;
    ix.ndim = it->ndim;
    for (int d = 0; d < it->ndim; d++) {
        ix.size[d] = it->size[d];
        for (int k = 0; k < it->nops; k++) ix.stride[k][d] = it->stride[k][d];
    }
    return ix;
}

/* Element offsets (in elements) of flat position i for every operand. */
__device__ __forceinline__ void lt_gpu_offsets(const lt_gpu_ix &ix, int64_t i, int64_t *off)
{
    for (int k = 0; k < ix.nops; k++) off[k] = 0;
    for (int d = ix.ndim - 1; d >= 0; d--) {
        int64_t c = i % ix.size[d];
        i /= ix.size[d];
        for (int k = 0; k < ix.nops; k++) off[k] += c * ix.stride[k][d];
    }
}

#endif
