-- The fused nn kernels (core/nnops.c, lua/lnn.c): torch.softmax, torch.logSoftmax,
-- torch.nllLoss, torch.crossEntropy — values and gradients against PyTorch
-- (spec/fixtures/gen_nnops.py) in float32 and float64, every dim, non-contiguous and expanded
-- inputs, large logits, class weights, sizeAverage both ways, ignoreIndex (a class, and padding
-- outside the classes), gradcheck, autograd behaviour
-- (no node without grad, version counter, accumulation), the parallel paths, and errors.
local torch = require 'torch'
local nn = require 'nn'
local H = require 'helpers'
local F = H.fixture('nnops')

-- float32 results are computed in double and rounded once; PyTorch's are float32 throughout
local TOL = { float32 = { 2e-6, 1e-7 }, float64 = { 1e-12, 1e-14 } }
local GTOL = { float32 = { 3e-5, 1e-6 }, float64 = { 1e-10, 1e-13 } }
local DTYPES = { 'float32', 'float64' }

local function close(a, e, tol) H.close(a, e, tol[1], tol[2]) end

local function input(c, dt, key)
  local x = H.tensor(c[key or 'x'], dt)
  if c == F[dt].t then x = x:t() end
  return x
end

local function err(pattern, fn, ...)
  local msg = H.error_of(fn, ...)
  assert(msg:find(pattern), ('error %q does not match %q'):format(msg, pattern))
end

