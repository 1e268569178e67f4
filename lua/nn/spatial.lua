-- nn padding and up-sampling of images (N x C x H x W, or C x H x W unbatched):
--
--   nn.SpatialZeroPadding(padL [, padR, padT, padB]) / nn.ZeroPad2d(p or {l, r, t, b})
--       negative padding crops (Torch7 and PyTorch)
--   nn.SpatialReflectionPadding(l, r, t, b) / nn.ReflectionPad2d(p or {l, r, t, b})
--   nn.SpatialReplicationPadding(l, r, t, b) / nn.ReplicationPad2d(p or {l, r, t, b})
--   nn.SpatialUpSamplingNearest(scale)                    Torch7: integer scale
--   nn.Upsample({size = {h, w} | scaleFactor = s | {sh, sw}, mode = 'nearest' | 'bilinear',
--                alignCorners = false})                   PyTorch (4-D input)
--   nn.UpsamplingNearest2d({size | scaleFactor}), nn.UpsamplingBilinear2d({...}) (corners aligned)
--
-- All are written from differentiable tensor ops, so autograd gives their backward: zero
-- padding is a cat with zeros (or a narrow), reflection and replication an index along W
-- then H, nearest up-sampling an index, bilinear up-sampling two products with the
-- interpolation matrices (out = A_h x A_w^T).
local torch = require 'torch'
local nn = require 'nn'
local check = require 'torch.check'

local shape_str = nn._shapeStr

local function image_input(self, input, allow_unbatched, level)
  local name = torch.typename(self)
  level = (level or 1) + 1
  if not torch.isTensor(input) or not nn._floatingTypes[input:type()] then
    error(('%s: expected a FloatTensor or DoubleTensor input, got %s'):format(name, torch.typename(input) or type(input)), level)
  end
  local d = input:dim()
  if d == 4 then return input, false end
  if d == 3 and allow_unbatched then return input:unsqueeze(1), true end
  error(('%s: expected a %s input, got [%s]'):format(name,
        allow_unbatched and '3D (C x H x W) or 4D (N x C x H x W)' or '4D (N x C x H x W)', shape_str(input)), level)
end

local function unbatch(out, added) if added then return out:squeeze(1) end return out end

-- ---- padding --------------------------------------------------------------------------------------
-- 1-based source positions of a padded dim of length L: before + L + after entries
local source = {
  reflect = function(p, L) if p < 1 then return 2 - p elseif p > L then return 2 * L - p end return p end,
  replicate = function(p, L) return math.max(1, math.min(L, p)) end,
}

