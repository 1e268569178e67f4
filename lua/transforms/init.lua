-- transforms — torchvision-style data transforms on luatorch tensors:
-- `local transforms = require 'transforms'`.
--
--   transforms.ToTensor()            uint8 [H x W] or [C x H x W] -> float [C x H x W] in [0, 1]
--                                    (x / 255); Float/Double inputs keep their values and get
--                                    the channel dim; others become Float.
--   transforms.Normalize(mean, std)  (x - mean[c]) / std[c] per channel c (dim 1 of a sample);
--                                    mean/std are numbers or tables (one value: every channel)
--   transforms.Lambda(fn [, batched]) fn(x); batched = true says fn also works on a batch
--   transforms.Compose{t1, t2, ...}  applies them in order
--
-- Every transform is called on one sample, t(x), and most also have t:batch(x) for a whole
-- batch [N x ...] (the sample dims after the batch dim): ToTensor turns uint8 [N x H x W]
-- into float [N x 1 x H x W]. t:canBatch() says whether t:batch exists (a Compose can batch
-- when all of its parts can). The batch forms run in C over the whole tensor, never a Lua
-- loop over pixels; Compose runs ToTensor followed by Normalize as one fused pass
-- (torch._normalize) with the same float32 operations as torchvision, so the values agree
-- bit for bit.
local torch = require 'torch'

local transforms = {}

local function class(name)
  local c = { __typename = 'transforms.' .. name, kind = name }
  c.__index = c
  c.__call = function(self, x) return self:apply(x) end
  c.__tostring = function(self) return self:describe() end
  function c.describe() return 'transforms.' .. name .. '()' end
  function c.canBatch() return true end
  return c
end

local function checktensor(fname, x)
  if not torch.isTensor(x) or not pcall(x.dim, x) then
    error(('transforms.%s: expected a tensor, got %s'):format(fname,
          torch.isTensor(x) and 'a freed tensor' or torch.type(x)), 3)
  end
end

local function dims(x)
  return table.concat(x:size():totable(), ' x ')
end

-- ---- ToTensor -------------------------------------------------------------------------------
local ToTensor = class('ToTensor')

function transforms.ToTensor() return setmetatable({}, ToTensor) end

local function tofloat(x)
  local ty = x:type()
  if ty == 'torch.ByteTensor' then return torch._normalize(x, 1, 255, 0, 1) end
  if ty == 'torch.FloatTensor' or ty == 'torch.DoubleTensor' then return x:clone() end
  return x:float()
end

-- one sample: [H x W] or [C x H x W]
function ToTensor:apply(x)
  checktensor('ToTensor', x)
  local d = x:dim()
  if d == 2 then x = x:unsqueeze(1)
  elseif d ~= 3 then
    error(('transforms.ToTensor: expected an image [H x W] or [C x H x W], got [%s]'):format(dims(x)), 2)
  end
  return tofloat(x)
end

-- a batch: [N x H x W] or [N x C x H x W]
function ToTensor:batch(x)
  checktensor('ToTensor', x)
  local d = x:dim()
  if d == 3 then x = x:unsqueeze(2)
  elseif d ~= 4 then
    error(('transforms.ToTensor: expected a batch [N x H x W] or [N x C x H x W], got [%s]'):format(dims(x)), 2)
  end
  return tofloat(x)
end

-- ---- Normalize ------------------------------------------------------------------------------
local Normalize = class('Normalize')

local function numbers(fname, what, v)
  if type(v) == 'number' then return { v } end
  if torch.isTensor(v) then
    checktensor(fname, v)
    v = v:double():view(-1):totable()
  end
  if type(v) ~= 'table' or #v == 0 then
    error(('transforms.%s: %s must be a number or a table of numbers, got %s'):format(fname, what, torch.type(v)), 3)
  end
  local out = {}
  for i, x in ipairs(v) do
    if type(x) ~= 'number' then
      error(('transforms.%s: %s[%d] is not a number (%s)'):format(fname, what, i, type(x)), 3)
    end
    out[i] = x
  end
  return out
end

