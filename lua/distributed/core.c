/*
 * distributed/core.c — the MPI binding behind `require 'distributed'` (module distributed.core),
 * built as its own shared module against the public C API (include/luatorch.h) and linked with
 * OpenMPI (`mpicc --showme` flags), so that luatorch itself never needs libmpi: only a script
 * that requires 'distributed' loads it.
 *
 *   init()  rank()  size()  localRank()  barrier()  finalize()  isInitialized()
 *   allReduce(t [, op])  broadcast(t, root)  allGather(out, t)  reduceScatter(out, t [, op])
 *   iallReduce(t [, op]) -> handle; handle:wait() -> t;  handle:test() -> done
 *   deviceBackend() -> 'nccl' | 'host', why
 *
 * Every collective works in place on contiguous tensors (float, double, long, byte) over
 * MPI_COMM_WORLD with MPI_ERRORS_RETURN, so an MPI failure is a Lua error naming the function.
 * Device tensors go through NCCL (gpu/nccl.cu, reached through the table torch.core registers:
 * gpu/lt_nccl.h) when every rank can use it: decided once, by every rank together, at the
 * first device collective (or deviceBackend()); otherwise through host buffers (a copy to the
 * host, MPI, a copy back). The NCCL path has not run on a real GPU; the host staging has run
 * on the emulated device only (make CUDA=emu).
 * Before each collective the ranks all-reduce (MPI_MAX) a small signature (element count,
 * dtype and device, op, root, each also negated for the minimum): a rank calling with another size
 * raises the same clear error on every rank instead of corrupting memory or hanging
 * (setChecks(false) leaves that out: one small all-reduce less per call).
 * After init, the luatorch executable calls the registry hook "luatorch.onfailure" when a
 * script ends in an error; here it is MPI_Abort, so the other ranks do not wait forever.
 * A rank that dies (a signal, os.exit) is mpirun's to see: it ends the job. A rank that stops
 * taking part without dying (its script ended early, it hangs) is caught by a watchdog thread:
 * a rank that has waited in one MPI call longer than setTimeout's seconds (default
 * LUATORCH_DIST_TIMEOUT, else 1800 as PyTorch's) prints which call and exits with status 1,
 * which makes mpirun end the job. The thread only reads a deadline the calls set and clear
 * (two atomic stores per call), so the collectives themselves are the plain blocking ones.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdatomic.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <mpi.h>

#include <luatorch.h>

#include "../../gpu/lt_nccl.h"

/* OpenMPI keeps (never frees) much of what MPI_Init, MPI_Finalize and the first collectives
 * (connection setup) allocate; in a sanitizer build those blocks are not reported as leaks
 * (LeakSanitizer ignores what a thread allocates between __lsan_disable and __lsan_enable),
 * so leaks of our own still are. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DIST_ASAN 1   /* clang's spelling */
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(DIST_ASAN)
#include <sanitizer/lsan_interface.h>
#define LSAN_OFF() __lsan_disable()
#define LSAN_ON() __lsan_enable()
#else
#define LSAN_OFF() ((void)0)
#define LSAN_ON() ((void)0)
#endif

#define HANDLE_MT "distributed.Handle"
#define FAILURE_HOOK "luatorch.onfailure"

static int world_rank = 0, world_size = 1, local_rank = 0;
static int we_initialized = 0;   /* MPI_Init_thread was ours, so MPI_Finalize is too */

static int mpi_live(void)
{
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    return init && !fin;
}

static int check_live(lua_State *L, const char *fname)
{
    if (!mpi_live())
        return luaL_error(L, "%s: MPI is not running (call dist.init() first%s)", fname,
                          we_initialized ? "; dist.finalize() has been called" : "");
    return 0;
}

static int mpi_error(lua_State *L, const char *fname, int code)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, msg, &len) != MPI_SUCCESS) snprintf(msg, sizeof msg, "code %d", code);
    return luaL_error(L, "%s: MPI failed on rank %d of %d: %s", fname, world_rank, world_size, msg);
}

/* ---- the watchdog ------------------------------------------------------------------------- */

static double timeout_s = -1;                 /* < 0: not read from the environment yet    */
static _Atomic int64_t watch_deadline;        /* CLOCK_MONOTONIC ns; 0: in no MPI call     */
static const char *_Atomic watch_fname;       /* the call being waited in                  */
static int watch_started;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *watchdog(void *arg)
{
    const struct timespec tick = {0, 200000000};   /* 0.2 s: the timeout's resolution */
    for (;;) {
        nanosleep(&tick, NULL);
        int64_t d = atomic_load(&watch_deadline);
        if (d && now_ns() > d) {
            /* stdio from a second thread is fine; MPI calls are not (MPI_THREAD_FUNNELED) */
            fprintf(stderr, "distributed: rank %d of %d waited more than %g s in %s (dist.setTimeout): "
                    "another rank has stopped taking part (its script ended early, or it hangs or "
                    "waits in another collective); exiting so that mpirun ends every rank\n",
                    world_rank, world_size, timeout_s, atomic_load(&watch_fname));
            fflush(stderr);
            _exit(1);
        }
    }
    return NULL;
}

