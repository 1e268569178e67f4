-- Hardening (issue 14): the calls that crashed, corrupted memory, hung or overflowed a signed
-- integer now raise a Lua error naming the function and the values; sizes that cannot fit are
-- refused before anything is allocated; an interrupt can no longer leave nn's graph counter
-- stuck. (The bad-argument sweep calls every public name; these are the cases found by hand,
-- each with the message a user sees.)
local torch = require 'torch'
local nn = require 'nn'

local function err_of(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, 'expected an error')
  return tostring(e)
end

local function freed()
  local t = torch.FloatTensor(2):fill(1)
  t:free()
  return t
end

describe('a freed tensor', function()
  it('is refused by the arithmetic metamethods, naming the function', function()
    local t = freed()
    assert.matches("bad argument #1 to 'add' %(tensor was freed%)", err_of(function() return t + 1 end))
    assert.matches("to 'mul' %(tensor was freed%)", err_of(function() return 1 * t end))
    assert.matches("to 'pow' %(tensor was freed%)", err_of(function() return t ^ 2 end))
    assert.matches("to 'sub' %(tensor was freed%)", err_of(function() return t - t end))
    assert.matches("to 'div' %(tensor was freed%)", err_of(function() return torch.ones(2) / t end))
    assert.matches("tensor was freed", err_of(function() return -t end))
  end)

  it('is refused where a number or a tensor may stand (not taken for "not a tensor")', function()
    local t, x = freed(), torch.ones(2)
    assert.matches("to '[%w_.]*add' %(tensor was freed%)", err_of(torch.add, t, 1))
    assert.matches("tensor was freed", err_of(function() return x:add(t) end))
    assert.matches("tensor was freed", err_of(function() return x:cmul(t) end))
    assert.matches("tensor was freed", err_of(torch.cat, { x, t }))
    assert.matches("tensor was freed", err_of(function() return x:copy(t) end))
    assert.matches("tensor was freed", err_of(function() return torch.FloatTensor(t) end))
  end)

  it('a metamethod called by hand with two numbers is an argument error, not a crash', function()
    local mt = getmetatable(torch.ones(1))
    for _, name in ipairs({ '__add', '__sub', '__mul', '__div', '__pow' }) do
      assert.matches(name .. ": expected a tensor operand, got number and number", err_of(mt[name], 1, 2))
    end
  end)
end)

describe('shapes that overflow', function()
  it('view refuses sizes whose product wraps around (2^32 x 2^32 of an empty tensor)', function()
    assert.matches('view: shape %[4294967296 x 4294967296%] is too large',
                   err_of(function() torch.FloatTensor(0):view(4294967296, 4294967296)[1][1] = 5 end))
    assert.matches('is too large', err_of(function() return torch.FloatTensor(0):view(-1, 4294967296, 4294967296) end))
    -- a zero among huge sizes is refused too: the next product would overflow
    assert.matches('is too large', err_of(function() return torch.FloatTensor(0):view(0, 2^62, 2^62) end))
  end)

  it('expand refuses an element count past 2^59 (it summed 2^64 elements to 0)', function()
    assert.matches('expand: shape %[4294967296 x 4294967296%] is too large',
                   err_of(function() return torch.FloatTensor({ 3 }):view(1, 1):expand(4294967296, 4294967296):sum() end))
    -- a large expand that fits is still a view
    local e = torch.FloatTensor({ 3 }):view(1, 1):expand(2^20, 2^20)
    assert.equals(2^40, e:nElement())
    assert.equals(0, e:stride(1))
  end)

  it('constructors, resize and reshape refuse them with the shape in the message', function()
    assert.matches('shape %[0 x 7 x 4611686018427387904%] is too large',
                   err_of(torch.FloatTensor, 0, 7, 1 << 62))
    local F = torch.FloatTensor(2, 3)
    assert.matches('reshape: shape %[2 x 4611686018427387904%] is too large', err_of(F.reshape, F, 2, 1 << 62))
    assert.matches('too large', err_of(F.resize, F, 1 << 40, 1 << 40))
    assert.matches('too large', err_of(torch.zeros, 1 << 30, 1 << 30))
  end)

  it('a storage view whose strides reach past 2^63 is refused', function()
    local s = torch.FloatStorage and torch.FloatStorage(4) or torch.FloatTensor(4):storage()
    local e = err_of(torch.FloatTensor, s, 1, torch.LongStorage({ 3 }), torch.LongStorage({ 1 << 62 }))
    assert.matches('past element 2%^63', e)
    assert.matches('offset %-9223372036854775808 out of range',
                   err_of(torch.FloatTensor, s, math.mininteger))
  end)
end)

