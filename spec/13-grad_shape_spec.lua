-- Autograd of views, copies, joins and indexing (core/grad_shape.c, recorded by
-- lua/ltensor.c and lua/lindex.c): gradcheck of every op, hand-checked gradients, the
-- in-place refusals and what is (not) recorded.
local torch = require 'torch'
local H = require 'helpers'

local function leaf(...)
  local x = torch.randn(...):double()
  x.requiresGrad = true
  return x
end

-- a transposed (non-contiguous) leaf of shape (a, b)
local function tleaf(a, b)
  local x = torch.randn(b, a):double():t()
  x.requiresGrad = true
  return x
end

local function ok(fn, inputs, opts) assert.is_true(torch.gradcheck(fn, inputs, opts)) end

local function long(t) return torch.LongTensor(t) end

local REFUSED = 'cannot be recorded for autograd'

describe('autograd of views', function()
  before_each(function() torch.manualSeed(1) end)

  it('narrow: each dim, negative dims, non-contiguous leaves', function()
    local x = leaf(4, 5, 3)
    for d = 1, 3 do ok(function(a) return a:narrow(d, 2, 2) end, { x }) end
    ok(function(a) return a:narrow(-1, 1, 2) end, { x })
    ok(function(a) return torch.narrow(a, -3, 3, 2) end, { x })
    ok(function(a) return a:narrow(2, 2, 3) end, { tleaf(3, 4) })
    ok(function(a) return a:narrow(1, 1, 0) end, { x })  -- empty slice: all-zero gradient
  end)

  it('select: each dim, negative dims, non-contiguous leaves, 1-D to 0-dim', function()
    local x = leaf(4, 5, 3)
    for d = 1, 3 do ok(function(a) return a:select(d, 2) end, { x }) end
    ok(function(a) return a:select(-1, 3) end, { x })
    ok(function(a) return a:select(1, 4) end, { tleaf(5, 3) })
    ok(function(a) return a:select(1, 2) end, { leaf(4) })
  end)

  it('sub: several dims at once, negative bounds', function()
    local x = leaf(4, 5, 3)
    ok(function(a) return a:sub(2, 3) end, { x })
    ok(function(a) return a:sub(2, 3, 1, -2, -2, -1) end, { x })
    ok(function(a) return a:sub(1, 2, 2, 3) end, { tleaf(3, 4) })
    assert.equal('NarrowBackward', x:sub(2, 3, 1, 2).gradFn)
  end)

  it('transpose and t', function()
    local x = leaf(2, 3, 4)
    ok(function(a) return a:transpose(1, 3) end, { x })
    ok(function(a) return a:transpose(-1, 2) end, { x })
    ok(function(a) return torch.transpose(a, 1, 2) end, { x })
    ok(function(a) return a:t() end, { leaf(3, 4) })
    ok(function(a) return torch.t(a) end, { tleaf(3, 4) })
    assert.equal('TransposeBackward', x:transpose(1, 2).gradFn)
  end)

  it('permute (the gradient takes the inverse permutation)', function()
    local x = leaf(2, 3, 4, 5)
    ok(function(a) return a:permute(3, 1, 4, 2) end, { x })
    ok(function(a) return a:permute({ 4, 3, 2, 1 }) end, { x })
    ok(function(a) return a:permute(2, 1) end, { tleaf(3, 4) })
    -- hand-checked: the gradient of y = x:permute(2, 3, 1) is g:permute(3, 1, 2)
    local y = x:permute(2, 3, 1, 4)
    local g = torch.randn(y:size()):double()
    y:backward(g)
    H.close(x.grad, g:permute(3, 1, 2, 4), 0, 0)
  end)

  it('view, viewAs, reshape, squeeze, unsqueeze', function()
    local x = leaf(2, 3, 4)
    ok(function(a) return a:view(6, 4) end, { x })
    ok(function(a) return a:view(-1) end, { x })
    ok(function(a) return a:view(4, -1, 2) end, { x })
    ok(function(a) return a:viewAs(torch.Tensor(4, 6)) end, { x })
    ok(function(a) return a:reshape(3, 8) end, { x })
    ok(function(a) return a:reshape(-1) end, { tleaf(3, 4) })  -- a copy: not viewable
    ok(function(a) return a:unsqueeze(1) end, { x })
    ok(function(a) return a:unsqueeze(-1) end, { tleaf(3, 4) })
    ok(function(a) return a:squeeze() end, { leaf(3, 1, 4, 1) })
    ok(function(a) return a:squeeze(2) end, { leaf(3, 1, 4) })
    ok(function(a) return a:squeeze(-1) end, { leaf(3, 4, 1) })
    assert.equal('ViewBackward', x:view(-1).gradFn)
    assert.equal('ViewBackward', x:reshape(-1).gradFn)
    assert.equal('ViewBackward', x:unsqueeze(2).gradFn)
  end)

  it('expand and expandAs (inside fn): gradients summed back', function()
    ok(function(a) return a:expand(3, 4) end, { leaf(3, 1) })
    ok(function(a) return a:expand(2, 3, 4) end, { leaf(3, 1) })
    ok(function(a) return a:expand(2, 3, 4) end, { leaf(4) })
    ok(function(a) return a:expand(5, -1) end, { leaf(1, 3) })
    ok(function(a) return a:expandAs(torch.Tensor(2, 3, 4)) end, { leaf(1, 3, 1) })
    -- a non-contiguous leaf with a size-1 dim
    local x = torch.randn(4, 1):double():t()
    x.requiresGrad = true
    ok(function(a) return a:expand(3, 4) end, { x })
    -- hand-checked: each element was used 2 * 4 = 8 times
    local y = leaf(3, 1)
    local e = y:expand(2, 3, 4)
    assert.equal('ExpandBackward', e.gradFn)
    e:backward(torch.ones(2, 3, 4):double())
    H.close(y.grad, torch.DoubleTensor(3, 1):fill(8), 0, 0)
  end)

  it('chains of views', function()
    local x = tleaf(4, 3)  -- x:t() is contiguous again, so the chain can end in view
    ok(function(a) return a:t():narrow(1, 2, 2):view(-1) end, { x })
    ok(function(a) return a:t():narrow(2, 2, 2):reshape(-1) end, { x })
    ok(function(a) return a:unsqueeze(1):expand(2, 4, 3):transpose(1, 3):select(2, 3) end, { x })
    ok(function(a) return a:permute(2, 1):sub(1, 2):unsqueeze(3):squeeze() end, { leaf(3, 4) })
    -- hand-checked
    local z = leaf(3, 4)
    local y = z:t():narrow(1, 2, 2):contiguous():view(-1)
    y:backward(torch.DoubleTensor({ 1, 2, 3, 4, 5, 6 }))
    H.close(z.grad, torch.DoubleTensor({ { 0, 1, 4, 0 }, { 0, 2, 5, 0 }, { 0, 3, 6, 0 } }), 0, 0)
  end)

  it('0-dim intermediates: select to 0-dim, then view, unsqueeze, expand', function()
    ok(function(a) return a:select(1, 2):view(1) end, { leaf(4) })
    ok(function(a) return a:select(1, 3):unsqueeze(1):expand(2, 3) end, { leaf(4) })
    ok(function(a) return a:select(1, 1):expand(5) end, { leaf(2) })
  end)

  it('Torch7 indexing t[i] and t[{...}]', function()
    local x = leaf(4, 5, 3)
    ok(function(a) return a[2] end, { x })
    ok(function(a) return a[-1] end, { x })
    ok(function(a) return a[{ 2, { 1, 3 } }] end, { x })
    ok(function(a) return a[{ {}, 3, { 2 } }] end, { x })
    ok(function(a) return a[{ { 2, -1 }, {}, -2 }] end, { x })
    ok(function(a) return a[{}] end, { x })
    ok(function(a) return a[{ { 1, 2 }, 3 }] end, { tleaf(3, 4) })
    ok(function(a) return a[long({ 3, 1, 3 })] end, { x })  -- a LongTensor key: indexSelect
    local y = x[{ 2, { 1, 2 } }]
    assert.equal('NarrowBackward', y.gradFn)
    assert.equal('SelectBackward', x[3].gradFn)
    assert.equal('ViewBackward', x[{}].gradFn)   -- a new tensor, never x itself
    assert.is_false(rawequal(x[{}], x))
    assert.is_true(x.isLeaf)
    -- a number, as in Torch7, even when x requires grad
    assert.equal('number', type(x[{ 1, 2, 3 }]))
    assert.equal('number', type(leaf(3)[2]))
    -- hand-checked
    local z = leaf(3, 4)
    z[{ 2, { 2, 3 } }]:backward(torch.DoubleTensor({ 5, 7 }))
    H.close(z.grad, torch.DoubleTensor({ { 0, 0, 0, 0 }, { 0, 5, 7, 0 }, { 0, 0, 0, 0 } }), 0, 0)
  end)

  it('split and chunk pieces used separately', function()
    local x = leaf(7, 3)
    ok(function(a) local p = a:split(3); return p[1], p[3] end, { x })
    ok(function(a) local p = a:split(2, 2); return p[2] end, { x })
    ok(function(a) return table.unpack(a:chunk(3)) end, { x })
    ok(function(a) local p = torch.chunk(a, 2, -1); return p[1] end, { tleaf(4, 5) })
    -- only piece 2 is used: the other rows get zeros
    local p = x:split(3)
    assert.equal('SplitBackward', p[2].gradFn)   -- one node for all the pieces
    p[2]:backward(torch.ones(3, 3):double())
    local want = torch.DoubleTensor(7, 3):zero()
    want:narrow(1, 4, 3):fill(1)
    H.close(x.grad, want, 0, 0)
  end)

  -- a split's gradient is assembled in one parallel pass (core/copy.c, lt_copy_many)
  it('chunk of a large tensor, some pieces unused, at 1 and 2 threads', function()
    local n0 = torch.getnumthreads()
    for _, nt in ipairs({ 1, 2 }) do
      torch.setnumthreads(nt)
      local x = leaf(100, 512)
      local w1, w3 = torch.randn(100, 128):double(), torch.randn(100, 128):double()
      local p = x:chunk(4, 2)
      local loss = torch.cmul(p[1], w1):sum() + torch.cmul(p[3], w3):sum()
      loss:backward()
      H.close(x.grad:narrow(2, 1, 128), w1, 0, 0)
      H.close(x.grad:narrow(2, 257, 128), w3, 0, 0)
      assert.equal(0, x.grad:narrow(2, 129, 128):abs():sum())
      assert.equal(0, x.grad:narrow(2, 385, 128):abs():sum())
    end
    torch.setnumthreads(n0)
  end)

  it('views of tensors that do not require grad record nothing', function()
    local x = torch.randn(3, 4):double()
    for _, y in ipairs({ x:narrow(1, 1, 2), x:select(2, 1), x:t(), x:transpose(1, 2),
                         x:permute(2, 1), x:view(-1), x:reshape(4, 3), x:unsqueeze(1),
                         x:squeeze(), x:expand(2, 3, 4), x:sub(1, 2), x[1], x[{ {}, 2 }],
                         x:split(2)[1], x:clone(), x:float(), x:contiguous(), x:index(1, long({ 1 })),
                         x:gather(1, long({ { 1, 2, 3, 1 } })), torch.cat(x, x, 1),
                         torch.stack({ x, x }) }) do
      assert.is_nil(y.gradFn)
      assert.is_false(y.requiresGrad)
      assert.is_true(y.isLeaf)
    end
  end)

  it('nothing is recorded under torch.noGrad', function()
    local x = leaf(3, 4)
    torch.noGrad(function()
      for _, y in ipairs({ x:narrow(1, 1, 2), x:t(), x:view(-1), x[1], x[{ 1, { 2, 3 } }],
                           x:expand(2, 3, 4), x:clone(), x:float(), torch.cat(x, x),
                           torch.stack({ x, x }), x:index(1, long({ 1, 1 })) }) do
        assert.is_nil(y.gradFn)
        assert.is_false(y.requiresGrad)
      end
    end)
  end)

  it('detach still gives a history-free view; contiguous of a contiguous x is x', function()
    local x = leaf(3, 4)
    local d = x:t():detach()
    assert.is_nil(d.gradFn)
    assert.is_false(d.requiresGrad)
    assert.is_true(rawequal(x:contiguous(), x))
    assert.is_nil(x:contiguous().gradFn)
    -- torch.Tensor(x) shares x's storage and, as in Torch7, starts without history
    assert.is_nil(torch.DoubleTensor(x).gradFn)
  end)

  it('accumulates the gradient across two backward calls', function()
    local x = leaf(3, 4)
    local y = x:t():narrow(1, 2, 2)
    local g = torch.randn(2, 3):double()
    y:backward(g, true)
    y:backward(g)
    local want = torch.DoubleTensor(3, 4):zero()
    want:narrow(2, 2, 2):copy(g:t()):mul(2)
    H.close(x.grad, want, 1e-12, 1e-12)
    -- the graph was freed by the second backward
    assert.matches('freed', H.error_of(function() y:backward(g) end))
  end)

  it('a view saves nothing: changing its base under noGrad keeps backward valid', function()
    local x = leaf(3, 4)
    local y = x:narrow(1, 2, 2)
    torch.noGrad(function() x:fill(2) end)
    y:backward(torch.ones(2, 4):double())
    H.close(x.grad:sum(), 8, 0, 0)
  end)

  it('two views of one leaf: gradients add up', function()
    local x = leaf(3, 4)
    ok(function(a) return a:narrow(1, 1, 2), a:t(), a[2] end, { x })
  end)
end)

