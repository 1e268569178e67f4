-- bench/gpu_lstm.lua — the fused LSTM on a CUDA device (gpu/lstm.cu), in ms per iteration,
-- one line per measurement: `RESULT <name> <ms>` (gpu/check.sh collects them next to
-- bench/gpu_torch.py's `RESULT torch_<name> <ms>`; the same name is the same workload):
--
--   seed_step_eager         the seed training step: nn.LSTM 28->128 (batch first), batch 100,
--                           28 steps, Linear 128->10 on the last step, cross entropy, SGD lr
--                           0.1 (zeroGrad, forward, backward, step); FP32; the LSTM's time
--                           loops launched step by step (CUDA graphs off)
--   seed_step_loopgraph     the same with the LSTM's time loops replayed from its own CUDA
--                           graphs, the rest launched eagerly (no PyTorch twin)
--   seed_step_graph         the whole step captured once with torch.cuda.graph (inputs copied
--                           into static tensors, then a replay), as PyTorch's entry; checked
--                           against eager steps from the same weights first (a CHECK line)
--                           (all three: the per-step kernels torch._lstmKernel "auto" picks,
--                           fused at this H)
--   seed_step_eager_fused   ... with the per-step kernels forced: "fused" (one kernel per step,
--   seed_step_graph_gemm    the recurrent products in it) or "gemm" (a cuBLAS GEMM + a
--                           pointwise kernel per step); _eager, _loopgraph and _graph each
--   lstm1024_fwdbwd_fp32    nn.LSTM 1024->1024, 1 layer, T=100, B=128, time-major: forward,
--                           backward of the output against a fixed random gradient (weight and
--                           input gradients); TF32 off; graphs on
--   lstm1024_fwdbwd_fp32_nographs   the same, graphs off
--   lstm1024_fwdbwd_tf32    the same with torch.cuda.allowTF32(true); graphs on
--   gru1024_fwdbwd_fp32     nn.GRU 1024->1024, T=100, B=128, the same step (gpu/rnn.cu: per step
--                           a cuBLAS GEMM + a kernel, the time loops replayed from CUDA
--                           graphs); TF32 off
--   bilstm1024_fwdbwd_fp32  nn.LSTM 1024->1024 bidirectional (output 2048), the same step
--                           (gpu/rnn.cu, each direction a layer of its own)
--   lstm1024_lengths_fwdbwd_fp32  nn.LSTM 1024->1024 with lengths: B=128 sequences of 41 to 100
--                           steps (length 100 - (37 b mod 60), b = 0..127) padded to T=100
--                           (PyTorch: pack_padded_sequence / pad_packed_sequence)
--   gru128_fwdbwd_fp32      nn.GRU 28->128, T=28, B=100 (the seed's sizes), the same step
--   (each of these four also as <name>_nographs: the time loops launched step by step; no
--   PyTorch twin)
--
-- Then INFO lines (no RESULT: no PyTorch twin) for where "auto" should switch kernels: nn.LSTM
-- 28->H, batch first, B=100, T=28, forward + backward against a fixed gradient, graphs on, for
-- H = 64, 128, 256, 512, with the fused and the gemm per-step kernels.
--
-- Each: warm-up, then the median of a few timed runs of several iterations, between
-- torch.cuda.synchronize() calls (wall clock, torch.clock). Lines starting INFO say how it
-- ran; the counts of graph captures / replays / step-by-step loops show that graphs were used,
-- and the count of fused loops which kernels ran.
-- Without a device it prints SKIP and exits 0. LUATORCH_BENCH_QUICK=1: tiny sizes (a dry run,
-- e.g. on the emulated device, whose numbers mean nothing: INFO says "emulated").
local torch = require 'torch'
local nn = require 'nn'
local optim = require 'optim'

local function out(...) io.write(table.concat({ ... }, ' '), '\n') io.flush() end

if not torch.cuda.isAvailable() then
  out('SKIP bench/gpu_lstm.lua: no CUDA device (' .. tostring(torch.cuda.whyUnavailable()) .. ')')
  os.exit(0)
end
local QUICK = os.getenv('LUATORCH_BENCH_QUICK') == '1'
local EMU = torch.cuda.isEmulated and torch.cuda.isEmulated()
out('INFO device: ' .. torch.cuda.getDeviceProperties(1).name .. (EMU and ' (emulated)' or '') ..
    (QUICK and ', quick sizes' or ''))

local function result(name, ms) out(('RESULT %s %.4f'):format(name, ms)) end

local function median(t)
  table.sort(t)
  local n = #t
  return n % 2 == 1 and t[(n + 1) / 2] or (t[n / 2] + t[n / 2 + 1]) / 2
end

-- median over reps of the mean ms of iters calls of fn, after warmup calls
local function time_ms(fn, iters, warmup, reps)
  for _ = 1, warmup do fn() end
  torch.cuda.synchronize()
  local times = {}
  for r = 1, reps do
    collectgarbage()
    torch.cuda.synchronize()
    local t0 = torch.clock()
    for _ = 1, iters do fn() end
    torch.cuda.synchronize()
    times[r] = (torch.clock() - t0) * 1000 / iters
  end
  return median(times)
end

local function graphs(on)
  torch._lstmGraphs(on)
  return on
end

local function stats_line(what, before, kind)
  local s = torch._lstmGraphStats(kind)
  out(('INFO %s: time loops captured %d, replayed %d, step by step %d (same key as before: %d)' ..
       '; fused kernels: %d loops')
      :format(what, s.captures - before.captures, s.replays - before.replays,
              s.stepwise - before.stepwise, s.repeats - before.repeats,
              (s.fused or 0) - (before.fused or 0)))
end

-- ---- the seed training step ----------------------------------------------------------------

local checks_failed = 0
local function check(name, ok, detail)
  out(('CHECK %s %s %s'):format(name, ok and 'ok' or 'FAIL', detail))
  if not ok then checks_failed = checks_failed + 1 end
end

-- The step captured whole (torch.cuda.graph): static input tensors, a warm-up step, the
-- capture, then a replay per step after copying the batch in. First checked against eager
-- steps of a copy of the model from the same weights (plain SGD keeps no state).
local function whole_step_graph(model, crit, opt, xs, ys, nb, what, iters, warmup, reps)
  local sx, sy = xs[1]:clone(), ys[1]:clone()
  local loss
  local function step()
    opt:zeroGrad()
    loss = crit(model(sx), sy)
    loss:backward()
    opt:step()
  end
  step()
  local okc, g = pcall(torch.cuda.graph, step)
  if not okc then
    check(what .. '_capture', false, tostring(g):gsub('\n.*', ''))
    return
  end
  local ref = model:clone()
  local ropt = optim.SGD(ref:parameters(), { lr = 0.1 })
  local worst_loss, worst_w = 0, 0
  for k = 1, 3 do
    sx:copy(xs[k]); sy:copy(ys[k])
    g:replay()
    ropt:zeroGrad()
    local rl = crit(ref(xs[k]), ys[k])
    rl:backward()
    ropt:step()
    worst_loss = math.max(worst_loss, math.abs(loss:item() - rl:item()))
  end
  local pa, pb = model:parameters(), ref:parameters()
  for i = 1, #pa do
    worst_w = math.max(worst_w, (pa[i]:detach():float() - pb[i]:detach():float()):abs():max())
  end
  check(what .. '_matches_eager', worst_loss < 1e-4 and worst_w < 1e-4,
        ('(3 steps: max |loss diff| %.3g, max |weight diff| %.3g)'):format(worst_loss, worst_w))
  local i = 0
  result(what, time_ms(function()
    i = i % nb + 1
    sx:copy(xs[i]); sy:copy(ys[i])
    g:replay()
  end, iters, warmup, reps))
  g:free()
end

local function seed()
  local B, T, I, Hd = 100, 28, 28, 128
  if QUICK then B, T = 8, 5 end
  torch.cuda.allowTF32(false)
  torch.manualSeed(1)
  local nb = 4
  local xs, ys = {}, {}
  for k = 1, nb do
    xs[k] = torch.randn(B, T, I):cuda()
    local y = torch.LongTensor(B)
    for i = 1, B do y[i] = (i * 7 + k) % 10 + 1 end
    ys[k] = y:cuda()
  end
  local model = nn.Sequential():add(nn.LSTM(I, Hd, 1, { batchFirst = true }))
    :add(nn.Select(2, -1)):add(nn.Linear(Hd, 10)):cuda()
  local crit = nn.CrossEntropyCriterion()
  local opt = optim.SGD(model:parameters(), { lr = 0.1 })
  -- cross entropy on the device comes from gpu/nnops.cu: without it, the LSTM alone with the
  -- sum of its last outputs as the loss (a different workload, named so)
  local ok, err = pcall(function() return crit(model(xs[1]), ys[1]) end)
  local name = 'seed_step'
  local i = 0
  local step
  if ok then
    step = function()
      i = i % nb + 1
      opt:zeroGrad()
      crit(model(xs[i]), ys[i]):backward()
      opt:step()
    end
  else
    out('INFO no device cross entropy (' .. tostring(err):gsub('\n.*', '') ..
        '): timing the LSTM + Select with the sum of the last outputs as the loss')
    name = 'seed_lstm_sumloss'
    model = nn.Sequential():add(nn.LSTM(I, Hd, 1, { batchFirst = true })):add(nn.Select(2, -1))
      :cuda()
    opt = optim.SGD(model:parameters(), { lr = 0.1 })
    local ones = torch.ones(B, Hd):cuda()
    step = function()
      i = i % nb + 1
      opt:zeroGrad()
      model(xs[i]):backward(ones)
      opt:step()
    end
  end
  local iters, warmup, reps = 50, 5, 5
  if QUICK then iters, warmup, reps = 3, 1, 2 end
  local kwas = torch._lstmKernel()
  for _, kern in ipairs({ 'auto', 'fused', 'gemm' }) do
    torch._lstmKernel(kern)
    local suffix = kern == 'auto' and '' or '_' .. kern
    for _, on in ipairs({ false, true }) do
      graphs(on)
      local what = name .. (on and '_loopgraph' or '_eager') .. suffix
      local before = torch._lstmGraphStats()
      local ms = time_ms(step, iters, warmup, reps)
      result(what, ms)
      stats_line(what, before)
    end
    if ok then whole_step_graph(model, crit, opt, xs, ys, nb, name .. '_graph' .. suffix,
                                iters, warmup, reps) end
  end
  torch._lstmKernel(kwas)
end

-- ---- nn.LSTM 1024 -> 1024, T = 100, B = 128: forward + backward --------------------------------
local function lstm1024()
  local T, B, I, Hd = 100, 128, 1024, 1024
  if QUICK then T, B, I, Hd = 6, 4, 16, 16 end
  torch.manualSeed(3)
  local m = nn.LSTM(I, Hd, 1):cuda()
  local x = torch.randn(T, B, I):cuda()
  x.requiresGrad = true
  local g = torch.randn(T, B, Hd):cuda()
  local function step()
    x.grad = nil
    m(x):backward(g)
  end
  local iters, warmup, reps = 10, 3, 3
  if QUICK then iters, warmup, reps = 2, 1, 2 end
  for _, cfg in ipairs({ { 'lstm1024_fwdbwd_fp32', false, true },
                         { 'lstm1024_fwdbwd_fp32_nographs', false, false },
                         { 'lstm1024_fwdbwd_tf32', true, true } }) do
    torch.cuda.allowTF32(cfg[2])
    graphs(cfg[3])
    local before = torch._lstmGraphStats()
    result(cfg[1], time_ms(step, iters, warmup, reps))
    stats_line(cfg[1], before)
  end
  torch.cuda.allowTF32(false)
end

-- ---- nn.GRU, bidirectional nn.LSTM, nn.LSTM with lengths, 1024 -> 1024 (gpu/rnn.cu) --------
-- each with its time loops replayed from CUDA graphs (the default) and step by step
-- (_nographs); gru128: the seed's sizes (28 -> 128, T = 28, B = 100), where a step's launches
-- cost more than its work
local function recurrent()
  local T, B, I, Hd = 100, 128, 1024, 1024
  if QUICK then T, B, I, Hd = 6, 4, 16, 16 end
  torch.cuda.allowTF32(false)
  local lengths = torch.LongTensor(B)
  for b = 0, B - 1 do lengths[b + 1] = math.max(1, T - (37 * b) % math.max(1, T * 3 // 5)) end
  local iters, warmup, reps = 10, 3, 3
  if QUICK then iters, warmup, reps = 2, 1, 2 end
  local small = QUICK and { 3, 4, 8, 16 } or { 28, 100, 28, 128 }
  for _, cfg in ipairs({ { 'gru1024_fwdbwd_fp32', function() return nn.GRU(I, Hd) end, 1, 'gru' },
                         { 'bilstm1024_fwdbwd_fp32',
                           function() return nn.LSTM(I, Hd, 1, { bidirectional = true }) end, 2,
                           'lstmLayer' },
                         { 'lstm1024_lengths_fwdbwd_fp32', function() return nn.LSTM(I, Hd) end, 1,
                           'lstmLayer', lengths },
                         { 'gru128_fwdbwd_fp32',
                           function() return nn.GRU(small[3], small[4]) end, 1, 'gru', nil,
                           small } }) do
    local t, b, i, h = T, B, I, Hd
    if cfg[6] then t, b, i, h = table.unpack(cfg[6]) end
    torch.manualSeed(3)
    local m = cfg[2]():cuda()
    local x = torch.randn(t, b, i):cuda()
    x.requiresGrad = true
    local g = torch.randn(t, b, cfg[3] * h):cuda()
    local opts = cfg[5] and { lengths = cfg[5] } or nil
    local function step()
      x.grad = nil
      m:zeroGradParameters()
      m(x, opts):backward(g)
    end
    for _, on in ipairs({ true, false }) do
      graphs(on)
      local what = cfg[1] .. (on and '' or '_nographs')
      local before = torch._lstmGraphStats(cfg[4])
      result(what, time_ms(step, iters, warmup, reps))
      stats_line(what, before, cfg[4])
    end
  end
  graphs(true)
end

-- ---- the fused / gemm crossover in H (INFO lines) ---------------------------------------------
local function sweep()
  local B, T, I = 100, 28, 28
  local hs = { 64, 128, 256, 512 }
  local iters, warmup, reps = 10, 3, 3
  if QUICK then B, T, hs, iters, warmup, reps = 4, 3, { 8, 16 }, 2, 1, 2 end
  torch.cuda.allowTF32(false)
  graphs(true)
  local kwas = torch._lstmKernel()
  for _, Hd in ipairs(hs) do
    torch.manualSeed(7)
    local m = nn.LSTM(I, Hd, 1, { batchFirst = true }):cuda()
    local x = torch.randn(B, T, I):cuda()
    local g = torch.randn(B, T, Hd):cuda()
    local function step()
      m:zeroGradParameters()
      m(x):backward(g)
    end
    local ms = {}
    for _, kern in ipairs({ 'fused', 'gemm' }) do
      torch._lstmKernel(kern)
      ms[kern] = time_ms(step, iters, warmup, reps)
    end
    out(('INFO sweep nn.LSTM 28->%d B=%d T=%d fwd+bwd, graphs: fused %.4f ms, gemm %.4f ms')
        :format(Hd, B, T, ms.fused, ms.gemm))
  end
  torch._lstmKernel(kwas)
end

local t0 = torch.clock()
local was = torch._lstmGraphs()
seed()
lstm1024()
recurrent()
sweep()
torch._lstmGraphs(was)
out(('INFO bench/gpu_lstm.lua took %.1f s'):format(torch.clock() - t0))
if checks_failed > 0 then os.exit(1) end
