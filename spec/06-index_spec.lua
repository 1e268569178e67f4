-- Indexing by index tensors: index/indexSelect, indexCopy, indexAdd, indexFill, gather,
-- scatter, scatterAdd, nonzero against PyTorch (spec/fixtures/gen_index.py), with 1-based
-- dims and indices, negative dims, non-contiguous inputs, the [res,] forms, the row fast path
-- on large inputs, and error messages for bad dims, shapes, types and indices.
local torch = require 'torch'
local H = require 'helpers'
local F = H.fixture('index')

for _, dt in ipairs({ 'float32', 'float64', 'int64' }) do
  local C = F[dt]

  describe('indexing (' .. dt .. ')', function()
    local x = H.tensor(C.input)
    local views = { x = x, xt = x:transpose(1, 3) }

    it('index / indexSelect pick slices along every dim', function()
      for name, v in pairs(views) do
        for d = 1, 3 do
          local case = C[name].index_select[d]
          local idx = H.tensor(case.idx)
          H.close(v:index(d, idx), case.out, 0, 0)
          H.close(v:indexSelect(d - 4, idx), case.out, 0, 0)
          H.close(torch.index(v, d, idx), case.out, 0, 0)
          local res = torch.Tensor():typeAs(v)
          assert.equal(res, torch.index(res, v, d, idx))
          H.close(res, case.out, 0, 0)
        end
      end
    end)

    it('gather along every dim (index smaller than the input elsewhere)', function()
      for name, v in pairs(views) do
        for d = 1, 3 do
          local case = C[name].gather[d]
          local idx = H.tensor(case.idx)
          H.close(v:gather(d, idx), case.out, 0, 0)
          H.close(torch.gather(v, d - 4, idx), case.out, 0, 0)
          local res = H.tensor(case.out):zero()
          assert.equal(res, torch.gather(res, v, d, idx))
          H.close(res, case.out, 0, 0)
          -- a non-contiguous index
          local it = idx:transpose(1, 3):clone():transpose(1, 3)
          H.close(v:gather(d, it), case.out, 0, 0)
        end
      end
    end)

    it('indexCopy / indexAdd / indexFill work in place and return self', function()
      for d = 1, 3 do
        local c = C.index_copy[d]
        local y = x:clone()
        assert.equal(y, y:indexCopy(d, H.tensor(c.idx), H.tensor(c.src)))
        H.close(y, c.out, 0, 0)
        -- into a transposed view: same elements written
        local z = x:transpose(1, 3):clone():transpose(1, 3)
        z:indexCopy(d - 4, H.tensor(c.idx), H.tensor(c.src))
        H.close(z, c.out, 0, 0)

        c = C.index_add[d]
        y = x:clone()
        assert.equal(y, y:indexAdd(d, H.tensor(c.idx), H.tensor(c.src)))
        H.close(y, c.out, 1e-6, 1e-6)
        z = x:transpose(1, 3):clone():transpose(1, 3)
        torch.indexAdd(z, d, H.tensor(c.idx), H.tensor(c.src):transpose(1, 3):clone():transpose(1, 3))
        H.close(z, c.out, 1e-6, 1e-6)

        c = C.index_fill[d]
        y = x:clone()
        assert.equal(y, y:indexFill(d, H.tensor(c.idx), dt == 'int64' and -7 or -7.5))
        H.close(y, c.out, 0, 0)
      end
    end)

    it('indexAdd along dim 1 of a matrix adds duplicate rows (embedding gradients)', function()
      local E = C.embed
      local g = torch.Tensor():typeAs(H.tensor(E.src)):resize(6, 4):zero()
      g:indexAdd(1, H.tensor(E.idx), H.tensor(E.src))
      H.close(g, E.out, 1e-6, 1e-6)
    end)

    it('scatter (tensor and value) and scatterAdd work in place', function()
      for d = 1, 3 do
        local c = C.scatter[d]
        local y = x:clone()
        assert.equal(y, y:scatter(d, H.tensor(c.idx), H.tensor(c.src)))
        H.close(y, c.out, 0, 0)
        local z = x:transpose(1, 3):clone():transpose(1, 3)
        z:scatter(d - 4, H.tensor(c.idx), H.tensor(c.src):transpose(1, 2):clone():transpose(1, 2))
        H.close(z, c.out, 0, 0)

        c = C.scatter_value[d]
        y = x:clone()
        assert.equal(y, y:scatter(d, H.tensor(c.idx), 3))
        H.close(y, c.out, 0, 0)

        c = C.scatter_add[d]
        y = x:clone()
        assert.equal(y, y:scatterAdd(d, H.tensor(c.idx), H.tensor(c.src)))
        H.close(y, c.out, 1e-6, 1e-6)
      end
    end)

    it('nonzero gives 1-based positions in row-major order', function()
      local z = H.tensor(C.z)
      local nz = z:nonzero()
      assert.equal('torch.LongTensor', torch.typename(nz))
      H.close(nz, C.nonzero, 0, 0)
      H.close(torch.nonzero(z:transpose(1, 3)), C.nonzero_t, 0, 0)
      local res = torch.LongTensor()
      assert.equal(res, torch.nonzero(res, z))
      H.close(res, C.nonzero, 0, 0)
    end)
  end)
