-- spec/helpers.lua — shared by the specs: loading PyTorch fixtures, comparing tensors with a
-- tolerance, finite-difference checks, and gpu_it (pending where no GPU is present).
local torch = require 'torch'

local H = {}

local here = debug.getinfo(1, 'S').source:match('^@(.*/)') or './'
H.fixture_dir = here .. 'fixtures/'

local ctor = {
  float32 = torch.FloatTensor, float64 = torch.DoubleTensor,
  int64 = torch.LongTensor, uint8 = torch.ByteTensor,
}

-- Loads spec/fixtures/<name>.lua (written by gen_*.py with PyTorch).
function H.fixture(name)
  return dofile(H.fixture_dir .. name .. '.lua')
end

-- A fixture tensor {dtype=, shape=, data=} as a luatorch tensor (optionally another dtype).
function H.tensor(f, dtype)
  local t = ctor[dtype or f.dtype](f.data)
  if #f.shape == 0 then return t:view(1):squeeze() end
  return t:view(table.unpack(f.shape))
end

local function flat(x)
  if torch.isTensor(x) then return x:contiguous():view(-1):double(), x:size():totable() end
  if type(x) == 'table' and x.data then return torch.DoubleTensor(x.data), x.shape end
  return nil
end

-- assert.close(actual, expected [, rtol [, atol]]): same shape, |a-e| <= atol + rtol*|e|,
-- NaN where expected is NaN. expected may be a tensor or a fixture table.
function H.close(actual, expected, rtol, atol)
  rtol, atol = rtol or 1e-5, atol or 1e-6
  if type(actual) == 'number' then
    local e = type(expected) == 'table' and expected.data[1] or expected
    if e ~= e then assert(actual ~= actual, ('expected NaN, got %s'):format(actual)) return end
    assert(math.abs(actual - e) <= atol + rtol * math.abs(e),
           ('expected %.10g, got %.10g'):format(e, actual))
    return
  end
  local a, ashape = flat(actual)
  local e, eshape = flat(expected)
  assert(a, 'actual is not a tensor')
  assert(#ashape == #eshape, ('shape [%s] vs expected [%s]'):format(table.concat(ashape, 'x'),
                                                                   table.concat(eshape, 'x')))
  for i = 1, #ashape do
    assert(ashape[i] == eshape[i], ('shape [%s] vs expected [%s]'):format(
      table.concat(ashape, 'x'), table.concat(eshape, 'x')))
  end
  for i = 1, a:nElement() do
    local x, y = a[i], e[i]
    if y ~= y then
      assert(x ~= x, ('element %d: expected NaN, got %s'):format(i, x))
    elseif y == math.huge or y == -math.huge then
      assert(x == y, ('element %d: expected %s, got %s'):format(i, y, x))
    else
      assert(math.abs(x - y) <= atol + rtol * math.abs(y),
             ('element %d: expected %.10g, got %.10g'):format(i, y, x))
    end
  end
end

-- The message of the error fn raises (fails if it does not raise).
function H.error_of(fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, 'expected an error, got none')
  return tostring(err)
end

-- ---- files -------------------------------------------------------------------------------

function H.readfile(path)
  local f = assert(io.open(path, 'rb'))
  local s = f:read('a')
  f:close()
  return s
end

function H.writefile(path, s)
  local f = assert(io.open(path, 'wb'))
  f:write(s)
  f:close()
end

-- a fresh empty directory (remove it with H.rmtree)
function H.mktempdir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute('mkdir -p "' .. dir .. '"'))
  return dir
end

function H.rmtree(dir) os.execute('rm -rf "' .. dir .. '"') end

