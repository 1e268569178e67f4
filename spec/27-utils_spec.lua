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
    assert.matches('needs a value', H.error_of(function() cmd():parse({ '--lr' }) end))
    assert.matches('expects a number', H.error_of(function() cmd():parse({ '--lr', 'abc' }) end))
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
    assert.matches('4/4 [%d:]+ ETA 0:00 | done', out)
    assert.matches('\n$', out)
    chunks = {}
    local quiet = torch.ProgressBar(4, { stream = stream, tty = false })
    quiet:update(2)
    quiet:finish()
    assert.equal(0, #chunks)
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
