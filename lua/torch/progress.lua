-- torch.ProgressBar(total [, {stream = io.stderr, width = 30, done = 0, out = io.stdout}]): a
-- one-line progress bar with the count, elapsed time, the rate (it/s), the ETA of the whole
-- run and a caller's note (the running loss), redrawn in place on a terminal. `done` is where
-- a resumed run starts: the rate and the ETA count only what this run did. bar:write(line)
-- prints a log line (an evaluation) on its own line of `out` and redraws the bar below it.
-- bar.tty tells whether it draws; when it does not, write() still prints the line. In a
-- Jupyter notebook (the luatorch kernel's stream, lua/torch/jupyter.lua) the bar is a display
-- updated in place (update_display_data) above the lines write() prints.
return function(torch)
  local Bar = {}
  Bar.__index = Bar

  local function clock(s)
    s = math.max(0, math.floor(s + 0.5))
    if s >= 3600 then return ('%d:%02d:%02d'):format(s // 3600, s % 3600 // 60, s % 60) end
    return ('%d:%02d'):format(s // 60, s % 60)
  end

  local function rate_string(r)
    if r >= 10 or r == 0 then return ('%.0f it/s'):format(r) end
    if r >= 1 then return ('%.1f it/s'):format(r) end
    return ('%.1f s/it'):format(1 / r)
  end

  local check = require 'torch.check'
  local bar_options = { stream = check.NONE, out = check.NONE, width = 30, done = 0, tty = check.NONE }

  function torch.ProgressBar(total, opts)
    check.arg('ProgressBar', 1, total, 'integer')
    opts = check.options('torch.ProgressBar', opts, bar_options, 2)
    local stream = opts.stream or io.stderr
    local notebook = torch._notebookBar ~= nil and type(stream) == 'table' and stream.jupyter == true
    local tty = opts.tty
    if tty == nil then tty = notebook or torch.isatty(stream) end
    return setmetatable({
      total = total, stream = stream, out = opts.out or io.stdout, width = opts.width,
      tty = tty, notebook = notebook and tty,
      start = torch.clock(), last = -1, first = opts.done, done = opts.done,
    }, Bar)
  end

  local function draw(self, now)
    local done = self.done
    local frac = self.total > 0 and math.min(done / self.total, 1) or 1
    local filled = math.floor(frac * self.width + 0.5)
    local elapsed = now - self.start
    local rate = elapsed > 0 and (done - self.first) / elapsed or 0
    local eta = rate > 0 and (self.total - done) / rate or 0
    local bar = ('='):rep(math.max(filled - 1, 0)) .. (filled > 0 and (frac < 1 and '>' or '=') or '')
    local text = ('[%s%s] %d/%d %s ETA %s %s%s'):format(bar, (' '):rep(self.width - #bar),
      done, self.total, clock(elapsed), clock(eta), rate_string(rate),
      self.note and (' | ' .. self.note) or '')
    if self.notebook then return torch._notebookBar(self, text) end
    self.stream:write('\r' .. text .. '\27[K')
    self.stream:flush()
  end

  -- update(done [, note]): redraws at most ~20 times a second (and always at the end)
  function Bar:update(done, note)
    self.done, self.note = done, note
    if not self.tty then return end
    local now = torch.clock()
    if done < self.total and now - self.last < 0.05 then return end
    self.last = now
    draw(self, now)
  end

  -- write(line): the line on its own, where the bar was; then the bar again under it
  function Bar:write(line)
    if self.notebook then   -- the bar stays where it is, the lines go below it
      self.out:write(line, '\n')
      return
    end
    if self.tty then
      self.stream:write('\r\27[K')
      self.stream:flush()
    end
    self.out:write(line, '\n')
    self.out:flush()
    if self.tty and self.last >= 0 then draw(self, torch.clock()) end
  end

  function Bar:finish(note)
    if not self.tty then return end
    self.last = -1
    self:update(self.total, note)
    if self.notebook then return end
    self.stream:write('\n')
    self.stream:flush()
  end
end
