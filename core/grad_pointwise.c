/*
 * grad_pointwise.c — autograd for the elementwise ops of core/pointwise.c: the recorders
 * (lt_rec_unary, lt_rec_binary, ...) that the bindings call after a fresh result, and the
 * backward functions of their nodes.
 *
 * The formulas are PyTorch 1.13's (derivatives.yaml / FunctionsManual.cpp), including its
 * choices where the derivative is undefined: abs and sign-like ops use sign(0) = 0 / zero,
 * relu passes no gradient at 0, clamp passes it at the bounds, maximum/minimum split it
 * half and half at ties, and pow's exponent gradient is 0 where the base is 0 and the
 * exponent >= 0. A number operand (x + 2, 2 ^ x) becomes a 0-dim constant tensor, so the
 * tensor-tensor formulas serve every form.
 *
 * Backward math uses plain core ops (which never record). Each backward collects its
 * temporaries in a `tmps` list: a failed step marks the list, later steps do nothing, and
 * everything is released in one place, so no error path leaks.
 */
#include <math.h>

#include "lt_internal.h"

/* ---- temporaries of one backward -------------------------------------------------------- */

#define MAXTMPS 16
typedef struct {
    lt_tensor *t[MAXTMPS];
    int n;
    int st;
} tmps;

/* A new empty tensor owned by s, or NULL once something failed. */
static lt_tensor *t_new(tmps *s, lt_dtype dt)
{
    if (s->st) return NULL;
    if (s->n == MAXTMPS) {
        s->st = lt_error("backward: too many temporaries");
        return NULL;
    }
    lt_tensor *t = lt_tensor_empty(dt);
    if (!t) {
        s->st = LT_ERR;
        return NULL;
    }
    return s->t[s->n++] = t;
}

/* Records the status of a core call that filled r; returns r or NULL. */
static lt_tensor *t_check(tmps *s, lt_tensor *r, int st)
{
    if (st != LT_OK) {
        s->st = LT_ERR;
        return NULL;
    }
    return r;
}

static lt_tensor *t_un(tmps *s, lt_unary_op op, const lt_tensor *a)
{
    lt_tensor *r = a ? t_new(s, a->dtype) : NULL;
    return r ? t_check(s, r, lt_unary(r, op, a)) : NULL;
}

/* a op (alpha * b) (lt_binary: alpha for ADD / SUB, the slope for LEAKY_GRAD) */
static lt_tensor *t_bin_al(tmps *s, lt_binary_op op, const lt_tensor *a, const lt_tensor *b,
                           double alpha)
{
    lt_tensor *r = a && b ? t_new(s, a->dtype) : NULL;
    return r ? t_check(s, r, lt_binary(r, op, a, b, alpha)) : NULL;
}

static lt_tensor *t_bin(tmps *s, lt_binary_op op, const lt_tensor *a, const lt_tensor *b)
{
    return t_bin_al(s, op, a, b, 1.0);
}

/* a op v */
static lt_tensor *t_bins(tmps *s, lt_binary_op op, const lt_tensor *a, double v)
{
    lt_tensor *r = a ? t_new(s, a->dtype) : NULL;
    return r ? t_check(s, r, lt_binary_scalar(r, op, a, v)) : NULL;
}

/* v op a */
static lt_tensor *t_sbin(tmps *s, lt_binary_op op, double v, const lt_tensor *a)
{
    lt_tensor *r = a ? t_new(s, a->dtype) : NULL;
    return r ? t_check(s, r, lt_scalar_binary(r, op, v, a)) : NULL;
}

/* uint8 masks */
static lt_tensor *t_cmp(tmps *s, lt_cmp_op op, const lt_tensor *a, const lt_tensor *b)
{
    lt_tensor *r = a && b ? t_new(s, LT_UINT8) : NULL;
    return r ? t_check(s, r, lt_compare(r, op, a, b)) : NULL;
}

static lt_tensor *t_cmps(tmps *s, lt_cmp_op op, const lt_tensor *a, double v)
{
    lt_tensor *r = a ? t_new(s, LT_UINT8) : NULL;
    return r ? t_check(s, r, lt_compare_scalar(r, op, a, v)) : NULL;
}

