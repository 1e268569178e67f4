-- The random number generator: Philox4x32-10 known answers (Random123), the documented
-- mapping from Philox blocks to values (an independent Python reference in
-- spec/fixtures/gen_random.py), reproducibility, thread-count independence, RNG state, the
-- samplers' ranges and distributions (generous bounds), and their errors.
local torch = require 'torch'
local H = require 'helpers'

local F = H.fixture('random')

-- Lua-side statistics, so these specs depend on nothing but element access.
local function values(t)
  local v = t:contiguous():view(-1)
  local r = {}
  for i = 1, v:nElement() do r[i] = v[i] end
  return r
end

local function moments(t)
  local v = values(t)
  local n, s, s2 = #v, 0, 0
  for i = 1, n do s = s + v[i] end
  local mean = s / n
  for i = 1, n do s2 = s2 + (v[i] - mean) ^ 2 end
  return mean, s2 / (n - 1), v
end

local function same(a, b) H.close(a, b, 0, 0) end

describe('Philox4x32-10', function()
  it('matches the Random123 known-answer vectors', function()
    for _, k in ipairs(F.kat) do
      local c, key = k.ctr, k.key
      assert.same(k.out, { torch._philox4x32(c[1], c[2], c[3], c[4], key[1], key[2]) })
    end
  end)

  it('maps (seed, counter) to key (lo, hi) and counter (lo, hi, 0, 0)', function()
    for _, b in ipairs(F.blocks) do
      assert.same(b.out, { torch._philox(b.seed, b.counter) })
    end
  end)
end)

describe('draws after manualSeed', function()
  it('follow the documented mapping (independent reference)', function()
    torch.manualSeed(F.seed)
    same(torch.FloatTensor(10):uniform(), torch.DoubleTensor(F.uniform_f32))
    -- 10 float32 uniforms used ceil(10 / 4) = 3 counters
    assert.same({ F.seed, 3 }, torch.getRNGState():totable())
    torch.manualSeed(F.seed)
    same(torch.DoubleTensor(5):uniform(), torch.DoubleTensor(F.uniform_f64))
    torch.manualSeed(F.seed)
    H.close(torch.DoubleTensor(6):normal(), torch.DoubleTensor(F.normal_f64), 1e-13, 1e-13)
    torch.manualSeed(F.seed)
    assert.same(F.random_1_6, torch.LongTensor(8):random(1, 6):totable())
    torch.manualSeed(F.seed)
    assert.same(F.random_big, torch.LongTensor(4):random(-(1 << 62), 1 << 62):totable())
  end)

  it('repeat for the same seed and differ for another', function()
    local function draw()
      return {
        torch.rand(7), torch.randn(3, 5), torch.randperm(20), torch.LongTensor(9):random(100),
        torch.multinomial(torch.Tensor({ 0.2, 0.3, 0.5 }), 12, true),
        torch.DoubleTensor(11):bernoulli(0.4),
      }
    end
    torch.manualSeed(1234)
    local a = draw()
    torch.manualSeed(1234)
    local b = draw()
    for i = 1, #a do same(a[i], b[i]) end
    torch.manualSeed(4321)
    local c = draw()
    assert.is_false(pcall(same, a[1], c[1]))
  end)

  it('fill non-contiguous tensors in logical order', function()
    torch.manualSeed(5)
    local c = torch.DoubleTensor(4, 6):uniform()
    torch.manualSeed(5)
    local t = torch.DoubleTensor(6, 4):t()
    t:uniform()
    same(t, c)
    torch.manualSeed(5)
    local n = torch.DoubleTensor(4, 9):narrow(2, 2, 6)
    n:uniform()
    same(n, c)
  end)

  it('are the same for 1 and 2 threads', function()
    local n0 = torch.getnumthreads()
    local function draw()
      torch.manualSeed(99)
      return {
        torch.FloatTensor(100003):uniform(-2, 3), torch.DoubleTensor(100001):normal(1, 2),
        torch.ByteTensor(70001):bernoulli(0.3), torch.LongTensor(50001):random(-5, 5),
        torch.DoubleTensor(40000):bernoulli(torch.DoubleTensor(40000):fill(0.6)),
        torch.multinomial(torch.Tensor(300, 4):fill(1), 200, true),
      }
    end
    torch.setnumthreads(1)
    local a = draw()
    torch.setnumthreads(2)
    local b = draw()
    torch.setnumthreads(n0)
    for i = 1, #a do same(a[i], b[i]) end
  end)
end)

