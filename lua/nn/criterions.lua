-- The losses: ClassNLLCriterion, CrossEntropyCriterion, MSECriterion, BCECriterion.
-- Class targets are 1-based indices, as in Torch7 (a dataset label d is class d + 1); a
-- Float/Double target must hold whole numbers (1.5 is an error, not class 1).
-- Each takes Torch7's positional arguments or one options table in our names (PyTorch's
-- keywords): nn.CrossEntropyCriterion{weights = w, ignoreIndex = 1, reduction = 'sum'}.
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local input_tensor = nn._tensorInput   -- '<module>: expected a tensor input, got ...'

-- A floating-point target with a fraction (or NaN, or beyond int64) would be truncated by
-- :long() into another class: an error naming the first such value.
local function check_integral(self, target)
  local bad = torch.noGrad(function()
    local t = target:isCuda() and target:double() or target
    return t:ne(torch.floor(t)):add(t:abs():ge(2^62)), t
  end)
  if bad:max() == 0 then return end
  local flat, host = bad:view(-1), torch.noGrad(function() return target:double():view(-1) end)
  for i = 1, flat:nElement() do
    if flat[i] ~= 0 then
      error(('%s: class targets must be whole numbers, got %s at position %d of a %s target '
             .. '(class indices are 1-based integers; a LongTensor holds them exactly)')
            :format(torch.typename(self), ('%g'):format(host[i]), i, target:type()), 5)
    end
  end
end

local function class_target(self, input, target)
  if math.type(target) == 'float' then
    local i = math.tointeger(target)
    if not i then
      error(('%s: the target class must be a whole number, got %s')
            :format(torch.typename(self), tostring(target)), 4)
    end
    target = i
  end
  if type(target) == 'number' then
    -- one class for one row of scores; on a device, a one-element index tensor there
    if input:isCuda() and math.type(target) == 'integer' and
       (input:dim() == 1 or (input:dim() == 2 and input:size(1) == 1)) then
      return torch.LongTensor({ target }):cuda()
    end
    return target
  end
  if not torch.isTensor(target) then
    error(('%s: expected class indices (a LongTensor or a number), got %s')
          :format(torch.typename(self), type(target)), 4)
  end
  local t = target:type()
  if t == 'torch.LongTensor' or t == 'torch.CudaLongTensor' then return target end
  if nn._floatingTypes[t] and target:nElement() > 0 then check_integral(self, target) end
  return target:isCuda() and target:cudaLong() or target:long()  -- indices stay where they are
end

-- Torch7's positional (weights, sizeAverage, ignoreIndex), or one options table in their
-- place (told apart from a list of class weights by having no [1]). reduction is PyTorch's
-- 'mean' (sizeAverage) or 'sum'; 'none' and labelSmoothing are not built yet.
local class_options = { weights = check.NONE, sizeAverage = true, ignoreIndex = check.NONE,
                        reduction = check.NONE, labelSmoothing = check.unsupported(0) }
local plain_options = { weights = check.NONE, sizeAverage = true, reduction = check.NONE }

local function is_options(v)
  return type(v) == 'table' and getmetatable(v) == nil and v[1] == nil
end

local function init_options(self, defaults, opts)
  local name = torch.typename(self)
  local o = check.options(name, opts, defaults, 4)
  if o.reduction ~= nil then
    if o.reduction == 'none' then
      error(("%s: reduction = 'none' is not supported yet"):format(name), 4)
    elseif o.reduction ~= 'mean' and o.reduction ~= 'sum' then
      error(("%s: reduction must be 'mean' or 'sum', got %s"):format(name, tostring(o.reduction)), 4)
    end
    o.sizeAverage = o.reduction == 'mean'
  end
  return o
end

-- ClassNLLCriterion([weights [, sizeAverage = true [, ignoreIndex]]]) or ({options}): input holds
-- log-probabilities, (N x C) or (C); target (N) or a number. Rows whose target is ignoreIndex
-- (a class number like the targets, e.g. a padding class 0) add nothing to the loss, to the
-- mean's divisor or to the gradient (Torch7's ignoreIndex, PyTorch's ignore_index; unlike
-- theirs, none by default).
local ClassNLLCriterion, parent = torch.class('nn.ClassNLLCriterion', 'nn.Criterion')
local function check_class_options(fname, weights, sizeAverage, ignoreIndex)
  check.arg(fname, 1, weights, 'tensor|table?', 3)
  check.arg(fname, 2, sizeAverage, 'boolean?', 3)
  check.arg(fname, 3, ignoreIndex, 'integer?', 3)
end

