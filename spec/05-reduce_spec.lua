-- Reductions: sum/mean/prod/max/min/argmax/argmin/var/std/norm/cumsum/cumprod/sort/topk
-- against PyTorch (spec/fixtures/gen_reduce.py), on contiguous, transposed, narrowed and
-- expanded inputs, every dim (positive and negative), with Torch7's kept dims, the [res,]
-- forms, NaN and ties, the parallel paths on large inputs, and error messages.
local torch = require 'torch'
local H = require 'helpers'
local F = H.fixture('reduce')

local ctor = { float32 = torch.FloatTensor, float64 = torch.DoubleTensor }

-- luatorch call for each fixture key of a per-dim reduction (d is a Lua dim)
local OPS = {
  sum = function(v, d) return v:sum(d) end,
  mean = function(v, d) return v:mean(d) end,
  prod = function(v, d) return v:prod(d) end,
  max_v = function(v, d) return (v:max(d)) end,
  max_i = function(v, d) return select(2, v:max(d)) end,
  min_v = function(v, d) return (v:min(d)) end,
  min_i = function(v, d) return select(2, v:min(d)) end,
  var = function(v, d) return v:var(d) end,
  var_biased = function(v, d) return v:var(d, true) end,
  std = function(v, d) return v:std(d) end,
  norm1 = function(v, d) return v:norm(1, d) end,
  norm2 = function(v, d) return v:norm(2, d) end,
  norminf = function(v, d) return v:norm(math.huge, d) end,
  norm3 = function(v, d) return v:norm(3, d) end,
  cumsum = function(v, d) return v:cumsum(d) end,
  cumprod = function(v, d) return v:cumprod(d) end,
  sort_v = function(v, d) return (v:sort(d)) end,
  sort_i = function(v, d) return select(2, v:sort(d)) end,
  sortd_v = function(v, d) return (v:sort(d, true)) end,
  sortd_i = function(v, d) return select(2, v:sort(d, true)) end,
  topk_large_v = function(v, d) return (v:topk(2, d, true)) end,
  topk_large_i = function(v, d) return select(2, v:topk(2, d, true)) end,
  topk_small_v = function(v, d) return (v:topk(2, d)) end,
  topk_small_i = function(v, d) return select(2, v:topk(2, d, false)) end,
}

local function is_index(key) return key:match('_i$') ~= nil end

-- compares every op of a per-dim fixture table, for dims d and d - ndim - 1
local function check_dims(v, expected, rtol, atol)
  local nd = v:dim()
  for key, per in pairs(expected) do
    for d = 1, nd do
      for _, dd in ipairs({ d, d - nd - 1 }) do
        local ok, err = pcall(function()
          local r = OPS[key](v, dd)
          if is_index(key) then
            assert.equal('torch.LongTensor', torch.typename(r))
            H.close(r, per[d], 0, 0)
          else
            H.close(r, per[d], rtol, atol)
          end
        end)
        assert(ok, ('%s along dim %d: %s'):format(key, dd, tostring(err)))
      end
    end
  end
end

-- the formula of gen_reduce.py's big inputs (distinct values)
local function big(dt, n)
  local t = {}
  for i = 0, n - 1 do t[i + 1] = ((i * 7919) % 300007) / 300007 * 6 - 3 end
  return ctor[dt](t)
end

