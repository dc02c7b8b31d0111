"""The C example program (native/examples/asr_decode.c): built by make
without Python, it prints what asr-decode prints for the bundled samples
(text and every word's times and confidence), on this machine and, cross-
built, on armv7 and aarch64 under qemu-user; bad files and options give a
message and an exit status, never a crash.

The ARM runs are skipped only when a cross compiler or qemu is not
installed (CI installs both)."""
import io
import json
import os
import shutil
import struct
import subprocess
from contextlib import redirect_stdout

import pytest

from asr.cli.decode import main as asr_decode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NATIVE = os.path.join(ROOT, "native")
MODELS = os.path.join(ROOT, "models")
SAMPLES = sorted(os.path.join(MODELS, "samples", f) for f in os.listdir(os.path.join(MODELS, "samples"))
                 if f.endswith(".wav"))
QEMU = {"armv7": ("arm-linux-gnueabihf-gcc", ["qemu-arm"]),
        "aarch64": ("aarch64-linux-gnu-gcc", ["qemu-aarch64", "-cpu", "max"])}
TIMEOUT = 300


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("example")


def build(build_dir, target):
    out = os.path.join(str(build_dir), "native" if target == "example" else "cross",
                       "asr_decode" + ("" if target == "example" else "-" + target.split("-")[1]))
    if not os.path.exists(out):
        proc = subprocess.run(["make", "-s", "-C", NATIVE, target, "BUILD=%s" % build_dir],
                              capture_output=True, text=True, timeout=TIMEOUT)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def run(cmd, *args):
    return subprocess.run(list(cmd) + ["--models", MODELS] + list(args), capture_output=True,
                          text=True, timeout=TIMEOUT)


def python_lines(*args):
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert asr_decode(list(args)) == 0
    return buf.getvalue().splitlines()


def comparable(line):
    """A --json line without its timing."""
    obj = json.loads(line)
    obj.pop("rtf")
    return obj


@pytest.mark.parametrize("precision,frontend", [("int8", "auto"), ("int16", "auto"), ("float", "auto"),
                                                ("int8", "int"), ("int16", "int"), ("int8", "float")])
def test_the_example_prints_what_asr_decode_prints(build_dir, precision, frontend):
    exe = build(build_dir, "example")
    proc = run([exe], "--json", "--precision", precision, "--frontend", frontend, *SAMPLES)
    assert proc.returncode == 0, proc.stderr
    want = python_lines("--json", "--precision", precision, "--frontend", frontend, *SAMPLES)
    got = proc.stdout.splitlines()
    assert [comparable(g) for g in got] == [comparable(w) for w in want]
    assert all(comparable(g)["text"] for g in got)


def test_text_output_and_no_lm(build_dir):
    exe = build(build_dir, "example")
    proc = run([exe], "--no-lm", *SAMPLES)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == python_lines("--no-lm", *SAMPLES)
    one = run([exe], SAMPLES[0])
    assert one.stdout.splitlines() == python_lines(SAMPLES[0])


@pytest.mark.parametrize("arch", sorted(QEMU))
def test_the_example_on_arm_prints_the_same(build_dir, arch):
    cc, qemu = QEMU[arch]
    for tool in (cc, qemu[0], "make"):
        if shutil.which(tool) is None:
            pytest.skip("%s is not installed (needed for the %s example run)" % (tool, arch))
    exe = build(build_dir, "example-" + arch)
    for frontend in ("int", "float"):
        host = run([build(build_dir, "example")], "--json", "--frontend", frontend, *SAMPLES)
        arm = run(qemu + [exe], "--json", "--frontend", frontend, *SAMPLES)
        assert arm.returncode == 0, arm.stderr
        assert [comparable(x) for x in arm.stdout.splitlines()] == \
               [comparable(x) for x in host.stdout.splitlines()]


def test_bad_files_and_options(build_dir, tmp_path):
    exe = build(build_dir, "example")
    missing = run([exe], str(tmp_path / "nope.wav"))
    assert missing.returncode == 1 and "nope.wav" in missing.stderr
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt \xff\xff\xff\xff")
    bad = run([exe], str(junk), SAMPLES[0])
    assert bad.returncode == 1 and "junk.wav" in bad.stderr
    alone = run([exe], SAMPLES[0])                   # the good file is still decoded, as alone
    assert alone.returncode == 0 and alone.stdout.strip()
    assert bad.stdout == SAMPLES[0] + "\t" + alone.stdout      # several files: path, tab, text
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"RIFF" + struct.pack("<I", 36) + b"WAVEfmt " +
                      struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16) + b"data" + struct.pack("<I", 0))
    e = run([exe], str(empty))
    assert e.returncode == 1 and "no samples" in e.stderr
    model = tmp_path / "cut.asrm"
    model.write_bytes(open(os.path.join(MODELS, "en-us-int8.asrm"), "rb").read()[:5000])
    cut = run([exe], "--model", str(model), SAMPLES[0])
    assert cut.returncode == 1 and "cut.asrm" in cut.stderr
    assert run([exe], "--kernel", "warp", SAMPLES[0]).returncode == 2
    assert run([exe], "--frontend", "fixed", SAMPLES[0]).returncode == 2
    flt = run([exe], "--precision", "float", "--frontend", "int", SAMPLES[0])
    assert flt.returncode == 1 and "float model" in flt.stderr
    assert run([exe], "--frobnicate", SAMPLES[0]).returncode == 2
    assert run([exe]).returncode == 2


def test_phrases_as_asr_decode_without_rejection(build_dir, tmp_path):
    exe = build(build_dir, "example")
    phrases = tmp_path / "phrases.txt"
    phrases.write_text("go forward ten meters\nSTOP\n\nturn  left\ntwo nine three four zero\n")
    proc = run([exe], "--phrases", str(phrases), *SAMPLES)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == python_lines("--phrases", str(phrases), "--reject", "0", *SAMPLES)
    phrases.write_text("go zorblatt\n")
    oov = run([exe], "--phrases", str(phrases), SAMPLES[0])
    assert oov.returncode == 1 and "zorblatt" in oov.stderr
    assert run([exe], "--phrases", str(tmp_path / "none.txt"), SAMPLES[0]).returncode == 1
