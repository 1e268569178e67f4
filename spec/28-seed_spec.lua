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
end)
