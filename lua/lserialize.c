/*
 * lserialize.c — torch.save / torch.load: luatorch's checkpoint format, written and read in
 * C (the byte layout is specified in docs/checkpoint-format.md).
 *
 * torch._save(path, obj, classof) walks a Lua value depth first and streams it into an
 * atomic file (core/fileio.c): numbers keep their integer/float subtype, strings are
 * length-prefixed bytes, tables, tensors and storages get object ids in the order they are
 * first met, so a second meeting writes a reference (shared references, cycles, tensors
 * sharing a storage, and a tensor's .grad all survive). Tensors are stored as (storage,
 * offset, sizes, strides) with the storage's raw little-endian bytes copied in bulk. A table
 * whose metatable is a torch.class is written with its class name, which classof(name) must
 * map back to that same metatable. Functions, threads and foreign userdata are refused with
 * the path of the value in the object (obj.modules[2].fn): a checkpoint never holds code.
 * The payload is covered by a CRC-32 patched into the header once the walk is complete.
 *
 * torch._load(path, resolver) checks magic, version, length and CRC before it parses, then
 * rebuilds the value; resolver(name) returns the metatable of a class. Every length, id,
 * dtype, size and stride read from the file is validated: a corrupt file gives an error
 * naming its offset, never a crash.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_lua.h"

#define CK_MAGIC "\x89LTCKPT\n"
#define CK_VERSION 1u
#define CK_HEADER 32
/* Nesting limit of tables (and tensors' .grad chains), for writing and reading alike: the
 * walk is recursive, and a crafted file must not exhaust the C stack. */
#define CK_MAXDEPTH 2000

enum { TAG_NIL, TAG_FALSE, TAG_TRUE, TAG_INT, TAG_FLOAT, TAG_STRING, TAG_TABLE, TAG_REF,
       TAG_STORAGE, TAG_TENSOR };

#define SAVER_MT "torch.checkpoint.writer"
#define BUFFER_MT "torch.checkpoint.buffer"

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

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* ==== writing ============================================================================ */

typedef struct {
    lt_afile *f;        /* owned until committed or aborted                               */
    uint32_t  crc;
    int64_t   nextid;
    int       depth;
    /* the path to the value being written: the stack index of each level's key, or a
     * literal (".grad") where the step has no Lua key */
    struct { int key; const char *lit; } path[CK_MAXDEPTH + 1];
} saver;

/* __gc of the writer: a save that never reached its commit leaves no temporary behind. */
static int saver_gc(lua_State *L)
{
    saver *s = luaL_checkudata(L, 1, SAVER_MT);
    lt_afile_abort(s->f);
    s->f = NULL;
    return 0;
}

/* Body of the writer: stack 1 = saver, 2 = obj, 3 = classof, 4 = memo (value -> id). */
enum { W_SAVER = 1, W_OBJ, W_CLASSOF, W_MEMO };

static int is_identifier(const char *k, size_t n)
{
    if (n == 0 || !(k[0] == '_' || (k[0] >= 'a' && k[0] <= 'z') || (k[0] >= 'A' && k[0] <= 'Z')))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!(k[i] == '_' || (k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') ||
              (k[i] >= '0' && k[i] <= '9')))
            return 0;
    return 1;
}

/* Pushes "obj.modules[2].fn" for the current path (levels 1..depth). */
static void push_path(lua_State *L, const saver *s)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "obj");
    for (int d = 1; d <= s->depth; d++) {
        if (s->path[d].lit) {
            luaL_addstring(&b, s->path[d].lit);
            continue;
        }
        int k = s->path[d].key;
        switch (lua_type(L, k)) {
        case LUA_TSTRING: {
            size_t n;
            const char *str = lua_tolstring(L, k, &n);
            if (is_identifier(str, n)) {
                luaL_addchar(&b, '.');
                luaL_addlstring(&b, str, n);
            } else {
                luaL_addstring(&b, "[\"");
                luaL_addlstring(&b, str, n);
                luaL_addstring(&b, "\"]");
            }
            break;
        }
        case LUA_TNUMBER:
            luaL_addchar(&b, '[');
            if (lua_isinteger(L, k)) lua_pushfstring(L, "%I", (lua_Integer)lua_tointeger(L, k));
            else lua_pushfstring(L, "%f", lua_tonumber(L, k));
            luaL_addvalue(&b);
            luaL_addchar(&b, ']');
            break;
        case LUA_TBOOLEAN:
            luaL_addstring(&b, lua_toboolean(L, k) ? "[true]" : "[false]");
            break;
        default:
            lua_pushfstring(L, "[<%s key>]", luaL_typename(L, k));
            luaL_addvalue(&b);
        }
    }
    luaL_pushresult(&b);
}

