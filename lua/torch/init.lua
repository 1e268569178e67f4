-- torch — the pure-Lua front of luatorch: completes the table built by the C module
-- `torch.core` with the tensor type objects (torch.FloatTensor, ...), Torch7-style
-- constructors, type queries and printing. `local torch = require 'torch'`, which also sets the
-- global `torch` as Torch7's did (as do nn, optim, datasets and transforms for their names).
local core = require 'torch.core'
local check = require 'torch.check'

local torch = {}
for k, v in pairs(core) do torch[k] = v end

local methods = core.Tensor            -- shared by every tensor type
local mt = core.metatable
-- Lua names a C function in an argument error by looking it up in package.loaded when the
-- call site gives no name (pcall(t.narrow, t, ...), a method stored in a local): so the
-- methods are found as 'torch.Tensor.narrow' rather than '?'.
package.loaded['torch.Tensor'] = methods
torch.core, torch.metatable = nil, nil

local dtypes = { 'Float', 'Double', 'Long', 'Byte', 'BFloat16' }   -- core dtype index + 1
local dtype_of = {}
for i, name in ipairs(dtypes) do dtype_of['torch.' .. name .. 'Tensor'] = i - 1 end

-- ---- tensor type objects ---------------------------------------------------------------
-- torch.FloatTensor(...) constructs; torch.FloatTensor.foo reads the shared methods, and
-- defining torch.Tensor.foo = function(self, ...) adds a method to every tensor.
local ctors = core.constructors
local function typeobject(name, ctor)
  return setmetatable({ __typename = name }, {
    -- the C constructor's errors are raised as this type's ('torch.FloatTensor: ...')
    __call = function(_, ...)
      local t = check.call(name, 1, pcall(ctor, ...))
      return t
    end,
    __index = methods,
    __newindex = function(_, k, v) methods[k] = v end,
    __tostring = function() return name end,
  })
end

for i, name in ipairs(dtypes) do
  torch[name .. 'Tensor'] = typeobject('torch.' .. name .. 'Tensor', ctors[i - 1])
end
torch.Tensor = typeobject('torch.Tensor', ctors[-1])
torch.constructors, torch.cudaConstructors = nil, nil