describe('softmax and logSoftmax', function()
  for _, dt in ipairs(DTYPES) do
    for _, key in ipairs({ 'x1', 'x2', 'x3', 'big', 't' }) do
      it(('match PyTorch along every dim: %s %s'):format(key, dt), function()
        local c = F[dt][key]
        for i, d in ipairs(c.dims) do
          local x = input(c, dt)
          close(torch.softmax(x, d), c.sm[i], TOL[dt])
          close(torch.logSoftmax(x, d), c.lsm[i], TOL[dt])
          close(torch.softmax(x, d - x:dim() - 1), c.sm[i], TOL[dt])  -- negative dim
        end
      end)

      it(('have PyTorch gradients along every dim: %s %s'):format(key, dt), function()
        local c = F[dt][key]
        local g = H.tensor(c.g, dt)
        for i, d in ipairs(c.dims) do
          for _, op in ipairs({ { torch.softmax, c.sm_gx, 'SoftmaxBackward' },
                                { torch.logSoftmax, c.lsm_gx, 'LogSoftmaxBackward' } }) do
            local x = input(c, dt)       -- the transposed case is a non-contiguous leaf
            x.requiresGrad = true
            local y = op[1](x, d)
            assert.equal(op[3], y.gradFn)
            y:backward(g)
            local expected = H.tensor(op[2][i], dt)
            if key == 't' then expected = expected:t() end
            close(x.grad, expected, GTOL[dt])
          end
        end
      end)
    end

    it('default to the last dim, ' .. dt, function()
      local c = F[dt].x3
      local x = H.tensor(c.x, dt)
      close(torch.softmax(x), c.sm[3], TOL[dt])
      close(torch.logSoftmax(x), c.lsm[3], TOL[dt])
    end)

    it('stay finite for logits of +-1000, ' .. dt, function()
      local x = H.tensor(F[dt].big.x, dt)
      assert.is_true(x:abs():max() > 500)
      for d = 1, 2 do
        local y, ly = torch.softmax(x, d), torch.logSoftmax(x, d)
        assert.equal(0, torch.ne(y, y):sum())
        assert.equal(0, torch.ne(ly, ly):sum())
        assert.is_true(ly:max() <= 0 and ly:min() > -math.huge)
      end
    end)

    it('write the [res,] form and work in place, ' .. dt, function()
      local c = F[dt].x2
      local x = H.tensor(c.x, dt)
      local res = (dt == 'float32' and torch.FloatTensor or torch.DoubleTensor)()
      assert.equal(res, torch.softmax(res, x, 2))
      close(res, c.sm[2], TOL[dt])
      assert.equal(res, torch.logSoftmax(res, x, 1))
      close(res, c.lsm[1], TOL[dt])
      local y = x:clone()
      torch.softmax(y, y, 2)
      close(y, c.sm[2], TOL[dt])
      y = x:clone()
      torch.logSoftmax(y, y, 1)
      close(y, c.lsm[1], TOL[dt])
      close(x, c.x, { 0, 0 })  -- the input is untouched by the other forms
    end)

    it('take expanded and narrowed inputs, ' .. dt, function()
      local c = F[dt].x2
      local x = H.tensor(c.x, dt)
      local e = x:narrow(1, 2, 1):expand(3, 5)
      local y = torch.softmax(e, 2)
      local row = H.tensor(c.sm[2], dt):narrow(1, 2, 1)
      for i = 1, 3 do close(y:narrow(1, i, 1), row, TOL[dt]) end
      local n = x:narrow(2, 1, 5)
      close(torch.logSoftmax(n, 1), c.lsm[1], TOL[dt])
    end)
  end

  it('gives 1 (softmax) and 0 (logSoftmax) for a 0-dim tensor', function()
    local x = torch.DoubleTensor({ 3.5 }):view(1):squeeze()
    assert.equal(0, x:dim())
    assert.equal(1, torch.softmax(x):item())
    assert.equal(0, torch.logSoftmax(x, 1):item())
  end)

  it('agree between the row, column and threaded paths on a large tensor', function()
    torch.manualSeed(1)
    local x = torch.randn(300, 257):double()
    local rows = torch.softmax(x, 2)
    local cols = torch.softmax(x:t():contiguous(), 1):t()
    H.close(rows, cols, 1e-12, 1e-15)
    H.close(rows:sum(2), torch.DoubleTensor(300, 1):fill(1), 1e-12, 1e-12)
    local lrows = torch.logSoftmax(x, 2)
    H.close(lrows, torch.logSoftmax(x:t():contiguous(), 1):t(), 1e-12, 1e-12)
    local xf = x:detach():float()
    H.close(torch.softmax(xf, 2), rows, 1e-5, 1e-7)
  end)

  it('pass gradcheck in float64 (every dim, non-contiguous, expanded inside)', function()
    torch.manualSeed(2)
    for d = 1, 3 do
      local x = torch.randn(2, 3, 4):double()
      x.requiresGrad = true
      assert.is_true(torch.gradcheck(function(a) return torch.softmax(a, d) end, { x }))
      assert.is_true(torch.gradcheck(function(a) return torch.logSoftmax(a, d) end, { x }))
    end
    local xt = torch.randn(4, 3):double():t()
    xt.requiresGrad = true
    assert.is_true(torch.gradcheck(function(a) return torch.softmax(a, 1) end, { xt }))
    assert.is_true(torch.gradcheck(function(a) return torch.logSoftmax(a, 2) end, { xt }))
    local r = torch.randn(1, 5):double()
    r.requiresGrad = true
    assert.is_true(torch.gradcheck(function(a) return torch.softmax(a:expand(3, 5), 2) end, { r }))
    assert.is_true(torch.gradcheck(function(a) return torch.logSoftmax(a:expand(3, 5), 1) end, { r }))
  end)

  it('record nothing without grad or under noGrad, and refuse [res,] with grad', function()
    local x = torch.randn(3, 4):double()
    assert.is_nil(torch.softmax(x, 2).gradFn)
    x.requiresGrad = true
    torch.noGrad(function() assert.is_nil(torch.logSoftmax(x, 2).gradFn) end)
    err('softmax: .*cannot be recorded', torch.softmax, torch.DoubleTensor(), x, 2)
    err('logSoftmax: .*cannot be recorded', torch.logSoftmax, x, x, 2)
  end)

  it('detect an output modified in place before backward', function()
    local x = torch.randn(3, 4):double()
    x.requiresGrad = true
    local y = torch.softmax(x, 2)
    torch.noGrad(function() y:mul(2) end)
    err('SoftmaxBackward.*modified', function() y:backward(torch.ones(3, 4):double()) end)
  end)

  it('accumulate gradients over two backward passes', function()
    local c = F.float64.x2
    local x = H.tensor(c.x)
    x.requiresGrad = true
    local g = H.tensor(c.g)
    torch.logSoftmax(x, 2):backward(g)
    torch.logSoftmax(x, 2):backward(g)
    H.close(x.grad, H.tensor(c.lsm_gx[2]):mul(2), 1e-10, 1e-12)
  end)

  it('raise clear errors', function()
    local x = torch.randn(3, 4)
    err('softmax: .*floating%-point.*Long', torch.softmax, torch.LongTensor(3, 4), 1)
    err('logSoftmax: .*floating%-point.*Byte', torch.logSoftmax, torch.ByteTensor(3), 1)
    err('softmax: dimension 3 out of range for a 2%-dimensional tensor', torch.softmax, x, 3)
    err('logSoftmax: dimension %-3 out of range', torch.logSoftmax, x, -3)
    err('softmax: dimension must be an integer', torch.softmax, x, 1.5)
    err('softmax: tensor expected', torch.softmax, 'x', 1)
    err('softmax: .*result is a Double tensor, the input a Float', torch.softmax,
        torch.DoubleTensor(), x, 1)
  end)
end)

