-- spec/11-grad_reduce_spec.lua — autograd of the reductions (core/grad_reduce.c, recorded by
-- lua/lreduce.c): gradcheck (float64 central differences) of sum, mean, prod, max, min,
-- var, std, norm (p = 2, 1, 3, 1.5, 0.5, inf, -inf), cumsum, cumprod, sort and topk, over all
-- elements and along every dim with the dim kept or dropped, on contiguous, transposed,
-- narrowed and expanded inputs; gradients against PyTorch at the conventional points (prod
-- with zeros, max/min ties and NaN, norms at zero, std of a constant, cumprod through zeros;
-- spec/fixtures/gen_grad_reduce.py); the 0-dim results of the full reductions when
-- recording; the [res,] refusal, the version-counter error, grad accumulation, and that
-- nothing is recorded without requiresGrad or under noGrad.
local torch = require 'torch'
local H = require 'helpers'

local fx = H.fixture('grad_reduce')

local matches, grad_leaf = H.matches, H.grad_leaf

-- float64 leaves: contiguous, transposed (non-contiguous) and narrowed views
local randn = H.randn
local randn_t = H.randn_t
local randn_n = H.randn_n
-- a 2x3x4 leaf whose dims are permuted (strides neither row- nor column-major)
local function randn_p() return grad_leaf(torch.randn(4, 2, 3):double():permute(2, 3, 1)) end
-- positive values away from 0 (prod, cumprod, fractional norms stay smooth)
local pos = H.pos

local check = H.gradcheck

local function ones_like(y) return torch.ones(y:size()):type(y:type()) end

-- a 0-dim float64 leaf holding v
local function scalar(v)
  local s = torch.DoubleTensor({ v }):view(1):squeeze()
  assert(s:dim() == 0)
  return grad_leaf(s)
end

before_each(function() torch.manualSeed(1) end)

describe('full reductions return a 0-dim tensor when recording', function()
  local names = { 'sum', 'mean', 'prod', 'max', 'min', 'var', 'std', 'norm' }

  it('a 0-dim tensor with a node when x requires grad, a number otherwise', function()
    for _, name in ipairs(names) do
      local x = randn(3, 4)
      local y = x[name](x)
      assert.is_true(torch.isTensor(y), name)
      assert.are.equal(0, y:dim(), name)
      assert.is_string(y.gradFn, name)
      assert.are.equal('torch.DoubleTensor', y:type())
      local v = x:detach()[name](x:detach())
      assert.are.equal('number', type(v), name)
      H.close(y:detach():sum(), v, 1e-12, 0)
      local f = torch[name](x)   -- the function form too
      assert.is_true(torch.isTensor(f), name)
      -- under noGrad: a number again
      assert.are.equal('number', type(torch.noGrad(function() return x[name](x) end)), name)
    end
    local d = randn(3)
    assert.are.equal(0, d:dot(d:detach()):dim())
  end)

  it('integer tensors keep returning integers', function()
    local l = torch.LongTensor({ 1, 2, 3 })
    assert.are.equal(6, l:sum())
    assert.is_true(math.type(l:sum()) == 'integer')
    assert.are.equal(3, l:max())
  end)

  it('a float32 leaf gives a float32 0-dim result and float32 gradients', function()
    local x = grad_leaf(torch.FloatTensor({ 1, 2, 3 }))
    local y = x:sum()
    assert.are.equal('torch.FloatTensor', y:type())
    y:backward()
    assert.are.equal('torch.FloatTensor', x.grad:type())
    H.close(x.grad, torch.ones(3), 0, 0)
    local z = grad_leaf(torch.FloatTensor({ 1, -2, 2 }))
    z:norm():backward()
    H.close(z.grad, torch.FloatTensor({ 1 / 3, -2 / 3, 2 / 3 }), 1e-6, 1e-7)
  end)
end)

