-- Reductions and the nn kernels on device tensors (issue 8: gpu/reduce.cu, gpu/nnops.cu):
-- every result is compared with the CPU's result of the same op on the same values, for each
-- dtype the op takes, contiguous and not; max/min indices (ties, NaN), var/std/norm,
-- cumsum/cumprod, sort/topk, softmax/logSoftmax along every dim, nllLoss/crossEntropy (with
-- and without weights, size averaging and ignoreIndex), the gradients of all of them through
-- autograd, and the error messages (bad dim, bad target, mixed devices). Pending without a device; in the
-- `make CUDA=emu` build the device is the host emulation (gpu/emu).
-- (Restricted assert API: the file also runs under tools/minibusted.lua on a GPU machine.)
local torch = require 'torch'
local H = require 'helpers'

local gpu_it = H.gpu_it

-- float32 results: the device sums in another order than the CPU (both in double)
local TOL = { float = 1e-5, double = 1e-12, long = 0 }

-- a CPU tensor of dtype kind with values for reductions (ints: small, with negatives)
local function sample(kind, ...)
  torch.manualSeed(5)
  local x = torch.randn(...)
  if kind == 'float' then return x:float() end
  if kind == 'double' then return x:double() end
  return x:mul(4):floor():long()
end

-- the same values as a device tensor, and a non-contiguous (transposed) pair
local function both(x) return x, x:cuda() end

-- the message of the error fn raises, without the Lua position in front
local function err(fn) return (H.error_of(fn):gsub('^[^:]*:%d+: ', '')) end

local function is_cuda(t) assert(t:isCuda(), 'expected a device tensor, got ' .. t:type()) end

-- compares a device result (tensor or number) with the CPU's
local function same(g, c, tol)
  if type(c) == 'number' then
    assert(type(g) == 'number', 'expected a number, got ' .. type(g))
    if tol == 0 then assert.are.equal(c, g) else H.close(g, c, tol, tol) end
    return
  end
  is_cuda(g)
  assert.are.equal(c:type(), g:cpu():type())
  H.close(g:double(), c:double(), tol, tol)
end

local function kind_of(t)
  local ty = t:type()
  return ty:find('Long') and 'long' or ty:find('Double') and 'double' or 'float'
end

-- gradients: the same graph on the CPU and on the device, leaves compared
local function grads(f, x)
  local c = x:clone()
  c.requiresGrad = true
  local g = x:cuda()
  g.requiresGrad = true
  f(c):backward()
  f(g):backward()
  assert(g.grad, 'no gradient reached the device leaf')
  is_cuda(g.grad)
  return g.grad, c.grad
end

-- the inputs of the reduction specs: contiguous, transposed, narrowed, 3-D
local function inputs(kind)
  local a = sample(kind, 4, 5)
  local b = sample(kind, 6, 4):t()
  local c = sample(kind, 5, 9):narrow(2, 3, 5)
  local d = sample(kind, 3, 4, 5):transpose(1, 3)
  return { a, b, c, d }
end