-- ---- losses ----------------------------------------------------------------------------------

local LOSSES = {
  { name = 'nllLoss', fn = torch.nllLoss, key = 'nll', input = 'logp', node = 'NllLossBackward' },
  { name = 'crossEntropy', fn = torch.crossEntropy, key = 'ce', input = 'logits',
    node = 'CrossEntropyBackward' },
  { name = 'crossEntropy (logits of +-1000)', fn = torch.crossEntropy, key = 'ce_big',
    input = 'big_logits', node = 'CrossEntropyBackward' },
  { name = 'crossEntropy (transposed input)', fn = torch.crossEntropy, key = 'ce_t',
    input = 'logits_t', node = 'CrossEntropyBackward', transposed = true },
  { name = 'crossEntropy (one row)', fn = torch.crossEntropy, key = 'ce_row', input = 'row',
    node = 'CrossEntropyBackward', row = true },
  { name = 'nllLoss (one row)', fn = torch.nllLoss, key = 'nll_row', input = 'row_logp',
    node = 'NllLossBackward', row = true },
  -- ignoreIndex (PyTorch's ignore_index): a class that occurs, and padding outside the classes
  { name = 'nllLoss (ignoreIndex)', fn = torch.nllLoss, key = 'nll_ignore', input = 'logp',
    node = 'NllLossBackward', ignore = 'ignore_class' },
  { name = 'crossEntropy (ignoreIndex)', fn = torch.crossEntropy, key = 'ce_ignore',
    input = 'logits', node = 'CrossEntropyBackward', ignore = 'ignore_class' },
  { name = 'crossEntropy (ignoreIndex, padding -99)', fn = torch.crossEntropy, key = 'ce_pad',
    input = 'logits', node = 'CrossEntropyBackward', target = 'target_pad',
    ignore = 'ignore_pad' },
}

describe('nllLoss and crossEntropy', function()
  for _, dt in ipairs(DTYPES) do
    local f = F[dt]
    for _, L in ipairs(LOSSES) do
      it(('match PyTorch values and gradients: %s, %s'):format(L.name, dt), function()
        for _, c in ipairs(f[L.key]) do
          local x = H.tensor(f[L.input], dt)
          if L.transposed then x = x:t() end
          x.requiresGrad = true
          local target = L.row and F.row_target or H.tensor(F[L.target or 'target'])
          local w = c.weighted and H.tensor(f.weight, dt) or nil
          local loss = L.fn(x, target, w, c.sizeAverage, L.ignore and F[L.ignore])
          assert.equal(0, loss:dim())
          assert.equal(x:type(), loss:type())
          assert.equal(L.node, loss.gradFn)
          close(loss, c.loss, TOL[dt])
          loss:backward()
          local expected = H.tensor(c.gx, dt)
          if L.transposed then expected = expected:t() end
          close(x.grad, expected, GTOL[dt])
        end
      end)
    end

    it('ignoreIndex through the criterions; every row ignored gives 0 / 0, ' .. dt, function()
      local x, t = H.tensor(f.logits, dt), H.tensor(F.target)
      local crit = nn.CrossEntropyCriterion(nil, true, F.ignore_class)
      close(crit:forward(x, t), f.ce_ignore[1].loss, TOL[dt])
      local nll = nn.ClassNLLCriterion(H.tensor(f.weight, dt), false, F.ignore_class)
      close(nll:forward(H.tensor(f.logp, dt), t), f.nll_ignore[4].loss, TOL[dt])
      local all = torch.LongTensor(F.N):fill(2)
      local l = torch.crossEntropy(x, all, nil, true, 2):item()
      assert.is_true(l ~= l, 'expected NaN, got ' .. tostring(l))
      assert.equal(0, torch.crossEntropy(x, all, nil, false, 2):item())
      -- out of range targets other than the ignored one are still errors
      H.matches(H.error_of(torch.crossEntropy, x, torch.LongTensor({ 1, 2, 3, 4, 5, 7 }), nil,
                           true, 0), 'target 7 is out of range')
      H.matches(H.error_of(torch.crossEntropy, x, t, nil, true, 1.5),
                'crossEntropy: ignoreIndex must be an integer')
    end)

    it('default to sizeAverage = true, and take (input, target, false), ' .. dt, function()
      local x, t = H.tensor(f.logits, dt), H.tensor(F.target)
      close(torch.crossEntropy(x, t), f.ce[1].loss, TOL[dt])
      close(torch.crossEntropy(x, t, nil, nil), f.ce[1].loss, TOL[dt])
      close(torch.crossEntropy(x, t, false), f.ce[2].loss, TOL[dt])
      close(torch.nllLoss(H.tensor(f.logp, dt), t, false), f.nll[2].loss, TOL[dt])
    end)

    it('take a one-row target as a number or a LongTensor, ' .. dt, function()
      local r = H.tensor(f.row, dt)
      close(torch.crossEntropy(r, torch.LongTensor({ F.row_target })), f.ce_row[1].loss, TOL[dt])
      close(torch.crossEntropy(r:view(1, -1), F.row_target), f.ce_row[1].loss, TOL[dt])
      close(torch.nllLoss(H.tensor(f.row_logp, dt), F.row_target), f.nll_row[1].loss, TOL[dt])
    end)

    it('agree with logSoftmax + nllLoss, ' .. dt, function()
      local x, t = H.tensor(f.logits, dt), H.tensor(F.target)
      local w = H.tensor(f.weight, dt)
      close(torch.nllLoss(torch.logSoftmax(x, 2), t, w), f.ce[3].loss, TOL[dt])
    end)
  end

  it('do not record without grad or under noGrad', function()
    local x, t = H.tensor(F.float64.logits), H.tensor(F.target)
    assert.is_nil(torch.crossEntropy(x, t).gradFn)
    assert.is_nil(torch.nllLoss(x, t).gradFn)
    x.requiresGrad = true
    torch.noGrad(function()
      assert.is_nil(torch.crossEntropy(x, t).gradFn)
      assert.is_nil(torch.nllLoss(x, t).gradFn)
    end)
  end)

  it('pass gradcheck in float64', function()
    torch.manualSeed(3)
    local t = torch.LongTensor({ 2, 5, 1, 3 })
    local w = torch.rand(5):double():add(0.5)
    for _, fn in ipairs({ torch.nllLoss, torch.crossEntropy }) do
      for _, weight in ipairs({ false, true }) do
        for _, avg in ipairs({ true, false }) do
          local x = torch.randn(4, 5):double()
          x.requiresGrad = true
          local wt = weight and w or nil
          assert.is_true(torch.gradcheck(function(a) return fn(a, t, wt, avg) end, { x }))
          local xt = torch.randn(5, 4):double():t()      -- non-contiguous
          xt.requiresGrad = true
          assert.is_true(torch.gradcheck(function(a) return fn(a, t, wt, avg) end, { xt }))
          -- with an ignored class (rows of class 5) and with padding 0
          assert.is_true(torch.gradcheck(function(a) return fn(a, t, wt, avg, 5) end, { x }))
          local tp = torch.LongTensor({ 2, 0, 1, 0 })
          assert.is_true(torch.gradcheck(function(a) return fn(a, tp, wt, avg, 0) end, { xt }))
        end
      end
      local r = torch.randn(5):double()
      r.requiresGrad = true
      assert.is_true(torch.gradcheck(function(a) return fn(a, 4, w) end, { r }))
      local e = torch.randn(1, 5):double()               -- expanded inside fn
      e.requiresGrad = true
      assert.is_true(torch.gradcheck(function(a) return fn(a:expand(4, 5), t) end, { e }))
    end
  end)

  it('detect a target or input modified in place before backward', function()
    local x, t = torch.randn(4, 5):double(), torch.LongTensor({ 1, 2, 3, 4 })
    x.requiresGrad = true
    local loss = torch.crossEntropy(x, t)
    torch.noGrad(function() x:mul(2) end)
    err('CrossEntropyBackward.*modified', function() loss:backward() end)
  end)

  it('accumulate gradients over two backward passes', function()
    local f = F.float64
    local x, t = H.tensor(f.logits), H.tensor(F.target)
    x.requiresGrad = true
    torch.crossEntropy(x, t):backward()
    torch.crossEntropy(x, t):backward()
    H.close(x.grad, H.tensor(f.ce[1].gx):mul(2), 1e-10, 1e-12)
  end)

  it('agree between the serial and threaded paths on a large batch', function()
    torch.manualSeed(4)
    local N, C = 3000, 40
    local x = torch.randn(N, C):double():mul(4)
    local t = torch.LongTensor(N):random(1, C)
    x.requiresGrad = true
    local loss = torch.crossEntropy(x, t, nil, false)
    loss:backward()
    local ref = torch.nllLoss(torch.logSoftmax(x, 2), t, nil, false)
    H.close(loss:item(), ref:item(), 1e-12, 1e-9)
    local g = x.grad
    -- each row of the gradient is softmax - onehot: it sums to 0
    H.close(g:sum(2), torch.DoubleTensor(N, 1):zero(), 0, 1e-12)
    -- rows computed alone (serial) give the same gradient rows
    for _, i in ipairs({ 1, 1234, N }) do
      local xi = x:detach():narrow(1, i, 1):clone()
      xi.requiresGrad = true
      torch.crossEntropy(xi, t:narrow(1, i, 1), nil, false):backward()
      H.close(xi.grad, g:narrow(1, i, 1), 1e-12, 1e-15)
    end
    local xf = x:detach():float()
    H.close(torch.crossEntropy(xf, t, nil, false):item(), loss:item(), 1e-5)
  end)

  it('raise clear errors', function()
    local x, t = torch.randn(6, 5), torch.LongTensor({ 1, 2, 3, 4, 5, 1 })
    err('nllLoss: target 6 is out of range for 5 classes %(expected 1 to 5%)', torch.nllLoss, x,
        torch.LongTensor({ 1, 2, 6, 4, 5, 1 }))
    err('crossEntropy: target 0 is out of range for 5 classes', torch.crossEntropy, x,
        torch.LongTensor({ 1, 2, 3, 0, 5, 1 }))
    err('crossEntropy: target %-2 is out of range', torch.crossEntropy, x:select(1, 1), -2)
    err('crossEntropy: size mismatch, input %[6 x 5%] needs a target of 6 class indices, got %[4%]',
        torch.crossEntropy, x, torch.LongTensor({ 1, 2, 3, 4 }))
    err('nllLoss: size mismatch, input %[6 x 5%] needs a target of 6 class indices, got %[6 x 1%]',
        torch.nllLoss, x, t:view(6, 1))
    err('nllLoss: size mismatch, input %[5%] needs one class index', torch.nllLoss,
        x:select(1, 1), torch.LongTensor({ 1, 2 }))
    err('crossEntropy: the target must be a LongTensor.*FloatTensor', torch.crossEntropy, x,
        t:float())
    err('crossEntropy: target expected', torch.crossEntropy, x)
    err('nllLoss: a number target needs one row', torch.nllLoss, x, 2)
    err('nllLoss: the target class must be an integer', torch.nllLoss, x:select(1, 1), 1.5)
    err('crossEntropy: size mismatch, weight %[4%] for 5 classes', torch.crossEntropy, x, t,
        torch.ones(4))
    err('crossEntropy: the weight is a Double tensor, the input a Float tensor',
        torch.crossEntropy, x, t, torch.ones(5):double())
    err('crossEntropy: weight must be a tensor', torch.crossEntropy, x, t, 'w')
    err('nllLoss: sizeAverage must be a boolean', torch.nllLoss, x, t, nil, 1)
    -- N x C x d inputs take N x d targets (spec 42)
    err('crossEntropy: an input of %[2 x 3 x 5%] %(N x C x d1 ...%) needs a target of %[2 x 5%] '
        .. '%(N x d1 ...%), got %[6%]', torch.crossEntropy, torch.randn(2, 3, 5), t)
    err('crossEntropy: expected an input of N x C scores.*%[scalar%]', torch.crossEntropy,
        torch.randn(1):view(1):squeeze(), t)
    err('crossEntropy: the input must be a floating%-point tensor.*Long', torch.crossEntropy,
        torch.LongTensor(6, 5), t)
    err('nllLoss: input tensor expected', torch.nllLoss, nil, t)
  end)
end)