describe('full reductions: gradcheck', function()
  local ops = {
    sum = function(x) return x:sum() end,
    mean = function(x) return x:mean() end,
    prod = function(x) return x:prod() end,
    max = function(x) return x:max() end,
    min = function(x) return torch.min(x) end,
    var = function(x) return x:var() end,
    var_biased = function(x) return x:var(true) end,
    std = function(x) return x:std() end,
    std_biased = function(x) return torch.std(x, true) end,
    norm2 = function(x) return x:norm() end,
    norm1 = function(x) return x:norm(1) end,
    norm3 = function(x) return x:norm(3) end,
    norm15 = function(x) return x:norm(1.5) end,
    norm05 = function(x) return x:norm(0.5) end,
    norminf = function(x) return x:norm(math.huge) end,
    normninf = function(x) return torch.norm(x, -math.huge) end,
  }
  for name, f in pairs(ops) do
    it(name .. ': contiguous, transposed, narrowed, expanded, 0-dim', function()
      local make = name == 'prod' and pos or randn
      check(f, { make(3, 4) })
      check(f, { randn_t(3, 4) })
      check(f, { randn_n(3, 4) })
      check(f, { randn_p() })
      -- expanded inside fn: max/min/inf-norm then see ties, shared evenly and summed back
      check(function(x) return f(x:expand(3, 4)) end, { make(1, 4) })
      check(function(x) return f(x:expand(2, 3)) end, { make(2, 1) })
      if not name:match('^var') and not name:match('^std') then
        check(f, { scalar(1.25) })
      end
    end)
  end

  it('prod with zeros (one zero: the product of the others; two: zero)', function()
    local x = grad_leaf(torch.DoubleTensor({ { 2, 0 }, { 3, 1.5 } }))
    x:prod():backward()
    H.close(x.grad, torch.DoubleTensor({ { 0, 9 }, { 0, 0 } }), 0, 0)
    check(function(a) return a:prod() end, { grad_leaf(torch.DoubleTensor({ 2, 0, 3, -1 })) })
    check(function(a) return a:prod() end, { grad_leaf(torch.DoubleTensor({ 2, 0, 3, 0 })) })
  end)
end)

describe('reductions along a dim: gradcheck', function()
  local ops = {
    sum = function(x, d, k) return x:sum(d, k) end,
    mean = function(x, d, k) return torch.mean(x, d, k) end,
    prod = function(x, d, k) return x:prod(d, k) end,
    max = function(x, d, k) return (x:max(d, k)) end,
    min = function(x, d, k) return (torch.min(x, d, k)) end,
    var = function(x, d, k) return x:var(d, false, k) end,
    var_biased = function(x, d, k) return x:var(d, true, k) end,
    std = function(x, d, k) return x:std(d, false, k) end,
    std_biased = function(x, d, k) return torch.std(x, d, true, k) end,
    norm2 = function(x, d, k) return x:norm(2, d, k) end,
    norm1 = function(x, d, k) return x:norm(1, d, k) end,
    norm3 = function(x, d, k) return x:norm(3, d, k) end,
    norm15 = function(x, d, k) return x:norm(1.5, d, k) end,
    norm05 = function(x, d, k) return torch.norm(x, 0.5, d, k) end,
    norminf = function(x, d, k) return x:norm(math.huge, d, k) end,
    normninf = function(x, d, k) return x:norm(-math.huge, d, k) end,
  }
  for name, f in pairs(ops) do
    it(name .. ': every dim, keepdim both ways, non-contiguous, expanded', function()
      local make = name == 'prod' and pos or randn
      for _, d in ipairs({ 1, 2, 3, -1 }) do
        for _, k in ipairs({ true, false }) do
          check(function(x) return f(x, d, k) end, { make(2, 3, 4) })
        end
        check(function(x) return f(x, d) end, { randn_p() })
      end
      check(function(x) return f(x, 1, false) end, { randn_t(3, 4) })
      check(function(x) return f(x, 2) end, { randn_n(3, 4) })
      check(function(x) return f(x:expand(3, 4), 1, false) end, { make(1, 4) })
      check(function(x) return f(x:expand(3, 4), 2) end, { make(1, 4) })
    end)
  end

  it('a 0-dim input along dim 1', function()
    for _, name in ipairs({ 'sum', 'mean', 'prod', 'max', 'min', 'norm2', 'norminf' }) do
      check(function(x) return ops[name](x, 1) end, { scalar(1.5) })
      check(function(x) return ops[name](x, 1, false) end, { scalar(-0.5) })
    end
  end)

  it('prod along a dim with zeros in some slices', function()
    local x = grad_leaf(torch.DoubleTensor({ { 2, 0, 3 }, { 1, 2, 3 }, { 0, 0, 1 } }))
    x:prod(2):backward(torch.ones(3, 1):double())
    H.close(x.grad, torch.DoubleTensor({ { 0, 6, 0 }, { 6, 3, 2 }, { 0, 0, 0 } }), 0, 0)
    check(function(a) return a:prod(1, false) end, { grad_leaf(x:detach():clone()) })
  end)
end)

