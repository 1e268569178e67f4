/*
 * rnn.cu — the device compute of core/rnn.c's recurrent layer: the Elman RNN (tanh, relu),
 * the GRU and the LSTM over a whole sequence in one direction, optionally reversed in time
 * and with per-sequence lengths (bidirectional and variable-length nn.LSTM, nn.GRU, nn.RNN
 * and the cells on CUDA tensors). core/rnn.c keeps the checks, the buffers and the one
 * autograd node, and calls these with device pointers when the operands live on a device;
 * the formulas and their order are core/rnn.c's (see its header), row-major as there.
 *
 * Forward: ONE GEMM (cuBLAS) projects the inputs of every step; per step one GEMM gives
 * h_{t-1} W_hh^T into a B x G scratch and one kernel (a thread per hidden unit of a batch
 * row) adds both biases, applies the cell and writes the activated gates and the state.
 * Backward: per step (in the reverse of the forward's order) one kernel gives the gate
 * gradients and one GEMM adds dgh_t W_hh to dh; then dW_ih, dW_hh and the input gradient are
 * one GEMM each over all steps and the biases' gradients two-pass column sums (gpu/lstm.cu's
 * lt_gpu_gemm_rm and lt_gpu_colsums; the LSTM cell's math is gpu/rnn_cell.h's).
 *
 * Lengths: step t of row b is valid when t < len[b]; an invalid step carries the state
 * (forward) and gives zero gate gradients, leaving dh and dc as they were (backward), so the
 * final state is the one after each row's last step and padding changes no gradient.
 *
 * CUDA graphs: each time loop (forward and backward sweep, either direction) runs through
 * gpu/loop_graph.cu (shared with gpu/lstm.cu), keyed by every pointer, size and flag it reads;
 * core/rnn.c keeps those in a workspace of the module (torch.rnnLayer's workspace argument)
 * that holds still at a fixed shape, and owns the slots.
 * Not done here (gpu/lstm.cu has it for the plain nn.LSTM): the fused one-kernel-per-step
 * path for small H; each step is a GEMM and a kernel.
 * Numerics: float32 uses CUDA's expf / tanhf where the CPU has its own polynomials.
 */
#include <string.h>

#include "loop_graph.h"
#include "rnn_cell.h"

/* ---- kernels --------------------------------------------------------------------------------- */

/* One step forward, a thread per (row b, unit j): g (B x G) holds x_t W_ih^T and receives the
 * activated gates; gh (B x G) = h_{t-1} W_hh^T; hp, cp (B x H) the previous state; h, c the
 * new one; gn (GRU, B x H) receives W_hn h_{t-1} + b_hn; len (B) or NULL. */
template <typename T>
__global__ void rnn_fwd_step(int mode, int64_t t, int64_t B, int64_t H, const int64_t *len,
                             T *g, const T *gh, const T *bih, const T *bhh, const T *hp,
                             const T *cp, T *h, T *c, T *gn)
{
    int64_t G = mode == LT_RNN_GRU ? 3 * H : mode == LT_RNN_LSTM ? 4 * H : H;
    for (int64_t i = LT_GPU_TID(); i < B * H; i += LT_GPU_NTHREADS()) {
        int64_t b = i / H, j = i - b * H;
        if (len && t >= len[b]) {  /* past the sequence: the state is carried */
            h[i] = hp[i];
            if (c) c[i] = cp[i];
            continue;
        }
        T *gr = g + b * G;
        const T *ghr = gh + b * G;
        if (mode == LT_RNN_TANH || mode == LT_RNN_RELU) {
            T v = gr[j] + bih[j] + ghr[j] + bhh[j];
            h[i] = mode == LT_RNN_TANH ? act<T>::th(v) : v <= 0 ? (T)0 : v;
        } else if (mode == LT_RNN_GRU) {
            T r = act<T>::sig(gr[j] + bih[j] + ghr[j] + bhh[j]);
            T z = act<T>::sig(gr[H + j] + bih[H + j] + ghr[H + j] + bhh[H + j]);
            T hn = ghr[2 * H + j] + bhh[2 * H + j];
            T n = act<T>::th(gr[2 * H + j] + bih[2 * H + j] + r * hn);
            gn[i] = hn;
            gr[j] = r, gr[H + j] = z, gr[2 * H + j] = n;
            h[i] = (1 - z) * n + z * hp[i];
        } else {
            T tc;
            cell_forward(H, j, gr, gr[j] + bih[j] + ghr[j] + bhh[j],
                         gr[H + j] + bih[H + j] + ghr[H + j] + bhh[H + j],
                         gr[2 * H + j] + bih[2 * H + j] + ghr[2 * H + j] + bhh[2 * H + j],
                         gr[3 * H + j] + bih[3 * H + j] + ghr[3 * H + j] + bhh[3 * H + j], cp[i],
                         &c[i], &tc, &h[i]);
        }
    }
}

