-- torch.cuda: device queries and t:cuda() (lua/lcuda.c, gpu/). Without a GPU (or in a build
-- without CUDA) isAvailable() is false and every device call raises a clear error; the
-- H.gpu_it tests are reported pending there, and run where a device is present (in the
-- `make CUDA=emu` build the device is the host emulation, and their names say so).
local torch = require 'torch'
local H = require 'helpers'

describe('torch.cuda', function()
  it('exists, and says whether CUDA was compiled in', function()
    assert.is_table(torch.cuda)
    assert.is_boolean(torch.cuda.isBuilt())
    assert.is_boolean(torch.cuda.isAvailable())
  end)

  if not H.has_gpu() then
    describe('without a GPU', function()
      it('isAvailable() is false and deviceCount() is 0, never an error', function()
        assert.is_false(torch.cuda.isAvailable())
        assert.are.equal(0, torch.cuda.deviceCount())
        assert.is_string(torch.cuda.whyUnavailable())
      end)

      it('names the reason', function()
        local why = torch.cuda.whyUnavailable()
        if torch.cuda.isBuilt() then
          H.matches(why, 'cudaGetDeviceCount: ')
        else
          H.matches(why, 'luatorch was built without CUDA')
        end
      end)

      it('device calls raise an error naming the function', function()
        H.matches(H.error_of(torch.cuda.synchronize), 'cuda.synchronize: no CUDA device is available')
        H.matches(H.error_of(torch.cuda.getDeviceProperties, 1),
                  'cuda.getDeviceProperties: no CUDA device is available')
        H.matches(H.error_of(torch.cuda.memGetInfo), 'cuda.memGetInfo: no CUDA device is available')
      end)

      it('t:cuda() raises a clear error', function()
        local err = H.error_of(function() return torch.ones(2, 3):cuda() end)
        H.matches(err, 'cuda: no CUDA device is available %(')
      end)
    end)
  end

  it('checks its arguments', function()
    H.matches(H.error_of(torch.cuda.getDeviceProperties, 'x'), 'getDeviceProperties')
    H.matches(H.error_of(function() return torch.Tensor.cuda(42) end), 'cuda')
  end)

  H.gpu_it('deviceCount() counts at least one device', function()
    assert.is_true(torch.cuda.isBuilt())
    assert.is_true(torch.cuda.deviceCount() >= 1)
    assert.is_nil(torch.cuda.whyUnavailable())
  end)

  H.gpu_it('getDeviceProperties(i) describes each device, counted from 1', function()
    for i = 1, torch.cuda.deviceCount() do
      local p = torch.cuda.getDeviceProperties(i)
      assert.is_string(p.name)
      assert.is_true(#p.name > 0)
      assert.is_true(p.major >= 3 and p.minor >= 0)
      assert.is_true(p.totalMemory > 0 and p.multiProcessorCount > 0)
      assert.are.equal(32, p.warpSize)
      assert.is_string(p.pciBusID)
    end
    local n = torch.cuda.deviceCount()
    H.matches(H.error_of(torch.cuda.getDeviceProperties, 0), 'out of range')
    H.matches(H.error_of(torch.cuda.getDeviceProperties, n + 1), 'out of range')
  end)

  H.gpu_it('synchronize() and memGetInfo() work', function()
    torch.cuda.synchronize()
    local free, total = torch.cuda.memGetInfo()
    assert.is_true(total > 0 and free >= 0 and free <= total)
  end)

  H.gpu_it('isEmulated() says whether the device is the host emulation', function()
    assert.is_boolean(torch.cuda.isEmulated())
    local name = torch.cuda.getDeviceProperties(1).name
    if torch.cuda.isEmulated() then
      assert.are.equal('luatorch CUDA emulator (host)', name)
    else
      assert.is_nil(name:find('emulator', 1, true), name)
    end
  end)

  H.gpu_it('t:cuda() round-trips a tensor through the device', function()
    local a = torch.randn(3, 5)
    local g = a:cuda()
    assert.are.equal('torch.CudaTensor', g:type())
    assert.is_true(g:isCuda())
    assert.are.same({ 3, 5 }, g:size():totable())
    local back = g:float()
    assert.are.equal('torch.FloatTensor', back:type())
    assert.is_false(back:isCuda())
    H.close(back, a, 0, 0)
    -- a non-contiguous view goes and comes back with the same values
    local t = a:t()
    H.close(t:cuda():float(), t, 0, 0)
    -- host-side changes after the copy don't reach the device copy
    a:fill(7)
    assert.are.equal(0, g:float():eq(7):sum())
  end)
end)
