-- The luatorch REPL: the printer, completion and help in-process (torch.repl, torch.help),
-- then the real prompt driven through a pseudo-terminal by tmux (send-keys / capture-pane):
-- auto-print, `;`, `=expr`, multi-line input, TAB completion, help, Ctrl-C, history, Ctrl-D.
-- The terminal tests are pending when tmux is not installed.
local torch = require 'torch'
local repl = require 'torch.repl'
local H = require 'torch.help'

local exe = os.getenv('LUATORCH_EXE') or './build/luatorch'

describe('repl printer', function()
  it('prints plain tables on one line when they fit, th style', function()
    assert.equal('{ 1 : 1, 2 : 2, a : "x" }', repl.show({ 1, 2, a = 'x' }))
    assert.equal('{}', repl.show({}))
    assert.equal('{ 1 : { b : 3 } }', repl.show({ { b = 3 } }))
  end)

  it('breaks long tables into lines, bounds them, and survives cycles', function()
    local t = {}
    for i = 1, 100 do t[i] = i * 1000 end
    local s = repl.show(t)
    assert.matches('^{\n  1 : 1000\n  2 : 2000\n', s)
    assert.matches('%.%.%. %(60 more%)\n}$', s)
    local c = {}
    c.self = c
    assert.matches('cycle', repl.show(c))
    local deep = { { { { { 1 } } } } }
    assert.matches('{%.%.%.}', repl.show(deep))
  end)

  it('shows tensors inside tables by type and size, and top-level ones in full', function()
    local s = repl.show({ x = torch.ones(2, 3) })
    assert.equal('{ x : torch.FloatTensor - size: 2x3 }', s)
    assert.matches('%[torch%.FloatTensor of size 2x3%]', repl.show(torch.ones(2, 3)))
    assert.equal('abc', repl.show('abc'))
    assert.equal('{ 1 : "a\\nb" }', repl.show({ 'a\nb' }))
  end)
end)