static int save_error(lua_State *L, const saver *s, const char *what, const char *why)
{
    push_path(L, s);
    return raise(L, "torch.save: cannot save %s at %s%s", what, lua_tostring(L, -1), why);
}

static void out(lua_State *L, saver *s, const void *p, size_t n)
{
    s->crc = lt_crc32(s->crc, p, n);
    if (lt_afile_write(s->f, p, n) != LT_OK) raise(L, "%s: %s", "torch.save", lt_errmsg());
}

static void out_byte(lua_State *L, saver *s, int v)
{
    unsigned char c = (unsigned char)v;
    out(L, s, &c, 1);
}

static void out_u64(lua_State *L, saver *s, uint64_t v)
{
    unsigned char b[8];
    put_u64(b, v);
    out(L, s, b, 8);
}

/* Looks key (at idx, or the light userdata p when idx == 0) up in the memo; writes a
 * reference and returns 1 when it was seen, else records the next id and returns 0. */
static int memo_seen(lua_State *L, saver *s, int idx, const void *p)
{
    if (idx) lua_pushvalue(L, idx);
    else lua_pushlightuserdata(L, (void *)(uintptr_t)p);
    lua_pushvalue(L, -1);
    if (lua_rawget(L, W_MEMO) == LUA_TNUMBER) {
        int64_t id = lua_tointeger(L, -1);
        lua_pop(L, 2);
        out_byte(L, s, TAG_REF);
        out_u64(L, s, (uint64_t)id);
        return 1;
    }
    lua_pop(L, 1);
    lua_pushinteger(L, s->nextid++);
    lua_rawset(L, W_MEMO);
    return 0;
}

static void write_storage(lua_State *L, saver *s, const lt_storage *st)
{
    if (memo_seen(L, s, 0, st)) return;
    out_byte(L, s, TAG_STORAGE);
    out_byte(L, s, (int)st->dtype);
    out_u64(L, s, (uint64_t)st->numel);
    if (st->nbytes > 0 && st->device == LT_CPU) out(L, s, st->data, (size_t)st->nbytes);  /* bulk, little-endian */
    if (st->nbytes > 0 && st->device != LT_CPU) {
        /* a device tensor is saved as its host twin (loads as one; :cuda() moves it back) */
        void *host = lua_newuserdatauv(L, (size_t)st->nbytes, 0);
        if (lt_storage_read(st, host))
            save_error(L, s, "a CUDA tensor", lua_pushfstring(L, " (%s)", lt_errmsg()));
        out(L, s, host, (size_t)st->nbytes);
        lua_pop(L, 1);
    }
}

static void write_tensor(lua_State *L, saver *s, const lt_tensor *t)
{
    if (memo_seen(L, s, 0, t)) return;
    /* a recorded result is saved as plain data: its history cannot be stored */
    int leaf = t->grad_fn == NULL;
    int flags = (leaf && t->requires_grad ? 1 : 0) | (t->grad ? 2 : 0);
    unsigned char head[4] = {TAG_TENSOR, (unsigned char)t->dtype, (unsigned char)t->ndim,
                             (unsigned char)flags};
    out(L, s, head, 4);
    write_storage(L, s, t->storage);
    unsigned char buf[8 * (1 + 2 * LT_MAXDIM)];
    put_u64(buf, (uint64_t)t->offset);
    for (int i = 0; i < t->ndim; i++) {
        put_u64(buf + 8 + 8 * i, (uint64_t)t->size[i]);
        put_u64(buf + 8 + 8 * (t->ndim + i), (uint64_t)t->stride[i]);
    }
    out(L, s, buf, 8 * (1 + 2 * (size_t)t->ndim));
    if (t->grad) {
        if (s->depth >= CK_MAXDEPTH) save_error(L, s, "a value", " (nested too deeply)");
        s->path[++s->depth].lit = ".grad";
        write_tensor(L, s, t->grad);
        s->depth--;
    }
}