-- torch.CudaTensor(...) and friends (cutorch's names): sizes allocate zeros on the device; the
-- other forms are the host constructor's, then the result moves to the device. Device tensors
-- have no storage objects of their own yet. BFloat16 tensors live in host memory only.
for i, name in ipairs(dtypes) do
  if name == 'BFloat16' then break end
  local cname = name == 'Float' and 'CudaTensor' or 'Cuda' .. name .. 'Tensor'
  local host, sized = ctors[i - 1], core.cudaConstructors[i - 1]
  torch[cname] = typeobject('torch.' .. cname, function(...)
    local first = ...
    if math.type(first) == 'integer' then return sized(...) end
    if first ~= nil and torch.typename(first) and torch.typename(first):match('Storage$') then
      error(('torch.%s: a view of a storage is host-only; copy the tensor with :cuda()'):format(cname), 2)
    end
    local t = check.call('torch.' .. cname, 2, pcall(function(...) return host(...):cuda() end, ...))
    return t
  end)
end

function torch.setdefaulttensortype(name)
  core.setdefaulttensortype(name)
end

function torch.getdefaulttensortype()
  return 'torch.' .. dtypes[core.defaultdtype() + 1] .. 'Tensor'
end

-- torch.type(x): the typename of a tensor or storage, else Lua's type().
function torch.type(x)
  return torch.typename(x) or type(x)
end

function torch.isStorage(x)
  local name = torch.typename(x)
  return name ~= nil and name:match('Storage$') ~= nil
end

-- ---- constructors --------------------------------------------------------------------------
local function default() return core.defaultdtype() end
local new = ctors[-1]

-- The sizes of torch.zeros(...) and friends: integers, or one LongStorage or table of them
-- (Torch7's and PyTorch's forms; an empty one makes a 0-dim tensor); returned as a
-- LongStorage, which the constructor takes as sizes.
local function sizes_of(fname, ...)
  local n, first = select('#', ...), ...
  local list = { ... }
  if n == 1 and type(first) ~= 'number' then
    check.arg(fname, 1, first, 'storage|table', 2)
    list = torch.isStorage(first) and first:totable() or first
    for i = 1, #list do check.arg(fname, 1, list[i], 'count', 2) end
  else
    for i = 1, n do list[i] = check.arg(fname, i, list[i], 'count', 2) end
  end
  return torch.LongStorage(list)
end

-- (the constructor's errors, e.g. a size too large, are raised as the caller's)
local function sized(fname, ...)
  local t = check.call(fname, 2, pcall(new, sizes_of(fname:sub(7), ...)))
  return t
end
function torch.zeros(...) return sized('torch.zeros', ...) end
function torch.ones(...) return sized('torch.ones', ...):fill(1) end
function torch.empty(...) return sized('torch.empty', ...) end

-- torch.range(a, b [, step]): inclusive of b, as Torch7; torch.arange is PyTorch's exclusive.
function torch.range(a, b, step) return core.range(default(), a, b, step) end
function torch.arange(a, b, step)
  check.arg('arange', 1, a, 'number')
  check.arg('arange', 2, b, 'number?')
  check.arg('arange', 3, step, 'number?')
  if b == nil then a, b = 0, a end
  step = step or 1
  if step == 0 or step ~= step then check.argerror('arange', 3, 'step must be non-zero') end
  local n = math.ceil((b - a) / step)
  if n ~= n then check.argerror('arange', 2, 'the range is not finite') end
  if n <= 0 then return new(0) end
  local t = check.call('torch.arange', 1, pcall(core.range, default(), a, a + (n - 1) * step, step))
  return t
end
function torch.linspace(a, b, n) return core.linspace(default(), a, b, n) end
function torch.logspace(a, b, n)
  check.arg('logspace', 1, a, 'number')
  check.arg('logspace', 2, b, 'number')
  check.arg('logspace', 3, n, 'count?')
  local t = check.call('torch.logspace', 1, pcall(core.linspace, default(), a, b, n))
  return t:apply(function(x) return 10 ^ x end)
end

-- torch.eye(n [, m]): ones on the diagonal, written through a strided view of the storage.
function torch.eye(n, m)
  n = check.arg('eye', 1, n, 'count')
  m = check.arg('eye', 2, m, 'count?') or n
  local t = check.call('torch.eye', 1, pcall(new, n, m))
  local k = math.min(n, m)
  if k > 0 then new(t:storage(), 1, { k }, { m + 1 }):fill(1) end
  return t
end

function torch.zerosLike(t)
  check.arg('zerosLike', 1, t, 'tensor')
  if t:isCuda() then return torch.Tensor():typeAs(t):resizeAs(t):zero() end
  return ctors[dtype_of[t:type()]](t:size())
end
function torch.onesLike(t)
  check.arg('onesLike', 1, t, 'tensor')
  return torch.zerosLike(t):fill(1)
end

-- ---- printing ------------------------------------------------------------------------------
local SUMMARY_AT = 1000   -- more elements than this: show the edges of each dim only
local EDGE = 3
local LINE = 80

local function visible(n, summarize)
  local r = {}
  if summarize and n > 2 * EDGE then
    for i = 1, EDGE do r[#r + 1] = i end
    r[#r + 1] = false                         -- an ellipsis
    for i = n - EDGE + 1, n do r[#r + 1] = i end
  else
    for i = 1, n do r[i] = i end
  end
  return r
end

-- The number format for a set of values, as Torch7 picks it: integers plainly, otherwise
-- fixed point with a common power-of-ten scale, or scientific when the range is wide. An
-- integer tensor's values are Lua integers, printed whole at any size (as PyTorch does; a
-- float format would hide the low digits of ids and timestamps).
local function number_format(values)
  if math.type(values[1]) == 'integer' then
    local digits = 1   -- plus a column for the sign, as Torch7's width
    for _, v in ipairs(values) do digits = math.max(digits, #tostring(v) - (v < 0 and 1 or 0)) end
    return '%' .. (digits + 1) .. 'd', digits + 1, 1
  end
  local allint, amin, amax = true, math.huge, 0
  for _, v in ipairs(values) do
    if v ~= math.floor(v) or v ~= v or v == math.huge or v == -math.huge then allint = false end
    local a = math.abs(v)
    if a == a and a ~= math.huge then
      if a < amin then amin = a end
      if a > amax then amax = a end
    end
  end
  if amin == math.huge then amin = 0 end
  local function exp10(x) return x ~= 0 and math.floor(math.log(x, 10)) + 1 or 1 end
  local emin, emax = exp10(amin), exp10(amax)
  if allint then
    if emax > 9 then return '%11.4e', 11, 1 end
    local w = math.max(emax, 1) + 1
    return '%' .. w .. '.0f', w, 1
  end
  if emax - emin > 4 then return '%11.4e', 11, 1 end
  if emax > 5 or emax < 0 then return '%7.4f', 7, 10 ^ (emax - 1) end
  return '%' .. (emax + 6) .. '.4f', emax + 6, 1
end

local function fmt(format, scale, v)
  if v ~= v then return 'nan' end
  if v == math.huge then return 'inf' end
  if v == -math.huge then return '-inf' end
  if math.type(v) == 'integer' then return format:format(v) end
  return format:format(v / scale)
end

local function elements(t)
  local s, off, st = t:storage(), t:storageOffset(), t:stride():totable()
  return function(pos)
    local o = off
    for d = 1, #pos do o = o + (pos[d] - 1) * st[d] end
    return s[o]
  end
end

local function shape_string(t)
  local sz = t:size():totable()
  return #sz == 0 and 'scalar' or table.concat(sz, 'x')
end

-- Formats a matrix (rows x cols of a 2-D slice), splitting wide ones into column blocks.
local function format_matrix(get, prefix, rows, cols, format, width, scale, out)
  local per_line = math.max(1, math.floor((LINE - 1) / (width + 1)))
  local blocks = {}
  if #cols <= per_line then blocks[1] = { 1, #cols }
  else
    for a = 1, #cols, per_line do blocks[#blocks + 1] = { a, math.min(a + per_line - 1, #cols) } end
  end
  for _, b in ipairs(blocks) do
    if #blocks > 1 then
      out[#out + 1] = ('Columns %s to %s\n'):format(cols[b[1]] or '...', cols[b[2]] or '...')
    end
    for _, r in ipairs(rows) do
      if r == false then out[#out + 1] = ' ...\n' goto next_row end
      local line = {}
      for c = b[1], b[2] do
        local ci = cols[c]
        if ci == false then line[#line + 1] = '...'
        else
          local pos = {}
          for i, p in ipairs(prefix) do pos[i] = p end
          pos[#pos + 1], pos[#pos + 2] = r, ci
          line[#line + 1] = fmt(format, scale, get(pos))
        end
      end
      out[#out + 1] = table.concat(line, ' ') .. '\n'
      ::next_row::
    end
    if #blocks > 1 then out[#out + 1] = '\n' end
  end
end

local function tensor_tostring(t)
  if type(t) == 'userdata' and getmetatable(t) == mt and not pcall(methods.dim, t) then
    return '[freed tensor]'   -- printing one must not fail
  end
  check.arg('tostring', 1, t, 'tensor')
  local name = t:type()
  if t:isCuda() then t = t:cpu() end   -- one transfer, not one per element
  local nd, n = t:dim(), t:nElement()
  if n == 0 then
    if nd == 1 then return ('[%s with no dimension]'):format(name) end
    return ('[%s of size %s]'):format(name, shape_string(t))
  end
  local get = elements(t)
  local summarize = n > SUMMARY_AT
  local vis = {}
  for d = 1, nd do vis[d] = visible(t:size(d), summarize) end
  -- the values that will be shown decide the format
  local shown = {}
  local function collect(d, pos)
    if d > nd then shown[#shown + 1] = get(pos) return end
    for _, i in ipairs(vis[d]) do
      if i then pos[d] = i collect(d + 1, pos) end
    end
    pos[d] = nil
  end
  collect(1, {})
  local format, width, scale = number_format(shown)
  local out = {}
  if scale ~= 1 then out[#out + 1] = (' %.0e *\n'):format(scale):gsub('e%-0', 'e-'):gsub('e%+0', 'e+') end
  if nd == 0 then
    out[#out + 1] = fmt(format, scale, get({})) .. '\n'
  elseif nd == 1 then
    for _, i in ipairs(vis[1]) do
      out[#out + 1] = (i and fmt(format, scale, get({ i })) or '...') .. '\n'
    end
  else
    local function slices(d, prefix)
      if d == nd - 1 then
        if #prefix > 0 then
          out[#out + 1] = '(' .. table.concat(prefix, ',') .. ',.,.) = \n'
        end
        format_matrix(get, prefix, vis[nd - 1], vis[nd], format, width, scale, out)
        if #prefix > 0 then out[#out + 1] = '\n' end
        return
      end
      for _, i in ipairs(vis[d]) do
        if i then
          prefix[#prefix + 1] = i
          slices(d + 1, prefix)
          prefix[#prefix] = nil
        else
          out[#out + 1] = '...\n\n'
        end
      end
    end
    slices(1, {})
  end
  out[#out + 1] = ('[%s of size %s]'):format(name, shape_string(t))
  return table.concat(out)
end

mt.__tostring = tensor_tostring
mt.__name = 'torch.Tensor'

-- ---- classes (Torch7's torch.class) ------------------------------------------------------
-- local MyLayer, parent = torch.class('nn.MyLayer', 'nn.Module'): a class table whose
-- instances are made by calling it (MyLayer(...) runs __init). The class is also stored in
-- the table its name's prefix names when that module is loaded (nn.MyLayer), or in the
-- table given as third argument; nothing goes into globals.
local classes = {}

-- Runs obj:__init(...) for class name. Its error is raised at the line that called the class
-- (whatever level the constructor gave it), and one from deeper inside (a tensor too large
-- for memory, a view of a bad size) as the class's own, 'nn.Bilinear: ...'; argument errors
-- ('bad argument #1 to ...') and messages that already name the class keep their words.
local function construct(name, obj, ...)
  local ok, err = pcall(obj.__init, obj, ...)
  if ok then return end
  if type(err) ~= 'string' then error(err, 0) end
  local msg = err:gsub('^[^\n]-:%d+: ', '', 1)
  local short = name:match('([^.]+)$')
  if not (msg:find('^bad argument') or msg:find('^calling ') or msg:find('^' .. name:gsub('%p', '%%%0') .. '[:(]')
          or msg:find('^' .. short .. '[:(]')) then
    msg = name .. ': ' .. msg
  end
  error(msg, 3)   -- 1: here, 2: the class's __call, 3: the caller
end

local metamethods = { '__tostring', '__call', '__len', '__concat', '__add', '__sub', '__mul',
                      '__div', '__unm', '__eq', '__lt', '__le', '__close' }

function torch.class(name, parentName, namespace)
  assert(type(name) == 'string', 'class: expected a class name')
  local parent
  if parentName ~= nil then
    if type(parentName) == 'table' and namespace == nil then
      namespace, parentName = parentName, nil
    else
      parent = classes[parentName]
      if not parent then error(("class: unknown parent class '%s'"):format(parentName), 2) end
    end
  end
  local class = { __typename = name }
  class.__index = class
  if parent then  -- metamethods are looked up raw: copy the parent's
    for _, k in ipairs(metamethods) do class[k] = rawget(parent, k) end
  end
  class.__tostring = class.__tostring or function(self)
    if self.__tostring__ then return self:__tostring__() end
    return name
  end
  setmetatable(class, {
    __index = parent,
    __call = function(cls, ...)
      local obj = setmetatable({}, cls)
      if obj.__init then construct(name, obj, ...) end
      return obj
    end,
    __tostring = function() return name end,
  })
  classes[name] = class
  local prefix, short = name:match('^(.*)%.([^.]+)$')
  local target = namespace or (prefix and package.loaded[prefix])
  if type(target) == 'table' then target[short or name] = class end
  return class, parent
end

function torch.getmetatable(name) return classes[name] end

-- torch.isTypeOf(obj, name): obj is an instance of class name or of a subclass.
function torch.isTypeOf(obj, name)
  local mt = getmetatable(obj)
  while type(mt) == 'table' do
    if rawget(mt, '__typename') == name then return true end
    local up = getmetatable(mt)
    mt = up and up.__index
  end
  return false
end

local c_typename = torch.typename
function torch.typename(x)
  if type(x) == 'table' then
    local mt = getmetatable(x)
    return type(mt) == 'table' and rawget(mt, '__typename') or nil
  end
  return c_typename(x)
end

-- torch.Timer(): Torch7's stopwatch; time() returns {real = seconds since start/reset}.
local Timer = {}
Timer.__index = Timer
function torch.Timer()
  return setmetatable({ start = torch.clock(), elapsed = 0, running = true }, Timer)
end
function Timer:time()
  local t = self.elapsed + (self.running and torch.clock() - self.start or 0)
  return { real = t }
end
function Timer:reset() self.start, self.elapsed = torch.clock(), 0 return self end
function Timer:stop()
  if self.running then self.elapsed, self.running = self.elapsed + torch.clock() - self.start, false end
  return self
end
function Timer:resume()
  if not self.running then self.start, self.running = torch.clock(), true end
  return self
end

torch.autograd = require('torch.autograd')(torch)
require('torch.cmdline')(torch)
require('torch.progress')(torch)
require('torch.display')(torch)
require('torch.serialize')(torch)
require('torch.autocast')(torch, core)

-- ---- issue 16: tensor methods a sequence model reaches for --------------------------------
local check = require 'torch.check'

-- A method's self, checked as Lua checks a C method's ("calling 'all' on bad self"). BFloat16
-- tensors pass: the ops these are built on widen them (lua/lauxt.c).
local function check_self(fname, self)
  if not torch.isTensor(self) then
    error(("calling '%s' on bad self (tensor expected, got %s)"):format(fname, type(self)), 3)
  elseif not pcall(self.dim, self) then
    error(("calling '%s' on bad self (tensor was freed)"):format(fname), 3)
  end
end
-- The same for argument i of a function (torch.all(x)).
local function check_computes(fname, i, x)
  check.arg(fname, i, x, 'tensor', 2)
end

-- x:softmax([dim]) / x:logSoftmax([dim]): new tensors (PyTorch's methods), differentiable
function methods.softmax(self, dim) return torch.softmax(self, dim) end
function methods.logSoftmax(self, dim) return torch.logSoftmax(self, dim) end

-- x:tolist(): PyTorch's name for x:totable() (nested Lua tables; a number for a 0-dim tensor)
methods.tolist = methods.totable

-- The repetition counts of repeatTensor/repeat: numbers, a table or a LongStorage.
local function repetitions(fname, ...)
  local first, given, n = ..., nil, select('#', ...)
  if n == 1 and (torch.isStorage(first) or (type(first) == 'table' and not torch.isTensor(first))) then
    given = torch.isStorage(first) and first:totable() or first
    n = #given
  else
    given = { ... }
  end
  local reps = {}   -- every position up to n is checked: a nil in the middle is an error
  for i = 1, n do
    local v = check.arg(fname, i, given[i], 'integer', 3)
    if v < 0 then check.argerror(fname, i, ('repetitions must be >= 0, got %d'):format(v), 3) end
    reps[i] = v
  end
  return reps
end

-- x:repeatTensor(sizes...) (Torch7) / x:repeat(sizes...) (PyTorch): a new tensor of x tiled
-- sizes[d] times along each dim d; more counts than dims add leading dims. Differentiable (a
-- view, an expand and a copy per repeated dim).
local function tile(self, reps)
  local n = #reps
  local y, copied = self, false
  while y:dim() < n do y = y:unsqueeze(1) end
  for d = 1, n do
    if reps[d] ~= 1 then
      copied = true
      local size = y:size():totable()
      local wide, merged = {}, {}
      for k = 1, #size do
        if k == d then wide[#wide + 1] = reps[d] end
        wide[#wide + 1] = size[k]
        merged[k] = k == d and reps[d] * size[k] or size[k]
      end
      y = y:unsqueeze(d):expand(table.unpack(wide)):reshape(table.unpack(merged))
    end
  end
  if not copied then y = y:clone() end   -- a new tensor, as PyTorch's, even for all-ones
  return y
end

local function repeat_tensor(fname, self, ...)
  local reps = repetitions(fname, ...)
  if #reps < self:dim() then
    check.argerror(fname, 1, ('%d repetition counts for a %d-dimensional tensor (give at least one per dim)')
                   :format(#reps, self:dim()), 2)
  end
  -- a result too large for memory is refused inside (expand, reshape): say it as fname's
  local y = check.call(fname, 2, pcall(tile, self, reps))
  return y
end
-- (x:repeat(...) is a syntax error in Lua, where repeat is a keyword: x['repeat'](x, ...))
-- not tail calls, so that error levels count the method's frame
function methods.repeatTensor(self, ...)
  check_self('repeatTensor', self)
  local y = repeat_tensor('repeatTensor', self, ...)
  return y
end
methods['repeat'] = function(self, ...)
  check_self('repeat', self)
  local y = repeat_tensor('repeat', self, ...)
  return y
end
function torch.repeatTensor(x, ...)
  check.arg('repeatTensor', 1, x, 'tensor')
  local y = repeat_tensor('repeatTensor', x, ...)
  return y
end

-- (called by all_any, called by the method or function: errors blame that one's caller)
local function reduce_dim(fname, self, dim, argn)
  dim = check.arg(fname, argn, dim, 'integer', 3)
  local nd = math.max(self:dim(), 1)
  if dim < -nd or dim == 0 or dim > nd then
    check.argerror(fname, argn, ('dimension %d out of range for a %d-dimensional tensor'):format(dim, self:dim()), 3)
  end
  return dim < 0 and dim + nd + 1 or dim
end

-- x:all() / x:any(): whether every / some element is non-zero (NaN counts as non-zero), a
-- boolean; x:all(dim) / x:any(dim): a ByteTensor of 0/1 along dim, which is kept (size 1),
-- as sum(dim) keeps it (Torch7). argn: dim's argument number (torch.all(x, dim): 2).
local function all_any(fname, self, dim, argn)
  if dim == nil then
    if self:nElement() == 0 then return fname == 'all' end
    return torch.noGrad(function()
      local nz = self:ne(0)
      if fname == 'all' then return nz:min() end
      return nz:max()
    end) == 1
  end
  dim = reduce_dim(fname, self, dim, argn)
  if self:size(dim) == 0 then  -- over nothing: all is true, any is false (PyTorch's)
    local size = self:size():totable()
    size[dim] = 1
    return torch.ByteTensor(table.unpack(size)):fill(fname == 'all' and 1 or 0)
  end
  return (torch.noGrad(function()
    local nz = self:ne(0)
    if fname == 'all' then return nz:min(dim) end
    return nz:max(dim)
  end))
end

-- x:isnan() / x:isinf() / x:isfinite(): ByteTensor masks of x's shape (integer tensors are
-- never NaN or infinite)
local float_types = { ['torch.FloatTensor'] = true, ['torch.DoubleTensor'] = true,
                      ['torch.BFloat16Tensor'] = true,
                      ['torch.CudaTensor'] = true, ['torch.CudaDoubleTensor'] = true }
local masks = {
  isnan = function(x) return x:ne(x) end,
  isinf = function(x)
    if not float_types[x:type()] then return x:ne(x) end
    return torch.abs(x):eq(math.huge)
  end,
  isfinite = function(x)
    if not float_types[x:type()] then return x:eq(x) end
    return torch.add(x, -1, x):eq(0)   -- x - x is NaN for NaN and +-inf
  end,
}

for _, name in ipairs({ 'all', 'any' }) do
  methods[name] = function(self, dim)
    check_self(name, self)
    local r = all_any(name, self, dim, 1)
    return r
  end
  torch[name] = function(x, dim)
    check_computes(name, 1, x)
    local r = all_any(name, x, dim, 2)
    return r
  end
end
for name, mask in pairs(masks) do
  methods[name] = function(self)
    check_self(name, self)
    return (torch.noGrad(mask, self))
  end
  torch[name] = function(x)
    check_computes(name, 1, x)
    return (torch.noGrad(mask, x))
  end
end
-- torch.equal(a, b) / a:equal(b): the same sizes and every element equal (NaN never is), a
-- boolean (Torch7's and PyTorch's). torch.isclose(a, b [, rtol = 1e-5 [, atol = 1e-8
-- [, equalNan = false]]]): a ByteTensor mask (broadcast) of |a - b| <= atol + rtol |b|, or a == b
-- (infinities of one sign); torch.allclose: whether every element is close (PyTorch's). The
-- two tensors must be of one type and on one device, as eq's (no silent promotion).
-- Called from an impl called (not tail-called) by the public function: level 3 / error()'s
-- 4 blame the user's call.
local function pair_check(fname, a, b, argn)
  check.arg(fname, argn, a, 'tensor', 3)
  check.arg(fname, argn + 1, b, 'tensor', 3)
  if a:type() ~= b:type() then
    error(("bad argument #%d to '%s' (expected tensors of one type, got %s and %s)")
          :format(argn + 1, fname, a:type(), b:type()), 4)
  end
end

local function equal_impl(a, b, argn)
  pair_check('equal', a, b, argn)
  return a:isSameSizeAs(b) and torch.noGrad(a.eq, a, b):all()
end

local function isclose_impl(fname, a, b, rtol, atol, equal_nan, argn)
  pair_check(fname, a, b, argn)
  check.arg(fname, argn + 2, rtol, 'number?', 2)
  check.arg(fname, argn + 3, atol, 'number?', 2)
  check.arg(fname, argn + 4, equal_nan, 'boolean?', 2)
  rtol, atol = rtol or 1e-5, atol or 1e-8
  if rtol < 0 or atol < 0 then
    error(("bad argument #%d to '%s' (tolerances must be >= 0, got rtol %g, atol %g)")
          :format(rtol < 0 and argn + 2 or argn + 3, fname, rtol, atol), 3)
  end
  local ok, r = pcall(torch.noGrad, function()
    local diff = torch.abs(a - b)
    -- a finite difference within tolerance (NaN and inf fail: x - x ~= 0), or equal (+-inf)
    local within = diff:le(torch.abs(b):mul(rtol):add(atol))
    local close = torch.cmul(within, torch.add(diff, -1, diff):eq(0))
    local m = close:add(a:eq(b)):ne(0)
    if equal_nan then m = m:add(torch.cmul(a:ne(a), b:ne(b))):ne(0) end
    return m
  end)
  if not ok then  -- shapes that do not broadcast, devices that differ: named as isclose's
    local why = tostring(r):gsub('^.-__sub: ', '')
    error(("bad argument #%d to '%s' (%s)"):format(argn + 1, fname, why), 3)
  end
  return r
end

function methods.equal(self, other)
  check_self('equal', self)
  local r = equal_impl(self, other, 0)
  return r
end
function torch.equal(a, b)
  local r = equal_impl(a, b, 1)
  return r
end
function methods.isclose(self, other, rtol, atol, equal_nan)
  check_self('isclose', self)
  local r = isclose_impl('isclose', self, other, rtol, atol, equal_nan, 0)
  return r
end
function torch.isclose(a, b, rtol, atol, equal_nan)
  local r = isclose_impl('isclose', a, b, rtol, atol, equal_nan, 1)
  return r
end
function methods.allclose(self, other, rtol, atol, equal_nan)
  check_self('allclose', self)
  local r = isclose_impl('allclose', self, other, rtol, atol, equal_nan, 0)
  return r:all()
end
function torch.allclose(a, b, rtol, atol, equal_nan)
  local r = isclose_impl('allclose', a, b, rtol, atol, equal_nan, 1)
  return r:all()
end

torch.tolist = function(x)
  check.arg('tolist', 1, x, 'tensor')
  return methods.totable(x)
end

-- diag, tril, triu, trace, flip, roll, median, kthvalue, mode, logsumexp, cross, dist, lerp,
-- full, fullLike, renorm, histc: written in Lua on the differentiable ops
local mathx = require('torch.mathx')(torch, check_self)
-- argsort, unique, bincount, diff, meshgrid, nanToNum, clip, logaddexp, hypot, deg2rad,
-- rad2deg, xlogy, sinc, einsum: the same, with mathx's checks
require('torch.mathx2')(torch, check_self, mathx)

-- As Torch7's packages did, require 'torch' also sets the global `torch`, so Torch7 scripts
-- run unchanged (rawset: a strict-globals environment would refuse a plain assignment).
rawset(_G, 'torch', torch)
return torch
