"""The C frontend on ARM: native/Makefile cross-compiles the library with
native/tests/fe_driver.c into static armv7 and aarch64 binaries, which run
under qemu-user on int16 PCM files; their frames must equal this machine's
(asr.features, the cffi build) bit for bit.

Double arithmetic without -ffast-math gives the same results on x86-64
(SSE2, no x87), armv7 (VFPv3/NEON, hard float) and aarch64, provided no
a * b + c is contracted into an FMA on one side only: the builds use
-std=c99, under which GCC does not contract (its -ffp-contract=off
default for ISO C). libm's cos, sin, log, log10 and pow are called only at
creation for the tables and once per value for the log; the cross
toolchains' glibc and the host's give the same values here.

The integer frontend (MODE q16, s8, s16) is integer arithmetic after its
tables, which are made once from doubles by the same code on each
machine: its frames must be equal bit for bit as well, at every input rate
(its resampler is integer too) and for any chunking.

Skipped only when a cross compiler or a qemu binary is not installed."""
import os
import shutil
import subprocess

import numpy as np
import pytest

from asr.features import FeatureConfig, Frontend, logmel

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NATIVE = os.path.join(ROOT, "native")
ARCHES = {"armv7": ("arm-linux-gnueabihf-gcc", "qemu-arm"),
          "aarch64": ("aarch64-linux-gnu-gcc", "qemu-aarch64")}
TIMEOUT = 300


def driver_config(cmn):
    """The frontend fe_driver builds (see its header comment)."""
    if not cmn:
        return FeatureConfig()
    return FeatureConfig(cmn_frames=cmn, cmn_prior_frames=100,
                         cmn_prior=tuple(-10.0 + 0.25 * j for j in range(40)))


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fe-cross")


def driver(build_dir, arch):
    cc, qemu = ARCHES[arch]
    for tool in (cc, qemu, "make"):
        if shutil.which(tool) is None:
            pytest.skip("%s is not installed (needed for the %s frontend test)" % (tool, arch))
    path = os.path.join(str(build_dir), "cross", "fe_driver-" + arch)
    if not os.path.exists(path):
        proc = subprocess.run(["make", "-s", "-C", NATIVE, "fe-" + arch, "BUILD=%s" % build_dir],
                              capture_output=True, text=True, timeout=TIMEOUT)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return qemu, path


def signals():
    """(name, rate, int16 PCM): speech, noise, a chirp, silence, full-scale."""
    import soundfile as sf
    rng = np.random.default_rng(5)
    speech, rate = sf.read(os.path.join(ROOT, "models", "samples", "librivox-0880.wav"), dtype="int16")
    t = np.arange(24000) / 48000.0
    chirp = (20000 * np.sin(2 * np.pi * (100 * t + 8000 * t * t))).astype(np.int16)
    square = np.where(np.sin(2 * np.pi * 300 * np.arange(11025) / 11025.0) >= 0, 32767, -32768)
    return [("speech", rate, speech),
            ("noise-44100", 44100, (rng.standard_normal(30000) * 4000).astype(np.int16)),
            ("chirp-48000", 48000, chirp),
            ("silence-8000", 8000, np.zeros(5000, np.int16)),
            ("square-11025", 11025, square.astype(np.int16))]


@pytest.mark.parametrize("arch", sorted(ARCHES))
def test_arm_frames_equal_host_frames(arch, build_dir, tmp_path):
    qemu, path = driver(build_dir, arch)
    for name, rate, pcm in signals():
        src = tmp_path / (name + ".s16")
        pcm.astype("<i2").tofile(src)
        for chunk, cmn in ((0, 0), (333, 100)):
            dst = tmp_path / ("%s-%d-%d.f32" % (name, chunk, cmn))
            proc = subprocess.run([qemu, path, str(rate), str(chunk), str(cmn), str(src), str(dst)],
                                  capture_output=True, text=True, timeout=TIMEOUT)
            assert proc.returncode == 0, proc.stderr
            arm = np.fromfile(dst, dtype="<f4").reshape(-1, 40)
            host = logmel(pcm, driver_config(cmn), sample_rate=rate)
            assert arm.shape == host.shape, name
            assert np.array_equal(arm.view(np.uint32), host.view(np.uint32)), \
                "%s %s chunk %d cmn %d: %d of %d values differ" % (
                    arch, name, chunk, cmn, (arm != host).sum(), arm.size)


# fe_driver's quantization of MODE s8 / s16 (its header comment)
DRIVER_QUANT = {"s8": ("int8", 0.03, 3), "s16": ("int16", 0.0002, -17)}


def driver_frontend(cmn, mode):
    """The integer frontend fe_driver builds for MODE q16, s8 or s16."""
    cfg = driver_config(cmn)
    if mode == "q16":
        return Frontend(cfg, "int")
    dtype, scale, zero = DRIVER_QUANT[mode]
    j = np.arange(40)
    return Frontend(cfg, "int", quant=(dtype, scale, zero, (-8.0 + 0.2 * j).astype(np.float32),
                                       (0.25 + 0.005 * j).astype(np.float32)))


@pytest.mark.parametrize("arch", sorted(ARCHES))
def test_arm_integer_frames_equal_host_frames(arch, build_dir, tmp_path):
    qemu, path = driver(build_dir, arch)
    for name, rate, pcm in signals():
        src = tmp_path / (name + ".s16")
        pcm.astype("<i2").tofile(src)
        for chunk, cmn, mode in ((0, 0, "q16"), (333, 300, "q16"), (1000, 300, "s8"), (0, 300, "s16")):
            dst = tmp_path / ("%s-%d-%d.%s" % (name, chunk, cmn, mode))
            proc = subprocess.run([qemu, path, str(rate), str(chunk), str(cmn), str(src), str(dst), mode],
                                  capture_output=True, text=True, timeout=TIMEOUT)
            assert proc.returncode == 0, proc.stderr
            fe = driver_frontend(cmn, mode)
            host = logmel(pcm, fe.cfg, sample_rate=rate, frontend=fe)
            arm = np.fromfile(dst, dtype=host.dtype.newbyteorder("<")).reshape(-1, 40)
            assert arm.shape == host.shape, name
            assert np.array_equal(arm, host), "%s %s chunk %d cmn %d %s: %d of %d values differ" % (
                arch, name, chunk, cmn, mode, (arm != host).sum(), arm.size)


def test_driver_refuses_bad_use(build_dir, tmp_path):
    qemu, path = driver(build_dir, "aarch64")
    proc = subprocess.run([qemu, path, "16000"], capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 2 and "usage" in proc.stderr
    src = tmp_path / "x.s16"
    np.zeros(100, np.int16).tofile(src)
    proc = subprocess.run([qemu, path, "900000", "0", "0", str(src), str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 1 and "input rate" in proc.stderr
    proc = subprocess.run([qemu, path, "16000", "0", "0", str(src), str(tmp_path / "o"), "s32"],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 2 and "MODE" in proc.stderr
