-- examples/char_rnn.lua end to end on a small text written here (a repetitive English
-- sentence, so a few hundred steps learn it): the validation bits per character fall well below
-- the uniform code's log2(vocabulary) for each recurrent layer, a checkpoint resumes and samples,
-- and bad options or a missing text are clear messages. No timing assertions.
local exe = os.getenv('LUATORCH_EXE') or './build/luatorch'
local here = debug.getinfo(1, 'S').source:match('^@(.*/)') or './'
local script = here .. '../examples/char_rnn.lua'

local function sh(cmd)
  local p = io.popen(cmd .. ' 2>&1')
  local out = p:read('a')
  local _, _, status = p:close()
  return out, status
end

local dir = os.tmpname()
os.remove(dir)
os.execute('mkdir -p ' .. dir)
local text = dir .. '/text.txt'
do
  local f = assert(io.open(text, 'w'))
  for i = 1, 300 do f:write(('the quick brown fox jumps over the lazy dog %d times.\n'):format(i % 10)) end
  f:close()
end

local function train(args)
  return sh(('%s %s --data %s --threads 1 --quiet --hidden 32 --layers 1 --seqLength 20 --batch 8 %s')
            :format(exe, script, text, args))
end

local function bpcs(out)
  local r = {}
  for v in out:gmatch('validation ([%d.]+) bits per character') do r[#r + 1] = tonumber(v) end
  return r
end

describe('examples/char_rnn.lua', function()
  for _, model in ipairs({ 'lstm', 'gru', 'rnn' }) do
    it(model .. ': the validation bits per character fall far below the uniform code', function()
      local out, status = train(('--model %s --iters 300 --evalEvery 100 --lr 1e-2 --sample 40'):format(model))
      assert.equal(0, status, out)
      local vocab = tonumber(out:match('vocabulary (%d+)'))
      local b = bpcs(out)
      assert.equal(3, #b, out)
      assert.is_true(b[3] < b[1], out)
      assert.is_true(b[3] < 0.5 * math.log(vocab, 2), out)   -- uniform: log2(V) bits
      assert.matches('%-%-%-%- sample', out)
    end)
  end

  it('resumes from its checkpoint and samples from it with priming text', function()
    local ckpt = dir .. '/cr.t7'
    local out, status = train(('--iters 100 --evalEvery 50 --lr 1e-2 --sample 0 --checkpoint %s'):format(ckpt))
    assert.equal(0, status, out)
    out, status = train(('--iters 200 --evalEvery 50 --lr 1e-2 --sample 0 --checkpoint %s --resume'):format(ckpt))
    assert.equal(0, status, out)
    local b = bpcs(out)
    assert.equal(2, #b, out)   -- steps 150 and 200: the run went on from step 100
    assert.matches('step 150', out)
    out, status = sh(('%s %s --checkpoint %s --sampleOnly --prime "the quick" --sample 30 --temperature 0.5')
                     :format(exe, script, ckpt))
    assert.equal(0, status, out)
    assert.equal('the quick', out:sub(1, 9))
    assert.is_true(#out >= 9 + 30, out)
  end)

  it('bad options and a missing text are messages, not stack traces', function()
    local out, status = sh(('%s %s --model lstmx'):format(exe, script))
    assert.equal(2, status)
    assert.matches("option %-%-model expects lstm, gru or rnn, got 'lstmx'", out)
    assert.not_matches('stack traceback', out)
    out, status = sh(('%s %s --data %s/none.txt'):format(exe, script, dir))
    assert.equal(1, status)
    assert.matches('no text could be read from', out)
    assert.not_matches('stack traceback', out)
    out, status = sh(('%s %s --resume'):format(exe, script))
    assert.equal(2, status)
    assert.matches('need %-%-checkpoint FILE', out)
  end)
end)
