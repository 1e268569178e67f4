-- spec/23-save_spec.lua — torch.save / torch.load: round trips of every value kind (integers
-- and floats, binary strings, cycles, shared references, torch.class instances, tensors of
-- every dtype and layout, storages, whole nn modules that train after loading), the
-- documented byte format (docs/checkpoint-format.md), refusals (code, foreign userdata),
-- corrupt and truncated files, and atomic replacement.
local torch = require 'torch'
local nn = require 'nn'
local H = require 'helpers'

-- ---- helpers -------------------------------------------------------------------------------
local dir
local function tmp(name) return dir .. '/' .. name end

local function listdir()
  local names = {}
  local p = io.popen('ls -A "' .. dir .. '"')
  for line in p:lines() do names[#names + 1] = line end
  p:close()
  table.sort(names)
  return names
end

local readfile, writefile = H.readfile, H.writefile

-- the largest absolute difference (outside autograd: parameters require grad)
local function maxdiff(a, b)
  return torch.noGrad(function() return (a - b):abs():max() end)
end

local function roundtrip(x, name)
  local path = tmp(name or 'rt.t7')
  torch.save(path, x)
  return torch.load(path)
end

-- zlib's CRC-32, to craft payloads that pass the CRC and test the parser behind it
local crc_table = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    if c & 1 == 1 then c = 0xEDB88320 ~ (c >> 1) else c = c >> 1 end
  end
  crc_table[i] = c
end
local function crc32(s)
  local c = 0xFFFFFFFF
  for i = 1, #s do c = crc_table[(c ~ s:byte(i)) & 0xFF] ~ (c >> 8) end
  return c ~ 0xFFFFFFFF
end

local MAGIC = '\x89LTCKPT\n'
local function checkpoint(payload, version, flags)
  return MAGIC .. string.pack('<I4I4I8I4I4', version or 1, flags or 0, #payload, crc32(payload), 0) .. payload
end
-- payload encoders (tags of docs/checkpoint-format.md)
local P = {}
function P.int(v) return string.pack('<Bi8', 3, v) end
function P.str(s) return string.pack('<BI8', 5, #s) .. s end
function P.tbl(class, ...) return string.pack('<BI4', 6, #(class or '')) .. (class or '') .. table.concat({ ... }) .. '\0' end
function P.ref(id) return string.pack('<BI8', 7, id) end
function P.storage(dtype, n, bytes) return string.pack('<BBI8', 8, dtype, n) .. bytes end
function P.tensor(dtype, flags, storage, offset, sizes, strides)
  local s = string.pack('<BBBB', 9, dtype, #sizes, flags) .. storage .. string.pack('<i8', offset)
  for _, v in ipairs(sizes) do s = s .. string.pack('<i8', v) end
  for _, v in ipairs(strides) do s = s .. string.pack('<i8', v) end
  return s
end

local function load_bytes(bytes)
  local path = tmp('crafted.t7')
  writefile(path, bytes)
  return H.error_of(torch.load, path)
end

local function same_tensor(a, b)
  assert.are.equal(a:type(), b:type())
  assert.are.same(a:size():totable(), b:size():totable())
  assert.are.same(a:stride():totable(), b:stride():totable())
  assert.are.same(a:totable(), b:totable())
end

local Point = torch.class('ckptspec.Point')
function Point:__init(x, y) self.x, self.y = x, y end
function Point:norm2() return self.x * self.x + self.y * self.y end

setup(function() dir = H.mktempdir() end)
teardown(function() H.rmtree(dir) end)

-- ---- plain values ---------------------------------------------------------------------------
describe('torch.save / torch.load of plain values', function()
  it('keeps integers integers and floats floats, bit for bit', function()
    local values = { 0, 1, -1, math.maxinteger, math.mininteger, 2 ^ 53, 0.5, -0.0, 1e308,
                     5e-324, math.huge, -math.huge, math.pi }
    local got = roundtrip(values)
    for i, v in ipairs(values) do
      assert.are.equal(math.type(v), math.type(got[i]))
      assert.are.equal(v, got[i])
    end
    assert.are.equal(-math.huge, 1 / got[8])   -- the sign of -0.0 survives
    local nan = roundtrip(0 / 0)
    assert.is_true(nan ~= nan)
    assert.are.equal('float', math.type(nan))
  end)

  it('round-trips scalars at the root: nil, booleans, numbers, strings', function()
    assert.is_nil(roundtrip(nil))
    assert.are.equal(true, roundtrip(true))
    assert.are.equal(false, roundtrip(false))
    assert.are.equal(42, roundtrip(42))
    assert.are.equal('integer', math.type(roundtrip(42)))
    assert.are.equal('', roundtrip(''))
  end)

  it('keeps strings binary-safe', function()
    local all = {}
    for i = 0, 255 do all[#all + 1] = string.char(i) end
    local s = table.concat(all)
    assert.are.equal(s, roundtrip(s))
    assert.are.equal('a\0b\0', roundtrip('a\0b\0'))
    local big = string.rep('xyz\0', 300000)
    assert.are.equal(big, roundtrip(big))
  end)

  it('round-trips nested tables with keys of every kind', function()
    local key = { 'a table key' }
    local t = { 1, 2, 3, name = 'x', [1.5] = 'float key', [true] = 'yes', [false] = 'no',
                nested = { deeper = { deepest = { 1, { 2, { 3 } } } } }, [key] = 'by table',
                [-7] = 'negative', [''] = 'empty' }
    local u = roundtrip(t)
    assert.are.same({ 1, 2, 3 }, { u[1], u[2], u[3] })
    assert.are.equal('x', u.name)
    assert.are.equal('float key', u[1.5])
    assert.are.equal('yes', u[true])
    assert.are.equal('no', u[false])
    assert.are.equal('negative', u[-7])
    assert.are.equal('empty', u[''])
    assert.are.equal(3, u.nested.deeper.deepest[2][2][1])
    local found
    for k, v in pairs(u) do
      if type(k) == 'table' then found = k assert.are.equal('by table', v) end
    end
    assert.are.same({ 'a table key' }, found)
  end)

  it('keeps shared references shared and cycles cyclic', function()
    local shared = { v = 1 }
    local a, b = { name = 'a' }, { name = 'b' }
    a.other, b.other = b, a
    local t = { x = shared, y = shared, list = { shared, shared }, a = a, b = b }
    t.self = t
    t[shared] = shared
    local u = roundtrip(t)
    assert.are.equal(u, u.self)
    assert.are.equal(u.x, u.y)
    assert.are.equal(u.x, u.list[1])
    assert.are.equal(u.x, u.list[2])
    assert.are.equal(u.x, u[u.x])
    assert.are.equal(u.a, u.b.other)
    assert.are.equal(u.b, u.a.other)
    u.x.v = 5
    assert.are.equal(5, u.y.v)
  end)

  it('restores torch.class instances by class name, methods included', function()
    local p = Point(3, 4)
    local u = roundtrip({ p = p, q = p })
    assert.are.equal(getmetatable(p), getmetatable(u.p))
    assert.are.equal('ckptspec.Point', torch.typename(u.p))
    assert.are.equal(25, u.p:norm2())
    assert.are.equal(u.p, u.q)
  end)

  it('handles tables nested 1000 deep', function()
    local root = {}
    local t = root
    for i = 1, 1000 do t.next = { i = i } t = t.next end
    local u = roundtrip(root)
    local n = 0
    while u.next do u, n = u.next, n + 1 end
    assert.are.equal(1000, n)
  end)
end)

-- ---- tensors and storages ---------------------------------------------------------------
describe('torch.save / torch.load of tensors', function()
  it('round-trips every dtype exactly', function()
    local f = torch.randn(3, 4)
    local d = torch.randn(2, 5):double()
    d[1][1] = 0 / 0
    d[1][2] = math.huge
    local l = torch.LongTensor({ math.mininteger, -1, 0, 1, math.maxinteger })
    local b = torch.ByteTensor({ 0, 1, 127, 128, 255 })
    local u = roundtrip({ f = f, d = d, l = l, b = b })
    same_tensor(f, u.f)
    assert.are.equal('torch.DoubleTensor', u.d:type())
    assert.is_true(u.d[1][1] ~= u.d[1][1])
    assert.are.equal(math.huge, u.d[1][2])
    for i = 1, 2 do for j = 3, 5 do assert.are.equal(d[i][j], u.d[i][j]) end end
    same_tensor(l, u.l)
    assert.are.equal(math.mininteger, u.l[1])
    same_tensor(b, u.b)
  end)

  it('keeps non-contiguous layouts: transposed, narrowed, selected, expanded', function()
    local base = torch.randn(4, 6)
    local t = { tr = base:t(), nar = base:narrow(2, 2, 3), sel = base:select(1, 3),
                exp = torch.randn(3):view(3, 1):expand(3, 5), base = base }
    local u = roundtrip(t)
    for _, k in ipairs({ 'tr', 'nar', 'sel', 'exp', 'base' }) do same_tensor(t[k], u[k]) end
    assert.is_false(u.tr:isContiguous())
    assert.are.equal(0, u.exp:stride(2))
    assert.are.equal(t.nar:storageOffset(), u.nar:storageOffset())
    -- the views still share one storage
    u.base[3][2] = 100
    assert.are.equal(100, u.tr[2][3])
    assert.are.equal(100, u.nar[3][1])
    assert.are.equal(100, u.sel[2])
  end)

  it('keeps tensors that share a storage sharing it, and the same tensor the same', function()
    local a = torch.randn(10)
    local b = torch.FloatTensor(a:storage(), 3, { 4 })
    local s = a:storage()
    local u = roundtrip({ a = a, b = b, a2 = a, s = s })
    assert.are.equal(u.a, u.a2)
    assert.is_true(u.a:storage() == u.b:storage())
    assert.is_true(u.s == u.a:storage())
    u.a[3] = 42
    assert.are.equal(42, u.b[1])
    assert.are.equal(42, u.s[3])
  end)

  it('round-trips scalars, empty tensors and storages of every type', function()
    local u = roundtrip({ s = torch.FloatTensor({ 2.5 }):view(1):squeeze(), e = torch.DoubleTensor(0, 3),
                          fs = torch.FloatStorage({ 1, 2 }), ls = torch.LongStorage({ math.maxinteger }),
                          bs = torch.ByteStorage({ 255, 0 }), ds = torch.DoubleStorage(0) })
    assert.are.equal(0, u.s:dim())
    assert.are.equal(2.5, u.s:item())
    assert.are.same({ 0, 3 }, u.e:size():totable())
    assert.are.equal('torch.FloatStorage', torch.typename(u.fs))
    assert.are.same({ 1, 2 }, u.fs:totable())
    assert.are.equal(math.maxinteger, u.ls[1])
    assert.are.same({ 255, 0 }, u.bs:totable())
    assert.are.equal(0, #u.ds)
  end)

  it('keeps requiresGrad and .grad, and stores a recorded result as plain data', function()
    local w = torch.randn(3, 2)
    w.requiresGrad = true
    w.grad = torch.ones(3, 2)
    local y = (w * 2):sum()
    local u = roundtrip({ w = w, g = w.grad, y = y })
    assert.is_true(u.w.requiresGrad)
    same_tensor(w.grad, u.w.grad)
    u.g:fill(7)                      -- the same tensor as u.w.grad
    assert.are.equal(7, u.w.grad[1][1])
    assert.is_false(u.y.requiresGrad)
    assert.is_nil(u.y.gradFn)
    assert.are.equal(y:item(), u.y:item())
  end)

  it('copies big tensors in bulk', function()
    local t = torch.randn(1000, 1000)
    local u = roundtrip(t, 'big.t7')
    assert.are.equal(0, maxdiff(u, t))
    assert.is_true(#readfile(tmp('big.t7')) < 4 * 1000 * 1000 + 200)
  end)
end)

-- ---- modules --------------------------------------------------------------------------------
describe('torch.save / torch.load of nn modules', function()
  local function mlp()
    torch.manualSeed(3)
    return nn.Sequential():add(nn.Linear(4, 8)):add(nn.Tanh()):add(nn.Linear(8, 3))
  end

  it('loads a model that computes the same outputs', function()
    local m = mlp()
    local x = torch.randn(5, 4)
    local y = m:forward(x):clone()
    local u = roundtrip(m)
    assert.are.equal('nn.Sequential', torch.typename(u))
    assert.are.equal('nn.Linear', torch.typename(u.modules[1]))
    assert.are.equal(0, maxdiff(u:forward(x), y))
    assert.are.equal(0, maxdiff(u(x), y))
  end)

  it('trains after loading exactly as the original does (Torch7 loop)', function()
    local m = mlp()
    local x, target = torch.randn(6, 4), torch.randn(6, 3)
    m:forward(x)   -- leaves graph state in the modules, saved along
    local u = roundtrip(m)
    local crit = nn.MSECriterion()
    for _, model in ipairs({ m, u }) do
      for _ = 1, 5 do
        model:zeroGradParameters()
        local out = model:forward(x)
        crit:forward(out, target)
        model:backward(x, crit:backward(out, target))
        model:updateParameters(0.1)
      end
    end
    local pm, pu = m:parameters(), u:parameters()
    for i = 1, #pm do assert.are.equal(0, maxdiff(pm[i], pu[i])) end
  end)

  it('trains after loading with autograd (PyTorch loop): gradients reach gradWeight', function()
    local m = mlp()
    local u = roundtrip(m)
    local x, target = torch.randn(6, 4), torch.randn(6, 3)
    for _, model in ipairs({ m, u }) do
      for _ = 1, 3 do
        model:zeroGradParameters()
        local loss = ((model(x) - target) ^ 2):mean()
        loss:backward()
        model:updateParameters(0.05)
      end
    end
    assert.is_true(u.modules[1].gradWeight:abs():sum() > 0)
    -- weight.grad IS gradWeight after loading (no relinking needed)
    u.modules[1].gradWeight:fill(3)
    assert.are.equal(3, u.modules[1].weight.grad[1][1])
    local pm, pu = m:parameters(), u:parameters()
    for i = 1, #pm do assert.are.equal(0, maxdiff(pm[i], pu[i])) end
  end)

  local lstm_it = (nn.LSTM and nn.Select) and it or pending
  lstm_it('round-trips the seed model with nn.LSTM, which then trains like the original', function()
    torch.manualSeed(5)
    local m = nn.Sequential():add(nn.LSTM(6, 8, 1, { batchFirst = true }))
                             :add(nn.Select(2, -1)):add(nn.Linear(8, 3))
    local x, target = torch.randn(4, 5, 6), torch.LongTensor({ 1, 2, 3, 1 })
    m:forward(x)
    local u = roundtrip(m)
    assert.are.equal(0, maxdiff(u:forward(x), m:forward(x)))
    local crit = nn.CrossEntropyCriterion()
    for _, model in ipairs({ m, u }) do
      for _ = 1, 3 do
        model:zeroGradParameters()
        local loss = crit(model(x), target)
        loss:backward()
        model:updateParameters(0.1)
      end
    end
    local pm, pu = m:parameters(), u:parameters()
    for i = 1, #pm do assert.are.equal(0, maxdiff(pm[i], pu[i])) end
  end)

  it('keeps getParameters() flat views pointing into the flat storage', function()
    local m = mlp()
    local flat = m:getParameters()
    local u = roundtrip(m)
    local uflat = u:getParameters()
    assert.are.equal(flat:nElement(), uflat:nElement())
    assert.is_true(u.modules[1].weight:storage() == uflat:storage())
    uflat:fill(0.5)
    assert.are.equal(0.5, u.modules[3].bias[1])
  end)

  it('round-trips criterions and a model with its optimizer state', function()
    local m = mlp()
    local state = { step = 3, momentum = { torch.randn(4) }, config = { lr = 0.1 } }
    local u = roundtrip({ model = m, crit = nn.CrossEntropyCriterion(), optim = state })
    assert.are.equal('nn.CrossEntropyCriterion', torch.typename(u.crit))
    local loss = u.crit:forward(torch.randn(2, 3), torch.LongTensor({ 1, 3 }))
    assert.are.equal('number', type(loss))
    assert.are.equal(3, u.optim.step)
    same_tensor(state.momentum[1], u.optim.momentum[1])
  end)
end)

-- ---- the format -----------------------------------------------------------------------------
describe('the checkpoint format', function()
  it('has the documented header: magic, version 1, payload length, zlib CRC-32', function()
    torch.save(tmp('fmt.t7'), { 1, 'two' })
    local s = readfile(tmp('fmt.t7'))
    assert.are.equal(MAGIC, s:sub(1, 8))
    local version, flags, len, crc = string.unpack('<I4I4I8I4', s, 9)
    assert.are.equal(1, version)
    assert.are.equal(0, flags)
    assert.are.equal(#s - 32, len)
    assert.are.equal(crc32(s:sub(33)), crc)
  end)

  it('writes the documented example bytes for {x = 7}', function()
    torch.save(tmp('x7.t7'), { x = 7 })
    local s = readfile(tmp('x7.t7'))
    assert.are.equal('\6\0\0\0\0' .. '\5\1\0\0\0\0\0\0\0x' .. '\3\7\0\0\0\0\0\0\0' .. '\0', s:sub(33))
    assert.are.equal(checkpoint(s:sub(33)), s)
  end)

  it('reads a hand-encoded payload (the documented encoding)', function()
    local payload = P.tbl('', P.str('x'), P.int(7), P.str('self'), P.ref(0),
                          P.int(1), P.tensor(2, 0, P.storage(2, 3, string.pack('<i8i8i8', 10, 20, 30)),
                                             1, { 2 }, { 1 }))
    local path = tmp('hand.t7')
    writefile(path, checkpoint(payload))
    local u = torch.load(path)
    assert.are.equal(7, u.x)
    assert.are.equal(u, u.self)
    assert.are.same({ 20, 30 }, u[1]:totable())
    assert.are.equal('torch.LongTensor', u[1]:type())
  end)

  it('never stores code', function()
    torch.save(tmp('code.t7'), nn.Sequential():add(nn.Linear(2, 2)):add(nn.ReLU()))
    local s = readfile(tmp('code.t7'))
    assert.is_nil(s:find('\27Lua', 1, true))
  end)
end)

-- ---- refusals ---------------------------------------------------------------------------
describe('torch.save refuses', function()
  it('functions, naming where they are in the object', function()
    local model = { modules = { {}, { fn = function() end } } }
    local err = H.error_of(torch.save, tmp('f.t7'), model)
    assert.matches('torch.save: cannot save a function at obj%.modules%[2%]%.fn', err)
    err = H.error_of(torch.save, tmp('f.t7'), { ['not an id'] = { print } })
    assert.matches('obj%["not an id"%]%[1%]', err)
    err = H.error_of(torch.save, tmp('f.t7'), print)
    assert.matches('cannot save a function at obj ', err)
  end)

  it('functions used as keys, coroutines and foreign userdata', function()
    assert.matches('a function used as a table key at obj%.inner',
                   H.error_of(torch.save, tmp('f.t7'), { inner = { [print] = 1 } }))
    assert.matches('cannot save a thread at obj%.co',
                   H.error_of(torch.save, tmp('f.t7'), { co = coroutine.create(print) }))
    assert.matches("cannot save a userdata of type 'FILE%*' at obj%.out",
                   H.error_of(torch.save, tmp('f.t7'), { out = io.stdout }))
  end)

  it('tables with a metatable that is not a torch.class', function()
    local err = H.error_of(torch.save, tmp('f.t7'), { timer = torch.Timer() })
    assert.matches('cannot save a table at obj%.timer %(its metatable is not a torch%.class', err)
  end)

  it('tables nested deeper than the limit', function()
    local root = {}
    local t = root
    for _ = 1, 2100 do t.n = {} t = t.n end
    assert.matches('nested more than 2000 deep', H.error_of(torch.save, tmp('f.t7'), root))
  end)

  it('bad arguments', function()
    assert.matches('torch.save: expected a file name', H.error_of(torch.save, nil, {}))
    assert.matches('torch.load: expected a file name', H.error_of(torch.load, 3))
    assert.are.equal(("torch.save: cannot write '%s': directory '%s' does not exist")
                     :format(tmp('no/such/dir/x.t7'), tmp('no/such/dir')),
                     H.error_of(torch.save, tmp('no/such/dir/x.t7'), {}))
    assert.matches('torch.load: cannot open .*missing', H.error_of(torch.load, tmp('missing.t7')))
    assert.matches('torch.load: cannot read .*is a directory', H.error_of(torch.load, dir))
  end)
end)

-- ---- atomic replacement -----------------------------------------------------------------
describe('atomic saves', function()
  it('leave the old file intact and no temporary when a save fails midway', function()
    local path = tmp('atomic.t7')
    torch.save(path, { version = 'old', data = torch.randn(100) })
    local before = readfile(path)
    local files = listdir()
    -- the function sits after a large tensor, deep inside: the save has written much
    local bad = { data = torch.randn(100000), deep = { a = { b = { c = { f = function() end } } } } }
    assert.matches('obj%.deep%.a%.b%.c%.f', H.error_of(torch.save, path, bad))
    assert.are.equal(before, readfile(path))
    assert.are.equal('old', torch.load(path).version)
    assert.are.same(files, listdir())
  end)

  it('replace the old file completely on success', function()
    local path = tmp('replace.t7')
    torch.save(path, string.rep('x', 100000))
    torch.save(path, 'short')
    assert.are.equal('short', torch.load(path))
    for _, name in ipairs(listdir()) do assert.is_nil(name:find('%.tmp%-')) end
  end)

  -- a pid no process has: the shell's own, once it has exited and been waited for
  local function dead_pid()
    local p = io.popen('echo $$')
    local pid = p:read('n')
    p:close()
    return pid
  end
  local function own_pid()
    local f = io.open('/proc/self/stat')
    local pid = f:read('n')
    f:close()
    return pid
  end
  local function exists(path)
    local f = io.open(path)
    if f then f:close() end
    return f ~= nil
  end

  it("remove the temporaries a killed writer left for the same path, never a live writer's", function()
    local p = io.popen('sleep 60 >/dev/null 2>&1 & echo $!')
    local live = p:read('n')
    p:close()
    finally(function() os.execute('kill ' .. live .. ' 2>/dev/null') end)
    local dead, own = dead_pid(), own_pid()
    assert.is_true(live > 0 and dead > 0 and own > 0 and dead ~= own)
    local path = tmp('stale.t7')
    local gone = path .. '.tmp-' .. dead .. '-7'
    local kept = { path .. '.tmp-' .. live .. '-7',           -- a writer still running
                   path .. '.tmp-' .. own .. '-7',            -- this process's
                   tmp('other.t7') .. '.tmp-' .. dead .. '-7', -- another path's
                   path .. '.tmp-' .. dead .. '-7.bak' }      -- not a temporary's name
    writefile(gone, 'partial')
    for _, name in ipairs(kept) do writefile(name, 'partial') end
    torch.save(path, { 1 })
    assert.is_false(exists(gone))
    for _, name in ipairs(kept) do assert.is_true(exists(name), name) end
    assert.are.same({ 1 }, torch.load(path))
    -- saveSafetensors goes through the same writer
    local spath = tmp('stale.safetensors')
    writefile(spath .. '.tmp-' .. dead .. '-3', 'partial')
    writefile(spath .. '.tmp-' .. live .. '-3', 'partial')
    torch.saveSafetensors(spath, { x = torch.ones(2) })
    assert.is_false(exists(spath .. '.tmp-' .. dead .. '-3'))
    assert.is_true(exists(spath .. '.tmp-' .. live .. '-3'))
    -- a failed save cleans up as well: the stale temporaries go when the writer opens
    writefile(gone, 'partial')
    assert.matches('cannot save a function', H.error_of(torch.save, path, { f = print }))
    assert.is_false(exists(gone))
    for _, name in ipairs(kept) do os.remove(name) end
    os.remove(spath .. '.tmp-' .. live .. '-3')
  end)

  it('name the path given, not the temporary, when the directory is missing', function()
    local path = tmp('no/such/dir/m.t7')
    assert.are.equal(("torch.save: cannot write '%s': directory '%s' does not exist")
                     :format(path, tmp('no/such/dir')), H.error_of(torch.save, path, {}))
    assert.are.equal("torch.save: cannot write 'nosuchdir/m.t7': directory 'nosuchdir' does not exist",
                     H.error_of(torch.save, 'nosuchdir/m.t7', {}))
    assert.are.equal(("torch.saveSafetensors: cannot write '%s': directory '%s' does not exist")
                     :format(tmp('none/x.safetensors'), tmp('none')),
                     H.error_of(torch.saveSafetensors, tmp('none/x.safetensors'), {}))
    writefile(tmp('afile'), '')
    assert.are.equal(("torch.save: cannot write '%s': '%s' is not a directory")
                     :format(tmp('afile/m.t7'), tmp('afile')), H.error_of(torch.save, tmp('afile/m.t7'), {}))
    os.remove(tmp('afile'))
    assert.are.equal(("torch.save: cannot write '%s': it is a directory"):format(dir),
                     H.error_of(torch.save, dir, {}))
    for _, name in ipairs(listdir()) do assert.is_nil(name:find('%.tmp%-')) end
  end)
end)

-- ---- corrupt files ------------------------------------------------------------------------
describe('torch.load of corrupt files', function()
  local good
  setup(function()
    torch.save(tmp('good.t7'), { a = 1, t = torch.randn(3, 2), s = 'str', nested = { x = true } })
    good = readfile(tmp('good.t7'))
  end)

  it('reports a bad magic number', function()
    assert.matches('not a luatorch checkpoint %(bad magic%)', load_bytes('hello, world'))
    assert.matches('bad magic', load_bytes(''))
    assert.matches('bad magic', load_bytes('x' .. good:sub(2)))
  end)

  it('reports header flags it does not know, in hexadecimal', function()
    assert.matches('unsupported header flags 0x00000001 %(this luatorch reads version 1 files with flags 0%)',
                   load_bytes(checkpoint(P.int(1), 1, 1)))
    assert.matches('unsupported header flags 0x8000ff00', load_bytes(checkpoint(P.int(1), 1, 0x8000ff00)))
  end)

  it('reports an unsupported version', function()
    assert.matches('unsupported checkpoint format version 2 %(this luatorch reads version 1%)',
                   load_bytes(good:sub(1, 8) .. string.pack('<I4', 2) .. good:sub(13)))
  end)

  it('reports truncation at every offset, with the offset', function()
    for n = 0, #good - 1 do
      local err = load_bytes(good:sub(1, n))
      if n < 8 then
        assert.matches('bad magic', err)
      else
        assert.matches('truncated at offset ' .. n, err)
      end
    end
  end)

  it('reports trailing data', function()
    assert.matches('3 bytes of trailing data', load_bytes(good .. 'xyz'))
  end)

  it('reports a CRC mismatch for any flipped payload byte', function()
    for pos = 33, #good, 7 do
      local flipped = good:sub(1, pos - 1) .. string.char(good:byte(pos) ~ 0x5a) .. good:sub(pos + 1)
      assert.matches('CRC mismatch %(stored %x+, computed %x+%): the file is corrupt', load_bytes(flipped))
    end
  end)

  it('reports payloads that pass the CRC but are malformed, with their offset', function()
    assert.matches('corrupt checkpoint at offset 32: unknown value tag 200', load_bytes(checkpoint('\200')))
    assert.matches('at offset 33: the payload ends', load_bytes(checkpoint(string.pack('<B', 3) .. 'abc')))
    assert.matches('not defined before it', load_bytes(checkpoint(P.ref(0))))
    assert.matches('not defined before it', load_bytes(checkpoint(P.tbl('', P.int(1), P.ref(5)))))
    assert.matches('the payload ends', load_bytes(checkpoint(string.pack('<BI8', 5, 1 << 40) .. 'ab')))
    assert.matches('data after the value', load_bytes(checkpoint(P.int(1) .. P.int(2))))
    assert.matches('unknown dtype code 9', load_bytes(checkpoint(P.storage(9, 0, ''))))
    assert.matches('does not fit', load_bytes(checkpoint(P.storage(0, 1 << 60, ''))))
    assert.matches('a NaN table key', load_bytes(checkpoint(P.tbl('', string.pack('<Bd', 4, 0 / 0), P.int(1)))))
    assert.matches('a nil table value', load_bytes(checkpoint(P.tbl('', P.int(1), '\0'))))
    local st = P.storage(0, 4, string.rep('\0', 16))
    assert.matches('reach outside its storage', load_bytes(checkpoint(P.tensor(0, 0, st, 0, { 5 }, { 1 }))))
    assert.matches('reach outside its storage', load_bytes(checkpoint(P.tensor(0, 0, st, 2, { 2, 2 }, { 1, 1 }))))
    assert.matches('reach outside its storage',
                   load_bytes(checkpoint(P.tensor(0, 0, st, 0, { 3, 3 }, { math.maxinteger, 2 }))))
    assert.matches('negative stride', load_bytes(checkpoint(P.tensor(0, 0, st, 0, { 2 }, { -1 }))))
    assert.matches('negative size', load_bytes(checkpoint(P.tensor(0, 0, st, 0, { -2 }, { 1 }))))
    assert.matches('17 dimensions', load_bytes(checkpoint(string.pack('<BBBB', 9, 0, 17, 0))))
    assert.matches("storage is not a storage", load_bytes(checkpoint(P.tensor(0, 0, P.int(3), 0, {}, {}))))
    assert.matches('storage has another dtype',
                   load_bytes(checkpoint(P.tensor(1, 0, st, 0, { 1 }, { 1 }))))
    assert.matches('integer tensor that requires grad',
                   load_bytes(checkpoint(P.tensor(2, 1, P.storage(2, 1, string.rep('\0', 8)), 0, { 1 }, { 1 }))))
    assert.matches("grad is not a tensor of its shape",
                   load_bytes(checkpoint(P.tensor(0, 2, st, 0, { 4 }, { 1 }) .. P.int(1))))
    assert.matches('still being read',
                   load_bytes(checkpoint(P.tensor(0, 0, P.ref(0), 0, { 1 }, { 1 }))))
    assert.matches('unknown tensor flags', load_bytes(checkpoint(P.tensor(0, 8, st, 0, { 1 }, { 1 }))))
  end)

  -- found by the fuzzer (make fuzz FUZZ_TARGET=checkpoint): a tensor that is its own grad,
  -- through a reference, was a reference cycle that leaked the tensor and its storage
  it('refuses a grad chain that leads back to the tensor', function()
    local st = P.storage(0, 4, string.rep('\0', 16))
    assert.matches("offset 86: a tensor's grad chain leads back to the tensor itself",
                   load_bytes(checkpoint(P.tensor(0, 2, st, 0, { 4 }, { 1 }) .. P.ref(0))))
    local b = P.tensor(0, 2, P.ref(1), 0, { 4 }, { 1 }) .. P.ref(0)      -- id 2, its grad: id 0
    assert.matches("grad chain leads back", load_bytes(checkpoint(P.tensor(0, 2, st, 0, { 4 }, { 1 }) .. b)))
    -- a grad with a grad of its own is fine
    local c = P.tensor(0, 2, P.ref(1), 0, { 4 }, { 1 }) .. P.tensor(0, 0, P.ref(1), 0, { 4 }, { 1 })
    writefile(tmp('chain.t7'), checkpoint(P.tensor(0, 2, st, 0, { 4 }, { 1 }) .. c))
    local t = torch.load(tmp('chain.t7'))
    assert.is_true(torch.isTensor(t.grad.grad))
    assert.is_nil(t.grad.grad.grad)
  end)

  it('never crashes on any corrupted byte behind a valid CRC', function()
    local m = nn.Sequential():add(nn.Linear(2, 3))
    local w = torch.randn(2, 2)
    w.requiresGrad, w.grad = true, torch.zeros(2, 2)
    local obj = { m = m, w = w, v = w:t(), s = 'str', n = 1.5, list = { 1, 2, { 3 } } }
    obj.self = obj
    torch.save(tmp('fuzz.t7'), obj)
    local payload = readfile(tmp('fuzz.t7')):sub(33)
    local errors = 0
    for pos = 1, #payload do
      for _, x in ipairs({ 0xff, 0x01, 0x80 }) do
        local p = payload:sub(1, pos - 1) .. string.char(payload:byte(pos) ~ x) .. payload:sub(pos + 1)
        writefile(tmp('fuzzed.t7'), checkpoint(p))
        local ok, err = pcall(torch.load, tmp('fuzzed.t7'))
        if not ok then
          errors = errors + 1
          assert.matches('torch%.load: ', err)
        end
      end
    end
    assert.is_true(errors > 0)
  end)

  it('reports unknown classes and too deep nesting', function()
    assert.matches("unknown class 'nosuch.Class'", load_bytes(checkpoint(P.tbl('nosuch.Class'))))
    local deep = string.rep(string.pack('<BI4', 6, 0) .. P.int(1), 2100)
    assert.matches('nested more than 2000 deep', load_bytes(checkpoint(deep)))
  end)
end)

-- ---- messages formatted by Lua ---------------------------------------------------------------
-- lua_pushfstring and luaL_error know only %% %s %f %I %p %d %c %U (no flags, widths or %x):
-- any other conversion raises "invalid option" instead of the message, as the header flags'
-- message once did. Every format in the bindings is checked here, those passed through the
-- files' own vararg wrappers (lua_pushvfstring) included.
describe('the C bindings', function()
  local root = H.fixture_dir .. '../../lua/'

  -- The string literals that open the argument after 'L,' of the call starting at i.
  local function format_at(src, i)
    local j = src:find('%S', (src:find(',', i, true) or #src) + 1)
    local parts = {}
    while j and src:sub(j, j) == '"' do
      local k = j + 1
      while src:sub(k, k) ~= '"' do k = k + (src:sub(k, k) == '\\' and 2 or 1) end
      parts[#parts + 1] = src:sub(j + 1, k - 1)
      j = src:find('%S', k + 1)
    end
    return #parts > 0 and table.concat(parts) or nil
  end

  it('pass Lua formats only conversions that Lua formats', function()
    local p = io.popen('ls ' .. root .. '*.c')
    local checked, bad = 0, {}
    for file in p:lines() do
      local src = H.readfile(file)
      local fns = { 'lua_pushfstring', 'luaL_error' }
      for name in src:gmatch('(%w+)%(lua_State %*L, const char %*fmt, %.%.%.%)') do
        if src:find('lua_pushvfstring%(L, fmt') then fns[#fns + 1] = name end
      end
      for _, fn in ipairs(fns) do
        for i in src:gmatch('%f[%w_]' .. fn .. '%s*%(()') do
          local fmt = format_at(src, i)
          if fmt then
            checked = checked + 1
            for conv in fmt:gsub('%%%%', ''):gmatch('%%(.)') do
              if not ('sfIpdcU'):find(conv, 1, true) then
                local line = select(2, src:sub(1, i):gsub('\n', '')) + 1
                bad[#bad + 1] = ('%s:%d: %%%s in "%s"'):format(file:match('[^/]+$'), line, conv, fmt)
              end
            end
          end
        end
      end
    end
    p:close()
    assert.is_true(checked > 150, 'found only ' .. checked .. ' formats')
    assert.are.same({}, bad)
  end)
end)
