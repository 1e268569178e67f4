/*
 * lstm.cu — the device compute of the fused LSTM (core/lstm.c). core/lstm.c keeps everything
 * else (the checks, the workspaces keyed by shape, the one autograd node with its hand-written
 * backward, dropout masks, the results as views of workspace buffers) and calls these with
 * device pointers when the operands live on a device. Row-major throughout, as there.
 *
 * Forward, per layer: ONE GEMM (cuBLAS) projects the inputs of every step into the gate
 * buffer; then per step one GEMM adds h_{t-1} W_hh^T and one fused kernel (a thread per
 * hidden unit of a batch row) adds the bias, applies the nonlinearities and writes the
 * activated gates, c_t, h_t and tanh(c_t).
 * Backward, per layer: per step (from the last) one fused kernel (gate gradients from dh and
 * the carried dc) and one GEMM for dh_{t-1} = dgates_t W_hh; after the sweep, dW_ih, dW_hh and
 * the input gradient are each one GEMM over all steps, and the bias gradient is a two-pass
 * column sum of dgates (a thread per block of rows and column, in double, then a thread per
 * column adding the blocks in order): deterministic, no atomics.
 *
 * The fused path (small H; torch._lstmKernel / LUATORCH_LSTM_KERNEL = fused | gemm | auto,
 * auto: fused for H <= LT_GPU_LSTM_FUSED_MAX_H): ONE kernel per step instead of a GEMM and a
 * kernel, for sizes where a small cuBLAS GEMM costs its launch latency. Forward: a thread per
 * (b, j) adds sum_k h_{t-1}[b][k] W_hh[q*H+j][k] for its four gates itself, reading W_hh^T
 * (H x 4H, transposed once per call into a workspace buffer unless W_hh is stored transposed)
 * so that a warp's weight reads are adjacent, then does what fwd_step does. Backward: the
 * kernel of step t computes dh_t's recurrent term sum_r dgates_{t+1}[b][r] W_hh[r][j] (4H
 * products; W_hh in its natural layout, adjacent across j) from the previous launch's dgates,
 * then does what bwd_step does; dh0 = dgates_0 W_hh is one GEMM after the sweep. The
 * post-sweep GEMMs and bias sums are the same for both paths. The recurrent products are
 * summed in another order than cuBLAS's (a few ulp).
 *
 * CUDA graphs: the time loop of a layer (2T launches, T fused) is replayed from a CUDA graph
 * through gpu/loop_graph.cu (shared with gpu/rnn.cu), keyed by every pointer, size and flag
 * the loop reads, the TF32 setting and the kernel path; core/lstm.c keeps those in workspace
 * buffers so that they hold still at a fixed shape, and owns the slots (one per layer and
 * direction of sweep).
 *
 * Numerics: the CPU's formulas in the same order; float32 uses CUDA's expf / tanhf where the
 * CPU has its own polynomials (both within a few ulp).
 */
#include <stdlib.h>
#include <string.h>

#include "gpu_internal.h"
#include "loop_graph.h"

/* ---- GEMM (row-major) through cuBLAS (column-major) ------------------------------------------ */

/* C (m x n, ldc) = op(A) op(B) + beta C, row-major: column-major C^T = op(B)^T op(A)^T, the
 * row-major buffers read as their transposes. */
int lt_gpu_gemm_rm(cublasHandle_t h, const lt_cublas_fns *f, lt_dtype dt, int ta, int tb,
                   int64_t m, int64_t n, int64_t k, const void *a, int64_t lda, const void *b,
                   int64_t ldb, double beta, void *c, int64_t ldc)
{
    if (m == 0 || n == 0) return LT_OK;
    cublasOperation_t oa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, ob = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    if (dt == LT_FLOAT32) {
        const float al = 1.0f, be = (float)beta;
        LT_CUBLAS("cublasSgemm", f->sgemm(h, ob, oa, (int)n, (int)m, (int)k, &al, (const float *)b,
                                          (int)ldb, (const float *)a, (int)lda, &be, (float *)c,
                                          (int)ldc));
    } else {
        const double al = 1.0, be = beta;
        LT_CUBLAS("cublasDgemm", f->dgemm(h, ob, oa, (int)n, (int)m, (int)k, &al,
                                          (const double *)b, (int)ldb, (const double *)a,
                                          (int)lda, &be, (double *)c, (int)ldc));
    }
    return LT_OK;
}

