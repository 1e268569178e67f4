/*
 * autograd.c — the reverse-mode engine: nodes, edges, saved tensors with version checks, and
 * backward in topological order. The backward functions of the individual ops live with
 * their recorders (core/autograd_ops.c); this file knows nothing about any one op.
 *
 * Ownership: a tensor owns its grad_fn; a node owns its next nodes and its saved handles
 * (detached views, so an output saved by its own node makes no cycle). A leaf input gets a
 * small accumulate node that owns a reference to the leaf.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnnl.h"
#include "lt_internal.h"

static int grad_enabled = 1;
static unsigned epoch;
static lt_grad_hooks hooks;   /* all NULL: none */

void lt_autograd_set_hooks(const lt_grad_hooks *h)
{
    if (h) hooks = *h;
    else memset(&hooks, 0, sizeof hooks);
}

int lt_grad_enabled(void) { return grad_enabled; }
void lt_set_grad_enabled(int enabled) { grad_enabled = enabled != 0; }

int lt_needs_grad(int n, const lt_tensor *const *inputs)
{
    if (!grad_enabled) return 0;
    for (int i = 0; i < n; i++)
        if (inputs[i] && inputs[i]->requires_grad) return 1;
    return 0;
}

/* One block per node: the node, then its per-input arrays (in_size first, for alignment). A
 * backward frees hundreds of nodes at once and the next forward makes as many, which glibc's
 * per-thread caches cannot absorb; six callocs per node were ~2% of a small-op training step. */
static lt_node *node_alloc(const char *name, int ninputs, int noutputs)
{
    size_t k = (size_t)ninputs;
    size_t sizes = k * sizeof(int64_t[LT_MAXDIM]), nexts = k * sizeof(lt_node *);
    size_t ints = k * (2 * sizeof(int) + sizeof(lt_dtype));
    lt_node *n = calloc(1, sizeof *n + sizes + nexts + ints);
    if (!n) return NULL;
    n->refcount = 1;
    n->name = name;
    n->ninputs = ninputs;
    n->noutputs = noutputs;
    char *p = (char *)(n + 1);
    n->in_size = (int64_t(*)[LT_MAXDIM])(void *)p;
    n->next = (lt_node **)(void *)(p + sizes);
    n->next_slot = (int *)(void *)(p + sizes + nexts);
    n->in_ndim = n->next_slot + k;
    n->in_dtype = (lt_dtype *)(void *)(n->in_ndim + k);
    return n;
}

lt_node *lt_node_new(const char *name, lt_backward_fn fn, int ninputs,
                     lt_tensor *const *inputs, int noutputs)
{
    lt_node *n = node_alloc(name, ninputs, noutputs);
    if (!n) {
        lt_error("out of memory recording %s", name);
        return NULL;
    }
    n->backward = fn;
    n->autocast = lt_autocast_get();
    for (int k = 0; k < ninputs; k++) {
        lt_tensor *t = inputs[k];
        if (!t) continue;
        n->in_ndim[k] = t->ndim;
        memcpy(n->in_size[k], t->size, sizeof n->in_size[k]);
        n->in_dtype[k] = t->dtype;
        if (!t->requires_grad) continue;
        if (t->grad_fn) {
            n->next[k] = t->grad_fn;
            n->next_slot[k] = t->output_nr;
            lt_node_retain(t->grad_fn);
        } else {
            lt_node *acc = node_alloc("AccumulateGrad", 0, 1);
            if (!acc) {
                lt_node_release(n);
                lt_error("out of memory recording %s", name);
                return NULL;
            }
            acc->leaf = t;
            lt_tensor_retain(acc->leaf);
            n->next[k] = acc;
        }
    }
    return n;
}

int lt_node_save(lt_node *n, const lt_tensor *t)
{
    if (n->nsaved == LT_NODE_MAXSAVED) return lt_error("%s: too many saved tensors", n->name);
    lt_tensor *v = lt_tensor_view_of(t);
    if (!v) return LT_ERR;
    n->saved[n->nsaved] = v;
    n->saved_version[n->nsaved] = t->storage->version;
    return n->nsaved++;
}

