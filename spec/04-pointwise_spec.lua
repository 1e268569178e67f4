-- spec/04-pointwise_spec.lua — elementwise ops (core/pointwise.c, lua/lpointwise.c) against
-- PyTorch results from spec/fixtures/gen_pointwise.py: unary math, binary arithmetic with
-- broadcasting, comparisons, clamp/leakyRelu/addcmul/addcdiv/where, the masked ops, integer
-- semantics, the [res,]/method/in-place forms, aliasing, operators and error messages.
local torch = require 'torch'
local H = require 'helpers'

local fx = H.fixture('pointwise')
local DT = { 'float32', 'float64' }
local TOL = { float32 = { 1e-5, 1e-6 }, float64 = { 1e-12, 1e-13 } }
local function close(actual, expected, d) H.close(actual, expected, TOL[d][1], TOL[d][2]) end
local function exact(actual, expected) H.close(actual, expected, 0, 0) end

local function matches(msg, ...)
  for _, pat in ipairs({ ... }) do
    assert(msg:find(pat), ('error %q does not match %q'):format(msg, pat))
  end
end

describe('unary ops', function()
  local methods = {
    neg = 'neg', abs = 'abs', sign = 'sign', exp = 'exp', log = 'log', log1p = 'log1p',
    sqrt = 'sqrt', rsqrt = 'rsqrt', sigmoid = 'sigmoid', tanh = 'tanh', relu = 'relu',
    floor = 'floor', ceil = 'ceil', round = 'round', trunc = 'trunc', frac = 'frac',
    sin = 'sin', cos = 'cos', square = 'square', reciprocal = 'reciprocal',
    tan = 'tan', asin = 'asin', acos = 'acos', atan = 'atan', sinh = 'sinh', cosh = 'cosh',
    expm1 = 'expm1', erf = 'erf', erfc = 'erfc', lgamma = 'lgamma', digamma = 'digamma',
  }
  for op, name in pairs(methods) do
    for _, d in ipairs(DT) do
      it(op .. ' ' .. d .. ': function, method in place, [res,] forms', function()
        local x = H.tensor(fx.x, d)
        local keep = x:clone()
        local want = fx.unary[op][d]
        close(torch[name](x), want, d)                   -- new tensor, x untouched
        exact(x, keep)
        local y = x:clone()
        local r = y[name](y)                             -- in place, returns self
        assert.are.equal(y, r)
        close(y, want, d)
        local res = torch.Tensor():type(x:type())
        assert.are.equal(res, torch[name](res, x))
        close(res, want, d)
        local res2 = x:clone():zero()
        res2[name](res2, x)                              -- res:f(x)
        close(res2, want, d)
      end)
    end
  end

  it('cinv is reciprocal', function()
    close(torch.cinv(H.tensor(fx.x, 'float64')), fx.unary.reciprocal.float64, 'float64')
  end)

  it('round is half to even, sigmoid and exp are stable for large inputs', function()
    local x = torch.DoubleTensor({ -2.5, -1.5, -0.5, 0.5, 1.5, 2.5 })
    exact(torch.round(x), torch.DoubleTensor({ -2, -2, -0, 0, 2, 2 }))
    local s = torch.sigmoid(torch.FloatTensor({ -1000, 1000, -88, 88 }))
    assert.are.equal(0, s[1]); assert.are.equal(1, s[2])
    assert(s[3] > 0 and s[3] < 1e-37 and s[3] == s[3])
  end)

  it('math functions need a floating point tensor', function()
    for _, name in ipairs({ 'exp', 'log', 'sqrt', 'sigmoid', 'tanh', 'sin', 'rsqrt', 'frac' }) do
      if name ~= 'frac' then
        matches(H.error_of(torch[name], torch.LongTensor(3)), name .. ':', 'Long')
        matches(H.error_of(torch[name], torch.ByteTensor(3)), name .. ':', 'Byte')
      end
    end
  end)

  it('integer floor/ceil/round/trunc are the identity, frac is 0', function()
    local l = torch.LongTensor({ -3, 0, 5 })
    for _, name in ipairs({ 'floor', 'ceil', 'round', 'trunc' }) do exact(torch[name](l), l) end
    exact(torch.frac(l), torch.LongTensor({ 0, 0, 0 }))
    exact(torch.abs(torch.ByteTensor({ 0, 200 })), torch.ByteTensor({ 0, 200 }))
  end)
end)

