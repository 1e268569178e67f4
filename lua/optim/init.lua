-- optim — optimisers with Torch7's functional API and PyTorch's object API. The update rules
-- run in C over whole tensors (torch._optim, core/optim.c), with PyTorch's formulas.
--
--   Torch7:  x, fs = optim.sgd(feval, x, config, state)   -- feval(x) -> loss, dloss/dx
--   PyTorch: local opt = optim.SGD(params, {lr = 0.1, momentum = 0.9})
--            opt:zeroGrad(); criterion(model(x), y):backward(); opt:step()
-- Defaults follow each API's origin: the functional optimisers keep Torch7's (optim.sgd's
-- learningRate is 1e-3), the objects PyTorch's (optim.SGD has no default lr: it must be
-- given; Adam 1e-3, RMSprop and Adagrad 1e-2). Options are checked by torch.check.options:
-- an unknown name is an error that names the accepted ones (lr for learningRate and back).
local torch = require 'torch'
local check = require 'torch.check'

local optim = {}
local K = torch._optim

-- state buffers live where the parameter does (a device parameter gets device buffers)
local function zeros_like(t)
  return torch.noGrad(function() return torch.Tensor():typeAs(t):resizeAs(t):zero() end)
end

-- ---- Torch7 functional API --------------------------------------------------------------
-- config doubles as the state table when no state is given (Torch7), so the keys each
-- function stores there are accepted beside its options (check.IGNORED).
local function config_of(fname, config, defaults)
  return check.options(fname, config, defaults, 3)
end
local N, S = check.NONE, check.IGNORED

-- The arguments every functional optimiser takes: (feval, x [, config [, state]]).
local function check_functional(fname, opfunc, x, config, state)
  check.arg(fname, 1, opfunc, 'callable', 2)
  check.arg(fname, 2, x, 'tensor', 2)
  check.arg(fname, 3, config, 'table?', 2)
  check.arg(fname, 4, state, 'table?', 2)
end

-- feval(x) must return the loss and the gradient, a tensor shaped like x.
local function evaluate(fname, opfunc, x)
  local fx, dfdx = opfunc(x)
  if not torch.isTensor(dfdx) then
    error(('optim.%s: feval(x) must return the loss and the gradient (a tensor), got %s as the gradient')
          :format(fname, torch.type(dfdx)), 3)
  end
  return fx, dfdx
end

-- optim.sgd: learningRate (1e-3), learningRateDecay (0), weightDecay (0), momentum (0),
-- dampening (= momentum, as Torch7), nesterov (false). state holds the momentum buffer.
local sgd_options = { learningRate = 1e-3, learningRateDecay = 0, weightDecay = 0, momentum = 0,
                      dampening = N, nesterov = false, evalCounter = S, dfdx = S }
function optim.sgd(opfunc, x, config, state)
  check_functional('sgd', opfunc, x, config, state)
  config = config or {}
  state = state or config
  local c = config_of('optim.sgd', config, sgd_options)
  local lr, lrd, wd, mom = c.learningRate, c.learningRateDecay, c.weightDecay, c.momentum
  local damp = c.dampening or mom
  local nesterov = c.nesterov
  if nesterov and (mom <= 0 or damp ~= 0) then
    error('optim.sgd: nesterov needs momentum > 0 and dampening = 0', 2)
  end
  state.evalCounter = state.evalCounter or 0
  local fx, dfdx = evaluate('sgd', opfunc, x)
  local clr = lr / (1 + state.evalCounter * lrd)
  local first = false
  if mom ~= 0 and not state.dfdx then
    state.dfdx = zeros_like(dfdx)
    first = true
  end
  K.sgd(x, dfdx, mom ~= 0 and state.dfdx or nil, clr, mom, damp, wd, nesterov, first)
  state.evalCounter = state.evalCounter + 1
  return x, { fx }
end

