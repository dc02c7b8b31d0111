"""asr-rtf --platform armv7|aarch64 (asr/cross.py, native/tests/net_driver.c,
native/tests/pipeline_driver.c) and the asr-rtf --json schema, cost model,
--plot and --compare.

The cross tests build the drivers for ARM and run them under qemu-user:
the network driver's log-probabilities of int8 and int16 models must equal
this machine's (asr.network) bit for bit, on every ARM kernel (armv7 NEON;
aarch64 NEON on an emulated Cortex-A53 and sdot on qemu's "max" CPU); the
pipeline driver's transcripts and log-probabilities on a bundled sample
must equal asr.Recognizer's, its stage counts must add up and its device
figures must be consistent. They skip only when a cross compiler, qemu or
make is not installed."""
import io
import json
import os
import shutil
import struct
import subprocess
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pytest
import soundfile as sf

from asr import cross
from asr.cli import rtf
from asr.features import logmel
from asr.model import Layer, Model
from asr.quantize import quantize_model

from helpers import random_feats, random_float_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, "models")
SAMPLE = os.path.join(MODELS, "samples", "goforward-1.wav")
LEXICON = os.path.join(MODELS, "en-us.asrlex")
LM = os.path.join(MODELS, "en-us.asrlm")


def need_cross(platform):
    t = cross.TARGETS[platform]
    for tool in (t.cc, t.qemu, "make", "cc"):
        if shutil.which(tool) is None:
            pytest.skip("%s is not installed (needed for --platform %s)" % (tool, platform))


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("cross-build"))


@pytest.fixture(scope="module")
def small_models():
    """A small random float model and its int16 / int8 quantizations (int8
    in both schemes: the asymmetric one exercises the weight zero point)."""
    m = random_float_model(seed=3, hidden=40)
    calib = [random_feats(m, 120, seed=s) for s in range(3)]
    out = {"float": m}
    for prec in ("int16", "int8"):
        out[prec], _ = quantize_model(m, calib, prec, report=False)
    out["int8-asym"], _ = quantize_model(m, calib, "int8", scheme="asymmetric", report=False)
    return out


def utterances(model):
    # Lengths around the block and piece sizes of net.c, and one shorter
    # than the receptive field (no output frames at all).
    return [random_feats(model, n, seed=n) for n in (1, 57, 130)]


# ------------------------------------------------------ bit identity

@pytest.mark.parametrize("platform", ["armv7", "aarch64"])
@pytest.mark.parametrize("prec", ["int8", "int16", "int8-asym"])
def test_small_model_bit_identical_under_qemu(platform, prec, small_models, out_dir):
    need_cross(platform)
    model = small_models[prec]
    rows = cross.run_cross(platform, model, utterances(model), count=False, out_dir=out_dir)
    want_kernels = {"armv7": ["neon"], "aarch64": ["neon", "neondot"]}[platform]
    assert [r["kernel"] for r in rows] == want_kernels
    for r in rows:
        assert r["bit_identical"], r
        assert r["max_abs_diff"] == 0.0


def test_chunked_reference_path_and_float(small_models, out_dir):
    """The job's chunk size and kernel reach the driver: 7-frame calls
    on the reference path give the same bits; float agrees within the
    documented tolerance (fused vs separate multiply-add may differ)."""
    need_cross("armv7")
    model = small_models["int8"]
    rows = cross.run_cross("armv7", model, utterances(model), kernel="ref", chunk=7, count=False,
                           out_dir=out_dir)
    assert rows[0]["kernel"] == "ref" and rows[0]["bit_identical"]
    model = small_models["float"]
    rows = cross.run_cross("armv7", model, utterances(model), count=False, out_dir=out_dir)
    assert rows[0]["max_abs_diff"] <= rtf.FLOAT_TOLERANCE


def test_bundled_model_two_seconds(out_dir):
    """The bundled int8 model on 2 s of a real recording, on both
    platforms, with the instruction count: reproducible and of the right
    order (a NEON path executes fewer instructions than MACs)."""
    model = Model.load(os.path.join(ROOT, "models", "en-us-int8.asrm"))
    audio, rate = sf.read(SAMPLE, dtype="float32")
    feats = [logmel(audio[:2 * rate], model.features)]
    for platform in ("armv7", "aarch64"):
        need_cross(platform)
        rows = cross.run_cross(platform, model, feats, count=True, out_dir=out_dir)
        for r in rows:
            assert r["bit_identical"], r
            if r["instructions"] is not None:
                assert 0 < r["instructions"] < r["macs"], r
    again = cross.run_cross("aarch64", model, feats, count=True, out_dir=out_dir)
    assert [r["instructions"] for r in again] == [r["instructions"] for r in rows]


