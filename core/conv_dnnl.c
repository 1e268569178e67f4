/*
 * conv_dnnl.c — convolutions and pooling on oneDNN (Debian's libdnnl 2.x, C API) for
 * core/conv.c: the convolution and deconvolution primitives' forward, backward-data and
 * backward-weights, fp32 (or bf16 inside, when core/conv.c asks), on PyTorch's plain layouts;
 * max pooling forward (its workspace, the tap of each maximum, becomes PyTorch's indices) and
 * average pooling forward and backward, which run on the plain layout directly.
 *
 * oneDNN's fast kernels want blocked layouts (nChw16c, OIhw16i16o, ...): each primitive is
 * created with "any" layouts, and the plain tensors are reordered into what it picked and the
 * result back (the reorders also convert fp32 <-> bf16). A primitive with its reorders is an
 * entry of a cache keyed by the whole shape and direction, shared by all threads under a mutex
 * (creation JIT-compiles kernels: milliseconds, once per shape), at most CACHE_MAX entries
 * (beyond, a call's entry is freed after it), destroyed at exit. Scratchpads and reorder
 * buffers are per call (the user scratchpad mode), so one entry runs on several threads at once.
 *
 * Threads: Debian's oneDNN runs its parallel regions on OpenMP's threads, a second pool beside
 * core/pool.c's, and after each region libgomp's threads spin for milliseconds (GOMP_SPINCOUNT)
 * on the cores the next op's pool workers need (LeNet-5's step at 2 threads spent a third of its
 * samples in that spin). So a call that pays for threads cuts its batch in parts, at most one
 * per thread (batch_parts), each a single-threaded primitive made for its part's shape and run
 * in a pool chunk, as core/dnnl.c's products run; weight gradients are summed per part and
 * added in part order (the result depends on the thread count only, as im2col's). Only a batch
 * too small to cut evenly runs on OpenMP's threads: each primitive is made for the OpenMP count
 * it runs on (oneDNN splits its work by the count at creation) and cached per count.
 */
#include "conv_dnnl.h"

#include "lt_internal.h"

#ifndef LT_HAVE_DNNL

int lt_dnnl_conv_available(void) { return 0; }

int lt_dnnl_conv_run(lt_dnnl_conv_kind kind, const lt_dnnl_conv_shape *s, const float *a,
                     const float *b, const float *bias, float *out)
{
    return 0;
}

int lt_dnnl_max_pool(const lt_dnnl_pool_shape *s, const float *x, float *y, int64_t *indices)
{
    return 0;
}

int lt_dnnl_avg_pool(const lt_dnnl_pool_shape *s, const float *x, float *y) { return 0; }

int lt_dnnl_avg_pool_backward(const lt_dnnl_pool_shape *s, const float *gy, float *gx)
{
    return 0;
}

void lt_dnnl_conv_cache_free(void) {}

int64_t lt_dnnl_conv_calls(void) { return 0; }

#else

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#ifdef _OPENMP
#include <omp.h>
#endif

enum { CACHE_MAX = 128 };

/* the three tensors of one direction: the two inputs (a, b) and the output */
enum { T_A, T_B, T_OUT, T_N };

/* the kinds of cached primitive: the three convolution directions, then the poolings */
enum { K_POOL_MAX = 16, K_POOL_AVG, K_POOL_AVG_BWD };
enum { KEY_WORDS = 24 };   /* a shape struct's int64 fields, zero-filled after */

typedef struct entry {
    int64_t key[KEY_WORDS];         /* the shape, compared with memcmp                     */
    int kind;
    int nthr;                       /* the OpenMP count it was made for (its work split)   */
    dnnl_primitive_t prim;
    dnnl_memory_desc_t user[T_N];   /* the plain fp32 layouts of a, b, out                 */
    dnnl_memory_desc_t inner[T_N];  /* the primitive's own (blocked, maybe bf16)           */
    dnnl_primitive_t reorder[T_N];  /* plain -> inner for a, b; inner -> plain for out; NULL
                                       when the two are the same                           */
    dnnl_memory_desc_t bias_md;     /* forward with a bias: OC, fp32                       */
    dnnl_memory_desc_t ws_md;       /* max pooling: its workspace (the tap of each maximum) */
    size_t scratch;                 /* the primitive's scratchpad bytes                    */
    struct entry *next;
} entry;

static struct {
    pthread_mutex_t lock;
    dnnl_engine_t engine;
    int failed;                     /* the engine could not be made: never try again      */
    int registered;                 /* atexit done                                        */
    int count;
    entry *head;
} cache = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0, NULL};

static int64_t calls;

int lt_dnnl_conv_available(void) { return 1; }

int64_t lt_dnnl_conv_calls(void) { return __atomic_load_n(&calls, __ATOMIC_RELAXED); }

