-- torch.serialize — the Lua front of checkpoints: torch.save / torch.load (luatorch's own
-- format, docs/checkpoint-format.md) and torch.saveSafetensors / torch.loadSafetensors (the
-- .safetensors format that PyTorch reads). The byte work is in C (lua/lserialize.c,
-- lua/lsafetensors.c); this file checks arguments and maps class names to metatables.
return function(torch)
  local c_save, c_load = torch._save, torch._load
  local c_save_st, c_load_st = torch._saveSafetensors, torch._loadSafetensors
  torch._save, torch._load, torch._saveSafetensors, torch._loadSafetensors = nil, nil, nil, nil

  -- Runs a C entry point; its errors are raised again at the caller's line.
  local function call(fn, ...)
    local ok, a, b = pcall(fn, ...)
    if not ok then error(a, 3) end
    return a, b
  end

  local function check_path(fname, path)
    if type(path) ~= 'string' or path == '' then
      error(('%s: expected a file name, got %s'):format(fname, type(path)), 3)
    end
  end

  -- The class a saved instance names. nn's classes are loaded on demand ('nn.Linear'
  -- requires 'nn'); other modules must be loaded by the caller: a name read from a file
  -- must never choose which code runs.
  local autoload = { nn = true }
  local function resolve(name)
    local mt = torch.getmetatable(name)
    if not mt then
      local prefix = name:match('^(.*)%.[^.]+$')
      if autoload[prefix] and not package.loaded[prefix] then pcall(require, prefix) end
      mt = torch.getmetatable(name)
    end
    if not mt then
      error(("torch.load: unknown class '%s' (define it, or require the module that "
             .. "defines it, before loading)"):format(name), 0)
    end
    return mt
  end

  -- torch.save(path, obj): numbers, strings, booleans, tables (shared references and cycles
  -- kept; torch.class instances by class name), tensors (with requiresGrad and .grad) and
  -- storages. Never code: a function anywhere in obj is an error naming where it is. The
  -- file is replaced atomically, so a failed save leaves the previous file as it was.
  function torch.save(path, obj)
    check_path('torch.save', path)
    call(c_save, path, obj, torch.getmetatable)
  end

  -- torch.load(path): the value saved there. Modules come back ready to use: parameters
  -- keep requiresGrad and their gradWeight/gradBias as .grad.
  function torch.load(path)
    check_path('torch.load', path)
    local obj = call(c_load, path, resolve)   -- not a tail call: error levels count frames
    return obj
  end

  -- torch.saveSafetensors(path, {name = tensor, ...} [, {key = 'value', ...}])
  function torch.saveSafetensors(path, tensors, metadata)
    check_path('torch.saveSafetensors', path)
    if type(tensors) ~= 'table' then
      error(('torch.saveSafetensors: expected a table of tensors, got %s'):format(type(tensors)), 2)
    end
    if metadata ~= nil and type(metadata) ~= 'table' then
      error(('torch.saveSafetensors: metadata must be a table of strings, got %s')
            :format(type(metadata)), 2)
    end
    call(c_save_st, path, tensors, metadata)
  end

  -- torch.loadSafetensors(path) -> {name = tensor, ...}, metadata
  function torch.loadSafetensors(path)
    check_path('torch.loadSafetensors', path)
    local tensors, metadata = call(c_load_st, path)   -- not a tail call: error levels
    return tensors, metadata
  end
end
