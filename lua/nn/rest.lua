-- The last of torch/nn's documented modules (issue 22), Torch7's constructors and semantics:
--
--   nn.LinearWeightNorm(inputSize, outputSize [, bias = true, eps = 1e-16])   y = x (g v/|v|)^T + b
--   nn.SparseLinear(inputSize, outputSize [, doGradInput])   input: nnz x 2 (index, value) rows
--   nn.PartialLinear(inputSize, outputSize [, bias = true])  :setPartition(outputs) / :resetPartition()
--   nn.IndexLinear(inputSize, outputSize [, doGradInput, keysOffset, weight, bias])   {keys, values[, sizes]}
--   nn.tables.full(nin, nout), nn.tables.oneToOne(n), nn.tables.random(nin, nout, nto)
--   nn.SpatialConvolutionMap(connTable, kW, kH [, dW = 1, dH = 1])   a sparse connection table
--   nn.SpatialConvolutionLocal(nIn, nOut, iW, iH, kW, kH [, dW, dH, padW, padH])   unshared weights
--   nn.SpatialSubtractiveNormalization([nInputPlane = 1, kernel = ones(9, 9)])
--   nn.ClassSimplexCriterion(nClasses)   MSE to the vertices of a regular simplex
--   nn.VolumetricFullConvolution(nIn, nOut, kT, kW, kH [, dT, dW, dH, padT, padW, padH, adjT, adjW, adjH])
--   nn.SpatialFractionalMaxPooling(kW, kH, outW, outH | ratioW, ratioH), nn.VolumetricFractionalMaxPooling
--
-- Each is written on existing ops (linear, index, conv2d, bmm, gather), so autograd gives the backward.
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local shape_str = nn._shapeStr

local positive = nn._positive

local function count(fname, i, v, level)
  v = check.arg(fname, i, v, 'count', (level or 1) + 1)
  return v
end

-- a float tensor input of one of the dim counts in `dims`, else an error naming the module
local function input_of(self, input, dims, what)
  local name = torch.typename(self)
  if not torch.isTensor(input) or not pcall(input.dim, input) then
    error(('%s: expected a tensor input, got %s'):format(name, torch.typename(input) or type(input)), 4)
  end
  if not nn._floatingTypes[input:type()] then
    error(('%s: expected a FloatTensor or DoubleTensor input, got %s'):format(name, input:type()), 4)
  end
  if not dims[input:dim()] then
    error(('%s: expected a %s input, got [%s]'):format(name, what, shape_str(input)), 4)
  end
  return input
end

