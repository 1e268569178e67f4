-- datasets/download.lua — fetches missing dataset files from a list of mirrors.
--
--   local download = require 'datasets.download'
--   download.fetch{root = dir, resource = 'mnist'}                   -- the four MNIST files
--   download.fetch{root = dir, files = {{name = 'a.gz', md5 = '...'}, ...},
--                  mirrors = {'https://host/path/', ...}, progress = true}
--
-- Each missing file is tried on each mirror in order; the first mirror that delivers it intact
-- wins (and is tried first for the next files). The transfer itself is torch._download (C,
-- libcurl + OpenSSL MD5, datasets/download.c): it writes a temporary file and renames it into
-- place only when the transfer completed and the MD5 matched, so a file with the final name is
-- always complete. When every mirror fails, fetch raises one error listing each URL and why,
-- then which files to fetch by hand from where and the directory to put them in.
--
-- Mirrors: opts.mirrors, else the resource's environment variable (LUATORCH_MNIST_MIRRORS,
-- LUATORCH_FASHION_MNIST_MIRRORS: URLs separated by spaces, commas or semicolons; tests point
-- them at a local server), else the mirrors torchvision uses.
local torch = require 'torch'
local check = require 'torch.check'

local M = {}

-- Mirror lists and MD5s as in torchvision/datasets/mnist.py (MNIST, FashionMNIST).
M.resources = {
  mnist = {
    env = 'LUATORCH_MNIST_MIRRORS',
    mirrors = {
      'http://yann.lecun.com/exdb/mnist/',
      'https://ossci-datasets.s3.amazonaws.com/mnist/',
    },
    files = {
      { name = 'train-images-idx3-ubyte.gz', md5 = 'f68b3c2dcbeaaa9fbdd348bbdeb94873' },
      { name = 'train-labels-idx1-ubyte.gz', md5 = 'd53e105ee54ea40749a09fcbcd1e9432' },
      { name = 't10k-images-idx3-ubyte.gz',  md5 = '9fb629c4189551a2d022fa330f9573f3' },
      { name = 't10k-labels-idx1-ubyte.gz',  md5 = 'ec29112dd5afa0611ce80d1b7f02629c' },
    },
  },
  ['fashion-mnist'] = {
    env = 'LUATORCH_FASHION_MNIST_MIRRORS',
    mirrors = {
      'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
    },
    files = {
      { name = 'train-images-idx3-ubyte.gz', md5 = '8d4fb7e6c68d591d4c3dfef9ec88bf0d' },
      { name = 'train-labels-idx1-ubyte.gz', md5 = '25c81989df183df01b3e8a0aad5dffbe' },
      { name = 't10k-images-idx3-ubyte.gz',  md5 = 'bef4ecab320f06d8554ea6380940ec79' },
      { name = 't10k-labels-idx1-ubyte.gz',  md5 = 'bb300cfdad3c16e7a12a480ee83cd310' },
    },
  },
}

local function fail(fmt, ...) error('datasets.download: ' .. fmt:format(...), 3) end

local function exists(path)
  local f = io.open(path, 'rb')
  if f then f:close() return true end
  return false
end

