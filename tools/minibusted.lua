-- tools/minibusted.lua — a tiny stand-in for busted, for machines without it (the lent GPU
-- machines have no Lua at all: only the luatorch executable travels there). Plain Lua 5.4.
--
--   luatorch tools/minibusted.lua [-v] [--filter=PATTERN] spec/29-cuda_spec.lua spec/30-...lua
--
-- Supports what the specs use: describe / it / pending / before_each / after_each / setup /
-- teardown (and lazy_/strict_ setup and teardown, insulate / expose as describe), nested as in
-- busted; `require 'busted'` (its it / pending / describe register into the block being
-- collected, as spec/helpers.lua's H.gpu_it needs); and a luassert subset on the global
-- `assert` (also `require 'luassert'`): callable as assert(v [, msg]), and
--   assert.equal / same / is_true / is_false / is_nil / truthy / falsy / near / matches /
--   has_error (error, errors) / error_matches / is_number / is_string / is_table /
--   is_boolean / is_function / is_userdata,
-- with busted's chain words (is, are, has, was, does, not, no: assert.are_not.equal,
-- assert.has_no.errors, assert.is_not_nil ...). Each spec file's directory is put first on
-- package.path (so `require 'helpers'` finds spec/helpers.lua).
--
-- Prints one line per test (ok / FAIL / ERROR / pending), the message and traceback of each
-- failure, then "N successes / M failures / K errors / P pending : S seconds". Exit status 1
-- when a test failed or errored (or a file did not load), 0 otherwise.

local unpack = table.unpack

-- ---- wall clock (torch.Timer where torch loads; CPU time otherwise) ------------------------
local now
do
  local ok, timer = pcall(function()
    local t = rawget(_G, 'torch') or require('torch')
    return t.Timer()
  end)
  if ok and timer then
    now = function() return timer:time().real end
  else
    now = os.clock
  end
end

-- ---- assertions --------------------------------------------------------------------------
-- A failed assertion raises a string "file:line: message" (so specs that pcall can read it)
-- and records it, so that the runner reports it as a failure rather than an error.
local failure_msgs = setmetatable({}, { __mode = 'k' })
local failures_seen = {}

local function fail(msg, level)
  msg = tostring(msg)
  local info = debug.getinfo(level + 1, 'Sl')
  if info and info.currentline and info.currentline > 0 then
    msg = info.short_src .. ':' .. info.currentline .. ': ' .. msg
  end
  failures_seen[msg] = true
  error(msg, 0)
end

