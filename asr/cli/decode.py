"""asr-decode: print the transcript of each audio file, or its subtitles."""
import argparse
import contextlib
import io
import json
import os
import sys
import time

from .common import HelpFormatter, add_model_options, error, make_recognizer

DESCRIPTION = """\
Transcribe audio files with the bundled English model (or your own).

Any format libsndfile reads (WAV, FLAC, OGG, ...), any sample rate
(resampled) and any channel count (mixed down). '-' reads from stdin.

--format text (default): one line per file on stdout; with several files
each line is FILE<TAB>TEXT. --format json (or --json): one JSON object per
line. --format srt|vtt: subtitles, cut at the stream's endpoints (0.8 s of
silence) and at the caption limits below, written as utterances finalize.
One file's subtitles go to stdout; with several files each goes next to its
input as FILE.srt / FILE.vtt (the input's name plus the extension, as
whisper.cpp's -osrt/-ovtt do), or into --output-dir. With --output-dir every
format writes one file per input there (NAME.txt, NAME.json, NAME.srt,
NAME.vtt, NAME being the input's file name; 'stdin' for -).
Exit status: 0 all files decoded, 1 some file failed, 2 usage error."""

FORMATS = ("text", "json", "srt", "vtt")
EXTENSIONS = {"text": ".txt", "json": ".json", "srt": ".srt", "vtt": ".vtt"}


def parse_args(argv):
    p = argparse.ArgumentParser(prog="asr-decode", description=DESCRIPTION,
                                formatter_class=HelpFormatter)
    p.add_argument("files", nargs="*", metavar="FILE", help="audio files, or - for stdin")
    p.add_argument("--format", choices=FORMATS, default="text", help="output format")
    p.add_argument("--json", action="store_true",
                   help="same as --format json: one JSON object per line: file, text, words "
                        "(word, start, end, conf), duration, rtf, precision")
    p.add_argument("--output-dir", metavar="DIR",
                   help="write each file's output to DIR/NAME.{txt,json,srt,vtt} instead of stdout")
    p.add_argument("--nbest", type=int, default=0, help="also output this many alternatives (with --json)")
    p.add_argument("--mic", action="store_true",
                   help="recognize the default microphone live (needs the 'mic' extra: sounddevice)")
    g = p.add_argument_group("captions (--format srt, vtt)")
    g.add_argument("--max-line-chars", type=int, default=42, help="characters per caption line")
    g.add_argument("--max-lines", type=int, default=2, help="lines per caption")
    g.add_argument("--max-caption-s", type=float, default=7.0, help="seconds per caption")
    add_model_options(p)
    args = p.parse_args(argv)
    if args.json and args.format not in ("text", "json"):
        p.error("--json is --format json; it does not go with --format %s" % args.format)
    if args.json:
        args.format = "json"
    if not args.files and not args.mic:
        p.error("give at least one FILE (or --mic)")
    if args.mic and (args.format != "text" or args.output_dir):
        p.error("--mic prints text on stdout; --format and --output-dir are for files")
    if args.max_line_chars < 1 or args.max_lines < 1 or not args.max_caption_s > 0:
        p.error("--max-line-chars and --max-lines must be at least 1, --max-caption-s above 0")
    if args.format in ("srt", "vtt") and len(args.files) > 1 and "-" in args.files \
            and not args.output_dir:
        p.error("with several files, subtitles go next to each input: stdin (-) has no "
                "name to write next to; use --output-dir")
    named = [t for t in (output_path(f, args) for f in args.files) if t is not None]
    if len(set(named)) != len(named):
        p.error("two inputs would write the same output file (same file name); "
                "decode them in separate runs")
    return args


def output_path(path, args):
    """Where the output for input ``path`` goes: a file path, or None for stdout."""
    ext = EXTENSIONS[args.format]
    if args.output_dir:
        return os.path.join(args.output_dir, ("stdin" if path == "-" else os.path.basename(path)) + ext)
    if args.format in ("srt", "vtt") and len(args.files) > 1:
        return None if path == "-" else path + ext
    return None


@contextlib.contextmanager
def open_output(target):
    """stdout when ``target`` is None, else a file written under a temporary
    name and renamed into place only when the whole output was written."""
    if target is None:
        yield sys.stdout
        return
    part = target + ".part"
    try:
        with open(part, "w", encoding="utf-8") as f:
            yield f
        os.replace(part, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(part)
        raise


def audio_source(path):
    """What the audio reader takes for ``path``: the path, or stdin's bytes for '-'."""
    return io.BytesIO(sys.stdin.buffer.read()) if path == "-" else path


def recognize_input(rec, path):
    """Result and duration (s) of one input; '-' is a file on stdin. Files
    are streamed block by block, so their length does not bound memory."""
    result = rec.recognize_file(audio_source(path))
    return result, result.audio_s


def transcript_line(rec, path, args):
    """The text or JSON line of one input (without the newline)."""
    t0 = time.perf_counter()
    result, duration = recognize_input(rec, path)
    elapsed = time.perf_counter() - t0
    if args.format == "json":
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
        return json.dumps(obj)
    if len(args.files) > 1 and not args.output_dir:
        return "%s\t%s" % (path, result.text)
    return result.text


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from ..errors import AsrError
    from ..stream import EndpointConfig
    subtitles = args.format in ("srt", "vtt")
    try:
        # Subtitles are cut at endpoints; text and JSON decode each file as
        # one utterance, as they always have.
        rec = make_recognizer(args, endpoint=EndpointConfig() if subtitles else None)
    except AsrError as exc:
        error("asr-decode: %s" % exc)
        return 1
    if args.mic:
        from ..microphone import run_microphone
        return run_microphone(rec)
    from ..subtitles import CaptionConfig, write_subtitles
    config = CaptionConfig(max_line_chars=args.max_line_chars, max_lines=args.max_lines,
                           max_caption_s=args.max_caption_s)
    try:
        if args.output_dir:
            os.makedirs(args.output_dir, exist_ok=True)
    except OSError as exc:
        error("asr-decode: --output-dir: %s" % exc)
        return 1
    failed = 0
    for path in args.files:
        target = output_path(path, args)
        try:
            with open_output(target) as out:
                if subtitles:
                    n = write_subtitles(rec, audio_source(path), out, args.format, config)
                else:
                    out.write(transcript_line(rec, path, args) + "\n")
                    out.flush()
        except (AsrError, OSError) as exc:
            error("asr-decode: %s" % exc)
            failed += 1
            continue
        if target is not None:
            count = " (%d caption%s)" % (n, "" if n == 1 else "s") if subtitles else ""
            error("asr-decode: wrote %s%s" % (target, count))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
