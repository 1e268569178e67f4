/*
 * blas.cu — matrix products on device tensors through cuBLAS: addmm/mm, baddbmm/bmm (strided
 * batched GEMM), addmv/mv (GEMV), dot and addr (deterministic kernels), float32 and float64.
 *
 * The twins of core/blas.c, called by it after its dtype and shape checks (so every message
 * is the CPU's). The layout rules are the CPU's: a matrix with strides (ld, 1) is row-major,
 * (1, ld) column-major (a transposed view), and only other layouts (expanded, overlapping,
 * ld beyond int) are copied to a contiguous temporary on the device. cuBLAS is column-major:
 * a row-major result C = A B is computed as the column-major C^T = B^T A^T, so a row-major
 * operand is passed as it is with CUBLAS_OP_N and a column-major one with CUBLAS_OP_T (when
 * the result is column-major, the other way round). beta = 0 ignores c and the old out (NaN
 * never leaks). TF32 only where torch.cuda.allowTF32(true) set it (lt_gpu_cublas).
 */
#include "gpu_internal.h"

/* ---- t *= beta, beta == 0 writing zeros --------------------------------------------------- */

template <typename T> __global__ void scale_kernel(lt_gpu_ix ix, T *x, T b, int64_t n)
{
    for (int64_t i = LT_GPU_TID(); i < n; i += LT_GPU_NTHREADS()) {
        int64_t off[1];
        lt_gpu_offsets(ix, i, off);
        x[off[0]] = b == 0 ? (T)0 : x[off[0]] * b;
    }
}

extern "C" int lt_gpu_blas_scale(lt_tensor *t, double beta)
{
    if (beta == 1 || lt_numel(t) == 0) return LT_OK;
    lt_iter it;
    const lt_tensor *ops[1] = {t};
    if (lt_iter_init_any(&it, 1, ops)) return LT_ERR;
    lt_gpu_ix ix = lt_gpu_ix_of(&it);
    if (t->dtype == LT_FLOAT32)
        LT_LAUNCH(scale_kernel<float>, lt_gpu_blocks(it.numel), LT_GPU_THREADS, ix,
                  (float *)it.data[0], (float)beta, it.numel);
    else
        LT_LAUNCH(scale_kernel<double>, lt_gpu_blocks(it.numel), LT_GPU_THREADS, ix,
                  (double *)it.data[0], beta, it.numel);
    LT_CHECK_LAUNCH("scale_kernel");
    return LT_OK;
}


/* ---- gemm over a batch ------------------------------------------------------------------- */

/* One column-major GEMM description: C' (M x N, ldc) = alpha op(X) op(Y) + beta C'. */
struct gemm_desc {
    cublasOperation_t tx, ty;
    int M, N, K, ldx, ldy, ldc;
    const char *x, *y;
    char *c;
    long long sx, sy, sc;   /* batch strides in elements */
};

static int run_gemm(lt_dtype dt, const gemm_desc &g, double alpha, double beta, int64_t nb)
{
    cublasHandle_t h;
    if (lt_gpu_cublas(&h)) return LT_ERR;
    const lt_cublas_fns *f = lt_gpu_blas();
    if (!f) return LT_ERR;
    size_t es = lt_dtype_size(dt);
    float af = (float)alpha, bf = (float)beta;
    /* batches in chunks that an int counts (and that every cuBLAS kernel's grid takes) */
    for (int64_t done = 0; done < nb;) {
        int cnt = (int)(nb - done > 65535 ? 65535 : nb - done);
        const char *x = g.x + done * g.sx * (int64_t)es, *y = g.y + done * g.sy * (int64_t)es;
        char *c = g.c + done * g.sc * (int64_t)es;
        if (cnt == 1) {
            if (dt == LT_FLOAT32)
                LT_CUBLAS("cublasSgemm", f->sgemm(h, g.tx, g.ty, g.M, g.N, g.K, &af,
                                                  (const float *)x, g.ldx, (const float *)y,
                                                  g.ldy, &bf, (float *)c, g.ldc));
            else
                LT_CUBLAS("cublasDgemm", f->dgemm(h, g.tx, g.ty, g.M, g.N, g.K, &alpha,
                                                  (const double *)x, g.ldx, (const double *)y,
                                                  g.ldy, &beta, (double *)c, g.ldc));
        } else {
            if (dt == LT_FLOAT32)
                LT_CUBLAS("cublasSgemmStridedBatched",
                          f->sgemm_batched(h, g.tx, g.ty, g.M, g.N, g.K, &af, (const float *)x,
                                           g.ldx, g.sx, (const float *)y, g.ldy, g.sy, &bf,
                                           (float *)c, g.ldc, g.sc, cnt));
            else
                LT_CUBLAS("cublasDgemmStridedBatched",
                          f->dgemm_batched(h, g.tx, g.ty, g.M, g.N, g.K, &alpha,
                                           (const double *)x, g.ldx, g.sx, (const double *)y,
                                           g.ldy, g.sy, &beta, (double *)c, g.ldc, g.sc, cnt));
        }
        done += cnt;
    }
    return LT_OK;
}

