# luatorch — build, test, install.  `make help` lists the targets.
#
#   make            core library (static + shared), the Lua C module torch/core.so, the
#                   luatorch executable (Lua 5.4 linked in statically)
#   make demo       installs missing Debian packages (make deps), builds, trains the seed LSTM
#   make test       installs missing Debian packages (make deps), builds, runs the busted specs
#                   (then the GPU specs against the host emulation of CUDA: make test-cuda-emu)
#   make test-asan  the same specs under AddressSanitizer + UBSan (LeakSanitizer included),
#                   the emulated GPU specs too (make test-cuda-emu-asan), then the bad-argument
#                   sweep (make sweep-asan)
#   make sweep      the bad-argument sweep (tools/sweep.lua) on the normal build
#   make test-extension  examples/c_extension built against a staged install, and its spec
#   make bench      benchmarks (ratios against the BLAS floor and PyTorch when present)
#   make bench-venv a virtualenv with PyTorch 2.x from PyPI and numpy for make bench's PyTorch 2.x
#                   columns (optional, not in test): build/venv-torch, PYTORCH_VENV=dir elsewhere,
#                   TORCH_VERSION=2.15.0 the version (sh tools/deps.sh bench: python3-venv)
#   make install    PREFIX=/usr/local DESTDIR= into the standard Lua 5.4 paths
#   make fixtures   regenerates spec/fixtures with PyTorch (needs python3-torch; not in test)
#   make docs       regenerates docs/API.md from the help entries (lua/torch/help.lua)
#   make fuzz       the IDX, checkpoint and safetensors readers under libFuzzer (clang:
#                   sh tools/deps.sh fuzz; FUZZ_TARGET=checkpoint runs one)

BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
LUA     ?= lua5.4
BUSTED  ?= /usr/bin/busted
# the version is the public C API's (include/luatorch.h)
VERSION := $(shell sed -n 's/^.define LUATORCH_VERSION_STRING "\(.*\)"/\1/p' include/luatorch.h)

LUA_INC    ?= /usr/include/lua5.4
LUA_STATIC ?= /usr/lib/x86_64-linux-gnu/liblua5.4.a
# OpenBLAS built with OpenMP: its GEMMs and our OpenMP loops share one thread pool. The default
# (pthreads) variant keeps its own spinning threads, which starve OpenMP's on a small machine.
BLAS_DIR   ?= /usr/lib/x86_64-linux-gnu/openblas-openmp
BLAS_INC   ?= /usr/include/x86_64-linux-gnu/openblas-openmp
BLAS_LIBS  ?= -L$(BLAS_DIR) -Wl,-rpath,$(BLAS_DIR) -lopenblas

WARN    := -Wall -Wextra -Wshadow -Wpointer-arith -Wcast-qual -Wundef -Wwrite-strings \
           -Wmissing-prototypes -Wstrict-prototypes -Wno-unused-parameter
OPT     ?= -O2
CFLAGS  ?=
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(OPT) -g -fPIC -fopenmp $(WARN) -I$(BLAS_INC) -I$(LUA_INC) $(CFLAGS)
LDFLAGS ?=
LIBS    := $(BLAS_LIBS) -lm -fopenmp -lcurl -lcrypto -lz -lcjson

# ---- oneDNN (Debian libdnnl-dev): CPU matrix products and convolutions where it is faster
# than OpenBLAS (core/dnnl.c). Used whenever its header is found; `make DNNL=0` (or a machine
# without it) keeps OpenBLAS for everything.
DNNL     ?= 1
DNNL_INC ?= /usr/include/oneapi/dnnl/dnnl.h
ifeq ($(DNNL)$(wildcard $(DNNL_INC)),1$(DNNL_INC))
  DNNL_ON    := 1
  DNNL_WHY   := used (from $(DNNL_INC))
  ALL_CFLAGS += -DLT_HAVE_DNNL
  LIBS       += -ldnnl
else
  DNNL_ON    := 0
  DNNL_WHY   := skipped ($(if $(filter 0,$(DNNL)),DNNL=0,no $(DNNL_INC))): OpenBLAS only
endif