static void entry_free(entry *e)
{
    if (!e) return;
    if (e->prim) dnnl_primitive_destroy(e->prim);
    for (int t = 0; t < T_N; t++)
        if (e->reorder[t]) dnnl_primitive_destroy(e->reorder[t]);
    free(e);
}

void lt_dnnl_conv_cache_free(void)
{
    pthread_mutex_lock(&cache.lock);
    for (entry *e = cache.head, *nx; e; e = nx) {
        nx = e->next;
        entry_free(e);
    }
    cache.head = NULL;
    cache.count = 0;
    if (cache.engine) dnnl_engine_destroy(cache.engine);
    cache.engine = NULL;
    pthread_mutex_unlock(&cache.lock);
}

/* ---- primitive creation --------------------------------------------------------------------- */

static int md_init(dnnl_memory_desc_t *md, int nd, const int64_t *dims, dnnl_data_type_t dt,
                   dnnl_format_tag_t tag)
{
    dnnl_dims_t d;
    for (int i = 0; i < nd; i++) d[i] = dims[i];
    return dnnl_memory_desc_init_by_tag(md, nd, d, dt, tag) == dnnl_success ? 0 : -1;
}

/* the plain layouts of x, w, y; dt the data type (fp32 for the user's, bf16 or "any" inside) */
static int shape_mds(const lt_dnnl_conv_shape *s, dnnl_data_type_t dt, int any,
                     dnnl_memory_desc_t *x, dnnl_memory_desc_t *w, dnnl_memory_desc_t *y)
{
    int64_t xd[4] = {s->N, s->C, s->H, s->W}, yd[4] = {s->N, s->OC, s->OH, s->OW};
    int64_t G = s->groups;
    /* oneDNN's weights are (G,) OC/G x IC/G x kh x kw for both primitives; a transposed
     * convolution's tensor holds them as IC/G x OC/G (giohw) */
    int64_t wd[5] = {G, s->OC / G, s->C / G, s->kh, s->kw};
    dnnl_format_tag_t wtag = s->transposed ? (G > 1 ? dnnl_giohw : dnnl_iohw)
                                           : (G > 1 ? dnnl_goihw : dnnl_oihw);
    if (any) wtag = dnnl_format_tag_any;
    dnnl_format_tag_t atag = any ? dnnl_format_tag_any : dnnl_nchw;
    if (md_init(x, 4, xd, dt, atag) || md_init(y, 4, yd, dt, atag)) return -1;
    return G > 1 ? md_init(w, 5, wd, dt, wtag) : md_init(w, 4, wd + 1, dt, wtag);
}

/* the descriptor of one direction (the opaque op desc oneDNN's C API takes by pointer) */
typedef union {
    dnnl_convolution_desc_t conv;
    dnnl_deconvolution_desc_t deconv;
} op_desc;

static int op_init(op_desc *od, const lt_dnnl_conv_shape *s, int dir, const dnnl_memory_desc_t *x,
                   const dnnl_memory_desc_t *w, const dnnl_memory_desc_t *bias,
                   const dnnl_memory_desc_t *y)
{
    dnnl_dims_t st = {s->sh, s->sw}, dil = {s->dh - 1, s->dw - 1}, pl = {s->ph, s->pw}, pr;
    dnnl_status_t r;
    if (s->transposed) {
        /* the output padding is extra rows at the end: less padding on the right */
        pr[0] = s->ph - s->oph;
        pr[1] = s->pw - s->opw;
        if (dir == LT_DNNL_CONV_FWD)
            r = dnnl_dilated_deconvolution_forward_desc_init(&od->deconv, dnnl_forward_training,
                    dnnl_deconvolution_direct, x, w, bias, y, st, dil, pl, pr);
        else if (dir == LT_DNNL_CONV_BWD_DATA)
            r = dnnl_dilated_deconvolution_backward_data_desc_init(&od->deconv,
                    dnnl_deconvolution_direct, x, w, y, st, dil, pl, pr);
        else
            r = dnnl_dilated_deconvolution_backward_weights_desc_init(&od->deconv,
                    dnnl_deconvolution_direct, x, w, NULL, y, st, dil, pl, pr);
    } else {
        /* PyTorch's floor division of the output size: the same padding on both sides is
         * consistent with it (rows past the last window are never read) */
        pr[0] = s->ph;
        pr[1] = s->pw;
        if (dir == LT_DNNL_CONV_FWD)
            r = dnnl_dilated_convolution_forward_desc_init(&od->conv, dnnl_forward_training,
                    dnnl_convolution_direct, x, w, bias, y, st, dil, pl, pr);
        else if (dir == LT_DNNL_CONV_BWD_DATA)
            r = dnnl_dilated_convolution_backward_data_desc_init(&od->conv,
                    dnnl_convolution_direct, x, w, y, st, dil, pl, pr);
        else
            r = dnnl_dilated_convolution_backward_weights_desc_init(&od->conv,
                    dnnl_convolution_direct, x, w, NULL, y, st, dil, pl, pr);
    }
    return r == dnnl_success ? 0 : -1;
}

