# luatorch — build, test, install.  `make help` lists the targets.
#
#   make            core library (static + shared), the Lua C module torch/core.so, the
#                   luatorch executable (Lua 5.4 linked in statically)
#   make test       installs missing Debian packages (make deps), builds, runs the busted specs
#   make test-asan  the same specs under AddressSanitizer + UBSan (LeakSanitizer included)
#   make bench      benchmarks (ratios against the BLAS floor and PyTorch when present)
#   make install    PREFIX=/usr/local DESTDIR= into the standard Lua 5.4 paths
#   make fixtures   regenerates spec/fixtures with PyTorch (needs python3-torch; not in test)

BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
LUA     ?= lua5.4
BUSTED  ?= /usr/bin/busted
VERSION := 0.1.0

LUA_INC    ?= /usr/include/lua5.4
LUA_STATIC ?= /usr/lib/x86_64-linux-gnu/liblua5.4.a
BLAS_LIBS  ?= -lopenblas

WARN    := -Wall -Wextra -Wshadow -Wpointer-arith -Wcast-qual -Wundef -Wwrite-strings \
           -Wmissing-prototypes -Wstrict-prototypes -Wno-unused-parameter
OPT     ?= -O2
CFLAGS  ?=
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(OPT) -g -fPIC -fopenmp $(WARN) -I$(LUA_INC) $(CFLAGS)
LDFLAGS ?=
LIBS    := $(BLAS_LIBS) -lm -fopenmp

CORE_SRC := $(wildcard core/*.c)
LUA_SRC  := $(filter-out lua/main.c,$(wildcard lua/*.c))
LUA_MODS := $(shell find lua -name '*.lua' | sort)
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
LUA_OBJ  := $(LUA_SRC:%.c=$(BUILD)/%.o)
HEADERS  := $(wildcard core/*.h lua/*.h)

LIB_A    := $(BUILD)/libluatorch.a
LIB_SO   := $(BUILD)/libluatorch.so
MOD_SO   := $(BUILD)/lua/torch/core.so
EXE      := $(BUILD)/luatorch

all: $(LIB_A) $(LIB_SO) $(MOD_SO) $(EXE)

$(BUILD)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# The nn kernels and optimizer updates never read errno or FP exception flags; without them
# their sqrt / exp / select loops vectorise (results are unchanged: no reassociation).
$(BUILD)/core/nnops.o $(BUILD)/core/optim.o: ALL_CFLAGS += -fno-math-errno -fno-trapping-math

$(LIB_A): $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(LIB_SO): $(CORE_OBJ)
	$(CC) -shared -o $@ $^ $(LDFLAGS) $(LIBS)

# The C module: loaded by a stock lua5.4, so it must not link liblua itself. -z nodelete:
# lua_close dlcloses C modules, which would unmap libgomp under its idle worker threads.
$(MOD_SO): $(LUA_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-z,nodelete -o $@ $(LUA_OBJ) $(LIB_A) $(LDFLAGS) $(LIBS)

# The pure-Lua modules travel inside the executable, so it runs with nothing installed.
$(BUILD)/embedded.c: tools/embed.lua $(LUA_MODS)
	@mkdir -p $(dir $@)
	$(LUA) tools/embed.lua $@ $(LUA_MODS)

# -Wl,-E exports the Lua API so C modules required at run time (busted's, users') link.
$(EXE): $(BUILD)/lua/main.o $(BUILD)/embedded.o $(LUA_OBJ) $(LIB_A)
	$(CC) -o $@ $^ $(LUA_STATIC) -Wl,-E $(LDFLAGS) $(LIBS) -ldl

$(BUILD)/embedded.o: $(BUILD)/embedded.c
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -c $< -o $@

# ---- tests -------------------------------------------------------------------------------
SPEC_ENV = LUA_PATH="$(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;$(CURDIR)/spec/?.lua;;" \
           LUA_CPATH="$(CURDIR)/$(BUILD)/lua/?.so;;" LUATORCH_EXE="$(CURDIR)/$(EXE)"

deps:
	@sh tools/deps.sh

test: deps
	$(MAKE) all
	$(SPEC_ENV) $(LUA) $(BUSTED) --output=utfTerminal spec

# Specs run inside the sanitized luatorch executable (a stock lua5.4 is not instrumented).
test-asan: deps
	$(MAKE) BUILD=build-asan OPT="-O1 -fno-omit-frame-pointer" \
	  CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  LDFLAGS="-fsanitize=address,undefined" build-asan/luatorch build-asan/lua/torch/core.so
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  LUA_PATH="$(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;$(CURDIR)/spec/?.lua;;" \
	  LUA_CPATH="$(CURDIR)/build-asan/lua/?.so;;" LUATORCH_EXE="$(CURDIR)/build-asan/luatorch" \
	  LUATORCH_ASAN=1 build-asan/luatorch $(BUSTED) --output=utfTerminal spec

bench: all
	$(SPEC_ENV) $(EXE) bench/run.lua

fixtures:
	cd spec/fixtures && /usr/bin/python3 gen_fixtures.py

# ---- install -----------------------------------------------------------------------------
LUA_LIBDIR   = $(DESTDIR)$(PREFIX)/lib/lua/5.4
LUA_SHAREDIR = $(DESTDIR)$(PREFIX)/share/lua/5.4

install: all
	install -d $(LUA_LIBDIR)/torch $(LUA_SHAREDIR) $(DESTDIR)$(PREFIX)/bin \
	  $(DESTDIR)$(PREFIX)/include/luatorch $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 $(MOD_SO) $(LUA_LIBDIR)/torch/core.so
	cd lua && find . -name '*.lua' -exec install -D -m 644 {} $(LUA_SHAREDIR)/{} \;
	install -m 755 $(EXE) $(DESTDIR)$(PREFIX)/bin/luatorch
	install -m 644 $(LIB_A) $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 core/lt.h $(DESTDIR)$(PREFIX)/include/luatorch/lt.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' tools/luatorch.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/luatorch.pc

clean:
	rm -rf build build-asan build-*

help:
	@sed -n '1,12p' Makefile

.PHONY: all deps test test-asan bench fixtures install clean help
