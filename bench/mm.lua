-- bench/mm.lua — torch.mm against the same product as one bare OpenBLAS call, one bare oneDNN
-- call (torch.setGemmEngine), torch.mm under torch.autocast('bfloat16'), and PyTorch's
-- torch.mm in fp32 and under its CPU bf16 autocast (when /usr/bin/python3 imports torch), at
-- 1 and 2 threads: the seed cell's products
-- (a Linear 28/128 -> 512 at batch 100: forward, input gradient, weight gradient) and larger
-- ones. With more than one thread core/blas.c splits a product of up to 2^28 multiply-adds
-- (2^18 per thread at least) into one single-threaded GEMM per thread on a slab of C; the bare
-- call is OpenBLAS's own threading. In microseconds per product (best of a few repetitions of a
-- batch of calls), and the ratios floor / torch.mm (floor: the faster bare engine) and
-- PyTorch / torch.mm (> 1: ours is faster), and PyTorch bf16 / ours under autocast (a second
-- table, one group of columns per PyTorch).
local torch = require 'torch'
local here = debug.getinfo(1, 'S').source:match('^@(.*/)') or './'
local pytorch, common = dofile(here .. 'pytorch.lua'), dofile(here .. 'common.lua')

local shapes = {  -- m, n, k (C is m x n), ta: A given transposed (a weight gradient's dY^T X)
  { 100, 512, 28, false, 'seed x2h forward' },
  { 100, 512, 128, false, 'seed h2h forward' },
  { 100, 128, 512, false, 'seed h2h input grad' },
  { 512, 128, 100, true, 'seed h2h weight grad' },
  { 64, 2048, 512, false, 'H512 gates, batch 64' },
  { 256, 256, 256, false, 'square 256' },
  { 1000, 1000, 1000, false, 'square 1000' },
}
local THREADS = common.thread_counts()  -- LUATORCH_BENCH_THREADS=n: one thread count

local function calls_for(s)  -- a batch of about 2e8 multiply-adds, 1 to 50 calls
  return math.max(1, math.min(50, math.floor(2e8 / (s[1] * s[2] * s[3]))))
end

local function best_us(calls, fn)
  fn()
  local best = math.huge
  for _ = 1, 7 do
    local t0 = torch.clock()
    fn()
    best = math.min(best, torch.clock() - t0)
  end
  return best / calls * 1e6
end

-- PyTorch's torch.mm into a preallocated result, same shapes and layouts, one process per
-- thread count and interpreter (bench/pytorch.lua)
local function pytorch_us()
  local rows = {}
  for _, s in ipairs(shapes) do
    rows[#rows + 1] = ('(%d,%d,%d,%s,%d)'):format(s[1], s[2], s[3], s[4] and 'True' or 'False',
                                                 calls_for(s))
  end
  local py = ([[
import sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
for i, (m, n, k, ta, calls) in enumerate([%s]):
    a = torch.randn(k, m).t() if ta else torch.randn(m, k)
    b, out = torch.randn(k, n), torch.empty(m, n)
    def run():
        for _ in range(calls):
            torch.mm(a, b, out=out)
    def run_bf16():
        with torch.autocast('cpu', dtype=torch.bfloat16):
            for _ in range(calls):
                torch.mm(a, b)
    for j, fn in enumerate((run, run_bf16)):
        fn()
        best = 1e9
        for _ in range(7):
            t0 = time.perf_counter(); fn(); best = min(best, time.perf_counter() - t0)
        print(2 * i + j + 1, best / calls * 1e6, flush=True)
]]):format(table.concat(rows, ','))
  return pytorch.run(py, THREADS)
end

local old = torch.getnumthreads()
local rows = {}
for i, s in ipairs(shapes) do
  local m, n, k, ta = s[1], s[2], s[3], s[4]
  local calls = calls_for(s)
  local a = ta and torch.randn(k, m):t() or torch.randn(m, k)
  local b, out = torch.randn(k, n), torch.Tensor(m, n)
  local list = {}
  for c = 1, calls do list[c] = { m = m, n = n, k = k, ta = ta, tb = false, beta = 0 } end
  for _, nt in ipairs(THREADS) do
    torch.setnumthreads(nt)
    local function mm_all() for _ = 1, calls do torch.mm(out, a, b) end end
    local mm = best_us(calls, mm_all)
    local ac = best_us(calls, function() torch.autocast('bfloat16', mm_all) end)
    local bare = {}
    for _, e in ipairs({ 'openblas', 'onednn' }) do
      if pcall(torch.setGemmEngine, e) then
        torch._gemmReplay(list, 1)
        bare[e] = torch._gemmReplay(list, 7) / calls * 1e6
      end
    end
    torch.setGemmEngine('auto')
    rows[#rows + 1] = { i = i, s = s, nt = nt, mm = mm, ac = ac, ob = bare.openblas,
                        dnnl = bare.onednn }
  end
end
torch.setnumthreads(old)
local py = pytorch_us()

print('mm: torch.mm vs one bare sgemm of the same shape on OpenBLAS and on oneDNN, and under bf16 '
      .. 'autocast; us per product')
print(('%-22s %14s %3s %9s %9s %9s %9s %8s'):format('', 'm x n x k', 'thr', 'torch.mm', 'OpenBLAS',
      'oneDNN', 'autocast', 'floor/mm'))
local fmt, ratio = common.fmt, common.ratio
local function shape(r) return ('%-22s %14s %3d'):format(r.s[5], ('%dx%dx%d'):format(r.s[1], r.s[2],
                                                         r.s[3]), r.nt) end
for _, r in ipairs(rows) do
  print(('%s %9.1f %9.1f %9s %9.1f %8s'):format(shape(r), r.mm, r.ob, fmt(r.dnnl, '%.1f'), r.ac,
        ratio(math.min(r.ob, r.dnnl or math.huge), r.mm)))
end

print('\nmm against PyTorch\'s torch.mm, fp32 and under its CPU bf16 autocast, us per product; '
      .. 'ratios PyTorch / luatorch (> 1: ours is faster)')
local head = { ('%-22s %14s %3s %9s %9s'):format('', 'm x n x k', 'thr', 'torch.mm', 'autocast') }
for _, pt in ipairs(py) do
  head[#head + 1] = ('%8s %11s %9s %11s'):format(pt.short, pt.short .. ' bf16', pt.short .. '/mm',
                                                 pt.short .. 'bf/ac')
end
print(table.concat(head, ' '))
for _, r in ipairs(rows) do
  local cols = { ('%s %9.1f %9.1f'):format(shape(r), r.mm, r.ac) }
  for _, pt in ipairs(py) do
    local p = pt.res and pt.res[(2 * r.i - 1) .. ':' .. r.nt]
    local pb = pt.res and pt.res[(2 * r.i) .. ':' .. r.nt]
    cols[#cols + 1] = ('%8s %11s %9s %11s'):format(fmt(p, '%.1f'), fmt(pb, '%.1f'), ratio(p, r.mm),
                                                   ratio(pb, r.ac))
  end
  print(table.concat(cols, ' '))
end
print(pytorch.legend(py))
