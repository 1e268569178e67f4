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

  it('rejects unknown options with usage', function()
    local out, code = run('-z')
    assert.not_equal(0, code)
    assert.matches('usage', out)
  end)
end)