/* One step backward, a thread per (b, j): g the activated gates, gn (GRU) W_hn h + b_hn, hp,
 * cp the previous state, h, c this step's; dy the output gradient of the step (row stride
 * ldy, 0: zeros); dh, dc (B x H) carry the state gradients (dh out: its direct part, the GEMM
 * after adds dgh W_hh); dgi, dgh (B x G) receive the gate gradients (the same buffer but for
 * the GRU). */
template <typename T>
__global__ void rnn_bwd_step(int mode, int64_t t, int64_t B, int64_t H, const int64_t *len,
                             const T *g, const T *gn, const T *hp, const T *cp, const T *h,
                             const T *c, const T *dy, int64_t ldy, T *dh, T *dc, T *dgi, T *dgh)
{
    int64_t G = mode == LT_RNN_GRU ? 3 * H : mode == LT_RNN_LSTM ? 4 * H : H;
    for (int64_t i = LT_GPU_TID(); i < B * H; i += LT_GPU_NTHREADS()) {
        int64_t b = i / H, j = i - b * H;
        T *dgir = dgi + b * G, *dghr = dgh + b * G;
        if (len && t >= len[b]) {  /* past the sequence: no gate gradient, dh and dc kept */
            for (int64_t q = j; q < G; q += H) dgir[q] = 0, dghr[q] = 0;
            continue;
        }
        const T *gr = g + b * G;
        T d = dh[i] + dy[b * ldy + j];
        if (mode == LT_RNN_TANH) {
            dgir[j] = d * (1 - h[i] * h[i]);
            dh[i] = 0;
        } else if (mode == LT_RNN_RELU) {
            dgir[j] = h[i] <= 0 ? (T)0 : d;
            dh[i] = 0;
        } else if (mode == LT_RNN_GRU) {
            T r = gr[j], z = gr[H + j], n = gr[2 * H + j];
            T dan = d * (1 - z) * (1 - n * n);
            T daz = d * (hp[i] - n) * z * (1 - z);
            T dar = dan * gn[i] * r * (1 - r);
            dgir[j] = dar, dgir[H + j] = daz, dgir[2 * H + j] = dan;
            dghr[j] = dar, dghr[H + j] = daz, dghr[2 * H + j] = dan * r;
            dh[i] = d * z;
        } else {
            cell_backward(H, j, gr, act<T>::th(c[i]), d, cp[i], &dc[i], dgir);
            dh[i] = 0;
        }
    }
}

/* y (T x B x H) = s, zero at the steps past each row's length */
template <typename T>
__global__ void rnn_mask_out(int64_t T_, int64_t B, int64_t H, const int64_t *len, const T *s,
                             T *y)
{
    for (int64_t i = LT_GPU_TID(); i < T_ * B * H; i += LT_GPU_NTHREADS()) {
        int64_t tb = i / H, t = tb / B, b = tb - t * B;
        y[i] = t < len[b] ? s[i] : (T)0;
    }
}

/* ---- the layer ------------------------------------------------------------------------------- */

static const char *row(const void *p, int64_t index, int64_t width, int64_t es)
{
    return (const char *)p + index * width * es;
}

