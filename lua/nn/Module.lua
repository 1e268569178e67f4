-- nn.Module — the base of every layer.
--
-- Two ways to train, both supported:
--   Torch7: output = m:forward(x); gradInput = m:backward(x, gradOutput). Each module that
--     takes its gradient from autograd records a graph of its own from a detached copy of its
--     input, so backward yields gradInput and accumulates into gradWeight/gradBias.
--   PyTorch: output = m(x) (__call) records one graph through every module, from the data to
--     the loss; loss:backward() fills the parameters' .grad, which ARE gradWeight/gradBias.
-- A module that overrides updateGradInput (containers, hand-written layers) is differentiated
-- by its own code instead.
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local Module = torch.class('nn.Module')

-- > 0 while a module is being called PyTorch-style (m(x)); kept by the C core, see __call
local module_call, module_call_depth = torch._moduleCall, torch._moduleCallDepth

-- ---- devices -----------------------------------------------------------------------------
-- Type names on the host and their CUDA twins (cutorch's names: a CudaTensor holds floats).
local cuda_of = {
  ['torch.FloatTensor'] = 'torch.CudaTensor', ['torch.DoubleTensor'] = 'torch.CudaDoubleTensor',
  ['torch.LongTensor'] = 'torch.CudaLongTensor', ['torch.ByteTensor'] = 'torch.CudaByteTensor',
}
local host_of = { ['torch.BFloat16Tensor'] = 'torch.BFloat16Tensor' }   -- host memory only
for h, c in pairs(cuda_of) do host_of[c], host_of[h] = h, h end
-- BFloat16 computes by widening to float32 (lua/lauxt.c), gradients and all
local floating = {
  ['torch.FloatTensor'] = true, ['torch.DoubleTensor'] = true, ['torch.BFloat16Tensor'] = true,
  ['torch.CudaTensor'] = true, ['torch.CudaDoubleTensor'] = true,
}
nn._floatingTypes = floating
nn._hostTypeOf = host_of   -- type name -> the host type of the same dtype

-- Zeros of x's shape, type and device (torch.zerosLike makes host tensors only).
local function zeros_like(x)
  return torch.noGrad(function() return torch.Tensor():typeAs(x):resizeAs(x):zero() end)
end
nn._zerosLike = zeros_like

local function where(t)
  return t:isCuda() and ('CUDA device %d'):format(t:getDevice()) or 'the CPU'
end

-- A clear error when input (a tensor) and a parameter of module live on different devices;
-- level as for error(), counted from the caller of this function.
-- '2 x 3 x 4': a tensor's sizes in the layers' error messages
function nn._shapeStr(t) return table.concat(t:size():totable(), ' x ') end

-- v, argument i of fname, as a positive integer (a size), else Lua's bad-argument error; level
-- as for error(), counted from the caller of this function.
function nn._positive(fname, i, v, level)
  v = check.arg(fname, i, v, 'integer', (level or 1) + 1)
  if v < 1 then check.argerror(fname, i, ('expected a positive size, got %d'):format(v), (level or 1) + 1) end
  return v
end

-- Torch7's reset(stdv) of most layers: the weight and the bias (when there is one) uniform in
-- [-stdv, stdv], stdv = 1/sqrt(fan_in) unless given. Returns the module.
function nn._uniformReset(module, fan_in, stdv)
  stdv = stdv or 1 / math.sqrt(fan_in)
  torch.noGrad(function()
    module.weight:uniform(-stdv, stdv)
    if module.bias then module.bias:uniform(-stdv, stdv) end
  end)
  return module
end

-- input must be a tensor that was not freed: '<module>: expected a tensor input, got ...'. The
-- level is error()'s counted from here, as the layers' own checks called from updateOutput
-- (or a criterion's loss) have always raised it: 4, past updateOutput and forward.
function nn._tensorInput(module, input, what)
  if not torch.isTensor(input) or not pcall(input.dim, input) then
    local got = torch.isTensor(input) and 'a freed tensor' or (torch.typename(input) or type(input))
    error(('%s: expected %s, got %s'):format(torch.typename(module), what or 'a tensor input', got), 4)
  end
  return input
end

function nn._checkDevice(module, input, param, level)
  if torch.isTensor(input) and param and input:getDevice() ~= param:getDevice() then
    error(("%s: the input is on %s, the module's parameters on %s (move the input with "
           .. ':cuda() or :float(), or the module with :cuda() or :float())')
          :format(torch.typename(module), where(input), where(param)), (level or 1) + 1)
  end
end

function Module:__init()
  self.gradInput = torch.Tensor()
  self.output = torch.Tensor()
  self.train = true
end

-- ---- parameters ------------------------------------------------------------------------------
function Module:parameters()
  local params, grads = {}, {}
  if self.weight then params[#params + 1], grads[#grads + 1] = self.weight, self.gradWeight end
  if self.bias then params[#params + 1], grads[#grads + 1] = self.bias, self.gradBias end
  if #params == 0 then return nil end
  return params, grads
end

-- namedParameters(): a list of {name, param, grad} with PyTorch's names ('weight', 'bias';
-- nn.LSTM: 'weight_ih_l0', ...), which stateDict and safetensors use. A module that
-- overrides parameters() without naming them gets 'param1', 'param2', ...
function Module:namedParameters()
  local params, grads = self:parameters()
  local list = {}
  for i, p in ipairs(params or {}) do
    local name = (p == self.weight and 'weight') or (p == self.bias and 'bias') or ('param' .. i)
    list[#list + 1] = { name, p, grads and grads[i] }
  end
  return list
end

-- Makes every parameter require grad with its gradient tensor as .grad, so autograd
-- accumulates straight into gradWeight/gradBias. Called after anything that replaces them.
function Module:_linkGradients()
  local params, grads = self:parameters()
  for i, p in ipairs(params or {}) do
    p.requiresGrad = true
    p.grad = grads[i]
  end
  return self
end

function Module:zeroGradParameters()
  local _, grads = self:parameters()
  for _, g in ipairs(grads or {}) do g:zero() end
end

function Module:updateParameters(learningRate)
  local params, grads = self:parameters()
  torch.noGrad(function()
    for i, p in ipairs(params or {}) do p:add(-learningRate, grads[i]) end
  end)
end

-- ---- forward / backward -------------------------------------------------------------------
local function differentiable(t)
  return floating[t:type()] == true
end

-- A copy of x that requires grad and has no history, or x itself when it cannot have a
-- gradient (integer indices); tables are mapped element by element.
local function detached(x)
  if torch.isTensor(x) then
    if not differentiable(x) then return x end
    local d = x:detach()
    d.requiresGrad = true
    return d
  elseif type(x) == 'table' then
    local r = {}
    for k, v in pairs(x) do r[k] = detached(v) end
    return r
  end
  return x
end
nn._detached = detached

local function flatten(x, out)
  out = out or {}
  if torch.isTensor(x) then out[#out + 1] = x
  elseif type(x) == 'table' then for _, v in ipairs(x) do flatten(v, out) end end
  return out
end
nn._flatten = flatten

-- The gradient of each leaf in x (zeros where none arrived), mirroring x's structure.
local function grads_of(x)
  if torch.isTensor(x) then
    if x.grad then return x.grad end
    return zeros_like(x)
  elseif type(x) == 'table' then
    local r = {}
    for k, v in pairs(x) do r[k] = grads_of(v) end
    return r
  end
  return nil
end

function Module:usesAutograd()
  return self.updateGradInput == Module.updateGradInput
end

-- The same values without history (a tensor, or a table of them).
local function plain(x)
  if torch.isTensor(x) then return x.requiresGrad and x:detach() or x end
  if type(x) == 'table' then
    local r = {}
    for k, v in pairs(x) do r[k] = plain(v) end
    return r
  end
  return x
end

-- An error inside a module's computation is raised as the module's, the op's own message
-- kept: 'nn.LSTM: lstm: h0 must be [2 x 2 x 4] ...'; one that already names a module (a child
-- of a container, 'nn.Linear: ...') and error values that are not strings pass unchanged.
-- ok, ... as pcall returns them; level as error()'s, counted from the method calling this
-- (call it as `local r = nn._named(...)`).
function nn._named(self, level, ok, ...)
  if ok then return ... end
  local err = ...
  if type(err) ~= 'string' then error(err, 0) end
  local msg = err:gsub('^[^\n]-:%d+: ', '', 1)
  if msg:match('^nn%.%u[%w_]*[:(]') then error(err, 0) end
  error((torch.typename(self) or 'nn.Module') .. ': ' .. msg, level + 2)
end

local function forward(self, input)
  if module_call_depth() == 0 and self:usesAutograd() and torch.isGradEnabled() then
    -- Torch7 path: the graph stays inside the module (backward runs it); the caller gets
    -- plain tensors, so out:max() is a number as in Torch7
    self._graphInput, self._graphFreed = detached(input), nil
    self._graphOutput = self:updateOutput(self._graphInput)
    self.output = plain(self._graphOutput)
  else
    self._graphInput, self._graphOutput = nil, nil
    self.output = self:updateOutput(input)
  end
  return self.output
end

-- The argument checks of forward and backward run on every step: a quick test first, and
-- torch.check only to word the error (a freed tensor passes here; the ops refuse it by name).
local isTensor = torch.isTensor
local function tensor_or_table(v) return type(v) == 'table' or isTensor(v) end
nn._tensorOrTable = tensor_or_table

function Module:forward(input)
  if not tensor_or_table(input) then check.arg('forward', 1, input, 'tensor|table') end
  local out = nn._named(self, 1, pcall(forward, self, input))
  return out
end

-- PyTorch style: the graph flows through, so loss:backward() reaches every parameter.
-- The depth of PyTorch-style calls lives in C (torch._moduleCall): an interrupt (Ctrl-C
-- raises an error at whatever Lua instruction runs) can land anywhere in Lua code, also
-- between bumping a Lua counter and restoring it, and a stuck counter stopped every later
-- forward from recording a graph.
function Module:__call(input, ...)
  return (module_call(self.forward, self, input, ...))
end
Module.__call__ = Module.__call

function Module:updateOutput(input)
  error(('%s: updateOutput is not implemented'):format(torch.typename(self)), 2)
end

-- > 0 while a backward pass leaves gradients that are not final (they are fixed up after it):
-- gradient-ready hooks (nn.DistributedDataParallel) ignore what the engine reports then
nn._gradHooksSuspended = 0

-- Backward through the graph recorded by forward. wantParams false keeps the parameter
-- gradients as they were; scale multiplies what is added to them.
function Module:_graphBackward(gradOutput, scale, wantParams, retain)
  local x = self._graphInput
  if x == nil then
    error(('%s: backward needs the graph of forward; call forward(input) first (with '
           .. 'gradients enabled)'):format(torch.typename(self)), 3)
  end
  if self._graphFreed then
    -- Torch7's API has no retainGraph: the advice that fits it is a fresh forward
    error(('%s: backward was already called after the last forward, and it used up the graph '
           .. 'that forward recorded; call m:forward(input) again before each '
           .. 'm:backward(input, gradOutput)'):format(torch.typename(self)), 3)
  end
  for _, t in ipairs(flatten(x)) do t.grad = nil end
  local _, grads = self:parameters()
  local before
  if grads and (scale ~= 1 or not wantParams) then
    before = {}
    for i, g in ipairs(grads) do before[i] = g:clone() end
  end
  local outs, gouts, roots, rgrads = flatten(self._graphOutput), flatten(gradOutput), {}, {}
  if #outs ~= #gouts then
    error(('%s: %d gradOutput tensors for %d outputs'):format(torch.typename(self), #gouts, #outs), 3)
  end
  for i, o in ipairs(outs) do
    if o.requiresGrad then roots[#roots + 1], rgrads[#rgrads + 1] = o, gouts[i] end
  end
  if #roots > 0 then
    if before then
      nn._gradHooksSuspended = nn._gradHooksSuspended + 1
      local ok, err = pcall(torch.autograd.backward, roots, rgrads, retain)
      nn._gradHooksSuspended = nn._gradHooksSuspended - 1
      if not ok then error(err, 0) end
    else
      torch.autograd.backward(roots, rgrads, retain)
    end
  end
  if not retain then self._graphFreed = true end
  if before then
    torch.noGrad(function()
      for i, g in ipairs(grads) do
        if wantParams then g:add(-1, before[i]):mul(scale):add(before[i]) else g:copy(before[i]) end
      end
    end)
  end
  self.gradInput = grads_of(x)
  return self.gradInput
end

-- the arguments of updateGradInput, accGradParameters and backward (a module whose output is
-- a number, a loss such as nn.CriterionTable's, takes a number gradOutput)
local function check_backward(fname, input, gradOutput, scale)
  if tensor_or_table(input) and (tensor_or_table(gradOutput) or type(gradOutput) == 'number') and
     (scale == nil or type(scale) == 'number') then
    return
  end
  check.arg(fname, 1, input, 'tensor|table', 2)
  check.arg(fname, 2, gradOutput, 'tensor|table|number', 2)
  check.arg(fname, 3, scale, 'number?', 2)
end
nn._checkBackward = check_backward

function Module:updateGradInput(input, gradOutput)
  check_backward('updateGradInput', input, gradOutput)
  local g = nn._named(self, 1, pcall(self._graphBackward, self, gradOutput, 1, false, true))
  return g
end

function Module:accGradParameters(input, gradOutput, scale)
  check_backward('accGradParameters', input, gradOutput, scale)
  if self:usesAutograd() then
    nn._named(self, 1, pcall(self._graphBackward, self, gradOutput, scale or 1, true, true))
  end
end

local function backward(self, input, gradOutput, scale)
  if self:usesAutograd() then
    return self:_graphBackward(gradOutput, scale, true, false)
  end
  self:updateGradInput(input, gradOutput)
  self:accGradParameters(input, gradOutput, scale)
  return self.gradInput
end

function Module:backward(input, gradOutput, scale)
  check_backward('backward', input, gradOutput, scale)
  local g = nn._named(self, 1, pcall(backward, self, input, gradOutput, scale or 1))
  return g
end

-- ---- modes, types, traversal ------------------------------------------------------------
function Module:training() self.train = true return self end
function Module:evaluate() self.train = false return self end
-- PyTorch's names: m:eval(), m:zeroGrad(). (m:train() cannot be one: m.train is Torch7's
-- mode flag, read by Dropout and user layers; m:training() sets it.)
function Module:eval() return self:evaluate() end
function Module:zeroGrad() return self:zeroGradParameters() end

-- m:children(): the direct submodules, in order (PyTorch's); none for a leaf module
function Module:children()
  local list = {}
  for i, m in ipairs(self.modules or {}) do list[i] = m end
  return list
end

-- m:findModules(typename): every module of that type in m's tree (m included), in order, and
-- the container holding each (nil for m itself), Torch7's
function Module:findModules(typename, container)
  check.arg('findModules', 1, typename, 'string')
  local found, holders = {}, {}
  if torch.typename(self) == typename then found[1], holders[1] = self, container end
  for _, m in ipairs(self.modules or {}) do
    local f, h = m:findModules(typename, self)
    for i = 1, #f do found[#found + 1], holders[#holders + 1] = f[i], h[i] end
  end
  return found, holders
end

-- m:replace(fn): each module of the tree becomes fn(module) (children first are asked from
-- the replaced parent's list), Torch7's; returns fn(m)
function Module:replace(fn)
  check.arg('replace', 1, fn, 'callable')
  local out = fn(self)
  if not torch.isTypeOf(out, 'nn.Module') then
    error(('replace: the function returned a %s, not an nn.Module'):format(
          torch.typename(out) or type(out)), 2)
  end
  for i, m in ipairs(out.modules or {}) do out.modules[i] = m:replace(fn) end
  return out
end

function Module:apply(fn)
  fn(self)
  for _, m in ipairs(self.modules or {}) do m:apply(fn) end
  return self
end

function Module:listModules()
  local list = { self }
  for _, m in ipairs(self.modules or {}) do
    for _, sub in ipairs(m:listModules()) do list[#list + 1] = sub end
  end
  return list
end

-- The type a tensor of type cur takes when its module becomes typename: a floating-point
-- tensor takes typename; an integer one (indices, masks) keeps its dtype and only moves to
-- typename's side (host or device). typename may also be a function cur -> type.
local function target_type(cur, typename)
  if type(typename) == 'function' then
    local to = typename(cur)
    if not host_of[to] then
      error(("type: the type function gave %s for a %s, not a tensor type name"):format(tostring(to), cur), 0)
    end
    return to
  end
  if floating[typename] and not floating[cur] then
    local host = host_of[cur] or cur
    if host_of[typename] ~= typename then return cuda_of[host] or cur end
    return host
  end
  return typename
end

-- Converts every tensor field (recursively through tables) to the given type; a tensor held
-- in several fields becomes one converted tensor.
local function convert(x, typename, seen)
  if torch.isTensor(x) then
    local to = target_type(x:type(), typename)
    if x:type() == to then return x end
    local y = seen[x]
    if not y then
      y = torch.noGrad(function() return x:type(to) end)
      seen[x] = y
    end
    return y
  elseif type(x) == 'table' and not getmetatable(x) or torch.isTypeOf(x, 'nn.Module') or
         torch.isTypeOf(x, 'nn.Criterion') then
    if seen[x] then return x end
    seen[x] = true
    for k, v in pairs(x) do x[k] = convert(v, typename, seen) end
  end
  return x
end
nn._convert = convert

-- type(name): every parameter, gradient and state tensor converted (integer tensors keep
-- their dtype and follow to the device or the host). The old tensors are left as they were:
-- take references to the parameters (parameters(), getParameters(), an optimizer) after the
-- conversion, as with cunn.
function Module:type(typename)
  if not typename then return torch.typename(self) end
  check.arg('type', 1, typename, 'string|function')
  if type(typename) == 'string' and not (host_of[typename] or host_of['torch.' .. typename]) then
    check.argerror('type', 1, ("unknown tensor type '%s'"):format(typename))
  end
  if typename == 'torch.BFloat16Tensor' or typename == 'BFloat16Tensor' then
    for _, m in ipairs(self:listModules()) do
      if m._noBFloat16 then
        error(("%s: BFloat16 parameters are not supported (its fused kernels compute in float32 "
               .. "or float64; keep it float, and use torch.autocast('bfloat16') for bf16 "
               .. 'products)'):format(torch.typename(m)), 2)
      end
    end
  end
  self:apply(function(m)  -- a recorded graph belongs to the old tensors
    m._graphInput, m._graphOutput = nil, nil
    m._flatParameters, m._flatGradParameters = nil, nil
  end)
  convert(self, typename, {})
  self:apply(function(m) m:_linkGradients() end)
  return self
end
function Module:float() return self:type('torch.FloatTensor') end
function Module:double() return self:type('torch.DoubleTensor') end
-- bfloat16(): PyTorch's model.to(torch.bfloat16); the arithmetic runs in float32 on widened
-- copies and every result is rounded back (lua/lauxt.c)
function Module:bfloat16() return self:type('torch.BFloat16Tensor') end
-- cuda(): to the CUDA device as CudaTensors (float32), as cunn's model:cuda()
function Module:cuda() return self:type('torch.CudaTensor') end
-- cpu(): back to the host, each tensor keeping its dtype (PyTorch's .cpu())
function Module:cpu() return self:type(function(cur) return host_of[cur] or cur end) end

-- clearState(): drops everything a forward or backward left behind, in every module: output,
-- gradInput, the recorded graph, and what a module keeps of its own (its _clearState: nn.LSTM's
-- last {h_n, c_n} and its C workspace, nn.Dropout's mask), so that a saved model holds its
-- parameters and their gradients, and little else. The next forward rebuilds them.
function Module:clearState()
  self:apply(function(m)
    m.output, m.gradInput = torch.Tensor(), torch.Tensor()
    m._graphInput, m._graphOutput, m._graphFreed = nil, nil, nil
    if m._clearState then m:_clearState() end
  end)
  return self
end

-- ---- getParameters: one flat tensor for all parameters, one for all gradients ----------
-- Parameters and gradients are re-pointed into the flat storages. Calling it again returns
-- the same flat tensors while the layout still holds, so earlier references stay valid.
-- Device tensors have no storage objects: each one pointed into a flat device tensor is
-- remembered here with that flat tensor (a :set() to elsewhere after that goes unseen).
local flat_of = setmetatable({}, { __mode = 'k' })

local function is_flat(tensors, flat)
  if not flat then return false end
  local cuda = flat:isCuda()
  local storage, offset = not cuda and flat:storage(), 1
  for _, t in ipairs(tensors) do
    if t:storageOffset() ~= offset or not t:isContiguous() or t:isCuda() ~= cuda then
      return false
    end
    if cuda then
      if not rawequal(flat_of[t], flat) then return false end
    elseif t:storage() ~= storage then
      return false
    end
    offset = offset + t:nElement()
  end
  return offset - 1 == flat:nElement()
end

local function flatten_into(tensors)
  local total, typename = 0, nil
  for _, t in ipairs(tensors) do
    total = total + t:nElement()
    typename = typename or t:type()
    if t:type() ~= typename then
      error(('getParameters: parameters of mixed types (%s and %s)'):format(typename, t:type()), 3)
    end
  end
  local cuda = tensors[1]:isCuda()
  local flat = cuda and torch.Tensor():typeAs(tensors[1]):resize(total):zero()
               or torch[typename:match('torch%.(%w+)')](total)
  local offset = 1
  torch.noGrad(function()
    for _, t in ipairs(tensors) do
      local n = t:nElement()
      if n > 0 then
        local part = flat:narrow(1, offset, n)
        part:copy(t)
        if cuda then
          t:set(part:view(t:size()))
          flat_of[t] = flat
        else
          t:set(flat:storage(), offset, t:size())
        end
      end
      offset = offset + n
    end
  end)
  return flat
end

function Module:getParameters()
  local params, grads = self:parameters()
  params, grads = params or {}, grads or {}
  if #params == 0 then return torch.Tensor(), torch.Tensor() end
  local fp, fg = self._flatParameters, self._flatGradParameters
  if not (is_flat(params, fp) and is_flat(grads, fg)) then
    fp, fg = flatten_into(params), flatten_into(grads)
    self._flatParameters, self._flatGradParameters = fp, fg
    self:apply(function(m) m:_linkGradients() end)
  end
  return fp, fg
end

-- ---- sharing and cloning ------------------------------------------------------------------
function Module:share(other, ...)
  torch.noGrad(function(...)
    for _, name in ipairs({ ... }) do
      if self[name] ~= nil and other[name] ~= nil then self[name]:set(other[name]) end
    end
  end, ...)
  self:_linkGradients()
  return self
end

-- A deep copy; tensors that shared a storage share the copied one. With field names, the
-- clone then shares those fields with self (clone('weight', 'bias')).
local function deepcopy(x, seen, storages)
  if seen[x] then return seen[x] end
  if torch.isTensor(x) and x:isCuda() then
    -- no storage objects on the device: a copy of its own (views of one device storage
    -- become separate tensors; getParameters flattens the clone afresh)
    local y = torch.noGrad(function() return x:clone() end)
    seen[x] = y
    return y
  end
  if torch.isTensor(x) then
    local s = x:storage()
    local key
    for k, v in pairs(storages) do if k == s then key = k break end end
    local copy = key and storages[key]
    local ctor = torch[x:type():match('torch%.(%w+)')]
    if not copy then
      local whole = ctor(s, 1, #s)
      copy = whole:clone():storage()
      storages[s] = copy
    end
    local y = ctor(copy, x:storageOffset(), x:size(), x:stride())
    seen[x] = y
    return y
  elseif type(x) == 'table' then
    local y = {}
    seen[x] = y
    for k, v in pairs(x) do y[deepcopy(k, seen, storages)] = deepcopy(v, seen, storages) end
    return setmetatable(y, getmetatable(x))
  end
  return x
end

function Module:clone(...)
  local copy = deepcopy(self, {}, {})
  copy:apply(function(m)  -- device flats are not shared with the copied parameters
    if m._flatParameters and m._flatParameters:isCuda() then
      m._flatParameters, m._flatGradParameters = nil, nil
    end
  end)
  copy:apply(function(m) m:_linkGradients() end)
  if select('#', ...) > 0 then copy:share(self, ...) end
  return copy
end

-- ---- state dicts: name -> tensor with PyTorch's names (namedParameters) ------------------
-- stateDict(): the parameters, detached but sharing their storage (as PyTorch's
-- state_dict()), so torch.saveSafetensors(path, m:stateDict()) writes what PyTorch loads
-- with load_state_dict. Modules with buffers may add them through namedBuffers().
function Module:stateDict()
  local sd = {}
  for _, e in ipairs(self:namedParameters()) do sd[e[1]] = e[2]:detach() end
  if self.namedBuffers then
    for _, e in ipairs(self:namedBuffers()) do sd[e[1]] = e[2]:detach() end
  end
  return sd
end

local function shape_of(t) return '[' .. table.concat(t:size():totable(), ' x ') .. ']' end

-- loadStateDict(sd [, strict = true]): copies sd's tensors into the parameters of the same
-- names. Shapes must match; Float and Double convert into each other, a BFloat16 tensor (a bf16
-- checkpoint) converts into either, and host and device tensors copy across (as PyTorch
-- copies), other type mismatches are errors. strict: missing or unexpected names are an error.
-- Everything is checked before anything is copied, so a failed load changes nothing.
-- Returns {missing = {...}, unexpected = {...}} (sorted names).
function Module:loadStateDict(sd, strict)
  if type(sd) ~= 'table' then
    error(('loadStateDict: expected a table of name -> tensor, got %s'):format(type(sd)), 2)
  end
  if strict == nil then strict = true end
  local entries = self:namedParameters()
  if self.namedBuffers then
    for _, e in ipairs(self:namedBuffers()) do entries[#entries + 1] = e end
  end
  local known, missing, unexpected, copies = {}, {}, {}, {}
  for _, e in ipairs(entries) do
    local name, p = e[1], e[2]
    known[name] = true
    local v = sd[name]
    if v == nil then
      missing[#missing + 1] = name
    else
      if not torch.isTensor(v) then
        error(("loadStateDict: '%s' is a %s, expected a tensor"):format(name, torch.type(v)), 2)
      end
      if not p:isSameSizeAs(v) then
        error(("loadStateDict: size mismatch for '%s': the module has %s, the state dict %s")
              :format(name, shape_of(p), shape_of(v)), 2)
      end
      if p:type() ~= v:type() and not (floating[p:type()] and floating[v:type()]) then
        error(("loadStateDict: type mismatch for '%s': the module has %s, the state dict %s")
              :format(name, p:type(), v:type()), 2)
      end
      copies[#copies + 1] = { p, v }
    end
  end
  for k in pairs(sd) do
    if not known[k] then unexpected[#unexpected + 1] = tostring(k) end
  end
  table.sort(missing)
  table.sort(unexpected)
  if strict and (#missing > 0 or #unexpected > 0) then
    local parts = {}
    if #missing > 0 then parts[#parts + 1] = 'missing keys: ' .. table.concat(missing, ', ') end
    if #unexpected > 0 then
      parts[#parts + 1] = 'unexpected keys: ' .. table.concat(unexpected, ', ')
    end
    error(('loadStateDict: %s (pass strict = false to load the rest)')
          :format(table.concat(parts, '; ')), 2)
  end
  torch.noGrad(function()
    for _, c in ipairs(copies) do c[1]:copy(c[2]) end
  end)
  return { missing = missing, unexpected = unexpected }
end

function Module:__tostring__()
  return torch.typename(self)
end

return Module