static void write_value(lua_State *L, saver *s, int idx);

/* The class name of the table at idx ("" when it has no metatable); refuses other
 * metatables, since they could not be restored. */
static const char *class_of(lua_State *L, saver *s, int idx, size_t *len)
{
    *len = 0;
    if (!lua_getmetatable(L, idx)) return "";
    int mt = lua_gettop(L);
    lua_pushstring(L, "__typename");
    if (lua_rawget(L, mt) != LUA_TSTRING)
        save_error(L, s, "a table", " (its metatable is not a torch.class; only plain "
                   "tables and torch.class instances can be saved)");
    lua_pushvalue(L, W_CLASSOF);
    lua_pushvalue(L, mt + 1);
    lua_call(L, 1, 1);
    if (!lua_rawequal(L, -1, mt)) {
        lua_pushfstring(L, "an instance of '%s'", lua_tostring(L, mt + 1));
        save_error(L, s, lua_tostring(L, -1), " (its metatable is not the registered class "
                   "of that name)");
    }
    lua_pop(L, 1);
    return lua_tolstring(L, mt + 1, len);   /* stays on the stack until the caller pops it */
}

static void write_table(lua_State *L, saver *s, int idx)
{
    if (memo_seen(L, s, idx, NULL)) return;
    if (s->depth >= CK_MAXDEPTH) {
        lua_pushfstring(L, " (tables nested more than %d deep)", CK_MAXDEPTH);
        save_error(L, s, "a table", lua_tostring(L, -1));
    }
    luaL_checkstack(L, 8, "torch.save");
    int top = lua_gettop(L);
    size_t len;
    const char *name = class_of(L, s, idx, &len);
    unsigned char head[5] = {TAG_TABLE};
    put_u32(head + 1, (uint32_t)len);
    out(L, s, head, 5);
    out(L, s, name, len);
    lua_settop(L, top);
    s->depth++;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int k = lua_gettop(L) - 1;
        s->path[s->depth].key = k;
        s->path[s->depth].lit = NULL;
        int kt = lua_type(L, k);
        if (kt == LUA_TFUNCTION || kt == LUA_TTHREAD ||
            (kt == LUA_TUSERDATA && !ltL_istensor(L, k) && !luaL_testudata(L, k, LT_STORAGE_MT)) ||
            kt == LUA_TLIGHTUSERDATA) {
            lua_pushfstring(L, "a %s used as a table key", luaL_typename(L, k));
            s->path[s->depth].lit = "";
            save_error(L, s, lua_tostring(L, -1), " (checkpoints store data, never code)");
        }
        write_value(L, s, k);
        write_value(L, s, k + 1);
        lua_pop(L, 1);
    }
    s->depth--;
    out_byte(L, s, TAG_NIL);    /* a nil key ends the table */
}

static void write_value(lua_State *L, saver *s, int idx)
{
    switch (lua_type(L, idx)) {
    case LUA_TNIL: out_byte(L, s, TAG_NIL); return;
    case LUA_TBOOLEAN: out_byte(L, s, lua_toboolean(L, idx) ? TAG_TRUE : TAG_FALSE); return;
    case LUA_TNUMBER: {
        unsigned char b[9];
        if (lua_isinteger(L, idx)) {
            b[0] = TAG_INT;
            put_u64(b + 1, (uint64_t)lua_tointeger(L, idx));
        } else {
            double d = lua_tonumber(L, idx);
            uint64_t bits;
            memcpy(&bits, &d, 8);   /* the bits themselves: NaN payloads and -0 survive */
            b[0] = TAG_FLOAT;
            put_u64(b + 1, bits);
        }
        out(L, s, b, 9);
        return;
    }
    case LUA_TSTRING: {
        size_t n;
        const char *str = lua_tolstring(L, idx, &n);
        out_byte(L, s, TAG_STRING);
        out_u64(L, s, n);
        out(L, s, str, n);
        return;
    }
    case LUA_TTABLE: write_table(L, s, idx); return;
    case LUA_TUSERDATA: {
        lt_tensor **t = luaL_testudata(L, idx, LT_TENSOR_MT);
        if (t) {
            if (!*t) save_error(L, s, "a freed tensor", "");
            write_tensor(L, s, *t);
            return;
        }
        lt_storage **st = luaL_testudata(L, idx, LT_STORAGE_MT);
        if (st) {
            if (!*st) save_error(L, s, "a freed storage", "");
            write_storage(L, s, *st);
            return;
        }
        const char *kind = "a userdata";
        if (luaL_getmetafield(L, idx, "__name") == LUA_TSTRING)
            kind = lua_pushfstring(L, "a userdata of type '%s'", lua_tostring(L, -1));
        save_error(L, s, kind, " (only tensors and storages are saved)");
        return;
    }
    case LUA_TFUNCTION:
        save_error(L, s, "a function", " (checkpoints store data, never code)");
        return;
    default:
        save_error(L, s, lua_pushfstring(L, "a %s", luaL_typename(L, idx)),
                   " (checkpoints store data, never code)");
    }
}

