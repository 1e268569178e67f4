-- spec/10-grad_pointwise_spec.lua — autograd of the elementwise ops (core/grad_pointwise.c,
-- recorded by lua/lpointwise.c): gradcheck (float64 central differences) for every unary,
-- binary, number-operand, clamp/leakyRelu/addcmul/addcdiv/where/maskedSelect form and the
-- operators, with broadcasting, non-contiguous and expanded inputs; gradients at the
-- conventional points (abs/relu at 0, clamp bounds, maximum ties, pow at 0) against PyTorch
-- (spec/fixtures/gen_grad_pointwise.py); the in-place refusal, the version-counter error,
-- grad accumulation, and that nothing is recorded without requiresGrad or under noGrad.
local torch = require 'torch'
local H = require 'helpers'

local fx = H.fixture('grad_pointwise')

local matches, grad_leaf = H.matches, H.grad_leaf

-- float64 leaves: any values, values in [0.5, 1.5), and a transposed (non-contiguous) view
local randn = H.randn
local pos = H.pos
local randn_t = H.randn_t
local function pos_t(r, c) return grad_leaf(torch.rand(c, r):double():add(0.5):t()) end
-- values in (-0.8, 0.8): inside asin's and acos's domain, away from tan's poles
local function unit(r, c) return grad_leaf(torch.rand(r, c):double():mul(1.6):add(-0.8)) end
local function unit_t(r, c) return grad_leaf(torch.rand(c, r):double():mul(1.6):add(-0.8):t()) end

local check = H.gradcheck

local function ones_like(y) return torch.ones(y:size()):type(y:type()) end

before_each(function() torch.manualSeed(1) end)

describe('unary ops: gradcheck', function()
  -- name -> domain of the inputs (kinks and poles avoided)
  local ops = {
    neg = randn, abs = randn, sign = randn, exp = randn, log = pos, log1p = pos, sqrt = pos,
    rsqrt = pos, sigmoid = randn, tanh = randn, relu = randn, floor = randn, ceil = randn,
    round = randn, trunc = randn, frac = randn, sin = randn, cos = randn, square = randn,
    reciprocal = pos, cinv = pos, tan = unit, asin = unit, acos = unit, atan = randn,
    sinh = randn, cosh = randn, expm1 = randn, erf = randn, erfc = randn, lgamma = pos,
    digamma = pos,
  }
  local noncontig = { [randn] = randn_t, [pos] = pos_t, [unit] = unit_t }
  for name, make in pairs(ops) do
    it(name .. ': contiguous, transposed, expanded', function()
      local f = function(a) return torch[name](a) end
      check(f, { make(3, 4) })
      check(f, { noncontig[make](3, 4) })
      check(function(a) return torch[name](a:expand(3, 4)) end, { make(1, 4) })
      local y = torch[name](make(2, 3))
      assert.is_string(y.gradFn)
      assert.is_false(y.isLeaf)
    end)
  end

  it('piecewise-constant ops give zero gradients', function()
    for _, name in ipairs({ 'sign', 'floor', 'ceil', 'round', 'trunc' }) do
      local x = randn(2, 3)
      torch[name](x):backward(torch.ones(2, 3):double())
      H.close(x.grad, torch.zeros(2, 3):double(), 0, 0)
    end
  end)

  it('unary minus (__unm)', function()
    check(function(a) return -a end, { randn_t(3, 4) })
    assert.are.equal('NegBackward', (-randn(2)).gradFn)
  end)
end)

