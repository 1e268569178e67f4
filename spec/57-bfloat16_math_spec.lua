-- spec/57-bfloat16_math_spec.lua — arithmetic on torch.BFloat16Tensor by widening (issue 17):
-- the ops PyTorch's CPU runs on bfloat16 (widen to float32, compute, round to nearest even)
-- against PyTorch 1.13's results (spec/fixtures/gen_bf16_math.py): bit for bit where both
-- compute one correctly rounded float32 operation per element, within bfloat16's rounding
-- for transcendental functions, reductions and products; type promotion with float32;
-- autograd (BFloat16 gradients); nn modules converted with :bfloat16() trained against
-- PyTorch's bf16 run; optimisers; and the named errors of what is still refused.
local torch = require 'torch'
local nn = require 'nn'
local optim = require 'optim'
local H = require 'helpers'

local F = H.fixture('bf16_math')
local ULP = 2 ^ -7      -- one bfloat16 ulp, relative (8 significant bits)

local function bt(f) return H.tensor(f):bfloat16() end   -- fixture values are bf16-exact

-- every element equal (NaN for NaN), and the type
local function exact(got, want, what)
  assert.are.equal('torch.BFloat16Tensor', got:type(), what)
  local g, w = got:double():contiguous():view(-1), H.tensor(want, 'float64'):contiguous():view(-1)
  assert.are.equal(w:nElement(), g:nElement(), what)
  for i = 1, w:nElement() do
    local a, e = g[i], w[i]
    assert(a == e or (a ~= a and e ~= e),
           ('%s element %d: PyTorch %.10g, got %.10g'):format(what, i, e, a))
  end
end

-- a bfloat16 result within n ulps of PyTorch's
local function near(got, want, n, what)
  assert.are.equal('torch.BFloat16Tensor', got:type(), what)
  local ok, err = pcall(H.close, got, want, (n or 1) * ULP, 1e-30)
  assert(ok, (what or '') .. ': ' .. tostring(err))
end

describe('bfloat16 pointwise arithmetic (PyTorch: widen, compute, round)', function()
  local x, y, pos = bt(F.x), bt(F.y), bt(F.pos)

  it('add, sub, mul, div, numbers, alpha, addcmul, clamp, square, neg, abs, relu, floor are bit-exact', function()
    local B = F.binary
    exact(x + y, B.add, 'x + y')
    exact(torch.add(x, y), B.add, 'torch.add')
    exact(x - y, B.sub, 'x - y')
    exact(torch.cmul(x, y), B.mul, 'cmul')
    exact(torch.cdiv(x, pos), B.div, 'cdiv')
    exact(x / pos, B.div, 'x / pos')
    exact(x + 0.1, B.add_number, 'x + 0.1')
    exact(x * 3.3, B.mul_number, 'x * 3.3')
    exact(torch.add(x, 0.5, y), B.add_alpha, 'add(x, 0.5, y)')
    exact(torch.addcmul(x, 0.5, y, pos), B.addcmul, 'addcmul')
    exact(torch.clamp(x, -0.5, 0.75), B.clamp, 'clamp')
    local U = F.unary
    for _, name in ipairs({ 'neg', 'abs', 'relu', 'square', 'floor' }) do
      exact(torch[name](x), U[name], name)
    end
    exact(torch.sqrt(pos), U.sqrt, 'sqrt')
    exact(torch.reciprocal(pos), U.reciprocal, 'reciprocal')
  end)

  it('exp, log, tanh, sigmoid, sin and pow are within one bfloat16 ulp', function()
    local U = F.unary
    for _, name in ipairs({ 'exp', 'tanh', 'sigmoid', 'sin' }) do near(torch[name](x), U[name], 1, name) end
    near(torch.log(pos), U.log, 1, 'log')
    near(torch.pow(pos, 2.5), F.binary.pow, 1, 'pow')
  end)

  it('comparisons give ByteTensors; in place and [res,] forms write the bfloat16 tensor', function()
    local gt = torch.gt(x, y)
    assert.are.equal('torch.ByteTensor', gt:type())
    assert.are.same(H.tensor(F.binary.gt):totable(), gt:totable())
    assert.are.same(H.tensor(F.binary.le):totable(), x:le(y):totable())
    local z = x:clone()
    local r = z:add(y)                          -- Torch7: in place, returns self
    assert.are.equal(z, r)
    exact(z, F.binary.add, 'z:add(y)')
    local res = torch.BFloat16Tensor()
    assert.are.equal(res, torch.cmul(res, x, y))
    exact(res, F.binary.mul, '[res,] cmul')
    local e = x:clone():exp()                   -- in place unary
    near(e, F.unary.exp, 1, 'x:exp()')
    local f = torch.BFloat16Tensor(3):fill(2):mul(0.5):add(1 + 2 ^ -8)
    assert.are.same({ 2, 2, 2 }, f:totable())  -- 1 + 1.0039 rounds to 2 (ties to even)
    local u = torch.BFloat16Tensor(1000):uniform(-1, 1)   -- random fills round too
    assert(u:min() >= -1 and u:max() <= 1)
    assert.are.same(u:totable(), u:float():bfloat16():totable())
  end)

  it('a bfloat16 and a float32 operand give float32 (PyTorch type promotion)', function()
    local xf = H.tensor(F.mixed.xf)
    local s = x + xf
    assert.are.equal('torch.FloatTensor', s:type())
    H.close(s, F.mixed.add, 1e-6, 1e-7)
    H.close(torch.cmul(x, xf), F.mixed.mul, 1e-6, 1e-7)
    local inplace = x:clone():add(xf)           -- written into the bfloat16 self: rounded
    assert.are.equal('torch.BFloat16Tensor', inplace:type())
    assert.are.same(H.tensor(F.mixed.add):bfloat16():totable(), inplace:totable())
    assert.are.equal('torch.DoubleTensor', (x + xf:double()):type())
  end)
end)

