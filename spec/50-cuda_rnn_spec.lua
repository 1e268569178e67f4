-- The recurrent layers of core/rnn.c on CUDA tensors (gpu/rnn.cu): nn.GRU, nn.RNN (tanh,
-- relu), nn.GRUCell, nn.RNNCell and nn.LSTM's bidirectional and variable-length forms, each
-- compared with the CPU implementation of the same call on the same parameters (spec 44 checks
-- that one against PyTorch): the output, the final state and EVERY gradient (input, h0, c0,
-- each weight and bias), float32 within 1e-5 relative (the tensor's largest magnitude times
-- that as the absolute floor; the device's expf / tanhf are not the CPU's polynomials),
-- float64 within 1e-10. The grid: 1-2 layers x bidirectional x lengths (unsorted, one equal
-- to T and one of 1) x batchFirst x initial state given or not, for every mode; without bias;
-- dropout between layers in training (the device draws the CPU's numbers: same seed, same
-- masks) and in evaluate mode; the cells (batched and 1-D); repeated calls; stateful carry; a
-- step captured whole in a CUDA graph; the time loops' own CUDA graphs (gpu/loop_graph.cu:
-- graphs on and off and the CPU agree call after call, the counters per layer kind, a shape
-- change re-captures, LUATORCH_CUDA_GRAPHS=0); mixed devices are a clear error. Pending without a
-- device; in the `make CUDA=emu` build the device is the host emulation. (Restricted assert
-- API: the file also runs under tools/minibusted.lua on a GPU machine, gpu/check.sh.)
local torch = require 'torch'
local nn = require 'nn'
local H = require 'helpers'

local gpu_it = H.gpu_it
local TYPE = { float = 'torch.FloatTensor', double = 'torch.DoubleTensor' }
local CUDA_TYPE = { float = 'torch.CudaTensor', double = 'torch.CudaDoubleTensor' }

local function host(t) return t:detach():cpu() end

local function close(gpu, cpu, dt, what)
  assert(gpu == nil or gpu:isCuda(), (what or 'result') .. ': not a device tensor')
  H.device_close(gpu, cpu, dt, what)
end

local function leaf(t)
  t.requiresGrad = true
  return t
end

local function make(mode, I, Hd, o)
  local opts = { batchFirst = o.batchFirst, bias = o.bias ~= false,
                 bidirectional = o.bidirectional, dropout = o.dropout or 0 }
  local L = o.L or 1
  if mode == 'lstm' then return nn.LSTM(I, Hd, L, opts) end
  if mode == 'gru' then return nn.GRU(I, Hd, L, opts) end
  opts.nonlinearity = mode
  return nn.RNN(I, Hd, L, opts)
end

-- One module on the CPU and its :cuda() copy, called PyTorch-style on the same numbers
-- (m(x, state, {lengths})), backward by autograd from random gradients of the output and the
-- final state; returns {name = tensor} for the device and the CPU, and the number of entries.
local function pair(mode, dt, o)
  torch.manualSeed(o.seed or 5)
  local T, B, I, Hd, L = o.T or 5, o.B or 4, o.I or 3, o.H or 4, o.L or 1
  local D = o.bidirectional and 2 or 1
  local lstm = mode == 'lstm'
  local m = make(mode, I, Hd, o):type(TYPE[dt])
  if o.evaluate then m:evaluate() end
  local g = m:clone():type(CUDA_TYPE[dt])
  local xs = o.batchFirst and { B, T, I } or { T, B, I }
  local x = torch.randn(table.unpack(xs)):type(TYPE[dt])
  local h0 = o.state and torch.randn(L * D, B, Hd):type(TYPE[dt]) or nil
  local c0 = o.state and lstm and torch.randn(L * D, B, Hd):type(TYPE[dt]) or nil
  local os = o.batchFirst and { B, T, D * Hd } or { T, B, D * Hd }
  local gout = torch.randn(table.unpack(os)):type(TYPE[dt])
  local ghn = torch.randn(L * D, B, Hd):type(TYPE[dt])
  local gcn = torch.randn(L * D, B, Hd):type(TYPE[dt])
  local function run(mod, dev)
    local mv = function(t)
      if t == nil then return nil end
      return dev and t:clone():cuda() or t:clone()
    end
    mod:zeroGradParameters()
    local xx, hh, cc = leaf(mv(x)), h0 and leaf(mv(h0)), c0 and leaf(mv(c0))
    local state = hh
    if lstm and hh then state = { hh, cc } end
    if o.dropout then torch.manualSeed(99) end
    local out, st = mod(xx, state, o.lengths and { lengths = o.lengths:clone() } or nil)
    local hn, cn = st, nil
    if lstm then hn, cn = st[1], st[2] end
    local outs, grads = { out, hn }, { mv(gout), mv(ghn) }
    if lstm then outs[3], grads[3] = cn, mv(gcn) end
    torch.autograd.backward(outs, grads)
    local r = { output = out, h_n = hn, c_n = cn, grad_input = xx.grad }
    if hh then r.grad_h0 = hh.grad end
    if cc then r.grad_c0 = cc.grad end
    for _, e in ipairs(mod:namedParameters()) do r['grad_' .. e[1]] = e[3] end
    return r
  end
  local c = run(m, false)
  local gr = run(g, true)
  return gr, c
