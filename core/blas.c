/*
 * blas.c — matrix products on OpenBLAS (cblas): addmm/mm, baddbmm/bmm, addmv/mv, dot, addr,
 * for float32 and float64.
 *
 * Every operand is checked before BLAS sees it. A matrix whose strides are (ld, 1) goes to
 * BLAS as a row-major matrix and one with (1, ld) as a column-major one (i.e. transposed), so
 * t(), narrow() and the like never cost a copy; only other layouts (stride 0 from expand,
 * overlapping or otherwise odd strides, ld beyond int) are copied to a contiguous temporary.
 * The result is written straight into `out` when its layout allows; a temporary is used when
 * out overlaps a or b (BLAS must not read what it writes) or cannot be described to BLAS.
 * beta = 0 means "ignore c" (BLAS semantics): NaN in c or in the old out never leaks.
 * With several threads, mid-size products are split into slabs of the result, one
 * single-threaded GEMM per thread (gemm_run); larger and smaller ones use OpenBLAS's own
 * threading. Device tensors go to the twins in gpu/blas.cu (cuBLAS) once the checks below
 * have passed.
 */
#include <cblas.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "dnnl.h"
#include "lt_internal.h"

/* ---- checks ------------------------------------------------------------------------------ */


/* All of the non-NULL operands are float32/float64 and share one dtype; out matches it. */
static int check_dtypes(const lt_tensor *out, const lt_tensor *a, const lt_tensor *b,
                        const lt_tensor *c)
{
    const lt_tensor *ins[3] = {a, b, c};
    for (int k = 0; k < 3; k++)
        if (ins[k] && !lt_dtype_is_float(ins[k]->dtype))
            return lt_error("expected Float or Double tensors, got %s",
                            lt_type_name(ins[k]->dtype));
    for (int k = 1; k < 3; k++)
        if (ins[k] && ins[k]->dtype != a->dtype)
            return lt_error("expected tensors of one type, got %s and %s", lt_type_name(a->dtype),
                            lt_type_name(ins[k]->dtype));
    if (out && out->dtype != a->dtype)
        return lt_error("result is %s, inputs are %s", lt_type_name(out->dtype),
                        lt_type_name(a->dtype));
    return LT_OK;
}

/* "[2 x 3]" into buf */
static const char *shp(char *buf, const lt_tensor *t)
{
    char s[LT_SHAPE_BUFSZ];
    snprintf(buf, LT_SHAPE_BUFSZ + 2, "[%s]", lt_shape_str(s, sizeof s, t->ndim, t->size));
    return buf;
}
#define SHP_BUF (LT_SHAPE_BUFSZ + 2)

/* c (when given) must broadcast to the result shape; the message shows the whole expression. */
static int check_c(const lt_tensor *c, int nd, const int64_t *rs, const lt_tensor *a,
                   const lt_tensor *b, const char *opstr)
{
    if (!c) return LT_OK;
    int ok = c->ndim <= nd;
    for (int i = 0; ok && i < c->ndim; i++) {
        int64_t s = c->size[c->ndim - 1 - i];
        if (s != rs[nd - 1 - i] && s != 1) ok = 0;
    }
    if (ok) return LT_OK;
    char x[SHP_BUF], y[SHP_BUF], z[SHP_BUF];
    if (!strcmp(opstr, "outer"))
        return lt_error("size mismatch, %s + outer(%s, %s)", shp(x, c), shp(y, a), shp(z, b));
    return lt_error("size mismatch, %s + %s %s %s", shp(x, c), shp(y, a), opstr, shp(z, b));
}

static int size_mismatch(const lt_tensor *a, const lt_tensor *b)
{
    char x[SHP_BUF], y[SHP_BUF];
    return lt_error("size mismatch, %s * %s", shp(x, a), shp(y, b));
}

static int check_int(int64_t v)
{
    if (v > INT_MAX) return lt_error("dimension %lld is too large for BLAS", (long long)v);
    return LT_OK;
}

/* ---- layouts ----------------------------------------------------------------------------- */

/* How BLAS sees a rows x cols matrix with strides (s0, s1): row-major with leading dimension
 * ld (strides (ld, 1)) or column-major (strides (1, ld)). Strides of size-1 dims do not
 * matter. Returns 0 when neither describes it (stride 0, ld < the other extent, ...). */
