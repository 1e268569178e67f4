-- The IDX reader (datasets/idx.c, torch.readIDX): every element type, plain and gzip files,
-- and every kind of malformed file, crafted byte by byte in a temporary directory (gzip
-- through the system's gzip(1), independent of luatorch). Real files: the shipped mnist-10k
-- subset and Debian's Fashion-MNIST, checked against their bytes read directly.
local torch = require 'torch'
local H = require 'helpers'

local here = debug.getinfo(1, 'S').source:match('^@(.*/)') or './'
local MNIST10K = here .. '../datasets/data/mnist-10k/'
local FASHION = '/usr/share/datasets/fashion-mnist/'

local tmp = os.tmpname()
os.remove(tmp)
assert(os.execute('mkdir -p ' .. tmp))

local function write(name, bytes)
  local path = tmp .. '/' .. name
  local f = assert(io.open(path, 'wb'))
  f:write(bytes)
  f:close()
  return path
end

local function slurp(path)
  local f = assert(io.open(path, 'rb'))
  local s = f:read('a')
  f:close()
  return s
end

-- gzip(1) of bytes, as a string
local function gzip(bytes)
  local src = write('gz-src', bytes)
  local p = assert(io.popen('gzip -n -c ' .. src))
  local out = p:read('a')
  p:close()
  return out
end

local function gunzip(path)
  local p = assert(io.popen('gzip -d -c ' .. path))
  local out = p:read('a')
  p:close()
  return out
end

local idx = H.idx_bytes

local function bytes(n, f)
  local t = {}
  for i = 1, n do t[i] = string.char(f(i)) end
  return table.concat(t)
end

-- same type, shape and elements
local function equal(a, b)
  if a:type() ~= b:type() or not a:isSameSizeAs(b) then return false end
  return a:nElement() == 0 or a:ne(b):sum() == 0
end

-- readIDX must fail with "readIDX: <path>: " followed by a message matching pattern
local function fails(path, pattern, ndim)
  local ok, err = pcall(torch.readIDX, path, ndim)
  assert(not ok, 'expected an error for ' .. path)
  err = tostring(err)
  local prefix = 'readIDX: ' .. path .. ': '
  assert(err:find(prefix, 1, true), 'error does not name the file: ' .. err)
  assert(err:find(pattern), ('error "%s" does not match "%s"'):format(err, pattern))
  return err
end

describe('torch.readIDX', function()
  teardown(function() os.execute('rm -rf ' .. tmp) end)

  local img = idx(0x08, { 2, 3, 4 }, bytes(24, function(i) return (i * 37) % 256 end))

  describe('valid files', function()
    it('reads ubyte data as a ByteTensor of the declared shape, row-major', function()
      local t = torch.readIDX(write('u8.idx', img))
      assert.equal('torch.ByteTensor', t:type())
      assert.same({ 2, 3, 4 }, t:size():totable())
      assert.is_true(t:isContiguous())
      for a = 1, 2 do
        for b = 1, 3 do
          for c = 1, 4 do
            local i = (a - 1) * 12 + (b - 1) * 4 + c
            assert.equal((i * 37) % 256, t[a][b][c])
          end
        end
      end
    end)

    it('reads the same data from gzip, detected by its magic whatever the name', function()
      local plain = torch.readIDX(write('u8b.idx', img))
      local gz = torch.readIDX(write('u8.gz', gzip(img)))
      local noext = torch.readIDX(write('u8-gzip-noext', gzip(img)))
      assert.is_true(equal(plain, gz))
      assert.is_true(equal(plain, noext))
    end)

    it('reads concatenated gzip members as one stream', function()
      local t = torch.readIDX(write('multi.gz', gzip(img:sub(1, 7)) .. gzip(img:sub(8))))
      assert.is_true(equal(torch.readIDX(write('u8c.idx', img)), t))
    end)

    it('converts signed byte, short and int (big-endian) to LongTensor', function()
      local b = torch.readIDX(write('i8.idx', idx(0x09, { 4 }, string.char(0x80, 0x7f, 0xff, 0))))
      assert.equal('torch.LongTensor', b:type())
      assert.same({ -128, 127, -1, 0 }, b:totable())
      local s = torch.readIDX(write('i16.gz', gzip(idx(0x0B, { 2, 2 }, string.pack('>i2>i2>i2>i2', -2, 3, 32767, -32768)))))
      assert.equal('torch.LongTensor', s:type())
      assert.same({ { -2, 3 }, { 32767, -32768 } }, s:totable())
      local i = torch.readIDX(write('i32.idx', idx(0x0C, { 3 }, string.pack('>i4>i4>i4', -1, 70000, 2147483647))))
      assert.same({ -1, 70000, 2147483647 }, i:totable())
    end)

    it('converts float and double to FloatTensor and DoubleTensor', function()
      local f = torch.readIDX(write('f32.idx', idx(0x0D, { 3 }, string.pack('>f>f>f', 1.5, -2.25, 1e-3))))
      assert.equal('torch.FloatTensor', f:type())
      assert.equal(1.5, f[1])
      assert.equal(-2.25, f[2])
      assert.near(1e-3, f[3], 1e-10)
      local d = torch.readIDX(write('f64.gz', gzip(idx(0x0E, { 2 }, string.pack('>d>d', math.pi, -1 / 3)))))
      assert.equal('torch.DoubleTensor', d:type())
      assert.same({ math.pi, -1 / 3 }, d:totable())
    end)

    it('accepts empty dims and a required number of dims', function()
      local e = torch.readIDX(write('empty.idx', idx(0x08, { 0, 28, 28 })), 3)
      assert.same({ 0, 28, 28 }, e:size():totable())
      assert.equal(0, e:nElement())
    end)
  end)

  describe('malformed files', function()
    it('refuses a missing file, a directory and an empty file', function()
      fails(tmp .. '/nope.gz', 'cannot open: No such file')
      fails(tmp, 'not a regular file')
      fails(write('empty', ''), 'truncated: 0 bytes, too short for an IDX header')
      fails(write('short', '\0\0'), 'truncated: 2 bytes')
    end)

    it('reports a bad magic number', function()
      fails(write('magic.idx', '\1\2\8\1' .. string.pack('>I4', 1) .. 'x'), 'bad magic number 0x01020801: not an IDX file')
      fails(write('text.idx', 'hello world, not idx'), 'bad magic number 0x68656c6c')
      fails(write('magic.gz', gzip('PK\3\4 a zip file')), 'bad magic number 0x504b0304')
    end)

    it('reports an unsupported element type', function()
      fails(write('type.idx', idx(0x0A, { 1 }, 'x')), 'unsupported IDX element type 0x0a')
      fails(write('type2.gz', gzip(idx(0x07, { 1 }, 'x'))), 'unsupported IDX element type 0x07')
    end)

    it('reports a wrong number of dims', function()
      local labels = write('labels.idx', idx(0x08, { 3 }, '\0\1\2'))
      fails(labels, 'wrong number of dimensions: expected 3, the file declares 1', 3)
      fails(write('zero-dims.idx', idx(0x08, {}, 'x')), 'declares 0 dimensions')
      local many = {}
      for i = 1, 17 do many[i] = 1 end
      fails(write('many.idx', idx(0x08, many, 'x')), 'declares 17 dimensions, at most 16')
      fails(write('hdr.idx', string.char(0, 0, 8, 3) .. string.pack('>I4', 5) .. '\0\0'),
            'truncated: the IDX header ends inside its 3 dimension sizes')
    end)

    it('reports data shorter than declared (truncated), plain and gzip', function()
      fails(write('trunc.idx', idx(0x08, { 2, 3, 4 }, string.rep('x', 20))),
            'truncated: declared sizes %[2 x 3 x 4%] need 24 bytes of ubyte data, the file has 20')
      fails(write('trunc.gz', gzip(idx(0x08, { 2, 3, 4 }, string.rep('x', 20)))),
            'truncated: the data ends after 20 of the 24 bytes declared by %[2 x 3 x 4%] ubyte')
      fails(write('trunc-int.idx', idx(0x0C, { 3 }, string.rep('x', 11))), 'need 12 bytes of int data, the file has 11')
    end)

    it('reports a gzip stream cut short', function()
      local gz = gzip(img)
      for _, cut in ipairs({ 12, #gz - 8, #gz - 1 }) do
        fails(write('cut.gz', gz:sub(1, cut)), 'corrupt gzip data: unexpected end of file')
      end
    end)

    it('reports trailing garbage after the declared data', function()
      fails(write('trail.idx', img .. 'junk'), 'trailing garbage: 4 bytes after the declared %[2 x 3 x 4%] ubyte data')
      fails(write('trail.gz', gzip(img .. 'junk')), 'trailing garbage: more data after the declared %[2 x 3 x 4%] ubyte')
      fails(write('after.gz', gzip(img) .. 'junk'), 'trailing garbage after the gzip data')
    end)

    it('reports a bad CRC, a bad length and corrupt deflate data', function()
      local gz = gzip(img)
      local n = #gz
      local function flip(s, pos) return s:sub(1, pos - 1) .. string.char(s:byte(pos) ~ 0x55) .. s:sub(pos + 1) end
      fails(write('crc.gz', flip(gz, n - 7)), 'corrupt gzip data %(incorrect data check%)')
      fails(write('len.gz', flip(gz, n - 3)), 'corrupt gzip data %(incorrect length check%)')
      local bad = gz:sub(1, 10) .. string.char(0xff, 0xff, 0xff) .. gz:sub(14)   -- invalid block type
      fails(write('deflate.gz', bad), 'corrupt gzip data %(')
      fails(write('hdr.gz', '\31\139\8\0'), 'corrupt gzip data')
    end)

    it('refuses absurd declared sizes without allocating them', function()
      local before = torch.allocatorStats().peakBytes
      -- a 60 x 100M ubyte array cannot come out of a small gzip file
      local e = fails(write('big.gz', gzip(idx(0x08, { 60000, 100000 }, string.rep('\0', 100)))),
                      'declared sizes %[60000 x 100000%] %(6000000000 bytes of ubyte%) are more than a %d+%-byte gzip file can hold')
      assert.truthy(e:find('truncated or corrupt header', 1, true))
      fails(write('overflow.gz', gzip(idx(0x0E, { 2147483647, 2147483647, 2147483647 }))), 'absurd declared sizes')
      fails(write('huge-dim.idx', idx(0x08, { 0xffffffff, 1 }, 'x')), 'absurd size 4294967295 for dimension 1')
      fails(write('big.idx', idx(0x08, { 60000, 28, 28 }, string.rep('\0', 100))),
            'truncated: declared sizes %[60000 x 28 x 28%] need 47040000 bytes')
      -- a 100-byte file: nothing near 47 MB was allocated for it
      assert.is_true(torch.allocatorStats().peakBytes - before < 8 * 1024 * 1024)
    end)

    it('checks the argument', function()
      assert.has_error(function() torch.readIDX() end)
      assert.has_error(function() torch.readIDX(write('ok.idx', img), 17) end)
    end)
  end)

  describe('real files', function()
    it('loads the shipped mnist-10k subset, gzip and plain, with the right bytes', function()
      local x = torch.readIDX(MNIST10K .. 'train-images-idx3-ubyte.gz', 3)
      assert.same({ 7996, 28, 28 }, x:size():totable())
      local y = torch.readIDX(MNIST10K .. 'train-labels-idx1-ubyte.gz', 1)
      assert.same({ 7996 }, y:size():totable())
      assert.equal(0, y:min())
      assert.equal(9, y:max())
      local raw = gunzip(MNIST10K .. 'train-images-idx3-ubyte.gz')
      assert.equal(16 + 7996 * 784, #raw)
      -- a few pixels against the decompressed bytes
      for _, k in ipairs({ 0, 783, 784 * 5 + 400, 784 * 7995 + 300, 7996 * 784 - 1 }) do
        local n, r, c = k // 784, (k % 784) // 28, k % 28
        assert.equal(raw:byte(17 + k), x[n + 1][r + 1][c + 1])
      end
      local plain = torch.readIDX(write('train-images-idx3-ubyte', raw), 3)
      assert.is_true(equal(x, plain))
      local t = torch.readIDX(MNIST10K .. 't10k-images-idx3-ubyte.gz')
      assert.same({ 2004, 28, 28 }, t:size():totable())
      local l = gunzip(MNIST10K .. 't10k-labels-idx1-ubyte.gz')
      local tl = torch.readIDX(MNIST10K .. 't10k-labels-idx1-ubyte.gz')
      for i = 1, 2004, 97 do assert.equal(l:byte(8 + i), tl[i]) end
    end)

    local fashion = io.open(FASHION .. 'train-images-idx3-ubyte.gz', 'rb')
    if fashion then
      fashion:close()
      it('loads Fashion-MNIST (60k/10k) with the right bytes', function()
        local x = torch.readIDX(FASHION .. 'train-images-idx3-ubyte.gz', 3)
        assert.same({ 60000, 28, 28 }, x:size():totable())
        local raw = gunzip(FASHION .. 't10k-images-idx3-ubyte.gz')
        local t = torch.readIDX(FASHION .. 't10k-images-idx3-ubyte.gz', 3)
        assert.same({ 10000, 28, 28 }, t:size():totable())
        for _, k in ipairs({ 0, 12345, 784 * 9999 + 783 }) do
          assert.equal(raw:byte(17 + k), t[k // 784 + 1][(k % 784) // 28 + 1][k % 28 + 1])
        end
        assert.same({ 60000 }, torch.readIDX(FASHION .. 'train-labels-idx1-ubyte.gz', 1):size():totable())
      end)
    else
      pending('Fashion-MNIST not installed (' .. FASHION .. ')')
    end
  end)
end)
