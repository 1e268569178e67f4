/*
 * fuzz_lua.c — the helpers of fuzz_lua.h (linked into each Lua-side fuzz target only).
 */
#include "fuzz_lua.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int luaopen_torch_core(lua_State *L);

lua_State *fuzz_state(void)
{
    lua_State *L = luaL_newstate();
    if (!L) __builtin_trap();
    luaL_openlibs(L);
    luaL_requiref(L, "torch.core", luaopen_torch_core, 0);
    return L;
}

const char *fuzz_input_path(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        /* a memfd is a regular file: lt_read_file's checks pass as for a file on disk */
        fd = memfd_create("fuzz-input", MFD_CLOEXEC);
        if (fd < 0) __builtin_trap();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0) __builtin_trap();
    for (size_t done = 0; done < size;) {
        ssize_t k = pwrite(fd, data + done, size - done, (off_t)done);
        if (k <= 0) __builtin_trap();
        done += (size_t)k;
    }
    return path;
}

static char scratch[256];

/* at exit: the scratch directory and the files the harness left in it */
static void remove_scratch(void)
{
    DIR *d = opendir(scratch);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    rmdir(scratch);
}

const char *fuzz_scratch_dir(void)
{
    if (!scratch[0]) {
        /* tmpfs when there is one: the saves fsync */
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(scratch, sizeof scratch, "%s/luatorch-fuzz-XXXXXX", base);
        if (!mkdtemp(scratch)) __builtin_trap();
        atexit(remove_scratch);
    }
    return scratch;
}

void fuzz_expect_error(lua_State *L, const char *prefix)
{
    const char *msg = lua_tostring(L, -1);
    if (getenv("FUZZ_VERBOSE")) fprintf(stderr, "%s\n", msg ? msg : "(not a string)");
    if (!msg || strncmp(msg, prefix, strlen(prefix)) != 0) {
        fprintf(stderr, "unexpected error: %s\n", msg ? msg : "(not a string)");
        __builtin_trap();
    }
}
