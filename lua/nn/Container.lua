-- nn.Container and the containers: Sequential, ConcatTable, ParallelTable. Containers chain
-- their children Torch7-style (forward in order, backward in reverse), so a child may be a
-- hand-written Torch7 layer or an autograd-backed one.
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local Container, parent = torch.class('nn.Container', 'nn.Module')

function Container:__init(...)
  parent.__init(self, ...)
  self.modules = {}
end

function Container:add(module)
  if not torch.isTypeOf(module, 'nn.Module') then
    error(('%s:add: expected an nn.Module, got %s'):format(torch.typename(self),
          torch.typename(module) or type(module)), 2)
  end
  self.modules[#self.modules + 1] = module
  return self
end

function Container:get(index) return self.modules[index] end
function Container:size() return #self.modules end

-- c:insert(module [, index = size + 1]) / c:remove([index = size]) -> the removed module,
-- Torch7's (index may be negative: from the end)
local function position(self, fname, index, last, argn)
  local n = #self.modules
  index = check.arg(fname, argn, index, 'integer?', 3) or last
  if index < 0 then index = index + n + 1 + (last > n and 1 or 0) end
  if index < 1 or index > last then
    check.argerror(fname, argn, ('index %d out of range for a container of %d modules'):format(index, n), 3)
  end
  return index
end

function Container:insert(module, index)
  if not torch.isTypeOf(module, 'nn.Module') then
    check.argerror('insert', 1, ('expected an nn.Module, got %s'):format(torch.typename(module) or type(module)), 2)
  end
  table.insert(self.modules, position(self, 'insert', index, #self.modules + 1, 2), module)
  return self
end

function Container:remove(index)
  if #self.modules == 0 then error('remove: the container is empty', 2) end
  return table.remove(self.modules, position(self, 'remove', index, #self.modules, 1))
end

function Container:parameters()
  local params, grads = {}, {}
  for _, m in ipairs(self.modules) do
    local p, g = m:parameters()
    for i = 1, #(p or {}) do params[#params + 1], grads[#grads + 1] = p[i], g[i] end
  end
  if #params == 0 then return nil end
  return params, grads
end

-- children's names prefixed with their 0-based index, as PyTorch's Sequential: '0.weight'
function Container:namedParameters()
  local list = {}
  for i, m in ipairs(self.modules) do
    for _, e in ipairs(m:namedParameters()) do
      list[#list + 1] = { (i - 1) .. '.' .. e[1], e[2], e[3] }
    end
  end
  return list
end

-- namedBuffers(): the children's buffers (batch norm's running statistics) under the same
-- prefixes as namedParameters, so stateDict/loadStateDict carry a whole model's state
function Container:namedBuffers()
  local list = {}
  for i, m in ipairs(self.modules) do
    if m.namedBuffers then
      for _, e in ipairs(m:namedBuffers()) do list[#list + 1] = { (i - 1) .. '.' .. e[1], e[2] } end
    end
  end
  return list
end

function Container:zeroGradParameters()
  for _, m in ipairs(self.modules) do m:zeroGradParameters() end
end

function Container:updateParameters(lr)
  for _, m in ipairs(self.modules) do m:updateParameters(lr) end
end

function Container:training()
  self.train = true
  for _, m in ipairs(self.modules) do m:training() end
  return self
end

function Container:evaluate()
  self.train = false
  for _, m in ipairs(self.modules) do m:evaluate() end
  return self
end

-- Torch7-style tree printing
local function indent(s, pad) return (s:gsub('\n', '\n' .. pad)) end

-- ---- Sequential -----------------------------------------------------------------------------
local Sequential = torch.class('nn.Sequential', 'nn.Container')

function Sequential:updateOutput(input)
  local current = input
  for _, m in ipairs(self.modules) do current = m:forward(current) end
  self.output = current
  return current
end

local function input_of(self, i, input)
  return i == 1 and input or self.modules[i - 1].output
end

function Sequential:updateGradInput(input, gradOutput)
  local g = gradOutput
  for i = #self.modules, 1, -1 do g = self.modules[i]:updateGradInput(input_of(self, i, input), g) end
  self.gradInput = g
  return g
end

function Sequential:accGradParameters(input, gradOutput, scale)
  local g = gradOutput
  for i = #self.modules, 1, -1 do
    local m = self.modules[i]
    m:accGradParameters(input_of(self, i, input), g, scale)
    g = m.gradInput
  end
end

function Sequential:backward(input, gradOutput, scale)
  local g = gradOutput
  for i = #self.modules, 1, -1 do g = self.modules[i]:backward(input_of(self, i, input), g, scale) end
  self.gradInput = g
  return g
end

function Sequential:__tostring__()
  local lines = { 'nn.Sequential {' }
  local chain = { '[input' }
  for i = 1, #self.modules do chain[#chain + 1] = ('(%d)'):format(i) end
  chain[#chain + 1] = 'output]'
  lines[#lines + 1] = '  ' .. table.concat(chain, ' -> ')
  for i, m in ipairs(self.modules) do
    lines[#lines + 1] = ('  (%d): %s'):format(i, indent(tostring(m), '  '))
  end
  lines[#lines + 1] = '}'
  return table.concat(lines, '\n')
end

-- ---- ConcatTable: every child on the same input; the output is the table of outputs ----
local ConcatTable = torch.class('nn.ConcatTable', 'nn.Container')

function ConcatTable:updateOutput(input)
  self.output = {}
  for i, m in ipairs(self.modules) do self.output[i] = m:forward(input) end
  return self.output
end

-- sum of gradients that may be tensors or (nested) tables of tensors
local function add_into(acc, g)
  if acc == nil then
    if torch.isTensor(g) then return g:clone() end
    local r = {}
    for k, v in pairs(g) do r[k] = add_into(nil, v) end
    return r
  end
  if torch.isTensor(acc) then return torch.noGrad(function() return acc:add(g) end) end
  for k, v in pairs(g) do acc[k] = add_into(acc[k], v) end
  return acc
end

-- a ConcatTable's gradOutput: one gradient per branch
local function branch_grads(fname, gradOutput)
  check.arg(fname, 2, gradOutput, 'table', 3)
end

local function concat_backward(self, input, gradOutput, call)
  local acc
  for i, m in ipairs(self.modules) do acc = add_into(acc, call(m, input, gradOutput[i])) end
  self.gradInput = acc
  return acc
end

function ConcatTable:updateGradInput(input, gradOutput)
  branch_grads('updateGradInput', gradOutput)
  return concat_backward(self, input, gradOutput, function(m, x, g) return m:updateGradInput(x, g) end)
end

function ConcatTable:accGradParameters(input, gradOutput, scale)
  branch_grads('accGradParameters', gradOutput)
  for i, m in ipairs(self.modules) do m:accGradParameters(input, gradOutput[i], scale) end
end

function ConcatTable:backward(input, gradOutput, scale)
  branch_grads('backward', gradOutput)
  return concat_backward(self, input, gradOutput, function(m, x, g) return m:backward(x, g, scale) end)
end

local function branches_tostring(self, name)
  local lines = { name .. ' {', '  input' }
  for i, m in ipairs(self.modules) do
    lines[#lines + 1] = ('  %s-> (%d): %s'):format(i == #self.modules and '`' or '|', i,
                                                  indent(tostring(m), '  |    '))
  end
  lines[#lines + 1] = '  ... -> output'
  lines[#lines + 1] = '}'
  return table.concat(lines, '\n')
end

function ConcatTable:__tostring__() return branches_tostring(self, 'nn.ConcatTable') end

-- ---- ParallelTable: child i on input[i] ------------------------------------------------
local ParallelTable = torch.class('nn.ParallelTable', 'nn.Container')

local function check_table(self, input)
  if type(input) ~= 'table' or torch.isTensor(input) then
    error(('%s: expected a table of %d inputs, got %s'):format(torch.typename(self), #self.modules,
          torch.typename(input) or type(input)), 3)
  end
end

function ParallelTable:updateOutput(input)
  check_table(self, input)
  self.output = {}
  for i, m in ipairs(self.modules) do self.output[i] = m:forward(input[i]) end
  return self.output
end

-- a ParallelTable's input and gradOutput: one per branch
local function branch_args(fname, input, gradOutput)
  check.arg(fname, 1, input, 'table', 3)
  check.arg(fname, 2, gradOutput, 'table', 3)
end

function ParallelTable:updateGradInput(input, gradOutput)
  branch_args('updateGradInput', input, gradOutput)
  self.gradInput = {}
  for i, m in ipairs(self.modules) do self.gradInput[i] = m:updateGradInput(input[i], gradOutput[i]) end
  return self.gradInput
end

function ParallelTable:accGradParameters(input, gradOutput, scale)
  branch_args('accGradParameters', input, gradOutput)
  for i, m in ipairs(self.modules) do m:accGradParameters(input[i], gradOutput[i], scale) end
end

function ParallelTable:backward(input, gradOutput, scale)
  branch_args('backward', input, gradOutput)
  self.gradInput = {}
  for i, m in ipairs(self.modules) do self.gradInput[i] = m:backward(input[i], gradOutput[i], scale) end
  return self.gradInput
end

function ParallelTable:__tostring__() return branches_tostring(self, 'nn.ParallelTable') end

return Container