describe('binary ops: gradcheck', function()
  -- name -> makers of a and b (b away from 0 for div/fmod, a positive for pow)
  local ops = {
    add = { randn, randn }, sub = { randn, randn }, mul = { randn, randn },
    cmul = { randn, randn }, div = { randn, pos }, cdiv = { randn, pos },
    pow = { pos, randn }, cpow = { pos, randn }, cmax = { randn, randn },
    cmin = { randn, randn }, maximum = { randn, randn }, minimum = { randn, randn },
    fmod = { randn, pos }, atan2 = { randn, randn }, remainder = { randn, pos },
  }
  local noncontig = { [randn] = randn_t, [pos] = pos_t }
  for name, mk in pairs(ops) do
    local ma, mb = mk[1], mk[2]
    local f = function(a, b) return torch[name](a, b) end
    it(name .. ': same shape, both and each input', function()
      check(f, { ma(3, 4), mb(3, 4) })
      check(f, { ma(3, 4), mb(3, 4):detach() })
      check(f, { ma(3, 4):detach(), mb(3, 4) })
    end)
    it(name .. ': non-contiguous inputs', function()
      check(f, { noncontig[ma](3, 4), noncontig[mb](3, 4) })
    end)
    it(name .. ': broadcasting 3x1 with 1x4, 2x3x4 with 4, 4 with 2x3x4', function()
      check(f, { ma(3, 1), mb(1, 4) })
      check(f, { ma(2, 3, 4), mb(4) })
      check(f, { ma(4), mb(2, 3, 4) })
    end)
    it(name .. ': expanded inputs', function()
      check(function(a, b) return torch[name](a:expand(3, 4), b:expand(3, 4)) end,
            { ma(3, 1), mb(1, 4) })
    end)
  end

  it('add/sub/csub with a value: a + v * b', function()
    for _, name in ipairs({ 'add', 'sub', 'csub' }) do
      check(function(a, b) return torch[name](a, 0.5, b) end, { randn(3, 4), randn(3, 4) })
      check(function(a, b) return torch[name](a, -2, b) end, { randn(3, 1), randn(4) })
    end
  end)

  it('a number on either side', function()
    local cases = {
      { 'add', randn, 2.5 }, { 'sub', randn, 2.5 }, { 'mul', randn, -1.5 },
      { 'div', randn, 2.5 }, { 'pow', pos, 1.7 }, { 'pow', randn, 2 }, { 'pow', randn, 3 },
      { 'pow', pos, 0.5 }, { 'pow', pos, -1 }, { 'pow', randn, 0 }, { 'cmax', randn, 0.1 },
      { 'cmin', randn, 0.1 }, { 'maximum', randn, -0.2 }, { 'minimum', randn, -0.2 },
      { 'fmod', randn, 0.7 }, { 'atan2', randn, 0.7 },
    }
    for _, c in ipairs(cases) do
      local name, make, s = c[1], c[2], c[3]
      check(function(a) return torch[name](a, s) end, { make(3, 4) })
      check(function(a) return torch[name](a, s) end, { grad_leaf(randn_t(3, 4):detach():abs():add(0.5)) })
    end
    -- s op x: the tensor second (s + x and s - x are the operators, tested below)
    local rcases = {
      { 'mul', randn, -1.5 },
      { 'div', pos, 2.5 }, { 'pow', randn, 2.5 }, { 'pow', randn, 0.5 },
      { 'maximum', randn, 0.1 }, { 'minimum', randn, 0.1 }, { 'fmod', pos, 2.5 },
      { 'atan2', randn, 0.7 },
    }
    for _, c in ipairs(rcases) do
      local name, make, s = c[1], c[2], c[3]
      check(function(a) return torch[name](s, a) end, { make(3, 4) })
    end
  end)

  it('operators: + - * / ^ with tensors and numbers on either side', function()
    local a, b, p = randn(3, 4), randn(3, 4), pos(3, 4)
    check(function(x, y) return x + y end, { a, b })
    check(function(x, y) return x - y end, { a, b })
    check(function(x, y) return x / y end, { a, p })
    check(function(x, y) return x ^ y end, { p, b })
    check(function(x, y) return x + y end, { randn(3, 1), randn(1, 4) })
    check(function(x) return x + 2 end, { a })
    check(function(x) return 2 + x end, { a })
    check(function(x) return x - 2 end, { a })
    check(function(x) return 2 - x end, { a })
    check(function(x) return x * 3 end, { a })
    check(function(x) return 3 * x end, { a })
    check(function(x) return x / 3 end, { a })
    check(function(x) return 3 / x end, { p })
    check(function(x) return x ^ 3 end, { a })
    check(function(x) return x ^ 0.5 end, { p })
    check(function(x) return 2 ^ x end, { a })
    check(function(x) return -(x * 2 - 1) / (x + 3) end, { p })
  end)

  it('operator * between tensors: mm, mv and dot (a 0-dim tensor when recording)', function()
    check(function(x, y) return x * y end, { randn(3, 4), randn_t(4, 2) })
    check(function(x, y) return x * y end, { randn_t(3, 4), randn(4) })
    -- dot by hand: gradcheck's perturbed runs (under noGrad) would get plain numbers
    local u, v = randn(3), grad_leaf(torch.DoubleTensor({ 1, 2, 3 }))
    local d = u * v
    assert.is_true(torch.isTensor(d))
    assert.are.equal(0, d:dim())
    d:backward()
    H.close(u.grad, v:detach(), 0, 0)
    H.close(v.grad, u:detach(), 0, 0)
    assert.are.equal('number', type(u:detach() * v:detach()))
    assert.is_nil((torch.randn(2, 3):double() * torch.randn(3, 2):double()).gradFn)
  end)
end)