/* the timeout, from LUATORCH_DIST_TIMEOUT (seconds) on first use, else 1800 */
static double timeout_read(void)
{
    if (timeout_s < 0) {
        const char *env = getenv("LUATORCH_DIST_TIMEOUT");
        char *end = NULL;
        double v = env ? strtod(env, &end) : 0;
        timeout_s = env && end != env && v >= 0 && v < 1e9 ? v : 1800;
    }
    return timeout_s;
}

static void watch_begin(const char *fname)
{
    if (timeout_s <= 0 || world_size < 2) return;
    if (!watch_started) {
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        LSAN_OFF();
        watch_started = pthread_create(&th, &attr, watchdog, NULL) == 0;
        LSAN_ON();
        pthread_attr_destroy(&attr);
    }
    atomic_store(&watch_fname, fname);
    atomic_store(&watch_deadline, now_ns() + (int64_t)(timeout_s * 1e9));
}

static void watch_end(void) { atomic_store(&watch_deadline, 0); }

#define MPI_TRY(L, fname, call) \
    do {                                                                                     \
        watch_begin(fname);                                                                  \
        LSAN_OFF();                                                                          \
        int rc_ = (call);                                                                    \
        LSAN_ON();                                                                           \
        watch_end();                                                                         \
        if (rc_ != MPI_SUCCESS) mpi_error((L), (fname), rc_);                                \
    } while (0)

/* ---- ops and dtypes ----------------------------------------------------------------------- */

enum { OP_SUM, OP_MEAN, OP_MAX, OP_MIN };
static const char *const op_names[] = {"sum", "mean", "max", "min", NULL};

static MPI_Op mpi_op(int op)
{
    return op == OP_MAX ? MPI_MAX : op == OP_MIN ? MPI_MIN : MPI_SUM;
}

static MPI_Datatype mpi_type(luatorch_dtype dt)
{
    switch (dt) {
    case LUATORCH_FLOAT32: return MPI_FLOAT;
    case LUATORCH_FLOAT64: return MPI_DOUBLE;
    case LUATORCH_INT64: return MPI_INT64_T;
    default: return MPI_UINT8_T;
    }
}

/* The tensor argument at arg: a live, contiguous tensor with fewer than 2^31 elements (MPI
 * counts are ints). */
static luatorch_tensor *check_buffer(lua_State *L, int arg, const char *fname)
{
    luatorch_tensor *t = luatorch_checktensor(L, arg);
    char shape[128];
    if (!luatorch_is_contiguous(t))
        luaL_argerror(L, arg, lua_pushfstring(L, "a contiguous tensor expected, got a "
                      "non-contiguous %s of size %s (call :contiguous() and copy back)",
                      luatorch_typename(t), luatorch_shape_str(t, shape, sizeof shape)));
    if (luatorch_numel(t) > 0x7fffffff)
        luaL_argerror(L, arg, lua_pushfstring(L, "at most 2^31-1 elements, got %I",
                      (lua_Integer)luatorch_numel(t)));
    return t;
}

static int check_op(lua_State *L, int arg, luatorch_tensor *t)
{
    int op = luaL_checkoption(L, arg, "sum", op_names);
    if (op == OP_MEAN && luatorch_get_dtype(t) != LUATORCH_FLOAT32 &&
        luatorch_get_dtype(t) != LUATORCH_FLOAT64)
        luaL_argerror(L, arg, lua_pushfstring(L, "'mean' needs a float or double tensor, got "
                      "a %s (use 'sum')", luatorch_typename(t)));
    return op;
}

static void divide(luatorch_tensor *t, double by)
{
    int64_t n = luatorch_numel(t);
    if (luatorch_get_dtype(t) == LUATORCH_FLOAT32) {
        float *p = luatorch_data(t);
        for (int64_t i = 0; i < n; i++) p[i] = (float)(p[i] / by);
    } else {
        double *p = luatorch_data(t);
        for (int64_t i = 0; i < n; i++) p[i] /= by;
    }
}

/* Every rank must call a collective with the same signature; each value is all-reduced as
 * max(v) and max(-v) = -min(v), so a difference is seen by all ranks at once. */
