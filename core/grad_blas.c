/*
 * grad_blas.c — autograd for the matrix products of core/blas.c: addmm/mm, baddbmm/bmm,
 * addmv/mv, addr/outer, dot, and PyTorch's matmul with broadcast batch dims.
 *
 * For out = beta * c + alpha * (a @ b) the gradients are
 *     dc = beta * g (summed back over c's broadcast dims),
 *     da = alpha * g @ b^T,      db = alpha * a^T @ g
 * (the vector forms are the same with outer products and matrix-vector products). Transposes
 * are stack views with swapped strides: BLAS takes them as they are, so nothing is copied.
 * A node saves b only when a needs a gradient and a only when b does, so an in-place change
 * of an operand that no gradient reads is no error. Every temporary is made on the
 * gradient's device (lt_tensor_empty handles move there), so device tensors work as they are.
 */
#include <string.h>

#include "lt_internal.h"

typedef enum { BK_MM, BK_BMM, BK_MV, BK_R } prod_kind;

/* A stack view of t with its last two dims swapped. */
static lt_tensor transposed(const lt_tensor *t)
{
    lt_tensor v = *t;
    if (v.ndim >= 2) lt_transpose(&v, v.ndim - 2, v.ndim - 1);
    return v;
}

/* An empty handle for a core op to fill (it is resized there); NULL on error. */
static lt_tensor *fresh(lt_dtype dt) { return lt_tensor_empty(dt); }

/* dc = beta * g summed to c's shape */
static int grad_addend(const lt_node *n, const lt_tensor *g, double beta, lt_tensor **dst)
{
    lt_tensor *r = fresh(g->dtype), *scaled = NULL;
    if (!r) return LT_ERR;
    const lt_tensor *src = g;
    int st = LT_OK;
    if (beta != 1) {
        scaled = fresh(g->dtype);
        st = scaled ? lt_binary_scalar(scaled, LT_OP_MUL, g, beta) : LT_ERR;
        src = scaled;
    }
    if (st == LT_OK) st = lt_sum_to_shape(r, src, n->in_ndim[0], n->in_size[0]);
    lt_tensor_release(scaled);
    if (st) {
        lt_tensor_release(r);
        return LT_ERR;
    }
    *dst = r;
    return LT_OK;
}

/* Gradient of the first factor (a, or the matrix of addmv) from the second one, s. */
static int grad_first(prod_kind kind, const lt_tensor *g, const lt_tensor *s, double alpha,
                      lt_tensor *r)
{
    lt_tensor st_ = transposed(s);
    switch (kind) {
    case BK_MM: return lt_addmm(r, 0, NULL, alpha, g, &st_);          /* g @ b^T        */
    case BK_BMM: return lt_baddbmm(r, 0, NULL, alpha, g, &st_);       /* g @ b^T, batch */
    case BK_MV: return lt_addr(r, 0, NULL, alpha, g, s);              /* outer(g, v)    */
    case BK_R: return lt_addmv(r, 0, NULL, alpha, g, s);              /* g @ b          */
    }
    return lt_error("unknown product");
}

/* Gradient of the second factor (b, or the vector of addmv) from the first one, f. */
static int grad_second(prod_kind kind, const lt_tensor *g, const lt_tensor *f, double alpha,
                       lt_tensor *r)
{
    lt_tensor ft = transposed(f), gt = transposed(g);
    switch (kind) {
    case BK_MM: return lt_addmm(r, 0, NULL, alpha, &ft, g);           /* a^T @ g        */
    case BK_BMM: return lt_baddbmm(r, 0, NULL, alpha, &ft, g);        /* a^T @ g, batch */
    case BK_MV: return lt_addmv(r, 0, NULL, alpha, &ft, g);           /* m^T @ g        */
    case BK_R: return lt_addmv(r, 0, NULL, alpha, &gt, f);            /* g^T @ a        */
    }
    return lt_error("unknown product");
}

/* inputs (c, a, b); d[0] = beta, d[1] = alpha; i[0] = kind; i[1], i[2] = where b and a are
 * saved (-1: not saved) */
