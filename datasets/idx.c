/*
 * idx.c — the IDX reader (see idx.h): a byte source that is a plain file, a gzip file
 * (zlib's inflate, several members allowed) or a memory buffer; the header parser with
 * its checks; and the big-endian element conversion, done in place in the tensor's storage
 * so the data is decompressed straight into the result with no intermediate buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ZLIB_CONST      /* next_in is const: memory input needs no cast */
#include <zlib.h>

#include "idx.h"

/* Deflate cannot expand more than 1032:1 (a 258-byte match in 2 bits); the slack covers
 * headers. A declared size beyond this is refused before anything is allocated. */
#define GZ_MAX_RATIO 1032
#define GZ_SLACK 4096
#define INBUF_SIZE (1 << 20)
#define ZCHUNK (1u << 30)       /* zlib counts in uInt */

typedef struct {
    const char *name;
    FILE *f;                    /* a file, or NULL: the memory buffer below */
    const unsigned char *mem;
    size_t memlen, mempos;      /* raw memory mode reads from mempos          */
    int64_t insize;             /* bytes of the file (compressed when gz)     */
    int gz, zinit, zend;        /* zend: between gzip members                 */
    z_stream zs;
    unsigned char *buf;         /* file input buffer for inflate              */
} source;

/* ---- input: refill zlib's input from the file or the memory buffer ---------------------- */

static int refill(source *s)
{
    if (!s->f) {      /* memory: hand over the rest at once (in 1 GiB pieces for zlib) */
        if (s->zs.avail_in == 0 && s->mempos < s->memlen) {
            size_t k = s->memlen - s->mempos;
            if (k > ZCHUNK) k = ZCHUNK;
            s->zs.next_in = s->mem + s->mempos;
            s->zs.avail_in = (uInt)k;
            s->mempos += k;
        }
        return LT_OK;
    }
    size_t have = s->zs.avail_in;
    if (have && s->zs.next_in != s->buf) memmove(s->buf, s->zs.next_in, have);
    size_t k = fread(s->buf + have, 1, INBUF_SIZE - have, s->f);
    if (k == 0 && ferror(s->f)) return lt_error("%s: read error: %s", s->name, strerror(errno));
    s->zs.next_in = s->buf;
    s->zs.avail_in = (uInt)(have + k);
    return LT_OK;
}

/* At the end of a gzip member: 1 when another member follows (inflate reset), 0 at the
 * end of the input, LT_ERR on anything else after the stream. */
static int next_member(source *s)
{
    if (s->zs.avail_in < 2 && refill(s)) return LT_ERR;
    if (s->zs.avail_in == 0) return 0;
    if (s->zs.avail_in < 2 || s->zs.next_in[0] != 0x1f || s->zs.next_in[1] != 0x8b)
        return lt_error("%s: trailing garbage after the gzip data", s->name);
    if (inflateReset(&s->zs) != Z_OK) return lt_error("%s: zlib: inflateReset failed", s->name);
    s->zend = 0;
    return 1;
}

static int64_t gz_read(source *s, unsigned char *dst, int64_t n)
{
    int64_t got = 0;
    while (got < n) {
        if (s->zend) {
            int more = next_member(s);
            if (more <= 0) return more < 0 ? LT_ERR : got;
        }
        if (s->zs.avail_in == 0) {
            if (refill(s)) return LT_ERR;
            if (s->zs.avail_in == 0)
                return lt_error("%s: corrupt gzip data: unexpected end of file (truncated)",
                                s->name);
        }
        uInt chunk = n - got > ZCHUNK ? ZCHUNK : (uInt)(n - got);
        s->zs.next_out = dst + got;
        s->zs.avail_out = chunk;
        int r = inflate(&s->zs, Z_NO_FLUSH);
        got += chunk - s->zs.avail_out;
        switch (r) {
        case Z_OK: break;
        case Z_STREAM_END: s->zend = 1; break;
        case Z_BUF_ERROR: break;                  /* needs input: refilled at the top */
        case Z_MEM_ERROR: return lt_error("%s: out of memory in zlib", s->name);
        default:
            return lt_error("%s: corrupt gzip data (%s)", s->name,
                            s->zs.msg ? s->zs.msg : "invalid stream");
        }
    }
    return got;
}

/* Reads up to n bytes; returns how many (fewer only at the end of the data) or LT_ERR. */
static int64_t src_read(source *s, void *dst, int64_t n)
{
    if (s->gz) return gz_read(s, dst, n);
    if (!s->f) {
        size_t k = s->memlen - s->mempos;
        if ((uint64_t)n < k) k = (size_t)n;
        memcpy(dst, s->mem + s->mempos, k);
        s->mempos += k;
        return (int64_t)k;
    }
    size_t k = fread(dst, 1, (size_t)n, s->f);
    if (k < (size_t)n && ferror(s->f))
        return lt_error("%s: read error: %s", s->name, strerror(errno));
    return (int64_t)k;
}

