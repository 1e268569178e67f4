/*
 * dnnl.c — float32 matrix products on OpenBLAS or oneDNN, and bf16 autocast (core/dnnl.h).
 *
 * Every host float32 GEMM of the toolkit comes here through lt_blas_gemm (core/blas.c): the
 * general products, the recurrent layers' per-step products (core/lstm.c, core/rnn.c) and the
 * convolutions' (core/conv.c). float64 and gemv stay on OpenBLAS.
 *
 * Engine rule (fixed, from the sweep bench/gemm_sweep.lua: 96 shapes, m, n, k in 1..512, each
 * A plain and transposed, one thread, Zen 4; bench/README.md "GEMM engines"): oneDNN's
 * dnnl_sgemm runs the row-major products of at least DNNL_MIN_MACS multiply-adds with
 * n >= DNNL_MIN_N, OpenBLAS the others. Above the line oneDNN was 1.05-3.4x faster (the seed's
 * 100x512x128, 100x128x512, 100x512x28: 1.15-1.25x) bar one shape at parity (512^3, 0.96);
 * below it OpenBLAS won most shapes (oneDNN's per-call setup costs more than its kernel saves,
 * and it is slower with a narrow C: n = 10 at 0.5-0.7x). The column bound was 64 until a
 * second sweep of the recurrent layers' weight-gradient shapes (n = 12..48 columns, k up to
 * 2800: the input projection's dW_ih at the seed's 28 inputs) found oneDNN 1.13-1.55x faster
 * there too; n = 10 stays on OpenBLAS (parity at 10M multiply-adds, slower below). A fixed
 * rule rather than a per-shape timing at first use: timings on a shared machine are noisy
 * enough to pick the wrong engine for good, and a fixed rule gives the same bits every run.
 *
 * bf16 autocast runs the products through oneDNN's matmul primitive with bf16 source and
 * weights and a float32 destination (fp32 accumulation). The operands are converted into
 * scratch buffers per call (bf16.h: round to nearest even), except those inside a pinned
 * matrix (a recurrent layer's weights, converted once per call) or a shadow pin (a bf16
 * buffer the LSTM's sweeps fill as they compute h_t and the gate gradients, so no product
 * converts them: a tenth of the seed's bf16 step went to those conversions). The primitives are cached
 * per (shape, transposes, leading dims, data type, alpha, beta, threads) in a list under a
 * mutex, freed when the library is unloaded; scratchpads are the caller's (user mode), so
 * executing one primitive from several threads at once is safe.
 *
 * Threads: oneDNN (Debian builds it on OpenMP) runs on omp_get_max_threads() of the calling
 * thread, so that count is set around each call: 1 (dnnl_threads), inside a pool chunk or not;
 * the core's pool splits the products.
 */
#include <cblas.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf16.h"
#include "dnnl.h"
#include "lt_internal.h"

#ifdef LT_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

#ifdef _OPENMP
#include <omp.h>
#endif

/* AUTO: oneDNN for products of at least this many multiply-adds and columns of C */
#define DNNL_MIN_MACS ((double)(1 << 20))
#define DNNL_MIN_N 16
#define CACHE_MAX 256 /* cached primitives; past that, new shapes build and drop their own */
#define NPINS 16

/* ---- threads ----------------------------------------------------------------------------- */

#ifdef LT_HAVE_DNNL
/* oneDNN's thread count: 1, inside a pool chunk (core/pool.c: lt_in_parallel()) and outside
 * alike. The core splits the products that pay for threads on its pool (blas.c's gemm_run:
 * one single-threaded product per slab), so an OpenMP team of oneDNN's own would only add a
 * fork-join that a busy neighbour stalls (issue 18). */
static int dnnl_threads(void)
{
    return 1;
}

/* oneDNN's thread count is the calling thread's omp_get_max_threads(): set it to nt for one
 * call; returns what omp_restore puts back. */
static int omp_push(int nt)
{
#ifdef _OPENMP
    int prev = omp_get_max_threads();
    if (prev != nt) omp_set_num_threads(nt);
    return prev;
#else
    (void)nt;
    return 1;
#endif
}

