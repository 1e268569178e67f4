-- Issue 15's mistakes that used to train the wrong model silently, or gave advice that did not
-- fit: options tables checked by name (PyTorch's spellings mapped, unsupported options
-- refused), class targets that must hold whole numbers, optim's learning-rate rules,
-- clearState() before saving, and the advice when backward runs twice.
local torch = require 'torch'
local nn = require 'nn'
local optim = require 'optim'
local H = require 'helpers'

local err = H.error_of
local function plain(s) return (s:gsub('%p', '%%%0')) end
local function has(msg, s) assert.matches(plain(s), msg) end

describe('options tables are checked by name', function()
  it("nn.LSTM: PyTorch's batch_first is an error naming batchFirst; projSize is refused", function()
    local msg = err(function() local m = nn.LSTM(28, 128, 1, { batch_first = true }); return m end)
    has(msg, "nn.LSTM: unknown option 'batch_first' (did you mean 'batchFirst'?); accepted: "
             .. 'batchFirst, bias, bidirectional, dropout, projSize, returnState, stateful')
    assert.matches('41%-mistakes_spec%.lua:%d+:', msg)   -- blamed on the caller's line
    -- bidirectional works now (spec 44)
    assert.is_true(nn.LSTM(28, 128, { bidirectional = true }).bidirectional)
    has(err(function() return nn.LSTM(4, 3, 1, { projSize = 2 }) end),
        "nn.LSTM: option 'projSize' is not supported yet")
    has(err(function() return nn.LSTM(4, 3, 1, { [1] = true }) end),
        "nn.LSTM: unknown option '1' (options are given by name, as {name = value})")
    has(err(function() return nn.LSTM(4, 3, 1, 'batchFirst') end),
        'nn.LSTM: options must be a table, got string')
    -- the defaults of unsupported options, and the real ones, are accepted
    local m = nn.LSTM(4, 3, 1, { batchFirst = true, bidirectional = false, projSize = 0 })
    assert.is_true(m.batchFirst)
    assert.same({ 2, 5, 3 }, m:forward(torch.randn(2, 5, 4)):size():totable())
  end)

  it("nn.Linear and nn.LSTMCell take {bias = false} (PyTorch's keyword), checked by name", function()
    assert.is_nil(nn.Linear(3, 2, { bias = false }).bias)
    assert.is_not_nil(nn.Linear(3, 2, {}).bias)
    assert.is_nil(nn.LSTMCell(3, 2, { bias = false }).bias_ih)
    has(err(function() local m = nn.Linear(3, 2, { bais = false }); return m end),
        "nn.Linear: unknown option 'bais'; accepted: bias")
    has(err(function() local m = nn.LSTMCell(3, 2, { use_bias = false }); return m end),
        "nn.LSTMCell: unknown option 'use_bias'; accepted: bias")
  end)

  it('optim objects: unknown names, the other API\'s names, the gradients passed as options', function()
    local p = nn.Linear(3, 2):parameters()
    has(err(optim.SGD, p, { lr = 0.1, weight_decay = 1e-4 }),
        "optim.SGD: unknown option 'weight_decay' (did you mean 'weightDecay'?)")
    has(err(optim.SGD, p, { learningRate = 0.1 }),
        "optim.SGD: unknown option 'learningRate' (did you mean 'lr'?); accepted: dampening, lr, momentum, nesterov, weightDecay")
    has(err(optim.Adam, p, { lr = 0.1, epsilon = 1e-6 }), "optim.Adam: unknown option 'epsilon' (did you mean 'eps'?)")
    has(err(optim.Adagrad, p, { learningRateDecay = 0.1 }), "optim.Adagrad: unknown option 'learningRateDecay' (did you mean 'lrDecay'?)")
    -- model:parameters() returns the gradients second: optim.SGD(m:parameters()) is a missing lr
    local m = nn.Linear(3, 2)
    local msg = err(function() return optim.SGD(m:parameters()) end)
    has(msg, "optim.SGD: option 'lr' is required")
    assert.is_nil(msg:find("unknown option '1'", 1, true))
  end)

  it("the functional optimisers check their config, and accept the state they keep in it", function()
    local x = torch.Tensor({ 1, 2 })
    local function feval() return 0, torch.Tensor({ 1, 1 }) end
    has(err(optim.sgd, feval, x, { lr = 0.1 }),
        "optim.sgd: unknown option 'lr' (did you mean 'learningRate'?); accepted: dampening, learningRate, learningRateDecay, momentum, nesterov, weightDecay")
    has(err(optim.adam, feval, x, { eps = 1e-6 }), "optim.adam: unknown option 'eps' (did you mean 'epsilon'?)")
    has(err(optim.rmsprop, feval, x, { learningrate = 0.1 }), "optim.rmsprop: unknown option 'learningrate'")
    -- config doubles as the state: a second call sees its own evalCounter and momentum buffer
    local config = { learningRate = 0.5, momentum = 0.5 }
    optim.sgd(feval, x, config)
    optim.sgd(feval, x, config)
    assert.equal(2, config.evalCounter)
    -- step 1: buf = g = 1, x - 0.5; step 2: buf = 0.5 * 1 + (1 - 0.5) * 1 = 1 (Torch7's
    -- dampening is the momentum), x - 0.5 again
    assert.same({ 1 - 0.5 - 0.5 * 1, 2 - 0.5 - 0.5 * 1 }, x:totable())
    local adam, w = { learningRate = 0.1 }, torch.Tensor({ 1 })
    optim.adam(function() return 0, torch.Tensor({ 1 }) end, w, adam)
    optim.adam(function() return 0, torch.Tensor({ 1 }) end, w, adam)
    assert.equal(2, adam.t)
  end)

  it('criterions take one options table, checked by name', function()
    local x = torch.Tensor({ { 1, 2, 3 }, { 0, 0, 1 } })
    local y = torch.LongTensor({ 3, 1 })
    -- log-softmax by hand: row 1 log(e + e^2 + e^3) - 3, row 2 log(2 + e) - 0
    local l1 = math.log(math.exp(1) + math.exp(2) + math.exp(3)) - 3
    local l2 = math.log(2 + math.exp(1))
    assert.near(l1 + l2, nn.CrossEntropyCriterion({ reduction = 'sum' }):forward(x, y), 1e-5)
    assert.near((l1 + l2) / 2, nn.CrossEntropyCriterion({}):forward(x, y), 1e-5)
    assert.near(l1, nn.CrossEntropyCriterion({ ignoreIndex = 1 }):forward(x, y), 1e-5)
    -- weighted mean: (w[3] l1 + w[1] l2) / (w[3] + w[1])
    assert.near((0.5 * l1 + 2 * l2) / 2.5,
                nn.CrossEntropyCriterion({ weights = torch.Tensor({ 2, 1, 0.5 }) }):forward(x, y), 1e-5)
    has(err(function() return nn.CrossEntropyCriterion({ ignore_index = 1 }) end),
        "nn.CrossEntropyCriterion: unknown option 'ignore_index' (did you mean 'ignoreIndex'?); accepted: ignoreIndex, labelSmoothing, reduction, sizeAverage, weights")
    has(err(function() return nn.ClassNLLCriterion({ weight = torch.ones(3) }) end),
        "nn.ClassNLLCriterion: unknown option 'weight' (did you mean 'weights'?)")
    has(err(function() return nn.CrossEntropyCriterion({ labelSmoothing = 0.1 }) end),
        "nn.CrossEntropyCriterion: option 'labelSmoothing' is not supported yet")
    has(err(function() return nn.CrossEntropyCriterion({ reduction = 'none' }) end),
        "nn.CrossEntropyCriterion: reduction = 'none' is not supported yet")
    has(err(function() return nn.MSECriterion({ reduction = 'avg' }) end),
        "nn.MSECriterion: reduction must be 'mean' or 'sum', got avg")
    has(err(function() return nn.BCECriterion({ size_average = false }) end),
        "nn.BCECriterion: unknown option 'size_average' (did you mean 'sizeAverage'?)")
    local a, b = torch.Tensor({ 1, 2 }), torch.Tensor({ 0, 0 })
    assert.equal(5, nn.MSECriterion({ reduction = 'sum' }):forward(a, b))
    assert.equal(2.5, nn.MSECriterion({ sizeAverage = true }):forward(a, b))
  end)
end)

