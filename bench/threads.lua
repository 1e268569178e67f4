-- bench/threads.lua — the contention table: ms per step at one thread and at the default
-- thread count (torch.getnumthreads() at start-up: LUATORCH_NUM_THREADS, OMP_NUM_THREADS, or
-- the CPUs this process may use), on an idle machine and with a busy neighbour (a process
-- this script starts, spinning on the last CPU of its affinity, killed after), all in one run.
-- Printed: each time, and the ratio default / 1 thread (the targets, issue 18: idle within
-- 1.05x of the better of 1 and 2 threads; with the busy neighbour within 1.3x of 1 thread;
-- large shapes keep their 2-thread speed-up, a ratio well below 1).
--   small  the LSTM adding problem, Torch7 style: nn.LSTM(2, H), 50 steps, batch B, the last
--          step's h through nn.Linear(H, 1), MSE, optim.Adam (H = 32 and 64, B = 64)
--   seed   nn.LSTM(28, 128), batch 100, 28 steps, Linear(128, 10), cross entropy, SGD
--   cnn    examples/cnn_mnist.lua's LeNet-5 (convolutions on oneDNN and im2col, max pooling,
--          ReLU), batch 100, cross entropy, SGD
--   large  the adding problem at H = 128, B = 100; y = sigmoid(a * b + a) over 4M floats;
--          a 1024 x 1024 x 1024 mm
-- Best of a few repetitions, the thread counts interleaved (machines are shared).
-- LUATORCH_BENCH_QUICK=1 runs fewer repetitions.
local torch = require 'torch'
local nn = require 'nn'
local optim = require 'optim'
local common = dofile((debug.getinfo(1, 'S').source:match('^@(.*/)') or './') .. 'common.lua')

local DEFAULT = torch.getnumthreads()
local QUICK = os.getenv('LUATORCH_BENCH_QUICK') ~= nil
local REPS = QUICK and 3 or 7

-- one training step of the adding problem (inputs: a random value and a 0/1 marker per step)
local function adding_step(H, B, T)
  torch.manualSeed(1)
  local x = torch.zeros(B, T, 2)
  x:select(3, 1):copy(torch.rand(B, T))
  local y = torch.zeros(B, 1)
  for b = 1, B do
    local i, j = math.random(T), math.random(T)
    x[b][i][2], x[b][j][2] = 1, 1
    y[b][1] = x[b][i][1] + (i ~= j and x[b][j][1] or 0)
  end
  local model = nn.Sequential():add(nn.LSTM(2, H, 1, { batchFirst = true }))
    :add(nn.Select(2, -1)):add(nn.Linear(H, 1))
  return common.train_step(model, nn.MSECriterion(), optim.Adam(model:parameters(), { lr = 1e-3 }),
                           x, y), 10
end

local function seed_step()
  torch.manualSeed(1)
  local x, y = torch.randn(100, 28, 28), torch.LongTensor(100):random(1, 10)
  local model = nn.Sequential():add(nn.LSTM(28, 128, 1, { batchFirst = true }))
    :add(nn.Select(2, -1)):add(nn.Linear(128, 10))
  return common.train_step(model, nn.CrossEntropyCriterion(),
                           optim.SGD(model:parameters(), { lr = 0.1 }), x, y), 5
end

local function lenet_step()
  torch.manualSeed(1)
  local x, y = torch.randn(100, 1, 28, 28), torch.LongTensor(100):random(1, 10)
  local model = common.lenet()
  return common.train_step(model, nn.CrossEntropyCriterion(),
                           optim.SGD(model:parameters(), { lr = 0.1 }), x, y), 10
end

local function pointwise_step()
  local a, b = torch.randn(4 * 1024 * 1024), torch.randn(4 * 1024 * 1024)
  local out = torch.Tensor()
  return function() torch.sigmoid(out, torch.cmul(a, b) + a) end, 10
end

local function mm_step()
  local a, b, c = torch.randn(1024, 1024), torch.randn(1024, 1024), torch.Tensor()
  return function() torch.mm(c, a, b) end, 2