# ---- CUDA (gpu/): compiled whenever nvcc is found, so the CUDA code never rots; `make CUDA=0`
# builds a CPU-only toolkit (gpu/stub.c answers "built without CUDA"). The CUDA runtime is
# linked statically: the binaries then need only the NVIDIA driver, not the toolkit.
CUDA    ?= 1
NVCC    ?= $(firstword $(wildcard /usr/local/cuda/bin/nvcc) $(shell command -v nvcc 2>/dev/null))
CXX     ?= g++
ifeq ($(CUDA),0)
  CUDA_ON  := 0
  CUDA_WHY := skipped (CUDA=0)
else ifeq ($(CUDA),emu)
  # gpu/*.cu compiled as C++ against gpu/emu/: the backend's host logic and kernels run on
  # the CPU (see gpu/emu/cuda_emu.h); for tests on machines without a GPU
  CUDA_ON  := emu
  CUDA_WHY := emulated on the host (CUDA=emu: gpu/emu)
else ifeq ($(NVCC),)
  CUDA_ON  := 0
  CUDA_WHY := skipped (no nvcc in /usr/local/cuda/bin or on PATH)
else
  CUDA_HOME   ?= $(patsubst %/bin/,%,$(dir $(realpath $(NVCC))))
  CUDA_LIBDIR ?= $(patsubst %/libcudart_static.a,%,$(firstword $(wildcard \
                   $(CUDA_HOME)/lib64/libcudart_static.a \
                   $(CUDA_HOME)/targets/x86_64-linux/lib/libcudart_static.a)))
  ifeq ($(CUDA_LIBDIR),)
    CUDA_ON  := 0
    CUDA_WHY := skipped (no libcudart_static.a under $(CUDA_HOME))
  else
    CUDA_ON  := 1
    CUDA_WHY := built with $(NVCC) (sm_80, sm_90 + compute_90 PTX)
  endif
endif
ifeq ($(MAKELEVEL),0)
  $(info luatorch: CUDA $(CUDA_WHY))
  $(info luatorch: oneDNN $(DNNL_WHY))
