/*
 * lstm.c — the fused LSTM: a multi-layer LSTM over a whole sequence (nn.LSTM) and one LSTM
 * step (nn.LSTMCell), each recorded as ONE autograd node with a hand-written backward.
 * PyTorch's conventions: gate order (i, f, g, o) along the 4H rows of weight_ih [4H x I] and
 * weight_hh [4H x H], two bias vectors, dropout on the inputs of layers 1..L-1 in training.
 *
 *   gates_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh
 *   i, f, o = sigmoid(gates_t[i, f, o]);  g = tanh(gates_t[g])
 *   c_t = f * c_{t-1} + i * g;            h_t = o * tanh(c_t)
 *
 * Forward, per layer: ONE GEMM projects the inputs of every step at once (T*B x I by I x 4H)
 * into the gate buffer; then per step one GEMM adds the recurrence h_{t-1} W_hh^T into the
 * same buffer (skipped at t = 0 without an initial state), and one fused pass adds the
 * biases, applies the nonlinearities, updates the cell and writes h_t, c_t, tanh(c_t) and the
 * activated gates (kept for backward).
 * Backward, per layer from the top: one sweep back over time, each step one fused pass
 * (gate gradients from dh and the carried dc; it also sums the bias gradient) and one GEMM
 * for dh_{t-1} = dgates_t W_hh. After the sweep, dW_hh and dW_ih are each ONE large GEMM over
 * all steps (dgates^T [T*B x 4H]^T by h / x), and the input gradient is one GEMM too.
 *
 * Workspaces: every buffer of a call (gates, states, gradients) lives in a workspace keyed by
 * the shape. An lt_lstm (one per nn.LSTM) caches a few; a call takes one that no pending
 * graph needs (its node was backwarded, or none was recorded), so a training loop at a fixed
 * shape allocates nothing after its first step. With grad recorded, the outputs (output,
 * h_n, c_n) are views of workspace buffers, so the next forward after backward overwrites
 * them (Torch7's module.output); without grad they are fresh tensors. Gradients handed to
 * autograd for the input and the initial state are workspace buffers too (when no one kept
 * the previous ones); weight gradients go straight into the parameters' .grad (gradWeight)
 * with beta = 1 GEMMs when autograd would only add them there.
 *
 * Threads (core/pool.c): the batch rows of a sequence are independent, so the sweep is cut in
 * chunks of batch rows (lt_sweep_chunks: by the cost model, at most 2 per thread), each taking
 * its rows through every step (its recurrence GEMM and fused pass) with no synchronisation
 * inside the sweep: one lt_parallel_for per sweep, and the caller runs any chunk a busy worker
 * has not claimed. The all-steps GEMMs are split in row blocks of their results (one more
 * lt_parallel_for each). Every GEMM is a single-threaded call on its part, on the engine the
 * whole product takes (dnnl.h lt_gemm_rule_set). A small batch or problem runs on the calling
 * thread. Blocks are whole groups of 8 rows and the bias-gradient sums keep one partial per
 * group, combined in group order, and a per-step product small enough for OpenBLAS runs group
 * by group (lt_sweep_gemm: OpenBLAS's result depends on the rows per call): results are the
 * same bits at any thread count.
 * Under bf16 autocast (core/dnnl.c) the weights are converted once per layer call, and on
 * bf16 hardware the sweeps write their products' operands in bf16 themselves: the forward
 * pass h_t beside its float32 output, the backward pass the gate gradients instead of their
 * float32 form (shadow pins; the seed's bf16 step ran 8% faster than converting them).
 * float32 nonlinearities use inlined polynomial exp / tanh (about 1 ulp, vectorised; AVX2 /
 * AVX-512 builds picked at load time); float64 uses libm.
 */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bf16.h"
#include "dnnl.h"
#include "lt_internal.h"

/* cblas.h may pull in <complex.h>, whose I would clash with the input size below */
#undef I


#if defined(__GNUC__) && !defined(__clang__)
#define INLINE inline __attribute__((always_inline))
#else
#define INLINE inline
#endif

/* A sweep chunk holds at least this many batch rows. */
#define LSTM_MIN_ROWS LT_SWEEP_GROUP
#define LSTM_CACHE 3

/* float32 nonlinearities: exp_f, sigmoid_f, tanh_f (shared with core/rnn.c) */
#include "rnn_math.h"

/* ---- fused per-step passes --------------------------------------------------------------- */

/* Forward of one step for rows [b0, b1): g (B x 4H, ld 4H) holds x W_ih^T + h W_hh^T and
 * receives the activated gates; bias (4H) is b_ih + b_hh (zeros without bias); cp is c_{t-1}
 * (row stride ldcp: 0 for a zero state); c, h, tc (ld H) receive c_t, h_t, tanh(c_t); with
 * H16 (autocast) h16 (ld H) receives h_t in bf16 too, the next products' operand. */
#define FWD_KERNEL(NAME, T, SIG, TANH, H16)                                                   \
    static void NAME(int64_t b0, int64_t b1, int64_t H, T *g, const T *bias, const T *cp,     \
                     int64_t ldcp, T *c, T *h, T *tc, lt_bf16 *h16)                           \
    {                                                                                         \
        for (int64_t b = b0; b < b1; b++) {                                                   \
            T *gr = g + b * 4 * H;                                                            \
            const T *cpr = cp + b * ldcp;                                                     \
            T *cr = c + b * H, *hr = h + b * H, *tr = tc + b * H;                             \
            lt_bf16 *h16r = H16 ? h16 + b * H : NULL;                                         \
            _Pragma("omp simd")                                                               \
            for (int64_t j = 0; j < H; j++) {                                                 \
                T ig = SIG(gr[j] + bias[j]);                                                  \
                T fg = SIG(gr[H + j] + bias[H + j]);                                          \
                T gg = TANH(gr[2 * H + j] + bias[2 * H + j]);                                 \
                T og = SIG(gr[3 * H + j] + bias[3 * H + j]);                                  \
                T cc = fg * cpr[j] + ig * gg;                                                 \
                T th = TANH(cc);                                                              \
                gr[j] = ig;                                                                   \
                gr[H + j] = fg;                                                               \
                gr[2 * H + j] = gg;                                                           \
                gr[3 * H + j] = og;                                                           \
                cr[j] = cc;                                                                   \
                tr[j] = th;                                                                   \
                hr[j] = og * th;                                                              \
                if (H16) h16r[j] = lt_f32_to_bf16((float)(og * th));                          \
            }                                                                                 \
        }                                                                                     \
    }

/* Backward of one step for rows [b0, b1): a (B x 4H) the activated gates, tc = tanh(c_t),
 * cp = c_{t-1} (ldcp), dh = d1 + d2 (two row-strided sources: the recurrent gradient and the
 * output gradient; stride 0 rows of zeros for a missing one), dc (ld H) carries dc_t in and
 * dc_{t-1} out; dg (B x 4H) receives the pre-activation gate gradients (in bf16 instead with
 * D16: autocast's shadow of dg, the only copy the products read) and acc (4H) their column
 * sums over these rows. */
#define BWD_KERNEL(NAME, T, D16)                                                              \
    static void NAME(int64_t b0, int64_t b1, int64_t H, const T *a, const T *tc, const T *cp, \
                     int64_t ldcp, const T *d1, int64_t ld1, const T *d2, int64_t ld2, T *dc, \
                     void *dg, T *acc, const T *pa, const T *ptc, const T *pd2)               \
    {                                                                                         \
        for (int64_t b = b0; b < b1; b++) {                                                   \
            const T *ar = a + b * 4 * H, *tr = tc + b * H, *cpr = cp + b * ldcp;              \
            const T *d1r = d1 + b * ld1, *d2r = d2 + b * ld2;                                 \
            if (pa) { /* the previous step's rows: activations and output gradient, into L2 */\
                prefetch_bytes(pa + b * 4 * H, 4 * H * sizeof(T));                            \
                prefetch_bytes(ptc + b * H, H * sizeof(T));                                   \
                if (ld2) prefetch_bytes(pd2 + b * ld2, H * sizeof(T));                        \
            }                                                                                 \
            T *dcr = dc + b * H, *dgr = (T *)dg + b * 4 * H;                                  \
            lt_bf16 *d16r = (lt_bf16 *)dg + b * 4 * H;                                        \
            _Pragma("omp simd")                                                               \
            for (int64_t j = 0; j < H; j++) {                                                 \
                T ig = ar[j], fg = ar[H + j], gg = ar[2 * H + j], og = ar[3 * H + j];         \
                T th = tr[j];                                                                 \
                T dh = d1r[j] + d2r[j];                                                       \
                T dct = dcr[j] + dh * og * (1 - th * th);                                     \
                T di = dct * gg * ig * (1 - ig);                                              \
                T df = dct * cpr[j] * fg * (1 - fg);                                          \
                T dgg = dct * ig * (1 - gg * gg);                                             \
                T dog = dh * th * og * (1 - og);                                              \
                dcr[j] = dct * fg;                                                            \
                if (D16) {                                                                    \
                    d16r[j] = lt_f32_to_bf16((float)di);                                      \
                    d16r[H + j] = lt_f32_to_bf16((float)df);                                  \
                    d16r[2 * H + j] = lt_f32_to_bf16((float)dgg);                             \
                    d16r[3 * H + j] = lt_f32_to_bf16((float)dog);                             \
                } else {                                                                      \
                    dgr[j] = di;                                                              \
                    dgr[H + j] = df;                                                          \
                    dgr[2 * H + j] = dgg;                                                     \
                    dgr[3 * H + j] = dog;                                                     \
                }                                                                             \
                acc[j] += di;                                                                 \
                acc[H + j] += df;                                                             \
                acc[2 * H + j] += dgg;                                                        \
                acc[3 * H + j] += dog;                                                        \
            }                                                                                 \
        }                                                                                     \
    }

LT_WIDE_CLONES FWD_KERNEL(fwd_f32, float, sigmoid_f, tanh_f, 0)
LT_WIDE_CLONES FWD_KERNEL(fwd_f32_h16, float, sigmoid_f, tanh_f, 1)
FWD_KERNEL(fwd_f64, double, sigmoid_d, tanh, 0)
LT_WIDE_CLONES BWD_KERNEL(bwd_f32, float, 0)
LT_WIDE_CLONES BWD_KERNEL(bwd_f32_d16, float, 1)
BWD_KERNEL(bwd_f64, double, 0)