int lt_blas_mat_layout(int64_t rows, int64_t cols, int64_t s0, int64_t s1, int *colmajor,
                       int64_t *ld)
{
    int64_t r1 = rows > 1 ? rows : 1, c1 = cols > 1 ? cols : 1;
    if ((cols <= 1 || s1 == 1) && (rows <= 1 || s0 >= c1)) {
        *colmajor = 0;
        *ld = rows <= 1 ? c1 : s0;
    } else if ((rows <= 1 || s0 == 1) && (cols <= 1 || s1 >= r1)) {
        *colmajor = 1;
        *ld = cols <= 1 ? r1 : s1;
    } else {
        return 0;
    }
    return *ld <= INT_MAX;
}

/* Whether BLAS can take t (1-D vector, 2-D matrix or 3-D batch of matrices) as it is. An
 * output additionally needs its batch slices not to overlap each other. */
int lt_blas_usable(const lt_tensor *t, int for_output)
{
    int cm;
    int64_t ld;
    switch (t->ndim) {
    case 1:
        return t->size[0] <= 1 || (t->stride[0] >= 1 && t->stride[0] <= INT_MAX);
    case 2:
        return lt_blas_mat_layout(t->size[0], t->size[1], t->stride[0], t->stride[1], &cm,
                                  &ld);
    case 3: {
        if (!lt_blas_mat_layout(t->size[1], t->size[2], t->stride[1], t->stride[2], &cm, &ld))
            return 0;
        if (!for_output || t->size[0] <= 1) return 1;
        /* one slice spans (rows-1)*s_row + (cols-1)*s_col + 1 elements */
        int64_t span = (t->size[1] - 1) * t->stride[1] + (t->size[2] - 1) * t->stride[2] + 1;
        return t->stride[0] >= span;
    }
    default:
        return 0;
    }
}

/* *use = t when BLAS can read t as is, else a contiguous copy on t's device in *copy (caller
 * releases). */
int lt_blas_operand(const lt_tensor *t, const lt_tensor **use, lt_tensor **copy)
{
    *copy = NULL;
    *use = t;
    if (lt_blas_usable(t, 0)) return LT_OK;
    *copy = lt_tensor_uninit_on(lt_device(t), t->dtype, t->ndim, t->size);
    if (!*copy) return LT_ERR;
    *use = *copy;
    return lt_copy(*copy, t);
}

static int same_shape(const lt_tensor *t, int nd, const int64_t *size)
{
    return t->ndim == nd && !memcmp(t->size, size, (size_t)nd * sizeof *size);
}

/* Where the result goes: out itself (resized to the result shape) or a fresh temporary on
 * out's device when out overlaps a or b, holds c in another layout, or has a layout BLAS
 * cannot take. */
int lt_blas_prepare_target(lt_tensor *out, int nd, const int64_t *rs, const lt_tensor *a,
                          const lt_tensor *b, const lt_tensor *c, lt_tensor **target)
{
    *target = out;
    int same = same_shape(out, nd, rs);
    if (same && lt_is_expanded(out))
        return lt_error("cannot write into an expanded tensor (clone it first)");
    int tmp = lt_shares_storage(out, a) || lt_shares_storage(out, b) ||
              (c && lt_shares_storage(out, c) && !(same && lt_same_layout(out, c)));
    if (!tmp) {
        if (!same && lt_resize(out, nd, rs)) return LT_ERR;
        if (lt_blas_usable(out, 1)) return LT_OK;
    }
    *target = lt_tensor_uninit_on(lt_device(out), out->dtype, nd, rs);
    return *target ? LT_OK : LT_ERR;
}

int lt_blas_finish_target(lt_tensor *out, lt_tensor *target, int st)
{
    if (target != out) return lt_out_finish(out, target, st);
    if (st == LT_OK) lt_storage_bump(out);
    return st;
}

/* ---- scaling: t *= beta, with beta == 0 writing zeros (NaN in t is ignored) ------------- */

