-- bench/run.lua — `make bench`: runs every benchmark of bench/ in one process and prints
-- their tables. Ratios are measured in the same run, since these machines are shared.
local here = arg and arg[0] and arg[0]:match('^(.*)/') or 'bench'
local list = { 'autograd', 'datasets', 'mm', 'lstm' }
for _, name in ipairs(list) do
  dofile(here .. '/' .. name .. '.lua')
end