static int checks_on = 1;   /* setChecks */

static int on_device(const luatorch_tensor *t) { return luatorch_get_device(t) != LUATORCH_CPU; }

/* t: the tensor whose size is checked; other: the call's second tensor (or NULL), whose device
 * counts too (NCCL is taken only when every tensor of the call is on the device) */
static void check_agree(lua_State *L, const char *fname, luatorch_tensor *t,
                        luatorch_tensor *other, int op, int root)
{
    if (!checks_on) return;
    int64_t numel = luatorch_numel(t);
    int64_t type = 4 * (int64_t)luatorch_get_dtype(t) + 2 * on_device(t) +
                   (other ? on_device(other) : on_device(t));
    int64_t sig[8] = {numel, -numel, type, -type, op, -op, root, -root};
    MPI_TRY(L, fname, MPI_Allreduce(MPI_IN_PLACE, sig, 8, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD));
    if (sig[0] != -sig[1])
        luaL_error(L, "%s: the ranks passed tensors of different sizes (from %I to %I elements; "
                   "this is rank %d with %I): every rank must pass the same size", fname,
                   (lua_Integer)-sig[1], (lua_Integer)sig[0], world_rank, (lua_Integer)numel);
    if (sig[2] != -sig[3])
        luaL_error(L, "%s: the ranks passed tensors of different types (this is rank %d with a "
                   "%s): every rank must pass the same tensor type, on the host or on a device "
                   "alike", fname, world_rank, luatorch_typename(t));
    if (sig[4] != -sig[5])
        luaL_error(L, "%s: the ranks passed different ops (this is rank %d with '%s')", fname,
                   world_rank, op_names[op]);
    if (sig[6] != -sig[7])
        luaL_error(L, "%s: the ranks passed different roots (from %I to %I; this is rank %d)",
                   fname, (lua_Integer)-sig[7], (lua_Integer)sig[6], world_rank);
}

/* ---- device tensors: staged through host buffers -------------------------------------------- */

/* The tensor MPI reads and writes for t: t itself on the host; for a device tensor a new host
 * tensor of its dtype and shape (pushed on the Lua stack, so the collector frees it whatever
 * error comes), holding t's values when copy_in. */
static luatorch_tensor *stage(lua_State *L, luatorch_tensor *t, int copy_in, const char *fname)
{
    if (luatorch_get_device(t) == LUATORCH_CPU) return t;
    luatorch_tensor *h = luatorch_pushtensor(L, luatorch_new(luatorch_get_dtype(t), luatorch_ndim(t),
                                                             luatorch_sizes(t)));
    if (copy_in && luatorch_copy(h, t) != LUATORCH_OK) luatorch_raise(L, fname);
    return h;
}

/* the result back into the device tensor t */
static void unstage(lua_State *L, luatorch_tensor *t, luatorch_tensor *h, const char *fname)
{
    if (h != t && luatorch_copy(t, h) != LUATORCH_OK) luatorch_raise(L, fname);
}

/* ---- device tensors: NCCL when every rank can use it ---------------------------------------- */

enum { BACKEND_UNDECIDED, BACKEND_NCCL, BACKEND_HOST };
static const char *const backend_names[] = {"undecided", "nccl", "host"};
static int backend;                  /* decided once, by every rank together                */
static char backend_why[640];        /* the reason for 'host', or NCCL's library for 'nccl' */
static const lt_nccl_api *nccl;      /* torch.core's NCCL table (gpu/lt_nccl.h), or NULL    */

#define WHY_LEN 512
#define BUS_LEN 64

/* Every rank learns the lowest-numbered rank's reason not to use NCCL ("" in why: this rank
 * has none): why becomes "rank r: <its reason>", or "" when no rank has one. Collective. */
static void agree_why(lua_State *L, const char *fname, char *why)
{
    int first = why[0] ? world_rank : world_size;
    MPI_TRY(L, fname, MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD));
    if (first == world_size) {
        why[0] = 0;
        return;
    }
    char msg[WHY_LEN];
    snprintf(msg, sizeof msg, "%s", why);
    MPI_TRY(L, fname, MPI_Bcast(msg, WHY_LEN, MPI_CHAR, first, MPI_COMM_WORLD));
    msg[WHY_LEN - 1] = 0;
    snprintf(why, WHY_LEN, "rank %d: %.480s", first, msg);
}

/* NCCL needs a GPU per rank: the ranks on this node compare their devices' PCI bus ids (bus:
 * "" without a device). Sets why when another rank here drives the same GPU. Collective. */