/* A tensor of dtype dt and the given shape on device dev, owned by s (uninitialised). */
static lt_tensor *t_new_on(tmps *s, int dev, lt_dtype dt, int ndim, const int64_t *size)
{
    if (s->st) return NULL;
    if (s->n == MAXTMPS) {
        s->st = lt_error("backward: too many temporaries");
        return NULL;
    }
    lt_tensor *t = lt_tensor_uninit_on(dev, dt, ndim, size);
    if (!t) {
        s->st = LT_ERR;
        return NULL;
    }
    return s->t[s->n++] = t;
}

/* A 0-dim zero of dtype dt on device dev (where() wants tensors on both sides). */
static lt_tensor *t_zero(tmps *s, int dev, lt_dtype dt)
{
    lt_tensor *r = t_new_on(s, dev, dt, 0, NULL);
    return r ? t_check(s, r, lt_fill(r, 0)) : NULL;
}

static lt_tensor *t_where(tmps *s, const lt_tensor *cond, const lt_tensor *a,
                          const lt_tensor *b)
{
    lt_tensor *r = cond && a && b ? t_new(s, a->dtype) : NULL;
    return r ? t_check(s, r, lt_where(r, cond, a, b)) : NULL;
}

/* g where cond, else 0 (or the other way round when keep_false) */
static lt_tensor *t_mask(tmps *s, const lt_tensor *cond, const lt_tensor *g, int keep_false)
{
    lt_tensor *z = g ? t_zero(s, lt_device(g), g->dtype) : NULL;
    return keep_false ? t_where(s, cond, z, g) : t_where(s, cond, g, z);
}

/* The saved tensor of slot `slot` (its index in n->i[slot]); NULL + error when stale. */
static const lt_tensor *t_saved(tmps *s, lt_node *n, int slot)
{
    if (s->st) return NULL;
    lt_tensor *t = n->i[slot] >= 0 ? lt_node_saved(n, (int)n->i[slot]) : NULL;
    if (!t) {
        if (n->i[slot] < 0) lt_error("%s: a needed tensor was not saved", n->name);
        s->st = LT_ERR;
    }
    return t;
}

/* gin[k] = g summed back to input k's shape (when input k wants a gradient). */
static void t_give(tmps *s, lt_node *n, lt_tensor **gin, int k, const lt_tensor *g)
{
    if (s->st || !n->next[k]) return;
    if (!g) {
        s->st = LT_ERR;
        return;
    }
    lt_tensor *r = lt_tensor_empty(g->dtype);
    if (!r || lt_sum_to_shape(r, g, n->in_ndim[k], n->in_size[k])) {
        lt_tensor_release(r);
        s->st = LT_ERR;
        return;
    }
    gin[k] = r;
}

/* gin[k] = zeros of input k's shape, on the device of the gradient g */
static void t_give_zeros(tmps *s, lt_node *n, lt_tensor **gin, int k, const lt_tensor *g)
{
    if (s->st || !n->next[k]) return;
    gin[k] = lt_tensor_new_on(lt_device(g), n->in_dtype[k], n->in_ndim[k], n->in_size[k]);
    if (!gin[k]) s->st = LT_ERR;
}

static int t_done(tmps *s)
{
    for (int k = 0; k < s->n; k++) lt_tensor_release(s->t[k]);
    return s->st;
}

/* ---- recording helpers ------------------------------------------------------------------- */

/* n->i[] slots: where each saved tensor sits (-1 = not saved), then the op. */
enum { SLOT_A, SLOT_B, SLOT_C, SLOT_OUT, SLOT_OP };

static lt_node *rec_begin(const char *name, lt_backward_fn fn, int nin,
                          lt_tensor *const *ins)
{
    lt_node *n = lt_node_new(name, fn, nin, ins, 1);
    if (n)
        for (int k = SLOT_A; k <= SLOT_OUT; k++) n->i[k] = -1;
    return n;
}

static int rec_save(lt_node *n, int slot, const lt_tensor *t)
{
    int idx = lt_node_save(n, t);
    if (idx < 0) return LT_ERR;
    n->i[slot] = idx;
    return LT_OK;
}

/* Attaches n to out on success; the node is released either way (out holds it). */
static int rec_end(lt_node *n, lt_tensor *out, int st)
{
    if (st == LT_OK) lt_node_set_output(n, out, 0);
    lt_node_release(n);
    return st;
}

