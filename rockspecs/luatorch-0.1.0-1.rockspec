-- For LuaRocks users; the project itself builds with make (LuaRocks is not used here).
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
external_dependencies = {
  OPENBLAS = { header = "cblas.h" }, ZLIB = { header = "zlib.h" }, CURL = { header = "curl/curl.h" },
  OPENSSL = { header = "openssl/evp.h" }, EDIT = { header = "histedit.h" }, CJSON = { header = "cjson/cJSON.h" },
}
build = {
  type = "make",
  build_target = "all",
  build_variables = { LUA_INC = "$(LUA_INCDIR)", CFLAGS = "$(CFLAGS)" },
  install_target = "install",
  install_variables = { PREFIX = "$(PREFIX)" },
}
