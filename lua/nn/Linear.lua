-- nn.Linear(inputSize, outputSize [, bias = true]) (or [, {bias = true}]): y = x W^T + b,
-- batch-first; a 1-D input is a batch of one. Weight (outputSize x inputSize) and bias are PyTorch's shapes and names.
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local Linear, parent = torch.class('nn.Linear', 'nn.Module')

function Linear:__init(inputSize, outputSize, bias)
  check.arg('Linear', 3, bias, 'boolean|table?', 2)
  parent.__init(self)
  if type(bias) == 'table' then   -- {bias = false}, PyTorch's keyword
    bias = check.options('nn.Linear', bias, { bias = true }, 3).bias
  end
  if math.type(inputSize) ~= 'integer' or math.type(outputSize) ~= 'integer' or inputSize < 1 or outputSize < 1 then
    error(('nn.Linear: expected positive integer sizes, got %s and %s'):format(inputSize, outputSize), 2)
  end
  self.inputSize, self.outputSize = inputSize, outputSize
  -- the constructor's errors (too large) are raised as nn.Linear's
  self.weight = check.call('nn.Linear', 2, pcall(torch.Tensor, outputSize, inputSize))
  self.gradWeight = torch.Tensor(outputSize, inputSize)
  if bias ~= false then
    self.bias = torch.Tensor(outputSize)
    self.gradBias = torch.Tensor(outputSize)
  end
  self:reset()
  self:_linkGradients()
end

-- Torch7's reset(stdv): uniform in [-stdv, stdv], stdv = 1/sqrt(inputSize) by default. This
-- is also PyTorch's default (kaiming_uniform with a = sqrt(5) gives the same bound for the
-- weight, and its bias bound is 1/sqrt(fan_in)), so either convention gives one distribution.
function Linear:reset(stdv)
  stdv = stdv or 1 / math.sqrt(self.inputSize)
  torch.noGrad(function()
    self.weight:uniform(-stdv, stdv)
    if self.bias then self.bias:uniform(-stdv, stdv) end
  end)
  return self
end
Linear.resetTorch7 = Linear.reset
-- PyTorch's reset_parameters(): the same bound, named for readers coming from PyTorch.
function Linear:resetPyTorch() return self:reset(1 / math.sqrt(self.inputSize)) end

function Linear:updateOutput(input)
  if not torch.isTensor(input) then
    error(('nn.Linear: expected a tensor input, got %s'):format(torch.typename(input) or type(input)), 3)
  end
  local d = input:dim()
  if (d ~= 1 and d ~= 2) or input:size(d) ~= self.inputSize then
    error(('nn.Linear(%d -> %d): expected input of size [N x %d] or [%d], got [%s]')
          :format(self.inputSize, self.outputSize, self.inputSize, self.inputSize,
                  table.concat(input:size():totable(), ' x ')), 3)
  end
  nn._checkDevice(self, input, self.weight, 3)
  -- one op (and one autograd node) whose gradients go straight into gradWeight/gradBias
  self.output = torch.linear(input, self.weight, self.bias)
  return self.output
end

function Linear:__tostring__()
  return ('nn.Linear(%d -> %d%s)'):format(self.inputSize, self.outputSize,
                                          self.bias and '' or ' without bias')
end

return Linear