/* out[i] = beta * c[i] + alpha * a[i] @ b[i] on 3-D tensors whose shapes are checked */
static int gemm_batch(lt_tensor *out, double beta, const lt_tensor *c, double alpha,
                      const lt_tensor *a, const lt_tensor *b, int nd)
{
    int64_t nb = a->size[0], m = a->size[1], k = a->size[2], n = b->size[2];
    int64_t rs3[3] = {nb, m, n};
    const int64_t *rs = nd == 3 ? rs3 : rs3 + 1;
    lt_tensor *target;
    if (lt_blas_prepare_target(out, nd, rs, a, b, c, &target)) return LT_ERR;
    double bl;
    int st = lt_blas_load_c(target, c, beta, 1, &bl);
    if (st || nb == 0 || m == 0 || n == 0) return lt_blas_finish_target(out, target, st);
    if (k == 0 || alpha == 0) {
        st = lt_gpu_blas_scale(target, bl);
        return lt_blas_finish_target(out, target, st);
    }
    lt_tensor t3 = *target;
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
        gemm_desc g;
        g.K = (int)k;
        g.ldc = (int)ldc;
        g.c = (char *)lt_data(&t3);
        g.sc = nb > 1 ? t3.stride[0] : 0;
        const lt_tensor *x = ua, *y = ub;
        int cmx = cma, cmy = cmb;
        int64_t ldx = lda, ldy = ldb;
        if (cmc) {              /* column-major C (m x n) = op(A) op(B) */
            g.M = (int)m;
            g.N = (int)n;
        } else {                /* row-major C: column-major C^T (n x m) = op(B) op(A) */
            x = ub, y = ua, cmx = cmb, cmy = cma, ldx = ldb, ldy = lda;
            g.M = (int)n;
            g.N = (int)m;
        }
        g.tx = cmx == cmc ? CUBLAS_OP_N : CUBLAS_OP_T;
        g.ty = cmy == cmc ? CUBLAS_OP_N : CUBLAS_OP_T;
        g.x = (const char *)lt_data(x);
        g.y = (const char *)lt_data(y);
        g.ldx = (int)ldx;
        g.ldy = (int)ldy;
        g.sx = nb > 1 ? x->stride[0] : 0;
        g.sy = nb > 1 ? y->stride[0] : 0;
        st = run_gemm(a->dtype, g, alpha, bl, nb);
    }
    lt_tensor_release(ca);
    lt_tensor_release(cb);
    return lt_blas_finish_target(out, target, st);
}

extern "C" int lt_gpu_addmm(lt_tensor *out, double beta, const lt_tensor *c, double alpha,
                            const lt_tensor *a, const lt_tensor *b)
{
    lt_tensor a3 = *a, b3 = *b;
    lt_unsqueeze(&a3, 0);
    lt_unsqueeze(&b3, 0);
    return gemm_batch(out, beta, c, alpha, &a3, &b3, 2);
}

extern "C" int lt_gpu_baddbmm(lt_tensor *out, double beta, const lt_tensor *c, double alpha,
                              const lt_tensor *a, const lt_tensor *b)
{
    return gemm_batch(out, beta, c, alpha, a, b, 3);
}

/* ---- gemv ----------------------------------------------------------------------------------- */

