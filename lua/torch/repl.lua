-- torch.repl — the interactive prompt of `luatorch` (what Torch7's `th` gave): results print
-- themselves (tensors and modules through their __tostring, plain tables through a compact,
-- bounded pretty-printer), `;` at the end keeps quiet, `=expr` works, unfinished statements
-- continue on a `>>` prompt, help(f) and ?name describe functions (torch.help), TAB completes
-- through tables and metatables, `:time on` times each command.
--
-- lua/main.c calls M.run(io) with the parts that need C: io.readline(prompt, completer) (line
-- | nil at end of input | false on Ctrl-C), io.addhistory(line), io.eval(f) (true, results... |
-- false, message; Ctrl-C raises "interrupted!" inside f), io.tty (libedit is on), and
-- io.historyfile, io.version. M.show, M.complete and M.help work without it.
local torch = require 'torch'

local M = {}

local PROMPT, MORE = '> ', '>> '
local WIDTH = 80        -- a table shown on one line must fit in this
local MAX_ITEMS = 40    -- entries shown per table; then "... (n more)"
local MAX_DEPTH = 3     -- nested tables deeper than this show as {...}
local MAX_STRING = 120  -- longer strings inside tables are cut

-- ---- printing ------------------------------------------------------------------------------
local keywords = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or
            repeat return then true until while]]):gmatch('%a+') do keywords[w] = true end

local function is_ident(s)
  return type(s) == 'string' and s:match('^[%a_][%w_]*$') ~= nil and not keywords[s]
end

local function quote(s)
  if #s > MAX_STRING then return ('%q'):format(s:sub(1, MAX_STRING)):gsub('\\\n', '\\n') .. '...' end
  return (('%q'):format(s):gsub('\\\n', '\\n'))
end

local function has_tostring(v)
  local mt = getmetatable(v)
  return type(mt) == 'table' and rawget(mt, '__tostring') ~= nil
end

local function safe_tostring(v)
  local ok, s = pcall(tostring, v)
  if ok and type(s) == 'string' then return s end
  return ('<%s: __tostring failed: %s>'):format(type(v), tostring(s))
end

