-- spec/58-math_spec.lua — the tensor functions of lua/torch/mathx.lua (diag, tril, triu, trace,
-- flip, roll, median, kthvalue, mode, logsumexp, cross, dist, lerp, full, fullLike, renorm,
-- histc) and nn.Threshold, nn.SELU, nn.CELU: results and gradients against PyTorch
-- (spec/fixtures/gen_math.py), float64 gradchecks, the method forms, Torch7's conventions
-- (the dim kept, 1-based LongTensor indices, a number for a full reduction but a 0-dim tensor
-- while autograd records), NaN and infinities, other types, the device, and argument errors.
local torch = require 'torch'
local nn = require 'nn'
local H = require 'helpers'

local F = H.fixture('math')
local check = H.gradcheck
local randn, randn_t, grad_leaf = H.randn, H.randn_t, H.grad_leaf

before_each(function() torch.manualSeed(58) end)

local function append(list, more)
  local all = { table.unpack(list) }
  for i = 1, #more do all[#all + 1] = more[i] end
  return all
end

-- Runs fn(inputs..., args...) on a fixture case: every output against PyTorch's (indices
-- exactly), then, where the case has w, the inputs' gradients of the first output
local function run_case(fn, c, with_indices)
  local inputs = {}
  for i, f in ipairs(c.inputs) do
    inputs[i] = H.tensor(f)
    if c.w and f.dtype == 'float64' then grad_leaf(inputs[i]) end
  end
  local outs = { fn(table.unpack(append(inputs, c.args))) }
  for i, expected in ipairs(c.outs) do
    if expected.dtype == 'int64' then
      assert.are.same(expected.data, outs[i]:contiguous():view(-1):totable())
      assert.are.same(expected.shape, outs[i]:size():totable())
    else
      H.close(outs[i], expected, 1e-10, 1e-12)
    end
  end
  if with_indices == false then return inputs, outs end
  if c.w then
    local w = H.tensor(c.w)
    outs[1]:backward(w)
    for i, g in ipairs(c.grads) do
      if inputs[i].requiresGrad then H.close(inputs[i].grad, g, 1e-10, 1e-12) end
    end
  end
  return inputs, outs
end

local function fixture_cases(name, fname)
  fname = fname or name
  for i, c in ipairs(F[name]) do
    run_case(torch[fname], c)
  end
end

