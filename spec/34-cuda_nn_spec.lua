-- Autograd, nn and optim on device tensors (issue 8): model:cuda() moves parameters,
-- gradients and state; training on the device (both loop styles, SGD with momentum, Adam)
-- gives the CPU's parameters within 1e-5; gradients of device leaves match the CPU's; mixing
-- devices is a clear error; model:float() comes home. Pending without a device; in the
-- `make CUDA=emu` build the device is the host emulation (gpu/emu) and the names say so.
-- (Restricted assert API: the file also runs under tools/minibusted.lua on a GPU machine.)
local torch = require 'torch'
local nn = require 'nn'
local optim = require 'optim'
local H = require 'helpers'

local gpu_it = H.gpu_it
local TOL = 1e-5

local function mlp(final)
  local m = nn.Sequential():add(nn.Linear(10, 16)):add(final == 'relu' and nn.ReLU() or nn.Tanh())
                           :add(nn.Linear(16, 3))
  if final == 'logsoftmax' or final == 'relu' then m:add(nn.LogSoftMax()) end
  return m
end

-- a CPU model and its twin on the device, with the same parameters
local function pair(kind)
  torch.manualSeed(7)
  local cpu = mlp(kind)
  return cpu, cpu:clone():cuda()
end

local function data()
  torch.manualSeed(11)
  local X = torch.randn(12, 10)
  local Y = torch.LongTensor(12)
  for i = 1, 12 do Y[i] = (i * 7) % 3 + 1 end
  return X, Y
end