describe('binary ops', function()
  for _, d in ipairs(DT) do
    local function T(f) return H.tensor(f, d) end
    local A, B, P = T(fx.a), T(fx.b), T(fx.pos)
    local want = fx.binary[d]

    it('add/csub/sub ' .. d .. ' in every form', function()
      close(torch.add(A, B), want.add, d)
      close(A + B, want.add, d)
      local y = A:clone(); assert.are.equal(y, y:add(B)); close(y, want.add, d)
      local res = A:clone():zero(); res:add(A, B); close(res, want.add, d)
      res = torch.Tensor():type(A:type()); torch.add(res, A, B); close(res, want.add, d)
      close(torch.add(A, 2.5, B), want.add_alpha, d)
      y = A:clone(); y:add(2.5, B); close(y, want.add_alpha, d)
      res:zero(); res:add(A, 2.5, B); close(res, want.add_alpha, d)
      close(torch.csub(A, B), want.sub, d)
      close(torch.sub(A, B), want.sub, d)
      close(A - B, want.sub, d)
      y = A:clone(); y:csub(B); close(y, want.sub, d)
      close(torch.csub(A, 0.5, B), want.sub_alpha, d)
      close(torch.add(A, 2.5), want.add_s, d)
      close(A + 2.5, want.add_s, d)
      close(2.5 + A, want.add_s, d)
      y = A:clone(); y:add(2.5); close(y, want.add_s, d)
      res:zero(); res:add(A, 2.5); close(res, want.add_s, d)
      close(torch.csub(A, 2.5), want.sub_s, d)
      close(A - 2.5, want.sub_s, d)
      close(2.5 - A, want.rsub_s, d)
    end)

    it('mul/cmul/div/cdiv ' .. d, function()
      close(torch.cmul(A, B), want.mul, d)
      close(torch.mul(A, B), want.mul, d)
      local y = A:clone(); y:cmul(B); close(y, want.mul, d)
      close(torch.cdiv(A, B), want.div, d)
      close(torch.div(A, B), want.div, d)
      close(A / B, want.div, d)
      y = A:clone(); y:cdiv(B); close(y, want.div, d)
      local res = A:clone(); res:cmul(A, B); close(res, want.mul, d)
      close(torch.mul(A, 2.5), want.mul_s, d)
      close(A * 2.5, want.mul_s, d)
      close(2.5 * A, want.mul_s, d)
      y = A:clone(); y:mul(2.5); close(y, want.mul_s, d)
      close(torch.div(A, 2.5), want.div_s, d)
      close(A / 2.5, want.div_s, d)
      close(2.5 / A, want.rdiv_s, d)
      close(-A, want.neg, d)
    end)

    it('pow ' .. d .. ': tensor^tensor, tensor^number, number^tensor', function()
      close(torch.pow(P, B), want.pow, d)
      close(torch.cpow(P, B), want.pow, d)
      close(P ^ B, want.pow, d)
      local y = P:clone(); y:pow(B); close(y, want.pow, d)
      close(torch.pow(A, 2), want.pow_2, d)
      close(A ^ 2, want.pow_2, d)
      y = A:clone(); y:pow(2); close(y, want.pow_2, d)
      close(A ^ 3, want.pow_3, d)
      close(P ^ 0.5, want.pow_half, d)
      close(torch.pow(A, -1), want.pow_m1, d)
      close(torch.pow(P, 1.7), want.pow_1_7, d)
      close(torch.pow(2, A), want.rpow, d)
      close(2 ^ A, want.rpow, d)
      local res = A:clone():zero(); torch.pow(res, 2, A); close(res, want.rpow, d)
      res:zero(); torch.pow(res, A, 2); close(res, want.pow_2, d)
    end)

    it('cmax/cmin/fmod/remainder/atan2 ' .. d, function()
      close(torch.cmax(A, B), want.max, d)
      close(torch.maximum(A, B), want.max, d)
      close(torch.cmin(A, B), want.min, d)
      close(torch.minimum(A, B), want.min, d)
      local y = A:clone(); y:cmax(B); close(y, want.max, d)
      close(torch.cmax(A, 0.5), want.max_s, d)
      close(torch.fmod(A, B), want.fmod, d)
      close(torch.fmod(A, 1.5), want.fmod_s, d)
      close(torch.remainder(A, B), want.remainder, d)
      close(torch.remainder(A, -1.5), want.remainder_s, d)
      close(torch.cremainder(A, B), want.remainder, d)   -- Torch7's names
      close(torch.cfmod(A, B), want.fmod, d)
      y = A:clone(); y:remainder(B); close(y, want.remainder, d)
      close(torch.atan2(A, B), want.atan2, d)
      y = A:clone(); y:atan2(B); close(y, want.atan2, d)
    end)

    it('clamp/leakyRelu ' .. d, function()
      close(torch.clamp(A, -1, 2), want.clamp, d)
      local y = A:clone(); assert.are.equal(y, y:clamp(-1, 2)); close(y, want.clamp, d)
      local res = A:clone():zero(); torch.clamp(res, A, -1, 2); close(res, want.clamp, d)
      close(torch.clamp(A, -1), want.clamp_min, d)
      close(torch.clamp(A, -1, nil), want.clamp_min, d)
      close(torch.clamp(A, nil, 1), want.clamp_max, d)
      close(torch.clamp(A, 2, -1), want.clamp_swapped, d)
      close(torch.leakyRelu(A, 0.2), want.leaky, d)
      y = A:clone(); y:leakyRelu(); close(y, want.leaky_default, d)
    end)

    it('addcmul/addcdiv ' .. d, function()
      close(torch.addcmul(A, 0.5, A, B), want.addcmul, d)
      close(torch.addcmul(A, B, B), want.addcmul1, d)
      local y = A:clone(); y:addcmul(0.5, y, B); close(y, want.addcmul, d)
      y = A:clone(); y:addcmul(B, B); close(y, want.addcmul1, d)
      local res = A:clone():zero(); res:addcmul(A, 0.5, A, B); close(res, want.addcmul, d)
      res:zero(); torch.addcmul(res, A, B, B); close(res, want.addcmul1, d)
      close(torch.addcdiv(A, 0.5, A, B), want.addcdiv, d)
      close(torch.addcdiv(A, B, P), want.addcdiv1, d)
      y = A:clone(); y:addcdiv(0.5, y, B); close(y, want.addcdiv, d)
    end)
  end

  it('errors: dtype mismatch, shape mismatch, in-place broadcast', function()
    local f, g = torch.FloatTensor(3, 4), torch.DoubleTensor(3, 4)
    matches(H.error_of(torch.add, f, g), '^.-add:', 'Float', 'Double')
    matches(H.error_of(function() return f + g end), 'Float', 'Double')
    matches(H.error_of(torch.cmul, f, torch.FloatTensor(5)), 'cmul:', '%[3 x 4%]', '%[5%]')
    matches(H.error_of(function() return f - torch.FloatTensor(2, 4) end),
            '__sub:', '%[3 x 4%]', '%[2 x 4%]')
    matches(H.error_of(function() f:clone():add(torch.FloatTensor(2)) end),
            'add:', '%[3 x 4%]', '%[2%]')
    matches(H.error_of(function() torch.FloatTensor(3, 1):add(torch.FloatTensor(1, 4)) end),
            'add:', 'in%-place', '%[3 x 1%]', '%[3 x 4%]')
    matches(H.error_of(torch.addcmul, f, f, torch.DoubleTensor(3, 4)), 'addcmul:', 'Double')
    matches(H.error_of(torch.addcdiv, torch.LongTensor(2), torch.LongTensor(2),
                       torch.LongTensor(2)), 'addcdiv:', 'Long')
    matches(H.error_of(torch.add, f, 'x'), 'add', 'tensor or number')
    matches(H.error_of(torch.atan2, torch.LongTensor(2), torch.LongTensor(2)), 'atan2:', 'Long')
    matches(H.error_of(torch.leakyRelu, torch.LongTensor(2)), 'leakyRelu:', 'Long')
  end)
end)

