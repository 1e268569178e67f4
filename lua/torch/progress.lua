-- torch.ProgressBar(total [, {stream = io.stderr, width = 30}]): a one-line progress bar with
-- the count, elapsed time, ETA and a caller's note (the running loss), redrawn in place on a
-- terminal. bar.tty tells whether it draws; scripts print plain log lines when it is false.
return function(torch)
  local Bar = {}
  Bar.__index = Bar

  local function clock(s)
    s = math.max(0, math.floor(s + 0.5))
    if s >= 3600 then return ('%d:%02d:%02d'):format(s // 3600, s % 3600 // 60, s % 60) end
    return ('%d:%02d'):format(s // 60, s % 60)
  end

  function torch.ProgressBar(total, opts)
    opts = opts or {}
    local stream = opts.stream or io.stderr
    return setmetatable({
      total = total, stream = stream, width = opts.width or 30,
      tty = opts.tty == nil and torch.isatty(stream) or opts.tty,
      start = torch.clock(), last = -1,
    }, Bar)
  end

  -- update(done [, note]): redraws at most ~20 times a second (and always at the end)
  function Bar:update(done, note)
    if not self.tty then return end
    local now = torch.clock()
    if done < self.total and now - self.last < 0.05 then return end
    self.last = now
    local frac = self.total > 0 and math.min(done / self.total, 1) or 1
    local filled = math.floor(frac * self.width + 0.5)
    local elapsed = now - self.start
    local eta = frac > 0 and elapsed * (1 - frac) / frac or 0
    local bar = ('='):rep(math.max(filled - 1, 0)) .. (filled > 0 and (frac < 1 and '>' or '=') or '')
    self.stream:write(('\r[%s%s] %d/%d %s ETA %s%s\27[K'):format(bar, (' '):rep(self.width - #bar),
      done, self.total, clock(elapsed), clock(eta), note and (' | ' .. note) or ''))
    self.stream:flush()
  end

  function Bar:finish(note)
    if not self.tty then return end
    self.last = -1
    self:update(self.total, note)
    self.stream:write('\n')
    self.stream:flush()
  end
end
