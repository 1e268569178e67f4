-- torch.display, torch.media, torch.plot — rich output: images (PNG, SVG), HTML and Markdown
-- shown inline in a Jupyter notebook (the luatorch kernel, lua/torch/jupyter.lua, installs
-- the shower), and plain text elsewhere (the prompt, scripts); figures drawn by gnuplot.
--
--   torch.media(data, kind) -> m         kind: 'png' 'jpeg' 'svg' 'html' 'markdown' 'text'
--   torch.media('fig.png') -> m          a file, its kind from the extension
--   m:save(path)  m:bundle()             the bytes to a file / the Jupyter mime bundle
--   torch.display(x [, kind])            shows a media, a file, data of a kind, or any value
--   torch.plot(series [, opts]) -> m     a line plot (gnuplot), an SVG (or PNG) media
--
-- A media object that is a cell's last value shows as its image in a notebook, as
-- '<image/svg+xml: 9120 bytes>' at the prompt.
return function(torch)
  local check = require 'torch.check'

  local mimes = {
    png = 'image/png', jpeg = 'image/jpeg', svg = 'image/svg+xml', html = 'text/html',
    markdown = 'text/markdown', text = 'text/plain',
  }
  local extensions = { png = 'png', jpg = 'jpeg', jpeg = 'jpeg', svg = 'svg', html = 'html',
                       htm = 'html', md = 'markdown', markdown = 'markdown', txt = 'text' }
  local binary = { png = true, jpeg = true }

  local Media = {}
  Media.__index = Media
  Media.__name = 'torch.Media'

  function Media:__tostring()
    if binary[self.kind] or self.kind == 'svg' then
      return ('<%s: %d bytes>'):format(mimes[self.kind], #self.data)
    end
    return self.data
  end

  local function kind_names()
    local k = {}
    for name in pairs(mimes) do k[#k + 1] = name end
    table.sort(k)
    return table.concat(k, ', ')
  end

  local function read_file(fname, path)
    local f, err = io.open(path, 'rb')
    if not f then error(('%s: cannot read %s'):format(fname, err), 3) end
    local data = f:read('a')
    f:close()
    return data
  end

  -- torch.media(data, kind) / torch.media(path)
  function torch.media(data, kind)
    check.arg('media', 1, data, 'string')
    check.arg('media', 2, kind, 'string?')
    if kind == nil then
      local ext = data:match('%.([%w]+)$')
      kind = ext and extensions[ext:lower()]
      if not kind then
        check.argerror('media', 1, ("'%s' is not a file name ending in .png, .jpg, .svg, .html or .md "
                                    .. '(give the kind of data as argument #2)'):format(data:sub(1, 60)))
      end
      data = read_file('torch.media', data)
    elseif not mimes[kind] then
      check.argerror('media', 2, ("unknown kind '%s' (one of %s)"):format(kind, kind_names()))
    end
    return setmetatable({ data = data, kind = kind, mime = mimes[kind] }, Media)
  end

  function torch.isMedia(x) return getmetatable(x) == Media end

  -- m:save(path): the bytes into the file (a temporary file renamed over it)
  function Media:save(path)
    check.arg('save', 1, path, 'string')
    local tmp = path .. '.tmp'
    local f, err = io.open(tmp, 'wb')
    if not f then error('Media:save: cannot write ' .. err, 2) end
    local ok, werr = f:write(self.data)
    f:close()
    if not ok then os.remove(tmp) error('Media:save: ' .. tostring(werr), 2) end
    local renamed, rerr = os.rename(tmp, path)
    if not renamed then os.remove(tmp) error('Media:save: ' .. tostring(rerr), 2) end
    return self
  end

  -- m:bundle([encode]) -> {[mime] = data, ['text/plain'] = ...}: binary data through encode
  -- (the kernel's base64), which Jupyter's JSON messages need.
  function Media:bundle(encode)
    check.arg('bundle', 1, encode, 'function?')
    local data = self.data
    if binary[self.kind] then
      if not encode then error('Media:bundle: a ' .. self.kind .. ' image needs an encoder (base64)', 2) end
      data = encode(data)
    end
    local b = { [self.mime] = data }
    if self.kind ~= 'text' then b['text/plain'] = tostring(self) end
    if self.kind == 'html' or self.kind == 'markdown' then b['text/plain'] = self.data end
    return b
  end

  -- Where torch.display sends a media: the notebook's display_data when the kernel set one
  -- (torch._displayer), else the text on stdout.
  torch._displayer = nil

  -- torch.display(x [, kind])
  function torch.display(x, kind)
    check.arg('display', 2, kind, 'string?')
    if kind ~= nil and not mimes[kind] then
      check.argerror('display', 2, ("unknown kind '%s' (one of %s)"):format(kind, kind_names()))
    end
    local m
    if torch.isMedia(x) then
      m = x
    elseif kind ~= nil then
      check.arg('display', 1, x, 'string')
      m = torch.media(x, kind)
    elseif type(x) == 'string' and x:match('^[^\n]+%.%w+$') and io.open(x, 'rb') then
      local ext = x:match('%.(%w+)$'):lower()
      m = extensions[ext] and torch.media(x) or torch.media(x, 'text')
    else
      m = torch.media(require('torch.repl').show(x), 'text')
    end
    if torch._displayer then return torch._displayer(m) end
    io.stdout:write(tostring(m), '\n')
  end

  -- ---- torch.plot --------------------------------------------------------------------------
  local plot_options = { x = check.NONE, title = '', xlabel = '', ylabel = '', y2label = '',
                         style = 'lines', format = 'svg', width = 640, height = 360, file = '',
                         logy = false, yrange = check.NONE, y2range = check.NONE }
  local styles = { lines = true, points = true, linespoints = true }

  local function numbers(fname, i, v, what)
    if torch.isTensor(v) then
      if v:dim() ~= 1 then check.argerror(fname, i, ('%s must be 1-D, got %dD'):format(what, v:dim())) end
      return v:double():totable()
    end
    if type(v) ~= 'table' then check.argerror(fname, i, what .. ' must be a 1-D tensor or a list of numbers') end
    for j = 1, #v do
      if type(v[j]) ~= 'number' then
        check.argerror(fname, i, ('%s[%d] is a %s, not a number'):format(what, j, type(v[j])))
      end
    end
    return v
  end

  -- The series: a tensor / number list, or a list of those or of {y =, x =, name =, style =,
  -- axis = 1 | 2}.
  local function series_list(s, opts)
    local one = torch.isTensor(s) or (type(s) == 'table' and (#s == 0 or type(s[1]) == 'number'))
    local list = one and { s } or s
    local out = {}
    for i, e in ipairs(list) do
      local spec = (type(e) == 'table' and not torch.isTensor(e) and e.y ~= nil) and e or { y = e }
      local y = numbers('plot', 1, spec.y, ('series %d'):format(i))
      if #y == 0 then check.argerror('plot', 1, ('series %d has no values'):format(i)) end
      local x = spec.x or opts.x
      x = x and numbers('plot', 1, x, ('series %d x'):format(i)) or nil
      if x and #x ~= #y then
        check.argerror('plot', 1, ('series %d has %d y values and %d x values'):format(i, #y, #x))
      end
      local style = spec.style or opts.style
      if not styles[style] then check.argerror('plot', 2, ("style '%s' (lines, points or linespoints)"):format(style)) end
      out[i] = { x = x, y = y, name = spec.name and tostring(spec.name) or ('series ' .. i),
                 style = style, axis = spec.axis == 2 and 2 or 1 }
    end
    if #out == 0 then check.argerror('plot', 1, 'no series to plot') end
    return out
  end

  local function gp_string(s) return "'" .. tostring(s):gsub("'", "''"):gsub('\n', ' ') .. "'" end

  local gnuplot_found
  local function have_gnuplot()
    if gnuplot_found == nil then
      gnuplot_found = os.execute('command -v gnuplot >/dev/null 2>&1') == true
    end
    return gnuplot_found
  end

  -- torch.plot(series [, opts]) -> media
  function torch.plot(series, opts)
    check.arg('plot', 1, series, 'table|tensor')
    opts = check.options('torch.plot', opts, plot_options, 2)
    if opts.format ~= 'svg' and opts.format ~= 'png' then
      check.argerror('plot', 2, ("format '%s' (svg or png)"):format(tostring(opts.format)))
    end
    for _, k in ipairs({ 'width', 'height' }) do
      if math.type(opts[k]) ~= 'integer' or opts[k] < 16 or opts[k] > 8192 then
        check.argerror('plot', 2, ('%s must be a whole number of pixels in 16..8192, got %s'):format(k, tostring(opts[k])))
      end
    end
    local list = series_list(series, opts)
    if not have_gnuplot() then
      error('torch.plot needs gnuplot, which is not installed: `make deps` installs it '
            .. '(Debian: apt-get install gnuplot-nox)', 2)
    end
    local files, cleanup = {}, {}
    local out, script = os.tmpname(), os.tmpname()
    cleanup[#cleanup + 1], cleanup[#cleanup + 2] = out, script
    local plots, y2 = {}, false
    for i, s in ipairs(list) do
      local name = os.tmpname()
      cleanup[#cleanup + 1], files[i] = name, name
      local f = assert(io.open(name, 'w'))
      for j, y in ipairs(s.y) do
        if y == y and y ~= math.huge and y ~= -math.huge then   -- NaN and inf: a gap
          f:write(('%.17g %.17g\n'):format(s.x and s.x[j] or j, y))
        else
          f:write('\n')
        end
      end
      f:close()
      y2 = y2 or s.axis == 2
      plots[i] = ('%s using 1:2 axes x1y%d with %s lw 2 title %s'):format(gp_string(name), s.axis,
                                                                        s.style, gp_string(s.name))
    end
    -- pngcairo when there (gnuplot-nox may lack it), else libgd's png; svg always exists
    local terminal = opts.format == 'svg' and 'svg dynamic enhanced font "sans,11"'
                     or 'png'
    if opts.format == 'png' and os.execute("gnuplot -e 'set terminal pngcairo' >/dev/null 2>&1") == true then
      terminal = 'pngcairo font "sans,10"'
    end
    local lines = {
      ('set terminal %s size %d,%d'):format(terminal, opts.width, opts.height),
      'set output ' .. gp_string(out), 'set grid', 'set key top right',
      'set datafile missing NaN',
    }
    if opts.title ~= '' then lines[#lines + 1] = 'set title ' .. gp_string(opts.title) end
    if opts.xlabel ~= '' then lines[#lines + 1] = 'set xlabel ' .. gp_string(opts.xlabel) end
    if opts.ylabel ~= '' then lines[#lines + 1] = 'set ylabel ' .. gp_string(opts.ylabel) end
    if opts.logy then lines[#lines + 1] = 'set logscale y' end
    for _, k in ipairs({ 'yrange', 'y2range' }) do
      local r = opts[k]
      if r ~= nil then
        if type(r) ~= 'table' or type(r[1]) ~= 'number' or type(r[2]) ~= 'number' then
          check.argerror('plot', 2, k .. ' must be {min, max}')
        end
        lines[#lines + 1] = ('set %s [%.17g:%.17g]'):format(k, r[1], r[2])
      end
    end
    if y2 then
      lines[#lines + 1] = 'set ytics nomirror'
      lines[#lines + 1] = 'set y2tics'
      if opts.y2label ~= '' then lines[#lines + 1] = 'set y2label ' .. gp_string(opts.y2label) end
    end
    lines[#lines + 1] = 'plot ' .. table.concat(plots, ', ')
    lines[#lines + 1] = 'unset output'
    local f = assert(io.open(script, 'w'))
    f:write(table.concat(lines, '\n'), '\n')
    f:close()
    local ok = os.execute(('gnuplot %s 2>%s.err'):format(script, script))
    cleanup[#cleanup + 1] = script .. '.err'
    local ef = io.open(script .. '.err', 'rb')
    local err = ef and ef:read('a') or ''
    if ef then ef:close() end
    local rf = io.open(out, 'rb')
    local data = rf and rf:read('a') or ''
    if rf then rf:close() end
    for _, name in ipairs(cleanup) do os.remove(name) end
    if ok ~= true or #data == 0 then
      error('torch.plot: gnuplot failed: ' .. (err ~= '' and err or 'no output'), 2)
    end
    local m = torch.media(data, opts.format)
    if opts.file ~= '' then m:save(opts.file) end
    return m
  end
end