describe('broadcasting', function()
  for _, d in ipairs(DT) do
    it('3x1 with 1x4, 2x3x4 with 4 (' .. d .. ')', function()
      local b = fx.bc
      local C, R, T4, V = H.tensor(b.c31, d), H.tensor(b.r14, d), H.tensor(b.t234, d),
                          H.tensor(b.v4, d)
      local w = b[d]
      close(C + R, w.add, d)
      close(torch.cmul(C, R), w.mul, d)
      close(T4 - V, w.sub, d)
      close(torch.cdiv(V, torch.abs(T4) + 1), w.div, d)
      close(torch.cmax(T4, V), w.max, d)
      exact(C:gt(R), w.gt)
      close(torch.addcmul(C, R, V), w.addcmul, d)
      close(torch.where(C:gt(0), R, C), w.where, d)
      local res = torch.Tensor():type(C:type())
      res:add(C, R); close(res, w.add, d)                 -- res is resized to 3x4
      local y = T4:clone(); y:csub(V); close(y, w.sub, d) -- in place, V broadcast
    end)
  end
end)

describe('non-contiguous inputs', function()
  for _, d in ipairs(DT) do
    it('transposed, narrowed, expanded (' .. d .. ')', function()
      local n = fx.nc
      local M, N, S, V = H.tensor(n.m45, d), H.tensor(n.m54, d), H.tensor(n.sq, d),
                         H.tensor(n.v4, d)
      local w = n[d]
      close(M:t() + N, w.add_t, d)
      close(torch.exp(M:t()), w.exp_t, d)
      local mt = M:clone():t(); mt:exp(); close(mt, w.exp_t, d)   -- in place, strided
      close(torch.cmul(M:narrow(2, 2, 3), N:t():narrow(2, 1, 3)), w.mul_narrow, d)
      close(torch.sigmoid(M:narrow(1, 2, 2)), w.sigmoid_narrow, d)
      close(V:view(1, 4):expand(5, 4) + N, w.add_expand, d)
      close(torch.add(V:view(1, 4):expand(5, 4), N), w.add_expand, d)
      exact(M:t():gt(N), w.cmp_t)
      -- into a strided result
      local res = N:clone():t():t()
      local rt = torch.Tensor(4, 5):type(N:type()):t()
      rt:add(M:t(), N); close(rt, w.add_t, d)
      close(res, N, d)
    end)

    it('aliasing: x:add(x:t()) equals a clean computation (' .. d .. ')', function()
      local S = H.tensor(fx.nc.sq, d)
      local w = fx.nc[d]
      local y = S:clone()
      y:add(y:t())
      close(y, w.alias, d)
      y = S:clone()
      torch.add(y, y, y:t())
      close(y, w.alias, d)
      y = S:clone()
      local yt = y:t()
      yt:add(y)                                          -- out transposed, in plain
      close(yt:t(), w.alias, d)
      y = S:clone()
      y:t():add(y:t(), y)                                -- res form through a view
      close(y, w.alias, d)
    end)
  end

  it('cannot write into an expanded tensor', function()
    local e = torch.FloatTensor(3):zero():view(1, 3):expand(4, 3)
    matches(H.error_of(function() e:exp() end), 'exp:', 'expanded')
    matches(H.error_of(function() e:add(1) end), 'add:', 'expanded')
    matches(H.error_of(function() e:maskedFill(torch.ByteTensor(4, 3):fill(1), 1) end),
            'maskedFill:', 'expanded')
  end)
end)

