#!/bin/sh
# gpu/check.sh — the CUDA checks for a machine with an NVIDIA GPU (a lent GPU machine): device
# queries, every GPU spec, the GPU benchmarks beside PyTorch's, and a final table. Needs only a
# POSIX shell and the luatorch executable (Lua is linked into it, the CUDA runtime 13.0
# statically; busted is replaced by tools/minibusted.lua); PyTorch (python3) for the reference
# timings and for its copy of cuBLAS, which luatorch loads at run time. Takes 1-5 minutes.
#
#   sh gpu/check.sh --bundle   on the build machine: packs the shared libraries luatorch needs
#                              (OpenBLAS, libcurl, ... except glibc's) into
#                              $BUILD/gpu-libs/libs.tar.xz, so that $BUILD/luatorch and
#                              $BUILD/gpu-libs can travel to a machine without those packages
#   sh gpu/check.sh            on the GPU machine (or here, against `make CUDA=emu`'s build:
#                              BUILD=build-emu sh gpu/check.sh, a dry run on the host emulation)
#
# Environment: BUILD (default build); LOGDIR (default $BUILD/gpu-check): the full logs and
# results-entry.md (the table as a bench/RESULTS.md entry) are written there; LUATORCH_CUBLAS
# (a libcublas.so path: found otherwise); SPEC_TIMEOUT / BENCH_TIMEOUT / TORCH_TIMEOUT /
# MEMCHECK_TIMEOUT (seconds: 120 / 75 / 75 / 120; MEMCHECK_TIMEOUT=0 skips compute-sanitizer);
# APPEND_RESULTS=0 to leave bench/RESULTS.md alone (it is appended to only when a real device
# ran); NO_BUILD=1 to use $EXE as it is (without it, `make` brings it up to date where make, cc
# and lua5.4 exist). Exit status: 0 when every check, spec, benchmark and memcheck passed.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
EXE=$BUILD/luatorch
LIBDIR=$BUILD/gpu-libs
BUNDLE=$LIBDIR/libs.tar.xz

size_of() { du -sh "$1" 2>/dev/null | cut -f1; }

# ---- --bundle: gather and pack the shared libraries ----------------------------------------
if [ "${1:-}" = "--bundle" ]; then
    cfg=$(cat "$BUILD/cuda-config" 2>/dev/null || echo 1)
    make -s BUILD="$BUILD" CUDA="$cfg" "$EXE" >/dev/null || exit 1
    stage=$(mktemp -d) || exit 1
    ldd "$EXE" | awk '$3 ~ /^\// { print $3 }' | while read -r lib; do
        case $(basename "$lib") in
            libc.so*|libm.so*|libdl.so*|librt.so*|libpthread.so*|libresolv.so*|ld-linux*) ;;
            *) cp -L "$lib" "$stage/" || exit 1 ;;
        esac
    done || { rm -rf "$stage"; exit 1; }
    # Debian's libraries are stripped already; xz takes OpenBLAS (its kernels for every x86
    # CPU: 36 MB) to about 4 MB, the whole set from ~57 MB to ~11 MB
    rm -rf "$LIBDIR" && mkdir -p "$LIBDIR" || exit 1
    ( cd "$stage" && ls ) > "$LIBDIR/MANIFEST"
    tar -C "$stage" -cf - . | xz -T2 -6 > "$BUNDLE" || { rm -rf "$stage"; exit 1; }
    echo "gpu/check.sh: $(wc -l < "$LIBDIR/MANIFEST") libraries, $(size_of "$stage") unpacked," \
         "packed into $BUNDLE ($(size_of "$BUNDLE")); carry $EXE ($(size_of "$EXE")) and $LIBDIR"
    rm -rf "$stage"
    # what a run carries: the working tree (tracked and untracked-not-ignored files) + the two
    tree_kb=$(git ls-files -co --exclude-standard -z 2>/dev/null | du -ck --files0-from=- 2>/dev/null | tail -1 | cut -f1)
    carry_kb=$(( ${tree_kb:-0} + $(du -k "$EXE" | cut -f1) + $(du -sk "$LIBDIR" | cut -f1) ))
    echo "gpu/check.sh: a run carries about $((carry_kb / 1024)) MiB (working tree $(( ${tree_kb:-0} / 1024 )) MiB" \
         "+ $EXE + $LIBDIR) of the 64 MiB allowed"
    exit 0