static int save_body(lua_State *L)
{
    saver *s = lua_touserdata(L, W_SAVER);
    unsigned char header[CK_HEADER] = {0};
    /* the header is patched in at the end, when the length and CRC are known */
    if (lt_afile_write(s->f, header, CK_HEADER) != LT_OK) return raise(L, "%s: %s", "torch.save", lt_errmsg());
    write_value(L, s, W_OBJ);
    int64_t len = lt_afile_tell(s->f) - CK_HEADER;
    memcpy(header, CK_MAGIC, 8);
    put_u32(header + 8, CK_VERSION);
    put_u32(header + 12, 0);
    put_u64(header + 16, (uint64_t)len);
    put_u32(header + 24, s->crc);
    put_u32(header + 28, 0);
    if (lt_afile_pwrite(s->f, header, CK_HEADER, 0) != LT_OK) return raise(L, "%s: %s", "torch.save", lt_errmsg());
    return 0;
}

/* torch._save(path, obj, classof) */
static int l_save(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    if (!host_is_little_endian())
        return raise(L, "torch.save: big-endian hosts are not supported");
    lua_settop(L, 3);
    saver *s = lua_newuserdatauv(L, sizeof *s, 0);
    memset(s, 0, sizeof *s);
    luaL_setmetatable(L, SAVER_MT);
    int sidx = lua_gettop(L);
    lua_pushcfunction(L, save_body);
    lua_pushvalue(L, sidx);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    lua_newtable(L);
    s->f = lt_afile_open(path);
    if (!s->f) return raise(L, "%s: %s", "torch.save", lt_errmsg());
    if (lua_pcall(L, 4, 0, 0) != LUA_OK) {
        lt_afile_abort(s->f);    /* the old file, if any, stays as it was */
        s->f = NULL;
        return lua_error(L);
    }
    lt_afile *f = s->f;
    s->f = NULL;
    if (lt_afile_commit(f) != LT_OK) return raise(L, "%s: %s", "torch.save", lt_errmsg());
    return 0;
}

/* ==== reading ============================================================================ */

typedef struct { unsigned char *data; int64_t size; } filebuf;

static int filebuf_gc(lua_State *L)
{
    filebuf *b = luaL_checkudata(L, 1, BUFFER_MT);
    free(b->data);
    b->data = NULL;
    return 0;
}

/* Reads path into a buffer owned by a userdata pushed on the stack (freed by the GC, so an
 * error raised while parsing leaks nothing). */
static filebuf *push_file(lua_State *L, const char *path, const char *fname)
{
    filebuf *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->data = NULL;
    b->size = 0;
    luaL_setmetatable(L, BUFFER_MT);
    void *data;
    if (lt_read_file(path, &data, &b->size) != LT_OK) raise(L, "%s: %s", fname, lt_errmsg());
    b->data = data;
    return b;
}

typedef struct {
    const unsigned char *p;    /* the file                                              */
    int64_t  end, pos;         /* payload end and read position, as file offsets        */
    int64_t  nextid;
    int      depth;
    int      reg;              /* stack index: id + 1 -> object                          */
    int      resolver;         /* stack index of resolver(name) -> metatable             */
    const char *path;
} loader;

static int load_error(lua_State *L, const loader *ld, int64_t at, const char *msg)
{
    return raise(L, "torch.load: %s: corrupt checkpoint at offset %I: %s", ld->path,
                      (lua_Integer)at, msg);
}

