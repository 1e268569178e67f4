/*
 * random.cu — uniform, normal, bernoulli and integer (random) fills of device tensors with the CPU's generator
 * (core/random.c): the same Philox4x32-10, the same (seed, offset) state, the same counters
 * per element and the same transforms, so that after torch.manualSeed(s) a device draw holds
 * the numbers the same draw on the host would, and the host's next draw continues after it.
 *
 * A draw of n values reserves the counters offset .. offset + ceil(n / PER) - 1 (PER values
 * per counter: 4 for 32-bit words, 2 for 53-bit doubles and Box-Muller pairs, 1 for the
 * 128-bit words of integers in a range, rand_int); value i comes
 * from counter offset + i / PER, word(s) i % PER. One thread per counter writes its PER
 * values into a contiguous block (a non-contiguous tensor is filled through a temporary).
 *
 * Floating point: the transforms use explicitly rounded multiplies and adds (no contraction
 * into FMAs, which the host build never does either), so uniform and bernoulli values are
 * bit for bit the host's. Normals go through the device's log, sqrt, sin and cos, which may
 * differ from glibc's in the last bit of a double (sqrt is exact; log within 1 ulp, sin/cos
 * within 2): float32 normals match the host except on rare rounding ties, float64 ones to a
 * few ulps.
 */
#include <math.h>

#include "gpu_internal.h"

extern "C" {
#include "../core/philox.h"
}

/* ---- the host's transforms, rounded as the host rounds (no FMA contraction) --------------- */

