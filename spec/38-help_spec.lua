-- spec/38-help_spec.lua — every public name has a help entry (lua/torch/help.lua), help(nn)
-- lists nn as ?nn does, an unknown name says so and suggests the nearest, and docs/API.md is
-- what `make docs` (tools/gendocs.lua) makes from the entries today.
--
-- The public names are found by walking the tables themselves, not the help text, so a new
-- public name without an entry fails here: the keys of torch, nn, optim, datasets and
-- transforms (and of the namespaces torch.cuda, torch.autograd) not starting with '_', every
-- tensor method, the methods an nn class defines itself (an override is covered by the
-- ancestor's entry), and the methods of the objects the other constructors make.
local torch = require 'torch'
local nn = require 'nn'
local optim = require 'optim'
local datasets = require 'datasets'
local transforms = require 'transforms'
local help = require 'torch.help'

local modules = { torch = torch, nn = nn, optim = optim, datasets = datasets, transforms = transforms }
local module_order = { 'torch', 'nn', 'optim', 'datasets', 'transforms' }
local namespaces = { ['torch.cuda'] = torch.cuda, ['torch.autograd'] = torch.autograd }

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    if type(k) == 'string' and not k:match('^_') then keys[#keys + 1] = k end
  end
  table.sort(keys)
  return keys
end

local function is_module(v)
  for _, m in pairs(modules) do if rawequal(m, v) then return true end end
  return false
end

local function is_class(v) return type(v) == 'table' and rawget(v, '__typename') ~= nil end

local function parent_of(class)
  local mt = getmetatable(class)
  local p = mt and mt.__index
  return type(p) == 'table' and p or nil
end

local function inherited(class, key)
  local p = parent_of(class)
  while p do
    if rawget(p, key) ~= nil then return true end
    p = parent_of(p)
  end
  return false
end

-- The methods of an object made by a constructor that is not a torch.class: the functions its
-- metatables' __index tables lead to (its own fields are data, such as a Lambda's fn).
local function object_methods(obj)
  local mt = getmetatable(obj)
  local names, seen, x = {}, {}, mt and mt.__index
  while type(x) == 'table' and not seen[x] do
    seen[x] = true
    for k, v in pairs(x) do
      if type(k) == 'string' and type(v) == 'function' and not k:match('^_') then names[k] = true end
    end
    local mt = getmetatable(x)
    x = mt and mt.__index
  end
  return sorted_keys(names)
end

local function leaf()
  local p = torch.ones(2)
  p.requiresGrad = true
  return p
end

-- Objects of the constructors that are not torch.class classes: one of each, to read its methods.
local instances = {
  ['optim.SGD'] = function() return optim.SGD({ leaf() }, { lr = 0.1 }) end,
  ['optim.Adam'] = function() return optim.Adam({ leaf() }, { lr = 0.1 }) end,
  ['optim.AdamW'] = function() return optim.AdamW({ leaf() }, { lr = 0.1 }) end,
  ['optim.RMSprop'] = function() return optim.RMSprop({ leaf() }, { lr = 0.1 }) end,
  ['optim.Adagrad'] = function() return optim.Adagrad({ leaf() }, { lr = 0.1 }) end,
  ['optim.Optimizer'] = false,  -- the base table of the optimisers above, not a constructor
  ['optim.LRScheduler'] = false,  -- the base table of the schedulers below
  ['optim.StepLR'] = function() return optim.StepLR(optim.SGD({ leaf() }, { lr = 0.1 }), { stepSize = 1 }) end,
  ['optim.MultiStepLR'] = function() return optim.MultiStepLR(optim.SGD({ leaf() }, { lr = 0.1 }), { milestones = { 1 } }) end,
  ['optim.ExponentialLR'] = function() return optim.ExponentialLR(optim.SGD({ leaf() }, { lr = 0.1 }), { gamma = 0.9 }) end,
  ['optim.CosineAnnealingLR'] = function() return optim.CosineAnnealingLR(optim.SGD({ leaf() }, { lr = 0.1 }), { TMax = 10 }) end,
  ['optim.OneCycleLR'] = function() return optim.OneCycleLR(optim.SGD({ leaf() }, { lr = 0.1, momentum = 0.9 }), { maxLr = 0.1, totalSteps = 10 }) end,
  ['optim.LambdaLR'] = function() return optim.LambdaLR(optim.SGD({ leaf() }, { lr = 0.1 }), { lrLambda = function() return 1 end }) end,
  ['optim.ReduceLROnPlateau'] = function() return optim.ReduceLROnPlateau(optim.SGD({ leaf() }, { lr = 0.1 })) end,
  ['datasets.TensorDataset'] = function() return datasets.TensorDataset(torch.ones(2, 1), torch.ones(2)) end,
  ['datasets.Subset'] = function() return datasets.Subset(datasets.TensorDataset(torch.ones(2, 1)), { 1 }) end,
  ['datasets.MNIST'] = function() return datasets.MNIST{ train = false } end,
  ['datasets.FashionMNIST'] = false,  -- needs Debian's dataset-fashion-mnist; MNIST's class
  ['datasets.DataLoader'] = function()
    return datasets.DataLoader{ dataset = datasets.MNIST{ train = false }, batchSize = 10 }
  end,
  ['transforms.ToTensor'] = function() return transforms.ToTensor() end,
  ['transforms.Normalize'] = function() return transforms.Normalize(0.5, 1) end,
  ['transforms.Compose'] = function() return transforms.Compose{ transforms.ToTensor() } end,
  ['transforms.Lambda'] = function() return transforms.Lambda(function(x) return x end) end,
  ['torch.Timer'] = function() return torch.Timer() end,
  ['torch.CmdLine'] = function() return torch.CmdLine() end,
  ['torch.ProgressBar'] = function() return torch.ProgressBar(10, { stream = io.open('/dev/null', 'w'), out = io.open('/dev/null', 'w') }) end,
  ['torch.media'] = function() return torch.media('<b>x</b>', 'html') end,
}

-- Every public name, in a stable order.
local function public_names()
  local names = {}
  local function add(n) names[#names + 1] = n end
  for _, mname in ipairs(module_order) do
    local m = modules[mname]
    for _, k in ipairs(sorted_keys(m)) do
      local v, name = m[k], mname .. '.' .. k
      if not is_module(v) then
        add(name)
        if namespaces[name] then
          for _, k2 in ipairs(sorted_keys(v)) do add(name .. '.' .. k2) end
        end
        if is_class(v) and mname == 'nn' then
          for _, meth in ipairs(sorted_keys(v)) do
            if type(rawget(v, meth)) == 'function' and not inherited(v, meth) then
              add(name .. ':' .. meth)
            end
          end
        end
      end
    end
  end
  for _, k in ipairs(sorted_keys(getmetatable(torch.Tensor).__index)) do add('t:' .. k) end
  for _, name in ipairs(sorted_keys(instances)) do
    if instances[name] then
      for _, meth in ipairs(object_methods(instances[name]())) do add(name .. ':' .. meth) end
    end
  end
  return names
end

describe('help entries', function()
  it('cover every public name of torch, nn, optim, datasets and transforms', function()
    local names, missing = public_names(), {}
    assert(#names > 350, ('only %d public names found: the walk is broken'):format(#names))
    for _, n in ipairs(names) do
      if not help.lookup(n) then missing[#missing + 1] = n end
    end
    assert(#missing == 0, ('%d public names have no help entry: %s'):format(#missing,
                                                                            table.concat(missing, ' ')))
  end)

  it('know every constructor whose objects have methods (a new class is walked too)', function()
    for _, mname in ipairs({ 'optim', 'datasets', 'transforms' }) do
      for _, k in ipairs(sorted_keys(modules[mname])) do
        local v = modules[mname][k]
        if k:match('^%u') and type(v) == 'function' then
          assert(instances[mname .. '.' .. k] ~= nil,
                 ('%s.%s makes objects: add it to this spec\'s instances'):format(mname, k))
        end
      end
    end
  end)

  it('name only things that exist (entries of loaded modules resolve)', function()
    local stale = {}
    for _, e in ipairs(help.entries) do
      for _, n in ipairs(e.names) do
        local root = n:match('^([%w_]+)')
        local object_method = n:match('^[%w_.]+:') and instances[n:match('^([%w_.]+):')]
        if modules[root] and not object_method and not n:match('^torch%.Cuda')
           and help.resolve(n) == nil then
          stale[#stale + 1] = n
        end
      end
    end
    assert(#stale == 0, 'help names that do not exist: ' .. table.concat(stale, ' '))
  end)
end)

describe('help text', function()
  it('help(nn) lists nn as ?nn does, and so for the other modules', function()
    for _, mname in ipairs(module_order) do
      local by_value, by_name = help.text(modules[mname]), help.text(mname)
      assert.equal(by_name, by_value)
      assert.matches(mname .. '%.', by_value)
      assert(select(2, by_value:gsub('\n', '')) >= 2, by_value)
    end
    assert.matches('nn%.Linear%(inputSize, outputSize', help.text(nn))
    assert.equal(help.text('torch.cuda'), help.text(torch.cuda))
    assert.matches('isAvailable', help.text(torch.cuda))
  end)

  it('describes a function by value and by name', function()
    assert.equal(help.text('torch.mm'), help.text(torch.mm))
    assert.matches('matrix product', help.text(torch.mm))
    assert.matches('torch%.save%(', help.text(torch.save))
    assert.matches('nn%.Linear%(', help.text(nn.Linear(2, 3)))      -- an instance: its class
  end)

  it('says an unknown name does not exist and suggests the nearest names', function()
    -- (the expected names were computed apart, by a Python Levenshtein over the help names)
    assert.equal('nn.Linaer does not exist. Nearest: nn.Linear, nn.Index, nn.Bilinear',
                 help.text('nn.Linaer'))
    local t = help.text('nn.Foo')
    assert.matches('^nn%.Foo does not exist%. Nearest: ', t)
    assert.matches('torch.randm does not exist. Nearest: torch.rand, torch.randn', help.text('torch.randm'), 1, true)
    assert.matches('t:ad does not exist. Nearest: t:add', help.text('t:ad'), 1, true)
  end)

  it('edit distance is Levenshtein\'s', function()
    assert.equal(0, help.distance('abc', 'abc'))
    assert.equal(3, help.distance('', 'abc'))
    assert.equal(3, help.distance('kitten', 'sitting'))
    assert.equal(3, help.distance('GRU', 'ReLU'))   -- two substitutions and an insertion
  end)
end)

describe('docs/API.md', function()
  it('is what make docs generates from the help entries today', function()
    local root = debug.getinfo(1, 'S').source:match('^@(.*)spec/[^/]*$') or './'
    local f = assert(io.open(root .. 'docs/API.md'))
    local committed = f:read('a')
    f:close()
    local gen = dofile(root .. 'tools/gendocs.lua')
    assert(gen == committed, 'docs/API.md is stale: run make docs')
  end)

  it('has a line for every entry, under its module', function()
    local root = debug.getinfo(1, 'S').source:match('^@(.*)spec/[^/]*$') or './'
    local f = assert(io.open(root .. 'docs/API.md'))
    local doc = f:read('a')
    f:close()
    for _, e in ipairs(help.entries) do
      assert(doc:find('`' .. e.sig .. '`', 1, true), 'no line for ' .. e.sig)
    end
    for _, mname in ipairs(module_order) do assert.matches('\n## ' .. mname, doc) end
  end)
end)
