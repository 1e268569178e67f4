-- examples/cnn_mnist.lua — LeNet-5 on MNIST (or Fashion-MNIST with --dataset fashion): two
-- convolutions with max pooling, then three linear layers, trained with the seed examples'
-- loop (examples/seed.lua: options, data, SGD, evaluation, checkpoints, log and plot).
--   conv 6@5x5 (padding 2) -> ReLU -> max pool 2x2 -> conv 16@5x5 -> ReLU -> max pool 2x2
--   -> 16*5*5 -> Linear 120 -> ReLU -> Linear 84 -> ReLU -> Linear 10
--   luatorch examples/cnn_mnist.lua [--dataset fashion] [--iters 6000] [--help]
local here = (arg and arg[0] or ''):match('^(.*)/') or '.'
package.path = here .. '/?.lua;' .. package.path
local nn = require 'nn'
local seed = require 'seed'

local opt = seed.options(arg, 'LeNet-5 (convolutions and pooling) on MNIST images')
local model = nn.Sequential()
  :add(nn.Conv2d(1, 6, 5, { padding = 2 }))      -- 6 x 28 x 28
  :add(nn.ReLU())
  :add(nn.MaxPool2d(2))                          -- 6 x 14 x 14
  :add(nn.Conv2d(6, 16, 5))                      -- 16 x 10 x 10
  :add(nn.ReLU())
  :add(nn.MaxPool2d(2))                          -- 16 x 5 x 5
  :add(nn.View(-1, 16 * 5 * 5))
  :add(nn.Linear(16 * 5 * 5, 120))
  :add(nn.ReLU())
  :add(nn.Linear(120, 84))
  :add(nn.ReLU())
  :add(nn.Linear(84, 10))
seed.print(model)
-- the batches are already images, B x 1 x 28 x 28
seed.run(model, opt, function(images) return images end)
