-- spec/62-attention_spec.lua — nn.MultiheadAttention and the Transformer layers (lua/nn/attention.lua)
-- against PyTorch (spec/fixtures/gen_attention.py): PyTorch's state_dict loaded by name (strict:
-- the names map one to one), outputs, attention weights, input and parameter gradients in
-- float64 and float32, both loop styles; masks, shapes, initialisation, float64 gradchecks,
-- dropout, save/load and state dicts, argument errors, and the device.
local torch = require 'torch'
local nn = require 'nn'
local H = require 'helpers'
local FX = H.fixture('attention')
local F = FX.cases

local function T(f, dtype) return H.tensor(f, dtype) end

-- the fixture's options ({batchFirst = true, ...}) as the Lua module's
local function build(c)
  local o, m = c.ctor, nil
  if c.kind == 'mha' then
    m = nn.MultiheadAttention(8, 2, { batchFirst = o.batchFirst, bias = o.bias, kdim = o.kdim, vdim = o.vdim })
  else
    local lo = { dimFeedforward = 16, dropout = 0, activation = o.activation, layerNormEps = o.layerNormEps,
                 batchFirst = o.batchFirst, normFirst = o.normFirst, bias = o.bias }
    if c.kind == 'encoderLayer' then
      m = nn.TransformerEncoderLayer(8, 2, lo)
    elseif c.kind == 'decoderLayer' then
      m = nn.TransformerDecoderLayer(8, 2, lo)
    else
      m = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, lo), o.numLayers, nn.LayerNorm(8))
    end
  end
  m:double()
  local sd = {}
  for k, v in pairs(c.params) do sd[k] = T(v) end
  m:loadStateDict(sd)   -- strict: every name of PyTorch's state_dict and no other
  m:zeroGradParameters()
  return m
end

-- the fixture's forward options with luatorch tensors (masks: ByteTensor or float of dtype)
local function options(c, dtype)
  local o = {}
  for k, v in pairs(c.opts) do
    if type(v) == 'table' and v.dtype then
      o[k] = T(v, v.dtype == 'float64' and dtype or nil)
    else
      o[k] = v
    end
  end
  return o
end

-- the module called PyTorch-style on the case's inputs -> output, weights
local function call(m, c, inputs, o)
  if c.kind == 'mha' then
    if c.same then return m(inputs[1], inputs[1], inputs[1], o) end
    return m(inputs[1], inputs[2], inputs[3], o)
  elseif c.kind == 'decoderLayer' then
    return m(inputs[1], inputs[2], o)
  end
  return m(inputs[1], o)
end

local function loss_of(c, out, w, dtype)
  local loss = torch.cmul(out, T(c.gOut, dtype)):sum()
  if c.gW then loss = loss + torch.cmul(w, T(c.gW, dtype)):sum() end
  return loss
end

