-- Torch7's simple layers (doc/simple.md): Add, AddConstant, Mul, MulConstant, CMul, Sum, Mean,
-- Max, Min, Index, MaskedSelect, Squeeze, Unsqueeze, Contiguous, Replicate, Padding,
-- Normalize, Bilinear, Cosine, CosineDistance, DotProduct, Euclidean, PairwiseDistance, MM,
-- GradientReversal, L1Penalty, and PyTorch's Flatten / Unflatten. Dims are 1-based; a dim
-- given with nInputDims counts within one sample, one more when the input is a batch.
-- Backward comes from autograd; GradientReversal and L1Penalty, whose gradients are not
-- their forward's, are torch.autograd.Functions.
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local function shape(t) return '[' .. table.concat(t:size():totable(), ' x ') .. ']' end

local tensor_input = nn._tensorInput   -- '<module>: expected a tensor input, got ...'

local function pair_input(self, input)
  if type(input) ~= 'table' or not torch.isTensor(input[1]) or not torch.isTensor(input[2]) then
    error(('%s: expected a table of two tensors {a, b}, got %s'):format(torch.typename(self),
          torch.typename(input) or type(input)), 4)
  end
  return input[1], input[2]
end

-- dim counted within a sample of nInputDims dims (shifted past a batch dim), negative from the end
local function sample_dim(self, dim, nInputDims, t)
  local d = dim
  if d < 0 then d = t:dim() + d + 1
  elseif nInputDims and t:dim() == nInputDims + 1 then d = d + 1 end
  if d < 1 or d > math.max(t:dim(), 1) then
    error(('%s: dim %d out of range for an input of size %s'):format(torch.typename(self), dim,
          shape(t)), 4)
  end
  return d
end

-- sizes given as a number, a table or a LongStorage; each a positive integer
local function sizes_of(cls, i, v, level)
  local sizes
  if torch.isTensor(v) then sizes = check.arg(cls, i, v, 'tensor', level + 1):totable()  -- not freed
  elseif type(v) == 'userdata' and v.totable then sizes = v:totable()
  elseif type(v) == 'table' then sizes = v
  else sizes = { check.arg(cls, i, v, 'integer', level + 1) } end
  for _, n in ipairs(sizes) do
    if math.tointeger(n) == nil or n < 1 then
      check.argerror(cls, i, ('expected positive integer sizes, got %s'):format(tostring(n)), level + 1)
    end
  end
  if #sizes == 0 then check.argerror(cls, i, 'expected sizes, got none', level + 1) end
  return sizes
end

local function new_param(self, name, ...)
  self[name] = torch.Tensor(...)
  self['grad' .. name:sub(1, 1):upper() .. name:sub(2)] = torch.Tensor(...):zero()
end

-- ---- Add, Mul, CMul, the constants --------------------------------------------------------
-- Add(inputSize [, scalar = false]): x + b with a learnt bias of inputSize (a number or sizes)
-- broadcast over a leading batch; scalar: one bias for every element.
local Add = torch.class('nn.Add', 'nn.Module')
function Add:__init(inputSize, scalar)
  nn.Module.__init(self)
  self.scalar = scalar and true or false
  local sizes = self.scalar and { 1 } or sizes_of('Add', 1, inputSize, 2)
  new_param(self, 'bias', table.unpack(sizes))
  self:reset()
  self:_linkGradients()
end
function Add:reset(stdv)
  stdv = stdv or 1 / math.sqrt(self.bias:nElement())
  torch.noGrad(function() self.bias:uniform(-stdv, stdv) end)
  return self
end
function Add:updateOutput(input)
  tensor_input(self, input)
  nn._checkDevice(self, input, self.bias, 3)
  local ok, out = pcall(torch.add, input, self.bias)  -- broadcast over the batch
  if not ok then
    error(('nn.Add: a bias of %s does not fit an input of %s'):format(shape(self.bias), shape(input)), 3)
  end
  self.output = out
  return out
end

-- Mul(): x * w with one learnt scalar w
local Mul = torch.class('nn.Mul', 'nn.Module')
function Mul:__init()
  nn.Module.__init(self)
  new_param(self, 'weight', 1)
  self:reset()
  self:_linkGradients()
end
function Mul:reset(stdv)
  stdv = stdv or 1
  torch.noGrad(function() self.weight:uniform(-stdv, stdv) end)
  return self
