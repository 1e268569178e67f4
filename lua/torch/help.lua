-- torch.help — one-line descriptions with signatures of the main torch functions, tensor
-- methods, nn modules, optim functions, datasets and transforms, for the REPL's
-- help(torch.mm) and ?torch.mm.
--
--   local H = require 'torch.help'
--   H.describe(torch.mm)      -- by value (functions, classes, class instances, tensors)
--   H.describe('torch.mm')    -- by name; 't:add' / 'Tensor:add' name a tensor method
--   H.find('mm')              -- the entries whose last name component is 'mm'
--   H.text(x)                 -- what help(x) / ?x print: a description, a module's list
--                             -- (help(nn) = ?nn), or "nn.Linaer does not exist. Nearest: ..."
--
-- Every public name of torch, nn, optim, datasets and transforms needs an entry (spec 38 walks
-- the tables), and docs/API.md is generated from these entries (make docs, tools/gendocs.lua).
-- Names of the methods of objects a constructor function makes are written optim.SGD:step.
-- Each line of `text` below is  names | signature | description. Names: torch.f (module
-- function), t:f (tensor method), nn.M / nn.Module:f, optim.f, datasets.f, transforms.f;
-- several names share a line when they are the same operation. Entries whose module is not
-- loaded (or that this build lacks) still answer by name.
local help = {}