static void check_shared(lua_State *L, const char *fname, const char *bus, char *why)
{
    typedef struct { int rank; char bus[BUS_LEN]; } entry;
    entry me = {world_rank, ""};
    snprintf(me.bus, sizeof me.bus, "%s", bus);
    MPI_Comm node;
    LSAN_OFF();
    int rc = MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, world_rank, MPI_INFO_NULL,
                                 &node);
    LSAN_ON();
    if (rc != MPI_SUCCESS) mpi_error(L, fname, rc);
    int n = 1;
    MPI_Comm_size(node, &n);
    entry *all = lua_newuserdatauv(L, (size_t)n * sizeof *all, 0);   /* freed by the collector */
    watch_begin(fname);
    rc = MPI_Allgather(&me, (int)sizeof me, MPI_BYTE, all, (int)sizeof me, MPI_BYTE, node);
    watch_end();
    MPI_Comm_free(&node);
    if (rc != MPI_SUCCESS) mpi_error(L, fname, rc);
    for (int j = 0; j < n && bus[0] && !why[0]; j++)
        if (all[j].rank != world_rank && strcmp(all[j].bus, me.bus) == 0)
            snprintf(why, WHY_LEN, "ranks %d and %d drive the same GPU (%s): NCCL needs a GPU per "
                     "rank (CUDA_VISIBLE_DEVICES=<local rank> gives each rank its own)",
                     world_rank < all[j].rank ? world_rank : all[j].rank,
                     world_rank < all[j].rank ? all[j].rank : world_rank, me.bus);
    lua_pop(L, 1);
}

/* Whether device collectives go through NCCL: the first time, every rank checks what it can
 * (NCCL on, a device, a GPU of its own, libnccl loadable), the ranks agree, and when all can,
 * rank 0's ncclUniqueId goes to every rank and each makes its communicator; a failure there
 * is a fallback too (said on rank 0's stderr: it is unexpected). Collective the first time. */
static int backend_decide(lua_State *L, const char *fname)
{
    if (backend != BACKEND_UNDECIDED) return backend;
    char why[WHY_LEN] = "", bus[BUS_LEN] = "";
    const char *r;
    lua_getfield(L, LUA_REGISTRYINDEX, LT_NCCL_KEY);
    nccl = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (!nccl)
        snprintf(why, sizeof why, "luatorch was built without CUDA");
    else if (nccl->version != LT_NCCL_API_VERSION || nccl->size < sizeof *nccl) {
        snprintf(why, sizeof why, "torch.core's NCCL table is version %d, this module's %d "
                 "(rebuild both)", nccl->version, LT_NCCL_API_VERSION);
        nccl = NULL;
    }
    else if ((r = nccl->disabled()))
        snprintf(why, sizeof why, "%s", r);
    else if (nccl->device_bus_id(bus, sizeof bus) != LUATORCH_OK) {
        snprintf(why, sizeof why, "%s", luatorch_errmsg());   /* "no CUDA device is available (...)" */
        bus[0] = 0;
    }
    check_shared(L, fname, bus, why);
    if (!why[0] && (r = nccl->unavailable())) snprintf(why, sizeof why, "%s", r);
    agree_why(L, fname, why);
    unsigned char id[LT_NCCL_ID_BYTES] = {0};
    int tried = 0;
    if (!why[0]) {
        if (world_rank == 0 && nccl->unique_id(id) != LUATORCH_OK)
            snprintf(why, sizeof why, "%s", luatorch_errmsg());
        agree_why(L, fname, why);
    }
    if (!why[0]) {
        MPI_TRY(L, fname, MPI_Bcast(id, LT_NCCL_ID_BYTES, MPI_BYTE, 0, MPI_COMM_WORLD));
        watch_begin(fname);   /* a rank that never comes leaves the others in here */
        LSAN_OFF();
        if (nccl->comm_init(world_size, id, world_rank) != LUATORCH_OK)
            snprintf(why, sizeof why, "%s", luatorch_errmsg());
        LSAN_ON();
        watch_end();
        tried = 1;
        agree_why(L, fname, why);
    }
    if (why[0]) {
        if (tried && nccl->comm_live()) nccl->comm_free(timeout_read());
        if (tried && world_rank == 0) {
            fprintf(stderr, "distributed: NCCL could not start (%s); device tensors go through "
                    "host buffers\n", why);
            fflush(stderr);
        }
        backend = BACKEND_HOST;
        snprintf(backend_why, sizeof backend_why, "%s", why);
    } else {
        backend = BACKEND_NCCL;
        snprintf(backend_why, sizeof backend_why, "%s, %d rank%s", nccl->library(), world_size,
                 world_size == 1 ? "" : "s");
    }
    return backend;
}