lt_tensor *lt_node_saved(lt_node *n, int k)
{
    if (n->freed) {
        lt_error("%s: the graph was freed by an earlier backward (pass retainGraph = true to "
                 "backward through it twice)", n->name);
        return NULL;
    }
    lt_tensor *t = n->saved[k];
    if (t->storage->version != n->saved_version[k]) {
        lt_error("%s: a tensor saved for the backward pass was modified by an in-place "
                 "operation", n->name);
        return NULL;
    }
    return t;
}

void lt_node_set_output(lt_node *n, lt_tensor *out, int slot)
{
    lt_node_retain(n);
    lt_node_release(out->grad_fn);
    out->grad_fn = n;
    out->output_nr = slot;
    out->requires_grad = 1;
}

void lt_node_retain(lt_node *n) { n->refcount++; }

lt_tensor *lt_node_leaf_grad(const lt_node *n, int k)
{
    const lt_node *acc = n->next[k];
    if (!acc || !acc->leaf) return NULL;
    lt_tensor *leaf = acc->leaf, *g = leaf->grad;
    if (!leaf->requires_grad || !g || g->dtype != n->in_dtype[k] || g->ndim != n->in_ndim[k] ||
        memcmp(g->size, n->in_size[k], (size_t)g->ndim * sizeof *g->size))
        return NULL;
    return g;
}

static void release_saved(lt_node *n)
{
    for (int k = 0; k < n->nsaved; k++) {
        lt_tensor_release(n->saved[k]);
        n->saved[k] = NULL;
    }
    n->nsaved = 0;
}

/* Iterative, so that releasing a long chain (an unrolled RNN) cannot overflow the C stack. */
void lt_node_release(lt_node *first)
{
    lt_node **stack = NULL;
    size_t top = 0, cap = 0;
    lt_node *n = first;
    while (n) {
        if (--n->refcount == 0) {
            release_saved(n);
            if (n->release_ctx) n->release_ctx(n);
            lt_tensor_release(n->leaf);
            for (int k = 0; n->grad_buf && k < n->noutputs; k++) lt_tensor_release(n->grad_buf[k]);
            free(n->grad_buf);
            for (int k = 0; k < n->ninputs; k++) {
                if (!n->next[k]) continue;
                if (top == cap) {
                    size_t ncap = cap ? 2 * cap : 16;
                    lt_node **ns = realloc(stack, ncap * sizeof *ns);
                    if (!ns) continue;  /* out of memory: leak this edge rather than crash */
                    stack = ns;
                    cap = ncap;
                }
                stack[top++] = n->next[k];
            }
            free(n);   /* with its per-input arrays */
        }
        n = top ? stack[--top] : NULL;
    }
    free(stack);
}

/* *dst = *dst + g, or g when *dst is empty; takes the caller's reference to g. The sum is a
 * new tensor: a backward may hand the same storage to several inputs (add passes its
 * gradient through), so adding in place could change a sibling's gradient. */
static int accumulate(lt_tensor **dst, lt_tensor *g)
{
    if (!*dst) {
        *dst = g;
        return LT_OK;
    }
    lt_tensor *sum = lt_tensor_empty(g->dtype);
    int st = sum ? lt_binary(sum, LT_OP_ADD, *dst, g, 1) : LT_ERR;
    lt_tensor_release(g);
    if (st == LT_OK) {
        lt_tensor_release(*dst);
        *dst = sum;
    } else {
        lt_tensor_release(sum);
    }
    return st;
}

/* "the CPU" or "CUDA device N" (1-based, as the Lua side counts) */
static const char *device_name(int dev, char *buf, size_t n)
{
    if (dev == LT_CPU) return "the CPU";
    snprintf(buf, n, "CUDA device %d", dev + 1);
    return buf;
}

