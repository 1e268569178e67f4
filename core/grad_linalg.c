/*
 * grad_linalg.c — autograd for core/linalg.c: inverse, det, solve and Cholesky, each on a
 * matrix or a batch of them (..., n, n). With g the gradient of the output:
 *     Y = A^{-1}:      gA = -Y^T g Y^T
 *     d = det(A):      gA = g * cof(A)           (cof(A) = d A^{-T}; singular A: by the SVD)
 *     X = A^{-1} B:    gB = A^{-T} g,  gA = -gB X^T    (a vector B as an (n, 1) matrix)
 *     L = chol(A):     gA = sym(L^{-T} Phi(L^T gL) L^{-1})   (lt_linalg_cholesky_backward)
 * The backward calls the forward kernels (a solve with A^T, a cofactor matrix) and batched
 * products, so a CUDA tensor's gradient takes the same path through the host as its forward.
 * QR, SVD and the eigenproblem have no backward: the bindings refuse to record them.
 */
#include <string.h>

#include "lt_internal.h"

static lt_tensor *fresh(lt_dtype dt) { return lt_tensor_empty(dt); }

/* A stack view of t with its last two dims swapped (no copy). */
static lt_tensor transposed(const lt_tensor *t)
{
    lt_tensor v = *t;
    lt_transpose(&v, v.ndim - 2, v.ndim - 1);
    return v;
}

/* out = x @ y for x (..., p, q), y (..., q, r) of the same batch dims: one bmm over the
 * batch folded into one dim, the result viewed back as (..., p, r). x and y may be strided
 * views. */
static int batched_mm(lt_tensor *out, const lt_tensor *x, const lt_tensor *y)
{
    int nd = x->ndim;
    if (nd == 2) return lt_mm(out, x, y);
    int64_t nb = 1, size[LT_MAXDIM];
    for (int i = 0; i < nd - 2; i++) nb *= x->size[i];
    int64_t sx[3] = {nb, x->size[nd - 2], x->size[nd - 1]};
    int64_t sy[3] = {nb, y->size[nd - 2], y->size[nd - 1]};
    memcpy(size, x->size, sizeof(int64_t) * (size_t)nd);
    size[nd - 1] = y->size[nd - 1];
    /* reshape folds the batch: a view when it can, a copy otherwise (a transposed x) */
    lt_tensor *fx = fresh(x->dtype), *fy = fresh(x->dtype);
    int st = fx && fy ? LT_OK : LT_ERR;
    if (st == LT_OK) st = lt_reshape(fx, x, 3, sx);
    if (st == LT_OK) st = lt_reshape(fy, y, 3, sy);
    if (st == LT_OK) st = lt_bmm(out, fx, fy);
    if (st == LT_OK) st = lt_view(out, nd, size);
    lt_tensor_release(fx);
    lt_tensor_release(fy);
    return st;
}

/* ---- inverse --------------------------------------------------------------------------- */
/* input (A); saved: the output Y at 0 */

static int inverse_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    lt_tensor *y = lt_node_saved(n, 0);
    if (!y) return LT_ERR;
    lt_tensor yt = transposed(y), *t = fresh(y->dtype), *r = fresh(y->dtype);
    int st = t && r ? batched_mm(t, &yt, gout[0]) : LT_ERR;      /* Y^T g          */
    if (st == LT_OK) st = batched_mm(r, t, &yt);                  /* (Y^T g) Y^T    */
    if (st == LT_OK) st = lt_unary(r, LT_OP_NEG, r);
    lt_tensor_release(t);
    gin[0] = r;   /* released by the engine on an error */
    return st;
}

int lt_rec_inverse(lt_tensor *out, lt_tensor *a)
{
    if (!lt_needs_grad(1, (const lt_tensor *const *)&a)) return LT_OK;
    lt_node *nd = lt_node_new("InverseBackward", inverse_backward, 1, &a, 1);
    if (!nd) return LT_ERR;
    int st = lt_node_save(nd, out) < 0 ? LT_ERR : LT_OK;
    if (st == LT_OK) lt_node_set_output(nd, out, 0);
    lt_node_release(nd);
    return st;
}

/* ---- det --------------------------------------------------------------------------------- */
/* input (A); saved: A at 0. The output has A's batch dims (0-dim for a matrix). */

