/*
 * emu.cc — the host emulation of the CUDA runtime and cuBLAS declared in cuda_emu.h (only
 * built by `make CUDA=emu`). One emulated device, "luatorch CUDA emulator (host)"; its memory
 * is one arena that host code may only touch inside lt_emu_device_enter/leave. Stream capture
 * records closures that a graph launch replays.
 */
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <map>
#include <vector>

#include "cuda_emu.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *arena;                  /* (arena_size) bytes reserved, PROT_NONE outside device code */
static size_t arena_size, arena_top;  /* bytes handed out from the bottom                       */
static std::map<size_t, size_t> live;  /* offset -> size of each allocation                      */
static std::multimap<size_t, size_t> freed;  /* size -> offset of freed blocks below the top    */
static int open_depth;
static cudaError_t last_error = cudaSuccess;
static const size_t ALIGN = 256;

static int arena_init(void)
{
    if (arena) return 0;
    const char *env = getenv("LUATORCH_EMU_MEMORY");
    size_t mib = env && atol(env) > 0 ? (size_t)atol(env) : 1024;
    arena_size = mib << 20;
    void *p = mmap(NULL, arena_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return -1;
    arena = (char *)p;
    return 0;
}

static void protect(int prot)
{
    if (arena && arena_top) mprotect(arena, arena_top, prot);
}

void lt_emu_device_enter(void)
{
    if (open_depth++ == 0) protect(PROT_READ | PROT_WRITE);
}

void lt_emu_device_leave(void)
{
    if (--open_depth == 0) protect(PROT_NONE);
}

static cudaError_t fail(cudaError_t e) { return last_error = e; }

/* ---- stream capture ---- */

typedef std::vector<std::function<void()>> op_list;
static int capturing, capture_broken, capture_relaxed;
static op_list *captured;

int lt_emu_capturing(void) { return capturing; }
void lt_emu_record(std::function<void()> op) { captured->push_back(std::move(op)); }

int lt_emu_bad_launch(dim3 g, dim3 b)
{
    unsigned long long threads = (unsigned long long)b.x * b.y * b.z;
    if (g.x == 0 || g.y == 0 || g.z == 0 || g.x > 0x7fffffffu || g.y > 65535 || g.z > 65535 ||
        b.x == 0 || b.y == 0 || b.z == 0 || b.x > 1024 || b.y > 1024 || b.z > 64 ||
        threads > 1024) {
        fail(cudaErrorInvalidConfiguration);
        return 1;
    }
    return 0;
}

cudaError_t lt_emu_refuse_in_capture(void)
{
    if (!capturing) return cudaSuccess;
    capture_broken = 1;
    return fail(cudaErrorStreamCaptureUnsupported);
}

const char *cudaGetErrorString(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorNotSupported: return "operation not supported";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    default: return "unknown error";
    }
}

cudaError_t cudaGetLastError(void)
{
    cudaError_t e = last_error;
    last_error = cudaSuccess;
    return e;
}
cudaError_t cudaPeekAtLastError(void) { return last_error; }

cudaError_t cudaGetDeviceCount(int *n)
{
    *n = 1;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int dev)
{
    if (dev != 0) return fail(cudaErrorInvalidDevice);
    pthread_mutex_lock(&lock);
    arena_init();
    pthread_mutex_unlock(&lock);
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "luatorch CUDA emulator (host)");
    p->totalGlobalMem = arena_size;
    p->sharedMemPerBlock = 48 << 10;
    p->major = 9;
    p->minor = 0;
    p->multiProcessorCount = 1;
    p->warpSize = 32;
    p->l2CacheSize = 0;
    p->maxThreadsPerBlock = 1024;
    return cudaSuccess;
}

cudaError_t cudaDeviceGetPCIBusId(char *buf, int len, int dev)
{
    if (dev != 0) return fail(cudaErrorInvalidDevice);
    snprintf(buf, (size_t)len, "emulated");
    return cudaSuccess;
}

cudaError_t cudaGetDevice(int *dev)
{
    *dev = 0;
    return cudaSuccess;
}
cudaError_t cudaSetDevice(int dev) { return dev == 0 ? cudaSuccess : fail(cudaErrorInvalidDevice); }
cudaError_t cudaDeviceSynchronize(void) { return lt_emu_refuse_in_capture(); }

cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes)
{
    pthread_mutex_lock(&lock);
    arena_init();
    size_t used = 0;
    for (auto &kv : live) used += kv.second;
    *free_bytes = arena_size - used;
    *total_bytes = arena_size;
    pthread_mutex_unlock(&lock);
    return cudaSuccess;
}

cudaError_t cudaMalloc(void **p, size_t n)
{
    *p = NULL;
    /* CUDA lets a relaxed capture allocate (cudaStreamCaptureModeRelaxed), not the others */
    if (!capture_relaxed && lt_emu_refuse_in_capture()) return cudaErrorStreamCaptureUnsupported;
    if (n == 0) return cudaSuccess;
    size_t sz = (n + ALIGN - 1) & ~(ALIGN - 1);
    pthread_mutex_lock(&lock);
    cudaError_t e = cudaSuccess;
    if (arena_init()) {
        e = cudaErrorMemoryAllocation;
    } else {
        /* first fit among freed blocks no more than twice the size, else from the top */
        auto it = freed.lower_bound(sz);
        size_t off;
        if (it != freed.end() && it->first <= 2 * sz) {
            off = it->second;
            sz = it->first;
            freed.erase(it);
        } else if (arena_size - arena_top >= sz) {
            off = arena_top;
            arena_top += sz;
            if (open_depth) mprotect(arena + off, sz, PROT_READ | PROT_WRITE);
        } else {
            e = cudaErrorMemoryAllocation;
        }
        if (e == cudaSuccess) {
            live[off] = sz;
            *p = arena + off;
        }
    }
    pthread_mutex_unlock(&lock);
    return e == cudaSuccess ? e : fail(e);
}

cudaError_t cudaFree(void *p)
{
    if (lt_emu_refuse_in_capture()) return cudaErrorStreamCaptureUnsupported;
    if (!p) return cudaSuccess;
    pthread_mutex_lock(&lock);
    size_t off = (size_t)((char *)p - arena);
    auto it = live.find(off);
    if (!arena || (char *)p < arena || it == live.end()) {
        pthread_mutex_unlock(&lock);
        return fail(cudaErrorInvalidValue);
    }
    size_t sz = it->second;
    live.erase(it);
    freed.emplace(sz, off);
    /* drop the whole pages of the block: every kernel launch re-protects the arena below the
     * top, at a cost that grows with its resident pages */
    size_t pg = 4096, lo = (off + pg - 1) & ~(pg - 1), hi = (off + sz) & ~(pg - 1);
    if (hi > lo) madvise(arena + lo, hi - lo, MADV_DONTNEED);
    /* give the top back: drop freed blocks that end at the top, as long as there are some */
    for (int changed = 1; changed;) {
        changed = 0;
        for (auto f = freed.begin(); f != freed.end(); ++f)
            if (f->second + f->first == arena_top) {
                arena_top = f->second;
                freed.erase(f);
                changed = 1;
                break;
            }
    }
    pthread_mutex_unlock(&lock);
    return cudaSuccess;
}

static int in_arena(const void *p, size_t n)
{
    const char *c = (const char *)p;
    return arena && c >= arena && c + n <= arena + arena_top;
}

static void move_bytes(void *dst, const void *src, size_t n)
{
    lt_emu_device_enter();
    memmove(dst, src, n);
    lt_emu_device_leave();
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, cudaMemcpyKind kind)
{
    if (lt_emu_refuse_in_capture()) return cudaErrorStreamCaptureUnsupported;
    if (n == 0) return cudaSuccess;
    int dev_dst = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    int dev_src = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if ((dev_dst && !in_arena(dst, n)) || (dev_src && !in_arena(src, n)) ||
        (!dev_dst && in_arena(dst, n)) || (!dev_src && in_arena(src, n)))
        return fail(cudaErrorInvalidValue);
    move_bytes(dst, src, n);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, cudaMemcpyKind kind,
                            cudaStream_t s)
{
    (void)s;
    /* a capture records copies within the device; pageable host memory it refuses */
    if (capturing && kind == cudaMemcpyDeviceToDevice) {
        if (n && (!in_arena(dst, n) || !in_arena(src, n))) return fail(cudaErrorInvalidValue);
        if (n) lt_emu_record([=]() { move_bytes(dst, src, n); });
        return cudaSuccess;
    }
    return cudaMemcpy(dst, src, n, kind);
}

