-- bench/autograd.lua — the cost of recording and replaying autograd nodes: a chain of small
-- elementwise ops on a 16-element tensor, without grad, with recording, and with recording
-- plus backward; reported as ops per second and microseconds per node, beside each PyTorch's
-- numbers for the same chain (bench/pytorch.lua: Debian's 1.13 and a PyPI 2.x in
-- build/venv-torch, n/a where absent).
local torch = require 'torch'
local here = debug.getinfo(1, 'S').source:match('^@(.*/)') or './'
local pytorch, common = dofile(here .. 'pytorch.lua'), dofile(here .. 'common.lua')

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

-- PyTorch, same chain, same thread count; lines "<row> <seconds>"
local py = [[
import sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
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
print(1, a)
print(2, b)
print(3, c)
]]
local pts = pytorch.run(py:format(ITER, REPS, REPS, REPS), { 1 })

print(('autograd: chain of %d small ops on 16 elements, %d chains, 1 thread, best of 5'):format(CHAIN, REPS))
local head = { ('%-22s %14s %12s'):format('', 'ops/s', 'us/op') }
for _, pt in ipairs(pts) do
  head[#head + 1] = ('%14s %10s'):format(pt.short .. ' us/op', pt.short .. '/lt')
end
print(table.concat(head, ' '))
for i, r in ipairs(rows) do
  local us = r[2] / n * 1e6
  local cols = { ('%-22s %14.0f %12.2f'):format(r[1], n / r[2], us) }
  for _, pt in ipairs(pts) do
    local pus = pt.res and pt.res[i .. ':1'] and pt.res[i .. ':1'] / n * 1e6
    cols[#cols + 1] = ('%14s %10s'):format(common.fmt(pus), common.ratio(pus, us))
  end
  print(table.concat(cols, ' '))
end
print(pytorch.legend(pts))