static void omp_restore(int nt, int prev)
{
#ifdef _OPENMP
    if (prev != nt) omp_set_num_threads(prev);
#else
    (void)nt, (void)prev;
#endif
}
#endif

/* ---- engine and autocast state ----------------------------------------------------------- */

static lt_gemm_engine engine = LT_GEMM_AUTO;
static int autocast_on;

int lt_dnnl_available(void)
{
#ifdef LT_HAVE_DNNL
    return 1;
#else
    return 0;
#endif
}

int lt_gemm_set_engine(lt_gemm_engine e)
{
    if (e == LT_GEMM_DNNL && !lt_dnnl_available())
        return lt_error("oneDNN is not built in (make DNNL=0, or no libdnnl-dev)");
    engine = e;
    return LT_OK;
}

lt_gemm_engine lt_gemm_get_engine(void)
{
    return engine;
}

static pthread_once_t mode_once = PTHREAD_ONCE_INIT;
static int native; /* bf16 products in hardware through oneDNN */

static void mode_init(void)
{
    const char *env = getenv("LUATORCH_BF16");
    native = 0;
    if (env && !strcmp(env, "emulate")) return;
#ifdef LT_HAVE_DNNL
    /* the ISA oneDNN will use (it honours ONEDNN_MAX_CPU_ISA): bf16 instructions or AMX */
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    native = (isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16;
#endif
}

int lt_autocast_native(void)
{
    pthread_once(&mode_once, mode_init);
    return native;
}

int lt_autocast_set(int on)
{
    static int warned;
    int prev = autocast_on;
    if (on && !lt_autocast_native() && !warned) {
        warned = 1;
        fprintf(stderr, "luatorch: bf16 autocast is emulated here (%s): operands are rounded "
                        "to bf16 and multiplied in fp32, no faster than fp32\n",
                getenv("LUATORCH_BF16") && !strcmp(getenv("LUATORCH_BF16"), "emulate")
                    ? "LUATORCH_BF16=emulate"
                : lt_dnnl_available() ? "this CPU has neither AVX512_BF16 nor AMX"
                                      : "built without oneDNN");
    }
    autocast_on = on != 0;
    return prev;
}

int lt_autocast_get(void)
{
    return autocast_on;
}

/* ---- bf16 operands ----------------------------------------------------------------------- */

/* One row rounded to bf16: bf16 values, or bf16-rounded float32 for the emulated path. Built
 * at -O3 for AVX-512 / AVX2 / baseline (picked at load): vectorised, the conversion of a
 * 100 x 128 operand costs a few microseconds instead of tens next to a 60 us product. */
#define CONVERT_FN __attribute__((optimize("O3"), target_clones("avx512f", "avx2", "default")))
CONVERT_FN static void row_to16_c(lt_bf16 *d, const float *s, int64_t n)
{
    for (int64_t j = 0; j < n; j++) d[j] = lt_f32_to_bf16(s[j]);
}

#if defined(__x86_64__) && defined(__GNUC__) && __GNUC__ >= 10
/* The CPU's own conversion (VCVTNEPS2BF16: round to nearest even, as oneDNN converts
 * operands; it reads denormal inputs as zero), 16 floats per instruction: a third of the
 * C loop's time, which was a tenth of a bf16 training step. Masked at the row's end, so every
 * element of a row converts the same way. */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
static void row_to16_hw(lt_bf16 *d, const float *s, int64_t n)
{
    for (int64_t j = 0; j < n; j += 16) {
        __mmask16 m = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, s + j));
        _mm256_mask_storeu_epi16(d + j, m, (__m256i)h);
    }
}
#define HAVE_ROW_TO16_HW 1
#endif

static void row_to16(lt_bf16 *d, const float *s, int64_t n)
{
#ifdef HAVE_ROW_TO16_HW
    static int hw = -1;  /* racy first read is benign: every thread computes the same answer */
    if (hw < 0) hw = __builtin_cpu_supports("avx512bf16") ? 1 : 0;
    if (hw) {
        row_to16_hw(d, s, n);
        return;
    }
#endif
    row_to16_c(d, s, n);
}

