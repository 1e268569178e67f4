-- Issue 22's Torch7 module set: the transfer and simple modules, containers and table modules,
-- criterions (forward, input and parameter gradients against PyTorch, in both loop styles; a
-- float64 gradcheck of each), PyTorch's aliases, argument errors, nn.StochasticGradient and
-- torch/nn's two XOR examples (examples/xor_*.lua) run as they are.
local torch = require 'torch'
local nn = require 'nn'
local H = require 'helpers'
local F = H.fixture('nn_breadth')

local function T(f) return H.tensor(f) end
local function conv(f)
  if f.data then return T(f) end
  local r = {}
  for i, v in ipairs(f) do r[i] = conv(v) end
  return r
end

-- name -> the module of that fixture case; input(c, xs) makes the module's input from the
-- fixture's tensors when it is not the one tensor or the table of them
local builders = {
  Abs = function() return nn.Abs() end,
  HardTanh = function() return nn.HardTanh() end,
  HardTanhRange = function() return nn.Hardtanh(-2, 0.5) end,
  Clamp = function() return nn.Clamp(-0.3, 0.7) end,
  ReLU6 = function() return nn.ReLU6() end,
  ELU = function() return nn.ELU(0.7) end,
  PReLU = function() return nn.PReLU() end,
  PReLUChannels = function() return nn.PReLU(6) end,
  PReLUChannels4D = function() return nn.PReLU(3) end,
  RReLUEval = function() return nn.RReLU(0.1, 0.3):evaluate() end,
  SoftPlus = function() return nn.SoftPlus(2, 3) end,
  SoftPlusDefault = function() return nn.Softplus() end,
  SoftSign = function() return nn.SoftSign() end,
  SoftShrink = function() return nn.SoftShrink(0.3) end,
  HardShrink = function() return nn.HardShrink(0.3) end,
  TanhShrink = function() return nn.TanhShrink() end,
  LogSigmoid = function() return nn.LogSigmoid() end,
  SoftMin = function() return nn.SoftMin() end,
  Exp = function() return nn.Exp() end,
  Log = function() return nn.Log() end,
  Sqrt = function() return nn.Sqrt() end,
  Square = function() return nn.Square() end,
  Power = function() return nn.Power(3) end,
  PowerHalf = function() return nn.Power(0.5) end,
  GELU = function() return nn.GELU() end,
  GELUTanh = function() return nn.GELU('tanh') end,
  SiLU = function() return nn.SiLU() end,
  Mish = function() return nn.Mish() end,
  Add = function() return nn.Add(6) end,
  AddScalar = function() return nn.Add(6, true) end,
  Mul = function() return nn.Mul() end,
  CMul = function() return nn.CMul(6) end,
  AddConstant = function() return nn.AddConstant(2.5) end,
  MulConstant = function() return nn.MulConstant(-1.5) end,
  Sum = function() return nn.Sum(2) end,
  SumBatch = function() return nn.Sum(2, 2) end,
  Mean = function() return nn.Mean(1) end,
  Max = function() return nn.Max(2) end,
  Min = function() return nn.Min(1) end,
  Index = function() return nn.Index(1), function(c, xs) return { xs[1], H.tensor(c.index) } end end,
  MaskedSelect = function() return nn.MaskedSelect(), function(c, xs) return { xs[1], H.tensor(c.mask) } end end,
  Squeeze = function() return nn.Squeeze(2) end,
  Unsqueeze = function() return nn.Unsqueeze(2) end,
  Replicate = function() return nn.Replicate(3, 2) end,
  PaddingRight = function() return nn.Padding(2, 2, nil, 9) end,
  PaddingLeft = function() return nn.Padding(1, -1, 1) end,
  Flatten = function() return nn.Flatten() end,
  Unflatten = function() return nn.Unflatten(2, { 2, 3 }) end,
  Normalize = function() return nn.Normalize(2) end,
  Normalize1 = function() return nn.Normalize(1) end,
  NormalizeInf = function() return nn.Normalize(math.huge) end,
  DotProduct = function() return nn.DotProduct() end,
  CosineDistance = function() return nn.CosineDistance() end,
  PairwiseDistance = function() return nn.PairwiseDistance(2) end,
  PairwiseDistance1 = function() return nn.PairwiseDistance(1) end,
  Cosine = function() return nn.Cosine(5, 3) end,
  Euclidean = function() return nn.Euclidean(5, 3) end,
  Bilinear = function() return nn.Bilinear(5, 4, 3) end,
  MM = function() return nn.MM() end,
  MMTrans = function() return nn.MM(true, true) end,
  GradientReversal = function() return nn.GradientReversal(0.5) end,
  L1Penalty = function() return nn.L1Penalty(0.1) end,
  Concat = function() return nn.Concat(2):add(nn.Linear(4, 2)):add(nn.Tanh()) end,
  DepthConcat = function()
    return nn.DepthConcat(2):add(nn.Narrow(3, 2, 3)):add(nn.Identity()):add(nn.Narrow(3, 1, 2))
  end,
  Parallel = function() return nn.Parallel(1, 1):add(nn.Linear(4, 2)):add(nn.Tanh()):add(nn.Identity()) end,
  Bottle = function() return nn.Bottle(nn.Linear(4, 2)) end,
  MapTable = function() return nn.MapTable(nn.Linear(4, 2)) end,
  CSubTable = function() return nn.CSubTable() end,
  CDivTable = function() return nn.CDivTable() end,
  CMaxTable = function() return nn.CMaxTable() end,
  CMinTable = function() return nn.CMinTable() end,
  WeightNorm = function() return nn.WeightNorm(nn.Linear(4, 3)) end,
  WeightNormDim2 = function() return nn.WeightNorm(nn.Linear(4, 3), 2) end,
}

