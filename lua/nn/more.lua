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
--   nn.TemporalDynamicKMaxPooling(minK [, factor])
--   nn.SpatialSubSampling(nInputPlane, kW, kH [, dW, dH]), nn.PixelShuffle(r)
--   nn.SpatialLPPooling(nInputPlane, p, kW, kH [, dW, dH]) / nn.LPPool2d(p, k [, {stride}])
--   nn.SpatialMaxUnpooling(poolingModule), nn.L1HingeEmbeddingCriterion([margin])
--   nn.SpatialCrossMapLRN(size [, alpha, beta, k]) / nn.LocalResponseNorm
--   nn.VolumetricMaxPooling(kT, kW, kH, ...) / nn.MaxPool3d, nn.VolumetricDilatedMaxPooling,
--   nn.VolumetricMaxUnpooling(poolingModule),
--   nn.VolumetricAveragePooling(kT, kW, kH, ...),
--   nn.VolumetricReplicationPadding(l, r, t, b, f, b) / nn.ReplicationPad3d
--   nn.DistanceRatioCriterion([sizeAverage]), nn.SpatialAutoCropMSECriterion([sizeAverage])
--   nn.SpatialDepthWiseConvolution(nIn, nOut, kW, kH, ...), nn.TemporalRowConvolution(F, kW [, dW, featFirst])
--   nn.VolumetricConvolution(nIn, nOut, kT, kW, kH, ...) / nn.Conv3d, nn.VolumetricDilatedConvolution
--
-- Each is written on the existing kernels (convolution, max / average pooling of core/conv.c,
-- softmax, bilinear up-sampling of spatial.lua) and tensor ops, so autograd gives the backward;
-- max unpooling and k-max pooling (a scatter / a gather, each the other's gradient) and Copy (a
-- type conversion) are torch.autograd.Functions. The channel dropouts are inverted (scaled by
-- 1/(1-p) in training, the identity in evaluate()), as nn.Dropout here and PyTorch; Torch7's
-- SpatialDropout scaled by 1-p in evaluation instead.
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local shape_str = nn._shapeStr

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

local positive = nn._positive

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

-- nn.TemporalDynamicKMaxPooling(minK [, factor = 0]): the k largest values of each feature
-- over time, in their order in time, k = max(minK, ceil(factor * nFrame)); [N x] nFrame x
-- frameSize. The values are gathered at the kept positions, and the gradient scattered back.
local gather_frames = torch.autograd.Function {
  forward = function(ctx, x, idx, dim)
    ctx.idx, ctx.dim, ctx.size = idx, dim, x:size()
    return x:gather(dim, idx)
  end,
  backward = function(ctx, g)
    return torch.Tensor():typeAs(g):resize(ctx.size):zero():scatter(ctx.dim, ctx.idx, g)
  end,
}
local KMax, KMaxParent = torch.class('nn.TemporalDynamicKMaxPooling', 'nn.Module')
function KMax:__init(minK, factor)
  KMaxParent.__init(self)
  self.minK = positive('nn.TemporalDynamicKMaxPooling', 1, minK, 2)
  self.factor = factor == nil and 0 or check.arg('nn.TemporalDynamicKMaxPooling', 2, factor, 'number', 2)
  if not (self.factor >= 0 and self.factor <= 1) then
    check.argerror('nn.TemporalDynamicKMaxPooling', 2, ('expected a factor in [0, 1], got %s'):format(tostring(factor)), 2)
  end
end
function KMax:updateOutput(input)
  input_of(self, input, { [2] = true, [3] = true }, '2D (nFrame x frameSize) or 3D (N x nFrame x frameSize)', 3)
  local dim = input:dim() - 1
  local n = input:size(dim)
  local k = math.max(self.minK, math.ceil(self.factor * n))
  if n < k then
    error(('%s: %d frames are fewer than k = %d, input [%s]'):format(torch.typename(self), n, k, shape_str(input)), 3)
  end
  self.indices = torch.noGrad(function()
    local _, order = input:sort(dim, true)
    local kept = order:narrow(dim, 1, k):sort(dim)
    return kept
  end)
  self.output = gather_frames(input, self.indices, dim)
  return self.output
