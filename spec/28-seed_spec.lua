-- The seed end to end: both example scripts train on the bundled MNIST subset (a short
-- schedule: SGD lr 0.1 with momentum 0.9), the loss falls and the test accuracy clears a bar
-- far above chance (10%); a run stopped after an epoch and resumed from its checkpoint gives
-- the same curve as an uninterrupted one. No timing assertions.
local H = require 'helpers'
local exe = os.getenv('LUATORCH_EXE') or './build/luatorch'
local asan = os.getenv('LUATORCH_ASAN') ~= nil   -- sanitized builds are ~10x slower
local here = debug.getinfo(1, 'S').source:match('^@(.*/)') or './'
local examples = here .. '../examples/'

local function run(script, args)
  local p = io.popen(('%s %s%s %s --threads 1 --quiet 2>&1'):format(exe, examples, script, args))
  local out = p:read('a')
  local ok = p:close()
  assert(ok, out)
  local evals = {}
  for it, loss, acc in out:gmatch('Iteration: (%d+)%. Loss: ([%d.]+)%. Accuracy: ([%d.]+)') do
    evals[#evals + 1] = { tonumber(it), tonumber(loss), tonumber(acc) }
  end
  local final = tonumber(out:match('Final test accuracy: ([%d.]+)%%'))
  assert(final, 'no final accuracy in:\n' .. out)
  return evals, final, out
end

local read = H.readfile

-- A command's stdout+stderr and exit status
local function sh(cmd)
  local p = io.popen(cmd .. ' 2>&1')
  local out = p:read('a')
  local _, _, status = p:close()
  return out, status
end
local function shq(s) return "'" .. s:gsub("'", [['\'']]) .. "'" end

describe('the seed examples on the bundled MNIST subset', function()
  it('lstm_mnist.lua (fused nn.LSTM): the loss falls and the accuracy clears 60%', function()
    local epochs = asan and 1 or 4
    local evals, final = run('lstm_mnist.lua', ('--epochs %d --momentum 0.9 --evalEvery 40'):format(epochs))
    assert.equal(epochs * 2, #evals)
    assert.is_true(evals[#evals][2] < evals[1][2], 'loss did not fall')
    if not asan then assert.is_true(final > 60, ('accuracy %.2f%%'):format(final)) end
  end)

  it('lstm_cell_mnist.lua (the Lua cell): the loss falls and the accuracy clears 40%', function()
    local iters = asan and 40 or 160
    local evals, final = run('lstm_cell_mnist.lua', ('--epochs 2 --momentum 0.9 --evalEvery %d'):format(iters // 2))
    assert.is_true(#evals >= 2)
    assert.is_true(evals[#evals][2] < evals[1][2], 'loss did not fall')
    if not asan then assert.is_true(final > 40, ('accuracy %.2f%%'):format(final)) end
  end)

  it('--resume continues a checkpointed run on the same curve', function()
    local dir = H.mktempdir()
    local args = '--momentum 0.9 --evalEvery 20 --batch 200'   -- 40 iterations per epoch
    run('lstm_mnist.lua', ('--epochs 2 %s --log %s/full.csv'):format(args, dir))
    run('lstm_mnist.lua', ('--epochs 1 %s --log %s/part.csv --checkpoint %s/ck.t7'):format(args, dir, dir))
    local _, _, out = run('lstm_mnist.lua', ('--epochs 2 %s --log %s/part.csv --checkpoint %s/ck.t7 --resume')
      :format(args, dir, dir))
    assert.matches('resumed from', out)
    local full, part = read(dir .. '/full.csv'), read(dir .. '/part.csv')
    assert.equal(4, select(2, full:gsub('\n', '')) - 1)
    assert.equal(full, part)
    H.rmtree(dir)
  end)

  it('--iters N runs exactly N iterations; --seedSchedule rounds to whole epochs as the seed', function()
    -- batch 200: 7996 / 200 -> 40 batches an epoch (the last one short)
    local evals, _, out = run('lstm_mnist.lua', '--iters 50 --evalEvery 25 --batch 200')
    assert.same({ 25, 50 }, { evals[1][1], evals[2][1] })
    assert.equal(2, #evals)
    assert.matches('after 50 iterations', out)
    assert.matches('Epoch 2/2: mean training loss [%d.]+ over 10 iterations', out)
    -- the seed: int(50 / (7996 / 200)) = 1 epoch of 40
    _, _, out = run('lstm_mnist.lua', '--iters 50 --evalEvery 25 --batch 200 --seedSchedule')
    assert.matches('after 40 iterations', out)
  end)

  it('a bad option or value prints the message and the usage, no stack trace, exit 2', function()
    for args, msg in pairs({ ['--iters abc'] = "option %-%-iters expects a number, got 'abc'",
                             ['--bogus'] = "unknown option '%-%-bogus'",
                             ['--dataset kmnist'] = "option %-%-dataset expects mnist or fashion, got 'kmnist'",
                             ['--batch 0'] = 'option %-%-batch must be at least 1, got 0',
                             ['--iters 2.5'] = 'option %-%-iters expects a whole number, got 2%.5',
                             ['--resume'] = 'option %-%-resume needs %-%-checkpoint FILE',
                             ['--graph'] = 'option %-%-graph needs %-%-cuda' }) do
      for _, script in ipairs({ 'lstm_mnist.lua', 'lstm_cell_mnist.lua' }) do
        local out, status = sh(('%s %s%s %s'):format(exe, examples, script, args))
        assert.equal(2, status, out)
        assert.matches('^' .. msg .. '\nusage: ', out)
        assert.matches('%-%-iters%s+training iterations', out)
        assert.is_nil(out:find('traceback', 1, true), out)
      end
    end
  end)

  it('--download without a network says what to fetch from where, and where to put it', function()
    local dir = H.mktempdir()
    -- port 9 (discard) on the loopback: nothing listens there
    local out, status = sh(('LUATORCH_MNIST_MIRRORS=http://127.0.0.1:9/ %s %slstm_mnist.lua --root %s --download --quiet')
                           :format(exe, examples, shq(dir)))
    H.rmtree(dir)
    assert.equal(1, status, out)
    assert.matches('cannot fetch train%-images%-idx3%-ubyte%.gz from any mirror', out)
    assert.matches('To fetch them by hand, download\n', out)
    for _, f in ipairs({ 'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz',
                         't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz' }) do
      assert.matches('\n  http://127%.0%.0%.1:9/' .. f:gsub('%p', '%%%0') .. '\n', out)
    end
    assert.matches('into ' .. dir:gsub('%p', '%%%0') .. '/MNIST/raw/ as they are, then run again%.', out)
    assert.is_nil(out:find('traceback', 1, true), out)
  end)

  it('--plot draws a PNG with gnuplot, or says how to get gnuplot', function()
    local dir = H.mktempdir()
    local _, _, out = run('lstm_mnist.lua', ('--iters 30 --evalEvery 15 --batch 200 --plot %s/p.png'):format(dir))
    local png = io.open(dir .. '/p.png', 'rb')
    local magic = png and png:read(8)
    if png then png:close() end
    H.rmtree(dir)
    if sh('command -v gnuplot') ~= '' then
      assert.equal('\137PNG\r\n\26\n', magic, out)
    else
      assert.is_nil(magic)
      assert.matches('%-%-plot needs gnuplot, which is not installed: `make deps` installs it', out)
    end
  end)
end)

describe('the seed examples in a terminal', function()
  local have_tmux = sh('command -v tmux') ~= ''
  if not have_tmux then
    pending('tmux is missing: terminal tests skipped')
    return
  end

  it('the progress bar shows the rate and the ETA; evaluation lines stand on their own', function()
    local sock = os.tmpname()
    os.remove(sock)
    local cmd = ('%s %slstm_mnist.lua --iters 60 --evalEvery 20 --batch 200 --threads 1; echo EXITED $?; sleep 60')
                :format(exe, examples)
    os.execute(('tmux -S %s -f /dev/null new-session -d -x 160 -y 50 %s'):format(sock, shq(cmd)))
    local screen, bars = '', {}
    local deadline = os.time() + (asan and 600 or 120)
    repeat
      os.execute('sleep 0.2')
      screen = sh(('tmux -S %s capture-pane -p -J -S - -t 0'):format(sock))
      local bar = screen:match('(%[[=> ]+%] %d+/60[^\n]*)')
      if bar then bars[#bars + 1] = bar end
    until screen:find('EXITED %d') or os.time() > deadline
    os.execute(('tmux -S %s kill-server'):format(sock))
    os.remove(sock)
    assert.matches('EXITED 0', screen)
    -- while running: count, elapsed, ETA of the whole run, rate, the running loss
    local seen_mid = false
    for _, b in ipairs(bars) do
      if not b:find('60/60', 1, true) then
        assert.matches('%] %d+/60 %d+:%d%d ETA %d+:%d%d [%d.]+ [its/]+ | epoch %d/2 loss [%d.]+', b)
        seen_mid = true
      end
    end
    assert.is_true(seen_mid, 'no bar seen while training:\n' .. screen)
    -- each evaluation on its own line (nothing of the bar before or after it on that line)
    for it = 20, 60, 20 do
      assert.matches('\nIteration: ' .. it .. '%. Loss: [%d.]+%. Accuracy: [%d.]+\n', screen)
    end
    assert.matches('\n%[=+%] 60/60 [^\n]*it/s *\nFinal test accuracy', screen)
  end)
end)
