-- bf16 autocast (torch.autocast, core/dnnl.c) and float32 products on oneDNN: outputs and
-- gradients of Linear, mm, bmm, matmul against PyTorch 1.13's CPU autocast and against the same
-- products with bf16-rounded operands (spec/fixtures/make_autocast.py); nn.LSTM and nn.GRU
-- against their recurrences with rounded products (1.13's autocast leaves them in fp32); the
-- emulated path (LUATORCH_BF16=emulate) in a child process; the switch's nesting, error and
-- to-be-closed forms; float32 products on each engine against float64 references.
local torch = require 'torch'
local nn = require 'nn'
local H = require 'helpers'

local F = H.fixture('autocast')
local T = H.tensor
local exe = os.getenv('LUATORCH_EXE') or './build/luatorch'

-- max |a - e| <= tol * max |e| (bf16 errors scale with the operands, not with each element)
local function near(actual, expected, tol, what)
  local a = actual:detach():contiguous():double()
  local e = torch.isTensor(expected) and expected:detach():double() or T(expected, 'float64')
  assert.same(e:size():totable(), a:size():totable())
  local scale = math.max(e:clone():abs():max(), 1e-30)
  local err = (a - e):abs():max() / scale
  assert(err <= tol, ('%s: relative error %.3g > %.3g'):format(what or '', err, tol))
  return err
end

-- err contains each plain string
local function says(err, ...)
  for _, s in ipairs({ ... }) do
    assert(tostring(err):find(s, 1, true), ('error %q does not say %q'):format(tostring(err), s))
  end
end

local function leaf(t)
  t.requiresGrad = true
  return t
end

-- bf16 results (PyTorch rounds them, we do not) and bf16 operands: a few bf16 ulps of the max
local BF16_TOL = 2e-2
-- against the rounded-operand reference: only fp32 accumulation differs
local TIGHT = 2e-5

describe('torch.autocast: the switch', function()
  it('is off by default and reports bfloat16', function()
    assert.is_false(torch.isAutocastEnabled())
    assert.equal('bfloat16', torch.getAutocastDtype())
  end)

  it('runs fn under autocast, returns its results, and restores the state', function()
    local a, b, c = torch.autocast('bfloat16', function(x, y)
      return torch.isAutocastEnabled(), x + 1, y
    end, 1, 'z')
    assert.is_true(a)
    assert.equal(2, b)
    assert.equal('z', c)
    assert.is_false(torch.isAutocastEnabled())
  end)

  it('nests: the inner region restores the outer one', function()
    torch.autocast('bfloat16', function()
      torch.autocast('bf16', function() assert.is_true(torch.isAutocastEnabled()) end)
      assert.is_true(torch.isAutocastEnabled())
      do
        local inner <close> = torch.autocast('bfloat16')
        assert.is_true(torch.isAutocastEnabled())
      end
      assert.is_true(torch.isAutocastEnabled())
    end)
    assert.is_false(torch.isAutocastEnabled())
  end)

  it('restores the state when fn raises, and passes the error on unchanged', function()
    local ok, err = pcall(torch.autocast, 'bfloat16', function() error('boom', 0) end)
    assert.is_false(ok)
    assert.equal('boom', err)
    assert.is_false(torch.isAutocastEnabled())
    local tbl = {}
    ok, err = pcall(torch.autocast, 'bfloat16', function() error(tbl) end)
    assert.equal(tbl, err)
    assert.is_false(torch.isAutocastEnabled())
    -- a failing product inside: the toolkit's own error
    ok, err = pcall(torch.autocast, 'bfloat16', function() return torch.mm(torch.randn(2, 3), torch.randn(2, 3)) end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find('size mismatch', 1, true))
    assert.is_false(torch.isAutocastEnabled())
  end)

  it('has a to-be-closed form (also closed by an error, and by :close())', function()
    do
      local ac <close> = torch.autocast('bfloat16')
      assert.is_true(torch.isAutocastEnabled())
    end
    assert.is_false(torch.isAutocastEnabled())
    local ok = pcall(function()
      local ac <close> = torch.autocast('bfloat16')
      error('x')
    end)
    assert.is_false(ok)
    assert.is_false(torch.isAutocastEnabled())
    local ac = torch.autocast('bfloat16')
    assert.is_true(torch.isAutocastEnabled())
    ac:close()
    ac:close()  -- twice is harmless
    assert.is_false(torch.isAutocastEnabled())
  end)

  it('rejects bad arguments with clear errors', function()
    says(H.error_of(torch.autocast, 'float8'),
              "bad argument #1 to 'autocast' (expected 'bfloat16', got 'float8')")
    says(H.error_of(torch.autocast), "bad argument #1 to 'autocast'")
    says(H.error_of(torch.autocast, 16), "bad argument #1 to 'autocast'")
    says(H.error_of(torch.autocast, 'bfloat16', 5), "bad argument #2 to 'autocast'")
    assert.is_false(torch.isAutocastEnabled())
    says(H.error_of(torch.setGemmEngine, 'mkl'), "bad argument #1 to '", "setGemmEngine' (invalid option 'mkl')")
    says(H.error_of(torch.setGemmEngine), "setGemmEngine'")
    assert.equal('auto', torch.getGemmEngine())
  end)
end)

-- ---- products against PyTorch --------------------------------------------------------------

local PRODUCTS = {
  linear = function(ins)
    local m = nn.Linear(20, 24)
    m.weight:copy(ins[2])
    m.bias:copy(ins[3])
    local x = leaf(ins[1]:clone())
    return m(x), function() return { x.grad, m.gradWeight, m.gradBias } end
  end,
  mm = function(ins)
    local a, b = leaf(ins[1]:clone()), leaf(ins[2]:clone())
    return torch.mm(a, b), function() return { a.grad, b.grad } end
  end,
  bmm = function(ins)
    local a, b = leaf(ins[1]:clone()), leaf(ins[2]:clone())
    return torch.bmm(a, b), function() return { a.grad, b.grad } end
  end,
  matmul = function(ins)
    local a, b = leaf(ins[1]:clone()), leaf(ins[2]:clone())
    return torch.matmul(a, b), function() return { a.grad, b.grad } end
  end,
}

describe('torch.autocast: products against PyTorch', function()
  for _, name in ipairs({ 'linear', 'mm', 'bmm', 'matmul' }) do
    local c = F[name]
    it(name .. ': output and gradients, forward and backward under autocast', function()
      for _, nt in ipairs({ 1, 2 }) do
        local old = torch.getnumthreads()
        torch.setnumthreads(nt)
        local ins = {}
        for i, f in ipairs(c.inputs) do ins[i] = T(f, 'float32') end
        local y, grads = PRODUCTS[name](ins)
        -- fp32: exact to fp32 rounding, and visibly off the rounded-operand reference
        near(y, c.exact, 1e-5, name .. ' fp32')
        local off = (y:detach():double() - T(c.rounded, 'float64')):abs():max() /
                    T(c.rounded, 'float64'):abs():max()
        assert(off > 20 * TIGHT, 'the fixture tells fp32 from bf16 products')
        -- autocast: forward here, backward outside the region (the recorded nodes keep it)
        y, grads = torch.autocast('bfloat16', PRODUCTS[name], ins)
        assert.equal('torch.FloatTensor', y:type())
        near(y, c.autocast, BF16_TOL, name .. ' vs PyTorch autocast')
        near(y, c.rounded, TIGHT, name .. ' vs rounded operands')
        torch.autograd.backward({ y }, { T(c.gradOutput, 'float32') })
        local g = grads()
        for i, e in ipairs(c.autocastGrads) do
          assert.equal('torch.FloatTensor', g[i]:type())
          near(g[i], e, BF16_TOL, name .. ' grad ' .. i .. ' vs PyTorch autocast')
          near(g[i], c.roundedGrads[i], TIGHT, name .. ' grad ' .. i .. ' vs rounded operands')
        end
        torch.setnumthreads(old)
      end
    end)
  end

  it('leaves float64 products and products recorded outside the region in full precision', function()
    local c = F.mm
    local a, b = T(c.inputs[1], 'float64'), T(c.inputs[2], 'float64')
    local y = torch.autocast('bfloat16', torch.mm, a, b)
    near(y, c.exact, 1e-12, 'float64 under autocast')
    local af, bf = leaf(T(c.inputs[1], 'float32')), leaf(T(c.inputs[2], 'float32'))
    local yf = torch.mm(af, bf)  -- recorded in fp32, backward called under autocast
    torch.autocast('bfloat16', function()
      torch.autograd.backward({ yf }, { T(c.gradOutput, 'float32') })
    end)
    local ga = torch.mm(T(c.gradOutput, 'float64'), T(c.inputs[2], 'float64'):t())
    near(af.grad, ga, 1e-5, 'fp32 node backward')
  end)
end)

-- ---- recurrent layers ------------------------------------------------------------------------

local function rnn_run(c, mode)
  local m = mode == 'lstm' and nn.LSTM(6, 8) or nn.GRU(6, 8)
  for pname, f in pairs(c.params) do m[pname]:copy(T(f, 'float32')) end
  local x, h0 = leaf(T(c.x, 'float32')), leaf(T(c.h0, 'float32'))
  local c0 = c.c0 and leaf(T(c.c0, 'float32'))
  local y, st = m(x, mode == 'lstm' and { h0, c0 } or h0)
  local hn, cn = mode == 'lstm' and st[1] or st, mode == 'lstm' and st[2] or nil
  return m, x, h0, c0, y, hn, cn
end

describe('torch.autocast: nn.LSTM and nn.GRU against rounded-product recurrences', function()
  for _, mode in ipairs({ 'lstm', 'gru' }) do
    local c = F[mode]
    it(mode .. ': output, final states and every gradient, 1 and 2 threads', function()
      local old = torch.getnumthreads()
      for _, nt in ipairs({ 1, 2 }) do
        torch.setnumthreads(nt)
        local fp = { rnn_run(c, mode) }
        local m, x, h0, c0, y, hn, cn = torch.autocast('bfloat16', rnn_run, c, mode)
        local e_y = near(y, c.output, 2e-3, mode .. ' output')
        -- the fp32 run is further from the rounded reference than the autocast run
        local f_y = (fp[5]:detach():double() - T(c.output, 'float64')):abs():max()
        assert(f_y > 3 * e_y * T(c.output, 'float64'):abs():max(),
               ('fp32 %.3g vs autocast %.3g: the reference tells them apart'):format(f_y, e_y))
        near(hn, c.hn, 2e-3, mode .. ' h_n')
        if cn then near(cn, c.cn, 2e-3, mode .. ' c_n') end
        local roots, grads = { y, hn }, { T(c.gradOutput, 'float32'), T(c.gradHn, 'float32') }
        if cn then roots[3], grads[3] = cn, T(c.gradCn, 'float32') end
        torch.autograd.backward(roots, grads)  -- outside the region: the node recorded it
        near(x.grad, c.gradInput, 5e-3, mode .. ' gradInput')
        near(h0.grad, c.gradH0, 5e-3, mode .. ' gradH0')
        if c0 then near(c0.grad, c.gradC0, 5e-3, mode .. ' gradC0') end
        for pname, g in pairs(c.gradParams) do
          local field = pname:gsub('^weight', 'gradWeight'):gsub('^bias', 'gradBias')
          near(m[field], g, 5e-3, mode .. ' ' .. pname)
        end
        -- parameters and gradients stay float32
        assert.equal('torch.FloatTensor', m.gradWeight_hh_l0:type())
      end
      torch.setnumthreads(old)
    end)
  end
end)

-- the fused LSTM writes its bf16 operands itself under native autocast (h_t in the forward
-- sweep, the gate gradients in the backward one: core/lstm.c's shadow pins); the emulated path
-- rounds the same values in its products, so the two differ only in fp32 accumulation order
describe('torch.autocast: nn.LSTM native against emulated', function()
  local it_native = torch._autocastNative() and it or pending
  it_native('2 layers, initial states, batchFirst: outputs and every gradient agree', function()
    local dir = H.mktempdir()
    local script = dir .. '/lstm.lua'
    H.writefile(script, [[
local torch, nn = require 'torch', require 'nn'
torch.manualSeed(7)
local m = nn.LSTM(5, 16, 2, { batchFirst = true })
local x = torch.randn(12, 9, 5)
local h0, c0 = torch.randn(2, 12, 16), torch.randn(2, 12, 16)
for _, t in ipairs({ x, h0, c0 }) do t.requiresGrad = true end
local y, st = torch.autocast('bfloat16', function() return m(x, { h0, c0 }) end)
local gy, gh, gc = torch.randn(12, 9, 16), torch.randn(2, 12, 16), torch.randn(2, 12, 16)
torch.autograd.backward({ y, st[1], st[2] }, { gy, gh, gc })
local out = { y:detach(), st[1]:detach(), st[2]:detach(), x.grad, h0.grad, c0.grad }
for _, p in ipairs({ 'gradWeight_ih_l0', 'gradWeight_hh_l0', 'gradBias_ih_l0', 'gradWeight_ih_l1',
                     'gradWeight_hh_l1', 'gradBias_hh_l1' }) do out[#out + 1] = m[p]:clone() end
torch.save(arg[1], out)
]])
    local res = {}
    for _, env in ipairs({ '', 'LUATORCH_BF16=emulate ' }) do
      local f = dir .. (env == '' and '/native.t7' or '/emulated.t7')
      assert.is_true(os.execute(('%s%s %s %s 2> /dev/null'):format(env, exe, script, f)))
      res[#res + 1] = torch.load(f)
    end
    H.rmtree(dir)
    assert.equal(12, #res[1])
    for i = 1, #res[1] do near(res[1][i], res[2][i], 1e-4, 'result ' .. i) end
  end)
end)

-- ---- float32 on each engine ----------------------------------------------------------------

describe('float32 products on OpenBLAS and oneDNN', function()
  it('match float64 references for every layout, alpha and beta, on each engine', function()
    torch.manualSeed(7)
    local engines = { 'openblas', 'auto' }
    if pcall(torch.setGemmEngine, 'onednn') then engines[3] = 'onednn' end
    torch.setGemmEngine('auto')
    local cases = {  -- m, n, k: the seed's products (above the oneDNN line) and small ones
      { 100, 512, 128 }, { 100, 128, 512 }, { 512, 128, 300 }, { 7, 9, 20 }, { 1, 64, 2048 },
    }
    local old = torch.getnumthreads()
    for _, nt in ipairs({ 1, 2 }) do
      torch.setnumthreads(nt)
      for _, e in ipairs(engines) do
        torch.setGemmEngine(e)
        for _, s in ipairs(cases) do
          local m, n, k = s[1], s[2], s[3]
          local a, b = torch.randn(m, k), torch.randn(k, n)
          local at, bt = a:t():contiguous():t(), b:t():contiguous():t()  -- column-major
          local an = torch.randn(m, k + 5):narrow(2, 3, k):copy(a)       -- ld > k
          local ref = torch.mm(a:double(), b:double())
          for _, p in ipairs({ { a, b }, { at, b }, { a, bt }, { at, bt }, { an, b } }) do
            near(torch.mm(p[1], p[2]), ref, 1e-5, ('%s %dx%dx%d'):format(e, m, n, k))
          end
          local c = torch.randn(m, n)
          near(torch.addmm(0.5, c, 2, a, bt), ref * 2 + c:double() * 0.5, 1e-5, e .. ' addmm')
          local ct = torch.randn(n, m):t()  -- a column-major target
          torch.addmm(ct, 0, ct, 1, a, b)
          near(ct, ref, 1e-5, e .. ' column-major out')
        end
        local ba, bb = torch.randn(3, 100, 128), torch.randn(3, 128, 64)
        near(torch.bmm(ba, bb), torch.bmm(ba:double(), bb:double()), 1e-5, e .. ' bmm')
      end
    end
    torch.setnumthreads(old)
    torch.setGemmEngine('auto')
  end)

  it('match PyTorch fp32 on oneDNN (the autocast fixtures, fp32 runs)', function()
    if not pcall(torch.setGemmEngine, 'onednn') then return pending('built without oneDNN') end
    for _, name in ipairs({ 'linear', 'mm', 'bmm', 'matmul' }) do
      local ins = {}
      for i, f in ipairs(F[name].inputs) do ins[i] = T(f, 'float32') end
      near(PRODUCTS[name](ins), F[name].exact, 1e-5, name)
    end
    torch.setGemmEngine('auto')
  end)
end)

describe('torch.autocast on CUDA tensors', function()
  H.gpu_it('passes device products through in fp32 (documented)', function()
    local c = F.mm
    local a, b = T(c.inputs[1], 'float32'):cuda(), T(c.inputs[2], 'float32'):cuda()
    local y = torch.autocast('bfloat16', torch.mm, a, b)
    near(y:float(), c.exact, 1e-5, 'device mm under autocast')
  end)
end)

-- ---- the emulated path ---------------------------------------------------------------------

describe('torch.autocast without bf16 hardware (LUATORCH_BF16=emulate)', function()
  it('gives the rounded-operand results and says once that it is not faster', function()
    local dir = H.mktempdir()
    local script = dir .. '/emu.lua'
    H.writefile(script, [[
local torch = require 'torch'
local F = dofile(arg[1])
local function t(f) return torch.FloatTensor(f.data):view(table.unpack(f.shape)) end
local c = F.mm
for _ = 1, 2 do
  local y = torch.autocast('bfloat16', torch.mm, t(c.inputs[1]), t(c.inputs[2]))
  local r = torch.DoubleTensor(c.rounded.data):view(table.unpack(c.rounded.shape))
  print(('err %.3g native %s'):format((y:double() - r):abs():max() / r:abs():max(),
        tostring(torch._autocastNative())))
end
]])
    local out, errf = dir .. '/out', dir .. '/err'
    local cmd = ('LUATORCH_BF16=emulate %s %s %s > %s 2> %s'):format(exe, script,
                H.fixture_dir .. 'autocast.lua', out, errf)
    assert.is_true(os.execute(cmd))
    local o, e = H.readfile(out), H.readfile(errf)
    H.rmtree(dir)
    local n = 0
    for err, native in o:gmatch('err (%S+) native (%S+)') do
      n = n + 1
      assert(tonumber(err) <= TIGHT, 'emulated error ' .. err)
      assert.equal('false', native)
    end
    assert.equal(2, n)
    local _, warnings = e:gsub('bf16 autocast is emulated here %(LUATORCH_BF16=emulate%)', '')
    assert.equal(1, warnings)
  end)
end)