describe('the utilities that take options check them too', function()
  it('torch.gradcheck, torch.ProgressBar, datasets.download.fetch', function()
    local x = torch.randn(3):double()
    x.requiresGrad = true
    has(err(torch.gradcheck, function(a) return a * 2 end, { x }, { epsilon = 1e-3 }),
        "torch.gradcheck: unknown option 'epsilon' (did you mean 'eps'?); accepted: atol, eps, rtol")
    assert.is_true(torch.gradcheck(function(a) return a * 2 end, { x }, { eps = 1e-4 }))
    has(err(torch.ProgressBar, 10, { TTY = false }),
        "torch.ProgressBar: unknown option 'TTY'; accepted: done, out, stream, tty, width")
    has(err(torch.ProgressBar, 2.5), "bad argument #1 to 'ProgressBar' (integer expected, got 2.5)")
    local fetch = require('datasets.download').fetch
    has(err(fetch, { root = '/nonexistent', resource = 'mnist', mirror = 'http://127.0.0.1:9/' }),
        "datasets.download.fetch: unknown option 'mirror'; accepted: connectTimeout, files, lowSpeedLimit")
  end)
end)

describe('class targets hold whole numbers', function()
  local x = torch.Tensor({ { 1, 2, 3 }, { 0, 0, 1 } })
  local l1 = math.log(math.exp(1) + math.exp(2) + math.exp(3)) - 1   -- class 1 of row 1
  local l2 = math.log(2 + math.exp(1))                               -- class 2 of row 2 (a 0)

  it('a Float or Double target of 1.5 or 2.7 is an error, not class 1 or 2', function()
    for _, make in ipairs({ function() return nn.CrossEntropyCriterion() end,
                            function() return nn.ClassNLLCriterion() end }) do
      for _, ctor in ipairs({ torch.FloatTensor, torch.DoubleTensor }) do
        local c = make()
        local msg = err(function() return c:forward(x, ctor({ 1.5, 2.7 })) end)
        has(msg, ('%s: class targets must be whole numbers, got 1.5 at position 1 of a %s target')
                 :format(torch.typename(c), torch.typename(ctor({ 1 }))))
        has(err(function() return c(x, ctor({ 1, 2.7 })) end), 'got 2.7 at position 2')
        assert.matches('got %-?nan at position 2', err(function() return c:forward(x, ctor({ 1, 0 / 0 })) end))
        has(err(function() return c:forward(x, ctor({ 1, math.huge })) end), 'got inf at position 2')
        has(err(function() return c:forward(x[1], 1.5) end),
            torch.typename(c) .. ': the target class must be a whole number, got 1.5')
      end
    end
    -- the functions take LongTensors only, so nothing is truncated there either
    has(err(torch.crossEntropy, x, torch.FloatTensor({ 1.5, 2 })), 'the target must be a LongTensor')
  end)

  it('integral Float and Double targets (and numbers like 2.0) still work', function()
    for _, ctor in ipairs({ torch.FloatTensor, torch.DoubleTensor, torch.LongTensor }) do
      assert.near((l1 + l2) / 2, nn.CrossEntropyCriterion():forward(x, ctor({ 1, 2 })), 1e-5)
      local logp = torch.logSoftmax(x, 2)
      assert.near((l1 + l2) / 2, nn.ClassNLLCriterion():forward(logp, ctor({ 1, 2 })), 1e-5)
    end
    assert.near(l1, nn.CrossEntropyCriterion():forward(x[1], 1.0), 1e-5)
  end)
end)