CONVERT_FN static void row_round(float *d, const float *s, int64_t n)
{
    for (int64_t j = 0; j < n; j++) d[j] = lt_bf16_to_f32(lt_f32_to_bf16(s[j]));
}

/* dst (rows x cols, compact) <- src (row stride ld) rounded to bf16 */
static void convert(void *dst, const float *src, int64_t rows, int64_t cols, int64_t ld,
                    int to16)
{
    for (int64_t i = 0; i < rows; i++) {
        if (to16) row_to16((lt_bf16 *)dst + i * cols, src + i * ld, cols);
        else row_round((float *)dst + i * cols, src + i * ld, cols);
    }
}

typedef struct {
    const float *p;     /* the float32 matrix: rows x cols, row stride ld */
    int64_t rows, cols, ld;
    void *q;            /* rows x cols, compact: its autocast copy         */
    lt_tensor *hold;    /* q's block                                       */
    int shadow;         /* q is the only valid copy (lt_autocast_shadow)   */
} pin;

static pin pins[NPINS];
static int npins;
static pthread_mutex_t pin_lock = PTHREAD_MUTEX_INITIALIZER;

/* q (rows x cols of the autocast format, compact) as p's copy; 0 when every slot is taken */
static int pin_add(const float *p, int64_t rows, int64_t cols, int64_t ld, void *q,
                   lt_tensor *hold, int shadow)
{
    pthread_mutex_lock(&pin_lock);
    int ok = npins < NPINS;
    if (ok) pins[npins++] = (pin){p, rows, cols, ld, q, hold, shadow};
    pthread_mutex_unlock(&pin_lock);
    if (!ok) lt_scratch_put(hold);
    return ok;
}

int lt_autocast_pin(const float *p, int64_t rows, int64_t cols, int64_t ld)
{
    if (!autocast_on || rows <= 0 || cols <= 0) return 0;
    int to16 = lt_autocast_native();
    lt_tensor *hold;
    void *q = lt_scratch_get((size_t)(rows * cols) * (to16 ? 2 : 4), &hold);
    if (!q) return 0; /* the products convert per call instead (same values) */
    convert(q, p, rows, cols, ld, to16);
    return pin_add(p, rows, cols, ld, q, hold, 0);
}

void *lt_autocast_shadow(const float *p, int64_t rows, int64_t cols, int64_t ld)
{
    if (!autocast_on || !lt_autocast_native() || rows <= 0 || cols <= 0) return NULL;
    lt_tensor *hold;
    void *q = lt_scratch_get((size_t)(rows * cols) * 2, &hold);
    return q && pin_add(p, rows, cols, ld, q, hold, 1) ? q : NULL;
}

void lt_autocast_unpin(const float *p)
{
    pthread_mutex_lock(&pin_lock);
    for (int i = npins - 1; i >= 0; i--)
        if (pins[i].p == p) {
            lt_scratch_put(pins[i].hold);
            pins[i] = pins[--npins];
            break;
        }
    pthread_mutex_unlock(&pin_lock);
}

/* The pinned copy holding the rows x cols matrix at p (row stride ld), if any. */
static int pin_find(const float *p, int64_t rows, int64_t cols, int64_t ld, int to16,
                    const void **q, int64_t *qld, int *shadow)
{
    int found = 0;
    pthread_mutex_lock(&pin_lock);
    for (int i = 0; i < npins && !found; i++) {
        const pin *e = &pins[i];
        if (e->ld != ld || (uintptr_t)p < (uintptr_t)e->p) continue;
        int64_t off = (int64_t)(((uintptr_t)p - (uintptr_t)e->p) / sizeof(float));
        int64_t r0 = off / ld, c0 = off % ld;
        if (r0 + rows > e->rows || c0 + cols > e->cols) continue;
        *q = (const char *)e->q + (size_t)(r0 * e->cols + c0) * (to16 ? 2 : 4);
        *qld = e->cols;
        *shadow = e->shadow;
        found = 1;
    }
    pthread_mutex_unlock(&pin_lock);
    return found;
}

/* One operand in the autocast format: pinned, or converted into a scratch block of its own
 * (the caller gives it back: lt_scratch_put). */
