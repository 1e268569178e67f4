/*
 * lt_nccl.h — NCCL for device tensors (gpu/nccl.cu), in plain C: collectives between processes
 * that each drive their own GPU, on luatorch's one CUDA stream, with NCCL (libnccl.so.2 of the
 * CUDA toolkit, or PyTorch's copy) loaded at run time as cuBLAS is (gpu/cublas.cu).
 *
 * The distributed module (lua/distributed/core.c) is a shared module of its own that never sees
 * the core's symbols (a stock lua5.4 loads torch/core.so RTLD_LOCAL), so it reaches these
 * functions through a table: torch.core stores a light userdata pointing to lt_nccl_api in the
 * Lua registry under LT_NCCL_KEY (absent in a build without CUDA). The MPI side (who makes the
 * unique id, who receives it, whether every rank agrees) stays in that module; here is one
 * process's part only: one communicator per process, on the current device.
 *
 * Every function that can fail returns 0 (LT_OK) or -1 (LT_ERR) and leaves a message in the
 * core's error buffer (luatorch_errmsg(), luatorch_raise()) naming the NCCL or CUDA call.
 *
 * Not run on a real GPU yet: no GPU was lent while this was written. Without one, the loading
 * and ncclGetUniqueId are exercised against the real libnccl and ncclCommInitRank's failure
 * (tools/nccl_check.c, spec 53); the collectives themselves have not run.
 */
#ifndef LT_NCCL_H
#define LT_NCCL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LT_NCCL_KEY "luatorch.nccl"   /* registry field: light userdata -> const lt_nccl_api */
#define LT_NCCL_ID_BYTES 128          /* NCCL_UNIQUE_ID_BYTES                               */
#define LT_NCCL_API_VERSION 1

/* reductions, numbered as the distributed module's ops ('mean' is a sum, then a division) */
enum { LT_NCCL_SUM = 0, LT_NCCL_MEAN = 1, LT_NCCL_MAX = 2, LT_NCCL_MIN = 3 };

struct lt_tensor;                         /* luatorch_tensor                                */
typedef struct lt_nccl_event lt_nccl_event; /* a CUDA event recorded after a collective     */

typedef struct lt_nccl_api {
    int    version;                       /* LT_NCCL_API_VERSION                              */
    size_t size;                          /* sizeof(lt_nccl_api)                              */
    /* "LUATORCH_NCCL=0 ..." when the environment turns NCCL off, else NULL */
    const char *(*disabled)(void);
    /* NULL when libnccl is loaded with every symbol needed (loads it on first call), else why
     * not: disabled, the emulated device, dlopen's messages, a missing symbol. Never fails. */
    const char *(*unavailable)(void);
    /* "libnccl.so.2 (NCCL 2.28.9)": what was loaded; "" before a successful load */
    const char *(*library)(void);
    /* The PCI bus id of the current device into buf (two ranks with the same one on a node
     * share a GPU); -1 when there is no usable device (the message says why). */
    int (*device_bus_id)(char *buf, int len);
    /* ncclGetUniqueId (one rank makes it; every rank passes it to comm_init) */
    int (*unique_id)(unsigned char id[LT_NCCL_ID_BYTES]);
    /* ncclCommInitRank on the current device: this process's communicator (one at most).
     * Blocking and collective: every rank of nranks calls it with the same id. */
    int (*comm_init)(int nranks, const unsigned char id[LT_NCCL_ID_BYTES], int rank);
    /* 1 when a communicator is up (and not aborted) */
    int (*comm_live)(void);
    /* Waits (timeout_s > 0: at most that long, then aborts) for the work queued so far, then
     * ncclCommDestroy; after an error or a timeout ncclCommAbort. Never fails; no-op without a
     * communicator. */
    void (*comm_free)(double timeout_s);
    /* 1 when NCCL has a type for t's dtype (every dtype but bfloat16), else 0 */
    int (*supports)(const struct lt_tensor *t);
    /* The collectives, queued on luatorch's stream; tensors contiguous, on the device, of one
     * dtype (the caller checked the sizes: out/in of all_gather have nranks times the elements
     * of t/out). In place for all_reduce and broadcast. 'mean' queues a division by nranks
     * after the sum (the same bits as the host path's sum then divide). */
    int (*all_reduce)(struct lt_tensor *t, int op);
    int (*broadcast)(struct lt_tensor *t, int root);
    int (*all_gather)(struct lt_tensor *out, const struct lt_tensor *t);
    int (*reduce_scatter)(struct lt_tensor *out, const struct lt_tensor *in, int op);
    /* An event recorded on the stream after the collectives queued so far (a new one). */
    int (*event_record)(lt_nccl_event **ev);
    /* Waits for ev, polling ncclCommGetAsyncError: an NCCL error, or more than timeout_s
     * seconds (> 0; 0 waits forever), aborts the communicator (ncclCommAbort) and fails, so a
     * rank that died never leaves the others hanging. */
    int (*event_wait)(lt_nccl_event *ev, double timeout_s);
    /* *done = 1 when ev has completed; fails as event_wait on an NCCL error */
    int (*event_test)(lt_nccl_event *ev, int *done);
    void (*event_free)(lt_nccl_event *ev);   /* NULL ok; the work need not have completed */
} lt_nccl_api;

/* The table (gpu/nccl.cu), or NULL in a build without CUDA (gpu/stub.c). */
const lt_nccl_api *lt_gpu_nccl(void);

#ifdef __cplusplus
}
#endif

#endif