describe("optim's learning rates", function()
  local function one_step(make)
    local p = torch.Tensor({ 1, -1 })
    p.requiresGrad = true
    p.grad = torch.Tensor({ 2, -4 })
    make({ p }):step()
    return torch.Tensor({ 1, -1 }):add(-1, p:detach()):totable()   -- the step taken
  end

  it('optim.SGD needs lr (PyTorch); the other objects have PyTorch\'s defaults', function()
    local p = torch.ones(2)
    has(err(optim.SGD, { p }), "optim.SGD: option 'lr' is required")
    has(err(optim.SGD, { p }, {}), "optim.SGD: option 'lr' is required")
    has(err(optim.SGD, { p }, { momentum = 0.9 }), "optim.SGD: option 'lr' is required")
    -- first steps by hand: Adam moves lr * g/|g|, RMSprop lr * g / sqrt(0.01 g^2) = 10 lr,
    -- Adagrad lr * g/|g| (eps negligible)
    local function near(expected, got)
      for i = 1, #expected do assert.near(expected[i], got[i], 1e-6 * 10) end
    end
    near({ 1e-3, -1e-3 }, one_step(function(ps) return optim.Adam(ps) end))
    near({ 0.1, -0.1 }, one_step(function(ps) return optim.RMSprop(ps) end))
    near({ 1e-2, -1e-2 }, one_step(function(ps) return optim.Adagrad(ps) end))
    near({ 0.2, -0.4 }, one_step(function(ps) return optim.SGD(ps, { lr = 0.1 }) end))
  end)

  it('hyper-parameters out of range are refused where they are given, as PyTorch does', function()
    local p = torch.ones(2)
    local function refused(msg, f)
      local e = err(f)
      has(e, msg)
      assert.matches('41%-mistakes_spec%.lua:%d+:', e)   -- the caller's line, not the kernel's
    end
    refused('optim.SGD: invalid lr -1 (must be >= 0)', function() local o = optim.SGD({ p }, { lr = -1 }); return o end)
    refused('optim.SGD: invalid momentum -0.5', function() local o = optim.SGD({ p }, { lr = 1, momentum = -0.5 }); return o end)
    refused('optim.AdamW: invalid weightDecay -1', function() local o = optim.AdamW({ p }, { weightDecay = -1 }); return o end)
    refused('optim.Adam: invalid eps -1', function() local o = optim.Adam({ p }, { eps = -1 }); return o end)
    refused('optim.Adam: invalid betas[1] 1.5', function() local o = optim.Adam({ p }, { betas = { 1.5, 0.9 } }); return o end)
    refused('optim.Adam: param group 1: invalid betas[2] nil', function()
      local o = optim.Adam({ { params = { p }, betas = { 0.9 } } }); return o end)
    refused('optim.RMSprop: invalid alpha -1', function() local o = optim.RMSprop({ p }, { alpha = -1 }); return o end)
    refused('optim.SGD (addParamGroup): invalid lr -2', function()
      local o = optim.SGD({ p }, { lr = 1 }); o:addParamGroup({ params = { torch.ones(1) }, lr = -2 }); return o end)
    local nan = err(function() local o = optim.Adam({ p }, { lr = 0 / 0 }); return o end)
    has(nan, 'optim.Adam: invalid lr')
    -- the edges are accepted
    assert.truthy(optim.SGD({ p }, { lr = 0, momentum = 0 }))
    assert.truthy(optim.Adam({ p }, { betas = { 0, 0.999 }, eps = 0 }))
  end)

  it("the functional optim.sgd keeps Torch7's default learningRate 1e-3", function()
    local x = torch.DoubleTensor({ 1, -1 })
    optim.sgd(function() return 0, torch.DoubleTensor({ 2, -4 }) end, x)
    assert.near(1 - 2e-3, x[1], 1e-12)
    assert.near(-1 + 4e-3, x[2], 1e-12)
  end)
end)