end
function Mul:updateOutput(input)
  tensor_input(self, input)
  nn._checkDevice(self, input, self.weight, 3)
  self.output = torch.cmul(input, self.weight)
  return self.output
end

-- CMul(sizes...): x * w elementwise with a learnt w of the given sizes, broadcast over a
-- leading batch (or over any dim where w has size 1)
local CMul = torch.class('nn.CMul', 'nn.Module')
function CMul:__init(...)
  nn.Module.__init(self)
  local sizes = select('#', ...) == 1 and sizes_of('CMul', 1, ..., 2) or { ... }
  if #sizes == 0 then check.argerror('CMul', 1, 'expected sizes, got none', 2) end
  for i, n in ipairs(sizes) do
    if check.arg('CMul', i, n, 'integer', 2) < 1 then
      check.argerror('CMul', i, ('expected a positive size, got %d'):format(n), 2)
    end
  end
  new_param(self, 'weight', table.unpack(sizes))
  self:reset()
  self:_linkGradients()
end
function CMul:reset(stdv)
  stdv = stdv or 1 / math.sqrt(self.weight:nElement())
  torch.noGrad(function() self.weight:uniform(-stdv, stdv) end)
  return self
end
function CMul:updateOutput(input)
  tensor_input(self, input)
  nn._checkDevice(self, input, self.weight, 3)
  local w = self.weight
  if input:nElement() == w:nElement() and input:dim() ~= w:dim() then w = w:viewAs(input) end
  local ok, out = pcall(torch.cmul, input, w)
  if not ok then
    error(('nn.CMul: a weight of %s does not fit an input of %s'):format(shape(self.weight), shape(input)), 3)
  end
  self.output = out
  return out
end

local function constant(name, op)
  local cls = torch.class('nn.' .. name, 'nn.Module')
  function cls:__init(c)
    nn.Module.__init(self)
    self.constant_scalar = check.arg(name, 1, c, 'number', 2)
  end
  function cls:updateOutput(input)
    tensor_input(self, input)
    self.output = op(input, self.constant_scalar)
    return self.output
  end
  function cls:__tostring__() return ('nn.%s(%g)'):format(name, self.constant_scalar) end
end
-- AddConstant(c [, inplace]) / MulConstant(c [, inplace]): x + c / x * c
constant('AddConstant', function(x, c) return torch.add(x, c) end)
constant('MulConstant', function(x, c) return torch.mul(x, c) end)

-- ---- reductions --------------------------------------------------------------------------
-- Sum([dim = 1 [, nInputDims [, sizeAverage = false [, squeeze = true]]]]): the sum over dim
-- (the mean with sizeAverage), the dim removed unless squeeze is false.
local Sum = torch.class('nn.Sum', 'nn.Module')
function Sum:__init(dimension, nInputDims, sizeAverage, squeeze)
  nn.Module.__init(self)
  local fname = torch.typename(self):sub(4)   -- Sum, or Mean (which calls this)
  self.dimension = dimension == nil and 1 or check.arg(fname, 1, dimension, 'integer', 2)
  self.nInputDims = check.arg(fname, 2, nInputDims, 'integer?', 2)
  self.sizeAverage = sizeAverage or false
  self.squeeze = squeeze == nil or squeeze
end
function Sum:updateOutput(input)
  tensor_input(self, input)
  local d = sample_dim(self, self.dimension, self.nInputDims, input)
  local out = self.sizeAverage and torch.mean(input, d) or torch.sum(input, d)
  if self.squeeze and out:dim() > 1 then out = out:squeeze(d) end
  self.output = out
  return out
end

-- Mean([dim = 1 [, nInputDims]]): Sum with sizeAverage
local Mean = torch.class('nn.Mean', 'nn.Sum')
function Mean:__init(dimension, nInputDims, squeeze)
  nn.Sum.__init(self, dimension, nInputDims, true, squeeze)
end