/* ---- kernels --------------------------------------------------------------------------------- */

#include "rnn_cell.h"

/* One step forward, a thread per (row b, unit j): g (B x 4H) holds x W_ih^T + h W_hh^T and
 * receives the activated gates; cp is c_{t-1} (row stride ldcp, 0 for the zero state). */
template <typename T>
__global__ void fwd_step(int64_t B, int64_t H, T *g, const T *bias, const T *cp, int64_t ldcp,
                         T *c, T *h, T *tc)
{
    for (int64_t i = LT_GPU_TID(); i < B * H; i += LT_GPU_NTHREADS()) {
        int64_t b = i / H, j = i - b * H;
        T *gr = g + b * 4 * H;
        cell_forward(H, j, gr, gr[j] + bias[j], gr[H + j] + bias[H + j],
                     gr[2 * H + j] + bias[2 * H + j], gr[3 * H + j] + bias[3 * H + j],
                     cp[b * ldcp + j], &c[i], &tc[i], &h[i]);
    }
}

/* One step backward: a the activated gates, tc = tanh(c_t), cp = c_{t-1}; dh = d1 + d2 (row
 * strides, 0 for rows of zeros); dc carries dc_t in and dc_{t-1} out; dg receives the
 * pre-activation gate gradients. */
template <typename T>
__global__ void bwd_step(int64_t B, int64_t H, const T *a, const T *tc, const T *cp, int64_t ldcp,
                         const T *d1, int64_t ld1, const T *d2, int64_t ld2, T *dc, T *dg)
{
    for (int64_t i = LT_GPU_TID(); i < B * H; i += LT_GPU_NTHREADS()) {
        int64_t b = i / H, j = i - b * H;
        cell_backward(H, j, a + b * 4 * H, tc[i], d1[b * ld1 + j] + d2[b * ld2 + j],
                      cp[b * ldcp + j], &dc[i], dg + b * 4 * H);
    }
}

/* ---- the fused path (small H): ONE kernel per step, the recurrent products in the kernel --- */

/* The fused kernels' threads: a block of FUSED_THREADS = FUSED_ROWS x 32 takes 32 adjacent
 * units j of FUSED_ROWS batch rows b, a warp per row: a warp's weight reads are adjacent, and
 * the warps of a block read the same weights (L1 hits but for the first). fused_span(B, H)
 * threads in all; fused_unit maps thread i to its (b, j), 0 for a padding thread. */
#define FUSED_ROWS 4
#define FUSED_THREADS (FUSED_ROWS * 32)

static LT_HD int64_t fused_span(int64_t B, int64_t H)
{
    return (H + 31) / 32 * ((B + FUSED_ROWS - 1) / FUSED_ROWS) * FUSED_THREADS;
}

static __device__ __forceinline__ int fused_unit(int64_t i, int64_t B, int64_t H, int64_t *b,
                                                 int64_t *j)
{
    int64_t nj = (H + 31) / 32, tile = i / FUSED_THREADS, w = i - tile * FUSED_THREADS;
    int64_t tb = tile / nj, tj = tile - tb * nj;
    *b = tb * FUSED_ROWS + w / 32;
    *j = tj * 32 + (w & 31);
    return *b < B && *j < H;
}

/* unrolling of the recurrent products' loops: more weight loads in flight per thread */
#ifdef __CUDA_ARCH__
#define FUSED_UNROLL _Pragma("unroll 8")
#else
#define FUSED_UNROLL
#endif

/* One step forward of the fused path, a thread per (row b, unit j): the four gate
 * pre-activations are g's (x W_ih^T, from the input GEMM) + sum_k h_{t-1}[b][k] W_hh[q*H+j][k]
 * (q = 0..3; hp NULL: h_{t-1} = 0), read from wt = W_hh^T (H x 4H, row stride ldwt: the reads
 * of a warp are adjacent); then exactly fwd_step. */
