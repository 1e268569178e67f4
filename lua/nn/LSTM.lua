-- nn.LSTM and nn.LSTMCell: the fused C LSTM (core/lstm.c through torch.lstm / torch.lstmCell),
-- each call one autograd node with a hand-written backward.
--
-- nn.LSTM(inputSize, hiddenSize [, numLayers = 1 [, options]]) over a whole sequence.
--   options: batchFirst (false: x is T x B x I; true: B x T x I), bias (true), dropout (0:
--   between layers, in training mode), returnState (false; true: the output is the table
--   {output, {h_n, c_n}}). PyTorch's spellings are errors that name ours (batch_first:
--   "did you mean 'batchFirst'?"); bidirectional and projSize are refused as not supported yet.
--   m:forward(x) / m(x), or with an initial state m:forward(x, {h0, c0}) (or the table
--   {x, {h0, c0}}); h0, c0 are numLayers x B x H. Returns the output of every step (the
--   module output, so the layer fits in nn.Sequential) and, as a second value, {h_n, c_n}
--   (also in m.state). The seed model is one Sequential:
--     nn.Sequential():add(nn.LSTM(28, 128, 1, {batchFirst = true}))
--                    :add(nn.Select(2, -1)):add(nn.Linear(128, 10))
--   Parameters have PyTorch's names, shapes, gate order (i, f, g, o) and initialisation
--   (uniform in +-1/sqrt(hiddenSize)): weight_ih_l0 [4H x I], weight_hh_l0 [4H x H],
--   bias_ih_l0 [4H], bias_hh_l0 [4H], weight_ih_l1 [4H x H], ...; gradients in
--   gradWeight_ih_l0, gradBias_ih_l0, ...
--   Buffers: with gradients recorded, output / h_n / c_n live in buffers the module reuses
--   once the step's backward has run (Torch7's module.output): clone them to keep them past
--   the next forward. Without gradients (torch.noGrad) they are fresh tensors. The output is
--   computed time-major; with batchFirst it is a B x T x H view of that (not contiguous: use
--   reshape or contiguous() rather than view to flatten it).
--
-- Bidirectional layers and lengths run through torch.rnnLayer (core/rnn.c, one node per layer
-- and direction; fresh result tensors; on CUDA tensors gpu/rnn.cu, the time loops replayed
-- from CUDA graphs as below); the plain case is the fused stack below.
-- On CUDA tensors (m:cuda(), inputs and states on the device) the same calls run on the GPU
-- (gpu/lstm.cu: cuBLAS GEMMs, one fused kernel per step, the time loops replayed from CUDA
-- graphs once a module has seen a shape twice; LUATORCH_CUDA_GRAPHS=0 turns graphs off),
-- with the CPU's results within FP32 rounding; dropout masks are drawn by the CPU's generator.
--
-- nn.LSTMCell(inputSize, hiddenSize [, bias = true]) (or [, {bias = true}]): one step.
--   m:forward(x, {h, c}) / m(x, {h, c}) / m:forward({x, {h, c}}) -> {h', c'}; h, c default
--   to zeros; x is B x I (or I). Parameters weight_ih, weight_hh, bias_ih, bias_hh.
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local R = require 'nn.recurrent'

-- per-module C workspaces, kept outside the module table so that clone/save never see them
local workspaces = setmetatable({}, { __mode = 'k' })

local check_size, check_memory, shape_string = R.check_size, R.check_memory, R.shape_string
local parameters, named_parameters, reset, add_param =
  R.parameters, R.named_parameters, R.reset, R.add_param

-- input or {input, {h, c}} (or {input}) -> x, h, c
local function split_input(cls, input)
  if torch.isTensor(input) then return input end
  if type(input) ~= 'table' then
    error(('%s: expected a tensor or {input, {h, c}}, got %s'):format(cls, type(input)), 4)
  end
  local state = input[2]
  if state ~= nil and (type(state) ~= 'table' or torch.isTensor(state)) then
    error(('%s: the state must be a table {h, c}, got %s'):format(cls,
          torch.typename(state) or type(state)), 4)
  end
  state = state or {}
  for i, what in ipairs({ 'h', 'c' }) do
    if state[i] ~= nil and not torch.isTensor(state[i]) then
      error(('%s: the state\'s %s must be a tensor, got %s'):format(cls, what,
            torch.typename(state[i]) or type(state[i])), 4)
    end
  end
  return input[1], state[1], state[2]
end

local function plain(t) return t and (t.requiresGrad and t:detach() or t) end

-- ---- nn.LSTM ----------------------------------------------------------------------------
local LSTM, parent = torch.class('nn.LSTM', 'nn.Module')
LSTM._noBFloat16 = true   -- fused C kernels: Module:type refuses BFloat16 (Module.lua)