for _, dt in ipairs({ 'float32', 'float64' }) do
  local C = F[dt]
  local rtol = dt == 'float32' and 2e-5 or 1e-10
  local atol = dt == 'float32' and 2e-5 or 1e-10

  describe('reductions (' .. dt .. ')', function()
    local x = H.tensor(C.input)
    local views = { x = x, xt = x:transpose(1, 3), xn = x:narrow(2, 2, 2) }

    it('over all elements return numbers', function()
      for name, v in pairs(views) do
        local A = C[name].all
        H.close(v:sum(), A.sum, rtol, atol)
        H.close(torch.sum(v), A.sum, rtol, atol)
        H.close(v:mean(), A.mean, rtol, atol)
        H.close(v:prod(), A.prod, rtol, 1e-30)
        assert.equal(A.max, v:max())
        assert.equal(A.min, torch.min(v))
        assert.equal(A.argmax, v:argmax())
        assert.equal(A.argmin, v:argmin())
        H.close(v:var(), A.var, rtol, atol)
        H.close(v:var(true), A.var_biased, rtol, atol)
        H.close(v:std(), A.std, rtol, atol)
        H.close(v:norm(), A.norm2, rtol, atol)
        H.close(v:norm(1), A.norm1, rtol, atol)
        H.close(v:norm(math.huge), A.norminf, rtol, atol)
        H.close(v:norm(3), A.norm3, rtol, atol)
        H.close(torch.norm(v, 0), A.norm0, 0, 0)
        assert.equal('number', type(v:sum()))
      end
    end)

    it('along every dim of contiguous, transposed and narrowed inputs', function()
      for name, v in pairs(views) do
        local ok, err = pcall(check_dims, v, C[name].dim, rtol, atol)
        assert(ok, name .. ': ' .. tostring(err))
      end
    end)

    it('keeps the reduced dim by default and drops it when asked', function()
      assert.same({ 1, 3, 4 }, x:sum(1):size():totable())
      for d = 1, 3 do
        H.close(x:sum(d, false), C.x_sum_nokeep[d], rtol, atol)
        local v, i = x:max(d, false)
        H.close(v, C.x_max_nokeep_v[d], 0, 0)
        H.close(i, C.x_max_nokeep_i[d], 0, 0)
        H.close(x:var(d, false, false), C.x_var_nokeep[d], rtol, atol)
        H.close(x:argmax(d, false), C.x_max_nokeep_i[d], 0, 0)
        H.close(x:argmax(d), C.x.dim.max_i[d], 0, 0)
        H.close(x:argmin(d), C.x.dim.min_i[d], 0, 0)
      end
    end)

    it('never modifies self, and torch.f(x, ...) equals x:f(...)', function()
      local before = x:clone()
      x:sum(2); x:max(1); x:cumsum(3); x:sort(2); x:topk(2, 1); x:var(1); x:norm(2, 2)
      H.close(x, before, 0, 0)
      H.close(torch.sum(x, 2), C.x.dim.sum[2], rtol, atol)
      H.close(torch.cumsum(x, 3), C.x.dim.cumsum[3], rtol, atol)
      H.close(torch.cumsum(x), C.x.dim.cumsum[1], rtol, atol)   -- dim 1 by default (Torch7)
      H.close((torch.sort(x)), C.x.dim.sort_v[3], 0, 0)         -- last dim by default
      H.close((x:sort(true)), C.x.dim.sortd_v[3], 0, 0)
      H.close((x:topk(2)), C.x.dim.topk_small_v[3], 0, 0)        -- Torch7: k smallest
    end)

    it('writes into given result tensors ([res,] forms)', function()
      local T = ctor[dt]
      local res = T()
      assert.equal(res, torch.sum(res, x, 2))
      H.close(res, C.x.dim.sum[2], rtol, atol)
      assert.equal(res, torch.mean(res, x, 1))
      H.close(res, C.x.dim.mean[1], rtol, atol)
      assert.equal(res, torch.prod(res, x, 3))
      H.close(res, C.x.dim.prod[3], rtol, atol)
      assert.equal(res, torch.var(res, x, 2, true))
      H.close(res, C.x.dim.var_biased[2], rtol, atol)
      assert.equal(res, torch.std(res, x, 3))
      H.close(res, C.x.dim.std[3], rtol, atol)
      assert.equal(res, torch.norm(res, x, 3, 1))
      H.close(res, C.x.dim.norm3[1], rtol, atol)
      assert.equal(res, torch.cumprod(res, x, 2))
      H.close(res, C.x.dim.cumprod[2], rtol, atol)
      local v, i = T(), torch.LongTensor()
      local rv, ri = torch.max(v, i, x, 3)
      assert.equal(v, rv); assert.equal(i, ri)
      H.close(v, C.x.dim.max_v[3], 0, 0)
      H.close(i, C.x.dim.max_i[3], 0, 0)
      torch.min(v, i, x, -2)
      H.close(i, C.x.dim.min_i[2], 0, 0)
      torch.sort(v, i, x, 1, true)
      H.close(v, C.x.dim.sortd_v[1], 0, 0)
      H.close(i, C.x.dim.sortd_i[1], 0, 0)
      torch.topk(v, i, x, 2, 2, true)
      H.close(v, C.x.dim.topk_large_v[2], 0, 0)
      H.close(i, C.x.dim.topk_large_i[2], 0, 0)
      -- a result that is a view of the input is handled through a temporary
      local y = x:clone()
      torch.cumsum(y, y, 2)
      H.close(y, C.x.dim.cumsum[2], rtol, atol)
    end)

    it('reduces expanded inputs (stride 0)', function()
      local ex = H.tensor(C.e):expand(3, 4)
      for d = 1, 2 do
        H.close(ex:sum(d), C.e_sum[d], rtol, atol)
        local v, i = ex:max(d)
        H.close(v, C.e_max_v[d], 0, 0)
        H.close(i, C.e_max_i[d], 0, 0)   -- ties along the expanded dim: the first index
        H.close(ex:cumsum(d), C.e_cumsum[d], rtol, atol)
      end
      H.close(ex:sum(), C.e_all_sum, rtol, atol)
    end)

    it('propagates NaN in max/min (index of the first NaN) and sorts NaN last', function()
      local xn = H.tensor(C.nan.x)
      local ok, err = pcall(check_dims, xn, C.nan.dim, rtol, atol)
      assert(ok, err)
      assert.is_true(xn:max() ~= xn:max())
      assert.is_true(xn:min() ~= xn:min())
      assert.is_true(xn:sum() ~= xn:sum())
    end)

    it('resolves ties to the first index and sorts stably', function()
      local ok, err = pcall(check_dims, H.tensor(C.tie.x), C.tie.dim, 0, 0)
      assert(ok, err)
    end)

    it('is right and deterministic on large inputs (parallel paths)', function()
      local B = C.big1
      local b = big(dt, B.n)
      local s1, s2 = b:sum(), b:sum()
      assert.equal(s1, s2)
      H.close(s1, B.sum64, 0, 1e-12 * B.abssum)
      H.close(s1, B.sum, 0, 1e-6 * B.abssum)       -- PyTorch's own sum of this dtype
      local nt = torch.getnumthreads()
      torch.setnumthreads(1)
      local s3 = b:sum()
      torch.setnumthreads(nt)
      assert.equal(s1, s3)                           -- fixed chunks: any thread count
      H.close(b:mean(), B.mean64, 0, 1e-12 * B.abssum / B.n)
      assert.equal(B.max, b:max())
      assert.equal(B.argmax, b:argmax())
      H.close(b:var(), B.var, 1e-9, 0)
      H.close(b:norm(), B.norm2, 1e-9, 0)

      -- dim results are stored in the input's dtype: float32 rounds them to ~6e-8
      local tol = dt == 'float32' and 1e-6 or 1e-9
      local rows, R = b:view(60, 5000), C.big_rows
      local r1 = rows:sum(2)
      H.close(r1, R.sum, tol, tol)
      H.close(r1, rows:sum(2), 0, 0)
      local v, i = rows:max(2)
      H.close(v, R.max_v, 0, 0)
      H.close(i, R.max_i, 0, 0)
      H.close(rows:var(2), R.var, 1e-6, 0)
      H.close(select(2, rows:sort(2)):narrow(2, 1, 3), R.sort_first_i, 0, 0)
      H.close(select(2, rows:topk(3, 2, true)), R.topk_i, 0, 0)

      local cols, K = b:view(5000, 60), C.big_cols
      local c1 = cols:sum(1)
      H.close(c1, K.sum, tol, tol)
      H.close(c1, cols:sum(1), 0, 0)
      v, i = cols:max(1)
      H.close(v, K.max_v, 0, 0)
      H.close(i, K.max_i, 0, 0)
      H.close(cols:var(1), K.var, 1e-6, 0)
      H.close(cols:norm(2, 1), K.norm2, 1e-6, 0)
      H.close(cols:cumsum(1):narrow(1, 5000, 1), K.cumsum_last, 1e-6, 1e-6)
    end)
  end)
