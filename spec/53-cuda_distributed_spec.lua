-- spec 53: distributed collectives and nn.DistributedDataParallel on device tensors (issue 19),
-- through NCCL when every rank has a GPU of its own, else staged through host buffers, under
-- `mpirun -np 2` in child luatorch processes running spec/dist_worker.lua, as spec 48 does for
-- host tensors. GPU specs: pending without a device; `make test-cuda-emu` runs them on the
-- emulated device, which has no NCCL (so the host path and the choice between the two run
-- there; the NCCL collectives have not run on a real GPU). Also pending when mpirun or the MPI
-- binding is missing. The NCCL loader itself (gpu/nccl.cu) is checked against the real
-- libnccl, without a GPU, by tools/nccl_check.c (built with the CUDA backend).
local H = require 'helpers'
local exe = os.getenv('LUATORCH_EXE') or './build/luatorch'
local here = debug.getinfo(1, 'S').source:match('^@(.*)/[^/]*$') or 'spec'
local worker = here .. '/dist_worker.lua'

local has_mpirun = os.execute('command -v mpirun >/dev/null 2>&1') == true
local has_binding = package.searchpath('distributed.core', package.cpath) ~= nil

-- the worker in mode on np ranks (0: alone); the output, exit status and each rank's lines.
-- env: variables for every rank ('A=1 B=2'), or a list of them, one per rank (MPMD)
local function run(np, mode, env)
  local output, code, _, files = H.run_ranks(exe, worker, np, mode, env, 120)
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

-- tools/nccl_check (beside the executable, built with the CUDA backend): its output and exit
-- status, or nil when it was not built
local checker = exe:gsub('luatorch$', 'nccl_check')
local function nccl_check(env)
  if not io.open(checker) then return nil end
  local p = io.popen(('%s%s 2>&1'):format(env and 'env ' .. env .. ' ' or '', checker))
  local out = p:read('a')
  local _, _, code = p:close()
  return out, code
end

describe('the NCCL loader (gpu/nccl.cu) against the real libnccl', function()
  it('loads libnccl and its symbols, makes a unique id; without a GPU the init fails with a message', function()
    local out, code = nccl_check()
    if not out then return pending('tools/nccl_check is built with the CUDA backend only') end
    if H.gpu_emulated() then
      assert.are.equal(0, code, out)
      return assert.matches('^unavailable the emulated device %(make CUDA=emu%) has no NCCL\n$', out)
    end
    if out:match('^unavailable') then return pending('no libnccl here: ' .. out) end
    assert.are.equal(0, code, out)
    assert.matches('^library %S*libnccl%.so%.2 %(NCCL 2%.%d+%.%d+%)\nuniqueId ok\n', out)
    if H.has_gpu() then
      assert.matches('\ninit ok\n', out)
      assert.matches('\nok allReduce mean Float\n', out)
      assert.matches('\nok reduceScatter Byte\n', out)
      assert.matches('\ndestroy ok\n$', out)
    else
      -- the toolkit's NCCL without a driver: "unhandled cuda error (Cuda failure 'CUDA driver
      -- version is insufficient ...')"; the checker fails when no communicator is left half made
      assert.matches('\ninit failed ncclCommInitRank: %S', out)
      assert.is_nil(out:find('FAIL'), out)
    end
  end)

  it('LUATORCH_NCCL=0 turns it off', function()
    local out, code = nccl_check('LUATORCH_NCCL=0')
    if not out then return pending('tools/nccl_check is built with the CUDA backend only') end
    assert.are.equal(0, code, out)
    assert.are.equal('unavailable LUATORCH_NCCL=0 turns NCCL off\n', out)
  end)
end)