static int needs(int nin, lt_tensor *const *ins)
{
    return lt_needs_grad(nin, (const lt_tensor *const *)ins);
}

/* ---- unary ------------------------------------------------------------------------------- */

enum { SAVE_NONE, SAVE_IN, SAVE_OUT };

static const struct {
    const char *name;
    int save;
} unary_info[LT_NUNARY] = {
    [LT_OP_NEG] = {"NegBackward", SAVE_NONE},
    [LT_OP_ABS] = {"AbsBackward", SAVE_IN},
    [LT_OP_SIGN] = {"SignBackward", SAVE_NONE},
    [LT_OP_EXP] = {"ExpBackward", SAVE_OUT},
    [LT_OP_LOG] = {"LogBackward", SAVE_IN},
    [LT_OP_LOG1P] = {"Log1pBackward", SAVE_IN},
    [LT_OP_SQRT] = {"SqrtBackward", SAVE_OUT},
    [LT_OP_RSQRT] = {"RsqrtBackward", SAVE_OUT},
    [LT_OP_SIGMOID] = {"SigmoidBackward", SAVE_OUT},
    [LT_OP_TANH] = {"TanhBackward", SAVE_OUT},
    [LT_OP_RELU] = {"ReluBackward", SAVE_OUT},
    [LT_OP_FLOOR] = {"FloorBackward", SAVE_NONE},
    [LT_OP_CEIL] = {"CeilBackward", SAVE_NONE},
    [LT_OP_ROUND] = {"RoundBackward", SAVE_NONE},
    [LT_OP_SIN] = {"SinBackward", SAVE_IN},
    [LT_OP_COS] = {"CosBackward", SAVE_IN},
    [LT_OP_TRUNC] = {"TruncBackward", SAVE_NONE},
    [LT_OP_FRAC] = {"FracBackward", SAVE_NONE},
    [LT_OP_SQUARE] = {"SquareBackward", SAVE_IN},
    [LT_OP_RECIPROCAL] = {"ReciprocalBackward", SAVE_OUT},
    [LT_OP_TAN] = {"TanBackward", SAVE_OUT},
    [LT_OP_ASIN] = {"AsinBackward", SAVE_IN},
    [LT_OP_ACOS] = {"AcosBackward", SAVE_IN},
    [LT_OP_ATAN] = {"AtanBackward", SAVE_IN},
    [LT_OP_SINH] = {"SinhBackward", SAVE_IN},
    [LT_OP_COSH] = {"CoshBackward", SAVE_IN},
    [LT_OP_EXPM1] = {"Expm1Backward", SAVE_OUT},
    [LT_OP_ERF] = {"ErfBackward", SAVE_IN},
    [LT_OP_ERFC] = {"ErfcBackward", SAVE_IN},
    [LT_OP_LGAMMA] = {"LgammaBackward", SAVE_IN},
    [LT_OP_DIGAMMA] = {"DigammaBackward", SAVE_IN},
    [LT_OP_TRIGAMMA] = {"TrigammaBackward", SAVE_IN},
};

