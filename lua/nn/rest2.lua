-- Torch7 nn modules that were still missing (most from dpnn, which torch/nn took in), in
-- Torch7's constructors and semantics:
--
--   nn.CAdd(size...)                     x + b, a learnt bias of the given sizes (broadcast)
--   nn.Constant(value [, nInputDim])     a constant output (repeated over a batch), zero gradInput
--   nn.OneHot(outputSize)                1-based class indices -> one-hot rows of the module's type
--   nn.ZeroGrad()                        the identity forward, a zero gradient back
--   nn.PrintSize([prefix])               the identity, printing the sizes going through
--   nn.Collapse(nInputDim)               a sample of nInputDim dims flattened (a batch: N x -1)
--   nn.Convert([inputShape, outputShape]) layouts by letters ('bchw' -> 'bf'), and the module's type
--   nn.CAveTable()                       the elementwise mean of a table of tensors
--   nn.MixtureTable([dim])               {gater, experts}: the experts weighted by the gater
--   nn.SpatialClassNLLCriterion([weights, sizeAverage])   ClassNLL on N x C x H x W log-probs
--   nn.SpatialDivisiveNormalization([nInputPlane, kernel, threshold, thresval])
--   nn.SpatialContrastiveNormalization([nInputPlane, kernel, threshold, thresval])
--
-- (nn.VolumetricBatchNormalization / nn.BatchNorm3d are with the other batch norms, norm.lua.)
-- The differentiable ones are written on tensor ops, so autograd gives the backward; ZeroGrad's
-- gradient is not its forward's, so it is a torch.autograd.Function; OneHot and PrintSize are
-- hand-written (a one-hot has no gradient; PrintSize prints the gradient going back).
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local shape_str = nn._shapeStr
local positive = nn._positive
local tensor_input = nn._tensorInput   -- '<module>: expected a tensor input, got ...'

local function shape(t) return '[' .. shape_str(t) .. ']' end

