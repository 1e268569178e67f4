/*
 * linalg.c — dense linear algebra on LAPACK (the routines OpenBLAS exports, core/lapack.h):
 * inverse, determinant, solve (with its LU), Cholesky, reduced QR, SVD, the symmetric
 * eigenproblem, and two host kernels of their gradients (the cofactor matrix for det's
 * backward, Cholesky's backward).
 *
 * Every function takes a square or rectangular matrix or a batch of them, (..., m, n), in
 * float32 or float64, and runs per matrix:
 *   1. a host, contiguous copy of each input (lt_host_copy: a CUDA tensor goes through the
 *      host; there is no cuSOLVER path), refused when it holds a NaN or an infinity, since
 *      LAPACK's iterations may not end or may report nothing on them;
 *   2. each matrix copied into a column-major workspace (LAPACK is Fortran; our tensors are
 *      row-major, and a row-major buffer read column-major is the transpose, which is right
 *      for some routines and wrong for others: one explicit copy keeps every call obvious and
 *      makes LAPACK's reported indices, U(i,i) or the minor's order, those of A itself);
 *   3. the LAPACK call, its info checked; the factors copied back row-major into host
 *      results, which lt_host_result copies into the caller's outs (on the inputs' device).
 * Workspaces are malloc'd per call and freed on every path (one exit label per function).
 * Errors name the matrix of a batch (1-based) and LAPACK's index, as PyTorch's do.
 */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lapack.h"
#include "lt_internal.h"

#define F64(dt) ((dt) == LT_FLOAT64)


/* ---- element access by dtype (float or double buffers) ------------------------------------ */

static double rd(lt_dtype dt, const void *p, int64_t i)
{
    return F64(dt) ? ((const double *)p)[i] : ((const float *)p)[i];
}

static void wr(lt_dtype dt, void *p, int64_t i, double v)
{
    if (F64(dt)) ((double *)p)[i] = v;
    else ((float *)p)[i] = (float)v;
}

/* dst (column-major, leading dim ld >= rows) <- src (rows, cols) row-major */
static void to_colmajor(lt_dtype dt, void *dst, int ld, const void *src, int rows, int cols)
{
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            wr(dt, dst, (int64_t)j * ld + i, rd(dt, src, (int64_t)i * cols + j));
}

/* dst (rows, cols) row-major <- src (column-major, leading dim ld) */
static void from_colmajor(lt_dtype dt, void *dst, const void *src, int ld, int rows, int cols)
{
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            wr(dt, dst, (int64_t)i * cols + j, rd(dt, src, (int64_t)j * ld + i));
}

/* the address of matrix b of a contiguous batch whose matrices hold per elements */
static void *mat(const lt_tensor *t, int64_t b, int64_t per)
{
    return (char *)lt_data(t) + (size_t)(b * per) * lt_dtype_size(t->dtype);
}

static int lwork_of(lt_dtype dt, const void *query)
{
    double w = rd(dt, query, 0);
    return w < 1 ? 1 : w > INT_MAX ? INT_MAX : (int)w;
}

/* ---- checks (the bindings raise them as argument errors) ---------------------------------- */

int lt_linalg_check(const lt_tensor *a, int square)
{
    char s[LT_SHAPE_BUFSZ];
    if (a->dtype != LT_FLOAT32 && a->dtype != LT_FLOAT64)
        return lt_error("expected a Float or Double tensor, got %s", lt_type_name(a->dtype));
    if (a->ndim < 2)
        return lt_error("expected a matrix or a batch of matrices, got a %d-D tensor [%s]",
                        a->ndim, lt_shape_str(s, sizeof s, a->ndim, a->size));
    int64_t m = a->size[a->ndim - 2], n = a->size[a->ndim - 1];
    if (square && m != n)
        return lt_error("expected a square matrix or a batch of them, got [%s]",
                        lt_shape_str(s, sizeof s, a->ndim, a->size));
    /* LAPACK's sizes are 32-bit ints, and so are its workspace sizes (m * n elements) */
    if (m > 46340 || n > 46340 || m * n > INT_MAX / 8)
        return lt_error("[%s] is too large for LAPACK's 32-bit sizes",
                        lt_shape_str(s, sizeof s, a->ndim, a->size));
    return LT_OK;
}

