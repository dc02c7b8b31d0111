"""The recognizer on ARM from an x86 machine: cross-compiled, run under
qemu-user, checked against this machine, counted per stage, and costed.

``asr-rtf --platform armv7|aarch64`` on an x86 host uses this module
(:func:`run_pipeline`):

1. ``make -C native pipeline-armv7`` (or ``pipeline-aarch64``) cross-
   compiles the C library with native/tests/pipeline_driver.c into a
   static binary. The driver loads the recognizer from the model, lexicon
   and LM files (asr_recognizer_load) and feeds each WAV file (asr_wav_read)
   in 0.1 s chunks, as native/examples/asr_decode.c does;
2. it runs under qemu-arm / qemu-aarch64 four times, stopping after a stage
   each time: load only; + the recognizer's frontend; + its network; the
   whole recognizer stream (features, network, endpointing, search);
3. the transcripts (texts, word times, confidences) of the last run and the
   log-probabilities of the third are compared bit for bit with this
   machine's: asr.Recognizer and asr.network through the Python binding,
   and the driver built for this machine;
4. a qemu plugin (native/tests/qemu_insn_count.c) counts the guest
   instructions of each run; a stage's instructions are the difference of
   two consecutive runs. The counts are exact counts of architectural
   instructions, reproducible run to run;
5. each stage is costed on a named reference core: the network by its
   multiply-accumulates (below), features and search by their counted
   instructions at an assumed number of instructions per cycle (below);
   the total is the sum;
6. the device fit: flash = model + lexicon + LM file sizes + the library's
   code (text + data of its objects for the platform, from ``size``), and
   the heap the driver counts (native/tests/heap_count.c): live after
   load, peak while loading (with and without the files the loaders map
   while reading them), and the most a stream adds while decoding.

Emulated wall time is meaningless (qemu translates ARM code into x86 code
and runs it at whatever speed this machine has), so it is never reported.

:func:`run_cross` runs the acoustic model alone from a job file
(native/tests/net_driver.c), on any model and features: the tests use it
to check every ARM kernel bit for bit on random models.

Cost model
----------
MACs of a layer = output frames x out_dim x kernel x in_dim, with output
frames counted exactly as the network computes them (input padding,
kernel span, stride). Everything else the network does per frame (input
normalization and quantization, im2col copies of dilated layers,
requantization, log-softmax) is O(out_dim) or O(kernel x in_dim) per frame
against O(out_dim x kernel x in_dim) MACs, under 1 % for the bundled model,
and is left out.

Cycles = MACs / (peak MACs per cycle x EFFICIENCY). The peak is that of
this project's own inner loop (native/src/kernels_neon.c) on the reference
core, counted from its instruction sequence with two assumptions about the
SIMD unit, stated per core; it is not a datasheet figure:

- Cortex-A7 (armv7 NEON): a 64-bit NEON datapath, so an operation with a
  128-bit (q) result occupies it for 2 cycles and a 64-bit (d) one for 1;
  NEON operations do not dual-issue with each other; integer loads do.

  int8 (tile 4 frames x 1 block of 4 rows, 4 k per step): per frame
  vmull.s8 + vmlal.s8 + vpadal.s16 (3 q results, 6 cycles, 16 MACs) and
  the broadcast of its 4 input bytes (3 d operations, 3 cycles); per step
  one vld1 q of weights (2 cycles): 64 MACs / (4 x 9 + 2) = 64/38 = 1.68.

  int16 (2 frames x 1 block, 4 k per step): per frame 2 vmull.s16,
  2 vmlal.s16, 2 vpadal.s32 (6 q, 12 cycles, 16 MACs) and 2 d broadcasts;
  per step 2 q weight loads (4 cycles): 32 / (2 x 14 + 4) = 1.0.

  float (4 frames x 1 block, per k): 4 vmla.f32 q by lane (8 cycles,
  16 MACs), one q weight load (2 cycles), and a q input load per frame
  every 4 k (2 cycles per k): 16 / 12 = 1.33.

- Cortex-A53 and Cortex-A55 (aarch64 Advanced SIMD): two 64-bit halves
  that together issue one 128-bit operation per cycle; loads issue
  alongside and are not counted; broadcasts from a general register count
  one cycle.

  int8 on A53, plain NEON (4 frames x 2 blocks, 4 k per step): per frame
  and block smull + smlal2 + sadalp (3 cycles, 16 MACs), per frame 3
  broadcasts: 128 / (4 x (3 + 2 x 3)) = 128/36 = 3.56.

  int8 on A55 with sdot (4 frames x 2 blocks): per frame and block one
  sdot (1 cycle, 16 MACs), per frame one dup: 128 / (4 x (1 + 2)) = 10.7.

  int16 (3 frames x 2 blocks): per frame and block 2 smull, 2 smlal,
  2 sadalp (6 cycles, 16 MACs), per frame 2 dups: 96 / (3 x 14) = 2.29.

  float (4 frames x 3 blocks, per k): 12 fmla by element (12 cycles,
  48 MACs), input loads uncounted: 48 / 12 = 4.0.

EFFICIENCY = 0.6 is the fraction of that peak assumed to survive what the
count leaves out: loop and pointer arithmetic, partial tiles, stalls on
weights streamed from L2 / DRAM (int8 layers of the bundled model are 0.34
MB each, above the A7's and A53's typical L1 and near their L2) and the
result latencies of in-order cores. It is an assumption, not a calibrated
figure; the measured instruction count per MAC printed beside the estimate
shows how much work beside the MACs the code really executes. On a real
board, ``asr-rtf --platform armv7`` measures instead.

Features and search are not MAC-bound: the frontend is scalar double-
precision arithmetic (pre-emphasis, window, FFT, filterbank, log) and the
search is branchy integer code (beam pruning, trie walks, LM hash look-
ups). Their cycles are their counted instructions divided by an assumed
instructions per cycle (IPC) of the core on such code:

- Cortex-A7: features 0.5, search 0.6. An in-order core whose dual issue
  pairs only a few simple integer instructions; its VFPv4 unit issues at
  most one floating-point operation per cycle with multi-cycle result
  latencies that in-order issue cannot hide, so the frontend's FFT and
  filterbank stall on dependent operations; the search loses cycles to
  branch mispredictions and to LM tables (MBs) far above its L2
  (typically 256 to 512 KB).
- Cortex-A53: features 0.7, search 0.8; Cortex-A55: features 0.8,
  search 0.9. Fuller dual issue (two integer ALUs, a pipelined double-
  precision FPU), better branch prediction on the A55.

These are assumptions, not calibrated figures: they are set at or below
what in-order dual-issue cores are commonly reported to sustain on
scalar code (0.5 to 1.0), and at the level the network's own counted
instructions over its estimated cycles come to (0.5 to 0.65 on the A7).
Both stages are small beside the network on the bundled model, so even a
twofold error in them moves the total little; the per-stage instruction
counts per second of audio printed beside let a reader apply another IPC.
"""
import hashlib
import os
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass

import numpy as np

from .errors import CrossError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The C sources: the checkout's native/, or the copy an installed package
# carries in asr/native (setup.py puts it there).
CHECKOUT = os.path.isdir(os.path.join(ROOT, "native", "src"))
NATIVE = os.path.join(ROOT, "native") if CHECKOUT else \
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "native")

JOB_VERSION = 1
EFFICIENCY = 0.6
BUILD_TIMEOUT_S = 600
RUN_TIMEOUT_S = 1800


@dataclass(frozen=True)
class Target:
    """An ARM platform: its cross compiler, emulator and Debian packages."""
    name: str
    cc: str
    cc_package: str
    qemu: str


TARGETS = {
    "armv7": Target("armv7", "arm-linux-gnueabihf-gcc", "gcc-arm-linux-gnueabihf", "qemu-arm"),
    "aarch64": Target("aarch64", "aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu", "qemu-aarch64"),
}


@dataclass(frozen=True)
class ReferenceCore:
    """A core the estimate is made for. ``macs_per_cycle`` is the peak of
    this project's inner loop per precision (module docstring);
    ``qemu_cpu`` is the emulated CPU whose features select ``kernel``;
    ``ipc`` the instructions per cycle assumed for the stages that are not
    MAC-bound ("features", "search"; module docstring)."""
    name: str
    arch: str
    clock_hz: float
    kernel: str
    qemu_cpu: str
    macs_per_cycle: dict
    ipc: dict

    @property
    def label(self):
        return "%s @ %.1f GHz" % (self.name, self.clock_hz / 1e9)


