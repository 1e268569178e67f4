-- torch.jupyter — the Lua side of the Jupyter kernel (jupyter/kernel.cpp: xeus speaks the
-- protocol and calls these with each request) and `luatorch --install-kernel`.
--
-- A cell runs as a command at the prompt does (lua/torch/repl.lua: compiled as an expression
-- first, then as statements; the value of the last expression is the cell's result, shown as
-- the prompt shows it; `;` at the end keeps quiet; ?name shows help). print, io.write and
-- io.stdout/io.stderr:write publish stream messages as they are called; a media value
-- (torch.media, torch.plot) is shown as its image; display(x) is torch.display; the progress
-- bar (torch.ProgressBar) is a display updated in place (update_display_data).
--
-- The kernel hands start() the table k: k.publish(name, text), k.display(bundle, metadata,
-- id, update), k.clear_output(wait), k.base64(bytes), k.eval(f, ...) (a protected call that an
-- interrupt stops: lua/lt_exe.c). Each request function returns a plain table the kernel turns
-- into the reply's JSON.
local torch = require 'torch'
local repl = require 'torch.repl'

local M = {}
local k            -- the kernel's callbacks (start)
local CHUNK = 'cell'

-- ---- streams ---------------------------------------------------------------------------------
-- A stand-in for io.stdout / io.stderr: each write is one stream message (so a training loop's
-- lines appear as they are printed); reading is refused, as on the real output files.
local Stream = {}
Stream.__index = Stream
Stream.__name = 'FILE*'
Stream.jupyter = true

local function concat(fname, ...)
  local n = select('#', ...)
  local parts = {}
  for i = 1, n do
    local v = select(i, ...)
    local tv = type(v)
    if tv == 'number' then v = tostring(v)
    elseif tv ~= 'string' then
      error(("bad argument #%d to '%s' (string expected, got %s)"):format(i, fname, tv), 3)
    end
    parts[i] = v
  end
  return table.concat(parts)
end

function Stream:write(...)
  local s = concat('write', ...)
  if #s > 0 then k.publish(self.name, s) end
  return self
end
function Stream:flush() return self end
function Stream:setvbuf() return true end
function Stream:close() return nil, 'cannot close standard file' end
function Stream:seek() return nil, 'Illegal seek', 29 end
function Stream:read() return nil, 'Bad file descriptor', 9 end
function Stream:lines() error('the notebook\'s ' .. self.name .. ' is not readable', 2) end
function Stream:__tostring() return ('file (jupyter %s)'):format(self.name) end

local function install_streams()
  local out = setmetatable({ name = 'stdout' }, Stream)
  local err = setmetatable({ name = 'stderr' }, Stream)
  io.stdout, io.stderr = out, err
  function io.write(...) return out:write(concat('write', ...)) end
  function print(...)   -- as Lua's: tostring of each, tab-separated
    local n = select('#', ...)
    local parts = {}
    for i = 1, n do parts[i] = tostring((select(i, ...))) end
    k.publish('stdout', table.concat(parts, '\t') .. '\n')
  end
  -- the kernel's standard input is a pipe nobody writes to: reading it would wait forever
  function io.read() error('io.read: a notebook cell has no standard input to read', 2) end
  -- torch.isatty(io.stdout) must not see a table it cannot read; the notebook is no terminal
  local isatty = torch.isatty
  function torch.isatty(f)
    if getmetatable(f) == Stream then return false end
    return isatty(f)
  end
end

-- ---- rich output -----------------------------------------------------------------------------
local function show_media(m, id, update)
  k.display(m:bundle(k.base64), {}, id, update)
end

local next_id = 0
local function new_id()
  next_id = next_id + 1
  return ('luatorch-%d-%d'):format(os.time(), next_id)
end

-- The progress bar: its first draw makes a display, each later one updates it in place.
local function draw_bar(bar, text)
  local m = torch.media(text, 'text')
  if not bar.displayId then
    bar.displayId = new_id()
    show_media(m, bar.displayId, false)
  else
    show_media(m, bar.displayId, true)
  end