/* ---- GEMM (row-major), with an optional trace for the benchmark's floor ------------------- */

static struct {
    int on, n, cap;
    lt_gemm_call *calls;
} trace;

void lt_gemm_trace_start(void)
{
    trace.on = 1;
    trace.n = 0;
}

int lt_gemm_trace_stop(lt_gemm_call **calls, int *n)
{
    trace.on = 0;
    *calls = trace.calls;
    *n = trace.n;
    trace.calls = NULL;
    trace.n = trace.cap = 0;
    return LT_OK;
}

static void trace_call(lt_dtype dt, int ta, int tb, int64_t m, int64_t n, int64_t k, double beta)
{
    if (!trace.on) return;
    if (trace.n == trace.cap) {
        int cap = trace.cap ? 2 * trace.cap : 256;
        lt_gemm_call *c = realloc(trace.calls, (size_t)cap * sizeof *c);
        if (!c) return;  /* a shorter trace; only the benchmark reads it */
        trace.calls = c;
        trace.cap = cap;
    }
    trace.calls[trace.n++] = (lt_gemm_call){ta, tb, m, n, k, beta, dt};
}

/* core/rnn.c's GEMMs, for the same trace (a no-op unless a trace runs) */
void lt_gemm_trace_note(lt_dtype dt, int ta, int tb, int64_t m, int64_t n, int64_t k, double beta)
{
    trace_call(dt, ta, tb, m, n, k, beta);
}

/* C (m x n, ldc) = alpha * op(A) op(B) + beta * C, row-major; op = transpose when t* is set.
 * The m rows are a part of a product of `whole` rows (a sweep block's batch rows, a thread's
 * block of an all-steps product): the engine is the one the whole takes (dnnl.h), so the
 * thread count, which sets the parts, never changes the bits. */
static void gemm(int64_t whole, lt_dtype dt, int ta, int tb, int64_t m, int64_t n, int64_t k,
                 const void *a, int64_t lda, const void *b, int64_t ldb, double beta, void *c,
                 int64_t ldc)
{
    if (m == 0 || n == 0) return;
    lt_gemm_rule prev = lt_gemm_rule_set(whole, n, k);
    lt_blas_gemm(dt, 0, ta, tb, m, n, k, 1.0, a, lda, b, ldb, beta, c, ldc);
    lt_gemm_rule_restore(prev);
}

const char *lt_blas_corename(void)
{
    const char *name = openblas_get_corename();
    return name ? name : "unknown";
}

/* The replay's buffers and calls; part t of nt runs rows [m t / nt, m (t+1) / nt) of C of
 * every call in order, as each sweep chunk of the recurrent layers runs its own batch rows
 * through every step: no synchronisation between the calls. */
typedef struct {
    const lt_gemm_call *calls;
    int n, nt;
    const char *a, *b;
    char *c;
} replay_job;

static void replay_part(void *p, int64_t t)
{
    const replay_job *j = p;
    for (int i = 0; i < j->n; i++) {
        const lt_gemm_call *g = &j->calls[i];
        int64_t r0 = g->m * t / j->nt, r1 = g->m * (t + 1) / j->nt;
        int64_t lda = g->ta ? g->m : g->k, ldb = g->tb ? g->k : g->n;
        int64_t es = (int64_t)lt_dtype_size(g->dtype);
        const char *a = j->a + (g->ta ? r0 : r0 * lda) * es;  /* op(A)'s rows r0.. */
        if (r1 > r0)
            gemm(g->m, g->dtype, g->ta, g->tb, r1 - r0, g->n, g->k, a, lda ? lda : 1, j->b,
                 ldb ? ldb : 1, g->beta, j->c + r0 * g->n * es, g->n ? g->n : 1);
    }
}

/* best (seconds) of reps runs of the calls, on wall time or (cpu_clock) the process's CPU time.
 * At more than one thread (and on wall time) each thread runs its share of every call's rows
 * (replay_part): the GEMM floor of a step whose products all split that way for free. */
int lt_gemm_replay(const lt_gemm_call *calls, int n, int reps, int cpu_clock, double *best)
{
    clockid_t clk = cpu_clock ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC;
    size_t sa = 1, sb = 1, sc = 1;
    for (int i = 0; i < n; i++) {
        size_t m = (size_t)calls[i].m, nn = (size_t)calls[i].n, k = (size_t)calls[i].k;
        size_t es = lt_dtype_size(calls[i].dtype);
        if (m * k * es > sa) sa = m * k * es;
        if (k * nn * es > sb) sb = k * nn * es;
        if (m * nn * es > sc) sc = m * nn * es;
    }
    char *a = calloc(sa, 1), *b = calloc(sb, 1), *c = calloc(sc, 1);
    if (!a || !b || !c) {
        free(a), free(b), free(c);
        return lt_error("out of memory");
    }
    replay_job j = {calls, n, cpu_clock ? 1 : lt_get_num_threads(), a, b, c};
    *best = INFINITY;
    for (int r = 0; r < (reps > 0 ? reps : 1); r++) {
        struct timespec t0, t1;
        clock_gettime(clk, &t0);
        if (j.nt > 1) lt_parallel_for(j.nt, replay_part, &j);
        else replay_part(&j, 0);
        clock_gettime(clk, &t1);
        double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        if (s < *best) *best = s;
    }
    free(a), free(b), free(c);
    return LT_OK;
}

/* ---- workspaces -------------------------------------------------------------------------- */

typedef struct {
    lt_tensor *gates;    /* T x B x 4H: input projection + recurrence, then activations   */
    lt_tensor *hseq;     /* T x B x H: h_t (the last layer's is the module output)         */
    lt_tensor *cseq;     /* T x B x H: c_t                                                 */
    lt_tensor *tc;       /* T x B x H: tanh(c_t)                                           */
    lt_tensor *h0, *c0;  /* B x H: copies of the initial state                             */
    lt_tensor *xin;      /* T x B x H: the dropped-out input of layers > 0                 */
    lt_tensor *mask;     /* T x B x H: dropout mask, 0 or 1 / (1 - p)                      */
    lt_tensor *wih, *whh;  /* contiguous copies of weights BLAS cannot read as they are    */
    lt_tensor *mask_host;  /* device dropout: the mask drawn on the host (the CPU's numbers) */
    lt_tensor *whht;     /* device, fused kernels: H x 4H, W_hh^T (rewritten every call)    */
    struct lt_gpu_loop_graph *gfwd, *gbwd;  /* device: the time loops' CUDA graphs      */
} layer_ws;

typedef struct lstm_ws {
    int refcount;
    lt_node *owner;      /* the node whose backward needs these buffers (weak), or NULL   */
    lt_dtype dt;
    int dev;             /* LT_CPU, or the CUDA device every buffer lives on               */
    int cached;          /* kept in an lt_lstm's cache (else it lives for one call)        */
    int64_t T, B, I, H;
    int L;
    layer_ws *layer;     /* (L)                                                           */
    lt_tensor *xt;       /* T x B x I: x in time-major rows, when x cannot be used as is  */
    lt_tensor *hn, *cn;  /* L x B x H                                                     */
    lt_tensor *bias;     /* L x 4H: b_ih + b_hh (zeros without bias)                      */
    lt_tensor *zeros;    /* H: a zero row (stride-0 rows stand for zero matrices)         */
    lt_tensor *dgates;   /* T x B x 4H                                                    */
    lt_tensor *dhseq;    /* T x B x H: gradient w.r.t. the outputs of a lower layer       */
    lt_tensor *gout;     /* T x B x H: an output gradient copied to unit column stride    */
    lt_tensor *ghn, *gcn;  /* L x B x H: gradients of h_n, c_n in unit column stride      */
    lt_tensor *dh, *dc;  /* B x H                                                         */
    lt_tensor *dx;       /* T x B x I: the input gradient handed to autograd               */
    lt_tensor *dh0, *dc0;  /* L x B x H                                                   */
    lt_tensor *partials; /* device: the bias-gradient column sums' blocks (doubles)       */
    void *acc;           /* per-group bias-gradient sums: groups x 4H x (T + double)      */
    int acc_threads;     /* groups acc has room for */
} lstm_ws;

struct lt_lstm {
    lstm_ws *slot[LSTM_CACHE];
    int next;
};

static void ws_release(lstm_ws *w)
{
    if (!w || --w->refcount > 0) return;
    for (int l = 0; l < w->L; l++) {
        layer_ws *y = &w->layer[l];
        lt_tensor *ts[] = {y->gates, y->hseq, y->cseq, y->tc, y->h0, y->c0, y->xin, y->mask,
                           y->wih, y->whh, y->mask_host, y->whht};
        for (size_t k = 0; k < sizeof ts / sizeof *ts; k++) lt_tensor_release(ts[k]);
#ifdef LT_HAVE_CUDA
        lt_gpu_loop_graph_free(y->gfwd);
        lt_gpu_loop_graph_free(y->gbwd);
#endif
    }
    free(w->layer);
    lt_tensor *ts[] = {w->xt, w->hn, w->cn, w->bias, w->zeros, w->dgates, w->dhseq, w->gout,
                       w->ghn, w->gcn, w->dh, w->dc, w->dx, w->dh0, w->dc0, w->partials};
    for (size_t k = 0; k < sizeof ts / sizeof *ts; k++) lt_tensor_release(ts[k]);
    free(w->acc);
    free(w);
}

static lstm_ws *ws_new(int dev, lt_dtype dt, int64_t T, int64_t B, int64_t I, int64_t H, int L)
{
    lstm_ws *w = calloc(1, sizeof *w);
    if (w) w->layer = calloc((size_t)L, sizeof *w->layer);
    if (!w || !w->layer) {
        free(w);
        lt_error("out of memory");
        return NULL;
    }
    w->refcount = 1;
    w->dt = dt;
    w->dev = dev;
    w->T = T, w->B = B, w->I = I, w->H = H, w->L = L;
    return w;
}

/* A workspace no pending backward needs: its node was backwarded (the engine freed the
 * graph) or released, or none was recorded. */
static int ws_free(const lstm_ws *w) { return !w->owner || w->owner->freed; }

lt_lstm *lt_lstm_new(void)
{
    lt_lstm *m = calloc(1, sizeof *m);
    if (!m) lt_error("out of memory");
    return m;
}