static int accumulate_leaf(lt_tensor *leaf, const lt_tensor *g)
{
    if (!leaf->grad) {
        /* the gradient lives where the leaf does */
        lt_tensor *c = lt_tensor_uninit_on(lt_device(leaf), leaf->dtype, leaf->ndim, leaf->size);
        if (!c) return LT_ERR;
        if (lt_copy(c, g)) {
            lt_tensor_release(c);
            return LT_ERR;
        }
        leaf->grad = c;
        return LT_OK;
    }
    if (!lt_same_shape(leaf->grad, g) && lt_numel(leaf->grad) != lt_numel(g)) {
        char a[LT_SHAPE_BUFSZ], b[LT_SHAPE_BUFSZ];
        return lt_error("gradient of shape [%s] does not fit the .grad of shape [%s]",
                        lt_shape_str(a, sizeof a, g->ndim, g->size),
                        lt_shape_str(b, sizeof b, leaf->grad->ndim, leaf->grad->size));
    }
    if (lt_device(leaf->grad) != lt_device(g)) {
        char a[32], b[32];
        return lt_error("the .grad of a leaf is on %s, its gradient on %s",
                        device_name(lt_device(leaf->grad), a, sizeof a),
                        device_name(lt_device(g), b, sizeof b));
    }
    /* in place, so views of .grad (a flat gradient from getParameters) stay valid */
    return lt_binary(leaf->grad, LT_OP_ADD, leaf->grad, g, 1);
}

typedef struct { lt_node **v; size_t n, cap; } node_list;

static int list_push(node_list *l, lt_node *n)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        lt_node **v = realloc(l->v, cap * sizeof *v);
        if (!v) return lt_error("out of memory in backward");
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = n;
    return LT_OK;
}

/* Marks every node reachable from root and counts the edges into each. */
static int discover(lt_node *root, node_list *all)
{
    node_list todo = {0};
    int st = LT_OK;
    root->mark = epoch;
    root->deps = 0;
    if (list_push(&todo, root) || list_push(all, root)) st = LT_ERR;
    /* a root reached again from another root only gains edges (counted below) */
    while (st == LT_OK && todo.n) {
        lt_node *n = todo.v[--todo.n];
        n->grad_buf = calloc((size_t)n->noutputs, sizeof *n->grad_buf);
        if (!n->grad_buf) {
            st = lt_error("out of memory in backward");
            break;
        }
        for (int k = 0; k < n->ninputs; k++) {
            lt_node *m = n->next[k];
            if (!m) continue;
            if (m->mark != epoch) {
                m->mark = epoch;
                m->deps = 0;
                if (list_push(&todo, m) || list_push(all, m)) {
                    st = LT_ERR;
                    break;
                }
            }
            m->deps++;
        }
    }
    free(todo.v);
    return st;
}

/* The starting gradient of one root: a copy of grad, or ones for a one-element root, on the
 * root's device. */
static lt_tensor *root_grad(const lt_tensor *root, const lt_tensor *grad)
{
    char a[LT_SHAPE_BUFSZ], b[LT_SHAPE_BUFSZ];
    if (!root->requires_grad) {
        lt_error("the tensor does not require grad and has no grad_fn");
        return NULL;
    }
    if (!grad && lt_numel(root) != 1) {
        lt_error("a gradient can be implied only for a one-element tensor; pass one of shape "
                 "[%s]", lt_shape_str(a, sizeof a, root->ndim, root->size));
        return NULL;
    }
    if (grad && !lt_same_shape(root, grad) && lt_numel(root) != lt_numel(grad)) {
        lt_error("gradient of shape [%s] for a tensor of shape [%s]",
                 lt_shape_str(a, sizeof a, grad->ndim, grad->size),
                 lt_shape_str(b, sizeof b, root->ndim, root->size));
        return NULL;
    }
    if (grad && lt_device(grad) != lt_device(root)) {
        lt_error("the gradient is on %s, the tensor it is for on %s (move it with :cuda() or "
                 ":float())", device_name(lt_device(grad), a, sizeof a),
                 device_name(lt_device(root), b, sizeof b));
        return NULL;
    }
    lt_tensor *g = lt_tensor_uninit_on(lt_device(root), root->dtype, root->ndim, root->size);
    if (g && (grad ? lt_copy(g, grad) : lt_fill(g, 1))) {
        lt_tensor_release(g);
        return NULL;
    }
    return g;
}

