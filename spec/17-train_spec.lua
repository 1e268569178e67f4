-- Training parity with PyTorch: an MLP trained 200 steps from PyTorch's initialisation on
-- fixed data gives PyTorch's loss at every step within 1e-4 relative, with SGD + momentum and
-- with Adam, in both loop styles (Torch7 feval + optim.sgd, PyTorch zeroGrad/backward/step).
local torch = require 'torch'
local nn = require 'nn'
local optim = require 'optim'
local H = require 'helpers'
local F = H.fixture('train')

local function model()
  local m = nn.Sequential():add(nn.Linear(10, 16)):add(nn.Tanh()):add(nn.Linear(16, 3))
  m:get(1).weight:copy(H.tensor(F.params['0.weight']))
  m:get(1).bias:copy(H.tensor(F.params['0.bias']))
  m:get(3).weight:copy(H.tensor(F.params['2.weight']))
  m:get(3).bias:copy(H.tensor(F.params['2.bias']))
  return m
end

local X, y = H.tensor(F.X), H.tensor(F.y)

local function check(losses, expected)
  assert.equal(#expected, #losses)
  for i = 1, #expected do
    local rel = math.abs(losses[i] - expected[i]) / math.abs(expected[i])
    assert(rel <= 1e-4, ('step %d: loss %.8g, PyTorch %.8g (rel %.2g)'):format(i, losses[i], expected[i], rel))
  end
end

-- 200 steps in Torch7's style: feval + a functional optimiser on getParameters
local function torch7_losses(update, config)
  local m, crit = model(), nn.CrossEntropyCriterion()
  local params, grads = m:getParameters()
  local function feval()
    grads:zero()
    local out = m:forward(X)
    local loss = crit:forward(out, y)
    m:backward(X, crit:backward(out, y))
    return loss, grads
  end
  local losses = {}
  for i = 1, 200 do
    local _, fs = update(feval, params, config)
    losses[i] = fs[1]
  end
  return losses
end

-- 200 steps in PyTorch's style: zeroGrad, loss:backward(), step
local function pytorch_losses(make_optimizer)
  local m, crit = model(), nn.CrossEntropyCriterion()
  local opt = make_optimizer(m:parameters())
  local losses = {}
  for i = 1, 200 do
    opt:zeroGrad()
    local loss = crit(m(X), y)
    losses[i] = loss:item()
    loss:backward()
    opt:step()
  end
  return losses
end

describe('training parity with PyTorch', function()
  it('Torch7 loop: feval + optim.sgd (momentum 0.9) on getParameters', function()
    check(torch7_losses(optim.sgd, { learningRate = 0.1, momentum = 0.9, dampening = 0 }), F.sgd)
  end)

  it('PyTorch loop: optim.SGD with zeroGrad / loss:backward() / step', function()
    check(pytorch_losses(function(p) return optim.SGD(p, { lr = 0.1, momentum = 0.9 }) end), F.sgd)
  end)

  it('Adam in both styles', function()
    check(pytorch_losses(function(p) return optim.Adam(p, { lr = 0.01 }) end), F.adam)
    check(torch7_losses(optim.adam, { learningRate = 0.01 }), F.adam)
  end)

  it('clipGradNorm scales gradients to the bound', function()
    local m, crit = model(), nn.CrossEntropyCriterion()
    m:zeroGradParameters()
    crit(m(X), y):backward()
    local params = m:parameters()
    local total = optim.clipGradNorm(params, 0.01)
    assert.is_true(total > 0.01)
    local sq = 0
    for _, p in ipairs(params) do sq = sq + p.grad:norm() ^ 2 end
    assert.is_true(math.abs(math.sqrt(sq) - 0.01) < 1e-4)
  end)
end)