template <typename T>
__global__ void fwd_fused(int64_t B, int64_t H, T *g, const T *bias, const T *__restrict__ hp,
                          const T *__restrict__ wt, int64_t ldwt, const T *cp, int64_t ldcp,
                          T *c, T *h, T *tc)
{
    int64_t n = fused_span(B, H);
    for (int64_t u = LT_GPU_TID(); u < n; u += LT_GPU_NTHREADS()) {
        int64_t b, j;
        if (!fused_unit(u, B, H, &b, &j)) continue;
        int64_t i = b * H + j;
        T *gr = g + b * 4 * H;
        T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        if (hp) {
            const T *hr = hp + b * H;
            const T *w = wt + j;
            FUSED_UNROLL
            for (int64_t k = 0; k < H; k++, w += ldwt) {
                T hk = hr[k];
                s0 += hk * w[0];
                s1 += hk * w[H];
                s2 += hk * w[2 * H];
                s3 += hk * w[3 * H];
            }
        }
        cell_forward(H, j, gr, (s0 + gr[j]) + bias[j], (s1 + gr[H + j]) + bias[H + j],
                     (s2 + gr[2 * H + j]) + bias[2 * H + j], (s3 + gr[3 * H + j]) + bias[3 * H + j],
                     cp[b * ldcp + j], &c[i], &tc[i], &h[i]);
    }
}

/* wt (H x 4H, ld 4H) = W^T for W (4H x H) stored as w with row stride ldw (or, trans, W^T
 * stored with row stride ldw): a thread per element of wt. */
template <typename T>
__global__ void transpose_w(int64_t H, const T *w, int64_t ldw, int trans, T *wt)
{
    int64_t G = 4 * H;
    for (int64_t i = LT_GPU_TID(); i < H * G; i += LT_GPU_NTHREADS()) {
        int64_t k = i / G, r = i - k * G;
        wt[i] = trans ? w[k * ldw + r] : w[r * ldw + k];
    }
}

/* One step backward of the fused path: dh_t = (dgn ? sum_r dgn[b][r] W_hh[r][j] : d1[b][j])
 * + d2[b][j], with dgn = dgates_{t+1} (the previous launch's; NULL at the last step) and
 * W_hh as stored (w, row stride ldw, or W^T with trans: the natural layout's reads are
 * adjacent across a warp), summed per gate; then exactly bwd_step. */
template <typename T>
__global__ void bwd_fused(int64_t B, int64_t H, const T *a, const T *tc, const T *cp,
                          int64_t ldcp, const T *__restrict__ dgn, const T *__restrict__ w,
                          int64_t ldw, int trans,
                          const T *d1, int64_t ld1, const T *d2, int64_t ld2, T *dc, T *dg)
{
    int64_t G = 4 * H, n = fused_span(B, H);
    for (int64_t u = LT_GPU_TID(); u < n; u += LT_GPU_NTHREADS()) {
        int64_t b, j;
        if (!fused_unit(u, B, H, &b, &j)) continue;
        int64_t i = b * H + j;
        const T *ar = a + b * G;
        T *dgr = dg + b * G;
        T rec;
        if (dgn) {
            /* a sum per gate (four independent chains), added at the end */
            const T *dn = dgn + b * G;
            T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            if (!trans) {
                const T *wc = w + j;
                int64_t hs = H * ldw;
                FUSED_UNROLL
                for (int64_t r = 0; r < H; r++, wc += ldw) {
                    s0 += dn[r] * wc[0];
                    s1 += dn[H + r] * wc[hs];
                    s2 += dn[2 * H + r] * wc[2 * hs];
                    s3 += dn[3 * H + r] * wc[3 * hs];
                }
            } else {
                const T *wr = w + j * ldw;
                FUSED_UNROLL
                for (int64_t r = 0; r < H; r++) {
                    s0 += dn[r] * wr[r];
                    s1 += dn[H + r] * wr[H + r];
                    s2 += dn[2 * H + r] * wr[2 * H + r];
                    s3 += dn[3 * H + r] * wr[3 * H + r];
                }
            }
            rec = (s0 + s1) + (s2 + s3);
        } else {
            rec = d1[b * ld1 + j];
        }
        cell_backward(H, j, ar, tc[i], rec + d2[b * ld2 + j], cp[b * ldcp + j], &dc[i], dgr);
    }
}

#define COLSUM_ROWS 256

