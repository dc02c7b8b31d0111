"""asr-rtf: real-time factor of the whole pipeline, per stage and precision."""
import argparse
import json
import os
import platform
import sys
import textwrap
import time

from .common import HelpFormatter, Progress, add_progress_option, error

DESCRIPTION = """\
Profile the real-time factor (processing time / audio time) of features,
acoustic model and decoder, per precision, on this machine.

The first call (model load and weight packing) is timed apart from the
steady state, which is the median of --repeat runs over all the audio.
Single-threaded unless --threads runs that many streams at once.

--platform armv7 or aarch64 on an x86 machine cross-compiles the C
recognizer (native/tests/pipeline_driver.c, the example's code path) and
runs the whole pipeline under qemu-user on the WAV files (apt-get install
gcc-arm-linux-gnueabihf gcc-aarch64-linux-gnu qemu-user). Nothing is timed
there: it checks that transcripts and log-probabilities equal this
machine's bit for bit, counts the ARM instructions of each stage per
second of audio, estimates each stage's RTF and the total on a reference
core (Cortex-A7 @ 1.2 GHz; Cortex-A53 @ 1.4 GHz and Cortex-A55 @ 1.8 GHz)
from the cost model of asr/cross.py, and prints the device fit: flash
(model + lexicon + LM + code) and peak RAM (--repeat and --threads do not
apply). On an ARM machine of that platform it measures, as natively."""

# The --json object, one per run. Values are "type: meaning"; the type
# (before the colon) is checked by tests/test_rtf_cross.py.
JSON_SCHEMA = {
    "platform": "str: the platform measured or emulated: x86_64, armv7 or aarch64",
    "mode": "str: 'measured' (timed on this machine) or 'emulated' (run under qemu-user, nothing timed)",
    "host": "str: this machine's platform",
    "cpu": "str: this machine's CPU model",
    "audio_seconds": "float: seconds of audio in the run",
    "files": "list: the audio files",
    "results": "list: mode measured: one RESULT_SCHEMA object per precision; [] when emulated",
    "cross": "list: mode emulated: one CROSS_SCHEMA object per precision and reference core; "
             "[] when measured",
    "cost_model": "dict|null: mode emulated: {efficiency, cores: {core: {clock_ghz, kernel, "
                  "macs_per_cycle: {precision: float}, ipc: {features, search}}}}",
    "compare": "dict|null: with --compare, the report of asr/peers.py: {audio_seconds, "
               "files, threads, repeat, ours: {precision: {rtf, am_rtf, stages, kernel}}, "
               "pocketsphinx: float|null, onnxruntime_am: {float, int8}|null, ratios}",
}
RESULT_SCHEMA = {
    "precision": "str: float, int16 or int8",
    "kernel": "str: kernel used",
    "load_s": "float: model load and weight packing, seconds",
    "model_bytes": "int: model file size",
    "rtf": "dict: {features, model, decoder, total}: seconds per second of audio (median run)",
    "frames_per_s": "float|null: feature frames per second of processing (null with --threads > 1)",
    "peak_rss_mb": "float: peak resident memory of the process, MB",
    "threads": "int: streams decoded concurrently",
}
CROSS_SCHEMA = {
    "precision": "str: float, int16 or int8",
    "model_bytes": "int: model file size",
    "core": "str: reference core of the estimate (Cortex-A7, Cortex-A53, Cortex-A55)",
    "clock_ghz": "float: its assumed clock",
    "qemu_cpu": "str: the CPU qemu emulated (it selects the kernel)",
    "kernel": "str: kernel the ARM run used",
    "host_kernel": "str: kernel of this machine's reference run",
    "transcripts_identical": "bool: every final's text and span and every word's text, times and "
                             "confidence equal to this machine's (asr.Recognizer)",
    "texts_identical": "bool: the same without confidences: texts, spans and word times",
    "features_identical": "bool: every feature value equal, bit for bit, to this machine's",
    "features_max_abs_diff": "float|null: largest difference of a feature value (null: shapes differ)",
    "bit_identical": "bool: every log-probability equal, bit for bit, to this machine's",
    "max_abs_diff": "float|null: largest difference of a log-probability, nats (null: shapes differ)",
    "host_driver_identical": "bool: the driver built for this machine gives the same transcripts "
                             "and log-probabilities as the Python API",
    "macs_per_audio_s": "float: multiply-accumulates of the acoustic model per second of audio",
    "instructions_per_audio_s": "dict|null: ARM instructions executed per second of audio, counted "
                                "under qemu: {features, network, search, total} (null: qemu without "
                                "plugin support)",
    "instructions_per_mac": "float|null: the network's instructions per multiply-accumulate",
    "estimated_rtf": "dict: {features, network, search, total}: ESTIMATE of each stage's RTF on the "
                     "core from the cost model, not a measurement (features, search and total null "
                     "without instruction counts)",
    "device": "dict: {flash_bytes, model_bytes, lexicon_bytes, lm_bytes, code_bytes, "
              "live_after_load_bytes, load_peak_bytes, load_peak_with_mapped_bytes, "
              "decode_peak_bytes, peak_ram_bytes} (DEVICE_NOTES)",
}
DEVICE_NOTES = """\
flash = model + lexicon + LM file sizes + code (text + data of the C library's
objects for the platform, from the cross binutils' size; libc and the
driver not included). RAM is heap bytes counted by the driver
(native/tests/heap_count.c): live after load; load peak, the most held while
loading; with mapped, the same plus the files the loaders map read-only while
reading them (file-backed pages, released before the load returns); decode
peak, the most a stream adds on top while decoding a file (its WAV samples
not counted); peak RAM = max(load peak, live + decode peak). Stacks and the
allocator's per-block headers are not counted."""

