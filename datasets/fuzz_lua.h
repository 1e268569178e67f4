/*
 * fuzz_lua.h — what the libFuzzer harnesses of the Lua-side readers share (fuzz_checkpoint.c,
 * fuzz_safetensors.c): a fresh Lua state with torch.core opened for each input, the input
 * handed to the reader as a file (a memfd: the reader's own open/fstat/read path runs, with
 * no disk), and a scratch directory for the save half of the round trips.
 */
#ifndef LT_FUZZ_LUA_H
#define LT_FUZZ_LUA_H

#include <stddef.h>
#include <stdint.h>

#include <lauxlib.h>
#include <lua.h>

#include "../core/lt.h"

/* A new state with torch.core's table on its stack (index 1). */
lua_State *fuzz_state(void);
/* A path naming a file that holds exactly data[0..size) (the same path every call). */
const char *fuzz_input_path(const uint8_t *data, size_t size);
/* A directory of this process for the files a harness writes (created once, removed at
 * exit). */
const char *fuzz_scratch_dir(void);
/* Traps unless the value on top of L's stack is a string starting with prefix; prints it
 * when FUZZ_VERBOSE is set (to see why a reproduced input is refused). */
void fuzz_expect_error(lua_State *L, const char *prefix);

#endif