describe('distributed on device tensors', function()
  if not (has_mpirun and has_binding) then
    it('runs under mpirun', function() pending('mpirun or the MPI binding distributed.core is missing') end)
    return
  end

  -- what deviceBackend() must say for a world of one: NCCL where a real device and libnccl are
  local function expected_alone()
    if H.gpu_emulated() then return 'host', 'rank 0: the emulated device %(make CUDA=emu%) has no NCCL' end
    local out = nccl_check()
    if out and out:match('^library ') then return 'nccl', '^%S*libnccl%.so%.2 %(NCCL 2%.%d+%.%d+%), 1 rank$' end
    return 'host', '^rank 0: '
  end

  H.gpu_it('a world of one: deviceBackend() says which path, and every collective gives the host values', function()
    local name, why = expected_alone()
    local out, code, files = run(0, 'backend')
    assert.are.equal(0, code, out)
    assert.are.equal('backend ' .. name, find(files[1], 'backend'), out)
    assert.matches(why, find(files[1], 'why'):sub(5), nil, false)
    assert.is_truthy(find(files[1], 'ok allReduce'), out)
    assert.are.equal('again ' .. name, find(files[1], 'again'), out)
    out, code, files = run(0, 'collectives-cuda')
    assert.are.equal(0, code, out)
    for _, ty in ipairs({ 'FloatTensor', 'DoubleTensor', 'LongTensor', 'ByteTensor' }) do
      for _, k in ipairs({ 'sum', 'max', 'min', 'iallReduce max', 'broadcast', 'allGather', 'reduceScatter' }) do
        assert.is_truthy(find(files[1], 'ok ' .. ty .. ' ' .. k), ('%s %s\n%s'):format(ty, k, out))
      end
    end
    assert.is_truthy(find(files[1], 'ok DoubleTensor iallReduce mean'), out)
    assert.are.equal('backend ' .. name, find(files[1], 'backend'), out)
  end)

  H.gpu_it('two ranks on one GPU fall back to host buffers, every rank giving the same reason', function()
    local out, code, files = run(2, 'backend')
    assert.are.equal(0, code, out)
    for r = 1, 2 do
      assert.are.equal('backend host', find(files[r], 'backend'), out)
      -- rank 1 says rank 0's reason: the ranks agree on one
      assert.matches('^why rank 0: ranks 0 and 1 drive the same GPU %(.+%): NCCL needs a GPU per rank',
                     find(files[r], 'why'), nil, false)
      assert.is_truthy(find(files[r], 'ok allReduce'), out)
      assert.are.equal('again host', find(files[r], 'again'), out)
      -- a host tensor on one rank, a device one on the other: a clear error everywhere
      assert.matches('allReduce: the ranks passed tensors of different types %(this is rank ' .. (r - 1),
                     find(files[r], 'mixed') or out)
      assert.is_truthy(find(files[r], 'done'), out)
    end
  end)

  H.gpu_it('LUATORCH_NCCL=0 turns NCCL off, on every rank when one rank sets it', function()
    local out, code, files = run(0, 'backend', 'LUATORCH_NCCL=0')
    assert.are.equal(0, code, out)
    assert.are.equal('backend host', find(files[1], 'backend'), out)
    assert.are.equal('why rank 0: LUATORCH_NCCL=0 turns NCCL off', find(files[1], 'why'), out)
    -- rank 1 would have its own reason (the emulated device) or none (a GPU of its own)
    out, code, files = run(2, 'backend', { 'LUATORCH_NCCL=0', 'LUATORCH_NCCL=1' })
    assert.are.equal(0, code, out)
    for r = 1, 2 do
      assert.are.equal('backend host', find(files[r], 'backend'), out)
      assert.are.equal('why rank 0: LUATORCH_NCCL=0 turns NCCL off', find(files[r], 'why'), out)
      assert.is_truthy(find(files[r], 'ok allReduce'), out)
    end
  end)

  H.gpu_it('every collective on device tensors of every type gives the host values (2 ranks on one GPU: host buffers)', function()
    local out, code, files = run(2, 'collectives-cuda')
    assert.are.equal(0, code, out)
    for r = 1, 2 do
      assert.are.equal('backend host', find(files[r], 'backend'), out)
      for _, ty in ipairs({ 'FloatTensor', 'DoubleTensor', 'LongTensor', 'ByteTensor' }) do
        for _, k in ipairs({ 'sum', 'max', 'min', 'iallReduce max', 'broadcast', 'allGather', 'reduceScatter' }) do
          assert.is_truthy(find(files[r], 'ok ' .. ty .. ' ' .. k), ('rank %d: %s %s\n%s'):format(r - 1, ty, k, out))
        end
      end
      assert.is_truthy(find(files[r], 'ok FloatTensor iallReduce mean'), out)
      assert.is_truthy(find(files[r], 'done'), out)
    end
  end)

  -- mode (device, 2 ranks) ends with the parameters (nparams of them) of ref_mode (one host
  -- process), and every rank's DDP started the buckets `early` says during backward
  local function matches_one_process(ref_mode, mode, nparams, early)
    local out, code, files = run(0, ref_mode)
    assert.are.equal(0, code, out)
    local ref = numbers(find(files[1], 'params'))
    assert.are.equal(nparams, #ref)
    out, code, files = run(2, mode)
    assert.are.equal(0, code, out)
    for r = 1, 2 do
      local got = numbers(find(files[r], 'params'))
      assert.are.equal(#ref, #got, out)
      for i = 1, #ref do
        assert.is_true(math.abs(got[i] - ref[i]) < 1e-5,
          ('rank %d, parameter %d: %s, one host process: %s'):format(r - 1, i, got[i], ref[i]))
      end
      assert.are.equal(early, find(files[r], 'early'), out)
    end
  end

  H.gpu_it('DDP on a device nn.LSTM (2 layers, reported one by one) at 2 ranks ends as one host process', function()
    matches_one_process('train-ddp-lstm', 'train-ddp-lstm-cuda', 472, 'early 9 9 9 9 9')
  end)

  H.gpu_it('DDP on a device model at 2 ranks ends with the parameters of one host process', function()
    matches_one_process('train-ddp', 'train-ddp-cuda', 58, 'early 2 2 2 2 2')
  end)
end)
