-- examples/lstm_cell_mnist.lua — the seed notebook in Lua: an LSTM cell written with nn.Linear
-- and tensor ops (autograd gives its backward), driven over the 28 rows of each image, then
-- Linear(128, 10), cross entropy, SGD lr 0.1, 6000 iterations.
--   luatorch examples/lstm_cell_mnist.lua [--dataset fashion] [--iters 6000] [--help]
local here = (arg and arg[0] or ''):match('^(.*)/') or '.'
package.path = here .. '/?.lua;' .. package.path
local torch = require 'torch'
local nn = require 'nn'
local seed = require 'seed'

-- The seed's LSTMCell: gates = x2h(x) + h2h(h); i, f, g, o = gates:chunk(4);
-- c' = f*c + i*g; h' = o*tanh(c'). Input: {x, {h, c}}; output: {h', c'}.
local LSTMCell, parent = torch.class('nn.SeedLSTMCell', 'nn.Container')

function LSTMCell:__init(inputSize, hiddenSize, bias)
  parent.__init(self)
  self.hiddenSize = hiddenSize
  self.x2h = nn.Linear(inputSize, 4 * hiddenSize, bias)
  -- The seed builds h2h as Linear(input_size, 4 * hidden_size), which only runs when the
  -- two sizes are equal; h2h multiplies h, so it takes hidden_size.
  self.h2h = nn.Linear(hiddenSize, 4 * hiddenSize, bias)
  self:add(self.x2h):add(self.h2h)
  self:resetParameters()
end

-- reset_parameters: every weight and bias uniform in +-1/sqrt(hidden_size)
function LSTMCell:resetParameters()
  local std = 1 / math.sqrt(self.hiddenSize)
  for _, p in ipairs(self:parameters()) do p:uniform(-std, std) end
end

function LSTMCell:updateOutput(input)
  local x, h, c = input[1], input[2][1], input[2][2]
  local gates = self.x2h(x) + self.h2h(h)
  local chunks = gates:chunk(4, 2)
  local ingate, forgetgate = torch.sigmoid(chunks[1]), torch.sigmoid(chunks[2])
  local cellgate, outgate = torch.tanh(chunks[3]), torch.sigmoid(chunks[4])
  local cy = torch.cmul(c, forgetgate) + torch.cmul(ingate, cellgate)
  local hy = torch.cmul(outgate, torch.tanh(cy))
  self.output = { hy, cy }
  return self.output
end

-- LSTMModel: the cell over the sequence (batch x 28 x 28), the last hidden state into fc.
local LSTMModel = torch.class('nn.SeedLSTMModel', 'nn.Container')

function LSTMModel:__init(inputDim, hiddenDim, outputDim)
  nn.Container.__init(self)
  self.hiddenDim = hiddenDim
  self.cell = LSTMCell(inputDim, hiddenDim)
  self.fc = nn.Linear(hiddenDim, outputDim)
  self:add(self.cell):add(self.fc)
end

function LSTMModel:updateOutput(x)
  local batch = x:size(1)
  local h = torch.zeros(batch, self.hiddenDim):typeAs(x)
  local c = torch.zeros(batch, self.hiddenDim):typeAs(x)
  for t = 1, x:size(2) do
    local hc = self.cell({ x:select(2, t), { h, c } })
    h, c = hc[1], hc[2]
  end
  self.output = self.fc(h)
  return self.output
end

local opt = seed.options(arg, 'The seed: an LSTM cell written in Lua, on MNIST read row by row')
local model = LSTMModel(28, opt.hidden, 10)
seed.print(model)
seed.run(model, opt, function(images) return images:view(-1, 28, 28) end)
