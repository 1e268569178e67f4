-- nn.RNN, nn.GRU, nn.RNNCell, nn.GRUCell (core/rnn.c through torch.rnnLayer) and nn.LSTM's
-- bidirectional and variable-length forms: PyTorch parity of outputs, final states and every
-- gradient (spec/fixtures/gen_rnn.py: layers 1-2, bidirectional, batchFirst, bias, initial
-- state, lengths, dropout in eval mode) in both loop styles, float64 gradchecks of each mode's
-- C backward (forward and reverse, with lengths), padding that changes nothing, stateful
-- sequences, dropout in training, and errors. (On CUDA tensors: spec/50-cuda_rnn_spec.lua
-- compares these layers on the device with this CPU implementation.)
local torch = require 'torch'
local nn = require 'nn'
local H = require 'helpers'
local F = H.fixture('rnn')

local function T(f, dtype) return H.tensor(f, dtype) end
local TYPES = { float32 = 'torch.FloatTensor', float64 = 'torch.DoubleTensor' }
local TOL = { float32 = { 1e-4, 1e-5 }, float64 = { 1e-10, 1e-12 } }

local function grad_field(name)
  return (name:gsub('^weight', 'gradWeight'):gsub('^bias', 'gradBias'))
end

local function make(cfg)
  local opts = { batchFirst = cfg.batchFirst, bias = cfg.bias, dropout = cfg.dropout,
                 bidirectional = cfg.bidirectional }
  if cfg.mode == 'lstm' then return nn.LSTM(cfg.inputSize, cfg.hiddenSize, cfg.numLayers, opts) end
  if cfg.mode == 'gru' then return nn.GRU(cfg.inputSize, cfg.hiddenSize, cfg.numLayers, opts) end
  opts.nonlinearity = cfg.mode:sub(5)
  return nn.RNN(cfg.inputSize, cfg.hiddenSize, cfg.numLayers, opts)
end