endif
# sm_80 (A100) and sm_90 (H100/H200) code, plus compute_90 PTX that newer GPUs JIT-compile.
NVCC_ARCH  ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=[sm_90,compute_90]
NVCC_FLAGS ?= -O2 -g -std=c++17 -Xcompiler -fPIC,-Wall,-Wextra $(NVCC_ARCH)
ifeq ($(CUDA_ON),1)
  GPU_SRC    := $(wildcard gpu/*.cu)
  GPU_OBJ    := $(GPU_SRC:%.cu=$(BUILD)/%.o)
  ALL_CFLAGS += -DLT_HAVE_CUDA
  # cuBLAS is loaded at run time (gpu/blas.cu): the toolkit has no static cuBLAS, and its
  # shared one (600 MB with cuBLASLt) cannot travel to a GPU machine, which has PyTorch's.
  LIBS       += -L$(CUDA_LIBDIR) -lcudart_static -ldl -lrt -lpthread -lstdc++
else ifeq ($(CUDA_ON),emu)
  GPU_SRC    := $(wildcard gpu/*.cu)
  GPU_OBJ    := $(GPU_SRC:%.cu=$(BUILD)/%.o) $(BUILD)/gpu/emu/emu.o
  ALL_CFLAGS += -DLT_HAVE_CUDA
  LIBS       += -lstdc++ -lpthread
else
  GPU_OBJ    := $(BUILD)/gpu/stub.o
endif
# Objects built with and without CUDA must not mix: a change of the setting rebuilds them.
CUDA_STAMP := $(BUILD)/cuda-config
ifeq ($(filter clean help docs bench-venv,$(MAKECMDGOALS)),)
  $(shell mkdir -p $(BUILD) && (echo $(CUDA_ON) $(DNNL_ON) | cmp -s - $(CUDA_STAMP) || echo $(CUDA_ON) $(DNNL_ON) > $(CUDA_STAMP)))
endif

CORE_SRC := $(filter-out datasets/fuzz_%.c,$(wildcard core/*.c datasets/*.c))
LUA_SRC  := $(filter-out lua/main.c lua/lt_exe.c,$(wildcard lua/*.c))
LUA_MODS := $(shell find lua -name '*.lua' | sort)
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o) $(GPU_OBJ)
LUA_OBJ  := $(LUA_SRC:%.c=$(BUILD)/%.o)
HEADERS  := $(filter-out datasets/fuzz_%.h,$(wildcard include/*.h core/*.h lua/*.h datasets/*.h gpu/*.h)) $(CUDA_STAMP)

LIB_A    := $(BUILD)/libluatorch.a
LIB_SO   := $(BUILD)/libluatorch.so
MOD_SO   := $(BUILD)/lua/torch/core.so
EXE      := $(BUILD)/luatorch

all: $(LIB_A) $(LIB_SO) $(MOD_SO) $(EXE)

$(BUILD)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

ifeq ($(CUDA_ON),emu)
EMU_CXXFLAGS := -std=c++17 -O2 -g -fPIC -fopenmp -Wall -Wextra -Wno-unused-parameter \
                -DLT_CUDA_EMU -I$(BLAS_INC) $(CFLAGS)
$(BUILD)/gpu/%.o: gpu/%.cu $(HEADERS) gpu/gpu_internal.h gpu/emu/cuda_emu.h
	@mkdir -p $(dir $@)
	$(CXX) $(EMU_CXXFLAGS) -x c++ -c $< -o $@
$(BUILD)/gpu/emu/emu.o: gpu/emu/emu.cc gpu/emu/cuda_emu.h
	@mkdir -p $(dir $@)
	$(CXX) $(EMU_CXXFLAGS) -c $< -o $@
else
$(BUILD)/gpu/%.o: gpu/%.cu $(HEADERS) gpu/gpu_internal.h
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_FLAGS) -c $< -o $@
# NCCL is dlopen'ed (gpu/nccl.cu); the toolkit's library directory is one place it looks
$(BUILD)/gpu/nccl.o: NVCC_FLAGS += -DLT_CUDA_LIBDIR='"$(CUDA_LIBDIR)"'
endif

# The nn kernels, optimizer updates and elementwise ops never read errno or FP exception flags;
# without them their sqrt / exp / select loops vectorise (results are unchanged: no reassociation).
$(BUILD)/core/nnops.o $(BUILD)/core/optim.o $(BUILD)/core/pointwise.o: ALL_CFLAGS += -fno-math-errno -fno-trapping-math
# The fused LSTM passes also contract a * b + c into FMAs (in their AVX2 / AVX-512 builds).
$(BUILD)/core/lstm.o $(BUILD)/core/rnn.o: ALL_CFLAGS += -fno-math-errno -fno-trapping-math -ffp-contract=fast

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

# ---- distributed (issue 19): the MPI binding is its own module, distributed.core, built only
# when mpicc is found and linked with libmpi through mpicc's own flags, so luatorch and
# torch.core never depend on MPI (docs/ARCHITECTURE.md, "Distributed"). -z nodelete as for
# core.so: libmpi stays mapped after lua_close (its threads; leak reports name it).
MPICC    ?= $(shell command -v mpicc 2>/dev/null)
DIST_SO  := $(BUILD)/lua/distributed/core.so
ifneq ($(MPICC),)
all: $(DIST_SO)
$(DIST_SO): lua/distributed/core.c include/luatorch.h gpu/lt_nccl.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -pthread -Iinclude $(shell $(MPICC) --showme:compile) -shared -Wl,-z,nodelete -o $@ $< \
	  $(LDFLAGS) $(shell $(MPICC) --showme:link)
# the bare MPI_Allreduce that bench/distributed.lua measures dist.allReduce against
all: $(BUILD)/bench/mpi_allreduce
$(BUILD)/bench/mpi_allreduce: bench/mpi_allreduce.c
	@mkdir -p $(dir $@)
	$(MPICC) -O2 -Wall -o $@ $<
endif
# The NCCL loader (gpu/nccl.cu) against the real libnccl, in one process without MPI (spec 53,
# gpu/check.sh): built with the CUDA backend, real or emulated.
ifneq ($(CUDA_ON),0)
all: $(BUILD)/nccl_check
$(BUILD)/nccl_check: tools/nccl_check.c $(LIB_A) $(HEADERS)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB_A) $(LDFLAGS) $(LIBS)
endif
# ---- end distributed

# ---- the Jupyter kernel (issue 20): luatorch-kernel (jupyter/kernel.cpp) on xeus, the Jupyter
# protocol library behind xeus-lua (Debian xeus-dev with nlohmann-json3-dev, libzmq3-dev,
# cppzmq-dev), built whenever xeus' and cppzmq's headers are found; JUPYTER=0 leaves it out.
# Its kernelspec (kernel.json naming this build's kernel, the logos) is made in
# $(BUILD)/share/jupyter/kernels/luatorch: JUPYTER_PATH=$(BUILD)/share/jupyter finds it there,
# `luatorch --install-kernel [--user]` copies it, `make install` installs one for PREFIX.
JUPYTER   ?= 1
XEUS_INC  ?= /usr/include/xeus/xkernel.hpp
CPPZMQ_INC ?= /usr/include/zmq.hpp
ifeq ($(JUPYTER)$(wildcard $(XEUS_INC))$(wildcard $(CPPZMQ_INC)),1$(XEUS_INC)$(CPPZMQ_INC))
  JUPYTER_ON  := 1
  JUPYTER_WHY := built on xeus ($(XEUS_INC)): $(BUILD)/luatorch-kernel
else
  JUPYTER_ON  := 0
  JUPYTER_WHY := skipped ($(if $(filter 0,$(JUPYTER)),JUPYTER=0,no $(XEUS_INC) or $(CPPZMQ_INC): make deps installs xeus-dev and cppzmq-dev))
endif
ifeq ($(MAKELEVEL),0)
  $(info luatorch: Jupyter kernel $(JUPYTER_WHY))
endif
KERNEL := $(BUILD)/luatorch-kernel
KSPEC  := $(BUILD)/share/jupyter/kernels/luatorch
KERNEL_LOGOS := jupyter/logo-32x32.png jupyter/logo-64x64.png
# the kernel and its kernelspec, relative to a build directory (test-asan builds them too)
KERNEL_FILES := luatorch-kernel share/jupyter/kernels/luatorch/kernel.json \
                $(KERNEL_LOGOS:jupyter/%=share/jupyter/kernels/luatorch/%)
ifeq ($(JUPYTER_ON),1)
all: $(addprefix $(BUILD)/,$(KERNEL_FILES))
endif

# C++17 for xeus; CFLAGS (the sanitizers) apply here too
$(BUILD)/jupyter/kernel.o: jupyter/kernel.cpp lua/lt_exe.h include/luatorch.h
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 $(OPT) -g -Wall -Wextra -I$(LUA_INC) $(CFLAGS) -c $< -o $@

# the executable's Lua state: the same objects as $(EXE), xeus' main loop instead of main.c's
$(KERNEL): $(BUILD)/jupyter/kernel.o $(BUILD)/lua/lt_exe.o $(BUILD)/embedded.o $(LUA_OBJ) $(LIB_A)
	$(CXX) -o $@ $^ $(LUA_STATIC) -Wl,-E $(LDFLAGS) $(LIBS) -lxeus -lzmq -lcrypto -ldl -lpthread

$(KSPEC)/kernel.json: jupyter/kernel.json.in
	@mkdir -p $(dir $@)
	sed 's|@KERNEL@|$(CURDIR)/$(KERNEL)|' $< > $@.tmp && mv $@.tmp $@

$(KSPEC)/%.png: jupyter/%.png
	@mkdir -p $(dir $@)
	cp $< $@
# ---- end Jupyter

# The pure-Lua modules travel inside the executable, so it runs with nothing installed.
$(BUILD)/embedded.c: tools/embed.lua $(LUA_MODS)
	@mkdir -p $(dir $@)
	$(LUA) tools/embed.lua $@ $(LUA_MODS)

# -Wl,-E exports the Lua API so C modules required at run time (busted's, users') link.
# libedit (BSD licence) gives the REPL its line editing and history.
$(EXE): $(BUILD)/lua/main.o $(BUILD)/lua/lt_exe.o $(BUILD)/embedded.o $(LUA_OBJ) $(LIB_A)
	$(CC) -o $@ $^ $(LUA_STATIC) -Wl,-E $(LDFLAGS) $(LIBS) -ledit -ldl

$(BUILD)/embedded.o: $(BUILD)/embedded.c
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -c $< -o $@

# ---- tests -------------------------------------------------------------------------------
# utfTerminal's output with the specs pending for want of a GPU summed up, a line per file
BUSTED_OUT = --output=$(CURDIR)/spec/summary_output.lua
SPEC_ENV = LUA_PATH="$(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;$(CURDIR)/spec/?.lua;;" \
           LUA_CPATH="$(CURDIR)/$(BUILD)/lua/?.so;;" LUATORCH_EXE="$(CURDIR)/$(EXE)"

deps:
	@sh tools/deps.sh

test: deps
	$(MAKE) all
	$(SPEC_ENV) $(LUA) $(BUSTED) $(BUSTED_OUT) spec
	$(MAKE) test-cuda-emu
	$(MAKE) test-extension
	$(MAKE) sweep SWEEP_ARGS="--sample 4"

# The GPU specs against the host emulation of CUDA (gpu/emu): without a GPU they are pending in
# the build above; here the backend's code and kernels run on the CPU, and each test's name ends
# in " [emulated device]". Only the executable and the C module are built (in build-emu/).
EMU_BUILD  = build-emu
CUDA_SPECS = spec/29-cuda_spec.lua $(sort $(wildcard spec/3*-cuda_*_spec.lua)) spec/42-train_utils_spec.lua \
             spec/50-cuda_rnn_spec.lua spec/53-cuda_distributed_spec.lua spec/55-bfloat16_spec.lua \
             spec/58-math_spec.lua spec/59-linalg_spec.lua spec/60-math2_spec.lua \
             spec/62-attention_spec.lua

test-cuda-emu: deps
	$(MAKE) BUILD=$(EMU_BUILD) CUDA=emu $(EMU_BUILD)/luatorch $(EMU_BUILD)/lua/torch/core.so \
	  $(EMU_BUILD)/nccl_check $(if $(MPICC),$(EMU_BUILD)/lua/distributed/core.so)
	LUA_PATH="$(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;$(CURDIR)/spec/?.lua;;" \
	  LUA_CPATH="$(CURDIR)/$(EMU_BUILD)/lua/?.so;;" LUATORCH_EXE="$(CURDIR)/$(EMU_BUILD)/luatorch" \
	  $(LUA) $(BUSTED) $(BUSTED_OUT) $(CUDA_SPECS)

# The C extension example is built out of tree against a staged install (its luatorch.h and
# luatorch.pc only), then its spec runs under a stock lua5.4 and under the luatorch executable,
# so a change that breaks the public C API fails `make test`.
STAGE   = $(CURDIR)/$(BUILD)/stage
EXT_OUT = $(CURDIR)/$(BUILD)/ext
EXT_ENV = LUA_PATH="$(CURDIR)/examples/c_extension/?.lua;$(STAGE)/share/lua/5.4/?.lua;$(STAGE)/share/lua/5.4/?/init.lua;;" \
          LUA_CPATH="$(EXT_OUT)/?.so;$(STAGE)/lib/lua/5.4/?.so;;"

test-extension: all
	rm -rf $(STAGE) $(EXT_OUT)
	$(MAKE) -s install PREFIX=$(STAGE)
	PKG_CONFIG_PATH=$(STAGE)/lib/pkgconfig $(MAKE) -C examples/c_extension O=$(EXT_OUT)
	cd examples/c_extension && $(EXT_ENV) $(LUA) $(BUSTED) $(BUSTED_OUT) spec
	cd examples/c_extension && $(EXT_ENV) $(STAGE)/bin/luatorch $(BUSTED) $(BUSTED_OUT) spec

# Specs run inside the sanitized luatorch executable (a stock lua5.4 is not instrumented).
test-asan: deps
	$(MAKE) BUILD=build-asan OPT="-O1 -fno-omit-frame-pointer" \
	  CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  LDFLAGS="-fsanitize=address,undefined" build-asan/luatorch build-asan/lua/torch/core.so \
	  $(if $(MPICC),build-asan/lua/distributed/core.so) \
	  $(if $(filter 1,$(JUPYTER_ON)),$(addprefix build-asan/,$(KERNEL_FILES)))
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  LUA_PATH="$(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;$(CURDIR)/spec/?.lua;;" \
	  LUA_CPATH="$(CURDIR)/build-asan/lua/?.so;;" LUATORCH_EXE="$(CURDIR)/build-asan/luatorch" \
	  LUATORCH_ASAN=1 build-asan/luatorch $(BUSTED) $(BUSTED_OUT) spec
	$(MAKE) test-extension-asan
	$(MAKE) test-cuda-emu-asan
	$(MAKE) sweep-asan

# The bad-argument sweep (tools/sweep.lua; its header says what it calls and what fails): every
# public function, method, operator and nn module called with wrong arguments, each batch in a
# child luatorch; fails on a crash, sanitizer report, hang or raw Lua error. `make test` runs one
# case in 4 (SWEEP_ARGS), test-asan all of them (about 85,000 calls).
SWEEP_ARGS ?=
sweep: all
	LUA_CPATH="$(CURDIR)/$(BUILD)/lua/?.so;;" $(EXE) tools/sweep.lua --exe $(EXE) --out $(BUILD)/sweep-failures.txt $(SWEEP_ARGS)

sweep-asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -fno-omit-frame-pointer" \
	  CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  LDFLAGS="-fsanitize=address,undefined" build-asan/luatorch build-asan/lua/torch/core.so \
	  $(if $(MPICC),build-asan/lua/distributed/core.so)
	LUATORCH_ASAN=1 ASAN_OPTIONS=detect_leaks=1 LUA_CPATH="$(CURDIR)/build-asan/lua/?.so;;" \
	  build-asan/luatorch tools/sweep.lua \
	  --exe build-asan/luatorch --out build-asan/sweep-failures.txt $(SWEEP_ARGS)

# The GPU specs on the emulated device under the sanitizers: the backend's host code (allocator,
# staging copies, routing, autograd on device tensors) and its kernels as host code.
test-cuda-emu-asan: deps
	$(MAKE) BUILD=build-emu-asan CUDA=emu OPT="-O1 -fno-omit-frame-pointer" \
	  CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  LDFLAGS="-fsanitize=address,undefined" build-emu-asan/luatorch build-emu-asan/lua/torch/core.so \
	  build-emu-asan/nccl_check $(if $(MPICC),build-emu-asan/lua/distributed/core.so)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  LUA_PATH="$(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;$(CURDIR)/spec/?.lua;;" \
	  LUA_CPATH="$(CURDIR)/build-emu-asan/lua/?.so;;" LUATORCH_EXE="$(CURDIR)/build-emu-asan/luatorch" \
	  LUATORCH_ASAN=1 build-emu-asan/luatorch $(BUSTED) $(BUSTED_OUT) $(CUDA_SPECS)

# The C extension example under the sanitizers too, compiled with the source tree's luatorch.h
# (through the same pkg-config file) and run inside $(ASAN_DIR)/luatorch.
ASAN_DIR ?= build-asan
test-extension-asan:
	rm -rf $(ASAN_DIR)/ext
	@mkdir -p $(ASAN_DIR)/pkgconfig
	sed -e 's|@PREFIX@|$(CURDIR)|g' -e 's|@VERSION@|$(VERSION)|g' -e 's|@LUA_INC@|$(LUA_INC)|g' \
	  tools/luatorch.pc.in > $(ASAN_DIR)/pkgconfig/luatorch.pc
	$(MAKE) -C examples/c_extension O=$(CURDIR)/$(ASAN_DIR)/ext \
	  PKG_CONFIG="PKG_CONFIG_PATH=$(CURDIR)/$(ASAN_DIR)/pkgconfig pkg-config --define-variable=includedir=$(CURDIR)/include" \
	  CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"
	cd examples/c_extension && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  LUA_PATH="$(CURDIR)/examples/c_extension/?.lua;$(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;;" \
	  LUA_CPATH="$(CURDIR)/$(ASAN_DIR)/ext/?.so;;" $(CURDIR)/$(ASAN_DIR)/luatorch $(BUSTED) $(BUSTED_OUT) spec

# The seed model (nn.LSTM 28->128, Linear 128->10) on the bundled MNIST subset: SGD lr 0.1 with
# momentum 0.9 for 20 epochs (1,600 iterations), the running loss on a progress bar, then the
# test accuracy (about 96%; the seed's plain SGD needs ~6,000 iterations to get there).
demo: deps
	$(MAKE) all
	$(EXE) examples/lstm_mnist.lua --epochs 20 --momentum 0.9 --evalEvery 400

# bench/pytorch.lua finds build/venv-torch by itself; another PYTORCH_VENV is passed on
bench: all
	$(SPEC_ENV) $(if $(filter-out build/venv-torch,$(PYTORCH_VENV)),\
	  LUATORCH_PYTORCH="$(PYTORCH_VENV)/bin/python") $(EXE) bench/run.lua

# The optional PyTorch 2.x of the benchmarks (issues 16, 17): a virtualenv made by Debian's
# python3 (python3-venv; `python3` on PATH may be another one) with torch pinned and numpy
# (bench/cnn_mnist.py). The CPU-only wheel index first (~200 MB); where it cannot be reached,
# PyPI, whose Linux wheel is the CUDA build (~5 GB with its nvidia-* packages; it runs on the
# CPU as well). Nothing else needs it; `make clean` removes the default one.
PYTORCH_VENV    ?= build/venv-torch
TORCH_VERSION   ?= 2.15.0
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
VENV_PIP         = $(PYTORCH_VENV)/bin/python -m pip install --retries 1 --timeout 30
bench-venv:
	@sh tools/deps.sh bench
	test -x $(PYTORCH_VENV)/bin/python || /usr/bin/python3 -m venv $(PYTORCH_VENV)
	$(VENV_PIP) --index-url $(TORCH_CPU_INDEX) torch==$(TORCH_VERSION) numpy || \
	  $(VENV_PIP) torch==$(TORCH_VERSION) numpy
	$(PYTORCH_VENV)/bin/python -c 'import numpy, torch; print("bench-venv: torch", \
	  torch.__version__, "numpy", numpy.__version__, "in $(PYTORCH_VENV)")'

fixtures:
	cd spec/fixtures && /usr/bin/python3 gen_fixtures.py

# docs/API.md: one line per help entry (spec/38-help_spec.lua fails when it is stale)
docs:
	LUA_PATH="$(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;;" $(LUA) tools/gendocs.lua docs/API.md

# ---- fuzzing (not part of test): libFuzzer + ASan on the file readers ----------------------
# Targets: idx (datasets/idx.c), checkpoint (torch.load, lua/lserialize.c) and safetensors
# (torch.loadSafetensors, lua/lsafetensors.c). `make fuzz` runs each for FUZZ_TIME seconds,
# `make fuzz FUZZ_TARGET=checkpoint FUZZ_TIME=600` one of them longer. New inputs go to
# $(BUILD)/fuzz/corpus/<target>; the committed seeds stay in datasets/fuzz_corpus (idx) and
# datasets/fuzz_corpus_<target>, with datasets/fuzz_<target>.dict where the fuzzer needs words it
# cannot learn. Needs clang and libFuzzer (make fuzz-deps).
FUZZ_CC      ?= clang
FUZZ_TIME    ?= 60
FUZZ_TARGETS := idx checkpoint safetensors
FUZZ_TARGET  ?= $(FUZZ_TARGETS)
FUZZ_DIR      = $(BUILD)/fuzz
FUZZ_CFLAGS   = -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -fopenmp -fsanitize=address -w
FUZZ_SEEDS_idx = datasets/fuzz_corpus
FUZZ_SEEDS_checkpoint = datasets/fuzz_corpus_checkpoint
FUZZ_SEEDS_safetensors = datasets/fuzz_corpus_safetensors

fuzz-deps:
	@sh tools/deps.sh fuzz

# Only the reader is instrumented; the rest of the core comes from the library (ASan still
# checks every access the reader makes, and leaks).
$(FUZZ_DIR)/fuzz_idx: datasets/fuzz_idx.c datasets/idx.c datasets/idx.h $(LIB_A)
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer datasets/fuzz_idx.c datasets/idx.c $(LIB_A) \
	  -o $@ $(LIBS)

# The Lua-side readers run in a Lua state with torch.core opened: the reader's file is
# instrumented, the other bindings come from the build.
$(FUZZ_DIR)/fuzz_checkpoint: FUZZ_READER = lua/lserialize.c
$(FUZZ_DIR)/fuzz_safetensors: FUZZ_READER = lua/lsafetensors.c
$(FUZZ_DIR)/fuzz_checkpoint $(FUZZ_DIR)/fuzz_safetensors: $(FUZZ_DIR)/fuzz_%: datasets/fuzz_%.c \
    datasets/fuzz_lua.c datasets/fuzz_lua.h lua/lserialize.c lua/lsafetensors.c $(LUA_OBJ) $(LIB_A)
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -I$(LUA_INC) $< datasets/fuzz_lua.c $(FUZZ_READER) \
	  $(filter-out $(FUZZ_READER:%.c=$(BUILD)/%.o),$(LUA_OBJ)) $(LIB_A) $(LUA_STATIC) -o $@ $(LIBS) -ldl

# one libFuzzer run per target, each stopping make at its first finding
fuzz_run = mkdir -p $(FUZZ_DIR)/corpus/$(1) && echo "fuzz: $(1), $(FUZZ_TIME) s" && \
  $(FUZZ_DIR)/fuzz_$(1) -max_total_time=$(FUZZ_TIME) -max_len=4096 -malloc_limit_mb=64 \
    -rss_limit_mb=1024 -print_final_stats=1 $(if $(wildcard datasets/fuzz_$(1).dict),\
    -dict=datasets/fuzz_$(1).dict) $(FUZZ_DIR)/corpus/$(1) $(FUZZ_SEEDS_$(1))

fuzz: fuzz-deps $(FUZZ_TARGET:%=$(FUZZ_DIR)/fuzz_%)
	$(foreach t,$(FUZZ_TARGET),$(call fuzz_run,$(t)) && ) true

# ---- install -----------------------------------------------------------------------------
# (LuaRocks' build sets the three to its own module and data directories: the rockspec)
LUA_LIBDIR   ?= $(DESTDIR)$(PREFIX)/lib/lua/5.4
LUA_SHAREDIR ?= $(DESTDIR)$(PREFIX)/share/lua/5.4
DATADIR      ?= $(DESTDIR)$(PREFIX)/share/luatorch

install: all
	install -d $(LUA_LIBDIR)/torch $(LUA_SHAREDIR) $(DESTDIR)$(PREFIX)/bin \
	  $(DESTDIR)$(PREFIX)/include/luatorch $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 $(MOD_SO) $(LUA_LIBDIR)/torch/core.so
	if [ -f $(DIST_SO) ]; then install -D -m 755 $(DIST_SO) $(LUA_LIBDIR)/distributed/core.so; fi
	cd lua && find . -name '*.lua' -exec install -D -m 644 {} $(LUA_SHAREDIR)/{} \;
	install -m 755 $(EXE) $(DESTDIR)$(PREFIX)/bin/luatorch
	install -m 644 $(LIB_A) $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/luatorch.h $(DESTDIR)$(PREFIX)/include/luatorch/luatorch.h
	install -m 644 core/lt.h $(DESTDIR)$(PREFIX)/include/luatorch/lt.h
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 644 docs/luatorch.1 $(DESTDIR)$(PREFIX)/share/man/man1/luatorch.1
	if [ -f $(KERNEL) ]; then \
	  install -m 755 $(KERNEL) $(DESTDIR)$(PREFIX)/bin/luatorch-kernel && \
	  install -d $(DESTDIR)$(PREFIX)/share/jupyter/kernels/luatorch && \
	  sed 's|@KERNEL@|$(PREFIX)/bin/luatorch-kernel|' jupyter/kernel.json.in \
	    > $(DESTDIR)$(PREFIX)/share/jupyter/kernels/luatorch/kernel.json && \
	  install -m 644 $(KERNEL_LOGOS) $(DESTDIR)$(PREFIX)/share/jupyter/kernels/luatorch/ || exit 1; fi
	install -d $(DATADIR)/mnist-10k
	install -m 644 datasets/data/mnist-10k/* $(DATADIR)/mnist-10k/
	for pc in luatorch luatorch-core; do \
	  sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' -e 's|@LUA_INC@|$(LUA_INC)|g' \
	    -e 's|@LIBS@|$(LIBS)|g' \
	    tools/$$pc.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/$$pc.pc || exit 1; done

clean:
	rm -rf build build-asan build-*

help:
	@sed -n '1,/^$$/p' Makefile

.PHONY: sweep sweep-asan all deps test test-cuda-emu test-cuda-emu-asan test-extension test-asan test-extension-asan demo bench bench-venv fixtures docs install clean help fuzz fuzz-deps
