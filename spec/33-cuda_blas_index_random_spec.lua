-- Matrix products (gpu/blas.cu, cuBLAS), indexing (gpu/index.cu) and random numbers
-- (gpu/random.cu) on device tensors, each compared with the same op on the host: transposed,
-- narrowed and expanded operands, beta = 0 over NaN, the host's error messages, gradients
-- through autograd, and the host's numbers for one seed. Pending without a device; in the
-- `make CUDA=emu` build the device is the host emulation (gpu/emu).
--
-- Runs under tools/minibusted.lua too: describe / it / H.gpu_it, plain assert and the
-- assert.* subset listed in /work/notes/gpu.md only.
local torch = require 'torch'
local H = require 'helpers'

local gpu_it = H.gpu_it

-- the CPU tensor type and its device twin for each float dtype, with the tolerance of a
-- device result against the host's (cuBLAS sums in another order than OpenBLAS)
local FLOATS = {
  { name = 'float32', cpu = function(t) return t:float() end, dev = function(t) return t:float():cuda() end,
    rtol = 1e-5, atol = 1e-5 },
  { name = 'float64', cpu = function(t) return t:double() end, dev = function(t) return t:double():cuda() end,
    rtol = 1e-12, atol = 1e-12 },
}

-- a device result against the host's
local function same(g, c, f)
  assert(g:isCuda(), 'expected a device result')
  H.close(g:cpu(), c, f.rtol, f.atol)
end

-- msg contains plain text s
local function has(msg, s)
  assert(msg:find(s, 1, true), ('error %q does not contain %q'):format(msg, s))
end
-- an error message without the "file:line: " of the call that raised it
local function bare(msg) return (msg:gsub('^[^:]*:%d+: ', '')) end

-- view(base) and the same view of base's device copy (t:cuda() itself is contiguous)
local function pair(base, view)
  view = view or function(t) return t end
  return view(base), view(base:cuda())
end
local function T(t) return t:t() end
local function narrow_cols(first, n) return function(t) return t:narrow(2, first, n) end end

