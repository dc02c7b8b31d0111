#!/usr/bin/env python3
"""Matrix-product benchmark: numpy float32 (BLAS) against the C library's
float, int16 and int8 kernels on every kernel this CPU has, at batch 1
(streaming, one frame) and batched (whole utterances), on the layer shapes
of an acoustic model.

Everything is measured in one run on the same shapes and printed as GMAC/s
and as a ratio to numpy float32, next to the instruction-throughput peak of
the path at the CPU's clock, so one can see how close each kernel gets.

    python -m tools.bench_kernels                      # the bundled int8 model's layers
    python -m tools.bench_kernels --model m.asrm --batch 1,32 --seconds 0.3 --rounds 5

The C kernels are timed inside C (asr_bench_gemm) on weights packed once,
so a few-microsecond product is not hidden under Python's call overhead;
numpy is timed from Python, which is what a numpy user pays. Every time is
the fastest of blocks of >= 2 ms repeated for --seconds, and of --rounds
interleaved rounds: on a shared VM the slower blocks measure the neighbours.
GMAC/s are over all products of one forward pass (every layer of the model,
each with its own weights in the int8model rows).
"""
import argparse
import os
import sys
import time

import numpy as np


from asr import _native  # noqa: E402
from asr._native import ffi, lib  # noqa: E402

# Multiply-accumulates per cycle per core of the multiply instruction each
# kernel is built on (pmaddubsw/vpdpbusd for int8, pmaddwd/vpdpwssd for
# int16, mulps+addps or FMA for float), at two such instructions per cycle
# (Haswell and later; Xeons with two 512-bit units; Cortex-A76-class NEON).
# It is the raw instruction peak: an exact int8 product on SSE/AVX2 also
# needs a pmaddwd per pmaddubsw to widen the int16 pair sums (on the same
# multiply ports on Intel and on Zen 3, which caps those kernels at half
# this peak) and, with 8-bit weights, a psignb; the int16 kernels spend a
# second multiply on their exact int64 sums. The clock is measured
# (asr_bench_clock_ghz: dependent adds), not /proc/cpuinfo's, which in a VM
# is the nominal clock that a core in turbo exceeds; --ghz overrides it.
PEAK_MAC_PER_CYCLE = {
    ("sse41", "int8"): 32, ("sse41", "int16"): 16, ("sse41", "float"): 8,
    ("avx2", "int8"): 64, ("avx2", "int16"): 32, ("avx2", "float"): 16,
    ("avx512vnni", "int8"): 128, ("avx512vnni", "int16"): 64, ("avx512vnni", "float"): 32,
    ("neon", "int8"): 16, ("neon", "int16"): 16, ("neon", "float"): 8,
    ("neondot", "int8"): 64, ("neondot", "int16"): 16, ("neondot", "float"): 8,
}
# Row label -> (asr dtype, largest |int8 weight|). "int8w7" is int8 with
# 7-bit weights (|w| <= 63), which SSE4.1/AVX2 run without the sign step;
# "int8model" the weights of the bundled int8 model (7-bit, trained: on
# SSE4.1/AVX2 most of their k-group pairs share one widening, which
# uniform random weights rarely allow; kernels_x86.inc).
DTYPES = {"float": (0, 127), "int16": (1, 127), "int8": (2, 127), "int8w7": (2, 63), "int8model": (2, None)}
BUNDLED_INT8 = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models",
                            "en-us-int8.asrm")

# (rows, cols): one product of each shape of the bundled TDNN (336 units, 40
# mel bands, 40 labels; first layer 5 x 40 in, hidden 3 x 336 in, output),
# used when the bundled model file is missing; otherwise every layer of the
# model counts, as one forward pass runs them.
DEFAULT_SHAPES = [(336, 200), (336, 1008), (40, 336)]


def cpu_info():
    """CPU model name and clock (GHz) from /proc/cpuinfo, when Linux has it."""
    name, mhz = "unknown CPU", None
    try:
        for line in open("/proc/cpuinfo"):
            key, _, val = line.partition(":")
            key = key.strip()
            if key in ("model name", "Hardware") and name == "unknown CPU":
                name = val.strip()
            elif key == "cpu MHz" and mhz is None:
                mhz = float(val)
    except OSError:
        pass
    return name, (mhz / 1000.0 if mhz else None)


def time_numpy(rows, cols, batch, seconds):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((rows, cols)).astype(np.float32)
    x = rng.standard_normal((batch, cols)).astype(np.float32)
    wt = np.ascontiguousarray(w.T)
    out = np.empty((batch, rows), np.float32)
    np.matmul(x, wt, out=out)
    best, start = None, time.perf_counter()
    while best is None or time.perf_counter() - start < seconds:
        n, t0 = 0, time.perf_counter()
        while True:                 # blocks of >= 2 ms; the fastest counts, as in C
            np.matmul(x, wt, out=out)
            n += 1
            t = time.perf_counter() - t0
            if t >= 2e-3 and n >= 2:
                break
        best = t / n if best is None else min(best, t / n)
    return best


