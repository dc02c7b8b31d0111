#!/usr/bin/env python3
"""Streaming latency: per-chunk processing time for 10, 100 and 500 ms
chunks, and the delay from the end of speech to the final result.

    python -m tools.bench_stream [--audio FILES] [--precision int8]

Each file is fed as a live source would feed it, one chunk at a time
(without sleeping: the numbers are compute time, measured per call).
End-of-speech latency has two parts, reported apart:
- audio latency: how much audio after the last speech frame the stream had
  to receive before it emitted the final result (the endpoint's trailing
  silence plus the model's right context, rounded up to a chunk);
- compute latency: the processing time of the call that emitted it.
The end of speech is taken as the end of the last word of the final result.
"""
import argparse
import sys
import time

import numpy as np



def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--audio", nargs="+")
    ap.add_argument("--precision", default="int8")
    ap.add_argument("--chunks-ms", default="10,100,500")
    ap.add_argument("--pad-silence", type=float, default=1.5, help="seconds of silence appended")
    args = ap.parse_args(argv)
    from asr.audio import read_audio
    from asr.cli.rtf import default_audio
    from asr.stream import Recognizer
    files = args.audio or default_audio()
    rec = Recognizer(precision=args.precision)
    audio = [np.concatenate([read_audio(f, 16000), np.zeros(int(args.pad_silence * 16000), np.float32)])
             for f in files]
    print("%d file(s), %s, endpoint after %.2f s of blank, model right context %.2f s"
          % (len(files), args.precision, rec.endpoint.endpoint_silence_s,
             rec.model.pad_right * rec.model.features.hop_s))
    print("%8s %12s %12s %12s %14s %14s" % ("chunk", "mean ms", "p95 ms", "max ms", "audio lat. s",
                                             "compute lat. ms"))
    for ms in (int(x) for x in args.chunks_ms.split(",")):
        n = 16 * ms
        times, alat, clat = [], [], []
        for x in audio:
            s = rec.stream()
            pos = 0
            for i in range(0, len(x), n):
                t = time.perf_counter()
                p = s.accept(x[i:i + n])
                dt = time.perf_counter() - t
                times.append(dt)
                pos = i + len(x[i:i + n])
                for r in p.finals:
                    if r.words:
                        alat.append(pos / 16000.0 - r.words[-1].end)
                        clat.append(dt)
            s.finish()
        t = np.array(times) * 1000
        print("%6d ms %12.3f %12.3f %12.3f %14s %14s" % (
            ms, t.mean(), np.percentile(t, 95), t.max(),
            "%.2f" % np.median(alat) if alat else "-", "%.2f" % (1000 * np.median(clat)) if clat else "-"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
