/*
 * layernorm.c — the kernels of nn.LayerNorm as a luatorch C extension (module layernorm.core),
 * built only against the installed public header luatorch.h (see Makefile):
 *
 *   layerNorm(x, weight, bias [, eps = 1e-5]) -> y
 *
 * normalises every row of x (its last dimension, of size D) to zero mean and unit variance
 * (the biased variance, as PyTorch), then scales by weight (D) and shifts by bias (D); weight
 * and bias may be nil. Float or Double. The forward pass records one LayerNormBackward node
 * into luatorch's autograd whenever an input requires grad; its backward is in C too.
 */
#include <math.h>
#include <stdlib.h>

#include <luatorch.h>

/* ---- kernels: one per dtype from one macro; accumulation is in double ------------------- */

/* y = (x - mean) * rstd * w + b, row by row; keeps mean and rstd (1/sqrt(var + eps)). */
#define LN_FORWARD(T)                                                                        \
    static void forward_##T(const T *x, const T *w, const T *b, T *y, T *mean, T *rstd,      \
                            int64_t rows, int64_t d, double eps)                             \
    {                                                                                        \
        for (int64_t r = 0; r < rows; r++) {                                                 \
            const T *xr = x + r * d;                                                         \
            T *yr = y + r * d;                                                               \
            double s = 0, ss = 0;                                                            \
            for (int64_t j = 0; j < d; j++) s += xr[j];                                      \
            double mu = s / (double)d;                                                       \
            for (int64_t j = 0; j < d; j++) ss += (xr[j] - mu) * (xr[j] - mu);               \
            double rs = 1 / sqrt(ss / (double)d + eps);                                      \
            for (int64_t j = 0; j < d; j++) {                                                \
                double v = (xr[j] - mu) * rs;                                                \
                yr[j] = (T)(v * (w ? w[j] : 1) + (b ? b[j] : 0));                            \
            }                                                                                \
            mean[r] = (T)mu;                                                                 \
            rstd[r] = (T)rs;                                                                 \
        }                                                                                    \
    }

/* With xhat = (x - mean) * rstd and gh = g * w:
 *   gx = rstd * (gh - mean_j(gh) - xhat * mean_j(gh * xhat)),  gw = sum_rows g * xhat,
 *   gb = sum_rows g.  gx, gw, gb may be NULL (not needed); gw and gb are (d) doubles. */
#define LN_BACKWARD(T)                                                                       \
    static void backward_##T(const T *x, const T *w, const T *mean, const T *rstd,           \
                             const T *g, T *gx, double *gw, double *gb, int64_t rows,        \
                             int64_t d)                                                      \
    {                                                                                        \
        for (int64_t r = 0; r < rows; r++) {                                                 \
            const T *xr = x + r * d, *gr = g + r * d;                                        \
            double mu = mean[r], rs = rstd[r], a = 0, c = 0;                                 \
            for (int64_t j = 0; j < d; j++) {                                                \
                double xhat = (xr[j] - mu) * rs, gh = gr[j] * (w ? w[j] : 1);                \
                a += gh;                                                                     \
                c += gh * xhat;                                                              \
                if (gw) gw[j] += gr[j] * xhat;                                               \
                if (gb) gb[j] += gr[j];                                                      \
            }                                                                                \
            a /= (double)d;                                                                  \
            c /= (double)d;                                                                  \
            if (!gx) continue;                                                               \
            for (int64_t j = 0; j < d; j++) {                                                \
                double xhat = (xr[j] - mu) * rs, gh = gr[j] * (w ? w[j] : 1);                \
                gx[r * d + j] = (T)(rs * (gh - a - xhat * c));                               \
            }                                                                                \
        }                                                                                    \
    }

LN_FORWARD(float)
LN_FORWARD(double)
LN_BACKWARD(float)
LN_BACKWARD(double)

/* ---- backward: the node's function --------------------------------------------------------- */

/* Saved: 0 x (contiguous), 1 mean, 2 rstd, 3 weight (when scalars[0] says there is one).
 * Inputs: 0 x, 1 weight, 2 bias. */
static int layer_norm_backward(luatorch_node *n, luatorch_tensor *const *gout,
                               luatorch_tensor **gin)
{
    int has_w = luatorch_node_scalars(n)[0] != 0;
    luatorch_tensor *x = luatorch_node_saved(n, 0), *mean = luatorch_node_saved(n, 1);
    luatorch_tensor *rstd = luatorch_node_saved(n, 2);
    luatorch_tensor *w = has_w ? luatorch_node_saved(n, 3) : NULL;
    if (!x || !mean || !rstd || (has_w && !w)) return LUATORCH_ERR;  /* modified in place */

    int64_t d = luatorch_size(x, luatorch_ndim(x) - 1), rows = d ? luatorch_numel(x) / d : 0;
    double *acc = calloc((size_t)(2 * d + 1), sizeof *acc);   /* gw and gb sums            */
    luatorch_tensor *g = luatorch_contiguous(gout[0]);
    if (!acc || !g) {
        free(acc);
        luatorch_release(g);
        return acc ? LUATORCH_ERR : luatorch_seterror("LayerNormBackward: out of memory");
    }
    int want_w = luatorch_node_needs_input_grad(n, 1), want_b = luatorch_node_needs_input_grad(n, 2);
    int st = LUATORCH_OK;
    for (int k = 0; k < 3 && st == LUATORCH_OK; k++)
        if (luatorch_node_needs_input_grad(n, k) && !(gin[k] = luatorch_node_new_grad(n, k)))
            st = LUATORCH_ERR;
    if (st == LUATORCH_OK) {
        double *gw = want_w ? acc : NULL, *gb = want_b ? acc + d : NULL;
        if (luatorch_get_dtype(x) == LUATORCH_FLOAT64)
            backward_double(luatorch_data(x), w ? luatorch_data(w) : NULL, luatorch_data(mean),
                            luatorch_data(rstd), luatorch_data(g),
                            gin[0] ? luatorch_data(gin[0]) : NULL, gw, gb, rows, d);
        else
            backward_float(luatorch_data(x), w ? luatorch_data(w) : NULL, luatorch_data(mean),
                           luatorch_data(rstd), luatorch_data(g),
                           gin[0] ? luatorch_data(gin[0]) : NULL, gw, gb, rows, d);
        /* gin[1], gin[2] are fresh, hence contiguous (d) tensors of the input's dtype */
        for (int k = 1; k <= 2; k++) {
            if (!gin[k]) continue;
            const double *src = acc + (k - 1) * d;
            if (luatorch_get_dtype(gin[k]) == LUATORCH_FLOAT64)
                for (int64_t j = 0; j < d; j++) ((double *)luatorch_data(gin[k]))[j] = src[j];
            else
                for (int64_t j = 0; j < d; j++) ((float *)luatorch_data(gin[k]))[j] = (float)src[j];
        }
    }
    free(acc);
    luatorch_release(g);
    return st;   /* on error the engine releases what gin holds */
}

