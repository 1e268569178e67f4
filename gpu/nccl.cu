/*
 * nccl.cu — NCCL, loaded at run time, for the distributed module's device collectives (the
 * interface and its caveats: lt_nccl.h). Like cuBLAS (gpu/cublas.cu) the library is dlopen'ed:
 * the toolkit's libnccl cannot travel to a lent GPU machine, which has PyTorch's copy, and a
 * build must not need NCCL to link. Looked up in order: $LUATORCH_NCCL when it is a path
 * (LUATORCH_NCCL=0 turns NCCL off), libnccl.so.2 (the loader's search: LD_LIBRARY_PATH, the
 * ld.so cache), then the CUDA toolkit's library directories (the one this build linked
 * against, /usr/local/cuda/lib64, /usr/local/cuda/targets/x86_64-linux/lib).
 *
 * One communicator per process, on the current device; collectives go on luatorch's one
 * stream (lt_gpu_stream()), so they are ordered with every kernel before and after them.
 * Waits poll a CUDA event and ncclCommGetAsyncError, and abort the communicator on an NCCL
 * error or past the timeout: a dead peer leaves its NCCL kernels spinning on the GPU, and
 * only ncclCommAbort stops them.
 *
 * The emulated device (make CUDA=emu) has no NCCL (its "device memory" is host memory that
 * NCCL cannot reach): there `unavailable` says so and the rest is compiled but never reached.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpu_internal.h"
#include "lt_nccl.h"

/* NCCL's types: from the toolkit's nccl.h when the compiler finds it (nvcc looks in the
 * toolkit's include directory), else the few this file needs, declared as NCCL 2.x's header
 * declares them (their values are NCCL's stable ABI). */
#if !defined(LT_CUDA_EMU) && defined(__has_include)
#if __has_include(<nccl.h>)
#include <nccl.h>
#define LT_HAVE_NCCL_H 1
#endif
#endif
#ifndef LT_HAVE_NCCL_H
typedef struct ncclComm *ncclComm_t;
typedef struct { char internal[128]; } ncclUniqueId;
typedef enum { ncclSuccess = 0, ncclUnhandledCudaError = 1, ncclSystemError = 2,
               ncclInternalError = 3, ncclInvalidArgument = 4, ncclInvalidUsage = 5,
               ncclRemoteError = 6, ncclInProgress = 7 } ncclResult_t;
typedef enum { ncclInt8 = 0, ncclUint8 = 1, ncclInt32 = 2, ncclUint32 = 3, ncclInt64 = 4,
               ncclUint64 = 5, ncclFloat16 = 6, ncclFloat32 = 7, ncclFloat64 = 8 } ncclDataType_t;
typedef enum { ncclSum = 0, ncclProd = 1, ncclMax = 2, ncclMin = 3 } ncclRedOp_t;
#endif
static_assert(sizeof(ncclUniqueId) == LT_NCCL_ID_BYTES, "ncclUniqueId is 128 bytes");

/* NCCL's entry points (the 2.x API; ncclGetLastError is 2.13's, optional) */
static struct {
    ncclResult_t (*get_version)(int *version);
    ncclResult_t (*get_unique_id)(ncclUniqueId *id);
    ncclResult_t (*comm_init_rank)(ncclComm_t *comm, int nranks, ncclUniqueId id, int rank);
    ncclResult_t (*comm_destroy)(ncclComm_t comm);
    ncclResult_t (*comm_abort)(ncclComm_t comm);
    ncclResult_t (*comm_get_async_error)(ncclComm_t comm, ncclResult_t *err);
    const char *(*get_error_string)(ncclResult_t r);
    const char *(*get_last_error)(ncclComm_t comm);
    ncclResult_t (*all_reduce)(const void *send, void *recv, size_t count, ncclDataType_t dt,
                               ncclRedOp_t op, ncclComm_t comm, cudaStream_t s);
    ncclResult_t (*broadcast)(const void *send, void *recv, size_t count, ncclDataType_t dt,
                              int root, ncclComm_t comm, cudaStream_t s);
    ncclResult_t (*all_gather)(const void *send, void *recv, size_t sendcount, ncclDataType_t dt,
                               ncclComm_t comm, cudaStream_t s);
    ncclResult_t (*reduce_scatter)(const void *send, void *recv, size_t recvcount,
                                   ncclDataType_t dt, ncclRedOp_t op, ncclComm_t comm,
                                   cudaStream_t s);
} nc;

static int loaded;                 /* 0 not tried, 1 ok, -1 failed                          */
static char why[1024];             /* why not, when loaded < 0                              */
static char library[256];          /* "libnccl.so.2 (NCCL 2.28.9)"                           */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static ncclComm_t comm;            /* this process's communicator, or NULL                  */
static int comm_nranks;
static char aborted[512];          /* why the communicator was aborted ("" when it was not) */