-- the bytes of an IDX file: type code, dims, then the payload (already big-endian bytes)
function H.idx_bytes(code, dims, payload)
  local parts = { string.char(0, 0, code, #dims) }
  for _, d in ipairs(dims) do parts[#parts + 1] = string.pack('>I4', d) end
  parts[#parts + 1] = payload or ''
  return table.concat(parts)
end

-- ---- autograd specs ------------------------------------------------------------------------

-- x, marked as a leaf that requires grad
function H.grad_leaf(x)
  x.requiresGrad = true
  return x
end
-- float64 leaves: normal values, a transposed (non-contiguous) r x c view, a narrowed r x c
-- view (row stride c + 3), and values in [0.5, 1.5) for ops that want positive inputs
function H.randn(...) return H.grad_leaf(torch.randn(...):double()) end
function H.randn_t(r, c) return H.grad_leaf(torch.randn(c, r):double():t()) end
function H.randn_n(r, c) return H.grad_leaf(torch.randn(r, c + 3):double():narrow(2, 2, c)) end
function H.pos(...) return H.grad_leaf(torch.rand(...):double():add(0.5)) end

-- asserts torch.gradcheck (which raises with the element and both values on a mismatch)
function H.gradcheck(fn, inputs, opts)
  require('luassert').is_true(torch.gradcheck(fn, inputs, opts))
end

-- asserts that msg contains every plain-pattern given
function H.matches(msg, ...)
  for _, pat in ipairs({ ... }) do
    assert(msg:find(pat), ('error %q does not match %q'):format(msg, pat))
  end
end

-- True when luatorch was built with CUDA and a device is present.
function H.has_gpu()
  return torch.cuda ~= nil and torch.cuda.isAvailable ~= nil and torch.cuda.isAvailable()
end

-- True in a `make CUDA=emu` build, whose "device" is the host emulation (gpu/emu).
function H.gpu_emulated()
  return H.has_gpu() and torch.cuda.isEmulated ~= nil and torch.cuda.isEmulated()
end

-- gpu_it(name, fn): an `it` that is reported pending (never passed) without a GPU; in the
-- emulation build its name ends in " [emulated device]", so no one mistakes it for a GPU run.
-- (it and pending come from busted's module: this file's globals are not the spec's;
-- tools/minibusted.lua provides the same module.)
function H.gpu_it(name, fn)
  local busted = require 'busted'
  if not H.has_gpu() then
    busted.pending(name .. ' (no GPU)')
  elseif H.gpu_emulated() then
    busted.it(name .. ' [emulated device]', fn)
  else
    busted.it(name, fn)
  end
end

-- ---- device results against the CPU's (specs 35 and 50) -------------------------------------
local DEVICE_TOL = { float = { 1e-5, 1e-6 }, double = { 1e-10, 1e-12 } }

-- device_close(gpu, cpu, dt, what): gpu (the device run's result) equals cpu within dt's ('float' or
-- 'double') tolerance, relative to each element and to the tensor's scale: a gradient summed
-- over thousands of terms cancels to small elements whose rounding is that of the large terms
function H.device_close(gpu, cpu, dt, what)
  assert(gpu ~= nil, (what or 'result') .. ': missing on the device')
  assert(cpu ~= nil, (what or 'result') .. ': missing on the CPU')
  require('luassert').are.same(cpu:size():totable(), gpu:size():totable())
  local rtol = DEVICE_TOL[dt][1]
  local host, ref = gpu:detach():cpu(), cpu:detach():cpu()
  local scale = ref:nElement() > 0 and torch.abs(ref:double()):max() or 0
  local ok, err = pcall(H.close, host, ref, rtol, math.max(DEVICE_TOL[dt][2], rtol * scale))
  assert(ok, (what or 'result') .. ': ' .. tostring(err))
end

-- device_compare_all(g, c, dt [, close]): every named result of c (the CPU's) is in g (the
-- device's) and close to it (close: H.device_close, or the spec's stricter one), and g has no
-- other names; returns how many were compared
function H.device_compare_all(g, c, dt, close)
  local n = 0
  for k, v in pairs(c) do
    (close or H.device_close)(g[k], v, dt, k)
    n = n + 1
  end
  for k in pairs(g) do assert(c[k] ~= nil, k .. ': only on the device') end
  return n
end

-- mpirun(timeout): the start of an mpirun command line (ranks and program follow), sent TERM
-- after timeout seconds and KILL 10 s later (an mpirun stuck reaping a rank ignored the TERM
-- and held the spec run for good; the callers' time bounds still fail the test). CI runs as root; the vader transport's single copy (CMA) is refused in
-- some containers; the suppressions matter only in the sanitizer run (spec/lsan_mpi.supp says
-- why).
function H.mpirun(timeout)
  return ('OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 '
          .. 'LSAN_OPTIONS=suppressions=%slsan_mpi.supp ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0" '
          .. 'timeout -k 10 %d mpirun --oversubscribe --mca btl_vader_single_copy_mechanism none')
         :format(here, timeout)
end

-- run_ranks(exe, worker, np, mode [, env [, timeout]]): runs `exe worker mode dir` (spec
-- 48/53's distributed worker) alone (np = 0: a world of one) or under `mpirun -np np`; env: 'A=1
-- B=2' for every rank, or a list with one string per rank (an MPMD launch). Each rank writes
-- dir/rank<r>.txt. Returns the output, the exit status, the seconds it took and each rank's
-- lines (ranks 0-based: files[r + 1]).
function H.run_ranks(exe, worker, np, mode, env, timeout)
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute('mkdir -p ' .. dir))
  local cmd = ('%s%s %s %s %s'):format(type(env) == 'string' and 'env ' .. env .. ' ' or '', exe,
                                       worker, mode, dir)
  local ranks = np
  if type(env) == 'table' then
    local apps = {}
    for r = 1, np do apps[r] = ('-np 1 env %s %s %s %s %s'):format(env[r], exe, worker, mode, dir) end
    cmd = table.concat(apps, ' : ')
  elseif np > 0 then
    cmd = ('-np %d %s'):format(np, cmd)
  end
  if np > 0 then cmd = H.mpirun(timeout or 60) .. ' ' .. cmd end
  local t0 = os.time()
  local p = io.popen(cmd .. ' 2>&1')
  local output = p:read('a')
  local _, _, code = p:close()
  local files = {}
  for r = 0, math.max(ranks, 1) - 1 do
    local lines, f = {}, io.open(('%s/rank%d.txt'):format(dir, r))
    if f then
      for l in f:lines() do lines[#lines + 1] = l end
      f:close()
    end
    files[r + 1] = lines
  end
  os.execute('rm -rf ' .. dir)
  return output, code, os.time() - t0, files
end

return H