int lt_linalg_check_solve(const lt_tensor *a, const lt_tensor *b)
{
    char sk[LT_SHAPE_BUFSZ], sv[LT_SHAPE_BUFSZ], sa[LT_SHAPE_BUFSZ], sb[LT_SHAPE_BUFSZ];
    if (b->dtype != a->dtype)
        return lt_error("expected B of A's type %s, got %s", lt_type_name(a->dtype),
                        lt_type_name(b->dtype));
    int n = a->ndim, vec = b->ndim == n - 1, ok = b->ndim == n || vec;
    for (int i = 0; ok && i < n - 2; i++) ok = b->size[i] == a->size[i];
    if (ok) ok = b->size[n - 2] == a->size[n - 2];
    if (ok && !vec && b->size[n - 1] > 46340) ok = 0;
    if (!ok)
        return lt_error("expected B of shape [%s x k] or [%s] to solve A X = B with A [%s], "
                        "got B [%s] (batch dims must match; no broadcasting)",
                        lt_shape_str(sk, sizeof sk, n - 1, a->size),
                        lt_shape_str(sv, sizeof sv, n - 1, a->size),
                        lt_shape_str(sa, sizeof sa, n, a->size),
                        lt_shape_str(sb, sizeof sb, b->ndim, b->size));
    return LT_OK;
}

/* ---- inputs and results ------------------------------------------------------------------- */

/* *h = a host, contiguous tensor with t's elements (t itself when it is one), refused when
 * an element is not finite. Release with lt_tensor_release. */
static int host_input(const lt_tensor *t, lt_tensor **h)
{
    const lt_tensor *hc;
    *h = NULL;
    if (lt_host_copy(t, &hc)) return LT_ERR;
    lt_tensor *c = lt_tensor_empty(t->dtype);
    int st = c ? lt_contiguous(c, hc) : LT_ERR;
    lt_host_release(t, hc);
    if (st) {
        lt_tensor_release(c);
        return LT_ERR;
    }
    int64_t n = lt_numel(c);
    const void *p = lt_data(c);
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(rd(c->dtype, p, i))) {
            lt_tensor_release(c);
            return lt_error("the input has a NaN or infinite element (element %lld); LAPACK "
                            "needs finite numbers", (long long)i + 1);
        }
    *h = c;
    return LT_OK;
}

/* a host result of shape (lead dims of like..., r, c): drop = how many trailing dims of
 * like are replaced by (r, c); r or c < 0 leaves that dim out */
static lt_tensor *host_out(const lt_tensor *like, int drop, int64_t r, int64_t c)
{
    int64_t size[LT_MAXDIM];
    int nd = like->ndim - drop;
    memcpy(size, like->size, sizeof(int64_t) * (size_t)nd);
    if (r >= 0) size[nd++] = r;
    if (c >= 0) size[nd++] = c;
    return lt_tensor_new_on(LT_CPU, like->dtype, nd, size);
}

static int64_t batch_of(const lt_tensor *a, int ndrop)
{
    int64_t b = 1;
    for (int i = 0; i < a->ndim - ndrop; i++) b *= a->size[i];
    return b;
}

/* out (on dev) = host result hr; NULL outs are skipped */
static int deliver(lt_tensor *out, const lt_tensor *hr, int dev)
{
    if (!out) return LT_OK;
    if (lt_out_on(out, dev)) return LT_ERR;
    return lt_host_result(out, hr);
}

/* " (matrix 2 of the batch)" when a has batch dims, "" otherwise, into buf */
static const char *which(char *buf, size_t len, const lt_tensor *a, int64_t b, int ndrop)
{
    buf[0] = 0;
    if (a->ndim > ndrop) snprintf(buf, len, " (matrix %lld of the batch)", (long long)b + 1);
    return buf;
}

/* ---- LU: inverse, determinant, solve ------------------------------------------------------ */

static int getrf(lt_dtype dt, int n, void *a, int *ipiv)
{
    int info, lda = n > 1 ? n : 1;
    if (F64(dt)) dgetrf_(&n, &n, a, &lda, ipiv, &info);
    else sgetrf_(&n, &n, a, &lda, ipiv, &info);
    return info;
}

/* lwork = -1: a workspace query */
static int getri(lt_dtype dt, int n, void *a, const int *ipiv, void *work, int lwork)
{
    int info, lda = n > 1 ? n : 1;
    if (F64(dt)) dgetri_(&n, a, &lda, ipiv, work, &lwork, &info);
    else sgetri_(&n, a, &lda, ipiv, work, &lwork, &info);
    return info;
}

/* det of getrf's factors (n, n) column-major: the product of U's diagonal, its sign flipped
 * for each row interchange; accumulated in double */