end
function KMax:_clearState() self.indices = nil end
function KMax:__tostring__() return ('nn.TemporalDynamicKMaxPooling(%d, %g)'):format(self.minK, self.factor) end

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
function TSub:reset(stdv) return nn._uniformReset(self, self.kW, stdv) end
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
function SSub:reset(stdv) return nn._uniformReset(self, self.kW * self.kH, stdv) end
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

-- ---- volumetric (3-D) pooling and padding: N x C x T x H x W, or C x T x H x W -------------------
-- Max and average over a kT x kH x kW box are separable: the 2-D pooling of every frame, then a
-- pooling of kT x 1 along time, so both run on the 2-D kernels.
-- max: also each maximum's position in its T x H x W volume (0-based, PyTorch's form): the
-- time pooling's index gives the frame t, the frame pooling's index at (t, pixel) the place
local function pool3d(x, o, is_max)
  local N, C, T, Hh, W = x:size(1), x:size(2), x:size(3), x:size(4), x:size(5)
  local frames = x:contiguous():view(N * C * T, 1, Hh, W)
  local y, idx1, idx2
  if is_max then
    y, idx1 = torch._maxPool2d(frames, o.kH, o.kW, o.dH, o.dW, o.padH, o.padW, o.dilH, o.dilW, o.ceil)
  else
    y = torch._avgPool2d(frames, o.kH, o.kW, o.dH, o.dW, 0, 0, false, true)
  end
  local OH, OW = y:size(3), y:size(4)
  local along_t = y:view(N * C, 1, T, OH * OW)
  if is_max then
    y, idx2 = torch._maxPool2d(along_t, o.kT, 1, o.dT, 1, o.padT, 0, o.dilT, 1, o.ceil)
  else
    y = torch._avgPool2d(along_t, o.kT, 1, o.dT, 1, 0, 0, false, true)
  end
  local OT = y:size(3)
  local indices
  if is_max then
    local t = torch.floor(torch.div(idx2:view(N * C, OT, OH * OW):double(), OH * OW)):long()
    local place = idx1:view(N * C, T, OH * OW):gather(2, t + 1)
    indices = (t * (Hh * W) + place):view(N, C, OT, OH, OW)
  end
  return y:view(N, C, OT, OH, OW), indices
end

local function volume_input(self, input)
  input_of(self, input, { [4] = true, [5] = true }, '4D (C x T x H x W) or 5D (N x C x T x H x W)', 4)
  if input:dim() == 4 then return input:unsqueeze(1), true end
  return input, false
end

-- nn.VolumetricMaxPooling(kT, kW, kH [, dT = kT, dW = kW, dH = kH, padT = 0, padW = 0, padH = 0]);
-- :ceil() / :floor() as 2-D max pooling's. nn.MaxPool3d(k [, {stride = k, padding = 0,
-- dilation = 1, ceilMode = false}]) is PyTorch's (k: n or {kT, kH, kW}).
local VMax, VMaxParent = torch.class('nn.VolumetricMaxPooling', 'nn.Module')
function VMax:__init(kT, kW, kH, dT, dW, dH, padT, padW, padH)
  VMaxParent.__init(self)
  local f = torch.typename(self) or 'nn.VolumetricMaxPooling'
  self.kT, self.kW, self.kH = positive(f, 1, kT, 2), positive(f, 2, kW, 2), positive(f, 3, kH, 2)
  self.dT, self.dW, self.dH = positive(f, 4, dT or self.kT, 2), positive(f, 5, dW or self.kW, 2), positive(f, 6, dH or self.kH, 2)
  self.padT, self.padW, self.padH = check.arg(f, 7, padT or 0, 'count', 2), check.arg(f, 8, padW or 0, 'count', 2),
                                    check.arg(f, 9, padH or 0, 'count', 2)
  self.dilationT, self.dilationW, self.dilationH = 1, 1, 1
  self.ceil_mode = false
end
function VMax:ceil() self.ceil_mode = true return self end
function VMax:floor() self.ceil_mode = false return self end
function VMax:updateOutput(input)
  local x, added = volume_input(self, input)
  self._unpoolInput = { x:size(3), x:size(4), x:size(5) }   -- for nn.VolumetricMaxUnpooling
  local y
  y, self.indices = pool3d(x, { kT = self.kT, kH = self.kH, kW = self.kW, dT = self.dT, dH = self.dH, dW = self.dW,
                        padT = self.padT, padH = self.padH, padW = self.padW, dilT = self.dilationT,
                        dilH = self.dilationH, dilW = self.dilationW, ceil = self.ceil_mode }, true)
  self.output = added and y:squeeze(1) or y
  return self.output