local names = {}
for name in pairs(F) do names[#names + 1] = name end
table.sort(names)

describe('against PyTorch (float64 and float32)', function()
  for _, name in ipairs(names) do
    local c = F[name]
    for _, dt in ipairs({ 'double', 'float' }) do
      local rtol, atol = 1e-9, 1e-10
      if dt == 'float' then rtol, atol = 1e-4, 2e-5 end
      local dtype = dt == 'double' and 'float64' or 'float32'
      it(('%s (%s): output, weights%s'):format(name, dt, c.gOut and ', input and parameter gradients' or ''), function()
        local m = build(c)
        m = m[dt](m)
        local inputs = {}
        for i, x in ipairs(c.inputs) do inputs[i] = H.grad_leaf(T(x, dtype)) end
        local out, w = call(m, c, inputs, options(c, dtype))
        H.close(out, c.output, rtol, atol)
        if c.weights then H.close(w, c.weights, rtol, atol) else assert.is_nil(w) end
        if not c.gOut then return end
        loss_of(c, out, w, dtype):backward()
        for i, g in ipairs(c.gradInputs) do H.close(inputs[i].grad, g, rtol, atol) end
        local seen = 0
        for _, e in ipairs(m:namedParameters()) do
          H.close(e[2].grad, c.gradParams[e[1]], rtol, atol)
          H.close(e[3], e[2].grad, 0, 0)   -- .grad is the module's gradient tensor
          seen = seen + 1
        end
        local n = 0
        for _ in pairs(c.gradParams) do n = n + 1 end
        assert.equal(n, seen)
      end)
    end
  end

  it('Torch7 style: forward / backward give the same output, weights and gradients', function()
    for _, name in ipairs({ 'basic', 'kdimVdim', 'keyPaddingPerHead', 'unbatched', 'encNormFirstGelu',
                            'decPost', 'encoderStack' }) do
      local c = F[name]
      local m = build(c)
      local inputs = {}
      for i, x in ipairs(c.inputs) do inputs[i] = T(x) end
      local o = options(c, 'float64')
      local out, w, g
      if c.kind == 'mha' then
        out, w = m:forward({ inputs[1], inputs[2], inputs[3] }, o)
        H.close(out, c.output, 1e-9, 1e-10)
        H.close(w, c.weights, 1e-9, 1e-10)
        assert.is_false(out.requiresGrad == true)
        assert.is_false(w.requiresGrad == true)
        -- the gradient of sum(out * gOut) only: the weights' part is PyTorch-style only
        g = m:backward({ inputs[1], inputs[2], inputs[3] }, T(c.gOut))
        assert.equal(3, #g)
        -- against the PyTorch-style run without the weights' term
        local m2 = build(c)
        local leaves = {}
        for i, x in ipairs(inputs) do leaves[i] = H.grad_leaf(x:clone()) end
        local out2 = m2(leaves[1], leaves[2], leaves[3], o)
        torch.cmul(out2, T(c.gOut)):sum():backward()
        for i = 1, 3 do H.close(g[i], leaves[i].grad, 1e-12, 1e-13) end
        for i, e in ipairs(m:namedParameters()) do H.close(e[3], m2:namedParameters()[i][3], 1e-12, 1e-13) end
      elseif c.kind == 'decoderLayer' then
        out = m:forward(inputs[1], inputs[2], o)
        H.close(out, c.output, 1e-9, 1e-10)
        g = m:backward({ inputs[1], inputs[2] }, T(c.gOut))
        H.close(g[1], c.gradInputs[1], 1e-9, 1e-10)
        H.close(g[2], c.gradInputs[2], 1e-9, 1e-10)
      else
        out = m:forward(inputs[1], o)
        H.close(out, c.output, 1e-9, 1e-10)
        g = m:backward(inputs[1], T(c.gOut))
        H.close(g, c.gradInputs[1], 1e-9, 1e-10)
        for _, e in ipairs(m:namedParameters()) do H.close(e[3], c.gradParams[e[1]], 1e-9, 1e-10) end
      end
    end
  end)

  it('forward also takes {query, key, value, opts} and (query, key, value, opts)', function()
    local c = F.keyPaddingPerHead
    local m = build(c)
    local q, k, v = T(c.inputs[1]), T(c.inputs[2]), T(c.inputs[3])
    local o = options(c, 'float64')
    local _, w1 = m:forward({ q, k, v, o })
    H.close(w1, c.weights, 1e-9, 1e-10)
    local out2, w2 = m:forward(q, k, v, o)
    H.close(out2, c.output, 1e-9, 1e-10)
    H.close(w2, c.weights, 1e-9, 1e-10)
    local _, w3 = m({ q, k, v }, o)
    H.close(w3, c.weights, 1e-9, 1e-10)
  end)

  it('a fully masked query row: NaN with needWeights (as PyTorch), zeros without', function()
    local c = F.fullyMaskedRow
    local out, w = build(c)(T(c.inputs[1]), T(c.inputs[2]), T(c.inputs[3]), options(c, 'float64'))
    assert.is_true(out[2][1][1] ~= out[2][1][1])
    assert.is_true(w[1][2][1] ~= w[1][2][1])
    H.close(out, c.output, 1e-9, 1e-10)   -- NaN where PyTorch has NaN
    local c2 = F.fullyMaskedRowNoWeights
    local m2 = build(c2)
    local leaves = { H.randn(3, 2, 8), H.randn(4, 2, 8), H.randn(4, 2, 8) }
    for i, x in ipairs(c2.inputs) do torch.noGrad(function() leaves[i]:copy(T(x)) end) end
    local out2 = m2(leaves[1], leaves[2], leaves[3], options(c2, 'float64'))
    H.close(out2, c2.output, 1e-9, 1e-10)
    out2:sum():backward()   -- and no NaN reaches the gradients
    for _, x in ipairs(leaves) do assert.equal(0, torch.ne(x.grad, x.grad):sum()) end
    for _, e in ipairs(m2:namedParameters()) do assert.equal(0, torch.ne(e[3], e[3]):sum()) end
  end)

  it('nn.Transformer.generateSquareSubsequentMask is PyTorch\'s', function()
    local m = nn.Transformer.generateSquareSubsequentMask(5)
    assert.equal(torch.getdefaulttensortype(), m:type())
    H.close(m, FX.squareMask5, 0, 0)
    assert.equal(0, nn.Transformer.generateSquareSubsequentMask(0):nElement())
    H.matches(H.error_of(nn.Transformer), 'not built yet')
  end)

  it('isCausal without attnMask builds the causal mask (PyTorch refuses it)', function()
    local c = F.selfCausalFloat
    local m = build(c)
    local x = T(c.inputs[1])
    local out, w = m(x, x, x, { isCausal = true })
    H.close(out, c.output, 1e-9, 1e-10)
    H.close(w, c.weights, 1e-9, 1e-10)
    local cb = F.encNormFirstGelu
    H.close(build(cb)(T(cb.inputs[1]), { isCausal = true }), cb.output, 1e-9, 1e-10)
  end)
end)

describe('parameters', function()
  it('PyTorch\'s names, shapes and order', function()
    local function names_of(m)
      local r = {}
      for i, e in ipairs(m:namedParameters()) do r[i] = e[1] .. ' ' .. nn._shapeStr(e[2]) end
      return r
    end
    assert.same({ 'in_proj_weight 24 x 8', 'in_proj_bias 24', 'out_proj.weight 8 x 8', 'out_proj.bias 8' },
                names_of(nn.MultiheadAttention(8, 2)))
    assert.same({ 'q_proj_weight 8 x 8', 'k_proj_weight 8 x 5', 'v_proj_weight 8 x 6', 'in_proj_bias 24',
                  'out_proj.weight 8 x 8', 'out_proj.bias 8' },
                names_of(nn.MultiheadAttention(8, 2, { kdim = 5, vdim = 6 })))
    assert.same({ 'in_proj_weight 24 x 8', 'out_proj.weight 8 x 8' }, names_of(nn.MultiheadAttention(8, 4, { bias = false })))
    local enc = names_of(nn.TransformerEncoderLayer(8, 2, { dimFeedforward = 16 }))
    assert.same({ 'self_attn.in_proj_weight 24 x 8', 'self_attn.in_proj_bias 24', 'self_attn.out_proj.weight 8 x 8',
                  'self_attn.out_proj.bias 8', 'linear1.weight 16 x 8', 'linear1.bias 16', 'linear2.weight 8 x 16',
                  'linear2.bias 8', 'norm1.weight 8', 'norm1.bias 8', 'norm2.weight 8', 'norm2.bias 8' }, enc)
    local m = nn.TransformerEncoderLayer(8, 2)
    assert.equal(2048, m.linear1.weight:size(1))
    assert.equal(0.1, m.dropout.p)
    local p, g = m:parameters()
    assert.equal(12, #p)
    assert.equal(12, #g)
  end)

  it('PyTorch\'s initialisation: xavier_uniform projections, zero biases, Linear out_proj', function()
    torch.manualSeed(3)
    local m = nn.MultiheadAttention(64, 4):double()
    local w = m.in_proj_weight:detach()
    local bound = math.sqrt(6 / (64 + 3 * 64))
    assert.is_true(torch.abs(w):max() <= bound)
    assert.is_true(torch.abs(w):max() > 0.95 * bound)
    H.close(w:var(), bound * bound / 3, 0.1)        -- uniform: variance bound^2 / 3
    assert.equal(0, torch.abs(m.in_proj_bias:detach()):max())
    assert.equal(0, torch.abs(m.out_proj.bias:detach()):max())
    local ob = 1 / math.sqrt(64)
    assert.is_true(torch.abs(m.out_proj.weight:detach()):max() <= ob and torch.abs(m.out_proj.weight:detach()):max() > 0.9 * ob)
    local s = nn.MultiheadAttention(64, 4, { kdim = 16, vdim = 32 }):double()
    assert.is_true(torch.abs(s.k_proj_weight:detach()):max() <= math.sqrt(6 / (64 + 16)))
    assert.is_true(torch.abs(s.k_proj_weight:detach()):max() > 0.9 * math.sqrt(6 / (64 + 16)))
    assert.is_true(torch.abs(s.q_proj_weight:detach()):max() > 0.9 * math.sqrt(6 / 128))
    local e = nn.TransformerEncoderLayer(8, 2)
    assert.equal(1, e.norm1.weight:detach():min())
    assert.equal(0, torch.abs(e.self_attn.in_proj_bias:detach()):max())
  end)

  it('stateDict / loadStateDict round trip; torch.save / torch.load round trip', function()
    local c = F.encPostRelu
    local m = build(c)
    local sd = m:stateDict()
    local n = 0
    for k in pairs(sd) do n = n + 1 assert.is_not_nil(c.params[k], k) end
    assert.equal(12, n)
    local m2 = nn.TransformerEncoderLayer(8, 2, { dimFeedforward = 16, dropout = 0 }):double()
    m2:loadStateDict(sd)
    H.close(m2(T(c.inputs[1])), c.output, 1e-12, 1e-13)
    local dir = H.mktempdir()
    for _, obj in ipairs({ m, build(F.kdimVdim), build(F.encoderStack), build(F.decPost) }) do
      obj:clearState()
      torch.save(dir .. '/m.t7', obj)
      local back = torch.load(dir .. '/m.t7')
      assert.equal(torch.typename(obj), torch.typename(back))
      local a, b = obj:namedParameters(), back:namedParameters()
      assert.equal(#a, #b)
      for i = 1, #a do
        assert.equal(a[i][1], b[i][1])
        H.close(b[i][2], a[i][2], 0, 0)
      end
    end
    local c2 = F.encoderStack
    local back = torch.load(dir .. '/m.t7')   -- the last saved: the decoder layer
    H.close(back(T(F.decPost.inputs[1]), T(F.decPost.inputs[2]), options(F.decPost, 'float64')),
            F.decPost.output, 1e-9, 1e-10)
    H.rmtree(dir)
    -- the encoder's clones are independent copies
    local s = build(c2)
    assert.are_not.equal(s.layers[1].linear1.weight, s.layers[2].linear1.weight)
    torch.noGrad(function() s.layers[1].linear1.weight:zero() end)
    assert.is_true(torch.abs(s.layers[2].linear1.weight:detach()):max() > 0)
  end)

  it('type conversions and clone carry every parameter; gradients stay linked', function()
    local m = nn.TransformerEncoderLayer(8, 2, { dimFeedforward = 16 }):float()
    for _, e in ipairs(m:namedParameters()) do
      assert.equal('torch.FloatTensor', e[2]:type())
      torch.noGrad(function() e[3]:fill(1) end)   -- .grad is the module's gradient tensor
      assert.equal(e[3]:nElement(), e[2].grad:sum())
    end
    local c = m:clone()
    assert.are_not.equal(c.self_attn.in_proj_weight, m.self_attn.in_proj_weight)
    H.close(c.self_attn.in_proj_weight, m.self_attn.in_proj_weight, 0, 0)
    local flat = m:getParameters()
    assert.equal(24 * 8 + 24 + 64 + 8 + 16 * 8 + 16 + 8 * 16 + 8 + 4 * 8, flat:nElement())
  end)
end)

describe('gradcheck (float64)', function()
  it('MultiheadAttention with a float mask and a key padding mask, per-head weights', function()
    torch.manualSeed(7)
    local m = nn.MultiheadAttention(4, 2, { kdim = 3, vdim = 5, batchFirst = true }):double()
    local am = torch.randn(2, 3):double()
    local kpm = torch.ByteTensor({ { 0, 1, 0 }, { 0, 0, 0 } })
    local q, k, v = H.randn(2, 2, 4), H.randn(2, 3, 3), H.randn(2, 3, 5)
    local params = m:parameters()
    local inputs = { q, k, v }
    for _, p in ipairs(params) do inputs[#inputs + 1] = p end
    H.gradcheck(function(a, b, c)
      local out, w = m(a, b, c, { attnMask = am, keyPaddingMask = kpm, averageAttnWeights = false })
      return out:sum() + torch.cmul(w, w):sum()
    end, inputs)
  end)

  it('TransformerEncoderLayer (gelu, normFirst, causal mask) and the decoder layer', function()
    torch.manualSeed(8)
    local m = nn.TransformerEncoderLayer(4, 2, { dimFeedforward = 6, dropout = 0, activation = 'gelu',
                                                 normFirst = true }):double()
    local inputs = { H.randn(3, 2, 4) }
    for _, p in ipairs(m:parameters()) do inputs[#inputs + 1] = p end
    H.gradcheck(function(x)
      local y = m(x, { srcMask = nn.Transformer.generateSquareSubsequentMask(3):double() })
      return torch.cmul(y, y):sum()
    end, inputs)
    local d = nn.TransformerDecoderLayer(4, 2, { dimFeedforward = 6, dropout = 0 }):double()
    local mem = H.randn(2, 2, 4)
    H.gradcheck(function(x, me)
      local y = d(x, me, { tgtIsCausal = true })
      return torch.cmul(y, y):sum()
    end, { H.randn(3, 2, 4), mem })
  end)
end)

describe('dropout', function()
  it('changes the output in training, is the identity after evaluate()', function()
    torch.manualSeed(9)
    local m = nn.MultiheadAttention(8, 2, { dropout = 0.5 }):double()
    local q = torch.randn(3, 2, 8):double()
    local a = m(q, q, q):detach()
    local b = m(q, q, q):detach()
    assert.is_true(torch.abs(a - b):max() > 1e-6)
    local _, w = m(q, q, q, { averageAttnWeights = false })
    assert.is_true(torch.eq(w:detach(), 0):sum() > 0)          -- dropped weights
    m:evaluate()
    local e1, w1 = m(q, q, q)
    local e2 = m(q, q, q)
    H.close(e1, e2, 0, 0)
    H.close(w1:sum(3), torch.ones(2, 3, 1):double(), 1e-12, 1e-12)
    local l = nn.TransformerEncoderLayer(8, 2, { dimFeedforward = 16, dropout = 0.3 }):double()
    local x = torch.randn(3, 2, 8):double()
    assert.is_true(torch.abs(l(x):detach() - l(x):detach()):max() > 1e-6)
    l:evaluate()
    assert.is_false(l.self_attn.train)
    assert.is_false(l.dropout2.train)
    H.close(l(x), l(x), 0, 0)
    l:training()
    assert.is_true(l.self_attn.train and l.dropout1.train)
  end)
end)

describe('argument errors', function()
  local function err(fn, ...) return H.error_of(fn, ...) end
  it('constructors', function()
    H.matches(err(nn.MultiheadAttention, 10, 3), 'nn.MultiheadAttention', 'embedDim %(10%) must be divisible by numHeads %(3%)')
    H.matches(err(nn.MultiheadAttention, 0, 1), 'embedDim must be a positive integer')
    H.matches(err(nn.MultiheadAttention, 8, 2.5), 'numHeads must be a positive integer')
    H.matches(err(nn.MultiheadAttention, 8, 2, { batch_first = true }), "unknown option 'batch_first'", "did you mean 'batchFirst'")
    H.matches(err(nn.MultiheadAttention, 8, 2, { dropout = 1 }), 'dropout must be a number in %[0, 1%)')
    H.matches(err(nn.MultiheadAttention, 8, 2, { kdim = 0 }), 'kdim must be a positive integer')
    H.matches(err(nn.MultiheadAttention, 8, 2, { addBiasKv = true }), "option 'addBiasKv' is not supported yet")
    H.matches(err(nn.MultiheadAttention, 8, 2, { add_zero_attn = true }), "did you mean 'addZeroAttn'")
    H.matches(err(nn.MultiheadAttention, 8, 2, 'x'), 'options must be a table')
    H.matches(err(nn.TransformerEncoderLayer, 8, 3), 'nn.TransformerEncoderLayer', 'dModel %(8%) must be divisible by nhead %(3%)')
    H.matches(err(nn.TransformerEncoderLayer, 8, 2, { norm_first = true }), "did you mean 'normFirst'")
    H.matches(err(nn.TransformerEncoderLayer, 8, 2, { dim_feedforward = 4 }), "did you mean 'dimFeedforward'")
    H.matches(err(nn.TransformerEncoderLayer, 8, 2, { activation = 'tanh' }), "activation must be 'relu', 'gelu' or a function")
    H.matches(err(nn.TransformerEncoderLayer, 8, 2, { layerNormEps = -1 }), 'layerNormEps must be a non%-negative number')
    H.matches(err(nn.TransformerEncoder, nn.Linear(2, 2), 2), 'nn.TransformerEncoder', 'expected an nn.TransformerEncoderLayer')
    H.matches(err(nn.TransformerEncoder, nn.TransformerEncoderLayer(8, 2), 0), 'numLayers must be a positive integer')
    H.matches(err(nn.TransformerEncoder, nn.TransformerEncoderLayer(8, 2), 1, 'x'), 'norm must be an nn.Module')
    H.matches(err(nn.TransformerDecoderLayer, 8, 2, { tgt_mask = 1 }), "unknown option 'tgt_mask'")
    H.matches(err(nn.Transformer.generateSquareSubsequentMask, -1), 'generateSquareSubsequentMask', 'non%-negative integer')
  end)

  it('inputs, masks and options of forward', function()
    local m = nn.MultiheadAttention(8, 2):double()
    local q, k = torch.randn(3, 2, 8):double(), torch.randn(4, 2, 8):double()
    H.matches(err(m.forward, m, q), 'nn.MultiheadAttention', 'key')
    H.matches(err(m.forward, m, 'x'), 'nn.MultiheadAttention', 'expected {query, key, value}')
    H.matches(err(m.forward, m, { q, k }), 'a table of 2 elements')
    H.matches(err(m, torch.randn(3, 2, 6):double(), k, k), 'last sizes 8, 8 and 8', 'query %[3 x 2 x 6%]')
    H.matches(err(m, q, torch.randn(4, 3, 8):double(), torch.randn(4, 3, 8):double()), 'same batch size')
    H.matches(err(m, q, k, torch.randn(5, 2, 8):double()), 'same sequence length')
    H.matches(err(m, q, torch.randn(4, 8):double(), k), 'key and value must have 3')
    H.matches(err(m, torch.randn(8):double(), k, k), 'expected a query of size')
    H.matches(err(m, q, k, k:long()), 'value must be a float tensor')
    H.matches(err(m, q, k, k:float()), 'nn.MultiheadAttention')
    H.matches(err(m, q, k, k, { attnMask = torch.zeros(3, 3):double() }), 'attnMask must be %[3 x 4%]', '%[4 x 3 x 4%]', '%[3 x 3%]')
    H.matches(err(m, q, k, k, { attnMask = torch.LongTensor(3, 4):zero() }), 'attnMask must be a ByteTensor', 'LongTensor')
    H.matches(err(m, q, k, k, { attnMask = 'x' }), 'attnMask must be')
    H.matches(err(m, q, k, k, { keyPaddingMask = torch.ByteTensor(4, 2):zero() }), 'keyPaddingMask must be %[2 x 4%]', 'got torch.ByteTensor %[4 x 2%]')
    H.matches(err(m, q, k, k, { key_padding_mask = 1 }), "did you mean 'keyPaddingMask'")
    H.matches(err(m, q, k, k, { needWeights = 1 }), 'needWeights must be a boolean')
    H.matches(err(m, q, k, k, 5), 'nn.MultiheadAttention', 'options')
    H.matches(err(m.backward, m, { q, k, k }, q), 'nn.MultiheadAttention')
    local l = nn.TransformerEncoderLayer(8, 2, { dimFeedforward = 16 }):double()
    H.matches(err(l, torch.randn(3, 2, 6):double()), 'nn.TransformerEncoderLayer', 'src of size %[L x B x 8%]', '%[3 x 2 x 6%]')
    H.matches(err(l, q, { src_mask = 1 }), "did you mean 'srcMask'")
    H.matches(err(l, q, { srcMask = torch.zeros(2, 2):double() }), 'attnMask must be %[3 x 3%]')
    H.matches(err(l, 'x'), "bad argument #1 to 'forward'")
    local te = nn.TransformerEncoder(l, 2)
    H.matches(err(te, q, { srcMask = 1 }), 'nn.TransformerEncoder', "unknown option 'srcMask'")
    local d = nn.TransformerDecoderLayer(8, 2, { dimFeedforward = 16 }):double()
    H.matches(err(d, q), 'nn.TransformerDecoderLayer', 'memory')
    H.matches(err(d, q, torch.randn(4, 8):double()), 'both be batched or both unbatched')
  end)
end)

describe('on the device', function()
  H.gpu_it('MultiheadAttention and the encoder layer give the CPU results and gradients', function()
    for _, name in ipairs({ 'keyPaddingPerHead', 'encNormFirstGelu', 'boolMask3dNoWeights' }) do
      local c = F[name]
      local cpu = build(c)
      local gpu = build(c):cuda()
      local function run(m, conv)
        local inputs = {}
        for i, x in ipairs(c.inputs) do inputs[i] = H.grad_leaf(conv(T(x, 'float32'))) end
        local o = {}
        for k, v in pairs(options(c, 'float32')) do o[k] = torch.isTensor(v) and conv(v) or v end
        local out, w = call(m, c, inputs, o)
        local loss = torch.cmul(out, conv(T(c.gOut, 'float32'))):sum()
        if c.gW then loss = loss + torch.cmul(w, conv(T(c.gW, 'float32'))):sum() end
        loss:backward()
        local r = { out = out, grad = inputs[1].grad }
        if w then r.w = w end
        for _, e in ipairs(m:namedParameters()) do r[e[1]] = e[3] end
        return r
      end
      local rc = run(cpu:float(), function(t) return t end)
      local rg = run(gpu, function(t)
        return t:type(t:type() == 'torch.ByteTensor' and 'torch.CudaByteTensor' or 'torch.CudaTensor')
      end)
      H.device_compare_all(rg, rc, 'float')
    end
  end)
end)