describe('bfloat16 reductions (float32 accumulation, one rounding)', function()
  local big = bt(F.big)
  local R = F.reduce
  it('sum, mean, max, min, norm, std, var of all elements are bfloat16 values near PyTorch\'s', function()
    local function bf16_value(v) return torch.FloatTensor({ v }):bfloat16()[1] == v end
    for _, name in ipairs({ 'sum', 'mean', 'max', 'min', 'norm', 'std', 'var' }) do
      local v = big[name](big)
      assert(bf16_value(v), name .. ' is not a bfloat16 value: ' .. v)
      H.close(v, R[name], ULP, 1e-6)
    end
    assert.are.equal(R.max.data[1], big:max())    -- exact
    assert.are.equal(R.argmax + 1, big:view(-1):argmax())
  end)

  it('along a dimension: bfloat16 results, indices as LongTensors', function()
    near(big:sum(2), R.sum2, 1, 'sum(2)')
    near(big:mean(2), R.mean2, 1, 'mean(2)')
    near(big:std(2), R.std2, 1, 'std(2)')
    local v, i = big:max(2)
    exact(v, R.max2, 'max(2)')
    assert.are.equal('torch.LongTensor', i:type())
    assert.are.same(H.tensor(R.argmax2):totable(), i:totable())
  end)
end)