end

-- ---- requests --------------------------------------------------------------------------------
function M.start(callbacks)
  k = callbacks
  repl.preload()
  install_streams()
  torch._displayer = function(m) show_media(m) end
  torch._notebookBar = draw_bar
  _G.display = torch.display
  return { status = 'ok' }
end

local function error_reply(ename, msg)
  local lines = {}
  for line in (msg .. '\n'):gmatch('(.-)\n') do lines[#lines + 1] = line end
  return { status = 'error', ename = ename, evalue = lines[1] or msg, traceback = lines }
end

-- execute(code, silent) -> {status = 'ok', data = bundle?} | {status = 'error', ename, evalue, traceback}
function M.execute(code, silent)
  local trimmed = code:match('^%s*(.-)%s*$')
  if trimmed == '' then return { status = 'ok' } end
  if trimmed:match('^%?') and not trimmed:find('\n') then
    local ok, err = k.eval(function(name) print((repl.help_text(name))) end, trimmed:sub(2))
    if not ok then return error_reply('LuaError', repl.clean_error(tostring(err), CHUNK)) end
    return { status = 'ok' }
  end
  local f, err, quiet = repl.compile(code, '=' .. CHUNK)
  if not f then return error_reply('SyntaxError', err) end
  local r = table.pack(k.eval(f))
  if r[1] and not quiet and r.n > 1 then
    if r.n == 2 and torch.isMedia(r[2]) then
      local ok, b = k.eval(r[2].bundle, r[2], k.base64)
      if ok then return { status = 'ok', data = b } end
      r = { false, b }
    else  -- a slow __tostring can be interrupted too
      local ok, text = k.eval(repl.format_results, r, 2, r.n)
      if ok then return { status = 'ok', data = { ['text/plain'] = text } } end
      r = { false, text }
    end
  end
  if not r[1] then
    local msg = repl.clean_error(tostring(r[2]), CHUNK)
    return error_reply(msg:find('interrupted!', 1, true) and 'Interrupted' or 'LuaError', msg)
  end
  return { status = 'ok' }
end

-- The byte offset of the cursor (Jupyter counts code points); the text's length if not UTF-8.
local function byte_pos(code, cursor)
  if utf8.len(code) == nil then return math.min(cursor, #code) end
  local b = utf8.offset(code, cursor + 1)
  return b and b - 1 or #code
end

-- complete(code, cursor) -> {matches, cursor_start, cursor_end}: the prompt's TAB completion
-- of the name before the cursor (nn.Line, t:ad, pri)
function M.complete(code, cursor)
  local before = code:sub(1, byte_pos(code, cursor))
  local word = before:match('[%a_][%w_.:]*$') or ''
  if word == '' then return { matches = {}, cursor_start = cursor, cursor_end = cursor } end
  return { matches = repl.complete(word), cursor_start = cursor - #word, cursor_end = cursor }
end

-- inspect(code, cursor) -> {found, data}: the help entry of the name at (or before) the cursor,
-- as ?name shows it; `nn.Linear(` and `nn.Linear(10, ` inspect nn.Linear
function M.inspect(code, cursor)
  local pos = byte_pos(code, cursor)
  local left = code:sub(1, pos):match('[%w_.:]*$')
  local right = code:sub(pos + 1):match('^[%w_]*')
  local name = left .. right
  if not name:match('^[%a_]') then   -- inside a call's arguments: the function being called
    local depth, i = 0, pos
    while i > 0 do
      local c = code:sub(i, i)
      if c == ')' then depth = depth + 1
      elseif c == '(' then
        if depth == 0 then break end
        depth = depth - 1
      end
      i = i - 1
    end
    name = i > 0 and code:sub(1, i - 1):match('[%a_][%w_.:]*$') or ''
  end
  if name == '' then return { found = false } end
  local text, found = repl.help_text(name)
  if not found then return { found = false } end
  return { found = true, data = { ['text/plain'] = text } }
end

-- is_complete(code) -> {status = 'complete' | 'incomplete' | 'invalid', indent}: the prompt's
-- rule, an error at '<eof>' means the text continues
function M.is_complete(code)
  if code:match('^%s*%?') then return { status = 'complete' } end
  local f, err = repl.compile(code, '=' .. CHUNK)
  if f then return { status = 'complete' } end
  if repl.incomplete(err) then return { status = 'incomplete', indent = '  ' } end
  return { status = 'invalid' }
end

-- ---- luatorch --install-kernel -----------------------------------------------------------------
local function dirname(p) return p:match('^(.*)/[^/]*$') or '.' end

local function copy_file(from, to)
  local f, err = io.open(from, 'rb')
  if not f then error('--install-kernel: cannot read ' .. err, 0) end
  local data = f:read('a')
  f:close()
  local tmp = to .. '.tmp'
  local o, oerr = io.open(tmp, 'wb')
  if not o then error('--install-kernel: cannot write ' .. oerr, 0) end
  o:write(data)
  o:close()
  local ok, rerr = os.rename(tmp, to)
  if not ok then os.remove(tmp) error('--install-kernel: ' .. rerr, 0) end
end

local function exists(p)
  local f = io.open(p, 'rb')
  if f then f:close() return true end
  return false
end

local function shell_quote(s) return "'" .. s:gsub("'", [['\'']]) .. "'" end

-- The kernelspec directory for the executable at exe: the build tree's
-- ($BUILD/share/jupyter/kernels/luatorch, made by `make`) or an installed one
-- (PREFIX/bin/../share/jupyter/kernels/luatorch).
function M.kernelspec_dir(exe)
  local d = dirname(exe)
  for _, cand in ipairs({ d .. '/share/jupyter/kernels/luatorch', d .. '/../share/jupyter/kernels/luatorch' }) do
    if exists(cand .. '/kernel.json') then return cand end
  end
  return nil
end

-- Copies the kernelspec (kernel.json and the logos) into Jupyter's data directory: the user's
-- ($JUPYTER_DATA_DIR, else $XDG_DATA_HOME/jupyter or ~/.local/share/jupyter) with user, else
-- the system's (/usr/local/share/jupyter). Returns the directory written.
function M.install_kernel(exe, user)
  exe = exe or torch._exePath()
  if not exe then error('--install-kernel: cannot find the running executable (/proc/self/exe)', 0) end
  local src = M.kernelspec_dir(exe)
  if not src then
    error(('--install-kernel: no kernelspec next to %s: the kernel is built when xeus '
           .. 'is installed (Debian xeus-dev; `make deps`), then `make`'):format(exe), 0)
  end
  local base
  if user then
    base = os.getenv('JUPYTER_DATA_DIR')
    if not base or base == '' then
      local xdg = os.getenv('XDG_DATA_HOME')
      local home = os.getenv('HOME')
      if xdg and xdg ~= '' then base = xdg .. '/jupyter'
      elseif home and home ~= '' then base = home .. '/.local/share/jupyter'
      else error('--install-kernel --user: neither JUPYTER_DATA_DIR, XDG_DATA_HOME nor HOME is set', 0) end
    end
  else
    base = '/usr/local/share/jupyter'
  end
  local dest = base .. '/kernels/luatorch'
  if os.execute('mkdir -p ' .. shell_quote(dest)) ~= true then
    error('--install-kernel: cannot create ' .. dest .. (user and '' or ' (without --user it needs root)'), 0)
  end
  for _, name in ipairs({ 'kernel.json', 'logo-32x32.png', 'logo-64x64.png' }) do
    if exists(src .. '/' .. name) then copy_file(src .. '/' .. name, dest .. '/' .. name) end
  end
  return dest
end

return M