describe('cumsum, cumprod, sort, topk: gradcheck', function()
  it('cumsum and cumprod along every dim', function()
    for _, d in ipairs({ 1, 2, 3, -1 }) do
      check(function(x) return x:cumsum(d) end, { randn(2, 3, 4) })
      check(function(x) return torch.cumprod(x, d) end, { randn(2, 3, 4) })
      check(function(x) return x:cumprod(d) end, { randn_p() })
    end
    -- default dim 1 (Torch7), non-contiguous and expanded inputs
    check(function(x) return x:cumsum() end, { randn_t(3, 4) })
    check(function(x) return x:cumprod() end, { randn_n(3, 4) })
    check(function(x) return x:expand(3, 4):cumsum(1) end, { randn(1, 4) })
    check(function(x) return x:expand(3, 4):cumprod(1) end, { randn(1, 4) })
    check(function(x) return x:cumprod(1) end, { scalar(2) })
  end)

  it('cumprod through zeros (exact, no division by the input)', function()
    check(function(x) return x:cumprod(1) end, { grad_leaf(torch.DoubleTensor({ 2, 0, 3, 0, 5 })) })
    check(function(x) return x:cumprod(2) end,
          { grad_leaf(torch.DoubleTensor({ { 0, 1, 2 }, { 3, 0, 4 }, { 5, 6, 0 } })) })
    local x = grad_leaf(torch.DoubleTensor({ 2, 0, 3 }))
    x:cumprod(1):backward(torch.DoubleTensor({ 1, 1, 1 }))
    -- y = (2, 0, 0): dy/dx1 = (1, 0, 0), dy/dx2 = (0, 2, 6), dy/dx3 = (0, 0, 0)
    H.close(x.grad, torch.DoubleTensor({ 1, 8, 0 }), 0, 0)
  end)

  it('sort (ascending, descending) and topk (largest, smallest) along every dim', function()
    for _, d in ipairs({ 1, 2, 3, -1 }) do
      check(function(x) return (x:sort(d)) end, { randn(2, 3, 4) })
      check(function(x) return (torch.sort(x, d, true)) end, { randn_p() })
      check(function(x) return (x:topk(2, d, true)) end, { randn(2, 3, 4) })
      check(function(x) return (torch.topk(x, 1, d, false)) end, { randn_p() })
    end
    check(function(x) return (x:sort()) end, { randn_t(3, 4) })
    check(function(x) return (x:topk(3)) end, { randn_n(3, 4) })
    check(function(x) return (x:expand(3, 4):sort(1)) end, { randn(1, 4) })
    check(function(x) return (x:sort(1)) end, { scalar(2) })
  end)

  it('indices are never differentiable', function()
    local x = randn(3, 4)
    for _, r in ipairs({ { x:max(2) }, { x:min(1) }, { x:sort(2) }, { x:topk(2) } }) do
      assert.is_string(r[1].gradFn)
      assert.is_nil(r[2].gradFn)
      assert.is_false(r[2].requiresGrad)
    end
    assert.is_false(x:argmax(2).requiresGrad)
  end)
end)

