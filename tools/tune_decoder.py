#!/usr/bin/env python3
"""Grid-search the decoder's LM weight, word bonus, prior weight and beam on a dev set.

    python -m tools.tune_decoder work/corpus/valid --utts 300 [--precision int8]
    python -m tools.tune_decoder work/corpus/cv-valid work/corpus/so762-valid   # pooled

The acoustic model runs once per utterance; every decoder setting then
decodes the same log-probabilities, so the grid costs decoder time only.
Tune on validation data held out of training: the recorded sets' held-out
parts (tools/corpus/real_sets.py), or the synthetic validation split; never
on a test set. Several directories are pooled, --utts from each.
Prints WER per setting, best first; the bundled defaults are set in C
(asr_decoder_opts_default, native/src/files.c) and read by asr/decoder.py.
"""
import argparse
import itertools
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from asr.audio import read_audio  # noqa: E402
from asr.cli.eval import load_data  # noqa: E402
from asr.decoder import DEFAULTS, build_decoder  # noqa: E402
from asr.features import logmel  # noqa: E402
from asr.lm import load_lm  # noqa: E402
from asr.lexicon import load_lexicon  # noqa: E402
from asr.model import Model  # noqa: E402
from asr.network import Network  # noqa: E402
from asr.stream import default_model_path, find_model_file  # noqa: E402
from asr.text import ErrorCounts, normalize  # noqa: E402


def floats(s):
    return [float(x) for x in s.split(",")]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", nargs="+", help="Kaldi-style directories or TSVs, as for asr-eval")
    ap.add_argument("--utts", type=int, default=300, help="utterances drawn from each data set")
    ap.add_argument("--precision", default="int8")
    ap.add_argument("--lm-weight", type=floats, default=floats("0.4,0.6,0.8,1.0,1.2"))
    ap.add_argument("--word-bonus", type=floats, default=floats("-1,0,1,2,3"))
    ap.add_argument("--prior-weight", type=floats, default=[round(DEFAULTS["prior_weight"], 4)],
                    help="weights of the model's label log-priors (it must have them when > 0; "
                         "default: the decoder's)")
    ap.add_argument("--beam", type=floats, default=[16])
    ap.add_argument("--prune", type=floats, default=[8.0], help="per-frame label pruning (log)")
    ap.add_argument("--beam-delta", type=floats, default=[25.0], help="score beam (log)")
    args = ap.parse_args(argv)

    items = []
    for data in args.data:
        these = sorted(load_data(data))
        items += random.Random(0).sample(these, min(args.utts, len(these)))
    model = Model.load(default_model_path(args.precision))
    net = Network(model)
    lps = []
    for _, wav, _ in items:
        x = read_audio(wav, model.features.sample_rate)
        lps.append(net.forward(logmel(x, model.features)))
    lex = load_lexicon(find_model_file("en-us.asrlex"), model.labels)
    lm = load_lm(find_model_file("en-us.asrlm"))
    rows = []
    shift = model.features.hop_s * model.subsampling
    if max(args.prior_weight) > 0 and model.label_log_prior is None:
        ap.error("the %s model has no label priors (tools/label_prior.py)" % args.precision)
    grid = itertools.product(args.lm_weight, args.word_bonus, args.prior_weight, args.beam,
                             args.prune, args.beam_delta)
    for lw, wb, pw, beam, prune, delta in grid:
        dec = build_decoder(model.labels, lex, lm if lw > 0 else False, frame_shift_s=shift,
                            lm_weight=lw, word_bonus=wb, beam=int(beam), prune=prune, beam_delta=delta,
                            prior_weight=pw, label_log_prior=model.label_log_prior)
        counts = ErrorCounts()
        t0 = time.perf_counter()
        for (_, _, ref), lp in zip(items, lps):
            s = dec.stream()
            s.accept(lp)
            counts.add(normalize(ref), normalize(s.finish().text))
        rows.append((counts.wer, lw, wb, pw, int(beam), prune, delta, time.perf_counter() - t0))
        print("lm_weight %.2f word_bonus %+.1f prior_weight %.2f beam %d prune %.0f beam_delta %.0f: "
              "WER %.2f%% (%.1f s)" % (lw, wb, pw, beam, prune, delta, 100 * counts.wer, rows[-1][-1]),
              flush=True)
    print("best first:")
    for wer, lw, wb, pw, beam, prune, delta, t in sorted(rows)[:8]:
        print("  WER %.2f%%  lm_weight %.2f word_bonus %+.1f prior_weight %.2f beam %d prune %.0f "
              "beam_delta %.0f (%.1f s)" % (100 * wer, lw, wb, pw, beam, prune, delta, t))
    return 0


if __name__ == "__main__":
    sys.exit(main())
