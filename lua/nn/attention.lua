-- Attention layers with PyTorch's semantics, parameter names and initialisation, written in Lua
-- from differentiable tensor ops (torch.linear, bmm, softmax, LayerNorm ...), so autograd gives
-- the backward (both loop styles) and CUDA tensors run on the device through the same ops.
--
-- nn.MultiheadAttention(embedDim, numHeads [, {dropout = 0, bias = true, batchFirst = false,
--                                               kdim = embedDim, vdim = embedDim}])
--   PyTorch's torch.nn.MultiheadAttention. Parameters (PyTorch's names, shapes, order and init):
--   in_proj_weight [3E x E] (when kdim = vdim = E; else q_proj_weight [E x E], k_proj_weight
--   [E x kdim], v_proj_weight [E x vdim]), in_proj_bias [3E], out_proj.weight [E x E],
--   out_proj.bias [E] (out_proj is an nn.Linear child). The projection weights are
--   xavier_uniform, in_proj_bias and out_proj.bias zeros, out_proj.weight nn.Linear's init.
--   Gradients: grad_in_proj_weight, grad_q_proj_weight, ..., grad_in_proj_bias (and p.grad).
--   Calls: m(query, key, value [, opts]) (PyTorch style), m:forward({query, key, value} [, opts])
--   (Torch7 style; also m:forward(query, key, value [, opts])) -> output, attention weights.
--   opts: keyPaddingMask (B x S, or S unbatched), attnMask (L x S, or (B*numHeads) x L x S),
--   needWeights (true), averageAttnWeights (true), isCausal (false).
--   Shapes: query L x B x E, key S x B x kdim, value S x B x vdim (batchFirst: B first), or
--   unbatched L x E, S x kdim, S x vdim. The output has the query's layout; the weights are
--   B x L x S averaged over the heads (B x numHeads x L x S with averageAttnWeights = false;
--   no B unbatched), nil with needWeights = false. Masks: a ByteTensor is boolean (1 = masked
--   out, PyTorch's True = not allowed to attend), a float tensor is added to the scores (-inf
--   masks out). A query row whose keys are all masked gets what PyTorch gives: NaN (output
--   and weights, 0/0 in the softmax) with needWeights = true; with needWeights = false (and
--   in the Transformer layers, which do not ask for weights) its attention is zero, so its
--   output is out_proj.bias. isCausal: PyTorch takes it as a hint that attnMask is causal and
--   refuses it without attnMask; here, without attnMask, the causal mask (key j > query i
--   masked) is built, with attnMask the mask given is used (as PyTorch).
--   Dropout: on the attention weights in training mode (m:training()), none after m:evaluate().
--
-- nn.TransformerEncoderLayer(dModel, nhead [, {dimFeedforward = 2048, dropout = 0.1,
--   activation = 'relu' | 'gelu' | function, layerNormEps = 1e-5, batchFirst = false,
--   normFirst = false, bias = true}]): PyTorch's layer (post-norm, or pre-norm with normFirst);
--   children self_attn, linear1, dropout, linear2, norm1, norm2, dropout1, dropout2 under
--   PyTorch's names. m(src [, {srcMask, srcKeyPaddingMask, isCausal}]) -> output.
-- nn.TransformerEncoder(layer, numLayers [, norm]): numLayers deep copies of layer
--   (layers.0., layers.1., ...) and an optional final norm; m(src [, {mask, srcKeyPaddingMask,
--   isCausal}]).
-- nn.TransformerDecoderLayer(dModel, nhead [, options as the encoder layer's]): self_attn,
--   multihead_attn, linear1, linear2, norm1..3; m(tgt, memory [, {tgtMask, memoryMask,
--   tgtKeyPaddingMask, memoryKeyPaddingMask, tgtIsCausal, memoryIsCausal}]), or
--   m:forward({tgt, memory} [, opts]).
-- nn.Transformer.generateSquareSubsequentMask(n): PyTorch's float causal mask, n x n, -inf above
--   the diagonal and 0 elsewhere (the default tensor type).
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local shape_str = nn._shapeStr

-- PyTorch's spellings of the options below: errors that name ours
for py, lt in pairs({
  key_padding_mask = 'keyPaddingMask', attn_mask = 'attnMask', need_weights = 'needWeights',
  average_attn_weights = 'averageAttnWeights', is_causal = 'isCausal',
  add_bias_kv = 'addBiasKv', add_zero_attn = 'addZeroAttn', embed_dim = 'embedDim',
  num_heads = 'numHeads', dim_feedforward = 'dimFeedforward', layer_norm_eps = 'layerNormEps',
  norm_first = 'normFirst', src_mask = 'srcMask', src_key_padding_mask = 'srcKeyPaddingMask',
  tgt_mask = 'tgtMask', memory_mask = 'memoryMask', tgt_key_padding_mask = 'tgtKeyPaddingMask',
  memory_key_padding_mask = 'memoryKeyPaddingMask', tgt_is_causal = 'tgtIsCausal',
  memory_is_causal = 'memoryIsCausal',
}) do
  if check.aliases[py] == nil then check.aliases[py] = lt end
end

local function fail(cls, fmt, ...)
  error(cls .. ': ' .. fmt:format(...), 0)
end

local function describe(v)
  if torch.isTensor(v) then
    local ok, d = pcall(function() return v:type() .. ' [' .. shape_str(v) .. ']' end)
    return ok and d or 'a freed tensor'
  end
  return torch.typename(v) or type(v)
end

local function positive(cls, what, v)
  if math.type(v) ~= 'integer' or v < 1 then
    fail(cls, '%s must be a positive integer, got %s', what, tostring(v))
  end
  return v
end

local function probability(cls, v)
  if type(v) ~= 'number' or v ~= v or v < 0 or v >= 1 then
    fail(cls, 'dropout must be a number in [0, 1), got %s', tostring(v))
  end
  return v
end

local function boolean(cls, what, v)
  if type(v) ~= 'boolean' then fail(cls, '%s must be a boolean, got %s', what, describe(v)) end
  return v
end

-- ---- composite modules: own parameters, then named children ---------------------------------
-- self._params: the own parameters' names (the gradient of p is self['grad_' .. p]);
-- self.modules: the children, self._childNames their PyTorch names ('out_proj', 'layers.0')
local function grad_field(name) return 'grad_' .. name end

local function add_param(self, name, ...)
  self._params[#self._params + 1] = name
  self[name] = torch.Tensor(...)
  self[grad_field(name)] = torch.Tensor(...):zero()
end

local function composite_parameters(self)
  local params, grads = {}, {}
  for _, name in ipairs(self._params or {}) do
    params[#params + 1], grads[#grads + 1] = self[name], self[grad_field(name)]
  end
  for _, m in ipairs(self.modules) do
    local p, g = m:parameters()
    for i = 1, #(p or {}) do params[#params + 1], grads[#grads + 1] = p[i], g[i] end
  end
  if #params == 0 then return nil end
  return params, grads
end

local function composite_named(self)
  local list = {}
  for _, name in ipairs(self._params or {}) do
    list[#list + 1] = { name, self[name], self[grad_field(name)] }
  end
  for i, m in ipairs(self.modules) do
    for _, e in ipairs(m:namedParameters()) do
      list[#list + 1] = { self._childNames[i] .. '.' .. e[1], e[2], e[3] }
    end
  end
  return list
end

local function composite_buffers(self)
  local list = {}
  for i, m in ipairs(self.modules) do
    if m.namedBuffers then
      for _, e in ipairs(m:namedBuffers()) do list[#list + 1] = { self._childNames[i] .. '.' .. e[1], e[2] } end
    end
  end
  return list
end

local function composite(cls)
  cls.parameters = composite_parameters
  cls.namedParameters = composite_named
  cls.namedBuffers = composite_buffers
  -- the mode reaches the children as a container's does (they read self.modules only)
  cls.training, cls.evaluate = nn.Container.training, nn.Container.evaluate
end

local function add_child(self, name, m)
  self.modules[#self.modules + 1] = m
  self._childNames[#self._childNames + 1] = name
  if not name:find('.', 1, true) then self[name] = m end
  return m
end

-- forward's options are kept beside the input (not in it), so that Torch7's backward gives
-- the gradient of the input tensors only; updateOutput reads them.
local function with_options(self, opts, fn, ...)
  self._callOpts = opts
  local r = table.pack(pcall(fn, ...))
  self._callOpts = nil
  if not r[1] then error(r[2], 0) end
  return table.unpack(r, 2, r.n)
end

local function is_options(v)
  return v == nil or (type(v) == 'table' and not torch.isTensor(v) and v[1] == nil)
end

-- x W^T + b over the last dim of an input of any number of dims
local function linear(x, w, b)
  local sizes = x:size():totable()
  local n = sizes[#sizes]
  sizes[#sizes] = w:size(1)
  return torch.linear(x:reshape(x:nElement() // n, n), w, b):view(table.unpack(sizes))
end

-- inverted dropout (nn.Dropout's): zeroes with probability p in training, scales by 1/(1-p)
local function dropout(x, p, train)
  if not train or p == 0 then return x end
  local noise = torch.noGrad(function()
    local mask = torch.Tensor():typeAs(x):resizeAs(x)
    local ok, err = pcall(mask.bernoulli, mask, 1 - p)
    if not ok then
      if not (x:isCuda() and tostring(err):find('not implemented for CUDA', 1, true)) then
        error(err, 0)
      end
      mask = torch.Tensor():type(nn._hostTypeOf[x:type()]):resizeAs(x):bernoulli(1 - p):type(x:type())
    end
    return mask:div(1 - p)
  end)
  return torch.cmul(x, noise)
end

-- ---- masks ----------------------------------------------------------------------------------
local byte_types = { ['torch.ByteTensor'] = true, ['torch.CudaByteTensor'] = true }

-- a mask as an additive float mask of like's type: a ByteTensor's nonzeros become -inf
local function float_mask(cls, what, mask, like)
  if not torch.isTensor(mask) then
    fail(cls, '%s must be a tensor (a ByteTensor: 1 = masked out, or a float tensor added to the '
         .. 'scores), got %s', what, describe(mask))
  end
  if mask:isCuda() ~= like:isCuda() then
    fail(cls, '%s is on %s, the query on %s', what, mask:isCuda() and 'the GPU' or 'the CPU',
         like:isCuda() and 'the GPU' or 'the CPU')
  end
  if byte_types[mask:type()] then
    return torch.noGrad(function()
      local f = torch.Tensor():typeAs(like):resize(mask:size()):zero()
      f:maskedFill(mask, -math.huge)
      return f
    end)
  end
  if not nn._floatingTypes[mask:type()] then
    fail(cls, '%s must be a ByteTensor (boolean: 1 = masked out) or a float tensor (added to the '
         .. 'scores), got %s', what, mask:type())
  end
  if mask:type() ~= like:type() then mask = mask:type(like:type()) end
  return mask
end

local function sizes_are(t, ...)
  local want = { ... }
  if t:dim() ~= #want then return false end
  for i, s in ipairs(want) do if t:size(i) ~= s then return false end end
  return true
end

-- softmax over the last dim, rows whose scores are all -inf (every key masked) giving zeros:
-- PyTorch's _safe_softmax, which its scaled_dot_product_attention (the needWeights = false
-- path) uses; the scores of such rows are replaced before the softmax, so no NaN reaches the
-- gradients either
local function safe_softmax(scores)
  local dead = torch.noGrad(function()
    return torch.eq(torch.max(scores:detach(), scores:dim()), -math.huge)
  end)
  if dead:sum() == 0 then return torch.softmax(scores, scores:dim()) end
  dead = dead:expandAs(scores)
  return torch.where(dead, 0, torch.softmax(torch.where(dead, 0, scores), scores:dim()))
end

-- PyTorch's causal mask: L x S, -inf where key j > query i
local function causal_mask(L, S, like)
  return torch.noGrad(function()
    return torch.triu(torch.Tensor():typeAs(like):resize(L, S):fill(-math.huge), 1)
  end)
end

-- ---- nn.MultiheadAttention --------------------------------------------------------------------
local MHA, MHAParent = torch.class('nn.MultiheadAttention', 'nn.Module')
composite(MHA)

local MHA_NAME = 'nn.MultiheadAttention'
local mha_options = {
  dropout = 0, bias = true, batchFirst = false, kdim = check.NONE, vdim = check.NONE,
  addBiasKv = check.unsupported(false), addZeroAttn = check.unsupported(false),
  device = check.unsupported(nil), dtype = check.unsupported(nil),
}

function MHA:__init(embedDim, numHeads, options)
  MHAParent.__init(self)
  positive(MHA_NAME, 'embedDim', embedDim)
  positive(MHA_NAME, 'numHeads', numHeads)
  local o = check.options(MHA_NAME, options, mha_options, 3)
  if embedDim % numHeads ~= 0 then
    fail(MHA_NAME, 'embedDim (%d) must be divisible by numHeads (%d)', embedDim, numHeads)
  end
  self.embedDim, self.numHeads, self.headDim = embedDim, numHeads, embedDim // numHeads
  self.kdim = o.kdim == nil and embedDim or positive(MHA_NAME, 'kdim', o.kdim)
  self.vdim = o.vdim == nil and embedDim or positive(MHA_NAME, 'vdim', o.vdim)
  self.dropout = probability(MHA_NAME, o.dropout)
  self.batchFirst = boolean(MHA_NAME, 'batchFirst', o.batchFirst)
  self.useBias = boolean(MHA_NAME, 'bias', o.bias)
  self.qkvSameEmbedDim = self.kdim == embedDim and self.vdim == embedDim
  local E = embedDim
  if E * E > 2^31 then fail(MHA_NAME, 'embedDim %d is too large', E) end
  self._params, self.modules, self._childNames = {}, {}, {}
  if self.qkvSameEmbedDim then
    add_param(self, 'in_proj_weight', 3 * E, E)
  else
    add_param(self, 'q_proj_weight', E, E)
    add_param(self, 'k_proj_weight', E, self.kdim)
    add_param(self, 'v_proj_weight', E, self.vdim)
  end
  if self.useBias then add_param(self, 'in_proj_bias', 3 * E) end
  add_child(self, 'out_proj', nn.Linear(E, E, self.useBias))
  self:reset()
  self:_linkGradients()
end

-- PyTorch's _reset_parameters(): xavier_uniform on the projection weights (each in its own
-- fans: in_proj_weight's are E and 3E), zeros for in_proj_bias and out_proj.bias; out_proj's
-- weight keeps nn.Linear's init (uniform in +-1/sqrt(E))
function MHA:reset()
  torch.noGrad(function()
    for _, name in ipairs(self._params) do
      local p = self[name]
      if p:dim() == 2 then
        local bound = math.sqrt(6 / (p:size(1) + p:size(2)))
        p:uniform(-bound, bound)
      else
        p:zero()
      end
    end
    self.out_proj:reset()
    if self.out_proj.bias then self.out_proj.bias:zero() end
  end)
  return self
end

local function check_qkv(self, q, k, v)
  local names, qkv = { 'query', 'key', 'value' }, { q, k, v }
  for i = 1, 3 do
    local t = qkv[i]
    if not torch.isTensor(t) or not pcall(t.dim, t) then
      fail(MHA_NAME, 'expected {query, key, value} tensors, got %s for the %s', describe(t), names[i])
    end
    if not nn._floatingTypes[t:type()] then
      fail(MHA_NAME, 'the %s must be a float tensor, got %s', names[i], t:type())
    end
  end
  local E, bf = self.embedDim, self.batchFirst
  local d = q:dim()
  local layout = bf and 'B x L' or 'L x B'
  local function shapes()
    return ('query [%s], key [%s], value [%s]'):format(shape_str(q), shape_str(k), shape_str(v))
  end
  if d ~= 2 and d ~= 3 then
    fail(MHA_NAME, 'expected a query of size [%s x %d] (or [L x %d] unbatched), got %s', layout, E, E, shapes())
  end
  if k:dim() ~= d or v:dim() ~= d then
    fail(MHA_NAME, 'the query has %d dims, so key and value must have %d too; got %s', d, d, shapes())
  end
  if q:size(d) ~= E or k:size(d) ~= self.kdim or v:size(d) ~= self.vdim then
    fail(MHA_NAME, 'expected query, key and value with last sizes %d, %d and %d (embedDim, kdim, vdim); '
         .. 'got %s', E, self.kdim, self.vdim, shapes())
  end
  if d == 3 then
    local bd = bf and 1 or 2
    local sd = bf and 2 or 1
    if k:size(bd) ~= q:size(bd) or v:size(bd) ~= q:size(bd) then
      fail(MHA_NAME, 'query, key and value must have the same batch size (dim %d, %s layout); got %s',
           bd, bf and 'batchFirst' or 'sequence-first', shapes())
    end
    if k:size(sd) ~= v:size(sd) then
      fail(MHA_NAME, 'key and value must have the same sequence length; got %s', shapes())
    end
  elseif k:size(1) ~= v:size(1) then
    fail(MHA_NAME, 'key and value must have the same sequence length; got %s', shapes())
  end
  nn._checkDevice(self, q, self.out_proj.weight, 4)
  if k:isCuda() ~= q:isCuda() or v:isCuda() ~= q:isCuda() then
    fail(MHA_NAME, 'query, key and value must be on one device')
  end
end

local attend_options = {
  keyPaddingMask = check.NONE, attnMask = check.NONE, needWeights = true,
  averageAttnWeights = true, isCausal = false,
}

-- the computation (PyTorch's F.multi_head_attention_forward): -> output, weights (or nil)
function MHA:_attend(query, key, value, opts)
  local o = check.options(MHA_NAME, opts, attend_options, 3)
  check_qkv(self, query, key, value)
  local needWeights = boolean(MHA_NAME, 'needWeights', o.needWeights)
  local average = boolean(MHA_NAME, 'averageAttnWeights', o.averageAttnWeights)
  local isCausal = boolean(MHA_NAME, 'isCausal', o.isCausal)
  local E, Hn, hd = self.embedDim, self.numHeads, self.headDim
  local batched = query:dim() == 3
  local q, k, v = query, key, value
  if not batched then
    q, k, v = q:unsqueeze(2), k:unsqueeze(2), v:unsqueeze(2)
  elseif self.batchFirst then
    q, k, v = q:transpose(1, 2), k:transpose(1, 2), v:transpose(1, 2)
  end
  local L, B, S = q:size(1), q:size(2), k:size(1)

  -- masks: one additive float mask of (1 or B*Hn) x (1 or L) x S
  local mask
  if o.attnMask ~= nil then
    local am = o.attnMask
    if torch.isTensor(am) and sizes_are(am, L, S) then
      mask = float_mask(MHA_NAME, 'attnMask', am, q):view(1, L, S)
    elseif torch.isTensor(am) and sizes_are(am, B * Hn, L, S) then
      mask = float_mask(MHA_NAME, 'attnMask', am, q)
    else
      fail(MHA_NAME, 'attnMask must be [%d x %d] (L x S) or [%d x %d x %d] (%snumHeads x L x S), got %s',
           L, S, B * Hn, L, S, batched and 'B*' or '', describe(am))
    end
  elseif isCausal then
    mask = causal_mask(L, S, q):view(1, L, S)
  end
  if o.keyPaddingMask ~= nil then
    local kpm = o.keyPaddingMask
    local ok = torch.isTensor(kpm) and (batched and sizes_are(kpm, B, S) or (not batched and sizes_are(kpm, S)))
    if not ok then
      fail(MHA_NAME, 'keyPaddingMask must be [%s] (%s), got %s', batched and (B .. ' x ' .. S) or tostring(S),
           batched and 'B x S' or 'S', describe(kpm))
    end
    local f = float_mask(MHA_NAME, 'keyPaddingMask', kpm, q)
    f = f:reshape(B, 1, 1, S):expand(B, Hn, 1, S):reshape(B * Hn, 1, S)
    mask = mask and torch.add(mask, f) or f
  end

  -- in-projections
  local wq, wk, wv
  if self.qkvSameEmbedDim then
    local w = self.in_proj_weight
    wq, wk, wv = w:narrow(1, 1, E), w:narrow(1, E + 1, E), w:narrow(1, 2 * E + 1, E)
  else
    wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
  end
  local bq, bk, bv
  if self.in_proj_bias then
    local b = self.in_proj_bias
    bq, bk, bv = b:narrow(1, 1, E), b:narrow(1, E + 1, E), b:narrow(1, 2 * E + 1, E)
  end
  q, k, v = linear(q, wq, bq), linear(k, wk, bk), linear(v, wv, bv)

  -- heads: (L, B, E) -> (B*Hn, L, hd), batch-major (row b*Hn + h), as PyTorch's view/transpose
  q = q:reshape(L, B * Hn, hd):transpose(1, 2)
  k = k:reshape(S, B * Hn, hd):transpose(1, 2)
  v = v:reshape(S, B * Hn, hd):transpose(1, 2)
  local scores = torch.bmm(torch.mul(q, math.sqrt(1 / hd)), k:transpose(2, 3))
  if mask then scores = torch.add(scores, mask) end
  -- a row with every key masked: NaN with needWeights (PyTorch's weights path), zeros without
  -- (PyTorch's scaled_dot_product_attention path)
  local attn = (mask and not needWeights) and safe_softmax(scores) or torch.softmax(scores, 3)
  attn = dropout(attn, self.dropout, self.train)
  local out = torch.bmm(attn, v)                                   -- B*Hn x L x hd
  out = out:transpose(1, 2):reshape(L * B, E)
  out = torch.linear(out, self.out_proj.weight, self.out_proj.bias):view(L, B, E)

  local weights
  if needWeights then
    weights = attn:view(B, Hn, L, S)
    if average then weights = torch.mean(weights, 2):view(B, L, S) end
  end
  if not batched then
    out = out:select(2, 1)
    if weights then weights = weights:select(1, 1) end
  elseif self.batchFirst then
    out = out:transpose(1, 2)
  end
  return out, weights
end

local function split_qkv(input, key, value, opts)
  if torch.isTensor(input) then return { input, key, value }, opts end
  if type(input) ~= 'table' then
    fail(MHA_NAME, 'expected {query, key, value} (or query, key, value), got %s', describe(input))
  end
  if opts == nil and is_options(key) then opts = key end
  if input[4] ~= nil and opts == nil then opts = input[4] end
  if #input < 3 then
    fail(MHA_NAME, 'expected {query, key, value}, got a table of %d elements', #input)
  end
  return { input[1], input[2], input[3] }, opts
end

function MHA:updateOutput(input)
  if type(input) ~= 'table' or torch.isTensor(input) then
    fail(MHA_NAME, 'expected {query, key, value}, got %s', describe(input))
  end
  local out, weights = self:_attend(input[1], input[2], input[3], self._callOpts)
  self.attnWeights = weights
  self.output = out
  return out
end

-- forward({query, key, value} [, opts]) or forward(query, key, value [, opts]) -> output, weights
function MHA:forward(input, key, value, opts)
  local qkv
  qkv, opts = split_qkv(input, key, value, opts)
  if opts ~= nil and not is_options(opts) then
    fail(MHA_NAME, 'the options must be a table {keyPaddingMask =, attnMask =, ...}, got %s', describe(opts))
  end
  local out = with_options(self, opts, MHAParent.forward, self, qkv)
  if self._graphInput ~= nil and self.attnWeights then   -- Torch7 path: plain tensors
    self.attnWeights = self.attnWeights:detach()
  end
  return out, self.attnWeights
end

function MHA:__call(input, ...)
  local out = MHAParent.__call(self, input, ...)
  return out, self.attnWeights
end
MHA.__call__ = MHA.__call

function MHA:_clearState() self.attnWeights = nil end

function MHA:__tostring__()
  local extra = {}
  if not self.qkvSameEmbedDim then extra[#extra + 1] = ('kdim %d, vdim %d'):format(self.kdim, self.vdim) end
  if self.batchFirst then extra[#extra + 1] = 'batchFirst' end
  if not self.useBias then extra[#extra + 1] = 'without bias' end
  if self.dropout > 0 then extra[#extra + 1] = ('dropout %g'):format(self.dropout) end
  return ('nn.MultiheadAttention(%d, %d heads%s)'):format(self.embedDim, self.numHeads,
         #extra > 0 and ', ' .. table.concat(extra, ', ') or '')
end

-- ---- feed-forward pieces shared by the encoder and decoder layers ----------------------------
local layer_options = {
  dimFeedforward = 2048, dropout = 0.1, activation = 'relu', layerNormEps = 1e-5,
  batchFirst = false, normFirst = false, bias = true,
  device = check.unsupported(nil), dtype = check.unsupported(nil),
}

local SQRT1_2 = math.sqrt(0.5)
local function activate(self, x)
  local a = self.activation
  if a == 'relu' then return torch.relu(x) end
  if a == 'gelu' then   -- exact: x * Phi(x), as PyTorch's F.gelu
    return torch.mul(torch.cmul(x, torch.add(torch.erf(torch.mul(x, SQRT1_2)), 1)), 0.5)
  end
  local y = a(x)
  if not torch.isTensor(y) then
    fail(torch.typename(self), 'the activation function returned %s, not a tensor', describe(y))
  end
  return y
end

local function setup_layer(self, cls, dModel, nhead, options)
  positive(cls, 'dModel', dModel)
  positive(cls, 'nhead', nhead)
  local o = check.options(cls, options, layer_options, 4)
  self.dModel, self.nhead = dModel, nhead
  self.dimFeedforward = positive(cls, 'dimFeedforward', o.dimFeedforward)
  local p = probability(cls, o.dropout)
  local act = o.activation
  if act ~= 'relu' and act ~= 'gelu' and type(act) ~= 'function' then
    fail(cls, "activation must be 'relu', 'gelu' or a function, got %s", type(act) == 'string' and
         ("'" .. act .. "'") or describe(act))
  end
  self.activation = act
  if type(o.layerNormEps) ~= 'number' or not (o.layerNormEps >= 0) then
    fail(cls, 'layerNormEps must be a non-negative number, got %s', tostring(o.layerNormEps))
  end
  self.layerNormEps = o.layerNormEps
  self.batchFirst = boolean(cls, 'batchFirst', o.batchFirst)
  self.normFirst = boolean(cls, 'normFirst', o.normFirst)
  self.useBias = boolean(cls, 'bias', o.bias)
  if dModel % nhead ~= 0 then
    fail(cls, 'dModel (%d) must be divisible by nhead (%d)', dModel, nhead)
  end
  self.modules, self._childNames = {}, {}
  return p
end

local function mha_for(self, p)
  return nn.MultiheadAttention(self.dModel, self.nhead,
                               { dropout = p, bias = self.useBias, batchFirst = self.batchFirst })
end

local function layer_norm(self)
  return nn.LayerNorm(self.dModel, { eps = self.layerNormEps, bias = self.useBias })
end

-- linear2(dropout(activation(linear1(x))))
local function feed_forward(self, x)
  local h = activate(self, linear(x, self.linear1.weight, self.linear1.bias))
  h = self.dropout:updateOutput(h)
  return linear(h, self.linear2.weight, self.linear2.bias)
end

local function check_src(cls, self, x, what)
  if not torch.isTensor(x) or not pcall(x.dim, x) then
    fail(cls, 'expected a tensor %s, got %s', what, describe(x))
  end
  if (x:dim() ~= 2 and x:dim() ~= 3) or x:size(x:dim()) ~= self.dModel then
    fail(cls, 'expected a %s of size [%s x %d] (or [L x %d] unbatched), got [%s]', what,
         self.batchFirst and 'B x L' or 'L x B', self.dModel, self.dModel, shape_str(x))
  end
end

-- ---- nn.TransformerEncoderLayer -------------------------------------------------------------
local TEL, TELParent = torch.class('nn.TransformerEncoderLayer', 'nn.Module')
composite(TEL)
local TEL_NAME = 'nn.TransformerEncoderLayer'

function TEL:__init(dModel, nhead, options)
  TELParent.__init(self)
  local p = setup_layer(self, TEL_NAME, dModel, nhead, options)
  add_child(self, 'self_attn', mha_for(self, p))
  add_child(self, 'linear1', nn.Linear(dModel, self.dimFeedforward, self.useBias))
  add_child(self, 'dropout', nn.Dropout(p))
  add_child(self, 'linear2', nn.Linear(self.dimFeedforward, dModel, self.useBias))
  add_child(self, 'norm1', layer_norm(self))
  add_child(self, 'norm2', layer_norm(self))
  add_child(self, 'dropout1', nn.Dropout(p))
  add_child(self, 'dropout2', nn.Dropout(p))
  self:_linkGradients()
end

local encoder_layer_options = { srcMask = check.NONE, srcKeyPaddingMask = check.NONE, isCausal = false }

function TEL:_encode(src, opts)
  local o = check.options(TEL_NAME, opts, encoder_layer_options, 3)
  check_src(TEL_NAME, self, src, 'src')
  local function sa(x)
    local y = self.self_attn:_attend(x, x, x, { attnMask = o.srcMask, keyPaddingMask = o.srcKeyPaddingMask,
                                                needWeights = false, isCausal = o.isCausal })
    return self.dropout1:updateOutput(y)
  end
  local function ff(x) return self.dropout2:updateOutput(feed_forward(self, x)) end
  local x = src
  if self.normFirst then
    x = x + sa(self.norm1:updateOutput(x))
    x = x + ff(self.norm2:updateOutput(x))
  else
    x = self.norm1:updateOutput(x + sa(x))
    x = self.norm2:updateOutput(x + ff(x))
  end
  return x
end

function TEL:updateOutput(input)
  self.output = self:_encode(input, self._callOpts)
  return self.output
end

-- forward(src [, {srcMask, srcKeyPaddingMask, isCausal}])
function TEL:forward(src, opts)
  if torch.isTensor(src) and opts ~= nil and not is_options(opts) then
    fail(TEL_NAME, 'the options must be a table {srcMask =, srcKeyPaddingMask =, isCausal =}, got %s',
         describe(opts))
  end
  return with_options(self, opts, TELParent.forward, self, src)
end

function TEL:__tostring__()
  return ('nn.TransformerEncoderLayer(%d, %d heads, feed-forward %d%s%s)'):format(self.dModel, self.nhead,
         self.dimFeedforward, self.normFirst and ', normFirst' or '', self.batchFirst and ', batchFirst' or '')
end

-- ---- nn.TransformerEncoder --------------------------------------------------------------------
local TE, TEParent = torch.class('nn.TransformerEncoder', 'nn.Module')
composite(TE)
local TE_NAME = 'nn.TransformerEncoder'

function TE:__init(layer, numLayers, norm)
  TEParent.__init(self)
  if not torch.isTypeOf(layer, 'nn.TransformerEncoderLayer') then
    fail(TE_NAME, 'expected an nn.TransformerEncoderLayer, got %s', describe(layer))
  end
  self.numLayers = positive(TE_NAME, 'numLayers', numLayers)
  if norm ~= nil and not torch.isTypeOf(norm, 'nn.Module') then
    fail(TE_NAME, 'norm must be an nn.Module (nn.LayerNorm) or nil, got %s', describe(norm))
  end
  self.modules, self._childNames, self.layers = {}, {}, {}
  for i = 1, numLayers do
    self.layers[i] = add_child(self, 'layers.' .. (i - 1), layer:clone())
  end
  if norm then add_child(self, 'norm', norm) end
  self:_linkGradients()
end

local encoder_options = { mask = check.NONE, srcKeyPaddingMask = check.NONE, isCausal = false }

function TE:updateOutput(input)
  local o = check.options(TE_NAME, self._callOpts, encoder_options, 3)
  local x = input
  for _, layer in ipairs(self.layers) do
    x = layer:_encode(x, { srcMask = o.mask, srcKeyPaddingMask = o.srcKeyPaddingMask, isCausal = o.isCausal })
  end
  if self.norm then x = self.norm:updateOutput(x) end
  self.output = x
  return x
end

-- forward(src [, {mask, srcKeyPaddingMask, isCausal}])
function TE:forward(src, opts)
  if torch.isTensor(src) and opts ~= nil and not is_options(opts) then
    fail(TE_NAME, 'the options must be a table {mask =, srcKeyPaddingMask =, isCausal =}, got %s', describe(opts))
  end
  return with_options(self, opts, TEParent.forward, self, src)
end

function TE:__tostring__()
  return ('nn.TransformerEncoder(%d x %s%s)'):format(self.numLayers, tostring(self.layers[1]),
                                                      self.norm and ', norm' or '')
end

-- ---- nn.TransformerDecoderLayer -------------------------------------------------------------
local TDL, TDLParent = torch.class('nn.TransformerDecoderLayer', 'nn.Module')
composite(TDL)
local TDL_NAME = 'nn.TransformerDecoderLayer'

function TDL:__init(dModel, nhead, options)
  TDLParent.__init(self)
  local p = setup_layer(self, TDL_NAME, dModel, nhead, options)
  add_child(self, 'self_attn', mha_for(self, p))
  add_child(self, 'multihead_attn', mha_for(self, p))
  add_child(self, 'linear1', nn.Linear(dModel, self.dimFeedforward, self.useBias))
  add_child(self, 'dropout', nn.Dropout(p))
  add_child(self, 'linear2', nn.Linear(self.dimFeedforward, dModel, self.useBias))
  add_child(self, 'norm1', layer_norm(self))
  add_child(self, 'norm2', layer_norm(self))
  add_child(self, 'norm3', layer_norm(self))
  add_child(self, 'dropout1', nn.Dropout(p))
  add_child(self, 'dropout2', nn.Dropout(p))
  add_child(self, 'dropout3', nn.Dropout(p))
  self:_linkGradients()
end

local decoder_layer_options = {
  tgtMask = check.NONE, memoryMask = check.NONE, tgtKeyPaddingMask = check.NONE,
  memoryKeyPaddingMask = check.NONE, tgtIsCausal = false, memoryIsCausal = false,
}

function TDL:updateOutput(input)
  if type(input) ~= 'table' or torch.isTensor(input) then
    fail(TDL_NAME, 'expected {tgt, memory}, got %s', describe(input))
  end
  local o = check.options(TDL_NAME, self._callOpts, decoder_layer_options, 3)
  local tgt, memory = input[1], input[2]
  check_src(TDL_NAME, self, tgt, 'tgt')
  check_src(TDL_NAME, self, memory, 'memory')
  if memory:dim() ~= tgt:dim() then
    fail(TDL_NAME, 'tgt [%s] and memory [%s] must both be batched or both unbatched', shape_str(tgt), shape_str(memory))
  end
  local function sa(x)
    local y = self.self_attn:_attend(x, x, x, { attnMask = o.tgtMask, keyPaddingMask = o.tgtKeyPaddingMask,
                                                needWeights = false, isCausal = o.tgtIsCausal })
    return self.dropout1:updateOutput(y)
  end
  local function mha(x)
    local y = self.multihead_attn:_attend(x, memory, memory, { attnMask = o.memoryMask,
      keyPaddingMask = o.memoryKeyPaddingMask, needWeights = false, isCausal = o.memoryIsCausal })
    return self.dropout2:updateOutput(y)
  end
  local function ff(x) return self.dropout3:updateOutput(feed_forward(self, x)) end
  local x = tgt
  if self.normFirst then
    x = x + sa(self.norm1:updateOutput(x))
    x = x + mha(self.norm2:updateOutput(x))
    x = x + ff(self.norm3:updateOutput(x))
  else
    x = self.norm1:updateOutput(x + sa(x))
    x = self.norm2:updateOutput(x + mha(x))
    x = self.norm3:updateOutput(x + ff(x))
  end
  self.output = x
  return x
end

-- forward({tgt, memory} [, opts]) or forward(tgt, memory [, opts])
function TDL:forward(tgt, memory, opts)
  local input = tgt
  if torch.isTensor(tgt) then
    input = { tgt, memory }
  elseif opts == nil and is_options(memory) then
    opts = memory
  end
  if opts ~= nil and not is_options(opts) then
    fail(TDL_NAME, 'the options must be a table {tgtMask =, memoryMask =, ...}, got %s', describe(opts))
  end
  return with_options(self, opts, TDLParent.forward, self, input)
end

function TDL:__tostring__()
  return ('nn.TransformerDecoderLayer(%d, %d heads, feed-forward %d%s%s)'):format(self.dModel, self.nhead,
         self.dimFeedforward, self.normFirst and ', normFirst' or '', self.batchFirst and ', batchFirst' or '')
end

-- ---- nn.Transformer: the mask helper (the whole encoder-decoder model is not built) ----------
nn.Transformer = setmetatable({}, {
  __call = function()
    error('nn.Transformer: the whole encoder-decoder model is not built yet; compose '
          .. 'nn.TransformerEncoder and nn.TransformerDecoderLayer', 2)
  end,
})

-- PyTorch's Transformer.generate_square_subsequent_mask(n): n x n, -inf above the diagonal
function nn.Transformer.generateSquareSubsequentMask(n)
  if math.type(n) ~= 'integer' or n < 0 then
    error(('nn.Transformer.generateSquareSubsequentMask: expected a non-negative integer size, got %s')
          :format(tostring(n)), 2)
  end
  if n == 0 then return torch.Tensor(0, 0) end
  local full = check.call('nn.Transformer.generateSquareSubsequentMask', 2, pcall(torch.Tensor, n, n))
  return torch.triu(full:fill(-math.huge), 1)
end

return nn
