-- examples/seed.lua — what the two seed examples share: options, data, the training loop
-- with periodic evaluation, checkpoints and resume, progress, CSV log and gnuplot plot.
-- Each example builds its own model and calls seed.run(model, opt).
-- --distributed (under mpirun -np N): data-parallel over MPI ranks (issue 19): --batch is the
-- global batch, each rank trains on batch / N samples of its own shard through
-- nn.DistributedDataParallel; rank 0 alone prints, evaluates, logs and checkpoints.
local torch = require 'torch'
local nn = require 'nn'
local optim = require 'optim'
local datasets = require 'datasets'
local transforms = require 'transforms'

local seed = {}

-- The seed's flags (Torch7's CmdLine: --name value, --name=value, a bare --flag for booleans).
-- A bad flag or value prints its message and the usage, without a stack trace, and exits 2.
function seed.options(args, title)
  local cmd = torch.CmdLine()
  cmd:text(title)
  cmd:option('-dataset', 'mnist', 'mnist (the bundled 10k subset unless -root) or fashion')
  cmd:option('-root', '', 'data root (torchvision layout); empty: the default for -dataset')
  cmd:option('-download', false, 'download missing MNIST files into -root')
  cmd:option('-iters', 6000, 'training iterations, exactly (the last epoch may be partial)')
  cmd:option('-seedSchedule', false, "the seed's schedule instead: int(iters / (train size / batch)) "
                                     .. 'whole epochs, at least one')
  cmd:option('-epochs', 0, 'whole epochs; overrides -iters when > 0')
  cmd:option('-batch', 100, 'batch size')
  cmd:option('-hidden', 128, 'hidden size')
  cmd:option('-lr', 0.1, 'learning rate (SGD)')
  cmd:option('-momentum', 0, 'SGD momentum (the seed uses none)')
  cmd:option('-threads', 0, 'threads for BLAS and OpenMP (0: leave the default)')
  cmd:option('-cuda', false, 'train on the GPU (model:cuda(), batches moved with :cuda())')
  cmd:option('-graph', false, 'with -cuda: capture the training step once in a CUDA graph '
                              .. '(torch.cuda.graph) and replay it for every full batch')
  cmd:option('-seed', 1, 'random seed')
  cmd:option('-evalEvery', 500, 'iterations between test evaluations (the seed: 500)')
  cmd:option('-checkpoint', '', 'save a checkpoint here after every epoch')
  cmd:option('-resume', false, 'continue the run saved at -checkpoint')
  cmd:option('-log', '', 'write iteration,loss,accuracy rows to this CSV file')
  cmd:option('-plot', '', 'draw the training loss and the test accuracy into this PNG (gnuplot)')
  cmd:option('-quiet', false, 'no progress bar')
  cmd:option('-autocast', false, 'bf16 autocast: matrix products on bf16 operands, fp32 elsewhere '
                                 .. '(torch.autocast; CPU only)')
  cmd:option('-distributed', false, 'data-parallel over the MPI ranks of `mpirun -np N`: -batch is '
                                    .. 'the global batch, split across the ranks; rank 0 prints, '
                                    .. 'logs and checkpoints (read by every rank on -resume)')
  local function usage_error(msg)
    io.stderr:write(msg, '\n')
    os.exit(2)
  end
  local ok, opt = pcall(cmd.parse, cmd, args)
  if not ok then usage_error(tostring(opt)) end
  local function bad(fmt, ...)
    usage_error(('%s\n%s'):format(fmt:format(...), cmd:help(args and args[0])))
  end
  if opt.dataset ~= 'mnist' and opt.dataset ~= 'fashion' then
    bad("option --dataset expects mnist or fashion, got '%s'", opt.dataset)
  end
  for _, k in ipairs({ 'iters', 'epochs', 'batch', 'hidden', 'threads', 'seed', 'evalEvery' }) do
    if math.type(opt[k]) ~= 'integer' then bad('option --%s expects a whole number, got %s', k, opt[k]) end
  end
  for _, k in ipairs({ 'iters', 'batch', 'hidden', 'evalEvery' }) do
    if opt[k] < 1 then bad('option --%s must be at least 1, got %s', k, opt[k]) end
  end
  for _, k in ipairs({ 'epochs', 'threads', 'momentum' }) do
    if opt[k] < 0 then bad('option --%s must not be negative, got %s', k, opt[k]) end
  end
  if not (opt.lr > 0) then bad('option --lr must be positive, got %s', opt.lr) end
  if opt.graph and not opt.cuda then bad('option --graph needs --cuda') end
  if opt.resume and opt.checkpoint == '' then bad('option --resume needs --checkpoint FILE') end
  if opt.download and opt.root == '' then
    bad('option --download needs --root DIR, the directory to download into')
  end
  if opt.distributed then
    if opt.cuda then bad('option --distributed runs on the host (MPI) for now; leave out --cuda') end
    local ok, dist = pcall(require, 'distributed')
    if not ok then usage_error(tostring(dist):gsub('^[^\n:]*%.lua:%d+: ', '')) end
    local _, size = dist.init()
    if opt.batch % size ~= 0 then
      bad('option --batch (%d, the global batch) must be a multiple of the %d ranks', opt.batch, size)
    end
  end
  return opt