-- ---- against PyTorch ---------------------------------------------------------------------
describe('against PyTorch: results and gradients', function()
  for _, name in ipairs({ 'diag', 'tril', 'triu', 'trace', 'flip', 'roll', 'median', 'kthvalue',
                          'logsumexp', 'cross', 'dist', 'lerp', 'renorm', 'histc' }) do
    it(name, function() fixture_cases(name) end)
  end

  it('diag beyond the matrix: an empty diagonal', function()
    for _, c in ipairs(F.diag_empty) do
      local y = torch.diag(H.tensor(c.inputs[1]), c.args[1])
      assert.are.same({ 0 }, y:size():totable())
    end
  end)

  it('median of all elements: the lower median, NaN if there is one', function()
    for _, c in ipairs(F.median_all) do
      local x = H.tensor(c.inputs[1])
      local m = torch.median(x)
      assert.are.equal('number', type(m))
      H.close(m, c.outs[1], 0, 0)
      H.close(x:median(), c.outs[1], 0, 0)
    end
    run_case(torch.median, F.median_all[1])   -- recording: a 0-dim tensor, and its gradient
  end)

  -- ties: PyTorch's index among equal values is its sort's choice; the values must agree and
  -- the indices must point at them
  it('median, kthvalue and mode with ties: values, and indices of those values', function()
    local cases = { { torch.median, F.median_ties }, { torch.kthvalue, F.kthvalue_ties }, { torch.mode, F.mode } }
    for _, pair in ipairs(cases) do
      for _, c in ipairs(pair[2]) do
        local inputs, outs = run_case(pair[1], c, false)
        local x = inputs[1]
        local dim = pair[1] == torch.kthvalue and c.args[2] or c.args[1] or x:dim()   -- (all >= 1)
        H.close(x:gather(dim, outs[2]), outs[1], 0, 0)
      end
    end
  end)

  it('mode: the smallest of the most frequent values, at its last occurrence', function()
    run_case(torch.mode, F.mode[4])
    local v, i = torch.mode(torch.DoubleTensor({ { 4, 1, 4, 1, 0, 9 } }))
    assert.are.same({ { 1 } }, v:totable())
    assert.are.same({ { 4 } }, i:totable())
    -- the NaNs count as one value, ordered after every number (PyTorch's choice varies)
    v, i = torch.mode(torch.DoubleTensor({ 0 / 0, 2, 0 / 0, 1 }))
    assert.is_true(v[1] ~= v[1])
    assert.are.same({ 3 }, i:totable())
    v = torch.mode(torch.DoubleTensor({ 0 / 0, 2, 0 / 0, 2 }))
    assert.are.same({ 2 }, v:totable())
  end)

  for _, name in ipairs({ 'Threshold', 'SELU', 'CELU' }) do
    it('nn.' .. name, function()
      for _, c in ipairs(F[name]) do
        run_case(function(x, ...) return nn[name](...)(x) end, c)
      end
    end)
  end
end)

-- ---- conventions ---------------------------------------------------------------------------
describe('Torch7 and PyTorch conventions', function()
  it('median, kthvalue and mode: the last dim by default, kept, and LongTensor indices', function()
    local x = torch.randn(3, 4, 5):double()
    local mv, mi = torch.max(x, 3)
    for _, r in ipairs({ { torch.median(x, 3) }, { torch.kthvalue(x, 2) }, { torch.mode(x) }, { x:median(-1) } }) do
      assert.are.same(mv:size():totable(), r[1]:size():totable())
      assert.are.equal(mi:type(), r[2]:type())
      assert.are.equal('torch.DoubleTensor', r[1]:type())
    end
    local v, i = torch.kthvalue(x, 1, 2)
    assert.are.same({ 3, 1, 5 }, v:size():totable())
    H.close(v, torch.min(x, 2), 0, 0)
    assert.are.same(select(2, torch.min(x, 2)):totable(), i:totable())
    v = torch.kthvalue(x, 5)
    H.close(v, mv, 0, 0)
  end)

  it('a 0-dim input gives 0-dim results', function()
    local s = torch.DoubleTensor({ 2.5 }):view(1):squeeze()
    for _, r in ipairs({ { torch.median(s, 1) }, { torch.kthvalue(s, 1) }, { torch.mode(s, -1) } }) do
      assert.are.equal(0, r[1]:dim())
      assert.are.equal(2.5, r[1]:item())
      assert.are.equal(1, r[2]:item())
    end
    assert.are.equal(2.5, torch.median(s))
    assert.are.equal(0, torch.logsumexp(s, 1):dim())
    assert.are.equal(2.5, torch.flip(s, 1):item())
    assert.are.equal(2.5, torch.roll(s, 3):item())
  end)

  it('trace, dist and median(x): a number, or a 0-dim tensor while autograd records', function()
    local x, y = randn(3, 3), randn(3, 3)
    for _, f in ipairs({ function() return torch.trace(x) end, function() return torch.dist(x, y) end,
                         function() return torch.median(x) end }) do
      local r = f()
      assert.is_true(torch.isTensor(r))
      assert.are.equal(0, r:dim())
      assert.is_string(r.gradFn)
      assert.are.equal('number', type(torch.noGrad(f)))
    end
    assert.are.equal('number', type(torch.trace(x:detach())))
    torch.trace(x):backward()
    H.close(x.grad, torch.eye(3):double(), 0, 0)
  end)

  it('logsumexp drops the dim unless keepdim; large values do not overflow', function()
    local x = torch.DoubleTensor({ { 1000, 1000 }, { -1000, -1000 } })
    local y = torch.logsumexp(x, 2)
    assert.are.same({ 2 }, y:size():totable())
    H.close(y, torch.DoubleTensor({ 1000 + math.log(2), -1000 + math.log(2) }), 1e-12)
    assert.are.same({ 2, 1 }, x:logsumexp(-1, true):size():totable())
  end)

  it('full and fullLike: sizes as torch.zeros takes them; the type and device of the model', function()
    local a = torch.full(2, 3, 7)
    assert.are.same({ 2, 3 }, a:size():totable())
    assert.are.equal(torch.getdefaulttensortype(), a:type())
    assert.are.equal(7, a:max())
    assert.are.equal(7, a:min())
    assert.are.same({ 2, 3 }, torch.full({ 2, 3 }, -1.5):size():totable())
    assert.are.same({ 4 }, torch.full(torch.LongStorage({ 4 }), 0):size():totable())
    assert.are.equal(0, torch.full({}, 2):dim())
    local l = torch.fullLike(torch.LongTensor(2, 2), 4)
    assert.are.equal('torch.LongTensor', l:type())
    assert.are.same({ { 4, 4 }, { 4, 4 } }, l:totable())
  end)

  it('histc: no gradient, x\'s type, integers counted', function()
    local h = torch.histc(randn(50), 10)
    assert.is_nil(h.gradFn)
    assert.are.equal(50, h:sum())
    assert.are.equal('torch.DoubleTensor', h:type())
    local l = torch.histc(torch.LongTensor({ 1, 2, 2, 3, 9 }), 3, 1, 3)
    assert.are.equal('torch.LongTensor', l:type())
    assert.are.same({ 1, 2, 1 }, l:totable())
    assert.are.same({ 0, 0, 0 }, torch.histc(torch.DoubleTensor(0), 3):totable())
  end)

  it('the methods are the functions (new tensors; x unchanged)', function()
    local x = torch.randn(4, 4):double()
    local copy = x:clone()
    local b = torch.randn(4, 4):double()
    local same = {
      { x:diag(1), torch.diag(x, 1) }, { x:tril(-1), torch.tril(x, -1) }, { x:triu(), torch.triu(x) },
      { x:flip({ 1, 2 }), torch.flip(x, { 1, 2 }) }, { x:roll(3), torch.roll(x, 3) },
      { x:roll({ 1 }, { 2 }), torch.roll(x, { 1 }, { 2 }) }, { x:kthvalue(2, 1), torch.kthvalue(x, 2, 1) },
      { x:mode(), torch.mode(x) }, { x:logsumexp(1), torch.logsumexp(x, 1) },
      { x:narrow(1, 1, 3):cross(b:narrow(1, 1, 3)), torch.cross(x:narrow(1, 1, 3), b:narrow(1, 1, 3)) },
      { x:lerp(b, 0.25), torch.lerp(x, b, 0.25) }, { x:renorm(2, 1, 1), torch.renorm(x, 2, 1, 1) },
      { x:histc(5), torch.histc(x, 5) },
    }
    for _, pair in ipairs(same) do H.close(pair[1], pair[2], 0, 0) end
    assert.are.equal(torch.trace(x), x:trace())
    assert.are.equal(torch.dist(x, b, 3), x:dist(b, 3))
    H.close(x, copy, 0, 0)
    assert.is_nil(torch.Tensor.full)
    assert.is_nil(torch.Tensor.fullLike)
  end)

  it('other types: LongTensor and FloatTensor inputs', function()
    local l = torch.LongTensor({ { 3, 1, 2 }, { 6, 5, 4 } })
    assert.are.same({ { 3, 0, 0 }, { 6, 5, 0 } }, torch.tril(l):totable())
    assert.are.same({ 3, 5 }, torch.diag(l):totable())
    assert.are.same({ { 2, 1, 3 }, { 4, 5, 6 } }, torch.flip(l, 2):totable())
    assert.are.same({ { 4, 3, 1 }, { 2, 6, 5 } }, torch.roll(l, 1):totable())   -- flattened
    local v, i = torch.median(l, 2)
    assert.are.same({ { 2 }, { 5 } }, v:totable())
    assert.are.same({ { 3 }, { 2 } }, i:totable())
    assert.are.equal('torch.LongTensor', v:type())
    assert.are.equal(8, torch.trace(l))
    local f = torch.FloatTensor({ { 1, 2 }, { 3, 4 } })
    assert.are.equal('torch.FloatTensor', torch.logsumexp(f, 1):type())
    H.close(torch.logsumexp(f, 1), torch.DoubleTensor({ 3 + math.log(1 + math.exp(-2)), 4 + math.log(1 + math.exp(-2)) }), 1e-6)
  end)

  it('the nn modules: names, printing, no parameters, defaults', function()
    assert.are.equal('nn.Threshold(1e-06, 0)', tostring(nn.Threshold()))
    assert.are.equal('nn.Threshold(0.5, -1)', tostring(nn.Threshold(0.5, -1, true)))
    assert.are.equal('nn.CELU(1)', tostring(nn.CELU()))
    assert.are.equal('nn.CELU(0.5)', tostring(nn.CELU(0.5)))
    for _, m in ipairs({ nn.Threshold(), nn.SELU(), nn.CELU() }) do
      assert.is_nil(m:parameters())
      assert.is_true(torch.isTypeOf(m, 'nn.Module'))
    end
    assert.are.equal('nn.SELU', torch.typename(nn.SELU()))
    -- Threshold(th, v): x where x > th, v at and below it (Torch7's)
    local y = nn.Threshold(1, 9):forward(torch.DoubleTensor({ 0, 1, 2 }))
    assert.are.same({ 9, 9, 2 }, y:totable())
    -- NaN stays NaN (PyTorch's threshold: x <= th ? v : x)
    local n = nn.Threshold(1, 9):forward(torch.DoubleTensor({ 0 / 0 }))[1]
    assert.is_true(n ~= n)
  end)
end)

-- ---- gradchecks ----------------------------------------------------------------------------
describe('float64 gradcheck', function()
  it('diag, tril, triu, trace', function()
    for _, k in ipairs({ 0, 1, -2 }) do
      check(function(x) return torch.diag(x, k) end, { randn(3) })
      check(function(x) return torch.diag(x, k) end, { randn_t(3, 4) })
      check(function(x) return torch.tril(x, k) end, { randn_t(3, 4) })
      check(function(x) return torch.triu(x, k) end, { randn(2, 3, 4) })
    end
    check(function(x) return torch.trace(x) end, { randn_t(4, 3) })
  end)

  it('flip, roll', function()
    check(function(x) return torch.flip(x, { 1, 3 }) end, { randn(2, 3, 4) })
    check(function(x) return torch.flip(x, -1) end, { randn_t(3, 4) })
    check(function(x) return torch.roll(x, -2) end, { randn_t(3, 4) })
    check(function(x) return torch.roll(x, { 1, 2 }, { 1, 2 }) end, { randn(3, 4) })
  end)

  it('median, kthvalue, mode (along a dim and of all elements)', function()
    -- (the values only: the indices have no gradient)
    check(function(x) return (torch.median(x, 1)) end, { randn_t(4, 3) })
    check(function(x) return torch.median(x) end, { randn(3, 3) })
    check(function(x) return (torch.kthvalue(x, 2)) end, { randn_t(3, 4) })
    -- (mode of distinct values: a tie broken by the perturbation would change the mode)
    check(function(x) return (torch.mode(x, 1)) end, { randn(3, 4) })
  end)

  it('logsumexp', function()
    check(function(x) return torch.logsumexp(x, 2) end, { randn_t(3, 4) })
    check(function(x) return torch.logsumexp(x, 1, true) end, { randn(3, 4, 2) })
  end)

  it('cross, dist, lerp', function()
    check(function(a, b) return torch.cross(a, b) end, { randn_t(3, 4), randn(3, 4) })
    check(function(a, b) return torch.cross(a, b, 2) end, { randn(2, 3), randn(2, 3) })
    for _, p in ipairs({ 2, 1, 3 }) do
      check(function(a, b) return torch.dist(a, b, p) end, { randn(3, 4), randn_t(3, 4) })
    end
    check(function(a, b) return torch.lerp(a, b, 0.3) end, { randn(3, 4), randn(3, 4) })
    check(function(a, b, w) return torch.lerp(a, b, w) end, { randn(3, 4), randn(3, 4), randn(4) })
  end)

  it('renorm (through the norms too)', function()
    local x = grad_leaf(torch.randn(3, 4):double():mul(2))
    check(function(t) return torch.renorm(t, 2, 1, 1) end, { x })
    check(function(t) return torch.renorm(t, 3, 2, 1.5) end, { x })
  end)

  it('nn.Threshold, nn.SELU, nn.CELU', function()
    check(function(x) return nn.Threshold(0.2, -3)(x) end, { randn(3, 4) })
    check(function(x) return nn.SELU()(x) end, { randn(3, 4) })
    check(function(x) return nn.CELU(0.7)(x) end, { randn_t(3, 4) })
  end)
end)

-- ---- errors --------------------------------------------------------------------------------
describe('bad arguments: errors naming the function', function()
  local m, v = torch.randn(3, 4), torch.randn(3)
  local cases = {
    { function() return torch.diag(torch.randn(2, 2, 2)) end,
      "bad argument #1 to 'diag' %(expected a 1%-D or 2%-D tensor, got size %[2 x 2 x 2%]%)" },
    { function() return torch.diag(m, 1.5) end, "bad argument #2 to 'diag' %(integer expected, got 1.5%)" },
    { function() return m:diag('x') end, "bad argument #1 to 'diag' %(integer expected, got string%)" },
    { function() return torch.diag('x') end, "bad argument #1 to 'diag' %(tensor expected, got string%)" },
    { function() return torch.tril(v) end,
      "bad argument #1 to 'tril' %(expected a matrix or a batch of matrices %(2 or more dims%), got size %[3%]%)" },
    { function() return v:triu() end, "calling 'triu' on bad self %(expected a matrix" },
    { function() return torch.trace(v) end, "bad argument #1 to 'trace' %(expected a 2%-D tensor, got size %[3%]%)" },
    { function() return torch.flip(m) end, "bad argument #2 to 'flip' %(integer or table expected, got no value%)" },
    { function() return torch.flip(m, 3) end,
      "bad argument #2 to 'flip' %(dimension 3 out of range for a tensor of size %[3 x 4%]%)" },
    { function() return torch.flip(m, { 1, -2 }) end, "bad argument #2 to 'flip' %(dimension %-2 appears more than once" },
    { function() return torch.roll(m, { 1, 2 }, 1) end, "bad argument #3 to 'roll' %(2 shifts for 1 dims" },
    { function() return torch.roll(m, 1, 0) end, "bad argument #3 to 'roll' %(dimension 0 out of range" },
    { function() return torch.roll(m, { 1 }) end, "bad argument #2 to 'roll' %(integer expected, got table%)" },
    { function() return torch.median(m, 3) end, "bad argument #2 to 'median' %(dimension 3 out of range" },
    { function() return torch.median(torch.Tensor(0)) end, "bad argument #1 to 'median' %(the median of an empty tensor" },
    { function() return torch.median(torch.Tensor(2, 0), 2) end, "bad argument #2 to 'median' %(dimension 2 of size %[2 x 0%] is empty" },
    { function() return torch.kthvalue(m, 5) end,
      "bad argument #2 to 'kthvalue' %(k = 5 out of range: dimension 2 of size %[3 x 4%] has 4 elements%)" },
    { function() return m:kthvalue(0, 1) end, "bad argument #1 to 'kthvalue' %(k = 0 out of range" },
    { function() return torch.kthvalue(m) end, "bad argument #2 to 'kthvalue' %(integer expected, got no value%)" },
    { function() return torch.mode(m, 'a') end, "bad argument #2 to 'mode' %(integer expected, got string%)" },
    { function() return torch.logsumexp(m) end, "bad argument #2 to 'logsumexp' %(integer expected, got no value%)" },
    { function() return torch.logsumexp(m, 1, 1) end, "bad argument #3 to 'logsumexp' %(boolean or nil expected, got number%)" },
    { function() return torch.logsumexp(torch.LongTensor(2, 2), 1) end, 'logsumexp: needs a Float or Double tensor, got Long' },
    { function() return torch.cross(m, torch.randn(4, 3)) end,
      "bad argument #2 to 'cross' %(expected the size of the first tensor %[3 x 4%], got %[4 x 3%]%)" },
    { function() return torch.cross(torch.randn(2, 4), torch.randn(2, 4)) end,
      "bad argument #1 to 'cross' %(no dimension of size 3 in a tensor of size %[2 x 4%]%)" },
    { function() return torch.cross(m, m, 2) end, "bad argument #3 to 'cross' %(dimension 2 of size %[3 x 4%] is not of size 3%)" },
    { function() return torch.dist(m, torch.randn(2)) end, 'dist: shapes %[3 x 4%] and %[2%] cannot be broadcast' },
    { function() return torch.dist(m, m, 'x') end, "bad argument #3 to 'dist' %(number or nil expected, got string%)" },
    { function() return m:dist() end, "bad argument #1 to 'dist' %(tensor expected, got no value%)" },
    { function() return torch.lerp(m, m) end, "bad argument #3 to 'lerp' %(number or tensor expected, got no value%)" },
    { function() return torch.full(3) end, "bad argument #2 to 'full' %(sizes, then the fill value expected" },
    { function() return torch.full(2, 'x') end, "bad argument #2 to 'full' %(number expected, got string%)" },
    { function() return torch.full(-1, 3) end, 'torch.full: non%-negative integer expected, got %-1' },
    { function() return torch.fullLike(m) end, "bad argument #2 to 'fullLike' %(number expected, got no value%)" },
    { function() return torch.renorm(m, 0, 1, 1) end, "bad argument #2 to 'renorm' %(p must be > 0, got 0%)" },
    { function() return torch.renorm(m, 2, 5, 1) end, "bad argument #3 to 'renorm' %(dimension 5 out of range" },
    { function() return torch.renorm(m, 2, 1, -1) end, "bad argument #4 to 'renorm' %(maxnorm must be >= 0, got %-1%)" },
    { function() return torch.histc(m, 0) end, "bad argument #2 to 'histc' %(bins must be >= 1, got 0%)" },
    { function() return torch.histc(m, 10, 2, 1) end, "bad argument #4 to 'histc' %(max 1 is below min 2%)" },
    { function() return torch.histc(m, 10, 0, math.huge) end, "bad argument #3 to 'histc' %(the range must be finite" },
    { function() return nn.CELU(0) end, 'nn.CELU: alpha must not be 0' },
    { function() return nn.Threshold('a') end, "bad argument #1 to 'Threshold' %(number expected, got string%)" },
  }
  it('each names the function, the argument and what was wrong', function()
    for _, c in ipairs(cases) do
      H.matches(H.error_of(c[1]), c[2])
    end
  end)

  it("the user's line is blamed, through the function and the method", function()
    local function blamed(fn) return tonumber(H.error_of(fn):match('58%-math_spec%.lua:(%d+):')) end
    local here = debug.getinfo(1, 'l').currentline
    assert.are.equal(here + 1, blamed(function() local r = torch.tril(v); return r end))
    assert.are.equal(here + 2, blamed(function() local r = v:tril(); return r end))
    assert.are.equal(here + 3, blamed(function() local r = torch.kthvalue(m, 9, 1); return r end))
    assert.are.equal(here + 4, blamed(function() local r = m:dist(m, 'p'); return r end))
  end)

  it('a freed or non-tensor self', function()
    H.matches(H.error_of(torch.Tensor.tril, 'x'), "calling 'tril' on bad self %(tensor expected, got string%)")
    local t = torch.randn(2, 2)
    t:free()
    H.matches(H.error_of(torch.median, t), "bad argument #1 to 'median' %(tensor expected, got a freed tensor%)")
  end)
end)

-- ---- the device ----------------------------------------------------------------------------
describe('on the device', function()
  H.gpu_it('every function gives the CPU results (and gradients) on a CUDA tensor', function()
    local x = torch.randn(4, 5):double()
    local b = torch.randn(4, 5):double()
    local runs = {
      function(t) return torch.diag(t, 1) end, function(t) return torch.diag(t:select(1, 1), -1) end,
      function(t) return torch.tril(t, 1) end, function(t) return torch.triu(t, -1) end,
      function(t) return torch.flip(t, { 1, 2 }) end, function(t) return torch.roll(t, { 2, -1 }, { 1, 2 }) end,
      function(t) return torch.roll(t, 3) end, function(t) return torch.median(t, 2) end,
      function(t) return select(2, torch.median(t, 2)) end, function(t) return torch.kthvalue(t, 2, 1) end,
      function(t) return select(2, torch.mode(torch.floor(t))) end,
      function(t) return torch.logsumexp(t, 2) end, function(t) return torch.renorm(t, 2, 1, 1) end,
      function(t, u) return torch.cross(t:narrow(1, 1, 3), u:narrow(1, 1, 3)) end,
      function(t, u) return torch.lerp(t, u, 0.3) end, function(t) return torch.histc(t, 7) end,
      function(t) return torch.fullLike(t, 3) end,
    }
    for i, f in ipairs(runs) do
      local g = f(x:cuda(), b:cuda())
      assert.is_true(g:isCuda(), 'case ' .. i)
      H.device_close(g, f(x, b), 'double', 'case ' .. i)
    end
    H.close(torch.trace(x:cuda()), torch.trace(x), 1e-12)
    H.close(torch.median(x:cuda()), torch.median(x), 0, 0)
    H.close(torch.dist(x:cuda(), b:cuda()), torch.dist(x, b), 1e-12)
    local xg = grad_leaf(x:cuda())
    torch.logsumexp(torch.tril(xg), 1):sum():backward()
    local xc = grad_leaf(x:clone())
    torch.logsumexp(torch.tril(xc), 1):sum():backward()
    H.device_close(xg.grad, xc.grad, 'double', 'gradient')
  end)
end)