cudaError_t cudaMemsetAsync(void *dst, int value, size_t n, cudaStream_t s)
{
    (void)s;
    if (n == 0) return cudaSuccess;
    if (!in_arena(dst, n)) return fail(cudaErrorInvalidValue);
    auto run = [=]() {
        lt_emu_device_enter();
        memset(dst, value, n);
        lt_emu_device_leave();
    };
    if (capturing) lt_emu_record(run);
    else run();
    return cudaSuccess;
}

struct lt_emu_stream { int unused; };
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags)
{
    (void)flags;
    *s = new lt_emu_stream();
    return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s)
{
    delete s;
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s)
{
    (void)s;
    return lt_emu_refuse_in_capture();
}

struct lt_emu_graph { op_list ops; };
struct lt_emu_graph_exec { op_list ops; };

cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode mode)
{
    (void)s;
    if (capturing) return fail(cudaErrorInvalidValue);
    capturing = 1;
    capture_relaxed = mode == cudaStreamCaptureModeRelaxed;
    capture_broken = 0;
    captured = new op_list();
    return cudaSuccess;
}
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *g)
{
    (void)s;
    *g = NULL;
    if (!capturing) return fail(cudaErrorInvalidValue);
    capturing = capture_relaxed = 0;
    op_list *ops = captured;
    captured = NULL;
    if (capture_broken) {
        delete ops;
        return fail(cudaErrorStreamCaptureInvalidated);
    }
    *g = new lt_emu_graph{std::move(*ops)};
    delete ops;
    return cudaSuccess;
}
cudaError_t cudaStreamIsCapturing(cudaStream_t s, cudaStreamCaptureStatus *status)
{
    (void)s;
    *status = capturing ? cudaStreamCaptureStatusActive : cudaStreamCaptureStatusNone;
    return cudaSuccess;
}
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *e, cudaGraph_t g, unsigned long long flags)
{
    (void)flags;
    *e = NULL;
    if (!g) return fail(cudaErrorInvalidValue);
    *e = new lt_emu_graph_exec{g->ops};
    return cudaSuccess;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t e, cudaStream_t s)
{
    (void)s;
    if (!e) return fail(cudaErrorInvalidValue);
    if (lt_emu_refuse_in_capture()) return cudaErrorStreamCaptureUnsupported;
    for (auto &op : e->ops) op();
    return cudaSuccess;
}
cudaError_t cudaGraphDestroy(cudaGraph_t g)
{
    delete g;
    return cudaSuccess;
}
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t e)
{
    delete e;
    return cudaSuccess;
}

#include <time.h>
struct lt_emu_event { double t; };
static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
cudaError_t cudaEventCreate(cudaEvent_t *e)
{
    *e = new lt_emu_event();
    return cudaSuccess;
}
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned flags)
{
    (void)flags;
    return cudaEventCreate(e);
}
cudaError_t cudaEventQuery(cudaEvent_t e)
{
    (void)e;
    return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e)
{
    delete e;
    return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s)
{
    (void)s;
    e->t = now_ms();
    return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t e)
{
    (void)e;
    return cudaSuccess;
}
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b)
{
    *ms = (float)(b->t - a->t);
    return cudaSuccess;
}

/* ---- cuBLAS ---------------------------------------------------------------------------- */

struct lt_emu_cublas { int unused; };