static const char *disabled(void)
{
    const char *env = getenv("LUATORCH_NCCL");
    return env && strcmp(env, "0") == 0 ? "LUATORCH_NCCL=0 turns NCCL off" : NULL;
}

#ifdef LT_CUDA_EMU
static int load(void)
{
    snprintf(why, sizeof why, "the emulated device (make CUDA=emu) has no NCCL");
    return -1;
}
#else
#ifndef LT_CUDA_LIBDIR
#define LT_CUDA_LIBDIR "/usr/local/cuda/lib64"
#endif
static int load(void)
{
    const char *env = getenv("LUATORCH_NCCL");
    const char *names[] = {env && strchr(env, '/') ? env : NULL, "libnccl.so.2",
                           LT_CUDA_LIBDIR "/libnccl.so.2", "/usr/local/cuda/lib64/libnccl.so.2",
                           "/usr/local/cuda/targets/x86_64-linux/lib/libnccl.so.2"};
    void *h = NULL;
    size_t at = 0;
    for (size_t i = 0; i < sizeof names / sizeof *names && !h; i++) {
        if (!names[i]) continue;
        h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (h) snprintf(library, sizeof library, "%s", names[i]);
        else if (at < sizeof why)
            at += (size_t)snprintf(why + at, sizeof why - at, "%s%s", at ? "; " : "", dlerror());
    }
    if (!h) return -1;
    struct { void **slot; const char *sym; int optional; } syms[] = {
        {(void **)&nc.get_version, "ncclGetVersion", 0},
        {(void **)&nc.get_unique_id, "ncclGetUniqueId", 0},
        {(void **)&nc.comm_init_rank, "ncclCommInitRank", 0},
        {(void **)&nc.comm_destroy, "ncclCommDestroy", 0},
        {(void **)&nc.comm_abort, "ncclCommAbort", 0},
        {(void **)&nc.comm_get_async_error, "ncclCommGetAsyncError", 0},
        {(void **)&nc.get_error_string, "ncclGetErrorString", 0},
        {(void **)&nc.get_last_error, "ncclGetLastError", 1},
        {(void **)&nc.all_reduce, "ncclAllReduce", 0},
        {(void **)&nc.broadcast, "ncclBroadcast", 0},
        {(void **)&nc.all_gather, "ncclAllGather", 0},
        {(void **)&nc.reduce_scatter, "ncclReduceScatter", 0},
    };
    for (size_t i = 0; i < sizeof syms / sizeof *syms; i++) {
        *syms[i].slot = dlsym(h, syms[i].sym);
        if (!*syms[i].slot && !syms[i].optional) {
            snprintf(why, sizeof why, "%s has no %s (NCCL 2.4 or newer is needed)", library,
                     syms[i].sym);
            return -1;
        }
    }
    int v = 0;
    if (nc.get_version(&v) == ncclSuccess) {
        /* 2.9 and newer: major * 10000 + minor * 100 + patch; older: * 1000 + * 100 */
        int major = v >= 10000 ? v / 10000 : v / 1000;
        int minor = v >= 10000 ? v / 100 % 100 : v / 100 % 10;
        size_t n = strlen(library);
        snprintf(library + n, sizeof library - n, " (NCCL %d.%d.%d)", major, minor, v % 100);
    }
    return 1;
}
#endif

static const char *unavailable(void)
{
    const char *off = disabled();
    if (off) return off;
    pthread_mutex_lock(&lock);
    if (!loaded) loaded = load();
    pthread_mutex_unlock(&lock);
    return loaded > 0 ? NULL : why;
}

static const char *library_name(void) { return loaded > 0 ? library : ""; }

/* "ncclAllReduce: unhandled cuda error (Cuda failure 'out of memory')" */
static int nccl_fail(const char *call, ncclResult_t r)
{
    const char *last = nc.get_last_error ? nc.get_last_error(comm) : NULL;
    return lt_error("%s: %s%s%s%s", call, nc.get_error_string(r), last && *last ? " (" : "",
                    last && *last ? last : "", last && *last ? ")" : "");
}

#define NCCL_TRY(name, call)                                                   \
    do {                                                                       \
        ncclResult_t lt_nccl_r_ = (call);                                      \
        if (lt_nccl_r_ != ncclSuccess) return nccl_fail(name, lt_nccl_r_);     \
    } while (0)

static int device_bus_id(char *buf, int len)
{
    if (lt_gpu_require() != LT_OK) return LT_ERR;
    int dev = 0;
    LT_CUDA("cudaGetDevice", cudaGetDevice(&dev));
    LT_CUDA("cudaDeviceGetPCIBusId", cudaDeviceGetPCIBusId(buf, len, dev));
    return LT_OK;
}

