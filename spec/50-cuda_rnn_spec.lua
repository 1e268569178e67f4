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
-- step captured whole in a CUDA graph; mixed devices are a clear error. Pending without a
-- device; in the `make CUDA=emu` build the device is the host emulation. (Restricted assert
-- API: the file also runs under tools/minibusted.lua on a GPU machine, gpu/check.sh.)
local torch = require 'torch'
local nn = require 'nn'
local H = require 'helpers'

local gpu_it = H.gpu_it
local TOL = { float = { 1e-5, 1e-6 }, double = { 1e-10, 1e-12 } }
local TYPE = { float = 'torch.FloatTensor', double = 'torch.DoubleTensor' }
local CUDA_TYPE = { float = 'torch.CudaTensor', double = 'torch.CudaDoubleTensor' }

local function host(t) return t:detach():cpu() end

local function close(gpu, cpu, dt, what)
  assert(gpu ~= nil, (what or 'result') .. ': missing on the device')
  assert(cpu ~= nil, (what or 'result') .. ': missing on the CPU')
  assert.are.same(cpu:size():totable(), gpu:size():totable())
  assert(gpu:isCuda(), (what or 'result') .. ': not a device tensor')
  local rtol = TOL[dt][1]
  local scale = cpu:nElement() > 0 and torch.abs(host(cpu):double()):max() or 0
  local ok, err = pcall(H.close, host(gpu), host(cpu), rtol, math.max(TOL[dt][2], rtol * scale))
  assert(ok, (what or 'result') .. ': ' .. tostring(err))
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

local function compare_all(g, c, dt)
  local n = 0
  for k, v in pairs(c) do
    close(g[k], v, dt, k)
    n = n + 1
  end
  for k in pairs(g) do assert(c[k] ~= nil, k .. ': only on the device') end
  return n
end

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

  gpu_it('repeated calls give the same results (fresh buffers each call)', function()
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
