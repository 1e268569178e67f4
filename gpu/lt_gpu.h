/*
 * lt_gpu.h — what the core and the Lua bindings see of the CUDA backend (gpu/), in plain C.
 *
 * Built with nvcc (LT_HAVE_CUDA defined for the C code), these are gpu/device.cu; built without
 * CUDA (`make CUDA=0`, or no nvcc), gpu/stub.c answers every call with "luatorch was built
 * without CUDA". Like the rest of the core, functions that can fail return LT_OK / LT_ERR and
 * leave a message in lt_errmsg(); a message from a failed CUDA call names the call, e.g.
 * "cudaGetDeviceProperties: invalid device ordinal". Devices are numbered from 0 here.
 *
 * Device tensors are ordinary lt_tensors whose storage has device >= 0 (its data is device
 * memory from the caching allocator below). The core routes an op to its lt_gpu_<op> twin
 * here when its operands live on a device (LT_GPU_ROUTE in core/lt_internal.h); each twin has
 * exactly the signature of the core function it replaces and the same error messages, and is
 * implemented in one .cu file per op family (gpu/README.md lists them).
 */
#ifndef LT_GPU_H
#define LT_GPU_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "../core/lt.h"

/* 1 when this build has the CUDA backend compiled in, 0 otherwise. */
int lt_gpu_built(void);

/* The number of CUDA devices. No driver or no device is not an error: *count = 0 and LT_OK
 * (lt_gpu_unavailable() then says why). Any other CUDA failure is LT_ERR. */
int lt_gpu_device_count(int *count);

/* NULL when at least one device can be used; otherwise why not, e.g. "luatorch was built
 * without CUDA" or "cudaGetDeviceCount: no CUDA-capable device is detected". Never fails. */
const char *lt_gpu_unavailable(void);

/* LT_OK when a device can be used; otherwise LT_ERR with "no CUDA device is available (why)". */
int lt_gpu_require(void);

typedef struct lt_gpu_props {
    char    name[256];
    int     major, minor;            /* compute capability                               */
    int64_t total_memory;            /* bytes of device memory                           */
    int     multiprocessors;
    int     warp_size;
    int64_t shared_memory_per_block; /* bytes                                            */
    int64_t l2_cache_size;           /* bytes                                            */
    char    pci_bus_id[32];          /* "0000:00:04.0"                                   */
} lt_gpu_props;

/* Properties of device dev (0-based). */
int lt_gpu_device_props(int dev, lt_gpu_props *props);

/* The current device (0-based) of the calling thread. */
int lt_gpu_current_device(int *dev);

/* Waits until every kernel and copy on the current device has finished. */
int lt_gpu_synchronize(void);

/* Free and total bytes of the current device's memory (cudaMemGetInfo). */
int lt_gpu_mem_info(int64_t *free_bytes, int64_t *total_bytes);

/* ---- memory (gpu/alloc.cu): a caching allocator on one stream ---------------------------
 * Freed blocks stay cached for reuse (no cudaMalloc/cudaFree per op). When cudaMalloc fails
 * the cache is emptied, the out-of-memory hook runs once (the Lua layer's collects garbage,
 * which returns dead tensors' blocks), the cache is emptied again and the allocation retried;
 * then the error names the size and the allocator's state. */
int  lt_gpu_malloc(void **ptr, int64_t nbytes, int device);
void lt_gpu_free(void *ptr, int64_t nbytes, int device);      /* back to the cache */
void lt_gpu_set_oom_hook(void (*hook)(void *ud), void *ud);
int  lt_gpu_empty_cache(void);
/* Whole-step CUDA graphs (torch.cuda.graph): begin captures the stream (relaxed mode); the
 * blocks allocated until end belong to the graph's pool for its lifetime; end(g, 0) abandons
 * the capture (the caller then frees g). Host copies refuse while capturing. */
