-- Views share storage and never copy; every view op is checked against PyTorch.
local torch = require 'torch'
local H = require 'helpers'
local F = H.fixture('tensor')

describe('views', function()
  local x
  before_each(function() x = H.tensor(F.x) end)

  it('transpose, permute, narrow, select, sub match PyTorch', function()
    H.close(x:transpose(1, 3), F.transpose13, 0, 0)
    H.close(x:permute(3, 1, 2), F.permute312, 0, 0)
    H.close(x:narrow(2, 2, 2), F.narrow2_2_2, 0, 0)
    H.close(x:select(3, 4), F.select3_4, 0, 0)
    H.close(x:sub(2, 2, 1, 2, 2, 4), F.sub, 0, 0)
    H.close(x:unsqueeze(2), F.unsqueeze2, 0, 0)
    H.close(x:view(12, 2), F.view_12x2, 0, 0)
  end)

  it('share the storage of their source', function()
    local views = { x:transpose(1, 3), x:narrow(2, 2, 2), x:select(1, 2), x:view(24),
                    x:permute(2, 3, 1), x:unsqueeze(1), x:sub(1, 1), x[2] }
    for _, v in ipairs(views) do
      assert.equal(x:storage(), v:storage(), 'storage not shared')  -- storages compare by identity
    end
  end)

  it('write through to the original', function()
    x:narrow(3, 2, 1):fill(7)
    assert.equal(7, x[{ 2, 3, 2 }])
    x:transpose(1, 2)[{ 3, 1, 4 }] = -1
    assert.equal(-1, x[{ 1, 3, 4 }])
  end)

  it('report strides and offsets as Torch7 (1-based offset)', function()
    assert.same({ 12, 4, 1 }, x:stride():totable())
    local v = x:narrow(2, 2, 2)
    assert.equal(5, v:storageOffset())
    assert.is_false(v:isContiguous())
    assert.same({ 1, 4, 12 }, x:transpose(1, 3):stride():totable())
  end)

  it('t() transposes matrices only', function()
    local m = torch.Tensor(2, 5)
    assert.same({ 5, 2 }, m:t():size():totable())
    assert.matches('t: expected a 2%-dimensional tensor', H.error_of(function() return x:t() end))
  end)

  it('squeeze and unsqueeze', function()
    local t = torch.Tensor(1, 3, 1, 2)
    assert.same({ 3, 2 }, t:squeeze():size():totable())
    assert.same({ 1, 3, 2 }, t:squeeze(3):size():totable())
    assert.same({ 1, 3, 1, 2 }, t:squeeze(2):size():totable())  -- not size 1: unchanged
    assert.same({ 1, 3, 1, 2, 1 }, t:unsqueeze(5):size():totable())
    assert.same({ 1, 3, 1, 2, 1 }, t:unsqueeze(-1):size():totable())
  end)

  it('expand and expandAs use stride 0', function()
    local col = x:narrow(2, 1, 1)
    local e = col:expand(2, 3, 4)
    H.close(e, F.expand, 0, 0)
    assert.same({ 12, 0, 1 }, e:stride():totable())
    assert.same({ 2, 3, 4 }, col:expandAs(x):size():totable())
    assert.same({ 5, 2, 3, 4 }, x:expand(5, 2, 3, 4):size():totable())
    assert.matches('expand: cannot expand %[2 x 3 x 4%] to %[2 x 5 x 4%]',
                   H.error_of(function() return x:expand(2, 5, 4) end))
  end)

  it('view needs compatible strides; reshape copies when it must', function()
    assert.same({ 4, 6 }, x:view(4, -1):size():totable())
    local t = x:transpose(1, 3)
    assert.matches('view: cannot view a non%-contiguous %[4 x 3 x 2%] tensor as %[6 x 4%]',
                   H.error_of(function() return t:view(6, 4) end))
    H.close(t:reshape(6, 4), F.reshape_t, 0, 0)
    local r = x:reshape(24)
    assert.equal(x:storage(), r:storage())                      -- a view when possible
    assert.matches('shape %[5 x 5%] is invalid for 24 elements',
                   H.error_of(function() return x:view(5, 5) end))
    assert.matches('only one dimension can be inferred',
                   H.error_of(function() return x:view(-1, -1) end))
    assert.same({ 3, 2, 4 }, x:viewAs(torch.Tensor(3, 2, 4)):size():totable())
  end)

  it('split and chunk give views of the right sizes', function()
    local c = x:chunk(3, 3)
    assert.equal(#F.chunk3_dim3, #c)
    for i = 1, #c do H.close(c[i], F.chunk3_dim3[i], 0, 0) end
    local s = x:split(3, 3)
    assert.equal(2, #s)
    for i = 1, #s do H.close(s[i], F.split2_dim3[i], 0, 0) end
    assert.same({ 2, 3, 1 }, s[2]:size():totable())
    s[2]:fill(0)
    assert.equal(0, x[{ 1, 1, 4 }])
    local g = torch.Tensor(8, 4):chunk(4)
    assert.equal(4, #g)
    assert.same({ 2, 4 }, g[1]:size():totable())
  end)

  it('name the function, the dim and the size in errors', function()
    assert.matches("bad argument #1 to 'narrow' %(dimension 4 out of range for a 3%-dimensional tensor%)",
                   H.error_of(function() return x:narrow(4, 1, 1) end))
    assert.matches('narrow: range %[3, 4%] out of bounds for dimension 2 of size 3',
                   H.error_of(function() return x:narrow(2, 3, 2) end))
    assert.matches('index 5 out of range for size 4', H.error_of(function() return x:select(3, 5) end))
    assert.matches('permute: dimension 1 repeated', H.error_of(function() return x:permute(1, 1, 2) end))
    assert.matches('tensor expected, got string', H.error_of(function() return x.narrow('a', 1, 1, 1) end))
  end)
end)
