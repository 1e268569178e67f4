-- nn.DistributedDataParallel(module [, {bucketMB = 25, root = 0}]) — data-parallel training
-- over MPI (require 'distributed'; dist.init() is called if it was not). Each rank runs the
-- same script on its own shard of the data:
--   * at construction every parameter is broadcast from rank `root`, so all ranks start equal
--     whatever their random initialisation;
--   * forward / backward / m(x) are the wrapped module's;
--   * after loss:backward() (or model:backward), ddp:syncGradients() averages every
--     parameter's gradient over the ranks: the gradients are copied into flat buffers of about
--     bucketMB each (one per tensor type), one MPI all-reduce per bucket, and copied back.
-- Then the optimiser's step (optim.SGD(ddp:parameters()), optim.sgd on getParameters) is the
-- same on every rank, and the parameters stay equal. The all-reduces run after backward, not
-- overlapped with it (a later step). Buffers that are not parameters (batch norm's running
-- statistics) are not synchronised.
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local DDP, parent = torch.class('nn.DistributedDataParallel', 'nn.Container')

function DDP:__init(module, opts)
  parent.__init(self)
  check.arg('DistributedDataParallel', 1, module, 'module', 2)
  local cfg = check.options('nn.DistributedDataParallel', opts, { bucketMB = 25, root = 0 })
  check.arg('DistributedDataParallel', 2, cfg.bucketMB, 'number', 2)
  if not (cfg.bucketMB > 0) then
    check.argerror('DistributedDataParallel', 2, ('bucketMB must be > 0, got %s'):format(cfg.bucketMB), 2)
  end
  local dist = require 'distributed'
  if not dist.isInitialized() then dist.init() end
  if math.type(cfg.root) ~= 'integer' or cfg.root < 0 or cfg.root >= dist.size() then
    check.argerror('DistributedDataParallel', 2,
                   ('root must be a rank from 0 to %d, got %s'):format(dist.size() - 1, tostring(cfg.root)), 2)
  end
  self.modules[1], self.module = module, module
  self.bucketBytes, self.root, self._dist = cfg.bucketMB * 2^20, cfg.root, dist
  self:broadcastParameters()
end

-- rank root's parameters into every rank's (also useful after loading a checkpoint on root)
function DDP:broadcastParameters()
  local dist, params = self._dist, self.module:parameters() or {}
  torch.noGrad(function()
    for _, p in ipairs(params) do
      if p:isContiguous() then
        dist.broadcast(p, self.root)
      else
        p:copy(dist.broadcast(p:contiguous(), self.root))
      end
    end
  end)
  return self
end

local element_bytes = { ['torch.FloatTensor'] = 4, ['torch.DoubleTensor'] = 8,
                        ['torch.LongTensor'] = 8, ['torch.ByteTensor'] = 1 }

-- the gradients grouped by type into buckets of about bucketBytes, each with its flat buffer;
-- rebuilt when the module's gradient tensors change (type conversion, getParameters)
local function buckets_for(self, grads)
  local cached = self._buckets
  if cached and #cached.grads == #grads then
    local same = true
    for i, g in ipairs(grads) do
      if not rawequal(cached.grads[i], g) or cached.numel[i] ~= g:nElement() then same = false break end
    end
    if same then return cached end
  end
  local byType, order = {}, {}
  for _, g in ipairs(grads) do
    local ty = g:type()
    if not byType[ty] then byType[ty] = {} order[#order + 1] = ty end
    table.insert(byType[ty], g)
  end
  local list = { grads = {}, numel = {} }
  for i, g in ipairs(grads) do list.grads[i], list.numel[i] = g, g:nElement() end
  for _, ty in ipairs(order) do
    local bucket, bytes = nil, 0
    local size = element_bytes[ty] or 8
    for _, g in ipairs(byType[ty]) do
      local b = g:nElement() * size
      if not bucket or (bytes + b > self.bucketBytes and #bucket.grads > 0) then
        bucket, bytes = { grads = {}, numel = 0, type = ty }, 0
        list[#list + 1] = bucket
      end
      table.insert(bucket.grads, g)
      bucket.numel, bytes = bucket.numel + g:nElement(), bytes + b
    end
  end
  for _, bucket in ipairs(list) do
    bucket.flat = torch[bucket.type:match('torch%.(%a+)')](math.max(bucket.numel, 1))
  end
  self._buckets = list
  return list
end

-- averages every parameter's gradient over the ranks (one all-reduce per bucket)
function DDP:syncGradients()
  local params, grads = self.module:parameters()
  if not params then return self end
  for i, p in ipairs(params) do
    if not torch.isTensor(grads[i]) then
      error(('syncGradients: parameter %d (%s) has no gradient tensor'):format(i, p:type()), 2)
    end
    if grads[i]:isCuda() then
      error('syncGradients: device gradients are not supported yet (MPI on host tensors only)', 2)
    end
  end
  local dist, n = self._dist, self._dist.size()
  torch.noGrad(function()
    for _, bucket in ipairs(buckets_for(self, grads)) do
      local flat, offset = bucket.flat, 1
      for _, g in ipairs(bucket.grads) do
        local k = g:nElement()
        if k > 0 then flat:narrow(1, offset, k):view(g:size()):copy(g) end
        offset = offset + k
      end
      dist.allReduce(flat, 'sum'):div(n)
      offset = 1
      for _, g in ipairs(bucket.grads) do
        local k = g:nElement()
        if k > 0 then g:copy(flat:narrow(1, offset, k):view(g:size())) end
        offset = offset + k
      end
    end
  end)
  return self
end

function DDP:updateOutput(input)
  self.output = self.module:updateOutput(input)
  return self.output
end

function DDP:forward(input)
  self.output = self.module:forward(input)
  return self.output
end

function DDP:backward(input, gradOutput, scale)
  self.gradInput = self.module:backward(input, gradOutput, scale)
  return self.gradInput
end

function DDP:updateGradInput(input, gradOutput)
  self.gradInput = self.module:updateGradInput(input, gradOutput)
  return self.gradInput
end

function DDP:accGradParameters(input, gradOutput, scale)
  return self.module:accGradParameters(input, gradOutput, scale)
end

function DDP:__tostring__()
  return ('nn.DistributedDataParallel(%d ranks, buckets of %g MB) {\n  %s\n}'):format(
    self._dist.size(), self.bucketBytes / 2^20, tostring(self.module):gsub('\n', '\n  '))
end