void lt_lstm_free(lt_lstm *m)
{
    if (!m) return;
    for (int k = 0; k < LSTM_CACHE; k++) ws_release(m->slot[k]);
    free(m);
}

/* A workspace of this shape from the cache (one reference for the caller), or a new one that
 * replaces the oldest entry. */
static lstm_ws *ws_get(lt_lstm *m, int dev, lt_dtype dt, int64_t T, int64_t B, int64_t I,
                       int64_t H, int L)
{
    if (m)
        for (int k = 0; k < LSTM_CACHE; k++) {
            lstm_ws *w = m->slot[k];
            if (w && w->dev == dev && w->dt == dt && w->T == T && w->B == B && w->I == I &&
                w->H == H && w->L == L && ws_free(w)) {
                w->refcount++;
                return w;
            }
        }
    lstm_ws *w = ws_new(dev, dt, T, B, I, H, L);
    if (w && m) {
        int k = m->next;
        m->next = (k + 1) % LSTM_CACHE;
        ws_release(m->slot[k]);
        m->slot[k] = w;
        w->refcount++;
        w->cached = 1;
    }
    return w;
}

/* *p = a buffer of this shape (allocated on first use; the shape never changes) */
static int ensure(lt_tensor **p, int dev, lt_dtype dt, int ndim, int64_t s0, int64_t s1,
                  int64_t s2)
{
    if (*p) return LT_OK;
    int64_t size[3] = {s0, s1, s2};
    *p = lt_tensor_uninit_on(dev, dt, ndim, size);
    return *p ? LT_OK : LT_ERR;
}

/* n bytes set to 0 / copied, in the memory of device dev (LT_CPU: the host's) */
static int zero_bytes(int dev, void *p, size_t n)
{
#ifdef LT_HAVE_CUDA
    if (dev != LT_CPU) return lt_gpu_memset0(p, (int64_t)n);
#endif
    (void)dev;
    memset(p, 0, n);
    return LT_OK;
}

static int copy_bytes(int dev, void *dst, const void *src, size_t n)
{
#ifdef LT_HAVE_CUDA
    if (dev != LT_CPU) return lt_gpu_copy_d2d(dst, src, (int64_t)n);
#endif
    (void)dev;
    memcpy(dst, src, n);
    return LT_OK;
}

/* A new handle on (part of) a buffer: ndim sizes with contiguous strides from offset; with
 * swap01, dims 0 and 1 of that layout are swapped (a batch-first view of time-major data). */
static lt_tensor *handle_on(const lt_tensor *buf, int64_t offset, int ndim, const int64_t *size,
                            int swap01)
{
    int64_t st[LT_MAXDIM], sz[LT_MAXDIM];
    int64_t acc = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        st[d] = acc;
        sz[d] = size[d];
        acc *= size[d];
    }
    if (swap01 && ndim >= 2) {
        int64_t t = st[0];
        st[0] = st[1], st[1] = t;
        t = sz[0], sz[0] = sz[1], sz[1] = t;
    }
    return lt_tensor_from_storage(buf->storage, buf->offset + offset, ndim, sz, st);
}

/* ---- operands ---------------------------------------------------------------------------- */

/* A matrix for BLAS: data, leading dimension, and whether it is stored transposed. */
typedef struct {
    const char *p;
    int64_t ld;
    int trans;
} mat;

/* Under bf16 autocast, W (rows x cols) converted once for a whole layer call rather than at
 * every step's product (core/dnnl.c); unpinned when the call ends. */
static void mat_pin(lt_dtype dt, const mat *w, int64_t rows, int64_t cols)
{
    if (dt == LT_FLOAT32 && lt_autocast_get())
        lt_autocast_pin((const float *)(const void *)w->p, w->trans ? cols : rows,
                        w->trans ? rows : cols, w->ld);
}

static void mat_unpin(lt_dtype dt, const mat *w)
{
    if (dt == LT_FLOAT32 && lt_autocast_get()) lt_autocast_unpin((const float *)(const void *)w->p);
}

/* W (rows x cols) as a BLAS operand, or a contiguous copy in *copy when it cannot be one. */
static int weight_mat(const lt_tensor *wt, lt_tensor **copy, mat *m)
{
    int64_t r = wt->size[0], c = wt->size[1];
    if ((wt->stride[1] == 1 || c == 1) && wt->stride[0] >= c && wt->stride[0] <= INT_MAX) {
        *m = (mat){lt_data(wt), wt->stride[0], 0};
        return LT_OK;
    }
    if ((wt->stride[0] == 1 || r == 1) && wt->stride[1] >= r && wt->stride[1] <= INT_MAX) {
        *m = (mat){lt_data(wt), wt->stride[1], 1};
        return LT_OK;
    }
    if (ensure(copy, lt_device(wt), wt->dtype, 2, r, c, 0) || lt_copy(*copy, wt)) return LT_ERR;
    *m = (mat){lt_data(*copy), c, 0};
    return LT_OK;
}

/* The time-major input (T x B x I view) as one (T*B) x I matrix with unit column stride. */
static int rows_of(const lt_tensor *x, int64_t *ld)
{
    int64_t T = x->size[0], B = x->size[1], I = x->size[2];
    if (x->stride[2] != 1 && I > 1) return 0;
    if (B == 1) *ld = T > 1 ? x->stride[0] : (I > 1 ? I : 1);
    else if (T == 1 || x->stride[0] == B * x->stride[1]) *ld = x->stride[1];
    else return 0;
    return *ld >= I && *ld <= INT_MAX && *ld >= 1;
}

/* ---- the recorded call ------------------------------------------------------------------- */

typedef struct {
    lt_dtype dt;
    int64_t T, B, I, H;
    int L, batch_first, cell, has_h0, has_c0, has_bias, dropout_on;
    double dropout;
} lstm_shape;

typedef struct {
    lstm_ws *w;
    lstm_shape s;
    int nsaved;
    lt_tensor **saved;      /* x (when read in place) and the weights: version-checked     */
    uint32_t *version;
    mat x;                  /* layer 0's input rows                                        */
    mat *wih, *whh;         /* (L)                                                         */
} lstm_ctx;

static void ctx_free(lstm_ctx *c)
{
    if (!c) return;
    for (int k = 0; k < c->nsaved; k++) lt_tensor_release(c->saved[k]);
    free(c->saved);
    free(c->version);
    free(c->wih);
    ws_release(c->w);
    free(c);
}

static void lstm_release_ctx(lt_node *n)
{
    lstm_ctx *c = n->ctx;
    if (c && c->w->owner == n) c->w->owner = NULL;
    ctx_free(c);
    n->ctx = NULL;
}

static int ctx_save(lstm_ctx *c, const lt_tensor *t)
{
    lt_tensor *v = lt_tensor_view_of(t);
    if (!v) return LT_ERR;
    c->saved[c->nsaved] = v;
    c->version[c->nsaved++] = t->storage->version;
    return LT_OK;
}

/* ---- forward ----------------------------------------------------------------------------- */

/* The sweep's chunks for one call (core/pool.c): the batch rows of a sequence are independent,
 * so each chunk takes a block of them through every step. The cost model sees the recurrence
 * GEMM (2 G_H flops per row and step at the GEMM rate, G = gates x H) and the fused pass
 * (about 10 operations per gate unit); at most 2 chunks per thread (each chunk's GEMMs
 * re-pack W_hh, so smaller blocks cost more in all) and at least LSTM_MIN_ROWS rows each.
 * Two chunks per thread let the caller take over a block a busy worker did not start. */
int lt_sweep_chunks(int64_t T, int64_t B, int64_t H, int gates)
{
    double G = (double)gates * (double)H, rows = (double)T * (double)B;
    double flops = rows * (2.0 * G * (double)H * LT_PAR_FLOPS_NS / LT_PAR_GEMM_NS + 10.0 * G);
    int64_t c = lt_par_chunks(flops, 0), nt = lt_get_num_threads();
    if (c > 2 * nt) c = 2 * nt;
    if (c > B / LSTM_MIN_ROWS) c = B / LSTM_MIN_ROWS;
    return c < 1 ? 1 : (int)c;
}

/* Block k of nb over B rows, in whole groups of LSTM_MIN_ROWS rows: the bias-gradient sums are
 * kept per group, so their order does not depend on the block count (the thread count). */
void lt_sweep_rows(int64_t B, int64_t nb, int64_t k, int64_t *b0, int64_t *b1)
{
    int64_t ng = lt_sweep_groups(B), g0 = ng * k / nb, g1 = ng * (k + 1) / nb;
    *b0 = g0 * LSTM_MIN_ROWS;
    *b1 = g1 * LSTM_MIN_ROWS < B ? g1 * LSTM_MIN_ROWS : B;
}

int64_t lt_sweep_groups(int64_t B)
{
    return (B + LSTM_MIN_ROWS - 1) / LSTM_MIN_ROWS;
}

/* OpenBLAS picks its kernels (small-matrix or blocked) by the rows of a call, and its results
 * differ between them: a product small enough for it (the engine rule, or float64) runs group
 * by group, whatever the block. Larger ones run on oneDNN, whose rows do not depend on the rows
 * per call at these shapes (spec 54). */
void lt_sweep_gemm(lt_dtype dt, int64_t B, int64_t b0, int64_t b1, int tb, int64_t n, int64_t k,
                   const void *a, int64_t lda, const void *b, int64_t ldb, double beta, void *c,
                   int64_t ldc)
{
    if (b1 <= b0 || n == 0) return;
    int64_t es = (int64_t)lt_dtype_size(dt);
    int grouped = dt == LT_FLOAT64 || (dt == LT_FLOAT32 && lt_sgemm_on_openblas(B, n, k));
    int64_t step = grouped ? LT_SWEEP_GROUP : b1 - b0;
    lt_gemm_rule prev = lt_gemm_rule_set(B, n, k);
    for (int64_t r = b0; r < b1; r += step) {
        int64_t rows = r + step < b1 ? step : b1 - r;
        lt_blas_gemm(dt, 0, 0, tb, rows, n, k, 1.0, (const char *)a + (r - b0) * lda * es, lda,
                     b, ldb, beta, (char *)c + (r - b0) * ldc * es, ldc);
    }
    lt_gemm_rule_restore(prev);
}

