"""Start-up cost of the recognizer: seconds for asr.Recognizer() with the
bundled binary LM and lexicon against the same two as text (an ARPA file and
a CMU-format lexicon), measured in one run after the imports (best of
--rounds).

    git show 94c0c02:models/en-us.arpa.gz > en-us.arpa.gz       # the text forms, from history
    git show 94c0c02:models/en-us.lexicon > en-us.lexicon
    python -m tools.bench_load --arpa en-us.arpa.gz --lexicon en-us.lexicon
"""
import argparse
import time

import asr


def timed(**kw):
    t = time.perf_counter()
    asr.Recognizer(**kw)
    return time.perf_counter() - t


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--arpa", required=True, help="the bundled LM as an ARPA file")
    ap.add_argument("--lexicon", required=True, help="the bundled lexicon as text")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    asr.Recognizer()                                   # imports, file caches
    binary = min(timed() for _ in range(args.rounds))
    text = min(timed(lm=args.arpa, lexicon=args.lexicon) for _ in range(args.rounds))
    print("Recognizer(): binary LM and lexicon %.2f s, ARPA LM and text lexicon %.2f s (%.1fx)"
          % (binary, text, text / binary))


if __name__ == "__main__":
    main()