# ------------------------------------------------- the whole pipeline

@pytest.fixture(scope="module")
def pipeline_runs(out_dir):
    """run_pipeline of the bundled int8 recognizer on one bundled sample,
    per platform (computed once per module)."""
    cache = {}

    def get(platform):
        need_cross(platform)
        if platform not in cache:
            cache[platform] = cross.run_pipeline(platform, os.path.join(MODELS, "en-us-int8.asrm"),
                                                 LEXICON, LM, [SAMPLE], out_dir=out_dir)
        return cache[platform]
    return get


@pytest.mark.parametrize("platform", ["armv7", "aarch64"])
def test_whole_pipeline_identical_under_qemu(platform, pipeline_runs):
    """Features + network + search from the example's code path under qemu:
    transcripts (word times and confidences included), features and
    log-probabilities equal this machine's asr.Recognizer / asr.features /
    asr.network bit for bit, on every reference core's kernel; so does this
    machine's build of the driver."""
    run = pipeline_runs(platform)
    assert run["host_driver_identical"]
    want_kernels = {"armv7": ["neon"], "aarch64": ["neon", "neondot"]}[platform]
    assert [c["kernel"] for c in run["cores"]] == want_kernels
    for c in run["cores"]:
        assert c["transcripts_identical"] and c["texts_identical"], c
        assert c["features_identical"] and c["features_max_abs_diff"] == 0.0, c
        assert c["bit_identical"] and c["max_abs_diff"] == 0.0, c


@pytest.mark.parametrize("platform", ["armv7", "aarch64"])
def test_stage_counts_are_positive_and_add_up(platform, pipeline_runs):
    """Each stage is the difference of two driver runs: all positive, and
    together they are the whole run minus the load; the network (NEON)
    executes fewer instructions than its MACs, and the cost-model total is
    the sum of the stages."""
    run = pipeline_runs(platform)
    for c in run["cores"]:
        ins, runs = c["instructions"], c["run_instructions"]
        if ins is None:
            pytest.skip("this qemu cannot load the instruction-count plugin")
        assert all(ins[k] > 0 for k in ("load",) + cross.STAGES), ins
        assert sum(ins[k] for k in cross.STAGES) == runs["all"] - runs["load"]
        assert ins["load"] == runs["load"]
        assert ins["network"] < run["macs"]
        assert ins["features"] < ins["network"]
        est = c["est_seconds"]
        assert est["total"] == pytest.approx(sum(est[k] for k in cross.STAGES), rel=1e-12)
        core = next(k for k, v in cross.CORES.items() if v.name == c["core"])
        assert est["search"] == pytest.approx(cross.estimate_insns(ins["search"], "search", core)["seconds"])


def test_device_fit_numbers_are_consistent(pipeline_runs):
    """Flash is the three files plus the library's code; peak RAM covers
    what the loaded recognizer holds; the mapped files only add to the
    load peak."""
    run = pipeline_runs("armv7")
    fl = run["flash"]
    files = [os.path.join(MODELS, "en-us-int8.asrm"), LEXICON, LM]
    assert [fl["model"], fl["lexicon"], fl["lm"]] == [os.path.getsize(f) for f in files]
    assert fl["total"] == sum(os.path.getsize(f) for f in files) + fl["code_text"] + fl["code_data"]
    assert 10000 < fl["code_text"] < 5000000
    for c in run["cores"]:
        m = c["memory"]
        assert 0 < m["live_after_load"] <= m["load_heap_peak"] <= m["load_mapped_peak"]
        assert m["decode_peak"] > 0
        assert m["peak"] == max(m["load_heap_peak"], m["live_after_load"] + m["decode_peak"])
        assert m["peak"] >= m["live_after_load"]
        # The loaders map each file while reading it: at least the largest.
        assert m["load_mapped_peak"] - m["load_heap_peak"] >= 0
        assert m["load_mapped_peak"] >= max(os.path.getsize(f) for f in files)


def test_cost_model_of_counted_stages():
    """Features and search: instructions / assumed IPC / clock. 6e6
    instructions on a Cortex-A7 (features IPC 0.5) are 12e6 cycles, 10 ms."""
    est = cross.estimate_insns(6e6, "features", "cortex-a7")
    assert est["cycles"] == pytest.approx(12e6) and est["seconds"] == pytest.approx(0.01)
    for core in cross.CORES.values():
        assert set(core.ipc) == {"features", "search"}
        assert all(0 < v <= 2 for v in core.ipc.values())


