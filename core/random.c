/*
 * random.c — the random number generator: Philox4x32-10 (Salmon et al., "Parallel random
 * numbers: as easy as 1, 2, 3", SC'11), a counter-based generator, and the samplers on top of
 * it (uniform, normal, bernoulli, integers, randperm, multinomial).
 *
 * The generator state is (seed, offset). A draw of n values reserves the counters
 * offset .. offset + ceil(n / PER) - 1 and advances offset past them; value i of the draw
 * comes from counter offset + i / PER (PER values per 128-bit block: 4 for 32-bit draws,
 * 2 for 53-bit doubles and Box-Muller normals, 1 for 128-bit integer draws). Because a value
 * depends only on (seed, offset, i), any split of the work across threads gives the same
 * numbers, so the big fills run in parallel on the pool. Uniform, normal and bernoulli fills
 * of device tensors run in gpu/random.cu on the same numbering (the same seed gives the same
 * numbers on either side), and so do integer fills (random); bernoulli with a tensor of
 * probabilities, randperm and multinomial draw on the host for device tensors too and copy
 * the result across.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lt_internal.h"
#include "philox.h"


__extension__ typedef unsigned __int128 u128;

/* ---- Philox4x32-10 (core/philox.h: the same code as the device's) ------------------------ */

void lt_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    lt_philox_block(ctr, key, out);
}

void lt_philox(uint64_t seed, uint64_t counter, uint32_t out[4])
{
    lt_philox_at(seed, counter, out);
}

/* ---- generator state ---------------------------------------------------------------------- */

/* PyTorch's default seed: runs are reproducible until torch.seed()/manualSeed is called. */
static uint64_t g_seed = 67280421310721ULL, g_offset;

void lt_rng_seed(uint64_t seed)
{
    g_seed = seed;
    g_offset = 0;
}

lt_rng_state lt_rng_get_state(void) { return (lt_rng_state){g_seed, g_offset}; }

void lt_rng_set_state(lt_rng_state s)
{
    g_seed = s.seed;
    g_offset = s.offset;
}

/* Reserves the counters of a draw of n values, per per counter; returns the first. */
static uint64_t reserve(int64_t n, int per)
{
    uint64_t base = g_offset;
    g_offset += (uint64_t)((n + per - 1) / per);
    return base;
}

/* ---- bits to numbers ---------------------------------------------------------------------- */

/* floor(x * range / 2^128) for the 128-bit x in w: an integer in [0, range) whose bias is
 * below range / 2^128, i.e. none that any test could see. range == 0 stands for 2^64. */
static inline uint64_t bounded(const uint32_t w[4], uint64_t range)
{
    uint64_t hi = ((uint64_t)w[0] << 32) | w[1], lo = ((uint64_t)w[2] << 32) | w[3];
    if (range == 0) return hi;
    u128 ph = (u128)hi * range + (((u128)lo * range) >> 64);
    return (uint64_t)(ph >> 64);
}

/* ---- samplers over contiguous memory -------------------------------------------------------- */

typedef struct {
    double a, b;       /* uniform [a, b); normal mean a, std b; bernoulli p = a             */
    int64_t lo;        /* integers: lo + [0, range)                                        */
    uint64_t range;
} gen_params;

/* Fills elements [begin, end) of a draw whose first counter is base. */
typedef void (*gen_fn)(void *d, int64_t begin, int64_t end, uint64_t seed, uint64_t base,
                       const gen_params *p);

/* Defines NAME: element i comes from words j = i % PER of counter base + i / PER; BODY
 * (the variadic tail) stores d[i] from w[] and j. */
#define GEN(NAME, T, PER, ...)                                                             \
    static void NAME(void *dv, int64_t begin, int64_t end, uint64_t seed, uint64_t base,  \
                     const gen_params *p)                                                  \
    {                                                                                      \
        T *d = dv;                                                                         \
        (void)p;                                                                           \
        for (int64_t i = begin; i < end;) {                                                \
            uint32_t w[4];                                                                 \
            int64_t c = i / (PER);                                                         \
            lt_philox(seed, base + (uint64_t)c, w);                                        \
            for (int j = (int)(i - c * (PER)); j < (PER) && i < end; j++, i++) { __VA_ARGS__; } \
        }                                                                                  \
    }