/* the step processed before t (-1: the initial state) */
static int64_t step_before(const lt_gpu_rnn_layer *k, int64_t t)
{
    return k->reverse ? (t + 1 < k->T ? t + 1 : -1) : t - 1;
}

template <typename T>
static int launch_fwd(const lt_gpu_rnn_layer *k, int64_t t, const void *hp, const void *cp,
                      void *gh)
{
    int64_t B = k->B, H = k->H, G = k->G, es = sizeof(T);
    LT_LAUNCH(rnn_fwd_step<T>, lt_gpu_blocks(B * H), LT_GPU_THREADS, k->mode, t, B, H, k->len,
              (T *)row(k->gates, t, B * G, es), (const T *)gh, (const T *)k->bih,
              (const T *)k->bhh, (const T *)hp, (const T *)cp, (T *)row(k->s, t, B * H, es),
              k->c ? (T *)row(k->c, t, B * H, es) : (T *)NULL,
              k->ghn ? (T *)row(k->ghn, t, B * H, es) : (T *)NULL);
    LT_CHECK_LAUNCH("rnn_fwd_step");
    return LT_OK;
}

/* the layer kind of the loop counters */
static int loop_kind(int mode)
{
    return mode == LT_RNN_GRU ? LT_GPU_LOOP_GRU : mode == LT_RNN_LSTM ? LT_GPU_LOOP_LSTM_LAYER
                                                                      : LT_GPU_LOOP_RNN;
}

/* What both time loops read of the layer: the first part of their graph keys (all 8-byte
 * fields: no padding). */
struct layer_key {
    int64_t dt, mode, reverse, T, B, H, G, tf32;
    const void *len, *whh, *h0, *c0, *gates, *ghn, *s, *c;
};

static void layer_key_fill(layer_key *l, const lt_gpu_rnn_layer *k)
{
    l->dt = k->dt, l->mode = k->mode, l->reverse = k->reverse, l->T = k->T, l->B = k->B;
    l->H = k->H, l->G = k->G, l->tf32 = lt_gpu_allow_tf32();
    l->len = k->len, l->whh = k->whh, l->h0 = k->h0, l->c0 = k->c0, l->gates = k->gates;
    l->ghn = k->ghn, l->s = k->s, l->c = k->c;
}

/* What the forward time loop reads: the graph key. */
struct fwd_key {
    layer_key l;
    const void *bih, *bhh, *gh;
};

struct fwd_arg {
    const lt_gpu_rnn_layer *k;
    void *gh;
};

static int fwd_loop(const void *arg, cublasHandle_t hd, const lt_cublas_fns *f)
{
    const fwd_arg *fa = (const fwd_arg *)arg;
    const lt_gpu_rnn_layer *k = fa->k;
    int64_t T = k->T, B = k->B, H = k->H, G = k->G, es = (int64_t)lt_dtype_size(k->dt);
    for (int64_t p = 0; p < T; p++) {
        int64_t t = k->reverse ? T - 1 - p : p, tp = step_before(k, t);
        const void *hp = tp < 0 ? k->h0 : row(k->s, tp, B * H, es);
        const void *cp = !k->c ? NULL : tp < 0 ? k->c0 : row(k->c, tp, B * H, es);
        if (lt_gpu_gemm_rm(hd, f, k->dt, 0, 1, B, G, H, hp, H, k->whh, H, 0, fa->gh, G))
            return LT_ERR;
        if (k->dt == LT_FLOAT32 ? launch_fwd<float>(k, t, hp, cp, fa->gh)
                                : launch_fwd<double>(k, t, hp, cp, fa->gh))
            return LT_ERR;
    }
    return LT_OK;
}

