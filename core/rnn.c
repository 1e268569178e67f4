/*
 * rnn.c — one recurrent layer in one direction over a whole sequence, recorded as ONE autograd
 * node with a hand-written backward: the Elman RNN (tanh or relu), the GRU and the LSTM, each
 * with PyTorch's gate order and parameter shapes, optionally reversed in time (the second
 * direction of a bidirectional layer) and with per-sequence lengths (a padded batch).
 * nn.GRU, nn.RNN and their cells stack these layers in Lua (lua/nn/RNN.lua); nn.LSTM uses them
 * for bidirectional or variable-length sequences (its plain case is core/lstm.c's fused stack).
 *
 *   RNN:  h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)                      (G = H)
 *   GRU:  r, z = sigmoid(gi_{r,z} + gh_{r,z}); n = tanh(gi_n + r * gh_n)   (G = 3H)
 *         h' = (1 - z) * n + z * h,  gi = x W_ih^T + b_ih, gh = h W_hh^T + b_hh
 *   LSTM: i, f, o = sigmoid(.), g = tanh(.); c' = f c + i g; h' = o tanh(c') (G = 4H)
 *
 * As in core/lstm.c: ONE GEMM projects the inputs of every step (T*B x I by I x G); per step
 * one GEMM gives the recurrence for the batch rows of each chunk, then one fused pass (which
 * also adds both biases); the backward sweeps back over time the same way (summing the biases'
 * gradients as it goes), and the weight and input gradients are each one GEMM over all steps
 * (on the host the GRU's dW_hh is two: its r, z rows from dgi, equal there, its n rows from
 * dgh's n part, the only part of dgh kept past its step). The GEMMs are noted in torch._gemmTrace's list at their full shapes (the benchmarks' floor).
 * The sweeps' chunks (lt_sweep_chunks) are lstm.c's; the all-steps GEMMs split on the pool
 * (lt_blas_gemm_par).
 *
 * Lengths: step t of sequence b is valid when t < len[b]. At an invalid step the state is
 * carried unchanged and the output is 0 (pad_packed_sequence's), so the final state is the
 * one after each sequence's last valid step, and padding changes no gradient. Reversed, a
 * sequence's steps run from len[b] - 1 down to 0.
 *
 * Buffers, on the host: every buffer of a call lives in a workspace (rnn_ws) of the module's
 * (torch._rnnWorkspace, one per layer and direction; one for the call alone without it), taken
 * when no pending backward needs it, so a training loop at a fixed shape allocates nothing
 * after its first step (as core/lstm.c). x and the weights are read where they are when
 * contiguous (else copied into the workspace); recorded without lengths, the results (output,
 * h_n, c_n) are views of the workspace's states, which the next forward after the backward
 * rewrites (Torch7's module.output), else fresh tensors. The backward refuses to run when any
 * of these (x, the weights, the results) was written in place since the forward.
 * On a CUDA device (every tensor but the lengths there; a mix is an error) the buffers live in
 * device memory (from the workspace when given, so the loops' CUDA graphs replay; else per
 * call) and the products, the time loops and the bias sums run in gpu/rnn.cu
 * (lt_gpu_rnn_forward / _backward): the dispatch is here, in lt_rnn_layer and rnn_backward, on
 * the context's device.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnnl.h"
#include "lt_internal.h"


#if defined(__GNUC__) && !defined(__clang__)
#define INLINE inline __attribute__((always_inline))
#else
#define INLINE inline
#endif

#include "rnn_math.h"

/* Brings the n bytes at p towards L2 for writing: the backward sweep writes each step's rows
 * of the gate gradients (buffers as long as the sequence), whose lines would otherwise be
 * fetched at the store. */
static INLINE void prefetch_write(const void *p, size_t n)
{
    for (size_t i = 0; i < n; i += 64) __builtin_prefetch((const char *)p + i, 1, 2);
}

/* A workspace: the buffers of a call, kept from call to call at one shape. On a device the
 * buffers the time loops read, held still so that the loops' CUDA graphs (gpu/loop_graph.cu)
 * replay; on the host every buffer of the forward and the backward, so that a training loop
 * allocates (and page-faults) nothing after its first step. A call takes one that no pending
 * backward needs (as core/lstm.c's): its user context was released, or its node was
 * backwarded (the engine freed the graph: its buffers are never read again). */
typedef struct rnn_ws {
    int refcount;
    const void *user;      /* the context using the buffers (weak), or NULL                 */
    lt_node *owner;        /* that context's node (weak), or NULL when none was recorded   */
    int dev, mode, reverse;
    lt_dtype dt;
    int64_t T, B, I, H;
    lt_tensor *whh, *bih, *bhh;  /* copies of the weights the loops read: G x H, G, G       */
    lt_tensor *wih;        /* host: G x I copy of W_ih when it is not contiguous             */
    lt_tensor *xt;         /* host: T x B x I copy of x when it is not contiguous            */
    lt_tensor *h0, *c0;    /* B x H copies of the initial state (zeros when not given)       */
    lt_tensor *lend;       /* B int64 lengths                                               */
    lt_tensor *gates, *ghn, *s, *c;  /* as rnn_ctx's                                         */
    lt_tensor *gh;         /* B x G: the forward's recurrence scratch                        */
    lt_tensor *dy;         /* T x B x H: the output gradient, dense                          */
    lt_tensor *zrow;       /* H zeros: the output gradient when there is none                */
    lt_tensor *dh, *dc;    /* B x H: the carried state gradients                             */
    lt_tensor *dgi, *dgh;  /* T x B x G: the gate gradients (dgh: GRU; host: B x G, one step's) */
    lt_tensor *dgn;        /* host GRU: T x B x H, dgh's n part (its r, z parts are dgi's)   */
    void *acc;             /* host: the bias-gradient sums per group of rows (see bwd_step)  */
    size_t accsz;          /* its bytes                                                      */
#ifdef LT_HAVE_CUDA
    lt_gpu_loop_graph *gfwd, *gbwd;  /* the forward and backward loops' graphs              */
#endif
} rnn_ws;

#define RNN_WS_CACHE 3

/* the workspaces of one layer and direction of a module (torch._rnnWorkspace) */
struct lt_rnn_ws {
    rnn_ws *slot[RNN_WS_CACHE];
    int next;
};

static void ws_release(rnn_ws *w)
{
    if (!w || --w->refcount > 0) return;
    lt_tensor *ts[] = {w->whh, w->bih, w->bhh, w->wih, w->xt,   w->h0, w->c0,
                       w->lend, w->gates, w->ghn, w->s,   w->c,  w->gh,   w->dy,
                       w->zrow, w->dh,  w->dc,  w->dgi, w->dgh, w->dgn};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) lt_tensor_release(ts[i]);
    free(w->acc);
#ifdef LT_HAVE_CUDA
    lt_gpu_loop_graph_free(w->gfwd);
    lt_gpu_loop_graph_free(w->gbwd);
#endif
    free(w);
}

lt_rnn_ws *lt_rnn_ws_new(void)
{
    lt_rnn_ws *m = calloc(1, sizeof *m);
    if (!m) lt_error("out of memory");
    return m;
}

void lt_rnn_ws_free(lt_rnn_ws *m)
{
    if (!m) return;
    for (int i = 0; i < RNN_WS_CACHE; i++) ws_release(m->slot[i]);
    free(m);
}

/* A free workspace of this shape from m (one reference for the caller, who becomes its user),
 * or a new one replacing the oldest entry (whose user, if any, keeps it); without m, a new one
 * for this call alone. */
static rnn_ws *ws_get(lt_rnn_ws *m, int dev, lt_dtype dt, int mode, int reverse, int64_t T,
                      int64_t B, int64_t I, int64_t H)
{
    for (int i = 0; m && i < RNN_WS_CACHE; i++) {
        rnn_ws *w = m->slot[i];
        if (w && (!w->user || (w->owner && w->owner->freed)) && w->dev == dev && w->dt == dt &&
            w->mode == mode && w->reverse == reverse && w->T == T && w->B == B && w->I == I &&
            w->H == H) {
            w->refcount++;
            return w;
        }
    }
    rnn_ws *w = calloc(1, sizeof *w);
    if (!w) {
        lt_error("out of memory");
        return NULL;
    }
    w->refcount = m ? 2 : 1;  /* the cache's reference and the caller's */
    w->dev = dev, w->dt = dt, w->mode = mode, w->reverse = reverse;
    w->T = T, w->B = B, w->I = I, w->H = H;
    if (!m) return w;
    int i = m->next;
    m->next = (i + 1) % RNN_WS_CACHE;
    ws_release(m->slot[i]);
    m->slot[i] = w;
    return w;
}

/* a new reference to the workspace buffer *p of this shape (allocated on first use: the
 * shape never changes), or NULL */
