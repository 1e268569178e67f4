-- nn.LookupTable(nIndex, nOutput): rows of a (nIndex x nOutput) weight picked by 1-based
-- indices; an index tensor of shape S gives an output of shape S x nOutput.
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local LookupTable, parent = torch.class('nn.LookupTable', 'nn.Module')

function LookupTable:__init(nIndex, nOutput)
  check.arg('LookupTable', 1, nIndex, 'count', 2)
  check.arg('LookupTable', 2, nOutput, 'count', 2)
  parent.__init(self)
  self.nIndex, self.nOutput = nIndex, nOutput
  -- the constructor's errors (too large) are raised as nn.LookupTable's
  self.weight = check.call('nn.LookupTable', 2, pcall(torch.Tensor, nIndex, nOutput))
  self.gradWeight = torch.Tensor(nIndex, nOutput)
  self:reset()
  self:_linkGradients()
end

-- N(0, 1), as Torch7 and PyTorch's nn.Embedding
function LookupTable:reset(stdv)
  torch.noGrad(function() self.weight:normal(0, stdv or 1) end)
  return self
end

function LookupTable:updateOutput(input)
  if not torch.isTensor(input) then
    error(('nn.LookupTable: expected a tensor of indices, got %s'):format(torch.typename(input) or type(input)), 3)
  end
  nn._checkDevice(self, input, self.weight, 3)
  local t = input:type()
  if nn._floatingTypes[t] and input:nElement() > 0 then
    -- :long() would truncate 1.5 into row 1: a fraction is an error, as for class targets
    local host = torch.noGrad(function() return input:double():view(-1) end)
    local frac = torch.noGrad(function() return host:ne(torch.floor(host)) end)
    if frac:max() ~= 0 then
      local i = 1
      while frac[i] == 0 do i = i + 1 end
      error(('%s: indices must be whole numbers, got %s at position %d of a %s'):format(
            torch.typename(self), ('%g'):format(host[i]), i, t), 3)
    end
  end
  local idx = (t == 'torch.LongTensor' or t == 'torch.CudaLongTensor') and input
              or (input:isCuda() and input:cudaLong() or input:long())
  local flat = idx:contiguous():view(-1)
  local out = self.weight:index(1, flat)
  local shape = idx:size():totable()
  shape[#shape + 1] = self.nOutput
  self.output = out:view(table.unpack(shape))
  return self.output
end

function LookupTable:__tostring__()
  return ('nn.LookupTable(%d -> %d)'):format(self.nIndex, self.nOutput)
end

return LookupTable