describe('autograd of copies', function()
  before_each(function() torch.manualSeed(1) end)

  it('clone and contiguous', function()
    local x = leaf(3, 4)
    ok(function(a) return a:clone() end, { x })
    ok(function(a) return torch.clone(a) end, { tleaf(3, 4) })
    ok(function(a) return a:contiguous() end, { tleaf(3, 4) })
    ok(function(a) return a:t():contiguous() end, { x })
    assert.equal('CloneBackward', x:clone().gradFn)
    assert.equal('CloneBackward', x:t():contiguous().gradFn)
  end)

  it('float <-> double conversions convert the gradient back', function()
    local x = leaf(3, 4)
    ok(function(a) return a:float():double() end, { x }, { eps = 1e-3, atol = 1e-3 })
    ok(function(a) return a:type('torch.FloatTensor') end, { tleaf(3, 4) }, { eps = 1e-3, atol = 1e-3 })
    ok(function(a) return a:typeAs(torch.FloatTensor()) end, { x }, { eps = 1e-3, atol = 1e-3 })
    assert.equal('ToCopyBackward', x:float().gradFn)
    assert.is_true(rawequal(x:double(), x))  -- same type: x itself, nothing recorded

    -- a Float leaf: the gradient arrives as a FloatTensor
    local f = torch.randn(2, 3):float()
    f.requiresGrad = true
    local d = f:double()
    assert.equal('torch.DoubleTensor', d:type())
    assert.equal('ToCopyBackward', d.gradFn)
    d:backward(torch.DoubleTensor({ { 1, 2, 3 }, { 4, 5, 6 } }))
    assert.equal('torch.FloatTensor', f.grad:type())
    H.close(f.grad, torch.FloatTensor({ { 1, 2, 3 }, { 4, 5, 6 } }), 0, 0)
  end)

  it('conversions to integer types are not differentiable', function()
    local x = leaf(3, 4)
    for _, y in ipairs({ x:long(), x:byte(), x:type('torch.LongTensor') }) do
      assert.is_nil(y.gradFn)
      assert.is_false(y.requiresGrad)
    end
  end)
end)

