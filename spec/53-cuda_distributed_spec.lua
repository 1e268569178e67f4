-- spec 53: distributed collectives and nn.DistributedDataParallel on device tensors (issue 19):
-- staged through host buffers (there is no NCCL path yet), under `mpirun -np 2` in child
-- luatorch processes running spec/dist_worker.lua, as spec 48 does for host tensors. GPU specs:
-- pending without a device; `make test-cuda-emu` runs them on the emulated device (so this has
-- not run on a real GPU). Also pending when mpirun or the MPI binding is missing.
local H = require 'helpers'
local exe = os.getenv('LUATORCH_EXE') or './build/luatorch'
local here = debug.getinfo(1, 'S').source:match('^@(.*)/[^/]*$') or 'spec'
local worker = here .. '/dist_worker.lua'

local has_mpirun = os.execute('command -v mpirun >/dev/null 2>&1') == true
local has_binding = package.searchpath('distributed.core', package.cpath) ~= nil

-- the worker in mode on np ranks (0: alone); the output, exit status and each rank's lines
local function run(np, mode)
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute('mkdir -p ' .. dir))
  local cmd = ('%s %s %s %s'):format(exe, worker, mode, dir)
  if np > 0 then
    cmd = ('OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 LSAN_OPTIONS=suppressions=%s/lsan_mpi.supp '
           .. 'ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0" timeout 120 mpirun --oversubscribe --mca btl_vader_single_copy_mechanism none -np %d %s')
          :format(here, np, cmd)
  end
  local p = io.popen(cmd .. ' 2>&1')
  local output = p:read('a')
  local _, _, code = p:close()
  local files = {}
  for r = 0, math.max(np, 1) - 1 do
    local lines, f = {}, io.open(('%s/rank%d.txt'):format(dir, r))
    if f then
      for l in f:lines() do lines[#lines + 1] = l end
      f:close()
    end
    files[r + 1] = lines
  end
  os.execute('rm -rf ' .. dir)
  return output, code, files
end

local function find(lines, tag)
  for _, l in ipairs(lines) do
    if l == tag or l:sub(1, #tag + 1) == tag .. ' ' then return l end
  end
end

local function numbers(line)
  local v = {}
  for x in (line or ''):gmatch('%S+') do v[#v + 1] = tonumber(x) end   -- (the tag is not a number)
  return v
end

describe('distributed on device tensors (host staging)', function()
  if not (has_mpirun and has_binding) then
    it('runs under mpirun', function() pending('mpirun or the MPI binding distributed.core is missing') end)
    return
  end

  H.gpu_it('every collective on device tensors of every type gives the host values (2 ranks)', function()
    local out, code, files = run(2, 'collectives-cuda')
    assert.are.equal(0, code, out)
    for r = 1, 2 do
      for _, ty in ipairs({ 'FloatTensor', 'DoubleTensor', 'LongTensor', 'ByteTensor' }) do
        for _, k in ipairs({ 'sum', 'max', 'min', 'iallReduce max', 'broadcast', 'allGather', 'reduceScatter' }) do
          assert.is_truthy(find(files[r], 'ok ' .. ty .. ' ' .. k), ('rank %d: %s %s\n%s'):format(r - 1, ty, k, out))
        end
      end
      assert.is_truthy(find(files[r], 'ok FloatTensor iallReduce mean'), out)
      assert.is_truthy(find(files[r], 'done'), out)
    end
  end)

  H.gpu_it('DDP on a device model at 2 ranks ends with the parameters of one host process', function()
    local out, code, files = run(0, 'train-ddp')
    assert.are.equal(0, code, out)
    local ref = numbers(find(files[1], 'params'))
    assert.are.equal(58, #ref)
    out, code, files = run(2, 'train-ddp-cuda')
    assert.are.equal(0, code, out)
    for r = 1, 2 do
      local got = numbers(find(files[r], 'params'))
      assert.are.equal(#ref, #got, out)
      for i = 1, #ref do
        assert.is_true(math.abs(got[i] - ref[i]) < 1e-5,
          ('rank %d, parameter %d: %s, one host process: %s'):format(r - 1, i, got[i], ref[i]))
      end
      assert.are.equal('early 2 2 2 2 2', find(files[r], 'early'), out)
    end
  end)
end)
