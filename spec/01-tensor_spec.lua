-- Tensor construction, types, shape queries, element access, printing and memory.
local torch = require 'torch'
local H = require 'helpers'

describe('constructors', function()
  it('builds from sizes, zero-filled, in the default type', function()
    local t = torch.Tensor(2, 3)
    assert.equal('torch.FloatTensor', t:type())
    assert.same({ 2, 3 }, t:size():totable())
    assert.equal(2, t:dim())
    assert.equal(6, t:nElement())
    assert.same({ { 0, 0, 0 }, { 0, 0, 0 } }, t:totable())
  end)

  it('builds from a LongStorage or a table of sizes', function()
    assert.same({ 4, 5 }, torch.Tensor(torch.LongStorage({ 4, 5 })):size():totable())
    assert.same({ 3, 2 }, torch.DoubleTensor(torch.Tensor(3, 2):size()):size():totable())
  end)

  it('builds from nested tables in every type', function()
    local cases = {
      { torch.FloatTensor, 'torch.FloatTensor' }, { torch.DoubleTensor, 'torch.DoubleTensor' },
      { torch.LongTensor, 'torch.LongTensor' }, { torch.ByteTensor, 'torch.ByteTensor' },
    }
    for _, c in ipairs(cases) do
      local t = c[1]({ { 1, 2, 3 }, { 4, 5, 6 } })
      assert.equal(c[2], t:type())
      assert.equal(c[2], torch.typename(t))
      assert.same({ { 1, 2, 3 }, { 4, 5, 6 } }, t:totable())
    end
  end)

  it('keeps int64 values exact', function()
    local big = math.maxinteger - 5
    local t = torch.LongTensor({ big, -big })
    assert.equal(big, t[1])
    assert.equal(-big, t[2])
    assert.is_true(math.type(t[1]) == 'integer')
  end)

  it('rejects ragged and non-numeric tables', function()
    assert.matches('not rectangular', H.error_of(torch.Tensor, { { 1, 2 }, { 3 } }))
    assert.matches('expected numbers', H.error_of(torch.Tensor, { 1, 'x' }))
  end)

  it('rejects negative and non-integer sizes', function()
    assert.matches('torch.Tensor: invalid size %-3', H.error_of(torch.Tensor, 2, -3))
    assert.matches('torch.FloatTensor: sizes must be non%-negative', H.error_of(torch.FloatTensor, -1))
    assert.matches('torch.Tensor: size has no integer value', H.error_of(torch.Tensor, 2.5))
  end)

  it('builds views over a storage with offset, sizes and strides', function()
    local s = torch.FloatStorage({ 1, 2, 3, 4, 5, 6 })
    local t = torch.FloatTensor(s, 2, { 2, 2 }, { 2, 1 })
    assert.same({ { 2, 3 }, { 4, 5 } }, t:totable())
    t[1][1] = 9
    assert.equal(9, s[2])
    assert.matches('storage of 6 elements', H.error_of(torch.FloatTensor, s, 4, { 2, 2 }, { 2, 1 }))
  end)

  it('shares storage when built from a tensor of the same type, converts otherwise', function()
    local a = torch.FloatTensor({ 1, 2 })
    local b = torch.FloatTensor(a)
    b[1] = 5
    assert.equal(5, a[1])
    local c = torch.DoubleTensor(a)
    c[2] = 7
    assert.equal(2, a[2])
    assert.equal('torch.DoubleTensor', c:type())
  end)

  it('zeros, ones, range, arange, linspace, eye', function()
    assert.same({ 0, 0 }, torch.zeros(2):totable())
    assert.same({ { 1, 1 } }, torch.ones(1, 2):totable())
    assert.same({ 1, 2, 3, 4 }, torch.range(1, 4):totable())
    assert.same({ 1, 3 }, torch.range(1, 4, 2):totable())
    assert.same({ 0, 1, 2 }, torch.arange(3):totable())
    assert.same({ 0, 0.25, 0.5, 0.75, 1 }, torch.linspace(0, 1, 5):totable())
    assert.same({ { 1, 0, 0 }, { 0, 1, 0 } }, torch.eye(2, 3):totable())
  end)

  it('follows the default tensor type', function()
    torch.setdefaulttensortype('torch.DoubleTensor')
    local ok, err = pcall(function()
      assert.equal('torch.DoubleTensor', torch.Tensor(1):type())
      assert.equal('torch.DoubleTensor', torch.zeros(1):type())
      assert.equal('torch.DoubleTensor', torch.getdefaulttensortype())
    end)
    torch.setdefaulttensortype('torch.FloatTensor')
    assert(ok, err)
    assert.matches('expected', H.error_of(torch.setdefaulttensortype, 'torch.LongTensor'))
  end)
end)

