-- docs/extending.md, checked: the code it shows is the code of the example files; the two Lua
-- examples (a pure-Lua layer, a torch.autograd.Function) against PyTorch with gradcheck, in
-- both nn loop styles and with optim; the worked example at the top of include/luatorch.h
-- compiled and run as an extension; the version guard of luatorch_init; a multi-file
-- extension. (The C layer example, examples/c_extension, has its own spec: make test-extension.)
local torch = require 'torch'
local nn = require 'nn'
local optim = require 'optim'
local H = require 'helpers'
local F = H.fixture('extending')

local root = debug.getinfo(1, 'S').source:match('^@(.*/)spec/') or './'
package.path = root .. '?.lua;' .. package.path
local RMSNorm = require 'examples.extending.rmsnorm'
local silu = require 'examples.extending.silu'

local function read(path)
  local f = assert(io.open(root .. path, 'rb'))
  local s = f:read('a')
  f:close()
  return s
end

local function sh(cmd)
  local p = io.popen(cmd .. ' 2>&1')
  local out = p:read('a')
  local ok = p:close()
  return ok, out
end

describe('docs/extending.md', function()
  it('shows the example files as they are', function()
    local doc = read('docs/extending.md')
    local n = 0
    for kind, path, block in doc:gmatch('<!%-%- (%a+): (%S+) %-%->\n```[%a ]*\n(.-\n)```') do
      local file = read(path)
      if kind == 'example' then
        assert(block == file, ('docs/extending.md shows an outdated %s'):format(path))
      else
        assert(kind == 'excerpt', kind)
        assert(file:find(block, 1, true), ('docs/extending.md quotes %s wrongly:\n%s'):format(path, block))
      end
      n = n + 1
    end
    assert(n >= 7, ('only %d checked blocks found'):format(n))
  end)
end)

describe('1. a layer in pure Lua (nn.RMSNorm)', function()
  local c = F.rmsnorm
  local function module()
    local m = nn.RMSNorm(6, c.eps):double()
    m.weight:copy(H.tensor(c.weight))
    m:zeroGradParameters()
    return m
  end

  it('is registered as nn.RMSNorm', function()
    assert.equal(RMSNorm, nn.RMSNorm)
    assert.equal('nn.RMSNorm', torch.typename(nn.RMSNorm(3)))
  end)

  it('matches PyTorch in the Torch7 loop', function()
    local m, x = module(), H.tensor(c.x)
    H.close(m:forward(x), c.output, 1e-10, 1e-12)
    H.close(m:backward(x, H.tensor(c.gradOutput)), c.gradInput, 1e-10, 1e-12)
    H.close(m.gradWeight, c.gradWeight, 1e-10, 1e-12)
  end)

  it('matches PyTorch in the PyTorch loop', function()
    local m, x = module(), H.grad_leaf(H.tensor(c.x))
    local y = m(x)
    y:backward(H.tensor(c.gradOutput))
    H.close(y, c.output, 1e-10, 1e-12)
    H.close(x.grad, c.gradInput, 1e-10, 1e-12)
    H.close(m.weight.grad, c.gradWeight, 1e-10, 1e-12)
  end)

  it('passes gradcheck, with a transposed input', function()
    torch.manualSeed(1)
    local m = nn.RMSNorm(4):double()
    local w = H.grad_leaf(torch.randn(4):double())
    local function f(x, wt)
      m.weight = wt
      return m:updateOutput(x)
    end
    H.gradcheck(f, { H.randn(3, 4), w })
    H.gradcheck(f, { H.randn_t(5, 4), w })
  end)

  it('trains with optim', function()
    torch.manualSeed(2)
    local m = nn.Sequential():add(nn.Linear(5, 4)):add(nn.RMSNorm(4)):double()
    local X, Y = torch.randn(12, 5):double(), torch.randn(12, 4):double()
    local opt, crit = optim.Adam(m:parameters(), { lr = 0.05 }), nn.MSECriterion()
    local first, last
    for _ = 1, 40 do
      opt:zeroGrad()
      local loss = crit(m(X), Y)
      loss:backward()
      opt:step()
      first, last = first or loss:item(), loss:item()
    end
    assert(last < 0.8 * first, ('loss %g -> %g'):format(first, last))
    assert.equal('1.weight', m:namedParameters()[3][1])
  end)
end)