static const unsigned char *take(lua_State *L, loader *ld, uint64_t n)
{
    if (n > (uint64_t)(ld->end - ld->pos)) {
        lua_pushfstring(L, "the payload ends at offset %I, %I more bytes needed",
                        (lua_Integer)ld->end, (lua_Integer)(n > INT64_MAX ? INT64_MAX : n));
        load_error(L, ld, ld->pos, lua_tostring(L, -1));
    }
    const unsigned char *q = ld->p + ld->pos;
    ld->pos += (int64_t)n;
    return q;
}

static int in_byte(lua_State *L, loader *ld) { return *take(L, ld, 1); }
static uint64_t in_u64(lua_State *L, loader *ld) { return get_u64(take(L, ld, 8)); }

static void register_object(lua_State *L, loader *ld, int64_t id)
{
    lua_pushvalue(L, -1);
    lua_rawseti(L, ld->reg, id + 1);
}

static void read_value(lua_State *L, loader *ld);

static void read_storage(lua_State *L, loader *ld, int64_t at)
{
    int64_t id = ld->nextid++;
    int dt = in_byte(L, ld);
    if (dt < 0 || dt >= LT_NDTYPES)
        load_error(L, ld, at + 1, lua_pushfstring(L, "unknown dtype code %d", dt));
    uint64_t numel = in_u64(L, ld);
    size_t esz = lt_dtype_size((lt_dtype)dt);
    if (numel > (uint64_t)(ld->end - ld->pos) / esz)
        load_error(L, ld, at + 2, lua_pushfstring(L, "a storage of %I elements does not fit "
                   "in the rest of the payload", (lua_Integer)(numel > INT64_MAX ? -1 : (int64_t)numel)));
    const unsigned char *src = take(L, ld, numel * esz);
    lt_storage *st = lt_storage_new_uninit((lt_dtype)dt, (int64_t)numel);
    if (!st) raise(L, "%s: %s", "torch.load", lt_errmsg());
    if (numel) memcpy(st->data, src, numel * esz);
    ltL_pushstorage(L, st);     /* takes its own reference */
    lt_storage_release(st);
    register_object(L, ld, id);
}

static int64_t in_i64_nonneg(lua_State *L, loader *ld, const char *what)
{
    int64_t at = ld->pos;
    uint64_t v = in_u64(L, ld);
    if (v > (uint64_t)INT64_MAX)
        load_error(L, ld, at, lua_pushfstring(L, "negative %s", what));
    return (int64_t)v;
}

