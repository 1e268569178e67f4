-- torch.mathx — tensor functions of Torch7 and PyTorch written in Lua on the differentiable
-- ops (index, gather, sort, cat, where, narrow, sum, max, exp, log, norm, ...), so they get
-- autograd and device support from those: diag, tril, triu, trace, flip, roll, median,
-- kthvalue, mode, logsumexp, cross, dist, lerp, full, fullLike, renorm, histc.
-- Each is torch.name(x, ...) and, where Torch7 or PyTorch have one, the method x:name(...),
-- which returns a new tensor (PyTorch's methods; Torch7's wrote into self). Dims are 1-based,
-- negative ones count from the end (-1: the last). Loaded by torch/init.lua:
-- require('torch.mathx')(torch, check_self), which returns the argument checks and helpers
-- for torch.mathx2.
return function(torch, check_self)
  local check = require 'torch.check'
  local unpack = table.unpack

  -- ---- argument checks -------------------------------------------------------------------
  -- The public functions call impl(fname, base, x, ...) in a pcall; a check anywhere below
  -- raises a marked message, which the public function raises again at its caller: the
  -- user's call is blamed however deep the check sits. Other errors (a bug) pass unchanged.
  -- base is x's argument number: 1 for torch.name(x, ...), 0 for x:name(...), whose
  -- arguments Lua numbers after self; argument i after x is base + i.
  local Raised = {}
  local function raise(msg) error(setmetatable({ msg = msg }, Raised), 0) end
  local function rethrow(err)
    if getmetatable(err) == Raised then error(err.msg, 3) end   -- see run
    error(err, 0)
  end

  -- the message without the "chunk:line: " that error() put in front
  local function bare(msg) return (tostring(msg):gsub('^[^\n]-:%d+: ', '', 1)) end

  -- "bad argument #n to 'fname' (msg)", or for n = 0 (a method's self) "calling 'fname' on
  -- bad self (msg)", as Lua words a C method's
  local function argerror(fname, n, msg)
    if n == 0 then raise(("calling '%s' on bad self (%s)"):format(fname, msg)) end
    raise(("bad argument #%d to '%s' (%s)"):format(n, fname, msg))
  end

  -- check.arg's check of argument n (kinds as check.arg's); returns the value
  local function arg(fname, n, v, kinds)
    local ok, r = pcall(check.arg, fname, n, v, kinds)
    if not ok then raise(bare(r)) end
    return r
  end

  local function shape(x)
    if x:dim() == 0 then return '[] (0-dim)' end
    return '[' .. table.concat(x:size():totable(), ' x ') .. ']'
  end

  -- dim as a positive dim of x; a 0-dim tensor takes 1 and -1, as PyTorch's take 0 and -1
  local function dim_arg(fname, n, x, dim)
    dim = arg(fname, n, dim, 'integer')
    local nd = math.max(x:dim(), 1)
    if dim < -nd or dim == 0 or dim > nd then
      argerror(fname, n, ('dimension %d out of range for a tensor of size %s'):format(dim, shape(x)))
    end
    return dim < 0 and dim + nd + 1 or dim
  end

  -- fn(...) run for fname: an error of the ops it is built on (a type they do not take,
  -- shapes that do not broadcast, a device mismatch) is raised as fname's
  local function call_as(fname, fn, ...)
    local r = table.pack(pcall(fn, ...))
    if r[1] then return unpack(r, 2, r.n) end
    if getmetatable(r[2]) == Raised then error(r[2], 0) end
    local _, msg = pcall(check.call, fname, 1, false, r[2])
    raise(bare(msg))
  end

  -- ---- helpers -----------------------------------------------------------------------------
  local function on_device_of(t, x)
    if x:isCuda() then return t:cuda() end
    return t
  end

  -- a host LongTensor of the given Lua integers, on x's device
  local function long_on(x, values) return on_device_of(torch.LongTensor(values), x) end

  -- zeros of x's type and device
  local function zeros_as(x, ...) return torch.Tensor():typeAs(x):resize(...):zero() end

  -- A full reduction's result as torch.sum gives it: a Lua number, or (while autograd records
  -- it: it has a gradFn) a 0-dim tensor. t holds one element.
  local function scalar(t)
    if t.gradFn then return t:view(1):squeeze() end
    return t:view(1)[1]
  end

  -- impl(name, base, x, ...) for the public function, which tail-calls this: rethrow's level 3
  -- (rethrow, this, the public function's caller) blames the user's call
  local function run(impl, name, base, x, ...)
    local r = table.pack(pcall(impl, name, base, x, ...))
    if not r[1] then rethrow(r[2]) end
    return unpack(r, 2, r.n)
  end

  -- The public function torch.name and the method x:name, both running impl once x is checked
  local function public(name, impl)
    torch[name] = function(x, ...)
      check.arg(name, 1, x, 'tensor')
      return run(impl, name, 1, x, ...)
    end
    torch.Tensor[name] = function(self, ...)
      check_self(name, self)
      return run(impl, name, 0, self, ...)
    end
  end

  -- ---- diag, tril, triu, trace ----------------------------------------------------------
  local function offset_arg(fname, n, k)
    if k == nil then return 0 end
    return arg(fname, n, k, 'integer')
  end

  -- The 1-based flat positions (row-major) of diagonal k of an r x c matrix, a Lua list.
  local function diagonal_positions(r, c, k)
    local len = math.max(0, k >= 0 and math.min(r, c - k) or math.min(r + k, c))
    local first = k >= 0 and k + 1 or -k * c + 1
    local pos = {}
    for i = 1, len do pos[i] = first + (i - 1) * (c + 1) end
    return pos
  end

  -- diag(x [, k = 0]): a 1-D x gives the square matrix with x on diagonal k (k > 0: above the
  -- main one, k < 0: below); a 2-D x gives a copy of its diagonal k (empty beyond the
  -- matrix, as PyTorch's). Both are one index op on a flat view: differentiable.
  local function diag(fname, base, x, k)
    k = offset_arg(fname, base + 1, k)
    if x:dim() == 2 then
      local pos = diagonal_positions(x:size(1), x:size(2), k)
      return torch.index(x:reshape(x:nElement()), 1, long_on(x, pos))
    elseif x:dim() ~= 1 then
      argerror(fname, base, 'expected a 1-D or 2-D tensor, got size ' .. shape(x))
    end
    -- the matrix's elements are picked from (0, x1, ..., xn): 1 (the 0) off the diagonal,
    -- i + 1 at the diagonal's i-th position
    local n = x:size(1)
    local side = n + math.abs(k)
    if side < 0 or side > 2^31 then   -- (side * side would overflow; abs(mininteger) < 0)
      raise(('%s: a %d x %d matrix is too large'):format(fname, side, side))
    end
    return call_as(fname, function()   -- (a k too large for memory is refused as diag's)
      local pick = torch.LongTensor(side * side):fill(1)
      if n > 0 then
        local which = {}
        for i = 1, n do which[i] = i + 1 end
        local at = torch.LongTensor(diagonal_positions(side, side, k))
        pick:indexCopy(1, at, torch.LongTensor(which))
      end
      local padded = torch.cat({ zeros_as(x, 1), x }, 1)
      return torch.index(padded, 1, on_device_of(pick, x)):view(side, side)
    end)
  end
  public('diag', diag)

  -- tril(x [, k = 0]) / triu(x [, k = 0]): x with the elements above (tril) / below (triu)
  -- diagonal k set to 0; the last two dims are the matrix (more dims: a batch, PyTorch's).
  -- keep(offset) says which elements stay, from their column minus row.
  local function triangle(keep)
    return function(fname, base, x, k)
      k = offset_arg(fname, base + 1, k)
      if x:dim() < 2 then
        argerror(fname, base, 'expected a matrix or a batch of matrices (2 or more dims), got size '
                              .. shape(x))
      end
      local r, c = x:size(x:dim() - 1), x:size(x:dim())
      if r == 0 or c == 0 then return x:clone() end
      local offset = torch.add(torch.range(1, c):view(1, c), -1, torch.range(1, r):view(r, 1))
      local mask = on_device_of(keep(offset, k), x)
      return torch.where(mask, x, 0)
    end
  end
  public('tril', triangle(function(offset, k) return torch.le(offset, k) end))
  public('triu', triangle(function(offset, k) return torch.ge(offset, k) end))

  -- trace(x): the sum of the main diagonal of a 2-D x (a number; a 0-dim tensor while
  -- autograd records, as torch.sum)
  local function trace(fname, base, x)
    if x:dim() ~= 2 then argerror(fname, base, 'expected a 2-D tensor, got size ' .. shape(x)) end
    local d = diag(fname, base, x, 0)
    return torch.sum(d)
  end
  public('trace', trace)

  -- ---- flip, roll --------------------------------------------------------------------------
  -- dims given as a number or a table of them (PyTorch's int or tuple), as positive dims;
  -- argument n. once: a dim given twice is an error (flip's; roll adds the shifts up).
  local function dims_arg(fname, n, x, dims, once)
    local list = type(dims) == 'table' and dims or { arg(fname, n, dims, 'integer|table') }
    local seen, out = {}, {}
    for i = 1, #list do
      local d = dim_arg(fname, n, x, list[i])
      if once and seen[d] then
        argerror(fname, n, ('dimension %d appears more than once in the dims'):format(list[i]))
      end
      seen[d], out[i] = true, d
    end
    return out
  end

  -- flip(x, dims): x with the order of the elements along each of dims reversed, a copy
  local function flip(fname, base, x, dims)
    dims = dims_arg(fname, base + 1, x, dims, true)
    local y = x
    for _, d in ipairs(dims) do
      local n = x:dim() == 0 and 1 or x:size(d)
      if n > 1 then
        local reversed = {}
        for i = 1, n do reversed[i] = n + 1 - i end
        y = torch.index(y, d, long_on(x, reversed))
      end
    end
    if y == x then y = x:clone() end   -- a new tensor, as PyTorch's, even when nothing moved
    return y
  end
  public('flip', flip)

  -- y = x shifted by s along d, wrapping around: its first s slices are x's last s
  local function roll_dim(x, s, d)
    local n = x:size(d)
    if n == 0 then return x end
    s = s % n
    if s == 0 then return x end
    return torch.cat({ x:narrow(d, n - s + 1, s), x:narrow(d, 1, n - s) }, d)
  end

  -- roll(x, shifts [, dims]): x's elements shifted by shifts[i] along dims[i], wrapping around
  -- (numbers or tables of equal length); without dims, the flattened x is shifted by shifts
  -- (one number) and the shape restored (PyTorch's)
  local function roll(fname, base, x, shifts, dims)
    if dims == nil then
      local flat = x:reshape(x:nElement())
      local y = roll_dim(flat, arg(fname, base + 1, shifts, 'integer'), 1)
      if y == flat then return x:clone() end
      return y:view(x:size())
    end
    local given = type(shifts) == 'table' and shifts or { shifts }
    local list = {}
    for i = 1, #given do list[i] = arg(fname, base + 1, given[i], 'integer') end
    dims = dims_arg(fname, base + 2, x, dims)
    if #list ~= #dims then
      argerror(fname, base + 2, ('%d shifts for %d dims (give one shift per dim)'):format(#list, #dims))
    end
    if x:dim() == 0 then return x:clone() end
    local y = x
    for i, d in ipairs(dims) do y = roll_dim(y, list[i], d) end
    if y == x then y = x:clone() end   -- a new tensor, as flip's
    return y
  end
  public('roll', roll)

  -- ---- median, kthvalue, mode --------------------------------------------------------------
  -- These pick elements along dim (default: the last), which is kept (size 1) as max(x, dim)
  -- keeps it: values (differentiable: gathered from x) and 1-based LongTensor indices. The
  -- indices come from a stable sort, where NaN sorts after every number (PyTorch's order).
  -- A 0-dim x is taken as one element; the results are then 0-dim too.
  local function selection(fname, n, x, dim)
    local d = dim == nil and math.max(x:dim(), 1) or dim_arg(fname, n, x, dim)
    local size = x:dim() == 0 and 1 or x:size(d)
    if size == 0 then
      argerror(fname, n, ('dimension %d of size %s is empty: nothing to select from')
                          :format(d, shape(x)))
    end
    return d, size
  end

  -- the values at idx along d, from x, and the indices, with a 0-dim x's shape
  local function picked(x, d, idx)
    local src = x:dim() == 0 and x:view(1) or x
    local values = torch.gather(src, d, idx)
    if x:dim() == 0 then return values:view(1):squeeze(), idx:view(1):squeeze() end
    return values, idx
  end

  local function sorted_order(x, d)
    local src = x:dim() == 0 and x:view(1) or x
    local _, order = torch.noGrad(torch.sort, src, d)
    return order
  end

  -- kthvalue(x, k [, dim]): the k-th smallest along dim and its index
  local function kthvalue(fname, base, x, k, dim)
    k = arg(fname, base + 1, k, 'integer')
    local d, size = selection(fname, base + 2, x, dim)
    if k < 1 or k > size then
      argerror(fname, base + 1, ('k = %d out of range: dimension %d of size %s has %d elements')
                                :format(k, d, shape(x), size))
    end
    return picked(x, d, sorted_order(x, d):narrow(d, k, 1))
  end
  public('kthvalue', kthvalue)

  -- median(x, dim): the lower median along dim (element (n + 1) // 2 of the sorted n), or NaN
  -- (the first NaN's index) where the slice has a NaN (PyTorch's). median(x): the lower median
  -- of all elements, a number (a 0-dim tensor while autograd records).
  local function median(fname, base, x, dim)
    if dim == nil and x:nElement() == 0 then
      argerror(fname, base, 'the median of an empty tensor is not defined')
    end
    local src = dim == nil and x:reshape(x:nElement()) or x
    local d, size = selection(fname, base + 1, src, dim)
    local order = sorted_order(src, d)
    local pos = torch.noGrad(function()
      -- the NaNs sort last: the first of them is at size - nans + 1
      local nans = torch.ne(src, src):typeAs(order)
      if src:dim() == 0 then nans = nans:view(1) end
      nans = torch.sum(nans, d)
      return torch.where(torch.gt(nans, 0), torch.add(torch.neg(nans), size + 1), (size + 1) // 2)
    end)
    local values, indices = picked(src, d, torch.gather(order, d, pos))
    if dim == nil then return scalar(values) end
    return values, indices
  end
  public('median', median)

  -- mode(x [, dim]): the value that occurs most often along dim (of several, the smallest;
  -- the NaNs count as one value, after every number) and the index of its last occurrence
  -- (PyTorch's for short slices; its index is unspecified in general). In the sorted slice,
  -- equal values make runs: the runs are numbered, their lengths counted, and the first
  -- longest one taken.
  local function mode(fname, base, x, dim)
    local d, size = selection(fname, base + 1, x, dim)
    local src = x:dim() == 0 and x:view(1) or x
    local last = torch.noGrad(function()
      local sorted, order = torch.sort(src, d)
      -- a run starts where a value differs from the one before, except NaN after NaN: the
      -- NaNs (sorted last) count as one value
      local before = sorted:narrow(d, 1, size - 1)
      local after = sorted:narrow(d, 2, size - 1)
      local starts = torch.cmul(torch.ne(after, before), torch.eq(before, before)):typeAs(order)
      local run = torch.cumsum(torch.cat({ torch.onesLike(order:narrow(d, 1, 1)), starts }, d), d)
      local lengths = torch.zerosLike(order):scatterAdd(d, run, torch.onesLike(order))
      local _, longest = torch.max(lengths, d)
      -- the longest run ends at the sum of the lengths of the runs up to it
      local run_end = torch.gather(torch.cumsum(lengths, d), d, longest)
      return torch.gather(order, d, run_end)
    end)
    return picked(x, d, last)
  end
  public('mode', mode)

  -- ---- logsumexp ---------------------------------------------------------------------------
  -- logsumexp(x, dim [, keepdim = false]): log(sum(exp(x))) along dim, computed as
  -- m + log(sum(exp(x - m))) with m the largest element (not differentiated: the result does
  -- not depend on it), so no exp overflows; m is taken as 0 where it is infinite, so a row of
  -- -inf gives -inf and one with +inf gives +inf; NaN gives NaN.
  local function logsumexp(fname, base, x, dim, keepdim)
    local d = dim_arg(fname, base + 1, x, dim)
    keepdim = arg(fname, base + 2, keepdim, 'boolean?') or false
    local y = call_as(fname, function()
      local src = x:dim() == 0 and x:view(1) or x
      if src:size(d) == 0 then return torch.log(torch.sum(torch.exp(src), d)) end
      local m = torch.noGrad(function()
        local top = torch.max(src, d)
        return torch.where(torch.eq(torch.abs(top), math.huge), 0, top)
      end)
      return torch.add(torch.log(torch.sum(torch.exp(torch.add(src, -1, m)), d)), m)
    end)
    if x:dim() == 0 then return y:view(1):squeeze() end
    if not keepdim then y = y:squeeze(d) end
    return y
  end
  public('logsumexp', logsumexp)

  -- ---- cross, dist, lerp -----------------------------------------------------------------
  -- cross(a, b [, dim]): the cross products of the 3-vectors along dim (default: the first dim
  -- of size 3, Torch7's); a and b of one size
  local function cross(fname, base, a, b, dim)
    arg(fname, base + 1, b, 'tensor')
    if not a:isSameSizeAs(b) then
      argerror(fname, base + 1, ('expected the size of the first tensor %s, got %s')
                                :format(shape(a), shape(b)))
    end
    local d
    if dim == nil then
      for i = 1, a:dim() do
        if a:size(i) == 3 then d = i break end
      end
      if not d then argerror(fname, base, 'no dimension of size 3 in a tensor of size ' .. shape(a)) end
    else
      d = dim_arg(fname, base + 2, a, dim)
      if a:dim() == 0 or a:size(d) ~= 3 then
        argerror(fname, base + 2, ('dimension %d of size %s is not of size 3'):format(d, shape(a)))
      end
    end
    return call_as(fname, function()
      local function part(t, i) return t:narrow(d, i, 1) end
      local function minor(i, j)
        return torch.cmul(part(a, i), part(b, j)) - torch.cmul(part(a, j), part(b, i))
      end
      return torch.cat({ minor(2, 3), minor(3, 1), minor(1, 2) }, d)
    end)
  end
  public('cross', cross)

  -- dist(a, b [, p = 2]): the p-norm of a - b (broadcast), a number (a 0-dim tensor while
  -- autograd records)
  local function dist(fname, base, a, b, p)
    arg(fname, base + 1, b, 'tensor')
    p = arg(fname, base + 2, p, 'number?') or 2
    return call_as(fname, function() return torch.norm(a - b, p) end)
  end
  public('dist', dist)

  -- lerp(a, b, w): a + w (b - a), w a number or a tensor (broadcast), a new tensor
  local function lerp(fname, base, a, b, w)
    arg(fname, base + 1, b, 'tensor')
    arg(fname, base + 2, w, 'number|tensor')
    return call_as(fname, function()
      if type(w) == 'number' then return torch.add(a, w, b - a) end
      return torch.add(a, torch.cmul(b - a, w))
    end)
  end
  public('lerp', lerp)

  -- ---- full, fullLike ----------------------------------------------------------------------
  -- torch.full(sizes..., value) / torch.full({sizes}, value): a tensor of the default type
  -- filled with value (sizes as torch.zeros takes them)
  function torch.full(...)
    local n = select('#', ...)
    if n < 2 then
      check.argerror('full', n + 1, ('sizes, then the fill value expected, got %d argument(s)'):format(n))
    end
    local value = check.arg('full', n, select(n, ...), 'number')
    local sizes = { ... }
    local t = check.call('torch.full', 1, pcall(torch.zeros, unpack(sizes, 1, n - 1)))
    return t:fill(value)
  end

  -- torch.fullLike(x, value): value in a tensor of x's size, type and device
  function torch.fullLike(x, value)
    check.arg('fullLike', 1, x, 'tensor')
    check.arg('fullLike', 2, value, 'number')
    return torch.zerosLike(x):fill(value)
  end

  -- ---- renorm, histc -----------------------------------------------------------------------
  -- renorm(x, p, dim, maxnorm): each slice of x along dim (x:select(dim, i)) whose p-norm is
  -- above maxnorm scaled to norm maxnorm (by maxnorm / (norm + 1e-7), PyTorch's), the others
  -- unchanged; differentiable through the norms too, as PyTorch's
  local function renorm(fname, base, x, p, dim, maxnorm)
    p = arg(fname, base + 1, p, 'number')
    if not (p > 0) then argerror(fname, base + 1, ('p must be > 0, got %g'):format(p)) end
    if x:dim() == 0 then
      argerror(fname, base, 'expected a tensor of 1 or more dims, got size ' .. shape(x))
    end
    local d = dim_arg(fname, base + 2, x, dim)
    maxnorm = arg(fname, base + 3, maxnorm, 'number')
    if not (maxnorm >= 0) then
      argerror(fname, base + 3, ('maxnorm must be >= 0, got %g'):format(maxnorm))
    end
    return call_as(fname, function()
      local slices = x:transpose(1, d)
      local n = slices:size(1)
      if slices:nElement() == 0 then return x:clone() end
      local rows = slices:reshape(n, slices:nElement() // n)
      local norms = torch.norm(rows, p, 2)
      local shrink = torch.mul(torch.reciprocal(torch.add(norms, 1e-7)), maxnorm)
      local scale = torch.where(torch.gt(norms, maxnorm), shrink, 1)
      return torch.cmul(rows, scale):view(slices:size()):transpose(1, d):contiguous()
    end)
  end
  public('renorm', renorm)

  -- histc(x [, bins = 100 [, min = 0 [, max = 0]]]): a 1-D tensor (x's type) of bins counts of
  -- x's elements in equal-width bins from min to max (a value at max in the last bin; those
  -- outside and NaN not counted); min = max (the default 0, 0) takes the data's min and max
  -- (Torch7's and PyTorch's; one either side if those are equal). No gradient.
  local floating = { ['torch.FloatTensor'] = true, ['torch.DoubleTensor'] = true,
                     ['torch.CudaTensor'] = true, ['torch.CudaDoubleTensor'] = true }
  local function histc(fname, base, x, bins, lo, hi)
    bins = arg(fname, base + 1, bins, 'integer?') or 100
    if bins < 1 then argerror(fname, base + 1, ('bins must be >= 1, got %d'):format(bins)) end
    lo = arg(fname, base + 2, lo, 'number?') or 0
    hi = arg(fname, base + 3, hi, 'number?') or 0
    if lo ~= lo or hi ~= hi or math.abs(lo) == math.huge or math.abs(hi) == math.huge then
      argerror(fname, base + 2, ('the range must be finite, got [%g, %g]'):format(lo, hi))
    elseif lo > hi then
      argerror(fname, base + 3, ('max %g is below min %g'):format(hi, lo))
    end
    return torch.noGrad(call_as, fname, function()
      local values = x:reshape(x:nElement())
      if not floating[x:type()] then values = values:double() end
      if lo == hi and values:nElement() > 0 then   -- the data's range; NaNs left out
        local numbers = torch.maskedSelect(values, torch.eq(values, values))
        if numbers:nElement() > 0 then lo, hi = numbers:min(), numbers:max() end
        if math.abs(lo) == math.huge or math.abs(hi) == math.huge then
          raise(("%s: the data's range [%g, %g] is not finite; give min and max")
                :format(fname, lo, hi))
        end
      end
      if lo == hi then lo, hi = lo - 1, hi + 1 end
      local within = torch.cmul(torch.ge(values, lo), torch.le(values, hi))
      local inside = torch.maskedSelect(values, within)
      local counts = zeros_as(values, bins)
      if inside:nElement() > 0 then
        -- PyTorch's bin: floor((v - min) / (max - min) * bins), v = max in the last one
        local at = torch.floor(torch.mul(torch.div(torch.add(inside, -lo), hi - lo), bins))
        local bin = torch.clamp(at, 0, bins - 1):add(1)
        counts:indexAdd(1, on_device_of(bin:long(), values), torch.onesLike(inside))
      end
      return counts:typeAs(x)
    end)
  end
  public('histc', histc)

  -- the checks and helpers above, for torch.mathx2, which is written the same way
  return { raise = raise, argerror = argerror, arg = arg, shape = shape, dim_arg = dim_arg,
           call_as = call_as, run = run, public = public, on_device_of = on_device_of,
           long_on = long_on, zeros_as = zeros_as, scalar = scalar, floating = floating,
           Raised = Raised }
end