/* Pass 1 of the column sums of dg (R x G): a thread per (block of COLSUM_ROWS rows, column). */
template <typename T>
__global__ void colsum_part(int64_t R, int64_t G, const T *dg, double *part, int64_t nblk)
{
    for (int64_t i = LT_GPU_TID(); i < nblk * G; i += LT_GPU_NTHREADS()) {
        int64_t blk = i / G, col = i - blk * G;
        int64_t r0 = blk * COLSUM_ROWS, r1 = r0 + COLSUM_ROWS < R ? r0 + COLSUM_ROWS : R;
        double s = 0;
        for (int64_t r = r0; r < r1; r++) s += (double)dg[r * G + col];
        part[i] = s;
    }
}

/* Pass 2: a thread per column adds the blocks in order; out = s (beta 0) or out + s. */
template <typename T>
__global__ void colsum_final(int64_t G, int64_t nblk, const double *part, T *o1, int beta1, T *o2,
                             int beta2)
{
    for (int64_t j = LT_GPU_TID(); j < G; j += LT_GPU_NTHREADS()) {
        double s = 0;
        for (int64_t k = 0; k < nblk; k++) s += part[k * G + j];
        if (o1) o1[j] = (T)(beta1 ? (double)o1[j] + s : s);
        if (o2) o2[j] = (T)(beta2 ? (double)o2[j] + s : s);
    }
}

/* o1, o2 (G, either NULL) = the column sums of d (R x G) (beta 0), or += them (beta 1), in
 * two deterministic passes through part (lt_gpu_lstm_bias_blocks(R) x G doubles) */
int lt_gpu_colsums(lt_dtype dt, int64_t R, int64_t G, const void *d, double *part, void *o1,
                   int beta1, void *o2, int beta2)
{
    int64_t nblk = lt_gpu_lstm_bias_blocks(R);
    if (dt == LT_FLOAT32) {
        LT_LAUNCH(colsum_part<float>, lt_gpu_blocks(nblk * G), LT_GPU_THREADS, R, G,
                  (const float *)d, part, nblk);
        LT_CHECK_LAUNCH("colsum_part");
        LT_LAUNCH(colsum_final<float>, lt_gpu_blocks(G), LT_GPU_THREADS, G, nblk,
                  (const double *)part, (float *)o1, beta1, (float *)o2, beta2);
    } else {
        LT_LAUNCH(colsum_part<double>, lt_gpu_blocks(nblk * G), LT_GPU_THREADS, R, G,
                  (const double *)d, part, nblk);
        LT_CHECK_LAUNCH("colsum_part");
        LT_LAUNCH(colsum_final<double>, lt_gpu_blocks(G), LT_GPU_THREADS, G, nblk,
                  (const double *)part, (double *)o1, beta1, (double *)o2, beta2);
    }
    LT_CHECK_LAUNCH("colsum_final");
    return LT_OK;
}

template <typename T>
__global__ void add_vec(int64_t n, T *out, const T *a, int64_t sa, const T *b, int64_t sb)
{
    for (int64_t i = LT_GPU_TID(); i < n; i += LT_GPU_NTHREADS()) out[i] = a[i * sa] + b[i * sb];
}

template <typename T> __global__ void mul_vec(int64_t n, T *out, const T *a, const T *b)
{
    for (int64_t i = LT_GPU_TID(); i < n; i += LT_GPU_NTHREADS()) out[i] = a[i] * b[i];
}

/* ---- launch helpers -------------------------------------------------------------------------- */

template <typename T>
static int launch_fwd(int64_t B, int64_t H, void *g, const void *bias, const void *cp,
                      int64_t ldcp, void *c, void *h, void *tc)
{
    LT_LAUNCH(fwd_step<T>, lt_gpu_blocks(B * H), LT_GPU_THREADS, B, H, (T *)g, (const T *)bias,
              (const T *)cp, ldcp, (T *)c, (T *)h, (T *)tc);
    LT_CHECK_LAUNCH("lstm fwd_step");
    return LT_OK;
}

template <typename T>
static int launch_bwd(int64_t B, int64_t H, const void *a, const void *tc, const void *cp,
                      int64_t ldcp, const void *d1, int64_t ld1, const void *d2, int64_t ld2,
                      void *dc, void *dg)
{
    LT_LAUNCH(bwd_step<T>, lt_gpu_blocks(B * H), LT_GPU_THREADS, B, H, (const T *)a,
              (const T *)tc, (const T *)cp, ldcp, (const T *)d1, ld1, (const T *)d2, ld2,
              (T *)dc, (T *)dg);
    LT_CHECK_LAUNCH("lstm bwd_step");
    return LT_OK;
}

