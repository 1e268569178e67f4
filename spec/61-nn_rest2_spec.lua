-- The Torch7 modules of lua/nn/rest2.lua (CAdd, Constant, OneHot, ZeroGrad, PrintSize,
-- Collapse, Convert, CAveTable, MixtureTable, SpatialClassNLLCriterion, divisive and contrastive
-- normalisation) and nn.VolumetricBatchNormalization / nn.BatchNorm3d (lua/nn/norm.lua):
-- forward, input and parameter gradients against PyTorch (spec/fixtures/gen_nn_rest2.py:
-- BatchNorm3d, nll_loss and one_hot themselves, the others as Torch7's formulas in PyTorch
-- ops), float64 gradchecks, closed forms for the rest, CAdd's parameter plumbing, save / load
-- round trips, and argument errors.
local torch = require 'torch'
local nn = require 'nn'
local H = require 'helpers'
local F = H.fixture('nn_rest2').modules

local function T(f) return H.tensor(f) end

local function tensors(c)
  local xs = {}
  for i, f in ipairs(c.inputs) do xs[i] = T(f) end
  return xs
end

-- fixture case -> the module (double) and how its input is made from the fixture's inputs
local function one(xs) return xs[1] end
local cases = {
  CAddBatch = { function() return nn.CAdd(3, 4) end, one },
  CAddBroadcast = { function() return nn.CAdd(3, 1) end, one },
  CAddFlat = { function() return nn.CAdd(torch.LongStorage({ 2, 2 })) end, one },
  CAveTable = { function() return nn.CAveTable() end, function(xs) return xs end },
  MixtureTableTable = { function() return nn.MixtureTable() end,
                        function(xs) return { xs[1], { xs[2], xs[3], xs[4] } } end },
  MixtureTableTensor = { function() return nn.MixtureTable() end, function(xs) return { xs[1], xs[2] } end },
  MixtureTableSample = { function() return nn.MixtureTable() end, function(xs) return { xs[1], xs[2] } end },
  VolumetricBatchNormalization = { function() return nn.VolumetricBatchNormalization(3) end, one },
  SpatialDivisiveNormalization = { function(c) return nn.SpatialDivisiveNormalization(3, T(c.kernel)) end, one },
  SpatialDivisiveNormalization1D = { function(c)
    return nn.SpatialDivisiveNormalization(2, T(c.kernel), c.threshold, c.thresval)
  end, one },
  SpatialContrastiveNormalization = { function(c) return nn.SpatialContrastiveNormalization(2, T(c.kernel)) end, one },
}

local function build(name, c)
  local m = cases[name][1](c):double()
  torch.noGrad(function()
    for k, v in pairs(c.params) do m[k]:copy(T(v)) end
  end)
  m:zeroGradParameters()
  return m
end

local function grad_name(k) return 'grad' .. k:sub(1, 1):upper() .. k:sub(2) end