end

describe('reductions (int64, uint8)', function()
  local I = F.int64
  local x, small = H.tensor(I.x), H.tensor(I.small)

  it('over all elements give Lua integers (mean a float)', function()
    assert.equal(I.sum_all, x:sum())
    assert.equal('integer', math.type(x:sum()))
    assert.equal(I.max_all, x:max())
    assert.equal('integer', math.type(x:max()))
    assert.equal(I.min_all, x:min())
    assert.equal(I.prod_all, small:prod())
    H.close(x:mean(), I.mean_all, 1e-12, 0)
    assert.equal('float', math.type(x:mean()))
  end)

  it('along every dim, in int64 arithmetic, with stable sorts', function()
    for d = 1, 3 do
      for _, dd in ipairs({ d, d - 4 }) do
        local r = x:sum(dd)
        assert.equal('torch.LongTensor', torch.typename(r))
        H.close(r, I.sum[d], 0, 0)
        H.close(small:prod(dd), I.prod[d], 0, 0)
        local v, i = x:max(dd)
        H.close(v, I.max_v[d], 0, 0)
        H.close(i, I.max_i[d], 0, 0)
        v, i = x:min(dd)
        H.close(v, I.min_v[d], 0, 0)
        H.close(i, I.min_i[d], 0, 0)
        H.close(x:cumsum(dd), I.cumsum[d], 0, 0)
        H.close(small:cumprod(dd), I.cumprod[d], 0, 0)
        v, i = x:sort(dd)
        H.close(v, I.sort_v[d], 0, 0)
        H.close(i, I.sort_i[d], 0, 0)
        v, i = x:sort(dd, true)
        H.close(v, I.sortd_v[d], 0, 0)
        H.close(i, I.sortd_i[d], 0, 0)
      end
    end
  end)

  it('sums bytes into Long', function()
    local B = I.byte
    local xb = H.tensor(B.x)
    assert.equal(B.sum_all, xb:sum())
    for d = 1, 2 do
      local s = xb:sum(d)
      assert.equal('torch.LongTensor', torch.typename(s))
      H.close(s, B.sum[d], 0, 0)
      local v, i = xb:max(d)
      assert.equal('torch.ByteTensor', torch.typename(v))
      H.close(v, B.max_v[d], 0, 0)
      H.close(i, B.max_i[d], 0, 0)
      H.close(xb:cumsum(d), B.cumsum[d], 0, 0)
    end
  end)

  it('wraps int64 overflow instead of trapping', function()
    local t = torch.LongTensor({ math.maxinteger, 1 })
    assert.equal(math.mininteger, t:sum(1)[1])
  end)
end)