/* The fused kernels' grid: a block per tile of fused_span (100 blocks of 128 for the seed). */
static unsigned fused_blocks(int64_t B, int64_t H)
{
    int64_t b = fused_span(B, H) / FUSED_THREADS;
    return (unsigned)(b < 1 ? 1 : b > 65535 ? 65535 : b);
}

template <typename T>
static int launch_fwd_fused(int64_t B, int64_t H, void *g, const void *bias, const void *hp,
                            const void *wt, int64_t ldwt, const void *cp, int64_t ldcp, void *c,
                            void *h, void *tc)
{
    LT_LAUNCH(fwd_fused<T>, fused_blocks(B, H), FUSED_THREADS, B, H, (T *)g, (const T *)bias,
              (const T *)hp, (const T *)wt, ldwt, (const T *)cp, ldcp, (T *)c, (T *)h, (T *)tc);
    LT_CHECK_LAUNCH("lstm fwd_fused");
    return LT_OK;
}

template <typename T>
static int launch_bwd_fused(int64_t B, int64_t H, const void *a, const void *tc, const void *cp,
                            int64_t ldcp, const void *dgn, const lt_gpu_lstm_mat *w,
                            const void *d1, int64_t ld1, const void *d2, int64_t ld2, void *dc,
                            void *dg)
{
    LT_LAUNCH(bwd_fused<T>, fused_blocks(B, H), FUSED_THREADS, B, H, (const T *)a,
              (const T *)tc, (const T *)cp, ldcp, (const T *)dgn, (const T *)w->p, w->ld,
              w->trans, (const T *)d1, ld1, (const T *)d2, ld2, (T *)dc, (T *)dg);
    LT_CHECK_LAUNCH("lstm bwd_fused");
    return LT_OK;
}

/* ---- which path: fused (one kernel per step) or GEMM + kernel ------------------------------ */

static int kernel_mode = -1;  /* -1: not read yet from LUATORCH_LSTM_KERNEL */

static int mode_of(const char *s)
{
    if (!s) return -1;
    if (!strcmp(s, "auto")) return LT_GPU_LSTM_AUTO;
    if (!strcmp(s, "fused")) return LT_GPU_LSTM_FUSED;
    if (!strcmp(s, "gemm")) return LT_GPU_LSTM_GEMM;
    return -1;
}

extern "C" int lt_gpu_lstm_kernel_of(const char *name) { return mode_of(name); }

extern "C" const char *lt_gpu_lstm_kernel_name(int mode)
{
    return mode == LT_GPU_LSTM_FUSED ? "fused" : mode == LT_GPU_LSTM_GEMM ? "gemm" : "auto";
}

extern "C" int lt_gpu_lstm_kernel(void)
{
    if (kernel_mode < 0) {
        int m = mode_of(getenv("LUATORCH_LSTM_KERNEL"));
        kernel_mode = m < 0 ? LT_GPU_LSTM_AUTO : m;
    }
    return kernel_mode;
}

extern "C" void lt_gpu_lstm_set_kernel(int mode)
{
    kernel_mode = mode < 0 || mode > LT_GPU_LSTM_GEMM ? -1 : mode;
}

extern "C" int lt_gpu_lstm_fused(int64_t H)
{
    int m = lt_gpu_lstm_kernel();
    return m == LT_GPU_LSTM_FUSED || (m == LT_GPU_LSTM_AUTO && H <= LT_GPU_LSTM_FUSED_MAX_H);
}

static int64_t stat_fused;  /* time loops (forward or backward) run by the fused kernels */

extern "C" int64_t lt_gpu_lstm_fused_loops(void) { return stat_fused; }

/* ---- forward --------------------------------------------------------------------------------- */

/* What the forward time loop reads: the graph key (no padding: all 8-byte fields). */
struct fwd_key {
    int64_t dt, T, B, H, tf32, fused;
    const void *whh;
    int64_t whh_ld, whh_trans;
    const void *wt;
    int64_t ldwt;
    const void *bias, *h0, *c0, *zeros;
    void *g, *h, *c, *tc;
};

struct fwd_arg {
    const lt_gpu_lstm_fwd *f;
    int fused;
    const void *wt;  /* fused: W_hh^T (H x 4H, row stride ldwt) */
    int64_t ldwt;
};