# Float outputs may differ across instruction sets (fused versus separate
# multiply-add, armv7 NEON flushing subnormals); log-probabilities within
# this many nats still count as agreeing. Integer models must be identical.
FLOAT_TOLERANCE = 1e-4


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
    p.add_argument("--platform", default="native", choices=("native", "x86_64", "armv7", "aarch64"),
                   help="native: this machine; another platform is run under qemu-user "
                        "(whole pipeline, estimated, see above)")
    p.add_argument("--precision", default="float,int16,int8")
    p.add_argument("--kernel", default="auto",
                   help="auto, ref, sse41, avx2, avx512vnni, neon, neondot (under qemu: the ARM "
                        "run's path; auto honours ASR_KERNEL)")
    p.add_argument("--frontend", default="auto", choices=("auto", "int", "float"),
                   help="feature frontend of the int8/int16 models (float models: float)")
    p.add_argument("--audio", nargs="+", help="audio files (default: the bundled samples)")
    p.add_argument("--threads", type=int, default=1, help="streams decoded concurrently")
    p.add_argument("--repeat", type=int, default=5, help="steady-state repetitions (median is reported)")
    p.add_argument("--json", action="store_true", help="one JSON object (JSON_SCHEMA in asr/cli/rtf.py)")
    p.add_argument("--model-dir", help="directory with en-us-{float,int16,int8}.asrm")
    p.add_argument("--compare", action="store_true",
                   help="also measure PocketSphinx and onnxruntime on the same audio "
                        "(asr/peers.py; needs the 'compare' extra: pocketsphinx, onnxruntime, onnx)")
    p.add_argument("--plot", metavar="PNG", help="draw a bar chart of the results (needs matplotlib)")
    add_progress_option(p)
    return p.parse_args(argv)


def model_path(precision, args):
    from ..stream import default_model_path
    return (os.path.join(args.model_dir, "en-us-%s.asrm" % precision) if args.model_dir
            else default_model_path(precision))


def profile(precision, audio, args):
    from ..model import Model
    from ..stream import Recognizer, EndpointConfig
    path = model_path(precision, args)
    t0 = time.perf_counter()
    model = Model.load(path)
    rec = Recognizer(model=model, kernel=args.kernel, endpoint=EndpointConfig(enabled=False),
                     frontend="auto" if model.layers[0].dtype == "float" else args.frontend)
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
            "peak_rss_mb": peak_rss_mb(),
            "threads": args.threads}