/* NCCL for this call: every tensor on the device, NCCL chosen, a type NCCL has */
static int use_nccl(lua_State *L, const char *fname, luatorch_tensor *a, luatorch_tensor *b)
{
    if (!on_device(a) || (b && !on_device(b))) return 0;
    return backend_decide(L, fname) == BACKEND_NCCL && nccl->supports(a);
}

/* waits for the collectives queued so far (the watchdog: dist.setTimeout) */
static void nccl_wait(lua_State *L, const char *fname)
{
    lt_nccl_event *ev = NULL;
    if (nccl->event_record(&ev) != LUATORCH_OK) luatorch_raise(L, fname);
    int rc = nccl->event_wait(ev, timeout_read());
    nccl->event_free(ev);
    if (rc != LUATORCH_OK) luatorch_raise(L, fname);
}

/* deviceBackend() -> 'nccl' | 'host', why: how device collectives go (deciding it now, with
 * every rank, when no device collective has yet) */
static int dist_device_backend(lua_State *L)
{
    check_live(L, "deviceBackend");
    lua_pushstring(L, backend_names[backend_decide(L, "deviceBackend")]);
    lua_pushstring(L, backend_why);
    return 2;
}

/* ---- setup -------------------------------------------------------------------------------- */

static int init_mpi(int *provided)
{
    /* OpenMPI's non-blocking all-reduce (libnbc, what DDP's buckets use) picks its algorithm
     * itself unless told; for DDP's megabyte buckets that choice ran the 4 x 1024 MLP's
     * overlapped step 1.4x slower than the blocking one at 2 ranks, and the ring (the
     * bandwidth-optimal schedule for large messages) runs it at the blocking one's time
     * (bench/README.md, distributed). A value the user set wins; other MPIs ignore it. */
    setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "1", 0);
    LSAN_OFF();
    int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, provided);
    LSAN_ON();
    return rc;
}

static int finalize_mpi(void)
{
    if (backend == BACKEND_NCCL && nccl) nccl->comm_free(timeout_read());
    /* MPI_Finalize waits for the other ranks; a rank that ends early waits in this barrier
     * instead, so that a timeout never exits from inside MPI_Finalize: OpenMPI 4.1's mpirun
     * then hung or crashed reaping the ranks in 3 of 20 runs of spec 48's early-end fault
     * (0 of 100 since) */
    watch_begin("finalize");
    int rb = world_size > 1 ? MPI_Barrier(MPI_COMM_WORLD) : MPI_SUCCESS;
    LSAN_OFF();
    int rc = MPI_Finalize();
    LSAN_ON();
    watch_end();
    return rb != MPI_SUCCESS ? rb : rc;
}

static int on_failure(lua_State *L)
{
    if (mpi_live() && world_size > 1) {
        fprintf(stderr, "distributed: rank %d of %d failed (the error is above); aborting all "
                "ranks (MPI_Abort)\n", world_rank, world_size);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    return 0;
}

/* The sentinel's __gc: MPI_Finalize when the Lua state closes after a clean run. */
static int sentinel_gc(lua_State *L)
{
    if (we_initialized && mpi_live()) finalize_mpi();
    return 0;
}

static int dist_init(lua_State *L)
{
    int init = 0, provided = 0, fin = 0;
    MPI_Finalized(&fin);
    if (fin) return luaL_error(L, "init: MPI was finalized (dist.finalize()); it cannot start again");
    MPI_Initialized(&init);
    if (!init) {
        if (init_mpi(&provided) != MPI_SUCCESS)
            return luaL_error(L, "init: MPI_Init_thread failed");
        we_initialized = 1;
        /* finalised when the state closes: a full userdata with __gc kept in the registry */
        lua_newuserdatauv(L, 1, 0);
        lua_newtable(L);
        lua_pushcfunction(L, sentinel_gc);
        lua_setfield(L, -2, "__gc");
        lua_setmetatable(L, -2);
        lua_setfield(L, LUA_REGISTRYINDEX, "distributed.sentinel");
    }
    timeout_read();
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    MPI_Comm node;
    LSAN_OFF();
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, world_rank, MPI_INFO_NULL,
                            &node) == MPI_SUCCESS) {
        MPI_Comm_rank(node, &local_rank);
        MPI_Comm_free(&node);
    }
    LSAN_ON();
    lua_pushcfunction(L, on_failure);
    lua_setfield(L, LUA_REGISTRYINDEX, FAILURE_HOOK);
    lua_pushinteger(L, world_rank);
    lua_pushinteger(L, world_size);
    return 2;
}

