-- spec 48: distributed (issue 19) — the MPI collectives, nn.DistributedDataParallel and the
-- sharded DataLoader, in child luatorch processes under `mpirun -np 2` and `-np 3` running
-- spec/dist_worker.lua (each rank writes its results to a file of its own; the expected values
-- are computed here or in the worker from closed forms, never by the code under test). A world
-- of one (no mpirun) is the training reference. Pending when mpirun or the MPI binding
-- (build/lua/distributed/core.so, built when mpicc is found) is missing.
local H = require 'helpers'
local exe = os.getenv('LUATORCH_EXE') or './build/luatorch'
local here = debug.getinfo(1, 'S').source:match('^@(.*)/[^/]*$') or 'spec'
local worker = here .. '/dist_worker.lua'

local function sh_ok(cmd)
  local ok = os.execute(cmd .. ' >/dev/null 2>&1')
  return ok == true
end
local has_mpirun = sh_ok('command -v mpirun')
local has_binding = package.searchpath('distributed.core', package.cpath) ~= nil
local why_not = not has_mpirun and 'mpirun not found (Debian: apt-get install openmpi-bin libopenmpi-dev)'
  or not has_binding and 'the MPI binding distributed.core was not built (no mpicc at build time)'

-- runs the worker in mode on np ranks (np = 0: alone, a world of one); returns the output, the
-- exit status, the seconds it took and each rank's lines (ranks 0-based: files[r + 1])
local function run(np, mode) return H.run_ranks(exe, worker, np, mode) end

