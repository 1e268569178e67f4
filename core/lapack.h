/*
 * lapack.h — the Fortran LAPACK routines core/linalg.c calls, as OpenBLAS exports them
 * (libopenblas carries LAPACK: no other library is linked).
 *
 * Fortran conventions: every argument by pointer, matrices column-major with a leading
 * dimension, INTEGER is a C int (OpenBLAS's default LP64 build, which Debian ships), and each
 * CHARACTER argument adds a hidden length argument at the END of the list (gfortran passes it
 * as size_t since GCC 8; we always pass 1). Leaving the hidden lengths out happens to work
 * but is undefined behaviour that newer GCCs break with tail calls, so they are declared.
 * s* routines take float, d* double; the names carry gfortran's trailing underscore.
 */
#ifndef LT_LAPACK_H
#define LT_LAPACK_H

#include <stddef.h>

/* LU with partial pivoting: A (m, n) = P L U, in place; ipiv (min(m, n)) 1-based rows */
void sgetrf_(const int *m, const int *n, float *a, const int *lda, int *ipiv, int *info);
void dgetrf_(const int *m, const int *n, double *a, const int *lda, int *ipiv, int *info);
/* inverse from getrf's factors, in place; lwork = -1 asks for the best lwork in work[0] */
void sgetri_(const int *n, float *a, const int *lda, const int *ipiv, float *work,
             const int *lwork, int *info);
void dgetri_(const int *n, double *a, const int *lda, const int *ipiv, double *work,
             const int *lwork, int *info);
/* A X = B: A (n, n) becomes its LU, B (n, nrhs) becomes X */
void sgesv_(const int *n, const int *nrhs, float *a, const int *lda, int *ipiv, float *b,
            const int *ldb, int *info);
void dgesv_(const int *n, const int *nrhs, double *a, const int *lda, int *ipiv, double *b,
            const int *ldb, int *info);
/* Cholesky: the uplo triangle of A (n, n) becomes L (A = L L^T) or U (A = U^T U) */
void spotrf_(const char *uplo, const int *n, float *a, const int *lda, int *info, size_t);
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info, size_t);
/* QR: A (m, n) becomes R above the diagonal and Householder vectors below, tau (min(m, n)) */
void sgeqrf_(const int *m, const int *n, float *a, const int *lda, float *tau, float *work,
             const int *lwork, int *info);
void dgeqrf_(const int *m, const int *n, double *a, const int *lda, double *tau, double *work,
             const int *lwork, int *info);
/* the first n columns of Q (m, n) from geqrf's k reflectors, in place */
void sorgqr_(const int *m, const int *n, const int *k, float *a, const int *lda,
             const float *tau, float *work, const int *lwork, int *info);
void dorgqr_(const int *m, const int *n, const int *k, double *a, const int *lda,
             const double *tau, double *work, const int *lwork, int *info);
/* SVD by divide and conquer: A (m, n) = U diag(s) VT; jobz 'S': reduced, 'A': full, 'N': s */
void sgesdd_(const char *jobz, const int *m, const int *n, float *a, const int *lda, float *s,
             float *u, const int *ldu, float *vt, const int *ldvt, float *work,
             const int *lwork, int *iwork, int *info, size_t);
void dgesdd_(const char *jobz, const int *m, const int *n, double *a, const int *lda, double *s,
             double *u, const int *ldu, double *vt, const int *ldvt, double *work,
             const int *lwork, int *iwork, int *info, size_t);
/* symmetric eigenproblem by divide and conquer: w ascending; jobz 'V': A becomes the
 * eigenvectors (columns); uplo: which triangle of A is read */
void ssyevd_(const char *jobz, const char *uplo, const int *n, float *a, const int *lda,
             float *w, float *work, const int *lwork, int *iwork, const int *liwork, int *info,
             size_t, size_t);
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
             double *w, double *work, const int *lwork, int *iwork, const int *liwork,
             int *info, size_t, size_t);

#endif /* LT_LAPACK_H */
