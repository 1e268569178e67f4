/*
 * loop_graph.h — the CUDA graphs of the recurrent layers' time loops, shared by the fused LSTM
 * (gpu/lstm.cu) and the recurrent layers (gpu/rnn.cu): a caller packs everything its loop
 * reads (every pointer, size and flag: the key) and hands the loop to lt_gpu_loop_run, which
 * replays the graph cached in a slot, captures one, or launches the loop step by step (see
 * gpu/loop_graph.cu). The public half (the switch, the counters, lt_gpu_loop_graph_free) is
 * in lt_gpu.h. C++ only, included by the .cu files that run time loops.
 */
#ifndef LT_GPU_LOOP_GRAPH_H
#define LT_GPU_LOOP_GRAPH_H

#include "gpu_internal.h"

/* One time loop: launches its steps on lt_gpu_stream() (cuBLAS through h). Returns LT_OK or
 * LT_ERR with the error set. */
typedef int (*lt_gpu_loop_fn)(const void *arg, cublasHandle_t h, const lt_cublas_fns *f);

/* Runs loop(arg) of T steps for a layer of kind LT_GPU_LOOP_* (the counters' breakdown):
 * replays *slot's graph when key (keylen bytes, no padding: compared with memcmp) is its last
 * one, else captures one or launches step by step. slot NULL: step by step. */
int lt_gpu_loop_run(lt_gpu_loop_graph **slot, int kind, const void *key, size_t keylen,
                    int64_t T, lt_gpu_loop_fn loop, const void *arg);

#endif