extern "C" int lt_gpu_rnn_forward(const lt_gpu_rnn_layer *k, void *gh, void *y, void *hn,
                                  void *cn, lt_gpu_loop_graph **graph)
{
    int64_t T = k->T, B = k->B, H = k->H, G = k->G, es = (int64_t)lt_dtype_size(k->dt);
    cublasHandle_t hd;
    if (lt_gpu_cublas(&hd)) return LT_ERR;
    const lt_cublas_fns *f = lt_gpu_blas();
    if (!f) return LT_ERR;
    /* every step's input projection: one GEMM (the biases are added in the step kernel) */
    if (lt_gpu_gemm_rm(hd, f, k->dt, 0, 1, T * B, G, k->in, k->x, k->in, k->wih, k->in, 0,
                       k->gates, G))
        return LT_ERR;
    fwd_key key;
    memset(&key, 0, sizeof key);
    layer_key_fill(&key.l, k);
    key.bih = k->bih, key.bhh = k->bhh, key.gh = gh;
    fwd_arg fa = {k, gh};
    if (lt_gpu_loop_run(graph, loop_kind(k->mode), &key, sizeof key, T, fwd_loop, &fa))
        return LT_ERR;
    /* the outputs (zero past each length) and the final state (the last step processed) */
    int64_t last = k->reverse ? 0 : T - 1;
    if (k->len) {
        if (k->dt == LT_FLOAT32)
            LT_LAUNCH(rnn_mask_out<float>, lt_gpu_blocks(T * B * H), LT_GPU_THREADS, T, B, H,
                      k->len, (const float *)k->s, (float *)y);
        else
            LT_LAUNCH(rnn_mask_out<double>, lt_gpu_blocks(T * B * H), LT_GPU_THREADS, T, B, H,
                      k->len, (const double *)k->s, (double *)y);
        LT_CHECK_LAUNCH("rnn_mask_out");
    } else if (lt_gpu_copy_d2d(y, k->s, T * B * H * es)) {
        return LT_ERR;
    }
    if (lt_gpu_copy_d2d(hn, row(k->s, last, B * H, es), B * H * es)) return LT_ERR;
    if (cn && lt_gpu_copy_d2d(cn, row(k->c, last, B * H, es), B * H * es)) return LT_ERR;
    return LT_OK;
}

template <typename T>
static int launch_bwd(const lt_gpu_rnn_layer *k, const lt_gpu_rnn_bwd *d, int64_t t,
                      const void *hp, const void *cp)
{
    int64_t B = k->B, H = k->H, G = k->G, es = sizeof(T);
    LT_LAUNCH(rnn_bwd_step<T>, lt_gpu_blocks(B * H), LT_GPU_THREADS, k->mode, t, B, H, k->len,
              (const T *)row(k->gates, t, B * G, es),
              k->ghn ? (const T *)row(k->ghn, t, B * H, es) : (const T *)NULL, (const T *)hp,
              (const T *)cp, (const T *)row(k->s, t, B * H, es),
              k->c ? (const T *)row(k->c, t, B * H, es) : (const T *)NULL,
              (const T *)((const char *)d->dy + t * d->dy_t * es), d->dy_b, (T *)d->dh,
              (T *)d->dc, (T *)row(d->dgi, t, B * G, es), (T *)row(d->dgh, t, B * G, es));
    LT_CHECK_LAUNCH("rnn_bwd_step");
    return LT_OK;
}

/* What the backward sweep reads: the graph key (all 8-byte fields). */
struct bwd_key {
    layer_key l;
    const void *dy;
    int64_t dy_t, dy_b;
    const void *dh, *dc, *dgi, *dgh;
};

struct bwd_arg {
    const lt_gpu_rnn_layer *k;
    const lt_gpu_rnn_bwd *d;
};

/* the sweep back over time: dh_{t-1} = (direct part) + dgh_t W_hh */
static int bwd_loop(const void *arg, cublasHandle_t hd, const lt_cublas_fns *f)
{
    const bwd_arg *ba = (const bwd_arg *)arg;
    const lt_gpu_rnn_layer *k = ba->k;
    const lt_gpu_rnn_bwd *d = ba->d;
    int64_t T = k->T, B = k->B, H = k->H, G = k->G, es = (int64_t)lt_dtype_size(k->dt);
    for (int64_t p = T - 1; p >= 0; p--) {
        int64_t t = k->reverse ? T - 1 - p : p, tp = step_before(k, t);
        const void *hp = tp < 0 ? k->h0 : row(k->s, tp, B * H, es);
        const void *cp = !k->c ? NULL : tp < 0 ? k->c0 : row(k->c, tp, B * H, es);
        if (k->dt == LT_FLOAT32 ? launch_bwd<float>(k, d, t, hp, cp)
                                : launch_bwd<double>(k, d, t, hp, cp))
            return LT_ERR;
        if (lt_gpu_gemm_rm(hd, f, k->dt, 0, 0, B, H, G, row(d->dgh, t, B * G, es), G, k->whh, H, 1,
                           d->dh, H))
            return LT_ERR;
    }
    return LT_OK;
}