/* uniform: a + (b - a) * u, pulled back below b where rounding reaches it */
GEN(uniform_f32, float, 4, {
    float v = (float)(p->a + (p->b - p->a) * (double)lt_philox_u24(w[j]));
    float hf = (float)p->b, lf = (float)p->a;
    d[i] = v >= hf && hf > lf ? nextafterf(hf, lf) : v;
})
GEN(uniform_f64, double, 2, {
    double v = p->a + (p->b - p->a) * lt_philox_u53(w[2 * j], w[2 * j + 1]);
    d[i] = v >= p->b && p->b > p->a ? nextafter(p->b, p->a) : v;
})

/* Box-Muller: one counter gives two 53-bit uniforms and so two normals (r cos, r sin),
 * computed once per counter */
#define GEN_NORMAL(NAME, T)                                                                \
    static void NAME(void *dv, int64_t begin, int64_t end, uint64_t seed, uint64_t base,  \
                     const gen_params *p)                                                  \
    {                                                                                      \
        T *d = dv;                                                                         \
        for (int64_t i = begin; i < end;) {                                                \
            uint32_t w[4];                                                                 \
            int64_t c = i / 2;                                                             \
            lt_philox(seed, base + (uint64_t)c, w);                                        \
            double u1 = 1.0 - lt_philox_u53(w[0], w[1]); /* (0, 1]: log is finite */      \
            double r = sqrt(-2.0 * log(u1));                                               \
            double th = 2.0 * M_PI * lt_philox_u53(w[2], w[3]);                            \
            double z[2] = {r * cos(th), r * sin(th)};                                      \
            for (int j = (int)(i - 2 * c); j < 2 && i < end; j++, i++)                     \
                d[i] = (T)(p->a + p->b * z[j]);                                            \
        }                                                                                  \
    }
GEN_NORMAL(normal_f32, float)
GEN_NORMAL(normal_f64, double)

#define GEN_BERN(NAME, T) GEN(NAME, T, 4, d[i] = (T)(lt_philox_u32d(w[j]) < p->a))
GEN_BERN(bern_f32, float)
GEN_BERN(bern_f64, double)
GEN_BERN(bern_i64, int64_t)
GEN_BERN(bern_u8, uint8_t)

/* raw uniforms for bernoulli with a tensor of probabilities */
GEN(raw_u32d, double, 4, d[i] = lt_philox_u32d(w[j]))

#define GEN_INT(NAME, T)                                                                   \
    GEN(NAME, T, 1, d[i] = (T)(int64_t)((uint64_t)p->lo + bounded(w, p->range)))
GEN_INT(int_f32, float)
GEN_INT(int_f64, double)
GEN_INT(int_i64, int64_t)
GEN_INT(int_u8, uint8_t)

typedef struct {
    gen_fn fn;
    void *data;
    uint64_t seed, base;
    const gen_params *p;
} gen_job;

static void gen_range(void *ctx, int64_t lo, int64_t hi)
{
    const gen_job *j = ctx;
    j->fn(j->data, lo, hi, j->seed, j->base, j->p);
}

/* Runs fn over [0, n), in parallel chunks for big draws (the values do not depend on it):
 * a Philox block and its conversion cost about 40 operations per value. */
static void run_gen(gen_fn fn, void *data, int64_t n, uint64_t seed, uint64_t base,
                    const gen_params *p)
{
    gen_job j = {fn, data, seed, base, p};
    lt_parallel_range(lt_par_chunks(40.0 * (double)n, 8.0 * (double)n), n, gen_range, &j);
}

/* Fills t with one draw, in t's logical (row-major) element order: directly when t is
 * contiguous, else through a contiguous temporary. */
static int fill(lt_tensor *t, gen_fn fn, int per, const gen_params *p)
{
    if (lt_is_expanded(t)) return lt_error("cannot write into an expanded tensor (clone it first)");
    int64_t n = lt_numel(t);
    uint64_t base = reserve(n, per);
    if (n == 0) return LT_OK;
    if (lt_is_contiguous(t)) {
        run_gen(fn, lt_data(t), n, g_seed, base, p);
        lt_storage_bump(t);
        return LT_OK;
    }
    lt_tensor *tmp = lt_tensor_new_uninit(t->dtype, t->ndim, t->size);
    if (!tmp) return LT_ERR;
    run_gen(fn, lt_data(tmp), n, g_seed, base, p);
    int st = lt_copy(t, tmp);
    lt_tensor_release(tmp);
    return st;
}


