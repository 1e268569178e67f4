/*
 * storage.c — dtypes and refcounted storages: the only place the core allocates tensor
 * memory, so the allocator counters here see every byte.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "lt_internal.h"
#ifdef LT_HAVE_CUDA
#include "../gpu/lt_gpu.h"
#endif

static const struct {
    size_t size;
    const char *name, *tensor;
    int is_float;
} dtypes[LT_NDTYPES] = {
    [LT_FLOAT32] = {4, "Float", "torch.FloatTensor", 1},
    [LT_FLOAT64] = {8, "Double", "torch.DoubleTensor", 1},
    [LT_INT64] = {8, "Long", "torch.LongTensor", 0},
    [LT_UINT8] = {1, "Byte", "torch.ByteTensor", 0},
    /* is_float 0: no op computes in it (lt.h) */
    [LT_BFLOAT16] = {2, "BFloat16", "torch.BFloat16Tensor", 0},
};

size_t lt_dtype_size(lt_dtype dt) { return dtypes[dt].size; }
const char *lt_dtype_name(lt_dtype dt) { return dtypes[dt].name; }
const char *lt_type_name(lt_dtype dt)
{
    return (unsigned)dt < LT_NDTYPES ? dtypes[dt].tensor : "?";
}
int lt_dtype_is_float(lt_dtype dt) { return dtypes[dt].is_float; }

static lt_alloc_stats stats;

/* host blocks are 64-byte aligned; the aligned_alloc size must be a multiple of that */
static size_t block_size(int64_t nbytes) { return ((size_t)nbytes + 63) & ~(size_t)63; }

lt_alloc_stats lt_alloc_get_stats(void) { return stats; }

/* ---- freed host blocks, kept for the next allocation of the same size -------------------- */

/* A training loop frees and allocates blocks of the same few sizes every step; glibc serves
 * blocks this large from its sorted bins, splitting and coalescing them (~5% of the seed
 * example's cell step). Freed blocks of at least CACHE_MIN bytes wait here, newest first, up
 * to CACHE_SLOTS blocks and CACHE_MAX bytes, for an allocation of exactly their size.
 * AddressSanitizer builds keep no blocks, so every use after free is still caught. */
#define CACHE_MIN (16 << 10)
#define CACHE_MAX ((int64_t)128 << 20)
#define CACHE_SLOTS 512

#if defined(__SANITIZE_ADDRESS__)
#define CACHE_ON 0
#else
#define CACHE_ON 1
#endif