describe('integer semantics', function()
  local l = fx.long
  local LA, LB, LE = H.tensor(l.a), H.tensor(l.b), H.tensor(l.e)

  it('int64 arithmetic matches PyTorch (truncating division)', function()
    exact(torch.add(LA, LB), l.add)
    exact(LA - LB, l.sub)
    exact(torch.cmul(LA, LB), l.mul)
    exact(torch.div(LA, LB), l.div)
    exact(LA / LB, l.div)
    exact(torch.fmod(LA, LB), l.fmod)
    exact(torch.pow(LA, LE), l.pow)
    exact(torch.cmax(LA, LB), l.max)
    exact(torch.cmin(LA, LB), l.min)
    exact(torch.add(LA, 3, LB), l.add_alpha)
    exact(torch.div(LA, 2), l.div_s)
    exact(LA / -3, l.div_neg_s)
    exact(torch.fmod(LA, 4), l.fmod_s)
    exact(torch.remainder(LA, LB), l.remainder)
    exact(torch.remainder(LA, -4), l.remainder_s)
    exact(-LA, l.neg)
    exact(torch.abs(LA), l.abs)
    exact(torch.sign(LA), l.sign)
    exact(torch.square(LA), l.square)
    exact(torch.relu(LA), l.relu)
    exact(torch.clamp(LA, -5, 8), l.clamp)
    exact(LA:lt(3), l.lt_s)
    exact(LA:ge(LB), l.ge)
    exact(LA:eq(LB), l.eq)
    exact(LA:lt(2.5), l.lt_2_5)
    exact(LA:gt(-2.5), l.gt_m2_5)
    exact(LA:eq(1e30), l.eq_huge)
    exact(torch.addcmul(LA, 2, LA, LB), l.addcmul)
  end)

  it('int64 is exact beyond 2^53 and wraps on overflow', function()
    local big = torch.LongTensor({ 9007199254740993 })
    assert.are.equal(9007199254740994, (big + 1)[1])
    assert.are.equal(9007199254740992, (big - 1)[1])
    assert.is_true(big:eq(9007199254740993)[1] == 1)
    assert.are.equal(0, (torch.LongTensor({ 2 ^ 62 }) * 4)[1])
    assert.are.equal(math.mininteger, (torch.LongTensor({ math.maxinteger }) + 1)[1])
  end)

  it('uint8 arithmetic wraps like PyTorch', function()
    local b = fx.byte
    local BA, BB = H.tensor(b.a), H.tensor(b.b)
    exact(BA + BB, b.add)
    exact(BA - BB, b.sub)
    exact(torch.cmul(BA, BB), b.mul)
    exact(torch.div(BA, BB), b.div)
    exact(torch.fmod(BA, BB), b.fmod)
    exact(torch.remainder(BA, BB), b.remainder)
    exact(-BA, b.neg)
    exact(BA + 100, b.add_s)
    exact(BA - 1, b.sub_s)
    exact(torch.cmax(BA, BB), b.max)
    exact(BA:gt(BB), b.gt)
    exact(BA:lt(100), b.lt_s)
    -- out-of-range integers compare exactly too; PyTorch 1.13 would wrap 300 to 44 and
    -- -1 to 255 here, a deliberate difference
    exact(BA:lt(300), torch.ByteTensor(2, 4):fill(1))
    exact(BA:gt(-1), torch.ByteTensor(2, 4):fill(1))
    exact(BA:ge(-1000), torch.ByteTensor(2, 4):fill(1))
    exact(BA:eq(256), torch.ByteTensor(2, 4):zero())
    exact(BA:le(2.5), b.le_2_5)
    exact(BA:ge(7.5), b.ge_7_5)
    exact(BA:eq(7.5), b.eq_7_5)
    exact(BA:ne(7), b.ne_7)
  end)

  it('division by zero and INT64_MIN / -1 are errors, not SIGFPE', function()
    matches(H.error_of(function() return LA / 0 end), '__div:', 'division by zero')
    matches(H.error_of(torch.div, LA, LB:clone():zero()), 'div:', 'division by zero')
    matches(H.error_of(torch.fmod, LA, 0), 'fmod:', 'division by zero')
    matches(H.error_of(torch.remainder, LA, LB:clone():zero()), 'remainder:', 'division by zero')
    matches(H.error_of(torch.remainder, torch.ByteTensor({ 1 }), 0), 'remainder:', 'division by zero')
    matches(H.error_of(torch.cdiv, torch.ByteTensor({ 1, 2 }), torch.ByteTensor({ 1, 0 })),
            'cdiv:', 'division by zero')
    matches(H.error_of(function() return torch.LongTensor({ math.mininteger }) / -1 end),
            '__div:', 'overflow')
    assert.are.equal(0, torch.fmod(torch.LongTensor({ math.mininteger }), -1)[1])
    assert.are.equal(0, torch.remainder(torch.LongTensor({ math.mininteger }), -1)[1])
    -- nothing was written by the failed in-place division
    local y = LA:clone()
    H.error_of(function() y:div(0) end)
    exact(y, LA)
  end)

  it('integer pow with a negative exponent is an error', function()
    matches(H.error_of(torch.pow, LA, -1), 'pow:', 'negative')
    matches(H.error_of(torch.pow, LA, torch.LongTensor(3, 4):fill(-2)), 'pow:', 'negative')
  end)
end)