function ClassNLLCriterion:__init(weights, sizeAverage, ignoreIndex)
  check_class_options('ClassNLLCriterion', weights, sizeAverage, ignoreIndex)
  parent.__init(self)
  if is_options(weights) then
    local o = init_options(self, class_options, weights)
    weights, sizeAverage, ignoreIndex = o.weights, o.sizeAverage, o.ignoreIndex
  end
  self.weights = weights
  if sizeAverage ~= nil then self.sizeAverage = sizeAverage end
  self.ignoreIndex = ignoreIndex
end
function ClassNLLCriterion:loss(input, target)
  input_tensor(self, input)
  return torch.nllLoss(input, class_target(self, input, target), self.weights, self.sizeAverage,
                       self.ignoreIndex)
end

-- CrossEntropyCriterion([weights [, sizeAverage = true [, ignoreIndex]]]): raw scores in;
-- log-softmax and NLL fused in one numerically stable pass; ignoreIndex as above.
local CrossEntropyCriterion = torch.class('nn.CrossEntropyCriterion', 'nn.Criterion')
function CrossEntropyCriterion:__init(weights, sizeAverage, ignoreIndex)
  check_class_options('CrossEntropyCriterion', weights, sizeAverage, ignoreIndex)
  parent.__init(self)
  if is_options(weights) then
    local o = init_options(self, class_options, weights)
    weights, sizeAverage, ignoreIndex = o.weights, o.sizeAverage, o.ignoreIndex
  end
  self.weights = weights
  if sizeAverage ~= nil then self.sizeAverage = sizeAverage end
  self.ignoreIndex = ignoreIndex
end
function CrossEntropyCriterion:loss(input, target)
  input_tensor(self, input)
  return torch.crossEntropy(input, class_target(self, input, target), self.weights,
                            self.sizeAverage, self.ignoreIndex)
end

local function same_shape(self, input, target)
  input_tensor(self, input)
  local pairs_with, hint = nn._pairsWith(input, target)
  if not pairs_with then
    error(('%s: input [%s] and target [%s] differ in size%s'):format(torch.typename(self),
          table.concat(input:size():totable(), ' x '),
          torch.isTensor(target) and table.concat(target:size():totable(), ' x ') or type(target),
          hint), 4)
  end
  return target:type() == input:type() and target or target:type(input:type())
end

-- MSECriterion([sizeAverage = true]): mean (or sum) of squared differences.
local MSECriterion = torch.class('nn.MSECriterion', 'nn.Criterion')
function MSECriterion:__init(sizeAverage)
  check.arg('MSECriterion', 1, sizeAverage, 'boolean|table?', 2)
  parent.__init(self)
  if is_options(sizeAverage) then
    sizeAverage = init_options(self, { sizeAverage = true, reduction = check.NONE }, sizeAverage).sizeAverage
  end
  if sizeAverage ~= nil then self.sizeAverage = sizeAverage end
end
function MSECriterion:loss(input, target)
  target = same_shape(self, input, target)
  local d = input - target:viewAs(input)
  local sq = torch.cmul(d, d)
  return self.sizeAverage and sq:mean() or sq:sum()
end

-- BCECriterion([weights [, sizeAverage = true]]): binary cross entropy of probabilities, the
-- logs clamped at -100 as PyTorch does, so 0 and 1 give finite losses.
local BCECriterion = torch.class('nn.BCECriterion', 'nn.Criterion')
function BCECriterion:__init(weights, sizeAverage)
  check.arg('BCECriterion', 1, weights, 'tensor|table?', 2)
  check.arg('BCECriterion', 2, sizeAverage, 'boolean?', 2)
  parent.__init(self)
  if is_options(weights) then
    local o = init_options(self, plain_options, weights)
    weights, sizeAverage = o.weights, o.sizeAverage
  end
  self.weights = weights
  if sizeAverage ~= nil then self.sizeAverage = sizeAverage end
end
function BCECriterion:loss(input, target)
  target = same_shape(self, input, target):viewAs(input)
  -- logits given by mistake made a NaN loss; PyTorch refuses them too (NaN fails the test)
  local lo, hi = torch.noGrad(function() return input:min(), input:max() end)
  if input:nElement() > 0 and not (lo >= 0 and hi <= 1) then
    error(('nn.BCECriterion: input must hold probabilities in [0, 1], got values in [%g, %g] '
           .. '(for logits use nn.BCEWithLogitsCriterion)'):format(lo, hi), 3)
  end
  local logp = torch.clamp(torch.log(input), -100, math.huge)
  local log1mp = torch.clamp(torch.log(torch.add(torch.neg(input), 1)), -100, math.huge)
  local ll = torch.cmul(target, logp) + torch.cmul(torch.add(torch.neg(target), 1), log1mp)
  if self.weights then ll = torch.cmul(ll, self.weights) end
  local total = self.sizeAverage and ll:mean() or ll:sum()
  return type(total) == 'number' and -total or torch.neg(total)
end

return nn
