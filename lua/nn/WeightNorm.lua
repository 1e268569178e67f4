-- nn.WeightNorm(module [, outputDim = 1]) — Torch7's weight normalisation (PyTorch's
-- torch.nn.utils.weight_norm with dim = outputDim - 1): the wrapped module's weight becomes
--   w = g * v / ||v||,  the norm over every dim but outputDim,
-- with g (size 1 but along outputDim) and v learnt instead; g starts at ||w|| and v at w, so the
-- module computes what it did. Parameters, with PyTorch's names: weight_g, weight_v, then the
-- module's others (bias). The module must get its backward from autograd (nn.Linear does):
-- each forward computes w from g and v and runs the module's updateOutput with it, so the
-- graph reaches g and v in either loop style.
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local WeightNorm = torch.class('nn.WeightNorm', 'nn.Container')

-- ||v|| over every dim but d, shaped for broadcasting (size 1 but along d)
local function norm_except(v, d)
  local n = v:size(d)
  local rows = v:transpose(1, d):reshape(n, -1)
  local norm = torch.sqrt(torch.sum(torch.cmul(rows, rows), 2))
  local shape = {}
  for i = 1, v:dim() do shape[i] = i == d and n or 1 end
  return norm:view(table.unpack(shape))
end

function WeightNorm:__init(module, outputDim)
  nn.Container.__init(self)
  check.arg('WeightNorm', 1, module, 'module', 2)
  if not torch.isTensor(module.weight) then
    check.argerror('WeightNorm', 1, ('a module with a weight expected, got %s'):format(torch.typename(module)), 2)
  end
  if not module:usesAutograd() then
    check.argerror('WeightNorm', 1, ('%s computes its own backward; WeightNorm needs a module differentiated '
                   .. 'by autograd'):format(torch.typename(module)), 2)
  end
  local w = module.weight
  self.outputDim = outputDim == nil and 1 or check.arg('WeightNorm', 2, outputDim, 'integer', 2)
  if self.outputDim < 1 or self.outputDim > w:dim() then
    check.argerror('WeightNorm', 2, ('dim %d out of range for a weight of %d dims'):format(self.outputDim, w:dim()), 2)
  end
  torch.noGrad(function()
    self.v = w:clone()
    self.g = norm_except(w, self.outputDim):clone()
    self.gradV = torch.Tensor():typeAs(w):resizeAs(self.v):zero()
    self.gradG = torch.Tensor():typeAs(w):resizeAs(self.g):zero()
  end)
  -- the module's weight is computed at each forward; between forwards it has none
  module.weight, module.gradWeight = nil, nil
  self.modules[1] = module
  self:_linkGradients()
end

function WeightNorm:parameters()
  local params, grads = { self.g, self.v }, { self.gradG, self.gradV }
  local p, g = self.modules[1]:parameters()
  for i = 1, #(p or {}) do params[#params + 1], grads[#grads + 1] = p[i], g[i] end
  return params, grads
end

function WeightNorm:namedParameters()
  local list = { { 'weight_g', self.g, self.gradG }, { 'weight_v', self.v, self.gradV } }
  for _, e in ipairs(self.modules[1]:namedParameters()) do list[#list + 1] = e end
  return list
end

-- the weight the module uses now (recorded by autograd when it is on)
function WeightNorm:weight()
  return torch.cmul(self.v, torch.cdiv(self.g, norm_except(self.v, self.outputDim)))
end

function WeightNorm:updateOutput(input)
  local m = self.modules[1]
  m.weight = self:weight()
  local ok, out = pcall(m.updateOutput, m, input)
  m.weight = nil
  if not ok then error(out, 0) end
  self.output = out
  return out
end

-- g and v are this module's own: Module's versions, which go through parameters(), not
-- Container's, which visit the children only
WeightNorm.zeroGradParameters = nn.Module.zeroGradParameters
WeightNorm.updateParameters = nn.Module.updateParameters

function WeightNorm:__tostring__()
  return ('nn.WeightNorm(%d) @ %s'):format(self.outputDim, tostring(self.modules[1]))
end

return WeightNorm