describe('RNG state', function()
  it('getRNGState/setRNGState replay the same numbers', function()
    torch.manualSeed(77)
    torch.rand(13)
    local st = torch.getRNGState()
    assert.equal('torch.LongTensor', st:type())
    assert.same({ 77, 4 }, st:totable())
    local x = torch.randn(10)
    torch.rand(3)
    torch.setRNGState(st)
    same(torch.randn(10), x)
    assert.matches('setRNGState', H.error_of(torch.setRNGState, torch.LongTensor(3)))
  end)

  it('initialSeed and seed', function()
    torch.manualSeed(123)
    assert.equal(123, torch.initialSeed())
    local s = torch.seed()
    assert.equal('integer', math.type(s))
    assert.is_true(s >= 0)
    assert.equal(s, torch.initialSeed())
    local x = torch.rand(4)
    torch.manualSeed(s)
    same(torch.rand(4), x)
  end)
end)

describe('rand and randn', function()
  it('make tensors of the default type, or fill a given result', function()
    local t = torch.rand(2, 3)
    assert.equal('torch.FloatTensor', t:type())
    assert.same({ 2, 3 }, t:size():totable())
    assert.same({ 4, 5 }, torch.randn(torch.LongStorage({ 4, 5 })):size():totable())
    assert.same({ 4, 5 }, torch.randn({ 4, 5 }):size():totable())
    local res = torch.DoubleTensor()
    assert.equal(res, torch.rand(res, 3, 2))
    assert.same({ 3, 2 }, res:size():totable())
    torch.setdefaulttensortype('torch.DoubleTensor')
    local d = torch.randn(3)
    torch.setdefaulttensortype('torch.FloatTensor')
    assert.equal('torch.DoubleTensor', d:type())
    assert.matches('rand: expected a Float or Double tensor, got torch.LongTensor',
                   H.error_of(torch.rand, torch.LongTensor(), 3), 1, true)
  end)
end)