static int fwd_loop(const void *arg, cublasHandle_t hd, const lt_cublas_fns *fns)
{
    const fwd_arg *fa = (const fwd_arg *)arg;
    const lt_gpu_lstm_fwd *f = fa->f;
    int64_t T = f->T, B = f->B, H = f->H, G = 4 * H, es = (int64_t)lt_dtype_size(f->dt);
    const char *h = (const char *)f->h, *c = (const char *)f->c;
    char *g = (char *)f->g, *tc = (char *)f->tc;
    for (int64_t t = 0; t < T; t++) {
        const char *hp = t > 0 ? h + (t - 1) * B * H * es : (const char *)f->h0;
        char *gt = g + t * B * G * es;
        const void *cp = t > 0 ? c + (t - 1) * B * H * es : f->c0 ? f->c0 : f->zeros;
        int64_t ldcp = t > 0 || f->c0 ? H : 0, off = t * B * H * es;
        char *ct = (char *)f->c + off, *ht = (char *)f->h + off;
        int st;
        if (fa->fused) {
            st = f->dt == LT_FLOAT32
                     ? launch_fwd_fused<float>(B, H, gt, f->bias, hp, fa->wt, fa->ldwt, cp, ldcp,
                                               ct, ht, tc + off)
                     : launch_fwd_fused<double>(B, H, gt, f->bias, hp, fa->wt, fa->ldwt, cp,
                                                ldcp, ct, ht, tc + off);
        } else {
            if (hp && lt_gpu_gemm_rm(hd, fns, f->dt, 0, !f->whh.trans, B, G, H, hp, H, f->whh.p, f->whh.ld,
                           1, gt, G))
                return LT_ERR;
            st = f->dt == LT_FLOAT32
                     ? launch_fwd<float>(B, H, gt, f->bias, cp, ldcp, ct, ht, tc + off)
                     : launch_fwd<double>(B, H, gt, f->bias, cp, ldcp, ct, ht, tc + off);
        }
        if (st) return LT_ERR;
    }
    return LT_OK;
}

extern "C" int lt_gpu_lstm_forward(const lt_gpu_lstm_fwd *f, lt_gpu_loop_graph **graph)
{
    int64_t T = f->T, B = f->B, H = f->H, G = 4 * H;
    cublasHandle_t h;
    if (lt_gpu_cublas(&h)) return LT_ERR;
    const lt_cublas_fns *fns = lt_gpu_blas();
    if (!fns) return LT_ERR;
    /* the input projection of every step: one GEMM */
    if (lt_gpu_gemm_rm(h, fns, f->dt, 0, !f->wih.trans, T * B, G, f->in, f->x, f->xld, f->wih.p, f->wih.ld,
             0, f->g, G))
        return LT_ERR;
    /* the fused path reads W_hh^T: as stored (trans), else transposed into f->whht once per
     * call (the weights change between calls) */
    fwd_arg fa = {f, 0, NULL, 0};
    if (lt_gpu_lstm_fused(H) && (f->whh.trans || f->whht)) {
        fa.fused = 1;
        if (f->whh.trans) {
            fa.wt = f->whh.p, fa.ldwt = f->whh.ld;
        } else {
            fa.wt = f->whht, fa.ldwt = G;
            if (f->dt == LT_FLOAT32)
                LT_LAUNCH(transpose_w<float>, lt_gpu_blocks(H * G), LT_GPU_THREADS, H,
                          (const float *)f->whh.p, f->whh.ld, 0, (float *)f->whht);
            else
                LT_LAUNCH(transpose_w<double>, lt_gpu_blocks(H * G), LT_GPU_THREADS, H,
                          (const double *)f->whh.p, f->whh.ld, 0, (double *)f->whht);
            LT_CHECK_LAUNCH("lstm transpose_w");
        }
    }
    stat_fused += fa.fused;
    fwd_key k;
    memset(&k, 0, sizeof k);
    k.dt = f->dt, k.T = T, k.B = B, k.H = H, k.tf32 = lt_gpu_allow_tf32(), k.fused = fa.fused;
    k.whh = f->whh.p, k.whh_ld = f->whh.ld, k.whh_trans = f->whh.trans;
    k.wt = fa.wt, k.ldwt = fa.ldwt;
    k.bias = f->bias, k.h0 = f->h0, k.c0 = f->c0, k.zeros = f->zeros;
    k.g = f->g, k.h = f->h, k.c = f->c, k.tc = f->tc;
    return lt_gpu_loop_run(graph, LT_GPU_LOOP_LSTM, &k, sizeof k, T, fwd_loop, &fa);
}

