-- bench/datasets.lua — data loading: the 60k Fashion-MNIST training split read from its
-- .gz IDX file into a normalised float tensor (the seed's ToTensor + Normalize(0.5, 1.0)),
-- beside numpy + gzip doing the same in the same run; and one shuffled epoch of DataLoader
-- batches of 100. Skipped when Debian's dataset-fashion-mnist is not installed.
local torch = require 'torch'
local datasets = require 'datasets'
local transforms = require 'transforms'

local ROOT = datasets.fashionMNISTRoot
local IMAGES = ROOT .. '/train-images-idx3-ubyte.gz'
local fh = io.open(IMAGES, 'rb')
if not fh then
  print(('datasets: %s missing (install dataset-fashion-mnist): skipped'):format(IMAGES))
  return
end
fh:close()

local REPS = 5
local function best_of(n, fn)
  local best = math.huge
  for _ = 1, n do
    collectgarbage()
    local t0 = torch.clock()
    fn()
    best = math.min(best, torch.clock() - t0)
  end
  return best
end

local function seed_transform()
  return transforms.Compose { transforms.ToTensor(), transforms.Normalize(0.5, 1.0) }
end

local X
local load = best_of(REPS, function()
  local ds = datasets.FashionMNIST { transform = seed_transform() }
  X = ds:batchInputs()
end)
assert(X:size(1) == 60000 and X:size(2) == 1)
local read = best_of(REPS, function() torch.readIDX(IMAGES, 3) end)
local raw = torch.readIDX(IMAGES, 3)
local tf = seed_transform()
local norm = best_of(REPS, function() tf:batch(raw) end)

-- numpy + gzip, the same work: decompress, parse, to float32 [N x 1 x 28 x 28], x/255 - 0.5
local py = [[
import gzip, time, numpy as np
def load():
    with gzip.open('%s', 'rb') as f:
        b = f.read()
    n = int.from_bytes(b[4:8], 'big')
    x = np.frombuffer(b, np.uint8, offset=16).reshape(n, 1, 28, 28)
    return x.astype(np.float32) / np.float32(255) - np.float32(0.5)
best = 1e9
for _ in range(%d):
    t = time.perf_counter(); x = load(); best = min(best, time.perf_counter() - t)
print(best, x.shape[0])
]]
local np
local p = io.popen(("/usr/bin/python3 -c \"%s\" 2>/dev/null"):format(py:format(IMAGES, REPS)))
if p then
  local line = p:read('l')
  p:close()
  np = line and tonumber(line:match('^(%S+)'))
end

-- one epoch of shuffled batches of 100 from the pre-transformed split
local ds = datasets.FashionMNIST { transform = seed_transform() }
ds:batchInputs()
local loader = datasets.DataLoader { dataset = ds, batchSize = 100, shuffle = true, seed = 1 }
local nb = 0
local epoch = best_of(REPS, function()
  nb = 0
  for inputs, targets in loader:iter() do
    nb = nb + (inputs:size(1) == targets:size(1) and 1 or 0)
  end
end)
assert(nb == 600)

print(('datasets: Fashion-MNIST train (60000 x 28 x 28 .gz), %d threads, best of %d')
        :format(torch.getnumthreads and torch.getnumthreads() or 0, REPS))
print(('%-44s %10s %10s'):format('', 'seconds', 'numpy'))
print(('%-44s %10.3f %10s'):format('load + ToTensor + Normalize(0.5, 1.0)', load,
                                   np and ('%.3f'):format(np) or 'n/a'))
print(('%-44s %10.3f'):format('  readIDX (inflate into a ByteTensor)', read))
print(('%-44s %10.3f'):format('  ToTensor + Normalize, fused, whole split', norm))
print(('%-44s %10.3f %10s'):format('DataLoader epoch (600 batches of 100, shuffled)', epoch, ''))
print(('%-44s %10.1f'):format('  microseconds per batch', epoch / 600 * 1e6))
print(('target: load <= 0.3 s: %s%s'):format(load <= 0.3 and 'met' or 'NOT met',
      np and (' (%.2fx numpy)'):format(np / load) or ''))
