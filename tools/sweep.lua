-- tools/sweep.lua — the bad-argument sweep (issue 14): calls every public function of luatorch's
-- Lua surface with a battery of wrong arguments and fails on anything but a clean, named error.
--
--   luatorch tools/sweep.lua [--plant] [--exe PATH] [--jobs N] [--sample K] [--only TEXT]
--                            [--timeout S] [--out FILE] [--list]
--
-- --only TEXT sweeps the targets whose name contains TEXT; --list prints the targets and their
-- case counts; --plant (first) adds three targets that must fail (below); --sample K keeps one
-- case in K (a hash of the target's name and the case number; explicit cases always run);
-- --timeout S bounds each child process (60 s); --jobs N children at once (2).
--
-- What is swept (the targets):
--   * every function in the tables torch, nn, optim, datasets, transforms and their sub-tables
--     (torch.autograd, torch.cuda), distributed when its MPI binding was built, and the tensor type objects and storage constructors;
--     names starting with '_' are private and are not swept;
--   * every tensor method (the methods table behind getmetatable(torch.FloatTensor(1))), called
--     as t:name(...) when the receiver is a tensor, else as torch.FloatTensor.name(self, ...);
--     every storage method and metamethod likewise; the methods of a bundled MNIST split
--     (get, rawLabel, size, batchInputs, batchTargets) and of a DataLoader on a small table
--     dataset (size, order, iter: the iterator is made, not run);
--   * every function of the tensor metatable called directly (mt.__add(a, b), mt.__index(t, k),
--     ...) and the operators themselves (a + b, a - b, a * b, a / b, a ^ b, -a, #a, a[k],
--     a[k] = v, tostring(a)) where an operand is a tensor (otherwise Lua's own error applies);
--     the tensor metatable has no __eq, __lt, __le, __concat or __call, so those operators get
--     Lua's own error for any userdata and are not swept;
--   * every nn class's constructor, and on a module built with plausible arguments: forward,
--     backward, updateOutput, updateGradInput, accGradParameters, __call (m(x)), parameters,
--     type, float, double; every criterion's forward, backward, updateOutput, updateGradInput
--     and __call; the objects of optim.SGD/Adam/RMSprop/Adagrad (step, zeroGrad) and of
--     transforms (apply, batch);
--   * the explicit cases: issue 14's known defects, each a target of its own (EXPLICIT below).
--
-- The calls (cases) of a target with P argument positions: each position in turn holds each
-- battery value while the other positions hold a plausible good value (P x #BATTERY calls),
-- plus PAIRS calls with two positions holding battery values, drawn by a fixed-seed generator
-- from the target's index. The plausible values are found by the child at run time: the first
-- tuple of GOOD_TUPLES (GOOD_CTOR for modules) with which the call succeeds.
--
-- The rule (a case fails when):
--   crash   the child process died of a signal, or printed a sanitizer report
--           ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"; UBSan is built
--           with -fno-sanitize-recover, so it aborts); the culprit is the call that was running;
--   hang    the call ran past the time limit (a Lua loop is stopped by a count hook after
--           CALL_LIMIT seconds of CPU time; a C loop by the process timeout);
--   raw     the call raised an error whose message, after one leading "chunk:line: " position,
--             - contains Lua's own runtime error text (RAW_PATTERNS: "attempt to ...",
--               "stack overflow", "not enough memory", "table index is nil", ...), or
--             - is not a string, or
--             - is neither `bad argument #N to 'NAME' (...)` / `calling 'NAME' on bad self (...)`
--               nor `NAME: ...` / `NAME(...): ...` (the name at the start, then a colon and a
--               space), with NAME one of the target's names: its short name ('narrow'), its
--               qualified name ('torch.narrow', 'cuda.setDevice', 'torch.cuda.setDevice',
--               'nn.Linear', 'optim.sgd'), for an operator the metamethod and op ('__add',
--               'add'), for a module or criterion method the method and any nn class
--               ('nn.Linear: ...', 'nn.Linear(3 -> 3): ...': a module inside a container
--               names itself) and for m(x) also 'forward', for a transform's method any
--               transforms class (a Compose's part names itself);
--   wrong   an explicit case that must be refused returned normally (e.g. a sum over
--           2^64 elements of an expanded tensor returning 0).
-- A normal return is never a failure for the battery cases: many battery values are valid.
-- When the battery's nn module is an argument, a target that calls it back (an optimiser's
-- feval or closure, torch.applyFunction) may raise the module's own error ('forward', or
-- 'nn.Linear(3 -> 3): ...'); that is accepted.
--
-- Running: the parent (this script without --child) enumerates the targets, splits them into
-- batches and runs each batch in a child `luatorch` process (--jobs at once), each in a fresh
-- temporary directory (a torch.save('x') lands there), stdin from /dev/null, OMP_NUM_THREADS=1,
-- under `timeout`. Memory: without sanitizers `ulimit -v` (4 GB); under ASan (LUATORCH_ASAN=1)
-- ulimit -v is not usable, so ASAN_OPTIONS refuse single allocations above 2 GB (malloc returns
-- NULL: allocator_may_return_null) and kill a child whose RSS passes 6 GB (a crash). The child
-- writes "B target case description" before each call and "R target case status message" after
-- it; when a child dies the parent names the call that was running and resumes the batch after
-- it, so a crash hides nothing. A leak report (at exit, not tied to a call) makes the parent
-- re-run the batch one target per process; a single target's leak is its crash.
--
-- Not swept (side effects the battery cannot make safe): the '_' names (private; among them
-- torch._download, the network), the REPL (lua/torch/repl.lua is in no table), os.exit-like
-- calls (none in these tables), the methods of torch.CmdLine() objects (parse may print help and
-- exit; the constructor is swept), DataLoader iteration. datasets.MNIST/FashionMNIST are swept
-- with the battery, which never holds a table with download = true.
--
-- Output: one line per failure (at most 4 per target and kind on the terminal, all of them in
-- --out FILE), then
--   sweep: N calls over M targets in S s: K crashes, H hangs, R raw errors, W wrong results
-- and the exit status is non-zero when any of K, H, R, W is.

