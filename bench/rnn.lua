-- bench/rnn.lua — one training step (forward + backward + SGD update, lr 0.1) of the recurrent
-- modules that run on core/rnn.c, in ms, against their GEMM floor and PyTorch:
--   nn.GRU, nn.RNN (tanh), bidirectional nn.LSTM: nn.Sequential(module(I, H, 1, {batchFirst}),
--              nn.Select(2, -1), nn.Linear(D*H, 10)), cross entropy on a fixed batch
--   char-rnn   examples/char_rnn.lua's model: nn.Embedding(V, 512), nn.LSTM(512, 512, 2),
--              nn.Reshape(-1, 512), nn.Linear(512, V), cross entropy over every character
--              (V = 65, batch 50, sequence 50; SGD here where the example uses Adam)
--   floor      the step's matrix products alone: the GEMMs the recurrent layers issued
--              (torch._gemmTrace while one step runs) plus the Linear head's three, as bare
--              calls of the same shapes at the same thread count (torch._gemmReplay), once all
--              on OpenBLAS and once all on oneDNN; the faster of the two
--   PyTorch    the same model, loss and SGD step (torch.nn.GRU / RNN / LSTM(bidirectional) /
--              Embedding), with each PyTorch found (bench/pytorch.lua): Debian's 1.13 and a
--              PyPI 2.x in build/venv-torch (`make bench-venv`), n/a where absent
-- at 1 and 2 threads; best of a few repetitions. LUATORCH_BENCH_QUICK=1 runs the seed shape
-- only, LUATORCH_BENCH_THREADS=n one thread count; LUATORCH_BENCH_CPU=1 times process CPU time
-- instead of wall time (os.clock, torch._gemmReplay's cpu flag, Python's
-- time.process_time), which a loaded machine disturbs less: meaningful at one thread only.
local torch = require 'torch'
local nn = require 'nn'
local optim = require 'optim'
local here = debug.getinfo(1, 'S').source:match('^@(.*/)') or './'
local pytorch, common = dofile(here .. 'pytorch.lua'), dofile(here .. 'common.lua')

local CPU = os.getenv('LUATORCH_BENCH_CPU') == '1'
local clock = CPU and os.clock or torch.clock
local CLASSES, VOCAB = 10, 65
local configs = {}
local function shape(label, I, H, B, T, steps, reps)
  for _, kind in ipairs({ 'GRU', 'RNN', 'biLSTM' }) do
    configs[#configs + 1] = { name = ('%-6s %s'):format(kind, label), kind = kind, I = I, H = H,
                              L = 1, B = B, T = T, steps = steps, reps = reps }
  end
end
shape('seed 28->128, B100, T28', 28, 128, 100, 28, 10, 5)
if not os.getenv('LUATORCH_BENCH_QUICK') then
  shape('H512, B64, T50', 512, 512, 64, 50, 1, 3)
  configs[#configs + 1] = { name = 'char-rnn 2x512, B50, T50', kind = 'charrnn', I = 512,
                            H = 512, L = 2, B = 50, T = 50, steps = 1, reps = 3 }
end
local THREADS = common.thread_counts()

local function best_ms(cfg, step) return common.best_ms(step, cfg.steps, cfg.reps, clock) end

-- the model, the batch and the head's GEMMs ({m, n, k, ta, tb, beta} as the trace gives them)
local function model_of(cfg)
  torch.manualSeed(1)
  if cfg.kind == 'charrnn' then
    local model = nn.Sequential():add(nn.Embedding(VOCAB, cfg.H))
      :add(nn.LSTM(cfg.H, cfg.H, cfg.L, { batchFirst = true })):add(nn.Reshape(-1, cfg.H))
      :add(nn.Linear(cfg.H, VOCAB))
    local x = torch.LongTensor(cfg.B, cfg.T):random(1, VOCAB)
    local y = torch.LongTensor(cfg.B * cfg.T):random(1, VOCAB)
    local R = cfg.B * cfg.T
    return model, x, y, {
      { m = R, n = VOCAB, k = cfg.H, ta = false, tb = true, beta = 0 },
      { m = VOCAB, n = cfg.H, k = R, ta = true, tb = false, beta = 1 },
      { m = R, n = cfg.H, k = VOCAB, ta = false, tb = false, beta = 0 } }
  end
  local D = cfg.kind == 'biLSTM' and 2 or 1
  local opts = { batchFirst = true, bidirectional = D == 2 }
  local rnn = cfg.kind == 'GRU' and nn.GRU(cfg.I, cfg.H, cfg.L, opts)
           or cfg.kind == 'RNN' and nn.RNN(cfg.I, cfg.H, cfg.L, opts)
           or nn.LSTM(cfg.I, cfg.H, cfg.L, opts)
  local model = nn.Sequential():add(rnn):add(nn.Select(2, -1)):add(nn.Linear(D * cfg.H, CLASSES))
  local x, y = torch.randn(cfg.B, cfg.T, cfg.I), torch.LongTensor(cfg.B):random(1, CLASSES)
  return model, x, y, {
    { m = cfg.B, n = CLASSES, k = D * cfg.H, ta = false, tb = true, beta = 0 },
    { m = CLASSES, n = D * cfg.H, k = cfg.B, ta = true, tb = false, beta = 1 },
    { m = cfg.B, n = D * cfg.H, k = CLASSES, ta = false, tb = false, beta = 0 } }