describe('distributions (100k samples, bounds of several standard errors)', function()
  local N = 100000
  before_each(function() torch.manualSeed(2024) end)

  it('uniform: mean, variance and range', function()
    for _, T in ipairs({ torch.FloatTensor, torch.DoubleTensor }) do
      local mean, var, v = moments(T(N):uniform())
      assert.is_true(math.abs(mean - 0.5) < 5 * math.sqrt(1 / 12 / N))
      assert.is_true(math.abs(var - 1 / 12) < 0.003)
      for i = 1, N do assert(v[i] >= 0 and v[i] < 1) end
      local _, _, w = moments(T(N):uniform(-3, -1))
      for i = 1, N do assert(w[i] >= -3 and w[i] < -1) end
    end
    local _, _, w = moments(torch.FloatTensor(1000):uniform(2, 2))
    for i = 1, 1000 do assert.equal(2, w[i]) end
  end)

  it('normal: mean and variance, also shifted and scaled', function()
    for _, T in ipairs({ torch.FloatTensor, torch.DoubleTensor }) do
      local mean, var = moments(T(N):normal())
      assert.is_true(math.abs(mean) < 5 / math.sqrt(N))
      assert.is_true(math.abs(var - 1) < 5 * math.sqrt(2 / N))
      local m2, v2 = moments(T(N):normal(3, 0.5))
      assert.is_true(math.abs(m2 - 3) < 5 * 0.5 / math.sqrt(N))
      assert.is_true(math.abs(v2 - 0.25) < 5 * 0.25 * math.sqrt(2 / N))
    end
    local mean = moments(torch.randn(N))
    assert.is_true(math.abs(mean) < 5 / math.sqrt(N))
  end)

  it('bernoulli: rate for a number and for a tensor of probabilities', function()
    for _, T in ipairs({ torch.FloatTensor, torch.DoubleTensor, torch.LongTensor,
                         torch.ByteTensor }) do
      local mean, _, v = moments(T(N):bernoulli(0.3))
      assert.is_true(math.abs(mean - 0.3) < 5 * math.sqrt(0.21 / N))
      for i = 1, N do assert(v[i] == 0 or v[i] == 1) end
    end
    local mean = moments(torch.FloatTensor(N):bernoulli())
    assert.is_true(math.abs(mean - 0.5) < 5 * math.sqrt(0.25 / N))
    local p = torch.DoubleTensor(3, 20000)
    p[1]:fill(0)
    p[2]:fill(1)
    p[3]:fill(0.25)
    local b = torch.FloatTensor(3, 20000):bernoulli(p)
    assert.equal(0, (moments(b[1])))
    assert.equal(1, (moments(b[2])))
    assert.is_true(math.abs(moments(b[3]) - 0.25) < 5 * math.sqrt(0.1875 / 20000))
    -- probabilities broadcast along leading dims
    local row = torch.FloatTensor({ 0, 1 })
    assert.same({ { 0, 1 }, { 0, 1 } }, torch.LongTensor(2, 2):bernoulli(row):totable())
  end)

  it('random: inclusive ranges, every value reached, uniform counts', function()
    local v = values(torch.LongTensor(60000):random(1, 6))
    local count = {}
    for i = 1, #v do count[v[i]] = (count[v[i]] or 0) + 1 end
    for k = 1, 6 do assert.is_true(math.abs(count[k] / 60000 - 1 / 6) < 0.01) end
    for k, _ in pairs(count) do assert(k >= 1 and k <= 6) end
    local r3 = values(torch.DoubleTensor(1000):random(3))
    local seen = {}
    for i = 1, #r3 do seen[r3[i]] = true end
    assert.same({ [1] = true, [2] = true, [3] = true }, seen)
    local rn = values(torch.LongTensor(1000):random(-2, 2))
    local lo, hi = math.huge, -math.huge
    for i = 1, #rn do lo, hi = math.min(lo, rn[i]), math.max(hi, rn[i]) end
    assert.same({ -2, 2 }, { lo, hi })
    local b = values(torch.ByteTensor(2000):random())
    lo, hi = math.huge, -math.huge
    for i = 1, #b do lo, hi = math.min(lo, b[i]), math.max(hi, b[i]) end
    assert.same({ 0, 255 }, { lo, hi })
    local x = torch.random(10)
    assert.is_true(math.type(x) == 'integer' and x >= 1 and x <= 10)
    local u = torch.uniform(5, 6)
    assert.is_true(u >= 5 and u < 6)
    assert.equal('number', type(torch.normal()))
    local bit = torch.bernoulli(1)
    assert.equal(1, bit)
    assert.same({ 7, 7, 7 }, torch.LongTensor(3):random(7, 7):totable())
  end)

  it('randperm is a permutation of 1..n', function()
    local p = torch.randperm(1000)
    assert.equal('torch.LongTensor', p:type())
    local v = values(p)
    table.sort(v)
    for i = 1, 1000 do assert.equal(i, v[i]) end
    assert.equal(0, torch.randperm(0):nElement())
    assert.same({ 1 }, torch.randperm(1):totable())
    local res = torch.LongTensor()
    assert.equal(res, torch.randperm(res, 5))
    assert.equal(5, res:nElement())
  end)

  it('multinomial with replacement follows the probabilities (unnormalised too)', function()
    for _, probs in ipairs({ torch.Tensor({ 0.1, 0.2, 0, 0.7 }),
                             torch.DoubleTensor({ 1, 2, 0, 7 }) }) do
      local s = torch.multinomial(probs, N, true)
      assert.equal('torch.LongTensor', s:type())
      local count = { 0, 0, 0, 0 }
      local v = values(s)
      for i = 1, N do count[v[i]] = count[v[i]] + 1 end
      assert.equal(0, count[3])
      for k, p in ipairs({ 0.1, 0.2, 0, 0.7 }) do
        assert.is_true(math.abs(count[k] / N - p) < 0.01)
      end
    end
  end)

  it('multinomial without replacement gives distinct indices, first draw ~ probs', function()
    local probs = torch.Tensor({ 0.1, 0.2, 0, 0.7 })
    for _ = 1, 50 do
      local v = values(torch.multinomial(probs, 3))
      table.sort(v)
      assert.same({ 1, 2, 4 }, v)
    end
    local rows = torch.Tensor(20000, 3)
    for i = 1, 20000 do rows[i][1], rows[i][2], rows[i][3] = 0.1, 0.2, 0.7 end
    local s = torch.multinomial(rows, 2)
    assert.same({ 20000, 2 }, s:size():totable())
    local first = { 0, 0, 0 }
    for i = 1, 20000 do
      local a, b = s[i][1], s[i][2]
      assert(a ~= b)
      first[a] = first[a] + 1
    end
    for k, p in ipairs({ 0.1, 0.2, 0.7 }) do
      assert.is_true(math.abs(first[k] / 20000 - p) < 0.015)
    end
    assert.same({ 1 }, probs:multinomial(1, false):size():totable())
  end)
end)

