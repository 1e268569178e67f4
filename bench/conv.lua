-- bench/conv.lua — convolutions (core/conv.c: oneDNN's primitives or im2col + OpenBLAS GEMM,
-- chosen per shape; the im2col column pins the latter) against PyTorch's (each PyTorch found,
-- bench/pytorch.lua: Debian's 1.13 and a PyPI 2.x in build/venv-torch, n/a where absent), at 1
-- and 2 threads:
-- nn.Conv2d forward + backward (input and weight gradients) at LeNet-5's two shapes and at a
-- ResNet basic block's 3x3 64-channel convolution on 56 x 56, and the whole LeNet-5 training
-- step of examples/cnn_mnist.lua (forward, cross entropy, backward, SGD). Float32; in
-- milliseconds per call (best of a few repetitions), and the ratios PyTorch / luatorch (> 1:
-- ours is faster), against PyTorch with oneDNN (both builds have it; their default CPU
-- convolution) and without (torch.backends.mkldnn.enabled = False: im2col + GEMM, as ours, on
-- OpenBLAS in Debian's build, on MKL in PyPI's).
-- Then the measurements behind the per-shape rule of core/conv.c (dnnl_shape): more shapes,
-- forward + backward on each of our two paths.
local torch = require 'torch'
local nn = require 'nn'
local optim = require 'optim'
local here = debug.getinfo(1, 'S').source:match('^@(.*/)') or './'
local pytorch, common = dofile(here .. 'pytorch.lua'), dofile(here .. 'common.lua')

local THREADS = common.thread_counts()  -- LUATORCH_BENCH_THREADS=n: that thread count only
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

-- forward + backward of module m on x (input gradient when x requires it), ms per call
local function conv_ms(m, x, reps)
  local gy
  return best_ms(reps, function()
    local y = m(x)
    gy = gy or torch.randn(y:size())
    y:backward(gy)
  end)
end

