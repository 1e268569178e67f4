-- torch.CmdLine, torch.ProgressBar, torch.Timer, torch.isatty, torch.clock.
local torch = require 'torch'
local H = require 'helpers'

describe('torch.CmdLine', function()
  local function cmd()
    local c = torch.CmdLine()
    c:text('test')
    c:option('-lr', 0.1, 'learning rate')
    c:option('-iters', 10, 'iterations')
    c:option('-resume', false, 'resume')
    c:option('-root', 'data', 'data root')
    return c
  end

  it('gives defaults and parses -x v, --x v and --x=v with types kept', function()
    local o = cmd():parse({})
    assert.same({ lr = 0.1, iters = 10, resume = false, root = 'data' }, o)
    o = cmd():parse({ '-lr', '0.5', '--iters', '20', '--root=/tmp/x' })
    assert.equal(0.5, o.lr)
    assert.equal(20, o.iters)
    assert.equal('integer', math.type(o.iters))
    assert.equal('/tmp/x', o.root)
  end)

  it('flips a boolean given alone, or takes true/false', function()
    assert.is_true(cmd():parse({ '--resume' }).resume)
    assert.is_true(cmd():parse({ '--resume', '--lr', '1' }).resume)
    assert.is_false(cmd():parse({ '--resume=false' }).resume)
  end)

  it('rejects unknown options, missing values and bad numbers with the usage', function()
    local msg = H.error_of(function() cmd():parse({ '--nope' }) end)
    assert.matches("unknown option '%-%-nope'", msg)
    assert.matches('%-%-lr%s+learning rate %[0.1%]', msg)
    -- every error is the message, then the usage, with no position (scripts print it as is)
    for args, why in pairs({ [{ '--lr' }] = "^option %-%-lr needs a value\nusage: ",
                             [{ '--lr', 'abc' }] = "^option %-%-lr expects a number, got 'abc'\nusage: ",
                             [{ '--resume=maybe' }] = "^option %-%-resume expects true or false, got 'maybe'\nusage: " }) do
      msg = H.error_of(function() cmd():parse(args) end)
      assert.matches(why, msg)
      assert.matches('%-%-iters%s+iterations %[10%]', msg)
    end
    assert.equal(3, cmd():parse({ '--iters', '3.0' }).iters)
  end)
end)

describe('progress and timing', function()
  it('ProgressBar draws in place on a terminal and stays silent otherwise', function()
    local chunks = {}
    local stream = { write = function(_, s) chunks[#chunks + 1] = s end, flush = function() end }
    local bar = torch.ProgressBar(4, { stream = stream, tty = true })
    for i = 1, 4 do bar:update(i, 'loss 0.5') end
    bar:finish('done')
    local out = table.concat(chunks)
    assert.matches('\r%[[=>]+%s*%] 1/4', out)
    assert.matches('4/4 [%d:]+ ETA 0:00 [%d.]+ it/s | done', out)
    assert.matches('\n$', out)
    chunks = {}
    local quiet = torch.ProgressBar(4, { stream = stream, tty = false })
    quiet:update(2)
    quiet:finish()
    assert.equal(0, #chunks)
  end)

  it('ProgressBar shows the rate and the whole run\'s ETA, counting only this run', function()
    local now, clock = 100, torch.clock
    torch.clock = function() return now end     -- the bar reads the time through torch.clock
    local chunks, lines = {}, {}
    local stream = { write = function(_, ...) for _, s in ipairs({ ... }) do chunks[#chunks + 1] = s end end,
                     flush = function() end }
    local out = { write = function(_, ...) for _, s in ipairs({ ... }) do lines[#lines + 1] = s end end,
                  flush = function() end }
    local ok, err = pcall(function()
      -- resumed at 40 of 100: 20 more in 4 s is 5 it/s, and 40 left take 8 s
      local bar = torch.ProgressBar(100, { stream = stream, out = out, tty = true, done = 40 })
      now = 104
      bar:update(60, 'epoch 2/3')
      local drawn = table.concat(chunks)
      assert.matches('%] 60/100 0:04 ETA 0:08 5%.0 it/s | epoch 2/3', drawn)
      -- 40 in 64 s: slower than one a second, so seconds per iteration; 20 left take 32 s
      now = 104 + 60
      bar:update(80)
      assert.matches('80/100 1:04 ETA 0:32 1%.6 s/it', table.concat(chunks))
      -- a log line: the bar line is cleared, the line printed, the bar drawn again after it
      chunks = {}
      bar:write('Iteration: 80. Loss: 0.5')
      assert.same({ 'Iteration: 80. Loss: 0.5', '\n' }, lines)
      assert.equal('\r\27[K', chunks[1])
      assert.matches('^\r%[.-%] 80/100', chunks[#chunks])
      local slow = torch.ProgressBar(10, { stream = stream, out = out, tty = true })
      now = now + 25
      slow:update(10)
      assert.matches('10/10 0:25 ETA 0:00 2%.5 s/it', table.concat(chunks))
      -- no terminal: nothing drawn, the log line still printed
      chunks, lines = {}, {}
      local quiet = torch.ProgressBar(10, { stream = stream, out = out, tty = false })
      quiet:update(3)
      quiet:write('evaluation')
      assert.same({}, chunks)
      assert.same({ 'evaluation', '\n' }, lines)
    end)
    torch.clock = clock
    assert(ok, err)
  end)

  it('Timer measures, stops and resumes on a monotonic clock', function()
    local t = torch.Timer()
    local t0 = torch.clock()
    while torch.clock() - t0 < 0.02 do end
    local a = t:time().real
    assert.is_true(a >= 0.02 and a < 5)
    t:stop()
    local b = t:time().real
    t0 = torch.clock()
    while torch.clock() - t0 < 0.01 do end
    assert.equal(b, t:time().real)
    t:resume()
    assert.is_true(t:reset():time().real < 0.01)
  end)

  it('isatty answers for file handles and descriptors', function()
    local f = io.tmpfile()
    assert.is_false(torch.isatty(f))
    f:close()
    assert.matches('closed', H.error_of(torch.isatty, f))
    assert.is_boolean(torch.isatty(1))
  end)
end)