-- Max([dim = 1 [, nInputDims]]) / Min: the largest / smallest value over dim, dim removed
local function extremum(name, fn)
  local cls = torch.class('nn.' .. name, 'nn.Module')
  function cls:__init(dimension, nInputDims)
    nn.Module.__init(self)
    self.dimension = dimension == nil and 1 or check.arg(name, 1, dimension, 'integer', 2)
    self.nInputDims = check.arg(name, 2, nInputDims, 'integer?', 2)
  end
  function cls:updateOutput(input)
    tensor_input(self, input)
    local d = sample_dim(self, self.dimension, self.nInputDims, input)
    local values, indices = fn(input, d)
    self.indices = indices
    self.output = values:dim() > 1 and values:squeeze(d) or values
    return self.output
  end
  function cls:_clearState() self.indices = nil end
end
extremum('Max', torch.max)
extremum('Min', torch.min)

-- ---- indexing and shapes ------------------------------------------------------------------
-- Index(dim): {t, indices (LongTensor, 1-based)} -> t:index(dim, indices)
local Index = torch.class('nn.Index', 'nn.Module')
function Index:__init(dimension)
  nn.Module.__init(self)
  self.dimension = check.arg('Index', 1, dimension, 'integer', 2)
end
function Index:updateOutput(input)
  local t, idx = pair_input(self, input)
  self.output = torch.indexSelect(t, self.dimension, idx)
  return self.output
end

-- MaskedSelect(): {t, mask (ByteTensor)} -> the 1-D tensor of t's elements where mask is 1
local MaskedSelect = torch.class('nn.MaskedSelect', 'nn.Module')
function MaskedSelect:updateOutput(input)
  local t, m = pair_input(self, input)
  self.output = torch.maskedSelect(t, m)
  return self.output
end

-- Squeeze([dim [, nInputDims]]): drops dim if its size is 1 (every size-1 dim without dim)
local Squeeze = torch.class('nn.Squeeze', 'nn.Module')
function Squeeze:__init(dim, nInputDims)
  nn.Module.__init(self)
  self.dim = check.arg('Squeeze', 1, dim, 'integer?', 2)
  self.nInputDims = check.arg('Squeeze', 2, nInputDims, 'integer?', 2)
end
function Squeeze:updateOutput(input)
  tensor_input(self, input)
  if self.dim then
    self.output = input:squeeze(sample_dim(self, self.dim, self.nInputDims, input))
  else
    self.output = input:squeeze()
  end
  return self.output
end

-- Unsqueeze(pos [, nInputDims]): a size-1 dim inserted at pos
local Unsqueeze = torch.class('nn.Unsqueeze', 'nn.Module')
function Unsqueeze:__init(pos, nInputDims)
  nn.Module.__init(self)
  self.pos = check.arg('Unsqueeze', 1, pos, 'integer', 2)
  self.nInputDims = check.arg('Unsqueeze', 2, nInputDims, 'integer?', 2)
end
function Unsqueeze:updateOutput(input)
  tensor_input(self, input)
  local pos = self.pos
  if self.nInputDims and input:dim() == self.nInputDims + 1 then pos = pos + 1 end
  if pos < 1 or pos > input:dim() + 1 then
    error(('nn.Unsqueeze: position %d out of range for an input of size %s'):format(self.pos, shape(input)), 3)
  end
  self.output = input:unsqueeze(pos)
  return self.output
end

-- Contiguous(): a contiguous copy (the input itself when already contiguous)
local Contiguous = torch.class('nn.Contiguous', 'nn.Module')
function Contiguous:updateOutput(input)
  tensor_input(self, input)
  self.output = input:contiguous()
  return self.output
end

-- Replicate(nFeature [, dim = 1 [, nDim]]): nFeature copies of the input stacked along a new
-- dim (an expanded view; its gradient sums them). nDim: the dims of one sample, so that a
-- batch puts the new dim one further.
local Replicate = torch.class('nn.Replicate', 'nn.Module')
function Replicate:__init(nFeature, dim, nDim)
  nn.Module.__init(self)
  self.nfeatures = check.arg('Replicate', 1, nFeature, 'integer', 2)
  self.dim = dim == nil and 1 or check.arg('Replicate', 2, dim, 'integer', 2)
  self.ndim = check.arg('Replicate', 3, nDim, 'integer?', 2)
end
function Replicate:updateOutput(input)
  tensor_input(self, input)
  local dim = self.dim
  if self.ndim and input:dim() == self.ndim + 1 then dim = dim + 1 end
  if dim < 1 or dim > input:dim() + 1 then
    error(('nn.Replicate: dim %d out of range for an input of size %s'):format(self.dim, shape(input)), 3)
  end
  local sizes = input:size():totable()
  table.insert(sizes, dim, self.nfeatures)
  self.output = input:unsqueeze(dim):expand(table.unpack(sizes))
  return self.output
