-- nn.Criterion — the base of the losses.
--   Torch7:  loss = crit:forward(input, target) (a number); gradInput = crit:backward(input, target)
--   PyTorch: loss = crit(input, target) (a 0-dim tensor with a graph); loss:backward()
-- A criterion written with autograd implements :loss(input, target) -> 0-dim tensor; one
-- written by hand overrides updateOutput / updateGradInput as in Torch7.
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local Criterion = torch.class('nn.Criterion')

-- Whether an elementwise criterion's target pairs with its input: the same sizes once the
-- size-1 dims are dropped ([N x 1] with [N] or [1 x N]: the same elements in the same order,
-- Torch7's rule). Torch7 paired any two tensors of one element count, so [4 x 3] against
-- [3 x 4] trained on mismatched pairs without a word; PyTorch broadcasts [N x 1] against [N]
-- to N x N and only warns. Returns true, or false and the end of the error message.
function nn._pairsWith(input, target)
  if not torch.isTensor(target) or target:nElement() ~= input:nElement() then return false, '' end
  local function squeezed(t)
    local s = {}
    for _, n in ipairs(t:size():totable()) do if n ~= 1 then s[#s + 1] = n end end
    return table.concat(s, 'x')
  end
  if squeezed(input) == squeezed(target) then return true end
  return false, " (as many elements, in another shape: reshape the target to the input's "
                .. 'shape if its elements pair with the input\'s in order)'
end

function Criterion:__init()
  self.gradInput = torch.Tensor()
  self.output = 0
  self.sizeAverage = true
end

-- A loss is a 0-dim tensor; reductions give a plain number when nothing requires grad.
local function as_tensor(loss)
  if type(loss) == 'number' then return torch.DoubleTensor({ loss }):squeeze() end
  return loss
end

-- (input, target) of every entry point; errors inside the loss are raised as the
-- criterion's (nn._named: 'nn.CrossEntropyCriterion: size mismatch, ...')
local function check_args(fname, input, target)
  if nn._tensorOrTable(input) and (type(target) == 'number' or nn._tensorOrTable(target)) then
    return   -- the quick test (see Module:forward)
  end
  check.arg(fname, 1, input, 'tensor|table', 2)
  check.arg(fname, 2, target, 'tensor|number|table', 2)
end

local function loss_of(self, input, target)
  return as_tensor(self:loss(input, target))
end

function Criterion:updateOutput(input, target)
  check_args('updateOutput', input, target)
  self._lossTensor = nn._named(self, 1, pcall(loss_of, self, input, target))
  self.output = self._lossTensor:item()
  return self.output
end

function Criterion:forward(input, target)
  check_args('forward', input, target)
  if torch.isGradEnabled() and self.updateGradInput == Criterion.updateGradInput then
    local x = nn._named(self, 1, pcall(nn._detached, input))   -- a freed tensor fails here
    self._graphInput = x
    return self:updateOutput(x, target)
  end
  self._graphInput = nil
  return self:updateOutput(input, target)
end

local function grad_input(self)
  local x, loss = self._graphInput, self._lossTensor
  if x == nil or loss == nil then
    error(('%s: backward needs forward(input, target) first (with gradients enabled)')
          :format(torch.typename(self)), 3)
  end
  for _, t in ipairs(nn._flatten(x)) do t.grad = nil end
  if loss.requiresGrad then loss:backward() end
  local function grads(v)
    if torch.isTensor(v) then return v.grad or nn._zerosLike(v) end
    local r = {}
    for k, e in pairs(v) do r[k] = grads(e) end
    return r
  end
  self.gradInput = grads(x)
  self._lossTensor = nil
  return self.gradInput
end

function Criterion:updateGradInput(input, target)
  check_args('updateGradInput', input, target)
  local g = nn._named(self, 1, pcall(grad_input, self))
  return g
end

function Criterion:backward(input, target)
  check_args('backward', input, target)
  return self:updateGradInput(input, target)
end

-- PyTorch style: a 0-dim loss tensor whose graph reaches the model's parameters.
function Criterion:__call(input, target)
  check_args('__call', input, target)
  local loss = nn._named(self, 1, pcall(loss_of, self, input, target))
  self.output = loss:item()
  return loss
end

-- clearState(): drops the last gradInput and the recorded graph (Torch7's criterion:clearState())
function Criterion:clearState()
  self.gradInput = torch.Tensor()
  self._graphInput, self._lossTensor = nil, nil
  return self
end

function Criterion:type(typename)
  nn._convert(self, typename, {})
  return self
end
function Criterion:float() return self:type('torch.FloatTensor') end
function Criterion:double() return self:type('torch.DoubleTensor') end
function Criterion:bfloat16() return self:type('torch.BFloat16Tensor') end
-- cuda(): its tensors (class weights) to the device, as the model's (cunn's criterion:cuda())
function Criterion:cuda() return self:type('torch.CudaTensor') end
function Criterion:cpu()
  return self:type(function(cur) return (cur:gsub('^torch%.Cuda(%a*)Tensor$', function(d)
    return 'torch.' .. (d == '' and 'Float' or d) .. 'Tensor' end)) end)
end

function Criterion:__tostring__() return torch.typename(self) end

return Criterion