static int need_float(const lt_tensor *t)
{
    if (lt_dtype_is_float(t->dtype)) return LT_OK;
    return lt_error("expected a Float or Double tensor, got %s", lt_type_name(t->dtype));
}

/* ---- public samplers ---------------------------------------------------------------------- */

int lt_rand_uniform(lt_tensor *t, double lo, double hi)
{
    if (need_float(t)) return LT_ERR;
    if (!isfinite(lo) || !isfinite(hi) || lo > hi)
        return lt_error("expected a finite range [a, b) with a <= b, got a=%g, b=%g", lo, hi);
    LT_GPU_ROUTE(NULL, lt_gpu_rand_uniform(t, lo, hi), t);
    gen_params p = {.a = lo, .b = hi};
    return t->dtype == LT_FLOAT32 ? fill(t, uniform_f32, 4, &p) : fill(t, uniform_f64, 2, &p);
}

int lt_rand_normal(lt_tensor *t, double mean, double std)
{
    if (need_float(t)) return LT_ERR;
    if (!(std >= 0) || !isfinite(std) || !isfinite(mean))
        return lt_error("expected a finite mean and std >= 0, got mean=%g, std=%g", mean, std);
    LT_GPU_ROUTE(NULL, lt_gpu_rand_normal(t, mean, std), t);
    gen_params p = {.a = mean, .b = std};
    return fill(t, t->dtype == LT_FLOAT32 ? normal_f32 : normal_f64, 2, &p);
}

int lt_rand_bernoulli(lt_tensor *t, double prob)
{
    if (!(prob >= 0 && prob <= 1))
        return lt_error("expected a probability in [0, 1], got %g", prob);
    LT_GPU_ROUTE(NULL, lt_gpu_rand_bernoulli(t, prob), t);
    static const gen_fn fns[LT_NDTYPES] = {bern_f32, bern_f64, bern_i64, bern_u8};
    gen_params p = {.a = prob};
    return fill(t, fns[t->dtype], 4, &p);
}

/* t = u < p elementwise; operands (t, p, u) with u float64 */
#define BERN_LOOP(NAME, T, TP)                                                          \
    static void NAME(char **d, const int64_t *s, int64_t n, const void *ctx)           \
    {                                                                                    \
        (void)ctx;                                                                       \
        T *x = (T *)d[0];                                                                \
        const TP *pr = (const TP *)d[1];                                                 \
        const double *u = (const double *)d[2];                                          \
        for (int64_t i = 0; i < n; i++) x[i * s[0]] = (T)(u[i * s[2]] < pr[i * s[1]]);   \
    }
BERN_LOOP(bt_f32_f32, float, float)
BERN_LOOP(bt_f64_f32, double, float)
BERN_LOOP(bt_i64_f32, int64_t, float)
BERN_LOOP(bt_u8_f32, uint8_t, float)
BERN_LOOP(bt_f32_f64, float, double)
BERN_LOOP(bt_f64_f64, double, double)
BERN_LOOP(bt_i64_f64, int64_t, double)
BERN_LOOP(bt_u8_f64, uint8_t, double)

/* Counts the elements of a float tensor outside [0, 1] (NaN included). */
#define PCHECK_LOOP(NAME, T)                                                            \
    static void NAME(char **d, const int64_t *s, int64_t n, const void *ctx)           \
    {                                                                                    \
        const T *x = (const T *)d[0];                                                    \
        int64_t *bad = (int64_t *)(uintptr_t)ctx;                                        \
        for (int64_t i = 0; i < n; i++)                                                  \
            if (!(x[i * s[0]] >= 0 && x[i * s[0]] <= 1)) (*bad)++;                       \
    }
PCHECK_LOOP(pcheck_f32, float)
PCHECK_LOOP(pcheck_f64, double)