end

local function compare_all(g, c, dt) return H.device_compare_all(g, c, dt, close) end

local LENGTHS = torch.LongTensor({ 3, 5, 1, 4 })  -- B = 4, T = 5: unsorted, T and 1 included

describe('nn.GRU / nn.RNN / nn.LSTM (bidirectional, lengths) on CUDA tensors (gpu/rnn.cu)', function()
  for _, mode in ipairs({ 'gru', 'tanh', 'relu', 'lstm' }) do
    for _, L in ipairs({ 1, 2 }) do
      for _, bi in ipairs({ false, true }) do
        for _, len in ipairs({ false, true }) do
          -- (the plain nn.LSTM is gpu/lstm.cu's: spec 35)
          if mode ~= 'lstm' or bi or len then
            for _, bf in ipairs({ false, true }) do
              for _, state in ipairs({ false, true }) do
                local name = ('%s, %d layer%s%s%s, batchFirst %s, %s initial state, float')
                  :format(mode, L, L > 1 and 's' or '', bi and ', bidirectional' or '',
                          len and ', lengths' or '', tostring(bf), state and 'with' or 'no')
                gpu_it(name, function()
                  local g, c = pair(mode, 'float', { L = L, bidirectional = bi, batchFirst = bf,
                                                     state = state, lengths = len and LENGTHS or nil })
                  -- output, h_n, grad_input, the parameters (4 per layer and direction) and
                  -- c_n, grad_h0, grad_c0 where they exist
                  local want = 3 + 4 * L * (bi and 2 or 1) + (mode == 'lstm' and 1 or 0)
                               + (state and (mode == 'lstm' and 2 or 1) or 0)
                  assert.are.equal(want, compare_all(g, c, 'float'))
                end)
              end
            end
          end
        end
      end
    end
  end

  gpu_it('without bias, every mode, bidirectional with lengths, float64', function()
    for _, mode in ipairs({ 'gru', 'tanh', 'relu', 'lstm' }) do
      local g, c = pair(mode, 'double', { L = 2, bidirectional = true, lengths = LENGTHS,
                                          state = true, bias = false })
      assert(c.grad_bias_ih_l0 == nil, 'a bias without bias')
      assert(compare_all(g, c, 'double') >= 3 + 2 * 2 * 2)
    end
  end)

  gpu_it('float64, 2 layers, bidirectional, lengths, batchFirst, initial state', function()
    for _, mode in ipairs({ 'gru', 'tanh', 'relu', 'lstm' }) do
      local g, c = pair(mode, 'double', { L = 2, bidirectional = true, lengths = LENGTHS,
                                          state = true, batchFirst = true, T = 5, B = 4, I = 6,
                                          H = 7 })
      compare_all(g, c, 'double')
    end
  end)

  gpu_it("dropout between layers in training: the CPU's masks and results (same seed)", function()
    for _, mode in ipairs({ 'gru', 'tanh', 'lstm' }) do
      local g, c = pair(mode, 'float', { L = 3, bidirectional = mode ~= 'tanh', dropout = 0.4,
                                         lengths = LENGTHS, state = true })
      compare_all(g, c, 'float')
      -- dropout acted: the result differs from evaluate mode's
      local ge = pair(mode, 'float', { L = 3, bidirectional = mode ~= 'tanh', dropout = 0.4,
                                       lengths = LENGTHS, state = true, evaluate = true })
      assert((host(ge.output) - host(g.output)):abs():max() > 1e-3, mode .. ': dropout did nothing')
    end
  end)

  gpu_it('dropout in evaluate mode: no masks, the CPU\'s results', function()
    for _, mode in ipairs({ 'gru', 'relu', 'lstm' }) do
      local g, c = pair(mode, 'float', { L = 2, bidirectional = true, dropout = 0.5,
                                         evaluate = true, lengths = LENGTHS })
      compare_all(g, c, 'float')
    end
  end)

  gpu_it('padding changes nothing on the device: the outputs past a length are 0', function()
    local g = pair('gru', 'float', { L = 1, bidirectional = true, lengths = LENGTHS })
    local y = host(g.output)  -- T x B x 2H
    for b = 1, 4 do
      for t = LENGTHS[b] + 1, 5 do
        assert.are.equal(0, y[t][b]:abs():max())
      end
    end
  end)

  gpu_it('a longer sequence, larger sizes (several blocks of threads per step)', function()
    local g, c = pair('gru', 'float', { L = 1, bidirectional = true, T = 9, B = 7, I = 33,
                                        H = 70, lengths = torch.LongTensor({ 9, 1, 4, 9, 2, 8, 5 }),
                                        state = true })
    compare_all(g, c, 'float')
    g, c = pair('lstm', 'float', { L = 1, T = 9, B = 7, I = 33, H = 70,
                                   lengths = torch.LongTensor({ 9, 1, 4, 9, 2, 8, 5 }) })
    compare_all(g, c, 'float')
  end)

  gpu_it('repeated calls give the same results (the workspaces and their graphs reused)', function()
    local m = nn.GRU(3, 4, 2, { bidirectional = true }):cuda()
    local x = torch.randn(5, 4, 3):cuda()
    local y1 = host(m:forward(x, { lengths = LENGTHS }))
    local y2 = host(m:forward(x, { lengths = LENGTHS }))
    assert.are.equal(0, (y1 - y2):abs():max())
  end)

  gpu_it('stateful sequences: the carried state on the device, as on the CPU', function()
    torch.manualSeed(4)
    local m = nn.GRU(3, 4, 2, { stateful = true, bidirectional = true })
    local g = m:clone():cuda()
    local x1, x2 = torch.randn(5, 2, 3), torch.randn(5, 2, 3)
    m(x1); g(x1:cuda())
    local y, hn = m(x2)
    local yg, hng = g(x2:cuda())
    close(yg, y, 'float', 'second call output')
    close(hng, hn, 'float', 'second call h_n')
    local fresh = m:clone():resetState()  -- the same parameters, no carried state
    assert((host(fresh(x2)) - host(y)):abs():max() > 1e-4, 'the state was not carried')
  end)

  gpu_it('a GRU training step captured whole in a CUDA graph replays the eager results', function()
    torch.manualSeed(6)
    local m = nn.GRU(3, 4, 1, { bidirectional = true }):cuda()
    local x, gy = torch.randn(5, 2, 3):cuda(), torch.randn(5, 2, 8):cuda()
    local function step()
      m:zeroGradParameters()
      m(x):backward(gy)
    end
    step()
    local want = {}
    for i, e in ipairs(m:namedParameters()) do want[i] = host(e[3]):clone() end
    local graph = torch.cuda.graph(step)
    m:zeroGradParameters()
    graph:replay()
    for i, e in ipairs(m:namedParameters()) do close(e[3], want[i], 'float', e[1] .. ' gradient') end
    graph:free()
  end)
end)

-- ---- CUDA graphs of the time loops (gpu/loop_graph.cu) ------------------------------------
-- The modules keep their time loops' buffers in a workspace per layer and direction
-- (torch._rnnWorkspace), so at a fixed shape every loop finds the key (pointers, sizes) of its
-- last run: the first call launches step by step, the second captures, the later ones replay
-- (the emulated device captures too: it records the launches and cuBLAS calls and refuses
-- what CUDA refuses in a capture). Counters per layer kind: torch._lstmGraphStats(kind).
local KIND = { gru = 'gru', tanh = 'rnn', relu = 'rnn', lstm = 'lstmLayer' }
local KINDS = { 'lstm', 'lstmLayer', 'gru', 'rnn' }

local function stats()
  local s = { all = torch._lstmGraphStats() }
  for _, k in ipairs(KINDS) do s[k] = torch._lstmGraphStats(k) end
  return s
end

local function delta(after, before)
  local d = {}
  for k, v in pairs(after) do
    d[k] = {}
    for f, n in pairs(v) do d[k][f] = n - before[k][f] end
  end
  return d
end

-- the inputs of a call at T steps (B = 4, I = 3, H = 5, D directions, L layers): the same
-- numbers for the same T
local function inputs(T, D, L, lstm)
  torch.manualSeed(100 + T)
  local function r(...) return torch.randn(...) end
  return { x = r(T, 4, 3), h0 = r(L * D, 4, 5), c0 = lstm and r(L * D, 4, 5) or nil,
           gout = r(T, 4, D * 5), ghn = r(L * D, 4, 5), gcn = lstm and r(L * D, 4, 5) or nil }
end

-- one forward + backward of mod (on the device when dev) from inp; every result on the host
local function call(mod, dev, inp, lengths)
  local function mv(t) return t and (dev and t:clone():cuda() or t:clone()) end
  mod:zeroGradParameters()
  local xx, hh, cc = leaf(mv(inp.x)), leaf(mv(inp.h0)), inp.c0 and leaf(mv(inp.c0))
  local out, st = mod(xx, cc and { hh, cc } or hh, lengths and { lengths = lengths } or nil)
  local hn, cn = st, nil
  if cc then hn, cn = st[1], st[2] end
  local outs, grads = { out, hn }, { mv(inp.gout), mv(inp.ghn) }
  if cc then outs[3], grads[3] = cn, mv(inp.gcn) end
  torch.autograd.backward(outs, grads)
  local r = { output = out, h_n = hn, c_n = cn, grad_input = xx.grad, grad_h0 = hh.grad,
              grad_c0 = cc and cc.grad }
  for _, e in ipairs(mod:namedParameters()) do r['grad_' .. e[1]] = e[3] end
  local h = {}
  for k, v in pairs(r) do h[k] = host(v):clone() end
  return h
end

-- `plan`: a list of {T, lengths or false}, one call each; the device module's results per call
-- with graphs on or off, the CPU's for the same inputs, and the counters' changes
local function graph_calls(mode, graphs_on, plan, o)
  local D, L = o.bidirectional and 2 or 1, o.L or 1
  torch.manualSeed(3)
  local m = make(mode, 3, 5, o)
  local g = m:clone():cuda()
  local was = torch._lstmGraphs()
  torch._lstmGraphs(graphs_on)
  local before = stats()
  local dev, cpu = {}, {}
  local ok, err = pcall(function()
    for k, p in ipairs(plan) do
      local inp = inputs(p[1], D, L, mode == 'lstm')
      dev[k] = call(g, true, inp, p[2] or nil)
    end
  end)
  local d = delta(stats(), before)
  torch._lstmGraphs(was)
  assert(ok, err)
  for k, p in ipairs(plan) do
    cpu[k] = call(m, false, inputs(p[1], D, L, mode == 'lstm'), p[2] or nil)
  end
  return dev, cpu, d
end

local function all_close(dev, cpu, what)
  local n = 0
  for k, v in pairs(cpu) do
    assert(dev[k] ~= nil, what .. ': ' .. k .. ' missing on the device')
    local scale = v:nElement() > 0 and torch.abs(v:double()):max() or 0
    local ok, err = pcall(H.close, dev[k], v, 1e-5, math.max(1e-6, 1e-5 * scale))
    assert(ok, what .. ', ' .. k .. ': ' .. tostring(err))
    n = n + 1
  end
  return n
end

local function bitwise(a, b, what)
  for k, v in pairs(a) do
    assert((v:double() - b[k]:double()):abs():max() == 0, what .. ': ' .. k .. ' differs')
  end
end

describe('CUDA graphs of the recurrent layers\' time loops (gpu/loop_graph.cu)', function()
  -- 2 layers, bidirectional: 4 forward and 4 backward loops a call
  for _, cfg in ipairs({ { 'gru', false }, { 'gru', true }, { 'tanh', false }, { 'relu', true },
                         { 'lstm', false }, { 'lstm', true } }) do
    local mode, len = cfg[1], cfg[2]
    gpu_it(('%s, 2 layers, bidirectional%s: graphs on == graphs off == the CPU, call after call; '
            .. 'step by step, captured, then replayed'):format(mode, len and ', lengths' or ''), function()
      local plan = {}
      for k = 1, 4 do plan[k] = { 5, len and LENGTHS } end
      local on, cpu, son = graph_calls(mode, true, plan, { L = 2, bidirectional = true })
      local off, _, soff = graph_calls(mode, false, plan, { L = 2, bidirectional = true })
      for k = 1, 4 do
        local n = all_close(on[k], cpu[k], 'graphs on, call ' .. k)
        assert.are.equal(n, all_close(off[k], cpu[k], 'graphs off, call ' .. k))
        assert(n >= 3 + 4 * 2 * 2)
      end
      bitwise(on[4], on[3], 'the second replay against the first')
      local kind = KIND[mode]
      assert.are.same({ captures = 0, replays = 0, stepwise = 32, repeats = 0, fused = 0 }, soff[kind])
      assert.are.same({ captures = 8, replays = 16, stepwise = 8, repeats = 24, fused = 0 }, son[kind])
      -- counted under its own kind only
      for _, k in ipairs(KINDS) do
        if k ~= kind then
          assert.are.same({ captures = 0, replays = 0, stepwise = 0, repeats = 0, fused = 0 },
                          son[k], k .. ' counters moved')
        end
      end
      assert.are.equal(son[kind].replays, son.all.replays)
    end)
  end

  gpu_it('a shape change re-captures; the first shape\'s workspace replays on return; lengths '
         .. 'given after none re-capture', function()
    -- 1 layer, one direction: a forward and a backward loop a call
    local plan = { { 5 }, { 5 }, { 5 }, { 7 }, { 7 }, { 7 }, { 5 }, { 5, LENGTHS }, { 5, LENGTHS },
                   { 5, LENGTHS } }
    local dev, cpu, s = graph_calls('gru', true, plan, { L = 1 })
    for k = 1, #plan do all_close(dev[k], cpu[k], 'call ' .. k) end
    -- T = 5: step, capture, replay; T = 7 (another workspace): the same; T = 5 again: replay;
    -- lengths (a new key in the same workspace): step, capture, replay
    assert.are.same({ captures = 6, replays = 8, stepwise = 6, repeats = 14, fused = 0 }, s.gru)
  end)

  gpu_it('two forwards before one backward: the pending graph keeps its buffers', function()
    torch.manualSeed(9)
    local m = nn.LSTM(3, 5, 1, { bidirectional = true })
    local g = m:clone():cuda()
    local x1, x2 = torch.randn(5, 4, 3), torch.randn(5, 4, 3)
    local w1, w2 = torch.randn(5, 4, 10), torch.randn(5, 4, 10)
    local function run(mod, dev)
      local function mv(t) return dev and t:cuda() or t:clone() end
      mod:zeroGradParameters()
      local a, b = leaf(mv(x1)), leaf(mv(x2))
      local ya = mod(a, nil, { lengths = LENGTHS })
      local yb = mod(b)
      torch.autograd.backward({ ya, yb }, { mv(w1), mv(w2) })
      local r = { ya = ya, yb = yb, ga = a.grad, gb = b.grad }
      for _, e in ipairs(mod:namedParameters()) do r[e[1]] = e[3] end
      local h = {}
      for k, v in pairs(r) do h[k] = host(v):clone() end
      return h
    end
    local want = run(m, false)
    for k = 1, 3 do all_close(run(g, true), want, 'round ' .. k) end
  end)

  gpu_it('without grad the workspace is free again at once: evaluation replays', function()
    torch.manualSeed(2)
    local m = nn.RNN(3, 5, 2)
    local g = m:clone():cuda()
    local x = torch.randn(6, 4, 3)
    local want = m(x):clone()
    local before = torch._lstmGraphStats('rnn')
    for _ = 1, 3 do
      local y = torch.noGrad(function() return g(x:cuda()) end)
      close(y, want, 'float', 'output')
    end
    local after = torch._lstmGraphStats('rnn')
    assert.are.equal(2, after.stepwise - before.stepwise)
    assert.are.equal(2, after.captures - before.captures)
    assert.are.equal(2, after.replays - before.replays)
  end)

  gpu_it('torch.rnnLayer without a workspace launches step by step; with one it replays', function()
    torch.manualSeed(5)
    local x = torch.randn(5, 4, 3):cuda()
    local w = { torch.randn(15, 3):cuda(), torch.randn(15, 5):cuda() }
    local ws = torch._rnnWorkspace()
    local before = torch._lstmGraphStats('gru')
    local y0 = torch.rnnLayer('gru', x, nil, nil, w)
    for _ = 1, 2 do torch.rnnLayer('gru', x, nil, nil, w) end
    local mid = torch._lstmGraphStats('gru')
    assert.are.equal(3, mid.stepwise - before.stepwise)
    assert.are.equal(0, mid.captures + mid.replays - before.captures - before.replays)
    local y
    for _ = 1, 3 do y = torch.rnnLayer('gru', x, nil, nil, w, false, nil, ws) end
    local after = torch._lstmGraphStats('gru')
    assert.are.equal(1, after.stepwise - mid.stepwise)
    assert.are.equal(1, after.captures - mid.captures)
    assert.are.equal(1, after.replays - mid.replays)
    assert.are.equal(0, (host(y) - host(y0)):abs():max())
  end)

  gpu_it('LUATORCH_CUDA_GRAPHS=0 launches every loop step by step', function()
    local exe = os.getenv('LUATORCH_EXE') or './build/luatorch'
    local code = [[
      local nn = require 'nn'
      local m = nn.GRU(3, 4, 1, { bidirectional = true }):cuda()
      local x, g = torch.randn(5, 2, 3):cuda(), torch.randn(5, 2, 8):cuda()
      for _ = 1, 3 do m:zeroGradParameters(); m(x):backward(g) end
      local s = torch._lstmGraphStats('gru')
      io.write(('graphs %s captures %d replays %d stepwise %d'):format(
        tostring(torch._lstmGraphs()), s.captures, s.replays, s.stepwise))]]
    local f = io.popen(('LUATORCH_CUDA_GRAPHS=0 %s -e %q 2>&1; echo " rc=$?"'):format(exe, code))
    local out = f:read('a')
    f:close()
    H.matches(out, 'graphs false captures 0 replays 0 stepwise 12', 'rc=0')
  end)
end)

describe('torch.rnnLayer: the workspace argument', function()
  it('anything but a torch._rnnWorkspace() is a clear error', function()
    local x = torch.randn(5, 4, 3)
    local w = { torch.randn(12, 3), torch.randn(12, 4) }
    H.matches(H.error_of(torch.rnnLayer, 'gru', x, nil, nil, w, false, nil, 'ws'),
              'bad argument #8', 'rnnLayer', '_rnnWorkspace', 'string')
    H.matches(H.error_of(torch.rnnLayer, 'gru', x, nil, nil, w, false, nil, torch._lstmWorkspace()),
              'bad argument #8', 'userdata')
    -- on the host it is accepted and changes nothing
    local y1 = torch.rnnLayer('gru', x, nil, nil, w)
    local y2 = torch.rnnLayer('gru', x, nil, nil, w, false, nil, torch._rnnWorkspace())
    assert.are.equal(0, (y1 - y2):abs():max())
  end)
end)

describe('nn.GRUCell / nn.RNNCell on CUDA tensors', function()
  for _, cls in ipairs({ 'GRUCell', 'RNNCell', 'RNNCell relu' }) do
    for _, bias in ipairs({ true, false }) do
      gpu_it(('%s, %s bias, batched and 1-D, with and without h'):format(cls, bias and 'with' or 'no'), function()
        torch.manualSeed(11)
        local name, nl = cls:match('^(%S+)%s*(%S*)$')
        local m = name == 'GRUCell' and nn.GRUCell(3, 5, bias)
                  or nn.RNNCell(3, 5, bias, nl ~= '' and nl or 'tanh')
        local g = m:clone():cuda()
        for _, shape in ipairs({ { 4, 3 }, { 3 } }) do
          for _, withh in ipairs({ false, true }) do
            local x = torch.randn(table.unpack(shape))
            local hs = #shape == 2 and { 4, 5 } or { 5 }
            local h = withh and torch.randn(table.unpack(hs)) or nil
            local gy = torch.randn(table.unpack(hs))
            local function run(mod, dev)
              local mv = function(t) return t and (dev and t:clone():cuda() or t:clone()) end
              mod:zeroGradParameters()
              local xx, hh = leaf(mv(x)), h and leaf(mv(h))
              local y = mod(xx, hh)
              torch.autograd.backward({ y }, { mv(gy) })
              local r = { y = y, gx = xx.grad, gh = hh and hh.grad }
              for _, e in ipairs(mod:namedParameters()) do r[e[1]] = e[3] end
              return r
            end
            local c, d = run(m, false), run(g, true)
            local n = compare_all(d, c, 'float')
            assert.are.equal(2 + (withh and 1 or 0) + (bias and 4 or 2), n)
          end
        end
      end)
    end
  end
end)

describe('recurrent layers: mixed devices', function()
  gpu_it('parameters on the device and the input on the host (or the reverse) is a clear error', function()
    local x = torch.randn(5, 4, 3)
    local want = 'expected all tensors on one device'
    for _, m in ipairs({ nn.GRU(3, 4), nn.RNN(3, 4), nn.LSTM(3, 4, { bidirectional = true }) }) do
      m:cuda()
      local ok, err = pcall(m.forward, m, x)
      assert(not ok, torch.typename(m) .. ' ran with a host input and device parameters')
      H.matches(tostring(err), torch.typename(m), want, 'CPU', 'CUDA')
    end
    local c = nn.GRUCell(3, 4):cuda()
    local ok, err = pcall(c.forward, c, x[1])
    assert(not ok)
    H.matches(tostring(err), 'nn.GRUCell', want)
    -- a host initial state with a device input
    local m = nn.GRU(3, 4):cuda()
    ok, err = pcall(m.forward, m, x:cuda(), torch.zeros(1, 4, 4))
    assert(not ok)
    H.matches(tostring(err), want)
    -- host parameters and a device input
    local hm = nn.RNN(3, 4)
    ok, err = pcall(hm.forward, hm, x:cuda())
    assert(not ok)
    H.matches(tostring(err), want)
    -- the core's message names the function
    ok, err = pcall(torch.rnnLayer, 'gru', x:cuda(), nil, nil, { torch.randn(12, 3), torch.randn(12, 4) })
    assert(not ok)
    H.matches(tostring(err), '^rnnLayer: ' .. want)
  end)
end)
