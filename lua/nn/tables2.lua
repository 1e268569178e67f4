-- Torch7's containers and table modules beyond Sequential/ConcatTable/ParallelTable (doc/
-- containers.md, doc/table.md): Concat, DepthConcat, Parallel, Bottle, MapTable,
-- FlattenTable, CSubTable, CDivTable, CMaxTable, CMinTable, CriterionTable.
-- The containers chain their children Torch7-style (forward, then backward with each child's
-- slice of gradOutput), so a child may be hand-written; called PyTorch-style (m(x)) their
-- outputs are built from differentiable ops, so loss:backward() reaches every child.
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local function shape(t)
  if not torch.isTensor(t) then return torch.typename(t) or type(t) end
  return '[' .. table.concat(t:size():totable(), ' x ') .. ']'
end

local function has_children(self)
  if #self.modules == 0 then
    error(('%s: no modules to run; add them with :add(module)'):format(torch.typename(self)), 4)
  end
end

local function table_input(self, input, n)
  if type(input) ~= 'table' or torch.isTensor(input) or (n and #input < n) then
    error(('%s: expected a table of %s tensors, got %s'):format(torch.typename(self),
          n and tostring(n) or 'at least one', type(input) == 'table' and not torch.isTensor(input)
          and ('a table of ' .. #input) or (torch.typename(input) or type(input))), 4)
  end
  return input
end

-- a + b for gradients that may be tensors or tables of them (a is owned and updated)
local function add_into(acc, g)
  if acc == nil then
    if torch.isTensor(g) then return torch.noGrad(function() return g:clone() end) end
    local r = {}
    for k, v in pairs(g) do r[k] = add_into(nil, v) end
    return r
  end
  if torch.isTensor(acc) then return torch.noGrad(function() return acc:add(g) end) end
  for k, v in pairs(g) do acc[k] = add_into(acc[k], v) end
  return acc
end

-- The three Torch7 backward entry points of a container, from one function that runs
-- call(child, childInput, childGradOutput) for each child and returns the gradInput.
local function torch7_backward(cls, run)
  function cls:updateGradInput(input, gradOutput)
    self.gradInput = run(self, input, gradOutput, function(m, x, g) return m:updateGradInput(x, g) end)
    return self.gradInput
  end
  function cls:accGradParameters(input, gradOutput, scale)
    run(self, input, gradOutput, function(m, x, g) m:accGradParameters(x, g, scale) return m.gradInput end)
  end
  function cls:backward(input, gradOutput, scale)
    self.gradInput = run(self, input, gradOutput, function(m, x, g) return m:backward(x, g, scale) end)
    return self.gradInput
  end
end

-- ---- Concat / DepthConcat --------------------------------------------------------------------
-- Concat(dim): every child on the same input, the outputs concatenated along dim.
local Concat = torch.class('nn.Concat', 'nn.Container')
function Concat:__init(dim)
  nn.Container.__init(self)
  -- (DepthConcat's constructor too: its errors name it)
  self.dimension = check.arg(torch.typename(self):sub(4), 1, dim, 'integer', 2)
end

-- child i's output placed in the whole: along dim at its offset (DepthConcat also centres it)
function Concat:_window(t, offset, n) return t:narrow(self.dimension, offset, n) end
function Concat:_fit(out) return out end

function Concat:updateOutput(input)
  has_children(self)
  local outs = {}
  for i, m in ipairs(self.modules) do
    local o = m:forward(input)
    if not torch.isTensor(o) or o:dim() < self.dimension then
      error(('%s: child %d gave %s, which has no dim %d to concatenate along'):format(torch.typename(self),
            i, torch.isTensor(o) and shape(o) or type(o), self.dimension), 3)
    end
    outs[i] = o
  end
  outs = self:_fit(outs)
  local ok, out = pcall(torch.cat, outs, self.dimension)
  if not ok then
    local shapes = {}
    for i, o in ipairs(outs) do shapes[i] = shape(o) end
    error(('%s: cannot concatenate the outputs %s along dim %d'):format(torch.typename(self),
          table.concat(shapes, ', '), self.dimension), 3)
  end
  self.output = out
  return out
end

torch7_backward(Concat, function(self, input, gradOutput, call)
  local acc, offset = nil, 1
  for _, m in ipairs(self.modules) do
    local n = m.output:size(self.dimension)
    acc = add_into(acc, call(m, input, self:_window(gradOutput, offset, n, m.output)))
    offset = offset + n
  end
  return acc
end)

function Concat:__tostring__()
  local lines = { ('%s(%d) {'):format(torch.typename(self), self.dimension) }
  for i, m in ipairs(self.modules) do
    lines[#lines + 1] = ('  (%d): %s'):format(i, (tostring(m):gsub('\n', '\n  ')))
  end
  lines[#lines + 1] = '}'
  return table.concat(lines, '\n')
end

-- DepthConcat(dim): Concat for outputs that differ in their other dims too: each is centred in
-- zeros up to the largest size of each dim (Torch7's start: floor((max - size) / 2) + 1).
local DepthConcat = torch.class('nn.DepthConcat', 'nn.Concat')

local function max_sizes(self, outs)
  local sizes = outs[1]:size():totable()
  for _, o in ipairs(outs) do
    if o:dim() ~= #sizes then
      error(('nn.DepthConcat: the children give outputs of %d and %d dims'):format(#sizes, o:dim()), 5)
    end
    for d = 1, #sizes do sizes[d] = math.max(sizes[d], o:size(d)) end
  end
  return sizes
end

function DepthConcat:_fit(outs)
  local sizes = max_sizes(self, outs)
  self._sizes = sizes
  local fitted = {}
  for i, o in ipairs(outs) do
    for d = 1, #sizes do
      local missing = sizes[d] - o:size(d)
      if d ~= self.dimension and missing > 0 then
        local before = math.floor(missing / 2)
        local pieces = {}
        local function zeros(n)
          local s = o:size():totable()
          s[d] = n
          return torch.noGrad(function() return torch.Tensor():typeAs(o):resize(table.unpack(s)):zero() end)
        end
        if before > 0 then pieces[#pieces + 1] = zeros(before) end
        pieces[#pieces + 1] = o
        pieces[#pieces + 1] = zeros(missing - before)
        o = torch.cat(pieces, d)
      end
    end
    fitted[i] = o
  end
  return fitted
end

function DepthConcat:_window(t, offset, n, childOutput)
  local w = t:narrow(self.dimension, offset, n)
  for d = 1, childOutput:dim() do
    local size = childOutput:size(d)
    if d ~= self.dimension and size ~= w:size(d) then
      w = w:narrow(d, math.floor((w:size(d) - size) / 2) + 1, size)
    end
  end
  return w
end

-- ---- Parallel ----------------------------------------------------------------------------
-- Parallel(inputDimension, outputDimension): child i on input:select(inputDimension, i), the
-- outputs concatenated along outputDimension.
local Parallel = torch.class('nn.Parallel', 'nn.Container')
function Parallel:__init(inputDimension, outputDimension)
  nn.Container.__init(self)
  self.inputDimension = check.arg('Parallel', 1, inputDimension, 'integer', 2)
  self.outputDimension = check.arg('Parallel', 2, outputDimension, 'integer', 2)
end
function Parallel:updateOutput(input)
  if not torch.isTensor(input) then
    error(('nn.Parallel: expected a tensor input, got %s'):format(torch.typename(input) or type(input)), 3)
  end
  has_children(self)
  if input:dim() < self.inputDimension or input:size(self.inputDimension) < #self.modules then
    error(('nn.Parallel: %d children need %d slices along dim %d of the input, got %s')
          :format(#self.modules, #self.modules, self.inputDimension, shape(input)), 3)
  end
  local outs = {}
  for i, m in ipairs(self.modules) do outs[i] = m:forward(input:select(self.inputDimension, i)) end
  local ok, out = pcall(torch.cat, outs, self.outputDimension)
  if not ok then
    local shapes = {}
    for i, o in ipairs(outs) do shapes[i] = torch.isTensor(o) and shape(o) or type(o) end
    error(('nn.Parallel: cannot concatenate the outputs %s along dim %d'):format(
          table.concat(shapes, ', '), self.outputDimension), 3)
  end
  self.output = out
  return out
end
torch7_backward(Parallel, function(self, input, gradOutput, call)
  local gradInput = nn._zerosLike(input)
  local offset = 1
  for i, m in ipairs(self.modules) do
    local n = m.output:size(self.outputDimension)
    local g = call(m, input:select(self.inputDimension, i), gradOutput:narrow(self.outputDimension, offset, n))
    torch.noGrad(function() gradInput:select(self.inputDimension, i):copy(g) end)
    offset = offset + n
  end
  return gradInput
end)

-- ---- Bottle -------------------------------------------------------------------------------
-- Bottle(module [, nInputDim = 2 [, nOutputDim = nInputDim]]): module expects inputs of
-- nInputDim dims (a batch first); an input with more leading dims is viewed as one batch of
-- them, and the output gets those leading dims back.
local Bottle = torch.class('nn.Bottle', 'nn.Container')
function Bottle:__init(module, nInputDim, nOutputDim)
  nn.Container.__init(self)
  check.arg('Bottle', 1, module, 'module', 2)
  self.nInputDim = nInputDim == nil and 2 or check.arg('Bottle', 2, nInputDim, 'integer', 2)
  self.nOutputDim = nOutputDim == nil and self.nInputDim or check.arg('Bottle', 3, nOutputDim, 'integer', 2)
  self.modules[1] = module
end
function Bottle:updateOutput(input)
  if not torch.isTensor(input) or input:dim() < self.nInputDim then
    error(('nn.Bottle: expected a tensor of at least %d dims, got %s'):format(self.nInputDim,
          torch.isTensor(input) and shape(input) or type(input)), 3)
  end
  local lead = input:dim() - self.nInputDim + 1   -- dims collapsed into the batch
  local sizes = input:size():totable()
  local inner, batch = { -1 }, {}
  for d = 1, lead do batch[d] = sizes[d] end
  for d = lead + 1, #sizes do inner[#inner + 1] = sizes[d] end
  self._flatInput = lead > 1 and input:reshape(table.unpack(inner)) or input
  local out = self.modules[1]:forward(self._flatInput)
  if lead > 1 then
    if out:dim() ~= self.nOutputDim then
      error(('nn.Bottle: the module gave %s, expected %d dims'):format(shape(out), self.nOutputDim), 3)
    end
    local osizes = {}
    for d = 1, lead do osizes[d] = batch[d] end
    for d = 2, out:dim() do osizes[#osizes + 1] = out:size(d) end
    out = out:reshape(table.unpack(osizes))
  end
  self.output = out
  return out
end
torch7_backward(Bottle, function(self, input, gradOutput, call)
  local m = self.modules[1]
  local g = call(m, self._flatInput, gradOutput:reshape(m.output:size()))
  return g:reshape(input:size())
end)

-- ---- MapTable -----------------------------------------------------------------------------
-- MapTable(module [, shared = true]): module on each element of a table input, through
-- clones that share its weight, bias and their gradients (shared false: independent copies).
-- parameters() are the module's own when shared. A clone holds the very tensors of the module
-- (in it and in each submodule), not views of their storage, so autograd sees one parameter
-- used several times and adds up its gradients in either loop style.
local MapTable = torch.class('nn.MapTable', 'nn.Container')
function MapTable:__init(module, shared)
  nn.Container.__init(self)
  check.arg('MapTable', 1, module, 'module', 2)
  self.shared = shared == nil or shared
  self.module = module
  self.modules[1] = module
end
function MapTable:add(module)
  error('nn.MapTable: takes its one module in the constructor, nn.MapTable(module)', 2)
end
local shared_fields = { 'weight', 'bias', 'gradWeight', 'gradBias' }
function MapTable:_extend(n)
  for i = #self.modules + 1, n do
    local copy = self.module:clone()
    if self.shared then
      local originals = self.module:listModules()
      for j, sub in ipairs(copy:listModules()) do
        for _, f in ipairs(shared_fields) do
          if originals[j][f] ~= nil then sub[f] = originals[j][f] end
        end
      end
    end
    self.modules[i] = copy
  end
end
function MapTable:updateOutput(input)
  table_input(self, input)
  self:_extend(#input)
  self.output = {}
  for i = 1, #input do self.output[i] = self.modules[i]:forward(input[i]) end
  return self.output
end
torch7_backward(MapTable, function(self, input, gradOutput, call)
  local gradInput = {}
  for i = 1, #input do gradInput[i] = call(self.modules[i], input[i], gradOutput[i]) end
  return gradInput
end)
function MapTable:parameters()
  if self.shared then return self.module:parameters() end
  return nn.Container.parameters(self)
end
function MapTable:namedParameters()
  if self.shared then return self.module:namedParameters() end
  return nn.Container.namedParameters(self)
end
function MapTable:namedBuffers()
  if self.shared then return self.module.namedBuffers and self.module:namedBuffers() or {} end
  return nn.Container.namedBuffers(self)
end
function MapTable:zeroGradParameters()
  if self.shared then return self.module:zeroGradParameters() end
  return nn.Container.zeroGradParameters(self)
end
function MapTable:updateParameters(lr)
  if self.shared then return self.module:updateParameters(lr) end
  return nn.Container.updateParameters(self, lr)
end
-- clones are remade on the next forward after anything that replaces the module's tensors
-- (a type conversion would convert the shared tensors apart)
function MapTable:_dropClones() for i = #self.modules, 2, -1 do self.modules[i] = nil end end
function MapTable:type(typename)
  if typename then self:_dropClones() end
  return nn.Module.type(self, typename)
end
function MapTable:clearState()
  self:_dropClones()
  return nn.Module.clearState(self)
end
function MapTable:getParameters()
  self:_dropClones()
  return nn.Module.getParameters(self)
end
function MapTable:__tostring__()
  return ('nn.MapTable {\n  %s\n}'):format((tostring(self.module):gsub('\n', '\n  ')))
end

-- ---- table modules ------------------------------------------------------------------------
-- FlattenTable(): a nested table of tensors -> the flat table of them, depth first
local FlattenTable = torch.class('nn.FlattenTable', 'nn.Module')
local function flatten_into(x, out)
  if torch.isTensor(x) then out[#out + 1] = x
  elseif type(x) == 'table' then for _, v in ipairs(x) do flatten_into(v, out) end
  else error(('nn.FlattenTable: expected nested tables of tensors, found a %s'):format(type(x)), 0) end
  return out
end
-- gradOutput's flat list back into input's shape
local function unflatten(x, flat, pos)
  if type(flat) ~= 'table' then
    error(('nn.FlattenTable: expected a table gradOutput, got %s'):format(torch.typename(flat) or type(flat)), 0)
  end
  if torch.isTensor(x) then return flat[pos], pos + 1 end
  if type(x) ~= 'table' then
    error(('nn.FlattenTable: expected nested tables of tensors, found a %s'):format(type(x)), 0)
  end
  local r = {}
  for i, v in ipairs(x) do r[i], pos = unflatten(v, flat, pos) end
  return r, pos
end
function FlattenTable:updateOutput(input)
  table_input(self, input)
  self.output = flatten_into(input, {})
  return self.output
end
function FlattenTable:updateGradInput(input, gradOutput)
  self.gradInput = (unflatten(input, gradOutput, 1))
  return self.gradInput
end

-- CSubTable / CDivTable: {a, b} -> a - b / a / b; CMaxTable / CMinTable: the elementwise
-- max / min of a table of tensors
local function reducer(name, op, pair)
  local cls = torch.class('nn.' .. name, 'nn.Module')
  function cls:updateOutput(input)
    table_input(self, input, pair and 2)
    local out = input[1]
    for i = 2, pair and 2 or #input do
      local ok, r = pcall(op, out, input[i])
      if not ok then
        error(('%s: inputs of %s and %s'):format(torch.typename(self), shape(input[1]), shape(input[i])), 3)
      end
      out = r
    end
    self.output = out
    return out
  end
end
reducer('CSubTable', function(a, b) return torch.csub(a, b) end, true)
reducer('CDivTable', function(a, b) return torch.cdiv(a, b) end, true)
reducer('CMaxTable', function(a, b) return torch.cmax(a, b) end)
reducer('CMinTable', function(a, b) return torch.cmin(a, b) end)

-- CriterionTable(criterion): {input, target} -> criterion's loss (a number; called PyTorch-
-- style, the 0-dim loss tensor); the gradInput is {dloss/dinput}
local CriterionTable = torch.class('nn.CriterionTable', 'nn.Module')
function CriterionTable:__init(criterion)
  nn.Module.__init(self)
  if not torch.isTypeOf(criterion, 'nn.Criterion') then
    check.argerror('CriterionTable', 1, ('nn.Criterion expected, got %s')
                   :format(torch.typename(criterion) or type(criterion)), 2)
  end
  self.criterion = criterion
end
function CriterionTable:updateOutput(input)
  table_input(self, input, 2)
  if torch._moduleCallDepth() > 0 then
    self.output = self.criterion(input[1], input[2])
  else
    self.output = self.criterion:forward(input[1], input[2])
  end
  return self.output
end
function CriterionTable:updateGradInput(input, gradOutput)
  self.gradInput = { self.criterion:backward(input[1], input[2]) }
  return self.gradInput
end

return nn
