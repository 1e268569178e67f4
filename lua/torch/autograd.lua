-- torch.autograd — the Lua side of the autograd engine (core/autograd.c): Functions written
-- in Lua, several-root backward, and gradcheck with central differences in float64.
-- Loaded by torch/init.lua, which passes the torch table in.
return function(torch)
  local check = require 'torch.check'
  local autograd = {}

  -- torch.autograd.Function{forward = f(ctx, ...), backward = g(ctx, gradOutput...)}:
  -- a differentiable op written in Lua. Call it like a function; forward runs without
  -- recording, and backward returns one gradient (or nil) per input.
  local FunctionMT = {
    __call = function(fn, ...) return torch.applyFunction(fn, ...) end,
    __index = { apply = function(fn, ...) return torch.applyFunction(fn, ...) end },
  }
  function autograd.Function(def)
    assert(type(def) == 'table' and type(def.forward) == 'function' and type(def.backward) == 'function',
           'Function: expected a table with forward and backward functions')
    return setmetatable(def, FunctionMT)
  end

  -- torch.autograd.backward(tensors, grads [, retainGraph]): one pass from several roots.
  -- called as C.backward, so the binding's argument errors name 'backward'
  local C = { backward = torch.backwardMany }
  torch.backwardMany = nil
  function autograd.backward(tensors, grads, retainGraph)
    check.arg('backward', 1, tensors, 'tensor|table')
    check.arg('backward', 2, grads, 'tensor|table?')
    check.arg('backward', 3, retainGraph, 'boolean?')
    if torch.isTensor(tensors) then tensors, grads = { tensors }, { grads } end
    C.backward(tensors, grads or {}, retainGraph)
  end

  -- numbers: keep Lua numbers too (a full reduction returns one when nothing is recorded)
  local function flatten(x, out, numbers)
    out = out or {}
    if torch.isTensor(x) or (numbers and type(x) == 'number') then out[#out + 1] = x
    elseif type(x) == 'table' then for _, v in ipairs(x) do flatten(v, out, numbers) end end
    return out
  end

  -- Storage index of the k-th element (row-major) of t, so perturbing it touches t alone.
  local function element_index(t)
    local sizes, strides, off = t:size():totable(), t:stride():totable(), t:storageOffset()
    return function(k)
      local o, rem = off, k - 1
      for d = #sizes, 1, -1 do
        o = o + (rem % sizes[d]) * strides[d]
        rem = rem // sizes[d]
      end
      return o
    end
  end

  local function overlaps(t)
    for d = 1, t:dim() do
      if t:stride(d) == 0 and t:size(d) > 1 then return true end
    end
    return false
  end

  -- torch.gradcheck(fn, inputs [, {eps=1e-6, atol=1e-5, rtol=1e-3}]) -> true, or an error that
  -- names the input, the element and both values. inputs: a tensor or a list; those that
  -- require grad must be DoubleTensors. The outputs of fn are projected on fixed weights, and
  -- the analytic gradient (backward) is compared with central differences, element by element.
  function torch.gradcheck(fn, inputs, opts)
    check.arg('gradcheck', 1, fn, 'callable')
    check.arg('gradcheck', 2, inputs, 'tensor|table')
    opts = require('torch.check').options('torch.gradcheck', opts,
                                          { eps = 1e-6, atol = 1e-5, rtol = 1e-3 }, 2)
    local eps, atol, rtol = opts.eps, opts.atol, opts.rtol
    if torch.isTensor(inputs) then inputs = { inputs } end
    local n = inputs.n or #inputs
    local wrt = {}
    for i = 1, n do
      local x = inputs[i]
      if torch.isTensor(x) and x.requiresGrad then
        assert(x:type() == 'torch.DoubleTensor',
               ('gradcheck: input %d is a %s; use DoubleTensors'):format(i, x:type()))
        assert(not overlaps(x), ('gradcheck: input %d is expanded (its elements overlap); '
               .. 'expand inside fn instead'):format(i))
        wrt[#wrt + 1] = i
      end
    end
    assert(#wrt > 0, 'gradcheck: no input requires grad')

    local function run(numbers) return flatten({ fn(table.unpack(inputs, 1, n)) }, nil, numbers) end
    -- fixed pseudo-random weights, so every output element counts and none cancel
    local outs = run()
    local weights = {}
    for j, o in ipairs(outs) do
      local w = torch.DoubleTensor(o:size())
      local k = 0
      w:apply(function() k = k + 1; return 0.5 + ((k * 7919 + j * 104729) % 1000) / 1000 end)
      weights[j] = w:type(o:type())
    end
    local function objective()
      local total = 0
      -- a copy: o may be a view of an input (fn = a view op), which cmul must not change
      -- under noGrad, x:sum() and the like return a number where they returned a 0-dim tensor
      for j, o in ipairs(run(true)) do
        if type(o) == 'number' then total = total + o * weights[j]:double():sum()
        else total = total + o:double():clone():cmul(weights[j]:double()):sum() end
      end
      return total
    end

    -- the callers' .grad tensors (a module's gradWeight) are set aside and put back after
    local saved = {}
    for _, i in ipairs(wrt) do saved[i] = inputs[i].grad; inputs[i].grad = nil end
    autograd.backward(outs, weights)
    for _, i in ipairs(wrt) do
      local x = inputs[i]
      local g = x.grad and x.grad:clone() or torch.DoubleTensor(x:size()):zero()
      local s, at = x:storage(), element_index(x)
      local gat = element_index(g)
      local gs = g:storage()
      torch.noGrad(function()
        for k = 1, x:nElement() do
          local o = at(k)
          local orig = s[o]
          s[o] = orig + eps
          local fp = objective()
          s[o] = orig - eps
          local fm = objective()
          s[o] = orig
          local numeric = (fp - fm) / (2 * eps)
          local analytic = gs[gat(k)]
          if math.abs(analytic - numeric) > atol + rtol * math.abs(numeric) then
            error(('gradcheck: input %d, element %d: analytic %.10g, numeric %.10g')
                  :format(i, k, analytic, numeric), 3)
          end
        end
      end)
      x.grad = saved[i]
    end
    return true
  end

  return autograd
end