describe('reduction edge cases and errors', function()
  local x = torch.Tensor(2, 3, 4)

  it('handles 0-d tensors and empty dims', function()
    local s = torch.Tensor({ 5 }):view(1):squeeze()
    assert.equal(0, s:dim())
    assert.equal(5, s:sum())
    assert.equal(5, s:sum(1):item())
    assert.equal(0, torch.Tensor(0):sum())
    assert.equal(1, torch.Tensor(0):prod())
    assert.is_true(torch.Tensor(0):mean() ~= torch.Tensor(0):mean())
    assert.same({ 2, 1 }, torch.Tensor(2, 0):sum(2):size():totable())
    assert.equal(0, torch.Tensor(2, 0):sum(2):sum())
    local v, i = torch.Tensor(3, 1):sort(1)
    assert.same({ 1, 2, 3 }, i:view(3):totable())
  end)

  it('topk keeps the first of equal elements (small-k selection and full sort agree)', function()
    local t = torch.Tensor({ 3, 1, 3, 2, 3, 1, 1, 1 })
    local v, i = t:topk(2, 1, true)                 -- selection path (4 * k <= n)
    assert.same({ 3, 3 }, v:totable())
    assert.same({ 1, 3 }, i:totable())
    v, i = t:topk(2)
    assert.same({ 1, 1 }, v:totable())
    assert.same({ 2, 6 }, i:totable())
    v, i = t:topk(5, 1, true)                       -- sort path
    assert.same({ 3, 3, 3, 2, 1 }, v:totable())
    assert.same({ 1, 3, 5, 4, 2 }, i:totable())
    local n = torch.Tensor({ 1, 0 / 0, 5, 0 / 0, 2, 0, 0, 0 })
    v, i = n:topk(2, 1, true)                       -- NaN ranks above every number
    assert.same({ 2, 4 }, i:totable())
    assert.equal(0, t:topk(0):nElement())
  end)

  it('rejects bad dims naming the function', function()
    assert.matches('sum: dimension 4 out of range for a 3%-dimensional tensor',
                   H.error_of(function() x:sum(4) end))
    assert.matches('max: dimension %-4 out of range for a 3%-dimensional tensor',
                   H.error_of(function() x:max(-4) end))
    assert.matches('cumsum: dimension 0 out of range', H.error_of(function() x:cumsum(0) end))
    assert.matches('sort: dimension 5 out of range', H.error_of(function() x:sort(5) end))
    assert.matches('norm: dimension 9 out of range', H.error_of(function() x:norm(2, 9) end))
    assert.matches('var: dimension 7 out of range', H.error_of(function() torch.var(x, 7) end))
    assert.matches('mean: dimension must be an integer', H.error_of(function() x:mean(1.5) end))
  end)

  it('rejects bad arguments with clear messages', function()
    assert.matches('topk: k = 5 out of range for dimension 3 of size 4',
                   H.error_of(function() x:topk(5) end))
    assert.matches('topk: k = %-1 out of range', H.error_of(function() x:topk(-1) end))
    assert.matches('mean: mean along a dimension needs a Float or Double tensor, got Long',
                   H.error_of(function() torch.LongTensor(2, 2):mean(1) end))
    assert.matches('var: variance needs a Float or Double tensor, got Long',
                   H.error_of(function() torch.LongTensor(3):var() end))
    assert.matches('norm: norm needs a Float or Double tensor, got Byte',
                   H.error_of(function() torch.ByteTensor(3):norm() end))
    assert.matches('max: max of an empty tensor', H.error_of(function() torch.Tensor(0):max() end))
    assert.matches('min: min over dimension 2 of size 0',
                   H.error_of(function() torch.Tensor(2, 0):min(2) end))
    assert.matches('max: expected a dimension, got a tensor',
                   H.error_of(function() torch.max(x, x) end))
    assert.matches('sum: result tensor is Long, expected Float',
                   H.error_of(function() torch.sum(torch.LongTensor(), x, 1) end))
    assert.matches('max: result tensor is Double, expected Float',
                   H.error_of(function() torch.max(torch.DoubleTensor(), torch.LongTensor(), x, 1) end))
    assert.matches('sort: values and indices must be two different tensors',
                   H.error_of(function()
                     local l = torch.LongTensor(2, 2)
                     torch.sort(l, l, torch.LongTensor(2, 2), 1)
                   end))
    assert.matches('sum: tensor expected', H.error_of(function() torch.sum('a') end))
    assert.matches('var: the flag after the dimension must be a boolean',
                   H.error_of(function() x:var(1, 2) end))
  end)
end)
