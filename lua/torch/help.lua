-- torch.help — one-line descriptions with signatures of the main torch functions, tensor
-- methods, nn modules, optim functions, datasets and transforms, for the REPL's
-- help(torch.mm) and ?torch.mm.
--
--   local H = require 'torch.help'
--   H.describe(torch.mm)      -- by value (functions, classes, class instances, tensors)
--   H.describe('torch.mm')    -- by name; 't:add' / 'Tensor:add' name a tensor method
--   H.find('mm')              -- the entries whose last name component is 'mm'
--
-- Each line of `text` below is  names | signature | description. Names: torch.f (module
-- function), t:f (tensor method), nn.M / nn.Module:f, optim.f, datasets.f, transforms.f;
-- several names share a line when they are the same operation. Entries whose module is not
-- loaded (or that this build lacks) still answer by name.
local help = {}

local text = [==[
torch.Tensor torch.FloatTensor torch.DoubleTensor torch.LongTensor torch.ByteTensor | torch.Tensor(sizes...) / torch.Tensor({nested table}) / torch.Tensor(storage [, offset, sizes]) | a new tensor of the default type (float32; Double = float64, Long = int64, Byte = uint8), zero-filled from sizes
torch.zeros | torch.zeros(sizes...) | a tensor of zeros of the default type
torch.ones | torch.ones(sizes...) | a tensor of ones of the default type
torch.empty | torch.empty(sizes...) | a tensor of the default type (contents unspecified)
torch.zerosLike torch.onesLike | torch.zerosLike(t) / torch.onesLike(t) | zeros / ones of t's size and type
torch.range | torch.range(a, b [, step]) | a 1-D tensor a, a+step, ..., b, b INCLUDED (Torch7)
torch.arange | torch.arange([a,] b [, step]) | a 1-D tensor a, a+step, ... below b (PyTorch: b excluded)
torch.linspace torch.logspace | torch.linspace(a, b, n) / torch.logspace(a, b, n) | n points evenly spaced from a to b (logspace: 10^those)
torch.eye | torch.eye(n [, m]) | the n x m identity matrix
torch.rand torch.randn | torch.rand([res,] sizes...) / torch.randn(...) | uniform [0, 1) / standard normal numbers
torch.randperm | torch.randperm([res,] n) | a random permutation of 1..n (LongTensor)
torch.multinomial t:multinomial | torch.multinomial([res,] probs, n [, replacement = false]) | n 1-based indices drawn with weights probs
torch.manualSeed | torch.manualSeed(n) | seeds the random generator (same numbers follow for the same seed)
torch.seed torch.initialSeed | torch.seed() / torch.initialSeed() | seed from the system / the current seed
torch.getRNGState torch.setRNGState | torch.getRNGState() / torch.setRNGState(state) | save / restore the generator's state
t:uniform t:normal t:bernoulli t:random | t:uniform([a, b]) t:normal([mean, std]) t:bernoulli([p]) t:random([a,] [b]) | fill t in place with random numbers
torch.setdefaulttensortype torch.getdefaulttensortype | torch.setdefaulttensortype('torch.DoubleTensor') | the type torch.Tensor and the constructors make
torch.type torch.typename | torch.type(x) / torch.typename(x) | 'torch.FloatTensor', a class name, or Lua's type (typename: nil)
torch.isTensor torch.isStorage | torch.isTensor(x) / torch.isStorage(x) | whether x is a tensor / a storage
torch.isTypeOf | torch.isTypeOf(obj, 'nn.Module') | whether obj is an instance of the class or of a subclass
torch.class | torch.class('pkg.Name' [, 'pkg.Parent']) -> class, parent | a Torch7 class; Name(...) makes an instance and runs __init
torch.setnumthreads torch.getnumthreads | torch.setnumthreads(n) / torch.getnumthreads() | the thread count of OpenMP loops and BLAS
torch.Timer | torch.Timer() -> timer | a stopwatch: timer:time().real seconds; reset(), stop(), resume()
torch.clock | torch.clock() | seconds on a monotonic clock
torch.ProgressBar | torch.ProgressBar(total [, {stream = io.stderr, out = io.stdout, width = 30, done = 0, tty =}]) -> bar | a progress bar on a terminal: bar:update(done [, note]) shows count, elapsed, the run's ETA and it/s; bar:write(line) prints a log line above it; bar:finish([note])
torch.noGrad | torch.noGrad(fn, ...) | runs fn with autograd recording off, returns its results
torch.setGradEnabled torch.isGradEnabled | torch.setGradEnabled(on) / torch.isGradEnabled() | turn autograd recording on or off
torch.gradcheck | torch.gradcheck(fn, inputs [, {eps =, atol =, rtol =}]) | compares autograd's gradients with central differences (DoubleTensors)
t:size | t:size([dim]) | the sizes (a LongStorage), or the size of dim
t:dim t:nDimension | t:dim() | the number of dimensions
t:nElement t:numel torch.numel | t:nElement() | the number of elements
t:stride | t:stride([dim]) | the strides in elements
t:type | t:type([typename]) | the type name, or a copy converted to typename ('torch.DoubleTensor')
t:float t:double t:long t:byte | t:float() / t:double() / t:long() / t:byte() | converted copy in host memory (t itself when it already has that type)
t:cuda t:cpu | t:cuda() / t:cpu() | a copy of the same dtype on the GPU / in host memory (t itself when already there)
t:cudaFloat t:cudaDouble t:cudaLong t:cudaByte | t:cudaDouble() ... | a copy on the GPU as that dtype (torch.CudaTensor is float32)
t:isCuda t:getDevice | t:isCuda() / t:getDevice() | whether t lives on a GPU / its 1-based device (-1 in host memory)
torch.CudaTensor torch.CudaDoubleTensor torch.CudaLongTensor torch.CudaByteTensor | torch.CudaTensor(sizes...) / ({nested table}) | a new tensor on the GPU (sizes: zeros allocated there; other forms: the host constructor's, then :cuda())
torch.cuda.isAvailable torch.cuda.isBuilt torch.cuda.whyUnavailable | torch.cuda.isAvailable() | whether a CUDA device can be used (never raises); isBuilt: CUDA compiled in; whyUnavailable: the reason
torch.cuda.deviceCount torch.cuda.getDeviceProperties | torch.cuda.getDeviceProperties(i) | the devices; name, compute capability, memory, SMs of device i (1-based)
torch.cuda.setDevice torch.cuda.getDevice torch.cuda.synchronize | torch.cuda.synchronize() | the current device (1-based); wait for all queued GPU work
torch.cuda.memoryAllocated torch.cuda.memoryReserved torch.cuda.maxMemoryAllocated torch.cuda.emptyCache torch.cuda.memGetInfo | torch.cuda.memoryAllocated() | bytes held by tensors / by the caching allocator / the peak; emptyCache returns cached blocks to CUDA
torch.cuda.allowTF32 | torch.cuda.allowTF32([on]) | TF32 tensor-core math in GPU matrix products (off by default); returns the setting
torch.cuda.manualSeed | torch.cuda.manualSeed(n) | seeds the generator GPU draws share with the host (one seed: the same numbers on both)
torch.cuda.isEmulated | torch.cuda.isEmulated() | true in a `make CUDA=emu` build, whose device is the host emulation
torch.cuda.graph torch.cuda.isCapturing | local g = torch.cuda.graph(step); x:copy(batch); g:replay() | captures the device work of step() once (running nothing); g:replay() runs it again on the same tensors; g:free()
t:typeAs | t:typeAs(u) | t converted to u's type
t:item t:value | t:item() | the value of a one-element tensor as a Lua number
t:totable | t:totable() | the elements as nested Lua tables
t:storage t:storageOffset | t:storage() / t:storageOffset() | the underlying storage and 1-based offset
t:isContiguous t:contiguous | t:isContiguous() / t:contiguous() | whether the layout is row-major dense / a dense copy (or t)
t:isSameSizeAs | t:isSameSizeAs(u) | whether t and u have the same sizes
t:clone torch.clone | t:clone() | a copy with its own storage
t:copy | t:copy(src) | copies src's elements (any type, same number of elements) into t
t:fill t:zero | t:fill(v) / t:zero() | sets every element, in place
t:resize t:resizeAs | t:resize(sizes...) / t:resizeAs(u) | changes t's sizes in place (contents unspecified)
t:set | t:set(u or storage [, offset, sizes]) | makes t a view of u's (or the storage's) data
t:apply t:map t:map2 | t:apply(fn) / t:map(u, fn) / t:map2(u, v, fn) | calls fn on each element, stores its result when not nil
torch.view t:view t:viewAs torch.viewAs | t:view(sizes...) / t:viewAs(u) | a view with other sizes (contiguous data; -1 infers one size)
torch.reshape t:reshape | t:reshape(sizes...) | a view when possible, otherwise a copy, with other sizes
torch.narrow t:narrow | t:narrow(dim, first, length) | a view of length slices along dim from first (1-based)
torch.select t:select | t:select(dim, index) | a view of one slice, dim removed
torch.transpose t:transpose torch.t t:t | t:transpose(d1, d2) / t:t() | a view with two dims swapped (t(): a 2-D transpose)
torch.permute t:permute | t:permute(dims...) | a view with the dims reordered
torch.squeeze t:squeeze torch.unsqueeze t:unsqueeze | t:squeeze([dim]) / t:unsqueeze(dim) | a view without size-1 dims / with a new size-1 dim
torch.expand t:expand torch.expandAs t:expandAs | t:expand(sizes...) / t:expandAs(u) | a broadcast view (size-1 dims repeated with stride 0)
torch.split t:split torch.chunk t:chunk | t:split(size [, dim]) / t:chunk(n [, dim]) | a table of views of size slices / of n near-equal pieces
torch.cat t:cat | torch.cat([res,] {t1, t2, ...} [, dim]) | concatenation along dim (default: the last)
torch.stack | torch.stack([res,] {t1, t2, ...} [, dim]) | stacks same-size tensors along a new dim (default: the first)
torch.index torch.indexSelect t:index t:indexSelect | t:index(dim, idx) | the slices idx (1-based LongTensor) along dim, as a new tensor
t:indexCopy t:indexAdd t:indexFill | t:indexCopy(dim, idx, src) / t:indexAdd(...) / t:indexFill(dim, idx, v) | writes the slices idx along dim, in place
torch.gather t:gather | t:gather(dim, idx) | out[i][j] = t[i][idx[i][j]] (dim 2)
t:scatter t:scatterAdd | t:scatter(dim, idx, src or v) / t:scatterAdd(dim, idx, src) | t[i][idx[i][j]] = src[i][j] (dim 2), in place
torch.nonzero t:nonzero | torch.nonzero([res,] t) | n x dim LongTensor of the 1-based positions of nonzero elements
torch.maskedSelect t:maskedSelect t:maskedFill t:maskedCopy | t:maskedSelect(mask) / t:maskedFill(mask, v) / t:maskedCopy(mask, src) | elements where the ByteTensor mask is 1
torch.where | torch.where([res,] cond, a, b) | elementwise cond ~= 0 and a or b (a, b tensors or numbers)
torch.add t:add | torch.add([res,] a, [value,] b) / t:add([value,] b) | a + value * b; the method adds into t in place
torch.sub t:sub t:csub torch.csub | torch.sub([res,] a, [value,] b) / t:sub(b) | a - value * b (method: in place)
torch.mul t:mul | torch.mul([res,] t, v) / t:mul(v) | multiply by a number (method: in place)
torch.div t:div | torch.div([res,] t, v) / t:div(v) | divide by a number (method: in place)
torch.cmul t:cmul torch.cdiv t:cdiv | torch.cmul([res,] a, b) / t:cmul(b) | elementwise product / quotient (broadcasting; method: in place)
torch.addcmul t:addcmul torch.addcdiv t:addcdiv | torch.addcmul([res,] x, [v,] a, b) | x + v * a .* b (addcdiv: a ./ b)
torch.pow t:pow torch.cpow t:cpow | torch.pow([res,] t, p) / torch.cpow([res,] a, b) | elementwise power by a number / by a tensor
torch.fmod t:fmod | torch.fmod([res,] t, v) | remainder with the sign of the dividend
torch.clamp t:clamp | torch.clamp([res,] t, min, max) | elementwise limit to [min, max]
torch.cmax t:cmax torch.cmin t:cmin torch.maximum torch.minimum t:maximum t:minimum | torch.cmax([res,] a, b) | elementwise maximum / minimum of two tensors (or a tensor and a number)
torch.abs t:abs torch.neg t:neg torch.sign t:sign | torch.abs([res,] t) | elementwise abs(x), -x, sign(x) (method: in place)
torch.exp t:exp torch.log t:log torch.log1p t:log1p | torch.exp([res,] t) | elementwise e^x, ln x, ln(1 + x) (method: in place; floating types)
torch.sqrt t:sqrt torch.rsqrt t:rsqrt torch.square t:square | torch.sqrt([res,] t) | elementwise sqrt(x), 1/sqrt(x), x^2
torch.sin t:sin torch.cos t:cos torch.atan2 t:atan2 | torch.sin([res,] t) / torch.atan2([res,] y, x) | elementwise trigonometry
torch.tanh t:tanh torch.sigmoid t:sigmoid | torch.tanh([res,] t) / torch.sigmoid([res,] t) | elementwise tanh(x), 1/(1 + e^-x)
torch.relu t:relu torch.leakyRelu t:leakyRelu | torch.relu([res,] t) / torch.leakyRelu([res,] t [, slope = 0.01]) | elementwise max(x, 0) / x or slope * x
torch.floor t:floor torch.ceil t:ceil torch.round t:round torch.trunc t:trunc torch.frac t:frac | torch.floor([res,] t) | elementwise rounding (frac: x - trunc(x))
torch.reciprocal t:reciprocal torch.cinv | torch.reciprocal([res,] t) | elementwise 1/x
torch.eq t:eq torch.ne t:ne torch.lt t:lt torch.le t:le torch.gt t:gt torch.ge t:ge | t:lt(u or v) | a new ByteTensor of elementwise comparisons (1 or 0)
torch.sum t:sum torch.prod t:prod torch.mean t:mean | t:sum([dim [, keepdim = true]]) | a number, or reduced along dim (kept as size 1; false drops it)
torch.max t:max torch.min t:min | t:max([dim]) | the largest element, or values, indices (1-based) along dim
torch.argmax t:argmax torch.argmin t:argmin | t:argmax([dim]) | 1-based index of the largest / smallest element (along dim)
torch.var t:var torch.std t:std | t:var([dim] [, biased = false]) | variance / standard deviation (unbiased by default)
torch.norm t:norm | t:norm([p = 2 [, dim]]) | the p-norm of all elements (a number), or along dim
torch.cumsum t:cumsum torch.cumprod t:cumprod | t:cumsum([dim = 1]) | running sum / product along dim
torch.sort t:sort | t:sort([dim] [, descending = false]) -> values, indices | a stable sort along dim (default: the last)
torch.topk t:topk | t:topk(k [, dim] [, largest = false]) -> values, indices | the k smallest (largest = true: largest) along dim, sorted
torch.dot t:dot | torch.dot(a, b) | the inner product of two tensors, a number
torch.mm t:mm | torch.mm([res,] a, b) / res:mm(a, b) | matrix product of 2-D tensors: [n x m] * [m x p] -> [n x p]
torch.mv t:mv | torch.mv([res,] M, v) | matrix-vector product: [n x m] * [m] -> [n]
torch.bmm t:bmm | torch.bmm([res,] a, b) | batched matrix product: [b x n x m] * [b x m x p] -> [b x n x p]
torch.matmul t:matmul | torch.matmul(a, b) | PyTorch's matmul: dot, mv, mm or batched mm by the dims, broadcasting batch dims
torch.ger torch.outer t:ger t:outer | torch.ger([res,] u, v) | outer product: [n] x [m] -> [n x m]
torch.addmm t:addmm | torch.addmm([res,] [beta,] M, [alpha,] a, b) | beta * M + alpha * (a * b); M:addmm(a, b) adds in place
torch.addmv t:addmv torch.addr t:addr torch.baddbmm t:baddbmm | torch.addmv([res,] [beta,] v, [alpha,] M, x) | beta * v + alpha * M x (addr: + u v^T, baddbmm: + batched mm)
torch.softmax torch.logSoftmax | torch.softmax([res,] x [, dim]) | softmax / log-softmax along dim (default: the last)
torch.crossEntropy torch.nllLoss | torch.crossEntropy(scores, target [, weight [, sizeAverage = true [, ignoreIndex]]]) | loss of N x C scores against N 1-based class indices (a 0-dim tensor); rows whose target is ignoreIndex add nothing
t:requiresGrad_ | t:requiresGrad_([on = true]) | makes t a leaf that autograd tracks (also: t.requiresGrad = true)
t:backward | loss:backward([gradOutput]) | back-propagates: fills .grad of the leaves loss depends on
torch.detach t:detach | t:detach() | the same data, cut from the autograd graph
t:zeroGrad | t:zeroGrad() | zeroes t.grad
t:free | t:free() | releases t's data now (before garbage collection)
nn.Module | nn.Module() | the base class of layers: forward/backward (Torch7) or m(x) + loss:backward() (PyTorch)
nn.Module:forward | m:forward(input) -> output | computes the module's output (also: m(input), recorded for autograd)
nn.Module:backward | m:backward(input, gradOutput) -> gradInput | gradient w.r.t. input; accumulates gradWeight/gradBias
nn.Module:parameters | m:parameters() -> params, grads | the lists of parameter tensors and their gradients
nn.Module:namedParameters | m:namedParameters() | {{name, param, grad}, ...} with PyTorch's names ('0.weight', ...)
nn.Module:getParameters | m:getParameters() -> flatParams, flatGrads | all parameters as one flat tensor (optim's functional API)
nn.Module:zeroGradParameters | m:zeroGradParameters() | zeroes the parameters' gradients
nn.Module:updateParameters | m:updateParameters(lr) | plain SGD step: param = param - lr * grad
nn.Module:training nn.Module:evaluate | m:training() / m:evaluate() | train / evaluation mode (Dropout)
nn.Module:float nn.Module:double nn.Module:type | m:float() / m:double() / m:type(name) | converts the parameters and buffers
nn.Module:cuda nn.Module:cpu | m:cuda() / m:cpu() | moves the parameters, gradients and buffers to the GPU (float32) / back to host memory
nn.Module:clone nn.Module:share | m:clone([shared fields...]) / m:share(other, 'weight', ...) | a deep copy / share tensors with other
nn.Module:apply nn.Module:listModules | m:apply(fn) / m:listModules() | calls fn on m and every submodule / lists them
nn.Module:clearState nn.Criterion:clearState | m:clearState() -> m | drops outputs, gradInputs, recorded graphs and each module's caches (nn.LSTM's last state and workspace, Dropout's mask) before saving
nn.Sequential | nn.Sequential() :add(m1):add(m2) | a chain: the output of each module feeds the next
nn.Container:add nn.Container:get nn.Container:size | c:add(m) / c:get(i) / c:size() | adds a module / the i-th module / their count
nn.ConcatTable nn.ParallelTable | nn.ConcatTable() / nn.ParallelTable() | each child on the same input / child i on input[i]; a table of outputs
nn.Linear | nn.Linear(inputSize, outputSize [, bias = true]) or (..., {bias = true}) | y = x W^T + b for [inputSize] or [batch x inputSize] inputs
nn.LookupTable | nn.LookupTable(nIndex, size) | embeddings: 1-based index tensor -> rows of a [nIndex x size] weight
nn.LSTM | nn.LSTM(inputSize, hiddenSize [, numLayers = 1 [, {batchFirst =, bias =, dropout =, returnState =}]]) | a fused LSTM over a T x B x I sequence (batchFirst: B x T x I); PyTorch's parameter names; unknown options are errors (batch_first: did you mean batchFirst?), bidirectional is not supported yet
nn.LSTMCell | nn.LSTMCell(inputSize, hiddenSize [, bias = true]) or (..., {bias = true}) | one LSTM step: m(x, {h, c}) -> {h', c'}
nn.Dropout | nn.Dropout([p = 0.5]) | zeroes elements with probability p in training (scaled by 1/(1-p)); identity in evaluate()
nn.ReLU nn.Tanh nn.Sigmoid | nn.ReLU() / nn.Tanh() / nn.Sigmoid() | elementwise activations
nn.LeakyReLU | nn.LeakyReLU([negval = 0.01]) | x or negval * x
nn.SoftMax nn.LogSoftMax | nn.SoftMax([dim]) / nn.LogSoftMax([dim]) | (log-)softmax along dim (default: the last)
nn.Identity | nn.Identity() | output = input
nn.View nn.Reshape | nn.View(sizes...) / nn.Reshape(sizes...) | reshapes the input (a batch dim in front is kept)
nn.Narrow nn.Select nn.Transpose | nn.Narrow(dim, offset, length) / nn.Select(dim, index) / nn.Transpose({d1, d2}, ...) | tensor views as modules
nn.JoinTable nn.SplitTable | nn.JoinTable(dim) / nn.SplitTable(dim) | concatenates a table of tensors / splits a tensor into a table
nn.SelectTable nn.NarrowTable | nn.SelectTable(i) / nn.NarrowTable(offset [, length]) | picks elements of a table input
nn.CAddTable nn.CMulTable | nn.CAddTable() / nn.CMulTable() | elementwise sum / product of a table of tensors
nn.Criterion | nn.Criterion() | the base of losses: crit:forward(input, target), crit:backward(input, target), crit(input, target)
nn.CrossEntropyCriterion | nn.CrossEntropyCriterion([weights [, sizeAverage = true [, ignoreIndex]]]) or ({weights =, sizeAverage =, ignoreIndex =, reduction = 'mean'|'sum'}) | log-softmax + NLL on N x C scores, 1-based whole-number class targets; ignoreIndex: a class whose rows add nothing (padding)
nn.ClassNLLCriterion | nn.ClassNLLCriterion([weights [, sizeAverage = true [, ignoreIndex]]]) or ({options}) | negative log-likelihood of log-probabilities; ignoreIndex as CrossEntropyCriterion's
nn.MSECriterion | nn.MSECriterion([sizeAverage = true]) or ({sizeAverage =, reduction =}) | mean squared error
nn.BCECriterion | nn.BCECriterion([weights [, sizeAverage = true]]) or ({weights =, sizeAverage =, reduction =}) | binary cross entropy of probabilities
nn.SpatialConvolution | nn.SpatialConvolution(nIn, nOut, kW, kH [, dW = 1, dH = 1, padW = 0, padH = padW]) | Torch7's 2-D convolution (W before H) over [N x] C x H x W inputs; weight nOut x nIn x kH x kW (im2col + GEMM)
nn.SpatialConvolution:noBias | m:noBias() -> m | Torch7: drops the convolution's bias (nn.Conv2d's {bias = false})
nn.Conv2d | nn.Conv2d(in, out, k [, {stride = 1, padding = 0, dilation = 1, groups = 1, bias = true}]) | PyTorch's 2-D convolution; k, stride, padding, dilation: n or {h, w}; padding 'valid' or 'same' too
nn.SpatialDilatedConvolution | nn.SpatialDilatedConvolution(nIn, nOut, kW, kH [, dW, dH, padW, padH, dilationW = 1, dilationH = dilationW]) | a 2-D convolution with dilated (spaced) kernel taps
nn.Conv1d | nn.Conv1d(in, out, k [, {stride, padding, dilation, groups, bias}]) | PyTorch's 1-D convolution over [N x] C x L inputs; weight out x in/groups x k
nn.TemporalConvolution | nn.TemporalConvolution(inputFrameSize, outputFrameSize, kW [, dW = 1]) | Torch7's 1-D convolution over [N x] nFrame x inputFrameSize (frames first); weight outputFrameSize x (kW * inputFrameSize)
nn.SpatialFullConvolution nn.ConvTranspose2d | nn.SpatialFullConvolution(nIn, nOut, kW, kH [, dW, dH, padW, padH, adjW, adjH]) / nn.ConvTranspose2d(in, out, k [, {stride, padding, outputPadding, groups, bias, dilation}]) | transposed 2-D convolution (the gradient of a convolution); weight in x out/groups x kH x kW
nn.SpatialMaxPooling nn.MaxPool2d | nn.SpatialMaxPooling(kW, kH [, dW = kW, dH = kH, padW = 0, padH = 0]) / nn.MaxPool2d(k [, {stride = k, padding = 0, dilation = 1, ceilMode = false}]) | 2-D max pooling over [N x] C x H x W
nn.SpatialAveragePooling nn.AvgPool2d | nn.SpatialAveragePooling(kW, kH [, dW = 1, dH = 1, padW = 0, padH = 0]) / nn.AvgPool2d(k [, {stride = k, padding = 0, ceilMode = false, countIncludePad = true}]) | 2-D average pooling
nn.SpatialMaxPooling:ceil nn.SpatialMaxPooling:floor nn.SpatialAveragePooling:ceil nn.SpatialAveragePooling:floor | m:ceil() / m:floor() -> m | Torch7: round the pooled output size up (PyTorch's ceilMode) or down
nn.SpatialAveragePooling:setCountIncludePad nn.SpatialAveragePooling:setCountExcludePad | m:setCountExcludePad() -> m | whether padding counts in the average's divisor (included by default)
nn.MaxPool1d nn.AvgPool1d | nn.MaxPool1d(k [, {stride = k, padding = 0, dilation = 1, ceilMode = false}]) / nn.AvgPool1d(k [, {...}]) | 1-D pooling over [N x] C x L
nn.SpatialAdaptiveMaxPooling nn.SpatialAdaptiveAveragePooling nn.AdaptiveMaxPool2d nn.AdaptiveAvgPool2d | nn.SpatialAdaptiveMaxPooling(W, H) / nn.AdaptiveAvgPool2d(n or {H, W}) | pooling to a fixed H x W output whatever the input's size
nn.BatchNormalization nn.BatchNorm1d | nn.BatchNormalization(n [, eps = 1e-5, momentum = 0.1, affine = true]) / nn.BatchNorm1d(n [, {eps, momentum, affine, trackRunningStats}]) | batch norm over N x n or N x n x L: batch statistics in training (running_mean/var updated, the variance unbiased), running ones after evaluate()
nn.SpatialBatchNormalization nn.BatchNorm2d | nn.SpatialBatchNormalization(n [, eps, momentum, affine]) / nn.BatchNorm2d(n [, {...}]) | batch norm per channel of N x n x H x W
nn.LayerNorm | nn.LayerNorm(normalizedShape [, {eps = 1e-5, elementwiseAffine = true}]) | normalises the last dims (a size or a list) of each sample to zero mean and unit variance, then weight and bias
nn.GroupNorm | nn.GroupNorm(numGroups, numChannels [, {eps = 1e-5, affine = true}]) | normalises each group of channels of each sample; per-channel weight and bias
nn.SpatialZeroPadding nn.ZeroPad2d | nn.SpatialZeroPadding(l [, r, t, b]) / nn.ZeroPad2d(p or {l, r, t, b}) | pads H x W with zeros (negative values crop)
nn.SpatialReflectionPadding nn.ReflectionPad2d nn.SpatialReplicationPadding nn.ReplicationPad2d | nn.ReflectionPad2d(p or {l, r, t, b}) / nn.SpatialReplicationPadding(l, r, t, b) | pads H x W by mirroring the border (reflection) or repeating it (replication)
nn.Upsample nn.UpsamplingNearest2d nn.UpsamplingBilinear2d | nn.Upsample({size = {h, w} or scaleFactor = s, mode = 'nearest' or 'bilinear', alignCorners = false}) | resizes N x C x H x W images (UpsamplingBilinear2d: corners aligned)
nn.SpatialUpSamplingNearest | nn.SpatialUpSamplingNearest(scale) | Torch7: repeats each pixel scale x scale times
optim.sgd | optim.sgd(feval, x, config, state) -> x, {f} | Torch7 SGD step; feval(x) -> loss, dloss/dx; config: learningRate (Torch7's default 1e-3), learningRateDecay, momentum, dampening, weightDecay, nesterov
optim.adam | optim.adam(feval, x, config, state) -> x, {f} | Adam step; config: learningRate (1e-3), beta1, beta2, epsilon, weightDecay
optim.rmsprop | optim.rmsprop(feval, x, config, state) -> x, {f} | RMSprop step; config: learningRate (1e-2), alpha, epsilon, weightDecay
optim.adagrad | optim.adagrad(feval, x, config, state) -> x, {f} | Adagrad step; config: learningRate (1e-3), learningRateDecay, weightDecay, epsilon
optim.SGD | optim.SGD(params, {lr =, momentum =, dampening =, weightDecay =, nesterov =}) | PyTorch-style optimiser: opt:zeroGrad(), loss:backward(), opt:step(); lr is required, as in PyTorch
optim.Adam optim.RMSprop optim.Adagrad | optim.Adam(params, {lr = 1e-3, betas =, eps =, weightDecay =}) / optim.RMSprop(params, {lr = 1e-2, alpha =, eps =, weightDecay =}) / optim.Adagrad(params, {lr = 1e-2, lrDecay =, eps =, weightDecay =}) | PyTorch-style optimisers with PyTorch's defaults: opt:zeroGrad() and opt:step()
optim.clipGradNorm | optim.clipGradNorm(params, maxNorm) -> norm | scales the gradients in place so their total 2-norm is at most maxNorm
datasets.MNIST datasets.FashionMNIST | datasets.MNIST{root =, train = true, transform =, targetTransform =, download = false, mirrors =} | a dataset: #ds samples, ds[i] = {input, target} (1-based classes); no root: the bundled MNIST subset
datasets.DataLoader | datasets.DataLoader{dataset =, batchSize = 1, shuffle = false, dropLast = false, seed =} | batches: for inputs, targets in loader:iter() do ... end
transforms.ToTensor | transforms.ToTensor() | uint8 [H x W] or [C x H x W] -> float [C x H x W] in [0, 1]
transforms.Normalize | transforms.Normalize(mean, std) | (x - mean[c]) / std[c] per channel
transforms.Compose | transforms.Compose{t1, t2, ...} | applies the transforms in order
transforms.Lambda | transforms.Lambda(fn [, batched]) | fn(x) as a transform
]==]

local entries, by_name = {}, {}
for line in text:gmatch('[^\n]+') do
  local names, sig, desc = line:match('^(.-)%s*|%s*(.-)%s*|%s*(.-)%s*$')
  local e = { names = {}, sig = sig, desc = desc }
  for n in names:gmatch('%S+') do
    e.names[#e.names + 1] = n
    by_name[n] = by_name[n] or e
  end
  entries[#entries + 1] = e
end
help.entries = entries

local function tensor_methods()
  local torch = package.loaded.torch
  local mt = torch and getmetatable(torch.Tensor)
  return mt and mt.__index
end

-- The value a help name stands for, if its module is loaded: 't:add' is the tensor method,
-- 'nn.Module:forward' the class's field.
function help.resolve(name)
  local root, rest = name:match('^([%w_]+)(.*)$')
  local v
  if root == 't' then v = tensor_methods() else v = package.loaded[root] end
  for key in rest:gmatch('[.:]([%w_]+)') do
    if type(v) ~= 'table' then return nil end
    v = rawget(v, key) or (getmetatable(v) and v[key])
  end
  return v
end

-- Normalises the names people type: 'Tensor:add', 'torch.Tensor.add', 'x:add' -> 't:add'.
local function canonical(name)
  name = name:gsub('^%s+', ''):gsub('[%s%(%)]+$', '')
  if by_name[name] then return name end
  local m = name:match('^[%w_.]*[Tt]ensor[.:]([%w_]+)$')
  if m and by_name['t:' .. m] then return 't:' .. m end
  return name
end

local function format(e)
  local also = {}
  if #e.names > 1 then
    for _, n in ipairs(e.names) do also[#also + 1] = n end
  end
  local s = e.sig .. '\n  ' .. e.desc
  if #also > 1 and #also <= 12 then s = s .. '\n  (' .. table.concat(also, ', ') .. ')' end
  return s
end

-- The entry for a value: the function, class, or the class of an instance or tensor.
function help.lookup(x)
  if x == nil then return nil end
  if type(x) == 'string' then return by_name[canonical(x)] end
  for _, e in ipairs(entries) do
    for _, n in ipairs(e.names) do
      if rawequal(help.resolve(n), x) then return e end
    end
  end
  local torch = package.loaded.torch
  if torch and torch.isTensor and torch.isTensor(x) then return by_name['torch.Tensor'] end
  local mt = getmetatable(x)
  if type(mt) == 'table' and rawget(mt, '__typename') then
    return by_name[rawget(mt, '__typename')] or help.lookup(mt)
  end
  return nil
end

-- The entries whose name ends with `short` ('mm' finds torch.mm and t:mm), or that live
-- under the prefix `short` ('nn' lists nn's).
function help.find(short)
  local found, seen = {}, {}
  for _, e in ipairs(entries) do
    for _, n in ipairs(e.names) do
      local last = n:match('[%w_]+$')
      local under = n:sub(1, #short + 1) == short .. '.' or n:sub(1, #short + 1) == short .. ':'
      if (last == short or under) and not seen[e] then
        found[#found + 1], seen[e] = e, true
      end
    end
  end
  return found
end

-- A printable description of x (a value or a name), or nil.
function help.describe(x)
  local e = help.lookup(x)
  if e then return format(e) end
  if type(x) ~= 'string' then return nil end
  local found = help.find(canonical(x))
  if #found == 0 then return nil end
  if #found == 1 then return format(found[1]) end
  local lines = {}
  for _, f in ipairs(found) do
    local sep = #f.sig < 44 and (' '):rep(45 - #f.sig) or '\n' .. (' '):rep(45)
    lines[#lines + 1] = f.sig .. sep .. f.desc
  end
  return table.concat(lines, '\n')
end

return help
