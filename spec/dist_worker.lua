-- spec/dist_worker.lua — the script spec/48-distributed_spec.lua runs in every rank (under
-- mpirun, or alone as a world of one):  luatorch spec/dist_worker.lua MODE OUTDIR
-- Each rank writes its results to OUTDIR/rank<r>.txt, one line per result; the spec checks
-- them against values it computes itself. Modes:
--   collectives  every collective on every dtype and op; each rank checks its own results
--                against closed forms of the ranks' inputs and writes 'ok <name>' lines
--   train-torch7 / train-ddp / train-ddp-sync / train-ddp-t7 / train-ddp-lstm  5 SGD steps of a
--                small MLP (ddp-lstm: a 2-layer nn.LSTM, a Select and a Linear) on 12
--                fixed samples, each rank on its shard (DataLoader{distributed = true}), from a
--                different random init on every rank; writes the final parameters (a world of
--                one is the reference). torch7: getParameters + dist.allReduce in feval;
--                ddp: ddp(x), loss:backward() overlapped, no syncGradients; ddp-sync: overlap
--                off, ddp:syncGradients(); ddp-t7: ddp:forward/backward + optim.sgd on
--                ddp:getParameters(). The ddp modes also write how many buckets each step
--                launched during backward ('early')
--   collectives-cuda / train-ddp-cuda / train-ddp-lstm-cuda  the same on device tensors (through NCCL or host staging,
--                as dist.deviceBackend() says; the spec: spec/53-cuda_distributed_spec.lua)
--   backend      dist.deviceBackend()'s answer and reason, a device all-reduce, and a rank
--                passing a host tensor where the others pass a device one
--   buffers      batch norm's running mean: broadcast at construction and before each forward
--   buffers-off  the same with broadcastBuffers = false
--   shard        two shuffled epochs of 10 and 12 samples: this rank's samples per batch
--   fail         rank 1 raises while the others wait in a collective (spec: MPI_Abort)
--   fail-train   rank 1 raises in its third training step (DDP, overlapped)
--   exit / kill  rank 1 leaves with os.exit(3) / is killed (SIGKILL) while the others wait
--   early-end    rank 1's script ends (cleanly) while the others wait: the timeout (2 s)
local dist = require 'distributed'
local nn = require 'nn'
local optim = require 'optim'
local datasets = require 'datasets'

local mode, outdir = arg[1], arg[2]
local rank, size = dist.init()
local out = assert(io.open(('%s/rank%d.txt'):format(outdir, rank), 'w'))
local function say(...) out:write(table.concat({ ... }, ' '), '\n') out:flush() end

local function expect(name, t, f)
  if t:isCuda() then t = t:double() end
  for i = 1, t:nElement() do
    local want = f(i)
    if math.abs(t[i] - want) > 1e-6 * math.max(1, math.abs(want)) then
      error(('%s: element %d is %s, expected %s (rank %d of %d)'):format(name, i, t[i], want, rank, size))
    end
  end
  say('ok', name)
end

local function values(flat)
  local v = {}
  for i = 1, flat:nElement() do v[i] = ('%.9g'):format(flat[i]) end
  return v
end