static void read_tensor(lua_State *L, loader *ld, int64_t at)
{
    int64_t id = ld->nextid++;
    const unsigned char *h = take(L, ld, 3);
    int dt = h[0], ndim = h[1], flags = h[2];
    if (dt >= LT_NDTYPES) load_error(L, ld, at + 1, lua_pushfstring(L, "unknown dtype code %d", dt));
    if (ndim > LT_MAXDIM)
        load_error(L, ld, at + 2, lua_pushfstring(L, "%d dimensions (at most %d)", ndim, LT_MAXDIM));
    if (flags & ~3) load_error(L, ld, at + 3, lua_pushfstring(L, "unknown tensor flags %d", flags));
    int64_t sat = ld->pos;
    read_value(L, ld);
    lt_storage **box = luaL_testudata(L, -1, LT_STORAGE_MT);
    if (!box || !*box) load_error(L, ld, sat, "a tensor's storage is not a storage");
    lt_storage *st = *box;
    if ((int)st->dtype != dt) load_error(L, ld, sat, "a tensor's storage has another dtype");
    int64_t size[LT_MAXDIM], stride[LT_MAXDIM];
    int64_t gat = ld->pos;
    int64_t offset = in_i64_nonneg(L, ld, "storage offset");
    for (int i = 0; i < ndim; i++) size[i] = in_i64_nonneg(L, ld, "size");
    for (int i = 0; i < ndim; i++) stride[i] = in_i64_nonneg(L, ld, "stride");
    /* the highest element reached must lie inside the storage; overflow-checked, since the
     * numbers come from the file */
    int64_t hi = offset, numel = 1;
    int bad = 0;
    for (int i = 0; i < ndim; i++) {
        int64_t step;
        bad |= __builtin_mul_overflow(numel, size[i], &numel);
        if (size[i] > 0) {
            bad |= __builtin_mul_overflow(size[i] - 1, stride[i], &step);
            bad |= __builtin_add_overflow(hi, step, &hi);
        }
    }
    if (bad || (numel > 0 && hi >= st->numel))
        load_error(L, ld, gat, "a tensor's sizes and strides reach outside its storage");
    lt_tensor *t = lt_tensor_from_storage(st, offset, ndim, size, stride);
    if (!t) load_error(L, ld, gat, lt_errmsg());
    ltL_pushtensor(L, t, "torch.load");
    lua_remove(L, -2);    /* the storage: the tensor holds it */
    register_object(L, ld, id);
    if ((flags & 1) && !lt_dtype_is_float(t->dtype))
        load_error(L, ld, at + 3, "an integer tensor that requires grad");
    t->requires_grad = flags & 1;
    if (flags & 2) {
        int64_t rat = ld->pos;
        if (++ld->depth > CK_MAXDEPTH) load_error(L, ld, rat, "nested too deeply");
        read_value(L, ld);
        ld->depth--;
        lt_tensor *g = ltL_totensor(L, -1);
        if (!g || !lt_same_shape(g, t) || g->dtype != t->dtype)
            load_error(L, ld, rat, "a tensor's grad is not a tensor of its shape and dtype");
        /* a reference may name the tensor itself or one whose grad chain leads back to it:
         * a cycle of references that would never be freed */
        for (const lt_tensor *c = g; c; c = c->grad)
            if (c == t) load_error(L, ld, rat, "a tensor's grad chain leads back to the tensor itself");
        lt_tensor_retain(g);
        lt_tensor_release(t->grad);
        t->grad = g;
        lua_pop(L, 1);
    }
}

static void read_table(lua_State *L, loader *ld, int64_t at)
{
    int64_t id = ld->nextid++;
    if (++ld->depth > CK_MAXDEPTH)
        load_error(L, ld, at, lua_pushfstring(L, "tables nested more than %d deep", CK_MAXDEPTH));
    luaL_checkstack(L, 8, "torch.load");
    uint32_t nlen = get_u32(take(L, ld, 4));
    const char *name = (const char *)take(L, ld, nlen);
    lua_newtable(L);
    int t = lua_gettop(L);
    register_object(L, ld, id);
    for (;;) {
        int64_t kat = ld->pos;
        read_value(L, ld);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            break;
        }
        if (lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) != lua_tonumber(L, -1))
            load_error(L, ld, kat, "a NaN table key");
        int64_t vat = ld->pos;
        read_value(L, ld);
        if (lua_isnil(L, -1)) load_error(L, ld, vat, "a nil table value");
        lua_rawset(L, t);
    }
    ld->depth--;
    if (nlen > 0) {
        lua_pushvalue(L, ld->resolver);
        lua_pushlstring(L, name, nlen);
        lua_call(L, 1, 1);
        if (!lua_istable(L, -1)) {
            lua_pushlstring(L, name, nlen);
            raise(L, "torch.load: %s: unknown class '%s'", ld->path, lua_tostring(L, -1));
        }
        lua_setmetatable(L, t);
    }
}

static void read_value(lua_State *L, loader *ld)
{
    int64_t at = ld->pos;
    int tag = in_byte(L, ld);
    luaL_checkstack(L, 4, "torch.load");
    switch (tag) {
    case TAG_NIL: lua_pushnil(L); return;
    case TAG_FALSE: lua_pushboolean(L, 0); return;
    case TAG_TRUE: lua_pushboolean(L, 1); return;
    case TAG_INT: lua_pushinteger(L, (lua_Integer)in_u64(L, ld)); return;
    case TAG_FLOAT: {
        uint64_t bits = in_u64(L, ld);
        double d;
        memcpy(&d, &bits, 8);
        lua_pushnumber(L, d);
        return;
    }
    case TAG_STRING: {
        uint64_t n = in_u64(L, ld);
        const unsigned char *p = take(L, ld, n);
        lua_pushlstring(L, (const char *)p, (size_t)n);
        return;
    }
    case TAG_TABLE: read_table(L, ld, at); return;
    case TAG_REF: {
        uint64_t id = in_u64(L, ld);
        if (id >= (uint64_t)ld->nextid)
            load_error(L, ld, at, lua_pushfstring(L, "reference to object #%I, which is not "
                       "defined before it", (lua_Integer)(id > INT64_MAX ? -1 : (int64_t)id)));
        if (lua_rawgeti(L, ld->reg, (lua_Integer)id + 1) == LUA_TNIL)
            load_error(L, ld, at, "reference to an object that is still being read");
        return;
    }
    case TAG_STORAGE: read_storage(L, ld, at); return;
    case TAG_TENSOR: read_tensor(L, ld, at); return;
    default:
        load_error(L, ld, at, lua_pushfstring(L, "unknown value tag %d", tag));
    }
}

