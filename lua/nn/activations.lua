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

-- SoftMax / LogSoftMax normalise over the features, an explicit dim or where Torch7 and
-- PyTorch's implicit dim agree: dim 1 of a 1-D vector or a 3-D C x H x W map, dim 2 of a 2-D
-- batch, a 4-D N x C x H x W batch and beyond. (It was dim 2 for a 3-D input, neither's.)
local function feature_dim(self, x)
  if self.dim then return self.dim end
  local nd = x:dim()
  return (nd == 1 or nd == 3) and 1 or 2
end
nn._softmaxDim = feature_dim   -- SoftMin's too (nn/transfer.lua)

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