int lt_rand_bernoulli_tensor(lt_tensor *t, const lt_tensor *p)
{
    if (!lt_dtype_is_float(p->dtype))
        return lt_error("expected probabilities in a Float or Double tensor, got %s",
                        lt_type_name(p->dtype));
    int dev;
    const lt_tensor *tp[2] = {t, p};
    if (lt_common_device(&dev, 2, tp)) return LT_ERR;
    if (dev != LT_CPU) {
        /* drawn on the host (the same numbers as there), then copied: one round trip */
        if (lt_is_expanded(t))
            return lt_error("cannot write into an expanded tensor (clone it first)");
        const lt_tensor *hp = p;
        lt_tensor *ht = lt_tensor_new_uninit(t->dtype, t->ndim, t->size);
        int st = ht ? lt_host_copy(p, &hp) : LT_ERR;
        if (st == LT_OK) st = lt_rand_bernoulli_tensor(ht, hp);
        if (st == LT_OK) st = lt_copy(t, ht);
        lt_host_release(p, hp);
        lt_tensor_release(ht);
        return st;
    }
    if (lt_is_expanded(t)) return lt_error("cannot write into an expanded tensor (clone it first)");
    lt_iter it;
    const lt_tensor *pops[1] = {p};
    int64_t bad = 0;
    if (lt_iter_init(&it, 1, pops)) return LT_ERR;
    lt_iter_run(&it, p->dtype == LT_FLOAT32 ? pcheck_f32 : pcheck_f64, (void *)&bad, 1);
    if (bad) return lt_error("expected probabilities in [0, 1]; %lld are not", (long long)bad);
    lt_tensor *u = lt_tensor_new_uninit(LT_FLOAT64, t->ndim, t->size), *pc = NULL;
    if (!u) return LT_ERR;
    const lt_tensor *pp = p;
    int st = LT_OK;
    if (lt_shares_storage(t, p) && !lt_same_layout(t, p)) {  /* overlapping: read a copy */
        pc = lt_tensor_empty(p->dtype);
        st = pc ? lt_clone(pc, p) : LT_ERR;
        pp = pc;
    }
    const lt_tensor *ops[3] = {t, pp, u};
    if (st == LT_OK) st = lt_iter_init(&it, 3, ops);
    if (st == LT_OK) {
        gen_params gp = {0};
        int64_t n = lt_numel(t);
        uint64_t base = reserve(n, 4);
        run_gen(raw_u32d, lt_data(u), n, g_seed, base, &gp);
        static const lt_loop_fn loops[2][LT_NDTYPES] = {
            {bt_f32_f32, bt_f64_f32, bt_i64_f32, bt_u8_f32},
            {bt_f32_f64, bt_f64_f64, bt_i64_f64, bt_u8_f64}};
        lt_iter_run(&it, loops[pp->dtype == LT_FLOAT64][t->dtype], NULL, 0);
        lt_storage_bump(t);
    }
    lt_tensor_release(u);
    lt_tensor_release(pc);
    return st;
}

int lt_rand_int(lt_tensor *t, int64_t lo, int64_t hi)
{
    if (lo > hi)
        return lt_error("expected a range [a, b] with a <= b, got a=%lld, b=%lld", (long long)lo,
                        (long long)hi);
    if (t->dtype == LT_UINT8 && (lo < 0 || hi > 255))
        return lt_error("range [%lld, %lld] does not fit a torch.ByteTensor", (long long)lo,
                        (long long)hi);
    LT_GPU_ROUTE(NULL, lt_gpu_rand_int(t, lo, hi), t);
    static const gen_fn fns[LT_NDTYPES] = {int_f32, int_f64, int_i64, int_u8};
    gen_params p = {.lo = lo, .range = (uint64_t)hi - (uint64_t)lo + 1};
    return fill(t, fns[t->dtype], 1, &p);
}