end

local function step_of(cfg)
  local model, x, y, head = model_of(cfg)
  local opt = optim.SGD(model:parameters(), { lr = 0.1 })
  return common.train_step(model, nn.CrossEntropyCriterion(), opt, x, y), head
end

-- the floor on each engine alone (bench/lstm.lua does the same); the faster one is the floor
local function floor_ms(cfg, step, head)
  local calls = torch._gemmTrace(step)
  for _, c in ipairs(head) do calls[#calls + 1] = c end
  local ms, engine = {}, torch.getGemmEngine()
  for _, e in ipairs({ 'openblas', 'onednn' }) do
    if e == 'openblas' or pcall(torch.setGemmEngine, e) then
      torch.setGemmEngine(e)
      torch._gemmReplay(calls, 1)
      ms[e] = torch._gemmReplay(calls, math.max(3, cfg.reps * cfg.steps), CPU) * 1000
    end
  end
  torch.setGemmEngine(engine)
  return math.min(ms.openblas, ms.onednn or math.huge), #calls
end

-- PyTorch: every configuration in one python process per thread count (bench/pytorch.lua)
local function pytorch_ms()
  local lines = {}
  for _, c in ipairs(configs) do
    lines[#lines + 1] = ("('%s',%d,%d,%d,%d,%d,%d,%d)"):format(c.kind, c.I, c.H, c.L, c.B, c.T,
                                                              c.steps, c.reps)
  end
  local py = ([[
import sys, time, torch
cfgs = [%s]
V, C = %d, %d
clock = time.process_time if %s else time.perf_counter
torch.set_num_threads(int(sys.argv[1]))
class Head(torch.nn.Module):
    def __init__(self, kind, I, H, L):
        super().__init__()
        self.kind = kind
        if kind == 'charrnn':
            self.emb = torch.nn.Embedding(V, H)
            self.rnn = torch.nn.LSTM(H, H, L, batch_first=True)
            self.lin = torch.nn.Linear(H, V)
        else:
            bi = kind == 'biLSTM'
            cls = {'GRU': torch.nn.GRU, 'RNN': torch.nn.RNN, 'biLSTM': torch.nn.LSTM}[kind]
            self.rnn = cls(I, H, L, batch_first=True, bidirectional=bi)
            self.lin = torch.nn.Linear(H * (2 if bi else 1), C)
    def forward(self, x):
        if self.kind == 'charrnn':
            out, _ = self.rnn(self.emb(x))
            return self.lin(out.reshape(-1, out.shape[2]))
        out, _ = self.rnn(x)
        return self.lin(out[:, -1])
for k, (kind, I, H, L, B, T, steps, reps) in enumerate(cfgs):
    torch.manual_seed(1)
    m = Head(kind, I, H, L)
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    if kind == 'charrnn':
        x, y = torch.randint(0, V, (B, T)), torch.randint(0, V, (B * T,))
    else:
        x, y = torch.randn(B, T, I), torch.randint(0, C, (B,))
    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(m(x), y).backward()
        opt.step()
    step()
    best = 1e9
    for _ in range(reps):
        t0 = clock()
        for _ in range(steps):
            step()
        best = min(best, (clock() - t0) / steps)
    print(k + 1, best * 1000, flush=True)
]]):format(table.concat(lines, ','), VOCAB, CLASSES, CPU and 'True' or 'False')
  return pytorch.run(py, THREADS)
end

local old_threads = torch.getnumthreads()
local rows = {}
for ci, cfg in ipairs(configs) do
  for _, nt in ipairs(THREADS) do
    torch.setnumthreads(nt)
    local step, head = step_of(cfg)
    local ms = best_ms(cfg, step)
    local floor, ncalls = floor_ms(cfg, step, head)
    rows[#rows + 1] = { ci = ci, cfg = cfg, nt = nt, ms = ms, floor = floor, ncalls = ncalls }
    collectgarbage()
  end
end
torch.setnumthreads(old_threads)
local py = pytorch_ms()

print(('rnn: one training step (forward + backward + SGD), ms of %s; floor = the same GEMMs as '
       .. 'bare calls, all on OpenBLAS or all on oneDNN, the faster; OpenBLAS kernels: %s%s'):format(CPU and 'process CPU time' or 'wall time',
       torch._blasCorename(), os.getenv('OPENBLAS_CORETYPE') and ' (OPENBLAS_CORETYPE)' or ''))
local head = { ('%-31s %3s %9s %9s %8s %6s'):format('', 'thr', 'luatorch', 'floor', 'ms/floor',
                                                    'GEMMs') }
for _, pt in ipairs(py) do head[#head + 1] = ('%9s %11s'):format(pt.short, pt.short .. '/ms') end
print(table.concat(head, ' '))
for _, r in ipairs(rows) do
  local cols = { ('%-31s %3d %9.2f %9.2f %7.2fx %6d'):format(r.cfg.name, r.nt, r.ms, r.floor,
                                                             r.ms / r.floor, r.ncalls) }
  for _, pt in ipairs(py) do
    local pms = pt.res and pt.res[r.ci .. ':' .. r.nt]
    cols[#cols + 1] = ('%9s %11s'):format(common.fmt(pms), common.ratio(pms, r.ms))
  end
  print(table.concat(cols, ' '))
end
print(pytorch.legend(py))