static int unary_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    tmps s = {0};
    const lt_tensor *g = gout[0], *x = NULL, *y = NULL, *r = NULL;
    lt_unary_op op = (lt_unary_op)n->i[SLOT_OP];
    if (unary_info[op].save == SAVE_IN) x = t_saved(&s, n, SLOT_A);
    if (unary_info[op].save == SAVE_OUT) y = t_saved(&s, n, SLOT_OUT);
    switch (op) {
    case LT_OP_NEG: r = t_un(&s, LT_OP_NEG, g); break;
    case LT_OP_ABS: r = t_bin(&s, LT_OP_MUL, g, t_un(&s, LT_OP_SIGN, x)); break;
    case LT_OP_SIGN:
    case LT_OP_FLOOR:
    case LT_OP_CEIL:
    case LT_OP_ROUND:
    case LT_OP_TRUNC:  /* piecewise constant: zero almost everywhere, as PyTorch */
        t_give_zeros(&s, n, gin, 0, g);
        return t_done(&s);
    case LT_OP_EXP: r = t_bin(&s, LT_OP_MUL, g, y); break;
    case LT_OP_LOG: r = t_bin(&s, LT_OP_DIV, g, x); break;
    case LT_OP_LOG1P: r = t_bin(&s, LT_OP_DIV, g, t_bins(&s, LT_OP_ADD, x, 1)); break;
    case LT_OP_SQRT: r = t_bin(&s, LT_OP_DIV, g, t_sbin(&s, LT_OP_MUL, 2, y)); break;
    case LT_OP_RSQRT:  /* -0.5 * g * y^3 */
        r = t_bin(&s, LT_OP_MUL, t_bins(&s, LT_OP_MUL, g, -0.5), t_bins(&s, LT_OP_POW, y, 3));
        break;
    case LT_OP_SIGMOID: r = t_bin(&s, LT_OP_SIGMOID_GRAD, g, y); break;  /* g (1 - y) y */
    case LT_OP_TANH: r = t_bin(&s, LT_OP_TANH_GRAD, g, y); break;        /* g (1 - y^2) */
    case LT_OP_RELU: r = t_bin(&s, LT_OP_RELU_GRAD, g, y); break;        /* y <= 0 ? 0 : g */
    case LT_OP_SIN: r = t_bin(&s, LT_OP_MUL, g, t_un(&s, LT_OP_COS, x)); break;
    case LT_OP_COS:
        r = t_bin(&s, LT_OP_MUL, g, t_un(&s, LT_OP_NEG, t_un(&s, LT_OP_SIN, x)));
        break;
    case LT_OP_FRAC: r = g; break;
    case LT_OP_SQUARE: r = t_bin(&s, LT_OP_MUL, g, t_sbin(&s, LT_OP_MUL, 2, x)); break;
    case LT_OP_RECIPROCAL:  /* -g * y^2 */
        r = t_bin(&s, LT_OP_MUL, t_un(&s, LT_OP_NEG, g), t_bin(&s, LT_OP_MUL, y, y));
        break;
    case LT_OP_TAN:  /* g (1 + y^2) */
        r = t_bin(&s, LT_OP_MUL, g, t_bins(&s, LT_OP_ADD, t_un(&s, LT_OP_SQUARE, y), 1));
        break;
    case LT_OP_ASIN:  /* +-g / sqrt(1 - x^2) */
    case LT_OP_ACOS:
        r = t_bin(&s, LT_OP_DIV, op == LT_OP_ASIN ? g : t_un(&s, LT_OP_NEG, g),
                  t_un(&s, LT_OP_SQRT, t_sbin(&s, LT_OP_SUB, 1, t_un(&s, LT_OP_SQUARE, x))));
        break;
    case LT_OP_ATAN:  /* g / (1 + x^2) */
        r = t_bin(&s, LT_OP_DIV, g, t_bins(&s, LT_OP_ADD, t_un(&s, LT_OP_SQUARE, x), 1));
        break;
    case LT_OP_SINH: r = t_bin(&s, LT_OP_MUL, g, t_un(&s, LT_OP_COSH, x)); break;
    case LT_OP_COSH: r = t_bin(&s, LT_OP_MUL, g, t_un(&s, LT_OP_SINH, x)); break;
    case LT_OP_EXPM1: r = t_bin(&s, LT_OP_MUL, g, t_bins(&s, LT_OP_ADD, y, 1)); break;
    case LT_OP_ERF:  /* +-g 2 / sqrt(pi) e^(-x^2) */
    case LT_OP_ERFC:
        r = t_bin(&s, LT_OP_MUL, g,
                  t_sbin(&s, LT_OP_MUL, op == LT_OP_ERF ? M_2_SQRTPI : -M_2_SQRTPI,
                         t_un(&s, LT_OP_EXP, t_un(&s, LT_OP_NEG, t_un(&s, LT_OP_SQUARE, x)))));
        break;
    case LT_OP_LGAMMA: r = t_bin(&s, LT_OP_MUL, g, t_un(&s, LT_OP_DIGAMMA, x)); break;
    case LT_OP_DIGAMMA: r = t_bin(&s, LT_OP_MUL, g, t_un(&s, LT_OP_TRIGAMMA, x)); break;
    default: s.st = lt_error("%s: unknown unary op", n->name); break;
    }
    t_give(&s, n, gin, 0, r);
    return t_done(&s);
}