-- Adam's and AdamW's step once feval has run: the moments in state, then the kernel
local function adam_moments(kernel, x, dfdx, c, state)
  state.t = (state.t or 0) + 1
  state.m = state.m or zeros_like(dfdx)
  state.v = state.v or zeros_like(dfdx)
  kernel(x, dfdx, state.m, state.v, c.learningRate, c.beta1, c.beta2, c.epsilon, c.weightDecay, state.t)
end

-- optim.adam: learningRate (1e-3), beta1 (0.9), beta2 (0.999), epsilon (1e-8), weightDecay (0)
local adam_options = { learningRate = 1e-3, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8,
                       weightDecay = 0, t = S, m = S, v = S }
function optim.adam(opfunc, x, config, state)
  check_functional('adam', opfunc, x, config, state)
  config = config or {}
  state = state or config
  local c = config_of('optim.adam', config, adam_options)
  local fx, dfdx = evaluate('adam', opfunc, x)
  adam_moments(K.adam, x, dfdx, c, state)
  return x, { fx }
end

-- optim.adamw: learningRate (1e-3), beta1 (0.9), beta2 (0.999), epsilon (1e-8), weightDecay
-- (1e-2, PyTorch's AdamW default), decoupled from the gradient as AdamW's
local adamw_options = { learningRate = 1e-3, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8,
                        weightDecay = 1e-2, t = S, m = S, v = S }
function optim.adamw(opfunc, x, config, state)
  check_functional('adamw', opfunc, x, config, state)
  config = config or {}
  state = state or config
  local c = config_of('optim.adamw', config, adamw_options)
  local fx, dfdx = evaluate('adamw', opfunc, x)
  adam_moments(K.adamw, x, dfdx, c, state)
  return x, { fx }
end

-- optim.rmsprop: learningRate (1e-2), alpha (0.99), epsilon (1e-8), weightDecay (0)
local rmsprop_options = { learningRate = 1e-2, alpha = 0.99, epsilon = 1e-8, weightDecay = 0, m = S }
function optim.rmsprop(opfunc, x, config, state)
  check_functional('rmsprop', opfunc, x, config, state)
  config = config or {}
  state = state or config
  local c = config_of('optim.rmsprop', config, rmsprop_options)
  local fx, dfdx = evaluate('rmsprop', opfunc, x)
  state.m = state.m or zeros_like(dfdx)
  K.rmsprop(x, dfdx, state.m, c.learningRate, c.alpha, c.epsilon, c.weightDecay)
  return x, { fx }
end

-- optim.adagrad: learningRate (1e-3), learningRateDecay (0), weightDecay (0), epsilon (1e-10)
local adagrad_options = { learningRate = 1e-3, learningRateDecay = 0, weightDecay = 0,
                          epsilon = 1e-10, evalCounter = S, paramVariance = S }
function optim.adagrad(opfunc, x, config, state)
  check_functional('adagrad', opfunc, x, config, state)
  config = config or {}
  state = state or config
  local c = config_of('optim.adagrad', config, adagrad_options)
  local fx, dfdx = evaluate('adagrad', opfunc, x)
  state.evalCounter = (state.evalCounter or 0) + 1
  state.paramVariance = state.paramVariance or zeros_like(dfdx)
  K.adagrad(x, dfdx, state.paramVariance, c.learningRate, c.learningRateDecay, c.weightDecay,
            c.epsilon, state.evalCounter)
  return x, { fx }
end

-- ---- PyTorch object API -----------------------------------------------------------------
-- opt.paramGroups: PyTorch's param_groups, each {params = {tensors}, lr = ..., ...} with the
-- optimiser's options filled in from its defaults; opt.paramGroups[i].lr (any option) may be
-- changed between steps (schedulers do). opt.params lists every parameter, opt.defaults the
-- options given to the constructor, opt.state[i] the buffers of opt.params[i] (by position, so
-- a checkpoint of opt.state loads into a new optimiser over the same model).
local Optimizer = { __typename = 'optim.Optimizer' }
Optimizer.__index = Optimizer
optim.Optimizer = Optimizer

local function tensor_list(fname, list, what, level)
  if torch.isTensor(list) then list = { list } end
  if type(list) ~= 'table' or #list == 0 then
    error(('%s: expected a list of parameter tensors (model:parameters())%s'):format(fname, what), level + 1)
  end
  for i, p in ipairs(list) do
    if not torch.isTensor(p) then
      error(('%s: parameter %d%s is a %s, not a tensor'):format(fname, i, what, torch.typename(p) or type(p)),
            level + 1)
    end
  end
  return list
end

local function is_group_list(params)
  return type(params) == 'table' and not torch.isTensor(params) and type(params[1]) == 'table'
         and not torch.isTensor(params[1])
end

-- A group's hyper-parameters in range, checked where they are given (the constructor,
-- addParamGroup) as PyTorch does, so a bad one names the user's call rather than failing
-- inside the first step's kernel.
local NONNEGATIVE = { 'lr', 'momentum', 'dampening', 'weightDecay', 'eps', 'alpha', 'lrDecay' }
local function check_ranges(fname, g, level)
  for _, k in ipairs(NONNEGATIVE) do
    local v = g[k]
    if type(v) == 'number' and not (v >= 0) then   -- NaN fails too
      error(('%s: invalid %s %s (must be >= 0)'):format(fname, k, tostring(v)), level + 1)
    end
  end
  local b = g.betas
  if b ~= nil then
    for i = 1, 2 do
      local v = type(b) == 'table' and b[i]
      if type(v) ~= 'number' or not (v >= 0 and v < 1) then
        error(('%s: invalid betas[%d] %s (two numbers in [0, 1))'):format(fname, i, tostring(v)),
              level + 1)
      end
    end
  end