static const dnnl_memory_desc_t *pd_md(const_dnnl_primitive_desc_t pd, dnnl_query_t q)
{
    return dnnl_primitive_desc_query_md(pd, q, 0);
}

/* a reorder from -> to, or NULL (and 0) when the layouts are the same; -1 on failure */
static int make_reorder(dnnl_primitive_t *out, const dnnl_memory_desc_t *from,
                        const dnnl_memory_desc_t *to)
{
    *out = NULL;
    if (dnnl_memory_desc_equal(from, to)) return 0;
    dnnl_primitive_desc_t rpd;
    if (dnnl_reorder_primitive_desc_create(&rpd, from, cache.engine, to, cache.engine, NULL) !=
        dnnl_success)
        return -1;
    dnnl_status_t r = dnnl_primitive_create(out, rpd);
    dnnl_primitive_desc_destroy(rpd);
    return r == dnnl_success ? 0 : -1;
}

/* Builds the entry of (kind, s), or NULL when oneDNN does not take it. Called under the lock. */
static entry *entry_make(lt_dnnl_conv_kind kind, const lt_dnnl_conv_shape *s)
{
    entry *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    memcpy(e->key, s, sizeof *s);
    e->kind = (int)kind;
    dnnl_data_type_t dt = s->bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_t ux, uw, uy, ax, aw, ay;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t fwd = NULL, pd = NULL;
    op_desc fd, od;
    int ok = shape_mds(s, dnnl_f32, 0, &ux, &uw, &uy) == 0 &&
             shape_mds(s, dt, 1, &ax, &aw, &ay) == 0;
    const dnnl_memory_desc_t *bias = NULL;
    if (ok && kind == LT_DNNL_CONV_FWD && s->bias) {
        ok = md_init(&e->bias_md, 1, &s->OC, dnnl_f32, dnnl_a) == 0;
        bias = &e->bias_md;
    }
    ok = ok && dnnl_primitive_attr_create(&attr) == dnnl_success &&
         dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) == dnnl_success;
    /* the backward directions take the forward's primitive descriptor as a hint */
    ok = ok && op_init(&fd, s, LT_DNNL_CONV_FWD, &ax, &aw, bias, &ay) == 0 &&
         dnnl_primitive_desc_create(&fwd, &fd, attr, cache.engine, NULL) == dnnl_success;
    if (ok && kind == LT_DNNL_CONV_FWD) {
        pd = fwd;
        fwd = NULL;
    } else if (ok) {
        ok = op_init(&od, s, kind, &ax, &aw, NULL, &ay) == 0 &&
             dnnl_primitive_desc_create(&pd, &od, attr, cache.engine, fwd) == dnnl_success;
    }
    if (ok) {
        /* which of x, w, y each tensor is, and its query */
        const dnnl_memory_desc_t *u[T_N];
        dnnl_query_t q[T_N];
        if (kind == LT_DNNL_CONV_FWD) {
            u[T_A] = &ux, u[T_B] = &uw, u[T_OUT] = &uy;
            q[T_A] = dnnl_query_src_md, q[T_B] = dnnl_query_weights_md, q[T_OUT] = dnnl_query_dst_md;
        } else if (kind == LT_DNNL_CONV_BWD_DATA) {
            u[T_A] = &uy, u[T_B] = &uw, u[T_OUT] = &ux;
            q[T_A] = dnnl_query_diff_dst_md, q[T_B] = dnnl_query_weights_md;
            q[T_OUT] = dnnl_query_diff_src_md;
        } else {
            u[T_A] = &ux, u[T_B] = &uy, u[T_OUT] = &uw;
            q[T_A] = dnnl_query_src_md, q[T_B] = dnnl_query_diff_dst_md;
            q[T_OUT] = dnnl_query_diff_weights_md;
        }
        for (int t = 0; ok && t < T_N; t++) {
            const dnnl_memory_desc_t *in = pd_md(pd, q[t]);
            ok = in != NULL;
            if (!ok) break;
            e->user[t] = *u[t];
            e->inner[t] = *in;
            ok = (t == T_OUT ? make_reorder(&e->reorder[t], in, u[t])
                             : make_reorder(&e->reorder[t], u[t], in)) == 0;
        }
        const dnnl_memory_desc_t *sp = ok ? pd_md(pd, dnnl_query_scratchpad_md) : NULL;
        e->scratch = sp ? dnnl_memory_desc_get_size(sp) : 0;
        ok = ok && dnnl_primitive_create(&e->prim, pd) == dnnl_success;
    }
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (fwd) dnnl_primitive_desc_destroy(fwd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (!ok) {
        entry_free(e);
        return NULL;
    }
    return e;
}

