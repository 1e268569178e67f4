-- spec/43-sweep_spec.lua — the bad-argument sweep (tools/sweep.lua) and what it made: the
-- sweep's machinery catches each kind of failure (planted targets), the torch.check helpers
-- it led to, and issue 14's raw errors, now named.
local torch = require 'torch'
local nn = require 'nn'
local optim = require 'optim'
local datasets = require 'datasets'
local check = require 'torch.check'
local H = require 'helpers'

local exe = os.getenv('LUATORCH_EXE') or './build/luatorch'
local here = debug.getinfo(1, 'S').source:match('^@(.*/)') or './'
local sweep = here .. '../tools/sweep.lua'

-- runs the sweep with args; returns its output and exit status
local function run_sweep(args)
  local p = io.popen(('LUATORCH_SWEEP_LIMIT=1 %s %s %s 2>&1; echo "rc=$?"'):format(exe, sweep, args))
  local out = p:read('a')
  p:close()
  return out, tonumber(out:match('rc=(%d+)%s*$'))
end

describe('the sweep', function()
  it('catches a raw error, a child that dies inside a call and a hang, and names each', function()
    local out, rc = run_sweep('--plant --only planted')
    assert.are.equal(1, rc)
    assert.matches('RAW +planted: raw error%(%): Lua runtime error text: .*attempt to index a nil value', out)
    assert.matches('CRASH planted: death%(%): exit status 3', out)
    assert.matches('HANG +planted: hang%(%): sweep: call exceeded 1 s', out)
    assert.matches('sweep: 3 calls over 3 targets in %d+ s: 1 crashes, 1 hangs, 1 raw errors, 0 wrong results', out)
  end)

  it('passes targets that refuse every bad argument by name', function()
    local out, rc = run_sweep('--only optim.sgd')
    assert.matches('sweep: %d+ calls over 2 targets in %d+ s: 0 crashes, 0 hangs, 0 raw errors, 0 wrong results', out)
    assert.are.equal(0, rc)
  end)
end)

describe('torch.check', function()
  it("'count' takes integers >= 0 and shows a bad number's value", function()
    assert.are.equal(3, check.arg('f', 1, 3.0, 'count'))
    assert.are.equal(0, check.arg('f', 1, 0, 'count'))
    assert.matches("bad argument #2 to 'f' %(non%-negative integer expected, got %-1%)",
                   H.error_of(check.arg, 'f', 2, -1, 'count'))
    assert.matches("bad argument #1 to 'f' %(integer expected, got 2.5%)",
                   H.error_of(check.arg, 'f', 1, 2.5, 'integer'))
  end)

  it("refuses a freed tensor as 'tensor'", function()
    local t = torch.FloatTensor(2)
    assert.are.equal(t, check.arg('f', 1, t, 'tensor'))
    t:free()
    assert.matches("bad argument #1 to 'f' %(tensor expected, got a freed tensor%)",
                   H.error_of(check.arg, 'f', 1, t, 'tensor'))
  end)

  it("check.call raises a callee's error as the caller's", function()
    local function callee(x) if x then error('inner: too large') end return 7 end
    assert.are.equal(7, check.call('outer', 1, pcall(callee)))
    assert.matches('^outer: too large$', H.error_of(function() local r = check.call('outer', 1, pcall(callee, true)) return r end))
    -- another function's argument error keeps what was wrong, not its argument number
    local function argerr() check.arg('inner', 3, 'x', 'number') end
    assert.matches('outer: number expected, got string$',
                   H.error_of(function() local r = check.call('outer', 1, pcall(argerr)) return r end))
    -- a message already naming the caller, and error values that are not strings, pass as they are
    local err = H.error_of(function() local r = check.call('outer', 1, false, 'outer: as is') return r end)
    assert.are.equal('outer: as is', err)
    local ok, obj = pcall(check.call, 'outer', 1, false, { code = 1 })
    assert.is_false(ok)
    assert.are.equal(1, obj.code)
  end)
end)

