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

-- optim.sgd: learningRate (1e-3), learningRateDecay (0), weightDecay (0), momentum (0),
-- dampening (= momentum, as Torch7), nesterov (false). state holds the momentum buffer.
local sgd_options = { learningRate = 1e-3, learningRateDecay = 0, weightDecay = 0, momentum = 0,
                      dampening = N, nesterov = false, evalCounter = S, dfdx = S }
function optim.sgd(opfunc, x, config, state)
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
  local fx, dfdx = opfunc(x)
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
local adam_options = { learningRate = 1e-3, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8,
                       weightDecay = 0, t = S, m = S, v = S }
function optim.adam(opfunc, x, config, state)
  config = config or {}
  state = state or config
  local c = config_of('optim.adam', config, adam_options)
  local fx, dfdx = opfunc(x)
  state.t = (state.t or 0) + 1
  state.m = state.m or zeros_like(dfdx)
  state.v = state.v or zeros_like(dfdx)
  K.adam(x, dfdx, state.m, state.v, c.learningRate, c.beta1, c.beta2, c.epsilon, c.weightDecay,
         state.t)
  return x, { fx }
end

-- optim.rmsprop: learningRate (1e-2), alpha (0.99), epsilon (1e-8), weightDecay (0)
local rmsprop_options = { learningRate = 1e-2, alpha = 0.99, epsilon = 1e-8, weightDecay = 0, m = S }
function optim.rmsprop(opfunc, x, config, state)
  config = config or {}
  state = state or config
  local c = config_of('optim.rmsprop', config, rmsprop_options)
  local fx, dfdx = opfunc(x)
  state.m = state.m or zeros_like(dfdx)
  K.rmsprop(x, dfdx, state.m, c.learningRate, c.alpha, c.epsilon, c.weightDecay)
  return x, { fx }
end

-- optim.adagrad: learningRate (1e-3), learningRateDecay (0), weightDecay (0), epsilon (1e-10)
local adagrad_options = { learningRate = 1e-3, learningRateDecay = 0, weightDecay = 0,
                          epsilon = 1e-10, evalCounter = S, paramVariance = S }
function optim.adagrad(opfunc, x, config, state)
  config = config or {}
  state = state or config
  local c = config_of('optim.adagrad', config, adagrad_options)
  local fx, dfdx = opfunc(x)
  state.evalCounter = (state.evalCounter or 0) + 1
  state.paramVariance = state.paramVariance or zeros_like(dfdx)
  K.adagrad(x, dfdx, state.paramVariance, c.learningRate, c.learningRateDecay, c.weightDecay,
            c.epsilon, state.evalCounter)
  return x, { fx }
end

-- ---- PyTorch object API -----------------------------------------------------------------
local Optimizer = {}
Optimizer.__index = Optimizer

local function new_optimizer(kind, params, config, defaults)
  if torch.isTensor(params) then params = { params } end
  if type(params) ~= 'table' or #params == 0 then
    error(('optim.%s: expected a list of parameter tensors (model:parameters())'):format(kind), 3)
  end
  for i, p in ipairs(params) do
    if not torch.isTensor(p) then
      error(('optim.%s: parameter %d is a %s, not a tensor'):format(kind, i, type(p)), 3)
    end
  end
  -- optim.SGD(model:parameters()) passes the gradients (parameters()' second value) as config
  if type(config) == 'table' and next(config) ~= nil and torch.isTensor(config[1]) then
    local only_tensors = true
    for k, v in pairs(config) do
      if math.type(k) ~= 'integer' or not torch.isTensor(v) then only_tensors = false break end
    end
    if only_tensors then config = nil end
  end
  local cfg = check.options('optim.' .. kind, config, defaults, 3)
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
    { lr = check.REQUIRED, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false })
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
  if torch.isTensor(params) then params = { params } end
  local grads = {}
  for _, p in ipairs(params) do
    local g = p.grad
    if g then grads[#grads + 1] = g end
  end
  return K.clipGradNorm(grads, maxNorm)
end
torch.clipGradNorm = optim.clipGradNorm

rawset(_G, 'optim', optim)  -- the global too, as Torch7's packages (see lua/torch/init.lua)
return optim