describe('autograd of cat and stack', function()
  before_each(function() torch.manualSeed(1) end)

  it('cat along each dim, negative dims, non-contiguous inputs', function()
    local a, b = leaf(2, 3, 4), leaf(2, 3, 4)
    for d = 1, 3 do ok(function(p, q) return torch.cat(p, q, d) end, { a, b }) end
    ok(function(p, q) return torch.cat({ p, q }, -2) end, { a, b })
    ok(function(p, q) return torch.cat(p, q) end, { a, b })  -- default: the last dim
    ok(function(p, q) return torch.cat(p, q, 1) end, { tleaf(3, 4), leaf(2, 4) })
    ok(function(p, q) return p:cat(q, 2) end, { leaf(3, 2), tleaf(3, 4) })
    assert.equal('CatBackward', torch.cat(a, b, 1).gradFn)
  end)

  it('cat of 3 inputs of which only some require grad', function()
    local a, c = leaf(2, 3), leaf(4, 3)
    local b = torch.randn(1, 3):double()
    ok(function(p, q, r) return torch.cat({ p, q, r }, 1) end, { a, b, c })
    local y = torch.cat({ a, b, c }, 1)
    local g = torch.randn(7, 3):double()
    y:backward(g)
    H.close(a.grad, g:narrow(1, 1, 2), 0, 0)
    H.close(c.grad, g:narrow(1, 4, 4), 0, 0)
    assert.is_nil(b.grad)
    -- the same with a leaf that does not require grad in the middle of the graph only
    local d = torch.randn(2, 3):double()
    assert.is_nil(torch.cat(d, d, 1).gradFn)
  end)

  it('stack along each dim, negative dims, non-contiguous inputs', function()
    local a, b, c = leaf(3, 4), leaf(3, 4), tleaf(3, 4)
    for d = 1, 3 do ok(function(p, q, r) return torch.stack({ p, q, r }, d) end, { a, b, c }) end
    ok(function(p, q) return torch.stack({ p, q }, -1) end, { a, b })
    ok(function(p, q) return torch.stack({ p, q }) end, { a, c })
    local y = torch.stack({ a, torch.zeros(3, 4):double(), c }, 2)
    assert.equal('StackBackward', y.gradFn)
    local g = torch.randn(3, 3, 4):double()
    y:backward(g)
    H.close(a.grad, g:select(2, 1), 0, 0)
    H.close(c.grad, g:select(2, 3), 0, 0)
  end)

  it('the same tensor twice gets both gradients', function()
    local a = leaf(2, 3)
    local y = torch.cat({ a, a }, 1)
    y:backward(torch.DoubleTensor({ { 1, 2, 3 }, { 4, 5, 6 }, { 10, 20, 30 }, { 40, 50, 60 } }))
    H.close(a.grad, torch.DoubleTensor({ { 11, 22, 33 }, { 44, 55, 66 } }), 0, 0)
    ok(function(p) return torch.stack({ p, p:narrow(1, 1, 2) }, 1) end, { leaf(2, 3) })
  end)
end)