describe('clamp, leakyRelu, addcmul, addcdiv, where, maskedSelect: gradcheck', function()
  it('clamp with both, one or no bound', function()
    check(function(a) return torch.clamp(a, -0.5, 0.5) end, { randn(3, 4) })
    check(function(a) return torch.clamp(a, -0.5) end, { randn(3, 4) })
    check(function(a) return torch.clamp(a, nil, 0.5) end, { randn_t(3, 4) })
    check(function(a) return torch.clamp(a) end, { randn(3, 4) })
    check(function(a) return torch.clamp(a:expand(3, 4), -0.5, 0.5) end, { randn(3, 1) })
  end)

  it('leakyRelu with the default and a given slope', function()
    check(function(a) return torch.leakyRelu(a) end, { randn(3, 4) })
    check(function(a) return torch.leakyRelu(a, 0.3) end, { randn_t(3, 4) })
  end)

  for _, name in ipairs({ 'addcmul', 'addcdiv' }) do
    it(name .. ': each input, a value, broadcasting', function()
      local mc = name == 'addcdiv' and pos or randn
      check(function(a, b, c) return torch[name](a, b, c) end, { randn(3, 4), randn(3, 4), mc(3, 4) })
      check(function(a, b, c) return torch[name](a, 0.7, b, c) end,
            { randn(3, 4), randn_t(3, 4), mc(3, 4) })
      check(function(a, b, c) return torch[name](a, -2, b, c) end, { randn(3, 1), randn(1, 4), mc(4) })
      for k = 1, 3 do  -- only input k requires grad
        local ins = { randn(3, 4), randn(3, 4), mc(3, 4) }
        for j = 1, 3 do if j ~= k then ins[j] = ins[j]:detach() end end
        check(function(a, b, c) return torch[name](a, 0.5, b, c) end, ins)
      end
      check(function(a, b, c) return torch[name](a:expand(3, 4), 1.5, b, c:expand(3, 4)) end,
            { randn(3, 1), randn(3, 4), mc(1, 4) })
    end)
  end

  it('where: tensors, numbers on either side, broadcasting', function()
    local cond = torch.ByteTensor({ { 1, 0, 1, 0 }, { 0, 0, 1, 1 }, { 1, 1, 0, 0 } })
    check(function(a, b) return torch.where(cond, a, b) end, { randn(3, 4), randn_t(3, 4) })
    check(function(a) return torch.where(cond, a, 0) end, { randn(3, 4) })
    check(function(b) return torch.where(cond, 1.5, b) end, { randn(3, 4) })
    check(function(a, b) return torch.where(cond[1], a, b) end, { randn(3, 1), randn(4) })
    check(function(a, b) return torch.where(cond, a:expand(3, 4), b) end, { randn(1, 4), randn(3, 4) })
    local y = torch.where(cond, randn(3, 4), 2)
    assert.are.equal('WhereBackward', y.gradFn)
  end)

  it('maskedSelect: function and method forms, mask broadcasting both ways', function()
    local mask = torch.ByteTensor({ { 1, 0, 1, 0 }, { 0, 0, 1, 1 }, { 1, 1, 0, 0 } })
    check(function(a) return torch.maskedSelect(a, mask) end, { randn(3, 4) })
    check(function(a) return a:maskedSelect(mask) end, { randn_t(3, 4) })
    check(function(a) return a:maskedSelect(mask[2]) end, { randn(3, 4) })          -- mask 4
    check(function(a) return a:maskedSelect(mask) end, { randn(4) })                -- x 4
    check(function(a) return a:maskedSelect(mask:narrow(2, 1, 1)) end, { randn(1, 4) }) -- 3x1 & 1x4
    check(function(a) return a:expand(3, 4):maskedSelect(mask) end, { randn(3, 1) })
  end)
end)

