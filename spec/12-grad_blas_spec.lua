-- spec/12-grad_blas_spec.lua — autograd of the matrix products (core/grad_blas.c, recorded by
-- lua/lblas.c): gradcheck (float64 central differences) of mm, addmm, bmm, baddbmm, mv,
-- addmv, ger/outer, addr, dot and matmul in every dispatch form, with each argument alone
-- requiring grad, transposed/narrowed leaves, expanded operands, broadcast addends with beta
-- and alpha; gradients against PyTorch (spec/fixtures/gen_grad_blas.py); dot's 0-dim result
-- when recording; the [res,] and in-place refusals, the version-counter error, grad
-- accumulation, and that nothing is recorded without requiresGrad or under noGrad.
local torch = require 'torch'
local H = require 'helpers'

local fx = H.fixture('grad_blas')

local matches, grad_leaf = H.matches, H.grad_leaf

local randn = H.randn
-- a transposed leaf of shape r x c (column-major strides)
local randn_t = H.randn_t
-- a narrowed leaf of shape r x c (row stride c + 3)
local randn_n = H.randn_n
-- plain float64 data that does not require grad
local function data(...) return torch.randn(...):double() end

local check = H.gradcheck

local function ones_like(y) return torch.ones(y:size()):type(y:type()) end

before_each(function() torch.manualSeed(1) end)

describe('mm and addmm: gradcheck', function()
  it('mm: function and method forms, transposed and narrowed leaves', function()
    local mm = function(a, b) return torch.mm(a, b) end
    check(mm, { randn(3, 4), randn(4, 5) })
    check(function(a, b) return a:mm(b) end, { randn_t(3, 4), randn_t(4, 5) })
    check(mm, { randn_n(3, 4), randn_t(4, 5) })
    check(mm, { randn_t(3, 4), randn_n(4, 5) })
    -- each argument alone
    check(mm, { randn(3, 4), data(4, 5) })
    check(mm, { data(3, 4), randn_t(4, 5) })
    -- the same leaf on both sides
    check(function(a) return a:mm(a) end, { randn(4, 4) })
    check(function(a) return a:mm(a:t()) end, { randn(3, 4) })
    -- expanded operands (stride 0), inside fn
    check(function(a, b) return a:expand(3, 4):mm(b) end, { randn(1, 4), randn(4, 5) })
    check(function(a, b) return a:mm(b:expand(4, 5)) end, { randn(3, 4), randn(4, 1) })
    -- empty inner dimension
    check(function(a, b) return a:mm(b) end, { randn(3, 0), randn(0, 2) })
  end)

  it('addmm: beta and alpha, broadcast c, each argument alone', function()
    local forms = {
      function(c, a, b) return torch.addmm(c, a, b) end,
      function(c, a, b) return torch.addmm(0.5, c, 2, a, b) end,
      function(c, a, b) return torch.addmm(c, -3, a, b) end,
      function(c, a, b) return torch.addmm(0, c, 1.5, a, b) end,
    }
    for _, f in ipairs(forms) do
      check(f, { randn(3, 5), randn(3, 4), randn(4, 5) })
      check(f, { randn(5), randn_t(3, 4), randn_t(4, 5) })       -- c (5) over the rows
      check(f, { randn(1, 5), randn_n(3, 4), randn(4, 5) })
      check(f, { randn(3, 1), randn(3, 4), randn_n(4, 5) })      -- c (3 x 1) over the columns
      check(f, { randn(3, 5), data(3, 4), data(4, 5) })
      check(f, { data(5), randn(3, 4), data(4, 5) })
      check(f, { data(3, 5), data(3, 4), randn_t(4, 5) })
    end
    -- c expanded inside fn, c a transposed leaf
    check(function(c, a, b) return torch.addmm(c:expand(3, 5), a, b) end,
          { randn(1, 5), randn(3, 4), randn(4, 5) })
    check(function(c, a, b) return torch.addmm(2, c, a, b) end,
          { randn_t(3, 5), randn(3, 4), randn(4, 5) })
  end)
end)