end
function VMax:_clearState() self.indices, self._unpoolInput = nil, nil end

-- nn.VolumetricMaxUnpooling(poolingModule): the 3-D nn.SpatialMaxUnpooling, for an
-- nn.VolumetricMaxPooling (or its dilated form, nn.MaxPool3d): each value goes back where that
-- pooling's last maximum came from, zeros elsewhere
local VUnpool, VUnpoolParent = torch.class('nn.VolumetricMaxUnpooling', 'nn.Module')
function VUnpool:__init(poolingModule)
  VUnpoolParent.__init(self)
  if not torch.isTypeOf(poolingModule, 'nn.VolumetricMaxPooling') then
    check.argerror('nn.VolumetricMaxUnpooling', 1, ('nn.VolumetricMaxPooling expected, got %s')
                   :format(torch.typename(poolingModule) or type(poolingModule)), 2)
  end
  self.pooling = poolingModule
end
function VUnpool:updateOutput(input)
  local x, added = volume_input(self, input)
  local pool = self.pooling
  local idx, pin = pool.indices, pool._unpoolInput
  if not idx or not pin then
    error(('%s: its pooling module has not run forward yet'):format(torch.typename(self)), 3)
  end
  if x:dim() ~= idx:dim() or x:size(1) ~= idx:size(1) or x:size(2) ~= idx:size(2) or x:nElement() ~= idx:nElement() then
    error(('%s: input [%s] is not the size of its pooling module\'s last output [%s]'):format(
          torch.typename(self), shape_str(input), shape_str(idx)), 3)
  end
  local N, C = idx:size(1), idx:size(2)
  local y = unpool(x, torch.add(idx:contiguous():view(N, C, -1), 1), pin[1] * pin[2], pin[3])
  y = y:view(N, C, pin[1], pin[2], pin[3])
  self.output = added and y:squeeze(1) or y
  return self.output
end
function VUnpool:__tostring__() return 'nn.VolumetricMaxUnpooling(' .. tostring(self.pooling) .. ')' end

function VMax:__tostring__()
  return ('%s(%dx%dx%d, %d,%d,%d, %d,%d,%d%s)'):format(torch.typename(self), self.kT, self.kW, self.kH,
    self.dT, self.dW, self.dH, self.padT, self.padW, self.padH, self.ceil_mode and ', ceil' or '')
end

local MaxPool3d = torch.class('nn.MaxPool3d', 'nn.VolumetricMaxPooling')
function MaxPool3d:__init(k, opts)
  VMaxParent.__init(self)
  local f = 'nn.MaxPool3d'
  local function triple(v, i, min)
    if type(v) == 'table' then
      if #v ~= 3 then check.argerror(f, i, ('expected a number or {t, h, w}, got a table of %d'):format(#v), 4) end
      local a = min == 0 and check.arg(f, i, v[1], 'count', 4) or positive(f, i, v[1], 4)
      local b = min == 0 and check.arg(f, i, v[2], 'count', 4) or positive(f, i, v[2], 4)
      local c = min == 0 and check.arg(f, i, v[3], 'count', 4) or positive(f, i, v[3], 4)
      return a, b, c
    end
    v = min == 0 and check.arg(f, i, v, 'count', 4) or positive(f, i, v, 4)
    return v, v, v
  end
  if k == nil then check.argerror(f, 1, 'kernel size expected, got no value', 2) end
  local o = check.options(f, opts, { stride = check.NONE, padding = 0, dilation = 1, ceilMode = false,
                                     returnIndices = check.unsupported(false) }, 3)
  self.kT, self.kH, self.kW = triple(k, 1, 1)
  self.dT, self.dH, self.dW = triple(o.stride or k, 2, 1)
  self.padT, self.padH, self.padW = triple(o.padding, 2, 0)
  self.dilationT, self.dilationH, self.dilationW = triple(o.dilation, 2, 1)
  self.ceil_mode = check.arg(f, 2, o.ceilMode, 'boolean', 2)
end

