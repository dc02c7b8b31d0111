"""Start-up cost of the recognizer, measured in one run after the imports
(best of --rounds):

- ``asr.Recognizer()`` with the bundled model, binary lexicon and binary LM;
- the same files loaded by the C library alone (``asr_recognizer_load``,
  what a C program such as native/examples/asr_decode.c does);
- the peak resident memory (VmHWM) of a fresh Python process that imports
  the recognizer's modules, and of one that also builds the Recognizer
  (their difference is the recognizer's share);
- with ``--arpa`` and ``--lexicon``, ``Recognizer()`` with the text forms.

    python -m tools.bench_load
    git show 94c0c02:models/en-us.arpa.gz > en-us.arpa.gz       # the text forms, from history
    git show 94c0c02:models/en-us.lexicon > en-us.lexicon
    python -m tools.bench_load --arpa en-us.arpa.gz --lexicon en-us.lexicon
"""
import argparse
import subprocess
import sys
import time

import asr
from asr._native import check, ffi, lib, new_status
from asr.resources import default_model_path, find_model_file

# VmHWM (the process's peak resident set) rather than ru_maxrss, which
# after fork + exec can still hold the parent's size.
RSS = ("import asr\n%s\n"
       "print([int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')][0] / 1024.0)")


def best(fn, rounds):
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def c_load(precision="int8"):
    """asr_recognizer_load on the bundled files, then free."""
    out = ffi.new("asr_recognizer **")
    st = new_status()
    check(lib.asr_recognizer_load(default_model_path(precision).encode(),
                                  find_model_file("en-us.asrlex").encode(),
                                  find_model_file("en-us.asrlm").encode(),
                                  lib.ASR_KERNEL_AUTO, ffi.NULL, out, st), st)
    lib.asr_recognizer_free(out[0])


def peak_rss_mb(code):
    out = subprocess.run([sys.executable, "-c", RSS % code], capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--arpa", help="the bundled LM as an ARPA file (with --lexicon)")
    ap.add_argument("--lexicon", help="the bundled lexicon as text")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    asr.Recognizer()                                   # imports, file caches
    py = best(asr.Recognizer, args.rounds)
    c = best(c_load, args.rounds)
    base, full = peak_rss_mb("import asr.stream"), peak_rss_mb("asr.Recognizer()")
    print("Recognizer() (bundled int8 model, binary lexicon and LM): %.3f s" % py)
    print("asr_recognizer_load (the same files from C):              %.3f s" % c)
    print("peak RSS of a process: with asr's modules imported %.0f MB, after Recognizer() %.0f MB"
          " (the recognizer: %.0f MB)" % (base, full, full - base))
    if args.arpa and args.lexicon:
        text = best(lambda: asr.Recognizer(lm=args.arpa, lexicon=args.lexicon), args.rounds)
        print("Recognizer() with the ARPA LM and text lexicon:           %.2f s (%.1fx the binary)"
              % (text, text / py))


if __name__ == "__main__":
    main()
