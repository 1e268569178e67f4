-- The thread pool (core/pool.c): results bit-identical at 1, 2 and 3 threads wherever chunk
-- boundaries cannot change the arithmetic (GEMM splits: within rounding, OpenBLAS picks kernels
-- by size), the pool's own
-- contract (every chunk once, nested calls inline, lt_in_parallel), a stress run of the
-- recurrent sweeps at 2 threads, torch.setnumthreads' bad counts, and the thread count from
-- LUATORCH_NUM_THREADS / OMP_NUM_THREADS in a child process.
local torch = require 'torch'
local nn = require 'nn'
local H = require 'helpers'

local exe = os.getenv('LUATORCH_EXE') or './build/luatorch'

-- every element equal, bit for bit (NaN-free inputs)
local function same_bits(a, b)
  assert.same(a:size():totable(), b:size():totable())
  local d = torch.noGrad(function() return (a:double() - b:double()):abs():max() end)
  assert.equal(0, d)
end

-- fn() at each thread count, results compared with the first's
local function at_counts(counts, fn, compare)
  local n0 = torch.getnumthreads()
  local first
  local ok, err = pcall(function()
    for _, nt in ipairs(counts) do
      torch.setnumthreads(nt)
      torch.manualSeed(7)
      local r = fn()
      if first then compare(first, r, nt) else first = r end
    end
  end)
  torch.setnumthreads(n0)
  if not ok then error(err, 0) end
end

local function all_same(a, b)
  for k, v in pairs(a) do same_bits(v, b[k]) end
end

local function rnn_run(make, B)
  return function()
    torch.manualSeed(5)
    local m = make()
    local x = torch.randn(B, 30, 24):requiresGrad_()
    local y = m(x)
    torch.cmul(y, y):sum():backward()
    local r = { out = y:detach():clone(), dx = x.grad:clone() }
    for i, p in ipairs(m:parameters()) do
      r[i] = p.grad:clone()
    end
    return r, m
  end
end