static double lu_det(lt_dtype dt, int n, const void *lu, const int *ipiv)
{
    double d = 1;
    for (int i = 0; i < n; i++) {
        d *= rd(dt, lu, (int64_t)i * n + i);
        if (ipiv[i] != i + 1) d = -d;
    }
    return d;
}

int lt_linalg_inverse(lt_tensor *out, const lt_tensor *a)
{
    if (lt_linalg_check(a, 1)) return LT_ERR;
    lt_dtype dt = a->dtype;
    int n = (int)a->size[a->ndim - 1], dev = lt_device(a), st = LT_ERR;
    int64_t nb = batch_of(a, 2), per = (int64_t)n * n;
    size_t es = lt_dtype_size(dt);
    lt_tensor *h = NULL, *r = NULL;
    int *ipiv = malloc(sizeof(int) * (size_t)(n + 1));
    void *w = malloc(es * (size_t)(per + 1)), *work = NULL;
    char q[16], buf[64];
    if (!ipiv || !w) {
        lt_error("out of memory");
        goto done;
    }
    if (host_input(a, &h) || !(r = host_out(a, 0, -1, -1))) goto done;
    int lwork = 1;
    if (n > 0) {
        getri(dt, n, w, ipiv, q, -1);
        lwork = lwork_of(dt, q);
    }
    if (!(work = malloc(es * (size_t)lwork))) {
        lt_error("out of memory");
        goto done;
    }
    for (int64_t b = 0; b < nb && n > 0; b++) {
        to_colmajor(dt, w, n, mat(h, b, per), n, n);
        int info = getrf(dt, n, w, ipiv);
        if (info > 0) {
            lt_error("the matrix is singular (U(%d,%d) is exactly zero)%s", info, info,
                     which(buf, sizeof buf, a, b, 2));
            goto done;
        }
        getri(dt, n, w, ipiv, work, lwork);
        from_colmajor(dt, mat(r, b, per), w, n, n, n);
    }
    st = deliver(out, r, dev);
done:
    free(ipiv);
    free(w);
    free(work);
    lt_tensor_release(h);
    lt_tensor_release(r);
    return st;
}

int lt_linalg_det(lt_tensor *out, const lt_tensor *a)
{
    if (lt_linalg_check(a, 1)) return LT_ERR;
    lt_dtype dt = a->dtype;
    int n = (int)a->size[a->ndim - 1], dev = lt_device(a), st = LT_ERR;
    int64_t nb = batch_of(a, 2), per = (int64_t)n * n;
    lt_tensor *h = NULL, *r = NULL;
    int *ipiv = malloc(sizeof(int) * (size_t)(n + 1));
    void *w = malloc(lt_dtype_size(dt) * (size_t)(per + 1));
    if (!ipiv || !w) {
        lt_error("out of memory");
        goto done;
    }
    if (host_input(a, &h) || !(r = host_out(a, 2, -1, -1))) goto done;
    for (int64_t b = 0; b < nb; b++) {
        double d = 1;   /* det of a 0 x 0 matrix */
        if (n > 0) {
            to_colmajor(dt, w, n, mat(h, b, per), n, n);
            /* info > 0: U(info, info) is exactly zero, the factorization still completes,
             * and the product of the diagonal is 0 */
            getrf(dt, n, w, ipiv);
            d = lu_det(dt, n, w, ipiv);
        }
        wr(dt, lt_data(r), b, d);
    }
    st = deliver(out, r, dev);
done:
    free(ipiv);
    free(w);
    lt_tensor_release(h);
    lt_tensor_release(r);
    return st;
}

