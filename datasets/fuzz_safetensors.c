/*
 * fuzz_safetensors.c — libFuzzer harness for torch.loadSafetensors's reader
 * (lua/lsafetensors.c); `make fuzz FUZZ_TARGET=safetensors`.
 *
 * Each input is a file given to torch.core._loadSafetensors in a fresh Lua state. Checked: it
 * fails with a message starting "torch.loadSafetensors: ", or it returns a table of
 * contiguous CPU tensors (each one's first and last byte read, so ASan sees them) and a table
 * of metadata strings; then what was loaded saves again, loads again, and comes back the same:
 * the same names, dtypes, shapes and bytes, the same metadata. Crashes, leaks (lua_close
 * frees everything a load made) and allocations the input cannot justify are the
 * sanitizers' and -malloc_limit_mb's to catch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_lua.h"
#include "../lua/lt_lua.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch(const lt_tensor *t)
{
    if (t->dtype != t->storage->dtype || t->storage->device != LT_CPU) __builtin_trap();
    int64_t numel = lt_numel(t);
    if (numel == 0) return;
    if (!lt_is_contiguous(t) || t->offset + numel > t->storage->numel) __builtin_trap();
    size_t nbytes = (size_t)numel * lt_dtype_size(t->dtype);
    volatile const unsigned char *p = lt_data(t);
    (void)p[0];
    (void)p[nbytes - 1];
}

/* Pushes tensors, metadata and returns 1, or pushes the message and returns 0. */
static int load(lua_State *L, const char *path)
{
    lua_getfield(L, 1, "_loadSafetensors");
    lua_pushstring(L, path);
    if (lua_pcall(L, 1, 2, 0) == LUA_OK) return 1;
    fuzz_expect_error(L, "torch.loadSafetensors: ");
    return 0;
}

static int same_tensor(const lt_tensor *a, const lt_tensor *b)
{
    if (!a || !b || a->dtype != b->dtype || !lt_same_shape(a, b)) return 0;
    size_t n = (size_t)lt_numel(a) * lt_dtype_size(a->dtype);
    return n == 0 || !memcmp(lt_data(a), lt_data(b), n);
}

/* Traps unless the tables at a and b have the same keys and equal values (tensors or
 * strings). */
static void same_table(lua_State *L, int a, int b)
{
    for (int pass = 0; pass < 2; pass++) {
        int x = pass ? b : a, y = pass ? a : b;
        for (lua_pushnil(L); lua_next(L, x); lua_pop(L, 1)) {
            lua_pushvalue(L, -2);
            lua_rawget(L, y);
            lt_tensor *t = ltL_totensor(L, -2);
            if (t ? !same_tensor(t, ltL_totensor(L, -1)) : !lua_rawequal(L, -1, -2)) {
                fprintf(stderr, "'%s' differs after a save and load\n", lua_tostring(L, -3));
                __builtin_trap();
            }
            lua_pop(L, 1);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lua_State *L = fuzz_state();      /* 1: torch.core */
    if (load(L, fuzz_input_path(data, size))) {   /* 2: tensors, 3: metadata */
        for (lua_pushnil(L); lua_next(L, 2); lua_pop(L, 1)) {
            lt_tensor *t = ltL_totensor(L, -1);
            if (lua_type(L, -2) != LUA_TSTRING || !t) __builtin_trap();
            touch(t);
        }
        for (lua_pushnil(L); lua_next(L, 3); lua_pop(L, 1))
            if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) __builtin_trap();
        char path[300];
        snprintf(path, sizeof path, "%s/resaved.safetensors", fuzz_scratch_dir());
        lua_getfield(L, 1, "_saveSafetensors");
        lua_pushstring(L, path);
        lua_pushvalue(L, 2);
        lua_pushvalue(L, 3);
        if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
            fprintf(stderr, "a loaded file does not save: %s\n", lua_tostring(L, -1));
            __builtin_trap();
        }
        if (!load(L, path)) {         /* 4: tensors, 5: metadata */
            fprintf(stderr, "a saved file does not load: %s\n", lua_tostring(L, -1));
            __builtin_trap();
        }
        same_table(L, 2, 4);
        same_table(L, 3, 5);
    }
    lua_close(L);
    return 0;
}
