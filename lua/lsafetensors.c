/*
 * lsafetensors.c — torch.saveSafetensors / torch.loadSafetensors: the `.safetensors` format
 * of Hugging Face, which PyTorch and most frameworks read.
 *
 * A file is an 8-byte little-endian header length N, N bytes of JSON, then the raw
 * little-endian tensor data. The JSON object maps each tensor name to {"dtype": "F32",
 * "shape": [2, 3], "data_offsets": [begin, end]} (byte offsets into the data section) and may
 * hold "__metadata__": {string: string}. luatorch reads and writes F32, F64, I64 and U8.
 *
 * The JSON is parsed and printed by libcjson. Loading validates everything against the file
 * before any tensor is made: the header length, the JSON, each dtype and shape, that each
 * byte range has exactly the size its shape and dtype need and lies inside the data, and
 * that the ranges neither overlap nor leave gaps (as the reference implementation requires).
 * Writing is atomic (core/fileio.c) and pads the header with spaces to a multiple of 8, as
 * the reference writer does, so the data stays aligned.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_lua.h"

#define ST_MAX_HEADER (100 * 1000 * 1000)   /* the reference implementation's limit */
#define ST_BOX_MT "torch.safetensors.box"

static const char *st_dtypes[LT_NDTYPES] = {"F32", "F64", "I64", "U8", "BF16"};

/* Raises a message without a position: the Lua front adds its caller's (error(msg, 2)). */
static int raise(lua_State *L, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    return lua_error(L);
}

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

typedef struct {
    const char *name;      /* points into the Lua table's key or the cJSON tree */
    lt_tensor  *t;         /* saving                                             */
    lt_dtype    dtype;     /* loading                                            */
    int         ndim;
    int64_t     size[LT_MAXDIM];
    int64_t     begin, end;
} st_entry;

/* Everything C-allocated while saving or loading lives in one box, freed by its __gc, so a
 * Lua error at any point leaks nothing. */
typedef struct {
    unsigned char *file;   /* loading: the whole file     */
    int64_t        fsize;
    cJSON         *json;
    char          *text;   /* saving: the printed header  */
    st_entry      *e;
    int            n;
    const char   **meta;   /* saving: key, value pairs    */
    int            nmeta;
    lt_afile      *out;
    lt_tensor     *tmp;
} st_box;

static void box_clear(st_box *b)
{
    free(b->file);
    cJSON_Delete(b->json);
    free(b->text);
    free(b->e);
    free(b->meta);
    lt_afile_abort(b->out);
    lt_tensor_release(b->tmp);
    memset(b, 0, sizeof *b);
}

static int box_gc(lua_State *L)
{
    box_clear(luaL_checkudata(L, 1, ST_BOX_MT));
    return 0;
}

static st_box *push_box(lua_State *L)
{
    st_box *b = lua_newuserdatauv(L, sizeof *b, 0);
    memset(b, 0, sizeof *b);
    luaL_setmetatable(L, ST_BOX_MT);
    return b;
}

/* The reference writer's order: wider dtypes first, then by name, so that every tensor's
 * data is aligned to its element size (the data section starts 8-byte aligned). */
static int by_width_name(const void *a, const void *b)
{
    const st_entry *x = a, *y = b;
    size_t wx = lt_dtype_size(x->t->dtype), wy = lt_dtype_size(y->t->dtype);
    if (wx != wy) return wx > wy ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int by_begin(const void *a, const void *b)
{
    const st_entry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static cJSON *json_int(int64_t v)
{
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)v);
    return cJSON_CreateRaw(num);     /* exact integers, never 1e+15 */
}

