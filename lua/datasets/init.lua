-- datasets — MNIST and Fashion-MNIST from their IDX files, and a DataLoader that batches any
-- dataset: `local datasets = require 'datasets'`.
--
--   ds = datasets.MNIST{root=, train=true, transform=, targetTransform=, download=false}
--   ds = datasets.FashionMNIST{...}
--     root: a directory with torchvision's file names (train-images-idx3-ubyte[.gz], ...),
--       directly or in torchvision's root/MNIST/raw/ (root/FashionMNIST/raw/) layout. Without
--       root, MNIST uses the 10,000-digit subset shipped with luatorch (datasets/data/
--       mnist-10k: 7,996 train / 2,004 test) and FashionMNIST /usr/share/datasets/fashion-mnist
--       (Debian's dataset-fashion-mnist).
--     download: fetch missing files into root/MNIST/raw/ (datasets.download: mirrors, MD5
--       checks; mirrors = {...} overrides the mirror list).
--   #ds, ds:size()         number of samples
--   ds[i]                  {input, target} (1-based i); input = transform(image) (a uint8
--                          [28 x 28] copy without transform), target = targetTransform(class)
--   ds:get(i)              input, target (two values)
--   ds.data                ByteTensor [N x 28 x 28], the whole split
--   ds.targets             LongTensor [N] of 1-BASED class indices: digit d is class d + 1,
--                          because Torch7's criterions and max() count from 1
--   ds.labels              ByteTensor [N], the raw 0-based labels of the file; ds:rawLabel(i)
--   ds.classes             class names, ds.classes[target]
--   ds:batchInputs()       the whole split transformed at once ([N x 1 x 28 x 28] for
--                          ToTensor), computed on first use and cached; nil when the transform
--                          has no batch form (transforms.Lambda without batched = true)
--
--   loader = datasets.DataLoader{dataset=, batchSize=1, shuffle=false, dropLast=false, seed=,
--                                 distributed=false}
--   for inputs, targets in loader:iter() do ... end      -- #loader batches per epoch
--     Batches are gathered in C (index) from the pre-transformed split. With shuffle, each
--     epoch's order is torch.randperm: from the torch RNG (torch.manualSeed reproduces it),
--     or from the loader's own generator when seed is given (the global RNG is untouched and
--     the same seed gives the same sequence of epochs). Other datasets (any table with #ds
--     and ds[i] = {input, target}) are batched by stacking their samples.
--     distributed = true (require 'distributed'; see shard_setup below): each MPI rank gets
--     its own shard of every epoch, the same number of batches on every rank.
--
--   ds = datasets.TensorDataset(inputs, targets, ...)   sample i = {inputs[i], targets[i], ...}
--   datasets.Subset(ds, indices), datasets.randomSplit(ds, {n1, n2} or {0.8, 0.2} [, seed])
local torch = require 'torch'
local check = require 'torch.check'
local transforms = require 'transforms'
local check = require 'torch.check'

local datasets = {}

-- ---- files ----------------------------------------------------------------------------------
local function exists(path)
  local f = io.open(path, 'rb')
  if not f then return false end
  local _, err = f:read(1)          -- a directory opens, but reading it fails
  f:close()
  return err == nil
end

local function dirname(path) return path:match('^(.*)/[^/]*$') or '.' end

