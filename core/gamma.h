/*
 * gamma.h — the digamma and trigamma functions (libm has lgamma but neither of these), shared
 * exactly by the host's loops (core/pointwise.c) and the CUDA kernels (gpu/pointwise.cu):
 * digamma is lgamma's derivative, trigamma digamma's. Computed in double, float results
 * rounded once. Poles as PyTorch's: digamma(+0) = -inf, (-0) = +inf, a negative integer NaN;
 * trigamma +inf at 0 and the negative integers.
 */
#ifndef LT_GAMMA_H
#define LT_GAMMA_H

#include <math.h>

#include "lt_hd.h"

/* Above this the asymptotic series is accurate to double precision; below it the recurrences
 * psi(x) = psi(x + 1) - 1/x and psi1(x) = psi1(x + 1) + 1/x^2 climb up to it. */
#define LT_GAMMA_ASYMPTOTIC 10.0

LT_HD_FN double lt_digamma(double x)
{
    const double pi = 3.14159265358979323846;
    if (x != x || x == INFINITY) return x;
    if (x == 0) return signbit(x) ? INFINITY : -INFINITY;

    double acc = 0;
    if (x < 0) {
        if (x == floor(x)) return NAN;               /* the poles at -1, -2, ... */
        /* reflection, psi(x) = psi(1 - x) - pi cot(pi x); tan's period is 1, so it sees
         * x - round(x), in [-1/2, 1/2]: exact, and no pi * 0.99999999 losing the digits
         * that matter next to a pole */
        acc = -pi / tan(pi * (x - round(x)));
        x = 1 - x;
    }
    while (x < LT_GAMMA_ASYMPTOTIC) {
        acc -= 1 / x;
        x += 1;
    }
    /* ln x - 1/(2x) - sum B_2k / (2k x^2k), k = 1..7 */
    double z = 1 / (x * x);
    double s = z * (1.0 / 12 - z * (1.0 / 120 - z * (1.0 / 252 - z * (1.0 / 240 - z * (1.0 / 132
               - z * (691.0 / 32760 - z * (1.0 / 12)))))));
    return acc + log(x) - 0.5 / x - s;
}

LT_HD_FN double lt_trigamma(double x)
{
    const double pi = 3.14159265358979323846;
    if (x != x) return x;
    if (x == INFINITY) return 0;
    if (x <= 0 && x == floor(x)) return INFINITY;    /* the poles at 0, -1, -2, ... */
    double acc = 0, sign = 1;
    if (x < 0) {
        /* reflection, psi1(x) = pi^2 / sin^2(pi x) - psi1(1 - x) (sin^2's period is 1) */
        double sn = sin(pi * (x - round(x)));
        acc = pi * pi / (sn * sn);
        sign = -1;
        x = 1 - x;
    }
    double rec = 0;
    while (x < LT_GAMMA_ASYMPTOTIC) {
        rec += 1 / (x * x);
        x += 1;
    }
    /* 1/x + 1/(2x^2) + sum B_2k / x^(2k+1), k = 1..7 */
    double z = 1 / (x * x);
    double s = (1 + z * (1.0 / 6 - z * (1.0 / 30 - z * (1.0 / 42 - z * (1.0 / 30 - z * (5.0 / 66
               - z * (691.0 / 2730 - z * (7.0 / 6)))))))) / x + 0.5 * z;
    return acc + sign * (rec + s);
}

#endif