local lstm_options = { batchFirst = false, bias = true, dropout = 0, returnState = false,
                       bidirectional = false, stateful = false,
                       projSize = check.unsupported(0) }

function LSTM:__init(inputSize, hiddenSize, numLayers, options)
  parent.__init(self)
  if type(numLayers) == 'table' then numLayers, options = nil, numLayers end
  numLayers, options = numLayers or 1, options or {}
  check_size('nn.LSTM', 'inputSize', inputSize)
  check_size('nn.LSTM', 'hiddenSize', hiddenSize)
  check_size('nn.LSTM', 'numLayers', numLayers)
  -- projSize is PyTorch's, not built yet: refused rather than ignored
  options = check.options('nn.LSTM', options, lstm_options, 3)
  local dropout = options.dropout
  if type(dropout) ~= 'number' or dropout < 0 or dropout >= 1 then
    error(('nn.LSTM: dropout must be a number in [0, 1), got %s'):format(tostring(dropout)), 3)
  end
  self.inputSize, self.hiddenSize, self.numLayers = inputSize, hiddenSize, numLayers
  self.batchFirst = options.batchFirst == true
  self.useBias = options.bias ~= false
  self.dropout = dropout
  self.returnState = options.returnState == true
  self.bidirectional = options.bidirectional == true
  self.stateful = options.stateful == true
  self._names = {}
  R.check_layer_memory('nn.LSTM', inputSize, hiddenSize, numLayers, 4, self.useBias,
                       self.bidirectional and 2 or 1)
  R.add_layer_params(self, 4)
  self:reset()
  self:_linkGradients()
end

LSTM.parameters = parameters
LSTM.namedParameters = named_parameters
-- PyTorch's reset_parameters(): every weight and bias uniform in [-stdv, stdv],
-- stdv = 1/sqrt(hiddenSize)
LSTM.reset = reset

function LSTM:updateOutput(input)
  local x, state, lengths = R.unpack('nn.LSTM', input)
  if state ~= nil and (type(state) ~= 'table' or torch.isTensor(state)) then
    error(('nn.LSTM: the state must be a table {h, c}, got %s'):format(
          torch.typename(state) or type(state)), 3)
  end
  local h0, c0 = state and state[1], state and state[2]
  for i, s in ipairs({ { 'h', h0 }, { 'c', c0 } }) do
    if s[2] ~= nil and not torch.isTensor(s[2]) then
      error(('nn.LSTM: the state\'s %s (element %d) must be a tensor (numLayers*directions x B x H), got %s')
            :format(s[1], i, torch.typename(s[2]) or type(s[2])), 3)
    end
  end
  if not torch.isTensor(x) then
    error(('nn.LSTM: expected a tensor input, got %s'):format(torch.typename(x) or type(x)), 3)
  end
  -- an unbatched sequence (T x I), as PyTorch accepts it: a batch of one, squeezed back after
  local unbatched = x:dim() == 2 and x:size(2) == self.inputSize
  local bdim = self.batchFirst and 1 or 2
  if unbatched then
    x = x:unsqueeze(bdim)
    if h0 then h0 = h0:unsqueeze(2) end
    if c0 then c0 = c0:unsqueeze(2) end
  end
  local _, B = R.check_input(self, 'nn.LSTM', x, lengths)
  if h0 == nil and c0 == nil then
    local carried = R.carried(self, 'nn.LSTM', B, nil)
    if carried then h0, c0 = carried[1], carried[2] end
  end
  local out, hn, cn
  if self.bidirectional or lengths then
    local D = self.bidirectional and 2 or 1
    for _, kt in ipairs({ { 'h0', h0 }, { 'c0', c0 } }) do
      local k, t = kt[1], kt[2]
      if t ~= nil and (not torch.isTensor(t) or t:dim() ~= 3 or t:size(1) ~= self.numLayers * D
         or t:size(2) ~= B or t:size(3) ~= self.hiddenSize) then
        error(('nn.LSTM: %s must be [%d x %d x %d] (layers*directions x batch x hidden), got %s')
              :format(k, self.numLayers * D, B, self.hiddenSize, torch.isTensor(t)
                      and '[' .. shape_string(t) .. ']' or torch.typename(t) or type(t)), 3)
      end
    end
    if self.batchFirst then x = x:transpose(1, 2) end
    out, hn, cn = R.stack(self, 'lstm', x, h0, c0, lengths)
    if self.batchFirst then out = out:transpose(1, 2) end
  else
    local ws = workspaces[self]
    if not ws then
      ws = torch._lstmWorkspace()
      workspaces[self] = ws
    end
    out, hn, cn = torch.lstm(x, h0, c0, self:parameters(), {
      numLayers = self.numLayers, batchFirst = self.batchFirst, bias = self.useBias,
      dropout = self.dropout, train = self.train, workspace = ws,
    })
  end
  R.keep(self, { hn, cn })
  if unbatched then out, hn, cn = out:select(bdim, 1), hn:select(2, 1), cn:select(2, 1) end
  self.state = { hn, cn }
  self.output = self.returnState and { out, self.state } or out
  return self.output