#ifdef LT_CUDA_EMU
LT_HD double rn_mul(double a, double b) { return a * b; }
LT_HD double rn_add(double a, double b) { return a + b; }
#else
__device__ __forceinline__ double rn_mul(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ double rn_add(double a, double b) { return __dadd_rn(a, b); }
#endif

/* ---- kernels: thread c fills values c * PER .. c * PER + PER - 1 (those below n) ---------- */

enum gen_kind { GEN_UNIFORM, GEN_NORMAL, GEN_BERNOULLI, GEN_INT };

/* uniform values exist for the float types only (core/random.c refuses the others) */
template <typename T> struct gen_value {
    static __device__ __forceinline__ T uniform(const uint32_t *, int, double, double) { return 0; }
};
template <> struct gen_value<float> {
    static __device__ __forceinline__ float uniform(const uint32_t *w, int j, double a, double b)
    {
        float v = (float)rn_add(a, rn_mul(b - a, (double)lt_philox_u24(w[j])));
        float hf = (float)b, lf = (float)a;
        return v >= hf && hf > lf ? nextafterf(hf, lf) : v;
    }
};
template <> struct gen_value<double> {
    static __device__ __forceinline__ double uniform(const uint32_t *w, int j, double a, double b)
    {
        double v = rn_add(a, rn_mul(b - a, lt_philox_u53(w[2 * j], w[2 * j + 1])));
        return v >= b && b > a ? nextafter(b, a) : v;
    }
};

template <typename T, int KIND>
__global__ void gen_kernel(T *d, int64_t n, uint64_t seed, uint64_t base, double a, double b)
{
    const int per = KIND == GEN_NORMAL ? 2 : KIND == GEN_BERNOULLI ? 4 : (sizeof(T) == 4 ? 4 : 2);
    int64_t ncounters = (n + per - 1) / per;
    for (int64_t c = LT_GPU_TID(); c < ncounters; c += LT_GPU_NTHREADS()) {
        uint32_t w[4];
        lt_philox_at(seed, base + (uint64_t)c, w);
        int64_t i0 = c * per;
        if (KIND == GEN_NORMAL) {
            double u1 = 1.0 - lt_philox_u53(w[0], w[1]);
            double r = sqrt(-2.0 * log(u1));
            double th = rn_mul(2.0 * M_PI, lt_philox_u53(w[2], w[3]));
            double z[2] = {rn_mul(r, cos(th)), rn_mul(r, sin(th))};
            for (int j = 0; j < 2 && i0 + j < n; j++) d[i0 + j] = (T)rn_add(a, rn_mul(b, z[j]));
        } else if (KIND == GEN_BERNOULLI) {
            for (int j = 0; j < 4 && i0 + j < n; j++)
                d[i0 + j] = (T)(lt_philox_u32d(w[j]) < a);
        } else {
            for (int j = 0; j < per && i0 + j < n; j++)
                d[i0 + j] = (T)gen_value<T>::uniform(w, j, a, b);
        }
    }
}

/* floor(x * range / 2^128) for the 128-bit x in w (core/random.c's bounded); range == 0
 * stands for 2^64 */
__device__ __forceinline__ uint64_t mulhi64(uint64_t a, uint64_t b)
{
#ifdef LT_CUDA_EMU
    return (uint64_t)(((unsigned __int128)a * b) >> 64);
#else
    return __umul64hi(a, b);
#endif
}
__device__ __forceinline__ uint64_t bounded(const uint32_t w[4], uint64_t range)
{
    uint64_t hi = ((uint64_t)w[0] << 32) | w[1], lo = ((uint64_t)w[2] << 32) | w[3];
    if (range == 0) return hi;
    uint64_t ph_hi = mulhi64(hi, range), ph_lo = hi * range, t = mulhi64(lo, range);
    return ph_hi + (ph_lo + t < ph_lo);   /* the high word of hi * range + t */
}

/* integers lo + [0, range): one counter per value */
template <typename T>
__global__ void int_kernel(T *d, int64_t n, uint64_t seed, uint64_t base, int64_t lo,
                           uint64_t range)
{
    for (int64_t i = LT_GPU_TID(); i < n; i += LT_GPU_NTHREADS()) {
        uint32_t w[4];
        lt_philox_at(seed, base + (uint64_t)i, w);
        d[i] = (T)(int64_t)((uint64_t)lo + bounded(w, range));
    }
}

template <typename T, int KIND>
static int launch_gen(void *d, int64_t n, uint64_t seed, uint64_t base, double a, double b,
                      int per)
{
    int64_t ncounters = (n + per - 1) / per;
    auto k = gen_kernel<T, KIND>;
    LT_LAUNCH(k, lt_gpu_blocks(ncounters), LT_GPU_THREADS, (T *)d, n, seed, base, a, b);
    LT_CHECK_LAUNCH("gen_kernel");
    return LT_OK;
}

template <int KIND>
static int launch_kind(lt_dtype dt, void *d, int64_t n, uint64_t seed, uint64_t base, double a,
                       double b, int per)
{
    switch (dt) {
    case LT_FLOAT32: return launch_gen<float, KIND>(d, n, seed, base, a, b, per);
    case LT_FLOAT64: return launch_gen<double, KIND>(d, n, seed, base, a, b, per);
    case LT_INT64: return launch_gen<int64_t, KIND>(d, n, seed, base, a, b, per);
    default: return launch_gen<uint8_t, KIND>(d, n, seed, base, a, b, per);
    }
}

/* One draw into t (checked by core/random.c): reserves the counters on the host's state and
 * fills t in its logical (row-major) order. */
static int launch_int(lt_dtype dt, void *d, int64_t n, uint64_t seed, uint64_t base, int64_t lo,
                      uint64_t range)
{
    unsigned nb = lt_gpu_blocks(n);
    switch (dt) {
    case LT_FLOAT32: LT_LAUNCH(int_kernel<float>, nb, LT_GPU_THREADS, (float *)d, n, seed, base, lo, range); break;
    case LT_FLOAT64: LT_LAUNCH(int_kernel<double>, nb, LT_GPU_THREADS, (double *)d, n, seed, base, lo, range); break;
    case LT_INT64: LT_LAUNCH(int_kernel<int64_t>, nb, LT_GPU_THREADS, (int64_t *)d, n, seed, base, lo, range); break;
    default: LT_LAUNCH(int_kernel<uint8_t>, nb, LT_GPU_THREADS, (uint8_t *)d, n, seed, base, lo, range); break;
    }
    LT_CHECK_LAUNCH("int_kernel");
    return LT_OK;
}

static int fill(lt_tensor *t, int kind, int per, double a, double b, int64_t ilo = 0,
                uint64_t irange = 0)
{
    if (lt_is_expanded(t)) return lt_error("cannot write into an expanded tensor (clone it first)");
    int64_t n = lt_numel(t);
    if (kind == GEN_INT) per = 1;
    lt_rng_state s = lt_rng_get_state();
    uint64_t base = s.offset;
    s.offset += (uint64_t)((n + per - 1) / per);
    lt_rng_set_state(s);
    if (n == 0) return LT_OK;
    lt_tensor *tmp = NULL, *dst = t;
    if (!lt_is_contiguous(t)) {
        tmp = lt_tensor_uninit_on(lt_device(t), t->dtype, t->ndim, t->size);
        if (!tmp) return LT_ERR;
        dst = tmp;
    }
    void *d = lt_data(dst);
    int st;
    switch (kind) {
    case GEN_UNIFORM: st = launch_kind<GEN_UNIFORM>(t->dtype, d, n, s.seed, base, a, b, per); break;
    case GEN_NORMAL: st = launch_kind<GEN_NORMAL>(t->dtype, d, n, s.seed, base, a, b, per); break;
    case GEN_INT: st = launch_int(t->dtype, d, n, s.seed, base, ilo, irange); break;
    default: st = launch_kind<GEN_BERNOULLI>(t->dtype, d, n, s.seed, base, a, b, per); break;
    }
    if (tmp) {
        if (st == LT_OK) st = lt_copy(t, tmp);
        lt_tensor_release(tmp);
    } else if (st == LT_OK) {
        lt_storage_bump(t);
    }
    return st;
}

extern "C" int lt_gpu_rand_uniform(lt_tensor *t, double lo, double hi)
{
    return fill(t, GEN_UNIFORM, t->dtype == LT_FLOAT32 ? 4 : 2, lo, hi);
}

extern "C" int lt_gpu_rand_normal(lt_tensor *t, double mean, double std)
{
    return fill(t, GEN_NORMAL, 2, mean, std);
}

extern "C" int lt_gpu_rand_bernoulli(lt_tensor *t, double p)
{
    return fill(t, GEN_BERNOULLI, 4, p, 0);
}

extern "C" int lt_gpu_rand_int(lt_tensor *t, int64_t lo, int64_t hi)
{
    return fill(t, GEN_INT, 1, 0, 0, lo, (uint64_t)hi - (uint64_t)lo + 1);
}