extern "C" int lt_gpu_addmv(lt_tensor *out, double beta, const lt_tensor *c, double alpha,
                            const lt_tensor *m, const lt_tensor *v)
{
    int64_t rows = m->size[0], cols = m->size[1];
    lt_tensor *target;
    if (lt_blas_prepare_target(out, 1, &rows, m, v, c, &target)) return LT_ERR;
    double bl;
    /* explicit zeros for beta = 0 (as the CPU path): gemv then adds to them */
    int st = lt_blas_load_c(target, c, beta, 0, &bl);
    if (st || rows == 0) return lt_blas_finish_target(out, target, st);
    if (cols == 0 || alpha == 0)
        return lt_blas_finish_target(out, target,
                                     bl != 0 ? lt_gpu_blas_scale(target, bl) : LT_OK);
    const lt_tensor *um, *uv;
    lt_tensor *cm_copy = NULL, *cv_copy = NULL;
    st = lt_blas_operand(m, &um, &cm_copy);
    if (st == LT_OK) st = lt_blas_operand(v, &uv, &cv_copy);
    cublasHandle_t h;
    const lt_cublas_fns *f = NULL;
    if (st == LT_OK && (lt_gpu_cublas(&h) || !(f = lt_gpu_blas()))) st = LT_ERR;
    if (st == LT_OK) {
        int cm;
        int64_t ld;
        lt_blas_mat_layout(rows, cols, um->stride[0], um->stride[1], &cm, &ld);
        /* column-major m: y = m x (OP_N, rows x cols); row-major m is column-major m^T
         * (cols x rows): y = (m^T)^T x */
        cublasOperation_t op = cm ? CUBLAS_OP_N : CUBLAS_OP_T;
        int M = cm ? (int)rows : (int)cols, N = cm ? (int)cols : (int)rows;
        int incx = cols > 1 ? (int)uv->stride[0] : 1, incy = rows > 1 ? (int)target->stride[0] : 1;
        double b1 = bl == 0 ? 1 : bl;   /* target already holds zeros when bl == 0 */
        if (m->dtype == LT_FLOAT32) {
            float af = (float)alpha, bf = (float)b1;
            cublasStatus_t s = f->sgemv(h, op, M, N, &af, (const float *)lt_data(um), (int)ld,
                                        (const float *)lt_data(uv), incx, &bf,
                                        (float *)lt_data(target), incy);
            if (s != CUBLAS_STATUS_SUCCESS) st = lt_gpu_cublas_fail("cublasSgemv", s);
        } else {
            cublasStatus_t s = f->dgemv(h, op, M, N, &alpha, (const double *)lt_data(um),
                                        (int)ld, (const double *)lt_data(uv), incx, &b1,
                                        (double *)lt_data(target), incy);
            if (s != CUBLAS_STATUS_SUCCESS) st = lt_gpu_cublas_fail("cublasDgemv", s);
        }
    }
    lt_tensor_release(cm_copy);
    lt_tensor_release(cv_copy);
    return lt_blas_finish_target(out, target, st);
}

/* ---- dot: double accumulation in two deterministic passes ------------------------------- */

#define DOT_PARTS 4096

template <typename T>
__global__ void dot_partial_kernel(const T *a, int64_t sa, const T *b, int64_t sb, int64_t n,
                                   double *part, int64_t nparts)
{
    int64_t p = LT_GPU_TID();
    if (p >= nparts) return;
    double acc = 0;
    for (int64_t i = p; i < n; i += nparts) acc += (double)a[i * sa] * (double)b[i * sb];
    part[p] = acc;
}

__global__ void dot_final_kernel(const double *part, int64_t nparts, double *res)
{
    if (LT_GPU_TID() != 0) return;
    double acc = 0;
    for (int64_t p = 0; p < nparts; p++) acc += part[p];
    *res = acc;
}

/* t as a flat strided vector (stride in *s): t itself when 1-D or contiguous, else a
 * contiguous device copy in *copy. */
static int flat_vector(const lt_tensor *t, const char **data, int64_t *s, lt_tensor **copy)
{
    *copy = NULL;
    int64_t n = lt_numel(t);
    if (t->ndim == 1 && lt_blas_usable(t, 0)) {
        *data = (const char *)lt_data(t);
        *s = n > 1 ? t->stride[0] : 1;
        return LT_OK;
    }
    if (!lt_is_contiguous(t)) {
        *copy = lt_tensor_uninit_on(lt_device(t), t->dtype, t->ndim, t->size);
        if (!*copy || lt_copy(*copy, t)) return LT_ERR;
        t = *copy;
    }
    *data = (const char *)lt_data(t);
    *s = 1;
    return LT_OK;
}

