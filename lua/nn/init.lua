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
require 'nn.Criterion'
require 'nn.criterions'
-- issue 22's Torch7 module set (Torch7 class names, PyTorch's names as aliases)
require 'nn.transfer'
require 'nn.simple'
require 'nn.tables2'
require 'nn.criterions2'
require 'nn.WeightNorm'
require 'nn.StochasticGradient'

nn.torch = torch
rawset(_G, 'nn', nn)
if rawget(_G, 'torch') == nil then rawset(_G, 'torch', torch) end
return nn
