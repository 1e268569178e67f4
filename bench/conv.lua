-- bench/conv.lua — convolutions (core/conv.c: im2col + OpenBLAS GEMM, samples split across
-- threads) against PyTorch's (when /usr/bin/python3 imports torch), at 1 and 2 threads:
-- nn.Conv2d forward + backward (input and weight gradients) at LeNet-5's two shapes and at a
-- ResNet basic block's 3x3 64-channel convolution on 56 x 56, and the whole LeNet-5 training
-- step of examples/cnn_mnist.lua (forward, cross entropy, backward, SGD). Float32; in
-- milliseconds per call (best of a few repetitions), and the ratios PyTorch / luatorch (> 1:
-- ours is faster), against PyTorch with oneDNN (Debian's build has it; its default CPU
-- convolution) and without (torch.backends.mkldnn.enabled = False: im2col + GEMM, as ours).
local torch = require 'torch'
local nn = require 'nn'
local optim = require 'optim'
local run_pytorch = dofile((debug.getinfo(1, 'S').source:match('^@(.*/)') or './') ..
                           'pytorch.lua')

-- LUATORCH_BENCH_THREADS=n: that thread count only
local THREADS = { 1, 2 }
if tonumber(os.getenv('LUATORCH_BENCH_THREADS') or '') then
  THREADS = { math.tointeger(tonumber(os.getenv('LUATORCH_BENCH_THREADS'))) }
end
-- name, N, Cin, H(=W), Cout, k, padding, whether the input needs its gradient, repetitions
local convs = {
  { 'LeNet conv1 6@5x5 pad 2, batch 100', 100, 1, 28, 6, 5, 2, false, 10 },
  { 'LeNet conv2 16@5x5, batch 100', 100, 6, 14, 16, 5, 0, true, 10 },
  { 'ResNet block 64@3x3 on 56x56, batch 8', 8, 64, 56, 64, 3, 1, true, 2 },
}

-- LUATORCH_BENCH_CPU=1: process CPU time instead of wall time (os.clock here, Python's
-- time.process_time), which a loaded machine disturbs less; meaningful at one thread only
local CPU = os.getenv('LUATORCH_BENCH_CPU') == '1'
local clock = CPU and os.clock or torch.clock

local function best_ms(reps, fn)
  fn()
  local best = math.huge
  for _ = 1, 9 do   -- the best of 9: this machine is shared
    local t0 = clock()
    for _ = 1, reps do fn() end
    best = math.min(best, clock() - t0)
  end
  return best / reps * 1e3
end

local function lenet()
  return nn.Sequential()
    :add(nn.Conv2d(1, 6, 5, { padding = 2 })):add(nn.ReLU()):add(nn.MaxPool2d(2))
    :add(nn.Conv2d(6, 16, 5)):add(nn.ReLU()):add(nn.MaxPool2d(2))
    :add(nn.View(-1, 400))
    :add(nn.Linear(400, 120)):add(nn.ReLU()):add(nn.Linear(120, 84)):add(nn.ReLU())
    :add(nn.Linear(84, 10))
end

local function ours()
  local res = {}
  local old = torch.getnumthreads()
  for _, nt in ipairs(THREADS) do
    torch.setnumthreads(nt)
    for i, c in ipairs(convs) do
      local m = nn.Conv2d(c[3], c[5], c[6], { padding = c[7] })
      local x = torch.randn(c[2], c[3], c[4], c[4])
      x.requiresGrad = c[8]
      local gy
      res[i .. ':' .. nt] = best_ms(c[9], function()
        local y = m(x)
        gy = gy or torch.randn(y:size())
        y:backward(gy)
      end)
    end
    local model, crit = lenet(), nn.CrossEntropyCriterion()
    local opt = optim.SGD(model:parameters(), { lr = 0.01 })
    local x, t = torch.randn(100, 1, 28, 28), torch.LongTensor(100):random(1, 10)
    res[(#convs + 1) .. ':' .. nt] = best_ms(10, function()
      opt:zeroGrad()
      local loss = crit(model(x), t)
      loss:backward()
      opt:step()
    end)
  end
  torch.setnumthreads(old)
  return res
end

local function pytorch()
  local rows = {}
  for _, c in ipairs(convs) do
    rows[#rows + 1] = ('(%d,%d,%d,%d,%d,%d,%s,%d)'):format(c[2], c[3], c[4], c[5], c[6], c[7],
                                                          c[8] and 'True' or 'False', c[9])
  end
  local py = ([[
import sys, time, torch
import torch.nn as nn
torch.set_num_threads(int(sys.argv[1]))
clock = time.process_time if %s else time.perf_counter
def best_ms(reps, fn):
    fn()
    best = 1e9
    for _ in range(9):
        t0 = clock()
        for _ in range(reps): fn()
        best = min(best, clock() - t0)
    return best / reps * 1e3
cases = [%s]
# twice: with oneDNN (Debian's PyTorch is built with it: its default CPU convolution) and
# without (PyTorch's own im2col + GEMM, on the same OpenBLAS as ours), indices + 100
for base, onednn in ((0, True), (100, False)):
  torch.backends.mkldnn.enabled = onednn
  for i, (n, cin, hw, cout, k, pad, xgrad, reps) in enumerate(cases):
    m = nn.Conv2d(cin, cout, k, padding=pad)
    x = torch.randn(n, cin, hw, hw, requires_grad=xgrad)
    gy = torch.randn_like(m(x))
    def step():
        m(x).backward(gy)
    print(base + i + 1, best_ms(reps, step), flush=True)
  model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
  crit, opt = nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.01)
  x, t = torch.randn(100, 1, 28, 28), torch.randint(0, 10, (100,))
  def train_step():
      opt.zero_grad()
      crit(model(x), t).backward()
      opt.step()
  print(base + len(cases) + 1, best_ms(10, train_step), flush=True)
]]):format(CPU and 'True' or 'False', table.concat(rows, ','))
  return run_pytorch(py, THREADS)
end

local mine, py = ours(), pytorch()
print(('conv: nn.Conv2d forward + backward and the LeNet-5 training step, ms per call (float32, %s);')
      :format(CPU and 'process CPU time' or 'wall time'))
print('PyTorch with oneDNN (its default here) and without (its im2col + GEMM on OpenBLAS)')
print(('%-40s %3s %9s %9s %9s %8s %8s'):format('', 'thr', 'luatorch', 'PT oneDNN', 'PT im2col',
      'oneDNN/', 'im2col/'))
local names = {}
for i, c in ipairs(convs) do names[i] = c[1] end
names[#names + 1] = 'LeNet-5 training step, batch 100'
for i, name in ipairs(names) do
  for _, nt in ipairs(THREADS) do
    local k = i .. ':' .. nt
    local p, q = py and py[k], py and py[(100 + i) .. ':' .. nt]
    local function ms(v) return v and ('%.2f'):format(v) or 'n/a' end
    local function ratio(v) return v and ('%.2fx'):format(v / mine[k]) or 'n/a' end
    print(('%-40s %3d %9.2f %9s %9s %8s %8s'):format(name, nt, mine[k], ms(p), ms(q), ratio(p), ratio(q)))
  end
end
if not py then print('(PyTorch not importable by /usr/bin/python3: its column is skipped)') end