local function numbers(line, tag)
  local rest = line:match('^' .. tag .. ' (.*)$')
  local v = {}
  for x in (rest or ''):gmatch('%S+') do v[#v + 1] = tonumber(x) end
  return v
end

local function find(lines, tag)
  for _, l in ipairs(lines) do
    if l == tag or l:sub(1, #tag + 1) == tag .. ' ' then return l end
  end
end

describe('distributed', function()
  if why_not then
    it('runs under mpirun', function() pending(why_not) end)
    return
  end

  it('a world of one outside mpirun, and argument errors that name the function', function()
    local script = [[
      local dist = require 'distributed'
      print(pcall(dist.rank))
      print(dist.init())
      print(dist.rank(), dist.size(), dist.localRank(), dist.isInitialized())
      print(pcall(dist.allReduce, torch.FloatTensor(3, 4):t()))
      print(pcall(dist.allReduce, torch.FloatTensor(3), 'avg'))
      print(pcall(dist.allReduce, torch.LongTensor(3), 'mean'))
      print(pcall(dist.allReduce, 'x'))
      print(pcall(dist.broadcast, torch.FloatTensor(3), 1))
      print(pcall(dist.allGather, torch.FloatTensor(5), torch.FloatTensor(3)))
      print(pcall(dist.allGather, torch.DoubleTensor(3), torch.FloatTensor(3)))
      print(dist.allReduce(torch.FloatTensor({1, 2})):sum())
      print(pcall(dist.setTimeout, -1))
      print(dist.setTimeout(5), dist.setTimeout(0))
      print(pcall(dist.setChecks, 1))
      print(dist.setChecks(false), dist.setChecks(true))
      print('backend', dist.deviceBackend())
      print('cuda built', torch.cuda.isBuilt())
      dist.finalize()
      print(pcall(dist.barrier))
    ]]
    local p = io.popen(("%s -e %q 2>&1"):format(exe, script))
    local out = p:read('a')
    local ok = p:close()
    assert.is_true(ok, out)
    assert.matches("rank: MPI is not running %(call dist.init%(%) first%)", out)
    assert.matches('\n0\t1\n0\t1\t0\ttrue\n', out)
    assert.matches("bad argument #1 to 'distributed.allReduce' %(a contiguous tensor expected, got a "
                   .. "non%-contiguous torch.FloatTensor of size 4 x 3", out)
    assert.matches("bad argument #2 to 'distributed.allReduce' %(invalid option 'avg'%)", out)
    assert.matches("bad argument #2 to 'distributed.allReduce' %('mean' needs a float or double tensor, "
                   .. "got a torch.LongTensor %(use 'sum'%)%)", out)
    assert.matches("bad argument #1 to 'distributed.allReduce' %(", out)
    assert.matches("bad argument #2 to 'distributed.broadcast' %(root must be a rank from 0 to 0, got 1%)", out)
    assert.matches("bad argument #1 to 'distributed.allGather' %(3 elements expected %(1 ranks times the 3 "
                   .. "of argument #2%), got 5%)", out)
    assert.matches("bad argument #2 to 'distributed.allGather' %(a torch.DoubleTensor expected", out)
    assert.matches('\n3%.0\n', out)
    assert.matches("bad argument #1 to 'distributed.setTimeout' %(seconds from 0 %(no timeout%) to 1e9 expected, got %-1", out)
    assert.matches('\n1800%.?0?\t5%.?0?\n', out)   -- the default, then the one set
    assert.matches("bad argument #1 to 'distributed.setChecks' %(boolean expected, got number%)", out)
    assert.matches('\ntrue\tfalse\n', out)
    -- no device here, or the emulated one (the device paths: spec 53): host buffers, and why
    local why = out:match('\nbackend\thost\t(rank 0: [^\n]+)\n')
    assert.is_truthy(why, out)
    if out:find('\ncuda built\ttrue\n') then
      assert.is_truthy(why:find('no CUDA device is available (', 1, true) or why:find('LUATORCH_NCCL=0', 1, true)
                       or why:find('the emulated device (make CUDA=emu) has no NCCL', 1, true), why)
    else
      assert.are.equal('rank 0: luatorch was built without CUDA', why)
    end
    assert.matches('barrier: MPI is not running %(call dist.init%(%) first; dist.finalize%(%) has been called%)', out)
  end)

  -- the names the worker reports, one per check it made
  local names = {}
  for _, ty in ipairs({ 'FloatTensor', 'DoubleTensor', 'LongTensor', 'ByteTensor' }) do
    local ops = { 'sum', 'max', 'min' }
    if ty == 'FloatTensor' or ty == 'DoubleTensor' then
      ops[#ops + 1], ops[#ops + 2] = 'mean', 'iallReduce mean'
    end
    for _, k in ipairs(ops) do names[#names + 1] = ty .. ' ' .. k end
    for _, k in ipairs({ 'iallReduce max', 'broadcast', 'allGather', 'reduceScatter' }) do
      names[#names + 1] = ty .. ' ' .. k
    end
  end

  for _, np in ipairs({ 2, 3 }) do
    it(('collectives give the right values for every op and type on %d ranks'):format(np), function()
      local out, code, _, files = run(np, 'collectives')
      assert.are.equal(0, code, out)
      for r = 1, np do
        local lines = files[r]
        for _, name in ipairs(names) do
          assert.is_truthy(find(lines, 'ok ' .. name), ('rank %d: no result for %s\n%s'):format(r - 1, name, out))
        end
        local mismatch = find(lines, 'mismatch')
        assert.is_truthy(mismatch, out)
        assert.matches(('allReduce: the ranks passed tensors of different sizes %%(from 3 to %d elements; '
                        .. 'this is rank %d with %d%%)'):format(np + 2, r - 1, r + 2), mismatch)
        assert.is_truthy(find(lines, 'done'), out)
      end
    end)
  end

  for _, style in ipairs({ 'train-torch7', 'train-ddp', 'train-ddp-t7' }) do   -- (ddp-sync: below)
    it(('%s: 2 and 3 ranks from different inits end with the parameters of one process on the whole batch')
       :format(style), function()
      local out, code, _, files = run(0, style)
      assert.are.equal(0, code, out)
      local ref, start = numbers(find(files[1], 'params'), 'params'), numbers(find(files[1], 'start'), 'start')
      assert.are.equal(58, #ref)   -- 4*8 + 8 + 8*2 + 2
      local moved = 0
      for i = 1, #ref do moved = math.max(moved, math.abs(ref[i] - start[i])) end
      assert.is_true(moved > 1e-3, 'training did not change the parameters')
      for _, np in ipairs({ 2, 3 }) do
        out, code, _, files = run(np, style)
        assert.are.equal(0, code, out)
        for r = 1, np do
          local lines = files[r]
          -- every rank but 0 started elsewhere and was overwritten by rank 0's parameters
          assert.are.equal(r == 1 and 'init-changed false' or 'init-changed true', find(lines, 'init-changed'))
          local got = numbers(find(lines, 'params') or '', 'params')
          assert.are.equal(#ref, #got, out)
          if style == 'train-ddp' or style == 'train-ddp-t7' then
            -- buckets of ~105 bytes: {b2, W2, b1} (2 + 16 + 8 floats) and {W1}; both leave during
            -- backward on each of the 5 steps
            assert.are.equal('early 2 2 2 2 2', find(lines, 'early'), out)
          end
          for i = 1, #ref do
            assert.is_true(math.abs(got[i] - ref[i]) < 2e-6,
              ('%d ranks, rank %d, parameter %d: %s, one process: %s'):format(np, r - 1, i, got[i], ref[i]))
          end
        end
      end
    end)
  end

  it('train-ddp-lstm: a fused 2-layer nn.LSTM, its layers reported one by one, ends as one process (2 ranks)', function()
    local out, code, _, files = run(0, 'train-ddp-lstm')
    assert.are.equal(0, code, out)
    local ref, start = numbers(find(files[1], 'params'), 'params'), numbers(find(files[1], 'start'), 'start')
    assert.are.equal(472, #ref)   -- LSTM 4->5 (220) and 5->5 (240), Linear 5->2 (12)
    local moved = 0
    for i = 1, #ref do moved = math.max(moved, math.abs(ref[i] - start[i])) end
    assert.is_true(moved > 1e-3, 'training did not change the parameters')
    out, code, _, files = run(2, 'train-ddp-lstm')
    assert.are.equal(0, code, out)
    for r = 1, 2 do
      -- 9 buckets of ~105 bytes, every one started during backward on each step
      assert.are.equal('early 9 9 9 9 9', find(files[r], 'early'), out)
      local got = numbers(find(files[r], 'params') or '', 'params')
      assert.are.equal(#ref, #got, out)
      for i = 1, #ref do
        assert.is_true(math.abs(got[i] - ref[i]) < 2e-6,
          ('rank %d, parameter %d: %s, one process: %s'):format(r - 1, i, got[i], ref[i]))
      end
    end
  end)

  it('the overlapped reduction gives the bits of the blocking one (2 ranks)', function()
    local out1, code1, _, overlapped = run(2, 'train-ddp')
    local out2, code2, _, blocking = run(2, 'train-ddp-sync')
    assert.are.equal(0, code1, out1)
    assert.are.equal(0, code2, out2)
    for r = 1, 2 do
      assert.are.equal('early 0 0 0 0 0', find(blocking[r], 'early'))
      assert.is_truthy(find(overlapped[r], 'params'), out1)
      assert.are.equal(find(blocking[r], 'params'), find(overlapped[r], 'params'))
    end
  end)

  it("buffers: root's broadcast at construction and before each training forward (or not)", function()
    for _, mode in ipairs({ 'buffers', 'buffers-off' }) do
      local out, code, _, files = run(2, mode)
      assert.are.equal(0, code, out)
      -- rank r starts at r + 1 and sees column means 10 r + 2.5 + j; momentum 0.1
      local function mean(r, step, j)
        if step == 0 then return 1 end   -- rank 0's start, broadcast at construction
        local start = mode == 'buffers' and mean(0, step - 1, j) or mean(r, step - 1, j)
        return 0.9 * start + 0.1 * (10 * r + 2.5 + j)
      end
      for r = 0, 1 do
        for step = 0, 2 do
          local got = numbers(find(files[r + 1], 'mean' .. step) or '', 'mean' .. step)
          assert.are.equal(3, #got, out)
          for j = 1, 3 do
            local want = mean(r, step, j)
            assert.is_true(math.abs(got[j] - want) < 1e-5,
              ('%s, rank %d, step %d, column %d: %s, expected %s'):format(mode, r, step, j, got[j], want))
          end
        end
      end
    end
  end)

  it('examples/lstm_mnist.lua --distributed: rank 0 prints and logs, --resume continues the curve', function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute('mkdir -p ' .. dir))
    local function example(args)
      local cmd = ('%s -np 2 %s %s/../examples/lstm_mnist.lua --distributed --hidden 16 '
                   .. '--momentum 0.9 --evalEvery 20 --threads 1 --quiet %s 2>&1')
                  :format(H.mpirun(300), exe, here, args)
      local p = io.popen(cmd)
      local out = p:read('a')
      local _, _, code = p:close()
      return out, code
    end
    -- the global batch 200 is 100 per rank: 40 iterations per epoch, as one process at 200
    local out, code = example(('--batch 200 --epochs 2 --log %s/full.csv'):format(dir))
    assert.are.equal(0, code, out)
    assert.matches('batch 200, lr 0.1, 100 per rank on 2 ranks', out)
    local _, prints = out:gsub('Epoch 1/2:', '')
    assert.are.equal(1, prints, out)   -- rank 0 only
    local _, models = out:gsub('nn.Sequential', '')
    assert.are.equal(1, models, out)
    assert.matches('Final test accuracy', out)
    out, code = example(('--batch 200 --epochs 1 --log %s/part.csv --checkpoint %s/ck.t7'):format(dir, dir))
    assert.are.equal(0, code, out)
    out, code = example(('--batch 200 --epochs 2 --log %s/part.csv --checkpoint %s/ck.t7 --resume'):format(dir, dir))
    assert.are.equal(0, code, out)
    assert.matches('resumed from .* after epoch 1 %(iteration 40%)', out)
    local function read(f)
      local h = assert(io.open(dir .. '/' .. f))
      local t = h:read('a')
      h:close()
      return t
    end
    local full = read('full.csv')
    assert.are.equal(5, select(2, full:gsub('\n', '')))   -- the header and 4 evaluations
    assert.are.equal(full, read('part.csv'))
    out, code = example('--batch 201')
    assert.are.equal(2, code, out)
    assert.matches('option %-%-batch %(201, the global batch%) must be a multiple of the 2 ranks', out)
    os.execute('rm -rf ' .. dir)
  end)

  it('DataLoader{distributed = true}: every sample once per epoch, the same number of batches', function()
    for _, np in ipairs({ 2, 3 }) do
      local out, code, _, files = run(np, 'shard')
      assert.are.equal(0, code, out)
      for _, n in ipairs({ 10, 12 }) do
        local per_rank = (n + np - 1) // np
        local orders = {}
        for epoch = 1, 2 do
          local seen, total = {}, 0
          for r = 1, np do
            local nb = find(files[r], ('batches %d %d'):format(n, epoch))
            assert.are.equal(('batches %d %d %d'):format(n, epoch, (per_rank + 1) // 2), nb, out)
            local mine = {}
            for _, l in ipairs(files[r]) do
              if l:match(('^batch %d %d '):format(n, epoch)) then
                local v = numbers(l, 'batch')   -- n, epoch, batch, then the samples
                for k = 4, #v do
                  local i = v[k]
                  mine[#mine + 1] = i
                  seen[i] = (seen[i] or 0) + 1
                  total = total + 1
                end
              end
            end
            assert.are.equal(per_rank, #mine)
            orders[#orders + 1] = table.concat(mine, ',')
          end
          assert.are.equal(per_rank * np, total)
          for i = 1, n do
            assert.is_truthy(seen[i], ('%d ranks, n = %d, epoch %d: sample %d missed'):format(np, n, epoch, i))
            if n % np == 0 then assert.are.equal(1, seen[i]) end
          end
        end
        -- shuffled: the two epochs' orders differ
        assert.are_not.equal(table.concat(orders, ';', 1, np), table.concat(orders, ';', np + 1, 2 * np))
      end
    end
  end)

  -- each fault: the job's end within 30 s (the timeout run: 2 s), and what says why
  local faults = {
    { 'fail', 'a rank that raises aborts every rank with a clear message',
      { 'rank 1 fails on purpose',
        'distributed: rank 1 of 3 failed %(the error is above%); aborting all ranks %(MPI_Abort%)' } },
    { 'fail-train', 'a rank that raises mid-training (overlapped DDP) aborts every rank',
      { 'rank 1 fails on purpose in step 3', 'distributed: rank 1 of 3 failed' } },
    { 'exit', 'a rank that exits (os.exit(3)) ends the job (mpirun)', { 'Exit code:%s+3' } },
    { 'kill', 'a rank killed by a signal ends the job (mpirun)', { 'rank 1 .* exited on signal 9' } },
    { 'early-end', "a rank whose script ends early: the others' timeout ends the job",
      -- (whichever of ranks 0 and 2 is first: mpirun may end the other before it says so)
      { 'distributed: rank [02] of 3 waited more than 2 s in allReduce %(dist.setTimeout%): another rank '
        .. 'has stopped taking part' } },
  }
  for _, f in ipairs(faults) do
    it(f[2] .. ', in bounded time', function()
      local out, code, secs, files = run(3, f[1])
      assert.are_not.equal(0, code)
      assert.are_not.equal(124, code, 'timed out: the other ranks were not stopped\n' .. out)
      assert.is_true(secs < 30, out)
      for _, pattern in ipairs(f[3]) do assert.matches(pattern, out) end
      for r = 1, 3 do assert.is_nil(find(files[r], 'not aborted'), out) end
    end)
  end
end)