/* Decides between gzip and plain by the first two bytes. */
static int src_start(source *s)
{
    unsigned char m[2] = {0, 0};
    size_t k;
    if (s->f) {
        k = fread(m, 1, 2, s->f);
        if (ferror(s->f)) return lt_error("%s: read error: %s", s->name, strerror(errno));
        rewind(s->f);
    } else {
        k = s->memlen < 2 ? s->memlen : 2;
        memcpy(m, s->mem, k);
    }
    s->gz = k == 2 && m[0] == 0x1f && m[1] == 0x8b;
    if (!s->gz) return LT_OK;
    if (s->f && !(s->buf = malloc(INBUF_SIZE))) return lt_error("%s: out of memory", s->name);
    if (inflateInit2(&s->zs, 16 + MAX_WBITS) != Z_OK)     /* 16: gzip wrapper only */
        return lt_error("%s: zlib initialisation failed", s->name);
    s->zinit = 1;
    return LT_OK;
}

static void src_close(source *s)
{
    if (s->zinit) inflateEnd(&s->zs);
    free(s->buf);
    if (s->f) fclose(s->f);
}

/* ---- header and elements ------------------------------------------------------------------ */

static const char *type_name(int code)
{
    switch (code) {
    case LT_IDX_UBYTE: return "ubyte";
    case LT_IDX_BYTE: return "byte";
    case LT_IDX_SHORT: return "short";
    case LT_IDX_INT: return "int";
    case LT_IDX_FLOAT: return "float";
    case LT_IDX_DOUBLE: return "double";
    default: return NULL;
    }
}

static int type_info(int code, lt_dtype *dt, size_t *elsize)
{
    switch (code) {
    case LT_IDX_UBYTE: *dt = LT_UINT8; *elsize = 1; return 1;
    case LT_IDX_BYTE: *dt = LT_INT64; *elsize = 1; return 1;
    case LT_IDX_SHORT: *dt = LT_INT64; *elsize = 2; return 1;
    case LT_IDX_INT: *dt = LT_INT64; *elsize = 4; return 1;
    case LT_IDX_FLOAT: *dt = LT_FLOAT32; *elsize = 4; return 1;
    case LT_IDX_DOUBLE: *dt = LT_FLOAT64; *elsize = 8; return 1;
    default: return 0;
    }
}