static lt_tensor *ws_buf(lt_tensor **p, int dev, lt_dtype dt, int ndim, int64_t s0, int64_t s1,
                         int64_t s2)
{
    if (!*p) {
        int64_t size[3] = {s0, s1, s2};
        *p = lt_tensor_uninit_on(dev, dt, ndim, size);
        if (!*p) return NULL;
    }
    lt_tensor_retain(*p);
    return *p;
}

/* a new reference to the workspace buffer *p (of the shape given, src's) holding a copy of
 * src, or zeros when src is NULL; NULL on failure */
static lt_tensor *ws_fill(lt_tensor **p, int dev, lt_dtype dt, const lt_tensor *src, int ndim,
                          int64_t s0, int64_t s1, int64_t s2)
{
    lt_tensor *t = ws_buf(p, dev, dt, ndim, s0, s1, s2);
    if (!t) return NULL;
    int st = LT_OK;
    if (src) st = lt_copy(t, src);
    else if (dev == LT_CPU) memset(lt_data(t), 0, (size_t)lt_numel(t) * lt_dtype_size(dt));
#ifdef LT_HAVE_CUDA
    else st = lt_gpu_memset0(lt_data(t), lt_numel(t) * (int64_t)lt_dtype_size(dt));
#endif
    if (st) {
        lt_tensor_release(t);
        return NULL;
    }
    return t;
}

typedef struct {
    int mode, reverse, has_bias;
    int dev;               /* LT_CPU, or the CUDA device every buffer below lives on         */
    rnn_ws *ws;            /* device: the workspace whose buffers these are, or NULL          */
    lt_dtype dt;
    int64_t T, B, I, H, G;
    int64_t *len;          /* (B) or NULL: every sequence has T steps                      */
    lt_tensor *lend;       /* device: the lengths in device memory (B int64), or NULL       */
    lt_tensor *x;          /* T x B x I contiguous: the input (host: x itself when it is)    */
    lt_tensor *wih, *whh;  /* contiguous weights (host: the parameters themselves when so)   */
    lt_tensor *bih, *bhh;  /* G: b_ih and b_hh, or zeros (added in the fused pass)           */
    /* host: what the backward reads that others could write in place (x and the weights
     * read where they are, the states handed out as results), with their storage versions */
    const lt_tensor *chk[5];
    uint32_t chk_version[5];
    int nchk;
    lt_tensor *h0, *c0;    /* B x H (zeros when not given)                                  */
    lt_tensor *gates;      /* T x B x G: the projections, then the activated gates          */
    lt_tensor *ghn;        /* GRU: T x B x H, W_hn h + b_hn (before r multiplies it)        */
    lt_tensor *s, *c;      /* T x B x H: the state (h, and c for the LSTM) after step t     */
} rnn_ctx;

static void ctx_free(rnn_ctx *k)
{
    if (!k) return;
    lt_tensor *ts[] = {k->x,  k->wih,   k->whh, k->bih, k->bhh, k->h0,
                       k->c0, k->gates, k->ghn, k->s,   k->c,   k->lend};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) lt_tensor_release(ts[i]);
    if (k->ws && k->ws->user == k) k->ws->user = NULL, k->ws->owner = NULL;
    ws_release(k->ws);
    free(k->len);
    free(k);
}

static void release_ctx(lt_node *n)
{
    ctx_free(n->ctx);
    n->ctx = NULL;
}

/* buffers on device dev (LT_CPU: the host) */
static lt_tensor *buffer(int dev, lt_dtype dt, int ndim, int64_t s0, int64_t s1, int64_t s2)
{
    int64_t size[3] = {s0, s1, s2};
    return lt_tensor_uninit_on(dev, dt, ndim, size);
}

static lt_tensor *zeros(int dev, lt_dtype dt, int ndim, int64_t s0, int64_t s1, int64_t s2)
{
    lt_tensor *t = buffer(dev, dt, ndim, s0, s1, s2);
    size_t n = t ? (size_t)lt_numel(t) * lt_dtype_size(dt) : 0;
    if (t && dev == LT_CPU) memset(lt_data(t), 0, n);
#ifdef LT_HAVE_CUDA
    if (t && dev != LT_CPU && lt_gpu_memset0(lt_data(t), (int64_t)n)) {
        lt_tensor_release(t);
        t = NULL;
    }
#endif
    return t;
}

/* a contiguous copy of t on device dev (a fresh tensor of its shape) */
static lt_tensor *dense_copy(int dev, const lt_tensor *t)
{
    lt_tensor *d = lt_tensor_uninit_on(dev, t->dtype, t->ndim, t->size);
    if (d && lt_copy(d, t)) {
        lt_tensor_release(d);
        d = NULL;
    }
    return d;
}

/* the step processed before t (-1: the initial state) */
static int64_t step_before(const rnn_ctx *k, int64_t t)
{
    return k->reverse ? (t + 1 < k->T ? t + 1 : -1) : t - 1;
}

/* An all-steps product, split over the pool where it pays (lt_blas_gemm_par, whose slabs run
 * on the engine the whole takes); the per-step products are lt_sweep_gemm's */
static void gemm(lt_dtype dt, int ta, int tb, int64_t m, int64_t n, int64_t kk, const void *a,
                 int64_t lda, const void *b, int64_t ldb, double beta, void *c, int64_t ldc)
{
    if (m <= 0 || n <= 0) return;
    if (kk <= 0) {  /* nothing to add: beta * C */
        if (beta == 0)
            for (int64_t i = 0; i < m; i++)
                memset((char *)c + i * ldc * (int64_t)lt_dtype_size(dt), 0,
                       (size_t)n * lt_dtype_size(dt));
        return;
    }
    lt_blas_gemm_par(dt, ta, tb, m, n, kk, 1.0, a, lda, b, ldb, beta, c, ldc);
}

/* ---- the fused per-step passes, for float and double ---------------------------------------
 * Forward of step t for rows [b0, b1): g (B x G) holds x W_ih^T; gh (B x G) holds h W_hh^T
 * (bih, bhh: the biases, or zeros; added here rather than in a pass of their own); hp, cp the previous state; h, c receive the new one; gn (GRU)
 * receives W_hn h + b_hn. Backward: dh, dc (B x H) carry the state gradients in and out; dy
 * the output gradient (row stride ldy: 0 for a row of zeros); dgi, dgh (B x G) receive the
 * gradients of gi and gh (the same buffer for RNN and LSTM), dgn (GRU, B x H) dgh's n part
 * again (kept for dW_hh: the r, z parts are dgi's); acc (G) adds the column sums of
 * these rows of dgi and accn (H, GRU) those of dgh's n part (its r, z parts are dgi's): the
 * biases' gradients, summed while the rows are in registers. One loop per mode, so each
 * vectorises; a row past its length copies the state (forward) or keeps dh, dc (backward). */