describe('bfloat16 matrix products and nn ops', function()
  local B = F.blas
  local a, w, bias, c = bt(B.a), bt(B.w), bt(B.bias), bt(B.c)
  it('mm, addmm, linear, bmm, matmul, the * operator', function()
    -- a 33-term dot product: PyTorch's and our fp32 sums differ in order, so a result may
    -- round to the neighbouring bfloat16
    near(torch.mm(a, w:t()), B.mm, 1, 'mm')
    near(a * w:t(), B.mm, 1, 'a * w:t()')
    near(torch.addmm(c, a, w:t()), B.addmm, 1, 'addmm')
    near(torch.linear(a, w, bias), B.linear, 1, 'linear')
    near(torch.bmm(bt(B.ba), bt(B.bb)), B.bmm, 1, 'bmm')
    near(torch.matmul(bt(B.ba), bt(B.bb)), B.matmul, 1, 'matmul')
  end)

  it('bf16 products leave the autocast switch as they found it, errors included', function()
    -- (where the CPU has bf16 instructions they run as autocast's bf16 matmul: lauxt.c)
    local x = bt(B.a)
    assert.is_false(torch.isAutocastEnabled())
    torch.mm(x, x:t())
    assert.is_false(torch.isAutocastEnabled())
    H.matches(H.error_of(torch.mm, x, x), 'mm', 'size mismatch')
    assert.is_false(torch.isAutocastEnabled())
    torch.autocast('bfloat16', function()
      near(torch.mm(a, w:t()), B.mm, 1, 'mm under autocast')
      assert.is_true(torch.isAutocastEnabled())
    end)
    assert.is_false(torch.isAutocastEnabled())
  end)

  it('softmax, logSoftmax, crossEntropy, NLL and MSE', function()
    local N = F.nn
    local logits, target = bt(N.logits), H.tensor(N.target)
    near(torch.softmax(logits, 2), N.softmax, 1, 'softmax')
    near(logits:logSoftmax(2), N.log_softmax, 1, 'logSoftmax')
    local ce = nn.CrossEntropyCriterion():forward(logits, target)
    H.close(ce, N.cross_entropy, ULP, 0)
    H.close(nn.ClassNLLCriterion():forward(logits:logSoftmax(2), target), N.nll, ULP, 0)
    H.close(nn.MSECriterion():forward(logits, torch.tanh(logits)), N.mse, ULP, 0)
  end)
end)

describe('autograd on bfloat16 tensors', function()
  it('a bfloat16 leaf gets a bfloat16 gradient, as in PyTorch', function()
    local x, y = bt(F.x), bt(F.y)
    x.requiresGrad = true
    local s = torch.cmul(x, y):sum(1):sum(2)    -- through a widened product and reductions
    assert.are.equal('torch.BFloat16Tensor', s:type())
    s:backward()
    exact(x.grad, F.grad.mul, 'x.grad')
    -- used twice: the engine sums the two bfloat16 gradients
    local z = bt(F.x)
    z.requiresGrad = true
    ;(z + z:view(4, 5)):sum():backward()
    assert.are.same(torch.BFloat16Tensor(4, 5):fill(2):totable(), z.grad:totable())
  end)

  it('a bfloat16 nn.Linear\'s gradients match PyTorch\'s', function()
    local G = F.grad
    local lin = nn.Linear(5, 3):bfloat16()
    lin.weight:copy(bt(G.lin_w)); lin.bias:copy(bt(G.lin_b))
    lin:zeroGradParameters()
    local out = lin(bt(G.lin_x))
    torch.pow(out, 2):sum():backward()
    assert.are.equal('torch.BFloat16Tensor', lin.gradWeight:type())
    near(lin.gradWeight, G.lin_gw, 2, 'gradWeight')
    near(lin.gradBias, G.lin_gb, 2, 'gradBias')
  end)

  it('conversions are recorded both ways; in-place writes that would be recorded are refused', function()
    local w = torch.FloatTensor(3):fill(1)
    w.requiresGrad = true
    local y = (w * 2):bfloat16()
    assert.is_true(y.requiresGrad)
    y:float():sum():backward()
    assert.are.same({ 2, 2, 2 }, w.grad:totable())
    local b = torch.BFloat16Tensor(3):fill(1)
    b.requiresGrad = true
    H.matches(H.error_of(function() return b:add(1) end), 'add')
    torch.noGrad(function() b:add(1) end)         -- not recorded: allowed
    assert.are.same({ 2, 2, 2 }, b:totable())
  end)
end)

describe('nn modules in bfloat16', function()
  local T = F.train
  local function mlp()
    local m = nn.Sequential():add(nn.Linear(6, 16)):add(nn.Tanh()):add(nn.Linear(16, 4))
    m:get(1).weight:copy(H.tensor(T.w1)); m:get(1).bias:copy(H.tensor(T.b1))
    m:get(3).weight:copy(H.tensor(T.w2)); m:get(3).bias:copy(H.tensor(T.b2))
    return m
  end

  it(':bfloat16() and :type() convert parameters, gradients and buffers', function()
    local m = mlp():bfloat16()
    for _, p in ipairs(m:parameters()) do assert.are.equal('torch.BFloat16Tensor', p:type()) end
    local _, grads = m:parameters()
    for _, g in ipairs(grads) do assert.are.equal('torch.BFloat16Tensor', g:type()) end
    assert.are.same(H.tensor(T.w1):totable(), m:get(1).weight:totable())   -- bf16-exact values
    local bn = nn.BatchNorm1d(4):type('torch.BFloat16Tensor')
    assert.are.equal('torch.BFloat16Tensor', bn.running_mean:type())
    assert.are.equal('torch.FloatTensor', mlp():bfloat16():float():get(1).weight:type())
    local p, g = m:getParameters()
    assert.are.equal('torch.BFloat16Tensor', p:type())
    assert.are.equal(6 * 16 + 16 + 16 * 4 + 4, g:nElement())
  end)

  it('an MLP trained with optim.SGD follows PyTorch\'s bfloat16 run', function()
    local m = mlp():bfloat16()
    local crit = nn.CrossEntropyCriterion()
    local x, y = bt(T.x), H.tensor(T.y)
    local opt = optim.SGD(m:parameters(), { lr = 0.1, momentum = 0.9 })
    for step = 1, #T.losses do
      opt:zeroGrad()
      local loss = crit(m(x), y)
      assert.are.equal('torch.BFloat16Tensor', loss:type())
      loss:backward()
      opt:step()
      -- PyTorch rounds the momentum update in two steps, we in one: a few ulps by the end
      H.close(loss:item(), T.losses[step], 4 * ULP, 0)
    end
    H.close(m:get(1).weight, T.w1_final, 0.02, 4e-3)
    H.close(m:get(3).weight, T.w2_final, 0.02, 4e-3)
    assert.are.equal('torch.BFloat16Tensor', m:get(1).weight:type())
  end)

  it('Torch7 style: forward, backward, updateParameters in bfloat16', function()
    local m = mlp():bfloat16()
    local crit = nn.CrossEntropyCriterion():bfloat16()
    local x, y = bt(T.x), H.tensor(T.y)
    local first
    for _ = 1, 5 do
      m:zeroGradParameters()
      local out = m:forward(x)
      local loss = crit:forward(out, y)
      first = first or loss
      m:backward(x, crit:backward(out, y))
      assert.are.equal('torch.BFloat16Tensor', m:get(1).gradWeight:type())
      m:updateParameters(0.5)
    end
    assert(crit.output < first, ('loss did not fall: %s -> %s'):format(first, crit.output))
    H.close(first, T.losses[1], 2 * ULP, 0)
  end)

  it('optim.Adam updates bfloat16 parameters (float32 update, rounded back)', function()
    local p = torch.BFloat16Tensor(4):fill(1)
    p.requiresGrad = true
    local opt = optim.Adam({ p }, { lr = 0.1 })
    ;(p * p):sum():backward()
    opt:step()
    assert.are.equal('torch.BFloat16Tensor', p:type())
    -- Adam's first step moves each weight by lr against the gradient's sign: 1 - 0.1 in bf16
    assert.are.same(torch.FloatTensor(4):fill(0.9):bfloat16():totable(), p:totable())
  end)

  it('gradient clipping scales bfloat16 gradients in float32', function()
    local g1, g2 = torch.BFloat16Tensor(3):fill(3), torch.FloatTensor(4):fill(2)
    local total = torch._optim.clipGradNorm({ g1, g2 }, 1)
    H.close(total, math.sqrt(27 + 16), 1e-6, 0)
    assert.are.equal('torch.BFloat16Tensor', g1:type())
    local want = torch.FloatTensor(3):fill(3 / (math.sqrt(43) + 1e-6)):bfloat16()
    assert.are.same(want:totable(), g1:totable())
    H.close(g2, torch.FloatTensor(4):fill(2 / (math.sqrt(43) + 1e-6)), 1e-6, 0)
  end)

  it('nn.LSTM, nn.GRU and nn.RNN refuse bfloat16 with an error naming the module', function()
    for _, ctor in ipairs({ nn.LSTM, nn.GRU, nn.RNN }) do
      local m = ctor(3, 4)
      local msg = H.error_of(function() return m:bfloat16() end)
      H.matches(msg, torch.typename(m), 'BFloat16')
    end
  end)
end)

describe('what bfloat16 still refuses: named errors', function()
  it('a wrong argument names the function as for a float tensor', function()
    local b = torch.BFloat16Tensor(2, 3)
    H.matches(H.error_of(function() return b:add('x') end), "'add'")
    H.matches(H.error_of(function() return torch.mm(b, b) end), 'mm', 'size mismatch')
    H.matches(H.error_of(function() return b + 'x' end), '__add')
  end)
end)