end

-- Train and test splits with the seed's transform: ToTensor, then Normalize(0.5, 1.0). Data
-- that cannot be found or fetched is a message (what to fetch from where and where to put it,
-- for a download), not a stack trace: exits 1.
function seed.data(opt)
  local transform = transforms.Compose({ transforms.ToTensor(), transforms.Normalize(0.5, 1.0) })
  local Set = opt.dataset == 'fashion' and datasets.FashionMNIST or datasets.MNIST
  local root = opt.root ~= '' and opt.root or nil
  local ok, train, test = pcall(function()
    return Set({ root = root, train = true, transform = transform, download = opt.download }),
           Set({ root = root, train = false, transform = transform, download = opt.download })
  end)
  if not ok then
    io.stderr:write(tostring(train):gsub('^[^\n:]*%.lua:%d+: ', ''), '\n')   -- no position
    os.exit(1)
  end
  return train, test
end

-- print on rank 0 only (every rank when not distributed)
local function rank0()
  local dist = package.loaded.distributed
  return not (dist and dist.isInitialized()) or dist.rank() == 0
end
function seed.print(...)
  if rank0() then print(...) end
end

-- A batch on the model's device: with -cuda, inputs and targets move with :cuda().
local function device(opt, t) return opt.cuda and t:cuda() or t end

-- Tensors inside a (checkpointed) table, moved to the device: optimiser state saved from a
-- GPU run comes back as host tensors.
local function to_device(opt, x)
  if not opt.cuda then return x end
  if torch.isTensor(x) then return x:cuda() end
  if type(x) == 'table' then
    for k, v in pairs(x) do x[k] = to_device(opt, v) end
  end
  return x
end

-- Accuracy (percent) on a split, in batches, without recording a graph.
function seed.accuracy(model, loader, toSequence, opt)
  local correct, total = 0, 0
  model:evaluate()
  torch.noGrad(function()
    for inputs, targets in loader:iter() do
      if opt then inputs, targets = device(opt, inputs), device(opt, targets) end
      local out = opt and opt.autocast and torch.autocast('bfloat16', model, toSequence(inputs))
                  or model(toSequence(inputs))
      local _, predicted = out:max(2)
      correct = correct + predicted:view(-1):eq(targets):sum()
      total = total + targets:nElement()
    end
  end)
  model:training()
  return 100 * correct / total
end