#define SCALE_LOOP(NAME, T)                                                         \
    static void NAME(char **p, const int64_t *s, int64_t n, const void *ctx)      \
    {                                                                               \
        T b = (T) * (const double *)ctx, *x = (T *)p[0];                            \
        int64_t st = s[0];                                                          \
        if (b == 0)                                                                 \
            for (int64_t i = 0; i < n; i++) x[i * st] = 0;                          \
        else                                                                        \
            for (int64_t i = 0; i < n; i++) x[i * st] *= b;                         \
    }
SCALE_LOOP(scale_f32, float)
SCALE_LOOP(scale_f64, double)

static int scale(lt_tensor *t, double beta)
{
    if (beta == 1 || lt_numel(t) == 0) return LT_OK;
#ifdef LT_HAVE_CUDA
    if (lt_device(t) != LT_CPU) return lt_gpu_blas_scale(t, beta);
#endif
    lt_iter it;
    const lt_tensor *ops[1] = {t};
    if (lt_iter_init(&it, 1, ops)) return LT_ERR;
    lt_iter_run(&it, t->dtype == LT_FLOAT32 ? scale_f32 : scale_f64, &beta, 0);
    return LT_OK;
}

/* Target <- c as the starting value; *beta_left is the beta still to apply (by BLAS or
 * scale()). Without c, or with beta == 0, the target is zero-filled, unless blas_zeroes says
 * the caller's BLAS call overwrites it anyway (gemm with beta 0 never reads C; gemv's
 * beta = 0 handling has varied between OpenBLAS versions, so it gets explicit zeros). The
 * device products (gpu/blas.cu) start from it too. */
int lt_blas_load_c(lt_tensor *target, const lt_tensor *c, double beta, int blas_zeroes,
                   double *beta_left)
{
    *beta_left = beta;
    if (!c || beta == 0) {
        *beta_left = 0;
        return blas_zeroes ? LT_OK : scale(target, 0);
    }
    if (lt_same_layout(target, c) || lt_numel(target) == 0) return LT_OK;
    return lt_copy(target, c);
}

/* ---- gemm over a batch -------------------------------------------------------------------- */

void lt_blas_gemm(lt_dtype dt, int colmajor, int ta, int tb, int64_t m, int64_t n, int64_t k,
                  double alpha, const void *a, int64_t lda, const void *b, int64_t ldb,
                  double beta, void *c, int64_t ldc)
{
    if (dt == LT_FLOAT32) {  /* OpenBLAS or oneDNN, bf16 under autocast: core/dnnl.c */
        if (colmajor)  /* column-major C = A B is row-major C^T = B^T A^T */
            lt_sgemm(tb, ta, n, m, k, (float)alpha, b, ldb, a, lda, (float)beta, c, ldc);
        else
            lt_sgemm(ta, tb, m, n, k, (float)alpha, a, lda, b, ldb, (float)beta, c, ldc);
        return;
    }
    cblas_dgemm(colmajor ? CblasColMajor : CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, alpha, a, (int)lda, b,
                (int)ldb, beta, c, (int)ldc);
}

/* One product's BLAS arguments, and the byte steps of a row of A / C and a column of B / C
 * (so a part of the product is a pointer offset, whatever the layouts). */
typedef struct {
    lt_dtype dt;
    int colmajor, ta, tb;
    int64_t m, n, k;
    double alpha, beta;
    int64_t lda, ldb, ldc;
    int64_t a_row, b_col, c_row, c_col;  /* bytes */
} gemm_plan;

/* rows x cols of C from a, b, c (the plan's k, leading dims and scalars) */
static void gemm_part(const gemm_plan *g, const char *a, const char *b, char *c, int64_t rows,
                      int64_t cols)
{
    lt_blas_gemm(g->dt, g->colmajor, g->ta, g->tb, rows, cols, g->k, g->alpha, a, g->lda, b,
                 g->ldb, g->beta, c, g->ldc);
}