int lt_linalg_solve(lt_tensor *x, lt_tensor *lu, const lt_tensor *a, const lt_tensor *b)
{
    if (lt_linalg_check(a, 1) || lt_linalg_check_solve(a, b)) return LT_ERR;
    int dev;
    const lt_tensor *both[2] = {a, b};
    if (lt_common_device(&dev, 2, both)) return LT_ERR;
    lt_dtype dt = a->dtype;
    int vec = b->ndim == a->ndim - 1, st = LT_ERR;
    int n = (int)a->size[a->ndim - 1], k = vec ? 1 : (int)b->size[b->ndim - 1];
    int ld = n > 1 ? n : 1, info;
    int64_t nb = batch_of(a, 2), per = (int64_t)n * n, perb = (int64_t)n * k;
    size_t es = lt_dtype_size(dt);
    lt_tensor *ha = NULL, *hb = NULL, *rx = NULL, *rlu = NULL;
    int *ipiv = malloc(sizeof(int) * (size_t)(n + 1));
    void *wa = malloc(es * (size_t)(per + 1)), *wb = malloc(es * (size_t)(perb + 1));
    char buf[64];
    if (!ipiv || !wa || !wb) {
        lt_error("out of memory");
        goto done;
    }
    if (host_input(a, &ha) || host_input(b, &hb)) goto done;
    if (!(rx = host_out(b, 0, -1, -1)) || (lu && !(rlu = host_out(a, 0, -1, -1)))) goto done;
    for (int64_t i = 0; i < nb && n > 0 && k > 0; i++) {
        to_colmajor(dt, wa, n, mat(ha, i, per), n, n);
        to_colmajor(dt, wb, ld, mat(hb, i, perb), n, k);   /* (n, k), a vector as (n, 1) */
        if (F64(dt)) dgesv_(&n, &k, wa, &ld, ipiv, wb, &ld, &info);
        else sgesv_(&n, &k, wa, &ld, ipiv, wb, &ld, &info);
        if (info > 0) {
            lt_error("the matrix is singular (U(%d,%d) is exactly zero)%s", info, info,
                     which(buf, sizeof buf, a, i, 2));
            goto done;
        }
        from_colmajor(dt, mat(rx, i, perb), wb, ld, n, k);
        if (rlu) from_colmajor(dt, mat(rlu, i, per), wa, n, n, n);
    }
    if (rlu && n > 0 && k == 0) {   /* no right-hand side: gesv was skipped, factor alone */
        for (int64_t i = 0; i < nb; i++) {
            to_colmajor(dt, wa, n, mat(ha, i, per), n, n);
            getrf(dt, n, wa, ipiv);
            from_colmajor(dt, mat(rlu, i, per), wa, n, n, n);
        }
    }
    st = deliver(x, rx, dev);
    if (st == LT_OK) st = deliver(lu, rlu, dev);
done:
    free(ipiv);
    free(wa);
    free(wb);
    lt_tensor_release(ha);
    lt_tensor_release(hb);
    lt_tensor_release(rx);
    lt_tensor_release(rlu);
    return st;
}

/* ---- Cholesky ------------------------------------------------------------------------------ */

int lt_linalg_cholesky(lt_tensor *out, const lt_tensor *a, int upper)
{
    if (lt_linalg_check(a, 1)) return LT_ERR;
    lt_dtype dt = a->dtype;
    int n = (int)a->size[a->ndim - 1], dev = lt_device(a), st = LT_ERR, info;
    int64_t nb = batch_of(a, 2), per = (int64_t)n * n;
    lt_tensor *h = NULL, *r = NULL;
    void *w = malloc(lt_dtype_size(dt) * (size_t)(per + 1));
    char buf[64];
    if (!w) {
        lt_error("out of memory");
        goto done;
    }
    if (host_input(a, &h) || !(r = host_out(a, 0, -1, -1))) goto done;
    for (int64_t b = 0; b < nb && n > 0; b++) {
        to_colmajor(dt, w, n, mat(h, b, per), n, n);
        /* the lower triangle of A is read (PyTorch's), L written over it */
        if (F64(dt)) dpotrf_("L", &n, w, &n, &info, 1);
        else spotrf_("L", &n, w, &n, &info, 1);
        if (info > 0) {
            lt_error("the matrix is not positive definite (the leading minor of order %d is "
                     "not positive)%s", info, which(buf, sizeof buf, a, b, 2));
            goto done;
        }
        void *o = mat(r, b, per);
        for (int i = 0; i < n; i++)       /* L(i, j) sits at w[j * n + i]; U = L^T */
            for (int j = 0; j < n; j++) {
                int lower = upper ? i <= j : j <= i;
                double v = !lower ? 0 : upper ? rd(dt, w, (int64_t)i * n + j)
                                              : rd(dt, w, (int64_t)j * n + i);
                wr(dt, o, (int64_t)i * n + j, v);
            }
    }
    st = deliver(out, r, dev);
done:
    free(w);
    lt_tensor_release(h);
    lt_tensor_release(r);
    return st;
}

/* ---- QR ------------------------------------------------------------------------------------ */