-- The mean of the last w values at each point (w: 1/50 of the run, 10 to 100).
local function smoothed(values)
  local w = math.max(10, math.min(100, #values // 50))
  local out, sum = {}, 0
  for i, v in ipairs(values) do
    sum = sum + v - (values[i - w] or 0)
    out[i] = sum / math.min(i, w)
  end
  return out, w
end

-- The training loss of every iteration (light), its running mean (dark), the loss at each
-- evaluation (points) on the left; the test accuracy on the right; distinct colours.
local function plot(path, losses, rows)
  if os.execute('command -v gnuplot >/dev/null 2>&1') ~= true then
    io.stderr:write(('plot: --plot needs gnuplot, which is not installed: `make deps` installs it '
                     .. '(Debian: apt-get install gnuplot-nox); %s was not drawn\n'):format(path))
    return
  end
  local data, evals, script = os.tmpname(), os.tmpname(), os.tmpname()
  local mean, w = smoothed(losses)
  local f = assert(io.open(data, 'w'))
  for i, l in ipairs(losses) do f:write(('%d %.6f %.6f\n'):format(i, l, mean[i])) end
  f:close()
  f = assert(io.open(evals, 'w'))
  for _, r in ipairs(rows) do f:write(('%d %.6f %.4f\n'):format(r[1], r[2], r[3])) end
  f:close()
  local function q(s) return "'" .. s:gsub("'", "''") .. "'" end   -- a gnuplot string
  f = assert(io.open(script, 'w'))
  f:write(table.concat({
    'set terminal png size 1000,420', 'set output ' .. q(path), 'set multiplot layout 1,2',
    "set xlabel 'iteration'", 'set key top right', "set title 'loss'",
    ('plot %s using 1:2 with lines lc rgb "#a6c8ff" title "training loss", '
     .. '%s using 1:3 with lines lw 2 lc rgb "#1f4fbf" title "mean of the last %d", '
     .. '%s using 1:2 with points pt 7 ps 1.2 lc rgb "#d62728" title "at evaluation"')
      :format(q(data), q(data), w, q(evals)),
    "set title 'test accuracy (%)'", 'set key bottom right', 'set yrange [0:100]',
    ('plot %s using 1:3 with linespoints pt 7 lw 2 lc rgb "#2ca02c" title "accuracy"'):format(q(evals)),
    'unset multiplot',
  }, '\n'), '\n')
  f:close()
  local ok = os.execute(('gnuplot %s'):format(script))
  os.remove(data)
  os.remove(evals)
  os.remove(script)
  if ok ~= true then io.stderr:write('plot: gnuplot failed\n') end
end

-- The seed's loop: SGD, cross entropy, `Iteration: N. Loss: L. Accuracy: A` every evalEvery
-- iterations; exactly -iters iterations (or -epochs, or the seed's whole-epoch rounding with
-- -seedSchedule); a checkpoint after every epoch; -resume continues from it exactly (model,
-- optimiser state, RNG state, counters, the loss curve), so the curve matches an
-- uninterrupted run. toSequence maps a batch of images (B x 1 x 28 x 28) to the model's input.
function seed.run(model, opt, toSequence)
  if opt.threads > 0 then torch.setnumthreads(opt.threads) end
  torch.manualSeed(opt.seed)
  local train, test = seed.data(opt)
  local dist, ranks, lead = nil, 1, true
  if opt.distributed then
    dist = require 'distributed'
    ranks, lead = dist.size(), dist.rank() == 0
  end
  local print = seed.print
  local loader = datasets.DataLoader({ dataset = train, batchSize = opt.batch // ranks, shuffle = true,
                                       distributed = opt.distributed })
  local testLoader = datasets.DataLoader({ dataset = test, batchSize = opt.batch })
  local total, epochs
  if opt.epochs > 0 then
    epochs = opt.epochs
    total = epochs * #loader
  elseif opt.seedSchedule then   -- the notebook: num_epochs = int(n_iters / (len(train) / batch))
    epochs = math.max(math.floor(opt.iters / (#train / opt.batch)), 1)
    total = epochs * #loader
  else
    total = opt.iters
    epochs = (total + #loader - 1) // #loader
  end
  local criterion = nn.CrossEntropyCriterion()
  if opt.cuda then
    model:cuda()
    criterion:cuda()
  end
  -- the training forward goes through DDP (its backward averages the gradients over the
  -- ranks); evaluation uses the model itself, on rank 0
  local net = opt.distributed and nn.DistributedDataParallel(model) or model
  local optimizer = optim.SGD(net:parameters(), { lr = opt.lr, momentum = opt.momentum })
  local state = { epoch = 0, iter = 0, rows = {}, losses = {} }

  if opt.resume then
    local ck = torch.load(opt.checkpoint)
    model:loadStateDict(ck.model)
    optimizer.state = to_device(opt, ck.optimizer)
    torch.setRNGState(ck.rng)
    if opt.distributed then
      if not ck.loaderRng then
        io.stderr:write(('%s was not saved by a --distributed run\n'):format(opt.checkpoint))
        os.exit(1)
      end
      loader._rng = ck.loaderRng   -- the ranks' shared shuffle, where the run stopped
    end
    state = ck.state
    state.losses = state.losses or {}
    print(('resumed from %s after epoch %d (iteration %d)'):format(opt.checkpoint, state.epoch, state.iter))
  end

  local log = lead and opt.log ~= '' and assert(io.open(opt.log, state.epoch > 0 and 'a' or 'w')) or nil
  if log and state.epoch == 0 then log:write('iteration,loss,accuracy\n') end

  local function fp32_step(x, y)
    optimizer:zeroGrad()
    local loss = criterion(net(toSequence(x)), y)
    loss:backward()
    optimizer:step()
    return loss
  end
  local function eager_step(x, y)
    if opt.autocast then return torch.autocast('bfloat16', fp32_step, x, y) end
    return fp32_step(x, y)
  end
  -- -graph: the first full batch runs eagerly (warm-up), the second is captured into a CUDA
  -- graph over static input tensors; then each full batch is copied into those and the graph
  -- replayed. A batch of another size (a short last batch) runs eagerly.
  local graph, sx, sy, sloss
  local function train_step(x, y)
    if not opt.graph then return eager_step(x, y) end
    if not sx then
      sx, sy = x:clone(), y:clone()
      return eager_step(sx, sy)
    end
    if not x:isSameSizeAs(sx) or not y:isSameSizeAs(sy) then return eager_step(x, y) end
    sx:copy(x)
    sy:copy(y)
    if not graph then graph = torch.cuda.graph(function() sloss = eager_step(sx, sy) end) end
    graph:replay()
    return sloss
  end

  print(('%s: %d train / %d test, %d iterations (%d epochs of %d), batch %d, lr %g%s%s')
        :format(opt.dataset, #train, #test, total, epochs, #loader, opt.batch, opt.lr,
                opt.graph and ', the step replayed from a CUDA graph' or
                opt.distributed and (', %d per rank on %d ranks'):format(opt.batch // ranks, ranks) or '',
                opt.autocast and ', bf16 autocast' or ''))
  -- one bar for the whole run (its rate and ETA), evaluations printed above it
  local bar = torch.ProgressBar(total, { tty = lead and not opt.quiet and torch.isatty(io.stderr),
                                         done = state.iter })
  for epoch = state.epoch + 1, epochs do
    local running, seen = 0, 0
    for inputs, targets in loader:iter() do
      if state.iter >= total then break end
      inputs, targets = device(opt, inputs), device(opt, targets)
      local loss = train_step(inputs, targets)
      state.iter = state.iter + 1
      local l = loss:item()
      if dist then   -- the global batch's loss: the mean of the ranks' (equal shards)
        l = dist.allReduce(torch.DoubleTensor({ l }), 'mean')[1]
      end
      state.losses[state.iter] = l
      running, seen = running + l, seen + 1
      bar:update(state.iter, ('epoch %d/%d loss %.4f'):format(epoch, epochs, running / seen))
      if state.iter % opt.evalEvery == 0 and lead then
        local acc = seed.accuracy(model, testLoader, toSequence, opt)
        bar:write(('Iteration: %d. Loss: %.4f. Accuracy: %.2f'):format(state.iter, l, acc))
        state.rows[#state.rows + 1] = { state.iter, l, acc }
        if log then log:write(('%d,%.6f,%.4f\n'):format(state.iter, l, acc)); log:flush() end
      end
    end
    if lead then
      bar:write(('Epoch %d/%d: mean training loss %.4f over %d iterations')
                :format(epoch, epochs, running / math.max(seen, 1), seen))
    end
    state.epoch = epoch
    if opt.checkpoint ~= '' and lead then
      torch.save(opt.checkpoint, { model = model:stateDict(), optimizer = optimizer.state,
                                   rng = torch.getRNGState(), state = state,
                                   loaderRng = opt.distributed and loader._rng or nil })
    end
    -- the others read it on --resume: not before it is written
    if dist and opt.checkpoint ~= '' then dist.barrier() end
  end
  bar:finish()
  if not lead then return nil, state end
  local acc = seed.accuracy(model, testLoader, toSequence, opt)
  print(('Final test accuracy: %.2f%% after %d iterations'):format(acc, state.iter))
  if log then log:close() end
  if graph then graph:free() end
  if opt.plot ~= '' then
    local rows = { table.unpack(state.rows) }
    if #rows == 0 or rows[#rows][1] ~= state.iter then   -- the final accuracy as the last point
      rows[#rows + 1] = { state.iter, state.losses[state.iter] or 0, acc }
    end
    plot(opt.plot, state.losses, rows)
  end
  return acc, state
end

return seed
