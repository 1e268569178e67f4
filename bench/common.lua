-- bench/common.lua — what the benchmarks share (dofile'd, as bench/pytorch.lua): the
-- PyTorch-style training step closure, the timing loops, the thread counts to run, the
-- formatting of optional numbers and examples/cnn_mnist.lua's LeNet-5. Returns a table of
-- functions.
local torch = require 'torch'

local M = {}

-- one training step: zeroGrad, forward, loss, backward, optimiser step (opt: an optim object)
function M.train_step(model, crit, opt, x, y)
  return function()
    opt:zeroGrad()
    crit(model(x), y):backward()
    opt:step()
  end
end

-- ms per step of `steps` calls of step(), timed once by clock (default torch.clock, wall time);
-- a full collection first, so that the previous batch's garbage is not collected inside it
function M.time_ms(step, steps, clock)
  clock = clock or torch.clock
  collectgarbage()
  local t0 = clock()
  for _ = 1, steps do step() end
  return (clock() - t0) / steps * 1000
end

-- the best of reps timings after one warm-up step (workspaces, first-touch pages, the
-- allocator's caches), ms per step
function M.best_ms(step, steps, reps, clock)
  step()
  local best = math.huge
  for _ = 1, reps do best = math.min(best, M.time_ms(step, steps, clock)) end
  return best
end

-- the thread counts to run: 1 and 2, or LUATORCH_BENCH_THREADS=n's one count
function M.thread_counts()
  local env = os.getenv('LUATORCH_BENCH_THREADS')
  if not env then return { 1, 2 } end
  local n = math.tointeger(tonumber(env))
  return { (assert(n and n >= 1 and n, 'LUATORCH_BENCH_THREADS: expected a thread count')) }
end

-- a number with format f (default '%.2f'), or 'n/a' for a missing one
function M.fmt(v, f) return v and (f or '%.2f'):format(v) or 'n/a' end

-- a / b as '1.23x', or 'n/a' when either is missing
function M.ratio(a, b) return a and b and ('%.2fx'):format(a / b) or 'n/a' end

-- examples/cnn_mnist.lua's LeNet-5 (1 x 28 x 28 in, 10 classes out)
function M.lenet()
  local nn = require 'nn'
  return nn.Sequential()
    :add(nn.Conv2d(1, 6, 5, { padding = 2 })):add(nn.ReLU()):add(nn.MaxPool2d(2))
    :add(nn.Conv2d(6, 16, 5)):add(nn.ReLU()):add(nn.MaxPool2d(2))
    :add(nn.View(-1, 400))
    :add(nn.Linear(400, 120)):add(nn.ReLU()):add(nn.Linear(120, 84)):add(nn.ReLU())
    :add(nn.Linear(84, 10))
end

return M
