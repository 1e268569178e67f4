-- nn.DistributedDataParallel(module [, {bucketMB = 25, root = 0, overlap = true,
-- broadcastBuffers = true}]) — data-parallel training over MPI (require 'distributed';
-- dist.init() is called if it was not). Each rank runs the same script on its own shard of
-- the data:
--   * at construction every parameter and buffer (batch norm's running statistics) is
--     broadcast from rank `root`, so all ranks start equal whatever their random init;
--   * in training, before each forward, root's buffers are broadcast again (PyTorch's
--     broadcast_buffers; broadcastBuffers = false leaves each rank its own);
--   * the gradients are averaged over the ranks in buckets of about bucketMB (one per tensor
--     type, filled in reverse registration order: the last layers' gradients are ready
--     first). With overlap, a bucket's non-blocking all-reduce starts during backward as soon
--     as the engine reports all its gradients complete (torch._setGradReadyHook), and the
--     reductions are waited for at the end of backward: loss:backward() after ddp(x)
--     (PyTorch style), or ddp:backward(x, gradOutput) after ddp:forward(x) (Torch7 style).
--     Otherwise ddp:syncGradients() does the same after backward, blocking; after an
--     overlapped backward it has nothing left to do (call it anyway: it is always safe).
-- Then the optimiser's step (optim.SGD(ddp:parameters()), or optim.sgd on getParameters) is
-- the same on every rank, and the parameters stay equal. For Torch7's getParameters loop
-- without this module, dist.allReduce(gradParams):div(dist.size()) in feval is the idiom.
-- Device gradients go through NCCL when every rank has a GPU of its own, else through the
-- collectives' host staging (dist.deviceBackend() says which; lua/distributed/core.c; the NCCL
-- path has not run on a real GPU yet). NCCL runs on luatorch's one CUDA stream, so a bucket's
-- reduction is queued behind the backward kernels before it, not beside them. The fused
-- multi-layer nn.LSTM reports each layer's weights as soon as that layer's backward is done
-- (lt_node_input_ready in core/autograd.c), so its upper layers' buckets start early. Buckets are launched in one order on every rank (bucket k only after buckets 1..k-1), as
-- MPI requires of non-blocking collectives; gradients no hook reported (unused parameters,
-- layers with hand-written accGradParameters) are reduced at the end of backward.
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local DDP, parent = torch.class('nn.DistributedDataParallel', 'nn.Container')

local module_call_depth = torch._moduleCallDepth

function DDP:__init(module, opts)
  parent.__init(self)
  check.arg('DistributedDataParallel', 1, module, 'module', 2)
  local cfg = check.options('nn.DistributedDataParallel', opts,
                            { bucketMB = 25, root = 0, overlap = true, broadcastBuffers = true })
  check.arg('DistributedDataParallel', 2, cfg.bucketMB, 'number', 2)
  if not (cfg.bucketMB > 0) then
    check.argerror('DistributedDataParallel', 2, ('bucketMB must be > 0, got %s'):format(cfg.bucketMB), 2)
  end
  for _, k in ipairs({ 'overlap', 'broadcastBuffers' }) do
    if type(cfg[k]) ~= 'boolean' then
      check.argerror('DistributedDataParallel', 2, ('%s must be a boolean, got %s'):format(k, type(cfg[k])), 2)
    end
  end
  local dist = require 'distributed'
  if not dist.isInitialized() then dist.init() end
  if math.type(cfg.root) ~= 'integer' or cfg.root < 0 or cfg.root >= dist.size() then
    check.argerror('DistributedDataParallel', 2,
                   ('root must be a rank from 0 to %d, got %s'):format(dist.size() - 1, tostring(cfg.root)), 2)
  end
  self.modules[1], self.module = module, module
  self.bucketBytes, self.root, self._dist = cfg.bucketMB * 2^20, cfg.root, dist
  self.overlap, self.broadcastBuffers = cfg.overlap, cfg.broadcastBuffers
  self:broadcastParameters()
end

local function broadcast_all(self, tensors)
  local dist = self._dist
  torch.noGrad(function()
    for _, p in ipairs(tensors) do
      if p:isContiguous() then
        dist.broadcast(p, self.root)
      else
        p:copy(dist.broadcast(p:contiguous(), self.root))
      end
    end
  end)
end

