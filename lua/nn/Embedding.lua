-- nn.Embedding(numEmbeddings, embeddingDim [, {paddingIdx =, maxNorm =, normType = 2}]):
-- PyTorch's name and options for nn.LookupTable: rows of a (numEmbeddings x embeddingDim)
-- weight, initialised N(0, 1), picked by 1-based indices (an index tensor of shape S gives
-- S x embeddingDim).
--   paddingIdx: that row starts at zero and gets no gradient (its output is the row as it is);
--     negative counts from the end (-1 is the last row), as PyTorch's.
--   maxNorm: before each lookup, every looked-up row whose normType-norm exceeds maxNorm is
--     scaled in place to maxNorm (PyTorch's max_norm: scale maxNorm / (norm + 1e-7)).
--   scaleGradByFreq and sparse are not supported yet.
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local Embedding, parent = torch.class('nn.Embedding', 'nn.LookupTable')

local options = { paddingIdx = check.NONE, maxNorm = check.NONE, normType = 2,
                  scaleGradByFreq = check.unsupported(false), sparse = check.unsupported(false) }

function Embedding:__init(numEmbeddings, embeddingDim, opts)
  -- errors blame the caller of nn.Embedding(...), two frames up (the class's __call)
  local n = check.arg('nn.Embedding', 1, numEmbeddings, 'integer', 2)
  local d = check.arg('nn.Embedding', 2, embeddingDim, 'integer', 2)
  if n < 1 then check.argerror('nn.Embedding', 1, ('numEmbeddings must be positive, got %d'):format(n), 2) end
  if d < 1 then check.argerror('nn.Embedding', 2, ('embeddingDim must be positive, got %d'):format(d), 2) end
  local o = check.options('nn.Embedding', opts, options, 3)
  if o.paddingIdx ~= nil then
    local p = math.type(o.paddingIdx) == 'integer' and o.paddingIdx
              or (type(o.paddingIdx) == 'number' and math.tointeger(o.paddingIdx))
    if not p or p == 0 or p > n or p < -n then
      error(('nn.Embedding: paddingIdx must be a row 1..%d (or -%d..-1 from the end), got %s')
            :format(n, n, tostring(o.paddingIdx)), 3)
    end
    self.paddingIdx = p < 0 and p + n + 1 or p
  end
  if o.maxNorm ~= nil and not (type(o.maxNorm) == 'number' and o.maxNorm > 0) then
    error(('nn.Embedding: maxNorm must be a positive number, got %s'):format(tostring(o.maxNorm)), 3)
  end
  if type(o.normType) ~= 'number' then
    error(('nn.Embedding: normType must be a number, got %s'):format(type(o.normType)), 3)
  end
  self.maxNorm, self.normType = o.maxNorm, o.normType
  parent.__init(self, n, d)
end

-- N(0, 1), the padding row zero (PyTorch's reset_parameters)
function Embedding:reset(stdv)
  parent.reset(self, stdv)
  if self.paddingIdx then torch.noGrad(function() self.weight[self.paddingIdx]:zero() end) end
  return self
end

-- rows of weight by idx, with no gradient into row pad
local lookup_padded = torch.autograd.Function {
  forward = function(ctx, weight, idx, pad)
    ctx.idx, ctx.pad, ctx.rows = idx, pad, weight:size(1)
    return weight:index(1, idx)
  end,
  backward = function(ctx, g)
    local gw = torch.Tensor():typeAs(g):resize(ctx.rows, g:size(2)):zero()
    gw:indexAdd(1, ctx.idx, g)
    gw[ctx.pad]:zero()
    return gw
  end,
}

-- scales, in place, each distinct looked-up row whose norm exceeds maxNorm
local function renorm(self, flat)
  torch.noGrad(function()
    local w, p, maxNorm = self.weight, self.normType, self.maxNorm
    local over = w:index(1, flat):norm(p, 2):gt(maxNorm):view(-1)
    if over:max() == 0 then return end
    local done, host = {}, flat:isCuda() and flat:long() or flat
    local hover = over:isCuda() and over:byte() or over
    for k = 1, host:size(1) do
      local row = host[k]
      if hover[k] ~= 0 and not done[row] then
        done[row] = true
        local norm = w[row]:norm(p)
        if norm > maxNorm then w[row]:mul(maxNorm / (norm + 1e-7)) end
      end
    end
  end)
end

function Embedding:updateOutput(input)
  if not torch.isTensor(input) then
    error(('nn.Embedding: expected a tensor of indices, got %s'):format(torch.typename(input) or type(input)), 3)
  end
  nn._checkDevice(self, input, self.weight, 3)
  local t = input:type()
  local idx = (t == 'torch.LongTensor' or t == 'torch.CudaLongTensor') and input
              or (input:isCuda() and input:cudaLong() or input:long())
  local flat = idx:contiguous():view(-1)
  if flat:nElement() > 0 then
    local lo, hi = flat:min(), flat:max()
    if lo < 1 or hi > self.nIndex then
      error(('nn.Embedding: index %d out of range 1..%d'):format(lo < 1 and lo or hi, self.nIndex), 3)
    end
  end
  if self.maxNorm and flat:nElement() > 0 then renorm(self, flat) end
  local out
  if self.paddingIdx and self.weight.requiresGrad and torch.isGradEnabled() then
    out = lookup_padded(self.weight, flat, self.paddingIdx)
  else
    out = self.weight:index(1, flat)
  end
  local shape = idx:size():totable()
  shape[#shape + 1] = self.nOutput
  self.output = out:view(table.unpack(shape))
  return self.output
end

function Embedding:__tostring__()
  local extra = {}
  if self.paddingIdx then extra[#extra + 1] = 'paddingIdx = ' .. self.paddingIdx end
  if self.maxNorm then extra[#extra + 1] = ('maxNorm = %g'):format(self.maxNorm) end
  return ('nn.Embedding(%d, %d%s)'):format(self.nIndex, self.nOutput,
    #extra > 0 and ', {' .. table.concat(extra, ', ') .. '}' or '')
end

return Embedding
