-- torch.CmdLine — Torch7's command-line option parser, for training scripts:
--   local cmd = torch.CmdLine()
--   cmd:text('Train the seed model'); cmd:option('-lr', 0.1, 'learning rate')
--   local opt = cmd:parse(arg)        -- accepts -lr 0.2, --lr 0.2 and --lr=0.2
-- A boolean option given without a value flips its default. -h / --help prints the help.
return function(torch)
  local CmdLine = {}
  CmdLine.__index = CmdLine

  function torch.CmdLine()
    return setmetatable({ options = {}, order = {}, lines = {} }, CmdLine)
  end

  function CmdLine:text(s)
    self.lines[#self.lines + 1] = { text = s or '' }
  end

  function CmdLine:option(name, default, help)
    local key = name:gsub('^%-%-?', '')
    if self.options[key] then error(("CmdLine: option '%s' defined twice"):format(name), 2) end
    self.options[key] = { default = default, help = help or '' }
    self.order[#self.order + 1] = key
    self.lines[#self.lines + 1] = { option = key }
  end

  function CmdLine:help(progname)
    local out = { ('usage: %s [options]'):format(progname or 'script') }
    for _, l in ipairs(self.lines) do
      if l.text then out[#out + 1] = l.text
      else
        local o = self.options[l.option]
        out[#out + 1] = ('  --%-20s %s [%s]'):format(l.option, o.help, tostring(o.default))
      end
    end
    return table.concat(out, '\n')
  end

  local function convert(key, default, value)
    local kind = type(default)
    if kind == 'number' then
      local n = tonumber(value)
      if not n then error(("option --%s expects a number, got '%s'"):format(key, value), 0) end
      if math.type(default) == 'integer' and math.type(n) == 'float' and n == math.floor(n) then
        n = math.tointeger(n)
      end
      return n
    elseif kind == 'boolean' then
      if value == 'true' or value == '1' then return true end
      if value == 'false' or value == '0' then return false end
      error(("option --%s expects true or false, got '%s'"):format(key, value), 0)
    end
    return value
  end

  -- parse(arg): a table of option values; raises a message listing the options on a bad
  -- or unknown option (scripts may pcall it).
  function CmdLine:parse(args)
    args = args or {}
    local opt = {}
    for k, o in pairs(self.options) do opt[k] = o.default end
    local i = 1
    while i <= #args do
      local a = args[i]
      if a == '-h' or a == '--help' then
        print(self:help(args[0]))
        os.exit(0)
      end
      local key, inline = a:match('^%-%-?([^=]+)=(.*)$')
      key = key or a:match('^%-%-?(.+)$')
      local o = key and self.options[key]
      if not o then
        error(("unknown option '%s'\n%s"):format(a, self:help(args[0])), 0)
      end
      if inline then
        opt[key] = convert(key, o.default, inline)
      elseif type(o.default) == 'boolean' and (args[i + 1] == nil or args[i + 1]:match('^%-')
             or (args[i + 1] ~= 'true' and args[i + 1] ~= 'false')) then
        opt[key] = not o.default
      else
        if args[i + 1] == nil then error(("option --%s needs a value"):format(key), 0) end
        opt[key] = convert(key, o.default, args[i + 1])
        i = i + 1
      end
      i = i + 1
    end
    return opt
  end
end