local text = [==[
torch.Tensor torch.FloatTensor torch.DoubleTensor torch.LongTensor torch.ByteTensor | torch.Tensor(sizes...) / torch.Tensor({nested table}) / torch.Tensor(storage [, offset, sizes]) | a new tensor of the default type (float32; Double = float64, Long = int64, Byte = uint8), zero-filled from sizes
torch.zeros | torch.zeros(sizes...) / torch.zeros({sizes}) | a tensor of zeros of the default type (sizes: integers, or one table or LongStorage of them)
torch.ones | torch.ones(sizes...) / torch.ones({sizes}) | a tensor of ones of the default type
torch.empty | torch.empty(sizes...) / torch.empty({sizes}) | a tensor of the default type (contents unspecified)
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
torch.setnumthreads torch.getnumthreads | torch.setnumthreads(n) / torch.getnumthreads() | the thread count of the core's pool, 1..4096 (default: LUATORCH_NUM_THREADS, else OMP_NUM_THREADS, else the CPUs available)
torch.Timer | torch.Timer() -> timer | a stopwatch: timer:time().real seconds; reset(), stop(), resume()
torch.clock | torch.clock() | seconds on a monotonic clock
torch.ProgressBar | torch.ProgressBar(total [, {stream = io.stderr, out = io.stdout, width = 30, done = 0, tty =}]) -> bar | a progress bar on a terminal: bar:update(done [, note]) shows count, elapsed, the run's ETA and it/s; bar:write(line) prints a log line above it; bar:finish([note])
torch.noGrad | torch.noGrad(fn, ...) | runs fn with autograd recording off, returns its results
torch.autocast | torch.autocast('bfloat16', fn, ...) -> fn's results / local ac <close> = torch.autocast('bfloat16') (ac:close()) | bf16 autocast on the CPU: every float32 matrix product (Linear, mm/bmm/matmul/addmm, LSTM/GRU/RNN, convolutions; forward and backward) on bf16-rounded operands with fp32 accumulation; parameters, gradients, optimiser state, pointwise math stay fp32; nests, restored on errors; emulated (rounded operands, fp32 GEMM, a warning) without AVX512_BF16/AMX or with LUATORCH_BF16=emulate; CUDA tensors pass through in fp32
torch.isAutocastEnabled torch.getAutocastDtype | torch.isAutocastEnabled() / torch.getAutocastDtype() | whether bf16 autocast is on; its dtype ('bfloat16')
torch.setGemmEngine torch.getGemmEngine | torch.setGemmEngine('auto' or 'openblas' or 'onednn') / torch.getGemmEngine() | the float32 GEMM engine: 'auto' (default) picks oneDNN or OpenBLAS per shape; the others force one (benchmarks); 'onednn' is an error without oneDNN
torch.setGradEnabled torch.isGradEnabled | torch.setGradEnabled(on) / torch.isGradEnabled() | turn autograd recording on or off
torch.gradcheck | torch.gradcheck(fn, inputs [, {eps =, atol =, rtol =}]) | compares autograd's gradients with central differences (DoubleTensors)
t:size | t:size([dim]) / x.shape | the sizes (a LongStorage), or the size of dim; x.shape (a field): the sizes as a Lua table {2, 3}, PyTorch's
t:dim t:nDimension | t:dim() | the number of dimensions
t:nElement t:numel torch.numel | t:nElement() | the number of elements
t:stride | t:stride([dim]) | the strides in elements
t:type | t:type([typename]) | the type name, or a copy converted to typename ('torch.DoubleTensor')
t:float t:double t:long t:byte | t:float() / t:double() / t:long() / t:byte() | converted copy in host memory (t itself when it already has that type)
torch.BFloat16Tensor t:bfloat16 | torch.BFloat16Tensor(sizes...) / ({nested table}) / (storage [, offset, sizes]) / t:bfloat16() | bfloat16 tensors (1 sign, 8 exponent, 7 mantissa bits) in host memory, rounded to nearest even from any type (double and int64 through float32, as PyTorch); copy, views, fill, element access, printing, torch.save and safetensors BF16 work on the stored values; arithmetic (pointwise ops, comparisons, reductions, products, softmax and the losses, random fills, optimiser steps, autograd with BFloat16 gradients) runs as PyTorch's CPU does: operands widened to float32, the float32 op, the result rounded back (a Float operand gives a Float result, a Double one Double); the fused LSTM/GRU/RNN kernels raise "not supported for torch.BFloat16Tensor (convert with :float())"
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
torch.fmod t:fmod torch.cfmod t:cfmod | torch.fmod([res,] t, v) | remainder with the sign of the dividend (v a number or tensor; cfmod: Torch7's name for a tensor v)
torch.remainder t:remainder torch.cremainder t:cremainder | torch.remainder([res,] t, v) | remainder with the sign of the divisor (Python's %; v a number or tensor; cremainder: Torch7's name for a tensor v)
torch.clamp t:clamp | torch.clamp([res,] t, min, max) | elementwise limit to [min, max]
torch.cmax t:cmax torch.cmin t:cmin torch.maximum torch.minimum t:maximum t:minimum | torch.cmax([res,] a, b) | elementwise maximum / minimum of two tensors (or a tensor and a number)
torch.abs t:abs torch.neg t:neg torch.sign t:sign | torch.abs([res,] t) | elementwise abs(x), -x, sign(x) (method: in place)
torch.exp t:exp torch.log t:log torch.log1p t:log1p | torch.exp([res,] t) | elementwise e^x, ln x, ln(1 + x) (method: in place; floating types)
torch.sqrt t:sqrt torch.rsqrt t:rsqrt torch.square t:square | torch.sqrt([res,] t) | elementwise sqrt(x), 1/sqrt(x), x^2
torch.sin t:sin torch.cos t:cos torch.atan2 t:atan2 | torch.sin([res,] t) / torch.atan2([res,] y, x) | elementwise trigonometry
torch.tan t:tan torch.asin t:asin torch.acos t:acos torch.atan t:atan | torch.tan([res,] t) | elementwise tan, arcsin, arccos, arctan (method: in place; floating types)
torch.sinh t:sinh torch.cosh t:cosh | torch.sinh([res,] t) | elementwise hyperbolic sine and cosine (method: in place; floating types)
torch.expm1 t:expm1 torch.erf t:erf torch.erfc t:erfc | torch.expm1([res,] t) | elementwise e^x - 1 (exact near 0), the error function and 1 - erf(x) (method: in place; floating types)
torch.lgamma t:lgamma torch.digamma t:digamma | torch.lgamma([res,] t) | elementwise log|Gamma(x)| and its derivative psi(x) (PyTorch's poles: digamma(0) = -inf, NaN at negative integers; method: in place; floating types)
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
torch.inverse t:inverse | torch.inverse(A) / A:inverse() | A^{-1} of a square Float or Double matrix or of each of a batch (... x n x n), with autograd; LAPACK (OpenBLAS) getrf/getri on host copies (CUDA tensors too: no cuSOLVER); a singular matrix is an error naming the zero pivot U(i,i); NaN or infinite elements are refused
torch.det t:det | torch.det(A) / A:det() | the determinant: a number for a matrix (a 0-dim tensor when recorded for autograd, as t:sum()), a tensor of the batch's shape for a batch; autograd (the cofactor matrix, also at singular A)
torch.solve | torch.solve(A, B) | X with A X = B (PyTorch's linalg.solve): A (... x n x n), B (... x n x k) or a vector (... x n) with A's batch dims (no broadcasting); autograd for A and B; a singular A is an error
torch.gesv | torch.gesv(B, A) -> X, LU | Torch7's order of torch.solve(A, B); LU: A's packed LU factors (PyTorch's lu_factor: unit L below the diagonal, U on and above; rows pivoted), no gradient through LU
torch.cholesky t:cholesky | torch.cholesky(A [, upper = false]) | the Cholesky factor of a symmetric positive definite A (or batch): lower L with A = L L^T, or upper U = L^T; reads A's lower triangle; autograd (the symmetric gradient, PyTorch's); not positive definite: an error naming the minor
torch.potrf | torch.potrf(A [, 'U' or 'L']) | Torch7's name of the Cholesky factor: 'U' (the default) gives U with A = U^T U, 'L' gives L
torch.qr t:qr | torch.qr(A) -> Q, R | the reduced QR of an m x n matrix (or batch), k = min(m, n): Q (m x k) orthonormal columns, R (k x n) upper triangular (LAPACK's signs, as PyTorch's); no gradient yet (recording raises: use torch.noGrad or A:detach())
torch.svd t:svd | torch.svd(A [, some = true]) -> U, S, V | A = U diag(S) V^T with V, not V^T (Torch7's and PyTorch's torch.svd); S descending; some = false: the full square U and V; no gradient yet (recording raises)
torch.symeig t:symeig | torch.symeig(A [, eigenvectors = false [, upper = true]]) -> e, V | eigenvalues of a symmetric matrix (or batch), ascending, and with eigenvectors the orthonormal eigenvectors as V's columns (else V is empty); upper: which triangle is read; Torch7's 'V'/'N' and 'U'/'L' work too; no gradient yet (recording raises)
torch.eigh | torch.eigh(A [, 'L' or 'U']) -> e, V | PyTorch's linalg.eigh: torch.symeig with eigenvectors, reading the lower triangle by default
torch.mv t:mv | torch.mv([res,] M, v) | matrix-vector product: [n x m] * [m] -> [n]
torch.bmm t:bmm | torch.bmm([res,] a, b) | batched matrix product: [b x n x m] * [b x m x p] -> [b x n x p]
torch.matmul t:matmul | torch.matmul(a, b) | PyTorch's matmul: dot, mv, mm or batched mm by the dims, broadcasting batch dims
torch.ger torch.outer t:ger t:outer | torch.ger([res,] u, v) | outer product: [n] x [m] -> [n x m]
torch.addmm t:addmm | torch.addmm([res,] [beta,] M, [alpha,] a, b) | beta * M + alpha * (a * b); M:addmm(a, b) adds in place
torch.addmv t:addmv torch.addr t:addr torch.baddbmm t:baddbmm | torch.addmv([res,] [beta,] v, [alpha,] M, x) | beta * v + alpha * M x (addr: + u v^T, baddbmm: + batched mm)
torch.softmax torch.logSoftmax | torch.softmax([res,] x [, dim]) | softmax / log-softmax along dim (default: the last)
torch.FloatStorage torch.DoubleStorage torch.LongStorage torch.ByteStorage torch.BFloat16Storage | torch.FloatStorage(n or {values}) | a flat block of elements (Torch7's storages); t:storage() returns one, s[i] reads and writes element i
torch.defaultdtype | torch.defaultdtype() | the default type's dtype index (0 float32, 1 float64, 2 int64, 3 uint8); torch.getdefaulttensortype() names it
torch.getmetatable | torch.getmetatable('nn.Linear') | the class (metatable) torch.class registered under that name
torch.allocatorStats | torch.allocatorStats() -> {liveBytes, peakBytes, allocatedBytes, allocations, cachedBytes, caches, limitBytes} | the core allocator's counters (host memory; torch.cuda.memoryAllocated for the device); limitBytes: the most one allocation may ask for (RAM + swap)
torch.isatty | torch.isatty([file = io.stdout]) | whether a Lua file (or a descriptor number) is a terminal
torch.uniform torch.normal torch.bernoulli torch.random | torch.uniform([a, b]) / torch.normal([mean, std]) / torch.bernoulli([p]) / torch.random([a,] [b]) | one random number (t:uniform(...) etc. fill a tensor); torch.uniform(t, ...) fills t
torch.indexCopy torch.indexAdd torch.indexFill | torch.indexCopy(t, dim, idx, src) ... | the function forms of t:indexCopy, t:indexAdd, t:indexFill (write into t)
torch.scatter torch.scatterAdd | torch.scatter(t, dim, idx, src or v) / torch.scatterAdd(t, dim, idx, src) | the function forms of t:scatter and t:scatterAdd (write into t)
t:cinv | t:cinv() | elementwise 1/x in place (Torch7's name of reciprocal)
torch.linear | torch.linear(x, weight [, bias]) | x W^T + b in one recorded op (what nn.Linear runs)
torch.lstm | torch.lstm(x, h0, c0, weights...) | the fused multi-layer LSTM op behind nn.LSTM (one autograd node per sequence; see nn.LSTM)
torch.lstmCell | torch.lstmCell(x, h, c, weights...) | one fused LSTM step, the op behind nn.LSTMCell
torch.readIDX | torch.readIDX(path [, ndim]) | an IDX file (gzip or plain) as a new tensor (MNIST's format; ByteTensor for ubyte data)
torch.save | torch.save(path, obj) | writes numbers, strings, tables, tensors and nn modules (never code) to path, atomically, with a CRC (docs/checkpoint-format.md)
torch.load | torch.load(path) | the value torch.save wrote; modules come back ready to train
torch.saveSafetensors | torch.saveSafetensors(path, {name = tensor, ...} [, {key = 'value'}]) | writes tensors (F32, F64, I64, U8, BF16) in the safetensors format PyTorch reads (m:stateDict() gives PyTorch's names)
torch.loadSafetensors | torch.loadSafetensors(path) -> {name = tensor, ...}, metadata | reads a safetensors file (PyTorch's safetensors.torch.save_file)
torch.CmdLine | local cmd = torch.CmdLine() | Torch7's command-line option parser for scripts: cmd:option(...), cmd:parse(arg)
torch.CmdLine:text | cmd:text([line]) | adds a line of text to the help
torch.CmdLine:option | cmd:option('-lr', 0.1, 'learning rate') | declares an option, its default (which gives its type) and help
torch.CmdLine:parse | cmd:parse(arg) -> opt | the options as a table (-lr 0.2, --lr 0.2, --lr=0.2; -h / --help prints the help and exits)
torch.CmdLine:help | cmd:help([progname]) | prints the usage and the options with their defaults
torch.ProgressBar:update torch.ProgressBar:finish torch.ProgressBar:write | bar:update(done [, note]) / bar:finish([note]) / bar:write(line) | redraws (at most ~20 times a second) / draws the end and a newline / prints a line above the bar and redraws it
torch.display | torch.display(x [, kind]) | shows x: in a Jupyter notebook (the luatorch kernel, where display is a global) as an image, HTML or Markdown; elsewhere prints its text. x: a media, data of kind 'png' 'jpeg' 'svg' 'html' 'markdown' 'text', a file name (.png .jpg .svg .html .md), or any value (as the prompt shows it)
torch.media | torch.media(data, kind) / torch.media('fig.png') -> m | rich data (kind 'png' 'jpeg' 'svg' 'html' 'markdown' 'text', or a file's by its extension); a notebook cell whose value is m shows it inline
torch.isMedia | torch.isMedia(x) | whether x is a media (torch.media, torch.plot)
torch.media:save torch.media:bundle | m:save(path) -> m / m:bundle([encode]) -> {[mime] = data, ['text/plain'] = ...} | writes the bytes to a file (a temporary file renamed over it) / the Jupyter mime bundle (binary data through encode, base64)
torch.plot | torch.plot(series [, {x =, title =, xlabel =, ylabel =, y2label =, style = 'lines', format = 'svg', width = 640, height = 360, logy = false, yrange = {lo, hi}, y2range = {lo, hi}, file =}]) -> media | a line plot drawn by gnuplot (SVG, or PNG: pngcairo when there): series is a 1-D tensor or number list, or a list of them or of {y =, x =, name =, style = 'lines'|'points'|'linespoints', axis = 1|2}; file = saves it; shown inline in a notebook
torch.Timer:time torch.Timer:reset torch.Timer:stop torch.Timer:resume | timer:time().real / timer:reset() / timer:stop() / timer:resume() | the seconds measured; restart from 0; pause; go on
torch.autograd | torch.autograd | the Lua side of autograd: Function, backward (and torch.gradcheck, torch.noGrad)
torch.autograd.Function torch.applyFunction | torch.autograd.Function{forward = fn(ctx, ...), backward = fn(ctx, grads...)} | a differentiable function with a backward written in Lua; call it as f(x, ...) (docs/extending.md)
torch.autograd.backward | torch.autograd.backward({roots...}, {gradients...} [, retainGraph]) | back-propagates from several roots at once
torch.cuda | torch.cuda | the CUDA backend's functions (torch.cuda.isAvailable() first)
torch.cuda.cudaMallocCount | torch.cuda.cudaMallocCount() | how many times the caching allocator called cudaMalloc (cache misses)
torch.clipGradNorm | torch.clipGradNorm(params, maxNorm) -> norm | optim.clipGradNorm (set when optim is loaded)
torch.crossEntropy torch.nllLoss | torch.crossEntropy(scores, target [, weight [, sizeAverage = true [, ignoreIndex]]]) | loss of N x C scores against N 1-based class indices, or N x C x d1 ... against N x d1 ... (a 0-dim tensor); rows whose target is ignoreIndex add nothing
t:requiresGrad_ | t:requiresGrad_([on = true]) | makes t a leaf that autograd tracks (also: t.requiresGrad = true)
t:backward | loss:backward([gradOutput] [, retainGraph]) (retainGraph: a boolean or {retainGraph = true}) | back-propagates: fills .grad of the leaves loss depends on
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
nn.Module:training nn.Module:evaluate nn.Module:eval | m:training() / m:evaluate() (PyTorch's m:eval()) | train / evaluation mode (Dropout); m.train is Torch7's mode flag, so PyTorch's m:train() is m:training() here
nn.Module:zeroGrad nn.Module:children | m:zeroGrad() / m:children() | PyTorch's zero_grad (zeroGradParameters) / the direct submodules
nn.Module:findModules nn.Module:replace | m:findModules(typename) / m:replace(fn) | every module of a type in the tree, and their containers / each module becomes fn(module) (Torch7's)
nn.Container:insert nn.Container:remove | c:insert(module [, index]) / c:remove([index]) -> module | adds a child at index (default: the end) / takes one out (default: the last)
nn.Module:float nn.Module:double nn.Module:type | m:float() / m:double() / m:type(name) | converts the parameters and buffers
nn.Module:bfloat16 | m:bfloat16() (= m:type('torch.BFloat16Tensor')) | PyTorch's model.to(torch.bfloat16): parameters, gradients and buffers become BFloat16; forward, backward (both styles) and optim's updates compute in float32 on widened copies and round each result to bfloat16; nn.LSTM/GRU/RNN and their cells refuse it (fused float kernels: keep them float and use torch.autocast)
nn.Module:cuda nn.Module:cpu | m:cuda() / m:cpu() | moves the parameters, gradients and buffers to the GPU (float32) / back to host memory
nn.Module:clone nn.Module:share | m:clone([shared fields...]) / m:share(other, 'weight', ...) | a deep copy / share tensors with other
nn.Module:apply nn.Module:listModules | m:apply(fn) / m:listModules() | calls fn on m and every submodule / lists them
nn.Module:clearState nn.Criterion:clearState | m:clearState() -> m | drops outputs, gradInputs, recorded graphs and each module's caches (nn.LSTM's last state and workspace, Dropout's mask) before saving
nn.Module:stateDict nn.Module:loadStateDict | m:stateDict() / m:loadStateDict(sd [, strict = true]) | the parameters by PyTorch's names (detached, sharing storage) / copies them back, checking names and sizes first (Float, Double and BFloat16 entries convert to the parameter's type)
nn.Module:updateOutput nn.Module:updateGradInput nn.Module:accGradParameters | m:updateOutput(input) / m:updateGradInput(input, gradOutput) / m:accGradParameters(input, gradOutput [, scale]) | Torch7's layer interface: override updateOutput (and updateGradInput to write a backward by hand)
nn.Module:usesAutograd | m:usesAutograd() | whether the module's backward comes from autograd (it does not override updateGradInput)
nn.Container | nn.Container() | the base of containers (Sequential, ConcatTable, ParallelTable): children in m.modules
nn.Linear:reset nn.Linear:resetPyTorch nn.Linear:resetTorch7 nn.LSTM:reset nn.LSTMCell:reset nn.LookupTable:reset nn.RNNBase:reset nn.RNNCellBase:reset nn.SpatialConvolution:reset nn.SpatialFullConvolution:reset nn.TemporalConvolution:reset nn.Conv1d:reset nn.BatchNormalization:reset nn.LayerNorm:reset nn.GroupNorm:reset | m:reset([stdv]) | re-initialises the parameters (Linear: PyTorch's init; resetTorch7 / resetPyTorch pick one)
nn.Criterion:forward nn.Criterion:backward nn.Criterion:updateOutput nn.Criterion:updateGradInput | crit:forward(input, target) -> loss / crit:backward(input, target) -> gradInput | Torch7's criterion calls (crit(input, target) records for autograd)
nn.Criterion:float nn.Criterion:double nn.Criterion:bfloat16 nn.Criterion:cuda nn.Criterion:cpu nn.Criterion:type | crit:cuda() / crit:float() / crit:type(name) | converts the criterion's buffers (class weights)
nn.CrossEntropyCriterion:loss nn.ClassNLLCriterion:loss nn.MSECriterion:loss nn.BCECriterion:loss nn.AbsCriterion:loss nn.BCELoss:loss nn.BCEWithLogitsCriterion:loss nn.BCEWithLogitsLoss:loss nn.CosineEmbeddingCriterion:loss nn.CosineEmbeddingLoss:loss nn.CrossEntropyLoss:loss nn.DistKLDivCriterion:loss nn.HingeEmbeddingCriterion:loss nn.HingeEmbeddingLoss:loss nn.KLDivLoss:loss nn.L1Loss:loss nn.MSELoss:loss nn.MarginCriterion:loss nn.MarginRankingCriterion:loss nn.MarginRankingLoss:loss nn.MultiLabelMarginCriterion:loss nn.MultiLabelMarginLoss:loss nn.MultiLabelSoftMarginCriterion:loss nn.MultiLabelSoftMarginLoss:loss nn.MultiMarginCriterion:loss nn.MultiMarginLoss:loss nn.NLLLoss:loss nn.SmoothL1Criterion:loss nn.SmoothL1Loss:loss nn.SoftMarginCriterion:loss nn.SoftMarginLoss:loss | crit:loss(input, target) -> 0-dim tensor | the loss as a recorded tensor (what a criterion written with autograd implements)
nn.Sequential | nn.Sequential() :add(m1):add(m2) | a chain: the output of each module feeds the next
nn.Container:add nn.Container:get nn.Container:size | c:add(m) / c:get(i) / c:size() | adds a module / the i-th module / their count
nn.Container:namedBuffers | c:namedBuffers() -> {{name, tensor}, ...} | the children's buffers (batch norm's running statistics) under the prefixes namedParameters gives ('1.running_mean'), which stateDict and loadStateDict carry
nn.ConcatTable nn.ParallelTable | nn.ConcatTable() / nn.ParallelTable() | each child on the same input / child i on input[i]; a table of outputs
nn.Linear | nn.Linear(inputSize, outputSize [, bias = true]) or (..., {bias = true}) | y = x W^T + b for [inputSize] or [batch x inputSize] inputs
nn.LookupTable | nn.LookupTable(nIndex, size) | embeddings: 1-based index tensor -> rows of a [nIndex x size] weight
nn.LSTM | nn.LSTM(inputSize, hiddenSize [, numLayers = 1 [, {batchFirst =, bias =, dropout =, bidirectional =, returnState =, stateful =}]]) | a fused LSTM over a T x B x I sequence (batchFirst: B x T x I); PyTorch's parameter names; m(x [, {h0, c0} [, {lengths = L}]]) -> output, {h_n, c_n}; bidirectional: output 2H and _reverse parameters; unknown options are errors (batch_first: did you mean batchFirst?)
nn.LSTMCell | nn.LSTMCell(inputSize, hiddenSize [, bias = true]) or (..., {bias = true}) | one LSTM step: m(x, {h, c}) -> {h', c'}
nn.RNN | nn.RNN(inputSize, hiddenSize [, numLayers = 1 [, {nonlinearity = 'tanh', batchFirst =, bias =, dropout =, bidirectional =, returnState =, stateful =}]]) | an Elman RNN (tanh or relu) over a T x B x I sequence, PyTorch's parameters; m(x [, h0 [, {lengths = L}]]) -> output, h_n
nn.GRU | nn.GRU(inputSize, hiddenSize [, numLayers = 1 [, {batchFirst =, bias =, dropout =, bidirectional =, returnState =, stateful =}]]) | a GRU (PyTorch's gates r, z, n) over a T x B x I sequence; m(x [, h0 [, {lengths = L}]]) -> output, h_n; lengths: a padded batch (outputs past a length are 0)
nn.RNNCell nn.GRUCell | nn.RNNCell(inputSize, hiddenSize [, bias = true [, nonlinearity = 'tanh']]) / nn.GRUCell(inputSize, hiddenSize [, bias = true]) (or an options table) | one step: m(x [, h]) -> h'
nn.RNN:remember nn.GRU:remember nn.LSTM:remember nn.RNNBase:remember | m:remember([on = true]) -> m | stateful sequences: each call without an initial state starts from the last call's final state, detached (truncated BPTT); the option stateful = true does the same
nn.RNN:resetState nn.GRU:resetState nn.LSTM:resetState nn.RNNBase:resetState | m:resetState() -> m | the next call of a stateful recurrent layer starts from zeros
nn.RNNBase nn.RNNCellBase | (base classes) | what nn.RNN and nn.GRU share (the layer stack, options, stateful state) / what nn.RNNCell and nn.GRUCell share; not made directly
torch.rnnLayer | torch.rnnLayer(mode, x, h0, c0, {w_ih, w_hh [, b_ih, b_hh]} [, reverse [, lengths [, workspace]]]) -> y, h_n [, c_n] | one recurrent layer ('tanh', 'relu', 'gru', 'lstm') over a T x B x I sequence as one autograd node; the building block of nn.RNN, nn.GRU and nn.LSTM's bidirectional form; workspace (a torch._rnnWorkspace(), one per layer and direction): the call's buffers are kept from call to call (on the host a training loop allocates nothing after its first step; on a CUDA device the time loops replay from CUDA graphs), and with grad recorded the outputs are views of its buffers, overwritten by the next forward after a backward (Torch7's module.output, as nn.LSTM's)
nn.MultiheadAttention | nn.MultiheadAttention(embedDim, numHeads [, {dropout = 0, bias = true, batchFirst = false, kdim = embedDim, vdim = embedDim}]) | PyTorch's multi-head attention: m(query, key, value [, {keyPaddingMask, attnMask, needWeights = true, averageAttnWeights = true, isCausal = false}]) or m:forward({query, key, value} [, opts]) -> output, attention weights (B x L x S averaged over heads; B x numHeads x L x S with averageAttnWeights = false; nil with needWeights = false). query L x B x E, key S x B x kdim, value S x B x vdim (batchFirst: B first; unbatched L x E). Masks: ByteTensor = boolean (1 = masked out, PyTorch's True), float = added to the scores; attnMask L x S or (B*numHeads) x L x S, keyPaddingMask B x S. A query row with every key masked gives NaN with needWeights (as PyTorch) and zero attention without. isCausal without attnMask builds the causal mask (PyTorch requires attnMask). Parameters with PyTorch's names and init: in_proj_weight (3E x E; q_/k_/v_proj_weight when kdim or vdim differ), in_proj_bias, out_proj.weight, out_proj.bias; gradients grad_in_proj_weight, ...; dropout on the weights in training mode
nn.MultiheadAttention:reset | m:reset() -> m | PyTorch's _reset_parameters: xavier_uniform projection weights, zero in_proj_bias and out_proj.bias, out_proj.weight as nn.Linear's
nn.MultiheadAttention:namedBuffers nn.TransformerEncoderLayer:namedBuffers nn.TransformerEncoder:namedBuffers nn.TransformerDecoderLayer:namedBuffers | m:namedBuffers() -> {{name, tensor}, ...} | the children's buffers under PyTorch's prefixes (none for the built-in children), which stateDict and loadStateDict carry
nn.TransformerEncoderLayer | nn.TransformerEncoderLayer(dModel, nhead [, {dimFeedforward = 2048, dropout = 0.1, activation = 'relu' | 'gelu' | function, layerNormEps = 1e-5, batchFirst = false, normFirst = false, bias = true}]) | PyTorch's encoder layer (self-attention and feed-forward, post-norm or normFirst pre-norm): m(src [, {srcMask, srcKeyPaddingMask, isCausal}]) -> output; children self_attn, linear1, dropout, linear2, norm1, norm2, dropout1, dropout2 with PyTorch's parameter names (self_attn.in_proj_weight, linear1.weight, norm1.bias, ...), so a PyTorch state_dict loads with loadStateDict
nn.TransformerEncoder | nn.TransformerEncoder(encoderLayer, numLayers [, norm]) | numLayers deep copies of the layer (names layers.0., layers.1., ...) and an optional final norm (names norm.); m(src [, {mask, srcKeyPaddingMask, isCausal}]) -> output
nn.TransformerDecoderLayer | nn.TransformerDecoderLayer(dModel, nhead [, options as nn.TransformerEncoderLayer's]) | PyTorch's decoder layer: m(tgt, memory [, {tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask, tgtIsCausal, memoryIsCausal}]) or m:forward({tgt, memory} [, opts]) -> output; children self_attn, multihead_attn, linear1, linear2, norm1, norm2, norm3 (and dropouts) with PyTorch's names
nn.Transformer nn.Transformer.generateSquareSubsequentMask | nn.Transformer.generateSquareSubsequentMask(n) | PyTorch's Transformer.generate_square_subsequent_mask: an n x n float mask (default tensor type), -inf above the diagonal and 0 elsewhere, for attnMask / srcMask / tgtMask; nn.Transformer itself (the whole encoder-decoder model) is not built yet
nn.Dropout | nn.Dropout([p = 0.5]) | zeroes elements with probability p in training (scaled by 1/(1-p)); identity in evaluate()
nn.ReLU nn.Tanh nn.Sigmoid | nn.ReLU() / nn.Tanh() / nn.Sigmoid() | elementwise activations
nn.LeakyReLU | nn.LeakyReLU([negval = 0.01]) | x or negval * x
nn.SoftMax nn.LogSoftMax | nn.SoftMax([dim]) / nn.LogSoftMax([dim]) | (log-)softmax along dim (default, as Torch7's and PyTorch's implicit dim: 1 for a 1-D or 3-D input, 2 for 2-D and 4-D; give dim, e.g. -1, for N x T x V)
nn.Identity | nn.Identity() | output = input
nn.View nn.Reshape | nn.View(sizes...) / nn.Reshape(sizes...) | reshapes the input (a batch dim in front is kept)
nn.Narrow nn.Select nn.Transpose | nn.Narrow(dim, offset, length) / nn.Select(dim, index) / nn.Transpose({d1, d2}, ...) | tensor views as modules
nn.JoinTable nn.SplitTable | nn.JoinTable(dim) / nn.SplitTable(dim) | concatenates a table of tensors / splits a tensor into a table
nn.SelectTable nn.NarrowTable | nn.SelectTable(i) / nn.NarrowTable(offset [, length]) | picks elements of a table input
nn.CAddTable nn.CMulTable | nn.CAddTable() / nn.CMulTable() | elementwise sum / product of a table of tensors
nn.Criterion | nn.Criterion() | the base of losses: crit:forward(input, target), crit:backward(input, target), crit(input, target)
nn.CrossEntropyCriterion | nn.CrossEntropyCriterion([weights [, sizeAverage = true [, ignoreIndex]]]) or ({weights =, sizeAverage =, ignoreIndex =, reduction = 'mean'|'sum'}) | log-softmax + NLL on N x C (or N x C x d1 ...) scores, 1-based whole-number class targets; ignoreIndex: a class whose rows add nothing (padding)
nn.ClassNLLCriterion | nn.ClassNLLCriterion([weights [, sizeAverage = true [, ignoreIndex]]]) or ({options}) | negative log-likelihood of log-probabilities; ignoreIndex as CrossEntropyCriterion's
nn.MSECriterion | nn.MSECriterion([sizeAverage = true]) or ({sizeAverage =, reduction =}) | mean squared error
nn.BCECriterion | nn.BCECriterion([weights [, sizeAverage = true]]) or ({weights =, sizeAverage =, reduction =}) | binary cross entropy of probabilities
nn.Abs nn.Exp nn.Log nn.Sqrt nn.Square | nn.Abs() / nn.Exp() / nn.Log() / nn.Sqrt() / nn.Square() | elementwise |x|, exp(x), log(x), sqrt(x), x^2
nn.Power | nn.Power(p) | elementwise x^p
nn.HardTanh nn.Hardtanh | nn.HardTanh([minValue = -1, maxValue = 1]) | clamps to [minValue, maxValue] (PyTorch's name: nn.Hardtanh)
nn.Clamp | nn.Clamp(minValue, maxValue) | clamps to [minValue, maxValue]
nn.ReLU6 | nn.ReLU6() | min(max(0, x), 6)
nn.ELU | nn.ELU([alpha = 1]) | x for x > 0, alpha (exp(x) - 1) otherwise
nn.PReLU | nn.PReLU([nOutputPlane = 0]) | max(0, x) + w min(0, x) with a learnt slope w: one for all (0), or one per channel (dim 1 of a 1-D/3-D input, dim 2 of a 2-D/4-D batch); w starts at 0.25
nn.RReLU | nn.RReLU([lower = 1/8, upper = 1/3]) | x for x >= 0, a x otherwise: a uniform in [lower, upper] per element in training (torch.manualSeed reproduces it), (lower + upper) / 2 in evaluate()
nn.SoftPlus nn.Softplus | nn.SoftPlus([beta = 1 [, threshold = 20]]) | log(1 + exp(beta x)) / beta; x where beta x > threshold
nn.SoftSign nn.Softsign | nn.SoftSign() | x / (1 + |x|)
nn.SoftShrink nn.Softshrink nn.HardShrink nn.Hardshrink | nn.SoftShrink([lambda = 0.5]) / nn.HardShrink([lambda = 0.5]) | soft: x -/+ lambda outside [-lambda, lambda], 0 inside; hard: x outside, 0 inside
nn.TanhShrink nn.Tanhshrink | nn.TanhShrink() | x - tanh(x)
nn.LogSigmoid | nn.LogSigmoid() | log(sigmoid(x)), stable for large |x|
nn.SoftMin nn.Softmin | nn.SoftMin([dim]) | softmax of -x over the features (as nn.SoftMax)
nn.Softmax nn.LogSoftmax | nn.Softmax([dim]) / nn.LogSoftmax([dim]) | PyTorch's names of nn.SoftMax / nn.LogSoftMax
nn.GELU | nn.GELU([approximate = 'none']) or ({approximate = 'tanh'}) | x Phi(x) with the normal CDF (computed in Lua, element by element), or PyTorch's tanh approximation
nn.SiLU nn.Mish | nn.SiLU() / nn.Mish() | x sigmoid(x) / x tanh(softplus(x))
nn.Add nn.Add:reset | nn.Add(inputSize [, scalar = false]) | x + b with a learnt bias of inputSize (a number or sizes; scalar: one for all), broadcast over a batch
nn.Mul nn.CMul nn.Mul:reset nn.CMul:reset | nn.Mul() / nn.CMul(sizes...) | x times a learnt scalar / a learnt tensor of sizes (broadcast over a batch)
nn.AddConstant nn.MulConstant | nn.AddConstant(c) / nn.MulConstant(c) | x + c / x * c
nn.Sum nn.Mean | nn.Sum([dim = 1 [, nInputDims [, sizeAverage = false [, squeeze = true]]]]) / nn.Mean([dim [, nInputDims]]) | the sum / mean over dim, which is removed; nInputDims: dim counts within a sample, shifted past a batch dim
nn.Max nn.Min | nn.Max([dim = 1 [, nInputDims]]) / nn.Min(...) | the largest / smallest value over dim (removed)
nn.Index | nn.Index(dim) | {t, indices} -> t:index(dim, indices) (1-based LongTensor)
nn.MaskedSelect | nn.MaskedSelect() | {t, mask} -> the 1-D tensor of t's elements where mask is 1
nn.Squeeze nn.Unsqueeze | nn.Squeeze([dim [, nInputDims]]) / nn.Unsqueeze(pos [, nInputDims]) | drops size-1 dims (or dim) / inserts a size-1 dim at pos
nn.Contiguous | nn.Contiguous() | a contiguous copy (the input when already contiguous)
nn.Replicate | nn.Replicate(nFeature [, dim = 1 [, nDim]]) | nFeature copies along a new dim (an expanded view)
nn.Padding | nn.Padding(dim, pad [, nInputDim [, value = 0 [, index = 1]]]) | |pad| entries of value along dim: after the input for pad > 0, before it for pad < 0
nn.Flatten nn.Unflatten | nn.Flatten([startDim = 2 [, endDim = -1]]) / nn.Unflatten(dim, sizes) | PyTorch's, 1-based: dims startDim..endDim into one (the batch dim kept) / dim into sizes
nn.Normalize | nn.Normalize(p [, eps = 1e-10]) | each row divided by its p-norm (sum |x|^p + eps)^(1/p); p = math.huge: max |x|
nn.DotProduct nn.CosineDistance | nn.DotProduct() / nn.CosineDistance() | {a, b} -> the dot product / cosine similarity of each row pair
nn.PairwiseDistance | nn.PairwiseDistance(p) | {a, b} -> the p-norm of each row difference
nn.Cosine nn.Euclidean nn.Cosine:reset nn.Euclidean:reset | nn.Cosine(inputSize, outputSize) / nn.Euclidean(inputSize, outputSize) | cos(x, w_j) with learnt rows w_j / ||x - w_j|| with learnt columns w_j (weight inputSize x outputSize)
nn.Bilinear nn.Bilinear:reset | nn.Bilinear(inputSize1, inputSize2, outputSize [, bias = true]) | {x1, x2} -> x1 W_k x2^T + b_k for [N x in1], [N x in2] inputs; weight outputSize x in1 x in2
nn.MM | nn.MM([transA = false [, transB = false]]) | {A, B} -> A B (batched for 3-D inputs)
nn.GradientReversal nn.GradientReversal:setLambda | nn.GradientReversal([lambda = 1]) | the identity forward; backward multiplies the gradient by -lambda (setLambda)
nn.L1Penalty | nn.L1Penalty(l1weight [, sizeAverage = false [, provideOutput = true]]) | the identity forward (m.loss = l1weight * sum |x|); backward adds l1weight * sign(x)
nn.Concat nn.DepthConcat | nn.Concat(dim) / nn.DepthConcat(dim) | every child on the same input, the outputs concatenated along dim (DepthConcat: each centred in zeros to the largest size of the other dims)
nn.Parallel | nn.Parallel(inputDimension, outputDimension) | child i on input:select(inputDimension, i), outputs concatenated along outputDimension
nn.Bottle | nn.Bottle(module [, nInputDim = 2 [, nOutputDim]]) | module on inputs with extra leading dims, viewed as one batch and restored
nn.MapTable | nn.MapTable(module [, shared = true]) | module on each element of a table input, through clones sharing its parameters
nn.FlattenTable | nn.FlattenTable() | a nested table of tensors -> the flat table of them
nn.CSubTable nn.CDivTable nn.CMaxTable nn.CMinTable | nn.CSubTable() / nn.CDivTable() / nn.CMaxTable() / nn.CMinTable() | {a, b} -> a - b / a / b; the elementwise max / min of a table of tensors
nn.CriterionTable | nn.CriterionTable(criterion) | {input, target} -> the criterion's loss, as a module
nn.AbsCriterion nn.L1Loss | nn.AbsCriterion([sizeAverage = true]) or ({reduction = 'mean'|'sum'}) | mean |x - y| (PyTorch's name: nn.L1Loss)
nn.SmoothL1Criterion nn.SmoothL1Loss | nn.SmoothL1Criterion([sizeAverage = true]) or ({beta = 1, reduction =}) | 0.5 d^2 / beta below beta, |d| - 0.5 beta above
nn.DistKLDivCriterion nn.KLDivLoss | nn.DistKLDivCriterion([sizeAverage = true]) or ({logTarget = false, reduction = 'mean'|'sum'|'batchmean'}) | KL divergence of log-probabilities from target probabilities (mean over elements, as Torch7 and PyTorch's 'mean')
nn.MarginCriterion | nn.MarginCriterion([margin = 1 [, sizeAverage = true]]) or ({margin =, reduction =}) | mean max(0, margin - y x) for targets y of 1 / -1
nn.SoftMarginCriterion nn.SoftMarginLoss | nn.SoftMarginCriterion([sizeAverage = true]) | mean log(1 + exp(-y x)) for targets of 1 / -1
nn.HingeEmbeddingCriterion nn.HingeEmbeddingLoss | nn.HingeEmbeddingCriterion([margin = 1 [, sizeAverage = true]]) | x where y = 1, max(0, margin - x) where y = -1; the mean
nn.CosineEmbeddingCriterion nn.CosineEmbeddingLoss | nn.CosineEmbeddingCriterion([margin = 0 [, sizeAverage = true]]) | {x1, x2} rows, y of 1 / -1: 1 - cos, or max(0, cos - margin)
nn.MarginRankingCriterion nn.MarginRankingLoss | nn.MarginRankingCriterion([margin = 0 [, sizeAverage = true]]) | {x1, x2} scores, y of 1 / -1: mean max(0, -y (x1 - x2) + margin)
nn.MultiMarginCriterion nn.MultiMarginLoss | nn.MultiMarginCriterion([p = 1 [, weights [, margin = 1 [, sizeAverage = true]]]]) or ({p =, weights =, margin =, reduction =}) | multi-class hinge loss on N x C scores, 1-based class targets
nn.MultiLabelMarginCriterion nn.MultiLabelMarginLoss | nn.MultiLabelMarginCriterion([sizeAverage = true]) | multi-label hinge loss; targets N x C of 1-based classes, each row ended by a 0 (PyTorch: 0-based, ended by -1)
nn.MultiLabelSoftMarginCriterion nn.MultiLabelSoftMarginLoss | nn.MultiLabelSoftMarginCriterion([weights [, sizeAverage = true]]) | binary cross entropy of sigmoid(x) against 0 / 1 labels, per-class weights, the mean
nn.BCEWithLogitsCriterion nn.BCEWithLogitsLoss | nn.BCEWithLogitsCriterion([weights [, sizeAverage = true [, posWeight]]]) or ({weights =, posWeight =, reduction =}) | binary cross entropy of sigmoid(x), computed stably from the scores x
nn.MultiCriterion nn.ParallelCriterion nn.MultiCriterion:add nn.ParallelCriterion:add | nn.MultiCriterion():add(crit [, weight = 1]) / nn.ParallelCriterion([repeatTarget = false]):add(crit [, weight]) | the weighted sum of criterions on one input and target / on input[i] and target[i]
nn.MSELoss nn.BCELoss nn.NLLLoss nn.CrossEntropyLoss | nn.MSELoss(...) / nn.BCELoss(...) / nn.NLLLoss(...) / nn.CrossEntropyLoss(...) | PyTorch's names of nn.MSECriterion, nn.BCECriterion, nn.ClassNLLCriterion, nn.CrossEntropyCriterion
nn.StochasticGradient nn.StochasticGradient:train | nn.StochasticGradient(module, criterion) -> trainer; trainer:train(dataset) | Torch7's SGD trainer over dataset:size() examples dataset[i] = {input, target}; fields learningRate (0.01), learningRateDecay, maxIteration (25), shuffleIndices, hookExample, hookIteration, verbose
nn.WeightNorm nn.WeightNorm:weight | nn.WeightNorm(module [, outputDim = 1]) | the module's weight as g v / ||v|| (norm over every dim but outputDim), g and v learnt (PyTorch's weight_g, weight_v); m:weight() is the weight in use
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
nn.BatchNormalization:namedBuffers | m:namedBuffers() -> {{name, tensor}, ...} | the running statistics and batch count by PyTorch's names (running_mean, running_var, num_batches_tracked), which stateDict saves beside the parameters
nn.SpatialBatchNormalization nn.BatchNorm2d | nn.SpatialBatchNormalization(n [, eps, momentum, affine]) / nn.BatchNorm2d(n [, {...}]) | batch norm per channel of N x n x H x W
nn.LayerNorm | nn.LayerNorm(normalizedShape [, {eps = 1e-5, elementwiseAffine = true}]) | normalises the last dims (a size or a list) of each sample to zero mean and unit variance, then weight and bias
nn.GroupNorm | nn.GroupNorm(numGroups, numChannels [, {eps = 1e-5, affine = true}]) | normalises each group of channels of each sample; per-channel weight and bias
nn.SpatialZeroPadding nn.ZeroPad2d | nn.SpatialZeroPadding(l [, r, t, b]) / nn.ZeroPad2d(p or {l, r, t, b}) | pads H x W with zeros (negative values crop)
nn.SpatialReflectionPadding nn.ReflectionPad2d nn.SpatialReplicationPadding nn.ReplicationPad2d | nn.ReflectionPad2d(p or {l, r, t, b}) / nn.SpatialReplicationPadding(l, r, t, b) | pads H x W by mirroring the border (reflection) or repeating it (replication)
nn.Upsample nn.UpsamplingNearest2d nn.UpsamplingBilinear2d | nn.Upsample({size = {h, w} or scaleFactor = s, mode = 'nearest' or 'bilinear', alignCorners = false}) | resizes N x C x H x W images (UpsamplingBilinear2d: corners aligned)
nn.SpatialUpSamplingNearest | nn.SpatialUpSamplingNearest(scale) | Torch7: repeats each pixel scale x scale times
nn.SpatialDropout nn.Dropout2d nn.VolumetricDropout nn.Dropout3d nn.SpatialDropout:setp nn.VolumetricDropout:setp nn.Dropout2d:setp nn.Dropout3d:setp | nn.SpatialDropout([p = 0.5 [, stochasticInference = false]]) / nn.VolumetricDropout(...); m:setp(p) | zeroes whole channels of [N x] C x H x W / [N x] C x T x H x W with probability p in training (the rest scaled by 1/(1-p)); identity in evaluate() unless stochasticInference
nn.SpatialSoftMax nn.Softmax2d nn.SpatialLogSoftMax | nn.SpatialSoftMax() / nn.SpatialLogSoftMax() | (log-)softmax over the channels at each pixel: dim 1 of C x H x W, dim 2 of N x C x H x W
nn.SpatialDilatedMaxPooling | nn.SpatialDilatedMaxPooling(kW, kH [, dW = kW, dH = kH, padW = 0, padH = 0, dilationW = 1, dilationH = dilationW]) | 2-D max pooling over windows with gaps (an nn.SpatialMaxPooling)
nn.SpatialUpSamplingBilinear | nn.SpatialUpSamplingBilinear(scale) / nn.SpatialUpSamplingBilinear({oheight = h, owidth = w}) | Torch7's bilinear up-sampling, corners aligned: [N x] C x H x W -> (H - 1) * scale + 1 x (W - 1) * scale + 1, or h x w
nn.SpatialMaxUnpooling | nn.SpatialMaxUnpooling(poolingModule) | puts each value back where the max of that nn.SpatialMaxPooling's last forward came from, zeros elsewhere (the pooling's input size)
nn.VolumetricMaxUnpooling | nn.VolumetricMaxUnpooling(poolingModule) | the 3-D max unpooling: each value back where that nn.VolumetricMaxPooling's last maximum came from (its m.indices: positions in the T x H x W volume, 0-based as PyTorch's), zeros elsewhere
nn.SpatialSubSampling nn.SpatialSubSampling:reset | nn.SpatialSubSampling(nInputPlane, kW, kH [, dW = 1, dH = 1]) | Torch7: bias[c] + weight[c] * the sum of plane c over each kW x kH window (one weight and bias per plane)
nn.LinearWeightNorm nn.LinearWeightNorm:reset nn.LinearWeightNorm:initFromWeight nn.LinearWeightNorm:updateWeightMatrix | nn.LinearWeightNorm(inputSize, outputSize [, bias = true, eps = 1e-16]); m:initFromWeight([weight]) | y = x W^T + b with W = g v / max(||v||, eps) row by row; parameters v, g (outputSize x 1), bias (PyTorch's weight_v, weight_g); initFromWeight sets v and g from a weight; m.weight is the last forward's W
nn.LinearWeightNorm:fromLinear nn.LinearWeightNorm:toLinear | nn.LinearWeightNorm.fromLinear(linear) / m:toLinear() | conversions from and to an nn.Linear computing the same function
nn.SparseLinear nn.SparseLinear:reset | nn.SparseLinear(inputSize, outputSize [, doGradInput]) | a linear layer on sparse inputs: a sample is nnz x 2 rows of (1-based index, value), a batch a table of them or an N x nnz x 2 tensor; y = bias + sum of value * weight[:, index]
nn.PartialLinear nn.PartialLinear:reset nn.PartialLinear:setPartition nn.PartialLinear:resetPartition | nn.PartialLinear(inputSize, outputSize [, bias = true]); m:setPartition(indices) / m:resetPartition() | a linear layer that computes only the output units in indices (1-based), all of them after resetPartition; weight outputSize x inputSize, bias 1 x outputSize
nn.IndexLinear nn.IndexLinear:reset | nn.IndexLinear(inputSize, outputSize [, doGradInput, keysOffset = 0, weight, bias]) | a linear layer on sparse inputs given as {keys, values} (per-sample tensors) or {keys, values, sizes} (flat): y = bias + sum of value * weight[key - keysOffset] (weight inputSize x outputSize); Torch7's normalize is not implemented
nn.tables nn.tables.full nn.tables.oneToOne nn.tables.random | nn.tables.full(nin, nout) / nn.tables.oneToOne(n) / nn.tables.random(nin, nout, nto) | connection tables for nn.SpatialConvolutionMap: K x 2 tensors of (input plane, output plane) rows; random connects each output to nto inputs
nn.SpatialConvolutionMap nn.SpatialConvolutionMap:reset | nn.SpatialConvolutionMap(connTable, kW, kH [, dW = 1, dH = 1]) | a convolution whose output plane o sums the input planes the table connects to it, each with its own kH x kW filter (weight K x kH x kW)
nn.SpatialConvolutionLocal nn.SpatialConvolutionLocal:reset | nn.SpatialConvolutionLocal(nIn, nOut, iW, iH, kW, kH [, dW = 1, dH = 1, padW = 0, padH = padW]) | a locally connected layer: a convolution with different filters at every output position (weight oH x oW x nOut x nIn*kH*kW, bias nOut x oH x oW); [N x] nIn x iH x iW inputs
nn.SpatialSubtractiveNormalization | nn.SpatialSubtractiveNormalization([nInputPlane = 1, kernel = torch.ones(9, 9)]) | subtracts from each plane the local mean over all planes weighted by the kernel (odd sizes; a 1-D kernel k means k k^T), borders averaging what they cover
nn.ClassSimplexCriterion nn.ClassSimplexCriterion:getPredictions nn.ClassSimplexCriterion:getTopPrediction | nn.ClassSimplexCriterion(nClasses); c:getPredictions(input) / c:getTopPrediction(input) | MSE between the input (N x nClasses) and its classes' vertices of a regular simplex (c.simplex); getPredictions: the scores input simplex^T, getTopPrediction: the best class and its score
nn.VolumetricFullConvolution nn.VolumetricFullConvolution:reset nn.VolumetricFullConvolution:noBias | nn.VolumetricFullConvolution(nIn, nOut, kT, kW, kH [, dT = 1, dW = 1, dH = 1, padT = 0, padW = 0, padH = 0, adjT = 0, adjW = 0, adjH = 0]) | the transposed 3-D convolution (PyTorch's ConvTranspose3d): [N x] nIn x T x H x W -> nOut x ((T - 1) dT - 2 padT + kT + adjT) x ...; weight nIn x nOut x kT x kH x kW
nn.SpatialFractionalMaxPooling nn.SpatialFractionalMaxPooling:fixPoolingRegions nn.VolumetricFractionalMaxPooling nn.VolumetricFractionalMaxPooling:fixPoolingRegions | nn.SpatialFractionalMaxPooling(kW, kH, outW, outH) or (kW, kH, ratioW, ratioH) / nn.VolumetricFractionalMaxPooling(kT, kW, kH, outT, outW, outH) or ratios; m:fixPoolingRegions([val = true]) | fractional max pooling: kernel-size windows at pseudo-random starts (one sample per sample, plane and axis in m.randomSamples, drawn every forward unless fixed) giving the output size, or floor(size * ratio)
nn.SpatialLPPooling nn.LPPool2d | nn.SpatialLPPooling(nInputPlane, p, kW, kH [, dW = kW, dH = kH]) / nn.LPPool2d(p, k [, {stride = k}]) | (sum of x^p over each window)^(1/p)
nn.TemporalMaxPooling | nn.TemporalMaxPooling(kW [, dW = kW]) | [N x] nFrame x frameSize -> the max of each feature over windows of kW frames
nn.TemporalDynamicKMaxPooling | nn.TemporalDynamicKMaxPooling(minK [, factor = 0]) | the k largest values of each feature over time, kept in time order; k = max(minK, ceil(factor * nFrame)) ([N x] nFrame x frameSize)
nn.TemporalSubSampling nn.TemporalSubSampling:reset | nn.TemporalSubSampling(frameSize, kW [, dW = 1]) | Torch7: bias[i] + weight[i] * the sum of feature i over each window of kW frames ([N x] nFrame x frameSize)
nn.PixelShuffle | nn.PixelShuffle(r) | [N x] C*r*r x H x W -> [N x] C x H*r x W*r (sub-pixel convolution's rearrangement)
nn.CReLU | nn.CReLU(nInputDims [, inplace]) | {ReLU(x), ReLU(-x)} joined along the feature dim (dim 1 of a sample of nInputDims dims, 2 of a batch)
nn.GatedLinearUnit nn.GLU | nn.GatedLinearUnit([dim = the last]) / nn.GLU([dim]) | the first half of the input along dim times the sigmoid of the second half
nn.Copy nn.Copy:type | nn.Copy([intype, outtype [, forceCopy = false, dontCast = false]]) | the input converted to outtype, its gradient back to intype; the same type passes through (forceCopy: a copy); dontCast: m:type() keeps the types
nn.WeightedEuclidean nn.WeightedEuclidean:reset nn.WeightedEuclidean:parameters nn.WeightedEuclidean:namedParameters | nn.WeightedEuclidean(inputSize, outputSize) | || diagCov_j .* (x - w_j) || for the columns of a learnt weight and diagCov (inputSize x outputSize; diagCov starts at ones)
nn.L1HingeEmbeddingCriterion nn.L1HingeEmbeddingCriterion:loss | nn.L1HingeEmbeddingCriterion([margin = 1]) | {x1, x2} (1-D), y = 1 or -1: d = ||x1 - x2||_1 where y = 1, max(0, margin - d) where y = -1
nn.SpatialCrossMapLRN nn.LocalResponseNorm | nn.SpatialCrossMapLRN(size [, alpha = 1e-4, beta = 0.75, k = 1]) / nn.LocalResponseNorm(size [, alpha, beta, k]) | x / (k + alpha / size * the sum of x^2 over size neighbouring channels)^beta ([N x] C x H x W; LocalResponseNorm: N x C x ...)
nn.VolumetricMaxPooling nn.MaxPool3d nn.VolumetricMaxPooling:ceil nn.VolumetricMaxPooling:floor | nn.VolumetricMaxPooling(kT, kW, kH [, dT = kT, dW = kW, dH = kH, padT = 0, padW = 0, padH = 0]) / nn.MaxPool3d(k [, {stride = k, padding = 0, dilation = 1, ceilMode = false}]) | 3-D max pooling over [N x] C x T x H x W (:ceil() rounds the output size up)
nn.VolumetricDilatedMaxPooling | nn.VolumetricDilatedMaxPooling(kT, kW, kH, dT, dW, dH, padT, padW, padH [, dilationT = 1, dilationW = 1, dilationH = 1]) | 3-D max pooling over windows with gaps (an nn.VolumetricMaxPooling)
nn.VolumetricAveragePooling | nn.VolumetricAveragePooling(kT, kW, kH [, dT = kT, dW = kW, dH = kH]) | 3-D average pooling over [N x] C x T x H x W
nn.VolumetricReplicationPadding nn.ReplicationPad3d | nn.VolumetricReplicationPadding(l [, r, t, b, front, back]) / nn.ReplicationPad3d(p or {l, r, t, b, front, back}) | pads T x H x W by repeating the border
nn.SpatialDepthWiseConvolution nn.SpatialDepthWiseConvolution:reset nn.SpatialDepthWiseConvolution:noBias | nn.SpatialDepthWiseConvolution(nInputPlane, nOutputPlane, kW, kH [, dW = 1, dH = 1, padW = 0, padH = padW]) | nOutputPlane filters on each input plane alone: (nInputPlane * nOutputPlane) output planes; weight nOutputPlane x (nInputPlane * kH * kW), bias nOutputPlane x nInputPlane (Torch7's)
nn.TemporalRowConvolution nn.TemporalRowConvolution:reset nn.TemporalRowConvolution:noBias | nn.TemporalRowConvolution(inputFrameSize, kW [, dW = 1, featFirst = false]) | each feature of [N x] nFrame x inputFrameSize convolved along time with its own kernel (weight inputFrameSize x 1 x kW)
nn.VolumetricConvolution nn.VolumetricDilatedConvolution nn.Conv3d nn.VolumetricConvolution:reset nn.VolumetricConvolution:noBias | nn.VolumetricConvolution(nIn, nOut, kT, kW, kH [, dT = 1, dW = 1, dH = 1, padT = 0, padW = 0, padH = 0]) / nn.VolumetricDilatedConvolution(..., padH, dilationT, dilationW, dilationH) / nn.Conv3d(in, out, k [, {stride, padding, dilation, bias}]) | 3-D convolution over [N x] C x T x H x W; weight nOut x nIn x kT x kH x kW
nn.DistanceRatioCriterion nn.DistanceRatioCriterion:loss | nn.DistanceRatioCriterion([sizeAverage = true]) | {X, Y} distances of similar and dissimilar pairs: -log(exp(-X) / (exp(-X) + exp(-Y))), the mean; no target
nn.SpatialAutoCropMSECriterion nn.SpatialAutoCropMSECriterion:loss | nn.SpatialAutoCropMSECriterion([sizeAverage = true]) | the MSE between the input and the centre of a target at least as high and wide
optim.sgd | optim.sgd(feval, x, config, state) -> x, {f} | Torch7 SGD step; feval(x) -> loss, dloss/dx; config: learningRate (Torch7's default 1e-3), learningRateDecay, momentum, dampening, weightDecay, nesterov
optim.adam | optim.adam(feval, x, config, state) -> x, {f} | Adam step; config: learningRate (1e-3), beta1, beta2, epsilon, weightDecay
optim.rmsprop | optim.rmsprop(feval, x, config, state) -> x, {f} | RMSprop step; config: learningRate (1e-2), alpha, epsilon, weightDecay
optim.adagrad | optim.adagrad(feval, x, config, state) -> x, {f} | Adagrad step; config: learningRate (1e-3), learningRateDecay, weightDecay, epsilon
optim.SGD | optim.SGD(params, {lr =, momentum =, dampening =, weightDecay =, nesterov =}) | PyTorch-style optimiser: opt:zeroGrad(), loss:backward(), opt:step(); lr is required, as in PyTorch
optim.Adam optim.RMSprop optim.Adagrad | optim.Adam(params, {lr = 1e-3, betas =, eps =, weightDecay =}) / optim.RMSprop(params, {lr = 1e-2, alpha =, eps =, weightDecay =}) / optim.Adagrad(params, {lr = 1e-2, lrDecay =, eps =, weightDecay =}) | PyTorch-style optimisers with PyTorch's defaults: opt:zeroGrad() and opt:step()
optim.clipGradNorm | optim.clipGradNorm(params, maxNorm) -> norm | scales the gradients in place so their total 2-norm is at most maxNorm
datasets.MNIST datasets.FashionMNIST | datasets.MNIST{root =, train = true, transform =, targetTransform =, download = false, mirrors =} | a dataset: #ds samples, ds[i] = {input, target} (1-based classes); no root: the bundled MNIST subset
datasets.DataLoader | datasets.DataLoader{dataset =, batchSize = 1, shuffle = false, dropLast = false, seed =, distributed = false} or DataLoader(dataset, {batchSize = ...}) (PyTorch's form) | batches: for inputs, targets in loader:iter() do ... end; distributed = true: this MPI rank's shard of each epoch (ranks r+1, r+1+size, ... of a permutation all ranks share), the same number of batches on every rank
datasets.DataLoader:iter datasets.DataLoader:size datasets.DataLoader:order | loader:iter() / loader:size() / loader:order() | an iterator over (inputs, targets) batches / the batch count (#loader) / this epoch's order (nil: 1..n)
datasets.dataRoot | datasets.dataRoot('mnist-10k') -> dir or nil, tried | where the data shipped with luatorch is (the bundled MNIST subset)
datasets.fashionMNISTRoot | datasets.fashionMNISTRoot | Fashion-MNIST's default directory (Debian's dataset-fashion-mnist)
transforms.ToTensor | transforms.ToTensor() | uint8 [H x W] or [C x H x W] -> float [C x H x W] in [0, 1]
transforms.Normalize | transforms.Normalize(mean, std) | (x - mean[c]) / std[c] per channel
transforms.Compose | transforms.Compose{t1, t2, ...} | applies the transforms in order
transforms.Lambda | transforms.Lambda(fn [, batched]) | fn(x) as a transform
transforms.ToTensor:apply transforms.Normalize:apply transforms.Compose:apply transforms.Lambda:apply | tr(x) / tr:apply(x) | the transform of one sample
transforms.ToTensor:batch transforms.Normalize:batch transforms.Compose:batch transforms.Lambda:batch | tr:batch(x) | the transform of a batch [N x ...] at once (in C where it can)
transforms.canBatch transforms.ToTensor:canBatch transforms.Normalize:canBatch transforms.Compose:canBatch transforms.Lambda:canBatch | tr:canBatch() / transforms.canBatch(tr) | whether tr:batch exists (a Compose: all its parts)
transforms.ToTensor:describe transforms.Normalize:describe transforms.Compose:describe transforms.Lambda:describe | tr:describe() | the transform as text (also tostring(tr))
t:softmax t:logSoftmax | x:softmax([dim]) / x:logSoftmax([dim]) | a new tensor: softmax / log-softmax along dim (default: the last), differentiable (torch.softmax's method form)
t:unfold torch.unfold | x:unfold(dim, size, step) | a view of the windows of size elements every step along dim, as a new last dim (dim's size becomes the window count); differentiable
t:repeatTensor torch.repeatTensor t:repeat | x:repeatTensor(n1, n2, ...) (or a table / LongStorage) | a new tensor of x tiled n_d times along each dim (more counts than dims add leading dims); PyTorch's repeat, which Lua only reaches as x['repeat'](x, ...) (repeat is a keyword)
t:all t:any torch.all torch.any | x:all([dim]) / x:any([dim]) | whether every / some element is non-zero (a boolean); with dim, a ByteTensor along dim, which is kept (size 1)
t:isnan t:isinf t:isfinite torch.isnan torch.isinf torch.isfinite | x:isnan() / x:isinf() / x:isfinite() | ByteTensor masks of NaN / infinite / finite elements
t:equal torch.equal | torch.equal(a, b) / a:equal(b) | whether a and b have the same sizes and equal elements (NaN never equals), a boolean; tensors of one type
t:isclose torch.isclose | torch.isclose(a, b [, rtol = 1e-5 [, atol = 1e-8 [, equalNan = false]]]) | a ByteTensor mask (broadcast) of abs(a - b) <= atol + rtol abs(b), or a == b (infinities of one sign); NaN is close to NaN only with equalNan (PyTorch's)
t:allclose torch.allclose | torch.allclose(a, b [, rtol [, atol [, equalNan]]]) | whether every element of torch.isclose(a, b, ...) is close, a boolean (PyTorch's)
t:tolist torch.tolist | x:tolist() | PyTorch's name for x:totable(): nested Lua tables (a number for a 0-dim tensor)
torch.diag t:diag | torch.diag(x [, k = 0]) | 1-D x: the square matrix with x on diagonal k (k > 0 above the main one, k < 0 below); 2-D x: a copy of its diagonal k (empty beyond the matrix); differentiable
torch.tril torch.triu t:tril t:triu | torch.tril(x [, k = 0]) / torch.triu(x [, k = 0]) | a copy of x with the elements above (tril) / below (triu) diagonal k zeroed; the last two dims are the matrix (more: a batch); differentiable
torch.trace t:trace | torch.trace(x) | the sum of the main diagonal of a 2-D x, a number (a 0-dim tensor while autograd records)
torch.flip t:flip | torch.flip(x, dims) | a copy of x with the order reversed along dims (a number or a table of dims); differentiable
torch.roll t:roll | torch.roll(x, shifts [, dims]) | a copy of x shifted by shifts along dims, wrapping around (numbers or tables of one length); without dims, the flattened x shifted and reshaped (PyTorch's); differentiable
torch.median t:median | torch.median(x [, dim]) -> values, indices / torch.median(x) -> number | the lower median along dim (kept, size 1) and its 1-based LongTensor index, NaN where the slice has one; without dim, the lower median of all elements (a 0-dim tensor while autograd records)
torch.kthvalue t:kthvalue | torch.kthvalue(x, k [, dim]) -> values, indices | the k-th smallest along dim (default: the last; kept, size 1) and its 1-based LongTensor index; NaN sorts after every number
torch.mode t:mode | torch.mode(x [, dim]) -> values, indices | the most frequent value along dim (default: the last; kept, size 1; of several, the smallest) and the 1-based index of its last occurrence
torch.logsumexp t:logsumexp | torch.logsumexp(x, dim [, keepdim = false]) | log(sum(exp(x))) along dim, stable (shifted by the max); a row of -inf gives -inf, +inf gives +inf; differentiable
torch.cross t:cross | torch.cross(a, b [, dim]) | cross products of the 3-vectors along dim (default: the first dim of size 3); a and b of one size; differentiable
torch.dist t:dist | torch.dist(a, b [, p = 2]) | the p-norm of a - b (broadcast), a number (a 0-dim tensor while autograd records)
torch.lerp t:lerp | torch.lerp(a, b, w) | a + w (b - a), w a number or a tensor (broadcast); a new tensor, differentiable
torch.full torch.fullLike | torch.full(sizes..., value) / torch.full({sizes}, value) / torch.fullLike(x, value) | a tensor of the default type (sizes as torch.zeros takes them) / of x's size, type and device, filled with value
torch.renorm t:renorm | torch.renorm(x, p, dim, maxnorm) | a copy of x whose slices along dim with a p-norm above maxnorm are scaled to norm maxnorm (PyTorch's method: x is not changed); differentiable
torch.histc t:histc | torch.histc(x [, bins = 100 [, min = 0 [, max = 0]]]) | a 1-D tensor (x's type) of the counts of x's elements in bins equal-width bins from min to max (min = max: the data's range; NaN and values outside not counted); no gradient
nn.Threshold | nn.Threshold([th = 1e-6 [, v = 0]]) | x where x > th, v elsewhere
nn.SELU nn.CELU | nn.SELU() / nn.CELU([alpha = 1]) | scale (x or alpha (exp(x) - 1)) with PyTorch's alpha and scale / x for x > 0, alpha (exp(x / alpha) - 1) otherwise
torch.argsort t:argsort | torch.argsort(x [, dim = -1 [, descending = false]]) | the 1-based LongTensor indices that sort x along dim (sort's indices: stable, NaN last, first when descending); no gradient
torch.unique t:unique | torch.unique(x [, {sorted = true, returnInverse = false, returnCounts = false, dim}]) -> values [, inverse] [, counts] | the distinct values of x sorted, 1-D (with dim: the distinct slices along dim); inverse: each element's (slice's) 1-based index in values, x's shape; counts: how often each occurs (LongTensors); each NaN distinct; no gradient
torch.bincount t:bincount | torch.bincount(x [, weights [, minlength = 0]]) | counts of the VALUES 0..max(x) of a 1-D non-negative integer x: value v at index v + 1 (PyTorch's bincount), max(x) + 1 or minlength elements; a LongTensor, or the sums of weights (Float for Float weights, else Double); no gradient
torch.diff t:diff | torch.diff(x [, n = 1 [, dim = -1 [, prepend [, append]]]]) | the n-th forward difference along dim (x[i+1] - x[i], n times; prepend / append concatenated first, numbers as one slice); differentiable
torch.meshgrid | torch.meshgrid(x1, x2, ... [, {indexing = 'ij'}]) / torch.meshgrid({x1, x2, ...}) -> g1, g2, ... | coordinate grids of the 1-D xi, each of size n1 x n2 x ...; indexing = 'xy' swaps the first two dims (PyTorch 2's default 'ij'); new tensors, differentiable
torch.nanToNum t:nanToNum | torch.nanToNum(x [, nan = 0 [, posinf [, neginf]]]) | a copy of x with NaN, +inf, -inf replaced (default: 0 and the type's largest and lowest finite values, PyTorch's nan_to_num); differentiable
torch.clip t:clip | torch.clip([res,] t, min, max) | PyTorch's alias of torch.clamp: the same operation (t:clip limits t in place, as t:clamp), its errors named clip
torch.logaddexp t:logaddexp | torch.logaddexp(a, b) | log(exp(a) + exp(b)) elementwise (broadcast), without overflow; differentiable
torch.hypot t:hypot | torch.hypot(a, b) | sqrt(a^2 + b^2) elementwise (broadcast), without overflow; differentiable
torch.deg2rad torch.rad2deg t:deg2rad t:rad2deg | torch.deg2rad(x) / torch.rad2deg(x) | x pi / 180 / x 180 / pi (Float or Double); differentiable
torch.xlogy t:xlogy | torch.xlogy(x, y) | x log(y) elementwise (y a tensor, broadcast, or a number), 0 where x = 0 unless y is NaN (PyTorch's); differentiable
torch.sinc t:sinc | torch.sinc(x) | sin(pi x) / (pi x), 1 at 0 (the normalized sinc); differentiable
torch.einsum | torch.einsum(equation, a, b, ...) / torch.einsum(equation, {a, b, ...}) | PyTorch's einsum: 'ij,jk->ik', 'bij,bjk->bik', 'ii->i', 'bhqd,bhkd->bhqk', implicit output (letters used once, sorted), '...' broadcast; letters not in the output summed; computed with torch.bmm, differentiable; a 0-dim result is a number (a 0-dim tensor while autograd records)
nn.Embedding | nn.Embedding(numEmbeddings, embeddingDim [, {paddingIdx =, maxNorm =, normType = 2}]) | PyTorch's embedding (an nn.LookupTable): N(0, 1) rows picked by 1-based indices; paddingIdx's row starts at zero and gets no gradient; maxNorm renormalises looked-up rows in place
datasets.TensorDataset | datasets.TensorDataset(t1, t2, ...) | sample i is {t1[i], t2[i], ...}; a DataLoader batches it (for x, y in loader:iter())
datasets.Subset datasets.randomSplit | datasets.Subset(ds, indices) / datasets.randomSplit(ds, {n1, n2, ...} or {0.8, 0.2} [, seed]) -> {Subset, ...} | the samples of ds at indices (a table or LongTensor) / disjoint random parts of those lengths or fractions (PyTorch's Subset, random_split); a DataLoader keeps the base's whole-split batching
distributed.init | dist.init() -> rank, size | starts MPI (MPI_Init_thread; a world of one outside mpirun); finalised when Lua closes, or by dist.finalize()
distributed.rank distributed.size distributed.localRank | dist.rank() / dist.size() / dist.localRank() | this process's 0-based rank / the number of ranks / its rank among the ranks on this node
distributed.isInitialized distributed.finalize | dist.isInitialized() / dist.finalize() | whether MPI is running / stops MPI (no collective after it)
distributed.barrier | dist.barrier() | waits until every rank has called it
distributed.setChecks | dist.setChecks(on) -> previous | whether each collective first checks that every rank passed the same size, type, op and root (one small all-reduce per call; on by default); off: a mismatch is undefined (wrong data or a hang)
distributed.setTimeout | dist.setTimeout(seconds) -> previous | a rank that waits longer than this in one MPI call (another rank ended early or hangs) says so and exits, and mpirun ends the job; 0: wait forever; default LUATORCH_DIST_TIMEOUT, else 1800
distributed.allReduce | dist.allReduce(t [, op = 'sum']) -> t | in place: t becomes the op ('sum', 'mean', 'max', 'min') of every rank's t; float, double, long, byte; contiguous tensors, host or device (a device tensor goes through NCCL or a host buffer: dist.deviceBackend()); every rank passes the same size and device (else an error on every rank)
distributed.iallReduce distributed.Handle:wait distributed.Handle:test | dist.iallReduce(t [, op = 'sum']) -> h; h:wait() -> t; h:test() -> done | allReduce without waiting (MPI_Iallreduce, or NCCL on the CUDA stream): t is reduced once h:wait() returns
distributed.deviceBackend | dist.deviceBackend() -> 'nccl' or 'host', why | how collectives on device tensors go: 'nccl' (GPU to GPU through the CUDA toolkit's libnccl.so.2, loaded at run time; why names it) when every rank has a GPU of its own (e.g. CUDA_VISIBLE_DEVICES=<local rank>) and NCCL loads and starts, else 'host' (copies to host buffers and MPI; why gives the first rank's reason); decided once by every rank together, at the first device collective or this call (so every rank calls it); LUATORCH_NCCL=0 turns NCCL off, LUATORCH_NCCL=<path> names the library; the NCCL path has not run on a real GPU yet
distributed.broadcast | dist.broadcast(t, root) -> t | in place: every rank's t becomes rank root's (0-based)
distributed.allGather | dist.allGather(out, t) -> out | out (size x t's elements) gets every rank's t, rank 0's first
distributed.reduceScatter | dist.reduceScatter(out, t [, op = 'sum']) -> out | t (size x out's elements) reduced over the ranks; rank r's out gets the r-th part
nn.DistributedDataParallel | nn.DistributedDataParallel(module [, {bucketMB = 25, root = 0, overlap = true, broadcastBuffers = true}]) | data-parallel training over MPI: broadcasts rank root's parameters and buffers at construction (buffers again before each training forward); during loss:backward() after m(x), or m:backward(x, g) after m:forward(x), each bucket of gradients is all-reduced (averaged) as soon as it is complete, overlapping the rest of backward; with getParameters and optim.sgd without it: dist.allReduce(gradParams):div(dist.size()) in feval
nn.DistributedDataParallel:syncGradients | m:syncGradients() | averages every parameter's gradient over the ranks, one all-reduce per bucket of about bucketMB, after backward (overlap = false, or a backward the module did not see); after an overlapped backward it only waits; always safe to call
nn.DistributedDataParallel:broadcastParameters | m:broadcastParameters() | rank root's parameters and buffers into every rank's (e.g. after loading a checkpoint on root)
nn.DistributedDataParallel:buffers | m:buffers() -> {tensors} | the wrapped modules' buffers (namedBuffers: batch norm's running statistics), which broadcastBuffers keeps equal to root's
nn.DistributedDataParallel:forward nn.DistributedDataParallel:backward nn.DistributedDataParallel:updateOutput nn.DistributedDataParallel:updateGradInput nn.DistributedDataParallel:accGradParameters | m:forward(input) / m:backward(input, gradOutput [, scale]) / ... | the wrapped module's
nn.CAdd nn.CAdd:reset | nn.CAdd(size...) / nn.CAdd(LongStorage) / nn.CAdd({sizes}); m:reset([stdv]) | x + b, a learnt bias (gradBias) of the given sizes: added element by element when the input has as many elements, broadcast where it has size 1 when it has as many dims, else over a batch of N samples of #bias elements (Torch7's); reset: uniform in +-stdv sqrt(3), default +-1/sqrt(#bias)
nn.Constant | nn.Constant(value [, nInputDim]) | outputs value (a tensor; a number is a 1-element tensor) whatever the input, of the module's type; with nInputDim an input of more dims is a batch and value is repeated for each sample; gradInput is zeros
nn.OneHot | nn.OneHot(outputSize) | class indices (1-based; a LongTensor, whole numbers in a float tensor, or a number) of size S -> S x outputSize of zeros with a 1 at each index, of the module's type; gradInput is zeros
nn.ZeroGrad | nn.ZeroGrad() | the identity forward (a tensor or a table of them), zeros as the gradient back (Torch7 and PyTorch styles): what comes before it does not learn from what comes after
nn.PrintSize | nn.PrintSize([prefix = 'PrintSize']) | the identity; forward prints "<prefix>:input" and the input's size ({[2 x 3], [4]} for a table), backward "<prefix>:gradOutput" and its size
nn.Collapse | nn.Collapse(nInputDim) | a sample has nInputDim dims: an input of more dims (a batch) becomes N x (the rest flattened), one of nInputDim dims or fewer 1-D; the gradient comes back in the input's shape
nn.Convert | nn.Convert([inputShape = 'b*', outputShape = inputShape]) | dpnn's layout conversion by letters, b the batch (a shape without b gets one in front): a permutation of the same letters ('bchw' -> 'bhwc'), any shape to 'bf' (the batch dim swapped with the first, each sample flattened), 'bt' / 'bf' to 'b', 'b' to 'bt'; the input converted to the module's type (the gradient back to the input's); one sample (one dim fewer) works too
nn.CAveTable | nn.CAveTable() | the elementwise mean of a table of tensors (broadcast as nn.CAddTable)
nn.MixtureTable | nn.MixtureTable([dim]) | {gater, experts} -> sum_i gater[.., i] expert_i: gater N x E (or E), experts a table of E tensors (N x ... each) or one tensor holding them along dim (default 2 for a batch, 1 for a sample), which the sum removes (a mixture of experts)
nn.VolumetricBatchNormalization nn.BatchNorm3d | nn.VolumetricBatchNormalization(n [, eps, momentum, affine]) / nn.BatchNorm3d(n [, {eps, momentum, affine, trackRunningStats}]) | batch norm per channel of N x C x D x H x W (nn.BatchNormalization's running statistics, names and options)
nn.SpatialClassNLLCriterion | nn.SpatialClassNLLCriterion([weights [, sizeAverage = true]]) | the negative log-likelihood at each pixel: input N x C x H x W log-probabilities (or C x H x W), target N x H x W class indices, 1-based (or H x W); the mean is over the pixels' class weights (nn.ClassNLLCriterion on spatial inputs)
nn.SpatialDivisiveNormalization | nn.SpatialDivisiveNormalization([nInputPlane = 1, kernel = torch.ones(9, 9), threshold = 1e-4, thresval = threshold]) | Torch7's: each plane divided by the local std over all planes (sqrt of x^2 averaged by the kernel, odd sizes, a 1-D kernel k meaning k k^T; at the borders divided by the kernel's share inside), stds <= threshold replaced by thresval
nn.SpatialContrastiveNormalization | nn.SpatialContrastiveNormalization([nInputPlane = 1, kernel = torch.ones(9, 9), threshold = 1e-4, thresval = threshold]) | nn.SpatialSubtractiveNormalization then nn.SpatialDivisiveNormalization with the same kernel (Torch7's local contrast normalisation)
optim.adamw | optim.adamw(feval, x, config, state) -> x, {f} | AdamW step (decoupled weight decay); config: learningRate (1e-3), beta1, beta2, epsilon, weightDecay (1e-2)
optim.AdamW | optim.AdamW(params, {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weightDecay = 1e-2}) | PyTorch's AdamW: param *= 1 - lr * weightDecay, then Adam's step (amsgrad not supported)
optim.Optimizer optim.SGD:addParamGroup optim.Adam:addParamGroup optim.AdamW:addParamGroup optim.RMSprop:addParamGroup optim.Adagrad:addParamGroup optim.Optimizer:addParamGroup | optim.SGD({ {params = p1, lr = 0.1}, {params = p2} }, {lr = 0.01, momentum = 0.9}) / opt:addParamGroup{params =, ...} | param groups, each with its own options (the second table fills in the rest); opt.paramGroups[i].lr can be read and changed between steps
optim.SGD:step optim.SGD:zeroGrad optim.Adam:step optim.Adam:zeroGrad optim.AdamW:step optim.AdamW:zeroGrad optim.RMSprop:step optim.RMSprop:zeroGrad optim.Adagrad:step optim.Adagrad:zeroGrad optim.Optimizer:step optim.Optimizer:zeroGrad | opt:step([closure]) / opt:zeroGrad() | one update of every parameter that has a gradient, each with its param group's current options (closure: called first, its loss returned) / zeroes the gradients in place
optim.clipGradValue torch.clipGradValue | optim.clipGradValue(params, clipValue) | clamps every gradient into [-clipValue, clipValue] in place (PyTorch's clip_grad_value_)
optim.LRScheduler optim.LRScheduler:step optim.LRScheduler:getLastLr optim.StepLR:step optim.StepLR:getLastLr optim.MultiStepLR:step optim.MultiStepLR:getLastLr optim.ExponentialLR:step optim.ExponentialLR:getLastLr optim.CosineAnnealingLR:step optim.CosineAnnealingLR:getLastLr optim.OneCycleLR:step optim.OneCycleLR:getLastLr optim.LambdaLR:step optim.LambdaLR:getLastLr optim.ReduceLROnPlateau:step optim.ReduceLROnPlateau:getLastLr | sched:step() (ReduceLROnPlateau: sched:step(metric)) / sched:getLastLr() -> {lr, ...} | a learning-rate scheduler over an optimiser (every param group's lr) or a Torch7 config table (its learningRate); PyTorch's sequences
optim.StepLR optim.MultiStepLR optim.ExponentialLR | optim.StepLR(opt, {stepSize =, gamma = 0.1}) / optim.MultiStepLR(opt, {milestones = {..}, gamma = 0.1}) / optim.ExponentialLR(opt, {gamma =}) | lr * gamma every stepSize steps / at each milestone / every step
optim.CosineAnnealingLR | optim.CosineAnnealingLR(opt, {TMax =, etaMin = 0}) | cosine annealing from the initial lr to etaMin over TMax steps (and back up after, as PyTorch's)
optim.OneCycleLR | optim.OneCycleLR(opt, {maxLr =, totalSteps = (or epochs =, stepsPerEpoch =), pctStart = 0.3, annealStrategy = 'cos', divFactor = 25, finalDivFactor = 1e4, threePhase = false, cycleMomentum = true, baseMomentum = 0.85, maxMomentum = 0.95}) | the one-cycle policy: up to maxLr, then down to maxLr / divFactor / finalDivFactor; momentum (or Adam's beta1) cycles the other way
optim.LambdaLR | optim.LambdaLR(opt, {lrLambda = function(epoch) ... end}) | lr = initial lr * lrLambda(epoch) (a list: one function per param group)
optim.ReduceLROnPlateau | optim.ReduceLROnPlateau(opt, {mode = 'min', factor = 0.1, patience = 10, threshold = 1e-4, thresholdMode = 'rel', cooldown = 0, minLr = 0, eps = 1e-8}) | lr * factor once the metric given to sched:step(metric) stops improving for patience steps
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

-- The module tables and namespaces help lists, by value: help(nn) is ?nn.
local function namespace_name(x)
  for _, name in ipairs({ 'torch', 'nn', 'optim', 'datasets', 'transforms', 'distributed' }) do
    if rawequal(package.loaded[name], x) then return name end
  end
  local torch = package.loaded.torch
  if torch and rawequal(torch.cuda, x) then return 'torch.cuda' end
  if torch and rawequal(torch.autograd, x) then return 'torch.autograd' end
  return nil
end

local function list(found)
  local lines = {}
  for _, f in ipairs(found) do
    local sep = #f.sig < 44 and (' '):rep(45 - #f.sig) or '\n' .. (' '):rep(45)
    lines[#lines + 1] = f.sig .. sep .. f.desc
  end
  return table.concat(lines, '\n')
end

-- A printable description of x (a value or a name), or nil. A name that is a prefix of other
-- names ('nn', 'torch.cuda', 'nn.Module') lists its own entry first, then those under it.
function help.describe(x)
  if type(x) ~= 'string' then
    local ns = namespace_name(x)
    if ns then return help.describe(ns) end
    local e = help.lookup(x)
    if not e then return nil end
    if type(x) == 'table' and help.resolve(e.names[1]) == x then return help.describe(e.names[1]) end
    return format(e)
  end
  local name = canonical(x)
  local e = by_name[name]
  local found = help.find(name)
  if e and #found <= 1 then return format(e) end
  if #found == 0 then return nil end
  if #found == 1 then return format(found[1]) end
  if e then
    for i, f in ipairs(found) do
      if f == e then table.remove(found, i) break end
    end
    table.insert(found, 1, e)
  end
  return list(found)
end

-- Levenshtein's edit distance between two strings (insertions, deletions, substitutions).
function help.distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

-- The (up to) n help names nearest to an unknown one: among the names with the same prefix
-- ('nn.', 't:', 'torch.cuda.') when there are any, by the edit distance of the last component
-- ignoring case, then alphabetically.
function help.suggest(name, n)
  local prefix, last = name:match('^(.-)([%w_]*)$')
  local pool = {}
  for cand in pairs(by_name) do
    local tail = cand:sub(#prefix + 1)
    if cand:sub(1, #prefix) == prefix and tail:match('^[%w_]+$') then pool[cand] = tail end
  end
  if next(pool) == nil then  -- an unknown prefix: compare whole names
    for cand in pairs(by_name) do pool[cand] = cand end
    last = name
  end
  local names, dist = {}, {}
  for cand, tail in pairs(pool) do
    names[#names + 1], dist[cand] = cand, help.distance(last:lower(), tail:lower())
  end
  table.sort(names, function(x, y)
    if dist[x] ~= dist[y] then return dist[x] < dist[y] end
    return x < y
  end)
  return { table.unpack(names, 1, math.min(n or 3, #names)) }
end

-- What help(x) and ?x print: the description; for a name that exists but has no entry, says so;
-- for a name that does not exist, says so and suggests the nearest names.
function help.text(x)
  local text = help.describe(x)
  if text then return text end
  if type(x) ~= 'string' then
    local torch = package.loaded.torch
    return ('no help for %s'):format(torch and torch.typename(x) or type(x))
  end
  local name = canonical(x)
  if help.resolve(name) ~= nil then return ('no help for %s'):format(name) end
  local near = help.suggest(name)
  return ('%s does not exist. Nearest: %s'):format(name, table.concat(near, ', '))
end

return help
