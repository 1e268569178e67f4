-- Elementwise ops on device tensors (gpu/pointwise.cu, routed from core/pointwise.c): every
-- unary, binary, number-operand, comparison, clamp / leakyRelu / addcmul / addcdiv / where /
-- maskedFill / maskedSelect / maskedCopy form against the host's result of the same op on the
-- same values, for each dtype the host supports, on contiguous, transposed, narrowed and
-- expanded inputs and with broadcasting; the in-place and [res,] forms and the operators; the
-- integer errors and the mixed-device errors with the host's messages; and gradients of a
-- small graph on device tensors equal to the host's. Pending without a device (in the
-- `make CUDA=emu` build the device is the host emulation). Uses only what
-- tools/minibusted.lua supports.
local torch = require 'torch'
local H = require 'helpers'

local gpu_it = H.gpu_it

local FLOATS = { 'float32', 'float64' }
local ALL = { 'float32', 'float64', 'int64', 'uint8' }
local ctor = {
  float32 = torch.FloatTensor, float64 = torch.DoubleTensor,
  int64 = torch.LongTensor, uint8 = torch.ByteTensor,
}
-- |gpu - cpu| <= atol + rtol |cpu|: floats within a few ulp (the device's expf, tanhf, powf
-- are not the host's polynomials), integers exactly
local TOL = {
  float32 = { 1e-5, 1e-6 }, float64 = { 1e-12, 1e-14 }, int64 = { 0, 0 }, uint8 = { 0, 0 },
}

local function is_float(dt) return dt == 'float32' or dt == 'float64' end

-- the device type name of a host tensor's type: torch.FloatTensor -> torch.CudaTensor
local function cuda_type(t)
  local name = t:type():gsub('^torch%.Float', 'torch.'):gsub('^torch%.', 'torch.Cuda')
  return name
end

-- g (a device tensor) holds what the host computed in c: same type family, shape, values
local function same(g, c, dt, what)
  assert(torch.isTensor(g) and g:isCuda(), (what or 'result') .. ' is not on the device')
  assert.are.equal(cuda_type(c), g:type())
  local tol = TOL[dt]
  local h = g:cpu()
  if tol[1] == 0 and tol[2] == 0 then
    assert.are.same(c:size():totable(), h:size():totable())
    assert.are.equal(0, h:ne(c):sum(), (what or 'result') .. ' differs from the host')
  else
    H.close(h, c, tol[1], tol[2])
  end
end

-- a host tensor of dtype dt and the given size; domain 'pos' = positive (and nonzero) values
local function gen(dt, domain, ...)
  if is_float(dt) then
    local x = domain == 'pos' and torch.rand(...):add(0.5) or torch.randn(...):mul(2)
    return dt == 'float64' and x:double() or x
  elseif dt == 'int64' then
    local x = torch.rand(...):mul(41):floor():add(-20):long()
    if domain == 'pos' then x = x:abs():add(1) end
    if domain == 'nonzero' then x:maskedFill(x:eq(0), 7) end
    if domain == 'small' then x = torch.rand(...):mul(6):floor():long() end
    return x
  else
    local x = torch.rand(...):mul(256):floor():byte()
    if domain == 'pos' or domain == 'nonzero' then x:maskedFill(x:eq(0), 3) end
    if domain == 'small' then x = torch.rand(...):mul(6):floor():byte() end
    return x
  end
end

-- the same 3x5 view of a host base and of its device copy: contiguous, transposed, narrowed,
-- expanded (stride 0)
local VIEWS = {
  { 'contiguous', { 3, 5 }, function(x) return x end },
  { 'transposed', { 5, 3 }, function(x) return x:t() end },
  { 'narrowed', { 3, 8 }, function(x) return x:narrow(2, 2, 5) end },
  { 'expanded', { 1, 5 }, function(x) return x:expand(3, 5) end },
}

-- calls fn(name, host view, device view) for each view of a fresh input
local function each_view(dt, domain, fn)
  for _, v in ipairs(VIEWS) do
    local base = gen(dt, domain, table.unpack(v[2]))
    fn(v[1], v[3](base), v[3](base:cuda()))
  end
end

-- an error's message without the "file:line: " prefix
local function err(f)
  return (H.error_of(f):gsub('^[^:]*:%d+: ', ''))
end

before_each(function() torch.manualSeed(31) end)

describe('CUDA pointwise: unary', function()
  local FLOAT_OPS = {
    neg = 'any', abs = 'any', sign = 'any', exp = 'any', log = 'pos', log1p = 'pos',
    sqrt = 'pos', rsqrt = 'pos', sigmoid = 'any', tanh = 'any', relu = 'any', floor = 'any',
    ceil = 'any', round = 'any', trunc = 'any', frac = 'any', sin = 'any', cos = 'any',
    square = 'any', reciprocal = 'pos', cinv = 'pos', tan = 'any', asin = 'any', acos = 'any',
    atan = 'any', sinh = 'any', cosh = 'any', expm1 = 'any', erf = 'any', erfc = 'any',
    lgamma = 'any', digamma = 'any',
  }
  local INT_OPS = { 'neg', 'abs', 'sign', 'relu', 'floor', 'ceil', 'round', 'trunc', 'frac',
                    'square' }

  for _, dt in ipairs(FLOATS) do
    gpu_it('every op, ' .. dt .. ', on contiguous, transposed, narrowed and expanded inputs',
           function()
      for name, domain in pairs(FLOAT_OPS) do
        each_view(dt, domain, function(view, h, d)
          same(torch[name](d), torch[name](h), dt, name .. ' ' .. view)
        end)
      end
    end)

    gpu_it('in-place (x:op()) and [res,] forms, ' .. dt, function()
      for name, domain in pairs(FLOAT_OPS) do
        local h = gen(dt, domain, 4, 6)
        local d = h:cuda()
        local hv, dv = h:narrow(2, 2, 3), d:narrow(2, 2, 3)   -- in place on a view
        assert.are.equal(dv, dv[name](dv))
        hv[name](hv)
        same(d, h, dt, name .. ' in place')
        local res = ctor[dt](2):cuda()                       -- resized by the op
        local x = gen(dt, domain, 3, 4)
        assert.are.equal(res, torch[name](res, x:cuda()))
        same(res, torch[name](x), dt, name .. ' [res,]')
      end
    end)

    gpu_it('special values (halves, signed zeros, infinities, NaN, huge), ' .. dt, function()
      local h = ctor[dt]({ -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0, -0.0, 1 / 0, -1 / 0, 0 / 0,
                           1e30, -1e30, 1e-30, 100, -100 })
      for name in pairs(FLOAT_OPS) do
        same(torch[name](h:cuda()), torch[name](h), dt, name)
      end
      -- round is half to even, like the host
      same(torch.round(h:narrow(1, 1, 6):cuda()), ctor[dt]({ -2, -2, -0.0, 0, 2, 2 }), dt)
    end)
  end

  for _, dt in ipairs({ 'int64', 'uint8' }) do
    gpu_it('integer ops, ' .. dt .. ', exactly, and float-only ops refused alike', function()
      for _, name in ipairs(INT_OPS) do
        each_view(dt, 'any', function(view, h, d)
          same(torch[name](d), torch[name](h), dt, name .. ' ' .. view)
        end)
      end
      -- wrapping at the ends of the range
      local h = dt == 'int64' and torch.LongTensor({ math.mininteger, math.maxinteger, -3, 0 })
                                or torch.ByteTensor({ 0, 1, 255, 16 })
      for _, name in ipairs(INT_OPS) do same(torch[name](h:cuda()), torch[name](h), dt, name) end
      for _, name in ipairs({ 'exp', 'log', 'sqrt', 'sigmoid', 'tanh', 'sin', 'reciprocal' }) do
        local x = gen(dt, 'pos', 3)
        assert.are.equal(err(function() return torch[name](x) end),
                         err(function() return torch[name](x:cuda()) end))
      end
    end)
  end

  gpu_it('unary minus and the results are new device tensors', function()
    local h = torch.randn(3, 4)
    local d = h:cuda()
    same(-d, -h, 'float32')
    same(-(d:t()), -(h:t()), 'float32')
    same(-torch.LongTensor({ 3, -4 }):cuda(), torch.LongTensor({ -3, 4 }), 'int64')
    local e = torch.exp(d)
    assert.is_false(e == d)
    same(d, h, 'float32', 'input left alone')
  end)
end)

describe('CUDA pointwise: binary', function()
  local FLOAT_OPS = {
    { 'add', 'any', 'any' }, { 'csub', 'any', 'any' }, { 'cmul', 'any', 'any' },
    { 'cdiv', 'any', 'pos' }, { 'cpow', 'pos', 'any' }, { 'cmax', 'any', 'any' },
    { 'cmin', 'any', 'any' }, { 'maximum', 'any', 'any' }, { 'minimum', 'any', 'any' },
    { 'fmod', 'any', 'pos' }, { 'atan2', 'any', 'any' }, { 'remainder', 'any', 'any' },
  }
  local INT_OPS = {
    { 'add', 'any', 'any' }, { 'csub', 'any', 'any' }, { 'cmul', 'any', 'any' },
    { 'cdiv', 'any', 'nonzero' }, { 'cpow', 'any', 'small' }, { 'cmax', 'any', 'any' },
    { 'cmin', 'any', 'any' }, { 'fmod', 'any', 'nonzero' }, { 'remainder', 'any', 'nonzero' },
  }
  -- shapes b broadcasts from against a 3x5 a
  local BCAST = { { 5 }, { 3, 1 }, { 1, 5 }, { 2, 3, 5 }, {} }

  local function check_ops(dt, ops)
    for _, op in ipairs(ops) do
      local name, da, db = op[1], op[2], op[3]
      -- every view of a against every view of b
      for _, va in ipairs(VIEWS) do
        for _, vb in ipairs(VIEWS) do
          local ba, bb = gen(dt, da, table.unpack(va[2])), gen(dt, db, table.unpack(vb[2]))
          local ha, hb = va[3](ba), vb[3](bb)
          local ga, gb = va[3](ba:cuda()), vb[3](bb:cuda())
          same(torch[name](ga, gb), torch[name](ha, hb), dt,
               ('%s %s x %s'):format(name, va[1], vb[1]))
        end
      end
      -- broadcasting b (and a)
      for _, shape in ipairs(BCAST) do
        local ha = gen(dt, da, 3, 5)
        local hb = #shape == 0 and gen(dt, db, 1):view(1):squeeze() or gen(dt, db, table.unpack(shape))
        same(torch[name](ha:cuda(), hb:cuda()), torch[name](ha, hb), dt,
             name .. ' broadcast [' .. table.concat(shape, 'x') .. ']')
        local ra = #shape == 0 and gen(dt, da, 1):view(1):squeeze() or gen(dt, da, table.unpack(shape))
        local rb = gen(dt, db, 3, 5)
        same(torch[name](ra:cuda(), rb:cuda()), torch[name](ra, rb), dt,
             name .. ' broadcast (reversed)')
      end
      -- in place and [res,]
      local ha, hb = gen(dt, da, 3, 5), gen(dt, db, 5)
      local ga = ha:cuda()
      assert.are.equal(ga, ga[name](ga, hb:cuda()))
      ha[name](ha, hb)
      same(ga, ha, dt, name .. ' in place')
      local res = ctor[dt](7):cuda()
      local x, y = gen(dt, da, 2, 3), gen(dt, db, 2, 3)
      assert.are.equal(res, torch[name](res, x:cuda(), y:cuda()))
      same(res, torch[name](x, y), dt, name .. ' [res,]')
    end
  end

  for _, dt in ipairs(FLOATS) do
    gpu_it('tensor op tensor, ' .. dt .. ', every layout and broadcast', function()
      check_ops(dt, FLOAT_OPS)
    end)
  end
  gpu_it('tensor op tensor, int64, exactly', function() check_ops('int64', INT_OPS) end)
  gpu_it('tensor op tensor, uint8, exactly (wrapping)', function() check_ops('uint8', INT_OPS) end)

  for _, dt in ipairs(ALL) do
    gpu_it('add/csub with alpha, ' .. dt, function()
      local ha, hb = gen(dt, 'any', 3, 5), gen(dt, 'any', 3, 5)
      local alphas = is_float(dt) and { 2.5, -0.5, 1 } or { 3, -2, 1 }
      for _, al in ipairs(alphas) do
        same(torch.add(ha:cuda(), al, hb:cuda()), torch.add(ha, al, hb), dt, 'add alpha')
        same(torch.csub(ha:cuda(), al, hb:cuda():t():t()), torch.csub(ha, al, hb), dt, 'csub alpha')
        local g = ha:cuda()
        g:add(al, hb:cuda():narrow(1, 2, 1))
        same(g, ha:clone():add(al, hb:narrow(1, 2, 1)), dt, 'add alpha in place, broadcast')
      end
    end)

    gpu_it('tensor op number and number op tensor, ' .. dt, function()
      local nums = is_float(dt) and { 2.5, -1.25, 0.5, 2, -1, 3 } or { 3, 2, -1, 2.5, 300, -7 }
      local h = gen(dt, is_float(dt) and 'pos' or 'nonzero', 3, 5)
      for _, view in ipairs({ function(x) return x end, function(x) return x:t() end }) do
        local hv, gv = view(h), view(h:cuda())
        for _, s in ipairs(nums) do
          for _, name in ipairs({ 'add', 'csub', 'mul', 'cmax', 'cmin' }) do
            same(torch[name](gv, s), torch[name](hv, s), dt, name .. ' ' .. s)
          end
          if is_float(dt) or (s ~= 0 and math.floor(s) ~= 0) then
            same(torch.div(gv, s), torch.div(hv, s), dt, 'div ' .. s)
            same(torch.fmod(gv, s), torch.fmod(hv, s), dt, 'fmod ' .. s)
          end
          if is_float(dt) then
            same(torch.atan2(gv, s), torch.atan2(hv, s), dt, 'atan2 ' .. s)
            same(torch.pow(gv, s), torch.pow(hv, s), dt, 'pow ' .. s)   -- 2, 0.5, -1 special
            same(torch.pow(math.abs(s), gv), torch.pow(math.abs(s), hv), dt, 'number ^ tensor')
            same(s / gv, s / hv, dt, 'number / tensor')
          elseif s >= 0 then
            same(torch.pow(gv, s), torch.pow(hv, s), dt, 'pow ' .. s)
          end
          -- the operators, numbers on either side
          same(gv + s, hv + s, dt, '+')
          same(s + gv, s + hv, dt, 'number +')
          same(gv - s, hv - s, dt, '-')
          same(s - gv, s - hv, dt, 'number -')
          same(gv * s, hv * s, dt, '*')
          same(s * gv, s * hv, dt, 'number *')
        end
      end
      -- in place with a number, and [res,]
      local g = h:cuda()
      g:add(2):mul(3)
      same(g, h:clone():add(2):mul(3), dt, 'in place with numbers')
      local res = ctor[dt](1):cuda()
      torch.mul(res, h:cuda(), 2)
      same(res, torch.mul(h, 2), dt, '[res,] with a number')
      local p = is_float(dt) and h or torch.abs(h)   -- no negative integer exponents
      torch.pow(res, 2, p:cuda():narrow(1, 1, 2))
      same(res, torch.pow(2, p:narrow(1, 1, 2)), dt, '[res,] number ^ tensor')
    end)
  end

  gpu_it('operators between device tensors (+ - / ^, unary minus)', function()
    for _, dt in ipairs(FLOATS) do
      local a, b = gen(dt, 'pos', 3, 4), gen(dt, 'any', 4)
      local ga, gb = a:cuda(), b:cuda()
      same(ga + gb, a + b, dt, '+')
      same(ga - gb, a - b, dt, '-')
      same(ga / gb, a / b, dt, '/')
      same(ga ^ gb, a ^ b, dt, '^')
      same(-ga, -a, dt, 'unary -')
      same((ga + gb) / 2 - ga ^ 2, (a + b) / 2 - a ^ 2, dt, 'expression')
    end
    local l = torch.LongTensor({ -7, 7, 9, math.maxinteger })
    same(l:cuda() + 1, l + 1, 'int64', 'int64 + integer (exact, wraps)')
    same(l:cuda() / 2, l / 2, 'int64', 'int64 / integer (truncates)')
    same(3 - l:cuda(), 3 - l, 'int64', 'integer - int64')
    same(l:cuda() * 2.7, l * 2.7, 'int64', 'int64 * non-integer number (truncated first)')
    local b = torch.ByteTensor({ 0, 1, 200, 255 })
    same(b:cuda() + 100, b + 100, 'uint8', 'uint8 + number wraps')
    same(b:cuda() - 1, b - 1, 'uint8', 'uint8 - number wraps')
    same(-b:cuda(), -b, 'uint8', 'uint8 negation wraps')
  end)

  gpu_it('integer division by zero, INT64_MIN / -1 and negative powers: the host errors', function()
    local function both(f, ...)
      local args = { ... }
      local dargs = {}
      for i, v in ipairs(args) do dargs[i] = torch.isTensor(v) and v:cuda() or v end
      local he = err(function() return f(table.unpack(args)) end)
      local ge = err(function() return f(table.unpack(dargs)) end)
      assert.are.equal(he, ge)
      return ge
    end
    local l, z = torch.LongTensor({ 4, -6, 8 }), torch.LongTensor({ 1, 0, 2 })
    H.matches(both(torch.cdiv, l, z), 'division by zero')
    H.matches(both(torch.fmod, l, z), 'division by zero')
    H.matches(both(torch.div, l, 0), 'division by zero')
    H.matches(both(torch.div, l, 0.0), 'division by zero')
    H.matches(both(torch.fmod, l, 0.0), 'division by zero')
    H.matches(both(function(a) return 2.0 / a end, z), 'division by zero')
    H.matches(both(function(a) return 2 / a end, z), 'division by zero')
    local m = torch.LongTensor({ math.mininteger, 3 })
    H.matches(both(torch.cdiv, m, torch.LongTensor({ -1, -1 })), 'INT64_MIN / %-1')
    H.matches(both(torch.div, m, -1), 'INT64_MIN / %-1')
    H.matches(both(torch.div, m, -1.0), 'INT64_MIN / %-1')
    H.matches(both(function(a) return torch.div(a, -1.0) end, torch.LongTensor({ math.mininteger })),
              'INT64_MIN')
    H.matches(both(torch.cpow, l, torch.LongTensor({ 1, -1, 2 })), 'negative power')
    H.matches(both(torch.pow, l, -2.0), 'negative power')
    H.matches(both(torch.pow, l, -3), 'negative power')
    H.matches(both(torch.pow, 2.0, torch.LongTensor({ 1, -1 })), 'negative power')
    local b = torch.ByteTensor({ 3, 0 })
    H.matches(both(torch.cdiv, torch.ByteTensor({ 6, 7 }), b), 'division by zero')
    H.matches(both(torch.div, torch.ByteTensor({ 6, 7 }), 0), 'division by zero')
    -- the allowed edge cases agree: INT64_MIN % -1 = 0, x % -1, 0 ^ 0, empty tensors
    same(torch.fmod(m:cuda(), torch.LongTensor({ -1, -1 }):cuda()),
         torch.fmod(m, torch.LongTensor({ -1, -1 })), 'int64')
    same(torch.cpow(torch.LongTensor({ 0, 3, -2 }):cuda(), torch.LongTensor({ 0, 40, 63 }):cuda()),
         torch.cpow(torch.LongTensor({ 0, 3, -2 }), torch.LongTensor({ 0, 40, 63 })), 'int64')
    same(torch.div(torch.LongTensor(0):cuda(), 0), torch.div(torch.LongTensor(0), 0), 'int64')
    -- nothing was written into an in-place operand on the error
    local g = l:cuda()
    assert.has_error(function() g:cdiv(z:cuda()) end)
    same(g, l, 'int64')
  end)

  gpu_it('checks the operands as the host does', function()
    local f, d = torch.randn(3), torch.randn(3):double()
    assert.are.equal(err(function() return torch.add(f, d) end),
                     err(function() return torch.add(f:cuda(), d:cuda()) end))
    H.matches(err(function() return torch.add(f:cuda(), d:cuda()) end), 'one type')
    assert.are.equal(err(function() return torch.add(torch.randn(3, 4), torch.randn(2, 4)) end),
                     err(function() return torch.add(torch.randn(3, 4):cuda(),
                                                     torch.randn(2, 4):cuda()) end))
    local x = torch.randn(3, 1)
    assert.are.equal(err(function() return x:add(torch.randn(3, 4)) end),
                     err(function() return x:cuda():add(torch.randn(3, 4):cuda()) end))
    assert.are.equal(err(function() return torch.atan2(torch.LongTensor(2), torch.LongTensor(2)) end),
                     err(function() return torch.atan2(torch.LongTensor(2):cuda(),
                                                       torch.LongTensor(2):cuda()) end))
    -- writing through an expanded result is refused
    local e = torch.zeros(1, 4):cuda():expand(3, 4)
    H.matches(err(function() return torch.add(e, torch.randn(3, 4):cuda(), 1) end), 'expanded')
  end)

  gpu_it('mixed devices: a clear error, nothing computed', function()
    local h, g = torch.randn(3), torch.randn(3):cuda()
    for _, f in ipairs({
      function() return g + h end, function() return h + g end,
      function() return torch.cmul(g, h) end, function() return torch.gt(g, h) end,
      function() return g:add(h) end, function() return torch.where(h:gt(0), g, g) end,
      function() return torch.addcmul(g, 1, g, h) end,
      function() return g:maskedFill(h:gt(0), 1) end,
    }) do
      H.matches(err(f), 'expected all tensors on one device', 'CUDA device 1', 'the CPU')
    end
    -- a result tensor on the other device
    H.matches(err(function() return torch.add(torch.zeros(3), g, g) end),
              'the result tensor is on the CPU but the inputs are on CUDA device 1')
    H.matches(err(function() return torch.exp(torch.zeros(3):cuda(), h) end),
              'the result tensor is on CUDA device 1 but the inputs are on the CPU')
  end)

  gpu_it('a result that overlaps an input goes through a temporary, as on the host', function()
    local h = torch.randn(4, 4)
    local g = h:cuda()
    -- res is the transpose of its own input
    torch.add(g, g:t(), 1)
    torch.add(h, h:t(), 1)
    same(g, h, 'float32')
    local hv, gv = h:narrow(1, 2, 3), g:narrow(1, 2, 3)
    torch.cmul(hv, h:narrow(1, 1, 3), 2)
    torch.cmul(gv, g:narrow(1, 1, 3), 2)
    same(g, h, 'float32')
  end)
end)

describe('CUDA pointwise: comparisons', function()
  local OPS = { 'eq', 'ne', 'lt', 'le', 'gt', 'ge' }
  for _, dt in ipairs(ALL) do
    gpu_it('tensor with tensor and with numbers, ' .. dt .. ' (ByteTensor results)', function()
      for _, name in ipairs(OPS) do
        each_view(dt, 'small', function(view, h, d)
          local o = gen(dt, 'small', 3, 5)
          same(d[name](d, o:cuda()), h[name](h, o), 'uint8', name .. ' ' .. view)
          same(torch[name](d, o:cuda():narrow(1, 2, 1)), torch[name](h, o:narrow(1, 2, 1)),
               'uint8', name .. ' broadcast')
          for _, s in ipairs({ 0, 2, 2.5, -1, -1.5, 255, 256, 300, -1e20, 1e20, 0 / 0 }) do
            same(d[name](d, s), h[name](h, s), 'uint8', ('%s %s %s'):format(name, view, s))
          end
        end)
        -- [res,]
        local res = torch.ByteTensor(1):cuda()
        local a, b = gen(dt, 'small', 2, 3), gen(dt, 'small', 2, 3)
        assert.are.equal(res, res[name](res, a:cuda(), b:cuda()))
        same(res, a[name](a, b), 'uint8', name .. ' [res,]')
        res[name](res, a:cuda(), 2)
        same(res, a[name](a, 2), 'uint8', name .. ' [res,] number')
      end
    end)
  end

  gpu_it('NaN and infinities compare as on the host', function()
    local h = torch.DoubleTensor({ 0 / 0, 1 / 0, -1 / 0, 0, -0.0, 1 })
    local o = torch.DoubleTensor({ 0 / 0, 1 / 0, 1, -0.0, 0, 0 / 0 })
    for _, name in ipairs(OPS) do
      same(torch[name](h:cuda(), o:cuda()), torch[name](h, o), 'uint8', name)
      same(torch[name](h:cuda(), 0 / 0), torch[name](h, 0 / 0), 'uint8', name .. ' NaN')
    end
  end)

  gpu_it('checks the result dtype and operand types as the host does', function()
    local a = torch.randn(3)
    assert.are.equal(err(function() return torch.gt(torch.FloatTensor(3), a, a) end),
                     err(function() return torch.gt(torch.FloatTensor(3):cuda(), a:cuda(), a:cuda()) end))
    assert.are.equal(err(function() return torch.gt(a, a:double()) end),
                     err(function() return torch.gt(a:cuda(), a:double():cuda()) end))
  end)
end)

describe('CUDA pointwise: clamp, leakyRelu, addcmul, addcdiv, where, maskedFill', function()
  for _, dt in ipairs(ALL) do
    gpu_it('clamp, ' .. dt, function()
      local bounds = is_float(dt) and { { -1, 2 }, { -1, nil }, { nil, 1 }, { 2, -1 }, { -0.5, 0.5 } }
                                   or { { -3, 8 }, { 2.5, 7.5 }, { -1e30, 1e30 }, { 300, nil },
                                        { nil, -5 }, { 9, 4 } }
      for _, bd in ipairs(bounds) do
        local lo, hi = bd[1], bd[2]
        each_view(dt, 'any', function(view, h, d)
          same(torch.clamp(d, lo, hi), torch.clamp(h, lo, hi), dt,
               ('clamp(%s, %s) %s'):format(lo, hi, view))
        end)
      end
      local h = gen(dt, 'any', 3, 4)
      local g = h:cuda()
      assert.are.equal(g, g:clamp(-1, 2))
      same(g, h:clone():clamp(-1, 2), dt, 'in place')
      local res = ctor[dt](1):cuda()
      torch.clamp(res, h:cuda(), 0, 1)
      same(res, torch.clamp(h, 0, 1), dt, '[res,]')
    end)
  end

  gpu_it('clamp lets NaN through; NaN bounds are no bounds', function()
    local h = torch.FloatTensor({ 0 / 0, -5, 5, 0.5 })
    same(torch.clamp(h:cuda(), -1, 1), torch.clamp(h, -1, 1), 'float32')
    same(torch.clamp(h:cuda(), 0 / 0, 1), torch.clamp(h, 0 / 0, 1), 'float32')
    same(torch.clamp(h:cuda(), -1, 0 / 0), torch.clamp(h, -1, 0 / 0), 'float32')
  end)

  for _, dt in ipairs(FLOATS) do
    gpu_it('leakyRelu and addcdiv, ' .. dt, function()
      each_view(dt, 'any', function(view, h, d)
        same(torch.leakyRelu(d, 0.2), torch.leakyRelu(h, 0.2), dt, 'leakyRelu ' .. view)
        same(torch.leakyRelu(d), torch.leakyRelu(h), dt, 'leakyRelu default ' .. view)
        local b, c = gen(dt, 'any', 3, 5), gen(dt, 'pos', 5)
        same(torch.addcdiv(d, 0.5, b:cuda(), c:cuda()), torch.addcdiv(h, 0.5, b, c), dt,
             'addcdiv ' .. view)
        same(torch.addcdiv(d, b:cuda(), c:cuda()), torch.addcdiv(h, b, c), dt, 'addcdiv value 1')
      end)
      local h, b, c = gen(dt, 'any', 3, 4), gen(dt, 'any', 3, 4), gen(dt, 'pos', 3, 1)
      local g = h:cuda()
      g:addcdiv(0.5, b:cuda(), c:cuda())
      same(g, h:clone():addcdiv(0.5, b, c), dt, 'addcdiv in place')
      g = h:cuda()
      g:leakyRelu(0.3)
      same(g, h:clone():leakyRelu(0.3), dt, 'leakyRelu in place')
    end)
  end

  gpu_it('leakyRelu and addcdiv refuse integers as the host does', function()
    local l = torch.LongTensor(2)
    assert.are.equal(err(function() return torch.leakyRelu(l) end),
                     err(function() return torch.leakyRelu(l:cuda()) end))
    assert.are.equal(err(function() return torch.addcdiv(l, l, l) end),
                     err(function() return torch.addcdiv(l:cuda(), l:cuda(), l:cuda()) end))
  end)

  for _, dt in ipairs(ALL) do
    gpu_it('addcmul, ' .. dt .. ', with broadcasting', function()
      local v = is_float(dt) and 0.5 or 3
      each_view(dt, 'any', function(view, h, d)
        local b, c = gen(dt, 'any', 3, 5), gen(dt, 'any', 3, 1)
        same(torch.addcmul(d, v, b:cuda(), c:cuda()), torch.addcmul(h, v, b, c), dt,
             'addcmul ' .. view)
        same(torch.addcmul(d, b:cuda():t():t(), c:cuda()), torch.addcmul(h, b, c), dt,
             'addcmul value 1 ' .. view)
      end)
      local h, b, c = gen(dt, 'any', 3, 4), gen(dt, 'any', 4), gen(dt, 'any', 3, 4)
      local g = h:cuda()
      assert.are.equal(g, g:addcmul(v, b:cuda(), c:cuda()))
      same(g, h:clone():addcmul(v, b, c), dt, 'addcmul in place')
      local res = ctor[dt](2):cuda()
      torch.addcmul(res, h:cuda(), v, b:cuda(), c:cuda())
      same(res, torch.addcmul(h, v, b, c), dt, 'addcmul [res,]')
    end)

    gpu_it('where and maskedFill, ' .. dt, function()
      each_view(dt, 'any', function(view, h, d)
        local o = gen(dt, 'any', 3, 5)
        local cond = torch.rand(3, 5):gt(0.5)
        same(torch.where(cond:cuda(), d, o:cuda()), torch.where(cond, h, o), dt, 'where ' .. view)
        local c1 = torch.rand(1, 5):gt(0.5)     -- broadcast condition and operand
        same(torch.where(c1:cuda(), d, o:cuda():narrow(1, 1, 1)),
             torch.where(c1, h, o:narrow(1, 1, 1)), dt, 'where broadcast ' .. view)
        same(torch.where(cond:cuda(), d, 7), torch.where(cond, h, 7), dt, 'where number')
        same(torch.where(cond:cuda(), 2, d), torch.where(cond, 2, h), dt, 'where number first')
      end)
      -- maskedFill on a transposed view with a broadcast mask
      local h = gen(dt, 'any', 5, 3)
      local g = h:cuda()
      local m = torch.rand(1, 5):gt(0.5)
      local gt = g:t()
      assert.are.equal(gt, gt:maskedFill(m:cuda(), 7))
      h:t():maskedFill(m, 7)
      same(g, h, dt, 'maskedFill')
      local full = torch.rand(5, 3):gt(0.3)
      g:maskedFill(full:cuda(), 2)
      h:maskedFill(full, 2)
      same(g, h, dt, 'maskedFill full mask')
      local res = ctor[dt](1):cuda()
      local cond = torch.rand(5, 3):gt(0.5)
      torch.where(res, cond:cuda(), g, h:cuda():mul(2))
      same(res, torch.where(cond, h, h:clone():mul(2)), dt, 'where [res,]')
    end)
  end

  for _, dt in ipairs(ALL) do
    gpu_it('maskedSelect and maskedCopy, ' .. dt .. ', in row-major order', function()
      each_view(dt, 'any', function(view, h, d)
        local m = torch.rand(3, 5):gt(0.4)
        same(d:maskedSelect(m:cuda()), h:maskedSelect(m), dt, 'maskedSelect ' .. view)
        local m1 = torch.rand(1, 5):gt(0.4)                 -- broadcast mask
        same(torch.maskedSelect(d, m1:cuda()), torch.maskedSelect(h, m1), dt, 'broadcast mask')
        local res = ctor[dt](9):cuda()
        torch.maskedSelect(res, d, m:cuda())
        same(res, torch.maskedSelect(h, m), dt, 'maskedSelect [res,]')
      end)
      -- the tensor broadcast to the mask's shape, an empty selection, a full one
      local h = gen(dt, 'any', 5)
      local m = torch.rand(3, 5):gt(0.5)
      same(h:cuda():maskedSelect(m:cuda()), h:maskedSelect(m), dt, 'tensor broadcast')
      same(h:cuda():maskedSelect(torch.ByteTensor(5):zero():cuda()),
           h:maskedSelect(torch.ByteTensor(5):zero()), dt, 'empty selection')
      same(h:cuda():maskedSelect(torch.ByteTensor(5):fill(1):cuda()), h, dt, 'full selection')
      -- maskedCopy into a transposed view, mask broadcast, source longer than needed
      local t = gen(dt, 'any', 5, 3)
      local g = t:cuda()
      local mc = torch.rand(1, 5):gt(0.3)
      local src = gen(dt, 'any', 20)
      local gt = g:t()
      assert.are.equal(gt, gt:maskedCopy(mc:cuda(), src:cuda()))
      t:t():maskedCopy(mc, src)
      same(g, t, dt, 'maskedCopy')
      -- a non-contiguous source, and a source that is the destination itself
      local s2 = gen(dt, 'any', 4, 6)
      local full = torch.rand(5, 3):gt(0.5)
      g:maskedCopy(full:cuda(), s2:cuda():t())
      t:maskedCopy(full, s2:t())
      same(g, t, dt, 'maskedCopy strided source')
      g:maskedCopy(full:cuda(), g:t())
      t:maskedCopy(full, t:t())
      same(g, t, dt, 'maskedCopy from itself')
    end)
  end

  gpu_it('maskedSelect / maskedCopy errors and maskedSelect\'s gradient', function()
    local a = torch.randn(3, 4)
    local m = a:gt(0)
    assert.are.equal(err(function() return a:maskedSelect(a) end),
                     err(function() return a:cuda():maskedSelect(a:cuda()) end))
    assert.are.equal(err(function() return a:clone():maskedCopy(m, torch.randn(1)) end),
                     err(function() return a:cuda():maskedCopy(m:cuda(), torch.randn(1):cuda()) end))
    assert.are.equal(err(function() return a:maskedSelect(torch.ByteTensor(2, 4):fill(1)) end),
                     err(function() return a:cuda():maskedSelect(torch.ByteTensor(2, 4):fill(1):cuda()) end))
    H.matches(err(function() return a:cuda():maskedSelect(m) end), 'expected all tensors on one device')
    -- gradient: the selected places get the output gradient, the rest 0, summed to x's shape
    local x = torch.randn(4):double()
    local mm = torch.ByteTensor({ { 1, 0, 1, 1 }, { 0, 0, 1, 0 } })
    local seed = torch.randn(4):double()
    local hx, gx = H.grad_leaf(x:clone()), H.grad_leaf(x:cuda())
    hx:maskedSelect(mm):backward(seed)
    gx:maskedSelect(mm:cuda()):backward(seed:cuda())
    same(gx.grad, hx.grad, 'float64', 'maskedSelect gradient')
  end)

  gpu_it('where / maskedFill check masks as the host does', function()
    local a = torch.randn(3)
    assert.are.equal(err(function() return torch.where(a, a, a) end),
                     err(function() return torch.where(a:cuda(), a:cuda(), a:cuda()) end))
    assert.are.equal(err(function() return a:clone():maskedFill(a, 1) end),
                     err(function() return a:cuda():maskedFill(a:cuda(), 1) end))
    local x = torch.randn(3, 4)
    assert.are.equal(err(function() return x:maskedFill(torch.ByteTensor(2, 4):fill(1), 1) end),
                     err(function() return x:cuda():maskedFill(torch.ByteTensor(2, 4):fill(1):cuda(), 1) end))
    local e = torch.zeros(1, 4):cuda():expand(3, 4)
    H.matches(err(function() e:maskedFill(torch.ByteTensor(3, 4):fill(1):cuda(), 1) end),
              'expanded')
  end)
end)

describe('CUDA pointwise: gradients', function()
  -- the graph on host float64 leaves and on their device copies; the gradients must agree
  local function grads(f, inputs, seed)
    local hs, gs = {}, {}
    for i, x in ipairs(inputs) do
      hs[i] = H.grad_leaf(x:clone())
      gs[i] = H.grad_leaf(x:cuda())
    end
    local hy, gy = f(table.unpack(hs)), f(table.unpack(gs))
    assert.is_true(gy:isCuda())
    same(gy, hy, 'float64', 'forward')
    hy:backward(seed)
    gy:backward(seed:cuda())
    for i = 1, #inputs do
      assert.is_true(gs[i].grad:isCuda(), 'gradient ' .. i .. ' is not on the device')
      same(gs[i].grad, hs[i].grad, 'float64', 'gradient ' .. i)
    end
  end

  gpu_it('y = tanh(a * b + sigmoid(a)) and friends: device gradients equal the host\'s', function()
    local a, b = torch.randn(3, 4):double(), torch.randn(3, 4):double()
    local seed = torch.randn(3, 4):double()
    grads(function(x, y) return torch.tanh(torch.cmul(x, y) + torch.sigmoid(x)) end, { a, b }, seed)
    grads(function(x, y)
      local z = torch.cdiv(torch.exp(x), torch.abs(y) + 1) - 2 * torch.clamp(x, -0.5, 0.5)
      z = torch.maximum(z, torch.leakyRelu(y, 0.1)) + torch.where(x:gt(0), x, y)
      return torch.pow(z, 2) + torch.relu(y) * 3 - torch.sqrt(torch.abs(x) + 1) / 2
        + torch.atan2(x, y) + torch.fmod(x, 0.7) + torch.sin(y) - torch.cos(x)
        + torch.addcmul(x, 0.5, x, y) + torch.addcdiv(y, 0.25, x, torch.abs(y) + 1)
        + torch.minimum(x, y) + torch.reciprocal(torch.abs(x) + 1) + torch.rsqrt(torch.abs(y) + 1)
        + torch.log1p(torch.abs(x)) + torch.log(torch.abs(y) + 1) + torch.square(x)
        + torch.frac(x) + torch.floor(y) + torch.sign(x) - x + (2 - y) / 3 + 2 / (torch.abs(y) + 1)
        + torch.pow(torch.abs(x) + 1, y) + torch.pow(2, x) + torch.pow(torch.abs(y) + 1, 0.5)
        + torch.csub(x, 1.5, y) + torch.add(y, -2, x)
    end, { a, b }, seed)
  end)

  gpu_it('1-D * 1-D (a dot product) that requires grad is a 0-dim device tensor', function()
    local x, w = torch.randn(4):double(), torch.randn(4):double()
    local seed = torch.DoubleTensor({ 1.5 }):view(1):squeeze()
    grads(function(a, b) return a * b end, { x, w }, seed)
    assert.are.equal('number', type(x:cuda() * w:cuda()))
  end)

  gpu_it('gradients of broadcast and non-contiguous device operands', function()
    local a, b = torch.randn(4, 3):double(), torch.randn(3):double()
    local seed = torch.randn(3, 4):double()
    grads(function(x, y)
      local xt = x:t()
      return torch.cmul(xt, y:view(3, 1)) + torch.tanh(xt) / (torch.abs(y:view(3, 1)) + 1)
    end, { a, b }, seed)
  end)
end)
