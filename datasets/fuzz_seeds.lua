-- datasets/fuzz_seeds.lua — writes the seed corpora of make fuzz's checkpoint and safetensors
-- targets (datasets/fuzz_corpus_checkpoint, datasets/fuzz_corpus_safetensors): valid files of
-- each kind and a few broken ones. Run from the repository root: build/luatorch
-- datasets/fuzz_seeds.lua (pytorch_dtypes.safetensors is spec/fixtures/ckpt_dtypes.safetensors).
-- Tables are written in Lua's traversal order, which changes from run to run: the checkpoints
-- come out equivalent, not byte for byte the same.
local torch = require 'torch'
local nn = require 'nn'
local C, S = 'datasets/fuzz_corpus_checkpoint/', 'datasets/fuzz_corpus_safetensors/'
torch.manualSeed(1)
local function rd(p) local f = assert(io.open(p, 'rb')) local s = f:read('a') f:close() return s end
local function wr(p, s) local f = assert(io.open(p, 'wb')) f:write(s) f:close() end
-- a tiny model (its weights require grad and carry .grad)
torch.save(C .. 'linear.t7', nn.Linear(2, 2))
torch.save(C .. 'sequential.t7', nn.Sequential():add(nn.Linear(2, 1)):add(nn.Tanh()))
-- tensors of each dtype, views sharing a storage, storages, scalars
local f = torch.randn(2, 3)
torch.save(C .. 'dtypes.t7', { f = f, ft = f:t(), d = torch.DoubleTensor({1.5, -2}), l = torch.LongTensor({1, -1, 7}),
  b = torch.ByteTensor({0, 255}), e = torch.FloatTensor(), s = torch.FloatTensor(1):fill(3):squeeze(),
  x = torch.ones(1, 3):expand(2, 3), st = torch.LongStorage({4, 5}) })
local w = torch.randn(2); w.requiresGrad = true; w.grad = torch.zeros(2)
torch.save(C .. 'grad.t7', { w = w })
-- plain values: cycles, shared references, every scalar kind, a class instance
local t = { 1, 2.5, 'str\0bin', true, false, n = -0.0, big = math.maxinteger, inf = math.huge }
t.self = t; t.shared = { 1 }; t.again = t.shared
torch.save(C .. 'values.t7', t)
torch.save(C .. 'string.t7', 'hello')
-- broken: a bad magic, truncated, a flipped payload byte (CRC mismatch), flags set
local good = rd(C .. 'values.t7')
wr(C .. 'bad_magic.t7', 'X' .. good:sub(2))
wr(C .. 'truncated.t7', good:sub(1, 40))
wr(C .. 'crc_mismatch.t7', good:sub(1, 40) .. string.char(good:byte(41) ~ 1) .. good:sub(42))
wr(C .. 'flags.t7', good:sub(1, 12) .. string.pack('<I4', 1) .. good:sub(17))
-- safetensors: each dtype, scalar and empty tensors, metadata
torch.saveSafetensors(S .. 'dtypes.safetensors', { f = torch.randn(2, 2), d = torch.DoubleTensor({1, 2}),
  l = torch.LongTensor({3}), b = torch.ByteTensor({1, 2, 3}), s = torch.FloatTensor(1):fill(2):squeeze(),
  e = torch.FloatTensor(0, 3) }, { format = 'pt', note = 'seed' })
torch.saveSafetensors(S .. 'linear.safetensors', nn.Linear(2, 2):stateDict())
local sgood = rd(S .. 'dtypes.safetensors')
wr(S .. 'truncated.safetensors', sgood:sub(1, #sgood - 3))
wr(S .. 'bad_json.safetensors', sgood:sub(1, 8) .. 'x' .. sgood:sub(10))
wr(S .. 'huge_header_len.safetensors', string.pack('<I8', 1 << 62) .. sgood:sub(9))
local json = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}'
wr(S .. 'overlap.safetensors', string.pack('<I8', #json) .. json .. string.rep('\0', 8))
wr(S .. 'pytorch_dtypes.safetensors', rd('spec/fixtures/ckpt_dtypes.safetensors'))
