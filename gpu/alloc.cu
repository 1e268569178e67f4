/*
 * alloc.cu — device memory: the caching allocator, the one stream and cuBLAS handle, and raw
 * copies between host and device.
 *
 * Blocks are rounded up (to 512 bytes below 1 MiB, to 2 MiB above) and cached by rounded size
 * when freed; all work runs on one stream, so a block freed by one op can be handed to the
 * next at once. On cudaMalloc failure: empty the cache, call the out-of-memory hook (Lua's
 * full GC, which returns dead tensors' blocks to the cache), empty the cache again, retry;
 * then fail with the size asked and the allocator's state.
 *
 * Whole-step CUDA graphs (lt_gpu_graph_*): every block handed out while a graph captures,
 * and every block freed while it captures, belongs to that graph's pool from then on. Freed, it goes back to that pool, not to the
 * cache, because every replay writes to it again; only the capture itself takes blocks from the
 * pool. Destroying the graph returns its free blocks to the cache and lets the ones still in use
 * go there when they are freed.
 */
#include <pthread.h>
#include <stdio.h>

#include <map>
#include <unordered_map>

#include "gpu_internal.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static std::multimap<int64_t, void *> cache;   /* rounded size -> free block */
static lt_gpu_mem_stats stats;
static void (*oom_hook)(void *);
static void *oom_ud;
static int allow_tf32;

struct graph_pool {
    std::multimap<int64_t, void *> free;   /* rounded size -> block of this graph not in use */
};
static std::unordered_map<void *, graph_pool *> owner;   /* block -> the graph that owns it */
static graph_pool *capture_pool;                         /* the graph capturing now, or NULL */

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
    if (capture_pool) return lt_error("cuda.emptyCache: not during a CUDA graph capture");
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
    void *p = NULL;
    if (capture_pool) {  /* the capturing graph's own free blocks first */
        auto it = capture_pool->free.find(sz);
        if (it != capture_pool->free.end()) {
            p = it->second;
            capture_pool->free.erase(it);
        }
    }
    if (!p) p = take_cached(sz);
    cudaError_t e = cudaSuccess;
    if (!p && capture_pool) {  /* a relaxed capture may cudaMalloc, but must not free */
        e = cudaMalloc(&p, (size_t)sz);
        if (e != cudaSuccess) {
            (void)cudaGetLastError();
            pthread_mutex_unlock(&lock);
            return lt_error("cuda: out of memory allocating %lld bytes during a CUDA graph "
                            "capture (the cache cannot be emptied while capturing)",
                            (long long)nbytes);
        }
        stats.reserved += sz;
        stats.cuda_mallocs++;
    }
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
    if (capture_pool) owner[p] = capture_pool;
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
    auto it = owner.empty() ? owner.end() : owner.find(ptr);
    if (it != owner.end()) {
        it->second->free.emplace(sz, ptr);   /* replays still write it */
    } else if (capture_pool) {
        /* made before the capture but dying during it: kernels just captured may use it, so
         * the graph keeps it too */
        owner[ptr] = capture_pool;
        capture_pool->free.emplace(sz, ptr);
    } else {
        cache.emplace(sz, ptr);
    }
    pthread_mutex_unlock(&lock);
}

/* ---- whole-step CUDA graphs ---- */

struct lt_gpu_graph {
    graph_pool *pool;
    cudaGraphExec_t exec;
};

extern "C" int lt_gpu_capturing(void)
{
    return capture_pool != NULL;
}

static void pool_release(graph_pool *pool)
{
    pthread_mutex_lock(&lock);
    if (capture_pool == pool) capture_pool = NULL;
    for (auto it = owner.begin(); it != owner.end();)
        it = it->second == pool ? owner.erase(it) : std::next(it);
    for (auto &kv : pool->free) cache.emplace(kv.first, kv.second);
    pthread_mutex_unlock(&lock);
    delete pool;
}

