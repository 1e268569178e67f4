#!/usr/bin/env python3
"""bench/gpu_torch.py -- the PyTorch reference for the GPU benchmarks (run by gpu/check.sh).

Prints one line per workload, `RESULT torch_<name> <ms>` (milliseconds per iteration, the
median of several timed runs, CUDA events), matching bench/gpu_lstm.lua's `RESULT <name> <ms>`:

  seed_step_eager       the seed training step: nn.LSTM 28->128 (batch first) over 28 steps,
                        batch 100, Linear 128->10 on the last step, cross entropy, SGD lr 0.1
                        (zero_grad, forward, backward, step); FP32 (TF32 off)
  seed_step_graph       the same step captured whole (forward, backward, optimizer.step) in a
                        CUDA graph and replayed; checked against eager steps from the same
                        weights on the same batches before it is timed
  lstm1024_fwdbwd_fp32  nn.LSTM 1024->1024, 1 layer, T=100, B=128, (T, B, I) layout: forward,
                        then backward of the output against a fixed random gradient (weight and
                        input gradients); TF32 off
  lstm1024_fwdbwd_tf32  the same with TF32 allowed in cuBLAS and cuDNN
  gru1024_fwdbwd_fp32, bilstm1024_fwdbwd_fp32, lstm1024_lengths_fwdbwd_fp32
                        the same step for nn.GRU, a bidirectional nn.LSTM (output 2048) and
                        nn.LSTM over B=128 sequences of 41 to 100 steps (length
                        100 - (37 b mod 60)) through pack_padded_sequence(enforce_sorted=False)
                        and pad_packed_sequence; TF32 off

Lines starting `CHECK` report correctness checks (ok / FAIL), `SKIP` workloads that could not
run, `INFO` the setup. Exit status 1 when a check failed, 0 otherwise (also when there is no
CUDA device: everything is skipped with a line saying why).

  python3 bench/gpu_torch.py [--quick]      --quick: fewer iterations (a dry run)
"""
import os
import statistics
import sys
import time
import warnings

QUICK = '--quick' in sys.argv


def out(*parts):
    print(*parts, flush=True)


try:
    import torch
    import torch.nn.functional as F
except Exception as e:  # pragma: no cover - depends on the machine
    out('SKIP torch: PyTorch does not import here (%s)' % e)
    sys.exit(0)

# LT_BENCH_CPU=1: a self-test of this script on the CPU (wall-clock timing, no CUDA graph);
# its numbers mean nothing and are not printed as RESULT lines
CPU_TEST = os.environ.get('LT_BENCH_CPU') == '1'
if CPU_TEST:
    QUICK = True
elif not torch.cuda.is_available():
    out('SKIP torch: PyTorch %s has no CUDA device here (torch.version.cuda = %s); '
        'the PyTorch benchmarks need a GPU' % (torch.__version__, torch.version.cuda))
    sys.exit(0)

DEV = torch.device('cpu' if CPU_TEST else 'cuda')
failed = False


def set_tf32(on):
    """TF32 in cuBLAS matmuls and cuDNN (the RNN included). Uses the fp32_precision API of
    PyTorch >= 2.9 where it exists (the allow_tf32 flags are deprecated there), else the flags."""
    mode = 'tf32' if on else 'ieee'
    if CPU_TEST:
        return 'TF32 %s (CPU self-test: not set)' % mode
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try:
            if not hasattr(torch.backends.cuda.matmul, 'fp32_precision'):
                raise AttributeError('no fp32_precision')
            torch.backends.cuda.matmul.fp32_precision = mode
            torch.backends.cudnn.fp32_precision = mode
            if hasattr(torch.backends.cudnn, 'rnn'):
                torch.backends.cudnn.rnn.fp32_precision = mode
            if hasattr(torch.backends.cudnn, 'conv'):
                torch.backends.cudnn.conv.fp32_precision = mode
            return 'fp32_precision=%s' % mode
        except Exception:
            torch.backends.cuda.matmul.allow_tf32 = on
            torch.backends.cudnn.allow_tf32 = on
            return 'allow_tf32=%s' % on