describe('bmm and baddbmm: gradcheck', function()
  it('bmm, with non-contiguous and expanded batches', function()
    check(function(a, b) return torch.bmm(a, b) end, { randn(2, 3, 4), randn(2, 4, 5) })
    check(function(a, b) return a:bmm(b) end,
          { grad_leaf(torch.randn(2, 4, 3):double():transpose(2, 3)), randn(2, 4, 5) })
    check(function(a, b) return a:bmm(b) end,
          { randn(2, 3, 4), grad_leaf(torch.randn(5, 4, 2):double():permute(3, 2, 1)) })
    check(function(a, b) return a:bmm(b:expand(2, 4, 5)) end, { randn(2, 3, 4), randn(1, 4, 5) })
    check(function(a, b) return a:bmm(b) end, { data(2, 3, 4), randn(2, 4, 5) })
  end)

  it('baddbmm: beta and alpha, broadcast c', function()
    local f = function(c, a, b) return torch.baddbmm(0.5, c, 2, a, b) end
    check(f, { randn(2, 3, 5), randn(2, 3, 4), randn(2, 4, 5) })
    check(f, { randn(3, 5), randn(2, 3, 4), randn(2, 4, 5) })
    check(f, { randn(1, 1, 5), data(2, 3, 4), randn(2, 4, 5) })
    check(function(c, a, b) return torch.baddbmm(c, a, b) end,
          { randn(2, 3, 1), randn(2, 3, 4), data(2, 4, 5) })
    check(function(c, a, b) return torch.baddbmm(c:expand(2, 3, 5), a, b) end,
          { randn(5), randn(2, 3, 4), randn(2, 4, 5) })
  end)
end)

describe('mv, addmv, ger/outer, addr, dot: gradcheck', function()
  it('mv and addmv', function()
    check(function(m, v) return torch.mv(m, v) end, { randn(3, 4), randn(4) })
    check(function(m, v) return m:mv(v) end, { randn_t(3, 4), randn(4) })
    check(function(m, v) return m:mv(v) end, { randn_n(3, 4), data(4) })
    check(function(m, v) return m:mv(v) end, { data(3, 4), randn(4) })
    -- a strided vector: a column of a matrix
    check(function(m, v) return m:mv(v:select(2, 2)) end, { randn(3, 4), randn(4, 3) })
    check(function(c, m, v) return torch.addmv(0.3, c, 1.7, m, v) end, { randn(3), randn(3, 4), randn(4) })
    check(function(c, m, v) return torch.addmv(c, m, v) end, { randn(1), randn_t(3, 4), data(4) })
    check(function(c, m, v) return torch.addmv(c:expand(3), m, v) end, { randn(1), data(3, 4), randn(4) })
  end)

  it('ger, outer and addr', function()
    check(function(a, b) return torch.ger(a, b) end, { randn(3), randn(4) })
    check(function(a, b) return a:outer(b) end, { randn(3), data(4) })
    check(function(a, b) return torch.outer(a, b:expand(4)) end, { data(3), randn(1) })
    check(function(c, a, b) return torch.addr(2, c, 3, a, b) end, { randn(3, 4), randn(3), randn(4) })
    check(function(c, a, b) return torch.addr(c, a, b) end, { randn(1, 4), randn(3), randn(4) })
    check(function(c, a, b) return torch.addr(c, -1, a, b) end, { randn(3, 1), data(3), randn(4) })
    check(function(c, a, b) return torch.addr(0.5, c, a, b) end, { randn_t(3, 4), randn(3), data(4) })
  end)

  it('dot returns a 0-dim tensor when recording and a number otherwise', function()
    local a, b = randn(5), randn(5)
    local d = a:dot(b)
    assert.is_true(torch.isTensor(d))
    assert.are.equal(0, d:dim())
    assert.are.equal('DotBackward', d.gradFn)
    H.close(d:detach():sum(), a:detach():dot(b:detach()), 1e-14, 0)
    assert.are.equal('number', type(a:detach():dot(b:detach())))
    assert.are.equal('number', type(torch.noGrad(function() return a:dot(b) end)))
    check(function(x, y) return torch.dot(x, y) end, { randn(5), randn(5) })
    check(function(x, y) return x:dot(y) end, { randn(5), data(5) })
    check(function(x, y) return x:dot(y) end, { data(5), randn(5) })
    -- Torch7's dot of two shapes with one element count, non-contiguous
    check(function(x, y) return x:dot(y) end, { randn_t(3, 4), randn(2, 6) })
    check(function(x, y) return x:dot(y:expand(12)) end, { randn(12), randn(1) })
    check(function(x) return x:dot(x) end, { randn(4) })
  end)
end)

