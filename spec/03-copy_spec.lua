-- Copies: dtype conversion, broadcasting, overlap, fill/zero, clone/contiguous, cat/stack.
local torch = require 'torch'
local H = require 'helpers'
local F = H.fixture('tensor')

describe('copy', function()
  it('broadcasts the source to the destination', function()
    local x = H.tensor(F.x)
    local d = torch.DoubleTensor(2, 3, 4)
    d:copy(x[1]:narrow(2, 1, 1))
    H.close(d, F.copy_broadcast, 0, 0)
  end)

  it('converts between all types like PyTorch (float to int truncates)', function()
    local f = torch.DoubleTensor({ -2.7, -0.5, 0.0, 0.5, 2.7, 1e6 })
    H.close(torch.LongTensor(6):copy(f), F.to_long, 0, 0)
    H.close(torch.FloatTensor(3):copy(H.tensor(F.to_float, 'int64')), F.to_float, 0, 0)
    local all = { torch.FloatTensor, torch.DoubleTensor, torch.LongTensor, torch.ByteTensor }
    for _, A in ipairs(all) do
      for _, B in ipairs(all) do
        local src = A({ { 1, 2 }, { 3, 250 } })
        assert.same({ { 1, 2 }, { 3, 250 } }, B(2, 2):copy(src):totable())
      end
    end
  end)

  it('copies between same-sized tensors of different shapes (Torch7)', function()
    local a = torch.range(1, 6):view(2, 3)
    local b = torch.Tensor(3, 2):copy(a)
    assert.same({ { 1, 2 }, { 3, 4 }, { 5, 6 } }, b:totable())
  end)

  it('handles overlapping source and destination', function()
    local a = torch.range(1, 5)
    a:narrow(1, 2, 4):copy(a:narrow(1, 1, 4))
    assert.same({ 1, 1, 2, 3, 4 }, a:totable())
    local m = torch.range(1, 4):view(2, 2)
    m:copy(m:t())
    assert.same({ { 1, 3 }, { 2, 4 } }, m:totable())
  end)

  it('refuses shapes that do not broadcast, and expanded destinations', function()
    assert.matches('copy: shape %[3%] cannot be broadcast to %[2 x 2%]',
                   H.error_of(function() torch.Tensor(2, 2):copy(torch.Tensor(3)) end))
    assert.matches('expanded', H.error_of(function()
      torch.Tensor(2, 1):expand(2, 3):copy(torch.Tensor(2, 3))
    end))
  end)

  -- transposes copy tile by tile (core/copy.c): every element lands where an element-by-
  -- element walk puts it, for each element size, edge tiles and 1, 2, 3 threads
  it('copies transposed views (tiled) exactly, for every type and at 1, 2, 3 threads', function()
    local n0 = torch.getnumthreads()
    local ok, err = pcall(function()
      for _, nt in ipairs({ 1, 2, 3 }) do
        torch.setnumthreads(nt)
        for _, shape in ipairs({ { 16, 16 }, { 37, 53 }, { 300, 1001 } }) do
          local base = torch.randn(shape[1], shape[2]):mul(50)
          for _, ty in ipairs({ 'torch.FloatTensor', 'torch.DoubleTensor', 'torch.LongTensor',
                                'torch.ByteTensor', 'torch.BFloat16Tensor' }) do
            local x = base:type(ty)
            local y = x:t():contiguous()
            assert.same({ shape[2], shape[1] }, y:size():totable())
            local xd, yd = x:double(), y:double()
            for i = 1, shape[2], 7 do
              for j = 1, shape[1] do
                if yd[i][j] ~= xd[j][i] then
                  error(('%s %dx%d, %d threads: element (%d, %d)'):format(ty, shape[1], shape[2], nt, i, j))
                end
              end
            end
            local z = torch.Tensor():type(ty):resize(shape[2], shape[1])
            z:copy(x:t())
            assert.is_true(torch.equal(z, y), ty)
          end
        end
      end
    end)
    torch.setnumthreads(n0)
    if not ok then error(err, 0) end
  end)

  it('fill and zero work on non-contiguous views', function()
    local t = torch.Tensor(3, 4)
    t:t():narrow(1, 2, 2):fill(5)
    assert.same({ 0, 5, 5, 0 }, t[1]:totable())
    t:zero()
    assert.equal(0, t[{ 1, 2 }])
    local l = torch.LongTensor(2):fill(math.maxinteger)
    assert.equal(math.maxinteger, l[2])
  end)

  it('clone copies; contiguous copies only when needed', function()
    local a = torch.range(1, 6):view(2, 3)
    local c = a:clone()
    c[1][1] = 100
    assert.equal(1, a[1][1])
    assert.equal(a, a:contiguous())
    local t = a:t():contiguous()
    assert.is_true(t:isContiguous())
    assert.same({ { 1, 4 }, { 2, 5 }, { 3, 6 } }, t:totable())
    assert.not_equal(a:storage(), t:storage())
  end)

  it('resize keeps or grows storage; resizeAs', function()
    local t = torch.Tensor(2, 3)
    t:resize(3, 2)
    assert.same({ 3, 2 }, t:size():totable())
    t:resize(10, 10)
    assert.equal(100, t:nElement())
    t:resizeAs(torch.Tensor(4))
    assert.same({ 4 }, t:size():totable())
  end)

  it('set points a tensor at another tensor or a storage', function()
    local a = torch.range(1, 6)
    local b = torch.Tensor()
    b:set(a)
    b[1] = 9
    assert.equal(9, a[1])
    b:set(a:storage(), 2, torch.LongStorage({ 2, 2 }))
    assert.same({ { 2, 3 }, { 4, 5 } }, b:totable())
  end)
end)

