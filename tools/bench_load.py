"""Start-up cost of the recognizer: seconds for asr.Recognizer() with the
bundled binary LM against the same LM as an ARPA file, measured in one run
after the imports (best of --rounds).

    python -m tools.bench_load --arpa en-us.arpa.gz     # e.g. from git history
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
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    asr.Recognizer()                                   # imports, file caches
    binary = min(timed() for _ in range(args.rounds))
    arpa = min(timed(lm=args.arpa) for _ in range(args.rounds))
    print("Recognizer(): binary LM %.2f s, ARPA LM %.2f s (%.1fx)" % (binary, arpa, arpa / binary))


if __name__ == "__main__":
    main()