int lt_rec_unary(lt_tensor *out, lt_unary_op op, lt_tensor *a)
{
    lt_tensor *ins[1] = {a};
    if (!needs(1, ins)) return LT_OK;
    if ((unsigned)op >= LT_NUNARY) return lt_error("unknown unary op %d", (int)op);
    lt_node *n = rec_begin(unary_info[op].name, unary_backward, 1, ins);
    if (!n) return LT_ERR;
    n->i[SLOT_OP] = op;
    int st = LT_OK;
    if (unary_info[op].save == SAVE_IN) st = rec_save(n, SLOT_A, a);
    if (unary_info[op].save == SAVE_OUT) st = rec_save(n, SLOT_OUT, out);
    return rec_end(n, out, st);
}

/* ---- binary ------------------------------------------------------------------------------ */

static const char *const binary_node_names[LT_NBINARY] = {
    [LT_OP_ADD] = "AddBackward", [LT_OP_SUB] = "SubBackward", [LT_OP_MUL] = "MulBackward",
    [LT_OP_DIV] = "DivBackward", [LT_OP_POW] = "PowBackward",
    [LT_OP_MAX2] = "MaximumBackward", [LT_OP_MIN2] = "MinimumBackward",
    [LT_OP_REM] = "FmodBackward", [LT_OP_ATAN2] = "Atan2Backward",
    [LT_OP_REMAINDER] = "RemainderBackward",
};

/* maximum/minimum: g where the input won, g/2 at ties, 0 where it lost (PyTorch 1.13:
 * where(a == b, g / 2, g).masked_fill_(a < b, 0) for a of maximum). NaN compares false
 * everywhere, so both inputs then get g, as in PyTorch. */
static const lt_tensor *maxmin_grad(tmps *s, const lt_tensor *g, const lt_tensor *a,
                                    const lt_tensor *b, lt_cmp_op lose)
{
    const lt_tensor *t = t_where(s, t_cmp(s, LT_CMP_EQ, a, b), t_bins(s, LT_OP_DIV, g, 2), g);
    return t_mask(s, t_cmp(s, lose, a, b), t, 1);
}

