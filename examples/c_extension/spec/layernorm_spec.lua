-- The C extension example: nn.LayerNorm (layernorm.c through the public C API, luatorch.h)
-- against PyTorch's F.layer_norm, gradcheck of its C backward, both nn loop styles, optim,
-- autograd rules (no recording without grad, saved-tensor versions) and errors.
-- Run by `make test-extension` against a staged install, under lua5.4 and luatorch.
local torch = require 'torch'
local nn = require 'nn'
local optim = require 'optim'
local LayerNorm = require 'layernorm'

local here = debug.getinfo(1, 'S').source:match('^@(.*/)') or './'
local F = dofile(here .. 'layer_norm_fixture.lua')

local ctors = { float32 = torch.FloatTensor, float64 = torch.DoubleTensor }
local function T(f, dtype)
  local t = ctors[dtype or f.dtype](f.data)
  return t:view(table.unpack(f.shape))
end

local function close(actual, expected, tol)
  local a, e = actual:double():contiguous():view(-1), T(expected):contiguous():view(-1)
  assert.are.same(T(expected):size():totable(), actual:size():totable())
  for i = 1, e:nElement() do
    assert(math.abs(a[i] - e[i]) <= tol * (1 + math.abs(e[i])),
           ('element %d: expected %.10g, got %.10g'):format(i, e[i], a[i]))
  end
end

local function error_of(fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, 'expected an error')
  return tostring(err)
end