/* Builds the header JSON (no Lua calls: failures are reported by status). */
static int build_header(st_box *b)
{
    cJSON *root = b->json = cJSON_CreateObject();
    if (!root) return lt_error("out of memory");
    if (b->nmeta > 0) {
        cJSON *m = cJSON_CreateObject();
        if (!m || !cJSON_AddItemToObject(root, "__metadata__", m)) {
            cJSON_Delete(m);
            return lt_error("out of memory");
        }
        for (int i = 0; i < b->nmeta; i++)
            if (!cJSON_AddStringToObject(m, b->meta[2 * i], b->meta[2 * i + 1]))
                return lt_error("out of memory");
    }
    int64_t offset = 0;
    for (int i = 0; i < b->n; i++) {
        st_entry *e = &b->e[i];
        lt_tensor *t = e->t;
        e->begin = offset;
        e->end = offset += lt_numel(t) * (int64_t)lt_dtype_size(t->dtype);
        /* each item belongs to its parent as soon as it is added: one cJSON_Delete of the
         * root (box_clear) frees whatever was built */
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToObject(root, e->name, o)) {
            cJSON_Delete(o);
            return lt_error("out of memory");
        }
        if (!cJSON_AddStringToObject(o, "dtype", st_dtypes[t->dtype])) return lt_error("out of memory");
        cJSON *shape = cJSON_AddArrayToObject(o, "shape");
        cJSON *offs = cJSON_AddArrayToObject(o, "data_offsets");
        if (!shape || !offs) return lt_error("out of memory");
        int64_t nums[LT_MAXDIM + 2];
        for (int d = 0; d < t->ndim; d++) nums[d] = t->size[d];
        nums[t->ndim] = e->begin;
        nums[t->ndim + 1] = e->end;
        for (int d = 0; d < t->ndim + 2; d++) {
            cJSON *x = json_int(nums[d]);
            if (!x || !cJSON_AddItemToArray(d < t->ndim ? shape : offs, x)) {
                cJSON_Delete(x);
                return lt_error("out of memory");
            }
        }
    }
    b->text = cJSON_PrintUnformatted(root);
    if (!b->text) return lt_error("out of memory");
    return LT_OK;
}

static int write_file(st_box *b, const char *path)
{
    size_t n = strlen(b->text);
    size_t padded = (n + 7) / 8 * 8;     /* data starts 8-byte aligned */
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    if (!(b->out = lt_afile_open(path))) return LT_ERR;
    static const char spaces[8] = "        ";
    if (lt_afile_write(b->out, len, 8) || lt_afile_write(b->out, b->text, n) ||
        lt_afile_write(b->out, spaces, padded - n))
        return LT_ERR;
    for (int i = 0; i < b->n; i++) {
        const lt_tensor *t = b->e[i].t;
        size_t nbytes = (size_t)(b->e[i].end - b->e[i].begin);
        if (nbytes == 0) continue;
        if (lt_is_contiguous(t) && lt_device(t) == LT_CPU) {
            if (lt_afile_write(b->out, lt_data(t), nbytes)) return LT_ERR;
            continue;
        }
        /* views, transposes and expands are written in row-major order; device tensors from
         * a host copy */
        if (!(b->tmp = lt_tensor_empty(t->dtype)) || lt_to_device(b->tmp, t, LT_CPU) ||
            lt_afile_write(b->out, lt_data(b->tmp), nbytes))
            return LT_ERR;
        lt_tensor_release(b->tmp);
        b->tmp = NULL;
    }
    lt_afile *f = b->out;
    b->out = NULL;
    return lt_afile_commit(f);
}

