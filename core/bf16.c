/*
 * bf16.c — bfloat16 arithmetic by widening, for the core's own gradient plumbing. The kernels
 * have no bfloat16 entries (a BFloat16 tensor stores; the Lua bindings widen its operands to
 * float32 before any op: lua/lauxt.c). What reaches the core with bfloat16 operands anyway is
 * the autograd engine adding the gradients of a BFloat16 leaf (core/autograd.c) and the
 * backward of views recorded on BFloat16 tensors (expand: a sum; unfold: adds). Those go
 * through here: each operand widened exactly to float32, the float32 kernel, one rounding to
 * nearest even back into out (PyTorch's CPU bfloat16 arithmetic).
 */
#include "lt_internal.h"

/* A float32 copy of t (exact), or NULL with the error set. */
static lt_tensor *widen(const lt_tensor *t)
{
    lt_tensor *w = lt_tensor_new_uninit(LT_FLOAT32, t->ndim, t->size);
    if (w && lt_copy(w, t) != LT_OK) {
        lt_tensor_release(w);
        return NULL;
    }
    return w;
}

/* out (resized to r's shape when its dtype is bfloat16 and it is not r's shape) = r rounded */
static int narrow_into(lt_tensor *out, const lt_tensor *r)
{
    if (!lt_same_shape(out, r) && lt_resize(out, r->ndim, r->size) != LT_OK) return LT_ERR;
    return lt_copy(out, r);
}

int lt_bf16_binary(lt_tensor *out, lt_binary_op op, const lt_tensor *a, const lt_tensor *b,
                   double alpha)
{
    lt_tensor *wa = a->dtype == LT_BFLOAT16 ? widen(a) : lt_tensor_view_of(a);
    lt_tensor *wb = b->dtype == LT_BFLOAT16 ? widen(b) : lt_tensor_view_of(b);
    lt_tensor *r = lt_tensor_empty(LT_FLOAT32);
    int st = wa && wb && r ? lt_binary(r, op, wa, wb, alpha) : LT_ERR;
    if (st == LT_OK) st = narrow_into(out, r);
    lt_tensor_release(r);
    lt_tensor_release(wb);
    lt_tensor_release(wa);
    return st;
}

int lt_bf16_reduce_dim(lt_tensor *out, lt_reduce_op op, const lt_tensor *a, int dim, int keepdim)
{
    lt_tensor *wa = widen(a), *r = lt_tensor_empty(LT_FLOAT32);
    int st = wa && r ? lt_reduce_dim(r, op, wa, dim, keepdim) : LT_ERR;
    if (st == LT_OK) st = narrow_into(out, r);
    lt_tensor_release(r);
    lt_tensor_release(wa);
    return st;
}