/* The pool splits the product into slabs of C rows (or columns, whichever dim is longer),
 * each one a single-threaded GEMM (OpenBLAS runs single-threaded for good: core/pool.c): no
 * synchronisation inside the product, and a slab nobody has claimed yet is run by the caller.
 * At 2 threads (bench/mm.lua) the split matched OpenBLAS's own threading or ran up to 1.2x
 * faster on a quiet machine and up to 2x faster when the machine was busy (OpenBLAS syncs its
 * threads per packed panel). The slab count comes from the cost model (2 flops per
 * multiply-add at the GEMM rate) and depends on the shape and the thread count only; each slab
 * re-packs the other operand, so slabs stay at least 2 cache lines long. Slab edges are whole
 * 64-byte multiples along the split dim, so where C's rows are 64-byte aligned (the
 * allocator's blocks are) two threads never write one line. The per-element sums run in the
 * same order whatever the slab (OpenBLAS blocks k alone), so the bits do not depend on it. */
typedef struct {
    const gemm_plan *g;
    const char *a, *b;
    char *c;
    int split_rows;
    int64_t len, align, chunks;
} gemm_job;

static void gemm_slab(void *p, int64_t t)
{
    const gemm_job *j = p;
    const gemm_plan *g = j->g;
    int64_t T = j->chunks, len = j->len, align = j->align;
    int64_t lo = len * t / T / align * align;
    int64_t hi = t == T - 1 ? len : len * (t + 1) / T / align * align;
    if (hi <= lo) return;
    /* the engine the whole product takes (lt_sgemm sees a column-major one transposed) */
    lt_gemm_rule prev = lt_gemm_rule_set(g->colmajor ? g->n : g->m, g->colmajor ? g->m : g->n,
                                         g->k);
    if (j->split_rows)
        gemm_part(g, j->a + lo * g->a_row, j->b, j->c + lo * g->c_row, hi - lo, g->n);
    else
        gemm_part(g, j->a, j->b + lo * g->b_col, j->c + lo * g->c_col, g->m, hi - lo);
    lt_gemm_rule_restore(prev);
}

static void gemm_run(const gemm_plan *g, const char *a, const char *b, char *c)
{
    double macs = (double)g->m * (double)g->n * (double)g->k;
    int split_rows = g->m >= g->n;
    int64_t len = split_rows ? g->m : g->n;
    int64_t align = 64 / (int64_t)lt_dtype_size(g->dt);  /* elements per cache line */
    int64_t chunks = lt_par_chunks(2.0 * macs * LT_PAR_FLOPS_NS / LT_PAR_GEMM_NS, 0);
    if (chunks > len / (2 * align)) chunks = len / (2 * align);
    if (chunks > 1) {
        gemm_job j = {g, a, b, c, split_rows, len, align, chunks};
        lt_parallel_for(chunks, gemm_slab, &j);
        return;
    }
    gemm_part(g, a, b, c, g->m, g->n);
}

void lt_blas_gemm_par(lt_dtype dt, int ta, int tb, int64_t m, int64_t n, int64_t k, double alpha,
                      const void *a, int64_t lda, const void *b, int64_t ldb, double beta, void *c,
                      int64_t ldc)
{
    int64_t es = (int64_t)lt_dtype_size(dt);
    gemm_plan g = {dt, 0, ta, tb, m, n, k, alpha, beta, lda, ldb, ldc, (ta ? 1 : lda) * es,
                   (tb ? ldb : 1) * es, ldc * es, es};
    gemm_run(&g, a, b, c);
}

