/*
 * norm_grad.h — the gradient of a p-norm for one element, in one definition for the host's
 * backward (core/grad_reduce.c) and the device's (gpu/reduce.cu). Plain C99 that nvcc also
 * compiles as a host + device function.
 */
#ifndef LT_NORM_GRAD_H
#define LT_NORM_GRAD_H

#include <math.h>

#include "lt_hd.h"

/* sign(x), NaN for NaN */
LT_HD_FN double lt_sgn(double x) { return x != x ? x : (double)((x > 0) - (x < 0)); }

/* PyTorch's norm_backward for one element x with output gradient g, norm nrm and, for
 * p = +-inf, c = how many elements of the slice reach the norm. */
LT_HD_FN double lt_norm_grad_elem(double x, double g, double nrm, double c, double p)
{
    if (p == 0) return 0;
    if (p == 1) return lt_sgn(x) * g;
    if (p == 2) return nrm == 0 ? 0 : g * x / nrm;
    if (p == INFINITY || p == -INFINITY) {
        double ax = fabs(x);
        return (ax == nrm || ax != ax) ? lt_sgn(x) * (g / c) : 0;
    }
    if (p < 1) return x == 0 ? 0 : lt_sgn(x) * pow(fabs(x), p - 1) * g * pow(nrm, 1 - p);
    double scale = nrm == 0 ? 0 : g / pow(nrm, p - 1);
    if (p < 2) return lt_sgn(x) * pow(fabs(x), p - 1) * scale;
    return x * pow(fabs(x), p - 2) * scale;
}

#endif