static int prod_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    const lt_tensor *g = gout[0];
    prod_kind kind = (prod_kind)n->i[0];
    double beta = n->d[0], alpha = n->d[1];
    lt_tensor *a = NULL, *b = NULL;
    if (n->next[1] && !(b = lt_node_saved(n, (int)n->i[1]))) return LT_ERR;
    if (n->next[2] && !(a = lt_node_saved(n, (int)n->i[2]))) return LT_ERR;
    int st = LT_OK;
    if (n->next[0]) st = grad_addend(n, g, beta, &gin[0]);
    for (int k = 1; k <= 2 && st == LT_OK; k++) {
        if (!n->next[k]) continue;
        /* a parameter's gradient goes straight into its .grad: one GEMM with beta = 1, no
         * temporary and no separate add (a weight used at every step of an RNN) */
        lt_tensor *lg = kind == BK_MM ? lt_node_leaf_grad(n, k) : NULL;
        if (lg) {
            lt_tensor w = transposed(k == 1 ? b : a);   /* g @ b^T, or a^T @ g */
            st = k == 1 ? lt_addmm(lg, 1, lg, alpha, g, &w) : lt_addmm(lg, 1, lg, alpha, &w, g);
            continue;
        }
        lt_tensor *r = fresh(n->in_dtype[k]);
        if (!r) {
            st = LT_ERR;
            break;
        }
        st = k == 1 ? grad_first(kind, g, b, alpha, r) : grad_second(kind, g, a, alpha, r);
        gin[k] = r;  /* released by the engine on an error */
    }
    return st;
}

static int rec_prod(lt_tensor *out, double beta, lt_tensor *c, double alpha, lt_tensor *a,
                    lt_tensor *b, prod_kind kind, const char *name)
{
    lt_tensor *ins[3] = {c, a, b};
    if (!lt_needs_grad(3, (const lt_tensor *const *)ins)) return LT_OK;
    lt_node *nd = lt_node_new(name, prod_backward, 3, ins, 1);
    if (!nd) return LT_ERR;
    nd->d[0] = c ? beta : 0;
    nd->d[1] = alpha;
    nd->i[0] = kind;
    nd->i[1] = nd->i[2] = -1;
    int st = LT_OK;
    if (nd->next[1] && (nd->i[1] = lt_node_save(nd, b)) < 0) st = LT_ERR;
    if (st == LT_OK && nd->next[2] && (nd->i[2] = lt_node_save(nd, a)) < 0) st = LT_ERR;
    if (st == LT_OK) lt_node_set_output(nd, out, 0);
    lt_node_release(nd);
    return st;
}

int lt_rec_addmm(lt_tensor *out, double beta, lt_tensor *c, double alpha, lt_tensor *a,
                 lt_tensor *b)
{
    return rec_prod(out, beta, c, alpha, a, b, BK_MM, c ? "AddmmBackward" : "MmBackward");
}

int lt_rec_baddbmm(lt_tensor *out, double beta, lt_tensor *c, double alpha, lt_tensor *a,
                   lt_tensor *b)
{
    return rec_prod(out, beta, c, alpha, a, b, BK_BMM, c ? "BaddbmmBackward" : "BmmBackward");
}

int lt_rec_addmv(lt_tensor *out, double beta, lt_tensor *c, double alpha, lt_tensor *m,
                 lt_tensor *v)
{
    return rec_prod(out, beta, c, alpha, m, v, BK_MV, c ? "AddmvBackward" : "MvBackward");
}

int lt_rec_addr(lt_tensor *out, double beta, lt_tensor *c, double alpha, lt_tensor *a,
                lt_tensor *b)
{
    return rec_prod(out, beta, c, alpha, a, b, BK_R, c ? "AddrBackward" : "OuterBackward");
}

/* ---- linear: out = x @ w^T + bias -------------------------------------------------------- */
/* inputs (x, w, bias); saved: w at i[0] (for dx), x at i[1] (for dw), -1 when not needed */