static entry *pool_make(int kind, const lt_dnnl_pool_shape *s);

static int threads_push(int nthr);
static void threads_pop(int old);

/* The cached entry of (kind, shape) for nthr OpenMP threads, made when missing (under that
 * count: oneDNN's kernels split their work by the count at creation, so an entry made on one
 * thread ran on one thread at any count); *own = 1 when the caller must free it (the cache is
 * full). NULL when oneDNN does not take the shape. */
static entry *entry_get(int kind, const void *shape, size_t size, int nthr, int *own)
{
    int64_t key[KEY_WORDS] = {0};
    memcpy(key, shape, size);
    *own = 0;
    pthread_mutex_lock(&cache.lock);
    entry *e = NULL;
    if (!cache.engine && !cache.failed &&
        dnnl_engine_create(&cache.engine, dnnl_cpu, 0) != dnnl_success) {
        cache.engine = NULL;
        cache.failed = 1;
    }
    if (cache.engine && !cache.registered) {
        cache.registered = 1;
        atexit(lt_dnnl_conv_cache_free);
    }
    for (e = cache.head; cache.engine && e; e = e->next)
        if (e->kind == kind && e->nthr == nthr && !memcmp(e->key, key, sizeof key)) break;
    if (!e && cache.engine) {
        int old = threads_push(nthr);
        e = kind >= K_POOL_MAX ? pool_make(kind, shape)
                               : entry_make((lt_dnnl_conv_kind)kind, shape);
        threads_pop(old);
        if (e) e->nthr = nthr;
        if (e && cache.count < CACHE_MAX) {
            e->next = cache.head;
            cache.head = e;
            cache.count++;
        } else if (e) {
            *own = 1;
        }
    }
    pthread_mutex_unlock(&cache.lock);
    return e;
}

/* ---- execution ------------------------------------------------------------------------------ */


/* oneDNN's parallel regions take omp_get_max_threads() of this thread: set it to the count
 * the entry was made for (1 but for a batch too small to cut), and back after */
static int threads_push(int nthr)
{
#ifdef _OPENMP
    int old = omp_get_max_threads();
    if (old != nthr) omp_set_num_threads(nthr);
    return old;
#else
    return 1;
#endif
}

static void threads_pop(int old)
{
#ifdef _OPENMP
    if (omp_get_max_threads() != old) omp_set_num_threads(old);
#else
    (void)old;
#endif
}

static int mem(dnnl_memory_t *m, const dnnl_memory_desc_t *md, void *p)
{
    return dnnl_memory_create(m, md, cache.engine, p) == dnnl_success ? 0 : -1;
}

static int reorder_run(dnnl_primitive_t r, dnnl_stream_t st, dnnl_memory_t from, dnnl_memory_t to)
{
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    return dnnl_primitive_execute(r, st, 2, args) == dnnl_success ? 0 : -1;
}

/* the primitive's argument id of each tensor */
static void arg_ids(lt_dnnl_conv_kind kind, int ids[T_N])
{
    if (kind == LT_DNNL_CONV_FWD) {
        ids[T_A] = DNNL_ARG_SRC, ids[T_B] = DNNL_ARG_WEIGHTS, ids[T_OUT] = DNNL_ARG_DST;
    } else if (kind == LT_DNNL_CONV_BWD_DATA) {
        ids[T_A] = DNNL_ARG_DIFF_DST, ids[T_B] = DNNL_ARG_WEIGHTS, ids[T_OUT] = DNNL_ARG_DIFF_SRC;
    } else {
        ids[T_A] = DNNL_ARG_SRC, ids[T_B] = DNNL_ARG_DIFF_DST, ids[T_OUT] = DNNL_ARG_DIFF_WEIGHTS;
    }
}