static uint64_t be(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

/* The raw big-endian elements sit at the start of data; widen/swap them in place. Widening
 * runs from the last element down: element i's result occupies bytes at or after its
 * source, which is never needed again. */
static void convert(void *data, int64_t n, int code)
{
    unsigned char *raw = data;
    switch (code) {
    case LT_IDX_UBYTE: break;
    case LT_IDX_BYTE:
        for (int64_t i = n - 1; i >= 0; i--) {
            int64_t v = (int8_t)raw[i];
            memcpy(raw + 8 * i, &v, 8);
        }
        break;
    case LT_IDX_SHORT:
        for (int64_t i = n - 1; i >= 0; i--) {
            int64_t v = (int16_t)(uint16_t)be(raw + 2 * i, 2);
            memcpy(raw + 8 * i, &v, 8);
        }
        break;
    case LT_IDX_INT:
        for (int64_t i = n - 1; i >= 0; i--) {
            int64_t v = (int32_t)(uint32_t)be(raw + 4 * i, 4);
            memcpy(raw + 8 * i, &v, 8);
        }
        break;
    case LT_IDX_FLOAT:
        for (int64_t i = 0; i < n; i++) {
            uint32_t v = (uint32_t)be(raw + 4 * i, 4);
            memcpy(raw + 4 * i, &v, 4);
        }
        break;
    case LT_IDX_DOUBLE:
        for (int64_t i = 0; i < n; i++) {
            uint64_t v = be(raw + 8 * i, 8);
            memcpy(raw + 8 * i, &v, 8);
        }
        break;
    }
}

static int read_idx(lt_tensor **out, source *s, int expect_ndim)
{
    const char *nm = s->name;
    unsigned char hdr[4 + 4 * 255];
    int64_t k = src_read(s, hdr, 4);
    if (k < 0) return LT_ERR;
    if (k < 4) return lt_error("%s: truncated: %lld bytes, too short for an IDX header", nm,
                               (long long)k);
    uint32_t magic = (uint32_t)be(hdr, 4);
    int code = hdr[2], ndim = hdr[3];
    if (hdr[0] || hdr[1])
        return lt_error("%s: bad magic number 0x%08x: not an IDX file (expected 0x0000TTNN: "
                        "element type TT, NN dims)", nm, magic);
    lt_dtype dt;
    size_t elsize;
    if (!type_info(code, &dt, &elsize))
        return lt_error("%s: unsupported IDX element type 0x%02x (magic 0x%08x); expected "
                        "0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float or 0x0E double",
                        nm, code, magic);
    if (ndim == 0) return lt_error("%s: IDX header declares 0 dimensions", nm);
    if (expect_ndim > 0 && ndim != expect_ndim)
        return lt_error("%s: wrong number of dimensions: expected %d, the file declares %d",
                        nm, expect_ndim, ndim);
    if (ndim > LT_MAXDIM)
        return lt_error("%s: IDX header declares %d dimensions, at most %d are supported", nm,
                        ndim, LT_MAXDIM);
    k = src_read(s, hdr + 4, 4 * (int64_t)ndim);
    if (k < 0) return LT_ERR;
    if (k < 4 * ndim)
        return lt_error("%s: truncated: the IDX header ends inside its %d dimension sizes", nm,
                        ndim);
    int64_t size[LT_MAXDIM], numel = 1;
    int overflow = 0;
    for (int i = 0; i < ndim; i++) {
        size[i] = (int64_t)be(hdr + 4 + 4 * i, 4);
        if (size[i] > INT32_MAX)
            return lt_error("%s: absurd size %lld for dimension %d", nm, (long long)size[i],
                            i + 1);
        if (size[i] && numel > (INT64_MAX / 16) / size[i]) overflow = 1;
        else numel *= size[i];
    }
    char shape[LT_SHAPE_BUFSZ];
    lt_shape_str(shape, sizeof shape, ndim, size);
    if (overflow) return lt_error("%s: absurd declared sizes [%s]", nm, shape);
    int64_t hdrbytes = 4 + 4 * (int64_t)ndim, databytes = numel * (int64_t)elsize;
    /* refuse what the file cannot hold before allocating anything for it */
    if (s->gz) {
        if ((databytes - GZ_SLACK) / GZ_MAX_RATIO > s->insize)
            return lt_error("%s: declared sizes [%s] (%lld bytes of %s) are more than a "
                            "%lld-byte gzip file can hold: truncated or corrupt header", nm,
                            shape, (long long)databytes, type_name(code), (long long)s->insize);
    } else if (hdrbytes + databytes > s->insize) {
        return lt_error("%s: truncated: declared sizes [%s] need %lld bytes of %s data, the "
                        "file has %lld", nm, shape, (long long)databytes, type_name(code),
                        (long long)(s->insize - hdrbytes));
    } else if (hdrbytes + databytes < s->insize) {
        return lt_error("%s: trailing garbage: %lld bytes after the declared [%s] %s data", nm,
                        (long long)(s->insize - hdrbytes - databytes), shape, type_name(code));
    }
    lt_tensor *t = lt_tensor_new_uninit(dt, ndim, size);
    if (!t) return lt_error("%s: %s", nm, lt_errmsg());
    int64_t got = databytes ? src_read(s, lt_data(t), databytes) : 0;
    if (got >= 0 && got < databytes)
        got = lt_error("%s: truncated: the data ends after %lld of the %lld bytes declared by "
                       "[%s] %s", nm, (long long)got, (long long)databytes, shape,
                       type_name(code));
    unsigned char extra;
    if (got >= 0 && s->gz) {      /* reaches the end of the stream: checks CRC and length */
        int64_t more = src_read(s, &extra, 1);
        if (more > 0)
            got = lt_error("%s: trailing garbage: more data after the declared [%s] %s "
                           "elements", nm, shape, type_name(code));
        else if (more < 0)
            got = LT_ERR;
    }
    if (got < 0) {
        lt_tensor_release(t);
        return LT_ERR;
    }
    convert(lt_data(t), numel, code);
    *out = t;
    return LT_OK;
}

int lt_idx_read(lt_tensor **out, const char *path, int expect_ndim)
{
    source s;
    memset(&s, 0, sizeof s);
    s.name = path;
    *out = NULL;
    s.f = fopen(path, "rb");
    if (!s.f) return lt_error("%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(s.f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(s.f);
        return lt_error("%s: not a regular file", path);
    }
    s.insize = st.st_size;
    int r = src_start(&s);
    if (r == LT_OK) r = read_idx(out, &s, expect_ndim);
    src_close(&s);
    return r;
}

int lt_idx_read_mem(lt_tensor **out, const void *data, size_t len, const char *name,
                    int expect_ndim)
{
    source s;
    memset(&s, 0, sizeof s);
    s.name = name;
    s.mem = data;
    s.memlen = len;
    s.insize = (int64_t)len;
    *out = NULL;
    int r = src_start(&s);
    if (r == LT_OK) r = read_idx(out, &s, expect_ndim);
    src_close(&s);
    return r;
}