int lt_linear(lt_tensor *out, const lt_tensor *x, const lt_tensor *w, const lt_tensor *bias)
{
    if (w->ndim != 2) return lt_error("weight must be 2-D, got %d dimensions", w->ndim);
    lt_tensor wt = transposed(w);
    if (x->ndim == 1) return bias ? lt_addmv(out, 1, bias, 1, w, x) : lt_mv(out, w, x);
    return lt_addmm(out, 1, bias, 1, x, &wt);
}

/* dbias = g summed over the batch, added into the leaf's .grad when it is one */
static int linear_bias_grad(lt_node *n, const lt_tensor *g, lt_tensor **gin)
{
    lt_tensor *lg = lt_node_leaf_grad(n, 2);
    if (g->ndim == 1) {
        if (lg) return lt_binary(lg, LT_OP_ADD, lg, g, 1);
        gin[2] = lt_tensor_uninit_on(lt_device(g), g->dtype, 1, g->size);
        return gin[2] ? lt_copy(gin[2], g) : LT_ERR;
    }
    lt_tensor *s = fresh(g->dtype);
    int st = s ? lt_reduce_dim(s, LT_RED_SUM, g, 0, 0) : LT_ERR;
    if (st == LT_OK && lg) {
        st = lt_binary(lg, LT_OP_ADD, lg, s, 1);
        lt_tensor_release(s);
    } else {
        gin[2] = s;
    }
    return st;
}

static int linear_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    const lt_tensor *g = gout[0];
    lt_tensor *w = NULL, *x = NULL;
    if (n->next[0] && !(w = lt_node_saved(n, (int)n->i[0]))) return LT_ERR;
    if (n->next[1] && !(x = lt_node_saved(n, (int)n->i[1]))) return LT_ERR;
    int st = LT_OK;
    if (n->next[0]) {  /* dx = g @ w (or w^T g for a 1-D x) */
        gin[0] = fresh(n->in_dtype[0]);
        lt_tensor wt = transposed(w);
        st = !gin[0] ? LT_ERR : g->ndim == 1 ? lt_mv(gin[0], &wt, g) : lt_mm(gin[0], g, w);
    }
    if (st == LT_OK && n->next[1]) {  /* dw = g^T @ x (outer(g, x) for 1-D) */
        lt_tensor *lg = lt_node_leaf_grad(n, 1), *dst = lg ? lg : fresh(n->in_dtype[1]);
        lt_tensor gt = transposed(g);
        if (!dst) st = LT_ERR;
        else if (g->ndim == 1) st = lt_addr(dst, lg ? 1 : 0, lg, 1, g, x);
        else st = lt_addmm(dst, lg ? 1 : 0, lg, 1, &gt, x);
        if (!lg) gin[1] = dst;
    }
    if (st == LT_OK && n->next[2]) st = linear_bias_grad(n, g, gin);
    return st;
}

int lt_rec_linear(lt_tensor *out, lt_tensor *x, lt_tensor *w, lt_tensor *bias)
{
    lt_tensor *ins[3] = {x, w, bias};
    if (!lt_needs_grad(3, (const lt_tensor *const *)ins)) return LT_OK;
    lt_node *nd = lt_node_new("LinearBackward", linear_backward, 3, ins, 1);
    if (!nd) return LT_ERR;
    nd->i[0] = nd->i[1] = -1;
    int st = LT_OK;
    if (nd->next[0] && (nd->i[0] = lt_node_save(nd, w)) < 0) st = LT_ERR;
    if (st == LT_OK && nd->next[1] && (nd->i[1] = lt_node_save(nd, x)) < 0) st = LT_ERR;
    if (st == LT_OK) lt_node_set_output(nd, out, 0);
    lt_node_release(nd);
    return st;
}

/* ---- dot --------------------------------------------------------------------------------- */
/* inputs (a, b), any shapes with one element count; i[0], i[1] = where b and a are saved */

/* r = other * g (g 0-dim), in the shape of input k */
static int dot_grad(const lt_node *n, int k, const lt_tensor *other, const lt_tensor *g,
                    lt_tensor **dst)
{
    lt_tensor *tmp = fresh(other->dtype), *r = fresh(other->dtype);
    int st = tmp && r ? lt_binary(tmp, LT_OP_MUL, other, g, 1) : LT_ERR;
    if (st == LT_OK) st = lt_reshape(r, tmp, n->in_ndim[k], n->in_size[k]);
    lt_tensor_release(tmp);
    if (st) {
        lt_tensor_release(r);
        return LT_ERR;
    }
    *dst = r;
    return LT_OK;
}