const char *cublasGetStatusString(cublasStatus_t s)
{
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "the operation completed successfully";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid value was used as an argument";
    default: return "an unknown cuBLAS error";
    }
}
cublasStatus_t cublasCreate(cublasHandle_t *h)
{
    *h = new lt_emu_cublas();
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy(cublasHandle_t h)
{
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s)
{
    (void)h;
    (void)s;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m)
{
    (void)h;
    (void)m;
    return CUBLAS_STATUS_SUCCESS;
}

static CBLAS_TRANSPOSE tr(cublasOperation_t t) { return t == CUBLAS_OP_N ? CblasNoTrans : CblasTrans; }

/* cuBLAS checks its leading dimensions; so does this, so that a wrong one fails here too */
static int bad_ld(cublasOperation_t t, int rows, int cols, int ld)
{
    return ld < (t == CUBLAS_OP_N ? rows : cols) || ld < 1;
}

#define GEMM(NAME, T, CBLAS)                                                                   \
    cublasStatus_t NAME(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,   \
                        int n, int k, const T *alpha, const T *a, int lda, const T *b, int ldb, \
                        const T *beta, T *c, int ldc)                                          \
    {                                                                                          \
        (void)h;                                                                               \
        if (m < 0 || n < 0 || k < 0 || bad_ld(ta, m, k, lda) || bad_ld(tb, k, n, ldb) ||        \
            ldc < (m > 1 ? m : 1))                                                             \
            return CUBLAS_STATUS_INVALID_VALUE;                                                \
        if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;                                    \
        const T al = *alpha, be = *beta;  /* host scalars: read at the call, as cuBLAS does */ \
        auto run = [=]() {                                                                     \
            lt_emu_device_enter();                                                             \
            CBLAS(CblasColMajor, tr(ta), tr(tb), m, n, k, al, a, lda, b, ldb, be, c, ldc);     \
            lt_emu_device_leave();                                                             \
        };                                                                                     \
        if (capturing) lt_emu_record(run);                                                     \
        else run();                                                                            \
        return CUBLAS_STATUS_SUCCESS;                                                          \
    }
GEMM(cublasSgemm, float, cblas_sgemm)
GEMM(cublasDgemm, double, cblas_dgemm)

#define GEMM_BATCHED(NAME, T, CBLAS)                                                           \
    cublasStatus_t NAME(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,   \
                        int n, int k, const T *alpha, const T *a, int lda, long long sa,        \
                        const T *b, int ldb, long long sb, const T *beta, T *c, int ldc,        \
                        long long sc, int batch)                                               \
    {                                                                                          \
        (void)h;                                                                               \
        if (batch < 0 || m < 0 || n < 0 || k < 0 || bad_ld(ta, m, k, lda) ||                   \
            bad_ld(tb, k, n, ldb) || ldc < (m > 1 ? m : 1))                                    \
            return CUBLAS_STATUS_INVALID_VALUE;                                                \
        if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;                                    \
        const T al = *alpha, be = *beta;                                                       \
        auto run = [=]() {                                                                     \
            lt_emu_device_enter();                                                             \
            for (int i = 0; i < batch; i++)                                                    \
                CBLAS(CblasColMajor, tr(ta), tr(tb), m, n, k, al, a + i * sa, lda, b + i * sb,   \
                      ldb, be, c + i * sc, ldc);                                               \
            lt_emu_device_leave();                                                             \
        };                                                                                     \
        if (capturing) lt_emu_record(run);                                                     \
        else run();                                                                            \
        return CUBLAS_STATUS_SUCCESS;                                                          \
    }
GEMM_BATCHED(cublasSgemmStridedBatched, float, cblas_sgemm)
GEMM_BATCHED(cublasDgemmStridedBatched, double, cblas_dgemm)

#define GEMV(NAME, T, CBLAS)                                                                   \
    cublasStatus_t NAME(cublasHandle_t h, cublasOperation_t t, int m, int n, const T *alpha,   \
                        const T *a, int lda, const T *x, int incx, const T *beta, T *y,         \
                        int incy)                                                              \
    {                                                                                          \
        (void)h;                                                                               \
        if (m < 0 || n < 0 || lda < (m > 1 ? m : 1) || incx == 0 || incy == 0)                \
            return CUBLAS_STATUS_INVALID_VALUE;                                                \
        if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;                                    \
        const T al = *alpha, be = *beta;                                                       \
        auto run = [=]() {                                                                     \
            lt_emu_device_enter();                                                             \
            CBLAS(CblasColMajor, tr(t), m, n, al, a, lda, x, incx, be, y, incy);               \
            lt_emu_device_leave();                                                             \
        };                                                                                     \
        if (capturing) lt_emu_record(run);                                                     \
        else run();                                                                            \
        return CUBLAS_STATUS_SUCCESS;                                                          \
    }
GEMV(cublasSgemv, float, cblas_sgemv)
GEMV(cublasDgemv, double, cblas_dgemv)
