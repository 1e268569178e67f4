-- bench/distributed.lua — data-parallel over MPI (issue 19), at 2 ranks on this machine:
--   1. dist.allReduce (float sum, in place) against the bare MPI_Allreduce of the same sizes
--      (bench/mpi_allreduce.c, built with mpicc), with the module's agreement check on and off;
--   2. a training step at 2 ranks: compute alone (no communication), nn.DistributedDataParallel
--      with the blocking reduction after backward (overlap = false), and overlapped (the default),
--      for the seed model and a 4 x 1024 MLP; the share of the communication the overlap hides is
--      (blocking - overlapped) / (blocking - compute).
-- `make bench` runs it as the driver (it starts the mpirun jobs); the ranks run this same file
-- with `--worker`. Skipped when mpirun, the distributed module or the helper is missing. Every
-- ratio comes from this run; the ranks share the machine's cores with whatever else runs.
local torch = require 'torch'

local ARGS = { ... }
local MPIRUN = 'OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe '
               .. '--mca btl_vader_single_copy_mechanism none -np 2 '
-- floats per all-reduce and calls per round (about the same bytes per round)
local SIZES = { { 1024, 1000 }, { 65536, 100 }, { 1048576, 10 }, { 4194304, 4 } }
local ROUNDS = 3

-- ---- the ranks ---------------------------------------------------------------------------
if ARGS[1] == '--worker' then
  local dist = require 'distributed'
  local nn = require 'nn'
  local rank, size = dist.init()
  torch.setnumthreads(1)
  local function slowest(t) return dist.allReduce(torch.DoubleTensor({ t }), 'max')[1] end

  if ARGS[2] == 'allreduce' then
    dist.setChecks(ARGS[3] == 'checked')
    for _, s in ipairs(SIZES) do
      local n, calls = s[1], s[2]
      local buf = torch.FloatTensor(n)
      buf:copy(torch.range(1, n):float():pow(-1))  -- 1 / i, as bench/mpi_allreduce.c fills it
      local best = math.huge
      for _ = 1, ROUNDS do
        dist.barrier()
        local t0 = torch.clock()
        for _ = 1, calls do dist.allReduce(buf) end
        best = math.min(best, slowest((torch.clock() - t0) / calls))
      end
      if rank == 0 then print(('%d %.3f'):format(n, best * 1e6)) end
    end
  else   -- ddp MODEL: ms per step for compute / blocking / overlapped, and the buckets
    local which = ARGS[3]
    local model, x, y, crit, bucketMB
    torch.manualSeed(1)
    if which == 'seed' then
      model = nn.Sequential():add(nn.LSTM(28, 128, 1, { batchFirst = true })):add(nn.Select(2, -1))
        :add(nn.Linear(128, 10))
      x, y = torch.randn(100 // size, 28, 28), torch.LongTensor(100 // size):random(1, 10)
      bucketMB = 25
    else
      model = nn.Sequential()
      for _ = 1, 4 do model:add(nn.Linear(1024, 1024)):add(nn.ReLU()) end
      model:add(nn.Linear(1024, 10))
      x, y = torch.randn(128 // size, 1024), torch.LongTensor(128 // size):random(1, 10)
      bucketMB = 4
    end
    crit = nn.CrossEntropyCriterion()
    local params = model:parameters()
    local nparams = 0
    for _, p in ipairs(params) do nparams = nparams + p:nElement() end
    local STEPS = which == 'seed' and 10 or 5
    local function time_steps(net, sync)
      local step = function()
        for _, p in ipairs(params) do if p.grad then p.grad:zero() end end
        crit(net(x), y):backward()
        if sync then net:syncGradients() end
        torch.noGrad(function() for _, p in ipairs(params) do p:add(-0.01, p.grad) end end)
      end
      step()
      step()
      local best = math.huge
      for _ = 1, 3 do
        dist.barrier()
        local t0 = torch.clock()
        for _ = 1, STEPS do step() end
        best = math.min(best, slowest((torch.clock() - t0) / STEPS))
      end
      return best * 1e3
    end
    local compute = time_steps(model, false)
    local blocking = nn.DistributedDataParallel(model, { bucketMB = bucketMB, overlap = false })
    local tb = time_steps(blocking, true)
    local overlapped = nn.DistributedDataParallel(model, { bucketMB = bucketMB })
    local to = time_steps(overlapped, true)
    local early = overlapped._sync and overlapped._sync.early or 0
    if rank == 0 then
      print(('%s %d %d %d %.3f %.3f %.3f'):format(which, nparams, #overlapped._buckets, early,
                                                  compute, tb, to))
    end
  end
  return
end

-- ---- the driver --------------------------------------------------------------------------
local exe = arg and arg[-1] or 'build/luatorch'
local here = (debug.getinfo(1, 'S').source:match('^@(.*)/[^/]*$')) or 'bench'
local helper = (exe:match('^(.*)/[^/]*$') or '.') .. '/bench/mpi_allreduce'
local function sh_ok(cmd) return os.execute(cmd .. ' >/dev/null 2>&1') == true end
local why_not = not sh_ok('command -v mpirun') and 'mpirun not found (apt-get install openmpi-bin libopenmpi-dev)'
  or not package.searchpath('distributed.core', package.cpath) and 'the distributed module was not built (no mpicc)'
  or not sh_ok('test -x ' .. helper) and helper .. ' was not built (no mpicc)'
if why_not then
  print('distributed: skipped: ' .. why_not .. '\n')
  return
end

local function run(cmd)
  local p = io.popen(MPIRUN .. cmd .. ' 2>&1')
  local out = p:read('a')
  local ok = p:close()
  if not ok then error('bench/distributed.lua: ' .. cmd .. ' failed:\n' .. out) end
  local rows = {}
  for line in out:gmatch('[^\n]+') do
    local v = {}
    for w in line:gmatch('%S+') do v[#v + 1] = tonumber(w) or w end
    rows[#rows + 1] = v
  end
  return rows
end
local function by_size(rows, into)
  for _, r in ipairs(rows) do
    if type(r[1]) == 'number' and type(r[2]) == 'number' then
      into[r[1]] = math.min(into[r[1]] or math.huge, r[2])
    end
  end
end

-- alternate the three jobs twice, each size's best of all its rounds
local bare, checked, unchecked = {}, {}, {}
local sizes = {}
for _, s in ipairs(SIZES) do sizes[#sizes + 1] = s[1] .. ':' .. s[2] end
for _ = 1, 2 do
  by_size(run(('%s %d %s'):format(helper, ROUNDS, table.concat(sizes, ' '))), bare)
  by_size(run(('%s %s/distributed.lua --worker allreduce checked'):format(exe, here)), checked)
  by_size(run(('%s %s/distributed.lua --worker allreduce unchecked'):format(exe, here)), unchecked)
end
print('distributed: all-reduce of floats at 2 ranks (shared memory), microseconds per call, best of '
      .. 2 * ROUNDS .. ' rounds')
print(('%12s %10s %14s %14s %10s %10s'):format('floats', 'MPI', 'allReduce', 'no checks', 'ratio', 'no checks'))
for _, s in ipairs(SIZES) do
  local n = s[1]
  print(('%12d %10.1f %14.1f %14.1f %9.2fx %9.2fx'):format(n, bare[n], checked[n], unchecked[n],
        checked[n] / bare[n], unchecked[n] / bare[n]))
end
print('(allReduce: with the check that every rank passed the same size and type, one 64-byte '
      .. 'all-reduce more; no checks: dist.setChecks(false))')

print('\ndistributed: one training step at 2 ranks (1 thread each, the global batch split), ms')
print(('%-22s %9s %8s %10s %10s %10s %10s %8s'):format('model', 'params', 'buckets', 'compute',
      'blocking', 'overlap', 'comm', 'hidden'))
for _, m in ipairs({ { 'seed', 'seed LSTM 28->128, B100' }, { 'mlp', 'MLP 4x1024, B128' } }) do
  local best
  for _ = 1, 2 do
    for _, r in ipairs(run(('%s %s/distributed.lua --worker ddp %s'):format(exe, here, m[1]))) do
      if r[1] == m[1] and (not best or r[6] < best[6]) then best = r end
    end
  end
  local _, nparams, nb, early, compute, tb, to = table.unpack(best)
  local comm = tb - compute
  print(('%-22s %9d %4d (%d) %10.2f %10.2f %10.2f %10.2f %7.0f%%'):format(m[2], nparams, nb, early,
        compute, tb, to, comm, comm > 0 and 100 * (tb - to) / comm or 0))
end
print('(buckets: of bucketMB (25 for the seed, 4 for the MLP), in brackets those started during '
      .. 'backward; comm = blocking - compute; hidden = (blocking - overlap) / comm)')
