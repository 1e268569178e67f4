-- Downloads: torch._download (datasets/download.c: libcurl, OpenSSL MD5, temp file + rename) and
-- datasets.download.fetch (mirrors, resources) against HTTP servers on 127.0.0.1 that the spec
-- starts: `python3 -m http.server` as the good mirror, spec/download_server.py as the broken one
-- (truncated body, stalled body, redirects, any status), and a port with nothing listening as
-- the dead mirror. Loopback only; both servers are stopped in teardown and exit by themselves
-- after 120 s whatever happens to this process. Expected MD5s come from md5sum(1).
local torch = require 'torch'
local download = require 'datasets.download'

local exe = os.getenv('LUATORCH_EXE') or './build/luatorch'
local spec_dir = debug.getinfo(1, 'S').source:match('^@(.*)/[^/]*$') or 'spec'

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function slurp(path)
  local f = io.open(path, 'rb')
  if not f then return nil end
  local s = f:read('a'); f:close()
  return s
end

local function spit(path, s)
  local f = assert(io.open(path, 'wb')); f:write(s); f:close()
end

local function sleep(s) os.execute('sleep ' .. s) end

local function capture(cmd)
  local p = assert(io.popen(cmd, 'r'))
  local s = p:read('a'); p:close()
  return s
end

local function md5sum(path) return capture('md5sum ' .. q(path)):match('^(%x+)') end