local function pad_dim(x, dim, before, after, mode)
  local L = x:size(dim)
  if mode == 'zero' then
    if before < 0 then x, L, before = x:narrow(dim, 1 - before, L + before), L + before, 0 end
    if after < 0 then x, L, after = x:narrow(dim, 1, L + after), L + after, 0 end
    if before == 0 and after == 0 then return x end
    local parts = {}
    local function zeros(n)
      local size = x:size():totable()
      size[dim] = n
      return torch.Tensor():typeAs(x):resize(table.unpack(size)):zero()
    end
    if before > 0 then parts[#parts + 1] = zeros(before) end
    parts[#parts + 1] = x
    if after > 0 then parts[#parts + 1] = zeros(after) end
    return torch.cat(parts, dim)
  end
  if before == 0 and after == 0 then return x end
  local idx = torch.LongTensor(before + L + after)
  for j = 1, before + L + after do idx[j] = source[mode](j - before, L) end
  return x:index(dim, idx)
end

local Pad, PadParent = torch.class('nn.SpatialZeroPadding', 'nn.Module')
Pad.mode = 'zero'

function Pad:_setup(l, r, t, b)
  PadParent.__init(self)
  local f = torch.typename(self)
  local allow_negative = self.mode == 'zero'
  local pads = { l, r, t, b }
  for i = 1, 4 do   -- (not ipairs: a nil must be refused, not end the loop)
    local v = pads[i]
    check.arg(f, i, v, 'integer', 3)
    if v < 0 and not allow_negative then check.argerror(f, i, ('padding must not be negative, got %d'):format(v), 3) end
  end
  self.pad_l, self.pad_r, self.pad_t, self.pad_b = l, r, t, b
end

-- Torch7: (padLeft [, padRight = padLeft, padTop = padLeft, padBottom = padLeft])
function Pad:__init(l, r, t, b)
  self:_setup(l, r or l, t or l, b or l)
end

function Pad:updateOutput(input)
  local x, added = image_input(self, input, true, 3)
  local H, W = x:size(3), x:size(4)
  if self.mode == 'reflect' and (self.pad_l >= W or self.pad_r >= W or self.pad_t >= H or self.pad_b >= H) then
    error(('%s: reflection padding must be smaller than the input, got padding (%d, %d, %d, %d) for [%s]')
          :format(torch.typename(self), self.pad_l, self.pad_r, self.pad_t, self.pad_b, shape_str(input)), 3)
  end
  if self.mode == 'zero' and (W + self.pad_l + self.pad_r < 1 or H + self.pad_t + self.pad_b < 1) then
    error(('%s: cropping (%d, %d, %d, %d) leaves nothing of [%s]')
          :format(torch.typename(self), self.pad_l, self.pad_r, self.pad_t, self.pad_b, shape_str(input)), 3)
  end
  x = pad_dim(x, 4, self.pad_l, self.pad_r, self.mode)
  x = pad_dim(x, 3, self.pad_t, self.pad_b, self.mode)
  self.output = unbatch(x, added)
  return self.output
end

function Pad:__tostring__()
  return ('%s(l=%d, r=%d, t=%d, b=%d)'):format(torch.typename(self), self.pad_l, self.pad_r, self.pad_t, self.pad_b)
end

local function torch7_pad(name, mode)
  local P = torch.class(name, 'nn.SpatialZeroPadding')
  P.mode = mode
  function P:__init(l, r, t, b) self:_setup(l, r, t, b) end
  return P
end
torch7_pad('nn.SpatialReflectionPadding', 'reflect')
torch7_pad('nn.SpatialReplicationPadding', 'replicate')

-- PyTorch's: padding n (all four sides) or {left, right, top, bottom}
local function pytorch_pad(name, parent)
  local P = torch.class(name, parent)
  function P:__init(p)
    if type(p) == 'table' then
      if #p ~= 4 then check.argerror(name, 1, ('expected a number or {left, right, top, bottom}, got a table of %d'):format(#p), 2) end
      self:_setup(p[1], p[2], p[3], p[4])
    else
      check.arg(name, 1, p, 'integer|table', 2)
      self:_setup(p, p, p, p)
    end
  end
end
pytorch_pad('nn.ZeroPad2d', 'nn.SpatialZeroPadding')
pytorch_pad('nn.ReflectionPad2d', 'nn.SpatialReflectionPadding')
pytorch_pad('nn.ReplicationPad2d', 'nn.SpatialReplicationPadding')

-- ---- up-sampling ------------------------------------------------------------------------------------
local Up, UpParent = torch.class('nn.Upsample', 'nn.Module')

local function scale_pair(f, v)
  if type(v) == 'table' then
    if #v ~= 2 then error(('%s: scaleFactor must be a number or {sh, sw}'):format(f), 5) end
    return v[1], v[2]
  end
  return v, v
end

-- nn.Upsample({size = {h, w} or n | scaleFactor = s or {sh, sw}, mode = 'nearest',
-- alignCorners = false}): one of size and scaleFactor
function Up:__init(opts)
  UpParent.__init(self)
  local f = torch.typename(self) or 'nn.Upsample'
  local o = check.options(f, opts, { size = check.NONE, scaleFactor = check.NONE, mode = 'nearest',
                                     alignCorners = check.NONE, recomputeScaleFactor = check.unsupported(nil) }, 3)
  self:_configure(f, o)
end

function Up:_configure(f, o)
  if (o.size == nil) == (o.scaleFactor == nil) then
    error(('%s: give one of size and scaleFactor'):format(f), 4)
  end
  if o.mode ~= 'nearest' and o.mode ~= 'bilinear' then
    error(("%s: mode '%s' is not supported (nearest, bilinear)"):format(f, tostring(o.mode)), 4)
  end
  if o.alignCorners ~= nil and o.mode == 'nearest' then
    error(('%s: alignCorners only goes with mode bilinear'):format(f), 4)
  end
  self.mode, self.align_corners = o.mode, o.alignCorners == true
  if o.size then
    local h, w = o.size, o.size
    if type(o.size) == 'table' then h, w = o.size[1], o.size[2] end
    if math.type(h) ~= 'integer' or math.type(w) ~= 'integer' or h < 1 or w < 1 then
      error(('%s: size must be a positive integer or {h, w}'):format(f), 4)
    end
    self.size = { h, w }
  else
    local sh, sw = scale_pair(f, o.scaleFactor)
    if type(sh) ~= 'number' or type(sw) ~= 'number' or not (sh > 0) or not (sw > 0) then
      error(('%s: scaleFactor must be a positive number or {sh, sw}'):format(f), 4)
    end
    self.scale_factor = { sh, sw }
  end
end

-- A (out x in) for one axis: nearest picks floor(o * scale); bilinear blends two neighbours
local function interp_matrix(x, mode, align, n_in, n_out, scale)
  local A = torch.DoubleTensor(n_out, n_in):zero()
  for o = 0, n_out - 1 do
    if mode == 'nearest' then
      A[o + 1][math.min(math.floor(o * scale), n_in - 1) + 1] = 1
    else
      local src
      if align then src = n_out > 1 and o * (n_in - 1) / (n_out - 1) or 0
      else src = math.max((o + 0.5) * scale - 0.5, 0) end
      local i0 = math.min(math.floor(src), n_in - 1)
      local i1 = math.min(i0 + 1, n_in - 1)
      local l1 = src - i0
      A[o + 1][i0 + 1] = A[o + 1][i0 + 1] + (1 - l1)
      A[o + 1][i1 + 1] = A[o + 1][i1 + 1] + l1
    end
  end
  return A:typeAs(x)
end

-- axis scale: in / out, or 1 / scaleFactor when one was given (PyTorch's rule); aligned
-- corners use (in - 1) / (out - 1) inside interp_matrix
function Up:_sizes(H, W)
  if self.size then return self.size[1], self.size[2], H / self.size[1], W / self.size[2] end
  local sh, sw = self.scale_factor[1], self.scale_factor[2]
  return math.floor(H * sh), math.floor(W * sw), 1 / sh, 1 / sw
end

function Up:updateOutput(input)
  local x, added = image_input(self, input, self.allowUnbatched, 3)
  local H, W = x:size(3), x:size(4)
  local OH, OW, sh, sw = self:_sizes(H, W)
  if OH < 1 or OW < 1 then
    error(('%s: the output of [%s] would be empty'):format(torch.typename(self), shape_str(input)), 3)
  end
  local y
  if self.mode == 'nearest' then
    local ih, iw = torch.LongTensor(OH), torch.LongTensor(OW)
    for o = 1, OH do ih[o] = math.min(math.floor((o - 1) * sh), H - 1) + 1 end
    for o = 1, OW do iw[o] = math.min(math.floor((o - 1) * sw), W - 1) + 1 end
    y = x:index(3, ih):index(4, iw)
  else
    local Ah = interp_matrix(x, 'bilinear', self.align_corners, H, OH, sh)
    local Aw = interp_matrix(x, 'bilinear', self.align_corners, W, OW, sw)
    y = torch.matmul(torch.matmul(Ah, x), Aw:t())
  end
  self.output = unbatch(y, added)
  return self.output
end

function Up:__tostring__()
  local what = self.size and ('size %dx%d'):format(self.size[1], self.size[2])
               or ('scale %g,%g'):format(self.scale_factor[1], self.scale_factor[2])
  return ('%s(%s, %s%s)'):format(torch.typename(self), what, self.mode, self.align_corners and ', corners aligned' or '')
end

-- nn.UpsamplingNearest2d({size | scaleFactor}) and nn.UpsamplingBilinear2d({...}), whose
-- corners are aligned (PyTorch's)
local function fixed_mode(name, mode, align)
  local U = torch.class(name, 'nn.Upsample')
  function U:__init(opts)
    UpParent.__init(self)
    local o = check.options(name, opts, { size = check.NONE, scaleFactor = check.NONE }, 3)
    o.mode, o.alignCorners = mode, align
    self:_configure(name, o)
  end
end
fixed_mode('nn.UpsamplingNearest2d', 'nearest', nil)
fixed_mode('nn.UpsamplingBilinear2d', 'bilinear', true)

-- nn.SpatialUpSamplingNearest(scale): Torch7's, an integer scale; C x H x W inputs too
local SUp = torch.class('nn.SpatialUpSamplingNearest', 'nn.Upsample')
SUp.allowUnbatched = true
function SUp:__init(scale)
  UpParent.__init(self)
  local f = 'nn.SpatialUpSamplingNearest'
  scale = check.arg(f, 1, scale, 'integer', 2)
  if scale < 1 then check.argerror(f, 1, ('expected a positive scale, got %d'):format(scale), 2) end
  self.scale = scale
  self.mode, self.align_corners, self.scale_factor = 'nearest', false, { scale, scale }
end

return nn
