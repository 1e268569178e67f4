-- The rest of issue 22's Torch7 modules (lua/nn/more.lua): forward, input and parameter
-- gradients against PyTorch (spec/fixtures/gen_nn_more.py) in both loop styles, a float64
-- gradcheck of each, the channel dropouts by their properties, PyTorch's aliases, and the
-- errors of wrong constructor arguments and inputs.
local torch = require 'torch'
local nn = require 'nn'
local H = require 'helpers'
local F = H.fixture('nn_more')

local function T(f) return H.tensor(f) end

-- fixture case -> the module; the unpooling's pooling runs forward on its fixture input first
local builders = {
  SpatialSoftMax = function() return nn.SpatialSoftMax() end,
  SpatialSoftMax3D = function() return nn.SpatialSoftMax() end,
  Softmax2d = function() return nn.Softmax2d() end,
  SpatialLogSoftMax = function() return nn.SpatialLogSoftMax() end,
  -- kW 3, kH 2, dW 2, dH 1, padW 1, padH 1, dilationW 1, dilationH 2
  SpatialDilatedMaxPooling = function() return nn.SpatialDilatedMaxPooling(3, 2, 2, 1, 1, 1, 1, 2) end,
  SpatialUpSamplingBilinear = function() return nn.SpatialUpSamplingBilinear(2) end,
  SpatialUpSamplingBilinearSize = function() return nn.SpatialUpSamplingBilinear({ oheight = 8, owidth = 4 }) end,
  CReLU = function() return nn.CReLU(3) end,
  CReLU1D = function() return nn.CReLU(1) end,
  GatedLinearUnit = function() return nn.GatedLinearUnit() end,
  GLU = function() return nn.GLU(2) end,
  WeightedEuclidean = function() return nn.WeightedEuclidean(5, 3) end,
  TemporalMaxPooling = function() return nn.TemporalMaxPooling(3, 2) end,
  TemporalMaxPooling2D = function() return nn.TemporalMaxPooling(2) end,
  TemporalSubSampling = function() return nn.TemporalSubSampling(4, 3, 2) end,
  SpatialSubSampling = function() return nn.SpatialSubSampling(4, 3, 2, 1, 2) end,
  PixelShuffle = function() return nn.PixelShuffle(2) end,
  PixelShuffle3D = function() return nn.PixelShuffle(3) end,
  SpatialLPPooling = function() return nn.SpatialLPPooling(3, 2, 3, 2, 2, 2) end,
  LPPool2d = function() return nn.LPPool2d(3, 2) end,
  SpatialCrossMapLRN = function() return nn.SpatialCrossMapLRN(3, 0.5, 0.75, 2) end,
  SpatialCrossMapLRN3D = function() return nn.SpatialCrossMapLRN(5, 1) end,
  LocalResponseNorm = function() return nn.LocalResponseNorm(4, 0.3, 0.5, 1.5) end,
  -- kT 2, kW 3, kH 2, dT 1, dW 2, dH 2, padding 1 each
  VolumetricMaxPooling = function() return nn.VolumetricMaxPooling(2, 3, 2, 1, 2, 2, 1, 1, 1) end,
  VolumetricMaxPoolingCeil = function() return nn.VolumetricMaxPooling(2, 2, 2):ceil() end,
  MaxPool3d = function() return nn.MaxPool3d({ 2, 2, 3 }, { stride = 2, dilation = { 1, 2, 1 } }) end,
  -- k 2, stride 1, padT 1, padW 1, padH 0, dilationT 2, dilationW 2, dilationH 1
  VolumetricDilatedMaxPooling = function() return nn.VolumetricDilatedMaxPooling(2, 2, 2, 1, 1, 1, 1, 1, 0, 2, 2, 1) end,
  VolumetricAveragePooling = function() return nn.VolumetricAveragePooling(2, 3, 2, 1, 2, 1) end,
  VolumetricReplicationPadding = function() return nn.VolumetricReplicationPadding(1, 2, 0, 1, 2, 0) end,
  ReplicationPad3d = function() return nn.ReplicationPad3d(1) end,
  SpatialDepthWiseConvolution = function() return nn.SpatialDepthWiseConvolution(3, 2, 3, 2, 1, 2, 1, 0) end,
  TemporalRowConvolution = function() return nn.TemporalRowConvolution(4, 3, 2) end,
  TemporalRowConvolutionFeatFirst = function() return nn.TemporalRowConvolution(4, 2, 1, true) end,
  -- kT 2, kW 2, kH 3, dT 2, dW 2, dH 1, padT 1, padW 1, padH 0
  VolumetricConvolution = function() return nn.VolumetricConvolution(2, 3, 2, 2, 3, 2, 2, 1, 1, 1, 0) end,
  -- k 2, stride 1, padT 1, padW 0, padH 1, dilationT 2, dilationW 2, dilationH 1
  VolumetricDilatedConvolution = function() return nn.VolumetricDilatedConvolution(2, 2, 2, 2, 2, 1, 1, 1, 1, 0, 1, 2, 2, 1) end,
  Conv3d = function() return nn.Conv3d(2, 2, 3, { padding = 1, bias = false }) end,
  TemporalDynamicKMaxPooling = function() return nn.TemporalDynamicKMaxPooling(3, 0.5) end,
  TemporalDynamicKMaxPooling2D = function() return nn.TemporalDynamicKMaxPooling(2) end,
  SpatialMaxUnpooling = function(c)
    local pool = nn.SpatialMaxPooling(2, 2):double()
    pool:forward(T(c.poolInput))
    return nn.SpatialMaxUnpooling(pool)
  end,
}

