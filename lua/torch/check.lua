-- torch.check — argument and option checks for the pure-Lua modules, with Lua's own message
-- form, so a mistake in a call to optim.sgd reads like one to a C function:
--   bad argument #1 to 'sgd' (function expected, got boolean)
--   nn.LSTM: unknown option 'batch_first' (did you mean 'batchFirst'?; accepted: ...)
--
--   local check = require 'torch.check'
--   check.arg('sgd', 1, opfunc, 'function')          -- raises at the caller of sgd
--   check.arg('Dropout', 1, p, 'number?')            -- '?': nil is accepted too
--   check.arg('eye', 1, n, 'integer|tensor')         -- alternatives
--   local cfg = check.options('nn.LSTM', opts, { batchFirst = false, dropout = 0 })
--   local t = check.call('torch.zeros', 1, pcall(new, n))  -- new's errors raised as zeros'
--
-- Kinds: nil, number, integer, count (an integer >= 0), string, table, function, boolean,
-- userdata, tensor, storage, module (an nn.Module), callable (a function or a table/userdata
-- with __call), any. A tensor must not have been freed (t:free()).
-- `level` (optional, default 1) counts as error()'s does, from the function that calls the
-- check: 1 blames that function's caller.
local check = {}

local function typename(v)
  local mt = getmetatable(v)
  if type(mt) == 'table' then
    local name = rawget(mt, '__typename') or rawget(mt, '__name')
    if type(name) == 'string' then return name end
  end
  if math.type(v) == 'float' then return 'number' end
  return type(v)
end

local tensor_mt = setmetatable({}, { __mode = 'k' })   -- metatable -> is a tensor's
local function is_tensor(v)
  if type(v) ~= 'userdata' then return false end
  local mt = getmetatable(v)
  if type(mt) ~= 'table' then return false end
  local known = tensor_mt[mt]
  if known == nil then
    local name = rawget(mt, '__name')
    known = type(name) == 'string' and name:match('Tensor$') ~= nil
    tensor_mt[mt] = known
  end
  return known
end

-- a freed tensor (t:free()) answers no query; its methods raise 'tensor was freed'
local function is_live_tensor(v)
  return is_tensor(v) and (pcall(v.dim, v))
end

local function is_integer(v)
  return math.type(v) == 'integer' or (math.type(v) == 'float' and v == math.floor(v) and v == v and math.abs(v) < 2^63)
end

local is_kind = {
  ['nil'] = function(v) return v == nil end,
  number = function(v) return type(v) == 'number' end,
  integer = is_integer,
  count = function(v) return is_integer(v) and v >= 0 end,
  string = function(v) return type(v) == 'string' end,
  table = function(v) return type(v) == 'table' end,
  ['function'] = function(v) return type(v) == 'function' end,
  boolean = function(v) return type(v) == 'boolean' end,
  userdata = function(v) return type(v) == 'userdata' end,
  tensor = is_live_tensor,
  storage = function(v) return type(v) == 'userdata' and typename(v):match('Storage$') ~= nil end,
  module = function(v)  -- an instance's class, then each parent (torch.class: the __index of the class's metatable)
    local class = getmetatable(v)
    while type(class) == 'table' do
      if rawget(class, '__typename') == 'nn.Module' then return true end
      local meta = getmetatable(class)
      class = type(meta) == 'table' and rawget(meta, '__index') or nil
    end
    return false
  end,
  callable = function(v)
    if type(v) == 'function' then return true end
    local mt = getmetatable(v)
    return type(mt) == 'table' and rawget(mt, '__call') ~= nil
  end,
  any = function(v) return v ~= nil end,
}

-- "bad argument #i to 'fname' (msg)", raised at `level` above the caller of argerror.
function check.argerror(fname, i, msg, level)
  error(("bad argument #%d to '%s' (%s)"):format(i, fname, msg), (level or 1) + 2)
end

