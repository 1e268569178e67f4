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

  -- nil and the message when value does not fit default's type
  local function convert(key, default, value)
    local kind = type(default)
    if kind == 'number' then
      local n = tonumber(value)
      if not n then return nil, ("option --%s expects a number, got '%s'"):format(key, value) end
      if math.type(default) == 'integer' and math.type(n) == 'float' and n == math.floor(n) then
        n = math.tointeger(n)
      end
      return n
    elseif kind == 'boolean' then
      if value == 'true' or value == '1' then return true end
      if value == 'false' or value == '0' then return false end
      return nil, ("option --%s expects true or false, got '%s'"):format(key, value)
    end
    return value
  end

  -- parse(arg): a table of option values. A bad or unknown option raises its message followed
  -- by the usage, at level 0 (no position): a script may pcall parse and print it as it is.
  function CmdLine:parse(args)
    args = args or {}
    local function fail(msg) error(msg .. '\n' .. self:help(args[0]), 0) end
    local function value(key, o, v)
      local x, why = convert(key, o.default, v)
      if why then fail(why) end
      return x
    end
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
      if not o then fail(("unknown option '%s'"):format(a)) end
      if inline then
        opt[key] = value(key, o, inline)
      elseif type(o.default) == 'boolean' and (args[i + 1] == nil or args[i + 1]:match('^%-')
             or (args[i + 1] ~= 'true' and args[i + 1] ~= 'false')) then
        opt[key] = not o.default
      else
        if args[i + 1] == nil then fail(("option --%s needs a value"):format(key)) end
        opt[key] = value(key, o, args[i + 1])
        i = i + 1
      end
      i = i + 1
    end
    return opt
  end
end