describe('sampler errors', function()
  it('name the function and the problem', function()
    assert.matches('uniform: expected a Float or Double tensor, got torch.LongTensor',
                   H.error_of(function() torch.LongTensor(3):uniform() end), 1, true)
    assert.matches('uniform: expected a finite range',
                   H.error_of(function() torch.FloatTensor(3):uniform(1, 0) end))
    assert.matches('normal: expected a finite mean and std >= 0',
                   H.error_of(function() torch.FloatTensor(3):normal(0, -1) end))
    assert.matches('bernoulli: expected a probability in %[0, 1%]',
                   H.error_of(function() torch.FloatTensor(3):bernoulli(1.5) end))
    assert.matches('bernoulli: expected probabilities in %[0, 1%]',
                   H.error_of(function()
                     torch.FloatTensor(3):bernoulli(torch.FloatTensor({ 0.5, 2, 0 }))
                   end))
    assert.matches('random: expected a range %[a, b%] with a <= b',
                   H.error_of(function() torch.LongTensor(3):random(5, 1) end))
    assert.matches('random: range %[0, 300%] does not fit a torch.ByteTensor',
                   H.error_of(function() torch.ByteTensor(3):random(0, 300) end))
    assert.matches('cannot write into an expanded tensor',
                   H.error_of(function() torch.FloatTensor(1, 3):expand(4, 3):uniform() end))
    assert.matches('randperm', H.error_of(torch.randperm, -1))
  end)

  it('multinomial rejects bad distributions', function()
    assert.matches('multinomial: invalid multinomial distribution: row 1 has a negative',
                   H.error_of(torch.multinomial, torch.Tensor({ 0.5, -0.1 }), 1))
    assert.matches('multinomial: invalid multinomial distribution: row 2 sums to 0',
                   H.error_of(torch.multinomial, torch.Tensor({ { 1, 1 }, { 0, 0 } }), 1))
    assert.matches('multinomial: cannot draw 3 samples from 2 categories without replacement',
                   H.error_of(torch.multinomial, torch.Tensor({ 1, 1 }), 3), 1, true)
    assert.matches('row 1 has 1 non%-zero categories',
                   H.error_of(torch.multinomial, torch.Tensor({ 1, 0 }), 2))
    assert.matches('multinomial: expected probabilities in a Float or Double tensor',
                   H.error_of(torch.multinomial, torch.LongTensor({ 1, 1 }), 1))
    assert.matches('multinomial: expected a positive number of samples',
                   H.error_of(torch.multinomial, torch.Tensor({ 1, 1 }), 0))
  end)
end)
