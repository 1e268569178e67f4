-- nn.recurrent — what nn.LSTM, nn.RNN, nn.GRU and their cells share (lua/nn/LSTM.lua,
-- lua/nn/RNN.lua): parameters with PyTorch's names, sizes and memory checks, the calling
-- forms, the layer stack over torch.rnnLayer (bidirectional, lengths, dropout between
-- layers) and the state carried between calls (stateful). Internal: not a module class.
local torch = require 'torch'
local check = require 'torch.check'

local R = {}

function R.grad_name(name)
  return (name:gsub('^weight', 'gradWeight'):gsub('^bias', 'gradBias'))
end

function R.check_size(cls, what, v)
  if math.type(v) ~= 'integer' or v < 1 then
    error(('%s: %s must be a positive integer, got %s'):format(cls, what, tostring(v)), 4)
  end
end

-- Parameters and their gradients are allocated one tensor at a time, each within bounds, so
-- a huge numLayers would allocate for minutes; their total is checked first, in floats (the
-- sizes may overflow integers), against the machine's memory.
function R.check_memory(cls, elements)
  local esize = torch.getdefaulttensortype() == 'torch.DoubleTensor' and 8 or 4
  local bytes, limit = 2 * esize * elements, torch.allocatorStats().limitBytes
  if bytes > limit then
    error(('%s: the parameters and their gradients would need %.3g GB, more than this '
           .. "machine's memory (%.3g GB)"):format(cls, bytes / 1e9, limit / 1e9), 4)
  end
end

function R.shape_string(t) return table.concat(t:size():totable(), ' x ') end

-- parameters in the order of self._names
function R.parameters(self)
  local params, grads = {}, {}
  for i, name in ipairs(self._names) do
    params[i], grads[i] = self[name], self[R.grad_name(name)]
  end
  return params, grads
end

function R.named_parameters(self)
  local list = {}
  for i, name in ipairs(self._names) do list[i] = { name, self[name], self[R.grad_name(name)] } end
  return list
end

-- PyTorch's reset_parameters(): every weight and bias uniform in [-stdv, stdv],
-- stdv = 1/sqrt(hiddenSize)
function R.reset(self, stdv)
  stdv = stdv or 1 / math.sqrt(self.hiddenSize)
  torch.noGrad(function()
    for _, name in ipairs(self._names) do self[name]:uniform(-stdv, stdv) end
  end)
  return self
end