describe('clearState', function()
  local function file_size(path)
    local f = assert(io.open(path, 'rb'))
    local n = f:seek('end')
    f:close()
    return n
  end

  it('a trained seed model saves within 10% of its parameter and gradient bytes', function()
    torch.manualSeed(1)
    local model = nn.Sequential()
      :add(nn.LSTM(28, 128, 1, { batchFirst = true }))
      :add(nn.Select(2, -1))
      :add(nn.Dropout(0.1))
      :add(nn.Linear(128, 10))
    local crit = nn.CrossEntropyCriterion()
    local opt = optim.SGD(model:parameters(), { lr = 0.1 })
    local x, y = torch.randn(100, 28, 28), torch.LongTensor(100):random(1, 10)
    for _ = 1, 2 do   -- PyTorch's loop
      opt:zeroGrad()
      crit(model(x), y):backward()
      opt:step()
    end
    local out = model:forward(x)   -- and Torch7's
    crit:forward(out, y)
    model:backward(x, crit:backward(out, y))
    local bytes = 0
    local params, grads = model:parameters()
    for i = 1, #params do bytes = bytes + 4 * (params[i]:nElement() + grads[i]:nElement()) end
    local dir = H.mktempdir()
    torch.save(dir .. '/before.t7', model)
    local before = file_size(dir .. '/before.t7')
    assert.is_true(before > 1.1 * bytes, ('the state was small already: %d for %d'):format(before, bytes))
    model:clearState()
    crit:clearState()
    assert.is_nil(model:get(1).state)
    assert.is_nil(model:get(3).noise)
    torch.save(dir .. '/after.t7', model)
    local after = file_size(dir .. '/after.t7')
    assert.is_true(after <= 1.1 * bytes, ('saved %d bytes for %d bytes of parameters and gradients')
                                          :format(after, bytes))
    -- and the model still trains after it, in both styles
    local loaded = torch.load(dir .. '/after.t7')
    H.rmtree(dir)
    for _, m in ipairs({ model, loaded }) do
      local o = m:forward(x)
      crit:forward(o, y)
      m:backward(x, crit:backward(o, y))
      assert.same({ 100, 10 }, m(x):size():totable())
    end
  end)
end)

