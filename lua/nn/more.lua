-- The rest of issue 22's Torch7 modules (doc/{simple,transfer,convolution,criterion}.md), in
-- Torch7's constructors, PyTorch's names as aliases where PyTorch has the module:
--
--   nn.SpatialDropout(p) / nn.Dropout2d, nn.VolumetricDropout(p) / nn.Dropout3d
--   nn.SpatialSoftMax() / nn.Softmax2d, nn.SpatialLogSoftMax()      over the channel dim
--   nn.SpatialDilatedMaxPooling(kW, kH [, dW, dH, padW, padH, dilationW, dilationH])
--   nn.SpatialUpSamplingBilinear(scale | {oheight = h, owidth = w})   corners aligned
--   nn.CReLU(nInputDims), nn.GatedLinearUnit([dim]) / nn.GLU, nn.Copy(intype, outtype)
--   nn.WeightedEuclidean(inputSize, outputSize)
--   nn.TemporalMaxPooling(kW [, dW]), nn.TemporalSubSampling(frameSize, kW [, dW])
--   nn.SpatialSubSampling(nInputPlane, kW, kH [, dW, dH]), nn.PixelShuffle(r)
--   nn.SpatialLPPooling(nInputPlane, p, kW, kH [, dW, dH]) / nn.LPPool2d(p, k [, {stride}])
--   nn.SpatialMaxUnpooling(poolingModule), nn.L1HingeEmbeddingCriterion([margin])
--   nn.SpatialCrossMapLRN(size [, alpha, beta, k]) / nn.LocalResponseNorm
--
-- Each is written on the existing kernels (max / average pooling of core/conv.c, softmax,
-- bilinear up-sampling of spatial.lua) and tensor ops, so autograd gives the backward;
-- max unpooling, whose gradient is a gather of its scatter, is a torch.autograd.Function.
-- The dropouts are inverted (scaled by 1/(1-p) in training), as nn.Dropout here and PyTorch.
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local function shape_str(t) return table.concat(t:size():totable(), ' x ') end

-- a float tensor of one of the dim counts in `dims` (a set), else an error naming the module
local function input_of(self, input, dims, what, level)
  local name = torch.typename(self)
  level = (level or 1) + 1
  if not torch.isTensor(input) or not pcall(input.dim, input) then
    error(('%s: expected a tensor input, got %s'):format(name, torch.typename(input) or type(input)), level)
  end
  if not nn._floatingTypes[input:type()] then
    error(('%s: expected a FloatTensor or DoubleTensor input, got %s'):format(name, input:type()), level)
  end
  if not dims[input:dim()] then
    error(('%s: expected a %s input, got [%s]'):format(name, what, shape_str(input)), level)
  end
  return input
end

local function positive(fname, i, v, level)
  v = check.arg(fname, i, v, 'integer', (level or 1) + 1)
  if v < 1 then check.argerror(fname, i, ('expected a positive size, got %d'):format(v), (level or 1) + 1) end
  return v
end

local function new_param(self, name, ...)
  self[name] = torch.Tensor(...)
  self['grad' .. name:sub(1, 1):upper() .. name:sub(2)] = torch.Tensor(...):zero()
end

-- ---- channel dropout --------------------------------------------------------------------------
-- one mask value per (sample, channel): whole feature maps are dropped, as Torch7's
-- SpatialDropout (C x H x W or N x C x H x W) and VolumetricDropout (C x T x H x W or
-- N x C x T x H x W)
local function channel_dropout(name, nd, what)
  local D, DP = torch.class(name, 'nn.Module')
  -- (p [, stochasticInference = false]): stochasticInference drops in evaluate() too
  function D:__init(p, stochasticInference)
    DP.__init(self)
    self:setp(p == nil and 0.5 or p, 2)
    self.stochastic_inference = check.arg(name, 2, stochasticInference, 'boolean?', 2) or false
  end
  function D:setp(p, level)
    self.p = check.arg(name, 1, p, 'number', level or 2)
    if not (self.p >= 0 and self.p < 1) then
      check.argerror(name, 1, ('p must be in [0, 1), got %s'):format(tostring(self.p)), level or 2)
    end
    return self
  end
  function D:updateOutput(input)
    input_of(self, input, { [nd + 1] = true, [nd + 2] = true }, what, 3)
    if not (self.train or self.stochastic_inference) or self.p == 0 then
      self.output = input
      return input
    end
    local size = input:size():totable()
    local first = input:dim() == nd + 2 and 3 or 2   -- the dims past the channel's get 1
    for d = first, #size do size[d] = 1 end
    self.noise = torch.noGrad(function()
      return torch.Tensor():typeAs(input):resize(table.unpack(size)):bernoulli(1 - self.p):div(1 - self.p)
    end)
    self.output = torch.cmul(input, self.noise:expandAs(input))
    return self.output
  end
  function D:_clearState() self.noise = nil end
  function D:__tostring__() return ('%s(%g)'):format(name, self.p) end
  return D
