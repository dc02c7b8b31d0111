"""asr-decode: print the transcript of each audio file."""
import argparse
import io
import json
import sys
import time

from .common import HelpFormatter, add_model_options, error, make_recognizer

DESCRIPTION = """\
Transcribe audio files with the bundled English model (or your own).

Any format libsndfile reads (WAV, FLAC, OGG, ...), any sample rate
(resampled) and any channel count (mixed down). '-' reads from stdin.
One line per file on stdout; with several files each line is FILE<TAB>TEXT.
Exit status: 0 all files decoded, 1 some file failed, 2 usage error."""


def parse_args(argv):
    p = argparse.ArgumentParser(prog="asr-decode", description=DESCRIPTION,
                                formatter_class=HelpFormatter)
    p.add_argument("files", nargs="*", metavar="FILE", help="audio files, or - for stdin")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per line: file, text, words (word, start, end, conf), "
                        "duration, rtf")
    p.add_argument("--nbest", type=int, default=0, help="also output this many alternatives (with --json)")
    p.add_argument("--mic", action="store_true",
                   help="recognize the default microphone live (needs the 'mic' extra: sounddevice)")
    add_model_options(p)
    args = p.parse_args(argv)
    if not args.files and not args.mic:
        p.error("give at least one FILE (or --mic)")
    return args


def recognize_input(rec, path):
    """Result and duration (s) of one input; '-' is a file on stdin. Files
    are streamed block by block, so their length does not bound memory."""
    source = io.BytesIO(sys.stdin.buffer.read()) if path == "-" else path
    result = rec.recognize_file(source)
    return result, result.audio_s


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from ..errors import AsrError
    try:
        rec = make_recognizer(args)
    except AsrError as exc:
        error("asr-decode: %s" % exc)
        return 1
    if args.mic:
        from ..microphone import run_microphone
        return run_microphone(rec)
    failed = 0
    for path in args.files:
        try:
            t0 = time.perf_counter()
            result, duration = recognize_input(rec, path)
            elapsed = time.perf_counter() - t0
        except AsrError as exc:
            error("asr-decode: %s" % exc)
            failed += 1
            continue
        if args.json:
            obj = {"file": path, "text": result.text,
                   "words": [{"word": w.word, "start": round(w.start, 3), "end": round(w.end, 3),
                              "conf": round(w.conf, 3)} for w in result.words],
                   "duration": round(duration, 3), "rtf": round(elapsed / duration, 5),
                   "precision": rec.precision}
            if args.nbest:
                obj["nbest"] = result.nbest[:args.nbest]
            if result.conf is not None:      # --phrases: the phrase's confidence
                obj["conf"] = round(result.conf, 3)
            if result.rejected:
                obj["rejected"] = result.rejected
            print(json.dumps(obj), flush=True)
        elif len(args.files) > 1:
            print("%s\t%s" % (path, result.text), flush=True)
        else:
            print(result.text, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