-- the gradients of a (nested) input in order, as the fixture lists them
local function flat(x, out)
  out = out or {}
  if torch.isTensor(x) then out[#out + 1] = x
  else for _, v in ipairs(x) do flat(v, out) end end
  return out
end

describe('modules against PyTorch', function()
  local names = {}
  for name in pairs(cases) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    it(name .. ': forward, backward, parameter gradients (Torch7 and PyTorch styles)', function()
      local c = F[name]
      local m = build(name, c)
      local input = cases[name][2](tensors(c))
      H.close(m:forward(input), c.output, 1e-10, 1e-11)
      local gi = flat(m:backward(input, T(c.gradOutput)))
      assert.equal(#c.gradInputs, #gi)
      for i, g in ipairs(c.gradInputs) do H.close(gi[i], g, 1e-9, 1e-10) end
      for k, g in pairs(c.gradParams) do H.close(m[grad_name(k)], g, 1e-9, 1e-10) end
      m:zeroGradParameters()
      local leaves = tensors(c)
      for _, x in ipairs(leaves) do H.grad_leaf(x) end
      torch.cmul(m(cases[name][2](leaves)), T(c.gradOutput)):sum():backward()
      for i, g in ipairs(c.gradInputs) do H.close(leaves[i].grad, g, 1e-9, 1e-10) end
      for k, g in pairs(c.gradParams) do H.close(m[k].grad, g, 1e-9, 1e-10) end
    end)
  end

  it('VolumetricBatchNormalization: the running statistics of a training step, then evaluation', function()
    local c = F.VolumetricBatchNormalization
    local m = build('VolumetricBatchNormalization', c)
    m:forward(T(c.inputs[1]))
    H.close(m.running_mean, c.runningMean, 1e-12, 1e-13)
    H.close(m.running_var, c.runningVar, 1e-12, 1e-13)
    assert.equal(1, m.num_batches_tracked:item())
    m:evaluate()
    H.close(m:forward(T(c.evalInput)), c.evalOutput, 1e-10, 1e-11)
    -- PyTorch's name is the same class; its options table
    local p = nn.BatchNorm3d(3, { eps = 1e-3, affine = false })
    assert.is_true(torch.isTypeOf(p, 'nn.VolumetricBatchNormalization'))
    assert.is_nil(p.weight)
    assert.equal(1e-3, p.eps)
    local sd = m:stateDict()
    for _, k in ipairs({ 'weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked' }) do
      assert.is_not_nil(sd[k], k)
    end
  end)

  it('SpatialClassNLLCriterion: nll_loss on N x C x H x W, class weights, mean and sum', function()
    for _, name in ipairs({ 'SpatialClassNLLCriterion', 'SpatialClassNLLCriterionSum' }) do
      local c = F[name]
      local crit = c.weights and nn.SpatialClassNLLCriterion(T(c.weights)) or nn.SpatialClassNLLCriterion(nil, false)
      local x, t = T(c.inputs[1]), T(c.target)
      H.close(crit:forward(x, t), c.output, 1e-12, 1e-13)
      H.close(crit:backward(x, t), torch.mul(T(c.gradInputs[1]), 1 / T(c.gradOutput):item()), 1e-10, 1e-12)
      -- PyTorch style: the loss tensor, differentiable
      local xl = H.grad_leaf(x:clone())
      crit(xl, t):backward()
      H.close(xl.grad, torch.mul(T(c.gradInputs[1]), 1 / T(c.gradOutput):item()), 1e-10, 1e-12)
      -- one sample C x H x W with an H x W target is that sample's loss
      local one = crit:forward(x[2], t[2])
      local ref = c.weights and nn.ClassNLLCriterion(T(c.weights)) or nn.ClassNLLCriterion(nil, false)
      H.close(one, ref:forward(x:narrow(1, 2, 1), t:narrow(1, 2, 1)), 1e-12, 1e-13)
    end
  end)

  it('OneHot: PyTorch\'s one_hot of the indices, of the module\'s type', function()
    local c = F.OneHot
    local m = nn.OneHot(5)
    local y = m:forward(T(c.indices))
    assert.equal(torch.Tensor():type(), y:type())
    H.close(y, c.output, 0, 0)
    H.close(m:double():forward(T(c.indices):double()), c.output, 0, 0)   -- whole numbers in a float tensor
    assert.equal('torch.DoubleTensor', m.output:type())
    assert.equal('torch.FloatTensor', m:float():forward(T(c.indices)):type())
  end)
end)

describe('float64 gradchecks', function()
  it('every differentiable module, inputs and parameters', function()
    torch.manualSeed(61)
    local function check(m, input)
      m = m:double()
      local leaves = flat(input)
      for _, p in ipairs(m:parameters() or {}) do leaves[#leaves + 1] = p end
      local n = #flat(input)
      H.gradcheck(function(...)
        local args = { ... }
        local k = 0
        local function rebuild(x)
          if torch.isTensor(x) then k = k + 1 return args[k] end
          local r = {}
          for i, v in ipairs(x) do r[i] = rebuild(v) end
          return r
        end
        assert(n <= #args)
        return m(rebuild(input))
      end, leaves)
    end
    check(nn.CAdd(2, 3), H.randn(4, 2, 3))
    check(nn.CAdd(2, 1), H.randn(2, 5))
    check(nn.CAdd(3), H.randn(2, 3, 1))
    check(nn.Collapse(2), H.randn(3, 2, 2))
    check(nn.Collapse(3), H.randn_t(3, 2))
    check(nn.Convert('bchw', 'bf'), H.randn(2, 2, 1, 3))
    check(nn.Convert('hwcb', 'bf'), H.randn(2, 1, 3, 2))
    check(nn.Convert('chw', 'whc'), H.randn(2, 3, 2))
    check(nn.CAveTable(), { H.randn(2, 3), H.randn(2, 3), H.randn(1, 3) })
    check(nn.MixtureTable(), { H.pos(2, 3), { H.randn(2, 4), H.randn(2, 4), H.randn(2, 4) } })
    check(nn.MixtureTable(), { H.pos(2, 3), H.randn(2, 3, 2, 2) })
    check(nn.MixtureTable(3), { H.pos(2, 3), H.randn(2, 2, 3) })
    check(nn.MixtureTable(), { H.pos(3), H.randn(3, 2) })
    check(nn.MixtureTable(), { H.pos(2), { H.randn(3), H.randn(3) } })
    check(nn.VolumetricBatchNormalization(2), H.randn(3, 2, 2, 2, 2))
    check(nn.SpatialDivisiveNormalization(2, torch.Tensor({ 1, 3, 1 })), H.randn(2, 2, 4, 5))
    check(nn.SpatialDivisiveNormalization(1, torch.ones(3, 3), 0.5, 0.7), H.pos(1, 4, 4))
    check(nn.SpatialContrastiveNormalization(2, torch.ones(3, 3)), H.randn(2, 4, 3))
    local crit = nn.SpatialClassNLLCriterion(torch.Tensor({ 0.5, 2, 1 }):double())
    H.gradcheck(function(x) return crit(x, torch.LongTensor({ { { 1, 3 }, { 2, 2 } } })) end, { H.randn(1, 3, 2, 2) })
  end)
end)

describe('closed forms', function()
  it('CAdd: x + b for each of Torch7\'s forms, Torch7-style gradBias accumulation with a scale', function()
    local m = nn.CAdd(2, 3):double()
    local x = torch.randn(4, 2, 3):double()
    local y = m:forward(x)
    for n = 1, 4 do H.close(y[n], x[n] + m.bias, 1e-15, 1e-15) end
    m:zeroGradParameters()
    local g = torch.randn(4, 2, 3):double()
    H.close(m:backward(x, g, 0.5), g, 0, 0)
    H.close(m.gradBias, torch.sum(g, 1):squeeze(1):mul(0.5), 1e-14, 1e-14)
    -- an input of as many elements: added in memory order; a 1-element bias: a scalar bias
    H.close(m:forward(torch.zeros(6):double()), m.bias:view(6), 0, 0)
    local s = nn.CAdd(1):double()
    H.close(s:forward(torch.zeros(5):double()), torch.Tensor(5):double():fill(s.bias[1]), 0, 0)
    -- reset(stdv): Torch7's uniform in +-stdv sqrt(3)
    local r = nn.CAdd(1000):reset(0.1)
    local top = torch.abs(r.bias:detach()):max()
    assert.is_true(top <= 0.1 * math.sqrt(3) and top > 0.15)
    assert.equal('nn.CAdd(2 x 3)', tostring(m))
  end)

  it('CAdd: parameters, getParameters, namedParameters, stateDict, zeroGradParameters, type conversions', function()
    local m = nn.CAdd(3)
    local params, grads = m:parameters()
    assert.equal(1, #params)
    assert.equal(m.bias, params[1])
    assert.equal(m.gradBias, grads[1])
    local named = m:namedParameters()
    assert.equal('bias', named[1][1])
    local seq = nn.Sequential():add(nn.Linear(2, 3)):add(nn.CAdd(3))
    local flatp, flatg = seq:getParameters()
    assert.equal(2 * 3 + 3 + 3, flatp:nElement())
    torch.noGrad(function() flatp:fill(1) end)
    assert.equal(3, seq.modules[2].bias:detach():sum())
    local sd = seq:stateDict()
    assert.same({ 3 }, sd['1.bias']:size():totable())
    seq:forward(torch.randn(4, 2))
    seq:backward(torch.randn(4, 2), torch.ones(4, 3))
    assert.equal(12, seq.modules[2].gradBias:sum())
    assert.equal(12, flatg:narrow(1, 10, 3):sum())      -- the flat gradient holds gradBias
    seq:zeroGradParameters()
    assert.equal(0, torch.abs(seq.modules[2].gradBias):max())
    seq:updateParameters(0.1)
    for _, t in ipairs({ 'torch.DoubleTensor', 'torch.FloatTensor' }) do
      m:type(t)
      assert.equal(t, m.bias:type())
      assert.equal(t, m.gradBias:type())
      assert.equal(t, m:forward(torch.randn(2, 3):type(t)):type())
    end
    -- PyTorch style: the bias's .grad is gradBias
    local d = nn.CAdd(3):double()
    d:zeroGradParameters()
    d(torch.randn(2, 3):double()):sum():backward()
    H.close(d.gradBias, torch.Tensor({ 2, 2, 2 }):double(), 0, 0)
    H.close(d.bias.grad, d.gradBias, 0, 0)
    -- loadStateDict from another CAdd
    local e = nn.CAdd(3):double()
    e:loadStateDict(d:stateDict())
    H.close(e.bias, d.bias, 0, 0)
  end)

  it('Constant: the value, repeated over a batch with nInputDim, of the module\'s type; zero gradInput', function()
    local m = nn.Constant(torch.Tensor({ { 1, 2 }, { 3, 4 } }):double(), 1)
    local x = torch.randn(3, 5):double()
    local y = m:forward(x)
    assert.same({ 3, 2, 2 }, y:size():totable())
    for n = 1, 3 do H.close(y[n], m.value, 0, 0) end
    local g = m:backward(x, torch.ones(3, 2, 2):double())
    assert.same({ 3, 5 }, g:size():totable())
    assert.equal(0, torch.abs(g):max())
    -- a sample (dims <= nInputDim): the value itself; changing the output leaves the value
    local y1 = m:forward(torch.randn(5):double())
    H.close(y1, m.value, 0, 0)
    y1:fill(9)
    assert.equal(10, m.value:sum())
    local k = nn.Constant(-2.5)
    H.close(k:forward(torch.randn(7)), torch.Tensor({ -2.5 }), 0, 0)
    assert.equal('torch.FloatTensor', k:float():forward(torch.randn(2):double()):type())
    -- PyTorch style: a constant, no gradient to the input
    local xl = H.randn(2, 3)
    local out = nn.ConcatTable():add(nn.Constant(3, 1)):add(nn.Identity()):double()(xl)
    assert.same({ 2, 1 }, out[1]:size():totable())
    torch.sum(out[2]):backward()
    H.close(xl.grad, torch.ones(2, 3):double(), 0, 0)
  end)

  it('OneHot: a number, the shape (sizes..., outputSize), a zero gradInput, bad indices', function()
    local m = nn.OneHot(4)
    H.close(m:forward(3), torch.Tensor({ 0, 0, 1, 0 }), 0, 0)
    local y = m:forward(torch.LongTensor({ { 1, 4 }, { 2, 2 }, { 3, 1 } }))
    assert.same({ 3, 2, 4 }, y:size():totable())
    assert.equal(6, y:sum())
    assert.equal(1, y[1][2][4])
    assert.equal(1, y[3][1][3])
    local g = m:backward(torch.LongTensor({ 1, 2 }), torch.ones(2, 4))
    assert.same({ 2 }, g:size():totable())
    assert.equal(0, torch.abs(g):max())
    assert.same({ 0, 4 }, m:forward(torch.LongTensor(0)):size():totable())
    H.matches(H.error_of(function() return m:forward(torch.LongTensor({ 1, 5 })) end), 'nn.OneHot: class index 5 is outside %[1, 4%]')
    H.matches(H.error_of(function() return m:forward(torch.LongTensor({ 0 })) end), 'class index 0 is outside')
    H.matches(H.error_of(function() return m:forward(torch.Tensor({ 1.5 })) end), 'nn.OneHot: class indices must be whole numbers')
    H.matches(H.error_of(function() return m:forward(2.5) end), 'nn.OneHot: expected a whole class index, got 2.5')
    assert.equal('nn.OneHot(4)', tostring(m))
  end)

  it('ZeroGrad: the identity forward, zeros back (Torch7 and PyTorch styles, tables too)', function()
    local m = nn.ZeroGrad():double()
    local x = torch.randn(2, 3):double()
    H.close(m:forward(x), x, 0, 0)
    local g = m:backward(x, torch.randn(2, 3):double())
    assert.same({ 2, 3 }, g:size():totable())
    assert.equal(0, torch.abs(g):max())
    local t = m:forward({ x, { torch.ones(4):double() } })
    H.close(t[2][1], torch.ones(4):double(), 0, 0)
    local gt = m:backward({ x, { torch.ones(4):double() } }, { torch.ones(2, 3):double(), { torch.ones(4):double() } })
    assert.equal(0, torch.abs(gt[1]):max() + torch.abs(gt[2][1]):max())
    -- PyTorch style: the layers before it get zero gradients, a parallel path its own
    local lin = nn.Linear(3, 2):double()
    local seq = nn.Sequential():add(lin):add(nn.ZeroGrad())
    local xl = H.randn(4, 3)
    lin:zeroGradParameters()
    torch.add(seq(xl), torch.sum(xl, 2)):sum():backward()   -- 4 x 2 + 4 x 1: each x counted twice
    assert.equal(0, torch.abs(lin.gradWeight):max())
    H.close(xl.grad, torch.ones(4, 3):double():fill(2), 0, 0)
  end)

  it('PrintSize: the identity, printing the sizes of the input and of gradOutput', function()
    local printed = {}
    local saved = _G.print
    _G.print = function(...) printed[#printed + 1] = table.concat({ ... }, '\t') end
    local ok, err = pcall(function()
      local m = nn.PrintSize('enc')
      local x = torch.randn(2, 3)
      assert.equal(x, m:forward(x))
      local g = torch.randn(2, 3)
      assert.equal(g, m:backward(x, g))
      m:forward({ torch.randn(4), torch.randn(1, 2) })
      nn.PrintSize():forward(torch.randn(5))
    end)
    _G.print = saved
    assert(ok, err)
    assert.same({ 'enc:input\n\t[2 x 3]', 'enc:gradOutput\n\t[2 x 3]', 'enc:input\n\t{[4], [1 x 2]}',
                  'PrintSize:input\n\t[5]' }, printed)
  end)

  it('Collapse: a batch to N x -1, a sample to 1-D, the gradient in the input\'s shape', function()
    local m = nn.Collapse(2)
    local x = torch.randn(3, 2, 4):double()
    local y = m:forward(x)
    assert.same({ 3, 8 }, y:size():totable())
    H.close(y[2], x[2]:contiguous():view(8), 0, 0)
    assert.same({ 3, 2, 4 }, m:backward(x, torch.ones(3, 8):double()):size():totable())
    local xt = torch.randn(4, 3):double():t()   -- a non-contiguous sample
    H.close(m:forward(xt), xt:contiguous():view(12), 0, 0)
    assert.same({ 3, 4 }, m:backward(xt, torch.ones(12):double()):size():totable())
    assert.same({ 5, 1 }, nn.Collapse(0):forward(torch.randn(5)):size():totable())
  end)

  it('Convert: permutations, to bf, bt / bf to b, b to bt, one sample, the module\'s type', function()
    local x = torch.randn(2, 3, 4, 5):double()
    local m = nn.Convert('bchw', 'bf'):double()
    H.close(m:forward(x), x:contiguous():view(2, 60), 0, 0)
    assert.same({ 2, 3, 4, 5 }, m:backward(x, torch.ones(2, 60):double()):size():totable())
    H.close(nn.Convert('bchw', 'bhwc'):double():forward(x), x:permute(1, 3, 4, 2), 0, 0)
    local p = nn.Convert('chw', 'hwc'):double()        -- 'b' added in front
    H.close(p:forward(x[2]), x[2]:permute(2, 3, 1), 0, 0)   -- one sample: no batch dim
    H.close(p:forward(x), x:permute(1, 3, 4, 2), 0, 0)
    -- Torch7's 'bf' swaps the batch dim with the first, then flattens each sample
    H.close(nn.Convert('chwb', 'bf'):double():forward(x), x:transpose(1, 4):contiguous():view(5, 24), 0, 0)
    local t = torch.randn(3, 4):double()
    H.close(nn.Convert('bt', 'b'):double():forward(t), t:select(2, 1), 0, 0)
    H.close(nn.Convert('tb', 'b'):double():forward(t), t:select(1, 1), 0, 0)
    H.close(nn.Convert('bf', 'b'):double():forward(t:narrow(2, 2, 1)), t:select(2, 2), 0, 0)
    H.close(nn.Convert('b', 'bt'):double():forward(t:select(2, 3)), t:narrow(2, 3, 1), 0, 0)
    -- the input converted to the module's type, the gradient back to the input's
    local c = nn.Convert():float()
    local xf = H.randn(2, 3)
    local y = c(xf)
    assert.equal('torch.FloatTensor', y:type())
    torch.sum(y):backward()
    assert.equal('torch.DoubleTensor', xf.grad:type())
    H.close(xf.grad, torch.ones(2, 3):double(), 0, 0)
    assert.equal('torch.FloatTensor', nn.Convert('bchw', 'bf'):float():forward(x):type())
    assert.equal("nn.Convert('bchw' -> 'bf')", tostring(m))
  end)

  it('CAveTable: the mean; MixtureTable: the gater-weighted sum, checked elementwise', function()
    local a, b = torch.randn(2, 3):double(), torch.randn(2, 3):double()
    H.close(nn.CAveTable():forward({ a, b }), (a + b) / 2, 1e-15, 1e-15)
    H.close(nn.CAveTable():forward({ a }), a, 0, 0)
    local gater = torch.rand(2, 3):double()
    local experts = torch.randn(2, 3, 4):double()
    local y = nn.MixtureTable():forward({ gater, experts })
    for n = 1, 2 do
      for f = 1, 4 do
        local s = 0
        for e = 1, 3 do s = s + gater[n][e] * experts[n][e][f] end
        assert.is_true(math.abs(y[n][f] - s) < 1e-12)
      end
    end
    local list = { experts:select(2, 1), experts:select(2, 2), experts:select(2, 3) }
    H.close(nn.MixtureTable():forward({ gater, list }), y, 1e-14, 1e-14)
    -- experts along dim 3
    H.close(nn.MixtureTable(3):forward({ gater, experts:transpose(2, 3) }), y, 1e-14, 1e-14)
  end)

  it('divisive normalisation: unit local energy on a constant plane; contrastive = subtractive then divisive', function()
    -- a constant input c, a 3 x 3 box over 2 planes (weights 1/18): inside, std = |c| and the
    -- output sign(c); at a corner the window holds 4 of 9 pixels: std = sqrt(8 c^2 / 18) over
    -- Torch7's correction 8/18 (not its square root), so the output is c / (1.5 |c|)
    local m = nn.SpatialDivisiveNormalization(2, torch.ones(3, 3))
    local y = m:forward(torch.Tensor(2, 5, 6):fill(-3))
    H.close(y:narrow(2, 2, 3):narrow(3, 2, 4), torch.Tensor(2, 3, 4):fill(-1), 1e-6, 1e-6)
    for _, p in ipairs({ { 1, 1 }, { 1, 6 }, { 5, 1 }, { 5, 6 } }) do
      H.close(y[2][p[1]][p[2]], -2 / 3, 1e-6, 1e-6)
    end
    -- below the threshold the std is thresval
    local small = nn.SpatialDivisiveNormalization(1, torch.ones(3, 3), 1, 4):forward(torch.Tensor(1, 3, 3):fill(0.5))
    H.close(small, torch.Tensor(1, 3, 3):fill(0.125), 1e-6, 1e-6)
    local x = torch.randn(2, 2, 5, 6):double()
    local k = torch.Tensor({ 1, 2, 1 }):double()
    local sub = nn.SpatialSubtractiveNormalization(2, k):double()
    local div = nn.SpatialDivisiveNormalization(2, k):double()
    H.close(nn.SpatialContrastiveNormalization(2, k):double():forward(x), div:forward(sub:forward(x)), 1e-14, 1e-14)
    -- Torch7's normalised kernel field; the caller's kernel is left as it was
    assert.equal(2, k[2])
    H.close(div.kernel, k / (4 * math.sqrt(2)), 1e-15, 1e-15)
  end)
end)

describe('saving and loading', function()
  it('torch.save / torch.load keep each module\'s state', function()
    local dir = H.mktempdir()
    local function roundtrip(m)
      torch.save(dir .. '/m.t7', m)
      return torch.load(dir .. '/m.t7')
    end
    torch.manualSeed(5)
    local cadd = nn.CAdd(2, 3):double()
    local x = torch.randn(4, 2, 3):double()
    H.close(roundtrip(cadd):forward(x), cadd:forward(x), 0, 0)
    local c2 = roundtrip(nn.Constant(torch.Tensor({ 7, 8 }), 1))
    assert.equal(1, c2.nInputDim)
    H.close(c2:forward(torch.randn(3, 2))[3], torch.Tensor({ 7, 8 }), 0, 0)
    local oh = roundtrip(nn.OneHot(6):double())
    assert.equal(6, oh.outputSize)
    assert.equal('torch.DoubleTensor', oh:forward(torch.LongTensor({ 2 })):type())
    assert.equal(3, roundtrip(nn.MixtureTable(3)).dim)
    assert.equal(2, roundtrip(nn.Collapse(2)).nInputDim)
    local cv = roundtrip(nn.Convert('bchw', 'bhwc'):double())
    assert.equal('torch.DoubleTensor', cv:forward(torch.randn(1, 2, 3, 4)):type())
    assert.same({ 1, 3, 4, 2 }, cv.output:size():totable())
    assert.equal('p', roundtrip(nn.PrintSize('p')).prefix)
    local bn = nn.VolumetricBatchNormalization(2):double()
    bn:forward(torch.randn(2, 2, 2, 2, 3):double())
    local bn2 = roundtrip(bn)
    H.close(bn2.running_mean, bn.running_mean, 0, 0)
    bn:evaluate() bn2:evaluate()
    local xb = torch.randn(1, 2, 2, 2, 2):double()
    H.close(bn2:forward(xb), bn:forward(xb), 0, 0)
    local w = torch.Tensor({ 1, 2, 3 }):double()
    local crit = roundtrip(nn.SpatialClassNLLCriterion(w, false))
    assert.is_false(crit.sizeAverage)
    H.close(crit.weights, w, 0, 0)
    local xn = torch.randn(1, 2, 4, 4):double()
    local scn = nn.SpatialContrastiveNormalization(2, torch.ones(3, 3))
    H.close(roundtrip(scn):forward(xn), scn:forward(xn), 0, 0)
    H.rmtree(dir)
  end)
end)

describe('argument errors', function()
  it('constructors and inputs name the module and the shapes', function()
    local err = H.error_of
    H.matches(err(nn.CAdd), "bad argument #1 to 'nn.CAdd'")
    H.matches(err(nn.CAdd, 2, 0), "bad argument #2 to 'nn.CAdd'")
    H.matches(err(nn.CAdd, 'x'), "bad argument #1 to 'nn.CAdd'")
    H.matches(err(function() return nn.CAdd(3, 4):forward(torch.randn(2, 5)) end),
              'nn.CAdd: a bias of %[3 x 4%] does not fit an input of %[2 x 5%]')
    H.matches(err(function() return nn.CAdd(3, 4):forward(torch.randn(3, 5)) end), 'does not fit an input of %[3 x 5%]')
    H.matches(err(function() return nn.CAdd(3):forward(torch.LongTensor(2, 3)) end), 'nn.CAdd: expected a FloatTensor or DoubleTensor input')
    H.matches(err(nn.Constant, 'a'), "bad argument #1 to 'nn.Constant'")
    H.matches(err(nn.Constant, 1, -1), "bad argument #2 to 'nn.Constant'")
    H.matches(err(function() return nn.Constant(1, 1):forward({}) end), 'nn.Constant: expected a tensor input')
    H.matches(err(nn.OneHot, 0), "bad argument #1 to 'nn.OneHot'")
    H.matches(err(nn.PrintSize, 3), "bad argument #1 to 'nn.PrintSize'")
    H.matches(err(nn.Collapse), "bad argument #1 to 'nn.Collapse'")
    H.matches(err(nn.Collapse, -1), "bad argument #1 to 'nn.Collapse'")
    H.matches(err(nn.Convert, 'bchw', 'bq'), "bad argument #2 to 'nn.Convert'", "no conversion of shape 'bchw' to 'bq'")
    H.matches(err(nn.Convert, 'bchw', 'b*'), "bad argument #2 to 'nn.Convert'", "both shapes or neither must be 'b%*'")
    H.matches(err(nn.Convert, 'bCh'), "bad argument #1 to 'nn.Convert'")
    H.matches(err(nn.Convert, nil, 'bf'), "bad argument #1 to 'nn.Convert'")
    H.matches(err(nn.Convert, 'bt', 'bf'), "no conversion of shape 'bt' to 'bf'")
    H.matches(err(function() return nn.Convert('bchw', 'bf'):forward(torch.randn(2, 3)) end),
              "nn.Convert: expected an input of 4 dims %('bchw'%) or 3 %(one sample%), got %[2 x 3%]")
    H.matches(err(function() return nn.Convert('bf', 'b'):forward(torch.randn(2, 3)) end),
              "nn.Convert: cannot convert 'bf' to 'b' with 3 features")
    H.matches(err(function() return nn.ZeroGrad():forward({ 1 }) end), 'nn.ZeroGrad: expected a tensor or a table of tensors')
    H.matches(err(function() return nn.CAveTable():forward({}) end), 'nn.CAveTable: expected a table of at least one tensors')
    H.matches(err(function() return nn.CAveTable():forward({ torch.randn(2), torch.randn(3) }) end),
              'nn.CAveTable: inputs of %[2%] and %[3%]')
    H.matches(err(nn.MixtureTable, 0), "bad argument #1 to 'nn.MixtureTable'")
    local mt = nn.MixtureTable()
    H.matches(err(function() return mt:forward(torch.randn(2, 3)) end), 'nn.MixtureTable: expected {gater, experts}')
    H.matches(err(function() return mt:forward({ torch.rand(2, 3), { torch.randn(2, 4), torch.randn(2, 4) } }) end),
              'nn.MixtureTable: a gater of %[2 x 3%] weighs 3 experts, got a table of 2')
    H.matches(err(function() return mt:forward({ torch.rand(2, 2), { torch.randn(2, 4), torch.randn(2, 5) } }) end),
              'nn.MixtureTable: expert 2 is %[2 x 5%]')
    H.matches(err(function() return mt:forward({ torch.rand(2, 3), torch.randn(2, 4, 5) }) end),
              'nn.MixtureTable: experts of %[2 x 4 x 5%] do not fit a gater of %[2 x 3%]')
    H.matches(err(function() return mt:forward({ torch.rand(2, 3, 1), torch.randn(2, 3, 5) }) end),
              'nn.MixtureTable: expected a gater of N x E or E')
    H.matches(err(nn.VolumetricBatchNormalization, 0), "bad argument #1 to 'nn.VolumetricBatchNormalization'")
    H.matches(err(function() return nn.VolumetricBatchNormalization(3):forward(torch.randn(2, 3, 4, 4)) end),
              'nn.VolumetricBatchNormalization: expected input of size %[N x 3 x D x H x W%], got %[2 x 3 x 4 x 4%]')
    H.matches(err(nn.BatchNorm3d, 3, { momentun = 0.1 }), "nn.BatchNorm3d: unknown option 'momentun'")
    H.matches(err(nn.SpatialClassNLLCriterion, torch.ones(2, 2)), "bad argument #1 to 'nn.SpatialClassNLLCriterion'")
    H.matches(err(nn.SpatialClassNLLCriterion, nil, 1), "bad argument #2 to 'nn.SpatialClassNLLCriterion'")
    local crit = nn.SpatialClassNLLCriterion()
    H.matches(err(function() return crit:forward(torch.randn(2, 3, 4, 5), torch.LongTensor(2, 5, 4):fill(1)) end),
              'nn.SpatialClassNLLCriterion: expected input N x C x H x W', 'got input %[2 x 3 x 4 x 5%] and target %[2 x 5 x 4%]')
    H.matches(err(function() return crit:forward(torch.randn(2, 3), torch.LongTensor(2):fill(1)) end),
              'nn.SpatialClassNLLCriterion: expected input N x C x H x W')
    H.matches(err(function() return crit:forward(torch.randn(1, 3, 2, 2), torch.LongTensor(1, 2, 2):fill(4)) end),
              'nn.SpatialClassNLLCriterion: .*target 4 is out of range for 3 classes')
    H.matches(err(function() return nn.SpatialClassNLLCriterion(torch.ones(2)):forward(torch.randn(1, 3, 2, 2), torch.LongTensor(1, 2, 2):fill(1)) end),
              'nn.SpatialClassNLLCriterion: 2 class weights for 3 classes')
    H.matches(err(nn.SpatialDivisiveNormalization, 1, torch.ones(4, 4)), "bad argument #2 to 'nn.SpatialDivisiveNormalization'", 'odd sizes')
    H.matches(err(nn.SpatialDivisiveNormalization, 1, nil, 'x'), "bad argument #3 to 'nn.SpatialDivisiveNormalization'")
    H.matches(err(nn.SpatialContrastiveNormalization, 0), "bad argument #1 to 'nn.SpatialContrastiveNormalization'")
    H.matches(err(nn.SpatialContrastiveNormalization, 1, torch.ones(2, 2, 2)), "bad argument #2 to 'nn.SpatialContrastiveNormalization'")
    H.matches(err(function() return nn.SpatialDivisiveNormalization(2):forward(torch.randn(3, 5, 5)) end),
              'nn.SpatialDivisiveNormalization: expected 2 planes, got input %[3 x 5 x 5%]')
    H.matches(err(function() return nn.SpatialContrastiveNormalization(2):forward(torch.randn(5, 5)) end),
              'nn.SpatialContrastiveNormalization: expected a 3D %(C x H x W%) or 4D')
  end)
end)