@pytest.fixture(scope="module")
def native_pipeline(out_dir):
    if shutil.which("make") is None or shutil.which("cc") is None:
        pytest.skip("make or cc is not installed")
    return cross.build_pipeline("native", out_dir)


def test_pipeline_driver_rejects_bad_input(native_pipeline, tmp_path):
    """Usage errors exit 2; a missing or damaged model exits 1 naming it; a
    bad WAV exits 1 naming it while the other files are still decoded."""
    model = os.path.join(MODELS, "en-us-int8.asrm")

    def run(*args):
        return subprocess.run([native_pipeline] + list(args), capture_output=True, text=True, timeout=120)

    for args in ([], ["decode", model, LEXICON, SAMPLE], ["all", model, LEXICON],
                 ["all", "--dump", str(tmp_path / "lp"), model, LEXICON, SAMPLE],
                 ["all", "--frobnicate", "x", model, LEXICON, SAMPLE]):
        proc = run(*args)
        assert proc.returncode == 2 and "usage:" in proc.stderr, args
    proc = run("all", "--kernel", "warp", model, LEXICON, SAMPLE)
    assert proc.returncode == 2 and "warp" in proc.stderr
    proc = run("all", str(tmp_path / "nope.asrm"), LEXICON, SAMPLE)
    assert proc.returncode == 1 and "nope.asrm" in proc.stderr
    cut = tmp_path / "cut.asrm"
    cut.write_bytes(open(model, "rb").read()[:5000])
    proc = run("all", str(cut), LEXICON, SAMPLE)
    assert proc.returncode == 1 and "cut.asrm" in proc.stderr
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt \xff\xff\xff\xff")
    proc = run("all", "--lm", LM, model, LEXICON, str(junk), SAMPLE)
    assert proc.returncode == 1 and "junk.wav" in proc.stderr
    parsed = cross.parse_pipeline(proc.stdout)
    assert [f["path"] for f in parsed["files"]] == [SAMPLE]
    alone = cross.parse_pipeline(run("all", "--lm", LM, model, LEXICON, SAMPLE).stdout)
    assert cross.transcripts(parsed) == cross.transcripts(alone)   # decoded as if alone
    assert cross.transcripts(parsed)[0][0][0][2]                   # and not empty
    with pytest.raises(cross.CrossError):
        cross.parse_pipeline("kernel\tneon\nbogus\t1\n")


def test_missing_tools_name_the_packages(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda tool: None)
    with pytest.raises(cross.CrossError) as exc:
        cross.check_tools("armv7")
    msg = str(exc.value)
    assert "gcc-arm-linux-gnueabihf" in msg and "qemu-user" in msg and "apt-get install" in msg


# ----------------------------------------------------- driver input