describe('gradients against hand-checked values and PyTorch', function()
  it('simple closed forms', function()
    local x = grad_leaf(torch.DoubleTensor({ 1, 2, 3 }))
    local y = torch.cmul(x, x) + 3 * x - torch.div(x, 2)    -- 2x + 2.5
    y:backward(torch.DoubleTensor({ 1, 1, 1 }))
    H.close(x.grad, torch.DoubleTensor({ 4.5, 6.5, 8.5 }), 0, 1e-15)
    local z = grad_leaf(torch.DoubleTensor({ 1, 2, 4 }))
    torch.pow(z, 3):backward(torch.DoubleTensor({ 1, 1, 0.5 }))
    H.close(z.grad, torch.DoubleTensor({ 3, 12, 24 }), 0, 1e-12)
    local a = grad_leaf(torch.DoubleTensor({ { 1 }, { 2 } }))
    local b = grad_leaf(torch.DoubleTensor({ { 10, 20, 30 } }))
    torch.mul(a, b):backward(torch.ones(2, 3):double())
    H.close(a.grad, torch.DoubleTensor({ { 60 }, { 60 } }), 0, 0)
    H.close(b.grad, torch.DoubleTensor({ { 3, 3, 3 } }), 0, 0)
    local c = grad_leaf(torch.DoubleTensor({ 0, 1, -1 }))
    torch.abs(c):backward(torch.ones(3):double())   -- sign(0) = 0
    H.close(c.grad, torch.DoubleTensor({ 0, 1, -1 }), 0, 0)
    local m1, m2 = grad_leaf(torch.DoubleTensor({ 2, 1, 5 })), grad_leaf(torch.DoubleTensor({ 2, 3, 4 }))
    torch.cmax(m1, m2):backward(torch.DoubleTensor({ 1, 1, 1 }))   -- the tie splits
    H.close(m1.grad, torch.DoubleTensor({ 0.5, 0, 1 }), 0, 0)
    H.close(m2.grad, torch.DoubleTensor({ 0.5, 1, 0 }), 0, 0)
  end)

  it('unary ops at special points (float64 and float32)', function()
    for name, want in pairs(fx.unary) do
      -- digamma's gradient (trigamma) is checked against mpmath below: PyTorch's truncates its
      -- series (1e-11 off) and gives 6.6e32 rather than inf at the poles
      if name ~= 'x' and name ~= 'w' and name ~= 'digamma' then
        for _, d in ipairs({ 'float64', 'float32' }) do
          local x = grad_leaf(H.tensor(fx.unary.x, d))
          torch[name](x):backward(H.tensor(fx.unary.w, d))
          local ok, err = pcall(H.close, x.grad, want[d], d == 'float64' and 1e-12 or 1e-5,
                                d == 'float64' and 1e-14 or 1e-6)
          assert(ok, name .. ' ' .. d .. ': ' .. tostring(err))
        end
      end
    end
  end)

  it("digamma's gradient is trigamma: mpmath's values, inf at the poles", function()
    -- mpmath 1.3.0, psi(1, x) at 40 digits, rounded to double
    local xs = { -3.5, -2.5, -0.5, 0.5, 1.5, 2.5, 3, 0.25, 7, 0.3 }
    local want = { 9.6208792980503475, 9.5392466449891238, 8.934802200544679, 4.934802200544679,
                   0.93480220054467933, 0.49035775610023485, 0.39493406684822646,
                   17.197329154507109, 0.15354517795933756, 12.245364546107732 }
    local x = grad_leaf(torch.DoubleTensor(xs))
    torch.digamma(x):sum():backward()
    for i = 1, #xs do
      assert(math.abs(x.grad[i] - want[i]) <= 4e-15 * want[i], ('trigamma(%g) = %.17g, want %.17g')
             :format(xs[i], x.grad[i], want[i]))
    end
    local p = grad_leaf(torch.DoubleTensor({ 0, -1, -7 }))
    torch.digamma(p):sum():backward()
    assert.same({ math.huge, math.huge, math.huge }, p.grad:totable())
    local f = grad_leaf(torch.FloatTensor(xs))                   -- float32: rounded once
    torch.digamma(f):sum():backward()
    for i = 1, #xs do assert(math.abs(f.grad[i] - want[i]) <= 1e-6 * want[i]) end
  end)

  it('at NaN: relu passes the gradient, leakyRelu scales it, clamp drops it (as PyTorch 2.x)', function()
    -- PyTorch: relu's backward is threshold_backward (x <= 0 ? 0 : g), leaky_relu's x > 0 ? g :
    -- g * slope, clamp's g * (min <= x <= max); checked with torch 2.15 on [nan, -1, 2]
    local cases = {
      { function(x) return torch.relu(x) end, { 1, 0, 1 } },
      { function(x) return torch.leakyRelu(x, 0.25) end, { 0.25, 0.25, 1 } },
      { function(x) return torch.clamp(x, -0.5, 0.5) end, { 0, 0, 0 } },
    }
    for _, d in ipairs({ 'float64', 'float32' }) do
      for i, c in ipairs(cases) do
        local x = grad_leaf(H.tensor({ shape = { 3 }, data = { 0 / 0, -1, 2 } }, d))
        c[1](x):sum():backward()
        assert.same(c[2], x.grad:totable(), d .. ' case ' .. i)
      end
    end
  end)

  local forms = {
    pow = function(a, b) return torch.pow(a, b) end,
    pow_s0 = function(a) return torch.pow(a, 0) end,
    pow_s2 = function(a) return torch.pow(a, 2) end,
    pow_s_half = function(a) return torch.pow(a, 0.5) end,
    rpow_0 = function(a) return torch.pow(0, a) end,
    rpow_2 = function(a) return torch.pow(2, a) end,
    maximum = function(a, b) return torch.maximum(a, b) end,
    minimum = function(a, b) return torch.cmin(a, b) end,
    maximum_s = function(a) return torch.maximum(a, 1) end,
    clamp = function(a) return torch.clamp(a, -1, 2) end,
    clamp_min = function(a) return torch.clamp(a, -1) end,
    clamp_max = function(a) return torch.clamp(a, nil, 2) end,
    leaky_relu = function(a) return torch.leakyRelu(a, 0.2) end,
    fmod = function(a, b) return torch.fmod(a, b) end,
    atan2 = function(a, b) return torch.atan2(a, b) end,
    div = function(a, b) return torch.cdiv(a, b) end,
    sub_alpha = function(a, b) return torch.sub(a, 0.5, b) end,
    mul_bcast = function(a, b) return torch.cmul(a, b) end,
    addcmul = function(a, b, c) return torch.addcmul(a, 0.5, b, c) end,
    addcdiv = function(a, b, c) return torch.addcdiv(a, -2, b, c) end,
    where = function(a, b, c) return torch.where(H.tensor(c.cond), a, b) end,
    masked_select = function(a, _, c) return torch.maskedSelect(a, H.tensor(c.mask)) end,
  }
  for name, c in pairs(fx.cases) do
    it('PyTorch case ' .. name, function()
      local fn = assert(forms[name], 'no form for ' .. name)
      local ins = {}
      for k, t in ipairs(c.inputs) do ins[k] = grad_leaf(H.tensor(t)) end
      local args = { table.unpack(ins) }
      if name == 'where' or name == 'masked_select' then args[3] = c end
      local y = fn(table.unpack(args, 1, 3))
      H.close(y, c.y, 1e-12, 1e-14)
      y:backward(H.tensor(c.w))
      for k = 1, #ins do
        local ok, err = pcall(H.close, ins[k].grad, c.grads[k], 1e-12, 1e-14)
        assert(ok, ('input %d: %s'):format(k, tostring(err)))
      end
    end)
  end
end)

