/*
 * alloc.cu — device memory: the caching allocator, the one stream and cuBLAS handle, and raw
 * copies between host and device.
 *
 * Blocks are rounded up (to 512 bytes below 1 MiB, to 2 MiB above) and cached by rounded size
 * when freed; all work runs on one stream, so a block freed by one op can be handed to the
 * next at once. On cudaMalloc failure: empty the cache, call the out-of-memory hook (Lua's
 * full GC, which returns dead tensors' blocks to the cache), empty the cache again, retry;
 * then fail with the size asked and the allocator's state.
 */
#include <pthread.h>
#include <stdio.h>

#include <map>

#include "gpu_internal.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static std::multimap<int64_t, void *> cache;   /* rounded size -> free block */
static lt_gpu_mem_stats stats;
static void (*oom_hook)(void *);
static void *oom_ud;
static int allow_tf32;

int lt_gpu_fail(const char *call, cudaError_t e)
{
    (void)cudaGetLastError();
    return lt_error("%s: %s", call, cudaGetErrorString(e));
}

int lt_gpu_cublas_fail(const char *call, cublasStatus_t s)
{
    const lt_cublas_fns *b = lt_gpu_blas();
    return lt_error("%s: %s", call, b ? b->status_string(s) : "cuBLAS error");
}

extern "C" int lt_gpu_emulated(void)
{
#ifdef LT_CUDA_EMU
    return 1;
#else
    return 0;
#endif
}

/* ---- the stream and the cuBLAS handle ---- */

static cudaStream_t stream;
static cublasHandle_t blas;
static int blas_math = -1;

cudaStream_t lt_gpu_stream(void)
{
    if (!stream) (void)cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
    return stream;
}