static int unique_id(unsigned char id[LT_NCCL_ID_BYTES])
{
    const char *no = unavailable();
    if (no) return lt_error("ncclGetUniqueId: NCCL is not available (%s)", no);
    ncclUniqueId u;
    NCCL_TRY("ncclGetUniqueId", nc.get_unique_id(&u));
    memcpy(id, &u, sizeof u);
    return LT_OK;
}

static int comm_init(int nranks, const unsigned char id[LT_NCCL_ID_BYTES], int rank)
{
    const char *no = unavailable();
    if (no) return lt_error("ncclCommInitRank: NCCL is not available (%s)", no);
    if (comm) return lt_error("ncclCommInitRank: this process has a communicator already");
    ncclUniqueId u;
    memcpy(&u, id, sizeof u);
    ncclComm_t c = NULL;
    (void)lt_gpu_stream();   /* the stream (and CUDA's context) first, on the current device */
    ncclResult_t r = nc.comm_init_rank(&c, nranks, u, rank);
    if (r != ncclSuccess) {
        nccl_fail("ncclCommInitRank", r);
        if (c) nc.comm_abort(c);
        return LT_ERR;
    }
    comm = c;
    comm_nranks = nranks;
    aborted[0] = 0;
    return LT_OK;
}

static int comm_live(void) { return comm != NULL; }

/* ncclCommAbort after an error or a timeout: the message stays for later calls */
static void comm_abort(const char *msg)
{
    snprintf(aborted, sizeof aborted, "%s", msg);
    if (comm) nc.comm_abort(comm);
    comm = NULL;
}

static int need_comm(const char *call)
{
    if (comm) return LT_OK;
    if (aborted[0])
        return lt_error("%s: the NCCL communicator was aborted after an earlier failure (%s)",
                        call, aborted);
    return lt_error("%s: no NCCL communicator (dist.deviceBackend() is not 'nccl')", call);
}

static int supports(const lt_tensor *t) { return t->dtype != LT_BFLOAT16; }

static ncclDataType_t nccl_type(lt_dtype dt)
{
    switch (dt) {
    case LT_FLOAT32: return ncclFloat32;
    case LT_FLOAT64: return ncclFloat64;
    case LT_INT64: return ncclInt64;
    default: return ncclUint8;
    }
}

static ncclRedOp_t nccl_op(int op)
{
    return op == LT_NCCL_MAX ? ncclMax : op == LT_NCCL_MIN ? ncclMin : ncclSum;
}

/* a collective queued while a CUDA graph captures would be recorded into it */
static int check_queue(const char *call)
{
    if (need_comm(call) != LT_OK) return LT_ERR;
    if (lt_gpu_capturing())
        return lt_error("%s: a collective during a CUDA graph capture (run it outside "
                        "torch.cuda.graph)", call);
    return LT_OK;
}

static int all_reduce(lt_tensor *t, int op)
{
    if (check_queue("ncclAllReduce") != LT_OK) return LT_ERR;
    int64_t n = lt_numel(t);
    if (n > 0)
        NCCL_TRY("ncclAllReduce", nc.all_reduce(lt_data(t), lt_data(t), (size_t)n,
                                                nccl_type(t->dtype), nccl_op(op), comm,
                                                lt_gpu_stream()));
    /* queued after the sum on the one stream; x / n as the host path divides */
    if (op == LT_NCCL_MEAN && n > 0) return lt_binary_scalar(t, LT_OP_DIV, t, comm_nranks);
    return LT_OK;
}

static int broadcast(lt_tensor *t, int root)
{
    if (check_queue("ncclBroadcast") != LT_OK) return LT_ERR;
    int64_t n = lt_numel(t);
    if (n > 0)
        NCCL_TRY("ncclBroadcast", nc.broadcast(lt_data(t), lt_data(t), (size_t)n,
                                               nccl_type(t->dtype), root, comm, lt_gpu_stream()));
    return LT_OK;
}

static int all_gather(lt_tensor *out, const lt_tensor *t)
{
    if (check_queue("ncclAllGather") != LT_OK) return LT_ERR;
    int64_t n = lt_numel(t);
    if (n > 0)
        NCCL_TRY("ncclAllGather", nc.all_gather(lt_data(t), lt_data(out), (size_t)n,
                                                nccl_type(t->dtype), comm, lt_gpu_stream()));
    return LT_OK;
}

