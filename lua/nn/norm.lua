-- nn normalisation layers:
--
--   nn.BatchNormalization(nOutput [, eps = 1e-5, momentum = 0.1, affine = true])   Torch7
--   nn.BatchNorm1d(numFeatures [, {eps, momentum, affine, trackRunningStats}])   PyTorch
--       input N x C or N x C x L
--   nn.SpatialBatchNormalization(...) / nn.BatchNorm2d(...): input N x C x H x W
--   nn.VolumetricBatchNormalization(...) / nn.BatchNorm3d(...): input N x C x D x H x W
--   nn.LayerNorm(normalizedShape [, {eps = 1e-5, elementwiseAffine = true}])
--   nn.GroupNorm(numGroups, numChannels [, {eps = 1e-5, affine = true}])
--
-- Batch norm is one fused C kernel with a hand-written backward (core/conv.c): in training
-- it normalises by the batch's statistics and moves running_mean / running_var towards them
-- by momentum (the variance unbiased, as PyTorch); after m:evaluate() it uses the running
-- ones. LayerNorm and GroupNorm are written from tensor ops, so autograd differentiates them.
-- Names and shapes are PyTorch's (weight, bias, running_mean, running_var,
-- num_batches_tracked), so stateDict() loads into PyTorch and back.
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local shape_str = nn._shapeStr

local positive_int = nn._positive

local function number_opt(fname, what, v, level)
  if type(v) ~= 'number' or v ~= v or v < 0 then
    error(('%s: %s must be a non-negative number, got %s'):format(fname, what, tostring(v)), (level or 1) + 1)
  end
  return v
end

-- ---- batch normalisation -------------------------------------------------------------------------
local BN, BNParent = torch.class('nn.BatchNormalization', 'nn.Module')
BN.nDim = { 2, 3 }   -- accepted input dims (N x C, N x C x L)

function BN:_setup(n, eps, momentum, affine, track)
  BNParent.__init(self)
  local f = torch.typename(self)
  self.nOutput = n
  self.eps = number_opt(f, 'eps', eps, 4)
  self.momentum = number_opt(f, 'momentum', momentum, 4)
  self.affine = affine ~= false
  self.track_running_stats = track ~= false
  if self.affine then
    self.weight, self.gradWeight = torch.Tensor(n), torch.Tensor(n):zero()
    self.bias, self.gradBias = torch.Tensor(n), torch.Tensor(n):zero()
  end
  if self.track_running_stats then
    self.running_mean, self.running_var = torch.Tensor(n):zero(), torch.Tensor(n):fill(1)
    self.num_batches_tracked = torch.LongTensor(1):zero():view(1):squeeze()
  end
  self:reset()
  self:_linkGradients()
end

-- nn.BatchNormalization(nOutput [, eps = 1e-5 [, momentum = 0.1 [, affine = true]]])
function BN:__init(nOutput, eps, momentum, affine)
  local f = torch.typename(self) or 'nn.BatchNormalization'
  nOutput = positive_int(f, 1, nOutput, 2)
  if eps ~= nil then check.arg(f, 2, eps, 'number', 2) end
  if momentum ~= nil then check.arg(f, 3, momentum, 'number', 2) end
  if affine ~= nil then check.arg(f, 4, affine, 'boolean', 2) end
  self:_setup(nOutput, eps or 1e-5, momentum or 0.1, affine)
end

