#!/usr/bin/env python3
"""Real-time factors of this project beside its peers, in one run, on the
same audio, on one CPU thread:

- this project end to end (features + acoustic model + beam search with
  the LM), float / int16 / int8, and its acoustic model alone;
- PocketSphinx (PyPI ``pocketsphinx``, its bundled default English model),
  end to end;
- onnxruntime running the same acoustic model exported to ONNX
  (tools/onnx_export.py), float and dynamically quantized int8, acoustic
  model alone on the same normalized features.

    pip install pocketsphinx onnxruntime onnx
    python tools/compare_peers.py [--audio FILES] [--model-dir models] [--json]

Ratios are printed, not only times: ``x`` columns are how many times
faster this project's int8 is. Times are medians of --repeat passes after
a warm-up. `asr-rtf --compare` runs this.
"""
import argparse
import json
import os
import sys
import tempfile
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")     # one thread for everyone, before numpy loads

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

PRECISIONS = ("float", "int16", "int8")


def median_time(fn, repeat):
    fn()                                   # warm-up: caches, lazy allocation
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def ours(model_dir, audio, feats, repeat):
    """{precision: {"rtf": end to end, "stages": {...}, "am_s": seconds}}."""
    from asr.model import Model
    from asr.network import Network
    from asr.stream import EndpointConfig, Recognizer
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
        net = Network(model)
        am = median_time(lambda: [net.forward(f) for f in feats], repeat)
        out[prec] = {"rtf": total / seconds, "am_rtf": am / seconds,
                     "stages": {k: v / seconds for k, v in stages.items()}, "kernel": net.kernel}
    return out


def pocketsphinx_rtf(audio, repeat):
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


def onnx_rtf(model_dir, feats, seconds, repeat):
    import onnx
    import onnxruntime as ort
    from asr import reference
    from asr.model import Model
    from onnx_export import quantize_int8, to_onnx
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
    return out


MISSING_HINT = "pip install -e '.[compare]'  (pocketsphinx, onnxruntime, onnx)"


def missing_peers():
    """Names of the peer packages that are not installed."""
    import importlib.util
    return [m for m in ("pocketsphinx", "onnxruntime", "onnx") if importlib.util.find_spec(m) is None]


def measure(audio, files, model_dir, repeat):
    """The whole comparison on `audio` (float arrays at 16 kHz): a report
    dict (the --json object). A peer that is not installed is None."""
    from asr.features import logmel
    from asr.model import Model
    seconds = sum(len(a) for a in audio) / 16000.0
    cfg = Model.load(os.path.join(model_dir, "en-us-float.asrm")).features
    feats = [logmel(a, cfg) for a in audio]
    report = {"audio_seconds": round(seconds, 2), "files": list(files), "threads": 1, "repeat": repeat}
    report["ours"] = ours(model_dir, audio, feats, repeat)
    try:
        report["pocketsphinx"], _ = pocketsphinx_rtf(audio, repeat)
    except ImportError:
        report["pocketsphinx"] = None
    try:
        report["onnxruntime_am"] = onnx_rtf(model_dir, feats, seconds, repeat)
    except ImportError:
        report["onnxruntime_am"] = None
    q8 = report["ours"].get("int8")
    ratios = {}
    if q8 and report["pocketsphinx"]:
        ratios["pocketsphinx_over_int8_end_to_end"] = report["pocketsphinx"] / q8["rtf"]
    if q8 and report["onnxruntime_am"]:
        ratios["ort_int8_over_int8_am"] = report["onnxruntime_am"]["int8"] / q8["am_rtf"]
        ratios["ort_float_over_int8_am"] = report["onnxruntime_am"]["float"] / q8["am_rtf"]
    report["ratios"] = ratios
    return report


def print_report(report, out=sys.stdout):
    """The comparison as a table: RTF and how many times slower than int8."""
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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--audio", nargs="+", help="audio files (default: the bundled samples)")
    ap.add_argument("--model-dir", default=os.path.join(os.path.dirname(HERE), "models"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    from asr.audio import read_audio
    files = args.audio
    if not files:
        sd = os.path.join(args.model_dir, "samples")
        files = sorted(os.path.join(sd, f) for f in os.listdir(sd) if f.endswith((".wav", ".flac")))
    missing = missing_peers()
    if missing:
        print("compare_peers: %s not installed, those peers are skipped; %s"
              % (", ".join(missing), MISSING_HINT), file=sys.stderr)
    report = measure([read_audio(f, 16000) for f in files], files, args.model_dir, args.repeat)
    if args.json:
        print(json.dumps(report))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