static int dist_finalize(lua_State *L)
{
    if (mpi_live()) MPI_TRY(L, "finalize", finalize_mpi());
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, FAILURE_HOOK);
    return 0;
}

/* setTimeout(seconds): how long a rank waits in one MPI call before it gives up (0: forever);
 * returns the previous value */
static int dist_set_timeout(lua_State *L)
{
    lua_Number v = luaL_checknumber(L, 1);
    luaL_argcheck(L, v >= 0 && v < 1e9, 1, lua_pushfstring(L, "seconds from 0 (no timeout) to 1e9 "
                  "expected, got %f", v));
    lua_pushnumber(L, timeout_read());
    timeout_s = v;
    return 1;
}

/* setChecks(on): whether each collective first checks that the ranks agree (one small
 * all-reduce); returns the previous setting */
static int dist_set_checks(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TBOOLEAN);
    lua_pushboolean(L, checks_on);
    checks_on = lua_toboolean(L, 1);
    return 1;
}

static int dist_is_initialized(lua_State *L)
{
    lua_pushboolean(L, mpi_live());
    return 1;
}

static int dist_rank(lua_State *L)
{
    check_live(L, "rank");
    lua_pushinteger(L, world_rank);
    return 1;
}

static int dist_size(lua_State *L)
{
    check_live(L, "size");
    lua_pushinteger(L, world_size);
    return 1;
}

static int dist_local_rank(lua_State *L)
{
    check_live(L, "localRank");
    lua_pushinteger(L, local_rank);
    return 1;
}

static int dist_barrier(lua_State *L)
{
    check_live(L, "barrier");
    MPI_TRY(L, "barrier", MPI_Barrier(MPI_COMM_WORLD));
    return 0;
}

/* ---- collectives -------------------------------------------------------------------------- */

static int dist_all_reduce(lua_State *L)
{
    luatorch_tensor *t = check_buffer(L, 1, "allReduce");
    int op = check_op(L, 2, t);
    check_live(L, "allReduce");
    int64_t n = luatorch_numel(t);
    check_agree(L, "allReduce", t, NULL, op, 0);
    if (use_nccl(L, "allReduce", t, NULL)) {
        if (nccl->all_reduce(t, op) != LUATORCH_OK) luatorch_raise(L, "allReduce");
        nccl_wait(L, "allReduce");
        lua_settop(L, 1);
        return 1;
    }
    luatorch_tensor *h = stage(L, t, 1, "allReduce");
    if (n > 0)
        MPI_TRY(L, "allReduce", MPI_Allreduce(MPI_IN_PLACE, luatorch_data(h), (int)n,
                                              mpi_type(luatorch_get_dtype(t)), mpi_op(op),
                                              MPI_COMM_WORLD));
    if (op == OP_MEAN) divide(h, world_size);
    unstage(L, t, h, "allReduce");
    lua_settop(L, 1);
    return 1;
}

static int dist_broadcast(lua_State *L)
{
    luatorch_tensor *t = check_buffer(L, 1, "broadcast");
    lua_Integer root = luaL_checkinteger(L, 2);
    check_live(L, "broadcast");
    luaL_argcheck(L, root >= 0 && root < world_size, 2,
                  lua_pushfstring(L, "root must be a rank from 0 to %d, got %I", world_size - 1, root));
    int64_t n = luatorch_numel(t);
    check_agree(L, "broadcast", t, NULL, 0, (int)root);
    if (use_nccl(L, "broadcast", t, NULL)) {
        if (nccl->broadcast(t, (int)root) != LUATORCH_OK) luatorch_raise(L, "broadcast");
        nccl_wait(L, "broadcast");
        lua_settop(L, 1);
        return 1;
    }
    luatorch_tensor *h = stage(L, t, world_rank == root, "broadcast");
    if (n > 0)
        MPI_TRY(L, "broadcast", MPI_Bcast(luatorch_data(h), (int)n, mpi_type(luatorch_get_dtype(t)),
                                          (int)root, MPI_COMM_WORLD));
    unstage(L, t, h, "broadcast");
    lua_settop(L, 1);
    return 1;
}

/* out and t of one type; out has `world_size` times t's elements (gather) */
static void check_pair(lua_State *L, const char *fname, luatorch_tensor *big, int bigarg,
                       luatorch_tensor *small, int smallarg)
{
    if (luatorch_get_dtype(big) != luatorch_get_dtype(small))
        luaL_argerror(L, smallarg, lua_pushfstring(L, "a %s expected (the type of argument #%d), "
                      "got a %s", luatorch_typename(big), bigarg, luatorch_typename(small)));
    if (luatorch_numel(big) != luatorch_numel(small) * world_size)
        luaL_argerror(L, bigarg, lua_pushfstring(L, "%I elements expected (%d ranks times the "
                      "%I of argument #%d), got %I", (lua_Integer)(luatorch_numel(small) * world_size),
                      world_size, (lua_Integer)luatorch_numel(small), smallarg,
                      (lua_Integer)luatorch_numel(big)));
    if (luatorch_data(big) == luatorch_data(small) && luatorch_numel(small) > 0)
        luaL_argerror(L, smallarg, "must not share memory with argument #1");
}