end

local SHAPES = {
  { 'small', 'adding H32 B64 T50, Adam', function() return adding_step(32, 64, 50) end },
  { 'small', 'adding H64 B64 T50, Adam', function() return adding_step(64, 64, 50) end },
  { 'seed', 'nn.LSTM 28->128 B100 T28, SGD', seed_step },
  { 'cnn', 'LeNet-5 B100, SGD', lenet_step },
  { 'large', 'adding H128 B100 T50, Adam', function() return adding_step(128, 100, 50) end },
  { 'large', 'sigmoid(a*b+a), 4M floats', pointwise_step },
  { 'large', 'mm 1024^3', mm_step },
}

-- best ms per step of step() at each thread count of counts, interleaved
local function time_counts(step, steps, counts)
  local best = {}
  for _, n in ipairs(counts) do
    torch.setnumthreads(n)
    step()  -- warm-up (workspaces, the pool's workers)
    best[n] = math.huge
  end
  for _ = 1, REPS do
    for _, n in ipairs(counts) do
      torch.setnumthreads(n)
      best[n] = math.min(best[n], common.time_ms(step, steps))
    end
  end
  torch.setnumthreads(DEFAULT)
  return best
end

-- the last CPU this process may run on (the busy neighbour's), from taskset
local function last_cpu()
  local p = io.popen('taskset -cp $$ 2>/dev/null')
  local line = p and p:read('l') or ''
  if p then p:close() end
  local list = line:match(':%s*(.*)$') or ''
  local last
  for part in list:gmatch('[^,]+') do
    last = tonumber(part:match('(%d+)%s*$')) or last
  end
  return last
end

-- starts a process spinning on cpu; returns its pid (nil when taskset is missing)
local function start_spinner(cpu)
  if not cpu then return nil end
  local p = io.popen(("taskset -c %d sh -c 'while :; do :; done' >/dev/null 2>&1 & echo $!"):format(cpu))
  local pid = p and tonumber(p:read('l'))
  if p then p:close() end
  return pid
end

local counts = { 1, DEFAULT }
if DEFAULT ~= 2 then counts = { 1, 2, DEFAULT } end
if DEFAULT == 1 then counts = { 1 } end

local rows = {}
local function measure(condition)
  for i, s in ipairs(SHAPES) do
    local step, steps = s[3]()
    rows[i] = rows[i] or { kind = s[1], name = s[2] }
    rows[i][condition] = time_counts(step, QUICK and math.max(1, steps // 2) or steps, counts)
  end
end

measure('idle')
local cpu = last_cpu()
local pid = start_spinner(cpu)
local ok, err = pcall(measure, 'busy')
if pid then os.execute(('kill %d'):format(pid)) end
if not ok then error(err, 0) end

print(('threads: default %d (%s), busy neighbour: %s'):format(DEFAULT,
      os.getenv('LUATORCH_NUM_THREADS') and 'LUATORCH_NUM_THREADS' or
      os.getenv('OMP_NUM_THREADS') and 'OMP_NUM_THREADS' or 'CPUs available',
      pid and ('a spinning process pinned on CPU %d'):format(cpu) or 'none (no taskset)'))
local two = counts[2] == 2 and DEFAULT ~= 2
print(('%-6s %-32s %9s %9s %7s %9s %9s %7s'):format('', 'ms per step', '1 idle', 'dflt idle',
      'ratio', '1 busy', 'dflt busy', 'ratio'))
for _, r in ipairs(rows) do
  local i, b = r.idle, r.busy
  print(('%-6s %-32s %9.2f %9.2f %6.2fx %9.2f %9.2f %6.2fx'):format(r.kind, r.name, i[1],
        i[DEFAULT], i[DEFAULT] / i[1], b and b[1] or 0 / 0, b and b[DEFAULT] or 0 / 0,
        b and b[DEFAULT] / b[1] or 0 / 0))
  if two then print(('%-39s %9.2f (2 threads, idle)'):format('', i[2])) end
end
print()