typedef struct lt_gpu_graph lt_gpu_graph;
int  lt_gpu_graph_begin(lt_gpu_graph **g);
int  lt_gpu_graph_end(lt_gpu_graph *g, int ok);
int  lt_gpu_graph_replay(lt_gpu_graph *g);
void lt_gpu_graph_free(lt_gpu_graph *g);
int  lt_gpu_capturing(void);
typedef struct {
    int64_t allocated, reserved, peak_allocated, cuda_mallocs;
    int64_t total_allocated;   /* bytes handed out since start (paces the Lua collector) */
} lt_gpu_mem_stats;
lt_gpu_mem_stats lt_gpu_memory_stats(void);
int  lt_gpu_set_device(int dev);
/* Copies of nbytes between host memory and device memory, or within the device; synchronous
 * as seen from the host (a device-to-host copy waits for the work before it). */
int  lt_gpu_copy_h2d(void *dst, const void *src, int64_t nbytes);
int  lt_gpu_copy_d2h(void *dst, const void *src, int64_t nbytes);
int  lt_gpu_copy_d2d(void *dst, const void *src, int64_t nbytes);
int  lt_gpu_memset0(void *dst, int64_t nbytes);
/* TF32 tensor-core math in cuBLAS products (off by default: FP32 results). */
void lt_gpu_set_allow_tf32(int allow);
int  lt_gpu_allow_tf32(void);
/* 1 in the host emulation (`make CUDA=emu`), 0 on a real device. */
int  lt_gpu_emulated(void);

/* ---- ops: each the twin of the core function of the same name without "gpu_" ----------- */

/* gpu/copy.cu: copies with dtype conversion and broadcasting, within the device or across
 * (dst or src on the host), fill */
int lt_gpu_copy(lt_tensor *dst, const lt_tensor *src);
int lt_gpu_fill(lt_tensor *t, double value);
int lt_gpu_fill_int(lt_tensor *t, int64_t value);

/* gpu/pointwise.cu: called by core/pointwise.c after its argument checks */
int lt_gpu_unary(lt_tensor *out, lt_unary_op op, const lt_tensor *a);
int lt_gpu_binary(lt_tensor *out, lt_binary_op op, const lt_tensor *a, const lt_tensor *b,
                  double alpha);
int lt_gpu_binary_scalar(lt_tensor *out, lt_binary_op op, const lt_tensor *a, double s);
int lt_gpu_scalar_binary(lt_tensor *out, lt_binary_op op, double s, const lt_tensor *a);
int lt_gpu_compare(lt_tensor *out, lt_cmp_op op, const lt_tensor *a, const lt_tensor *b);
int lt_gpu_compare_scalar(lt_tensor *out, lt_cmp_op op, const lt_tensor *a, double s);
int lt_gpu_clamp(lt_tensor *out, const lt_tensor *a, double lo, double hi);
int lt_gpu_leaky_relu(lt_tensor *out, const lt_tensor *a, double slope);
int lt_gpu_addcmul(lt_tensor *out, const lt_tensor *a, double value, const lt_tensor *b,
                   const lt_tensor *c);
int lt_gpu_addcdiv(lt_tensor *out, const lt_tensor *a, double value, const lt_tensor *b,
                   const lt_tensor *c);
int lt_gpu_where(lt_tensor *out, const lt_tensor *cond, const lt_tensor *a, const lt_tensor *b);
int lt_gpu_masked_fill(lt_tensor *t, const lt_tensor *mask, double value);
int lt_gpu_masked_select(lt_tensor *out, const lt_tensor *t, const lt_tensor *mask);
int lt_gpu_masked_copy(lt_tensor *t, const lt_tensor *mask, const lt_tensor *src);
/* core/pointwise.c's steps that both paths share (so the messages are the same): the result's
 * dtype check, broadcasting, the in-place shape check and lt_out_prepare; the integer
 * comparison-with-a-number plan (a constant 0 / 1 result, or -1 with op and s rewritten);
 * and that constant result written into out with a's shape. */
int lt_pw_prepare(lt_tensor *out, lt_dtype out_dt, const lt_tensor *const *ins, int nins,
                  lt_tensor **target);
int lt_pw_cmp_scalar_plan(lt_dtype dt, lt_cmp_op *op, double *s);
/* The host's argument checks and their messages: one dtype, a float dtype, a uint8 mask. */
int lt_pw_check_same_dtype(const lt_tensor *a, const lt_tensor *b);
int lt_pw_check_float(const lt_tensor *a);
int lt_pw_check_mask(const char *what, const lt_tensor *m);
int lt_pw_fill_like(lt_tensor *out, const lt_tensor *a, double value);