-- the modules whose reference differs by an epsilon in the norm (Torch7's eps vs PyTorch's)
local loose = { Normalize = true, Normalize1 = true, NormalizeInf = true, CosineDistance = true }

-- a fixture parameter by its name in the module's namedParameters ('weight', '0.bias',
-- 'weight_g'): {name, param, grad}
local function named(m, name)
  for _, e in ipairs(m:namedParameters()) do
    if e[1] == name then return e end
  end
  error('no parameter named ' .. name)
end

local function load_params(m, c)
  for name, f in pairs(c.params) do
    local p = named(m, name)[2]
    torch.noGrad(function() p:copy(T(f)) end)
  end
end

local function inputs_of(c, input_fn)
  local xs = {}
  for i, f in ipairs(c.inputs) do xs[i] = T(f) end
  if input_fn then return input_fn(c, xs), xs end
  if #xs == 1 then return xs[1], xs end
  return xs, xs
end

local function close(a, e, rtol, atol)
  if type(e) == 'table' and e.data == nil then
    assert.equal(#e, #a)
    for i = 1, #e do close(a[i], e[i], rtol, atol) end
  else
    H.close(a, e, rtol, atol)
  end
end

local function check_grads(m, c, gradInputs, tol)
  for i, f in ipairs(c.gradInputs) do
    if f.dtype == 'float64' then close(gradInputs[i], f, tol, tol) end
  end
  for name, f in pairs(c.gradParams) do close(named(m, name)[3], f, tol, tol) end
end

describe('nn breadth: modules vs PyTorch', function()
  local names = {}
  for name in pairs(builders) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local c = assert(F.modules[name], 'no fixture for ' .. name)
    local tol = loose[name] and 1e-8 or 1e-10

    it(name .. ': Torch7 forward/backward', function()
      local m, input_fn = builders[name]()
      m:double()
      load_params(m, c)
      m:zeroGradParameters()
      local x = inputs_of(c, input_fn)
      close(m:forward(x), c.output, tol, tol)
      local gi = m:backward(x, conv(c.gradOutput))
      check_grads(m, c, torch.isTensor(gi) and { gi } or gi, tol)
    end)

    it(name .. ': PyTorch-style call and backward', function()
      local m, input_fn = builders[name]()
      m:double()
      load_params(m, c)
      m:zeroGradParameters()
      local x, xs = inputs_of(c, input_fn)
      for _, t in ipairs(xs) do t.requiresGrad = true end
      local y = m(x)
      close(y, c.output, tol, tol)
      local go = conv(c.gradOutput)
      torch.autograd.backward(torch.isTensor(y) and { y } or y, torch.isTensor(go) and { go } or go)
      local gi = {}
      for i, t in ipairs(xs) do gi[i] = t.grad or torch.zeros(t:size()):double() end
      check_grads(m, c, gi, tol)
    end)
  end

  it('L1Penalty records its loss; FlattenTable flattens and unflattens', function()
    local m = nn.L1Penalty(0.1):double()
    m:forward(T(F.modules.L1Penalty.inputs[1]))
    H.close(m.loss, F.modules.L1Penalty.loss, 1e-12, 0)
    local a, b, d = torch.randn(2):double(), torch.randn(3):double(), torch.randn(1):double()
    local ft = nn.FlattenTable()
    local out = ft:forward({ a, { b, { d } } })
    assert.equal(3, #out)
    assert.equal(d, out[3])
    local gi = ft:backward({ a, { b, { d } } }, { a * 2, b * 3, d * 4 })
    H.close(gi[2][2][1], d * 4, 0, 0)
    H.close(gi[1], a * 2, 0, 0)
  end)

  it('Contiguous copies a strided input, passes a contiguous one, and its gradient through', function()
    local x = torch.randn(4, 3):double():t()
    local m = nn.Contiguous():double()
    local y = m:forward(x)
    assert.is_true(y:isContiguous())
    H.close(y, x, 0, 0)
    local g = torch.randn(3, 4):double()
    H.close(m:backward(x, g), g, 0, 0)
    local c = torch.randn(3, 4):double()
    local same = nn.Contiguous():forward(c)
    c[2][3] = 42   -- no copy: the output sees it
    assert.equal(42, same[2][3])
    local leaf = torch.randn(3, 4):double():t():detach()
    leaf.requiresGrad = true
    H.gradcheck(function(v) return m(v) end, { leaf })
  end)

  it('CriterionTable: {input, target} -> the loss and {dloss/dinput}', function()
    local x, t = torch.randn(3, 4):double(), torch.randn(3, 4):double()
    local m = nn.CriterionTable(nn.MSECriterion())
    local expect = torch.pow(x - t, 2):mean()
    H.close(m:forward({ x, t }), expect, 1e-12, 0)
    local gi = m:backward({ x, t }, 1)
    assert.equal(1, #gi)
    H.close(gi[1], (x - t) * (2 / 12), 1e-12, 1e-14)
    local xl = x:clone()
    xl.requiresGrad = true
    local loss = m({ xl, t })
    H.close(loss:item(), expect, 1e-12, 0)
    loss:backward()
    H.close(xl.grad, (x - t) * (2 / 12), 1e-12, 1e-14)
  end)

  it('FlattenTable and L1Penalty options; GradientReversal:setLambda', function()
    local a, b = torch.randn(2, 3):double(), torch.randn(4):double()
    local la, lb = a:clone(), b:clone()
    la.requiresGrad, lb.requiresGrad = true, true
    H.gradcheck(function(p, q)
      local out = nn.FlattenTable()({ p, { { q } } })
      return torch.cat({ out[1]:view(-1), out[2] * 2 }, 1)
    end, { la, lb })
    local x = torch.DoubleTensor({ { -1, 2 }, { 3, -4 } })
    local m = nn.L1Penalty(0.5, true, false):double()
    m:forward(x)
    H.close(m.loss, 0.5 * 10 / 4, 1e-12, 0)
    -- provideOutput false: the penalty's gradient alone, averaged over the 4 elements
    H.close(m:backward(x, torch.ones(2, 2):double()), torch.DoubleTensor({ { -1, 1 }, { 1, -1 } }) * (0.5 / 4), 1e-12, 0)
    local r = nn.GradientReversal():setLambda(3):double()
    r:forward(x)
    H.close(r:backward(x, torch.ones(2, 2):double()), torch.ones(2, 2):double() * -3, 0, 0)
  end)

  it('WeightNorm: starts at the wrapped weight, PyTorch names, trains g and v', function()
    local lin = nn.Linear(4, 3):double()
    local x = torch.randn(5, 4):double()
    local before = lin:forward(x):clone()
    local w = lin.weight:clone()
    local m = nn.WeightNorm(lin)
    H.close(m:forward(x), before, 1e-12, 1e-14)
    H.close(m:weight(), w, 1e-12, 1e-14)
    local sd = m:stateDict()
    assert.same({ 'bias', 'weight_g', 'weight_v' }, (function()
      local k = {} for n in pairs(sd) do k[#k + 1] = n end table.sort(k) return k end)())
    assert.same({ 3, 1 }, sd.weight_g:size():totable())
    assert.equal(3 + 12 + 3, m:getParameters():nElement())
    m:zeroGradParameters()
    m:forward(x)
    m:backward(x, torch.ones(5, 3):double())
    assert.is_true(m.gradG:abs():sum() > 0 and m.gradV:abs():sum() > 0)
    local g, v = m.g:clone(), m.v:clone()
    m:updateParameters(0.1)
    H.close(m.g, g - m.gradG * 0.1, 1e-12, 1e-14)
    H.close(m.v, v - m.gradV * 0.1, 1e-12, 1e-14)
    m:zeroGradParameters()
    assert.equal(0, m.gradG:abs():sum())
    H.matches(H.error_of(nn.WeightNorm, nn.Tanh()), "bad argument #1 to 'WeightNorm' %(a module with a weight expected, got nn.Tanh%)")
    H.matches(H.error_of(nn.WeightNorm, nn.Linear(2, 2), 3), "bad argument #2 to 'WeightNorm' %(dim 3 out of range for a weight of 2 dims%)")
  end)

  it('MapTable shares one weight between its clones (parameters, getParameters, updateParameters)', function()
    local m = nn.MapTable(nn.Linear(4, 2)):double()
    local x = { torch.randn(3, 4):double(), torch.randn(3, 4):double() }
    m:forward(x)
    assert.equal(2, #m.modules)
    assert.equal(2, #m:parameters())
    local flat = m:getParameters()
    assert.equal(10, flat:nElement())
    m:forward(x)
    m:zeroGradParameters()
    m:backward(x, { torch.ones(3, 2):double(), torch.ones(3, 2):double() })
    local before = m.module.weight:clone()
    m:updateParameters(0.1)
    -- the shared gradient is the sum over both inputs: sum of all rows of both, for each output
    local expect = before - (x[1]:sum(1) + x[2]:sum(1)):expand(2, 4) * 0.1
    H.close(m.module.weight, expect, 1e-12, 1e-12)
    H.close(m.modules[2].weight, expect, 0, 0)
  end)

  it('RReLU: random slopes in [lower, upper] in training, reproduced by torch.manualSeed', function()
    local m = nn.RReLU(0.1, 0.3):double()
    local x = torch.randn(200):double()
    torch.manualSeed(3)
    local y1 = m:forward(x):clone()
    torch.manualSeed(3)
    local y2 = m:forward(x):clone()
    H.close(y1, y2, 0, 0)
    local slopes = {}
    for i = 1, 200 do
      if x[i] >= 0 then
        assert.equal(x[i], y1[i])
      else
        local s = y1[i] / x[i]
        assert.is_true(s >= 0.1 - 1e-12 and s <= 0.3 + 1e-12, 'slope ' .. s)
        slopes[#slopes + 1] = s
      end
    end
    assert.is_true(#slopes > 50)
    local distinct = {}
    for _, s in ipairs(slopes) do distinct[('%.6f'):format(s)] = true end
    assert.is_true(next(distinct, next(distinct)) ~= nil, 'the slopes should differ')
    -- backward: the slope of each negative element
    local gi = m:backward(x, torch.ones(200):double())
    for i = 1, 200 do
      if x[i] < 0 then H.close(gi[i], y1[i] / x[i], 1e-10, 1e-12) else assert.equal(1, gi[i]) end
    end
    m:evaluate()
    H.close(m:forward(torch.DoubleTensor({ -2, 3 })), torch.DoubleTensor({ -0.4, 3 }), 1e-12, 0)
  end)
end)

-- the criterions and how each is made
local criterions = {
  AbsCriterion = function() return nn.AbsCriterion() end,
  AbsCriterionSum = function() return nn.L1Loss({ reduction = 'sum' }) end,
  SmoothL1Criterion = function() return nn.SmoothL1Criterion() end,
  SmoothL1Beta = function() return nn.SmoothL1Loss({ beta = 0.5 }) end,
  DistKLDivCriterion = function() return nn.DistKLDivCriterion() end,
  KLDivBatchmean = function() return nn.KLDivLoss({ reduction = 'batchmean' }) end,
  KLDivLogTarget = function() return nn.KLDivLoss({ reduction = 'sum', logTarget = true }) end,
  MarginCriterion = function() return nn.MarginCriterion(0.8) end,
  SoftMarginCriterion = function() return nn.SoftMarginCriterion() end,
  HingeEmbeddingCriterion = function() return nn.HingeEmbeddingCriterion(2) end,
  MultiMarginCriterion = function() return nn.MultiMarginCriterion() end,
  MultiMarginP2 = function(c) return nn.MultiMarginLoss({ p = 2, margin = 0.5, weights = T(c.weights) }) end,
  MultiLabelMarginCriterion = function() return nn.MultiLabelMarginCriterion() end,
  MultiLabelSoftMarginCriterion = function(c) return nn.MultiLabelSoftMarginCriterion(T(c.weights)) end,
  CosineEmbeddingCriterion = function() return nn.CosineEmbeddingCriterion(0.3) end,
  MarginRankingCriterion = function() return nn.MarginRankingCriterion(0.5) end,
  BCEWithLogitsCriterion = function() return nn.BCEWithLogitsCriterion() end,
  BCEWithLogitsWeighted = function(c)
    return nn.BCEWithLogitsLoss({ weights = T(c.weights), posWeight = T(c.posWeight), reduction = 'sum' })
  end,
  MultiCriterion = function()
    return nn.MultiCriterion():add(nn.MSECriterion(), 0.5):add(nn.AbsCriterion(), 2)
  end,
  ParallelCriterion = function()
    return nn.ParallelCriterion():add(nn.MSECriterion()):add(nn.AbsCriterion(), 3)
  end,
}

describe('nn breadth: criterions vs PyTorch', function()
  local names = {}
  for name in pairs(criterions) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local c = assert(F.criterions[name], 'no fixture for ' .. name)
    local function input_and_target()
      local xs = {}
      for i, f in ipairs(c.inputs) do xs[i] = T(f) end
      return (#xs == 1 and xs[1] or xs), xs, conv(c.target)
    end

    it(name .. ': Torch7 forward/backward', function()
      local crit = criterions[name](c)
      local x, _, t = input_and_target()
      H.close(crit:forward(x, t), c.loss, 1e-10, 1e-12)
      local g = crit:backward(x, t)
      close(torch.isTensor(g) and { g } or g, c.gradInputs, 1e-10, 1e-12)
    end)

    it(name .. ': PyTorch-style loss:backward()', function()
      local crit = criterions[name](c)
      local x, xs, t = input_and_target()
      for _, v in ipairs(xs) do v.requiresGrad = true end
      local loss = crit(x, t)
      assert.equal(0, loss:dim())
      H.close(loss:item(), c.loss, 1e-10, 1e-12)
      loss:backward()
      for i, v in ipairs(xs) do H.close(v.grad, c.gradInputs[i], 1e-10, 1e-12) end
    end)
  end
end)

describe('nn breadth: composite criterions', function()
  it('ParallelCriterion(true) gives every criterion the one target; their gradients are weighted', function()
    local a, b, t = torch.randn(3, 2):double(), torch.randn(3, 2):double(), torch.randn(3, 2):double()
    local pc = nn.ParallelCriterion(true):add(nn.MSECriterion(), 2):add(nn.AbsCriterion())
    local expect = 2 * torch.pow(a - t, 2):mean() + torch.abs(b - t):mean()
    H.close(pc:forward({ a, b }, t), expect, 1e-12, 0)
    local g = pc:backward({ a, b }, t)
    H.close(g[1], (a - t) * (2 * 2 / 6), 1e-12, 1e-14)
    H.close(g[2], torch.sign(b - t) / 6, 1e-12, 1e-14)
    H.matches(H.error_of(function() nn.ParallelCriterion():add(nn.MSECriterion()):forward({ a }, t) end),
              'nn.ParallelCriterion: expected a table of inputs and a table of targets')
    H.matches(H.error_of(function() nn.MultiCriterion():add(nn.Linear(2, 2)) end),
              "bad argument #1 to 'add' %(nn.Criterion expected, got nn.Linear%)")
  end)
end)

describe('nn breadth: float64 gradcheck', function()
  local function leaf(t) t = t:double() t.requiresGrad = true return t end
  -- their gradients are by design not their forward's derivative (the fixtures check them)
  local skip = { GradientReversal = true, L1Penalty = true }
  for name, build in pairs(builders) do
    if skip[name] == nil then
      it(name, function()
        local c = F.modules[name]
        local m, input_fn = build()
        m:double()
        local xs = {}
        for i, f in ipairs(c.inputs) do xs[i] = leaf(T(f)) end
        local function run(...)
          local args = { ... }
          local input = input_fn and input_fn(c, args) or (#args == 1 and args[1] or args)
          return m(input)
        end
        H.gradcheck(run, xs)
        local params = m:parameters()
        if params then
          local fixed = {}
          for i, x in ipairs(xs) do fixed[i] = x:detach() end
          H.gradcheck(function() return run(table.unpack(fixed)) end, params)
        end
      end)
    end
  end

  it('RReLU in training (one draw of slopes, reseeded for each evaluation)', function()
    local m = nn.RReLU():double()
    H.gradcheck(function(x) torch.manualSeed(11) return m(x) end, { leaf(torch.randn(3, 4)) })
  end)

  it('the criterions', function()
    for name, build in pairs(criterions) do
      local c = F.criterions[name]
      local crit = build(c)
      local xs = {}
      for i, f in ipairs(c.inputs) do xs[i] = leaf(T(f)) end
      local t = conv(c.target)
      local ok, err = pcall(H.gradcheck, function(...)
        local args = { ... }
        return crit(#args == 1 and args[1] or args, t)
      end, xs)
      assert(ok, name .. ': ' .. tostring(err))
    end
  end)
end)

describe('DistKLDivCriterion with zero target probabilities', function()
  it('a zero target contributes 0 (t log t -> 0), in float32 as in float64', function()
    -- by hand: mean over 2 elements of t (log t - x) = 0.5 (log 0.5 + 2) / 2 (PyTorch: 0.326713)
    local want = 0.5 * (math.log(0.5) + 2) / 2
    for _, ctor in ipairs({ torch.FloatTensor, torch.DoubleTensor }) do
      local x = ctor({ -1, -2 })
      x.requiresGrad = true
      local loss = nn.DistKLDivCriterion()(x, ctor({ 0, 0.5 }))
      assert.near(want, loss:item(), 1e-6)
      loss:backward()
      assert.same({ 0, -0.25 }, x.grad:totable())   -- -t / n
    end
  end)
end)

describe('nn breadth: names, arguments, errors', function()
  it('PyTorch names are the same classes', function()
    local same = {
      Hardtanh = 'HardTanh', Softplus = 'SoftPlus', Softsign = 'SoftSign', Softshrink = 'SoftShrink',
      Hardshrink = 'HardShrink', Tanhshrink = 'TanhShrink', Softmin = 'SoftMin', Softmax = 'SoftMax',
      LogSoftmax = 'LogSoftMax', L1Loss = 'AbsCriterion', SmoothL1Loss = 'SmoothL1Criterion',
      KLDivLoss = 'DistKLDivCriterion', SoftMarginLoss = 'SoftMarginCriterion',
      MultiMarginLoss = 'MultiMarginCriterion', MultiLabelMarginLoss = 'MultiLabelMarginCriterion',
      MultiLabelSoftMarginLoss = 'MultiLabelSoftMarginCriterion',
      HingeEmbeddingLoss = 'HingeEmbeddingCriterion', CosineEmbeddingLoss = 'CosineEmbeddingCriterion',
      MarginRankingLoss = 'MarginRankingCriterion', BCEWithLogitsLoss = 'BCEWithLogitsCriterion',
      MSELoss = 'MSECriterion', BCELoss = 'BCECriterion', NLLLoss = 'ClassNLLCriterion',
      CrossEntropyLoss = 'CrossEntropyCriterion',
    }
    for alias, name in pairs(same) do
      assert(nn[name] ~= nil and rawequal(nn[alias], nn[name]), alias .. ' is not nn.' .. name)
    end
    assert.equal('nn.HardTanh', torch.typename(nn.Hardtanh()))
  end)

  it("require 'nn' sets the global nn, as Torch7's", function()
    assert.equal(nn, rawget(_G, 'nn'))
  end)

  it('constructor arguments are checked in Lua\'s form', function()
    local function msg(f, ...) return H.error_of(f, ...) end
    H.matches(msg(nn.Clamp, 1), "bad argument #2 to 'Clamp' %(number expected, got no value%)")
    H.matches(msg(nn.HardTanh, 'a'), "bad argument #1 to 'HardTanh' %(number expected, got string%)")
    H.matches(msg(nn.HardTanh, 2, 1), 'nn.HardTanh: minValue 2 is above maxValue 1')
    H.matches(msg(nn.Power), "bad argument #1 to 'Power'")
    H.matches(msg(nn.Sum, 1.5), "bad argument #1 to 'Sum' %(integer expected, got 1.5%)")
    H.matches(msg(nn.Bilinear, 3, 4), "bad argument #3 to 'Bilinear'")
    H.matches(msg(nn.PReLU, -1), "bad argument #1 to 'PReLU'")
    H.matches(msg(nn.GELU, 'erf'), "nn.GELU: approximate must be 'none' or 'tanh', got erf")
    H.matches(msg(nn.MapTable, 3), "bad argument #1 to 'MapTable' %(module expected, got number%)")
    H.matches(msg(nn.CriterionTable, nn.Linear(2, 2)), "bad argument #1 to 'CriterionTable' %(nn.Criterion expected")
    H.matches(msg(nn.StochasticGradient, nn.Linear(2, 2), 4), "bad argument #2 to 'StochasticGradient'")
    H.matches(msg(nn.Add, 0), "bad argument #1 to 'Add' %(expected positive integer sizes, got 0%)")
    H.matches(msg(nn.CMul, 2, -1), "bad argument #2 to 'CMul' %(expected a positive size, got %-1%)")
    H.matches(msg(nn.CMul), "bad argument #1 to 'CMul' %(expected sizes, got none%)")
    H.matches(msg(nn.SoftMin, 'x'), "bad argument #1 to 'SoftMin'")
    H.matches(msg(nn.MarginCriterion, 'a'), "bad argument #1 to 'MarginCriterion' %(number or nil expected, got string%)")
    H.matches(msg(nn.BCEWithLogitsLoss, 3), "bad argument #1 to 'BCEWithLogitsCriterion' %(tensor or nil expected, got number%)")
    H.matches(msg(nn.MarginCriterion, { margin = 'a' }), "nn.MarginCriterion: option 'margin' must be a number, got string")
    H.matches(H.error_of(function() nn.Concat(1):forward(torch.randn(2)) end), 'nn.Concat: no modules to run')
    H.matches(H.error_of(function() nn.Normalize(2):forward(torch.randn(2, 2, 2)) end), 'nn.Normalize: expected a 1%-D or 2%-D input, got %[2 x 2 x 2%]')
    -- the error is raised at the caller's line
    H.matches(msg(function() nn.Clamp(1) end), '45%-nn_breadth_spec.lua:%d+:')
  end)

  it('options tables: unknown names, PyTorch spellings, reductions', function()
    H.matches(H.error_of(nn.SmoothL1Loss, { bta = 1 }), "nn.SmoothL1Criterion: unknown option 'bta'; accepted: beta, reduction, sizeAverage")
    H.matches(H.error_of(nn.KLDivLoss, { log_target = true }), "did you mean 'logTarget'%?")
    H.matches(H.error_of(nn.BCEWithLogitsLoss, { pos_weight = torch.ones(2) }), "did you mean 'posWeight'%?")
    H.matches(H.error_of(nn.L1Loss, { reduction = 'none' }), "reduction = 'none' is not supported yet")
    H.matches(H.error_of(nn.AbsCriterion, { reduction = 'batchmean' }), "reduction must be 'mean' or 'sum', got batchmean")
    H.matches(H.error_of(nn.GELU, { approx = 'tanh' }), "nn.GELU: unknown option 'approx'; accepted: approximate")
    assert.is_false(nn.MarginCriterion({ margin = 2, reduction = 'sum' }).sizeAverage)
    assert.equal(2, nn.MarginCriterion({ margin = 2 }).margin)
  end)

  it('wrong inputs are errors naming the module and the sizes', function()
    local x = torch.randn(3, 4)
    H.matches(H.error_of(function() nn.Abs():forward({}) end), 'nn.Abs: expected a tensor input, got table')
    H.matches(H.error_of(function() nn.PReLU(3):forward(x) end), 'nn.PReLU%(3%): expected 3 channels in dim 2 of a 1%-D to 4%-D input, got %[3 x 4%]')
    H.matches(H.error_of(function() nn.Bilinear(4, 5, 2):forward({ x, x }) end),
              'nn.Bilinear%(4, 5 %-> 2%): expected inputs of sizes %[N x 4%] and %[N x 5%], got %[3 x 4%] and %[3 x 4%]')
    H.matches(H.error_of(function() nn.Sum(3):forward(x) end), 'nn.Sum: dim 3 out of range for an input of size %[3 x 4%]')
    H.matches(H.error_of(function() nn.Add(5):forward(x) end), 'nn.Add: a bias of %[5%] does not fit an input of %[3 x 4%]')
    H.matches(H.error_of(function() nn.CMul(5):forward(x) end), 'nn.CMul: a weight of %[5%] does not fit an input of %[3 x 4%]')
    H.matches(H.error_of(function() nn.Cosine(5, 2):forward(x) end), 'nn.Cosine: expected an input of size %[N x 5%] or %[5%], got %[3 x 4%]')
    H.matches(H.error_of(function() nn.DotProduct():forward({ x, torch.randn(4, 3) }) end), 'nn.DotProduct: the two inputs differ in size: %[3 x 4%] and %[4 x 3%]')
    H.matches(H.error_of(function() nn.MM():forward({ x, torch.randn(3) }) end), 'nn.MM: expected two matrices or two batches of matrices, got %[3 x 4%] and %[3%]')
    H.matches(H.error_of(function() nn.CSubTable():forward({ x }) end), 'nn.CSubTable: expected a table of 2 tensors, got a table of 1')
    H.matches(H.error_of(function() nn.Concat(2):add(nn.Identity()):add(nn.View(12)):forward(x) end),
              'nn.Concat: child 2 gave %[12%], which has no dim 2 to concatenate along')
    H.matches(H.error_of(function() nn.Unflatten(2, { 3, 3 }):forward(x) end), 'nn.Unflatten: cannot unflatten dim 2 of an input of size %[3 x 4%] into %[3 x 3%]')
    H.matches(H.error_of(function() nn.MultiMarginCriterion():forward(x, torch.LongTensor({ 1, 5, 2 })) end),
              'nn.MultiMarginCriterion: target 5 at position 2 is not a class in 1..4')
    H.matches(H.error_of(function() nn.MultiLabelMarginCriterion():forward(x, torch.LongTensor(3, 4):fill(7)) end),
              'nn.MultiLabelMarginCriterion: target 7 in row 1 is not a class in 1..4')
    H.matches(H.error_of(function() nn.AbsCriterion():forward(x, torch.randn(5)) end), 'nn.AbsCriterion: input %[3 x 4%] and target %[5%] differ in size')
    H.matches(H.error_of(function() nn.CosineEmbeddingCriterion():forward({ x, x }, torch.ones(2)) end),
              'nn.CosineEmbeddingCriterion: expected 3 targets of 1 or %-1, got %[2%]')
  end)

  it('every new class has a help entry', function()
    local help = require 'torch.help'
    local names = {
      'Abs', 'Add', 'AddConstant', 'Mul', 'MulConstant', 'CMul', 'Clamp', 'HardTanh', 'Hardtanh', 'ELU', 'PReLU',
      'RReLU', 'ReLU6', 'SoftPlus', 'Softplus', 'SoftSign', 'Softsign', 'SoftShrink', 'Softshrink', 'HardShrink',
      'Hardshrink', 'LogSigmoid', 'SoftMin', 'Softmin', 'Softmax', 'LogSoftmax', 'Exp', 'Log', 'Sqrt', 'Square',
      'Power', 'Sum', 'Mean', 'Max', 'Min', 'Index', 'MaskedSelect', 'Squeeze', 'Unsqueeze', 'Contiguous',
      'Replicate', 'Padding', 'Normalize', 'Bilinear', 'Cosine', 'CosineDistance', 'DotProduct', 'Euclidean',
      'PairwiseDistance', 'MM', 'Concat', 'DepthConcat', 'Parallel', 'Bottle', 'MapTable', 'FlattenTable',
      'CSubTable', 'CDivTable', 'CMaxTable', 'CMinTable', 'CriterionTable', 'GradientReversal', 'L1Penalty',
      'Flatten', 'Unflatten', 'GELU', 'SiLU', 'Mish', 'TanhShrink', 'Tanhshrink', 'AbsCriterion', 'L1Loss',
      'SmoothL1Criterion', 'SmoothL1Loss', 'DistKLDivCriterion', 'KLDivLoss', 'MarginCriterion',
      'SoftMarginCriterion', 'SoftMarginLoss', 'MultiMarginCriterion', 'MultiMarginLoss',
      'MultiLabelMarginCriterion', 'MultiLabelMarginLoss', 'MultiLabelSoftMarginCriterion',
      'MultiLabelSoftMarginLoss', 'HingeEmbeddingCriterion', 'HingeEmbeddingLoss', 'CosineEmbeddingCriterion',
      'CosineEmbeddingLoss', 'MarginRankingCriterion', 'MarginRankingLoss', 'MultiCriterion',
      'ParallelCriterion', 'BCEWithLogitsCriterion', 'BCEWithLogitsLoss', 'MSELoss', 'BCELoss', 'NLLLoss',
      'CrossEntropyLoss', 'StochasticGradient', 'WeightNorm',
    }
    for _, n in ipairs(names) do
      assert(nn[n] ~= nil, 'nn.' .. n .. ' does not exist')
      assert(help.lookup('nn.' .. n), 'no help entry for nn.' .. n)
      assert(help.lookup(nn[n]), 'help does not find the class nn.' .. n)
    end
  end)
end)

describe('nn.StochasticGradient', function()
  -- y = 2 x - 1 on 8 points, learnt by one Linear
  local function dataset()
    local d = {}
    function d:size() return 8 end
    for i = 1, 8 do
      local x = (i - 4.5) / 4
      d[i] = { torch.DoubleTensor({ x }), torch.DoubleTensor({ 2 * x - 1 }) }
    end
    return d
  end

  local function quietly(fn)
    local lines, saved = {}, _G.print
    _G.print = function(...) lines[#lines + 1] = table.concat({ ... }, '\t') end
    local ok, err = pcall(fn)
    _G.print = saved
    assert(ok, err)
    return lines
  end

  it("Torch7's defaults; trains, calling the hooks in order", function()
    local m = nn.Linear(1, 1):double()
    local t = nn.StochasticGradient(m, nn.MSECriterion())
    assert.equal(0.01, t.learningRate)
    assert.equal(0, t.learningRateDecay)
    assert.equal(25, t.maxIteration)
    assert.is_true(t.shuffleIndices)
    assert.is_true(t.verbose)
    t.learningRate, t.maxIteration, t.shuffleIndices = 0.2, 60, false
    local seen, errors = {}, {}
    local data = dataset()
    t.hookExample = function(trainer, example)
      assert.equal(t, trainer)
      seen[#seen + 1] = example
    end
    t.hookIteration = function(_, epoch, err) errors[epoch] = err end
    local lines = quietly(function() t:train(data) end)
    assert.equal(8 * 60, #seen)
    for i = 1, 8 do assert.equal(data[i], seen[i]) end   -- in order without shuffleIndices
    assert.equal(60, #errors)
    assert.is_true(errors[60] < 1e-4 and errors[60] < errors[1], ('errors %g -> %g'):format(errors[1], errors[60]))
    H.close(m.weight[1][1], 2, 1e-2, 0)
    H.close(m.bias[1], -1, 1e-2, 0)
    -- verbose: a first line, one per epoch, two at the end
    assert.equal('# StochasticGradient: training', lines[1])
    assert.equal(63, #lines)
    H.matches(lines[62], 'reached the maximum number of iterations')
  end)

  it('learningRateDecay: lr / (1 + epoch * decay) after each epoch; verbose = false', function()
    local m = nn.Linear(1, 1):double()
    torch.noGrad(function() m.weight:fill(0) m.bias:fill(0) end)
    local data = {}
    function data:size() return 1 end
    data[1] = { torch.DoubleTensor({ 0 }), torch.DoubleTensor({ 1 }) }
    local t = nn.StochasticGradient(m, nn.MSECriterion())
    t.learningRate, t.learningRateDecay, t.maxIteration, t.verbose = 0.1, 0.5, 3, false
    local biases = {}
    t.hookIteration = function() biases[#biases + 1] = m.bias[1] end
    local lines = quietly(function() t:train(data) end)
    assert.equal(3, #lines)   -- Torch7 prints its first and last lines even when not verbose
    -- MSE gradient for the bias: 2 (b - 1); lrs 0.1, then 0.1 / (1 + 2 * 0.5), then 0.1 / (1 + 3 * 0.5)
    local b = 0
    for epoch, lr in ipairs({ 0.1, 0.1 / 2, 0.1 / 2.5 }) do
      b = b - lr * 2 * (b - 1)
      H.close(biases[epoch], b, 1e-12, 0)
    end
  end)

  it('rejects a dataset without size() or examples that are not {input, target}', function()
    local t = nn.StochasticGradient(nn.Linear(1, 1), nn.MSECriterion())
    t.verbose = false
    H.matches(H.error_of(function() t:train({}) end), 'needs a method size%(%)')
    local d = { 5 }
    function d:size() return 1 end
    H.matches(quietly(function()
      local ok, err = pcall(t.train, t, d)
      assert(not ok)
      H.matches(tostring(err), 'dataset%[1%] must be {input, target}, got number')
    end)[1], 'training')
  end)
end)

describe("torch/nn's XOR examples (doc/training.md), unchanged", function()
  local root = debug.getinfo(1, 'S').source:match('^@(.*/)spec/') or './'
  local exe = os.getenv('LUATORCH_EXE') or (root .. 'build/luatorch')

  local function run(script, seed)
    local pre = seed and ("-e 'torch.manualSeed(%d)' "):format(seed) or ''
    local p = io.popen(('cd %q && %q %s%s 2>&1'):format(root, exe, pre, script))
    local out = p:read('a')
    assert(p:close(), out)
    local values = {}
    for line in out:gmatch('[^\n]+') do
      local v = tonumber(line:match('^%s*(%-?[%d.]+)%s*$'))
      if v then values[#values + 1] = v end
    end
    return values, out
  end

  for _, script in ipairs({ 'examples/xor_manual.lua', 'examples/xor_trainer.lua' }) do
    it(script .. ' learns XOR (the default seed and two others)', function()
      for _, seed in ipairs({ false, 1, 2 }) do
        local v, out = run(script, seed or nil)
        assert.equal(4, #v, out)
        -- (0.5, 0.5) and (-0.5, -0.5) give about -1; the mixed signs about +1
        assert(v[1] < -0.2 and v[2] > 0.2 and v[3] > 0.2 and v[4] < -0.2, out)
      end
    end)
  end
end)
