/*
 * stub.c — the CUDA backend of a CPU-only build (`make CUDA=0`, or no nvcc found): the
 * functions of lt_gpu.h, each saying that luatorch was built without CUDA. Only compiled when
 * gpu/device.cu is not.
 */
#include "lt_gpu.h"
#include "lt_nccl.h"

#include "../core/lt.h"

#define NO_CUDA "luatorch was built without CUDA"

int lt_gpu_built(void) { return 0; }

int lt_gpu_device_count(int *count)
{
    *count = 0;
    return LT_OK;
}

const char *lt_gpu_unavailable(void) { return NO_CUDA; }

int lt_gpu_require(void) { return lt_error("no CUDA device is available (" NO_CUDA ")"); }

int lt_gpu_device_props(int dev, lt_gpu_props *props)
{
    (void)dev;
    (void)props;
    return lt_gpu_require();
}

int lt_gpu_current_device(int *dev)
{
    *dev = 0;
    return lt_gpu_require();
}

int lt_gpu_synchronize(void) { return lt_gpu_require(); }

int lt_gpu_mem_info(int64_t *free_bytes, int64_t *total_bytes)
{
    *free_bytes = *total_bytes = 0;
    return lt_gpu_require();
}

int lt_gpu_malloc(void **ptr, int64_t nbytes, int device)
{
    (void)nbytes, (void)device;
    *ptr = NULL;
    return lt_gpu_require();
}
void lt_gpu_free(void *ptr, int64_t nbytes, int device) { (void)ptr, (void)nbytes, (void)device; }
void lt_gpu_set_oom_hook(void (*hook)(void *ud), void *ud) { (void)hook, (void)ud; }
int lt_gpu_empty_cache(void) { return LT_OK; }
int lt_gpu_graph_begin(lt_gpu_graph **g)
{
    *g = NULL;
    return lt_gpu_require();
}
int lt_gpu_graph_end(lt_gpu_graph *g, int ok)
{
    (void)g;
    (void)ok;
    return lt_gpu_require();
}
int lt_gpu_graph_replay(lt_gpu_graph *g)
{
    (void)g;
    return lt_gpu_require();
}
void lt_gpu_graph_free(lt_gpu_graph *g) { (void)g; }
int lt_gpu_capturing(void) { return 0; }
lt_gpu_mem_stats lt_gpu_memory_stats(void)
{
    lt_gpu_mem_stats s = {0, 0, 0, 0, 0};
    return s;
}
int lt_gpu_set_device(int dev)
{
    (void)dev;
    return lt_gpu_require();
}
static int allow_tf32;
void lt_gpu_set_allow_tf32(int allow) { allow_tf32 = allow != 0; }
int lt_gpu_allow_tf32(void) { return allow_tf32; }
int lt_gpu_emulated(void) { return 0; }

/* no NCCL without CUDA: torch.core registers no table (lt_nccl.h) */
const lt_nccl_api *lt_gpu_nccl(void) { return NULL; }
