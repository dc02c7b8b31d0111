"""The ARM kernels (armv7 NEON, aarch64 NEON and sdot), tested on this
machine: native/Makefile cross-compiles the library with the C driver
native/tests/kernel_check.c into static binaries, which run under qemu-user.

Two checks per architecture:
  - the driver's selftest: every available path against the reference over
    random shapes, odd sizes, misaligned pointers and input rows that end on
    an unreadable page (exact for the integer products);
  - the same requests on ARM and through this machine's own build
    (asr._native): integer results must be identical bit for bit, float
    results within 1e-5 of the exact sum relative to sum |w x|.

Skipped only when a cross compiler or a qemu binary is not installed."""
import os
import shutil
import struct
import subprocess

import numpy as np
import pytest

from asr._native import ffi, lib, new_status, check

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NATIVE = os.path.join(ROOT, "native")

ARCHES = {
    # name: (compiler, qemu, extra qemu arguments)
    "armv7": ("arm-linux-gnueabihf-gcc", "qemu-arm", []),
    # "max" has every feature qemu implements, sdot included, so the
    # neondot path is detected and tested, not just compiled.
    "aarch64": ("aarch64-linux-gnu-gcc", "qemu-aarch64", ["-cpu", "max"]),
}
# asr_dtype numbers of the request format (kernel_check.c).
DTYPES = {np.float32: (0, np.float32, "float *"), np.int16: (1, np.int64, "int16_t *"),
          np.int8: (2, np.int32, "int8_t *")}
GEMM = {np.float32: ("asr_gemm_f32", "float *"), np.int16: ("asr_gemm_s16s16s64", "int64_t *"),
        np.int8: ("asr_gemm_s8s8s32", "int32_t *")}
TIMEOUT = 120


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cross")


def binary(build_dir, arch):
    """Builds (once per module) and returns the driver for arch, skipping
    when the toolchain or emulator is not installed."""
    cc, qemu, _ = ARCHES[arch]
    for tool in (cc, qemu, "make"):
        if shutil.which(tool) is None:
            pytest.skip("%s is not installed (needed for the %s kernel test)" % (tool, arch))
    path = os.path.join(str(build_dir), "cross", "kernel_check-" + arch)
    if not os.path.exists(path):
        proc = subprocess.run(["make", "-s", "-C", NATIVE, "cross-" + arch, "BUILD=%s" % build_dir],
                              capture_output=True, text=True, timeout=TIMEOUT)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return path


def run_arm(build_dir, arch, args, cpu=None):
    _, qemu, extra = ARCHES[arch]
    if cpu is not None:
        extra = ["-cpu", cpu]
    cmd = [qemu] + extra + [binary(build_dir, arch)] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)


def kernels_of(build_dir, arch, cpu=None):
    proc = run_arm(build_dir, arch, ["kernels"], cpu)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


# ------------------------------------------------------------ selftest

