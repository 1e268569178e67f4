-- `make install` into a staging DESTDIR: a stock lua5.4 then requires torch from the standard
-- Lua 5.4 paths, and the installed luatorch runs on its own.

local function sh(cmd)
  local p = io.popen(cmd .. ' 2>&1')
  local out = p:read('a')
  local ok = p:close()
  return ok, out
end

describe('make install', function()
  if os.getenv('LUATORCH_ASAN') then
    pending('skipped under the sanitizer run (it installs the regular build)')
    return
  end

  local root = os.tmpname()
  os.remove(root)
  local prefix = '/usr/local'

  it('stages the module, the Lua files, the executable, the header, luatorch.pc and the man page', function()
    local ok, out = sh(('make -s install DESTDIR=%s PREFIX=%s'):format(root, prefix))
    assert(ok, out)
    for _, f in ipairs({ '/lib/lua/5.4/torch/core.so', '/share/lua/5.4/torch/init.lua',
                         '/bin/luatorch', '/include/luatorch/lt.h', '/lib/pkgconfig/luatorch.pc',
                         '/include/luatorch/luatorch.h', '/lib/pkgconfig/luatorch-core.pc',
                         '/lib/libluatorch.a', '/share/man/man1/luatorch.1' }) do
      local fh = io.open(root .. prefix .. f)
      assert(fh, 'missing ' .. f)
      fh:close()
    end
  end)

  it('lets a stock lua5.4 require torch from the installed paths', function()
    local env = ('LUA_PATH="%s%s/share/lua/5.4/?.lua;%s%s/share/lua/5.4/?/init.lua" LUA_CPATH="%s%s/lib/lua/5.4/?.so"')
      :format(root, prefix, root, prefix, root, prefix)
    local ok, out = sh(env .. [[ lua5.4 -e "local torch = require 'torch'; print(torch.ones(2))"]])
    assert(ok, out)
    assert.equal(' 1\n 1\n[torch.FloatTensor of size 2]\n', out)
  end)

  it('installs the mnist-10k data where the installed datasets module finds it', function()
    local ok, out = sh(('cd / && env -u LUA_PATH -u LUA_CPATH %s%s/bin/luatorch -e "print(#require(\'datasets\').MNIST{})"')
      :format(root, prefix))
    assert(ok, out)
    assert.equal('7996\n', out)
    local env = ('LUA_PATH="%s%s/share/lua/5.4/?.lua;%s%s/share/lua/5.4/?/init.lua" LUA_CPATH="%s%s/lib/lua/5.4/?.so"')
      :format(root, prefix, root, prefix, root, prefix)
    ok, out = sh('cd / && ' .. env .. [[ lua5.4 -e "print(require('datasets').MNIST{train = false}.root)"]])
    assert(ok, out)
    assert.equal(root .. prefix .. '/share/luatorch/mnist-10k\n', out)
  end)

  it('installs the Jupyter kernel and its kernelspec, which --install-kernel registers', function()
    local xeus = io.open('/usr/include/xeus/xkernel.hpp')
    if not xeus then pending('no xeus (Debian xeus-dev): the kernel is not built') return end
    xeus:close()
    local function read(path)
      local f = assert(io.open(path, 'rb'), 'missing ' .. path)
      local s = f:read('a')
      f:close()
      return s
    end
    local dir = root .. prefix .. '/share/jupyter/kernels/luatorch'
    local spec = read(dir .. '/kernel.json')
    assert.matches('"argv": %["' .. prefix:gsub('%p', '%%%0') .. '/bin/luatorch%-kernel", "%-f", "{connection_file}"%]', spec)
    assert.equal('\137PNG', read(dir .. '/logo-64x64.png'):sub(1, 4))
    assert.equal('\137PNG', read(dir .. '/logo-32x32.png'):sub(1, 4))
    assert(io.open(root .. prefix .. '/bin/luatorch-kernel'), 'missing bin/luatorch-kernel')
    local data = os.tmpname()
    os.remove(data)
    local ok, out = sh(('JUPYTER_DATA_DIR=%s %s%s/bin/luatorch --install-kernel --user'):format(data, root, prefix))
    assert(ok, out)
    assert.equal(spec, read(data .. '/kernels/luatorch/kernel.json'))
    sh('rm -rf ' .. data)
  end)

  it('installs a luatorch that runs without the source tree', function()
    local ok, out = sh(('cd / && env -u LUA_PATH -u LUA_CPATH %s%s/bin/luatorch -e "print(torch.zeros(1):type())"')
      :format(root, prefix))
    assert(ok, out)
    assert.equal('torch.FloatTensor\n', out)
    sh('rm -rf ' .. root)
  end)
end)
