-- nn modules and criterions: forward and backward against PyTorch (both loop styles),
-- gradcheck of every module, parameters, getParameters, types, cloning, errors.
local torch = require 'torch'
local nn = require 'nn'
local H = require 'helpers'
local F = H.fixture('nn')

local function T(f) return H.tensor(f) end

-- The module for each fixture case, with PyTorch's parameters loaded.
local builders = {
  Linear = function() return nn.Linear(4, 3) end,
  LinearNoBias = function() return nn.Linear(4, 3, false) end,
  Linear1D = function() return nn.Linear(4, 3) end,
  Sigmoid = function() return nn.Sigmoid() end,
  Tanh = function() return nn.Tanh() end,
  ReLU = function() return nn.ReLU() end,
  LeakyReLU = function() return nn.LeakyReLU(0.2) end,
  SoftMax = function() return nn.SoftMax() end,
  LogSoftMax = function() return nn.LogSoftMax() end,
  SoftMax1D = function() return nn.SoftMax() end,
  View = function() return nn.View(2, 12) end,
  Narrow = function() return nn.Narrow(3, 2, 2) end,
  Select = function() return nn.Select(2, 3) end,
  Transpose = function() return nn.Transpose({ 1, 3 }) end,
  CAddTable = function() return nn.CAddTable() end,
  CMulTable = function() return nn.CMulTable() end,
  JoinTable = function() return nn.JoinTable(2) end,
  Sequential = function()
    return nn.Sequential():add(nn.Linear(4, 5)):add(nn.Tanh()):add(nn.Linear(5, 2))
  end,
  Identity = function() return nn.Identity() end,
  Reshape = function() return nn.Reshape(12) end,
  SplitTable = function() return nn.SplitTable(2) end,
  NarrowTable = function() return nn.NarrowTable(2, 2) end,
  SelectTable = function() return nn.SelectTable(-1) end,
  ConcatTable = function() return nn.ConcatTable():add(nn.Linear(4, 2)):add(nn.Linear(4, 3)) end,
  ParallelTable = function() return nn.ParallelTable():add(nn.Linear(4, 2)):add(nn.Tanh()) end,
  DropoutEval = function() return nn.Dropout(0.5):evaluate() end,
}

-- fixture values that may be tables of tensors (modules with table outputs)
local function conv(f)
  if f.data then return T(f) end
  local r = {}
  for i, v in ipairs(f) do r[i] = conv(v) end
  return r
end