local function load(m, params, dtype)
  m:type(TYPES[dtype])
  local n = 0
  for name, f in pairs(params) do
    m[name]:copy(T(f, dtype))
    n = n + 1
  end
  assert.equal(n, #m:namedParameters())  -- every parameter of the module came from PyTorch
  m:zeroGradParameters()
  return m
end

local function leaf(t)
  t.requiresGrad = true
  return t
end

local LAYER_CASES, CELL_CASES = {}, {}
for name, c in pairs(F) do
  if c.config and c.config.numLayers then LAYER_CASES[#LAYER_CASES + 1] = name
  elseif c.config then CELL_CASES[#CELL_CASES + 1] = name end
end
table.sort(LAYER_CASES)
table.sort(CELL_CASES)

-- the initial state argument of each module: h0 (RNN, GRU) or {h0, c0} (LSTM)
local function state_of(c, lstm, dtype, asLeaf)
  if not c.h0 then return nil end
  local h0 = T(c.h0, dtype)
  local c0 = c.c0 and T(c.c0, dtype)
  if asLeaf then h0, c0 = leaf(h0), c0 and leaf(c0) end
  if lstm then return { h0, c0 } end
  return h0
end

describe('nn.RNN / nn.GRU: parameters', function()
  it("have PyTorch's names, shapes, order and initialisation bounds (bidirectional, 2 layers)", function()
    local init = F.init_gru
    local m = nn.GRU(10, 16, 2, { bidirectional = true })
    local named = m:namedParameters()
    assert.equal(#init.names, #named)
    for i, e in ipairs(named) do
      assert.equal(init.names[i], e[1])
      assert.same(init.shapes[i], e[2]:size():totable())
      assert.equal(e[3], m[grad_field(e[1])])
      assert.is_true(e[2].grad:storage() == e[3]:storage())
    end
    local bound, maxabs = 1 / math.sqrt(16), 0
    for _, e in ipairs(named) do maxabs = math.max(maxabs, torch.abs(e[2]:detach()):max()) end
    assert.is_true(maxabs <= bound and maxabs > 0.9 * bound)
    assert.is_true(init.maxabs <= bound)
  end)

  it('names and sizes the parameters of every module in the fixtures as PyTorch does', function()
    for _, name in ipairs(LAYER_CASES) do
      local c = F[name]
      local m = make(c.config)
      for pname, f in pairs(c.params) do
        assert.is_not_nil(m[pname], name .. ': ' .. pname)
        assert.same(f.shape, m[pname]:size():totable())
      end
      assert.equal(#m:namedParameters(), (function() local n = 0 for _ in pairs(c.params) do n = n + 1 end return n end)())
    end
    local cell = nn.GRUCell(3, 5)
    local names = {}
    for _, e in ipairs(cell:namedParameters()) do names[#names + 1] = e[1] end
    assert.same({ 'weight_ih', 'weight_hh', 'bias_ih', 'bias_hh' }, names)
    assert.same({ 15, 3 }, cell.weight_ih:size():totable())
    assert.equal(2, #nn.RNNCell(3, 5, false):namedParameters())
    assert.equal(2, #nn.RNNCell(3, 5, { bias = false, nonlinearity = 'relu' }):namedParameters())
    assert.equal('relu', nn.RNNCell(3, 5, true, 'relu').mode)
  end)

  it('print their options', function()
    assert.equal('nn.GRU(3 -> 5, 2 layers, bidirectional, batchFirst)',
                 tostring(nn.GRU(3, 5, 2, { bidirectional = true, batchFirst = true })))
    assert.equal('nn.RNN(3 -> 5, relu, stateful)',
                 tostring(nn.RNN(3, 5, { nonlinearity = 'relu', stateful = true })))
    assert.equal('nn.LSTM(3 -> 5, bidirectional)', tostring(nn.LSTM(3, 5, { bidirectional = true })))
    assert.equal('nn.GRUCell(3 -> 5, without bias)', tostring(nn.GRUCell(3, 5, false)))
  end)
end)

describe('PyTorch parity of the layers (outputs, final states, every gradient)', function()
  for _, name in ipairs(LAYER_CASES) do
    local c = F[name]
    local lstm = c.config.mode == 'lstm'
    local lengths = c.lengths and T(c.lengths)

    it(name .. ', PyTorch style (m(x, state, {lengths}), autograd to the leaves), float64', function()
      local m = load(make(c.config), c.params, 'float64'):evaluate()
      local x = leaf(T(c.x, 'float64'))
      local st = state_of(c, lstm, 'float64', true)
      local y, state = m(x, st, lengths and { lengths = lengths })
      local hn, cn = lstm and state[1] or state, lstm and state[2] or nil
      local tol = TOL.float64
      H.close(y, c.output, tol[1], tol[2])
      H.close(hn, c.hn, tol[1], tol[2])
      if lstm then H.close(cn, c.cn, tol[1], tol[2]) end
      local roots, grads = { y, hn }, { T(c.gradOutput, 'float64'), T(c.gradHn, 'float64') }
      if lstm then roots[3], grads[3] = cn, T(c.gradCn, 'float64') end
      torch.autograd.backward(roots, grads)
      H.close(x.grad, c.gradInput, tol[1], tol[2])
      if st then
        H.close((lstm and st[1] or st).grad, c.gradH0, tol[1], tol[2])
        if lstm then H.close(st[2].grad, c.gradC0, tol[1], tol[2]) end
      end
      for pname, g in pairs(c.gradParams) do H.close(m[grad_field(pname)], g, tol[1], tol[2]) end
    end)

    it(name .. ', Torch7 style (m:forward / m:backward with returnState), float64 and float32', function()
      for _, dtype in ipairs({ 'float64', 'float32' }) do
        local m = load(make(c.config), c.params, dtype):evaluate()
        m.returnState = true
        local x = T(c.x, dtype)
        local st = state_of(c, lstm, dtype, false)
        local outs = m:forward(x, st, lengths and { lengths = lengths })
        local tol = TOL[dtype]
        H.close(outs[1], c.output, tol[1], tol[2])
        local hn = lstm and outs[2][1] or outs[2]
        H.close(hn, c.hn, tol[1], tol[2])
        local gstate = T(c.gradHn, dtype)
        if lstm then gstate = { gstate, T(c.gradCn, dtype) } end
        local gi = m:backward(x, { T(c.gradOutput, dtype), gstate })
        -- gradInput mirrors the input table: {x, state, {lengths}} or x alone
        local gx = (st or lengths) and gi[1] or gi
        H.close(gx, c.gradInput, tol[1], tol[2])
        if st then H.close(lstm and gi[2][1] or gi[2], c.gradH0, tol[1], tol[2]) end
        for pname, g in pairs(c.gradParams) do H.close(m[grad_field(pname)], g, tol[1], tol[2]) end
      end
    end)
  end
end)

describe('PyTorch parity of the cells', function()
  for _, name in ipairs(CELL_CASES) do
    local c = F[name]
    it(name, function()
      local cfg = c.config
      local m = cfg.mode == 'gru' and nn.GRUCell(cfg.inputSize, cfg.hiddenSize, cfg.bias)
                or nn.RNNCell(cfg.inputSize, cfg.hiddenSize, { bias = cfg.bias,
                                                               nonlinearity = cfg.mode:sub(5) })
      load(m, c.params, 'float64')
      local x = leaf(T(c.x, 'float64'))
      local h = c.h and leaf(T(c.h, 'float64'))
      local h1 = m(x, h)
      local tol = TOL.float64
      H.close(h1, c.h1, tol[1], tol[2])
      h1:backward(T(c.gradH1, 'float64'))
      H.close(x.grad, c.gradInput, tol[1], tol[2])
      if h then H.close(h.grad, c.gradH, tol[1], tol[2]) end
      for pname, g in pairs(c.gradParams) do H.close(m[grad_field(pname)], g, tol[1], tol[2]) end
      -- unbatched: one row, the same numbers
      local h1u = m:forward(T(c.x, 'float64')[2], c.h and T(c.h, 'float64')[2])
      H.close(h1u, T(c.h1, 'float64')[2], tol[1], tol[2])
      -- the Torch7 table form
      H.close(m:forward({ T(c.x, 'float64'), c.h and T(c.h, 'float64') }), c.h1, tol[1], tol[2])
    end)
  end
end)

describe('torch.rnnLayer: float64 gradchecks of the C backward', function()
  local G = { tanh = 1, relu = 1, gru = 3, lstm = 4 }
  for _, mode in ipairs({ 'tanh', 'relu', 'gru', 'lstm' }) do
    for _, reverse in ipairs({ false, true }) do
      for _, withLengths in ipairs({ false, true }) do
        it(('%s, %s%s'):format(mode, reverse and 'reversed' or 'forward',
                               withLengths and ', lengths {3, 1, 2}' or ''), function()
          torch.manualSeed(7)
          local Hs, I, Tn, B = 4, 3, 3, 3
          local g = G[mode] * Hs
          local x = H.randn(Tn, B, I)
          local h0 = H.randn(B, Hs)
          local c0 = mode == 'lstm' and H.randn(B, Hs) or nil
          local w = { H.randn(g, I), H.randn(g, Hs), H.randn(g), H.randn(g) }
          local len = withLengths and torch.LongTensor({ 3, 1, 2 }) or nil
          -- weights for the outputs: every element of y, h_n, c_n matters differently
          local wy, wh, wc = torch.randn(Tn, B, Hs):double(), torch.randn(B, Hs):double(),
                             torch.randn(B, Hs):double()
          H.gradcheck(function(xx, hh, a, b, cc, d, cc0)
            local y, hn, cn = torch.rnnLayer(mode, xx, hh, cc0, { a, b, cc, d }, reverse, len)
            local s = torch.cmul(y, wy):sum() + torch.cmul(hn, wh):sum()
            if cn then s = s + torch.cmul(cn, wc):sum() end
            return s
          end, { x, h0, w[1], w[2], w[3], w[4], c0 })
        end)
      end
    end
  end

  it('a whole module: GRU, 2 layers, bidirectional, batchFirst, lengths, non-contiguous input', function()
    torch.manualSeed(3)
    local m = nn.GRU(3, 4, 2, { bidirectional = true, batchFirst = true }):double()
    local x = H.grad_leaf(torch.randn(4, 3, 3):double():transpose(1, 2))  -- B x T x I, not contiguous
    local h0 = H.randn(4, 3, 4)
    local L = torch.LongTensor({ 4, 2, 3 })
    local wy = torch.randn(3, 4, 8):double()
    H.gradcheck(function(xx, hh, wih)
      local y, hn = m(xx, hh, { lengths = L })
      return torch.cmul(y, wy):sum() + hn:sum() + 0 * wih:sum()
    end, { x, h0, m.weight_ih_l1_reverse })
  end)
end)

describe('variable lengths', function()
  local function padded_run(mk, x, L)
    torch.manualSeed(5)
    local m = mk():double()
    local xl = leaf(x:clone())
    local y, st = m(xl, nil, { lengths = L })
    local hn = torch.isTensor(st) and st or st[1]
    local gy = torch.randn(y:size()):double()
    torch.autograd.backward({ y, hn }, { gy, torch.ones(hn:size()):double() })
    return y:detach(), hn:detach(), xl.grad, m.gradWeight_hh_l0:clone()
  end

  for _, mk in ipairs({ function() return nn.GRU(3, 4, 2, { bidirectional = true }) end,
                        function() return nn.RNN(3, 4, { bidirectional = true }) end,
                        function() return nn.LSTM(3, 4, 2, { bidirectional = true }) end,
                        function() return nn.LSTM(3, 4) end }) do
    it(tostring(mk()) .. ': what the padding holds changes no output, state or gradient', function()
      local L = torch.LongTensor({ 5, 2, 4 })
      local x = torch.randn(5, 3, 3):double()
      local x2 = x:clone()
      x2[{ { 3, 5 }, 2 }]:fill(1e3)   -- sequence 2's padding
      x2[{ 5, 3 }]:fill(-7)            -- sequence 3's
      local y1, h1, g1, w1 = padded_run(mk, x, L)
      local y2, h2, g2, w2 = padded_run(mk, x2, L)
      H.close(y2, y1, 0, 0)
      H.close(h2, h1, 0, 0)
      H.close(g2, g1, 0, 0)
      H.close(w2, w1, 0, 0)
      -- outputs past a length are 0, and so are the gradients of the padding
      assert.equal(0, torch.abs(y1[{ { 3, 5 }, 2 }]):max())
      assert.equal(0, torch.abs(g1[{ { 3, 5 }, 2 }]):max())
      assert.is_true(torch.abs(y1[{ { 1, 2 }, 2 }]):max() > 0)
      -- a table of lengths is the same as the LongTensor
      torch.manualSeed(5)
      local y3 = mk():double()(x, nil, { lengths = { 5, 2, 4 } })
      H.close(y3, y1, 0, 0)
    end)
  end

  it('equal lengths give the same numbers as no lengths', function()
    torch.manualSeed(9)
    local m = nn.LSTM(3, 4, 2):double()
    local x = torch.randn(4, 2, 3):double()
    local y1, s1 = m:forward(x)
    y1, s1 = y1:clone(), { s1[1]:clone(), s1[2]:clone() }
    local y2, s2 = m:forward(x, { lengths = torch.LongTensor({ 4, 4 }) })
    H.close(y2, y1, 1e-12, 1e-14)
    H.close(s2[1], s1[1], 1e-12, 1e-14)
    H.close(s2[2], s1[2], 1e-12, 1e-14)
  end)
end)

describe('stateful sequences', function()
  for _, mk in ipairs({ function(o) return nn.GRU(3, 4, 2, o) end,
                        function(o) return nn.RNN(3, 4, o) end,
                        function(o) return nn.LSTM(3, 4, 2, o) end,
                        function(o) o.bidirectional = false return nn.LSTM(3, 4, 1, o) end }) do
    it(tostring(mk({})) .. ': two calls of 3 steps are one call of 6; resetState starts over', function()
      torch.manualSeed(11)
      local m = mk({ stateful = true }):double()
      local whole = m:clone()
      whole.stateful = false
      local x = torch.randn(6, 2, 3):double()
      local yw = whole:forward(x):clone()
      local s = nn.Sequential():add(m)
      local ya = s:forward(x:narrow(1, 1, 3)):clone()
      local yb = s:forward(x:narrow(1, 4, 3)):clone()
      H.close(ya, yw:narrow(1, 1, 3), 1e-12, 1e-14)
      H.close(yb, yw:narrow(1, 4, 3), 1e-12, 1e-14)
      -- the carried state is detached: a backward of the second chunk stops there
      local xa, xb = leaf(x:narrow(1, 1, 3):clone()), leaf(x:narrow(1, 4, 3):clone())
      m:resetState()
      m(xa)
      local y = m(xb)
      y:sum():backward()
      assert.is_not_nil(xb.grad)
      assert.is_nil(xa.grad)   -- the graph of the first call is not reached
      -- resetState: from zeros again
      m:resetState()
      H.close(s:forward(x:narrow(1, 1, 3)), yw:narrow(1, 1, 3), 1e-12, 1e-14)
      -- a batch of another size needs resetState first
      local msg = H.error_of(function() return m:forward(torch.randn(3, 5, 3):double()) end)
      H.matches(msg, 'the carried state is for a batch of 2, got a batch of 5', 'resetState')
      m:resetState()
      assert.same({ 3, 5, 4 }, m:forward(torch.randn(3, 5, 3):double()):size():totable())
      -- remember(false) stops carrying
      m:remember(false)
      H.close(m:forward(x:narrow(1, 4, 3)), whole:forward(x:narrow(1, 4, 3)), 1e-12, 1e-14)
      m:remember()
      assert.is_true(m.stateful)
    end)
  end

  it('an explicit initial state wins over the carried one; clearState drops it', function()
    local m = nn.GRU(3, 4, { stateful = true }):double()
    local x = torch.randn(2, 1, 3):double()
    m:forward(x)
    local y0 = m:clone():resetState():forward(x):clone()
    H.close(m:forward(x, torch.zeros(1, 1, 4):double()), y0, 0, 0)
    m:clearState()
    assert.is_nil(m._carry)
  end)
end)

describe('dropout between layers', function()
  it('drops in training, is the identity in evaluation (nn.GRU, nn.LSTM bidirectional)', function()
    for _, m in ipairs({ nn.GRU(3, 8, 2, { dropout = 0.5 }),
                         nn.LSTM(3, 8, 2, { dropout = 0.5, bidirectional = true }) }) do
      m:double()
      local x = torch.randn(4, 3, 3):double()
      m:evaluate()
      local e1 = m:forward(x):clone()
      local e2 = m:forward(x):clone()
      H.close(e2, e1, 0, 0)
      m:training()
      torch.manualSeed(1)
      local t1 = m:forward(x):clone()
      torch.manualSeed(1)
      local t2 = m:forward(x):clone()
      H.close(t2, t1, 0, 0)  -- the masks come from torch's generator
      assert.is_true(torch.abs(t1 - e1):max() > 1e-3)
    end
  end)
end)

describe('shapes and forms', function()
  it('unbatched sequences, batchFirst, returnState and the second value', function()
    local m = nn.GRU(3, 4, 2, { bidirectional = true }):double()
    local x = torch.randn(5, 3):double()
    local y, hn = m:forward(x)
    assert.same({ 5, 8 }, y:size():totable())
    assert.same({ 4, 4 }, hn:size():totable())
    local yb = m:forward(x:view(5, 1, 3))
    H.close(y, yb:select(2, 1), 0, 0)
    local r = nn.RNN(3, 4, { batchFirst = true, returnState = true }):double()
    local out = r:forward(torch.randn(2, 5, 3):double())
    assert.same({ 2, 5, 4 }, out[1]:size():totable())
    assert.same({ 1, 2, 4 }, out[2]:size():totable())
    H.close(r.state, out[2], 0, 0)
  end)

  it('a NaN input gives NaN where PyTorch does; infinities saturate (float32 kernels against float64)', function()
    -- float32 runs the fused kernels' own exp / tanh polynomials, float64 runs libm: a NaN in
    -- batch row 2 at step 2 must reach that row's outputs from step 2 on and no other row;
    -- elsewhere float32 agrees with float64 (relu's infinities included)
    local mods = {
      function() return nn.LSTM(3, 4) end,
      function() return nn.GRU(3, 4) end,
      function() return nn.RNN(3, 4) end,
      function() return nn.RNN(3, 4, { nonlinearity = 'relu' }) end,
      function() return nn.LSTMCell(3, 4) end,
      function() return nn.GRUCell(3, 4) end,
      function() return nn.RNNCell(3, 4) end,
    }
    for i, new in ipairs(mods) do
      torch.manualSeed(i)
      local m = new()
      local cell = torch.type(m):match('Cell$')
      local x = torch.randn(cell and 1 or 4, 3, 3)
      x[1][1][1], x[1][3][2] = math.huge, -math.huge
      if not cell then x[2][2][3] = 0 / 0 else x[1][2][3] = 0 / 0 end
      local function run(mod, input)
        local y = mod:forward(cell and input[1] or input)
        y = torch.type(y) == 'table' and y[1] or y
        return cell and y:view(1, 3, 4) or y
      end
      local y32, y64 = run(m, x), run(m:clone():double(), x:double())
      for t = 1, y32:size(1) do
        for b = 1, 3 do
          for j = 1, 4 do
            local a, e = y32[t][b][j], y64[t][b][j]
            local what = ('%s: step %d row %d unit %d is %s, float64 %s'):format(torch.type(m),
              t, b, j, tostring(a), tostring(e))
            if b == 2 and t >= (cell and 1 or 2) then assert.is_true(e ~= e and a ~= a, what)
            elseif e ~= e then assert.is_true(a ~= a, what)  -- relu: inf - inf
            else assert.is_true(a == e or math.abs(a - e) < 1e-5, what) end
          end
        end
      end
    end
  end)

  it('fits in nn.Sequential and trains (loss goes down)', function()
    torch.manualSeed(2)
    local model = nn.Sequential():add(nn.GRU(3, 8, { batchFirst = true, bidirectional = true }))
      :add(nn.Select(2, -1)):add(nn.Linear(16, 2))
    local crit = nn.CrossEntropyCriterion()
    local x, y = torch.randn(16, 5, 3), torch.LongTensor(16):random(1, 2)
    local opt = require('optim').SGD(model:parameters(), { lr = 0.5 })
    local first, last
    for i = 1, 30 do
      opt:zeroGrad()
      local loss = crit(model(x), y)
      loss:backward()
      opt:step()
      if i == 1 then first = loss:item() end
      last = loss:item()
    end
    assert.is_true(last < 0.8 * first)
  end)

  it('saves and loads (torch.save) with its options and parameters', function()
    local dir = H.mktempdir()
    local m = nn.GRU(3, 4, { bidirectional = true, stateful = true })
    torch.save(dir .. '/g.t7', m)
    local m2 = torch.load(dir .. '/g.t7')
    H.rmtree(dir)
    assert.is_true(m2.bidirectional and m2.stateful)
    H.close(m2.weight_hh_l0_reverse, m.weight_hh_l0_reverse, 0, 0)
    local x = torch.randn(2, 2, 3)
    H.close(m2:forward(x), m:clone():resetState():forward(x), 0, 0)
  end)
end)

describe('errors', function()
  local err = H.error_of
  it('options, sizes and nonlinearity', function()
    H.matches(err(function() return nn.GRU(3, 4, { batch_first = true }) end),
              "nn.GRU: unknown option 'batch_first' %(did you mean 'batchFirst'%?%)")
    H.matches(err(function() return nn.GRU(3, 4, { nonlinearity = 'relu' }) end),
              "nn.GRU: unknown option 'nonlinearity'")
    H.matches(err(function() return nn.RNN(3, 4, { nonlinearity = 'sigmoid' }) end),
              "nn.RNN: nonlinearity must be 'tanh' or 'relu', got sigmoid")
    H.matches(err(function() return nn.RNN(0, 4) end), 'nn.RNN: inputSize must be a positive integer, got 0')
    H.matches(err(function() return nn.GRU(3, 4, 1, { dropout = 1 }) end), 'dropout must be a number in %[0, 1%)')
    H.matches(err(function() return nn.GRU(3, 4, 1 << 40) end), 'would need .* GB')
    -- sizes whose products overflow integers are refused at once too, never allocated
    for _, big in ipairs({ 1 << 31, 1 << 40, 1 << 62 }) do
      H.matches(err(function() return nn.GRU(big, big) end), 'nn.GRU: .* would need .* GB')
      H.matches(err(function() return nn.RNN(big, big, 2, { bidirectional = true }) end), 'nn.RNN: .* GB')
      H.matches(err(function() return nn.LSTM(big, big, { bidirectional = true }) end), 'nn.LSTM: .* GB')
      H.matches(err(function() return nn.LSTM(1, big) end), 'nn.LSTM: .* GB')
      H.matches(err(function() return nn.GRUCell(big, big) end), 'nn.GRUCell: .* GB')
      H.matches(err(function() return nn.RNNCell(1, big) end), 'nn.RNNCell: .* GB')
    end
    H.matches(err(function() return nn.GRUCell(3, 4, { nonlinearity = 'tanh' }) end),
              "nn.GRUCell: unknown option 'nonlinearity'")
    H.matches(err(function() return nn.RNNCell(3, 4, 'yes') end), 'nn.RNNCell: bias must be a boolean')
  end)

  it('inputs, states and lengths name the module and the shapes', function()
    local m = nn.GRU(3, 4, 2, { bidirectional = true })
    H.matches(err(function() return m:forward(torch.randn(2, 5)) end),
              'nn.GRU%(3 %-> 4%): expected input of size %[T x B x 3%] or %[T x 3%], got %[2 x 5%]')
    H.matches(err(function() return m:forward(torch.randn(2, 3, 3), torch.randn(2, 3, 4)) end),
              'nn.GRU: h0 must be %[4 x 3 x 4%] %(layers%*directions x batch x hidden%), got %[2 x 3 x 4%]')
    H.matches(err(function() return m:forward(torch.randn(2, 3, 3), { torch.randn(4, 3, 4) }) end),
              'nn.GRU: h0 must be a tensor')
    H.matches(err(function() return m:forward(torch.randn(4, 3, 3), { lengths = torch.LongTensor({ 4, 0, 2 }) }) end),
              'nn.GRU: lengths must be in %[1, 4%] %(the time steps%), got 0')
    H.matches(err(function() return m:forward(torch.randn(4, 3, 3), { lengths = torch.LongTensor({ 4, 5, 2 }) }) end),
              'got 5')
    H.matches(err(function() return m:forward(torch.randn(4, 3, 3), { lengths = torch.LongTensor({ 4, 2 }) }) end),
              'nn.GRU: lengths must hold 3 lengths %(one per sequence%), got %[2%]')
    H.matches(err(function() return m:forward(torch.randn(4, 3, 3), { lengths = torch.randn(3) }) end),
              'nn.GRU: lengths must be a LongTensor')
    H.matches(err(function() return m:forward(torch.randn(4, 3, 3), { length = torch.LongTensor({ 1, 2, 3 }) }) end),
              "nn.GRU: unknown option 'length'; accepted: lengths")
    local l = nn.LSTM(3, 4, { bidirectional = true })
    H.matches(err(function() return l:forward(torch.randn(2, 3, 3), { torch.randn(1, 3, 4), torch.randn(1, 3, 4) }) end),
              'nn.LSTM: h0 must be %[2 x 3 x 4%]')
    local c = nn.GRUCell(3, 4)
    H.matches(err(function() return c:forward(torch.randn(2, 3), torch.randn(3, 4)) end),
              'nn.GRUCell: h must be %[2 x 4%], got %[3 x 4%]')
    H.matches(err(function() return c:forward(torch.randn(2, 5)) end),
              'nn.GRUCell%(3 %-> 4%): expected input of size %[N x 3%] or %[3%], got %[2 x 5%]')
  end)

  it('torch.rnnLayer checks its arguments in Lua\'s form and the shapes in the core', function()
    local x = torch.randn(2, 3, 3)
    local w = { torch.randn(16, 3), torch.randn(16, 4) }   -- an LSTM's, H = 4
    H.matches(err(function() return torch.rnnLayer('lstmx', x, nil, nil, w) end),
              "bad argument #1 to 'rnnLayer' %(invalid option 'lstmx'%)")
    H.matches(err(function() return torch.rnnLayer('gru', x, nil, nil, w) end),
              'rnnLayer: weight_ih must be %[12 x 3%], got %[16 x 3%]')
    H.matches(err(function() return torch.rnnLayer('lstm', x, nil, nil, { w[1] }) end),
              "bad argument #5 to 'rnnLayer' %(expected {w_ih, w_hh %[, b_ih, b_hh%]}, got 1 tensors%)")
    H.matches(err(function() return torch.rnnLayer('lstm', x, nil, nil, { w[1], w[2], torch.randn(16) }) end),
              "bad argument #5 to 'rnnLayer' %(expected {w_ih, w_hh %[, b_ih, b_hh%]}, got 3 tensors%)")
    H.matches(err(function() return torch.rnnLayer('lstm', x, nil, nil, { w[1], w[2], torch.randn(16), torch.randn(12) }) end),
              'rnnLayer: bias_hh must be %[16%], got %[12%]')
    H.matches(err(function() return torch.rnnLayer('lstm', x, torch.randn(3, 5), nil, w) end),
              'rnnLayer: h0 must be %[3 x 4%] %(batch x hidden%), got %[3 x 5%]')
    H.matches(err(function() return torch.rnnLayer('lstm', x, 'h0', nil, w) end),
              "bad argument #3 to 'rnnLayer' %(h0 must be a tensor or nil, got string%)")
    H.matches(err(function() return torch.rnnLayer('tanh', x, nil, torch.randn(3, 4), { torch.randn(4, 3), torch.randn(4, 4) }) end),
              'rnnLayer: c0 is only for the LSTM')
    H.matches(err(function() return torch.rnnLayer('lstm', x, nil, nil, w, false, torch.LongTensor({ 1, 3, 2 })) end),
              'rnnLayer: length 3 of sequence 2 is outside %[1, 2%]')
    H.matches(err(function() return torch.rnnLayer('lstm', x, nil, nil, w, false, torch.randn(3)) end),
              'rnnLayer: lengths must be a LongTensor of 3 lengths %(one per sequence%), got Float %[3%]')
    H.matches(err(function() return torch.rnnLayer('lstm', x, nil, nil, w, 1) end),
              "bad argument #6 to 'rnnLayer' %(boolean expected, got number%)")
    H.matches(err(function() return torch.rnnLayer('lstm', x:long(), nil, nil, w) end),
              'rnnLayer: expected a Float or Double input, got Long')
    H.matches(err(function() return torch.rnnLayer('lstm', x, nil, nil, { w[1]:double(), w[2] }) end),
              'rnnLayer: weight_ih is Double, the input is Float')
    H.matches(err(function() return torch.rnnLayer('lstm', torch.randn(2, 3), nil, nil, w) end),
              'rnnLayer: expected a non%-empty 3%-D input %(time x batch x features%), got %[2 x 3%]')
  end)
end)

describe('threads', function()
  it('the batch rows split across threads give the numbers of one thread (GRU, LSTM bidirectional, lengths)', function()
    local saved = torch.getnumthreads()
    for _, mk in ipairs({ function() return nn.GRU(8, 128, { bidirectional = true }) end,
                          function() return nn.LSTM(8, 128, { bidirectional = true }) end }) do
      torch.manualSeed(4)
      local m = mk():double()
      local x = torch.randn(3, 64, 8):double()   -- B * H = 8192: a team of threads above one
      local L = torch.LongTensor(64):random(1, 3)
      local function run(nt)
        torch.setnumthreads(nt)
        m:zeroGradParameters()
        local xl = leaf(x:clone())
        local y = m(xl, nil, { lengths = L })
        torch.cmul(y, y):sum():backward()
        return y:detach(), xl.grad, m.gradWeight_hh_l0:clone(), m.gradBias_ih_l0_reverse:clone(),
               m.gradBias_hh_l0:clone()  -- the bias sums: a part per thread (core/rnn.c)
      end
      local a = { run(1) }
      local b = { run(2) }
      torch.setnumthreads(saved)
      for i = 1, #a do H.close(b[i], a[i], 1e-12, 1e-13) end
    end
  end)
end)

describe('help', function()
  it('has an entry for every new public name', function()
    local help = require 'torch.help'
    for _, name in ipairs({ 'nn.RNN', 'nn.GRU', 'nn.RNNCell', 'nn.GRUCell', 'torch.rnnLayer',
                            'nn.RNN:remember', 'nn.RNN:resetState', 'nn.LSTM:remember',
                            'nn.GRU:resetState', 'nn.RNNBase', 'nn.RNNCellBase' }) do
      assert.is_not_nil(help.describe(name), name)
    end
  end)
end)
