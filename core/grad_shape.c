/*
 * grad_shape.c — recording and backward of the ops that move elements without arithmetic:
 * views (narrow, select, transpose, permute, reshape-like views, expand), copies (clone,
 * contiguous, float <-> double), joins (cat, stack) and indexing (index_select, gather).
 *
 * Most of these backwards are views themselves: the gradient of a transpose is a transposed
 * handle on the incoming gradient, the gradients of cat's inputs are narrowed handles on it.
 * Handing out handles that share the incoming gradient's storage is safe: the engine never
 * writes into a gradient it was given (it accumulates into new tensors), and a leaf's .grad
 * starts as a copy. Only slices (narrow, select) and indexing need a zero-filled tensor of
 * the input's shape to write into; it is made on the incoming gradient's device (these ops
 * keep their input's device), except for copies across devices, whose gradient goes back to
 * the input's device.
 */
#include <stdlib.h>
#include <string.h>

#include "lt_internal.h"

/* ---- views -------------------------------------------------------------------------------- */

static const char *const view_names[] = {
    [LT_VIEW_NARROW] = "NarrowBackward",       [LT_VIEW_SELECT] = "SelectBackward",
    [LT_VIEW_TRANSPOSE] = "TransposeBackward", [LT_VIEW_PERMUTE] = "PermuteBackward",
    [LT_VIEW_RESHAPE] = "ViewBackward",        [LT_VIEW_EXPAND] = "ExpandBackward",
    [LT_VIEW_UNFOLD] = "UnfoldBackward",
};
static const int view_nargs[] = {
    [LT_VIEW_NARROW] = 3, [LT_VIEW_SELECT] = 2, [LT_VIEW_TRANSPOSE] = 2,
    [LT_VIEW_PERMUTE] = -1, [LT_VIEW_RESHAPE] = 0, [LT_VIEW_EXPAND] = 0,
    [LT_VIEW_UNFOLD] = 3,
};

/* A zero-filled tensor of input k's shape and dtype on device dev (the gradient's: these
 * ops keep their input's device). */
static lt_tensor *zeros_like_input(const lt_node *n, int k, int dev)
{
    return lt_tensor_new_on(dev, n->in_dtype[k], n->in_ndim[k], n->in_size[k]);
}

/* Narrow and select: g written into the slice of zeros it came from. */
static int slice_backward(const lt_node *n, const lt_tensor *g, lt_tensor **out)
{
    lt_tensor *z = zeros_like_input(n, 0, lt_device(g));
    if (!z) return LT_ERR;
    lt_tensor part = *z;  /* a stack handle on z's storage, never retained */
    int st = n->i[0] == LT_VIEW_NARROW ? lt_narrow(&part, (int)n->i[1], n->i[2], n->i[3])
                                       : lt_select(&part, (int)n->i[1], n->i[2]);
    if (st == LT_OK) st = lt_copy(&part, g);
    if (st != LT_OK) {
        lt_tensor_release(z);
        return LT_ERR;
    }
    *out = z;
    return LT_OK;
}

/* Unfold: each window's gradient (g's slice k, its last dim moved back to dim) added into
 * the part of zeros it was cut from, one window after another (windows may overlap). */
static int unfold_backward(const lt_node *n, const lt_tensor *g, lt_tensor **out)
{
    int dim = (int)n->i[1], nd = n->in_ndim[0];
    int64_t size = n->i[2], step = n->i[3];
    lt_tensor *z = zeros_like_input(n, 0, lt_device(g));
    if (!z) return LT_ERR;
    int perm[LT_MAXDIM];
    for (int d = 0; d < nd; d++) perm[d] = d < dim ? d : d == dim ? nd - 1 : d - 1;
    int st = LT_OK;
    for (int64_t k = 0; st == LT_OK && k < g->size[dim]; k++) {
        lt_tensor part = *z, win = *g;  /* stack handles, never retained */
        st = lt_narrow(&part, dim, k * step, size);
        if (st == LT_OK) st = lt_select(&win, dim, k);
        if (st == LT_OK) st = lt_permute(&win, perm);
        if (st == LT_OK) st = lt_binary(&part, LT_OP_ADD, &part, &win, 1.0);
    }
    if (st != LT_OK) {
        lt_tensor_release(z);
        return LT_ERR;
    }
    *out = z;
    return LT_OK;
}