local function listdir(dir)
  local t = {}
  for name in capture('ls -A ' .. q(dir)):gmatch('[^\n]+') do t[#t + 1] = name end
  table.sort(t)
  return t
end

local function tmpdir()
  local p = os.tmpname()
  os.remove(p)
  assert(torch._mkdirs(p))
  return p
end

local function wait_for(what, secs, pred)
  local t0 = torch.clock()
  repeat
    local v = pred()
    if v then return v end
    sleep(0.05)
  until torch.clock() - t0 > secs
  error('timed out waiting for ' .. what)
end

-- Starts cmd in the background, killed by timeout(1) after 120 s at the latest; returns its pid.
local function spawn(cmd, log)
  local pidfile = os.tmpname()
  assert(os.execute(('timeout 120 %s > %s 2>&1 < /dev/null & echo $! > %s'):format(cmd, q(log), q(pidfile))))
  local pid = tonumber(slurp(pidfile))
  os.remove(pidfile)
  return assert(pid, 'could not start: ' .. cmd)
end

-- Deterministic pseudo-random bytes (an LCG), so the files do not compress to nothing.
local function bytes(n, seed)
  local t, x = {}, seed
  for i = 1, n do
    x = (x * 1103515245 + 12345) % 2147483648
    t[i] = string.char(x >> 16 & 255)
  end
  return table.concat(t)
end

describe('downloads', function()
  local root, srv, pids = nil, nil, {}
  local good, bad, dead               -- base URLs (with a trailing '/')
  local A, B                          -- {name, path, md5, size} of the served files

  local function stop()
    for _, pid in ipairs(pids) do os.execute('kill ' .. pid .. ' 2>/dev/null') end
    pids = {}
  end

  setup(function()
    local ok, err = pcall(function()
      root = tmpdir()
      srv = root .. '/srv'
      assert(torch._mkdirs(srv))
      spit(srv .. '/a.bin', bytes(150000, 1))
      spit(srv .. '/b.bin', bytes(3000, 2))
      spit(srv .. '/ping', 'pong')
      A = { name = 'a.bin', path = srv .. '/a.bin', md5 = md5sum(srv .. '/a.bin'), size = 150000 }
      B = { name = 'b.bin', path = srv .. '/b.bin', md5 = md5sum(srv .. '/b.bin'), size = 3000 }

      local log1, portfile = root .. '/http.log', root .. '/ports'
      pids[#pids + 1] = spawn(('python3 -u -m http.server 0 --bind 127.0.0.1 --directory %s')
                              :format(q(srv)), log1)
      pids[#pids + 1] = spawn(('python3 %s %s %s 120'):format(q(spec_dir .. '/download_server.py'),
                              q(srv), q(portfile)), root .. '/bad.log')
      -- Wait for each to say which port it got; fail at once if it died.
      local function alive(i, log)
        if not os.execute('kill -0 ' .. pids[i] .. ' 2>/dev/null') then
          error('server exited: ' .. (slurp(log) or ''), 0)
        end
      end
      local port = wait_for('python3 -m http.server', 20, function()
        return (slurp(log1) or ''):match('port (%d+)') or alive(1, log1)
      end)
      local ports = wait_for('download_server.py', 20, function()
        return slurp(portfile) or alive(2, root .. '/bad.log')
      end)
      local bport, dport = ports:match('^(%d+) (%d+)')
      good = ('http://127.0.0.1:%s/'):format(port)
      bad = ('http://127.0.0.1:%s/'):format(bport)
      dead = ('http://127.0.0.1:%s/'):format(dport)
      -- Both answer before any test runs.
      local probe = root .. '/probe'
      wait_for('the good mirror to answer', 20, function()
        return torch._download(good .. 'ping', probe, nil, { timeout = 2, progress = false })
      end)
      wait_for('the broken mirror to answer', 20, function()
        return torch._download(bad .. 'file/ping', probe, nil, { timeout = 2, progress = false })
      end)
      os.remove(probe)
    end)
    if not ok then stop(); error(err, 0) end
  end)

  teardown(function()
    stop()
    if root and root:match('^/tmp/') then os.execute('rm -rf ' .. q(root)) end
  end)

  local nout = 0
  local function outdir()                    -- a fresh empty directory under root
    nout = nout + 1
    local d = ('%s/out%d'):format(root, nout)
    assert(torch._mkdirs(d))
    return d
  end
  local quick = { connectTimeout = 5, timeout = 20, progress = false }

  describe('torch._download', function()
    it('fetches a file, returning its MD5 and size, with nothing else left behind', function()
      local out = outdir()
      local md5, n = torch._download(good .. 'a.bin', out .. '/a.bin', A.md5, quick)
      assert.equal(A.md5, md5)
      assert.equal(A.size, n)
      assert.equal(slurp(A.path), slurp(out .. '/a.bin'))
      assert.same({ 'a.bin' }, listdir(out))
    end)

    it('accepts an upper-case MD5, or none', function()
      local out = outdir()
      assert.equal(B.md5, (torch._download(good .. 'b.bin', out .. '/b.bin', B.md5:upper(), quick)))
      assert.equal(B.md5, (torch._download(good .. 'b.bin', out .. '/c.bin', nil, quick)))
      assert.equal(B.md5, (torch._download(good .. 'b.bin', out .. '/d.bin')))
      assert.same({ 'b.bin', 'c.bin', 'd.bin' }, listdir(out))
      assert.equal(B.md5, md5sum(out .. '/d.bin'))
    end)

    it('gives the file the mode of an ordinary new file, not 0600', function()
      local out = outdir()
      assert(torch._download(good .. 'b.bin', out .. '/b.bin', B.md5, quick))
      local umask = tonumber(capture('sh -c umask'), 8)
      local mode = tonumber(capture('stat -c %a ' .. q(out .. '/b.bin')), 8)
      assert.equal(0x1b6 & ~umask, mode)            -- 0666 & ~umask
    end)

    it('follows redirects', function()
      local out = outdir()
      assert.equal(A.md5, (torch._download(bad .. 'redirect/a.bin', out .. '/a.bin', A.md5, quick)))
      assert.equal(slurp(A.path), slurp(out .. '/a.bin'))
    end)

    it('reports an HTTP 404 with the URL and leaves no file', function()
      local out = outdir()
      local md5, err = torch._download(good .. 'missing.bin', out .. '/missing.bin', nil, quick)
      assert.is_nil(md5)
      assert.equal('download ' .. good .. 'missing.bin: HTTP 404', err)
      assert.same({}, listdir(out))
    end)

    it('reports other HTTP errors (500, 403) by status', function()
      local out = outdir()
      for _, code in ipairs({ 500, 403 }) do
        local md5, err = torch._download(bad .. 'status/' .. code, out .. '/x', nil, quick)
        assert.is_nil(md5)
        assert.matches('download http://127%.0%.0%.1:%d+/status/' .. code .. ': HTTP ' .. code, err)
      end
      assert.same({}, listdir(out))
    end)

    it('fails fast on a dead mirror (connection refused)', function()
      local out = outdir()
      local t0 = torch.clock()
      local md5, err = torch._download(dead .. 'a.bin', out .. '/a.bin', A.md5, quick)
      assert.is_nil(md5)
      assert.matches('^download http://127%.0%.0%.1:%d+/a%.bin: could not connect', err)
      assert.is_true(torch.clock() - t0 < 5)
      assert.same({}, listdir(out))
    end)

    it('refuses a file whose MD5 differs and removes it', function()
      local out = outdir()
      local wrong = ('0'):rep(32)
      local md5, err = torch._download(good .. 'a.bin', out .. '/a.bin', wrong, quick)
      assert.is_nil(md5)
      assert.equal(('download %sa.bin: MD5 mismatch: expected %s, got %s (150000 bytes)')
                   :format(good, wrong, A.md5), err)
      assert.same({}, listdir(out))
    end)

    it('detects a truncated transfer (Content-Length larger than the body)', function()
      local out = outdir()
      -- with and without a checksum: the length check alone must catch it
      for _, md5 in ipairs({ A.md5, false }) do
        local got, err = torch._download(bad .. 'trunc/a.bin', out .. '/a.bin', md5 or nil, quick)
        assert.is_nil(got)
        assert.matches('^download http://127%.0%.0%.1:%d+/trunc/a%.bin: truncated transfer', err)
      end
      assert.same({}, listdir(out))
    end)

    it('gives up on a stalled transfer after the low-speed time or the total timeout', function()
      local out = outdir()
      local t0 = torch.clock()
      local md5, err = torch._download(bad .. 'stall/a.bin', out .. '/a.bin', nil,
                                       { lowSpeedLimit = 1000, lowSpeedTime = 1, progress = false })
      assert.is_nil(md5)
      assert.matches('^download http://127%.0%.0%.1:%d+/stall/a%.bin: timed out', err)
      local t1 = torch.clock()
      assert.is_true(t1 - t0 < 6)
      md5, err = torch._download(bad .. 'stall/a.bin', out .. '/a.bin', nil, { timeout = 0.5, progress = false })
      assert.is_nil(md5)
      assert.matches('timed out', err)
      assert.is_true(torch.clock() - t1 < 4)
      assert.same({}, listdir(out))
    end)

    it('leaves an existing file untouched when a download fails, and replaces it when one succeeds', function()
      local out = outdir()
      local path = out .. '/a.bin'
      spit(path, 'old contents')
      assert.is_nil((torch._download(good .. 'a.bin', path, ('f'):rep(32), quick)))
      assert.is_nil((torch._download(bad .. 'trunc/a.bin', path, nil, quick)))
      assert.equal('old contents', slurp(path))
      assert.equal(A.md5, (torch._download(good .. 'a.bin', path, A.md5, quick)))
      assert.equal(slurp(A.path), slurp(path))
      assert.same({ 'a.bin' }, listdir(out))
    end)

    it('reads file:// URLs; refuses other protocols', function()
      local out = outdir()
      assert.equal(A.md5, (torch._download('file://' .. A.path, out .. '/a.bin', A.md5, quick)))
      local md5, err = torch._download('ftp://127.0.0.1/a.bin', out .. '/b.bin', nil, quick)
      assert.is_nil(md5)
      assert.matches('^download ftp://127%.0%.0%.1/a%.bin: .*ftp', err)
      assert.same({ 'a.bin' }, listdir(out))
    end)

    it('reports a destination directory that does not exist', function()
      local out = outdir()
      local md5, err = torch._download(good .. 'a.bin', out .. '/no/such/a.bin', nil, quick)
      assert.is_nil(md5)
      assert.matches('cannot create a temporary file next to .*/no/such/a%.bin: No such file', err)
    end)

    it('checks its arguments', function()
      assert.error_matches(function() torch._download() end, "bad argument #1 to '_download'")
      assert.error_matches(function() torch._download(good) end, "bad argument #2 to '_download'")
      assert.error_matches(function() torch._download(good, '/tmp/x', nil, 3) end,
                           "bad argument #4 to '_download'")
      assert.error_matches(function() torch._download(good, '/tmp/x', nil, { timeout = 'soon' }) end,
                           'torch%._download: opts%.timeout must be a number, got string')
      assert.error_matches(function() torch._download(good, '/tmp/x', nil, { connectTimeout = -1 }) end,
                           'torch%._download: opts%.connectTimeout must be >= 0')
      assert.error_matches(function() torch._download(good, '/tmp/x', nil, { progress = 1 }) end,
                           "torch%._download: opts%.progress must be a boolean or 'always'")
      local out = outdir()
      local md5, err = torch._download(good .. 'a.bin', out .. '/a.bin', 'abc', quick)
      assert.is_nil(md5)
      assert.equal('download ' .. good .. "a.bin: invalid MD5 'abc' (want 32 hex digits)", err)
      md5, err = torch._download('', out .. '/a.bin')
      assert.is_nil(md5)
      assert.equal('download: empty URL', err)
      assert.same({}, listdir(out))
    end)

    it('draws a progress bar only when asked to or when stderr is a TTY', function()
      local out = outdir()
      local errf = out .. '/stderr'
      local function run(progress)
        local code = ("assert(torch._download(%q, %q, %q, {progress = %s}))")
                     :format(good .. 'a.bin', out .. '/a.bin', A.md5, progress)
        local ok = os.execute(('%s -e %s 2> %s < /dev/null'):format(exe, q(code), q(errf)))
        assert.is_true(ok == true or ok == 0)
        return slurp(errf)
      end
      local bar = run("'always'")
      assert.matches('a%.bin +%[=+%] 100%%  150%.0 kB / 150%.0 kB  [%d.]+ [kMG]?B/s \n$', bar)
      assert.equal('', run('true'))            -- stderr is a file here: no bar
      assert.equal('', run('false'))
    end)
  end)

  describe('torch._md5file and torch._mkdirs', function()
    it('hashes a file like md5sum does', function()
      local md5, n = torch._md5file(A.path)
      assert.equal(A.md5, md5)
      assert.equal(A.size, n)
      local out = outdir()
      spit(out .. '/empty', '')
      assert.equal(md5sum(out .. '/empty'), (torch._md5file(out .. '/empty')))
      local none, err = torch._md5file(out .. '/none')
      assert.is_nil(none)
      assert.matches('md5 .*/none: No such file or directory', err)
    end)

    it('creates nested directories and reports what is in the way', function()
      local out = outdir()
      assert.is_true(torch._mkdirs(out .. '/x/y/z'))
      assert.is_true(torch._mkdirs(out .. '/x/y/z/'))       -- already there: fine
      spit(out .. '/f', '')
      local ok, err = torch._mkdirs(out .. '/f')
      assert.is_nil(ok)
      assert.matches('cannot create directory .*/f: Not a directory', err)
      ok, err = torch._mkdirs(out .. '/f/g')
      assert.is_nil(ok)
      assert.matches('cannot create directory .*/f/g: Not a directory', err)
    end)
  end)

  describe('datasets.download.fetch', function()
    local function files() return { { name = 'a.bin', md5 = A.md5 }, { name = 'b.bin', md5 = B.md5 } } end

    it('skips a dead mirror and one without the files, and leaves exactly the verified files', function()
      local out = outdir() .. '/data/raw'            -- created by fetch
      local t0 = torch.clock()
      local got = download.fetch{ root = out, files = files(), progress = false,
                                  mirrors = { dead, good .. 'nothere/', good } }
      assert.same({ 'a.bin', 'b.bin' }, got)
      assert.same({ 'a.bin', 'b.bin' }, listdir(out))
      assert.equal(A.md5, md5sum(out .. '/a.bin'))
      assert.equal(B.md5, md5sum(out .. '/b.bin'))
      assert.is_true(torch.clock() - t0 < 10)
      -- everything present: nothing to do
      assert.same({}, download.fetch{ root = out, files = files(), mirrors = { dead } })
    end)

    it('accepts mirrors without a trailing slash, and as one string', function()
      local out = outdir()
      assert.same({ 'a.bin' }, download.fetch{ root = out, files = { files()[1] }, progress = false,
                                               mirrors = { good:sub(1, -2) } })
      assert.same({ 'b.bin' }, download.fetch{ root = out, files = { files()[2] }, progress = false,
                                               mirrors = dead .. ', ' .. good })
      assert.same({ 'a.bin', 'b.bin' }, listdir(out))
    end)

    it('reports every mirror and its reason when all fail, leaving nothing', function()
      local out = outdir()
      local ok, err = pcall(download.fetch, { root = out, files = files(), progress = false,
                                              mirrors = { dead, bad .. 'trunc/', good .. 'nothere/' } })
      assert.is_false(ok)
      assert.matches('^datasets%.download: cannot fetch a%.bin from any mirror:\n', err)
      assert.matches('\n  download http://127%.0%.0%.1:%d+/a%.bin: could not connect[^\n]*\n', err)
      assert.matches('\n  download http://127%.0%.0%.1:%d+/trunc/a%.bin: truncated transfer[^\n]*\n', err)
      assert.matches('\n  download http://127%.0%.0%.1:%d+/nothere/a%.bin: HTTP 404\n', err)
      -- then what to do by hand: the missing file's URL, the other mirrors, the directory
      assert.matches('\nTo fetch them by hand, download\n  http://127%.0%.0%.1:%d+/a%.bin\n'
                     .. '  http://127%.0%.0%.1:%d+/b%.bin\n%(or the same names from http://127%.0%.0%.1:%d+/trunc/ or '
                     .. 'http://127%.0%.0%.1:%d+/nothere/%)\ninto ' .. out:gsub('%p', '%%%0')
                     .. '/ as they are, then run again%.$', err)
      assert.same({}, listdir(out))
    end)

    it('refuses files with a wrong checksum from every mirror', function()
      local out = outdir()
      local ok, err = pcall(download.fetch, { root = out, progress = false,
                                              files = { { name = 'a.bin', md5 = B.md5 } },
                                              mirrors = { good, bad .. 'file/' } })
      assert.is_false(ok)
      local _, n = err:gsub('MD5 mismatch: expected ' .. B.md5 .. ', got ' .. A.md5, '')
      assert.equal(2, n)
      assert.same({}, listdir(out))
    end)

    it('keeps the files fetched before a failure, each one verified', function()
      local out = outdir()
      local ok, err = pcall(download.fetch, { root = out, progress = false, mirrors = { good },
                                              files = { { name = 'a.bin', md5 = A.md5 },
                                                        { name = 'gone.bin', md5 = A.md5 } } })
      assert.is_false(ok)
      assert.matches('cannot fetch gone%.bin', err)
      assert.same({ 'a.bin' }, listdir(out))
      assert.equal(A.md5, md5sum(out .. '/a.bin'))
    end)

    it('gives up on a stalled mirror with the low-speed options and moves on', function()
      local out = outdir()
      local t0 = torch.clock()
      local got = download.fetch{ root = out, files = { files()[1] }, progress = false,
                                  lowSpeedLimit = 1000, lowSpeedTime = 1,
                                  mirrors = { bad .. 'stall/', good } }
      assert.same({ 'a.bin' }, got)
      assert.is_true(torch.clock() - t0 < 6)
      assert.same({ 'a.bin' }, listdir(out))
    end)

    it('trusts files already present, unless verify = true', function()
      local out = outdir()
      spit(out .. '/a.bin', 'stale')
      assert.same({ 'b.bin' }, download.fetch{ root = out, files = files(), mirrors = { good },
                                               progress = false })
      assert.equal('stale', slurp(out .. '/a.bin'))
      assert.same({ 'a.bin' }, download.fetch{ root = out, files = files(), mirrors = { good },
                                               progress = false, verify = true })
      assert.equal(A.md5, md5sum(out .. '/a.bin'))
      assert.same({ 'a.bin', 'b.bin' }, listdir(out))
    end)

    it('takes the mirrors of a resource from its environment variable', function()
      local out = outdir()
      local code = ([[
        local d = require 'datasets.download'
        local got = d.fetch{root = %q, resource = 'mnist', files = {{name = 'b.bin', md5 = %q}}}
        io.write(table.concat(d.mirrors('mnist'), ' '), '|', table.concat(got, ','))
      ]]):format(out, B.md5)
      local cmd = ('LUATORCH_MNIST_MIRRORS=%s %s -e %s 2>&1 < /dev/null')
                  :format(q(dead .. ' ; ' .. good), exe, q(code))
      assert.equal(dead .. ' ' .. good .. '|b.bin', capture(cmd))
      assert.same({ 'b.bin' }, listdir(out))
    end)

    it('knows the MNIST and Fashion-MNIST files and the mirrors torchvision uses', function()
      local names = { 'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz',
                      't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz' }
      for _, r in ipairs({ 'mnist', 'fashion-mnist' }) do
        local res = download.resources[r]
        assert.equal(4, #res.files)
        for i, f in ipairs(res.files) do
          assert.equal(names[i], f.name)
          assert.matches('^%x+$', f.md5)
          assert.equal(32, #f.md5)
        end
        assert.is_true(#res.mirrors >= 1)
      end
      assert.equal('f68b3c2dcbeaaa9fbdd348bbdeb94873', download.resources.mnist.files[1].md5)
      assert.equal('8d4fb7e6c68d591d4c3dfef9ec88bf0d', download.resources['fashion-mnist'].files[1].md5)
      assert.same({ 'http://yann.lecun.com/exdb/mnist/', 'https://ossci-datasets.s3.amazonaws.com/mnist/' },
                  download.resources.mnist.mirrors)
      assert.same({ 'x/', 'y/' }, download.mirrors('mnist', { 'x/', 'y/' }))
    end)

    it('checks its options', function()
      local out = outdir()
      assert.error_matches(function() download.fetch() end, 'datasets%.download: fetch expects a table')
      assert.error_matches(function() download.fetch{ files = files(), mirrors = { good } } end,
                           'fetch: root must be a directory name')
      assert.error_matches(function() download.fetch{ root = out, mirrors = { good } } end,
                           'fetch: no files given')
      assert.error_matches(function() download.fetch{ root = out, files = files() } end,
                           'fetch: no mirrors given')
      assert.error_matches(function() download.fetch{ root = out, resource = 'cifar' } end,
                           "unknown resource 'cifar' %(known: fashion%-mnist, mnist%)")
      assert.error_matches(function() download.fetch{ root = out, files = { { name = '../x' } }, mirrors = { good } } end,
                           'each file must be {name = <plain file name>')
      assert.error_matches(function() download.fetch{ root = out, files = files(), mirrors = { 1 } } end,
                           'mirrors%[1%] must be a URL string, got number')
      assert.same({}, listdir(out))
    end)
  end)
end)
