-- optim's learning-rate schedulers, PyTorch's (torch.optim.lr_scheduler, 1.13) with their
-- arguments in camelCase, checked by torch.check.options:
--
--   local sched = optim.StepLR(opt, {stepSize = 10, gamma = 0.1})
--   for epoch = 1, n do train(); sched:step() end            -- sched:getLastLr() -> {lr, ...}
--   local plateau = optim.ReduceLROnPlateau(opt, {patience = 2}); plateau:step(valLoss)
--
-- The first argument is an object optimiser (every param group's lr is set) or a Torch7
-- config table for the functional optimisers (its learningRate is set). Each scheduler
-- computes the next lr from the current one with PyTorch's own (chainable) formula, so the
-- sequence is PyTorch's to the last bit; like PyTorch, constructing one takes step 0 (the
-- lr becomes the schedule's first value: OneCycleLR's maxLr / divFactor).
local check = require 'torch.check'

return function(optim)
  -- ---- the lr holders: param groups, or a config table as one group --------------------
  local function groups_of(fname, target)
    if getmetatable(target) == optim.Optimizer then return target.paramGroups, 'lr', target end
    if type(target) ~= 'table' then
      check.argerror(fname, 1, ('an optimiser or a config table expected, got %s'):format(type(target)), 3)
    end
    if type(target.learningRate) ~= 'number' then
      error(('%s: the config table has no learningRate (set it: the functional optimisers\' '
             .. 'defaults differ)'):format(fname), 4)
    end
    return { target }, 'learningRate', nil
  end

  local Scheduler = { __typename = 'optim.LRScheduler' }
  Scheduler.__index = Scheduler
  optim.LRScheduler = Scheduler

  local function new(fname, target, opts, defaults, class)
    local self = setmetatable({}, class)
    self.name = fname
    self.options = check.options(fname, opts, defaults, 3)
    self.groups, self.key, self.optimizer = groups_of(fname, target)
    self.baseLrs = {}
    for i, g in ipairs(self.groups) do self.baseLrs[i] = g[self.key] end
    self.lastEpoch = -1
    return self
  end

  -- PyTorch's step(): lastEpoch + 1, then each group's lr from _getLr
  function Scheduler:step()
    self.lastEpoch = self.lastEpoch + 1
    local lrs = self:_getLr()
    for i, g in ipairs(self.groups) do g[self.key] = lrs[i] end
    self:_record()
  end

  function Scheduler:_record()
    self.lastLr = {}
    for i, g in ipairs(self.groups) do self.lastLr[i] = g[self.key] end
  end

  -- the lrs the last step set, one per param group
  function Scheduler:getLastLr()
    local out = {}
    for i, v in ipairs(self.lastLr) do out[i] = v end
    return out
  end

  function Scheduler:__tostring()
    return ('%s (epoch %d, lr %s)'):format(self.name, self.lastEpoch,
      table.concat((function()
        local t = {}
        for i, v in ipairs(self.lastLr or {}) do t[i] = ('%g'):format(v) end
        return t
      end)(), ', '))
  end

  local function class(name)
    local c = setmetatable({ __typename = 'optim.' .. name }, { __index = Scheduler })
    c.__index = c
    c.__tostring = Scheduler.__tostring
    return c
  end

  local function current(self)
    local t = {}
    for i, g in ipairs(self.groups) do t[i] = g[self.key] end
    return t
  end

  -- value checks called by the constructors (level 3: the constructor's caller; per_group
  -- passes 4)
  local function positive_int(fname, what, v, level)
    local i = type(v) == 'number' and math.tointeger(v)
    if not i or i < 1 then
      error(('%s: %s must be a positive integer, got %s'):format(fname, what, tostring(v)), level or 3)
    end
    return i
  end

  local function number(fname, what, v, level)
    if type(v) ~= 'number' then
      error(('%s: %s must be a number, got %s'):format(fname, what, type(v)), level or 3)
    end
    return v
  end

  -- ---- StepLR: lr * gamma every stepSize epochs ----------------------------------------
  local StepLR = class('StepLR')
  function optim.StepLR(target, opts)
    local self = new('optim.StepLR', target, opts, { stepSize = check.REQUIRED, gamma = 0.1 }, StepLR)
    self.stepSize = positive_int(self.name, 'stepSize', self.options.stepSize)
    self.gamma = number(self.name, 'gamma', self.options.gamma)
    self:step()
    return self
  end
  function StepLR:_getLr()
    local lrs = current(self)
    if self.lastEpoch == 0 or self.lastEpoch % self.stepSize ~= 0 then return lrs end
    for i, lr in ipairs(lrs) do lrs[i] = lr * self.gamma end
    return lrs
  end

  -- ---- MultiStepLR: lr * gamma at each milestone (repeated milestones count) -----------
  local MultiStepLR = class('MultiStepLR')
  function optim.MultiStepLR(target, opts)
    local self = new('optim.MultiStepLR', target, opts, { milestones = check.REQUIRED, gamma = 0.1 },
                     MultiStepLR)
    local ms = self.options.milestones
    if type(ms) ~= 'table' then
      error(('%s: milestones must be a list of epochs, got %s'):format(self.name, type(ms)), 2)
    end
    self.milestones = {}
    for _, m in ipairs(ms) do
      m = positive_int(self.name, 'a milestone', m)
      self.milestones[m] = (self.milestones[m] or 0) + 1
    end
    self.gamma = number(self.name, 'gamma', self.options.gamma)
    self:step()
    return self
  end
  function MultiStepLR:_getLr()
    local lrs = current(self)
    local count = self.milestones[self.lastEpoch]
    if not count then return lrs end
    for i, lr in ipairs(lrs) do lrs[i] = lr * self.gamma ^ count end
    return lrs
  end

  -- ---- ExponentialLR: lr * gamma every epoch -------------------------------------------
  local ExponentialLR = class('ExponentialLR')
  function optim.ExponentialLR(target, opts)
    local self = new('optim.ExponentialLR', target, opts, { gamma = check.REQUIRED }, ExponentialLR)
    self.gamma = number(self.name, 'gamma', self.options.gamma)
    self:step()
    return self
  end
  function ExponentialLR:_getLr()
    local lrs = current(self)
    if self.lastEpoch == 0 then return lrs end
    for i, lr in ipairs(lrs) do lrs[i] = lr * self.gamma end
    return lrs
  end

  -- ---- CosineAnnealingLR: from the base lr down to etaMin over TMax epochs (and back) ---
  local CosineAnnealingLR = class('CosineAnnealingLR')
  function optim.CosineAnnealingLR(target, opts)
    local self = new('optim.CosineAnnealingLR', target, opts, { TMax = check.REQUIRED, etaMin = 0 },
                     CosineAnnealingLR)
    self.TMax = positive_int(self.name, 'TMax', self.options.TMax)
    self.etaMin = number(self.name, 'etaMin', self.options.etaMin)
    self:step()
    return self
  end
  function CosineAnnealingLR:_getLr()
    local lrs, e, T, eta = current(self), self.lastEpoch, self.TMax, self.etaMin
    if e == 0 then return lrs end
    for i, lr in ipairs(lrs) do
      if (e - 1 - T) % (2 * T) == 0 then
        lrs[i] = lr + (self.baseLrs[i] - eta) * (1 - math.cos(math.pi / T)) / 2
      else
        lrs[i] = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
                 * (lr - eta) + eta
      end
    end
    return lrs
  end

  -- ---- LambdaLR: baseLr * lrLambda(epoch) (one function, or one per param group) -------
  local LambdaLR = class('LambdaLR')
  function optim.LambdaLR(target, opts)
    local self = new('optim.LambdaLR', target, opts, { lrLambda = check.REQUIRED }, LambdaLR)
    local f = self.options.lrLambda
    self.lambdas = {}
    for i = 1, #self.groups do
      local fi = type(f) == 'table' and getmetatable(f) == nil and f[i] or f
      local mt = getmetatable(fi)
      if type(fi) ~= 'function' and not (type(mt) == 'table' and mt.__call) then
        error(('%s: lrLambda must be a function (or a list of one per param group), got %s')
              :format(self.name, type(fi)), 2)
      end
      self.lambdas[i] = fi
    end
    self:step()
    return self
  end
  function LambdaLR:_getLr()
    local lrs = {}
    for i, base in ipairs(self.baseLrs) do
      local v = self.lambdas[i](self.lastEpoch)
      if type(v) ~= 'number' then
        error(('%s: lrLambda(%d) returned %s, not a number'):format(self.name, self.lastEpoch, type(v)), 3)
      end
      lrs[i] = base * v
    end
    return lrs
  end

  -- ---- OneCycleLR: warm up to maxLr, then anneal to maxLr / divFactor / finalDivFactor --
  -- PyTorch's one-cycle policy, its momentum (or Adam's beta1) cycled the other way when
  -- cycleMomentum (the default; an optimiser without momentum then needs cycleMomentum = false).
  local OneCycleLR = class('OneCycleLR')
  local one_cycle_options = {
    maxLr = check.REQUIRED, totalSteps = check.NONE, epochs = check.NONE, stepsPerEpoch = check.NONE,
    pctStart = 0.3, annealStrategy = 'cos', cycleMomentum = true, baseMomentum = 0.85,
    maxMomentum = 0.95, divFactor = 25, finalDivFactor = 1e4, threePhase = false,
  }
  local function per_group(self, what, v)
    local out = {}
    for i = 1, #self.groups do
      local x = type(v) == 'table' and v[i] or v
      out[i] = number(self.name, what, x, 4)
    end
    return out
  end
  function optim.OneCycleLR(target, opts)
    local self = new('optim.OneCycleLR', target, opts, one_cycle_options, OneCycleLR)
    local o, name = self.options, self.name
    if o.totalSteps ~= nil then
      self.totalSteps = positive_int(name, 'totalSteps', o.totalSteps)
    elseif o.epochs ~= nil and o.stepsPerEpoch ~= nil then
      self.totalSteps = positive_int(name, 'epochs', o.epochs) * positive_int(name, 'stepsPerEpoch', o.stepsPerEpoch)
    else
      error(name .. ': give totalSteps, or epochs and stepsPerEpoch', 2)
    end
    local pct = number(name, 'pctStart', o.pctStart)
    if not (pct >= 0 and pct <= 1) then
      error(('%s: pctStart must be in [0, 1], got %s'):format(name, tostring(pct)), 2)
    end
    local T = self.totalSteps
    if o.threePhase then
      self.phases = {
        { endStep = pct * T - 1, startLr = 'initialLr', endLr = 'maxLr', startM = 'maxM', endM = 'baseM' },
        { endStep = 2 * pct * T - 2, startLr = 'maxLr', endLr = 'initialLr', startM = 'baseM', endM = 'maxM' },
        { endStep = T - 1, startLr = 'initialLr', endLr = 'minLr', startM = 'maxM', endM = 'maxM' },
      }
    else
      self.phases = {
        { endStep = pct * T - 1, startLr = 'initialLr', endLr = 'maxLr', startM = 'maxM', endM = 'baseM' },
        { endStep = T - 1, startLr = 'maxLr', endLr = 'minLr', startM = 'baseM', endM = 'maxM' },
      }
    end
    if o.annealStrategy == 'cos' then
      self.anneal = function(a, b, p) return b + (a - b) / 2.0 * (math.cos(math.pi * p) + 1) end
    elseif o.annealStrategy == 'linear' then
      self.anneal = function(a, b, p) return (b - a) * p + a end
    else
      error(("%s: annealStrategy must be 'cos' or 'linear', got %s"):format(name, tostring(o.annealStrategy)), 2)
    end
    local maxLrs = per_group(self, 'maxLr', o.maxLr)
    local div, final = number(name, 'divFactor', o.divFactor), number(name, 'finalDivFactor', o.finalDivFactor)
    self.values = {}
    for i in ipairs(self.groups) do
      local initial = maxLrs[i] / div
      self.values[i] = { initialLr = initial, maxLr = maxLrs[i], minLr = initial / final }
      self.baseLrs[i] = initial
    end
    self.cycleMomentum = o.cycleMomentum and true or false
    if self.cycleMomentum then
      local g1 = self.groups[1]
      if self.optimizer then
        self.useBeta1 = g1.betas ~= nil
        if not self.useBeta1 and g1.momentum == nil then
          error(('%s: optim.%s has no momentum to cycle; pass cycleMomentum = false')
                :format(name, self.optimizer.kind), 2)
        end
      else
        self.useBeta1 = g1.beta1 ~= nil and g1.momentum == nil
        if not self.useBeta1 and g1.momentum == nil then
          error(name .. ': the config table has no momentum (nor beta1) to cycle; set one or pass '
                .. 'cycleMomentum = false', 2)
        end
      end
      local maxM, baseM = per_group(self, 'maxMomentum', o.maxMomentum), per_group(self, 'baseMomentum', o.baseMomentum)
      for i, g in ipairs(self.groups) do
        self.values[i].maxM, self.values[i].baseM = maxM[i], baseM[i]
        self:_setMomentum(g, maxM[i])
      end
    end
    self:step()
    return self
  end
  function OneCycleLR:_setMomentum(g, m)
    if not self.useBeta1 then g.momentum = m
    elseif self.optimizer then g.betas = { m, g.betas[2] }
    else g.beta1 = m end
  end
  function OneCycleLR:_getLr()
    local step = self.lastEpoch
    if step > self.totalSteps then
      error(('%s: stepped %d times, more than totalSteps = %d'):format(self.name, step, self.totalSteps), 3)
    end
    local lrs = {}
    for i, g in ipairs(self.groups) do
      local v, start = self.values[i], 0
      for k, ph in ipairs(self.phases) do
        if step <= ph.endStep or k == #self.phases then
          local pct = (step - start) / (ph.endStep - start)
          lrs[i] = self.anneal(v[ph.startLr], v[ph.endLr], pct)
          if self.cycleMomentum then self:_setMomentum(g, self.anneal(v[ph.startM], v[ph.endM], pct)) end
          break
        end
        start = ph.endStep
      end
    end
    return lrs
  end

  -- ---- ReduceLROnPlateau: lr * factor after patience epochs without improvement --------
  local ReduceLROnPlateau = class('ReduceLROnPlateau')
  local plateau_options = { mode = 'min', factor = 0.1, patience = 10, threshold = 1e-4,
                            thresholdMode = 'rel', cooldown = 0, minLr = 0, eps = 1e-8 }
  function optim.ReduceLROnPlateau(target, opts)
    local self = new('optim.ReduceLROnPlateau', target, opts, plateau_options, ReduceLROnPlateau)
    local o, name = self.options, self.name
    if o.mode ~= 'min' and o.mode ~= 'max' then
      error(("%s: mode must be 'min' or 'max', got %s"):format(name, tostring(o.mode)), 2)
    end
    if o.thresholdMode ~= 'rel' and o.thresholdMode ~= 'abs' then
      error(("%s: thresholdMode must be 'rel' or 'abs', got %s"):format(name, tostring(o.thresholdMode)), 2)
    end
    if not (number(name, 'factor', o.factor) < 1) then error(name .. ': factor must be < 1', 2) end
    for _, k in ipairs({ 'patience', 'cooldown' }) do
      if math.type(o[k]) ~= 'integer' or o[k] < 0 then
        error(('%s: %s must be a non-negative integer, got %s'):format(name, k, tostring(o[k])), 2)
      end
    end
    number(name, 'threshold', o.threshold)
    number(name, 'eps', o.eps)
    for k, v in pairs(o) do self[k] = v end
    self.minLrs = per_group(self, 'minLr', o.minLr)
    self.lastEpoch = 0
    self.best = o.mode == 'min' and math.huge or -math.huge
    self.cooldownCounter, self.numBadEpochs = 0, 0
    self:_record()
    return self
  end
  function ReduceLROnPlateau:_isBetter(a)
    local best, th = self.best, self.threshold
    if self.mode == 'min' then
      return self.thresholdMode == 'rel' and a < best * (1 - th) or self.thresholdMode == 'abs' and a < best - th
    end
    return self.thresholdMode == 'rel' and a > best * (th + 1) or self.thresholdMode == 'abs' and a > best + th
  end
  -- sched:step(metric): the metric of this epoch (a number, or a one-element tensor)
  function ReduceLROnPlateau:step(metric)
    if type(metric) ~= 'number' then
      local ok, v = pcall(function() return metric:item() end)
      if not ok or type(v) ~= 'number' then
        check.argerror('step', 1, ('a number expected (the metric), got %s'):format(type(metric)), 1)
      end
      metric = v
    end
    self.lastEpoch = self.lastEpoch + 1
    if self:_isBetter(metric) then
      self.best, self.numBadEpochs = metric, 0
    else
      self.numBadEpochs = self.numBadEpochs + 1
    end
    if self.cooldownCounter > 0 then
      self.cooldownCounter = self.cooldownCounter - 1
      self.numBadEpochs = 0
    end
    if self.numBadEpochs > self.patience then
      for i, g in ipairs(self.groups) do
        local old = g[self.key]
        local new_lr = math.max(old * self.factor, self.minLrs[i])
        if old - new_lr > self.eps then g[self.key] = new_lr end
      end
      self.cooldownCounter, self.numBadEpochs = self.cooldown, 0
    end
    self:_record()
  end
end
