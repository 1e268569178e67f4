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

-- per-module C workspaces, kept outside the module table so that clone/save never see them
local workspaces = setmetatable({}, { __mode = 'k' })

local function grad_name(name)
  return (name:gsub('^weight', 'gradWeight'):gsub('^bias', 'gradBias'))
end

local function check_size(cls, what, v)
  if math.type(v) ~= 'integer' or v < 1 then
    error(('%s: %s must be a positive integer, got %s'):format(cls, what, tostring(v)), 4)
  end
end

-- Parameters and their gradients are allocated one tensor at a time, each within bounds, so
-- a huge numLayers would allocate for minutes; their total is checked first, in floats (the
-- sizes may overflow integers), against the machine's memory.
local function check_memory(cls, elements)
  local esize = torch.getdefaulttensortype() == 'torch.DoubleTensor' and 8 or 4
  local bytes, limit = 2 * esize * elements, torch.allocatorStats().limitBytes
  if bytes > limit then
    error(('%s: the parameters and their gradients would need %.3g GB, more than this '
           .. "machine's memory (%.3g GB)"):format(cls, bytes / 1e9, limit / 1e9), 4)
  end
end

local function shape_string(t) return table.concat(t:size():totable(), ' x ') end

-- shared by both modules: parameters in the order of self._names
local function parameters(self)
  local params, grads = {}, {}
  for i, name in ipairs(self._names) do
    params[i], grads[i] = self[name], self[grad_name(name)]
  end
  return params, grads
end

local function named_parameters(self)
  local list = {}
  for i, name in ipairs(self._names) do list[i] = { name, self[name], self[grad_name(name)] } end
  return list
end

local function reset(self, stdv)
  stdv = stdv or 1 / math.sqrt(self.hiddenSize)
  torch.noGrad(function()
    for _, name in ipairs(self._names) do self[name]:uniform(-stdv, stdv) end
  end)
  return self
end

local function add_param(self, name, ...)
  self._names[#self._names + 1] = name
  self[name] = torch.Tensor(...)
  self[grad_name(name)] = torch.Tensor(...):zero()
end

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

local lstm_options = { batchFirst = false, bias = true, dropout = 0, returnState = false,
                       bidirectional = check.unsupported(false), projSize = check.unsupported(0) }

function LSTM:__init(inputSize, hiddenSize, numLayers, options)
  parent.__init(self)
  if type(numLayers) == 'table' then numLayers, options = nil, numLayers end
  numLayers, options = numLayers or 1, options or {}
  check_size('nn.LSTM', 'inputSize', inputSize)
  check_size('nn.LSTM', 'hiddenSize', hiddenSize)
  check_size('nn.LSTM', 'numLayers', numLayers)
  -- bidirectional and projSize are PyTorch's, not built yet: refused rather than ignored
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
  self._names = {}
  local H = hiddenSize
  -- in floats: integer sums of huge sizes wrap around
  local I, Hf, L, bias = inputSize + 0.0, H + 0.0, numLayers + 0.0, self.useBias and 2.0 or 0.0
  check_memory('nn.LSTM', 4 * Hf * (I + Hf + bias) + (L - 1) * 4 * Hf * (2 * Hf + bias))
  for l = 0, numLayers - 1 do
    local inp = l == 0 and inputSize or H
    add_param(self, 'weight_ih_l' .. l, 4 * H, inp)
    add_param(self, 'weight_hh_l' .. l, 4 * H, H)
    if self.useBias then
      add_param(self, 'bias_ih_l' .. l, 4 * H)
      add_param(self, 'bias_hh_l' .. l, 4 * H)
    end
  end
  self:reset()
  self:_linkGradients()
end

LSTM.parameters = parameters
LSTM.namedParameters = named_parameters
-- PyTorch's reset_parameters(): every weight and bias uniform in [-stdv, stdv],
-- stdv = 1/sqrt(hiddenSize)
LSTM.reset = reset

function LSTM:updateOutput(input)
  local x, h0, c0 = split_input('nn.LSTM', input)
  if not torch.isTensor(x) then
    error(('nn.LSTM: expected a tensor input, got %s'):format(torch.typename(x) or type(x)), 3)
  end
  -- an unbatched sequence (T x I), as PyTorch accepts it: a batch of one, squeezed back after
  local unbatched = x:dim() == 2 and x:size(2) == self.inputSize
  local bdim = self.batchFirst and 1 or 2
  if unbatched then
    x = x:unsqueeze(bdim)
    if h0 then h0, c0 = h0:unsqueeze(2), c0:unsqueeze(2) end
  end
  if x:dim() ~= 3 or x:size(3) ~= self.inputSize then
    error(('nn.LSTM(%d -> %d): expected input of size [%s x %d] or [T x %d], got [%s]'):format(
          self.inputSize, self.hiddenSize, self.batchFirst and 'B x T' or 'T x B',
          self.inputSize, self.inputSize, shape_string(x)), 3)
  end
  local ws = workspaces[self]
  if not ws then
    ws = torch._lstmWorkspace()
    workspaces[self] = ws
  end
  local params = self:parameters()
  local out, hn, cn = torch.lstm(x, h0, c0, params, {
    numLayers = self.numLayers, batchFirst = self.batchFirst, bias = self.useBias,
    dropout = self.dropout, train = self.train, workspace = ws,
  })
  if unbatched then out, hn, cn = out:select(bdim, 1), hn:select(2, 1), cn:select(2, 1) end
  self.state = { hn, cn }
  self.output = self.returnState and { out, self.state } or out
  return self.output
end

-- forward(x [, {h0, c0}]) -> output, {h_n, c_n}
function LSTM:forward(input, state)
  if state ~= nil then input = { input, state } end
  local out = parent.forward(self, input)
  if self._graphInput ~= nil then  -- Torch7 path: plain tensors, as the output
    self.state = { plain(self.state[1]), plain(self.state[2]) }
  end
  return out, self.state
end

function LSTM:__call(input, state)
  if state ~= nil then input = { input, state } end
  local out = parent.__call(self, input)
  return out, self.state
end
LSTM.__call__ = LSTM.__call

-- for clearState(): the last state and the C workspace (buffers the size of a whole sequence)
function LSTM:_clearState()
  self.state = nil
  workspaces[self] = nil
end

function LSTM:__tostring__()
  local opts = {}
  if self.numLayers > 1 then opts[#opts + 1] = ('%d layers'):format(self.numLayers) end
  if self.batchFirst then opts[#opts + 1] = 'batchFirst' end
  if not self.useBias then opts[#opts + 1] = 'without bias' end
  if self.dropout > 0 then opts[#opts + 1] = ('dropout %g'):format(self.dropout) end
  return ('nn.LSTM(%d -> %d%s)'):format(self.inputSize, self.hiddenSize,
                                        #opts > 0 and ', ' .. table.concat(opts, ', ') or '')
end

-- ---- nn.LSTMCell ------------------------------------------------------------------------
local LSTMCell = torch.class('nn.LSTMCell', 'nn.Module')

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