describe('types', function()
  it('converts with float/double/long/byte/type and returns self when unchanged', function()
    local t = torch.FloatTensor({ 1.7, -2.5, 300 })
    assert.equal(t, t:float())
    assert.same({ 1, -2, 300 }, t:long():totable())        -- truncation toward zero
    assert.same({ 1, 0, 255 }, t:byte():totable())         -- saturation
    assert.equal('torch.DoubleTensor', t:type('torch.DoubleTensor'):type())
    assert.equal('torch.LongTensor', t:typeAs(torch.LongTensor()):type())
    assert.matches('unknown tensor type', H.error_of(t.type, t, 'torch.FooTensor'))
  end)

  it('answers isTensor, typename and type', function()
    assert.is_true(torch.isTensor(torch.Tensor()))
    assert.is_false(torch.isTensor({}))
    assert.is_nil(torch.typename(3))
    assert.equal('number', torch.type(3))
    assert.equal('torch.LongStorage', torch.type(torch.LongStorage(2)))
    assert.is_true(torch.isStorage(torch.ByteStorage(1)))
  end)
end)

describe('element access', function()
  it('t[i] is a number on 1-D and a view on N-D', function()
    local t = torch.Tensor({ { 1, 2 }, { 3, 4 } })
    assert.equal(3, t[2][1])
    assert.equal('torch.FloatTensor', t[1]:type())
    t[2][2] = 8
    assert.equal(8, t[{ 2, 2 }])
    t[1] = 0
    assert.same({ { 0, 0 }, { 3, 8 } }, t:totable())
    t[2] = torch.Tensor({ 5, 6 })
    assert.same({ 5, 6 }, t[2]:totable())
  end)

  it('negative indices count from the end', function()
    local t = torch.Tensor({ 1, 2, 3 })
    assert.equal(3, t[-1])
  end)

  it('range indexing with {a,b}, {a} and {}', function()
    local t = torch.range(1, 12):view(3, 4)
    assert.same({ { 6, 7 }, { 10, 11 } }, t[{ { 2, 3 }, { 2, 3 } }]:totable())
    assert.same({ 2, 6, 10 }, t[{ {}, 2 }]:totable())
    assert.same({ { 5, 6, 7, 8 } }, t[{ { 2 } }]:totable())
    assert.same({ 8 }, t[{ 2, { -1 } }]:totable())
    t[{ {}, 1 }] = 0
    assert.same({ 0, 0, 0 }, t:select(2, 1):totable())
  end)

  it('raises clear errors for bad indices', function()
    local t = torch.Tensor(2, 3)
    assert.matches('index 3 out of range for dimension 1 of size 2', H.error_of(function() return t[3] end))
    assert.matches('not an integer', H.error_of(function() return t[1.5] end))
    assert.matches('out of bounds', H.error_of(function() return t[{ {}, { 2, 4 } }] end))
    assert.matches('3 indices for a 2%-dimensional tensor', H.error_of(function() return t[{ 1, 1, 1 }] end))
    assert.matches("cannot set field 'foo'", H.error_of(function() t.foo = 1 end))
  end)

  it('item, apply, map, map2', function()
    assert.equal(5, torch.Tensor({ 5 }):item())
    assert.matches('one element', H.error_of(function() return torch.Tensor(2):item() end))
    local t = torch.Tensor({ 1, 2, 3 }):apply(function(x) return x * 2 end)
    assert.same({ 2, 4, 6 }, t:totable())
    t:map(torch.Tensor({ 1, 1, 1 }), function(x, y) return x + y end)
    assert.same({ 3, 5, 7 }, t:totable())
    t:map2(torch.Tensor({ 1, 1, 1 }), torch.Tensor({ 2, 2, 2 }), function(x, y, z) return x * z - y end)
    assert.same({ 5, 9, 13 }, t:totable())
  end)
end)