static int entry_run(const entry *e, const float *a, const float *b, const float *bias,
                     float *out)
{
    void *user[T_N] = {(void *)(uintptr_t)a, (void *)(uintptr_t)b, out};
    void *buf[T_N + 1] = {NULL, NULL, NULL, NULL};   /* reorder buffers, then the scratchpad */
    lt_tensor *hold[T_N + 1] = {NULL, NULL, NULL, NULL};
    dnnl_memory_t um[T_N] = {NULL}, im[T_N] = {NULL}, bm = NULL, sm = NULL;
    dnnl_stream_t st = NULL;
    int ids[T_N], ok = dnnl_stream_create(&st, cache.engine, dnnl_stream_default_flags) ==
                       dnnl_success;
    arg_ids((lt_dnnl_conv_kind)e->kind, ids);
    for (int t = 0; ok && t < T_N; t++) {
        ok = mem(&um[t], &e->user[t], user[t]) == 0;
        if (ok && e->reorder[t]) {
            size_t n = dnnl_memory_desc_get_size(&e->inner[t]);
            ok = (buf[t] = lt_scratch_get(n, &hold[t])) != NULL && mem(&im[t], &e->inner[t], buf[t]) == 0;
        }
    }
    if (ok && e->scratch) ok = (buf[T_N] = lt_scratch_get(e->scratch, &hold[T_N])) != NULL;
    ok = ok && (!bias || mem(&bm, &e->bias_md, (void *)(uintptr_t)bias) == 0);
    int old = threads_push(e->nthr);
    for (int t = 0; ok && t < T_OUT; t++)
        if (e->reorder[t]) ok = reorder_run(e->reorder[t], st, um[t], im[t]) == 0;
    if (ok) {
        dnnl_exec_arg_t args[5];
        int n = 0;
        for (int t = 0; t < T_N; t++)
            args[n++] = (dnnl_exec_arg_t){ids[t], e->reorder[t] ? im[t] : um[t]};
        if (bm) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, bm};
        dnnl_memory_desc_t smd;
        if (e->scratch) {
            int64_t sz = (int64_t)e->scratch;
            ok = md_init(&smd, 1, &sz, dnnl_u8, dnnl_a) == 0 && mem(&sm, &smd, buf[T_N]) == 0;
            if (ok) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, sm};
        }
        ok = ok && dnnl_primitive_execute(e->prim, st, n, args) == dnnl_success;
    }
    if (ok && e->reorder[T_OUT]) ok = reorder_run(e->reorder[T_OUT], st, im[T_OUT], um[T_OUT]) == 0;
    if (ok) ok = dnnl_stream_wait(st) == dnnl_success;
    threads_pop(old);
    for (int t = 0; t < T_N; t++) {
        if (um[t]) dnnl_memory_destroy(um[t]);
        if (im[t]) dnnl_memory_destroy(im[t]);
    }
    if (bm) dnnl_memory_destroy(bm);
    if (sm) dnnl_memory_destroy(sm);
    if (st) dnnl_stream_destroy(st);
    for (int t = 0; t <= T_N; t++) lt_scratch_put(hold[t]);
    return ok ? 1 : lt_error("oneDNN's convolution failed (out of memory?)");
}

/* ---- the batch split (see the file comment) --------------------------------------------- */

/* The parts of a call on a batch of N that costs flops / bytes: 1 (this thread alone), 2 or
 * more (pool chunks, at most one per thread), or 0 (OpenMP's threads: fewer samples than
 * parts, or parts more than 25% uneven). */
static int64_t batch_parts(int64_t N, double flops, double bytes)
{
    if (lt_in_parallel()) return 1;
    int64_t parts = lt_par_chunks(flops, bytes), nt = lt_get_num_threads();
    if (parts > nt) parts = nt;
    if (parts < 2) return 1;
    if (N < parts || 4 * ((N + parts - 1) / parts) * parts > 5 * N) return 0;
    return parts;
}

typedef struct split split;
/* runs part p, samples from n0 on (as many as e was made for): 1, or LT_ERR */
typedef int (*part_fn)(const split *j, int64_t p, int64_t n0, const entry *e);

struct split {
    int64_t N, parts;
    entry *e[2];       /* the entries for parts of N / parts and N / parts + 1 samples */
    part_fn run;
    const void *args;  /* the call's own arguments */
    int *rc;           /* (parts) each part's result */
};

static void split_chunk(void *ctx, int64_t p)
{
    const split *j = ctx;
    int64_t n0 = j->N * p / j->parts, n1 = j->N * (p + 1) / j->parts;
    j->rc[p] = j->run(j, p, n0, j->e[n1 - n0 - j->N / j->parts]);
}

/* Runs one call, fn over the parts of the batch of shape (whose first field is N) that
 * batch_parts gave: 2 or more in pool chunks, on single-threaded entries made here first; one
 * here, on an entry for one thread (parts 1) or for OpenMP's (parts 0). 1 done (counted in
 * calls), 0 when oneDNN refuses a part's shape (nothing run), LT_ERR. */
static int run_parts(int kind, const void *shape, size_t size, int64_t parts, part_fn fn,
                     const void *args)
{
    int64_t key[KEY_WORDS] = {0};
    memcpy(key, shape, size);
    int64_t N = key[0];
    int nthr = parts ? 1 : lt_get_num_threads();
    if (parts < 1) parts = 1;
    split j = {N, parts, {NULL, NULL}, fn, args, NULL};
    int own[2] = {0, 0}, r = 1;
    for (int i = 0; i < 2 && r == 1 && (i == 0 || N % parts); i++) {
        key[0] = N / parts + i;
        if (!(j.e[i] = entry_get(kind, key, size, nthr, &own[i]))) r = 0;
    }
    if (r == 1 && parts == 1) {
        r = fn(&j, 0, 0, j.e[0]);
    } else if (r == 1) {
        if (!(j.rc = calloc((size_t)parts, sizeof *j.rc)))
            r = lt_error("out of memory splitting a oneDNN call");
        else
            lt_parallel_for(parts, split_chunk, &j);
        for (int64_t p = 0; j.rc && p < parts; p++)
            if (j.rc[p] != 1)   /* the part's own message is on its thread */
                r = lt_error("oneDNN's %s failed (out of memory?)",
                             kind >= K_POOL_MAX ? "pooling" : "convolution");
    }
    free(j.rc);
    for (int i = 0; i < 2; i++)
        if (own[i]) entry_free(j.e[i]);
    if (r == 1) __atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
    return r;
}

