-- examples/extending/rmsnorm.lua — a layer in pure Lua: nn.RMSNorm(size [, eps]) scales each
-- row (the last dimension) by the inverse of its root mean square, then by a learned weight:
--   y = x / sqrt(mean(x^2) + eps) * weight
-- Built from tensor ops that autograd records, so it needs no backward of its own.
local torch = require 'torch'
local nn = require 'nn'

local RMSNorm, parent = torch.class('nn.RMSNorm', 'nn.Module')

function RMSNorm:__init(size, eps)
  parent.__init(self)
  self.size, self.eps = size, eps or 1e-6
  self.weight = torch.ones(size)        -- parameters: weight + gradWeight (PyTorch's names)
  self.gradWeight = torch.zeros(size)
  self:_linkGradients()                 -- weight requires grad, its .grad is gradWeight
end

function RMSNorm:updateOutput(x)
  -- functional forms (torch.add, not x:add) make new tensors, which autograd records
  local meanSquare = torch.mean(torch.cmul(x, x), x:dim())   -- keeps the dim: broadcasts
  local scale = torch.rsqrt(torch.add(meanSquare, self.eps))
  self.output = torch.cmul(torch.cmul(x, scale), self.weight)
  return self.output
end

return RMSNorm