/* ---- forward: the Lua function ----------------------------------------------------------- */

/* weight or bias (argument arg): nil, or a 1-D tensor of size d and x's dtype */
static luatorch_tensor *opt_param(lua_State *L, int arg, const luatorch_tensor *x, int64_t d,
                                  const char *what)
{
    if (lua_isnoneornil(L, arg)) return NULL;
    luatorch_tensor *p = luatorch_checktensor(L, arg);
    char xs[256], ps[256];
    if (luatorch_get_dtype(p) != luatorch_get_dtype(x))
        luaL_error(L, "layerNorm: %s is a %s, the input a %s", what, luatorch_typename(p),
                   luatorch_typename(x));
    if (luatorch_ndim(p) != 1 || luatorch_size(p, 0) != d)
        luaL_error(L, "layerNorm: %s of shape [%s] for an input of shape [%s] (normalised over "
                      "its last dimension, of size %d)", what,
                   luatorch_shape_str(p, ps, sizeof ps), luatorch_shape_str(x, xs, sizeof xs),
                   (int)d);
    return p;
}

static int layer_norm(lua_State *L)
{
    luatorch_tensor *x = luatorch_checktensor(L, 1);
    luaL_argcheck(L, luatorch_is_float(x), 1, "expected a Float or Double tensor");
    /* the kernels below are host code */
    luaL_argcheck(L, luatorch_get_device(x) == LUATORCH_CPU, 1, "expected a host tensor, got a CUDA one");
    luaL_argcheck(L, luatorch_ndim(x) >= 1, 1, "expected at least one dimension");
    int nd = luatorch_ndim(x);
    int64_t d = luatorch_size(x, nd - 1), rows = d ? luatorch_numel(x) / d : 0;
    luatorch_tensor *w = opt_param(L, 2, x, d, "weight"), *b = opt_param(L, 3, x, d, "bias");
    double eps = luaL_optnumber(L, 4, 1e-5);
    luaL_argcheck(L, eps >= 0, 4, "eps must be non-negative");
    lua_settop(L, 4);

    /* Everything made from here on is pushed at once: Lua owns it, so no error can leak it. */
    luatorch_dtype dt = luatorch_get_dtype(x);
    luatorch_tensor *xc = luatorch_pushtensor(L, luatorch_contiguous(x));
    luatorch_tensor *wc = w ? luatorch_pushtensor(L, luatorch_contiguous(w)) : NULL;
    luatorch_tensor *bc = b ? luatorch_pushtensor(L, luatorch_contiguous(b)) : NULL;
    luatorch_tensor *mean = luatorch_pushtensor(L, luatorch_new(dt, 1, &rows));
    luatorch_tensor *rstd = luatorch_pushtensor(L, luatorch_new(dt, 1, &rows));
    luatorch_tensor *y = luatorch_pushtensor(L, luatorch_new(dt, nd, luatorch_sizes(x)));

    if (dt == LUATORCH_FLOAT64)
        forward_double(luatorch_data(xc), wc ? luatorch_data(wc) : NULL,
                       bc ? luatorch_data(bc) : NULL, luatorch_data(y), luatorch_data(mean),
                       luatorch_data(rstd), rows, d, eps);
    else
        forward_float(luatorch_data(xc), wc ? luatorch_data(wc) : NULL,
                      bc ? luatorch_data(bc) : NULL, luatorch_data(y), luatorch_data(mean),
                      luatorch_data(rstd), rows, d, eps);

    /* Recorded only when x, weight or bias requires grad (and not under torch.noGrad). */
    luatorch_tensor *inputs[3] = {x, w, b}, *saved[4] = {xc, mean, rstd, wc};
    luatorch_node *n = luatorch_record(L, "LayerNormBackward", layer_norm_backward, 3, inputs,
                                       1, &y, w ? 4 : 3, saved);
    if (n) luatorch_node_scalars(n)[0] = w != NULL;
    return 1;   /* y is on top */
}

int luaopen_layernorm_core(lua_State *L);

int luaopen_layernorm_core(lua_State *L)
{
    luatorch_init(L);   /* binds the API of the loaded torch core; errors on a version mismatch */
    lua_newtable(L);
    lua_pushcfunction(L, layer_norm);
    lua_setfield(L, -2, "layerNorm");
    return 1;
}