/* torch._saveSafetensors(path, tensors [, metadata]) */
static int l_save(lua_State *L)
{
    const char *fname = "torch.saveSafetensors";
    const char *path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
    if (!host_is_little_endian()) return raise(L, "%s: big-endian hosts are not supported", fname);
    lua_settop(L, 3);
    st_box *b = push_box(L);
    int n = 0, nmeta = 0;
    for (lua_pushnil(L); lua_next(L, 2); lua_pop(L, 1)) n++;
    if (!lua_isnil(L, 3))
        for (lua_pushnil(L); lua_next(L, 3); lua_pop(L, 1)) nmeta++;
    b->e = calloc((size_t)n + 1, sizeof *b->e);
    b->meta = calloc(2 * (size_t)nmeta + 1, sizeof *b->meta);
    if (!b->e || !b->meta) return raise(L, "%s: out of memory", fname);
    /* keys and values stay referenced by the argument tables, so the pointers stay valid */
    for (lua_pushnil(L); lua_next(L, 2); lua_pop(L, 1)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            return raise(L, "%s: tensor names must be strings, got a %s key", fname,
                              luaL_typename(L, -2));
        size_t klen;
        const char *k = lua_tolstring(L, -2, &klen);
        if (strlen(k) != klen)
            return raise(L, "%s: tensor names must not hold NUL bytes", fname);
        if (!strcmp(k, "__metadata__"))
            return raise(L, "%s: '__metadata__' is reserved; pass metadata as the third "
                              "argument", fname);
        lt_tensor *t = ltL_totensor(L, -1);
        if (!t)
            return raise(L, "%s: '%s' is a %s, expected a tensor", fname, k,
                              luaL_typename(L, -1));
        b->e[b->n].name = k;
        b->e[b->n].t = t;
        b->n++;
    }
    if (!lua_isnil(L, 3)) {
        for (lua_pushnil(L); lua_next(L, 3); lua_pop(L, 1)) {
            if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
                return raise(L, "%s: metadata must map strings to strings, got %s -> %s",
                                  fname, luaL_typename(L, -2), luaL_typename(L, -1));
            size_t klen, vlen;
            const char *k = lua_tolstring(L, -2, &klen), *v = lua_tolstring(L, -1, &vlen);
            if (strlen(k) != klen || strlen(v) != vlen)
                return raise(L, "%s: metadata must not hold NUL bytes", fname);
            b->meta[2 * b->nmeta] = k;
            b->meta[2 * b->nmeta + 1] = v;
            b->nmeta++;
        }
    }
    qsort(b->e, (size_t)b->n, sizeof *b->e, by_width_name);
    if (build_header(b) || write_file(b, path)) {
        box_clear(b);     /* removes the temporary: the old file stays */
        return raise(L, "%s: %s", fname, lt_errmsg());
    }
    box_clear(b);
    return 0;
}

/* ---- loading ---------------------------------------------------------------------------- */

/* An integer in [0, 2^53] from a JSON number, else -1. */
static int64_t json_count(const cJSON *x)
{
    if (!cJSON_IsNumber(x)) return -1;
    double d = x->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != floor(d)) return -1;
    return (int64_t)d;
}

/* Validates one header entry; writes a message into err on failure. */
static int parse_entry(const cJSON *item, st_entry *e, int64_t datasize, char *err, size_t errlen)
{
    const char *name = item->string;
    e->name = name;
    if (!cJSON_IsObject(item))
        return snprintf(err, errlen, "tensor '%s': expected an object", name), LT_ERR;
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!cJSON_IsString(dt))
        return snprintf(err, errlen, "tensor '%s': missing dtype", name), LT_ERR;
    int d;
    for (d = 0; d < LT_NDTYPES; d++)
        if (!strcmp(dt->valuestring, st_dtypes[d])) break;
    if (d == LT_NDTYPES)
        return snprintf(err, errlen, "tensor '%s': unsupported dtype '%.20s' (luatorch reads F32, "
                        "F64, I64, U8, BF16)", name, dt->valuestring), LT_ERR;
    e->dtype = (lt_dtype)d;
    if (!cJSON_IsArray(shape))
        return snprintf(err, errlen, "tensor '%s': missing shape", name), LT_ERR;
    e->ndim = cJSON_GetArraySize(shape);
    if (e->ndim > LT_MAXDIM)
        return snprintf(err, errlen, "tensor '%s': %d dimensions (at most %d)", name, e->ndim,
                        LT_MAXDIM), LT_ERR;
    int64_t numel = 1;
    int overflow = 0;
    for (int i = 0; i < e->ndim; i++) {
        e->size[i] = json_count(cJSON_GetArrayItem(shape, i));
        if (e->size[i] < 0)
            return snprintf(err, errlen, "tensor '%s': shape entries must be non-negative "
                            "integers", name), LT_ERR;
        overflow |= __builtin_mul_overflow(numel, e->size[i], &numel);
    }
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 ||
        (e->begin = json_count(cJSON_GetArrayItem(offs, 0))) < 0 ||
        (e->end = json_count(cJSON_GetArrayItem(offs, 1))) < 0 || e->begin > e->end)
        return snprintf(err, errlen, "tensor '%s': data_offsets must be [begin, end] with "
                        "0 <= begin <= end", name), LT_ERR;
    if (e->end > datasize)
        return snprintf(err, errlen, "tensor '%s': data_offsets [%lld, %lld] reach beyond the "
                        "%lld bytes of data in the file", name, (long long)e->begin,
                        (long long)e->end, (long long)datasize), LT_ERR;
    int64_t need;
    overflow |= __builtin_mul_overflow(numel, (int64_t)lt_dtype_size(e->dtype), &need);
    if (overflow || need != e->end - e->begin) {
        char shp[LT_SHAPE_BUFSZ];
        lt_shape_str(shp, sizeof shp, e->ndim, e->size);
        return snprintf(err, errlen, "tensor '%s': data_offsets [%lld, %lld] hold %lld bytes, "
                        "but shape [%s] of %s needs %s%lld", name, (long long)e->begin,
                        (long long)e->end, (long long)(e->end - e->begin), shp, st_dtypes[d],
                        overflow ? "more than " : "", (long long)(overflow ? INT64_MAX : need)),
               LT_ERR;
    }
    return LT_OK;
}

