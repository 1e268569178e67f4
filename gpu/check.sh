#!/bin/sh
# gpu/check.sh — the CUDA checks for a machine with an NVIDIA GPU (a lent GPU machine), ending
# with a short table; exits non-zero when a check fails. Needs only a POSIX shell and the
# luatorch executable (Lua is linked into it, the CUDA runtime statically; busted is not needed).
#
#   sh gpu/check.sh --bundle   on the build machine: copies the shared libraries luatorch needs
#                              (OpenBLAS, libcurl, ... except glibc's) into $BUILD/gpu-libs, so
#                              that $BUILD/luatorch and $BUILD/gpu-libs can travel to a machine
#                              without those Debian packages
#   sh gpu/check.sh            on the GPU machine: builds if it can and must, then runs the checks
#
# BUILD=dir picks the build directory (default: build). Takes seconds; device tensors, kernels
# and benchmarks are not checked yet because they do not exist yet (gpu/README.md).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
EXE=$BUILD/luatorch
LIBDIR=$BUILD/gpu-libs

if [ "${1:-}" = "--bundle" ]; then
    [ -x "$EXE" ] || make BUILD="$BUILD" all || exit 1
    rm -rf "$LIBDIR" && mkdir -p "$LIBDIR" || exit 1
    ldd "$EXE" | awk '$3 ~ /^\// { print $3 }' | while read -r lib; do
        case $(basename "$lib") in
            libc.so*|libm.so*|libdl.so*|librt.so*|libpthread.so*|libresolv.so*|ld-linux*) ;;
            *) cp -L "$lib" "$LIBDIR/" ;;
        esac
    done
    echo "gpu/check.sh: $(ls "$LIBDIR" | wc -l) libraries ($(du -sh "$LIBDIR" | cut -f1)) in $LIBDIR"
    exit 0
fi

# Builds (or brings up to date) where the toolchain exists; elsewhere uses what was carried.
if command -v make >/dev/null && command -v cc >/dev/null && command -v lua5.4 >/dev/null; then
    make -s BUILD="$BUILD" -j"$(nproc 2>/dev/null || echo 2)" all >/dev/null || exit 1
elif [ ! -x "$EXE" ]; then
    echo "gpu/check.sh: no $EXE and no toolchain to build it here: build on a Debian machine"
    echo "  (make BUILD=$BUILD && sh gpu/check.sh --bundle) and bring $EXE and $LIBDIR along"
    exit 1
fi
[ -d "$LIBDIR" ] && export LD_LIBRARY_PATH="$PWD/$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if ! "$EXE" -e 'assert(torch)' >/dev/null 2>&1; then
    echo "gpu/check.sh: $EXE does not start here:"
    "$EXE" -e 'assert(torch)' 2>&1 | head -5
    ldd "$EXE" 2>/dev/null | grep 'not found'
    exit 1
fi

fails=0
table=""
# check NAME LUA: LUA prints the value shown in the table, or raises to fail
check() {
    if out=$("$EXE" -e "$2" 2>&1); then status=ok; else status=FAIL; fails=$((fails + 1)); fi
    out=$(printf '%s' "$out" | tr '\n' ' ' | cut -c1-90)
    table="$table$(printf '%-26s %-5s %s' "$1" "$status" "$out")
"
}

check "built with CUDA"        'assert(torch.cuda.isBuilt(), "built without CUDA"); io.write("yes")'
check "isAvailable"            'io.write(tostring(torch.cuda.isAvailable())); assert(torch.cuda.isAvailable(), torch.cuda.whyUnavailable())'
check "deviceCount"            'local n = torch.cuda.deviceCount(); io.write(n); assert(n >= 1)'
check "getDeviceProperties"    '
  assert(torch.cuda.deviceCount() >= 1, "no device")
  for i = 1, torch.cuda.deviceCount() do
    local p = torch.cuda.getDeviceProperties(i)
    assert(#p.name > 0 and p.major >= 3 and p.totalMemory > 0 and p.multiProcessorCount > 0)
    io.write(("%d: %s sm_%d%d %.1f GiB %d SMs %s; "):format(i, p.name, p.major, p.minor,
             p.totalMemory / 2^30, p.multiProcessorCount, p.pciBusID))
  end'
check "properties range"       '
  local ok, err = pcall(torch.cuda.getDeviceProperties, torch.cuda.deviceCount() + 1)
  assert(not ok and err:find("out of range"), err); io.write("error raised")'
check "synchronize"            'torch.cuda.synchronize(); io.write("ok")'
check "memGetInfo"             '
  local free, total = torch.cuda.memGetInfo()
  assert(total > 0 and free >= 0 and free <= total)
  io.write(("%.1f / %.1f GiB free"):format(free / 2^30, total / 2^30))'
check "t:cuda() (future work)" '
  local ok, err = pcall(function() return torch.ones(2):cuda() end)
  assert(not ok and err:find("not implemented yet"), err); io.write("clear error, as expected")'

echo
echo "luatorch GPU checks ($(date -u '+%Y-%m-%d %H:%M UTC'))"
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | sed 's/^/  card: /'
fi
printf '%-26s %-5s %s\n' "check" "" "value"
printf '%s' "$table"
echo "$fails failed"
[ "$fails" -eq 0 ]