describe('CUDA reductions', function()
  gpu_it('sum, mean, prod, max, min over all elements match the CPU (float, double, long)',
         function()
    for _, kind in ipairs({ 'float', 'double', 'long' }) do
      for _, x in ipairs(inputs(kind)) do
        local c, g = both(x)
        local tol = TOL[kind]
        same(g:sum(), c:sum(), tol)
        same(g:mean(), c:mean(), tol == 0 and 1e-12 or tol)
        same(g:max(), c:max(), 0)
        same(g:min(), c:min(), 0)
        local p = kind == 'long' and c:clone():clamp(-2, 2) or c:clone():mul(0.2):add(1)
        same(p:cuda():prod(), p:prod(), tol == 0 and 0 or 1e-5)
      end
    end
  end)

  gpu_it('full reductions of many elements (several combining passes) match the CPU', function()
    torch.manualSeed(3)
    local x = torch.rand(300, 400):double()
    local g = x:cuda()
    same(g:sum(), x:sum(), 1e-12)
    same(g:mean(), x:mean(), 1e-12)
    same(g:max(), x:max(), 0)
    same(g:min(), x:min(), 0)
    same(g:t():sum(), x:sum(), 1e-12)
    -- int64 sums are exact (here far above float precision)
    local l = torch.LongTensor(50000):fill(1e12 + 7)
    assert.are.equal(l:sum(), l:cuda():sum())
    assert.are.equal(50000 * (1e12 + 7), l:cuda():sum())
    -- uint8 sums do not wrap at 255
    local b = torch.ByteTensor(1000):fill(200)
    assert.are.equal(200000, b:cuda():sum())
  end)

  gpu_it('int64 beyond 2^53: sum, prod, max, min are exact integers, as on the CPU', function()
    local B = (1 << 60) + 1   -- Lua's integer arithmetic is the reference
    local g = torch.LongTensor({ B, 5, -3 }):cuda()
    assert.are.equal(B + 2, g:sum())
    assert.are.equal(B, g:max())
    assert.are.equal(-3, g:min())
    assert.are.equal(B * 5 * -3, g:prod())
    assert.are.same({ B - 1, 5, 0 }, torch.clamp(g, 0, B - 1):cpu():totable())
  end)

  gpu_it('NaN propagates through max / min / sum; empty tensors', function()
    local x = torch.Tensor({ 1, 0 / 0, 3, -2 })
    local g = x:cuda()
    local m = g:max()
    assert.is_true(m ~= m)
    m = g:min()
    assert.is_true(m ~= m)
    m = g:sum()
    assert.is_true(m ~= m)
    local e = torch.Tensor(0):cuda()
    assert.are.equal(0, e:sum())
    assert.are.equal(1, e:prod())
    m = e:mean()
    assert.is_true(m ~= m)
    assert.are.equal(err(function() return torch.Tensor(0):max() end),
                     err(function() return e:max() end))
  end)

  gpu_it('sum, mean, prod, max, min along each dim, keepdim or not, negative dims', function()
    for _, kind in ipairs({ 'float', 'double', 'long' }) do
      for _, x in ipairs(inputs(kind)) do
        local c, g = both(x)
        local tol = TOL[kind]
        for d = -x:dim(), x:dim() do
          if d ~= 0 then
            for _, keep in ipairs({ true, false }) do
              same(g:sum(d, keep), c:sum(d, keep), tol)
              same(g:prod(d, keep), c:prod(d, keep), tol == 0 and 0 or 1e-5)
              if kind ~= 'long' then same(g:mean(d, keep), c:mean(d, keep), tol) end
            end
          end
        end
      end
    end
  end)

  gpu_it('long slices (reduced in chunks, then combined in order) match the CPU', function()
    for _, kind in ipairs({ 'float', 'double', 'long' }) do
      local tol = kind == 'float' and 1e-5 or kind == 'double' and 1e-12 or 0
      for _, x in ipairs({ sample(kind, 3, 5000), sample(kind, 7000, 2):t(),
                           sample(kind, 2, 4100, 2) }) do
        local c, g = both(x)
        local d = 2
        same(g:sum(d), c:sum(d), tol)
        same(g:max(d), c:max(d), 0)
        same(g:min(d, false), c:min(d, false), 0)
        local cv, ci = c:max(d)
        local gv, gi = g:max(d)
        same(gv, cv, 0)
        same(gi, ci, 0)
        cv, ci = c:min(d, false)
        gv, gi = g:min(d, false)
        same(gv, cv, 0)
        same(gi, ci, 0)
        if kind ~= 'long' then
          same(g:mean(d), c:mean(d), tol)
          same(g:norm(2, d), c:norm(2, d), tol)
          same(g:norm(math.huge, d), c:norm(math.huge, d), tol)
          same(g:var(d), c:var(d), tol)
        end
      end
    end
    -- ties across chunks keep the first index; the first NaN wins, wherever it is
    local t = torch.zeros(2, 6000)
    t[1][10] = 5
    t[1][3000] = 5
    t[1][5999] = 5
    t[2][4500] = 0 / 0
    t[2][5500] = 0 / 0
    t[2][100] = 9
    local gv, gi = t:cuda():max(2)
    assert.are.same({ 10, 4500 }, { gi[1][1], gi[2][1] })
    assert.are.equal(5, gv[1][1])
    assert.is_true(gv[2][1] ~= gv[2][1])
    local cv, ci = t:max(2)
    same(gi, ci, 0)
    local b = torch.ByteTensor(3, 3000):fill(250)
    same(b:cuda():sum(2), b:sum(2), 0)
    same(b:cuda():max(2), b:max(2), 0)
  end)

  gpu_it('byte tensors (sums are long, max / min stay byte) and 0-dim tensors', function()
    local b = torch.ByteTensor({ { 200, 100, 7 }, { 255, 0, 9 } })
    local g = b:cuda()
    assert.are.equal(b:sum(), g:sum())
    assert.are.equal(b:max(), g:max())
    assert.are.equal(b:min(), g:min())
    for d = 1, 2 do
      same(g:sum(d), b:sum(d), 0)
      same(g:max(d), b:max(d), 0)
      same(g:min(d, false), b:min(d, false), 0)
    end
    local z = torch.Tensor({ 2.5 }):view()   -- 0-dim
    local zg = z:cuda()
    assert.are.equal(0, zg:dim())
    same(zg:sum(1), z:sum(1), 0)
    same(zg:max(1), z:max(1), 0)
    same(torch.softmax(zg, 1), torch.softmax(z, 1), 0)
    assert.are.equal(z:sum(), zg:sum())
  end)

  gpu_it('results are deterministic (the same bits every run)', function()
    torch.manualSeed(4)
    local g = torch.randn(257, 301):cuda()
    local s1, s2 = g:sum(), g:sum()
    assert.are.equal(s1, s2)
    local v1, v2 = g:sum(1):double(), g:sum(1):double()
    H.close(v1, v2, 0, 0)
    local l1 = torch.crossEntropy(g:narrow(2, 1, 10), torch.LongTensor(257):fill(3):cuda())
    local l2 = torch.crossEntropy(g:narrow(2, 1, 10), torch.LongTensor(257):fill(3):cuda())
    assert.are.equal(l1:item(), l2:item())
  end)

  gpu_it('integer mean along a dim and bad dims give the CPU errors', function()
    local c = torch.LongTensor(3, 4):fill(2)
    local g = c:cuda()
    assert.are.equal(err(function() return c:mean(1) end),
                     err(function() return g:mean(1) end))
    local f = torch.randn(3, 4)
    local fg = f:cuda()
    assert.are.equal(err(function() return f:sum(3) end),
                     err(function() return fg:sum(3) end))
    assert.are.equal(err(function() return f:max(0) end),
                     err(function() return fg:max(0) end))
    assert.are.equal(err(function() return torch.Tensor(3, 0):max(2) end),
                     err(function() return torch.Tensor(3, 0):cuda():max(2) end))
    H.matches(H.error_of(function() return fg:sum(3) end), 'dimension 3 out of range')
  end)

  gpu_it('a result tensor on the other side is a clear error', function()
    local g = torch.randn(3, 4):cuda()
    H.matches(H.error_of(function() return torch.sum(torch.Tensor(3), g, 2) end),
              'the result tensor is on the CPU but the inputs are on CUDA device 1')
    local r = torch.Tensor():cuda()
    torch.sum(r, g, 2, false)
    is_cuda(r)
    H.close(r:double(), g:double():sum(2, false), 1e-6, 1e-6)
  end)

  gpu_it('max / min along a dim give the CPU values and indices (ties: the first; NaN wins)',
         function()
    for _, kind in ipairs({ 'float', 'double', 'long' }) do
      for _, x in ipairs(inputs(kind)) do
        local c, g = both(x)
        for d = 1, x:dim() do
          for _, keep in ipairs({ true, false }) do
            local cv, ci = c:max(d, keep)
            local gv, gi = g:max(d, keep)
            same(gv, cv, 0)
            same(gi, ci, 0)
            cv, ci = c:min(d, keep)
            gv, gi = g:min(d, keep)
            same(gv, cv, 0)
            same(gi, ci, 0)
          end
        end
      end
    end
    local t = torch.Tensor({ { 1, 3, 3, 0 }, { 2, 0 / 0, 5, 0 / 0 }, { -1, -1, -4, -4 } })
    local gv, gi = t:cuda():max(2)
    local cv, ci = t:max(2)
    H.close(gv:double(), cv:double())
    H.close(gi:double(), ci:double(), 0, 0)
    assert.are.same({ 2, 2, 1 }, { gi[1][1], gi[2][1], gi[3][1] })
    gv, gi = t:cuda():min(2)
    assert.are.same({ 4, 2, 3 }, { gi[1][1], gi[2][1], gi[3][1] })
    assert.are.equal(t:argmax(), t:cuda():argmax())
    assert.are.equal(t:argmin(), t:cuda():argmin())
  end)

  gpu_it('max / min into given device tensors', function()
    local x = torch.randn(4, 6)
    local v, i = torch.Tensor():cuda(), torch.LongTensor():cuda()
    torch.max(v, i, x:cuda(), 2)
    local cv, ci = x:max(2)
    same(v, cv:float(), 0)
    same(i, ci, 0)
  end)

  gpu_it('var, std and norm (all p) match the CPU, over everything and along dims', function()
    for _, kind in ipairs({ 'float', 'double' }) do
      for _, x in ipairs(inputs(kind)) do
        local c, g = both(x)
        local tol = kind == 'float' and 1e-5 or 1e-11
        same(g:var(), c:var(), tol)
        same(g:std(true), c:std(true), tol)
        for _, p in ipairs({ 2, 1, 3, 0.5, 0, math.huge, -math.huge }) do
          same(g:norm(p), c:norm(p), tol)
        end
        for d = 1, x:dim() do
          same(g:var(d), c:var(d), tol)
          same(g:std(d, true, false), c:std(d, true, false), tol)
          for _, p in ipairs({ 2, 1, 3, 0.5, 0, math.huge, -math.huge }) do
            same(g:norm(p, d), c:norm(p, d), tol)
            same(g:norm(p, d, false), c:norm(p, d, false), tol)
          end
        end
      end
    end
    assert.are.equal(err(function() return torch.LongTensor(3):var() end),
                     err(function() return torch.LongTensor(3):cuda():var() end))
  end)

  gpu_it('cumsum and cumprod match the CPU (float, double, long -> long, byte -> long)', function()
    for _, kind in ipairs({ 'float', 'double', 'long' }) do
      for _, x in ipairs(inputs(kind)) do
        local c, g = both(x)
        for d = 1, x:dim() do
          same(g:cumsum(d), c:cumsum(d), TOL[kind] == 0 and 0 or 1e-5)
          local p = kind == 'long' and c:clone():clamp(-2, 2) or c:clone():mul(0.2):add(1)
          same(p:cuda():cumprod(d), p:cumprod(d), TOL[kind] == 0 and 0 or 1e-5)
        end
      end
    end
    local b = torch.ByteTensor({ 200, 100, 50 })
    same(b:cuda():cumsum(1), b:cumsum(1), 0)
  end)

  gpu_it('sort and topk match the CPU (stable, NaN last ascending)', function()
    local t = torch.Tensor({ { 3, 1, 0 / 0, 1, 2, 3 }, { 0, -1, 5, 5, -1, 0 } })
    for _, x in ipairs({ t, t:t():clone():t(), torch.randn(5, 70) }) do
      local c, g = both(x)
      for d = 1, 2 do
        for _, desc in ipairs({ false, true }) do
          local cv, ci = c:sort(d, desc)
          local gv, gi = g:sort(d, desc)
          H.close(gv:double(), cv:double())
          H.close(gi:double(), ci:double(), 0, 0)
        end
      end
      for _, dir in ipairs({ false, true }) do
        local cv, ci = c:topk(2, 2, dir)
        local gv, gi = g:topk(2, 2, dir)
        H.close(gv:double(), cv:double())
        H.close(gi:double(), ci:double(), 0, 0)
      end
    end
    local l = sample('long', 4, 40)
    local cv, ci = l:sort(2)
    local gv, gi = l:cuda():sort(2)
    same(gv, cv, 0)
    same(gi, ci, 0)
    -- long lines (parallel merge passes): many ties, NaNs, both directions, topk
    local v = sample('double', 5000):mul(2):floor()
    for i = 1, 5000, 97 do v[i] = 0 / 0 end
    for _, x in ipairs({ v, v:view(2, 2500), v:view(2500, 2):t(), sample('float', 3, 777),
                         sample('long', 1000, 3) }) do
      local c, g = both(x)
      local d = x:dim()
      if x:size(d) < 100 then d = 1 end
      for _, desc in ipairs({ false, true }) do
        cv, ci = c:sort(d, desc)
        gv, gi = g:sort(d, desc)
        H.close(gv:double(), cv:double(), 0, 0)
        H.close(gi:double(), ci:double(), 0, 0)
        cv, ci = c:topk(9, d, desc)
        gv, gi = g:topk(9, d, desc)
        H.close(gv:double(), cv:double(), 0, 0)
        H.close(gi:double(), ci:double(), 0, 0)
      end
    end
  end)
end)

