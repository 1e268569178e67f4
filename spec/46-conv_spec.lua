-- spec 46: convolutions, pooling, normalisation, padding and up-sampling (issue 22): every
-- module against PyTorch (forward, input and parameter gradients, batch norm's running
-- statistics and evaluation), float64 gradchecks of every C backward, thread-count
-- invariance, the argument errors, and examples/cnn_mnist.lua trained briefly.
local torch = require 'torch'
local nn = require 'nn'
local H = require 'helpers'
local F = H.fixture('conv')

local function T(f) return H.tensor(f) end

local function build(c)
  local m = assert(load('return ' .. c.ctor, c.ctor, 't', { nn = nn }))()
  m:double()
  torch.noGrad(function()
    for name, f in pairs(c.params) do m[name]:copy(T(f)) end
    if c.start then
      m.running_mean:copy(T(c.start.running_mean))
      m.running_var:copy(T(c.start.running_var))
    end
  end)
  return m
end

local names = {}
for name in pairs(F) do names[#names + 1] = name end
table.sort(names)

describe('modules against PyTorch', function()
  for _, name in ipairs(names) do
    local c = F[name]
    it(name .. ': Torch7 style (forward, backward, parameter gradients)', function()
      local m = build(c)
      m:zeroGradParameters()
      local y = m:forward(T(c.input))
      H.close(y, c.output, 1e-10, 1e-11)
      local gi = m:backward(T(c.input), T(c.gradOutput))
      H.close(gi, c.gradInput, 1e-9, 1e-10)
      for pname, g in pairs(c.gradParams) do
        local grad = pname == 'weight' and m.gradWeight or m.gradBias
        H.close(grad, g, 1e-9, 1e-10)
      end
      if c.running_mean then
        H.close(m.running_mean, c.running_mean, 1e-12, 1e-13)
        H.close(m.running_var, c.running_var, 1e-12, 1e-13)
        assert.equal(1, m.num_batches_tracked:item())
        m:evaluate()
        H.close(m:forward(T(c.evalInput)), c.evalOutput, 1e-10, 1e-11)
      end
    end)
    it(name .. ': PyTorch style (m(x), loss:backward())', function()
      local m = build(c)
      m:zeroGradParameters()
      local x = H.grad_leaf(T(c.input))
      local y = m(x)
      H.close(y, c.output, 1e-10, 1e-11)
      torch.cmul(y, T(c.gradOutput)):sum():backward()
      H.close(x.grad, c.gradInput, 1e-9, 1e-10)
      for pname, g in pairs(c.gradParams) do H.close(m[pname].grad, g, 1e-9, 1e-10) end
    end)
  end

  it('float32 modules agree with the float64 references', function()
    for _, name in ipairs({ 'Conv2d', 'Conv2dStrideDilationGroups', 'ConvTranspose2d', 'Conv1d',
                            'MaxPool2dCeil', 'AvgPool2dExcludePad', 'BatchNorm2d', 'LayerNorm' }) do
      local c = F[name]
      local m = build(c):float()
      local x = T(c.input):float()
      H.close(m:forward(x), c.output, 1e-4, 1e-4)
      H.close(m:backward(x, T(c.gradOutput):float()), c.gradInput, 1e-4, 1e-4)
    end
  end)

  it('parameter shapes and names are PyTorch\'s (stateDict)', function()
    local sd = nn.Conv2d(4, 6, { 3, 2 }, { groups = 2 }):stateDict()
    assert.same({ 6, 2, 3, 2 }, sd.weight:size():totable())
    sd = nn.ConvTranspose2d(4, 6, 3, { groups = 2 }):stateDict()
    assert.same({ 4, 3, 3, 3 }, sd.weight:size():totable())
    sd = nn.BatchNorm2d(3):stateDict()
    assert.same({ 'bias', 'num_batches_tracked', 'running_mean', 'running_var', 'weight' },
                (function() local k = {} for n in pairs(sd) do k[#k + 1] = n end table.sort(k) return k end)())
    assert.equal(0, sd.num_batches_tracked:dim())
    assert.is_nil(nn.Conv2d(1, 1, 1, { bias = false }).bias)
    local nb = nn.SpatialConvolution(2, 3, 3, 3):noBias()
    assert.is_nil(nb.bias)
    assert.equal(1, #nb:parameters())
    local x = torch.randn(1, 2, 4, 4)
    H.close(nb:forward(x), torch._conv2d(x, nb.weight, nil, 1, 1, 0, 0, 1, 1, 1), 0, 0)
  end)
end)

-- ---- gradchecks of the C kernels -------------------------------------------------------------
describe('gradcheck of the C backward functions (float64)', function()
  local function first(f) return function(...) return (f(...)) end end

  it('conv2d: stride, padding, dilation, groups, bias; a non-contiguous input', function()
    torch.manualSeed(1)
    local x, w, b = H.randn(2, 4, 6, 7), H.randn(6, 2, 3, 2), H.randn(6)
    H.gradcheck(function(x_, w_, b_) return torch._conv2d(x_, w_, b_, 2, 1, 1, 2, 2, 1, 2) end, { x, w, b })
    local xt = H.grad_leaf(torch.randn(2, 3, 5, 4):double():transpose(3, 4))
    H.gradcheck(function(x_, w_) return torch._conv2d(x_, w_, nil, 1, 1, 0, 1, 1, 1, 1) end,
                { xt, H.randn(2, 3, 2, 2) })
    -- the 1x1 path that skips im2col
    H.gradcheck(function(x_, w_, b_) return torch._conv2d(x_, w_, b_, 1, 1, 0, 0, 1, 1, 2) end,
                { H.randn(3, 4, 3, 2), H.randn(4, 2, 1, 1), H.randn(4) })
  end)

  it('conv transpose 2d: stride, padding, output padding, dilation, groups', function()
    torch.manualSeed(2)
    H.gradcheck(function(x_, w_, b_) return torch._convTranspose2d(x_, w_, b_, 2, 1, 1, 0, 1, 2, 1, 0, 2) end,
                { H.randn(2, 4, 3, 4), H.randn(4, 3, 3, 2), H.randn(6) })
    H.gradcheck(function(x_, w_) return torch._convTranspose2d(x_, w_, nil, 1, 1, 0, 0, 1, 1, 0, 0, 1) end,
                { H.randn(2, 3, 2, 3), H.randn(3, 2, 1, 1) })
  end)

  it('max, average and adaptive pooling', function()
    torch.manualSeed(3)
    local x = H.randn(2, 3, 7, 6)
    H.gradcheck(first(function(x_) return torch._maxPool2d(x_, 3, 2, 2, 1, 1, 0, 1, 2, true) end), { x })
    H.gradcheck(function(x_) return torch._avgPool2d(x_, 3, 2, 2, 1, 1, 1, true, false) end, { x })
    H.gradcheck(function(x_) return torch._avgPool2d(x_, 2, 3, 1, 2, 1, 1, false, true) end, { x })
    H.gradcheck(function(x_) return torch._adaptiveAvgPool2d(x_, 4, 5) end, { x })
    H.gradcheck(first(function(x_) return torch._adaptiveMaxPool2d(x_, 3, 4) end), { x })
  end)

  it('batch norm in training (batch statistics) and evaluation (running ones)', function()
    torch.manualSeed(4)
    local x, w, b = H.randn(3, 4, 2, 3), H.randn(4), H.randn(4)
    H.gradcheck(function(x_, w_, b_) return torch._batchNorm(x_, w_, b_, nil, nil, true, 0.1, 1e-5) end, { x, w, b })
    H.gradcheck(function(x_) return torch._batchNorm(x_, nil, nil, nil, nil, true, 0.1, 1e-5) end, { H.randn(5, 3) })
    local rm, rv = torch.randn(4):double(), torch.rand(4):double():add(0.5)
    H.gradcheck(function(x_, w_, b_) return torch._batchNorm(x_, w_, b_, rm, rv, false, 0.1, 1e-5) end, { x, w, b })
  end)

  it('the modules built from tensor ops (LayerNorm, GroupNorm, padding, up-sampling)', function()
    torch.manualSeed(5)
    for _, m in ipairs({ nn.LayerNorm({ 3, 4 }), nn.GroupNorm(2, 4), nn.ZeroPad2d({ 1, -1, 2, 0 }),
                         nn.ReflectionPad2d(2), nn.ReplicationPad2d({ 0, 1, 3, 1 }),
                         nn.Upsample({ scaleFactor = 2 }), nn.Upsample({ size = { 5, 7 }, mode = 'bilinear' }),
                         nn.UpsamplingBilinear2d({ scaleFactor = 2 }) }) do
      m:double()
      local params = m:parameters() or {}
      local inputs = { H.randn(2, 4, 3, 4) }
      for _, p in ipairs(params) do inputs[#inputs + 1] = p end
      H.gradcheck(function(x_) return m(x_) end, inputs)
    end
  end)
end)

describe('max pooling details', function()
  it('a NaN in a window wins (PyTorch), and its gradient goes to it', function()
    local x = torch.Tensor({ { { { 1, 5, 2, 0 }, { 0 / 0, 3, 4, 9 } } } }):double()
    x.requiresGrad = true
    local y, idx = torch._maxPool2d(x, 2, 2, 2, 2, 0, 0, 1, 1, false)
    assert.is_true(y[1][1][1][1] ~= y[1][1][1][1])
    assert.equal(9, y[1][1][1][2])
    assert.same({ 4, 7 }, { idx[1][1][1][1], idx[1][1][1][2] })   -- 0-based positions in the plane
    y:sum():backward()
    assert.same({ 0, 0, 0, 0, 1, 0, 0, 1 }, x.grad:view(-1):totable())
  end)

  it('ties go to the first maximum of the window', function()
    local x = torch.ones(1, 1, 2, 2):double()
    x.requiresGrad = true
    local y = torch._maxPool2d(x, 2, 2, 2, 2, 0, 0, 1, 1, false)
    y:sum():backward()
    assert.same({ 1, 0, 0, 0 }, x.grad:view(-1):totable())
  end)
end)

describe('models with convolutions and batch norm', function()
  it('train Torch7-style (getParameters, optim.sgd, forward/backward through the container)', function()
    local optim = require 'optim'
    torch.manualSeed(8)
    local m = nn.Sequential():add(nn.SpatialConvolution(1, 4, 3, 3, 1, 1, 1, 1)):add(nn.SpatialBatchNormalization(4))
                             :add(nn.ReLU()):add(nn.SpatialMaxPooling(2, 2)):add(nn.View(-1, 4 * 4 * 4))
                             :add(nn.Linear(64, 3))
    local crit = nn.CrossEntropyCriterion()
    local x, t = torch.randn(12, 1, 8, 8), torch.LongTensor(12):random(1, 3)
    local params, grads = m:getParameters()
    local function feval()
      grads:zero()
      local loss = crit:forward(m:forward(x), t)
      m:backward(x, crit:backward(m.output, t))
      return loss, grads
    end
    local first = feval()
    for _ = 1, 30 do optim.sgd(feval, params, { learningRate = 0.1 }) end
    local last = feval()
    assert(last < first / 3, ('loss %g -> %g'):format(first, last))
  end)

  it('save and load (torch.save, stateDict) keep outputs, running statistics and the batch count', function()
    torch.manualSeed(7)
    local m = nn.Sequential():add(nn.Conv2d(2, 4, 3, { padding = 1 })):add(nn.BatchNorm2d(4))
                             :add(nn.ReLU()):add(nn.MaxPool2d(2)):add(nn.View(-1, 16))
                             :add(nn.Linear(16, 3))
    local x = torch.randn(5, 2, 4, 4)
    m:forward(x)
    m:forward(x)   -- two training steps move the running statistics
    m:evaluate()
    local y = m:forward(x):clone()
    local dir = H.mktempdir()
    torch.save(dir .. '/m.t7', m:clearState())
    local m2 = torch.load(dir .. '/m.t7')
    H.rmtree(dir)
    assert.equal(0, (m2:forward(x) - y):abs():max())
    assert.equal(2, m2:get(2).num_batches_tracked:item())
    local m3 = nn.Sequential():add(nn.Conv2d(2, 4, 3, { padding = 1 })):add(nn.BatchNorm2d(4))
                              :add(nn.ReLU()):add(nn.MaxPool2d(2)):add(nn.View(-1, 16))
                              :add(nn.Linear(16, 3))
    m3:get(1):loadStateDict(m:get(1):stateDict())
    m3:get(2):loadStateDict(m:get(2):stateDict())
    m3:get(6):loadStateDict(m:get(6):stateDict())
    m3:evaluate()
    assert.equal(0, (m3:forward(x) - y):abs():max())
  end)
end)

-- ---- threads ----------------------------------------------------------------------------------
describe('threads', function()
  it('a batch split across threads gives the one-thread results (weight gradients up to rounding)', function()
    local before = torch.getnumthreads()
    torch.manualSeed(6)
    local x, gy = torch.randn(8, 6, 12, 12), nil
    local m = nn.Conv2d(6, 8, 3, { padding = 1 })
    local results = {}
    for _, nt in ipairs({ 1, 2, 3 }) do
      torch.setnumthreads(nt)
      m:zeroGradParameters()
      local y = m:forward(x)
      gy = gy or torch.randn(y:size())
      local gi = m:backward(x, gy)
      results[nt] = { y:clone(), gi:clone(), m.gradWeight:clone(), m.gradBias:clone() }
    end
    torch.setnumthreads(before)
    for _, nt in ipairs({ 2, 3 }) do
      assert.equal(0, (results[nt][1] - results[1][1]):abs():max())   -- per sample: same GEMMs
      assert.equal(0, (results[nt][2] - results[1][2]):abs():max())
      H.close(results[nt][3], results[1][3], 1e-5, 1e-5)               -- partial sums by thread
      H.close(results[nt][4], results[1][4], 1e-5, 1e-5)
    end
  end)
end)

-- ---- oneDNN -------------------------------------------------------------------------------------
-- Float32 convolutions run on oneDNN (core/conv_dnnl.c) or im2col + GEMM, chosen per shape;
-- torch._convBackend pins one for these comparisons.
describe('oneDNN convolutions (float32)', function()
  local _, have_dnnl = torch._convBackend()
  local function dnnl_it(name, fn)
    if not have_dnnl then return pending(name .. ' (built without oneDNN: make DNNL=0)') end
    it(name, function()
      local old = torch._convBackend()
      local ok, err = pcall(fn)
      torch._convBackend(old)
      if not ok then error(err, 0) end
    end)
  end

  -- y, gx, gw, gb of one convolution on the given backend
  local function run(backend, transposed, x, w, b, o)
    torch._convBackend(backend)
    local xx, ww = H.grad_leaf(x:clone()), H.grad_leaf(w:clone())
    local bb = b and H.grad_leaf(b:clone())
    local y
    if transposed then
      y = torch._convTranspose2d(xx, ww, bb, o.s[1], o.s[2], o.p[1], o.p[2], o.d[1], o.d[2],
                                 o.op[1], o.op[2], o.g)
    else
      y = torch._conv2d(xx, ww, bb, o.s[1], o.s[2], o.p[1], o.p[2], o.d[1], o.d[2], o.g)
    end
    torch.manualSeed(99)
    y:backward(torch.randn(y:size()):type(y:type()))
    return { y:detach(), xx.grad, ww.grad, bb and bb.grad }
  end

  -- every option: stride, padding, dilation, groups, transposed with output padding, no bias,
  -- 1x1, rectangular kernels, a non-contiguous input, channel counts above and below the rule
  local cases = {
    { false, { 2, 16, 9, 9 }, { 24, 16, 3, 3 }, { s = { 1, 1 }, p = { 1, 1 }, d = { 1, 1 }, g = 1 } },
    { false, { 3, 8, 11, 10 }, { 12, 4, 3, 2 }, { s = { 2, 1 }, p = { 2, 1 }, d = { 2, 1 }, g = 2 } },
    { false, { 2, 6, 14, 14 }, { 16, 6, 5, 5 }, { s = { 1, 1 }, p = { 0, 0 }, d = { 1, 1 }, g = 1 } },
    { false, { 2, 1, 12, 12 }, { 6, 1, 5, 5 }, { s = { 1, 1 }, p = { 2, 2 }, d = { 1, 1 }, g = 1 } },
    { false, { 2, 32, 7, 7 }, { 16, 32, 1, 1 }, { s = { 1, 1 }, p = { 0, 0 }, d = { 1, 1 }, g = 1 }, nobias = true },
    { false, { 2, 12, 9, 8 }, { 12, 1, 3, 3 }, { s = { 2, 2 }, p = { 1, 1 }, d = { 1, 1 }, g = 12 } },
    { false, { 1, 4, 8, 9 }, { 6, 4, 2, 3 }, { s = { 3, 2 }, p = { 1, 0 }, d = { 2, 2 }, g = 1 }, noncontig = true },
    { true, { 2, 16, 5, 6 }, { 16, 4, 3, 3 }, { s = { 2, 2 }, p = { 1, 1 }, d = { 1, 1 }, op = { 1, 1 }, g = 2 } },
    { true, { 2, 6, 4, 5 }, { 6, 3, 2, 3 }, { s = { 1, 2 }, p = { 1, 1 }, d = { 2, 1 }, op = { 1, 0 }, g = 1 }, nobias = true },
    -- output padding beyond the padding: oneDNN refuses (negative right padding), im2col runs
    { true, { 2, 6, 4, 5 }, { 6, 3, 2, 3 }, { s = { 1, 2 }, p = { 0, 1 }, d = { 2, 1 }, op = { 1, 0 }, g = 1 }, refused = true },
    { true, { 1, 32, 4, 4 }, { 32, 8, 4, 4 }, { s = { 2, 2 }, p = { 1, 1 }, d = { 1, 1 }, op = { 0, 0 }, g = 1 } },
  }

  dnnl_it('agrees with im2col + GEMM: output, input, weight and bias gradients, every option', function()
    for i, c in ipairs(cases) do
      torch.manualSeed(i)
      local transposed, o = c[1], c[4]
      o.op = o.op or { 0, 0 }
      local x = torch.randn(table.unpack(c[2]))
      if c.noncontig then x = torch.randn(c[2][1], c[2][2], c[2][4], c[2][3]):transpose(3, 4) end
      local w = torch.randn(table.unpack(c[3])):mul(0.3)
      local b = not c.nobias and torch.randn(transposed and c[3][2] * o.g or c[3][1]) or nil
      local a = run('im2col', transposed, x, w, b, o)
      local calls = select(3, torch._convBackend())
      local d = run('onednn', transposed, x, w, b, o)
      -- forward, input and weight gradients: oneDNN took all three (no silent fallback)
      assert.equal(calls + (c.refused and 0 or 3), select(3, torch._convBackend()), 'case ' .. i)
      for k = 1, 4 do
        if a[k] then H.close(d[k], a[k], 1e-4, 1e-4) end
      end
      -- and against float64 im2col, so that the two float32 paths do not share an error
      local e = run('im2col', transposed, x:double(), w:double(), b and b:double(), o)
      for k = 1, 4 do
        if e[k] then H.close(d[k]:double(), e[k], 1e-4, 1e-4) end
      end
    end
  end)

  dnnl_it('against the PyTorch fixtures (float32 on oneDNN against the float64 references)', function()
    local n, calls = 0, select(3, torch._convBackend())
    for _, name in ipairs(names) do
      local c = F[name]
      if c.ctor:match('Conv') or (c.ctor:match('Pool') and not c.ctor:match('Adaptive')) then
        torch._convBackend('onednn')
        local m = build(c):float()
        m:zeroGradParameters()
        local x = T(c.input):float()
        H.close(m:forward(x), c.output, 1e-4, 1e-4)
        H.close(m:backward(x, T(c.gradOutput):float()), c.gradInput, 1e-4, 1e-4)
        for pname, g in pairs(c.gradParams) do
          H.close(pname == 'weight' and m.gradWeight or m.gradBias, g, 1e-4, 1e-4)
        end
        n = n + 1
      end
    end
    -- oneDNN took every one: three directions for each of the 15 convolutions, two for each of
    -- the 4 average poolings, one for each of the 8 max poolings (their backward is core/conv.c's
    -- scatter through the indices)
    assert.equal(27, n)
    assert.equal(calls + 3 * 15 + 2 * 4 + 1 * 8, select(3, torch._convBackend()))
  end)

  -- pooling: torch._convBackend('im2col') pins core/conv.c's own loops for pooling too
  local function pool_run(backend, kind, x, o)
    torch._convBackend(backend)
    local xx = H.grad_leaf(x:clone())
    local y, idx
    if kind == 'max' then
      y, idx = torch._maxPool2d(xx, o.k[1], o.k[2], o.s[1], o.s[2], o.p[1], o.p[2], o.d[1], o.d[2], o.ceil)
    else
      y = torch._avgPool2d(xx, o.k[1], o.k[2], o.s[1], o.s[2], o.p[1], o.p[2], o.ceil, o.incl)
    end
    torch.manualSeed(98)
    y:backward(torch.randn(y:size()))
    return y:detach(), xx.grad, idx
  end

  dnnl_it('pooling agrees with core/conv.c\'s loops: values, PyTorch\'s indices, gradients, every option', function()
    local pools = {
      { 'max', { k = { 2, 2 }, s = { 2, 2 }, p = { 0, 0 }, d = { 1, 1 }, ceil = false } },
      { 'max', { k = { 3, 3 }, s = { 2, 2 }, p = { 1, 1 }, d = { 1, 1 }, ceil = true } },
      { 'max', { k = { 3, 2 }, s = { 1, 2 }, p = { 1, 0 }, d = { 2, 1 }, ceil = false } },
      { 'max', { k = { 3, 3 }, s = { 2, 2 }, p = { 1, 1 }, d = { 2, 2 }, ceil = true } },
      { 'avg', { k = { 2, 2 }, s = { 2, 2 }, p = { 0, 0 }, ceil = false, incl = true } },
      { 'avg', { k = { 3, 3 }, s = { 2, 2 }, p = { 1, 1 }, ceil = false, incl = true } },
      { 'avg', { k = { 3, 3 }, s = { 2, 2 }, p = { 1, 1 }, ceil = true, incl = false } },
      { 'avg', { k = { 3, 2 }, s = { 2, 1 }, p = { 1, 1 }, ceil = true, incl = false } },
      -- counting the padding past the padding (ceil mode): oneDNN's divisor differs, ours runs
      { 'avg', { k = { 3, 3 }, s = { 2, 2 }, p = { 1, 1 }, ceil = true, incl = true }, refused = true },
    }
    for i, c in ipairs(pools) do
      torch.manualSeed(20 + i)
      local kind, o = c[1], c[2]
      o.d = o.d or { 1, 1 }
      for _, x in ipairs({ torch.randn(2, 3, 9, 8),
                           torch.randn(2, 3, 7, 10):floor():clamp(-1, 1) }) do   -- many ties
        local ya, ga, ia = pool_run('im2col', kind, x, o)
        local calls = select(3, torch._convBackend())
        local yd, gd, id = pool_run('onednn', kind, x, o)
        -- max: forward on oneDNN, backward here; average: both on oneDNN
        local want = c.refused and 0 or (kind == 'max' and 1 or 2)
        assert.equal(calls + want, select(3, torch._convBackend()), 'case ' .. i)
        H.close(yd, ya, 1e-6, 1e-6)
        H.close(gd, ga, 1e-6, 1e-6)
        if ia then assert.equal(0, (id - ia):abs():max()) end   -- the first maximum of each window
      end
    end
  end)

  dnnl_it('max pooling: a NaN input stays on core/conv.c (PyTorch\'s NaN rule); float64 too', function()
    local x = torch.randn(1, 2, 6, 6)
    x[1][1][2][3] = 0 / 0
    local o = { k = { 2, 2 }, s = { 2, 2 }, p = { 0, 0 }, d = { 1, 1 }, ceil = false }
    local calls = select(3, torch._convBackend())
    local y, _, idx = pool_run('onednn', 'max', x, o)
    assert.equal(calls, select(3, torch._convBackend()))
    assert.is_true(y[1][1][1][2] ~= y[1][1][1][2])
    assert.equal(1 * 6 + 2, idx[1][1][1][2])
    pool_run('onednn', 'max', torch.randn(1, 2, 6, 6):double(), o)
    pool_run('onednn', 'avg', torch.randn(1, 2, 6, 6):double(), { k = { 2, 2 }, s = { 2, 2 }, p = { 0, 0 }, ceil = false, incl = true })
    assert.equal(calls, select(3, torch._convBackend()))
  end)

  dnnl_it('under bf16 autocast: bfloat16 inside oneDNN, float32 out, forward and backward', function()
    torch.manualSeed(12)
    local x, w, b = torch.randn(2, 16, 9, 9), torch.randn(24, 16, 3, 3):mul(0.2), torch.randn(24)
    local o = { s = { 1, 1 }, p = { 1, 1 }, d = { 1, 1 }, g = 1 }
    local ref = run('im2col', false, x:double(), w:double(), b:double(), o)
    local calls = select(3, torch._convBackend())
    local r = torch.autocast('bfloat16', run, 'onednn', false, x, w, b, o)
    assert.equal(calls + 3, select(3, torch._convBackend()))
    assert.equal('torch.FloatTensor', r[1]:type())
    local exact = run('onednn', false, x, w, b, o)
    for k = 1, 4 do
      -- bf16 operands (8 bits of mantissa) over sums of 144 products: within 2%, and not fp32's bits
      H.close(r[k]:double(), ref[k], 2e-2, 2e-2 * torch.abs(ref[k]):max())
    end
    assert.is_true((r[1] - exact[1]):abs():max() > 1e-4)
  end)

  dnnl_it('float64 stays on im2col (the same bits whatever the setting)', function()
    torch.manualSeed(3)
    local x, w, b = torch.randn(2, 16, 9, 9):double(), torch.randn(24, 16, 3, 3):double(), torch.randn(24):double()
    local o = { s = { 1, 1 }, p = { 1, 1 }, d = { 1, 1 }, g = 1 }
    local a = run('im2col', false, x, w, b, o)
    local calls = select(3, torch._convBackend())
    local d = run('onednn', false, x, w, b, o)
    assert.equal(calls, select(3, torch._convBackend()))
    for k = 1, 4 do assert.equal(0, (a[k] - d[k]):abs():max()) end
  end)

  dnnl_it('the per-shape rule: oneDNN from 8 input channels or C/groups * kh * kw >= 64, im2col below', function()
    local o = { s = { 1, 1 }, p = { 1, 1 }, d = { 1, 1 }, g = 1 }
    for _, c in ipairs({ { 16, 'onednn' }, { 8, 'onednn' }, { 4, 'im2col' } }) do
      torch.manualSeed(5)
      local x, w = torch.randn(2, c[1], 12, 12), torch.randn(16, c[1], 3, 3)
      local a, d = run('im2col', false, x, w, nil, o), run('onednn', false, x, w, nil, o)
      local auto = run('auto', false, x, w, nil, o)
      -- the two paths round differently here, so the bits tell which one ran
      local differ = false
      for k = 1, 3 do differ = differ or (a[k] - d[k]):abs():max() > 0 end
      assert.is_true(differ)
      local want = c[2] == 'onednn' and d or a
      for k = 1, 3 do assert.equal(0, (auto[k] - want[k]):abs():max()) end
    end
  end)

  dnnl_it('one and two threads agree; LeNet-5 trains the same way on either path', function()
    local before = torch.getnumthreads()
    torch.manualSeed(8)
    local x, w = torch.randn(4, 16, 10, 10), torch.randn(8, 16, 3, 3)
    local o = { s = { 1, 1 }, p = { 1, 1 }, d = { 1, 1 }, g = 1 }
    torch.setnumthreads(1)
    local r1 = run('onednn', false, x, w, nil, o)
    torch.setnumthreads(2)
    local r2 = run('onednn', false, x, w, nil, o)
    torch.setnumthreads(before)
    for k = 1, 3 do H.close(r2[k], r1[k], 1e-5, 1e-5) end
    local function losses(backend)
      torch._convBackend(backend)
      torch.manualSeed(11)
      local m = nn.Sequential():add(nn.Conv2d(1, 6, 5, { padding = 2 })):add(nn.ReLU())
        :add(nn.MaxPool2d(2)):add(nn.Conv2d(6, 16, 5)):add(nn.ReLU()):add(nn.MaxPool2d(2))
        :add(nn.View(-1, 400)):add(nn.Linear(400, 10))
      local crit, xs, t = nn.CrossEntropyCriterion(), torch.randn(16, 1, 28, 28), torch.LongTensor(16):random(1, 10)
      local params, grads = m:getParameters()
      local out = {}
      for step = 1, 5 do
        m:zeroGradParameters()
        out[step] = crit:forward(m:forward(xs), t)
        m:backward(xs, crit:backward(m.output, t))
        params:add(-0.05, grads)
      end
      return out
    end
    local a, d = losses('im2col'), losses('onednn')
    for step = 1, 5 do assert.is_true(math.abs(a[step] - d[step]) < 1e-4 * (1 + math.abs(a[step]))) end
    assert.is_true(a[5] < a[1])
  end)
end)

-- ---- errors -----------------------------------------------------------------------------------
describe('argument errors', function()
  it('constructors name the argument, in Lua\'s form', function()
    H.matches(H.error_of(nn.SpatialConvolution, 3, 0, 3, 3), "bad argument #2 to 'nn.SpatialConvolution'", 'positive')
    H.matches(H.error_of(nn.SpatialConvolution, 3, 4, 'x', 3), "bad argument #3 to 'nn.SpatialConvolution'", 'integer expected, got string')
    H.matches(H.error_of(nn.Conv2d, 3, 4), "bad argument #3 to 'nn.Conv2d'", 'kernel size')
    H.matches(H.error_of(nn.Conv2d, 3, 4, 3, { strides = 2 }), "unknown option 'strides'", 'stride')
    H.matches(H.error_of(nn.Conv2d, 3, 4, 3, { paddingMode = 'reflect' }), "option 'paddingMode' is not supported yet")
    H.matches(H.error_of(nn.ConvTranspose2d, 3, 4, 3, { output_padding = 1 }), "unknown option 'output_padding'", "did you mean 'outputPadding'")
    H.matches(H.error_of(nn.Conv2d, 3, 4, 3, { groups = 2 }), 'do not split into 2 groups')
    H.matches(H.error_of(nn.Conv2d, 3, 4, { 3, 2, 1 }), 'kernel size must be a number or a pair')
    H.matches(H.error_of(nn.MaxPool2d, 2, { ceil_mode = true }), "unknown option 'ceil_mode'", "did you mean 'ceilMode'")
    H.matches(H.error_of(nn.MaxPool2d, 2, { returnIndices = true }), "'returnIndices' is not supported yet")
    H.matches(H.error_of(nn.BatchNorm1d, 3, { track_running_stats = false }), "did you mean 'trackRunningStats'")
    H.matches(H.error_of(nn.Upsample, { scale_factor = 2 }), "did you mean 'scaleFactor'")
    H.matches(H.error_of(nn.BatchNorm2d, 3, { momentun = 0.1 }), "unknown option 'momentun'")
    H.matches(H.error_of(nn.BatchNormalization, -1), "bad argument #1 to 'nn.BatchNormalization'")
    H.matches(H.error_of(nn.GroupNorm, 3, 4), '4 channels do not split into 3 groups')
    H.matches(H.error_of(nn.Upsample, { scaleFactor = 2, size = 3 }), 'one of size and scaleFactor')
    H.matches(H.error_of(nn.Upsample, { scaleFactor = 2, mode = 'bicubic' }), "mode 'bicubic' is not supported")
    H.matches(H.error_of(nn.ConvTranspose2d, 2, 2, 3, { stride = 2, outputPadding = 2 }), 'output padding')
  end)

  it('constructor errors point at the line that called the constructor', function()
    local calls = {   -- (a tail call would leave no line of this file to blame)
      function() local m = nn.Conv2d(3, 4, 3, { strides = 2 }) return m end,
      function() local m = nn.Conv2d(3, 4, 3, { padding = 'same', stride = 2 }) return m end,
      function() local m = nn.Conv2d(3, 4, 3, { groups = 2 }) return m end,
      function() local m = nn.Conv1d(3, 4, 3, { groups = 2 }) return m end,
      function() local m = nn.SpatialConvolution(3, 4, 0, 3) return m end,
      function() local m = nn.MaxPool2d({ 2, 2, 2 }) return m end,
      function() local m = nn.BatchNorm2d(3, { eps = -1 }) return m end,
      function() local m = nn.GroupNorm(3, 4) return m end,
      function() local m = nn.LayerNorm(4, { eps = -1 }) return m end,
      function() local m = nn.Upsample({ scaleFactor = { 1, 2, 3 } }) return m end,
      function() local m = nn.Upsample({ mode = 'nearest' }) return m end,
      function() local m = nn.ReflectionPad2d({ 1, 2 }) return m end,
    }
    for i, f in ipairs(calls) do
      local msg = H.error_of(f)
      assert(msg:find('46-conv_spec.lua', 1, true), ('call %d: %s'):format(i, msg))
    end
  end)

  it('forward names the module and the shapes', function()
    local conv = nn.SpatialConvolution(3, 4, 5, 5)
    H.matches(H.error_of(conv.forward, conv, torch.randn(2, 2, 8, 8)), 'nn.SpatialConvolution', 'expected 3 input channels', '2 x 2 x 8 x 8')
    H.matches(H.error_of(conv.forward, conv, torch.randn(8, 8)), 'expected a 3D or 4D input', '8 x 8')
    H.matches(H.error_of(conv.forward, conv, torch.randn(1, 3, 4, 4)), 'conv2d', 'smaller than the kernel')
    H.matches(H.error_of(conv.forward, conv, torch.LongTensor(1, 3, 8, 8)), 'FloatTensor or DoubleTensor')
    H.matches(H.error_of(conv.forward, conv, torch.randn(1, 3, 8, 8):double()), 'the weight a torch.FloatTensor')
    H.matches(H.error_of(conv.forward, conv, 'x'), "bad argument #1 to 'forward' %(tensor or table expected, got string%)")
    local pool = nn.SpatialMaxPooling(5, 5)
    H.matches(H.error_of(pool.forward, pool, torch.randn(1, 1, 3, 3)), 'maxPool2d', 'smaller than the 5 x 5 kernel')
    pool = nn.SpatialMaxPooling(2, 2, 2, 2, 2, 2)
    H.matches(H.error_of(pool.forward, pool, torch.randn(1, 1, 6, 6)), 'padding must be between 0 and half the kernel size')
    local bn = nn.BatchNorm1d(3)
    H.matches(H.error_of(bn.forward, bn, torch.randn(4, 5)), 'nn.BatchNorm1d', 'N x 3', '4 x 5')
    H.matches(H.error_of(bn.forward, bn, torch.randn(1, 3)), 'more than 1 value per channel')
    local bn2 = nn.BatchNorm2d(3)
    H.matches(H.error_of(bn2.forward, bn2, torch.randn(4, 3)), 'N x 3 x H x W')
    local ln = nn.LayerNorm({ 4, 5 })
    H.matches(H.error_of(ln.forward, ln, torch.randn(3, 5, 4)), 'nn.LayerNorm', '* x 4 x 5', '3 x 5 x 4')
    local pad = nn.ReflectionPad2d(3)
    H.matches(H.error_of(pad.forward, pad, torch.randn(1, 1, 3, 3)), 'smaller than the input')
  end)

  it('the raw kernels check what they are given', function()
    local x, w = torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3, 3)
    H.matches(H.error_of(torch._conv2d, x, w, nil, 0, 1, 0, 0, 1, 1, 1), 'conv2d', 'stride and dilation must be positive')
    H.matches(H.error_of(torch._conv2d, x, w, torch.randn(2), 1, 1, 0, 0, 1, 1, 1), 'bias must have 3 elements')
    H.matches(H.error_of(torch._conv2d, x, w:double(), nil, 1, 1, 0, 0, 1, 1, 1), 'the weight is Double but the input is Float')
    H.matches(H.error_of(torch._conv2d, x, w, nil, 1, 1, 0, 0, 1, 1, math.maxinteger), "bad argument #10 to '", "_conv2d'", 'out of range')
    H.matches(H.error_of(torch._adaptiveAvgPool2d, x, 0, 2), 'output size must be positive')
    -- size arithmetic that would leave int64, and products too large for BLAS's int sizes
    local tall = torch.randn(1, 1, 2 ^ 20, 1)
    H.matches(H.error_of(torch._conv2d, x:narrow(2, 1, 1), tall, nil, 1, 1, 0, 0, 2 ^ 40, 1, 1), 'beyond 2^59')
    H.matches(H.error_of(torch._convTranspose2d, tall, torch.randn(1, 1, 1, 1), nil, 2 ^ 40, 1, 0, 0, 1, 1, 0, 0, 1),
              'beyond 2^59')
    H.matches(H.error_of(torch._conv2d, x, w, nil, 1, 1, 2 ^ 30, 0, 1, 1, 1), 'too large for one BLAS product')
    H.matches(H.error_of(torch._maxPool2d, tall, 3, 1, 2 ^ 40, 1, 1, 0, 1, 1, false), 'beyond 2^59')
    H.matches(H.error_of(torch._batchNorm, x, nil, nil, nil, nil, false, 0.1, 1e-5), 'evaluation needs the running statistics')
  end)

  H.gpu_it('CUDA tensors: a clear error, not a crash', function()
    local conv = nn.SpatialConvolution(1, 1, 3, 3):cuda()
    H.matches(H.error_of(conv.forward, conv, torch.randn(1, 1, 5, 5):cuda()),
              'nn.SpatialConvolution: not implemented for CUDA tensors yet')
    local pool = nn.MaxPool2d(2)
    H.matches(H.error_of(pool.forward, pool, torch.randn(1, 1, 4, 4):cuda()),
              'nn.MaxPool2d: not implemented for CUDA tensors yet')
  end)
end)

-- ---- examples/cnn_mnist.lua -----------------------------------------------------------------------
describe('examples/cnn_mnist.lua (LeNet-5)', function()
  local exe = os.getenv('LUATORCH_EXE') or './build/luatorch'
  local asan = os.getenv('LUATORCH_ASAN') ~= nil   -- sanitized builds are ~10x slower
  local here = debug.getinfo(1, 'S').source:match('^@(.*/)') or './'

  it('trains on the bundled MNIST subset to an accuracy far above chance', function()
    local iters = asan and 60 or 300
    local p = io.popen(('%s %s../examples/cnn_mnist.lua --iters %d --evalEvery 100 --threads 1 --quiet 2>&1')
                       :format(exe, here, iters))
    local out = p:read('a')
    assert(p:close(), out)
    local losses = {}
    for loss in out:gmatch('Iteration: %d+%. Loss: ([%d.]+)%.') do losses[#losses + 1] = tonumber(loss) end
    local final = tonumber(out:match('Final test accuracy: ([%d.]+)%%'))
    assert(final, 'no final accuracy in:\n' .. out)
    assert.truthy(out:find('nn.Conv2d(1 -> 6, 5x5, 1,1, 2,2)', 1, true), out)
    -- chance is 10%; 300 plain-SGD steps reach about 91% (60 under ASan: just past chance)
    assert(final > (asan and 15 or 80), ('final accuracy %.2f%%:\n%s'):format(final, out))
    if not asan then assert(losses[#losses] < losses[1], out) end
  end)
end)
