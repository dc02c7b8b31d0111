#!/usr/bin/env python3
"""WER of PocketSphinx (PyPI ``pocketsphinx``, its default English model) on
a data set, scored exactly as asr-eval scores this project.

    pip install pocketsphinx
    python -m tools.pocketsphinx_wer work/real [--every N] [--json]

The baseline the bundled model is compared with in the model card.
"""
import argparse
import json
import sys

import numpy as np


from asr.audio import read_audio  # noqa: E402
from asr.cli.eval import load_data  # noqa: E402
from asr.text import ErrorCounts, normalize  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", help="TSV (PATH<TAB>REF) or Kaldi directory, as for asr-eval")
    ap.add_argument("--every", type=int, default=1,
                    help="every Nth utterance in file order, as asr-eval --every")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    from pocketsphinx import Decoder
    dec = Decoder(loglevel="FATAL")
    counts = ErrorCounts()
    rows = []
    for utt, wav, ref in load_data(args.data)[::max(1, args.every)]:
        x = read_audio(wav, 16000)
        dec.start_utt()
        dec.process_raw((np.clip(x, -1, 1) * 32767).astype(np.int16).tobytes(), full_utt=True)
        dec.end_utt()
        hyp = normalize(dec.hyp().hypstr if dec.hyp() else "")
        counts.add(normalize(ref), hyp)
        rows.append((utt, hyp))
    if args.json:
        print(json.dumps(dict(counts.to_dict(), hyps=dict(rows))))
    else:
        for utt, hyp in rows:
            print("%s\t%s" % (utt, hyp))
        print("PocketSphinx: WER %.2f%% (%d sub, %d del, %d ins / %d words), SER %.2f%%"
              % (100 * counts.wer, counts.sub, counts.dele, counts.ins, counts.ref_words, 100 * counts.ser))
    return 0


if __name__ == "__main__":
    sys.exit(main())
