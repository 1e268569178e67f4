-- Torch7's other criterions (doc/criterion.md), each also under PyTorch's name:
--   AbsCriterion (L1Loss), SmoothL1Criterion (SmoothL1Loss), DistKLDivCriterion (KLDivLoss),
--   MarginCriterion, SoftMarginCriterion (SoftMarginLoss), MultiMarginCriterion
--   (MultiMarginLoss), MultiLabelMarginCriterion (MultiLabelMarginLoss), MultiLabelSoftMargin-
--   Criterion (MultiLabelSoftMarginLoss), HingeEmbeddingCriterion (HingeEmbeddingLoss),
--   CosineEmbeddingCriterion (CosineEmbeddingLoss), MarginRankingCriterion (MarginRankingLoss),
--   BCEWithLogitsCriterion (BCEWithLogitsLoss), MultiCriterion, ParallelCriterion;
--   and PyTorch's names of the existing ones (MSELoss, BCELoss, NLLLoss, CrossEntropyLoss).
-- Each takes Torch7's positional arguments or one options table in our names (PyTorch's
-- keywords in camelCase, checked by torch.check.options): nn.SmoothL1Loss{beta = 0.5}.
-- Losses are written from tensor ops (:loss), so autograd gives the gradient; class targets
-- are 1-based, as everywhere in nn.
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local Criterion = nn.Criterion

local function shape(t) return '[' .. table.concat(t:size():totable(), ' x ') .. ']' end

local input_tensor = nn._tensorInput   -- '<module>: expected a tensor input, got ...'

local function pair_input(self, input)
  if type(input) ~= 'table' or not torch.isTensor(input[1]) or not torch.isTensor(input[2]) then
    error(('%s: expected a table of two tensors {x1, x2} as input, got %s'):format(torch.typename(self),
          torch.typename(input) or type(input)), 4)
  end
  return input[1], input[2]
end

-- target as input's type and shape (a number for a one-element input)
local function like(self, input, target)
  if type(target) == 'number' and input:nElement() == 1 then
    return torch.noGrad(function() return torch.Tensor():typeAs(input):resizeAs(input):fill(target) end)
  end
  local pairs_with, hint = nn._pairsWith(input, target)
  if not pairs_with then
    error(('%s: input %s and target %s differ in size%s'):format(torch.typename(self), shape(input),
          torch.isTensor(target) and shape(target) or type(target), hint), 4)
  end
  if target:type() ~= input:type() then target = target:type(input:type()) end
  return target:viewAs(input)
end

local function reduce(self, l)
  if self.reduction == 'batchmean' then
    local total, n = l:sum(), l:dim() > 0 and l:size(1) or 1
    return type(total) == 'number' and total / n or torch.div(total, n)
  end
  return self.sizeAverage and l:mean() or l:sum()
end

-- an options table (no [1], no metatable) in place of the positional arguments
local function is_options(v) return type(v) == 'table' and getmetatable(v) == nil and v[1] == nil end

-- Reads options into self: `defaults` maps each name to its default; reduction ('mean' /
-- 'sum', or any listed in `reductions`) sets sizeAverage.
local function read_options(self, opts, defaults, reductions)
  local name = torch.typename(self)
  defaults.sizeAverage = defaults.sizeAverage == nil and true or defaults.sizeAverage
  defaults.reduction = check.NONE
  local o = check.options(name, opts, defaults, 4)
  if o.reduction ~= nil then
    local ok = o.reduction == 'mean' or o.reduction == 'sum' or (reductions and reductions[o.reduction])
    if o.reduction == 'none' then
      error(("%s: reduction = 'none' is not supported yet"):format(name), 4)
    elseif not ok then
      error(("%s: reduction must be 'mean' or 'sum', got %s"):format(name, tostring(o.reduction)), 4)
    end
    self.reduction = o.reduction
    o.sizeAverage = o.reduction ~= 'sum'
  end
  o.reduction = nil
  for k, v in pairs(o) do self[k] = v end
end

