"""Wall-clock time of one ``asr-decode`` process over a set of recordings,
beside one PocketSphinx process over the same files, measured in one run.

    python -m tools.bench_wall [DATA] [--repeat 5] [--precision int8] [--example]

DATA is a Kaldi directory or TSV as for asr-eval (default: work/real, built
by ``python -m tools.corpus.real_testset``). What a user waits for is the
whole process: interpreter start, imports, loading the model, lexicon and
LM, reading and decoding every file. Both processes are started the same
way (this interpreter) and alternate, each timed ``--repeat`` times; the
medians and their ratio are printed, with each process's peak RSS. The
PocketSphinx process does the least it can: import pocketsphinx and
soundfile, build its default English decoder, decode each file's int16
samples. With ``--example`` the C example program (native/examples/asr_decode.c,
built here with make) runs over the same files too: the recognizer without Python.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

# The PocketSphinx side: one process, its default model, every file.
POCKETSPHINX = r"""
import sys
import soundfile as sf
from pocketsphinx import Decoder
dec = Decoder(loglevel="FATAL")
for path in sys.argv[1:]:
    x, rate = sf.read(path, dtype="int16", always_2d=True)
    if rate != 16000:
        sys.exit("%s: %d Hz; PocketSphinx's default model wants 16000" % (path, rate))
    dec.start_utt()
    dec.process_raw(x[:, 0].tobytes(), full_utt=True)
    dec.end_utt()
    print(path, dec.hyp().hypstr if dec.hyp() else "")
"""


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, "models")


def build_example():
    """Builds the C example into work/build and returns its path."""
    build = os.path.join(ROOT, "work", "build")
    subprocess.run(["make", "-s", "-C", os.path.join(ROOT, "native"), "example", "BUILD=" + build],
                   check=True)
    return os.path.join(build, "native", "asr_decode")


def timed(cmd):
    """(wall seconds, peak RSS in MB) of one run of cmd; raises on failure."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if p.returncode != 0:
        raise SystemExit("%s failed (%d): %s" % (cmd[0], p.returncode, err[-2000:]))
    return wall, usage.ru_maxrss / 1024.0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", nargs="?", default="work/real")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--precision", default="int8", choices=("float", "int16", "int8"))
    ap.add_argument("--example", action="store_true",
                    help="also the C example program, built with make -C native example")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    import soundfile as sf
    from asr.cli.eval import load_data
    files = [wav for _, wav, _ in load_data(args.data)]
    audio_s = sum(sf.info(f).duration for f in files)
    ours = [sys.executable, "-m", "asr.cli.decode", "--precision", args.precision] + files
    peer = [sys.executable, "-c", POCKETSPHINX] + files
    cmds = [("asr-decode", ours), ("pocketsphinx", peer)]
    if args.example:
        cmds.insert(1, ("asr_decode (C)", [build_example(), "--precision", args.precision,
                                           "--models", MODELS] + files))
    runs = {name: [] for name, _ in cmds}
    rss = {}
    for _ in range(max(1, args.repeat)):
        for name, cmd in cmds:
            wall, mb = timed(cmd)
            runs[name].append(wall)
            rss[name] = max(rss.get(name, 0.0), mb)
    med = {k: float(np.median(v)) for k, v in runs.items()}
    out = {"files": len(files), "audio_s": round(audio_s, 2), "precision": args.precision,
           "wall_s": {k: round(v, 3) for k, v in med.items()},
           "wall_rtf": {k: round(v / audio_s, 4) for k, v in med.items()},
           "peak_rss_mb": {k: round(v, 1) for k, v in rss.items()},
           "speedup": round(med["pocketsphinx"] / med["asr-decode"], 2)}
    if args.json:
        print(json.dumps(out))
        return 0
    print("%d files, %.1f s of audio; median of %d runs, one process each" %
          (len(files), audio_s, args.repeat))
    for k in runs:
        print("  %-15s %6.2f s wall  (%.4f x real time)  peak RSS %5.0f MB"
              % (k, med[k], med[k] / audio_s, rss[k]))
    print("  asr-decode (%s) is %.1fx faster than PocketSphinx in wall-clock time"
          % (args.precision, out["speedup"]))
    if args.example:
        print("  the C example is %.1fx faster than PocketSphinx"
              % (med["pocketsphinx"] / med["asr_decode (C)"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