/* out[i] = beta * c[i] + alpha * a[i] @ b[i] on 3-D tensors whose shapes are checked. */
static int gemm_batch(lt_tensor *out, double beta, const lt_tensor *c, double alpha,
                      const lt_tensor *a, const lt_tensor *b, int nd)
{
    int64_t nb = a->size[0], m = a->size[1], k = a->size[2], n = b->size[2];
    int64_t rs3[3] = {nb, m, n};
    const int64_t *rs = nd == 3 ? rs3 : rs3 + 1;
    lt_tensor *target;
    if (check_int(m) || check_int(n) || check_int(k)) return LT_ERR;
    if (lt_blas_prepare_target(out, nd, rs, a, b, c, &target)) return LT_ERR;
    double bl;
    int st = lt_blas_load_c(target, c, beta, 1, &bl);
    if (st || nb == 0 || m == 0 || n == 0) return lt_blas_finish_target(out, target, st);
    if (k == 0 || alpha == 0) {  /* BLAS semantics: a and b are not read; bl == 0 zeroes */
        st = scale(target, bl);
        return lt_blas_finish_target(out, target, st);
    }
    lt_tensor t3 = *target;  /* a 3-D view of the target (stack handle, no refcount) */
    if (nd == 2) lt_unsqueeze(&t3, 0);
    const lt_tensor *ua, *ub;
    lt_tensor *ca = NULL, *cb = NULL;
    st = lt_blas_operand(a, &ua, &ca);
    if (st == LT_OK) st = lt_blas_operand(b, &ub, &cb);
    if (st == LT_OK) {
        int cma, cmb, cmc;
        int64_t lda, ldb, ldc;
        lt_blas_mat_layout(m, k, ua->stride[1], ua->stride[2], &cma, &lda);
        lt_blas_mat_layout(k, n, ub->stride[1], ub->stride[2], &cmb, &ldb);
        lt_blas_mat_layout(m, n, t3.stride[1], t3.stride[2], &cmc, &ldc);
        size_t es = lt_dtype_size(a->dtype);
        char *pa = lt_data(ua), *pb = lt_data(ub), *pc = lt_data(&t3);
        gemm_plan g = {a->dtype, cmc, cma != cmc, cmb != cmc, m, n, k, alpha, bl, lda, ldb, ldc,
                       ua->stride[1] * (int64_t)es, ub->stride[2] * (int64_t)es,
                       t3.stride[1] * (int64_t)es, t3.stride[2] * (int64_t)es};
        for (int64_t i = 0; i < nb; i++)
            gemm_run(&g, pa + i * ua->stride[0] * (int64_t)es, pb + i * ub->stride[0] * (int64_t)es,
                     pc + i * t3.stride[0] * (int64_t)es);
    }
    lt_tensor_release(ca);
    lt_tensor_release(cb);
    return lt_blas_finish_target(out, target, st);
}

int lt_addmm(lt_tensor *out, double beta, const lt_tensor *c, double alpha, const lt_tensor *a,
             const lt_tensor *b)
{
    if (check_dtypes(out, a, b, c)) return LT_ERR;
    if (a->ndim != 2 || b->ndim != 2) {
        char x[SHP_BUF], y[SHP_BUF];
        return lt_error("expected 2-D matrices, got %s * %s", shp(x, a), shp(y, b));
    }
    if (a->size[1] != b->size[0]) return size_mismatch(a, b);
    int64_t rs[2] = {a->size[0], b->size[1]};
    if (check_c(c, 2, rs, a, b, "*")) return LT_ERR;
    if (check_int(rs[0]) || check_int(rs[1]) || check_int(a->size[1])) return LT_ERR;
    LT_GPU_ROUTE(out, lt_gpu_addmm(out, beta, c, alpha, a, b), a, b, c);
    lt_tensor a3 = *a, b3 = *b;  /* stack handles: one gemm path for 2-D and 3-D */
    lt_unsqueeze(&a3, 0);
    lt_unsqueeze(&b3, 0);
    return gemm_batch(out, beta, c, alpha, &a3, &b3, 2);
}

int lt_mm(lt_tensor *out, const lt_tensor *a, const lt_tensor *b)
{
    return lt_addmm(out, 0, NULL, 1, a, b);
}

int lt_baddbmm(lt_tensor *out, double beta, const lt_tensor *c, double alpha,
               const lt_tensor *a, const lt_tensor *b)
{
    if (check_dtypes(out, a, b, c)) return LT_ERR;
    if (a->ndim != 3 || b->ndim != 3) {
        char x[SHP_BUF], y[SHP_BUF];
        return lt_error("expected 3-D batches of matrices, got %s * %s", shp(x, a), shp(y, b));
    }
    if (a->size[0] != b->size[0] || a->size[2] != b->size[1]) return size_mismatch(a, b);
    int64_t rs[3] = {a->size[0], a->size[1], b->size[2]};
    if (check_c(c, 3, rs, a, b, "*")) return LT_ERR;
    if (check_int(rs[1]) || check_int(rs[2]) || check_int(a->size[2])) return LT_ERR;
    LT_GPU_ROUTE(out, lt_gpu_baddbmm(out, beta, c, alpha, a, b), a, b, c);
    return gemm_batch(out, beta, c, alpha, a, b, 3);
}