static struct {
    void *ptr[CACHE_SLOTS];
    size_t size[CACHE_SLOTS];
    int n;
    int64_t bytes;
    pthread_mutex_t lock;   /* storages may die on a pool worker */
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void *block_alloc(size_t size)
{
    if (CACHE_ON && size >= CACHE_MIN) {
        void *p = NULL;
        pthread_mutex_lock(&cache.lock);
        for (int k = cache.n - 1; k >= 0; k--)
            if (cache.size[k] == size) {
                p = cache.ptr[k];
                cache.bytes -= (int64_t)size;
                cache.n--;
                cache.ptr[k] = cache.ptr[cache.n];
                cache.size[k] = cache.size[cache.n];
                break;
            }
        pthread_mutex_unlock(&cache.lock);
        if (p) return p;
    }
    void *p = aligned_alloc(64, size);
    if (!p && cache.n > 0) {  /* out of memory: give the cached blocks back and retry */
        lt_alloc_release_cache();
        p = aligned_alloc(64, size);
    }
    return p;
}

static void block_free(void *p, size_t size)
{
    if (CACHE_ON && size >= CACHE_MIN && p) {
        pthread_mutex_lock(&cache.lock);
        int kept = cache.n < CACHE_SLOTS && cache.bytes + (int64_t)size <= CACHE_MAX;
        if (kept) {
            cache.ptr[cache.n] = p;
            cache.size[cache.n++] = size;
            cache.bytes += (int64_t)size;
        }
        pthread_mutex_unlock(&cache.lock);
        if (kept) return;
    }
    free(p);
}

int64_t lt_alloc_cached_bytes(void) { return cache.bytes; }
int lt_alloc_caches(void) { return CACHE_ON; }

void lt_alloc_release_cache(void)
{
    pthread_mutex_lock(&cache.lock);
    for (int k = 0; k < cache.n; k++) free(cache.ptr[k]);
    cache.n = 0;
    cache.bytes = 0;
    pthread_mutex_unlock(&cache.lock);
}

/* Device storages: their bytes are counted by gpu/'s allocator, not by stats here (which
 * the specs read as "host memory the core allocated"). */
static lt_storage *device_alloc(lt_storage *s, int device, int zero)
{
#ifdef LT_HAVE_CUDA
    s->device = device;
    if (s->nbytes > 0 && lt_gpu_malloc(&s->data, s->nbytes, device) != LT_OK) {
        free(s);
        return NULL;
    }
    if (zero && lt_gpu_memset0(s->data, s->nbytes) != LT_OK) {
        lt_gpu_free(s->data, s->nbytes, device);
        free(s);
        return NULL;
    }
    return s;
#else
    (void)zero;
    free(s);
    lt_error("no CUDA device %d: luatorch was built without CUDA", device + 1);
    return NULL;
#endif
}

/* The most host memory one allocation may ask for: the machine's RAM and swap. Linux would
 * refuse more anyway, but a request that passes one at a time (an LSTM of 2^62 layers) can
 * page the machine to a halt first; callers that allocate in a loop check their total here. */
int64_t lt_alloc_limit(void)
{
    static int64_t limit;
    if (!limit) {
        struct sysinfo si;
        limit = sysinfo(&si) == 0 ? (int64_t)(si.totalram + si.totalswap) * si.mem_unit
                                  : INT64_MAX / 2;
    }
    return limit;
}

int lt_alloc_check(int64_t nbytes, const char *what)
{
    if (nbytes >= 0 && nbytes <= lt_alloc_limit()) return LT_OK;
    return lt_error("%s would need %.3g GB, more than this machine's memory (%.3g GB)", what,
                    (double)nbytes / 1e9, (double)lt_alloc_limit() / 1e9);
}

/* Live host storages of bfloat16: while there are none, the bindings' BFloat16 widening skips
 * its scan of the arguments (lua/lauxt.c). Counted with the other allocator statistics. */
static int64_t bf16_live;
int64_t lt_bf16_storages(void) { return bf16_live; }

static lt_storage *storage_alloc(int device, lt_dtype dt, int64_t numel, int zero)
{
    size_t esz = lt_dtype_size(dt);
    if (numel < 0 || (uint64_t)numel > (uint64_t)INT64_MAX / 2 / esz) {
        lt_error("cannot allocate %lld elements of %s", (long long)numel, lt_dtype_name(dt));
        return NULL;
    }
    if (device == LT_CPU && lt_alloc_check(numel * (int64_t)esz, "the tensor")) return NULL;
    if (device != LT_CPU && dt == LT_BFLOAT16) {  /* gpu/ has no bfloat16 kernels */
        lt_error("not supported for torch.BFloat16Tensor (convert with :float()); BFloat16 "
                 "tensors live in host memory");
        return NULL;
    }
    lt_storage *s = calloc(1, sizeof *s);
    if (!s) {
        lt_error("out of memory");
        return NULL;
    }
    int64_t nbytes = numel * (int64_t)esz;
    s->nbytes = nbytes;
    s->numel = numel;
    s->dtype = dt;
    s->refcount = 1;
    s->device = LT_CPU;
    if (device != LT_CPU) return device_alloc(s, device, zero);
    if (nbytes > 0) {
        s->data = block_alloc(block_size(nbytes));
        if (!s->data) {
            free(s);
            lt_error("out of memory allocating %lld bytes", (long long)nbytes);
            return NULL;
        }
        if (zero) memset(s->data, 0, (size_t)nbytes);
    }
    if (dt == LT_BFLOAT16) bf16_live++;
    stats.live_bytes += nbytes;
    stats.total_bytes += nbytes;
    stats.total_allocs++;
    if (stats.live_bytes > stats.peak_bytes) stats.peak_bytes = stats.live_bytes;
    return s;
}

lt_storage *lt_storage_new(lt_dtype dt, int64_t numel) { return storage_alloc(LT_CPU, dt, numel, 1); }
lt_storage *lt_storage_new_uninit(lt_dtype dt, int64_t numel)
{
    return storage_alloc(LT_CPU, dt, numel, 0);
}
lt_storage *lt_storage_new_on(int device, lt_dtype dt, int64_t numel, int zero)
{
    return storage_alloc(device, dt, numel, zero);
}

int lt_storage_read(const lt_storage *s, void *dst)
{
    if (s->nbytes == 0) return LT_OK;
    if (s->device == LT_CPU) {
        memcpy(dst, s->data, (size_t)s->nbytes);
        return LT_OK;
    }
#ifdef LT_HAVE_CUDA
    return lt_gpu_copy_d2h(dst, s->data, s->nbytes);
#else
    return lt_error("luatorch was built without CUDA");
#endif
}

void lt_storage_retain(lt_storage *s) { s->refcount++; }

void lt_storage_release(lt_storage *s)
{
    if (!s || --s->refcount > 0) return;
#ifdef LT_HAVE_CUDA
    if (s->device != LT_CPU) {
        lt_gpu_free(s->data, s->nbytes, s->device);
        free(s);
        return;
    }
#endif
    if (s->dtype == LT_BFLOAT16) bf16_live--;
    stats.live_bytes -= s->nbytes;
    block_free(s->data, block_size(s->nbytes));
    free(s);
}
