-- nn.Dropout(p = 0.5): in training, zeroes each element with probability p and scales the
-- rest by 1/(1-p) (inverted dropout, Torch7's v2 and PyTorch); in evaluation, the identity.
-- The mask comes from the torch RNG, so torch.manualSeed reproduces it.
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local Dropout, parent = torch.class('nn.Dropout', 'nn.Module')

function Dropout:__init(p)
  check.arg('Dropout', 1, p, 'number?', 2)
  parent.__init(self)
  self.p = p or 0.5
  if self.p < 0 or self.p >= 1 then
    error(('nn.Dropout: p must be in [0, 1), got %s'):format(self.p), 2)
  end
end

function Dropout:updateOutput(input)
  if not self.train or self.p == 0 then
    self.output = input
    return input
  end
  self.noise = torch.noGrad(function()
    local mask = torch.Tensor():typeAs(input):resizeAs(input)
    local ok, err = pcall(mask.bernoulli, mask, 1 - self.p)
    if not ok then
      -- a device without a bernoulli kernel: the host draws the same numbers (one Philox
      -- stream for both), the mask moves over
      if not (input:isCuda() and tostring(err):find('not implemented for CUDA', 1, true)) then
        error(err, 0)
      end
      mask = torch.Tensor():type(nn._hostTypeOf[input:type()]):resizeAs(input)
             :bernoulli(1 - self.p):type(input:type())
    end
    return mask:div(1 - self.p)
  end)
  self.output = torch.cmul(input, self.noise)
  return self.output
end

function Dropout:_clearState() self.noise = nil end  -- the last mask, for clearState()

function Dropout:__tostring__() return ('nn.Dropout(%g)'):format(self.p) end

return Dropout