function transforms.Normalize(mean, std)
  local m, s = numbers('Normalize', 'mean', mean), numbers('Normalize', 'std', std)
  if #m ~= #s and #m ~= 1 and #s ~= 1 then
    error(('transforms.Normalize: %d means but %d stds'):format(#m, #s), 2)
  end
  for i, v in ipairs(s) do
    if v == 0 or v ~= v then error(('transforms.Normalize: std[%d] is %s; it must be nonzero'):format(i, v), 2) end
  end
  return setmetatable({ mean = m, std = s }, Normalize)
end

function Normalize:describe()
  return ('transforms.Normalize({%s}, {%s})'):format(table.concat(self.mean, ', '), table.concat(self.std, ', '))
end

-- channels along dim cdim of x: checks, then the fused kernel with div (255 after ToTensor)
function Normalize:_run(x, cdim, div)
  local nc = math.max(#self.mean, #self.std)
  if nc > 1 and (x:dim() < cdim or x:size(cdim) ~= nc) then
    error(('transforms.Normalize: %d channels of mean/std for a tensor of size [%s] (channels are dim %d)')
            :format(nc, dims(x), cdim), 3)
  end
  return torch._normalize(x, nc > 1 and cdim or 1, div, self.mean, self.std)
end

local function checkfloat(x)
  local ty = x:type()
  if ty ~= 'torch.FloatTensor' and ty ~= 'torch.DoubleTensor' then
    error(('transforms.Normalize: expected a Float or Double tensor (apply ToTensor first), got %s')
            :format(ty), 3)
  end
end

function Normalize:apply(x)
  checktensor('Normalize', x)
  checkfloat(x)
  return self:_run(x, 1, 1)
end

function Normalize:batch(x)
  checktensor('Normalize', x)
  checkfloat(x)
  return self:_run(x, 2, 1)
end

-- ---- Lambda ---------------------------------------------------------------------------------
local Lambda = class('Lambda')

function transforms.Lambda(fn, batched)
  if type(fn) ~= 'function' and not (getmetatable(fn) or {}).__call then
    error(('transforms.Lambda: expected a function, got %s'):format(type(fn)), 2)
  end
  return setmetatable({ fn = fn, batched = batched and true or false }, Lambda)
end

function Lambda:apply(x) return self.fn(x) end
function Lambda:canBatch() return self.batched end
function Lambda:batch(x)
  if not self.batched then
    error('transforms.Lambda: this Lambda works on one sample (pass batched = true to Lambda(fn, true) when fn handles batches)', 2)
  end
  return self.fn(x)
end

-- ---- Compose --------------------------------------------------------------------------------
local Compose = class('Compose')

function transforms.Compose(list)
  if type(list) ~= 'table' or getmetatable(list) then
    error('transforms.Compose: expected a table of transforms', 2)
  end
  local ts = {}
  for i, t in ipairs(list) do
    if type(t) == 'function' then t = transforms.Lambda(t) end
    if type(t) ~= 'table' or type(t.apply) ~= 'function' then
      error(('transforms.Compose: element %d is not a transform (%s)'):format(i, torch.type(t)), 2)
    end
    ts[i] = t
  end
  return setmetatable({ transforms = ts }, Compose)
end

function Compose:describe()
  local parts = {}
  for i, t in ipairs(self.transforms) do parts[i] = '  ' .. tostring(t) end
  return 'transforms.Compose{\n' .. table.concat(parts, ',\n') .. '\n}'
end

function Compose:canBatch()
  for _, t in ipairs(self.transforms) do
    if not (t.canBatch and t:canBatch()) then return false end
  end
  return true
end

-- ToTensor then Normalize on uint8 data: one pass (x / 255 - mean) / std
local function run(self, x, batched)
  local ts, i = self.transforms, 1
  while i <= #ts do
    local t, u = ts[i], ts[i + 1]
    if t.kind == 'ToTensor' and u and u.kind == 'Normalize' and torch.isTensor(x)
       and x:type() == 'torch.ByteTensor' then
      local d = x:dim()
      if batched then
        if d == 3 then x = x:unsqueeze(2) elseif d ~= 4 then return t:batch(x) end
        x = u:_run(x, 2, 255)
      else
        if d == 2 then x = x:unsqueeze(1) elseif d ~= 3 then return t:apply(x) end
        x = u:_run(x, 1, 255)
      end
      i = i + 2
    else
      if batched then x = t:batch(x) else x = t:apply(x) end
      i = i + 1
    end
  end
  return x
end

function Compose:apply(x) return run(self, x, false) end
function Compose:batch(x)
  if not self:canBatch() then
    error('transforms.Compose: a transform in this Compose works on one sample only (no batch form)', 2)
  end
  return run(self, x, true)
end

-- transforms.canBatch(t): true when t is a transform with a working t:batch(x).
function transforms.canBatch(t)
  return type(t) == 'table' and type(t.canBatch) == 'function' and t:canBatch() and type(t.batch) == 'function'
end

rawset(_G, 'transforms', transforms)  -- the global too, as Torch7's packages (see lua/torch/init.lua)
return transforms
