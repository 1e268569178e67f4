-- examples/lstm_mnist.lua — the seed model with the fused C nn.LSTM, as one nn.Sequential:
-- LSTM(28 -> 128) over the 28 rows (batch first), the last step, Linear(128 -> 10).
--   luatorch examples/lstm_mnist.lua [--dataset fashion] [--iters 6000] [--help]
local here = (arg and arg[0] or ''):match('^(.*)/') or '.'
package.path = here .. '/?.lua;' .. package.path
local nn = require 'nn'
local seed = require 'seed'

local opt = seed.options(arg, 'The seed model with the fused nn.LSTM, on MNIST read row by row')
local model = nn.Sequential()
  :add(nn.LSTM(28, opt.hidden, 1, { batchFirst = true }))
  :add(nn.Select(2, -1))
  :add(nn.Linear(opt.hidden, 10))
seed.print(model)
seed.run(model, opt, function(images) return images:view(-1, 28, 28) end)