/* A parameter's accumulate node: its gradient into .grad, then the gradient-ready hook when
 * this was the leaf's last use in the pass (hooked: the pass counted them). */
static int leaf_step(lt_node *n, int hooked, int *fired)
{
    int st = LT_OK;
    if (n->grad_buf[0] && n->leaf->requires_grad) st = accumulate_leaf(n->leaf, n->grad_buf[0]);
    if (st == LT_OK && hooked && n->leaf->grad_hook && --n->leaf->acc_pending == 0) {
        *fired = 1;
        st = hooks.leaf_ready(n->leaf, hooks.ud);
    }
    return st;
}

/* The node whose backward runs now on this thread, for lt_node_input_ready: which of its
 * inputs it handed over early (they are skipped after its backward) and the pass's hooks. */
typedef struct {
    lt_node *node;
    unsigned char *early;   /* (node->ninputs) */
    int hooked, *fired;
} running_node;
static _Thread_local running_node running;

int lt_node_input_ready(lt_node *n, int k, lt_tensor **gin)
{
    if (running.node != n || !running.hooked || k < 0 || k >= n->ninputs || running.early[k])
        return LT_OK;
    lt_node *m = n->next[k];
    if (!m || !m->leaf || m->deps != 1) return LT_OK;   /* parameters only, this their last use */
    int st = LT_OK;
    if (gin[k]) {
        st = accumulate(&m->grad_buf[n->next_slot[k]], gin[k]);
        gin[k] = NULL;
    }
    running.early[k] = 1;
    m->deps = 0;
    return st == LT_OK ? leaf_step(m, running.hooked, running.fired) : st;
}

int lt_backward(lt_tensor *root, const lt_tensor *grad, int retain_graph)
{
    return lt_backward_many(1, &root, &grad, retain_graph);
}