-- a float tensor input, else an error naming the module (level: error()'s, from the caller)
local function float_input(self, input, level)
  tensor_input(self, input)
  if not nn._floatingTypes[input:type()] then
    error(('%s: expected a FloatTensor or DoubleTensor input, got %s'):format(torch.typename(self),
          input:type()), (level or 1) + 1)
  end
  return input
end

-- a table of at least n tensors, else an error naming the module
local function tensor_table(self, input, n, level)
  local ok = type(input) == 'table' and not torch.isTensor(input) and #input >= (n or 1)
  if ok then
    for i = 1, #input do
      if not torch.isTensor(input[i]) then ok = false break end
    end
  end
  if not ok then
    error(('%s: expected a table of %s tensors, got %s'):format(torch.typename(self), n and tostring(n) or
          'at least one', (type(input) == 'table' and not torch.isTensor(input)) and ('a table of ' .. #input ..
          ' elements (not all tensors)') or (torch.typename(input) or type(input))), (level or 1) + 1)
  end
  return input
end

-- ---- CAdd -----------------------------------------------------------------------------------
-- CAdd(size...) or (LongStorage) or ({sizes}): output = input + bias. A bias with as many
-- elements as the input is added element by element; one with as many dims is broadcast over
-- the input's dims where it has size 1; otherwise the input is a batch (its first dim), each
-- sample having the bias's number of elements (Torch7's). reset(stdv): uniform in
-- +-stdv sqrt(3), default +-1/sqrt(#bias).
local CAdd, CAddParent = torch.class('nn.CAdd', 'nn.Module')
function CAdd:__init(...)
  CAddParent.__init(self)
  local f = 'nn.CAdd'
  local n, first = select('#', ...), ...
  local sizes
  if n == 1 and torch.typename(first) == 'torch.LongStorage' then
    sizes = first:totable()
  elseif n == 1 and type(first) == 'table' and not torch.isTensor(first) then
    sizes = first
  else
    sizes = { ... }
  end
  if #sizes == 0 then check.argerror(f, 1, 'expected the bias sizes, got none', 2) end
  for i = 1, math.max(#sizes, n) do positive(f, i, sizes[i], 2) end
  self.size = torch.LongStorage(sizes)
  self.bias = check.call(f, 1, pcall(torch.Tensor, self.size))
  self.gradBias = torch.Tensor(self.size):zero()
  self:reset()
  self:_linkGradients()
end
function CAdd:reset(stdv)
  stdv = stdv and check.arg('reset', 1, stdv, 'number', 2) * math.sqrt(3) or 1 / math.sqrt(self.bias:nElement())
  torch.noGrad(function() self.bias:uniform(-stdv, stdv) end)
  return self
end
function CAdd:updateOutput(input)
  float_input(self, input, 3)
  nn._checkDevice(self, input, self.bias, 3)
  local b = self.bias
  local function misfit()
    error(('nn.CAdd: a bias of %s does not fit an input of %s (the same number of elements, the '
           .. 'same dims with 1 where it broadcasts, or a batch of N samples of %d elements)')
          :format(shape(b), shape(input), b:nElement()), 4)
  end
  if input:nElement() == b:nElement() then
    self.output = torch.add(input, b:viewAs(input))
  elseif b:dim() == input:dim() then
    for d = 1, b:dim() do
      if b:size(d) ~= 1 and b:size(d) ~= input:size(d) then misfit() end
    end
    self.output = torch.add(input, b)
  else
    if input:dim() < 1 or input:nElement() ~= input:size(1) * b:nElement() then misfit() end
    local N = input:size(1)
    self.output = torch.add(input:contiguous():view(N, b:nElement()), b:view(1, b:nElement())):viewAs(input)
  end
  return self.output
end
function CAdd:__tostring__() return ('nn.CAdd(%s)'):format(shape_str(self.bias)) end

-- ---- Constant -------------------------------------------------------------------------------
-- Constant(value [, nInputDim]): the output is value (a number: a 1-element tensor), of the
-- module's type whatever the input; with nInputDim, an input of more dims is a batch and the
-- output repeats value for each of its input:size(1) samples. gradInput is zeros.
local Constant, ConstantParent = torch.class('nn.Constant', 'nn.Module')
function Constant:__init(value, nInputDim)
  ConstantParent.__init(self)
  local f = 'nn.Constant'
  if type(value) == 'number' then
    value = torch.Tensor({ value })
  elseif not torch.isTensor(value) or not pcall(value.dim, value) then
    check.argerror(f, 1, ('expected a number or a tensor, got %s'):format(torch.typename(value) or type(value)), 2)
  end
  self.value = value
  self.nInputDim = check.arg(f, 2, nInputDim, 'integer?', 2)
  if self.nInputDim and self.nInputDim < 0 then
    check.argerror(f, 2, ('expected nInputDim >= 0, got %d'):format(self.nInputDim), 2)
  end
end
function Constant:updateOutput(input)
  if self.nInputDim then tensor_input(self, input) end
  self.output = torch.noGrad(function()
    local v = self.value
    if self.nInputDim and input:dim() > self.nInputDim then
      local vsize = v:size():totable()
      return v:contiguous():view(1, table.unpack(vsize)):expand(input:size(1), table.unpack(vsize)):contiguous()
    end
    return v:clone()
  end)
  return self.output
end
function Constant:__tostring__()
  return ('nn.Constant([%s]%s)'):format(shape_str(self.value), self.nInputDim and (', ' .. self.nInputDim) or '')
end

-- ---- OneHot ---------------------------------------------------------------------------------
-- OneHot(outputSize): an input of class indices (1-based; a LongTensor, whole numbers in a
-- float tensor, or one number) of size S gives S x outputSize of zeros with a 1 at each
-- index, of the module's type (m:float(), m:double(), ...). gradInput is zeros of the input's
-- size (indices have no gradient).
local OneHot, OneHotParent = torch.class('nn.OneHot', 'nn.Module')
function OneHot:__init(outputSize)
  OneHotParent.__init(self)
  self.outputSize = positive('nn.OneHot', 1, outputSize, 2)
  self._proto = torch.Tensor()   -- carries the module's type through :type()
end
-- a number is an input too (Torch7's): one index gives one row of outputSize
function OneHot:forward(input)
  if type(input) == 'number' then
    self.output = self:updateOutput(input)
    return self.output
  end
  return OneHotParent.forward(self, input)
end
function OneHot:updateOutput(input)
  local name, n = torch.typename(self), self.outputSize
  local idx
  if type(input) == 'number' then
    if math.tointeger(input) == nil then
      error(('%s: expected a whole class index, got %s'):format(name, tostring(input)), 3)
    end
    idx = torch.LongTensor({ input })
  else
    tensor_input(self, input, 'a tensor of class indices or a number')
    idx = torch.noGrad(function() return input:type('torch.LongTensor') end)
    if nn._floatingTypes[input:type()] and input:nElement() > 0 then
      local d = torch.noGrad(function() return input:type('torch.DoubleTensor') end)
      if torch.ne(d, torch.floor(d)):max() ~= 0 then
        error(('%s: class indices must be whole numbers, got a %s with fractions'):format(name, input:type()), 3)
      end
    end
  end
  if idx:nElement() > 0 and (idx:min() < 1 or idx:max() > n) then
    error(('%s: class index %d is outside [1, %d]'):format(name, idx:min() < 1 and idx:min() or idx:max(), n), 3)
  end
  local size = type(input) == 'number' and {} or idx:size():totable()
  local inner = { table.unpack(size) }
  size[#size + 1], inner[#inner + 1] = n, 1
  self.output = torch.noGrad(function()
    local out = torch.zeros(table.unpack(size))
    if idx:nElement() > 0 then out:scatter(#size, idx:contiguous():view(table.unpack(inner)), 1) end
    return out:type(self._proto:type())
  end)
  return self.output
end
function OneHot:updateGradInput(input, gradOutput)
  self.gradInput = torch.noGrad(function()
    return torch.Tensor():type(self._proto:type()):resize(input:size()):zero()
  end)
  return self.gradInput
end
function OneHot:__tostring__() return ('nn.OneHot(%d)'):format(self.outputSize) end

-- ---- ZeroGrad -------------------------------------------------------------------------------
-- ZeroGrad(): the input goes through unchanged (a tensor or a table of them), and the gradient
-- coming back is replaced by zeros: nothing before it learns from what comes after (also
-- called PyTorch-style, m(x), where the zeros reach loss:backward()'s parameters).
local zero_grad = torch.autograd.Function {
  forward = function(ctx, x) return x:clone() end,
  backward = function(ctx, g) return nn._zerosLike(g) end,
}
local ZeroGrad, ZeroGradParent = torch.class('nn.ZeroGrad', 'nn.Module')
function ZeroGrad:__init() ZeroGradParent.__init(self) end
local function zero_grad_of(self, x)
  if torch.isTensor(x) then
    tensor_input(self, x)
    return nn._floatingTypes[x:type()] and zero_grad(x) or x
  elseif type(x) == 'table' then
    local r = {}
    for k, v in pairs(x) do r[k] = zero_grad_of(self, v) end
    return r
  end
  error(('nn.ZeroGrad: expected a tensor or a table of tensors, got %s'):format(torch.typename(x) or type(x)), 0)
end
function ZeroGrad:updateOutput(input)
  self.output = zero_grad_of(self, input)
  return self.output
end

-- ---- PrintSize ------------------------------------------------------------------------------
-- PrintSize([prefix = 'PrintSize']): the identity; forward prints "<prefix>:input" and the
-- input's size ({[2 x 3], [4]} for a table), backward "<prefix>:gradOutput" and gradOutput's
-- (through the global print, so a script may redirect it).
local PrintSize, PrintSizeParent = torch.class('nn.PrintSize', 'nn.Module')
function PrintSize:__init(prefix)
  PrintSizeParent.__init(self)
  self.prefix = check.arg('nn.PrintSize', 1, prefix, 'string?', 2) or 'PrintSize'
end
local function size_text(x)
  if torch.isTensor(x) then return pcall(x.dim, x) and shape(x) or 'a freed tensor' end
  if x == nil then return 'missing size' end
  if type(x) == 'table' then
    local parts = {}
    for i = 1, #x do parts[i] = size_text(x[i]) end
    return '{' .. table.concat(parts, ', ') .. '}'
  end
  return torch.typename(x) or type(x)
end
function PrintSize:updateOutput(input)
  print(('%s:input\n\t%s'):format(self.prefix, size_text(input)))
  self.output = input
  return self.output
end
function PrintSize:updateGradInput(input, gradOutput)
  print(('%s:gradOutput\n\t%s'):format(self.prefix, size_text(gradOutput)))
  self.gradInput = gradOutput
  return self.gradInput
end
function PrintSize:__tostring__() return ('nn.PrintSize(%s)'):format(self.prefix) end

-- ---- Collapse -------------------------------------------------------------------------------
-- Collapse(nInputDim): a sample has nInputDim dims: an input of more dims is a batch and
-- becomes N x (the rest flattened); one of nInputDim dims or fewer becomes 1-D (Torch7's,
-- dpnn's). The gradient comes back in the input's shape.
local Collapse, CollapseParent = torch.class('nn.Collapse', 'nn.Module')
function Collapse:__init(nInputDim)
  CollapseParent.__init(self)
  self.nInputDim = check.arg('nn.Collapse', 1, nInputDim, 'integer', 2)
  if self.nInputDim < 0 then
    check.argerror('nn.Collapse', 1, ('expected nInputDim >= 0, got %d'):format(self.nInputDim), 2)
  end
end
function Collapse:updateOutput(input)
  tensor_input(self, input)
  local x = input:contiguous()
  if input:dim() > self.nInputDim and input:dim() > 0 then
    self.output = x:view(input:size(1), input:size(1) == 0 and 0 or -1)
  else
    self.output = x:view(input:nElement())
  end
  return self.output
end
function Collapse:__tostring__() return ('nn.Collapse(%d)'):format(self.nInputDim) end

-- ---- Convert --------------------------------------------------------------------------------
-- Convert([inputShape = 'b*', outputShape = inputShape]): dpnn's conversion between data
-- layouts named by letters, b the batch ('bchw', 'bf', 'chw'; a shape without b gets one in
-- front), and of the input to the module's type (m:float(), ...). The conversions: a
-- permutation of the same letters ('bchw' -> 'bhwc'); any shape to 'bf' (the batch dim swapped
-- with the first, then each sample flattened); 'bt' or 'bf' to 'b' (the first t; f of size 1);
-- 'b' to 'bt' (N x 1); 'b*' to 'b*' converts the type only. An input with fewer dims than
-- inputShape is one sample (its batch dim is added, then taken away from the output).
local to_type = torch.autograd.Function {
  forward = function(ctx, x, outtype)
    ctx.intype = x:type()
    return x:type(outtype)
  end,
  backward = function(ctx, g) return g:type() == ctx.intype and g or g:type(ctx.intype) end,
}
local Convert, ConvertParent = torch.class('nn.Convert', 'nn.Module')
function Convert:__init(inputShape, outputShape)
  ConvertParent.__init(self)
  local f = 'nn.Convert'
  check.arg(f, 1, inputShape, 'string?', 2)
  check.arg(f, 2, outputShape, 'string?', 2)
  if outputShape and not inputShape then check.argerror(f, 1, 'an inputShape is needed with an outputShape', 2) end
  inputShape = inputShape or 'b*'
  outputShape = outputShape or inputShape
  for i, sh in ipairs({ inputShape, outputShape }) do
    local seen = {}
    for c in sh:gmatch('.') do
      if (c ~= '*' and not c:match('%l')) or seen[c] then
        check.argerror(f, i, ("expected a shape of distinct lower-case letters such as 'bchw', got '%s'"):format(sh), 2)
      end
      seen[c] = true
    end
  end
  self.inputShape = inputShape:find('b', 1, true) and inputShape or ('b' .. inputShape)
  self.outputShape = outputShape:find('b', 1, true) and outputShape or ('b' .. outputShape)
  local star_in, star_out = self.inputShape == 'b*', self.outputShape == 'b*'
  if star_in ~= star_out or ((self.inputShape:find('*', 1, true) or self.outputShape:find('*', 1, true)) and not star_in) then
    check.argerror(f, 2, ("both shapes or neither must be 'b*', got '%s' and '%s'"):format(self.inputShape, self.outputShape), 2)
  end
  self.inputBatchDim, self.outputBatchDim = self.inputShape:find('b', 1, true), self.outputShape:find('b', 1, true)
  self.nInputDim = star_in and -1 or #self.inputShape
  -- how the batch-mode tensor is converted: a permutation, or one of the named conversions
  local i, o = self.inputShape, self.outputShape
  if star_in then
    self.kind = 'identity'
  elseif #i == #o and (function() for c in o:gmatch('.') do if not i:find(c, 1, true) then return false end end return true end)() then
    self.kind, self.perm = 'permute', {}
    for d = 1, #o do self.perm[d] = i:find(o:sub(d, d), 1, true) end
  elseif o == 'bf' and i ~= 'bt' and i ~= 'tb' then
    self.kind = 'bf'
  elseif o == 'b' and (i == 'bt' or i == 'tb' or i == 'bf' or i == 'fb') then
    self.kind = i:find('f', 1, true) and 'bf_b' or 'bt_b'
  elseif o == 'bt' and i == 'b' then
    self.kind = 'b_bt'
  else
    check.argerror(f, 2, ("no conversion of shape '%s' to '%s'"):format(i, o), 2)
  end
  self._proto = torch.Tensor()   -- carries the module's type through :type()
end
function Convert:updateOutput(input)
  tensor_input(self, input)
  local name = torch.typename(self)
  local x = input
  if x:type() ~= self._proto:type() then
    x = nn._floatingTypes[x:type()] and to_type(x, self._proto:type()) or x:type(self._proto:type())
  end
  if self.kind == 'identity' then
    self.output = x
    return self.output
  end
  local batch = true
  if x:dim() == self.nInputDim - 1 then
    batch, x = false, x:unsqueeze(self.inputBatchDim)
  elseif x:dim() ~= self.nInputDim then
    error(("%s: expected an input of %d dims ('%s') or %d (one sample), got %s"):format(name, self.nInputDim,
          self.inputShape, self.nInputDim - 1, shape(input)), 3)
  end
  local y
  if self.kind == 'permute' then
    y = x:permute(table.unpack(self.perm))
  elseif self.kind == 'bf' then
    if self.inputBatchDim ~= 1 then x = x:transpose(1, self.inputBatchDim) end
    y = x:contiguous():view(x:size(1), x:nElement() // math.max(x:size(1), 1))
  elseif self.kind == 'bt_b' then
    y = x:select(self.inputShape:find('t', 1, true), 1)
  elseif self.kind == 'bf_b' then
    local fd = self.inputShape:find('f', 1, true)
    if x:size(fd) ~= 1 then
      error(("%s: cannot convert '%s' to 'b' with %d features (1 expected), input %s"):format(name,
            self.inputShape, x:size(fd), shape(input)), 3)
    end
    y = x:select(fd, 1)
  else   -- 'b' -> 'bt'
    y = x:view(x:size(1), 1)
  end
  if not batch then y = y:select(self.outputBatchDim, 1) end
  self.output = y:contiguous()
  return self.output
end
function Convert:__tostring__() return ("nn.Convert('%s' -> '%s')"):format(self.inputShape, self.outputShape) end

-- ---- CAveTable ------------------------------------------------------------------------------
-- CAveTable(): {a, b, ...} -> (a + b + ...) / n, elementwise (broadcast as CAddTable)
local CAveTable, CAveTableParent = torch.class('nn.CAveTable', 'nn.Module')
function CAveTable:__init() CAveTableParent.__init(self) end
function CAveTable:updateOutput(input)
  tensor_table(self, input, nil, 3)
  local out = input[1]
  for i = 2, #input do
    local ok, r = pcall(torch.add, out, input[i])
    if not ok then
      error(('nn.CAveTable: inputs of %s and %s'):format(shape(input[1]), shape(input[i])), 3)
    end
    out = r
  end
  self.output = torch.div(out, #input)
  return self.output
end

-- ---- MixtureTable ---------------------------------------------------------------------------
-- MixtureTable([dim]): input {gater, experts}; the gater's outputs weigh the experts:
-- output = sum_i gater[.., i] * expert_i. gater: N x E (a batch) or E (one sample). experts:
-- a table of E tensors of one size (N x ... for a batch; each sample's expert i is scaled by
-- gater[n][i]), or one tensor holding them along dim (default 2 for a batch, 1 for a sample),
-- which the sum removes (Torch7's mixture of experts).
local MixtureTable, MixtureTableParent = torch.class('nn.MixtureTable', 'nn.Module')
function MixtureTable:__init(dim)
  MixtureTableParent.__init(self)
  self.dim = check.arg('nn.MixtureTable', 1, dim, 'integer?', 2)
  if self.dim and self.dim < 1 then
    check.argerror('nn.MixtureTable', 1, ('expected a positive dim, got %d'):format(self.dim), 2)
  end
end
function MixtureTable:updateOutput(input)
  local name = 'nn.MixtureTable'
  if type(input) ~= 'table' or torch.isTensor(input) or not torch.isTensor(input[1]) or
     not (torch.isTensor(input[2]) or type(input[2]) == 'table') then
    error(('%s: expected {gater, experts} (a tensor, then a tensor or a table of tensors), got %s')
          :format(name, torch.typename(input) or type(input)), 3)
  end
  local gater, experts = input[1], input[2]
  float_input(self, gater, 3)
  if gater:dim() ~= 1 and gater:dim() ~= 2 then
    error(('%s: expected a gater of N x E or E, got %s'):format(name, shape(gater)), 3)
  end
  local batch = gater:dim() == 2
  local dimG, E = gater:dim(), gater:size(gater:dim())
  if torch.isTensor(experts) then
    float_input(self, experts, 3)
    local dim = self.dim or (batch and 2 or 1)
    if experts:dim() < dim or experts:size(dim) ~= E or (batch and (dim == 1 or experts:size(1) ~= gater:size(1))) then
      error(('%s: experts of %s do not fit a gater of %s (expected %s experts along dim %d%s)'):format(name,
            shape(experts), shape(gater), E, dim, batch and (', and dim 1 of ' .. gater:size(1)) or ''), 3)
    end
    local size = {}
    for d = 1, experts:dim() do size[d] = 1 end
    if batch then size[1] = gater:size(1) end
    size[dim] = E
    local out = torch.sum(torch.cmul(experts, gater:contiguous():view(table.unpack(size))), dim)
    self.output = out:select(dim, 1)
  else
    tensor_table(self, experts, nil, 3)
    if #experts ~= E then
      error(('%s: a gater of %s weighs %d experts, got a table of %d'):format(name, shape(gater), E, #experts), 3)
    end
    local first = experts[1]
    local out
    for i, x in ipairs(experts) do
      float_input(self, x, 3)
      if not x:isSameSizeAs(first) or (batch and (x:dim() < 1 or x:size(1) ~= gater:size(1))) then
        error(('%s: expert %d is %s, expected %s%s'):format(name, i, shape(x), batch and
              ('N = ' .. gater:size(1) .. ' samples of one size as expert 1, ') or 'the size of expert 1, ',
              shape(first)), 3)
      end
      local g = gater:narrow(dimG, i, 1)
      if batch then
        local size = { gater:size(1) }
        for d = 2, x:dim() do size[d] = 1 end
        g = g:contiguous():view(table.unpack(size))
      end
      local term = torch.cmul(x, g)
      out = out and torch.add(out, term) or term
    end
    self.output = out
  end
  return self.output
end
function MixtureTable:__tostring__() return ('nn.MixtureTable(%s)'):format(self.dim or '') end

-- ---- SpatialClassNLLCriterion ---------------------------------------------------------------
-- SpatialClassNLLCriterion([weights [, sizeAverage = true]]): ClassNLLCriterion for each pixel:
-- input N x C x H x W log-probabilities (or C x H x W), target N x H x W class indices,
-- 1-based (or H x W); the mean is over the pixels' class weights, as Torch7's.
local SCNLL, SCNLLParent = torch.class('nn.SpatialClassNLLCriterion', 'nn.ClassNLLCriterion')
function SCNLL:__init(weights, sizeAverage)
  local f = 'nn.SpatialClassNLLCriterion'
  check.arg(f, 1, weights, 'tensor?', 2)
  check.arg(f, 2, sizeAverage, 'boolean?', 2)
  if weights and weights:dim() ~= 1 then
    check.argerror(f, 1, ('expected 1-D class weights, got %s'):format(shape(weights)), 2)
  end
  SCNLLParent.__init(self, weights, sizeAverage)
end
function SCNLL:loss(input, target)
  local name = torch.typename(self)
  float_input(self, input, 3)
  if not torch.isTensor(target) then
    error(('%s: expected a target tensor of class indices, got %s'):format(name, torch.typename(target) or type(target)), 3)
  end
  local x, t = input, target
  if input:dim() == 3 and target:dim() == 2 then x, t = input:unsqueeze(1), target:view(1, target:size(1), target:size(2)) end
  if x:dim() ~= 4 or t:dim() ~= 3 or t:size(1) ~= x:size(1) or t:size(2) ~= x:size(3) or t:size(3) ~= x:size(4) then
    error(('%s: expected input N x C x H x W (or C x H x W) and target N x H x W (or H x W), got input %s and target %s')
          :format(name, shape(input), shape(target)), 3)
  end
  if self.weights and self.weights:nElement() ~= x:size(2) then
    error(('%s: %d class weights for %d classes'):format(name, self.weights:nElement(), x:size(2)), 3)
  end
  return SCNLLParent.loss(self, x, t)
end
function SCNLL:__tostring__() return 'nn.SpatialClassNLLCriterion' end

-- ---- SpatialDivisiveNormalization / SpatialContrastiveNormalization ------------------------
-- SpatialDivisiveNormalization([nInputPlane = 1, kernel = ones(9, 9), threshold = 1e-4,
-- thresval = threshold]): each plane divided by the local standard deviation over all planes,
-- Torch7's: std = sqrt(x^2 correlated with kernel / (sum(kernel) nInputPlane), summed over the
-- planes, zero padded to keep the size), divided by the same weights' sum over an all-ones input
-- (the borders' correction), then std <= threshold replaced by thresval. A 1-D kernel k stands
-- for the separable k k^T.
local SDN, SDNParent = torch.class('nn.SpatialDivisiveNormalization', 'nn.Module')
function SDN:__init(nInputPlane, kernel, threshold, thresval)
  SDNParent.__init(self)
  local f = torch.typename(self)
  self.nInputPlane = positive(f, 1, nInputPlane or 1, 2)
  kernel = nn._normKernel(f, kernel, 2)
  self.threshold = check.arg(f, 3, threshold, 'number?', 2) or 1e-4
  self.thresval = check.arg(f, 4, thresval, 'number?', 2) or self.threshold
  local k2 = kernel:dim() == 2 and kernel or torch.ger(kernel, kernel)
  -- Torch7's normalisation: the weights sum to 1 over the planes and the window
  self.kernel = torch.div(kernel, kernel:sum() * (kernel:dim() == 2 and self.nInputPlane or math.sqrt(self.nInputPlane)))
  self._k2 = torch.div(k2, k2:sum() * self.nInputPlane):contiguous()
end
function SDN:updateOutput(input)
  float_input(self, input, 3)
  if input:dim() ~= 3 and input:dim() ~= 4 then
    error(('%s: expected a 3D (C x H x W) or 4D (N x C x H x W) input, got %s'):format(torch.typename(self), shape(input)), 3)
  end
  local x = input:dim() == 3 and input:unsqueeze(1) or input
  if x:size(2) ~= self.nInputPlane then
    error(('%s: expected %d planes, got input %s'):format(torch.typename(self), self.nInputPlane, shape(input)), 3)
  end
  local C, kH, kW = self.nInputPlane, self._k2:size(1), self._k2:size(2)
  local w = self._k2:type(x:type()):view(1, 1, kH, kW):expand(1, C, kH, kW):contiguous()
  local ph, pw = kH // 2, kW // 2
  local std = torch.sqrt(torch._conv2d(torch.cmul(x, x), w, nil, 1, 1, ph, pw, 1, 1, 1))   -- N x 1 x H x W
  local coef = torch.noGrad(function()
    return torch._conv2d(torch.ones(1, C, x:size(3), x:size(4)):type(x:type()), w, nil, 1, 1, ph, pw, 1, 1, 1)
  end)
  local adjusted = torch.cdiv(std, coef)
  -- Threshold(threshold, thresval): adjusted where above threshold, thresval elsewhere
  local keep = torch.noGrad(function() return torch.gt(adjusted, self.threshold):type(x:type()) end)
  local stds = torch.add(torch.cmul(adjusted, keep), torch.mul(torch.add(torch.mul(keep, -1), 1), self.thresval))
  local y = torch.cdiv(x, stds)
  self.output = input:dim() == 3 and y:squeeze(1) or y
  return self.output
end
function SDN:__tostring__()
  return ('%s(%d, [%s], threshold %g, thresval %g)'):format(torch.typename(self), self.nInputPlane,
          shape_str(self.kernel), self.threshold, self.thresval)
end

-- SpatialContrastiveNormalization(...): SpatialSubtractiveNormalization, then
-- SpatialDivisiveNormalization, with the same arguments (Torch7's)
local SCN, SCNParent = torch.class('nn.SpatialContrastiveNormalization', 'nn.Module')
function SCN:__init(nInputPlane, kernel, threshold, thresval)
  SCNParent.__init(self)
  local f = 'nn.SpatialContrastiveNormalization'
  self.nInputPlane = positive(f, 1, nInputPlane or 1, 2)
  kernel = nn._normKernel(f, kernel, 2)
  self.threshold = check.arg(f, 3, threshold, 'number?', 2) or 1e-4
  self.thresval = check.arg(f, 4, thresval, 'number?', 2) or self.threshold
  self.kernel = kernel
  self.subtractive = nn.SpatialSubtractiveNormalization(self.nInputPlane, kernel)
  self.divisive = nn.SpatialDivisiveNormalization(self.nInputPlane, kernel, self.threshold, self.thresval)
end
function SCN:updateOutput(input)
  float_input(self, input, 3)
  if input:dim() ~= 3 and input:dim() ~= 4 then
    error(('%s: expected a 3D (C x H x W) or 4D (N x C x H x W) input, got %s'):format(torch.typename(self), shape(input)), 3)
  end
  if input:size(input:dim() - 2) ~= self.nInputPlane then
    error(('%s: expected %d planes, got input %s'):format(torch.typename(self), self.nInputPlane, shape(input)), 3)
  end
  self.output = self.divisive:updateOutput(self.subtractive:updateOutput(input))
  return self.output
end
function SCN:__tostring__()
  return ('nn.SpatialContrastiveNormalization(%d, [%s], threshold %g, thresval %g)'):format(self.nInputPlane,
          shape_str(self.kernel), self.threshold, self.thresval)
end

return nn
