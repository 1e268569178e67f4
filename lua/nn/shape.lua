-- Shape modules: Identity, View, Reshape, Narrow, Select, Transpose. All are views or
-- copies recorded by autograd.
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local tensor_input = nn._tensorInput   -- '<module>: expected a tensor input, got ...'

local function shape_string(t) return table.concat(t:size():totable(), ' x ') end

-- Identity: the input itself (a table passes through too).
local Identity = torch.class('nn.Identity', 'nn.Module')
function Identity:updateOutput(input)
  self.output = input
  return input
end

-- View(sizes...) / Reshape(sizes...): sizes of one sample; an input with more elements is a
-- batch along dim 1 (Torch7's batch detection). -1 infers one size.
local function shown(v) return type(v) == 'number' and tostring(v) or torch.type(v) end

local function sample_sizes(fname, ...)
  local sizes = { ... }
  if select('#', ...) == 1 and type(sizes[1]) ~= 'number' then
    local s = check.arg(fname, 1, sizes[1], 'tensor|storage|table', 3)
    sizes = (torch.isTensor(s) or torch.isStorage(s)) and s:totable() or s
    for i = 1, #sizes do
      sizes[i] = math.tointeger(sizes[i]) or sizes[i]   -- a FloatTensor's sizes are floats
      if not (math.type(sizes[i]) == 'integer' and (sizes[i] >= 0 or sizes[i] == -1)) then
        check.argerror(fname, 1, ('sizes must be integers >= 0 or -1, got %s at %d')
                       :format(shown(sizes[i]), i), 3)
      end
    end
  else
    for i = 1, select('#', ...) do
      if not (math.type(sizes[i]) == 'integer' and (sizes[i] >= 0 or sizes[i] == -1)) then
        check.argerror(fname, i, ('size must be an integer >= 0 or -1, got %s'):format(shown(sizes[i])), 3)
      end
    end
  end
  local numel, infer = 1, false
  for _, n in ipairs(sizes) do
    if n == -1 then infer = true else numel = numel * n end
  end
  return sizes, numel, infer
end

local function target_shape(self, input)
  local n = input:nElement()
  if self.infer or n == self.numel then return self.sizes end
  if input:dim() >= 1 and n == input:size(1) * self.numel then
    local s = { input:size(1) }
    for _, v in ipairs(self.sizes) do s[#s + 1] = v end
    return s
  end
  error(('%s: cannot view [%s] as [%s] (or a batch of them)'):format(torch.typename(self),
        shape_string(input), table.concat(self.sizes, ' x ')), 4)
end

local function shaper(name, method)
  local cls = torch.class('nn.' .. name, 'nn.Module')
  function cls:__init(...)
    nn.Module.__init(self)
    self.sizes, self.numel, self.infer = sample_sizes(name, ...)
  end
  function cls:updateOutput(input)
    tensor_input(self, input)
    self.output = input[method](input, table.unpack(target_shape(self, input)))
    return self.output
  end
  function cls:__tostring__() return ('nn.%s(%s)'):format(name, table.concat(self.sizes, 'x')) end
end
shaper('View', 'view')
shaper('Reshape', 'reshape')

-- Narrow(dim, offset, length): a negative length counts from the end, as Torch7.
local Narrow = torch.class('nn.Narrow', 'nn.Module')
function Narrow:__init(dim, offset, length)
  check.arg('Narrow', 1, dim, 'integer', 2)
  check.arg('Narrow', 2, offset, 'integer', 2)
  check.arg('Narrow', 3, length, 'integer?', 2)
  nn.Module.__init(self)
  self.dim, self.offset, self.length = dim, offset, length or 1
end
function Narrow:updateOutput(input)
  tensor_input(self, input)
  local length = self.length
  if length < 0 then length = input:size(self.dim) - self.offset + length + 2 end
  self.output = input:narrow(self.dim, self.offset, length)
  return self.output
end

-- Select(dim, index): negative index counts from the end.
local Select = torch.class('nn.Select', 'nn.Module')
function Select:__init(dim, index)
  check.arg('Select', 1, dim, 'integer', 2)
  check.arg('Select', 2, index, 'integer', 2)
  nn.Module.__init(self)
  self.dim, self.index = dim, index
end
function Select:updateOutput(input)
  tensor_input(self, input)
  self.output = input:select(self.dim, self.index)
  return self.output
end
function Select:__tostring__() return ('nn.Select(%d, %d)'):format(self.dim, self.index) end

-- Transpose({d1, d2}, {d3, d4}, ...): swaps applied in order.
local Transpose = torch.class('nn.Transpose', 'nn.Module')
function Transpose:__init(...)
  for i = 1, select('#', ...) do
    local p = check.arg('Transpose', i, (select(i, ...)), 'table', 2)
    if math.type(p[1]) ~= 'integer' or math.type(p[2]) ~= 'integer' then
      check.argerror('Transpose', i, 'expected a pair of dimensions {d1, d2}', 2)
    end
  end
  nn.Module.__init(self)
  self.permutations = { ... }
end
function Transpose:updateOutput(input)
  tensor_input(self, input)
  local out = input
  for _, p in ipairs(self.permutations) do out = out:transpose(p[1], p[2]) end
  self.output = out
  return out
end

return nn
