/*
 * lt_gpu.h — what the core and the Lua bindings see of the CUDA backend (gpu/), in plain C.
 *
 * Built with nvcc (LT_HAVE_CUDA defined for the C code), these are gpu/device.cu; built without
 * CUDA (`make CUDA=0`, or no nvcc), gpu/stub.c answers every call with "luatorch was built
 * without CUDA". Like the rest of the core, functions that can fail return LT_OK / LT_ERR and
 * leave a message in lt_errmsg(); a message from a failed CUDA call names the call, e.g.
 * "cudaGetDeviceProperties: invalid device ordinal". Devices are numbered from 0 here.
 *
 * So far only device queries exist: device tensors, the caching allocator, kernels and cuBLAS
 * are future work (gpu/README.md).
 */
#ifndef LT_GPU_H
#define LT_GPU_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when this build has the CUDA backend compiled in, 0 otherwise. */
int lt_gpu_built(void);

/* The number of CUDA devices. No driver or no device is not an error: *count = 0 and LT_OK
 * (lt_gpu_unavailable() then says why). Any other CUDA failure is LT_ERR. */
int lt_gpu_device_count(int *count);

/* NULL when at least one device can be used; otherwise why not, e.g. "luatorch was built
 * without CUDA" or "cudaGetDeviceCount: no CUDA-capable device is detected". Never fails. */
const char *lt_gpu_unavailable(void);

/* LT_OK when a device can be used; otherwise LT_ERR with "no CUDA device is available (why)". */
int lt_gpu_require(void);

typedef struct lt_gpu_props {
    char    name[256];
    int     major, minor;            /* compute capability                               */
    int64_t total_memory;            /* bytes of device memory                           */
    int     multiprocessors;
    int     warp_size;
    int64_t shared_memory_per_block; /* bytes                                            */
    int64_t l2_cache_size;           /* bytes                                            */
    char    pci_bus_id[32];          /* "0000:00:04.0"                                   */
} lt_gpu_props;

/* Properties of device dev (0-based). */
int lt_gpu_device_props(int dev, lt_gpu_props *props);

/* The current device (0-based) of the calling thread. */
int lt_gpu_current_device(int *dev);

/* Waits until every kernel and copy on the current device has finished. */
int lt_gpu_synchronize(void);

/* Free and total bytes of the current device's memory (cudaMemGetInfo). */
int lt_gpu_mem_info(int64_t *free_bytes, int64_t *total_bytes);

#ifdef __cplusplus
}
#endif

#endif
