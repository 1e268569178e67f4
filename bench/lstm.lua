-- bench/lstm.lua — one training step (forward + backward + SGD update) of an LSTM classifier,
-- in ms, for:
--   nn.LSTM    the fused C LSTM: nn.Sequential(nn.LSTM(I, H, L, {batchFirst}), nn.Select(2, -1),
--              nn.Linear(H, 10)), cross entropy, optim.SGD lr 0.1 (PyTorch-style loop)
--   Lua cell   the seed example's cell written from nn.Linear + autograd ops (gates =
--              x2h(x) + h2h(h); chunk; sigmoid / tanh; c = f*c + i*g; h = o*tanh(c)), looped
--              over time (stacked for L layers), same head, loss and update
--   autocast   the nn.LSTM step under torch.autocast('bfloat16') (bf16 products, fp32 rest)
--   floor      the GEMM floor: exactly the matrix products of the nn.LSTM step (recorded
--              with torch._gemmTrace while one step runs, plus the Linear head's three) issued
--              as bare float32 GEMMs of the same shapes on preallocated, cache-warm buffers,
--              once all on OpenBLAS and once all on oneDNN (torch.setGemmEngine); `floor` is
--              the faster of the two, and the ratio LSTM/floor is against it
--   PyTorch    torch.nn.LSTM + Linear + cross_entropy + SGD, same shapes, same thread count,
--              with each PyTorch found (bench/pytorch.lua): Debian's 1.13 (column PT1.13) and a
--              PyPI 2.x in build/venv-torch (PT2.15 ...; `make bench-venv`), n/a where absent;
--              `bf16` the same step under torch.autocast('cpu', dtype=torch.bfloat16)
-- at 1 and 2 threads, as two tables (ours, then PyTorch's). Best of a few repetitions of a few
-- steps each (machines are shared).
-- LUATORCH_BENCH_QUICK=1 runs the seed shape only; LUATORCH_BENCH_THREADS=n one thread count.
local torch = require 'torch'
local nn = require 'nn'
local optim = require 'optim'
local here = debug.getinfo(1, 'S').source:match('^@(.*/)') or './'
local pytorch, common = dofile(here .. 'pytorch.lua'), dofile(here .. 'common.lua')

local configs = {
  { name = 'seed 28->128, B100, T28', I = 28, H = 128, L = 1, B = 100, T = 28, steps = 10, reps = 5 },
  { name = 'H512 x2, B64, T100', I = 512, H = 512, L = 2, B = 64, T = 100, steps = 1, reps = 2 },
  { name = 'H1024 x2, B64, T100', I = 1024, H = 1024, L = 2, B = 64, T = 100, steps = 1, reps = 1 },
}
if os.getenv('LUATORCH_BENCH_QUICK') then configs = { configs[1] } end
local THREADS = common.thread_counts()
local CLASSES = 10

local function best_ms(cfg, step) return common.best_ms(step, cfg.steps, cfg.reps) end

local function data(cfg)
  torch.manualSeed(1)
  return torch.randn(cfg.B, cfg.T, cfg.I), torch.LongTensor(cfg.B):random(1, CLASSES)
end

-- the nn.LSTM step; returns the step function and the model
local function lstm_step(cfg)
  local x, y = data(cfg)
  local model = nn.Sequential():add(nn.LSTM(cfg.I, cfg.H, cfg.L, { batchFirst = true }))
    :add(nn.Select(2, -1)):add(nn.Linear(cfg.H, CLASSES))
  local crit = nn.CrossEntropyCriterion()
  return common.train_step(model, crit, optim.SGD(model:parameters(), { lr = 0.1 }), x, y)
end

-- the seed example's cell, from modules and autograd ops
local function cell_step(cfg)
  local x, y = data(cfg)
  local layers, params = {}, {}
  for l = 1, cfg.L do
    local x2h, h2h = nn.Linear(l == 1 and cfg.I or cfg.H, 4 * cfg.H), nn.Linear(cfg.H, 4 * cfg.H)
    layers[l] = { x2h, h2h }
    for _, m in ipairs({ x2h, h2h }) do
      for _, p in ipairs(m:parameters()) do params[#params + 1] = p end
    end
  end
  local head = nn.Linear(cfg.H, CLASSES)
  for _, p in ipairs(head:parameters()) do params[#params + 1] = p end
  local crit = nn.CrossEntropyCriterion()
  local opt = optim.SGD(params, { lr = 0.1 })
  local zeros = torch.zeros(cfg.B, cfg.H)
  return function()
    opt:zeroGrad()
    local hs, cs = {}, {}
    for l = 1, cfg.L do hs[l], cs[l] = zeros, zeros end
    for t = 1, cfg.T do
      local input = x:select(2, t)
      for l = 1, cfg.L do
        local x2h, h2h = layers[l][1], layers[l][2]
        local gates = x2h(input) + h2h(hs[l])
        local i, f, g, o = table.unpack(gates:chunk(4, 2))
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        cs[l] = torch.cmul(f, cs[l]) + torch.cmul(i, g)
        hs[l] = torch.cmul(o, torch.tanh(cs[l]))
        input = hs[l]
      end
    end
    crit(head(hs[cfg.L]), y):backward()
    opt:step()
  end
end

-- the GEMMs of one nn.LSTM step, plus the head's: forward B x 10 (k = H), dW 10 x H
-- (k = B), dX B x H (k = 10)
local function floor_ms(cfg, step)
  local calls = torch._gemmTrace(step)
  calls[#calls + 1] = { m = cfg.B, n = CLASSES, k = cfg.H, ta = false, tb = true, beta = 0 }
  calls[#calls + 1] = { m = CLASSES, n = cfg.H, k = cfg.B, ta = true, tb = false, beta = 1 }
  calls[#calls + 1] = { m = cfg.B, n = cfg.H, k = CLASSES, ta = false, tb = false, beta = 0 }
  local flops = 0
  for _, c in ipairs(calls) do flops = flops + 2 * c.m * c.n * c.k end
  local ms, engine = {}, torch.getGemmEngine()
  for _, e in ipairs({ 'openblas', 'onednn' }) do
    if e == 'openblas' or pcall(torch.setGemmEngine, e) then
      torch.setGemmEngine(e)
      torch._gemmReplay(calls, 1)
      ms[e] = torch._gemmReplay(calls, math.max(3, cfg.reps * cfg.steps)) * 1000
    end
  end
  torch.setGemmEngine(engine)
  return ms.openblas, ms.onednn, flops, #calls
end

-- PyTorch: all configurations in one python process per thread count (bench/pytorch.lua)
local function pytorch_ms()
  local lines = {}
  for _, c in ipairs(configs) do
    lines[#lines + 1] = ('(%d,%d,%d,%d,%d,%d,%d)'):format(c.I, c.H, c.L, c.B, c.T, c.steps, c.reps)
  end
  local py = ([[
import sys, time, torch
cfgs = [%s]
nt = int(sys.argv[1])
torch.set_num_threads(nt)
for k, (I, H, L, B, T, steps, reps) in enumerate(cfgs):
    torch.manual_seed(1)
    lstm = torch.nn.LSTM(I, H, L, batch_first=True)
    lin = torch.nn.Linear(H, 10)
    opt = torch.optim.SGD(list(lstm.parameters()) + list(lin.parameters()), lr=0.1)
    x = torch.randn(B, T, I)
    y = torch.randint(0, 10, (B,))
    def step():
        opt.zero_grad()
        out, _ = lstm(x)
        torch.nn.functional.cross_entropy(lin(out[:, -1]), y).backward()
        opt.step()
    def step_bf16():
        with torch.autocast('cpu', dtype=torch.bfloat16):
            step()
    for j, fn in enumerate((step, step_bf16)):
        fn()
        best = 1e9
        for _ in range(reps):
            t0 = time.perf_counter()
            for _ in range(steps):
                fn()
            best = min(best, (time.perf_counter() - t0) / steps)
        print(2 * k + j + 1, best * 1000, flush=True)
]]):format(table.concat(lines, ','))
  return pytorch.run(py, THREADS)
end

local old_threads = torch.getnumthreads()
local rows = {}
for ci, cfg in ipairs(configs) do
  for _, nt in ipairs(THREADS) do
    torch.setnumthreads(nt)
    local step = lstm_step(cfg)
    local lstm = best_ms(cfg, step)
    local ac = best_ms(cfg, function() torch.autocast('bfloat16', step) end)
    local ob, dnnl, flops, ncalls = floor_ms(cfg, step)
    local cell = best_ms(cfg, cell_step(cfg))
    rows[#rows + 1] = { ci = ci, cfg = cfg, nt = nt, lstm = lstm, ac = ac, cell = cell, ob = ob,
                        dnnl = dnnl, floor = math.min(ob, dnnl or math.huge),
                        gflops = flops / 1e9, ncalls = ncalls }
    collectgarbage()
  end
end
torch.setnumthreads(old_threads)
local py = pytorch_ms()

print(('lstm: one training step (forward + backward + SGD), ms; floors = the same GEMMs as bare '
       .. 'calls on OpenBLAS (kernels: %s%s) and on oneDNN, floor = the faster'):format(
       torch._blasCorename(), os.getenv('OPENBLAS_CORETYPE') and ', OPENBLAS_CORETYPE' or ''))
print(('%-26s %3s %8s %8s %8s %8s %8s %8s %9s %8s'):format('', 'thr', 'nn.LSTM', 'autocast',
      'Lua cell', 'OpenBLAS', 'oneDNN', 'LSTM/fl', 'cell/LSTM', 'fl OB/DN'))
local fmt, ratio = common.fmt, common.ratio
for _, r in ipairs(rows) do
  print(('%-26s %3d %8.2f %8.2f %8.2f %8.2f %8s %7.2fx %8.2fx %8s'):format(r.cfg.name, r.nt,
        r.lstm, r.ac, r.cell, r.ob, fmt(r.dnnl), r.lstm / r.floor, r.cell / r.lstm,
        ratio(r.ob, r.dnnl)))
end
print(('(floor: %s GEMMs per step; %s GFLOP per step for the seed shape)'):format(rows[1].ncalls,
      ('%.2f'):format(rows[1].gflops)))

-- against each PyTorch: its fp32 step and its bf16 autocast step, ms, and the ratios
-- PyTorch fp32 / nn.LSTM and PyTorch bf16 / nn.LSTM under autocast (> 1: ours is faster)
print('\nlstm against PyTorch, same steps and threads, ms; ratios PyTorch / luatorch (> 1: ours '
      .. 'is faster)')
local head = { ('%-26s %3s %8s %8s'):format('', 'thr', 'nn.LSTM', 'autocast') }
for _, pt in ipairs(py) do
  head[#head + 1] = ('%8s %11s %11s %11s'):format(pt.short, pt.short .. ' bf16',
                                                  pt.short .. '/LSTM', pt.short .. 'bf/ac')
end
print(table.concat(head, ' '))
for _, r in ipairs(rows) do
  local cols = { ('%-26s %3d %8.2f %8.2f'):format(r.cfg.name, r.nt, r.lstm, r.ac) }
  for _, pt in ipairs(py) do
    local pms = pt.res and pt.res[(2 * r.ci - 1) .. ':' .. r.nt]
    local pbf = pt.res and pt.res[(2 * r.ci) .. ':' .. r.nt]
    cols[#cols + 1] = ('%8s %11s %11s %11s'):format(fmt(pms), fmt(pbf), ratio(pms, r.lstm),
                                                    ratio(pbf, r.ac))
  end
  print(table.concat(cols, ' '))
end
print(pytorch.legend(py))