describe('backward twice after one forward', function()
  it("Torch7's m:backward: call m:forward again (m:backward takes no retainGraph)", function()
    local x, g = torch.randn(4, 3), torch.ones(4, 2)
    for _, m in ipairs({ nn.Linear(3, 2), nn.Sequential():add(nn.Linear(3, 2)):add(nn.Tanh()) }) do
      m:forward(x)
      m:backward(x, g)
      local msg = err(m.backward, m, x, g)
      has(msg, 'backward was already called after the last forward')
      has(msg, 'call m:forward(input) again before each m:backward(input, gradOutput)')
      assert.is_nil(msg:find('retainGraph', 1, true))
      m:forward(x)                                   -- the advice works
      assert.same({ 4, 3 }, m:backward(x, g):size():totable())
    end
    local lstm = nn.LSTM(3, 4)
    local s = torch.randn(5, 2, 3)
    lstm:forward(s)
    lstm:backward(s, torch.ones(5, 2, 4))
    has(err(lstm.backward, lstm, s, torch.ones(5, 2, 4)), 'nn.LSTM: backward was already called')
  end)

  it("PyTorch's loss:backward() twice keeps the retainGraph advice", function()
    local m = nn.Linear(3, 2)
    local loss = m(torch.randn(4, 3)):sum()
    loss:backward()
    has(err(loss.backward, loss), 'the graph was freed by an earlier backward (pass retainGraph = true')
  end)

  it('the advice works in both forms: backward(nil, true) and backward{retainGraph = true}', function()
    local x = torch.Tensor({ 1, 2 })
    x.requiresGrad = true
    local loss = torch.cmul(x, x):sum()
    loss:backward({ retainGraph = true })               -- PyTorch's keyword, as a table
    loss:backward(nil, true)                             -- Torch-style positional flag
    loss:backward(torch.Tensor({ 1 }):view(1):squeeze(), { retainGraph = false })
    assert.same({ 6, 12 }, x.grad:totable())             -- three passes of 2x
    has(err(loss.backward, loss), 'the graph was freed by an earlier backward')
    local again = torch.cmul(x, x):sum()
    has(err(again.backward, again, { retain_graph = true }),
        'backward: unknown option retain_graph (accepted: retainGraph)')
  end)
end)

describe('lookup indices', function()
  it('a fraction in a float index tensor is an error, not truncated into another row', function()
    local nn = require 'nn'
    local m = nn.LookupTable(5, 2)
    local ok, err = pcall(m.forward, m, torch.Tensor({ 1, 2.5 }))
    assert.is_false(ok)
    assert.matches('nn.LookupTable: indices must be whole numbers, got 2.5 at position 2 of a torch.FloatTensor', err, 1, true)
    -- whole numbers in a float tensor still pick their rows
    local out = m:forward(torch.Tensor({ 3, 1 }))
    assert.same(m.weight[3]:totable(), out[1]:totable())
    assert.same(m.weight[1]:totable(), out[2]:totable())
  end)
end)