describe('extreme integers as arguments', function()
  local F = torch.FloatTensor(2, 3)

  it('narrow names the start that is out of range', function()
    assert.matches("bad argument #2 to 'narrow' %(start %-9223372036854775808 out of range for dimension 1 of size 2%)",
                   err_of(function() return F:narrow(1, math.mininteger, 1) end))
    -- called through pcall, Lua finds the name in package.loaded (and counts self)
    assert.matches("bad argument #3 to 'torch.Tensor.narrow' %(start %-9223372036854775808",
                   err_of(F.narrow, F, 1, math.mininteger, 1))
    assert.matches('out of range', err_of(F.narrow, F, 1, math.maxinteger, 1))
    assert.matches('out of bounds', err_of(F.narrow, F, 1, 2, math.maxinteger))
    assert.equals(1, F:narrow(1, 2, 1):size(1))
    assert.equals(0, F:narrow(1, 3, 0):size(1))  -- an empty narrow at the end, as PyTorch allows
  end)

  it('unsqueeze names the dimension', function()
    assert.matches("#1 to 'unsqueeze' %(dimension 2147483648 out of range", err_of(function() return F:unsqueeze(2^31) end))
    assert.matches("#2 to 'torch.Tensor.unsqueeze' %(dimension 2147483648 out of range", err_of(F.unsqueeze, F, 2^31))
    assert.matches('dimension %-9223372036854775808 out of range', err_of(F.unsqueeze, F, math.mininteger))
    assert.equals(3, F:unsqueeze(-1):dim())
  end)

  it('chunk and split with huge counts give the whole tensor in one piece', function()
    local c = F:chunk(math.maxinteger)
    assert.equals(2, #c)  -- as PyTorch: at most one row per chunk
    local s = F:split(math.maxinteger)
    assert.equals(1, #s)
    assert.same({ 2, 3 }, s[1]:size():totable())
    assert.equals(2, #F:split(1))
    assert.equals(3, #torch.FloatTensor(7):chunk(3))  -- 3 + 3 + 1
  end)

  it('crossEntropy reports the class it was given', function()
    assert.matches('target %-9223372036854775808 is out of range',
                   err_of(torch.crossEntropy, torch.FloatTensor(1, 3), math.mininteger))
    assert.matches('target 9223372036854775807 is out of range',
                   err_of(torch.crossEntropy, torch.FloatTensor(1, 3), math.maxinteger))
  end)

  it('cuda.setDevice names a device that cannot exist', function()
    assert.matches('cuda.setDevice: ', err_of(torch.cuda.setDevice, 2^31))
    assert.matches('cuda.setDevice: ', err_of(torch.cuda.setDevice, math.mininteger))
  end)
end)

describe('sizes that allocate', function()
  it('nn.LSTM refuses layers that cannot fit in memory, at once, saying how much', function()
    local t0 = os.clock()
    local e = err_of(nn.LSTM, 1, 1, 1 << 62)
    assert.matches('nn.LSTM: the parameters and their gradients would need [%d.e+]+ GB, more than this machine\'s memory', e)
    assert.matches('nn.LSTM: .* GB', err_of(nn.LSTM, 1 << 40, 1 << 40))
    assert.matches('nn.LSTMCell: .* GB', err_of(nn.LSTMCell, 1 << 31, 1 << 31))
    assert.is_true(os.clock() - t0 < 5)
    assert.equals(3, nn.LSTM(2, 3, 3).numLayers)  -- an ordinary one still builds
  end)

  it('one tensor larger than the machine is refused before it is allocated', function()
    local limit = torch.allocatorStats().limitBytes
    assert.is_true(limit > 0)
    local n = limit // 4 + 1024
    local e = err_of(torch.FloatTensor, n)
    assert.matches('the tensor would need [%d.e+]+ GB, more than this machine\'s memory', e)
  end)
end)

describe('an interrupt inside a module call', function()
  -- Ctrl-C raises an error from a hook at whatever instruction runs; here a count hook does
  -- the same at every instruction offset of a call in turn. Afterwards the Torch7 path must
  -- still record a graph (the counter that says "inside a PyTorch-style call" is back to 0).
  it('never leaves autograd broken for later calls', function()
    local m = nn.Linear(3, 2)
    local x, g = torch.randn(4, 3), torch.ones(4, 2)
    local interrupted = 0
    local armed = false
    local function hook()
      if armed then
        armed = false
        debug.sethook()
        error('interrupted!')
      end
    end
    for n = 1, 400 do
      local inner_ok = true
      -- the outer pcall catches an interrupt that lands just after the inner one returns
      pcall(function()
        armed = true
        debug.sethook(hook, '', n)
        inner_ok = pcall(m, x)
        armed = false
        debug.sethook()
      end)
      armed = false
      debug.sethook()
      if not inner_ok then interrupted = interrupted + 1 end
      m:zeroGradParameters()
      m:forward(x)
      local gi = m:backward(x, g)   -- "backward needs the graph of forward" once the counter is stuck
      assert.same({ 4, 3 }, gi:size():totable())
    end
    assert.is_true(interrupted > 50)  -- the hook did land inside calls
  end)
end)