/* ---- convolution ------------------------------------------------------------------------ */

typedef struct {
    lt_dnnl_conv_kind kind;
    const lt_dnnl_conv_shape *s;
    const float *a, *b, *bias;
    float *out;
    float *partial;    /* weight gradient: (parts - 1) x wsz, the sums of parts 1.. */
    int64_t wsz;
} conv_args;

static int conv_part(const split *j, int64_t p, int64_t n0, const entry *e)
{
    const conv_args *c = j->args;
    const lt_dnnl_conv_shape *s = c->s;
    int64_t xs = s->C * s->H * s->W, ys = s->OC * s->OH * s->OW;
    if (c->kind == LT_DNNL_CONV_FWD)
        return entry_run(e, c->a + n0 * xs, c->b, c->bias, c->out + n0 * ys);
    if (c->kind == LT_DNNL_CONV_BWD_DATA)
        return entry_run(e, c->a + n0 * ys, c->b, NULL, c->out + n0 * xs);
    return entry_run(e, c->a + n0 * xs, c->b + n0 * ys, NULL,
                     p ? c->partial + (p - 1) * c->wsz : c->out);
}

int lt_dnnl_conv_run(lt_dnnl_conv_kind kind, const lt_dnnl_conv_shape *s, const float *a,
                     const float *b, const float *bias, float *out)
{
    lt_dnnl_conv_shape key = *s;
    if (kind != LT_DNNL_CONV_FWD) key.bias = 0, bias = NULL;
    /* multiply-adds: each element of the side the kernel sums into, over its window */
    double sums = (double)(s->transposed ? s->C * s->H * s->W : s->OC * s->OH * s->OW);
    double win = (double)((s->transposed ? s->OC : s->C) / s->groups * s->kh * s->kw);
    double io = (double)(s->C * s->H * s->W + s->OC * s->OH * s->OW);
    int64_t parts = batch_parts(s->N, 2.0 * (double)s->N * sums * win, 4.0 * (double)s->N * io);
    int64_t wsz = s->OC * s->C / s->groups * s->kh * s->kw;
    lt_tensor *hold = NULL;
    float *partial = NULL;
    if (kind == LT_DNNL_CONV_BWD_WEIGHTS && parts >= 2 &&
        !(partial = lt_scratch_get((size_t)((parts - 1) * wsz) * sizeof(float), &hold)))
        return LT_ERR;
    conv_args c = {kind, s, a, b, bias, out, partial, wsz};
    int r = run_parts((int)kind, &key, sizeof key, parts, conv_part, &c);
    for (int64_t p = 1; r == 1 && partial && p < parts; p++)
        for (int64_t i = 0; i < wsz; i++) out[i] += partial[(p - 1) * wsz + i];
    lt_scratch_put(hold);
    return r;
}

/* ---- pooling -------------------------------------------------------------------------------
 * On the plain layout (oneDNN's jit kernels take nchw as it is): no reorders. The entry's
 * user[T_A] is the input side (x, or gy backward), user[T_OUT] the output side. */

static int pool_desc(dnnl_pooling_v2_desc_t *pd, int kind, const lt_dnnl_pool_shape *s,
                     const dnnl_memory_desc_t *x, const dnnl_memory_desc_t *y)
{
    dnnl_dims_t st = {s->sh, s->sw}, k = {s->kh, s->kw}, dil = {s->dh - 1, s->dw - 1};
    dnnl_dims_t pl = {s->ph, s->pw}, pr = {s->prh, s->prw};
    dnnl_alg_kind_t alg = kind == K_POOL_MAX ? dnnl_pooling_max
                          : s->exclude_pad ? dnnl_pooling_avg_exclude_padding
                                           : dnnl_pooling_avg_include_padding;
    return dnnl_pooling_v2_forward_desc_init(pd, kind == K_POOL_MAX ? dnnl_forward_training
                                                                    : dnnl_forward_inference,
                                             alg, x, y, st, k, dil, pl, pr) == dnnl_success
               ? 0 : -1;
}