/* ---- backward -------------------------------------------------------------------------------- */

struct bwd_key {
    int64_t dt, T, B, H, tf32, fused;
    const void *a, *tc, *c, *c0, *zeros;
    const void *whh;
    int64_t whh_ld, whh_trans;
    const void *ghn;
    int64_t ghn_ld;
    const void *gout;
    int64_t gout_step, gout_ld;
    void *dc, *dh, *dg, *dh0;
};

struct bwd_arg {
    const lt_gpu_lstm_bwd *f;
    int fused;
};

static int bwd_loop(const void *arg, cublasHandle_t hd, const lt_cublas_fns *fns)
{
    const bwd_arg *ba = (const bwd_arg *)arg;
    const lt_gpu_lstm_bwd *f = ba->f;
    int64_t T = f->T, B = f->B, H = f->H, G = 4 * H, es = (int64_t)lt_dtype_size(f->dt);
    for (int64_t t = T - 1; t >= 0; t--) {
        int64_t off = t * B * H * es, goff = t * B * G * es;
        const void *cp = t > 0 ? (const char *)f->c + off - B * H * es : f->c0 ? f->c0 : f->zeros;
        int64_t ldcp = t > 0 || f->c0 ? H : 0;
        const void *d1 = t == T - 1 ? f->ghn : f->dh;
        int64_t ld1 = t == T - 1 ? f->ghn_ld : H;
        const void *d2 = (const char *)f->gout + t * f->gout_step * es;
        const void *a = (const char *)f->a + goff, *tc = (const char *)f->tc + off;
        void *dg = (char *)f->dg + goff;
        int64_t ld2 = f->gout_ld;
        int st;
        if (ba->fused) {
            /* dh_t's recurrent term from dgates_{t+1} in the kernel itself */
            const void *dgn = t < T - 1 ? (const char *)dg + B * G * es : NULL;
            st = f->dt == LT_FLOAT32
                     ? launch_bwd_fused<float>(B, H, a, tc, cp, ldcp, dgn, &f->whh, f->ghn,
                                               f->ghn_ld, d2, ld2, f->dc, dg)
                     : launch_bwd_fused<double>(B, H, a, tc, cp, ldcp, dgn, &f->whh, f->ghn,
                                                f->ghn_ld, d2, ld2, f->dc, dg);
            if (st) return LT_ERR;
            /* dh0 = dgates_0 W_hh: one GEMM after the sweep */
            if (t == 0 && f->dh0 &&
                lt_gpu_gemm_rm(hd, fns, f->dt, 0, f->whh.trans, B, H, G, dg, G, f->whh.p, f->whh.ld, 0,
                     f->dh0, H))
                return LT_ERR;
            continue;
        }
        st = f->dt == LT_FLOAT32
                 ? launch_bwd<float>(B, H, a, tc, cp, ldcp, d1, ld1, d2, ld2, f->dc, dg)
                 : launch_bwd<double>(B, H, a, tc, cp, ldcp, d1, ld1, d2, ld2, f->dc, dg);
        if (st) return LT_ERR;
        /* dh_{t-1} = dgates_t W_hh (into dh0 at t = 0) */
        void *dst = t > 0 ? f->dh : f->dh0;
        if (dst && lt_gpu_gemm_rm(hd, fns, f->dt, 0, f->whh.trans, B, H, G, dg, G, f->whh.p, f->whh.ld, 0,
                        dst, H))
            return LT_ERR;
    }
    return LT_OK;
}

extern "C" int64_t lt_gpu_lstm_bias_blocks(int64_t rows)
{
    return (rows + COLSUM_ROWS - 1) / COLSUM_ROWS;
}

