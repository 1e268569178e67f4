-- nn.RNN, nn.GRU, nn.RNNCell and nn.GRUCell: recurrent layers with PyTorch's parameters, each
-- layer and direction one call of torch.rnnLayer (core/rnn.c: one autograd node over the whole
-- sequence with a hand-written backward).
--
-- nn.RNN(inputSize, hiddenSize [, numLayers = 1 [, options]])   h' = act(W_ih x + b_ih + W_hh h + b_hh)
-- nn.GRU(inputSize, hiddenSize [, numLayers = 1 [, options]])   gates r, z, n (PyTorch's):
--     r = sigmoid(W_ir x + b_ir + W_hr h + b_hr), z likewise,
--     n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h
--   options: nonlinearity ('tanh' or 'relu'; nn.RNN only), batchFirst (false: x is T x B x I),
--   bias (true), dropout (0: on the inputs of layers above the first, in training),
--   bidirectional (false; true: a second layer reads the sequence backwards, the output is
--   T x B x 2H, forward then reverse halves), returnState (false; true: the module output is
--   {output, h_n}), stateful (false; see below). PyTorch's spellings are errors naming ours.
--   m:forward(x [, h0 [, {lengths = L}]]) / m(x, ...) / m:forward({x, h0, {lengths = L}}):
--   h0 is numLayers*D x B x H (D = 2 when bidirectional; layer-major, direction-minor as
--   PyTorch's); returns the output of every step (the module output) and h_n as a second
--   value (also m.state). An unbatched T x I sequence works too.
--   lengths: a LongTensor (or a table) of B lengths in [1, T]: a padded batch. Outputs past a
--   sequence's length are 0, h_n is the state after its last step (the reverse direction
--   starts at its last step), and padding changes no gradient: PyTorch's
--   pack_padded_sequence(enforce_sorted = false) with pad_packed_sequence.
--   Stateful sequences (truncated back-propagation through time): with {stateful = true} or
--   m:remember(), a call without h0 starts from the previous call's h_n, detached; a batch of
--   another size is an error until m:resetState().
--   Parameters: weight_ih_l0 [G x I], weight_hh_l0 [G x H], bias_ih_l0, bias_hh_l0 [G], then
--   _reverse twins and the layers above (input D*H), G = H (RNN) or 3H (GRU), initialised
--   uniform in +-1/sqrt(H); gradients in gradWeight_ih_l0, ...
-- nn.RNNCell(inputSize, hiddenSize [, bias = true [, nonlinearity = 'tanh']]) or
-- (..., {bias =, nonlinearity =}), nn.GRUCell(inputSize, hiddenSize [, bias | {bias =}]):
--   one step, m:forward(x [, h]) / m(x, h) / m:forward({x, h}) -> h' (x: B x I or I; h
--   defaults to zeros). Parameters weight_ih, weight_hh, bias_ih, bias_hh.
-- On CUDA tensors (m:cuda(), the input and the state on the device) every form runs on the GPU
-- (gpu/rnn.cu through core/rnn.c; the time loops' buffers kept in a workspace per layer and
-- direction, so that from the second call at a shape the loops replay from CUDA graphs;
-- LUATORCH_CUDA_GRAPHS=0 turns graphs off); the lengths may stay a host LongTensor.
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'
local R = require 'nn.recurrent'

local gates_of = { tanh = 1, relu = 1, gru = 3 }

-- ---- nn.RNNBase: the stack of nn.RNN and nn.GRU -------------------------------------------
local RNNBase, parent = torch.class('nn.RNNBase', 'nn.Module')
RNNBase._noBFloat16 = true   -- fused C kernels: Module:type refuses BFloat16 (Module.lua)

local base_options = { batchFirst = false, bias = true, dropout = 0, returnState = false,
                       bidirectional = false, stateful = false }

function RNNBase:__init(cls, mode, inputSize, hiddenSize, numLayers, options, extra)
  parent.__init(self)
  if type(numLayers) == 'table' then numLayers, options = nil, numLayers end
  numLayers = numLayers or 1
  R.check_size(cls, 'inputSize', inputSize)
  R.check_size(cls, 'hiddenSize', hiddenSize)
  R.check_size(cls, 'numLayers', numLayers)
  local defaults = {}
  for k, v in pairs(base_options) do defaults[k] = v end
  for k, v in pairs(extra or {}) do defaults[k] = v end
  options = check.options(cls, options, defaults, 4)
  R.check_dropout(cls, options.dropout)
  if options.nonlinearity ~= nil then
    if options.nonlinearity ~= 'tanh' and options.nonlinearity ~= 'relu' then
      error(("%s: nonlinearity must be 'tanh' or 'relu', got %s")
            :format(cls, tostring(options.nonlinearity)), 4)
    end
    mode = options.nonlinearity
  end
  self._cls, self.mode = cls, mode
  self.inputSize, self.hiddenSize, self.numLayers = inputSize, hiddenSize, numLayers
  self.batchFirst = options.batchFirst == true
  self.useBias = options.bias ~= false
  self.dropout = options.dropout
  self.bidirectional = options.bidirectional == true
  self.returnState = options.returnState == true
  self.stateful = options.stateful == true
  self._names = {}
  R.check_layer_memory(cls, inputSize, hiddenSize, numLayers, gates_of[mode], self.useBias,
                       self.bidirectional and 2 or 1)
  R.add_layer_params(self, gates_of[mode])
  self:reset()
  self:_linkGradients()
