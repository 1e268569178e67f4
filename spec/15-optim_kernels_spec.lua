-- The optimizer update kernels (core/optim.c, torch._optim from lua/loptim.c): five steps of
-- SGD (plain, momentum, Nesterov, dampening, weight decay), Adam (with and without weight
-- decay), RMSprop and Adagrad (lr decay, initial accumulator) against torch.optim
-- (spec/fixtures/gen_optim.py) in float32 and float64, on contiguous and strided tensors;
-- gradients are never modified; clipGradNorm against torch.nn.utils.clip_grad_norm_; the
-- parallel path; argument errors.
local torch = require 'torch'
local H = require 'helpers'
local F = H.fixture('optim_steps')
local K = torch._optim

local TOL = { float32 = { 1e-6, 1e-7 }, float64 = { 1e-13, 1e-15 } }
local DTYPES = { 'float32', 'float64' }

local function err(pattern, fn, ...)
  local msg = H.error_of(fn, ...)
  assert(msg:find(pattern), ('error %q does not match %q'):format(msg, pattern))
end

-- The state of one parameter for a case, and a step function calling the kernel.
local function stepper(case, p)
  local o = case.opts
  local function zeros() return p:clone():zero() end
  if case.kind == 'SGD' then
    local buf = o.momentum ~= 0 and zeros() or nil
    return function(g, k)
      K.sgd(p, g, buf, o.lr, o.momentum, o.dampening, o.weight_decay, o.nesterov, k == 1)
    end
  elseif case.kind == 'Adam' then
    local m, v = zeros(), zeros()
    return function(g, k)
      K.adam(p, g, m, v, o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, k)
    end
  elseif case.kind == 'RMSprop' then
    local sq = zeros()
    return function(g) K.rmsprop(p, g, sq, o.lr, o.alpha, o.eps, o.weight_decay) end
  else
    local sum = zeros():fill(o.initial_accumulator_value)
    return function(g, k)
      K.adagrad(p, g, sum, o.lr, o.lr_decay, o.weight_decay, o.eps, k)
    end
  end
end