#define RNN_KERNELS(ATTR, T, SFX, SIG, TANH)                                                        \
    ATTR static void fwd_##SFX(const rnn_ctx *k, int64_t t, int64_t b0, int64_t b1, T *g,      \
                          const T *gh, const T *bih, const T *bhh, const T *hp, const T *cp, T *h, T *c,     \
                          T *gn, const T *pg)                                                   \
    {                                                                                           \
        int64_t H = k->H, G = k->G;                                                             \
        for (int64_t b = b0; b < b1; b++) {                                                     \
            T *gr = g + b * G, *hr = h + b * H;                                                 \
            const T *ghr = gh + b * G, *hpr = hp + b * H;                                       \
            if (pg) prefetch_bytes(pg + b * G, (size_t)G * sizeof(T)); /* the next step's */    \
            if (k->len && t >= k->len[b]) {                                                     \
                memcpy(hr, hpr, (size_t)H * sizeof(T));                                         \
                if (c) memcpy(c + b * H, cp + b * H, (size_t)H * sizeof(T));                    \
                continue;                                                                       \
            }                                                                                   \
            switch (k->mode) {                                                                  \
            case LT_RNN_TANH:                                                                   \
                _Pragma("omp simd") for (int64_t j = 0; j < H; j++)                             \
                    hr[j] = TANH(gr[j] + bih[j] + ghr[j] + bhh[j]);                                      \
                break;                                                                          \
            case LT_RNN_RELU:                                                                   \
                _Pragma("omp simd") for (int64_t j = 0; j < H; j++) {                           \
                    T v = gr[j] + bih[j] + ghr[j] + bhh[j];                                              \
                    hr[j] = v <= 0 ? 0 : v;                                                     \
                }                                                                               \
                break;                                                                          \
            case LT_RNN_GRU: {                                                                  \
                T *gnr = gn + b * H;                                                            \
                _Pragma("omp simd") for (int64_t j = 0; j < H; j++) {                           \
                    T r = SIG(gr[j] + bih[j] + ghr[j] + bhh[j]);                                         \
                    T z = SIG(gr[H + j] + bih[H + j] + ghr[H + j] + bhh[H + j]);                             \
                    T hn = ghr[2 * H + j] + bhh[2 * H + j];                                     \
                    T n = TANH(gr[2 * H + j] + bih[2 * H + j] + r * hn);                                         \
                    gnr[j] = hn;                                                                \
                    gr[j] = r, gr[H + j] = z, gr[2 * H + j] = n;                                \
                    hr[j] = (1 - z) * n + z * hpr[j];                                           \
                }                                                                               \
                break;                                                                          \
            }                                                                                   \
            default: {                                                                          \
                T *cr = c + b * H;                                                              \
                const T *cpr = cp + b * H;                                                      \
                _Pragma("omp simd") for (int64_t j = 0; j < H; j++) {                           \
                    T ig = SIG(gr[j] + bih[j] + ghr[j] + bhh[j]);                                        \
                    T fg = SIG(gr[H + j] + bih[H + j] + ghr[H + j] + bhh[H + j]);                            \
                    T gg = TANH(gr[2 * H + j] + bih[2 * H + j] + ghr[2 * H + j] + bhh[2 * H + j]);               \
                    T og = SIG(gr[3 * H + j] + bih[3 * H + j] + ghr[3 * H + j] + bhh[3 * H + j]);                \
                    T cc = fg * cpr[j] + ig * gg;                                               \
                    gr[j] = ig, gr[H + j] = fg, gr[2 * H + j] = gg, gr[3 * H + j] = og;         \
                    cr[j] = cc;                                                                 \
                    hr[j] = og * TANH(cc);                                                      \
                }                                                                               \
            }                                                                                   \
            }                                                                                   \
        }                                                                                       \
    }                                                                                           \
    ATTR static void bwd_##SFX(const rnn_ctx *k, int64_t t, int64_t b0, int64_t b1,            \
                               const T *g,                                                     \
                          const T *gn, const T *hp, const T *cp, const T *h, const T *c,       \
                          const T *dy, int64_t ldy, T *dh, T *dc, T *dgi, T *dgh, T *dgn,      \
                          T *acc, T *accn, const T *pg, const T *ph, const T *ph2,             \
                          const T *pdy, T *pdgi, T *pdgn)                                       \
    {                                                                                           \
        int64_t H = k->H, G = k->G;                                                             \
        for (int64_t b = b0; b < b1; b++) {                                                     \
            T *dgir = dgi + b * G, *dghr = dgh + b * G, *dhr = dh + b * H;                      \
            if (pg) { /* the next step's rows (the one processed after t), into L2 */           \
                prefetch_bytes(pg + b * G, (size_t)G * sizeof(T));                              \
                if (ph) prefetch_bytes(ph + b * H, (size_t)H * sizeof(T));                      \
                if (ph2) prefetch_bytes(ph2 + b * H, (size_t)H * sizeof(T));                    \
                if (ldy) prefetch_bytes(pdy + b * ldy, (size_t)H * sizeof(T));                  \
                prefetch_write(pdgi + b * G, (size_t)G * sizeof(T));                            \
                if (pdgn) prefetch_write(pdgn + b * H, (size_t)H * sizeof(T));                  \
            }                                                                                   \
            if (k->len && t >= k->len[b]) {                                                     \
                memset(dgir, 0, (size_t)G * sizeof(T));                                         \
                if (dgh != dgi) memset(dghr, 0, (size_t)G * sizeof(T));                         \
                if (dgn) memset(dgn + b * H, 0, (size_t)H * sizeof(T));                         \
                continue;                                                                       \
            }                                                                                   \
            const T *gr = g + b * G, *hr = h + b * H, *hpr = hp + b * H, *dyr = dy + b * ldy;   \
            switch (k->mode) {                                                                  \
            case LT_RNN_TANH:                                                                   \
                _Pragma("omp simd") for (int64_t j = 0; j < H; j++) {                           \
                    T da = (dhr[j] + dyr[j]) * (1 - hr[j] * hr[j]);                             \
                    dgir[j] = da;                                                               \
                    acc[j] += da;                                                               \
                    dhr[j] = 0;                                                                 \
                }                                                                               \
                break;                                                                          \
            case LT_RNN_RELU:                                                                   \
                _Pragma("omp simd") for (int64_t j = 0; j < H; j++) {                           \
                    T da = hr[j] <= 0 ? 0 : dhr[j] + dyr[j];                                    \
                    dgir[j] = da;                                                               \
                    acc[j] += da;                                                               \
                    dhr[j] = 0;                                                                 \
                }                                                                               \
                break;                                                                          \
            case LT_RNN_GRU: {                                                                  \
                const T *gnr = gn + b * H;                                                      \
                T *dgnr = dgn + b * H;                                                          \
                _Pragma("omp simd") for (int64_t j = 0; j < H; j++) {                           \
                    T d = dhr[j] + dyr[j];                                                      \
                    T r = gr[j], z = gr[H + j], n = gr[2 * H + j];                              \
                    T dan = d * (1 - z) * (1 - n * n);                                          \
                    T daz = d * (hpr[j] - n) * z * (1 - z);                                     \
                    T dar = dan * gnr[j] * r * (1 - r);                                         \
                    dgir[j] = dar, dgir[H + j] = daz, dgir[2 * H + j] = dan;                    \
                    dghr[j] = dar, dghr[H + j] = daz, dghr[2 * H + j] = dan * r;                \
                    dgnr[j] = dan * r;                                                          \
                    acc[j] += dar, acc[H + j] += daz, acc[2 * H + j] += dan;                    \
                    accn[j] += dan * r;                                                         \
                    dhr[j] = d * z;                                                             \
                }                                                                               \
                break;                                                                          \
            }                                                                                   \
            default: {                                                                          \
                const T *cr = c + b * H, *cpr = cp + b * H;                                     \
                T *dcr = dc + b * H;                                                            \
                _Pragma("omp simd") for (int64_t j = 0; j < H; j++) {                           \
                    T d = dhr[j] + dyr[j];                                                      \
                    T ig = gr[j], fg = gr[H + j], gg = gr[2 * H + j], og = gr[3 * H + j];       \
                    T th = TANH(cr[j]);                                                         \
                    T dct = dcr[j] + d * og * (1 - th * th);                                    \
                    T di = dct * gg * ig * (1 - ig), df = dct * cpr[j] * fg * (1 - fg);         \
                    T dgg = dct * ig * (1 - gg * gg), dog = d * th * og * (1 - og);             \
                    dgir[j] = di, dgir[H + j] = df, dgir[2 * H + j] = dgg, dgir[3 * H + j] = dog; \
                    acc[j] += di, acc[H + j] += df, acc[2 * H + j] += dgg, acc[3 * H + j] += dog; \
                    dcr[j] = dct * fg;                                                          \
                    dhr[j] = 0;                                                                 \
                }                                                                               \
            }                                                                                   \
            }                                                                                   \
        }                                                                                       \
    }

#define NO_ATTR
RNN_KERNELS(LT_WIDE_CLONES, float, f32, sigmoid_f, tanh_f)
RNN_KERNELS(NO_ATTR, double, f64, sigmoid_d, tanh)

/* ---- forward ------------------------------------------------------------------------------- */

static char *row(const lt_tensor *t, int64_t index, int64_t width)
{
    return (char *)lt_data(t) + index * width * (int64_t)lt_dtype_size(t->dtype);
}

/* Under bf16 autocast, W_hh (G x H) converted once per sweep rather than at every step's
 * product (core/dnnl.c). */
static void whh_pin(const rnn_ctx *k)
{
    if (k->dt == LT_FLOAT32 && lt_autocast_get())
        lt_autocast_pin(lt_data(k->whh), k->G, k->H, k->H);
}

static void whh_unpin(const rnn_ctx *k)
{
    if (k->dt == LT_FLOAT32 && lt_autocast_get()) lt_autocast_unpin(lt_data(k->whh));
}

typedef struct {
    const rnn_ctx *k;
    char *gh;             /* B x G scratch */
    int64_t chunks;
    const char *dy;       /* backward: the output gradient (see backward_sweep) */
    int64_t dy_t, dy_b;
    char *dh, *dc, *dgi, *dgh, *dgn;
    void *acc;            /* backward: the bias-gradient sums per group (see bwd_step) */
} sweep_job;