end

-- Padding(dim, pad [, nInputDim [, value = 0 [, index = 1]]]): |pad| entries of value added
-- along dim: after the input for pad > 0, before it for pad < 0; index moves the insertion
-- point (counted from that side), as Torch7.
local Padding = torch.class('nn.Padding', 'nn.Module')
function Padding:__init(dim, pad, nInputDim, value, index)
  nn.Module.__init(self)
  self.dim = check.arg('Padding', 1, dim, 'integer', 2)
  self.pad = check.arg('Padding', 2, pad, 'integer', 2)
  self.nInputDim = check.arg('Padding', 3, nInputDim, 'integer?', 2)
  self.value = value == nil and 0 or check.arg('Padding', 4, value, 'number', 2)
  self.index = index == nil and 1 or check.arg('Padding', 5, index, 'integer', 2)
end
function Padding:updateOutput(input)
  tensor_input(self, input)
  local dim = sample_dim(self, self.dim, self.nInputDim, input)
  if self.pad == 0 then self.output = input return input end
  local n, pad, index = input:size(dim), math.abs(self.pad), self.index
  if self.pad > 0 then index = n - index + 2 end
  if index < 1 or index > n + 1 then
    error(('nn.Padding: index %d out of range for size %d of dim %d'):format(self.index, n, dim), 3)
  end
  local sizes = input:size():totable()
  sizes[dim] = pad
  local block = torch.noGrad(function() return torch.Tensor():typeAs(input):resize(table.unpack(sizes)):fill(self.value) end)
  local pieces = {}
  if index > 1 then pieces[#pieces + 1] = input:narrow(dim, 1, index - 1) end
  pieces[#pieces + 1] = block
  if index <= n then pieces[#pieces + 1] = input:narrow(dim, index, n - index + 1) end
  self.output = torch.cat(pieces, dim)
  return self.output
end

-- Flatten([startDim = 2 [, endDim = -1]]): dims startDim..endDim into one (PyTorch's
-- nn.Flatten, 1-based: the default keeps the batch dim). Unflatten(dim, sizes): dim into sizes.
local Flatten = torch.class('nn.Flatten', 'nn.Module')
function Flatten:__init(startDim, endDim)
  nn.Module.__init(self)
  self.startDim = startDim == nil and 2 or check.arg('Flatten', 1, startDim, 'integer', 2)
  self.endDim = endDim == nil and -1 or check.arg('Flatten', 2, endDim, 'integer', 2)
end
function Flatten:updateOutput(input)
  tensor_input(self, input)
  local d = input:dim()
  local s = self.startDim < 0 and d + self.startDim + 1 or self.startDim
  local e = self.endDim < 0 and d + self.endDim + 1 or self.endDim
  if s < 1 or e > d or s > e then
    error(('nn.Flatten: dims %d to %d out of range for an input of size %s'):format(self.startDim,
          self.endDim, shape(input)), 3)
  end
  local sizes, n = {}, 1
  for i = 1, d do
    if i < s or i > e then sizes[#sizes + 1] = input:size(i)
    else
      n = n * input:size(i)
      if i == e then sizes[#sizes + 1] = n end
    end
  end
  self.output = input:reshape(table.unpack(sizes))
  return self.output
end

local Unflatten = torch.class('nn.Unflatten', 'nn.Module')
function Unflatten:__init(dim, sizes)
  nn.Module.__init(self)
  self.dim = check.arg('Unflatten', 1, dim, 'integer', 2)
  self.sizes = sizes_of('Unflatten', 2, check.arg('Unflatten', 2, sizes, 'table|userdata', 2), 2)
end
function Unflatten:updateOutput(input)
  tensor_input(self, input)
  local d = self.dim < 0 and input:dim() + self.dim + 1 or self.dim
  local n = 1
  for _, s in ipairs(self.sizes) do n = n * s end
  if d < 1 or d > input:dim() or input:size(d) ~= n then
    error(('nn.Unflatten: cannot unflatten dim %d of an input of size %s into [%s]'):format(self.dim,
          shape(input), table.concat(self.sizes, ' x ')), 3)
  end
  local sizes = {}
  for i = 1, input:dim() do
    if i == d then for _, s in ipairs(self.sizes) do sizes[#sizes + 1] = s end
    else sizes[#sizes + 1] = input:size(i) end
  end
  self.output = input:reshape(table.unpack(sizes))
  return self.output
end

-- ---- norms and distances ------------------------------------------------------------------
local function feature_dim(x) return x:dim() == 1 and 1 or x:dim() end

-- Normalize(p [, eps = 1e-10]): each row (the last dim) divided by its p-norm, computed as
-- Torch7's (sum |x|^p + eps)^(1/p) (p = math.huge: max |x| + eps)
local Normalize = torch.class('nn.Normalize', 'nn.Module')
function Normalize:__init(p, eps)
  nn.Module.__init(self)
  self.p = check.arg('Normalize', 1, p, 'number', 2)
  if self.p <= 0 then check.argerror('Normalize', 1, 'expected a positive p, got ' .. p, 2) end
  self.eps = eps == nil and 1e-10 or check.arg('Normalize', 2, eps, 'number', 2)
end
function Normalize:updateOutput(input)
  tensor_input(self, input)
  if input:dim() ~= 1 and input:dim() ~= 2 then
    error(('nn.Normalize: expected a 1-D or 2-D input, got %s'):format(shape(input)), 3)
  end
  local d = feature_dim(input)
  local norm
  if self.p == math.huge then
    norm = torch.add((torch.max(torch.abs(input), d)), self.eps)
  else
    local powered = self.p == 2 and torch.cmul(input, input) or torch.pow(torch.abs(input), self.p)
    norm = torch.pow(torch.add(torch.sum(powered, d), self.eps), 1 / self.p)
  end
  self.output = torch.cdiv(input, norm)
  return self.output
end
function Normalize:__tostring__() return ('nn.Normalize(%g)'):format(self.p) end

local function same_size(self, a, b)
  if not a:isSameSizeAs(b) then
    error(('%s: the two inputs differ in size: %s and %s'):format(torch.typename(self), shape(a), shape(b)), 4)
  end
end

-- DotProduct(): {a, b} -> the dot product of each row pair
local DotProduct = torch.class('nn.DotProduct', 'nn.Module')
function DotProduct:updateOutput(input)
  local a, b = pair_input(self, input)
  same_size(self, a, b)
  local s = torch.sum(torch.cmul(a, b), feature_dim(a))
  self.output = a:dim() == 1 and s or s:view(a:size(1))
  return self.output
end

-- CosineDistance(): {a, b} -> the cosine similarity of each row pair (Torch7's name; with
-- 1e-12 added to each squared norm)
local CosineDistance = torch.class('nn.CosineDistance', 'nn.Module')
function CosineDistance:updateOutput(input)
  local a, b = pair_input(self, input)
  same_size(self, a, b)
  local d = feature_dim(a)
  local dot = torch.sum(torch.cmul(a, b), d)
  local na = torch.add(torch.sum(torch.cmul(a, a), d), 1e-12)
  local nb = torch.add(torch.sum(torch.cmul(b, b), d), 1e-12)
  local cos = torch.cmul(dot, torch.rsqrt(torch.cmul(na, nb)))
  self.output = a:dim() == 1 and cos or cos:view(a:size(1))
  return self.output
end

-- PairwiseDistance(p): {a, b} -> the p-norm of each row difference
local PairwiseDistance = torch.class('nn.PairwiseDistance', 'nn.Module')
function PairwiseDistance:__init(p)
  nn.Module.__init(self)
  self.norm = p == nil and 2 or check.arg('PairwiseDistance', 1, p, 'number', 2)
end
function PairwiseDistance:updateOutput(input)
  local a, b = pair_input(self, input)
  same_size(self, a, b)
  local n = torch.norm(a - b, self.norm, feature_dim(a))
  self.output = a:dim() == 1 and n or n:view(a:size(1))
  return self.output
end

-- Cosine(inputSize, outputSize): y_j = cos(x, w_j) for the rows w_j of a learnt weight
-- (outputSize x inputSize)
local Cosine = torch.class('nn.Cosine', 'nn.Module')
function Cosine:__init(inputSize, outputSize)
  nn.Module.__init(self)
  self.inputSize = check.arg('Cosine', 1, inputSize, 'integer', 2)
  self.outputSize = check.arg('Cosine', 2, outputSize, 'integer', 2)
  new_param(self, 'weight', outputSize, inputSize)
  self:reset()
  self:_linkGradients()
end
-- Torch7's reset(stdv) of Cosine and Euclidean (no bias): the weight uniform in +-1/sqrt(inputSize)
local function reset_weight(self, stdv) return nn._uniformReset(self, self.inputSize, stdv) end
Cosine.reset = reset_weight
local function check_rows(self, input, n)
  local d = input:dim()
  if (d ~= 1 and d ~= 2) or input:size(d) ~= n then
    error(('%s: expected an input of size [N x %d] or [%d], got %s'):format(torch.typename(self),
          n, n, shape(input)), 4)
  end
end
function Cosine:updateOutput(input)
  tensor_input(self, input)
  check_rows(self, input, self.inputSize)
  nn._checkDevice(self, input, self.weight, 3)
  local x = input:dim() == 1 and input:view(1, self.inputSize) or input
  local dots = torch.mm(x, self.weight:t())
  local nx = torch.add(torch.sqrt(torch.sum(torch.cmul(x, x), 2)), 1e-12)
  local nw = torch.add(torch.sqrt(torch.sum(torch.cmul(self.weight, self.weight), 2)), 1e-12)
  local out = torch.cdiv(torch.cdiv(dots, nx), nw:view(1, self.outputSize))
  self.output = input:dim() == 1 and out:view(self.outputSize) or out
  return self.output
end

-- Euclidean(inputSize, outputSize): y_j = ||x - w_j|| for the columns w_j of a learnt weight
-- (inputSize x outputSize, Torch7's layout)
local Euclidean = torch.class('nn.Euclidean', 'nn.Module')
function Euclidean:__init(inputSize, outputSize)
  nn.Module.__init(self)
  self.inputSize = check.arg('Euclidean', 1, inputSize, 'integer', 2)
  self.outputSize = check.arg('Euclidean', 2, outputSize, 'integer', 2)
  new_param(self, 'weight', inputSize, outputSize)
  self:reset()
  self:_linkGradients()
end
Euclidean.reset = reset_weight
function Euclidean:updateOutput(input)
  tensor_input(self, input)
  check_rows(self, input, self.inputSize)
  nn._checkDevice(self, input, self.weight, 3)
  local x = input:dim() == 1 and input:view(1, self.inputSize) or input
  local diff = x:view(x:size(1), self.inputSize, 1) - self.weight:view(1, self.inputSize, self.outputSize)
  local out = torch.sqrt(torch.sum(torch.cmul(diff, diff), 2)):view(x:size(1), self.outputSize)
  self.output = input:dim() == 1 and out:view(self.outputSize) or out
  return self.output
end

-- Bilinear(inputSize1, inputSize2, outputSize [, bias = true]): {x1, x2} (N x in1, N x in2)
-- -> y_k = x1 W_k x2^T + b_k, weight outputSize x in1 x in2 (PyTorch's layout and init)
local Bilinear = torch.class('nn.Bilinear', 'nn.Module')
function Bilinear:__init(inputSize1, inputSize2, outputSize, bias)
  nn.Module.__init(self)
  if type(bias) == 'table' then bias = check.options('nn.Bilinear', bias, { bias = true }, 3).bias end
  self.inputSize1 = check.arg('Bilinear', 1, inputSize1, 'integer', 2)
  self.inputSize2 = check.arg('Bilinear', 2, inputSize2, 'integer', 2)
  self.outputSize = check.arg('Bilinear', 3, outputSize, 'integer', 2)
  new_param(self, 'weight', outputSize, inputSize1, inputSize2)
  if bias ~= false then new_param(self, 'bias', outputSize) end
  self:reset()
  self:_linkGradients()
end
function Bilinear:reset(stdv) return nn._uniformReset(self, self.inputSize1, stdv) end
function Bilinear:updateOutput(input)
  local x1, x2 = pair_input(self, input)
  if x1:dim() ~= 2 or x2:dim() ~= 2 or x1:size(2) ~= self.inputSize1 or x2:size(2) ~= self.inputSize2
     or x1:size(1) ~= x2:size(1) then
    error(('nn.Bilinear(%d, %d -> %d): expected inputs of sizes [N x %d] and [N x %d], got %s and %s')
          :format(self.inputSize1, self.inputSize2, self.outputSize, self.inputSize1,
                  self.inputSize2, shape(x1), shape(x2)), 3)
  end
  nn._checkDevice(self, x1, self.weight, 3)
  local n, o, i1, i2 = x1:size(1), self.outputSize, self.inputSize1, self.inputSize2
  -- x1 W: (N x in1) by (in1 x (O in2)), then each of the O rows of in2 dotted with x2
  local w = self.weight:permute(2, 1, 3):reshape(i1, o * i2)
  local xw = torch.mm(x1, w):view(n, o, i2)
  local out = torch.bmm(xw, x2:reshape(n, i2, 1)):view(n, o)
  if self.bias then out = out + self.bias:view(1, o) end
  self.output = out
  return out
end
function Bilinear:__tostring__()
  return ('nn.Bilinear(%d, %d -> %d%s)'):format(self.inputSize1, self.inputSize2, self.outputSize,
                                                self.bias and '' or ' without bias')
end

-- MM([transA = false [, transB = false]]): {A, B} -> A B (each transposed first if asked);
-- 3-D inputs are batches of matrices
local MM = torch.class('nn.MM', 'nn.Module')
function MM:__init(transA, transB)
  nn.Module.__init(self)
  self.transA, self.transB = transA or false, transB or false
end
function MM:updateOutput(input)
  local a, b = pair_input(self, input)
  if a:dim() ~= b:dim() or (a:dim() ~= 2 and a:dim() ~= 3) then
    error(('nn.MM: expected two matrices or two batches of matrices, got %s and %s'):format(shape(a), shape(b)), 3)
  end
  local d = a:dim()
  if self.transA then a = a:transpose(d - 1, d) end
  if self.transB then b = b:transpose(d - 1, d) end
  self.output = d == 2 and torch.mm(a, b) or torch.bmm(a, b)
  return self.output
end

-- ---- gradient-only modules ----------------------------------------------------------------
-- GradientReversal([lambda = 1]): the identity forward; backward multiplies by -lambda
local reverse = torch.autograd.Function {
  forward = function(ctx, x, lambda) ctx.lambda = lambda return x:clone() end,
  backward = function(ctx, g) return torch.mul(g, -ctx.lambda) end,
}
local GradientReversal = torch.class('nn.GradientReversal', 'nn.Module')
function GradientReversal:__init(lambda)
  nn.Module.__init(self)
  self.lambda = lambda == nil and 1 or check.arg('GradientReversal', 1, lambda, 'number', 2)
end
function GradientReversal:setLambda(lambda) self.lambda = lambda return self end
function GradientReversal:updateOutput(input)
  tensor_input(self, input)
  self.output = reverse(input, self.lambda)
  return self.output
end

-- L1Penalty(l1weight [, sizeAverage = false [, provideOutput = true]]): the identity
-- forward, recording loss = l1weight * sum |x| (/ nElement with sizeAverage); backward adds
-- that loss's gradient l1weight * sign(x) to gradOutput (provideOutput false: returns it alone)
local penalty = torch.autograd.Function {
  forward = function(ctx, x, scale, provideOutput)
    ctx.x, ctx.scale, ctx.provideOutput = x, scale, provideOutput
    return x:clone()
  end,
  backward = function(ctx, g)
    local pg = torch.mul(torch.sign(ctx.x), ctx.scale)
    return ctx.provideOutput and torch.add(g, pg) or pg
  end,
}
local L1Penalty = torch.class('nn.L1Penalty', 'nn.Module')
function L1Penalty:__init(l1weight, sizeAverage, provideOutput)
  nn.Module.__init(self)
  self.l1weight = check.arg('L1Penalty', 1, l1weight, 'number', 2)
  self.sizeAverage = sizeAverage or false
  self.provideOutput = provideOutput == nil or provideOutput
end
function L1Penalty:updateOutput(input)
  tensor_input(self, input)
  local scale = self.l1weight / (self.sizeAverage and input:nElement() or 1)
  self.loss = torch.noGrad(function() return scale * torch.abs(input):sum() end)
  if type(self.loss) ~= 'number' then self.loss = self.loss:item() end
  self.output = penalty(input, scale, self.provideOutput)
  return self.output
end

return nn
