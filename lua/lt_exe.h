/*
 * lt_exe.h — what the two programs that embed Lua share (lua/main.c, the luatorch executable,
 * and jupyter/kernel.cpp, the Jupyter kernel): the searcher of the pure-Lua modules compiled
 * into the binary, the traceback message handler, and a protected call that Ctrl-C / a
 * kernel interrupt (SIGINT) stops at the next Lua instruction. Not part of torch/core.so.
 */
#ifndef LT_EXE_H
#define LT_EXE_H

#include <lua.h>

#ifdef __cplusplus
extern "C" {
#endif

/* package.preload['torch.core'] and a searcher of the embedded modules right after preload */
void lt_exe_install_searcher(lua_State *L);

/* the message handler of lua.c: the message (or its __tostring) with a traceback */
int lt_exe_msghandler(lua_State *L);

/* lua_CFunction eval(f, ...) -> true, results... | false, message-with-traceback. While f runs,
 * SIGINT raises "interrupted!" inside it (a hook at the next Lua instruction); the third SIGINT
 * during one call kills the process (a call stuck in C never reaches an instruction). The
 * SIGINT handler in place before the call is restored after it. */
int lt_exe_eval(lua_State *L);

#ifdef __cplusplus
}
#endif

#endif