/* block ci's batch rows through step `step` */
static void fwd_step(void *pj, int64_t ci, int64_t step)
{
    const sweep_job *j = pj;
    const rnn_ctx *k = j->k;
    char *gh = j->gh;
    int64_t T = k->T, B = k->B, H = k->H, G = k->G, es = (int64_t)lt_dtype_size(k->dt), b0, b1;
    lt_sweep_rows(B, j->chunks, ci, &b0, &b1);
    if (b1 <= b0) return;
    int64_t p = step;
    int64_t t = k->reverse ? T - 1 - p : p, tp = step_before(k, t);
    int64_t tn = p + 1 < T ? (k->reverse ? t - 1 : t + 1) : -1;  /* the step after */
    const char *hp = tp < 0 ? lt_data(k->h0) : row(k->s, tp, B * H);
    const char *cp = !k->c ? NULL : tp < 0 ? lt_data(k->c0) : row(k->c, tp, B * H);
    lt_sweep_gemm(k->dt, B, b0, b1, 1, G, H, hp + b0 * H * es, H, lt_data(k->whh), H, 0,
                  gh + b0 * G * es, G);
    const char *bi = lt_data(k->bih), *bh = lt_data(k->bhh);
    if (k->dt == LT_FLOAT32)
        fwd_f32(k, t, b0, b1, (float *)row(k->gates, t, B * G), (const float *)gh,
                (const float *)bi, (const float *)bh, (const float *)hp, (const float *)cp,
                (float *)row(k->s, t, B * H), k->c ? (float *)row(k->c, t, B * H) : NULL,
                k->ghn ? (float *)row(k->ghn, t, B * H) : NULL,
                tn < 0 ? NULL : (const float *)row(k->gates, tn, B * G));
    else
        fwd_f64(k, t, b0, b1, (double *)row(k->gates, t, B * G), (const double *)gh,
                (const double *)bi, (const double *)bh, (const double *)hp, (const double *)cp,
                (double *)row(k->s, t, B * H), k->c ? (double *)row(k->c, t, B * H) : NULL,
                k->ghn ? (double *)row(k->ghn, t, B * H) : NULL, NULL);
}

/* The sweep over time: each chunk its batch rows through every step (gh: B x G scratch). */
static void forward_sweep(const rnn_ctx *k, char *gh)
{
    int64_t T = k->T, B = k->B, H = k->H, G = k->G;
    for (int64_t p = 0; p < T; p++) lt_gemm_trace_note(k->dt, 0, 1, B, G, H, 0);
    whh_pin(k);
    sweep_job j = {k, gh, lt_sweep_chunks(T, B, H, (int)(G / H)), NULL, 0, 0, NULL, NULL, NULL,
                   NULL, NULL, NULL};
    lt_parallel_steps(j.chunks, T, fwd_step, &j);
    whh_unpin(k);
}

static int check_layer(int mode, lt_tensor *x, lt_tensor *h0, lt_tensor *c0, lt_tensor *const *w,
                       lt_tensor *lengths, int64_t *H_out, int *dev_out)
{
    char a[LT_SHAPE_BUFSZ], b[LT_SHAPE_BUFSZ];
    static const int gates[] = {1, 1, 3, 4};
    static const char *names[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    if (mode < LT_RNN_TANH || mode > LT_RNN_LSTM) return lt_error("unknown mode %d", mode);
    if (!lt_dtype_is_float(x->dtype))
        return lt_error("expected a Float or Double input, got %s", lt_dtype_name(x->dtype));
    if (x->ndim != 3 || lt_numel(x) == 0)
        return lt_error("expected a non-empty 3-D input (time x batch x features), got [%s]",
                        lt_shape_str(a, sizeof a, x->ndim, x->size));
    if (!w[1] || w[1]->ndim != 2) return lt_error("weight_hh must be a matrix");
    int64_t H = w[1]->size[1], G = gates[mode] * H, I = x->size[2], B = x->size[1];
    if (H < 1)
        return lt_error("weight_hh must have at least one column (the hidden size), got [%s]",
                        lt_shape_str(a, sizeof a, w[1]->ndim, w[1]->size));
    if (G > INT32_MAX || I > INT32_MAX || x->size[0] * B > INT32_MAX)
        return lt_error("sizes too large for BLAS");
    for (int i = 0; i < 4; i++) {
        const lt_tensor *t = w[i];
        if (!t) {
            if (i < 2) return lt_error("%s is missing", names[i]);
            continue;
        }
        if (t->dtype != x->dtype)
            return lt_error("%s is %s, the input is %s", names[i], lt_dtype_name(t->dtype),
                            lt_dtype_name(x->dtype));
        int64_t want[2] = {G, i == 0 ? I : H};
        int ok = i < 2 ? t->ndim == 2 && t->size[0] == G && t->size[1] == want[1]
                       : t->ndim == 1 && t->size[0] == G;
        if (!ok)
            return lt_error("%s must be [%s], got [%s]", names[i],
                            lt_shape_str(a, sizeof a, i < 2 ? 2 : 1, want),
                            lt_shape_str(b, sizeof b, t->ndim, t->size));
    }
    if ((w[2] == NULL) != (w[3] == NULL)) return lt_error("give both biases or neither");
    const lt_tensor *st[2] = {h0, c0};
    for (int i = 0; i < 2; i++) {
        if (!st[i]) continue;
        int64_t want[2] = {B, H};
        if (st[i]->dtype != x->dtype)
            return lt_error("%s is %s, the input is %s", i ? "c0" : "h0",
                            lt_dtype_name(st[i]->dtype), lt_dtype_name(x->dtype));
        if (st[i]->ndim != 2 || st[i]->size[0] != B || st[i]->size[1] != H)
            return lt_error("%s must be [%s] (batch x hidden), got [%s]", i ? "c0" : "h0",
                            lt_shape_str(a, sizeof a, 2, want),
                            lt_shape_str(b, sizeof b, st[i]->ndim, st[i]->size));
    }
    if (c0 && mode != LT_RNN_LSTM) return lt_error("c0 is only for the LSTM");
    if (lengths) {
        if (lengths->dtype != LT_INT64 || lengths->ndim != 1 || lengths->size[0] != B)
            return lt_error("lengths must be a LongTensor of %lld lengths (one per sequence), "
                            "got %s [%s]", (long long)B, lt_dtype_name(lengths->dtype),
                            lt_shape_str(a, sizeof a, lengths->ndim, lengths->size));
    }
    /* (the lengths are read on the host, wherever they live) */
    int dev;
    lt_tensor *all[7] = {x, h0, c0, w[0], w[1], w[2], w[3]};
    if (lt_common_device(&dev, 7, (const lt_tensor *const *)all)) {
        char m[256];
        snprintf(m, sizeof m, "%s", lt_errmsg());
        return lt_error("%s (the input, the states and the weights must all be on the host or "
                        "all on one CUDA device)", m);
    }
    *H_out = H, *dev_out = dev;
    return LT_OK;
}

static int rnn_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin);

#ifdef LT_HAVE_CUDA
/* the context's buffers as gpu/rnn.cu reads them */
static lt_gpu_rnn_layer gpu_layer(const rnn_ctx *k)
{
    lt_gpu_rnn_layer g = {k->dt, k->mode, k->reverse, k->T, k->B, k->I, k->H, k->G,
                          k->lend ? (const int64_t *)lt_data(k->lend) : NULL,
                          lt_data(k->x), lt_data(k->wih), lt_data(k->whh), lt_data(k->bih),
                          lt_data(k->bhh), lt_data(k->h0), k->c0 ? lt_data(k->c0) : NULL,
                          lt_data(k->gates), k->ghn ? lt_data(k->ghn) : NULL, lt_data(k->s),
                          k->c ? lt_data(k->c) : NULL};
    return g;
}
#endif

/* The layer's forward on the device (gpu/rnn.cu): gh the B x G scratch, res the output,
 * h_n and c_n (LSTM; else NULL) */
static int device_forward(const rnn_ctx *k, void *gh, lt_tensor *const *res)
{
#ifdef LT_HAVE_CUDA
    lt_gpu_rnn_layer g = gpu_layer(k);
    return lt_gpu_rnn_forward(&g, gh, lt_data(res[0]), lt_data(res[1]),
                              res[2] ? lt_data(res[2]) : NULL, k->ws ? &k->ws->gfwd : NULL);
#else
    (void)k, (void)gh, (void)res;
    return lt_error("luatorch was built without CUDA");
#endif
}

/* The context's buffers that the time loops read, from its workspace k->ws: the weights'
 * and the initial state's copies, the lengths (when given), the gates, the states and the
 * forward's scratch *gh. */
static int ws_forward_buffers(rnn_ctx *k, lt_tensor *h0, lt_tensor *c0, lt_tensor *const *w,
                              lt_tensor **gh)
{
    rnn_ws *s = k->ws;
    int dev = k->dev, lstm = k->mode == LT_RNN_LSTM;
    lt_dtype dt = k->dt;
    int64_t T = k->T, B = k->B, H = k->H, G = k->G;
    if (k->len) {
        k->lend = ws_buf(&s->lend, dev, LT_INT64, 1, B, 0, 0);
#ifdef LT_HAVE_CUDA
        if (!k->lend || lt_gpu_copy_h2d(lt_data(k->lend), k->len, B * (int64_t)sizeof *k->len))
            return LT_ERR;
#endif
    }
    k->whh = ws_fill(&s->whh, dev, dt, w[1], 2, G, H, 0);
    k->bih = ws_fill(&s->bih, dev, dt, k->has_bias ? w[2] : NULL, 1, G, 0, 0);
    k->bhh = ws_fill(&s->bhh, dev, dt, k->has_bias ? w[3] : NULL, 1, G, 0, 0);
    k->h0 = ws_fill(&s->h0, dev, dt, h0, 2, B, H, 0);
    if (lstm) k->c0 = ws_fill(&s->c0, dev, dt, c0, 2, B, H, 0);
    k->gates = ws_buf(&s->gates, dev, dt, 3, T, B, G);
    k->s = ws_buf(&s->s, dev, dt, 3, T, B, H);
    if (lstm) k->c = ws_buf(&s->c, dev, dt, 3, T, B, H);
    if (k->mode == LT_RNN_GRU) k->ghn = ws_buf(&s->ghn, dev, dt, 3, T, B, H);
    *gh = ws_buf(&s->gh, dev, dt, 2, B, G, 0);
    if (!k->whh || !k->bih || !k->bhh || !k->h0 || (lstm && (!k->c0 || !k->c)) || !k->gates ||
        !k->s || (k->mode == LT_RNN_GRU && !k->ghn) || !*gh)
        return LT_ERR;
    return LT_OK;
}

