-- nn convolutions and pooling over images (N x C x H x W, or C x H x W unbatched, as PyTorch)
-- and sequences (N x C x L or C x L), in Torch7's names and constructors and PyTorch's:
--
--   nn.SpatialConvolution(nIn, nOut, kW, kH [, dW, dH, padW, padH])      Torch7 (W before H)
--   nn.SpatialDilatedConvolution(nIn, nOut, kW, kH, dW, dH, padW, padH, dilW, dilH)
--   nn.Conv2d(in, out, k [, {stride, padding, dilation, groups, bias}])  PyTorch (k: n or {kH, kW})
--   nn.Conv1d(in, out, k [, {...}]), nn.TemporalConvolution(inFrame, outFrame, kW [, dW])
--   nn.SpatialFullConvolution(nIn, nOut, kW, kH [, dW, dH, padW, padH, adjW, adjH])
--   nn.ConvTranspose2d(in, out, k [, {stride, padding, outputPadding, groups, bias, dilation}])
--   nn.SpatialMaxPooling(kW, kH [, dW, dH, padW, padH]) / nn.MaxPool2d(k [, {...}]), MaxPool1d
--   nn.SpatialAveragePooling(kW, kH [, ...]) / nn.AvgPool2d(k [, {...}]), AvgPool1d
--   nn.SpatialAdaptiveMaxPooling(W, H) / nn.AdaptiveMaxPool2d(size), and the average forms
--
-- The kernels are C (core/conv.c: im2col + BLAS GEMM, one autograd node per call with a
-- hand-written backward); this file checks arguments, adds and drops the batch dim of an
-- unbatched input, and sees 1-D layers as 2-D ones of height 1 (views, so autograd follows).
-- Parameters are PyTorch's shapes and names: weight Cout x Cin/groups x kH x kW, bias Cout.
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local shape_str = nn._shapeStr

-- a positive (or, with min = 0, non-negative) whole number, argument i of fname
local function int_arg(fname, i, v, min, level)
  v = check.arg(fname, i, v, 'integer', (level or 1) + 1)
  if v < (min or 1) then
    check.argerror(fname, i, ('expected %s, got %d'):format(min == 0 and 'a non-negative size' or 'a positive size', v), (level or 1) + 1)
  end
  return v
end