describe('2. a differentiable function in Lua (silu)', function()
  local c = F.silu

  it('matches PyTorch, forward and backward', function()
    local x = H.grad_leaf(H.tensor(c.x))
    local y = silu(x)
    assert.equal('FunctionBackward', y.gradFn)
    y:backward(H.tensor(c.gradOutput))
    H.close(y, c.output, 1e-12, 1e-14)
    H.close(x.grad, c.gradInput, 1e-12, 1e-14)
  end)

  it('passes gradcheck (contiguous, transposed, narrowed)', function()
    torch.manualSeed(3)
    H.gradcheck(silu, { H.randn(3, 4) })
    H.gradcheck(silu, { H.randn_t(3, 4) })
    H.gradcheck(silu, { H.randn_n(3, 4) })
  end)

  it('is a layer: nn.SiLU in both loop styles', function()
    local m = nn.SiLU()
    local x = H.tensor(c.x)
    H.close(m:forward(x), c.output, 1e-12, 1e-14)
    H.close(m:backward(x, H.tensor(c.gradOutput)), c.gradInput, 1e-12, 1e-14)
    local xl = H.grad_leaf(H.tensor(c.x))
    m(xl):backward(H.tensor(c.gradOutput))
    H.close(xl.grad, c.gradInput, 1e-12, 1e-14)
  end)

  it('records nothing under torch.noGrad', function()
    local x = H.randn(2, 3)
    torch.noGrad(function() assert.is_nil(silu(x).gradFn) end)
  end)
end)