-- A spec parsed once ({optional, kinds, tests}): checks sit on hot paths (every forward).
local parsed = {}
local function parse(spec)
  local optional = spec:sub(-1) == '?'
  local p = { optional = optional, kinds = optional and spec:sub(1, -2) or spec, tests = {}, names = {} }
  for kind in p.kinds:gmatch('[^|]+') do
    local f = is_kind[kind]
    if not f then error(("torch.check: unknown kind '%s'"):format(kind), 3) end
    p.tests[#p.tests + 1], p.names[#p.names + 1] = f, kind
  end
  parsed[spec] = p
  return p
end

-- Checks that v is of one of the kinds in spec ('number', 'integer|tensor', 'table?');
-- returns v.
function check.arg(fname, i, v, spec, level)
  local p = parsed[spec] or parse(spec)
  if v == nil and p.optional then return v end
  local tests = p.tests
  for k = 1, #tests do
    if tests[k](v) then
      local kind = p.names[k]
      if kind == 'integer' or kind == 'count' then return math.tointeger(v) end
      return v
    end
  end
  local kinds, optional = p.kinds, p.optional
  local expected = kinds:gsub('count', 'non-negative integer'):gsub('|', ' or ')
  if optional then expected = expected .. ' or nil' end
  local got = v == nil and 'no value' or typename(v)
  if type(v) == 'number' and (kinds:match('integer') or kinds:match('count')) then
    got = tostring(v)                     -- the value says what is wrong with it
  elseif is_tensor(v) and not is_live_tensor(v) then
    got = 'a freed tensor'
  end
  local msg = ('%s expected, got %s'):format(expected, got)
  check.argerror(fname, i, msg, (level or 1) + 1)
end

-- Raises the error of a call made for fname (ok, ... as pcall returns them) as fname's own:
-- the callee's position and leading 'name: ' are replaced by fname, so a public function
-- built on another one names itself ('torch.zeros: tensor is too large', not 'torch.Tensor:
-- ...'). Messages that already start with fname, and error values that are not strings, pass
-- unchanged. Returns the call's results when ok. Call it as `local r = check.call(...)`, not
-- in a tail call, so `level` (default 1: the caller of the function calling check.call)
-- counts as error()'s does.
function check.call(fname, level, ok, ...)
  if ok then return ... end
  local err = ...
  if type(err) ~= 'string' then error(err, 0) end
  local msg = err:gsub('^[^\n]-:%d+: ', '', 1)
  if msg:sub(1, #fname + 1) == fname .. ':' or msg:sub(1, #fname + 1) == fname .. '(' then
    error(err, 0)
  end
  -- the callee's argument numbers are not the caller's: keep what was wrong, not where
  msg = msg:match("^bad argument #%d+ to '[^']*' %((.*)%)$") or msg:match("^calling '[^']*' on bad self %((.*)%)$")
        or msg:gsub('^[%w_.]+: ', '', 1)
  error(fname .. ': ' .. msg, (level or 1) + 2)
end

-- PyTorch's spellings of options that luatorch names in Torch7's camelCase, and the names
-- that differ between optim's two APIs (optim.sgd's learningRate, optim.SGD's lr). A hint is
-- only given when the suggested name is one the caller accepts.
local aliases = {
  batch_first = 'batchFirst', num_layers = 'numLayers', weight_decay = 'weightDecay',
  ignore_index = 'ignoreIndex', padding_idx = 'paddingIdx', max_norm = 'maxNorm',
  batch_size = 'batchSize', num_workers = 'numWorkers', drop_last = 'dropLast',
  learning_rate = 'learningRate', label_smoothing = 'labelSmoothing',
  size_average = 'sizeAverage', return_state = 'returnState', target_transform = 'targetTransform',
  lr_decay = 'lrDecay', weight = 'weights', proj_size = 'projSize',
  lr = 'learningRate', learningRate = 'lr', eps = 'epsilon', epsilon = 'eps',
  lrDecay = 'learningRateDecay', learningRateDecay = 'lrDecay',
  -- the lr schedulers' (optim.StepLR, ...)
  step_size = 'stepSize', T_max = 'TMax', eta_min = 'etaMin', max_lr = 'maxLr',
  total_steps = 'totalSteps', steps_per_epoch = 'stepsPerEpoch', pct_start = 'pctStart',
  anneal_strategy = 'annealStrategy', div_factor = 'divFactor', final_div_factor = 'finalDivFactor',
  three_phase = 'threePhase', cycle_momentum = 'cycleMomentum', base_momentum = 'baseMomentum',
  max_momentum = 'maxMomentum', threshold_mode = 'thresholdMode', min_lr = 'minLr',
  lr_lambda = 'lrLambda', norm_type = 'normType', scale_grad_by_freq = 'scaleGradByFreq',
  pos_weight = 'posWeight', log_target = 'logTarget',
  -- convolutions, pooling, normalisation, up-sampling (lua/nn/conv.lua, norm.lua, spatial.lua)
  output_padding = 'outputPadding', padding_mode = 'paddingMode', ceil_mode = 'ceilMode',
  count_include_pad = 'countIncludePad', divisor_override = 'divisorOverride',
  return_indices = 'returnIndices', track_running_stats = 'trackRunningStats',
  elementwise_affine = 'elementwiseAffine', scale_factor = 'scaleFactor',
  align_corners = 'alignCorners', recompute_scale_factor = 'recomputeScaleFactor',
}
check.aliases = aliases

-- A placeholder value in a defaults table: the option is known but not built yet, and a
-- caller who sets it (to anything but the default `off`) gets an error saying so.
function check.unsupported(off)
  return setmetatable({ off = off }, { __name = 'torch.check.unsupported' })
end

local function is_unsupported(v)
  local mt = getmetatable(v)
  return type(mt) == 'table' and mt.__name == 'torch.check.unsupported'
end

local function sorted_keys(t)
  local keys = {}
  for k, v in pairs(t) do
    if v ~= check.IGNORED then keys[#keys + 1] = tostring(k) end
  end
  table.sort(keys)
  return keys
end

-- Checks an options table against `defaults` (option -> default value) and returns a new
-- table with the defaults filled in. Unknown keys are errors naming the accepted ones and
-- mapping PyTorch's spellings; a default made by check.unsupported() refuses any other value.
-- A default of `check.REQUIRED` must be given; one of `check.NONE` is accepted and defaults to
-- nil. One of `check.IGNORED` is a key the caller keeps in the same table (optim.sgd's state
-- lives in its config): accepted, but neither listed nor returned. opts may be nil.
check.REQUIRED = setmetatable({}, { __name = 'torch.check.required' })
check.NONE = setmetatable({}, { __name = 'torch.check.none' })
check.IGNORED = setmetatable({}, { __name = 'torch.check.ignored' })

function check.options(fname, opts, defaults, level)
  level = (level or 1) + 1
  if opts ~= nil and type(opts) ~= 'table' then
    error(('%s: options must be a table, got %s'):format(fname, typename(opts)), level)
  end
  local out = {}
  for k, v in pairs(opts or {}) do
    if type(k) ~= 'string' or defaults[k] == nil then
      local hint = ''
      if type(k) == 'string' and aliases[k] and defaults[aliases[k]] ~= nil then
        hint = (" (did you mean '%s'?)"):format(aliases[k])
      elseif type(k) ~= 'string' then
        hint = ' (options are given by name, as {name = value})'
      end
      error(("%s: unknown option '%s'%s; accepted: %s")
            :format(fname, tostring(k), hint, table.concat(sorted_keys(defaults), ', ')), level)
    end
    local d = defaults[k]
    if is_unsupported(d) then
      if v ~= d.off then
        error(("%s: option '%s' is not supported yet"):format(fname, k), level)
      end
      v = d.off
    end
    if d ~= check.IGNORED then out[k] = v end
  end
  for k, d in pairs(defaults) do
    if out[k] == nil and d ~= check.IGNORED then
      if d == check.REQUIRED then
        error(("%s: option '%s' is required"):format(fname, k), level)
      end
      if is_unsupported(d) then d = d.off end
      if d ~= check.NONE then out[k] = d end
    end
  end
  return out
end

return check
