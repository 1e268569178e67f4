-- bench/mm.lua — torch.mm against the same product as one bare OpenBLAS call, at 1 and 2
-- threads: the seed cell's products (a Linear 28/128 -> 512 at batch 100: forward, input
-- gradient, weight gradient) and larger ones. With more than one thread core/blas.c splits a
-- product of up to 2^28 multiply-adds (2^18 per thread at least) into one single-threaded GEMM
-- per thread on a slab of C; the bare call is OpenBLAS's own threading. In microseconds per
-- product (best of a few repetitions of a batch of calls) and the ratio bare / torch.mm (> 1:
-- torch.mm is faster).
local torch = require 'torch'

local shapes = {  -- m, n, k (C is m x n), ta: A given transposed (a weight gradient's dY^T X)
  { 100, 512, 28, false, 'seed x2h forward' },
  { 100, 512, 128, false, 'seed h2h forward' },
  { 100, 128, 512, false, 'seed h2h input grad' },
  { 512, 128, 100, true, 'seed h2h weight grad' },
  { 64, 2048, 512, false, 'H512 gates, batch 64' },
  { 256, 256, 256, false, 'square 256' },
  { 1000, 1000, 1000, false, 'square 1000' },
}

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

local old = torch.getnumthreads()
print('mm: torch.mm vs one bare OpenBLAS sgemm of the same shape, us per product')
print(('%-22s %16s %3s %10s %10s %11s'):format('', 'm x n x k', 'thr', 'torch.mm', 'OpenBLAS',
                                              'BLAS/mm'))
for _, s in ipairs(shapes) do
  local m, n, k, ta = s[1], s[2], s[3], s[4]
  local calls = math.max(1, math.min(50, math.floor(2e8 / (m * n * k))))
  local a = ta and torch.randn(k, m):t() or torch.randn(m, k)
  local b, out = torch.randn(k, n), torch.Tensor(m, n)
  local list = {}
  for i = 1, calls do list[i] = { m = m, n = n, k = k, ta = ta, tb = false, beta = 0 } end
  for _, nt in ipairs({ 1, 2 }) do
    torch.setnumthreads(nt)
    local mm = best_us(calls, function() for _ = 1, calls do torch.mm(out, a, b) end end)
    torch._gemmReplay(list, 1)
    local bare = torch._gemmReplay(list, 7) / calls * 1e6
    print(('%-22s %16s %3d %10.1f %10.1f %10.2fx'):format(s[5], ('%dx%dx%d'):format(m, n, k), nt,
          mm, bare, bare / mm))
  end
end
torch.setnumthreads(old)
