-- For LuaRocks users; the project itself builds with make (LuaRocks is not used here).
package = "luatorch"
version = "0.1.0-1"
source = { url = "git+https://example.invalid/luatorch.git", tag = "v0.1.0" }
description = {
  summary = "Torch7-style tensors for Lua 5.4 with a C core and OpenBLAS",
  license = "MIT",
}
dependencies = { "lua >= 5.4, < 5.5" }
external_dependencies = { OPENBLAS = { header = "cblas.h" } }
build = {
  type = "make",
  build_variables = { LUA_INC = "$(LUA_INCDIR)", CFLAGS = "$(CFLAGS)" },
  install_variables = { PREFIX = "$(PREFIX)" },
  install = {
    lib = { ["torch.core"] = "build/lua/torch/core.so" },
    lua = { ["torch"] = "lua/torch/init.lua" },
    bin = { luatorch = "build/luatorch" },
  },
}