int lt_randperm(lt_tensor *out, int64_t n)
{
    if (n < 0) return lt_error("expected n >= 0, got %lld", (long long)n);
    if (out->dtype != LT_INT64)
        return lt_error("result is %s, expected torch.LongTensor", lt_type_name(out->dtype));
    if (lt_device(out) != LT_CPU) {
        /* a sequential shuffle: made on the host (the same numbers), then copied */
        lt_tensor *hr = lt_tensor_empty(LT_INT64);
        int st = hr ? lt_randperm(hr, n) : LT_ERR;
        if (st == LT_OK) st = lt_host_result(out, hr);
        lt_tensor_release(hr);
        return st;
    }
    if (lt_resize(out, 1, &n)) return LT_ERR;
    if (n > 1 && out->stride[0] == 0)
        return lt_error("cannot write into an expanded tensor (clone it first)");
    lt_tensor *target = out;
    if (!lt_is_contiguous(out) && !(target = lt_tensor_new_uninit(LT_INT64, 1, &n)))
        return LT_ERR;
    int64_t *d = lt_data(target);
    for (int64_t i = 0; i < n; i++) d[i] = i;
    /* Fisher-Yates: step s (i = n-1-s) draws j in [0, i] from the 64-bit word pair s % 2 of
     * counter base + s / 2 */
    uint64_t base = reserve(n > 1 ? n - 1 : 0, 2);
    uint32_t w[4];
    for (int64_t i = n - 1, s = 0; i >= 1; i--, s++) {
        if (s % 2 == 0) lt_philox(g_seed, base + (uint64_t)(s / 2), w);
        uint64_t x = ((uint64_t)w[2 * (s % 2)] << 32) | w[2 * (s % 2) + 1];
        int64_t j = (int64_t)(((u128)x * (uint64_t)(i + 1)) >> 64);
        int64_t tmp = d[i];
        d[i] = d[j];
        d[j] = tmp;
    }
    int st = LT_OK;
    if (target != out) {
        st = lt_copy(out, target);
        lt_tensor_release(target);
    } else {
        lt_storage_bump(out);
    }
    return st;
}

/* ---- multinomial ---------------------------------------------------------------------------- */

typedef struct { double key; int64_t idx; } keyed;