/* On the host: a handle on t itself when it is contiguous (with chk, noted for the backward's
 * version check), else a copy of it in the workspace buffer *p; NULL on failure. */
static lt_tensor *host_operand(rnn_ctx *k, lt_tensor **p, const lt_tensor *t, int chk)
{
    const rnn_ws *s = k->ws;
    /* (x may be this workspace's last output, which the sweep rewrites) */
    int mine = (s->s && t->storage == s->s->storage) || (s->c && t->storage == s->c->storage);
    if (!mine && lt_is_contiguous(t)) {
        lt_tensor *v = lt_tensor_view_of(t);
        if (v && chk) {
            k->chk[k->nchk] = v;
            k->chk_version[k->nchk++] = t->storage->version;
        }
        return v;
    }
    return ws_fill(p, LT_CPU, t->dtype, t, t->ndim, t->size[0], t->ndim > 1 ? t->size[1] : 0,
                   t->ndim > 2 ? t->size[2] : 0);
}

/* On the host, every buffer of the call from a workspace (the module's, m, or one for this
 * call alone): x and the weights read where they are when contiguous, the initial state
 * copied (zeros when not given), the gates, the states and the forward's scratch *gh. */
static int host_forward_buffers(rnn_ctx *k, lt_rnn_ws *m, lt_tensor *x, lt_tensor *h0,
                                lt_tensor *c0, lt_tensor *const *w, lt_tensor **gh)
{
    int lstm = k->mode == LT_RNN_LSTM, gru = k->mode == LT_RNN_GRU;
    lt_dtype dt = k->dt;
    int64_t T = k->T, B = k->B, H = k->H, G = k->G;
    rnn_ws *s = k->ws = ws_get(m, LT_CPU, dt, k->mode, k->reverse, T, B, k->I, H);
    if (!s) return LT_ERR;
    s->user = k, s->owner = NULL;
    k->x = host_operand(k, &s->xt, x, 1);
    k->wih = host_operand(k, &s->wih, w[0], 1);
    k->whh = host_operand(k, &s->whh, w[1], 1);
    /* (the biases are read by the forward only) */
    k->bih = k->has_bias ? host_operand(k, &s->bih, w[2], 0)
                         : ws_fill(&s->bih, LT_CPU, dt, NULL, 1, G, 0, 0);
    k->bhh = k->has_bias ? host_operand(k, &s->bhh, w[3], 0)
                         : ws_fill(&s->bhh, LT_CPU, dt, NULL, 1, G, 0, 0);
    k->h0 = ws_fill(&s->h0, LT_CPU, dt, h0, 2, B, H, 0);
    if (lstm) k->c0 = ws_fill(&s->c0, LT_CPU, dt, c0, 2, B, H, 0);
    k->gates = ws_buf(&s->gates, LT_CPU, dt, 3, T, B, G);
    k->s = ws_buf(&s->s, LT_CPU, dt, 3, T, B, H);
    if (lstm) k->c = ws_buf(&s->c, LT_CPU, dt, 3, T, B, H);
    if (gru) k->ghn = ws_buf(&s->ghn, LT_CPU, dt, 3, T, B, H);
    *gh = ws_buf(&s->gh, LT_CPU, dt, 2, B, G, 0);
    if (!k->x || !k->wih || !k->whh || !k->bih || !k->bhh || !k->h0 ||
        (lstm && (!k->c0 || !k->c)) || !k->gates || !k->s || (gru && !k->ghn) || !*gh)
        return LT_ERR;
    return LT_OK;
}

/* a handle on rows [r0, r0 + n) of the (rows x H) buffer t, as an n x H matrix (n = 0: the
 * whole buffer in its shape) */
static lt_tensor *rows_view(const lt_tensor *t, int64_t r0, int64_t n, int64_t H)
{
    if (n == 0) {
        int64_t st[3] = {t->size[1] * t->size[2], t->size[2], 1};
        return lt_tensor_from_storage(t->storage, t->offset, 3, t->size, st);
    }
    int64_t size[2] = {n, H}, st[2] = {H, 1};
    return lt_tensor_from_storage(t->storage, t->offset + r0 * H, 2, size, st);
}