end

-- forward(x [, {h0, c0} [, {lengths = L}]]) -> output, {h_n, c_n}
function LSTM:forward(input, state, opts)
  local out = parent.forward(self, R.pack(input, state, opts))
  if self._graphInput ~= nil then  -- Torch7 path: plain tensors, as the output
    self.state = { plain(self.state[1]), plain(self.state[2]) }
  end
  return out, self.state
end

function LSTM:__call(input, state, opts)
  local out = parent.__call(self, R.pack(input, state, opts))
  return out, self.state
end
LSTM.__call__ = LSTM.__call

LSTM.remember = R.remember
LSTM.resetState = R.resetState

-- for clearState(): the last state and the C workspace (buffers the size of a whole sequence)
function LSTM:_clearState()
  self.state, self._carry = nil, nil
  workspaces[self] = nil
  R.drop_workspaces(self)
end

function LSTM:__tostring__()
  local opts = {}
  if self.numLayers > 1 then opts[#opts + 1] = ('%d layers'):format(self.numLayers) end
  if self.bidirectional then opts[#opts + 1] = 'bidirectional' end
  if self.batchFirst then opts[#opts + 1] = 'batchFirst' end
  if not self.useBias then opts[#opts + 1] = 'without bias' end
  if self.dropout > 0 then opts[#opts + 1] = ('dropout %g'):format(self.dropout) end
  if self.stateful then opts[#opts + 1] = 'stateful' end
  return ('nn.LSTM(%d -> %d%s)'):format(self.inputSize, self.hiddenSize,
                                        #opts > 0 and ', ' .. table.concat(opts, ', ') or '')
end

-- ---- nn.LSTMCell ------------------------------------------------------------------------
local LSTMCell = torch.class('nn.LSTMCell', 'nn.Module')
LSTMCell._noBFloat16 = true   -- fused C kernels: Module:type refuses BFloat16 (Module.lua)

function LSTMCell:__init(inputSize, hiddenSize, bias)
  nn.Module.__init(self)
  if type(bias) == 'table' then   -- {bias = false}, PyTorch's keyword
    bias = check.options('nn.LSTMCell', bias, { bias = true }, 3).bias
  end
  check_size('nn.LSTMCell', 'inputSize', inputSize)
  check_size('nn.LSTMCell', 'hiddenSize', hiddenSize)
  self.inputSize, self.hiddenSize = inputSize, hiddenSize
  self.useBias = bias ~= false
  check_memory('nn.LSTMCell', 4.0 * hiddenSize * (inputSize + 0.0 + hiddenSize + (self.useBias and 2 or 0)))
  self._names = {}
  add_param(self, 'weight_ih', 4 * hiddenSize, inputSize)
  add_param(self, 'weight_hh', 4 * hiddenSize, hiddenSize)
  if self.useBias then
    add_param(self, 'bias_ih', 4 * hiddenSize)
    add_param(self, 'bias_hh', 4 * hiddenSize)
  end
  self:reset()
  self:_linkGradients()
end

LSTMCell.parameters = parameters
LSTMCell.namedParameters = named_parameters
LSTMCell.reset = reset

function LSTMCell:updateOutput(input)
  local x, h, c = split_input('nn.LSTMCell', input)
  if not torch.isTensor(x) then
    error(('nn.LSTMCell: expected a tensor input, got %s'):format(torch.typename(x) or type(x)), 3)
  end
  local d = x:dim()
  if (d ~= 1 and d ~= 2) or x:size(d) ~= self.inputSize then
    error(('nn.LSTMCell(%d -> %d): expected input of size [N x %d] or [%d], got [%s]'):format(
          self.inputSize, self.hiddenSize, self.inputSize, self.inputSize, shape_string(x)), 3)
  end
  local h1, c1 = torch.lstmCell(x, h, c, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
  self.output = { h1, c1 }
  return self.output
end

-- forward(x [, {h, c}]) -> {h', c'}; forward({x, {h, c}}) as well
function LSTMCell:forward(input, state)
  if torch.isTensor(input) then input = { input, state or {} } end
  return nn.Module.forward(self, input)
end

function LSTMCell:__call(input, state)
  if torch.isTensor(input) then input = { input, state or {} } end
  return nn.Module.__call(self, input)
end
LSTMCell.__call__ = LSTMCell.__call

function LSTMCell:__tostring__()
  return ('nn.LSTMCell(%d -> %d%s)'):format(self.inputSize, self.hiddenSize,
                                            self.useBias and '' or ' without bias')
end

return LSTM