-- PyTorch's int-or-pair: n or {a, b} -> a, b (level as int_arg's)
local function pair(fname, what, v, min, level)
  level = (level or 1) + 2
  if type(v) == 'table' then
    if #v ~= 2 then
      error(('%s: %s must be a number or a pair {h, w}, got a table of %d'):format(fname, what, #v), level)
    end
    local a = pair(fname, what, v[1], min, level - 1)
    local b = pair(fname, what, v[2], min, level - 1)
    return a, b
  end
  local whole = math.type(v) and math.tointeger(v)   -- nil for 2.5, inf and NaN
  if not whole then
    error(('%s: %s must be a whole number or a pair {h, w}, got %s'):format(fname, what, tostring(v)), level)
  end
  v = whole
  if v < (min or 1) then
    error(('%s: %s must be %s, got %d'):format(fname, what, (min or 1) == 0 and 'non-negative' or 'positive', v), level)
  end
  return v, v
end

-- input checks shared by every module here: a tensor of nd + 1 (unbatched) or nd + 2 dims,
-- float, on the host. Returns the batched input and whether a batch dim was added.
local function batched(self, input, nd, level)
  local name = torch.typename(self)
  level = (level or 1) + 1
  if not torch.isTensor(input) then
    error(('%s: expected a tensor input, got %s'):format(name, torch.typename(input) or type(input)), level)
  end
  if input:isCuda() then error(('%s: not implemented for CUDA tensors yet'):format(name), level) end
  local d = input:dim()
  if d ~= nd + 1 and d ~= nd + 2 then
    local what = nd == 2 and 'C x H x W or N x C x H x W' or 'C x L or N x C x L'
    error(('%s: expected a %dD or %dD input (%s), got [%s]'):format(name, nd + 1, nd + 2, what, shape_str(input)), level)
  end
  if not nn._floatingTypes[input:type()] then
    error(('%s: expected a FloatTensor or DoubleTensor input, got %s'):format(name, input:type()), level)
  end
  if self.weight and input:type() ~= self.weight:type() then
    error(('%s: the input is a %s, the weight a %s (convert one with :type())')
          :format(name, input:type(), self.weight:type()), level)
  end
  if d == nd + 1 then return input:unsqueeze(1), true end
  return input, false
end

local function unbatch(out, added) if added then return out:squeeze(1) end return out end

-- the channel count of a batched input against the module's
local function check_channels(self, x, want, level)
  if x:size(2) ~= want then
    error(('%s: expected %d input channels, got input [%s]'):format(torch.typename(self), want, shape_str(x)), (level or 1) + 1)
  end
end

-- ---- convolutions -----------------------------------------------------------------------------
local Conv, ConvParent = torch.class('nn.SpatialConvolution', 'nn.Module')

-- the common constructor: sizes in (h, w) order, already checked
function Conv:_setup(nIn, nOut, kH, kW, o)
  ConvParent.__init(self)
  self.nInputPlane, self.nOutputPlane = nIn, nOut
  self.kH, self.kW, self.dH, self.dW = kH, kW, o.dH, o.dW
  self.padH, self.padW, self.dilationH, self.dilationW = o.padH, o.padW, o.dilH, o.dilW
  self.groups = o.groups
  local fname = torch.typename(self)
  if nIn % o.groups ~= 0 or nOut % o.groups ~= 0 then
    error(('%s: %d input and %d output channels do not split into %d groups'):format(fname, nIn, nOut, o.groups), 4)
  end
  self.weight = torch.Tensor(nOut, nIn // o.groups, kH, kW)
  self.gradWeight = torch.Tensor(nOut, nIn // o.groups, kH, kW):zero()
  if o.bias ~= false then
    self.bias = torch.Tensor(nOut)
    self.gradBias = torch.Tensor(nOut):zero()
  end
  self:reset()
  self:_linkGradients()
end

-- nn.SpatialConvolution(nInputPlane, nOutputPlane, kW, kH [, dW = 1, dH = 1, padW = 0, padH = padW])
function Conv:__init(nIn, nOut, kW, kH, dW, dH, padW, padH)
  local f = 'nn.SpatialConvolution'
  nIn, nOut = int_arg(f, 1, nIn, 1, 2), int_arg(f, 2, nOut, 1, 2)
  kW, kH = int_arg(f, 3, kW, 1, 2), int_arg(f, 4, kH, 1, 2)
  dW, dH = int_arg(f, 5, dW or 1, 1, 2), int_arg(f, 6, dH or 1, 1, 2)
  padW = int_arg(f, 7, padW or 0, 0, 2)
  padH = int_arg(f, 8, padH or padW, 0, 2)
  self:_setup(nIn, nOut, kH, kW, { dH = dH, dW = dW, padH = padH, padW = padW, dilH = 1, dilW = 1, groups = 1 })
end

-- Torch7's reset(stdv): uniform in [-stdv, stdv], stdv = 1/sqrt(fan_in), fan_in = Cin/groups
-- * kH * kW; PyTorch's default (kaiming_uniform with a = sqrt(5), bias bound 1/sqrt(fan_in))
-- draws from the same bounds.
function Conv:reset(stdv)
  return nn._uniformReset(self, self.weight:size(2) * self.kH * self.kW, stdv)
end

-- Torch7's noBias(): drops the bias (and its gradient); returns the module
function Conv:noBias()
  self.bias, self.gradBias = nil, nil
  self._flatParameters, self._flatGradParameters = nil, nil
  return self
end

function Conv:updateOutput(input)
  local x, added = batched(self, input, 2, 3)
  check_channels(self, x, self.nInputPlane, 3)
  nn._checkDevice(self, x, self.weight, 3)
  self.output = unbatch(torch._conv2d(x, self.weight, self.bias, self.dH, self.dW, self.padH,
                                      self.padW, self.dilationH, self.dilationW, self.groups), added)
  return self.output
end

function Conv:__tostring__()
  local s = ('%s(%d -> %d, %dx%d'):format(torch.typename(self), self.nInputPlane, self.nOutputPlane, self.kW, self.kH)
  if self.dW ~= 1 or self.dH ~= 1 or self.padW ~= 0 or self.padH ~= 0 then
    s = s .. (', %d,%d, %d,%d'):format(self.dW, self.dH, self.padW, self.padH)
  end
  if self.dilationW ~= 1 or self.dilationH ~= 1 then s = s .. (', dilation %d,%d'):format(self.dilationW, self.dilationH) end
  if self.groups ~= 1 then s = s .. (', groups %d'):format(self.groups) end
  if not self.bias then s = s .. ', without bias' end
  return s .. ')'
end

-- nn.SpatialDilatedConvolution(nIn, nOut, kW, kH [, dW, dH, padW, padH, dilationW, dilationH])
local Dilated = torch.class('nn.SpatialDilatedConvolution', 'nn.SpatialConvolution')
function Dilated:__init(nIn, nOut, kW, kH, dW, dH, padW, padH, dilW, dilH)
  local f = 'nn.SpatialDilatedConvolution'
  nIn, nOut = int_arg(f, 1, nIn, 1, 2), int_arg(f, 2, nOut, 1, 2)
  kW, kH = int_arg(f, 3, kW, 1, 2), int_arg(f, 4, kH, 1, 2)
  dW, dH = int_arg(f, 5, dW or 1, 1, 2), int_arg(f, 6, dH or 1, 1, 2)
  padW, padH = int_arg(f, 7, padW or 0, 0, 2), int_arg(f, 8, padH or padW or 0, 0, 2)
  dilW = int_arg(f, 9, dilW or 1, 1, 2)
  dilH = int_arg(f, 10, dilH or dilW, 1, 2)
  self:_setup(nIn, nOut, kH, kW, { dH = dH, dW = dW, padH = padH, padW = padW, dilH = dilH, dilW = dilW, groups = 1 })
end

-- PyTorch's keyword options of a convolution, checked by name
local function conv_options(fname, opts, transposed)
  local defaults = { stride = 1, padding = 0, dilation = 1, groups = 1, bias = true,
                     paddingMode = check.unsupported('zeros'), device = check.unsupported(nil),
                     dtype = check.unsupported(nil) }
  if transposed then defaults.outputPadding = 0 end
  local o = check.options(fname, opts, defaults, 4)
  if type(o.bias) ~= 'boolean' then error(('%s: bias must be a boolean, got %s'):format(fname, type(o.bias)), 4) end
  return o
end

-- nn.Conv2d(in, out, kernelSize [, {stride = 1, padding = 0, dilation = 1, groups = 1, bias = true}])
-- padding may also be 'valid' (0) or 'same' (stride 1; the same output size as the input).
local Conv2d = torch.class('nn.Conv2d', 'nn.SpatialConvolution')
function Conv2d:__init(nIn, nOut, k, opts)
  local f = 'nn.Conv2d'
  nIn, nOut = int_arg(f, 1, nIn, 1, 2), int_arg(f, 2, nOut, 1, 2)
  if k == nil then check.argerror(f, 3, 'kernel size expected, got no value', 2) end
  local kH, kW = pair(f, 'kernel size', k, 1, 2)
  local o = conv_options(f, opts)
  local dH, dW = pair(f, 'stride', o.stride, 1, 2)
  local dilH, dilW = pair(f, 'dilation', o.dilation, 1, 2)
  local padH, padW
  if o.padding == 'valid' then padH, padW = 0, 0
  elseif o.padding == 'same' then
    if dH ~= 1 or dW ~= 1 then error(("%s: padding 'same' needs stride 1"):format(f), 3) end
    if (dilH * (kH - 1)) % 2 ~= 0 or (dilW * (kW - 1)) % 2 ~= 0 then
      error(("%s: padding 'same' with an even kernel extent (uneven padding) is not supported yet"):format(f), 3)
    end
    padH, padW = dilH * (kH - 1) // 2, dilW * (kW - 1) // 2
  else
    padH, padW = pair(f, 'padding', o.padding, 0, 2)
  end
  local groups = int_arg(f, 4, o.groups, 1, 2)
  self:_setup(nIn, nOut, kH, kW, { dH = dH, dW = dW, padH = padH, padW = padW, dilH = dilH, dilW = dilW,
                                  groups = groups, bias = o.bias })
end

-- nn.Conv1d(in, out, kernelSize [, {stride, padding, dilation, groups, bias}]): N x C x L (or
-- C x L); weight Cout x Cin/groups x k. Computed as a Conv2d of height 1 on views.
local Conv1d, Conv1dParent = torch.class('nn.Conv1d', 'nn.Module')
function Conv1d:__init(nIn, nOut, k, opts)
  Conv1dParent.__init(self)
  local f = 'nn.Conv1d'
  nIn, nOut, k = int_arg(f, 1, nIn, 1, 2), int_arg(f, 2, nOut, 1, 2), int_arg(f, 3, k, 1, 2)
  local o = conv_options(f, opts)
  self.inChannels, self.outChannels, self.kernelSize = nIn, nOut, k
  self.stride, self.dilation = int_arg(f, 4, o.stride, 1, 2), int_arg(f, 4, o.dilation, 1, 2)
  self.groups = int_arg(f, 4, o.groups, 1, 2)
  if o.padding == 'valid' then self.padding = 0
  elseif o.padding == 'same' and self.stride == 1 and (self.dilation * (k - 1)) % 2 == 0 then
    self.padding = self.dilation * (k - 1) // 2
  elseif type(o.padding) == 'string' then
    error(("%s: padding '%s' is not supported (use a number, 'valid', or 'same' with stride 1 and an odd kernel extent)"):format(f, o.padding), 3)
  else
    self.padding = int_arg(f, 4, o.padding, 0, 2)
  end
  if nIn % self.groups ~= 0 or nOut % self.groups ~= 0 then
    error(('%s: %d input and %d output channels do not split into %d groups'):format(f, nIn, nOut, self.groups), 3)
  end
  self.weight = torch.Tensor(nOut, nIn // self.groups, k)
  self.gradWeight = torch.Tensor(nOut, nIn // self.groups, k):zero()
  if o.bias then self.bias, self.gradBias = torch.Tensor(nOut), torch.Tensor(nOut):zero() end
  self:reset()
  self:_linkGradients()
end

function Conv1d:reset(stdv)
  return nn._uniformReset(self, self.weight:size(2) * self.kernelSize, stdv)
end

function Conv1d:updateOutput(input)
  local x, added = batched(self, input, 1, 3)
  check_channels(self, x, self.inChannels, 3)
  nn._checkDevice(self, x, self.weight, 3)
  local w = self.weight:unsqueeze(4)   -- Cout x Cin/g x k x 1: the length runs along H
  local y = torch._conv2d(x:unsqueeze(4), w, self.bias, self.stride, 1, self.padding, 0,
                          self.dilation, 1, self.groups)
  self.output = unbatch(y:squeeze(4), added)
  return self.output
end

function Conv1d:__tostring__()
  return ('nn.Conv1d(%d -> %d, %d, stride %d, padding %d%s)'):format(self.inChannels, self.outChannels,
    self.kernelSize, self.stride, self.padding, self.bias and '' or ', without bias')
end

-- nn.TemporalConvolution(inputFrameSize, outputFrameSize, kW [, dW = 1]): Torch7's layout,
-- frames along the first dim: input nFrame x inputFrameSize (or N x nFrame x inputFrameSize),
-- output nFrame' x outputFrameSize; weight outputFrameSize x (kW * inputFrameSize), as Torch7.
local Temporal, TemporalParent = torch.class('nn.TemporalConvolution', 'nn.Module')
function Temporal:__init(inputFrameSize, outputFrameSize, kW, dW)
  TemporalParent.__init(self)
  local f = 'nn.TemporalConvolution'
  self.inputFrameSize, self.outputFrameSize = int_arg(f, 1, inputFrameSize, 1, 2), int_arg(f, 2, outputFrameSize, 1, 2)
  self.kW, self.dW = int_arg(f, 3, kW, 1, 2), int_arg(f, 4, dW or 1, 1, 2)
  self.weight = torch.Tensor(self.outputFrameSize, self.kW * self.inputFrameSize)
  self.gradWeight = torch.Tensor(self.outputFrameSize, self.kW * self.inputFrameSize):zero()
  self.bias, self.gradBias = torch.Tensor(self.outputFrameSize), torch.Tensor(self.outputFrameSize):zero()
  self:reset()
  self:_linkGradients()
end

function Temporal:reset(stdv)
  return nn._uniformReset(self, self.kW * self.inputFrameSize, stdv)
end

function Temporal:updateOutput(input)
  local x, added = batched(self, input, 1, 3)   -- N x nFrame x inputFrameSize
  if x:size(3) ~= self.inputFrameSize then
    error(('nn.TemporalConvolution: expected frames of %d, got input [%s]'):format(self.inputFrameSize, shape_str(input)), 3)
  end
  nn._checkDevice(self, x, self.weight, 3)
  -- one input plane of nFrame x inputFrameSize; a kW x inputFrameSize kernel per output
  -- feature is the Torch7 weight's row read as kW rows of inputFrameSize
  local w = self.weight:view(self.outputFrameSize, 1, self.kW, self.inputFrameSize)
  local y = torch._conv2d(x:unsqueeze(2), w, self.bias, self.dW, 1, 0, 0, 1, 1, 1)
  self.output = unbatch(y:squeeze(4):transpose(2, 3), added)   -- N x nFrame' x outputFrameSize
  return self.output
end

function Temporal:__tostring__()
  return ('nn.TemporalConvolution(%d -> %d, %d, %d)'):format(self.inputFrameSize, self.outputFrameSize, self.kW, self.dW)
end

-- ---- transposed convolutions ------------------------------------------------------------------
-- weight Cin x Cout/groups x kH x kW (PyTorch's ConvTranspose2d and Torch7's SpatialFullConvolution)
local Full, FullParent = torch.class('nn.SpatialFullConvolution', 'nn.Module')

function Full:_setup(nIn, nOut, kH, kW, o)
  FullParent.__init(self)
  self.nInputPlane, self.nOutputPlane = nIn, nOut
  self.kH, self.kW, self.dH, self.dW = kH, kW, o.dH, o.dW
  self.padH, self.padW, self.adjH, self.adjW = o.padH, o.padW, o.adjH, o.adjW
  self.dilationH, self.dilationW, self.groups = o.dilH or 1, o.dilW or 1, o.groups or 1
  local fname = torch.typename(self)
  if nIn % self.groups ~= 0 or nOut % self.groups ~= 0 then
    error(('%s: %d input and %d output channels do not split into %d groups'):format(fname, nIn, nOut, self.groups), 4)
  end
  for _, a in ipairs({ 'H', 'W' }) do
    if self['adj' .. a] >= self['d' .. a] and self['adj' .. a] >= self['dilation' .. a] then
      error(('%s: output padding (%d) must be smaller than the stride (%d) or the dilation (%d)')
            :format(fname, self['adj' .. a], self['d' .. a], self['dilation' .. a]), 4)
    end
  end
  self.weight = torch.Tensor(nIn, nOut // self.groups, kH, kW)
  self.gradWeight = torch.Tensor(nIn, nOut // self.groups, kH, kW):zero()
  if o.bias ~= false then
    self.bias, self.gradBias = torch.Tensor(nOut), torch.Tensor(nOut):zero()
  end
  self:reset()
  self:_linkGradients()
end

-- nn.SpatialFullConvolution(nIn, nOut, kW, kH [, dW = 1, dH = 1, padW = 0, padH = 0, adjW = 0, adjH = 0])
function Full:__init(nIn, nOut, kW, kH, dW, dH, padW, padH, adjW, adjH)
  local f = 'nn.SpatialFullConvolution'
  nIn, nOut = int_arg(f, 1, nIn, 1, 2), int_arg(f, 2, nOut, 1, 2)
  kW, kH = int_arg(f, 3, kW, 1, 2), int_arg(f, 4, kH, 1, 2)
  dW, dH = int_arg(f, 5, dW or 1, 1, 2), int_arg(f, 6, dH or 1, 1, 2)
  padW, padH = int_arg(f, 7, padW or 0, 0, 2), int_arg(f, 8, padH or 0, 0, 2)
  adjW, adjH = int_arg(f, 9, adjW or 0, 0, 2), int_arg(f, 10, adjH or 0, 0, 2)
  self:_setup(nIn, nOut, kH, kW, { dH = dH, dW = dW, padH = padH, padW = padW, adjH = adjH, adjW = adjW })
end

-- PyTorch's bound: fan_in of the weight tensor as laid out (Cout/groups * kH * kW here),
-- which is what Conv:reset computes from the weight's second dim
Full.reset = Conv.reset

function Full:updateOutput(input)
  local x, added = batched(self, input, 2, 3)
  check_channels(self, x, self.nInputPlane, 3)
  nn._checkDevice(self, x, self.weight, 3)
  self.output = unbatch(torch._convTranspose2d(x, self.weight, self.bias, self.dH, self.dW, self.padH,
                                               self.padW, self.dilationH, self.dilationW, self.adjH,
                                               self.adjW, self.groups), added)
  return self.output
end

function Full:__tostring__()
  return ('%s(%d -> %d, %dx%d, %d,%d, %d,%d)'):format(torch.typename(self), self.nInputPlane, self.nOutputPlane,
    self.kW, self.kH, self.dW, self.dH, self.padW, self.padH)
end

-- nn.ConvTranspose2d(in, out, k [, {stride, padding, outputPadding, groups, bias, dilation}])
local ConvT = torch.class('nn.ConvTranspose2d', 'nn.SpatialFullConvolution')
function ConvT:__init(nIn, nOut, k, opts)
  local f = 'nn.ConvTranspose2d'
  nIn, nOut = int_arg(f, 1, nIn, 1, 2), int_arg(f, 2, nOut, 1, 2)
  if k == nil then check.argerror(f, 3, 'kernel size expected, got no value', 2) end
  local kH, kW = pair(f, 'kernel size', k, 1, 2)
  local o = conv_options(f, opts, true)
  local dH, dW = pair(f, 'stride', o.stride, 1, 2)
  local padH, padW = pair(f, 'padding', o.padding, 0, 2)
  local adjH, adjW = pair(f, 'outputPadding', o.outputPadding, 0, 2)
  local dilH, dilW = pair(f, 'dilation', o.dilation, 1, 2)
  self:_setup(nIn, nOut, kH, kW, { dH = dH, dW = dW, padH = padH, padW = padW, adjH = adjH, adjW = adjW,
                                  dilH = dilH, dilW = dilW, groups = int_arg(f, 4, o.groups, 1, 2), bias = o.bias })
end

-- ---- pooling ----------------------------------------------------------------------------------
local MaxPool, MaxPoolParent = torch.class('nn.SpatialMaxPooling', 'nn.Module')

-- nn.SpatialMaxPooling(kW, kH [, dW = kW, dH = kH, padW = 0, padH = 0]); :ceil() / :floor()
-- pick the output size's rounding (Torch7)
function MaxPool:__init(kW, kH, dW, dH, padW, padH)
  MaxPoolParent.__init(self)
  local f = torch.typename(self) or 'nn.SpatialMaxPooling'
  self.kW, self.kH = int_arg(f, 1, kW, 1, 2), int_arg(f, 2, kH or kW, 1, 2)
  self.dW, self.dH = int_arg(f, 3, dW or self.kW, 1, 2), int_arg(f, 4, dH or self.kH, 1, 2)
  self.padW, self.padH = int_arg(f, 5, padW or 0, 0, 2), int_arg(f, 6, padH or 0, 0, 2)
  self.dilationW, self.dilationH = 1, 1
  self.ceil_mode = false
end

function MaxPool:ceil() self.ceil_mode = true return self end
function MaxPool:floor() self.ceil_mode = false return self end

function MaxPool:updateOutput(input)
  local x, added = batched(self, input, 2, 3)
  local out, idx = torch._maxPool2d(x, self.kH, self.kW, self.dH, self.dW, self.padH, self.padW,
                                    self.dilationH, self.dilationW, self.ceil_mode)
  self.indices = idx   -- 0-based positions in each H x W plane (PyTorch's return_indices, minus one)
  self._unpoolInput = { x:size(3), x:size(4) }   -- the plane those index, for nn.SpatialMaxUnpooling
  self.output = unbatch(out, added)
  return self.output
end

function MaxPool:_clearState() self.indices, self._unpoolInput = nil, nil end

function MaxPool:__tostring__()
  return ('%s(%dx%d, %d,%d, %d,%d%s)'):format(torch.typename(self), self.kW, self.kH, self.dW, self.dH,
    self.padW, self.padH, self.ceil_mode and ', ceil' or '')
end

local pool_defaults = {
  stride = check.NONE, padding = 0, dilation = 1, ceilMode = false,
  returnIndices = check.unsupported(false),
}

-- nn.MaxPool2d(k [, {stride = k, padding = 0, dilation = 1, ceilMode = false}])
local MaxPool2d = torch.class('nn.MaxPool2d', 'nn.SpatialMaxPooling')
function MaxPool2d:__init(k, opts)
  MaxPoolParent.__init(self)
  local f = 'nn.MaxPool2d'
  if k == nil then check.argerror(f, 1, 'kernel size expected, got no value', 2) end
  local o = check.options(f, opts, pool_defaults, 3)
  self.kH, self.kW = pair(f, 'kernel size', k, 1, 2)
  self.dH, self.dW = pair(f, 'stride', o.stride or k, 1, 2)
  self.padH, self.padW = pair(f, 'padding', o.padding, 0, 2)
  self.dilationH, self.dilationW = pair(f, 'dilation', o.dilation, 1, 2)
  self.ceil_mode = check.arg(f, 2, o.ceilMode, 'boolean', 2)
end

local AvgPool, AvgPoolParent = torch.class('nn.SpatialAveragePooling', 'nn.Module')

-- nn.SpatialAveragePooling(kW, kH [, dW = 1, dH = 1, padW = 0, padH = 0]) (Torch7's strides
-- default to 1 here); padding counts in the divisor (setCountExcludePad() to leave it out);
-- :ceil() / :floor() as for max pooling
function AvgPool:__init(kW, kH, dW, dH, padW, padH)
  AvgPoolParent.__init(self)
  local f = 'nn.SpatialAveragePooling'
  self.kW, self.kH = int_arg(f, 1, kW, 1, 2), int_arg(f, 2, kH or kW, 1, 2)
  self.dW, self.dH = int_arg(f, 3, dW or 1, 1, 2), int_arg(f, 4, dH or 1, 1, 2)
  self.padW, self.padH = int_arg(f, 5, padW or 0, 0, 2), int_arg(f, 6, padH or 0, 0, 2)
  self.ceil_mode, self.count_include_pad = false, true
end

function AvgPool:ceil() self.ceil_mode = true return self end
function AvgPool:floor() self.ceil_mode = false return self end
function AvgPool:setCountIncludePad() self.count_include_pad = true return self end
function AvgPool:setCountExcludePad() self.count_include_pad = false return self end

function AvgPool:updateOutput(input)
  local x, added = batched(self, input, 2, 3)
  self.output = unbatch(torch._avgPool2d(x, self.kH, self.kW, self.dH, self.dW, self.padH, self.padW,
                                         self.ceil_mode, self.count_include_pad), added)
  return self.output
end

function AvgPool:__tostring__()
  return ('%s(%dx%d, %d,%d, %d,%d%s)'):format(torch.typename(self), self.kW, self.kH, self.dW, self.dH,
    self.padW, self.padH, self.ceil_mode and ', ceil' or '')
end

-- nn.AvgPool2d(k [, {stride = k, padding = 0, ceilMode = false, countIncludePad = true}])
local AvgPool2d = torch.class('nn.AvgPool2d', 'nn.SpatialAveragePooling')
function AvgPool2d:__init(k, opts)
  AvgPoolParent.__init(self)
  local f = 'nn.AvgPool2d'
  if k == nil then check.argerror(f, 1, 'kernel size expected, got no value', 2) end
  local o = check.options(f, opts, { stride = check.NONE, padding = 0, ceilMode = false,
                                     countIncludePad = true, divisorOverride = check.unsupported(nil) }, 3)
  self.kH, self.kW = pair(f, 'kernel size', k, 1, 2)
  self.dH, self.dW = pair(f, 'stride', o.stride or k, 1, 2)
  self.padH, self.padW = pair(f, 'padding', o.padding, 0, 2)
  self.ceil_mode = check.arg(f, 2, o.ceilMode, 'boolean', 2)
  self.count_include_pad = check.arg(f, 2, o.countIncludePad, 'boolean', 2)
end

-- 1-D pooling: N x C x L (or C x L) as 2-D pooling of L x 1 planes
local function pool1d(name, is_max)
  local P, PP = torch.class(name, 'nn.Module')
  function P:__init(k, opts)
    PP.__init(self)
    local defaults = is_max and pool_defaults
                     or { stride = check.NONE, padding = 0, ceilMode = false, countIncludePad = true }
    local o = check.options(name, opts, defaults, 3)
    self.kernelSize = int_arg(name, 1, k, 1, 2)
    self.stride = int_arg(name, 2, o.stride or k, 1, 2)
    self.padding = int_arg(name, 2, o.padding, 0, 2)
    self.dilation = is_max and int_arg(name, 2, o.dilation, 1, 2) or 1
    self.ceil_mode = check.arg(name, 2, o.ceilMode, 'boolean', 2)
    self.count_include_pad = o.countIncludePad
  end
  function P:updateOutput(input)
    local x, added = batched(self, input, 1, 3)
    x = x:unsqueeze(4)
    local y
    if is_max then
      y = torch._maxPool2d(x, self.kernelSize, 1, self.stride, 1, self.padding, 0, self.dilation, 1, self.ceil_mode)
    else
      y = torch._avgPool2d(x, self.kernelSize, 1, self.stride, 1, self.padding, 0, self.ceil_mode, self.count_include_pad)
    end
    self.output = unbatch(y:squeeze(4), added)
    return self.output
  end
  function P:__tostring__()
    return ('%s(%d, stride %d, padding %d)'):format(name, self.kernelSize, self.stride, self.padding)
  end
end
pool1d('nn.MaxPool1d', true)
pool1d('nn.AvgPool1d', false)

-- adaptive pooling: output H x W whatever the input's, windows as PyTorch's
local function adaptive(name, torch7, is_max)
  local A, AP = torch.class(torch7, 'nn.Module')
  -- Torch7's order: (W, H)
  function A:__init(W, H)
    AP.__init(self)
    self.W = int_arg(torch7, 1, W, 1, 2)
    self.H = int_arg(torch7, 2, H or W, 1, 2)
  end
  function A:updateOutput(input)
    local x, added = batched(self, input, 2, 3)
    local y, idx
    if is_max then y, idx = torch._adaptiveMaxPool2d(x, self.H, self.W)
    else y = torch._adaptiveAvgPool2d(x, self.H, self.W) end
    self.indices = idx
    self.output = unbatch(y, added)
    return self.output
  end
  function A:_clearState() self.indices = nil end
  function A:__tostring__() return ('%s(%dx%d)'):format(torch.typename(self), self.W, self.H) end
  -- PyTorch's: output_size n or {H, W}
  local B = torch.class(name, torch7)
  function B:__init(size)
    AP.__init(self)
    if size == nil then check.argerror(name, 1, 'output size expected, got no value', 2) end
    self.H, self.W = pair(name, 'output size', size, 1, 2)
  end
end
adaptive('nn.AdaptiveMaxPool2d', 'nn.SpatialAdaptiveMaxPooling', true)
adaptive('nn.AdaptiveAvgPool2d', 'nn.SpatialAdaptiveAveragePooling', false)

return nn