describe('results at 1, 2 and 3 threads', function()
  it('pointwise: sigmoid(a * b + a) over 1M floats and a strided (transposed) operand', function()
    local a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    at_counts({ 1, 2, 3 }, function()
      return { torch.sigmoid(torch.cmul(a, b) + a), torch.add(a, b:t()), torch.exp(a:t()) }
    end, all_same)
  end)

  it('full and dim reductions: sums over fixed blocks, combined in block order', function()
    local a = torch.randn(3000, 700)
    at_counts({ 1, 2, 3 }, function()
      return { torch.Tensor({ a:sum() }), torch.Tensor({ a:double():sum() }), a:sum(2), a:max(1),
               torch.Tensor({ a:norm() }) }
    end, all_same)
  end)

  it('copies, cat, index_select and random draws', function()
    local a, b = torch.randn(700, 900), torch.randn(900, 300)
    local idx = torch.LongTensor(5000):random(1, 700)
    at_counts({ 1, 2, 3 }, function()
      return { a:t():contiguous(), torch.cat({ a, b:t() }, 1), a:index(1, idx),
               torch.randn(1000000), torch.rand(300, 3000) }
    end, all_same)
  end)

  -- OpenBLAS picks its kernels by the product's size (a slab may take its small-matrix path),
  -- so a split product agrees with the whole within rounding; one count gives the same bits
  it('mm / addmm / bmm: within rounding across counts, the same bits at one count', function()
    local a, b, c = torch.randn(513, 300), torch.randn(300, 701), torch.randn(513, 701)
    local x, y = torch.randn(4, 200, 300), torch.randn(4, 300, 150)
    local function run()
      return { torch.mm(a, b), torch.addmm(c, a, b), torch.mm(b:t(), a:t()), torch.bmm(x, y),
               torch.mm(a:double(), b:double()) }
    end
    at_counts({ 1, 2, 3 }, run, function(r1, r)
      for k, v in ipairs(r1) do
        local tol = v:type() == 'torch.DoubleTensor' and 1e-12 or 1e-5
        H.close(r[k], v, tol, tol)
      end
    end)
    at_counts({ 2, 2, 3, 3 }, run, function() end)
    for _, nt in ipairs({ 2, 3 }) do at_counts({ nt, nt }, run, all_same) end
  end)

  it('cross entropy, forward and backward', function()
    local x, y = torch.randn(4000, 100), torch.LongTensor(4000):random(1, 100)
    at_counts({ 1, 2, 3 }, function()
      local xl = x:clone():requiresGrad_()
      local l = nn.CrossEntropyCriterion()(xl, y)
      l:backward()
      return { l:detach():view(1), xl.grad }
    end, all_same)
  end)

  it('convolution, pooling and batch norm: outputs and input gradients', function()
    local x = torch.randn(16, 8, 32, 32)
    at_counts({ 1, 2, 3 }, function()
      torch.manualSeed(3)
      local m = nn.Sequential():add(nn.SpatialConvolution(8, 16, 3, 3, 1, 1, 1, 1))
        :add(nn.SpatialBatchNormalization(16)):add(nn.SpatialMaxPooling(2, 2))
      local xl = x:clone():requiresGrad_()
      local y = m(xl)
      y:sum():backward()
      return { y:detach(), xl.grad }
    end, all_same)
  end)

  -- oneDNN's convolutions cut the batch in parts, one single-threaded primitive each (core/
  -- conv_dnnl.c): outputs and input gradients the same bits, the weight gradient summed part by
  -- part (within rounding); uneven parts, a grouped and a transposed one; one call counted each
  it('oneDNN convolutions split by batch: the same outputs and input gradients, weight gradients within rounding', function()
    local _, have_dnnl = torch._convBackend()
    if not have_dnnl then return pending('built without oneDNN') end
    local old = torch._convBackend('onednn')
    local ok, err = pcall(function()
      for _, c in ipairs({ { 6, 16, 5, {} }, { 16, 16, 3, { groups = 4, padding = 1 } },
                           { 16, 8, 3, { stride = 2 }, true } }) do
        for _, N in ipairs({ 5, 7, 8 }) do
          local x = torch.randn(N, c[1], 12, 12)
          at_counts({ 1, 2, 3 }, function()
            torch.manualSeed(3)
            local m = (c[5] and nn.ConvTranspose2d or nn.Conv2d)(c[1], c[2], c[3], c[4])
            local xl = x:clone():requiresGrad_()
            local calls = select(3, torch._convBackend())
            local y = m(xl)
            torch.cmul(y, y):sum():backward()
            assert.equal(calls + 3, select(3, torch._convBackend()))
            return { y:detach(), xl.grad, m.weight.grad }
          end, function(a, b, nt)
            same_bits(a[1], b[1])
            same_bits(a[2], b[2])
            local scale = torch.abs(a[3]):max()
            assert.is_true(torch.abs(a[3] - b[3]):max() <= 1e-5 * scale,
                           ('N %d, %d threads: weight gradient off by %g'):format(N, nt,
                             torch.abs(a[3] - b[3]):max()))
          end)
        end
      end
    end)
    torch._convBackend(old)
    if not ok then error(err, 0) end
  end)

  -- nn.LSTM / nn.GRU: outputs and every gradient, the biases' included (summed per group of 8
  -- batch rows, groups added in order, whatever the blocks)
  local function rnn_compare(make, B)
    local run = rnn_run(make, B)
    at_counts({ 1, 2, 3 }, function()
      local r, m = run()
      r.names = {}
      for i, p in ipairs(m:parameters()) do r.names[i] = p:dim() end
      return r
    end, function(a, b)
      same_bits(a.out, b.out)
      same_bits(a.dx, b.dx)
      for i = 1, #a.names do same_bits(a[i], b[i]) end
    end)
  end

  it('nn.LSTM (fused): outputs and every gradient, 1 vs 2 vs 3 threads', function()
    rnn_compare(function() return nn.LSTM(24, 64, 1, { batchFirst = true }) end, 96)
  end)

  it('nn.GRU: outputs and every gradient, 1 vs 2 vs 3 threads', function()
    rnn_compare(function() return nn.GRU(24, 64, 1, { batchFirst = true }) end, 96)
  end)

  -- core/rnn.c's layers, whose all-steps products are split over the pool: each part runs on
  -- the engine the whole product takes (dnnl.h lt_gemm_rule_set), where a part of under 2^20
  -- multiply-adds used to go to OpenBLAS and the whole to oneDNN
  it('nn.GRU, 2 layers, bidirectional, and a bidirectional nn.LSTM: 1 vs 2 vs 3 threads', function()
    rnn_compare(function()
      return nn.GRU(24, 40, 2, { batchFirst = true, bidirectional = true })
    end, 130)
    rnn_compare(function()
      return nn.LSTM(24, 12, 1, { batchFirst = true, bidirectional = true })
    end, 200)
  end)

  -- per-step products small enough for OpenBLAS, whose result depends on the rows per call:
  -- run group by group of 8 rows at any count (lt_sweep_gemm)
  it('small layers (products on OpenBLAS): nn.RNN, nn.GRU, nn.LSTM at 1, 2, 3 threads', function()
    rnn_compare(function() return nn.RNN(24, 64, 2, { batchFirst = true }) end, 96)
    rnn_compare(function() return nn.GRU(24, 32, 1, { batchFirst = true, bidirectional = true }) end, 64)
    rnn_compare(function() return nn.LSTM(24, 32, 2, { batchFirst = true }) end, 64)
  end)
end)