local function show(v)
  if type(v) == 'string' then return ('(string) %q'):format(v) end
  if type(v) == 'table' and not (getmetatable(v) or {}).__tostring then
    local parts, n = {}, 0
    for k, x in pairs(v) do
      n = n + 1
      if n > 20 then parts[#parts + 1] = '...' break end
      parts[#parts + 1] = ('[%s] = %s'):format(tostring(k), type(x) == 'string' and ('%q'):format(x) or tostring(x))
    end
    return '(table) { ' .. table.concat(parts, ', ') .. ' }'
  end
  return ('(%s) %s'):format(type(v), tostring(v))
end

-- luassert's deepcompare: tables key by key (ignoring metatables), everything else with ==
local function deepcompare(a, b, seen)
  if type(a) ~= 'table' or type(b) ~= 'table' then return a == b end
  if rawequal(a, b) then return true end
  seen = seen or {}
  if seen[a] == b then return true end
  seen[a] = b
  for k, v in pairs(a) do
    local w = rawget(b, k)
    if w == nil or not deepcompare(v, w, seen) then return false end
  end
  for k in pairs(b) do
    if rawget(a, k) == nil then return false end
  end
  return true
end

local function strip_position(e)
  if type(e) == 'string' then return (e:gsub('^.-:%d+: ', '', 1)) end
  return e
end

local function as_string(x)
  if type(x) == 'string' then return x end
  if type(x) == 'number' then return tostring(x) end
  local mt = getmetatable(x)
  if mt and mt.__tostring then return tostring(x) end
  return nil
end

-- Each assertion returns ok, message-when-it-passes-but-should-not (negated), message-when-
-- it-fails, the index of the optional user message among its arguments.
local checks = {}

checks.equal = { nargs = 2, strict = true, fn = function(e, a)
  return e == a, 'Expected objects to not be equal.\nPassed in:\n' .. show(a),
         'Expected objects to be equal.\nPassed in:\n' .. show(a) .. '\nExpected:\n' .. show(e)
end }
checks.equals = checks.equal

checks.same = { nargs = 2, strict = true, fn = function(e, a)
  return deepcompare(e, a), 'Expected objects to not be the same.\nPassed in:\n' .. show(a),
         'Expected objects to be the same.\nPassed in:\n' .. show(a) .. '\nExpected:\n' .. show(e)
end }

checks['true'] = { nargs = 1, fn = function(v)
  return v == true, 'Expected objects to not be the same.\nPassed in:\n' .. show(v) .. '\nDid not expect:\n(boolean) true',
         'Expected objects to be the same.\nPassed in:\n' .. show(v) .. '\nExpected:\n(boolean) true'
end }
checks['false'] = { nargs = 1, fn = function(v)
  return v == false, 'Expected objects to not be the same.\nPassed in:\n' .. show(v) .. '\nDid not expect:\n(boolean) false',
         'Expected objects to be the same.\nPassed in:\n' .. show(v) .. '\nExpected:\n(boolean) false'
end }
checks['nil'] = { nargs = 1, fn = function(v)
  return v == nil, 'Expected a value, got nil', 'Expected nil, got:\n' .. show(v)
end }
checks.truthy = { nargs = 1, fn = function(v)
  return v ~= nil and v ~= false, 'Expected to be falsy, but value was:\n' .. show(v),
         'Expected to be truthy, but value was:\n' .. show(v)
end }
checks.falsy = { nargs = 1, fn = function(v)
  return v == nil or v == false, 'Expected to be truthy, but value was:\n' .. show(v),
         'Expected to be falsy, but value was:\n' .. show(v)
end }
for _, t in ipairs({ 'number', 'string', 'table', 'boolean', 'function', 'userdata', 'thread' }) do
  checks[t] = { nargs = 1, fn = function(v)
    return type(v) == t, 'Expected not a ' .. t .. ', got:\n' .. show(v),
           'Expected a ' .. t .. ', got:\n' .. show(v)
  end }
end

checks.near = { nargs = 3, strict = true, fn = function(e, a, tol)
  local ok = type(a) == 'number' and a >= e - tol and a <= e + tol
  return ok, ('Expected values to not be near.\nPassed in:\n%s\nExpected:\n%s +/- %s'):format(show(a), show(e), tostring(tol)),
         ('Expected values to be near.\nPassed in:\n%s\nExpected:\n%s +/- %s'):format(show(a), show(e), tostring(tol))
end }

checks.matches = { nargs = 2, fn = function(pat, actual, init, plain)
  local s = as_string(actual)
  local ok = s ~= nil and s:find(pat, init, plain) ~= nil
  return ok, 'Expected strings not to match.\nPassed in:\n' .. show(actual) .. '\nDid not expect:\n' .. show(pat),
         'Expected strings to match.\nPassed in:\n' .. show(actual) .. '\nExpected:\n' .. show(pat)
end, find_args = true }
checks.match = checks.matches

checks.error = { nargs = 2, fn = function(fn, expected)
  if type(fn) ~= 'function' and not (getmetatable(fn) or {}).__call then
    error('has_error: expected a function, got ' .. type(fn), 0)
  end
  local ok, err = pcall(fn)
  err = strip_position(err)
  local res
  if ok then res = false
  elseif expected == nil then res = true
  elseif type(expected) == 'string' then res = as_string(err) == expected
  elseif type(expected) == 'table' then res = deepcompare(expected, err)
  else res = err == expected end
  local got = ok and '(no error)' or show(err)
  if ok then return false, '', 'Expected an error, but none was raised' end
  return res, 'Expected no error, but caught:\n' .. got,
         'Expected a different error.\nCaught:\n' .. got .. '\nExpected:\n' .. show(expected)
end }
checks.errors = checks.error

checks.error_matches = { nargs = 2, fn = function(fn, pat, init, plain)
  local ok, err = pcall(fn)
  err = strip_position(err)
  local s = not ok and as_string(err) or nil
  local res = not ok and s ~= nil and s:find(pat, init, plain) ~= nil
  local got = ok and '(no error)' or show(err)
  return res, 'Expected the error not to match.\nCaught:\n' .. got .. '\nDid not expect:\n' .. show(pat),
         'Expected the error to match.\nCaught:\n' .. got .. '\nExpected:\n' .. show(pat)
end, find_args = true }
checks.error_match = checks.error_matches
checks.matches_error = checks.error_matches

-- chain words: skipped, or negating
local skip = { is = true, are = true, was = true, has = true, have = true, does = true, ['do'] = true,
               be = true, the = true, a = true, an = true, to = true, at = true }
local negate = { ['not'] = true, no = true }

local assert_mt = {}

local function new_state(neg)
  return setmetatable({ negated = neg }, assert_mt)
end

-- splits an assertion's arguments into its own and the user's message: the message follows
-- the assertion's nargs arguments; for matches / error_matches it is the first argument after
-- the 2nd that is neither a number nor a boolean (the optional init and plain of string.find)
local function split_args(check, args, n)
  if check.find_args then
    local own, msg = { args[1], args[2] }, nil
    for i = 3, n do
      local v = args[i]
      if msg == nil and v ~= nil and type(v) ~= 'boolean' and not tonumber(v) then msg = v
      else own[#own + 1] = v end
    end
    return own, msg
  end
  local own = {}
  for i = 1, check.nargs do own[i] = args[i] end
  return own, args[check.nargs + 1]
end

local function assertion(name, check, negated)
  return function(...)
    local n = select('#', ...)
    local args = { ... }
    if check.strict and n < check.nargs then
      fail(('assertion %s: expected %d arguments, got %d'):format(name, check.nargs, n), 2)
    end
    local own, user_msg = split_args(check, args, n)
    local ok, neg_msg, pos_msg = check.fn(unpack(own, 1, math.max(#own, check.nargs)))
    if negated then ok = not ok end
    if not ok then
      fail(user_msg ~= nil and tostring(user_msg) or (negated and neg_msg or pos_msg), 2)
    end
    return ...
  end
end

assert_mt.__index = function(state, key)
  if type(key) ~= 'string' then return nil end
  local neg = state.negated
  local words = {}
  for w in key:gmatch('[^_]+') do words[#words + 1] = w end
  local i = 1
  while i <= #words and (skip[words[i]] or negate[words[i]]) do
    if negate[words[i]] then neg = not neg end
    i = i + 1
  end
  if i > #words then return new_state(neg) end   -- only chain words: assert.are, assert.has_no
  local name = table.concat(words, '_', i)
  local check = checks[name]
  if not check then
    error(("luassert subset (tools/minibusted.lua): no assertion '%s'"):format(key), 2)
  end
  return assertion(name, check, neg)
end

assert_mt.__call = function(state, v, msg, ...)
  if not v then fail(msg ~= nil and msg or 'assertion failed!', 2) end
  return v, msg, ...
end

local luassert = new_state(false)
-- a rawset field would shadow __index: register new assertions through this function
local function register(name, fn, nargs)
  checks[name] = { nargs = nargs or 1, fn = fn }
end
rawset(luassert, 'register_check', register)   -- (not luassert's API; spelled differently on purpose)

-- ---- the test tree -----------------------------------------------------------------------
-- node = { kind = 'describe' | 'it' | 'pending', name, fn, parent, children, hooks }

local function new_block(name, fn, parent)
  return { kind = 'describe', name = name, fn = fn, parent = parent, children = {},
           before_each = {}, after_each = {}, setup = {}, teardown = {} }
end

local collecting = nil      -- the block whose body is running (registering children)
local running_test = nil    -- the test whose body is running

local PENDING = setmetatable({}, { __tostring = function() return 'pending' end })

local function registrar(kind)
  return function(name, fn)
    if running_test and kind == 'pending' then
      -- pending('why') inside a running test: the test is reported pending
      error(setmetatable({ pending = true, message = name }, getmetatable(PENDING)), 0)
    end
    if not collecting then
      error(kind .. '() called outside of a describe block or spec file', 2)
    end
    if type(name) == 'function' then name, fn = '', name end
    local node
    if kind == 'describe' then
      node = new_block(tostring(name), fn, collecting)
    else
      node = { kind = kind, name = tostring(name), fn = fn, parent = collecting }
      if kind == 'it' and fn == nil then node.kind = 'pending' end
    end
    table.insert(collecting.children, node)
  end
end

local function hook(which)
  return function(fn)
    if not collecting then error(which .. '() called outside of a describe block', 2) end
    table.insert(collecting[which], fn)
  end
end

local api = {
  describe = registrar('describe'), it = registrar('it'), pending = registrar('pending'),
  before_each = hook('before_each'), after_each = hook('after_each'),
  setup = hook('setup'), teardown = hook('teardown'),
}
api.context = api.describe
api.insulate = api.describe
api.expose = api.describe
api.spec, api.test = api.it, api.it
api.lazy_setup, api.strict_setup = api.setup, api.setup
api.lazy_teardown, api.strict_teardown = api.teardown, api.teardown

-- ---- running -----------------------------------------------------------------------------
local counts = { success = 0, failure = 0, error = 0, pending = 0 }
local reports = {}
local opts = { verbose = false, filter = nil }

local function full_name(node)
  local parts = {}
  while node do
    if node.name and node.name ~= '' and not node.is_file then table.insert(parts, 1, node.name) end
    node = node.parent
  end
  return table.concat(parts, ' ')
end

local function where(node)
  local b = node
  while b and not b.is_file do b = b.parent end
  return b and b.name or '?'
end

local function traceback(e)
  if type(e) == 'table' and e.pending then return e end
  local msg = type(e) == 'string' and e or tostring(e)
  -- the traceback without this runner's frames
  local lines = {}
  for line in debug.traceback('', 2):gmatch('[^\n]+') do
    if not (line:find('minibusted.lua:', 1, true) or line:find("[C]: in function 'error'", 1, true)
            or line:find("[C]: in function 'xpcall'", 1, true) or line:find('[C]: in ?', 1, true)) then
      lines[#lines + 1] = line
    end
  end
  return { message = msg, failed = failures_seen[msg] or false, trace = table.concat(lines, '\n') }
end

local function call(fn, ...)
  local ok, err = xpcall(fn, traceback, ...)
  if ok then return true end
  return false, err
end

local function report(status, node, err, elapsed)
  local name = full_name(node)
  if name == '' then name = where(node) end
  local label = ({ success = 'ok     ', failure = 'FAIL   ', error = 'ERROR  ', pending = 'pending' })[status]
  local extra = elapsed and ('  (%.2f s)'):format(elapsed) or ''
  io.write(label, ' ', name, extra, '\n')
  io.stdout:flush()
  counts[status] = counts[status] + 1
  if status == 'failure' or status == 'error' then
    reports[#reports + 1] = { status = status, name = name, file = where(node), err = err }
    io.write('        ', err.message:match('[^\n]*'), '\n')   -- in full at the end
  elseif status == 'pending' and err and err.message then
    io.write('        ', tostring(err.message), '\n')
  end
end

local function chain(node, which, reverse)
  local blocks = {}
  local b = node.parent
  while b do table.insert(blocks, 1, b) b = b.parent end
  local fns = {}
  if reverse then
    for i = #blocks, 1, -1 do
      local list = blocks[i][which]
      for j = #list, 1, -1 do fns[#fns + 1] = list[j] end
    end
  else
    for _, blk in ipairs(blocks) do
      for _, f in ipairs(blk[which]) do fns[#fns + 1] = f end
    end
  end
  return fns
end

local function run_test(node)
  if opts.filter and not full_name(node):find(opts.filter) then return end
  if node.kind == 'pending' then report('pending', node) return end
  local t0 = now()
  local ok, err = true, nil
  for _, f in ipairs(chain(node, 'before_each')) do
    ok, err = call(f)
    if not ok then break end
  end
  if ok then
    running_test = node
    ok, err = call(node.fn)
    running_test = nil
  end
  for _, f in ipairs(chain(node, 'after_each', true)) do
    local ok2, err2 = call(f)
    if ok and not ok2 then ok, err = ok2, err2 end
  end
  local dt = now() - t0
  if ok then
    report('success', node, nil, dt)
  elseif type(err) == 'table' and err.pending then
    report('pending', node, err)
  else
    report(err.failed and 'failure' or 'error', node, err, dt)
  end
  collectgarbage()
end

local function count_tests(block)
  local n = 0
  for _, c in ipairs(block.children) do
    if c.kind == 'describe' then n = n + count_tests(c) else n = n + 1 end
  end
  return n
end

local run_block

-- Collects a block's children by running its body, then runs setup, the children, teardown.
run_block = function(block, ...)
  local outer = collecting
  collecting = block
  local ok, err = call(block.fn, ...)
  collecting = outer
  if not ok then
    report('error', block, err)
    return
  end
  for _, f in ipairs(block.setup) do
    local ok2, err2 = call(f)
    if not ok2 then
      report('error', { name = 'setup', parent = block }, err2)
      return
    end
  end
  for _, child in ipairs(block.children) do
    if child.kind == 'describe' then run_block(child) else run_test(child) end
  end
  for _, f in ipairs(block.teardown) do
    local ok2, err2 = call(f)
    if not ok2 then report('error', { name = 'teardown', parent = block }, err2) end
  end
end

-- ---- main --------------------------------------------------------------------------------
local files = {}
for _, a in ipairs(arg or {}) do
  if a == '-v' or a == '--verbose' then opts.verbose = true
  elseif a:match('^%-%-filter=') then opts.filter = a:match('^%-%-filter=(.*)')
  elseif a == '-h' or a == '--help' then
    io.write('usage: luatorch tools/minibusted.lua [--filter=LUAPATTERN] spec_file.lua ...\n')
    os.exit(0)
  else files[#files + 1] = a end
end
if #files == 0 then
  io.stderr:write('minibusted: no spec files given\n')
  os.exit(2)
end

-- globals, as busted provides them to spec files
for k, v in pairs(api) do _G[k] = v end
_G.assert = luassert
package.loaded.luassert = luassert
package.loaded.busted = setmetatable({}, { __index = api })

local start = now()
local load_errors = 0
local base_path = package.path
for _, file in ipairs(files) do
  local dir = file:match('^(.*)/[^/]*$') or '.'
  package.path = dir .. '/?.lua;' .. base_path
  io.write('== ', file, '\n')
  local chunk, lerr = loadfile(file)
  local root = new_block(file, chunk, nil)
  root.is_file = true
  if not chunk then
    load_errors = load_errors + 1
    counts.error = counts.error + 1
    reports[#reports + 1] = { status = 'error', name = file, file = file,
                              err = { message = tostring(lerr), trace = '' } }
    io.write('ERROR   ', file, ': ', tostring(lerr), '\n')
  else
    run_block(root)
  end
end
package.path = base_path

if #reports > 0 then
  io.write('\n')
  for i, r in ipairs(reports) do
    io.write(('%d) %s: %s (%s)\n'):format(i, r.status == 'failure' and 'Failure' or 'Error', r.name, r.file))
    io.write(r.err.message, '\n')
    if r.err.trace and r.err.trace ~= '' then io.write(r.err.trace, '\n') end
    io.write('\n')
  end
end
io.write(('%d successes / %d failures / %d errors / %d pending : %.2f seconds\n'):format(
  counts.success, counts.failure, counts.error, counts.pending, now() - start))
io.stdout:flush()
os.exit((counts.failure + counts.error) == 0 and 0 or 1)