describe('printing', function()
  it('formats integers, a footer with the type and size', function()
    assert.equal(' 1  2  3\n 4  5  6\n[torch.FloatTensor of size 2x3]',
                 tostring(torch.Tensor({ { 1, 2, 3 }, { 4, 5, 6 } })))
    assert.equal(' 10\n-20\n[torch.LongTensor of size 2]', tostring(torch.LongTensor({ 10, -20 })))
  end)

  it('formats decimals with 4 digits and a common scale when needed', function()
    assert.equal(' 0.5000\n-1.2500\n[torch.DoubleTensor of size 2]',
                 tostring(torch.DoubleTensor({ 0.5, -1.25 })))
    local s = tostring(torch.DoubleTensor({ 0.001234, 0.002 }))
    assert.matches('^ 1e%-3 %*\n 1%.2340\n 2%.0000\n', s)
    assert.matches('e%+', tostring(torch.DoubleTensor({ 1e-8, 1e8 + 0.5 })))
  end)

  it('prints slices of 3-D tensors as Torch7 does', function()
    local s = tostring(torch.range(1, 8):view(2, 2, 2))
    assert.matches('^%(1,%.,%.%) = \n 1  2\n 3  4\n\n%(2,%.,%.%) = \n', s)
    assert.matches('%[torch%.FloatTensor of size 2x2x2%]$', s)
  end)

  it('summarises huge tensors instead of printing every element', function()
    local s = tostring(torch.Tensor(100000, 50))
    assert.is_true(#s < 2000)
    assert.matches('%.%.%.', s)
    assert.matches('size 100000x50', s)
  end)

  it('prints empty tensors', function()
    assert.equal('[torch.FloatTensor with no dimension]', tostring(torch.Tensor()))
  end)

  it('prints NaN and infinities', function()
    local s = tostring(torch.DoubleTensor({ 0 / 0, math.huge, 1.5 }))
    assert.matches('nan', s)
    assert.matches('inf', s)
  end)
end)

describe('memory', function()
  it('frees storage when the last view dies, and :free() is idempotent', function()
    collectgarbage()
    local before = torch.allocatorStats().liveBytes
    local t = torch.DoubleTensor(1000)
    local v = t:narrow(1, 1, 10)
    assert.equal(before + 8000, torch.allocatorStats().liveBytes)
    t:free()
    t:free()
    assert.equal(before + 8000, torch.allocatorStats().liveBytes)  -- v still holds it
    v:free()
    assert.equal(before, torch.allocatorStats().liveBytes)
    assert.matches('freed', H.error_of(function() return v:size() end))
  end)

  it('closes to-be-closed tensors at the end of the scope', function()
    collectgarbage()
    local before = torch.allocatorStats().liveBytes
    do
      local t <close> = torch.DoubleTensor(1000)
      assert.equal(before + 8000, torch.allocatorStats().liveBytes)
    end
    assert.equal(before, torch.allocatorStats().liveBytes)
  end)

  -- the most live tensor bytes over the start while n temporaries ctor(numel) come and go
  local function peak_of(n, ctor, numel)
    collectgarbage()
    local base = torch.allocatorStats().liveBytes
    local peak = 0
    for _ = 1, n do
      local t = ctor(numel)
      t[1] = 1
      peak = math.max(peak, torch.allocatorStats().liveBytes - base)
    end
    return peak
  end

  for _, mode in ipairs({ 'incremental', 'generational' }) do
    it('a loop making big temporaries stays in flat memory without collectgarbage() ('
       .. mode .. ' collector)', function()
      collectgarbage(mode)
      local peak = peak_of(300, torch.DoubleTensor, 1000000)   -- 8 MB each, 2.4 GB in all
      collectgarbage('incremental')
      assert.is_true(peak < 400 * 1024 * 1024, ('peak %d MB'):format(peak // (1024 * 1024)))
    end)
  end

  it('a freed host block of 16 KB or more is kept and reused by an allocation of its size',
     function()
    if not torch.allocatorStats().caches then
      pending('no host block cache in this build (AddressSanitizer)')
      return
    end
    collectgarbage()
    local t = torch.FloatTensor(100000):fill(7)   -- 400 KB
    local before = torch.allocatorStats().cachedBytes
    t:free()
    local kept = torch.allocatorStats().cachedBytes
    assert.equal(before + 400000, kept)
    local z = torch.zeros(100000)                 -- same size: the kept block, zeroed
    assert.equal(before, torch.allocatorStats().cachedBytes)
    assert.equal(0, z:abs():max())
    local small = torch.FloatTensor(1000)          -- 4 KB: never kept
    small:free()
    assert.equal(before, torch.allocatorStats().cachedBytes)
  end)

  -- tensor memory drives the collector only past a headroom over what was live after the last
  -- collection (or the least live since, when memory was freed): 16 times Lua's heap, at least
  -- 4 MB, at most 256 MB (lua/lauxt.c)
  it('a loop of small temporaries stays within a headroom set by the size of Lua\'s heap',
     function()
    local function room()
      collectgarbage()
      return math.min(256, math.max(4, 16 * collectgarbage('count') / 1024)) * 2 ^ 20
    end
    -- slack: Lua's heap grows with the loop's boxes, and a cycle ends a few allocations after
    -- it starts (a fixed 64 MB headroom peaked at 72 MB here)
    local function check(peak, r)
      assert.is_true(peak < 1.5 * r + 8 * 2 ^ 20, ('peak %.1f MB, headroom %.1f MB'):format(
        peak / 2 ^ 20, r / 2 ^ 20))
      assert.is_true(peak > 2 ^ 20)   -- and it is not collecting after every tensor
    end
    check(peak_of(20000, torch.FloatTensor, 50000), room())   -- 200 KB each, 4 GB in all
    -- after a big release, the threshold comes down with live memory: the next loop does not
    -- first grow to the old high-water mark
    local big = torch.FloatTensor(25 * 2 ^ 20)   -- 100 MB
    peak_of(2000, torch.FloatTensor, 50000)
    big:free()
    check(peak_of(2000, torch.FloatTensor, 50000), room())
  end)
end)