describe('CUDA softmax / logSoftmax / losses', function()
  gpu_it('softmax and logSoftmax along each dim of 2-D and 3-D inputs match the CPU', function()
    for _, kind in ipairs({ 'float', 'double' }) do
      local tol = kind == 'float' and 1e-6 or 1e-13
      for _, x in ipairs({ sample(kind, 4, 7), sample(kind, 7, 4):t(), sample(kind, 3, 4, 5),
                           sample(kind, 5, 4, 3):transpose(1, 3), sample(kind, 6) }) do
        local c, g = both(x)
        for d = 1, x:dim() do
          same(torch.softmax(g, d), torch.softmax(c, d), tol)
          same(torch.logSoftmax(g, d), torch.logSoftmax(c, d), tol)
        end
        same(torch.softmax(g, -1), torch.softmax(c, -1), tol)
      end
    end
    -- shifted by the max: huge logits are fine; a NaN makes its slice NaN
    local x = torch.Tensor({ { 1000, -1000, 999 }, { 1, 0 / 0, 2 } })
    same(torch.softmax(x:cuda(), 2), torch.softmax(x, 2), 1e-13)
    same(torch.logSoftmax(x:cuda(), 2), torch.logSoftmax(x, 2), 1e-13)
  end)

  gpu_it('softmax and logSoftmax over long slices (in chunks) match the CPU, and their gradients',
         function()
    for _, kind in ipairs({ 'float', 'double' }) do
      local tol = kind == 'float' and 1e-6 or 1e-13
      local xs = { sample(kind, 3, 5000), sample(kind, 6000, 2), sample(kind, 2, 4500, 2) }
      for _, x in ipairs(xs) do
        x:mul(5)
        local c, g = both(x)
        local d = x:size(1) > 100 and 1 or 2
        same(torch.softmax(g, d), torch.softmax(c, d), tol)
        same(torch.logSoftmax(g, d), torch.logSoftmax(c, d), tol)
        for _, fn in ipairs({ torch.softmax, torch.logSoftmax }) do
          local w = sample(kind, table.unpack(x:size():totable()))
          local gg, cg = grads(function(t) return torch.cmul(fn(t, d), w:typeAs(t)):sum() end, x)
          same(gg, cg, kind == 'float' and 1e-5 or 1e-12)
        end
      end
    end
    local x = torch.randn(2, 5000):double()
    x[2][4000] = 0 / 0
    x[1][2500] = 800
    same(torch.softmax(x:cuda(), 2), torch.softmax(x, 2), 1e-13)
    same(torch.logSoftmax(x:cuda(), 2), torch.logSoftmax(x, 2), 1e-13)
    local g = x:cuda()
    torch.softmax(g, g, 2)   -- in place
    same(g, torch.softmax(x, 2), 1e-13)
  end)

  gpu_it('softmax into a given device tensor, and in place', function()
    local x = torch.randn(3, 5)
    local r = torch.Tensor():cuda()
    torch.softmax(r, x:cuda(), 2)
    same(r, torch.softmax(x, 2):float(), 1e-6)
  end)

  gpu_it('nllLoss and crossEntropy match the CPU (weights, sizeAverage, 1-D input)', function()
    for _, kind in ipairs({ 'float', 'double' }) do
      local tol = kind == 'float' and 1e-5 or 1e-12
      torch.manualSeed(9)
      local x = sample(kind, 6, 5)
      local t = torch.LongTensor({ 1, 5, 3, 3, 2, 4 })
      local w = sample(kind, 5):abs():add(0.1)
      local xs = { x, sample(kind, 5, 6):t() }
      for _, xi in ipairs(xs) do
        local c, g = both(xi)
        local tg, wg = t:cuda(), w:cuda()
        for _, sa in ipairs({ true, false }) do
          same(torch.nllLoss(g, tg, nil, sa), torch.nllLoss(c, t, nil, sa), tol)
          same(torch.nllLoss(g, tg, wg, sa), torch.nllLoss(c, t, w, sa), tol)
          same(torch.crossEntropy(g, tg, nil, sa), torch.crossEntropy(c, t, nil, sa), tol)
          same(torch.crossEntropy(g, tg, wg, sa), torch.crossEntropy(c, t, w, sa), tol)
        end
        same(torch.crossEntropy(g, tg), torch.crossEntropy(c, t), tol)
        same(torch.nllLoss(g, tg, false), torch.nllLoss(c, t, false), tol)
      end
      -- many rows: summed in chunks of rows
      local big = sample(kind, 1000, 7)
      local bt = torch.LongTensor(1000)
      for i = 1, 1000 do bt[i] = i % 7 + 1 end
      local bw = sample(kind, 7):abs():add(0.5)
      local bg, btg = big:cuda(), bt:cuda()
      same(torch.crossEntropy(bg, btg, bw:cuda()), torch.crossEntropy(big, bt, bw), tol)
      same(torch.nllLoss(bg, btg, nil, false), torch.nllLoss(big, bt, nil, false), tol)
      local r = sample(kind, 5)
      same(torch.crossEntropy(r:cuda(), 3), torch.crossEntropy(r, 3), tol)
      same(torch.nllLoss(r:cuda(), 2), torch.nllLoss(r, 2), tol)
    end
  end)

  gpu_it('ignoreIndex: device values and gradients equal the CPU (a class, and padding 0)', function()
    for _, kind in ipairs({ 'float', 'double' }) do
      local tol = kind == 'float' and 1e-5 or 1e-12
      local x = sample(kind, 6, 5)
      local w = sample(kind, 5):abs():add(0.1)
      local cases = { { t = torch.LongTensor({ 1, 5, 3, 4, 2, 5 }), ignore = 5 },
                      { t = torch.LongTensor({ 1, 0, 3, 0, 2, 5 }), ignore = 0 } }
      for _, fn in ipairs({ torch.nllLoss, torch.crossEntropy }) do
        for _, cs in ipairs(cases) do
          for _, weighted in ipairs({ false, true }) do
            for _, sa in ipairs({ true, false }) do
              local function loss(v)
                local dev = v:isCuda()
                local wv = weighted and (dev and w:cuda() or w) or nil
                return fn(v, dev and cs.t:cuda() or cs.t, wv, sa, cs.ignore)
              end
              same(loss(x:cuda()), loss(x), tol)
              local gg, cg = grads(loss, x)
              same(gg, cg, tol)
            end
          end
        end
      end
    end
  end)

  gpu_it('a target out of range and mixed devices give the CPU errors', function()
    local x = torch.randn(3, 4)
    local t = torch.LongTensor({ 1, 5, 2 })
    local cpu_err = err(function() return torch.crossEntropy(x, t) end)
    H.matches(cpu_err, 'target 5 is out of range for 4 classes')
    assert.are.equal(cpu_err, err(function() return torch.crossEntropy(x:cuda(), t:cuda()) end))
    assert.are.equal(err(function() return torch.nllLoss(x, torch.LongTensor({ 1, 0, 2 })) end),
                     err(function()
                       return torch.nllLoss(x:cuda(), torch.LongTensor({ 1, 0, 2 }):cuda())
                     end))
    assert.are.equal(err(function() return torch.crossEntropy(x, 7) end),
                     err(function() return torch.crossEntropy(x:cuda(), 7) end))
    local ok = torch.LongTensor({ 1, 2, 3 })
    H.matches(H.error_of(function() return torch.crossEntropy(x:cuda(), ok) end),
              'expected all tensors on one device')
    H.matches(H.error_of(function() return torch.nllLoss(x:cuda(), ok:cuda(), torch.ones(4)) end),
              'expected all tensors on one device')
    H.matches(H.error_of(function() return torch.nllLoss(x, ok:cuda()) end),
              'expected all tensors on one device')
    assert.are.equal(err(function() return torch.softmax(x, 3) end),
                     err(function() return torch.softmax(x:cuda(), 3) end))
    assert.are.equal(err(function() return torch.softmax(torch.LongTensor(3)) end),
                     err(function() return torch.softmax(torch.LongTensor(3):cuda()) end))
  end)
end)

