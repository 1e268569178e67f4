-- examples/extending/silu.lua — a differentiable function written in Lua with its own
-- backward (torch.autograd.Function), and a layer that uses it:
--   silu(x) = x * sigmoid(x),   d silu / dx = s * (1 + x * (1 - s)) with s = sigmoid(x)
local torch = require 'torch'
local nn = require 'nn'

local silu = torch.autograd.Function {
  -- runs with recording off; ctx carries what backward needs
  forward = function(ctx, x)
    local s = torch.sigmoid(x)
    ctx.x, ctx.s = x, s
    return torch.cmul(x, s)
  end,
  -- one gradient per input of forward (nil for inputs without one)
  backward = function(ctx, gradOutput)
    local x, s = ctx.x, ctx.s
    local ds = torch.cmul(s, torch.add(torch.cmul(x, torch.mul(s, -1):add(1)), 1))
    return torch.cmul(gradOutput, ds)
  end,
}

local SiLU = torch.class('nn.SiLU', 'nn.Module')

function SiLU:updateOutput(x)
  self.output = silu(x)
  return self.output
end

return silu
