/*
 * nccl_check.c — the NCCL path of the distributed module (gpu/nccl.cu, gpu/lt_nccl.h) against
 * the real libnccl, in one process and without MPI: a world of one rank. Built with the CUDA
 * backend ($(BUILD)/nccl_check); spec 53 runs it (every build), gpu/check.sh on a GPU machine.
 *
 * It prints one line per step and exits 0 when every step that could run did what it should:
 *   library <what was loaded>      or  unavailable <why> (LUATORCH_NCCL=0, emulated, not found)
 *   uniqueId ok                        ncclGetUniqueId (needs no GPU)
 *   init ok                        or  init failed <message>: without a usable GPU,
 *                                      ncclCommInitRank must fail with a message, not crash
 *   ok <collective> <type>             with a GPU: every collective on device tensors of every
 *                                      type, compared with the values put in
 *   destroy ok
 * One rank can only check the plumbing (pointers, counts, types, the stream, the event wait):
 * a reduction over one rank is the identity. allGather and reduceScatter write a second
 * buffer, so a wrong count shows there; the arithmetic across ranks needs two GPUs (spec 53's
 * gpu_it under mpirun). Exit status 1 when a step failed that should not have.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/lt.h"
#include "../gpu/lt_gpu.h"
#include "../gpu/lt_nccl.h"

static const lt_nccl_api *api;
static int failures;

static void fail(const char *what, const char *msg)
{
    printf("FAIL %s: %s\n", what, msg);
    failures++;
}

/* a device tensor of n elements of dt holding base + i (mod 256 for bytes), or NULL */
static lt_tensor *device_ramp(lt_dtype dt, int64_t n, int base)
{
    lt_tensor *h = lt_tensor_new(dt, 1, &n), *d = lt_tensor_new_on(0, dt, 1, &n);
    if (!h || !d) goto bad;
    for (int64_t i = 0; i < n; i++) {
        double v = base + (double)i;
        switch (dt) {
        case LT_FLOAT32: ((float *)lt_data(h))[i] = (float)v; break;
        case LT_FLOAT64: ((double *)lt_data(h))[i] = v; break;
        case LT_INT64: ((int64_t *)lt_data(h))[i] = (int64_t)v; break;
        default: ((uint8_t *)lt_data(h))[i] = (uint8_t)((int64_t)v % 256); break;
        }
    }
    if (lt_copy(d, h) != LT_OK) goto bad;
    lt_tensor_release(h);
    return d;
bad:
    lt_tensor_release(h);
    lt_tensor_release(d);
    return NULL;
}

/* whether device tensor d holds base + i: 1 yes, 0 no (with a FAIL line) */
static int holds_ramp(const char *what, lt_tensor *d, int base)
{
    int64_t n = lt_numel(d);
    lt_tensor *h = lt_tensor_new(d->dtype, 1, &n);
    if (!h || lt_copy(h, d) != LT_OK) {
        fail(what, lt_errmsg());
        lt_tensor_release(h);
        return 0;
    }
    int ok = 1;
    for (int64_t i = 0; ok && i < n; i++) {
        double v = base + (double)i, got;
        switch (d->dtype) {
        case LT_FLOAT32: got = ((float *)lt_data(h))[i]; break;
        case LT_FLOAT64: got = ((double *)lt_data(h))[i]; break;
        case LT_INT64: got = (double)((int64_t *)lt_data(h))[i]; break;
        default: got = ((uint8_t *)lt_data(h))[i]; v = (double)((int64_t)v % 256); break;
        }
        if (got != v) {
            char msg[128];
            snprintf(msg, sizeof msg, "element %lld is %g, expected %g", (long long)i, got, v);
            fail(what, msg);
            ok = 0;
        }
    }
    lt_tensor_release(h);
    return ok;
}

static int wait_queued(const char *what)
{
    lt_nccl_event *ev = NULL;
    int rc = api->event_record(&ev);
    if (rc == LT_OK) rc = api->event_wait(ev, 60);
    api->event_free(ev);
    if (rc != LT_OK) fail(what, lt_errmsg());
    return rc == LT_OK;
}

static void collectives(void)
{
    static const lt_dtype types[] = {LT_FLOAT32, LT_FLOAT64, LT_INT64, LT_UINT8};
    static const char *const ops[] = {"sum", "mean", "max", "min"};
    for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
        lt_dtype dt = types[k];
        char what[64];
        for (int op = 0; op < 4; op++) {
            if (op == LT_NCCL_MEAN && !lt_dtype_is_float(dt)) continue;
            snprintf(what, sizeof what, "allReduce %s %s", ops[op], lt_dtype_name(dt));
            lt_tensor *t = device_ramp(dt, 1000, 3);
            if (!t) fail(what, lt_errmsg());
            else if (api->all_reduce(t, op) != LT_OK) fail(what, lt_errmsg());
            else if (wait_queued(what) && holds_ramp(what, t, 3)) printf("ok %s\n", what);
            lt_tensor_release(t);
        }
        snprintf(what, sizeof what, "broadcast %s", lt_dtype_name(dt));
        lt_tensor *t = device_ramp(dt, 777, 5);
        if (!t) fail(what, lt_errmsg());
        else if (api->broadcast(t, 0) != LT_OK) fail(what, lt_errmsg());
        else if (wait_queued(what) && holds_ramp(what, t, 5)) printf("ok %s\n", what);
        lt_tensor_release(t);
        /* two buffers: a count in bytes instead of elements (or half of it) shows here */
        snprintf(what, sizeof what, "allGather %s", lt_dtype_name(dt));
        lt_tensor *in = device_ramp(dt, 513, 7), *out = device_ramp(dt, 513, 100);
        if (!in || !out) fail(what, lt_errmsg());
        else if (api->all_gather(out, in) != LT_OK) fail(what, lt_errmsg());
        else if (wait_queued(what) && holds_ramp(what, out, 7)) printf("ok %s\n", what);
        lt_tensor_release(in);
        lt_tensor_release(out);
        snprintf(what, sizeof what, "reduceScatter %s", lt_dtype_name(dt));
        in = device_ramp(dt, 513, 9);
        out = device_ramp(dt, 513, 100);
        if (!in || !out) fail(what, lt_errmsg());
        else if (api->reduce_scatter(out, in, LT_NCCL_SUM) != LT_OK) fail(what, lt_errmsg());
        else if (wait_queued(what) && holds_ramp(what, out, 9)) printf("ok %s\n", what);
        lt_tensor_release(in);
        lt_tensor_release(out);
    }
}

int main(void)
{
    api = lt_gpu_nccl();
    if (!api) {
        printf("unavailable luatorch was built without CUDA\n");
        return 0;
    }
    const char *why = api->unavailable();
    if (why) {
        printf("unavailable %s\n", why);
        return 0;
    }
    printf("library %s\n", api->library());
    unsigned char id[LT_NCCL_ID_BYTES];
    if (api->unique_id(id) != LT_OK) {
        fail("uniqueId", lt_errmsg());
        return 1;
    }
    printf("uniqueId ok\n");
    if (api->comm_init(1, id, 0) != LT_OK) {
        /* expected without a usable GPU; the message must name the call */
        printf("init failed %s\n", lt_errmsg());
        if (api->comm_live()) fail("init", "a communicator is up after a failed init");
        if (!strstr(lt_errmsg(), "ncclCommInitRank")) fail("init", "the message names no call");
        return failures ? 1 : 0;
    }
    printf("init ok\n");
    collectives();
    api->comm_free(60);
    if (api->comm_live()) fail("destroy", "the communicator is still up");
    else printf("destroy ok\n");
    return failures ? 1 : 0;
}