describe('CUDA matrix products', function()
  gpu_it('mm and addmm match the host with plain, transposed and narrowed operands', function()
    for _, f in ipairs(FLOATS) do
      local a, ag = pair(f.cpu(torch.randn(7, 5)))
      local b, bg = pair(f.cpu(torch.randn(5, 6)))
      local at, atg = pair(f.cpu(torch.randn(5, 7)), T)               -- column-major 7 x 5
      local bn, bng = pair(f.cpu(torch.randn(5, 9)), narrow_cols(2, 6)) -- row stride 9
      local bt, btg = pair(f.cpu(torch.randn(6, 5)), T)
      local an, ang = pair(f.cpu(torch.randn(9, 5)), function(t) return t:narrow(1, 2, 7) end)
      local cases = { { a, ag, b, bg }, { at, atg, b, bg }, { a, ag, bn, bng }, { at, atg, bt, btg },
                      { an, ang, bt, btg }, { at, atg, bn, bng } }
      for _, c in ipairs(cases) do same(torch.mm(c[2], c[4]), torch.mm(c[1], c[3]), f) end
      -- expanded (stride 0) operands are copied on the device first
      local e, eg = pair(f.cpu(torch.randn(1, 5)), function(t) return t:expand(7, 5) end)
      same(torch.mm(eg, bg), torch.mm(e, b), f)
      -- addmm: beta, alpha, a broadcast addend, a transposed addend
      local M, Mg = pair(f.cpu(torch.randn(7, 6)))
      same(torch.addmm(0.5, Mg, 2, ag, bg), torch.addmm(0.5, M, 2, a, b), f)
      local row, rowg = pair(f.cpu(torch.randn(6)))
      same(torch.addmm(rowg, atg, bng), torch.addmm(row, at, bn), f)
      local Mt, Mtg = pair(f.cpu(torch.randn(6, 7)), T)
      same(torch.addmm(-1, Mtg, 3, ag, btg), torch.addmm(-1, Mt, 3, a, bt), f)
      -- in place on M (M:addmm), and into a transposed result
      local Mi = M:cuda()
      Mi:addmm(2, ag, bg)
      same(Mi, M:clone():addmm(2, a, b), f)
      local res = f.dev(torch.zeros(6, 7)):t()
      torch.addmm(res, 1, Mg, 1, ag, bg)
      same(res, torch.addmm(M, a, b), f)
      -- a result that is also an operand goes through a temporary
      local sq, sqg = pair(f.cpu(torch.randn(4, 4)))
      local sq2 = sq:clone()
      sqg:mm(sqg:clone(), sqg)
      sq2:mm(sq:clone(), sq)
      same(sqg, sq2, f)
      -- empty inner dimension: beta * M only
      local e1, e2 = f.cpu(torch.randn(7, 0)), f.cpu(torch.randn(0, 6))
      same(torch.addmm(2, Mg, e1:cuda(), e2:cuda()), torch.addmm(2, M, e1, e2), f)
    end
  end)

  gpu_it('beta = 0 ignores NaN in the addend and in the old result', function()
    for _, f in ipairs(FLOATS) do
      local a, b = f.cpu(torch.randn(4, 3)), f.cpu(torch.randn(3, 5))
      local nanM = f.dev(torch.Tensor(4, 5):fill(0 / 0))
      local res = f.dev(torch.Tensor(4, 5):fill(0 / 0))
      torch.addmm(res, 0, nanM, 1, a:cuda(), b:cuda())
      same(res, torch.mm(a, b), f)
      local v = f.cpu(torch.randn(3))
      local r2 = f.dev(torch.Tensor(4):fill(0 / 0))
      torch.addmv(r2, 0, f.dev(torch.Tensor(4):fill(0 / 0)), 1, a:cuda(), v:cuda())
      same(r2, torch.mv(a, v), f)
      local x, y = f.cpu(torch.randn(4)), f.cpu(torch.randn(5))
      local r3 = f.dev(torch.Tensor(4, 5):fill(0 / 0))
      torch.addr(r3, 0, nanM, 1, x:cuda(), y:cuda())
      same(r3, torch.ger(x, y), f)
      local A, B = f.cpu(torch.randn(2, 4, 3)), f.cpu(torch.randn(2, 3, 5))
      local r4 = f.dev(torch.Tensor(2, 4, 5):fill(0 / 0))
      torch.baddbmm(r4, 0, f.dev(torch.Tensor(2, 4, 5):fill(0 / 0)), 1, A:cuda(), B:cuda())
      same(r4, torch.bmm(A, B), f)
    end
  end)

  gpu_it('bmm and baddbmm with transposed, expanded and narrowed batches', function()
    for _, f in ipairs(FLOATS) do
      local A, Ag = pair(f.cpu(torch.randn(3, 4, 5)))
      local B, Bg = pair(f.cpu(torch.randn(3, 5, 2)))
      same(torch.bmm(Ag, Bg), torch.bmm(A, B), f)
      local At, Atg = pair(f.cpu(torch.randn(3, 5, 4)), function(t) return t:transpose(2, 3) end)
      same(torch.bmm(Atg, Bg), torch.bmm(At, B), f)
      local Bx, Bxg = pair(f.cpu(torch.randn(1, 5, 2)), function(t) return t:expand(3, 5, 2) end)
      same(torch.bmm(Ag, Bxg), torch.bmm(A, Bx), f)   -- batch stride 0
      local Ab, Abg = pair(f.cpu(torch.randn(3, 4, 8)), function(t) return t:narrow(3, 3, 5) end)
      local C, Cg = pair(f.cpu(torch.randn(3, 4, 2)))
      same(torch.baddbmm(0.5, Cg, -2, Abg, Bg), torch.baddbmm(0.5, C, -2, Ab, B), f)
      local Ct, Ctg = pair(f.cpu(torch.randn(3, 2, 4)), function(t) return t:transpose(2, 3) end)
      same(torch.baddbmm(Ctg, Atg, Bxg), torch.baddbmm(Ct, At, Bx), f)
      -- a batch of one, and a batch whose matrices are single rows
      same(torch.bmm(Ag:narrow(1, 2, 1), Bg:narrow(1, 1, 1)),
           torch.bmm(A:narrow(1, 2, 1), B:narrow(1, 1, 1)), f)
      local R, Rg = pair(f.cpu(torch.randn(3, 1, 5)))
      same(torch.bmm(Rg, Bg), torch.bmm(R, B), f)
    end
  end)

  gpu_it('mv, addmv, dot, ger and addr with strided vectors', function()
    for _, f in ipairs(FLOATS) do
      local m, mg = pair(f.cpu(torch.randn(5, 4)))
      local v, vg = pair(f.cpu(torch.randn(4)))
      local mt, mtg = pair(f.cpu(torch.randn(4, 5)), T)
      local vs, vsg = pair(f.cpu(torch.randn(4, 3)), function(t) return t:select(2, 2) end)  -- stride 3
      for _, c in ipairs({ { m, mg, v, vg }, { mt, mtg, v, vg }, { m, mg, vs, vsg }, { mt, mtg, vs, vsg } }) do
        same(torch.mv(c[2], c[4]), torch.mv(c[1], c[3]), f)
      end
      local c, cg = pair(f.cpu(torch.randn(5)))
      same(torch.addmv(0.5, cg, 2, mtg, vsg), torch.addmv(0.5, c, 2, mt, vs), f)
      local res = f.dev(torch.zeros(5, 2)):select(2, 1)    -- a strided result
      torch.addmv(res, 1, cg, 1, mg, vg)
      same(res, torch.addmv(c, m, v), f)
      -- dot: a number, the host's to the dtype's precision, any two shapes of one size
      local x, y = f.cpu(torch.randn(1000)), f.cpu(torch.randn(1000))
      H.close(torch.dot(x:cuda(), y:cuda()), torch.dot(x, y), f.rtol, f.atol)
      H.close(torch.dot(vsg, vg), torch.dot(vs, v), f.rtol, f.atol)
      local X, Xg = pair(f.cpu(torch.randn(4, 6)), T)
      local Y = f.cpu(torch.randn(24))
      H.close(torch.dot(Xg, Y:cuda()), torch.dot(X, Y), f.rtol, f.atol)
      assert.are.equal(0, torch.dot(f.dev(torch.zeros(0)), f.dev(torch.zeros(0))))
      -- ger / addr, from strided vectors, into a transposed result
      local p, pg = pair(f.cpu(torch.randn(5)))
      local q, qg = pair(f.cpu(torch.randn(3, 3)), function(t) return t:select(1, 2) end)
      same(torch.ger(pg, qg), torch.ger(p, q), f)
      local M, Mg = pair(f.cpu(torch.randn(5, 3)))
      same(torch.addr(2, Mg, -1, pg, vsg:narrow(1, 1, 3)), torch.addr(2, M, -1, p, vs:narrow(1, 1, 3)), f)
      local r = f.dev(torch.zeros(3, 5)):t()
      torch.addr(r, 1, Mg, 1, pg, qg)
      same(r, torch.addr(M, p, q), f)
    end
  end)

  gpu_it('matmul: every dimension case, batch broadcasting, a 0-dim device result', function()
    for _, f in ipairs(FLOATS) do
      local v, w = f.cpu(torch.randn(4)), f.cpu(torch.randn(4))
      local d = torch.matmul(v:cuda(), w:cuda())
      assert.is_true(d:isCuda())
      assert.are.equal(0, d:dim())
      H.close(d:cpu(), torch.matmul(v, w), f.rtol, f.atol)
      local m = f.cpu(torch.randn(3, 4))
      same(torch.matmul(m:cuda(), v:cuda()), torch.matmul(m, v), f)
      local r = f.cpu(torch.randn(3))
      same(torch.matmul(r:cuda(), m:cuda()), torch.matmul(r, m), f)          -- 1-D @ 2-D
      local A, B = f.cpu(torch.randn(2, 3, 4)), f.cpu(torch.randn(4, 5))
      same(torch.matmul(A:cuda(), B:cuda()), torch.matmul(A, B), f)
      local P, Q = f.cpu(torch.randn(2, 1, 3, 4)), f.cpu(torch.randn(5, 4, 2))
      same(torch.matmul(P:cuda(), Q:cuda()), torch.matmul(P, Q), f)
    end
  end)

  gpu_it('autograd through matmul, mv and dot on the device', function()
    -- the gradients of x @ y for device leaves against host leaves
    local function grads(X, Y, G, dev)
      local x = dev and X:cuda() or X:clone()
      local y = dev and Y:cuda() or Y:clone()
      x.requiresGrad, y.requiresGrad = true, true
      torch.matmul(x, y):backward(dev and G:cuda() or G)
      return x.grad, y.grad
    end
    local shapes = { { { 3, 4 }, { 4, 2 }, { 3, 2 } }, { { 2, 3, 4 }, { 4, 5 }, { 2, 3, 5 } },
                     { { 3, 4 }, { 4 }, { 3 } }, { { 2, 3, 4 }, { 2, 4, 5 }, { 2, 3, 5 } } }
    for _, s in ipairs(shapes) do
      local X = torch.randn(table.unpack(s[1])):double()
      local Y = torch.randn(table.unpack(s[2])):double()
      local G = torch.randn(table.unpack(s[3])):double()
      local gx, gy = grads(X, Y, G, true)
      local cx, cy = grads(X, Y, G, false)
      assert.is_true(gx:isCuda() and gy:isCuda())
      H.close(gx:cpu(), cx, 1e-12, 1e-12)
      H.close(gy:cpu(), cy, 1e-12, 1e-12)
    end
    local vh, wh = torch.randn(4):double(), torch.randn(4):double()
    local v, w = vh:cuda(), wh:cuda()
    v.requiresGrad, w.requiresGrad = true, true
    local dg = torch.dot(v, w)
    assert.is_true(dg:isCuda())
    dg:backward(torch.DoubleTensor({ 3 }):cuda():view(1):squeeze())
    H.close(v.grad:cpu(), wh:clone():mul(3), 1e-12, 1e-12)
    H.close(w.grad:cpu(), vh:clone():mul(3), 1e-12, 1e-12)
  end)

  gpu_it('linear (nn.Linear forward) and its gradients on the device', function()
    for _, f in ipairs(FLOATS) do
      local x, w, bias = f.cpu(torch.randn(5, 4)), f.cpu(torch.randn(3, 4)), f.cpu(torch.randn(3))
      same(torch.linear(x:cuda(), w:cuda(), bias:cuda()), torch.linear(x, w, bias), f)
      same(torch.linear(x:cuda(), w:cuda()), torch.linear(x, w), f)
      same(torch.linear(x[2]:cuda(), w:cuda(), bias:cuda()), torch.linear(x[2], w, bias), f)
      local g = f.cpu(torch.randn(5, 3))
      local function grads(dev)
        local xx = dev and x:cuda() or x:clone()
        local ww = dev and w:cuda() or w:clone()
        local bb = dev and bias:cuda() or bias:clone()
        xx.requiresGrad, ww.requiresGrad, bb.requiresGrad = true, true, true
        torch.linear(xx, ww, bb):backward(dev and g:cuda() or g)
        return xx.grad, ww.grad, bb.grad
      end
      local d = { grads(true) }
      local c = { grads(false) }
      for k = 1, 3 do same(d[k], c[k], f) end
    end
  end)

  gpu_it('the host error messages: shapes, dtypes, devices', function()
    local a, b = torch.CudaTensor(3, 4), torch.CudaTensor(5, 2)
    local ge = bare(H.error_of(torch.mm, a, b))
    local ce = bare(H.error_of(torch.mm, torch.FloatTensor(3, 4), torch.FloatTensor(5, 2)))
    has(ge, 'mm: size mismatch, [3 x 4] * [5 x 2]')
    assert.are.equal(ce, ge)
    has(H.error_of(torch.mm, torch.CudaTensor(3), b), 'mm: expected 2-D matrices, got [3] * [5 x 2]')
    has(H.error_of(torch.addmm, torch.CudaTensor(4, 3), torch.CudaTensor(5, 7), torch.CudaTensor(7, 3)),
        'addmm: size mismatch, [4 x 3] + [5 x 7] * [7 x 3]')
    has(H.error_of(torch.bmm, torch.CudaTensor(4, 5, 6), torch.CudaTensor(3, 6, 3)),
        'bmm: size mismatch, [4 x 5 x 6] * [3 x 6 x 3]')
    has(H.error_of(torch.mv, torch.CudaTensor(5, 7), torch.CudaTensor(5)), 'mv: size mismatch, [5 x 7] * [5]')
    has(H.error_of(torch.dot, torch.CudaTensor(4), torch.CudaTensor(3)), 'dot: size mismatch')
    has(H.error_of(torch.mm, torch.LongTensor(2, 2):cuda(), torch.LongTensor(2, 2):cuda()),
        'mm: expected Float or Double tensors, got torch.LongTensor')
    has(H.error_of(torch.mm, a, torch.FloatTensor(4, 2)),
        'expected all tensors on one device, got tensors on CUDA device 1 and on the CPU')
    has(H.error_of(torch.mm, torch.FloatTensor(3, 2), a, torch.CudaTensor(4, 2)),
        'the result tensor is on the CPU')
  end)

  gpu_it('torch.cuda.allowTF32 round-trips; float32 products are FP32 without it', function()
    local was = torch.cuda.allowTF32()
    assert.is_false(was)
    assert.is_true(torch.cuda.allowTF32(true))
    assert.is_true(torch.cuda.allowTF32())
    local a, b = torch.randn(16, 16), torch.randn(16, 16)
    H.close(torch.mm(a:cuda(), b:cuda()):float(), torch.mm(a, b), 1e-2, 1e-2)  -- TF32: 10-bit mantissa
    assert.is_false(torch.cuda.allowTF32(false))
    assert.is_false(torch.cuda.allowTF32())
    H.close(torch.mm(a:cuda(), b:cuda()):float(), torch.mm(a, b), 1e-5, 1e-5)
    torch.cuda.allowTF32(was)
  end)
end)

