-- spec/summary_output.lua — the busted output handler of the Makefile's test targets
-- (`busted --output=$(CURDIR)/spec/summary_output.lua spec`): busted's utfTerminal output,
-- except that the tests pending for want of a GPU (named or marked "(no GPU)": H.gpu_it, the
-- docs spec's device blocks) are summed up in one line per spec file,
--   spec/30-cuda_tensor_spec.lua: 41 pending (no GPU)
-- instead of a block each (~790 of them). Every other pending test, failure and error prints
-- in full as utfTerminal prints it, and busted's totals come last.
local s = require 'say'
local pretty = require 'pl.pretty'
local term = require 'term'
local luassert = require 'luassert'

local function plain_colors()
  return setmetatable({}, { __index = function() return function(x) return x end end })
end

return function(options)
  local busted = require 'busted'
  local handler = require('busted.outputHandlers.base')()

  local colors = plain_colors()
  luassert:set_parameter('TableErrorHighlightColor', 'none')
  if io.type(io.stdout) == 'file' and term.isatty(io.stdout) then
    colors = require 'term.colors'
    luassert:set_parameter('TableErrorHighlightColor', 'red')
  end

  local dots = {
    success = colors.green('●'), pending = colors.yellow('◌'),
    failure = colors.red('◼'), error = colors.magenta('✱'),
  }

  local no_gpu_files, no_gpu_count = {}, {}   -- file names in order of appearance; counts

  local function file_of(context)
    while context and context.descriptor ~= 'file' do context = busted.parent(context) end
    return context and context.name or '(unknown file)'
  end

  local function message_text(m)
    if type(m) == 'string' then return m end
    if m == nil then return 'Nil error' end
    return pretty.write(m)
  end

  local function pending_description(p)
    local text = colors.yellow(s('output.pending')) .. ' → ' .. colors.cyan(p.trace.short_src) ..
                 ' @ ' .. colors.cyan(p.trace.currentline) .. '\n' .. colors.bright(p.name)
    if p.message ~= nil then text = text .. '\n' .. message_text(p.message) end
    return text
  end

  local function failure_description(f, is_error)
    local text = (is_error and colors.magenta(s('output.error')) or colors.red(s('output.failure')))
                 .. ' → '
    local msg = (f.randomseed and ('Random seed: ' .. f.randomseed .. '\n') or '') ..
                message_text(f.message)
    if not f.element.trace or not f.element.trace.short_src then
      text = text .. colors.cyan(msg) .. '\n' .. colors.bright(f.name)
    else
      text = text .. colors.cyan(f.element.trace.short_src) .. ' @ ' ..
             colors.cyan(f.element.trace.currentline) .. '\n' .. colors.bright(f.name) .. '\n' .. msg
    end
    if options.verbose and f.trace and f.trace.traceback then text = text .. '\n' .. f.trace.traceback end
    return text
  end

  local function count(n, what)
    local key = n == 0 and '_zero' or n == 1 and '_single' or '_plural'
    return n, s('output.' .. what .. key)
  end

  local function status_line()
    local ns, ss = count(handler.successesCount, 'success')
    local nf, sf = count(handler.failuresCount, 'failure')
    local ne, se = count(handler.errorsCount, 'error')
    local np, sp = count(handler.pendingsCount, 'pending')
    local secs = (('%.6f'):format(handler.getDuration()):gsub('([0-9])0+$', '%1'))
    return colors.green(ns) .. ' ' .. ss .. ' / ' .. colors.red(nf) .. ' ' .. sf .. ' / ' ..
           colors.magenta(ne) .. ' ' .. se .. ' / ' .. colors.yellow(np) .. ' ' .. sp .. ' : ' ..
           colors.bright(secs) .. ' ' .. s('output.seconds')
  end

  -- Runs after the base handler's (priority 1), which has just filed a pending test.
  handler.testEnd = function(element, parent, status)
    if status == 'pending' then
      local p = handler.pendings[#handler.pendings]
      if p and (p.name .. ' ' .. tostring(p.message or '')):find('(no GPU)', 1, true) then
        local file = file_of(parent)
        p.noGpu = true
        if not no_gpu_count[file] then no_gpu_files[#no_gpu_files + 1], no_gpu_count[file] = file, 0 end
        no_gpu_count[file] = no_gpu_count[file] + 1
      end
    end
    if not options.deferPrint then
      io.write(dots[status] or dots.error)
      io.flush()
    end
    return nil, true
  end

  handler.suiteStart = function(_, run, total)
    if total > 1 then io.write(('\nRepeating all tests (run %u of %u) . . .\n\n'):format(run, total)) end
    no_gpu_files, no_gpu_count = {}, {}
    io.flush()
    return nil, true
  end

  handler.suiteEnd = function()
    io.write('\n')
    for _, p in ipairs(handler.pendings) do
      if not p.noGpu then io.write('\n', pending_description(p), '\n') end
    end
    if #no_gpu_files > 0 then io.write('\n') end
    for _, file in ipairs(no_gpu_files) do
      io.write(('%s: %d pending (no GPU)\n'):format(file, no_gpu_count[file]))
    end
    for _, f in ipairs(handler.failures) do io.write('\n', failure_description(f), '\n') end
    for _, e in ipairs(handler.errors) do io.write('\n', failure_description(e, true), '\n') end
    io.write('\n', status_line(), '\n')
    return nil, true
  end

  handler.error = function()
    io.write(dots.error)
    io.flush()
    return nil, true
  end

  busted.subscribe({ 'test', 'end' }, handler.testEnd, { predicate = handler.cancelOnPending })
  busted.subscribe({ 'suite', 'start' }, handler.suiteStart)
  busted.subscribe({ 'suite', 'end' }, handler.suiteEnd)
  busted.subscribe({ 'error', 'file' }, handler.error)
  busted.subscribe({ 'failure', 'file' }, handler.error)
  busted.subscribe({ 'error', 'describe' }, handler.error)
  busted.subscribe({ 'failure', 'describe' }, handler.error)

  return handler
end
