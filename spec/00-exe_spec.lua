-- The luatorch executable: script arguments, -e, -i, stdin, error exit status.
local exe = os.getenv('LUATORCH_EXE') or './build/luatorch'

local function run(args, input)
  local tmp = os.tmpname()
  local cmd = ('%s %s 2>&1 > %s'):format(exe, args, tmp)
  if input then
    local inp = os.tmpname()
    local f = assert(io.open(inp, 'w')); f:write(input); f:close()
    cmd = ('%s %s < %s > %s 2>&1'):format(exe, args, inp, tmp)
  else
    cmd = ('%s %s > %s 2>&1 < /dev/null'):format(exe, args, tmp)
  end
  local ok, _, code = os.execute(cmd)
  local f = assert(io.open(tmp)); local out = f:read('a'); f:close()
  os.remove(tmp)
  return out, ok and 0 or code
end

local function script(src)
  local path = os.tmpname() .. '.lua'
  local f = assert(io.open(path, 'w')); f:write(src); f:close()
  return path
end

describe('luatorch executable', function()
  it('runs -e with torch preloaded and prints a tensor', function()
    local out, code = run([[-e "print(torch.randn(2,3))"]])
    assert.equal(0, code)
    assert.matches('%[torch%.FloatTensor of size 2x3%]', out)
  end)

  it('passes script arguments in arg, as lua5.4 does', function()
    local path = script('print(arg[0], arg[1], arg[2], #arg, ...)')
    local out, code = run(path .. ' a 42')
    assert.equal(0, code)
    assert.equal(path .. '\ta\t42\t2\ta\t42\n', out)
    os.remove(path)
  end)

  it('runs several -e in order and then the script', function()
    local path = script('print(x + 1)')
    local out = run('-e "x = 1" -e "x = x * 10" ' .. path)
    assert.equal('11\n', out)
    os.remove(path)
  end)

  it('reads a program from stdin when it is not a terminal', function()
    local out, code = run('', 'print(torch.ones(2):sum())\n')
    assert.equal(0, code)
    assert.equal('2.0\n', out)
  end)

  it('-i runs the script, then evaluates lines and prints results', function()
    local path = script('y = 21')
    local out = run('-i ' .. path, 'y * 2\n=y + 1\nfor i = 1, 2 do\nprint(i)\nend\n')
    assert.matches('42', out)
    assert.matches('22', out)
    assert.matches('1\n2\n', out)
    os.remove(path)
  end)

  it('exits non-zero with the error and a traceback when the script fails', function()
    local path = script('local t = torch.Tensor(2, 3)\nt:narrow(1, 2, 5)')
    local out, code = run(path)
    assert.not_equal(0, code)
    assert.matches('narrow', out)
    assert.matches('stack traceback', out)
    os.remove(path)
  end)

  it('sets the globals torch, nn, optim, datasets, transforms on require, as Torch7 did', function()
    local out, code = run([[-e "local m = require 'nn'; require 'optim'; require 'datasets'; ]] ..
                          [[require 'transforms'; print(rawequal(m, nn), optim.sgd ~= nil, ]] ..
                          [[datasets.MNIST ~= nil, transforms.ToTensor ~= nil)"]])
    assert.equal(0, code)
    assert.equal('true\ttrue\ttrue\ttrue\n', out)
  end)

  it('sets the global torch on require in a stock lua5.4 too (no preloaded torch there)', function()
    if os.getenv('LUATORCH_ASAN') then
      pending('skipped under the sanitizer run (its core.so cannot load into a stock lua5.4)')
    end
    local p = io.popen([[lua5.4 -e "assert(torch == nil); local t = require 'torch'; ]] ..
                       [[print(rawequal(t, torch))" 2>&1]])
    local text = p:read('a')
    p:close()
    assert.equal('true\n', text)
  end)

  it('rejects unknown options with usage', function()
    local out, code = run('-z')
    assert.not_equal(0, code)
    assert.matches("unrecognized option '%-z'", out)
    assert.matches('usage', out)
    out, code = run('-e')
    assert.not_equal(0, code)
    assert.matches("'%-e' needs an argument", out)
  end)

  it('--help and -h print the usage, the options and the environment, and run nothing', function()
    local out, code = run('--help -e "print(12345)"')
    assert.equal(0, code)
    assert.matches('^usage: %S*luatorch %[options%] %[script %[args%]%]\n', out)
    assert.not_matches('12345', out)
    for _, s in ipairs({ '\n  %-e stat ', '\n  %-v, %-%-version ', '\n  %-h, %-%-help ',
                         '\nEnvironment:\n', 'LUATORCH_DATA ', 'LUATORCH_HISTORY ' }) do
      assert.matches(s, out)
    end
    assert.equal(out, (run('-h')))
  end)

  it('--version prints the C API\'s version, as -v does', function()
    local out, code = run('--version')
    assert.equal(0, code)
    local header = io.open('include/luatorch.h'):read('a')
    local version = header:match('#define LUATORCH_VERSION_STRING "([^"]+)"')
    assert.equal(('luatorch %s (%s)\n'):format(version, 'Lua ' .. _VERSION:match('%d.*')),
                 out:gsub('%(Lua 5%.4%.%d+%)', '(Lua 5.4)'))
    assert.equal(out, (run('-v')))
  end)
end)

-- The options and environment variables of `luatorch --help` and of the man page.
local function help_lists(text)
  local options, env, section = {}, {}, nil
  for line in text:gmatch('[^\n]*') do
    if line:match('^%u%l+:$') then section = line
    elseif section == 'Options:' then
      for flag in (line:match('^  (%S+, %S+)') or line:match('^  (%S+)') or ''):gmatch('[^, ]+') do
        options[#options + 1] = flag
      end
    elseif section == 'Environment:' then
      for name in (line:match('^  ([%a_][%w_]*, [%a_][%w_]*)') or line:match('^  (%a[%w_]*)') or ''):gmatch('[^, ]+') do
        env[#env + 1] = name
      end
    end
  end
  table.sort(options); table.sort(env)
  return options, env
end

local function man_lists(roff)
  local options, env, section = {}, {}, nil
  local lines = {}
  for line in roff:gmatch('[^\n]*') do lines[#lines + 1] = line end
  for i, line in ipairs(lines) do
    local sh = line:match('^%.SH (%S+)')
    if sh then section = sh
    elseif line == '.TP' and lines[i + 1] then
      local item = lines[i + 1]:gsub('\\%-', '-'):gsub('"', '')
      local words = {}
      for w in item:gmatch('%S+') do words[#words + 1] = w end
      table.remove(words, 1)  -- .B / .BR / .BI
      for _, w in ipairs(words) do
        if section == 'OPTIONS' and w:match('^%-') then options[#options + 1] = w:gsub(',$', '') end
        if section == 'ENVIRONMENT' and w:match('^%a[%w_]*$') then env[#env + 1] = w end
      end
    end
  end
  table.sort(options); table.sort(env)
  return options, env
end

describe('the man page (docs/luatorch.1)', function()
  it('lists the options and environment variables of --help', function()
    local help = run('--help')
    local f = assert(io.open('docs/luatorch.1'))
    local roff = f:read('a')
    f:close()
    local hopt, henv = help_lists(help)
    local mopt, menv = man_lists(roff)
    assert.same({ '-', '--', '--help', '--install-kernel', '--version', '-e', '-h', '-i', '-l', '-v' }, hopt)
    assert.same(hopt, mopt)
    assert(#henv >= 10, 'environment list of --help not found')
    assert.same(henv, menv)
  end)

  it('names the version luatorch --version prints', function()
    local version = run('--version'):match('^luatorch (%S+)')
    local f = assert(io.open('docs/luatorch.1'))
    local th = f:read('a'):match('\n%.TH ([^\n]*)')
    f:close()
    assert.matches('"luatorch ' .. version:gsub('%.', '%%.') .. '"', th)
  end)
end)