describe('CUDA indexing', function()
  local TYPES = {
    function(t) return t:float() end, function(t) return t:double() end,
    function(t) return t:mul(10):long() end, function(t) return t:abs():mul(10):byte() end,
  }
  local function cpu_double(t) return t:cpu():double() end

  gpu_it('index (index_select) and gather match the host, duplicates and views included', function()
    for _, conv in ipairs(TYPES) do
      local base = conv(torch.randn(6, 6))
      local idx = torch.LongTensor({ 3, 1, 3, 5 })
      local views = { function(t) return t end, function(t) return t:t() end,
                      function(t) return t:narrow(2, 2, 4) end }
      for _, view in ipairs(views) do
        local src, srcg = pair(base, view)
        for dim = 1, 2 do
          local i = dim == 1 and idx or idx:narrow(1, 1, 3)
          local g = srcg:index(dim, i:cuda())
          assert.is_true(g:isCuda())
          H.close(cpu_double(g), src:index(dim, i):double(), 0, 0)
        end
        local gi = torch.LongTensor({ { 1, 2, 1 }, { 4, 4, 3 }, { 2, 2, 2 } })
        H.close(cpu_double(srcg:gather(2, gi:cuda())), src:gather(2, gi):double(), 0, 0)
        local gi1 = torch.LongTensor({ { 5, 1, 2 }, { 1, 1, 4 } })
        H.close(cpu_double(srcg:gather(1, gi1:cuda())), src:gather(1, gi1):double(), 0, 0)
      end
      -- a strided index, and the [res,] form into an existing device tensor
      local si, sig = pair(torch.LongTensor({ { 2, 9 }, { 6, 9 }, { 1, 9 } }), function(t) return t:select(2, 1) end)
      local x, xg = pair(base)
      H.close(cpu_double(xg:index(1, sig)), x:index(1, si):double(), 0, 0)
      local res = xg:narrow(1, 1, 1):clone()
      torch.index(res, xg, 1, idx:cuda())
      H.close(cpu_double(res), x:index(1, idx):double(), 0, 0)
      -- a result that is the source itself goes through a temporary
      local y, yg = x:clone(), xg:clone()
      torch.index(yg, yg, 1, idx:cuda())
      torch.index(y, y, 1, idx)
      H.close(cpu_double(yg), y:double(), 0, 0)
    end
    -- a 1-D source, an empty index
    local v = torch.randn(7)
    H.close(v:cuda():index(1, torch.LongTensor({ 7, 1 }):cuda()):float(), v:index(1, torch.LongTensor({ 7, 1 })), 0, 0)
    assert.are.equal(0, v:cuda():index(1, torch.LongTensor(0):cuda()):nElement())
  end)

  gpu_it('indexAdd, indexCopy, indexFill: duplicate indices as on the host, bit for bit', function()
    for _, conv in ipairs(TYPES) do
      local base = conv(torch.randn(5, 4))
      local idx = torch.LongTensor({ 2, 5, 2, 2, 1 })
      local src, srcg = pair(conv(torch.randn(5, 4)))
      for _, op in ipairs({ 'indexAdd', 'indexCopy' }) do
        local g = base:cuda()
        g[op](g, 1, idx:cuda(), srcg)
        local c = base:clone()
        c[op](c, 1, idx, src)
        H.close(cpu_double(g), c:double(), 0, 0)
        -- along dim 2 with a transposed source, into a transposed destination
        local idx2 = torch.LongTensor({ 4, 1, 4 })
        local src2, src2g = pair(conv(torch.randn(3, 5)), T)
        local d, dg = pair(conv(torch.randn(4, 5)), T)
        dg[op](dg, 2, idx2:cuda(), src2g)
        d[op](d, 2, idx2, src2)
        H.close(cpu_double(dg), d:double(), 0, 0)
      end
      local g = base:cuda():indexFill(2, torch.LongTensor({ 3, 1, 3 }):cuda(), 7)
      H.close(cpu_double(g), base:clone():indexFill(2, torch.LongTensor({ 3, 1, 3 }), 7):double(), 0, 0)
    end
    -- many duplicates summed in the host's order: float32 bit for bit
    local t = torch.randn(50, 8)
    local idx = torch.LongTensor(3000):random(1, 50)
    local src = torch.randn(3000, 8)
    local g = t:cuda():indexAdd(1, idx:cuda(), src:cuda())
    H.close(g:float(), t:clone():indexAdd(1, idx, src), 0, 0)
    -- a source that is the destination itself is read before it is written
    local s, sg = pair(torch.randn(3, 2))
    sg:indexAdd(1, torch.LongTensor({ 2, 3, 1 }):cuda(), sg)
    s:indexAdd(1, torch.LongTensor({ 2, 3, 1 }), s)
    H.close(sg:float(), s, 0, 0)
  end)

  gpu_it('scatter, scatter with a value and scatterAdd match the host', function()
    for _, conv in ipairs(TYPES) do
      local base = conv(torch.randn(3, 5))
      local idx = torch.LongTensor({ { 1, 2, 3, 1, 1 }, { 3, 3, 1, 2, 3 } })
      local src, srcg = pair(conv(torch.randn(2, 5)))
      for _, op in ipairs({ 'scatter', 'scatterAdd' }) do
        local g = base:cuda()
        g[op](g, 1, idx:cuda(), srcg)
        local c = base:clone()
        c[op](c, 1, idx, src)
        H.close(cpu_double(g), c:double(), 0, 0)
        -- along dim 2 with duplicates, an index smaller than the tensor, a larger transposed source
        local idx2 = torch.LongTensor({ { 2, 2, 5 }, { 1, 4, 1 } })
        local src2, src2g = pair(conv(torch.randn(4, 6)), T)
        local g2 = base:cuda()
        g2[op](g2, 2, idx2:cuda(), src2g)
        local c2 = base:clone()
        c2[op](c2, 2, idx2, src2)
        H.close(cpu_double(g2), c2:double(), 0, 0)
      end
      local g = base:cuda():scatter(2, idx:cuda(), 4)
      H.close(cpu_double(g), base:clone():scatter(2, idx, 4):double(), 0, 0)
    end
  end)

  gpu_it('out-of-range indices raise the host error, nothing is written', function()
    local x = torch.randn(4, 3)
    local bad = torch.LongTensor({ 1, 5, 2 })
    local ce = bare(H.error_of(function() return x:index(1, bad) end))
    local ge = bare(H.error_of(function() return x:cuda():index(1, bad:cuda()) end))
    assert.are.equal(ce, ge)
    has(ge, 'index 5 out of range for dimension 1 of size 4')
    has(H.error_of(function() return x:cuda():gather(2, torch.LongTensor({ { 1 }, { 4 }, { 1 }, { 1 } }):cuda()) end),
        'index 4 out of range for dimension 2 of size 3')
    local g = x:cuda()
    has(H.error_of(function() return g:indexAdd(1, bad:cuda(), torch.CudaTensor(3, 3):fill(1)) end),
        'index 5 out of range')
    has(H.error_of(function() return g:scatterAdd(1, torch.LongTensor({ { 0, 1, 1 } }):cuda(), torch.CudaTensor(1, 3)) end),
        'index 0 out of range for dimension 1 of size 4')
    has(H.error_of(function() return g:indexFill(2, torch.LongTensor({ 4 }):cuda(), 1) end),
        'index 4 out of range for dimension 2 of size 3')
    H.close(g:float(), x, 0, 0)
    has(H.error_of(function() return x:cuda():index(1, bad) end), 'expected all tensors on one device')
    -- nonzero runs through the host (spec 30): the same result
    H.close(x:cuda():nonzero():cpu():double(), x:nonzero():double(), 0, 0)
  end)

  gpu_it('gradients of index and gather through autograd', function()
    local x = torch.randn(5, 4):double()
    local idx = torch.LongTensor({ 2, 5, 2 })
    local gi = torch.LongTensor({ { 1, 1 }, { 4, 2 }, { 3, 3 }, { 1, 4 }, { 2, 2 } })
    local g1, g2 = torch.randn(3, 4):double(), torch.randn(5, 2):double()
    local function grads(dev)
      local a = dev and x:cuda() or x:clone()
      a.requiresGrad = true
      a:index(1, dev and idx:cuda() or idx):backward(dev and g1:cuda() or g1)
      local b = dev and x:cuda() or x:clone()
      b.requiresGrad = true
      b:gather(2, dev and gi:cuda() or gi):backward(dev and g2:cuda() or g2)
      return a.grad, b.grad
    end
    local d1, d2 = grads(true)
    local c1, c2 = grads(false)
    assert.is_true(d1:isCuda() and d2:isCuda())
    H.close(d1:cpu(), c1, 0, 0)
    H.close(d2:cpu(), c2, 0, 0)
  end)

  gpu_it('a host leaf copied to the device gets a host gradient (CopyBackward)', function()
    local w = torch.randn(3, 4):double()
    w.requiresGrad = true
    local wg = w:cuda()
    assert.are.equal('ToCopyBackward', wg.gradFn)
    local y = wg:index(1, torch.LongTensor({ 1, 3, 3 }):cuda())
    y:backward(torch.ones(3, 4):double():cuda())
    assert.is_false(w.grad:isCuda())
    assert.are.equal('torch.DoubleTensor', w.grad:type())
    H.close(w.grad, torch.DoubleTensor({ { 1, 1, 1, 1 }, { 0, 0, 0, 0 }, { 2, 2, 2, 2 } }), 0, 0)
    -- through a float conversion and a narrow (slice backward on the device)
    local v = torch.randn(6):double()
    v.requiresGrad = true
    local s = v:cuda():type('torch.CudaTensor'):narrow(1, 2, 3)
    s:backward(torch.CudaTensor(3):fill(2))
    assert.is_false(v.grad:isCuda())
    H.close(v.grad, torch.DoubleTensor({ 0, 2, 2, 2, 0, 0 }), 0, 0)
    -- cat and split of device tensors
    local p = torch.randn(2, 3):cuda()
    p.requiresGrad = true
    local q = torch.cat({ p, p }, 1)
    local parts = q:split(1, 1)
    parts[2]:backward(torch.CudaTensor(1, 3):fill(1))
    assert.is_true(p.grad:isCuda())
    H.close(p.grad:float(), torch.FloatTensor({ { 0, 0, 0 }, { 1, 1, 1 } }), 0, 0)
  end)
end)

