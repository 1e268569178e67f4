-- torch.cuda.graph (gpu/alloc.cu, lua/lcuda.c): a whole training step captured once and
-- replayed. Replays give the eager steps' losses and parameters exactly (the same kernels in
-- the same order, nn.LSTM's time loops included); memory the graph uses is never handed to
-- anything else while the graph lives; what needs the host inside the captured function is a
-- clear error that leaves the device usable. Pending without a device; on the emulated device
-- (`make CUDA=emu`) capture records launches and cuBLAS calls and replay runs them.
-- (Restricted assert API: the file also runs under tools/minibusted.lua on a GPU machine.)
local torch = require 'torch'
local nn = require 'nn'
local optim = require 'optim'
local H = require 'helpers'

local gpu_it = H.gpu_it

local function seed_model()
  torch.manualSeed(3)
  local model = nn.Sequential():add(nn.LSTM(4, 8, 1, { batchFirst = true }))
    :add(nn.Select(2, -1)):add(nn.Linear(8, 3)):cuda()
  return model, nn.CrossEntropyCriterion():cuda(), optim.SGD(model:parameters(), { lr = 0.1 })
end

local function batches(n)
  torch.manualSeed(7)
  local xs, ys = {}, {}
  for k = 1, n do xs[k], ys[k] = torch.randn(5, 6, 4), torch.LongTensor(5):random(1, 3) end
  return xs, ys
end

local function host(t) return t:detach():float() end

describe('CUDA graphs of whole steps', function()
  gpu_it('replays of a captured training step equal eager steps, losses and parameters', function()
    local xs, ys = batches(6)
    local mA, cA, oA = seed_model()
    local eager = {}
    for k = 1, 6 do
      oA:zeroGrad()
      local loss = cA(mA(xs[k]:cuda()), ys[k]:cuda())
      loss:backward()
      oA:step()
      eager[k] = loss:item()
    end

    local mB, cB, oB = seed_model()
    local x, y = torch.CudaTensor(5, 6, 4), torch.CudaLongTensor(5)
    local loss
    local function step()
      oB:zeroGrad()
      loss = cB(mB(x), y)
      loss:backward()
      oB:step()
    end
    for k = 1, 2 do  -- warm-up steps, eager
      x:copy(xs[k]); y:copy(ys[k]); step()
      assert.are.equal(eager[k], loss:item())
    end
    local g = torch.cuda.graph(step)
    assert.are.equal('torch.cuda.Graph', tostring(g))
    assert.is_false(torch.cuda.isCapturing())
    for k = 3, 6 do
      x:copy(xs[k]); y:copy(ys[k])
      g:replay()
      assert.are.equal(eager[k], loss:item(), 'step ' .. k)
    end
    local pa, pb = mA:parameters(), mB:parameters()
    for i = 1, #pa do
      assert.are.equal(0, (host(pa[i]) - host(pb[i])):abs():max(), 'parameter ' .. i)
    end
    g:free()
    H.matches(H.error_of(function() g:replay() end), 'replay', 'freed')
    g:free()  -- idempotent
  end)

  gpu_it('memory the graph writes is never handed out while it lives, and comes back after', function()
    local a = torch.CudaTensor(1000):fill(1)
    local out
    local g = torch.cuda.graph(function()
      local tmp = a * 2          -- a temporary freed inside the capture
      out = tmp + 1
    end)
    collectgarbage()
    collectgarbage()
    -- same-sized blocks made now must not be the graph's
    local others = {}
    for k = 1, 8 do others[k] = torch.CudaTensor(1000):fill(7) end
    a:fill(2)
    g:replay()
    assert.are.equal(5, out:float():min())
    assert.are.equal(5, out:float():max())
    for k = 1, 8 do
      assert.are.equal(7, others[k]:float():min(), 'tensor ' .. k .. ' was written by a replay')
      assert.are.equal(7, others[k]:float():max(), 'tensor ' .. k .. ' was written by a replay')
    end
    out = nil
    collectgarbage()
    g:replay()   -- still valid: out's block stayed the graph's
    g:free()
  end)

  gpu_it('a tensor made before the capture and dropped during it stays the graph\'s', function()
    collectgarbage()
    torch.cuda.emptyCache()   -- no cached block of this size: a freed one would come next
    local pre = torch.CudaTensor(1000):fill(3)
    local out
    local g = torch.cuda.graph(function()
      out = pre * 2       -- the captured kernel reads pre's block at every replay
      pre = nil
      collectgarbage()    -- pre dies inside the capture
      collectgarbage()
    end)
    local others = {}
    for k = 1, 8 do others[k] = torch.CudaTensor(1000):fill(7) end
    g:replay()
    assert.are.equal(6, out:float():max(), 'the block the graph reads was handed out again')
    assert.are.equal(6, out:float():min())
    g:free()
  end)

  gpu_it('what needs the host inside the function is a clear error; the device works after', function()
    local a = torch.CudaTensor(10):fill(3)
    H.matches(H.error_of(function() torch.cuda.graph(function() return (a * 2):sum() end) end),
              'graph capture')
    H.matches(H.error_of(function()
      torch.cuda.graph(function() local b = a:float() end)
    end), 'graph capture')
    assert.is_false(torch.cuda.isCapturing())
    -- the fn's own errors come through as they were raised
    H.matches(H.error_of(function() torch.cuda.graph(function() error('mine') end) end), 'mine')
    -- eager work afterwards
    assert.are.equal(60, (a * 2):sum())
    H.matches(H.error_of(function() torch.cuda.graph(42) end), 'function expected')
  end)

  gpu_it('an out-of-range class inside a capture gives a NaN loss, not a wild read', function()
    local x, y = torch.CudaTensor(4, 3):fill(0.5), torch.CudaLongTensor(4):fill(1)
    local crit = nn.CrossEntropyCriterion():cuda()
    local loss
    local g = torch.cuda.graph(function() loss = crit(x, y) end)
    g:replay()
    assert.is_true(math.abs(loss:item() - math.log(3)) < 1e-6)
    y:fill(9)   -- the eager check would refuse this; the graph has no host check
    g:replay()
    assert.is_true(loss:item() ~= loss:item(), 'expected NaN')
    g:free()
    -- eagerly, the same target is the usual error
    H.matches(H.error_of(function() return crit(x, y) end), 'out of range')
  end)
end)