describe('comparisons', function()
  for _, d in ipairs(DT) do
    it('eq/ne/lt/le/gt/ge with NaN (' .. d .. ')', function()
      local A, B = H.tensor(fx.cmp.a, d), H.tensor(fx.cmp.b, d)
      local w = fx.cmp[d]
      for _, op in ipairs({ 'eq', 'ne', 'lt', 'le', 'gt', 'ge' }) do
        local keep = A:clone()
        local r = A[op](A, B)                  -- a NEW ByteTensor; A is untouched
        assert.are.equal('torch.ByteTensor', r:type())
        exact(r, w[op])
        close(A, keep, d)
        exact(torch[op](A, B), w[op])
        local res = torch.ByteTensor()
        assert.are.equal(res, res[op](res, A, B))
        exact(res, w[op])
        res = torch.ByteTensor(2)
        torch[op](res, A, B)
        exact(res, w[op])
      end
      exact(A:lt(2), w.lt_s)
      exact(A:ge(0.1), w.ge_s)
      exact(torch.eq(A, 0.1), w.eq_s)
      exact(A:ne(1), w.ne_s)
    end)
  end

  it('result must be a ByteTensor; types must match', function()
    matches(H.error_of(torch.lt, torch.FloatTensor(2), torch.FloatTensor(2), torch.FloatTensor(2)),
            'lt:', 'Byte')
    matches(H.error_of(torch.eq, torch.FloatTensor(2), torch.LongTensor(2)), 'eq:', 'Long')
  end)
end)

