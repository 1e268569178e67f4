-- For LuaRocks users; the project itself builds with make. Checked by hand on 2026-11-27 with
-- Debian's luarocks 3.8: `luarocks --lua-version 5.4 make rockspecs/luatorch-0.1.0-1.rockspec
-- --tree T`, then `require 'torch'` / 'nn' and datasets.MNIST from T (not run in CI). The C
-- library and its pkg-config files land beside torch/core.so there (harmless; C extensions
-- build against a `make install` prefix instead).
-- `make install` puts the C module, every Lua module (torch, nn, optim, datasets, transforms),
-- the luatorch executable, the headers, the pkg-config files and the bundled MNIST subset
-- under PREFIX, in the standard Lua 5.4 paths.
package = "luatorch"
version = "0.1.0-1"
source = { url = "git+https://example.invalid/luatorch.git", tag = "v0.1.0" }
description = {
  summary = "Torch7-style deep learning for Lua 5.4: C tensor core, autograd, nn, optim, LSTM",
  license = "MIT",
}
dependencies = { "lua >= 5.4, < 5.5" }
-- OpenBLAS and curl by their libraries: Debian puts their headers under the multiarch include
-- directory (/usr/include/x86_64-linux-gnu), where LuaRocks does not look for headers; the
-- Makefile finds them itself.
external_dependencies = {
  OPENBLAS = { library = "openblas" }, ZLIB = { header = "zlib.h" }, CURL = { library = "curl" },
  OPENSSL = { header = "openssl/evp.h" }, EDIT = { header = "histedit.h" }, CJSON = { header = "cjson/cJSON.h" },
}
build = {
  type = "make",
  build_target = "all",
  build_variables = { LUA_INC = "$(LUA_INCDIR)", CFLAGS = "$(CFLAGS)" },
  install_target = "install",
  -- modules where LuaRocks deploys them from; the MNIST subset beside the datasets module
  -- (lua/datasets/init.lua looks there)
  install_variables = { PREFIX = "$(PREFIX)", LUA_LIBDIR = "$(LIBDIR)", LUA_SHAREDIR = "$(LUADIR)",
                        DATADIR = "$(LUADIR)/datasets/data" },
}
