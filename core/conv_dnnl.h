/*
 * conv_dnnl.h — 2-D convolution (plain and transposed) and max / average pooling on oneDNN's
 * primitives, for core/conv.c: convolution forward, backward-data and backward-weights (float32,
 * bfloat16 inside when asked), max pooling forward with PyTorch's indices, average pooling
 * forward and backward; tensors in PyTorch's plain layouts (N x C x H x W, contiguous). Built
 * without oneDNN (make DNNL=0) every call answers "not handled" and core/conv.c runs its own.
 */
#ifndef LT_CONV_DNNL_H
#define LT_CONV_DNNL_H

#include <stdint.h>

/* One convolution's shape: the input x is N x C x H x W, the output y N x OC x OH x OW; the
 * weight is OC x C/groups x kh x kw, or for a transposed one C x OC/groups x kh x kw. All
 * fields take part in the primitive cache's key. */
typedef struct {
    int64_t N, C, H, W;           /* input                                        */
    int64_t OC, OH, OW;           /* output                                       */
    int64_t kh, kw, sh, sw, ph, pw, dh, dw, groups;
    int64_t oph, opw;             /* output padding: transposed only              */
    /* flags as int64_t: no padding bytes, the cache compares keys with memcmp */
    int64_t transposed;
    int64_t bias;                 /* forward: whether a bias (OC) is added        */
    int64_t bf16;                 /* compute in bfloat16 (inputs, outputs float32) */
} lt_dnnl_conv_shape;

typedef enum {
    LT_DNNL_CONV_FWD,             /* a = x, b = w, out = y (+ bias)               */
    LT_DNNL_CONV_BWD_DATA,        /* a = gy, b = w, out = gx                      */
    LT_DNNL_CONV_BWD_WEIGHTS      /* a = x, b = gy, out = gw                      */
} lt_dnnl_conv_kind;

/* 1 when oneDNN is built in */
int lt_dnnl_conv_available(void);
/* Runs one direction on contiguous float32 buffers. Returns 1 when done, 0 when oneDNN does
 * not take this shape (no error set: the caller runs im2col), LT_ERR with the error set. */
int lt_dnnl_conv_run(lt_dnnl_conv_kind kind, const lt_dnnl_conv_shape *s, const float *a,
                     const float *b, const float *bias, float *out);
/* One pooling's shape: x N x C x H x W -> y N x C x OH x OW; the padding on the far side (prh,
 * prw) may exceed the near one (ceil mode). Dilation 1 = none. */
typedef struct {
    int64_t N, C, H, W, OH, OW;
    int64_t kh, kw, sh, sw, ph, pw, prh, prw, dh, dw;
    int64_t exclude_pad;          /* average: divide by the input elements only */
} lt_dnnl_pool_shape;

/* max pooling: y, and indices (N x C x OH x OW) each maximum's position y * W + x in its
 * plane; the first maximum of a window wins (NaN-free input: the caller checks). 1 / 0 /
 * LT_ERR as lt_dnnl_conv_run. */
int lt_dnnl_max_pool(const lt_dnnl_pool_shape *s, const float *x, float *y, int64_t *indices);
/* average pooling forward (x -> y) and backward (gy -> gx) */
int lt_dnnl_avg_pool(const lt_dnnl_pool_shape *s, const float *x, float *y);
int lt_dnnl_avg_pool_backward(const lt_dnnl_pool_shape *s, const float *gy, float *gx);

/* how many primitives (convolution directions, poolings) oneDNN has run so far (tests check that it took their shapes) */
int64_t lt_dnnl_conv_calls(void);
/* Destroys the cached primitives (registered with atexit on first use; safe to call twice). */
void lt_dnnl_conv_cache_free(void);

#endif
