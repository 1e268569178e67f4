-- nn.LSTM / nn.LSTMCell (the fused C LSTM, core/lstm.c): PyTorch parity of outputs, final
-- states and every gradient (float32 and float64), parity with the module-composed seed cell,
-- gradcheck (cell and layer, 1 and 2 layers, batchFirst both ways, with and without initial
-- state and bias, non-contiguous input, dropout), both loop styles, workspace reuse (no
-- allocation after the first step), grad-mode behaviour and errors.
local torch = require 'torch'
local nn = require 'nn'
local optim = require 'optim'
local H = require 'helpers'
local F = H.fixture('lstm')

local function T(f, dtype) return H.tensor(f, dtype) end
local TYPES = { float32 = 'torch.FloatTensor', float64 = 'torch.DoubleTensor' }
-- float32 against PyTorch: 1e-5 relative (plus a small absolute floor for values near 0)
local TOL = { float32 = { 1e-5, 1e-6 }, float64 = { 1e-11, 1e-13 } }

local function leaf(t)
  t.requiresGrad = true
  return t
end

local function grad_field(name)
  return (name:gsub('^weight', 'gradWeight'):gsub('^bias', 'gradBias'))
end

local function load(m, params, dtype)
  m:type(TYPES[dtype])
  for name, f in pairs(params) do m[name]:copy(T(f, dtype)) end
  m:zeroGradParameters()
  return m
end

local function count_allocs(fn)
  local before = torch.allocatorStats().allocations
  fn()
  return torch.allocatorStats().allocations - before
end