extern "C" int lt_gpu_lstm_backward(const lt_gpu_lstm_bwd *f, lt_gpu_loop_graph **graph)
{
    int64_t T = f->T, B = f->B, H = f->H, G = 4 * H, es = (int64_t)lt_dtype_size(f->dt);
    bwd_key k;
    memset(&k, 0, sizeof k);
    bwd_arg ba = {f, lt_gpu_lstm_fused(H)};
    stat_fused += ba.fused;
    k.dt = f->dt, k.T = T, k.B = B, k.H = H, k.tf32 = lt_gpu_allow_tf32(), k.fused = ba.fused;
    k.a = f->a, k.tc = f->tc, k.c = f->c, k.c0 = f->c0, k.zeros = f->zeros;
    k.whh = f->whh.p, k.whh_ld = f->whh.ld, k.whh_trans = f->whh.trans;
    k.ghn = f->ghn, k.ghn_ld = f->ghn_ld, k.gout = f->gout, k.gout_step = f->gout_step;
    k.gout_ld = f->gout_ld, k.dc = f->dc, k.dh = f->dh, k.dg = f->dg, k.dh0 = f->dh0;
    if (lt_gpu_loop_run(graph, LT_GPU_LOOP_LSTM, &k, sizeof k, T, bwd_loop, &ba))
        return LT_ERR;

    cublasHandle_t h;
    if (lt_gpu_cublas(&h)) return LT_ERR;
    const lt_cublas_fns *fns = lt_gpu_blas();
    if (!fns) return LT_ERR;
    const char *dg = (const char *)f->dg;
    /* weight gradients over all steps: one GEMM each */
    if (f->dwih && lt_gpu_gemm_rm(h, fns, f->dt, 1, 0, G, f->in, T * B, dg, G, f->x, f->xld, f->beta_ih,
                        f->dwih, f->in))
        return LT_ERR;
    if (f->dwhh) {
        if (T > 1) {
            if (lt_gpu_gemm_rm(h, fns, f->dt, 1, 0, G, H, (T - 1) * B, dg + B * G * es, G, f->h, H,
                     f->beta_hh, f->dwhh, H))
                return LT_ERR;
        } else if (f->beta_hh == 0) {
            if (lt_gpu_memset0(f->dwhh, G * H * es)) return LT_ERR;
        }
        if (f->h0 && lt_gpu_gemm_rm(h, fns, f->dt, 1, 0, G, H, B, dg, G, f->h0, H, 1, f->dwhh, H))
            return LT_ERR;
    }
    /* the input gradient over all steps */
    if (f->dx && lt_gpu_gemm_rm(h, fns, f->dt, 0, f->wih.trans, T * B, f->in, G, dg, G, f->wih.p, f->wih.ld,
                      0, f->dx, f->in))
        return LT_ERR;
    /* the bias gradients: column sums of dgates, in two deterministic passes */
    if ((f->dbih || f->dbhh) &&
        lt_gpu_colsums(f->dt, T * B, G, dg, (double *)f->partials, f->dbih, f->beta_bih != 0,
                       f->dbhh, f->beta_bhh != 0))
        return LT_ERR;
    return LT_OK;
}

/* ---- small helpers --------------------------------------------------------------------------- */

extern "C" int lt_gpu_lstm_add(lt_dtype dt, int64_t n, void *out, const void *a, int64_t sa,
                               const void *b, int64_t sb)
{
    if (n == 0) return LT_OK;
    if (dt == LT_FLOAT32)
        LT_LAUNCH(add_vec<float>, lt_gpu_blocks(n), LT_GPU_THREADS, n, (float *)out,
                  (const float *)a, sa, (const float *)b, sb);
    else
        LT_LAUNCH(add_vec<double>, lt_gpu_blocks(n), LT_GPU_THREADS, n, (double *)out,
                  (const double *)a, sa, (const double *)b, sb);
    LT_CHECK_LAUNCH("lstm add_vec");
    return LT_OK;
}

extern "C" int lt_gpu_lstm_mul(lt_dtype dt, int64_t n, void *out, const void *a, const void *b)
{
    if (n == 0) return LT_OK;
    if (dt == LT_FLOAT32)
        LT_LAUNCH(mul_vec<float>, lt_gpu_blocks(n), LT_GPU_THREADS, n, (float *)out,
                  (const float *)a, (const float *)b);
    else
        LT_LAUNCH(mul_vec<double>, lt_gpu_blocks(n), LT_GPU_THREADS, n, (double *)out,
                  (const double *)a, (const double *)b);
    LT_CHECK_LAUNCH("lstm mul_vec");
    return LT_OK;
}
