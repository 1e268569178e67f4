-- optim — optimisers with Torch7's functional API and PyTorch's object API. The update rules
-- run in C over whole tensors (torch._optim, core/optim.c), with PyTorch's formulas.
--
--   Torch7:  x, fs = optim.sgd(feval, x, config, state)   -- feval(x) -> loss, dloss/dx
--   PyTorch: local opt = optim.SGD(params, {lr = 0.1, momentum = 0.9})
--            opt:zeroGrad(); criterion(model(x), y):backward(); opt:step()
local torch = require 'torch'
local check = require 'torch.check'

local optim = {}
local K = torch._optim

-- state buffers live where the parameter does (a device parameter gets device buffers)
local function zeros_like(t)
  return torch.noGrad(function() return torch.Tensor():typeAs(t):resizeAs(t):zero() end)
end

-- ---- Torch7 functional API --------------------------------------------------------------

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
function optim.sgd(opfunc, x, config, state)
  check_functional('sgd', opfunc, x, config, state)
  config = config or {}
  state = state or config
  local lr = config.learningRate or 1e-3
  local lrd = config.learningRateDecay or 0
  local wd = config.weightDecay or 0
  local mom = config.momentum or 0
  local damp = config.dampening or mom
  local nesterov = config.nesterov or false
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

-- optim.adam: learningRate (1e-3), beta1 (0.9), beta2 (0.999), epsilon (1e-8), weightDecay (0)
function optim.adam(opfunc, x, config, state)
  check_functional('adam', opfunc, x, config, state)
  config = config or {}
  state = state or config
  local fx, dfdx = evaluate('adam', opfunc, x)
  state.t = (state.t or 0) + 1
  state.m = state.m or zeros_like(dfdx)
  state.v = state.v or zeros_like(dfdx)
  K.adam(x, dfdx, state.m, state.v, config.learningRate or 1e-3, config.beta1 or 0.9,
         config.beta2 or 0.999, config.epsilon or 1e-8, config.weightDecay or 0, state.t)
  return x, { fx }
end

-- optim.rmsprop: learningRate (1e-2), alpha (0.99), epsilon (1e-8), weightDecay (0)
function optim.rmsprop(opfunc, x, config, state)
  check_functional('rmsprop', opfunc, x, config, state)
  config = config or {}
  state = state or config
  local fx, dfdx = evaluate('rmsprop', opfunc, x)
  state.m = state.m or zeros_like(dfdx)
  K.rmsprop(x, dfdx, state.m, config.learningRate or 1e-2, config.alpha or 0.99,
            config.epsilon or 1e-8, config.weightDecay or 0)
  return x, { fx }
end

-- optim.adagrad: learningRate (1e-3), learningRateDecay (0), weightDecay (0), epsilon (1e-10)
function optim.adagrad(opfunc, x, config, state)
  check_functional('adagrad', opfunc, x, config, state)
  config = config or {}
  state = state or config
  local fx, dfdx = evaluate('adagrad', opfunc, x)
  state.evalCounter = (state.evalCounter or 0) + 1
  state.paramVariance = state.paramVariance or zeros_like(dfdx)
  K.adagrad(x, dfdx, state.paramVariance, config.learningRate or 1e-3,
            config.learningRateDecay or 0, config.weightDecay or 0, config.epsilon or 1e-10,
            state.evalCounter)
  return x, { fx }
end

-- ---- PyTorch object API -----------------------------------------------------------------
local Optimizer = {}
Optimizer.__index = Optimizer

local function new_optimizer(kind, params, config, defaults)
  check.arg(kind, 2, config, 'table?', 2)
  if torch.isTensor(params) then params = { params } end
  if type(params) ~= 'table' or #params == 0 then
    error(('optim.%s: expected a list of parameter tensors (model:parameters())'):format(kind), 3)
  end
  for i, p in ipairs(params) do
    if not torch.isTensor(p) then
      error(('optim.%s: parameter %d is a %s, not a tensor'):format(kind, i, type(p)), 3)
    end
  end
  local cfg = {}
  for k, v in pairs(defaults) do cfg[k] = v end
  for k, v in pairs(config or {}) do
    if defaults[k] == nil then error(("optim.%s: unknown option '%s'"):format(kind, k), 3) end
    cfg[k] = v
  end
  return setmetatable({ kind = kind, params = params, config = cfg, state = {} }, Optimizer)
end

-- Zeroes the gradients in place (they may be a module's gradWeight, or a flat gradient).
function Optimizer:zeroGrad()
  for _, p in ipairs(self.params) do
    local g = p.grad
    if g then g:zero() end
  end
end

function Optimizer:step(closure)
  check.arg('step', 1, closure, 'callable?')
  local loss
  if closure then loss = closure() end
  local c = self.config
  for i, p in ipairs(self.params) do
    local g = p.grad
    if g then
      local s = self.state[i]
      if not s then
        s = { step = 0 }
        self.state[i] = s
      end
      s.step = s.step + 1
      if self.kind == 'SGD' then
        local first = false
        if c.momentum ~= 0 and not s.buf then s.buf, first = zeros_like(p), true end
        K.sgd(p, g, s.buf, c.lr, c.momentum, c.dampening, c.weightDecay, c.nesterov, first)
      elseif self.kind == 'Adam' then
        s.m, s.v = s.m or zeros_like(p), s.v or zeros_like(p)
        K.adam(p, g, s.m, s.v, c.lr, c.betas[1], c.betas[2], c.eps, c.weightDecay, s.step)
      elseif self.kind == 'RMSprop' then
        s.m = s.m or zeros_like(p)
        K.rmsprop(p, g, s.m, c.lr, c.alpha, c.eps, c.weightDecay)
      elseif self.kind == 'Adagrad' then
        s.sum = s.sum or zeros_like(p)
        K.adagrad(p, g, s.sum, c.lr, c.lrDecay, c.weightDecay, c.eps, s.step)
      end
    end
  end
  return loss
end

function optim.SGD(params, config)
  local o = new_optimizer('SGD', params, config,
    { lr = 1e-3, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false })
  if o.config.nesterov and (o.config.momentum <= 0 or o.config.dampening ~= 0) then
    error('optim.SGD: nesterov needs momentum > 0 and dampening = 0', 2)
  end
  return o
end

function optim.Adam(params, config)
  return new_optimizer('Adam', params, config,
    { lr = 1e-3, betas = { 0.9, 0.999 }, eps = 1e-8, weightDecay = 0 })
end

function optim.RMSprop(params, config)
  return new_optimizer('RMSprop', params, config, { lr = 1e-2, alpha = 0.99, eps = 1e-8, weightDecay = 0 })
end

function optim.Adagrad(params, config)
  return new_optimizer('Adagrad', params, config, { lr = 1e-2, lrDecay = 0, weightDecay = 0, eps = 1e-10 })
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

return optim