static int binary_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    tmps s = {0};
    const lt_tensor *g = gout[0], *a = NULL, *b = NULL, *y = NULL;
    const lt_tensor *ga = NULL, *gb = NULL;
    int wa = n->next[0] != NULL, wb = n->next[1] != NULL;
    double alpha = n->d[0];
    if (n->i[SLOT_A] >= 0) a = t_saved(&s, n, SLOT_A);
    if (n->i[SLOT_B] >= 0) b = t_saved(&s, n, SLOT_B);
    if (n->i[SLOT_OUT] >= 0) y = t_saved(&s, n, SLOT_OUT);
    switch ((lt_binary_op)n->i[SLOT_OP]) {
    case LT_OP_ADD:
    case LT_OP_SUB: {
        double sc = n->i[SLOT_OP] == LT_OP_SUB ? -alpha : alpha;
        ga = g;
        if (wb) gb = sc == 1 ? g : t_bins(&s, LT_OP_MUL, g, sc);
        break;
    }
    case LT_OP_MUL:
        if (wa && wb) {  /* both in one pass */
            lt_tensor *ra = t_new(&s, g->dtype), *rb = t_new(&s, g->dtype);
            if (rb && t_check(&s, rb, lt_mul_pair(ra, rb, g, a, b))) ga = ra, gb = rb;
            break;
        }
        if (wa) ga = t_bin(&s, LT_OP_MUL, g, b);
        if (wb) gb = t_bin(&s, LT_OP_MUL, g, a);
        break;
    case LT_OP_DIV:  /* d/db: -g * ((a / b) / b) */
        if (wa) ga = t_bin(&s, LT_OP_DIV, g, b);
        if (wb)
            gb = t_bin(&s, LT_OP_MUL, t_un(&s, LT_OP_NEG, g),
                       t_bin(&s, LT_OP_DIV, t_bin(&s, LT_OP_DIV, a, b), b));
        break;
    case LT_OP_POW:
        if (wa) {  /* where(b == 0, 0, g * (b * a^(b - 1))) */
            const lt_tensor *d = t_bin(&s, LT_OP_MUL, b,
                                       t_bin(&s, LT_OP_POW, a, t_bins(&s, LT_OP_SUB, b, 1)));
            ga = t_mask(&s, t_cmps(&s, LT_CMP_EQ, b, 0), t_bin(&s, LT_OP_MUL, g, d), 1);
        }
        if (wb) {  /* g * where(a == 0 & b >= 0, 0, y * log(a)) */
            const lt_tensor *c = t_bin(&s, LT_OP_MUL, t_cmps(&s, LT_CMP_EQ, a, 0),
                                       t_cmps(&s, LT_CMP_GE, b, 0));
            const lt_tensor *d = t_bin(&s, LT_OP_MUL, y, t_un(&s, LT_OP_LOG, a));
            gb = t_bin(&s, LT_OP_MUL, g, t_mask(&s, c, d, 1));
        }
        break;
    case LT_OP_MAX2:
        if (wa) ga = maxmin_grad(&s, g, a, b, LT_CMP_LT);
        if (wb) gb = maxmin_grad(&s, g, b, a, LT_CMP_LT);
        break;
    case LT_OP_MIN2:
        if (wa) ga = maxmin_grad(&s, g, a, b, LT_CMP_GT);
        if (wb) gb = maxmin_grad(&s, g, b, a, LT_CMP_GT);
        break;
    case LT_OP_REM:        /* fmod: a - trunc(a / b) * b */
    case LT_OP_REMAINDER:  /* a - floor(a / b) * b */
        ga = g;
        if (wb)
            gb = t_bin(&s, LT_OP_MUL, t_un(&s, LT_OP_NEG, g),
                       t_un(&s, n->i[SLOT_OP] == LT_OP_REM ? LT_OP_TRUNC : LT_OP_FLOOR,
                            t_bin(&s, LT_OP_DIV, a, b)));
        break;
    case LT_OP_ATAN2: {  /* (g * b, g * -a) / (a^2 + b^2) */
        const lt_tensor *recip = t_un(&s, LT_OP_RECIPROCAL,
                                      t_bin(&s, LT_OP_ADD, t_bin(&s, LT_OP_MUL, a, a),
                                            t_bin(&s, LT_OP_MUL, b, b)));
        if (wa) ga = t_bin(&s, LT_OP_MUL, t_bin(&s, LT_OP_MUL, g, b), recip);
        if (wb)
            gb = t_bin(&s, LT_OP_MUL, t_bin(&s, LT_OP_MUL, g, t_un(&s, LT_OP_NEG, a)), recip);
        break;
    }
    default: s.st = lt_error("%s: unknown binary op", n->name); break;
    }
    t_give(&s, n, gin, 0, ga);
    t_give(&s, n, gin, 1, gb);
    return t_done(&s);
}

/* Which operands a backward reads: bit 0 = a, 1 = b, 2 = out; wa/wb say which inputs want
 * a gradient. Saving only what is read keeps unrelated in-place writes legal, as PyTorch. */
static int binary_saves(lt_binary_op op, int wa, int wb)
{
    switch (op) {
    case LT_OP_MUL: return (wb ? 1 : 0) | (wa ? 2 : 0);
    case LT_OP_DIV: return (wb ? 1 : 0) | 2;
    case LT_OP_POW: return 1 | 2 | (wb ? 4 : 0);
    case LT_OP_MAX2:
    case LT_OP_MIN2:
    case LT_OP_ATAN2: return 1 | 2;
    case LT_OP_REM:
    case LT_OP_REMAINDER: return wb ? 3 : 0;
    default: return 0;
    }
}

int lt_rec_binary(lt_tensor *out, lt_binary_op op, lt_tensor *a, lt_tensor *b, double alpha)
{
    lt_tensor *ins[2] = {a, b};
    if (!needs(2, ins)) return LT_OK;
    if ((unsigned)op >= LT_NBINARY) return lt_error("unknown binary op %d", (int)op);
    if (!binary_node_names[op]) return lt_error("%s has no derivative", lt_binary_name(op));
    lt_node *n = rec_begin(binary_node_names[op], binary_backward, 2, ins);
    if (!n) return LT_ERR;
    n->i[SLOT_OP] = op;
    n->d[0] = alpha;
    int saves = binary_saves(op, n->next[0] != NULL, n->next[1] != NULL), st = LT_OK;
    if (saves & 1) st = rec_save(n, SLOT_A, a);
    if (st == LT_OK && (saves & 2)) st = rec_save(n, SLOT_B, b);
    if (st == LT_OK && (saves & 4)) st = rec_save(n, SLOT_OUT, out);
    return rec_end(n, out, st);
}