extern "C" int lt_gpu_rnn_backward(const lt_gpu_rnn_layer *k, const lt_gpu_rnn_bwd *d,
                                   lt_gpu_loop_graph **graph)
{
    int64_t T = k->T, B = k->B, H = k->H, G = k->G, I = k->in;
    int64_t es = (int64_t)lt_dtype_size(k->dt);
    bwd_key key;
    memset(&key, 0, sizeof key);
    layer_key_fill(&key.l, k);
    key.dy = d->dy, key.dy_t = d->dy_t, key.dy_b = d->dy_b, key.dh = d->dh, key.dc = d->dc;
    key.dgi = d->dgi, key.dgh = d->dgh;
    bwd_arg ba = {k, d};
    if (lt_gpu_loop_run(graph, loop_kind(k->mode), &key, sizeof key, T, bwd_loop, &ba))
        return LT_ERR;
    cublasHandle_t hd;
    if (lt_gpu_cublas(&hd)) return LT_ERR;
    const lt_cublas_fns *f = lt_gpu_blas();
    if (!f) return LT_ERR;
    const char *gi = (const char *)d->dgi, *gh = (const char *)d->dgh;
    /* the input gradient and dW_ih over all steps */
    if (d->dx && lt_gpu_gemm_rm(hd, f, k->dt, 0, 0, T * B, I, G, gi, G, k->wih, I, 0, d->dx, I))
        return LT_ERR;
    if (d->dwih &&
        lt_gpu_gemm_rm(hd, f, k->dt, 1, 0, G, I, T * B, gi, G, k->x, I, d->beta_ih, d->dwih, I))
        return LT_ERR;
    /* dW_hh = dgh^T h_prev: h_prev of the first step processed is h0, the others are the state
     * rows next to their step */
    if (d->dwhh) {
        int64_t first = k->reverse ? T - 1 : 0;
        const char *gsteps = k->reverse ? gh : gh + B * G * es;
        const char *hsteps = k->reverse ? row(k->s, 1, B * H, es) : (const char *)k->s;
        if (T > 1) {
            if (lt_gpu_gemm_rm(hd, f, k->dt, 1, 0, G, H, (T - 1) * B, gsteps, G, hsteps, H,
                               d->beta_hh, d->dwhh, H))
                return LT_ERR;
        } else if (d->beta_hh == 0 && lt_gpu_memset0(d->dwhh, G * H * es)) {
            return LT_ERR;
        }
        if (lt_gpu_gemm_rm(hd, f, k->dt, 1, 0, G, H, B, gh + first * B * G * es, G, k->h0, H, 1,
                           d->dwhh, H))
            return LT_ERR;
    }
    /* the biases' gradients: column sums of dgi and dgh (one buffer but for the GRU) */
    double *part = (double *)d->partials;
    int b1 = d->beta_bih != 0, b2 = d->beta_bhh != 0;
    if (d->dgh == d->dgi) {
        if ((d->dbih || d->dbhh) &&
            lt_gpu_colsums(k->dt, T * B, G, gi, part, d->dbih, b1, d->dbhh, b2))
            return LT_ERR;
    } else {
        if (d->dbih && lt_gpu_colsums(k->dt, T * B, G, gi, part, d->dbih, b1, NULL, 0))
            return LT_ERR;
        if (d->dbhh && lt_gpu_colsums(k->dt, T * B, G, gh, part, NULL, 0, d->dbhh, b2))
            return LT_ERR;
    }
    return LT_OK;
}