/* gpu/reduce.cu */
/* *result as a double; *exact the int64 of an integer tensor (core/reduce.c's two forms) */
int lt_gpu_reduce_all(double *result, int64_t *exact, lt_reduce_op op, const lt_tensor *a);
int lt_gpu_reduce_dim(lt_tensor *out, lt_reduce_op op, const lt_tensor *a, int dim, int keepdim);
int lt_gpu_maxmin_dim(lt_tensor *values, lt_tensor *indices, const lt_tensor *a, int dim,
                      int keepdim, int want_max);
int lt_gpu_var_all(double *result, const lt_tensor *a, int unbiased);
int lt_gpu_var_dim(lt_tensor *out, const lt_tensor *a, int dim, int unbiased, int keepdim);
int lt_gpu_norm_all(double *result, const lt_tensor *a, double p);
int lt_gpu_norm_dim(lt_tensor *out, const lt_tensor *a, double p, int dim, int keepdim);
int lt_gpu_cumsum(lt_tensor *out, const lt_tensor *a, int dim);
int lt_gpu_cumprod(lt_tensor *out, const lt_tensor *a, int dim);
int lt_gpu_sort(lt_tensor *values, lt_tensor *indices, const lt_tensor *a, int dim,
                int descending);
int lt_gpu_topk(lt_tensor *values, lt_tensor *indices, const lt_tensor *a, int64_t k, int dim,
                int largest, int sorted);
/* Backward helpers of core/grad_reduce.c (the core checks the arguments; the reduced-dim
 * twins above are called after the core's checks too). lt_gpu_grad_lines: one thread per
 * line along dim of o (fresh), x, g (g may have size 1 along dim); kind 0 = prod's gradient,
 * 1 = reverse cumulative sum (cumsum's), 2 = cumprod's. lt_gpu_norm_grad: r = PyTorch's
 * norm_backward elementwise over a, g, nrm, cnt (broadcast to r). */
int lt_gpu_grad_lines(lt_tensor *o, const lt_tensor *x, const lt_tensor *g, int dim, int kind);
int lt_gpu_norm_grad(lt_tensor *r, const lt_tensor *a, const lt_tensor *g, const lt_tensor *nrm,
                     const lt_tensor *cnt, double p);

/* gpu/blas.cu (cuBLAS): called by core/blas.c after its dtype and shape checks */
int lt_gpu_addmm(lt_tensor *out, double beta, const lt_tensor *c, double alpha,
                 const lt_tensor *a, const lt_tensor *b);
int lt_gpu_baddbmm(lt_tensor *out, double beta, const lt_tensor *c, double alpha,
                   const lt_tensor *a, const lt_tensor *b);
int lt_gpu_addmv(lt_tensor *out, double beta, const lt_tensor *c, double alpha,
                 const lt_tensor *m, const lt_tensor *v);
int lt_gpu_dot(double *result, const lt_tensor *a, const lt_tensor *b);
int lt_gpu_addr(lt_tensor *out, double beta, const lt_tensor *c, double alpha,
                const lt_tensor *a, const lt_tensor *b);
/* t *= beta in place, beta == 0 writing zeros (BLAS's beta; core/blas.c's scale() on a device) */
int lt_gpu_blas_scale(lt_tensor *t, double beta);

/* gpu/index.cu: called by core/index.c after its shape checks; index ranges are checked
 * on a host copy of the index */
int lt_gpu_index_select(lt_tensor *out, const lt_tensor *a, int dim, const lt_tensor *index);
int lt_gpu_index_add(lt_tensor *t, int dim, const lt_tensor *index, const lt_tensor *src);
int lt_gpu_gather(lt_tensor *out, const lt_tensor *a, int dim, const lt_tensor *index);
int lt_gpu_scatter_add(lt_tensor *t, int dim, const lt_tensor *index, const lt_tensor *src);
int lt_gpu_index_copy(lt_tensor *t, int dim, const lt_tensor *index, const lt_tensor *src);
int lt_gpu_index_fill(lt_tensor *t, int dim, const lt_tensor *index, double value);
int lt_gpu_scatter(lt_tensor *t, int dim, const lt_tensor *index, const lt_tensor *src);
int lt_gpu_scatter_value(lt_tensor *t, int dim, const lt_tensor *index, double value);

