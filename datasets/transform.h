/*
 * transform.h — data transform kernels for whole batches or splits (core library, no Lua):
 * torchvision's ToTensor + Normalize fused into one pass.
 */
#ifndef LT_TRANSFORM_H
#define LT_TRANSFORM_H

#include "../core/lt.h"

/* out = ((T)src / div - mean[c]) / std[c] elementwise, T = out's dtype (float32 or float64),
 * c = the index along dim cdim of src; nchan is src's size there, or 1 (one mean/std for
 * every element; cdim is then ignored). The operations run in T in torchvision's order
 * (ToTensor's x.float().div(255), Normalize's sub(mean).div(std)), so results match it bit
 * for bit; div = 1, mean = 0, std = 1 leave that step out exactly. uint8 sources go through
 * a 256-entry table per channel. out is resized to src's shape; out may be src itself. */
int lt_normalize(lt_tensor *out, const lt_tensor *src, int cdim, double div, int nchan,
                 const double *mean, const double *std);

#endif /* LT_TRANSFORM_H */