/* Where the header's JSON holds a NUL character, raw or escaped as \u0000, else NULL. cJSON
 * hands strings over NUL-terminated: one would silently cut a name or a metadata string
 * short (and the cut name could clash with another). */
static const char *find_nul(const char *text, size_t n)
{
    int in_string = 0;
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '\0') return text + i;
        if (!in_string) {
            in_string = text[i] == '"';
        } else if (text[i] == '"') {
            in_string = 0;
        } else if (text[i] == '\\' && i + 1 < n) {
            if (text[i + 1] == 'u' && i + 6 <= n && !memcmp(text + i + 2, "0000", 4)) return text + i;
            i++;     /* the escaped character: \" does not end the string */
        }
    }
    return NULL;
}

/* Parses and validates the header of the file in b; LT_ERR with a message in err. */
static int parse_header(st_box *b, int64_t *data_start, char *err, size_t errlen)
{
    if (b->fsize < 8)
        return snprintf(err, errlen, "file too small for a safetensors header (%lld bytes)",
                        (long long)b->fsize), LT_ERR;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | b->file[i];
    if (n > (uint64_t)(b->fsize - 8))
        return snprintf(err, errlen, "header length %llu reaches beyond the end of the file "
                        "(%lld bytes): truncated or not a safetensors file",
                        (unsigned long long)n, (long long)b->fsize), LT_ERR;
    if (n > ST_MAX_HEADER)
        return snprintf(err, errlen, "header of %llu bytes is larger than the %d allowed",
                        (unsigned long long)n, ST_MAX_HEADER), LT_ERR;
    const char *text = (const char *)b->file + 8, *end = NULL;
    const char *nul = find_nul(text, (size_t)n);
    if (nul)
        return snprintf(err, errlen, "a NUL character in the header at byte %lld (names and "
                        "metadata cannot hold one)", (long long)(nul - text) + 8), LT_ERR;
    b->json = cJSON_ParseWithLengthOpts(text, (size_t)n, &end, 0);
    if (!b->json)
        return snprintf(err, errlen, "invalid JSON in the header near byte %lld",
                        (long long)(end ? end - text : 0) + 8), LT_ERR;
    for (const char *q = end; q < text + n; q++)
        if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r')
            return snprintf(err, errlen, "trailing data after the JSON header at byte %lld",
                            (long long)(q - text) + 8), LT_ERR;
    if (!cJSON_IsObject(b->json))
        return snprintf(err, errlen, "the header is not a JSON object"), LT_ERR;
    int64_t datasize = b->fsize - 8 - (int64_t)n;
    *data_start = 8 + (int64_t)n;
    int count = cJSON_GetArraySize(b->json);
    if (!(b->e = calloc((size_t)count + 1, sizeof *b->e)))
        return snprintf(err, errlen, "out of memory"), LT_ERR;
    const cJSON *item;
    cJSON_ArrayForEach(item, b->json) {
        if (!item->string) return snprintf(err, errlen, "a header entry without a name"), LT_ERR;
        if (!strcmp(item->string, "__metadata__")) {
            const cJSON *v;
            if (!cJSON_IsObject(item))
                return snprintf(err, errlen, "__metadata__ must be an object"), LT_ERR;
            cJSON_ArrayForEach(v, item)
                if (!cJSON_IsString(v))
                    return snprintf(err, errlen, "__metadata__ values must be strings ('%s' "
                                    "is not)", v->string ? v->string : "?"), LT_ERR;
            continue;
        }
        if (parse_entry(item, &b->e[b->n], datasize, err, errlen)) return LT_ERR;
        b->n++;
    }
    /* the byte ranges must tile the data section exactly: no overlap, no gap */
    st_entry *sorted = malloc(((size_t)b->n + 1) * sizeof *sorted);
    if (!sorted) return snprintf(err, errlen, "out of memory"), LT_ERR;
    memcpy(sorted, b->e, (size_t)b->n * sizeof *sorted);
    qsort(sorted, (size_t)b->n, sizeof *sorted, by_begin);
    int64_t at = 0;
    int rc = LT_OK;
    for (int i = 0; i < b->n && rc == LT_OK; i++) {
        if (sorted[i].begin < at) {
            snprintf(err, errlen, "tensors '%s' and '%s' overlap (bytes [%lld, %lld) and "
                     "[%lld, %lld))", sorted[i - 1].name, sorted[i].name,
                     (long long)sorted[i - 1].begin, (long long)sorted[i - 1].end,
                     (long long)sorted[i].begin, (long long)sorted[i].end);
            rc = LT_ERR;
        } else if (sorted[i].begin > at) {
            snprintf(err, errlen, "gap in the data before tensor '%s' (bytes [%lld, %lld) "
                     "belong to no tensor)", sorted[i].name, (long long)at,
                     (long long)sorted[i].begin);
            rc = LT_ERR;
        }
        at = sorted[i].end;
    }
    if (rc == LT_OK && at != datasize) {
        snprintf(err, errlen, "the tensors cover %lld bytes of data, the file holds %lld",
                 (long long)at, (long long)datasize);
        rc = LT_ERR;
    }
    free(sorted);
    return rc;
}