end

RNNBase.parameters = R.parameters
RNNBase.namedParameters = R.named_parameters
RNNBase.reset = R.reset
RNNBase.remember = R.remember
RNNBase.resetState = R.resetState

function RNNBase:updateOutput(input)
  local cls = self._cls
  local x, h0, lengths = R.unpack(cls, input)
  if h0 ~= nil and not torch.isTensor(h0) then
    error(('%s: h0 must be a tensor (numLayers*directions x B x H), got %s')
          :format(cls, torch.typename(h0) or type(h0)), 3)
  end
  local unbatched = torch.isTensor(x) and x:dim() == 2 and x:size(2) == self.inputSize
  local bdim = self.batchFirst and 1 or 2
  if unbatched then
    x = x:unsqueeze(bdim)
    if h0 then h0 = h0:unsqueeze(2) end
  end
  local _, B = R.check_input(self, cls, x, lengths)
  local D = self.bidirectional and 2 or 1
  h0 = R.carried(self, cls, B, h0)
  if h0 and (h0:dim() ~= 3 or h0:size(1) ~= self.numLayers * D or h0:size(2) ~= B
             or h0:size(3) ~= self.hiddenSize) then
    error(('%s: h0 must be [%d x %d x %d] (layers*directions x batch x hidden), got [%s]')
          :format(cls, self.numLayers * D, B, self.hiddenSize, R.shape_string(h0)), 3)
  end
  if self.batchFirst then x = x:transpose(1, 2) end
  local out, hn = R.stack(self, self.mode, x, h0, nil, lengths)
  R.keep(self, hn)
  if self.batchFirst then out = out:transpose(1, 2) end
  if unbatched then out, hn = out:select(bdim, 1), hn:select(2, 1) end
  self.state = hn
  self.output = self.returnState and { out, hn } or out
  return self.output
end

-- forward(x [, h0 [, {lengths = L}]]) -> output, h_n
function RNNBase:forward(input, h0, opts)
  local out = parent.forward(self, R.pack(input, h0, opts))
  if self._graphInput ~= nil and self.state.requiresGrad then  -- Torch7 path: plain tensors
    self.state = self.state:detach()
  end
  return out, self.state
end

function RNNBase:__call(input, h0, opts)
  local out = parent.__call(self, R.pack(input, h0, opts))
  return out, self.state
end
RNNBase.__call__ = RNNBase.__call

-- for clearState(): the last state and the C workspaces (buffers the size of a whole sequence)
function RNNBase:_clearState()
  self.state, self._carry = nil, nil
  R.drop_workspaces(self)
end

