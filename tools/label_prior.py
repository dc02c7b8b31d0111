#!/usr/bin/env python3
"""Label priors for the decoder's prior correction, written into model files.

The prior of a label is its mean posterior in a model's output over training
speech: the blank takes most frames, frequent phones more than rare ones.
The beam search subtracts prior_weight times its natural log from every
frame (asr_decoder_set_label_prior), which a CTC network's habit of putting
almost all frames on the blank otherwise leaves uncorrected.

    python -m tools.label_prior models/en-us-float.asrm \\
        --write models/en-us-float.asrm models/en-us-int16.asrm models/en-us-int8.asrm

The priors come from the model given first (float: one definition for all
precisions) on --utts evenly spaced utterances of each --splits directory
(training data only: the recorded training sets and the synthetic corpus,
rebuilt under work/corpus by tools/corpus). Each file in --write is loaded,
given the priors and saved again; nothing else in it changes.
"""
import argparse
import os
import sys

import numpy as np

from asr.audio import read_audio           # noqa: E402
from asr.cli.eval import load_data         # noqa: E402
from asr.features import logmel            # noqa: E402
from asr.model import MAX_NEG_LOG_PRIOR, Model   # noqa: E402
from asr.network import Network            # noqa: E402


def label_log_prior(model, paths):
    """Natural log of each label's mean posterior over the recordings."""
    net = Network(model)
    total = np.zeros(len(model.labels))
    frames = 0
    for path in paths:
        x = read_audio(path, model.features.sample_rate)
        post = np.exp(net.forward(logmel(x, model.features)).astype(np.float64))
        total += post.sum(axis=0)
        frames += len(post)
    if frames == 0:
        raise SystemExit("no frames to estimate the priors from")
    prior = np.log(np.maximum(total / frames, np.exp(-MAX_NEG_LOG_PRIOR)))
    return np.minimum(prior, 0.0).astype(np.float32)


def spaced(items, n):
    """n items evenly spaced over ``items`` (all when there are fewer)."""
    if n >= len(items):
        return list(items)
    return [items[int(i * len(items) / n)] for i in range(n)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("model", help="the model whose output defines the priors")
    ap.add_argument("--write", nargs="*", default=[], help="model files to store the priors in")
    ap.add_argument("--corpus", default=os.path.join(os.environ.get("ASR_WORK", "work"), "corpus"))
    ap.add_argument("--splits", default="cv-train,so762-train,train",
                    help="training directories under --corpus")
    ap.add_argument("--utts", type=int, default=200, help="utterances of each split")
    args = ap.parse_args(argv)
    model = Model.load(args.model)
    paths = []
    for split in args.splits.split(","):
        items = load_data(os.path.join(args.corpus, split))
        paths += [wav for _, wav, _ in spaced(sorted(items), args.utts)]
    prior = label_log_prior(model, paths)
    for label, p in sorted(zip(model.labels, prior), key=lambda t: -t[1])[:5]:
        print("%-6s %.4f" % (label, np.exp(p)))
    print("... over %d utterances of %s" % (len(paths), args.splits))
    for path in args.write:
        m = Model.load(path)
        if m.labels != model.labels:
            raise SystemExit("%s has other labels than %s" % (path, args.model))
        m.label_log_prior = prior
        m.meta = dict(m.meta, label_prior={"from": os.path.basename(args.model),
                                           "splits": args.splits, "utterances": len(paths)})
        m.save(path)
        print("wrote the priors into", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