local function named(m, name)
  for _, e in ipairs(m:namedParameters()) do
    if e[1] == name then return e end
  end
  error('no parameter named ' .. name)
end

local function build(name, c)
  local m = builders[name](c):double()
  for pname, f in pairs(c.params) do
    local p = named(m, pname)[2]
    torch.noGrad(function() p:copy(T(f)) end)
  end
  m:zeroGradParameters()
  return m
end

local function check_params(m, c)
  for pname, f in pairs(c.gradParams) do H.close(named(m, pname)[3], T(f), 1e-10, 1e-10) end
end

describe('nn more: modules vs PyTorch', function()
  local names = {}
  for name in pairs(builders) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local c = assert(F.modules[name], 'no fixture for ' .. name)

    it(name .. ': Torch7 forward/backward', function()
      local m = build(name, c)
      local x = T(c.inputs[1])
      H.close(m:forward(x), T(c.output), 1e-10, 1e-10)
      H.close(m:backward(x, T(c.gradOutput)), T(c.gradInputs[1]), 1e-10, 1e-10)
      check_params(m, c)
    end)

    it(name .. ': PyTorch-style call and backward', function()
      local m = build(name, c)
      local x = T(c.inputs[1])
      x.requiresGrad = true
      local y = m(x)
      H.close(y, T(c.output), 1e-10, 1e-10)
      y:backward(T(c.gradOutput))
      H.close(x.grad, T(c.gradInputs[1]), 1e-10, 1e-10)
      check_params(m, c)
    end)
  end

  it('DistanceRatioCriterion (no target) and SpatialAutoCropMSECriterion', function()
    for name, crit in pairs({ DistanceRatioCriterion = nn.DistanceRatioCriterion(),
                              DistanceRatioCriterionSum = nn.DistanceRatioCriterion(false) }) do
      local c = F.criterions[name]
      local X, Y = T(c.inputs[1]), T(c.inputs[2])
      H.close(crit:forward({ X, Y }), c.loss.data[1], 1e-12, 1e-12)
      local g = crit:backward({ X, Y })
      H.close(g[1], T(c.gradInputs[1]), 1e-12, 1e-12)
      H.close(g[2], T(c.gradInputs[2]), 1e-12, 1e-12)
      local lx = X:clone()
      lx.requiresGrad = true
      crit({ lx, Y }):backward()
      H.close(lx.grad, T(c.gradInputs[1]), 1e-12, 1e-12)
    end
    local c = F.criterions.SpatialAutoCropMSECriterion
    local crit = nn.SpatialAutoCropMSECriterion()
    local x, t = T(c.inputs[1]), T(c.target)
    H.close(crit:forward(x, t), c.loss.data[1], 1e-12, 1e-12)
    H.close(crit:backward(x, t), T(c.gradInputs[1]), 1e-12, 1e-12)
    -- unbatched, and the sum
    local d = x[2] - t[2]:narrow(2, 2, 4):narrow(3, 2, 3)   -- rows 2..5, columns 2..4 of 7 x 6
    H.close(nn.SpatialAutoCropMSECriterion(false):forward(x[2], t[2]), torch.cmul(d, d):sum(), 1e-12, 0)
  end)

  it('L1HingeEmbeddingCriterion: the loss and gradients for y = 1 and y = -1', function()
    for _, name in ipairs({ 'L1HingePositive', 'L1HingeNegative' }) do
      local c = F.criterions[name]
      local crit = nn.L1HingeEmbeddingCriterion(c.margin)
      local a, b = T(c.inputs[1]), T(c.inputs[2])
      H.close(crit:forward({ a, b }, c.target), c.loss.data[1], 1e-12, 1e-12)
      local g = crit:backward({ a, b }, c.target)
      H.close(g[1], T(c.gradInputs[1]), 1e-12, 1e-12)
      H.close(g[2], T(c.gradInputs[2]), 1e-12, 1e-12)
      -- PyTorch style, the target as a one-element tensor
      local la, lb = a:clone(), b:clone()
      la.requiresGrad, lb.requiresGrad = true, true
      local loss = crit({ la, lb }, torch.DoubleTensor({ c.target }))
      loss:backward()
      H.close(loss:item(), c.loss.data[1], 1e-12, 1e-12)
      H.close(lb.grad, T(c.gradInputs[2]), 1e-12, 1e-12)
    end
    -- beyond the margin: no loss, no gradient
    local crit = nn.L1HingeEmbeddingCriterion()
    local a = torch.DoubleTensor({ 0, 0 })
    assert.equal(0, crit:forward({ a, torch.DoubleTensor({ 1, 2 }) }, -1))
    H.close(crit:backward({ a, torch.DoubleTensor({ 1, 2 }) }, -1)[1], torch.zeros(2):double(), 0, 0)
  end)
end)