end

local function new_optimizer(kind, params, config, defaults)
  local fname = 'optim.' .. kind
  -- optim.SGD(model:parameters()) passes the gradients (parameters()' second value) as config
  if type(config) == 'table' and next(config) ~= nil and torch.isTensor(config[1]) then
    local only_tensors = true
    for k, v in pairs(config) do
      if math.type(k) ~= 'integer' or not torch.isTensor(v) then only_tensors = false break end
    end
    if only_tensors then config = nil end
  end
  -- a group may leave out what the constructor's options give (lr, when it is required)
  local group_defaults = { params = check.REQUIRED }
  for k, d in pairs(defaults) do group_defaults[k] = d end
  local self = setmetatable({ kind = kind, paramGroups = {}, params = {}, state = {},
                              _groupDefaults = group_defaults }, Optimizer)
  if is_group_list(params) then
    local given = check.options(fname, config, (function()
      local loose = {}
      for k, d in pairs(defaults) do loose[k] = d == check.REQUIRED and check.NONE or d end
      return loose
    end)(), 3)
    self.defaults = given
    for gi, g in ipairs(params) do
      if type(g) ~= 'table' or torch.isTensor(g) then
        error(('%s: param group %d is a %s, not a table {params = ...}'):format(fname, gi, type(g)), 3)
      end
      local merged = {}
      for k, v in pairs(given) do merged[k] = v end
      for k, v in pairs(g) do merged[k] = v end
      local group = check.options(('%s: param group %d'):format(fname, gi), merged, group_defaults, 3)
      group.params = tensor_list(fname, group.params, (' of param group %d'):format(gi), 3)
      check_ranges(('%s: param group %d'):format(fname, gi), group, 3)
      self.paramGroups[gi] = group
    end
  else
    local given = check.options(fname, config, defaults, 3)
    self.defaults = given
    local group = { params = tensor_list(fname, params, '', 3) }
    for k, v in pairs(given) do group[k] = v end
    check_ranges(fname, group, 3)
    self.paramGroups[1] = group
  end
  local seen = {}
  for _, g in ipairs(self.paramGroups) do
    for _, p in ipairs(g.params) do
      if seen[p] then
        error(('%s: a parameter appears in more than one param group'):format(fname), 3)
      end
      seen[p] = true
      self.params[#self.params + 1] = p
    end
  end
  return self
end

-- Zeroes the gradients in place (they may be a module's gradWeight, or a flat gradient).
function Optimizer:zeroGrad()
  for _, p in ipairs(self.params) do
    local g = p.grad
    if g then g:zero() end
  end
end

local updates = {}
function updates.SGD(p, g, s, c)
  if c.nesterov and (c.momentum <= 0 or c.dampening ~= 0) then
    error('optim.SGD: nesterov needs momentum > 0 and dampening = 0', 3)
  end
  local first = false
  if c.momentum ~= 0 and not s.buf then s.buf, first = zeros_like(p), true end
  K.sgd(p, g, c.momentum ~= 0 and s.buf or nil, c.lr, c.momentum, c.dampening, c.weightDecay,
        c.nesterov, first)
end
function updates.Adam(p, g, s, c)
  s.m, s.v = s.m or zeros_like(p), s.v or zeros_like(p)
  K.adam(p, g, s.m, s.v, c.lr, c.betas[1], c.betas[2], c.eps, c.weightDecay, s.step)
end
function updates.AdamW(p, g, s, c)
  s.m, s.v = s.m or zeros_like(p), s.v or zeros_like(p)
  K.adamw(p, g, s.m, s.v, c.lr, c.betas[1], c.betas[2], c.eps, c.weightDecay, s.step)
end
function updates.RMSprop(p, g, s, c)
  s.m = s.m or zeros_like(p)
  K.rmsprop(p, g, s.m, c.lr, c.alpha, c.eps, c.weightDecay)
end
function updates.Adagrad(p, g, s, c)
  s.sum = s.sum or zeros_like(p)
  K.adagrad(p, g, s.sum, c.lr, c.lrDecay, c.weightDecay, c.eps, s.step)
end

-- One update of every parameter that has a gradient, each with its group's current options.
function Optimizer:step(closure)
  check.arg('step', 1, closure, 'callable?')
  local loss
  if closure then loss = closure() end
  local update = updates[self.kind]
  local k = 0   -- state is by position in opt.params (all groups in order), so it saves and loads
  for _, group in ipairs(self.paramGroups) do
    for _, p in ipairs(group.params) do
      k = k + 1
      local g = p.grad
      if g then
        local s = self.state[k]
        if not s then
          s = { step = 0 }
          self.state[k] = s
        end
        s.step = s.step + 1
        update(p, g, s, group)
      end
    end
  end
  return loss
end

-- opt:addParamGroup{params = ..., lr = ...}: a new group, the constructor's options filling in
function Optimizer:addParamGroup(group)
  check.arg('addParamGroup', 1, group, 'table')
  local fname = 'optim.' .. self.kind
  local merged = {}
  for k, v in pairs(self.defaults) do merged[k] = v end
  for k, v in pairs(group) do merged[k] = v end
  local g = check.options(fname .. ' (addParamGroup)', merged, self._groupDefaults, 2)
  g.params = tensor_list(fname, g.params, ' of the new param group', 2)
  check_ranges(fname .. ' (addParamGroup)', g, 2)
  for _, p in ipairs(g.params) do
    for _, q in ipairs(self.params) do
      if q == p then error(fname .. ': a parameter appears in more than one param group', 2) end
    end
  end
  for _, p in ipairs(g.params) do self.params[#self.params + 1] = p end
  self.paramGroups[#self.paramGroups + 1] = g
  return self
end

function Optimizer:__tostring()
  return ('optim.%s (%d param group%s, %d parameters)'):format(self.kind, #self.paramGroups,
    #self.paramGroups == 1 and '' or 's', #self.params)
end

function optim.SGD(params, config)
  local o = new_optimizer('SGD', params, config,
    { lr = check.REQUIRED, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false })
  for _, g in ipairs(o.paramGroups) do
    if g.lr == nil then error("optim.SGD: option 'lr' is required (in every param group)", 2) end
    if g.nesterov and (g.momentum <= 0 or g.dampening ~= 0) then
      error('optim.SGD: nesterov needs momentum > 0 and dampening = 0', 2)
    end
  end
  return o
end

function optim.Adam(params, config)
  local o = new_optimizer('Adam', params, config,
    { lr = 1e-3, betas = { 0.9, 0.999 }, eps = 1e-8, weightDecay = 0 })
  return o   -- not a tail call: errors count the constructor's frame
end

-- optim.AdamW(params, {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weightDecay = 1e-2}):
-- Adam with decoupled weight decay (PyTorch's AdamW: param *= 1 - lr * weightDecay, then
-- Adam's step without decay). amsgrad is not built (nor in Adam).
function optim.AdamW(params, config)
  local o = new_optimizer('AdamW', params, config,
    { lr = 1e-3, betas = { 0.9, 0.999 }, eps = 1e-8, weightDecay = 1e-2,
      amsgrad = check.unsupported(false) })
  return o   -- not a tail call: errors count the constructor's frame
end

function optim.RMSprop(params, config)
  local o = new_optimizer('RMSprop', params, config, { lr = 1e-2, alpha = 0.99, eps = 1e-8, weightDecay = 0 })
  return o   -- not a tail call: errors count the constructor's frame
end

function optim.Adagrad(params, config)
  local o = new_optimizer('Adagrad', params, config, { lr = 1e-2, lrDecay = 0, weightDecay = 0, eps = 1e-10 })
  return o   -- not a tail call: errors count the constructor's frame
end

-- optim.clipGradNorm(params, maxNorm): scales the gradients of params in place so that their
-- total 2-norm is at most maxNorm; returns the norm before clipping.
function optim.clipGradNorm(params, maxNorm)
  check.arg('clipGradNorm', 1, params, 'tensor|table')
  check.arg('clipGradNorm', 2, maxNorm, 'number')
  if torch.isTensor(params) then params = { params } end
  local grads = {}
  for i, p in ipairs(params) do
    if not torch.isTensor(p) then
      check.argerror('clipGradNorm', 1, ('parameter %d is a %s, not a tensor'):format(i, torch.type(p)))
    end
    local g = p.grad
    if g then grads[#grads + 1] = g end
  end
  return K.clipGradNorm(grads, maxNorm)
end
torch.clipGradNorm = optim.clipGradNorm

-- optim.clipGradValue(params, clipValue): clamps every gradient of params into
-- [-clipValue, clipValue] in place (PyTorch's clip_grad_value_); parameters without a
-- gradient are skipped.
function optim.clipGradValue(params, clipValue)
  if not torch.isTensor(params) then check.arg('clipGradValue', 1, params, 'table') end
  check.arg('clipGradValue', 2, clipValue, 'number')
  if not (clipValue >= 0) then
    check.argerror('clipGradValue', 2, ('clipValue must be >= 0, got %s'):format(tostring(clipValue)))
  end
  if torch.isTensor(params) then params = { params } end
  for i, p in ipairs(params) do
    if not torch.isTensor(p) then
      check.argerror('clipGradValue', 1, ('parameter %d is a %s, not a tensor'):format(i, type(p)))
    elseif not pcall(p.dim, p) then
      check.argerror('clipGradValue', 1, ('parameter %d: tensor was freed'):format(i))
    end
    local g = p.grad
    if g then torch.noGrad(function() g:clamp(-clipValue, clipValue) end) end
  end
end
torch.clipGradValue = optim.clipGradValue

require('optim.schedulers')(optim)

rawset(_G, 'optim', optim)  -- the global too, as Torch7's packages (see lua/torch/init.lua)
return optim