/* torch._load(path, resolver) */
static int l_load(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    if (!host_is_little_endian())
        return raise(L, "torch.load: big-endian hosts are not supported");
    lua_settop(L, 2);
    filebuf *b = push_file(L, path, "torch.load");
    const unsigned char *p = b->data;
    int64_t size = b->size;
    if (size < 8 || memcmp(p, CK_MAGIC, 8) != 0)
        return raise(L, "torch.load: %s: not a luatorch checkpoint (bad magic)", path);
    if (size < CK_HEADER)
        return raise(L, "torch.load: %s: truncated at offset %I (the header is %d bytes)",
                          path, (lua_Integer)size, CK_HEADER);
    uint32_t version = get_u32(p + 8), flags = get_u32(p + 12);
    if (version != CK_VERSION)
        return raise(L, "torch.load: %s: unsupported checkpoint format version %d (this "
                          "luatorch reads version %d)", path, (int)version, (int)CK_VERSION);
    if (flags != 0) {
        char hex[16];    /* Lua's formatter has no %x */
        snprintf(hex, sizeof hex, "0x%08x", (unsigned)flags);
        return raise(L, "torch.load: %s: unsupported header flags %s (this luatorch reads "
                          "version 1 files with flags 0)", path, hex);
    }
    uint64_t len = get_u64(p + 16);
    if (len > (uint64_t)(size - CK_HEADER))
        return raise(L, "torch.load: %s: truncated at offset %I (the header announces %I "
                          "payload bytes, the file ends %I bytes in)", path, (lua_Integer)size,
                          (lua_Integer)(len > INT64_MAX ? -1 : (int64_t)len),
                          (lua_Integer)(size - CK_HEADER));
    if (len < (uint64_t)(size - CK_HEADER))
        return raise(L, "torch.load: %s: %I bytes of trailing data after the payload "
                          "(offset %I)", path, (lua_Integer)(size - CK_HEADER - (int64_t)len),
                          (lua_Integer)(CK_HEADER + (int64_t)len));
    uint32_t stored = get_u32(p + 24), crc = lt_crc32(0, p + CK_HEADER, (size_t)len);
    if (stored != crc) {
        char msg[64];
        snprintf(msg, sizeof msg, "stored %08x, computed %08x", (unsigned)stored, (unsigned)crc);
        return raise(L, "torch.load: %s: CRC mismatch (%s): the file is corrupt", path, msg);
    }
    lua_newtable(L);
    loader ld = {p, size, CK_HEADER, 0, 0, lua_gettop(L), 2, path};
    read_value(L, &ld);
    if (ld.pos != ld.end) return load_error(L, &ld, ld.pos, "data after the value");
    return 1;
}

void lt_open_serialize(lua_State *L)
{
    static const luaL_Reg saver_meta[] = {{"__gc", saver_gc}, {NULL, NULL}};
    static const luaL_Reg buffer_meta[] = {{"__gc", filebuf_gc}, {NULL, NULL}};
    luaL_newmetatable(L, SAVER_MT);
    luaL_setfuncs(L, saver_meta, 0);
    luaL_newmetatable(L, BUFFER_MT);
    luaL_setfuncs(L, buffer_meta, 0);
    lua_pop(L, 2);
    static const ltL_Reg regs[] = {{"_save", l_save, LT_FN | LT_BF16}, {"_load", l_load, LT_FN | LT_BF16},
                                   {NULL, NULL, 0}};
    ltL_register(L, regs);
}
