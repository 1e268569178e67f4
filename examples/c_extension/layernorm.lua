-- layernorm — nn.LayerNorm, a layer whose forward and backward are C (layernorm.c, the
-- module layernorm.core) registered in luatorch's autograd through the public C API.
--
--   local nn = require 'nn'
--   require 'layernorm'                       -- nn.LayerNorm is now this C layer
--   local m = nn.Sequential():add(nn.Linear(10, 8)):add(nn.LayerNorm(8)):add(nn.Tanh())
--
-- nn.LayerNorm(size [, eps = 1e-5 [, elementwiseAffine = true]]) is PyTorch's
-- nn.LayerNorm(size): each row of the input (its last dimension, of this size) is normalised
-- to zero mean and unit (biased) variance, then scaled by weight and shifted by bias
-- (initially ones and zeros; PyTorch's names, so stateDict maps to PyTorch).
local torch = require 'torch'
local nn = require 'nn'
local C = require 'layernorm.core'

local LayerNorm, parent = torch.class('nn.LayerNorm', 'nn.Module')

function LayerNorm:__init(size, eps, elementwiseAffine)
  parent.__init(self)
  if math.type(size) ~= 'integer' or size < 1 then
    error(('nn.LayerNorm: expected a positive integer size, got %s'):format(size), 2)
  end
  self.normalizedShape, self.eps = size, eps or 1e-5
  if elementwiseAffine ~= false then
    self.weight, self.gradWeight = torch.Tensor(size), torch.Tensor(size):zero()
    self.bias, self.gradBias = torch.Tensor(size), torch.Tensor(size):zero()
  end
  self:reset()
  self:_linkGradients()   -- parameters require grad; autograd accumulates into gradWeight/gradBias
end

function LayerNorm:reset()
  if self.weight then
    torch.noGrad(function()
      self.weight:fill(1)
      self.bias:zero()
    end)
  end
  return self
end

-- The C function records its own autograd node, so both loop styles work unchanged:
-- m:forward(x) / m:backward(x, gradOutput), and y = m(x) ... loss:backward().
function LayerNorm:updateOutput(input)
  if not torch.isTensor(input) then
    error(('nn.LayerNorm: expected a tensor input, got %s'):format(type(input)), 3)
  end
  self.output = C.layerNorm(input, self.weight, self.bias, self.eps)
  return self.output
end

function LayerNorm:__tostring__()
  return ('nn.LayerNorm(%d, eps=%g%s)'):format(self.normalizedShape, self.eps,
                                              self.weight and '' or ', no affine')
end

-- the function itself: layerNorm(x, weight, bias [, eps]), weight and bias may be nil
LayerNorm.layerNorm = C.layerNorm

return LayerNorm