@pytest.fixture(scope="module")
def native_driver(out_dir):
    if shutil.which("make") is None or shutil.which("cc") is None:
        pytest.skip("make or cc is not installed")
    proc = subprocess.run(["make", "-s", "-C", cross.NATIVE, "driver-native", "BUILD=%s" % out_dir],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return os.path.join(out_dir, "native", "net_driver")


def test_driver_rejects_damaged_jobs(native_driver, small_models, tmp_path):
    """Every size is checked: truncation anywhere, trailing bytes and an
    absurd dimension are errors with a message, never a crash."""
    model = small_models["int8"]
    job = tmp_path / "job"
    cross.write_job(str(job), model, utterances(model))
    data = job.read_bytes()

    def run(blob):
        job.write_bytes(blob)
        return subprocess.run([native_driver, "run", str(job), str(tmp_path / "out")],
                              capture_output=True, text=True, timeout=60)

    proc = run(data)
    assert proc.returncode == 0, proc.stderr
    _, outs = cross.read_output(str(tmp_path / "out"))
    host, _ = cross.host_logprobs(model, utterances(model))
    assert cross.compare(outs, host)["bit_identical"]
    for cut in (3, 30, 200, len(data) // 2, len(data) - 1):
        proc = run(data[:cut])
        assert proc.returncode == 1 and "net_driver:" in proc.stderr, (cut, proc.stderr)
    proc = run(data + b"\0")
    assert proc.returncode == 1 and "unexpected bytes" in proc.stderr
    huge = bytearray(data)
    struct.pack_into("<I", huge, 8 + 4 * 2 + 4 * 4 + 8 + 8 * model.features.num_filters + 16, 1 << 30)
    proc = run(bytes(huge))     # first layer's out_dim
    assert proc.returncode == 1 and "bad header" in proc.stderr


# ------------------------------------------------------- cost model

def test_cost_model_on_a_known_layer():
    """One 336 -> 40 layer, kernel 3, dilation 2 (span 5, padded 2 + 2):
    100 feature frames give 100 output frames and 100 x 40 x 3 x 336 =
    4,032,000 MACs; on a Cortex-A7 at int8 (64 MACs per 38 cycles, x 0.6)
    that is 4,032,000 x 38 / 38.4 = 3,990,000 cycles, 3.325 ms at 1.2 GHz."""
    w = np.zeros((40, 3 * 336), np.float32)
    layer = Layer(in_dim=336, out_dim=40, kernel=3, dilation=2, act="logsoftmax", weight=w,
                  bias=np.zeros(40, np.float32))
    model = Model(features=None, labels=[], mean=None, inv_std=None, layers=[layer])
    assert (model.pad_left, model.pad_right) == (2, 2)
    assert cross.layer_frames(model, 100) == [100]
    assert cross.layer_macs(model, [100]) == [4032000]
    est = cross.estimate(4032000, "int8", "cortex-a7")
    assert est["cycles"] == pytest.approx(3990000, rel=1e-12)
    assert est["seconds"] == pytest.approx(3.325e-3, rel=1e-12)
    # Cortex-A55 with sdot: 128 MACs per 12 cycles.
    assert cross.estimate(4032000, "int8", "cortex-a55")["cycles"] == pytest.approx(630000, rel=1e-12)


def test_layer_frames_follow_the_network(small_models):
    """Frame counts with strides equal the frames the C network emits."""
    model = small_models["int8"]
    for n in (1, 10, 57, 130):
        frames = cross.layer_frames(model, n)
        host, _ = cross.host_logprobs(model, [random_feats(model, n)])
        assert frames[-1] == host[0].shape[0]


# --------------------------------------------------------- the CLI

def type_ok(value, spec):
    types = {"str": str, "float": (float, int), "int": int, "bool": bool, "list": list,
             "dict": dict, "null": type(None)}
    return any(isinstance(value, types[t]) and not (t in ("int", "float") and isinstance(value, bool))
               for t in spec.split(":", 1)[0].split("|"))


def check_schema(obj, schema):
    assert set(obj) == set(schema), set(obj) ^ set(schema)
    for key, spec in schema.items():
        assert type_ok(obj[key], spec), (key, obj[key], spec)


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = rtf.main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def short_wav(tmp_path_factory):
    audio, rate = sf.read(SAMPLE, dtype="float32")
    path = str(tmp_path_factory.mktemp("audio") / "short.wav")
    sf.write(path, audio[:rate], rate)
    return path


@pytest.fixture(scope="module")
def small_model_dir(tmp_path_factory, small_models):
    d = tmp_path_factory.mktemp("models")
    for prec in ("float", "int16", "int8"):
        small_models[prec].save(str(d / ("en-us-%s.asrm" % prec)))
    return str(d)


def test_json_schema_native(short_wav):
    code, out, _ = run_cli(["--json", "--repeat", "1", "--audio", short_wav, "--precision", "int8,float"])
    assert code == 0
    report = json.loads(out)
    check_schema(report, rtf.JSON_SCHEMA)
    assert report["mode"] == "measured" and report["cross"] == [] and report["cost_model"] is None
    assert [r["precision"] for r in report["results"]] == ["int8", "float"]
    for r in report["results"]:
        check_schema(r, rtf.RESULT_SCHEMA)
        assert set(r["rtf"]) == {"features", "model", "decoder", "total"}


def test_json_schema_emulated(short_wav, small_model_dir):
    need_cross("aarch64")
    code, out, _ = run_cli(["--json", "--platform", "aarch64", "--audio", short_wav,
                            "--model-dir", small_model_dir, "--precision", "int8"])
    assert code == 0
    report = json.loads(out)
    check_schema(report, rtf.JSON_SCHEMA)
    assert report["mode"] == "emulated" and report["results"] == []
    assert [r["core"] for r in report["cross"]] == ["Cortex-A53", "Cortex-A55"]
    for r in report["cross"]:
        check_schema(r, rtf.CROSS_SCHEMA)
        assert r["bit_identical"] and r["transcripts_identical"] and r["host_driver_identical"]
        assert set(r["estimated_rtf"]) == {"features", "network", "search", "total"}
        if r["instructions_per_audio_s"] is not None:
            assert set(r["instructions_per_audio_s"]) == {"features", "network", "search", "total"}
            assert r["estimated_rtf"]["total"] == pytest.approx(
                sum(r["estimated_rtf"][k] for k in ("features", "network", "search")), abs=1e-5)
        assert set(r["device"]) == {"flash_bytes", "model_bytes", "lexicon_bytes", "lm_bytes",
                                    "code_bytes", "live_after_load_bytes", "load_peak_bytes",
                                    "load_peak_with_mapped_bytes", "decode_peak_bytes", "peak_ram_bytes"}
        assert r["device"]["peak_ram_bytes"] >= r["device"]["live_after_load_bytes"] > 0
    assert set(report["cost_model"]["cores"]) == set(cross.CORES)
    assert all(set(c["ipc"]) == {"features", "search"} for c in report["cost_model"]["cores"].values())


def test_text_output_never_calls_emulated_time_an_rtf(short_wav, small_model_dir):
    need_cross("armv7")
    code, out, _ = run_cli(["--platform", "armv7", "--audio", short_wav, "--model-dir", small_model_dir,
                            "--precision", "int16"])
    assert code == 0
    assert "ESTIMATE" in out and "not a measurement" in out and "bit-identical" in out
    assert "Cortex-A7 @ 1.2 GHz" in out and "device fit" in out and "flash" in out
    assert "whole pipeline" in out and "identical" in out


def test_plot_writes_a_png(short_wav, tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "rtf.png"
    code, _, _ = run_cli(["--plot", str(png), "--repeat", "1", "--audio", short_wav, "--precision", "int8"])
    assert code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(rtf, "check_plot_available", lambda: False)
    code, out, err = run_cli(["--plot", str(tmp_path / "x.png")])
    assert code == 2 and out == "" and "matplotlib" in err and "pip install" in err


def test_compare_names_missing_peers_and_skips_them(short_wav, small_model_dir, monkeypatch):
    from asr import peers
    monkeypatch.setattr(peers, "missing_peers", lambda: ["onnxruntime", "onnx"])
    code, out, err = run_cli(["--compare", "--json", "--repeat", "1", "--audio", short_wav,
                              "--model-dir", small_model_dir, "--precision", "int8"])
    assert code == 0
    report = json.loads(out)
    assert set(report["compare"]["ours"]) == {"float", "int16", "int8"}
    assert "onnxruntime, onnx not installed" in err and "[compare]" in err


def test_compare_without_any_peer_is_a_clear_error(monkeypatch):
    """Nothing to compare with: exit 2 before measuring, naming what to install."""
    from asr import peers
    monkeypatch.setattr(peers, "missing_peers", lambda: list(peers.PEER_MODULES))
    monkeypatch.setattr(rtf, "profile", lambda *a: pytest.fail("measured anyway"))
    code, out, err = run_cli(["--compare"])
    assert code == 2 and out == ""
    assert "pocketsphinx, onnxruntime, onnx" in err and "pip install" in err


def test_compare_is_measured_by_the_package_not_tools(short_wav, small_model_dir, monkeypatch):
    import sys
    from asr import peers
    calls = []
    monkeypatch.setattr(peers, "missing_peers", lambda: [])
    monkeypatch.setattr(peers, "pocketsphinx_rtf", lambda audio, repeat: calls.append("ps") or (0.5, []))
    monkeypatch.setattr(peers, "onnx_rtf", lambda *a, **k: calls.append("ort") or {"float": 0.01, "int8": 0.02})
    code, out, err = run_cli(["--compare", "--repeat", "1", "--audio", short_wav,
                              "--model-dir", small_model_dir, "--precision", "int8"])
    assert code == 0 and calls == ["ps", "ort"]
    assert "PocketSphinx, end to end" in out and "onnxruntime int8, acoustic model" in out
    assert "compare_peers" not in sys.modules


def test_progress_bar_only_on_stderr_and_on_request(short_wav, small_model_dir):
    argv = ["--json", "--repeat", "1", "--audio", short_wav, "--model-dir", small_model_dir,
            "--precision", "int8,int16"]
    code, out, err = run_cli(argv + ["--progress"])
    assert code == 0 and json.loads(out)["results"]
    assert "asr-rtf [" in err and "2/2" in err and "\r" not in out and "#" not in out
    for extra in ([], ["--no-progress"]):      # stderr is not a terminal here
        code, out, err = run_cli(argv + extra)
        assert code == 0 and "asr-rtf [" not in err


def test_compare_with_emulation_is_a_usage_error():
    other = "armv7" if rtf.host_platform() != "armv7" else "aarch64"
    code, _, err = run_cli(["--compare", "--platform", other])
    assert code == 2 and "--compare" in err