describe('3. the C API (include/luatorch.h)', function()
  local cc = os.getenv('CC') or 'cc'
  local luainc = os.getenv('LUA_INC') or '/usr/include/lua5.4'
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute('mkdir -p ' .. dir))
  local cflags = ('-std=c11 -O1 -fPIC -shared -Wall -Wextra -Wshadow -Wmissing-prototypes '
                  .. '-Werror -I%sinclude -I%s'):format(root, luainc)
  local function build(name, sources)
    local files = {}
    for i, src in ipairs(sources) do
      files[i] = ('%s/%s_%d.c'):format(dir, name, i)
      local f = assert(io.open(files[i], 'w'))
      f:write(src)
      f:close()
    end
    local so = ('%s/%s.so'):format(dir, name)
    local ok, out = sh(('%s %s -o %s %s'):format(cc, cflags, so, table.concat(files, ' ')))
    assert(ok, out)
    return so
  end
  local function open(so, name)
    return assert(package.loadlib(so, 'luaopen_' .. name))
  end

  local header = read('include/luatorch.h')
  local example = header:match('BEGIN EXAMPLE\n(.-\n) %* END EXAMPLE')
  example = example and example:gsub('[^\n]*\n', function(line) return (line:gsub('^ %*', '')) end)
  local square = example and open(build('square', { example }), 'square')()

  it('compiles and runs the example at the top of luatorch.h', function()
    assert(square, 'no example found in luatorch.h')
    local x = H.randn(3, 2)
    local y = square.scaledSquare(x, 3)
    assert.equal('ScaledSquareBackward', y.gradFn)
    H.close(y, torch.cmul(x:detach(), x:detach()):mul(3), 1e-14, 0)
    y:sum():backward()
    H.close(x.grad, x:detach():clone():mul(6), 1e-14, 0)
    H.gradcheck(function(a) return square.scaledSquare(a, -1.5) end, { H.randn_t(3, 4) })
    local xf = torch.randn(4)
    H.close(square.scaledSquare(xf, 2), torch.cmul(xf, xf):mul(2), 1e-6, 0)
    assert.is_nil(square.scaledSquare(torch.randn(3):double(), 2).gradFn)
    assert.matches('expected a Float or Double tensor', H.error_of(square.scaledSquare, torch.LongTensor(2), 1))
  end)

  it("reports a saved tensor modified in place with the node's name", function()
    local x = H.randn(4)
    local y = square.scaledSquare(x, 2)
    torch.noGrad(function() x:add(1) end)
    H.matches(H.error_of(function() y:sum():backward() end), 'backward: ScaledSquareBackward: a tensor saved',
              'modified by an in%-place operation')
  end)

  it('checks the version: the same major and a core at least as new', function()
    assert.equal(('%d.%d.%d'):format(
      tonumber(header:match('LUATORCH_VERSION_MAJOR (%d+)')), tonumber(header:match('LUATORCH_VERSION_MINOR (%d+)')),
      tonumber(header:match('LUATORCH_VERSION_PATCH (%d+)'))), torch._VERSION)
    local so = build('versions', { [[
#include <luatorch.h>
int luaopen_newer_major(lua_State *L);
int luaopen_newer_minor(lua_State *L);
int luaopen_older_patch(lua_State *L);
int luaopen_newer_major(lua_State *L)
{ luatorch_init_version(L, LUATORCH_VERSION_MAJOR + 1, 0, 0); return 0; }
int luaopen_newer_minor(lua_State *L)
{ luatorch_init_version(L, LUATORCH_VERSION_MAJOR, LUATORCH_VERSION_MINOR + 1, 0); return 0; }
int luaopen_older_patch(lua_State *L)
{
    luatorch_init_version(L, LUATORCH_VERSION_MAJOR, LUATORCH_VERSION_MINOR, 99);
    lua_pushinteger(L, luatorch_core_version(NULL, NULL, NULL));
    return 1;
}
]] })
    local major, minor = torch._VERSION:match('^(%d+)%.(%d+)')
    local err = H.error_of(open(so, 'newer_major'))
    H.matches(err, ('built against luatorch %d%%.0%%.0, but the loaded torch core is %s'):format(
      major + 1, torch._VERSION:gsub('%.', '%%.')), 'rebuild it against the installed luatorch%.h')
    err = H.error_of(open(so, 'newer_minor'))
    H.matches(err, ('built against luatorch %d%%.%d%%.0'):format(major, minor + 1), 'a core at least as new')
    assert.is_number(open(so, 'older_patch')())   -- a newer patch level of the same minor is fine
  end)

  it('supports extensions of several files sharing one API pointer', function()
    local so = build('multi', { [[
#define LUATORCH_API_DEFINE
#include <luatorch.h>
int make_ones(lua_State *L);
int luaopen_multi(lua_State *L);
int luaopen_multi(lua_State *L)
{
    luatorch_init(L);
    lua_pushcfunction(L, make_ones);
    return 1;
}
]], [[
#define LUATORCH_API_EXTERN
#include <luatorch.h>
int make_ones(lua_State *L);
int make_ones(lua_State *L)
{
    int64_t size[2] = {luaL_checkinteger(L, 1), luaL_checkinteger(L, 2)};
    luatorch_tensor *t = luatorch_pushtensor(L, luatorch_new(LUATORCH_FLOAT64, 2, size));
    double *p = luatorch_data(t);
    for (int64_t i = 0; i < luatorch_numel(t); i++) p[i] = 1;
    return 1;
}
]] })
    local ones = open(so, 'multi')()
    local t = ones(2, 3)
    assert.equal('torch.DoubleTensor', t:type())
    assert.equal(6, t:sum())
    assert.matches('negative size %-1', H.error_of(ones, -1, 2))
  end)

  it('lets an extension be loaded before torch (luatorch_init requires it)', function()
    if os.getenv('LUATORCH_ASAN') then return end   -- the stock lua5.4 cannot load the ASan core
    local code = ([[local sq = package.loadlib(%q, 'luaopen_square')()
      assert(package.loaded.torch, 'torch was not loaded')
      io.write(tostring(sq.scaledSquare(require('torch').ones(2), 2)))]]):format(dir .. '/square.so')
    local ok, out = sh(('LUA_PATH=%q LUA_CPATH=%q lua5.4 -e %q'):format(package.path, package.cpath, code))
    assert(ok, out)
    assert.equal(' 2\n 2\n[torch.FloatTensor of size 2]', out)
  end)

  it('cleans up', function() os.execute('rm -rf ' .. dir) end)
end)