static int det_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    lt_tensor *a = lt_node_saved(n, 0);
    if (!a) return LT_ERR;
    lt_tensor *cof = fresh(a->dtype), *r = fresh(a->dtype);
    int st = cof && r ? lt_linalg_cofactor(cof, a) : LT_ERR;
    lt_tensor gv = *gout[0];   /* g (...) -> (..., 1, 1), broadcast over each matrix */
    if (st == LT_OK) st = lt_unsqueeze(&gv, gv.ndim);
    if (st == LT_OK) st = lt_unsqueeze(&gv, gv.ndim);
    if (st == LT_OK) st = lt_binary(r, LT_OP_MUL, cof, &gv, 1);
    lt_tensor_release(cof);
    gin[0] = r;
    return st;
}

int lt_rec_det(lt_tensor *out, lt_tensor *a)
{
    if (!lt_needs_grad(1, (const lt_tensor *const *)&a)) return LT_OK;
    lt_node *nd = lt_node_new("DetBackward", det_backward, 1, &a, 1);
    if (!nd) return LT_ERR;
    int st = lt_node_save(nd, a) < 0 ? LT_ERR : LT_OK;
    if (st == LT_OK) lt_node_set_output(nd, out, 0);
    lt_node_release(nd);
    return st;
}

/* ---- solve -------------------------------------------------------------------------------- */
/* inputs (A, B); saved: A at 0 (both gradients solve with A^T), X at i[0] when A needs one;
 * i[1]: B was a vector (..., n) */

static int solve_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    lt_tensor *a = lt_node_saved(n, 0), *x = NULL;
    if (!a) return LT_ERR;
    if (n->next[0] && !(x = lt_node_saved(n, (int)n->i[0]))) return LT_ERR;
    lt_tensor at = transposed(a), *gb = fresh(a->dtype);
    int st = gb ? lt_linalg_solve(gb, NULL, &at, gout[0]) : LT_ERR;   /* A^T gB = g */
    if (st == LT_OK && n->next[0]) {   /* gA = -gB X^T */
        lt_tensor vg = *gb, vx = *x;
        if (n->i[1]) {   /* vectors: (..., n, 1) @ (..., 1, n) */
            st = lt_unsqueeze(&vg, vg.ndim);
            if (st == LT_OK) st = lt_unsqueeze(&vx, vx.ndim - 1);
        } else {
            vx = transposed(x);
        }
        lt_tensor *ga = fresh(a->dtype);
        if (!ga) st = LT_ERR;
        if (st == LT_OK) st = batched_mm(ga, &vg, &vx);
        if (st == LT_OK) st = lt_unary(ga, LT_OP_NEG, ga);
        gin[0] = ga;
    }
    if (n->next[1]) gin[1] = gb;
    else lt_tensor_release(gb);
    return st;
}

int lt_rec_solve(lt_tensor *out, lt_tensor *a, lt_tensor *b)
{
    lt_tensor *ins[2] = {a, b};
    if (!lt_needs_grad(2, (const lt_tensor *const *)ins)) return LT_OK;
    lt_node *nd = lt_node_new("SolveBackward", solve_backward, 2, ins, 1);
    if (!nd) return LT_ERR;
    nd->i[0] = -1;
    nd->i[1] = b->ndim == a->ndim - 1;
    int st = lt_node_save(nd, a) < 0 ? LT_ERR : LT_OK;
    if (st == LT_OK && nd->next[0] && (nd->i[0] = lt_node_save(nd, out)) < 0) st = LT_ERR;
    if (st == LT_OK) lt_node_set_output(nd, out, 0);
    lt_node_release(nd);
    return st;
}

/* ---- Cholesky ---------------------------------------------------------------------------- */
/* input (A); saved: the factor L (or U) at 0; i[0]: upper */

static int cholesky_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    lt_tensor *l = lt_node_saved(n, 0);
    if (!l) return LT_ERR;
    if (!(gin[0] = fresh(l->dtype))) return LT_ERR;
    return lt_linalg_cholesky_backward(gin[0], l, gout[0], (int)n->i[0]);
}

int lt_rec_cholesky(lt_tensor *out, lt_tensor *a, int upper)
{
    if (!lt_needs_grad(1, (const lt_tensor *const *)&a)) return LT_OK;
    lt_node *nd = lt_node_new("CholeskyBackward", cholesky_backward, 1, &a, 1);
    if (!nd) return LT_ERR;
    nd->i[0] = upper;
    int st = lt_node_save(nd, out) < 0 ? LT_ERR : LT_OK;
    if (st == LT_OK) lt_node_set_output(nd, out, 0);
    lt_node_release(nd);
    return st;
}