int lt_linalg_qr(lt_tensor *q, lt_tensor *r, const lt_tensor *a)
{
    if (lt_linalg_check(a, 0)) return LT_ERR;
    lt_dtype dt = a->dtype;
    int m = (int)a->size[a->ndim - 2], n = (int)a->size[a->ndim - 1], k = m < n ? m : n;
    int lda = m > 1 ? m : 1, dev = lt_device(a), st = LT_ERR, info, lwork = 1;
    int64_t nb = batch_of(a, 2), per = (int64_t)m * n;
    size_t es = lt_dtype_size(dt);
    lt_tensor *h = NULL, *rq = NULL, *rr = NULL;
    void *w = malloc(es * (size_t)(per + 1)), *tau = malloc(es * (size_t)(k + 1)), *work = NULL;
    char qy[16];
    if (!w || !tau) {
        lt_error("out of memory");
        goto done;
    }
    if (host_input(a, &h) || !(rq = host_out(a, 1, -1, k)) || !(rr = host_out(a, 2, k, n)))
        goto done;
    if (k > 0) {   /* the larger of the two routines' workspaces */
        int m1 = -1;
        if (F64(dt)) dgeqrf_(&m, &n, w, &lda, tau, (double *)qy, &m1, &info);
        else sgeqrf_(&m, &n, w, &lda, tau, (float *)qy, &m1, &info);
        lwork = lwork_of(dt, qy);
        if (F64(dt)) dorgqr_(&m, &k, &k, w, &lda, tau, (double *)qy, &m1, &info);
        else sorgqr_(&m, &k, &k, w, &lda, tau, (float *)qy, &m1, &info);
        if (lwork_of(dt, qy) > lwork) lwork = lwork_of(dt, qy);
    }
    if (!(work = malloc(es * (size_t)lwork))) {
        lt_error("out of memory");
        goto done;
    }
    for (int64_t b = 0; b < nb && k > 0; b++) {
        to_colmajor(dt, w, lda, mat(h, b, per), m, n);
        if (F64(dt)) dgeqrf_(&m, &n, w, &lda, tau, work, &lwork, &info);
        else sgeqrf_(&m, &n, w, &lda, tau, work, &lwork, &info);
        void *o = mat(rr, b, (int64_t)k * n);   /* R (k, n): the upper triangle */
        for (int i = 0; i < k; i++)
            for (int j = 0; j < n; j++)
                wr(dt, o, (int64_t)i * n + j, j >= i ? rd(dt, w, (int64_t)j * lda + i) : 0);
        if (F64(dt)) dorgqr_(&m, &k, &k, w, &lda, tau, work, &lwork, &info);
        else sorgqr_(&m, &k, &k, w, &lda, tau, work, &lwork, &info);
        from_colmajor(dt, mat(rq, b, (int64_t)m * k), w, lda, m, k);
    }
    st = deliver(q, rq, dev);
    if (st == LT_OK) st = deliver(r, rr, dev);
done:
    free(w);
    free(tau);
    free(work);
    lt_tensor_release(h);
    lt_tensor_release(rq);
    lt_tensor_release(rr);
    return st;
}

/* ---- SVD ----------------------------------------------------------------------------------- */

/* gesdd on w (m, n) column-major, lwork = -1: a query. u (ldu = max(1, m)), vt (ldvt). */
static int gesdd(lt_dtype dt, const char *jobz, int m, int n, void *w, void *s, void *u,
                 void *vt, int ldvt, void *work, int lwork, int *iwork)
{
    int info, lda = m > 1 ? m : 1, ldu = lda;
    if (F64(dt)) dgesdd_(jobz, &m, &n, w, &lda, s, u, &ldu, vt, &ldvt, work, &lwork, iwork, &info, 1);
    else sgesdd_(jobz, &m, &n, w, &lda, s, u, &ldu, vt, &ldvt, work, &lwork, iwork, &info, 1);
    return info;
}

static void eye(lt_dtype dt, void *o, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) wr(dt, o, (int64_t)i * n + j, i == j);
}