def model_layers(path):
    """[(rows, cols, int8 weight matrix or None)] of every layer of a model,
    in order: the products one forward pass makes per frame."""
    from asr.model import Model
    out = []
    for layer in Model.load(path).layers:
        w = np.ascontiguousarray(layer.weight.reshape(layer.out_dim, -1))
        out.append((w.shape[0], w.shape[1], w if w.dtype == np.int8 else None))
    return out


def time_c(path, dtype, rows, cols, batch, seconds, weights=None):
    st = _native.new_status()
    out = ffi.new("double *")
    code, wmax = DTYPES[dtype]
    if wmax is None:
        _native.check(lib.asr_bench_gemm_weights(_native.kernel_id(path), code, ffi.from_buffer(weights), rows,
                                                 cols, batch, seconds, out, st), st)
    else:
        _native.check(lib.asr_bench_gemm(_native.kernel_id(path), code, rows, cols, batch, wmax,
                                         seconds, out, st), st)
    return out[0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--model", help="time the products of this .asrm file's layers (default: the bundled "
                    "int8 model; an int8 model's own weights give the int8model rows)")
    ap.add_argument("--batch", default="1,32", help="comma-separated frame counts")
    ap.add_argument("--seconds", type=float, default=0.25, help="minimum time per measurement")
    ap.add_argument("--rounds", type=int, default=3,
                    help="measure everything this many times, interleaved, and keep the fastest")
    ap.add_argument("--ghz", type=float, help="clock for the peak column (default: measured)")
    args = ap.parse_args(argv)

    source = args.model or BUNDLED_INT8
    if os.path.exists(source):
        layers = model_layers(source)
    else:
        layers = [(r, c, None) for r, c in DEFAULT_SHAPES]
    shapes = [(r, c) for r, c, _ in layers]
    trained = all(w is not None for _, _, w in layers)
    dtypes = [d for d in DTYPES if DTYPES[d][1] is not None or trained]
    batches = [int(b) for b in args.batch.split(",")]
    name, nominal = cpu_info()
    paths = _native.available_kernels()
    macs_per_frame = sum(r * c for r, c in shapes)
    clocks = [lib.asr_bench_clock_ghz()]
    # Seconds of one product: numpy per (batch, shape), C per (batch, path,
    # dtype, layer); the fastest of --rounds interleaved rounds, so a noisy
    # phase of a shared machine hits every row alike and is then discarded.
    # Random weights depend on the shape only, so equal shapes are timed once.
    best = {}

    def keep(key, t):
        best[key] = min(t, best.get(key, t))

    for _ in range(args.rounds):
        for batch in batches:
            for shape in sorted(set(shapes)):
                keep(("numpy", batch, shape), time_numpy(shape[0], shape[1], batch, args.seconds))
            for path in paths:
                for dtype in dtypes:
                    if DTYPES[dtype][1] is not None:
                        for r, c in sorted(set(shapes)):
                            keep((path, dtype, batch, (r, c)), time_c(path, dtype, r, c, batch, args.seconds))
                    else:
                        for i, (r, c, w) in enumerate(layers):
                            keep((path, dtype, batch, i), time_c(path, dtype, r, c, batch, args.seconds, w))
    results = []                        # (batch, numpy GMAC/s, [(path, dtype, GMAC/s)])
    for batch in batches:
        macs = macs_per_frame * batch / 1e9
        t_np = sum(best[("numpy", batch, s)] for s in shapes)
        rows = []
        for path in paths:
            for dtype in dtypes:
                if DTYPES[dtype][1] is not None:
                    t = sum(best[(path, dtype, batch, s)] for s in shapes)
                else:
                    t = sum(best[(path, dtype, batch, i)] for i in range(len(layers)))
                rows.append((path, dtype, macs / t))
        results.append((batch, macs / t_np, rows))
    # The clock before and after the kernels, the higher one: a neighbour
    # on a shared machine can only make the add chain look slower.
    clocks.append(lib.asr_bench_clock_ghz())
    measured = max(clocks) or None
    ghz = args.ghz or measured or nominal
    print("CPU: %s, nominal %s, measured %s, peak column at %s; kernels: %s; "
          "numpy BLAS threads as configured"
          % (name, "%.2f GHz" % nominal if nominal else "unknown",
             "%.2f GHz" % measured if measured else "n/a",
             "%.2f GHz" % ghz if ghz else "clock unknown", ", ".join(paths)))
    print("products per frame (rows x cols), %s: %s"
          % (os.path.basename(source) if os.path.exists(source) else "default shapes",
             ", ".join("%dx%d" % s for s in shapes)))
    for batch, base, rows in results:
        print("\nbatch %d frame%s" % (batch, "s" if batch > 1 else ""))
        print("  %-11s %-9s %9s %9s %9s %8s" % ("path", "type", "GMAC/s", "x numpy", "peak", "of peak"))
        print("  %-11s %-9s %9.2f %9.2f %9s %8s" % ("numpy", "float", base, 1.0, "-", "-"))
        for path, dtype, g in rows:
            mpc = PEAK_MAC_PER_CYCLE.get((path, "int8" if dtype.startswith("int8") else dtype))
            peak = mpc * ghz if mpc and ghz else None
            print("  %-11s %-9s %9.2f %9.2f %9s %8s" % (
                path, dtype, g, g / base, "%.1f" % peak if peak else "-",
                "%.0f%%" % (100 * g / peak) if peak else "-"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
