"""asr-rtf: real-time factor of the whole pipeline, per stage and precision."""
import argparse
import json
import os
import platform
import resource
import sys
import time

from .common import HelpFormatter, error

DESCRIPTION = """\
Profile the real-time factor (processing time / audio time) of features,
acoustic model and decoder, per precision, on this machine.

The first call (model load and weight packing) is timed apart from the
steady state, which is the median of --repeat runs over all the audio.
Single-threaded unless --threads runs that many streams at once."""

JSON_SCHEMA = {
    "platform": "str: native|x86_64|armv7|aarch64",
    "cpu": "str: CPU model", "kernel": "str: kernel path used",
    "audio_seconds": "float",
    "results": "list of {precision, load_s, model_bytes, rtf: {features, model, decoder, total}, "
               "frames_per_s, peak_rss_mb, threads}",
}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") or line.startswith("Model"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def default_audio():
    from ..stream import model_dirs
    for d in model_dirs():
        sd = os.path.join(d, "samples")
        if os.path.isdir(sd):
            files = sorted(os.path.join(sd, f) for f in os.listdir(sd)
                           if f.endswith((".wav", ".flac")))
            if files:
                return files
    return []


def parse_args(argv):
    p = argparse.ArgumentParser(prog="asr-rtf", description=DESCRIPTION, formatter_class=HelpFormatter)
    p.add_argument("--platform", default="native", choices=("native", "x86_64", "armv7", "aarch64"))
    p.add_argument("--precision", default="float,int16,int8")
    p.add_argument("--kernel", default="auto",
                   help="auto, ref, sse41, avx2, avx512vnni, neon, neondot")
    p.add_argument("--audio", nargs="+", help="audio files (default: the bundled samples)")
    p.add_argument("--threads", type=int, default=1, help="streams decoded concurrently")
    p.add_argument("--repeat", type=int, default=5, help="steady-state repetitions (median is reported)")
    p.add_argument("--json", action="store_true", help="one JSON object (schema in README)")
    p.add_argument("--model-dir", help="directory with en-us-{float,int16,int8}.asrm")
    return p.parse_args(argv)


def profile(precision, audio, args):
    from ..model import Model
    from ..stream import Recognizer, default_model_path, EndpointConfig
    path = (os.path.join(args.model_dir, "en-us-%s.asrm" % precision) if args.model_dir
            else default_model_path(precision))
    t0 = time.perf_counter()
    rec = Recognizer(model=Model.load(path), kernel=args.kernel, endpoint=EndpointConfig(enabled=False))
    load_s = time.perf_counter() - t0
    seconds = sum(len(a) for a in audio) / float(rec.sample_rate)

    def one_pass():
        totals = {"features": 0.0, "model": 0.0, "decoder": 0.0}
        frames = 0

        def run(x):
            s = rec.stream()
            s.accept(x)
            s.finish()
            return s.timings

        if args.threads > 1:
            from concurrent.futures import ThreadPoolExecutor
            t = time.perf_counter()
            with ThreadPoolExecutor(args.threads) as ex:
                list(ex.map(run, audio * args.threads))
            wall = time.perf_counter() - t
            return {"total": wall / (seconds * args.threads)}, 0
        for x in audio:
            tm = run(x)
            for k in totals:
                totals[k] += tm[k]
            frames += len(x) // int(rec.model.features.hop_s * rec.sample_rate)
        rtf = {k: v / seconds for k, v in totals.items()}
        rtf["total"] = sum(totals.values()) / seconds
        return rtf, frames

    one_pass()                                   # warm-up (caches, page faults)
    runs = [one_pass() for _ in range(max(1, args.repeat))]
    runs.sort(key=lambda r: r[0]["total"])
    rtf, frames = runs[len(runs) // 2]
    total = rtf["total"]
    return {"precision": precision, "kernel": rec.network.kernel, "load_s": round(load_s, 4),
            "model_bytes": os.path.getsize(path),
            "rtf": {k: round(v, 6) for k, v in rtf.items()},
            "frames_per_s": round(frames / (total * seconds), 1) if frames and total else None,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
            "threads": args.threads}


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from ..errors import AsrError
    host = platform.machine().lower()
    host_plat = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}.get(
        host, "armv7" if host.startswith("armv7") else host)
    plat = host_plat if args.platform == "native" else args.platform
    if plat != host_plat:
        error("asr-rtf: --platform %s on a %s host needs the cross-compiled driver under qemu, "
              "which is not built yet (issue: asr-rtf cross platforms); run on a %s board, or use "
              "--platform native" % (plat, host_plat, plat))
        return 2
    precisions = [x.strip() for x in args.precision.split(",") if x.strip()]
    from ..audio import read_audio
    files = args.audio or default_audio()
    if not files:
        error("asr-rtf: no audio: pass --audio FILES (no bundled samples found)")
        return 2
    try:
        audio = [read_audio(f, 16000) for f in files]
        results = [profile(p, audio, args) for p in precisions]
    except AsrError as exc:
        error("asr-rtf: %s" % exc)
        return 1
    report = {"platform": plat, "cpu": cpu_model(), "audio_seconds": round(sum(len(a) for a in audio) / 16000.0, 2),
              "files": files, "results": results}
    if args.json:
        print(json.dumps(report))
        return 0
    print("%s, %s, %.1f s of audio, %d thread(s)" % (plat, report["cpu"], report["audio_seconds"], args.threads))
    print("%-9s %-11s %8s %8s %8s %8s %9s %8s %9s" % ("precision", "kernel", "rtf.feat", "rtf.am",
                                                     "rtf.dec", "rtf", "frames/s", "load s", "model MB"))
    for r in results:
        x = r["rtf"]
        print("%-9s %-11s %8.4f %8.4f %8.4f %8.4f %9s %8.3f %9.2f" % (
            r["precision"], r["kernel"], x.get("features", 0), x.get("model", 0), x.get("decoder", 0),
            x["total"], r["frames_per_s"] or "-", r["load_s"], r["model_bytes"] / 1e6))
    return 0


if __name__ == "__main__":
    sys.exit(main())