end
nn.Dropout2d = channel_dropout('nn.SpatialDropout', 2, '3D (C x H x W) or 4D (N x C x H x W)')
nn.Dropout3d = channel_dropout('nn.VolumetricDropout', 3, '4D (C x T x H x W) or 5D (N x C x T x H x W)')

-- ---- softmax over the channels ----------------------------------------------------------------
-- dim 1 of a C x H x W (or 1-D) input, dim 2 of N x C x H x W (or N x C), as Torch7
local function spatial_softmax(name, fn)
  local S, SP = torch.class(name, 'nn.Module')
  function S:__init() SP.__init(self) end
  function S:updateOutput(input)
    input_of(self, input, { true, true, true, true }, '1D to 4D ([N x] C [x H x W])', 3)
    local d = input:dim()
    self.output = fn(input, (d == 1 or d == 3) and 1 or 2)
    return self.output
  end
  return S
end
nn.Softmax2d = spatial_softmax('nn.SpatialSoftMax', torch.softmax)
spatial_softmax('nn.SpatialLogSoftMax', torch.logSoftmax)

-- ---- pooling and up-sampling on the existing kernels --------------------------------------------
-- nn.SpatialDilatedMaxPooling(kW, kH [, dW = kW, dH = kH, padW = 0, padH = 0, dilationW = 1,
-- dilationH = dilationW])
local DilatedPool, DilatedPoolParent = torch.class('nn.SpatialDilatedMaxPooling', 'nn.SpatialMaxPooling')
function DilatedPool:__init(kW, kH, dW, dH, padW, padH, dilationW, dilationH)
  DilatedPoolParent.__init(self, kW, kH, dW, dH, padW, padH)
  local f = 'nn.SpatialDilatedMaxPooling'
  self.dilationW = positive(f, 7, dilationW or 1, 2)
  self.dilationH = positive(f, 8, dilationH or self.dilationW, 2)
end
function DilatedPool:__tostring__()
  return ('%s(%dx%d, %d,%d, %d,%d, dilation %d,%d%s)'):format(torch.typename(self), self.kW, self.kH,
    self.dW, self.dH, self.padW, self.padH, self.dilationW, self.dilationH, self.ceil_mode and ', ceil' or '')
end

