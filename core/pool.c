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
#include <time.h>
#include <unistd.h>

#include "lt_internal.h"

#ifdef _OPENMP
#include <omp.h>
#endif

void openblas_set_num_threads(int num_threads); /* from OpenBLAS; not in cblas.h everywhere */

#define POOL_MAX 64           /* threads (caller included) a loop can use */
#define POOL_SPIN 256         /* polls (a pause each, 20-80 ns on this box) before a futex wait */

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

/* at load: OpenBLAS single-threaded before any GEMM runs */
__attribute__((constructor)) static void threads_load(void)
{
    pthread_once(&threads_once, threads_init);
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

/* ---- contention: the measured fallback ------------------------------------------------- */

/* A job's caller times the work units it runs itself (chunks, or steps of a sweep): their mean
 * times the job's units is what one thread would have taken. A job that took longer than that
 * lost to one thread (a worker descheduled inside a chunk: the cores are busy with other
 * processes); after LOSE_RUN such jobs in a row, jobs run on the caller alone (the same chunks,
 * so the same results) for a back-off period that doubles, from BACKOFF_MIN_NS up to
 * BACKOFF_MAX_NS, while the probes keep losing; WIN_RUN wins in a row bring it back to the
 * minimum. A lost job can cost a scheduler time slice, so the back-off stays long while the
 * machine is busy. A job that lost by less than LOSE_MIN_NS (a sleeping worker's futex wake-up
 * or two: a small job on an idle machine) counts neither way, so small jobs' wake-up costs
 * never send the big ones (the LSTM's sweeps, large products) back to one thread; a worker
 * descheduled by a busy neighbour costs a scheduler time slice, milliseconds, and still counts.
 * All of it is touched under pool_lock only. */
#define LOSE_RATIO     0.95
#define LOSE_MIN_NS    200e3
#define LOSE_RUN       2
#define WIN_RUN        16
#define BACKOFF_MIN_NS 50e6
#define BACKOFF_MAX_NS 2e9

static struct {
    int losses, wins;     /* jobs in a row that lost / won */
    double backoff;       /* ns of the next back-off */
    double until;         /* jobs run on the caller alone until this time (ns) */
} adapt = {0, 0, BACKOFF_MIN_NS, 0};

static int probe_force;                /* lt_pool_probe: no back-off */
static _Thread_local int timing;       /* 1 on a caller that times its units */
static _Thread_local double work_ns;   /* the caller's time in its own units */
static _Thread_local int64_t work_units;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* the caller's own unit: timed when timing */
static inline void unit_run(void (*fn)(void *, int64_t), void *ctx, int64_t i)
{
    if (!timing) {
        fn(ctx, i);
        return;
    }
    double t0 = now_ns();
    fn(ctx, i);
    work_ns += now_ns() - t0;
    work_units++;
}

/* after a job of `units` units that took `elapsed` ns */
static void adapt_note(double elapsed, int64_t units, double t_end)
{
    if (work_units == 0 || work_units >= units) return;  /* the caller ran it all */
    double serial = work_ns / (double)work_units * (double)units;
    if (elapsed <= LOSE_RATIO * serial) {
        adapt.losses = 0;
        if (++adapt.wins >= WIN_RUN) adapt.backoff = BACKOFF_MIN_NS;
        return;
    }
    if (elapsed - LOSE_RATIO * serial < LOSE_MIN_NS) return;
    adapt.wins = 0;
    if (++adapt.losses < LOSE_RUN) return;
    adapt.losses = LOSE_RUN - 1;  /* one more loss after the back-off: back off again */
    adapt.until = t_end + adapt.backoff;
    adapt.backoff = adapt.backoff * 2 < BACKOFF_MAX_NS ? adapt.backoff * 2 : BACKOFF_MAX_NS;
}

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
        void *ctx = atomic_load_explicit(&pool.ctx, memory_order_relaxed);
        if (timing == 1) unit_run(fn, ctx, i);  /* 2: the chunks time their own units */
        else fn(ctx, i);
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
#ifdef _OPENMP
    /* this thread's ICV only: a library that sizes OpenMP teams by it (oneDNN's OpenMP build)
     * stays on this thread inside a chunk */
    omp_set_num_threads(1);
#endif
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

/* The job on the pool; self_timed: fn times its own units (lt_parallel_steps), `units` of
 * them in all, else each chunk is a unit. */
static void pool_run(int64_t nchunks, chunk_fn fn, void *ctx, int self_timed, int64_t units)
{
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
    double t0 = now_ns();
    if (t0 < adapt.until && !probe_force) {  /* backing off: the cores are busy */
        pthread_mutex_unlock(&pool_lock);
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
    timing = self_timed ? 2 : 1;
    work_ns = 0, work_units = 0;
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
    double t1 = now_ns();
    adapt_note(t1 - t0, self_timed ? units : nchunks, t1);
    timing = 0;
    pthread_mutex_unlock(&pool_lock);
}

void lt_parallel_for(int64_t nchunks, void (*fn)(void *ctx, int64_t chunk), void *ctx)
{
    if (nchunks <= 0) return;
    pool_run(nchunks, fn, ctx, 0, nchunks);
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

/* ---- step sweeps ----------------------------------------------------------------------- */

#define STEPS_MAX_BLOCKS 256

typedef struct {
    void (*step)(void *ctx, int64_t block, int64_t t);
    void *ctx;
    int64_t nblocks, nsteps, parts;
    struct {  /* one cache line per block: threads on different blocks share no line */
        _Alignas(64) _Atomic int64_t done;   /* steps finished */
        _Atomic int owned;                   /* 1 while a thread runs one of its steps */
    } blk[STEPS_MAX_BLOCKS];
    _Atomic int64_t left;                    /* blocks not finished */
} steps_job;

/* One participant: takes a free block (its own first: the one it ran last, for its cache) for
 * one step at a time, until every block has run every step. A participant that never woke
 * holds nothing; one descheduled inside a step delays that block by the step alone. */
static void steps_part(void *p, int64_t part)
{
    steps_job *j = p;
    int64_t nb = j->nblocks, prefer = part * nb / j->parts;
    int idle = 0;
    while (atomic_load(&j->left) > 0) {
        int64_t b = -1;
        for (int64_t i = 0; i < nb && b < 0; i++) {
            int64_t c = (prefer + i) % nb;
            int zero = 0;
            if (atomic_load(&j->blk[c].done) < j->nsteps && !atomic_load(&j->blk[c].owned) &&
                atomic_compare_exchange_strong(&j->blk[c].owned, &zero, 1)) {
                if (atomic_load(&j->blk[c].done) < j->nsteps) b = c;
                else atomic_store(&j->blk[c].owned, 0);
            }
        }
        if (b < 0) {  /* every unfinished block is running elsewhere */
            if (++idle < 64) cpu_relax();
            else sched_yield();
            continue;
        }
        idle = 0;
        int64_t t = atomic_load(&j->blk[b].done);
        if (timing == 2) {  /* the caller: its steps are the job's units */
            double t0 = now_ns();
            j->step(j->ctx, b, t);
            work_ns += now_ns() - t0;
            work_units++;
        } else {
            j->step(j->ctx, b, t);
        }
        atomic_store(&j->blk[b].done, t + 1);
        if (t + 1 == j->nsteps) atomic_fetch_sub(&j->left, 1);
        atomic_store(&j->blk[b].owned, 0);
        prefer = b;
    }
}

void lt_parallel_steps(int64_t nblocks, int64_t nsteps,
                       void (*step)(void *ctx, int64_t block, int64_t t), void *ctx)
{
    if (nblocks <= 0 || nsteps <= 0) return;
    int nt = lt_get_num_threads();
    if (nblocks == 1 || nt < 2 || in_par || nblocks > STEPS_MAX_BLOCKS) {
        int was = in_par;
        in_par = 1;
        for (int64_t b = 0; b < nblocks; b++)
            for (int64_t t = 0; t < nsteps; t++) step(ctx, b, t);
        in_par = was;
        return;
    }
    steps_job *j = aligned_alloc(64, sizeof *j);
    if (!j) {  /* no memory for the bookkeeping: the same steps, here */
        for (int64_t b = 0; b < nblocks; b++)
            for (int64_t t = 0; t < nsteps; t++) step(ctx, b, t);
        return;
    }
    j->step = step, j->ctx = ctx, j->nblocks = nblocks, j->nsteps = nsteps;
    j->parts = nblocks < nt ? nblocks : nt;
    for (int64_t b = 0; b < nblocks; b++) {
        atomic_init(&j->blk[b].done, 0);
        atomic_init(&j->blk[b].owned, 0);
    }
    atomic_init(&j->left, nblocks);
    pool_run(j->parts, steps_part, j, 1, nblocks * nsteps);
    free(j);
}

/* ---- the pool's self-test (torch._poolProbe; spec/54-threads_spec.lua) ------------------- */

#define PROBE_MAX 4096

typedef struct {
    _Atomic int ran[PROBE_MAX];       /* times each outer chunk ran */
    _Atomic int nested_ran;           /* nested chunks run */
    _Atomic int bad;                  /* a check inside a chunk failed */
    _Atomic uint64_t threads[POOL_MAX]; /* the threads seen (pthread_self), 0 = free slot */
    int64_t nested;
    pthread_t owner;                  /* a nested call's chunks must run on this thread */
} probe_job;

static void probe_nested(void *p, int64_t c)
{
    probe_job *j = p;
    if (!lt_in_parallel()) atomic_store(&j->bad, 1);
    (void)c;
    atomic_fetch_add(&j->nested_ran, 1);
}

typedef struct {
    probe_job *j;
    pthread_t self;
    int64_t seen;
} nested_ctx;

static void probe_nested_inline(void *p, int64_t c)
{
    nested_ctx *n = p;
    if (!pthread_equal(n->self, pthread_self()) || c != n->seen++) atomic_store(&n->j->bad, 1);
    probe_nested(n->j, c);
}

static void probe_chunk(void *p, int64_t c)
{
    probe_job *j = p;
    if (!lt_in_parallel()) atomic_store(&j->bad, 1);
    atomic_fetch_add(&j->ran[c], 1);
    uint64_t me = (uint64_t)pthread_self();
    for (int i = 0; i < POOL_MAX; i++) {
        uint64_t cur = atomic_load(&j->threads[i]), zero = 0;
        if (cur == me) break;
        if (cur == 0 && atomic_compare_exchange_strong(&j->threads[i], &zero, me)) break;
        if (zero == me) break;
    }
    /* a nested call runs inline, in order, on this thread */
    nested_ctx n = {j, pthread_self(), 0};
    lt_parallel_for(j->nested, probe_nested_inline, &n);
    if (n.seen != j->nested) atomic_store(&j->bad, 1);
    /* some work, so that workers get a chance to claim chunks */
    volatile double x = 0;
    for (int i = 0; i < 20000; i++) x += i * 0.5;
}

int lt_pool_probe(int64_t nchunks, int64_t nested, int64_t *ran_once, int64_t *nested_ran,
                  int *threads, int *ok)
{
    if (nchunks < 0 || nchunks > PROBE_MAX || nested < 0 || nested > PROBE_MAX)
        return lt_error("expected 0 <= chunks, nested <= %d", PROBE_MAX);
    probe_job *j = calloc(1, sizeof *j);
    if (!j) return lt_error("out of memory");
    j->nested = nested;
    int outside = lt_in_parallel();
    probe_force = 1;
    lt_parallel_for(nchunks, probe_chunk, j);
    probe_force = 0;
    *ran_once = 0;
    for (int64_t c = 0; c < nchunks; c++) *ran_once += atomic_load(&j->ran[c]) == 1;
    *nested_ran = atomic_load(&j->nested_ran);
    *threads = 0;
    for (int i = 0; i < POOL_MAX; i++) *threads += atomic_load(&j->threads[i]) != 0;
    *ok = !atomic_load(&j->bad) && !outside && !lt_in_parallel();
    free(j);
    return LT_OK;
}
