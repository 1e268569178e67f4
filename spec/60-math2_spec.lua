-- spec/60-math2_spec.lua — the tensor functions of lua/torch/mathx2.lua (argsort, unique,
-- bincount, diff, meshgrid, nanToNum, clip, logaddexp, hypot, deg2rad, rad2deg, xlogy, sinc,
-- einsum): results, types and gradients against PyTorch (spec/fixtures/gen_math2.py), float64
-- gradchecks, the method forms, the conventions (1-based LongTensor indices, bincount's
-- values, a number for einsum's 0-dim result but a 0-dim tensor while autograd records), NaN
-- and infinities, other types, the device, and argument errors.
local torch = require 'torch'
local H = require 'helpers'

local F = H.fixture('math2')
local check = H.gradcheck
local randn, randn_t, grad_leaf = H.randn, H.randn_t, H.grad_leaf

before_each(function() torch.manualSeed(60) end)

local ctor_type = { float64 = 'torch.DoubleTensor', float32 = 'torch.FloatTensor', int64 = 'torch.LongTensor' }

-- fn(inputs..., args...) on a fixture case ("nil" in args: an argument left out): every output
-- against PyTorch's, of its type (integers exactly), then, where the case has w, the inputs'
-- gradients of the first output
local function run_case(fn, c)
  local all, n = {}, 0
  local inputs = {}
  for i, f in ipairs(c.inputs) do
    inputs[i] = H.tensor(f)
    if c.w and f.dtype == 'float64' then grad_leaf(inputs[i]) end
    n = n + 1
    all[n] = inputs[i]
  end
  for _, a in ipairs(c.args) do
    n = n + 1
    if a ~= 'nil' then all[n] = a end
  end
  local outs = table.pack(fn(table.unpack(all, 1, n)))
  assert.are.equal(#c.outs, outs.n)
  for i, expected in ipairs(c.outs) do
    assert.are.equal(ctor_type[expected.dtype], outs[i]:type())
    if expected.dtype == 'int64' then
      assert.are.same(expected.shape, outs[i]:size():totable())
      if #expected.data > 0 then assert.are.same(expected.data, outs[i]:contiguous():view(-1):totable()) end
    else
      H.close(outs[i], expected, 1e-10, 1e-12)
    end
  end
  if c.w then
    outs[1]:backward(H.tensor(c.w))
    for i, g in ipairs(c.grads) do
      -- (an input the first output does not depend on gets no gradient: PyTorch's zeros)
      if inputs[i].requiresGrad then H.close(inputs[i].grad or torch.zerosLike(inputs[i]), g, 1e-10, 1e-12) end
    end
  end
  return inputs, outs
end

-- einsum's equation is its first argument; the fixture has it last
local function einsum_last(...)
  local t = table.pack(...)
  return torch.einsum(t[t.n], table.unpack(t, 1, t.n - 1))
end

-- ---- against PyTorch ---------------------------------------------------------------------
describe('against PyTorch: results, types and gradients', function()
  for _, name in ipairs({ 'argsort', 'unique', 'bincount', 'diff', 'meshgrid', 'nanToNum', 'logaddexp',
                          'hypot', 'deg2rad', 'rad2deg', 'xlogy', 'sinc' }) do
    it(name, function()
      for i, c in ipairs(F[name]) do
        local ok, err = pcall(run_case, torch[name], c)
        assert(ok, ('case %d: %s'):format(i, tostring(err)))
      end
    end)
  end

  it('einsum', function()
    for i, c in ipairs(F.einsum) do
      local ok, err = pcall(run_case, einsum_last, c)
      assert(ok, ('%s (case %d): %s'):format(c.args[1], i, tostring(err)))
    end
  end)

  it('diff with prepend and append tensors', function()
    for i, c in ipairs(F.diff_prepend) do
      local ok, err = pcall(run_case, function(x, p, n, dim) return torch.diff(x, n, dim, p) end, c)
      assert(ok, ('prepend case %d: %s'):format(i, tostring(err)))
    end
    for i, c in ipairs(F.diff_append) do
      local ok, err = pcall(run_case, function(x, a, n, dim) return torch.diff(x, n, dim, nil, a) end, c)
      assert(ok, ('append case %d: %s'):format(i, tostring(err)))
    end
  end)

  it('diff beyond the dim: an empty dim', function()
    for _, c in ipairs(F.diff_empty) do
      local y = torch.diff(H.tensor(c.inputs[1]), c.args[1])
      assert.are.same(c.outs[1].shape, y:size():totable())
    end
  end)
end)

-- ---- conventions ---------------------------------------------------------------------------
describe('conventions', function()
  it('argsort: sort\'s indices, stable (ties keep their order, also descending)', function()
    local x = torch.randn(3, 4, 5):double()
    assert.are.same(select(2, torch.sort(x, 2)):totable(), torch.argsort(x, 2):totable())
    assert.are.same(select(2, torch.sort(x, 3, true)):totable(), x:argsort(-1, true):totable())
    local ties = torch.LongTensor({ 2, 1, 2, 1, 2 })
    assert.are.same({ 2, 4, 1, 3, 5 }, torch.argsort(ties):totable())
    assert.are.same({ 1, 3, 5, 2, 4 }, torch.argsort(ties, 1, true):totable())
    local s = torch.DoubleTensor({ 7 }):view(1):squeeze()
    local i = torch.argsort(s)
    assert.are.equal(0, i:dim())
    assert.are.equal(1, i:item())
    assert.are.equal('torch.LongTensor', i:type())
    assert.is_nil(torch.argsort(randn(4)).gradFn)
  end)

  it('unique: the returns asked for, in PyTorch\'s order; no gradient; empty and Byte inputs', function()
    local x = torch.LongTensor({ 3, 1, 3, 3 })
    local v, c = torch.unique(x, { returnCounts = true })
    assert.are.same({ 1, 3 }, v:totable())
    assert.are.same({ 1, 3 }, c:totable())
    assert.are.equal(1, select('#', torch.unique(x)))
    assert.are.equal(3, select('#', x:unique({ returnInverse = true, returnCounts = true })))
    assert.are.same({ 1, 3 }, torch.unique(x, { sorted = false }):totable())
    local e, inv, cnt = torch.unique(torch.DoubleTensor(0), { returnInverse = true, returnCounts = true })
    assert.are.same({ 0 }, e:size():totable())
    assert.are.same({ 0 }, inv:size():totable())
    assert.are.same({ 0 }, cnt:size():totable())
    assert.are.same({ 0, 1 }, torch.unique(torch.ByteTensor({ 1, 0, 1 })):totable())
    assert.are.equal('torch.ByteTensor', torch.unique(torch.ByteTensor({ 1 })):type())
    local r = torch.unique(randn(5))
    assert.is_nil(r.gradFn)
    -- the dim form: slices equal, so all one; inverse indexes the slices
    local m = torch.DoubleTensor({ { 1, 1, 2 }, { 1, 1, 2 } })
    local u, ui = torch.unique(m, { dim = 2, returnInverse = true })
    assert.are.same({ { 1, 2 }, { 1, 2 } }, u:totable())
    assert.are.same({ 1, 1, 2 }, ui:totable())
    -- the inverse rebuilds x
    local y = torch.DoubleTensor({ { 5, 0 / 0, 2 }, { 2, 5, -1 } })
    local uv, uinv = torch.unique(y, { returnInverse = true })
    H.close(uv:index(1, uinv:view(-1)):view(2, 3), y, 0, 0)
  end)

  it('bincount counts values 0..max: value v at index v + 1; LongTensor, or the weights\' float type', function()
    local c = torch.bincount(torch.LongTensor({ 0, 0, 3 }))
    assert.are.same({ 2, 0, 0, 1 }, c:totable())
    assert.are.equal('torch.LongTensor', c:type())
    assert.are.same({ 0, 1, 0, 0, 0 }, torch.LongTensor({ 1 }):bincount(nil, 5):totable())
    assert.are.same({ 0, 2 }, torch.bincount(torch.ByteTensor({ 1, 1 })):totable())
    local wf = torch.bincount(torch.LongTensor({ 1, 1 }), torch.FloatTensor({ 0.5, 0.25 }))
    assert.are.equal('torch.FloatTensor', wf:type())
    assert.are.same({ 0, 0.75 }, wf:totable())
    assert.are.equal('torch.DoubleTensor', torch.bincount(torch.LongTensor({ 0 }), torch.LongTensor({ 3 })):type())
    assert.are.same({}, torch.bincount(torch.LongTensor(0)):totable())
    assert.is_nil(torch.bincount(torch.LongTensor({ 1 }), randn(1)).gradFn)
  end)

  it('diff: n = 0 gives a copy; prepend and append as numbers; other types', function()
    local x = torch.DoubleTensor({ 1, 4, 9 })
    local y = torch.diff(x, 0)
    H.close(y, x, 0, 0)
    y[1] = 7
    assert.are.equal(1, x[1])
    assert.are.same({ 1, 3, 5 }, torch.diff(x, 1, 1, 0):totable())
    assert.are.same({ 3, 5, -9 }, x:diff(1, -1, nil, 0):totable())
    assert.are.same({ 2 }, torch.diff(torch.LongTensor({ 1, 4, 9 }), 2):totable())
    assert.are.equal('torch.LongTensor', torch.diff(torch.LongTensor({ 1, 4 })):type())
  end)

  it('meshgrid: a table of tensors too; new tensors; one type', function()
    local a, b = torch.DoubleTensor({ 1, 2, 3 }), torch.DoubleTensor({ 4, 5 })
    local g1, g2 = torch.meshgrid({ a, b })
    assert.are.same({ 3, 2 }, g1:size():totable())
    assert.are.same({ { 4, 5 }, { 4, 5 }, { 4, 5 } }, g2:totable())
    local x1, x2 = torch.meshgrid({ a, b }, { indexing = 'xy' })
    assert.are.same({ { 1, 2, 3 }, { 1, 2, 3 } }, x1:totable())
    assert.are.same({ 2, 3 }, x2:size():totable())
    g1[1][1] = 9
    assert.are.equal(1, a[1])
    assert.is_true(g1:isContiguous())
    local l = torch.meshgrid(torch.LongTensor({ 1, 2 }))
    assert.are.equal('torch.LongTensor', l:type())
  end)

  it('nanToNum: the type\'s finite range by default; integers copied', function()
    local f = torch.nanToNum(torch.FloatTensor({ math.huge, -math.huge }))
    assert.are.equal(3.4028234663852886e38, f[1])
    assert.are.equal(-3.4028234663852886e38, f[2])
    local d = torch.DoubleTensor({ math.huge, 0 / 0 }):nanToNum()
    assert.are.equal(1.7976931348623157e308, d[1])
    assert.are.equal(0, d[2])
    local l = torch.LongTensor({ 1, 2 })
    local c = torch.nanToNum(l, 5)
    assert.are.same({ 1, 2 }, c:totable())
    c[1] = 3
    assert.are.equal(1, l[1])
  end)

  it('clip is clamp (torch.clip a new tensor, x:clip in place, as clamp), its errors named clip', function()
    local x = torch.DoubleTensor({ -2, 0.5, 3, 0 / 0 })
    local c = torch.clip(x, -1, 1)
    H.close(c, torch.clamp(x, -1, 1), 0, 0)
    assert.are.same({ -1, 0.5, 1 }, c:narrow(1, 1, 3):totable())
    assert.are.same({ -2, 0.5, 3 }, x:narrow(1, 1, 3):totable())
    assert.are.same({ -2, 0.5, 2 }, torch.clip(x:narrow(1, 1, 3), nil, 2):totable())
    local y = x:clone()
    assert.are.equal(y, y:clip(0, 1))
    H.close(y, torch.clamp(x, 0, 1), 0, 0)
    local r = torch.DoubleTensor(4)
    torch.clip(r, x, 0, 1)
    H.close(r, y, 0, 0)
    local g = randn(5)
    check(function(t) return torch.clip(t, -0.5, 0.5) end, { g })
    H.matches(H.error_of(torch.clip, torch.ByteTensor(2), torch.randn(2), 1, 1), '^clip: ')
    H.matches(H.error_of(function() return x:clip('a', 1) end), "to 'clip' %(")
  end)

  it('einsum: a number for a 0-dim result, a 0-dim tensor while autograd records; a new tensor', function()
    local a, b = torch.DoubleTensor({ 1, 2 }), torch.DoubleTensor({ 3, 4 })
    assert.are.equal(11, torch.einsum('i,i->', a, b))
    assert.are.equal(11, torch.einsum('i,i', { a, b }))
    local r = torch.einsum('i,i->', randn(3), randn(3))
    assert.is_true(torch.isTensor(r))
    assert.are.equal(0, r:dim())
    local m = torch.randn(3, 4):double()
    local same = torch.einsum('ij', m)
    H.close(same, m, 0, 0)
    same[1][1] = 99
    assert.are_not.equal(99, m[1][1])
    assert.is_true(torch.einsum('ij->ji', m):isContiguous())
    -- against the ops for the common contractions
    local x, y = torch.randn(2, 3, 4):double(), torch.randn(2, 4, 5):double()
    H.close(torch.einsum('bij,bjk->bik', x, y), torch.bmm(x, y), 1e-12, 1e-12)
    H.close(torch.einsum('ij,jk->ik', m, m:t()), torch.mm(m, m:t()), 1e-12, 1e-12)
    H.close(torch.einsum('ii->i', torch.mm(m, m:t())), torch.diag(torch.mm(m, m:t())), 0, 0)
    -- float tensors stay float
    assert.are.equal('torch.FloatTensor', torch.einsum('ij,jk->ik', m:float(), m:t():float()):type())
  end)

  it('the methods are the functions (new tensors; x unchanged)', function()
    local x = torch.randn(3, 4):double()
    local y = torch.randn(3, 4):double()
    local copy = x:clone()
    local same = {
      { x:argsort(1), torch.argsort(x, 1) }, { x:diff(2, 1), torch.diff(x, 2, 1) },
      { x:nanToNum(1), torch.nanToNum(x, 1) }, { x:logaddexp(y), torch.logaddexp(x, y) },
      { x:hypot(y), torch.hypot(x, y) }, { x:deg2rad(), torch.deg2rad(x) }, { x:rad2deg(), torch.rad2deg(x) },
      { x:xlogy(y:abs()), torch.xlogy(x, y:abs()) }, { x:xlogy(2), torch.xlogy(x, 2) }, { x:sinc(), torch.sinc(x) },
      { x:unique(), torch.unique(x) },
    }
    for i, pair in ipairs(same) do
      local ok, err = pcall(H.close, pair[1], pair[2], 0, 0)
      assert(ok, ('pair %d: %s'):format(i, tostring(err)))
    end
    assert.are.same({ 1, 0, 2 }, torch.LongTensor({ 0, 2, 2 }):bincount():totable())
    H.close(x, copy, 0, 0)
    assert.is_nil(torch.Tensor.einsum)
    assert.is_nil(torch.Tensor.meshgrid)
  end)

  it('float tensors: the same results in float32', function()
    local x, y = torch.randn(3, 4), torch.randn(3, 4)
    for _, f in ipairs({ torch.logaddexp, torch.hypot, torch.xlogy }) do
      local r = f(x, y:abs())
      assert.are.equal('torch.FloatTensor', r:type())
      H.close(r, f(x:double(), y:abs():double()), 1e-5, 1e-6)
    end
    for _, f in ipairs({ torch.sinc, torch.deg2rad, torch.rad2deg }) do
      H.close(f(x), f(x:double()), 1e-5, 1e-5)
    end
  end)
end)

-- ---- gradchecks ----------------------------------------------------------------------------
describe('float64 gradcheck', function()
  it('diff, meshgrid, nanToNum', function()
    check(function(x) return torch.diff(x) end, { randn_t(3, 4) })
    check(function(x) return torch.diff(x, 2, 1) end, { randn(4, 3) })
    check(function(x, p, a) return torch.diff(x, 1, 2, p, a) end, { randn(3, 4), randn(3, 1), randn(3, 2) })
    check(function(a, b) return torch.meshgrid(a, b) end, { randn(3), randn(4) })
    check(function(a, b, c) return select(2, torch.meshgrid(a, b, c, { indexing = 'xy' })) end,
          { randn(3), randn(2), randn(2) })
    local x = torch.randn(3, 4):double()
    x[1][1], x[2][2], x[3][3] = 0 / 0, math.huge, -math.huge
    check(function(t) return torch.nanToNum(t, 1, 2, 3) end, { grad_leaf(x) })
  end)

  it('logaddexp, hypot, deg2rad, rad2deg, xlogy, sinc', function()
    check(function(a, b) return torch.logaddexp(a, b) end, { randn_t(3, 4), randn(3, 4) })
    check(function(a, b) return torch.logaddexp(a, b) end, { randn(3, 1), randn(4) })
    check(function(a, b) return torch.hypot(a, b) end, { randn(3, 4), randn_t(3, 4) })
    check(function(a, b) return torch.hypot(a, b) end, { randn(4), randn(3, 1) })
    check(function(x) return torch.deg2rad(x) end, { randn(3, 4) })
    check(function(x) return torch.rad2deg(x) end, { randn_t(3, 4) })
    local x = torch.randn(3, 4):double()
    x[1][1], x[2][3] = 0, 0
    check(function(a, b) return torch.xlogy(a, b) end, { grad_leaf(x), H.pos(3, 4) })
    check(function(a, b) return torch.xlogy(a, b) end, { randn(3, 4), H.pos(4) })
    local s = torch.randn(3, 4):double()
    s[1][1] = 0
    check(function(t) return torch.sinc(t) end, { grad_leaf(s) })
  end)

  it('einsum: contractions, traces, diagonals, outer products, ellipsis', function()
    local cases = {
      { 'ij,jk->ik', { randn_t(3, 4), randn(4, 2) } }, { 'bij,bjk->bik', { randn(2, 3, 4), randn(2, 4, 2) } },
      { 'i,i->', { randn(4), randn(4) } }, { 'ij->ji', { randn(3, 4) } }, { 'ii->i', { randn(3, 3) } },
      { 'ii', { randn_t(3, 3) } }, { 'bhqd,bhkd->bhqk', { randn(2, 2, 3, 4), randn(2, 2, 2, 4) } },
      { 'i,j->ij', { randn(3), randn(2) } }, { 'ijk,ikl,lm->jm', { randn(2, 3, 4), randn(2, 4, 2), randn(2, 3) } },
      { '...ij,...jk', { randn(2, 3, 4), randn(4, 2) } }, { 'iij->j', { randn(3, 3, 2) } },
      { 'ij,jk->ik', { randn(3, 1), randn(4, 2) } },
    }
    for _, c in ipairs(cases) do
      check(function(...) return torch.einsum(c[1], ...) end, c[2])
    end
  end)
end)

-- ---- errors --------------------------------------------------------------------------------
describe('bad arguments: errors naming the function', function()
  local m, v = torch.randn(3, 4), torch.randn(3)
  local cases = {
    { function() return torch.argsort(m, 3) end,
      "bad argument #2 to 'argsort' %(dimension 3 out of range for a tensor of size %[3 x 4%]%)" },
    { function() return torch.argsort(m, 1, 1) end, "bad argument #3 to 'argsort' %(boolean or nil expected, got number%)" },
    { function() return torch.argsort('x') end, "bad argument #1 to 'argsort' %(tensor expected, got string%)" },
    { function() return m:argsort(0) end, "bad argument #1 to 'argsort' %(dimension 0 out of range" },
    { function() return torch.unique(m, { return_inverse = true }) end,
      "unique: unknown option 'return_inverse' %(did you mean 'returnInverse'%?%)" },
    { function() return torch.unique(m, 1) end, 'unique: options must be a table, got number' },
    { function() return torch.unique(m, { sorted = 1 }) end, "bad argument #2 to 'unique' %(option 'sorted' must be a boolean, got number%)" },
    { function() return torch.unique(m, { dim = 3 }) end, "bad argument #2 to 'unique' %(dimension 3 out of range" },
    { function() return torch.unique(m, { dim = 'a' }) end, "bad argument #2 to 'unique' %(integer expected, got string%)" },
    { function() return torch.bincount(torch.DoubleTensor({ 1, 2 })) end,
      "bad argument #1 to 'bincount' %(expected a tensor of integers %(Long or Byte%), got torch.DoubleTensor" },
    { function() return torch.bincount(torch.LongTensor({ 3, -2, 1 })) end,
      "bad argument #1 to 'bincount' %(expected non%-negative values, got %-2%)" },
    { function() return torch.bincount(torch.LongTensor(2, 2):zero()) end,
      "bad argument #1 to 'bincount' %(expected a 1%-D tensor, got size %[2 x 2%]%)" },
    { function() return torch.bincount(torch.LongTensor({ 1 }), torch.randn(2)) end,
      "bad argument #2 to 'bincount' %(expected weights of size %[1%] %(one per element of x%), got %[2%]%)" },
    { function() return torch.bincount(torch.LongTensor({ 1 }), nil, -1) end,
      "bad argument #3 to 'bincount' %(minlength must be >= 0, got %-1%)" },
    { function() return torch.bincount(torch.LongTensor({ 1 }), 'w') end,
      "bad argument #2 to 'bincount' %(tensor or nil expected, got string%)" },
    { function() return torch.diff(m, -1) end, "bad argument #2 to 'diff' %(n must be >= 0, got %-1%)" },
    { function() return torch.diff(m, 1, 5) end, "bad argument #3 to 'diff' %(dimension 5 out of range" },
    { function() return torch.diff(torch.randn(2):view(2):select(1, 1)) end,
      "bad argument #1 to 'diff' %(expected a tensor of 1 or more dims, got size %[%] %(0%-dim%)%)" },
    { function() return torch.diff(m, 1, 1, torch.randn(2, 5)) end, 'diff: ' },
    { function() return torch.diff(m, 1, 1, 'a') end, "bad argument #4 to 'diff' %(number or tensor or nil expected, got string%)" },
    { function() return torch.meshgrid(m) end, "bad argument #1 to 'meshgrid' %(expected a 0%-dim or 1%-D tensor, got size %[3 x 4%]%)" },
    { function() return torch.meshgrid(v, 'x') end, "bad argument #2 to 'meshgrid' %(tensor expected, got string%)" },
    { function() return torch.meshgrid() end, "bad argument #1 to 'meshgrid' %(tensor expected, got no value%)" },
    { function() return torch.meshgrid(v, v:double()) end,
      "bad argument #2 to 'meshgrid' %(expected a torch.FloatTensor as the first, got a torch.DoubleTensor%)" },
    { function() return torch.meshgrid(v, v, { indexing = 'ji' }) end, "meshgrid: option 'indexing' must be 'ij' or 'xy', got 'ji'" },
    { function() return torch.meshgrid(v, { index = 'ij' }) end, "meshgrid: unknown option 'index'" },
    { function() return torch.nanToNum(m, 'a') end, "bad argument #2 to 'nanToNum' %(number or nil expected, got string%)" },
    { function() return m:nanToNum(0, 1, {}) end, "bad argument #3 to 'nanToNum' %(number or nil expected, got table%)" },
    { function() return torch.logaddexp(m) end, "bad argument #2 to 'logaddexp' %(tensor expected, got no value%)" },
    { function() return torch.logaddexp(m, torch.randn(2)) end, 'logaddexp: shapes %[3 x 4%] and %[2%] cannot be broadcast' },
    { function() return torch.logaddexp(torch.LongTensor(2):zero(), torch.LongTensor(2):zero()) end,
      'logaddexp: needs a Float or Double tensor, got Long' },
    { function() return torch.hypot(m, 2) end, "bad argument #2 to 'hypot' %(tensor expected, got number%)" },
    { function() return torch.deg2rad(torch.LongTensor(2)) end, 'deg2rad: needs a Float or Double tensor, got Long' },
    { function() return torch.rad2deg({}) end, "bad argument #1 to 'rad2deg' %(tensor expected, got table%)" },
    { function() return torch.xlogy(m, 'y') end, "bad argument #2 to 'xlogy' %(number or tensor expected, got string%)" },
    { function() return torch.sinc(torch.LongTensor(2):zero()) end, 'sinc: needs a Float or Double tensor, got Long' },
    { function() return torch.einsum('ij,jk->ik', m, m) end,
      "bad argument #3 to 'einsum' %(subscript 'j' has size 4 in operand 1 %(size %[3 x 4%]%) and 3 in operand 2 %(size %[3 x 4%]%)%)" },
    { function() return torch.einsum('ij,jk', m) end, "bad argument #1 to 'einsum' %('ij,jk' has 2 operand%(s%), got 1 tensor%(s%)%)" },
    { function() return torch.einsum('i1', m) end, "bad argument #1 to 'einsum' %(invalid subscript '1' in 'i1'" },
    { function() return torch.einsum('ijk', m) end,
      "bad argument #2 to 'einsum' %(operand 1 has 2 dim%(s%) %(size %[3 x 4%]%), its subscripts 'ijk' name 3%)" },
    { function() return torch.einsum('ij->k', m) end, "bad argument #1 to 'einsum' %(output subscript 'k' appears in no operand of 'ij%->k'%)" },
    { function() return torch.einsum('ij->ii', m) end, "bad argument #1 to 'einsum' %(output subscript 'i' appears twice" },
    { function() return torch.einsum('ij->i->j', m) end, "bad argument #1 to 'einsum' %(more than one '%->' in" },
    { function() return torch.einsum('i..j', m) end, "bad argument #1 to 'einsum' %(a '%.' that is not part of '%.%.%.'" },
    { function() return torch.einsum('...i...', m) end, "bad argument #1 to 'einsum' %('%.%.%.' appears twice in operand 1" },
    { function() return torch.einsum('ii', m) end,
      "bad argument #2 to 'einsum' %(subscript 'i' is repeated in operand 1 %(size %[3 x 4%]%) for dims of sizes 3 and 4%)" },
    { function() return torch.einsum(m, m) end, "bad argument #1 to 'einsum' %(string expected, got torch" },
    { function() return torch.einsum('i,i', v, 3) end, "bad argument #3 to 'einsum' %(tensor expected, got number%)" },
    { function() return torch.einsum('i,i', v, v:double()) end,
      "bad argument #3 to 'einsum' %(expected a torch.FloatTensor as the first operand, got a torch.DoubleTensor%)" },
    { function() return torch.einsum('i,i', torch.LongTensor(2):zero(), torch.LongTensor(2):zero()) end,
      'einsum: expected Float or Double tensors, got torch.LongTensor' },
  }
  it('each names the function, the argument and what was wrong', function()
    for i, c in ipairs(cases) do
      local ok, err = pcall(H.matches, H.error_of(c[1]), c[2])
      assert(ok, ('case %d: %s'):format(i, tostring(err)))
    end
  end)

  it("the user's line is blamed, through the function and the method", function()
    local function blamed(fn) return tonumber(H.error_of(fn):match('60%-math2_spec%.lua:(%d+):')) end
    local here = debug.getinfo(1, 'l').currentline
    assert.are.equal(here + 1, blamed(function() local r = torch.einsum('ij,jk', m); return r end))
    assert.are.equal(here + 2, blamed(function() local r = m:argsort(7); return r end))
    assert.are.equal(here + 3, blamed(function() local r = torch.bincount(torch.LongTensor({ -1 })); return r end))
    assert.are.equal(here + 4, blamed(function() local r = torch.meshgrid(m); return r end))
    assert.are.equal(here + 5, blamed(function() local r = torch.unique(m, { bad = 1 }); return r end))
  end)

  it('a freed or non-tensor self', function()
    H.matches(H.error_of(torch.Tensor.diff, 'x'), "calling 'diff' on bad self %(tensor expected, got string%)")
    local t = torch.randn(2, 2)
    t:free()
    H.matches(H.error_of(torch.unique, t), "bad argument #1 to 'unique' %(tensor expected, got a freed tensor%)")
  end)
end)

-- ---- the device ----------------------------------------------------------------------------
describe('on the device', function()
  H.gpu_it('every function gives the CPU results (and gradients) on a CUDA tensor', function()
    local x = torch.randn(4, 5):double()
    local b = torch.randn(4, 5):double()
    local runs = {
      function(t) return torch.argsort(t, 1) end, function(t) return torch.unique(torch.floor(t)) end,
      function(t) return select(2, torch.unique(torch.floor(t), { returnInverse = true })) end,
      function(t) return torch.diff(t, 2, 1) end, function(t, u) return torch.meshgrid(t[1], u[2]) end,
      function(t) return torch.nanToNum(torch.log(t)) end, function(t, u) return torch.logaddexp(t, u) end,
      function(t, u) return torch.hypot(t, u) end, function(t) return torch.deg2rad(t) end,
      function(t, u) return torch.xlogy(t, torch.abs(u)) end, function(t) return torch.sinc(t) end,
      function(t, u) return torch.einsum('ij,kj->ik', t, u) end, function(t) return torch.einsum('ii->i', t:narrow(2, 1, 4)) end,
    }
    for i, f in ipairs(runs) do
      local g = f(x:cuda(), b:cuda())
      assert.is_true(g:isCuda(), 'case ' .. i)
      H.device_close(g, f(x, b), 'double', 'case ' .. i)
    end
    local c = torch.bincount(torch.LongTensor({ 0, 2, 2 }):cuda())
    assert.is_true(c:isCuda())
    assert.are.same({ 1, 0, 2 }, c:cpu():totable())
    local xg = grad_leaf(x:cuda())
    torch.einsum('ij,ij->i', torch.logaddexp(xg, xg), xg):sum():backward()
    local xc = grad_leaf(x:clone())
    torch.einsum('ij,ij->i', torch.logaddexp(xc, xc), xc):sum():backward()
    H.device_close(xg.grad, xc.grad, 'double', 'gradient')
  end)
end)