CORES = {
    "cortex-a7": ReferenceCore("Cortex-A7", "armv7", 1.2e9, "neon", "cortex-a7",
                               {"int8": 64 / 38, "int16": 32 / 32, "float": 16 / 12},
                               {"features": 0.5, "search": 0.6}),
    "cortex-a53": ReferenceCore("Cortex-A53", "aarch64", 1.4e9, "neon", "cortex-a53",
                                {"int8": 128 / 36, "int16": 96 / 42, "float": 48 / 12},
                                {"features": 0.7, "search": 0.8}),
    # qemu 7.2 has no cortex-a55 model; "max" has sdot (which is all the
    # kernel dispatch looks at), so it stands in for the A55 here.
    "cortex-a55": ReferenceCore("Cortex-A55", "aarch64", 1.8e9, "neondot", "max",
                                {"int8": 128 / 12, "int16": 96 / 42, "float": 48 / 12},
                                {"features": 0.8, "search": 0.9}),
}
# The cores reported for each platform, in order.
PLATFORM_CORES = {"armv7": ("cortex-a7",), "aarch64": ("cortex-a53", "cortex-a55")}


# ------------------------------------------------------------ cost model

def layer_frames(model, n_frames):
    """Output frames of each layer for one utterance of n_frames feature
    frames (the network pads the input with pad_left + pad_right frames)."""
    n = model.pad_left + n_frames + model.pad_right
    out = []
    for layer in model.layers:
        n = 0 if n < layer.span else (n - layer.span) // layer.stride + 1
        out.append(n)
    return out


def layer_macs(model, utterance_frames):
    """Multiply-accumulates of each layer over utterances of the given
    feature frame counts."""
    macs = [0] * len(model.layers)
    for n in utterance_frames:
        for i, (layer, t) in enumerate(zip(model.layers, layer_frames(model, n))):
            macs[i] += t * layer.out_dim * layer.kernel * layer.in_dim
    return macs


def estimate(macs, precision, core, efficiency=EFFICIENCY):
    """Cycles and seconds of `macs` multiply-accumulates at `precision` on
    a ReferenceCore (or its key in CORES), by the cost model."""
    core = CORES[core] if isinstance(core, str) else core
    cycles = macs / (core.macs_per_cycle[precision] * efficiency)
    return {"cycles": cycles, "seconds": cycles / core.clock_hz}


def estimate_insns(instructions, stage, core):
    """Cycles and seconds of a non-MAC-bound stage ("features" or "search")
    that executed `instructions` ARM instructions, on a ReferenceCore (or
    its key in CORES), at the stage's assumed instructions per cycle."""
    core = CORES[core] if isinstance(core, str) else core
    cycles = instructions / core.ipc[stage]
    return {"cycles": cycles, "seconds": cycles / core.clock_hz}


# ------------------------------------------------------------ job files

_DTYPE = {"float": 0, "int16": 1, "int8": 2}
_ACT = {"none": 0, "relu": 1, "logsoftmax": 2}
_NP = {"float": "<f4", "int16": "<i2", "int8": "i1"}


def kernel_id(kernel):
    """The asr_kernel number of a kernel name, for the job ('auto' is -1):
    the driver passes it to asr_net_create as it is."""
    from . import _native
    if kernel not in _native.KERNEL_IDS:
        raise CrossError("unknown kernel %r; known: %s" % (kernel, ", ".join(_native.KERNEL_IDS)))
    return _native.KERNEL_IDS[kernel]


def write_job(path, model, feats, kernel="auto", chunk=0):
    """Write the job file of native/tests/net_driver.c: the model's network
    description and utterances of raw features (each frames x num_filters),
    fed `chunk` frames per call (0: whole utterances)."""
    parts = [b"ASRJ", struct.pack("<IiIIIIIfi", JOB_VERSION, kernel_id(kernel), chunk,
                                  model.features.num_filters, model.pad_left, model.pad_right,
                                  len(model.layers), float(model.in_scale), int(model.in_zero))]
    parts += [np.asarray(model.mean, "<f4").tobytes(), np.asarray(model.inv_std, "<f4").tobytes()]
    for L in model.layers:
        parts.append(struct.pack("<iiiIIIIIiiii", _DTYPE[L.dtype], _DTYPE[L.out_dtype], _ACT[L.act],
                                 L.in_dim, L.out_dim, L.kernel, L.dilation, L.stride,
                                 int(L.w_zero), int(L.out_zero), int(L.out_lo), int(L.out_hi)))
        parts.append(np.ascontiguousarray(L.weight, _NP[L.dtype]).tobytes())
        if L.dtype == "float":
            parts.append(np.asarray(L.bias, "<f4").tobytes())
        else:
            parts += [np.asarray(L.bias, "<i8").tobytes(), np.asarray(L.mult, "<i4").tobytes(),
                      np.asarray(L.shift, "<i4").tobytes()]
    parts.append(struct.pack("<I", len(feats)))
    for f in feats:
        f = np.ascontiguousarray(f, "<f4")
        if f.ndim != 2 or f.shape[1] != model.features.num_filters:
            raise CrossError("features must be frames x %d, got shape %s"
                             % (model.features.num_filters, f.shape))
        parts += [struct.pack("<I", f.shape[0]), f.tobytes()]
    with open(path, "wb") as fh:
        fh.write(b"".join(parts))


