-- bench/run.lua — `make bench`: runs every benchmark of bench/ in one process and prints their
-- tables. Ratios are measured in the same run, since these machines are shared. After each
-- table, the share of CPU time the hypervisor took from this machine's vCPUs while it ran
-- (steal time, /proc/stat; Linux guests): steal makes 2-thread numbers noisy, though not all
-- noise shows as steal (bench/README.md).
local here = arg and arg[0] and arg[0]:match('^(.*)/') or 'bench'
local list = { 'autograd', 'datasets', 'mm', 'lstm', 'rnn', 'conv', 'threads', 'distributed' }

local function cpu_times()  -- total and steal jiffies of all CPUs, or nil
  local f = io.open('/proc/stat')
  if not f then return nil end
  local line = f:read('l')
  f:close()
  local fields = {}
  for v in (line or ''):gmatch('%d+') do fields[#fields + 1] = tonumber(v) end
  if #fields < 8 then return nil end
  local total = 0  -- user .. steal; guest time is already inside user
  for i = 1, 8 do total = total + fields[i] end
  return total, fields[8]
end

for _, name in ipairs(list) do
  local t0, s0 = cpu_times()
  dofile(here .. '/' .. name .. '.lua')
  local t1, s1 = cpu_times()
  if t0 and t1 and t1 > t0 then
    print(('(%s: host steal %.1f%% of vCPU time during the run)\n'):format(name,
          100 * (s1 - s0) / (t1 - t0)))
  end
end