describe('the pool', function()
  local n0
  before_each(function() n0 = torch.getnumthreads() end)
  after_each(function() torch.setnumthreads(n0) end)

  it('runs every chunk once, nested calls inline on the chunk\'s thread, lt_in_parallel inside only', function()
    for _, nt in ipairs({ 1, 2, 3 }) do
      torch.setnumthreads(nt)
      for _, n in ipairs({ 0, 1, 2, 7, 100 }) do
        local r = torch._poolProbe(n, 3)
        assert.equal(n, r.ranOnce)
        assert.equal(3 * n, r.nestedRan)
        assert.is_true(r.ok)
        assert.is_true(r.threads <= nt)
        assert.is_true(n == 0 or r.threads >= 1)
      end
    end
    torch.setnumthreads(1)
    assert.equal(1, torch._poolProbe(50, 0).threads)
  end)

  it('uses a worker at 2 threads (within a few tries: the machine may be busy)', function()
    torch.setnumthreads(2)
    local most = 0
    for _ = 1, 200 do
      most = math.max(most, torch._poolProbe(64, 0).threads)
      if most == 2 then break end
    end
    assert.equal(2, most)
  end)

  it('rejects bad probe sizes with an error', function()
    H.matches(H.error_of(torch._poolProbe, -1), '_poolProbe', 'chunks')
  end)

  it('stress: the LSTM and GRU sweeps at 2 threads give the same bits every time', function()
    torch.setnumthreads(2)
    for _, make in ipairs({ function() return nn.LSTM(24, 32, 2, { batchFirst = true }) end,
                            function() return nn.GRU(24, 32, 1, { batchFirst = true }) end }) do
      local run = rnn_run(make, 64)
      local first = run()
      for _ = 1, 25 do
        local r = run()
        for k, v in pairs(first) do same_bits(v, r[k]) end
      end
    end
  end)
end)

describe('torch.setnumthreads', function()
  it('rejects 0, negative, huge and fractional counts, naming the function and the count', function()
    local n0 = torch.getnumthreads()
    H.matches(H.error_of(torch.setnumthreads, 0), 'bad argument #1 to', 'setnumthreads', 'got 0')
    H.matches(H.error_of(torch.setnumthreads, -3), 'setnumthreads', 'got %-3')
    H.matches(H.error_of(torch.setnumthreads, 1e9), 'setnumthreads', 'got 1000000000')
    H.matches(H.error_of(torch.setnumthreads, 2.5), 'setnumthreads', 'integer')
    H.matches(H.error_of(torch.setnumthreads, 'x'), 'setnumthreads')
    assert.equal(n0, torch.getnumthreads())
    torch.setnumthreads(4096)
    assert.equal(4096, torch.getnumthreads())
    assert.equal(3, torch._poolProbe(3, 0).ranOnce)
    torch.setnumthreads(n0)
  end)
end)

describe('the default thread count in a child process', function()
  local function count(env)
    local p = assert(io.popen(('env -u LUATORCH_NUM_THREADS -u OMP_NUM_THREADS %s %s -e "print(torch.getnumthreads())" 2>&1')
                              :format(env, exe)))
    local out = p:read('a')
    p:close()
    return tonumber(out:match('(%d+)')), out
  end
  local function cpus()
    local p = io.popen('nproc')
    local n = p and tonumber(p:read('l'))
    if p then p:close() end
    return n
  end

  it('LUATORCH_NUM_THREADS, then OMP_NUM_THREADS, then the CPUs available', function()
    assert.equal(3, (count('LUATORCH_NUM_THREADS=3')))
    assert.equal(3, (count('LUATORCH_NUM_THREADS=3 OMP_NUM_THREADS=5')))
    assert.equal(5, (count('OMP_NUM_THREADS=5')))
    assert.equal(4, (count('OMP_NUM_THREADS=4,2')))           -- OpenMP's nested list: the first
    assert.equal(cpus(), (count('')))
    assert.equal(cpus(), (count('LUATORCH_NUM_THREADS=0')))   -- not a count: ignored
    assert.equal(5, (count('LUATORCH_NUM_THREADS=abc OMP_NUM_THREADS=5')))
  end)

  it('a child started with LUATORCH_NUM_THREADS=2 trains an LSTM as one with 1 (bits)', function()
    local src = [[-e "torch.manualSeed(1); local m = nn.LSTM(4, 16); local x = torch.randn(20, 40, 4); ]] ..
                [[local y = m(x); y:sum():backward(); print(string.format('%.17g %.17g', y:sum(), m.weight_hh_l0.grad:sum()))"]]
    local function run(env)
      local p = assert(io.popen(('env %s %s %s 2>&1'):format(env, exe, src)))
      local out = p:read('a')
      p:close()
      return out
    end
    local one = run('LUATORCH_NUM_THREADS=1')
    assert.matches('^%S+ %S+', one)
    assert.equal(one, run('LUATORCH_NUM_THREADS=2'))
  end)
end)
