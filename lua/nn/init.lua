-- nn — neural network modules with Torch7's API on luatorch's autograd:
-- `local nn = require 'nn'` returns a table (no globals). Modules written from tensor ops get
-- their backward from autograd; containers chain Torch7-style.
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
-- issue 22: convolutions, pooling, normalisation, padding and up-sampling
require 'nn.conv'
require 'nn.norm'
require 'nn.spatial'

nn.torch = torch
return nn