static int dot_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    lt_tensor *a = NULL, *b = NULL;
    if (n->next[0] && !(b = lt_node_saved(n, (int)n->i[0]))) return LT_ERR;
    if (n->next[1] && !(a = lt_node_saved(n, (int)n->i[1]))) return LT_ERR;
    int st = LT_OK;
    if (n->next[0]) st = dot_grad(n, 0, b, gout[0], &gin[0]);
    if (st == LT_OK && n->next[1]) st = dot_grad(n, 1, a, gout[0], &gin[1]);
    return st;
}

/* Records a two-input node saving b when a needs grad (i[0]) and a when b does (i[1]). */
static int rec_pair(lt_tensor *out, lt_tensor *a, lt_tensor *b, const char *name,
                    lt_backward_fn fn)
{
    lt_tensor *ins[2] = {a, b};
    if (!lt_needs_grad(2, (const lt_tensor *const *)ins)) return LT_OK;
    lt_node *nd = lt_node_new(name, fn, 2, ins, 1);
    if (!nd) return LT_ERR;
    nd->i[0] = nd->i[1] = -1;
    int st = LT_OK;
    if (nd->next[0] && (nd->i[0] = lt_node_save(nd, b)) < 0) st = LT_ERR;
    if (st == LT_OK && nd->next[1] && (nd->i[1] = lt_node_save(nd, a)) < 0) st = LT_ERR;
    if (st == LT_OK) lt_node_set_output(nd, out, 0);
    lt_node_release(nd);
    return st;
}

int lt_rec_dot(lt_tensor *out, lt_tensor *a, lt_tensor *b)
{
    return rec_pair(out, a, b, "DotBackward", dot_backward);
}

/* ---- matmul ------------------------------------------------------------------------------ */

/* out = x @ y for x (..., p, q) and y (..., q, r), batch dims broadcast; out (a fresh
 * handle) receives a tensor of shape batch + [p, r]. A 2-D y is not replicated: x's batch
 * is folded into its rows and one mm runs. */
static int bmatmul(lt_tensor *out, const lt_tensor *x, const lt_tensor *y)
{
    int xn = x->ndim, yn = y->ndim, nbd;
    if (xn == 2 && yn == 2) return lt_mm(out, x, y);
    int64_t p = x->size[xn - 2], q = x->size[xn - 1], r = y->size[yn - 1];
    int64_t bshape[LT_MAXDIM], rshape[LT_MAXDIM], nb = 1;
    if (lt_broadcast_shape(xn - 2, x->size, yn - 2, y->size, &nbd, bshape)) return LT_ERR;
    if (nbd + 2 > LT_MAXDIM) return lt_error("matmul: too many dimensions");
    for (int i = 0; i < nbd; i++) nb *= bshape[i];
    memcpy(rshape, bshape, (size_t)nbd * sizeof *bshape);
    rshape[nbd] = p;
    rshape[nbd + 1] = r;
    lt_tensor *fx = fresh(x->dtype), *fy = fresh(x->dtype);
    int st = fx && fy ? LT_OK : LT_ERR;
    if (st == LT_OK && yn == 2 && xn - 2 == nbd) {
        int64_t s2[2] = {nb * p, q};
        st = lt_reshape(fx, x, 2, s2);
        if (st == LT_OK) st = lt_mm(out, fx, y);
    } else if (st == LT_OK) {
        int64_t sx[LT_MAXDIM], sy[LT_MAXDIM], s3x[3] = {nb, p, q}, s3y[3] = {nb, q, r};
        memcpy(sx, bshape, (size_t)nbd * sizeof *bshape);
        memcpy(sy, bshape, (size_t)nbd * sizeof *bshape);
        sx[nbd] = p, sx[nbd + 1] = q, sy[nbd] = q, sy[nbd + 1] = r;
        lt_tensor vx = *x, vy = *y;
        st = lt_expand(&vx, nbd + 2, sx);
        if (st == LT_OK) st = lt_expand(&vy, nbd + 2, sy);
        if (st == LT_OK) st = lt_reshape(fx, &vx, 3, s3x);
        if (st == LT_OK) st = lt_reshape(fy, &vy, 3, s3y);
        if (st == LT_OK) st = lt_bmm(out, fx, fy);
    }
    if (st == LT_OK) st = lt_view(out, nbd + 2, rshape);
    lt_tensor_release(fx);
    lt_tensor_release(fy);
    return st;
}