/* gpu/random.cu: the CPU's Philox4x32-10 numbering, so one seed gives the same numbers */
int lt_gpu_rand_uniform(lt_tensor *t, double lo, double hi);
int lt_gpu_rand_normal(lt_tensor *t, double mean, double std);
int lt_gpu_rand_bernoulli(lt_tensor *t, double p);
int lt_gpu_rand_int(lt_tensor *t, int64_t lo, int64_t hi);

/* gpu/nnops.cu */
int lt_gpu_softmax(lt_tensor *out, const lt_tensor *a, int dim);
int lt_gpu_log_softmax(lt_tensor *out, const lt_tensor *a, int dim);
int lt_gpu_nll_loss(lt_tensor *out, const lt_tensor *logp, const lt_tensor *target,
                    const lt_tensor *weight, int size_average, int64_t ignore);
int lt_gpu_cross_entropy(lt_tensor *out, const lt_tensor *input, const lt_tensor *target,
                         const lt_tensor *weight, int size_average, int64_t ignore);
/* Backward kernels of core/nnops.c (called by its backward functions; arguments checked
 * there): gx = the gradient of softmax (log = 0) / log-softmax (log = 1) along dim, from the
 * output gradient g and the saved output y; the losses' gradients wrt the scores x (gx fresh,
 * contiguous, x's shape) from the 0-dim output gradient g, divided by norm (the normaliser). */
int lt_gpu_softmax_backward(lt_tensor *gx, const lt_tensor *g, const lt_tensor *y, int dim,
                            int log);
int lt_gpu_nll_loss_backward(lt_tensor *gx, const lt_tensor *g, const lt_tensor *x,
                             const lt_tensor *target, const lt_tensor *weight, double norm,
                             int64_t ignore);
int lt_gpu_cross_entropy_backward(lt_tensor *gx, const lt_tensor *g, const lt_tensor *x,
                                  const lt_tensor *target, const lt_tensor *weight, double norm,
                                  int64_t ignore);

/* gpu/optim.cu */
int lt_gpu_sgd_step(lt_tensor *param, const lt_tensor *grad, lt_tensor *buf, double lr,
                    double momentum, double dampening, double weight_decay, int nesterov,
                    int first);
int lt_gpu_adam_step(lt_tensor *param, const lt_tensor *grad, lt_tensor *m, lt_tensor *v,
                     double lr, double beta1, double beta2, double eps, double weight_decay,
                     int64_t step);
int lt_gpu_rmsprop_step(lt_tensor *param, const lt_tensor *grad, lt_tensor *square_avg,
                        double lr, double alpha, double eps, double weight_decay);
int lt_gpu_adagrad_step(lt_tensor *param, const lt_tensor *grad, lt_tensor *sum, double lr,
                        double lr_decay, double weight_decay, double eps, int64_t step);
/* the checks (max_norm, dtypes, one device) are the caller's, core/optim.c */
int lt_gpu_clip_grad_norm(lt_tensor *const *grads, int n, double max_norm, double *total_norm);

/* gpu/loop_graph.cu: CUDA graphs of the recurrent layers' time loops (gpu/lstm.cu and
 * gpu/rnn.cu). A slot (owned by a workspace of core/lstm.c or core/rnn.c, NULL until first
 * used) caches the graph of one loop: captured the second time the loop comes with the same
 * key (every pointer and size it reads), replayed after that, re-captured when the key
 * changes; step by step when capture fails, inside a whole-step capture, or with graphs off.
 * lt_gpu_loop_graphs: 1 on (default unless LUATORCH_CUDA_GRAPHS=0), 0 off; set -1 to go back
 * to the environment's choice. Counters since the start of the process, per layer kind
 * (kind -1: all kinds summed): loops captured, replayed, launched step by step; repeats:
 * loops (graphs on, cached workspace) whose key was the same as their slot's last one. */
