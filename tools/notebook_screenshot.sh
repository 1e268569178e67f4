#!/bin/sh
# notebook_screenshot.sh — docs/img/notebook.png: examples/lstm_mnist.ipynb executed headless in its
# quick mode (nbconvert), then opened in a live Jupyter Notebook server (Debian jupyter-notebook) and
# photographed by headless Chromium. Needs the build's kernel (BUILD, default build) and
# `sh tools/deps.sh docs` (jupyter-notebook, jupyter-nbconvert, chromium). Not part of `make test`.
set -eu
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/docs/img/notebook.png}
WORK=$(mktemp -d)
PORT=${PORT:-8899}
TOKEN=luatorch-screenshot
export JUPYTER_PATH="$ROOT/$BUILD/share/jupyter" JUPYTER_DATA_DIR="$WORK/data" \
       JUPYTER_RUNTIME_DIR="$WORK/runtime" JUPYTER_CONFIG_DIR="$WORK/config" LUATORCH_NOTEBOOK_QUICK=1
cp "$ROOT/examples/lstm_mnist.ipynb" "$WORK/"
(cd "$WORK" && /usr/bin/jupyter nbconvert --execute --to notebook --inplace lstm_mnist.ipynb)
# signed as trusted: an untrusted notebook's saved SVG outputs are not rendered
/usr/bin/python3 -c 'import sys, nbformat; from nbformat.sign import NotebookNotary
nb = nbformat.read(sys.argv[1], 4); NotebookNotary().sign(nb)' "$WORK/lstm_mnist.ipynb"
/usr/bin/jupyter notebook --no-browser --allow-root --port "$PORT" --ip 127.0.0.1 \
  --NotebookApp.token="$TOKEN" --notebook-dir="$WORK" >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 60); do
  grep -q "is running at" "$WORK/server.log" 2>/dev/null && break
  sleep 1
done
mkdir -p "$(dirname "$OUT")"
# a tall window holds the whole notebook (the page scrolls inside it, not the window)
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1100,${HEIGHT:-4300} \
  --virtual-time-budget=20000 --user-data-dir="$WORK/chromium" --screenshot="$OUT" \
  "http://127.0.0.1:$PORT/notebooks/lstm_mnist.ipynb?token=$TOKEN"
echo "wrote $OUT"