static entry *pool_make(int kind, const lt_dnnl_pool_shape *s)
{
    entry *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    memcpy(e->key, s, sizeof *s);
    e->kind = kind;
    int64_t xd[4] = {s->N, s->C, s->H, s->W}, yd[4] = {s->N, s->C, s->OH, s->OW};
    dnnl_memory_desc_t x, y;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t fwd = NULL, pd = NULL;
    dnnl_pooling_v2_desc_t fd, bd;
    int ok = md_init(&x, 4, xd, dnnl_f32, dnnl_nchw) == 0 && md_init(&y, 4, yd, dnnl_f32, dnnl_nchw) == 0 &&
             dnnl_primitive_attr_create(&attr) == dnnl_success &&
             dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) == dnnl_success &&
             pool_desc(&fd, kind == K_POOL_AVG_BWD ? K_POOL_AVG : kind, s, &x, &y) == 0 &&
             dnnl_primitive_desc_create(&fwd, &fd, attr, cache.engine, NULL) == dnnl_success;
    if (ok && kind != K_POOL_AVG_BWD) {
        pd = fwd;
        fwd = NULL;
    } else if (ok) {
        dnnl_dims_t st = {s->sh, s->sw}, k = {s->kh, s->kw}, dil = {s->dh - 1, s->dw - 1};
        dnnl_dims_t pl = {s->ph, s->pw}, pr = {s->prh, s->prw};
        ok = dnnl_pooling_v2_backward_desc_init(&bd, s->exclude_pad ? dnnl_pooling_avg_exclude_padding
                                                                     : dnnl_pooling_avg_include_padding,
                                                &x, &y, st, k, dil, pl, pr) == dnnl_success &&
             dnnl_primitive_desc_create(&pd, &bd, attr, cache.engine, fwd) == dnnl_success;
    }
    /* the layouts must be the plain ones asked for (no reorders here) */
    if (ok) {
        int bwd = kind == K_POOL_AVG_BWD;
        const dnnl_memory_desc_t *a = pd_md(pd, bwd ? dnnl_query_diff_dst_md : dnnl_query_src_md);
        const dnnl_memory_desc_t *o = pd_md(pd, bwd ? dnnl_query_diff_src_md : dnnl_query_dst_md);
        ok = a && o && dnnl_memory_desc_equal(a, bwd ? &y : &x) && dnnl_memory_desc_equal(o, bwd ? &x : &y);
        e->user[T_A] = bwd ? y : x;
        e->user[T_OUT] = bwd ? x : y;
    }
    if (ok && kind == K_POOL_MAX) {
        /* the workspace: one u8 or s32 tap number per output, in the output's plain layout */
        const dnnl_memory_desc_t *ws = pd_md(pd, dnnl_query_workspace_md);
        dnnl_memory_desc_t want_u8, want_s32;
        ok = ws && md_init(&want_u8, 4, yd, dnnl_u8, dnnl_nchw) == 0 &&
             md_init(&want_s32, 4, yd, dnnl_s32, dnnl_nchw) == 0 &&
             (dnnl_memory_desc_equal(ws, &want_u8) || dnnl_memory_desc_equal(ws, &want_s32));
        if (ok) e->ws_md = *ws;
    }
    const dnnl_memory_desc_t *sp = ok ? pd_md(pd, dnnl_query_scratchpad_md) : NULL;
    e->scratch = sp ? dnnl_memory_desc_get_size(sp) : 0;
    ok = ok && dnnl_primitive_create(&e->prim, pd) == dnnl_success;
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (fwd) dnnl_primitive_desc_destroy(fwd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (!ok) {
        entry_free(e);
        return NULL;
    }
    return e;
}

/* runs a pooling entry: in -> out (and the workspace into ws, max pooling) */
static int pool_run(const entry *e, const float *in, float *out, void *ws)
{
    int bwd = e->kind == K_POOL_AVG_BWD;
    dnnl_memory_t mi = NULL, mo = NULL, mw = NULL, ms = NULL;
    dnnl_stream_t st = NULL;
    lt_tensor *hold = NULL;
    void *sp;
    dnnl_memory_desc_t smd;
    int64_t ssz = (int64_t)e->scratch;
    int ok = dnnl_stream_create(&st, cache.engine, dnnl_stream_default_flags) == dnnl_success &&
             mem(&mi, &e->user[T_A], (void *)(uintptr_t)in) == 0 && mem(&mo, &e->user[T_OUT], out) == 0 &&
             (!ws || mem(&mw, &e->ws_md, ws) == 0) &&
             (!ssz || ((sp = lt_scratch_get((size_t)ssz, &hold)) && md_init(&smd, 1, &ssz, dnnl_u8, dnnl_a) == 0 &&
                       mem(&ms, &smd, sp) == 0));
    if (ok) {
        dnnl_exec_arg_t args[4] = {{bwd ? DNNL_ARG_DIFF_DST : DNNL_ARG_SRC, mi},
                                   {bwd ? DNNL_ARG_DIFF_SRC : DNNL_ARG_DST, mo}};
        int n = 2;
        if (mw) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_WORKSPACE, mw};
        if (ms) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, ms};
        int old = threads_push(e->nthr);
        ok = dnnl_primitive_execute(e->prim, st, n, args) == dnnl_success &&
             dnnl_stream_wait(st) == dnnl_success;
        threads_pop(old);
    }
    if (mi) dnnl_memory_destroy(mi);
    if (mo) dnnl_memory_destroy(mo);
    if (mw) dnnl_memory_destroy(mw);
    if (ms) dnnl_memory_destroy(ms);
    if (st) dnnl_stream_destroy(st);
    lt_scratch_put(hold);
    return ok ? 1 : lt_error("oneDNN's pooling failed (out of memory?)");
}