function R.add_param(self, name, ...)
  self._names[#self._names + 1] = name
  self[name] = torch.Tensor(...)
  self[R.grad_name(name)] = torch.Tensor(...):zero()
end

-- The layers' parameters, PyTorch's names: weight_ih_l{l}[_reverse] [G x in], weight_hh [G x H],
-- bias_ih, bias_hh [G], for G = gates * H rows.
function R.add_layer_params(self, gates)
  local H, D = self.hiddenSize, self.bidirectional and 2 or 1
  for l = 0, self.numLayers - 1 do
    local inp = l == 0 and self.inputSize or D * H
    for d = 0, D - 1 do
      local sfx = 'l' .. l .. (d == 1 and '_reverse' or '')
      R.add_param(self, 'weight_ih_' .. sfx, gates * H, inp)
      R.add_param(self, 'weight_hh_' .. sfx, gates * H, H)
      if self.useBias then
        R.add_param(self, 'bias_ih_' .. sfx, gates * H)
        R.add_param(self, 'bias_hh_' .. sfx, gates * H)
      end
    end
  end
end

-- the memory check of add_layer_params, before any allocation
function R.check_layer_memory(cls, inputSize, H, numLayers, gates, bias, D)
  -- in floats: products of sizes (even sums of them) may overflow integers
  local Hf, nb = 1.0 * H, bias and 2 or 0
  local G = gates * Hf
  R.check_memory(cls, D * (G * (inputSize + Hf + nb) + (numLayers - 1) * G * (D * Hf + Hf + nb)))
end

-- dropout between layers: a number in [0, 1)
function R.check_dropout(cls, dropout)
  if type(dropout) ~= 'number' or dropout < 0 or dropout >= 1 then
    error(('%s: dropout must be a number in [0, 1), got %s'):format(cls, tostring(dropout)), 4)
  end
end

-- ---- calling forms ------------------------------------------------------------------------
-- forward(x [, state [, {lengths = L}]]), forward(x, {lengths = L}) or the table
-- {x, state, {lengths = L}}: one input for nn.Module's forward (which detaches tensors).
local function is_options(v)
  return type(v) == 'table' and not torch.isTensor(v) and v[1] == nil and v[2] == nil
         and next(v) ~= nil
end

function R.pack(input, state, opts)
  if opts == nil and is_options(state) then state, opts = nil, state end
  if state ~= nil or opts ~= nil then return { input, state, opts } end
  return input
end

-- -> x, state, lengths (a LongTensor of B lengths, or nil)
function R.unpack(cls, input)
  if torch.isTensor(input) then return input end
  if type(input) ~= 'table' then
    error(('%s: expected a tensor or {input, state}, got %s'):format(cls, type(input)), 4)
  end
  local o = check.options(cls, input[3], { lengths = check.NONE }, 4)
  local len = o.lengths
  if len ~= nil and not (torch.isTensor(len) and len:type() == 'torch.LongTensor') then
    if type(len) == 'table' and not torch.isTensor(len) then
      len = torch.LongTensor(len)
    else
      error(('%s: lengths must be a LongTensor (or a table) of batch-size lengths, got %s')
            :format(cls, torch.typename(len) or type(len)), 4)
    end
  end
  return input[1], input[2], len
end

-- Checks x (after the unbatched form became a batch of one) and the lengths; -> T, B
function R.check_input(self, cls, x, lengths)
  if not torch.isTensor(x) then
    error(('%s: expected a tensor input, got %s'):format(cls, torch.typename(x) or type(x)), 4)
  end
  if x:dim() ~= 3 or x:size(3) ~= self.inputSize then
    error(('%s: expected input of size [%s x %d] or [T x %d], got [%s]'):format(
          ('%s(%d -> %d)'):format(cls, self.inputSize, self.hiddenSize),
          self.batchFirst and 'B x T' or 'T x B', self.inputSize, self.inputSize,
          R.shape_string(x)), 4)
  end
  local T, B = x:size(self.batchFirst and 2 or 1), x:size(self.batchFirst and 1 or 2)
  if lengths then
    if lengths:dim() ~= 1 or lengths:size(1) ~= B then
      error(('%s: lengths must hold %d lengths (one per sequence), got [%s]')
            :format(cls, B, R.shape_string(lengths)), 4)
    end
    local lo, hi = lengths:min(), lengths:max()
    if lo < 1 or hi > T then
      error(('%s: lengths must be in [1, %d] (the time steps), got %d'):format(
            cls, T, lo < 1 and lo or hi), 4)
    end
  end
  return T, B
end

-- ---- the stack ------------------------------------------------------------------------------
-- Per-module C workspaces (torch._rnnWorkspace, one per layer and direction: the buffers of a
-- call kept for the next, so that a training loop allocates nothing after its first step; on a
-- CUDA device the time loops' buffers held still, so that their CUDA graphs replay), kept
-- outside the module table so that clone/save never see them.
local workspaces = setmetatable({}, { __mode = 'k' })

local function workspace(self, k)
  local list = workspaces[self]
  if not list then
    list = {}
    workspaces[self] = list
  end
  local ws = list[k]
  if not ws then
    ws = torch._rnnWorkspace()
    list[k] = ws
  end
  return ws
end

-- for clearState(): the workspaces (buffers the size of a whole sequence)
function R.drop_workspaces(self) workspaces[self] = nil end

-- x: T x B x I time-major; h0, c0: numLayers*D x B x H or nil. Layer l's input is the
-- concatenation of the directions' outputs of layer l - 1 (dropped out in training).
-- -> output T x B x D*H, h_n, c_n (numLayers*D x B x H; PyTorch's order: layer-major,
-- direction-minor).
function R.stack(self, mode, x, h0, c0, lengths)
  local D = self.bidirectional and 2 or 1
  local input, hs, cs = x, {}, {}
  for l = 0, self.numLayers - 1 do
    if l > 0 and self.dropout > 0 and self.train then
      local p = self.dropout
      local mask = torch.noGrad(function()
        return torch.Tensor():typeAs(input):resizeAs(input):bernoulli(1 - p):div(1 - p)
      end)
      input = torch.cmul(input, mask)
    end
    local outs = {}
    for d = 0, D - 1 do
      local sfx = 'l' .. l .. (d == 1 and '_reverse' or '')
      local w = { self['weight_ih_' .. sfx], self['weight_hh_' .. sfx] }
      if self.useBias then w[3], w[4] = self['bias_ih_' .. sfx], self['bias_hh_' .. sfx] end
      local k = l * D + d + 1
      local y, hn, cn = torch.rnnLayer(mode, input, h0 and h0:select(1, k),
                                       c0 and c0:select(1, k), w, d == 1, lengths,
                                       workspace(self, k))
      outs[d + 1], hs[k], cs[k] = y, hn, cn
    end
    input = D == 2 and torch.cat(outs, 3) or outs[1]
  end
  return input, torch.stack(hs, 1), mode == 'lstm' and torch.stack(cs, 1) or nil
end

-- ---- stateful sequences ---------------------------------------------------------------------
-- With m.stateful (the option, or m:remember()), a call without an initial state starts from
-- the last call's final state, detached (truncated back-propagation through time);
-- m:resetState() starts the next call from zeros.
function R.carried(self, cls, B, given)
  if given ~= nil or not self.stateful or self._carry == nil then return given end
  local c = self._carry
  local cb = (torch.isTensor(c) and c or c[1]):size(2)
  if cb ~= B then
    error(('%s: the carried state is for a batch of %d, got a batch of %d; call '
           .. 'm:resetState() between sequences of different batch sizes'):format(cls, cb, B), 4)
  end
  return c
end

-- a copy without history: nn.LSTM's h_n may be a workspace buffer that the next call rewrites
local function detach(t) return torch.noGrad(function() return t:detach():clone() end) end

function R.keep(self, state)
  if not self.stateful then return end
  self._carry = torch.isTensor(state) and detach(state) or { detach(state[1]), detach(state[2]) }
end

function R.remember(self, on)
  self.stateful = on ~= false
  if not self.stateful then self._carry = nil end
  return self
end

function R.resetState(self)
  self._carry = nil
  return self
end

return R