int lt_rnn_layer(int mode, int reverse, lt_tensor *x, lt_tensor *h0, lt_tensor *c0,
                 lt_tensor *const *w, lt_tensor *lengths, lt_rnn_ws *ws, lt_tensor **y,
                 lt_tensor **hn, lt_tensor **cn)
{
    *y = *hn = NULL;
    if (cn) *cn = NULL;
    int64_t H = 0;
    int dev = LT_CPU;
    if (check_layer(mode, x, h0, c0, w, lengths, &H, &dev)) return LT_ERR;
    static const int gates[] = {1, 1, 3, 4};
    rnn_ctx *k = calloc(1, sizeof *k);
    if (!k) return lt_error("out of memory");
    k->mode = mode, k->reverse = reverse != 0, k->has_bias = w[2] != NULL, k->dt = x->dtype;
    k->dev = dev;
    k->T = x->size[0], k->B = x->size[1], k->I = x->size[2], k->H = H, k->G = gates[mode] * H;
    int64_t T = k->T, B = k->B, G = k->G;
    int lstm = mode == LT_RNN_LSTM, gru = mode == LT_RNN_GRU;
    int st = LT_OK;
    lt_tensor *gh = NULL, *lc = NULL;
    if (lengths) {
        k->len = malloc((size_t)B * sizeof *k->len);
        lc = dense_copy(LT_CPU, lengths);
        if (!k->len || !lc) st = lt_error("out of memory");
        for (int64_t b = 0; b < B && st == LT_OK; b++) {
            k->len[b] = ((const int64_t *)lt_data(lc))[b];
            if (k->len[b] < 1 || k->len[b] > T)
                st = lt_error("length %lld of sequence %lld is outside [1, %lld]",
                              (long long)k->len[b], (long long)b + 1, (long long)T);
        }
        lt_tensor_release(lc);
    }
    if (st == LT_OK && dev == LT_CPU) st = host_forward_buffers(k, ws, x, h0, c0, w, &gh);
#ifdef LT_HAVE_CUDA
    /* on a device, the loops' buffers from the module's workspace (not inside a whole-step
     * capture: the blocks allocated there belong to that graph) */
    if (st == LT_OK && ws && dev != LT_CPU && !lt_gpu_capturing()) {
        k->ws = ws_get(ws, dev, k->dt, mode, k->reverse, T, B, k->I, H);
        if (!k->ws) st = LT_ERR;
        else k->ws->user = k, k->ws->owner = NULL;
    }
#endif
    if (st == LT_OK && k->ws && dev != LT_CPU) {
        st = ws_forward_buffers(k, h0, c0, w, &gh);
        if (st == LT_OK) k->x = dense_copy(dev, x), k->wih = dense_copy(dev, w[0]);
        if (st == LT_OK && (!k->x || !k->wih)) st = LT_ERR;
    }
    if (st == LT_OK && !k->ws && k->len && dev != LT_CPU) {  /* the kernels read them there */
#ifdef LT_HAVE_CUDA
        k->lend = buffer(dev, LT_INT64, 1, B, 0, 0);
        if (!k->lend || lt_gpu_copy_h2d(lt_data(k->lend), k->len, B * (int64_t)sizeof *k->len))
            st = LT_ERR;
#endif
    }
    if (st == LT_OK && !k->ws && dev != LT_CPU) {
        k->x = dense_copy(dev, x), k->wih = dense_copy(dev, w[0]), k->whh = dense_copy(dev, w[1]);
        k->bih = k->has_bias ? dense_copy(dev, w[2]) : zeros(dev, k->dt, 1, G, 0, 0);
        k->bhh = k->has_bias ? dense_copy(dev, w[3]) : zeros(dev, k->dt, 1, G, 0, 0);
        if (!k->bih || !k->bhh) st = LT_ERR;
        k->h0 = h0 ? dense_copy(dev, h0) : zeros(dev, k->dt, 2, B, H, 0);
        if (lstm) k->c0 = c0 ? dense_copy(dev, c0) : zeros(dev, k->dt, 2, B, H, 0);
        k->gates = buffer(dev, k->dt, 3, T, B, G);
        k->s = buffer(dev, k->dt, 3, T, B, H);
        if (lstm) k->c = buffer(dev, k->dt, 3, T, B, H);
        if (gru) k->ghn = buffer(dev, k->dt, 3, T, B, H);
        gh = buffer(dev, k->dt, 2, B, G, 0);
        if (!k->x || !k->wih || !k->whh || !k->h0 || (lstm && (!k->c0 || !k->c)) || !k->gates ||
            !k->s || (gru && !k->ghn) || !gh)
            st = LT_ERR;
    }
    /* results: the outputs (zero past each length), the final state; recorded on the host
     * without lengths, views of the workspace's states (as core/lstm.c's: the next forward
     * after the backward rewrites them, Torch7's module.output), else fresh tensors */
    lt_tensor *ins[7] = {x, h0, c0, w[0], w[1], w[2], w[3]};
    int grad = lt_needs_grad(7, (const lt_tensor *const *)ins);
    int views = grad && dev == LT_CPU && !k->len;
    lt_tensor *res[3] = {NULL, NULL, NULL};
    if (st == LT_OK && !views) {
        res[0] = buffer(dev, k->dt, 3, T, B, H);
        res[1] = buffer(dev, k->dt, 2, B, H, 0);
        if (lstm) res[2] = buffer(dev, k->dt, 2, B, H, 0);
        if (!res[0] || !res[1] || (lstm && !res[2])) st = LT_ERR;
    }
    if (st == LT_OK && dev != LT_CPU) {
        st = device_forward(k, lt_data(gh), res);
    } else if (st == LT_OK) {
        /* every step's input projection, one GEMM; both biases are added in the fused pass
         * (the GRU's r multiplies its n part of b_hh) */
        lt_gemm_trace_note(k->dt, 0, 1, T * B, G, k->I, 0);
        gemm(k->dt, 0, 1, T * B, G, k->I, lt_data(k->x), k->I, lt_data(k->wih), k->I, 0,
             lt_data(k->gates), G);
        forward_sweep(k, lt_data(gh));
    }
    lt_tensor_release(gh);
    gh = NULL;
    int64_t last = k->reverse ? 0 : T - 1;
    size_t es = lt_dtype_size(k->dt), bh = (size_t)(B * H) * es;
    if (st == LT_OK && views) {
        res[0] = rows_view(k->s, 0, 0, H);
        res[1] = rows_view(k->s, last * B, B, H);
        if (lstm) res[2] = rows_view(k->c, last * B, B, H);
        if (!res[0] || !res[1] || (lstm && !res[2])) st = LT_ERR;
        /* written: other nodes that saved a view of the last call's results see it; this
         * node's backward sees any in-place write to them */
        for (int i = 0; st == LT_OK && i < (lstm ? 2 : 1); i++) {
            lt_tensor *b = i ? k->c : k->s;
            lt_storage_bump(b);
            k->chk[k->nchk] = b;
            k->chk_version[k->nchk++] = b->storage->version;
        }
    } else if (st == LT_OK && dev == LT_CPU) {
        memcpy(lt_data(res[0]), lt_data(k->s), (size_t)T * bh);
        memcpy(lt_data(res[1]), row(k->s, last, B * H), bh);
        if (lstm) memcpy(lt_data(res[2]), row(k->c, last, B * H), bh);
        for (int64_t t = 0; t < T && k->len; t++)
            for (int64_t b = 0; b < B; b++)
                if (t >= k->len[b]) memset(row(res[0], t * B + b, H), 0, (size_t)H * es);
    }
    int nouts = lstm ? 3 : 2;
    if (st == LT_OK && grad) {
        static const char *names[] = {"RNNBackward", "RNNBackward", "GRUBackward", "LSTMBackward"};
        lt_node *n = lt_node_new(names[mode], rnn_backward, 7, ins, nouts);
        if (!n) {
            st = LT_ERR;
        } else {
            n->ctx = k;
            n->release_ctx = release_ctx;
            if (k->ws) k->ws->owner = n;
            k = NULL;
            for (int i = 0; i < nouts; i++) lt_node_set_output(n, res[i], i);
            lt_node_release(n);
        }
    }
    ctx_free(k);
    if (st) {
        for (int i = 0; i < 3; i++) lt_tensor_release(res[i]);
        return LT_ERR;
    }
    *y = res[0], *hn = res[1];
    if (cn) *cn = res[2];
    else lt_tensor_release(res[2]);
    return LT_OK;
}

/* ---- backward ------------------------------------------------------------------------------ */


/* The bias-gradient sums: per group of LT_SWEEP_GROUP batch rows, W = G + H (GRU: dgh's n
 * part too) doubles, the group's sums over the steps, then (float32) W floats, one step's
 * partial sums of the group's rows, added into its doubles after each step. The groups are
 * added in order at the end: the same bits at any thread count (as core/lstm.c's, whose
 * lt_sweep_gemm runs the per-step products here too). */
static size_t acc_bytes(const rnn_ctx *k)
{
    size_t w = (size_t)(k->G + k->H), ng = (size_t)lt_sweep_groups(k->B);
    return ng * w * (sizeof(double) + (k->dt == LT_FLOAT32 ? sizeof(float) : 0));
}

/* The sweep back over time: each chunk its batch rows; dh_{t-1} = (direct part) + dgh_t W_hh.
 * dy: the output gradient, element (t, b, j) at dy + (t * dy_t + b * dy_b + j) elements (both
 * strides 0: a row of zeros). The kernel runs group by group, each summing its rows of the
 * gate gradients into its part of acc (acc_bytes). */
static void bwd_step(void *pj, int64_t ci, int64_t step)
{
    const sweep_job *j = pj;
    const rnn_ctx *k = j->k;
    const char *dy = j->dy;
    int64_t dy_t = j->dy_t, dy_b = j->dy_b;
    char *dh = j->dh, *dc = j->dc, *dgi = j->dgi, *dgh = j->dgh, *dgn = j->dgn;
    int64_t T = k->T, B = k->B, H = k->H, G = k->G, es = (int64_t)lt_dtype_size(k->dt), b0, b1;
    int64_t W = G + H, ng = lt_sweep_groups(B);
    int gru = k->mode == LT_RNN_GRU;
    lt_sweep_rows(B, j->chunks, ci, &b0, &b1);
    if (b1 <= b0) return;
    int64_t p = T - 1 - step;
    int64_t t = k->reverse ? T - 1 - p : p, tp = step_before(k, t);
    const char *hp = tp < 0 ? lt_data(k->h0) : row(k->s, tp, B * H);
    const char *cp = !k->c ? NULL : tp < 0 ? lt_data(k->c0) : row(k->c, tp, B * H);
    const char *dyt = dy + t * dy_t * es;
    int64_t ldy = dy_b;
    /* (GRU: dgh is one step's scratch, B x G; else dgi itself) */
    char *dgit = dgi + t * B * G * es, *dght = gru ? dgh : dgit;
    char *dgnt = gru ? dgn + t * B * H * es : NULL;
    /* the rows of the step processed next (tp) that are not in cache yet, besides its gates
     * and output gradient: RNN its states; GRU its W_hn h + b_hn and the states before it;
     * LSTM the cells before it */
    int64_t tpp = tp < 0 ? -1 : step_before(k, tp);
    const char *ph = NULL, *ph2 = NULL;
    if (tp >= 0 && !gru && !k->c) ph = row(k->s, tp, B * H);
    if (tp >= 0 && gru) ph = row(k->ghn, tp, B * H), ph2 = tpp < 0 ? NULL : row(k->s, tpp, B * H);
    if (tpp >= 0 && k->c) ph = row(k->c, tpp, B * H);
    for (int64_t r = b0; r < b1; r += LT_SWEEP_GROUP) {  /* group by group: the bias sums */
        int64_t r1 = r + LT_SWEEP_GROUP < b1 ? r + LT_SWEEP_GROUP : b1, q = r / LT_SWEEP_GROUP;
        double *sum = (double *)j->acc + q * W;
        if (k->dt == LT_FLOAT32) {
            float *part = (float *)((double *)j->acc + ng * W) + q * W;
            memset(part, 0, (size_t)W * sizeof *part);
            bwd_f32(k, t, r, r1, (const float *)row(k->gates, t, B * G),
                    k->ghn ? (const float *)row(k->ghn, t, B * H) : NULL, (const float *)hp,
                    (const float *)cp, (const float *)row(k->s, t, B * H),
                    k->c ? (const float *)row(k->c, t, B * H) : NULL, (const float *)dyt, ldy,
                    (float *)dh, (float *)dc, (float *)dgit, (float *)dght, (float *)dgnt, part,
                    gru ? part + G : NULL,
                    tp < 0 ? NULL : (const float *)row(k->gates, tp, B * G),
                    (const float *)ph, (const float *)ph2,
                    tp < 0 ? NULL : (const float *)(dy + tp * dy_t * es),
                    tp < 0 ? NULL : (float *)(dgi + tp * B * G * es),
                    tp < 0 || !gru ? NULL : (float *)(dgn + tp * B * H * es));
            for (int64_t c = 0; c < (gru ? W : G); c++) sum[c] += part[c];
        } else {
            bwd_f64(k, t, r, r1, (const double *)row(k->gates, t, B * G),
                    k->ghn ? (const double *)row(k->ghn, t, B * H) : NULL,
                    (const double *)hp, (const double *)cp,
                    (const double *)row(k->s, t, B * H),
                    k->c ? (const double *)row(k->c, t, B * H) : NULL, (const double *)dyt, ldy,
                    (double *)dh, (double *)dc, (double *)dgit, (double *)dght, (double *)dgnt,
                    sum, gru ? sum + G : NULL, NULL, NULL, NULL, NULL, NULL, NULL);
        }
    }
    lt_sweep_gemm(k->dt, B, b0, b1, 0, H, G, dght + b0 * G * es, G, lt_data(k->whh), H, 1,
                  dh + b0 * H * es, H);
}