describe('CUDA random numbers', function()
  gpu_it('uniform equals the host draw of the same seed, and the state advances as there', function()
    for _, n in ipairs({ 1, 7, 64, 1001, 5003 }) do
      torch.manualSeed(123)
      local g = torch.CudaTensor(n):uniform()
      local after_g = torch.FloatTensor(5):uniform()
      torch.manualSeed(123)
      local c = torch.FloatTensor(n):uniform()
      local after_c = torch.FloatTensor(5):uniform()
      H.close(g:float(), c, 0, 0)
      H.close(after_g, after_c, 0, 0)
      torch.manualSeed(7)
      local gd = torch.CudaDoubleTensor(n):uniform(-2, 3)
      torch.manualSeed(7)
      H.close(gd:double(), torch.DoubleTensor(n):uniform(-2, 3), 0, 0)
    end
    -- a non-contiguous view is filled in its logical order
    torch.manualSeed(9)
    local g = torch.CudaTensor(4, 6):zero()
    g:t():uniform()
    torch.manualSeed(9)
    local c = torch.FloatTensor(4, 6):zero()
    c:t():uniform()
    H.close(g:float(), c, 0, 0)
  end)

  gpu_it('normal equals the host draw of the same seed (Box-Muller pairs)', function()
    for _, n in ipairs({ 1, 2, 9, 500 }) do
      torch.manualSeed(42)
      local g = torch.CudaTensor(n):normal(1, 2)
      torch.manualSeed(42)
      local c = torch.FloatTensor(n):normal(1, 2)
      -- device log/sin/cos may differ from glibc's in the last bit of a double
      H.close(g:float(), c, 1e-6, 1e-6)
      torch.manualSeed(42)
      local gd = torch.CudaDoubleTensor(n):normal()
      torch.manualSeed(42)
      H.close(gd:double(), torch.DoubleTensor(n):normal(), 1e-13, 1e-13)
    end
  end)

  gpu_it('bernoulli equals the host draw for every dtype', function()
    local types = {
      { torch.CudaTensor, torch.FloatTensor }, { torch.CudaDoubleTensor, torch.DoubleTensor },
      { torch.CudaLongTensor, torch.LongTensor }, { torch.CudaByteTensor, torch.ByteTensor },
    }
    for _, tt in ipairs(types) do
      torch.manualSeed(3)
      local g = tt[1](37):bernoulli(0.3)
      torch.manualSeed(3)
      local c = tt[2](37):bernoulli(0.3)
      H.close(g:cpu():double(), c:double(), 0, 0)
    end
    has(H.error_of(function() return torch.CudaTensor(3):bernoulli(1.5) end),
        'expected a probability in [0, 1], got 1.5')
    has(H.error_of(function() return torch.CudaTensor(3):bernoulli(torch.CudaTensor(3):fill(1.5)) end),
        'expected probabilities in [0, 1]; 3 are not')
  end)

  gpu_it('random (integers in a range) equals the host draw for every dtype', function()
    local types = {
      { torch.CudaTensor, torch.FloatTensor }, { torch.CudaDoubleTensor, torch.DoubleTensor },
      { torch.CudaLongTensor, torch.LongTensor }, { torch.CudaByteTensor, torch.ByteTensor },
    }
    for _, tt in ipairs(types) do
      for _, args in ipairs({ {}, { 6 }, { 3, 200 } }) do
        torch.manualSeed(11)
        local g = tt[1](300):random(table.unpack(args))
        local after_g = torch.FloatTensor(3):uniform()
        torch.manualSeed(11)
        local c = tt[2](300):random(table.unpack(args))
        H.close(g:cpu():double(), c:double(), 0, 0)
        H.close(after_g, torch.FloatTensor(3):uniform(), 0, 0)
      end
    end
    -- the whole int64 range and a negative one
    for _, r in ipairs({ { math.mininteger, math.maxinteger }, { -(2 ^ 40), -5 } }) do
      torch.manualSeed(12)
      local g = torch.CudaLongTensor(64):random(r[1], r[2])
      torch.manualSeed(12)
      local c = torch.LongTensor(64):random(r[1], r[2])
      for i = 1, 64 do assert.are.equal(c[i], g:cpu()[i]) end
    end
  end)
end)