int lt_backward_many(int nroots, lt_tensor *const *roots, const lt_tensor *const *grads,
                     int retain_graph)
{
    node_list all = {0}, ready = {0};
    lt_tensor **grad_in = NULL;
    int st = LT_OK;
    epoch++;
    /* discover from every root in one epoch, so shared subgraphs are counted once */
    for (int r = 0; r < nroots && st == LT_OK; r++) {
        lt_node *n = roots[r]->grad_fn;
        if (n && n->mark != epoch) st = discover(n, &all);
    }
    for (int r = 0; r < nroots && st == LT_OK; r++) {
        lt_tensor *g = root_grad(roots[r], grads ? grads[r] : NULL);
        if (!g) {
            st = LT_ERR;
        } else if (!roots[r]->grad_fn) {  /* a leaf: its gradient is the given one */
            st = accumulate_leaf(roots[r], g);
            lt_tensor_release(g);
        } else {
            lt_node *n = roots[r]->grad_fn;
            st = accumulate(&n->grad_buf[roots[r]->output_nr], g);
        }
    }
    /* a leaf used by several ops has one accumulate node per use: its gradient is complete
     * for this pass when the last of them has run */
    int hooked = hooks.leaf_ready != NULL, fired = 0;
    for (size_t k = 0; hooked && k < all.n; k++)
        if (all.v[k]->leaf) all.v[k]->leaf->acc_pending = 0;
    for (size_t k = 0; hooked && k < all.n; k++)
        if (all.v[k]->leaf) all.v[k]->leaf->acc_pending++;
    for (size_t k = 0; k < all.n && st == LT_OK; k++)  /* roots no other root feeds */
        if (all.v[k]->deps == 0) st = list_push(&ready, all.v[k]);
    while (st == LT_OK && ready.n) {
        lt_node *n = ready.v[--ready.n];
        if (n->leaf) {
            st = leaf_step(n, hooked, &fired);
            continue;
        }
        if (n->freed) {
            st = lt_error("%s: the graph was freed by an earlier backward (pass retainGraph = "
                          "true to backward through it twice)", n->name);
            break;
        }
        free(grad_in);
        /* the inputs' gradients, then which of them the backward handed over early */
        size_t nin = (size_t)(n->ninputs ? n->ninputs : 1);
        grad_in = calloc(nin, sizeof *grad_in + 1);
        if (!grad_in) {
            st = lt_error("out of memory in backward");
            break;
        }
        unsigned char *early = (unsigned char *)(grad_in + nin);
        int has_grad = 0;
        for (int k = 0; k < n->noutputs; k++) has_grad |= n->grad_buf[k] != NULL;
        if (has_grad) {  /* as PyTorch: a product recorded under autocast runs its backward
                            under it, wherever backward is called */
            int ac = lt_autocast_set(n->autocast);
            running_node outer = running;   /* (a hook may run a backward of its own) */
            running.node = n, running.early = early, running.hooked = hooked;
            running.fired = &fired;
            st = n->backward(n, n->grad_buf, grad_in);
            running = outer;
            lt_autocast_set(ac);
        }
        for (int k = 0; k < n->noutputs; k++) {  /* this node's incoming grads are spent */
            lt_tensor_release(n->grad_buf[k]);
            n->grad_buf[k] = NULL;
        }
        if (!retain_graph) {
            release_saved(n);
            n->freed = 1;
        }
        for (int k = 0; k < n->ninputs; k++) {
            if (early[k]) continue;   /* its accumulate node has run (lt_node_input_ready) */
            lt_node *m = n->next[k];
            if (st == LT_OK && m && grad_in[k]) {
                st = accumulate(&m->grad_buf[n->next_slot[k]], grad_in[k]);
                grad_in[k] = NULL;
            }
            lt_tensor_release(grad_in[k]);
            grad_in[k] = NULL;
            if (m && --m->deps == 0 && st == LT_OK) st = list_push(&ready, m);
        }
    }
    free(grad_in);
    for (size_t k = 0; k < all.n; k++) {  /* scratch of every reached node, on any path */
        lt_node *n = all.v[k];
        for (int j = 0; n->grad_buf && j < n->noutputs; j++) lt_tensor_release(n->grad_buf[j]);
        free(n->grad_buf);
        n->grad_buf = NULL;
    }
    free(all.v);
    free(ready.v);
    if (fired && hooks.pass_done) {
        int done = hooks.pass_done(st, hooks.ud);
        if (st == LT_OK) st = done;
    }
    return st;
}

int lt_check_inplace(const lt_tensor *out, int n, const lt_tensor *const *inputs)
{
    if (!lt_grad_enabled()) return LT_OK;
    /* Writing plain data into a leaf (Torch7's m.weight:copy(w), params:fill(0)) is allowed:
     * it is not a differentiable op, and a node that saved the leaf sees its version change.
     * What cannot be recorded is a write that depends on a tensor requiring grad, or one
     * into a tensor that is itself the result of recorded ops. */
    int needs = out->requires_grad && out->grad_fn != NULL;
    for (int k = 0; k < n && !needs; k++) needs = inputs[k] && inputs[k]->requires_grad;
    if (!needs) return LT_OK;
    return lt_error("an in-place or result-tensor form cannot be recorded for autograd (a "
                    "tensor requires grad); use the form that returns a new tensor, or "
                    "torch.noGrad");
}

int lt_sum_to_shape(lt_tensor *out, const lt_tensor *g, int ndim, const int64_t *size)
{
    int lead = g->ndim - ndim;
    if (lead < 0) return lt_error("cannot reduce a gradient to more dimensions");
    lt_tensor *cur = lt_tensor_view_of(g);
    if (!cur) return LT_ERR;
    int st = LT_OK;
    for (int d = 0; d < g->ndim && st == LT_OK; d++) {
        int reduce = d < lead || (size[d - lead] == 1 && g->size[d] != 1);
        if (!reduce) continue;
        lt_tensor *r = lt_tensor_empty(g->dtype);
        st = r ? lt_reduce_dim(r, LT_RED_SUM, cur, d, 1) : LT_ERR;
        lt_tensor_release(cur);
        cur = r;
    }
    if (st == LT_OK) st = lt_reshape(out, cur, ndim, size);
    lt_tensor_release(cur);
    return st;
}