def time_ms(fn, iters, warmup, reps):
    """median over reps of the mean time of iters calls, in ms (CUDA events)"""
    for _ in range(warmup):
        fn()
    times = []
    if CPU_TEST:
        for _ in range(reps):
            t0 = time.perf_counter()
            for _ in range(iters):
                fn()
            times.append((time.perf_counter() - t0) * 1000 / iters)
        return statistics.median(times)
    torch.cuda.synchronize()
    for _ in range(reps):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iters):
            fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / iters)
    return statistics.median(times)


def result(name, ms):
    out('%s torch_%s %.4f' % ('CPU-SELFTEST' if CPU_TEST else 'RESULT', name, ms))


def check(name, ok, detail):
    global failed
    out('CHECK %s %s %s' % (name, 'ok' if ok else 'FAIL', detail))
    if not ok:
        failed = True


# ---- the seed training step --------------------------------------------------------------
class Seed(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(28, 128, 1, batch_first=True)
        self.fc = torch.nn.Linear(128, 10)

    def forward(self, x):
        h, _ = self.lstm(x)
        return self.fc(h[:, -1])


def seed_batches(n):
    g = torch.Generator(device='cpu').manual_seed(2)
    xs = torch.randn(n, 100, 28, 28, generator=g).to(DEV)
    ys = torch.randint(0, 10, (n, 100), generator=g).to(DEV)
    return xs, ys


def seed_benchmarks():
    out('INFO seed step: ' + set_tf32(False))
    torch.manual_seed(1)
    nb = 8
    xs, ys = seed_batches(nb)
    iters, warmup, reps = (20, 3, 3) if QUICK else (200, 20, 5)

    # eager
    model = Seed().to(DEV)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.empty_like(xs[0])
    y = torch.empty_like(ys[0])
    i = [0]

    def eager_step():
        k = i[0] % nb
        i[0] += 1
        x.copy_(xs[k])
        y.copy_(ys[k])
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    result('seed_step_eager', time_ms(eager_step, iters, warmup, reps))

    if CPU_TEST:
        out('SKIP torch_seed_step_graph: CPU self-test (no CUDA graphs)')
        return

    # captured whole: the pattern of PyTorch's "whole-network capture" (CUDA graphs notes):
    # warm up on a side stream, grads set to None before capture (backward then allocates them
    # from the graph's pool and each replay rewrites them), SGD's lr baked in as a constant
    try:
        gmodel = Seed().to(DEV)
        gopt = torch.optim.SGD(gmodel.parameters(), lr=0.1)
        sx = xs[0].clone()
        sy = ys[0].clone()
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):
                gopt.zero_grad(set_to_none=True)
                F.cross_entropy(gmodel(sx), sy).backward()
                gopt.step()
        torch.cuda.current_stream().wait_stream(s)
        graph = torch.cuda.CUDAGraph()
        gopt.zero_grad(set_to_none=True)
        with torch.cuda.graph(graph):
            sloss = F.cross_entropy(gmodel(sx), sy)
            sloss.backward()
            gopt.step()
        torch.cuda.synchronize()
    except Exception as e:
        out('SKIP torch_seed_step_graph: capture failed: %s' % str(e).splitlines()[0])
        check('torch_seed_graph_capture', False, str(e).splitlines()[0])
        return

    # correctness: an eager copy from the same weights, the same 5 batches (plain SGD keeps no
    # optimizer state, so the weights are the whole state)
    ref = Seed().to(DEV)
    ref.load_state_dict(gmodel.state_dict())
    ropt = torch.optim.SGD(ref.parameters(), lr=0.1)
    worst_loss = 0.0
    for k in range(5):
        sx.copy_(xs[k])
        sy.copy_(ys[k])
        graph.replay()
        ropt.zero_grad(set_to_none=True)
        rloss = F.cross_entropy(ref(xs[k]), ys[k])
        rloss.backward()
        ropt.step()
        worst_loss = max(worst_loss, abs(sloss.item() - rloss.item()))
    worst_w = max((a - b).abs().max().item() for a, b in zip(gmodel.parameters(), ref.parameters()))
    check('torch_seed_graph_matches_eager', worst_loss < 1e-4 and worst_w < 1e-4,
          '(5 steps: max |loss diff| %.3g, max |weight diff| %.3g)' % (worst_loss, worst_w))

    j = [0]

    def graph_step():
        k = j[0] % nb
        j[0] += 1
        sx.copy_(xs[k])
        sy.copy_(ys[k])
        graph.replay()

    result('seed_step_graph', time_ms(graph_step, iters, warmup, reps))
    del graph