/* torch._loadSafetensors(path) -> tensors, metadata */
static int l_load(lua_State *L)
{
    const char *fname = "torch.loadSafetensors";
    const char *path = luaL_checkstring(L, 1);
    if (!host_is_little_endian()) return raise(L, "%s: big-endian hosts are not supported", fname);
    lua_settop(L, 1);
    st_box *b = push_box(L);
    void *data;
    if (lt_read_file(path, &data, &b->fsize) != LT_OK) return raise(L, "%s: %s", fname, lt_errmsg());
    b->file = data;
    char err[512];
    int64_t start;
    if (parse_header(b, &start, err, sizeof err) != LT_OK)
        return raise(L, "%s: %s: %s", fname, path, err);
    lua_createtable(L, 0, b->n);
    for (int i = 0; i < b->n; i++) {
        const st_entry *e = &b->e[i];
        if (lua_getfield(L, -1, e->name) != LUA_TNIL)
            return raise(L, "%s: %s: tensor '%s' appears twice in the header", fname, path,
                              e->name);
        lua_pop(L, 1);
        lt_tensor *t = lt_tensor_new_uninit(e->dtype, e->ndim, e->size);
        if (!t) return raise(L, "%s: %s", fname, lt_errmsg());
        ltL_pushtensor(L, t, fname);
        if (e->end > e->begin) memcpy(lt_data(t), b->file + start + e->begin, (size_t)(e->end - e->begin));
        lua_setfield(L, -2, e->name);
    }
    lua_newtable(L);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(b->json, "__metadata__"), *v;
    if (m)
        cJSON_ArrayForEach(v, m) {
            lua_pushstring(L, v->valuestring);
            lua_setfield(L, -2, v->string);
        }
    box_clear(b);
    return 2;
}

void lt_open_safetensors(lua_State *L)
{
    static const luaL_Reg box_meta[] = {{"__gc", box_gc}, {NULL, NULL}};
    luaL_newmetatable(L, ST_BOX_MT);
    luaL_setfuncs(L, box_meta, 0);
    lua_pop(L, 1);
    static const ltL_Reg regs[] = {{"_saveSafetensors", l_save, LT_FN | LT_BF16},
                                   {"_loadSafetensors", l_load, LT_FN | LT_BF16}, {NULL, NULL, 0}};
    ltL_register(L, regs);
}
