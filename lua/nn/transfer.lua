-- Transfer functions (Torch7's doc/transfer.md) and the elementwise math modules: Abs,
-- HardTanh, Clamp, ReLU6, ELU, Threshold, CELU, SELU, PReLU, RReLU, SoftPlus, SoftSign,
-- SoftShrink, HardShrink, TanhShrink, LogSigmoid, SoftMin, Exp, Log, Sqrt, Square, Power,
-- GELU, SiLU, Mish.
-- Each is written from tensor ops, so autograd gives the backward; GELU's erf is the one op
-- with a hand-written backward. PyTorch's spellings are aliases of the same classes
-- (nn.Hardtanh == nn.HardTanh). An `inplace` argument is accepted for Torch7 and PyTorch code
-- and ignored: the result is a new tensor (autograd needs the input kept).
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local check_tensor = nn._tensorInput   -- '<module>: expected a tensor input, got ...'

-- A module computing fn(self, input); init(self, ...) reads the constructor's arguments.
local function pointwise(name, fn, init)
  local cls = torch.class('nn.' .. name, 'nn.Module')
  function cls:__init(...)
    nn.Module.__init(self)
    if init then init(self, ...) end
  end
  function cls:updateOutput(input)
    check_tensor(self, input)
    self.output = fn(self, input)
    return self.output
  end
  return cls
end

local function number_arg(cls, i, v, default)
  if v == nil then return default end
  return check.arg(cls, i, v, 'number', 4)  -- blames the caller of nn.X(...)
end

-- a comparison's 0/1 result as x's type, without recording
local function mask(cond, x) return torch.noGrad(function() return cond:typeAs(x) end) end

pointwise('Abs', function(_, x) return torch.abs(x) end)

-- HardTanh([minValue = -1, maxValue = 1 [, inplace]]): clamps to [minValue, maxValue].
local HardTanh = pointwise('HardTanh', function(self, x) return torch.clamp(x, self.minVal, self.maxVal) end,
  function(self, minValue, maxValue)
    self.minVal = number_arg('HardTanh', 1, minValue, -1)
    self.maxVal = number_arg('HardTanh', 2, maxValue, 1)
    if self.minVal > self.maxVal then
      error(('nn.HardTanh: minValue %g is above maxValue %g'):format(self.minVal, self.maxVal), 4)
    end
  end)
function HardTanh:__tostring__() return ('nn.HardTanh(%g, %g)'):format(self.minVal, self.maxVal) end
nn.Hardtanh = HardTanh

-- Clamp(minValue, maxValue)
local Clamp = pointwise('Clamp', function(self, x) return torch.clamp(x, self.minVal, self.maxVal) end,
  function(self, minValue, maxValue)
    self.minVal = check.arg('Clamp', 1, minValue, 'number', 3)
    self.maxVal = check.arg('Clamp', 2, maxValue, 'number', 3)
    if self.minVal > self.maxVal then
      error(('nn.Clamp: minValue %g is above maxValue %g'):format(self.minVal, self.maxVal), 4)
    end
  end)
function Clamp:__tostring__() return ('nn.Clamp(%g, %g)'):format(self.minVal, self.maxVal) end

pointwise('ReLU6', function(_, x) return torch.clamp(x, 0, 6) end)

-- x for x > 0, alpha * (exp(x / s) - 1) otherwise: ELU's (s = 1), CELU's (s = alpha) and
-- SELU's. The exp sees 0 where x > 0, so a large x gives no inf whose zero gradient would
-- make a NaN; where (not cmin, which splits a tie's gradient) gives x = 0 the gradient of the
-- exp branch, alpha / s, as PyTorch's.
local function exp_linear(x, alpha, s)
  local positive = torch.gt(x, 0)
  local z = torch.where(positive, 0, x)
  if s ~= 1 then z = torch.div(z, s) end
  local neg = torch.mul(torch.add(torch.exp(z), -1), alpha)
  return torch.where(positive, x, neg)
end

-- ELU([alpha = 1 [, inplace]]): x for x > 0, alpha * (exp(x) - 1) otherwise
pointwise('ELU', function(self, x) return exp_linear(x, self.alpha, 1) end,
  function(self, alpha) self.alpha = number_arg('ELU', 1, alpha, 1) end)

-- Threshold([th = 1e-6 [, v = 0 [, inplace]]]): x where x > th, v elsewhere (Torch7's and
-- PyTorch's); NaN stays NaN, as PyTorch's x <= th ? v : x
local Threshold = pointwise('Threshold', function(self, x)
  return torch.where(torch.le(x, self.threshold), self.val, x)
end, function(self, th, v)
  self.threshold = number_arg('Threshold', 1, th, 1e-6)
  self.val = number_arg('Threshold', 2, v, 0)
end)
function Threshold:__tostring__() return ('nn.Threshold(%g, %g)'):format(self.threshold, self.val) end

-- CELU([alpha = 1 [, inplace]]): x for x > 0, alpha * (exp(x / alpha) - 1) otherwise
-- (PyTorch's)
local CELU = pointwise('CELU', function(self, x) return exp_linear(x, self.alpha, self.alpha) end,
  function(self, alpha)
    self.alpha = number_arg('CELU', 1, alpha, 1)
    if self.alpha == 0 then error('nn.CELU: alpha must not be 0 (x is divided by it)', 4) end
  end)
function CELU:__tostring__() return ('nn.CELU(%g)'):format(self.alpha) end

-- SELU([inplace]): scale * ELU(x) with PyTorch's alpha and scale (self-normalising networks)
local SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
pointwise('SELU', function(_, x) return torch.mul(exp_linear(x, SELU_ALPHA, 1), SELU_SCALE) end)

-- PReLU([nOutputPlane = 0]): max(0, x) + w * min(0, x) with a learnt slope w, one for all
-- (nOutputPlane 0, PyTorch's num_parameters 1) or one per channel: dim 1 of a 1-D or 3-D
-- input (C, C x H x W), dim 2 of a 2-D or 4-D batch (N x C, N x C x H x W), as Torch7.
local PReLU = torch.class('nn.PReLU', 'nn.Module')
function PReLU:__init(nOutputPlane)
  nn.Module.__init(self)
  nOutputPlane = nOutputPlane == nil and 0 or check.arg('PReLU', 1, nOutputPlane, 'integer', 2)
  if nOutputPlane < 0 then check.argerror('PReLU', 1, 'expected 0 or a channel count, got ' .. nOutputPlane, 2) end
  self.nOutputPlane = nOutputPlane
  self.weight = torch.Tensor(math.max(nOutputPlane, 1)):fill(0.25)
  self.gradWeight = torch.Tensor(math.max(nOutputPlane, 1)):zero()
  self:_linkGradients()
end
function PReLU:updateOutput(input)
  check_tensor(self, input)
  nn._checkDevice(self, input, self.weight, 3)
  local w = self.weight
  if self.nOutputPlane > 0 then
    local d = input:dim()
    local cdim = (d == 1 or d == 3) and 1 or 2
    if d > 4 or input:size(cdim) ~= self.nOutputPlane then
      error(('nn.PReLU(%d): expected %d channels in dim %d of a 1-D to 4-D input, got [%s]')
            :format(self.nOutputPlane, self.nOutputPlane, cdim,
                    table.concat(input:size():totable(), ' x ')), 3)
    end
    local shape = {}
    for i = 1, d do shape[i] = i == cdim and self.nOutputPlane or 1 end
    w = w:view(table.unpack(shape))
  end
  self.output = torch.relu(input) + torch.cmul(torch.cmin(input, 0), w)
  return self.output
end
function PReLU:__tostring__() return ('nn.PReLU(%d)'):format(self.nOutputPlane) end

-- RReLU([lower = 1/8, upper = 1/3 [, inplace]]): x for x >= 0, a * x otherwise, with a drawn
-- uniformly from [lower, upper] for each element in training (torch.manualSeed reproduces it;
-- kept in self.noise) and (lower + upper) / 2 in evaluate().
pointwise('RReLU', function(self, x)
  local slope
  if self.train then
    slope = torch.noGrad(function()
      return torch.Tensor():typeAs(x):resizeAs(x):uniform(self.lower, self.upper)
    end)
    self.noise = slope
  else
    slope = (self.lower + self.upper) / 2
  end
  return torch.where(torch.ge(x, 0), x, torch.cmul(x, slope))
end, function(self, lower, upper)
  self.lower = number_arg('RReLU', 1, lower, 1 / 8)
  self.upper = number_arg('RReLU', 2, upper, 1 / 3)
  if not (0 <= self.lower and self.lower <= self.upper) then
    error(('nn.RReLU: expected 0 <= lower <= upper, got %g and %g'):format(self.lower, self.upper), 4)
  end
end)
function nn.RReLU:_clearState() self.noise = nil end

-- SoftPlus([beta = 1 [, threshold = 20]]): log(1 + exp(beta x)) / beta, and x itself where
-- beta x > threshold (PyTorch's; Torch7's too).
local SoftPlus = pointwise('SoftPlus', function(self, x)
  local bx = torch.mul(x, self.beta)
  local soft = torch.div(torch.log1p(torch.exp(torch.cmin(bx, self.threshold))), self.beta)
  return torch.where(torch.gt(bx, self.threshold), x, soft)
end, function(self, beta, threshold)
  self.beta = number_arg('SoftPlus', 1, beta, 1)
  self.threshold = number_arg('SoftPlus', 2, threshold, 20)
end)
nn.Softplus = SoftPlus

-- SoftSign: x / (1 + |x|)
nn.Softsign = pointwise('SoftSign', function(_, x) return torch.cdiv(x, torch.add(torch.abs(x), 1)) end)

-- SoftShrink([lambda = 0.5]): x - lambda above lambda, x + lambda below -lambda, else 0;
-- that is x minus x clamped to [-lambda, lambda].
nn.Softshrink = pointwise('SoftShrink', function(self, x)
  return x - torch.clamp(x, -self.lambda, self.lambda)
end, function(self, lambda) self.lambda = number_arg('SoftShrink', 1, lambda, 0.5) end)

-- HardShrink([lambda = 0.5]): x where |x| > lambda, else 0
nn.Hardshrink = pointwise('HardShrink', function(self, x)
  return torch.cmul(x, mask(torch.gt(torch.abs(x), self.lambda), x))
end, function(self, lambda) self.lambda = number_arg('HardShrink', 1, lambda, 0.5) end)

-- TanhShrink: x - tanh(x)
nn.Tanhshrink = pointwise('TanhShrink', function(_, x) return x - torch.tanh(x) end)

-- LogSigmoid: log(1 / (1 + exp(-x))) = min(x, 0) - log(1 + exp(-|x|)), stable both ways
pointwise('LogSigmoid', function(_, x)
  return torch.cmin(x, 0) - torch.log1p(torch.exp(torch.neg(torch.abs(x))))
end)

-- SoftMin([dim]): softmax of -x over the features (dim as nn.SoftMax's)
nn.Softmin = pointwise('SoftMin', function(self, x)
  return torch.softmax(torch.neg(x), nn._softmaxDim(self, x))
end, function(self, dim) self.dim = check.arg('SoftMin', 1, dim, 'integer?', 3) end)
-- PyTorch's spellings of the existing ones
nn.Softmax, nn.LogSoftmax = nn.SoftMax, nn.LogSoftMax

pointwise('Exp', function(_, x) return torch.exp(x) end)
pointwise('Log', function(_, x) return torch.log(x) end)
pointwise('Sqrt', function(_, x) return torch.sqrt(x) end)
pointwise('Square', function(_, x) return torch.cmul(x, x) end)

-- Power(p): x ^ p
pointwise('Power', function(self, x) return torch.pow(x, self.pow) end,
  function(self, p) self.pow = check.arg('Power', 1, p, 'number', 3) end)

-- SiLU (swish): x * sigmoid(x); Mish: x * tanh(softplus(x))
pointwise('SiLU', function(_, x) return torch.cmul(x, torch.sigmoid(x)) end)
pointwise('Mish', function(_, x)
  local sp = torch.log1p(torch.exp(torch.cmin(x, 20)))
  return torch.cmul(x, torch.tanh(torch.where(torch.gt(x, 20), x, sp)))
end)

-- ---- GELU ---------------------------------------------------------------------------------
-- erf to about 1e-15: its Taylor series below 3 (the largest term there is under 200, so
-- little is lost to cancellation), the continued fraction of erfc beyond.
local SQRT_PI = math.sqrt(math.pi)
local function erf(x)
  local ax = math.abs(x)
  if ax < 3 then
    local x2, term, sum, n = x * x, x, x, 0
    repeat
      n = n + 1
      term = -term * x2 / n
      local add = term / (2 * n + 1)
      sum = sum + add
    until math.abs(add) <= 1e-17 * math.abs(sum)
    return 2 / SQRT_PI * sum
  end
  local k = ax
  for n = 60, 1, -1 do k = ax + (n / 2) / k end
  local erfc = math.exp(-ax * ax) / SQRT_PI / k
  return x > 0 and 1 - erfc or erfc - 1
end
nn._erf = erf

-- Phi(x), the standard normal CDF, with its derivative as the gradient
local normal_cdf = torch.autograd.Function {
  forward = function(ctx, x)
    ctx.x = x
    local host = x:isCuda() and x:double() or x
    local out = host:clone():apply(function(v) return 0.5 * (1 + erf(v / math.sqrt(2))) end)
    return x:isCuda() and out:typeAs(x) or out
  end,
  backward = function(ctx, gradOutput)
    local density = torch.exp(torch.cmul(ctx.x, ctx.x):mul(-0.5)):mul(1 / math.sqrt(2 * math.pi))
    return torch.cmul(gradOutput, density)
  end,
}

-- GELU([approximate = 'none']): x * Phi(x) (Phi computed element by element in Lua, so
-- slower than the other activations), or with 'tanh' PyTorch's tanh approximation
-- 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) from tensor ops.
local GELU = pointwise('GELU', function(self, x)
  if self.approximate == 'tanh' then
    local inner = torch.mul(x + torch.mul(torch.pow(x, 3), 0.044715), math.sqrt(2 / math.pi))
    return torch.mul(torch.cmul(x, torch.add(torch.tanh(inner), 1)), 0.5)
  end
  return torch.cmul(x, normal_cdf(x))
end, function(self, approximate)
  if type(approximate) == 'table' then
    approximate = check.options('nn.GELU', approximate, { approximate = 'none' }, 4).approximate
  end
  self.approximate = approximate or 'none'
  if self.approximate ~= 'none' and self.approximate ~= 'tanh' then
    error(("nn.GELU: approximate must be 'none' or 'tanh', got %s"):format(tostring(approximate)), 4)
  end
end)
function GELU:__tostring__() return ("nn.GELU('%s')"):format(self.approximate) end

return nn