describe('nn.LSTM: parameters', function()
  it('has PyTorch names, shapes, order and initialisation bounds', function()
    local init = F.init
    local m = nn.LSTM(10, 16, 2)
    local named = m:namedParameters()
    assert.equal(#init.names, #named)
    for i, e in ipairs(named) do
      assert.equal(init.names[i], e[1])
      assert.same(init.shapes[i], e[2]:size():totable())
      assert.equal(e[3], m[grad_field(e[1])])
      assert.is_true(e[2].grad:storage() == e[3]:storage())  -- autograd adds into gradWeight
    end
    local bound = 1 / math.sqrt(16)
    local maxabs = 0
    for _, e in ipairs(named) do maxabs = math.max(maxabs, torch.abs(e[2]:detach()):max()) end
    assert.is_true(maxabs <= bound and maxabs > 0.9 * bound)
    assert.is_true(init.maxabs <= bound)
    local p, g = m:parameters()
    assert.equal(8, #p)
    assert.equal(8, #g)
  end)

  it('names the cell\'s parameters as PyTorch\'s LSTMCell, and prefixes them in containers', function()
    local c = nn.LSTMCell(3, 4)
    local names = {}
    for _, e in ipairs(c:namedParameters()) do names[#names + 1] = e[1] end
    assert.same({ 'weight_ih', 'weight_hh', 'bias_ih', 'bias_hh' }, names)
    assert.equal(2, #nn.LSTMCell(3, 4, false):namedParameters())
    local s = nn.Sequential():add(nn.LSTM(28, 128, 1, { batchFirst = true })):add(nn.Select(2, -1))
      :add(nn.Linear(128, 10))
    local sn = {}
    for _, e in ipairs(s:namedParameters()) do sn[#sn + 1] = e[1] end
    assert.same({ '0.weight_ih_l0', '0.weight_hh_l0', '0.bias_ih_l0', '0.bias_hh_l0', '2.weight',
                  '2.bias' }, sn)
    assert.equal(4, #nn.LSTM(3, 4, 2, { bias = false }):namedParameters())
  end)

  it('converts types and keeps gradients linked', function()
    local m = nn.LSTM(3, 4):double()
    assert.equal('torch.DoubleTensor', m.weight_ih_l0:type())
    assert.is_true(m.gradWeight_ih_l0:storage() == m.weight_ih_l0.grad:storage())
    local out = m(torch.randn(2, 5, 3):double())
    assert.equal('torch.DoubleTensor', out:type())
  end)
end)

describe('nn.LSTM vs PyTorch', function()
  for _, case in ipairs({ 'two_layers_state', 'batch_first_nostate', 'no_bias' }) do
    for _, dtype in ipairs({ 'float32', 'float64' }) do
      it(case .. ' ' .. dtype .. ': output, h_n, c_n and every gradient', function()
        local c = F[case]
        local cfg = c.config
        local m = load(nn.LSTM(cfg.inputSize, cfg.hiddenSize, cfg.numLayers,
                               { batchFirst = cfg.batchFirst, bias = cfg.bias }), c.params, dtype)
        local x = leaf(T(c.x, dtype))
        local h0, c0
        if c.h0 then h0, c0 = leaf(T(c.h0, dtype)), leaf(T(c.c0, dtype)) end
        local out, state = m(x, h0 and { h0, c0 } or nil)
        local e, rtol, atol = c[dtype], TOL[dtype][1], TOL[dtype][2]
        H.close(out, e.output, rtol, atol)
        H.close(state[1], e.hn, rtol, atol)
        H.close(state[2], e.cn, rtol, atol)
        torch.autograd.backward({ out, state[1], state[2] },
                                { T(c.gradOutput, dtype), T(c.gradHn, dtype), T(c.gradCn, dtype) })
        H.close(x.grad, e.gradInput, rtol, atol)
        if h0 then
          H.close(h0.grad, e.gradH0, rtol, atol)
          H.close(c0.grad, e.gradC0, rtol, atol)
        end
        for name, g in pairs(e.gradParams) do H.close(m[grad_field(name)], g, rtol, atol) end
      end)
    end
  end

  for _, case in ipairs({ 'cell_state', 'cell_nostate_nobias' }) do
    for _, dtype in ipairs({ 'float32', 'float64' }) do
      it('LSTMCell ' .. case .. ' ' .. dtype, function()
        local c = F[case]
        local m = load(nn.LSTMCell(c.config.inputSize, c.config.hiddenSize, c.config.bias),
                       c.params, dtype)
        local x = leaf(T(c.x, dtype))
        local h, cc
        if c.h then h, cc = leaf(T(c.h, dtype)), leaf(T(c.c, dtype)) end
        local hc = m(x, { h, cc })
        local e, rtol, atol = c[dtype], TOL[dtype][1], TOL[dtype][2]
        H.close(hc[1], e.h, rtol, atol)
        H.close(hc[2], e.c, rtol, atol)
        torch.autograd.backward(hc, { T(c.gradH1, dtype), T(c.gradC1, dtype) })
        H.close(x.grad, e.gradInput, rtol, atol)
        if h then
          H.close(h.grad, e.gradH, rtol, atol)
          H.close(cc.grad, e.gradC, rtol, atol)
        end
        for name, g in pairs(e.gradParams) do H.close(m[grad_field(name)], g, rtol, atol) end
      end)
    end
  end
end)

-- The seed example's cell, written from nn.Linear and autograd ops.
local function seed_cell(I, Hd)
  local x2h, h2h = nn.Linear(I, 4 * Hd), nn.Linear(Hd, 4 * Hd)
  local function step(x, h, c)
    local gates = x2h(x) + h2h(h)
    local i, f, g, o = table.unpack(gates:chunk(4, 2))
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = torch.cmul(f, c) + torch.cmul(i, g)
    h = torch.cmul(o, torch.tanh(c))
    return h, c
  end
  return x2h, h2h, step
end

describe('nn.LSTM vs the module-composed seed cell', function()
  for _, dtype in ipairs({ 'float64', 'float32' }) do
    it('the same outputs and gradients over a sequence (' .. dtype .. ')', function()
      torch.manualSeed(3)
      local I, Hd, Tn, B = 6, 5, 7, 4
      local tname = TYPES[dtype]
      local lstm = nn.LSTM(I, Hd, 1, { batchFirst = true }):type(tname)
      local x2h, h2h, step = seed_cell(I, Hd)
      x2h:type(tname); h2h:type(tname)
      torch.noGrad(function()
        x2h.weight:copy(lstm.weight_ih_l0); x2h.bias:copy(lstm.bias_ih_l0)
        h2h.weight:copy(lstm.weight_hh_l0); h2h.bias:copy(lstm.bias_hh_l0)
      end)
      local x = torch.randn(B, Tn, I):type(tname)
      local w = torch.randn(B, Tn, Hd):type(tname)
      -- composed: the loop over time
      local xs = leaf(x:clone())
      local h, c = torch.zeros(B, Hd):type(tname), torch.zeros(B, Hd):type(tname)
      local outs = {}
      for t = 1, Tn do
        h, c = step(xs:select(2, t), h, c)
        outs[t] = h
      end
      local ref = torch.stack(outs, 2)
      torch.cmul(ref, w):sum():backward()
      -- fused
      local xf = leaf(x:clone())
      local out = lstm(xf)
      torch.cmul(out, w):sum():backward()
      local rtol, atol = dtype == 'float64' and 1e-12 or 2e-5, dtype == 'float64' and 1e-13 or 2e-6
      H.close(out, ref, rtol, atol)
      H.close(xf.grad, xs.grad, rtol, atol)
      H.close(lstm.gradWeight_ih_l0, x2h.gradWeight, rtol, atol)
      H.close(lstm.gradWeight_hh_l0, h2h.gradWeight, rtol, atol)
      H.close(lstm.gradBias_ih_l0, x2h.gradBias, rtol, atol)
      H.close(lstm.gradBias_hh_l0, h2h.gradBias, rtol, atol)
    end)
  end
end)

describe('gradcheck (float64)', function()
  -- the weights of an L-layer LSTM as leaves requiring grad
  local function weights(I, Hd, L, bias)
    local ws = {}
    for l = 0, L - 1 do
      local inp = l == 0 and I or Hd
      ws[#ws + 1] = leaf(torch.randn(4 * Hd, inp):double():mul(0.5))
      ws[#ws + 1] = leaf(torch.randn(4 * Hd, Hd):double():mul(0.5))
      if bias then
        ws[#ws + 1] = leaf(torch.randn(4 * Hd):double():mul(0.5))
        ws[#ws + 1] = leaf(torch.randn(4 * Hd):double():mul(0.5))
      end
    end
    return ws
  end

  for _, L in ipairs({ 1, 2 }) do
    for _, bf in ipairs({ false, true }) do
      for _, state in ipairs({ false, true }) do
        for _, bias in ipairs({ true, false }) do
          local name = ('%d layer(s), batchFirst %s, initial state %s, bias %s'):format(L,
                       tostring(bf), tostring(state), tostring(bias))
          it(name, function()
            torch.manualSeed(11)
            local I, Hd, Tn, B = 3, 2, 3, 2
            local x = leaf(bf and torch.randn(B, Tn, I):double() or torch.randn(Tn, B, I):double())
            local ws = weights(I, Hd, L, bias)
            local inputs = { x }
            if state then
              inputs[2] = leaf(torch.randn(L, B, Hd):double())
              inputs[3] = leaf(torch.randn(L, B, Hd):double())
            end
            local nfix = #inputs
            for _, w in ipairs(ws) do inputs[#inputs + 1] = w end
            local opts = { numLayers = L, batchFirst = bf, bias = bias }
            assert.is_true(torch.gradcheck(function(...)
              local a = { ... }
              local h0, c0 = nil, nil
              if state then h0, c0 = a[2], a[3] end
              return torch.lstm(a[1], h0, c0, { table.unpack(a, nfix + 1) }, opts)
            end, inputs))
          end)
        end
      end
    end
  end

  it('a non-contiguous input (a transposed view as the leaf)', function()
    torch.manualSeed(12)
    local x = leaf(torch.randn(2, 3, 4):double():transpose(1, 2))  -- 3 x 2 x 4, T x B x I
    assert.is_false(x:isContiguous())
    local ws = weights(4, 3, 2, true)
    local inputs = { x, table.unpack(ws) }
    assert.is_true(torch.gradcheck(function(xx, ...)
      return torch.lstm(xx, nil, nil, { ... }, { numLayers = 2 })
    end, inputs))
    -- and a narrowed one (rows with a gap), batch-first
    local y = leaf(torch.randn(2, 3, 6):double())
    local inputs2 = { y, table.unpack(weights(4, 3, 1, true)) }
    assert.is_true(torch.gradcheck(function(yy, ...)
      return torch.lstm(yy:narrow(3, 2, 4), nil, nil, { ... }, { batchFirst = true })
    end, inputs2))
  end)

  it('weights in other layouts (transposed views, a column-major copy path)', function()
    torch.manualSeed(16)
    local x = leaf(torch.randn(3, 2, 3):double())
    local wih = leaf(torch.randn(3, 8):double():t())   -- 8 x 3 with strides (1, 8)
    local whh = leaf(torch.randn(2, 8):double():t())
    local bih, bhh = leaf(torch.randn(8):double()), leaf(torch.randn(8):double())
    assert.is_true(torch.gradcheck(function(xx, a, b, c, d)
      return torch.lstm(xx, nil, nil, { a, b, c, d })
    end, { x, wih, whh, bih, bhh }))
    -- an expanded weight (stride 0) is copied for BLAS; expanded inside fn
    local row = leaf(torch.randn(1, 3):double())
    assert.is_true(torch.gradcheck(function(xx, r, b)
      return torch.lstm(xx, nil, nil, { r:expand(8, 3), b }, { bias = false })
    end, { x, row, whh }))
  end)

  it('dropout between layers (the same mask on every evaluation)', function()
    torch.manualSeed(13)
    local x = leaf(torch.randn(3, 2, 3):double())
    local inputs = { x, table.unpack(weights(3, 4, 3, true)) }
    assert.is_true(torch.gradcheck(function(xx, ...)
      torch.manualSeed(99)
      return torch.lstm(xx, nil, nil, { ... }, { numLayers = 3, dropout = 0.4, train = true })
    end, inputs))
  end)

  it('the cell: with and without state and bias, batched and unbatched', function()
    torch.manualSeed(14)
    local wih, whh = leaf(torch.randn(8, 3):double()), leaf(torch.randn(8, 2):double())
    local bih, bhh = leaf(torch.randn(8):double()), leaf(torch.randn(8):double())
    local x, h, c = leaf(torch.randn(4, 3):double()), leaf(torch.randn(4, 2):double()),
                    leaf(torch.randn(4, 2):double())
    assert.is_true(torch.gradcheck(function(...) return torch.lstmCell(...) end,
                                   { x, h, c, wih, whh, bih, bhh }))
    assert.is_true(torch.gradcheck(function(xx, a, b)
      return torch.lstmCell(xx, nil, nil, a, b)
    end, { x, wih, whh }))
    local xt = leaf(torch.randn(3, 4):double():t())  -- 4 x 3, non-contiguous
    assert.is_true(torch.gradcheck(function(xx, hh, cc, ...)
      return torch.lstmCell(xx, hh, cc, ...)
    end, { xt, h, c, wih, whh, bih, bhh }))
    local x1, h1, c1 = leaf(torch.randn(3):double()), leaf(torch.randn(2):double()),
                       leaf(torch.randn(2):double())
    assert.is_true(torch.gradcheck(function(...) return torch.lstmCell(...) end,
                                   { x1, h1, c1, wih, whh, bih, bhh }))
  end)

  it('through the modules (parameters as inputs)', function()
    torch.manualSeed(15)
    local m = nn.LSTM(3, 2, 2, { batchFirst = true }):double()
    local x = leaf(torch.randn(2, 3, 3):double())
    local inputs = { x }
    for _, p in ipairs(m:parameters()) do inputs[#inputs + 1] = p end
    assert.is_true(torch.gradcheck(function(xx)
      local out, st = m(xx)
      return out, st[1], st[2]
    end, inputs))
    local cell = nn.LSTMCell(3, 2):double()
    local cin = { leaf(torch.randn(2, 3):double()), leaf(torch.randn(2, 2):double()),
                  leaf(torch.randn(2, 2):double()) }
    for _, p in ipairs(cell:parameters()) do cin[#cin + 1] = p end
    assert.is_true(torch.gradcheck(function(xx, hh, cc)
      local hc = cell(xx, { hh, cc })
      return hc[1], hc[2]
    end, cin))
  end)
end)

describe('nn.LSTM in training loops', function()
  local function seed_model()
    return nn.Sequential():add(nn.LSTM(28, 16, 1, { batchFirst = true })):add(nn.Select(2, -1))
      :add(nn.Linear(16, 10))
  end

  it('the seed model is one Sequential; both loop styles give the same gradients', function()
    torch.manualSeed(5)
    local a = seed_model()
    local b = a:clone()
    local x, y = torch.randn(8, 28, 28), torch.LongTensor(8):random(1, 10)
    local crit = nn.CrossEntropyCriterion()
    -- Torch7: forward / backward
    a:zeroGradParameters()
    local out = a:forward(x)
    crit:forward(out, y)
    a:backward(x, crit:backward(out, y))
    -- PyTorch: __call + loss:backward()
    b:zeroGradParameters()
    crit(b(x), y):backward()
    local _, ga = a:parameters()
    local _, gb = b:parameters()
    for i = 1, #ga do H.close(ga[i], gb[i], 1e-5, 1e-7) end
    assert.is_true(ga[1]:clone():abs():sum() > 0)
  end)

  it('learns: the loss of a small sequence task falls with optim.SGD', function()
    torch.manualSeed(6)
    local m = seed_model()
    local crit = nn.CrossEntropyCriterion()
    local opt = optim.SGD(m:parameters(), { lr = 0.5 })
    local x, y = torch.randn(16, 28, 28), torch.LongTensor(16):random(1, 10)
    local first, last
    for i = 1, 60 do
      opt:zeroGrad()
      local loss = crit(m(x), y)
      loss:backward()
      opt:step()
      if i == 1 then first = loss:item() end
      last = loss:item()
    end
    assert.is_true(last < 0.5 * first, ('loss %g -> %g'):format(first, last))
  end)

  it('Torch7 style with an initial state: gradInput is {gx, {gh0, gc0}}', function()
    torch.manualSeed(7)
    local m = nn.LSTM(3, 4, 2):double()
    local x, h0, c0 = torch.randn(5, 2, 3):double(), torch.randn(2, 2, 4):double(), torch.randn(2, 2, 4):double()
    local out, st = m:forward({ x, { h0, c0 } })
    assert.same({ 5, 2, 4 }, out:size():totable())
    assert.same({ 2, 2, 4 }, st[1]:size():totable())
    assert.is_nil(out.gradFn)
    local go = torch.randn(5, 2, 4):double()
    local gi = m:backward({ x, { h0, c0 } }, go)
    -- the same through autograd on leaves
    local xl, hl, cl = leaf(x:clone()), leaf(h0:clone()), leaf(c0:clone())
    local m2 = m:clone()
    m2:zeroGradParameters()
    local o2 = m2(xl, { hl, cl })
    o2:backward(go)
    H.close(gi[1], xl.grad, 1e-12, 1e-14)
    H.close(gi[2][1], hl.grad, 1e-12, 1e-14)
    H.close(gi[2][2], cl.grad, 1e-12, 1e-14)
    H.close(m.gradWeight_hh_l1, m2.gradWeight_hh_l1, 1e-12, 1e-14)
  end)

  it('returnState = true: the output is {output, {h_n, c_n}} (e.g. for nn.SelectTable)', function()
    torch.manualSeed(8)
    local m = nn.LSTM(3, 4, 1, { returnState = true })
    local o = m:forward(torch.randn(5, 2, 3))
    assert.same({ 5, 2, 4 }, o[1]:size():totable())
    assert.same({ 1, 2, 4 }, o[2][1]:size():totable())
    local gi = m:backward(torch.randn(5, 2, 3), { torch.randn(5, 2, 4), { torch.randn(1, 2, 4), torch.randn(1, 2, 4) } })
    assert.same({ 5, 2, 3 }, gi:size():totable())
  end)

  it('the cell in a PyTorch-style loop over time equals nn.LSTM', function()
    torch.manualSeed(9)
    local lstm = nn.LSTM(4, 3):double()
    local cell = nn.LSTMCell(4, 3):double()
    torch.noGrad(function()
      for _, n in ipairs({ 'weight_ih', 'weight_hh', 'bias_ih', 'bias_hh' }) do cell[n]:copy(lstm[n .. '_l0']) end
    end)
    local x = torch.randn(6, 2, 4):double()
    local hc = {}
    local hs = {}
    for t = 1, 6 do
      hc = cell(x[t], hc)
      hs[t] = hc[1]
    end
    local out, st = lstm(x)
    H.close(torch.stack(hs, 1), out, 1e-12, 1e-14)
    H.close(hc[2], st[2][1], 1e-12, 1e-14)
    torch.stack(hs, 1):sum():backward()
    out:sum():backward()
    H.close(cell.gradWeight_hh, lstm.gradWeight_hh_l0, 1e-12, 1e-14)
    -- Torch7 style, one step: forward(x, {h, c}) and backward
    local h, c = torch.randn(2, 3):double(), torch.randn(2, 3):double()
    local r = cell:forward(x[1], { h, c })
    local g = cell:backward({ x[1], { h, c } }, { torch.ones(2, 3):double(), torch.zeros(2, 3):double() })
    assert.same({ 2, 4 }, g[1]:size():totable())
    assert.same({ 2, 3 }, g[2][1]:size():totable())
    assert.same({ 2, 3 }, r[2]:size():totable())
  end)
end)

describe('workspaces and grad modes', function()
  it('after the first step, forward allocates nothing and backward only the engine\'s copy of the root gradient', function()
    torch.manualSeed(10)
    local m = nn.LSTM(7, 6, 2, { batchFirst = true })
    local x = torch.randn(5, 4, 7)
    local g = torch.randn(5, 4, 6)
    for _ = 1, 2 do m(x):backward(g) end
    for _ = 1, 3 do
      local out
      assert.equal(0, count_allocs(function() out = m(x) end))
      -- lt_backward copies the gradient given to backward(g) (one storage); the LSTM's own
      -- buffers and the parameter gradients (added into gradWeight) allocate nothing
      assert.equal(1, count_allocs(function() out:backward(g) end))
    end
    -- with gradients for the input and the initial state (handed out from the workspace)
    local xl = leaf(torch.randn(5, 4, 7))
    local h0, c0 = leaf(torch.randn(2, 5, 6)), leaf(torch.randn(2, 5, 6))
    for _ = 1, 2 do m(xl, { h0, c0 }):backward(g) end
    local n = count_allocs(function()
      for _ = 1, 3 do m(xl, { h0, c0 }):backward(g) end
    end)
    assert.equal(3, n)
    -- a whole training step of the seed model allocates exactly what the same step with the
    -- LSTM's output replaced by a leaf does: the LSTM part adds nothing per step
    local lstm = nn.LSTM(7, 6, 1, { batchFirst = true })
    local stand_in = leaf(torch.randn(5, 4, 6))
    local lin = nn.Linear(6, 3)
    local y = torch.LongTensor(5):random(1, 3)
    local crit = nn.CrossEntropyCriterion()
    local function step(withLSTM)
      local seqout = withLSTM and lstm(x) or stand_in
      crit(lin(seqout:select(2, -1)), y):backward()
    end
    for _ = 1, 2 do step(true) step(false) end
    assert.equal(count_allocs(function() step(false) end), count_allocs(function() step(true) end))
  end)

  it('reuses the output buffers only after backward; a pending graph gets its own', function()
    torch.manualSeed(11)
    local m = nn.LSTM(3, 4)
    local x = torch.randn(2, 2, 3)
    local o1 = m(x)
    local keep = o1:clone()
    local o2 = m(x * 2)  -- o1's graph is still pending: o1 must stay as it was
    H.close(o1, keep, 0, 0)
    assert.is_true(o1:storage() ~= o2:storage())
    o1:sum():backward()
    o2:sum():backward()
    local o3 = m(x)
    assert.is_true(o3:storage() == o1:storage() or o3:storage() == o2:storage())
  end)

  it('records nothing and returns fresh tensors without grad', function()
    local m = nn.LSTM(3, 4)
    local x = torch.randn(2, 2, 3)
    torch.noGrad(function()
      local a, sa = m(x)
      local b = m(x * 2)
      assert.is_nil(a.gradFn)
      assert.is_nil(sa[1].gradFn)
      assert.is_true(a:storage() ~= b:storage())
      assert.is_true((a - b):abs():max() > 0)
    end)
    local x2 = torch.randn(2, 2, 3)
    local m2 = nn.LSTM(3, 4)
    for _, p in ipairs(m2:parameters()) do p.requiresGrad = false end
    assert.is_nil(m2(x2).gradFn)
    local o = m(x)
    assert.equal('LSTMBackward', o.gradFn)
    local hc = nn.LSTMCell(3, 4)(x[1])
    assert.equal('LSTMCellBackward', hc[1].gradFn)
  end)

  it('dropout is applied in training only, from the torch RNG', function()
    local m = nn.LSTM(3, 5, 2, { dropout = 0.5 })
    local x = torch.randn(4, 3, 3)
    torch.manualSeed(1)
    local a = m(x):clone()
    torch.manualSeed(1)
    local b = m(x):clone()
    torch.manualSeed(2)
    local c = m(x):clone()
    H.close(a, b, 0, 0)
    assert.is_true(torch.abs((a - c):detach()):max() > 0)
    m:evaluate()
    local e1 = m(x):clone()
    local e2 = m(x):clone()
    H.close(e1, e2, 0, 0)
    local m1 = nn.LSTM(3, 5, 2)  -- the same weights without dropout give the eval output
    torch.noGrad(function()
      for _, n in ipairs(m:namedParameters()) do m1[n[1]]:copy(n[2]) end
    end)
    H.close(m1(x), e1, 1e-6, 1e-7)
  end)

  it('accumulates gradients over two backward calls, and with retainGraph', function()
    torch.manualSeed(12)
    local m = nn.LSTM(3, 4):double()
    local x = torch.randn(3, 2, 3):double()
    m:zeroGradParameters()
    m(x):sum():backward()
    local once = m.gradWeight_hh_l0:clone()
    m(x):sum():backward()
    H.close(m.gradWeight_hh_l0, once * 2, 1e-12, 1e-14)
    m:zeroGradParameters()
    local out = m(x)
    local s = out:sum()
    s:backward(nil, true)
    s:backward()
    H.close(m.gradWeight_hh_l0, once * 2, 1e-12, 1e-14)
  end)

  it('gives the same results with 1 and 2 threads', function()
    local old = torch.getnumthreads()
    torch.manualSeed(13)
    -- big enough for a team of two (the batch rows are split between the threads)
    local m = nn.LSTM(16, 128, 2, { batchFirst = true })
    local x = leaf(torch.randn(64, 5, 16))
    local g = torch.randn(64, 5, 128)
    local function run(n)
      torch.setnumthreads(n)
      m:zeroGradParameters()
      x.grad = nil
      local o = m(x)
      o:backward(g)
      return o:clone(), m.gradBias_ih_l0:clone(), m.gradWeight_hh_l0:clone(), x.grad:clone(),
             m.gradWeight_ih_l1:clone()
    end
    local r1 = { run(1) }
    local r2 = { run(2) }
    assert.equal(0, count_allocs(function() m(x) end))
    local r3 = { run(2) }  -- deterministic for a given thread count
    assert.equal(2, torch.getnumthreads())  -- the team leaves OpenBLAS's / OpenMP's count as it was
    torch.setnumthreads(old)
    for i = 1, #r1 do
      H.close(r2[i], r1[i], 1e-5, 1e-6)
      H.close(r3[i], r2[i], 0, 0)
    end
  end)

  it('refuses a backward after a saved weight was changed in place', function()
    local m = nn.LSTM(3, 4)
    local out = m(torch.randn(2, 2, 3))
    torch.noGrad(function() m.weight_hh_l0:add(1) end)
    local err = H.error_of(function() out:sum():backward() end)
    assert.matches('LSTMBackward: a tensor saved for the backward pass was modified', err)
  end)
end)

describe('errors', function()
  it('names the module or function and the shapes', function()
    local m = nn.LSTM(3, 4, 2)
    assert.matches('nn.LSTM%(3 %-> 4%): expected input of size %[T x B x 3%] or %[T x 3%], got %[2 x 5%]',
                   H.error_of(function() m(torch.randn(2, 5)) end))
    assert.matches('nn.LSTM%(3 %-> 4%): expected input of size %[T x B x 3%] or %[T x 3%], got %[2 x 2 x 5%]',
                   H.error_of(function() m(torch.randn(2, 2, 5)) end))
    assert.matches('lstm: h0 must be %[2 x 2 x 4%] %(layers x batch x hidden%), got %[1 x 2 x 4%]',
                   H.error_of(function() m(torch.randn(5, 2, 3), { torch.randn(1, 2, 4), torch.randn(1, 2, 4) }) end))
    assert.matches('lstm: weight_ih_l0 is Double, the input is Float',
                   H.error_of(function() nn.LSTM(3, 4):double()(torch.randn(5, 2, 3)) end))
    assert.matches('nn.LSTM: dropout must be a number in %[0, 1%)',
                   H.error_of(function() nn.LSTM(3, 4, 2, { dropout = 1 }) end))
    assert.matches('nn.LSTM: hiddenSize must be a positive integer',
                   H.error_of(function() nn.LSTM(3, 0) end))
    assert.matches('lstm: expected 8 weight tensors',
                   H.error_of(function() torch.lstm(torch.randn(2, 2, 3), nil, nil, {}, { numLayers = 2 }) end))
    assert.matches('lstm: weight_hh_l0 must be %[16 x 4%], got %[12 x 4%]',
                   H.error_of(function()
                     torch.lstm(torch.randn(2, 2, 3), nil, nil, { torch.randn(16, 3), torch.randn(12, 4),
                                torch.randn(16), torch.randn(16) })
                   end))
    assert.matches('lstm: expected a Float or Double input, got Long',
                   H.error_of(function() torch.lstm(torch.LongTensor(2, 2, 3), nil, nil, m:parameters(), { numLayers = 2 }) end))
    local cell = nn.LSTMCell(3, 4)
    assert.matches('nn.LSTMCell%(3 %-> 4%): expected input of size %[N x 3%] or %[3%], got %[2 x 5%]',
                   H.error_of(function() cell(torch.randn(2, 5)) end))
    assert.matches('lstmCell: h must be %[2 x 4%], got %[3 x 4%]',
                   H.error_of(function() cell(torch.randn(2, 3), { torch.randn(3, 4), torch.randn(2, 4) }) end))
    assert.matches('nn.LSTMCell: the state must be a table {h, c}',
                   H.error_of(function() cell:forward({ torch.randn(2, 3), torch.randn(2, 4) }) end))
  end)
end)

describe('nn.LSTM on an unbatched sequence (T x I)', function()
  it('gives the batch-of-one results without the batch dim, in both layouts, with gradients', function()
    torch.manualSeed(4)
    for _, batchFirst in ipairs({ false, true }) do
      local m = nn.LSTM(3, 4, 2, { batchFirst = batchFirst }):double()
      local x = torch.randn(5, 3):double()
      local h0, c0 = torch.randn(2, 4):double(), torch.randn(2, 4):double()
      local out, state = m:forward(x, { h0, c0 })
      local ref, rstate = m:forward(x:unsqueeze(batchFirst and 1 or 2), { h0:unsqueeze(2), c0:unsqueeze(2) })
      assert.same({ 5, 4 }, out:size():totable())
      H.close(out, ref:select(batchFirst and 1 or 2, 1), 1e-14, 1e-14)
      H.close(state[1], rstate[1]:select(2, 1), 1e-14, 1e-14)
      H.close(state[2], rstate[2]:select(2, 1), 1e-14, 1e-14)
      local xl = x:clone()
      xl.requiresGrad = true
      assert.is_true(torch.gradcheck(function(a) return (m(a)) end, { xl }))
    end
  end)
end)

-- the benchmarks' GEMM floor (bench/lstm.lua, bench/rnn.lua): the products one step issues,
-- counted from the algorithm in core/lstm.c's header, not from its trace
describe('torch._gemmTrace / torch._gemmReplay', function()
  it('records one nn.LSTM step\'s products at their full shapes and replays them', function()
    local T_, B, I, Hd = 5, 4, 3, 6
    local m = nn.LSTM(I, Hd, 1)
    local x = leaf(torch.randn(T_, B, I))
    local calls = torch._gemmTrace(function() m(x):sum():backward() end)
    -- forward: the input projection, one recurrence per step after the first (no h0);
    -- backward: one dh per step after the first (no h0 gradient), dW_ih, dW_hh, dx
    assert.equal(1 + (T_ - 1) + (T_ - 1) + 3, #calls)
    local function count(mm, n, k)
      local c = 0
      for _, g in ipairs(calls) do
        if g.m == mm and g.n == n and g.k == k then c = c + 1 end
      end
      return c
    end
    assert.equal(1, count(T_ * B, 4 * Hd, I))        -- x W_ih^T
    assert.equal(T_ - 1, count(B, 4 * Hd, Hd))      -- h_{t-1} W_hh^T
    assert.equal(T_ - 1, count(B, Hd, 4 * Hd))      -- dgates_t W_hh
    assert.equal(1, count(4 * Hd, I, T_ * B))       -- dW_ih
    assert.equal(1, count(4 * Hd, Hd, (T_ - 1) * B)) -- dW_hh
    assert.equal(1, count(T_ * B, I, 4 * Hd))       -- dx
    local old = torch.getnumthreads()
    for _, nt in ipairs({ 1, 2 }) do
      torch.setnumthreads(nt)
      local s = torch._gemmReplay(calls, 2)
      assert(s > 0 and s < 1, 'replay seconds ' .. tostring(s))
    end
    torch.setnumthreads(old)
    assert(torch._gemmReplay(calls, 1, true) > 0)
    assert.matches('bad sizes in entry 1', H.error_of(function()
      torch._gemmReplay({ { m = -1, n = 2, k = 2 } })
    end))
    assert.matches('repetitions', H.error_of(function() torch._gemmReplay(calls, 0) end))
  end)
end)
