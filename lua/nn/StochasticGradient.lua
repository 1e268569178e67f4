-- nn.StochasticGradient(module, criterion) — Torch7's trainer: plain SGD, one example at a
-- time, over a dataset with :size() and dataset[i] = {input, target}.
--   trainer.learningRate (0.01), learningRateDecay (0: lr / (1 + epoch * decay)),
--   maxIteration (25 epochs; 0 = until stopped), shuffleIndices (true: one permutation drawn
--   at the start, as Torch7), hookExample(trainer, example), hookIteration(trainer, epoch,
--   error), verbose (true: the mean error of each epoch is printed). train() returns the last
--   epoch's mean error.
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local StochasticGradient = torch.class('nn.StochasticGradient')

function StochasticGradient:__init(module, criterion)
  check.arg('StochasticGradient', 1, module, 'module', 2)
  if not torch.isTypeOf(criterion, 'nn.Criterion') then
    check.argerror('StochasticGradient', 2, ('nn.Criterion expected, got %s')
                   :format(torch.typename(criterion) or type(criterion)), 2)
  end
  self.learningRate = 0.01
  self.learningRateDecay = 0
  self.maxIteration = 25
  self.shuffleIndices = true
  self.module = module
  self.criterion = criterion
  self.verbose = true
end

local function dataset_size(dataset)
  local ok, n = pcall(function() return dataset:size() end)
  local count = ok and math.tointeger(n)
  if not count or count < 1 then
    error(('nn.StochasticGradient:train: the dataset needs a method size() giving the number '
           .. 'of examples (a whole number, at least 1); %s'):format(ok and ('it gave ' .. tostring(n))
           or tostring(n)), 3)
  end
  return count
end

-- One example: Torch7's forward, updateGradInput and accUpdateGradParameters(lr), here as
-- backward into zeroed gradients then updateParameters(lr) (the same step; the gradients are
-- left holding this example's).
local function step(module, criterion, input, target, lr)
  local err = criterion:forward(module:forward(input), target)
  module:zeroGradParameters()
  module:backward(input, criterion:backward(module.output, target))
  module:updateParameters(lr)
  return err
end

function StochasticGradient:train(dataset)
  local n = dataset_size(dataset)
  local module, criterion = self.module, self.criterion
  local order = torch.randperm(n):long()
  if not self.shuffleIndices then
    for t = 1, n do order[t] = t end
  end
  local lr, iteration = self.learningRate, 1
  print('# StochasticGradient: training')  -- these two lines print even when not verbose, as Torch7's
  while true do
    local total = 0
    for t = 1, n do
      local example = dataset[order[t]]
      if type(example) ~= 'table' or example[1] == nil or example[2] == nil then
        error(('nn.StochasticGradient:train: dataset[%d] must be {input, target}, got %s')
              :format(order[t], torch.typename(example) or type(example)), 2)
      end
      total = total + step(module, criterion, example[1], example[2], lr)
      if self.hookExample then self.hookExample(self, example) end
    end
    local currentError = total / n
    if self.hookIteration then self.hookIteration(self, iteration, currentError) end
    if self.verbose then print('# current error = ' .. currentError) end
    iteration = iteration + 1
    lr = self.learningRate / (1 + iteration * self.learningRateDecay)
    if self.maxIteration > 0 and iteration > self.maxIteration then
      print('# StochasticGradient: you have reached the maximum number of iterations')
      print('# training error = ' .. currentError)
      return currentError
    end
  end
end

return StochasticGradient
