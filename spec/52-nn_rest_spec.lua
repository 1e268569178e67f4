-- The last of torch/nn's documented modules (lua/nn/rest.lua, and VolumetricMaxUnpooling of
-- lua/nn/more.lua): forward, input and parameter
-- gradients against PyTorch (spec/fixtures/gen_nn_rest.py: LinearWeightNorm against
-- torch.nn.utils.weight_norm, the others against Torch7's formulas in PyTorch ops), float64
-- gradchecks, the connection tables and the simplex by their properties, and argument errors.
local torch = require 'torch'
local nn = require 'nn'
local H = require 'helpers'
local F = H.fixture('nn_rest').modules

local function T(f) return H.tensor(f) end

-- fixture case -> the module (double), its parameters set from the fixture
local builders = {
  LinearWeightNorm = function() return nn.LinearWeightNorm(5, 3) end,
  PartialLinear = function(c) return nn.PartialLinear(4, 6):setPartition(T(c.partition)) end,
  SpatialConvolutionMap = function(c) return nn.SpatialConvolutionMap(T(c.connTable), 3, 2, 1, 2) end,
  SpatialConvolutionLocal = function() return nn.SpatialConvolutionLocal(2, 3, 5, 6, 3, 2, 2, 1, 1, 1) end,
  SpatialSubtractiveNormalization = function(c) return nn.SpatialSubtractiveNormalization(3, T(c.kernel)) end,
  SpatialSubtractiveNormalization1D = function(c) return nn.SpatialSubtractiveNormalization(2, T(c.kernel)) end,
  VolumetricMaxUnpooling = function(c)
    local pool = nn.VolumetricMaxPooling(2, 3, 2, 1, 2, 2, 1, 1, 0):double()
    H.close(pool:forward(T(c.poolInput)), c.poolOutput, 0, 0)
    assert.equal(0, (pool.indices - T(c.poolIndices)):abs():max())   -- PyTorch's indices
    return nn.VolumetricMaxUnpooling(pool)
  end,
  VolumetricFullConvolution = function() return nn.VolumetricFullConvolution(2, 3, 2, 3, 2, 2, 1, 2, 1, 1, 0, 1, 0, 1) end,
  SpatialFractionalMaxPooling = function(c)
    local m = nn.SpatialFractionalMaxPooling(2, 3, 4, 3):fixPoolingRegions()
    m.randomSamples = T(c.samples)
    return m
  end,
  VolumetricFractionalMaxPooling = function(c)
    local m = nn.VolumetricFractionalMaxPooling(2, 2, 3, 3, 4, 2):fixPoolingRegions()
    m.randomSamples = T(c.samples)
    return m
  end,
}

local function build(name, c)
  local m = builders[name](c):double()
  torch.noGrad(function()
    for k, v in pairs(c.params) do m[k]:copy(T(v)) end
  end)
  m:zeroGradParameters()
  return m
end

local function grad_name(k) return 'grad' .. k:sub(1, 1):upper() .. k:sub(2) end

describe('modules against PyTorch', function()
  local names = {}
  for name in pairs(builders) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    it(name .. ': forward, backward, parameter gradients (Torch7 and PyTorch styles)', function()
      local c = F[name]
      local m = build(name, c)
      local x = T(c.inputs[1])
      H.close(m:forward(x), c.output, 1e-10, 1e-11)
      H.close(m:backward(x, T(c.gradOutput)), c.gradInputs[1], 1e-9, 1e-10)
      for k, g in pairs(c.gradParams) do H.close(m[grad_name(k)], g, 1e-9, 1e-10) end
      m:zeroGradParameters()
      local xl = H.grad_leaf(x:clone())
      torch.cmul(m(xl), T(c.gradOutput)):sum():backward()
      H.close(xl.grad, c.gradInputs[1], 1e-9, 1e-10)
      for k, g in pairs(c.gradParams) do H.close(m[k].grad, g, 1e-9, 1e-10) end
    end)
  end

  it('SparseLinear: a batch as a table, as an N x nnz x 2 tensor, one sample alone', function()
    local c = F.SparseLinear
    local m = nn.SparseLinear(8, 3):double()
    torch.noGrad(function()
      m.weight:copy(T(c.params.weight))
      m.bias:copy(T(c.params.bias))
    end)
    local idx, vals = T(c.indices):double(), T(c.inputs[1])
    local batch = torch.stack({ idx, vals }, 3)                       -- 2 x 3 x 2
    for _, input in ipairs({ batch, { batch[1], batch[2] } }) do
      m:zeroGradParameters()
      H.close(m:forward(input), c.output, 1e-12, 1e-12)
      m:backward(input, T(c.gradOutput))
      H.close(m.gradWeight, c.gradParams.weight, 1e-12, 1e-12)
      H.close(m.gradBias, c.gradParams.bias, 1e-12, 1e-12)
    end
    -- the values' gradient; the index column gets none
    local xl = H.grad_leaf(batch:clone())
    torch.cmul(m(xl), T(c.gradOutput)):sum():backward()
    H.close(xl.grad:select(3, 2), c.gradInputs[1], 1e-12, 1e-12)
    assert.equal(0, xl.grad:select(3, 1):abs():max())
    H.close(m:forward(batch[2]), T(c.output)[2], 1e-12, 1e-12)
  end)

  it('IndexLinear: flat {keys, values, sizes} and per-sample {keys, values}, with a keys offset', function()
    local c = F.IndexLinear
    local m = nn.IndexLinear(10, 3, nil, 2):double()
    torch.noGrad(function()
      m.weight:copy(T(c.params.weight))
      m.bias:copy(T(c.params.bias))
    end)
    local keys, vals, sizes = T(c.keys), T(c.inputs[1]), T(c.sizes)
    local per_k, per_v, at = {}, {}, 1
    for n = 1, sizes:size(1) do
      per_k[n], per_v[n] = keys:narrow(1, at, sizes[n]), vals:narrow(1, at, sizes[n])
      at = at + sizes[n]
    end
    for _, input in ipairs({ { keys, vals, sizes }, { per_k, per_v } }) do
      m:zeroGradParameters()
      H.close(m:forward(input), c.output, 1e-12, 1e-12)
      m:backward(input, T(c.gradOutput))
      H.close(m.gradWeight, c.gradParams.weight, 1e-12, 1e-12)
      H.close(m.gradBias, c.gradParams.bias, 1e-12, 1e-12)
    end
    local vl = H.grad_leaf(vals:clone())
    torch.cmul(m({ keys, vl, sizes }), T(c.gradOutput)):sum():backward()
    H.close(vl.grad, c.gradInputs[1], 1e-12, 1e-12)
    H.gradcheck(function(v) return m({ keys, v, sizes }) end, { H.randn(6), m.weight, m.bias })
    H.matches(H.error_of(function() return m:forward({ torch.LongTensor({ 13 }), torch.Tensor({ 1 }), torch.LongTensor({ 1 }) }) end),
              'key 13 is outside %[3, 12%]')
    H.matches(H.error_of(nn.IndexLinear, 4, 2, nil, 0, nil, nil, true), "bad argument #7 to 'nn.IndexLinear'")
  end)

  it('ClassSimplexCriterion: the loss and its gradient; the simplex is regular', function()
    local c = F.ClassSimplexCriterion
    local crit = nn.ClassSimplexCriterion(4)
    H.close(crit.simplex, c.simplex, 1e-14, 1e-14)
    local x = T(c.inputs[1])
    local loss = crit:forward(x, T(c.target))
    H.close(torch.DoubleTensor({ loss }), T(c.output):view(1), 1e-12, 1e-12)
    H.close(crit:backward(x, T(c.target)), T(c.gradInputs[1]):div(T(c.gradOutput):item()), 1e-10, 1e-12)
    for n = 2, 7 do
      local S = nn.ClassSimplexCriterion(n).simplex
      local G = torch.mm(S, S:t())
      for i = 1, n do
        for j = 1, n do
          assert.is_true(math.abs(G[i][j] - (i == j and 1 or -1 / (n - 1))) < 1e-12)
        end
      end
      assert.equal(0, S:select(2, n):abs():max())
    end
    -- a class number, and the predictions: each vertex scores its own class highest
    H.close(torch.DoubleTensor({ crit:forward(x[1], 2) }),
            torch.DoubleTensor({ (x[1] - crit.simplex[2]):pow(2):mean() }), 1e-12, 1e-12)
    local classes = crit:getTopPrediction(crit.simplex * 3)
    assert.same({ 1, 2, 3, 4 }, classes:view(-1):totable())
  end)
end)

describe('float64 gradchecks', function()
  it('every module, inputs and parameters', function()
    torch.manualSeed(50)
    local cases = {
      { nn.LinearWeightNorm(4, 3), H.randn(2, 4) },
      { nn.LinearWeightNorm(4, 2, false), H.randn(4) },
      { nn.PartialLinear(3, 5):setPartition(torch.LongTensor({ 4, 1 })), H.randn(2, 3) },
      { nn.SpatialConvolutionMap(nn.tables.random(3, 2, 2), 2, 2, 2, 1), H.randn(2, 3, 5, 4) },
      { nn.SpatialConvolutionMap(nn.tables.oneToOne(2), 3, 1), H.randn(2, 4, 5) },
      { nn.SpatialConvolutionLocal(2, 2, 4, 3, 2, 2, 1, 1, 1, 0), H.randn(2, 2, 3, 4) },
      { nn.SpatialSubtractiveNormalization(2, torch.Tensor({ 1, 3, 1 })), H.randn(2, 2, 4, 5) },
      { nn.SpatialSubtractiveNormalization(1), H.randn(1, 5, 4) },
      { nn.VolumetricFullConvolution(2, 2, 2, 2, 3, 2, 1, 2, 0, 1, 1, 1, 0, 1), H.randn(1, 2, 2, 3, 3) },
      { nn.VolumetricFullConvolution(1, 2, 3, 1, 1, 1, 1, 1, 1), H.randn(1, 2, 3, 2) },
      { nn.SpatialFractionalMaxPooling(2, 2, 3, 2):fixPoolingRegions(), H.randn(2, 2, 5, 6) },
      { (function()
          local pool = nn.VolumetricMaxPooling(2, 2, 2):double()
          pool:forward(torch.randn(1, 2, 4, 4, 6):double())
          return nn.VolumetricMaxUnpooling(pool)
        end)(), H.randn(1, 2, 2, 2, 3) },
      { nn.SpatialFractionalMaxPooling(2, 3, 0.6, 0.5):fixPoolingRegions(), H.randn(1, 6, 7) },
      { nn.VolumetricFractionalMaxPooling(2, 2, 2, 2, 3, 2):fixPoolingRegions(), H.randn(1, 2, 4, 4, 5) },
    }
    for _, c in ipairs(cases) do
      local m, x = c[1]:double(), c[2]
      local params = m:parameters() or {}
      local inputs = { x }
      for _, p in ipairs(params) do inputs[#inputs + 1] = p end
      H.gradcheck(function(xx) return m(xx) end, inputs)
    end
    local sl = nn.SparseLinear(6, 3):double()
    local vals = H.randn(4)
    local idx = torch.Tensor({ 6, 1, 3, 3 }):double()
    H.gradcheck(function(v) return sl(torch.stack({ idx, v }, 2)) end, { vals, sl.weight, sl.bias })
    local crit = nn.ClassSimplexCriterion(5)
    H.gradcheck(function(xx) return crit(xx, torch.LongTensor({ 5, 2 })) end, { H.randn(2, 5) })
  end)
end)

describe('fractional max pooling', function()
  it('new windows every forward unless fixed; ratios give floor(size * ratio); windows cover the input', function()
    torch.manualSeed(7)
    local m = nn.SpatialFractionalMaxPooling(2, 2, 0.5, 0.7)
    local x = torch.randn(2, 3, 10, 9)
    local y1 = m:forward(x):clone()
    assert.same({ 2, 3, 7, 4 }, y1:size():totable())   -- floor(10 * 0.7) x floor(9 * 0.5)
    local s1 = m.randomSamples:clone()
    m:forward(x)
    assert.is_true((m.randomSamples - s1):abs():max() > 0)
    m:fixPoolingRegions()
    local s2 = m.randomSamples:clone()
    local y2 = m:forward(x):clone()
    assert.equal(0, (m.randomSamples - s2):abs():max())
    assert.equal(0, (m:forward(x) - y2):abs():max())
    -- with out = in - k + 1 every window is the next one: plain max pooling with stride 1
    local full = nn.SpatialFractionalMaxPooling(2, 2, 9, 8):double()   -- outW 9, outH 8
    local xd = torch.randn(1, 2, 9, 10):double()
    H.close(full:forward(xd), torch._maxPool2d(xd, 2, 2, 1, 1, 0, 0, 1, 1, false), 0, 0)
  end)
end)

describe('connection tables', function()
  it('full, one to one and random have Torch7\'s rows', function()
    local f = nn.tables.full(2, 3)
    assert.same({ { 1, 1 }, { 2, 1 }, { 1, 2 }, { 2, 2 }, { 1, 3 }, { 2, 3 } }, f:totable())
    assert.same({ { 1, 1 }, { 2, 2 }, { 3, 3 } }, nn.tables.oneToOne(3):totable())
    torch.manualSeed(3)
    local r = nn.tables.random(5, 4, 2)
    assert.same({ 8, 2 }, r:size():totable())
    for o = 1, 4 do
      local a, b = r[2 * o - 1], r[2 * o]
      assert.equal(o, a[2])
      assert.equal(o, b[2])
      assert.are_not.equal(a[1], b[1])           -- distinct inputs per output
      assert.is_true(a[1] >= 1 and a[1] <= 5 and b[1] >= 1 and b[1] <= 5)
    end
    -- a full table gives nn.SpatialConvolution's function
    local m = nn.SpatialConvolutionMap(nn.tables.full(2, 3), 3, 3):double()
    local conv = nn.SpatialConvolution(2, 3, 3, 3):double()
    torch.noGrad(function()
      for k = 1, 6 do conv.weight[f[k][2]][f[k][1]]:copy(m.weight[k]) end
      conv.bias:copy(m.bias)
    end)
    local x = torch.randn(2, 2, 6, 5):double()
    H.close(m:forward(x), conv:forward(x), 1e-12, 1e-12)
  end)
end)

describe('LinearWeightNorm conversions and names', function()
  it('fromLinear / toLinear keep the function; PyTorch\'s parameter names', function()
    local l = nn.Linear(4, 3):double()
    local m = nn.LinearWeightNorm.fromLinear(l)
    local x = torch.randn(5, 4):double()
    H.close(m:forward(x), l:forward(x), 1e-12, 1e-12)
    H.close(m:toLinear():forward(x), l:forward(x), 1e-12, 1e-12)
    H.close(m.weight, l.weight, 1e-12, 1e-12)
    local sd = m:stateDict()
    assert.is_not_nil(sd.weight_v)
    assert.is_not_nil(sd.weight_g)
    assert.same({ 3, 1 }, sd.weight_g:size():totable())
  end)
end)

describe('argument errors', function()
  it('constructors and inputs name the module and the shapes', function()
    H.matches(H.error_of(nn.LinearWeightNorm, 0, 3), "bad argument #1 to 'nn.LinearWeightNorm'")
    H.matches(H.error_of(nn.SparseLinear, 3), "bad argument #2 to 'nn.SparseLinear'")
    H.matches(H.error_of(nn.SpatialConvolutionMap, torch.Tensor(3), 3, 3), "bad argument #1 to 'nn.SpatialConvolutionMap'")
    H.matches(H.error_of(nn.SpatialConvolutionLocal, 1, 1, 2, 2, 3, 3), "bad argument #5 to 'nn.SpatialConvolutionLocal'")
    H.matches(H.error_of(nn.SpatialSubtractiveNormalization, 1, torch.ones(4, 4)), 'odd sizes')
    H.matches(H.error_of(nn.ClassSimplexCriterion, 1), "bad argument #1 to 'nn.ClassSimplexCriterion'")
    H.matches(H.error_of(nn.tables.random, 3, 2, 4), "bad argument #3 to 'random'")
    H.matches(H.error_of(nn.VolumetricMaxUnpooling, nn.SpatialMaxPooling(2, 2)), "bad argument #1 to 'nn.VolumetricMaxUnpooling'")
    local vu = nn.VolumetricMaxUnpooling(nn.VolumetricMaxPooling(2, 2, 2))
    H.matches(H.error_of(function() return vu:forward(torch.randn(1, 1, 2, 2, 2)) end), 'has not run forward yet')
    H.matches(H.error_of(nn.VolumetricFullConvolution, 1, 1, 2, 2, 2, 1, 1, 1, 0, 0, 0, 1), "bad argument #12 to 'nn.VolumetricFullConvolution'")
    H.matches(H.error_of(nn.SpatialFractionalMaxPooling, 2, 2, 1.5, 0.5), "bad argument #3 to 'nn.SpatialFractionalMaxPooling'")
    local fm = nn.SpatialFractionalMaxPooling(3, 3, 5, 5)
    H.matches(H.error_of(function() return fm:forward(torch.randn(1, 6, 6)) end), 'too small for 5 windows of 3')
    local m = nn.SpatialConvolutionLocal(2, 3, 5, 5, 3, 3)
    H.matches(H.error_of(function() return m:forward(torch.randn(2, 4, 4)) end),
              'nn.SpatialConvolutionLocal: expected input of 2 x 5 x 5', '%[2 x 4 x 4%]')
    local s = nn.SparseLinear(4, 2)
    H.matches(H.error_of(function() return s:forward(torch.Tensor({ { 5, 1 } })) end), 'input index 5 is outside %[1, 4%]')
    H.matches(H.error_of(function() return nn.PartialLinear(3, 2):setPartition(torch.LongTensor({ 3 })) end),
              "bad argument #1 to 'setPartition'")
    H.matches(H.error_of(function() return nn.ClassSimplexCriterion(3):forward(torch.randn(2, 3), torch.LongTensor({ 1, 4 })) end),
              'class numbers in %[1, 3%]')
  end)
end)
