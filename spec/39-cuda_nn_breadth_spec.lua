-- Issue 22's Torch7 module set on device tensors: each module and criterion of spec 45, moved
-- with m:type('torch.CudaDoubleTensor'), gives the CPU's output, gradInput and parameter
-- gradients (both in float64, so within 1e-10). Pending without a device; in the
-- `make CUDA=emu` build the device is the host emulation and the names say so.
local torch = require 'torch'
local nn = require 'nn'
local H = require 'helpers'

local gpu_it = H.gpu_it
local DEV = 'torch.CudaDoubleTensor'

local function R(...) return torch.randn(...):double() end
local function P(...) return torch.rand(...):double():add(0.5) end

-- name -> function returning the module and its input (host, float64)
local modules = {
  Abs = function() return nn.Abs(), R(3, 4) end,
  HardTanh = function() return nn.HardTanh(-0.5, 0.5), R(3, 4) end,
  ELU = function() return nn.ELU(), R(3, 4) end,
  PReLU = function() return nn.PReLU(4), R(3, 4) end,
  RReLUEval = function() return nn.RReLU():evaluate(), R(3, 4) end,
  SoftPlus = function() return nn.SoftPlus(2, 3), R(3, 4) * 3 end,
  SoftShrink = function() return nn.SoftShrink(0.3), R(3, 4) end,
  HardShrink = function() return nn.HardShrink(0.3), R(3, 4) end,
  LogSigmoid = function() return nn.LogSigmoid(), R(3, 4) end,
  SoftMin = function() return nn.SoftMin(), R(3, 4) end,
  Power = function() return nn.Power(2.5), P(3, 4) end,
  GELU = function() return nn.GELU(), R(3, 4) end,
  Mish = function() return nn.Mish(), R(3, 4) end,
  Add = function() return nn.Add(4), R(3, 4) end,
  CMul = function() return nn.CMul(4), R(3, 4) end,
  Sum = function() return nn.Sum(2), R(3, 4) end,
  Max = function() return nn.Max(2), R(3, 4) end,
  Replicate = function() return nn.Replicate(2, 2), R(3, 4) end,
  Padding = function() return nn.Padding(2, -2, nil, 1.5), R(3, 4) end,
  Normalize = function() return nn.Normalize(2), R(3, 4) end,
  Cosine = function() return nn.Cosine(4, 2), R(3, 4) end,
  Euclidean = function() return nn.Euclidean(4, 2), R(3, 4) end,
  Bilinear = function() return nn.Bilinear(4, 3, 2), { R(2, 4), R(2, 3) } end,
  CosineDistance = function() return nn.CosineDistance(), { R(3, 4), R(3, 4) } end,
  PairwiseDistance = function() return nn.PairwiseDistance(1), { R(3, 4), R(3, 4) } end,
  MM = function() return nn.MM(false, true), { R(3, 4), R(2, 4) } end,
  GradientReversal = function() return nn.GradientReversal(2), R(3, 4) end,
  L1Penalty = function() return nn.L1Penalty(0.1), R(3, 4) end,
  Concat = function() return nn.Concat(2):add(nn.Linear(4, 2)):add(nn.Tanh()), R(3, 4) end,
  DepthConcat = function() return nn.DepthConcat(1):add(nn.Narrow(2, 2, 2)):add(nn.Identity()), R(3, 4) end,
  Parallel = function() return nn.Parallel(1, 1):add(nn.Linear(4, 2)):add(nn.Tanh()), R(2, 4) end,
  Bottle = function() return nn.Bottle(nn.Linear(4, 2)), R(2, 3, 4) end,
  MapTable = function() return nn.MapTable(nn.Linear(4, 2)), { R(3, 4), R(3, 4) } end,
  CMaxTable = function() return nn.CMaxTable(), { R(3, 4), R(3, 4) } end,
  WeightNorm = function() return nn.WeightNorm(nn.Linear(4, 3)), R(2, 4) end,
}

local function to_dev(x)
  if torch.isTensor(x) then return x:type(DEV) end
  local r = {}
  for i, v in ipairs(x) do r[i] = to_dev(v) end
  return r
end