def test_cross_build_of_both_targets(build_dir):
    """`make -C native cross BUILD=...` is the documented entry point."""
    for arch, (cc, qemu, _) in ARCHES.items():
        if shutil.which(cc) is None:
            pytest.skip("%s is not installed" % cc)
    proc = subprocess.run(["make", "-s", "-C", NATIVE, "cross", "BUILD=%s" % build_dir],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for arch in ARCHES:
        assert os.path.exists(os.path.join(str(build_dir), "cross", "kernel_check-" + arch))


@pytest.mark.parametrize("arch,cpu,expect", [
    ("armv7", None, ["ref", "neon"]),
    ("aarch64", "max", ["ref", "neon", "neondot"]),
    # A core without sdot: neondot must not be offered (HWCAP_ASIMDDP).
    ("aarch64", "cortex-a53", ["ref", "neon"]),
])
def test_selftest_every_path_matches_reference(build_dir, arch, cpu, expect):
    assert kernels_of(build_dir, arch, cpu) == expect
    proc = run_arm(build_dir, arch, ["selftest", "20240611", "300"], cpu)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for path in expect:
        line = [l for l in proc.stdout.splitlines() if l.split()[:1] == [path]]
        assert line and line[0].endswith("ok"), proc.stdout


# ------------------------------------------------------ ARM versus x86

def random_requests(rng, n):
    """n (dtype, rows, cols, batch, w, x) products: odd sizes, tails of every
    length, and every fifth one with the extreme values of its type."""
    reqs = []
    for i in range(n):
        dtype = (np.int8, np.int16, np.float32)[i % 3]
        rows = int(rng.integers(1, 71))
        cols = int(rng.choice([1, 2, 3, 4, 5, 7, 8, 9, 15, 17, 33, 64, 65, 127, 129,
                               int(rng.integers(1, 301)), int(rng.integers(1, 301))]))
        batch = int(rng.integers(1, 20))
        extreme = i % 5 == 4
        if dtype == np.int8:
            w = rng.integers(-127, 128, (rows, cols)).astype(np.int8)
            x = rng.integers(-128, 128, (batch, cols)).astype(np.int8)
            if extreme:
                w = rng.choice([-127, 127], (rows, cols)).astype(np.int8)
                x[...] = -128
        elif dtype == np.int16:
            w = rng.integers(-32767, 32768, (rows, cols)).astype(np.int16)
            x = rng.integers(-32768, 32768, (batch, cols)).astype(np.int16)
            if extreme:
                w[...] = rng.choice([-32767, 32767])
                x[...] = -32768
        else:
            w = rng.standard_normal((rows, cols)).astype(np.float32)
            x = rng.standard_normal((batch, cols)).astype(np.float32)
        reqs.append((dtype, rows, cols, batch, w, x))
    # The longest reduction the API allows, at the extremes: the int8 sum
    # reaches 65536 * 128 * 127 (the int32 bound of every path) and the
    # int16 pair sums reach 2^31 - 2^16 (the int32 bound of vmlal_s16).
    k = int(lib.ASR_MAX_K)
    for dtype, wv, xv in ((np.int8, -127, -128), (np.int8, 127, -128),
                          (np.int16, -32767, -32768), (np.int16, 32767, -32768)):
        w = np.full((5, k), wv, dtype)
        w[4, ::2] = -wv
        reqs.append((dtype, 5, k, 2, w, np.full((2, k), xv, dtype)))
    return reqs


def write_requests(fname, reqs, path):
    with open(fname, "wb") as f:
        for dtype, rows, cols, batch, w, x in reqs:
            f.write(struct.pack("<4siiIII", b"ASRG", DTYPES[dtype][0], path, rows, cols, batch))
            f.write(np.ascontiguousarray(w).tobytes())
            f.write(np.ascontiguousarray(x).tobytes())


def read_outputs(fname, reqs):
    data = open(fname, "rb").read()
    outs, at = [], 0
    for dtype, rows, _, batch, _, _ in reqs:
        odt = np.dtype(DTYPES[dtype][1]).newbyteorder("<")
        n = rows * batch
        outs.append(np.frombuffer(data, odt, n, at).reshape(batch, rows).astype(DTYPES[dtype][1]))
        at += n * odt.itemsize
    assert at == len(data)
    return outs


def x86_gemm(dtype, w, x, path):
    """The same product through this machine's build of the library."""
    name, optr = GEMM[dtype]
    rows, cols = w.shape
    batch = x.shape[0]
    out = np.empty((batch, rows), DTYPES[dtype][1])
    st = new_status()
    check(getattr(lib, name)(path, ffi.cast(DTYPES[dtype][2], ffi.from_buffer(w)), rows, cols, cols,
                             ffi.cast(DTYPES[dtype][2], ffi.from_buffer(x)), batch, cols,
                             ffi.cast(optr, ffi.from_buffer(out)), rows, st), st)
    return out


@pytest.mark.parametrize("arch", sorted(ARCHES))
def test_arm_kernels_equal_this_machine(build_dir, arch, tmp_path):
    rng = np.random.default_rng(7 if arch == "armv7" else 8)
    reqs = random_requests(rng, 60)
    # x86 results: the reference and this CPU's best path (which are equal
    # for integers; test_kernels.py checks that here).
    host = [(x86_gemm(d, w, x, lib.ASR_KERNEL_REF), x86_gemm(d, w, x, lib.ASR_KERNEL_AUTO))
            for d, _, _, _, w, x in reqs]
    names = {"ref": 0, "neon": 4, "neondot": 5}
    for name in kernels_of(build_dir, arch):
        fin, fout = tmp_path / ("req-%s" % name), tmp_path / ("out-%s" % name)
        write_requests(fin, reqs, names[name])
        proc = run_arm(build_dir, arch, ["gemm", str(fin), str(fout)])
        assert proc.returncode == 0, proc.stderr
        for (dtype, rows, cols, batch, w, x), got, (ref, best) in zip(reqs, read_outputs(fout, reqs), host):
            where = "%s %s %s %dx%d batch %d" % (arch, name, dtype.__name__, rows, cols, batch)
            if dtype == np.float32:
                w64, x64 = w.astype(np.float64), x.astype(np.float64)
                want = x64 @ w64.T
                scale = np.abs(x64) @ np.abs(w64).T
                assert np.all(np.abs(got - want) <= 1e-5 * scale + 1e-30), where
                assert np.all(np.abs(ref - want) <= 1e-5 * scale + 1e-30), where
            else:
                np.testing.assert_array_equal(got, ref, err_msg=where)
                np.testing.assert_array_equal(got, best, err_msg=where)
                np.testing.assert_array_equal(got, x.astype(np.int64) @ w.astype(np.int64).T,
                                              err_msg=where)


def test_request_errors_are_reported(build_dir, tmp_path):
    """A truncated request is an error (exit 1 with a message), not garbage."""
    reqs = random_requests(np.random.default_rng(1), 1)
    fin = tmp_path / "req"
    write_requests(fin, reqs, 0)
    data = open(fin, "rb").read()
    open(fin, "wb").write(data[:-1])
    proc = run_arm(build_dir, "aarch64", ["gemm", str(fin), str(tmp_path / "out")])
    assert proc.returncode == 1 and "truncated" in proc.stderr


# ---------------------------------------------------------------- host

def test_host_build_selftest(build_dir):
    """The same driver on this machine: the x86 kernels under the same
    shapes, misaligned pointers and guard pages."""
    if shutil.which("make") is None or shutil.which(os.environ.get("CC", "cc")) is None:
        pytest.skip("make or a C compiler is not installed")
    proc = subprocess.run(["make", "-s", "-C", NATIVE, "native", "BUILD=%s" % build_dir],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = subprocess.run([os.path.join(str(build_dir), "native", "kernel_check"), "selftest", "3", "300"],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
