/*
 * device.cu — the CUDA backend's device queries (see lt_gpu.h): how many devices there are,
 * what they are, and synchronisation. Every CUDA runtime error becomes an lt_error message that
 * names the failing call ("cudaGetDeviceCount: no CUDA-capable device is detected").
 *
 * Host code only; compiled by nvcc for sm_80/sm_90 so that the CUDA build is exercised on every
 * machine with the toolkit, GPU or not.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "gpu_internal.h"

/* The device count is read once per process (it cannot change after CUDA initialises), so
 * isAvailable() is cheap and the reason for "no device" is stable. */
static pthread_once_t count_once = PTHREAD_ONCE_INIT;
static int count_devices;
static cudaError_t count_err = cudaSuccess;
static char count_why[256];

static void count_init(void)
{
    int n = 0;
    count_err = cudaGetDeviceCount(&n);
    if (count_err != cudaSuccess) {
        (void)cudaGetLastError();
        /* CUDA says "driver version is insufficient" also when there is no driver at all */
        char hint[96] = "";
        if (count_err == cudaErrorInsufficientDriver)
            snprintf(hint, sizeof hint, " (no NVIDIA driver, or one older than CUDA %d.%d)",
                     CUDART_VERSION / 1000, CUDART_VERSION % 1000 / 10);
        snprintf(count_why, sizeof count_why, "cudaGetDeviceCount: %s%s",
                 cudaGetErrorString(count_err), hint);
    } else if (n == 0) {
        snprintf(count_why, sizeof count_why, "cudaGetDeviceCount: 0 devices");
    }
    count_devices = n;
}

/* No driver, no device, or devices hidden (CUDA_VISIBLE_DEVICES="") mean "no GPU here", which
 * is a normal state, not an error. */
static int count_err_means_none(cudaError_t e)
{
    return e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver ||
           e == cudaErrorInvalidDevice || e == cudaErrorNotSupported ||
           e == cudaErrorSystemDriverMismatch || e == cudaErrorCompatNotSupportedOnDevice;
}

extern "C" int lt_gpu_built(void) { return 1; }

extern "C" int lt_gpu_device_count(int *count)
{
    pthread_once(&count_once, count_init);
    *count = count_devices;
    if (count_err != cudaSuccess && !count_err_means_none(count_err))
        return lt_error("%s", count_why);
    return LT_OK;
}

extern "C" const char *lt_gpu_unavailable(void)
{
    pthread_once(&count_once, count_init);
    return count_devices > 0 ? NULL : count_why;
}

extern "C" int lt_gpu_require(void)
{
    const char *why = lt_gpu_unavailable();
    if (why) return lt_error("no CUDA device is available (%s)", why);
    return LT_OK;
}

extern "C" int lt_gpu_device_props(int dev, lt_gpu_props *p)
{
    if (lt_gpu_require() != LT_OK) return LT_ERR;
    if (dev < 0 || dev >= count_devices)
        return lt_error("device %d is out of range (%d device%s)", dev, count_devices,
                        count_devices == 1 ? "" : "s");
    cudaDeviceProp prop;
    LT_CUDA("cudaGetDeviceProperties", cudaGetDeviceProperties(&prop, dev));
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", prop.name);
    p->major = prop.major;
    p->minor = prop.minor;
    p->total_memory = (int64_t)prop.totalGlobalMem;
    p->multiprocessors = prop.multiProcessorCount;
    p->warp_size = prop.warpSize;
    p->shared_memory_per_block = (int64_t)prop.sharedMemPerBlock;
    p->l2_cache_size = (int64_t)prop.l2CacheSize;
    LT_CUDA("cudaDeviceGetPCIBusId", cudaDeviceGetPCIBusId(p->pci_bus_id, (int)sizeof p->pci_bus_id, dev));
    return LT_OK;
}

extern "C" int lt_gpu_current_device(int *dev)
{
    if (lt_gpu_require() != LT_OK) return LT_ERR;
    LT_CUDA("cudaGetDevice", cudaGetDevice(dev));
    return LT_OK;
}

extern "C" int lt_gpu_synchronize(void)
{
    if (lt_gpu_require() != LT_OK) return LT_ERR;
    LT_CUDA("cudaStreamSynchronize", cudaStreamSynchronize(lt_gpu_stream()));
    LT_CUDA("cudaDeviceSynchronize", cudaDeviceSynchronize());
    return LT_OK;
}

extern "C" int lt_gpu_mem_info(int64_t *free_bytes, int64_t *total_bytes)
{
    if (lt_gpu_require() != LT_OK) return LT_ERR;
    size_t f = 0, t = 0;
    LT_CUDA("cudaMemGetInfo", cudaMemGetInfo(&f, &t));
    *free_bytes = (int64_t)f;
    *total_bytes = (int64_t)t;
    return LT_OK;
}