# ---- nn.LSTM 1024 -> 1024, T=100, B=128: forward + backward ------------------------------
def lstm1024_benchmarks():
    T, B, I, H = (100, 128, 1024, 1024)
    iters, warmup, reps = (2, 1, 2) if QUICK else (10, 3, 5)
    torch.manual_seed(3)
    lstm = torch.nn.LSTM(I, H, 1).to(DEV)
    x = torch.randn(T, B, I, device=DEV, requires_grad=True)
    gy = torch.randn(T, B, H, device=DEV)

    def step():
        x.grad = None
        for p in lstm.parameters():
            p.grad = None
        y, _ = lstm(x)
        y.backward(gy)

    flops = 3 * 2 * T * B * (I + H) * 4 * H   # forward GEMMs, and twice that backward
    for name, tf32 in (('lstm1024_fwdbwd_fp32', False), ('lstm1024_fwdbwd_tf32', True)):
        out('INFO %s: %s' % (name, set_tf32(tf32)))
        ms = time_ms(step, iters, warmup, reps)
        out('INFO %s: %.1f TFLOP/s in the GEMMs' % (name, flops / (ms * 1e-3) / 1e12))
        result(name, ms)
    set_tf32(False)


# ---- nn.GRU, bidirectional nn.LSTM, nn.LSTM with lengths, 1024 -> 1024 ----------------------
def recurrent_benchmarks():
    T, B, I, H = (100, 128, 1024, 1024)
    iters, warmup, reps = (2, 1, 2) if QUICK else (10, 3, 5)
    set_tf32(False)
    lengths = torch.tensor([max(1, T - (37 * b) % (T * 3 // 5)) for b in range(B)])
    for name, make, d, lens in (
            ('gru1024_fwdbwd_fp32', lambda: torch.nn.GRU(I, H, 1), 1, None),
            ('bilstm1024_fwdbwd_fp32', lambda: torch.nn.LSTM(I, H, 1, bidirectional=True), 2,
             None),
            ('lstm1024_lengths_fwdbwd_fp32', lambda: torch.nn.LSTM(I, H, 1), 1, lengths)):
        torch.manual_seed(3)
        rnn = make().to(DEV)
        x = torch.randn(T, B, I, device=DEV, requires_grad=True)
        gy = torch.randn(T, B, d * H, device=DEV)

        def step():
            x.grad = None
            for p in rnn.parameters():
                p.grad = None
            if lens is None:
                y, _ = rnn(x)
            else:
                packed = torch.nn.utils.rnn.pack_padded_sequence(x, lens, enforce_sorted=False)
                yp, _ = rnn(packed)
                y, _ = torch.nn.utils.rnn.pad_packed_sequence(yp, total_length=T)
            y.backward(gy)

        result(name, time_ms(step, iters, warmup, reps))


def main():
    if CPU_TEST:
        out('INFO torch %s on the CPU: a self-test of this script, not a benchmark' % torch.__version__)
    else:
        p = torch.cuda.get_device_properties(0)
        out('INFO torch %s, CUDA %s, cuDNN %s, %s (%d SMs)' % (
            torch.__version__, torch.version.cuda, torch.backends.cudnn.version(), p.name,
            p.multi_processor_count))
    global failed
    t0 = time.time()
    for fn in (seed_benchmarks, lstm1024_benchmarks, recurrent_benchmarks):
        try:
            fn()
        except Exception as e:
            failed = True
            out('SKIP %s: %s: %s' % (fn.__name__, type(e).__name__, str(e).splitlines()[0]))
    out('INFO PyTorch benchmarks took %.1f s' % (time.time() - t0))
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