describe('autograd bookkeeping of the elementwise ops', function()
  it('names the nodes', function()
    local a, b = randn(3), randn(3)
    local names = {
      { torch.exp(a), 'ExpBackward' }, { a + b, 'AddBackward' }, { a - 2, 'SubBackward' },
      { 2 * a, 'MulBackward' }, { torch.cdiv(a, b), 'DivBackward' }, { a ^ 2, 'PowBackward' },
      { torch.cmax(a, b), 'MaximumBackward' }, { torch.minimum(a, b), 'MinimumBackward' },
      { torch.fmod(a, b), 'FmodBackward' }, { torch.atan2(a, b), 'Atan2Backward' },
      { torch.clamp(a, 0, 1), 'ClampBackward' }, { torch.leakyRelu(a), 'LeakyReluBackward' },
      { torch.addcmul(a, a, b), 'AddcmulBackward' }, { torch.addcdiv(a, a, b), 'AddcdivBackward' },
      { a:maskedSelect(a:gt(0)), 'MaskedSelectBackward' },
    }
    for _, c in ipairs(names) do assert.are.equal(c[2], c[1].gradFn) end
  end)

  it('records nothing when no input requires grad, or under noGrad', function()
    local x = torch.randn(3):double()
    local c = torch.randn(3):double()
    for _, y in ipairs({ torch.exp(x), x + c, x * 2, torch.clamp(x, 0, 1), torch.where(x:gt(0), x, c),
                         x:maskedSelect(x:gt(0)), torch.addcmul(x, x, c) }) do
      assert.is_nil(y.gradFn)
      assert.is_false(y.requiresGrad)
    end
    local r = randn(3)
    local y = torch.noGrad(function() return torch.exp(r) + r * 2 end)
    assert.is_nil(y.gradFn)
    assert.is_false(y.requiresGrad)
    torch.setGradEnabled(false)
    local z = torch.sigmoid(r)
    torch.setGradEnabled(true)
    assert.is_nil(z.gradFn)
  end)

  it('a constant operand gets no gradient', function()
    local x, c = randn(3), torch.randn(3):double()
    torch.cmul(x, c):backward(torch.ones(3):double())
    H.close(x.grad, c, 0, 0)
    assert.is_nil(c.grad)
  end)

  it('accumulates the gradient across two backward calls', function()
    local x = grad_leaf(torch.DoubleTensor({ 1, 2, 3 }))
    local g = torch.DoubleTensor({ 1, 1, 1 })
    torch.mul(x, 3):backward(g)
    torch.cmul(x, x):backward(g)
    H.close(x.grad, torch.DoubleTensor({ 5, 7, 9 }), 0, 0)
    local y = torch.exp(x)
    y:backward(g, true)
    y:backward(g)
    H.close(x.grad, torch.DoubleTensor({ 5, 7, 9 }) + torch.exp(torch.DoubleTensor({ 1, 2, 3 })) * 2,
            1e-14, 0)
  end)

  it('refuses in-place and [res,] forms when a tensor requires grad', function()
    local x = randn(3, 4)
    local y = randn(3, 4)
    local mask = torch.ByteTensor(3, 4):fill(1)
    local refused = {
      exp = function() x:exp() end,
      exp_res = function() torch.exp(torch.DoubleTensor(), x) end,
      exp_resm = function() torch.DoubleTensor():exp(x) end,
      add = function() x:add(1) end,
      add_t = function() torch.randn(3, 4):double():add(x) end,
      add_res = function() torch.add(torch.DoubleTensor(), y:detach(), x) end,
      add_v = function() torch.randn(3, 4):double():add(2, x) end,
      csub = function() x:csub(y) end,
      mul = function() x:mul(2) end,
      cmul = function() torch.DoubleTensor(3, 4):cmul(x, y) end,
      div = function() x:div(2) end,
      pow = function() x:pow(2) end,
      cmax = function() x:cmax(0) end,
      fmod = function() x:fmod(2) end,
      atan2 = function() x:atan2(y) end,
      clamp = function() x:clamp(0, 1) end,
      leakyRelu = function() x:leakyRelu() end,
      addcmul = function() x:addcmul(y, y) end,
      addcdiv = function() torch.addcdiv(torch.DoubleTensor(), x, y, y) end,
      where = function() torch.where(torch.DoubleTensor(), mask, x, 0) end,
      maskedSelect = function() torch.maskedSelect(torch.DoubleTensor(), x, mask) end,
      maskedFill = function() x:narrow(1, 1, 3):maskedFill(mask, 0) end,  -- a recorded view
      maskedCopy = function() torch.zeros(3, 4):double():maskedCopy(mask, x) end,
      sigmoid = function() torch.sigmoid(x):sigmoid() end,   -- a non-leaf too
    }
    for name, f in pairs(refused) do
      local fname = name:match('^[^_]+')
      local msg = H.error_of(f)
      matches(msg, fname .. ':', 'cannot be recorded for autograd')
    end
    H.close(x, x:detach():clone(), 0, 0)
  end)

  it('allows the in-place forms under noGrad, and never refuses comparisons', function()
    local x = randn(3)
    local before = x:detach():clone()
    torch.noGrad(function()
      x:exp()
      x:add(1)
      x:maskedFill(x:gt(100), 0)
    end)
    H.close(x, torch.exp(before) + 1, 1e-15, 0)
    local r = torch.DoubleTensor()
    torch.noGrad(function() torch.exp(r, x) end)
    H.close(r, torch.exp(x:detach()), 0, 0)
    assert.is_nil(r.gradFn)
    local b = x:gt(0)
    assert.is_nil(b.gradFn)
    local res = torch.ByteTensor()
    torch.lt(res, x, 2)
    assert.is_nil(res.gradFn)
    assert.is_nil(torch.eq(x, x).gradFn)
  end)

  it('detects a saved tensor modified in place', function()
    local x = randn(3)
    local y = torch.exp(x)   -- saves y
    torch.noGrad(function() y:add(1) end)
    matches(H.error_of(function() y:backward(ones_like(y)) end), 'ExpBackward', 'in%-place')
    local a, b = randn(3), randn(3)
    local z = torch.cmul(a, b)  -- saves both
    torch.noGrad(function() b:mul(2) end)
    matches(H.error_of(function() z:backward(ones_like(z)) end), 'MulBackward', 'in%-place')
    local p = randn(3)
    local q = p + 1             -- saves nothing: a later in-place change is harmless
    torch.noGrad(function() p:mul(2) end)
    q:backward(ones_like(q))
    H.close(p.grad, torch.ones(3):double(), 0, 0)
  end)

  it('float32 gradients stay float32', function()
    local x = grad_leaf(torch.FloatTensor({ 0.5, 1, 2 }))
    local y = torch.sigmoid(x) * 2 + torch.pow(x, 2)
    y:backward(torch.FloatTensor({ 1, 1, 1 }))
    assert.are.equal('torch.FloatTensor', x.grad:type())
    local s = torch.sigmoid(torch.DoubleTensor({ 0.5, 1, 2 }))
    H.close(x.grad, torch.cmul(s, 1 - s) * 2 + torch.DoubleTensor({ 1, 2, 4 }), 1e-6, 1e-7)
  end)
end)