typedef struct {
    const void *p;
    int64_t ld;
    lt_tensor *own;     /* the converted copy's block, or NULL (pinned) */
    int shadow;         /* p is a shadow pin's copy: the float32 source may be unwritten */
} operand;

static int operand_get(operand *o, const float *src, int64_t rows, int64_t cols, int64_t ld,
                       int to16)
{
    o->own = NULL;
    o->shadow = 0;
    if (pin_find(src, rows, cols, ld, to16, &o->p, &o->ld, &o->shadow)) return 1;
    void *q = lt_scratch_get((size_t)(rows * cols) * (to16 ? 2 : 4), &o->own);
    if (!q) return 0;
    convert(q, src, rows, cols, ld, to16);
    o->p = q;
    o->ld = cols;
    return 1;
}

/* ---- oneDNN ------------------------------------------------------------------------------ */

#ifdef LT_HAVE_DNNL
static pthread_once_t dnnl_once = PTHREAD_ONCE_INIT;
static dnnl_engine_t eng;
static dnnl_stream_t strm; /* a CPU stream holds no state: one is shared by all threads */

static void dnnl_init(void)
{
    if (dnnl_engine_create(&eng, dnnl_cpu, 0) != dnnl_success) {
        eng = NULL;
        return;
    }
    if (dnnl_stream_create(&strm, eng, dnnl_stream_default_flags) != dnnl_success) {
        dnnl_engine_destroy(eng);
        eng = NULL;
        strm = NULL;
    }
}

typedef struct {
    int64_t m, n, k, lda, ldb, ldc;
    int ta, tb, dt, nt;  /* dt: the source/weights dnnl_data_type_t */
    float alpha, beta;
} mm_key;

typedef struct mm_entry {
    mm_key key;
    dnnl_primitive_t prim;
    dnnl_memory_desc_t a_md, b_md, c_md, s_md;  /* op(A) m x k, op(B) k x n, C m x n */
    size_t scratch;                             /* bytes of scratchpad per execution  */
    struct mm_entry *next;
} mm_entry;

static mm_entry *cache;
static int ncache;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static void entry_free(mm_entry *e)
{
    if (e && e->prim) dnnl_primitive_destroy(e->prim);
    free(e);
}

/* A matmul primitive for key (on key->nt threads: the caller has set OpenMP's count). */
static mm_entry *entry_new(const mm_key *key)
{
    mm_entry *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->key = *key;
    dnnl_dims_t da = {key->m, key->k}, db = {key->k, key->n}, dc = {key->m, key->n};
    dnnl_dims_t sa = {key->ta ? 1 : key->lda, key->ta ? key->lda : 1};
    dnnl_dims_t sb = {key->tb ? 1 : key->ldb, key->tb ? key->ldb : 1};
    dnnl_dims_t sc = {key->ldc, 1};
    dnnl_matmul_desc_t md;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    int ok = dnnl_memory_desc_init_by_strides(&e->a_md, 2, da, key->dt, sa) == dnnl_success &&
             dnnl_memory_desc_init_by_strides(&e->b_md, 2, db, key->dt, sb) == dnnl_success &&
             dnnl_memory_desc_init_by_strides(&e->c_md, 2, dc, dnnl_f32, sc) == dnnl_success &&
             dnnl_matmul_desc_init(&md, &e->a_md, &e->b_md, NULL, &e->c_md) == dnnl_success &&
             dnnl_primitive_attr_create(&attr) == dnnl_success &&
             dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) ==
                 dnnl_success;
    if (ok && key->alpha != 1)
        ok = dnnl_primitive_attr_set_output_scales(attr, 1, 0, &key->alpha) == dnnl_success;
    if (ok && key->beta != 0)  /* C = alpha AB + beta C: a sum post-op */
        ok = dnnl_post_ops_create(&po) == dnnl_success &&
             dnnl_post_ops_append_sum(po, key->beta) == dnnl_success &&
             dnnl_primitive_attr_set_post_ops(attr, po) == dnnl_success;
    ok = ok && dnnl_primitive_desc_create(&pd, &md, attr, eng, NULL) == dnnl_success;
    if (ok) {
        const dnnl_memory_desc_t *s = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
        if (s) e->s_md = *s;
        e->scratch = s ? dnnl_memory_desc_get_size(s) : 0;
        ok = dnnl_primitive_create(&e->prim, pd) == dnnl_success;
    }
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (!ok) {
        entry_free(e);
        return NULL;
    }
    return e;
}