local torch = require 'torch'
local nn = require 'nn'
local optim = require 'optim'
local datasets = require 'datasets'
local transforms = require 'transforms'

-- seconds of CPU time a call may take before it counts as a hang (LUATORCH_SWEEP_LIMIT)
local CALL_LIMIT = tonumber(os.getenv('LUATORCH_SWEEP_LIMIT')) or 5
local PAIRS = 24          -- two-position cases per target (fixed seed)

-- ---- values ------------------------------------------------------------------------------
local function T(...) return torch.FloatTensor(...):uniform(-1, 1) end
local function freed() local t = torch.FloatTensor(2, 3); t:free(); return t end

-- The battery: name -> a maker (each call gets fresh values: a call may modify or free them).
local BATTERY = {
  { 'nil', function() return nil end },
  { 'true', function() return true end },
  { 'false', function() return false end },
  { '""', function() return '' end },
  { '"xyz"', function() return 'xyz' end },
  { '"%s%n"', function() return '%s%n%d' end },
  { '{}', function() return {} end },
  { '{1,nil,3}', function() return { 1, nil, 3 } end },
  { '{{1,2},{3}}', function() return { { 1, 2 }, { 3 } } end },
  { 'function', function() return function() end end },
  { 'io.stdout', function() return io.stdout end },
  { 'coroutine', function() return coroutine.create(function() end) end },
  { '2^62', function() return 2^62 end },
  { '1<<62', function() return 1 << 62 end },
  { '-1', function() return -1 end },
  { '-2^63', function() return math.mininteger end },
  { 'maxinteger', function() return math.maxinteger end },
  { '2^31', function() return 2^31 end },
  { '1<<31', function() return 1 << 31 end },
  { '0', function() return 0 end },
  { '0.5', function() return 0.5 end },
  { 'NaN', function() return 0 / 0 end },
  { 'inf', function() return math.huge end },
  { '-inf', function() return -math.huge end },
  { 'freed', freed },
  { 'empty', function() return torch.FloatTensor() end },
  { '0-dim', function() return T(1):squeeze() end },
  { 'Double2x3', function() return torch.DoubleTensor(2, 3):fill(0.5) end },
  { 'Long2x3', function() return torch.LongTensor(2, 3):fill(1) end },
  { 'Byte2x3', function() return torch.ByteTensor(2, 3):fill(1) end },
  { 'BFloat16x2x3', function() return torch.BFloat16Tensor(2, 3):fill(0.5) end },
  { 'Float3x2', function() return T(3, 2) end },
  { 'Float5', function() return T(5) end },
  { 'Float2x3x4', function() return T(2, 3, 4) end },
  { 'expanded', function() return T(1, 3):expand(2, 3) end },
  { 'requiresGrad', function() local t = T(2, 3); t.requiresGrad = true; return t end },
  { 'FloatStorage', function() return torch.FloatStorage(3) end },
  { 'module', function() return nn.Linear(3, 3) end },
}

-- Good values, by name.
local GOOD = {
  F23 = function() return T(2, 3) end, F32 = function() return T(3, 2) end,
  F33 = function() return T(3, 3) end, F3 = function() return T(3) end,
  F233 = function() return T(2, 3, 3) end,
  L2 = function() return torch.LongTensor({ 1, 2 }) end,
  L23 = function() return torch.LongTensor({ { 1, 2, 1 }, { 2, 1, 2 } }) end,
  B23 = function() return torch.ByteTensor({ { 1, 0, 1 }, { 0, 1, 0 } }) end,
  tab2 = function() return { T(2, 3), T(2, 3) } end,
  fn = function() return function(x) return x end end,
  ['1'] = function() return 1 end, ['2'] = function() return 2 end, ['3'] = function() return 3 end,
  ['0.5'] = function() return 0.5 end, ['-1'] = function() return -1 end,
  str = function() return 'torch.DoubleTensor' end,
  S3 = function() return torch.FloatStorage({ 1, 2, 3 }) end,
}
-- Tuples tried in order; the first one with which a target's call succeeds fills the positions
-- the battery is not in.
local GOOD_TUPLES = {
  { 'F23', 'F23', 'F23', 'F23' }, { 'F23', '1', '1', '1' }, { 'F23', '1', '2', '1' },
  { 'F23', '2', '1' }, { 'F23', '0.5' }, { 'F23', 'F32', 'F23' }, { 'F33', 'F33', 'F33', 'F33' },
  { 'F23', '1', 'L23', 'F23' }, { 'F23', 'L2' }, { 'F23', 'B23', 'F23' }, { 'F23', 'str' },
  { 'F23', '1', 'F23' }, { 'F23', 'F3' }, { 'F23', '1', '1', 'F23' }, { 'F23', 'fn' },
  { 'tab2', '1' }, { '2', '3', '1' }, { '1', '3', '1' }, { 'fn', 'F23' }, { 'fn' },
  { 'F233', 'F233' }, { '3' }, { },
}

-- ---- targets -----------------------------------------------------------------------------
-- A target: name (shown), names (accepted in messages), call (code: a function of the
-- positions a1..aN), npos, goods (tuples to probe), expect ('error' for explicit cases).
local targets = {}

