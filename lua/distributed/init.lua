-- distributed — data-parallel training over MPI (OpenMPI), Torch7 style:
--   local dist = require 'distributed'
--   dist.init()                                    -- a world of one outside mpirun
--   dist.allReduce(gradParams):div(dist.size())    -- in feval, before the optimizer step
-- The collectives are C (lua/distributed/core.c, module distributed.core, linked with libmpi);
-- this file only says clearly when that module was not built.
local ok, core = pcall(require, 'distributed.core')
if not ok then
  error("distributed: the MPI binding (module distributed.core) could not be loaded; luatorch "
        .. "builds it when mpicc is found (Debian: apt-get install openmpi-bin libopenmpi-dev, "
        .. "then make): " .. tostring(core), 2)
end
-- error messages name a function by the first loaded module holding it: one module only, so
-- they always read 'distributed.allReduce'
package.loaded['distributed.core'] = nil
return core
