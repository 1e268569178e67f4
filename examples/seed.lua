-- examples/seed.lua — what the two seed examples share: options, data, the training loop
-- with periodic evaluation, checkpoints and resume, progress, CSV log and gnuplot plot.
-- Each example builds its own model and calls seed.run(model, opt).
local torch = require 'torch'
local nn = require 'nn'
local optim = require 'optim'
local datasets = require 'datasets'
local transforms = require 'transforms'

local seed = {}

-- The seed's flags (Torch7's CmdLine: --name value, --name=value, a bare --flag for booleans).
function seed.options(args, title)
  local cmd = torch.CmdLine()
  cmd:text(title)
  cmd:option('-dataset', 'mnist', 'mnist (the bundled 10k subset unless -root) or fashion')
  cmd:option('-root', '', 'data root (torchvision layout); empty: the default for -dataset')
  cmd:option('-download', false, 'download missing MNIST files into -root')
  cmd:option('-iters', 6000, "n_iters; epochs = n_iters / (train size / batch), as the seed")
  cmd:option('-epochs', 0, 'epochs; overrides -iters when > 0')
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
  cmd:option('-plot', '', 'draw loss and accuracy into this PNG with gnuplot (if installed)')
  cmd:option('-quiet', false, 'no progress bar')
  return cmd:parse(args)
end

-- Train and test splits with the seed's transform: ToTensor, then Normalize(0.5, 1.0).
function seed.data(opt)
  local transform = transforms.Compose({ transforms.ToTensor(), transforms.Normalize(0.5, 1.0) })
  local Set = opt.dataset == 'fashion' and datasets.FashionMNIST or datasets.MNIST
  local root = opt.root ~= '' and opt.root or nil
  local train = Set({ root = root, train = true, transform = transform, download = opt.download })
  local test = Set({ root = root, train = false, transform = transform, download = opt.download })
  return train, test
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
      local out = model(toSequence(inputs))
      local _, predicted = out:max(2)
      correct = correct + predicted:view(-1):eq(targets):sum()
      total = total + targets:nElement()
    end
  end)
  model:training()
  return 100 * correct / total
end

local function plot(path, rows)
  if os.execute('command -v gnuplot >/dev/null 2>&1') ~= true then
    io.stderr:write('plot: gnuplot is not installed; skipping ' .. path .. '\n')
    return
  end
  local data = os.tmpname()
  local f = assert(io.open(data, 'w'))
  for _, r in ipairs(rows) do f:write(('%d %.6f %.4f\n'):format(r[1], r[2], r[3])) end
  f:close()
  local script = table.concat({
    'set terminal png size 900,400', ("set output '%s'"):format(path), 'set multiplot layout 1,2',
    "set xlabel 'iteration'", "set title 'loss'",
    ("plot '%s' using 1:2 with lines title 'train loss'"):format(data),
    "set title 'test accuracy (%)'",
    ("plot '%s' using 1:3 with linespoints title 'accuracy'"):format(data), 'unset multiplot',
  }, '; ')
  local ok = os.execute(("gnuplot -e \"%s\""):format(script))
  os.remove(data)
  if ok ~= true then io.stderr:write('plot: gnuplot failed\n') end
end

-- The seed's loop: SGD, cross entropy, `Iteration: N. Loss: L. Accuracy: A` every evalEvery
-- iterations; a checkpoint after every epoch; -resume continues from it exactly (model,
-- optimiser state, RNG state, counters), so the curve matches an uninterrupted run.
-- toSequence maps a batch of images (B x 1 x 28 x 28) to the model's input.
function seed.run(model, opt, toSequence)
  if opt.threads > 0 then torch.setnumthreads(opt.threads) end
  torch.manualSeed(opt.seed)
  local train, test = seed.data(opt)
  local loader = datasets.DataLoader({ dataset = train, batchSize = opt.batch, shuffle = true })
  local testLoader = datasets.DataLoader({ dataset = test, batchSize = opt.batch })
  local epochs = opt.epochs > 0 and opt.epochs or math.floor(opt.iters / (#train / opt.batch))
  epochs = math.max(epochs, 1)
  local criterion = nn.CrossEntropyCriterion()
  if opt.cuda then
    model:cuda()
    criterion:cuda()
  end
  local optimizer = optim.SGD(model:parameters(), { lr = opt.lr, momentum = opt.momentum })
  local state = { epoch = 0, iter = 0, rows = {} }

  if opt.resume then
    assert(opt.checkpoint ~= '', '--resume needs --checkpoint')
    local ck = torch.load(opt.checkpoint)
    model:loadStateDict(ck.model)
    optimizer.state = to_device(opt, ck.optimizer)
    torch.setRNGState(ck.rng)
    state = ck.state
    print(('resumed from %s after epoch %d (iteration %d)'):format(opt.checkpoint, state.epoch, state.iter))
  end

  local log = opt.log ~= '' and assert(io.open(opt.log, state.epoch > 0 and 'a' or 'w')) or nil
  if log and state.epoch == 0 then log:write('iteration,loss,accuracy\n') end

  local function eager_step(x, y)
    optimizer:zeroGrad()
    local loss = criterion(model(toSequence(x)), y)
    loss:backward()
    optimizer:step()
    return loss
  end
  -- -graph: the first full batch runs eagerly (warm-up), the second is captured into a CUDA
  -- graph over static input tensors; then each full batch is copied into those and the graph
  -- replayed. A batch of another size (a short last batch) runs eagerly.
  assert(not opt.graph or opt.cuda, '--graph needs --cuda')
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

  print(('%s: %d train / %d test, %d epochs of %d iterations, batch %d, lr %g%s')
        :format(opt.dataset, #train, #test, epochs, #loader, opt.batch, opt.lr,
                opt.graph and ', the step replayed from a CUDA graph' or ''))
  for epoch = state.epoch + 1, epochs do
    local bar = torch.ProgressBar(#loader, { tty = not opt.quiet and torch.isatty(io.stderr) })
    local running, seen, b = 0, 0, 0
    for inputs, targets in loader:iter() do
      inputs, targets = device(opt, inputs), device(opt, targets)
      local loss = train_step(inputs, targets)
      state.iter, b = state.iter + 1, b + 1
      local l = loss:item()
      running, seen = running + l, seen + 1
      bar:update(b, ('epoch %d/%d loss %.4f'):format(epoch, epochs, running / seen))
      if state.iter % opt.evalEvery == 0 then
        local acc = seed.accuracy(model, testLoader, toSequence, opt)
        if bar.tty then io.stderr:write('\r\27[K') end
        print(('Iteration: %d. Loss: %.4f. Accuracy: %.2f'):format(state.iter, l, acc))
        state.rows[#state.rows + 1] = { state.iter, l, acc }
        if log then log:write(('%d,%.6f,%.4f\n'):format(state.iter, l, acc)); log:flush() end
      end
    end
    bar:finish(('epoch %d/%d loss %.4f'):format(epoch, epochs, running / math.max(seen, 1)))
    state.epoch = epoch
    if opt.checkpoint ~= '' then
      torch.save(opt.checkpoint, { model = model:stateDict(), optimizer = optimizer.state,
                                   rng = torch.getRNGState(), state = state })
    end
  end
  local acc = seed.accuracy(model, testLoader, toSequence, opt)
  print(('Final test accuracy: %.2f%% after %d iterations'):format(acc, state.iter))
  if log then log:close() end
  if graph then graph:free() end
  if opt.plot ~= '' then plot(opt.plot, state.rows) end
  return acc, state
end

return seed