static int reduce_scatter(lt_tensor *out, const lt_tensor *in, int op)
{
    if (check_queue("ncclReduceScatter") != LT_OK) return LT_ERR;
    int64_t n = lt_numel(out);
    if (n > 0)
        NCCL_TRY("ncclReduceScatter", nc.reduce_scatter(lt_data(in), lt_data(out), (size_t)n,
                                                        nccl_type(out->dtype), nccl_op(op), comm,
                                                        lt_gpu_stream()));
    if (op == LT_NCCL_MEAN && n > 0) return lt_binary_scalar(out, LT_OP_DIV, out, comm_nranks);
    return LT_OK;
}

/* ---- events and the watchdog ---- */

struct lt_nccl_event { cudaEvent_t ev; };

static int event_record(lt_nccl_event **out)
{
    *out = NULL;
    if (need_comm("cudaEventRecord") != LT_OK) return LT_ERR;
    lt_nccl_event *e = (lt_nccl_event *)calloc(1, sizeof *e);
    if (!e) return lt_error("cudaEventRecord: out of host memory");
    cudaError_t r = cudaEventCreateWithFlags(&e->ev, cudaEventDisableTiming);
    if (r != cudaSuccess) {
        free(e);
        return lt_gpu_fail("cudaEventCreateWithFlags", r);
    }
    r = cudaEventRecord(e->ev, lt_gpu_stream());
    if (r != cudaSuccess) {
        cudaEventDestroy(e->ev);
        free(e);
        return lt_gpu_fail("cudaEventRecord", r);
    }
    *out = e;
    return LT_OK;
}

static void event_free(lt_nccl_event *e)
{
    if (!e) return;
    cudaEventDestroy(e->ev);
    free(e);
}

/* One look at ev: 1 done, 0 not yet, LT_ERR (communicator aborted) on an NCCL or CUDA error. */
static int event_poll(lt_nccl_event *e)
{
    cudaError_t r = cudaEventQuery(e->ev);
    if (r == cudaSuccess) return 1;
    if (r != cudaErrorNotReady) {
        lt_gpu_fail("cudaEventQuery", r);
        char msg[512];
        snprintf(msg, sizeof msg, "%s", lt_errmsg());
        comm_abort(msg);
        return lt_error("%s (the NCCL communicator is aborted)", msg);
    }
    if (!comm) return need_comm("ncclCommGetAsyncError");
    ncclResult_t ae = ncclSuccess;
    ncclResult_t q = nc.comm_get_async_error(comm, &ae);
    if (q != ncclSuccess || (ae != ncclSuccess && ae != ncclInProgress)) {
        nccl_fail("ncclCommGetAsyncError", q != ncclSuccess ? q : ae);
        char msg[512];
        snprintf(msg, sizeof msg, "%s", lt_errmsg());
        comm_abort(msg);
        return lt_error("NCCL failed (%s); the communicator is aborted: another rank may "
                        "have died", msg);
    }
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int event_wait(lt_nccl_event *e, double timeout_s)
{
    double t0 = now_s();
    long pause_ns = 1000;   /* polls back off from 1 us to about 100 us */
    for (;;) {
        int done = event_poll(e);
        if (done) return done < 0 ? LT_ERR : LT_OK;
        if (timeout_s > 0 && now_s() - t0 > timeout_s) {
            char msg[512];
            snprintf(msg, sizeof msg, "waited more than %g s for NCCL (dist.setTimeout)",
                     timeout_s);
            comm_abort(msg);
            return lt_error("%s: another rank has stopped taking part (its script ended early, "
                            "it hangs or died, or it waits in another collective); the NCCL "
                            "communicator is aborted", msg);
        }
        struct timespec ts = {0, pause_ns};
        nanosleep(&ts, NULL);
        if (pause_ns < 100000) pause_ns *= 2;
    }
}

static int event_test(lt_nccl_event *e, int *done)
{
    int r = event_poll(e);
    *done = r > 0;
    return r < 0 ? LT_ERR : LT_OK;
}

static void comm_free(double timeout_s)
{
    if (!comm) return;
    lt_nccl_event *e = NULL;
    if (event_record(&e) == LT_OK && event_wait(e, timeout_s) == LT_OK) {
        nc.comm_destroy(comm);
        comm = NULL;
    }
    event_free(e);
    if (comm) comm_abort("finalize");   /* an error or a timeout: nothing more will be waited for */
}

static const lt_nccl_api api = {
    LT_NCCL_API_VERSION, sizeof(lt_nccl_api), disabled, unavailable, library_name, device_bus_id,
    unique_id, comm_init, comm_live, comm_free, supports, all_reduce, broadcast, all_gather,
    reduce_scatter, event_record, event_wait, event_test, event_free,
};

extern "C" const lt_nccl_api *lt_gpu_nccl(void) { return &api; }
