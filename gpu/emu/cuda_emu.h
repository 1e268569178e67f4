/*
 * cuda_emu.h — a host emulation of the part of the CUDA runtime and cuBLAS that gpu/ uses, so
 * that the CUDA backend's host logic (dispatch, the caching allocator, copies, autograd and nn
 * on device tensors) and the per-thread arithmetic of its kernels run in CI on machines
 * without a GPU (`make CUDA=emu`, part of `make test`).
 *
 * It proves nothing about the real device: no warps, no concurrency, no shared memory. That
 * is why gpu/ kernels are written thread-independent (no __syncthreads, no shared memory, no
 * warp shuffles) and why the specs that run here say "emulated" and still count as pending
 * for a real GPU (gpu/check.sh runs them there).
 *
 * Device memory is one mmap'd arena that is PROT_NONE except while a kernel, a copy or a
 * cuBLAS call runs: host code that dereferences a device pointer faults here at once, as it
 * would (less politely) on a real GPU. LUATORCH_EMU_MEMORY (MiB, default 1024) sizes the arena,
 * so that the out-of-memory path can be tested.
 *
 * A kernel launch, LT_LAUNCH(kernel, grid, block, args...), runs every thread of every block
 * one after the other on the calling host thread. Stream capture into graphs is emulated
 * (recorded closures replayed in order), with CUDA's refusals during a capture.
 */
#ifndef LT_CUDA_EMU_H
#define LT_CUDA_EMU_H

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <tuple>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define CUDART_VERSION 13000

struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
inline thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

typedef enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInsufficientDriver = 35,
    cudaErrorNoDevice = 100,
    cudaErrorNotReady = 600,
    cudaErrorInvalidDevice = 101,
    cudaErrorNotSupported = 801,
    cudaErrorSystemDriverMismatch = 803,
    cudaErrorCompatNotSupportedOnDevice = 804,
    cudaErrorStreamCaptureUnsupported = 900,
    cudaErrorStreamCaptureInvalidated = 901,
    cudaErrorLaunchFailure = 719
} cudaError_t;

enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0, cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3, cudaMemcpyDefault = 4
};
enum cudaStreamCaptureMode { cudaStreamCaptureModeGlobal = 0, cudaStreamCaptureModeThreadLocal = 1,
                             cudaStreamCaptureModeRelaxed = 2 };
enum cudaStreamCaptureStatus { cudaStreamCaptureStatusNone = 0, cudaStreamCaptureStatusActive = 1 };
#define cudaStreamNonBlocking 0x01

typedef struct lt_emu_stream *cudaStream_t;
typedef struct lt_emu_event *cudaEvent_t;
typedef struct lt_emu_graph *cudaGraph_t;
typedef struct lt_emu_graph_exec *cudaGraphExec_t;

struct cudaDeviceProp {
    char name[256];
    size_t totalGlobalMem, sharedMemPerBlock;
    int major, minor, multiProcessorCount, warpSize, l2CacheSize, maxThreadsPerBlock;
};

const char *cudaGetErrorString(cudaError_t e);
cudaError_t cudaGetLastError(void);
cudaError_t cudaPeekAtLastError(void);
cudaError_t cudaGetDeviceCount(int *n);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int dev);
cudaError_t cudaDeviceGetPCIBusId(char *buf, int len, int dev);
cudaError_t cudaGetDevice(int *dev);
cudaError_t cudaSetDevice(int dev);
cudaError_t cudaDeviceSynchronize(void);
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes);
cudaError_t cudaMalloc(void **p, size_t n);
cudaError_t cudaFree(void *p);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, cudaMemcpyKind kind,
                            cudaStream_t s);
cudaError_t cudaMemsetAsync(void *dst, int value, size_t n, cudaStream_t s);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *g);
cudaError_t cudaStreamIsCapturing(cudaStream_t s, cudaStreamCaptureStatus *status);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *e, cudaGraph_t g, unsigned long long flags);
cudaError_t cudaGraphLaunch(cudaGraphExec_t e, cudaStream_t s);
cudaError_t cudaGraphDestroy(cudaGraph_t g);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t e);
cudaError_t cudaEventCreate(cudaEvent_t *e);
#define cudaEventDisableTiming 0x02
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned flags);
/* the emulation runs everything at once: a recorded event has always completed */
cudaError_t cudaEventQuery(cudaEvent_t e);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b);

/* Opens the arena for device code (nested calls nest); closes it again. */
void lt_emu_device_enter(void);
void lt_emu_device_leave(void);