/* The cached primitive for key, else a new one (cached while there is room; *owned = 1 when
 * it is not: the caller frees it). */
static mm_entry *entry_get(const mm_key *key, int *owned)
{
    *owned = 0;
    pthread_mutex_lock(&cache_lock);
    mm_entry *e = cache;
    while (e && memcmp(&e->key, key, sizeof *key)) e = e->next;
    if (!e) {
        e = entry_new(key);
        if (e && ncache < CACHE_MAX) {
            e->next = cache;
            cache = e;
            ncache++;
        } else if (e) {
            *owned = 1;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    return e;
}

static int entry_run(const mm_entry *e, const void *a, const void *b, float *c)
{
    dnnl_memory_t ma = NULL, mb = NULL, mc = NULL, ms = NULL;
    lt_tensor *hold = NULL;  /* the block cache: a malloc this size is an mmap + faults per call */
    void *sp = e->scratch ? lt_scratch_get(e->scratch, &hold) : NULL;
    int ok = (!e->scratch || sp) &&
             dnnl_memory_create(&ma, &e->a_md, eng, (void *)(uintptr_t)a) == dnnl_success &&
             dnnl_memory_create(&mb, &e->b_md, eng, (void *)(uintptr_t)b) == dnnl_success &&
             dnnl_memory_create(&mc, &e->c_md, eng, c) == dnnl_success &&
             (!e->scratch || dnnl_memory_create(&ms, &e->s_md, eng, sp) == dnnl_success);
    if (ok) {
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb},
                                   {DNNL_ARG_DST, mc}, {DNNL_ARG_SCRATCHPAD, ms}};
        ok = dnnl_primitive_execute(e->prim, strm, e->scratch ? 4 : 3, args) == dnnl_success &&
             dnnl_stream_wait(strm) == dnnl_success;
    }
    if (ma) dnnl_memory_destroy(ma);
    if (mb) dnnl_memory_destroy(mb);
    if (mc) dnnl_memory_destroy(mc);
    if (ms) dnnl_memory_destroy(ms);
    lt_scratch_put(hold);
    return ok;
}

/* C = alpha op(A) op(B) + beta C through a cached matmul primitive, A and B of type dt. */
static int matmul_run(int dt, int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                       const void *a, int64_t lda, const void *b, int64_t ldb, float beta,
                       float *c, int64_t ldc, int nt)
{
    pthread_once(&dnnl_once, dnnl_init);
    if (!eng) return 0;
    mm_key key;
    memset(&key, 0, sizeof key);  /* compared with memcmp: no stray padding bytes */
    key.m = m, key.n = n, key.k = k, key.lda = lda, key.ldb = ldb, key.ldc = ldc;
    key.ta = ta, key.tb = tb, key.dt = dt, key.nt = nt, key.alpha = alpha, key.beta = beta;
    int prev = omp_push(nt), owned;
    mm_entry *e = entry_get(&key, &owned);
    int ok = e && entry_run(e, a, b, c);
    omp_restore(nt, prev);
    if (owned) entry_free(e);
    return ok;
}

static int sgemm_run(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                    const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                    float *c, int64_t ldc, int nt)
{
    int prev = omp_push(nt);
    dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb,
                                  beta, c, ldc);
    omp_restore(nt, prev);
    return st == dnnl_success;
}

/* Frees the cached primitives, the stream and the engine when the library is unloaded. */
__attribute__((destructor)) static void dnnl_fini(void)
{
    while (cache) {
        mm_entry *e = cache;
        cache = e->next;
        entry_free(e);
    }
    ncache = 0;
    if (strm) dnnl_stream_destroy(strm);
    if (eng) dnnl_engine_destroy(eng);
    strm = NULL;
    eng = NULL;
}
#endif

/* ---- the product ------------------------------------------------------------------------- */

static _Thread_local lt_gemm_rule rule;  /* the whole product's shape, or macs 0 */