describe('matmul: gradcheck of every dispatch form', function()
  local mm = function(a, b) return torch.matmul(a, b) end
  local cases = {
    { '1-D . 1-D', { 4 }, { 4 } },
    { '2-D @ 2-D', { 3, 4 }, { 4, 5 } },
    { '2-D @ 1-D', { 3, 4 }, { 4 } },
    { '1-D @ 2-D', { 4 }, { 4, 5 } },
    { '3-D @ 2-D', { 2, 3, 4 }, { 4, 5 } },
    { '3-D @ 1-D', { 2, 3, 4 }, { 4 } },
    { '1-D @ 3-D', { 3 }, { 2, 3, 4 } },
    { '2-D @ 3-D', { 3, 4 }, { 2, 4, 5 } },
    { '3-D @ 3-D', { 2, 3, 4 }, { 2, 4, 5 } },
    { '3-D @ 3-D, batch broadcast', { 2, 3, 4 }, { 1, 4, 5 } },
    { '4-D @ 3-D, batch broadcast', { 2, 1, 3, 4 }, { 3, 4, 5 } },
    { '4-D @ 1-D', { 2, 2, 3, 4 }, { 4 } },
  }
  for _, c in ipairs(cases) do
    it(c[1], function()
      local sa, sb = c[2], c[3]
      check(mm, { randn(table.unpack(sa)), randn(table.unpack(sb)) })
      check(mm, { randn(table.unpack(sa)), data(table.unpack(sb)) })
      check(mm, { data(table.unpack(sa)), randn(table.unpack(sb)) })
      local y = torch.matmul(randn(table.unpack(sa)), randn(table.unpack(sb)))
      assert.is_string(y.gradFn)
    end)
  end

  it('non-contiguous and expanded operands', function()
    check(mm, { grad_leaf(torch.randn(2, 4, 3):double():transpose(2, 3)), randn_t(4, 5) })
    check(mm, { randn_t(3, 4), grad_leaf(torch.randn(2, 5, 4):double():transpose(2, 3)) })
    check(function(a, b) return torch.matmul(a:expand(2, 3, 4), b) end, { randn(3, 4), randn(2, 4, 5) })
    check(function(a, b) return torch.matmul(a, b:expand(3, 4, 5)) end, { randn(2, 1, 3, 4), randn(4, 5) })
  end)

  it('names the nodes after the form', function()
    assert.are.equal('DotBackward', torch.matmul(randn(3), randn(3)).gradFn)
    assert.are.equal('MmBackward', torch.matmul(randn(2, 3), randn(3, 2)).gradFn)
    assert.are.equal('MvBackward', torch.matmul(randn(2, 3), randn(3)).gradFn)
    assert.are.equal('MatmulBackward', torch.matmul(randn(2, 2, 3), randn(3, 2)).gradFn)
    assert.are.equal('MatmulBackward', torch.matmul(randn(3), randn(3, 2)).gradFn)
  end)
end)

describe('gradients against PyTorch (spec/fixtures/gen_grad_blas.py)', function()
  local ops = {
    mm = function(a, b) return a:mm(b) end,
    addmm = function(c, a, b) return torch.addmm(0.5, c, 2, a, b) end,
    addmm_col = function(c, a, b) return torch.addmm(-1.5, c, 0.25, a, b) end,
    bmm = function(a, b) return a:bmm(b) end,
    baddbmm = function(c, a, b) return torch.baddbmm(0.5, c, 2, a, b) end,
    mv = function(m, v) return m:mv(v) end,
    addmv = function(c, m, v) return torch.addmv(0.3, c, 1.7, m, v) end,
    ger = function(a, b) return torch.ger(a, b) end,
    addr = function(c, a, b) return torch.addr(2, c, 3, a, b) end,
    dot = function(a, b) return a:dot(b) end,
  }
  for name in pairs(fx) do
    if name:match('^matmul') then ops[name] = function(a, b) return torch.matmul(a, b) end end
  end

  for name, f in pairs(ops) do
    it(name .. ' (float64 and float32)', function()
      local c = assert(fx[name], 'no fixture case ' .. name)
      for _, dt in ipairs({ 'float64', 'float32' }) do
        local ins = {}
        for k, t in ipairs(c.inputs) do ins[k] = grad_leaf(H.tensor(t, dt)) end
        local y = f(table.unpack(ins))
        local tol = dt == 'float64' and 1e-12 or 1e-5
        H.close(y, c.y, tol, tol)
        y:backward(H.tensor(c.w, dt))
        for k, g in ipairs(c.grads) do
          assert.are.equal(dt == 'float64' and 'torch.DoubleTensor' or 'torch.FloatTensor', ins[k].grad:type())
          H.close(ins[k].grad, g, tol, tol)
        end
      end
    end)
  end

  it('hand-checked: d(a . b) = b, d(a @ b) with ones', function()
    local a = grad_leaf(torch.DoubleTensor({ 1, 2, 3 }))
    local b = grad_leaf(torch.DoubleTensor({ 4, 5, 6 }))
    a:dot(b):backward()
    H.close(a.grad, torch.DoubleTensor({ 4, 5, 6 }), 0, 0)
    H.close(b.grad, torch.DoubleTensor({ 1, 2, 3 }), 0, 0)
    local m = grad_leaf(torch.DoubleTensor({ { 1, 2 }, { 3, 4 } }))
    local n = grad_leaf(torch.DoubleTensor({ { 1, 0 }, { 0, 2 } }))
    m:mm(n):backward(torch.ones(2, 2):double())
    H.close(m.grad, torch.DoubleTensor({ { 1, 2 }, { 1, 2 } }), 0, 0)   -- ones @ n^T
    H.close(n.grad, torch.DoubleTensor({ { 4, 4 }, { 6, 6 } }), 0, 0)   -- m^T @ ones
  end)
end)

