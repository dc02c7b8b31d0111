#!/usr/bin/env python3
"""Compare quantization schemes and precisions on a float model.

    python -m tools.quant_report [--model models/en-us-float.asrm] [--json]

Calibrates on utterances of the training corpora (synthetic and recorded)
and measures on validation utterances held out of training (recorded and
synthetic; never the same audio), for every scheme (symmetric per-channel,
asymmetric min/max) and precision (int16; int8 with 7-bit weights, the
default; int8w8, int8 with 8-bit weights; mixed: first and last layer
int16): per-layer SQNR in dB, max and mean absolute error of the output
log-probabilities, and frame agreement (same best label as float). The
model card's quantization table is this script's output.
"""
import argparse
import json
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from asr import quantize  # noqa: E402
from asr.audio import read_audio  # noqa: E402
from asr.cli.eval import load_data  # noqa: E402
from asr.features import logmel  # noqa: E402
from asr.model import Model  # noqa: E402


def kaldi_wavs(d):
    """Audio paths of a Kaldi-style directory, in wav.scp order."""
    return [wav for _, wav, _ in load_data(d)]


def features(model, wavs, n, seed):
    wavs = random.Random(seed).sample(wavs, min(n, len(wavs)))
    return [logmel(read_audio(w, model.features.sample_rate), model.features) for w in wavs]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "en-us-float.asrm"))
    ap.add_argument("--corpus", default=os.path.join(ROOT, "work", "corpus"))
    ap.add_argument("--calib", default="train,cv-train,so762-train",
                    help="corpus directories to calibrate on (utterances spread evenly)")
    ap.add_argument("--held", default="cv-valid,so762-valid,valid",
                    help="corpus directories to measure on (held out of training)")
    ap.add_argument("--calib-utts", type=int, default=200)
    ap.add_argument("--eval-utts", type=int, default=150)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    model = Model.load(args.model)

    def pooled(names, n, seed):
        names = names.split(",")
        return [f for i, name in enumerate(names)
                for f in features(model, kaldi_wavs(os.path.join(args.corpus, name)),
                                  -(-n // len(names)), seed + i)]
    calib = pooled(args.calib, args.calib_utts, 0)
    held = pooled(args.held, args.eval_utts, 100)
    rows = []
    # int8 with 7-bit weights (the default, fast on SSE4.1/AVX2) and 8-bit.
    for spec, prec, bits in (("int16", "int16", 7), ("int8", "int8", 7), ("int8w8", "int8", 8),
                             ("mixed", "mixed", 7)):
        for scheme, rep in quantize.compare_schemes(model, calib, held, prec, bits).items():
            rows.append(dict(rep.to_dict(), precision_spec=spec, int8_weight_bits=bits))
    if args.json:
        print(json.dumps(rows))
        return 0
    print("calibration: %d utterances of %s; measured on %d of %s"
          % (len(calib), args.calib, len(held), args.held))
    print("%-6s %-10s %9s %9s %9s %8s  %s" % ("prec", "scheme", "minSQNR", "max|err|", "mean|err|",
                                             "agree%", "per-layer SQNR dB"))
    for r in rows:
        s = r["layer_sqnr_db"]
        print("%-6s %-10s %9.1f %9.3f %9.4f %8.2f  %s" % (
            r["precision_spec"], r["scheme"], min(s), r["max_abs_logprob_error"],
            r["mean_abs_logprob_error"], 100 * r["frame_agreement"], " ".join("%.1f" % x for x in s)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