describe('autograd of index and gather', function()
  before_each(function() torch.manualSeed(1) end)

  it('index / indexSelect along each dim, with repeated indices', function()
    local x = leaf(4, 5, 3)
    ok(function(a) return a:index(1, long({ 2, 4, 2 })) end, { x })
    ok(function(a) return a:index(2, long({ 5, 1, 5, 5 })) end, { x })
    ok(function(a) return torch.indexSelect(a, -1, long({ 3, 3 })) end, { x })
    ok(function(a) return a:index(2, long({ 1, 3, 1 })) end, { tleaf(3, 4) })
    ok(function(a) return a:index(1, long({ 2, 2 })) end, { leaf(3) })
    assert.equal('IndexSelectBackward', x:index(1, long({ 1 })).gradFn)
    -- repeated indices accumulate
    local v = leaf(4)
    v:index(1, long({ 2, 2, 4, 2 })):backward(torch.DoubleTensor({ 1, 10, 100, 1000 }))
    H.close(v.grad, torch.DoubleTensor({ 0, 1011, 0, 100 }), 0, 0)
    local m = leaf(3, 2)
    m[long({ 3, 3 })]:backward(torch.ones(2, 2):double())
    H.close(m.grad, torch.DoubleTensor({ { 0, 0 }, { 0, 0 }, { 2, 2 } }), 0, 0)
  end)

  it('gather along each dim, with repeated indices', function()
    local x = leaf(3, 4)
    ok(function(a) return a:gather(1, long({ { 1, 3, 3, 2 }, { 1, 1, 2, 2 } })) end, { x })
    ok(function(a) return a:gather(2, long({ { 4, 4 }, { 1, 2 }, { 3, 3 } })) end, { x })
    ok(function(a) return torch.gather(a, -1, long({ { 2, 2, 2 }, { 1, 4, 1 } })) end, { x })
    ok(function(a) return a:gather(1, long({ { 2, 1, 3 } })) end, { tleaf(3, 3) })
    local y = x:gather(2, long({ { 2, 2, 2 }, { 1, 4, 1 }, { 3, 3, 3 } }))
    assert.equal('GatherBackward', y.gradFn)
    y:backward(torch.ones(3, 3):double())
    H.close(x.grad, torch.DoubleTensor({ { 0, 3, 0, 0 }, { 2, 0, 0, 1 }, { 0, 0, 3, 0 } }), 0, 0)
  end)

  it('index and gather inside a chain with views', function()
    ok(function(a) return a:t():index(1, long({ 2, 2 })):narrow(2, 2, 2) end, { leaf(3, 4) })
    ok(function(a) return a:expand(3, 4):gather(1, long({ { 1, 2, 3, 3 } })) end, { leaf(1, 4) })
  end)
end)