if mode == 'collectives' or mode == 'collectives-cuda' then
  local n = size
  -- collectives-cuda: every tensor on the device (staged through host buffers)
  local function dev(t) return mode == 'collectives-cuda' and t:cuda() or t end
  for _, ty in ipairs({ 'FloatTensor', 'DoubleTensor', 'LongTensor', 'ByteTensor' }) do
    local function input() -- rank r holds (r + 1) * i
      local t = torch[ty](5)
      for i = 1, 5 do t[i] = (rank + 1) * i end
      return dev(t)
    end
    expect(ty .. ' sum', dist.allReduce(input()), function(i) return i * n * (n + 1) / 2 end)
    expect(ty .. ' max', dist.allReduce(input(), 'max'), function(i) return n * i end)
    expect(ty .. ' min', dist.allReduce(input(), 'min'), function(i) return i end)
    if ty == 'FloatTensor' or ty == 'DoubleTensor' then
      expect(ty .. ' mean', dist.allReduce(input(), 'mean'), function(i) return i * (n + 1) / 2 end)
      expect(ty .. ' iallReduce mean', dist.iallReduce(input(), 'mean'):wait(),
             function(i) return i * (n + 1) / 2 end)
    end
    local h = dist.iallReduce(input(), 'max')
    expect(ty .. ' iallReduce max', h:wait(), function(i) return n * i end)
    expect(ty .. ' broadcast', dist.broadcast(dev(torch[ty](3):fill(rank + 1)), n - 1), function() return n end)
    local all = dev(torch[ty](5 * n):zero())
    dist.allGather(all, input())
    expect(ty .. ' allGather', all, function(j) local q, i = (j - 1) // 5, (j - 1) % 5 + 1 return (q + 1) * i end)
    local big = torch[ty](2 * n)   -- rank r holds r + j at position j
    for j = 1, 2 * n do big[j] = rank + j end
    local mine = dev(torch[ty](2))
    dist.reduceScatter(mine, dev(big))
    expect(ty .. ' reduceScatter', mine, function(i) return n * (n - 1) / 2 + n * (2 * rank + i) end)
  end
  -- a rank passing another size: the same clear error on every rank, and the world goes on
  local ok, err = pcall(dist.allReduce, torch.FloatTensor(3 + rank))
  if size > 1 then
    assert(not ok, 'allReduce of different sizes did not fail')
    say('mismatch', (err:gsub('\n', ' ')))
  end
  if mode == 'collectives-cuda' then say('backend', (dist.deviceBackend())) end
  dist.barrier()
  say('done')
elseif mode == 'backend' then
  -- how device collectives go (decided by every rank together), then a device all-reduce on
  -- that path, then a rank passing a host tensor where the others pass a device one
  local name, why = dist.deviceBackend()
  say('backend', name)
  say('why', (why:gsub('\n', ' ')))
  local t = torch.DoubleTensor(6)
  for i = 1, 6 do t[i] = (rank + 1) * i end
  expect('allReduce', dist.allReduce(t:cuda()), function(i) return i * size * (size + 1) / 2 end)
  say('again', (dist.deviceBackend()))
  local ok, err = pcall(dist.allReduce, rank == 0 and torch.FloatTensor(3):cuda() or torch.FloatTensor(3))
  if size > 1 then
    assert(not ok, 'allReduce of a device tensor and a host one did not fail')
    say('mixed', (err:gsub('\n', ' ')))
  end
  dist.barrier()
  say('done')
elseif mode:match('^train%-') then
  -- 12 fixed samples (closed forms, the same on every rank), 4 features -> 2 outputs
  local X, Y = torch.FloatTensor(12, 4), torch.FloatTensor(12, 2)   -- (train-ddp-lstm: 12 x 3 x 4)
  for i = 1, 12 do
    for j = 1, 4 do X[i][j] = math.sin(i * 0.7 + j * 1.3) end
    Y[i][1], Y[i][2] = math.cos(i * 0.5), math.sin(i * 0.3) * 0.5
  end
  torch.manualSeed(100 + rank)   -- a different initialisation on every rank
  local model = nn.Sequential():add(nn.Linear(4, 8)):add(nn.Tanh()):add(nn.Linear(8, 2))
  if mode:match('^train%-ddp%-lstm') then
    -- a fused 2-layer nn.LSTM over 3 steps of the same samples (its backward reports each
    -- layer's weights as soon as that layer is done), then its last step to 2 outputs
    local S = torch.FloatTensor(12, 3, 4)
    for i = 1, 12 do
      for t = 1, 3 do
        for j = 1, 4 do S[i][t][j] = math.sin(i * 0.7 + j * 1.3 + t * 0.4) end
      end
    end
    X = S
    model = nn.Sequential():add(nn.LSTM(4, 5, 2, { batchFirst = true })):add(nn.Select(2, 3))
                           :add(nn.Linear(5, 2))
  end
  local criterion = nn.MSECriterion()
  local cuda = mode:match('%-cuda$') ~= nil   -- the model and batches on the device
  if cuda then
    model:cuda()
    criterion:cuda()
  end
  local loader = datasets.DataLoader{ dataset = datasets.TensorDataset(X, Y), batchSize = 12 // size,
                                      distributed = true }
  assert(#loader == 1, 'one batch per rank expected')
  if mode == 'train-torch7' then
    local params, gradParams = model:getParameters()
    local before = params:clone()
    dist.broadcast(params, 0)
    say('init-changed', tostring((before - params):abs():max() > 0))
    say('start', table.concat(values(params), ' '))
    local config = { learningRate = 0.1 }
    for _ = 1, 5 do
      for x, y in loader:iter() do
        local function feval()
          gradParams:zero()
          local loss = criterion:forward(model:forward(x), y)
          model:backward(x, criterion:backward(model.output, y))
          dist.allReduce(gradParams):div(dist.size())
          return loss, gradParams
        end
        optim.sgd(feval, params, config)
      end
    end
  else
    local before = model:getParameters():clone()
    -- ~100 bytes: two buckets (the second layer and the first bias; the first weight)
    local ddp = nn.DistributedDataParallel(model, { bucketMB = 1e-4, overlap = mode ~= 'train-ddp-sync' })
    say('init-changed', tostring((before - model:getParameters()):abs():max() > 0))
    say('start', table.concat(values(model:getParameters()), ' '))
    local early = {}
    local function count()
      early[#early + 1] = ddp._sync and ddp._sync.early or 0
    end
    if mode == 'train-ddp-t7' then
      local params, gradParams = ddp:getParameters()
      local config = { learningRate = 0.1 }
      for _ = 1, 5 do
        for x, y in loader:iter() do
          optim.sgd(function()
            gradParams:zero()
            local loss = criterion:forward(ddp:forward(x), y)
            ddp:backward(x, criterion:backward(ddp.output, y))
            count()
            return loss, gradParams
          end, params, config)
        end
      end
    else
      local opt = optim.SGD(ddp:parameters(), { lr = 0.1 })
      for _ = 1, 5 do
        for x, y in loader:iter() do
          if cuda then x, y = x:cuda(), y:cuda() end
          opt:zeroGrad()
          criterion(ddp(x), y):backward()
          count()
          if mode == 'train-ddp-sync' then ddp:syncGradients() end
          opt:step()
        end
      end
    end
    say('early', table.concat(early, ' '))
  end
  say('params', table.concat(values(model:getParameters():double()), ' '))
elseif mode == 'shard' then
  for _, n in ipairs({ 10, 12 }) do
    local ds = datasets.TensorDataset(torch.range(1, n):long())
    local loader = datasets.DataLoader{ dataset = ds, batchSize = 2, shuffle = true, distributed = true }
    for epoch = 1, 2 do
      local b = 0
      for idx in loader:iter() do
        b = b + 1
        local v = {}
        for k = 1, idx:nElement() do v[k] = tostring(math.tointeger(idx[k])) end
        say('batch', n, epoch, b, table.concat(v, ' '))
      end
      say('batches', n, epoch, b)
    end
  end
elseif mode == 'buffers' or mode == 'buffers-off' then
  -- rank r's batch: x[i][j] = 10 r + i + j (4 x 3), so its column means are 10 r + 2.5 + j
  local bn = nn.BatchNormalization(3)
  bn.running_mean:fill(rank + 1)
  local ddp = nn.DistributedDataParallel(nn.Sequential():add(bn), { broadcastBuffers = mode == 'buffers' })
  say('mean0', table.concat(values(bn.running_mean), ' '))
  local x = torch.FloatTensor(4, 3)
  for i = 1, 4 do for j = 1, 3 do x[i][j] = 10 * rank + i + j end end
  for step = 1, 2 do
    ddp:forward(x)
    say('mean' .. step, table.concat(values(bn.running_mean), ' '))
  end
elseif mode == 'early-end' then
  dist.setTimeout(2)
  if rank == 1 then
    say('ended early')
  else
    dist.allReduce(torch.FloatTensor(4):fill(1))
    say('not aborted')
  end
elseif mode == 'fail' or mode == 'exit' or mode == 'kill' or mode == 'fail-train' then
  if mode == 'fail-train' then
    -- rank 1 raises inside backward on its third step (a gradient-ready hook's all-reduce
    -- already in flight on the others)
    local model = nn.Sequential():add(nn.Linear(4, 8)):add(nn.Tanh()):add(nn.Linear(8, 2))
    local ddp = nn.DistributedDataParallel(model, { bucketMB = 1e-4 })
    local x, y = torch.FloatTensor(3, 4):fill(0.5), torch.FloatTensor(3, 2):fill(1)
    local crit = nn.MSECriterion()
    for step = 1, 10 do
      local loss = crit(ddp(x), y)
      if rank == 1 and step == 3 then error('rank 1 fails on purpose in step 3') end
      loss:backward()
    end
  end
  if rank == 1 then
    if mode == 'exit' then os.exit(3) end
    if mode == 'kill' then
      local f = assert(io.open('/proc/self/stat'))
      local pid = f:read('n')
      f:close()
      os.execute('kill -KILL ' .. math.tointeger(pid))
    end
    error('rank 1 fails on purpose')
  end
  dist.allReduce(torch.FloatTensor(4):fill(1))   -- waits for rank 1 forever without MPI_Abort
  say('not aborted')
else
  error('dist_worker: unknown mode ' .. tostring(mode))
end
out:close()
