/*
 * pool.c — the core's threads: one thread count for the toolkit, a small pool of pthreads that
 * runs a loop's chunks (lt_parallel_for), and the cost model that says how many chunks a loop
 * gets (lt_par_chunks). See docs/ARCHITECTURE.md, "Threads".
 *
 * A call hands out chunks 0..n-1 through one atomic claim word; the calling thread claims
 * chunks too, so a worker that has not woken yet (descheduled, or its core busy with another
 * process) claims nothing and costs nothing: the caller runs its share. The caller then waits
 * only for chunks already claimed by workers. Wake-ups are Linux futexes on a generation word:
 * the caller pays a syscall only when some worker is asleep, and no mutex is held by anyone.
 *
 * OpenBLAS runs single-threaded for good (lt_threads_init): the core splits the products
 * itself (blas.c's gemm_run), so no GEMM ever starts OpenBLAS's or OpenMP's own threads and
 * no thread ever writes OpenBLAS's global thread count after start-up.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lt_internal.h"

void openblas_set_num_threads(int num_threads); /* from OpenBLAS; not in cblas.h everywhere */

#define POOL_MAX 64           /* threads (caller included) a loop can use */
#define POOL_SPIN 4000        /* idle polls of a worker before it sleeps (~20-50 us) */

/* ---- the thread count ------------------------------------------------------------------ */

static int nthreads;          /* 0 until lt_threads_init */
static pthread_once_t threads_once = PTHREAD_ONCE_INIT;

/* a positive count from an environment variable (OMP_NUM_THREADS: its first entry), or 0 */
static int env_count(const char *name)
{
    const char *s = getenv(name);
    if (!s || !*s) return 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || v < 1) return 0;
    return v > 4096 ? 4096 : (int)v;
}

static void threads_init(void)
{
    int n = env_count("LUATORCH_NUM_THREADS");
    if (!n) n = env_count("OMP_NUM_THREADS");
    if (!n) {
        cpu_set_t set;
        n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
        if (n < 1) n = 1;
    }
    if (!nthreads) nthreads = n;
    openblas_set_num_threads(1);
}

void lt_set_num_threads(int n)
{
    pthread_once(&threads_once, threads_init);
    nthreads = n < 1 ? 1 : n > 4096 ? 4096 : n;
}

int lt_get_num_threads(void)
{
    pthread_once(&threads_once, threads_init);
    return nthreads;
}

/* ---- the cost model -------------------------------------------------------------------- */

/* Fixed rates of one core (this box's EPYC, 2026; a faster core only makes the split more
 * conservative): LT_PAR_FLOPS_NS arithmetic operations and LT_PAR_BYTES_NS bytes moved per
 * nanosecond, and the least work a chunk must hold to pay for its hand-off (a futex wake-up,
 * the worker's cold cache): LT_PAR_CHUNK_NS. Chunks per thread: up to LT_PAR_PER_THREAD, so
 * that a worker whose core is busy leaves the caller only a small remainder to wait for. */
int64_t lt_par_chunks(double flops, double bytes)
{
    int nt = lt_get_num_threads();
    if (nt < 2 || lt_in_parallel()) return 1;
    double ns = flops / LT_PAR_FLOPS_NS + bytes / LT_PAR_BYTES_NS;
    double c = ns / LT_PAR_CHUNK_NS;
    if (c < 2) return 1;
    double cap = (double)nt * LT_PAR_PER_THREAD;
    return c > cap ? (int64_t)cap : (int64_t)c;
}

/* ---- the pool -------------------------------------------------------------------------- */

typedef void (*chunk_fn)(void *ctx, int64_t chunk);