describe('recording rules', function()
  it('names the nodes', function()
    local a, b, c = randn(3, 4), randn(4, 5), randn(3, 5)
    local v, w = randn(4), randn(3)
    local A, B = randn(2, 3, 4), randn(2, 4, 5)
    assert.are.equal('MmBackward', a:mm(b).gradFn)
    assert.are.equal('AddmmBackward', torch.addmm(c, a, b).gradFn)
    assert.are.equal('BmmBackward', A:bmm(B).gradFn)
    assert.are.equal('BaddbmmBackward', torch.baddbmm(c, A, B).gradFn)
    assert.are.equal('MvBackward', a:mv(v).gradFn)
    assert.are.equal('AddmvBackward', torch.addmv(w, a, v).gradFn)
    assert.are.equal('OuterBackward', torch.ger(w, v).gradFn)
    assert.are.equal('OuterBackward', torch.outer(w, v).gradFn)
    assert.are.equal('AddrBackward', torch.addr(a, w, v).gradFn)
    assert.are.equal('DotBackward', v:dot(v).gradFn)
  end)

  it('records nothing when no input requires grad, or under noGrad', function()
    local a, b = data(3, 4), data(4, 5)
    for _, y in ipairs({ a:mm(b), torch.addmm(data(5), a, b), a:mv(data(4)), torch.ger(data(3), data(4)),
                         torch.matmul(data(2, 3, 4), b), data(2, 3, 4):bmm(data(2, 4, 5)) }) do
      assert.is_nil(y.gradFn)
      assert.is_false(y.requiresGrad)
    end
    local r = randn(3, 4)
    torch.noGrad(function()
      assert.is_nil(r:mm(b).gradFn)
      assert.is_nil(torch.addmm(r, r, data(4, 4)).gradFn)
      assert.is_nil(torch.matmul(randn(2, 3, 4), r:t()).gradFn)
      assert.are.equal('number', type(r:select(1, 1):dot(r:select(1, 2))))
    end)
  end)

  it('refuses the [res,] and in-place forms when recording, before writing anything', function()
    local a, b, M = randn(3, 4), randn(4, 5), data(3, 5)
    local v, w, A, B = randn(4), randn(3), randn(2, 3, 4), randn(2, 4, 5)
    local res = torch.DoubleTensor(2):fill(7)
    local before = M:clone()
    local refused = {
      mm = function() torch.mm(res, a, b) end,
      mm_method = function() res:mm(a, b) end,
      addmm = function() torch.addmm(res, M, a, b) end,
      addmm_inplace = function() M:addmm(a, b) end,
      addmm_inplace_beta = function() M:addmm(0.5, 2, a, b) end,
      addmm_res_method = function() res:addmm(M, a, b) end,
      bmm = function() torch.bmm(res, A, B) end,
      baddbmm = function() torch.baddbmm(res, data(2, 3, 5), A, B) end,
      mv = function() torch.mv(res, a, v) end,
      addmv = function() torch.addmv(res, data(3), a, v) end,
      addmv_inplace = function() data(3):addmv(a, v) end,
      ger = function() torch.ger(res, w, v) end,
      outer = function() torch.outer(res, w, v) end,
      addr = function() torch.addr(res, M:narrow(2, 1, 4), w, v) end,
      addr_inplace = function() data(3, 4):addr(w, v) end,
    }
    for name, f in pairs(refused) do
      local fname = name:match('^[^_]+')
      matches(H.error_of(f), fname .. ':', 'cannot be recorded for autograd')
    end
    H.close(res, torch.DoubleTensor({ 7, 7 }), 0, 0)
    H.close(M, before, 0, 0)
    -- an addend made by recorded ops, written in place, is refused too
    local C = randn(3, 4):mm(data(4, 5))
    matches(H.error_of(function() C:addmm(data(3, 4), data(4, 5)) end), 'addmm:', 'cannot be recorded')
    -- allowed under noGrad
    torch.noGrad(function()
      torch.mm(res, a, b)
      M:addmm(a, b)
    end)
    H.close(res, torch.mm(a:detach(), b:detach()), 1e-14, 1e-14)
    assert.is_nil(res.gradFn)
  end)

  it('detects a saved operand modified in place (and only a saved one)', function()
    local a, b = randn(3, 4), randn(4, 5)
    local y = a:mm(b)                -- saves both
    torch.noGrad(function() b:mul(2) end)
    matches(H.error_of(function() y:backward(ones_like(y)) end), 'MmBackward', 'in%-place')
    -- only a requires grad: b is saved, a is not
    local p, q = randn(3, 4), data(4, 5)
    local z = p:mm(q)
    torch.noGrad(function() p:mul(2) end)
    z:backward(ones_like(z))
    H.close(p.grad, torch.mm(torch.ones(3, 5):double(), q:t()), 1e-14, 1e-14)
    local z2 = randn(3, 4):mm(q)
    q:mul(2)                         -- q does not require grad: allowed, but it was saved
    matches(H.error_of(function() z2:backward(ones_like(z2)) end), 'MmBackward', 'in%-place')
    local u, t = randn(5), data(5)
    local d = u:dot(t)
    t:add(1)
    matches(H.error_of(function() d:backward() end), 'DotBackward', 'in%-place')
    local m3 = torch.matmul(randn(2, 3, 4), data(4, 5))
    local m3b = torch.matmul(data(2, 3, 4), randn(4, 5))
    m3:backward(ones_like(m3))
    m3b:backward(ones_like(m3b))
  end)

  it('accumulates gradients across backward calls', function()
    local a = randn(2, 3)
    local b = data(3, 2)
    a:mm(b):sum():backward()
    local y = torch.matmul(a, b)
    y:backward(ones_like(y), true)
    y:backward(ones_like(y))
    H.close(a.grad, torch.mm(torch.ones(2, 2):double(), b:t()) * 3, 1e-14, 1e-14)
  end)
end)