describe('CUDA gradients of reductions and nn kernels', function()
  gpu_it('sum, mean, prod (zeros), max / min (ties), var, std, norm, cumsum, cumprod, sort, topk',
         function()
    local x = torch.Tensor({ { 1, 2, 0, 4 }, { 3, 3, 1, -1 }, { 0.5, 0, 0, 2 } }):double()
    local fs = {
      function(t) return t:sum() end,
      function(t) return t:mean() end,
      function(t)
        return torch.cmul(t:sum(2), torch.Tensor({ 1, 2, 3 }):view(3, 1):typeAs(t)):sum()
      end,
      function(t) return t:mean(1, false):sum() end,
      function(t) return t:prod() end,
      function(t) return t:prod(2):sum() end,
      function(t) return t:max() end,
      function(t) return t:min() end,
      function(t) return (t:max(2)):sum() end,
      function(t) return (t:min(1, false)):sum() end,
      function(t) return t:var() end,
      function(t) return t:std(2):sum() end,
      function(t) return t:norm() end,
      function(t) return t:norm(1, 2):sum() end,
      function(t) return t:norm(3, 1):sum() end,
      function(t) return t:norm(math.huge, 2):sum() end,
      function(t) return t:cumsum(2):sum() end,
      function(t) return t:cumprod(2):sum() end,
      function(t) return (t:sort(2)):narrow(2, 1, 2):sum() end,
      function(t) return (t:topk(2, 2, true)):sum() end,
    }
    for k, f in ipairs(fs) do
      local ok, err = pcall(function()
        local gg, cg = grads(f, x)
        H.close(gg:double(), cg:double(), 1e-12, 1e-12)
      end)
      assert(ok, ('function %d: %s'):format(k, tostring(err)))
    end
  end)

  gpu_it('softmax / logSoftmax along dims 1 and 2 (2-D and 3-D)', function()
    for _, x in ipairs({ sample('double', 4, 5), sample('double', 3, 4, 5) }) do
      local wc = sample('double', table.unpack(x:size():totable())):add(1)
      for d = 1, 2 do
        for _, fn in ipairs({ torch.softmax, torch.logSoftmax }) do
          local gg, cg = grads(function(t) return torch.cmul(fn(t, d), wc:typeAs(t)):sum() end, x)
          H.close(gg:double(), cg, 1e-12, 1e-12)
          -- an expanded (stride 0) output gradient
          gg, cg = grads(function(t) return fn(t, d):sum() end, x)
          H.close(gg:double(), cg, 1e-12, 1e-12)
        end
      end
    end
  end)

  gpu_it('nllLoss and crossEntropy (weights, sizeAverage), float and double', function()
    for _, kind in ipairs({ 'float', 'double' }) do
      local tol = kind == 'float' and 1e-6 or 1e-13
      local x = sample(kind, 6, 5)
      local t = torch.LongTensor({ 1, 5, 3, 3, 2, 4 })
      local w = sample(kind, 5):abs():add(0.1)
      for _, sa in ipairs({ true, false }) do
        for _, wt in ipairs({ false, true }) do
          for _, fn in ipairs({ torch.nllLoss, torch.crossEntropy }) do
            local function f(v)
              local dev = v:isCuda()
              return fn(v, dev and t:cuda() or t, wt and (dev and w:cuda() or w) or nil, sa)
            end
            local gg, cg = grads(f, x)
            same(gg, cg, tol)
          end
        end
      end
      -- the output gradient is read on the device: scale it
      local gg, cg = grads(function(v)
        local dev = v:isCuda()
        return torch.mul(torch.crossEntropy(v, dev and t:cuda() or t), 3)
      end, x)
      same(gg, cg, tol)
      gg, cg = grads(function(v)
        local dev = v:isCuda()
        return torch.mul(torch.nllLoss(v, dev and t:cuda() or t, dev and w:cuda() or w), -2)
      end, x)
      same(gg, cg, tol)
      local r = sample(kind, 5)
      gg, cg = grads(function(v) return torch.crossEntropy(v, 4) end, r)
      same(gg, cg, tol)
      gg, cg = grads(function(v) return torch.nllLoss(torch.logSoftmax(v, 1), 2) end, r)
      same(gg, cg, tol)
    end
  end)
end)