static int view_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    const lt_tensor *g = gout[0];
    if (!n->next[0]) return LT_OK;
    lt_view_kind kind = (lt_view_kind)n->i[0];
    if (kind == LT_VIEW_NARROW || kind == LT_VIEW_SELECT) return slice_backward(n, g, &gin[0]);
    if (kind == LT_VIEW_UNFOLD) return unfold_backward(n, g, &gin[0]);
    if (kind == LT_VIEW_RESHAPE || kind == LT_VIEW_EXPAND) {
        lt_tensor *r = lt_tensor_empty(g->dtype);
        if (!r) return LT_ERR;
        int st = kind == LT_VIEW_RESHAPE ? lt_reshape(r, g, n->in_ndim[0], n->in_size[0])
                                         : lt_sum_to_shape(r, g, n->in_ndim[0], n->in_size[0]);
        if (st != LT_OK) {
            lt_tensor_release(r);
            return LT_ERR;
        }
        gin[0] = r;
        return LT_OK;
    }
    lt_tensor *r = lt_tensor_view_of(g);
    if (!r) return LT_ERR;
    int st;
    if (kind == LT_VIEW_TRANSPOSE) {
        st = lt_transpose(r, (int)n->i[1], (int)n->i[2]);
    } else {  /* permute by the inverse: output dim i was input dim perm[i] */
        int inv[LT_MAXDIM];
        for (int i = 0; i < g->ndim; i++) inv[n->i[1 + i]] = i;
        st = lt_permute(r, inv);
    }
    if (st != LT_OK) {
        lt_tensor_release(r);
        return LT_ERR;
    }
    gin[0] = r;
    return LT_OK;
}

int lt_rec_view(lt_tensor *out, lt_tensor *a, lt_view_kind kind, const int64_t *args)
{
    if (!lt_needs_grad(1, (const lt_tensor *const *)&a)) return LT_OK;
    if ((int)kind < 0 || kind > LT_VIEW_UNFOLD) return lt_error("unknown view kind %d", kind);
    int nargs = kind == LT_VIEW_PERMUTE ? a->ndim : view_nargs[kind];
    if (kind == LT_VIEW_PERMUTE) {  /* the inverse in backward needs a valid permutation */
        int seen[LT_MAXDIM] = {0};
        for (int i = 0; i < nargs; i++)
            if (args[i] < 0 || args[i] >= nargs || seen[args[i]]++)
                return lt_error("invalid permutation recorded");
    }
    lt_node *n = lt_node_new(view_names[kind], view_backward, 1, &a, 1);
    if (!n) return LT_ERR;
    n->i[0] = kind;
    if (nargs > 0) memcpy(&n->i[1], args, (size_t)nargs * sizeof *args);
    lt_node_set_output(n, out, 0);
    lt_node_release(n);
    return LT_OK;
}

/* ---- copies ------------------------------------------------------------------------------- */

/* The gradient passes through, converted back to the input's dtype and moved back to the
 * input's device (i[0], recorded: a host leaf copied to the device gets a host gradient). */
static int copy_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    const lt_tensor *g = gout[0];
    if (!n->next[0]) return LT_OK;
    int dev = (int)n->i[0];
    if (g->dtype == n->in_dtype[0] && lt_device(g) == dev) {
        gin[0] = lt_tensor_view_of(g);
        return gin[0] ? LT_OK : LT_ERR;
    }
    lt_tensor *r = lt_tensor_uninit_on(dev, n->in_dtype[0], n->in_ndim[0], n->in_size[0]);
    if (!r) return LT_ERR;
    if (lt_copy(r, g)) {
        lt_tensor_release(r);
        return LT_ERR;
    }
    gin[0] = r;
    return LT_OK;
}

int lt_rec_copy(lt_tensor *out, lt_tensor *a)
{
    /* a conversion to an integer type has no gradient: the result starts a new leaf; one to
     * bfloat16 has (its backward widens the gradient back) */
    if ((!lt_dtype_is_float(out->dtype) && out->dtype != LT_BFLOAT16) ||
        !lt_needs_grad(1, (const lt_tensor *const *)&a))
        return LT_OK;
    int same = out->dtype == a->dtype && lt_device(out) == lt_device(a);
    lt_node *n = lt_node_new(same ? "CloneBackward" : "ToCopyBackward", copy_backward, 1, &a, 1);
    if (!n) return LT_ERR;
    n->i[0] = lt_device(a);
    lt_node_set_output(n, out, 0);
    lt_node_release(n);
    return LT_OK;
}

/* ---- joins -------------------------------------------------------------------------------- */

/* Input k's gradient is its part of g: narrowed along dim (cat) or selected (stack). */
static int join_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    const lt_tensor *g = gout[0];
    int dim = (int)n->i[0], stack = (int)n->i[1];
    int64_t at = 0;
    for (int k = 0; k < n->ninputs; k++) {
        int64_t len = stack ? 1 : n->in_size[k][dim];
        if (n->next[k]) {
            lt_tensor *r = lt_tensor_view_of(g);
            if (!r) return LT_ERR;  /* the engine releases the gin filled so far */
            gin[k] = r;
            if (stack ? lt_select(r, dim, at) : lt_narrow(r, dim, at, len)) return LT_ERR;
        }
        at += len;
    }
    return LT_OK;
}