def read_output(path):
    """(kernel name, [log-probs per utterance, float32]) of a driver
    output file; raises CrossError when it is malformed."""
    with open(path, "rb") as fh:
        data = fh.read()
    if len(data) < 20 or data[:4] != b"ASRO":
        raise CrossError("%s: not a driver output file" % path)
    from ._native import KERNEL_NAMES
    version, kernel, n_labels, n_utts = struct.unpack_from("<IiII", data, 4)
    if version != JOB_VERSION or kernel not in KERNEL_NAMES or n_labels == 0:
        raise CrossError("%s: bad output header" % path)
    at, outs = 20, []
    for _ in range(n_utts):
        if at + 4 > len(data):
            raise CrossError("%s: truncated" % path)
        (n,) = struct.unpack_from("<I", data, at)
        at += 4
        size = n * n_labels * 4
        if at + size > len(data):
            raise CrossError("%s: truncated" % path)
        outs.append(np.frombuffer(data, "<f4", n * n_labels, at).reshape(n, n_labels).astype(np.float32))
        at += size
    if at != len(data):
        raise CrossError("%s: %d bytes after the last utterance" % (path, len(data) - at))
    return KERNEL_NAMES[kernel], outs


# ------------------------------------------------------- build and run

def build_dir():
    """Where the drivers are built: build/cross-drivers in the checkout
    when writable, else a directory under the system temp dir. make
    rebuilds a driver when a source or header changed."""
    d = os.path.join(ROOT, "build", "cross-drivers")
    try:
        if CHECKOUT:         # never beside an installed package (site-packages)
            os.makedirs(d, exist_ok=True)
            if os.access(d, os.W_OK):
                return d
    except OSError:
        pass
    # One directory per copy of the sources: make's timestamps only compare
    # a build with the sources it was made from.
    tag = hashlib.sha256(NATIVE.encode("utf-8")).hexdigest()[:12]
    d = os.path.join(tempfile.gettempdir(), "asr-cross-drivers-" + tag)
    os.makedirs(d, exist_ok=True)
    return d


def check_tools(platform):
    """Raise CrossError naming the Debian packages when the cross compiler,
    qemu or make is missing."""
    if platform not in TARGETS:
        raise CrossError("unknown platform %r; known: %s" % (platform, ", ".join(TARGETS)))
    t = TARGETS[platform]
    missing = [(tool, pkg) for tool, pkg in ((t.cc, t.cc_package), (t.qemu, "qemu-user"),
                                             ("make", "make"), ("cc", "gcc"))
               if shutil.which(tool) is None]
    if missing:
        raise CrossError("--platform %s on this machine needs %s; on Debian/Ubuntu: "
                         "apt-get install %s" % (platform, ", ".join(m[0] for m in missing),
                                                 " ".join(sorted({m[1] for m in missing}))))
    if not os.path.exists(os.path.join(NATIVE, "tests", "net_driver.c")):
        raise CrossError("the C sources (%s) are missing: --platform %s needs a source checkout "
                         "or a package installed with them" % (NATIVE, platform))