-- One line for a value nested in a table: tensors as their type and size (as th shows them),
-- objects by their first line or class name.
local function brief(v)
  local tv = type(v)
  if tv == 'string' then return quote(v) end
  if tv ~= 'table' and tv ~= 'userdata' then return tostring(v) end
  if torch.isTensor(v) then
    local sz = v:size():totable()
    return ('%s - size: %s'):format(v:type(), #sz == 0 and 'scalar' or table.concat(sz, 'x'))
  end
  local s = safe_tostring(v)
  if s:find('\n') then return torch.typename(v) or s:match('^[^\n]*') .. ' ...' end
  return s
end

local function key_string(k)
  if is_ident(k) then return k end
  if type(k) == 'string' then return quote(k) end
  if math.type(k) == 'integer' then return tostring(k) end
  return '[' .. brief(k) .. ']'
end

-- The keys of t in display order: 1..n first, then the others sorted by type and text.
local function sorted_keys(t)
  local keys, n = {}, 0
  while rawget(t, n + 1) ~= nil do n = n + 1; keys[n] = n end
  local rest = {}
  for k in next, t do
    if not (math.type(k) == 'integer' and k >= 1 and k <= n) then rest[#rest + 1] = k end
  end
  table.sort(rest, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    if ta == 'number' or ta == 'string' then return a < b end
    return tostring(a) < tostring(b)
  end)
  for _, k in ipairs(rest) do keys[#keys + 1] = k end
  return keys
end

local show_table

local function show_value(v, indent, depth, seen)
  if type(v) == 'table' and not has_tostring(v) then return show_table(v, indent, depth + 1, seen) end
  return brief(v)
end

-- { a : 1, b : { 1 : 2 } } when it fits on one line, else one entry per line, indented.
function show_table(t, indent, depth, seen)
  if next(t) == nil then return '{}' end
  if seen[t] then return ('{...} (cycle: %s)'):format(tostring(t):gsub('^table: ', '')) end
  if depth > MAX_DEPTH then return '{...}' end
  seen[t] = true
  local keys = sorted_keys(t)
  local parts, multiline = {}, false
  for i = 1, math.min(#keys, MAX_ITEMS) do
    local k = keys[i]
    local s = key_string(k) .. ' : ' .. show_value(rawget(t, k), indent .. '  ', depth, seen)
    if s:find('\n') then multiline = true end
    parts[#parts + 1] = s
  end
  if #keys > MAX_ITEMS then parts[#parts + 1] = ('... (%d more)'):format(#keys - MAX_ITEMS) end
  seen[t] = nil
  if not multiline then
    local line = '{ ' .. table.concat(parts, ', ') .. ' }'
    if #indent + #line <= WIDTH then return line end
  end
  return '{\n' .. indent .. '  ' .. table.concat(parts, '\n' .. indent .. '  ') .. '\n' .. indent .. '}'
end

-- The text the prompt prints for a result: strings as they are, tensors/modules (anything
-- with __tostring) through it, plain tables pretty-printed.
function M.show(v)
  if type(v) == 'string' then return v end
  if type(v) == 'table' and not has_tostring(v) then return show_table(v, '', 1, {}) end
  return safe_tostring(v)
end

-- The text of a command's results r[first..last]: tab-separated, or one per line when one of
-- them spans lines (the Jupyter kernel shows the same text as its execute_result).
function M.format_results(r, first, last)
  local parts, multiline = {}, false
  for i = first, last do
    parts[#parts + 1] = M.show(r[i])
    if parts[#parts]:find('\n') then multiline = true end
  end
  return table.concat(parts, multiline and '\n' or '\t')
end

local function print_results(r, first, last)
  io.stdout:write(M.format_results(r, first, last), '\n')
  io.stdout:flush()
end

-- ---- completion ------------------------------------------------------------------------------
local tensor_fields = { 'grad', 'requiresGrad', 'gradFn', 'isLeaf' }

-- Calls add(key, value) for the string keys of x and of the tables its metatables' __index
-- chains lead to (class instances, torch.class parents, strings' methods); tensors have a
-- C __index, whose methods are the table torch.Tensor reads.
local function each_key(x, add)
  local visited = {}
  local depth = 0
  while x ~= nil and depth < 16 and not visited[x] do
    depth = depth + 1
    if type(x) == 'table' then
      visited[x] = true
      for k, v in next, x do
        if type(k) == 'string' then add(k, v) end
      end
    end
    if torch.isTensor(x) then
      for _, f in ipairs(tensor_fields) do add(f, false) end
      x = getmetatable(torch.Tensor).__index
    else
      local mt = getmetatable(x)
      local idx = type(mt) == 'table' and rawget(mt, '__index') or nil
      x = type(idx) == 'table' and idx or nil
    end
  end
end

local function index(obj, key)
  local ok, v = pcall(function() return obj[key] end)
  return ok and v or nil
end

-- The completions of a word: 'pri' -> print, 'nn.Line' -> nn.Linear, 't:ad' -> t:add,
-- 'torch.' -> every field of torch. `env` defaults to _G.
function M.complete(word, env)
  env = env or _G
  local path, sep, partial = word:match('^(.-)([.:])([%w_]*)$')
  local obj
  if not path then
    partial = word
    if not partial:match('^[%a_]?[%w_]*$') then return {} end
    obj, path, sep = env, '', ''
  else
    if not path:match('^[%a_][%w_]*$') and not path:match('^[%a_][%w_]*[%.%w_]*[%w_]$') then return {} end
    if path:find('%.%.') or path:find('%.%d') then return {} end
    obj = env
    for key in path:gmatch('[^.]+') do
      obj = index(obj, key)
      if obj == nil then return {} end
    end
  end
  local seen, out = {}, {}
  local methods_only = sep == ':'
  local function add(k, v, keyword)
    if seen[k] or k:sub(1, #partial) ~= partial then return end
    if not (keyword or is_ident(k)) then return end
    if k:sub(1, 2) == '__' and partial:sub(1, 2) ~= '__' then return end  -- metamethods, __init
    if methods_only and type(v) ~= 'function' and not has_tostring(v) and
       not (type(v) == 'table' and getmetatable(v) and getmetatable(v).__call) then return end
    seen[k] = true
    out[#out + 1] = path .. sep .. k
  end
  each_key(obj, add)
  if sep == '' then
    for k in pairs(keywords) do add(k, true, true) end
  end
  table.sort(out)
  return out
end

-- ---- help --------------------------------------------------------------------------------------
M.usage = [[
luatorch prompt:
  expression        prints its values (tensors, modules, tables); end with ; to stay quiet
  =expr             the same as the expression
  statement         runs; unfinished ones continue on a >> prompt
  help(f), ?name    what a function does and how to call it: help(torch.mm), ?nn.Linear,
                    ?mm (every match), ?nn (what nn has)
  TAB               completes globals, fields (nn.Line), tensor methods (t:ad)
  :time on|off      prints how long each command takes (or LUATORCH_TIME=1)
  :help             this text       :quit  leaves (as Ctrl-D does)
  Ctrl-C            interrupts a running command (three times kills one stuck in C code);
                    at the prompt it clears the line
  history           kept in $LUATORCH_HISTORY (default ~/.luatorch_history; set it
                    empty for none), at most $LUATORCH_HISTSIZE lines (default 1000)
  torch, nn, optim (and datasets, transforms when installed) are globals here.]]

function M.help(...)
  if select('#', ...) == 0 then print(M.usage) return end
  local x = ...
  if x == nil then print('help: the value is nil (misspelt name?)') return end
  print(require('torch.help').text(x))  -- help(nn) lists nn as ?nn; unknown names get suggestions
end

-- ?name: the help of a help name, or of an expression whose value has help; found is false
-- for a name that does not exist (the text says so, with the nearest names). The kernel's
-- inspect_request (Shift-Tab) shows the same text.
function M.help_text(name)
  local H = require 'torch.help'
  local text = H.describe(name)
  if not text and name:match('^[%a_][%w_.:]*$') then
    local obj = _G
    for key in name:gmatch('[^.:]+') do
      obj = obj ~= nil and index(obj, key) or nil
    end
    if obj ~= nil then text = H.describe(obj) or ('no help for ' .. name) end
  end
  if text then return text, true end
  return H.text(name), false
end

local function help_named(name)
  print((M.help_text(name)))
end

-- ---- the loop ----------------------------------------------------------------------------------
-- torch, nn, optim, datasets, transforms as globals (those installed), and help(); returns
-- the names loaded.
function M.preload()
  local loaded = {}
  for _, name in ipairs({ 'torch', 'nn', 'optim', 'datasets', 'transforms' }) do
    if rawget(_G, name) == nil then
      local ok, m = pcall(require, name)
      if ok then
        _G[name] = m
      elseif not tostring(m):find("module '" .. name .. "' not found", 1, true) then
        io.stderr:write(('luatorch: could not load %s: %s\n'):format(name, tostring(m)))
      end
    end
    if rawget(_G, name) ~= nil then loaded[#loaded + 1] = name end
  end
  if rawget(_G, 'help') == nil then _G.help = M.help end
  return loaded
end

-- Compiles the text as an expression first (so its values print), then as statements whose
-- last lines are an expression (`x = f()\nx:sum()`: a notebook cell, a pasted block; the
-- chunk returns that expression's values), then as statements. The statements before such a
-- last expression must compile on their own, so the expression is at the top level (never the
-- last line inside a loop). chunkname: '=stdin' at the prompt.
local function compile(src, chunkname)
  chunkname = chunkname or '=stdin'
  local f = load('return ' .. src, chunkname, 't')
  if f then return f end
  if src:find('\n') then
    local starts = {}   -- where each line after the first starts, the last one first
    for i in src:gmatch('\n()') do table.insert(starts, 1, i) end
    for _, i in ipairs(starts) do
      local head, tail = src:sub(1, i - 1), src:sub(i)
      if tail:find('%S') and load('return ' .. tail, chunkname, 't') and load(head, chunkname, 't') then
        -- one chunk, so the statements' locals are in scope (no line added: positions hold)
        local h = load(head .. 'return ' .. tail, chunkname, 't')
        if h then return h end
      end
    end
  end
  return load(src, chunkname, 't')
end

-- A command's text -> f (its function) | nil, message; quiet: it ends in ';' (results not
-- shown). '=expr' is 'return expr'. The prompt and the Jupyter kernel both compile with this.
function M.compile(src, chunkname)
  local expr = src:match('^%s*=(.*)$')
  if expr then src = 'return ' .. expr end
  local f, err = compile(src, chunkname)
  return f, err, src:match(';%s*$') ~= nil
end

-- Whether a compile error only means the text stops early ('<eof>': an unfinished statement,
-- which continues on the next line).
function M.incomplete(err)
  return err ~= nil and err:find('<eof>$') ~= nil
end
local incomplete = M.incomplete

-- The REPL's own frames (and the C call into the command) are noise in a traceback; a
-- traceback with nothing but the command's main chunk is dropped altogether. chunk: the
-- command's chunk name ('stdin' at the prompt, 'cell' in a notebook).
function M.clean_error(msg, chunk)
  chunk = chunk or 'stdin'
  local head, tb = msg:match('^(.-)\nstack traceback:\n(.*)$')
  if not head then return msg end
  local frames, useful = {}, false
  for line in tb:gmatch('[^\n]+') do
    if line:find("in field 'eval'", 1, true) or line:find("in function 'k.eval'", 1, true)
       or line:find('torch[./]repl') or line:find('torch[./]jupyter') then break end
    frames[#frames + 1] = line
  end
  while #frames > 0 and (frames[#frames]:match('^%s*%[C%]: in ') or
                         frames[#frames]:match('^%s*%(%.%.%.tail calls%.%.%.%)')) do
    frames[#frames] = nil
  end
  for _, line in ipairs(frames) do
    if not (line:match('^%s*' .. chunk .. ':%d+: in main chunk') or line:match("^%s*%[C%]: in function 'error'")
            or line:match('^%s*%[C%]: in %?')) then useful = true end
  end
  if not useful then return head end
  return head .. '\nstack traceback:\n' .. table.concat(frames, '\n')
end
local clean_error = M.clean_error

function M.run(io_)
  local tty = io_.tty
  local loaded = M.preload()
  local timing = (os.getenv('LUATORCH_TIME') or '') ~= '' and os.getenv('LUATORCH_TIME') ~= '0'
  local function read(prompt)
    return io_.readline(tty and prompt or '', M.complete)
  end
  if tty then
    io.stdout:write(('luatorch %s — %s with %s\n'):format(io_.version or '', _VERSION,
                                                         table.concat(loaded, ', ')),
                    '  help() this prompt, help(f) or ?name a function, TAB completes names\n',
                    '  :time on times commands, Ctrl-C interrupts, Ctrl-D quits\n')
  end

  local function command(line)
    local cmd, argument = line:match('^:(%a+)%s*(.-)%s*$')
    if cmd == 'time' then
      if argument == 'on' or argument == '' and not timing then timing = true
      elseif argument == 'off' or argument == '' then timing = false
      else print(':time on|off') return end
      print('timing ' .. (timing and 'on' or 'off'))
    elseif cmd == 'help' then print(M.usage)
    elseif cmd == 'quit' or cmd == 'q' or cmd == 'exit' then return 'quit'
    else print(('unknown command :%s (:help lists them)'):format(cmd)) end
  end

  while true do
    local line = read(PROMPT)
    if line == nil then break end
    if line == false then io.stdout:write('\n') goto continue end  -- Ctrl-C: a fresh prompt
    do
      local trimmed = line:match('^%s*(.-)%s*$')
      if trimmed == '' then goto continue end
      io_.addhistory(line)
      if trimmed:match('^%?') then
        local ok, err = io_.eval(help_named, trimmed:sub(2))
        if not ok then io.stderr:write(clean_error(tostring(err)), '\n') end
        goto continue
      end
      if trimmed:match('^:%a') then
        if command(trimmed) == 'quit' then return end
        goto continue
      end
      local src = line
      local f, err, quiet = M.compile(src)
      while not f and incomplete(err) do
        local more = read(MORE)
        if more == false then io.stdout:write('\n') goto continue end  -- Ctrl-C drops it
        if more == nil then break end
        io_.addhistory(more)
        src = src .. '\n' .. more
        f, err, quiet = M.compile(src)
      end
      if not f then
        io.stdout:flush()
        io.stderr:write(err, '\n')
        goto continue
      end
      local t0 = torch.clock()
      local r = table.pack(io_.eval(f))
      local elapsed = torch.clock() - t0
      if r[1] and not quiet and r.n > 1 then  -- a slow __tostring can be interrupted too
        r = table.pack(io_.eval(print_results, r, 2, r.n))
      end
      if not r[1] then
        local msg = clean_error(tostring(r[2]))
        if tty and msg:find('interrupted!') then msg = '\n' .. msg end  -- after the echoed ^C
        io.stdout:flush()
        io.stderr:write(msg, '\n')
        io.stderr:flush()
      end
      if timing then
        io.stdout:write(('(%s)\n'):format(elapsed < 1 and ('%.1f ms'):format(elapsed * 1e3)
                                          or ('%.3f s'):format(elapsed)))
      end
      io.stdout:flush()
    end
    ::continue::
  end
  if tty then io.stdout:write('\n') end
end

return M