local function close_any(a, e)
  if e.data then return H.close(a, e, 1e-10, 1e-12) end
  assert.equal(#e, #a)
  for i = 1, #e do close_any(a[i], e[i]) end
end

local function load_params(m, params)
  for name, f in pairs(params) do
    local idx, field = name:match('^(%d+)%.(%a+)$')
    local owner = idx and m:get(tonumber(idx)) or m
    owner[field or name]:copy(T(f))
  end
end

local function module_input(c)
  if #c.inputs == 1 then return T(c.inputs[1]) end
  local t = {}
  for i, f in ipairs(c.inputs) do t[i] = T(f) end
  return t
end

local function check_grads(m, c, gradInput)
  if #c.inputs == 1 then H.close(gradInput, c.gradInputs[1], 1e-10, 1e-12)
  else
    for i = 1, #c.inputs do
      -- an input the output does not use: PyTorch has no gradient; Torch7 gives zeros (or
      -- autograd leaves .grad empty)
      if c.gradInputs[i] == nil then
        assert(gradInput[i] == nil or gradInput[i]:abs():sum() == 0, 'gradient for an unused input')
      else
        H.close(gradInput[i], c.gradInputs[i], 1e-10, 1e-12)
      end
    end
  end
  for name, f in pairs(c.gradParams) do
    local idx, field = name:match('^(%d+)%.(%a+)$')
    local owner = idx and m:get(tonumber(idx)) or m
    local gname = 'grad' .. (field or name):sub(1, 1):upper() .. (field or name):sub(2)
    H.close(owner[gname], f, 1e-10, 1e-12)
  end
end

describe('nn modules vs PyTorch', function()
  for name, build in pairs(builders) do
    local c = F[name]
    it(name .. ': Torch7 forward/backward', function()
      local m = build():double()
      load_params(m, c.params)
      m:zeroGradParameters()
      local x = module_input(c)
      close_any(m:forward(x), c.output)
      local gi = m:backward(x, conv(c.gradOutput))
      check_grads(m, c, gi)
    end)

    it(name .. ': PyTorch-style call and loss:backward()', function()
      local m = build():double()
      load_params(m, c.params)
      m:zeroGradParameters()
      local x = module_input(c)
      for _, t in ipairs(torch.isTensor(x) and { x } or x) do t.requiresGrad = true end
      local y = m(x)
      close_any(y, c.output)
      local go = conv(c.gradOutput)
      torch.autograd.backward(torch.isTensor(y) and { y } or y, torch.isTensor(go) and { go } or go)
      local gi = torch.isTensor(x) and x.grad or {}
      if not torch.isTensor(x) then for i, t in ipairs(x) do gi[i] = t.grad end end
      check_grads(m, c, gi)
    end)
  end

  it('LookupTable picks rows by 1-based indices and accumulates repeated ones', function()
    local c = F.LookupTable
    local m = nn.LookupTable(10, 3):double()
    load_params(m, c.params)
    m:zeroGradParameters()
    local idx = H.tensor(c.indices)
    H.close(m:forward(idx), c.output, 1e-12, 0)
    m:backward(idx, T(c.gradOutput))
    H.close(m.gradWeight, c.gradParams.weight, 1e-10, 1e-12)
  end)

  it('SplitTable, SelectTable, NarrowTable, Identity, ConcatTable, ParallelTable', function()
    local x = torch.randn(3, 4):double()
    local parts = nn.SplitTable(1):forward(x)
    assert.equal(3, #parts)
    H.close(parts[2], x[2], 0, 0)
    local t = { x, x * 2, x * 3 }
    H.close(nn.SelectTable(-1):forward(t), x * 3, 0, 0)
    assert.equal(2, #nn.NarrowTable(2, 2):forward(t))
    H.close(nn.Identity():forward(x), x, 0, 0)
    local ct = nn.ConcatTable():add(nn.Identity()):add(nn.Tanh())
    local out = ct:forward(x)
    H.close(out[2], torch.tanh(x), 0, 0)
    local gi = ct:backward(x, { torch.ones(3, 4):double(), torch.ones(3, 4):double() })
    H.close(gi, torch.add(torch.ones(3, 4):double(), 1, -torch.cmul(out[2], out[2]) + 1), 1e-12, 1e-12)
    local pt = nn.ParallelTable():add(nn.Identity()):add(nn.Sigmoid())
    local po = pt:forward({ x, x })
    H.close(po[2], torch.sigmoid(x), 0, 0)
  end)
end)

describe("SoftMax's default dim", function()
  it("is Torch7's and PyTorch's implicit one: 1 for 1-D and 3-D inputs, 2 for 2-D and 4-D (SoftMin too)", function()
    -- the property itself: the outputs sum to 1 along that dim and nowhere else
    local function sums_to_one(y, dim)
      local s = y:sum(dim)
      return (s - 1):abs():max() < 1e-5
    end
    torch.manualSeed(5)
    for _, case in ipairs({ { { 4 }, 1 }, { { 3, 4 }, 2 }, { { 3, 4, 5 }, 1 }, { { 2, 3, 4, 5 }, 2 } }) do
      local x = torch.randn(table.unpack(case[1]))
      for _, m in ipairs({ nn.SoftMax(), nn.LogSoftMax(), nn.SoftMin() }) do
        local y = m:forward(x)
        if torch.typename(m) == 'nn.LogSoftMax' then y = torch.exp(y) end
        assert.is_true(sums_to_one(y, case[2]), torch.typename(m) .. ' ' .. #case[1] .. '-D')
        if x:dim() > 1 then
          local other = case[2] == 1 and 2 or 1
          assert.is_false(sums_to_one(y, other), torch.typename(m) .. ' ' .. #case[1] .. '-D')
        end
      end
    end
    -- an explicit dim wins (N x T x V scores: the last)
    assert.is_true(sums_to_one(nn.SoftMax(-1):forward(torch.randn(2, 3, 4)), 3))
  end)
end)

describe('criterions vs PyTorch', function()
  local C = F.criterions
  local target = H.tensor(C.target)
  local cases = {
    CrossEntropy = function() return nn.CrossEntropyCriterion() end,
    CrossEntropyWeighted = function() return nn.CrossEntropyCriterion(H.tensor(C.weights)) end,
    CrossEntropySum = function() return nn.CrossEntropyCriterion(nil, false) end,
    ClassNLL = function() return nn.ClassNLLCriterion() end,
  }
  for name, build in pairs(cases) do
    it(name .. ' forward and backward', function()
      local crit, x = build(), H.tensor(C[name].input)
      H.close(crit:forward(x, target), C[name].loss, 1e-10, 1e-12)
      H.close(crit:backward(x, target), C[name].gradInput, 1e-10, 1e-12)
      local xr = x:clone()
      xr.requiresGrad = true
      local loss = crit(xr, target)
      assert.equal(0, loss:dim())
      loss:backward()
      H.close(xr.grad, C[name].gradInput, 1e-10, 1e-12)
    end)
  end

  it('MSECriterion and BCECriterion', function()
    for name, crit in pairs({ MSE = nn.MSECriterion(), BCE = nn.BCECriterion() }) do
      local x, t = H.tensor(C[name].input), H.tensor(C[name].target)
      H.close(crit:forward(x, t), C[name].loss, 1e-10, 1e-12)
      H.close(crit:backward(x, t), C[name].gradInput, 1e-10, 1e-12)
    end
  end)

  it('CrossEntropyCriterion is stable for huge logits', function()
    local x = torch.DoubleTensor({ { 1000, -1000, 0 } })
    local loss = nn.CrossEntropyCriterion():forward(x, torch.LongTensor({ 1 }))
    assert.equal(0, loss)
  end)

  it('rejects targets out of range and mismatched shapes', function()
    local x = torch.randn(2, 3)
    assert.matches('3', H.error_of(function() nn.ClassNLLCriterion():forward(x, torch.LongTensor({ 1, 4 })) end))
    assert.matches('MSECriterion: input %[2 x 3%] and target %[5%] differ in size',
                   H.error_of(function() nn.MSECriterion():forward(x, torch.randn(5)) end))
  end)
end)

describe('gradcheck of every module', function()
  local function gc(m, x)
    m:double()
    assert.is_true(torch.gradcheck(function(input) return m(input) end, { x }))
    local params = m:parameters()
    if params then
      local inputs = { x }
      for _, p in ipairs(params) do inputs[#inputs + 1] = p end
      assert.is_true(torch.gradcheck(function(input) return m(input) end, inputs))
    end
  end
  local function leaf(...)
    local t = torch.randn(...):double()
    t.requiresGrad = true
    return t
  end

  it('Linear (batch, 1-D, no bias), activations, shape modules', function()
    gc(nn.Linear(4, 3), leaf(5, 4))
    gc(nn.Linear(4, 3), leaf(4))
    gc(nn.Linear(4, 3, false), leaf(2, 4))
    for _, m in ipairs({ nn.Sigmoid(), nn.Tanh(), nn.LeakyReLU(0.1), nn.SoftMax(), nn.LogSoftMax() }) do
      gc(m, leaf(3, 5))
    end
    gc(nn.ReLU(), torch.DoubleTensor({ { 0.5, -0.7 }, { 1.5, -2 } }):requiresGrad_())
    gc(nn.View(-1), leaf(2, 3))
    local nc = torch.randn(2, 3):double():t()   -- a non-contiguous leaf
    nc.requiresGrad = true
    gc(nn.Reshape(6), nc)
    gc(nn.Narrow(2, 2, 2), leaf(3, 4))
    gc(nn.Select(1, 2), leaf(3, 4))
    gc(nn.Transpose({ 1, 2 }), leaf(3, 4))
  end)

  it('containers and table modules', function()
    gc(nn.Sequential():add(nn.Linear(3, 4)):add(nn.Tanh()):add(nn.Linear(4, 2)), leaf(5, 3))
    local m = nn.Sequential():add(nn.ConcatTable():add(nn.Linear(3, 2)):add(nn.Linear(3, 2)))
      :add(nn.CAddTable())
    gc(m, leaf(4, 3))
    m = nn.Sequential():add(nn.SplitTable(2)):add(nn.NarrowTable(1, 2)):add(nn.JoinTable(1))
    gc(m, leaf(3, 4))
    m = nn.Sequential():add(nn.ConcatTable():add(nn.Identity()):add(nn.Sigmoid())):add(nn.CMulTable())
    gc(m, leaf(2, 3))
  end)

  it('LookupTable weight and criterions', function()
    local lt = nn.LookupTable(6, 3):double()
    local idx = torch.LongTensor({ 1, 3, 3, 6 })
    assert.is_true(torch.gradcheck(function() return lt(idx) end, { lt.weight }))
    local target = torch.LongTensor({ 2, 1, 3 })
    for _, crit in ipairs({ nn.CrossEntropyCriterion(), nn.ClassNLLCriterion() }) do
      assert.is_true(torch.gradcheck(function(x) return crit(x, target) end, { leaf(3, 3) }))
    end
    local t = torch.rand(3, 2):double()
    assert.is_true(torch.gradcheck(function(x) return nn.MSECriterion()(x, t) end, { leaf(3, 2) }))
    local p = (torch.rand(3, 2):double() * 0.8 + 0.1):requiresGrad_()
    assert.is_true(torch.gradcheck(function(x) return nn.BCECriterion()(x, t) end, { p }))
  end)
end)

describe('nn.Module tree editing and PyTorch names', function()
  local function tree()
    return nn.Sequential():add(nn.Linear(3, 4)):add(nn.ReLU()):add(nn.Sequential():add(nn.Linear(4, 2)))
  end

  it('children, findModules (with containers), eval and zeroGrad', function()
    local m = tree()
    local kids = m:children()
    assert.equal(3, #kids)
    assert.equal(m.modules[3], kids[3])
    assert.same({}, nn.ReLU():children())
    local lin, holders = m:findModules('nn.Linear')
    assert.equal(2, #lin)
    assert.equal(m.modules[1], lin[1])
    assert.equal(m, holders[1])
    assert.equal(m.modules[3], holders[2])
    assert.equal(m, m:findModules('nn.Sequential')[1])
    assert.equal(m, m:eval())
    assert.is_false(m.train)
    assert.is_false(m.modules[3].modules[1].train)
    m:training()
    m.modules[1].gradWeight:fill(3)
    m:zeroGrad()
    assert.equal(0, m.modules[1].gradWeight:abs():sum())
  end)

  it('insert and remove (Torch7), with their index checks', function()
    local m = tree()
    m:insert(nn.Tanh(), 2)
    assert.equal('nn.Tanh', torch.typename(m:get(2)))
    assert.equal(4, m:size())
    m:insert(nn.Sigmoid())                        -- at the end
    assert.equal('nn.Sigmoid', torch.typename(m:get(5)))
    assert.equal('nn.Sigmoid', torch.typename(m:remove()))
    assert.equal('nn.Tanh', torch.typename(m:remove(2)))
    assert.equal(3, m:size())
    assert.matches("bad argument #2 to 'insert' %(index 5 out of range for a container of 3 modules%)",
                   H.error_of(function() m:insert(nn.ReLU(), 5) end))
    assert.matches("bad argument #1 to 'remove' %(index 0 out of range", H.error_of(function() m:remove(0) end))
    assert.matches("bad argument #1 to 'insert' %(expected an nn.Module, got number%)",
                   H.error_of(function() m:insert(3) end))
    assert.matches('remove: the container is empty', H.error_of(function() nn.Sequential():remove() end))
  end)

  it('replace swaps modules through the tree and keeps the rest', function()
    local m = tree()
    local x = torch.randn(2, 3)
    local r = m:replace(function(mod)
      if torch.typename(mod) == 'nn.ReLU' then return nn.Tanh() end
      return mod
    end)
    assert.equal(m, r)
    assert.equal('nn.Tanh', torch.typename(m:get(2)))
    local h = torch.tanh(m:get(1):forward(x))
    H.close(m:forward(x), m:get(3):forward(h), 1e-6, 1e-6)
    assert.matches('replace: the function returned a number, not an nn.Module',
                   H.error_of(function() m:replace(function() return 1 end) end))
  end)
end)

describe('nn.Module', function()
  it('getParameters flattens once; a second call keeps earlier references valid', function()
    local m = nn.Sequential():add(nn.Linear(3, 4)):add(nn.Tanh()):add(nn.Linear(4, 2))
    local p, g = m:getParameters()
    assert.equal(3 * 4 + 4 + 4 * 2 + 2, p:nElement())
    local p2, g2 = m:getParameters()
    assert.equal(p:storage(), p2:storage())
    assert.equal(g:storage(), g2:storage())
    p:fill(0.5)
    assert.equal(0.5, m:get(3).weight[1][1])
    m:zeroGradParameters()
    m:forward(torch.randn(5, 3))
    m:backward(torch.randn(5, 3), torch.ones(5, 2))
    assert.is_true(g:abs():sum() > 0)
    assert.equal(g:narrow(1, 17, 8):sum(), m:get(3).gradWeight:sum())
  end)

  it('training/evaluate switch Dropout, which is seeded by the torch RNG', function()
    local d = nn.Dropout(0.5)
    local x = torch.ones(1000)
    torch.manualSeed(5)
    local a = d:forward(x):clone()
    torch.manualSeed(5)
    local b = d:forward(x):clone()
    H.close(a, b, 0, 0)
    local zeros = a:eq(0):sum()
    assert.is_true(zeros > 400 and zeros < 600)
    assert.equal(2, a:max())
    d:evaluate()
    H.close(d:forward(x), x, 0, 0)
  end)

  it('clone copies, share shares; type converts parameters and gradients', function()
    local m = nn.Linear(3, 2)
    local c = m:clone()
    c.weight:fill(1)
    assert.not_equal(1, m.weight[1][1])
    local s = nn.Linear(3, 2):share(m, 'weight', 'bias')
    s.weight:fill(2)
    assert.equal(2, m.weight[1][1])
    m:double()
    assert.equal('torch.DoubleTensor', m.weight:type())
    assert.equal('torch.DoubleTensor', m.gradWeight:type())
    assert.is_true(m.weight.requiresGrad)
  end)

  it('updateParameters and zeroGradParameters', function()
    local m = nn.Linear(2, 1)
    m.weight:fill(1); m.bias:fill(0)
    m:zeroGradParameters()
    m:forward(torch.Tensor({ { 1, 2 } }))
    m:backward(torch.Tensor({ { 1, 2 } }), torch.Tensor({ { 1 } }))
    H.close(m.gradWeight, torch.Tensor({ { 1, 2 } }), 1e-6, 1e-6)
    m:updateParameters(0.5)
    H.close(m.weight, torch.Tensor({ { 0.5, 0 } }), 1e-6, 1e-6)
  end)

  it('prints a Torch7-style tree', function()
    local m = nn.Sequential():add(nn.Linear(28, 128)):add(nn.ReLU()):add(nn.Linear(128, 10))
    assert.equal('nn.Sequential {\n  [input -> (1) -> (2) -> (3) -> output]\n'
                 .. '  (1): nn.Linear(28 -> 128)\n  (2): nn.ReLU\n  (3): nn.Linear(128 -> 10)\n}',
                 tostring(m))
    assert.equal(3, #m:listModules() - 1)
  end)

  it('user classes with torch.class take their backward from autograd', function()
    local Scale, parent = torch.class('nn.TestScale', 'nn.Module')
    function Scale:__init(s) parent.__init(self) self.s = s end
    function Scale:updateOutput(x) self.output = x * self.s return self.output end
    assert.equal(Scale, nn.TestScale)
    local m = nn.TestScale(3)
    assert.matches('call forward', H.error_of(function() m:backward(torch.ones(2), torch.ones(2)) end))
    m:forward(torch.ones(2))
    local gi = m:backward(torch.ones(2), torch.Tensor({ 1, 2 }))
    H.close(gi, torch.Tensor({ 3, 6 }), 0, 0)
    assert.is_true(torch.isTypeOf(m, 'nn.Module'))
  end)

  it('names the module and the shapes on bad input', function()
    local lin = nn.Linear(10, 5)
    assert.matches('nn.Linear%(10 %-> 5%): expected input of size %[N x 10%] or %[10%], got %[100 x 20%]',
                   H.error_of(function() lin:forward(torch.randn(100, 20)) end))
    assert.matches('nn.Linear: expected a tensor input, got table',
                   H.error_of(function() lin:forward({ torch.randn(2, 10) }) end))
    assert.matches('nn.CAddTable: expected a table of tensors, got torch.FloatTensor',
                   H.error_of(function() nn.CAddTable():forward(torch.randn(2)) end))
    assert.matches('nn.Linear: expected positive integer sizes', H.error_of(nn.Linear, 2.5, 3))
  end)
end)