/* The number operand as a 0-dim constant of t's dtype on t's device, converted as the
 * forward did (on a device, a float constant is written by a fill kernel: no transfer). */
static lt_tensor *constant_like(const lt_tensor *t, double s)
{
    int dev = lt_device(t);
    lt_tensor *c = lt_tensor_uninit_on(dev, t->dtype, 0, NULL);
    if (!c) return NULL;
    if (dev != LT_CPU && lt_dtype_is_float(t->dtype)) {
        if (lt_fill(c, s)) {
            lt_tensor_release(c);
            return NULL;
        }
    } else {
        lt_set(c, NULL, s);
    }
    return c;
}

int lt_rec_binary_scalar(lt_tensor *out, lt_binary_op op, lt_tensor *a, double s)
{
    const lt_tensor *ins[1] = {a};
    if (!lt_needs_grad(1, ins)) return LT_OK;
    lt_tensor *c = constant_like(a, s);
    int st = c ? lt_rec_binary(out, op, a, c, 1.0) : LT_ERR;
    lt_tensor_release(c);  /* a saved handle keeps its storage */
    return st;
}

int lt_rec_scalar_binary(lt_tensor *out, lt_binary_op op, double s, lt_tensor *a)
{
    const lt_tensor *ins[1] = {a};
    if (!lt_needs_grad(1, ins)) return LT_OK;
    lt_tensor *c = constant_like(a, s);
    int st = c ? lt_rec_binary(out, op, c, a, 1.0) : LT_ERR;
    lt_tensor_release(c);
    return st;
}

/* ---- clamp, leaky_relu ------------------------------------------------------------------- */

/* PyTorch's clamp_backward: the gradient passes where lo <= a <= hi (NaN: no bound). */
static int clamp_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    tmps s = {0};
    const lt_tensor *g = gout[0], *a = t_saved(&s, n, SLOT_A), *m = NULL;
    double lo = n->d[0], hi = n->d[1];
    if (lo == lo) m = t_cmps(&s, LT_CMP_GE, a, lo);
    if (hi == hi) {
        const lt_tensor *mh = t_cmps(&s, LT_CMP_LE, a, hi);
        m = m ? t_bin(&s, LT_OP_MUL, m, mh) : mh;
    }
    t_give(&s, n, gin, 0, m ? t_mask(&s, m, g, 0) : g);
    return t_done(&s);
}

int lt_rec_clamp(lt_tensor *out, lt_tensor *a, double lo, double hi)
{
    lt_tensor *ins[1] = {a};
    if (!needs(1, ins)) return LT_OK;
    lt_node *n = rec_begin("ClampBackward", clamp_backward, 1, ins);
    if (!n) return LT_ERR;
    n->d[0] = lo;
    n->d[1] = hi;
    return rec_end(n, out, rec_save(n, SLOT_A, a));
}

static int leaky_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    tmps s = {0};
    const lt_tensor *g = gout[0], *a = t_saved(&s, n, SLOT_A);
    /* a > 0 ? g : g * slope, one pass */
    t_give(&s, n, gin, 0, t_bin_al(&s, LT_OP_LEAKY_GRAD, g, a, n->d[0]));
    return t_done(&s);
}

int lt_rec_leaky_relu(lt_tensor *out, lt_tensor *a, double slope)
{
    lt_tensor *ins[1] = {a};
    if (!needs(1, ins)) return LT_OK;
    lt_node *n = rec_begin("LeakyReluBackward", leaky_backward, 1, ins);
    if (!n) return LT_ERR;
    n->d[0] = slope;
    return rec_end(n, out, rec_save(n, SLOT_A, a));
}

/* ---- addcmul / addcdiv ------------------------------------------------------------------- */