-- a module with the fixture's parameters
local function module_for(c, dtype)
  local m = nn.LayerNorm(c.x.shape[#c.x.shape], c.eps, c.weight ~= nil)
  m = dtype == 'float32' and m:float() or m:double()
  if c.weight then
    m.weight:copy(T(c.weight, dtype))
    m.bias:copy(T(c.bias, dtype))
  end
  return m
end

describe('nn.LayerNorm from a C extension', function()
  local tol = { float64 = 1e-10, float32 = 2e-5 }

  for _, name in ipairs({ 'affine3d', 'noaffine', 'eps', 'vector' }) do
    local c = F[name]
    for _, dtype in ipairs({ 'float64', 'float32' }) do
      it(name .. ' ' .. dtype .. ': Torch7 forward/backward vs PyTorch', function()
        local m = module_for(c, dtype)
        m:zeroGradParameters()
        local x = T(c.x, dtype)
        close(m:forward(x), c.output, tol[dtype])
        local gi = m:backward(x, T(c.gradOutput, dtype))
        close(gi, c.gradInput, tol[dtype])
        if c.weight then
          close(m.gradWeight, c.gradWeight, tol[dtype])
          close(m.gradBias, c.gradBias, tol[dtype])
        end
      end)

      it(name .. ' ' .. dtype .. ': PyTorch-style m(x) and backward vs PyTorch', function()
        local m = module_for(c, dtype)
        m:zeroGradParameters()
        local x = T(c.x, dtype)
        x.requiresGrad = true
        local y = m(x)
        assert.equal('LayerNormBackward', y.gradFn)
        close(y, c.output, tol[dtype])
        y:backward(T(c.gradOutput, dtype))
        close(x.grad, c.gradInput, tol[dtype])
        if c.weight then
          close(m.weight.grad, c.gradWeight, tol[dtype])
          close(m.gradBias, c.gradBias, tol[dtype])
        end
      end)
    end
  end

  it('passes gradcheck for input, weight and bias (contiguous, transposed, narrowed, 1-D)', function()
    torch.manualSeed(1)
    local ln = LayerNorm.layerNorm
    local function leaf(t) t.requiresGrad = true return t end
    local w, b = leaf(torch.randn(4):double()), leaf(torch.randn(4):double())
    for _, x in ipairs({
      leaf(torch.randn(3, 4):double()),
      leaf(torch.randn(4, 3):double():t()),
      leaf(torch.randn(2, 3, 6):double():narrow(3, 2, 4)),
      leaf(torch.randn(4):double()),
    }) do
      assert.is_true(torch.gradcheck(function(a, wt, bs) return ln(a, wt, bs) end, { x, w, b }))
      assert.is_true(torch.gradcheck(function(a) return ln(a, nil, nil, 0.1) end, { x }))
    end
    -- only the weight requires grad; x is an expanded (stride 0) input made inside fn
    local x = torch.randn(1, 4):double()
    assert.is_true(torch.gradcheck(function(wt) return ln(x:expand(3, 4), wt, b:detach()) end, { w }))
  end)

  it('records nothing when nothing requires grad, or under torch.noGrad', function()
    local x = torch.randn(2, 3):double()
    assert.is_nil(LayerNorm.layerNorm(x, nil, nil).gradFn)
    local m = nn.LayerNorm(3):double()
    x.requiresGrad = true
    torch.noGrad(function() assert.is_nil(m:updateOutput(x).gradFn) end)
    assert.equal('LayerNormBackward', m:updateOutput(x).gradFn)
  end)

  it('accumulates parameter gradients across two backward calls', function()
    local c = F.affine3d
    local m = module_for(c, 'float64')
    m:zeroGradParameters()
    local x = T(c.x)
    m:forward(x)
    m:backward(x, T(c.gradOutput))
    m:forward(x)
    m:backward(x, T(c.gradOutput))
    close(m.gradBias, { dtype = 'float64', shape = c.gradBias.shape,
                        data = (function() local d = {} for i, v in ipairs(c.gradBias.data) do d[i] = 2 * v end return d end)() },
          1e-10)
  end)

  it('refuses a backward after the saved input was modified in place', function()
    local x = torch.randn(2, 5):double()
    x.requiresGrad = true
    local y = LayerNorm.layerNorm(x, nil, nil)
    torch.noGrad(function() x:mul(2) end)
    local err = error_of(function() y:sum():backward() end)
    assert.matches('LayerNormBackward: a tensor saved for the backward pass was modified', err, 1, true)
  end)

  it('exposes its parameters to optim (PyTorch and Torch7 styles) and learns', function()
    torch.manualSeed(3)
    local X = torch.randn(16, 6):double()
    local target = torch.randn(16, 4):double():mul(0.5):add(0.2)
    local function model()
      return nn.Sequential():add(nn.Linear(6, 4)):add(nn.LayerNorm(4)):double()
    end
    -- PyTorch loop
    local m = model()
    local params = m:parameters()
    assert.equal(4, #params)            -- Linear weight, bias; LayerNorm weight, bias
    local names = {}
    for _, p in ipairs(m:namedParameters()) do names[#names + 1] = p[1] end
    assert.are.same({ '0.weight', '0.bias', '1.weight', '1.bias' }, names)
    local opt = optim.Adam(params, { lr = 0.05 })
    local crit = nn.MSECriterion()
    local first, last
    for i = 1, 60 do
      opt:zeroGrad()
      local loss = crit(m(X), target)
      loss:backward()
      opt:step()
      first = first or loss:item()
      last = loss:item()
    end
    assert(last < 0.5 * first, ('loss %g -> %g'):format(first, last))
    local lw = m:get(2).weight
    assert(lw:detach():clone():add(-1):abs():max() > 1e-3, 'LayerNorm weight was not updated')
    -- Torch7 loop over getParameters
    m = model()
    local p, g = m:getParameters()
    assert.equal(6 * 4 + 4 + 4 + 4, p:nElement())
    local config = { learningRate = 0.1 }
    local function feval()
      g:zero()
      local out = m:forward(X)
      local loss = crit:forward(out, target)
      m:backward(X, crit:backward(out, target))
      return loss, g
    end
    local _, fs = optim.sgd(feval, p, config)
    first = fs[1]
    for _ = 1, 100 do _, fs = optim.sgd(feval, p, config) end
    assert(fs[1] < 0.7 * first, ('loss %g -> %g'):format(first, fs[1]))
  end)

  it('raises clear errors', function()
    local ln = LayerNorm.layerNorm
    local x = torch.randn(2, 4):double()
    assert.matches('layerNorm: weight of shape %[5%] for an input of shape %[2 x 4%]',
                   error_of(ln, x, torch.ones(5):double(), nil))
    assert.matches('layerNorm: bias is a torch.FloatTensor, the input a torch.DoubleTensor',
                   error_of(ln, x, nil, torch.ones(4)))
    -- Lua names the function as it finds it ('layerNorm', or 'layernorm.layerNorm')
    assert.matches("bad argument #1 to '[%w.]*layerNorm' %(expected a Float or Double tensor%)",
                   error_of(ln, torch.LongTensor(2, 4)))
    assert.matches("bad argument #1 to '[%w.]*layerNorm' %(tensor expected, got number%)",
                   error_of(ln, 3))
    assert.matches('eps must be non%-negative', error_of(ln, x, nil, nil, -1))
    assert.matches('nn.LayerNorm: expected a positive integer size', error_of(nn.LayerNorm, 0))
  end)

  it('prints like a module', function()
    assert.equal('nn.LayerNorm(8, eps=1e-05)', tostring(nn.LayerNorm(8)))
    assert.equal('nn.LayerNorm(8, eps=0.001, no affine)', tostring(nn.LayerNorm(8, 1e-3, false)))
  end)
end)
