-- Elementwise and normalising activations: Sigmoid, Tanh, ReLU, LeakyReLU, SoftMax, LogSoftMax.
-- Each is one tensor op; autograd gives the backward.
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local check_tensor = nn._tensorInput   -- '<module>: expected a tensor input, got ...'

local function pointwise(name, fn)
  local cls = torch.class('nn.' .. name, 'nn.Module')
  function cls:updateOutput(input)
    check_tensor(self, input)
    self.output = fn(self, input)
    return self.output
  end
  return cls
end

pointwise('Sigmoid', function(_, x) return torch.sigmoid(x) end)
pointwise('Tanh', function(_, x) return torch.tanh(x) end)
pointwise('ReLU', function(_, x) return torch.relu(x) end)

local LeakyReLU = pointwise('LeakyReLU', function(self, x) return torch.leakyRelu(x, self.negval) end)
function LeakyReLU:__init(negval)
  check.arg('LeakyReLU', 1, negval, 'number?', 2)
  nn.Module.__init(self)
  self.negval = negval or 0.01
end
function LeakyReLU:__tostring__() return ('nn.LeakyReLU(%g)'):format(self.negval) end

-- SoftMax / LogSoftMax normalise over the features: the only dim of a 1-D input, dim 2 of a
-- batch (Torch7's convention), or an explicit dim.
local function feature_dim(self, x) return self.dim or (x:dim() == 1 and 1 or 2) end

local SoftMax = pointwise('SoftMax', function(self, x) return torch.softmax(x, feature_dim(self, x)) end)
function SoftMax:__init(dim)
  check.arg('SoftMax', 1, dim, 'integer?', 2)
  nn.Module.__init(self)
  self.dim = dim
end

local LogSoftMax = pointwise('LogSoftMax', function(self, x) return torch.logSoftmax(x, feature_dim(self, x)) end)
function LogSoftMax:__init(dim)
  check.arg('LogSoftMax', 1, dim, 'integer?', 2)
  nn.Module.__init(self)
  self.dim = dim
end

return nn
