-- Matrix products through BLAS: mm, addmm, bmm, baddbmm, mv, addmv, dot, ger/outer, addr and
-- matmul against PyTorch (spec/fixtures/gen_blas.py), with transposed, narrowed, selected and
-- expanded operands, the Torch7 argument forms, aliasing, shape and type errors, empty dims.
local torch = require 'torch'
local H = require 'helpers'

local F = H.fixture('blas')

local TOL = { float32 = { 1e-5, 1e-5 }, float64 = { 1e-12, 1e-12 } }
local CTOR = { float32 = torch.FloatTensor, float64 = torch.DoubleTensor }

for _, dt in ipairs({ 'float32', 'float64' }) do
  local f = F[dt]
  local rtol, atol = TOL[dt][1], TOL[dt][2]
  local function T(name) return H.tensor(f[name], dt) end
  local function close(actual, name) H.close(actual, f[name], rtol, atol) end
  local typename = dt == 'float32' and 'torch.FloatTensor' or 'torch.DoubleTensor'

  describe('mm (' .. dt .. ')', function()
    it('multiplies contiguous matrices in the input type', function()
      local r = torch.mm(T 'a', T 'b')
      assert.equal(typename, r:type())
      close(r, 'mm')
    end)

    it('takes transposed operands without copying them (t())', function()
      close(torch.mm(T('at'):t(), T 'b'), 'mm_ta')
      close(torch.mm(T 'a', T('bt'):t()), 'mm_tb')
      close(torch.mm(T('at'):t(), T('bt'):t()), 'mm_tab')
    end)

    it('takes narrowed views (leading dimension larger than a row)', function()
      local a = T('abig'):narrow(1, 2, 5):narrow(2, 3, 7)
      local b = T('bbig'):narrow(2, 4, 3)
      assert.is_false(a:isContiguous())
      close(torch.mm(a, b), 'mm_narrow')
      close(torch.mm(b:t(), a:t()):t(), 'mm_narrow')
    end)

    it('passes transposed and narrowed operands and results to BLAS without copies', function()
      local a, b = T('at'):t(), T('bt'):t()
      local nar, bnar = T('abig'):narrow(1, 2, 5):narrow(2, 3, 7), T('bbig'):narrow(2, 4, 3)
      local res = CTOR[dt](5, 3)
      local before = torch.allocatorStats().allocations
      res:mm(a, b)
      res:mm(nar, bnar)
      res:addmm(0.5, 2, a, b)
      res:t():mm(b:t(), a:t())
      assert.equal(before, torch.allocatorStats().allocations)
      close(res:t():t(), 'mm_tab')
    end)

    it('copies layouts BLAS cannot take: strided columns, expanded rows', function()
      close(torch.mm(T('a3'):select(3, 1), T 'b'), 'mm_select')
      close(torch.mm(T('arow'):expand(5, 7), T 'b'), 'mm_expand')
    end)

    it('runs a larger product through the blocked kernels', function()
      close(torch.mm(T 'abig_d', T 'bbig_d'), 'mm_big')
    end)

    it('has the Torch7 forms: res:mm(a, b), torch.mm(res, a, b), a:mm(b)', function()
      local res = CTOR[dt](2, 2)
      local r = res:mm(T 'a', T 'b')
      assert.equal(res, r)
      close(res, 'mm')
      local res2 = CTOR[dt]()
      assert.equal(res2, torch.mm(res2, T 'a', T 'b'))
      close(res2, 'mm')
      local a = T 'a'
      local before = a:clone()
      close(a:mm(T 'b'), 'mm')
      H.close(a, before, 0, 0)  -- a:mm(b) is a new tensor, a is untouched
    end)

    it('writes into a transposed or narrowed result in place', function()
      local base = CTOR[dt](3, 5):fill(7)
      local res = base:t()            -- 5x3 with strides (1, 5)
      res:mm(T 'a', T 'b')
      close(base:t(), 'mm')
      local big = CTOR[dt](6, 4):fill(7)
      local sub = big:narrow(1, 2, 5):narrow(2, 1, 3)
      sub:mm(T 'a', T 'b')
      close(sub, 'mm')
      assert.same({ 7, 7, 7, 7 }, big[1]:totable())   -- outside the view untouched
      assert.equal(7, big[2][4])
      local odd = CTOR[dt](5, 3, 2)
      local sel = odd:select(3, 2)     -- strides (6, 2): goes through a temporary
      sel:mm(T 'a', T 'b')
      close(sel, 'mm')
    end)

    it('handles a result that aliases an operand (through a temporary)', function()
      local a = T 'a'
      local res = a:narrow(2, 1, 3)          -- 5x3, a view into a's own storage
      res:mm(a:clone(), T 'b')
      close(res, 'mm')
      local a2 = T 'a'
      local res2 = a2:narrow(2, 5, 3)
      res2:mm(a2, T 'b')                     -- reads a2 while writing into it
      close(res2, 'mm')
      local b = T 'b'
      local bt = CTOR[dt](3, 3)
      local b3 = b:narrow(1, 1, 3)
      local expect = CTOR[dt](3, 3):copy(b3)
      bt:copy(b3)
      bt:mm(bt, CTOR[dt](3, 3):fill(1))          -- out == a: the sums of each row
      for i = 1, 3 do
        local s = expect[i][1] + expect[i][2] + expect[i][3]
        for j = 1, 3 do H.close(bt[i][j], s, rtol, atol) end
      end
    end)

    it('gives an empty result, or zeros for an empty inner dim', function()
      local r = torch.mm(CTOR[dt](0, 3), CTOR[dt](3, 4))
      assert.same({ 0, 4 }, r:size():totable())
      local z = torch.mm(CTOR[dt](2, 0), CTOR[dt](0, 3))
      assert.same({ { 0, 0, 0 }, { 0, 0, 0 } }, z:totable())
    end)

    it('raises size errors that show both shapes', function()
      local err = H.error_of(torch.mm, CTOR[dt](100, 28), CTOR[dt](128, 512))
      assert.matches('mm: size mismatch, [100 x 28] * [128 x 512]', err, 1, true)
      assert.matches('mm: expected 2%-D matrices, got %[3%] %* %[3 x 4%]',
                     H.error_of(torch.mm, CTOR[dt](3), CTOR[dt](3, 4)))
    end)
  end)

  describe('addmm (' .. dt .. ')', function()
    it('computes beta * M + alpha * a @ b', function()
      close(torch.addmm(0.5, T 'c', 2, T 'a', T 'b'), 'addmm')
      close(torch.addmm(T 'bias', T 'a', T 'b'), 'addmm_bias')   -- M broadcasts
    end)

    it('works in place: M:addmm(beta, alpha, a, b) and M:addmm(a, b)', function()
      local c = T 'c'
      c:addmm(0.5, 2, T 'a', T 'b')
      close(c, 'addmm')
      -- one number on the in-place form is alpha (nn.Linear's gradWeight:addmm(scale, ...))
      local c2 = T 'c'
      local r = c2:addmm(2, T 'a', T 'b')
      assert.equal(c2, r)
      H.close(c2, torch.addmm(1, T 'c', 2, T 'a', T 'b'), rtol, atol)
      local c3 = T('bias'):view(1, 3):expand(5, 3):clone()
      c3:addmm(T 'a', T 'b')
      close(c3, 'addmm_bias')
    end)

    it('writes res with res:addmm(beta, M, alpha, a, b) and torch.addmm(res, ...)', function()
      local res = CTOR[dt]()
      res:addmm(0.5, T 'c', 2, T 'a', T 'b')
      close(res, 'addmm')
      local res2 = CTOR[dt](5, 3)
      assert.equal(res2, torch.addmm(res2, 0.5, T 'c', 2, T 'a', T 'b'))
      close(res2, 'addmm')
    end)

    it('ignores M and NaN in it when beta is 0', function()
      local c = CTOR[dt](5, 3):fill(0 / 0)
      close(torch.addmm(0, c, 1, T 'a', T 'b'), 'mm')
      c:addmm(0, 1, T 'a', T 'b')
      close(c, 'mm')
      local res = CTOR[dt](5, 3):fill(0 / 0)   -- mm overwrites whatever res held
      res:mm(T 'a', T 'b')
      close(res, 'mm')
      local z = CTOR[dt](2, 2):fill(0 / 0)
      z:mm(CTOR[dt](2, 0), CTOR[dt](0, 2))
      assert.same({ { 0, 0 }, { 0, 0 } }, z:totable())
      local g = CTOR[dt](5, 3):fill(0 / 0)
      g:addr(0, 1, T 'x', T 'y')
      close(g, 'ger')
    end)

    it('gives beta * M for an empty inner dim', function()
      local M = CTOR[dt]({ { 1, 2 }, { 3, 4 } })
      local r = torch.addmm(2, M, 3, CTOR[dt](2, 0), CTOR[dt](0, 2))
      assert.same({ { 2, 4 }, { 6, 8 } }, r:totable())
    end)

    it('raises for an M of the wrong shape and bad arguments', function()
      local err = H.error_of(torch.addmm, CTOR[dt](4, 3), T 'a', T 'b')
      assert.matches('addmm: size mismatch, [4 x 3] + [5 x 7] * [7 x 3]', err, 1, true)
      assert.matches('addmm: expected arguments', H.error_of(torch.addmm, T 'a', 'x', T 'b'))
      assert.matches('addmm: expected arguments', H.error_of(torch.addmm, T 'a', T 'b'))
    end)
  end)

  describe('bmm and baddbmm (' .. dt .. ')', function()
    it('multiplies batches, also with transposed slices', function()
      close(torch.bmm(T 'A', T 'B'), 'bmm')
      close(torch.bmm(T('At'):transpose(2, 3), T 'B'), 'bmm_t')
      local res = CTOR[dt]()
      res:bmm(T 'A', T 'B')
      close(res, 'bmm')
    end)

    it('adds: baddbmm with beta and alpha, in place too', function()
      close(torch.baddbmm(0.25, T 'C', -1.5, T 'A', T 'B'), 'baddbmm')
      local C = T 'C'
      C:baddbmm(0.25, -1.5, T 'A', T 'B')
      close(C, 'baddbmm')
    end)

    it('takes a batch-expanded operand', function()
      local B1 = T('B'):narrow(1, 1, 1)
      close(torch.bmm(T 'A', B1:expand(4, 6, 3)), 'bmm_expand')
    end)

    it('raises on mismatched batches or inner dims', function()
      assert.matches('bmm: size mismatch, [4 x 5 x 6] * [3 x 6 x 3]',
                     H.error_of(torch.bmm, T 'A', CTOR[dt](3, 6, 3)), 1, true)
      assert.matches('bmm: size mismatch, [4 x 5 x 6] * [4 x 5 x 3]',
                     H.error_of(torch.bmm, T 'A', CTOR[dt](4, 5, 3)), 1, true)
      assert.matches('bmm: expected 3%-D', H.error_of(torch.bmm, T 'a', T 'b'))
    end)
  end)

  describe('mv and addmv (' .. dt .. ')', function()
    it('multiplies a matrix by a vector, also transposed or strided', function()
      close(torch.mv(T 'M', T 'v'), 'mv')
      close(torch.mv(T('Mt'):t(), T 'v'), 'mv_t')
      local v = T('vbase'):select(2, 2)
      assert.equal(2, v:stride(1))
      close(torch.mv(T 'M', v), 'mv_strided')
      close(T('M'):mv(T 'v'), 'mv')
    end)

    it('adds: addmv, in place and into res', function()
      close(torch.addmv(2, T 'cv', 0.5, T 'M', T 'v'), 'addmv')
      local c = T 'cv'
      c:addmv(2, 0.5, T 'M', T 'v')
      close(c, 'addmv')
      local nanc = CTOR[dt](5):fill(0 / 0)
      nanc:addmv(0, 1, T 'M', T 'v')
      close(nanc, 'mv')
    end)

    it('raises on a size mismatch', function()
      assert.matches('mv: size mismatch, [5 x 7] * [5]',
                     H.error_of(torch.mv, T 'M', CTOR[dt](5)), 1, true)
    end)
  end)

  describe('dot, ger and addr (' .. dt .. ')', function()
    it('dot returns a number, strided operands included', function()
      local d = torch.dot(T 'v', T('vbase'):select(2, 1))
      assert.equal('number', type(d))
      H.close(d, f.dot, rtol, atol)
      H.close(T('v'):dot(T('vbase'):select(2, 1)), f.dot, rtol, atol)
      assert.equal(0, torch.dot(CTOR[dt](0), CTOR[dt](0)))
      assert.matches('dot: size mismatch', H.error_of(torch.dot, T 'v', CTOR[dt](3)))
    end)

    it('ger/outer build outer products; res:ger writes res', function()
      close(torch.ger(T 'x', T 'y'), 'ger')
      close(torch.outer(T 'x', T 'y'), 'ger')
      close(T('x'):outer(T 'y'), 'ger')
      local res = CTOR[dt]()
      res:ger(T 'x', T 'y')
      close(res, 'ger')
    end)

    it('addr adds beta * M, in place too', function()
      close(torch.addr(0.5, T 'cr', 3, T 'x', T 'y'), 'addr')
      local c = T 'cr'
      c:addr(0.5, 3, T 'x', T 'y')
      close(c, 'addr')
    end)
  end)

  describe('matmul (' .. dt .. ')', function()
    it('dispatches on dims and broadcasts batches', function()
      close(torch.matmul(T 'm1', T 'm2'), 'matmul_3d_1d')
      close(torch.matmul(T 'm2', T 'm3'), 'matmul_1d_3d')
      close(torch.matmul(T 'm4', T 'm3'), 'matmul_4d_3d')
      close(torch.matmul(T 'm1', T('m3')[1]), 'matmul_3d_2d')
      close(T('m2'):matmul(T('m3')[2]), 'matmul_1d_2d')
      local s = torch.matmul(T 'm2', T 'm2')
      assert.equal(0, s:dim())
      H.close(s:item(), f.matmul_1d_1d, rtol, atol)
      close(torch.matmul(T 'a', T 'b'), 'mm')
      close(torch.matmul(T 'M', T 'v'), 'mv')
    end)

    it('raises on mismatched inner dims', function()
      assert.matches('matmul: size mismatch', H.error_of(torch.matmul, T 'm1', T 'm1'))
    end)
  end)
end

describe('BLAS type checks', function()
  it('needs Float or Double tensors of one type', function()
    local L = torch.LongTensor(2, 2)
    assert.matches('mm: expected Float or Double tensors, got torch.LongTensor',
                   H.error_of(torch.mm, L, L), 1, true)
    assert.matches('mv: expected Float or Double tensors, got torch.ByteTensor',
                   H.error_of(torch.mv, torch.ByteTensor(2, 2), torch.ByteTensor(2)), 1, true)
    assert.matches('dot: expected Float or Double tensors, got torch.LongTensor',
                   H.error_of(torch.dot, torch.LongTensor(2), torch.LongTensor(2)), 1, true)
    assert.matches('mm: expected tensors of one type, got torch.FloatTensor and ' ..
                   'torch.DoubleTensor',
                   H.error_of(torch.mm, torch.FloatTensor(2, 2), torch.DoubleTensor(2, 2)), 1, true)
    assert.matches('mm: result is torch.DoubleTensor, inputs are torch.FloatTensor',
                   H.error_of(torch.mm, torch.DoubleTensor(), torch.FloatTensor(2, 2),
                              torch.FloatTensor(2, 2)), 1, true)
  end)

  it('refuses to write into an expanded result', function()
    local r = torch.FloatTensor(1, 3):expand(2, 3)
    assert.matches('mm: cannot write into an expanded tensor',
                   H.error_of(torch.mm, r, torch.FloatTensor(2, 4), torch.FloatTensor(4, 3)))
  end)
end)

describe('threads', function()
  it('setnumthreads/getnumthreads round trip, results unchanged', function()
    local n0 = torch.getnumthreads()
    local a = torch.DoubleTensor(64, 64):uniform(-1, 1)
    local b = torch.DoubleTensor(64, 64):uniform(-1, 1)
    torch.setnumthreads(1)
    assert.equal(1, torch.getnumthreads())
    local r1 = torch.mm(a, b)
    torch.setnumthreads(2)
    assert.equal(2, torch.getnumthreads())
    local r2 = torch.mm(a, b)
    torch.setnumthreads(n0)
    H.close(r1, r2, 1e-12, 1e-12)
    assert.matches('setnumthreads', H.error_of(torch.setnumthreads, 0))
  end)
end)

-- Products of 2^18 multiply-adds per thread and more run as one single-threaded GEMM per
-- thread on a slab of C's rows or columns (core/blas.c, gemm_run). Entries are small dyadic
-- numbers, so every product is exact in float32 and float64 and a plain Lua loop is the
-- reference; the edges are not multiples of the slab alignment, and 3 threads split unevenly.
describe('products split across threads (core/blas.c)', function()
  local function dyadic(r, c, seed)   -- a Lua matrix of multiples of 1/4 in [-2, 2]
    local m = {}
    for i = 1, r do
      m[i] = {}
      for j = 1, c do m[i][j] = ((i * 7 + j * 13 + seed * 5) % 17 - 8) / 4 end
    end
    return m
  end
  local function transpose(m)
    local t = {}
    for j = 1, #m[1] do
      t[j] = {}
      for i = 1, #m do t[j][i] = m[i][j] end
    end
    return t
  end
  local function naive(a, b, beta, c, alpha)   -- beta * c + alpha * a b, as a flat list
    local out = {}
    for i = 1, #a do
      for j = 1, #b[1] do
        local s = 0
        for k = 1, #b do s = s + a[i][k] * b[k][j] end
        out[#out + 1] = (c and beta * c[i][j] or 0) + alpha * s
      end
    end
    return out
  end
  local function exact(actual, expected)
    local flat = actual:contiguous():view(-1):double()
    assert.equal(#expected, flat:nElement())
    for i = 1, #expected do
      if flat[i] ~= expected[i] then
        error(('element %d: expected %.17g, got %.17g'):format(i, expected[i], flat[i]))
      end
    end
  end

  local n0
  before_each(function() n0 = torch.getnumthreads() end)
  after_each(function() torch.setnumthreads(n0) end)

  for _, ctor in ipairs({ torch.FloatTensor, torch.DoubleTensor }) do
    for _, shape in ipairs({ { 197, 97, 53, 'rows' }, { 45, 101, 181, 'columns' } }) do
      local m, k, n, along = shape[1], shape[2], shape[3], shape[4]
      it(('%s %dx%d @ %dx%d (split along %s) at 1, 2 and 3 threads: every layout and form')
         :format(torch.typename(ctor(1)), m, k, k, n, along), function()
        assert.is_true(m * k * n >= 3 * 2 ^ 18)   -- enough for 3 threads
        local a, b, c = dyadic(m, k, 1), dyadic(k, n, 2), dyadic(m, n, 3)
        local ref, ref_add = naive(a, b, nil, nil, 1), naive(a, b, 0.5, c, 2)
        local A, B, C = ctor(a), ctor(b), ctor(c)
        local At, Bt = ctor(transpose(a)), ctor(transpose(b))
        for _, nt in ipairs({ 1, 2, 3 }) do
          torch.setnumthreads(nt)
          exact(torch.mm(A, B), ref)
          exact(torch.mm(At:t(), B), ref)              -- transposed A
          exact(torch.mm(A, Bt:t()), ref)              -- transposed B
          local res = ctor(n, m)
          res:t():mm(A, B)                             -- column-major result
          exact(res:t(), ref)
          exact(torch.addmm(0.5, C, 2, A, B), ref_add)
          local wide = ctor(m, n + 5):zero()           -- result with a leading dim > its row
          wide:narrow(2, 3, n):mm(A, B)
          exact(wide:narrow(2, 3, n), ref)
          assert.equal(0, wide:narrow(2, 1, 2):abs():sum())
          assert.equal(0, wide:narrow(2, n + 3, 3):abs():sum())
        end
      end)
    end

    it(torch.typename(ctor(1)) .. ' bmm and baddbmm: each batch entry split, at 2 threads',
       function()
      local as, ats, bs, cs, refs, refs_add = {}, {}, {}, {}, {}, {}
      for i = 1, 3 do
        as[i], bs[i], cs[i] = dyadic(50, 100, i), dyadic(100, 110, i + 3), dyadic(50, 110, i + 6)
        ats[i] = transpose(as[i])
        refs[i] = naive(as[i], bs[i], nil, nil, 1)
        refs_add[i] = naive(as[i], bs[i], 0.5, cs[i], -2)
      end
      torch.setnumthreads(2)
      local A, At, B, C = ctor(as), ctor(ats), ctor(bs), ctor(cs)
      local r = torch.bmm(A, B)
      local rt = torch.bmm(At:transpose(2, 3), B)   -- transposed entries
      local ra = torch.baddbmm(0.5, C, -2, A, B)
      for i = 1, 3 do
        exact(r[i], refs[i])
        exact(rt[i], refs[i])
        exact(ra[i], refs_add[i])
      end
    end)
  end
end)