-- ours, on the default per-shape choice (keys '<i>:<threads>') and pinned to im2col + GEMM
-- (keys 'im<i>:<threads>')
local function ours()
  local res = {}
  local old = torch.getnumthreads()
  for _, nt in ipairs(THREADS) do
    torch.setnumthreads(nt)
    for _, backend in ipairs({ 'auto', 'im2col' }) do
      local pre = backend == 'auto' and '' or 'im'
      torch._convBackend(backend)
      for i, c in ipairs(convs) do
        local m = nn.Conv2d(c[3], c[5], c[6], { padding = c[7] })
        local x = torch.randn(c[2], c[3], c[4], c[4])
        x.requiresGrad = c[8]
        res[pre .. i .. ':' .. nt] = conv_ms(m, x, c[9])
      end
      local model, crit = common.lenet(), nn.CrossEntropyCriterion()
      local opt = optim.SGD(model:parameters(), { lr = 0.01 })
      local x, t = torch.randn(100, 1, 28, 28), torch.LongTensor(100):random(1, 10)
      res[pre .. (#convs + 1) .. ':' .. nt] = best_ms(10, function()
        opt:zeroGrad()
        local loss = crit(model(x), t)
        loss:backward()
        opt:step()
      end)
    end
    torch._convBackend('auto')
  end
  torch.setnumthreads(old)
  return res
end

-- The rule's measurements: name, constructor, input size (the input requires its gradient)
local rule_shapes = {
  { 'LeNet conv1 1->6 5x5, batch 100', function() return nn.Conv2d(1, 6, 5, { padding = 2 }) end, { 100, 1, 28, 28 } },
  { '2->16 3x3 on 28x28, batch 32', function() return nn.Conv2d(2, 16, 3, { padding = 1 }) end, { 32, 2, 28, 28 } },
  { '8->16 3x3 on 28x28, batch 32', function() return nn.Conv2d(8, 16, 3, { padding = 1 }) end, { 32, 8, 28, 28 } },
  { 'LeNet conv2 6->16 5x5, batch 100', function() return nn.Conv2d(6, 16, 5) end, { 100, 6, 14, 14 } },
  { '16->32 3x3 on 16x16, batch 8', function() return nn.Conv2d(16, 32, 3, { padding = 1 }) end, { 8, 16, 16, 16 } },
  { '64->128 1x1 on 28x28, batch 8', function() return nn.Conv2d(64, 128, 1) end, { 8, 64, 28, 28 } },
  { '32->32 3x3 dilation 2, batch 8', function() return nn.Conv2d(32, 32, 3, { padding = 2, dilation = 2 }) end, { 8, 32, 28, 28 } },
  { '64->64 3x3 groups 4, batch 8', function() return nn.Conv2d(64, 64, 3, { padding = 1, groups = 4 }) end, { 8, 64, 28, 28 } },
  { '64 3x3 depth-wise, batch 8', function() return nn.Conv2d(64, 64, 3, { padding = 1, groups = 64 }) end, { 8, 64, 28, 28 } },
  { 'transposed 64->32 4x4 stride 2, batch 8', function() return nn.ConvTranspose2d(64, 32, 4, { stride = 2, padding = 1 }) end, { 8, 64, 16, 16 } },
}

-- pooling: name, kernel, stride, padding, max (else average counting the padding), input size
local pool_shapes = {
  { 'LeNet max pool 2x2, 100 x 6 x 28 x 28', 2, 2, 0, true, { 100, 6, 28, 28 } },
  { 'LeNet avg pool 2x2, 100 x 6 x 28 x 28', 2, 2, 0, false, { 100, 6, 28, 28 } },
  { 'ResNet max pool 3x3 s2 p1, 8 x 64 x 56 x 56', 3, 2, 1, true, { 8, 64, 56, 56 } },
  { 'avg pool 3x3 s2 p1, 8 x 64 x 56 x 56', 3, 2, 1, false, { 8, 64, 56, 56 } },
}

local function rule_table()
  local old = torch.getnumthreads()
  torch.setnumthreads(THREADS[1])
  print(('\nthe per-shape rule (core/conv.c): forward + backward on each of our paths, %d thread(s), ms')
        :format(THREADS[1]))
  print(('%-42s %9s %9s %8s %s'):format('', 'im2col', 'oneDNN', 'im2col/', 'auto picks'))
  for _, c in ipairs(rule_shapes) do
    local m, x = c[2](), torch.randn(table.unpack(c[3]))
    x.requiresGrad = true
    local r = {}
    for _, backend in ipairs({ 'im2col', 'onednn' }) do
      torch._convBackend(backend)
      r[backend] = conv_ms(m, x, 3)
    end
    torch._convBackend('auto')
    local before = select(3, torch._convBackend())
    m(x)
    local pick = select(3, torch._convBackend()) > before and 'oneDNN' or 'im2col'
    print(('%-42s %9.2f %9.2f %7.2fx %s'):format(c[1], r.im2col, r.onednn, r.im2col / r.onednn, pick))
  end
  print(('\npooling forward + backward, %d thread(s), ms: core/conv.c\'s loops (pinned with \'im2col\') and oneDNN')
        :format(THREADS[1]))
  print(('%-42s %9s %9s %8s'):format('', 'ours', 'oneDNN', 'ours/'))
  for _, c in ipairs(pool_shapes) do
    local m = c[5] and nn.MaxPool2d(c[2], { stride = c[3], padding = c[4] })
                    or nn.AvgPool2d(c[2], { stride = c[3], padding = c[4] })
    local x = torch.randn(table.unpack(c[6]))
    x.requiresGrad = true
    local r = {}
    for _, backend in ipairs({ 'im2col', 'onednn' }) do
      torch._convBackend(backend)
      r[backend] = conv_ms(m, x, 5)
    end
    torch._convBackend('auto')
    print(('%-42s %9.2f %9.2f %7.2fx'):format(c[1], r.im2col, r.onednn, r.im2col / r.onednn))
  end
  torch.setnumthreads(old)
end

local function pytorch_ms()
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
# twice: with oneDNN (Debian's and PyPI's PyTorch are built with it: their default CPU
# convolution) and without (PyTorch's own im2col + GEMM: on OpenBLAS in Debian's build, as
# ours, on MKL in PyPI's), indices + 100
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
  return pytorch.run(py, THREADS)
end

local mine, py = ours(), pytorch_ms()
print(('conv: nn.Conv2d forward + backward and the LeNet-5 training step, ms per call (float32, %s);')
      :format(CPU and 'process CPU time' or 'wall time'))
print('luatorch: its per-shape choice, and pinned to im2col + GEMM (torch._convBackend); each '
      .. 'PyTorch with oneDNN (dnn, its default)')
print('and without (i2c: its im2col + GEMM, OpenBLAS in 1.13, MKL in PyPI\'s 2.x); ratios '
      .. 'PyTorch / luatorch (> 1: ours is faster)')
local head = { ('%-40s %3s %9s %9s'):format('', 'thr', 'luatorch', 'lt im2col') }
for _, pt in ipairs(py) do
  head[#head + 1] = ('%10s %10s %7s %7s'):format(pt.short .. ' dnn', pt.short .. ' i2c', 'dnn/',
                                                 'i2c/')
end
print(table.concat(head, ' '))
local names = {}
for i, c in ipairs(convs) do names[i] = c[1] end
names[#names + 1] = 'LeNet-5 training step, batch 100'
for i, name in ipairs(names) do
  for _, nt in ipairs(THREADS) do
    local k = i .. ':' .. nt
    local cols = { ('%-40s %3d %9.2f %9.2f'):format(name, nt, mine[k], mine['im' .. k]) }
    for _, pt in ipairs(py) do
      local p, q = pt.res and pt.res[k], pt.res and pt.res[(100 + i) .. ':' .. nt]
      cols[#cols + 1] = ('%10s %10s %7s %7s'):format(common.fmt(p), common.fmt(q),
                                                     common.ratio(p, mine[k]),
                                                     common.ratio(q, mine[k]))
    end
    print(table.concat(cols, ' '))
  end
end
print(pytorch.legend(py))
if select(2, torch._convBackend()) then rule_table() else print('(built without oneDNN)') end
