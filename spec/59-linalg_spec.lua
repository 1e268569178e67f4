-- spec/59-linalg_spec.lua — dense linear algebra (core/linalg.c on OpenBLAS's LAPACK, autograd
-- in core/grad_linalg.c, bindings in lua/llinalg.c): inverse, det, solve / gesv, cholesky /
-- potrf, qr, svd, symeig / eigh against PyTorch (spec/fixtures/gen_linalg.py), in float64,
-- float32 and batches; float64 gradchecks of every backward (det at singular matrices too);
-- the errors (singular, not positive definite, shapes, dtypes, NaN, extra arguments), empty
-- matrices, the forward-only ops' refusal to be recorded, BFloat16 widening, and CUDA tensors
-- through the host (emulated device).
local torch = require 'torch'
local H = require 'helpers'

local fx = H.fixture('linalg')
local check, matches, randn = H.gradcheck, H.matches, H.randn

local function T(f) return H.tensor(f) end
local function D(...) return torch.randn(...):double() end
-- a well-conditioned n x n float64 matrix (or batch)
local function well(...)
  local s = { ... }
  return D(...) + torch.eye(s[#s]):double() * s[#s]
end
local function tr(x) return x:transpose(x:dim() - 1, x:dim()) end
-- x x^T + n I: a positive definite matrix built from differentiable ops (gradchecks of
-- cholesky perturb x, so A stays symmetric)
local function spd(x)
  local n = x:size(x:dim() - 1)
  return torch.matmul(x, tr(x)) + torch.eye(n):type(x:type()) * n
end
-- y:backward(w) from the fixture's inputs; returns the gradients
local function grads_of(fn, c, dtype)
  local ins = {}
  for i, f in ipairs(c.inputs) do ins[i] = H.grad_leaf(H.tensor(f, dtype)) end
  local y = fn(table.unpack(ins))
  y:backward(H.tensor(c.w, dtype))
  local g = {}
  for i, x in ipairs(ins) do g[i] = x.grad end
  return y, g
end

before_each(function() torch.manualSeed(59) end)

describe('inverse', function()
  it('matches PyTorch, values and gradients, float64, a batch and float32', function()
    for _, name in ipairs({ 'inv', 'inv_batch' }) do
      local c = fx[name]
      local y, g = grads_of(torch.inverse, c)
      H.close(y, c.y, 1e-10, 1e-12)
      H.close(g[1], c.grads[1], 1e-9, 1e-11)
    end
    local c = fx.inv_f32
    local y = torch.inverse(T(c.inputs[1]))
    assert.are.equal('torch.FloatTensor', torch.type(y))
    H.close(y, c.ys[1], 1e-5, 1e-6)
  end)

  it('A A^-1 = I; the method form; a transposed (strided) input', function()
    local a = well(5, 5)
    H.close(torch.mm(a, torch.inverse(a)), torch.eye(5):double(), 0, 1e-12)
    H.close(a:inverse(), torch.inverse(a), 0, 0)
    H.close(torch.inverse(a:t()), torch.inverse(a:t():contiguous()), 0, 0)
    H.close(torch.inverse(a:t()), torch.inverse(a):t(), 1e-12, 1e-13)
  end)

  it('gradcheck: plain, transposed and narrowed leaves, a batch', function()
    check(function(a) return torch.inverse(a) end, { H.grad_leaf(well(4, 4)) })
    check(function(a) return torch.inverse(a) end, { H.randn_t(3, 3) })
    check(function(a) return torch.inverse(a) end, { H.randn_n(3, 3) })
    check(function(a) return torch.inverse(a) end, { randn(2, 2, 3, 3) })
    -- used twice: the inverse's output feeds another product
    check(function(a) return torch.mm(torch.inverse(a), a:t()) end, { randn(3, 3) })
  end)

  it('singular matrices: an error naming the function and the zero pivot', function()
    local s = torch.DoubleTensor({ { 1, 2, 3 }, { 2, 4, 6 }, { 1, 0, 1 } })
    local e = H.error_of(torch.inverse, s)
    matches(e, 'inverse: the matrix is singular %(U%(3,3%) is exactly zero%)')
    local b = torch.DoubleTensor(2, 3, 3):copy(torch.eye(3):double():view(1, 3, 3):expand(2, 3, 3))
    b[2]:copy(s)
    matches(H.error_of(torch.inverse, b), 'singular', 'matrix 2 of the batch')
    matches(H.error_of(torch.inverse, torch.zeros(2, 2):float()), 'U%(1,1%) is exactly zero')
  end)
end)

describe('det', function()
  it('a number for a matrix, a 0-dim tensor when recorded, a tensor for a batch', function()
    local a = torch.DoubleTensor({ { 4, 1, 2 }, { 1, 5, 3 }, { 2, 3, 6 } })
    assert.are.equal('number', type(torch.det(a)))
    H.close(torch.det(a), 70, 1e-12)
    assert.are.equal(torch.det(a), a:det())
    local l = H.grad_leaf(a:clone())
    local d = torch.det(l)
    assert.is_true(torch.isTensor(d))
    assert.are.equal(0, d:dim())
    H.close(d:item(), 70, 1e-12)
    assert.is_true(torch.isTensor(torch.noGrad(function() return torch.det(l:view(1, 3, 3)) end)))
    assert.are.equal('number', type(torch.noGrad(function() return torch.det(l) end)))
  end)

  it('matches PyTorch, values and gradients; singular matrices get the cofactors', function()
    for _, name in ipairs({ 'det', 'det_batch' }) do
      local c = fx[name]
      local y, g = grads_of(torch.det, c)
      H.close(y, c.y, 1e-10, 1e-12)
      H.close(g[1], c.grads[1], 1e-9, 1e-11)
    end
    H.close(torch.det(T(fx.det_f32.inputs[1])), fx.det_f32.ys[1], 1e-5, 1e-6)
    -- a singular matrix: det 0, and its gradient is the cofactor matrix (central differences
    -- agree; PyTorch 1.13 and 2.x return zeros there, which their own gradcheck refuses)
    local s = H.grad_leaf(T(fx.det_singular.inputs[1]))
    local d = torch.det(s)
    H.close(d, fx.det_singular.y, 0, 1e-12)
    d:backward()
    H.close(s.grad, torch.DoubleTensor({ { 4, 4, -4 }, { -2, -2, 2 }, { 0, 0, 0 } }), 1e-12, 1e-12)
    -- a row swap flips the sign
    H.close(torch.det(torch.DoubleTensor({ { 0, 1 }, { 1, 0 } })), -1, 0, 0)
  end)

  it('gradcheck: invertible, rank n-1, rank n-2 and zero matrices, a batch', function()
    local det = function(a) return torch.det(a) end
    check(det, { randn(4, 4) })
    check(det, { H.randn_t(3, 3) })
    check(det, { randn(2, 3, 3) })
    check(det, { H.grad_leaf(torch.DoubleTensor({ { 1, 2, 3 }, { 2, 4, 6 }, { 1, 0, 1 } })) })
    check(det, { H.grad_leaf(torch.DoubleTensor({ { 1, 2, 3 }, { 2, 4, 6 }, { 3, 6, 9 } })) })
    check(det, { H.grad_leaf(torch.zeros(3, 3):double()) })
    -- rank n-1 with rows swapped, and random ones: the SVD's det(U) det(V) sign matters
    check(det, { H.grad_leaf(torch.DoubleTensor({ { 2, 4, 6 }, { 1, 2, 3 }, { 1, 0, 1 } })) })
    for _ = 1, 4 do check(det, { H.grad_leaf(torch.mm(D(4, 3), D(3, 4))) }) end
    check(det, { H.grad_leaf(torch.matmul(D(2, 3, 2), D(2, 2, 3))) })
  end)
end)

describe('solve and gesv', function()
  it('matches PyTorch: a matrix B, a vector B, a batch; values and gradients', function()
    for _, name in ipairs({ 'solve', 'solve_vec', 'solve_batch' }) do
      local c = fx[name]
      local y, g = grads_of(torch.solve, c)
      H.close(y, c.y, 1e-10, 1e-12)
      H.close(g[1], c.grads[1], 1e-9, 1e-11)
      H.close(g[2], c.grads[2], 1e-9, 1e-11)
    end
    local c = fx.solve_f32
    H.close(torch.solve(T(c.inputs[1]), T(c.inputs[2])), c.ys[1], 1e-5, 1e-6)
  end)

  it('gesv(B, A) is Torch7s order and returns X and the LU of A (PyTorch lu_factor)', function()
    local a, b = T(fx.lu.inputs[1]), D(4, 3)
    local x, lu = torch.gesv(b, a)
    H.close(x, torch.solve(a, b), 0, 0)
    H.close(torch.mm(a, x), b, 1e-10, 1e-12)
    H.close(lu, fx.lu.ys[1], 1e-12, 1e-14)
  end)

  it('gradcheck: both arguments, each alone, vectors, batches, strided', function()
    local solve = function(a, b) return torch.solve(a, b) end
    check(solve, { randn(4, 4), randn(4, 2) })
    check(solve, { randn(3, 3), randn(3) })
    check(solve, { randn(2, 3, 3), randn(2, 3, 2) })
    check(solve, { randn(2, 3, 3), randn(2, 3) })
    check(solve, { H.randn_t(3, 3), H.randn_n(3, 2) })
    check(solve, { randn(3, 3), D(3, 2) })
    check(solve, { D(3, 3), randn(3, 2) })
    check(function(a, b) return (torch.gesv(b, a)) end, { randn(3, 3), randn(3, 1) })
  end)

  it('refuses mismatched shapes, types and singular matrices', function()
    local a = well(3, 3)
    matches(H.error_of(torch.solve, a, D(4, 2)), "bad argument #2 to", "solve",
            'expected B of shape %[3 x k%] or %[3%]', 'got B %[4 x 2%]')
    matches(H.error_of(torch.solve, a, D(2, 3, 2)), 'got B %[2 x 3 x 2%]')
    matches(H.error_of(torch.solve, well(2, 3, 3), D(3, 3, 2)), 'batch dims must match')
    matches(H.error_of(torch.solve, a, torch.randn(3, 2)), "expected B of A's type torch.DoubleTensor")
    matches(H.error_of(torch.solve, D(3, 2), D(3, 2)), 'bad argument #1', 'square')
    matches(H.error_of(torch.gesv, D(3, 2), D(2, 3)), 'bad argument #2', 'square')
    matches(H.error_of(torch.solve, torch.zeros(3, 3):double(), D(3)),
            'solve: the matrix is singular %(U%(1,1%) is exactly zero%)')
  end)
end)

describe('cholesky and potrf', function()
  it('matches PyTorch: lower, upper, a batch, float32; gradients (symmetric)', function()
    local y, g = grads_of(torch.cholesky, fx.cholesky)
    H.close(y, fx.cholesky.y, 1e-10, 1e-12)
    H.close(g[1], fx.cholesky.grads[1], 1e-9, 1e-11)
    y, g = grads_of(function(a) return torch.cholesky(a, true) end, fx.cholesky_upper)
    H.close(y, fx.cholesky_upper.y, 1e-10, 1e-12)
    H.close(g[1], fx.cholesky_upper.grads[1], 1e-9, 1e-11)
    y, g = grads_of(torch.cholesky, fx.cholesky_batch)
    H.close(y, fx.cholesky_batch.y, 1e-10, 1e-12)
    H.close(g[1], fx.cholesky_batch.grads[1], 1e-9, 1e-11)
    H.close(torch.cholesky(T(fx.cholesky_f32.inputs[1])), fx.cholesky_f32.ys[1], 1e-5, 1e-6)
  end)

  it("potrf is Torch7's: upper by default, 'L' for lower", function()
    local a = T(fx.cholesky.inputs[1])
    local u = torch.potrf(a)
    H.close(u, torch.cholesky(a, true), 0, 0)
    H.close(torch.mm(u:t(), u), a, 1e-12, 1e-12)
    H.close(torch.potrf(a, 'L'), torch.cholesky(a), 0, 0)
    H.close(torch.potrf(a, 'U'), u, 0, 0)
    H.close(a:cholesky(), torch.cholesky(a), 0, 0)
    -- only the lower triangle is read, as PyTorch
    local c = a:clone()
    c[1][4] = 1e6
    H.close(torch.cholesky(c), torch.cholesky(a), 0, 0)
  end)

  it('gradcheck through A = x x^T + n I: lower, upper, a batch', function()
    check(function(x) return torch.cholesky(spd(x)) end, { randn(4, 4) })
    check(function(x) return torch.cholesky(spd(x), true) end, { randn(3, 3) })
    check(function(x) return torch.potrf(spd(x), 'L') end, { randn(3, 2) })
    check(function(x) return torch.cholesky(spd(x)) end, { randn(2, 3, 3) })
  end)

  it('a matrix that is not positive definite: an error naming the minor', function()
    local e = H.error_of(torch.cholesky, torch.DoubleTensor({ { 1, 2 }, { 2, 1 } }))
    matches(e, 'cholesky: the matrix is not positive definite %(the leading minor of order 2')
    matches(H.error_of(torch.potrf, -torch.eye(3):double()), 'potrf: ', 'order 1')
    matches(H.error_of(torch.cholesky, well(3, 3), 'yes'), 'bad argument #2', 'boolean expected')
    matches(H.error_of(torch.potrf, well(3, 3), 'X'), 'bad argument #2', "'U' or 'L'")
  end)
end)

-- columns of q equal those of ref up to sign
local function same_up_to_sign(q, ref, tol)
  local p = torch.abs(torch.matmul(tr(q), ref))
  local k = p:size(p:dim())
  local d = p:dim() == 2 and p:diag() or torch.cat({ p[1]:diag(), p[2]:diag() })
  H.close(d, torch.ones(d:size()):double(), 0, tol)
  assert.are.equal(q:size(q:dim()), k)
end

describe('qr', function()
  it('reduced Q, R: Q R = A, Q^T Q = I, R upper; Q matches PyTorch up to signs', function()
    for _, name in ipairs({ 'qr_tall', 'qr_wide', 'qr_batch' }) do
      local c = fx[name]
      local a = T(c.inputs[1])
      local q, r = torch.qr(a)
      assert.are.same(c.ys[1].shape, q:size():totable())
      H.close(torch.matmul(q, r), a, 1e-12, 1e-12)
      local k = q:size(q:dim())
      local qtq = torch.matmul(tr(q), q)
      H.close(qtq, torch.eye(k):double():expandAs(qtq), 0, 1e-12)
      H.close(torch.abs(r), torch.abs(T(c.ys[2])), 1e-10, 1e-12)
      same_up_to_sign(q, T(c.ys[1]), 1e-10)
      local rr = r:dim() == 2 and r or r[1]
      for i = 2, rr:size(1) do for j = 1, i - 1 do assert.are.equal(0, rr[i][j]) end end
    end
    local q, r = T(fx.qr_tall.inputs[1]):qr()
    H.close(torch.mm(q, r), T(fx.qr_tall.inputs[1]), 1e-12, 1e-12)
  end)
end)

describe('svd', function()
  it('U diag(S) V^T = A with V (not V^T); S matches PyTorch; U, V up to signs', function()
    for _, name in ipairs({ 'svd_tall', 'svd_wide', 'svd_batch' }) do
      local c = fx[name]
      local a = T(c.inputs[1])
      local u, s, v = torch.svd(a)
      H.close(s, c.ys[2], 1e-12, 1e-12)
      local us = u:clone()
      if us:dim() == 2 then us:cmul(s:view(1, -1):expandAs(us))
      else us:cmul(s:view(s:size(1), 1, s:size(2)):expandAs(us)) end
      H.close(torch.matmul(us, tr(v)), a, 1e-12, 1e-12)
      same_up_to_sign(u, T(c.ys[1]), 1e-10)
      same_up_to_sign(v, T(c.ys[3]), 1e-10)
    end
    local c = fx.svd_f32
    local u, s, v = torch.svd(T(c.inputs[1]))
    assert.are.equal('torch.FloatTensor', torch.type(v))
    H.close(s, c.ys[2], 1e-5, 1e-6)
  end)

  it('some = false: the full square U and V', function()
    local a = T(fx.svd_tall.inputs[1])        -- 4 x 3
    local u, s, v = torch.svd(a, false)
    assert.are.same({ 4, 4 }, u:size():totable())
    assert.are.same({ 3, 3 }, v:size():totable())
    H.close(torch.mm(u:t(), u), torch.eye(4):double(), 0, 1e-12)
    H.close(torch.mm(u:narrow(2, 1, 3) * torch.diag(s), v:t()), a, 1e-12, 1e-12)
    local _, _, v2 = a:svd()
    H.close(torch.abs(v2), torch.abs(v), 1e-12, 1e-12)
  end)
end)

describe('symeig and eigh', function()
  it('ascending eigenvalues as PyTorch; A V = V diag(e); vectors up to signs', function()
    for _, name in ipairs({ 'eigh', 'eigh_batch' }) do
      local c = fx[name]
      local a = T(c.inputs[1])
      local e, v = torch.eigh(a)
      H.close(e, c.ys[1], 1e-12, 1e-12)
      same_up_to_sign(v, T(c.ys[2]), 1e-10)
      local e2, v2 = torch.symeig(a, true)
      H.close(e2, e, 1e-12, 1e-12)
      local ve = v2:clone()
      if ve:dim() == 2 then ve:cmul(e2:view(1, -1):expandAs(ve))
      else ve:cmul(e2:view(e2:size(1), 1, e2:size(2)):expandAs(ve)) end
      H.close(torch.matmul(a, v2), ve, 1e-10, 1e-12)
    end
    local c = fx.eigh_f32
    H.close(torch.eigh(T(c.inputs[1])), c.ys[1], 1e-5, 1e-5)
  end)

  it("symeig's options: eigenvectors off by default; 'V'/'N', 'U'/'L' (Torch7) and booleans",
     function()
    local a = T(fx.eigh.inputs[1])
    local e, v = torch.symeig(a)
    assert.are.equal(0, v:nElement())
    H.close(e, fx.eigh.ys[1], 1e-12, 1e-12)
    local _, vv = torch.symeig(a, 'V', 'L')
    assert.are.same({ 4, 4 }, vv:size():totable())
    -- upper = true (the default) reads the upper triangle, 'L' / eigh the lower one
    local b = a:clone()
    b[4][1] = 100
    H.close(torch.symeig(b), fx.eigh.ys[1], 1e-12, 1e-12)
    H.close(torch.eigh(b, 'U'), fx.eigh.ys[1], 1e-12, 1e-12)
    local bl = a:clone()
    bl[1][4] = 100
    H.close(torch.eigh(bl), fx.eigh.ys[1], 1e-12, 1e-12)
    H.close(torch.symeig(bl, false, false), fx.eigh.ys[1], 1e-12, 1e-12)
    matches(H.error_of(torch.symeig, a, 'Q'), 'bad argument #2', "'V' or 'N'")
  end)
end)

describe('forward-only ops and autograd', function()
  it('qr, svd, symeig, eigh refuse to be recorded, and run under noGrad or on a detached input',
     function()
    local a = randn(3, 3)
    for _, f in ipairs({ 'qr', 'svd', 'symeig', 'eigh' }) do
      matches(H.error_of(torch[f], a), f .. ': no gradient yet')
      assert.is_true(torch.isTensor((torch.noGrad(function() return torch[f](a) end))))
      assert.is_true(torch.isTensor((torch[f](a:detach()))))
    end
  end)

  it('a backward after an in-place change of a saved tensor is refused', function()
    local a = randn(3, 3)
    local y = torch.inverse(a)
    local s = y:sum()
    torch.noGrad(function() y:add(1) end)
    matches(H.error_of(function() s:backward() end), 'InverseBackward')
  end)
end)

describe('bad input never crashes', function()
  local fns = {
    inverse = function(a) return torch.inverse(a) end,
    det = function(a) return torch.det(a) end,
    cholesky = function(a) return torch.cholesky(a) end,
    potrf = function(a) return torch.potrf(a) end,
    symeig = function(a) return torch.symeig(a, true) end,
    eigh = function(a) return torch.eigh(a) end,
  }

  it('wrong dims, non-square, integer types: argument errors naming the function', function()
    for name, f in pairs(fns) do
      matches(H.error_of(f, D(3)), 'bad argument #1', name,
              'expected a matrix or a batch of matrices, got a 1%-D tensor %[3%]')
      matches(H.error_of(f, D(3, 4)), 'bad argument #1', name,
              'expected a square matrix or a batch of them, got %[3 x 4%]')
      matches(H.error_of(f, torch.LongTensor(3, 3)), 'bad argument #1', name,
              'expected a Float or Double tensor, got torch.LongTensor')
      matches(H.error_of(f, torch.ByteTensor(2, 2)), 'torch.ByteTensor')
      matches(H.error_of(f, nil), 'bad argument #1', name)
    end
    for _, name in ipairs({ 'qr', 'svd' }) do
      matches(H.error_of(torch[name], D(3)), 'bad argument #1', name, '1%-D tensor')
      matches(H.error_of(torch[name], torch.LongTensor(3, 4)), 'Float or Double')
    end
    matches(H.error_of(torch.inverse, D(2, 2), D(2, 2)), 'inverse: expected at most 1 argument')
    matches(H.error_of(torch.svd, D(2, 2), 1), 'bad argument #2', 'boolean expected')
  end)

  it('NaN and infinite elements: an error, before LAPACK sees them', function()
    local nan = D(3, 3)
    nan[2][2] = 0 / 0
    local inf = D(3, 3)
    inf[3][1] = math.huge
    local all = { 'inverse', 'det', 'cholesky', 'qr', 'svd', 'symeig', 'eigh' }
    for _, name in ipairs(all) do
      matches(H.error_of(torch[name], nan), name .. ': the input has a NaN or infinite element %(element 5%)')
      matches(H.error_of(torch[name], inf), 'element 7')
    end
    matches(H.error_of(torch.solve, well(3, 3), torch.DoubleTensor({ 1, 0 / 0, 2 })), 'solve: ',
            'NaN or infinite')
  end)

  it('empty matrices: 0 x 0 and empty batches give empty results (det 1)', function()
    local e = torch.DoubleTensor(0, 0)
    assert.are.same({ 0, 0 }, torch.inverse(e):size():totable())
    assert.are.equal(1, torch.det(e))
    assert.are.same({ 0, 0 }, torch.cholesky(e):size():totable())
    assert.are.same({ 0, 3, 3 }, torch.inverse(torch.DoubleTensor(0, 3, 3)):size():totable())
    assert.are.same({ 0 }, torch.det(torch.DoubleTensor(0, 3, 3)):size():totable())
    assert.are.same({ 0, 2 }, torch.solve(e, torch.DoubleTensor(0, 2)):size():totable())
    assert.are.same({ 3, 0 }, torch.solve(well(3, 3), torch.DoubleTensor(3, 0)):size():totable())
    local q, r = torch.qr(torch.DoubleTensor(3, 0))
    assert.are.same({ 3, 0 }, q:size():totable())
    assert.are.same({ 0, 0 }, r:size():totable())
    local u, s, v = torch.svd(torch.DoubleTensor(2, 0))
    assert.are.same({ 2, 0 }, u:size():totable())
    assert.are.equal(0, s:nElement())
    u, s, v = torch.svd(torch.DoubleTensor(2, 0), false)
    H.close(u, torch.eye(2):double(), 0, 0)
    assert.are.same({ 0, 0 }, v:size():totable())
    local ev = torch.eigh(e)
    assert.are.equal(0, ev:nElement())
  end)

  it('BFloat16 inputs are widened to float32 and rounded back', function()
    local a = well(3, 3)
    local y = torch.inverse(a:bfloat16())
    assert.are.equal('torch.BFloat16Tensor', torch.type(y))
    H.close(y:double(), torch.inverse(a:bfloat16():double()), 2e-2, 1e-3)
    local q, r = torch.qr(a:bfloat16())
    assert.are.equal('torch.BFloat16Tensor', torch.type(q))
    H.close(torch.mm(q:float(), r:float()), a:bfloat16():float(), 3e-2, 3e-2)
    -- autograd through the widened copy: a BFloat16 leaf gets a BFloat16 gradient
    local l = H.grad_leaf(a:bfloat16())
    torch.inverse(l):sum():backward()
    assert.are.equal('torch.BFloat16Tensor', torch.type(l.grad))
    local ref = H.grad_leaf(l:detach():double())
    torch.inverse(ref):sum():backward()
    H.close(l.grad:double(), ref.grad, 5e-2, 1e-2)
  end)
end)

describe('CUDA tensors go through the host', function()
  H.gpu_it('inverse, det, solve, cholesky, qr, svd, eigh on the device, with gradients', function()
    local a, b = well(3, 3), D(3, 2)
    local ac, bc = a:cuda(), b:cuda()
    local y = torch.inverse(ac)
    assert.are.equal('torch.CudaDoubleTensor', torch.type(y))
    H.close(y:cpu(), torch.inverse(a), 1e-12, 1e-12)
    H.close(torch.det(ac), torch.det(a), 1e-12, 1e-12)
    H.close(torch.solve(ac, bc):cpu(), torch.solve(a, b), 1e-12, 1e-12)
    local p = spd(a)
    H.close(torch.cholesky(p:cuda()):cpu(), torch.cholesky(p), 1e-12, 1e-12)
    local q, r = torch.qr(ac)
    assert.are.equal('torch.CudaDoubleTensor', torch.type(r))
    H.close(torch.mm(q, r):cpu(), a, 1e-12, 1e-12)
    local _, s = torch.svd(ac)
    H.close(s:cpu(), select(2, torch.svd(a)), 1e-12, 1e-12)
    H.close(torch.eigh(p:cuda()):cpu(), torch.eigh(p), 1e-12, 1e-12)
    -- gradients on the device equal the host's
    local function grads(x, z, f)
      x = H.grad_leaf(x:clone())
      z = H.grad_leaf(z:clone())
      f(x, z):sum():backward()
      return x.grad:cpu(), z.grad and z.grad:cpu()
    end
    for _, f in ipairs({
      function(x) return torch.inverse(x) end,
      function(x) return torch.det(x:view(1, 3, 3)) end,
      function(x, z) return torch.solve(x, z) end,
      function(x) return torch.cholesky(spd(x)) end,
    }) do
      local ga, gb = grads(ac, bc, f)
      local ha, hb = grads(a, b, f)
      H.close(ga, ha, 1e-10, 1e-12)
      if hb then H.close(gb, hb, 1e-10, 1e-12) else assert.is_nil(gb) end
    end
  end)
end)