/* The backward sweep (see bwd_step): dgi (T x B x G) receives the gate gradients; GRU: dgh
 * (B x G) is the step's gh gradient for the recurrence, dgn (T x B x H) its n part; acc:
 * acc_bytes of scratch; sums (2 x G doubles) receives the biases' gradients: the column sums
 * of dgi, then of dgh. */
static void backward_sweep(const rnn_ctx *k, const char *dy, int64_t dy_t, int64_t dy_b, char *dh,
                           char *dc, char *dgi, char *dgh, char *dgn, void *acc, double *sums)
{
    int64_t T = k->T, B = k->B, H = k->H, G = k->G, W = G + H;
    int nt = lt_sweep_chunks(T, B, H, (int)(G / H));
    int64_t ng = lt_sweep_groups(B);
    memset(acc, 0, (size_t)(ng * W) * sizeof(double));
    for (int64_t p = 0; p < T; p++) lt_gemm_trace_note(k->dt, 0, 0, B, H, G, 1);
    sweep_job j = {k, NULL, nt, dy, dy_t, dy_b, dh, dc, dgi, dgh, dgn, acc};
    whh_pin(k);
    lt_parallel_steps(nt, T, bwd_step, &j);
    whh_unpin(k);
    const double *parts = acc;
    for (int64_t i = 0; i < ng; i++)
        for (int64_t c = 0; c < G; c++) {
            const double *part = parts + i * W;
            sums[c] += part[c];
            /* dgh's: its n part (GRU) summed apart, the rest is dgi's */
            sums[G + c] += k->mode == LT_RNN_GRU && c >= 2 * H ? part[G + c - 2 * H] : part[c];
        }
}

/* out (G) = beta * out + sums (beta 0: out is fresh, never read) */
static void store_sums(lt_dtype dt, const double *sums, int64_t G, double beta, char *out)
{
    for (int64_t j = 0; j < G; j++)
        if (dt == LT_FLOAT32) ((float *)out)[j] = beta != 0 ? ((float *)out)[j] + (float)sums[j] : (float)sums[j];
        else ((double *)out)[j] = beta != 0 ? ((double *)out)[j] + sums[j] : sums[j];
}

/* dW_hh's rows [r, r + m) at d (m x H) = beta * d + dg^T h_prev over every step: dg the
 * gradients of those gate rows (T x B x m, row stride ldg); h_prev of the first step
 * processed is h0, the others are the state rows next to it */
static void dwhh_rows(const rnn_ctx *k, const char *dg, int64_t ldg, int64_t m, double beta,
                      char *d)
{
    int64_t T = k->T, B = k->B, H = k->H, es = (int64_t)lt_dtype_size(k->dt);
    int64_t first = k->reverse ? T - 1 : 0;
    const char *gsteps = k->reverse ? dg : dg + B * ldg * es;
    const char *hsteps = k->reverse ? row(k->s, 1, B * H) : lt_data(k->s);
    if (T > 1) lt_gemm_trace_note(k->dt, 1, 0, m, H, (T - 1) * B, beta);
    lt_gemm_trace_note(k->dt, 1, 0, m, H, B, 1);
    gemm(k->dt, 1, 0, m, H, (T - 1) * B, gsteps, ldg, hsteps, H, beta, d, H);
    gemm(k->dt, 1, 0, m, H, B, dg + first * B * ldg * es, ldg, lt_data(k->h0), H, 1, d, H);
}

/* Where the gradient of parameter input i goes: straight into the leaf's .grad (*beta = 1)
 * when autograd would only add it there and it is a dense tensor on the layer's device, else
 * a fresh tensor of the input's shape for autograd (gin[i], *beta = 0). NULL with st set: out
 * of memory. */
static char *param_target(lt_node *n, int dev, int i, lt_tensor **gin, double *beta, int *st)
{
    lt_tensor *g = lt_node_leaf_grad(n, i);
    if (g && lt_device(g) == dev && lt_is_contiguous(g)) {
        *beta = 1;
        lt_storage_bump(g);
        return lt_data(g);
    }
    *beta = 0;
    gin[i] = lt_tensor_uninit_on(dev, n->in_dtype[i], n->in_ndim[i], n->in_size[i]);
    if (!gin[i]) *st = LT_ERR;
    return gin[i] ? lt_data(gin[i]) : NULL;
}

/* The backward on the device (gpu/rnn.cu): the sweep from dh, dc (B x H, dh_n and dc_n in,
 * dh0 and dc0 out) and the output gradient d (dy_t, dy_b its step and row strides), the gate
 * gradients into dgi, dgh, then the gradients of the input and of the parameters (targets
 * as param_target says). */
static int device_backward(lt_node *n, const rnn_ctx *k, const char *d, int64_t dy_t,
                           int64_t dy_b, lt_tensor *dh, lt_tensor *dc, char *dgi, char *dgh,
                           int use_ws, lt_tensor **gin)
{
#ifdef LT_HAVE_CUDA
    int st = LT_OK;
    lt_gpu_rnn_bwd b;
    memset(&b, 0, sizeof b);
    b.dy = d, b.dy_t = dy_t, b.dy_b = dy_b, b.dh = lt_data(dh), b.dc = dc ? lt_data(dc) : NULL;
    b.dgi = dgi, b.dgh = dgh;
    if (n->next[0]) {
        gin[0] = lt_tensor_uninit_on(k->dev, n->in_dtype[0], n->in_ndim[0], n->in_size[0]);
        if (!gin[0]) return LT_ERR;
        b.dx = lt_data(gin[0]);
    }
    if (n->next[3]) b.dwih = param_target(n, k->dev, 3, gin, &b.beta_ih, &st);
    if (st == LT_OK && n->next[4]) b.dwhh = param_target(n, k->dev, 4, gin, &b.beta_hh, &st);
    if (st == LT_OK && n->next[5]) b.dbih = param_target(n, k->dev, 5, gin, &b.beta_bih, &st);
    if (st == LT_OK && n->next[6]) b.dbhh = param_target(n, k->dev, 6, gin, &b.beta_bhh, &st);
    lt_tensor *part = NULL;
    if (st == LT_OK && (b.dbih || b.dbhh)) {
        part = buffer(k->dev, LT_FLOAT64, 1, lt_gpu_lstm_bias_blocks(k->T * k->B) * k->G, 0, 0);
        if (!part) st = LT_ERR;
        else b.partials = lt_data(part);
    }
    lt_gpu_rnn_layer g = gpu_layer(k);
    if (st == LT_OK) st = lt_gpu_rnn_backward(&g, &b, use_ws ? &k->ws->gbwd : NULL);
    lt_tensor_release(part);
    return st;
#else
    (void)n, (void)k, (void)d, (void)dy_t, (void)dy_b, (void)dh, (void)dc, (void)dgi, (void)dgh;
    (void)use_ws, (void)gin;
    return lt_error("luatorch was built without CUDA");
#endif
}

#ifdef LT_HAVE_CUDA
/* The backward on the device through the context's workspace: the output gradient and dh_n,
 * dc_n copied into its buffers (the sweep's CUDA graph reads fixed buffers), the gradients of
 * the initial state handed to autograd as copies (the next call rewrites the workspace). */