describe('nn more: float64 gradcheck', function()
  local function gc(m, x, extra)
    m:double()
    local inputs = { x }
    for _, p in ipairs(extra or {}) do inputs[#inputs + 1] = p end
    H.gradcheck(function(v) return m(v) end, inputs)
  end

  it('softmaxes, pooling, up-sampling, shuffles', function()
    torch.manualSeed(3)
    gc(nn.SpatialSoftMax(), H.randn(2, 3, 2, 3))
    gc(nn.SpatialLogSoftMax(), H.randn(3, 2, 3))
    gc(nn.SpatialDilatedMaxPooling(2, 2, 1, 1, 1, 0, 2, 1), H.randn(1, 2, 4, 5))
    gc(nn.SpatialUpSamplingBilinear(3), H.randn(1, 2, 2, 3))
    gc(nn.TemporalMaxPooling(2, 1), H.randn(2, 5, 3))
    gc(nn.TemporalDynamicKMaxPooling(2, 0.5), H.randn(2, 6, 3))
    gc(nn.PixelShuffle(2), H.randn(1, 8, 2, 3))
    gc(nn.SpatialLPPooling(2, 2, 2, 2), H.pos(1, 2, 4, 4))
    gc(nn.LPPool2d(3, { 2, 1 }, { stride = 1 }), H.pos(2, 3, 3))
    gc(nn.SpatialCrossMapLRN(3, 0.5, 0.75, 2), H.randn(2, 4, 2, 3))
    gc(nn.LocalResponseNorm(2, 0.5, 0.75, 1), H.randn(2, 3, 4))
    gc(nn.VolumetricMaxPooling(2, 2, 2, 1, 1, 1, 1, 0, 1), H.randn(1, 2, 3, 3, 3))
    gc(nn.VolumetricAveragePooling(2, 1, 2, 1, 1, 1), H.randn(2, 3, 2, 3))
    gc(nn.VolumetricReplicationPadding(1, 0, 2, 1, 0, 1), H.randn(1, 2, 2, 2, 2))
  end)

  it('CReLU, GatedLinearUnit, Copy', function()
    gc(nn.CReLU(2), H.randn(3, 4, 2))
    gc(nn.GatedLinearUnit(1), H.randn(4, 3))
    gc(nn.Copy('torch.DoubleTensor', 'torch.DoubleTensor', true), H.randn(3, 2))
  end)

  it('the modules with parameters, with respect to them too', function()
    local we = nn.WeightedEuclidean(4, 3):double()
    gc(we, H.randn(5, 4), { we.weight, we.diagCov })
    local ts = nn.TemporalSubSampling(3, 2, 1):double()
    gc(ts, H.randn(6, 3), { ts.weight, ts.bias })
    local ss = nn.SpatialSubSampling(2, 2, 3, 1, 2):double()
    gc(ss, H.randn(2, 2, 5, 3), { ss.weight, ss.bias })
    local dw = nn.SpatialDepthWiseConvolution(2, 2, 2, 2, 1, 1, 1, 1):double()
    gc(dw, H.randn(1, 2, 3, 3), { dw.weight, dw.bias })
    local row = nn.TemporalRowConvolution(3, 2, 2):double()
    gc(row, H.randn(5, 3), { row.weight, row.bias })
    local vc = nn.VolumetricDilatedConvolution(2, 2, 2, 2, 1, 1, 1, 1, 1, 0, 1, 2, 1, 1):double()
    gc(vc, H.randn(1, 2, 4, 3, 3), { vc.weight, vc.bias })
  end)

  it('max unpooling, channel dropout (one mask for every call), the L1 hinge', function()
    local pool = nn.SpatialMaxPooling(2, 2, 2, 2):double()
    pool:forward(torch.randn(2, 3, 4, 6):double())
    gc(nn.SpatialMaxUnpooling(pool), H.randn(2, 3, 2, 3))
    local drop = nn.SpatialDropout(0.5):double()
    H.gradcheck(function(v) torch.manualSeed(5) return drop(v) end, { H.randn(2, 4, 2, 2) })
    local crit = nn.L1HingeEmbeddingCriterion(20)
    H.gradcheck(function(a, b) return crit({ a, b }, -1) end, { H.randn(4), H.randn(4) })
    H.gradcheck(function(a, b) return crit({ a, b }, 1) end, { H.randn(4), H.randn(4) })
    local ratio = nn.DistanceRatioCriterion()
    H.gradcheck(function(a, b) return ratio({ a, b }) end, { H.pos(5), H.pos(5) })
    local crop = nn.SpatialAutoCropMSECriterion()
    local target = torch.randn(2, 5, 4):double()
    H.gradcheck(function(a) return crop(a, target) end, { H.randn(2, 3, 3) })
  end)
end)

describe('nn more: channel dropout', function()
  for _, case in ipairs({ { 'SpatialDropout', { 8, 16, 3, 3 } }, { 'VolumetricDropout', { 8, 16, 2, 2, 2 } } }) do
    it(case[1] .. ' drops whole channels, scales the rest by 1/(1-p), is the identity in evaluate()', function()
      torch.manualSeed(11)
      local m = nn[case[1]](0.25):double()
      local x = torch.rand(table.unpack(case[2])):double():add(1)   -- no zeros of its own
      local y = m:forward(x)
      local kept, dropped = 0, 0
      for n = 1, x:size(1) do
        for ch = 1, x:size(2) do
          local xs, ys = x[n][ch], y[n][ch]
          if ys:abs():max() == 0 then
            dropped = dropped + 1
          else
            H.close(ys, xs / 0.75, 1e-12, 0)   -- every element of the channel kept
            kept = kept + 1
          end
        end
      end
      assert.equal(128, kept + dropped)
      assert.is_true(dropped > 16 and dropped < 48, 'dropped ' .. dropped .. ' of 128 at p = 0.25')
      -- the gradient is the mask
      local g = m:backward(x, torch.ones(x:size()):double())
      H.close(g, torch.cdiv(y, x), 1e-12, 1e-12)
      -- unbatched: C x H x W (C x T x H x W)
      local one = m:forward(x[1])
      assert.same(x[1]:size():totable(), one:size():totable())
      m:evaluate()
      H.close(m:forward(x), x, 0, 0)
    end)
  end

  it('PyTorch names: Dropout2d, Dropout3d; p = 0 passes the input', function()
    assert.equal(nn.SpatialDropout, nn.Dropout2d)
    assert.equal(nn.VolumetricDropout, nn.Dropout3d)
    local x = torch.randn(2, 3, 2, 2):double()
    H.close(nn.Dropout2d(0):forward(x), x, 0, 0)
    -- stochasticInference: still drops in evaluate(); setp changes p
    torch.manualSeed(2)
    local m = nn.SpatialDropout(0.5, true):double():evaluate()
    local y = m:forward(torch.ones(4, 32, 2, 2):double())
    assert.is_true(y:eq(0):sum() > 0 and y:eq(2):sum() > 0)
    assert.equal(0, m:setp(0):forward(x):ne(x):sum())
    H.matches(H.error_of(function() m:setp(2) end), "bad argument #1 to 'nn.SpatialDropout'", 'p must be in')
    H.matches(H.error_of(function() nn.SpatialDropout(0.5, 1) end), "bad argument #2 to 'nn.SpatialDropout'")
  end)
end)

describe('nn more: names, sizes and Torch7 details', function()
  it('aliases are the same classes', function()
    assert.equal(nn.SpatialSoftMax, nn.Softmax2d)
    assert.equal(nn.GatedLinearUnit, nn.GLU)
    assert.is_true(torch.isTypeOf(nn.LocalResponseNorm(3), 'nn.SpatialCrossMapLRN'))
    assert.is_true(torch.isTypeOf(nn.MaxPool3d(2), 'nn.VolumetricMaxPooling'))
    assert.is_true(torch.isTypeOf(nn.Conv3d(1, 1, 1), 'nn.VolumetricConvolution'))
    -- noBias drops the bias of the convolutions here
    local row = nn.TemporalRowConvolution(2, 2):noBias():double()
    assert.is_nil(row.bias)
    assert.equal(4, row:getParameters():nElement())
    H.close(row:forward(torch.ones(3, 2):double()), torch.cat({ row.weight:sum(3):view(1, 2), row.weight:sum(3):view(1, 2) }, 1), 1e-12, 0)
    assert.is_true(torch.isTypeOf(nn.ReplicationPad3d(1), 'nn.VolumetricReplicationPadding'))
    assert.is_true(torch.isTypeOf(nn.LPPool2d(2, 2), 'nn.SpatialLPPooling'))
    assert.is_true(torch.isTypeOf(nn.SpatialDilatedMaxPooling(2, 2), 'nn.SpatialMaxPooling'))
  end)

  it('SpatialUpSamplingBilinear: Torch7 sizes, C x H x W input', function()
    local y = nn.SpatialUpSamplingBilinear(4):forward(torch.randn(2, 3, 5))
    assert.same({ 2, 9, 17 }, y:size():totable())
    -- the corners are the input's
    local x = torch.DoubleTensor({ { { 1, 2 }, { 3, 4 } } })
    H.close(nn.SpatialUpSamplingBilinear(2):forward(x),
            torch.DoubleTensor({ { { 1, 1.5, 2 }, { 2, 2.5, 3 }, { 3, 3.5, 4 } } }), 1e-12, 0)
  end)

  it('Copy converts types both ways, passes the same type through, honours dontCast', function()
    local x = torch.randn(2, 3):double()
    local m = nn.Copy('torch.DoubleTensor', 'torch.FloatTensor')
    local y = m:forward(x)
    assert.equal('torch.FloatTensor', y:type())
    H.close(y:double(), x, 1e-6, 1e-6)
    local g = m:backward(x, torch.ones(2, 3):float())
    assert.equal('torch.DoubleTensor', g:type())
    -- the same type: the input itself (a write shows through), or a copy with forceCopy
    local same = nn.Copy('torch.DoubleTensor', 'torch.DoubleTensor'):forward(x)
    local forced = nn.Copy('torch.DoubleTensor', 'torch.DoubleTensor', true):forward(x)
    H.close(forced, x, 0, 0)
    x[1][1] = 42
    assert.equal(42, same[1][1])
    assert.are_not.equal(42, forced[1][1])
    local fixed = nn.Copy('torch.DoubleTensor', 'torch.FloatTensor', false, true):double()
    assert.equal('torch.FloatTensor', fixed:forward(x):type())
  end)

  it('SpatialMaxUnpooling puts each max back where it was', function()
    local pool = nn.SpatialMaxPooling(2, 2)
    local x = torch.DoubleTensor({ { { 1, 5, 2, 0 }, { 3, 4, 8, 1 } } })   -- 1 x 2 x 4
    local p = pool:double():forward(x)
    H.close(p, torch.DoubleTensor({ { { 5, 8 } } }), 0, 0)
    local u = nn.SpatialMaxUnpooling(pool):forward(p)
    H.close(u, torch.DoubleTensor({ { { 0, 5, 0, 0 }, { 0, 0, 8, 0 } } }), 0, 0)
  end)

  it('print forms', function()
    assert.equal('nn.PixelShuffle(2)', tostring(nn.PixelShuffle(2)))
    assert.equal('nn.TemporalMaxPooling(3, 3)', tostring(nn.TemporalMaxPooling(3)))
    assert.equal('nn.SpatialDropout(0.5)', tostring(nn.SpatialDropout()))
  end)
end)

describe('nn more: errors', function()
  local function err(fn, ...) H.matches(H.error_of(fn), ...) end

  it('constructors name the argument', function()
    err(function() nn.SpatialDropout('a') end, "bad argument #1 to 'nn.SpatialDropout'", 'number expected')
    err(function() nn.Dropout3d(1) end, "bad argument #1 to 'nn.VolumetricDropout'", 'p must be in')
    err(function() nn.SpatialDilatedMaxPooling(2, 2, 1, 1, 0, 0, 0) end,
        "bad argument #7 to 'nn.SpatialDilatedMaxPooling'", 'positive')
    err(function() nn.SpatialUpSamplingBilinear(0) end, "bad argument #1 to 'nn.SpatialUpSamplingBilinear'")
    err(function() nn.SpatialUpSamplingBilinear({ oheight = 3 }) end, 'nn.SpatialUpSamplingBilinear', 'owidth')
    err(function() nn.CReLU() end, "bad argument #1 to 'nn.CReLU'")
    err(function() nn.GLU(0) end, "bad argument #1 to 'nn.GatedLinearUnit'")
    err(function() nn.Copy('torch.NoTensor') end, "bad argument #1 to 'nn.Copy'", 'torch.NoTensor')
    err(function() nn.WeightedEuclidean(3) end, "bad argument #2 to 'nn.WeightedEuclidean'")
    err(function() nn.TemporalMaxPooling(2.5) end, "bad argument #1 to 'nn.TemporalMaxPooling'")
    err(function() nn.TemporalSubSampling(4, -1) end, "bad argument #2 to 'nn.TemporalSubSampling'")
    err(function() nn.SpatialSubSampling(4, 2) end, "bad argument #3 to 'nn.SpatialSubSampling'")
    err(function() nn.PixelShuffle() end, "bad argument #1 to 'nn.PixelShuffle'")
    err(function() nn.SpatialLPPooling(2, -1, 2, 2) end, "bad argument #2 to 'nn.SpatialLPPooling'")
    err(function() nn.LPPool2d(2, 2, { strides = 1 }) end, 'nn.LPPool2d', "unknown option 'strides'")
    err(function() nn.SpatialMaxUnpooling(nn.Linear(2, 2)) end, "bad argument #1 to 'nn.SpatialMaxUnpooling'",
        'nn.SpatialMaxPooling expected, got nn.Linear')
    err(function() nn.SpatialCrossMapLRN(0) end, "bad argument #1 to 'nn.SpatialCrossMapLRN'")
    err(function() nn.LocalResponseNorm(3, 'a') end, "bad argument #2 to 'nn.LocalResponseNorm'")
    err(function() nn.VolumetricMaxPooling(2, 2) end, "bad argument #3 to 'nn.VolumetricMaxPooling'")
    err(function() nn.MaxPool3d({ 2, 2 }) end, "bad argument #1 to 'nn.MaxPool3d'", 'table of 2')
    err(function() nn.VolumetricDilatedMaxPooling(2, 2, 2, 1, 1, 1, 0, 0, 0, 0) end,
        "bad argument #10 to 'nn.VolumetricDilatedMaxPooling'")
    err(function() nn.VolumetricDilatedMaxPooling(2, 3, 0) end, "bad argument #3 to 'nn.VolumetricDilatedMaxPooling'")
    err(function() nn.SpatialAutoCropMSECriterion('x') end, "bad argument #1 to 'nn.SpatialAutoCropMSECriterion'")
    err(function() nn.VolumetricAveragePooling(2, 2, 0) end, "bad argument #3 to 'nn.VolumetricAveragePooling'")
    err(function() nn.VolumetricReplicationPadding(-1) end, "bad argument #1 to 'nn.VolumetricReplicationPadding'")
    err(function() nn.ReplicationPad3d({ 1, 2 }) end, "bad argument #1 to 'nn.ReplicationPad3d'")
    err(function() nn.SpatialDepthWiseConvolution(3, 2, 3) end, "bad argument #4 to 'nn.SpatialDepthWiseConvolution'")
    err(function() nn.TemporalRowConvolution(3, 2, 1, 'yes') end, "bad argument #4 to 'nn.TemporalRowConvolution'")
    err(function() nn.VolumetricConvolution(2, 2, 2, 2) end, "bad argument #5 to 'nn.VolumetricConvolution'")
    err(function() nn.VolumetricDilatedConvolution(2, 2, 2, 2, 2, 1, 1, 1, 0, 0, 0, 0) end,
        "bad argument #12 to 'nn.VolumetricDilatedConvolution'")
    err(function() nn.Conv3d(2, 2, { 3, 3 }) end, "bad argument #3 to 'nn.Conv3d'", 'table of 2')
    err(function() nn.Conv3d(2, 2, 3, { groups = 2 }) end, 'nn.Conv3d', 'groups')
    err(function() nn.TemporalDynamicKMaxPooling(0) end, "bad argument #1 to 'nn.TemporalDynamicKMaxPooling'")
    err(function() nn.TemporalDynamicKMaxPooling(2, 1.5) end, "bad argument #2 to 'nn.TemporalDynamicKMaxPooling'", 'factor')
    err(function() nn.DistanceRatioCriterion(1) end, "bad argument #1 to 'nn.DistanceRatioCriterion'")
    err(function() nn.L1HingeEmbeddingCriterion('x') end, "bad argument #1 to 'nn.L1HingeEmbeddingCriterion'")
  end)

  it('wrong inputs name the module and the shape', function()
    err(function() nn.SpatialDropout():forward(torch.randn(3, 4)) end, 'nn.SpatialDropout', '3 x 4')
    err(function() nn.SpatialSoftMax():forward(torch.randn(1, 2, 3, 4, 5)) end, 'nn.SpatialSoftMax', '1 x 2 x 3 x 4 x 5')
    err(function() nn.CReLU(2):forward(torch.randn(4)) end, 'nn.CReLU', '[4]')
    err(function() nn.GLU(1):forward(torch.randn(3, 4)) end, 'nn.GatedLinearUnit', 'halves', '3 x 4')
    err(function() nn.GLU(3):forward(torch.randn(3, 4)) end, 'nn.GatedLinearUnit', 'out of range')
    err(function() nn.WeightedEuclidean(4, 2):forward(torch.randn(2, 3)) end, 'nn.WeightedEuclidean', '2 x 3')
    err(function() nn.TemporalMaxPooling(4):forward(torch.randn(3, 2)) end, 'nn.TemporalMaxPooling', 'fewer')
    err(function() nn.TemporalSubSampling(4, 2):forward(torch.randn(5, 3)) end, 'nn.TemporalSubSampling', '5 x 3')
    err(function() nn.SpatialSubSampling(3, 2, 2):forward(torch.randn(2, 4, 4)) end, 'nn.SpatialSubSampling', '2 x 4 x 4')
    err(function() nn.PixelShuffle(2):forward(torch.randn(3, 2, 2)) end, 'nn.PixelShuffle', '3 channels')
    err(function() nn.SpatialLPPooling(2, 2, 3, 3):forward(torch.randn(2, 2, 2)) end, 'nn.SpatialLPPooling', '2 x 2 x 2')
    err(function() nn.SpatialCrossMapLRN(3):forward(torch.randn(2, 3)) end, 'nn.SpatialCrossMapLRN', '2 x 3')
    err(function() nn.SpatialMaxUnpooling(nn.SpatialMaxPooling(2, 2)):forward(torch.randn(1, 2, 2)) end,
        'nn.SpatialMaxUnpooling', 'has not run forward')
    local pool = nn.SpatialMaxPooling(2, 2)
    pool:forward(torch.randn(1, 4, 4))
    err(function() nn.SpatialMaxUnpooling(pool):forward(torch.randn(1, 3, 2)) end,
        'nn.SpatialMaxUnpooling', '1 x 3 x 2', 'last output')
    err(function() nn.SpatialSoftMax():forward('x') end, "bad argument #1 to 'forward'", 'got string')
    err(function() nn.SpatialSoftMax():forward(torch.LongTensor(2, 2)) end, 'nn.SpatialSoftMax', 'LongTensor')
    err(function() nn.VolumetricMaxPooling(2, 2, 2):forward(torch.randn(2, 3, 4)) end, 'nn.VolumetricMaxPooling', '2 x 3 x 4')
    err(function() nn.VolumetricAveragePooling(3, 3, 3):forward(torch.randn(1, 2, 4, 4)) end,
        'nn.VolumetricAveragePooling', 'smaller than')
    err(function() nn.SpatialDepthWiseConvolution(3, 2, 2, 2):forward(torch.randn(2, 4, 4)) end,
        'nn.SpatialDepthWiseConvolution', 'expected 3 input planes', '2 x 4 x 4')
    err(function() nn.TemporalRowConvolution(3, 2):forward(torch.randn(4, 2)) end, 'nn.TemporalRowConvolution', '4 x 2')
    err(function() nn.VolumetricConvolution(2, 2, 3, 1, 1):forward(torch.randn(2, 2, 2, 2)) end,
        'nn.VolumetricConvolution', 'shorter than the kernel')
    err(function() nn.VolumetricConvolution(2, 2, 1, 1, 1):forward(torch.randn(3, 2, 2, 2)) end,
        'nn.VolumetricConvolution', 'expected 2 input planes')
    err(function() nn.TemporalDynamicKMaxPooling(4):forward(torch.randn(3, 2)) end,
        'nn.TemporalDynamicKMaxPooling', 'fewer than k = 4', '3 x 2')
    err(function() nn.ReplicationPad3d(1):forward(torch.randn(2, 2)) end, 'nn.ReplicationPad3d', '2 x 2')
    err(function() nn.DistanceRatioCriterion():forward({ torch.randn(3), torch.randn(2) }) end,
        'nn.DistanceRatioCriterion', '[3]', '[2]')
    err(function() nn.SpatialAutoCropMSECriterion():forward(torch.randn(2, 5, 5), torch.randn(2, 4, 6)) end,
        'nn.SpatialAutoCropMSECriterion', 'at least its height')
    local crit = nn.L1HingeEmbeddingCriterion()
    err(function() crit:forward({ torch.randn(3), torch.randn(4) }, 1) end, 'nn.L1HingeEmbeddingCriterion', '[3]', '[4]')
    err(function() crit:forward({ torch.randn(3), torch.randn(3) }, 0) end, 'nn.L1HingeEmbeddingCriterion', 'the target must be 1 or %-1, got 0')
    err(function() crit:forward(torch.randn(3), 1) end, 'nn.L1HingeEmbeddingCriterion', 'table of two tensors')
  end)
end)