def _make(target, out_dir, extra=()):
    proc = subprocess.run(["make", "-s", "-C", NATIVE, target, "BUILD=%s" % out_dir] + list(extra),
                          capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    if proc.returncode != 0:
        raise CrossError("make -C native %s failed:\n%s" % (target, (proc.stdout + proc.stderr)[-3000:]))


def build_driver(platform, out_dir=None):
    """Cross-compile the driver for `platform`; returns its path."""
    check_tools(platform)
    out_dir = out_dir or build_dir()
    _make("driver-" + platform, out_dir)
    return os.path.join(out_dir, "cross", "net_driver-" + platform)


def build_plugin(platform, driver, out_dir=None):
    """Build the instruction-count plugin for the installed qemu, or None
    when it cannot be loaded (a qemu without plugin support). The plugin
    API version qemu accepts depends on its release, so each candidate is
    tried on a trivial run."""
    out_dir = out_dir or build_dir()
    qemu = TARGETS[platform].qemu
    for version in (1, 2, 3, 4, 5):
        vdir = os.path.join(out_dir, "plugin-v%d" % version)
        try:
            _make("insn-plugin", vdir, ["QEMU_PLUGIN_VERSION=%d" % version])
        except CrossError:
            return None
        so = os.path.join(vdir, "cross", "qemu_insn_count.so")
        with tempfile.TemporaryDirectory() as tmp:
            log = os.path.join(tmp, "log")
            proc = subprocess.run([qemu, "-plugin", so, "-d", "plugin", "-D", log, driver, "kernels"],
                                  capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
            if proc.returncode == 0 and _read_count(log) is not None:
                return so
    return None


def _read_count(log):
    try:
        with open(log) as fh:
            for line in fh:
                if line.startswith("insns "):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def run_driver(platform, driver, args, cpu=None, plugin=None, env=None):
    """Run the driver under qemu; returns (stdout, instructions or None)."""
    cmd = [TARGETS[platform].qemu]
    if cpu:
        cmd += ["-cpu", cpu]
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "log")
        if plugin:
            cmd += ["-plugin", plugin, "-d", "plugin", "-D", log]
        proc = subprocess.run(cmd + [driver] + list(args), capture_output=True, text=True,
                              timeout=RUN_TIMEOUT_S, env=env)
        if proc.returncode != 0:
            raise CrossError("%s %s failed (exit %d): %s" % (os.path.basename(cmd[0]), " ".join(args),
                                                            proc.returncode, proc.stderr.strip()))
        return proc.stdout, _read_count(log) if plugin else None


# ------------------------------------------------------------ the check

def host_logprobs(model, feats, kernel="auto"):
    """Log-probabilities of each utterance on this machine (asr.network)."""
    from .network import Network
    net = Network(model, kernel=kernel)
    return [net.forward(f) for f in feats], net.kernel


def compare(arm, host):
    """{bit_identical, max_abs_diff} of two lists of arrays: float32
    log-probabilities or features compared bit for bit, integer frames
    value for value."""
    same, diff = len(arm) == len(host), 0.0
    for a, b in zip(arm, host):
        if a.shape != b.shape or a.dtype != b.dtype:
            return {"bit_identical": False, "max_abs_diff": None}
        bits = (lambda x: x.view(np.uint32)) if a.dtype == np.float32 else (lambda x: x)
        same = same and bool(np.array_equal(bits(a), bits(b)))
        if a.size:
            diff = max(diff, float(np.max(np.abs(a.astype(np.float64) - b))))
    return {"bit_identical": same, "max_abs_diff": diff}


def run_cross(platform, model, feats, kernel="auto", count=True, chunk=0, out_dir=None):
    """The acoustic model `model` on `feats` (a list of raw feature arrays)
    for `platform`, once per reference core of the platform (each emulated
    CPU selects its kernel). Returns a list of per-core dicts:
    core, kernel, bit_identical, max_abs_diff, macs, instructions (of the
    forward pass; None without a plugin), and the cost-model estimate
    (est_cycles, est_seconds, for the core's own kernel est_kernel)."""
    driver = build_driver(platform, out_dir)
    plugin = build_plugin(platform, driver, out_dir) if count else None
    host, host_kernel = host_logprobs(model, feats)
    frames = [int(f.shape[0]) for f in feats]
    macs = sum(layer_macs(model, frames))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        job, out = os.path.join(tmp, "job"), os.path.join(tmp, "out")
        write_job(job, model, feats, kernel=kernel, chunk=chunk)
        for key in PLATFORM_CORES[platform]:
            core = CORES[key]
            _, total = run_driver(platform, driver, ["run", job, out], core.qemu_cpu, plugin)
            path, arm = read_output(out)
            insns = None
            if plugin:
                _, setup = run_driver(platform, driver, ["load", job], core.qemu_cpu, plugin)
                insns = total - setup
            est = estimate(macs, model.precision, core)
            r = {"core": core.name, "clock_ghz": core.clock_hz / 1e9, "qemu_cpu": core.qemu_cpu,
                 "kernel": path, "est_kernel": core.kernel,
                 "host_kernel": host_kernel, "macs": macs, "instructions": insns,
                 "est_cycles": est["cycles"], "est_seconds": est["seconds"]}
            r.update(compare(arm, host))
            results.append(r)
    return results


# ------------------------------------------------------- the whole pipeline

# The driver's stages, in order: each run does what the previous one did
# and one stage more, so the instructions of a stage are the difference of
# two runs (native/tests/pipeline_driver.c).
DRIVER_STAGES = ("load", "features", "network", "all")
# The pipeline's stages as reported: run "features" minus "load", "network"
# minus "features", "all" minus "network" (search, endpointing, results).
STAGES = ("features", "network", "search")


def build_pipeline(platform, out_dir=None):
    """Build the pipeline driver for `platform` ("native": this machine);
    returns its path."""
    out_dir = out_dir or build_dir()
    if platform == "native":
        _make("pipeline-native", out_dir)
        return os.path.join(out_dir, "native", "pipeline_driver")
    check_tools(platform)
    _make("pipeline-" + platform, out_dir)
    return os.path.join(out_dir, "cross", "pipeline_driver-" + platform)


def code_size(platform, out_dir=None):
    """{text, data} bytes of the C library's objects compiled for
    `platform` (every native/src/*.c, as the drivers link them; the x86
    kernel files compile to near-empty tables there), from the cross
    binutils' `size`. text + data is what the library puts in flash."""
    check_tools(platform)
    out_dir = out_dir or build_dir()
    _make("lib-" + platform, out_dir)
    obj_dir = os.path.join(out_dir, "cross", "obj-" + platform)
    objs = sorted(os.path.join(obj_dir, f) for f in os.listdir(obj_dir) if f.endswith(".o"))
    tool = TARGETS[platform].cc[:-len("gcc")] + "size"
    if shutil.which(tool) is None:
        raise CrossError("%s is missing (binutils of the cross compiler)" % tool)
    proc = subprocess.run([tool, "-t"] + objs, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    if proc.returncode != 0:
        raise CrossError("%s failed: %s" % (tool, proc.stderr.strip()))
    total = proc.stdout.strip().splitlines()[-1].split()     # text data bss dec hex (TOTALS)
    return {"text": int(total[0]), "data": int(total[1])}


def pipeline_args(stage, model, lexicon, lm, wavs, kernel="auto", dump=None, frontend="auto"):
    """The driver's command line (after its path)."""
    args = [stage, "--kernel", kernel, "--frontend", frontend]
    if lm:
        args += ["--lm", lm]
    if dump:
        args += ["--dump", dump]
    return args + [model, lexicon] + list(wavs)


def parse_pipeline(text):
    """The driver's stdout as a dict: kernel, frontend (mode, frame type),
    load {live, heap_peak,
    mapped_peak}, files [{path, samples, rate, feature_frames, out_frames,
    labels, finals [(start, end, text)], words [(word, start, end, conf)],
    decode_peak}]. Raises CrossError on a line it does not know."""
    out = {"kernel": None, "frontend": ("float", "float32"), "load": None, "files": []}
    f = None
    for line in text.splitlines():
        p = line.split("\t")
        try:
            if p[0] == "kernel":
                out["kernel"] = p[1]
            elif p[0] == "frontend":
                out["frontend"] = (p[1], {"float32": "<f4", "int16": "<i2", "int8": "i1"}[p[2]])
            elif p[0] == "load":
                out["load"] = {"live": int(p[1]), "heap_peak": int(p[2]), "mapped_peak": int(p[3])}
            elif p[0] == "file":
                f = {"path": p[1], "samples": int(p[2]), "rate": int(p[3]), "feature_frames": None,
                     "out_frames": None, "labels": None, "finals": [], "words": [], "decode_peak": None}
                out["files"].append(f)
            elif p[0] == "frames":
                f["feature_frames"], f["out_frames"], f["labels"] = int(p[1]), int(p[2]), int(p[3])
            elif p[0] == "final":
                f["finals"].append((float(p[1]), float(p[2]), p[3]))
            elif p[0] == "word":
                f["words"].append((p[1], float(p[2]), float(p[3]), float(np.float32(p[4]))))
            elif p[0] == "decode":
                f["decode_peak"] = int(p[1])
            else:
                raise ValueError(line)
        except (IndexError, ValueError, TypeError):
            raise CrossError("unexpected pipeline driver output line: %r" % line) from None
    return out


def transcripts(parsed):
    """Per file: (finals, words), an empty final dropped unless it is the
    file's only one (as asr.Stream keeps its results)."""
    out = []
    for f in parsed["files"]:
        finals = [x for x in f["finals"] if x[2]] or f["finals"][-1:]
        out.append((finals, f["words"]))
    return out


def without_confidences(trans):
    """Transcripts with texts, spans and word times only."""
    return [(finals, [w[:3] for w in words]) for finals, words in trans]


def read_dump(path, rows, width, dtype="<f4"):
    """A --dump file split per file: rows[i] x width values of dtype
    (float32 unless said) for file i."""
    data = np.fromfile(path, dtype=dtype)
    outs, at = [], 0
    for n in rows:
        if at + n * width > data.size:
            raise CrossError("%s: truncated" % path)
        outs.append(data[at:at + n * width].reshape(n, width).astype(data.dtype.newbyteorder("=")))
        at += n * width
    if at != data.size:
        raise CrossError("%s: %d floats after the last file" % (path, data.size - at))
    return outs


def dumped(path, parsed, what, width=None):
    """The features (width values a frame) or log-probabilities a driver
    run dumped, per file."""
    if what == "features":
        return read_dump(path, [f["feature_frames"] for f in parsed["files"]], width,
                         parsed["frontend"][1])
    return read_dump(path, [f["out_frames"] for f in parsed["files"]], parsed["files"][0]["labels"]
                     if parsed["files"] else 0)


def read_wav_mono(path):
    """(samples float32, rate) as asr_wav_read gives them: channels averaged
    in double, then rounded to float."""
    import soundfile as sf
    data, rate = sf.read(path, dtype="float64", always_2d=True)
    return data.mean(axis=1).astype(np.float32), rate


def host_pipeline(model_path, lexicon, lm, wavs, kernel="auto", frontend="auto"):
    """This machine's reference through the Python API (the same C code):
    transcripts from asr.Recognizer streams (default endpointing, as
    asr_recognizer_load) and log-probabilities of asr.network over
    asr.features (the recognizer's frontend: float frames, or integer ones
    in the network's input type), per file. Returns (transcripts, features,
    logprobs, kernel)."""
    from .features import logmel
    from .stream import Recognizer
    rec = Recognizer(model=model_path, lexicon=lexicon, lm=lm if lm else False, kernel=kernel,
                     frontend=frontend)
    trans, feats, lps = [], [], []
    for path in wavs:
        x, rate = read_wav_mono(path)
        s = rec.stream(rate)
        s.accept(x)
        s.finish()
        finals = [(r.start, r.end, r.text) for r in s.results]
        words = [(w.word, w.start, w.end, float(np.float32(w.conf))) for r in s.results for w in r.words]
        trans.append((finals, words))
        feats.append(logmel(x, rec.model.features, rate, frontend=rec._fe))
        net = rec.network.stream()
        lps.append(net.forward_q(feats[-1], finish=True) if rec.frontend == "int"
                   else net.forward(feats[-1], finish=True))
    return trans, feats, lps, rec.network.kernel


def run_pipeline(platform, model_path, lexicon, lm, wavs, kernel="auto", count=True, out_dir=None,
                 frontend="auto"):
    """The whole recognizer (model, lexicon, LM or None) on the WAV files
    `wavs` for `platform`, once per reference core of the platform. Returns
    a dict: audio_seconds, macs, host_kernel, host_driver_identical (the
    driver built for this machine against the Python API), flash {model,
    lexicon, lm, code_text, code_data, total} bytes, and cores: one dict per
    core with core, clock_ghz, qemu_cpu, kernel, est_kernel,
    transcripts_identical (texts, spans, word times and confidences),
    texts_identical (the same without confidences), features_identical
    and features_max_abs_diff, bit_identical and max_abs_diff
    (log-probabilities),
    instructions {load, features, network, search} (None without a qemu
    plugin; run_instructions: the totals of the driver's runs, by
    DRIVER_STAGES), memory {live_after_load, load_heap_peak, load_mapped_peak,
    decode_peak, peak} bytes, and est_seconds {features, network, search,
    total} of the cost model (features and search None without counts)."""
    from .model import Model
    model = Model.load(model_path)
    wavs = [os.path.abspath(w) for w in wavs]
    driver = build_pipeline(platform, out_dir)
    plugin = build_plugin(platform, driver, out_dir) if count else None
    host_trans, host_feats, host_lp, host_kernel = host_pipeline(model_path, lexicon, lm, wavs,
                                                                 frontend=frontend)
    paths = [os.path.abspath(p) for p in (model_path, lexicon)]
    lm = os.path.abspath(lm) if lm else None
    code = code_size(platform, out_dir)
    flash = {"model": os.path.getsize(model_path), "lexicon": os.path.getsize(lexicon),
             "lm": os.path.getsize(lm) if lm else 0, "code_text": code["text"], "code_data": code["data"]}
    flash["total"] = sum(flash.values())
    with tempfile.TemporaryDirectory() as tmp:
        lp_path, feat_path = os.path.join(tmp, "logprobs"), os.path.join(tmp, "features")
        # This machine's build of the driver, against the Python API.
        native = build_pipeline("native", out_dir)

        def run_native(stage, dump=None):
            proc = subprocess.run([native] + pipeline_args(stage, *paths, lm, wavs, kernel, dump, frontend),
                                  capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
            if proc.returncode != 0:
                raise CrossError("pipeline_driver %s failed: %s" % (stage, proc.stderr.strip()))
            return parse_pipeline(proc.stdout)

        net_run = run_native("network", lp_path)
        host_driver_identical = (compare(dumped(lp_path, net_run, "logprobs"), host_lp)["bit_identical"]
                                 and transcripts(run_native("all")) == host_trans)
        seconds = sum(f["samples"] / float(f["rate"]) for f in net_run["files"])
        macs = sum(layer_macs(model, [f["feature_frames"] for f in net_run["files"]]))
        cores = []
        for key in PLATFORM_CORES[platform]:
            core = CORES[key]
            runs, insns = {}, {}
            for stage in DRIVER_STAGES:
                args = pipeline_args(stage, *paths, lm, wavs, kernel,
                                     {"features": feat_path, "network": lp_path}.get(stage), frontend)
                text, insns[stage] = run_driver(platform, driver, args, core.qemu_cpu, plugin)
                runs[stage] = parse_pipeline(text)
            counted = plugin is not None
            stage_insns = {"load": insns["load"],
                           "features": insns["features"] - insns["load"],
                           "network": insns["network"] - insns["features"],
                           "search": insns["all"] - insns["network"]} if counted else None
            est = {"network": estimate(macs, model.precision, core)["seconds"]}
            for st in ("features", "search"):
                est[st] = estimate_insns(stage_insns[st], st, core)["seconds"] if counted else None
            est["total"] = sum(est[st] for st in STAGES) if counted else None
            load, files = runs["all"]["load"], runs["all"]["files"]
            decode = max(f["decode_peak"] for f in files)
            memory = {"live_after_load": load["live"], "load_heap_peak": load["heap_peak"],
                      "load_mapped_peak": load["mapped_peak"], "decode_peak": decode,
                      "peak": max(load["heap_peak"], load["live"] + decode)}
            r = {"core": core.name, "clock_ghz": core.clock_hz / 1e9, "qemu_cpu": core.qemu_cpu,
                 "kernel": runs["all"]["kernel"], "est_kernel": core.kernel,
                 "transcripts_identical": transcripts(runs["all"]) == host_trans,
                 "texts_identical": (without_confidences(transcripts(runs["all"]))
                                     == without_confidences(host_trans)),
                 "run_instructions": insns if counted else None,
                 "instructions": stage_insns, "memory": memory, "est_seconds": est}
            fc = compare(dumped(feat_path, runs["features"], "features", model.features.num_filters),
                         host_feats)
            r["features_identical"], r["features_max_abs_diff"] = fc["bit_identical"], fc["max_abs_diff"]
            r.update(compare(dumped(lp_path, runs["network"], "logprobs"), host_lp))
            cores.append(r)
    return {"audio_seconds": seconds, "macs": macs, "host_kernel": host_kernel,
            "host_driver_identical": host_driver_identical, "flash": flash, "cores": cores}