/* Stream capture, as CUDA graphs do it: while the stream captures, kernel launches, cuBLAS
 * calls and device-to-device copies are recorded with their arguments taken by value (a graph
 * bakes them) instead of run; a graph launch runs the records in order. What the real CUDA
 * refuses during a capture (cudaMalloc / cudaFree, synchronisation, copies to or from the host)
 * fails here too and invalidates the capture (cudaStreamEndCapture then fails). */
int  lt_emu_capturing(void);
void lt_emu_record(std::function<void()> op);
cudaError_t lt_emu_refuse_in_capture(void);   /* cudaSuccess when not capturing */
/* A launch configuration CUDA would refuse (an empty grid or block, more than 1024 threads
 * per block, grid y/z above 65535): the launch does not run and the error is left for
 * cudaGetLastError, as on a device. */
int  lt_emu_bad_launch(dim3 g, dim3 b);

/* Runs kernel k over the grid, thread by thread, or records that for the capture. */
template <typename... P, typename... A>
void lt_emu_launch(dim3 g, dim3 b, void (*k)(P...), A... a)
{
    if (lt_emu_bad_launch(g, b)) return;
    std::tuple<P...> args(a...);   /* converted to the kernel's parameter types now */
    auto run = [=]() {
        lt_emu_device_enter();
        gridDim = g;
        blockDim = b;
        for (unsigned bz = 0; bz < g.z; bz++)
            for (unsigned by = 0; by < g.y; by++)
                for (unsigned bx = 0; bx < g.x; bx++)
                    for (unsigned tz = 0; tz < b.z; tz++)
                        for (unsigned ty = 0; ty < b.y; ty++)
                            for (unsigned tx = 0; tx < b.x; tx++) {
                                blockIdx = dim3(bx, by, bz);
                                threadIdx = dim3(tx, ty, tz);
                                std::apply(k, args);
                            }
        lt_emu_device_leave();
    };
    if (lt_emu_capturing()) lt_emu_record(run);
    else run();
}

#define LT_LAUNCH(kernel, grid, block, ...) \
    lt_emu_launch(dim3(grid), dim3(block), kernel, __VA_ARGS__)

/* ---- cuBLAS (column-major, as the real one), on the host's CBLAS ------------------------ */

typedef enum {
    CUBLAS_STATUS_SUCCESS = 0, CUBLAS_STATUS_NOT_INITIALIZED = 1, CUBLAS_STATUS_ALLOC_FAILED = 3,
    CUBLAS_STATUS_INVALID_VALUE = 7, CUBLAS_STATUS_EXECUTION_FAILED = 13
} cublasStatus_t;
typedef enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1, CUBLAS_OP_C = 2 } cublasOperation_t;
typedef enum { CUBLAS_DEFAULT_MATH = 0, CUBLAS_TF32_TENSOR_OP_MATH = 3,
               CUBLAS_PEDANTIC_MATH = 2 } cublasMath_t;
typedef struct lt_emu_cublas *cublasHandle_t;

const char *cublasGetStatusString(cublasStatus_t s);
cublasStatus_t cublasCreate(cublasHandle_t *h);
cublasStatus_t cublasDestroy(cublasHandle_t h);
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s);
cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m);
cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                           int n, int k, const float *alpha, const float *a, int lda,
                           const float *b, int ldb, const float *beta, float *c, int ldc);
cublasStatus_t cublasDgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                           int n, int k, const double *alpha, const double *a, int lda,
                           const double *b, int ldb, const double *beta, double *c, int ldc);
cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta,
                                         cublasOperation_t tb, int m, int n, int k,
                                         const float *alpha, const float *a, int lda,
                                         long long sa, const float *b, int ldb, long long sb,
                                         const float *beta, float *c, int ldc, long long sc,
                                         int batch);
cublasStatus_t cublasDgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta,
                                         cublasOperation_t tb, int m, int n, int k,
                                         const double *alpha, const double *a, int lda,
                                         long long sa, const double *b, int ldb, long long sb,
                                         const double *beta, double *c, int ldc, long long sc,
                                         int batch);
cublasStatus_t cublasSgemv(cublasHandle_t h, cublasOperation_t t, int m, int n,
                           const float *alpha, const float *a, int lda, const float *x,
                           int incx, const float *beta, float *y, int incy);
cublasStatus_t cublasDgemv(cublasHandle_t h, cublasOperation_t t, int m, int n,
                           const double *alpha, const double *a, int lda, const double *x,
                           int incx, const double *beta, double *y, int incy);

#endif
