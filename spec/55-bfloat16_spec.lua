-- spec/55-bfloat16_spec.lua — torch.BFloat16Tensor (issue 17): conversions against PyTorch's
-- (spec/fixtures/gen_bf16.py: ties to even, NaN, inf, denormals, overflow to inf, double and
-- int64 inputs), round trips, element access, views, printing, torch.save / torch.load,
-- safetensors BF16 both ways, and the named errors of what does not take it. Arithmetic on
-- it (by widening to float32) is spec/57-bfloat16_math_spec.lua's.
local torch = require 'torch'
local nn = require 'nn'
local H = require 'helpers'

local F = H.fixture('bf16')
local BF16_MSG = 'not supported for torch.BFloat16Tensor (convert with :float())'

local function from_fixture(f, ctor)
  local t = ctor(#f.data)
  for i, v in ipairs(f.data) do t[i] = v end
  return t
end

-- every element equal, NaN where expected is NaN, and the sign of a zero kept
local function same_values(got, want, what)
  assert.are.equal(#want, got:nElement(), what)
  local g = got:contiguous():view(-1)
  for i, w in ipairs(want) do
    local x = g[i]
    if w ~= w then
      assert(x ~= x, ('%s element %d: expected NaN, got %s'):format(what, i, x))
    else
      assert(x == w, ('%s element %d: expected %.17g, got %.17g'):format(what, i, w, x))
      if w == 0 then
        assert(1 / x == 1 / w, ('%s element %d: expected %s0'):format(what, i, 1 / w > 0 and '+' or '-'))
      end
    end
  end
end

local function float_of_bits(b) return (string.unpack('<f', string.pack('<I4', b << 16))) end

local tmpdir
setup(function() tmpdir = H.mktempdir() end)
teardown(function() H.rmtree(tmpdir) end)
local function tmp(name) return tmpdir .. '/' .. name end

describe('torch.BFloat16Tensor: the type', function()
  it('constructs from sizes (zeros), a table, a storage, and names itself', function()
    local x = torch.BFloat16Tensor(2, 3)
    assert.are.equal('torch.BFloat16Tensor', x:type())
    assert.are.equal('torch.BFloat16Tensor', torch.type(x))
    assert.is_true(torch.isTensor(x))
    assert.are.same({ 2, 3 }, x:size():totable())
    assert.are.same({ { 0, 0, 0 }, { 0, 0, 0 } }, x:totable())
    local y = torch.BFloat16Tensor({ { 1.5, -2 }, { 0.1, 3 } })
    assert.are.same({ 1.5, -2, 0.10009765625, 3 }, y:view(-1):totable())
    local s = torch.BFloat16Storage({ 1, 2.5, 1 + 2 ^ -8 })
    assert.are.equal('torch.BFloat16Storage', torch.type(s))
    assert.are.same({ 1, 2.5, 1 }, s:totable())      -- the tie rounds to even
    local v = torch.BFloat16Tensor(s, 2, torch.LongStorage({ 2 }))
    assert.are.same({ 2.5, 1 }, v:totable())
    v[1] = 7
    assert.are.equal(7, s[2])                        -- a view of the storage
    assert.are.same({ 1, 1, 1 }, torch.BFloat16Tensor():resize(3):fill(1):storage():totable())
  end)

  it(':bfloat16(), :type() and :typeAs() convert from and to every type', function()
    local f = torch.FloatTensor({ 1.5, -2.25, 1 + 2 ^ -8 })
    local b = f:bfloat16()
    assert.are.equal('torch.BFloat16Tensor', b:type())
    assert.are.same({ 1.5, -2.25, 1 }, b:totable())
    assert.are.same(b:totable(), f:type('torch.BFloat16Tensor'):totable())
    assert.are.same(b:totable(), f:typeAs(torch.BFloat16Tensor(1)):totable())
    assert.are.equal(b, b:bfloat16())                -- already that type: the same tensor
    assert.are.equal('torch.DoubleTensor', b:double():type())
    assert.are.same({ 1.5, -2.25, 1 }, b:double():totable())
    assert.are.same({ 1, -2, 1 }, b:long():totable())
    assert.are.same({ 1, 0, 1 }, b:byte():totable())   -- negative saturates to 0, as Float's
    assert.are.same({ 1.5, -2.25, 1 }, b:type('torch.FloatTensor'):totable())
    assert.are.same({ 3, 255 }, torch.ByteTensor({ 3, 255 }):bfloat16():totable())
  end)
end)

describe('conversions against PyTorch (spec/fixtures/gen_bf16.py)', function()
  it('float32 -> bfloat16: ties to even, NaN, +-inf, +-0, overflow to inf, denormals', function()
    same_values(from_fixture(F.f32.input, torch.FloatTensor):bfloat16(), F.f32.output.data, 'f32')
  end)

  it('float64 -> bfloat16 rounds through float32, as PyTorch does', function()
    same_values(from_fixture(F.f64.input, torch.DoubleTensor):bfloat16(), F.f64.output.data, 'f64')
  end)

  it('int64 -> bfloat16', function()
    same_values(from_fixture(F.i64.input, torch.LongTensor):bfloat16(), F.i64.output.data, 'i64')
  end)

  it('element writes, storage writes, fill and copy round as the conversion does', function()
    local want = F.f32.output.data
    local t, s = torch.BFloat16Tensor(#want), torch.BFloat16Storage(#want)
    for i, v in ipairs(F.f32.input.data) do t[i] = v; s[i] = v end
    same_values(t, want, 'x[i] = v')
    same_values(torch.BFloat16Tensor(s), want, 'storage[i] = v')
    local c = torch.BFloat16Tensor(#want):copy(from_fixture(F.f32.input, torch.FloatTensor))
    same_values(c, want, 'copy')
    local m = torch.BFloat16Tensor(2, 2)
    m[{ 2, 1 }] = F.f32.input.data[8]
    assert.are.equal(F.f32.output.data[8], m[{ 2, 1 }])
    same_values(torch.BFloat16Tensor(3):fill(F.fill.value), F.fill.output.data, 'fill')
    same_values(torch.BFloat16Tensor(2, 3):fill(5):zero(), { 0, 0, 0, 0, 0, 0 }, 'zero')
  end)

  it('bfloat16 -> int64 truncates, -> float64 widens exactly', function()
    local b = from_fixture(F.from_bf16.input, torch.FloatTensor):bfloat16()
    assert.are.same(F.from_bf16.long.data, b:long():totable())
    assert.are.same(F.from_bf16.double.data, b:double():totable())
  end)

  it('every bfloat16 value survives bfloat16 -> float -> bfloat16 -> double', function()
    local f = torch.FloatTensor(65536)
    for b = 0, 65535 do f[b + 1] = float_of_bits(b) end
    local back = f:bfloat16():float():bfloat16():double()
    local fd = f:double()
    for i = 1, 65536 do
      local x, y = fd[i], back[i]
      assert(x ~= x and y ~= y or (x == y and (x ~= 0 or 1 / x == 1 / y)),
             ('bits 0x%04x: %s came back as %s'):format(i - 1, x, y))
    end
  end)
end)

describe('BFloat16 views and copies', function()
  local function m23() return torch.FloatTensor({ { 1, 2, 3 }, { 4, 5, 6 } }):bfloat16() end

  it('narrow, select, transpose, view, sub, indexing and contiguous share or copy as for Float', function()
    local x = m23()
    assert.are.same({ { 2, 3 }, { 5, 6 } }, x:narrow(2, 2, 2):totable())
    assert.are.same({ 4, 5, 6 }, x:select(1, 2):totable())
    local t = x:t()
    assert.are.equal('torch.BFloat16Tensor', t:type())
    assert.are.same({ { 1, 4 }, { 2, 5 }, { 3, 6 } }, t:totable())
    assert.is_false(t:isContiguous())
    local c = t:contiguous()
    assert.is_true(c:isContiguous())
    assert.are.same(t:totable(), c:totable())
    assert.are.same({ 1, 2, 3, 4, 5, 6 }, x:view(6):totable())
    assert.are.same({ { 2 }, { 5 } }, x:sub(1, 2, 2, 2):totable())
    assert.are.same({ 4, 5, 6 }, x[2]:totable())
    assert.are.same({ 2, 5 }, x[{ {}, 2 }]:totable())
    assert.are.equal(6, x[{ 2, 3 }])
    x:narrow(2, 3, 1):fill(-1)                   -- writes through the view
    assert.are.same({ { 1, 2, -1 }, { 4, 5, -1 } }, x:totable())
    x[{ 1, {} }] = torch.FloatTensor({ 9, 8, 7 }):bfloat16()
    assert.are.same({ 9, 8, 7 }, x[1]:totable())
  end)

  it('clone and copy give independent storage; copy converts from any type', function()
    local x = m23()
    local y = x:clone()
    y[{ 1, 1 }] = 100
    assert.are.equal(1, x[{ 1, 1 }])
    local z = torch.BFloat16Tensor(3, 2):copy(torch.DoubleTensor({ 1, 2, 3, 4, 5, 6 }))
    assert.are.same({ { 1, 2 }, { 3, 4 }, { 5, 6 } }, z:totable())
    local f = torch.FloatTensor(2, 3):copy(x)
    assert.are.same(x:totable(), f:totable())
    local l = torch.LongTensor(2, 3):copy(x:t():t())
    assert.are.same({ { 1, 2, 3 }, { 4, 5, 6 } }, l:totable())
    assert.are.same({ 4, 3 }, torch.cat({ x, x }, 1):size():totable())
    assert.are.same({ 1, 2, 3, 1, 2, 3 }, torch.cat({ x[1], x[1] }):totable())
    assert.are.same({ { 1, 2 }, { 1, 2 } }, x[1]:narrow(1, 1, 2):view(1, 2):expand(2, 2):totable())
  end)

  it('apply and map see the rounded values', function()
    local x = torch.BFloat16Tensor(3):fill(1)
    x:apply(function(v) return v + 2 ^ -8 end)     -- the tie goes back to 1
    assert.are.same({ 1, 1, 1 }, x:totable())
    x:apply(function(v) return v * 3.3 end)
    assert.are.same({ 3.296875, 3.296875, 3.296875 }, x:totable())
  end)
end)

describe('printing a BFloat16Tensor', function()
  it('prints like a FloatTensor of the same values, with its own type name', function()
    local x = torch.FloatTensor({ { 1.5, -2, 3 }, { 0.25, 4, 6 } })
    local b = x:bfloat16()
    assert.are.equal(tostring(x):gsub('FloatTensor', 'BFloat16Tensor'), tostring(b))
    assert.matches('%[torch%.BFloat16Tensor of size 2x3%]$', tostring(b))
    assert.are.equal('[torch.BFloat16Tensor with no dimension]', tostring(torch.BFloat16Tensor()))
    assert.matches('inf', tostring(torch.FloatTensor({ 1e39, 1 }):bfloat16()))
    assert.matches('%[torch%.BFloat16Storage of size 3%]', tostring(torch.BFloat16Storage(3)))
    assert.matches('0%.100098', tostring(torch.BFloat16Storage({ 0.1 })))
  end)
end)

describe('torch.save / torch.load of BFloat16 tensors', function()
  it('round-trips the values bit for bit, views sharing their storage', function()
    local f = torch.FloatTensor(1024)
    for i = 1, 1024 do f[i] = float_of_bits((i * 61) % 65536) end
    local b = f:bfloat16()
    local obj = { b = b, view = b:narrow(1, 10, 5), other = torch.FloatTensor({ 1, 2 }) }
    torch.save(tmp('bf16.t7'), obj)
    local back = torch.load(tmp('bf16.t7'))
    assert.are.equal('torch.BFloat16Tensor', back.b:type())
    same_values(back.b, b:double():totable(), 'loaded')
    back.view[1] = 42
    assert.are.equal(42, back.b[10])               -- still a view of the loaded storage
    assert.are.same({ 1, 2 }, back.other:totable())
    torch.save(tmp('bf16s.t7'), torch.BFloat16Storage({ 1.5, -3 }))
    assert.are.same({ 1.5, -3 }, torch.load(tmp('bf16s.t7')):totable())
  end)
end)

describe('safetensors BF16', function()
  it('reads the file PyTorch wrote (spec/fixtures/bf16_torch.safetensors)', function()
    local t, meta = torch.loadSafetensors(H.fixture_dir .. 'bf16_torch.safetensors')
    assert.are.same({ writer = 'pytorch' }, meta)
    assert.are.equal('torch.BFloat16Tensor', t.vals:type())
    same_values(t.vals, F.f32.output.data, 'vals')
    assert.are.same({ 2, 3 }, t.mat:size():totable())
    same_values(t.mat, { 1.5, -2.25, 3, 0.10009765625, F.f32.output.data[27], 65280 }, 'mat')
    assert.are.equal(0, t.scalar:dim())
    assert.are.equal(-7.5, t.scalar:item())
    assert.are.same({ 0, 2 }, t.empty:size():totable())
    assert.are.equal('torch.BFloat16Tensor', t.empty:type())
    assert.are.equal('torch.FloatTensor', t.f32:type())
  end)

  it('writes BF16 with the bits PyTorch makes, and reads them back', function()
    local x = from_fixture(F.f32.input, torch.FloatTensor):bfloat16()
    local path = tmp('x.safetensors')
    torch.saveSafetensors(path, { x = x })
    local bytes = H.readfile(path)
    local n = string.unpack('<I8', bytes)
    local header = bytes:sub(9, 8 + n)
    assert.matches('"dtype":"BF16"', header, 1, true)
    local data = bytes:sub(9 + n)
    assert.are.equal(2 * #F.f32.bits, #data)
    for i, want in ipairs(F.f32.bits) do
      local got = string.unpack('<I2', data, 2 * i - 1)
      local nan = (want & 0x7f80) == 0x7f80 and (want & 0x7f) ~= 0
      if nan then
        assert((got & 0x7f80) == 0x7f80 and (got & 0x7f) ~= 0, ('element %d: not a NaN'):format(i))
      else
        assert(got == want, ('element %d: bits 0x%04x, PyTorch 0x%04x'):format(i, got, want))
      end
    end
    local back = torch.loadSafetensors(path)
    same_values(back.x, F.f32.output.data, 'read back')
    -- a transposed view is written in its row-major order
    local v = torch.FloatTensor({ { 1, 2, 3 }, { 4, 5, 6 } }):bfloat16():t()
    torch.saveSafetensors(tmp('t.safetensors'), { v = v, f = torch.FloatTensor({ 1 }) })
    assert.are.same(v:totable(), torch.loadSafetensors(tmp('t.safetensors')).v:totable())
  end)

  local exe = os.getenv('LUATORCH_EXE')
  ;(exe and it or pending)('spec/fixtures/write_bf16.lua (what gen_bf16.py checks in PyTorch) runs', function()
    local path = tmp('luatorch_bf16.safetensors')
    local cmd = ('"%s" "%swrite_bf16.lua" "%s" 2>&1'):format(exe, H.fixture_dir, path)
    local p = io.popen(cmd)
    local output = p:read('a')
    assert.is_true(p:close(), output)
    local t, meta = torch.loadSafetensors(path)
    assert.are.same({ writer = 'luatorch' }, meta)
    same_values(t.f32, F.f32.output.data, 'f32')
    same_values(t.f64, F.f64.output.data, 'f64')
    same_values(t.i64, F.i64.output.data, 'i64')
    assert.are.equal('torch.BFloat16Tensor', t['lin.weight']:type())
  end)
end)

describe('a BFloat16 state dict', function()
  it('loads into a float model (loadStateDict converts), as PyTorch\'s load_state_dict does', function()
    torch.manualSeed(3)
    local m, m2 = nn.Linear(3, 2), nn.Linear(3, 2)
    local sd = {}
    for k, v in pairs(m:stateDict()) do sd[k] = v:bfloat16() end
    m2:loadStateDict(sd)
    assert.are.equal('torch.FloatTensor', m2.weight:type())
    assert.are.same(sd.weight:totable(), m2.weight:totable())   -- exact: a widening
    assert.are.same(sd.bias:totable(), m2.bias:totable())
    H.close(m2.weight, m.weight, 2 ^ -8, 0)                     -- within bf16's rounding
    local longs = { weight = torch.LongTensor(2, 3), bias = torch.LongTensor(2) }
    H.matches(H.error_of(m2.loadStateDict, m2, longs), 'type mismatch')
  end)
end)

describe('what BFloat16 tensors do not do: named errors, never a crash', function()
  local function refused(fname, fn, ...)
    local msg = H.error_of(fn, ...)
    assert(msg:find(BF16_MSG, 1, true), ('error %q does not say %q'):format(msg, BF16_MSG))
    assert(msg:find(fname, 1, true), ('error %q does not name %q'):format(msg, fname))
  end
  local function b23() return torch.FloatTensor(2, 3):uniform():bfloat16() end

  -- arithmetic, reductions, products, nn ops and autograd widen to float32: spec 57
  it('the fused recurrent kernels and the tables of tensors they take refuse it by name', function()
    local b = b23()
    refused('lstmCell', torch.lstmCell, b, b, b, b, b)
    local m = nn.LSTM(3, 2)
    H.matches(H.error_of(function() return m:forward(torch.FloatTensor(4, 1, 3):bfloat16()) end),
              'nn%.LSTM', 'not supported for torch%.BFloat16Tensor')
  end)

  it('converting a graph tensor to bfloat16 is recorded (PyTorch keeps the graph too)', function()
    local w = torch.FloatTensor(3):fill(1)
    w.requiresGrad = true
    local y = (w * 2):bfloat16()
    assert.is_true(y.requiresGrad)
    assert.are.same({ 2, 2, 2 }, y:totable())
    local b = b23()
    b.requiresGrad = true                        -- BFloat16 leaves take gradients (spec 57)
    H.matches(H.error_of(function() torch.LongTensor(2).requiresGrad = true end), 'requiresGrad')
  end)

  it('lives in host memory: :cuda() and the default type refuse it', function()
    refused('cuda', function() return b23():cuda() end)
    H.matches(H.error_of(torch.setdefaulttensortype, 'torch.BFloat16Tensor'), 'setdefaulttensortype')
    assert.is_nil(rawget(torch, 'CudaBFloat16Tensor'))
  end)

  H.gpu_it('a device tensor converts to BFloat16 on the host, and back to the device', function()
    local d = torch.FloatTensor({ 1.5, 1 + 2 ^ -8 }):cuda()
    local b = d:bfloat16()
    assert.are.equal('torch.BFloat16Tensor', b:type())
    assert.are.same({ 1.5, 1 }, b:totable())
    local back = b:cudaFloat()
    assert.is_true(back:isCuda())
    assert.are.same({ 1.5, 1 }, back:float():totable())
    refused('cuda', function() return b:type('torch.CudaTensor'):bfloat16():cuda() end)
    refused('copy', function() return torch.BFloat16Tensor(2):copy(d) end)
  end)
end)
