-- Issue 16's training utilities and tensor methods, against PyTorch's results
-- (spec/fixtures/gen_train_utils.py): optim.AdamW (both APIs), param groups with their own
-- options, the lr schedulers, clipGradValue, softmax/logSoftmax methods, unfold,
-- repeatTensor, all/any, isnan/isinf/isfinite, x.shape, tolist, nn.Embedding,
-- datasets.TensorDataset and the losses over N x C x d1 ... inputs.
local torch = require 'torch'
local nn = require 'nn'
local optim = require 'optim'
local datasets = require 'datasets'
local H = require 'helpers'

local F = H.fixture('train_utils')
local err = H.error_of
local function plain(s) return (s:gsub('%p', '%%%0')) end
local function has(msg, s) assert.matches(plain(s), msg) end
-- the message, and that it blames the caller's line in this file
local function here(msg) assert.matches('42%-train_utils_spec%.lua:%d+:', msg) return msg end
local T = H.tensor
local function leaf(x) x.requiresGrad = true return x end

-- every element within 1e-12 (relative to the value; absolute below 1)
local function exact(actual, expected) H.close(actual, expected, 1e-12, 1e-12) end

describe('optim.AdamW', function()
  for _, case in ipairs(F.adamw.cases) do
    it(('%s options: the object API matches PyTorch step by step (float64 to 1e-12, float32)'):format(case.name), function()
      local o = case.opts
      for _, dt in ipairs({ 'float64', 'float32' }) do
        local p = leaf(T(F.adamw.p0, dt))
        local opt = optim.AdamW({ p }, { lr = o.lr, betas = o.betas, eps = o.eps, weightDecay = o.weight_decay })
        for k, g in ipairs(F.adamw.grads) do
          p.grad = T(g, dt)
          opt:step()
          if dt == 'float64' then exact(p, case.float64[k])
          else H.close(p, case.float32[k], 1e-5, 1e-6) end
        end
      end
    end)
    it(('%s options: optim.adamw (Torch7 style) gives the same float64 steps'):format(case.name), function()
      local o = case.opts
      local x = T(F.adamw.p0, 'float64')
      local config = { learningRate = o.lr, beta1 = o.betas and o.betas[1], beta2 = o.betas and o.betas[2],
                       epsilon = o.eps, weightDecay = o.weight_decay }
      for k, g in ipairs(F.adamw.grads) do
        optim.adamw(function() return 0, T(g, 'float64') end, x, config)
        exact(x, case.float64[k])
      end
      assert.are.equal(#F.adamw.grads, config.t)
    end)
  end

  it("has PyTorch's defaults; amsgrad and unknown options say so", function()
    local opt = optim.AdamW({ torch.zeros(2) })
    local g = opt.paramGroups[1]
    assert.are.same({ 1e-3, { 0.9, 0.999 }, 1e-8, 1e-2 }, { g.lr, g.betas, g.eps, g.weightDecay })
    has(err(function() return optim.AdamW({ torch.zeros(2) }, { amsgrad = true }) end),
        "optim.AdamW: option 'amsgrad' is not supported yet")
    has(err(function() return optim.AdamW({ torch.zeros(2) }, { weight_decay = 0.1 }) end),
        "optim.AdamW: unknown option 'weight_decay' (did you mean 'weightDecay'?)")
    has(err(function() return optim.adamw(function() return 0, torch.zeros(2) end, torch.zeros(2), { lr = 1 }) end),
        "optim.adamw: unknown option 'lr' (did you mean 'learningRate'?)")
    local msg = err(function() local x = optim.adamw(true, torch.zeros(2)); return x end)
    has(msg, "bad argument #1 to 'adamw' (callable expected, got boolean)")
    has(err(function() local p = optim.AdamW({ leaf(torch.zeros(2)) }, { lr = -1 }); p.params[1].grad = torch.ones(2); p:step() end),
        'optim.AdamW: invalid lr -1 (must be >= 0)')
    -- a rate made negative after construction (a scheduler, a hand edit) is still refused by the step
    has(err(function()
      local p = optim.AdamW({ leaf(torch.zeros(2)) }); p.params[1].grad = torch.ones(2)
      p.paramGroups[1].lr = -1; p:step() end), 'adamw: invalid learning rate -1')
  end)
end)

describe('param groups', function()
  it("optim.SGD({ {params = ..., lr = ...}, {params = ...} }, defaults) matches PyTorch's param_groups, lr changed between steps", function()
    local G = F.groups
    local a, b = leaf(T(G.a0)), leaf(T(G.b0))
    local opt = optim.SGD({ { params = { a }, lr = 0.1, nesterov = true, weightDecay = 0.01 }, { params = { b } } },
                          { lr = 0.01, momentum = 0.9 })
    assert.are.equal(2, #opt.paramGroups)
    assert.are.equal(0.1, opt.paramGroups[1].lr)
    assert.are.equal(0.01, opt.paramGroups[2].lr)
    assert.are.equal(0.9, opt.paramGroups[1].momentum)       -- from the defaults
    assert.is_true(opt.paramGroups[1].nesterov)
    assert.is_false(opt.paramGroups[2].nesterov)
    for k = 1, 4 do
      if k == 3 then opt.paramGroups[2].lr = 0.2 end
      a.grad, b.grad = T(G.ga[k]), T(G.gb[k])
      opt:step()
      exact(a, G.a[k])
      exact(b, G.b[k])
    end
    -- the buffers are by position in opt.params (groups in order), as a checkpoint saves them
    assert.are.equal(a, opt.params[1])
    assert.are.equal(4, opt.state[1].step)
    assert.are.same(b:size():totable(), opt.state[2].buf:size():totable())
  end)

  it('every optimiser takes groups; a group lacking a required lr, an unknown option or a shared parameter is an error', function()
    for _, ctor in ipairs({ optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad }) do
      local p, q = leaf(torch.ones(3):double()), leaf(torch.ones(3):double())
      local opt = ctor({ { params = { p }, lr = 0.5 }, { params = { q } } })
      p.grad, q.grad = torch.ones(3):double(), torch.ones(3):double()
      opt:step()
      -- group 2 has the default lr, smaller than 0.5: its step is smaller
      assert.is_true(1 - p[1] > 1 - q[1] and 1 - q[1] > 0)
    end
    has(err(function() return optim.SGD({ { params = { torch.zeros(1) } } }) end),
        "optim.SGD: param group 1: option 'lr' is required")
    has(err(function() return optim.SGD({ { params = { torch.zeros(1) }, lr = 1, moment = 0.9 } }) end),
        "optim.SGD: param group 1: unknown option 'moment'")
    has(err(function() return optim.SGD({ { lr = 1 } }) end), "option 'params' is required")
    local p = torch.zeros(1)
    has(err(function() return optim.Adam({ { params = { p } }, { params = { p } } }) end),
        'a parameter appears in more than one param group')
    has(here(err(function() local o = optim.Adam({ { params = { 'x' } } }); return o end)),
        'parameter 1 of param group 1 is a string, not a tensor')
    for _, ctor in ipairs({ optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad }) do
      has(here(err(function() local o = ctor({ { params = { torch.zeros(1) }, lr = 1, foo = 1 } }); return o end)),
          ": param group 1: unknown option 'foo'")
      has(here(err(function() local o = ctor({ torch.zeros(1) }, { lr = 1, foo = 1 }); return o end)),
          "unknown option 'foo'")
      has(here(err(function() local o = ctor({ { params = { torch.zeros(1) }, lr = 1 }, 5 }); return o end)),
          'param group 2 is a number, not a table {params = ...}')
    end
  end)

  it('addParamGroup adds a group with the defaults filled in', function()
    local p, q = leaf(torch.zeros(2):double()), leaf(torch.zeros(2):double())
    local opt = optim.SGD({ p }, { lr = 0.1 })
    opt:addParamGroup({ params = { q }, lr = 1 })
    assert.are.equal(2, #opt.paramGroups)
    assert.are.equal(0, opt.paramGroups[2].momentum)
    p.grad, q.grad = torch.ones(2):double(), torch.ones(2):double()
    opt:step()
    assert.are.equal(-0.1, p[1])
    assert.are.equal(-1, q[1])
    has(err(function() opt:addParamGroup({ params = { q } }) end), 'more than one param group')
  end)
end)

describe('lr schedulers', function()
  local function groups_opt(kind)
    local ps = { leaf(torch.zeros(2)), leaf(torch.zeros(3)) }
    local ctor = kind == 'Adam' and optim.Adam or optim.SGD
    local cfg = kind == 'Adam' and {} or { momentum = 0.9 }
    return ctor({ { params = { ps[1] }, lr = 0.1 }, { params = { ps[2] }, lr = 0.05 } }, cfg)
  end
  local function make(case, target)
    local opts = {}
    for k, v in pairs(case.opts) do opts[k] = v end
    if case.kind == 'LambdaLR' then opts.lrLambda = function(e) return 0.95 ^ e end end
    return optim[case.kind](target, opts)
  end
  local names = {}
  for name in pairs(F.schedulers) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local case = F.schedulers[name]
    it(('%s (%s): 30 steps of every param group\'s lr match PyTorch to 1e-12'):format(case.kind, name), function()
      local opt = groups_opt(case.optimizer)
      local sched = make(case, opt)
      local function check_step(k)
        for gi, g in ipairs(opt.paramGroups) do
          local want = case.lrs[k][gi]
          assert(math.abs(g.lr - want) <= 1e-12 * math.max(1, math.abs(want)),
                 ('step %d, group %d: lr %.17g, PyTorch %.17g'):format(k - 1, gi, g.lr, want))
          assert.are.equal(g.lr, sched:getLastLr()[gi])
          if case.kind == 'OneCycleLR' then
            local m = g.betas and g.betas[1] or g.momentum
            local wantm = case.momentum[k][gi]
            assert(math.abs(m - wantm) <= 1e-12, ('step %d: momentum %.17g, PyTorch %.17g'):format(k - 1, m, wantm))
          end
        end
      end
      check_step(1)
      for k = 1, 30 do
        opt:step()
        if case.kind == 'ReduceLROnPlateau' then sched:step(F.plateau_metrics[k]) else sched:step() end
        check_step(k + 1)
      end
    end)
  end

  it("Torch7 config tables: the scheduler sets config.learningRate (group 1's sequence)", function()
    for _, name in ipairs({ 'step', 'cosine', 'onecycle_linear', 'plateau' }) do
      local case = F.schedulers[name]
      local config = { learningRate = 0.1, momentum = 0.9 }
      local sched = make(case, config)
      local x = torch.zeros(2):double()
      for k = 1, 30 do
        optim.sgd(function() return 0, torch.zeros(2):double() end, x, config)
        if case.kind == 'ReduceLROnPlateau' then sched:step(F.plateau_metrics[k]) else sched:step() end
        local want = case.lrs[k + 1][1]
        assert(math.abs(config.learningRate - want) <= 1e-12 * math.max(1, want),
               ('%s step %d: %.17g vs %.17g'):format(name, k, config.learningRate, want))
      end
    end
  end)

  it('options are checked by name (PyTorch spellings mapped); bad values and targets are errors', function()
    local opt = groups_opt()
    has(err(function() return optim.StepLR(opt, { step_size = 3 }) end),
        "optim.StepLR: unknown option 'step_size' (did you mean 'stepSize'?)")
    has(err(function() return optim.StepLR(opt, {}) end), "optim.StepLR: option 'stepSize' is required")
    has(here(err(function() local r = optim.StepLR(opt, { stepSize = 0 }); return r end)), 'stepSize must be a positive integer, got 0')
    has(here(err(function() local r = optim.MultiStepLR(opt, { milestones = { 2, 'x' } }); return r end)),
        'optim.MultiStepLR: a milestone must be a positive integer, got x')
    has(here(err(function() local r = optim.OneCycleLR(opt, { maxLr = { 1, 'x' }, totalSteps = 3 }); return r end)),
        'optim.OneCycleLR: maxLr must be a number, got string')
    has(here(err(function() local r = optim.LambdaLR(opt, { lrLambda = 2 }); return r end)),
        'optim.LambdaLR: lrLambda must be a function (or a list of one per param group), got number')
    has(here(err(function() local r = optim.StepLR(opt, { stepSize = 1, gamma = '0.1' }); return r end)),
        'optim.StepLR: gamma must be a number, got string')
    has(err(function() return optim.CosineAnnealingLR(opt, { T_max = 3 }) end), "(did you mean 'TMax'?)")
    has(err(function() return optim.OneCycleLR(opt, { maxLr = 1 }) end), 'give totalSteps, or epochs and stepsPerEpoch')
    has(err(function() return optim.OneCycleLR(opt, { maxLr = 1, totalSteps = 5, annealStrategy = 'cosine' }) end),
        "annealStrategy must be 'cos' or 'linear', got cosine")
    has(err(function() return optim.OneCycleLR(optim.RMSprop({ torch.zeros(1) }), { maxLr = 1, totalSteps = 5 }) end),
        'optim.RMSprop has no momentum to cycle; pass cycleMomentum = false')
    local oc = optim.OneCycleLR(groups_opt(), { maxLr = 1, totalSteps = 2 })
    oc:step(); oc:step()
    has(err(function() oc:step() end), 'stepped 3 times, more than totalSteps = 2')
    has(err(function() return optim.ReduceLROnPlateau(opt, { factor = 1 }) end), 'factor must be < 1')
    has(err(function() return optim.ReduceLROnPlateau(opt, { mode = 'least' }) end), "mode must be 'min' or 'max'")
    has(err(function() return optim.StepLR({}, { stepSize = 2 }) end), 'the config table has no learningRate')
    local msg = err(function() local s = optim.StepLR(42, { stepSize = 2 }); return s end)
    has(msg, "bad argument #1 to 'optim.StepLR' (an optimiser or a config table expected, got number)")
    assert.matches('42%-train_utils_spec%.lua:%d+:', msg)
    local plateau = optim.ReduceLROnPlateau(opt)
    has(err(function() plateau:step('low') end), "bad argument #1 to 'step' (a number expected (the metric), got string)")
    plateau:step(torch.Tensor({ 0.5 }))       -- a one-element tensor is read with :item()
    assert.are.equal(0.5, plateau.best)
  end)
end)

describe('optim.clipGradValue', function()
  it("clamps each gradient in place as PyTorch's clip_grad_value_; bad arguments are errors", function()
    local C = F.clip_value
    local ps = {}
    for i, g in ipairs(C.grads) do ps[i] = leaf(torch.zeros(T(g):size()):double()); ps[i].grad = T(g) end
    ps[3] = leaf(torch.zeros(2):double())       -- no gradient: skipped
    optim.clipGradValue(ps, C.value)
    for i, want in ipairs(C.clipped) do exact(ps[i].grad, want) end
    assert.is_nil(ps[3].grad)
    has(err(function() optim.clipGradValue(ps, -1) end), "bad argument #2 to 'clipGradValue' (clipValue must be >= 0, got -1)")
    has(err(function() optim.clipGradValue(ps) end), "bad argument #2 to 'clipGradValue' (number expected, got no value)")
    has(err(function() optim.clipGradValue({ 1 }, 1) end), 'parameter 1 is a number, not a tensor')
    assert.are.equal(optim.clipGradValue, torch.clipGradValue)
  end)
end)

describe('tensor methods', function()
  it('x:softmax(dim) / x:logSoftmax(dim) are new tensors equal to torch.softmax / logSoftmax, differentiable', function()
    local x = torch.randn(3, 4):double()
    exact(x:softmax(1), torch.softmax(x, 1))
    exact(x:logSoftmax(), torch.logSoftmax(x, 2))
    local before = x:clone()
    x:softmax(2)
    exact(x, before)                                  -- not in place
    H.gradcheck(function(a) return a:softmax(1) end, { H.randn(3, 4) })
    H.gradcheck(function(a) return a:logSoftmax(2) end, { H.randn(3, 4) })
    has(err(function() return x:softmax(3) end), 'dimension 3 out of range for a 2-dimensional tensor')
  end)

  it("x:unfold(dim, size, step): PyTorch's windows and gradients; a view; float64 gradcheck", function()
    local U = F.unfold
    for _, c in ipairs(U.cases) do
      local x = leaf(T(U.x))
      local y = x:unfold(c.dim, c.size, c.step)
      exact(y, c.y)
      torch.cmul(y, T(c.w)):sum():backward()
      exact(x.grad, c.grad)
    end
    local x = torch.range(1, 7):double()
    local u = x:unfold(1, 3, 2)
    u[1][3] = 100                                     -- shares x's storage
    assert.are.equal(100, x[3])
    assert.are.same({ 3, 3 }, u.shape)
    assert.are.same({ 2, 1 }, u:stride():totable())
    local W = torch.randn(2, 2, 3):double()
    H.gradcheck(function(a) return torch.cmul(a:unfold(2, 3, 2), W) end, { H.randn_t(2, 5) })
    has(err(function() local v = x:unfold(1, 8, 1); return v end), "bad argument #2 to 'unfold' (window size 8 out of range for dimension 1 of size 7)")
    has(err(function() local v = x:unfold(1, 2, 0); return v end), "bad argument #3 to 'unfold' (step must be positive, got 0)")
    has(err(function() local v = x:unfold(2, 2, 1); return v end), "bad argument #1 to 'unfold' (dimension 2 out of range")
    has(err(function() local v = torch.zeros(1):expand(2 ^ 40):unfold(1, 2 ^ 39, 1); return v end),
        'is too large (more than 2^59 elements)')
    has(err(function() local v = torch.Tensor({ 1 }):view(1):squeeze():unfold(1, 1, 1); return v end),
        'unfold needs a tensor with at least one dimension')
  end)

  it("x:repeatTensor(...) and x['repeat'](x, ...) tile as PyTorch's repeat, differentiably", function()
    local R = F.repeats
    for _, c in ipairs(R.cases) do
      local x = leaf(T(R.x))
      local y = x:repeatTensor(table.unpack(c.reps))
      exact(y, c.y)
      torch.cmul(y, T(c.w)):sum():backward()
      exact(x.grad, c.grad)
      exact(T(R.x)['repeat'](T(R.x), torch.LongStorage(c.reps)), c.y)
      exact(torch.repeatTensor(T(R.x), c.reps), c.y)
    end
    local x = torch.ones(2)
    local y = x:repeatTensor(1)
    y[1] = 5
    assert.are.equal(1, x[1])                         -- always a copy
    has(err(function() local z = x.repeatTensor(7, 2); return z end), "calling 'repeatTensor' on bad self (tensor expected, got number)")
    has(here(err(function() local z = x:repeatTensor(); return z end)), "bad argument #1 to 'repeatTensor' (0 repetition counts for a 1-dimensional tensor")
    has(err(function() local z = x:repeatTensor(2, -1); return z end), "bad argument #2 to 'repeatTensor' (repetitions must be >= 0, got -1)")
    has(err(function() local z = x:repeatTensor(1.5); return z end), "bad argument #1 to 'repeatTensor' (integer expected, got 1.5)")
  end)

  it('x:all() / x:any() give booleans; with a dim, ByteTensors with the dim kept', function()
    local x = torch.Tensor({ { 1, 0, 2 }, { 3, 4, 5 } })
    assert.is_false(x:all())
    assert.is_true(x:any())
    assert.is_true(torch.ones(3):all())
    assert.is_false(torch.zeros(3):any())
    assert.is_true(torch.Tensor({ 0 / 0 }):all())     -- NaN is not zero
    assert.is_true(torch.Tensor():all())
    assert.is_false(torch.Tensor():any())
    assert.are.same({ { 0 }, { 1 } }, x:all(2):totable())
    assert.are.same({ { 1, 1, 1 } }, x:any(1):totable())
    assert.are.same({ { 1, 0, 1 } }, x:all(-2):totable())
    assert.are.equal('torch.ByteTensor', x:all(1):type())
    assert.is_true(torch.LongTensor({ 1, 2 }):all())
    has(err(function() local r = x:all(3); return r end), "bad argument #1 to 'all' (dimension 3 out of range for a 2-dimensional tensor)")
    has(err(function() local r = x:any('a'); return r end), "bad argument #1 to 'any' (integer expected, got string)")
    has(here(err(function() local r = torch.all(x, 5); return r end)), "bad argument #2 to 'all' (dimension 5 out of range for a 2-dimensional tensor)")
    has(here(err(function() local r = torch.any(nil); return r end)), "bad argument #1 to 'any' (tensor expected, got no value)")
    has(err(function() local r = x.all(3); return r end), "calling 'all' on bad self (tensor expected, got number)")
    assert.is_true(torch.any(x))
    assert.are.same({ { 0 }, { 1 } }, torch.all(x, 2):totable())
  end)

  it('torch.equal, isclose and allclose (PyTorch\'s semantics: NaN, infinities, broadcasting)', function()
    local a = torch.DoubleTensor({ 1, 2, math.huge, 0 / 0, -math.huge, 5, 3e38 })
    local b = torch.DoubleTensor({ 1, 2.00001, math.huge, 0 / 0, math.huge, math.huge, -3e38 })
    -- |2 - 2.00001| = 1e-5 <= 1e-8 + 1e-5 * 2.00001; inf == inf; -inf vs inf, 5 vs inf and an
    -- overflowing difference are not close; NaN only with equalNan
    assert.are.same({ 1, 1, 1, 0, 0, 0, 0 }, torch.isclose(a, b):totable())
    assert.are.same({ 1, 1, 1, 1, 0, 0, 0 }, a:isclose(b, nil, nil, true):totable())
    assert.are.same({ 1, 0, 1, 0, 0, 0, 0 }, torch.isclose(a, b, 0, 1e-6):totable())
    assert.are.equal('torch.ByteTensor', torch.isclose(a:float(), b:float()):type())
    assert.is_false(torch.allclose(a, b))
    assert.is_true(torch.allclose(a, a:clone(), nil, nil, true))
    assert.is_false(torch.allclose(a, a:clone()))                      -- its NaN
    assert.is_true(torch.allclose(torch.ones(2, 3), torch.ones(3)))    -- broadcast
    assert.is_false(torch.ones(3):allclose(torch.ones(3) + 1e-3))
    assert.is_true(torch.ones(3):allclose(torch.ones(3) + 1e-3, 1e-2))
    assert.is_true(torch.allclose(torch.zeros(0), torch.zeros(0)))
    -- equal: sizes and every element; NaN never equals
    assert.is_true(torch.equal(torch.LongTensor({ 1, 2 }), torch.LongTensor({ 1, 2 })))
    assert.is_false(torch.LongTensor({ 1, 2 }):equal(torch.LongTensor({ 1, 3 })))
    assert.is_false(torch.equal(torch.zeros(2), torch.zeros(3)))
    assert.is_false(torch.equal(torch.zeros(2, 1), torch.zeros(2)))
    assert.is_false(torch.equal(a, a:clone()))
    assert.is_true(torch.equal(torch.zeros(0), torch.zeros(0)))
    has(here(err(function() local r = torch.equal(a, a:float()); return r end)),
        "bad argument #2 to 'equal' (expected tensors of one type, got torch.DoubleTensor and torch.FloatTensor)")
    has(here(err(function() local r = torch.allclose(a, 3); return r end)),
        "bad argument #2 to 'allclose' (tensor expected, got number)")
    has(err(function() return a:isclose(b, -1) end), "bad argument #2 to 'isclose' (tolerances must be >= 0")
    has(err(function() return torch.isclose(a, b, nil, nil, 'yes') end), "bad argument #5 to 'isclose' (boolean or nil expected, got string)")
    has(here(err(function() local r = torch.isclose(torch.ones(2), torch.ones(3)); return r end)),
        "bad argument #2 to 'isclose' (shapes [2] and [3] cannot be broadcast together)")
  end)

  it('x:isnan() / isinf() / isfinite() are ByteTensor masks', function()
    local x = torch.DoubleTensor({ 0 / 0, math.huge, -math.huge, 1, -0.0 })
    assert.are.same({ 1, 0, 0, 0, 0 }, x:isnan():totable())
    assert.are.same({ 0, 1, 1, 0, 0 }, x:isinf():totable())
    assert.are.same({ 0, 0, 0, 1, 1 }, x:isfinite():totable())
    assert.are.equal('torch.ByteTensor', x:float():isinf():type())
    local l = torch.LongTensor({ 1, math.mininteger })
    assert.are.same({ 0, 0 }, l:isnan():totable())
    assert.are.same({ 0, 0 }, l:isinf():totable())
    assert.are.same({ 1, 1 }, l:isfinite():totable())
    assert.are.same({ 0, 1, 1, 0, 0 }, torch.isinf(x):totable())
    has(here(err(function() local r = torch.isnan('x'); return r end)), "bad argument #1 to 'isnan' (tensor expected, got string)")
    has(err(function() local r = x.isfinite({}); return r end), "calling 'isfinite' on bad self (tensor expected, got table)")
    local g = leaf(torch.DoubleTensor({ 1, 0 / 0 }))
    assert.are.same({ 1, 0 }, g:isfinite():totable())   -- no graph on a leaf that requires grad
  end)

  it('x.shape is a table of sizes; x:tolist() is x:totable()', function()
    local x = torch.zeros(2, 3, 4)
    assert.are.same({ 2, 3, 4 }, x.shape)
    assert.are.same({}, torch.Tensor({ 1 }):view(1):squeeze().shape)
    assert.are.same({ 0 }, torch.Tensor().shape)
    assert.are.same({ { 1, 2 }, { 3, 4 } }, torch.LongTensor({ { 1, 2 }, { 3, 4 } }):tolist())
    assert.are.equal(2.5, torch.Tensor({ 2.5 }):view(1):squeeze():tolist())
    has(err(function() x.shape = { 1 } end), "cannot set field 'shape' of a tensor")
  end)
end)

describe('nn.Embedding', function()
  it("paddingIdx: PyTorch's output and weight gradient (padding row none), its row starting at zero", function()
    local E = F.embedding
    local m = nn.Embedding(6, 3, { paddingIdx = 3 }):double()
    assert.are.same({ 0, 0, 0 }, m.weight[3]:totable())
    torch.noGrad(function() m.weight:copy(T(E.weight)) end)
    local idx = T(E.idx):add(1)
    local out = m(idx)
    exact(out, E.out)
    torch.cmul(out, T(E.w)):sum():backward()
    exact(m.gradWeight, E.gradWeight)
    -- Torch7 style gives the same gradient
    local m2 = nn.Embedding(6, 3, { padding_idx = nil, paddingIdx = -4 }):double()
    assert.are.equal(3, m2.paddingIdx)
    torch.noGrad(function() m2.weight:copy(T(E.weight)) end)
    m2:zeroGradParameters()
    exact(m2:forward(idx), E.out)
    m2:backward(idx, T(E.w))
    exact(m2.gradWeight, E.gradWeight)
  end)

  it('maxNorm renormalises the looked-up rows in place, as PyTorch', function()
    local E = F.embedding_maxnorm
    local m = nn.Embedding(5, 4, { maxNorm = 1.5 }):double()
    torch.noGrad(function() m.weight:copy(T(E.weight)) end)
    local out = m(T(E.idx):add(1))
    exact(out, E.out)
    exact(m.weight, E.weightAfter)
  end)

  it('initialises N(0, 1); options and indices are checked', function()
    torch.manualSeed(3)
    local m = nn.Embedding(1000, 50)
    local w = m.weight:detach()
    assert.is_true(math.abs(w:mean()) < 0.02 and math.abs(w:std() - 1) < 0.02)
    assert.is_true(torch.isTypeOf(m, 'nn.LookupTable'))
    has(here(err(function() local e = nn.Embedding(5, 2, { sparse = true }); return e end)), "nn.Embedding: option 'sparse' is not supported yet")
    has(here(err(function() local e = nn.Embedding(5, 2.5); return e end)), "bad argument #2 to 'nn.Embedding' (integer expected, got 2.5)")
    has(here(err(function() local e = nn.Embedding(5, 2, { paddingIdx = 9 }); return e end)), 'paddingIdx must be a row 1..5')
    has(err(function() return nn.Embedding(5, 2, { scaleGradByFreq = true }) end), "option 'scaleGradByFreq' is not supported yet")
    has(err(function() return nn.Embedding(5, 2, { max_norm = 1 }) end), "unknown option 'max_norm' (did you mean 'maxNorm'?)")
    has(err(function() return nn.Embedding(5, 2, { paddingIdx = 6 }) end), 'paddingIdx must be a row 1..5 (or -5..-1 from the end), got 6')
    has(err(function() return nn.Embedding(5, 2, { paddingIdx = 0 }) end), 'paddingIdx must be a row 1..5')
    has(here(err(function() local e = nn.Embedding(0, 2); return e end)), "bad argument #1 to 'nn.Embedding' (numEmbeddings must be positive, got 0)")
    has(err(function() return nn.Embedding(5, 2, { maxNorm = -1 }) end), 'maxNorm must be a positive number, got -1')
    has(err(function() return nn.Embedding(5, 2)(torch.LongTensor({ 1, 6 })) end), 'nn.Embedding: index 6 out of range 1..5')
    has(err(function() return nn.Embedding(5, 2)(torch.LongTensor({ 0 })) end), 'nn.Embedding: index 0 out of range 1..5')
    assert.are.equal('nn.Embedding(5, 2, {paddingIdx = 1})', tostring(nn.Embedding(5, 2, { paddingIdx = 1 })))
  end)
end)

describe('datasets.Subset and datasets.randomSplit', function()
  local function dataset(n)
    return datasets.TensorDataset(torch.range(1, n):view(n, 1), torch.range(101, 100 + n))
  end

  it('a Subset is the samples at its indices, in their order, through a DataLoader too', function()
    local s = datasets.Subset(dataset(10), { 3, 1, 10 })
    assert.equal(3, #s)
    assert.same({ 103, 101, 110 }, { s[1][2], s[2][2], s[3][2] })
    local t = datasets.Subset(dataset(10), torch.LongTensor({ 4, 5 }))
    local got = {}
    for x, y in datasets.DataLoader(s, { batchSize = 2 }):iter() do
      for i = 1, y:size(1) do got[#got + 1] = { x[i][1], y[i] } end
    end
    assert.same({ { 3, 103 }, { 1, 101 }, { 10, 110 } }, got)
    assert.equal(2, #t)
    assert.matches("bad argument #2 to 'Subset' %(index 0 at position 1 is out of range 1..10%)",
                   H.error_of(function() return datasets.Subset(dataset(10), { 0 }) end))
    assert.matches("bad argument #1 to 'index' %(index 4 out of range 1..3%)",
                   H.error_of(function() return s[4] end))
  end)

  it('randomSplit: disjoint parts covering the dataset, by counts or fractions, seeded', function()
    local ds = dataset(10)
    local parts = datasets.randomSplit(ds, { 7, 3 }, 42)
    assert.same({ 7, 3 }, { #parts[1], #parts[2] })
    local seen = {}
    for _, p in ipairs(parts) do
      for i = 1, #p do
        local v = p[i][2]
        assert.is_nil(seen[v])
        seen[v] = true
      end
    end
    for v = 101, 110 do assert.is_true(seen[v]) end
    -- the same seed, the same split; the global generator untouched
    torch.manualSeed(5)
    local before = torch.rand(1)[1]
    torch.manualSeed(5)
    local again = datasets.randomSplit(ds, { 7, 3 }, 42)
    assert.equal(before, torch.rand(1)[1])
    for i = 1, 7 do assert.equal(parts[1][i][2], again[1][i][2]) end
    -- fractions: floor, then the remainder round-robin from the first part (PyTorch's)
    local f = datasets.randomSplit(dataset(11), { 0.5, 0.3, 0.2 }, 1)
    assert.same({ 6, 3, 2 }, { #f[1], #f[2], #f[3] })
    assert.matches('lengths sum to 9, the dataset has 10 samples',
                   H.error_of(function() return datasets.randomSplit(ds, { 5, 4 }) end))
    assert.matches('fractions sum to 0.9, not 1',
                   H.error_of(function() return datasets.randomSplit(ds, { 0.5, 0.4 }) end))
  end)

  it("keeps the base's whole-split path: a split of MNIST batches its transformed rows", function()
    local m = datasets.MNIST {}
    local parts = datasets.randomSplit(m, { 0.9, 0.1 }, 3)
    local n, first = 0, nil
    for x, y in datasets.DataLoader(parts[2], { batchSize = 100 }):iter() do
      first = first or { x[1], y[1] }
      n = n + x:size(1)
    end
    assert.equal(#parts[2], n)
    local s = parts[2][1]                                 -- the same sample, one at a time
    assert.equal(s[2], first[2])
    assert.is_true(torch.equal(s[1], first[1]))
  end)
end)

describe('datasets.TensorDataset', function()
  it('indexes its tensors together and batches through DataLoader (shuffled or not, extra tensors as extra values)', function()
    local x = torch.range(1, 10):view(5, 2)
    local y = torch.LongTensor({ 1, 2, 3, 4, 5 })
    local w = torch.range(11, 15)
    local ds = datasets.TensorDataset(x, y, w)
    assert.are.equal(5, #ds)
    assert.are.equal(5, ds:size())
    local s = ds[2]
    assert.are.same({ 3, 4 }, s[1]:totable())
    assert.are.same({ 2, 12 }, { s[2], s[3] })
    local a, b, c = ds:get(5)
    assert.are.same({ { 9, 10 }, 5, 15 }, { a:totable(), b, c })
    local seen = {}
    for xb, yb, wb in datasets.DataLoader({ dataset = ds, batchSize = 2 }):iter() do
      seen[#seen + 1] = { xb:size(1), yb:totable(), wb:totable() }
    end
    assert.are.same({ { 2, { 1, 2 }, { 11, 12 } }, { 2, { 3, 4 }, { 13, 14 } }, { 1, { 5 }, { 15 } } }, seen)
    local total, rows = 0, 0
    for xb, yb in datasets.DataLoader({ dataset = datasets.TensorDataset(x, y), batchSize = 2, shuffle = true, seed = 1 }):iter() do
      for i = 1, yb:size(1) do
        assert.are.equal(yb[i] * 2, xb[i][2])       -- rows stay paired with their targets
        total = total + yb[i]
      end
      rows = rows + yb:size(1)
    end
    assert.are.same({ 15, 5 }, { total, rows })
    has(here(err(function() local r = datasets.TensorDataset(x, torch.zeros(4)); return r end)),
        "bad argument #2 to 'TensorDataset' (4 samples (size of dim 1), tensor 1 has 5)")
    has(err(function() return datasets.TensorDataset(x, 3) end), "bad argument #2 to 'TensorDataset' (tensor expected, got number)")
    has(err(function() local r = ds:get(6); return r end), "bad argument #1 to 'get' (index 6 out of range 1..5)")
  end)
end)

describe('losses over N x C x d1 x ... (sequence form)', function()
  local S = F.seqloss
  for _, c in ipairs(S.cases) do
    local label = ('%s, %s, %s, ignoreIndex %s'):format(c.fn, c.weighted and 'weighted' or 'unweighted',
                                                     c.reduction, tostring(c.ignore))
    it(label .. ': loss and input gradient match PyTorch, functional and criterion', function()
      local target = T(S.target):add(1)
      local weight = c.weighted and T(S.weight) or nil
      local ignore = c.ignore and c.ignore + 1 or nil
      local sizeAverage = c.reduction == 'mean'
      -- functional
      local x = leaf(T(S.input))
      local loss
      if c.fn == 'cross_entropy' then loss = torch.crossEntropy(x, target, weight, sizeAverage, ignore)
      else loss = torch.nllLoss(torch.logSoftmax(x, 2), target, weight, sizeAverage, ignore) end
      exact(loss:item(), c.loss)
      loss:backward()
      exact(x.grad, c.grad)
      -- criterion, Torch7 style
      local crit = c.fn == 'cross_entropy' and nn.CrossEntropyCriterion({ weights = weight, ignoreIndex = ignore, reduction = c.reduction })
                   or nn.ClassNLLCriterion({ weights = weight, ignoreIndex = ignore, reduction = c.reduction })
      local input = c.fn == 'cross_entropy' and T(S.input) or torch.logSoftmax(T(S.input), 2)
      exact(crit:forward(input, target), c.loss)
      if c.fn == 'cross_entropy' then exact(crit:backward(input, target), c.grad) end
    end)
  end

  it('N x C x d: PyTorch; float targets are checked; a target of the wrong shape is an error naming both', function()
    local S3 = F.seqloss3
    local x = leaf(T(S3.input))
    local crit = nn.CrossEntropyCriterion()
    local loss = crit(x, T(S3.target):add(1):double())
    exact(loss:item(), S3.loss)
    loss:backward()
    exact(x.grad, S3.grad)
    H.gradcheck(function(a) return torch.crossEntropy(a, T(S3.target):add(1)) end, { H.randn(3, 5, 4) })
    has(err(function() return torch.crossEntropy(T(S3.input), torch.LongTensor(3, 5):fill(1)) end),
        'crossEntropy: an input of [3 x 5 x 4] (N x C x d1 ...) needs a target of [3 x 4] (N x d1 ...), got [3 x 5]')
    has(err(function() return crit:forward(T(S3.input), torch.DoubleTensor(3, 4):fill(1.5)) end),
        'class targets must be whole numbers, got 1.5')
  end)
end)

describe('on a device', function()
  H.gpu_it('AdamW, param groups and a scheduler step device parameters as the host', function()
    local p, pc = leaf(T(F.adamw.p0)), leaf(T(F.adamw.p0):cuda())
    local o = { lr = 0.05, betas = { 0.8, 0.95 }, eps = 1e-6, weightDecay = 0.3 }
    local host, dev = optim.AdamW({ { params = { p } } }, o), optim.AdamW({ { params = { pc } } }, o)
    local sh, sd = optim.StepLR(host, { stepSize = 2 }), optim.StepLR(dev, { stepSize = 2 })
    for _, g in ipairs(F.adamw.grads) do
      p.grad, pc.grad = T(g), T(g):cuda()
      host:step(); dev:step(); sh:step(); sd:step()
    end
    assert.is_true(pc:isCuda())
    H.close(pc:double(), p, 1e-12, 1e-12)
    optim.clipGradValue({ pc }, 0.1)
    assert.is_true(pc.grad:double():abs():max() <= 0.1)
  end)

  H.gpu_it('unfold (and its gradient), repeatTensor, all/any/isnan and the N x C x d loss give the host results', function()
    local U, c = F.unfold, F.unfold.cases[1]
    local x = leaf(T(U.x):cuda())
    local y = x:unfold(c.dim, c.size, c.step)
    assert.is_true(y:isCuda())
    exact(y:double(), c.y)
    torch.cmul(y, T(c.w):cuda()):sum():backward()
    exact(x.grad:double(), c.grad)
    local R = F.repeats.cases[3]
    exact(T(F.repeats.x):cuda():repeatTensor(table.unpack(R.reps)):double(), R.y)
    local n = torch.DoubleTensor({ 0 / 0, 1, 0 }):cuda()
    assert.are.same({ 1, 0, 0 }, n:isnan():double():totable())
    assert.is_false(n:all())
    assert.is_true(n:any())
    local S = F.seqloss
    local xs = leaf(T(S.input):cuda())
    local loss = torch.crossEntropy(xs, T(S.target):add(1):cuda(), nil, true)
    local want = F.seqloss.cases[1]                        -- cross entropy, unweighted, mean
    assert(want.fn == 'cross_entropy' and not want.weighted and want.reduction == 'mean' and not want.ignore)
    exact(loss:item(), want.loss)
    loss:backward()
    exact(xs.grad:double(), want.grad)
  end)

  H.gpu_it('nn.Embedding with paddingIdx on the device: output and gradient as the host (float32)', function()
    local E = F.embedding
    local m = nn.Embedding(6, 3, { paddingIdx = 3 }):cuda()
    torch.noGrad(function() m.weight:copy(T(E.weight, 'float32'):cuda()) end)
    local out = m(T(E.idx):add(1):cuda())
    assert.is_true(out:isCuda())
    H.close(out:float(), E.out, 1e-6, 1e-6)
    torch.cmul(out, T(E.w, 'float32'):cuda()):sum():backward()
    H.close(m.gradWeight:float(), E.gradWeight, 1e-5, 1e-6)
  end)
end)