describe('masked ops and where', function()
  for _, d in ipairs(DT) do
    it('maskedFill/maskedSelect/maskedCopy/where (' .. d .. ')', function()
      local m = fx.mask
      local X, M, ROW, SRC = H.tensor(m.x, d), H.tensor(m.m), H.tensor(m.row), H.tensor(m.src, d)
      local w = m[d]
      local y = X:clone()
      assert.are.equal(y, y:maskedFill(M, -7.5))
      close(y, w.fill, d)
      y = X:clone(); y:maskedFill(ROW, 2); close(y, w.fill_row, d)
      local keep = X:clone()
      close(X:maskedSelect(M), w.select, d)
      close(X, keep, d)
      close(torch.maskedSelect(X, M), w.select, d)
      local res = torch.Tensor():type(X:type())
      res:maskedSelect(X, M); close(res, w.select, d)
      torch.maskedSelect(res, X, ROW); close(res, w.select_row, d)
      close(X:maskedSelect(ROW), w.select_row, d)
      close(X:t():t():maskedSelect(M), w.select, d)
      y = X:clone(); assert.are.equal(y, y:maskedCopy(M, SRC)); close(y, w.copy, d)
      y = X:clone(); y:maskedCopy(ROW, SRC); close(y, w.copy_row, d)
      close(torch.where(M, X, -X), w.where, d)
      close(torch.where(M, X, 0), w.where_s, d)
      res = torch.Tensor():type(X:type())
      torch.where(res, M, X, -X); close(res, w.where, d)
    end)
  end

  -- the unit-stride loops (a blend, both sides read) against an element-by-element reference,
  -- each side a tensor or a broadcast scalar, with a tail past the vector width
  it('where over 1000 elements, each side a tensor or a scalar', function()
    torch.manualSeed(11)
    for _, d in ipairs(DT) do
      local tt = d == 'float32' and 'torch.FloatTensor' or 'torch.DoubleTensor'
      local X, Y = torch.randn(1003):type(tt), torch.randn(1003):type(tt)
      local M = torch.gt(torch.randn(1003), 0)
      local cases = { { X, Y }, { X, 0.5 }, { -2, Y } }
      for _, c in ipairs(cases) do
        local r = torch.where(M, c[1], c[2])
        for i = 1, 1003 do
          local a = type(c[1]) == 'number' and c[1] or c[1][i]
          local b = type(c[2]) == 'number' and c[2] or c[2][i]
          if r[i] ~= (M[i] == 1 and a or b) then
            error(('where (%s): element %d is %s, expected %s'):format(d, i, r[i], M[i] == 1 and a or b))
          end
        end
      end
    end
  end)

  it('mask errors name the function and the shapes', function()
    local x = torch.FloatTensor(3, 4)
    matches(H.error_of(function() x:maskedFill(torch.ByteTensor(5), 1) end),
            'maskedFill:', '%[5%]', '%[3 x 4%]')
    matches(H.error_of(function() x:maskedFill(torch.FloatTensor(4), 1) end),
            'maskedFill:', 'ByteTensor')
    matches(H.error_of(function() x:maskedCopy(torch.ByteTensor(4):fill(1), torch.FloatTensor(5)) end),
            'maskedCopy:', '5', '12')
    matches(H.error_of(function() x:maskedSelect(torch.ByteTensor(2, 4)) end),
            'maskedSelect:', '%[3 x 4%]', '%[2 x 4%]')
    matches(H.error_of(torch.where, torch.FloatTensor(3), x, x), 'where:', 'Byte')
  end)
end)