/* Chunks for a GEMM of m x n x k split along m (blocks of at least 2 cache lines of rows). */
int lt_gemm_chunks(int64_t m, int64_t n, int64_t k)
{
    double macs = (double)m * (double)n * (double)k;
    int64_t c = lt_par_chunks(2.0 * macs * LT_PAR_FLOPS_NS / LT_PAR_GEMM_NS, 0);
    if (c > m / 32) c = m / 32;
    return c < 1 ? 1 : (int)c;
}

/* One layer's forward over the whole sequence (see the file comment). */
typedef struct {
    lt_dtype dt;
    int64_t T, B, H, in;
    const char *x;       /* (T*B) x in input rows, leading dimension xld */
    int64_t xld;
    mat wih, whh;
    const char *bias;    /* 4H */
    const char *h0, *c0; /* B x H or NULL (zeros) */
    const char *zeros;   /* H zeros */
    char *g, *h, *c, *tc;
    lt_bf16 *h16;        /* (T*B) x H: h in bf16, autocast's shadow of h (or NULL) */
} layer_fwd;

static void fwd_rows(const layer_fwd *f, int64_t t, int64_t b0, int64_t b1)
{
    int64_t B = f->B, H = f->H, G = 4 * H, es = (int64_t)lt_dtype_size(f->dt);
    char *gt = f->g + t * B * G * es;
    const char *cp = t > 0 ? f->c + (t - 1) * B * H * es : f->c0 ? f->c0 : f->zeros;
    int64_t ldcp = t > 0 || f->c0 ? H : 0, off = t * B * H * es;
    if (f->dt == LT_FLOAT32 && f->h16 && t < f->T - 1)  /* the shadow: steps 0..T-2 */
        fwd_f32_h16(b0, b1, H, (float *)gt, (const float *)f->bias, (const float *)cp, ldcp,
                    (float *)(f->c + off), (float *)(f->h + off), (float *)(f->tc + off),
                    f->h16 + t * B * H);
    else if (f->dt == LT_FLOAT32)
        fwd_f32(b0, b1, H, (float *)gt, (const float *)f->bias, (const float *)cp, ldcp,
                (float *)(f->c + off), (float *)(f->h + off), (float *)(f->tc + off), NULL);
    else
        fwd_f64(b0, b1, H, (double *)gt, (const double *)f->bias, (const double *)cp, ldcp,
                (double *)(f->c + off), (double *)(f->h + off), (double *)(f->tc + off), NULL);
}

/* the input projection of every step for rows [r0, r1) of the T*B */
static void fwd_proj(void *p, int64_t r0, int64_t r1)
{
    const layer_fwd *f = p;
    int64_t G = 4 * f->H, es = (int64_t)lt_dtype_size(f->dt);
    gemm(f->T * f->B, f->dt, 0, !f->wih.trans, r1 - r0, G, f->in, f->x + r0 * f->xld * es,
         f->xld, f->wih.p, f->wih.ld, 0, f->g + r0 * G * es, G);
}

typedef struct {
    const layer_fwd *f;
    int64_t chunks;
} fwd_job;

/* the recurrence: step t of block k's batch rows (blocks need no synchronisation) */
static void fwd_step(void *p, int64_t k, int64_t t)
{
    const fwd_job *j = p;
    const layer_fwd *f = j->f;
    int64_t B = f->B, H = f->H, G = 4 * H, es = (int64_t)lt_dtype_size(f->dt), b0, b1;
    lt_sweep_rows(B, j->chunks, k, &b0, &b1);
    if (b1 <= b0) return;
    const char *hp = t > 0 ? f->h + (t - 1) * B * H * es : f->h0;
    if (hp)
        lt_sweep_gemm(f->dt, B, b0, b1, !f->whh.trans, G, H, hp + b0 * H * es, H, f->whh.p,
                      f->whh.ld, 1, f->g + (t * B + b0) * G * es, G);
    fwd_rows(f, t, b0, b1);
}

static void layer_forward(const layer_fwd *lf)
{
    layer_fwd fa = *lf, *f = &fa;
    int64_t T = f->T, B = f->B, H = f->H, G = 4 * H;
    /* the trace (benchmark floor) records each logical GEMM once, at its full shape */
    if (trace.on) {
        trace_call(f->dt, 0, !f->wih.trans, T * B, G, f->in, 0);
        for (int64_t t = f->h0 ? 0 : 1; t < T; t++) trace_call(f->dt, 0, !f->whh.trans, B, G, H, 1);
    }
    mat_pin(f->dt, &f->wih, G, f->in);
    mat_pin(f->dt, &f->whh, G, H);
    /* under native autocast the pass writes h_t in bf16 too: the next step's product reads it
     * instead of converting h_{t-1} (the float32 h is the output, written all the same) */
    if (f->dt == LT_FLOAT32 && T > 1)
        f->h16 = lt_autocast_shadow((const float *)(const void *)f->h, (T - 1) * B, H, H);
    lt_parallel_range(lt_gemm_chunks(T * B, G, f->in), T * B, fwd_proj, (void *)(uintptr_t)f);
    fwd_job j = {f, lt_sweep_chunks(T, B, H, 4)};
    lt_parallel_steps(j.chunks, T, fwd_step, &j);
    if (f->h16) lt_autocast_unpin((const float *)(const void *)f->h);
    mat_unpin(f->dt, &f->wih);
    mat_unpin(f->dt, &f->whh);
}

