/*
 * cublas.cu — cuBLAS, loaded at run time. The CUDA toolkit ships no static cuBLAS, and its
 * shared one (with cuBLASLt, about 600 MB) cannot travel to a lent GPU machine, which has
 * PyTorch's copy instead; the v2 API is the same in cuBLAS 12 and 13. Looked up in order:
 * $LUATORCH_CUBLAS (a path), libcublas.so.13, libcublas.so.12, libcublas.so (the loader's
 * search path: LD_LIBRARY_PATH, the ld.so cache). The emulation links its own versions.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_internal.h"

static lt_cublas_fns fns;
static int loaded;              /* 1 ok, -1 failed */
static char why[512];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

#ifdef LT_CUDA_EMU
static int load(void)
{
    fns.create = cublasCreate;
    fns.destroy = cublasDestroy;
    fns.set_stream = cublasSetStream;
    fns.set_math_mode = cublasSetMathMode;
    fns.status_string = cublasGetStatusString;
    fns.sgemm = cublasSgemm;
    fns.dgemm = cublasDgemm;
    fns.sgemm_batched = cublasSgemmStridedBatched;
    fns.dgemm_batched = cublasDgemmStridedBatched;
    fns.sgemv = cublasSgemv;
    fns.dgemv = cublasDgemv;
    snprintf(fns.library, sizeof fns.library, "emulated (host BLAS)");
    return 1;
}
#else
static int load(void)
{
    const char *names[] = {getenv("LUATORCH_CUBLAS"), "libcublas.so.13", "libcublas.so.12",
                           "libcublas.so"};
    void *h = NULL;
    size_t at = 0;
    for (size_t i = 0; i < sizeof names / sizeof *names && !h; i++) {
        if (!names[i] || !*names[i]) continue;
        h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (h) snprintf(fns.library, sizeof fns.library, "%s", names[i]);
        else at += (size_t)snprintf(why + at, at < sizeof why ? sizeof why - at : 0, "%s%s",
                                    at ? "; " : "", dlerror());
    }
    if (!h) return -1;
    struct { void **slot; const char *sym; } syms[] = {
        {(void **)&fns.create, "cublasCreate_v2"},
        {(void **)&fns.destroy, "cublasDestroy_v2"},
        {(void **)&fns.set_stream, "cublasSetStream_v2"},
        {(void **)&fns.set_math_mode, "cublasSetMathMode"},
        {(void **)&fns.status_string, "cublasGetStatusString"},
        {(void **)&fns.sgemm, "cublasSgemm_v2"},
        {(void **)&fns.dgemm, "cublasDgemm_v2"},
        {(void **)&fns.sgemm_batched, "cublasSgemmStridedBatched"},
        {(void **)&fns.dgemm_batched, "cublasDgemmStridedBatched"},
        {(void **)&fns.sgemv, "cublasSgemv_v2"},
        {(void **)&fns.dgemv, "cublasDgemv_v2"},
    };
    for (size_t i = 0; i < sizeof syms / sizeof *syms; i++) {
        *syms[i].slot = dlsym(h, syms[i].sym);
        if (!*syms[i].slot) {
            snprintf(why, sizeof why, "%s has no %s", fns.library, syms[i].sym);
            return -1;
        }
    }
    return 1;
}
#endif

const lt_cublas_fns *lt_gpu_blas(void)
{
    pthread_mutex_lock(&lock);
    if (!loaded) loaded = load();
    pthread_mutex_unlock(&lock);
    if (loaded < 0) {
        lt_error("cuBLAS could not be loaded (%s); set LUATORCH_CUBLAS to libcublas.so's path", why);
        return NULL;
    }
    return &fns;
}
