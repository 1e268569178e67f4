/*
 * stub.c — the CUDA backend of a CPU-only build (`make CUDA=0`, or no nvcc found): the
 * functions of lt_gpu.h, each saying that luatorch was built without CUDA. Only compiled when
 * gpu/device.cu is not.
 */
#include "lt_gpu.h"

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
