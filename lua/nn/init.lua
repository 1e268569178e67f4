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
-- recurrent layers (issue 16): nn.RNN, nn.GRU, nn.RNNCell, nn.GRUCell
require 'nn.RNN'
require 'nn.Criterion'
require 'nn.criterions'

nn.torch = torch
return nn
