"""Real-time factors of this project beside its peers, in one run, on the
same audio, on one CPU thread (``asr-rtf --compare``; also
``python -m tools.compare_peers``):

- this project end to end (features + acoustic model + beam search with
  the LM), float / int16 / int8, and its acoustic model alone;
- PocketSphinx (PyPI ``pocketsphinx``, its bundled default English model),
  end to end;
- onnxruntime running the same acoustic model exported to ONNX
  (asr/onnx_export.py), float and dynamically quantized int8, acoustic
  model alone on the same normalized features.

The peers are optional (the 'compare' extra: pocketsphinx, onnxruntime,
onnx); one that is not installed is reported as None. Ratios are computed,
not only times: how many times faster this project's int8 is. Times are
medians of ``repeat`` passes after a warm-up; RTF is seconds of processing
per second of audio.
"""
import os
import sys
import tempfile
import time

import numpy as np

PRECISIONS = ("float", "int16", "int8")


def median_time(fn, repeat):
    fn()                                   # warm-up: caches, lazy allocation
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def ours(model_dir, audio, feats, repeat, step=None):
    """{precision: {"rtf": end to end, "am_rtf": acoustic model, "stages":
    {features, model, decoder}, "kernel"}}, RTFs in seconds per second of
    audio. ``step(label)`` is called after each measurement (progress)."""
    from .model import Model
    from .network import Network
    from .stream import EndpointConfig, Recognizer
    out = {}
    seconds = sum(len(a) for a in audio) / 16000.0
    for prec in PRECISIONS:
        path = os.path.join(model_dir, "en-us-%s.asrm" % prec)
        if not os.path.exists(path):
            continue
        model = Model.load(path)
        rec = Recognizer(model=model, endpoint=EndpointConfig(enabled=False))
        stages = {}

        def run():
            for k in ("features", "model", "decoder"):
                stages[k] = 0.0
            for a in audio:
                s = rec.stream()
                s.accept(a)
                s.finish()
                for k in stages:
                    stages[k] += s.timings[k]

        total = median_time(run, repeat)
        _step(step, "%s end to end" % prec)
        net = Network(model)
        am = median_time(lambda: [net.forward(f) for f in feats], repeat)
        _step(step, "%s acoustic model" % prec)
        out[prec] = {"rtf": total / seconds, "am_rtf": am / seconds,
                     "stages": {k: v / seconds for k, v in stages.items()}, "kernel": net.kernel}
    return out


def pocketsphinx_rtf(audio, repeat):
    """PocketSphinx's end-to-end RTF on ``audio`` (float arrays at 16 kHz)
    with its default English model, and its transcripts."""
    from pocketsphinx import Decoder
    dec = Decoder(loglevel="FATAL")
    bufs = [(np.clip(a, -1, 1) * 32767).astype(np.int16).tobytes() for a in audio]
    texts = []

    def run():
        texts.clear()
        for b in bufs:
            dec.start_utt()
            dec.process_raw(b, full_utt=True)
            dec.end_utt()
            texts.append(dec.hyp().hypstr if dec.hyp() else "")

    t = median_time(run, repeat)
    return t / (sum(len(a) for a in audio) / 16000.0), list(texts)


def onnx_rtf(model_dir, feats, seconds, repeat, step=None):
    """onnxruntime's acoustic-model RTF, {"float", "int8"}, on the float
    model of ``model_dir`` exported to ONNX (one thread)."""
    import onnx
    import onnxruntime as ort
    from . import reference
    from .model import Model
    from .onnx_export import quantize_int8, to_onnx
    fmodel = Model.load(os.path.join(model_dir, "en-us-float.asrm"))
    inputs = [reference.normalize_and_pad(fmodel, f).astype(np.float32).T[None].copy() for f in feats]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        fpath, qpath = os.path.join(tmp, "am.onnx"), os.path.join(tmp, "am-int8.onnx")
        onnx.save(to_onnx(fmodel), fpath)
        quantize_int8(fpath, qpath)
        for name, path in (("float", fpath), ("int8", qpath)):
            so = ort.SessionOptions()
            so.intra_op_num_threads = 1
            so.inter_op_num_threads = 1
            sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
            t = median_time(lambda: [sess.run(None, {"feats": x}) for x in inputs], repeat)
            out[name] = t / seconds
            _step(step, "onnxruntime %s" % name)
    return out