-- weight 1, bias 0 (PyTorch's reset_parameters; Torch7 drew the weight uniformly), running
-- statistics back to mean 0, variance 1
function BN:reset()
  torch.noGrad(function()
    if self.weight then self.weight:fill(1) self.bias:zero() end
    if self.running_mean then
      self.running_mean:zero()
      self.running_var:fill(1)
      self.num_batches_tracked:zero()
    end
  end)
  return self
end

function BN:namedBuffers()
  if not self.running_mean then return {} end
  return { { 'running_mean', self.running_mean }, { 'running_var', self.running_var },
           { 'num_batches_tracked', self.num_batches_tracked } }
end

function BN:updateOutput(input)
  local name = torch.typename(self)
  if not torch.isTensor(input) then
    error(('%s: expected a tensor input, got %s'):format(name, torch.typename(input) or type(input)), 3)
  end
  if input:isCuda() then error(('%s: not implemented for CUDA tensors yet'):format(name), 3) end
  local d, ok = input:dim(), false
  for _, n in ipairs(self.nDim) do ok = ok or d == n end
  if not ok or input:size(2) ~= self.nOutput then
    local forms = {}
    for _, n in ipairs(self.nDim) do
      forms[#forms + 1] = n == 2 and ('N x %d'):format(self.nOutput)
                          or n == 3 and ('N x %d x L'):format(self.nOutput)
                          or n == 5 and ('N x %d x D x H x W'):format(self.nOutput)
                          or ('N x %d x H x W'):format(self.nOutput)
    end
    error(('%s: expected input of size [%s], got [%s]'):format(name, table.concat(forms, '] or ['), shape_str(input)), 3)
  end
  local ref = self.weight or self.running_mean
  if ref and input:type() ~= ref:type() then
    error(('%s: the input is a %s, the module a %s (convert one with :type())'):format(name, input:type(), ref:type()), 3)
  end
  -- without running statistics, evaluation normalises by the batch's too (PyTorch)
  local training = self.train or not self.track_running_stats
  if self.train and self.track_running_stats then
    torch.noGrad(function() self.num_batches_tracked:add(1) end)
  end
  self.output = torch._batchNorm(input, self.weight, self.bias, self.running_mean, self.running_var,
                                 training, self.momentum, self.eps)
  return self.output
end

function BN:__tostring__()
  return ('%s(%d, eps %g, momentum %g%s)'):format(torch.typename(self), self.nOutput, self.eps, self.momentum,
                                                 self.affine and '' or ', without affine')
end

local bn_defaults = { eps = 1e-5, momentum = 0.1, affine = true, trackRunningStats = true,
                      device = check.unsupported(nil), dtype = check.unsupported(nil) }

local function pytorch_bn(name, torch7, nDim)
  local C = torch.class(name, torch7)
  C.nDim = nDim
  function C:__init(numFeatures, opts)
    numFeatures = positive_int(name, 1, numFeatures, 2)
    local o = check.options(name, opts, bn_defaults, 3)
    check.arg(name, 2, o.affine, 'boolean', 2)
    check.arg(name, 2, o.trackRunningStats, 'boolean', 2)
    self:_setup(numFeatures, o.eps, o.momentum, o.affine, o.trackRunningStats)
  end
end
pytorch_bn('nn.BatchNorm1d', 'nn.BatchNormalization', { 2, 3 })

-- nn.SpatialBatchNormalization(nOutput [, eps, momentum, affine]): N x C x H x W
local SBN = torch.class('nn.SpatialBatchNormalization', 'nn.BatchNormalization')
SBN.nDim = { 4 }
pytorch_bn('nn.BatchNorm2d', 'nn.SpatialBatchNormalization', { 4 })

-- nn.VolumetricBatchNormalization(nOutput [, eps, momentum, affine]): N x C x D x H x W
local VBN = torch.class('nn.VolumetricBatchNormalization', 'nn.BatchNormalization')
VBN.nDim = { 5 }
pytorch_bn('nn.BatchNorm3d', 'nn.VolumetricBatchNormalization', { 5 })

-- ---- layer normalisation -------------------------------------------------------------------------
local LN, LNParent = torch.class('nn.LayerNorm', 'nn.Module')

-- nn.LayerNorm(normalizedShape [, {eps = 1e-5, elementwiseAffine = true}]): the last
-- #normalizedShape dims of the input (a size or a list of sizes) are normalised together to
-- zero mean and unit (biased) variance, then scaled by weight and shifted by bias, both of
-- normalizedShape (ones and zeros at first)
function LN:__init(shape, opts)
  LNParent.__init(self)
  local f = 'nn.LayerNorm'
  if type(shape) ~= 'table' then shape = { positive_int(f, 1, shape, 2) } end
  if #shape == 0 then check.argerror(f, 1, 'expected a size or a list of sizes, got an empty table', 2) end
  for i, s in ipairs(shape) do
    if math.type(s) ~= 'integer' or s < 1 then
      check.argerror(f, 1, ('size %d of the normalized shape is %s, expected a positive integer'):format(i, tostring(s)), 2)
    end
  end
  local o = check.options(f, opts, { eps = 1e-5, elementwiseAffine = true, bias = true,
                                     device = check.unsupported(nil), dtype = check.unsupported(nil) }, 3)
  self.normalizedShape = { table.unpack(shape) }
  self.eps = number_opt(f, 'eps', o.eps, 3)
  self.elementwiseAffine = check.arg(f, 2, o.elementwiseAffine, 'boolean', 2)
  if self.elementwiseAffine then
    self.weight = torch.Tensor(table.unpack(shape))
    self.gradWeight = torch.Tensor(table.unpack(shape)):zero()
    if o.bias then
      self.bias = torch.Tensor(table.unpack(shape))
      self.gradBias = torch.Tensor(table.unpack(shape)):zero()
    end
  end
  self:reset()
  self:_linkGradients()
end

function LN:reset()
  torch.noGrad(function()
    if self.weight then self.weight:fill(1) end
    if self.bias then self.bias:zero() end
  end)
  return self
end

function LN:updateOutput(input)
  local f, shape = 'nn.LayerNorm', self.normalizedShape
  if not torch.isTensor(input) or not nn._floatingTypes[input:type()] then
    error(('%s: expected a FloatTensor or DoubleTensor input, got %s'):format(f, torch.typename(input) or type(input)), 3)
  end
  local d, k, D = input:dim(), #shape, 1
  local fits = d >= k
  for i = 1, k do
    fits = fits and input:size(d - k + i) == shape[i]
    D = D * shape[i]
  end
  if not fits then
    error(('%s: expected input of size [* x %s], got [%s]'):format(f, table.concat(shape, ' x '), shape_str(input)), 3)
  end
  if self.weight then nn._checkDevice(self, input, self.weight, 3) end
  local x = input:reshape(input:nElement() // D, D)
  local xc = x - x:mean(2)
  local y = torch.cmul(xc, torch.rsqrt(xc:var(2, true) + self.eps)):viewAs(input)
  if self.weight then y = torch.cmul(y, self.weight) end
  if self.bias then y = y + self.bias end
  self.output = y
  return y
end

function LN:__tostring__()
  return ('nn.LayerNorm(%s, eps %g%s)'):format(table.concat(self.normalizedShape, ' x '), self.eps,
                                              self.elementwiseAffine and '' or ', without affine')
end

-- ---- group normalisation -------------------------------------------------------------------------
local GN, GNParent = torch.class('nn.GroupNorm', 'nn.Module')

-- nn.GroupNorm(numGroups, numChannels [, {eps = 1e-5, affine = true}]): input N x C x ...;
-- each sample's channels split into numGroups groups, each group normalised over its
-- channels and positions, then a per-channel weight and bias
function GN:__init(groups, channels, opts)
  GNParent.__init(self)
  local f = 'nn.GroupNorm'
  self.numGroups, self.numChannels = positive_int(f, 1, groups, 2), positive_int(f, 2, channels, 2)
  if channels % groups ~= 0 then
    error(('%s: %d channels do not split into %d groups'):format(f, channels, groups), 3)
  end
  local o = check.options(f, opts, { eps = 1e-5, affine = true, device = check.unsupported(nil),
                                     dtype = check.unsupported(nil) }, 3)
  self.eps = number_opt(f, 'eps', o.eps, 3)
  self.affine = check.arg(f, 3, o.affine, 'boolean', 2)
  if self.affine then
    self.weight, self.gradWeight = torch.Tensor(channels), torch.Tensor(channels):zero()
    self.bias, self.gradBias = torch.Tensor(channels), torch.Tensor(channels):zero()
  end
  self:reset()
  self:_linkGradients()
end
GN.reset = LN.reset

function GN:updateOutput(input)
  local f = 'nn.GroupNorm'
  if not torch.isTensor(input) or not nn._floatingTypes[input:type()] then
    error(('%s: expected a FloatTensor or DoubleTensor input, got %s'):format(f, torch.typename(input) or type(input)), 3)
  end
  if input:dim() < 2 or input:size(2) ~= self.numChannels then
    error(('%s: expected input of size [N x %d x ...], got [%s]'):format(f, self.numChannels, shape_str(input)), 3)
  end
  if self.weight then nn._checkDevice(self, input, self.weight, 3) end
  local N = input:size(1)
  local x = input:reshape(N, self.numGroups, input:nElement() // (N * self.numGroups))
  local xc = x - x:mean(3)
  local y = torch.cmul(xc, torch.rsqrt(xc:var(3, true) + self.eps)):viewAs(input)
  if self.weight then
    local shape = { 1, self.numChannels }   -- per channel: C x 1 x ... against N x C x ...
    for _ = 3, input:dim() do shape[#shape + 1] = 1 end
    y = torch.cmul(y, self.weight:view(table.unpack(shape))) + self.bias:view(table.unpack(shape))
  end
  self.output = y
  return y
end

function GN:__tostring__()
  return ('nn.GroupNorm(%d, %d, eps %g)'):format(self.numGroups, self.numChannels, self.eps)
end

return nn