static int rec_join(lt_tensor *out, lt_tensor *const *ts, int n, int dim, int stack)
{
    if (!lt_needs_grad(n, (const lt_tensor *const *)ts)) return LT_OK;
    lt_node *node = lt_node_new(stack ? "StackBackward" : "CatBackward", join_backward, n, ts, 1);
    if (!node) return LT_ERR;
    node->i[0] = dim;
    node->i[1] = stack;
    lt_node_set_output(node, out, 0);
    lt_node_release(node);
    return LT_OK;
}

int lt_rec_cat(lt_tensor *out, lt_tensor *const *ts, int n, int dim)
{
    return rec_join(out, ts, n, dim, 0);
}

int lt_rec_stack(lt_tensor *out, lt_tensor *const *ts, int n, int dim)
{
    return rec_join(out, ts, n, dim, 1);
}

/* ---- indexing ----------------------------------------------------------------------------- */

/* g added into zeros at the positions the forward read from (repeated positions add up). */
static int index_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    if (!n->next[0]) return LT_OK;
    lt_tensor *index = lt_node_saved(n, 0);
    if (!index) return LT_ERR;
    lt_tensor *z = zeros_like_input(n, 0, lt_device(gout[0]));
    if (!z) return LT_ERR;
    int dim = (int)n->i[0];
    int st = n->i[1] ? lt_scatter_add(z, dim, index, gout[0])
                     : lt_index_add(z, dim, index, gout[0]);
    if (st != LT_OK) {
        lt_tensor_release(z);
        return LT_ERR;
    }
    gin[0] = z;
    return LT_OK;
}

static int rec_index(lt_tensor *out, lt_tensor *a, int dim, lt_tensor *index, int gather)
{
    if (!lt_needs_grad(1, (const lt_tensor *const *)&a)) return LT_OK;
    lt_node *n = lt_node_new(gather ? "GatherBackward" : "IndexSelectBackward", index_backward,
                             1, &a, 1);
    if (!n) return LT_ERR;
    if (lt_node_save(n, index) < 0) {
        lt_node_release(n);
        return LT_ERR;
    }
    n->i[0] = dim;
    n->i[1] = gather;
    lt_node_set_output(n, out, 0);
    lt_node_release(n);
    return LT_OK;
}

int lt_rec_index_select(lt_tensor *out, lt_tensor *a, int dim, lt_tensor *index)
{
    return rec_index(out, a, dim, index, 0);
}

int lt_rec_gather(lt_tensor *out, lt_tensor *a, int dim, lt_tensor *index)
{
    return rec_index(out, a, dim, index, 1);
}

/* ---- split / chunk: one node, one gradient buffer ------------------------------------------ */
/* i[0] = dim, i[1] = piece length, i[2] = the input's device; output k is the slice
 * [k * piece, ...) along dim */

static int split_backward(lt_node *n, lt_tensor *const *gout, lt_tensor **gin)
{
    int dim = (int)n->i[0];
    int64_t piece = n->i[1];
    lt_tensor *r = lt_tensor_uninit_on((int)n->i[2], n->in_dtype[0], n->in_ndim[0], n->in_size[0]);
    lt_tensor *slices = malloc((size_t)n->noutputs * sizeof *slices);
    lt_tensor **dsts = malloc((size_t)n->noutputs * sizeof *dsts);
    int st = r && slices && dsts ? LT_OK : r ? lt_error("out of memory") : LT_ERR;
    for (int k = 0; k < n->noutputs && st == LT_OK; k++) {
        slices[k] = *r;
        dsts[k] = &slices[k];
        int64_t start = k * piece, len = n->in_size[0][dim] - start;
        if (len > piece) len = piece;
        st = lt_narrow(&slices[k], dim, start, len);
    }
    /* the pieces in one pass (missing gradients as zeros) */
    if (st == LT_OK) st = lt_copy_many(dsts, (const lt_tensor *const *)gout, n->noutputs);
    free(slices);
    free(dsts);
    if (st) {
        lt_tensor_release(r);
        return LT_ERR;
    }
    gin[0] = r;
    return LT_OK;
}

int lt_rec_split(lt_tensor *const *pieces, int count, lt_tensor *a, int dim, int64_t piece)
{
    if (!lt_needs_grad(1, (const lt_tensor *const *)&a)) return LT_OK;
    lt_node *n = lt_node_new("SplitBackward", split_backward, 1, &a, count);
    if (!n) return LT_ERR;
    n->i[0] = dim;
    n->i[1] = piece;
    n->i[2] = lt_device(a);
    for (int k = 0; k < count; k++) lt_node_set_output(n, pieces[k], k);
    lt_node_release(n);
    return LT_OK;
}