static int dist_all_gather(lua_State *L)
{
    luatorch_tensor *out = check_buffer(L, 1, "allGather");
    luatorch_tensor *t = check_buffer(L, 2, "allGather");
    check_live(L, "allGather");
    check_pair(L, "allGather", out, 1, t, 2);
    int64_t n = luatorch_numel(t);
    check_agree(L, "allGather", t, out, 0, 0);
    if (use_nccl(L, "allGather", out, t)) {
        if (nccl->all_gather(out, t) != LUATORCH_OK) luatorch_raise(L, "allGather");
        nccl_wait(L, "allGather");
        lua_settop(L, 1);
        return 1;
    }
    MPI_Datatype ty = mpi_type(luatorch_get_dtype(t));
    luatorch_tensor *hout = stage(L, out, 0, "allGather"), *ht = stage(L, t, 1, "allGather");
    if (n > 0)
        MPI_TRY(L, "allGather", MPI_Allgather(luatorch_data(ht), (int)n, ty, luatorch_data(hout),
                                              (int)n, ty, MPI_COMM_WORLD));
    unstage(L, out, hout, "allGather");
    lua_settop(L, 1);
    return 1;
}

static int dist_reduce_scatter(lua_State *L)
{
    luatorch_tensor *out = check_buffer(L, 1, "reduceScatter");
    luatorch_tensor *t = check_buffer(L, 2, "reduceScatter");
    int op = check_op(L, 3, t);
    check_live(L, "reduceScatter");
    check_pair(L, "reduceScatter", t, 2, out, 1);
    int64_t n = luatorch_numel(out);
    check_agree(L, "reduceScatter", out, t, op, 0);
    if (use_nccl(L, "reduceScatter", out, t)) {
        if (nccl->reduce_scatter(out, t, op) != LUATORCH_OK) luatorch_raise(L, "reduceScatter");
        nccl_wait(L, "reduceScatter");
        lua_settop(L, 1);
        return 1;
    }
    luatorch_tensor *hout = stage(L, out, 0, "reduceScatter"), *ht = stage(L, t, 1, "reduceScatter");
    if (n > 0)
        MPI_TRY(L, "reduceScatter", MPI_Reduce_scatter_block(luatorch_data(ht), luatorch_data(hout),
                                    (int)n, mpi_type(luatorch_get_dtype(t)), mpi_op(op), MPI_COMM_WORLD));
    if (op == OP_MEAN) divide(hout, world_size);
    unstage(L, out, hout, "reduceScatter");
    lua_settop(L, 1);
    return 1;
}

/* ---- non-blocking all-reduce -------------------------------------------------------------- */

typedef struct {
    MPI_Request req;
    lt_nccl_event *ev;   /* through NCCL: recorded after the reduction (and the mean's division) */
    int active, op;
} handle;

/* An NCCL reduction: its event; the tensor already holds the result when it has completed. */
static int handle_complete_nccl(lua_State *L, handle *h, int block)
{
    int done = 1;
    int rc = block ? nccl->event_wait(h->ev, timeout_read()) : nccl->event_test(h->ev, &done);
    if (rc != LUATORCH_OK || done) {
        nccl->event_free(h->ev);
        h->ev = NULL;
        h->active = 0;
    }
    if (rc != LUATORCH_OK) luatorch_raise(L, block ? "wait" : "test");
    return done;
}

static int handle_complete(lua_State *L, handle *h, int block)
{
    if (h->active && h->ev) return handle_complete_nccl(L, h, block);
    if (h->active) {
        int done = 1;
        if (!mpi_live()) return luaL_error(L, "wait: MPI was finalized before the reduction completed");
        if (block) MPI_TRY(L, "wait", MPI_Wait(&h->req, MPI_STATUS_IGNORE));
        else MPI_TRY(L, "test", MPI_Test(&h->req, &done, MPI_STATUS_IGNORE));
        if (!done) return 0;
        h->active = 0;
        lua_getiuservalue(L, 1, 1);
        lua_getiuservalue(L, 1, 2);   /* the host staging of a device tensor, or nil */
        luatorch_tensor *t = luatorch_totensor(L, -2), *st = luatorch_totensor(L, -1);
        if (h->op == OP_MEAN) divide(st ? st : t, world_size);
        if (st) {
            unstage(L, t, st, block ? "wait" : "test");
            lua_pushnil(L);
            lua_setiuservalue(L, 1, 2);
        }
        lua_pop(L, 2);
    }
    return 1;
}