-- a/b/../c -> a/c (for the paths reported in ds.root and in errors)
local function tidy(path)
  local out, abs = {}, path:sub(1, 1) == '/'
  for part in path:gmatch('[^/]+') do
    if part == '..' and #out > 0 and out[#out] ~= '..' then out[#out] = nil
    elseif part ~= '.' then out[#out + 1] = part end
  end
  return (abs and '/' or '') .. table.concat(out, '/')
end

-- The directory holding mnist-10k: $LUATORCH_DATA, the source tree (lua/datasets/../../
-- datasets/data), an installed tree (share/lua/5.4/datasets -> share/luatorch), a LuaRocks
-- tree (beside the module: datasets/data), or next to the running executable
-- (bin/../share/luatorch, or build-x/../datasets/data).
local function data_dirs()
  local dirs = {}
  local env = os.getenv('LUATORCH_DATA')
  if env and env ~= '' then dirs[#dirs + 1] = env end
  local function from_module(file)
    local d = dirname(file)                       -- .../lua/datasets or .../share/lua/5.4/datasets
    dirs[#dirs + 1] = d .. '/../../datasets/data'
    dirs[#dirs + 1] = d .. '/../../../luatorch'
    dirs[#dirs + 1] = d .. '/data'
  end
  local src = debug.getinfo(1, 'S').source
  if src:sub(1, 1) == '@' and src:sub(1, 11) ~= '@[luatorch]' then from_module(src:sub(2)) end
  local found = package.searchpath('datasets', package.path)
  if found then from_module(found) end
  local exe = torch._exePath and torch._exePath()
  if exe then
    local d = dirname(exe)
    dirs[#dirs + 1] = d .. '/../share/luatorch'
    dirs[#dirs + 1] = d .. '/../datasets/data'
  end
  dirs[#dirs + 1] = '/usr/local/share/luatorch'
  dirs[#dirs + 1] = '/usr/share/luatorch'
  return dirs
end

-- datasets.dataRoot(name): the shipped data set `name` ('mnist-10k'), or nil + the places tried.
function datasets.dataRoot(name)
  check.arg('dataRoot', 1, name, 'string?')
  name = name or 'mnist-10k'
  local tried = {}
  for _, d in ipairs(data_dirs()) do
    local root = tidy(d .. '/' .. name)
    if exists(root .. '/train-images-idx3-ubyte.gz') then return root end
    tried[#tried + 1] = root
  end
  return nil, tried
end

local SPLITS = {
  train = { images = 'train-images-idx3-ubyte', labels = 'train-labels-idx1-ubyte' },
  test = { images = 't10k-images-idx3-ubyte', labels = 't10k-labels-idx1-ubyte' },
}

-- root/name, root/name.gz, root/<sub>/raw/name, root/<sub>/raw/name.gz: the first present
local function locate(root, sub, name)
  local cands = { root .. '/' .. name, root .. '/' .. name .. '.gz',
                  root .. '/' .. sub .. '/raw/' .. name, root .. '/' .. sub .. '/raw/' .. name .. '.gz' }
  for _, p in ipairs(cands) do
    if exists(p) then return p end
  end
  return nil, cands
end

-- ---- the IDX image datasets -----------------------------------------------------------------
local Dataset = { __typename = 'datasets.IDXDataset' }

function Dataset.__index(self, k)
  if type(k) == 'number' then
    local input, target = Dataset.get(self, k)
    return { input, target }
  end
  return Dataset[k]
end

function Dataset.__len(self) return rawget(self, 'n') end
function Dataset.__tostring(self)
  return ('datasets.%s{%s split, %d samples, root = %s}'):format(self.name, self.train and 'train' or 'test',
                                                                 self.n, self.root)
end

function Dataset:size() return self.n end

local function checkindex(self, i, fname)
  if math.type(i) ~= 'integer' then
    if type(i) == 'number' and i == math.floor(i) then i = math.tointeger(i) end
    if math.type(i) ~= 'integer' then
      error(('datasets.%s:%s: index must be an integer, got %s'):format(self.name, fname,
            type(i) == 'number' and tostring(i) or torch.type(i)), 3)
    end
  end
  if i < 1 or i > self.n then
    error(('datasets.%s:%s: index %d out of range 1..%d'):format(self.name, fname, i, self.n), 3)
  end
  return i
end

function Dataset:get(i)
  i = checkindex(self, i, 'get')
  local input
  local cached = rawget(self, '_inputs')
  if cached then
    input = cached[i]:clone()
  elseif self.transform then
    input = self.transform(self.data[i]:clone())
  else
    input = self.data[i]:clone()
  end
  local target = self.targets[i]
  if self.targetTransform then target = self.targetTransform(target) end
  return input, target
end

function Dataset:rawLabel(i)
  i = checkindex(self, i, 'rawLabel')
  return self.labels[i]
end

-- The whole split transformed in one go (cached), or nil when the transform cannot batch.
function Dataset:batchInputs()
  local cached = rawget(self, '_inputs')
  if cached then return cached end
  if not self.transform then return self.data end
  if not transforms.canBatch(self.transform) then return nil end
  local x = self.transform:batch(self.data)
  rawset(self, '_inputs', x)
  return x
end

-- The targets of the whole split after targetTransform (cached), or nil when a
-- targetTransform makes something other than numbers or tensors of one shape.
function Dataset:batchTargets()
  local cached = rawget(self, '_targets')
  if cached then return cached end
  local tt = self.targetTransform
  if not tt then return self.targets end
  local y
  if transforms.canBatch(tt) then
    y = tt:batch(self.targets)
  else
    local vals, first = {}, tt(self.targets[1])
    if type(first) == 'number' then
      for i = 1, self.n do
        local v = tt(self.targets[i])
        if type(v) ~= 'number' then return nil end
        vals[i] = v
      end
      y = math.type(first) == 'integer' and torch.LongTensor(vals) or torch.DoubleTensor(vals)
    else
      return nil
    end
  end
  rawset(self, '_targets', y)
  return y
end

local load_options = { root = check.NONE, train = true, transform = check.NONE,
                       targetTransform = check.NONE, download = false, mirrors = check.NONE }

local function checkopts(fname, opts)
  opts = check.options('datasets.' .. fname, opts, load_options, 3)
  for _, k in ipairs({ 'transform', 'targetTransform' }) do
    local t = opts[k]
    if t ~= nil and type(t) ~= 'function' and not (type(t) == 'table' and (getmetatable(t) or {}).__call) then
      error(('datasets.%s: %s must be a transform or a function, got %s'):format(fname, k, torch.type(t)), 3)
    end
  end
  return opts
end

local function load(spec, opts)
  local fname = spec.name
  opts = checkopts(fname, opts)
  local root = opts.root
  if root == nil then
    local tried
    root, tried = spec.default()
    if not root then
      error(('datasets.%s: no root given and the default data was not found (tried %s)')
              :format(fname, table.concat(tried, ', ')), 3)
    end
  elseif type(root) ~= 'string' then
    error(('datasets.%s: root must be a directory name, got %s'):format(fname, type(root)), 3)
  end
  root = root:gsub('(.)/+$', '%1')
  local train = opts.train
  if train == nil then train = true end
  local split = SPLITS[train and 'train' or 'test']

  local paths, missing = {}, {}
  for _, kind in ipairs({ 'images', 'labels' }) do
    paths[kind] = locate(root, spec.sub, split[kind])
    if not paths[kind] then missing[#missing + 1] = split[kind] end
  end
  if #missing > 0 then
    if not opts.download then
      error(('datasets.%s: %s not found in %s (nor in %s/%s/raw/, with or without .gz); pass download = true to fetch them')
              :format(fname, table.concat(missing, ' and '), root, root, spec.sub), 3)
    end
    local ok, dl = pcall(require, 'datasets.download')
    if not ok or type(dl) ~= 'table' or type(dl.fetch) ~= 'function' then
      error(('datasets.%s: download support is not available (%s)'):format(fname, tostring(dl)), 3)
    end
    dl.fetch { root = root .. '/' .. spec.sub .. '/raw', resource = spec.resource, mirrors = opts.mirrors }
    for _, kind in ipairs({ 'images', 'labels' }) do
      paths[kind] = paths[kind] or locate(root, spec.sub, split[kind])
      if not paths[kind] then
        error(('datasets.%s: %s still missing after the download'):format(fname, split[kind]), 3)
      end
    end
  end

  local images = torch.readIDX(paths.images, 3)
  local labels = torch.readIDX(paths.labels, 1)
  if images:type() ~= 'torch.ByteTensor' then
    error(('datasets.%s: %s: expected ubyte images, got %s'):format(fname, paths.images, images:type()), 3)
  end
  if labels:type() ~= 'torch.ByteTensor' then
    error(('datasets.%s: %s: expected ubyte labels, got %s'):format(fname, paths.labels, labels:type()), 3)
  end
  local n = images:size(1)
  if labels:size(1) ~= n then
    error(('datasets.%s: image/label count mismatch: %s has %d images but %s has %d labels')
            :format(fname, paths.images, n, paths.labels, labels:size(1)), 3)
  end
  local nclass = #spec.classes
  if n > 0 and labels:max() >= nclass then
    error(('datasets.%s: %s: label %d is out of range 0..%d'):format(fname, paths.labels, labels:max(), nclass - 1), 3)
  end
  local ds = {
    name = fname, root = root, train = train, n = n,
    files = { images = paths.images, labels = paths.labels },
    data = images, labels = labels, targets = labels:long():add(1),
    classes = spec.classes, transform = opts.transform, targetTransform = opts.targetTransform,
  }
  return setmetatable(ds, Dataset)
end

local MNIST_SPEC = {
  name = 'MNIST', sub = 'MNIST', resource = 'mnist',
  classes = { '0 - zero', '1 - one', '2 - two', '3 - three', '4 - four', '5 - five', '6 - six',
              '7 - seven', '8 - eight', '9 - nine' },
  default = function() return datasets.dataRoot('mnist-10k') end,
}

local FASHION_ROOT = '/usr/share/datasets/fashion-mnist'
local FASHION_SPEC = {
  name = 'FashionMNIST', sub = 'FashionMNIST', resource = 'fashion-mnist',
  classes = { 'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker',
              'Bag', 'Ankle boot' },
  default = function()
    if exists(FASHION_ROOT .. '/train-images-idx3-ubyte.gz') then return FASHION_ROOT end
    return nil, { FASHION_ROOT .. ' (install Debian\'s dataset-fashion-mnist)' }
  end,
}
datasets.fashionMNISTRoot = FASHION_ROOT

function datasets.MNIST(opts) return load(MNIST_SPEC, opts) end
function datasets.FashionMNIST(opts) return load(FASHION_SPEC, opts) end

-- ---- TensorDataset --------------------------------------------------------------------------
-- datasets.TensorDataset(t1, t2, ...): sample i is {t1[i], t2[i], ...} (PyTorch's
-- TensorDataset); every tensor has the same size along dim 1. ds:get(i) returns the pieces as
-- values. A DataLoader batches it by indexing each tensor at once (t1 = inputs, t2 = targets,
-- and any further tensors as further values of the iterator).
local TensorDataset = { __typename = 'datasets.TensorDataset' }

function TensorDataset.__index(self, k)
  if type(k) == 'number' then return { TensorDataset.get(self, k) } end
  return TensorDataset[k]
end
function TensorDataset.__len(self) return rawget(self, 'n') end
function TensorDataset.__tostring(self)
  local shapes = {}
  for i, t in ipairs(self.tensors) do shapes[i] = '[' .. table.concat(t:size():totable(), ' x ') .. ']' end
  return ('datasets.TensorDataset{%d samples: %s}'):format(self.n, table.concat(shapes, ', '))
end
function TensorDataset:size() return self.n end

function TensorDataset:get(i)
  if math.type(i) ~= 'integer' then
    local j = type(i) == 'number' and math.tointeger(i)
    if not j then check.argerror('get', 1, ('integer index expected, got %s'):format(tostring(i))) end
    i = j
  end
  if i < 1 or i > self.n then
    check.argerror('get', 1, ('index %d out of range 1..%d'):format(i, self.n))
  end
  local out = {}
  for k, t in ipairs(self.tensors) do
    local v = t[i]
    out[k] = torch.isTensor(v) and v:clone() or v
  end
  return table.unpack(out, 1, #self.tensors)
end

-- the whole tensors, for the DataLoader
function TensorDataset:batchTensors() return self.tensors end

function datasets.TensorDataset(...)
  local n = select('#', ...)
  if n == 0 then error('datasets.TensorDataset: expected at least one tensor', 2) end
  local tensors = { ... }
  for i = 1, n do
    check.arg('TensorDataset', i, tensors[i], 'tensor')
    if tensors[i]:dim() == 0 then
      check.argerror('TensorDataset', i, 'a 0-dim tensor has no samples (dim 1 indexes them)')
    end
    if tensors[i]:size(1) ~= tensors[1]:size(1) then
      check.argerror('TensorDataset', i, ('%d samples (size of dim 1), tensor 1 has %d')
                     :format(tensors[i]:size(1), tensors[1]:size(1)))
    end
  end
  return setmetatable({ tensors = tensors, n = tensors[1]:size(1) }, TensorDataset)
end

-- ---- Subset and randomSplit ---------------------------------------------------------------
-- datasets.Subset(ds, indices): the samples of ds at indices (1-based positions: a table or a
-- LongTensor), PyTorch's Subset. It keeps ds's whole-split paths for the DataLoader: a
-- TensorDataset's tensors, an MNIST split's transformed inputs and targets, indexed once.
local Subset = { __typename = 'datasets.Subset' }

function Subset.__index(self, k)
  if type(k) == 'number' then
    local i = math.tointeger(k)
    if not i or i < 1 or i > #self.indices then
      check.argerror('index', 1, ('index %s out of range 1..%d'):format(tostring(k), #self.indices), 2)
    end
    return self.dataset[self.indices[i]]
  end
  return Subset[k]
end
function Subset.__len(self) return #rawget(self, 'indices') end
function Subset.__tostring(self)
  return ('datasets.Subset{%d of the %d samples of %s}'):format(#self.indices, #self.dataset,
                                                                 tostring(self.dataset))
end

-- the base dataset's method name, or nil (a plain table's __index may not expect strings)
local function base_method(ds, name)
  local ok, f = pcall(function() return ds[name] end)
  return ok and type(f) == 'function' and f or nil
end

local function subset_positions(self)
  local p = rawget(self, '_positions')
  if not p then
    p = torch.LongTensor(self.indices)
    rawset(self, '_positions', p)
  end
  return p
end

function Subset:batchTensors()
  local f = base_method(self.dataset, 'batchTensors')
  if not f then return nil end
  local out, pos = {}, subset_positions(self)
  for k, t in ipairs(f(self.dataset)) do out[k] = t:index(1, pos) end
  return out
end
function Subset:batchInputs()
  local f = base_method(self.dataset, 'batchInputs')
  return f and f(self.dataset):index(1, subset_positions(self)) or nil
end
function Subset:batchTargets()
  local f = base_method(self.dataset, 'batchTargets')
  return f and f(self.dataset):index(1, subset_positions(self)) or nil
end

local function dataset_arg(fname, ds)
  if type(ds) ~= 'table' then
    check.argerror(fname, 1, ('expected a dataset (a table with #ds and ds[i]), got %s'):format(type(ds)), 3)
  end
  return #ds
end

function datasets.Subset(ds, indices)
  local n = dataset_arg('Subset', ds)
  if torch.isTensor(indices) then indices = indices:totable() end
  check.arg('Subset', 2, indices, 'table')
  local list = {}
  for k, v in ipairs(indices) do
    local i = math.tointeger(v)
    if not i or i < 1 or i > n then
      check.argerror('Subset', 2, ('index %s at position %d is out of range 1..%d'):format(tostring(v), k, n))
    end
    list[k] = i
  end
  return setmetatable({ dataset = ds, indices = list }, Subset)
end

-- datasets.randomSplit(ds, lengths [, seed]): disjoint Subsets of ds, of the given lengths
-- (summing to #ds) or fractions (summing to 1; the remainder goes round-robin from the first),
-- in a random order: PyTorch's random_split. seed (an integer) fixes the order without
-- touching the global generator.
function datasets.randomSplit(ds, lengths, seed)
  local n = dataset_arg('randomSplit', ds)
  check.arg('randomSplit', 2, lengths, 'table')
  check.arg('randomSplit', 3, seed, 'integer?')
  local sizes, total, fractions = {}, 0, false
  for k, v in ipairs(lengths) do
    if type(v) ~= 'number' or v < 0 or v ~= v then
      check.argerror('randomSplit', 2, ('length %d is %s; lengths are counts or fractions >= 0'):format(k, tostring(v)))
    end
    if math.type(v) == 'float' and v < 1 then fractions = true end
    sizes[k], total = v, total + v
  end
  if #sizes == 0 then check.argerror('randomSplit', 2, 'expected at least one length') end
  if fractions then
    if math.abs(total - 1) > 1e-9 then
      check.argerror('randomSplit', 2, ('fractions sum to %g, not 1'):format(total))
    end
    local given = 0
    for k, f in ipairs(sizes) do sizes[k] = math.floor(n * f) given = given + sizes[k] end
    for k = 0, n - given - 1 do local j = k % #sizes + 1; sizes[j] = sizes[j] + 1 end
  else
    for k, v in ipairs(sizes) do
      if math.tointeger(v) == nil then
        check.argerror('randomSplit', 2, ('length %d is %s, not a whole count'):format(k, tostring(v)))
      end
      sizes[k] = math.tointeger(v)
    end
    if total ~= n then
      check.argerror('randomSplit', 2, ('lengths sum to %d, the dataset has %d samples'):format(total, n))
    end
  end
  local perm
  if seed then
    local saved = torch.getRNGState()
    torch.manualSeed(seed)
    perm = torch.randperm(n)
    torch.setRNGState(saved)
  else
    perm = torch.randperm(n)
  end
  local parts, at = {}, 0
  for k, len in ipairs(sizes) do
    local idx = {}
    for j = 1, len do idx[j] = math.tointeger(perm[at + j]) end
    at = at + len
    parts[k] = setmetatable({ dataset = ds, indices = idx }, Subset)
  end
  return parts
end

-- ---- DataLoader -----------------------------------------------------------------------------
local DataLoader = { __typename = 'datasets.DataLoader' }
DataLoader.__index = DataLoader

local function posint(v, what, def)
  if v == nil then return def end
  local i = type(v) == 'number' and math.tointeger(v)
  if not i or i < 1 then
    error(('datasets.DataLoader: %s must be a positive integer, got %s'):format(what, tostring(v)), 3)
  end
  return i
end

-- numWorkers is PyTorch's: loading runs in the caller's thread, so only 0 is accepted.
local loader_options = { dataset = check.REQUIRED, batchSize = 1, shuffle = false, dropLast = false,
                         seed = check.NONE, numWorkers = check.unsupported(0),
                         distributed = false }

-- ---- distributed = true (issue 19): rank r of size takes the epoch order's positions r+1,
-- r+1+size, ... (PyTorch's DistributedSampler). Each rank gets ceil(n/size) samples, the order
-- wrapped around to fill the last ones (so when size does not divide n, the first
-- size * ceil(n/size) - n samples of the order are seen twice that epoch); with dropLast,
-- floor(n/size) and the order's last n % size are left out. Every rank thus has the same
-- number of batches. With shuffle, the ranks draw the same permutation: from seed, or from a
-- seed rank 0 draws (torch.random) and broadcasts.
local function shard_setup(self)
  local dist = require 'distributed'
  if not dist.isInitialized() then dist.init() end
  self.distributed, self.rank, self.worldSize = true, dist.rank(), dist.size()
  if self.shuffle and not self._rng then
    local seed = torch.LongTensor({ torch.random() })
    local s = dist.broadcast(seed, 0)[1]
    local saved = torch.getRNGState()
    torch.manualSeed(s)
    self.seed, self._rng = s, torch.getRNGState()
    torch.setRNGState(saved)
  end
end

-- how many samples of the dataset this loader's rank sees per epoch
function DataLoader:_count()
  local n = #self.dataset
  if not self.distributed then return n end
  if self.dropLast then return n // self.worldSize end
  return (n + self.worldSize - 1) // self.worldSize
end

-- this rank's samples in this epoch's order (a LongTensor), from the whole order perm (or nil)
function DataLoader:_shard(perm)
  local n, m = #self.dataset, self:_count()
  local idx = torch.LongTensor(m)
  for k = 1, m do
    local pos = ((k - 1) * self.worldSize + self.rank) % n + 1
    idx[k] = perm and perm[pos] or pos
  end
  return idx
end

-- PyTorch's form DataLoader(dataset [, options]): the first argument is a dataset rather than
-- the options when options follow, or it has a metatable (TensorDataset, Subset, a class), or
-- it is a plain list of samples with no dataset field.
local function dataset_first(first, options)
  if type(first) ~= 'table' then return false end
  if options ~= nil or getmetatable(first) ~= nil then return true end
  return rawget(first, 'dataset') == nil and rawget(first, 1) ~= nil
end

function datasets.DataLoader(opts, options)
  if dataset_first(opts, options) then
    check.arg('DataLoader', 2, options, 'table?', 2)
    local merged = { dataset = opts }
    for k, v in pairs(options or {}) do
      if k == 'dataset' then error('datasets.DataLoader: the dataset is given twice', 2) end
      merged[k] = v
    end
    opts = merged
  end
  if type(opts) ~= 'table' then
    error(('datasets.DataLoader: expected a table of options, got %s'):format(type(opts)), 2)
  end
  opts = check.options('datasets.DataLoader', opts, loader_options, 2)
  local ds = opts.dataset
  if type(ds) ~= 'table' then
    error(('datasets.DataLoader: dataset must be a dataset (a table with #ds and ds[i]), got %s'):format(type(ds)), 2)
  end
  local self = setmetatable({
    dataset = ds,
    batchSize = posint(opts.batchSize, 'batchSize', 1),
    shuffle = opts.shuffle and true or false,
    dropLast = opts.dropLast and true or false,
  }, DataLoader)
  if opts.seed ~= nil then
    if math.type(opts.seed) ~= 'integer' then
      error(('datasets.DataLoader: seed must be an integer, got %s'):format(tostring(opts.seed)), 2)
    end
    self.seed = opts.seed
    local saved = torch.getRNGState()
    torch.manualSeed(opts.seed)
    self._rng = torch.getRNGState()
    torch.setRNGState(saved)
  end
  if type(opts.distributed) ~= 'boolean' then
    error(('datasets.DataLoader: distributed must be a boolean, got %s'):format(tostring(opts.distributed)), 2)
  end
  if opts.distributed then shard_setup(self) end
  return self
end

function DataLoader:size()
  local n = self:_count()
  if self.dropLast then return n // self.batchSize end
  return (n + self.batchSize - 1) // self.batchSize
end
DataLoader.__len = DataLoader.size

-- This epoch's order: a LongTensor permutation of 1..n, or nil for 1..n in order.
function DataLoader:order()
  local n = #self.dataset
  if not self.shuffle then return nil end
  if not self._rng then return torch.randperm(n) end
  local saved = torch.getRNGState()
  torch.setRNGState(self._rng)
  local perm = torch.randperm(n)
  self._rng = torch.getRNGState()
  torch.setRNGState(saved)
  return perm
end

-- samples one by one, for datasets without whole-split tensors
local function stack_samples(ds, idx)
  local inputs, targets = {}, {}
  for k, i in ipairs(idx) do
    local s = ds[i]
    inputs[k], targets[k] = s[1], s[2]
  end
  local x = torch.isTensor(inputs[1]) and torch.stack(inputs, 1) or inputs
  local y
  if type(targets[1]) == 'number' then
    y = math.type(targets[1]) == 'integer' and torch.LongTensor(targets) or torch.DoubleTensor(targets)
  elseif torch.isTensor(targets[1]) then
    y = torch.stack(targets, 1)
  else
    y = targets
  end
  return x, y
end

-- for inputs, targets in loader:iter() do ... end
function DataLoader:iter()
  local ds, bs = self.dataset, self.batchSize
  local n, nb = #ds, self:size()
  local perm = self:order()
  if self.distributed then perm, n = self:_shard(perm), self:_count() end
  -- whole-split tensors when the dataset has them (a plain table dataset's __index may
  -- not expect string keys: look them up under pcall)
  local function method(name)
    local ok, f = pcall(function() return ds[name] end)
    return ok and type(f) == 'function' and f or nil
  end
  local bi, bt = method('batchInputs'), method('batchTargets')
  local X = bi and bt and bi(ds) or nil
  local Y = X and bt(ds) or nil
  local btens = method('batchTensors')
  local all = btens and btens(ds) or nil
  local b = 0
  return function()
    if b >= nb then return nil end
    local start = b * bs + 1
    local len = math.min(bs, n - start + 1)
    b = b + 1
    if all then   -- TensorDataset: every tensor indexed at once, one value each
      local out = {}
      for k, t in ipairs(all) do
        out[k] = perm and t:index(1, perm:narrow(1, start, len)) or t:narrow(1, start, len):clone()
      end
      return table.unpack(out, 1, #all)
    end
    if X and Y then
      if perm then
        local idx = perm:narrow(1, start, len)
        return X:index(1, idx), Y:index(1, idx)
      end
      return X:narrow(1, start, len):clone(), Y:narrow(1, start, len):clone()
    end
    local idx = {}
    for k = 1, len do idx[k] = perm and perm[start + k - 1] or start + k - 1 end
    return stack_samples(ds, idx)
  end
end

function DataLoader:__tostring()
  return ('datasets.DataLoader{%d samples, batchSize = %d, %d batches%s%s%s}'):format(
    #self.dataset, self.batchSize, self:size(), self.shuffle and ', shuffled' or '',
    self.dropLast and ', dropLast' or '',
    self.distributed and (', rank %d of %d'):format(self.rank, self.worldSize) or '')
end

rawset(_G, 'datasets', datasets)  -- the global too, as Torch7's packages (see lua/torch/init.lua)
return datasets