static int addc_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    tmps s = {0};
    const lt_tensor *g = gout[0], *b = NULL, *c = NULL, *gb = NULL, *gc = NULL;
    double v = n->d[0];
    if (n->i[SLOT_B] >= 0) b = t_saved(&s, n, SLOT_B);
    if (n->i[SLOT_C] >= 0) c = t_saved(&s, n, SLOT_C);
    if (!n->i[SLOT_OP]) {  /* a + v * b * c */
        if (n->next[1]) gb = t_bin(&s, LT_OP_MUL, g, t_bins(&s, LT_OP_MUL, c, v));
        if (n->next[2]) gc = t_bin(&s, LT_OP_MUL, g, t_bins(&s, LT_OP_MUL, b, v));
    } else {  /* a + v * b / c: (g * v / c, -g * v * b / c^2) */
        if (n->next[1]) gb = t_bin(&s, LT_OP_MUL, g, t_sbin(&s, LT_OP_DIV, v, c));
        if (n->next[2])
            gc = t_bin(&s, LT_OP_DIV,
                       t_bin(&s, LT_OP_MUL, t_bins(&s, LT_OP_MUL, t_un(&s, LT_OP_NEG, g), v), b),
                       t_bin(&s, LT_OP_MUL, c, c));
    }
    t_give(&s, n, gin, 0, g);
    t_give(&s, n, gin, 1, gb);
    t_give(&s, n, gin, 2, gc);
    return t_done(&s);
}

int lt_rec_addcmul(lt_tensor *out, lt_tensor *a, double value, lt_tensor *b, lt_tensor *c,
                   int divide)
{
    lt_tensor *ins[3] = {a, b, c};
    if (!needs(3, ins)) return LT_OK;
    lt_node *n = rec_begin(divide ? "AddcdivBackward" : "AddcmulBackward", addc_backward, 3,
                           ins);
    if (!n) return LT_ERR;
    n->d[0] = value;
    n->i[SLOT_OP] = divide != 0;
    int wb = n->next[1] != NULL, wc = n->next[2] != NULL, st = LT_OK;
    if (wc) st = rec_save(n, SLOT_B, b);
    if (st == LT_OK && (divide ? wb || wc : wb)) st = rec_save(n, SLOT_C, c);
    return rec_end(n, out, st);
}

/* ---- where, masked_select ---------------------------------------------------------------- */

static int where_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    tmps s = {0};
    const lt_tensor *g = gout[0], *cond = t_saved(&s, n, SLOT_C);
    if (n->next[0]) t_give(&s, n, gin, 0, t_mask(&s, cond, g, 0));
    if (n->next[1]) t_give(&s, n, gin, 1, t_mask(&s, cond, g, 1));
    return t_done(&s);
}

int lt_rec_where(lt_tensor *out, lt_tensor *cond, lt_tensor *a, lt_tensor *b)
{
    lt_tensor *ins[2] = {a, b};
    if (!needs(2, ins)) return LT_OK;
    lt_node *n = rec_begin("WhereBackward", where_backward, 2, ins);
    if (!n) return LT_ERR;
    return rec_end(n, out, rec_save(n, SLOT_C, cond));
}

/* The selected gradients go back to their places in a zero tensor of the shape a and the
 * mask broadcast to, which is then summed down to a's shape. */
static int mselect_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    tmps s = {0};
    const lt_tensor *g = gout[0], *mask = t_saved(&s, n, SLOT_C);
    int ndim;
    int64_t size[LT_MAXDIM];
    lt_tensor *z = NULL;
    if (!s.st && lt_broadcast_shape(n->in_ndim[0], n->in_size[0], mask->ndim, mask->size,
                                    &ndim, size))
        s.st = LT_ERR;
    if (!s.st && (z = t_new_on(&s, lt_device(g), n->in_dtype[0], ndim, size)) != NULL)
        t_check(&s, z, lt_fill(z, 0) || lt_masked_copy(z, mask, g) ? LT_ERR : LT_OK);
    t_give(&s, n, gin, 0, z);
    return t_done(&s);
}

int lt_rec_masked_select(lt_tensor *out, lt_tensor *a, lt_tensor *mask)
{
    lt_tensor *ins[1] = {a};
    if (!needs(1, ins)) return LT_OK;
    lt_node *n = rec_begin("MaskedSelectBackward", mselect_backward, 1, ins);
    if (!n) return LT_ERR;
    return rec_end(n, out, rec_save(n, SLOT_C, mask));
}
