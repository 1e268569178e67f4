/*
 * loop_graph.cu — CUDA graphs of the recurrent layers' time loops (gpu/lstm.cu's fused LSTM,
 * gpu/rnn.cu's GRU / RNN / LSTM layers). A time loop is 2T launches of small kernels and
 * GEMMs, for which the launch latency is the cost; recorded once into a graph (stream capture
 * on lt_gpu_stream()) it is replayed in one launch while its operands stay the same.
 *
 * The key is everything the loop reads (every pointer, size and flag, the TF32 setting, the
 * kernel path); the callers (core/lstm.c, core/rnn.c) keep those in workspace buffers so
 * that they do at a fixed shape. A loop runs launch by launch the first time its key is seen
 * in its slot (a one-off call never pays for a capture, and cuBLAS has loaded its kernels
 * before a capture), is captured and launched the second time, replayed after that. When
 * capture fails (something in the loop that CUDA refuses during a capture) the loop runs
 * launch by launch and the slot remembers not to try again. No slot (a workspace that lives
 * for one call), a one-step loop (a cell), LUATORCH_CUDA_GRAPHS=0 (or
 * lt_gpu_loop_set_graphs(0)), or a whole-step capture in progress (torch.cuda.graph: the loop
 * is recorded into that graph, CUDA graphs do not nest captures): launch by launch.
 *
 * Counters per layer kind (LT_GPU_LOOP_*), since the start of the process.
 */
#include <stdlib.h>
#include <string.h>

#include "loop_graph.h"

#define KEY_MAX 256

struct lt_gpu_loop_graph {
    unsigned char key[KEY_MAX];
    size_t keylen;        /* the last key seen                                   */
    cudaGraphExec_t exec; /* its graph, or NULL when it was seen once so far     */
    int failed;           /* capture failed once here: step by step from now on  */
};

static int graphs_on = -1;  /* -1: not read yet from LUATORCH_CUDA_GRAPHS */
static lt_gpu_loop_stats stats[LT_GPU_LOOP_KINDS];

extern "C" void lt_gpu_loop_set_graphs(int on) { graphs_on = on < 0 ? -1 : on != 0; }

extern "C" int lt_gpu_loop_graphs(void)
{
    if (graphs_on < 0) {
        const char *e = getenv("LUATORCH_CUDA_GRAPHS");
        graphs_on = !(e && e[0] == '0' && e[1] == 0);
    }
    return graphs_on;
}

extern "C" lt_gpu_loop_stats lt_gpu_loop_graph_stats(int kind)
{
    lt_gpu_loop_stats s = {0, 0, 0, 0};
    for (int k = 0; k < LT_GPU_LOOP_KINDS; k++) {
        if (kind >= 0 && k != kind) continue;
        s.captures += stats[k].captures, s.replays += stats[k].replays;
        s.stepwise += stats[k].stepwise, s.repeats += stats[k].repeats;
    }
    return s;
}

extern "C" const char *lt_gpu_loop_kind_name(int kind)
{
    static const char *names[LT_GPU_LOOP_KINDS] = {"lstm", "lstmLayer", "gru", "rnn"};
    return kind >= 0 && kind < LT_GPU_LOOP_KINDS ? names[kind] : NULL;
}

extern "C" void lt_gpu_loop_graph_free(lt_gpu_loop_graph *g)
{
    if (!g) return;
    if (g->exec) cudaGraphExecDestroy(g->exec);
    free(g);
}

int lt_gpu_loop_run(lt_gpu_loop_graph **slot, int kind, const void *key, size_t keylen,
                    int64_t T, lt_gpu_loop_fn loop, const void *arg)
{
    cublasHandle_t h;
    if (lt_gpu_cublas(&h)) return LT_ERR;  /* before any capture: it may create the handle */
    const lt_cublas_fns *f = lt_gpu_blas();
    if (!f) return LT_ERR;
    lt_gpu_loop_stats *st = &stats[kind >= 0 && kind < LT_GPU_LOOP_KINDS ? kind : 0];
    if (!slot || T < 2 || !lt_gpu_loop_graphs() || keylen > KEY_MAX || lt_gpu_capturing()) {
        st->stepwise++;
        return loop(arg, h, f);
    }
    if (!*slot) {
        *slot = (lt_gpu_loop_graph *)calloc(1, sizeof **slot);
        if (!*slot) return lt_error("out of memory");
    }
    lt_gpu_loop_graph *g = *slot;
    cudaStream_t s = lt_gpu_stream();
    int same = g->keylen == keylen && !memcmp(g->key, key, keylen);
    st->repeats += same;  /* (the emulation counts these too: the keys hold still) */
    if (g->failed) {
        memcpy(g->key, key, keylen);
        g->keylen = keylen;
    } else if (same && g->exec) {
        if (cudaGraphLaunch(g->exec, s) == cudaSuccess) {
            st->replays++;
            return LT_OK;
        }
        (void)cudaGetLastError();
        g->failed = 1;
    } else if (!same) {  /* a new key: launch by launch this once */
        if (g->exec) cudaGraphExecDestroy(g->exec);
        g->exec = NULL;
        memcpy(g->key, key, keylen);
        g->keylen = keylen;
    } else {  /* seen before: capture */
        cudaGraph_t graph = NULL;
        if (cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal) == cudaSuccess) {
            int rc = loop(arg, h, f);  /* recorded, not run */
            cudaError_t e = cudaStreamEndCapture(s, &graph);
            if (rc == LT_OK && e == cudaSuccess && graph &&
                cudaGraphInstantiate(&g->exec, graph, 0) == cudaSuccess &&
                cudaGraphLaunch(g->exec, s) == cudaSuccess) {
                cudaGraphDestroy(graph);
                st->captures++;
                return LT_OK;
            }
        }
        if (graph) cudaGraphDestroy(graph);
        if (g->exec) cudaGraphExecDestroy(g->exec);
        g->exec = NULL;
        g->failed = 1;
        (void)cudaGetLastError();  /* the failed capture's error is not the caller's */
    }
    st->stepwise++;
    return loop(arg, h, f);
}