static int check_inputs(const lstm_shape *s, const lt_tensor *x, const lt_tensor *h0,
                        const lt_tensor *c0, lt_tensor *const *wts)
{
    char a[LT_SHAPE_BUFSZ], b[LT_SHAPE_BUFSZ];
    for (int l = 0; l < s->L; l++) {
        int64_t in = l == 0 ? s->I : s->H;
        for (int k = 0; k < 4; k++) {
            const lt_tensor *t = wts[4 * l + k];
            static const char *names[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
            if (!t) {
                if (k >= 2 && !s->has_bias) continue;
                return lt_error("%s_l%d is missing", names[k], l);
            }
            if (t->dtype != s->dt)
                return lt_error("%s_l%d is %s, the input is %s", names[k], l,
                                lt_dtype_name(t->dtype), lt_dtype_name(s->dt));
            int ok = k < 2 ? t->ndim == 2 && t->size[0] == 4 * s->H &&
                                 t->size[1] == (k == 0 ? in : s->H)
                           : t->ndim == 1 && t->size[0] == 4 * s->H;
            if (!ok) {
                if (k < 2)
                    return lt_error("%s_l%d must be [%lld x %lld], got [%s]", names[k], l,
                                    (long long)(4 * s->H), (long long)(k == 0 ? in : s->H),
                                    lt_shape_str(a, sizeof a, t->ndim, t->size));
                return lt_error("%s_l%d must be [%lld], got [%s]", names[k], l,
                                (long long)(4 * s->H), lt_shape_str(a, sizeof a, t->ndim, t->size));
            }
        }
    }
    const lt_tensor *st[2] = {h0, c0};
    for (int k = 0; k < 2; k++) {
        const lt_tensor *t = st[k];
        if (!t) continue;
        if (t->dtype != s->dt)
            return lt_error("%s is %s, the input is %s", k ? "c0" : "h0", lt_dtype_name(t->dtype),
                            lt_dtype_name(s->dt));
        int64_t want[3] = {s->L, s->B, s->H};
        if (s->cell) {  /* the shape of x with H features: B x H, or H unbatched */
            int64_t w2[2] = {s->B, s->H};
            const int64_t *ws = x->ndim == 1 ? w2 + 1 : w2;
            if (t->ndim != x->ndim || memcmp(t->size, ws, (size_t)x->ndim * sizeof *ws))
                return lt_error("%s must be [%s], got [%s]", k ? "c" : "h",
                                lt_shape_str(a, sizeof a, x->ndim, ws),
                                lt_shape_str(b, sizeof b, t->ndim, t->size));
        } else if (t->ndim != 3 || memcmp(t->size, want, sizeof want)) {
            return lt_error("%s must be [%s] (layers x batch x hidden), got [%s]",
                            k ? "c0" : "h0", lt_shape_str(a, sizeof a, 3, want),
                            lt_shape_str(b, sizeof b, t->ndim, t->size));
        }
    }
    return LT_OK;
}

/* Copies the B x H state of layer l (a slice of the L x B x H tensor, or the cell's B x H or
 * H tensor) into dst. */
static int copy_state(lt_tensor *dst, const lt_tensor *src, int l, int cell)
{
    lt_tensor v = *src, d = *dst;
    if (!cell && lt_select(&v, 0, l)) return LT_ERR;
    if (v.ndim == 1) lt_unsqueeze(&v, 0);
    return lt_copy(&d, &v);
}

static lt_node *lstm_record(lt_tensor *const *ins, int nins, int nouts, const char *name);

#ifdef LT_HAVE_CUDA
static lt_gpu_lstm_mat gpu_mat(mat m) { return (lt_gpu_lstm_mat){m.p, m.ld, m.trans}; }
#endif

/* One layer's forward on the device of its operands (gpu/lstm.cu); graph: the layer's cached
 * CUDA graph; *whht: the layer's W_hh^T scratch, allocated when the fused kernels need it. */
static int device_forward(const layer_fwd *f, int dev, lt_tensor **whht,
                          struct lt_gpu_loop_graph **graph)
{
#ifdef LT_HAVE_CUDA
    if (lt_gpu_lstm_fused(f->H) && !f->whh.trans &&
        ensure(whht, dev, f->dt, 2, f->H, 4 * f->H, 0))
        return LT_ERR;
    lt_gpu_lstm_fwd g = {f->dt, f->T, f->B, f->H, f->in, f->x, f->xld, gpu_mat(f->wih),
                         gpu_mat(f->whh), f->bias, f->h0, f->c0, f->zeros, f->g, f->h, f->c,
                         f->tc, *whht ? lt_data(*whht) : NULL};
    return lt_gpu_lstm_forward(&g, graph);
#else
    (void)f, (void)dev, (void)whht, (void)graph;
    return lt_error("luatorch was built without CUDA");
#endif
}

/* The forward pass shared by nn.LSTM (m may cache workspaces) and the cell (m NULL). */
static int lstm_run(lt_lstm *m, lstm_shape *s, lt_tensor *x, lt_tensor *h0, lt_tensor *c0,
                    lt_tensor *const *wts, lt_tensor **outs, int nouts)
{
    lt_dtype dt = s->dt;
    int64_t T = s->T, B = s->B, H = s->H, G = 4 * H;
    int L = s->L;
    size_t es = lt_dtype_size(dt);
    int nins = 3 + 4 * L;
    lt_tensor *ins[3 + 4 * 64];
    if (L > 64) return lt_error("at most 64 layers");
    ins[0] = x, ins[1] = h0, ins[2] = c0;
    for (int k = 0; k < 4 * L; k++) ins[3 + k] = wts[k];
    int grad = lt_needs_grad(nins, (const lt_tensor *const *)ins);
    int dev;
    if (lt_common_device(&dev, nins, (const lt_tensor *const *)ins)) return LT_ERR;
    int gpu = dev != LT_CPU;

#ifdef LT_HAVE_CUDA
    /* inside a whole-step CUDA graph capture, a workspace of its own: its blocks then belong
     * to the graph, which writes them at every replay (a cached one could be freed later) */
    lstm_ws *w = ws_get(gpu && lt_gpu_capturing() ? NULL : m, dev, dt, T, B, s->I, H, L);
#else
    lstm_ws *w = ws_get(m, dev, dt, T, B, s->I, H, L);
#endif
    if (!w) return LT_ERR;
    lstm_ctx *c = NULL;
    lt_tensor *fresh_out = NULL, *res[3] = {NULL, NULL, NULL};
    int st = LT_OK;
    if (grad) {
        c = calloc(1, sizeof *c);
        if (c) {
            c->w = w;  /* takes the caller's reference */
            c->s = *s;
            c->saved = calloc((size_t)(1 + 2 * L), sizeof *c->saved);
            c->version = calloc((size_t)(1 + 2 * L), sizeof *c->version);
            c->wih = calloc((size_t)(2 * L), sizeof *c->wih);
        }
        if (!c || !c->saved || !c->version || !c->wih) {
            if (c) ctx_free(c);
            else ws_release(w);
            return lt_error("out of memory");
        }
        c->whh = c->wih + L;
    }

    /* layer 0's input rows: x itself when BLAS can read it, else a time-major copy */
    lt_tensor xv = *x;
    if (s->cell) {
        if (xv.ndim == 1) lt_unsqueeze(&xv, 0);
        lt_unsqueeze(&xv, 0);
    } else if (s->batch_first) {
        lt_transpose(&xv, 0, 1);
    }
    mat xm;
    int64_t ld;
    if (rows_of(&xv, &ld)) {
        xm = (mat){lt_data(&xv), ld, 0};
        if (grad) st = ctx_save(c, x);
    } else {
        st = ensure(&w->xt, w->dev, dt, 3, T, B, s->I);
        if (st == LT_OK) st = lt_copy(w->xt, &xv);
        xm = (mat){lt_data(w->xt), s->I, 0};
    }
    if (grad) c->x = xm;

    if (st == LT_OK && !w->zeros) {  /* (lt_fill would allocate a scalar each call) */
        st = ensure(&w->zeros, w->dev, dt, 1, H, 0, 0);
        if (st == LT_OK) st = zero_bytes(dev, lt_data(w->zeros), (size_t)H * es);
    }
    if (st == LT_OK) st = ensure(&w->bias, w->dev, dt, 2, L, G, 0);
    if (st == LT_OK && !s->cell) st = ensure(&w->hn, w->dev, dt, 3, L, B, H);
    if (st == LT_OK && !s->cell) st = ensure(&w->cn, w->dev, dt, 3, L, B, H);
    if (st == LT_OK && !grad) {  /* fresh results: the caller may keep them */
        int64_t so[3] = {T, B, H}, sn[3] = {L, B, H};
        fresh_out = s->cell ? NULL : lt_tensor_uninit_on(dev, dt, 3, so);
        res[1] = lt_tensor_uninit_on(dev, dt, 3, sn);
        res[2] = lt_tensor_uninit_on(dev, dt, 3, sn);
        if ((!s->cell && !fresh_out) || !res[1] || !res[2]) st = LT_ERR;
    }

    const char *in_p = xm.p;
    int64_t in_ld = xm.ld, in_dim = s->I;
    for (int l = 0; l < L && st == LT_OK; l++) {
        layer_ws *y = &w->layer[l];
        int last = l == L - 1;
        mat wih, whh;
        st = weight_mat(wts[4 * l], &y->wih, &wih);
        if (st == LT_OK) st = weight_mat(wts[4 * l + 1], &y->whh, &whh);
        if (st == LT_OK && grad) {
            c->wih[l] = wih, c->whh[l] = whh;
            st = ctx_save(c, wts[4 * l]);
            if (st == LT_OK) st = ctx_save(c, wts[4 * l + 1]);
        }
        if (st == LT_OK) st = ensure(&y->gates, w->dev, dt, 3, T, B, G);
        /* (on a device the last layer still runs in the workspace: its CUDA graph reads
         * fixed buffers; the fresh output is a copy) */
        int direct = last && fresh_out && !gpu;
        if (st == LT_OK && !direct) st = ensure(&y->hseq, w->dev, dt, 3, T, B, H);
        if (st == LT_OK) st = ensure(&y->cseq, w->dev, dt, 3, T, B, H);
        if (st == LT_OK) st = ensure(&y->tc, w->dev, dt, 3, T, B, H);
        if (st == LT_OK && h0) st = ensure(&y->h0, w->dev, dt, 2, B, H, 0);
        if (st == LT_OK && h0) st = copy_state(y->h0, h0, l, s->cell);
        if (st == LT_OK && c0) st = ensure(&y->c0, w->dev, dt, 2, B, H, 0);
        if (st == LT_OK && c0) st = copy_state(y->c0, c0, l, s->cell);
        /* biases: b_ih + b_hh once per call, added in the fused pass */
        lt_tensor bl = *w->bias;
        if (st == LT_OK) st = lt_select(&bl, 0, l);
        if (st == LT_OK) {
            if (!s->has_bias) st = zero_bytes(dev, lt_data(&bl), (size_t)G * es);
#ifdef LT_HAVE_CUDA
            else if (gpu)
                st = lt_gpu_lstm_add(dt, G, lt_data(&bl), lt_data(wts[4 * l + 2]),
                                     wts[4 * l + 2]->stride[0], lt_data(wts[4 * l + 3]),
                                     wts[4 * l + 3]->stride[0]);
#endif
            else st = lt_binary(&bl, LT_OP_ADD, wts[4 * l + 2], wts[4 * l + 3], 1);
        }
        if (st) break;
        /* dropout on the inputs of layers > 0 */
        if (l > 0 && s->dropout_on) {
            lt_tensor prev = *w->layer[l - 1].hseq;
            st = ensure(&y->mask, w->dev, dt, 3, T, B, H);
            if (st == LT_OK) st = ensure(&y->xin, w->dev, dt, 3, T, B, H);
            /* on a device: the mask drawn on the host (the CPU's generator and numbers),
             * copied over, applied by a kernel */
            lt_tensor *mk = gpu ? NULL : y->mask;
            if (st == LT_OK && gpu) {
                st = ensure(&y->mask_host, LT_CPU, dt, 3, T, B, H);
                mk = y->mask_host;
            }
            if (st == LT_OK) st = lt_rand_bernoulli(mk, 1 - s->dropout);
            if (st == LT_OK) st = lt_binary_scalar(mk, LT_OP_MUL, mk, 1 / (1 - s->dropout));
#ifdef LT_HAVE_CUDA
            if (st == LT_OK && gpu)
                st = lt_gpu_copy_h2d(lt_data(y->mask), lt_data(mk), T * B * H * (int64_t)es);
            if (st == LT_OK && gpu)
                st = lt_gpu_lstm_mul(dt, T * B * H, lt_data(y->xin), lt_data(&prev),
                                     lt_data(y->mask));
#endif
            if (st == LT_OK && !gpu) st = lt_binary(y->xin, LT_OP_MUL, &prev, y->mask, 1);
            if (st) break;
            in_p = lt_data(y->xin);
        }
        char *hs = direct ? lt_data(fresh_out) : lt_data(y->hseq);
        char *cs = lt_data(y->cseq);
        layer_fwd f = {dt, T, B, H, in_dim, in_p, in_ld, wih, whh, (const char *)lt_data(&bl),
                       h0 ? lt_data(y->h0) : NULL, c0 ? lt_data(y->c0) : NULL,
                       lt_data(w->zeros), lt_data(y->gates), hs, cs, lt_data(y->tc), NULL};
        /* (CUDA graphs only for workspaces that live on: one call would not replay them) */
        if (gpu) st = device_forward(&f, dev, &y->whht, w->cached ? &y->gfwd : NULL);
        else layer_forward(&f);
        if (st == LT_OK && gpu && last && fresh_out)
            st = copy_bytes(dev, lt_data(fresh_out), hs, (size_t)(T * B * H) * es);
        /* h_n, c_n (a recorded cell returns views of h_t and c_t themselves) */
        lt_tensor *hn = res[1] ? res[1] : w->hn, *cn = res[2] ? res[2] : w->cn;
        int64_t last_off = (T - 1) * B * H * (int64_t)es, loff = l * B * H * (int64_t)es;
        if (st == LT_OK && hn && cn) {
            st = copy_bytes(dev, (char *)lt_data(hn) + loff, hs + last_off, (size_t)(B * H) * es);
            if (st == LT_OK)
                st = copy_bytes(dev, (char *)lt_data(cn) + loff, cs + last_off,
                                (size_t)(B * H) * es);
        }
        in_p = hs, in_ld = H, in_dim = H;
    }

    /* results */
    if (st == LT_OK) {
        int64_t so[3] = {T, B, H}, sn[3] = {L, B, H}, sc[2] = {B, H};
        int bf = s->batch_first;
        if (s->cell) {
            /* h' and c' of the one step: B x H (or H for an unbatched cell) */
            int nd = x->ndim;
            const int64_t *shp = nd == 1 ? sc + 1 : sc;
            lt_tensor *hsrc = res[1] ? res[1] : w->layer[0].hseq;
            lt_tensor *csrc = res[2] ? res[2] : w->layer[0].cseq;
            res[0] = handle_on(hsrc, 0, nd, shp, 0);
            lt_tensor *cres = handle_on(csrc, 0, nd, shp, 0);
            lt_tensor_release(res[1]);
            lt_tensor_release(res[2]);
            res[1] = cres;
            res[2] = NULL;
            if (!res[0] || !res[1]) st = LT_ERR;
        } else {
            if (fresh_out) {
                res[0] = handle_on(fresh_out, 0, 3, so, bf);
            } else {
                res[0] = handle_on(w->layer[L - 1].hseq, 0, 3, so, bf);
                res[1] = handle_on(w->hn, 0, 3, sn, 0);
                res[2] = handle_on(w->cn, 0, 3, sn, 0);
            }
            if (!res[0] || !res[1] || !res[2]) st = LT_ERR;
        }
    }
    lt_tensor_release(fresh_out);
    if (st == LT_OK) {
        for (int k = 0; k < nouts; k++) lt_storage_bump(res[k]);
        if (grad) {
            lt_node *n = lstm_record(ins, nins, nouts, s->cell ? "LSTMCellBackward" : "LSTMBackward");
            if (!n) {
                st = LT_ERR;
            } else {
                n->ctx = c;
                n->release_ctx = lstm_release_ctx;
                w->owner = n;
                c = NULL;
                for (int k = 0; k < nouts; k++) lt_node_set_output(n, res[k], k);
                lt_node_release(n);
            }
        }
    }
    if (c) ctx_free(c);  /* releases the workspace reference it took */
    else if (!grad) ws_release(w);
    if (st) {
        for (int k = 0; k < 3; k++) lt_tensor_release(res[k]);
        return LT_ERR;
    }
    for (int k = 0; k < nouts; k++) outs[k] = res[k];
    return LT_OK;
}

/* ---- backward ---------------------------------------------------------------------------- */

/* The gradient of a leaf parameter can go straight into its .grad (with beta = 1) when
 * autograd would do nothing but add it there; returns that tensor, or NULL. */
static lt_tensor *direct_grad(const lt_node *n, int k, int dev)
{
    lt_tensor *g = lt_node_leaf_grad(n, k);
    if (!g || lt_device(g) != dev) return NULL;
    int64_t inner = g->ndim == 2 ? g->size[1] : 1;
    if (g->ndim == 2 && !(g->stride[1] == 1 && g->stride[0] == inner)) return NULL;
    if (g->ndim == 1 && g->stride[0] != 1) return NULL;
    return g;
}

/* Where the gradient of parameter input k goes: the leaf's .grad (*beta = 1) or a fresh
 * tensor for autograd (gin[k], *beta = 0). NULL: not wanted. */
static char *param_target(lt_node *n, int k, lt_tensor **gin, double *beta, int *st, int dev)
{
    if (!n->next[k]) return NULL;
    lt_tensor *g = direct_grad(n, k, dev);
    if (g) {
        *beta = 1;
        lt_storage_bump(g);
        return lt_data(g);
    }
    gin[k] = lt_tensor_uninit_on(dev, n->in_dtype[k], n->in_ndim[k], n->in_size[k]);
    if (!gin[k]) {
        *st = LT_ERR;
        return NULL;
    }
    *beta = 0;
    return lt_data(gin[k]);
}

/* A handle for autograd on a workspace gradient buffer, of input k's shape; a batch-first
 * input gets a B x T x I view of the time-major buffer. */
static lt_tensor *grad_handle(lt_node *n, int k, lt_tensor **buf, int swap01)
{
    if (!swap01) return handle_on(*buf, 0, n->in_ndim[k], n->in_size[k], 0);
    int64_t tm[3] = {n->in_size[k][1], n->in_size[k][0], n->in_size[k][2]};
    return handle_on(*buf, 0, 3, tm, 1);
}

/* A workspace buffer for a gradient handed to autograd: a new one when someone still holds
 * the last one (a Lua function node may keep its gradient). */
static int buf_for_grad(lt_tensor **buf, int dev, lt_dtype dt, int ndim, int64_t s0, int64_t s1,
                        int64_t s2)
{
    if (*buf && (*buf)->storage->refcount > 1) {  /* the last gradient is still held */
        lt_tensor_release(*buf);
        *buf = NULL;
    }
    return ensure(buf, dev, dt, ndim, s0, s1, s2);
}

/* One layer's backward: the sweep back over time (each thread its batch rows), then the
 * weight and input gradients as GEMMs over all steps (each thread a block of the result). */
typedef struct {
    lt_dtype dt;
    int64_t T, B, H, in;
    const char *a, *tc, *c, *c0, *zeros;  /* activations, tanh(c), c, c0 (or NULL)          */
    const char *h, *h0;                   /* the layer's h_t and h0 (or NULL), for dW_hh    */
    const char *x;                        /* the layer's input rows, leading dimension xld  */
    int64_t xld;
    mat wih, whh;
    const char *ghn;                      /* gradient of h_n's rows (ld ghn_ld; 0: zeros)  */
    int64_t ghn_ld;
    const char *gout;                     /* gradient of the outputs: step stride, row ld  */
    int64_t gout_step, gout_ld;
    char *dc, *dh, *dg;                   /* B x H carried dc, B x H dh, T x B x 4H         */
    lt_bf16 *dg16;                        /* T x B x 4H: dg in bf16 instead (autocast) or NULL */
    char *dh0;                            /* B x H or NULL                                  */
    char *dwih, *dwhh;                    /* targets or NULL; beta 0 (fresh) or 1 (.grad)   */
    double beta_ih, beta_hh;
    char *dx;                             /* (T*B) x in, or NULL                            */
    void *acc;                            /* per-group bias sums (see bwd_rows)             */
    int nt;                               /* the sweep's blocks                             */
    int64_t ng;                           /* groups of LSTM_MIN_ROWS rows (lt_sweep_groups) */
} layer_bwd;

static void bwd_rows(const layer_bwd *f, int64_t t, int64_t b0, int64_t b1, int64_t k)
{
    int64_t B = f->B, H = f->H, G = 4 * H, T = f->T, es = (int64_t)lt_dtype_size(f->dt);
    int64_t off = t * B * H * es, goff = t * B * G * es;
    const char *cp = t > 0 ? f->c + off - B * H * es : f->c0 ? f->c0 : f->zeros;
    int64_t ldcp = t > 0 || f->c0 ? H : 0;
    const char *d1 = t == T - 1 ? f->ghn : f->dh;
    int64_t ld1 = t == T - 1 ? f->ghn_ld : H;
    const char *d2 = f->gout + t * f->gout_step * es;
    if (f->dt == LT_FLOAT32) {
        /* float partial sums per step (one group of rows), added into this group's doubles */
        float *part = (float *)f->acc + (size_t)k * (size_t)G;
        double *sum = (double *)((float *)f->acc + (size_t)f->ng * (size_t)G) + (size_t)k * (size_t)G;
        memset(part, 0, (size_t)G * sizeof *part);
        (f->dg16 ? bwd_f32_d16 : bwd_f32)(
                b0, b1, H, (const float *)(f->a + goff), (const float *)(f->tc + off),
                (const float *)cp, ldcp, (const float *)d1, ld1, (const float *)d2, f->gout_ld,
                (float *)f->dc, f->dg16 ? (void *)(f->dg16 + t * B * G) : (void *)(f->dg + goff), part,
                t > 0 ? (const float *)(f->a + goff - B * G * es) : NULL,
                t > 0 ? (const float *)(f->tc + off - B * H * es) : NULL,
                t > 0 ? (const float *)(d2 - f->gout_step * es) : NULL);
        for (int64_t j = 0; j < G; j++) sum[j] += part[j];
    } else {
        double *sum = (double *)f->acc + (size_t)k * (size_t)G;
        bwd_f64(b0, b1, H, (const double *)(f->a + goff), (const double *)(f->tc + off),
                (const double *)cp, ldcp, (const double *)d1, ld1, (const double *)d2,
                f->gout_ld, (double *)f->dc, (double *)(f->dg + goff), sum, NULL, NULL, NULL);
    }
}

/* block k's batch rows back through step T - 1 - s (its bias sums in acc part k) */
static void bwd_step(void *p, int64_t k, int64_t s)
{
    const layer_bwd *f = p;
    int64_t B = f->B, H = f->H, G = 4 * H, es = (int64_t)lt_dtype_size(f->dt), b0, b1;
    int64_t t = f->T - 1 - s;
    lt_sweep_rows(B, f->nt, k, &b0, &b1);
    if (b1 <= b0) return;
    for (int64_t r = b0; r < b1; r += LSTM_MIN_ROWS)  /* group by group: the bias sums' parts */
        bwd_rows(f, t, r, r + LSTM_MIN_ROWS < b1 ? r + LSTM_MIN_ROWS : b1, r / LSTM_MIN_ROWS);
    /* dh_{t-1} = dgates_t W_hh for these rows (into dh0 at t = 0) */
    char *dst = t > 0 ? f->dh : f->dh0;
    if (dst)
        lt_sweep_gemm(f->dt, B, b0, b1, f->whh.trans, H, G, f->dg + (t * B + b0) * G * es, G,
                      f->whh.p, f->whh.ld, 0, dst + b0 * H * es, H);
}

typedef struct {
    const layer_bwd *f;
    int64_t chunks;
} bwd_job;

/* chunk k of the all-steps GEMMs: its block of rows of dW_ih / dW_hh and of dx */
static void bwd_weights(void *p, int64_t k)
{
    const bwd_job *j = p;
    const layer_bwd *f = j->f;
    int64_t T = f->T, B = f->B, H = f->H, G = 4 * H, es = (int64_t)lt_dtype_size(f->dt);
    int64_t g0, g1, r0, r1;
    lt_par_range(G, j->chunks, k, &g0, &g1);
    if (f->dwih && g1 > g0)
        gemm(G, f->dt, 1, 0, g1 - g0, f->in, T * B, f->dg + g0 * es, G, f->x, f->xld, f->beta_ih,
             f->dwih + g0 * f->in * es, f->in);
    if (f->dwhh && g1 > g0) {
        char *d = f->dwhh + g0 * H * es;
        if (T > 1)
            gemm(G, f->dt, 1, 0, g1 - g0, H, (T - 1) * B, f->dg + (B * G + g0) * es, G, f->h, H,
                 f->beta_hh, d, H);
        else if (f->beta_hh == 0)
            memset(d, 0, (size_t)((g1 - g0) * H * es));
        if (f->h0) gemm(G, f->dt, 1, 0, g1 - g0, H, B, f->dg + g0 * es, G, f->h0, H, 1, d, H);
    }
    /* the input gradient over all steps: a block of rows */
    lt_par_range(T * B, j->chunks, k, &r0, &r1);
    if (f->dx && r1 > r0)
        gemm(T * B, f->dt, 0, f->wih.trans, r1 - r0, f->in, G, f->dg + r0 * G * es, G, f->wih.p,
             f->wih.ld, 0, f->dx + r0 * f->in * es, f->in);
}

static void layer_backward(const layer_bwd *f)
{
    int64_t T = f->T, B = f->B, H = f->H, G = 4 * H;
    if (trace.on) {
        for (int64_t t = T - 1; t >= 0; t--)
            if (t > 0 || f->dh0) trace_call(f->dt, 0, f->whh.trans, B, H, G, 0);
        if (f->dwih) trace_call(f->dt, 1, 0, G, f->in, T * B, f->beta_ih);
        if (f->dwhh && T > 1) trace_call(f->dt, 1, 0, G, H, (T - 1) * B, f->beta_hh);
        if (f->dwhh && f->h0) trace_call(f->dt, 1, 0, G, H, B, 1);
        if (f->dx) trace_call(f->dt, 0, f->wih.trans, T * B, f->in, G, 0);
    }
    mat_pin(f->dt, &f->wih, G, f->in);
    mat_pin(f->dt, &f->whh, G, H);
    /* under autocast x, h and h0 are operands of up to three products per chunk of the weight
     * GEMMs: converted once here; and under native autocast the sweep writes the gate gradients
     * in bf16 only (a shadow pin: every product reading them finds the bf16 copy; the float32
     * dg is left unwritten), else they are converted once after the sweep */
    int pin = f->dt == LT_FLOAT32 && lt_autocast_get();
    const float *px = (const float *)(const void *)f->x, *ph = (const float *)(const void *)f->h;
    const float *ph0 = (const float *)(const void *)f->h0;
    const float *pdg = (const float *)(const void *)f->dg;
    if (pin) {
        if (f->dwih) lt_autocast_pin(px, T * B, f->in, f->xld);
        if (f->dwhh && T > 1) lt_autocast_pin(ph, (T - 1) * B, H, H);
        if (f->dwhh && f->h0) lt_autocast_pin(ph0, B, H, H);
    }
    layer_bwd fa = *f;
    if (pin) fa.dg16 = lt_autocast_shadow(pdg, T * B, G, G);
    lt_parallel_steps(f->nt, T, bwd_step, &fa);
    /* the weight and input gradients: T*B x (in + H) x G multiply-adds per row of G, and
     * T*B x in x G for dx, split in the same number of blocks */
    bwd_job j = {&fa, lt_gemm_chunks(G, T * B, (f->in + H))};
    if (pin && !fa.dg16) lt_autocast_pin(pdg, T * B, G, G);
    lt_parallel_for(j.chunks, bwd_weights, &j);
    if (pin) {
        lt_autocast_unpin(pdg);
        if (f->dwih) lt_autocast_unpin(px);
        if (f->dwhh && T > 1) lt_autocast_unpin(ph);
        if (f->dwhh && f->h0) lt_autocast_unpin(ph0);
    }
    mat_unpin(f->dt, &f->wih);
    mat_unpin(f->dt, &f->whh);
}

/* A B x H (per layer) gradient source: data with row stride, unit column stride. */
typedef struct {
    const char *p;
    int64_t ld, step;  /* row stride, and stride between steps (output gradients) */
} src;

/* The gradient of an L x B x H state (h_n or c_n): a slice per layer, copied to a workspace
 * buffer when its columns are not adjacent. On a device always (the CUDA graph of the sweep
 * reads fixed buffers), once per call: the layers come from the top. */
static int state_grad(const lt_tensor *g, lt_tensor **buf, const lstm_shape *s, src *out, int l,
                      int gpu)
{
    int64_t B = s->B, H = s->H;
    lt_tensor v = *g;
    if (s->cell) {  /* B x H or H */
        if (v.ndim == 1) lt_unsqueeze(&v, 0);
        lt_unsqueeze(&v, 0);
    }
    if (gpu || (v.stride[2] != 1 && H > 1)) {
        if (ensure(buf, lt_device(g), s->dt, 3, s->L, B, H) ||
            ((!gpu || l == s->L - 1) && lt_copy(*buf, &v)))
            return LT_ERR;
        v = **buf;
    }
    size_t es = lt_dtype_size(s->dt);
    out->p = (const char *)lt_data(&v) + l * v.stride[0] * (int64_t)es;
    out->ld = B > 1 ? v.stride[1] : 0;
    out->step = 0;
    return LT_OK;
}

/* One layer's backward on the device (gpu/lstm.cu), the bias gradients (targets bt, betas bb)
 * included. */
static int device_backward(const layer_bwd *f, lstm_ws *w, layer_ws *y, char *const *bt,
                           const double *bb)
{
#ifdef LT_HAVE_CUDA
    int64_t G = 4 * f->H;
    if ((bt[0] || bt[1]) &&
        ensure(&w->partials, w->dev, LT_FLOAT64, 1, lt_gpu_lstm_bias_blocks(f->T * f->B) * G, 0, 0))
        return LT_ERR;
    lt_gpu_lstm_bwd g = {0};
    g.dt = f->dt, g.T = f->T, g.B = f->B, g.H = f->H, g.in = f->in;
    g.a = f->a, g.tc = f->tc, g.c = f->c, g.c0 = f->c0, g.zeros = f->zeros;
    g.h = f->h, g.h0 = f->h0, g.x = f->x, g.xld = f->xld;
    g.wih = gpu_mat(f->wih), g.whh = gpu_mat(f->whh);
    g.ghn = f->ghn, g.ghn_ld = f->ghn_ld, g.gout = f->gout, g.gout_step = f->gout_step;
    g.gout_ld = f->gout_ld, g.dc = f->dc, g.dh = f->dh, g.dg = f->dg, g.dh0 = f->dh0;
    g.dwih = f->dwih, g.dwhh = f->dwhh, g.dx = f->dx, g.beta_ih = f->beta_ih;
    g.beta_hh = f->beta_hh, g.dbih = bt[0], g.dbhh = bt[1], g.beta_bih = bb[0];
    g.beta_bhh = bb[1], g.partials = w->partials ? lt_data(w->partials) : NULL;
    return lt_gpu_lstm_backward(&g, w->cached ? &y->gbwd : NULL);
#else
    (void)f, (void)w, (void)y, (void)bt, (void)bb;
    return lt_error("luatorch was built without CUDA");
#endif
}

static int lstm_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    lstm_ctx *c = n->ctx;
    lstm_ws *w = c->w;
    const lstm_shape *s = &c->s;
    lt_dtype dt = s->dt;
    int64_t T = s->T, B = s->B, H = s->H, G = 4 * H, I = s->I;
    int L = s->L;
    size_t es = lt_dtype_size(dt);
    for (int k = 0; k < c->nsaved; k++)
        if (c->saved[k]->storage->version != c->version[k])
            return lt_error("%s: a tensor saved for the backward pass was modified by an "
                            "in-place operation", n->name);
    /* gradients arriving: the cell's (h', c') are the layer's (h_n, c_n) */
    const lt_tensor *g_out = s->cell ? NULL : gout[0];
    const lt_tensor *g_hn = s->cell ? gout[0] : gout[1], *g_cn = s->cell ? gout[1] : gout[2];
    int st = LT_OK, dev = w->dev, gpu = dev != LT_CPU;
    for (int k = 0; k < (s->cell ? 2 : 3); k++)
        if (gout[k] && lt_device(gout[k]) != dev)
            return lt_error("%s: a gradient arrived on another device than the LSTM's outputs",
                            n->name);
    int nt = gpu ? 1 : lt_sweep_chunks(T, B, H, 4);
    int64_t ng = lt_sweep_groups(B);
    size_t accsz = (size_t)ng * (size_t)G * (dt == LT_FLOAT32 ? sizeof(float) + sizeof(double)
                                                              : sizeof(double));
    if (!gpu && (!w->acc || w->acc_threads < ng)) {
        free(w->acc);
        w->acc = malloc(accsz);
        w->acc_threads = (int)ng;
        if (!w->acc) return lt_error("out of memory");
    }
    st = ensure(&w->dgates, w->dev, dt, 3, T, B, G);
    if (st == LT_OK) st = ensure(&w->dh, w->dev, dt, 2, B, H, 0);
    if (st == LT_OK) st = ensure(&w->dc, w->dev, dt, 2, B, H, 0);
    if (st == LT_OK && L > 1) st = ensure(&w->dhseq, w->dev, dt, 3, T, B, H);
    if (st) return LT_ERR;

    /* the output gradient as T x B x H rows with unit column stride */
    src go = {lt_data(w->zeros), 0, 0};
    if (g_out) {
        lt_tensor v = *g_out;
        if (s->batch_first) lt_transpose(&v, 0, 1);
        if (gpu || (v.stride[2] != 1 && H > 1)) {  /* (a device's graph reads fixed buffers) */
            if (ensure(&w->gout, w->dev, dt, 3, T, B, H) || lt_copy(w->gout, &v)) return LT_ERR;
            v = *w->gout;
        }
        go = (src){lt_data(&v), B > 1 ? v.stride[1] : 0, v.stride[0]};
    }
    int want_h0 = n->next[1] != NULL, want_c0 = n->next[2] != NULL;
    lt_tensor *dh0h = NULL, *dc0h = NULL;
    if (want_h0) st = buf_for_grad(&w->dh0, w->dev, dt, 3, L, B, H);
    if (st == LT_OK && want_c0) st = buf_for_grad(&w->dc0, w->dev, dt, 3, L, B, H);
    if (st) return LT_ERR;

    for (int l = L - 1; l >= 0 && st == LT_OK; l--) {
        layer_ws *y = &w->layer[l];
        layer_bwd f = {0};
        f.dt = dt, f.T = T, f.B = B, f.H = H, f.in = l == 0 ? I : H, f.nt = nt, f.ng = ng;
        f.a = lt_data(y->gates), f.tc = lt_data(y->tc), f.c = lt_data(y->cseq);
        f.c0 = s->has_c0 ? lt_data(y->c0) : NULL, f.zeros = lt_data(w->zeros);
        f.h = lt_data(y->hseq), f.h0 = s->has_h0 ? lt_data(y->h0) : NULL;
        f.x = l == 0 ? c->x.p : s->dropout_on ? lt_data(y->xin) : lt_data(w->layer[l - 1].hseq);
        f.xld = l == 0 ? c->x.ld : H;
        f.wih = c->wih[l], f.whh = c->whh[l];
        f.dc = lt_data(w->dc), f.dh = lt_data(w->dh), f.dg = lt_data(w->dgates);
        f.dh0 = want_h0 ? (char *)lt_data(w->dh0) + l * B * H * (int64_t)es : NULL;
        f.acc = w->acc;
        /* where dh comes from at the last step, and the output gradient */
        src d1 = {lt_data(w->zeros), 0, 0};
        if (g_hn && (st = state_grad(g_hn, &w->ghn, s, &d1, l, gpu))) break;
        f.ghn = d1.p, f.ghn_ld = d1.ld;
        src d2 = l == L - 1 ? go : (src){lt_data(w->dhseq), H, B * H};
        f.gout = d2.p, f.gout_step = d2.step, f.gout_ld = d2.ld;
        if (g_cn) {
            src dcs;
            if ((st = state_grad(g_cn, &w->gcn, s, &dcs, l, gpu))) break;
            if (gpu)  /* the workspace copy: contiguous rows */
                st = copy_bytes(dev, f.dc, dcs.p, (size_t)(B * H) * es);
            else
                for (int64_t b = 0; b < B; b++)
                    memcpy(f.dc + b * H * (int64_t)es, dcs.p + b * dcs.ld * (int64_t)es,
                           (size_t)H * es);
        } else {
            st = zero_bytes(dev, f.dc, (size_t)(B * H) * es);
        }
        if (st) break;
        /* the weight gradients' targets: the parameters' .grad, or fresh tensors */
        int kw = 3 + 4 * l;
        f.dwih = param_target(n, kw, gin, &f.beta_ih, &st, dev);
        if (st == LT_OK) f.dwhh = param_target(n, kw + 1, gin, &f.beta_hh, &st, dev);
        if (st == LT_OK && l == 0 && n->next[0]) {
            st = buf_for_grad(&w->dx, w->dev, dt, 3, T, B, I);
            if (st == LT_OK) f.dx = lt_data(w->dx);
        }
        if (l > 0) f.dx = lt_data(w->dhseq);  /* the gradient of the layer below's outputs */
        if (st) break;
        if (gpu) {
            /* the bias gradients' targets first: the device computes them with the rest */
            char *bt[2] = {NULL, NULL};
            double bb[2] = {0, 0};
            for (int q = 0; q < 2 && st == LT_OK && s->has_bias; q++)
                bt[q] = param_target(n, kw + 2 + q, gin, &bb[q], &st, dev);
            if (st == LT_OK) st = device_backward(&f, w, y, bt, bb);
        } else {
            memset(w->acc, 0, accsz);
            layer_backward(&f);
        }
        if (st == LT_OK && want_c0)
            st = copy_bytes(dev, (char *)lt_data(w->dc0) + l * B * H * (int64_t)es, f.dc,
                            (size_t)(B * H) * es);
        /* biases: the per-group sums, in group order (the same at any thread count) */
        for (int kb = kw + 2; kb <= kw + 3 && st == LT_OK && s->has_bias && !gpu; kb++) {
            double beta;
            char *tgt = param_target(n, kb, gin, &beta, &st, dev);
            if (!tgt) continue;
            const double *sum = dt == LT_FLOAT32
                                    ? (const double *)((float *)w->acc + (size_t)ng * (size_t)G)
                                    : (const double *)w->acc;
            for (int64_t j = 0; j < G; j++) {
                double v = 0;
                for (int64_t k = 0; k < ng; k++) v += sum[(size_t)k * (size_t)G + (size_t)j];
                /* beta 0: a fresh tensor, never read */
                if (dt == LT_FLOAT32) ((float *)tgt)[j] = (float)(beta != 0 ? ((float *)tgt)[j] + v : v);
                else ((double *)tgt)[j] = beta != 0 ? ((double *)tgt)[j] + v : v;
            }
        }
        if (st) break;
        /* layer l's weights are final: their gradient-ready hooks may fire now, while the
         * layers below still run (DDP starts reducing their bucket); a no-op without hooks */
        for (int k = kw; k < kw + 4 && st == LT_OK; k++) st = lt_node_input_ready(n, k, gin);
        if (st) break;
        if (l > 0 && s->dropout_on) {
#ifdef LT_HAVE_CUDA
            if (gpu)
                st = lt_gpu_lstm_mul(dt, T * B * H, lt_data(w->dhseq), lt_data(w->dhseq),
                                     lt_data(y->mask));
            else
#endif
                st = lt_binary(w->dhseq, LT_OP_MUL, w->dhseq, y->mask, 1);
        }
        if (st == LT_OK && l == 0 && n->next[0]) {
            gin[0] = grad_handle(n, 0, &w->dx, s->batch_first && !s->cell);
            if (!gin[0]) st = LT_ERR;
        }
    }
    if (st == LT_OK && want_h0) {
        dh0h = grad_handle(n, 1, &w->dh0, 0);
        if (!dh0h) st = LT_ERR;
        gin[1] = dh0h;
    }
    if (st == LT_OK && want_c0) {
        dc0h = grad_handle(n, 2, &w->dc0, 0);
        if (!dc0h) st = LT_ERR;
        gin[2] = dc0h;
    }
    return st;
}