extern "C" int lt_gpu_graph_begin(lt_gpu_graph **out)
{
    *out = NULL;
    if (lt_gpu_require() != LT_OK) return LT_ERR;
    if (capture_pool) return lt_error("cuda.graph: a capture is already running (graphs do not nest)");
    cublasHandle_t h;
    if (lt_gpu_cublas(&h)) return LT_ERR;   /* created outside the capture */
    LT_CUDA("cudaStreamSynchronize", cudaStreamSynchronize(lt_gpu_stream()));
    lt_gpu_graph *g = (lt_gpu_graph *)calloc(1, sizeof *g);
    if (!g) return lt_error("out of memory");
    g->pool = new graph_pool();
    pthread_mutex_lock(&lock);
    capture_pool = g->pool;
    pthread_mutex_unlock(&lock);
    cudaError_t e = cudaStreamBeginCapture(lt_gpu_stream(), cudaStreamCaptureModeRelaxed);
    if (e != cudaSuccess) {
        lt_gpu_graph_free(g);
        return lt_gpu_fail("cudaStreamBeginCapture", e);
    }
    *out = g;
    return LT_OK;
}

extern "C" int lt_gpu_graph_end(lt_gpu_graph *g, int ok)
{
    cudaGraph_t graph = NULL;
    cudaError_t e = cudaStreamEndCapture(lt_gpu_stream(), &graph);
    pthread_mutex_lock(&lock);
    capture_pool = NULL;   /* the pool stays the graph's */
    pthread_mutex_unlock(&lock);
    if (e == cudaSuccess && ok) e = cudaGraphInstantiate(&g->exec, graph, 0);
    if (graph) cudaGraphDestroy(graph);
    if (!ok) return LT_ERR;
    if (e != cudaSuccess)
        return lt_error("cuda.graph: the capture failed (%s): something in the function needs "
                        "the host or synchronises (reading a value with :item() or a sum, a "
                        "host copy, class weights of a loss)", cudaGetErrorString(e));
    return LT_OK;
}

extern "C" int lt_gpu_graph_replay(lt_gpu_graph *g)
{
    if (!g->exec) return lt_error("cuda.graph: nothing was captured");
    if (capture_pool) return lt_error("cuda.graph: cannot replay a graph during a capture");
    LT_CUDA("cudaGraphLaunch", cudaGraphLaunch(g->exec, lt_gpu_stream()));
    return LT_OK;
}

extern "C" void lt_gpu_graph_free(lt_gpu_graph *g)
{
    if (!g) return;
    if (g->exec) {
        /* let replays finish first (the pool's blocks go back to the cache: with one stream,
         * later work on them is ordered after the replays anyway); not possible while another
         * graph captures (a collection during a capture can free an old graph) */
        if (!capture_pool) (void)cudaStreamSynchronize(lt_gpu_stream());
        cudaGraphExecDestroy(g->exec);
    }
    if (g->pool) pool_release(g->pool);
    free(g);
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

/* A capture records device work only: the host copies (which wait for the device) refuse. */
static int no_host_copy_in_capture(const char *what)
{
    if (!capture_pool) return LT_OK;
    return lt_error("%s during a CUDA graph capture: a graph records device work only (read "
                    "values and copy from the host outside torch.cuda.graph)", what);
}

/* A copy between pageable host memory and the device, waited for: the host side may be freed
 * (or read) as soon as we return. */
static int host_copy(void *dst, const void *src, int64_t n, cudaMemcpyKind kind, const char *what)
{
    if (n <= 0) return LT_OK;
    if (no_host_copy_in_capture(what)) return LT_ERR;
    LT_CUDA("cudaMemcpyAsync", cudaMemcpyAsync(dst, src, (size_t)n, kind, lt_gpu_stream()));
    LT_CUDA("cudaStreamSynchronize", cudaStreamSynchronize(lt_gpu_stream()));
    return LT_OK;
}

extern "C" int lt_gpu_copy_h2d(void *dst, const void *src, int64_t n)
{
    return host_copy(dst, src, n, cudaMemcpyHostToDevice, "a copy from the host");
}

extern "C" int lt_gpu_copy_d2h(void *dst, const void *src, int64_t n)
{
    return host_copy(dst, src, n, cudaMemcpyDeviceToHost, "a copy to the host");
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
