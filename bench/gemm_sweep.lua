-- bench/gemm_sweep.lua — the sweep behind core/dnnl.c's engine rule: bare float32 GEMMs (torch._gemmReplay)
-- of 96 shapes (m, n, k in 1..512; A plain and transposed) on OpenBLAS and on oneDNN, us per
-- product and the ratio OpenBLAS / oneDNN (> 1: oneDNN faster). `luatorch bench/gemm_sweep.lua [threads]`
local torch = require 'torch'
local shapes = {}
for _, m in ipairs{1, 4, 10, 32, 100, 512} do for _, n in ipairs{10, 64, 128, 512} do for _, k in ipairs{10, 28, 128, 512} do
  shapes[#shapes+1] = {m, n, k} end end end
local nt = tonumber(arg[1] or 1)
torch.setnumthreads(nt)
local res = {}
for _, s in ipairs(shapes) do
  for _, ta in ipairs{false, true} do
  local macs = s[1]*s[2]*s[3]
  local calls = math.max(1, math.min(200, math.floor(3e7 / macs)))
  local list = {}
  for c = 1, calls do list[c] = { m = s[1], n = s[2], k = s[3], ta = ta, tb = false, beta = 0 } end
  local t = {}
  for _, e in ipairs{'openblas', 'onednn'} do
    torch.setGemmEngine(e)
    torch._gemmReplay(list, 1)
    t[e] = torch._gemmReplay(list, 5) / calls * 1e6
  end
  print(('%5d %5d %5d %s %9d  ob %9.2f  dnnl %9.2f  ratio ob/dnnl %.2f'):format(s[1], s[2], s[3], ta and 'T' or 'N', macs, t.openblas, t.onednn, t.openblas / t.onednn))
  end
end
