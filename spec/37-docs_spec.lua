-- spec/37-docs_spec.lua — the documentation's Lua is tested: every ```lua block of README.md,
-- docs/*.md and examples/README.md runs as pasted, each alone in a fresh `luatorch` process,
-- in an empty temporary directory (files a block writes land there) with the repository root
-- on LUA_PATH, as a script run from a checkout finds `require 'examples.extending.rmsnorm'`.
--
-- A block whose info string is `lua fragment` is not a whole program and is not run (the README
-- may have none). Without a GPU, a block that stops with the no-device error ("no CUDA device
-- is available (...)") is reported pending, never passed; any other failure fails.
local H = require 'helpers'

local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function capture(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read('a')
  local ok, _, code = p:close()
  return out, ok and 0 or code
end

local root = capture('pwd'):gsub('\n$', '')
local exe = os.getenv('LUATORCH_EXE') or 'build/luatorch'
if exe:sub(1, 1) ~= '/' then exe = root .. '/' .. exe end

local function read(path)
  local f = assert(io.open(root .. '/' .. path))
  local s = f:read('a')
  f:close()
  return s
end

-- The Markdown files whose Lua is checked, README first.
local function markdown_files()
  local files = { 'README.md' }
  for path in capture('cd ' .. shell_quote(root) .. ' && ls docs/*.md'):gmatch('[^\n]+') do
    files[#files + 1] = path
  end
  files[#files + 1] = 'examples/README.md'
  return files
end

-- The ```lua blocks of a Markdown text: { line =, info =, code = } (line: the opening fence's).
local function lua_blocks(text)
  local blocks, current, n = {}, nil, 0
  for line in (text .. '\n'):gmatch('([^\n]*)\n') do
    n = n + 1
    if current then
      if line:match('^```%s*$') then
        blocks[#blocks + 1], current = current, nil
      else
        current.lines[#current.lines + 1] = line
      end
    else
      local info = line:match('^```lua(.*)$')
      if info then current = { line = n, info = info:match('^%s*(.-)%s*$'), lines = {} } end
    end
  end
  assert(current == nil, 'a ```lua block is not closed')
  for _, b in ipairs(blocks) do b.code = table.concat(b.lines, '\n') .. '\n' end
  return blocks
end

-- Runs code as a script in a fresh luatorch process; returns its output and exit status.
local function run_block(code)
  local dir = capture('mktemp -d'):gsub('\n$', '')
  local f = assert(io.open(dir .. '/block.lua', 'w'))
  f:write(code)
  f:close()
  local lua_path = root .. '/?.lua;' .. (os.getenv('LUA_PATH') or ';')
  local out, status = capture(('cd %s && LUA_PATH=%s timeout 300 %s block.lua 2>&1 < /dev/null')
                              :format(shell_quote(dir), shell_quote(lua_path), shell_quote(exe)))
  os.execute('rm -rf ' .. shell_quote(dir))
  return out, status
end

-- The error luatorch reported ("<exe>: <message>"), or nil.
local function reported_error(out)
  local prefix = exe .. ': '
  for line in out:gmatch('[^\n]+') do
    if line:sub(1, #prefix) == prefix then return line:sub(#prefix + 1) end
  end
  return nil
end

local has_gpu = H.has_gpu()

for _, path in ipairs(markdown_files()) do
  local blocks = lua_blocks(read(path))
  describe('the ```lua blocks of', function()
    for _, b in ipairs(blocks) do
      local name = ('%s:%d'):format(path, b.line)
      if b.info == 'fragment' then
        it(name .. ' is a fragment (marked, not run)', function()
          assert.are_not.equal('README.md', path, 'the README shows whole programs only')
        end)
      else
        it(name .. ' runs as pasted', function()
          assert(b.info == '', ('unknown info string ```lua %s (only `fragment`)'):format(b.info))
          local out, status = run_block(b.code)
          if status ~= 0 and not has_gpu then
            local err = reported_error(out)
            if err and err:find(': no CUDA device is available (', 1, true) then
              pending(name .. ' needs a GPU (no GPU)')
            end
          end
          assert(status == 0, ('%s exited with %s:\n%s'):format(name, tostring(status), out))
        end)
      end
    end
  end)
end

describe('the checked Markdown', function()
  it('has the README\'s snippets among its blocks', function()
    local blocks = lua_blocks(read('README.md'))
    assert(#blocks >= 7, ('only %d ```lua blocks found in README.md'):format(#blocks))
  end)

  it('parses fences: a fragment is marked, an unclosed block is an error', function()
    local b = lua_blocks('x\n```lua fragment\na\n```\n```lua\nb\nc\n```\n```sh\nd\n```\n')
    assert.equal(2, #b)
    assert.same({ 2, 'fragment', 'a\n' }, { b[1].line, b[1].info, b[1].code })
    assert.same({ 5, '', 'b\nc\n' }, { b[2].line, b[2].info, b[2].code })
    assert.has_error(function() lua_blocks('```lua\nx\n') end)
  end)

  it('a failing block fails (the runner sees the exit status and the message)', function()
    local out, status = run_block('error("boom from a doc block")\n')
    assert.are_not.equal(0, status)
    assert.matches('boom from a doc block', reported_error(out))
    local out2, status2 = run_block('print(io.open("block.lua") ~= nil)\n')
    assert.equal(0, status2)
    assert.equal('true\n', out2)
  end)
end)