/* inputs (a, b) with at least one of them beyond 2-D, or a 1-D and b 2-D; i[0], i[1] = where
 * b and a are saved. A 1-D a is a row (1, k), a 1-D b a column (k, 1); g gets those dims
 * back, and each gradient is summed over the batch dims its input was broadcast along. */
static int matmul_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    lt_tensor *a = NULL, *b = NULL;
    if (n->next[0] && !(b = lt_node_saved(n, (int)n->i[0]))) return LT_ERR;
    if (n->next[1] && !(a = lt_node_saved(n, (int)n->i[1]))) return LT_ERR;
    int a1 = n->in_ndim[0] == 1, b1 = n->in_ndim[1] == 1;
    lt_tensor G = *gout[0], A, B;
    if (b1) lt_unsqueeze(&G, G.ndim);
    if (a1) lt_unsqueeze(&G, G.ndim - 1);
    int st = LT_OK;
    if (n->next[0]) {
        B = *b;
        if (b1) lt_unsqueeze(&B, 1);
        lt_tensor Bt = transposed(&B), *full = fresh(B.dtype), *r = fresh(B.dtype);
        st = full && r ? bmatmul(full, &G, &Bt) : LT_ERR;
        if (st == LT_OK) {
            lt_tensor v = *full;
            if (a1) lt_squeeze_dim(&v, v.ndim - 2);
            st = lt_sum_to_shape(r, &v, n->in_ndim[0], n->in_size[0]);
        }
        lt_tensor_release(full);
        gin[0] = r;
    }
    if (st == LT_OK && n->next[1]) {
        A = *a;
        if (a1) lt_unsqueeze(&A, 0);
        lt_tensor *full = fresh(A.dtype), *r = fresh(A.dtype), *fa = NULL, *fg = NULL;
        st = full && r ? LT_OK : LT_ERR;
        if (st == LT_OK && A.ndim > 2 && n->in_ndim[1] <= 2) {
            /* b has no batch: sum_i a_i^T g_i is one mm over the folded batch */
            int64_t sa[2] = {-1, A.size[A.ndim - 1]}, sg[2] = {-1, G.size[G.ndim - 1]};
            fa = fresh(A.dtype);
            fg = fresh(A.dtype);
            st = fa && fg ? lt_reshape(fa, &A, 2, sa) : LT_ERR;
            if (st == LT_OK) st = lt_reshape(fg, &G, 2, sg);
            if (st == LT_OK) {
                lt_tensor fat = transposed(fa);
                st = lt_mm(full, &fat, fg);
            }
        } else if (st == LT_OK) {
            lt_tensor At = transposed(&A);
            st = bmatmul(full, &At, &G);
        }
        if (st == LT_OK) {
            lt_tensor v = *full;
            if (b1) lt_squeeze_dim(&v, v.ndim - 1);
            st = lt_sum_to_shape(r, &v, n->in_ndim[1], n->in_size[1]);
        }
        lt_tensor_release(fa);
        lt_tensor_release(fg);
        lt_tensor_release(full);
        gin[1] = r;
    }
    return st;
}

int lt_rec_matmul(lt_tensor *out, lt_tensor *a, lt_tensor *b)
{
    if (a->ndim == 1 && b->ndim == 1) return lt_rec_dot(out, a, b);
    if (a->ndim == 2 && b->ndim == 2) return lt_rec_addmm(out, 0, NULL, 1, a, b);
    if (a->ndim == 2 && b->ndim == 1) return lt_rec_addmv(out, 0, NULL, 1, a, b);
    return rec_pair(out, a, b, "MatmulBackward", matmul_backward);
}
