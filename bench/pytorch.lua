-- bench/pytorch.lua — times PyTorch for the benchmarks: runs a Python script with
-- /usr/bin/python3 once per thread count n, as `script n`, with OPENBLAS_NUM_THREADS=n (Debian's
-- PyTorch reaches OpenBLAS through the generic libblas, so the script's torch.set_num_threads
-- alone does not limit OpenBLAS: its "1 thread" would run the GEMMs on every core). The script
-- prints lines "<index> <value>"; the result is { ['<index>:<n>'] = value }, or nil when nothing
-- was printed (python3 cannot import torch).
return function(script, threads)
  local path = os.tmpname()
  local f = io.open(path, 'w')
  f:write(script)
  f:close()
  local res = {}
  for _, nt in ipairs(threads) do
    local cmd = 'OPENBLAS_NUM_THREADS=%d /usr/bin/python3 %s %d 2>/dev/null'
    local p = io.popen(cmd:format(nt, path, nt))
    if p then
      for line in p:lines() do
        local i, v = line:match('^(%d+) (%S+)$')
        if i then res[tonumber(i) .. ':' .. nt] = tonumber(v) end
      end
      p:close()
    end
  end
  os.remove(path)
  return next(res) and res or nil
end