PEER_MODULES = ("pocketsphinx", "onnxruntime", "onnx")
MISSING_HINT = ("pip install pocketsphinx onnxruntime onnx (the 'compare' extra: "
                "pip install 'asr-fixedpoint[compare]')")


def missing_peers():
    """Names of the peer packages that are not installed."""
    import importlib.util
    return [m for m in PEER_MODULES if importlib.util.find_spec(m) is None]


def _step(step, label):
    if step is not None:
        step(label)


def measure_steps(precisions=PRECISIONS):
    """How many times ``measure`` calls its ``step`` callback."""
    return 2 * len(precisions) + 1 + 2


def measure(audio, files, model_dir, repeat, step=None):
    """The whole comparison on `audio` (float arrays at 16 kHz): a report
    dict (the --json object). A peer that is not installed is None.
    ``step(label)``, if given, is called after each of the
    ``measure_steps()`` measurements (a progress bar)."""
    from .features import logmel
    from .model import Model
    seconds = sum(len(a) for a in audio) / 16000.0
    cfg = Model.load(os.path.join(model_dir, "en-us-float.asrm")).features
    feats = [logmel(a, cfg) for a in audio]
    report = {"audio_seconds": round(seconds, 2), "files": list(files), "threads": 1, "repeat": repeat}
    report["ours"] = ours(model_dir, audio, feats, repeat, step)
    try:
        report["pocketsphinx"], _ = pocketsphinx_rtf(audio, repeat)
    except ImportError:
        report["pocketsphinx"] = None
    _step(step, "PocketSphinx")
    try:
        report["onnxruntime_am"] = onnx_rtf(model_dir, feats, seconds, repeat, step)
    except ImportError:
        report["onnxruntime_am"] = None
        _step(step, "onnxruntime float")
        _step(step, "onnxruntime int8")
    q8 = report["ours"].get("int8")
    ratios = {}
    if q8 and report["pocketsphinx"]:
        ratios["pocketsphinx_over_int8_end_to_end"] = report["pocketsphinx"] / q8["rtf"]
    if q8 and report["onnxruntime_am"]:
        ratios["ort_int8_over_int8_am"] = report["onnxruntime_am"]["int8"] / q8["am_rtf"]
        ratios["ort_float_over_int8_am"] = report["onnxruntime_am"]["float"] / q8["am_rtf"]
    report["ratios"] = ratios
    return report


def print_report(report, out=None):
    """The comparison as a table on ``out`` (default stdout): RTF and how
    many times slower than this project's int8."""
    out = sys.stdout if out is None else out
    ratios, q8 = report["ratios"], report["ours"].get("int8")
    print("%.1f s of audio in %d file(s), one thread, median of %d runs"
          % (report["audio_seconds"], len(report["files"]), report["repeat"]), file=out)
    print("%-34s %10s %10s" % ("system", "RTF", "int8 is"), file=out)
    for prec, r in report["ours"].items():
        print("%-34s %10.5f %10s" % ("this project %s, end to end" % prec, r["rtf"],
                                     "%.1fx" % (r["rtf"] / q8["rtf"]) if q8 else "-"), file=out)
    if report["pocketsphinx"]:
        print("%-34s %10.5f %10s" % ("PocketSphinx, end to end", report["pocketsphinx"],
                                     "%.1fx" % ratios.get("pocketsphinx_over_int8_end_to_end", 0)), file=out)
    for prec, r in report["ours"].items():
        print("%-34s %10.5f %10s" % ("this project %s, acoustic model" % prec, r["am_rtf"],
                                     "%.1fx" % (r["am_rtf"] / q8["am_rtf"]) if q8 else "-"), file=out)
    if report["onnxruntime_am"]:
        for name, v in report["onnxruntime_am"].items():
            print("%-34s %10.5f %10s" % ("onnxruntime %s, acoustic model" % name, v,
                                         "%.1fx" % (v / q8["am_rtf"]) if q8 else "-"), file=out)