extern "C" int lt_gpu_dot(double *result, const lt_tensor *a, const lt_tensor *b)
{
    int64_t n = lt_numel(a);
    *result = 0;
    if (n == 0) return LT_OK;
    const char *pa = NULL, *pb = NULL;
    int64_t sa = 1, sb = 1;
    lt_tensor *ca = NULL, *cb = NULL, *part = NULL;
    int st = flat_vector(a, &pa, &sa, &ca);
    if (st == LT_OK) st = flat_vector(b, &pb, &sb, &cb);
    int64_t nparts = n < DOT_PARTS ? n : DOT_PARTS, psize = nparts + 1;
    if (st == LT_OK && !(part = lt_tensor_uninit_on(lt_device(a), LT_FLOAT64, 1, &psize)))
        st = LT_ERR;
    if (st == LT_OK) {
        double *pp = (double *)lt_data(part);
        if (a->dtype == LT_FLOAT32)
            LT_LAUNCH(dot_partial_kernel<float>, lt_gpu_blocks(nparts), LT_GPU_THREADS,
                      (const float *)pa, sa, (const float *)pb, sb, n, pp, nparts);
        else
            LT_LAUNCH(dot_partial_kernel<double>, lt_gpu_blocks(nparts), LT_GPU_THREADS,
                      (const double *)pa, sa, (const double *)pb, sb, n, pp, nparts);
        cudaError_t e = cudaGetLastError();
        if (e != cudaSuccess) st = lt_gpu_fail("dot_partial_kernel", e);
        if (st == LT_OK) {
            LT_LAUNCH(dot_final_kernel, 1, 1, pp, nparts, pp + nparts);
            e = cudaGetLastError();
            if (e != cudaSuccess) st = lt_gpu_fail("dot_final_kernel", e);
        }
        double acc = 0;
        if (st == LT_OK) st = lt_gpu_copy_d2h(&acc, pp + nparts, sizeof acc);
        if (st == LT_OK) *result = a->dtype == LT_FLOAT32 ? (double)(float)acc : acc;
    }
    lt_tensor_release(ca);
    lt_tensor_release(cb);
    lt_tensor_release(part);
    return st;
}

/* ---- addr: t[i][j] = bl * t[i][j] + alpha * a[i] * b[j], one thread per element ------- */

template <typename T>
__global__ void ger_kernel(T *t, int64_t s0, int64_t s1, const T *a, int64_t sa, const T *b,
                           int64_t sb, int64_t m, int64_t n, T alpha, T beta)
{
    int64_t total = m * n;
    for (int64_t e = LT_GPU_TID(); e < total; e += LT_GPU_NTHREADS()) {
        int64_t i = e / n, j = e % n;
        T *d = t + i * s0 + j * s1;
        T v = beta == 0 ? (T)0 : beta * *d;
        *d = v + alpha * a[i * sa] * b[j * sb];
    }
}

extern "C" int lt_gpu_addr(lt_tensor *out, double beta, const lt_tensor *c, double alpha,
                           const lt_tensor *a, const lt_tensor *b)
{
    int64_t rs[2] = {a->size[0], b->size[0]};
    lt_tensor *target;
    if (lt_blas_prepare_target(out, 2, rs, a, b, c, &target)) return LT_ERR;
    double bl;
    int st = lt_blas_load_c(target, c, beta, 1, &bl);
    if (st || rs[0] == 0 || rs[1] == 0) return lt_blas_finish_target(out, target, st);
    if (alpha == 0) return lt_blas_finish_target(out, target, lt_gpu_blas_scale(target, bl));
    int64_t sa = a->stride[0], sb = b->stride[0];
    int64_t total = rs[0] * rs[1];
    if (a->dtype == LT_FLOAT32)
        LT_LAUNCH(ger_kernel<float>, lt_gpu_blocks(total), LT_GPU_THREADS,
                  (float *)lt_data(target), target->stride[0], target->stride[1],
                  (const float *)lt_data(a), sa, (const float *)lt_data(b), sb, rs[0], rs[1],
                  (float)alpha, (float)bl);
    else
        LT_LAUNCH(ger_kernel<double>, lt_gpu_blocks(total), LT_GPU_THREADS,
                  (double *)lt_data(target), target->stride[0], target->stride[1],
                  (const double *)lt_data(a), sa, (const double *)lt_data(b), sb, rs[0], rs[1],
                  alpha, bl);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) st = lt_gpu_fail("ger_kernel", e);
    return lt_blas_finish_target(out, target, st);
}