fi

LOGDIR=${LOGDIR:-$BUILD/gpu-check}
mkdir -p "$LOGDIR" || exit 1
SPEC_TIMEOUT=${SPEC_TIMEOUT:-120}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-75}
TORCH_TIMEOUT=${TORCH_TIMEOUT:-75}
T0=$(date +%s)
say() { echo "== [$(( $(date +%s) - T0 )) s] $*"; }
# tmo SECONDS cmd...: the command, killed after SECONDS (exit status 124 then)
tmo() {
    if command -v timeout >/dev/null 2>&1; then timeout -k 5 "$@"; else shift; "$@"; fi
}

fails=0
problems=""
problem() { fails=$((fails + 1)); problems="$problems  - $*
"; }

say "luatorch GPU check ($(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -n))"

# ---- the executable: built where the toolchain is, else carried -----------------------------
if [ "${NO_BUILD:-0}" != 1 ] && command -v make >/dev/null && command -v cc >/dev/null &&
   command -v lua5.4 >/dev/null; then
    cfg=$(cat "$BUILD/cuda-config" 2>/dev/null || echo 1)
    say "building $EXE (CUDA=$cfg)"
    make -s BUILD="$BUILD" CUDA="$cfg" -j"$(nproc 2>/dev/null || echo 2)" "$EXE" >/dev/null || exit 1
    make -s BUILD="$BUILD" CUDA="$cfg" "$BUILD/nccl_check" >/dev/null 2>&1   # (optional: see NCCL below)
elif [ ! -x "$EXE" ]; then
    echo "gpu/check.sh: no $EXE and no toolchain to build it here: build on a Debian machine"
    echo "  (make BUILD=$BUILD && sh gpu/check.sh --bundle) and bring $EXE and $LIBDIR along"
    exit 1
fi

# ---- the bundled libraries: unpacked into $BUILD/gpu-libs.unpacked, beside the carried folder
# (inside it they would travel too, and 57 MB more is over what a run may carry) -------------
LTLIBS=""
if [ -f "$BUNDLE" ]; then
    LTLIBS=$PWD/$BUILD/gpu-libs.unpacked
    if [ ! -f "$LTLIBS/.unpacked" ] || [ "$BUNDLE" -nt "$LTLIBS/.unpacked" ]; then
        rm -rf "$LTLIBS" && mkdir -p "$LTLIBS" || exit 1
        if command -v xz >/dev/null 2>&1; then
            xz -dc "$BUNDLE" | tar -C "$LTLIBS" -xf - || exit 1
        else
            python3 -c 'import sys, tarfile
t = tarfile.open(sys.argv[1])
try: t.extractall(sys.argv[2], filter="data")
except TypeError: t.extractall(sys.argv[2])' "$BUNDLE" "$LTLIBS" || exit 1
        fi
        touch "$LTLIBS/.unpacked"
    fi
    say "bundled libraries: $(wc -l < "$LIBDIR/MANIFEST") from $BUNDLE"
elif ls "$LIBDIR"/*.so* >/dev/null 2>&1; then
    LTLIBS=$PWD/$LIBDIR                       # an older, unpacked bundle
fi

# ---- cuBLAS: $LUATORCH_CUBLAS, else PyTorch's (pip's nvidia-cublas), else the toolkit's ------
# PYTHON: the first python3 that imports torch (the GPU machine's `python3`; here /usr/bin's)
PYTHON=""
for py in python3 /usr/bin/python3; do
    if command -v "$py" >/dev/null 2>&1 && tmo 30 "$py" -c 'import torch' >/dev/null 2>&1; then
        PYTHON=$py; break
    fi
done
find_cublas() {
    dirs=""
    for py in $PYTHON python3 /usr/bin/python3; do
        command -v "$py" >/dev/null 2>&1 || continue
        dirs="$dirs $("$py" -c 'import site, sys
print(" ".join(site.getsitepackages() + [site.getusersitepackages()] + sys.path[1:]))' 2>/dev/null)"
    done
    for ver in 13 12; do
        for d in $dirs; do
            [ -d "$d/nvidia" ] || continue
            f=$(find "$d/nvidia" -maxdepth 4 -name "libcublas.so.$ver*" 2>/dev/null | sort | head -1)
            [ -n "$f" ] && { echo "$f"; return; }
        done
        for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
            [ -e "$d/libcublas.so.$ver" ] && { echo "$d/libcublas.so.$ver"; return; }
        done
    done
}
if [ -n "${LUATORCH_CUBLAS:-}" ] && [ -e "$LUATORCH_CUBLAS" ]; then
    say "cuBLAS: $LUATORCH_CUBLAS (LUATORCH_CUBLAS)"
else
    LUATORCH_CUBLAS=$(find_cublas)
    if [ -n "$LUATORCH_CUBLAS" ]; then say "cuBLAS: $LUATORCH_CUBLAS"
    else say "cuBLAS: none found (no PyTorch nvidia-cublas, no /usr/local/cuda): matrix products will fail"
    fi
fi
export LUATORCH_CUBLAS
LTLD=$LTLIBS
[ -n "$LUATORCH_CUBLAS" ] && LTLD="$LTLD${LTLD:+:}$(dirname "$LUATORCH_CUBLAS")"
LTLD="$LTLD${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# lt ARGS: the luatorch executable with the bundled libraries and cuBLAS's directory (only for
# it and its children: PyTorch must keep its own libstdc++ and libgomp)
lt() { env LD_LIBRARY_PATH="$LTLD" LUATORCH_EXE="$PWD/$EXE" \
          LUA_PATH="$PWD/lua/?.lua;$PWD/lua/?/init.lua;$PWD/spec/?.lua;;" "$EXE" "$@"; }
# lt_t SECONDS ARGS: the same, killed after SECONDS (exit status 124 then)
lt_t() { t=$1; shift; tmo "$t" env LD_LIBRARY_PATH="$LTLD" LUATORCH_EXE="$PWD/$EXE" \
          LUA_PATH="$PWD/lua/?.lua;$PWD/lua/?/init.lua;$PWD/spec/?.lua;;" "$EXE" "$@"; }

if ! lt -e 'assert(torch)' >/dev/null 2>&1; then
    echo "gpu/check.sh: $EXE does not start here:"
    lt -e 'assert(torch)' 2>&1 | head -5
    LD_LIBRARY_PATH="$LTLD" ldd "$EXE" 2>/dev/null | grep 'not found'
    exit 1
fi

# ---- the card and the driver ---------------------------------------------------------------
CARD="no nvidia-smi"
if command -v nvidia-smi >/dev/null 2>&1; then
    CARD=$(tmo 15 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
    [ -n "$CARD" ] && { LT_HAVE_DRIVER=1; export LT_HAVE_DRIVER; } || CARD="nvidia-smi found no card"
    tmo 15 nvidia-smi 2>&1 | head -20 > "$LOGDIR/nvidia-smi.txt"
    say "card: $CARD ($(grep -o 'CUDA Version: [0-9.]*' "$LOGDIR/nvidia-smi.txt" | head -1))"
    drv=$(echo "$CARD" | awk -F', ' '{ print $2 }' | cut -d. -f1)
    case $drv in
        ''|*[!0-9]*) ;;
        *) if [ "$drv" -lt 580 ]; then
               problem "driver $drv is too old: luatorch links the CUDA 13.0 runtime, which needs driver >= 580"
               say "DRIVER TOO OLD: $drv < 580 (CUDA 13.0's minimum); luatorch will see no device"
           fi ;;
    esac
fi
EMULATED=$(lt -e 'io.write(tostring(torch.cuda.isBuilt() and torch.cuda.isAvailable() and torch.cuda.isEmulated()))' 2>/dev/null)
REAL_DEVICE=$(lt -e 'io.write(tostring(torch.cuda.isAvailable() and not torch.cuda.isEmulated()))' 2>/dev/null)
[ "$EMULATED" = true ] && { CARD="luatorch CUDA emulator (host; dry run)"; say "EMULATED device ($EXE is a CUDA=emu build): a dry run, the numbers mean nothing"; }

# ---- 1. quick checks: one luatorch process each ---------------------------------------------
say "quick checks"
table=""
# check NAME LUA: LUA prints the value shown in the table, or raises to fail
# (one that hangs for 20 s means a hung device: the remaining checks are skipped)
hung=0
check() {
    if [ "$hung" = 1 ]; then
        table="$table$(printf '  %-22s %-5s %s' "$1" "SKIP" "(a check before hung)")
"
        return
    fi
    out=$(lt_t 20 -e "$2" 2>&1)
    rc=$?
    if [ "$rc" = 0 ]; then status=ok
    else
        status=FAIL
        case $rc in 124|137) hung=1; out="timed out after 20 s: $out" ;; esac
        problem "check '$1': $(printf '%s' "$out" | head -1)"
    fi
    out=$(printf '%s' "$out" | tr '\n' ' ' | cut -c1-100)
    table="$table$(printf '  %-22s %-5s %s' "$1" "$status" "$out")
"
}
check "built with CUDA"     'assert(torch.cuda.isBuilt(), "built without CUDA"); io.write("yes")'
check "isAvailable"         '
  local ok = torch.cuda.isAvailable(); io.write(tostring(ok))
  if not ok then
    local why = torch.cuda.whyUnavailable() or "?"
    if why:find("insufficient") and os.getenv("LT_HAVE_DRIVER") == "1" then
      why = why .. " -- the NVIDIA driver is too old for the CUDA 13.0 runtime in luatorch (needs >= 580)"
    end
    error(why, 0)
  end'
check "device"              '
  assert(torch.cuda.deviceCount() >= 1, "no device")
  for i = 1, torch.cuda.deviceCount() do
    local p = torch.cuda.getDeviceProperties(i)
    assert(#p.name > 0 and p.major >= 3 and p.totalMemory > 0 and p.multiProcessorCount > 0)
    io.write(("%d: %s sm_%d%d %.1f GiB %d SMs; "):format(i, p.name, p.major, p.minor,
             p.totalMemory / 2^30, p.multiProcessorCount))
  end'
check "memGetInfo"          '
  torch.cuda.synchronize()
  local free, total = torch.cuda.memGetInfo()
  assert(total > 0 and free >= 0 and free <= total)
  io.write(("%.1f / %.1f GiB free"):format(free / 2^30, total / 2^30))'
check "t:cuda() round trip" '
  local a = torch.randn(1000, 33)
  local b = a:cuda():float()
  assert(b:type() == "torch.FloatTensor" and (b - a):abs():max() == 0, "values changed")
  io.write("1000x33 there and back, exact")'
check "cuBLAS matmul"       '
  local a, b = torch.randn(96, 64), torch.randn(64, 80)
  local d = torch.mm(a:cuda(), b:cuda()):float()
  local err = (d - torch.mm(a, b)):abs():max()
  assert(err < 1e-3, "max |diff| " .. err)
  io.write(("96x64 @ 64x80 vs the CPU: max |diff| %.2g"):format(err))'
# NCCL (gpu/nccl.cu, what `require 'distributed'` uses for device tensors) in one process, a world
# of one rank: $BUILD/nccl_check (tools/nccl_check.c; carry it beside $EXE), with
# $LUATORCH_NCCL, else PyTorch's libnccl (pip's nvidia-nccl), else the loader's. MPI is not needed.
find_nccl() {
    for py in $PYTHON python3 /usr/bin/python3; do
        command -v "$py" >/dev/null 2>&1 || continue
        for d in $("$py" -c 'import site, sys
print(" ".join(site.getsitepackages() + [site.getusersitepackages()] + sys.path[1:]))' 2>/dev/null); do
            [ -d "$d/nvidia" ] || continue
            f=$(find "$d/nvidia" -maxdepth 4 -name "libnccl.so.2*" 2>/dev/null | sort | head -1)
            [ -n "$f" ] && { echo "$f"; return; }
        done
    done
}
if [ "$hung" = 1 ] || [ ! -x "$BUILD/nccl_check" ]; then
    table="$table$(printf '  %-22s %-5s %s' "NCCL (1 rank)" "SKIP" "$([ "$hung" = 1 ] && echo '(a check before hung)' || echo "(no $BUILD/nccl_check)")")
"
else
    [ -n "${LUATORCH_NCCL:-}" ] || LUATORCH_NCCL=$(find_nccl)
    out=$(tmo 60 env LD_LIBRARY_PATH="$LTLD" LUATORCH_NCCL="${LUATORCH_NCCL:-}" "$BUILD/nccl_check" 2>&1)
    rc=$?
    printf '%s\n' "$out" > "$LOGDIR/nccl_check.txt"
    first=$(printf '%s' "$out" | head -1 | cut -c1-60)
    if [ "$rc" = 0 ] && printf '%s' "$out" | grep -q '^destroy ok'; then
        status=ok; out="$first; $(printf '%s' "$out" | grep -c '^ok ') collectives on the device"
    elif [ "$rc" = 0 ] && [ "$REAL_DEVICE" != true ]; then
        status=ok; out="$first (no real device: $(printf '%s' "$out" | tail -1 | cut -c1-60))"
    else
        status=FAIL
        problem "NCCL (1 rank): $(printf '%s' "$out" | grep -E '^(FAIL|unavailable|init failed)' | head -1) (rc $rc; $LOGDIR/nccl_check.txt)"
        out="$(printf '%s' "$out" | grep -E '^(FAIL|unavailable|init failed)' | head -1)"
    fi
    table="$table$(printf '  %-22s %-5s %s' "NCCL (1 rank)" "$status" "$(printf '%s' "$out" | cut -c1-100)")
"
fi
printf '%s' "$table"

# ---- 2. the GPU specs: one process per file, so that a crash hides nothing else ---------------
SPECS="spec/29-cuda_spec.lua $(ls spec/3*-cuda_*_spec.lua 2>/dev/null | sort | tr '\n' ' ')spec/50-cuda_rnn_spec.lua spec/58-math_spec.lua spec/59-linalg_spec.lua spec/60-math2_spec.lua spec/62-attention_spec.lua"
say "GPU specs (timeout ${SPEC_TIMEOUT} s in all): tools/minibusted.lua, each of $SPECS"
: > "$LOGDIR/specs.log"
one=$(mktemp)
spec_t0=$(date +%s)
n_ok=0; n_fail=0; n_err=0; n_pend=0; bad_files=""
for f in $SPECS; do
    left=$((SPEC_TIMEOUT - ($(date +%s) - spec_t0)))
    if [ "$left" -le 0 ]; then
        echo "  $f: NOT RUN (the ${SPEC_TIMEOUT} s for the specs are spent)"
        n_err=$((n_err + 1)); bad_files="$bad_files $f(not run)"
        continue
    fi
    lt_t "$left" tools/minibusted.lua "$f" > "$one" 2>&1
    rc=$?
    cat "$one" >> "$LOGDIR/specs.log"
    line=$(grep -E '^[0-9]+ successes / [0-9]+ failures' "$one" | tail -1)
    if [ -n "$line" ]; then
        set -- $line
        n_ok=$((n_ok + $1)); n_fail=$((n_fail + $4)); n_err=$((n_err + $7)); n_pend=$((n_pend + ${10}))
        echo "  $f: $1 ok, $4 failed, $7 errors, ${10} pending"
        [ "$rc" = 0 ] || bad_files="$bad_files $f"
    else
        case $rc in
            124|137) why="TIMED OUT (the ${SPEC_TIMEOUT} s for the specs ran out)" ;;
            139) why="CRASHED (segmentation fault)" ;;
            134) why="CRASHED (abort)" ;;
            *)   why="CRASHED (exit status $rc)" ;;
        esac
        echo "  $f: $why after $(grep -c '^ok ' "$one") ok; its last lines:"
        tail -6 "$one" | sed 's/^/      /'
        n_ok=$((n_ok + $(grep -c '^ok ' "$one"))); n_err=$((n_err + 1)); bad_files="$bad_files $f($why)"
    fi
done
rm -f "$one"
SPEC_SUMMARY="$n_ok successes / $n_fail failures / $n_err errors / $n_pend pending"
if [ -n "$bad_files" ]; then
    # the ok lines stay in the log; shown: the other tests' lines, then the first 60 lines of
    # the failure details (messages and tracebacks; all of them in specs.log)
    echo "  -- tests that did not pass:"
    grep -E '^(FAIL|ERROR|pending) ' "$LOGDIR/specs.log" | cut -c1-160 | head -40
    echo "  -- details (the first 40 lines; all in $LOGDIR/specs.log):"
    sed -n '/^[0-9][0-9]*) [EF][ra][ri][ol]/,/^[0-9][0-9]* successes/p' "$LOGDIR/specs.log" |
        grep -v '^[0-9][0-9]* successes' | grep -v '^$' | cut -c1-200 | head -40
    problem "specs: $SPEC_SUMMARY; files:$bad_files"
fi
say "specs: $SPEC_SUMMARY"

# ---- 3. luatorch's benchmarks (bench/gpu_lstm.lua prints `RESULT <name> <ms>`) -----------------
: > "$LOGDIR/results.txt"
if [ -f bench/gpu_lstm.lua ]; then
    # on the emulated device the benchmark is asked for tiny sizes (LUATORCH_BENCH_QUICK=1)
    quick=0; bt=$BENCH_TIMEOUT
    [ "$EMULATED" = true ] && { quick=1; bt=60; }
    say "luatorch benchmarks: bench/gpu_lstm.lua (timeout $bt s$([ $quick = 1 ] && echo ', LUATORCH_BENCH_QUICK=1'))"
    LUATORCH_BENCH_QUICK=$quick lt_t "$bt" bench/gpu_lstm.lua > "$LOGDIR/gpu_lstm.log" 2>&1
    rc=$?
    grep -v '^RESULT ' "$LOGDIR/gpu_lstm.log" | tail -25
    grep '^RESULT ' "$LOGDIR/gpu_lstm.log" | tee -a "$LOGDIR/results.txt"
    case $rc in
        0) ;;
        124|137) problem "bench/gpu_lstm.lua timed out after $bt s" ;;
        *) problem "bench/gpu_lstm.lua failed (exit status $rc; log: $LOGDIR/gpu_lstm.log)" ;;
    esac
else
    say "luatorch benchmarks: SKIPPED (no bench/gpu_lstm.lua yet)"
fi

# ---- 4. PyTorch's reference (bench/gpu_torch.py prints `RESULT torch_<name> <ms>`) -------------
if [ -z "$PYTHON" ]; then
    say "PyTorch benchmarks: SKIPPED (no python3 with torch here)"
else
    quick=""
    [ "$EMULATED" = true ] && quick=--quick
    say "PyTorch benchmarks: $PYTHON bench/gpu_torch.py $quick (timeout ${TORCH_TIMEOUT} s)"
    PYTHONUNBUFFERED=1 tmo "$TORCH_TIMEOUT" "$PYTHON" bench/gpu_torch.py $quick > "$LOGDIR/gpu_torch.log" 2>&1
    rc=$?
    grep -v '^RESULT ' "$LOGDIR/gpu_torch.log" | grep -v 'Warning\|warnings.warn' | tail -20
    grep '^RESULT ' "$LOGDIR/gpu_torch.log" | tee -a "$LOGDIR/results.txt"
    case $rc in
        0) ;;
        124|137) problem "bench/gpu_torch.py timed out after ${TORCH_TIMEOUT} s" ;;
        *) problem "bench/gpu_torch.py failed (exit status $rc; log: $LOGDIR/gpu_torch.log)" ;;
    esac
fi

# ---- 4b. compute-sanitizer memcheck of three spec files (out-of-bounds device accesses, which the
# host emulation cannot see inside its arena), last so that it can only cost its own time ------
MEMCHECK=" not run;"
CSAN=$(command -v compute-sanitizer 2>/dev/null || true)
for c in /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer; do
    [ -z "$CSAN" ] && [ -x "$c" ] && CSAN=$c
done
if [ "$REAL_DEVICE" != true ]; then
    MEMCHECK=" skipped (no real device);"
elif [ -z "$CSAN" ] || [ "${MEMCHECK_TIMEOUT:-120}" = 0 ]; then
    MEMCHECK=" skipped (no compute-sanitizer$([ "${MEMCHECK_TIMEOUT:-120}" = 0 ] && echo ': MEMCHECK_TIMEOUT=0'));"
else
    mt=${MEMCHECK_TIMEOUT:-120}; m_t0=$(date +%s); MEMCHECK=""
    say "compute-sanitizer memcheck (timeout $mt s in all): $CSAN"
    # one log for both files (what comes back from a lent machine is at most 8 files)
    : > "$LOGDIR/memcheck.log"
    log=$(mktemp)
    for f in spec/31-cuda_pointwise_spec.lua spec/33-cuda_blas_index_random_spec.lua spec/50-cuda_rnn_spec.lua; do
        left=$((mt - ($(date +%s) - m_t0)))
        [ "$left" -le 5 ] && { MEMCHECK="$MEMCHECK $(basename "$f" _spec.lua): not run (time);"; continue; }
        tmo "$left" env LD_LIBRARY_PATH="$LTLD" LUATORCH_EXE="$PWD/$EXE" \
            LUA_PATH="$PWD/lua/?.lua;$PWD/lua/?/init.lua;$PWD/spec/?.lua;;" \
            "$CSAN" --tool memcheck --print-limit 20 "$EXE" tools/minibusted.lua "$f" > "$log" 2>&1
        rc=$?
        { echo "==== $f (exit status $rc)"; cat "$log"; } >> "$LOGDIR/memcheck.log"
        errs=$(grep -o 'ERROR SUMMARY: [0-9]*' "$log" | tail -1 | awk '{ print $3 }')
        name=$(basename "$f" _spec.lua)
        if [ -n "$errs" ] && [ "$errs" != 0 ]; then
            MEMCHECK="$MEMCHECK $name: $errs error(s);"
            problem "memcheck $name: $errs error(s) (log: $LOGDIR/memcheck.log)"
            grep -m 8 -E '^========= (Invalid|Out|Program|Address|    at )' "$log" | cut -c1-160
        elif [ -n "$errs" ]; then
            MEMCHECK="$MEMCHECK $name: clean;"
        else
            case $rc in 124|137) why="timed out" ;; *) why="did not run: $(head -1 "$log" | cut -c1-80)" ;; esac
            MEMCHECK="$MEMCHECK $name: $why;"   # the sanitizer's own limits are not luatorch's failures
        fi
    done
    rm -f "$log"
fi
say "memcheck:$MEMCHECK"

# ---- 5. the table ----------------------------------------------------------------------------
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
REV=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
rows=$(awk '
    $1 == "RESULT" && NF >= 3 {
        name = $2; ms = $3
        if (name ~ /^torch_/) { name = substr(name, 7); pt[name] = ms } else { lt[name] = ms }
        if (!(name in seen)) { seen[name] = 1; order[++n] = name }
    }
    END {
        for (i = 1; i <= n; i++) {
            k = order[i]
            a = (k in lt) ? sprintf("%.3f", lt[k]) : "-"
            b = (k in pt) ? sprintf("%.3f", pt[k]) : "-"
            r = ((k in lt) && (k in pt) && pt[k] > 0) ? sprintf("%.2f", lt[k] / pt[k]) : "-"
            printf "| %s | %s | %s | %s |\n", k, a, b, r
        }
    }' "$LOGDIR/results.txt")
{
    echo "### $DATE — $CARD"
    echo
    echo "commit $REV; specs: $SPEC_SUMMARY; memcheck:$MEMCHECK $fails problem(s)"
    echo
    echo "| workload | luatorch ms | PyTorch ms | ratio |"
    echo "| --- | ---: | ---: | ---: |"
    if [ -n "$rows" ]; then echo "$rows"; else echo "| (no benchmark results) | - | - | - |"; fi
    echo
} > "$LOGDIR/results-entry.md"

echo
say "summary"
echo "card:  $CARD"
printf '%s' "$table"
echo "specs: $SPEC_SUMMARY"
echo "memcheck:$MEMCHECK"
sed -n '/^| workload/,$p' "$LOGDIR/results-entry.md"
if [ "$EMULATED" = true ]; then
    echo "(emulated device: not appended to bench/RESULTS.md)"
elif [ "$REAL_DEVICE" != true ]; then
    echo "(luatorch saw no device: not appended to bench/RESULTS.md)"
elif [ "${APPEND_RESULTS:-1}" = 1 ] && [ -f bench/RESULTS.md ]; then
    cat "$LOGDIR/results-entry.md" >> bench/RESULTS.md
    echo "(appended to bench/RESULTS.md here; the entry is also $LOGDIR/results-entry.md)"
fi
echo "logs: $LOGDIR ($(ls "$LOGDIR" | tr '\n' ' '))"
if [ "$fails" -gt 0 ]; then
    echo "$fails problem(s):"
    printf '%s' "$problems" | cut -c1-300
fi
say "done: $([ "$fails" -eq 0 ] && echo PASSED || echo FAILED)"
[ "$fails" -eq 0 ]