static int handle_wait(lua_State *L)
{
    handle *h = luaL_checkudata(L, 1, HANDLE_MT);
    handle_complete(L, h, 1);
    lua_getiuservalue(L, 1, 1);
    return 1;
}

static int handle_test(lua_State *L)
{
    handle *h = luaL_checkudata(L, 1, HANDLE_MT);
    lua_pushboolean(L, handle_complete(L, h, 0));
    return 1;
}

/* a collected handle still in flight is waited for: MPI may be writing into its tensor (NCCL's
 * writes are ordered before any later use of the memory by the one stream) */
static int handle_gc(lua_State *L)
{
    handle *h = luaL_checkudata(L, 1, HANDLE_MT);
    if (h->ev) {
        nccl->event_free(h->ev);
        h->ev = NULL;
    } else if (h->active && mpi_live()) {
        LSAN_OFF();
        MPI_Wait(&h->req, MPI_STATUS_IGNORE);
        LSAN_ON();
    }
    h->active = 0;
    return 0;
}

static int handle_tostring(lua_State *L)
{
    handle *h = luaL_checkudata(L, 1, HANDLE_MT);
    lua_pushfstring(L, "distributed.Handle (iallReduce '%s'%s, %s)", op_names[h->op],
                    h->ev ? " through NCCL" : "", h->active ? "in flight" : "done");
    return 1;
}

static int dist_iall_reduce(lua_State *L)
{
    luatorch_tensor *t = check_buffer(L, 1, "iallReduce");
    int op = check_op(L, 2, t);
    check_live(L, "iallReduce");
    int64_t n = luatorch_numel(t);
    check_agree(L, "iallReduce", t, NULL, op, 0);
    int through_nccl = use_nccl(L, "iallReduce", t, NULL);
    luatorch_tensor *st = through_nccl ? t : stage(L, t, 1, "iallReduce");   /* (pushed when
                                                                                 staged)      */
    int staged = st != t;
    handle *h = lua_newuserdatauv(L, sizeof *h, 2);
    h->active = 0;
    h->ev = NULL;
    h->op = op;
    luaL_setmetatable(L, HANDLE_MT);
    lua_pushvalue(L, 1);   /* the tensor lives as long as its handle */
    lua_setiuservalue(L, -2, 1);
    if (through_nccl) {    /* queued on the stream; the handle waits for an event after it */
        if (nccl->all_reduce(t, op) != LUATORCH_OK ||
            nccl->event_record(&h->ev) != LUATORCH_OK)
            luatorch_raise(L, "iallReduce");
        h->active = 1;
        return 1;
    }
    if (staged) {          /* and so does the host buffer MPI writes */
        lua_pushvalue(L, -2);
        lua_setiuservalue(L, -2, 2);
    }
    MPI_TRY(L, "iallReduce", MPI_Iallreduce(MPI_IN_PLACE, luatorch_data(st), (int)n,
                                            mpi_type(luatorch_get_dtype(t)), mpi_op(op),
                                            MPI_COMM_WORLD, &h->req));
    h->active = 1;
    return 1;
}

int luaopen_distributed_core(lua_State *L);
int luaopen_distributed_core(lua_State *L)
{
    static const luaL_Reg funcs[] = {
        {"init", dist_init}, {"finalize", dist_finalize}, {"isInitialized", dist_is_initialized},
        {"rank", dist_rank}, {"size", dist_size}, {"localRank", dist_local_rank},
        {"barrier", dist_barrier}, {"allReduce", dist_all_reduce}, {"broadcast", dist_broadcast},
        {"allGather", dist_all_gather}, {"reduceScatter", dist_reduce_scatter},
        {"iallReduce", dist_iall_reduce}, {"setTimeout", dist_set_timeout},
        {"setChecks", dist_set_checks}, {"deviceBackend", dist_device_backend}, {NULL, NULL}};
    static const luaL_Reg handle_methods[] = {
        {"wait", handle_wait}, {"test", handle_test}, {NULL, NULL}};
    luatorch_init(L);
    if (luaL_newmetatable(L, HANDLE_MT)) {
        lua_pushcfunction(L, handle_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, handle_tostring);
        lua_setfield(L, -2, "__tostring");
        luaL_newlib(L, handle_methods);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    luaL_newlib(L, funcs);
    return 1;
}