-- nn.VolumetricDilatedMaxPooling(kT, kW, kH, dT, dW, dH, padT, padW, padH [, dilationT = 1,
-- dilationW = 1, dilationH = 1])
local VDil, VDilParent = torch.class('nn.VolumetricDilatedMaxPooling', 'nn.VolumetricMaxPooling')
function VDil:__init(kT, kW, kH, dT, dW, dH, padT, padW, padH, dilationT, dilationW, dilationH)
  VDilParent.__init(self, kT, kW, kH, dT, dW, dH, padT, padW, padH)
  local f = 'nn.VolumetricDilatedMaxPooling'
  self.dilationT = positive(f, 10, dilationT or 1, 2)
  self.dilationW = positive(f, 11, dilationW or 1, 2)
  self.dilationH = positive(f, 12, dilationH or 1, 2)
end

-- nn.VolumetricAveragePooling(kT, kW, kH [, dT = kT, dW = kW, dH = kH]) (Torch7's: no padding)
local VAvg, VAvgParent = torch.class('nn.VolumetricAveragePooling', 'nn.Module')
function VAvg:__init(kT, kW, kH, dT, dW, dH)
  VAvgParent.__init(self)
  local f = 'nn.VolumetricAveragePooling'
  self.kT, self.kW, self.kH = positive(f, 1, kT, 2), positive(f, 2, kW, 2), positive(f, 3, kH, 2)
  self.dT, self.dW, self.dH = positive(f, 4, dT or self.kT, 2), positive(f, 5, dW or self.kW, 2), positive(f, 6, dH or self.kH, 2)
end
function VAvg:updateOutput(input)
  local x, added = volume_input(self, input)
  if x:size(3) < self.kT or x:size(4) < self.kH or x:size(5) < self.kW then
    error(('%s: the input [%s] is smaller than the %dx%dx%d window'):format(torch.typename(self),
          shape_str(input), self.kT, self.kW, self.kH), 3)
  end
  local y = pool3d(x, { kT = self.kT, kH = self.kH, kW = self.kW, dT = self.dT, dH = self.dH, dW = self.dW }, false)
  self.output = added and y:squeeze(1) or y
  return self.output
end
function VAvg:__tostring__()
  return ('%s(%dx%dx%d, %d,%d,%d)'):format(torch.typename(self), self.kT, self.kW, self.kH, self.dT, self.dW, self.dH)
end

-- nn.VolumetricReplicationPadding(left [, right, top, bottom, front, back]) (each defaults to
-- left): repeats the border frames, rows and columns. nn.ReplicationPad3d(p or {left, right,
-- top, bottom, front, back}) is PyTorch's.
local VPad, VPadParent = torch.class('nn.VolumetricReplicationPadding', 'nn.Module')
function VPad:_setup(f, pads, level)
  for i = 1, 6 do check.arg(f, i, pads[i], 'count', level + 1) end
  self.pleft, self.pright, self.ptop, self.pbottom, self.pfront, self.pback = table.unpack(pads, 1, 6)
end
function VPad:__init(l, r, t, b, front, back)
  VPadParent.__init(self)
  self:_setup('nn.VolumetricReplicationPadding', { l, r or l, t or l, b or l, front or l, back or l }, 2)
end
local function replicate(x, dim, before, after)
  if before == 0 and after == 0 then return x end
  local L = x:size(dim)
  local idx = torch.LongTensor(before + L + after)
  for j = 1, before + L + after do idx[j] = math.max(1, math.min(L, j - before)) end
  return x:index(dim, idx)
end
function VPad:updateOutput(input)
  local x, added = volume_input(self, input)
  x = replicate(x, 5, self.pleft, self.pright)
  x = replicate(x, 4, self.ptop, self.pbottom)
  x = replicate(x, 3, self.pfront, self.pback)
  self.output = added and x:squeeze(1) or x
  return self.output
end
function VPad:__tostring__()
  return ('%s(l=%d, r=%d, t=%d, b=%d, f=%d, b=%d)'):format(torch.typename(self), self.pleft, self.pright,
    self.ptop, self.pbottom, self.pfront, self.pback)
end
local RPad3d = torch.class('nn.ReplicationPad3d', 'nn.VolumetricReplicationPadding')
function RPad3d:__init(p)
  VPadParent.__init(self)
  local f = 'nn.ReplicationPad3d'
  if type(p) == 'table' then
    if #p ~= 6 then check.argerror(f, 1, ('expected a number or {left, right, top, bottom, front, back}, got a table of %d'):format(#p), 2) end
    for i = 1, 6 do check.arg(f, 1, p[i], 'count', 2) end
    self:_setup(f, p, 2)
  else
    p = check.arg(f, 1, p, 'count', 2)
    self:_setup(f, { p, p, p, p, p, p }, 2)
  end
end

-- ---- depth-wise, row and 3-D convolutions on the 2-D convolution kernel ---------------------------
local conv_reset = nn._uniformReset
local function no_bias(self)
  self.bias, self.gradBias = nil, nil
  self._flatParameters, self._flatGradParameters = nil, nil
  return self
end

-- nn.SpatialDepthWiseConvolution(nInputPlane, nOutputPlane, kW, kH [, dW = 1, dH = 1, padW = 0,
-- padH = padW]): nOutputPlane filters on each input plane on its own; output plane
-- (i - 1) * nOutputPlane + o is input plane i under filter o. Torch7's parameters: weight
-- nOutputPlane x (nInputPlane * kH * kW), bias nOutputPlane x nInputPlane. A grouped 2-D
-- convolution (groups = nInputPlane) of the weight reordered input-major.
local DW, DWParent = torch.class('nn.SpatialDepthWiseConvolution', 'nn.Module')
function DW:__init(nIn, nOut, kW, kH, dW, dH, padW, padH)
  DWParent.__init(self)
  local f = 'nn.SpatialDepthWiseConvolution'
  self.nInputPlane, self.nOutputPlane = positive(f, 1, nIn, 2), positive(f, 2, nOut, 2)
  self.kW, self.kH = positive(f, 3, kW, 2), positive(f, 4, kH, 2)
  self.dW, self.dH = positive(f, 5, dW or 1, 2), positive(f, 6, dH or 1, 2)
  self.padW = check.arg(f, 7, padW or 0, 'count', 2)
  self.padH = check.arg(f, 8, padH or self.padW, 'count', 2)
  new_param(self, 'weight', nOut, nIn * self.kH * self.kW)
  new_param(self, 'bias', nOut, nIn)
  self:reset()
  self:_linkGradients()
end
function DW:reset(stdv) return conv_reset(self, self.kW * self.kH * self.nInputPlane, stdv) end
DW.noBias = no_bias
function DW:updateOutput(input)
  input_of(self, input, { [3] = true, [4] = true }, '3D (C x H x W) or 4D (N x C x H x W)', 3)
  local x = input:dim() == 3 and input:unsqueeze(1) or input
  local nIn, nOut = self.nInputPlane, self.nOutputPlane
  if x:size(2) ~= nIn then
    error(('%s: expected %d input planes, got input [%s]'):format(torch.typename(self), nIn, shape_str(input)), 3)
  end
  nn._checkDevice(self, x, self.weight, 3)
  local w = self.weight:view(nOut, nIn, self.kH, self.kW):transpose(1, 2):contiguous():view(nIn * nOut, 1, self.kH, self.kW)
  local b = self.bias and self.bias:t():contiguous():view(nIn * nOut)
  local y = torch._conv2d(x, w, b, self.dH, self.dW, self.padH, self.padW, 1, 1, nIn)
  self.output = input:dim() == 3 and y:squeeze(1) or y
  return self.output
end
function DW:__tostring__()
  return ('nn.SpatialDepthWiseConvolution(%d -> %d x %d, %dx%d, %d,%d, %d,%d)'):format(self.nInputPlane,
    self.nInputPlane, self.nOutputPlane, self.kW, self.kH, self.dW, self.dH, self.padW, self.padH)
end

-- nn.TemporalRowConvolution(inputFrameSize, kW [, dW = 1, featFirst = false]): each feature
-- convolved along time with a kernel of its own: out[t][i] = bias[i] + sum_k weight[i][1][k] *
-- input[(t - 1) * dW + k][i]; [N x] nFrame x inputFrameSize (featFirst: [N x] inputFrameSize x
-- nFrame). A grouped convolution, one group per feature.
local Row, RowParent = torch.class('nn.TemporalRowConvolution', 'nn.Module')
function Row:__init(inputFrameSize, kW, dW, featFirst)
  RowParent.__init(self)
  local f = 'nn.TemporalRowConvolution'
  self.inputFrameSize, self.kW = positive(f, 1, inputFrameSize, 2), positive(f, 2, kW, 2)
  self.dW = positive(f, 3, dW or 1, 2)
  self.featFirst = check.arg(f, 4, featFirst, 'boolean?', 2) or false
  new_param(self, 'weight', self.inputFrameSize, 1, self.kW)
  new_param(self, 'bias', self.inputFrameSize)
  self:reset()
  self:_linkGradients()
end
function Row:reset(stdv) return conv_reset(self, self.kW * self.inputFrameSize, stdv) end
Row.noBias = no_bias
function Row:updateOutput(input)
  input_of(self, input, { [2] = true, [3] = true }, '2D or 3D (a batch)', 3)
  local x = input:dim() == 2 and input:unsqueeze(1) or input
  if not self.featFirst then x = x:transpose(2, 3) end   -- N x inputFrameSize x nFrame
  local F = self.inputFrameSize
  if x:size(2) ~= F or x:size(3) < self.kW then
    error(('%s: expected frames of %d features, at least %d of them%s, got input [%s]'):format(torch.typename(self),
          F, self.kW, self.featFirst and ' (features first)' or '', shape_str(input)), 3)
  end
  nn._checkDevice(self, x, self.weight, 3)
  local y = torch._conv2d(x:contiguous():unsqueeze(4), self.weight:view(F, 1, self.kW, 1), self.bias,
                          self.dW, 1, 0, 0, 1, 1, F):squeeze(4)
  if not self.featFirst then y = y:transpose(2, 3) end
  self.output = input:dim() == 2 and y:squeeze(1) or y
  return self.output
end
function Row:__tostring__()
  return ('nn.TemporalRowConvolution(%d, %d, %d%s)'):format(self.inputFrameSize, self.kW, self.dW,
    self.featFirst and ', featFirst' or '')
end

-- nn.VolumetricConvolution(nInputPlane, nOutputPlane, kT, kW, kH [, dT = 1, dW = 1, dH = 1, padT = 0,
-- padW = 0, padH = 0]) over [N x] C x T x H x W; weight nOutputPlane x nInputPlane x kT x kH x kW
-- (Torch7's and PyTorch's). The sum over the kT time taps of 2-D convolutions of the frames
-- each tap sees. nn.VolumetricDilatedConvolution(..., padH, dilationT, dilationW, dilationH)
-- and PyTorch's nn.Conv3d(in, out, k [, {stride, padding, dilation, bias}]) are the same module.
local VConv, VConvParent = torch.class('nn.VolumetricConvolution', 'nn.Module')
function VConv:_setup(nIn, nOut, k, d, pad, dil, bias)
  VConvParent.__init(self)
  self.nInputPlane, self.nOutputPlane = nIn, nOut
  self.kT, self.kH, self.kW = k[1], k[2], k[3]
  self.dT, self.dH, self.dW = d[1], d[2], d[3]
  self.padT, self.padH, self.padW = pad[1], pad[2], pad[3]
  self.dilationT, self.dilationH, self.dilationW = dil[1], dil[2], dil[3]
  new_param(self, 'weight', nOut, nIn, self.kT, self.kH, self.kW)
  if bias ~= false then new_param(self, 'bias', nOut) end
  self:reset()
  self:_linkGradients()
end
function VConv:__init(nIn, nOut, kT, kW, kH, dT, dW, dH, padT, padW, padH)
  local f = 'nn.VolumetricConvolution'
  nIn, nOut = positive(f, 1, nIn, 2), positive(f, 2, nOut, 2)
  kT, kW, kH = positive(f, 3, kT, 2), positive(f, 4, kW, 2), positive(f, 5, kH, 2)
  dT, dW, dH = positive(f, 6, dT or 1, 2), positive(f, 7, dW or 1, 2), positive(f, 8, dH or 1, 2)
  padT, padW, padH = check.arg(f, 9, padT or 0, 'count', 2), check.arg(f, 10, padW or 0, 'count', 2),
                     check.arg(f, 11, padH or 0, 'count', 2)
  self:_setup(nIn, nOut, { kT, kH, kW }, { dT, dH, dW }, { padT, padH, padW }, { 1, 1, 1 })
end
function VConv:reset(stdv) return conv_reset(self, self.nInputPlane * self.kT * self.kH * self.kW, stdv) end
VConv.noBias = no_bias
function VConv:updateOutput(input)
  local x, added = volume_input(self, input)
  if x:size(2) ~= self.nInputPlane then
    error(('%s: expected %d input planes, got input [%s]'):format(torch.typename(self), self.nInputPlane, shape_str(input)), 3)
  end
  nn._checkDevice(self, x, self.weight, 3)
  local N, C, Hh, W = x:size(1), x:size(2), x:size(4), x:size(5)
  if self.padT > 0 then
    local z = torch.Tensor():typeAs(x):resize(N, C, self.padT, Hh, W):zero()
    x = torch.cat({ z, x, z }, 3)
  end
  local span = self.dilationT * (self.kT - 1) + 1
  local OT = (x:size(3) - span) // self.dT + 1
  if OT < 1 then
    error(('%s: the input [%s] is shorter than the kernel (%d frames)'):format(torch.typename(self), shape_str(input), span), 3)
  end
  local y
  for k = 1, self.kT do
    local idx = torch.LongTensor(OT)
    for t = 1, OT do idx[t] = (t - 1) * self.dT + (k - 1) * self.dilationT + 1 end
    local frames = x:index(3, idx):transpose(2, 3):contiguous():view(N * OT, C, Hh, W)
    local yk = torch._conv2d(frames, self.weight:select(3, k):contiguous(), nil, self.dH, self.dW,
                             self.padH, self.padW, self.dilationH, self.dilationW, 1)
    y = y and y + yk or yk
  end
  local OH, OW = y:size(3), y:size(4)
  y = y:view(N, OT, self.nOutputPlane, OH, OW):transpose(2, 3)
  if self.bias then y = y + self.bias:view(1, self.nOutputPlane, 1, 1, 1) end
  self.output = added and y:squeeze(1) or y
  return self.output
end
function VConv:__tostring__()
  return ('%s(%d -> %d, %dx%dx%d, %d,%d,%d, %d,%d,%d)'):format(torch.typename(self), self.nInputPlane,
    self.nOutputPlane, self.kT, self.kW, self.kH, self.dT, self.dW, self.dH, self.padT, self.padW, self.padH)
end

local VDilConv = torch.class('nn.VolumetricDilatedConvolution', 'nn.VolumetricConvolution')
function VDilConv:__init(nIn, nOut, kT, kW, kH, dT, dW, dH, padT, padW, padH, dilT, dilW, dilH)
  local f = 'nn.VolumetricDilatedConvolution'
  nIn, nOut = positive(f, 1, nIn, 2), positive(f, 2, nOut, 2)
  kT, kW, kH = positive(f, 3, kT, 2), positive(f, 4, kW, 2), positive(f, 5, kH, 2)
  dT, dW, dH = positive(f, 6, dT or 1, 2), positive(f, 7, dW or 1, 2), positive(f, 8, dH or 1, 2)
  padT, padW, padH = check.arg(f, 9, padT or 0, 'count', 2), check.arg(f, 10, padW or 0, 'count', 2),
                     check.arg(f, 11, padH or 0, 'count', 2)
  dilT, dilW, dilH = positive(f, 12, dilT or 1, 2), positive(f, 13, dilW or 1, 2), positive(f, 14, dilH or 1, 2)
  self:_setup(nIn, nOut, { kT, kH, kW }, { dT, dH, dW }, { padT, padH, padW }, { dilT, dilH, dilW })
end

local Conv3d = torch.class('nn.Conv3d', 'nn.VolumetricConvolution')
function Conv3d:__init(nIn, nOut, k, opts)
  local f = 'nn.Conv3d'
  nIn, nOut = positive(f, 1, nIn, 2), positive(f, 2, nOut, 2)
  if k == nil then check.argerror(f, 3, 'kernel size expected, got no value', 2) end
  local o = check.options(f, opts, { stride = 1, padding = 0, dilation = 1, bias = true,
                                     groups = check.unsupported(1), paddingMode = check.unsupported('zeros'),
                                     device = check.unsupported(nil), dtype = check.unsupported(nil) }, 3)
  local function triple(v, i, kind)
    local given = type(v) == 'table' and v or { v, v, v }
    if #given ~= 3 then check.argerror(f, i, ('expected a number or {t, h, w}, got a table of %d'):format(#given), 4) end
    local t = {}
    for j = 1, 3 do
      t[j] = kind == 'count' and check.arg(f, i, given[j], 'count', 4) or positive(f, i, given[j], 4)
    end
    return t
  end
  self:_setup(nIn, nOut, triple(k, 3), triple(o.stride, 4), triple(o.padding, 4, 'count'), triple(o.dilation, 4),
              check.arg(f, 4, o.bias, 'boolean', 2))
end

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

-- nn.DistanceRatioCriterion([sizeAverage = true]): {X, Y}, the N distances of similar and of
-- dissimilar pairs: -log(exp(-X) / (exp(-X) + exp(-Y))) = softplus(X - Y), summed (averaged
-- over N with sizeAverage); no target (forward(input) or forward(input, anything))
local Ratio, RatioParent = torch.class('nn.DistanceRatioCriterion', 'nn.Criterion')
function Ratio:__init(sizeAverage)
  RatioParent.__init(self)
  self.sizeAverage = check.arg('nn.DistanceRatioCriterion', 1, sizeAverage, 'boolean?', 2)
  if self.sizeAverage == nil then self.sizeAverage = true end
end
-- (updateGradInput stays nn.Criterion's: forward records the graph only for that one)
for _, m in ipairs({ 'forward', 'updateOutput', 'backward', '__call' }) do
  local parent_method = nn.Criterion[m]
  Ratio[m] = function(self, input, target) return parent_method(self, input, target == nil and 0 or target) end
end
function Ratio:loss(input)
  local name = 'nn.DistanceRatioCriterion'
  if type(input) ~= 'table' or not torch.isTensor(input[1]) or not torch.isTensor(input[2]) or input[3] ~= nil then
    error(('%s: expected a table of two tensors {X, Y} as input, got %s'):format(name, torch.typename(input) or type(input)), 3)
  end
  local X, Y = input[1], input[2]
  if X:nElement() ~= Y:nElement() or X:dim() ~= 1 or Y:dim() ~= 1 then
    error(('%s: X [%s] and Y [%s] must be two 1-D tensors of distances of one size'):format(name,
          shape_str(X), shape_str(Y)), 3)
  end
  local z = X - Y
  local l = torch.sum(torch.relu(z) + torch.log1p(torch.exp(torch.neg(torch.abs(z)))), 1):squeeze()
  return self.sizeAverage and torch.div(l, X:size(1)) or l
end

-- nn.SpatialAutoCropMSECriterion([sizeAverage = true]): the MSE between an input of
-- [N x] C x h x w and the centre h x w of a target [N x] C x H x W at least as large (rows and
-- columns from 1 + floor((H - h) / 2), Torch7's)
local AutoCrop = torch.class('nn.SpatialAutoCropMSECriterion', 'nn.MSECriterion')
function AutoCrop:__init(sizeAverage)
  check.arg('nn.SpatialAutoCropMSECriterion', 1, sizeAverage, 'boolean?', 2)
  nn.MSECriterion.__init(self, sizeAverage)
end
function AutoCrop:loss(input, target)
  local name = 'nn.SpatialAutoCropMSECriterion'
  if not torch.isTensor(input) or not torch.isTensor(target) then
    error(('%s: expected an input and a target tensor, got %s and %s'):format(name,
          torch.typename(input) or type(input), torch.typename(target) or type(target)), 3)
  end
  local d = input:dim()
  if (d ~= 3 and d ~= 4) or target:dim() ~= d then
    error(('%s: input [%s] and target [%s] must both be 3D (C x H x W) or 4D (N x C x H x W)'):format(name,
          shape_str(input), shape_str(target)), 3)
  end
  local h, w, H, W = input:size(d - 1), input:size(d), target:size(d - 1), target:size(d)
  local lead_ok = true
  for i = 1, d - 2 do lead_ok = lead_ok and input:size(i) == target:size(i) end
  if h > H or w > W or not lead_ok then
    error(('%s: the target [%s] must be the input [%s] with at least its height and width'):format(name,
          shape_str(target), shape_str(input)), 3)
  end
  local cropped = target:narrow(d - 1, 1 + (H - h) // 2, h):narrow(d, 1 + (W - w) // 2, w)
  return nn.MSECriterion.loss(self, input, cropped)
end

return nn
