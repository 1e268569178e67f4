-- torch.mathx2 — more tensor functions PyTorch users reach for, written in Lua on the
-- differentiable ops as torch.mathx's are (and with its argument checks): argsort, unique,
-- bincount, diff, meshgrid, nanToNum, clip (clamp's alias), logaddexp, hypot, deg2rad,
-- rad2deg, xlogy, sinc, einsum.
-- Each is torch.name(x, ...) and, where PyTorch has one, the method x:name(...), which returns
-- a new tensor. Dims are 1-based, negative ones count from the end (-1: the last); returned
-- indices are 1-based LongTensors. Loaded by torch/init.lua after torch.mathx:
-- require('torch.mathx2')(torch, check_self, mathx_helpers).
return function(torch, check_self, M)
  local check = require 'torch.check'
  local unpack = table.unpack
  local raise, argerror, arg, shape, dim_arg = M.raise, M.argerror, M.arg, M.shape, M.dim_arg
  local call_as, run, public = M.call_as, M.run, M.public
  local on_device_of, long_on, zeros_as, scalar = M.on_device_of, M.long_on, M.zeros_as, M.scalar

  -- PyTorch's spellings of unique's options (check.options suggests the camelCase name)
  check.aliases.return_inverse = check.aliases.return_inverse or 'returnInverse'
  check.aliases.return_counts = check.aliases.return_counts or 'returnCounts'

  local integral = { ['torch.LongTensor'] = true, ['torch.ByteTensor'] = true,
                     ['torch.IntTensor'] = true, ['torch.ShortTensor'] = true,
                     ['torch.CharTensor'] = true, ['torch.CudaLongTensor'] = true,
                     ['torch.CudaByteTensor'] = true }

  -- the type's name without 'torch.' and 'Tensor' ('Double', 'CudaLong')
  local function short_type(x) return (x:type():gsub('^torch%.', ''):gsub('Tensor$', '')) end

  -- ---- argsort -------------------------------------------------------------------------
  -- argsort(x [, dim = -1 [, descending = false]]): the 1-based LongTensor indices that sort x
  -- along dim (sort's indices): a stable sort, NaN after every number (first when descending),
  -- PyTorch's order. A 0-dim x gives a 0-dim index (1). No gradient.
  local function argsort(fname, base, x, dim, descending)
    local d = dim == nil and math.max(x:dim(), 1) or dim_arg(fname, base + 1, x, dim)
    descending = arg(fname, base + 2, descending, 'boolean?') or false
    local src = x:dim() == 0 and x:view(1) or x
    local _, order = torch.noGrad(call_as, fname, torch.sort, src, d, descending)
    if x:dim() == 0 then return order:view(1):squeeze() end
    return order
  end
  public('argsort', argsort)

  -- ---- unique ----------------------------------------------------------------------------
  -- The sorted rows of a 2-D n x m `rows` as a LongTensor order (lexicographic, stable): one
  -- stable sort per column, from the last column to the first (a radix sort)
  local function row_order(rows)
    local n, m = rows:size(1), rows:size(2)
    local order = torch.range(1, n):long()
    for c = m, 1, -1 do
      local col = rows:select(2, c):index(1, order)
      local _, o = torch.sort(col, 1)
      order = order:index(1, o)
    end
    return order
  end

  -- unique(x [, {sorted = true, returnInverse = false, returnCounts = false, dim = nil}]):
  -- the distinct values of x, sorted (a 1-D tensor of x's type); with dim, the distinct slices
  -- along dim (x:select(dim, i)), sorted lexicographically. Returns them, then (if asked, in
  -- this order) the inverse, the 1-based LongTensor index in the result of each element of x
  -- (x's shape; with dim, one per slice), and the counts, a LongTensor of how often each
  -- occurs. Each NaN is a value of its own, sorted last (PyTorch 2's). sorted = false is
  -- accepted: the result is sorted anyway (PyTorch's order is then unspecified). No gradient.
  local function unique(fname, base, x, opts)
    local ok, o = pcall(check.options, fname, opts,
                        { sorted = true, returnInverse = false, returnCounts = false, dim = check.NONE })
    if not ok then raise((tostring(o):gsub('^[^\n]-:%d+: ', '', 1))) end
    for _, k in ipairs({ 'sorted', 'returnInverse', 'returnCounts' }) do
      if type(o[k]) ~= 'boolean' then
        argerror(fname, base + 1, ("option '%s' must be a boolean, got %s"):format(k, type(o[k])))
      end
    end
    local d
    if o.dim ~= nil then
      d = dim_arg(fname, base + 1, x, o.dim)
      if x:dim() == 0 then
        argerror(fname, base + 1, 'a 0-dim tensor has no dimension to take slices along')
      end
    end
    return torch.noGrad(call_as, fname, function()
      local host = x:isCuda() and x:cpu() or x   -- (computed on the host; the results moved)
      local rows, n
      if d then   -- the slices along d as the rows of a matrix
        local moved = host:transpose(1, d)
        n = moved:size(1)
        rows = moved:reshape(n, n == 0 and 0 or moved:nElement() // n)
      else
        n = host:nElement()
        rows = host:reshape(n, 1)
      end
      local order
      if n == 0 then
        order = torch.LongTensor(0)
      elseif rows:size(2) == 0 then   -- empty slices: all equal
        order = torch.range(1, n):long()
      else
        order = row_order(rows)
      end
      local sorted = n > 0 and rows:index(1, order) or rows
      -- a new value starts where a row differs from the one before (NaN ~= NaN: each NaN one)
      local starts = torch.LongTensor(n):zero()
      if n > 0 then
        starts[1] = 1
        if n > 1 and rows:size(2) > 0 then
          local after, before = sorted:narrow(1, 2, n - 1), sorted:narrow(1, 1, n - 1)
          local differs = torch.ne(after, before):long():sum(2):view(n - 1)
          starts:narrow(1, 2, n - 1):copy(torch.gt(differs, 0):long())
        end
      end
      local group = torch.cumsum(starts, 1)            -- the 1-based value of each sorted row
      local k = n > 0 and group[n] or 0
      local values
      if k > 0 then
        values = sorted:index(1, torch.maskedSelect(torch.range(1, n):long(), torch.gt(starts, 0)))
      else
        values = zeros_as(host, 0, rows:size(2))
      end
      if d then
        local moved = host:transpose(1, d):size():totable()
        moved[1] = k
        values = values:view(torch.LongStorage(moved)):transpose(1, d):contiguous()
      else
        values = values:view(k)
      end
      local r = { on_device_of(values, x) }
      if o.returnInverse then
        local inverse = torch.LongTensor(n):zero()
        if n > 0 then inverse:indexCopy(1, order, group) end
        if not d then inverse = inverse:view(x:size()) end
        r[#r + 1] = on_device_of(inverse, x)
      end
      if o.returnCounts then
        local counts = torch.LongTensor(k):zero()
        if k > 0 then counts:indexAdd(1, group, torch.LongTensor(n):fill(1)) end
        r[#r + 1] = on_device_of(counts, x)
      end
      return unpack(r)
    end)
  end
  public('unique', unique)

  -- ---- bincount -------------------------------------------------------------------------
  -- bincount(x [, weights [, minlength = 0]]): how often each VALUE 0, 1, ..., max(x) occurs
  -- in the 1-D non-negative integer x (PyTorch's: the count of value v is at index v + 1 here,
  -- since luatorch's indices are 1-based); the result has max(x) + 1 elements, or minlength if
  -- that is more (0 for an empty x). With weights (1-D, x's length), the sums of the weights
  -- instead of the counts: a FloatTensor for float weights, else a DoubleTensor (PyTorch's);
  -- without, a LongTensor. No gradient (PyTorch has none).
  local function bincount(fname, base, x, weights, minlength)
    if not integral[x:type()] then
      argerror(fname, base, ('expected a tensor of integers (Long or Byte), got %s; values are '
                             .. 'counted, so round them first (x:long())'):format(x:type()))
    end
    if x:dim() ~= 1 then
      argerror(fname, base, 'expected a 1-D tensor, got size ' .. shape(x))
    end
    arg(fname, base + 1, weights, 'tensor?')
    minlength = arg(fname, base + 2, minlength, 'integer?') or 0
    if minlength < 0 then
      argerror(fname, base + 2, ('minlength must be >= 0, got %d'):format(minlength))
    end
    local n = x:size(1)
    if weights ~= nil and (weights:dim() ~= 1 or weights:size(1) ~= n) then
      argerror(fname, base + 1, ('expected weights of size [%d] (one per element of x), got %s')
                                :format(n, shape(weights)))
    end
    local lo = n > 0 and x:min() or 0
    if lo < 0 then
      argerror(fname, base, ('expected non-negative values, got %d'):format(lo))
    end
    local len = math.max(n > 0 and x:max() + 1 or 0, minlength)
    return torch.noGrad(call_as, fname, function()
      local out
      if weights == nil then
        out = on_device_of(torch.LongTensor(len):zero(), x)
      else
        local t = weights:type():match('Float') and 'torch.FloatTensor' or 'torch.DoubleTensor'
        if weights:type() == 'torch.CudaTensor' then t = 'torch.CudaTensor'
        elseif weights:isCuda() then t = 'torch.CudaDoubleTensor' end
        out = torch.Tensor():type(t):resize(len):zero()
        weights = weights:type(t)
      end
      if n > 0 then
        local at = torch.add(x:long(), 1)
        if out:isCuda() then at = on_device_of(at:cpu(), out) end
        out:indexAdd(1, at, weights or torch.onesLike(out:narrow(1, 1, 1)):expand(n):contiguous())
      end
      return out
    end)
  end
  public('bincount', bincount)

  -- ---- diff ----------------------------------------------------------------------------
  -- diff(x [, n = 1 [, dim = -1 [, prepend [, append]]]]): the n-th forward difference along
  -- dim, x[i + 1] - x[i] applied n times (a dim of size s becomes max(s - n, 0)); prepend and
  -- append (tensors, or numbers taken as one slice) are concatenated to x along dim first
  -- (PyTorch's); differentiable
  local function diff(fname, base, x, n, dim, prepend, append)
    n = arg(fname, base + 1, n, 'integer?') or 1
    if n < 0 then argerror(fname, base + 1, ('n must be >= 0, got %d'):format(n)) end
    if x:dim() == 0 then
      argerror(fname, base, 'expected a tensor of 1 or more dims, got size ' .. shape(x))
    end
    local d = dim == nil and x:dim() or dim_arg(fname, base + 2, x, dim)
    local function extra(v, i)
      arg(fname, base + i, v, 'number|tensor?')
      if type(v) == 'number' then
        local size = x:size():totable()
        size[d] = 1
        return zeros_as(x, unpack(size)):fill(v)
      end
      return v
    end
    prepend, append = extra(prepend, 3), extra(append, 4)
    return call_as(fname, function()
      local parts = {}
      if prepend then parts[#parts + 1] = prepend end
      parts[#parts + 1] = x
      if append then parts[#parts + 1] = append end
      local y = #parts > 1 and torch.cat(parts, d) or x
      for _ = 1, n do
        local s = y:size(d)
        if s <= 1 then   -- nothing left to difference: an empty dim
          local size = y:size():totable()
          size[d] = 0
          return zeros_as(y, unpack(size))
        end
        y = y:narrow(d, 2, s - 1) - y:narrow(d, 1, s - 1)
      end
      if y == x then y = x:clone() end   -- (n = 0) a new tensor
      return y
    end)
  end
  public('diff', diff)

  -- ---- meshgrid ---------------------------------------------------------------------------
  -- meshgrid(x1, x2, ..., xN [, {indexing = 'ij'}]) (or a table of the tensors): N tensors of
  -- size n1 x n2 x ... x nN (xi 1-D of ni elements, or 0-dim: 1), the i-th holding xi along
  -- dim i; indexing = 'xy' swaps the first two dims (n2 x n1 x ...; numpy's and PyTorch's
  -- option). PyTorch 2's default 'ij'. New tensors (PyTorch's are views), differentiable.
  local function is_list(v) return type(v) == 'table' and not torch.isTensor(v) end
  local function meshgrid(fname, _, ...)
    local list = table.pack(...)
    local opts
    -- the last argument a table of options (not a list of tensors: meshgrid({x, y}))
    if list.n > 0 and is_list(list[list.n]) and not (list.n == 1 and #list[1] > 0) then
      opts, list.n = list[list.n], list.n - 1
    end
    if list.n == 1 and is_list(list[1]) then list = table.pack(unpack(list[1])) end
    local ok, o = pcall(check.options, fname, opts, { indexing = 'ij' })
    if not ok then raise((tostring(o):gsub('^[^\n]-:%d+: ', '', 1))) end
    if o.indexing ~= 'ij' and o.indexing ~= 'xy' then
      raise(("%s: option 'indexing' must be 'ij' or 'xy', got %s")
            :format(fname, type(o.indexing) == 'string' and "'" .. o.indexing .. "'" or type(o.indexing)))
    end
    if list.n == 0 then argerror(fname, 1, 'tensor expected, got no value') end
    local sizes = {}
    for i = 1, list.n do
      local t = arg(fname, i, list[i], 'tensor')
      if t:dim() > 1 then
        argerror(fname, i, 'expected a 0-dim or 1-D tensor, got size ' .. shape(t))
      end
      if t:type() ~= list[1]:type() then
        argerror(fname, i, ('expected a %s as the first, got a %s'):format(list[1]:type(), t:type()))
      end
      sizes[i] = t:nElement()
    end
    local n = list.n
    local swap = o.indexing == 'xy' and n >= 2
    local out_size = { unpack(sizes, 1, n) }
    if swap then out_size[1], out_size[2] = sizes[2], sizes[1] end
    local out = {}
    for i = 1, n do
      local at = i
      if swap and i <= 2 then at = 3 - i end
      local view = {}
      for j = 1, n do view[j] = 1 end
      view[at] = sizes[i]
      out[i] = list[i]:reshape(unpack(view)):expand(unpack(out_size)):contiguous()
    end
    return unpack(out, 1, n)
  end
  function torch.meshgrid(...)
    return run(meshgrid, 'meshgrid', 1, ...)
  end

  -- ---- nanToNum, clip ----------------------------------------------------------------------
  local finite_max = { Float = 3.4028234663852886e38, Double = 1.7976931348623157e308,
                       Cuda = 3.4028234663852886e38, CudaDouble = 1.7976931348623157e308 }

  -- nanToNum(x [, nan = 0 [, posinf [, neginf]]]): a copy of x with NaN, +inf and -inf
  -- replaced by nan, posinf and neginf, whose defaults are the largest and the lowest finite
  -- values of x's type (PyTorch's nan_to_num); an integer x is copied. Differentiable (the
  -- gradient is 0 at the replaced elements).
  local function nanToNum(fname, base, x, nan, posinf, neginf)
    nan = arg(fname, base + 1, nan, 'number?') or 0
    local big = finite_max[short_type(x)]
    posinf = arg(fname, base + 2, posinf, 'number?') or big
    neginf = arg(fname, base + 3, neginf, 'number?') or (big and -big)
    if not big then return x:clone() end
    return call_as(fname, function()
      local y = torch.where(torch.eq(x, math.huge), posinf, x)
      y = torch.where(torch.eq(x, -math.huge), neginf, y)
      return torch.where(torch.ne(x, x), nan, y)
    end)
  end
  public('nanToNum', nanToNum)

  -- clip: PyTorch's alias of clamp: torch.clip(x, min, max) a new tensor, x:clip(min, max)
  -- in place, as x:clamp; clamp's errors are raised as clip's (same arguments, clip's name)
  local function as_clip(err)
    if type(err) ~= 'string' then return err end
    return (err:gsub('^[^\n]-:%d+: ', '', 1):gsub("'[%w_.]*clamp'", "'clip'")
            :gsub('^[%w_.]*clamp:', 'clip:'))
  end
  function torch.clip(...)
    local r = table.pack(pcall(torch.clamp, ...))
    if not r[1] then error(as_clip(r[2]), 2) end
    return unpack(r, 2, r.n)
  end
  function torch.Tensor.clip(...)
    local r = table.pack(pcall(torch.Tensor.clamp, ...))
    if not r[1] then error(as_clip(r[2]), 2) end
    return unpack(r, 2, r.n)
  end

  -- ---- logaddexp, hypot, deg2rad, rad2deg, xlogy, sinc -------------------------------------
  -- These take Float or Double tensors (an integer tensor is refused, as exp refuses it) and
  -- broadcast their two arguments; differentiable.

  -- b (a tensor, or for xlogy a number) checked as argument base + 1
  local function other(fname, base, b, kinds)
    arg(fname, base + 1, b, kinds or 'tensor')
    return b
  end

  -- logaddexp(a, b): log(exp(a) + exp(b)), as max + log1p(exp(min - max)): no overflow, exact
  -- where one term is tiny; inf and inf give inf, -inf and -inf give -inf
  local function logaddexp(fname, base, a, b)
    other(fname, base, b)
    return call_as(fname, function()
      local a_top = torch.noGrad(function() return torch.ge(a, b) end)
      local hi = torch.where(a_top, a, b)
      local lo = torch.where(a_top, b, a)
      local y = torch.add(hi, torch.log1p(torch.exp(lo - hi)))
      -- equal infinities: lo - hi is NaN; the result is that infinity
      local same_inf = torch.noGrad(function() return torch.cmul(torch.eq(a, b), torch.isinf(hi)) end)
      return torch.where(same_inf, hi, y)
    end)
  end
  public('logaddexp', logaddexp)

  -- hypot(a, b): sqrt(a^2 + b^2), scaled by max(|a|, |b|) so that no square overflows or
  -- underflows; inf where either is infinite (even with a NaN: C's hypot)
  local function hypot(fname, base, a, b)
    other(fname, base, b)
    return call_as(fname, function()
      local scale = torch.noGrad(function()
        local m = torch.cmax(torch.abs(a), torch.abs(b))
        return torch.where(torch.cmul(torch.gt(m, 0), torch.lt(m, math.huge)), m, 1)
      end)
      local y = torch.cmul(torch.sqrt(torch.pow(torch.cdiv(a, scale), 2) + torch.pow(torch.cdiv(b, scale), 2)), scale)
      local inf = torch.noGrad(function() return torch.add(torch.isinf(a), torch.isinf(b)) end)
      return torch.where(inf, math.huge, y)
    end)
  end
  public('hypot', hypot)

  -- deg2rad(x) / rad2deg(x): x pi / 180 / x 180 / pi
  local function scaled(factor)
    return function(fname, _, x)
      if not finite_max[short_type(x)] then
        raise(('%s: needs a Float or Double tensor, got %s'):format(fname, short_type(x)))
      end
      return call_as(fname, function() return torch.mul(x, factor) end)
    end
  end
  public('deg2rad', scaled(math.pi / 180))
  public('rad2deg', scaled(180 / math.pi))

  -- xlogy(x, y): x log(y), 0 where x = 0 unless y is NaN (PyTorch's: even where log(y) is
  -- -inf or NaN); y a tensor or a number. The gradient is PyTorch's too: log(y) for x, 0 there
  -- where x = 0 and y <= 0; x / y for y (0 where x = 0, where PyTorch's is NaN at y = 0).
  local function xlogy(fname, base, x, y)
    other(fname, base, y, 'number|tensor')
    return call_as(fname, function()
      if type(y) == 'number' then y = torch.fullLike(x, y) end
      -- where x = 0 (y not NaN), y is replaced by 1 unless it is finite and > 0: x log(y) is
      -- then 0 exactly, and no 0 * inf reaches the gradient
      local safe = torch.noGrad(function()
        local zero = torch.cmul(torch.eq(x, 0), torch.eq(y, y))
        local fine = torch.cmul(torch.gt(y, 0), torch.lt(y, math.huge))
        return torch.cmul(zero, torch.eq(fine, 0))
      end)
      return torch.cmul(x, torch.log(torch.where(safe, 1, y)))
    end)
  end
  public('xlogy', xlogy)

  -- sinc(x): sin(pi x) / (pi x), 1 at x = 0 (the normalized sinc, PyTorch's); its gradient is
  -- 0 at x = 0
  local function sinc(fname, _, x)
    return call_as(fname, function()
      local zero = torch.noGrad(function() return torch.eq(x, 0) end)
      local px = torch.mul(torch.where(zero, 1, x), math.pi)
      return torch.where(zero, 1, torch.cdiv(torch.sin(px), px))
    end)
  end
  public('sinc', sinc)

  -- ---- einsum ----------------------------------------------------------------------------
  -- einsum(equation, a, b, ...) (or einsum(equation, {a, b, ...})): PyTorch's. Each operand's
  -- subscripts are letters (a-z, A-Z), one per dim, and '...' for the dims not named (the
  -- same for every operand, broadcast from the right); a letter repeated in one operand takes
  -- the diagonal; after '->', the output's subscripts (explicit form), else (implicit) the
  -- letters that appear once, in alphabetical order (capitals first), after the '...' dims.
  -- Letters not in the output are summed over; a letter's dims must be of one size or 1
  -- (broadcast). Computed operand by operand: diagonals by index, letters used only by one
  -- operand summed first, then each pair contracted by one torch.bmm (batch letters x kept
  -- letters x summed letters), so it is differentiable and as fast as bmm. A 0-dim result is
  -- a number (a 0-dim tensor while autograd records), as torch.sum's.
  local ELL = '...'

  -- the labels of one operand's subscripts s (a string): a list of letters, with ELL where the
  -- '...' is; raises for other characters
  local function parse_subscripts(fname, eq, s, what)
    local labels, i, ell = {}, 1, false
    while i <= #s do
      local c = s:sub(i, i)
      if c:match('%a') then
        labels[#labels + 1] = c
        i = i + 1
      elseif s:sub(i, i + 2) == ELL then
        if ell then argerror(fname, 1, ("'...' appears twice in %s in '%s'"):format(what, eq)) end
        ell = true
        labels[#labels + 1] = ELL
        i = i + 3
      elseif c == '.' then
        argerror(fname, 1, ("a '.' that is not part of '...' in '%s'"):format(eq))
      else
        argerror(fname, 1, ("invalid subscript '%s' in '%s' (subscripts are letters a-z, A-Z, and '...')")
                           :format(c, eq))
      end
    end
    return labels, ell
  end

  -- the sum over the dims of t at positions drop (a set), as a view-free new tensor
  local function sum_dims(t, labels, drop)
    local keep_labels = {}
    for p = #labels, 1, -1 do
      if drop[labels[p]] then t = torch.sum(t, p):squeeze(p) end
    end
    for p = 1, #labels do
      if not drop[labels[p]] then keep_labels[#keep_labels + 1] = labels[p] end
    end
    return t, keep_labels
  end

  local function permute_to(t, labels, order)
    if #order <= 1 then return t end
    local at = {}
    for p, l in ipairs(labels) do at[l] = p end
    local perm, same = {}, true
    for i, l in ipairs(order) do
      perm[i] = at[l]
      if perm[i] ~= i then same = false end
    end
    if same then return t end
    return t:permute(unpack(perm))
  end

  local function product(sizes, labels)
    local n = 1
    for _, l in ipairs(labels) do n = n * sizes[l] end
    return n
  end

  local function einsum(fname, _, eq, ...)
    arg(fname, 1, eq, 'string')
    local ops = table.pack(...)
    local argn0 = 1   -- operand i is argument argn0 + i
    if ops.n == 1 and type(ops[1]) == 'table' and not torch.isTensor(ops[1]) then
      ops = table.pack(unpack(ops[1]))   -- (operand i still named argument i + 1)
    end
    local src = eq:gsub('%s', '')
    local lhs, rhs = src:match('^(.-)%->(.*)$')
    if not lhs then lhs = src end
    if rhs and rhs:find('->', 1, true) then
      argerror(fname, 1, ("more than one '->' in '%s'"):format(eq))
    end
    local terms = {}
    for term in (lhs .. ','):gmatch('([^,]*),') do terms[#terms + 1] = term end
    if #terms ~= ops.n then
      argerror(fname, 1, ("'%s' has %d operand(s), got %d tensor(s)"):format(eq, #terms, ops.n))
    end
    -- the operands' labels; the '...' dims become labels '.1', '.2', ... (right-aligned)
    local sizes, count, where_from = {}, {}, {}
    local n_ell = 0
    local parsed = {}
    for i = 1, ops.n do
      local t = arg(fname, argn0 + i, ops[i], 'tensor')
      local labels, ell = parse_subscripts(fname, eq, terms[i], ('operand %d'):format(i))
      local named = #labels - (ell and 1 or 0)
      if (ell and t:dim() < named) or (not ell and t:dim() ~= named) then
        argerror(fname, argn0 + i, ("operand %d has %d dim(s) (size %s), its subscripts '%s' name %d")
                                   :format(i, t:dim(), shape(t), terms[i], named))
      end
      if t:type() ~= ops[1]:type() then
        argerror(fname, argn0 + i, ('expected a %s as the first operand, got a %s'):format(ops[1]:type(), t:type()))
      end
      parsed[i] = { labels = labels, ell = ell and (t:dim() - named) or nil }
      if ell then n_ell = math.max(n_ell, t:dim() - named) end
    end
    local function ell_labels(k)   -- the labels of the last k '...' dims
      local l = {}
      for j = n_ell - k + 1, n_ell do l[#l + 1] = '.' .. j end
      return l
    end
    for i = 1, ops.n do
      local t, full = ops[i], {}
      for _, l in ipairs(parsed[i].labels) do
        if l == ELL then
          for _, e in ipairs(ell_labels(parsed[i].ell)) do full[#full + 1] = e end
        else
          full[#full + 1] = l
        end
      end
      parsed[i].full = full
      local own = {}
      for p, l in ipairs(full) do
        local s = t:size(p)
        if own[l] and own[l] ~= s then
          argerror(fname, argn0 + i, ("subscript '%s' is repeated in operand %d (size %s) for dims of sizes %d and %d")
                                     :format(l, i, shape(t), own[l], s))
        end
        own[l] = s
        if sizes[l] == nil or sizes[l] == 1 then
          if sizes[l] == nil or s ~= 1 then sizes[l], where_from[l] = s, i end
        elseif s ~= 1 and s ~= sizes[l] then
          local name = l:sub(1, 1) == '.' and "the '...' dims" or ("subscript '%s'"):format(l)
          argerror(fname, argn0 + i, ("%s has size %d in operand %d (size %s) and %d in operand %d (size %s)")
                                     :format(name, sizes[l], where_from[l], shape(ops[where_from[l]]),
                                             s, i, shape(t)))
        end
      end
    end
    -- the output's labels
    local out = {}
    if rhs then
      local labels = parse_subscripts(fname, eq, rhs, 'the output')
      local seen = {}
      for _, l in ipairs(labels) do
        if l == ELL then
          for _, e in ipairs(ell_labels(n_ell)) do out[#out + 1] = e end
        else
          if seen[l] then argerror(fname, 1, ("output subscript '%s' appears twice in '%s'"):format(l, eq)) end
          if sizes[l] == nil then
            argerror(fname, 1, ("output subscript '%s' appears in no operand of '%s'"):format(l, eq))
          end
          seen[l] = true
          out[#out + 1] = l
        end
      end
    else
      for i = 1, ops.n do
        for _, l in ipairs(parsed[i].labels) do
          if l ~= ELL then count[l] = (count[l] or 0) + 1 end
        end
      end
      out = ell_labels(n_ell)
      local once = {}
      for l, c in pairs(count) do if c == 1 then once[#once + 1] = l end end
      table.sort(once)   -- (capitals first: ASCII, PyTorch's order)
      for _, l in ipairs(once) do out[#out + 1] = l end
    end

    return call_as(fname, function()
      -- each operand: size-1 dims broadcast, diagonals taken (a repeated label)
      local items = {}
      local fresh = false   -- whether the result is a new tensor (not a view of an operand)
      for i = 1, ops.n do
        local t, full = ops[i], parsed[i].full
        local bsize, need = {}, false
        for p, l in ipairs(full) do
          bsize[p] = sizes[l]
          if t:size(p) ~= sizes[l] then need = true end
        end
        if need then t = t:expand(unpack(bsize)) end
        local labels = {}
        for _, l in ipairs(full) do labels[#labels + 1] = l end
        local p = 1
        while p <= #labels do
          local q
          for r = p + 1, #labels do if labels[r] == labels[p] then q = r break end end
          if q then   -- the diagonal of dims p and q, at p
            local order, n = {}, sizes[labels[p]]
            for r = 1, #labels do if r ~= p and r ~= q then order[#order + 1] = r end end
            order[#order + 1], order[#order + 2] = p, q
            local moved = t:permute(unpack(order))
            local lead = {}
            for r = 1, #order - 2 do lead[r] = moved:size(r) end
            lead[#lead + 1] = n * n
            local flat = moved:reshape(unpack(lead))
            local pos = {}
            for j = 1, n do pos[j] = (j - 1) * (n + 1) + 1 end
            flat = torch.index(flat, #lead, long_on(t, pos))
            fresh = true
            local new = {}
            for r = 1, #order - 2 do new[r] = labels[order[r]] end
            new[#new + 1] = labels[p]
            t, labels = flat, new
            p = 1
          else
            p = p + 1
          end
        end
        items[i] = { t = t, labels = labels }
      end
      -- labels needed by the output or by operands from k on
      local function needed(k)
        local need = {}
        for _, l in ipairs(out) do need[l] = true end
        for j = k, #items do
          for _, l in ipairs(items[j].labels) do need[l] = true end
        end
        return need
      end
      local function sum_unneeded(item, need)
        local drop, any = {}, false
        for _, l in ipairs(item.labels) do
          if not need[l] then drop[l], any = true, true end
        end
        if any then
          item.t, item.labels = sum_dims(item.t, item.labels, drop)
          fresh = true
        end
      end
      local acc = items[1]
      sum_unneeded(acc, needed(2))
      for k = 2, #items do
        local b = items[k]
        local need = needed(k + 1)
        local in_a, in_b = {}, {}
        for _, l in ipairs(acc.labels) do in_a[l] = true end
        for _, l in ipairs(b.labels) do in_b[l] = true end
        -- b's own labels not needed later are summed first (acc's already were)
        local b_need = {}
        for l in pairs(need) do b_need[l] = true end
        for l in pairs(in_a) do b_need[l] = true end
        sum_unneeded(b, b_need)
        in_b = {}
        for _, l in ipairs(b.labels) do in_b[l] = true end
        local batch, a_only, b_only, summed = {}, {}, {}, {}
        for _, l in ipairs(acc.labels) do
          if in_b[l] then
            if need[l] then batch[#batch + 1] = l else summed[#summed + 1] = l end
          else
            a_only[#a_only + 1] = l
          end
        end
        for _, l in ipairs(b.labels) do
          if not in_a[l] then b_only[#b_only + 1] = l end
        end
        local nb, na, nc, nbb = product(sizes, batch), product(sizes, a_only),
                                product(sizes, summed), product(sizes, b_only)
        local order_a, order_b = {}, {}
        for _, l in ipairs(batch) do order_a[#order_a + 1] = l; order_b[#order_b + 1] = l end
        for _, l in ipairs(a_only) do order_a[#order_a + 1] = l end
        for _, l in ipairs(summed) do order_a[#order_a + 1] = l; order_b[#order_b + 1] = l end
        for _, l in ipairs(b_only) do order_b[#order_b + 1] = l end
        local ta = permute_to(acc.t, acc.labels, order_a):reshape(nb, na, nc)
        local tb = permute_to(b.t, b.labels, order_b):reshape(nb, nc, nbb)
        local r = torch.bmm(ta, tb)
        local labels, rsize = {}, {}
        for _, group in ipairs({ batch, a_only, b_only }) do
          for _, l in ipairs(group) do
            labels[#labels + 1] = l
            rsize[#rsize + 1] = sizes[l]
          end
        end
        if #rsize == 0 then r = r:view(1):squeeze() else r = r:view(unpack(rsize)) end
        acc = { t = r, labels = labels }
        fresh = true
      end
      local y = permute_to(acc.t, acc.labels, out)
      if not fresh and y:isContiguous() then y = y:clone() end   -- not a view of the operand
      y = y:contiguous()
      if y:dim() == 0 then return scalar(y) end
      return y
    end)
  end

  function torch.einsum(eq, ...)
    return run(einsum, 'einsum', 1, eq, ...)
  end
end