static int cmp_keyed(const void *x, const void *y)
{
    const keyed *a = x, *b = y;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

typedef struct {
    int64_t *o;           /* (rows, n) draws */
    const double *cdf;    /* (rows, k) cumulative sums */
    int64_t k, n;
    uint64_t base;
} repl_job;

static void repl_rows(void *ctx, int64_t r0, int64_t r1)
{
    const repl_job *job = ctx;
    int64_t *o = job->o, k = job->k, n = job->n;
    uint64_t base = job->base;
    for (int64_t r = r0; r < r1; r++) {
        const double *c = job->cdf + r * k;
        double total = c[k - 1];
        int64_t last = k - 1;  /* the last category with a non-zero probability */
        while (last > 0 && c[last] == c[last - 1]) last--;
        uint32_t w[4];
        for (int64_t j = 0; j < n; j++) {
            int64_t e = r * n + j;
            if (j == 0 || e % 2 == 0) lt_philox(g_seed, base + (uint64_t)(e / 2), w);
            double u = lt_philox_u53(w[2 * (e % 2)], w[2 * (e % 2) + 1]) * total;
            int64_t lo = 0, hi = k;  /* the first index with c[idx] > u */
            while (lo < hi) {
                int64_t mid = lo + (hi - lo) / 2;
                if (c[mid] > u) hi = mid;
                else lo = mid + 1;
            }
            o[r * n + j] = lo < k ? lo : last;  /* lo == k only when rounding makes u == total */
        }
    }
}


/* With replacement: each draw inverts the row's cumulative sums (in place in cdf); a draw
 * costs a Philox half-block and a binary search. */
static void multi_repl(int64_t *o, const double *cdf, int64_t rows, int64_t k, int64_t n,
                       uint64_t base)
{
    repl_job j = {o, cdf, k, n, base};
    double draws = (double)rows * (double)n;
    lt_parallel_range(lt_par_chunks(draws * (40.0 + 4.0 * log2((double)k + 1)), 8.0 * draws), rows,
                      repl_rows, &j);
}

/* Without replacement: the n smallest of E_i / p_i (E_i exponential) are a draw of n
 * categories in sequence, each without the ones drawn before (the exponential race). */
static int multi_norepl(int64_t *o, const double *pr, int64_t rows, int64_t k, int64_t n,
                        uint64_t base)
{
    keyed *buf = malloc((size_t)k * sizeof *buf);
    if (!buf) return lt_error("out of memory");
    for (int64_t r = 0; r < rows; r++) {
        const double *p = pr + r * k;
        int64_t m = 0;
        uint32_t w[4];
        for (int64_t i = 0; i < k; i++) {
            int64_t e = r * k + i;
            if (i == 0 || e % 2 == 0) lt_philox(g_seed, base + (uint64_t)(e / 2), w);
            if (p[i] == 0) continue;
            double u = 1.0 - lt_philox_u53(w[2 * (e % 2)], w[2 * (e % 2) + 1]); /* (0, 1] */
            buf[m].key = -log(u) / p[i];
            buf[m].idx = i;
            m++;
        }
        qsort(buf, (size_t)m, sizeof *buf, cmp_keyed);
        for (int64_t j = 0; j < n; j++) o[r * n + j] = buf[j].idx;
    }
    free(buf);
    return LT_OK;
}

int lt_multinomial(lt_tensor *out, const lt_tensor *probs, int64_t n, int replacement)
{
    if (!lt_dtype_is_float(probs->dtype))
        return lt_error("expected probabilities in a Float or Double tensor, got %s",
                        lt_type_name(probs->dtype));
    if (out->dtype != LT_INT64)
        return lt_error("result is %s, expected torch.LongTensor", lt_type_name(out->dtype));
    int dev;
    if (lt_common_device(&dev, 1, &probs) || lt_out_on(out, dev)) return LT_ERR;
    if (dev != LT_CPU) {
        /* sequential draws per row: made on the host (the same numbers), then copied */
        const lt_tensor *hp = probs;
        lt_tensor *hr = lt_tensor_empty(LT_INT64);
        int st = hr ? lt_host_copy(probs, &hp) : LT_ERR;
        if (st == LT_OK) st = lt_multinomial(hr, hp, n, replacement);
        if (st == LT_OK) st = lt_host_result(out, hr);
        lt_host_release(probs, hp);
        lt_tensor_release(hr);
        return st;
    }
    if (probs->ndim != 1 && probs->ndim != 2)
        return lt_error("expected a 1-D or 2-D tensor of probabilities, got %d dimensions",
                        probs->ndim);
    int64_t k = probs->size[probs->ndim - 1], rows = probs->ndim == 2 ? probs->size[0] : 1;
    if (k == 0) return lt_error("expected at least one category");
    if (n <= 0) return lt_error("expected a positive number of samples, got %lld", (long long)n);
    if (!replacement && n > k)
        return lt_error("cannot draw %lld samples from %lld categories without replacement",
                        (long long)n, (long long)k);
    /* the probabilities as contiguous doubles that we own (cumulated in place below) */
    lt_tensor *pd = lt_tensor_new_uninit(LT_FLOAT64, probs->ndim, probs->size);
    if (!pd) return LT_ERR;
    int st = rows ? lt_copy(pd, probs) : LT_OK;
    double *pr = lt_data(pd);
    for (int64_t r = 0; st == LT_OK && r < rows; r++) {
        double sum = 0;
        int64_t nz = 0;
        for (int64_t i = 0; i < k; i++) {
            double v = pr[r * k + i];
            if (!(v >= 0) || !isfinite(v)) {
                st = lt_error("invalid multinomial distribution: row %lld has a negative, "
                              "infinite or NaN probability", (long long)r + 1);
                break;
            }
            sum += v;
            nz += v > 0;
        }
        if (st) break;
        if (!(sum > 0) || !isfinite(sum))
            st = lt_error("invalid multinomial distribution: row %lld sums to %g",
                          (long long)r + 1, sum);
        else if (!replacement && nz < n)
            st = lt_error("invalid multinomial distribution: row %lld has %lld non-zero "
                          "categories, cannot draw %lld without replacement",
                          (long long)r + 1, (long long)nz, (long long)n);
    }
    int64_t os[2] = {rows, n};
    int ond = probs->ndim;
    const int64_t *osz = ond == 2 ? os : os + 1;
    lt_tensor *target = out;
    if (st == LT_OK) st = lt_resize(out, ond, osz);
    if (st == LT_OK && lt_is_expanded(out))
        st = lt_error("cannot write into an expanded tensor (clone it first)");
    if (st == LT_OK && !lt_is_contiguous(out)) {
        target = lt_tensor_new_uninit(LT_INT64, ond, osz);
        if (!target) st = LT_ERR;
    }
    if (st == LT_OK) {
        int64_t *o = lt_data(target);
        if (replacement) {
            for (int64_t r = 0; r < rows; r++)
                for (int64_t i = 1; i < k; i++) pr[r * k + i] += pr[r * k + i - 1];
            multi_repl(o, pr, rows, k, n, reserve(rows * n, 2));
        } else {
            st = multi_norepl(o, pr, rows, k, n, reserve(rows * k, 2));
        }
    }
    if (target && target != out) {
        if (st == LT_OK) st = lt_copy(out, target);
        lt_tensor_release(target);
    } else if (st == LT_OK) {
        lt_storage_bump(out);
    }
    lt_tensor_release(pd);
    return st;
}