typedef struct lt_gpu_loop_graph lt_gpu_loop_graph;
void lt_gpu_loop_graph_free(lt_gpu_loop_graph *g);
enum {
    LT_GPU_LOOP_LSTM = 0,       /* nn.LSTM's fused stack (gpu/lstm.cu)                       */
    LT_GPU_LOOP_LSTM_LAYER = 1, /* gpu/rnn.cu's LSTM layer (bidirectional, lengths)          */
    LT_GPU_LOOP_GRU = 2,        /* gpu/rnn.cu's GRU layer                                    */
    LT_GPU_LOOP_RNN = 3,        /* gpu/rnn.cu's tanh / relu layer                            */
    LT_GPU_LOOP_KINDS = 4
};
typedef struct { int64_t captures, replays, stepwise, repeats; } lt_gpu_loop_stats;
int  lt_gpu_loop_graphs(void);
void lt_gpu_loop_set_graphs(int on);
lt_gpu_loop_stats lt_gpu_loop_graph_stats(int kind);
const char *lt_gpu_loop_kind_name(int kind);   /* "lstm", "lstmLayer", "gru", "rnn"; else NULL */

/* gpu/lstm.cu: the device compute of the fused LSTM. core/lstm.c keeps the checks, the
 * workspaces, the autograd node and dropout, and calls these with DEVICE pointers (row-major,
 * as its CPU code) when the operands live on a device. Each time loop of a layer runs through
 * lt_gpu_loop_run with the slot *graph (gpu/loop_graph.cu; graph NULL: step by step). */
typedef struct { const void *p; int64_t ld; int trans; } lt_gpu_lstm_mat;  /* W or W^T stored */
typedef struct {
    lt_dtype dt;
    int64_t T, B, H, in;
    const void *x;              /* (T*B) x in input rows, leading dimension xld            */
    int64_t xld;
    lt_gpu_lstm_mat wih, whh;
    const void *bias;           /* 4H: b_ih + b_hh (zeros without bias)                    */
    const void *h0, *c0;        /* B x H, or NULL for zeros                                */
    const void *zeros;          /* H zeros                                                 */
    void *g, *h, *c, *tc;       /* T x B x 4H gates; T x B x H h_t, c_t, tanh(c_t)         */
    void *whht;                 /* H x 4H scratch for W_hh^T (the fused path), or NULL     */
} lt_gpu_lstm_fwd;
int lt_gpu_lstm_forward(const lt_gpu_lstm_fwd *f, lt_gpu_loop_graph **graph);
typedef struct {
    lt_dtype dt;
    int64_t T, B, H, in;
    const void *a, *tc, *c, *c0, *zeros;  /* activations, tanh(c), c, c0 (or NULL)           */
    const void *h, *h0;                   /* h_t and h0 (or NULL), for dW_hh                  */
    const void *x;                        /* the layer's input rows, leading dimension xld   */
    int64_t xld;
    lt_gpu_lstm_mat wih, whh;
    const void *ghn;                      /* gradient of h_n's rows (ld ghn_ld; 0: zeros)   */
    int64_t ghn_ld;
    const void *gout;                     /* output gradient: step stride, row stride       */
    int64_t gout_step, gout_ld;
    void *dc, *dh, *dg, *dh0;             /* B x H carried dc (in: dc_n), dh; T x B x 4H; dh0 */
    void *dwih, *dwhh, *dx;               /* targets or NULL; beta 0 (overwrite) or 1 (add)  */
    double beta_ih, beta_hh;
    void *dbih, *dbhh;                    /* bias gradient targets or NULL                   */
    double beta_bih, beta_bhh;
    void *partials;                       /* lt_gpu_lstm_bias_blocks(T*B) x 4H doubles       */
} lt_gpu_lstm_bwd;
int lt_gpu_lstm_backward(const lt_gpu_lstm_bwd *f, lt_gpu_loop_graph **graph);
int64_t lt_gpu_lstm_bias_blocks(int64_t rows);
/* out[i] = a[i * sa] + b[i * sb];  out[i] = a[i] * b[i]  (n elements of dt) */
int lt_gpu_lstm_add(lt_dtype dt, int64_t n, void *out, const void *a, int64_t sa, const void *b,
                    int64_t sb);