describe('optimizer kernels', function()
  for _, dt in ipairs(DTYPES) do
    local f = F[dt]
    for _, case in ipairs(f.cases) do
      it(('match torch.optim over %d steps: %s, %s'):format(F.steps, case.name, dt), function()
        local p = H.tensor(f.p0, dt)
        local step = stepper(case, p)
        for k = 1, F.steps do
          local g = H.tensor(f.grads[k], dt)
          step(g, k)
          H.close(p, case.params[k], TOL[dt][1], TOL[dt][2])
          H.close(g, f.grads[k], 0, 0)   -- the gradient is only read
        end
      end)

      it(('update strided tensors the same way: %s, %s'):format(case.name, dt), function()
        -- p and g are transposed copies seen through :t(): non-contiguous (3 x 4) views
        local p = H.tensor(f.p0, dt):t():contiguous():t()
        assert.is_false(p:isContiguous())
        local step = stepper(case, p)
        for k = 1, F.steps do
          step(H.tensor(f.grads[k], dt):t():contiguous():t(), k)
          H.close(p, case.params[k], TOL[dt][1], TOL[dt][2])
        end
      end)
    end

    for i, c in ipairs(f.clip) do
      it(('clipGradNorm matches clip_grad_norm_ (max norm %g), %s'):format(c.max_norm, dt), function()
        local gs = {}
        for j, g in ipairs(c.grads) do gs[j] = H.tensor(g, dt) end
        local total = K.clipGradNorm(gs, c.max_norm)
        assert.equal('number', type(total))
        H.close(total, c.total, dt == 'float32' and 1e-6 or 1e-13)
        for j, g in ipairs(gs) do H.close(g, c.clipped[j], TOL[dt][1], TOL[dt][2]) end
        if i == 1 then   -- the bound clips: the new total is the bound
          local ssq = 0
          for _, g in ipairs(gs) do ssq = ssq + g:double():pow(2):sum() end
          H.close(math.sqrt(ssq), c.max_norm, 1e-5)
        end
      end)
    end
  end

  it('clipGradNorm takes one tensor, an empty list, and mixed dtypes', function()
    local g = torch.DoubleTensor({ 3, 4 })
    H.close(K.clipGradNorm(g, 1), 5, 1e-15)
    H.close(g, torch.DoubleTensor({ 0.6, 0.8 }), 1e-6)
    assert.equal(0, K.clipGradNorm({}, 1))
    local a, b = torch.FloatTensor({ 3 }), torch.DoubleTensor({ 4 })
    H.close(K.clipGradNorm({ a, b }, 10), 5, 1e-15)
    H.close(a, torch.FloatTensor({ 3 }), 0, 0)   -- under the bound: untouched
  end)

  it('agree between the serial and threaded paths on a large parameter', function()
    torch.manualSeed(7)
    local n = 200000
    local p0, g = torch.randn(n):double(), torch.randn(n):double()
    local p, m, v = p0:clone(), torch.zeros(n):double(), torch.zeros(n):double()
    K.adam(p, g, m, v, 1e-2, 0.9, 0.999, 1e-8, 0.01, 1)
    -- the same update in pieces below the threading grain
    local q, mq, vq = p0:clone(), torch.zeros(n):double(), torch.zeros(n):double()
    for s = 1, n, 10000 do
      K.adam(q:narrow(1, s, 10000), g:narrow(1, s, 10000), mq:narrow(1, s, 10000),
             vq:narrow(1, s, 10000), 1e-2, 0.9, 0.999, 1e-8, 0.01, 1)
    end
    H.close(p, q, 0, 0)
    H.close(m, mq, 0, 0)
    H.close(v, vq, 0, 0)
  end)

  it('invalidate autograd graphs that saved the updated parameter', function()
    local x, t = torch.randn(4, 5):double(), torch.LongTensor({ 1, 2, 3, 4 })
    x.requiresGrad = true
    local loss = torch.crossEntropy(x, t)
    K.sgd(x, torch.randn(4, 5):double(), nil, 0.1, 0, 0, 0, false, false)
    err('CrossEntropyBackward.*modified', function() loss:backward() end)
  end)

  it('raise clear errors', function()
    local p, g = torch.randn(3, 4), torch.randn(3, 4)
    local z = function() return torch.zeros(3, 4) end
    err('sgd: size mismatch, the gradient %[4%] for a parameter of %[3 x 4%]', K.sgd, p,
        torch.randn(4), nil, 0.1, 0, 0, 0, false, false)
    err('sgd: the gradient is a Double tensor, the parameter a Float tensor', K.sgd, p,
        g:double(), nil, 0.1, 0, 0, 0, false, false)
    err('sgd: the parameter must be a Float or Double tensor, got Long', K.sgd,
        torch.LongTensor(3, 4), torch.LongTensor(3, 4), nil, 0.1, 0, 0, 0, false, false)
    err('sgd: a momentum buffer is needed', K.sgd, p, g, nil, 0.1, 0.9, 0, 0, false, false)
    err('sgd: size mismatch, the momentum buffer %[12%]', K.sgd, p, g, torch.zeros(12), 0.1,
        0.9, 0, 0, false, false)
    err('sgd: Nesterov momentum requires a momentum and zero dampening', K.sgd, p, g, z(),
        0.1, 0.9, 0.1, 0, true, false)
    err('sgd: invalid learning rate %-0.1', K.sgd, p, g, nil, -0.1, 0, 0, 0, false, false)
    err('sgd: invalid weight decay', K.sgd, p, g, nil, 0.1, 0, 0, -1, false, false)
    err('sgd: lr must be a number %(argument #4%), got no value', K.sgd, p, g, nil)
    err('sgd: nesterov must be a boolean', K.sgd, p, g, nil, 0.1, 0, 0, 0, 1, false)
    err('sgd: param must be a tensor', K.sgd, 1, g, nil, 0.1, 0, 0, 0, false, false)
    err('sgd: the parameter is expanded', K.sgd, torch.randn(1, 4):expand(3, 4), g, nil, 0.1,
        0, 0, 0, false, false)
    err('sgd: the parameter overlaps the momentum buffer in memory', K.sgd, p, g, p, 0.1, 0.9, 0, 0,
        false, false)
    err('adam: the step count starts at 1, got 0', K.adam, p, g, z(), z(), 1e-3, 0.9, 0.999,
        1e-8, 0, 0)
    err('adam: step must be an integer', K.adam, p, g, z(), z(), 1e-3, 0.9, 0.999, 1e-8, 0, 1.5)
    err('adam: invalid beta2 1', K.adam, p, g, z(), z(), 1e-3, 0.9, 1, 1e-8, 0, 1)
    err('adam: invalid epsilon', K.adam, p, g, z(), z(), 1e-3, 0.9, 0.99, -1, 0, 1)
    err('adam: the second moment is a Double tensor', K.adam, p, g, z(), z():double(), 1e-3,
        0.9, 0.999, 1e-8, 0, 1)
    err('adam: v %(the second moment%) must be a tensor', K.adam, p, g, z(), nil, 1e-3, 0.9,
        0.999, 1e-8, 0, 1)
    err('rmsprop: size mismatch, the square average %[4 x 3%]', K.rmsprop, p, g,
        torch.zeros(4, 3), 1e-2, 0.99, 1e-8, 0)
    err('rmsprop: invalid alpha', K.rmsprop, p, g, z(), 1e-2, -0.5, 1e-8, 0)
    err('adagrad: invalid lr decay', K.adagrad, p, g, z(), 1e-2, -1, 0, 1e-10, 1)
    err('adagrad: the squared%-gradient sum overlaps the gradient', K.adagrad, p, g, g, 1e-2,
        0, 0, 1e-10, 1)
    err('clipGradNorm: expected a list of gradient tensors', K.clipGradNorm, 'g', 1)
    err('clipGradNorm: gradient 2 is a string', K.clipGradNorm, { g, 'x' }, 1)
    err('clipGradNorm: gradient 1 must be a Float or Double tensor', K.clipGradNorm,
        { torch.LongTensor(2) }, 1)
    err('clipGradNorm: invalid max norm', K.clipGradNorm, { g }, -1)
    err('clipGradNorm: maxNorm must be a number', K.clipGradNorm, { g })
  end)
end)
