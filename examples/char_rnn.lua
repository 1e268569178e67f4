-- examples/char_rnn.lua — char-rnn in luatorch: a character-level language model (Karpathy's
-- char-rnn, Torch7's best-known program) with an LSTM, GRU or plain RNN.
--
--   luatorch examples/char_rnn.lua                        # trains on Debian's fortunes
--   luatorch examples/char_rnn.lua --model gru --layers 2 --hidden 256 --checkpoint cr.t7
--   luatorch examples/char_rnn.lua --checkpoint cr.t7 --sampleOnly --prime 'The ' --temperature 0.8
--
-- The text (by default every fortune file of Debian's `fortunes` package, which `make deps`
-- installs) is read as bytes; the last --valFrac of it is held out and scored in bits per
-- character. Training is truncated back-propagation through time: the batch is B parallel
-- streams of the text, each step sees the next --seqLength characters of every stream, and
-- the recurrent layer is stateful, so each step starts from the previous step's final state
-- (detached). Adam, gradient clipping by norm, an exponential learning-rate decay per epoch,
-- checkpoints with --resume, and sampling with a temperature and priming text.
local torch = require 'torch'
local nn = require 'nn'
local optim = require 'optim'

local DEFAULT_TEXT = '/usr/share/games/fortunes'

local function options(args)
  local cmd = torch.CmdLine()
  cmd:text('char-rnn: a character-level language model (LSTM, GRU or RNN)')
  cmd:option('-data', DEFAULT_TEXT, 'a text file, or a directory whose files are read in name order')
  cmd:option('-maxChars', 0, 'use only the first N bytes of the text (0: all of it)')
  cmd:option('-valFrac', 0.05, 'the share of the text held out for validation (bits per character)')
  cmd:option('-model', 'lstm', 'lstm, gru or rnn')
  cmd:option('-layers', 2, 'recurrent layers')
  cmd:option('-hidden', 128, 'hidden size (also the embedding size)')
  cmd:option('-dropout', 0, 'dropout between recurrent layers')
  cmd:option('-seqLength', 50, 'characters per truncated back-propagation step')
  cmd:option('-batch', 50, 'parallel streams of text per step')
  cmd:option('-lr', 2e-3, 'Adam learning rate')
  cmd:option('-lrDecay', 0.97, 'learning rate factor per epoch (optim.ExponentialLR)')
  cmd:option('-clip', 5, 'clip the gradients to this total 2-norm (0: no clipping)')
  cmd:option('-epochs', 1, 'passes over the training text')
  cmd:option('-iters', 0, 'stop after this many steps in all (0: run the epochs)')
  cmd:option('-evalEvery', 500, 'steps between validation scores (and at the end)')
  cmd:option('-checkpoint', '', 'save the model, vocabulary and optimiser here after each evaluation')
  cmd:option('-resume', false, 'continue the run saved at -checkpoint')
  cmd:option('-sample', 300, 'characters to sample at the end (0: none)')
  cmd:option('-prime', '', 'text to feed the model before sampling')
  cmd:option('-temperature', 1.0, 'sampling temperature (lower: more conservative)')
  cmd:option('-sampleOnly', false, 'load -checkpoint and only sample')
  cmd:option('-seed', 123, 'random seed')
  cmd:option('-threads', 0, 'threads (0: leave the default)')
  cmd:option('-quiet', false, 'no progress bar')
  local ok, opt = pcall(cmd.parse, cmd, args)
  local function usage_error(msg)
    io.stderr:write(msg, '\n')
    os.exit(2)
  end
  if not ok then usage_error(tostring(opt)) end
  local function bad(fmt, ...) usage_error(('%s\n%s'):format(fmt:format(...), cmd:help(args and args[0]))) end
  if opt.model ~= 'lstm' and opt.model ~= 'gru' and opt.model ~= 'rnn' then
    bad("option --model expects lstm, gru or rnn, got '%s'", opt.model)
  end
  for _, k in ipairs({ 'maxChars', 'layers', 'hidden', 'seqLength', 'batch', 'epochs', 'iters',
                       'evalEvery', 'sample', 'seed', 'threads' }) do
    if math.type(opt[k]) ~= 'integer' or opt[k] < 0 then bad('option --%s expects a whole number >= 0, got %s', k, opt[k]) end
  end
  for _, k in ipairs({ 'layers', 'hidden', 'seqLength', 'batch', 'evalEvery' }) do
    if opt[k] < 1 then bad('option --%s must be at least 1, got %s', k, opt[k]) end
  end
  if not (opt.valFrac > 0 and opt.valFrac < 1) then bad('option --valFrac must be in (0, 1), got %s', opt.valFrac) end
  if not (opt.dropout >= 0 and opt.dropout < 1) then bad('option --dropout must be in [0, 1), got %s', opt.dropout) end
  if not (opt.lr > 0) then bad('option --lr must be positive, got %s', opt.lr) end
  if not (opt.temperature > 0) then bad('option --temperature must be positive, got %s', opt.temperature) end
  if (opt.resume or opt.sampleOnly) and opt.checkpoint == '' then
    bad('options --resume and --sampleOnly need --checkpoint FILE')
  end
  return opt
end

-- ---- data ---------------------------------------------------------------------------------
local function fail(msg)
  io.stderr:write('char_rnn: ', msg, '\n')
  os.exit(1)
end

local function read_text(path, max_chars)
  local files = {}
  local attr = io.open(path .. '/.', 'r')
  if attr then  -- a directory: its regular files in name order (fortune's .dat indexes skipped)
    attr:close()
    local ls = io.popen(('ls -1 %q'):format(path))
    for name in ls:lines() do
      if not name:match('%.dat$') and not name:match('%.u8$') then files[#files + 1] = path .. '/' .. name end
    end
    ls:close()
  else
    files[1] = path
  end
  local parts, total = {}, 0
  for _, f in ipairs(files) do
    local h = io.open(f, 'rb')
    if h and h:read(0) then
      parts[#parts + 1] = h:read('a')
      total = total + #parts[#parts]
    end
    if h then h:close() end
    if max_chars > 0 and total >= max_chars then break end
  end
  if total == 0 then
    if path == DEFAULT_TEXT then
      fail(("no text at %s: install Debian's fortunes package (apt-get install fortunes; "
            .. 'make deps does) or pass --data FILE'):format(path))
    end
    fail(('no text could be read from %s'):format(path))
  end
  local text = table.concat(parts)
  if max_chars > 0 then text = text:sub(1, max_chars) end
  return text
end

-- The vocabulary: the bytes that occur, in byte order; index i (1-based) is byte vocab[i].
local function make_vocab(text)
  local seen = {}
  for i = 1, #text do seen[text:byte(i)] = true end
  local vocab, index = {}, {}
  for b = 0, 255 do
    if seen[b] then vocab[#vocab + 1] = b; index[b] = #vocab end
  end
  return vocab, index
end

local function encode(text, index)
  local t = torch.LongTensor(#text)
  for i = 1, #text do
    local k = index[text:byte(i)]
    if not k then fail(('byte %d at position %d is not in the checkpoint\'s vocabulary'):format(text:byte(i), i)) end
    t[i] = k
  end
  return t
end

-- B streams of the text cut into steps of T characters: x[s], y[s] are B x T (y: the next
-- characters). What does not fill a whole step is dropped, as char-rnn does.
local function batches(data, B, T)
  local steps = (data:nElement() - 1) // (B * T)
  if steps < 1 then return nil, 0 end
  local n = steps * B * T
  local x = data:narrow(1, 1, n):view(B, steps * T)
  local y = data:narrow(1, 2, n):view(B, steps * T)
  return function(s)
    return x:narrow(2, (s - 1) * T + 1, T):contiguous(), y:narrow(2, (s - 1) * T + 1, T):contiguous()
  end, steps
end

-- ---- model --------------------------------------------------------------------------------
local layer_class = { lstm = nn.LSTM, gru = nn.GRU, rnn = nn.RNN }

local function build(opt, V)
  local cls = layer_class[opt.model]
  if not cls then fail(('nn.%s is not available in this build'):format(opt.model:upper())) end
  local rnn = cls(opt.hidden, opt.hidden, opt.layers,
                  { batchFirst = true, dropout = opt.dropout, stateful = true })
  local model = nn.Sequential()
    :add(nn.Embedding(V, opt.hidden))
    :add(rnn)
    :add(nn.Reshape(-1, opt.hidden))   -- B x T x H -> (B T) x H
    :add(nn.Linear(opt.hidden, V))
  return model, rnn
end

-- Bits per character of the whole split, the state carried from step to step.
local function evaluate(model, rnn, crit, split)
  if not split.get then return nil end
  model:evaluate()
  rnn:resetState()
  local total = 0
  torch.noGrad(function()
    for s = 1, split.steps do
      local x, y = split.get(s)
      total = total + crit:forward(model:forward(x), y:view(-1))
    end
  end)
  rnn:resetState()
  model:training()
  return total / split.steps / math.log(2)
end

local function sample(model, rnn, vocab, index, opt)
  model:evaluate()
  rnn:resetState()
  local out = {}
  local prime = opt.prime ~= '' and opt.prime or string.char(vocab[torch.random(1, #vocab)])
  local logits
  torch.noGrad(function()
    local x = encode(prime, index):view(1, -1)
    logits = model:forward(x)
    for i = 1, #prime do out[#out + 1] = prime:sub(i, i) end
    for _ = 1, opt.sample do
      local last = logits[logits:size(1)]:double():div(opt.temperature)
      local probs = last:softmax(1)
      local k = torch.multinomial(probs, 1)[1]
      out[#out + 1] = string.char(vocab[k])
      logits = model:forward(torch.LongTensor({ { k } }))
    end
  end)
  rnn:resetState()
  model:training()
  return table.concat(out)
end

-- ---- main ---------------------------------------------------------------------------------
local opt = options(arg)
torch.manualSeed(opt.seed)
if opt.threads > 0 then torch.setnumthreads(opt.threads) end

local ckpt
if opt.resume or opt.sampleOnly then
  local ok, c = pcall(torch.load, opt.checkpoint)
  if not ok then fail(tostring(c)) end
  ckpt = c
end

if opt.sampleOnly then
  local model = ckpt.model
  local rnn = model:get(2)
  local index = {}
  for i, b in ipairs(ckpt.vocab) do index[b] = i end
  io.write(sample(model, rnn, ckpt.vocab, index, opt), '\n')
  os.exit(0)
end

local text = read_text(opt.data, opt.maxChars)
local vocab, index
if ckpt then
  vocab = ckpt.vocab
  index = {}
  for i, b in ipairs(vocab) do index[b] = i end
else
  vocab, index = make_vocab(text)
end
local data = encode(text, index)
local nval = math.max(math.floor(data:nElement() * opt.valFrac), opt.seqLength + 1)
local ntrain = data:nElement() - nval
local train, val = {}, {}
train.get, train.steps = batches(data:narrow(1, 1, ntrain), opt.batch, opt.seqLength)
val.get, val.steps = batches(data:narrow(1, ntrain + 1, nval), math.min(opt.batch, 8), opt.seqLength)
if not train.get then
  fail(('the text has %d training characters, too few for one step of %d x %d'):format(ntrain, opt.batch, opt.seqLength))
end

local model, rnn
if ckpt then model = ckpt.model; rnn = model:get(2) else model, rnn = build(opt, #vocab) end
local crit = nn.CrossEntropyCriterion()
local params = model:parameters()
local adam = optim.Adam(params, { lr = opt.lr })
local sched = optim.ExponentialLR(adam, { gamma = opt.lrDecay })
local step, epoch, first = 0, 1, 1
if ckpt then
  step, epoch, first = ckpt.step, ckpt.epoch, ckpt.nextStep
  adam.state = ckpt.optimState
  for _ = 2, epoch do sched:step() end
  if first > train.steps then epoch, first = epoch + 1, 1; sched:step() end
end

local total = opt.iters > 0 and opt.iters or opt.epochs * train.steps
print(('char_rnn: %s, %d x %d %s, %d parameters; %d characters (vocabulary %d), %d train steps of %d x %d per epoch')
      :format(opt.data, opt.layers, opt.hidden, opt.model:upper(),
              (function() local n = 0; for _, p in ipairs(params) do n = n + p:nElement() end; return n end)(),
              data:nElement(), #vocab, train.steps, opt.batch, opt.seqLength))
local bar = (not opt.quiet) and torch.ProgressBar(total, { done = math.min(step, total) }) or nil
local function say(line) if bar then bar:write(line) else print(line) end end
local smooth

local function save(next_step)
  if opt.checkpoint == '' then return end
  model:clearState()
  local ok, err = pcall(torch.save, opt.checkpoint, {
    model = model, vocab = vocab, optimState = adam.state, step = step, epoch = epoch,
    nextStep = next_step, opt = opt })
  if not ok then fail(tostring(err)) end
end

model:training()
while step < total and epoch <= opt.epochs + (opt.iters > 0 and math.huge or 0) do
  rnn:resetState()  -- each epoch reads the streams from their start
  for s = first, train.steps do
    if step >= total then break end
    local x, y = train.get(s)
    adam:zeroGrad()
    local loss = crit(model(x), y:view(-1))
    loss:backward()
    if opt.clip > 0 then optim.clipGradNorm(params, opt.clip) end
    adam:step()
    step = step + 1
    local l = loss:item()
    smooth = smooth and 0.98 * smooth + 0.02 * l or l
    if bar then bar:update(step, ('loss %.3f (%.2f bpc) lr %.2g'):format(smooth, smooth / math.log(2), adam.paramGroups[1].lr)) end
    if step % opt.evalEvery == 0 or step == total then
      local bpc = evaluate(model, rnn, crit, val)
      say(('step %d (epoch %d): train loss %.3f, validation %.3f bits per character')
          :format(step, epoch, smooth, bpc or 0 / 0))
      save(s + 1)
    end
  end
  first = 1
  epoch = epoch + 1
  sched:step()
end
if bar then bar:finish() end
if opt.sample > 0 then
  print('---- sample (temperature ' .. opt.temperature .. ') ----')
  print(sample(model, rnn, vocab, index, opt))
end