lt_gemm_rule lt_gemm_rule_set(int64_t m, int64_t n, int64_t k)
{
    lt_gemm_rule prev = rule;
    rule.macs = m > 0 ? (double)m * (double)n * (double)k : 0;
    rule.n = n;
    return prev;
}

void lt_gemm_rule_restore(lt_gemm_rule prev)
{
    rule = prev;
}

/* the engine rule: oneDNN for this product (of macs multiply-adds, cols columns of C)? */
static int rule_dnnl(double macs, int64_t cols)
{
#ifdef LT_HAVE_DNNL
    return engine == LT_GEMM_DNNL ||
           (engine == LT_GEMM_AUTO && macs >= DNNL_MIN_MACS && cols >= DNNL_MIN_N);
#else
    (void)macs, (void)cols;
    return 0;
#endif
}

int lt_sgemm_on_openblas(int64_t m, int64_t n, int64_t k)
{
    if (autocast_on) return 0;
    return !rule_dnnl((double)m * (double)n * (double)k, n);
}

static void fp32_gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                      const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                      float *c, int64_t ldc)
{
#ifdef LT_HAVE_DNNL
    double macs = rule.macs > 0 ? rule.macs : (double)m * (double)n * (double)k;
    int use = rule_dnnl(macs, rule.macs > 0 ? rule.n : n);
    if (use && sgemm_run(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                        dnnl_threads()))
        return;
#endif
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (int)m, (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

/* An operand for the float32 fallback: the source itself, or a shadow pin's bf16 copy widened
 * into a scratch block (the source may be unwritten); NULL out of memory. */
static const float *fallback_operand(const operand *o, const float *src, int64_t rows,
                                     int64_t cols, int64_t ld, int64_t *ldo, lt_tensor **hold)
{
    *hold = NULL;
    *ldo = ld;
    if (!o->shadow) return src;
    float *w = lt_scratch_get((size_t)(rows * cols) * sizeof(float), hold);
    if (!w) return NULL;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++)
            w[i * cols + j] = lt_bf16_to_f32(((const lt_bf16 *)o->p)[i * o->ld + j]);
    *ldo = cols;
    return w;
}

/* The autocast product; 0 when it could not run (out of memory: the caller runs it in fp32).
 * A product reading a shadow pin always runs here: on the widened copy if the bf16 one
 * failed, and out of memory even for that, C is set to NaN rather than computed from an
 * unwritten source. */
static int autocast_gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                         const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                         float *c, int64_t ldc)
{
    int to16 = lt_autocast_native();
    operand oa = {0}, ob = {0};
    int ok = operand_get(&oa, a, ta ? k : m, ta ? m : k, lda, to16) &&
             operand_get(&ob, b, tb ? n : k, tb ? k : n, ldb, to16);
    if (ok && to16) {
#ifdef LT_HAVE_DNNL
        ok = matmul_run(dnnl_bf16, ta, tb, m, n, k, alpha, oa.p, oa.ld, ob.p, ob.ld, beta, c,
                         ldc, dnnl_threads());
#endif
    } else if (ok) {
        fp32_gemm(ta, tb, m, n, k, alpha, oa.p, oa.ld, ob.p, ob.ld, beta, c, ldc);
    }
    if (!ok && (oa.shadow || ob.shadow)) {
        lt_tensor *ha, *hb;
        int64_t la, lb;
        const float *wa = fallback_operand(&oa, a, ta ? k : m, ta ? m : k, lda, &la, &ha);
        const float *wb = fallback_operand(&ob, b, tb ? n : k, tb ? k : n, ldb, &lb, &hb);
        if (wa && wb)
            fp32_gemm(ta, tb, m, n, k, alpha, wa, la, wb, lb, beta, c, ldc);
        else
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = 0; j < n; j++) c[i * ldc + j] = NAN;
        lt_scratch_put(ha);
        lt_scratch_put(hb);
        ok = 1;
    }
    lt_scratch_put(oa.own);
    lt_scratch_put(ob.own);
    return ok;
}

void lt_sgemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
              int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
    if (m <= 0 || n <= 0) return;
    if (autocast_on && k > 0 &&
        autocast_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))
        return;
    fp32_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