int lt_bmm(lt_tensor *out, const lt_tensor *a, const lt_tensor *b)
{
    return lt_baddbmm(out, 0, NULL, 1, a, b);
}

/* ---- gemv ---------------------------------------------------------------------------------- */

int lt_addmv(lt_tensor *out, double beta, const lt_tensor *c, double alpha, const lt_tensor *m,
             const lt_tensor *v)
{
    if (check_dtypes(out, m, v, c)) return LT_ERR;
    if (m->ndim != 2 || v->ndim != 1) {
        char x[SHP_BUF], y[SHP_BUF];
        return lt_error("expected a 2-D matrix and a 1-D vector, got %s * %s", shp(x, m),
                        shp(y, v));
    }
    if (m->size[1] != v->size[0]) return size_mismatch(m, v);
    int64_t rows = m->size[0], cols = m->size[1];
    if (check_c(c, 1, &rows, m, v, "*") || check_int(rows) || check_int(cols)) return LT_ERR;
    LT_GPU_ROUTE(out, lt_gpu_addmv(out, beta, c, alpha, m, v), m, v, c);
    lt_tensor *target;
    if (lt_blas_prepare_target(out, 1, &rows, m, v, c, &target)) return LT_ERR;
    double bl;
    int st = lt_blas_load_c(target, c, beta, 0, &bl);
    if (st || rows == 0) return lt_blas_finish_target(out, target, st);
    if (cols == 0 || alpha == 0)
        return lt_blas_finish_target(out, target, bl != 0 ? scale(target, bl) : LT_OK);
    const lt_tensor *um, *uv;
    lt_tensor *cm_copy = NULL, *cv_copy = NULL;
    st = lt_blas_operand(m, &um, &cm_copy);
    if (st == LT_OK) st = lt_blas_operand(v, &uv, &cv_copy);
    if (st == LT_OK) {
        int cm;
        int64_t ld;
        lt_blas_mat_layout(rows, cols, um->stride[0], um->stride[1], &cm, &ld);
        enum CBLAS_ORDER order = cm ? CblasColMajor : CblasRowMajor;
        int incx = cols > 1 ? (int)uv->stride[0] : 1, incy = rows > 1 ? (int)target->stride[0] : 1;
        if (m->dtype == LT_FLOAT32)
            cblas_sgemv(order, CblasNoTrans, (int)rows, (int)cols, (float)alpha, lt_data(um),
                        (int)ld, lt_data(uv), incx, (float)bl, lt_data(target), incy);
        else
            cblas_dgemv(order, CblasNoTrans, (int)rows, (int)cols, alpha, lt_data(um), (int)ld,
                        lt_data(uv), incx, bl, lt_data(target), incy);
    }
    lt_tensor_release(cm_copy);
    lt_tensor_release(cv_copy);
    return lt_blas_finish_target(out, target, st);
}

int lt_mv(lt_tensor *out, const lt_tensor *m, const lt_tensor *v)
{
    return lt_addmv(out, 0, NULL, 1, m, v);
}

/* ---- dot and outer products ------------------------------------------------------------- */

