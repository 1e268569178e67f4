#!/bin/sh
# deps.sh — installs the Debian packages luatorch needs that are missing: with apt-get when
# run as root, otherwise prints the exact command to run.
PKGS="build-essential lua5.4 liblua5.4-dev zlib1g-dev libopenblas-openmp-dev lua-busted libcurl4-openssl-dev libssl-dev libedit-dev libcjson-dev dataset-fashion-mnist python3 tmux gnuplot-nox fortunes openmpi-bin libopenmpi-dev libdnnl-dev xeus-dev nlohmann-json3-dev libzmq3-dev cppzmq-dev python3-jupyter-client python3-nbclient python3-nbformat"
# `deps.sh fuzz` (make fuzz-deps): clang and libFuzzer for `make fuzz` only
[ "$1" = fuzz ] && PKGS="clang libclang-rt-14-dev"
# `deps.sh bench` (make bench-venv): Debian's venv module, for the benchmarks' optional PyTorch 2.x
[ "$1" = bench ] && PKGS="python3-venv"
# `deps.sh docs`: nbconvert, the live notebook server and the browser of tools/notebook_screenshot.sh only
[ "$1" = docs ] && PKGS="jupyter-notebook jupyter-nbconvert chromium"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
    echo "deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing
else
    echo "deps: missing$missing; run:"
    echo "  sudo apt-get install -y$missing"
    exit 1
fi
