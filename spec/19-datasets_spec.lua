-- datasets (MNIST, FashionMNIST, DataLoader) and transforms (ToTensor, Normalize, Lambda,
-- Compose). Expected values come from the raw bytes of the files (decompressed by gzip(1))
-- and hand arithmetic: ToTensor is x / 255, Normalize(m, s) is (x - m) / s.
local torch = require 'torch'
local datasets = require 'datasets'
local transforms = require 'transforms'
local H = require 'helpers'

local here = debug.getinfo(1, 'S').source:match('^@(.*/)') or './'
local MNIST10K = here .. '../datasets/data/mnist-10k/'
local FASHION = '/usr/share/datasets/fashion-mnist/'

local function gunzip(path)
  local p = assert(io.popen('gzip -d -c ' .. path))
  local out = p:read('a')
  p:close()
  return out
end

local tmp = os.tmpname()
os.remove(tmp)
assert(os.execute('mkdir -p ' .. tmp))

local function write(path, bytes)
  local f = assert(io.open(path, 'wb'))
  f:write(bytes)
  f:close()
  return path
end

local idx = H.idx_bytes

local function errmsg(fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, 'expected an error')
  return tostring(err)
end

local function equal(a, b)
  if a:type() ~= b:type() or not a:isSameSizeAs(b) then return false end
  return a:nElement() == 0 or a:ne(b):sum() == 0
end

local seedTransform = function()
  return transforms.Compose { transforms.ToTensor(), transforms.Normalize(0.5, 1.0) }
end