static int ws_backward(lt_node *n, const rnn_ctx *k, lt_tensor *const *gout, lt_tensor **gin)
{
    rnn_ws *s = k->ws;
    int dev = k->dev, lstm = k->mode == LT_RNN_LSTM, gru = k->mode == LT_RNN_GRU;
    lt_dtype dt = k->dt;
    int64_t T = k->T, B = k->B, H = k->H, G = k->G;
    lt_tensor *dy = gout[0] ? ws_fill(&s->dy, dev, dt, gout[0], 3, T, B, H)
                            : ws_fill(&s->zrow, dev, dt, NULL, 1, H, 0, 0);
    lt_tensor *dh = ws_fill(&s->dh, dev, dt, gout[1], 2, B, H, 0);
    lt_tensor *dc = lstm ? ws_fill(&s->dc, dev, dt, gout[2], 2, B, H, 0) : NULL;
    lt_tensor *dgi = ws_buf(&s->dgi, dev, dt, 3, T, B, G);
    lt_tensor *dgh = gru ? ws_buf(&s->dgh, dev, dt, 3, T, B, G) : NULL;
    int st = LT_OK;
    if (!dy || !dh || (lstm && !dc) || !dgi || (gru && !dgh)) st = LT_ERR;
    if (st == LT_OK) {
        char *gi = lt_data(dgi), *gh = dgh ? lt_data(dgh) : gi;
        st = gout[0] ? device_backward(n, k, lt_data(dy), B * H, H, dh, dc, gi, gh, 1, gin)
                     : device_backward(n, k, lt_data(dy), 0, 0, dh, dc, gi, gh, 1, gin);
    }
    if (st == LT_OK && n->next[1] && !(gin[1] = dense_copy(dev, dh))) st = LT_ERR;
    if (st == LT_OK && n->next[2] && !(gin[2] = dense_copy(dev, dc))) st = LT_ERR;
    lt_tensor *tmp[] = {dy, dh, dc, dgi, dgh};
    for (size_t i = 0; i < sizeof tmp / sizeof *tmp; i++) lt_tensor_release(tmp[i]);
    return st;
}
#endif

static int rnn_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    rnn_ctx *k = n->ctx;
    int64_t T = k->T, B = k->B, H = k->H, G = k->G, I = k->I;
    size_t es = lt_dtype_size(k->dt);
    int lstm = k->mode == LT_RNN_LSTM;
    for (int i = 0; i < (lstm ? 3 : 2); i++)
        if (gout[i] && lt_device(gout[i]) != k->dev)
            return lt_error("%s: a gradient arrived on another device than the layer's outputs",
                            n->name);
#ifdef LT_HAVE_CUDA
    if (k->dev != LT_CPU && k->ws && !lt_gpu_capturing()) return ws_backward(n, k, gout, gin);
#endif
    for (int i = 0; i < k->nchk; i++)
        if (k->chk[i]->storage->version != k->chk_version[i])
            return lt_error("%s: a tensor saved for the backward pass was modified by an "
                            "in-place operation", n->name);
    /* the output gradient is read in place when its rows are dense (a batch-first transpose
     * or a slice's gradient need no copy) */
    const lt_tensor *g0 = gout[0];
    int in_place = g0 && g0->ndim == 3 && g0->stride[2] == 1 && g0->dtype == k->dt;
    int dev = k->dev;
    lt_dtype dt = k->dt;
    /* on the host the scratch comes from the workspace (dh, dc too unless handed to
     * autograd as the initial state's gradients) */
    rnn_ws *s = dev == LT_CPU ? k->ws : NULL;
    lt_tensor *dy = !g0 || in_place ? NULL
                    : s ? ws_fill(&s->dy, dev, dt, g0, 3, T, B, H) : dense_copy(dev, g0);
    lt_tensor *dh = s && !n->next[1] ? ws_fill(&s->dh, dev, dt, gout[1], 2, B, H, 0)
                    : gout[1] ? dense_copy(dev, gout[1]) : zeros(dev, dt, 2, B, H, 0);
    lt_tensor *dc = !lstm ? NULL
                    : s && !n->next[2] ? ws_fill(&s->dc, dev, dt, gout[2], 2, B, H, 0)
                    : gout[2] ? dense_copy(dev, gout[2]) : zeros(dev, dt, 2, B, H, 0);
    lt_tensor *dgi = s ? ws_buf(&s->dgi, dev, dt, 3, T, B, G) : buffer(dev, dt, 3, T, B, G);
    lt_tensor *dgh = k->mode != LT_RNN_GRU ? NULL
                     : s ? ws_buf(&s->dgh, dev, dt, 2, B, G, 0) : buffer(dev, dt, 3, T, B, G);
    lt_tensor *dgn = k->mode == LT_RNN_GRU && s ? ws_buf(&s->dgn, dev, dt, 3, T, B, H) : NULL;
    lt_tensor *zrow = gout[0] ? NULL
                      : s ? ws_fill(&s->zrow, dev, dt, NULL, 1, H, 0, 0) : zeros(dev, dt, 1, H, 0, 0);
    int st = LT_OK;
    if ((g0 ? !in_place && !dy : !zrow) || !dh || (lstm && !dc) || !dgi ||
        (k->mode == LT_RNN_GRU && (!dgh || (s && !dgn))))
        st = LT_ERR;
    char *gi = st ? NULL : lt_data(dgi), *gh = dgh ? lt_data(dgh) : gi;
    if (st == LT_OK && dev != LT_CPU) {
        const lt_tensor *d = in_place ? g0 : dy;
        st = d ? device_backward(n, k, lt_data(d), d->stride[0], d->stride[1], dh, dc, gi, gh, 0,
                                 gin)
               : device_backward(n, k, lt_data(zrow), 0, 0, dh, dc, gi, gh, 0, gin);
        if (st == LT_OK && n->next[1]) gin[1] = dh, dh = NULL;
        if (st == LT_OK && n->next[2]) gin[2] = dc, dc = NULL;
        lt_tensor *tmp[] = {dy, dh, dc, dgi, dgh, zrow};
        for (size_t i = 0; i < sizeof tmp / sizeof *tmp; i++) lt_tensor_release(tmp[i]);
        return st;
    }
    char *gn = dgn ? lt_data(dgn) : NULL;
    double *sums = NULL;  /* the biases' gradients, 2 x G */
    size_t accsz = acc_bytes(k);
    if (st == LT_OK && s->accsz < accsz) {
        free(s->acc);
        s->acc = malloc(accsz);
        s->accsz = s->acc ? accsz : 0;
    }
    if (st == LT_OK && (!s->acc || !(sums = calloc(2 * (size_t)G, sizeof *sums))))
        st = lt_error("out of memory");
    if (st == LT_OK) {
        const lt_tensor *d = in_place ? g0 : dy;
        if (d)
            backward_sweep(k, lt_data(d), d->stride[0], d->stride[1], lt_data(dh),
                           dc ? lt_data(dc) : NULL, gi, gh, gn, s->acc, sums);
        else
            backward_sweep(k, lt_data(zrow), 0, 0, lt_data(dh), dc ? lt_data(dc) : NULL, gi, gh,
                           gn, s->acc, sums);
    }
    /* gradients of the input and the initial state */
    if (st == LT_OK && n->next[0]) {
        gin[0] = lt_tensor_uninit_on(dev, n->in_dtype[0], n->in_ndim[0], n->in_size[0]);
        if (!gin[0]) st = LT_ERR;
        else {
            lt_gemm_trace_note(k->dt, 0, 0, T * B, I, G, 0);
            gemm(k->dt, 0, 0, T * B, I, G, gi, G, lt_data(k->wih), I, 0, lt_data(gin[0]), I);
        }
    }
    if (st == LT_OK && n->next[1]) gin[1] = dh, dh = NULL;
    if (st == LT_OK && n->next[2]) gin[2] = dc, dc = NULL;
    /* the parameters' over all steps: dW_ih = dgi^T x, dW_hh = dgh^T h_prev (GRU: its r, z
     * rows from dgi, its n rows from dgn), the biases' column sums; into their .grad directly
     * where autograd would only add them there */
    double beta;
    char *d;
    if (st == LT_OK && n->next[3] && (d = param_target(n, dev, 3, gin, &beta, &st))) {
        lt_gemm_trace_note(k->dt, 1, 0, G, I, T * B, beta);
        gemm(k->dt, 1, 0, G, I, T * B, gi, G, lt_data(k->x), I, beta, d, I);
    }
    if (st == LT_OK && n->next[4] && (d = param_target(n, dev, 4, gin, &beta, &st))) {
        if (gn) {
            dwhh_rows(k, gi, G, 2 * H, beta, d);
            dwhh_rows(k, gn, H, H, beta, d + 2 * H * H * (int64_t)es);
        } else {
            dwhh_rows(k, gi, G, G, beta, d);
        }
    }
    for (int i = 5; i <= 6; i++)
        if (st == LT_OK && n->next[i] && (d = param_target(n, dev, i, gin, &beta, &st)))
            store_sums(k->dt, sums + (i - 5) * G, G, beta, d);
    free(sums);
    lt_tensor *tmp[] = {dy, dh, dc, dgi, dgh, dgn, zrow};
    for (size_t i = 0; i < sizeof tmp / sizeof *tmp; i++) lt_tensor_release(tmp[i]);
    return st;
}