describe('repl completion', function()
  local env = setmetatable({ t = torch.ones(2), nn = require 'nn', torch = torch,
                             myvalue = 1, s = 'str' }, { __index = _G })
  it('completes globals through the environment and its metatable', function()
    assert.same({ 'myvalue' }, repl.complete('myv', env))
    assert.same({ 'print' }, repl.complete('prin', env))
    assert.same({ 'while' }, repl.complete('whil', env))
  end)

  it('completes nested fields and tensor methods', function()
    assert.same({ 'nn.Linear', 'nn.LinearWeightNorm' }, repl.complete('nn.Line', env))
    assert.same({ 'nn.LinearWeightNorm' }, repl.complete('nn.LinearW', env))
    assert.same({ 'torch.manualSeed' }, repl.complete('torch.manualSe', env))
    local m = repl.complete('t:ad', env)
    assert.truthy(#m >= 3)
    for _, c in ipairs(m) do assert.matches('^t:ad', c) end
    assert.same({ 't:nElement' }, repl.complete('t:nElem', env))
    assert.same({ 's:upper' }, repl.complete('s:upp', env))
  end)

  it('follows torch.class __index chains', function()
    env.lin = env.nn.Linear(2, 3)
    assert.same({ 'lin:zeroGradParameters' }, repl.complete('lin:zeroGradP', env))
    assert.same({ 'lin.weight' }, repl.complete('lin.weigh', env))
  end)

  it('offers nothing for what it cannot resolve', function()
    assert.same({}, repl.complete('nosuch.x', env))
    assert.same({}, repl.complete('f(x).y', env))
  end)
end)

describe('repl help', function()
  it('describes functions by value and by name, with the signature', function()
    assert.matches('torch%.mm%(%[res,%] a, b%)', H.describe(torch.mm))
    assert.matches('matrix product', H.describe('torch.mm'))
    assert.matches('matrix product', H.describe(torch.Tensor.mm))
    assert.matches('t:add', H.describe('Tensor:add'))
    local nn, optim = require 'nn', require 'optim'
    assert.matches('nn%.Linear%(inputSize, outputSize', H.describe(nn.Linear))
    assert.matches('nn%.Linear%(inputSize', H.describe(nn.Linear(2, 3)))
    assert.matches('optim%.sgd%(feval, x', H.describe(optim.sgd))
    assert.matches('optim%.Adam', H.describe(optim.Adam))
    assert.is_nil(H.describe('no.such.thing'))
  end)

  it('names only functions and classes that exist', function()
    require 'nn'
    require 'optim'
    for _, e in ipairs(H.entries) do
      for _, n in ipairs(e.names) do
        local root, maker = n:match('^[%w_]+'), n:match('^(.-):')
        -- 'optim.SGD:step' is a method of the objects the function optim.SGD makes, which
        -- spec 38 walks; a missing constructor still fails below
        local object_method = maker and root ~= 't' and type(H.resolve(maker)) == 'function'
        if not object_method and (root == 't' or package.loaded[root]) then
          assert(H.resolve(n) ~= nil, 'help names a missing ' .. n)
        end
      end
    end
  end)

  it('has an entry for the main functions', function()
    for _, f in ipairs({ 'add', 'mm', 'matmul', 'sum', 'max', 'view', 'narrow', 'cat', 'randn',
                         'softmax', 'crossEntropy', 'index', 'sort' }) do
      assert.truthy(H.describe(torch[f]), f)
    end
  end)
end)

-- ---- the prompt in a terminal -------------------------------------------------------------
local function sh(cmd)
  local p = io.popen(cmd .. ' 2>/dev/null')
  local out = p:read('a')
  p:close()
  return out
end

local have_tmux = sh('command -v tmux') ~= ''
local have_exe = io.open(exe) ~= nil

local function shq(s) return "'" .. s:gsub("'", [['\'']]) .. "'" end

local Term = {}
Term.__index = Term

-- A tmux server of our own (socket in /tmp) running the REPL in a wide window; when the REPL
-- exits the shell prints its status and waits, so the test can read it.
function Term.start(env)
  local self = setmetatable({ sock = os.tmpname() }, Term)
  os.remove(self.sock)
  local cmd = ('env %s %s; echo "EXITED $?"; sleep 60'):format(env, shq(exe))
  os.execute(('tmux -S %s -f /dev/null new-session -d -x 200 -y 50 %s'):format(self.sock, shq(cmd)))
  self.mark = 0
  return self
end

-- The whole pane with its scrollback, wrapped lines joined, trailing blanks dropped (so the
-- prompt "> " reads as a final ">").
function Term:screen()
  local s = sh(('tmux -S %s capture-pane -p -J -S - -t 0'):format(self.sock))
  return (s:gsub('%s+$', ''))
end

-- Types text literally (-l: "end" is not the End key), then the named keys (Enter, Tab, C-c).
-- From here on, wait() looks at the last line (the prompt being typed on) and what follows.
function Term:send(text, ...)
  self.mark = self:screen():match('^.*()\n') or 0
  if text ~= '' then  -- tmux reads a final ';' as its command separator unless escaped
    os.execute(('tmux -S %s send-keys -t 0 -l %s'):format(self.sock, shq(text:gsub(';$', '\\;'))))
  end
  local keys = { ... }
  if #keys > 0 then
    os.execute(('tmux -S %s send-keys -t 0 %s'):format(self.sock, table.concat(keys, ' ')))
  end
end

function Term:key(...) return self:send('', ...) end

-- Polls the screen until pattern matches what came after the last send (10 s at most).
function Term:wait(pattern, timeout)
  local deadline = os.time() + (timeout or 10)
  local s
  repeat
    s = self:screen():sub(self.mark + 1)
    if s:find(pattern) then return s end
    os.execute('sleep 0.05')
  until os.time() > deadline
  error(('timed out waiting for %q; screen after the last input:\n%s'):format(pattern, s), 2)
end

-- Types a line and waits for the next prompt; returns what appeared.
function Term:line(text)
  self:send(text, 'Enter')
  return self:wait('\n>$')
end

function Term:stop()
  os.execute(('tmux -S %s kill-server'):format(self.sock))
  os.remove(self.sock)
end

describe('repl in a terminal', function()
  if not (have_tmux and have_exe) then
    pending('tmux or the luatorch executable is missing: terminal tests skipped')
    return
  end

  local term
  local history = os.tmpname()
  setup(function()
    os.remove(history)
    term = Term.start(('LUATORCH_HISTORY=%s LUATORCH_HISTSIZE=500'):format(history))
    term:wait('Ctrl%-D quits.*\n>$', 20)
  end)
  teardown(function()
    term:stop()
    os.remove(history)
  end)

  it('prints results, the values of =expr, and several results', function()
    assert.matches('\n42\n', term:line('21*2'))
    assert.matches('\n142\n', term:line('=6*7+100'))
    assert.matches('\n7%s+abc%s+true\n', term:line("7, 'abc', true"))
    assert.matches('{ 1 : 1, 2 : 2, a : "x" }', term:line("{1, 2, a = 'x'}"))
  end)

  it('pretty-prints tensors and modules', function()
    assert.matches('%[torch%.FloatTensor of size 2x3%]', term:line('torch.ones(2,3)'))
    assert.matches('nn%.Linear%(4 %-> 5%)', term:line('nn.Linear(4,5)'))
  end)

  it('keeps quiet after a trailing ;', function()
    term:line('x = 5')
    local s = term:line('x*1000;')
    assert.not_matches('5000', s)
    assert.matches('5005', term:line('x*1001'))
  end)

  it('continues unfinished statements on a >> prompt', function()
    term:send('for i = 1, 3 do', 'Enter')
    term:wait('\n>>$')
    term:send('print(i * 111)', 'Enter')
    term:wait('\n>>$')
    assert.matches('\n111\n222\n333\n', term:line('end'))
    term:send('torch.Tensor(', 'Enter')
    term:wait('\n>>$')
    assert.matches('%[torch%.FloatTensor of size 2x4%]', term:line('2, 4)'))
  end)

  it('reports errors and goes on', function()
    assert.matches('attempt to perform arithmetic', term:line('nil + 1'))
    assert.matches('\n3\n', term:line('1+2'))
  end)

  it('completes a global, a nested field and a tensor method with TAB', function()
    term:line('my_unique_global_value = 123')
    term:send('my_unique_gl', 'Tab')
    term:wait('my_unique_global_value$')
    assert.matches('\n123\n', term:line(''))
    term:send('nn.Lin', 'Tab')
    term:wait('nn%.Linear$')
    assert.matches('nn%.Linear%(2 %-> 3%)', term:line('(2,3)'))
    term:line('t = torch.ones(2,3)')
    term:send('t:nElem', 'Tab')
    term:wait('t:nElement$')
    assert.matches('\n6\n', term:line('()'))
  end)

  it('answers help(torch.mm) and ?name', function()
    local s = term:line('help(torch.mm)')
    assert.matches('torch%.mm%(%[res,%] a, b%)', s)
    assert.matches('matrix product', s)
    assert.matches('nn%.Linear%(inputSize, outputSize', term:line('?nn.Linear'))
    assert.matches(':time on', term:line('help()'))
  end)

  it('lists a module for help(nn) as for ?nn, and names the nearest for an unknown name', function()
    local listed = term:line('help(nn)')
    assert.matches('nn%.Linear%(inputSize, outputSize', listed)
    assert.matches('nn%.Sequential%(%)', listed)
    assert.not_matches('no help', listed)
    assert.matches('nn%.Sequential%(%)', term:line('?nn'))
    assert.matches('nn%.Linaer does not exist%. Nearest: nn%.Linear, nn%.Index', term:line('?nn.Linaer'))
    assert.matches("nn%.Foo does not exist%. Nearest: ", term:line("help('nn.Foo')"))
  end)

  it('times commands after :time on', function()
    assert.matches('timing on', term:line(':time on'))
    assert.matches('\n9\n%([%d.]+ m?s%)', term:line('4+5'))
    assert.matches('timing off', term:line(':time off'))
  end)

  it('interrupts a running command with Ctrl-C and keeps answering', function()
    term:send('while true do end', 'Enter')
    os.execute('sleep 0.3')  -- let it spin
    -- a Ctrl-C that lands before the loop starts only clears the prompt: then try again
    local ok
    for _ = 1, 3 do
      term:key('C-c')
      ok = pcall(term.wait, term, 'interrupted!.*\n>$', 3)
      if ok then break end
    end
    assert.truthy(ok, 'Ctrl-C did not interrupt: ' .. term:screen():sub(-300))
    assert.matches('\n44\n', term:line('4*11'))
  end)

  it('clears the line on Ctrl-C at the prompt', function()
    term:send("print('never' .. 'run')")
    term:wait("'run'%)$")
    term:key('C-c')
    term:wait('\n>$')
    local s = term:line('5*11')
    assert.matches('\n55\n', s)
    assert.not_matches('neverrun', term:screen())
  end)

  it('writes the history file and exits on Ctrl-D', function()
    term:line('history_marker_line = 1')
    term:key('C-d')
    term:wait('EXITED 0')
    local f = assert(io.open(history))
    local text = f:read('a')
    f:close()
    -- libedit's format escapes blanks (\040), so look for a command without any
    assert.matches('my_unique_global_value', text)
    assert.matches('history_marker_line', text)
    assert.matches('x%*1000;', text)
  end)
end)