static lt_node *lstm_record(lt_tensor *const *ins, int nins, int nouts, const char *name)
{
    return lt_node_new(name, lstm_backward, nins, ins, nouts);
}

/* ---- entry points ------------------------------------------------------------------------ */

int lt_lstm_forward(lt_lstm *m, const lt_lstm_opts *o, lt_tensor *x, lt_tensor *h0,
                    lt_tensor *c0, lt_tensor *const *weights, int has_bias, lt_tensor **out,
                    lt_tensor **hn, lt_tensor **cn)
{
    char a[LT_SHAPE_BUFSZ];
    *out = *hn = *cn = NULL;
    if (o->num_layers < 1) return lt_error("numLayers must be at least 1, got %d", o->num_layers);
    if (!lt_dtype_is_float(x->dtype))
        return lt_error("expected a Float or Double input, got %s", lt_dtype_name(x->dtype));
    if (!(o->dropout >= 0 && o->dropout < 1))
        return lt_error("dropout must be in [0, 1), got %g", o->dropout);
    if (!weights[1] || weights[1]->ndim != 2)
        return lt_error("weight_hh_l0 must be a [4H x H] matrix");
    int64_t H = weights[1]->size[1];
    if (x->ndim != 3 || x->size[0] == 0 || x->size[1] == 0 || x->size[2] == 0)
        return lt_error("expected a non-empty 3-D input (%s x features), got [%s]",
                        o->batch_first ? "batch x time" : "time x batch",
                        lt_shape_str(a, sizeof a, x->ndim, x->size));
    lstm_shape s = {0};
    s.dt = x->dtype;
    s.T = x->size[o->batch_first ? 1 : 0];
    s.B = x->size[o->batch_first ? 0 : 1];
    s.I = x->size[2];
    s.H = H;
    s.L = o->num_layers;
    s.batch_first = o->batch_first != 0;
    s.has_bias = has_bias;
    s.has_h0 = h0 != NULL;
    s.has_c0 = c0 != NULL;
    s.dropout = o->dropout;
    s.dropout_on = o->train && o->dropout > 0 && o->num_layers > 1;
    if (weights[0] && weights[0]->ndim == 2 && weights[0]->size[1] != s.I)
        return lt_error("expected input of size [%s x %lld], got [%s]",
                        o->batch_first ? "batch x time" : "time x batch",
                        (long long)weights[0]->size[1], lt_shape_str(a, sizeof a, x->ndim, x->size));
    if (H < 1 || s.T * s.B > INT_MAX || 4 * H > INT_MAX)
        return lt_error("sizes too large for BLAS");
    if (check_inputs(&s, x, h0, c0, weights)) return LT_ERR;
    lt_tensor *res[3];
    if (lstm_run(m, &s, x, h0, c0, weights, res, 3)) return LT_ERR;
    *out = res[0], *hn = res[1], *cn = res[2];
    return LT_OK;
}

