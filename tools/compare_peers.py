#!/usr/bin/env python3
"""Real-time factors of this project beside PocketSphinx and onnxruntime, in
one run, on the same audio (the measurement is asr/peers.py; `asr-rtf
--compare` runs it too, beside its own per-stage table).

    pip install pocketsphinx onnxruntime onnx
    python -m tools.compare_peers [--audio FILES] [--model-dir models] [--json]
"""
import argparse
import json
import os
import sys

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")     # one thread for everyone, before numpy loads

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--audio", nargs="+", help="audio files (default: the bundled samples)")
    ap.add_argument("--model-dir", default=os.path.join(os.path.dirname(HERE), "models"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    from asr import peers
    from asr.audio import read_audio
    files = args.audio
    if not files:
        sd = os.path.join(args.model_dir, "samples")
        files = sorted(os.path.join(sd, f) for f in os.listdir(sd) if f.endswith((".wav", ".flac")))
    missing = peers.missing_peers()
    if missing:
        print("compare_peers: %s not installed, those peers are skipped; %s"
              % (", ".join(missing), peers.MISSING_HINT), file=sys.stderr)
    report = peers.measure([read_audio(f, 16000) for f in files], files, args.model_dir, args.repeat)
    if args.json:
        print(json.dumps(report))
    else:
        peers.print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
