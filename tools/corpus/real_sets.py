#!/usr/bin/env python3
"""Training and validation directories from the recorded speech in ../shared/speech.

    python -m tools.corpus.real_sets [--speech ../shared/speech]
        -> work/corpus/{cv,so762,fsdd,keywords}-train/, work/corpus/{cv,so762}-valid/,
           work/corpus/lexicon-real.txt, work/corpus/text/lm_real.txt,
           work/corpus/text/{cv,so762}-valid.txt

Only the training sets are read (cv-train, so762-train, fsdd, keywords); the
test-only sets (cv-test, so762-test) are never opened here. Each output is a
Kaldi directory whose wav.scp holds absolute paths into the shared tree: the
audio is never copied.

Validation is held out of the training sets, as the shared README asks:
- cv: sentence-disjoint. Common Voice has no speaker ids, so whole sentences
  (every clip of one) go to validation, chosen by a hash of the sentence text.
- so762: speaker-disjoint. Whole speakers go to validation, chosen by a hash
  of the speaker id.
fsdd and keywords are all training (one word per clip; they would say little
about sentences).

Words are spelled in phones from the CMU dictionary that the synthetic
corpus uses, plus the hand-written pronunciations in extra_lexicon.txt (next
to this file) for words it lacks, such as the wake words. An utterance with a
word found in neither is left out and counted. lexicon-real.txt lists every
word of the output sets with its pronunciations, for train.py and for the
runtime lexicon.

Language-model text (text/lm_real.txt) is the distinct transcripts of the
cv, fsdd and keywords training parts. so762's is left out on purpose: its test
speakers read the same prompts as its training speakers, so its text in the
LM would score the test prompts, not the recognizer. The validation
transcripts are written to text/<set>-valid.txt for build_lm.py --exclude.
"""
import argparse
import os
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
from tools.corpus import texts
from tools.corpus.kaldi import write_dir, write_lines

ROOT = os.path.dirname(os.path.dirname(HERE))
from asr.cli.eval import load_data, load_speakers  # noqa: E402
OUT = texts.CORPUS
EXTRA_LEXICON = os.path.join(HERE, "extra_lexicon.txt")
TRAIN_SETS = ("cv-train", "so762-train", "fsdd", "keywords")
VALID_PERCENT = 8        # of cv sentences and of so762 speakers


def read_set(speech, name):
    """[(utt, absolute audio path, speaker, words)] of one shared set, in wav.scp order."""
    d = os.path.abspath(os.path.join(speech, name))
    spk = load_speakers(d)
    return [(u, wav, spk.get(u, u), ref.split()) for u, wav, ref in load_data(d)]


def held_out(keys):
    """The VALID_PERCENT of distinct keys (sentences or speakers) kept for
    validation: those with the smallest CRC-32, so the choice does not depend
    on file order."""
    distinct = sorted(set(keys), key=lambda k: (zlib.crc32(k.encode("utf-8")), k))
    return set(distinct[:max(1, round(len(distinct) * VALID_PERCENT / 100))])


def split_set(name, items):
    """{output dir name: items} for one shared set."""
    if name == "cv-train":
        key = lambda it: " ".join(it[3])      # noqa: E731
    elif name == "so762-train":
        key = lambda it: it[2]                # noqa: E731
    else:
        return {name.replace("-train", "") + "-train": items}
    valid_keys = held_out(key(it) for it in items)
    valid = [it for it in items if key(it) in valid_keys]
    train = [it for it in items if key(it) not in valid_keys]
    base = name.replace("-train", "")
    return {base + "-train": train, base + "-valid": valid}


def load_lexicon():
    """word -> list of phone strings: the CMU dictionary, then extra_lexicon.txt."""
    lex = texts.load_cmudict()
    with open(EXTRA_LEXICON, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if parts and not line.startswith("#"):
                lex.setdefault(parts[0], [])
                pron = " ".join(parts[1:])
                if pron not in lex[parts[0]]:
                    lex[parts[0]].append(pron)
    return lex


LM_SETS = ("cv-train", "fsdd-train", "keywords-train")


def build(speech, out):
    """Write every output directory and the lexicon; returns per-directory counts."""
    lex = load_lexicon()
    report, used, lm_text = {}, set(), []
    for name in TRAIN_SETS:
        items = read_set(speech, name)
        for sub, part in split_set(name, items).items():
            kept = [it for it in part if all(w in lex for w in it[3])]
            dropped = len(part) - len(kept)
            write_dir(os.path.join(out, sub), [(u, spk, " ".join(w), p, None) for u, p, spk, w in kept],
                      sort=False)
            used.update(w for it in kept for w in it[3])
            report[sub] = (len(kept), dropped, len({it[2] for it in kept}))
            if sub in LM_SETS:
                lm_text.extend(" ".join(it[3]) for it in kept)
            elif sub.endswith("-valid"):
                write_lines(os.path.join(out, "text", sub + ".txt"), [" ".join(it[3]) for it in kept])
    # each sentence once: 400 clips of "computer" are one prompt, not 400 sentences
    write_lines(os.path.join(out, "text", "lm_real.txt"), list(dict.fromkeys(lm_text)))
    write_lines(os.path.join(out, "lexicon-real.txt"),
                ["%s %s" % (w, pron) for w in sorted(used) for pron in lex[w]])
    return report


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--speech", default=os.path.join(ROOT, "..", "shared", "speech"),
                    help="directory holding the shared recorded sets")
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args(argv)
    if not os.path.exists(texts.CMUDICT):
        print("missing %s: run tools/corpus/install_voices.sh" % texts.CMUDICT, file=sys.stderr)
        return 1
    for sub, (n, dropped, spk) in build(args.speech, args.out).items():
        print("%-16s %5d utterances, %4d speakers, %3d left out (word not in lexicon)"
              % (sub, n, spk, dropped), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
