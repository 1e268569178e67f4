-- torch.autocast — bf16 autocast on the CPU (PyTorch's torch.autocast('cpu', dtype=torch.bfloat16)):
-- while it is on, every float32 matrix product on the host (Linear, mm/bmm/matmul/addmm, the
-- LSTM/GRU/RNN input and recurrent products, the convolutions' GEMMs, forward and backward)
-- takes bf16-rounded operands and accumulates in fp32 (core/dnnl.c); parameters, gradients,
-- optimiser state, pointwise math and reductions stay fp32.
--
--   torch.autocast('bfloat16', fn, ...)              runs fn(...) under autocast, returns its results
--   local ac <close> = torch.autocast('bfloat16')    on until ac goes out of scope (or ac:close())
--   torch.isAutocastEnabled(), torch.getAutocastDtype()
--
-- Nesting restores the previous state; an error inside fn restores it too, then propagates.
-- Autograd nodes recorded under autocast run their backward products under it as PyTorch's do,
-- wherever backward is called; nn modules' explicit backward follows the state at the call
-- (call it inside the region, as the seed does). CUDA tensors pass through in fp32.
return function(torch, core)
  local check = require 'torch.check'
  local set = core._autocastSet
  torch._autocastSet = nil

  local dtypes = { bfloat16 = true, bf16 = true }

  local Region = { __name = 'torch.autocast' }
  Region.__index = Region
  function Region:close()
    if not self.closed then
      self.closed = true
      set(self.prev)
    end
  end
  Region.__close = Region.close

  local function restore(prev, ok, ...)
    set(prev)
    if not ok then error((...), 0) end
    return ...
  end

  function torch.autocast(dtype, fn, ...)
    check.arg('autocast', 1, dtype, 'string')
    if not dtypes[dtype] then
      error(("bad argument #1 to 'autocast' (expected 'bfloat16', got '%s')"):format(dtype), 2)
    end
    check.arg('autocast', 2, fn, 'callable?')
    if fn == nil then
      return setmetatable({ prev = set(true), closed = false }, Region)
    end
    return restore(set(true), pcall(fn, ...))
  end

  function torch.getAutocastDtype()
    return 'bfloat16'
  end
end