-- the kind of each argument or option (torch.check's names)
local kinds = { sizeAverage = 'boolean', margin = 'number', p = 'number', beta = 'number',
                weights = 'tensor', posWeight = 'tensor', logTarget = 'boolean' }

-- A criterion class taking positional arguments `names` (Torch7's order) or one options table
-- with those names (and reduction); `defaults` as read_options'.
local function criterion(class, names, defaults, reductions)
  local cls = torch.class('nn.' .. class, 'nn.Criterion')
  function cls:__init(...)
    Criterion.__init(self)
    local first = ...
    if select('#', ...) == 1 and is_options(first) then
      local d = {}
      for k, v in pairs(defaults) do d[k] = v end
      read_options(self, first, d, reductions)
      for _, n in ipairs(names) do
        local ok = pcall(check.arg, class, 1, self[n], kinds[n] .. '?')
        if not ok then
          error(("nn.%s: option '%s' must be a %s, got %s"):format(class, n, kinds[n],
                torch.typename(self[n]) or type(self[n])), 3)
        end
      end
    else
      for i, n in ipairs(names) do
        local v = check.arg(class, i, select(i, ...), kinds[n] .. '?', 2)
        if v == nil then v = defaults[n] end
        if v == check.NONE then v = nil end
        self[n] = v
      end
      if self.sizeAverage == nil then self.sizeAverage = true end
    end
  end
  return cls
end

local function relu(x) return torch.relu(x) end
-- log(1 + exp(z)), stable for large |z|
local function softplus(z) return torch.relu(z) + torch.log1p(torch.exp(torch.neg(torch.abs(z)))) end

-- 1-based class targets as a LongTensor of n entries in [1, classes]
local function class_targets(self, target, n, classes)
  if type(target) == 'number' then target = torch.LongTensor({ target }) end
  if not torch.isTensor(target) then
    error(('%s: expected class indices (a LongTensor or a number), got %s')
          :format(torch.typename(self), type(target)), 5)
  end
  local t = torch.noGrad(function() return target:double():view(-1) end)
  if t:nElement() ~= n then
    error(('%s: %d targets for %d rows of scores'):format(torch.typename(self), t:nElement(), n), 5)
  end
  for i = 1, n do
    local v = t[i]
    if v ~= math.floor(v) or v < 1 or v > classes then
      error(('%s: target %s at position %d is not a class in 1..%d'):format(torch.typename(self),
            ('%g'):format(v), i, classes), 5)
    end
  end
  return t:long()
end

-- rows of scores: (C) as one row, (N x C)
local function rows(self, input)
  input_tensor(self, input)
  if input:dim() == 1 then return input:view(1, input:size(1)) end
  if input:dim() ~= 2 then
    error(('%s: expected scores of size [C] or [N x C], got %s'):format(torch.typename(self), shape(input)), 4)
  end
  return input
end

-- ---- regression ---------------------------------------------------------------------------
-- AbsCriterion([sizeAverage = true]): mean (or sum) of |x - y|
local AbsCriterion = criterion('AbsCriterion', { 'sizeAverage' }, { sizeAverage = true })
function AbsCriterion:loss(input, target)
  input_tensor(self, input)
  return reduce(self, torch.abs(input - like(self, input, target)))
end
nn.L1Loss = AbsCriterion

-- SmoothL1Criterion([sizeAverage = true]) or ({beta = 1, ...}): 0.5 d^2 / beta where
-- |d| < beta, |d| - 0.5 beta beyond (Torch7's is beta = 1)
local SmoothL1 = criterion('SmoothL1Criterion', { 'sizeAverage' }, { sizeAverage = true, beta = 1 })
function SmoothL1:loss(input, target)
  input_tensor(self, input)
  local beta = self.beta or 1
  local d = torch.abs(input - like(self, input, target))
  if beta == 0 then return reduce(self, d) end
  local small = torch.cmin(d, beta)
  return reduce(self, torch.div(torch.cmul(small, small), 2 * beta) + (d - small))
end
nn.SmoothL1Loss = SmoothL1

-- DistKLDivCriterion([sizeAverage = true]) or ({logTarget = false, reduction = 'mean' |
-- 'sum' | 'batchmean'}): input log-probabilities, target probabilities (logTarget: log-
-- probabilities): sum of t (log t - x), 0 where t = 0; mean over elements (batchmean: over dim 1)
local KLDiv = criterion('DistKLDivCriterion', { 'sizeAverage' }, { sizeAverage = true, logTarget = false },
                        { batchmean = true })
function KLDiv:loss(input, target)
  input_tensor(self, input)
  local t = like(self, input, target)
  local l
  if self.logTarget then
    l = torch.cmul(torch.exp(t), t - input)
  else
    -- t log t is 0 at t = 0: where() picks it (a mask product would keep 0 * -inf = NaN)
    local tlogt = torch.noGrad(function()
      return torch.where(torch.gt(t, 0), torch.cmul(t, torch.log(t)), 0)
    end)
    l = tlogt - torch.cmul(t, input)
  end
  return reduce(self, l)
end
nn.KLDivLoss = KLDiv

-- ---- margins and binary targets (+1 / -1) ---------------------------------------------------
-- MarginCriterion([margin = 1 [, sizeAverage = true]]): mean of max(0, margin - y x)
local Margin = criterion('MarginCriterion', { 'margin', 'sizeAverage' }, { margin = 1, sizeAverage = true })
function Margin:loss(input, target)
  input_tensor(self, input)
  return reduce(self, relu(torch.add(torch.neg(torch.cmul(input, like(self, input, target))), self.margin)))
end

-- SoftMarginCriterion([sizeAverage = true]): mean of log(1 + exp(-y x))
local SoftMargin = criterion('SoftMarginCriterion', { 'sizeAverage' }, { sizeAverage = true })
function SoftMargin:loss(input, target)
  input_tensor(self, input)
  return reduce(self, softplus(torch.neg(torch.cmul(input, like(self, input, target)))))
end
nn.SoftMarginLoss = SoftMargin

-- HingeEmbeddingCriterion([margin = 1 [, sizeAverage = true]]): x where y = 1,
-- max(0, margin - x) where y = -1; the mean
local Hinge = criterion('HingeEmbeddingCriterion', { 'margin', 'sizeAverage' }, { margin = 1, sizeAverage = true })
function Hinge:loss(input, target)
  input_tensor(self, input)
  local y = like(self, input, target)
  local pos, neg = torch.noGrad(function() return torch.eq(y, 1):typeAs(y), torch.eq(y, -1):typeAs(y) end)
  return reduce(self, torch.cmul(input, pos) + torch.cmul(relu(torch.add(torch.neg(input), self.margin)), neg))
end
nn.HingeEmbeddingLoss = Hinge

-- y (N) of +1 / -1 for pairs of N rows; a number for one pair
local function sign_targets(self, target, n, ref)
  if type(target) == 'number' then target = torch.DoubleTensor({ target }) end
  if not torch.isTensor(target) or target:nElement() ~= n then
    error(('%s: expected %d targets of 1 or -1, got %s'):format(torch.typename(self), n,
          torch.isTensor(target) and shape(target) or type(target)), 5)
  end
  return torch.noGrad(function() return target:type(ref:type()):view(n) end)
end

-- CosineEmbeddingCriterion([margin = 0 [, sizeAverage = true]]): {x1, x2} rows, y of 1 / -1:
-- 1 - cos(x1, x2) where y = 1, max(0, cos - margin) where y = -1 (1e-12 added to each
-- squared norm, as Torch7 and PyTorch)
local CosEmb = criterion('CosineEmbeddingCriterion', { 'margin', 'sizeAverage' }, { margin = 0, sizeAverage = true })
function CosEmb:loss(input, target)
  local x1, x2 = pair_input(self, input)
  if x1:dim() == 1 then x1, x2 = x1:view(1, -1), x2:view(1, -1) end
  if not x1:isSameSizeAs(x2) or x1:dim() ~= 2 then
    error(('%s: x1 %s and x2 %s must be two [N x D] (or [D]) tensors of one size'):format(
          torch.typename(self), shape(x1), shape(x2)), 3)
  end
  local y = sign_targets(self, target, x1:size(1), x1)
  local dot = torch.sum(torch.cmul(x1, x2), 2)
  local n1 = torch.add(torch.sum(torch.cmul(x1, x1), 2), 1e-12)
  local n2 = torch.add(torch.sum(torch.cmul(x2, x2), 2), 1e-12)
  local cos = torch.cmul(dot, torch.rsqrt(torch.cmul(n1, n2))):view(x1:size(1))
  local pos, neg = torch.noGrad(function() return torch.eq(y, 1):typeAs(y), torch.eq(y, -1):typeAs(y) end)
  local l = torch.cmul(torch.add(torch.neg(cos), 1), pos) + torch.cmul(relu(torch.add(cos, -self.margin)), neg)
  return reduce(self, l)
end
nn.CosineEmbeddingLoss = CosEmb

-- MarginRankingCriterion([margin = 0 [, sizeAverage = true]]): {x1, x2} scores, y of 1 / -1
-- (x1 should rank higher where y = 1): mean of max(0, -y (x1 - x2) + margin)
local Ranking = criterion('MarginRankingCriterion', { 'margin', 'sizeAverage' }, { margin = 0, sizeAverage = true })
function Ranking:loss(input, target)
  local x1, x2 = pair_input(self, input)
  if x1:nElement() ~= x2:nElement() then
    error(('%s: x1 %s and x2 %s differ in size'):format(torch.typename(self), shape(x1), shape(x2)), 3)
  end
  local n = x1:nElement()
  local y = sign_targets(self, target, n, x1)
  local d = x1:reshape(n) - x2:reshape(n)
  return reduce(self, relu(torch.add(torch.neg(torch.cmul(y, d)), self.margin)))
end
nn.MarginRankingLoss = Ranking

-- ---- multi-class and multi-label ------------------------------------------------------------
-- MultiMarginCriterion([p = 1 [, weights [, margin = 1 [, sizeAverage = true]]]]): scores
-- (N x C), 1-based classes y: per row sum over i ~= y of w[y] max(0, margin - x[y] + x[i])^p / C
local MultiMargin = criterion('MultiMarginCriterion', { 'p', 'weights', 'margin', 'sizeAverage' },
                              { p = 1, weights = check.NONE, margin = 1, sizeAverage = true })
function MultiMargin:loss(input, target)
  local x = rows(self, input)
  if self.p ~= 1 and self.p ~= 2 then
    error(('%s: p must be 1 or 2, got %s'):format(torch.typename(self), tostring(self.p)), 3)
  end
  local n, c = x:size(1), x:size(2)
  local y = class_targets(self, target, n, c)
  if x:isCuda() then y = y:cudaLong() end   -- the indices where the scores are
  local xy = torch.gather(x, 2, y:view(n, 1))
  local m = relu(torch.add(x - xy, self.margin))
  if self.p == 2 then m = torch.cmul(m, m) end
  local others = torch.noGrad(function()
    return torch.Tensor():typeAs(x):resize(n, c):fill(1):scatter(2, y:view(n, 1), 0)
  end)
  m = torch.cmul(m, others)
  if self.weights then
    local w = torch.noGrad(function() return self.weights:typeAs(x):index(1, y):view(n, 1) end)
    m = torch.cmul(m, w)
  end
  return reduce(self, torch.div(torch.sum(m, 2), c))
end
nn.MultiMarginLoss = MultiMargin

-- MultiLabelMarginCriterion([sizeAverage = true]): scores (N x C), targets (N x C) holding
-- each row's 1-based classes, ended by a 0 (or the row's end): per row, sum over its classes j
-- and the other classes i of max(0, 1 - (x[j] - x[i])) / C. (PyTorch's target is 0-based,
-- ended by -1: add 1.)
local MultiLabelMargin = criterion('MultiLabelMarginCriterion', { 'sizeAverage' }, { sizeAverage = true })
function MultiLabelMargin:loss(input, target)
  local x = rows(self, input)
  local n, c = x:size(1), x:size(2)
  if not torch.isTensor(target) or target:nElement() ~= n * c then
    error(('%s: expected targets of the scores\' size %s, got %s'):format(torch.typename(self),
          shape(input), torch.isTensor(target) and shape(target) or type(target)), 3)
  end
  local t = torch.noGrad(function() return target:double():view(n, c) end)
  local lists, k = {}, 1
  for r = 1, n do
    local list = {}
    for j = 1, c do
      local v = t[r][j]
      if v == 0 then break end
      if v ~= math.floor(v) or v < 1 or v > c then
        error(('%s: target %s in row %d is not a class in 1..%d (0 ends a row)'):format(
              torch.typename(self), ('%g'):format(v), r, c), 3)
      end
      list[#list + 1] = v
    end
    lists[r] = list
    k = math.max(k, #list)
  end
  local idx, valid, isTarget = torch.LongTensor(n, k):fill(1), torch.DoubleTensor(n, k):zero(),
                               torch.DoubleTensor(n, c):zero()
  for r, list in ipairs(lists) do
    for j, v in ipairs(list) do
      idx[r][j], valid[r][j], isTarget[r][v] = v, 1, 1
    end
  end
  valid, isTarget = valid:typeAs(x), isTarget:typeAs(x)
  if x:isCuda() then idx = idx:cudaLong() end
  local xt = torch.gather(x, 2, idx):view(n, k, 1)
  local m = relu(torch.add(x:view(n, 1, c) - xt, 1))
  local keep = torch.noGrad(function()
    return torch.cmul(valid:view(n, k, 1), torch.add(torch.neg(isTarget), 1):view(n, 1, c))
  end)
  local per_row = torch.sum(torch.cmul(m, keep):view(n, k * c), 2)
  return reduce(self, torch.div(per_row, c))
end
nn.MultiLabelMarginLoss = MultiLabelMargin

-- MultiLabelSoftMarginCriterion([weights [, sizeAverage = true]]): scores (N x C), targets of
-- 0 / 1: -(y log sigmoid(x) + (1 - y) log sigmoid(-x)), weighted per class, the mean
local MultiLabelSoft = criterion('MultiLabelSoftMarginCriterion', { 'weights', 'sizeAverage' },
                                 { weights = check.NONE, sizeAverage = true })
function MultiLabelSoft:loss(input, target)
  local x = rows(self, input)
  local y = like(self, x, target)
  local l = torch.cmul(y, softplus(torch.neg(x))) + torch.cmul(torch.add(torch.neg(y), 1), softplus(x))
  if self.weights then l = torch.cmul(l, self.weights:typeAs(x):view(1, -1)) end
  return reduce(self, l)
end
nn.MultiLabelSoftMarginLoss = MultiLabelSoft

-- BCEWithLogitsCriterion([weights [, sizeAverage = true [, posWeight]]]): binary cross
-- entropy of sigmoid(x), computed from x in one stable formula; posWeight (one per class,
-- the last dim) weighs the positive term, as PyTorch's pos_weight
local BCEWithLogits = criterion('BCEWithLogitsCriterion', { 'weights', 'sizeAverage', 'posWeight' },
                                { weights = check.NONE, sizeAverage = true, posWeight = check.NONE })
function BCEWithLogits:loss(input, target)
  input_tensor(self, input)
  local y = like(self, input, target)
  local l
  if self.posWeight then
    local pw = self.posWeight:typeAs(input)
    local coef = torch.noGrad(function() return torch.add(torch.cmul(y, torch.add(pw, -1)), 1) end)
    l = torch.cmul(torch.add(torch.neg(y), 1), input) + torch.cmul(coef, softplus(torch.neg(input)))
  else
    l = torch.cmul(torch.add(torch.neg(y), 1), input) + softplus(torch.neg(input))
  end
  if self.weights then l = torch.cmul(l, self.weights:typeAs(input)) end
  return reduce(self, l)
end
nn.BCEWithLogitsLoss = BCEWithLogits

-- ---- compositions -------------------------------------------------------------------------
-- MultiCriterion(): :add(criterion [, weight = 1]); the weighted sum of its criterions on the
-- same input and target. ParallelCriterion([repeatTarget = false]): :add(criterion [, weight]);
-- criterion i on input[i] and target[i] (the one target for all with repeatTarget).
local function composite(name)
  local cls = torch.class('nn.' .. name, 'nn.Criterion')
  function cls:add(crit, weight)
    if not torch.isTypeOf(crit, 'nn.Criterion') then
      check.argerror('add', 1, ('nn.Criterion expected, got %s'):format(torch.typename(crit) or type(crit)), 2)
    end
    self.criterions[#self.criterions + 1] = crit
    self.weights[#self.weights + 1] = weight == nil and 1 or check.arg('add', 2, weight, 'number', 2)
    return self
  end
  -- (input, target) of criterion i
  function cls:updateOutput(input, target)
    self.output = 0
    for i, c in ipairs(self.criterions) do
      local x, t = self:_args(input, target, i)
      self.output = self.output + self.weights[i] * c:forward(x, t)
    end
    return self.output
  end
  function cls.__call(self, input, target)
    local total
    for i, c in ipairs(self.criterions) do
      local x, t = self:_args(input, target, i)
      local l = torch.mul(c(x, t), self.weights[i])
      total = total and total + l or l
    end
    self.output = total and total:item() or 0
    return total or torch.DoubleTensor({ 0 }):squeeze()
  end
  function cls:type(typename)
    for _, c in ipairs(self.criterions) do c:type(typename) end
    return self
  end
  return cls
end

local function scaled(g, w)
  if w == 1 then return g end
  if torch.isTensor(g) then return torch.noGrad(function() return torch.mul(g, w) end) end
  local r = {}
  for k, v in pairs(g) do r[k] = scaled(v, w) end
  return r
end

local MultiCriterion = composite('MultiCriterion')
function MultiCriterion:__init()
  Criterion.__init(self)
  self.criterions, self.weights = {}, {}
end
function MultiCriterion:_args(input, target) return input, target end
function MultiCriterion:updateGradInput(input, target)
  input_tensor(self, input)
  local acc
  for i, c in ipairs(self.criterions) do
    local g = scaled(c:backward(input, target), self.weights[i])
    acc = acc and torch.noGrad(function() return acc + g end) or g
  end
  self.gradInput = acc or nn._zerosLike(input)
  return self.gradInput
end

local ParallelCriterion = composite('ParallelCriterion')
function ParallelCriterion:__init(repeatTarget)
  Criterion.__init(self)
  self.criterions, self.weights = {}, {}
  self.repeatTarget = repeatTarget or false
end
function ParallelCriterion:_args(input, target, i)
  if type(input) ~= 'table' or torch.isTensor(input) or (not self.repeatTarget and
     (type(target) ~= 'table' or torch.isTensor(target))) then
    error(('nn.ParallelCriterion: expected a table of inputs and %s, got %s and %s'):format(
          self.repeatTarget and 'one target' or 'a table of targets',
          torch.typename(input) or type(input), torch.typename(target) or type(target)), 4)
  end
  return input[i], self.repeatTarget and target or target[i]
end
function ParallelCriterion:updateGradInput(input, target)
  self.gradInput = {}
  for i, c in ipairs(self.criterions) do
    local x, t = self:_args(input, target, i)
    self.gradInput[i] = scaled(c:backward(x, t), self.weights[i])
  end
  return self.gradInput
end

-- PyTorch's names of the criterions in criterions.lua
nn.MSELoss, nn.BCELoss = nn.MSECriterion, nn.BCECriterion
nn.NLLLoss, nn.CrossEntropyLoss = nn.ClassNLLCriterion, nn.CrossEntropyCriterion

return nn