static struct {
    /* the job: written by the caller before it publishes the claim word, read by workers
     * after they claim (atomics so a late worker's read of a stale job is no data race) */
    _Atomic(chunk_fn) fn;
    _Atomic(void *) ctx;
    _Atomic int64_t n;        /* chunks */
    _Atomic int maxw;         /* workers allowed in (the thread count - 1) */
    /* generation (high 32 bits) | next unclaimed chunk (low 32): a worker claims with a CAS
     * that fails when the generation moved on, so it never runs a chunk of a finished job */
    _Atomic uint64_t claim;
    _Atomic int64_t done;     /* chunks finished */
    _Atomic uint32_t gen;     /* futex word the workers sleep on */
    _Atomic uint32_t donefx;  /* futex word the caller sleeps on */
    _Atomic int sleepers, waiting;
    _Atomic int quit;
    int nworkers;             /* started (only the owning thread touches this and tids) */
    pthread_t tids[POOL_MAX];
} pool;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;  /* one job at a time */
static _Thread_local int in_par;

int lt_in_parallel(void)
{
    return in_par;
}

static void futex_wait(_Atomic uint32_t *w, uint32_t val)
{
    syscall(SYS_futex, (uint32_t *)(uintptr_t)w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *w, int n)
{
    syscall(SYS_futex, (uint32_t *)(uintptr_t)w, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Claims and runs chunks of generation g until none is left. */
static void run_chunks(uint32_t g)
{
    for (;;) {
        uint64_t c = atomic_load(&pool.claim);
        if ((uint32_t)(c >> 32) != g) return;
        int64_t i = (int64_t)(uint32_t)c, n = atomic_load_explicit(&pool.n, memory_order_relaxed);
        if (i >= n) return;
        if (!atomic_compare_exchange_weak(&pool.claim, &c, c + 1)) continue;
        chunk_fn fn = atomic_load_explicit(&pool.fn, memory_order_relaxed);
        fn(atomic_load_explicit(&pool.ctx, memory_order_relaxed), i);
        if (atomic_fetch_add(&pool.done, 1) + 1 == n && atomic_load(&pool.waiting)) {
            atomic_fetch_add(&pool.donefx, 1);
            futex_wake(&pool.donefx, 1);
        }
    }
}

static void *worker_main(void *arg)
{
    int id = (int)(intptr_t)arg;  /* 0-based among the workers */
    in_par = 1;                   /* everything a worker runs is inside a chunk */
    uint32_t seen = 0;
    for (;;) {
        uint32_t g = atomic_load(&pool.gen);
        if (atomic_load(&pool.quit)) return NULL;
        if (g != seen) {
            seen = g;
            if (id < atomic_load(&pool.maxw)) run_chunks(g);
            continue;
        }
        int spun = 0;
        while (spun < POOL_SPIN && atomic_load(&pool.gen) == seen && !atomic_load(&pool.quit)) {
            cpu_relax();
            spun++;
        }
        if (spun < POOL_SPIN) continue;
        atomic_fetch_add(&pool.sleepers, 1);
        if (atomic_load(&pool.gen) == seen && !atomic_load(&pool.quit)) futex_wait(&pool.gen, seen);
        atomic_fetch_sub(&pool.sleepers, 1);
    }
}

/* Stops and joins the workers (at exit / unload: no thread outlives the library). */
static void pool_stop(void)
{
    pthread_mutex_lock(&pool_lock);
    if (pool.nworkers) {
        atomic_store(&pool.quit, 1);
        atomic_fetch_add(&pool.gen, 1);
        futex_wake(&pool.gen, INT_MAX);
        for (int i = 0; i < pool.nworkers; i++) pthread_join(pool.tids[i], NULL);
        pool.nworkers = 0;
        atomic_store(&pool.quit, 0);
    }
    pthread_mutex_unlock(&pool_lock);
}

__attribute__((destructor)) static void pool_fini(void)
{
    pool_stop();
}

/* fork: the child has none of the parent's workers; it starts its own when it needs them */
static void atfork_prepare(void) { pthread_mutex_lock(&pool_lock); }
static void atfork_parent(void) { pthread_mutex_unlock(&pool_lock); }
static void atfork_child(void)
{
    pool.nworkers = 0;
    atomic_store(&pool.sleepers, 0);
    atomic_store(&pool.waiting, 0);
    pthread_mutex_init(&pool_lock, NULL);
}

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static void fork_init(void)
{
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* Starts workers up to want (lazily, the first time a loop needs them); returns how many run. */
static int pool_grow(int want)
{
    pthread_once(&fork_once, fork_init);
    while (pool.nworkers < want) {
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstacksize(&at, 8u << 20);
        int r = pthread_create(&pool.tids[pool.nworkers], &at, worker_main,
                               (void *)(intptr_t)pool.nworkers);
        pthread_attr_destroy(&at);
        if (r) break;
        pool.nworkers++;
    }
    return pool.nworkers;
}

static void run_inline(int64_t n, chunk_fn fn, void *ctx)
{
    int was = in_par;
    in_par = 1;
    for (int64_t i = 0; i < n; i++) fn(ctx, i);
    in_par = was;
}

void lt_parallel_for(int64_t nchunks, void (*fn)(void *ctx, int64_t chunk), void *ctx)
{
    if (nchunks <= 0) return;
    int nt = lt_get_num_threads();
    if (nchunks == 1 || nt < 2 || in_par || nchunks > INT32_MAX) {
        run_inline(nchunks, fn, ctx);
        return;
    }
    /* another thread of the process is running a job: run this one here, whole */
    if (pthread_mutex_trylock(&pool_lock)) {
        run_inline(nchunks, fn, ctx);
        return;
    }
    int want = (int)(nchunks < nt ? nchunks : nt) - 1;
    if (want > POOL_MAX - 1) want = POOL_MAX - 1;
    int have = pool_grow(want);
    atomic_store_explicit(&pool.fn, fn, memory_order_relaxed);
    atomic_store_explicit(&pool.ctx, ctx, memory_order_relaxed);
    atomic_store_explicit(&pool.n, nchunks, memory_order_relaxed);
    atomic_store(&pool.maxw, have < want ? have : want);
    atomic_store(&pool.done, 0);
    uint32_t g = atomic_load(&pool.gen) + 1;
    atomic_store(&pool.claim, (uint64_t)g << 32);
    atomic_store(&pool.gen, g);
    if (atomic_load(&pool.sleepers)) futex_wake(&pool.gen, want);
    in_par = 1;
    run_chunks(g);
    in_par = 0;
    /* every chunk is claimed: wait for the ones workers are still running */
    for (int spin = 0; atomic_load(&pool.done) < nchunks; spin++) {
        if (spin < POOL_SPIN) {
            cpu_relax();
            continue;
        }
        uint32_t f = atomic_load(&pool.donefx);
        atomic_store(&pool.waiting, 1);
        if (atomic_load(&pool.done) < nchunks) futex_wait(&pool.donefx, f);
        atomic_store(&pool.waiting, 0);
    }
    pthread_mutex_unlock(&pool_lock);
}

typedef struct {
    void (*fn)(void *ctx, int64_t lo, int64_t hi);
    void *ctx;
    int64_t len, chunks;
} range_job;

static void range_chunk(void *p, int64_t c)
{
    const range_job *j = p;
    int64_t lo, hi;
    lt_par_range(j->len, j->chunks, c, &lo, &hi);
    if (hi > lo) j->fn(j->ctx, lo, hi);
}

void lt_parallel_range(int64_t chunks, int64_t len, void (*fn)(void *ctx, int64_t lo, int64_t hi),
                       void *ctx)
{
    if (len <= 0) return;
    if (chunks > len) chunks = len;
    if (chunks <= 1) {  /* serial: loops nested in fn may still split */
        fn(ctx, 0, len);
        return;
    }
    range_job j = {fn, ctx, len, chunks};
    lt_parallel_for(chunks, range_chunk, &j);
}