describe('datasets.MNIST', function()
  teardown(function() os.execute('rm -rf ' .. tmp) end)

  local train = datasets.MNIST {}
  local test = datasets.MNIST { train = false }
  local rawImages = gunzip(MNIST10K .. 'train-images-idx3-ubyte.gz')
  local rawLabels = gunzip(MNIST10K .. 'train-labels-idx1-ubyte.gz')

  it('loads the shipped 10k subset by default: 7996 train, 2004 test', function()
    assert.equal(7996, #train)
    assert.equal(7996, train:size())
    assert.equal(2004, #test)
    assert.same({ 7996, 28, 28 }, train.data:size():totable())
    assert.equal('torch.ByteTensor', train.data:type())
    assert.same({ 2004, 28, 28 }, test.data:size():totable())
    assert.equal(10, #train.classes)
    assert.equal('0 - zero', train.classes[1])
    assert.truthy(datasets.dataRoot('mnist-10k'))
  end)

  it('has 1-based LongTensor targets (digit d -> d + 1) and the raw labels', function()
    assert.equal('torch.LongTensor', train.targets:type())
    assert.equal(1, train.targets:min())
    assert.equal(10, train.targets:max())
    for _, i in ipairs({ 1, 2, 10, 11, 500, 7996 }) do
      local digit = rawLabels:byte(8 + i)
      assert.equal(digit + 1, train.targets[i])
      assert.equal(digit, train.labels[i])
      assert.equal(digit, train:rawLabel(i))
    end
  end)

  it('has the label distribution of the files (first 80% of each class, interleaved)', function()
    local counts, expected = {}, {}
    for i = 1, 7996 do
      local d = rawLabels:byte(8 + i)
      expected[d + 1] = (expected[d + 1] or 0) + 1
    end
    for c = 1, 10 do counts[c] = train.targets:eq(c):sum() end
    assert.same(expected, counts)
    for c = 1, 10 do assert.equal(c, train.targets[c]) end   -- 0, 1, ..., 9 first
    local total = 0
    for c = 1, 10 do total = total + counts[c] end
    assert.equal(7996, total)
  end)

  it('ds[i] is {input, target}; without transform a uint8 copy of the image', function()
    local s = train[5]
    assert.equal(2, #s)
    assert.equal('torch.ByteTensor', s[1]:type())
    assert.same({ 28, 28 }, s[1]:size():totable())
    assert.is_true(equal(train.data[5], s[1]))
    assert.equal(train.targets[5], s[2])
    s[1]:fill(7)                                   -- a copy: the split is unchanged
    assert.is_false(equal(train.data[5], s[1]))
    local input, target = train:get(5)
    assert.equal(train.targets[5], target)
    assert.is_true(equal(train.data[5], input))
  end)

  it('applies the seed transform: Normalize(0.5, 1.0) of ToTensor is x / 255 - 0.5', function()
    local ds = datasets.MNIST { transform = seedTransform() }
    for _, i in ipairs({ 1, 77, 7996 }) do
      local x = ds[i][1]
      assert.equal('torch.FloatTensor', x:type())
      assert.same({ 1, 28, 28 }, x:size():totable())
      for _, rc in ipairs({ { 1, 1 }, { 14, 14 }, { 10, 20 }, { 20, 9 }, { 28, 28 } }) do
        local b = rawImages:byte(16 + (i - 1) * 784 + (rc[1] - 1) * 28 + rc[2])
        assert.near(b / 255 - 0.5, x[1][rc[1]][rc[2]], 1e-6)
      end
    end
    -- the whole split at once gives the same values as one sample at a time
    local X = ds:batchInputs()
    assert.same({ 7996, 1, 28, 28 }, X:size():totable())
    assert.is_true(equal(X[77], ds[77][1]))
    local v = X[3]:view(-1)
    for k = 1, 784, 41 do assert.near(rawImages:byte(16 + 2 * 784 + k) / 255 - 0.5, v[k], 1e-6) end
  end)

  it('applies targetTransform to the 1-based target', function()
    local ds = datasets.MNIST { train = false, targetTransform = function(t) return t - 1 end }
    assert.equal(ds.labels[9], ds[9][2])
  end)

  it('accepts torchvision layouts: plain files and root/MNIST/raw/', function()
    local root = tmp .. '/tv'
    assert(os.execute('mkdir -p ' .. root .. '/MNIST/raw'))
    write(root .. '/MNIST/raw/t10k-images-idx3-ubyte', gunzip(MNIST10K .. 't10k-images-idx3-ubyte.gz'))
    assert(os.execute(('cp %st10k-labels-idx1-ubyte.gz %s/MNIST/raw/'):format(MNIST10K, root)))
    local ds = datasets.MNIST { root = root, train = false }
    assert.equal(2004, #ds)
    assert.is_true(equal(test.data, ds.data))
    assert.is_true(equal(test.targets, ds.targets))
    assert.truthy(ds.files.images:find('/MNIST/raw/t10k%-images%-idx3%-ubyte$'))
  end)

  it('reports missing files, mismatched counts and bad labels clearly', function()
    local empty = tmp .. '/empty'
    assert(os.execute('mkdir -p ' .. empty))
    local e = errmsg(datasets.MNIST, { root = empty })
    assert.truthy(e:find('datasets.MNIST: train%-images%-idx3%-ubyte and train%-labels%-idx1%-ubyte not found in ' .. empty))
    assert.truthy(e:find('download = true', 1, true))
    local e2 = errmsg(datasets.FashionMNIST, { root = empty, train = false })
    assert.truthy(e2:find('FashionMNIST/raw/', 1, true))

    local bad = tmp .. '/bad'
    assert(os.execute('mkdir -p ' .. bad))
    write(bad .. '/train-images-idx3-ubyte', idx(0x08, { 3, 2, 2 }, string.rep('\1', 12)))
    write(bad .. '/train-labels-idx1-ubyte', idx(0x08, { 2 }, '\1\2'))
    local e3 = errmsg(datasets.MNIST, { root = bad })
    assert.truthy(e3:find('image/label count mismatch: ' .. bad .. '/train%-images%-idx3%-ubyte has 3 images but '
                          .. bad .. '/train%-labels%-idx1%-ubyte has 2 labels'))
    write(bad .. '/train-labels-idx1-ubyte', idx(0x08, { 3 }, '\1\2\12'))
    assert.truthy(errmsg(datasets.MNIST, { root = bad }):find('label 12 is out of range 0..9', 1, true))
    write(bad .. '/train-labels-idx1-ubyte', idx(0x08, { 3, 1 }, '\1\2\3'))
    assert.truthy(errmsg(datasets.MNIST, { root = bad }):find('wrong number of dimensions: expected 1', 1, true))
    write(bad .. '/t10k-images-idx3-ubyte.gz', 'not gzip, not idx')
    write(bad .. '/t10k-labels-idx1-ubyte', idx(0x08, { 1 }, '\1'))
    assert.truthy(errmsg(datasets.MNIST, { root = bad, train = false }):find('readIDX: ' .. bad .. '/t10k%-images%-idx3%-ubyte.gz: bad magic'))

    assert.truthy(errmsg(function() return train[0] end):find('index 0 out of range 1..7996', 1, true))
    assert.truthy(errmsg(function() return train[7997] end):find('index 7997 out of range', 1, true))
    assert.truthy(errmsg(function() return train[1.5] end):find('index must be an integer', 1, true))
    assert.truthy(errmsg(datasets.MNIST, { bogus = 1 }):find("datasets.MNIST: unknown option 'bogus'; accepted: download, mirrors, root, targetTransform, train, transform", 1, true))
    assert.truthy(errmsg(datasets.MNIST, { target_transform = print }):find("unknown option 'target_transform' (did you mean 'targetTransform'?)", 1, true))
    assert.truthy(errmsg(datasets.MNIST, { transform = 3 }):find('transform must be a transform or a function', 1, true))
  end)

  it('with download = true fetches through datasets.download (all mirrors failing here)', function()
    local dl = tmp .. '/dl'
    local e = errmsg(datasets.MNIST, { root = dl, download = true, mirrors = { 'http://127.0.0.1:9/' } })
    assert.truthy(e:find('cannot fetch train-images-idx3-ubyte.gz from any mirror', 1, true))
  end)
end)

describe('datasets.FashionMNIST', function()
  local f = io.open(FASHION .. 'train-images-idx3-ubyte.gz', 'rb')
  if not f then
    pending('Fashion-MNIST not installed (' .. FASHION .. ')')
    return
  end
  f:close()
  it('loads 60k/10k from /usr/share/datasets/fashion-mnist by default', function()
    local tr = datasets.FashionMNIST {}
    local te = datasets.FashionMNIST { train = false, transform = seedTransform() }
    assert.equal(60000, #tr)
    assert.equal(10000, #te)
    assert.same({ 60000, 28, 28 }, tr.data:size():totable())
    assert.equal('Ankle boot', tr.classes[10])
    for c = 1, 10 do assert.equal(6000, tr.targets:eq(c):sum()) end
    local raw = gunzip(FASHION .. 't10k-images-idx3-ubyte.gz')
    local X = te:batchInputs()
    assert.same({ 10000, 1, 28, 28 }, X:size():totable())
    for _, k in ipairs({ 0, 4321, 784 * 9999 + 500 }) do
      local n, r, c = k // 784, (k % 784) // 28, k % 28
      assert.near(raw:byte(17 + k) / 255 - 0.5, X[n + 1][1][r + 1][c + 1], 1e-6)
    end
  end)
end)

describe('transforms', function()
  it('ToTensor: uint8 [H x W] -> float [1 x H x W] / 255; [C x H x W] keeps C', function()
    local x = torch.ByteTensor({ { 0, 51 }, { 255, 102 } })
    local y = transforms.ToTensor()(x)
    assert.equal('torch.FloatTensor', y:type())
    assert.same({ 1, 2, 2 }, y:size():totable())
    assert.near(0.2, y[1][1][2], 1e-7)
    assert.equal(1, y[1][2][1])
    local c = transforms.ToTensor()(torch.ByteTensor(3, 4, 5):fill(255))
    assert.same({ 3, 4, 5 }, c:size():totable())
    assert.equal(60, c:sum())
    local d = transforms.ToTensor()(torch.DoubleTensor({ { 2 } }))
    assert.equal('torch.DoubleTensor', d:type())
    assert.equal(2, d[1][1][1])           -- float data is not rescaled
    assert.truthy(errmsg(transforms.ToTensor(), torch.ByteTensor(5)):find('expected an image', 1, true))
  end)

  it('ToTensor:batch: [N x H x W] -> [N x 1 x H x W], non-contiguous input too', function()
    local x = torch.ByteTensor(4, 3, 2)
    x:apply(function() return math.random(0, 255) end)
    local t = x:transpose(2, 3)                     -- [4 x 2 x 3], not contiguous
    local y = transforms.ToTensor():batch(t)
    assert.same({ 4, 1, 2, 3 }, y:size():totable())
    for n = 1, 4 do
      for r = 1, 2 do
        for c = 1, 3 do assert.near(t[n][r][c] / 255, y[n][1][r][c], 1e-7) end
      end
    end
  end)

  it('Normalize: (x - mean[c]) / std[c] per channel, numbers or tables', function()
    local x = torch.FloatTensor(3, 2, 2)
    for c = 1, 3 do x[c]:fill(c) end
    local y = transforms.Normalize({ 1, 2, 3 }, { 0.5, 2, 4 })(x)
    assert.equal(0, y[1]:abs():max())
    assert.equal(0, y[2]:abs():max())
    assert.equal(0, y[3]:abs():max())
    local z = transforms.Normalize({ 0, 1, 2 }, { 1, 2, 4 })(x)
    assert.same({ 1, 0.5, 0.25 }, { z[1][1][1], z[2][2][2], z[3][1][2] })
    local w = transforms.Normalize(1, 2)(x)          -- one value for every channel
    assert.same({ 0, 0.5, 1 }, { w[1][1][1], w[2][1][1], w[3][2][2] })
    assert.equal(1, x[1][1][1])                      -- not in place
    local b = transforms.Normalize({ 0, 1, 2 }, { 1, 2, 4 }):batch(torch.FloatTensor(5, 3, 2, 2):fill(2))
    assert.same({ 2, 0.5, 0 }, { b[5][1][1][1], b[2][2][1][1], b[1][3][2][2] })
    local dd = transforms.Normalize(0.5, 0.25)(torch.DoubleTensor({ { { 1 } } }))
    assert.equal('torch.DoubleTensor', dd:type())
    assert.equal(2, dd[1][1][1])
  end)

  it('Normalize refuses bad arguments and uint8 input', function()
    assert.truthy(errmsg(transforms.Normalize, 0.5, 0):find('std%[1%] is 0'))
    assert.truthy(errmsg(transforms.Normalize, { 1, 2 }, { 1, 2, 3 }):find('2 means but 3 stds', 1, true))
    assert.truthy(errmsg(transforms.Normalize, 'a', 1):find('mean must be a number or a table', 1, true))
    local n = transforms.Normalize({ 1, 2 }, { 1, 1 })
    assert.truthy(errmsg(n, torch.FloatTensor(3, 2, 2)):find('2 channels of mean/std for a tensor of size %[3 x 2 x 2%]'))
    assert.truthy(errmsg(n, torch.ByteTensor(2, 2, 2)):find('apply ToTensor first', 1, true))
  end)

  it('Compose fuses ToTensor + Normalize with the same values as the two steps', function()
    local x = torch.ByteTensor(6, 28, 28)
    x:apply(function() return math.random(0, 255) end)
    local tt, nz = transforms.ToTensor(), transforms.Normalize(0.1307, 0.3081)
    local c = transforms.Compose { tt, nz }
    local fused = c:batch(x)
    local steps = nz:batch(tt:batch(x))
    assert.is_true(equal(fused, steps))
    assert.is_true(equal(c(x[2]), steps[2]))
    local v = x[4][9][17]
    assert.near((v / 255 - 0.1307) / 0.3081, fused[4][1][9][17], 1e-5)
  end)

  it('Lambda applies a function; batch only when declared', function()
    local l = transforms.Lambda(function(t) return t * 2 end)
    assert.equal(6, l(torch.FloatTensor({ 3 }))[1])
    assert.is_false(l:canBatch())
    assert.is_false(transforms.Compose { transforms.ToTensor(), l }:canBatch())
    assert.truthy(errmsg(function() l:batch(torch.FloatTensor(1)) end):find('works on one sample', 1, true))
    local lb = transforms.Lambda(function(t) return t * 2 end, true)
    assert.is_true(transforms.Compose { transforms.ToTensor(), lb }:canBatch())
    assert.truthy(errmsg(transforms.Lambda, 3):find('expected a function', 1, true))
    assert.truthy(errmsg(transforms.Compose, { 1 }):find('element 1 is not a transform', 1, true))
  end)
end)

describe('datasets.DataLoader', function()
  local ds = datasets.MNIST { transform = seedTransform() }

  it('yields batches of the transformed split and targets; #loader counts them', function()
    local loader = datasets.DataLoader { dataset = ds, batchSize = 100 }
    assert.equal(80, #loader)
    local n, last = 0, nil
    for inputs, targets in loader:iter() do
      n = n + 1
      if n == 1 then
        assert.same({ 100, 1, 28, 28 }, inputs:size():totable())
        assert.equal('torch.FloatTensor', inputs:type())
        assert.same({ 100 }, targets:size():totable())
        assert.equal('torch.LongTensor', targets:type())
        assert.is_true(equal(inputs[1], ds[1][1]))     -- in order without shuffle
        assert.is_true(equal(targets, ds.targets:narrow(1, 1, 100)))
      end
      last = inputs
    end
    assert.equal(80, n)
    assert.equal(96, last:size(1))
    assert.is_true(equal(last[96], ds[7996][1]))
  end)

  it("PyTorch's form DataLoader(dataset, options) is the same loader", function()
    local a = datasets.DataLoader(ds, { batchSize = 100, dropLast = true })
    assert.equal(79, #a)
    local b = datasets.DataLoader(ds)               -- a dataset alone: batchSize 1
    assert.equal(#ds, #b)
    local list = datasets.DataLoader({ { torch.ones(2), 1 }, { torch.ones(2), 2 } }, { batchSize = 2 })
    assert.equal(1, #list)                          -- a plain list of samples
    assert.matches('the dataset is given twice',
                   H.error_of(function() return datasets.DataLoader(ds, { dataset = ds }) end))
    assert.matches("bad argument #2 to 'DataLoader' %(table or nil expected, got number%)",
                   H.error_of(function() return datasets.DataLoader(ds, 5) end))
    assert.matches('batchSize must be a positive integer, got 0',
                   H.error_of(function() return datasets.DataLoader(ds, { batchSize = 0 }) end))
  end)

  it('dropLast drops the short batch', function()
    local loader = datasets.DataLoader { dataset = ds, batchSize = 100, dropLast = true }
    assert.equal(79, #loader)
    local n = 0
    for inputs in loader:iter() do
      n = n + 1
      assert.equal(100, inputs:size(1))
    end
    assert.equal(79, n)
  end)

  -- a dataset whose sample i is the number i, batched through the whole-split path
  local function counting(n)
    return setmetatable({
      batchInputs = function() return torch.range(1, n):view(n, 1) end,
      batchTargets = function() return torch.range(1, n):long() end,
    }, { __len = function() return n end })
  end

  local function epoch(loader)
    local seen = {}
    for inputs, targets in loader:iter() do
      for k = 1, inputs:size(1) do
        assert.equal(inputs[k][1], targets[k])
        seen[#seen + 1] = targets[k]
      end
    end
    return seen
  end

  it('covers each sample exactly once per epoch when shuffled', function()
    local loader = datasets.DataLoader { dataset = counting(1003), batchSize = 10, shuffle = true }
    assert.equal(101, #loader)
    local seen = epoch(loader)
    assert.equal(1003, #seen)
    local sorted = { table.unpack(seen) }
    table.sort(sorted)
    for i = 1, 1003 do assert.equal(i, sorted[i]) end
    local inorder = 0
    for i = 1, 1003 do if seen[i] == i then inorder = inorder + 1 end end
    assert.is_true(inorder < 50)                      -- really shuffled
  end)

  it('reproduces epochs from a seed without touching the torch RNG', function()
    local function loader() return datasets.DataLoader { dataset = counting(500), batchSize = 64, shuffle = true, seed = 42 } end
    torch.manualSeed(7)
    local expected = torch.rand(3)
    torch.manualSeed(7)
    local a, b = loader(), loader()
    local a1, a2 = epoch(a), epoch(a)
    local b1, b2 = epoch(b), epoch(b)
    assert.same(a1, b1)
    assert.same(a2, b2)
    assert.are_not.same(a1, a2)                       -- a new order each epoch
    assert.is_true(equal(expected, torch.rand(3)))    -- global RNG untouched
    local c = datasets.DataLoader { dataset = counting(500), batchSize = 64, shuffle = true, seed = 43 }
    assert.are_not.same(a1, epoch(c))
  end)

  it('draws the order from the torch RNG without a seed', function()
    local l = datasets.DataLoader { dataset = counting(300), batchSize = 7, shuffle = true }
    torch.manualSeed(11)
    local e1 = epoch(l)
    torch.manualSeed(11)
    assert.same(e1, epoch(l))
  end)

  it('batches per sample when the transform cannot batch, with the same result', function()
    local lam = datasets.MNIST { train = false, transform = transforms.Compose {
      transforms.ToTensor(), transforms.Lambda(function(x) return x - 0.5 end) } }
    assert.is_nil(lam:batchInputs())
    local vec = datasets.MNIST { train = false, transform = seedTransform() }
    local l1 = datasets.DataLoader { dataset = lam, batchSize = 300, shuffle = true, seed = 5 }
    local l2 = datasets.DataLoader { dataset = vec, batchSize = 300, shuffle = true, seed = 5 }
    local it2 = l2:iter()
    local n = 0
    for x1, y1 in l1:iter() do
      local x2, y2 = it2()
      n = n + 1
      assert.same(x2:size():totable(), x1:size():totable())
      assert.is_true(equal(y1, y2))
      assert.is_true((x1 - x2):abs():max() < 1e-6)
    end
    assert.equal(7, n)
  end)

  it('batches any table dataset with #ds and ds[i]', function()
    local plain = setmetatable({}, {
      __len = function() return 5 end,
      __index = function(_, i) return { torch.FloatTensor({ i, -i }), i } end,
    })
    local batches = {}
    for x, y in datasets.DataLoader { dataset = plain, batchSize = 2 }:iter() do batches[#batches + 1] = { x, y } end
    assert.equal(3, #batches)
    assert.same({ { 3, -3 }, { 4, -4 } }, batches[2][1]:totable())
    assert.same({ 5 }, batches[3][2]:totable())
  end)

  it('checks its options', function()
    assert.truthy(errmsg(datasets.DataLoader, { dataset = ds, batchSize = 0 }):find('batchSize must be a positive integer', 1, true))
    assert.truthy(errmsg(datasets.DataLoader, { batchSize = 2 }):find("datasets.DataLoader: option 'dataset' is required", 1, true))
    assert.truthy(errmsg(datasets.DataLoader, { dataset = 3 }):find('dataset must be', 1, true))
    assert.truthy(errmsg(datasets.DataLoader, { dataset = ds, seed = 1.5 }):find('seed must be an integer', 1, true))
    assert.truthy(errmsg(datasets.DataLoader, { dataset = ds, bacthSize = 2 }):find("unknown option 'bacthSize'; accepted: batchSize, dataset, distributed, dropLast, numWorkers, seed, shuffle", 1, true))
    assert.truthy(errmsg(datasets.DataLoader, { dataset = ds, batch_size = 2 }):find("unknown option 'batch_size' (did you mean 'batchSize'?)", 1, true))
    assert.truthy(errmsg(datasets.DataLoader, { dataset = ds, numWorkers = 4 }):find("option 'numWorkers' is not supported yet", 1, true))
    assert.truthy(errmsg(datasets.DataLoader, { dataset = ds, distributed = 1 }):find('distributed must be a boolean, got 1', 1, true))
    assert.equal((#ds + 1) // 2, #datasets.DataLoader{ dataset = ds, batchSize = 2, numWorkers = 0 })
  end)
end)
