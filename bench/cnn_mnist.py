#!/usr/bin/python3
"""bench/cnn_mnist.py -- the LeNet-5 of examples/cnn_mnist.lua in PyTorch, on the same data and
schedule, for comparing accuracy and time (bench/README.md, "cnn_mnist"):
batch 100, SGD lr 0.1 without momentum, cross entropy, inputs ToTensor then Normalize(0.5, 1.0)
(x / 255 - 0.5), shuffled each epoch, whole epochs, test accuracy every 500 iterations and at the end.

  /usr/bin/python3 bench/cnn_mnist.py [--dataset mnist|fashion] [--epochs 10] [--threads 1]
  build/venv-torch/bin/python bench/cnn_mnist.py ...     (PyTorch 2.x from PyPI: make bench-venv)

mnist is the subset bundled with luatorch (datasets/data/mnist-10k), fashion Debian's
dataset-fashion-mnist (/usr/share/datasets/fashion-mnist). Needs PyTorch and numpy: Debian's
python3-torch, or the virtualenv that `make bench-venv` creates. The line it prints names the
PyTorch version."""
import argparse, gzip, os, sys, time

import numpy as np

# Debian's PyTorch reaches OpenBLAS through the generic libblas, PyPI's uses MKL and OpenMP:
# set_num_threads alone does not limit their threads (bench/pytorch.lua), so the count is fixed
# before torch is imported, for whichever library the interpreter's build uses
NUM_THREADS = ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS')
for i, arg in enumerate(sys.argv):
    if arg == '--threads' and i + 1 < len(sys.argv):
        for var in NUM_THREADS:
            os.environ[var] = sys.argv[i + 1]
for var in NUM_THREADS:
    os.environ.setdefault(var, '1')
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOTS = {'mnist': os.path.join(HERE, '..', 'datasets', 'data', 'mnist-10k'),
         'fashion': '/usr/share/datasets/fashion-mnist'}


def idx(path):
    """an IDX file (gzipped) as a numpy array: the format's header gives the dims"""
    with gzip.open(path, 'rb') as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def split(root, prefix):
    x = torch.from_numpy(idx(os.path.join(root, prefix + '-images-idx3-ubyte.gz')).copy())
    y = torch.from_numpy(idx(os.path.join(root, prefix + '-labels-idx1-ubyte.gz')).astype(np.int64))
    return (x.float() / 255 - 0.5).unsqueeze(1), y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--dataset', default='mnist', choices=sorted(ROOTS))
    ap.add_argument('--epochs', type=int, default=10)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--seed', type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr, ytr = split(ROOTS[a.dataset], 'train')
    xte, yte = split(ROOTS[a.dataset], 't10k')
    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                          nn.Linear(84, 10))
    crit, opt = nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1)

    def accuracy():
        model.eval()
        with torch.no_grad():
            right = sum((model(xte[i:i + 100]).argmax(1) == yte[i:i + 100]).sum().item()
                        for i in range(0, len(xte), 100))
        model.train()
        return 100.0 * right / len(xte)

    it, t0, c0, evals = 0, time.perf_counter(), time.process_time(), []
    for _ in range(a.epochs):
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 100):
            b = perm[i:i + 100]
            opt.zero_grad()
            loss = crit(model(xtr[b]), ytr[b])
            loss.backward()
            opt.step()
            it += 1
            if it % 500 == 0:
                evals.append('%d: %.2f%%' % (it, accuracy()))
    acc = accuracy()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print('PyTorch %s LeNet-5 on %s: %d iterations (%d epochs), %d thread(s): test accuracy %.2f%% '
          '(%s); %.1f s CPU, %.1f s wall (training and evaluations, data loading excluded)'
          % (torch.__version__, a.dataset, it, a.epochs, a.threads, acc, ', '.join(evals), cpu, wall))


if __name__ == '__main__':
    main()
