/*
 * parallel.c — one thread count for the whole toolkit: OpenMP loops and OpenBLAS GEMMs use
 * the same number, so the two never oversubscribe the cores.
 */
#include "lt.h"

#ifdef _OPENMP
#include <omp.h>
#endif

void openblas_set_num_threads(int num_threads); /* from OpenBLAS; not in cblas.h everywhere */

static int nthreads;

void lt_set_num_threads(int n)
{
    if (n < 1) n = 1;
    nthreads = n;
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
    openblas_set_num_threads(n);
}

int lt_get_num_threads(void)
{
    if (nthreads) return nthreads;
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}