end

describe('indexing: large inputs, aliasing, edge cases', function()
  it('gathers rows of a large contiguous tensor (parallel memcpy path)', function()
    local n, w = 3000, 40
    local t = {}
    for i = 1, n * w do t[i] = i end
    local src = torch.FloatTensor(t):view(n, w)
    local idx = {}
    for k = 1, 2500 do idx[k] = (k * 7919) % n + 1 end
    local out = src:index(1, torch.LongTensor(idx))
    assert.same({ 2500, w }, out:size():totable())
    local ok = true
    for _, k in ipairs({ 1, 2, 1000, 2500 }) do
      for j = 1, w, 13 do
        if out[k][j] ~= (idx[k] - 1) * w + j then ok = false end
      end
    end
    assert.is_true(ok)
    -- the same through the strided path (a transposed source) agrees
    local out2 = src:t():clone():t():index(1, torch.LongTensor(idx))
    H.close(out2, out, 0, 0)
  end)

  it('handles an index that is a view of the destination', function()
    local t = torch.LongTensor({ 2, 1, 3 })
    t:indexFill(1, t:narrow(1, 1, 2), 0)   -- indices 2, 1 read before writing
    assert.same({ 0, 0, 3 }, t:totable())
    local s = torch.LongTensor({ 3, 1, 2 })
    s:scatter(1, s, torch.LongTensor({ 10, 20, 30 }))
    assert.same({ 20, 30, 10 }, s:totable())
  end)

  it('reads the whole input before writing when the result is the input itself', function()
    local x = torch.Tensor({ { 1, 2, 3 }, { 4, 5, 6 } })
    torch.gather(x, x, 2, torch.LongTensor({ { 3, 2, 1 }, { 1, 1, 2 } }))
    assert.same({ { 3, 2, 1 }, { 4, 4, 5 } }, x:totable())
    local y = torch.Tensor({ 1, 2, 3 })
    torch.index(y, y, 1, torch.LongTensor({ 3, 1, 2 }))
    assert.same({ 3, 1, 2 }, y:totable())
  end)

  it('last write wins for duplicate indices in indexCopy', function()
    local t = torch.Tensor(3):zero()
    t:indexCopy(1, torch.LongTensor({ 2, 2 }), torch.Tensor({ 5, 6 }))
    assert.same({ 0, 6, 0 }, t:totable())
  end)

  it('accepts empty index tensors', function()
    local x = torch.Tensor(3, 2)
    assert.same({ 0, 2 }, x:index(1, torch.LongTensor(0)):size():totable())
    x:indexFill(1, torch.LongTensor(0), 1)
    assert.same({ 0, 1 }, torch.Tensor(3):zero():nonzero():size():totable())
  end)

  it('reports out-of-range indices 1-based, naming the function and the size', function()
    local x = torch.Tensor(3, 4)
    assert.matches('index: index 5 out of range for dimension 2 of size 4',
                   H.error_of(function() x:index(2, torch.LongTensor({ 1, 5 })) end))
    assert.matches('index: index 0 out of range for dimension 1 of size 3',
                   H.error_of(function() x:index(1, torch.LongTensor({ 0 })) end))
    assert.matches('gather: index 4 out of range for dimension 1 of size 3',
                   H.error_of(function() x:gather(1, torch.LongTensor({ { 1, 4 } })) end))
    assert.matches('scatter: index %-1 out of range for dimension 2 of size 4',
                   H.error_of(function() x:scatter(2, torch.LongTensor({ { -1 } }), 0) end))
    assert.matches('scatterAdd: index 9 out of range',
                   H.error_of(function()
                     x:scatterAdd(2, torch.LongTensor({ { 9 } }), torch.Tensor(1, 1))
                   end))
    assert.matches('indexCopy: index 4 out of range for dimension 1 of size 3',
                   H.error_of(function()
                     x:indexCopy(1, torch.LongTensor({ 4 }), torch.Tensor(1, 4))
                   end))
    assert.matches('indexAdd: index 7 out of range',
                   H.error_of(function()
                     x:indexAdd(2, torch.LongTensor({ 7 }), torch.Tensor(3, 1))
                   end))
    assert.matches('indexFill: index 6 out of range',
                   H.error_of(function() x:indexFill(2, torch.LongTensor({ 6 }), 1) end))
  end)

  it('rejects bad dims, shapes and types with clear messages', function()
    local x = torch.Tensor(3, 4)
    assert.matches('index: dimension 3 out of range for a 2%-dimensional tensor',
                   H.error_of(function() x:index(3, torch.LongTensor({ 1 })) end))
    assert.matches('gather: dimension %-3 out of range',
                   H.error_of(function() x:gather(-3, torch.LongTensor({ { 1 } })) end))
    assert.matches('index: index must be a LongTensor, got torch.FloatTensor',
                   H.error_of(function() x:index(1, torch.Tensor({ 1 })) end))
    assert.matches('gather: index must be a LongTensor',
                   H.error_of(function() x:gather(1, { 1 }) end))
    assert.matches('index: index must be a 1%-D tensor, got %[1 x 1%]',
                   H.error_of(function() x:index(1, torch.LongTensor({ { 1 } })) end))
    assert.matches('gather: index %[2%] must have as many dimensions as the tensor %[3 x 4%]',
                   H.error_of(function() x:gather(1, torch.LongTensor({ 1, 2 })) end))
    assert.matches('gather: index %[2 x 5%] is larger than the tensor %[3 x 4%] in dimension 2',
                   H.error_of(function() x:gather(1, torch.LongTensor(2, 5):fill(1)) end))
    assert.matches('scatter: index %[2 x 3%] is larger than the source %[2 x 2%] in dimension 2',
                   H.error_of(function()
                     x:scatter(1, torch.LongTensor(2, 3):fill(1), torch.Tensor(2, 2))
                   end))
    assert.matches('indexCopy: source %[2 x 4%] does not match destination %[3 x 4%]',
                   H.error_of(function()
                     x:indexCopy(1, torch.LongTensor({ 1 }), torch.Tensor(2, 4))
                   end))
    assert.matches('indexAdd: source is Double, expected Float',
                   H.error_of(function()
                     x:indexAdd(1, torch.LongTensor({ 1 }), torch.DoubleTensor(1, 4))
                   end))
    assert.matches('scatter: source must be a tensor or a number',
                   H.error_of(function() x:scatter(1, torch.LongTensor({ { 1 } }), 'a') end))
    assert.matches('index: result tensor is Double, expected Float',
                   H.error_of(function()
                     torch.index(torch.DoubleTensor(), x, 1, torch.LongTensor({ 1 }))
                   end))
    assert.matches('indexFill: cannot write into an expanded tensor',
                   H.error_of(function()
                     torch.Tensor(1, 4):expand(3, 4):indexFill(1, torch.LongTensor({ 1 }), 0)
                   end))
  end)
end)