describe('operators', function()
  for _, d in ipairs(DT) do
    it('* is the matrix product, arithmetic makes new tensors (' .. d .. ')', function()
      local o = fx.ops
      local A, B, V = H.tensor(o.ma, d), H.tensor(o.mb, d), H.tensor(o.v4, d)
      local w = o[d]
      close(A * B, w.mm, d)
      close(A * V, w.mv, d)
      local dot = V * V
      assert.are.equal('number', type(dot))
      close(dot, w.dot, d)
      local keep = A:clone()
      close((2 - A) * 3 / (torch.abs(A) + 1) - A ^ 2 + (-A), w.expr, d)
      close(A, keep, d)
      matches(H.error_of(function() return A * torch.Tensor(2, 3, 4):type(A:type()) end),
              '__mul:', '2D and 3D')
    end)
  end
end)

describe('large tensors (the OpenMP path)', function()
  it('strided, broadcast and masked ops past the parallel grain', function()
    local x = torch.range(1, 60000):double():view(300, 200)
    local z = torch.add(x, x:t():clone():t())             -- contiguous + transposed copy
    local row = torch.range(1, 200):double()
    local w = x:clone():t()
    w:add(2, row:view(200, 1))                            -- in place on a strided view
    for _, ij in ipairs({ { 1, 1 }, { 150, 1 }, { 150, 200 }, { 151, 1 }, { 300, 200 } }) do
      local i, j = ij[1], ij[2]
      local v = (i - 1) * 200 + j
      assert.are.equal(2 * v, z[i][j])
      assert.are.equal(v + 2 * j, w[j][i])
    end
    local sel = x:maskedSelect(x:gt(30000.5))
    assert.are.equal(30000, sel:nElement())
    assert.are.equal(30001, sel[1])
    assert.are.equal(60000, sel[30000])
  end)
end)
