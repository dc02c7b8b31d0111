"""Live recognition from the default input device (optional extra: sounddevice).

The audio callback only queues blocks; the recognizer runs in the main
thread (``feed_blocks``), the same function tests drive with blocks read
from a file, so the capture-to-recognizer path is exercised without hardware.
"""
import queue
import sys

import numpy as np

from .errors import AsrError

BLOCK_S = 0.1


def feed_blocks(rec, blocks, sample_rate, out=sys.stdout, tty=None):
    """Recognize an iterable of sample blocks (int16 or float32), printing
    partial results in place and each final result on its own line.
    Returns the list of final results."""
    tty = out.isatty() if tty is None else tty
    stream = rec.stream(sample_rate=sample_rate)
    finals = []
    shown = ""

    def show_final(text):
        nonlocal shown
        if tty and shown:
            out.write("\r" + " " * len(shown) + "\r")
        if text:
            out.write(text + "\n")
        out.flush()
        shown = ""

    for block in blocks:
        p = stream.accept(block)
        for r in p.finals:
            finals.append(r)
            show_final(r.text)
        if tty and p.text != shown:
            out.write("\r" + p.text + " " * max(0, len(shown) - len(p.text)))
            out.flush()
            shown = p.text
    last = stream.finish()
    if last.text or not finals:
        finals.append(last)
    show_final(last.text)
    return finals


def _device_blocks(sample_rate):
    try:
        import sounddevice as sd
    except (ImportError, OSError) as exc:
        raise AsrError("microphone input needs the 'mic' extra: pip install 'asr-fixedpoint[mic]' "
                       "and the PortAudio library (Debian: libportaudio2): %s" % exc) from None
    try:
        dev = sd.query_devices(kind="input")
    except Exception as exc:
        raise AsrError("no audio input device is available: %s" % exc) from None
    rate = int(dev.get("default_samplerate") or sample_rate)
    q = queue.Queue()

    def callback(indata, frames, time_info, status):
        q.put(indata.copy())

    def gen():
        with sd.InputStream(samplerate=rate, channels=1, dtype="int16",
                            blocksize=int(rate * BLOCK_S), callback=callback):
            while True:
                yield q.get()
    return gen(), rate


def run_microphone(rec):
    """Recognize the microphone until Ctrl-C. Returns a process exit code."""
    try:
        blocks, rate = _device_blocks(rec.sample_rate)
        print("listening (Ctrl-C to stop)...", file=sys.stderr)
        feed_blocks(rec, blocks, rate)
    except KeyboardInterrupt:
        print("", file=sys.stderr)
        return 0
    except AsrError as exc:
        print("asr-decode: %s" % exc, file=sys.stderr)
        return 1
    return 0
