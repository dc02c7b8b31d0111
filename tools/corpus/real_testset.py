#!/usr/bin/env python3
"""Kaldi dir of real human recordings from Debian's pocketsphinx-testdata.

    python -m tools.corpus.real_testset          # -> work/real/{wav.scp,text,utt2spk,spk2utt,utt2dur}

Small (12 utterances, ~1 min) but real speech: LibriVox read speech (5),
spoken card names (5), TIDIGITS-style digits (1) and "go forward ten meters"
(1). Transcripts come from the package's own transcription files, except two
whose words the package states elsewhere: goforward.raw (its goforward.gram
public rule, the phrase pocketsphinx's tests decode) and tidigits/dhd.2934z.raw
(TIDIGITS file names spell the digits; z = zero). Raw files are 16 kHz 16-bit
mono little-endian (pocketsphinx's default) and are written out as wavs.
Transcripts are normalized exactly as the synthetic corpus text.
"""
import argparse
import os
import re
import sys
import wave

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
from tools.corpus import texts
from tools.corpus.kaldi import write_dir

DATA = "/usr/share/pocketsphinx/test/data"
OUT = os.path.join(texts.WORK, "real")


def sphinx_transcripts(path):
    """'<s> words </s> (uttid)' lines -> {uttid: words}."""
    out = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"\s*(.*?)\s*\(([^)\s]+)[^)]*\)\s*$", line)
            if m:
                words = re.sub(r"</?s>", " ", m.group(1))
                out[m.group(2)] = words
    return out


def read_audio(path):
    """wav or headerless 16 kHz 16-bit mono raw -> (int16 samples, rate in Hz)."""
    if path.endswith(".wav"):
        with wave.open(path, "rb") as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1:
                raise ValueError("%s: expected 16-bit mono" % path)
            return np.frombuffer(w.readframes(w.getnframes()), "<i2"), w.getframerate()
    return np.fromfile(path, "<i2"), 16000


def items():
    """(uttid, speaker, source path, raw transcript)."""
    lib = sphinx_transcripts(os.path.join(DATA, "librivox", "transcription"))
    for utt, words in sorted(lib.items()):
        yield "librivox-" + utt[-4:], "librivox", os.path.join(DATA, "librivox", utt + ".wav"), words
    cards = sphinx_transcripts(os.path.join(DATA, "cards", "cards.transcription"))
    for utt, words in sorted(cards.items()):
        yield "cards-" + utt, "cards", os.path.join(DATA, "cards", utt + ".wav"), words
    yield "goforward-1", "goforward", os.path.join(DATA, "goforward.raw"), "go forward ten meters"
    digits = {"z": "zero", "o": "oh", **{str(i): texts.ONES[i] for i in range(10)}}
    yield ("tidigits-dhd-2934z", "tidigits-dhd", os.path.join(DATA, "tidigits", "dhd.2934z.raw"),
           " ".join(digits[c] for c in "2934z"))


def build(out):
    """Write wavs and Kaldi files under out; returns (utterances, seconds)."""
    lex = texts.load_cmudict()
    os.makedirs(os.path.join(out, "wav"), exist_ok=True)
    rows = []
    for utt, spk, src, words in items():
        if not os.path.exists(src):
            print("missing %s (install pocketsphinx-testdata)" % src, file=sys.stderr)
            continue
        text = texts.normalize(words)
        oov = [w for w in text.split() if w not in lex]
        if oov:
            print("%s: not in the CMU dict: %s" % (utt, " ".join(oov)), file=sys.stderr)
        x, sr = read_audio(src)
        utt = spk + "-" + utt.split("-", 1)[1] if not utt.startswith(spk) else utt
        path = os.path.abspath(os.path.join(out, "wav", utt + ".wav"))
        with wave.open(path + ".tmp", "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(sr)
            w.writeframes(x.astype("<i2").tobytes())
        os.replace(path + ".tmp", path)
        rows.append((utt, spk, text, path, len(x) / sr))
    write_dir(out, rows)
    return len(rows), sum(r[4] for r in rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--out", default=OUT, help="output Kaldi directory")
    args = ap.parse_args(argv)
    n, sec = build(args.out)
    print("%d utterances, %.1f s -> %s" % (n, sec, args.out), file=sys.stderr)
    return 0 if n else 1


if __name__ == "__main__":
    sys.exit(main())