-- ---- LinearWeightNorm -------------------------------------------------------------------------
-- The weight is g * v / |v| row by row (Salimans and Kingma's weight normalisation): the
-- parameters are v (outputSize x inputSize), g (outputSize x 1) and the bias; self.weight is
-- the product, rebuilt by every forward. PyTorch's twin is nn.utils.weight_norm(nn.Linear)
-- (its weight_v, weight_g: the names namedParameters gives).
local LWN, LWNParent = torch.class('nn.LinearWeightNorm', 'nn.Module')
function LWN:__init(inputSize, outputSize, bias, eps)
  LWNParent.__init(self)
  local f = 'nn.LinearWeightNorm'
  self.inputSize, self.outputSize = positive(f, 1, inputSize, 2), positive(f, 2, outputSize, 2)
  check.arg(f, 3, bias, 'boolean?', 2)
  self.eps = check.arg(f, 4, eps, 'number?', 2) or 1e-16
  if not (self.eps >= 0) then check.argerror(f, 4, ('expected eps >= 0, got %s'):format(tostring(eps)), 2) end
  self.v = check.call(f, 2, pcall(torch.Tensor, self.outputSize, self.inputSize))
  self.gradV = torch.Tensor(self.outputSize, self.inputSize):zero()
  self.g = torch.Tensor(self.outputSize, 1)
  self.gradG = torch.Tensor(self.outputSize, 1):zero()
  if bias ~= false then
    self.bias = torch.Tensor(self.outputSize)
    self.gradBias = torch.Tensor(self.outputSize):zero()
  end
  self:reset()
  self:_linkGradients()
end
function LWN:parameters()
  if self.bias then return { self.v, self.g, self.bias }, { self.gradV, self.gradG, self.gradBias } end
  return { self.v, self.g }, { self.gradV, self.gradG }
end
function LWN:namedParameters()
  local list = { { 'weight_v', self.v, self.gradV }, { 'weight_g', self.g, self.gradG } }
  if self.bias then list[3] = { 'bias', self.bias, self.gradBias } end
  return list
end
-- Torch7's: a uniform weight in +-1/sqrt(inputSize) (stdv * sqrt(3) when given), then v = that
-- weight and g its row norms
function LWN:reset(stdv)
  stdv = stdv and stdv * math.sqrt(3) or 1 / math.sqrt(self.inputSize)
  torch.noGrad(function()
    local w = torch.Tensor(self.outputSize, self.inputSize):type(self.v:type()):uniform(-stdv, stdv)
    self:initFromWeight(w)
    if self.bias then self.bias:uniform(-stdv, stdv) end
  end)
  return self
end
-- v = weight, g = its row norms (the module then computes that weight); weight defaults to self.weight
function LWN:initFromWeight(weight)
  weight = weight or self.weight
  if not torch.isTensor(weight) or weight:dim() ~= 2 or weight:size(1) ~= self.outputSize or
     weight:size(2) ~= self.inputSize then
    check.argerror('initFromWeight', 1, ('expected a %d x %d weight'):format(self.outputSize, self.inputSize), 2)
  end
  torch.noGrad(function()
    self.g:copy(torch.clamp(torch.norm(weight, 2, 2), self.eps, math.huge))
    self.v:copy(weight)
  end)
  return self
end
-- g * v / max(|v|, eps), recorded (autograd reaches v and g through it)
function LWN:_weight()
  local norm = torch.clamp(torch.norm(self.v, 2, 2), self.eps, math.huge)
  return torch.cmul(self.v, torch.cdiv(self.g, norm))
end
function LWN:updateWeightMatrix()
  self.weight = torch.noGrad(function() return self:_weight() end)
  return self
end
function LWN:updateOutput(input)
  input_of(self, input, { [1] = true, [2] = true }, ('[N x %d] or [%d]'):format(self.inputSize, self.inputSize))
  if input:size(input:dim()) ~= self.inputSize then
    error(('%s(%d -> %d): expected input of size [N x %d] or [%d], got [%s]'):format(torch.typename(self),
          self.inputSize, self.outputSize, self.inputSize, self.inputSize, shape_str(input)), 3)
  end
  nn._checkDevice(self, input, self.v, 3)
  local w = self:_weight()
  self.weight = w:detach()
  self.output = torch.linear(input, w, self.bias)
  return self.output
end
-- nn.LinearWeightNorm.fromLinear(linear) / m:toLinear(): conversions keeping the function
function LWN.fromLinear(linear)
  if not torch.isTypeOf(linear, 'nn.Linear') then check.argerror('fromLinear', 1, 'expected an nn.Linear', 2) end
  local m = nn.LinearWeightNorm(linear.inputSize, linear.outputSize, linear.bias ~= nil)
  m:type(linear.weight:type())
  m:initFromWeight(linear.weight)
  if linear.bias then torch.noGrad(function() m.bias:copy(linear.bias) end) end
  return m
end
function LWN:toLinear()
  local l = nn.Linear(self.inputSize, self.outputSize, self.bias ~= nil):type(self.v:type())
  torch.noGrad(function()
    l.weight:copy(self:_weight())
    if self.bias then l.bias:copy(self.bias) end
  end)
  return l
end
function LWN:__tostring__()
  return ('nn.LinearWeightNorm(%d -> %d)%s'):format(self.inputSize, self.outputSize, self.bias and '' or ' without bias')
end

-- ---- SparseLinear -----------------------------------------------------------------------------
-- A linear layer on sparse inputs: a sample is an nnz x 2 tensor of (1-based input index,
-- value) rows; a batch is a table of them or (Torch7's legacy form) an N x nnz x 2 tensor.
-- y = bias + sum over rows of value * weight[:, index]. Gradients reach the weight, the bias
-- and the value column (the index column gets none). Torch7 scales the initial bias by 1e-6.
local SL, SLParent = torch.class('nn.SparseLinear', 'nn.Module')
function SL:__init(inputSize, outputSize, doGradInput)
  SLParent.__init(self)
  local f = 'nn.SparseLinear'
  self.inputSize, self.outputSize = positive(f, 1, inputSize, 2), positive(f, 2, outputSize, 2)
  self.doGradInput = check.arg(f, 3, doGradInput, 'boolean?', 2) or false
  self.weight = check.call(f, 2, pcall(torch.Tensor, self.outputSize, self.inputSize))
  self.gradWeight = torch.Tensor(self.outputSize, self.inputSize):zero()
  self.bias = torch.Tensor(self.outputSize)
  self.gradBias = torch.Tensor(self.outputSize):zero()
  self:reset()
  self:_linkGradients()
end
function SL:reset(stdv)
  stdv = stdv and stdv * math.sqrt(3) or 1 / math.sqrt(self.inputSize)
  torch.noGrad(function()
    self.weight:uniform(-stdv, stdv)
    self.bias:uniform(-stdv, stdv):mul(1e-6)
  end)
  return self
end
-- one sample's output (outputSize)
function SL:_sample(x)
  if not torch.isTensor(x) or x:dim() ~= 2 or x:size(2) ~= 2 or not nn._floatingTypes[x:type()] then
    error(('%s: expected a sample of nnz x 2 (index, value) rows, got %s'):format(torch.typename(self),
          torch.isTensor(x) and '[' .. shape_str(x) .. ']' or type(x)), 4)
  end
  if x:size(1) == 0 then return self.bias * 1 end
  local idx = x:select(2, 1):detach():long()
  local lo, hi = idx:min(), idx:max()
  if lo < 1 or hi > self.inputSize then
    error(('%s: input index %d is outside [1, %d]'):format(torch.typename(self), lo < 1 and lo or hi,
          self.inputSize), 4)
  end
  return torch.mv(self.weight:index(2, idx), x:select(2, 2)) + self.bias
end
function SL:updateOutput(input)
  nn._checkDevice(self, torch.isTensor(input) and input or self.weight, self.weight, 3)
  if torch.isTensor(input) and input:dim() == 3 then
    local rows = {}
    for i = 1, input:size(1) do rows[i] = self:_sample(input[i]) end
    self.output = torch.stack(rows, 1)
  elseif torch.isTensor(input) then
    self.output = self:_sample(input)
  elseif type(input) == 'table' then
    if #input == 0 then
      self.output = self.bias:view(1, self.outputSize) * 1
    else
      local rows = {}
      for i = 1, #input do rows[i] = self:_sample(input[i]) end
      self.output = torch.stack(rows, 1)
    end
  else
    error(('%s: expected an nnz x 2 tensor, a table of them or an N x nnz x 2 tensor, got %s')
          :format(torch.typename(self), type(input)), 3)
  end
  return self.output
end
function SL:__tostring__() return ('nn.SparseLinear(%d -> %d)'):format(self.inputSize, self.outputSize) end

-- ---- PartialLinear ----------------------------------------------------------------------------
-- A linear layer computing only some of its outputs: setPartition(indices) (1-based output
-- units) restricts forward to those columns of the result; resetPartition() brings back all of
-- them. Weight outputSize x inputSize, bias 1 x outputSize (Torch7's shapes).
local PL, PLParent = torch.class('nn.PartialLinear', 'nn.Module')
function PL:__init(inputSize, outputSize, bias)
  PLParent.__init(self)
  local f = 'nn.PartialLinear'
  self.inputsize, self.outputsize = positive(f, 1, inputSize, 2), positive(f, 2, outputSize, 2)
  check.arg(f, 3, bias, 'boolean?', 2)
  self.weight = check.call(f, 2, pcall(torch.Tensor, self.outputsize, self.inputsize))
  self.gradWeight = torch.Tensor(self.outputsize, self.inputsize):zero()
  if bias ~= false then
    self.bias = torch.Tensor(1, self.outputsize):zero()
    self.gradBias = torch.Tensor(1, self.outputsize):zero()
  end
  self:reset()
  self:resetPartition()
  self:_linkGradients()
end
-- Torch7's: the weight as a LookupTable's (normal), the bias zero
function PL:reset(stdv)
  torch.noGrad(function()
    if stdv then self.weight:uniform(-stdv * math.sqrt(3), stdv * math.sqrt(3)) else self.weight:normal(0, 1) end
    if self.bias then self.bias:zero() end
  end)
  return self
end
function PL:setPartition(indices)
  if not torch.isTensor(indices) or indices:dim() ~= 1 or indices:nElement() == 0 then
    check.argerror('setPartition', 1, 'expected a non-empty 1-D tensor of output indices', 2)
  end
  local idx = indices:long()
  if idx:min() < 1 or idx:max() > self.outputsize then
    check.argerror('setPartition', 1, ('indices must be in [1, %d], got [%d, %d]'):format(self.outputsize,
                   idx:min(), idx:max()), 2)
  end
  self.partition = idx
  return self
end
function PL:resetPartition()
  self.partition = torch.range(1, self.outputsize):long()
  return self
end
function PL:updateOutput(input)
  input_of(self, input, { [1] = true, [2] = true }, ('[N x %d] or [%d]'):format(self.inputsize, self.inputsize))
  if input:size(input:dim()) ~= self.inputsize then
    error(('%s(%d -> %d): expected input of size [N x %d] or [%d], got [%s]'):format(torch.typename(self),
          self.inputsize, self.outputsize, self.inputsize, self.inputsize, shape_str(input)), 3)
  end
  nn._checkDevice(self, input, self.weight, 3)
  local w = self.weight:index(1, self.partition)
  local b = self.bias and self.bias:index(2, self.partition):view(-1)
  self.output = torch.linear(input, w, b)
  return self.output
end
function PL:__tostring__()
  return ('nn.PartialLinear(%d -> %d)%s'):format(self.inputsize, self.outputsize, self.bias and '' or ' without bias')
end

-- ---- connection tables and SpatialConvolutionMap ----------------------------------------------
-- A connection table is a K x 2 tensor of (input plane, output plane) pairs, 1-based.
nn.tables = nn.tables or {}
function nn.tables.full(nin, nout)
  nin, nout = positive('full', 1, nin, 2), positive('full', 2, nout, 2)
  local t = torch.Tensor(nin * nout, 2)
  local k = 1
  for o = 1, nout do
    for i = 1, nin do
      t[k][1], t[k][2], k = i, o, k + 1
    end
  end
  return t
end
function nn.tables.oneToOne(n)
  n = positive('oneToOne', 1, n, 2)
  local r = torch.range(1, n)
  return torch.stack({ r, r }, 2)
end
-- each output plane connected to nto input planes drawn at random: distinct ones while a
-- permutation of the inputs lasts, then a fresh permutation (Torch7's scheme)
function nn.tables.random(nin, nout, nto)
  nin, nout, nto = positive('random', 1, nin, 2), positive('random', 2, nout, 2), positive('random', 3, nto, 2)
  if nto > nin then check.argerror('random', 3, ('expected at most nin = %d inputs per output, got %d'):format(nin, nto), 2) end
  local t = torch.Tensor(nto * nout, 2)
  local perm, used = torch.randperm(nin), 0
  local k = 1
  for o = 1, nout do
    if used + nto > nin then perm, used = torch.randperm(nin), 0 end
    for j = 1, nto do
      t[k][1], t[k][2], k = perm[used + j], o, k + 1
    end
    used = used + nto
  end
  return t
end

-- nn.SpatialConvolutionMap(connTable, kW, kH [, dW, dH]): output plane o = bias[o] + the sum,
-- over the table's rows k = (i, o), of plane i correlated with weight[k] (kH x kW). Weight
-- K x kH x kW, bias nOutputPlane (Torch7's shapes). Run as one dense convolution whose weight
-- is the sparse one scattered by a constant 0/1 matrix (so its gradient is gathered back).
local SCM, SCMParent = torch.class('nn.SpatialConvolutionMap', 'nn.Module')
function SCM:__init(connTable, kW, kH, dW, dH)
  SCMParent.__init(self)
  local f = 'nn.SpatialConvolutionMap'
  check.arg(f, 1, connTable, 'tensor', 2)
  if connTable:dim() ~= 2 or connTable:size(2) ~= 2 or connTable:size(1) < 1 then
    check.argerror(f, 1, ('expected a K x 2 connection table, got [%s]'):format(shape_str(connTable)), 2)
  end
  local tbl = connTable:double()
  if tbl:min() < 1 or (tbl - tbl:floor()):abs():max() > 0 then
    check.argerror(f, 1, 'expected positive integer plane numbers in the connection table', 2)
  end
  self.kW, self.kH = positive(f, 2, kW, 2), positive(f, 3, kH, 2)
  self.dW, self.dH = positive(f, 4, dW or 1, 2), positive(f, 5, dH or 1, 2)
  self.connTable = connTable
  self.nInputPlane = math.tointeger(tbl:select(2, 1):max())
  self.nOutputPlane = math.tointeger(tbl:select(2, 2):max())
  local K = connTable:size(1)
  self.weight = torch.Tensor(K, self.kH, self.kW)
  self.gradWeight = torch.Tensor(K, self.kH, self.kW):zero()
  self.bias = torch.Tensor(self.nOutputPlane)
  self.gradBias = torch.Tensor(self.nOutputPlane):zero()
  -- scatter[(o - 1) * nIn + i][k] = 1 for row k = (i, o)
  self._scatter = torch.zeros(self.nOutputPlane * self.nInputPlane, K)
  for k = 1, K do
    local i, o = math.tointeger(tbl[k][1]), math.tointeger(tbl[k][2])
    self._scatter[(o - 1) * self.nInputPlane + i][k] = 1
  end
  self:reset()
  self:_linkGradients()
end
-- Torch7's: weights uniform in +-1/sqrt(kW * kH * inputs of their output plane), the bias
-- of each output plane in +-1/sqrt(kW * kH * its inputs)
function SCM:reset(stdv)
  torch.noGrad(function()
    if stdv then
      stdv = stdv * math.sqrt(3)
      self.weight:uniform(-stdv, stdv)
      self.bias:uniform(-stdv, stdv)
      return
    end
    local fan = torch.zeros(self.nOutputPlane)
    for k = 1, self.connTable:size(1) do
      local o = math.tointeger(self.connTable[k][2] + 0)
      fan[o] = fan[o] + 1
    end
    for k = 1, self.connTable:size(1) do
      local s = 1 / math.sqrt(self.kW * self.kH * fan[math.tointeger(self.connTable[k][2] + 0)])
      self.weight[k]:uniform(-s, s)
    end
    for o = 1, self.nOutputPlane do
      local s = 1 / math.sqrt(self.kW * self.kH * math.max(fan[o], 1))
      self.bias[o] = torch.uniform(-s, s)
    end
  end)
  return self
end
function SCM:updateOutput(input)
  input_of(self, input, { [3] = true, [4] = true }, '3D (C x H x W) or 4D (N x C x H x W)')
  local x = input:dim() == 3 and input:unsqueeze(1) or input
  if x:size(2) ~= self.nInputPlane or x:size(3) < self.kH or x:size(4) < self.kW then
    error(('%s: expected %d planes of at least %d x %d, got input [%s]'):format(torch.typename(self),
          self.nInputPlane, self.kH, self.kW, shape_str(input)), 3)
  end
  nn._checkDevice(self, x, self.weight, 3)
  local K = self.weight:size(1)
  local S = self._scatter:type(self.weight:type())
  self._scatter = S
  local dense = torch.mm(S, self.weight:view(K, self.kH * self.kW))
    :view(self.nOutputPlane, self.nInputPlane, self.kH, self.kW)
  local y = torch._conv2d(x, dense, self.bias, self.dH, self.dW, 0, 0, 1, 1, 1)
  self.output = input:dim() == 3 and y:squeeze(1) or y
  return self.output
end
function SCM:__tostring__()
  return ('nn.SpatialConvolutionMap(%d -> %d, %dx%d, %d,%d)'):format(self.nInputPlane, self.nOutputPlane,
          self.kW, self.kH, self.dW, self.dH)
end

-- ---- SpatialConvolutionLocal ------------------------------------------------------------------
-- A convolution without weight sharing: every output position has its own filters. Weight
-- oH x oW x nOutputPlane x (nInputPlane * kH * kW), bias nOutputPlane x oH x oW (Torch7's).
-- The patches come from a grouped convolution with one-hot filters (the im2col of
-- core/conv.c, differentiable), then one batched product per output position.
local SCL, SCLParent = torch.class('nn.SpatialConvolutionLocal', 'nn.Module')
function SCL:__init(nInputPlane, nOutputPlane, iW, iH, kW, kH, dW, dH, padW, padH)
  SCLParent.__init(self)
  local f = 'nn.SpatialConvolutionLocal'
  self.nInputPlane, self.nOutputPlane = positive(f, 1, nInputPlane, 2), positive(f, 2, nOutputPlane, 2)
  self.iW, self.iH = positive(f, 3, iW, 2), positive(f, 4, iH, 2)
  self.kW, self.kH = positive(f, 5, kW, 2), positive(f, 6, kH, 2)
  self.dW, self.dH = positive(f, 7, dW or 1, 2), positive(f, 8, dH or 1, 2)
  self.padW = count(f, 9, padW or 0, 2)
  self.padH = count(f, 10, padH or self.padW, 2)
  self.oW = (self.iW + 2 * self.padW - self.kW) // self.dW + 1
  self.oH = (self.iH + 2 * self.padH - self.kH) // self.dH + 1
  if self.oW < 1 or self.oH < 1 then
    check.argerror(f, 5, ('the %d x %d kernel is larger than the padded %d x %d input'):format(self.kW, self.kH,
                   self.iW, self.iH), 2)
  end
  local K = self.nInputPlane * self.kH * self.kW
  self.weight = check.call(f, 2, pcall(torch.Tensor, self.oH, self.oW, self.nOutputPlane, K))
  self.gradWeight = torch.Tensor(self.oH, self.oW, self.nOutputPlane, K):zero()
  self.bias = torch.Tensor(self.nOutputPlane, self.oH, self.oW)
  self.gradBias = torch.Tensor(self.nOutputPlane, self.oH, self.oW):zero()
  self:reset()
  self:_linkGradients()
end
function SCL:reset(stdv)
  return nn._uniformReset(self, self.kW * self.kH * self.nInputPlane, stdv and stdv * math.sqrt(3))
end
-- one-hot filters: output channel (c, i, j) of group c picks tap (i, j)
function SCL:_picker(dtype)
  if not self._pick or self._pick:type() ~= dtype then
    local T = self.kH * self.kW
    local p = torch.zeros(self.nInputPlane * T, 1, self.kH, self.kW)
    for c = 0, self.nInputPlane - 1 do
      for t = 0, T - 1 do p[c * T + t + 1][1][t // self.kW + 1][t % self.kW + 1] = 1 end
    end
    self._pick = p:type(dtype)
  end
  return self._pick
end
function SCL:updateOutput(input)
  input_of(self, input, { [3] = true, [4] = true }, '3D (C x H x W) or 4D (N x C x H x W)')
  local x = input:dim() == 3 and input:unsqueeze(1) or input
  if x:size(2) ~= self.nInputPlane or x:size(3) ~= self.iH or x:size(4) ~= self.iW then
    error(('%s: expected input of %d x %d x %d (C x H x W), got [%s]'):format(torch.typename(self),
          self.nInputPlane, self.iH, self.iW, shape_str(input)), 3)
  end
  nn._checkDevice(self, x, self.weight, 3)
  local N, P, K = x:size(1), self.oH * self.oW, self.nInputPlane * self.kH * self.kW
  local cols = torch._conv2d(x, self:_picker(x:type()), nil, self.dH, self.dW, self.padH, self.padW, 1, 1,
                             self.nInputPlane)                               -- N x K x oH x oW
  cols = cols:view(N, K, P):permute(3, 2, 1):contiguous()                    -- P x K x N
  local y = torch.bmm(self.weight:view(P, self.nOutputPlane, K), cols)        -- P x nOut x N
  y = y:permute(3, 2, 1):contiguous():view(N, self.nOutputPlane, self.oH, self.oW)
  y = y + self.bias:view(1, self.nOutputPlane, self.oH, self.oW)
  self.output = input:dim() == 3 and y:squeeze(1) or y
  return self.output
end
function SCL:_clearState() self._pick = nil end
function SCL:__tostring__()
  return ('nn.SpatialConvolutionLocal(%d -> %d, %dx%d, %dx%d, %d,%d, %d,%d)'):format(self.nInputPlane,
          self.nOutputPlane, self.iW, self.iH, self.kW, self.kH, self.dW, self.dH, self.padW, self.padH)
end

-- ---- SpatialSubtractiveNormalization ----------------------------------------------------------
-- Subtracts from every plane the local weighted mean over all planes: mean = the input
-- correlated with the kernel (zero padded to keep the size, summed over planes), divided by
-- the same of an all-ones input, so the kernel's scale does not matter and borders average
-- what they have. A 1-D kernel k stands for the separable 2-D kernel k k^T (Torch7's).
-- The averaging kernel argument (#2) of f, the local normalisations' constructors (also
-- Divisive and Contrastive, nn/rest2.lua): ones(9, 9) by default, 1-D or 2-D with odd sizes,
-- floating; level as check.argerror's, from the caller.
function nn._normKernel(f, kernel, level)
  check.arg(f, 2, kernel, 'tensor?', level + 1)
  kernel = kernel or torch.ones(9, 9)
  if kernel:dim() ~= 1 and kernel:dim() ~= 2 then
    check.argerror(f, 2, ('expected a 1-D or 2-D averaging kernel, got [%s]'):format(shape_str(kernel)),
                   level + 1)
  end
  if kernel:size(1) % 2 == 0 or (kernel:dim() == 2 and kernel:size(2) % 2 == 0) then
    check.argerror(f, 2, ('the averaging kernel must have odd sizes, got [%s]'):format(shape_str(kernel)),
                   level + 1)
  end
  if not nn._floatingTypes[kernel:type()] then kernel = kernel:double() end
  return kernel
end

local SSN, SSNParent = torch.class('nn.SpatialSubtractiveNormalization', 'nn.Module')
function SSN:__init(nInputPlane, kernel)
  SSNParent.__init(self)
  local f = 'nn.SpatialSubtractiveNormalization'
  self.nInputPlane = positive(f, 1, nInputPlane or 1, 2)
  kernel = nn._normKernel(f, kernel, 2)
  -- Torch7's normalisation (sum(kernel) * nInputPlane): kept for code that reads .kernel
  self.kernel = torch.div(kernel, kernel:sum() * self.nInputPlane)
  local k2 = kernel:dim() == 2 and kernel or torch.ger(kernel, kernel)
  self._k2 = k2:contiguous()
end
function SSN:updateOutput(input)
  input_of(self, input, { [3] = true, [4] = true }, '3D (C x H x W) or 4D (N x C x H x W)')
  local x = input:dim() == 3 and input:unsqueeze(1) or input
  if x:size(2) ~= self.nInputPlane then
    error(('%s: expected %d planes, got input [%s]'):format(torch.typename(self), self.nInputPlane,
          shape_str(input)), 3)
  end
  local C, kH, kW = self.nInputPlane, self._k2:size(1), self._k2:size(2)
  local k = self._k2:type(x:type())
  local w = k:view(1, 1, kH, kW):expand(1, C, kH, kW):contiguous()
  local ph, pw = kH // 2, kW // 2
  local sums = torch._conv2d(x, w, nil, 1, 1, ph, pw, 1, 1, 1)                  -- N x 1 x H x W
  local coef = torch.noGrad(function()
    return torch._conv2d(torch.ones(1, C, x:size(3), x:size(4)):type(x:type()), w, nil, 1, 1, ph, pw, 1, 1, 1)
  end)
  local y = x - torch.cdiv(sums, coef)
  self.output = input:dim() == 3 and y:squeeze(1) or y
  return self.output
end
function SSN:__tostring__()
  return ('nn.SpatialSubtractiveNormalization(%d, [%s])'):format(self.nInputPlane, shape_str(self.kernel))
end

-- ---- ClassSimplexCriterion --------------------------------------------------------------------
-- MSE between the input (N x nClasses, or nClasses) and the target classes' embeddings: the
-- vertices of a regular simplex centred at 0 (unit norm, every pair's dot product -1/(n-1)),
-- in nClasses - 1 dims padded with a zero column to nClasses. A target is a class number, a
-- 1-D tensor of them, or already embedded (2-D).
local CSC, CSCParent = torch.class('nn.ClassSimplexCriterion', 'nn.MSECriterion')

-- The n + 1 vertices of a regular simplex in n dims, rows of an (n + 1) x n tensor. Vertex k
-- is zero after coordinate k; its coordinate k makes its norm 1, and every later vertex shares
-- one value c in coordinate k, chosen so that their dot product with vertex k is -1/n.
local function simplex(n)
  local a = torch.zeros(n + 1, n):double()
  for k = 1, n do
    local rest = 0
    for j = 1, k - 1 do rest = rest + a[k][j] ^ 2 end
    local akk = math.sqrt(1 - rest)
    a[k][k] = akk
    local c = (-1 / n - rest) / akk
    for j = k + 1, n + 1 do a[j][k] = c end
  end
  return a
end

function CSC:__init(nClasses)
  local f = 'nn.ClassSimplexCriterion'
  nClasses = check.arg(f, 1, nClasses, 'integer', 2)
  if nClasses < 2 then check.argerror(f, 1, ('expected at least 2 classes, got %d'):format(nClasses), 2) end
  CSCParent.__init(self)
  self.nClasses = nClasses
  self.simplex = torch.cat(simplex(nClasses - 1), torch.zeros(nClasses, 1):double(), 2)
end
function CSC:_target(input, target)
  local f = torch.typename(self)
  local S = self.simplex:type(input:type())
  local function class(c)
    if math.type(c) ~= 'integer' and not (type(c) == 'number' and c == math.floor(c)) or c < 1 or c > self.nClasses then
      error(('%s: expected class numbers in [1, %d], got %s'):format(f, self.nClasses, tostring(c)), 5)
    end
    return math.tointeger(c)
  end
  if type(target) == 'number' then return S[class(target)] end
  if torch.isTensor(target) and target:dim() == 1 then
    local t = target:double()
    local idx = torch.LongTensor(t:size(1))
    for i = 1, t:size(1) do idx[i] = class(t[i]) end
    return S:index(1, idx)
  end
  if torch.isTensor(target) and target:dim() == 2 then return target end
  error(('%s: expected a class number, a 1-D tensor of them or a 2-D embedded target, got %s'):format(f,
        torch.isTensor(target) and '[' .. shape_str(target) .. ']' or type(target)), 5)
end
function CSC:loss(input, target)
  if not torch.isTensor(input) or not nn._floatingTypes[input:type()] then
    error(('%s: expected a float tensor input, got %s'):format(torch.typename(self), torch.typename(input) or type(input)), 4)
  end
  local t = self:_target(input, target)
  if t:nElement() ~= input:nElement() then
    error(('%s: input [%s] does not match the %d-class targets [%s]'):format(torch.typename(self),
          shape_str(input), self.nClasses, shape_str(t)), 4)
  end
  return CSCParent.loss(self, input, t:viewAs(input))
end
-- scores of each class: the input's dot products with the vertices (N x nClasses)
function CSC:getPredictions(input)
  if not torch.isTensor(input) or input:size(input:dim()) ~= self.nClasses then
    check.argerror('getPredictions', 1, ('expected an [N x %d] or [%d] input'):format(self.nClasses, self.nClasses), 2)
  end
  local x = input:dim() == 1 and input:view(1, -1) or input
  return torch.mm(x, self.simplex:type(x:type()):t())
end
-- the best class of each sample (LongTensor) and its score
function CSC:getTopPrediction(input)
  local scores, classes = torch.max(self:getPredictions(input), 2)
  return classes, scores
end
function CSC:__tostring__() return ('nn.ClassSimplexCriterion(%d)'):format(self.nClasses) end

-- ---- VolumetricFullConvolution ----------------------------------------------------------------
-- nn.VolumetricFullConvolution(nIn, nOut, kT, kW, kH [, dT, dW, dH, padT, padW, padH, adjT, adjW,
-- adjH]): the transposed 3-D convolution (PyTorch's ConvTranspose3d), [N x] nIn x T x H x W ->
-- nOut x ((T - 1) dT - 2 padT + kT + adjT) x ...; weight nIn x nOut x kT x kH x kW. Each time tap
-- kt is a 2-D transposed convolution of every input frame; frame t lands on output frame
-- t dT + kt - padT, placed by a constant 0/1 matrix product along time.
local VFull, VFullParent = torch.class('nn.VolumetricFullConvolution', 'nn.Module')
function VFull:__init(nIn, nOut, kT, kW, kH, dT, dW, dH, padT, padW, padH, adjT, adjW, adjH)
  VFullParent.__init(self)
  local f = 'nn.VolumetricFullConvolution'
  self.nInputPlane, self.nOutputPlane = positive(f, 1, nIn, 2), positive(f, 2, nOut, 2)
  self.kT, self.kW, self.kH = positive(f, 3, kT, 2), positive(f, 4, kW, 2), positive(f, 5, kH, 2)
  self.dT, self.dW, self.dH = positive(f, 6, dT or 1, 2), positive(f, 7, dW or 1, 2), positive(f, 8, dH or 1, 2)
  self.padT, self.padW, self.padH = count(f, 9, padT or 0, 2), count(f, 10, padW or 0, 2), count(f, 11, padH or 0, 2)
  self.adjT, self.adjW, self.adjH = count(f, 12, adjT or 0, 2), count(f, 13, adjW or 0, 2), count(f, 14, adjH or 0, 2)
  for i, a in ipairs({ { self.adjT, self.dT }, { self.adjW, self.dW }, { self.adjH, self.dH } }) do
    if a[1] >= a[2] then
      check.argerror(f, 11 + i, ('the output adjustment must be smaller than the stride, got %d (stride %d)')
                     :format(a[1], a[2]), 2)
    end
  end
  self.weight = check.call(f, 2, pcall(torch.Tensor, self.nInputPlane, self.nOutputPlane, self.kT, self.kH, self.kW))
  self.gradWeight = torch.Tensor(self.nInputPlane, self.nOutputPlane, self.kT, self.kH, self.kW):zero()
  self.bias = torch.Tensor(self.nOutputPlane)
  self.gradBias = torch.Tensor(self.nOutputPlane):zero()
  self:reset()
  self:_linkGradients()
end
function VFull:reset(stdv)
  return nn._uniformReset(self, self.nInputPlane * self.kT * self.kH * self.kW, stdv and stdv * math.sqrt(3))
end
function VFull:noBias()
  self.bias, self.gradBias = nil, nil
  return self
end
function VFull:updateOutput(input)
  input_of(self, input, { [4] = true, [5] = true }, '4D (C x T x H x W) or 5D (N x C x T x H x W)')
  local x = input:dim() == 4 and input:unsqueeze(1) or input
  if x:size(2) ~= self.nInputPlane then
    error(('%s: expected %d input planes, got input [%s]'):format(torch.typename(self), self.nInputPlane,
          shape_str(input)), 3)
  end
  nn._checkDevice(self, x, self.weight, 3)
  local N, C, T, Hh, W = x:size(1), x:size(2), x:size(3), x:size(4), x:size(5)
  local OT = (T - 1) * self.dT - 2 * self.padT + self.kT + self.adjT
  if OT < 1 then
    error(('%s: input [%s] gives an empty output (%d frames)'):format(torch.typename(self), shape_str(input), OT), 3)
  end
  local frames = x:transpose(2, 3):contiguous():view(N * T, C, Hh, W)
  local acc
  for k = 1, self.kT do
    local yk = torch._convTranspose2d(frames, self.weight:select(3, k):contiguous(), nil, self.dH, self.dW,
                                      self.padH, self.padW, 1, 1, self.adjH, self.adjW, 1)
    local R = yk:nElement() // (N * T)
    local place = torch.zeros(OT, T):type(x:type())
    local any = false
    for t = 1, T do
      local o = (t - 1) * self.dT + (k - 1) - self.padT + 1
      if o >= 1 and o <= OT then place[o][t], any = 1, true end
    end
    if any then
      local p = torch.mm(place, yk:view(N, T, R):transpose(1, 2):contiguous():view(T, N * R))
      acc = acc and acc + p or p
    end
    self._R, self._OH, self._OW = R, yk:size(3), yk:size(4)
  end
  local OH, OW = self._OH, self._OW
  local y
  if acc then
    y = acc:view(OT, N, self.nOutputPlane, OH, OW):permute(2, 3, 1, 4, 5)
  else
    y = torch.zeros(N, self.nOutputPlane, OT, OH, OW):type(x:type())
  end
  if self.bias then y = y + self.bias:view(1, self.nOutputPlane, 1, 1, 1) end
  self.output = input:dim() == 4 and y:squeeze(1) or y
  return self.output
end
function VFull:__tostring__()
  return ('nn.VolumetricFullConvolution(%d -> %d, %dx%dx%d, %d,%d,%d, %d,%d,%d)'):format(self.nInputPlane,
    self.nOutputPlane, self.kT, self.kW, self.kH, self.dT, self.dW, self.dH, self.padT, self.padW, self.padH)
end

-- ---- fractional max pooling -------------------------------------------------------------------
-- Graham's fractional max pooling with Torch7's (and PyTorch's) pseudo-random windows: along an
-- axis of `in` values pooled to `out` windows of k, with a sample u in [0, 1) per (sample,
-- plane) and axis, window i < out - 1 starts at floor((i + u) a) - floor(u a), a = (in - k) /
-- (out - 1), and the last one at in - k. The windows' values are gathered and maxed (autograd
-- scatters the gradient back through the gather).

-- starts (0-based, LongTensor NC x out) of the windows along one axis, u: NC samples (double)
local function fractional_starts(u, inSize, outSize, k)
  local NC = u:size(1)
  local s = torch.LongTensor(NC, outSize)
  local a = outSize > 1 and (inSize - k) / (outSize - 1) or 0
  for p = 1, NC do
    local up = u[p]
    local base = math.floor(up * a)
    for i = 0, outSize - 2 do s[p][i + 1] = math.floor((i + up) * a) - base end
    s[p][outSize] = inSize - k
  end
  return s
end

-- x: N x C x (sizes); k, out: per spatial axis; samples: N x C x #axes in the module's column
-- order, cols[d] the column of axis d. Returns N x C x (out) maxima.
local function fractional_pool(x, k, out, samples, cols)
  local N, C, D = x:size(1), x:size(2), #k
  local NC = N * C
  local u = samples:double():view(NC, -1)
  local stride, shapeOut, pos = {}, {}, nil
  local acc = 1
  for d = D, 1, -1 do stride[d], acc = acc, acc * x:size(2 + d) end
  -- positions[p, o1.., t1..] = sum_d (start_d[p, o_d] + t_d) * stride_d, by broadcasting
  local nd = 1 + 2 * D
  for d = 1, D do
    local st = fractional_starts(u:select(2, cols[d]), x:size(2 + d), out[d], k[d])
    local dims = {}
    for j = 1, nd do dims[j] = 1 end
    dims[1], dims[1 + d] = NC, out[d]
    local taps = {}
    for j = 1, nd do taps[j] = 1 end
    taps[1 + D + d] = k[d]
    local term = torch.add(st:view(table.unpack(dims)), torch.range(0, k[d] - 1):long():view(table.unpack(taps)))
    term = term * stride[d]
    pos = pos and torch.add(pos, term) or term
    shapeOut[d] = out[d]
  end
  local win = 1
  for d = 1, D do win = win * k[d] end
  local P = 1
  for d = 1, D do P = P * out[d] end
  pos = torch.add(pos, 1):contiguous():view(N, C, P * win)   -- gather counts from 1
  local vals = x:contiguous():view(N, C, -1):gather(3, pos):view(N, C, P, win)
  local y = torch.max(vals, 4)
  local size = { N, C }
  for d = 1, D do size[2 + d] = shapeOut[d] end
  return y:view(table.unpack(size))
end

-- the shared module: axes in tensor order (T,) H, W; the constructor gives Torch7's order
local function fractional_class(name, D, sample_cols, what)
  local FM, FMParent = torch.class(name, 'nn.Module')
  -- k, outOrRatio: per axis in tensor order; argno: the constructor's argument of each o[d]
  function FM:_setup(k, o, argno)
    FMParent.__init(self)
    self.k = k
    local ratio = false
    for d = 1, D do
      if math.type(o[d]) ~= 'integer' then ratio = true end
    end
    if ratio then
      for d = 1, D do
        if type(o[d]) ~= 'number' or not (o[d] > 0 and o[d] < 1) then
          check.argerror(name, argno[d], ('expected output sizes or ratios in (0, 1), got %s'):format(tostring(o[d])), 3)
        end
      end
      self.ratio = o
    else
      for d = 1, D do
        if o[d] < 1 then check.argerror(name, argno[d], ('expected a positive output size, got %d'):format(o[d]), 3) end
      end
      self.out = o
    end
    self.newRandomPool = false
  end
  -- fixPoolingRegions([val = true]): keep the windows of the last forward (Torch7's)
  function FM:fixPoolingRegions(val)
    if val == nil then val = true end
    self.newRandomPool = not val
    self._fixed = val
    return self
  end
  function FM:_outSizes(x)
    if self.out then return self.out end
    local o = {}
    for d = 1, D do o[d] = math.floor(x:size(2 + d) * self.ratio[d]) end
    return o
  end
  function FM:updateOutput(input)
    input_of(self, input, { [D + 1] = true, [D + 2] = true }, what)
    local x = input:dim() == D + 1 and input:unsqueeze(1) or input
    local out = self:_outSizes(x)
    for d = 1, D do
      if out[d] < 1 or x:size(2 + d) < self.k[d] or out[d] + self.k[d] - 1 > x:size(2 + d) then
        error(('%s: input [%s] is too small for %d windows of %d along dim %d'):format(name, shape_str(input),
              out[d], self.k[d], 2 + d + (input:dim() == D + 1 and -1 or 0)), 3)
      end
    end
    local N, C = x:size(1), x:size(2)
    local s = self.randomSamples
    local keep = self._fixed and s and s:dim() == 3 and s:size(1) == N and s:size(2) == C
    if not keep then
      self.randomSamples = torch.rand(N, C, D):double()
    end
    local y = fractional_pool(x, self.k, out, self.randomSamples, sample_cols)
    self.output = input:dim() == D + 1 and y:squeeze(1) or y
    return self.output
  end
  return FM
end

-- nn.SpatialFractionalMaxPooling(kW, kH, outW, outH) or (kW, kH, ratioW, ratioH): [N x] C x H x W;
-- randomSamples N x C x 2: column 1 for W, 2 for H (Torch7's and PyTorch's order)
local SFM = fractional_class('nn.SpatialFractionalMaxPooling', 2, { 2, 1 }, '3D (C x H x W) or 4D (N x C x H x W)')
function SFM:__init(kW, kH, outW, outH)
  local f = 'nn.SpatialFractionalMaxPooling'
  kW, kH = positive(f, 1, kW, 2), positive(f, 2, kH, 2)
  check.arg(f, 3, outW, 'number', 2)
  check.arg(f, 4, outH, 'number', 2)
  self:_setup({ kH, kW }, { outH, outW }, { 4, 3 })
end
function SFM:__tostring__()
  return ('nn.SpatialFractionalMaxPooling(%dx%d, %s)'):format(self.k[2], self.k[1], self.out and
    ('%dx%d'):format(self.out[2], self.out[1]) or ('ratio %gx%g'):format(self.ratio[2], self.ratio[1]))
end

-- nn.VolumetricFractionalMaxPooling(kT, kW, kH, outT, outW, outH) or ratios: [N x] C x T x H x W;
-- randomSamples N x C x 3: T, W, H (Torch7's order)
local VFM = fractional_class('nn.VolumetricFractionalMaxPooling', 3, { 1, 3, 2 },
                             '4D (C x T x H x W) or 5D (N x C x T x H x W)')
function VFM:__init(kT, kW, kH, outT, outW, outH)
  local f = 'nn.VolumetricFractionalMaxPooling'
  kT, kW, kH = positive(f, 1, kT, 2), positive(f, 2, kW, 2), positive(f, 3, kH, 2)
  check.arg(f, 4, outT, 'number', 2)
  check.arg(f, 5, outW, 'number', 2)
  check.arg(f, 6, outH, 'number', 2)
  self:_setup({ kT, kH, kW }, { outT, outH, outW }, { 4, 6, 5 })
end
function VFM:__tostring__()
  return ('nn.VolumetricFractionalMaxPooling(%dx%dx%d)'):format(self.k[1], self.k[3], self.k[2])
end

-- ---- IndexLinear ------------------------------------------------------------------------------
-- nn.IndexLinear(inputSize, outputSize [, doGradInput, keysOffset = 0, weight, bias, normalize]):
-- a linear layer on sparse inputs given as keys and values, y = bias + sum over a sample's
-- features of value * weight[key - keysOffset] (weight inputSize x outputSize: SparseLinear's
-- transposed, Torch7's layout). Input: {keys, values} (tables of per-sample LongTensor keys and
-- value tensors) or {keys, values, sizes} (flat, sizes[n] features for sample n). Gradients
-- reach the weight (dense here, where Torch7 keeps a sparse one), the bias and the values.
-- Torch7's `normalize` (a running max-norm stored in extra weight columns) is not implemented.
local IL, ILParent = torch.class('nn.IndexLinear', 'nn.Module')
function IL:__init(inputSize, outputSize, doGradInput, keysOffset, weight, bias, normalize)
  ILParent.__init(self)
  local f = 'nn.IndexLinear'
  check.arg(f, 3, doGradInput, 'boolean?', 2)
  self.keysOffset = check.arg(f, 4, keysOffset or 0, 'integer', 2)
  check.arg(f, 5, weight, 'tensor?', 2)
  check.arg(f, 6, bias, 'tensor?', 2)
  if check.arg(f, 7, normalize, 'boolean?', 2) then
    check.argerror(f, 7, "Torch7's normalize (a running max-norm of the inputs) is not implemented", 2)
  end
  if weight then
    if weight:dim() ~= 2 then check.argerror(f, 5, ('expected a 2-D weight, got [%s]'):format(shape_str(weight)), 2) end
    self.inputSize, self.outputSize = weight:size(1), weight:size(2)
  else
    self.inputSize, self.outputSize = positive(f, 1, inputSize, 2), positive(f, 2, outputSize, 2)
  end
  if bias and (bias:dim() ~= 1 or bias:size(1) ~= self.outputSize) then
    check.argerror(f, 6, ('expected a bias of %d, got [%s]'):format(self.outputSize, shape_str(bias)), 2)
  end
  self.doGradInput = doGradInput or false
  self.weight = weight or check.call(f, 2, pcall(torch.Tensor, self.inputSize, self.outputSize))
  self.gradWeight = torch.Tensor(self.inputSize, self.outputSize):type(self.weight:type()):zero()
  self.bias = bias or torch.Tensor(self.outputSize)
  self.gradBias = torch.Tensor(self.outputSize):type(self.bias:type()):zero()
  if not weight then self:reset() end
  self:_linkGradients()
end
-- Torch7's: weight in +-1/sqrt(outputSize) (stdv * sqrt(3) when given), the bias 1e-6 of that
function IL:reset(stdv)
  stdv = stdv and stdv * math.sqrt(3) or 1 / math.sqrt(self.outputSize)
  torch.noGrad(function()
    self.weight:uniform(-stdv, stdv)
    self.bias:uniform(-stdv, stdv):mul(1e-6)
  end)
  return self
end
-- the per-sample {keys, values} lists of any of the two input forms
function IL:_samples(input)
  local f = torch.typename(self)
  local function bad(what) error(('%s: %s'):format(f, what), 5) end
  if type(input) ~= 'table' or (#input ~= 2 and #input ~= 3) then
    bad('expected {keys, values} or {keys, values, sizes}')
  end
  local keys, values = {}, {}
  if #input == 2 then
    if type(input[1]) ~= 'table' or type(input[2]) ~= 'table' or #input[1] ~= #input[2] then
      bad('expected {keys, values}: two tables of per-sample tensors, as many of each')
    end
    for n = 1, #input[1] do keys[n], values[n] = input[1][n], input[2][n] end
  else
    local k, v, sizes = input[1], input[2], input[3]
    if not (torch.isTensor(k) and torch.isTensor(v) and torch.isTensor(sizes)) or k:dim() ~= 1 or
       v:dim() ~= 1 or sizes:dim() ~= 1 or k:size(1) ~= v:size(1) then
      bad('expected {keys, values, sizes}: 1-D keys and values of one length, and 1-D sizes')
    end
    local at = 1
    for n = 1, sizes:size(1) do
      local sz = math.tointeger(sizes[n] + 0)
      if not sz or sz < 0 or at + sz - 1 > k:size(1) then bad('sizes do not add up to the keys given') end
      keys[n] = sz > 0 and k:narrow(1, at, sz) or k.new()
      values[n] = sz > 0 and v:narrow(1, at, sz) or v.new()
      at = at + sz
    end
    if at - 1 ~= k:size(1) then bad('sizes do not add up to the keys given') end
  end
  for n = 1, #keys do
    if not torch.isTensor(keys[n]) or not torch.isTensor(values[n]) or keys[n]:nElement() ~= values[n]:nElement() then
      bad(('sample %d: keys and values must be tensors of one length'):format(n))
    end
    if not nn._floatingTypes[values[n]:type()] and values[n]:nElement() > 0 then
      bad(('sample %d: expected float values, got %s'):format(n, values[n]:type()))
    end
  end
  return keys, values
end
function IL:updateOutput(input)
  local keys, values = self:_samples(input)
  local rows = {}
  for n = 1, #keys do
    if keys[n]:nElement() == 0 then
      rows[n] = self.bias * 1
    else
      local k = torch.add(keys[n]:long():view(-1), -self.keysOffset)
      if k:min() < 1 or k:max() > self.inputSize then
        error(('%s: key %d is outside [%d, %d]'):format(torch.typename(self),
              (k:min() < 1 and k:min() or k:max()) + self.keysOffset, 1 + self.keysOffset,
              self.inputSize + self.keysOffset), 3)
      end
      rows[n] = torch.mv(self.weight:index(1, k):t(), values[n]:view(-1)) + self.bias
    end
  end
  self.output = #rows > 0 and torch.stack(rows, 1) or self.bias:view(1, -1):narrow(1, 1, 0)
  return self.output
end
function IL:__tostring__() return ('nn.IndexLinear(%d -> %d)'):format(self.inputSize, self.outputSize) end
