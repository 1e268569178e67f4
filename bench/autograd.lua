-- bench/autograd.lua — the cost of recording and replaying autograd nodes: a chain of small
-- elementwise ops on a 16-element tensor, without grad, with recording, and with recording
-- plus backward; reported as ops per second and microseconds per node, beside PyTorch's
-- numbers for the same chain when /usr/bin/python3 can import torch.
local torch = require 'torch'

local ITER, REPS = 10, 400
local CHAIN = 6 * ITER  -- ops recorded per chain: *, +, tanh, sigmoid, -, cmul
torch.setnumthreads(1)

local function chain(x)
  local y = x
  for _ = 1, ITER do
    y = torch.tanh(y * 0.5 + 0.1)
    y = torch.sigmoid(y) - y
    y = torch.cmul(y, y)
  end
  return y
end

local function best_of(n, fn)
  local best = math.huge
  for _ = 1, n do
    local t0 = torch.clock()
    fn()
    best = math.min(best, torch.clock() - t0)
  end
  return best
end

local x = torch.randn(16)
local plain = best_of(5, function() for _ = 1, REPS do chain(x) end end)
local xr = x:clone()
xr.requiresGrad = true
local recorded = best_of(5, function() for _ = 1, REPS do chain(xr) end end)
local g = torch.ones(16)
local full = best_of(5, function()
  for _ = 1, REPS do
    xr.grad = nil
    chain(xr):backward(g)
  end
end)

local n = REPS * CHAIN
local rows = {
  { 'no grad', plain },
  { 'recording', recorded },
  { 'recording + backward', full },
}

-- PyTorch, same chain, same thread count, when available
local py = [[
import time, torch
torch.set_num_threads(1)
def chain(x):
    y = x
    for i in range(%d):
        y = torch.tanh(y * 0.5 + 0.1)
        y = torch.sigmoid(y) - y
        y = y * y
    return y
x = torch.randn(16)
def best(f):
    b = 1e9
    for _ in range(5):
        t = time.perf_counter(); f(); b = min(b, time.perf_counter() - t)
    return b
xr = x.clone().requires_grad_(True)
def full():
    for _ in range(%d):
        xr.grad = None
        chain(xr).backward(torch.ones(16))
with torch.no_grad():
    a = best(lambda: [chain(x) for _ in range(%d)])
b = best(lambda: [chain(xr) for _ in range(%d)])
c = best(full)
print(a, b, c)
]]
local pyres
local f = io.popen(("/usr/bin/python3 -c '%s' 2>/dev/null"):format(py:format(ITER, REPS, REPS, REPS)))
if f then
  local line = f:read('l')
  f:close()
  if line then
    local a, b, c = line:match('(%S+) (%S+) (%S+)')
    if a then pyres = { tonumber(a), tonumber(b), tonumber(c) } end
  end
end

print(('autograd: chain of %d small ops on 16 elements, %d chains, 1 thread, best of 5'):format(CHAIN, REPS))
print(('%-22s %14s %12s %14s %10s'):format('', 'ops/s', 'us/op', 'PyTorch us/op', 'speedup'))
for i, r in ipairs(rows) do
  local us = r[2] / n * 1e6
  local pus = pyres and pyres[i] / n * 1e6
  print(('%-22s %14.0f %12.2f %14s %10s'):format(r[1], n / r[2], us,
        pus and ('%.2f'):format(pus) or 'n/a', pus and ('%.2fx'):format(pus / us) or 'n/a'))
end
if not pyres then print('(PyTorch not importable by /usr/bin/python3: its column is skipped)') end
