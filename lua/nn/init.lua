-- nn — neural network modules with Torch7's API on luatorch's autograd:
-- `local nn = require 'nn'` returns the table and sets the global `nn`, as Torch7's did.
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
require 'nn.Criterion'
require 'nn.criterions'
-- issue 16 (training utilities)
require 'nn.Embedding'

-- Every layer's own updateOutput, updateGradInput and accGradParameters (Torch7's public
-- per-layer entry points) raise an error from inside as the layer's ('nn.Select: ...',
-- nn._named), as forward and backward do; the backward ones check their arguments too. Layers
-- defined later (torch.class('nn.MyLayer', 'nn.Module')) are left as written.
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
for _, name in ipairs({ 'Container', 'Sequential', 'ConcatTable', 'ParallelTable', 'Linear',
                        'Sigmoid', 'Tanh', 'ReLU', 'LeakyReLU', 'SoftMax', 'LogSoftMax',
                        'Identity', 'View', 'Reshape', 'Narrow', 'Select', 'Transpose',
                        'JoinTable', 'SplitTable', 'SelectTable', 'NarrowTable', 'CAddTable',
                        'CMulTable', 'LookupTable', 'Dropout', 'LSTM', 'LSTMCell' }) do
  local cls = nn[name]
  for _, m in ipairs({ 'updateOutput', 'updateGradInput', 'accGradParameters', 'backward' }) do
    local fn = rawget(cls, m)
    if fn then cls[m] = guarded(m, fn) end
  end
end

nn.torch = torch
rawset(_G, 'nn', nn)  -- the global too, as Torch7's packages (see lua/torch/init.lua)
return nn