int lt_linalg_svd(lt_tensor *u, lt_tensor *s, lt_tensor *v, const lt_tensor *a, int some)
{
    if (lt_linalg_check(a, 0)) return LT_ERR;
    lt_dtype dt = a->dtype;
    int m = (int)a->size[a->ndim - 2], n = (int)a->size[a->ndim - 1], k = m < n ? m : n;
    int ucols = some ? k : m, vrows = some ? k : n, ldvt = vrows > 1 ? vrows : 1;
    int dev = lt_device(a), st = LT_ERR, lwork = 1;
    int64_t nb = batch_of(a, 2), per = (int64_t)m * n;
    size_t es = lt_dtype_size(dt);
    const char *jobz = some ? "S" : "A";
    lt_tensor *h = NULL, *ru = NULL, *rs = NULL, *rv = NULL;
    void *w = malloc(es * (size_t)(per + 1)), *wu = malloc(es * ((size_t)m * ucols + 1));
    void *wvt = malloc(es * ((size_t)ldvt * n + 1)), *work = NULL;
    int *iwork = malloc(sizeof(int) * (8 * (size_t)k + 1));
    char qy[16], buf[64];
    if (!w || !wu || !wvt || !iwork) {
        lt_error("out of memory");
        goto done;
    }
    if (host_input(a, &h) || !(ru = host_out(a, 1, -1, ucols)) || !(rs = host_out(a, 2, k, -1))
        || !(rv = host_out(a, 2, n, vrows)))
        goto done;
    if (k > 0) {
        gesdd(dt, jobz, m, n, w, NULL, wu, wvt, ldvt, qy, -1, iwork);
        lwork = lwork_of(dt, qy);
    }
    if (!(work = malloc(es * (size_t)lwork))) {
        lt_error("out of memory");
        goto done;
    }
    for (int64_t b = 0; b < nb; b++) {
        void *ou = mat(ru, b, (int64_t)m * ucols), *os = mat(rs, b, k);
        void *ov = mat(rv, b, (int64_t)n * vrows);
        if (k == 0) {   /* an empty matrix: no values; the full factors are identities */
            if (!some) eye(dt, ou, m), eye(dt, ov, n);
            continue;
        }
        to_colmajor(dt, w, m, mat(h, b, per), m, n);
        int info = gesdd(dt, jobz, m, n, w, os, wu, wvt, ldvt, work, lwork, iwork);
        if (info > 0) {
            lt_error("the SVD did not converge (LAPACK gesdd info %d)%s", info,
                     which(buf, sizeof buf, a, b, 2));
            goto done;
        }
        from_colmajor(dt, ou, wu, m, m, ucols);
        /* V = VT^T: V(i, j) = VT(j, i), which column-major VT holds at i * ldvt + j */
        for (int i = 0; i < n; i++)
            for (int j = 0; j < vrows; j++)
                wr(dt, ov, (int64_t)i * vrows + j, rd(dt, wvt, (int64_t)i * ldvt + j));
    }
    st = deliver(u, ru, dev);
    if (st == LT_OK) st = deliver(s, rs, dev);
    if (st == LT_OK) st = deliver(v, rv, dev);
done:
    free(w);
    free(wu);
    free(wvt);
    free(work);
    free(iwork);
    lt_tensor_release(h);
    lt_tensor_release(ru);
    lt_tensor_release(rs);
    lt_tensor_release(rv);
    return st;
}

/* ---- the symmetric eigenproblem ------------------------------------------------------------ */

int lt_linalg_eigh(lt_tensor *e, lt_tensor *v, const lt_tensor *a, int vectors, int upper)
{
    if (lt_linalg_check(a, 1)) return LT_ERR;
    lt_dtype dt = a->dtype;
    int n = (int)a->size[a->ndim - 1], lda = n > 1 ? n : 1, dev = lt_device(a), st = LT_ERR;
    int info, lwork = 1, liwork = 1, m1 = -1, iq = 1;
    int64_t nb = batch_of(a, 2), per = (int64_t)n * n;
    size_t es = lt_dtype_size(dt);
    /* the column-major copy is A itself, so uplo names A's own triangle */
    const char *jobz = vectors ? "V" : "N", *uplo = upper ? "U" : "L";
    lt_tensor *h = NULL, *re = NULL, *rv = NULL;
    void *w = malloc(es * (size_t)(per + 1)), *work = NULL;
    int *iwork = NULL;
    char qy[16], buf[64];
    if (!w) {
        lt_error("out of memory");
        goto done;
    }
    if (host_input(a, &h) || !(re = host_out(a, 2, n, -1))
        || !(rv = vectors ? host_out(a, 0, -1, -1) : lt_tensor_empty(dt)))
        goto done;
    if (n > 0) {
        if (F64(dt)) dsyevd_(jobz, uplo, &n, w, &lda, NULL, (double *)qy, &m1, &iq, &m1, &info, 1, 1);
        else ssyevd_(jobz, uplo, &n, w, &lda, NULL, (float *)qy, &m1, &iq, &m1, &info, 1, 1);
        lwork = lwork_of(dt, qy);
        liwork = iq > 1 ? iq : 1;
    }
    if (!(work = malloc(es * (size_t)lwork)) || !(iwork = malloc(sizeof(int) * (size_t)liwork))) {
        lt_error("out of memory");
        goto done;
    }
    for (int64_t b = 0; b < nb && n > 0; b++) {
        to_colmajor(dt, w, n, mat(h, b, per), n, n);
        void *oe = mat(re, b, n);
        if (F64(dt)) dsyevd_(jobz, uplo, &n, w, &lda, oe, work, &lwork, iwork, &liwork, &info, 1, 1);
        else ssyevd_(jobz, uplo, &n, w, &lda, oe, work, &lwork, iwork, &liwork, &info, 1, 1);
        if (info > 0) {
            lt_error("the eigenvalue algorithm did not converge (LAPACK syevd info %d)%s", info,
                     which(buf, sizeof buf, a, b, 2));
            goto done;
        }
        if (vectors) from_colmajor(dt, mat(rv, b, per), w, n, n, n);   /* columns: vectors */
    }
    st = deliver(e, re, dev);
    if (st == LT_OK && v) st = deliver(v, rv, dev);
done:
    free(w);
    free(work);
    free(iwork);
    lt_tensor_release(h);
    lt_tensor_release(re);
    lt_tensor_release(rv);
    return st;
}