int lt_dot(double *result, const lt_tensor *a, const lt_tensor *b)
{
    if (check_dtypes(NULL, a, b, NULL)) return LT_ERR;
    int64_t n = lt_numel(a);
    if (n != lt_numel(b)) {
        char x[SHP_BUF], y[SHP_BUF];
        return lt_error("size mismatch, %s . %s (dot needs as many elements in each)",
                        shp(x, a), shp(y, b));
    }
    LT_GPU_ROUTE(NULL, lt_gpu_dot(result, a, b), a, b);
    *result = 0;
    if (n == 0) return LT_OK;
    /* Torch7 takes any two shapes with one element count: flatten (copying when needed) */
    lt_tensor fa = *a, fb = *b, *ca = NULL, *cb = NULL;
    int st = LT_OK;
    const lt_tensor *src[2] = {a, b};
    lt_tensor *flat[2] = {&fa, &fb}, **cp[2] = {&ca, &cb};
    for (int k = 0; k < 2 && st == LT_OK; k++) {
        const lt_tensor *t = src[k];
        if (t->ndim == 1 && lt_blas_usable(t, 0)) continue;
        if (!lt_is_contiguous(t)) {
            *cp[k] = lt_tensor_new_uninit(t->dtype, t->ndim, t->size);
            if (!*cp[k] || lt_copy(*cp[k], t)) {
                st = LT_ERR;
                break;
            }
            t = *cp[k];
        }
        *flat[k] = *t;
        flat[k]->ndim = 1;
        flat[k]->size[0] = n;
        flat[k]->stride[0] = 1;
    }
    if (st == LT_OK) {
        int64_t sa = n > 1 ? fa.stride[0] : 1, sb = n > 1 ? fb.stride[0] : 1;
        char *pa = lt_data(&fa), *pb = lt_data(&fb);
        size_t es = lt_dtype_size(a->dtype);
        double acc = 0;
        /* BLAS counts in int: long vectors go in chunks */
        for (int64_t done = 0; done < n;) {
            int len = (int)(n - done > (1 << 30) ? (1 << 30) : n - done);
            if (a->dtype == LT_FLOAT32)  /* dsdot: float inputs, double accumulation */
                acc += cblas_dsdot(len, (float *)pa, (int)sa, (float *)pb, (int)sb);
            else
                acc += cblas_ddot(len, (double *)pa, (int)sa, (double *)pb, (int)sb);
            pa += len * sa * (int64_t)es;
            pb += len * sb * (int64_t)es;
            done += len;
        }
        *result = a->dtype == LT_FLOAT32 ? (double)(float)acc : acc;
    }
    lt_tensor_release(ca);
    lt_tensor_release(cb);
    return st;
}

int lt_addr(lt_tensor *out, double beta, const lt_tensor *c, double alpha, const lt_tensor *a,
            const lt_tensor *b)
{
    if (check_dtypes(out, a, b, c)) return LT_ERR;
    if (a->ndim != 1 || b->ndim != 1) {
        char x[SHP_BUF], y[SHP_BUF];
        return lt_error("expected 1-D vectors, got %s and %s", shp(x, a), shp(y, b));
    }
    int64_t rs[2] = {a->size[0], b->size[0]};
    if (check_c(c, 2, rs, a, b, "outer") || check_int(rs[0]) || check_int(rs[1])) return LT_ERR;
    LT_GPU_ROUTE(out, lt_gpu_addr(out, beta, c, alpha, a, b), a, b, c);
    lt_tensor *target;
    if (lt_blas_prepare_target(out, 2, rs, a, b, c, &target)) return LT_ERR;
    double bl;
    int st = lt_blas_load_c(target, c, beta, 0, &bl);
    if (st == LT_OK && bl != 0) st = scale(target, bl);  /* ger has no beta */
    if (st || rs[0] == 0 || rs[1] == 0 || alpha == 0)
        return lt_blas_finish_target(out, target, st);
    const lt_tensor *ua, *ub;
    lt_tensor *ca = NULL, *cb = NULL;
    st = lt_blas_operand(a, &ua, &ca);
    if (st == LT_OK) st = lt_blas_operand(b, &ub, &cb);
    if (st == LT_OK) {
        int cm;
        int64_t ld;
        lt_blas_mat_layout(rs[0], rs[1], target->stride[0], target->stride[1], &cm, &ld);
        enum CBLAS_ORDER order = cm ? CblasColMajor : CblasRowMajor;
        int incx = rs[0] > 1 ? (int)ua->stride[0] : 1, incy = rs[1] > 1 ? (int)ub->stride[0] : 1;
        if (a->dtype == LT_FLOAT32)
            cblas_sger(order, (int)rs[0], (int)rs[1], (float)alpha, lt_data(ua), incx,
                       lt_data(ub), incy, lt_data(target), (int)ld);
        else
            cblas_dger(order, (int)rs[0], (int)rs[1], alpha, lt_data(ua), incx, lt_data(ub),
                       incy, lt_data(target), (int)ld);
    }
    lt_tensor_release(ca);
    lt_tensor_release(cb);
    return lt_blas_finish_target(out, target, st);
}