describe("issue 14's raw errors", function()
  it('name the function and the argument', function()
    local t = torch.FloatTensor(2)
    assert.matches("bad argument #1 to 'sgd' %(callable expected, got boolean%)",
                   H.error_of(optim.sgd, true, t))
    assert.matches("bad argument #1 to 'eye' %(non%-negative integer expected, got torch.Tensor%)",
                   H.error_of(torch.eye, t))
    assert.matches("bad argument #1 to 'Dropout' %(number or nil expected, got FILE%*%)",
                   H.error_of(nn.Dropout, io.stdout))
    assert.matches("bad argument #1 to 'dataRoot' %(string or nil expected, got table%)",
                   H.error_of(datasets.dataRoot, {}))
    assert.matches("bad argument #1 to 'zerosLike' %(tensor expected, got number%)",
                   H.error_of(torch.zerosLike, 5))
    assert.matches("bad argument #2 to 'gradcheck' %(tensor or table expected, got function%)",
                   H.error_of(torch.gradcheck, print, print))
    local f = torch.FloatTensor(2)
    f:free()
    assert.matches("bad argument #1 to 'arange' %(number expected, got a freed tensor%)",
                   H.error_of(torch.arange, f))
    assert.matches("bad argument #1 to 'Reshape' %(tensor or storage or table expected, got a freed tensor%)",
                   H.error_of(nn.Reshape, f))
    assert.matches("bad argument #1 to 'View' %(tensor or storage or table expected, got a freed tensor%)",
                   H.error_of(nn.View, f))
  end)

  it('optim.sgd says what feval must return', function()
    assert.matches('optim.sgd: feval%(x%) must return the loss and the gradient %(a tensor%), got nil',
                   H.error_of(optim.sgd, function() return 1 end, torch.FloatTensor(2)))
  end)

  it('arithmetic metamethods check their operands (no NULL dereference)', function()
    local mt = getmetatable(torch.FloatTensor(1))
    assert.matches('__add: expected a tensor operand, got number and number', H.error_of(mt.__add, 1, 2))
    assert.matches('__mul: expected a tensor operand, got nil and nil', H.error_of(mt.__mul, nil, nil))
    local t = torch.FloatTensor(2)
    assert.matches("bad argument #1 to '__sub' %(tensor or number expected, got string%)",
                   H.error_of(function() return 'x' - t end))
    local f = torch.FloatTensor(2)
    f:free()
    -- Lua names a metamethod by its event ('add'); ltL_totensor raises before arith runs
    assert.matches("bad argument #1 to '_*add' %(tensor was freed%)", H.error_of(function() return f + 1 end))
    assert.matches("bad argument #2 to '_*mul' %(tensor was freed%)", H.error_of(function() return 1 * f end))
    assert.matches("bad argument #1 to '_*pow' %(tensor was freed%)", H.error_of(function() return f ^ 2 end))
  end)

  it('indexSelect names itself', function()
    assert.matches('indexSelect: index must be a LongTensor',
                   H.error_of(function() return torch.FloatTensor(2, 3):indexSelect(1, nil) end))
  end)

  it('an error inside a module is raised as the module’s', function()
    assert.matches("nn.Select: .*dimension 2 out of range for a 1%-dimensional tensor",
                   H.error_of(function() return nn.Select(2, 1):forward(torch.FloatTensor(3)) end))
    assert.matches("nn.CrossEntropyCriterion: .*size mismatch",
                   H.error_of(function()
                     return nn.CrossEntropyCriterion():forward(torch.FloatTensor(2, 3), torch.LongTensor({ 1, 2, 3 }))
                   end))
    -- a child of a container names itself
    local seq = nn.Sequential():add(nn.Linear(3, 3))
    assert.matches('nn.Linear%(3 %-> 3%): expected input', H.error_of(function() return seq:forward(torch.FloatTensor(2, 5)) end))
    assert.matches("bad argument #1 to 'forward' %(tensor or table expected, got number%)",
                   H.error_of(function() return seq:forward(5) end))
    assert.matches("bad argument #1 to 'type' %(unknown tensor type 'xyz'%)",
                   H.error_of(function() return seq:type('xyz') end))
  end)
end)

describe('values the sweep showed wrong', function()
  it('torch.zeros/ones/empty take a table of sizes', function()
    local z = torch.zeros({ 2, 3 })
    assert.are.same({ 2, 3 }, z:size():totable())
    assert.are.equal(0, z:sum())
    local o = torch.ones({ 2, 3 })
    assert.are.same({ 2, 3 }, o:size():totable())
    assert.are.equal(6, o:sum())
    assert.are.same({ 4 }, torch.empty(torch.LongStorage({ 4 })):size():totable())
  end)

  it('a freed tensor prints as one', function()
    local t = torch.FloatTensor(2)
    t:free()
    assert.are.equal('[freed tensor]', tostring(t))
  end)
end)