def side_file(name, args):
    """The lexicon or LM beside the models of --model-dir, else the bundled one."""
    from ..resources import find_model_file
    if args.model_dir and os.path.exists(os.path.join(args.model_dir, name)):
        return os.path.join(args.model_dir, name)
    return find_model_file(name)


def profile_cross(precision, files, args):
    """The whole pipeline at `precision` under qemu for args.platform: one
    CROSS_SCHEMA dict per reference core of the platform."""
    from .. import cross
    path = model_path(precision, args)
    lexicon, lm = side_file("en-us.asrlex", args), side_file("en-us.asrlm", args)
    frontend = "float" if precision == "float" else args.frontend
    run = cross.run_pipeline(args.platform, path, lexicon, lm, files, kernel=args.kernel,
                             frontend=frontend)
    seconds, macs, fl = run["audio_seconds"], run["macs"], run["flash"]
    rows = []
    for r in run["cores"]:
        insns, mem, est = r["instructions"], r["memory"], r["est_seconds"]
        per_s = None
        if insns is not None:
            per_s = {k: round(insns[k] / seconds, 1) for k in cross.STAGES}
            per_s["total"] = round(sum(insns[k] for k in cross.STAGES) / seconds, 1)
        rows.append({
            "precision": precision, "model_bytes": fl["model"],
            "core": r["core"], "clock_ghz": r["clock_ghz"], "qemu_cpu": r["qemu_cpu"],
            "kernel": r["kernel"], "host_kernel": run["host_kernel"],
            "transcripts_identical": r["transcripts_identical"], "texts_identical": r["texts_identical"],
            "features_identical": r["features_identical"],
            "features_max_abs_diff": r["features_max_abs_diff"],
            "bit_identical": r["bit_identical"], "max_abs_diff": r["max_abs_diff"],
            "host_driver_identical": run["host_driver_identical"],
            "macs_per_audio_s": round(macs / seconds, 1),
            "instructions_per_audio_s": per_s,
            "instructions_per_mac": round(insns["network"] / macs, 4) if insns is not None else None,
            "estimated_rtf": {k: (round(v / seconds, 6) if v is not None else None) for k, v in est.items()},
            "device": {"flash_bytes": fl["total"], "model_bytes": fl["model"],
                       "lexicon_bytes": fl["lexicon"], "lm_bytes": fl["lm"],
                       "code_bytes": fl["code_text"] + fl["code_data"],
                       "live_after_load_bytes": mem["live_after_load"],
                       "load_peak_bytes": mem["load_heap_peak"],
                       "load_peak_with_mapped_bytes": mem["load_mapped_peak"],
                       "decode_peak_bytes": mem["decode_peak"], "peak_ram_bytes": mem["peak"]},
        })
        if r["kernel"] != r["est_kernel"]:
            error("asr-rtf: note: the %s estimate is for the %s kernel; the emulated run used %s"
                  % (r["core"], r["est_kernel"], r["kernel"]))
    return rows


def cost_model_summary():
    from .. import cross
    return {"efficiency": cross.EFFICIENCY,
            "cores": {k: {"clock_ghz": c.clock_hz / 1e9, "kernel": c.kernel,
                          "macs_per_cycle": {p: round(v, 4) for p, v in c.macs_per_cycle.items()},
                          "ipc": dict(c.ipc)}
                      for k, c in cross.CORES.items()}}


def outputs_agree(row):
    """Integer models: transcripts and log-probabilities bit for bit. Float:
    the same texts and word times, log-probabilities within FLOAT_TOLERANCE
    (word confidences follow the log-probabilities)."""
    if row["transcripts_identical"] and row["bit_identical"]:
        return True
    return row["precision"] == "float" and row["texts_identical"] \
        and row["max_abs_diff"] is not None and row["max_abs_diff"] <= FLOAT_TOLERANCE