/* max pooling of samples [n0, n1) on e (made for n1 - n0 samples): y, and the indices from
 * its workspace (the tap of each maximum) */
static int max_pool_rows(const entry *e, const lt_dnnl_pool_shape *s, int64_t n0, int64_t n1,
                         const float *x, float *y, int64_t *indices)
{
    int s32 = e->ws_md.data_type == dnnl_s32;
    int64_t xs = s->C * s->H * s->W, ys = s->C * s->OH * s->OW;
    int64_t n = (n1 - n0) * ys, taps = s->kh * s->kw;
    lt_tensor *hold = NULL, *offh = NULL;
    void *ws = lt_scratch_get((size_t)n * (s32 ? 4 : 1), &hold);
    /* tap t = i * kw + j of output (oy, ox) read input (oy * sh - ph + i * dh, ox * sw - pw +
     * j * dw): PyTorch's index is that position in the plane, the window's corner plus off[t] */
    int64_t *off = ws ? lt_scratch_get((size_t)taps * sizeof *off, &offh) : NULL;
    int r = off ? pool_run(e, x + n0 * xs, y + n0 * ys, ws) : LT_ERR;
    if (r == 1) {
        for (int64_t t = 0; t < taps; t++) off[t] = (t / s->kw) * s->dh * s->W + (t % s->kw) * s->dw;
        int64_t q = 0, *ind = indices + n0 * ys;
        for (int64_t pl = 0; pl < (n1 - n0) * s->C; pl++)
            for (int64_t oy = 0; oy < s->OH; oy++) {
                int64_t corner = (oy * s->sh - s->ph) * s->W - s->pw;
                if (s32)
                    for (int64_t ox = 0; ox < s->OW; ox++, q++)
                        ind[q] = corner + ox * s->sw + off[((const int32_t *)ws)[q]];
                else
                    for (int64_t ox = 0; ox < s->OW; ox++, q++)
                        ind[q] = corner + ox * s->sw + off[((const uint8_t *)ws)[q]];
            }
    }
    lt_scratch_put(hold);
    lt_scratch_put(offh);
    return r;
}

typedef struct {
    int kind;
    const lt_dnnl_pool_shape *s;
    const float *in;   /* x, or gy backward */
    float *out;        /* y, or gx backward */
    int64_t *indices;  /* max pooling */
} pool_args;

/* samples [n0, n0 + the count e was made for) of one pooling call */
static int pool_part(const split *j, int64_t p, int64_t n0, const entry *e)
{
    const pool_args *c = j->args;
    const lt_dnnl_pool_shape *s = c->s;
    if (c->kind == K_POOL_MAX)
        return max_pool_rows(e, s, n0, n0 + e->key[0], c->in, c->out, c->indices);
    int64_t xs = s->C * s->H * s->W, ys = s->C * s->OH * s->OW;
    int bwd = c->kind == K_POOL_AVG_BWD;
    return pool_run(e, c->in + n0 * (bwd ? ys : xs), c->out + n0 * (bwd ? xs : ys), NULL);
}

static int pool_any(int kind, const lt_dnnl_pool_shape *s, const float *in, float *out,
                    int64_t *indices)
{
    pool_args c = {kind, s, in, out, indices};
    double outs = (double)(s->N * s->C * s->OH * s->OW);
    int64_t parts = batch_parts(s->N, outs * (double)(s->kh * s->kw),
                                4.0 * ((double)(s->N * s->C * s->H * s->W) + outs));
    return run_parts(kind, s, sizeof *s, parts, pool_part, &c);
}

int lt_dnnl_max_pool(const lt_dnnl_pool_shape *s, const float *x, float *y, int64_t *indices)
{
    return pool_any(K_POOL_MAX, s, x, y, indices);
}

int lt_dnnl_avg_pool(const lt_dnnl_pool_shape *s, const float *x, float *y)
{
    return pool_any(K_POOL_AVG, s, x, y, NULL);
}

int lt_dnnl_avg_pool_backward(const lt_dnnl_pool_shape *s, const float *gy, float *gx)
{
    return pool_any(K_POOL_AVG_BWD, s, gy, gx, NULL);
}

#endif
