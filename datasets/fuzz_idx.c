/*
 * fuzz_idx.c — libFuzzer harness for the IDX reader (`make fuzz`). Each input is read as an
 * IDX file from memory, with and without a required number of dims; then gzip-compressed
 * (zlib itself is not instrumented, so the fuzzer would rarely build valid deflate data) and
 * read again, whole, truncated and with one byte flipped. Checked: the reader returns LT_OK
 * with a tensor covering its elements, or LT_ERR with a message naming the input; the plain
 * and the gzip read agree (both fail, or both give the same bytes); a truncated or corrupted
 * gzip stream never yields a tensor that differs from the original. Crashes, leaks and
 * allocations the data cannot justify (-malloc_limit_mb) are caught by the sanitizers.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t nbytes(const lt_tensor *t) { return (size_t)lt_numel(t) * lt_dtype_size(t->dtype); }

/* Reads buf; returns the tensor or NULL, trapping on a broken contract. */
static lt_tensor *read_checked(const uint8_t *buf, size_t len, int nd)
{
    lt_tensor *t = NULL;
    int r = lt_idx_read_mem(&t, buf, len, "fuzz", nd);
    if (r == LT_OK) {
        if (!t || (lt_numel(t) > 0 && !lt_is_contiguous(t))) __builtin_trap();
        volatile uint8_t sink = 0;       /* touch every byte: ASan checks the extent */
        const uint8_t *p = lt_data(t);
        for (size_t i = 0, n = nbytes(t); i < n; i++) sink ^= p[i];
        (void)sink;
        return t;
    }
    if (t || strncmp(lt_errmsg(), "fuzz: ", 6)) __builtin_trap();
    return NULL;
}

static int same(const lt_tensor *a, const lt_tensor *b)
{
    if (!a || !b) return a == b;
    if (a->dtype != b->dtype || !lt_same_shape(a, b)) return 0;
    return !memcmp(lt_data(a), lt_data(b), nbytes(a));
}

static uint8_t *gzip(const uint8_t *data, size_t size, size_t *outlen)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t cap = deflateBound(&zs, (uLong)size);
    uint8_t *out = malloc(cap);
    if (!out) { deflateEnd(&zs); return NULL; }
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)size;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    int r = deflate(&zs, Z_FINISH);
    *outlen = zs.total_out;
    deflateEnd(&zs);
    if (r != Z_STREAM_END) { free(out); return NULL; }
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lt_tensor *plain3 = read_checked(data, size, 3);
    lt_tensor *plain = read_checked(data, size, 0);
    if (plain3 && !same(plain3, plain)) __builtin_trap();
    if (plain3) lt_tensor_release(plain3);
    /* a plain file starting with the gzip magic is read as gzip: nothing to compare */
    int comparable = !(size >= 2 && data[0] == 0x1f && data[1] == 0x8b);
    size_t gzlen;
    uint8_t *gz = gzip(data, size, &gzlen);
    if (gz) {
        lt_tensor *g = read_checked(gz, gzlen, 0);
        if (comparable && !same(plain, g)) __builtin_trap();
        if (g) lt_tensor_release(g);
        uint32_t h = 2166136261u;        /* where to cut and which byte to flip */
        for (size_t i = 0; i < size; i++) h = (h ^ data[i]) * 16777619u;
        g = read_checked(gz, h % gzlen, 0);                  /* truncated: must fail */
        if (g) __builtin_trap();
        size_t pos = 10 + h % (gzlen - 10);                  /* past the gzip header */
        gz[pos] ^= (uint8_t)(1u << (h >> 29));
        g = read_checked(gz, gzlen, 0);        /* corrupted: fails, or gives the same data */
        if (g && comparable && !same(plain, g)) __builtin_trap();
        if (g) lt_tensor_release(g);
        free(gz);
    }
    if (plain) lt_tensor_release(plain);
    return 0;
}