-- The engine's gradient-ready hooks (nn.DistributedDataParallel's overlap, issue 19)
describe('gradient-ready hooks (torch._setGradReadyHook, torch._queueBackwardCallback)', function()
  it("run once per pass, when the leaf's last contribution is in, before the pass ends", function()
    local w = torch.DoubleTensor({ { 1, 2 }, { 3, 4 } }):requiresGrad_()
    local b = torch.DoubleTensor({ 0.5, -0.5 }):requiresGrad_()
    local x = torch.DoubleTensor({ 1, 2 })
    local log = {}
    torch._setGradReadyHook(w, function() log[#log + 1] = ('w %g'):format(w.grad:sum()) end)
    torch._setGradReadyHook(b, function()
      log[#log + 1] = ('b %g, w so far %s'):format(b.grad:sum(), w.grad and w.grad:sum() or 'none')
      torch._queueBackwardCallback(function(ok) log[#log + 1] = 'end ' .. tostring(ok) end)
    end)
    -- z = sum(W h + b), h = W x + b = (5.5, 10.5): W and b are each used twice.
    -- dz/db = 1 + W'1 = (5, 7): sum 12, complete once the inner add has run, before the engine
    -- has reached W's accumulations (it runs the latest-ready node first); dz/dW = 1 h' +
    -- (W'1) x' sums to 2 * 16 + 10 * 3 = 62
    local z = (w:mv(w:mv(x) + b) + b):sum()
    z:backward()
    assert.are.same({ 'b 12, w so far none', 'w 62', 'end true' }, log)
    -- a removed hook is not called; a pass that calls no hook runs no callback
    log = {}
    torch._setGradReadyHook(b, nil)
    ;(w:mv(x) + b):sum():backward()
    assert.are.same({ 'w 68' }, log)   -- + 1 x' (sum 2 * 3)
    torch._setGradReadyHook(w, nil)
    ;(w:mv(x) + b):sum():backward()
    assert.are.same({ 'w 68' }, log)
  end)

  it("the fused nn.LSTM reports each layer's weights as soon as that layer is done, same gradients", function()
    local nn = require 'nn'
    torch.manualSeed(1)
    local lstm = nn.LSTM(3, 4, 3):double()
    local x = torch.randn(5, 2, 3):double()
    local named = lstm:namedParameters()
    local function grads()
      local g = {}
      for _, e in ipairs(named) do g[#g + 1] = e[2].grad:clone() end
      return g
    end
    lstm:zeroGradParameters()
    lstm(x):sum():backward()
    local plain = grads()
    -- each hook notes which layers' input weights have a gradient (not zero) yet
    local log = {}
    for _, e in ipairs(named) do
      torch._setGradReadyHook(e[2], function()
        local seen = {}
        for _, f in ipairs(named) do
          if f[1]:match('^weight_ih') and f[2].grad:norm() > 0 then seen[#seen + 1] = f[1]:sub(-2) end
        end
        log[#log + 1] = e[1] .. ' ' .. table.concat(seen, ',')
      end)
    end
    lstm:zeroGradParameters()
    lstm(x):sum():backward()
    for _, e in ipairs(named) do torch._setGradReadyHook(e[2], nil) end
    -- the top layer first, while the layers below have no gradient yet
    assert.are.same({ 'weight_ih_l2 l2', 'weight_hh_l2 l2', 'bias_ih_l2 l2', 'bias_hh_l2 l2',
                      'weight_ih_l1 l1,l2', 'weight_hh_l1 l1,l2', 'bias_ih_l1 l1,l2', 'bias_hh_l1 l1,l2',
                      'weight_ih_l0 l0,l1,l2', 'weight_hh_l0 l0,l1,l2', 'bias_ih_l0 l0,l1,l2',
                      'bias_hh_l0 l0,l1,l2' }, log)
    local hooked = grads()
    for i = 1, #plain do assert.are.equal(0, (hooked[i] - plain[i]):abs():max(), named[i][1]) end
  end)

  it('an error in a hook stops the pass and is raised by backward', function()
    local w = torch.DoubleTensor({ 1, 2 }):requiresGrad_()
    torch._setGradReadyHook(w, function() error('hook fails') end)
    local ok, err = pcall(function() (w * 2):sum():backward() end)
    assert.is_false(ok)
    assert.matches('backward: .*hook fails', err)
    torch._setGradReadyHook(w, nil)
    ;(w * 2):sum():backward()   -- the engine is usable again
    assert.are.same({ 4, 4 }, w.grad:totable())
    assert.has_error(function() torch._setGradReadyHook(w * 2, function() end) end)
  end)
end)