-- "a b,c;d" -> {'a', 'b', 'c', 'd'}
local function split_urls(s)
  local t = {}
  for u in s:gmatch('[^%s,;]+') do t[#t + 1] = u end
  return t
end

-- The mirror list for a resource: opts.mirrors, else its environment variable, else the
-- built-in list. name may be nil (then only opts.mirrors).
function M.mirrors(name, mirrors)
  if mirrors ~= nil then
    if type(mirrors) == 'string' then return split_urls(mirrors) end
    if type(mirrors) ~= 'table' then fail('mirrors must be a list of URLs, got %s', type(mirrors)) end
    for i, m in ipairs(mirrors) do
      if type(m) ~= 'string' then fail('mirrors[%d] must be a URL string, got %s', i, type(m)) end
    end
    return mirrors
  end
  local res = name and M.resources[name]
  if not res then return {} end
  local env = res.env and os.getenv(res.env)
  if env and env:match('%S') then return split_urls(env) end
  return res.mirrors
end

local function join(mirror, name)
  return mirror:sub(-1) == '/' and mirror .. name or mirror .. '/' .. name
end

-- What to do without a network: the files still missing, their URLs on the first mirror,
-- the other mirrors, and the directory they go in (as they are, still compressed).
local function by_hand(files, root, mirrors)
  local lines = { 'To fetch them by hand, download' }
  for _, f in ipairs(files) do
    if not exists(root .. '/' .. f.name) then lines[#lines + 1] = '  ' .. join(mirrors[1], f.name) end
  end
  if #mirrors > 1 then
    lines[#lines + 1] = ('(or the same names from %s)'):format(table.concat(mirrors, ' or ', 2))
  end
  lines[#lines + 1] = ('into %s/ as they are, then run again.'):format(root)
  return table.concat(lines, '\n')
end

-- Downloads the files of opts.files (or of the resource opts.resource) that are missing from
-- opts.root. Options: mirrors, progress (default true: a bar when stderr is a TTY),
-- verify (also check the MD5 of files already present; a mismatch is fetched again),
-- connectTimeout, lowSpeedLimit, lowSpeedTime, timeout (seconds; see torch._download).
-- Returns the list of names fetched (files already present are not in it).
local fetch_options = {
  root = check.NONE, resource = check.NONE, files = check.NONE, mirrors = check.NONE,
  progress = true, verify = false, connectTimeout = check.NONE, lowSpeedLimit = check.NONE,
  lowSpeedTime = check.NONE, timeout = check.NONE,
}

function M.fetch(opts)
  if type(opts) ~= 'table' then fail('fetch expects a table of options, got %s', type(opts)) end
  opts = check.options('datasets.download.fetch', opts, fetch_options, 2)
  local root = opts.root
  if type(root) ~= 'string' or root == '' then fail('fetch: root must be a directory name') end
  local res = opts.resource and M.resources[opts.resource]
  if opts.resource and not res then
    local known = {}
    for k in pairs(M.resources) do known[#known + 1] = k end
    table.sort(known)
    fail("fetch: unknown resource '%s' (known: %s)", tostring(opts.resource), table.concat(known, ', '))
  end
  local files = opts.files or (res and res.files)
  if type(files) ~= 'table' or #files == 0 then fail('fetch: no files given') end
  local mirrors = M.mirrors(opts.resource, opts.mirrors)
  if #mirrors == 0 then fail('fetch: no mirrors given') end
  mirrors = { table.unpack(mirrors) }           -- reordered below; never the caller's table

  local progress = opts.progress
  if progress == nil then progress = true end
  local chatty = progress and torch.isatty(io.stderr)
  local copts = {
    connectTimeout = opts.connectTimeout, lowSpeedLimit = opts.lowSpeedLimit,
    lowSpeedTime = opts.lowSpeedTime, timeout = opts.timeout, progress = progress,
  }

  local ok, err = torch._mkdirs(root)
  if not ok then fail('fetch: %s', err) end
  local fetched = {}
  for _, f in ipairs(files) do
    if type(f) ~= 'table' or type(f.name) ~= 'string' or f.name == '' or f.name:find('/', 1, true) then
      fail('fetch: each file must be {name = <plain file name>, md5 = <hex or nil>}')
    end
    local path = root .. '/' .. f.name
    local present = exists(path)
    if present and opts.verify and f.md5 then
      local got = torch._md5file(path)
      present = got ~= nil and got == f.md5:lower()
      if not present and chatty then
        io.stderr:write(('%s: MD5 mismatch, fetching it again\n'):format(path))
      end
    end
    if not present then
      local errs = {}
      for i, mirror in ipairs(mirrors) do
        local url = join(mirror, f.name)
        copts.label = f.name
        local md5, why = torch._download(url, path, f.md5, copts)
        if md5 then
          -- This mirror answers: try it first for the remaining files.
          table.remove(mirrors, i)
          table.insert(mirrors, 1, mirror)
          errs = nil
          break
        end
        errs[#errs + 1] = '  ' .. why
        if chatty and i < #mirrors then io.stderr:write(why, '; trying the next mirror\n') end
      end
      if errs then                   -- a run-time failure, not a bad call: no position
        error(('datasets.download: cannot fetch %s from any mirror:\n%s\n%s')
              :format(f.name, table.concat(errs, '\n'), by_hand(files, root, mirrors)), 0)
      end
      fetched[#fetched + 1] = f.name
    end
  end
  return fetched
end

return M