/* ---- gradient kernels ---------------------------------------------------------------------- */

/* det of a column-major (n, n) orthogonal factor, by LU of a copy in scratch (n * n) */
static double det_of(lt_dtype dt, int n, const void *f, void *scratch, int *ipiv)
{
    memcpy(scratch, f, lt_dtype_size(dt) * (size_t)n * n);
    getrf(dt, n, scratch, ipiv);
    return lu_det(dt, n, scratch, ipiv);
}

/* The cofactor matrix of a singular A (column-major w, destroyed) into o (row-major), from
 * its SVD A = U S V^T: adj(A) = det(U) det(V) V adj(S) U^T with adj(S) = diag(prod_{j!=i}
 * s_j), so cof(A) = adj(A)^T = det(U) det(V^T) U adj(S) V^T. Well defined for any rank (rank
 * n-1: one nonzero product; lower: zero). */
static int cofactor_svd(lt_dtype dt, int n, void *w, void *o, void *s, void *u, void *vt,
                        void *scratch, int *ipiv, int *iwork)
{
    char qy[16];
    gesdd(dt, "A", n, n, w, s, u, vt, n, qy, -1, iwork);
    int lwork = lwork_of(dt, qy);
    void *work = malloc(lt_dtype_size(dt) * (size_t)lwork);
    if (!work) return lt_error("out of memory");
    int info = gesdd(dt, "A", n, n, w, s, u, vt, n, work, lwork, iwork);
    free(work);
    if (info > 0) return lt_error("the SVD did not converge (LAPACK gesdd info %d)", info);
    double c = det_of(dt, n, u, scratch, ipiv) * det_of(dt, n, vt, scratch, ipiv);
    for (int l = 0; l < n; l++) {   /* p_l = prod_{j != l} s_j, in scratch as doubles */
        double p = c;
        for (int j = 0; j < n; j++)
            if (j != l) p *= rd(dt, s, j);
        wr(dt, scratch, l, p);
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double acc = 0;   /* U(i, l) at l * n + i; VT(l, j) at j * n + l */
            for (int l = 0; l < n; l++)
                acc += rd(dt, u, (int64_t)l * n + i) * rd(dt, scratch, l) *
                       rd(dt, vt, (int64_t)j * n + l);
            wr(dt, o, (int64_t)i * n + j, acc);
        }
    return LT_OK;
}

/* out = the cofactor matrix of A (..., n, n), d det(A) / dA: det(A) A^{-T} where A is
 * invertible, through the SVD where it is singular (det's backward) */