describe('cat and stack', function()
  local x, y, z
  before_each(function() x, y, z = H.tensor(F.x), H.tensor(F.y), H.tensor(F.z) end)

  it('cat matches PyTorch along each dim; the default is the last dim (Torch7)', function()
    H.close(torch.cat(x, y, 2), F.cat2, 0, 0)
    H.close(torch.cat({ x, z }, 3), F.cat3, 0, 0)
    H.close(torch.cat(x, z), F.cat3, 0, 0)
  end)

  it('cat writes into a result tensor and handles non-contiguous inputs', function()
    local res = torch.DoubleTensor()
    torch.cat(res, { x:transpose(1, 3):contiguous():transpose(1, 3), y }, 2)
    H.close(res, F.cat2, 0, 0)
  end)

  -- large pieces go through one parallel pass for all of them (core/copy.c, lt_copy_many)
  it('cat of large pieces, contiguous or not, at 1, 2 and 3 threads', function()
    local n0 = torch.getnumthreads()
    local a, b, c = torch.randn(300, 7, 11), torch.randn(11, 5, 300), torch.randn(300, 13, 11)
    for _, nt in ipairs({ 1, 2, 3 }) do
      torch.setnumthreads(nt)
      local bt = b:transpose(1, 3)                  -- 300 x 5 x 11, not contiguous
      local r = torch.cat({ a, bt, c }, 2)
      local res = torch.Tensor(25, 11, 300):transpose(1, 3)   -- a non-contiguous result
      torch.cat(res, { a, bt, c }, 2)
      for _, out in ipairs({ r, res }) do
        assert.same({ 300, 25, 11 }, out:size():totable())
        H.close(out:narrow(2, 1, 7), a, 0, 0)
        H.close(out:narrow(2, 8, 5), bt, 0, 0)
        H.close(out:narrow(2, 13, 13), c, 0, 0)
      end
    end
    torch.setnumthreads(n0)
  end)

  it('stack matches PyTorch; the default is dim 1', function()
    H.close(torch.stack({ x, z }), F.stack1, 0, 0)
    H.close(torch.stack({ x, z }, 4), F.stack4, 0, 0)
  end)

  it('raise clear errors for mismatched shapes or types', function()
    assert.matches('cat: sizes of tensors must match except in dimension 3: %[2 x 3 x 4%] vs %[2 x 5 x 4%]',
                   H.error_of(torch.cat, x, y, 3))
    assert.matches('cat: tensor 2 is Float, tensor 1 is Double',
                   H.error_of(torch.cat, x, torch.FloatTensor(2, 3, 4)))
    assert.matches('stack expects tensors of one shape', H.error_of(torch.stack, { x, y }))
  end)
end)