local function same_params(gm, cm, tol)
  local gp, cp = gm:parameters(), cm:parameters()
  assert.are.equal(#cp, #gp)
  for i = 1, #cp do
    assert.are.equal('torch.CudaTensor', gp[i]:type())
    H.close(gp[i]:float(), cp[i], tol or TOL, tol or TOL)
  end
end

-- Torch7 loop: zeroGradParameters / forward / backward / updateParameters
local function torch7_plain(m, crit, X, Y, steps, lr)
  local losses = {}
  for i = 1, steps do
    m:zeroGradParameters()
    local out = m:forward(X)
    losses[i] = crit:forward(out, Y)
    m:backward(X, crit:backward(out, Y))
    m:updateParameters(lr)
  end
  return losses
end

-- Torch7 loop: feval + a functional optimiser on getParameters
local function torch7_optim(m, crit, X, Y, steps, update, config)
  local params, grads = m:getParameters()
  local state = {}
  local function feval()
    grads:zero()
    local out = m:forward(X)
    local loss = crit:forward(out, Y)
    m:backward(X, crit:backward(out, Y))
    return loss, grads
  end
  local losses = {}
  for i = 1, steps do
    local _, fs = update(feval, params, config, state)
    losses[i] = fs[1]
  end
  return losses, state, params
end

-- PyTorch loop: zeroGrad / loss:backward() / step
local function pytorch_loop(m, crit, X, Y, steps, opt)
  local losses = {}
  for i = 1, steps do
    opt:zeroGrad()
    local loss = crit(m(X), Y)
    losses[i] = loss:item()
    loss:backward()
    opt:step()
  end
  return losses
end

local function same_losses(gl, cl)
  assert.are.equal(#cl, #gl)
  for i = 1, #cl do H.close(gl[i], cl[i], TOL, TOL) end
end

describe('nn on CUDA', function()
  gpu_it('model:cuda() moves parameters and gradients, linked for autograd', function()
    local cpu, g = pair('tanh')
    for i, p in ipairs(g:parameters()) do
      local _, grads = g:parameters()
      assert.are.equal('torch.CudaTensor', p:type())
      assert.are.equal('torch.CudaTensor', grads[i]:type())
      assert.is_true(p.requiresGrad, 'parameter ' .. i .. ' requires grad')
      assert.are.equal('torch.CudaTensor', p.grad:type())
      H.close(p:float(), cpu:parameters()[i], 0, 0)
    end
    local lin = g:get(1)
    assert.are.equal('torch.CudaTensor', lin.gradWeight:type())
    assert.are.equal('torch.CudaTensor', lin.gradBias:type())
    -- a module and its criterion's class weights
    local crit = nn.ClassNLLCriterion(torch.Tensor({ 1, 2, 0.5 })):cuda()
    assert.are.equal('torch.CudaTensor', crit.weights:type())
    assert.are.equal('torch.FloatTensor', crit:float().weights:type())
  end)

  gpu_it('getParameters() gives flat device tensors that the parameters view', function()
    local cpu, g = pair('tanh')
    local fp, fg = g:getParameters()
    local cp = cpu:getParameters()
    assert.are.equal('torch.CudaTensor', fp:type())
    assert.are.equal('torch.CudaTensor', fg:type())
    assert.are.equal(10 * 16 + 16 + 16 * 3 + 3, fp:nElement())
    H.close(fp:float(), cp, 0, 0)
    fp:fill(0.25)
    assert.are.equal(0.25, g:get(3).bias:float()[2])
    fg:fill(1)
    assert.are.equal(1, g:get(1).gradWeight:float()[3][4])
    -- asked again, the same flat tensors
    local fp2 = g:getParameters()
    assert.are.equal(fp:nElement(), fp2:nElement())
    fp2:fill(-1)
    assert.are.equal(-1, fp:float()[1])
  end)

  gpu_it('model:float() / double() / cpu() bring it home; integer state keeps its dtype', function()
    local cpu, g = pair('tanh')
    g.steps = torch.LongTensor({ 1, 2, 3 })
    g:cuda()
    assert.are.equal('torch.CudaLongTensor', g.steps:type())
    local h = g:float()
    assert.are.equal('torch.LongTensor', h.steps:type())
    for i, p in ipairs(h:parameters()) do
      assert.are.equal('torch.FloatTensor', p:type())
      assert.are.equal('torch.FloatTensor', p.grad:type())
      H.close(p, cpu:parameters()[i], 0, 0)
    end
    local d = h:cuda():double()
    assert.are.equal('torch.DoubleTensor', d:get(1).weight:type())
    local back = d:cuda():cpu()
    assert.are.equal('torch.FloatTensor', back:get(1).weight:type())
    -- and it still trains on the host
    local X, Y = data()
    torch7_plain(back, nn.CrossEntropyCriterion(), X, Y, 1, 0.1)
  end)

  gpu_it('loadStateDict copies host state into a device model and device state home', function()
    local _, g = pair('tanh')
    torch.manualSeed(99)
    local h = mlp('tanh')
    g:loadStateDict(h:stateDict())
    for i, p in ipairs(g:parameters()) do
      assert.are.equal('torch.CudaTensor', p:type())
      H.close(p:float(), h:parameters()[i], 0, 0)
    end
    g:get(1).bias:fill(0.5)
    h:loadStateDict(g:stateDict())
    assert.are.equal('torch.FloatTensor', h:get(1).bias:type())
    assert.are.equal(0.5, h:get(1).bias[3])
  end)

  gpu_it('clone() of a device model is a device model with its own parameters', function()
    local _, g = pair('tanh')
    local c = g:clone()
    assert.are.equal('torch.CudaTensor', c:get(1).weight:type())
    H.close(c:get(1).weight:float(), g:get(1).weight:float(), 0, 0)
    c:get(1).weight:fill(3)
    assert.is_true(g:get(1).weight:float()[1][1] ~= 3)
    -- after getParameters: the clone flattens its own parameters
    local gfp = g:getParameters()
    local c2 = g:clone()
    local cfp = c2:getParameters()
    assert.are.equal(gfp:nElement(), cfp:nElement())
    H.close(cfp:float(), gfp:float(), 0, 0)
    cfp:fill(3)
    assert.are.equal(3, c2:get(3).weight:float()[2][5])
    assert.is_true(g:get(3).weight:float()[2][5] ~= 3)
    assert.is_true(rawequal(gfp, g:getParameters()), 'the original keeps its flat tensor')
  end)

  gpu_it('Torch7 loop (forward/backward/updateParameters), LogSoftMax + ClassNLLCriterion', function()
    local cpu, g = pair('logsoftmax')
    local X, Y = data()
    local cl = torch7_plain(cpu, nn.ClassNLLCriterion(), X, Y, 5, 0.1)
    local gl = torch7_plain(g, nn.ClassNLLCriterion():cuda(), X:cuda(), Y:cuda(), 5, 0.1)
    same_losses(gl, cl)
    same_params(g, cpu)
    -- gradInput on the device too
    assert.are.equal('torch.CudaTensor', g.gradInput:type())
    H.close(g.gradInput:float(), cpu.gradInput, TOL, TOL)
  end)

  gpu_it('Torch7 loop: optim.sgd with momentum on getParameters, ReLU + CrossEntropy', function()
    local cpu, g = pair('relu')
    local X, Y = data()
    local cfg = { learningRate = 0.1, momentum = 0.9, dampening = 0 }
    local cl = torch7_optim(cpu, nn.CrossEntropyCriterion(), X, Y, 5, optim.sgd, cfg)
    local gcfg = { learningRate = 0.1, momentum = 0.9, dampening = 0 }
    local gl, state = torch7_optim(g, nn.CrossEntropyCriterion(), X:cuda(), Y:cuda(), 5,
                                   optim.sgd, gcfg)
    same_losses(gl, cl)
    same_params(g, cpu)
    assert.are.equal('torch.CudaTensor', state.dfdx:type())
  end)

  gpu_it('Torch7 loop: optim.adam on getParameters', function()
    local cpu, g = pair('tanh')
    local X, Y = data()
    local cl = torch7_optim(cpu, nn.CrossEntropyCriterion(), X, Y, 5, optim.adam,
                            { learningRate = 0.01 })
    local gl, state = torch7_optim(g, nn.CrossEntropyCriterion(), X:cuda(), Y:cuda(), 5,
                                   optim.adam, { learningRate = 0.01 })
    same_losses(gl, cl)
    same_params(g, cpu)
    assert.are.equal('torch.CudaTensor', state.m:type())
    assert.are.equal('torch.CudaTensor', state.v:type())
  end)

  gpu_it('PyTorch loop: optim.SGD (momentum, Nesterov, weight decay), CrossEntropyCriterion', function()
    local cpu, g = pair('tanh')
    local X, Y = data()
    local cfg = { lr = 0.1, momentum = 0.9, nesterov = true, weightDecay = 1e-3 }
    local cl = pytorch_loop(cpu, nn.CrossEntropyCriterion(), X, Y, 5, optim.SGD(cpu:parameters(), cfg))
    local opt = optim.SGD(g:parameters(), cfg)
    local gl = pytorch_loop(g, nn.CrossEntropyCriterion():cuda(), X:cuda(), Y:cuda(), 5, opt)
    same_losses(gl, cl)
    same_params(g, cpu)
    for _, s in pairs(opt.state) do assert.are.equal('torch.CudaTensor', s.buf:type()) end
  end)

  gpu_it('PyTorch loop: optim.Adam, LogSoftMax + ClassNLLCriterion', function()
    local cpu, g = pair('logsoftmax')
    local X, Y = data()
    local cl = pytorch_loop(cpu, nn.ClassNLLCriterion(), X, Y, 5,
                            optim.Adam(cpu:parameters(), { lr = 0.01, weightDecay = 0.01 }))
    local opt = optim.Adam(g:parameters(), { lr = 0.01, weightDecay = 0.01 })
    local gl = pytorch_loop(g, nn.ClassNLLCriterion(), X:cuda(), Y:cuda(), 5, opt)
    same_losses(gl, cl)
    same_params(g, cpu)
    for _, s in pairs(opt.state) do
      assert.are.equal('torch.CudaTensor', s.m:type())
      assert.are.equal('torch.CudaTensor', s.v:type())
    end
  end)

  gpu_it('RMSprop and Adagrad steps on the device match the CPU', function()
    for _, make in ipairs({ optim.RMSprop, optim.Adagrad }) do
      local cpu, g = pair('tanh')
      local X, Y = data()
      local cl = pytorch_loop(cpu, nn.CrossEntropyCriterion(), X, Y, 3,
                              make(cpu:parameters(), { lr = 0.01, weightDecay = 0.1 }))
      local gl = pytorch_loop(g, nn.CrossEntropyCriterion(), X:cuda(), Y:cuda(), 3,
                              make(g:parameters(), { lr = 0.01, weightDecay = 0.1 }))
      same_losses(gl, cl)
      same_params(g, cpu)
    end
  end)

  gpu_it('optimizer kernels on large, strided device tensors match the CPU', function()
    torch.manualSeed(12)
    local K = torch._optim
    for _, dt in ipairs({ 'float', 'double' }) do
      -- 21000 elements: many blocks, and more than the clipping's partial sums cover at once
      local p = torch.randn(300, 70)[dt](torch.randn(300, 70))
      local gt = torch.randn(70, 300)[dt](torch.randn(70, 300)):t()   -- a transposed gradient
      local gp, ggt = p:cuda(), gt:cuda()
      local b, gb = p:clone():zero(), gp:clone():zero()
      for step = 1, 2 do
        K.sgd(p, gt, b, 0.1, 0.9, 0.1, 0.01, false, step == 1)
        K.sgd(gp, ggt, gb, 0.1, 0.9, 0.1, 0.01, false, step == 1)
      end
      H.close(gp:cpu(), p, TOL, 1e-6)
      H.close(gb:cpu(), b, TOL, 1e-6)
      local m, v, gm, gv = p:clone():zero(), p:clone():zero(), gp:clone():zero(), gp:clone():zero()
      for t = 1, 2 do
        K.adam(p, gt, m, v, 0.01, 0.9, 0.999, 1e-8, 0.1, t)
        K.adam(gp, ggt, gm, gv, 0.01, 0.9, 0.999, 1e-8, 0.1, t)
      end
      H.close(gp:cpu(), p, TOL, 1e-6)
      H.close(gv:cpu(), v, TOL, 1e-9)
      local c1, c2 = gt:clone(), ggt:t():contiguous():t()
      local n1 = K.clipGradNorm({ c1, p:narrow(2, 3, 5) }, 2)
      local n2 = K.clipGradNorm({ c2, gp:narrow(2, 3, 5) }, 2)
      H.close(n2, n1, 1e-9, 0)
      H.close(c2:cpu(), c1, TOL, 1e-7)
    end
  end)

  gpu_it('clipGradNorm on device gradients', function()
    local cpu, g = pair('tanh')
    local X, Y = data()
    nn.CrossEntropyCriterion()(cpu(X), Y):backward()
    nn.CrossEntropyCriterion()(g(X:cuda()), Y:cuda()):backward()
    local cn = optim.clipGradNorm(cpu:parameters(), 0.05)
    local gn = optim.clipGradNorm(g:parameters(), 0.05)
    H.close(gn, cn, TOL, TOL)
    local _, cgrads = cpu:parameters()
    local _, ggrads = g:parameters()
    for i = 1, #cgrads do
      assert.are.equal('torch.CudaTensor', ggrads[i]:type())
      H.close(ggrads[i]:float(), cgrads[i], TOL, 1e-7)
    end
  end)
end)

describe('autograd on CUDA', function()
  local function f(t) return torch.cmul(torch.tanh(t), t):sum() end

  gpu_it('leaves made with :cuda() get device gradients equal to the CPU ones, accumulated', function()
    torch.manualSeed(5)
    local a = torch.randn(4, 3)
    local ca = a:clone()
    ca.requiresGrad = true
    local ga = a:cuda()
    ga.requiresGrad = true
    f(ca):backward()
    f(ga):backward()
    assert.are.equal('torch.CudaTensor', ga.grad:type())
    H.close(ga.grad:float(), ca.grad, TOL, 1e-6)
    f(ca):backward()  -- accumulates into .grad
    f(ga):backward()
    H.close(ga.grad:float(), ca.grad, TOL, 1e-6)
  end)

  gpu_it('broadcasting gradients are summed on the device', function()
    torch.manualSeed(6)
    local a, b = torch.randn(4, 3), torch.randn(3)
    local ca, cb, ga, gb = a:clone(), b:clone(), a:cuda(), b:cuda()
    for _, t in ipairs({ ca, cb, ga, gb }) do t.requiresGrad = true end
    torch.cmul(ca + cb, ca):sum():backward()
    torch.cmul(ga + gb, ga):sum():backward()
    assert.are.equal('torch.CudaTensor', gb.grad:type())
    H.close(gb.grad:float(), cb.grad, TOL, 1e-6)
    H.close(ga.grad:float(), ca.grad, TOL, 1e-6)
  end)

  gpu_it('a non-scalar root takes a gradient on its own device; another device is an error', function()
    torch.manualSeed(8)
    local a, w = torch.randn(2, 5), torch.randn(2, 5)
    local ca, ga = a:clone(), a:cuda()
    ca.requiresGrad, ga.requiresGrad = true, true
    torch.tanh(ca):backward(w)
    torch.tanh(ga):backward(w:cuda())
    H.close(ga.grad:float(), ca.grad, TOL, 1e-6)
    local msg = H.error_of(function() torch.tanh(ga):backward(w) end)
    H.matches(msg, 'the gradient is on the CPU', 'CUDA device 1')
  end)

  gpu_it('a host leaf copied to the device gets its gradient on the host', function()
    local h = torch.randn(3, 2)
    h.requiresGrad = true
    local d = h:cuda()
    local ch = h:clone():detach()
    ch.requiresGrad = true
    f(d):backward()
    f(ch):backward()
    assert.are.equal('torch.FloatTensor', h.grad:type())
    H.close(h.grad, ch.grad, TOL, 1e-6)
  end)
end)

describe('mixed devices', function()
  gpu_it('a CPU input to a CUDA model names the problem', function()
    local _, g = pair('tanh')
    local X = data()
    local msg = H.error_of(function() g:forward(X) end)
    H.matches(msg, 'nn%.Linear', 'the input is on the CPU', 'CUDA device 1')
    msg = H.error_of(function() return g(X) end)
    H.matches(msg, 'the input is on the CPU')
    -- and a device input to a host model
    local cpu = pair('tanh')
    msg = H.error_of(function() cpu:forward(X:cuda()) end)
    H.matches(msg, 'the input is on CUDA device 1', 'parameters on the CPU')
  end)

  gpu_it('a host gradOutput for a device module (Torch7 backward) is an error', function()
    local _, g = pair('tanh')
    local X = data()
    local out = g:forward(X:cuda())
    local msg = H.error_of(function() g:backward(X:cuda(), torch.ones(out:size())) end)
    H.matches(msg, 'the gradient is on the CPU', 'CUDA device 1')
  end)

  gpu_it('a CPU target for device scores is an error that names both devices', function()
    local _, g = pair('logsoftmax')
    local X, Y = data()
    local out = g:forward(X:cuda())
    local msg = H.error_of(function() nn.ClassNLLCriterion():forward(out, Y) end)
    H.matches(msg, 'CUDA device 1', 'the CPU')
  end)

  gpu_it('an optimizer step with a host gradient for a device parameter is an error', function()
    local p = torch.randn(4):cuda()
    p.grad = torch.randn(4)
    local msg = H.error_of(function() optim.SGD({ p }, { lr = 0.1 }):step() end)
    H.matches(msg, 'CUDA device 1', 'the CPU')
  end)
end)

describe('other modules on CUDA', function()
  gpu_it('Dropout in training: a device mask, the same draws as the host for one seed', function()
    local x = torch.randn(6, 7)
    local m, gm = nn.Dropout(0.4), nn.Dropout(0.4):cuda()
    torch.manualSeed(21)
    local c = m:forward(x)
    torch.manualSeed(21)
    local g = gm:forward(x:cuda())
    assert.are.equal('torch.CudaTensor', g:type())
    assert.are.equal('torch.CudaTensor', gm.noise:type())
    H.close(g:float(), c, TOL, 1e-6)
    local gi = gm:backward(x:cuda(), torch.ones(6, 7):cuda())
    H.close(gi:float(), m:backward(x, torch.ones(6, 7)), TOL, 1e-6)
    gm:evaluate()
    H.close(gm:forward(x:cuda()):float(), x, 0, 0)
  end)

  gpu_it('LookupTable with device indices; its weight gradient on the device', function()
    torch.manualSeed(4)
    local m = nn.LookupTable(7, 3)
    local g = m:clone():cuda()
    local idx = torch.LongTensor({ { 1, 3, 3 }, { 7, 2, 1 } })
    local co = m:forward(idx)
    local go = g:forward(idx:cuda())
    H.close(go:float(), co, 0, 0)
    local gout = torch.randn(2, 3, 3)
    m:zeroGradParameters()
    g:zeroGradParameters()
    m:backward(idx, gout)
    g:backward(idx:cuda(), gout:cuda())
    H.close(g.gradWeight:float(), m.gradWeight, TOL, 1e-6)
  end)

  gpu_it('shape and table modules pass device tensors through, with gradients', function()
    torch.manualSeed(9)
    local function build()
      return nn.Sequential():add(nn.Reshape(3, 4)):add(nn.SplitTable(2)):add(nn.CAddTable())
                            :add(nn.Linear(4, 6)):add(nn.View(2, 3)):add(nn.Select(2, 2))
                            :add(nn.Sigmoid())
    end
    torch.manualSeed(9)
    local c = build()
    local g = c:clone():cuda()
    local x = torch.randn(5, 12)
    local co, go = c:forward(x), g:forward(x:cuda())
    H.close(go:float(), co, TOL, 1e-6)
    local gout = torch.randn(co:size())
    local cgi = c:backward(x, gout)
    local ggi = g:backward(x:cuda(), gout:cuda())
    assert.are.equal('torch.CudaTensor', ggi:type())
    H.close(ggi:float(), cgi, TOL, 1e-6)
    H.close(g:get(4).gradWeight:float(), c:get(4).gradWeight, TOL, 1e-6)
  end)

  gpu_it('MSECriterion and BCECriterion on the device', function()
    torch.manualSeed(10)
    local x, t = torch.rand(4, 3):mul(0.8):add(0.1), torch.rand(4, 3)
    for _, make in ipairs({ nn.MSECriterion, nn.BCECriterion }) do
      local c, g = make(), make():cuda()
      local xc, xg = x:clone(), x:cuda()
      xc.requiresGrad, xg.requiresGrad = true, true
      local lc, lg = c(xc, t), g(xg, t:cuda())
      H.close(lg:item(), lc:item(), TOL, 1e-6)
      lc:backward()
      lg:backward()
      H.close(xg.grad:float(), xc.grad, TOL, 1e-6)
    end
  end)
end)