-- nn.SpatialUpSamplingBilinear(scale) or ({oheight = h, owidth = w}): bilinear with the
-- corners aligned; with a scale the output is (H - 1) * scale + 1 high (Torch7's size)
local UpBilinear = torch.class('nn.SpatialUpSamplingBilinear', 'nn.Upsample')
UpBilinear.allowUnbatched = true
function UpBilinear:__init(scale)
  nn.Module.__init(self)
  local f = 'nn.SpatialUpSamplingBilinear'
  if type(scale) == 'table' then
    local o = check.options(f, scale, { oheight = check.REQUIRED, owidth = check.REQUIRED }, 3)
    self.oheight, self.owidth = positive(f, 1, o.oheight, 2), positive(f, 1, o.owidth, 2)
    self.size = { self.oheight, self.owidth }
  else
    self.scale_factor_int = positive(f, 1, scale, 2)
    self.scale_factor = { self.scale_factor_int, self.scale_factor_int }
  end
  self.mode, self.align_corners = 'bilinear', true
end
function UpBilinear:_sizes(H, W)
  local OH, OW
  if self.size then OH, OW = self.size[1], self.size[2]
  else OH, OW = (H - 1) * self.scale_factor_int + 1, (W - 1) * self.scale_factor_int + 1 end
  return OH, OW, H / OH, W / OW
end

-- nn.TemporalMaxPooling(kW [, dW = kW]): [N x] nFrame x frameSize -> [N x] nFrame' x frameSize,
-- the max of each feature over windows of kW frames (the frames as the H of a 1-wide plane)
local TMax, TMaxParent = torch.class('nn.TemporalMaxPooling', 'nn.Module')
function TMax:__init(kW, dW)
  TMaxParent.__init(self)
  self.kW = positive('nn.TemporalMaxPooling', 1, kW, 2)
  self.dW = positive('nn.TemporalMaxPooling', 2, dW or self.kW, 2)
end
function TMax:updateOutput(input)
  input_of(self, input, { [2] = true, [3] = true }, '2D (nFrame x frameSize) or 3D (N x nFrame x frameSize)', 3)
  local x = input:dim() == 2 and input:unsqueeze(1) or input
  if x:size(2) < self.kW then
    error(('%s: %d frames are fewer than the window of %d, input [%s]'):format(torch.typename(self),
          x:size(2), self.kW, shape_str(input)), 3)
  end
  local y = torch._maxPool2d(x:unsqueeze(2), self.kW, 1, self.dW, 1, 0, 0, 1, 1, false)
  y = y:squeeze(2)
  self.output = input:dim() == 2 and y:squeeze(1) or y
  return self.output
end
function TMax:__tostring__() return ('nn.TemporalMaxPooling(%d, %d)'):format(self.kW, self.dW) end

-- sums over windows of kH x kW of a batched N x C x H x W: an average pooling times the size
local function window_sum(x, kH, kW, dH, dW)
  return torch.mul(torch._avgPool2d(x, kH, kW, dH, dW, 0, 0, false, true), kH * kW)
end

-- nn.TemporalSubSampling(frameSize, kW [, dW = 1]): out[t][i] = bias[i] + weight[i] *
-- sum of input[k][i] over the kW frames of window t (one weight per feature, Torch7's)
local TSub, TSubParent = torch.class('nn.TemporalSubSampling', 'nn.Module')
function TSub:__init(frameSize, kW, dW)
  TSubParent.__init(self)
  local f = 'nn.TemporalSubSampling'
  self.frameSize, self.kW = positive(f, 1, frameSize, 2), positive(f, 2, kW, 2)
  self.dW = positive(f, 3, dW or 1, 2)
  new_param(self, 'weight', self.frameSize)
  new_param(self, 'bias', self.frameSize)
  self:reset()
  self:_linkGradients()
end
function TSub:reset(stdv)
  stdv = stdv or 1 / math.sqrt(self.kW)
  torch.noGrad(function()
    self.weight:uniform(-stdv, stdv)
    self.bias:uniform(-stdv, stdv)
  end)
  return self
end
function TSub:updateOutput(input)
  input_of(self, input, { [2] = true, [3] = true }, '2D (nFrame x frameSize) or 3D (N x nFrame x frameSize)', 3)
  local x = input:dim() == 2 and input:unsqueeze(1) or input
  if x:size(3) ~= self.frameSize or x:size(2) < self.kW then
    error(('%s: expected frames of %d, at least %d of them, got input [%s]'):format(torch.typename(self),
          self.frameSize, self.kW, shape_str(input)), 3)
  end
  nn._checkDevice(self, x, self.weight, 3)
  local s = window_sum(x:unsqueeze(2), self.kW, 1, self.dW, 1):squeeze(2)   -- N x nFrame' x frameSize
  local y = torch.cmul(s, self.weight:view(1, 1, self.frameSize)) + self.bias:view(1, 1, self.frameSize)
  self.output = input:dim() == 2 and y:squeeze(1) or y
  return self.output
end
function TSub:__tostring__()
  return ('nn.TemporalSubSampling(%d, %d, %d)'):format(self.frameSize, self.kW, self.dW)
end

-- nn.SpatialSubSampling(nInputPlane, kW, kH [, dW = 1, dH = 1]): out[c] = bias[c] + weight[c] *
-- the sum of plane c over each kW x kH window (one weight and bias per plane, Torch7's)
local SSub, SSubParent = torch.class('nn.SpatialSubSampling', 'nn.Module')
function SSub:__init(nInputPlane, kW, kH, dW, dH)
  SSubParent.__init(self)
  local f = 'nn.SpatialSubSampling'
  self.nInputPlane = positive(f, 1, nInputPlane, 2)
  self.kW, self.kH = positive(f, 2, kW, 2), positive(f, 3, kH, 2)
  self.dW, self.dH = positive(f, 4, dW or 1, 2), positive(f, 5, dH or 1, 2)
  new_param(self, 'weight', self.nInputPlane)
  new_param(self, 'bias', self.nInputPlane)
  self:reset()
  self:_linkGradients()
end
function SSub:reset(stdv)
  stdv = stdv or 1 / math.sqrt(self.kW * self.kH)
  torch.noGrad(function()
    self.weight:uniform(-stdv, stdv)
    self.bias:uniform(-stdv, stdv)
  end)
  return self
end
function SSub:updateOutput(input)
  input_of(self, input, { [3] = true, [4] = true }, '3D (C x H x W) or 4D (N x C x H x W)', 3)
  local x = input:dim() == 3 and input:unsqueeze(1) or input
  if x:size(2) ~= self.nInputPlane or x:size(3) < self.kH or x:size(4) < self.kW then
    error(('%s: expected %d planes of at least %d x %d, got input [%s]'):format(torch.typename(self),
          self.nInputPlane, self.kH, self.kW, shape_str(input)), 3)
  end
  nn._checkDevice(self, x, self.weight, 3)
  local C = self.nInputPlane
  local y = torch.cmul(window_sum(x, self.kH, self.kW, self.dH, self.dW), self.weight:view(1, C, 1, 1))
            + self.bias:view(1, C, 1, 1)
  self.output = input:dim() == 3 and y:squeeze(1) or y
  return self.output
end
function SSub:__tostring__()
  return ('nn.SpatialSubSampling(%d, %dx%d, %d,%d)'):format(self.nInputPlane, self.kW, self.kH, self.dW, self.dH)
end

-- nn.SpatialLPPooling(nInputPlane, pnorm, kW, kH [, dW = kW, dH = kH]): (sum of x^p over each
-- window)^(1/p), Torch7's Power -> sum pooling -> Power(1/p). nn.LPPool2d(p, k [, {stride = k}])
-- is PyTorch's, which also takes the 1/p power of the sum.
local LP, LPParent = torch.class('nn.SpatialLPPooling', 'nn.Module')
function LP:__init(nInputPlane, pnorm, kW, kH, dW, dH)
  LPParent.__init(self)
  local f = 'nn.SpatialLPPooling'
  self.nInputPlane = positive(f, 1, nInputPlane, 2)
  self.pnorm = check.arg(f, 2, pnorm, 'number', 2)
  if not (self.pnorm > 0) then check.argerror(f, 2, ('expected a positive p, got %s'):format(tostring(pnorm)), 2) end
  self.kW, self.kH = positive(f, 3, kW, 2), positive(f, 4, kH, 2)
  self.dW, self.dH = positive(f, 5, dW or self.kW, 2), positive(f, 6, dH or self.kH, 2)
end
function LP:updateOutput(input)
  input_of(self, input, { [3] = true, [4] = true }, '3D (C x H x W) or 4D (N x C x H x W)', 3)
  local x = input:dim() == 3 and input:unsqueeze(1) or input
  if (self.nInputPlane and x:size(2) ~= self.nInputPlane) or x:size(3) < self.kH or x:size(4) < self.kW then
    error(('%s: expected %s planes of at least %d x %d, got input [%s]'):format(torch.typename(self),
          self.nInputPlane or 'any number of', self.kH, self.kW, shape_str(input)), 3)
  end
  local y = torch.pow(window_sum(torch.pow(x, self.pnorm), self.kH, self.kW, self.dH, self.dW), 1 / self.pnorm)
  self.output = input:dim() == 3 and y:squeeze(1) or y
  return self.output
end
function LP:__tostring__()
  return ('%s(p=%g, %dx%d, %d,%d)'):format(torch.typename(self), self.pnorm, self.kW, self.kH, self.dW, self.dH)
end

local LPPool2d = torch.class('nn.LPPool2d', 'nn.SpatialLPPooling')
function LPPool2d:__init(p, k, opts)
  LPParent.__init(self)
  local f = 'nn.LPPool2d'
  self.pnorm = check.arg(f, 1, p, 'number', 2)
  if not (self.pnorm > 0) then check.argerror(f, 1, ('expected a positive p, got %s'):format(tostring(p)), 2) end
  local o = check.options(f, opts, { stride = check.NONE, ceilMode = check.unsupported(false) }, 3)
  local function hw(v, i)
    if type(v) == 'table' then return positive(f, i, v[1], 3), positive(f, i, v[2], 3) end
    v = positive(f, i, v, 3)
    return v, v
  end
  self.kH, self.kW = hw(k, 2)
  if o.stride == nil then self.dH, self.dW = self.kH, self.kW else self.dH, self.dW = hw(o.stride, 3) end
end

-- nn.SpatialMaxUnpooling(poolingModule): puts each value of its input back where the max of the
-- given nn.SpatialMaxPooling's last forward came from, zeros elsewhere (that pooling's input
-- size); its gradient gathers gradOutput at those places
local unpool = torch.autograd.Function {
  forward = function(ctx, x, idx, H, W)
    ctx.idx, ctx.shape = idx, x:size()
    local N, C = x:size(1), x:size(2)
    local flat = torch.Tensor():typeAs(x):resize(N, C, H * W):zero()
    flat:scatter(3, idx, x:contiguous():view(N, C, -1))
    return flat:view(N, C, H, W)
  end,
  backward = function(ctx, g)
    local N, C = g:size(1), g:size(2)
    return g:contiguous():view(N, C, -1):gather(3, ctx.idx):view(ctx.shape)
  end,
}
local Unpool, UnpoolParent = torch.class('nn.SpatialMaxUnpooling', 'nn.Module')
function Unpool:__init(poolingModule)
  UnpoolParent.__init(self)
  if not torch.isTypeOf(poolingModule, 'nn.SpatialMaxPooling') then
    check.argerror('nn.SpatialMaxUnpooling', 1, ('nn.SpatialMaxPooling expected, got %s')
                   :format(torch.typename(poolingModule) or type(poolingModule)), 2)
  end
  self.pooling = poolingModule
end
function Unpool:updateOutput(input)
  input_of(self, input, { [3] = true, [4] = true }, '3D (C x H x W) or 4D (N x C x H x W)', 3)
  local pool = self.pooling
  local idx, pin = pool.indices, pool._unpoolInput
  if not idx or not pin then
    error(('%s: its pooling module has not run forward yet'):format(torch.typename(self)), 3)
  end
  local x = input:dim() == 3 and input:unsqueeze(1) or input
  if x:dim() ~= idx:dim() or x:size(1) ~= idx:size(1) or x:size(2) ~= idx:size(2) or x:nElement() ~= idx:nElement() then
    error(('%s: input [%s] is not the size of its pooling module\'s last output [%s]'):format(
          torch.typename(self), shape_str(input), shape_str(idx)), 3)
  end
  local N, C = idx:size(1), idx:size(2)
  local y = unpool(x, torch.add(idx:contiguous():view(N, C, -1), 1), pin[1], pin[2])
  self.output = input:dim() == 3 and y:squeeze(1) or y
  return self.output
end
function Unpool:__tostring__() return 'nn.SpatialMaxUnpooling(' .. tostring(self.pooling) .. ')' end

-- nn.SpatialCrossMapLRN(size [, alpha = 1e-4, beta = 0.75, k = 1]): local response
-- normalisation across channels, x / (k + alpha / size * the sum of x^2 over size
-- neighbouring channels)^beta; C x H x W or N x C x H x W. nn.LocalResponseNorm (PyTorch's,
-- the same arguments) takes N x C x ... of any length (3-D is N x C x L there). An even size
-- has size/2 channels before and size/2 - 1 after, as PyTorch's.
local LRN, LRNParent = torch.class('nn.SpatialCrossMapLRN', 'nn.Module')
function LRN:__init(size, alpha, beta, k)
  LRNParent.__init(self)
  local f = torch.typename(self) or 'nn.SpatialCrossMapLRN'
  self.size = positive(f, 1, size, 2)
  self.alpha = alpha == nil and 1e-4 or check.arg(f, 2, alpha, 'number', 2)
  self.beta = beta == nil and 0.75 or check.arg(f, 3, beta, 'number', 2)
  self.k = k == nil and 1 or check.arg(f, 4, k, 'number', 2)
end
function LRN:updateOutput(input)
  local x, added
  if self.anyLength then
    input_of(self, input, { [3] = true, [4] = true, [5] = true }, '3D to 5D (N x C x ...)', 3)
    x, added = input, false
  else
    input_of(self, input, { [3] = true, [4] = true }, '3D (C x H x W) or 4D (N x C x H x W)', 3)
    x, added = input:dim() == 3 and input:unsqueeze(1) or input, input:dim() == 3
  end
  local N, C = x:size(1), x:size(2)
  local sq = torch.cmul(x, x):contiguous():view(N, 1, C, -1)
  local rest = sq:size(4)
  local before, after = self.size // 2, (self.size - 1) // 2
  local parts = {}
  local function zeros(n) return torch.Tensor():typeAs(x):resize(N, 1, n, rest):zero() end
  if before > 0 then parts[#parts + 1] = zeros(before) end
  parts[#parts + 1] = sq
  if after > 0 then parts[#parts + 1] = zeros(after) end
  local sums = window_sum(#parts > 1 and torch.cat(parts, 3) or sq, self.size, 1, 1, 1)
  local scale = torch.add(torch.mul(sums, self.alpha / self.size), self.k):view(x:size())
  local y = torch.cdiv(x, torch.pow(scale, self.beta))
  self.output = added and y:squeeze(1) or y
  return self.output
end
function LRN:__tostring__()
  return ('%s(%d, %g, %g, %g)'):format(torch.typename(self), self.size, self.alpha, self.beta, self.k)
end
local LocalResponseNorm = torch.class('nn.LocalResponseNorm', 'nn.SpatialCrossMapLRN')
LocalResponseNorm.anyLength = true

-- ---- simple layers ------------------------------------------------------------------------------
-- nn.CReLU(nInputDims [, inplace]): {ReLU(x), ReLU(-x)} joined along the feature dim: dim 1 of
-- a sample of nInputDims dims, dim 2 of a batch of them (the output has twice the features)
local CReLU, CReLUParent = torch.class('nn.CReLU', 'nn.Module')
function CReLU:__init(nInputDims, inplace)
  CReLUParent.__init(self)
  self.nInputDims = positive('nn.CReLU', 1, nInputDims, 2)
  check.arg('nn.CReLU', 2, inplace, 'boolean?', 2)   -- accepted and ignored, as the transfer modules'
end
function CReLU:updateOutput(input)
  local n = self.nInputDims
  input_of(self, input, { [n] = true, [n + 1] = true }, ('%dD or %dD (a batch)'):format(n, n + 1), 3)
  local d = input:dim() == n and 1 or 2
  self.output = torch.cat({ torch.relu(input), torch.relu(torch.neg(input)) }, d)
  return self.output
end
function CReLU:__tostring__() return ('nn.CReLU(%d)'):format(self.nInputDims) end

-- nn.GatedLinearUnit([dim = the last]) / nn.GLU: the first half a of the input along dim times
-- sigmoid of the second half b (dim 1-based; negative counts from the end)
local GLU, GLUParent = torch.class('nn.GatedLinearUnit', 'nn.Module')
function GLU:__init(dim)
  GLUParent.__init(self)
  self.dim = check.arg('nn.GatedLinearUnit', 1, dim, 'integer?', 2)
  if self.dim == 0 then check.argerror('nn.GatedLinearUnit', 1, 'dims count from 1 (or -1 from the end), got 0', 2) end
end
function GLU:updateOutput(input)
  local name = torch.typename(self)
  if not torch.isTensor(input) then
    error(('%s: expected a tensor input, got %s'):format(name, torch.typename(input) or type(input)), 3)
  end
  local nd = input:dim()
  local d = self.dim or nd
  if d < 0 then d = nd + d + 1 end
  if d < 1 or d > nd then
    error(('%s: dim %d out of range for an input of [%s]'):format(name, self.dim or nd, shape_str(input)), 3)
  end
  local n = input:size(d)
  if n % 2 ~= 0 then
    error(('%s: dim %d has to split in halves, got %d in input [%s]'):format(name, d, n, shape_str(input)), 3)
  end
  self.output = torch.cmul(input:narrow(d, 1, n // 2), torch.sigmoid(input:narrow(d, n // 2 + 1, n // 2)))
  return self.output
end
function GLU:__tostring__() return ('%s(%s)'):format(torch.typename(self), self.dim or 'last dim') end
nn.GLU = GLU

-- nn.Copy([intype, outtype [, forceCopy, dontCast]]): the input converted to outtype (its
-- gradient back to intype); the same type passes the input through unless forceCopy. dontCast:
-- m:type() leaves the module's types as they are.
local Copy, CopyParent = torch.class('nn.Copy', 'nn.Module')
local function tensor_type(fname, i, v)
  if v == nil then return torch.Tensor():type() end
  if type(v) ~= 'string' or not torch.Tensor():type() or not pcall(function() return torch.Tensor():type(v) end) then
    check.argerror(fname, i, ('a tensor type name expected (e.g. \'torch.DoubleTensor\'), got %s')
                   :format(type(v) == 'string' and ("'" .. v .. "'") or type(v)), 3)
  end
  return v
end
function Copy:__init(intype, outtype, forceCopy, dontCast)
  CopyParent.__init(self)
  self.intype, self.outtype = tensor_type('nn.Copy', 1, intype), tensor_type('nn.Copy', 2, outtype)
  self.forceCopy = check.arg('nn.Copy', 3, forceCopy, 'boolean?', 2) or false
  self.dontCast = check.arg('nn.Copy', 4, dontCast, 'boolean?', 2) or false
end
local convert = torch.autograd.Function {
  forward = function(ctx, x, outtype)
    ctx.intype = x:type()
    return x:type() == outtype and x:clone() or x:type(outtype)
  end,
  backward = function(ctx, g) return g:type() == ctx.intype and g or g:type(ctx.intype) end,
}
function Copy:updateOutput(input)
  if not torch.isTensor(input) then
    error(('nn.Copy: expected a tensor input, got %s'):format(torch.typename(input) or type(input)), 3)
  end
  if input:type() == self.outtype and not self.forceCopy then
    self.output = input
  else
    self.output = convert(input, self.outtype)
  end
  return self.output
end
function Copy:type(typename, ...)
  if typename and self.dontCast then return self end
  if typename then self.intype, self.outtype = typename, typename end
  return CopyParent.type(self, typename, ...)
end
function Copy:__tostring__() return ('nn.Copy(%s -> %s)'):format(self.intype, self.outtype) end

-- nn.WeightedEuclidean(inputSize, outputSize): y_j = || c_j .* (x - w_j) || for the columns
-- w_j of a learnt weight and c_j of a learnt diagCov (both inputSize x outputSize; diagCov
-- starts at ones), Torch7's
local WE, WEParent = torch.class('nn.WeightedEuclidean', 'nn.Module')
function WE:__init(inputSize, outputSize)
  WEParent.__init(self)
  self.inputSize = positive('nn.WeightedEuclidean', 1, inputSize, 2)
  self.outputSize = positive('nn.WeightedEuclidean', 2, outputSize, 2)
  new_param(self, 'weight', self.inputSize, self.outputSize)
  new_param(self, 'diagCov', self.inputSize, self.outputSize)
  self:reset()
  self:_linkGradients()
end
function WE:reset(stdv)
  stdv = stdv or 1 / math.sqrt(self.inputSize)
  torch.noGrad(function()
    self.weight:uniform(-stdv, stdv)
    self.diagCov:fill(1)
  end)
  return self
end
function WE:parameters() return { self.weight, self.diagCov }, { self.gradWeight, self.gradDiagCov } end
function WE:namedParameters()
  return { { 'weight', self.weight, self.gradWeight }, { 'diagCov', self.diagCov, self.gradDiagCov } }
end
function WE:updateOutput(input)
  input_of(self, input, { [1] = true, [2] = true }, ('1D (%d) or 2D (N x %d)'):format(self.inputSize, self.inputSize), 3)
  if input:size(input:dim()) ~= self.inputSize then
    error(('%s: expected inputs of %d, got [%s]'):format(torch.typename(self), self.inputSize, shape_str(input)), 3)
  end
  nn._checkDevice(self, input, self.weight, 3)
  local x = input:dim() == 1 and input:view(1, self.inputSize) or input
  local I, O = self.inputSize, self.outputSize
  local diff = torch.cmul(x:view(x:size(1), I, 1) - self.weight:view(1, I, O), self.diagCov:view(1, I, O))
  local out = torch.sqrt(torch.sum(torch.cmul(diff, diff), 2)):view(x:size(1), O)
  self.output = input:dim() == 1 and out:view(O) or out
  return self.output
end
function WE:__tostring__() return ('nn.WeightedEuclidean(%d -> %d)'):format(self.inputSize, self.outputSize) end

-- nn.PixelShuffle(r): [N x] C*r*r x H x W -> [N x] C x H*r x W*r; out[c][h*r+i][w*r+j] =
-- in[c*r*r + i*r + j][h][w] (0-based), Torch7's and PyTorch's
local PS, PSParent = torch.class('nn.PixelShuffle', 'nn.Module')
function PS:__init(upscaleFactor)
  PSParent.__init(self)
  self.upscaleFactor = positive('nn.PixelShuffle', 1, upscaleFactor, 2)
end
function PS:updateOutput(input)
  input_of(self, input, { [3] = true, [4] = true }, '3D (C x H x W) or 4D (N x C x H x W)', 3)
  local x = input:dim() == 3 and input:unsqueeze(1) or input
  local r = self.upscaleFactor
  local N, C, H, W = x:size(1), x:size(2), x:size(3), x:size(4)
  if C % (r * r) ~= 0 then
    error(('%s: %d channels do not divide by the upscale factor squared (%d), input [%s]'):format(
          torch.typename(self), C, r * r, shape_str(input)), 3)
  end
  local c = C // (r * r)
  local y = x:contiguous():view(N, c, r, r, H, W):permute(1, 2, 5, 3, 6, 4):contiguous():view(N, c, H * r, W * r)
  self.output = input:dim() == 3 and y:squeeze(1) or y
  return self.output
end
function PS:__tostring__() return ('nn.PixelShuffle(%d)'):format(self.upscaleFactor) end

-- ---- criterion ----------------------------------------------------------------------------------
-- nn.L1HingeEmbeddingCriterion([margin = 1]): {x1, x2} (two 1-D tensors), y = 1 or -1: the L1
-- distance d = ||x1 - x2||_1 where y = 1, max(0, margin - d) where y = -1 (Torch7's)
local L1Hinge, L1HingeParent = torch.class('nn.L1HingeEmbeddingCriterion', 'nn.Criterion')
function L1Hinge:__init(margin)
  L1HingeParent.__init(self)
  self.margin = margin == nil and 1 or check.arg('nn.L1HingeEmbeddingCriterion', 1, margin, 'number', 2)
end
function L1Hinge:loss(input, target)
  local name = 'nn.L1HingeEmbeddingCriterion'
  if type(input) ~= 'table' or not torch.isTensor(input[1]) or not torch.isTensor(input[2]) then
    error(('%s: expected a table of two tensors {x1, x2} as input, got %s'):format(name,
          torch.typename(input) or type(input)), 3)
  end
  local x1, x2 = input[1], input[2]
  if x1:nElement() ~= x2:nElement() or x1:dim() ~= 1 or x2:dim() ~= 1 then
    error(('%s: x1 [%s] and x2 [%s] must be two 1-D tensors of one size'):format(name, shape_str(x1), shape_str(x2)), 3)
  end
  local y = target
  if torch.isTensor(y) and y:nElement() == 1 then y = y:view(1)[1] end
  if y ~= 1 and y ~= -1 then
    error(('%s: the target must be 1 or -1, got %s'):format(name, tostring(torch.isTensor(y) and shape_str(y) or y)), 3)
  end
  local d = torch.sum(torch.abs(x1 - x2), 1):squeeze()   -- (a tensor, also when nothing is recorded)
  if y == 1 then return d end
  return torch.relu(torch.add(torch.neg(d), self.margin))
end

return nn