describe('gradients against PyTorch (spec/fixtures/gen_grad_reduce.py)', function()
  -- case name -> the same op in luatorch (fixture dims are 0-based, PyTorch's)
  local ops = {
    prod_all = function(x) return x:prod() end,
    prod_all_onezero = function(x) return x:prod() end,
    prod_all_twozeros = function(x) return x:prod() end,
    prod_dim1_zeros = function(x) return x:prod(2) end,
    prod_dim0_zeros = function(x) return x:prod(1, false) end,
    max_all_ties = function(x) return x:max() end,
    min_all_ties = function(x) return x:min() end,
    max_all_nan = function(x) return x:max() end,
    max_all = function(x) return x:max() end,
    max_dim1 = function(x) return (x:max(2)) end,
    min_dim0 = function(x) return (x:min(1, false)) end,
    var_all = function(x) return x:var() end,
    std_all = function(x) return x:std() end,
    var_dim1_biased = function(x) return x:var(2, true) end,
    std_dim0 = function(x) return x:std(1) end,
    std_const = function(x) return x:std() end,
    std_dim_const = function(x) return x:std(2) end,
    norm2 = function(x) return x:norm() end,
    norm2_zero = function(x) return x:norm() end,
    norm2_dim_zero_row = function(x) return x:norm(2, 2) end,
    norm1_zeros = function(x) return x:norm(1) end,
    norminf_ties = function(x) return x:norm(math.huge) end,
    normninf_ties = function(x) return x:norm(-math.huge) end,
    norminf_dim = function(x) return x:norm(math.huge, 2) end,
    norm05_zeros = function(x) return x:norm(0.5) end,
    norm15_zero = function(x) return x:norm(1.5) end,
    norm15 = function(x) return x:norm(1.5, 1) end,
    norm3 = function(x) return x:norm(3) end,
    norm3_dim_zero_row = function(x) return x:norm(3, 2, false) end,
    cumsum_dim1 = function(x) return x:cumsum(2) end,
    cumprod_dim1 = function(x) return x:cumprod(2) end,
    cumprod_zeros = function(x) return x:cumprod(1) end,
    cumprod_dim0_zeros = function(x) return x:cumprod(1) end,
    sort_dim1 = function(x) return (x:sort(2)) end,
    sort_dim0_desc = function(x) return (x:sort(1, true)) end,
    topk2_dim1_largest = function(x) return (x:topk(2, 2, true)) end,
    topk2_dim0_smallest = function(x) return (x:topk(2, 1, false)) end,
  }

  it('every fixture case has an op here', function()
    for name in pairs(fx) do assert(ops[name], 'no op for fixture case ' .. name) end
  end)

  for name, f in pairs(ops) do
    it(name .. ' (float64 and float32)', function()
      local c = fx[name]
      for _, dt in ipairs({ 'float64', 'float32' }) do
        local x = grad_leaf(H.tensor(c.x, dt))
        local y = f(x)
        local tol = dt == 'float64' and 1e-12 or 2e-6
        H.close(y, c.y, tol, tol)
        y:backward(H.tensor(c.w, dt))
        H.close(x.grad, c.dx, tol, tol)
      end
    end)
  end
end)

describe('max/min ties', function()
  it('max() and min() without a dim share the gradient evenly among ties', function()
    local x = grad_leaf(torch.DoubleTensor({ { 3, 1 }, { 3, 3 } }))
    x:max():backward()
    H.close(x.grad, torch.DoubleTensor({ { 1 / 3, 0 }, { 1 / 3, 1 / 3 } }), 1e-15, 0)
    local y = grad_leaf(torch.DoubleTensor({ -1, 4, -1 }))
    torch.min(y):backward()
    H.close(y.grad, torch.DoubleTensor({ 0.5, 0, 0.5 }), 0, 0)
  end)

  it('max(dim) and min(dim) give the whole gradient to the returned index', function()
    local x = grad_leaf(torch.DoubleTensor({ { 3, 1, 3 }, { 2, 2, 0 } }))
    local v, i = x:max(2)
    H.close(i, torch.LongTensor({ { 1 }, { 1 } }), 0, 0)
    v:backward(torch.DoubleTensor({ { 1 }, { 2 } }))
    H.close(x.grad, torch.DoubleTensor({ { 1, 0, 0 }, { 2, 0, 0 } }), 0, 0)
    local z = grad_leaf(torch.DoubleTensor({ { 3, 1, 1 }, { 0, 2, 0 } }))
    local w, j = z:min(2, false)
    w:backward(torch.DoubleTensor({ 5, 7 }))
    H.close(z.grad, torch.DoubleTensor({ { 0, 5, 0 }, { 7, 0, 0 } }), 0, 0)
    H.close(j, torch.LongTensor({ 2, 1 }), 0, 0)
  end)

  it('the inf-norm shares among equal |x|, with the sign of each', function()
    local x = grad_leaf(torch.DoubleTensor({ 2, -2, 1, 0 }))
    x:norm(math.huge):backward()
    H.close(x.grad, torch.DoubleTensor({ 0.5, -0.5, 0, 0 }), 0, 0)
  end)
end)

describe('recording rules', function()
  it('names the nodes', function()
    local x = randn(3, 4)
    local names = {
      SumBackward = { x:sum(), x:sum(2) }, MeanBackward = { x:mean(), x:mean(1) },
      ProdBackward = { x:prod(), x:prod(2) }, MaxBackward = { x:max(), (x:max(2)) },
      MinBackward = { x:min(), (x:min(1)) }, VarBackward = { x:var(), x:var(1) },
      StdBackward = { x:std(), x:std(2) }, NormBackward = { x:norm(), x:norm(1, 2) },
      CumsumBackward = { x:cumsum(2) }, CumprodBackward = { x:cumprod(1) },
      SortBackward = { (x:sort(2)) }, TopkBackward = { (x:topk(2)) },
    }
    for name, ys in pairs(names) do
      for _, y in ipairs(ys) do
        assert.are.equal(name, y.gradFn)
        assert.is_false(y.isLeaf)
      end
    end
  end)

  it('records nothing when no input requires grad, or under noGrad', function()
    local x = torch.randn(3, 4):double()
    for _, y in ipairs({ x:sum(2), x:prod(1), (x:max(2)), x:var(1), x:norm(2, 1), x:cumsum(2),
                         x:cumprod(1), (x:sort(2)), (x:topk(2)) }) do
      assert.is_nil(y.gradFn)
      assert.is_false(y.requiresGrad)
    end
    local r = randn(3, 4)
    torch.noGrad(function()
      for _, y in ipairs({ r:sum(2), r:mean(1), (r:min(2)), r:std(1), r:cumprod(2), (r:sort(1)) }) do
        assert.is_nil(y.gradFn)
        assert.is_false(y.requiresGrad)
      end
      assert.are.equal('number', type(r:norm()))
    end)
  end)

  it('refuses the [res,] forms when recording, before writing anything', function()
    local x = randn(3, 4)
    local res, v, i = torch.DoubleTensor(2), torch.DoubleTensor(2), torch.LongTensor(2)
    res:fill(7)
    local refused = {
      sum = function() torch.sum(res, x, 2) end,
      mean = function() torch.mean(res, x, 1) end,
      prod = function() torch.prod(res, x, 1) end,
      max = function() torch.max(v, i, x, 2) end,
      min = function() torch.min(v, i, x, 1) end,
      var = function() torch.var(res, x, 1) end,
      std = function() torch.std(res, x, 2) end,
      norm = function() torch.norm(res, x, 2, 1) end,
      cumsum = function() torch.cumsum(res, x, 1) end,
      cumprod = function() torch.cumprod(res, x, 2) end,
      sort = function() torch.sort(v, i, x, 2) end,
      topk = function() torch.topk(v, i, x, 2) end,
    }
    for name, f in pairs(refused) do
      matches(H.error_of(f), name .. ':', 'cannot be recorded for autograd')
    end
    -- the result tensors are untouched (same size, same values)
    H.close(res, torch.DoubleTensor({ 7, 7 }), 0, 0)
    assert.are.equal(2, v:nElement())
    -- a result made by recorded ops is refused even when x does not require grad
    local r2 = randn(3, 4):sum(2)
    matches(H.error_of(function() torch.sum(r2, torch.randn(3, 4):double(), 2) end),
            'sum:', 'cannot be recorded')
    -- allowed under noGrad
    torch.noGrad(function()
      torch.sum(res, x, 2)
      torch.max(v, i, x, 2)
      torch.cumsum(res, x, 1)
    end)
    H.close(res, torch.cumsum(x:detach(), 1), 0, 0)
    assert.is_nil(res.gradFn)
  end)

  it('detects a saved tensor modified in place', function()
    local saving = {
      ProdBackward = function(x) return x:prod() end,
      VarBackward = function(x) return x:var(1) end,
      StdBackward = function(x) return x:std() end,
      NormBackward = function(x) return x:norm(3, 2) end,
      CumprodBackward = function(x) return x:cumprod(2) end,
      MaxBackward = function(x) return x:max() end,
    }
    for name, f in pairs(saving) do
      local x = pos(3, 4)
      local y = f(x)
      torch.noGrad(function() x:mul(2) end)
      matches(H.error_of(function() y:backward(ones_like(y)) end), name, 'in%-place')
    end
    -- sum saves nothing; max(dim) and sort save their own copy of the indices
    local x = randn(3, 4)
    local s, m, srt = x:sum(2), (x:max(2)), (x:sort(2))
    torch.noGrad(function() x:mul(2) end)
    s:backward(ones_like(s))
    m:backward(ones_like(m))
    srt:backward(ones_like(srt))
    local a = randn(2, 3)
    local v, i = a:max(2)
    i:fill(1)   -- the returned indices are the caller's
    v:backward(ones_like(v))
    assert.are.equal(2, a.grad:sum())
  end)

  it('accumulates gradients across backward calls', function()
    local x = randn(3, 4)
    x:sum():backward()
    x:mean(2):sum():backward()
    H.close(x.grad, torch.DoubleTensor(3, 4):fill(1.25), 1e-15, 0)
    local y = randn(2, 3)
    local p = y:cumsum(2)
    p:backward(ones_like(p), true)
    p:backward(ones_like(p))
    H.close(y.grad, torch.DoubleTensor({ { 6, 4, 2 }, { 6, 4, 2 } }), 0, 0)
  end)
end)