function RNNBase:__tostring__()
  local opts = {}
  if self.numLayers > 1 then opts[#opts + 1] = ('%d layers'):format(self.numLayers) end
  if self.mode == 'relu' then opts[#opts + 1] = 'relu' end
  if self.bidirectional then opts[#opts + 1] = 'bidirectional' end
  if self.batchFirst then opts[#opts + 1] = 'batchFirst' end
  if not self.useBias then opts[#opts + 1] = 'without bias' end
  if self.dropout > 0 then opts[#opts + 1] = ('dropout %g'):format(self.dropout) end
  if self.stateful then opts[#opts + 1] = 'stateful' end
  return ('%s(%d -> %d%s)'):format(self._cls, self.inputSize, self.hiddenSize,
                                   #opts > 0 and ', ' .. table.concat(opts, ', ') or '')
end

local RNN = torch.class('nn.RNN', 'nn.RNNBase')
function RNN:__init(inputSize, hiddenSize, numLayers, options)
  RNNBase.__init(self, 'nn.RNN', 'tanh', inputSize, hiddenSize, numLayers, options,
                 { nonlinearity = 'tanh' })
end

local GRU = torch.class('nn.GRU', 'nn.RNNBase')
function GRU:__init(inputSize, hiddenSize, numLayers, options)
  RNNBase.__init(self, 'nn.GRU', 'gru', inputSize, hiddenSize, numLayers, options)
end

-- ---- cells -------------------------------------------------------------------------------
local CellBase = torch.class('nn.RNNCellBase', 'nn.Module')
CellBase._noBFloat16 = true   -- fused C kernels: Module:type refuses BFloat16 (Module.lua)

function CellBase:__init(cls, mode, inputSize, hiddenSize, bias, nonlinearity)
  nn.Module.__init(self)
  if type(bias) == 'table' then   -- {bias =, nonlinearity =}, PyTorch's keywords
    local defaults = { bias = true }
    if mode ~= 'gru' then defaults.nonlinearity = 'tanh' end
    local o = check.options(cls, bias, defaults, 4)
    bias, nonlinearity = o.bias, o.nonlinearity
  end
  R.check_size(cls, 'inputSize', inputSize)
  R.check_size(cls, 'hiddenSize', hiddenSize)
  if bias ~= nil and type(bias) ~= 'boolean' then
    error(('%s: bias must be a boolean, got %s'):format(cls, type(bias)), 4)
  end
  if mode ~= 'gru' and nonlinearity ~= nil then
    if nonlinearity ~= 'tanh' and nonlinearity ~= 'relu' then
      error(("%s: nonlinearity must be 'tanh' or 'relu', got %s"):format(cls, tostring(nonlinearity)), 4)
    end
    mode = nonlinearity
  end
  self._cls, self.mode = cls, mode
  self.inputSize, self.hiddenSize = inputSize, hiddenSize
  self.useBias = bias ~= false
  -- (in floats: the products of sizes may overflow integers)
  R.check_memory(cls, gates_of[mode] * (1.0 * hiddenSize)
                      * (1.0 * inputSize + hiddenSize + (self.useBias and 2 or 0)))
  local G = gates_of[mode] * hiddenSize
  self._names = {}
  R.add_param(self, 'weight_ih', G, inputSize)
  R.add_param(self, 'weight_hh', G, hiddenSize)
  if self.useBias then
    R.add_param(self, 'bias_ih', G)
    R.add_param(self, 'bias_hh', G)
  end
  self:reset()
  self:_linkGradients()
end

CellBase.parameters = R.parameters
CellBase.namedParameters = R.named_parameters
CellBase.reset = R.reset

function CellBase:updateOutput(input)
  local cls = self._cls
  local x, h = input, nil
  if type(input) == 'table' and not torch.isTensor(input) then x, h = input[1], input[2] end
  if not torch.isTensor(x) then
    error(('%s: expected a tensor input, got %s'):format(cls, torch.typename(x) or type(x)), 3)
  end
  local d = x:dim()
  if (d ~= 1 and d ~= 2) or x:size(d) ~= self.inputSize then
    error(('%s: expected input of size [N x %d] or [%d], got [%s]'):format(
          tostring(self), self.inputSize, self.inputSize, R.shape_string(x)), 3)
  end
  if h ~= nil and (not torch.isTensor(h) or h:dim() ~= d or h:size(d) ~= self.hiddenSize
                   or (d == 2 and h:size(1) ~= x:size(1))) then
    error(('%s: h must be [%s%d], got %s'):format(cls, d == 2 and x:size(1) .. ' x ' or '',
          self.hiddenSize, torch.isTensor(h) and '[' .. R.shape_string(h) .. ']'
          or torch.typename(h) or type(h)), 3)
  end
  local xb, hb = x, h
  if d == 1 then xb, hb = x:unsqueeze(1), h and h:unsqueeze(1) end
  local w = { self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh }
  local _, h1 = torch.rnnLayer(self.mode, xb:unsqueeze(1), hb, nil, w)
  self.output = d == 1 and h1:select(1, 1) or h1
  return self.output
end

-- forward(x [, h]) -> h'; forward({x, h}) as well
function CellBase:forward(input, h)
  if h ~= nil then input = { input, h } end
  return nn.Module.forward(self, input)
end

function CellBase:__call(input, h)
  if h ~= nil then input = { input, h } end
  return nn.Module.__call(self, input)
end
CellBase.__call__ = CellBase.__call

function CellBase:__tostring__()
  return ('%s(%d -> %d%s%s)'):format(self._cls, self.inputSize, self.hiddenSize,
                                     self.mode == 'relu' and ', relu' or '',
                                     self.useBias and '' or ', without bias')
end

local RNNCell = torch.class('nn.RNNCell', 'nn.RNNCellBase')
function RNNCell:__init(inputSize, hiddenSize, bias, nonlinearity)
  CellBase.__init(self, 'nn.RNNCell', 'tanh', inputSize, hiddenSize, bias, nonlinearity)
end

local GRUCell = torch.class('nn.GRUCell', 'nn.RNNCellBase')
function GRUCell:__init(inputSize, hiddenSize, bias)
  CellBase.__init(self, 'nn.GRUCell', 'gru', inputSize, hiddenSize, bias)
end

return RNN