int lt_lstm_cell(lt_tensor *x, lt_tensor *h, lt_tensor *c, lt_tensor *w_ih, lt_tensor *w_hh,
                 lt_tensor *b_ih, lt_tensor *b_hh, lt_tensor **h1, lt_tensor **c1)
{
    char a[LT_SHAPE_BUFSZ];
    *h1 = *c1 = NULL;
    if (!lt_dtype_is_float(x->dtype))
        return lt_error("expected a Float or Double input, got %s", lt_dtype_name(x->dtype));
    if (w_hh->ndim != 2 || w_ih->ndim != 2)
        return lt_error("weight_ih and weight_hh must be matrices");
    if ((x->ndim != 1 && x->ndim != 2) || x->size[x->ndim - 1] != w_ih->size[1] ||
        lt_numel(x) == 0)
        return lt_error("expected input of size [N x %lld] or [%lld], got [%s]",
                        (long long)w_ih->size[1], (long long)w_ih->size[1],
                        lt_shape_str(a, sizeof a, x->ndim, x->size));
    if ((b_ih == NULL) != (b_hh == NULL)) return lt_error("give both biases or neither");
    lstm_shape s = {0};
    s.dt = x->dtype;
    s.T = 1;
    s.B = x->ndim == 2 ? x->size[0] : 1;
    s.I = x->size[x->ndim - 1];
    s.H = w_hh->size[1];
    s.L = 1;
    s.cell = 1;
    s.has_bias = b_ih != NULL;
    s.has_h0 = h != NULL;
    s.has_c0 = c != NULL;
    lt_tensor *wts[4] = {w_ih, w_hh, b_ih, b_hh};
    if (s.H < 1 || s.B > INT_MAX || 4 * s.H > INT_MAX) return lt_error("sizes too large for BLAS");
    if (check_inputs(&s, x, h, c, wts)) return LT_ERR;
    lt_tensor *res[2];
    if (lstm_run(NULL, &s, x, h, c, wts, res, 2)) return LT_ERR;
    *h1 = res[0], *c1 = res[1];
    return LT_OK;
}
