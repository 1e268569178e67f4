-- Table modules: JoinTable, SplitTable, SelectTable, NarrowTable, CAddTable, CMulTable.
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local function table_input(self, input)
  if type(input) ~= 'table' or torch.isTensor(input) then
    error(('%s: expected a table of tensors, got %s'):format(torch.typename(self),
          torch.typename(input) or type(input)), 4)
  end
  return input
end

-- A dim given for one sample: shifted by one when the input has nInputDims + 1 dims (batch).
local function batch_dim(dim, nInputDims, t)
  if dim < 0 then return t:dim() + dim + 1 end
  if nInputDims and t:dim() == nInputDims + 1 then return dim + 1 end
  return dim
end

-- JoinTable(dim [, nInputDims]): concatenates the tensors of a table along dim.
local JoinTable = torch.class('nn.JoinTable', 'nn.Module')
function JoinTable:__init(dim, nInputDims)
  check.arg('JoinTable', 1, dim, 'integer', 2)
  check.arg('JoinTable', 2, nInputDims, 'count?', 2)
  nn.Module.__init(self)
  self.dim, self.nInputDims = dim, nInputDims
end
function JoinTable:updateOutput(input)
  table_input(self, input)
  self.output = torch.cat(input, batch_dim(self.dim, self.nInputDims, input[1]))
  return self.output
end

-- SplitTable(dim [, nInputDims]): a tensor into the table of its slices along dim.
local SplitTable = torch.class('nn.SplitTable', 'nn.Module')
function SplitTable:__init(dim, nInputDims)
  check.arg('SplitTable', 1, dim, 'integer', 2)
  check.arg('SplitTable', 2, nInputDims, 'count?', 2)
  nn.Module.__init(self)
  self.dim, self.nInputDims = dim, nInputDims
end
function SplitTable:updateOutput(input)
  if not torch.isTensor(input) then
    error(('nn.SplitTable: expected a tensor input, got %s'):format(torch.typename(input) or type(input)), 3)
  end
  local dim = batch_dim(self.dim, self.nInputDims, input)
  self.output = {}
  for i = 1, input:size(dim) do self.output[i] = input:select(dim, i) end
  return self.output
end

-- SelectTable(index): one element of a table (negative from the end).
local SelectTable = torch.class('nn.SelectTable', 'nn.Module')
function SelectTable:__init(index)
  check.arg('SelectTable', 1, index, 'integer', 2)
  nn.Module.__init(self)
  self.index = index
end
function SelectTable:updateOutput(input)
  table_input(self, input)
  local i = self.index < 0 and #input + self.index + 1 or self.index
  if input[i] == nil then
    error(('nn.SelectTable: index %d out of range for a table of %d'):format(self.index, #input), 3)
  end
  self.output = input[i]
  return self.output
end

-- NarrowTable(offset [, length = 1]): a sub-table.
local NarrowTable = torch.class('nn.NarrowTable', 'nn.Module')
function NarrowTable:__init(offset, length)
  check.arg('NarrowTable', 1, offset, 'integer', 2)
  check.arg('NarrowTable', 2, length, 'count?', 2)
  nn.Module.__init(self)
  self.offset, self.length = offset, length or 1
end
function NarrowTable:updateOutput(input)
  table_input(self, input)
  if self.offset + self.length - 1 > #input then
    error(('nn.NarrowTable: [%d, %d] out of range for a table of %d'):format(self.offset,
          self.offset + self.length - 1, #input), 3)
  end
  self.output = {}
  for i = 1, self.length do self.output[i] = input[self.offset + i - 1] end
  return self.output
end

-- CAddTable / CMulTable: elementwise sum / product of the tensors of a table.
local function reducer(name, op)
  local cls = torch.class('nn.' .. name, 'nn.Module')
  function cls:updateOutput(input)
    table_input(self, input)
    local out = input[1]
    for i = 2, #input do out = op(out, input[i]) end
    self.output = out
    return out
  end
end
reducer('CAddTable', function(a, b) return torch.add(a, b) end)
reducer('CMulTable', function(a, b) return torch.cmul(a, b) end)

return nn