local ENV = { torch = torch, nn = nn, optim = optim, datasets = datasets, transforms = transforms,
              getmetatable = getmetatable, tostring = tostring, io = io, math = math, T = T,
              freed = freed, pcall = pcall }

local function add(t)
  t.goods = t.goods or GOOD_TUPLES
  targets[#targets + 1] = t
end

local function names_of(qualified)
  local names = { [qualified] = true }
  local parts = {}
  for p in qualified:gmatch('[^.:]+') do parts[#parts + 1] = p end
  for i = 1, #parts do names[table.concat(parts, '.', i)] = true end
  return names
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do if type(k) == 'string' then keys[#keys + 1] = k end end
  table.sort(keys)
  return keys
end

local function params(n, from)
  local p = {}
  for i = from or 1, n do p[#p + 1] = 'a' .. i end
  return table.concat(p, ', ')
end

-- Positions swept: 3 for a function, unless it takes fewer and a call is costly (a data set
-- is loaded on each successful call; the extra positions would only load it again).
local ARITY = { ['datasets.MNIST'] = 1, ['datasets.FashionMNIST'] = 1, ['datasets.DataLoader'] = 1 }

-- functions of a table, called by the path a user writes (so Lua names them in errors)
local function sweep_table(path, tbl)
  for _, k in ipairs(sorted_keys(tbl)) do
    local v = tbl[k]
    if k:sub(1, 1) ~= '_' then
      local callable = type(v) == 'function' or (type(v) == 'table' and getmetatable(v)
                       and getmetatable(v).__call)
      if callable and not (path == 'nn' and type(v) == 'table') then
        add({ name = path .. '.' .. k, names = names_of(path .. '.' .. k), npos = ARITY[path .. '.' .. k] or 3,
              call = ('%s.%s(a1, a2, a3)'):format(path, k) })
      end
    end
  end
end

sweep_table('torch', torch)
sweep_table('torch.autograd', torch.autograd)
sweep_table('torch.cuda', torch.cuda)
sweep_table('optim', optim)
sweep_table('datasets', datasets)
sweep_table('transforms', transforms)
-- distributed (issue 19), when the MPI binding was built: MPI runs (a world of one) so the
-- collectives get past their "call dist.init() first"; finalize is not swept (it would end MPI
-- for the rest of a child's calls)
local has_dist, distributed = pcall(require, 'distributed')
if has_dist then
  distributed.init()
  ENV.distributed = distributed
  local swept = {}
  for k, v in pairs(distributed) do if k ~= 'finalize' then swept[k] = v end end
  sweep_table('distributed', swept)
end

-- tensor methods: t:name(...) when a1 is a tensor, else through the type object
local mt = getmetatable(torch.FloatTensor(1))
local function is_tensor(v) return type(v) == 'userdata' and getmetatable(v) == mt end
ENV.is_tensor = is_tensor
for _, k in ipairs(sorted_keys(mt.methods)) do
  if k:sub(1, 1) ~= '_' then
    local names = names_of('torch.' .. k)
    names['Tensor.' .. k] = true
    add({ name = 't:' .. k, names = names, npos = 4,
          -- indexed by string: a method may be named by a keyword (x['repeat'], PyTorch's repeat)
          call = ('if is_tensor(a1) then return a1[%q](a1, a2, a3, a4) end '
                  .. 'return torch.FloatTensor[%q](a1, a2, a3, a4)'):format(k, k) })
  end
end

-- storage methods and metamethods, the same way
local smt = getmetatable(torch.FloatStorage(1))
ENV.SM = smt
ENV.is_storage = function(v) return type(v) == 'userdata' and getmetatable(v) == smt end
for _, k in ipairs(sorted_keys(smt.methods)) do
  local names = names_of('Storage.' .. k)
  add({ name = 's:' .. k, names = names, npos = 4, goods = { { 'S3', '1', '1', '1' }, { 'S3' } },
        call = ('if is_storage(a1) then return a1:%s(a2, a3, a4) end '
                .. 'return SM.methods.%s(a1, a2, a3, a4)'):format(k, k) })
end
for _, k in ipairs(sorted_keys(smt)) do
  if type(smt[k]) == 'function' then
    local names = names_of(k)
    names[k:sub(3)] = true
    add({ name = 'storage mt.' .. k, names = names, npos = 3, goods = { { 'S3', '1', '1' }, { 'S3', 'S3' } },
          call = ('return SM.%s(a1, a2, a3)'):format(k) })
  end
end

-- the datasets' objects: one bundled MNIST split, loaded once per child, and a loader on it
ENV.dataset = function()
  ENV.DS = ENV.DS or datasets.MNIST({ train = false })
  return ENV.DS
end
for _, k in ipairs({ 'get', 'rawLabel', 'size', 'batchInputs', 'batchTargets' }) do
  local names = names_of('datasets.MNIST')
  names[k], names['datasets.MNIST:' .. k] = true, true
  add({ name = 'datasets.MNIST():' .. k, names = names, npos = 2, goods = { { '1', '1' }, {} },
        call = ('return dataset():%s(a1, a2)'):format(k) })
end
for _, k in ipairs({ 'size', 'order', 'iter' }) do
  local names = names_of('datasets.DataLoader')
  names[k], names['datasets.DataLoader:' .. k] = true, true
  -- on a small table dataset: a loader on MNIST transforms the whole split when made
  add({ name = 'datasets.DataLoader():' .. k, names = names, npos = 2, goods = { { '1', '1' }, {} },
        call = ('local ds = { { T(3), 1 }, { T(3), 2 }, { T(3), 1 } } '
                .. 'return datasets.DataLoader({ dataset = ds, batchSize = 2 }):%s(a1, a2)'):format(k) })
end

-- the metatable's functions called directly, and the operators
local op_names = { __add = 'add', __sub = 'sub', __mul = 'mul', __div = 'div', __pow = 'pow',
                   __unm = 'neg', __len = 'size', __index = 'index', __newindex = 'newindex',
                   __tostring = 'tostring', __gc = 'free', __close = 'free' }
for _, k in ipairs(sorted_keys(mt)) do
  if type(mt[k]) == 'function' then
    local names = names_of(k)
    if op_names[k] then names[op_names[k]] = true end
    add({ name = 'mt.' .. k, names = names, npos = 3,
          call = ('getmetatable(T(1)).%s(a1, a2, a3)'):format(k) })
  end
end
local OPS = {
  { '+', '__add', 'a1 + a2', 2 }, { '-', '__sub', 'a1 - a2', 2 }, { '*', '__mul', 'a1 * a2', 2 },
  { '/', '__div', 'a1 / a2', 2 }, { '^', '__pow', 'a1 ^ a2', 2 }, { 'unary -', '__unm', '-a1', 1 },
  { '#', '__len', '#a1', 1, true }, { 'a[k]', '__index', 'a1[a2]', 2, true },
  { 'a[k]=v', '__newindex', 'a1[a2] = a3', 3, true }, { 'tostring', '__tostring', 'tostring(a1)', 1, true },
}
for _, op in ipairs(OPS) do
  local names = names_of(op[2])
  names[op_names[op[2]]] = true
  names[op[2]:sub(3)] = true      -- Lua names a metamethod 'add', 'unm', 'len' in its errors
  if op[2] == '__mul' then for _, n in ipairs({ 'mm', 'mv', 'dot', 'matmul' }) do names[n] = true end end
  add({ name = 'op ' .. op[1], names = names, npos = op[4], operator = true, self_tensor = op[5],
        call = (op[2] == '__newindex' and '%s' or 'return %s'):format(op[3]) })
end

-- nn: constructors, then methods of a module built with good arguments
local GOOD_CTOR = {
  Linear = '3, 3', LookupTable = '10, 3', LSTM = '3, 3', LSTMCell = '3, 3', Dropout = '0.5',
  LeakyReLU = '0.1', Narrow = '2, 1, 2', Select = '2, 1', Transpose = '{1, 2}', View = '6',
  Reshape = '6', JoinTable = '2', SplitTable = '1', SelectTable = '1', NarrowTable = '1, 2',
  Sequential = '', ConcatTable = '', ParallelTable = '', Container = '',
  MultiheadAttention = '3, 1', TransformerEncoderLayer = '3, 1, {dimFeedforward = 4}',
  TransformerDecoderLayer = '3, 1, {dimFeedforward = 4}',
  TransformerEncoder = 'nn.TransformerEncoderLayer(3, 1, {dimFeedforward = 4}), 2',
}
-- the input each module expects, then its gradOutput (probed in order like GOOD_TUPLES)
local MODULE_TUPLES = { { 'F23', 'F23', '1' }, { 'F23', 'F3', '1' }, { 'F233', 'F233', '1' },
  { 'L23', 'F23' }, { 'tab2', 'tab2', '1' }, { 'tab2', 'F23', '1' }, { 'F23', 'tab2', '1' },
  { 'F23', 'L2' }, { 'F23', 'F32' }, { 'F32', 'F23' }, { 'F23', 'F23' }, { 'F3', 'F3' } }
local MODULE_METHODS = { forward = 2, backward = 3, updateOutput = 1, updateGradInput = 2,
  accGradParameters = 3, __call = 2, parameters = 1, type = 1, float = 1, double = 1 }
local CRITERION_TUPLES = { { 'F23', 'L2' }, { 'F23', 'F23' }, { 'F23', 'B23' }, { 'F3', 'F3' } }
local CRITERION_METHODS = { forward = 2, backward = 2, updateOutput = 2, updateGradInput = 2, __call = 2 }

for _, k in ipairs(sorted_keys(nn)) do
  local cls = nn[k]
  if type(cls) == 'table' and rawget(cls, '__typename') and k:sub(1, 1) ~= '_' then
    local qname = 'nn.' .. k
    -- PyTorch's names are aliases of Torch7's classes (nn.Softplus is nn.SoftPlus): a message
    -- may name the class by either
    local function class_names(extra)
      local names = names_of(qname)
      for n in pairs(names_of(rawget(cls, '__typename'))) do names[n] = true end
      if extra then names[extra] = true end
      return names
    end
    add({ name = qname, names = class_names(), npos = 3, call = ('nn.%s(a1, a2, a3)'):format(k) })
    local is_crit = false
    local c = cls
    while type(c) == 'table' do
      if rawget(c, '__typename') == 'nn.Criterion' then is_crit = true end
      local up = getmetatable(c)
      c = up and rawget(up, '__index')
    end
    if k ~= 'Module' and k ~= 'Criterion' then
      local methods = is_crit and CRITERION_METHODS or MODULE_METHODS
      for _, m in ipairs(sorted_keys(methods)) do
        local names = class_names(m)
        if m == '__call' then names.forward = true end   -- m(x) is forward's work
        local n = methods[m]
        local ctor = ('nn.%s(%s)'):format(k, is_crit and '' or (GOOD_CTOR[k] or ''))
        if k == 'Sequential' or k == 'ConcatTable' then ctor = ctor .. ':add(nn.Linear(3, 3))' end
        if k == 'ParallelTable' then ctor = ctor .. ':add(nn.Identity()):add(nn.Identity())' end
        local call = m == '__call' and ('return %s(%s)'):format(ctor, params(n))
                     or ('return %s:%s(%s)'):format(ctor, m, params(n))
        -- backward and updateGradInput follow a forward with the good input
        if m == 'backward' or m == 'updateGradInput' or m == 'accGradParameters' then
          call = ('local m = %s; pcall(m.forward, m, GOOD_INPUT()); return m:%s(%s)')
                 :format(ctor, m, params(n))
        end
        add({ name = qname .. ':' .. m, names = names, npos = n, call = call,
              goods = is_crit and CRITERION_TUPLES or MODULE_TUPLES, module_method = true,
              any_module = true })
      end
    end
  end
end

-- optimizer and transform objects
for _, k in ipairs({ 'SGD', 'Adam', 'RMSprop', 'Adagrad' }) do
  for _, m in ipairs({ 'step', 'zeroGrad' }) do
    local names = names_of('optim.' .. k)
    names[m] = true
    add({ name = 'optim.' .. k .. ':' .. m, names = names, npos = 1,
          call = ('local p = T(3); p.grad = T(3); return optim.%s({ p }):%s(a1)'):format(k, m),
          goods = { { 'fn' }, {} } })
  end
end
for _, k in ipairs({ 'ToTensor()', 'Normalize(0.5, 0.5)', 'Lambda(function(x) return x end)',
                     'Compose({ transforms.ToTensor() })' }) do
  for _, m in ipairs({ 'apply', 'batch' }) do
    local cname = k:match('^%a+')
    local names = names_of('transforms.' .. cname)
    names[m] = true
    add({ name = 'transforms.' .. cname .. ':' .. m, names = names, npos = 1, any_transform = true,
          call = ('return transforms.%s:%s(a1)'):format(k, m),
          goods = { { 'B23' }, { 'F23' }, { 'F233' } } })
  end
end

-- ---- explicit cases: issue 14's known defects --------------------------------------------
-- Each must raise a named error (expect 'error') or, where refusing is not the only right
-- answer, at least not crash, hang or raise a raw error (expect nil).
local EXPLICIT = {
  { 'freed tensor: t + 1', 'local t = T(2); t:free(); return t + 1', 'add __add' },
  { 'freed tensor: 1 * t', 'local t = T(2); t:free(); return 1 * t', 'mul __mul' },
  { 'freed tensor: t ^ 2', 'local t = T(2); t:free(); return t ^ 2', 'pow __pow' },
  { 'freed tensor: torch.arange(t)', 'return torch.arange(freed())', 'arange torch.arange' },
  { 'freed tensor: nn.Reshape(t)', 'return nn.Reshape(freed())', 'nn.Reshape Reshape' },
  { 'freed tensor: nn.View(t)', 'return nn.View(freed())', 'nn.View View' },
  { 'mt.__add(1, 2)', 'return getmetatable(T(1)).__add(1, 2)', 'add __add' },
  { 'view(2^32, 2^32)[1][1] = 5', 'torch.FloatTensor(0):view(4294967296, 4294967296)[1][1] = 5',
    'view newindex index' },
  { 'expand(2^32, 2^32):sum()',
    'return torch.FloatTensor({3}):view(1, 1):expand(4294967296, 4294967296):sum()',
    'expand sum' },
  { 'nn.LSTM(1, 1, 1 << 62)', 'return nn.LSTM(1, 1, 1 << 62)', 'nn.LSTM LSTM' },
  { 'F:narrow(1, mininteger, 1)', 'return T(2, 3):narrow(1, math.mininteger, 1)', 'narrow' },
  { 'F:unsqueeze(2^31)', 'return T(2, 3):unsqueeze(2^31)', 'unsqueeze' },
  -- as PyTorch: at most one row per chunk, one piece for a split larger than the dim
  { 'F:chunk(maxinteger)', 'return T(2, 3):chunk(math.maxinteger)', 'chunk', 'maybe' },
  { 'F:split(maxinteger)', 'return T(2, 3):split(math.maxinteger)', 'split', 'maybe' },
  { 'torch.FloatTensor(0, 7, 1 << 62)', 'return torch.FloatTensor(0, 7, 1 << 62)',
    'FloatTensor torch.FloatTensor', 'maybe' },
  { 'crossEntropy(empty, mininteger)', 'return torch.crossEntropy(torch.FloatTensor(), math.mininteger)',
    'crossEntropy torch.crossEntropy' },
  { 'cuda.setDevice(2^31)', 'return torch.cuda.setDevice(2^31)', 'setDevice cuda.setDevice torch.cuda.setDevice' },
  { 'F:reshape(2, 1 << 62)', 'return T(2, 3):reshape(2, 1 << 62)', 'reshape' },
  { 'optim.sgd(true, t)', 'return optim.sgd(true, T(2))', 'sgd optim.sgd' },
  { 'torch.eye(tensor)', 'return torch.eye(T(2))', 'eye torch.eye' },
  { 'nn.Dropout(io.stdout)', 'return nn.Dropout(io.stdout)', 'Dropout nn.Dropout' },
  { 'datasets.dataRoot({})', 'return datasets.dataRoot({})', 'dataRoot datasets.dataRoot' },
  { 'torch.zerosLike(5)', 'return torch.zerosLike(5)', 'zerosLike torch.zerosLike' },
  { 'torch.gradcheck(print, print)', 'return torch.gradcheck(print, print)', 'gradcheck torch.gradcheck' },
}
ENV.print = print
for _, e in ipairs(EXPLICIT) do
  local names = {}
  for n in e[3]:gmatch('%S+') do names[n] = true end
  add({ name = 'issue 14: ' .. e[1], names = names, npos = 0, call = e[2],
        expect = e[4] ~= 'maybe' and 'error' or nil, goods = { {} } })
end

-- --plant adds three targets that must fail, one of each kind the machinery catches (the
-- sweep's own check, spec/43-sweep_spec.lua): a raw error, a child that dies inside a call
-- (os.exit stands for a signal: no result line is written), and a Lua loop that never ends.
if arg[1] == '--plant' or (arg[1] == '--child' and os.getenv('LUATORCH_SWEEP_PLANT')) then
  ENV.os = os
  add({ name = 'planted: raw error', names = { planted = true }, npos = 0, goods = { {} },
        call = 'local t = nil; return t.x' })
  add({ name = 'planted: death', names = { planted = true }, npos = 0, goods = { {} },
        call = 'os.exit(3)' })
  add({ name = 'planted: hang', names = { planted = true }, npos = 0, goods = { {} },
        call = 'while true do end' })
end

-- ---- cases -------------------------------------------------------------------------------
local NB = #BATTERY

local function ncases(t)
  if t.npos == 0 then return 1 end
  return t.npos * NB + (t.npos >= 2 and PAIRS or 0)
end

-- a small deterministic generator (the same numbers in every child)
local function lcg(seed)
  local s = seed
  return function(n)
    s = (s * 6364136223846793005 + 1442695040888963407) & 0x7fffffffffffffff
    return (s >> 33) % n + 1
  end
end

-- case c of target ti: list of {position, battery index}
local function case_spec(ti, t, c)
  if t.npos == 0 then return {} end
  if c <= t.npos * NB then return { { (c - 1) // NB + 1, (c - 1) % NB + 1 } } end
  local r = lcg(ti * 7919 + (c - t.npos * NB))
  local p1 = r(t.npos)
  local p2 = r(t.npos - 1)
  if p2 >= p1 then p2 = p2 + 1 end
  return { { p1, r(NB) }, { p2, r(NB) } }
end

-- --sample K keeps one case in K, chosen by a hash of the target's name and the case number
-- (stable when targets are added); explicit cases are always kept.
local SAMPLE = 1
local function kept(t, c)
  if SAMPLE <= 1 or t.npos == 0 then return true end
  local h = 5381
  for i = 1, #t.name do h = (h * 33 + t.name:byte(i)) & 0xffffffff end
  h = (h * 2654435761 + c * 40503) & 0xffffffff
  return (h >> 7) % SAMPLE == 0
end

-- ---- the message rule --------------------------------------------------------------------
local RAW_PATTERNS = {
  'attempt to %a', 'stack overflow', 'not enough memory', 'memory allocation error',
  'table index is nil', 'table index is NaN', 'invalid value %(at index', 'string length overflow',
  'error in error handling', 'number has no integer representation$', 'wrong number of arguments',
  "bad argument #%d+ to '%?'", 'invalid key to \'next\'', 'object length is not an integer',
}

local function strip_position(msg)
  return msg:gsub('^[^\n]-:%d+: ', '', 1)
end

-- nil when msg is acceptable for target t, else why not. callback: an argument is the battery's
-- nn module, which a target may call back (optim's closure, applyFunction); the module's own
-- error for that call ('forward', or one naming the module's class) is then accepted too.
local function judge(t, err, callback)
  if type(err) ~= 'string' then return 'the error value is a ' .. type(err) .. ', not a message' end
  local msg = strip_position(err)
  for _, p in ipairs(RAW_PATTERNS) do
    if msg:find(p) then return 'Lua runtime error text' end
  end
  local name = msg:match("^bad argument #%d+ to '([^']*)' %(") or msg:match("^calling '([^']*)' on bad self")
  if name then
    if t.names[name] or callback and name == 'forward' then return nil end
    return ("names '%s', not the called function"):format(name)
  end
  name = msg:match('^([%w_.:]+): ') or msg:match('^([%w_.:]+)%b(): ')
  if name and (t.names[name] or (t.any_module or callback) and name:match('^nn%.%u')
                or t.any_transform and name:match('^transforms%.%u')) then
    return nil
  end
  return 'does not start with the called function\'s name'
end

-- ---- the child ---------------------------------------------------------------------------
local function compile(t)
  local src = ('return function(%s) %s end'):format(params(math.max(t.npos, 1)), t.call)
  return assert(load(src, '=' .. t.name, 't', ENV))()
end

local function make_args(t, tuple, spec)
  local args, names = {}, {}
  for p = 1, t.npos do
    local g = tuple[p]
    if g then args[p], names[p] = GOOD[g](), g else args[p], names[p] = nil, 'nil' end
  end
  for _, s in ipairs(spec) do
    local b = BATTERY[s[2]]
    args[s[1]], names[s[1]] = b[2](), '<' .. b[1] .. '>'
  end
  return args, table.concat(names, ', ', 1, t.npos)
end

local function reset()
  torch.setdefaulttensortype('torch.FloatTensor')
  torch.setGradEnabled(true)
  torch.setnumthreads(1)
end

local deadline
local function hook()
  if os.clock() > deadline then
    debug.sethook()
    error('sweep: call exceeded ' .. CALL_LIMIT .. ' s of CPU time', 0)
  end
end

local function timed_pcall(f, ...)
  deadline = os.clock() + CALL_LIMIT
  debug.sethook(hook, '', 100000)
  local r = table.pack(pcall(f, ...))
  debug.sethook()
  return table.unpack(r, 1, r.n)
end

local function one_line(s) return (tostring(s):gsub('[%c]', ' ')) end

local function run_child(first, last, start, resultfile)
  local out = assert(io.open(resultfile, 'a'))
  local function emit(...) out:write(table.concat({ ... }, ' '), '\n'); out:flush() end
  for ti = first, last do
    local t = targets[ti]
    local fn = compile(t)
    ENV.GOOD_INPUT = function() return GOOD.F23() end
    -- probe: the first good tuple with which the call succeeds
    local tuple = t.goods[#t.goods]
    local c0 = ti == first and start or 1
    if t.npos > 0 then
      emit('B', ti, 0, 'probe')
      for _, g in ipairs(t.goods) do
        local args = make_args(t, g, {})
        local ok = timed_pcall(fn, table.unpack(args, 1, t.npos))
        reset()
        if ok then tuple = g break end
      end
      if t.module_method then
        local g1 = tuple[1]
        ENV.GOOD_INPUT = function() return g1 and GOOD[g1]() end
      end
    end
    for c = c0, ncases(t) do
      local args, desc = make_args(t, tuple, case_spec(ti, t, c))
      if kept(t, c) and not (t.operator and (t.self_tensor and not is_tensor(args[1])
                              or not t.self_tensor and not (is_tensor(args[1]) or is_tensor(args[2])))) then
        emit('B', ti, c, desc)
        local ok, err = timed_pcall(fn, table.unpack(args, 1, t.npos))
        reset()
        local status, why = 'ok', ''
        if ok then
          if t.expect == 'error' then status, why = 'wrong', 'returned normally; must be refused' end
        elseif type(err) == 'string' and err:find('^sweep: call exceeded') then
          status, why = 'hang', err
        else
          local callback = false
          for p = 1, t.npos do
            if type(args[p]) == 'table' and torch.isTypeOf(args[p], 'nn.Module') then callback = true end
          end
          local bad = judge(t, err, callback)
          if bad then status, why = 'raw', bad .. ': ' .. one_line(err) end
        end
        emit('R', ti, c, status, why)
      end
      if c % 64 == 0 then collectgarbage() end
    end
  end
  out:close()
end

-- ---- the parent --------------------------------------------------------------------------
local function sh_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function readfile(path)
  local f = io.open(path, 'rb')
  if not f then return '' end
  local s = f:read('a')
  f:close()
  return s
end

local function parse_results(path)
  local last_b, results, count = nil, {}, 0
  for line in io.lines(path) do
    local kind, ti, c, rest = line:match('^(%u) (%d+) (%d+) ?(.*)$')
    if kind == 'B' then last_b = { tonumber(ti), tonumber(c), rest }
    elseif kind == 'R' then
      local status, why = rest:match('^(%a+) ?(.*)$')
      results[#results + 1] = { tonumber(ti), tonumber(c), status, why, last_b and last_b[3] or '' }
      count = count + 1
      last_b = nil
    end
  end
  return results, last_b, count
end

-- the last line of a child's log that is not a stack traceback's
local function last_words(log)
  local last
  for line in log:gmatch('[^\n]+') do
    if not line:match('^%s') and not line:match('^stack traceback') then last = line end
  end
  return last or '(no output)'
end

local function sanitizer_report(log)
  for _, p in ipairs({ 'ERROR: AddressSanitizer[^\n]*', 'ERROR: LeakSanitizer[^\n]*',
                       '[^\n]*runtime error:[^\n]*', 'ERROR: [%w]+Sanitizer[^\n]*',
                       'libgomp:[^\n]*' }) do
    local m = log:match(p)
    if m then return m end
  end
end

local function main(argv)
  local opts = { exe = os.getenv('LUATORCH_EXE') or arg[-1], jobs = 2, sample = 1, timeout = 60 }
  local i = 1
  while i <= #argv do
    local a = argv[i]
    if a == '--list' then opts.list = true
    elseif a == '--plant' then opts.plant = true
    elseif a:match('^%-%-') then opts[a:sub(3)] = argv[i + 1]; i = i + 1 end
    i = i + 1
  end
  opts.jobs, opts.sample, opts.timeout = tonumber(opts.jobs), tonumber(opts.sample), tonumber(opts.timeout)
  SAMPLE = opts.sample

  local chosen = {}
  for ti, t in ipairs(targets) do
    if not opts.only or t.name:find(opts.only, 1, true) then chosen[#chosen + 1] = ti end
  end
  if opts.list then
    for _, ti in ipairs(chosen) do print(ti, targets[ti].name, ncases(targets[ti])) end
    return 0
  end
  local asan = (os.getenv('LUATORCH_ASAN') or '') ~= ''
  local cwd = io.popen('pwd'):read('l')
  local script = debug.getinfo(1, 'S').source:match('^@(.*)$')
  if script:sub(1, 1) ~= '/' then script = cwd .. '/' .. script end
  local exe = opts.exe
  if exe:sub(1, 1) ~= '/' then exe = cwd .. '/' .. exe end
  local env = 'OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 '
  if argv[1] == '--plant' then env = env .. 'LUATORCH_SWEEP_PLANT=1 ' end
  local limit = ''
  if asan then
    env = env .. 'ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:max_allocation_size_mb=2048'
          .. ':hard_rss_limit_mb=6144 UBSAN_OPTIONS=print_stacktrace=1 '
  else
    limit = 'ulimit -v 4000000; '
  end

  -- work units: (target, first case); batches of targets of about BATCH cases
  local BATCH = 4000
  local queue = {}
  local cur, size = {}, 0
  for _, ti in ipairs(chosen) do
    cur[#cur + 1] = ti
    size = size + ncases(targets[ti]) / opts.sample
    if size >= BATCH then queue[#queue + 1] = { targets = cur, start = 1 }; cur, size = {}, 0 end
  end
  if #cur > 0 then queue[#queue + 1] = { targets = cur, start = 1 } end

  local failures, calls, seen_targets = {}, 0, {}
  local counts = { crash = 0, hang = 0, raw = 0, wrong = 0 }
  local function fail(ti, status, desc, why)
    counts[status] = counts[status] + 1
    failures[#failures + 1] = { ti = ti, status = status, desc = desc, why = why }
  end

  local t0 = os.time()
  local clock0 = io.popen('date +%s.%N'):read('l')
  while #queue > 0 do
    local running = {}
    for j = 1, math.min(opts.jobs, #queue) do running[j] = table.remove(queue, 1) end
    local cmds = {}
    for j, job in ipairs(running) do
      local dir = io.popen('mktemp -d /tmp/luatorch-sweep.XXXXXX'):read('l')
      job.dir = dir
      local tl = job.targets
      -- a batch is contiguous in `chosen` order but targets may be filtered: pass a list file
      local lf = assert(io.open(dir .. '/targets', 'w'))
      lf:write(table.concat(tl, ' '), '\n')
      lf:close()
      cmds[#cmds + 1] = ('(cd %s && %s%stimeout -k 5 %d %s %s --child %d %d < /dev/null > log 2>&1; echo $? > rc) &')
        :format(sh_quote(dir), limit, env, opts.timeout, sh_quote(exe), sh_quote(script), job.start, opts.sample)
    end
    os.execute(table.concat(cmds, ' ') .. ' wait')
    for _, job in ipairs(running) do
      local rc = tonumber(readfile(job.dir .. '/rc')) or -1
      local log = readfile(job.dir .. '/log')
      local results, open_b = {}, nil
      local rf = job.dir .. '/results'
      if readfile(rf) ~= '' then results, open_b = parse_results(rf) end
      for _, r in ipairs(results) do
        calls = calls + 1
        seen_targets[r[1]] = true
        if r[3] ~= 'ok' then fail(r[1], r[3], r[5], r[4]) end
      end
      local report = sanitizer_report(log)
      local tl = job.targets
      if open_b then
        -- died inside a call: name it, resume after it
        local ti, c = open_b[1], open_b[2]
        calls = calls + (c > 0 and 1 or 0)
        seen_targets[ti] = true
        local why
        if rc == 124 or rc == 137 then
          fail(ti, 'hang', open_b[3], ('no answer in the batch timeout (%d s)'):format(opts.timeout))
        else
          why = report or (rc > 128 and ('killed by signal %d'):format(rc - 128))
                or ('exit status %d: %s'):format(rc, last_words(log))
          fail(ti, 'crash', open_b[3], why)
        end
        local rest = {}
        local pos
        for k, x in ipairs(tl) do if x == ti then pos = k end end
        local nextc = c + 1
        if c == 0 or nextc > ncases(targets[ti]) then pos, nextc = pos + 1, 1 end
        for k = pos, #tl do rest[#rest + 1] = tl[k] end
        if #rest > 0 then table.insert(queue, 1, { targets = rest, start = nextc }) end
      elseif report or rc ~= 0 then
        -- finished every call, then failed (a leak report at exit, or an odd exit status)
        if #tl > 1 then
          for k = #tl, 1, -1 do table.insert(queue, 1, { targets = { tl[k] }, start = 1, quiet = true }) end
          -- the per-target runs count their calls again: undo this batch's
          for _, r in ipairs(results) do
            calls = calls - 1
            if r[3] ~= 'ok' then counts[r[3]] = counts[r[3]] - 1; table.remove(failures) end
          end
        else
          fail(tl[1], 'crash', 'after its calls, at exit',
               report or ('exit status %d: %s'):format(rc, last_words(log)))
        end
      end
      os.execute('rm -rf ' .. sh_quote(job.dir))
    end
  end
  local seconds = tonumber(io.popen('date +%s.%N'):read('l')) - tonumber(clock0)

  -- the report, grouped by target and kind
  local out = opts.out and assert(io.open(opts.out, 'w'))
  local shown = {}
  table.sort(failures, function(a, b)
    if a.ti ~= b.ti then return a.ti < b.ti end
    return a.status < b.status
  end)
  for _, f in ipairs(failures) do
    local line = ('%-5s %s(%s): %s'):format(f.status:upper(), targets[f.ti].name, f.desc, f.why)
    if out then out:write(line, '\n') end
    local key = f.ti .. f.status
    shown[key] = (shown[key] or 0) + 1
    if shown[key] <= 4 then print(line)
    elseif shown[key] == 5 then print(('      ... more %s failures of %s (see --out)'):format(f.status, targets[f.ti].name)) end
  end
  local ntargets = 0
  for _ in pairs(seen_targets) do ntargets = ntargets + 1 end
  local summary = ('sweep: %d calls over %d targets in %.0f s: %d crashes, %d hangs, %d raw errors, %d wrong results%s')
    :format(calls, ntargets, seconds, counts.crash, counts.hang, counts.raw, counts.wrong,
            opts.sample > 1 and (' (one case in %d sampled)'):format(opts.sample) or '')
  if out then out:write(summary, '\n'); out:close() end
  print(summary)
  return (counts.crash + counts.hang + counts.raw + counts.wrong == 0) and 0 or 1
end

if arg[1] == '--child' then
  SAMPLE = tonumber(arg[3]) or 1
  local list = {}
  for n in io.lines('targets') do for x in n:gmatch('%d+') do list[#list + 1] = tonumber(x) end end
  -- contiguous runs of the list
  local start = tonumber(arg[2])
  for k, ti in ipairs(list) do run_child(ti, ti, k == 1 and start or 1, 'results') end
  os.exit(0, true)
else
  os.exit(main(arg), true)
end
