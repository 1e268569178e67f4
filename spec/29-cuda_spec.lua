-- torch.cuda: device queries and t:cuda() (lua/lcuda.c, gpu/). Without a GPU (or in a build
-- without CUDA) isAvailable() is false and every device call raises a clear error; the
-- H.gpu_it tests are reported pending there, and run only where a device is present.
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

  H.gpu_it('t:cuda() says device tensors are not implemented yet', function()
    H.matches(H.error_of(function() return torch.ones(2):cuda() end), 'not implemented yet')
  end)
end)
