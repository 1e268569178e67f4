/*
 * fuzz_checkpoint.c — libFuzzer harness for torch.load's reader (lua/lserialize.c, the format
 * of docs/checkpoint-format.md); `make fuzz FUZZ_TARGET=checkpoint`.
 *
 * Each input is a file given to torch.core._load in a fresh Lua state, as it is and, when it
 * starts with the magic, again with the header's payload length and CRC made right (mutations
 * rarely keep a CRC: without this the parser behind it would hardly be reached). Checked: it fails with
 * a message starting "torch.load: ", or it returns a value whose every tensor lies inside its
 * storage (the lowest and highest element are read, so ASan sees them); such a value saves
 * again (what load returns, save accepts), that file loads, and saving that gives a file of
 * the same length (the graph of objects survived: each object is stored once, each further
 * meeting as a reference, whatever order the tables are walked in). Class names resolve to
 * classes made on demand for names starting with "nn." or equal to "Point", and to nothing
 * otherwise, so both the class and the unknown-class paths run. Crashes, leaks (lua_close
 * frees everything a load made) and allocations the input cannot justify are the
 * sanitizers' and -malloc_limit_mb's to catch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_lua.h"
#include "../lua/lt_lua.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* resolver(name): upvalue 1 maps names to classes, made on demand for the names it knows */
static int resolve(lua_State *L)
{
    size_t n;
    const char *name = luaL_checklstring(L, 1, &n);
    if (!((n > 3 && !memcmp(name, "nn.", 3)) || !strcmp(name, "Point"))) return 0;
    lua_settop(L, 1);
    lua_pushvalue(L, 1);
    if (lua_rawget(L, lua_upvalueindex(1)) == LUA_TNIL) {
        lua_newtable(L);
        lua_pushvalue(L, 1);
        lua_setfield(L, -2, "__typename");
        lua_pushvalue(L, 1);
        lua_pushvalue(L, -2);
        lua_rawset(L, lua_upvalueindex(1));
    }
    return 1;
}

static void touch(const lt_storage *s, int64_t i)
{
    if (i < 0 || i >= s->numel) __builtin_trap();   /* the reader let an element out */
    volatile const unsigned char *p = (const unsigned char *)s->data + i * (int64_t)lt_dtype_size(s->dtype);
    for (size_t k = 0; k < lt_dtype_size(s->dtype); k++) (void)p[k];
}

static void touch_tensor(const lt_tensor *t)
{
    for (; t; t = t->grad) {
        if (t->dtype != t->storage->dtype || t->storage->device != LT_CPU) __builtin_trap();
        int64_t hi = t->offset;
        int empty = 0;
        for (int d = 0; d < t->ndim; d++) {
            if (t->size[d] == 0) empty = 1;
            else hi += (t->size[d] - 1) * t->stride[d];
        }
        if (!empty) {
            touch(t->storage, t->offset);
            touch(t->storage, hi);
        }
    }
}

/* Reads every tensor and storage reachable from the value at idx (seen: a set). */
static void walk(lua_State *L, int idx, int seen)
{
    idx = lua_absindex(L, idx);
    int type = lua_type(L, idx);
    if (type != LUA_TTABLE && type != LUA_TUSERDATA) return;
    lua_pushvalue(L, idx);
    if (lua_rawget(L, seen) != LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    lua_pushvalue(L, idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, seen);
    if (type == LUA_TUSERDATA) {
        lt_tensor *t = ltL_totensor(L, idx);
        lt_storage **s = luaL_testudata(L, idx, LT_STORAGE_MT);
        if (t) touch_tensor(t);
        else if (!s || !*s) __builtin_trap();    /* the reader made some other userdata */
        else if ((*s)->numel > 0) {
            touch(*s, 0);
            touch(*s, (*s)->numel - 1);
        }
        return;
    }
    luaL_checkstack(L, 4, "walk");
    for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
        walk(L, -2, seen);
        walk(L, -1, seen);
    }
}

/* core._load(path, resolver): pushes the value and returns 1, or pushes the message and
 * returns 0 (trapping on a message that is not torch.load's) */
static int load(lua_State *L, const char *path)
{
    lua_getfield(L, 1, "_load");
    lua_pushstring(L, path);
    lua_pushvalue(L, 2);
    if (lua_pcall(L, 2, 1, 0) == LUA_OK) return 1;
    fuzz_expect_error(L, "torch.load: ");
    return 0;
}

/* Saves the value on top to path (must succeed) and returns the file's size. */
static long save(lua_State *L, const char *path)
{
    lua_getfield(L, 1, "_save");
    lua_pushstring(L, path);
    lua_pushvalue(L, -3);
    lua_pushvalue(L, 2);
    if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
        fprintf(stderr, "a loaded value does not save: %s\n", lua_tostring(L, -1));
        __builtin_trap();
    }
    FILE *f = fopen(path, "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0) __builtin_trap();
    long n = ftell(f);
    fclose(f);
    return n;
}

static void check_file(const uint8_t *data, size_t size)
{
    lua_State *L = fuzz_state();     /* 1: torch.core */
    lua_newtable(L);
    lua_pushcclosure(L, resolve, 1); /* 2: resolver, also save's classof */
    lua_newtable(L);                 /* 3: seen */
    if (load(L, fuzz_input_path(data, size))) {
        walk(L, -1, 3);
        char path[300];
        snprintf(path, sizeof path, "%s/resaved.t7", fuzz_scratch_dir());
        long first = save(L, path);
        if (!load(L, path)) {
            fprintf(stderr, "a saved value does not load: %s\n", lua_tostring(L, -1));
            __builtin_trap();
        }
        if (save(L, path) != first) __builtin_trap();
    }
    lua_close(L);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_file(data, size);
    /* A mutated payload almost never keeps its CRC: read it again with the header's length
     * and CRC made right, so that the parser behind them is fuzzed too. */
    if (size >= 32 && !memcmp(data, "\x89LTCKPT\n", 8)) {
        uint8_t *fixed = malloc(size);
        if (!fixed) __builtin_trap();
        memcpy(fixed, data, size);
        uint64_t len = size - 32;
        uint32_t crc = lt_crc32(0, fixed + 32, len);
        for (int i = 0; i < 8; i++) fixed[16 + i] = (uint8_t)(len >> (8 * i));
        for (int i = 0; i < 4; i++) fixed[24 + i] = (uint8_t)(crc >> (8 * i));
        check_file(fixed, size);
        free(fixed);
    }
    return 0;
}
