/*
 * rnn_cell.h — the LSTM cell's device math, shared by the fused LSTM (gpu/lstm.cu) and the
 * recurrent layers (gpu/rnn.cu): the activations (CUDA's expf / tanhf in float32) and one
 * unit's forward and backward. C++ only, included by those two files.
 */
#ifndef LT_GPU_RNN_CELL_H
#define LT_GPU_RNN_CELL_H

#include "gpu_internal.h"

template <typename T> struct act;
template <> struct act<float> {
    static __device__ __forceinline__ float sig(float x) { return 1.0f / (1.0f + expf(-x)); }
    static __device__ __forceinline__ float th(float x) { return tanhf(x); }
};
template <> struct act<double> {
    static __device__ __forceinline__ double sig(double x) { return 1.0 / (1.0 + exp(-x)); }
    static __device__ __forceinline__ double th(double x) { return tanh(x); }
};

/* The cell at unit j of one batch row, shared by both step kernels of each direction.
 * Forward: from the gates' pre-activations (pi, pf, pg, po) and c_{t-1}, writes the activated
 * gates into gr (the row's 4H), c_t, tanh(c_t) and h_t. */
template <typename T>
__device__ __forceinline__ void cell_forward(int64_t H, int64_t j, T *gr, T pi, T pf, T pg, T po,
                                             T cprev, T *c, T *tc, T *h)
{
    T ig = act<T>::sig(pi), fg = act<T>::sig(pf), gg = act<T>::th(pg), og = act<T>::sig(po);
    T cc = fg * cprev + ig * gg;
    T t = act<T>::th(cc);
    gr[j] = ig;
    gr[H + j] = fg;
    gr[2 * H + j] = gg;
    gr[3 * H + j] = og;
    *c = cc;
    *tc = t;
    *h = og * t;
}

/* Backward: ar the row's activated gates, th = tanh(c_t), dh the gradient reaching h_t,
 * cprev = c_{t-1}; *dc carries dc_t in and dc_{t-1} out; dgr receives the row's
 * pre-activation gate gradients at unit j. */
template <typename T>
__device__ __forceinline__ void cell_backward(int64_t H, int64_t j, const T *ar, T th, T dh,
                                              T cprev, T *dc, T *dgr)
{
    T ig = ar[j], fg = ar[H + j], gg = ar[2 * H + j], og = ar[3 * H + j];
    T dct = *dc + dh * og * (1 - th * th);
    dgr[j] = dct * gg * ig * (1 - ig);
    dgr[H + j] = dct * cprev * fg * (1 - fg);
    dgr[2 * H + j] = dct * ig * (1 - gg * gg);
    dgr[3 * H + j] = dh * th * og * (1 - og);
    *dc = dct * fg;
}

#endif