local function close(a, e)
  if torch.isTensor(e) then
    assert(a:isCuda(), 'expected a device tensor')
    H.close(a:double(), e, 1e-10, 1e-12)
  else
    assert(#a == #e, ('%d results for %d'):format(#a, #e))
    for i = 1, #e do close(a[i], e[i]) end
  end
end

local function ones_like(y)
  if torch.isTensor(y) then return torch.Tensor():typeAs(y):resizeAs(y):fill(1) end
  local r = {}
  for i, v in ipairs(y) do r[i] = ones_like(v) end
  return r
end

describe('nn breadth on the device', function()
  local names = {}
  for name in pairs(modules) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    gpu_it(name .. ': the CPU results (float64)', function()
      torch.manualSeed(5)
      local m, x = modules[name]()
      m:double()
      local d = m:clone():type(DEV)
      local y = m:forward(x)
      m:zeroGradParameters()
      local gi = m:backward(x, ones_like(y))
      local _, grads = m:parameters()
      local xd = to_dev(x)
      d:zeroGradParameters()
      close(d:forward(xd), y)
      close(d:backward(xd, to_dev(ones_like(y))), gi)
      local _, dgrads = d:parameters()
      for i, g in ipairs(grads or {}) do close(dgrads[i], g) end
    end)
  end

  gpu_it('RReLU in training draws the CPU\'s slopes for the same seed', function()
    local x = R(4, 5)
    torch.manualSeed(9)
    local y = nn.RReLU():double():forward(x)
    torch.manualSeed(9)
    close(nn.RReLU():type(DEV):forward(x:type(DEV)), y)
  end)

  local criterions = {
    AbsCriterion = function() return nn.AbsCriterion(), R(3, 4), R(3, 4) end,
    SmoothL1Criterion = function() return nn.SmoothL1Criterion(), R(3, 4), R(3, 4) end,
    DistKLDivCriterion = function() return nn.DistKLDivCriterion(), torch.logSoftmax(R(3, 4), 2), torch.softmax(R(3, 4), 2) end,
    SoftMarginCriterion = function() return nn.SoftMarginCriterion(), R(3, 4), torch.sign(R(3, 4)) end,
    HingeEmbeddingCriterion = function() return nn.HingeEmbeddingCriterion(), R(3, 4), torch.sign(R(3, 4)) end,
    MultiMarginCriterion = function() return nn.MultiMarginCriterion(2), R(3, 4), torch.LongTensor({ 1, 4, 2 }) end,
    MultiLabelMarginCriterion = function()
      return nn.MultiLabelMarginCriterion(), R(2, 4), torch.LongTensor({ { 2, 3, 0, 0 }, { 4, 0, 1, 1 } })
    end,
    MultiLabelSoftMarginCriterion = function() return nn.MultiLabelSoftMarginCriterion(), R(3, 4), torch.gt(R(3, 4), 0):double() end,
    CosineEmbeddingCriterion = function()
      return nn.CosineEmbeddingCriterion(0.2), { R(3, 4), R(3, 4) }, torch.DoubleTensor({ 1, -1, 1 })
    end,
    MarginRankingCriterion = function()
      return nn.MarginRankingCriterion(0.1), { R(5), R(5) }, torch.DoubleTensor({ 1, -1, 1, 1, -1 })
    end,
    BCEWithLogitsCriterion = function() return nn.BCEWithLogitsCriterion(), R(3, 4), torch.gt(R(3, 4), 0):double() end,
  }
  local cnames = {}
  for name in pairs(criterions) do cnames[#cnames + 1] = name end
  table.sort(cnames)
  for _, name in ipairs(cnames) do
    gpu_it(name .. ': the CPU loss and gradient (float64)', function()
      local crit, x, t = criterions[name]()
      local loss = crit:forward(x, t)
      local g = crit:backward(x, t)
      local dcrit = criterions[name]():type(DEV)
      local xd = to_dev(x)
      local td = t:type() == 'torch.LongTensor' and t:cudaLong() or t:type(DEV)
      H.close(dcrit:forward(xd, td), loss, 1e-10, 1e-12)
      close(dcrit:backward(xd, td), g)
    end)
  end
end)