describe('torch.linear (nn.Linear as one node)', function()
  before_each(function() torch.manualSeed(3) end)

  it('computes x @ w^T + b for batches and vectors, with and without bias', function()
    local x, w, b = torch.randn(5, 4):double(), torch.randn(3, 4):double(), torch.randn(3):double()
    H.close(torch.linear(x, w, b), torch.addmm(b, x, w:t()), 1e-12, 1e-12)
    H.close(torch.linear(x, w), torch.mm(x, w:t()), 1e-12, 1e-12)
    H.close(torch.linear(x[1], w, b), torch.addmv(b, w, x[1]), 1e-12, 1e-12)
    assert.matches('linear: size mismatch', H.error_of(torch.linear, torch.randn(5, 3), torch.randn(3, 4)))
  end)

  it('gradchecks every input, in batch and vector form, on non-contiguous leaves', function()
    check(function(x, w, b) return torch.linear(x, w, b) end, { randn(5, 4), randn(3, 4), randn(3) })
    check(function(x, w) return torch.linear(x, w) end, { randn_t(5, 4), randn_t(3, 4) })
    check(function(x, w, b) return torch.linear(x, w, b) end, { randn(4), randn_n(3, 4), randn(3) })
  end)

  it('adds parameter gradients straight into an existing .grad, as a separate pass would', function()
    local x, w, b = randn(6, 4), randn(3, 4), randn(3)
    local g = torch.randn(6, 3):double()
    w.grad, b.grad = torch.ones(3, 4):double(), torch.ones(3):double()
    local gw, gb = w.grad, b.grad
    torch.linear(x, w, b):backward(g)
    H.close(w.grad, torch.addmm(torch.ones(3, 4):double(), g:t(), x:detach()), 1e-12, 1e-12)
    H.close(b.grad, torch.ones(3):double() + g:sum(1):view(3), 1e-12, 1e-12)
    assert.equal(gw:storage(), w.grad:storage())   -- the same tensors, updated in place
    assert.equal(gb:storage(), b.grad:storage())
    H.close(x.grad, torch.mm(g, w:detach()), 1e-12, 1e-12)
  end)
end)