describe('int64 values beyond 2^53 (ids, nanosecond timestamps) are never rounded silently', function()
  -- Lua's own integer arithmetic is the reference: a double holds integers exactly only up
  -- to 2^53, and B is one more than a multiple of 2^8 above 2^60
  local B = (1 << 60) + 1
  local x = torch.LongTensor({ B, 5, -3 })

  it('sum, prod, max and min over all elements are exact Lua integers', function()
    assert.equal(B + 2, x:sum())
    assert.equal(B, x:max())
    assert.equal(-3, x:min())
    assert.equal(B * 5 * -3, x:prod())                          -- wraps as int64 does
    assert.equal(math.mininteger, torch.LongTensor({ math.maxinteger, 1 }):sum())
    assert.equal('integer', math.type(torch.ByteTensor({ 200, 100 }):sum()))
    assert.equal(300, torch.ByteTensor({ 200, 100 }):sum())
    assert.equal(1.5, torch.LongTensor({ 1, 2 }):mean())       -- the mean is a float
  end)

  it('printing shows every digit', function()
    local s = tostring(x)
    assert.truthy(s:find(tostring(B), 1, true), s)
    assert.truthy(s:find(' 5\n', 1, true), s)
  end)

  it('clamp takes such a bound exactly (and math.maxinteger as no bound)', function()
    assert.same({ B - 1, 5, 0 }, torch.clamp(x, 0, B - 1):totable())
    assert.same({ B, 5, 0 }, torch.clamp(x, 0, math.maxinteger):totable())
    assert.same({ B + 1, B + 1, B + 1 }, torch.clamp(x, B + 1):totable())
    assert.same({ B, 5, 3 }, torch.clamp(x, 2.5, B):totable())  -- a fraction as usual: ceil
    local y = x:clone()
    y:clamp(-1, B - 2)
    assert.same({ B - 2, 5, -1 }, y:totable())
  end)

  it('the fill-like ops refuse such a value instead of rounding it', function()
    local function refused(what, f)
      local msg = err(f)
      assert.matches(what .. ': the value ' .. (B + 2) .. ' is beyond 2%^53', msg)
    end
    local mask = torch.ByteTensor({ 1, 0, 1 })
    refused('maskedFill', function() return x:clone():maskedFill(mask, B + 2) end)
    refused('newindex', function() local y = x:clone(); y[mask] = B + 2 end)
    refused('indexFill', function() return x:clone():indexFill(1, torch.LongTensor({ 1 }), B + 2) end)
    refused('scatter', function() return x:clone():scatter(1, torch.LongTensor({ 2 }), B + 2) end)
    -- values a double holds still work, and the exact forms named in the message do
    assert.same({ 1 << 53, 5, 1 << 53 }, x:clone():maskedFill(mask, 1 << 53):totable())
    assert.same({ B + 2, 5, B + 2 }, torch.where(mask, B + 2, x):totable())
    assert.same({ B + 2, B + 2 }, torch.LongTensor(2):fill(B + 2):totable())
  end)
end)

describe('nn.BCECriterion takes probabilities', function()
  it('logits (values outside [0, 1]) or NaN are refused, naming BCEWithLogitsCriterion', function()
    local t = torch.Tensor({ 1, 0, 1 })
    has(err(function() local l = nn.BCECriterion()(torch.Tensor({ 2.5, -1, 0.3 }), t); return l end),
        'nn.BCECriterion: input must hold probabilities in [0, 1], got values in [-1, 2.5] '
        .. '(for logits use nn.BCEWithLogitsCriterion)')
    has(err(function() local l = nn.BCECriterion()(torch.Tensor({ 0 / 0, 0.5, 0.5 }), t); return l end),
        'nn.BCECriterion: input must hold probabilities in [0, 1]')
    -- the ends are probabilities (the logs are clamped at -100, as PyTorch's)
    assert.near(200 / 3, nn.BCECriterion()(torch.Tensor({ 0, 1, 1 }), torch.Tensor({ 1, 0, 1 })):item(), 1e-4)
  end)
end)

describe('elementwise criterions pair input and target elements only in one order', function()
  local CRITS = { 'MSECriterion', 'AbsCriterion', 'SmoothL1Criterion', 'BCECriterion',
                  'DistKLDivCriterion', 'SoftMarginCriterion', 'BCEWithLogitsCriterion' }
  it('[4 x 3] against [3 x 4] is refused (Torch7 paired them in storage order)', function()
    for _, name in ipairs(CRITS) do
      local msg = err(function() return nn[name]()(torch.rand(4, 3), torch.rand(3, 4)) end)
      has(msg, 'nn.' .. name .. ': input [4 x 3] and target [3 x 4] differ in size (as many elements')
    end
  end)

  it('shapes equal once size-1 dims are dropped pair in order: [N x 1] with [N] or [1 x N]', function()
    local input, target = torch.rand(4, 1), torch.rand(4)
    for _, name in ipairs(CRITS) do
      local c = nn[name]()
      local want = c:forward(input, target:view(4, 1))
      assert.equal(want, c:forward(input, target), name)
      assert.equal(want, c:forward(input, target:view(1, 4)), name)
    end
    -- the value is the paired one, not PyTorch's broadcast [4 x 4] mean (by hand for MSE)
    local d, s = input:view(4) - target, 0
    for i = 1, 4 do s = s + d[i] * d[i] end
    assert.near(s / 4, nn.MSECriterion():forward(input, target), 1e-6)
  end)
end)
