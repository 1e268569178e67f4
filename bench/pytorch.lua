-- bench/pytorch.lua — times PyTorch for the benchmarks, with every PyTorch found: Debian's
-- (/usr/bin/python3, python3-torch 1.13 on bookworm) and a PyPI 2.x in a virtualenv (`make
-- bench-venv` creates build/venv-torch; LUATORCH_PYTORCH=path/to/python names another
-- interpreter instead). Returns a table of functions:
--   run(script, threads)  runs the Python script with each interpreter, once per thread count n,
--                         as `script n`; the script prints lines "<index> <value>". Returns one
--                         entry per interpreter, in the order above: { short = 'PT1.13' (the
--                         column label), label = 'PT 1.13', python, version, blas,
--                         res = { ['<index>:<n>'] = value } or nil when nothing was printed
--                         (no such interpreter, or it cannot import torch) }
--   legend(pts)           lines saying which interpreter each label is, and why one is n/a
-- Thread control differs by build. Debian's reaches OpenBLAS through the generic libblas, so
-- the script's torch.set_num_threads alone does not limit OpenBLAS (its "1 thread" would run the
-- GEMMs on every core): OPENBLAS_NUM_THREADS=n. PyPI's uses MKL and OpenMP:
-- OMP_NUM_THREADS=n and MKL_NUM_THREADS=n, besides the script's torch.set_num_threads(n).
local here = debug.getinfo(1, 'S').source:match('^@(.*/)') or './'
local VENV_PYTHON = 'build/venv-torch/bin/python'  -- relative to the repository root

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

-- torch's version and BLAS as the interpreter reports them, or nil and why not
local function probe(python)
  if not exists(python) then return nil, 'not found' end
  local p = io.popen(quote(python) .. ' -c ' .. quote('import torch; print(torch.__version__, '
    .. 'int(torch.backends.mkl.is_available()))') .. ' 2>/dev/null')
  local line = p and p:read('l')
  if p then p:close() end
  local version, mkl = (line or ''):match('^(%S+) ([01])$')
  if not version then return nil, 'cannot import torch' end
  return version, mkl == '1' and 'MKL' or 'OpenBLAS'
end

-- the interpreters: Debian's, then the virtualenv's (or LUATORCH_PYTORCH's)
local function interpreters()
  local venv = os.getenv('LUATORCH_PYTORCH')
  local list = { { python = '/usr/bin/python3', fallback = 'PTdeb',
                   origin = "Debian's python3-torch" } }
  if venv and venv ~= '' then
    list[2] = { python = venv, fallback = 'PT2.x', origin = 'LUATORCH_PYTORCH' }
  else
    list[2] = { python = here .. '../' .. VENV_PYTHON, shown = VENV_PYTHON, fallback = 'PT2.x',
                origin = "make bench-venv's virtualenv" }
  end
  if list[2].python == list[1].python then list[2] = nil end
  for _, it in ipairs(list) do
    it.version, it.blas = probe(it.python)
    if not it.version then it.why, it.blas = it.blas, nil end
    local mm = it.version and it.version:match('^(%d+%.%d+)')
    it.short = mm and 'PT' .. mm or it.fallback
    it.label = mm and 'PT ' .. mm or it.fallback
  end
  return list
end

local function env_for(it, n)
  if it.blas == 'MKL' then return ('OMP_NUM_THREADS=%d MKL_NUM_THREADS=%d '):format(n, n) end
  return ('OPENBLAS_NUM_THREADS=%d '):format(n)
end

local function run(script, threads)
  local pts = interpreters()
  local path = os.tmpname()
  local f = assert(io.open(path, 'w'))
  f:write(script)
  f:close()
  for _, it in ipairs(pts) do
    if it.version then
      local res = {}
      for _, nt in ipairs(threads) do
        local p = io.popen(('%s%s %s %d 2>/dev/null'):format(env_for(it, nt), quote(it.python),
                                                            quote(path), nt))
        if p then
          for line in p:lines() do
            local i, v = line:match('^(%d+) (%S+)$')
            if i then res[tonumber(i) .. ':' .. nt] = tonumber(v) end
          end
          p:close()
        end
      end
      it.res = next(res) and res or nil
    end
  end
  os.remove(path)
  return pts
end

local function legend(pts)
  local lines = {}
  for _, it in ipairs(pts) do
    local where = it.shown or it.python
    if it.version then
      lines[#lines + 1] = ('(%s = %s: torch %s, %s; %s)'):format(it.short, where, it.version,
        it.blas, not it.res and 'the script printed nothing: n/a' or it.blas == 'MKL'
        and 'threads by OMP_NUM_THREADS, MKL_NUM_THREADS + torch.set_num_threads'
        or 'threads by OPENBLAS_NUM_THREADS + torch.set_num_threads')
    else
      lines[#lines + 1] = ('(%s = %s (%s): %s, its columns are n/a%s)'):format(it.short, where,
        it.origin, it.why,
        it.fallback == 'PT2.x' and '; make bench-venv installs PyTorch 2.x' or '')
    end
  end
  return table.concat(lines, '\n')
end

return { run = run, legend = legend, interpreters = interpreters }