def run_compare(audio, files, args, step=None):
    """asr/peers.py's measurement on the same audio: the report dict.
    ``step(label)`` is called after each measurement (progress)."""
    from .. import peers
    model_dir = args.model_dir or os.path.dirname(model_path("int8", args))
    return peers.measure(audio, files, model_dir, max(1, args.repeat), step=step)


def check_compare_available():
    """Name the missing peers on stderr. Returns False when none of them is
    installed (--compare would have nothing to compare)."""
    from .. import peers
    missing = peers.missing_peers()
    if len(missing) == len(peers.PEER_MODULES):
        error("asr-rtf: --compare needs the peers it compares with, and none is installed (%s): %s"
              % (", ".join(missing), peers.MISSING_HINT))
        return False
    if missing:
        error("asr-rtf: --compare: %s not installed, so those peers are left out; %s"
              % (", ".join(missing), peers.MISSING_HINT))
    return True


def check_plot_available():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def plot(report, out_png):
    """Bar chart: measured RTF per precision stacked by stage (and peers with
    --compare), or the estimated acoustic-model RTF per precision and core."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 4.5))
    if report["mode"] == "emulated":
        rows = report["cross"]
        labels = ["%s\n%s" % (r["precision"], r["core"]) for r in rows]
        bottom = [0.0] * len(rows)
        for stage, name in (("features", "features"), ("network", "acoustic model"), ("search", "search")):
            vals = [r["estimated_rtf"][stage] or 0.0 for r in rows]
            ax.bar(range(len(rows)), vals, 0.6, bottom=bottom, label=name)
            bottom = [b + v for b, v in zip(bottom, vals)]
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_ylabel("estimated RTF (cost model, not measured)")
        ax.set_title("%s: whole pipeline, estimate from the cost model" % report["platform"])
    else:
        labels, stacks = [], []
        for r in report["results"]:
            labels.append("%s\n%s" % (r["precision"], r["kernel"]))
            stacks.append([r["rtf"].get(k, 0.0) for k in ("features", "model", "decoder")])
        cmp = report.get("compare")
        if cmp:
            if cmp.get("pocketsphinx"):
                labels.append("PocketSphinx\nend to end")
                stacks.append([0.0, 0.0, 0.0, cmp["pocketsphinx"]])
            for name, v in (cmp.get("onnxruntime_am") or {}).items():
                labels.append("onnxruntime\n%s AM" % name)
                stacks.append([0.0, v, 0.0])
        names = ("features", "acoustic model", "decoder", "peer end to end")
        bottom = [0.0] * len(labels)
        for k, name in enumerate(names):
            vals = [s[k] if k < len(s) else 0.0 for s in stacks]
            if any(vals):
                ax.bar(range(len(labels)), vals, 0.6, bottom=bottom, label=name)
                bottom = [b + v for b, v in zip(bottom, vals)]
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_ylabel("RTF (measured; lower is faster)")
        ax.set_title("%s, %s, %.1f s of audio" % (report["platform"], report["cpu"], report["audio_seconds"]),
                     fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)


def host_platform():
    host = platform.machine().lower()
    return {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}.get(
        host, "armv7" if host.startswith("armv7") else host)


def print_measured(report, args):
    print("%s, %s, %.1f s of audio, %d thread(s)" % (report["platform"], report["cpu"],
                                                      report["audio_seconds"], args.threads))
    print("%-9s %-11s %8s %8s %8s %8s %9s %8s %9s" % ("precision", "kernel", "rtf.feat", "rtf.am",
                                                     "rtf.dec", "rtf", "frames/s", "load s", "model MB"))
    for r in report["results"]:
        x = r["rtf"]
        print("%-9s %-11s %8.4f %8.4f %8.4f %8.4f %9s %8.3f %9.2f" % (
            r["precision"], r["kernel"], x.get("features", 0), x.get("model", 0), x.get("decoder", 0),
            x["total"], r["frames_per_s"] or "-", r["load_s"], r["model_bytes"] / 1e6))


def _mb(n):
    return "%.2f MB" % (n / 1e6)


def print_emulated(report):
    rows = report["cross"]
    print("%s: whole pipeline (features + acoustic model + search), cross-compiled and run under "
          "qemu on this %s machine (%s)" % (report["platform"], report["host"], report["cpu"]))
    print("%.1f s of audio in %d file(s); nothing below is a measured time"
          % (report["audio_seconds"], len(report["files"])))
    print("%-9s %-10s %-8s %-11s %-16s %7s %8s %23s" % (
        "precision", "core", "kernel", "transcripts", "log-probs vs host", "MMAC/s", "insn/MAC",
        "Minsn/s feat  AM srch"))
    for r in rows:
        if r["bit_identical"]:
            agree = "bit-identical"
        else:
            agree = "%s %.1e" % ("max diff" if outputs_agree(r) else "DIFFER", r["max_abs_diff"] or 0)
        n = r["instructions_per_audio_s"]
        counts = "%8.1f %5.1f %4.1f" % (n["features"] / 1e6, n["network"] / 1e6, n["search"] / 1e6) \
            if n else "-"
        print("%-9s %-10s %-8s %-11s %-16s %7.1f %8s %23s" % (
            r["precision"], r["core"], r["kernel"],
            "identical" if r["transcripts_identical"] else "same words" if r["texts_identical"]
            else "DIFFER", agree,
            r["macs_per_audio_s"] / 1e6,
            "%.3f" % r["instructions_per_mac"] if r["instructions_per_mac"] is not None else "-", counts))
    print()
    print("%-9s %-10s %9s %9s %9s %9s" % ("precision", "core", "est. feat", "AM", "search", "total"))

    def f(v):
        return "%.4f" % v if v is not None else "-"
    for r in rows:
        e = r["estimated_rtf"]
        print("%-9s %-10s %9s %9s %9s %9s" % (r["precision"], r["core"], f(e["features"]),
                                               f(e["network"]), f(e["search"]), f(e["total"])))
    cm = report["cost_model"]
    print("est.: ESTIMATE of each stage's RTF from the cost model of asr/cross.py, not a measurement:")
    names = {r["core"].lower(): r["core"] for r in rows}
    for key, c in cm["cores"].items():
        if key in names:
            print("  %s @ %.1f GHz: AM by MACs, %s kernel, peak MACs/cycle %s x efficiency %.2f; "
                  "features and search by counted instructions at an assumed IPC of %.2f and %.2f"
                  % (names[key], c["clock_ghz"], c["kernel"],
                     ", ".join("%s %.2f" % (p, c["macs_per_cycle"][p]) for p in ("float", "int16", "int8")),
                     cm["efficiency"], c["ipc"]["features"], c["ipc"]["search"]))
    print("Minsn/s: ARM instructions executed per second of audio by each stage, counted under qemu "
          "(exact, reproducible; not cycles); MMAC/s: acoustic-model multiply-accumulates per second "
          "of audio")
    if rows:
        print("vs host: this machine's asr.Recognizer transcripts (texts, word times, confidences; "
              "'same words': all but confidences) and log-probabilities (%s kernel); features %s; "
              "this machine's build of the driver gives %s"
              % (rows[0]["host_kernel"],
                 "bit-identical" if all(r["features_identical"] for r in rows) else
                 "DIFFER (max %.1e)" % max(r["features_max_abs_diff"] or 0 for r in rows),
                 "the same" if all(r["host_driver_identical"] for r in rows) else "DIFFERENT outputs"))
    print()
    seen = set()
    for r in rows:
        d = r["device"]
        key = (r["precision"], d["peak_ram_bytes"], d["live_after_load_bytes"])
        if key in seen:
            continue
        seen.add(key)
        cores = ", ".join(x["core"] for x in rows if x["precision"] == r["precision"]
                          and x["device"]["peak_ram_bytes"] == d["peak_ram_bytes"])
        print("device fit, %s (%s): flash %s = model %s + lexicon %s + LM %s + code %.1f kB; "
              "RAM peak %s (live after load %s, decoding adds %s; load peak %s, %s with the "
              "mapped files)" % (r["precision"], cores, _mb(d["flash_bytes"]), _mb(d["model_bytes"]),
                                 _mb(d["lexicon_bytes"]), _mb(d["lm_bytes"]), d["code_bytes"] / 1e3,
                                 _mb(d["peak_ram_bytes"]), _mb(d["live_after_load_bytes"]),
                                 _mb(d["decode_peak_bytes"]), _mb(d["load_peak_bytes"]),
                                 _mb(d["load_peak_with_mapped_bytes"])))
    print(textwrap.fill("device fit: " + DEVICE_NOTES.replace("\n", " "), 100))


def peak_rss_mb():
    """Peak resident memory of this process in MB (None where the platform
    has no getrusage, e.g. Windows)."""
    try:
        import resource
    except ImportError:
        return None
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from ..errors import AsrError
    host_plat = host_platform()
    plat = host_plat if args.platform == "native" else args.platform
    emulated = plat != host_plat
    if emulated and not (host_plat == "x86_64" and plat in ("armv7", "aarch64")):
        error("asr-rtf: --platform %s on a %s host: only armv7 and aarch64 can be emulated, from an "
              "x86_64 host; run on a %s machine or use --platform native" % (plat, host_plat, plat))
        return 2
    if emulated and args.compare:
        error("asr-rtf: --compare measures this machine; it does not go with --platform %s (emulated)"
              % plat)
        return 2
    if args.plot and not check_plot_available():
        error("asr-rtf: --plot needs matplotlib, which is not installed: pip install matplotlib "
              "(or pip install -e '.[plot]')")
        return 2
    precisions = [x.strip() for x in args.precision.split(",") if x.strip()]
    bad = [p for p in precisions if p not in ("float", "int16", "int8")]
    if bad or not precisions:
        error("asr-rtf: --precision takes float, int16, int8 (comma-separated), got %r" % args.precision)
        return 2
    if args.compare and not check_compare_available():
        return 2
    from ..audio import read_audio
    files = args.audio or default_audio()
    if not files:
        error("asr-rtf: no audio: pass --audio FILES (no bundled samples found)")
        return 2
    report = {"platform": plat, "mode": "emulated" if emulated else "measured", "host": host_plat,
              "cpu": cpu_model(), "audio_seconds": 0.0, "files": files, "results": [], "cross": [],
              "cost_model": None, "compare": None}
    bar = None
    try:
        audio = [read_audio(f, 16000) for f in files]
        report["audio_seconds"] = round(sum(len(a) for a in audio) / 16000.0, 2)
        if emulated:
            not_wav = [f for f in files if not f.lower().endswith(".wav")]
            if not_wav:
                raise AsrError("--platform %s reads WAV files only (the C reader of the device "
                               "code): %s" % (plat, ", ".join(not_wav)))
            for p in precisions:
                report["cross"] += profile_cross(p, files, args)
            report["cost_model"] = cost_model_summary()
        else:
            from .. import peers
            bar = Progress(len(precisions) + (peers.measure_steps() if args.compare else 0),
                           "asr-rtf", enabled=args.progress)
            for p in precisions:
                report["results"].append(profile(p, audio, args))
                bar.step(p)
            if args.compare:
                report["compare"] = run_compare(audio, files, args, step=bar.step)
            bar.close()
    except (AsrError, OSError) as exc:
        if bar is not None:
            bar.close()
        error("asr-rtf: %s" % exc)
        return 1
    if args.plot:
        plot(report, args.plot)
    if args.json:
        print(json.dumps(report))
    elif emulated:
        print_emulated(report)
    else:
        print_measured(report, args)
        if report["compare"]:
            from ..peers import print_report
            print()
            print_report(report["compare"])
    disagree = [r for r in report["cross"] if not outputs_agree(r)]
    for r in disagree:
        error("asr-rtf: %s %s on %s: the ARM outputs differ from this machine's (words %s, "
              "log-probabilities max diff %.3g)"
              % (plat, r["precision"], r["core"], "identical" if r["texts_identical"] else "differ",
                 r["max_abs_diff"] if r["max_abs_diff"] is not None else float("nan")))
    return 1 if disagree else 0


if __name__ == "__main__":
    sys.exit(main())