describe('in-place writes refused while recording', function()
  before_each(function() torch.manualSeed(1) end)

  local function refused(fn, name)
    local msg = H.error_of(fn)
    assert.matches(name, msg, 1, true)
    assert.matches(REFUSED, msg, 1, true)
  end

  it('t[i] = v and t[{...}] = v into a recorded view, or from a tensor requiring grad', function()
    local x = leaf(3, 4)
    local before = x:clone()
    local v = x:narrow(1, 1, 2)
    refused(function() v[1] = 0 end, 'newindex')
    refused(function() v[{ 2, { 1, 2 } }] = 5 end, 'newindex')
    refused(function() x:t()[{ 1, 1 }] = 5 end, 'newindex')
    refused(function() x[2] = x[1] end, 'newindex')
    -- writing a tensor that requires grad into one that does not
    local plain = torch.zeros(3, 4):double()
    refused(function() plain[1] = x[1] end, 'newindex')
    refused(function() plain[torch.ByteTensor(3, 4):fill(1)] = x end, 'newindex')
    H.close(x, before, 0, 0)
    -- setting autograd fields still works, unknown fields still say so
    x.grad = nil
    assert.matches('cannot set field', H.error_of(function() x.foo = 1 end))
  end)

  it('plain data may be written into a leaf (Torch7: m.weight:copy(w)); saved leaves then fail backward', function()
    local x = leaf(3, 4)
    x[1] = 0
    x[{ 2, { 1, 2 } }] = 5
    x[torch.ByteTensor(3, 4):zero()] = 1
    x:narrow(1, 3, 1):detach():fill(2)
    assert.is_true(x.isLeaf and x.requiresGrad)
    H.close(x[1], torch.zeros(4):double(), 0, 0)
    local y = x:t():contiguous()   -- CloneBackward saves nothing: still fine
    local z = torch.cmul(x, x)     -- MulBackward saves x
    x:fill(1)
    x:copy(torch.ones(3, 4):double())
    x:zero()
    y:backward(torch.ones(4, 3):double())
    assert.matches('in%-place', H.error_of(function() z:backward(torch.ones(3, 4):double()) end))
  end)

  it('copy, set, map, map2 from a tensor requiring grad, and writes into recorded views', function()
    local x, y = leaf(3, 4), torch.randn(3, 4):double()
    refused(function() x:t():fill(1) end, 'fill')
    refused(function() x:narrow(1, 1, 1):zero() end, 'zero')
    refused(function() y:copy(x) end, 'copy')
    refused(function() x:t():resize(12) end, 'resize')
    refused(function() y:set(x) end, 'set')
    refused(function() x:t():apply(function(v) return v end) end, 'apply')
    refused(function() y:map(x, function(a) return a end) end, 'map')
    refused(function() y:map2(y, x, function(a) return a end) end, 'map2')
    assert.same({ 3, 4 }, x:size():totable())
  end)

  it('indexAdd, scatter, scatterAdd from a tensor requiring grad, and the [res,] forms', function()
    local x, y = leaf(3, 4), torch.randn(3, 4):double()
    local i = long({ 1, 3 })
    refused(function() y:indexAdd(1, i, x:narrow(1, 1, 2)) end, 'indexAdd')
    refused(function() y:indexCopy(1, i, x:narrow(1, 1, 2)) end, 'indexCopy')
    refused(function() x:t():indexFill(1, long({ 1 }), 0) end, 'indexFill')
    local gi = long({ { 1, 2, 3, 1 } })
    refused(function() y:scatter(1, gi, x:narrow(1, 1, 1)) end, 'scatter')
    refused(function() y:scatterAdd(1, gi, x:narrow(1, 1, 1)) end, 'scatterAdd')
    refused(function() torch.index(y, x, 1, i) end, 'index')
    refused(function() torch.gather(y, x, 1, gi) end, 'gather')
    refused(function() torch.cat(y, x, y:narrow(1, 1, 1), 1) end, 'cat')
    refused(function() torch.cat(y, { y, x }, 1) end, 'cat')
    -- plain data into the leaf itself is allowed
    x:indexFill(1, i, 0)
    x:scatterAdd(1, gi, torch.ones(1, 4):double())
    assert.equal(1, x[1][1])
  end)

  it('all of them work under torch.noGrad', function()
    local x, y = leaf(3, 4), torch.randn(3, 4):double()
    torch.noGrad(function()
      x[1] = 0
      x[{ 2, { 1, 2 } }] = 5
      x:narrow(1, 3, 1):fill(7)
      y:copy(x)
      x:indexFill(2, long({ 4 }), -1)
      x:scatterAdd(1, long({ { 1, 1, 1, 1 } }), torch.ones(1, 4):double())
    end)
    H.close(x, torch.DoubleTensor({ { 1, 1, 1, 0 }, { 5, 5, y[2][3], -1 }, { 7, 7, 7, -1 } }), 0, 0)
    assert.is_true(x.isLeaf)
    -- and the tensor still differentiates afterwards
    ok(function(a) return a:t() end, { x })
  end)

  it('tensors that do not require grad are written as before', function()
    local y = torch.zeros(3, 4):double()
    y[1] = 1
    y[{ 2, 2 }] = 3
    y:narrow(1, 3, 1):fill(2)
    y:indexAdd(2, long({ 1, 1 }), torch.ones(3, 2):double())
    H.close(y, torch.DoubleTensor({ { 3, 1, 1, 1 }, { 2, 3, 0, 0 }, { 4, 2, 2, 2 } }), 0, 0)
  end)
end)