int lt_linalg_cofactor(lt_tensor *out, const lt_tensor *a)
{
    if (lt_linalg_check(a, 1)) return LT_ERR;
    lt_dtype dt = a->dtype;
    int n = (int)a->size[a->ndim - 1], dev = lt_device(a), st = LT_ERR, lwork = 1;
    int64_t nb = batch_of(a, 2), per = (int64_t)n * n;
    size_t es = lt_dtype_size(dt), bytes = es * (size_t)(per + 1);
    lt_tensor *h = NULL, *r = NULL;
    int *ipiv = malloc(sizeof(int) * (size_t)(n + 1)), *iwork = malloc(sizeof(int) * (8 * (size_t)n + 1));
    void *w = malloc(bytes), *u = malloc(bytes), *vt = malloc(bytes), *scratch = malloc(bytes);
    void *s = malloc(es * (size_t)(n + 1)), *work = NULL;
    char qy[16];
    if (!ipiv || !iwork || !w || !u || !vt || !scratch || !s) {
        lt_error("out of memory");
        goto done;
    }
    if (host_input(a, &h) || !(r = host_out(a, 0, -1, -1))) goto done;
    if (n > 0) {
        getri(dt, n, w, ipiv, qy, -1);
        lwork = lwork_of(dt, qy);
    }
    if (!(work = malloc(es * (size_t)lwork))) {
        lt_error("out of memory");
        goto done;
    }
    for (int64_t b = 0; b < nb && n > 0; b++) {
        void *o = mat(r, b, per);
        to_colmajor(dt, w, n, mat(h, b, per), n, n);
        if (getrf(dt, n, w, ipiv) > 0) {
            to_colmajor(dt, w, n, mat(h, b, per), n, n);
            if (cofactor_svd(dt, n, w, o, s, u, vt, scratch, ipiv, iwork)) goto done;
            continue;
        }
        double d = lu_det(dt, n, w, ipiv);
        getri(dt, n, w, ipiv, work, lwork);
        /* cof(i, j) = d * inv(j, i), and column-major inv(j, i) sits at i * n + j */
        for (int64_t i = 0; i < per; i++) wr(dt, o, i, d * rd(dt, w, i));
    }
    st = deliver(out, r, dev);
done:
    free(ipiv);
    free(iwork);
    free(w);
    free(u);
    free(vt);
    free(scratch);
    free(s);
    free(work);
    lt_tensor_release(h);
    lt_tensor_release(r);
    return st;
}

/* Cholesky's backward. With A = L L^T, dL = L Phi(L^{-1} dA L^{-T}) where Phi keeps the lower
 * triangle and halves the diagonal; its adjoint gives
 *     gA = sym(L^{-T} Phi(L^T gL) L^{-1}),   sym(X) = (X + X^T) / 2
 * (PyTorch's symmetric gradient). An upper factor U = L^T has gL = gU^T. Computed in double
 * with row-major CBLAS (a product and two triangular solves; no inverse is formed). */
int lt_linalg_cholesky_backward(lt_tensor *ga, const lt_tensor *l, const lt_tensor *gl,
                                int upper)
{
    if (lt_linalg_check(l, 1)) return LT_ERR;
    if (!lt_same_shape(l, gl) || gl->dtype != l->dtype)
        return lt_error("cholesky backward: the gradient does not match the factor");
    lt_dtype dt = l->dtype;
    int n = (int)l->size[l->ndim - 1], dev = lt_device(l), st = LT_ERR;
    int64_t nb = batch_of(l, 2), per = (int64_t)n * n;
    lt_tensor *hl = NULL, *hg = NULL, *r = NULL;
    double *lm = malloc(sizeof(double) * (size_t)(per + 1));
    double *g = malloc(sizeof(double) * (size_t)(per + 1));
    double *p = malloc(sizeof(double) * (size_t)(per + 1));
    if (!lm || !g || !p) {
        lt_error("out of memory");
        goto done;
    }
    if (host_input(l, &hl) || host_input(gl, &hg) || !(r = host_out(l, 0, -1, -1))) goto done;
    for (int64_t b = 0; b < nb && n > 0; b++) {
        const void *sl = mat(hl, b, per), *sg = mat(hg, b, per);
        for (int i = 0; i < n; i++)   /* lm = L (lower), g = gL */
            for (int j = 0; j < n; j++) {
                int64_t ij = (int64_t)i * n + j, ji = (int64_t)j * n + i;
                lm[ij] = j > i ? 0 : rd(dt, sl, upper ? ji : ij);
                g[ij] = rd(dt, sg, upper ? ji : ij);
            }
        /* p = L^T gL, then Phi(p) */
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, n, 1, lm, n, g, n, 0, p, n);
        for (int i = 0; i < n; i++) {
            p[(int64_t)i * n + i] *= 0.5;
            for (int j = i + 1; j < n; j++) p[(int64_t)i * n + j] = 0;
        }
        /* p = L^{-T} p (solve L^T X = p), then p = p L^{-1} (solve X L = p) */
        cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, n, n, 1, lm,
                    n, p, n);
        cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasNoTrans, CblasNonUnit, n, n, 1,
                    lm, n, p, n);
        void *o = mat(r, b, per);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                wr(dt, o, (int64_t)i * n + j,
                   0.5 * (p[(int64_t)i * n + j] + p[(int64_t)j * n + i]));
    }
    st = deliver(ga, r, dev);
done:
    free(lm);
    free(g);
    free(p);
    lt_tensor_release(hl);
    lt_tensor_release(hg);
    lt_tensor_release(r);
    return st;
}
