-- spec/24-statedict_spec.lua — module:stateDict() / module:loadStateDict() with PyTorch's
-- names, torch.saveSafetensors / torch.loadSafetensors (round trips of every dtype and
-- layout, files PyTorch wrote: spec/fixtures/gen_ckpt.py), and corrupt headers.
local torch = require 'torch'
local nn = require 'nn'
local H = require 'helpers'

local dir
local function tmp(name) return dir .. '/' .. name end

local readfile, writefile = H.readfile, H.writefile

local function listdir()
  local names = {}
  local p = io.popen('ls -A "' .. dir .. '"')
  for line in p:lines() do names[#names + 1] = line end
  p:close()
  table.sort(names)
  return names
end

local function maxdiff(a, b)
  return torch.noGrad(function() return (a:double() - b:double()):abs():max() end)
end

local function keys(t)
  local r = {}
  for k in pairs(t) do r[#r + 1] = k end
  table.sort(r)
  return r
end

local function mlp(seed)
  torch.manualSeed(seed or 1)
  return nn.Sequential():add(nn.Linear(4, 8)):add(nn.Tanh()):add(nn.Linear(8, 3))
end

-- a safetensors file from a header (a JSON string) and the data section
local function st_bytes(header, data)
  return string.pack('<I8', #header) .. header .. (data or '')
end
local function load_st(bytes)
  local path = tmp('crafted.safetensors')
  writefile(path, bytes)
  return H.error_of(torch.loadSafetensors, path)
end

setup(function() dir = H.mktempdir() end)
teardown(function() H.rmtree(dir) end)

-- ---- stateDict / loadStateDict ------------------------------------------------------------
describe('module:stateDict()', function()
  it("uses PyTorch's names and shares the parameters' storage", function()
    local m = mlp()
    local sd = m:stateDict()
    assert.are.same({ '0.bias', '0.weight', '2.bias', '2.weight' }, keys(sd))
    assert.are.same({ 8, 4 }, sd['0.weight']:size():totable())
    assert.is_false(sd['0.weight'].requiresGrad)
    assert.is_true(sd['0.weight']:storage() == m.modules[1].weight:storage())
    assert.are.same({ 'bias', 'weight' }, keys(nn.Linear(2, 3):stateDict()))
    assert.are.same({ 'weight' }, keys(nn.Linear(2, 3, false):stateDict()))
    assert.are.same({}, keys(nn.Tanh():stateDict()))
  end)

  it("carries the children's buffers under PyTorch's names, and loads them back", function()
    -- nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).state_dict() in PyTorch has these keys
    local function net() return nn.Sequential():add(nn.Linear(3, 4)):add(nn.BatchNormalization(4)) end
    local src, dst = net(), net()
    src:training()
    src:forward(torch.randn(6, 3) * 3 + 1)  -- moves the running statistics off 0 / 1
    assert.are.same({ '0.bias', '0.weight', '1.bias', '1.num_batches_tracked', '1.running_mean',
                      '1.running_var', '1.weight' }, keys(src:stateDict()))
    dst:loadStateDict(src:stateDict())
    assert.are.equal(0, maxdiff(dst.modules[2].running_mean, src.modules[2].running_mean))
    assert.are.equal(0, maxdiff(dst.modules[2].running_var, src.modules[2].running_var))
    assert.is_true(src.modules[2].running_mean:norm() > 0)
    src:evaluate(); dst:evaluate()
    local x = torch.randn(5, 3)
    assert.are.equal(0, maxdiff(dst:forward(x), src:forward(x)))
  end)

  it('nests container indices', function()
    local m = nn.Sequential():add(nn.Sequential():add(nn.Linear(2, 2))):add(nn.ReLU()):add(nn.Linear(2, 1))
    assert.are.same({ '0.0.bias', '0.0.weight', '2.bias', '2.weight' }, keys(m:stateDict()))
  end)
end)

describe('module:loadStateDict()', function()
  it('copies the values in, and the model computes what the source computes', function()
    local src, dst = mlp(1), mlp(2)
    local x = torch.randn(5, 4)
    local r = dst:loadStateDict(src:stateDict())
    assert.are.same({ missing = {}, unexpected = {} }, r)
    assert.are.equal(0, maxdiff(dst:forward(x), src:forward(x)))
    -- copies, not aliases: the parameters keep their own storage and their gradients
    assert.is_false(dst.modules[1].weight:storage() == src.modules[1].weight:storage())
    assert.is_true(dst.modules[1].weight.requiresGrad)
    local loss = (dst(x) ^ 2):sum()
    loss:backward()
    assert.is_true(dst.modules[1].gradWeight:abs():sum() > 0)
  end)

  it('converts between Float and Double as PyTorch copies do', function()
    local src, dst = mlp(1), mlp(2):double()
    dst:loadStateDict(src:stateDict())
    assert.are.equal('torch.DoubleTensor', dst.modules[1].weight:type())
    assert.is_true(maxdiff(dst.modules[1].weight, src.modules[1].weight) == 0)
  end)

  it('refuses missing and unexpected keys in strict mode, changing nothing', function()
    local m = mlp(2)
    local before = m.modules[1].weight:clone()
    local sd = mlp(1):stateDict()
    sd['2.bias'] = nil
    sd['9.weight'] = torch.randn(2)
    local err = H.error_of(m.loadStateDict, m, sd)
    assert.matches('loadStateDict: missing keys: 2%.bias; unexpected keys: 9%.weight', err)
    assert.are.equal(0, maxdiff(before, m.modules[1].weight))
    local r = m:loadStateDict(sd, false)
    assert.are.same({ missing = { '2.bias' }, unexpected = { '9.weight' } }, r)
    assert.are.equal(0, maxdiff(sd['0.weight'], m.modules[1].weight))
  end)

  it('checks shapes and types, naming the key', function()
    local m = mlp()
    local sd = m:stateDict()
    sd['0.weight'] = torch.randn(4, 8)
    assert.matches("loadStateDict: size mismatch for '0%.weight': the module has %[8 x 4%], the state dict %[4 x 8%]",
                   H.error_of(m.loadStateDict, m, sd))
    sd = m:stateDict()
    sd['0.bias'] = torch.LongTensor(8)
    assert.matches("type mismatch for '0%.bias': the module has torch%.FloatTensor, the state dict torch%.LongTensor",
                   H.error_of(m.loadStateDict, m, sd))
    sd = m:stateDict()
    sd['0.bias'] = 'nope'
    assert.matches("'0%.bias' is a string, expected a tensor", H.error_of(m.loadStateDict, m, sd))
    assert.matches('expected a table of name %-> tensor', H.error_of(m.loadStateDict, m, 5))
  end)
end)

-- ---- safetensors round trips ---------------------------------------------------------------
describe('torch.saveSafetensors / torch.loadSafetensors', function()
  it('round-trip every dtype, scalars, empty and non-contiguous tensors, and metadata', function()
    local base = torch.randn(3, 4)
    local t = {
      f32 = torch.randn(2, 3), f64 = torch.randn(5):double(),
      i64 = torch.LongTensor({ math.mininteger, -1, 0, math.maxinteger }),
      u8 = torch.ByteTensor({ 0, 7, 255 }), scalar = torch.FloatTensor({ 1.5 }):view(1):squeeze(),
      empty = torch.DoubleTensor(0, 2), tr = base:t(), nar = base:narrow(2, 2, 2),
      exp = torch.randn(3):view(3, 1):expand(3, 4), ['a.b/c d'] = torch.ones(1),
    }
    local path = tmp('rt.safetensors')
    torch.saveSafetensors(path, t, { format = 'pt', note = 'hello "quoted" \\ text' })
    local u, meta = torch.loadSafetensors(path)
    assert.are.same(keys(t), keys(u))
    for k, v in pairs(t) do
      assert.are.equal(v:type(), u[k]:type())
      assert.are.same(v:size():totable(), u[k]:size():totable())
      assert.are.same(v:totable(), u[k]:totable())
      assert.is_true(u[k]:isContiguous())
    end
    assert.are.equal(math.mininteger, u.i64[1])
    assert.are.equal(0, u.scalar:dim())
    assert.are.same({ format = 'pt', note = 'hello "quoted" \\ text' }, meta)
  end)

  it('write the reference layout: aligned header, wide dtypes first, tight data', function()
    local path = tmp('layout.safetensors')
    torch.saveSafetensors(path, { b = torch.ByteTensor(3), d = torch.DoubleTensor(2), f = torch.FloatTensor(1) })
    local s = readfile(path)
    local n = string.unpack('<I8', s)
    assert.are.equal(0, (8 + n) % 8)
    local header = s:sub(9, 8 + n)
    assert.matches('^{"d":{"dtype":"F64","shape":%[2%],"data_offsets":%[0,16%]},'
                   .. '"f":{"dtype":"F32","shape":%[1%],"data_offsets":%[16,20%]},'
                   .. '"b":{"dtype":"U8","shape":%[3%],"data_offsets":%[20,23%]}} *$', header)
    assert.are.equal(8 + n + 23, #s)
    local u, meta = torch.loadSafetensors(path)
    assert.are.same({}, meta)
    assert.are.same({ 2 }, u.d:size():totable())
  end)

  it('save a state dict that loads back into a fresh model', function()
    local src, dst = mlp(1), mlp(2)
    torch.saveSafetensors(tmp('m.safetensors'), src:stateDict())
    dst:loadStateDict((torch.loadSafetensors(tmp('m.safetensors'))))
    local x = torch.randn(3, 4)
    assert.are.equal(0, maxdiff(dst:forward(x), src:forward(x)))
  end)

  it('refuse bad arguments before touching the file', function()
    local path = tmp('keep.safetensors')
    torch.saveSafetensors(path, { x = torch.ones(2) })
    local before = readfile(path)
    local files = listdir()
    assert.matches("torch.saveSafetensors: 'y' is a number, expected a tensor",
                   H.error_of(torch.saveSafetensors, path, { x = torch.ones(1), y = 3 }))
    assert.matches('tensor names must be strings, got a number key',
                   H.error_of(torch.saveSafetensors, path, { torch.ones(1) }))
    assert.matches("'__metadata__' is reserved",
                   H.error_of(torch.saveSafetensors, path, { __metadata__ = torch.ones(1) }))
    assert.matches('metadata must map strings to strings',
                   H.error_of(torch.saveSafetensors, path, { x = torch.ones(1) }, { n = 1 }))
    assert.matches('expected a table of tensors', H.error_of(torch.saveSafetensors, path, 5))
    assert.matches("cannot write '.*nodir/x.safetensors': directory '.*nodir' does not exist",
                   H.error_of(torch.saveSafetensors, tmp('nodir/x.safetensors'), {}))
    assert.are.equal(before, readfile(path))
    assert.are.same(files, listdir())
    assert.matches('torch.loadSafetensors: cannot open', H.error_of(torch.loadSafetensors, tmp('none')))
  end)
end)

-- ---- files PyTorch wrote ----------------------------------------------------------------
describe('safetensors files written by PyTorch (spec/fixtures/gen_ckpt.py)', function()
  local F = H.fixture('ckpt')

  it('load into the nn model and give PyTorch outputs', function()
    local sd, meta = torch.loadSafetensors(H.fixture_dir .. 'ckpt_mlp.safetensors')
    assert.are.same({ format = 'pt' }, meta)
    local m = mlp(99)
    m:loadStateDict(sd)
    H.close(m:forward(H.tensor(F.mlp.input)), F.mlp.output, 1e-5, 1e-6)
  end)

  it('read F32, F64, I64, U8, scalars and empty tensors exactly', function()
    local t, meta = torch.loadSafetensors(H.fixture_dir .. 'ckpt_dtypes.safetensors')
    assert.are.same({ note = 'dtypes' }, meta)
    assert.are.equal('torch.FloatTensor', t.f32:type())
    H.close(t.f32, F.dtypes.f32, 0, 0)
    assert.are.equal('torch.DoubleTensor', t.f64:type())
    H.close(t.f64, F.dtypes.f64, 0, 0)
    assert.are.equal('torch.LongTensor', t.i64:type())
    for i, s in ipairs(F.dtypes_i64) do assert.are.equal(tonumber(s), t.i64[i]) end
    assert.are.equal('torch.ByteTensor', t.u8:type())
    assert.are.same(F.dtypes.u8.data, t.u8:totable())
    assert.are.equal(0, t.scalar:dim())
    assert.are.equal(3.25, t.scalar:item())
    assert.are.same({ 0, 4 }, t.empty:size():totable())
  end)

  local seed_it = (nn.LSTM and nn.Select) and it or pending
  seed_it('load the seed model (nn.LSTM 28 -> 128, nn.Linear 128 -> 10) and give PyTorch outputs', function()
    -- PyTorch's seed module names its parts lstm and fc; the luatorch seed model is one
    -- Sequential (LSTM, last step, Linear), so '0.' and '2.' take their places
    local sd = torch.loadSafetensors(H.fixture_dir .. 'ckpt_seed.safetensors')
    local renamed = {}
    for k, v in pairs(sd) do renamed[(k:gsub('^lstm%.', '0.'):gsub('^fc%.', '2.'))] = v end
    local model = nn.Sequential():add(nn.LSTM(28, 128, 1, { batchFirst = true }))
                                 :add(nn.Select(2, -1)):add(nn.Linear(128, 10))
    assert.are.same({ '0.bias_hh_l0', '0.bias_ih_l0', '0.weight_hh_l0', '0.weight_ih_l0',
                      '2.bias', '2.weight' }, keys(model:stateDict()))
    model:loadStateDict(renamed)
    local x = H.tensor(F.seed.input)                -- batch x time x features
    H.close(model:forward(x), F.seed.output, 1e-4, 1e-5)
    -- and back: the state dict luatorch writes holds PyTorch's tensors unchanged
    torch.saveSafetensors(tmp('seed.safetensors'), model:stateDict())
    local back = torch.loadSafetensors(tmp('seed.safetensors'))
    for k, v in pairs(renamed) do assert.are.equal(0, maxdiff(v, back[k])) end
  end)
end)

describe('spec/fixtures/write_safetensors.lua (the file gen_ckpt.py --check loads in PyTorch)', function()
  local exe = os.getenv('LUATORCH_EXE')
  local exe_it = (exe and nn.LSTM) and it or pending
  exe_it('writes a state dict, inputs, outputs and tensors of every dtype', function()
    local path = tmp('luatorch.safetensors')
    local cmd = ('"%s" "%sfixtures/write_safetensors.lua" "%s" 2>&1'):format(exe, H.fixture_dir:gsub('fixtures/$', ''), path)
    local p = io.popen(cmd)
    local output = p:read('a')
    assert.is_true(p:close(), output)
    local t, meta = torch.loadSafetensors(path)
    assert.are.same({ framework = 'luatorch' }, meta)
    local m = mlp(5)
    local sd = {}
    for k, v in pairs(t) do if k:match('^%d') then sd[k] = v end end
    m:loadStateDict(sd)
    H.close(m:forward(t.input), t.output, 1e-6, 1e-7)
    assert.are.equal('torch.LongTensor', t['extra.i64']:type())
    assert.are.same({ 3, 2 }, t['extra.transposed']:size():totable())
    assert.is_not_nil(t['seed.0.weight_ih_l0'])
  end)
end)

-- ---- corrupt files --------------------------------------------------------------------------
describe('torch.loadSafetensors of corrupt files', function()
  local function entry(name, dtype, shape, b, e)
    return ('"%s":{"dtype":"%s","shape":[%s],"data_offsets":[%d,%d]}'):format(name, dtype, shape, b, e)
  end

  it('reports files too small or with a header length beyond the file', function()
    assert.matches('file too small for a safetensors header %(3 bytes%)', load_st('abc'))
    assert.matches('file too small', load_st(''))
    assert.matches('header length 100 reaches beyond the end of the file %(12 bytes%)',
                   load_st(string.pack('<I8', 100) .. '{}  '))
    assert.matches('reaches beyond the end', load_st(string.rep('\255', 16)))
  end)

  it('reports bad JSON', function()
    assert.matches('invalid JSON in the header near byte', load_st(st_bytes('{"a": ')))
    assert.matches('invalid JSON', load_st(st_bytes('not json')))
    assert.matches('trailing data after the JSON header', load_st(st_bytes('{} x')))
    assert.matches('the header is not a JSON object', load_st(st_bytes('[1, 2]')))
    assert.matches("tensor 'a': expected an object", load_st(st_bytes('{"a": 3}')))
  end)

  it('reports bad dtypes, shapes and offsets', function()
    local data = string.rep('\0', 16)
    assert.matches("tensor 'a': unsupported dtype 'F16'",
                   load_st(st_bytes('{' .. entry('a', 'F16', '2', 0, 4) .. '}', data:sub(1, 4))))
    assert.matches("tensor 'a': missing dtype", load_st(st_bytes('{"a":{"shape":[1],"data_offsets":[0,4]}}', data:sub(1, 4))))
    assert.matches("tensor 'a': missing shape", load_st(st_bytes('{"a":{"dtype":"F32","data_offsets":[0,4]}}', data:sub(1, 4))))
    assert.matches('shape entries must be non%-negative integers',
                   load_st(st_bytes('{' .. entry('a', 'F32', '-1', 0, 4) .. '}', data:sub(1, 4))))
    assert.matches('shape entries must be non%-negative integers',
                   load_st(st_bytes('{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}', data:sub(1, 4))))
    assert.matches('data_offsets must be %[begin, end%]',
                   load_st(st_bytes('{' .. entry('a', 'F32', '1', 4, 0) .. '}', data:sub(1, 4))))
    assert.matches('data_offsets must be %[begin, end%]',
                   load_st(st_bytes('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}', data:sub(1, 4))))
    assert.matches("tensor 'a': data_offsets %[0, 64%] reach beyond the 16 bytes of data",
                   load_st(st_bytes('{' .. entry('a', 'F32', '16', 0, 64) .. '}', data)))
    -- wrong sizes for the dtype: F64 x 2 needs 16 bytes, the range holds 8
    assert.matches("tensor 'a': data_offsets %[0, 8%] hold 8 bytes, but shape %[2%] of F64 needs 16",
                   load_st(st_bytes('{' .. entry('a', 'F64', '2', 0, 8) .. '}', data:sub(1, 8))))
    assert.matches('needs more than',
                   load_st(st_bytes('{' .. entry('a', 'F64', '4294967296,4294967296', 0, 8) .. '}', data:sub(1, 8))))
    assert.matches('17 dimensions',
                   load_st(st_bytes('{' .. entry('a', 'U8', string.rep('1,', 16) .. '1', 0, 1) .. '}', data:sub(1, 1))))
  end)

  it('reports overlapping ranges, gaps and uncovered data', function()
    local data = string.rep('\0', 16)
    assert.matches("tensors 'a' and 'b' overlap %(bytes %[0, 8%) and %[4, 12%)%)",
                   load_st(st_bytes('{' .. entry('a', 'F32', '2', 0, 8) .. ',' .. entry('b', 'F32', '2', 4, 12) .. '}', data:sub(1, 12))))
    assert.matches("gap in the data before tensor 'b'",
                   load_st(st_bytes('{' .. entry('a', 'F32', '1', 0, 4) .. ',' .. entry('b', 'F32', '1', 8, 12) .. '}', data:sub(1, 12))))
    assert.matches('the tensors cover 4 bytes of data, the file holds 16',
                   load_st(st_bytes('{' .. entry('a', 'F32', '1', 0, 4) .. '}', data)))
    assert.matches("tensor 'a' appears twice",
                   load_st(st_bytes('{' .. entry('a', 'F32', '1', 0, 4) .. ',' .. entry('a', 'F32', '1', 4, 8) .. '}', data:sub(1, 8))))
  end)

  -- found by the fuzzer (make fuzz FUZZ_TARGET=safetensors): cJSON hands names over as C
  -- strings, so a NUL in a name (raw, or escaped as \u0000) cut it short: "\0e" loaded as ""
  it('refuse a NUL character in names and metadata, raw or escaped', function()
    local data = string.rep('\0', 4)
    assert.matches('a NUL character in the header at byte 10 %(names and metadata cannot hold one%)',
                   load_st(st_bytes('{"\0e":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', data)))
    assert.matches('a NUL character in the header at byte 10',
                   load_st(st_bytes([[{"\u0000e":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}]], data)))
    assert.matches('a NUL character in the header at byte 31',
                   load_st(st_bytes([[{"__metadata__":{"k":"a\u0000b"}}]])))
    -- an escaped quote does not end the name: the NUL after it is still inside
    assert.matches('a NUL character in the header at byte 13',
                   load_st(st_bytes([[{"q\"\u0000x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}]], data)))
    -- an escaped backslash followed by u0000 is the text \u0000, no NUL
    local path = tmp('esc.safetensors')
    writefile(path, st_bytes([[{"__metadata__":{"k":"a\\u0000"},"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}]], '\7'))
    local t, meta = torch.loadSafetensors(path)
    assert.are.equal([[a\u0000]], meta.k)
    assert.are.equal(7, t.x[1])
  end)

  it('round-trip an empty name; refuse names and metadata with NUL bytes when saving', function()
    local path = tmp('names.safetensors')
    torch.saveSafetensors(path, { [''] = torch.ones(2) })
    assert.are.same({ 1, 1 }, torch.loadSafetensors(path)[''] :totable())
    assert.matches('tensor names must not hold NUL bytes',
                   H.error_of(torch.saveSafetensors, path, { ['a\0b'] = torch.ones(1) }))
    assert.matches('metadata must not hold NUL bytes',
                   H.error_of(torch.saveSafetensors, path, { a = torch.ones(1) }, { k = 'v\0w' }))
    assert.matches('metadata must not hold NUL bytes',
                   H.error_of(torch.saveSafetensors, path, { a = torch.ones(1) }, { ['k\0'] = 'v' }))
  end)

  it('reports bad metadata', function()
    assert.matches('__metadata__ must be an object', load_st(st_bytes('{"__metadata__": 5}')))
    assert.matches("__metadata__ values must be strings %('n' is not%)",
                   load_st(st_bytes('{"__metadata__": {"n": 1}}')))
  end)

  it('never crashes on a truncated or bit-flipped file', function()
    local path = tmp('src.safetensors')
    torch.saveSafetensors(path, { w = torch.randn(3, 2), b = torch.LongTensor({ 1, 2 }) }, { k = 'v' })
    local good = readfile(path)
    for n = 0, #good - 1 do
      local ok, err = pcall(torch.loadSafetensors, (function()
        writefile(tmp('cut.safetensors'), good:sub(1, n))
        return tmp('cut.safetensors')
      end)())
      assert.is_false(ok)
      assert.matches('torch.loadSafetensors: ', err)
    end
    for pos = 1, #good do
      writefile(tmp('flip.safetensors'), good:sub(1, pos - 1) .. string.char(good:byte(pos) ~ 0xff) .. good:sub(pos + 1))
      pcall(torch.loadSafetensors, tmp('flip.safetensors'))   -- an error or data; never a crash
    end
  end)
end)
