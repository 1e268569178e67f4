-- Device tensors (gpu/alloc.cu, gpu/copy.cu, core/copy.c): types, host <-> device copies with
-- dtype conversion and broadcasting, element access, printing, the caching allocator and its
-- out-of-memory retry, and the clear errors for mixed devices. Every device result is compared
-- with the host's. Pending without a device; in the `make CUDA=emu` build the device is the
-- host emulation (gpu/emu), and the names say so.
local torch = require 'torch'
local H = require 'helpers'

local gpu_it = H.gpu_it

describe('CUDA tensors', function()
  gpu_it('t:cuda() keeps the dtype and the values, t:float() and t:cpu() come home', function()
    local a = torch.randn(3, 4)
    local g = a:cuda()
    assert.are.equal('torch.CudaTensor', g:type())
    assert.is_true(g:isCuda())
    assert.is_false(a:isCuda())
    assert.are.equal(1, g:getDevice())
    assert.are.equal(-1, a:getDevice())
    assert.are.same({ 3, 4 }, g:size():totable())
    H.close(g:float(), a, 0, 0)
    assert.are.equal('torch.FloatTensor', g:float():type())
    assert.are.equal('torch.FloatTensor', g:cpu():type())
    assert.are.equal('torch.CudaDoubleTensor', a:double():cuda():type())
    assert.are.equal('torch.CudaLongTensor', torch.LongTensor({ 1, 2 }):cuda():type())
    assert.are.equal('torch.CudaByteTensor', torch.ByteTensor({ 1, 2 }):cuda():type())
    assert.is_true(g:cuda() == g, 'cuda() of a device tensor is itself')
  end)

  gpu_it('converts dtypes on the device as the host does', function()
    local a = torch.DoubleTensor({ -1.5, 0.5, 2.7, 300, -300, 0 / 0 })
    local g = a:cuda()
    for _, name in ipairs({ 'Float', 'Long', 'Byte' }) do
      local cname = name == 'Float' and 'torch.CudaTensor' or 'torch.Cuda' .. name .. 'Tensor'
      local on_device = g:type(cname)
      assert.are.equal(cname, on_device:type())
      H.close(on_device:cpu():double(), a:type('torch.' .. name .. 'Tensor'):double(), 0, 0)
    end
    -- and across: a host Double into a device Long, a device Float into a host Byte
    local l = torch.CudaLongTensor(6):copy(a)
    H.close(l:cpu():double(), a:long():double(), 0, 0)
    local b = torch.ByteTensor(6):copy(a:cuda():cudaFloat())
    H.close(b:double(), a:float():byte():double(), 0, 0)
  end)

  gpu_it('copies non-contiguous views both ways and broadcasts', function()
    local a = torch.randn(5, 6)
    local g = a:cuda()
    H.close(g:t():contiguous():float(), a:t():contiguous(), 0, 0)
    H.close(g:narrow(2, 2, 3):float(), a:narrow(2, 2, 3), 0, 0)
    -- host view into device view
    local d = torch.CudaTensor(6, 5):zero()
    d:narrow(1, 2, 3):copy(a:t():narrow(1, 1, 3))
    local h = torch.zeros(6, 5)
    h:narrow(1, 2, 3):copy(a:t():narrow(1, 1, 3))
    H.close(d:float(), h, 0, 0)
    -- device view into a host view
    local out = torch.zeros(4, 6)
    out:narrow(1, 2, 2):copy(g:narrow(1, 4, 2))
    assert.are.equal(0, out[1]:abs():max())
    H.close(out:narrow(1, 2, 2), a:narrow(1, 4, 2), 0, 0)
    -- broadcast a row across a device matrix
    local row = torch.randn(6)
    local m = torch.CudaTensor(3, 6):copy(row:view(1, 6):cuda())
    for i = 1, 3 do H.close(m[i]:float(), row, 0, 0) end
    -- overlapping views of one device storage go through a temporary
    local s = torch.range(1, 8):cuda()
    s:narrow(1, 2, 7):copy(s:narrow(1, 1, 7))
    H.close(s:float(), torch.FloatTensor({ 1, 1, 2, 3, 4, 5, 6, 7 }), 0, 0)
  end)

  gpu_it('fill, zero, element access, clone, reshape, cat on the device', function()
    local g = torch.CudaTensor(2, 3):fill(2.5)
    H.close(g:float(), torch.FloatTensor(2, 3):fill(2.5), 0, 0)
    g[1][2] = 7
    assert.are.equal(7, g[1][2])
    g:zero()
    assert.are.equal(0, g[1][2])
    local l = torch.CudaLongTensor(3):fill(2 ^ 53 + 1)
    assert.are.equal(2 ^ 53 + 1, l:cpu()[1])
    local a = torch.randn(2, 3)
    local c = a:cuda():t():clone()
    assert.is_true(c:isCuda() and c:isContiguous())
    H.close(c:float(), a:t(), 0, 0)
    H.close(a:cuda():t():reshape(6):float(), a:t():reshape(6), 0, 0)
    local b = torch.randn(4, 3)
    local cat = torch.cat({ a:cuda(), b:cuda() }, 1)
    assert.is_true(cat:isCuda())
    H.close(cat:float(), torch.cat({ a, b }, 1), 0, 0)
  end)

  gpu_it('torch.CudaTensor(...) takes the host forms', function()
    H.close(torch.CudaTensor({ { 1, 2 }, { 3, 4 } }):float(), torch.FloatTensor({ { 1, 2 }, { 3, 4 } }), 0, 0)
    local e = torch.CudaTensor(2, 3)
    assert.are.equal('torch.CudaTensor', e:type())
    assert.are.same({ 2, 3 }, e:size():totable())
    assert.are.equal(0, torch.CudaTensor():nElement())
    H.matches(H.error_of(torch.CudaTensor, torch.FloatStorage(4)), 'torch.CudaTensor', 'host%-only')
  end)

  gpu_it('prints with the device type name', function()
    local s = tostring(torch.CudaTensor({ 1.5, 2 }))
    H.matches(s, '1%.5000', '%[torch%.CudaTensor of size 2%]')
    H.matches(tostring(torch.CudaLongTensor(0)), 'torch%.CudaLongTensor')
  end)

  gpu_it('refuses to mix devices, naming both', function()
    local g, a = torch.CudaTensor(3):fill(1), torch.FloatTensor(3):fill(1)
    H.matches(H.error_of(function() return g + a end), 'one device', 'CUDA device 1', 'the CPU')
    H.matches(H.error_of(function() return torch.add(a, g) end), 'one device')
    -- an existing host result for device inputs
    H.matches(H.error_of(function() return torch.add(a, g, g) end), 'result tensor is on the CPU')
  end)

  gpu_it('the caching allocator reuses freed blocks and reports its counters', function()
    collectgarbage()
    collectgarbage()
    local before = torch.cuda.memoryAllocated()
    local t = torch.CudaTensor(1000)
    assert.is_true(torch.cuda.memoryAllocated() >= before + 4000)
    assert.is_true(torch.cuda.memoryReserved() >= torch.cuda.memoryAllocated())
    t = nil
    collectgarbage()
    collectgarbage()
    assert.are.equal(before, torch.cuda.memoryAllocated())
    local mallocs = torch.cuda.cudaMallocCount()
    for _ = 1, 20 do
      local x = torch.CudaTensor(1000)
      x = nil
      collectgarbage()
    end
    assert.are.equal(mallocs, torch.cuda.cudaMallocCount(), 'blocks of one size come from the cache')
    torch.cuda.emptyCache()
    assert.is_true(torch.cuda.maxMemoryAllocated() >= 4000)
  end)

  gpu_it('a loop making big device temporaries stays in flat memory without collectgarbage()',
         function()
    collectgarbage()
    local base, peak = torch.cuda.memoryAllocated(), 0
    local host = torch.allocatorStats().allocatedBytes
    for _ = 1, 100 do
      local t = torch.CudaTensor(2000000):fill(1)   -- 8 MB each, 800 MB in all
      peak = math.max(peak, torch.cuda.memoryAllocated() - base)
      t = nil
    end
    -- paced by live bytes like host tensors (lua/lauxt.c), not by running out of device memory
    assert.is_true(peak < 200 * 1024 * 1024, ('peak %d MB'):format(peak // (1024 * 1024)))
    -- and the sized constructor allocates on the device only
    assert.is_true(torch.allocatorStats().allocatedBytes - host < 1024 * 1024)
    collectgarbage()
    torch.cuda.emptyCache()
  end)

  gpu_it('TF32 is off by default and can be switched', function()
    assert.is_false(torch.cuda.allowTF32())
    assert.is_true(torch.cuda.allowTF32(true))
    assert.is_false(torch.cuda.allowTF32(false))
    H.matches(H.error_of(torch.cuda.allowTF32, 1), 'boolean')
  end)

  gpu_it('zerosLike / onesLike keep the device', function()
    local z = torch.zerosLike(torch.CudaTensor(2, 3):fill(5))
    assert.are.equal('torch.CudaTensor', z:type())
    assert.are.equal(0, z:float():abs():sum())
    assert.are.equal(6, torch.onesLike(torch.CudaDoubleTensor(2, 3)):double():sum())
  end)

  gpu_it('a torch.autograd.Function written in Lua runs on device tensors', function()
    local cube = torch.autograd.Function {
      forward = function(ctx, x)
        ctx.x = x
        return torch.cmul(torch.cmul(x, x), x)
      end,
      backward = function(ctx, g)
        -- a host gradient for a device input is moved to the input's device
        local host = torch.cmul(torch.cmul(ctx.x, ctx.x), g):mul(3):float()
        return host
      end,
    }
    local a = torch.randn(4, 3)
    local xc = a:cuda():requiresGrad_()
    cube(xc):sum():backward()
    assert.is_true(xc.grad:isCuda())
    local xh = a:clone():requiresGrad_()
    cube(xh):sum():backward()
    H.close(xc.grad:float(), xh.grad, 1e-6, 1e-6)
  end)

  gpu_it('nonzero, randperm, multinomial and bernoulli(p) run through the host, as the host', function()
    local a = torch.FloatTensor({ { 0, 1, 0 }, { 2, 0, 3 } })
    local nz = torch.nonzero(a:cuda())
    assert.are.equal('torch.CudaLongTensor', nz:type())
    H.close(nz:cpu():double(), torch.nonzero(a):double(), 0, 0)
    torch.manualSeed(7)
    local hp = torch.randperm(10)
    torch.manualSeed(7)
    local dp = torch.randperm(torch.CudaLongTensor(), 10)
    assert.is_true(dp:isCuda())
    H.close(dp:cpu():double(), hp:double(), 0, 0)
    local probs = torch.FloatTensor({ { 0.1, 0.6, 0.3 }, { 0.5, 0.25, 0.25 } })
    torch.manualSeed(3)
    local hm = torch.multinomial(probs, 5, true)
    torch.manualSeed(3)
    local dm = torch.multinomial(probs:cuda(), 5, true)
    assert.is_true(dm:isCuda())
    H.close(dm:cpu():double(), hm:double(), 0, 0)
    local p = torch.rand(4, 5)
    torch.manualSeed(11)
    local hb = torch.FloatTensor(4, 5):bernoulli(p)
    torch.manualSeed(11)
    local db = torch.CudaTensor(4, 5):bernoulli(p:cuda())
    H.close(db:float(), hb, 0, 0)
    H.matches(H.error_of(function() return torch.CudaTensor(4, 5):bernoulli(p) end), 'one device')
  end)

  gpu_it('setDevice and getDevice count from 1', function()
    assert.are.equal(1, torch.cuda.getDevice())
    torch.cuda.setDevice(1)
    H.matches(H.error_of(torch.cuda.setDevice, torch.cuda.deviceCount() + 1), 'cuda.setDevice', 'out of range')
  end)
end)

-- The out-of-memory path needs a small device: only the emulation can be made one
-- (LUATORCH_EMU_MEMORY, in MiB), in a child process.
describe('CUDA out of memory (emulated device)', function()
  local exe = os.getenv('LUATORCH_EXE') or './build/luatorch'
  local emulated = torch.cuda.isAvailable() and torch.cuda.isEmulated()
  local function run(code)
    local f = io.popen(('LUATORCH_EMU_MEMORY=16 %s -e %q 2>&1; echo "rc=$?"'):format(exe, code))
    local out = f:read('a')
    f:close()
    return out
  end
  local check = emulated and it or function(name) pending(name .. ' (needs the emulated device)') end

  check('frees the cache and collects garbage before giving up', function()
    -- 3 x 6 MiB in a 16 MiB device: the first two are garbage when the third is asked for
    local out = run([[
      for i = 1, 3 do local t = torch.CudaTensor(6 * 2^18):fill(i) end
      local keep = torch.CudaTensor(6 * 2^18):fill(4)
      io.write('sum ', keep:float():sum())]])
    H.matches(out, ('sum %d'):format(4 * 6 * 2 ^ 18), 'rc=0')
  end)

  check('then raises a clear error naming the size', function()
    local out = run([[
      local a = torch.CudaTensor(3 * 2^20)
      local ok, err = pcall(torch.CudaTensor, 3 * 2^20)
      io.write(tostring(ok), ' ', err)]])
    H.matches(out, 'false', 'out of memory allocating 12582912 bytes', 'allocated by luatorch', 'rc=0')
  end)
end)
