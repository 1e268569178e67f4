-- nn — neural network modules with Torch7's API on luatorch's autograd:
-- `local nn = require 'nn'` returns the table and, as Torch7's, also sets the global nn (and
-- torch, when it is not set), so Torch7 scripts that say `require 'nn'` run unchanged.
-- Modules written from tensor ops get their backward from autograd; containers chain
-- Torch7-style.
local torch = require 'torch'

local nn = {}
package.loaded.nn = nn  -- torch.class('nn.X', ...) in the files below registers into this table

require 'nn.Module'
require 'nn.Container'
require 'nn.Linear'
require 'nn.activations'
require 'nn.shape'
require 'nn.tables'
require 'nn.LookupTable'
require 'nn.Dropout'
require 'nn.LSTM'
-- recurrent layers (issue 16): nn.RNN, nn.GRU, nn.RNNCell, nn.GRUCell
require 'nn.RNN'
require 'nn.Criterion'
require 'nn.criterions'
-- issue 16 (training utilities)
require 'nn.Embedding'
-- issue 22's Torch7 module set (Torch7 class names, PyTorch's names as aliases)
require 'nn.transfer'
require 'nn.simple'
require 'nn.tables2'
require 'nn.criterions2'
require 'nn.WeightNorm'
require 'nn.StochasticGradient'
-- issue 22: convolutions, pooling, normalisation, padding and up-sampling
require 'nn.conv'
require 'nn.norm'
require 'nn.spatial'
-- issue 22: the remaining Torch7 modules (channel dropout and softmax, sub-sampling, unpooling ...)
require 'nn.more'
-- the last of them (weight-normalised, sparse and partial linear layers, connection-table and
-- locally connected convolutions, subtractive normalisation, the class-simplex criterion)
require 'nn.rest'
-- the dpnn modules torch/nn took in (CAdd, Constant, OneHot, ZeroGrad, PrintSize, Collapse, Convert,
-- CAveTable, MixtureTable), SpatialClassNLLCriterion, divisive and contrastive normalisation
require 'nn.rest2'
-- attention: nn.MultiheadAttention and the Transformer layers (PyTorch's names and semantics)
require 'nn.attention'
-- issue 19: data-parallel training over MPI (loads the distributed module when constructed)
require 'nn.DistributedDataParallel'

-- Every layer's own updateOutput, updateGradInput and accGradParameters (Torch7's public
-- per-layer entry points) raise an error from inside as the layer's ('nn.Select: ...',
-- nn._named), as forward and backward do; the backward ones check their arguments too. This
-- covers every nn.Module class defined by the files above (criterions check their own);
-- layers defined later (torch.class('nn.MyLayer', 'nn.Module')) are left as written.
local function guarded(fname, fn)
  if fname == 'updateOutput' then
    -- no argument check here: forward checked it, and each layer refuses a wrong input by
    -- its own name; an error from inside is named by the module
    return function(self, ...)
      local out = nn._named(self, 1, pcall(fn, self, ...))
      return out
    end
  end
  return function(self, input, gradOutput, scale, ...)
    nn._checkBackward(fname, input, gradOutput, scale)
    local out = nn._named(self, 1, pcall(fn, self, input, gradOutput, scale, ...))
    return out
  end
end
-- a torch.class class derived from nn.Module (its parent: the __index of its metatable)
local function is_module_class(cls)
  while type(cls) == 'table' do
    if rawget(cls, '__typename') == 'nn.Module' then return true end
    local meta = getmetatable(cls)
    cls = type(meta) == 'table' and rawget(meta, '__index') or nil
  end
  return false
end
local wrapped = {}   -- PyTorch's names are the same classes: wrap each once
for _, cls in pairs(nn) do
  if type(cls) == 'table' and not wrapped[cls] and cls ~= nn.Module and is_module_class(cls) then
    wrapped[cls] = true
    for _, m in ipairs({ 'updateOutput', 'updateGradInput', 'accGradParameters', 'backward' }) do
      local fn = rawget(cls, m)
      if fn then cls[m] = guarded(m, fn) end
    end
  end
end

nn.torch = torch
rawset(_G, 'nn', nn)  -- the global too, as Torch7's packages (see lua/torch/init.lua)
if rawget(_G, 'torch') == nil then rawset(_G, 'torch', torch) end
return nn