int lt_gpu_cublas(cublasHandle_t *h)
{
    const lt_cublas_fns *b = lt_gpu_blas();
    if (!b) return LT_ERR;
    if (!blas) {
        LT_CUBLAS("cublasCreate", b->create(&blas));
        LT_CUBLAS("cublasSetStream", b->set_stream(blas, lt_gpu_stream()));
    }
    int want = allow_tf32;
    if (blas_math != want) {
        LT_CUBLAS("cublasSetMathMode",
                  b->set_math_mode(blas, want ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
        blas_math = want;
    }
    *h = blas;
    return LT_OK;
}

extern "C" void lt_gpu_set_allow_tf32(int allow) { allow_tf32 = allow != 0; }
extern "C" int lt_gpu_allow_tf32(void) { return allow_tf32; }

/* ---- the caching allocator ---- */

static int64_t round_size(int64_t n)
{
    if (n <= (1 << 20)) return (n + 511) & ~(int64_t)511;
    return (n + (2 << 20) - 1) & ~(int64_t)((2 << 20) - 1);
}

static void empty_cache_locked(void)
{
    for (auto &kv : cache) {
        (void)cudaFree(kv.second);
        stats.reserved -= kv.first;
    }
    cache.clear();
}

extern "C" int lt_gpu_empty_cache(void)
{
    pthread_mutex_lock(&lock);
    empty_cache_locked();
    pthread_mutex_unlock(&lock);
    return LT_OK;
}

extern "C" void lt_gpu_set_oom_hook(void (*hook)(void *ud), void *ud)
{
    oom_hook = hook;
    oom_ud = ud;
}

static void *take_cached(int64_t sz)
{
    auto it = cache.find(sz);
    if (it == cache.end()) return NULL;
    void *p = it->second;
    cache.erase(it);
    return p;
}

extern "C" int lt_gpu_malloc(void **ptr, int64_t nbytes, int device)
{
    *ptr = NULL;
    if (nbytes <= 0) return LT_OK;
    if (device != 0) return lt_error("cuda: device %d is out of range (1 device in use)", device + 1);
    if (lt_gpu_require() != LT_OK) return LT_ERR;
    (void)lt_gpu_stream();
    int64_t sz = round_size(nbytes);
    pthread_mutex_lock(&lock);
    void *p = take_cached(sz);
    cudaError_t e = cudaSuccess;
    if (!p) {
        e = cudaMalloc(&p, (size_t)sz);
        if (e != cudaSuccess) {
            (void)cudaGetLastError();
            empty_cache_locked();
            pthread_mutex_unlock(&lock);
            if (oom_hook) oom_hook(oom_ud);   /* may free tensors: takes the lock itself */
            pthread_mutex_lock(&lock);
            p = take_cached(sz);
            if (!p) {
                empty_cache_locked();
                e = cudaMalloc(&p, (size_t)sz);
                if (e != cudaSuccess) (void)cudaGetLastError();
            } else {
                e = cudaSuccess;
            }
        }
        if (e == cudaSuccess && p) {
            stats.reserved += sz;
            stats.cuda_mallocs++;
        }
    }
    if (e != cudaSuccess || !p) {
        lt_gpu_mem_stats s = stats;
        pthread_mutex_unlock(&lock);
        size_t fr = 0, tot = 0;
        (void)cudaMemGetInfo(&fr, &tot);
        return lt_error("cuda: out of memory allocating %lld bytes (%lld allocated by luatorch, "
                        "%lld reserved, %lld of %lld free on the device)",
                        (long long)nbytes, (long long)s.allocated, (long long)s.reserved,
                        (long long)fr, (long long)tot);
    }
    stats.allocated += sz;
    stats.total_allocated += sz;
    if (stats.allocated > stats.peak_allocated) stats.peak_allocated = stats.allocated;
    pthread_mutex_unlock(&lock);
    *ptr = p;
    return LT_OK;
}

extern "C" void lt_gpu_free(void *ptr, int64_t nbytes, int device)
{
    (void)device;
    if (!ptr) return;
    int64_t sz = round_size(nbytes);
    pthread_mutex_lock(&lock);
    stats.allocated -= sz;
    cache.emplace(sz, ptr);
    pthread_mutex_unlock(&lock);
}

extern "C" lt_gpu_mem_stats lt_gpu_memory_stats(void)
{
    pthread_mutex_lock(&lock);
    lt_gpu_mem_stats s = stats;
    pthread_mutex_unlock(&lock);
    return s;
}

extern "C" int lt_gpu_set_device(int dev)
{
    int n = 0;
    if (lt_gpu_device_count(&n) != LT_OK) return LT_ERR;
    if (lt_gpu_require() != LT_OK) return LT_ERR;
    if (dev < 0 || dev >= n)
        return lt_error("device %d is out of range (%d device%s)", dev + 1, n, n == 1 ? "" : "s");
    /* One stream, one handle and one cache serve device 0; more devices need one of each. */
    if (dev != 0)
        return lt_error("device %d: luatorch uses one device so far (device 1)", dev + 1);
    LT_CUDA("cudaSetDevice", cudaSetDevice(dev));
    return LT_OK;
}

/* ---- raw copies ---- */

extern "C" int lt_gpu_copy_h2d(void *dst, const void *src, int64_t n)
{
    if (n <= 0) return LT_OK;
    LT_CUDA("cudaMemcpyAsync", cudaMemcpyAsync(dst, src, (size_t)n, cudaMemcpyHostToDevice,
                                               lt_gpu_stream()));
    /* pageable host memory: the source may be freed as soon as we return */
    LT_CUDA("cudaStreamSynchronize", cudaStreamSynchronize(lt_gpu_stream()));
    return LT_OK;
}

extern "C" int lt_gpu_copy_d2h(void *dst, const void *src, int64_t n)
{
    if (n <= 0) return LT_OK;
    LT_CUDA("cudaMemcpyAsync", cudaMemcpyAsync(dst, src, (size_t)n, cudaMemcpyDeviceToHost,
                                               lt_gpu_stream()));
    LT_CUDA("cudaStreamSynchronize", cudaStreamSynchronize(lt_gpu_stream()));
    return LT_OK;
}

extern "C" int lt_gpu_copy_d2d(void *dst, const void *src, int64_t n)
{
    if (n <= 0) return LT_OK;
    LT_CUDA("cudaMemcpyAsync", cudaMemcpyAsync(dst, src, (size_t)n, cudaMemcpyDeviceToDevice,
                                               lt_gpu_stream()));
    return LT_OK;
}

extern "C" int lt_gpu_memset0(void *dst, int64_t n)
{
    if (n <= 0) return LT_OK;
    LT_CUDA("cudaMemsetAsync", cudaMemsetAsync(dst, 0, (size_t)n, lt_gpu_stream()));
    return LT_OK;
}