-- every module's buffers (namedBuffers: batch norm's running statistics), in module order;
-- a container's namedBuffers only gathers its children's, which the walk visits anyway
function DDP:buffers()
  local list = {}
  for _, m in ipairs(self.module:listModules()) do
    if m.namedBuffers and not torch.isTypeOf(m, 'nn.Container') then
      for _, e in ipairs(m:namedBuffers()) do
        if torch.isTensor(e[2]) then list[#list + 1] = e[2] end
      end
    end
  end
  return list
end

-- rank root's parameters and buffers into every rank's (also useful after loading a
-- checkpoint on root)
function DDP:broadcastParameters()
  broadcast_all(self, self.module:parameters() or {})
  broadcast_all(self, self:buffers())
  return self
end

local element_bytes = { ['torch.FloatTensor'] = 4, ['torch.DoubleTensor'] = 8,
                        ['torch.LongTensor'] = 8, ['torch.ByteTensor'] = 1,
                        ['torch.CudaTensor'] = 4, ['torch.CudaDoubleTensor'] = 8,
                        ['torch.CudaLongTensor'] = 8, ['torch.CudaByteTensor'] = 1 }

local function hook_off(p) torch._setGradReadyHook(p, nil) end

-- The buckets of the module's gradients: in reverse parameter order, one open bucket per
-- type, each closed at about bucketBytes; each with its flat buffer and its gradients'
-- parameter indices. Rebuilt (and the hooks re-set) when the parameters or gradient tensors
-- change (type conversion, getParameters).
local function buckets_for(self)
  local params, grads = self.module:parameters()
  params, grads = params or {}, grads or {}
  for i, p in ipairs(params) do
    if not torch.isTensor(grads[i]) then
      error(('DistributedDataParallel: parameter %d (%s) has no gradient tensor'):format(i, p:type()), 3)
    end
  end
  local cached = self._buckets
  if cached and #cached.grads == #grads then
    local same = true
    for i, g in ipairs(grads) do
      if not rawequal(cached.grads[i], g) or not rawequal(cached.params[i], params[i])
         or cached.numel[i] ~= g:nElement() then
        same = false
        break
      end
    end
    if same then return cached end
  end
  if cached then for _, p in ipairs(cached.params) do hook_off(p) end end
  local list = { grads = {}, params = {}, numel = {}, of = {} }
  local open = {}
  for i = #grads, 1, -1 do
    local g = grads[i]
    local ty = g:type()
    local b = g:nElement() * (element_bytes[ty] or 8)
    local bucket = open[ty]
    if not bucket or (bucket.bytes + b > self.bucketBytes and #bucket.index > 0) then
      bucket = { index = {}, numel = 0, bytes = 0, type = ty }
      open[ty] = bucket
      list[#list + 1] = bucket
    end
    table.insert(bucket.index, i)
    bucket.numel, bucket.bytes = bucket.numel + g:nElement(), bucket.bytes + b
    list.of[i] = bucket
  end
  for i, g in ipairs(grads) do list.grads[i], list.params[i], list.numel[i] = g, params[i], g:nElement() end
  for k, bucket in ipairs(list) do
    bucket.k = k
    bucket.flat = torch[bucket.type:match('torch%.(%w+)')](math.max(bucket.numel, 1))
  end
  self._buckets = list
  -- every rank must have the same buckets (one model): checked once here, so the bucket
  -- all-reduces can leave out the per-call check (a small blocking all-reduce each, which
  -- would make every rank wait for the slowest in the middle of backward)
  if self._dist.size() > 1 then
    local sig = torch.LongTensor(3):zero()
    sig[1] = #list
    for k, bucket in ipairs(list) do
      sig[2], sig[3] = sig[2] + bucket.numel, sig[3] + k * bucket.numel + #bucket.index
    end
    local hi, lo = self._dist.allReduce(sig:clone(), 'max'), self._dist.allReduce(sig:clone(), 'min')
    if hi[1] ~= lo[1] or hi[2] ~= lo[2] or hi[3] ~= lo[3] then
      error(('DistributedDataParallel: the ranks have different parameters (this is rank %d with %d '
             .. 'buckets of %d elements in all): every rank must wrap the same model')
            :format(self._dist.rank(), sig[1], sig[2]), 3)
    end
  end
  if self.overlap and self._dist.size() > 1 then
    -- the hook holds the module weakly: a dropped DDP is collected, its hooks then do nothing
    local ref = setmetatable({ self }, { __mode = 'v' })
    for i, p in ipairs(params) do
      torch._setGradReadyHook(p, function()
        local ddp = ref[1]
        if ddp then ddp:_gradReady(i) end
      end)
    end
  end
  return list
end

local function copy_in(bucket, grads)
  local flat, offset = bucket.flat, 1
  for _, i in ipairs(bucket.index) do
    local g = grads[i]
    local k = g:nElement()
    if k > 0 then flat:narrow(1, offset, k):view(g:size()):copy(g) end
    offset = offset + k
  end
end

local function copy_out(bucket, grads, n)
  local flat, offset = bucket.flat:div(n), 1
  for _, i in ipairs(bucket.index) do
    local g = grads[i]
    local k = g:nElement()
    if k > 0 then g:copy(flat:narrow(1, offset, k):view(g:size())) end
    offset = offset + k
  end
end

-- a new iteration of the overlapped reduction: no gradient reported, no bucket launched
local function arm(self, mode)
  local buckets = buckets_for(self)
  local s = { mode = mode, seen = {}, next = 1, handles = {}, redo = {} }
  for k = 1, #buckets do s[k] = 0 end
  self._sync = s
  return s
end

-- starts the all-reduce of every complete bucket from the next one on, in order (without
-- the per-call agreement check: buckets_for checked the layout once); then lets MPI move
-- the ones in flight along (OpenMPI progresses a non-blocking collective only inside MPI
-- calls, and there is no progress thread)
local function launch_ready(self, s, all)
  local buckets, dist = self._buckets, self._dist
  torch.noGrad(function()
    while s.next <= #buckets and (all or s[s.next] == #buckets[s.next].index) do
      local bucket = buckets[s.next]
      copy_in(bucket, buckets.grads)
      local checks = dist.setChecks(false)
      local ok, h = pcall(dist.iallReduce, bucket.flat, 'sum')
      dist.setChecks(checks)
      if not ok then error(h, 0) end
      s.handles[s.next] = h
      s.next = s.next + 1
    end
  end)
  if not all then
    for k = s.tested or 1, s.next - 1 do
      if s.handles[k]:test() then s.tested = k + 1 else break end
    end
  end
end

-- the engine's report that parameter i's gradient is complete for this backward pass
function DDP:_gradReady(i)
  local s = self._sync
  if not s or s.done or nn._gradHooksSuspended > 0 then return end
  local bucket = self._buckets.of[i]
  if s.seen[i] then
    -- a second report (a parameter shared by layers that each run their own pass, Torch7
    -- style): if its bucket already left, it is reduced again at the end, on every rank alike
    if bucket.k < s.next then s.redo[bucket.k] = true end
    return
  end
  s.seen[i] = true
  s[bucket.k] = s[bucket.k] + 1
  if s.mode == 'pass' and not s.queued then
    s.queued = true
    torch._queueBackwardCallback(function(ok) if ok then self:_finish() end end)
  end
  launch_ready(self, s, false)
end

-- launches what is left (in order), waits for every bucket and writes the averages back
function DDP:_finish()
  local s = self._sync
  if not s or s.done then return end
  s.early = s.next - 1   -- launched during backward (what the overlap hides; specs, bench)
  launch_ready(self, s, true)
  local buckets, n = self._buckets, self._dist.size()
  torch.noGrad(function()
    for k, bucket in ipairs(buckets) do
      s.handles[k]:wait()
      if s.redo[k] then
        copy_in(bucket, buckets.grads)
        self._dist.allReduce(bucket.flat, 'sum')
      end
      copy_out(bucket, buckets.grads, n)
    end
  end)
  s.done = true
  self._reduced = true
end

-- averages every parameter's gradient over the ranks (one all-reduce per bucket); after an
-- overlapped backward it only waits for what that started
function DDP:syncGradients()
  if self._sync and not self._sync.done then self:_finish() end
  if self._reduced then return self end
  local buckets = buckets_for(self)
  local n = self._dist.size()
  torch.noGrad(function()
    local checks = self._dist.setChecks(false)   -- the layout was checked once (buckets_for)
    local ok, err = pcall(function()
      for _, bucket in ipairs(buckets) do
        copy_in(bucket, buckets.grads)
        self._dist.allReduce(bucket.flat, 'sum')
        copy_out(bucket, buckets.grads, n)
      end
    end)
    self._dist.setChecks(checks)
    if not ok then error(err, 0) end
  end)
  self._reduced = true
  return self
end

local function before_forward(self)
  self._reduced, self._sync = false, nil
  if not self.train or self._dist.size() == 1 then return end
  if self.broadcastBuffers then
    local b = self:buffers()
    if #b > 0 then broadcast_all(self, b) end
  end
  -- PyTorch style (ddp(x)): the graph runs through to the loss, whose backward is one pass
  if self.overlap and torch.isGradEnabled() and module_call_depth() > 0 then arm(self, 'pass') end
end

function DDP:updateOutput(input)
  self.output = self.module:updateOutput(input)
  return self.output
end

function DDP:forward(input)
  before_forward(self)
  self.output = self.module:forward(input)
  return self.output
end

function DDP:backward(input, gradOutput, scale)
  local overlapped = self.overlap and self.train and self._dist.size() > 1 and (scale or 1) == 1
  if overlapped then arm(self, 'call') end
  self.gradInput = self.module:backward(input, gradOutput, scale)
  if overlapped then self:_finish() end
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
  return ('nn.DistributedDataParallel(%d ranks, buckets of %g MB%s) {\n  %s\n}'):format(
    self._dist.size(), self.bucketBytes / 2^20, self.overlap and ', overlapped' or '',
    tostring(self.module):gsub('\n', '\n  '))
end