int lt_gpu_lstm_mul(lt_dtype dt, int64_t n, void *out, const void *a, const void *b);
/* The per-step kernels: LT_GPU_LSTM_FUSED, one kernel per step that computes the recurrent
 * products itself (forward: from W_hh^T, transposed once per call into whht unless W_hh is
 * stored transposed; backward: dh from the previous step's dgates); LT_GPU_LSTM_GEMM, a cuBLAS
 * GEMM + a pointwise kernel per step; LT_GPU_LSTM_AUTO (default), fused when
 * H <= LT_GPU_LSTM_FUSED_MAX_H. LUATORCH_LSTM_KERNEL=fused|gemm|auto (else auto), read once;
 * lt_gpu_lstm_set_kernel(-1): back to it. lt_gpu_lstm_fused(H): whether H runs fused now. */
enum { LT_GPU_LSTM_AUTO = 0, LT_GPU_LSTM_FUSED = 1, LT_GPU_LSTM_GEMM = 2 };
#define LT_GPU_LSTM_FUSED_MAX_H 256
int  lt_gpu_lstm_kernel(void);
void lt_gpu_lstm_set_kernel(int mode);
int  lt_gpu_lstm_fused(int64_t H);
int  lt_gpu_lstm_kernel_of(const char *name);    /* "auto" / "fused" / "gemm", else -1 */
const char *lt_gpu_lstm_kernel_name(int mode);
int64_t lt_gpu_lstm_fused_loops(void);          /* time loops run fused since the start  */

/* gpu/rnn.cu: the device compute of core/rnn.c's recurrent layer (one layer, one direction:
 * the tanh / relu RNN, the GRU or the LSTM, optionally reversed and with lengths). core/rnn.c
 * keeps the checks, the buffers (every pointer below is DEVICE memory, contiguous, row-major)
 * and the autograd node; lt_gpu_rnn_forward / _backward do a layer's whole forward / backward:
 * the products over all steps (cuBLAS), then the time loop (per step a cuBLAS GEMM for the
 * recurrence and one pointwise kernel), the outputs or the gradients. The time loop runs
 * through lt_gpu_loop_run with the slot *graph (a CUDA graph replayed while every pointer it
 * reads holds still; graph NULL: step by step). */
typedef struct {
    lt_dtype dt;
    int mode, reverse;            /* LT_RNN_*; reverse: run from the last step to the first   */
    int64_t T, B, in, H, G;       /* in: the input size; G = H (tanh, relu), 3H (GRU), 4H   */
    const int64_t *len;           /* (B) lengths in [1, T], or NULL: every sequence has T     */
    const void *x;                /* T x B x I                                                */
    const void *wih, *whh;        /* G x I, G x H                                             */
    const void *bih, *bhh;        /* G each (zeros without bias)                              */
    const void *h0, *c0;          /* B x H (c0: LSTM only; both given, zeros if none)        */
    void *gates;                  /* T x B x G: the projections, then the activated gates    */
    void *ghn;                    /* GRU: T x B x H, W_hn h + b_hn; else NULL                 */
    void *s, *c;                  /* T x B x H: h after each step, c (LSTM; else NULL)       */
} lt_gpu_rnn_layer;
/* gh: B x G scratch; y (T x B x H): s with zeros past each length; hn, cn (B x H, cn LSTM
 * only): the final state. */
int lt_gpu_rnn_forward(const lt_gpu_rnn_layer *k, void *gh, void *y, void *hn, void *cn,
                       lt_gpu_loop_graph **graph);
typedef struct {
    const void *dy;               /* output gradient, element (t, b, j) at t*dy_t + b*dy_b + j */
    int64_t dy_t, dy_b;           /* (both 0: a row of H zeros)                               */
    void *dh, *dc;                /* B x H: in dh_n, dc_n (dc: LSTM); out: dh0, dc0           */
    void *dgi, *dgh;              /* T x B x G gate gradients (dgh == dgi but for the GRU)    */
    void *dx;                     /* T x B x I or NULL                                        */
    void *dwih, *dwhh, *dbih, *dbhh;  /* targets or NULL; beta 0 overwrites, 1 adds           */
    double beta_ih, beta_hh, beta_bih, beta_bhh;
    void *partials;               /* lt_gpu_lstm_bias_blocks(T*B) x G doubles                */
} lt_gpu_rnn_bwd;
int lt_gpu_rnn_backward(const lt_gpu_rnn_layer *k, const lt_gpu_rnn_bwd *d,
                        lt_gpu_loop_graph **graph);

#ifdef __cplusplus
}
#endif

#endif
