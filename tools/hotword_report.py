"""Hotwords measured: recall of rare words with and without a hotword list,
and WER on the utterances without them (which must not get worse).

For each data set, the hotword list is every rare word of its transcripts,
as an application would list its names and jargon: words outside the LM's
--common most probable unigrams, or missing from the lexicon/LM (then
pronounced by the G2P model). Each utterance is decoded without and with
the list (int8, default decoder). Reported:

  - recall: of the listed words in the references of the utterances that
    hold one, the share found in the transcript (bag of words);
  - WER of the utterances that hold no listed word ("the rest"), and of all.

A set's own rare words are a few dozen to a few hundred, depending on its
size, and a longer list puts more boosted words where they were not said.
So every list is padded to --list-size words (default 400, more than any
set's own) with rare lexicon words that occur in none of the set's
transcripts, drawn with a fixed seed: the boost is chosen with lists of the
size it is then measured with. Padding words are never in a reference, so
recall and "the rest" count the set's own rare words only.

  --choose  picks the default boost on held-out training parts
            (work/corpus/cv-valid, so762-valid): the boost with the best
            recall whose rest-WER is at most 0.3 points worse than without.
  default   reports once on SPEECH/cv-test and so762-test at --boost.

    python -m tools.hotword_report --choose
    python -m tools.hotword_report --speech ../shared/speech
"""
import argparse
import collections
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from asr import Recognizer                       # noqa: E402
from asr.audio import read_audio                 # noqa: E402
from asr.cli.eval import load_data               # noqa: E402
from asr.hotwords import DEFAULT_BOOST           # noqa: E402
from asr.lexicon import load_lexicon             # noqa: E402
from asr.lm import load_lm                       # noqa: E402
from asr.stream import find_model_file           # noqa: E402
from asr.text import align, normalize            # noqa: E402

BOOSTS = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0)


def common_words(lm, n):
    """The n most probable unigrams of ``lm``."""
    order = np.argsort(-lm.logp10[0])
    return {lm.vocab[int(lm.ids[0][i, 0])] for i in order[:n]}


def rare_words(refs, common):
    return sorted({w for r in refs for w in r.split() if w not in common})


def pad_list(listed, lexicon, common, refs, size, seed=0):
    """``listed`` plus rare lexicon words absent from ``refs``, ``size`` in all."""
    said = {w for r in refs for w in r.split()}
    pool = sorted(w for w in lexicon.words if w not in common and w not in said
                  and w not in listed and w.isalpha())
    need = max(0, size - len(listed))
    if need > len(pool):
        raise SystemExit("only %d padding words for a list of %d" % (len(pool), size))
    picks = np.random.default_rng(seed).choice(len(pool), size=need, replace=False)
    return sorted(listed) + sorted(pool[i] for i in picks)


def decode_all(rec, audio):
    return [normalize(rec.recognize(x).text) for x in audio]


def score(refs, hyps, listed):
    """recall of listed words, WER % of the rest and of all."""
    found = total = 0
    rest = [0, 0]
    every = [0, 0]
    for ref, hyp in zip(refs, hyps):
        r, h = ref.split(), hyp.split()
        errors = sum(align(r, h))
        every[0] += errors
        every[1] += len(r)
        want = collections.Counter(w for w in r if w in listed)
        if want:
            got = collections.Counter(w for w in h if w in listed)
            found += sum(min(c, got[w]) for w, c in want.items())
            total += sum(want.values())
        else:
            rest[0] += errors
            rest[1] += len(r)
    pct = lambda e: 100.0 * e[0] / max(1, e[1])      # noqa: E731
    return {"recall": 100.0 * found / max(1, total), "listed_refs": total,
            "rest_wer": pct(rest), "rest_words": rest[1], "wer": pct(every)}


def load_set(path, every):
    items = load_data(path)[::every]
    return [normalize(t) for _, _, t in items], [read_audio(p) for _, p, _ in items]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--speech", default=os.path.join(ROOT, "..", "shared", "speech"))
    ap.add_argument("--corpus", default=os.path.join(os.environ.get("ASR_WORK", "work"), "corpus"))
    ap.add_argument("--choose", action="store_true")
    ap.add_argument("--boost", type=float, default=DEFAULT_BOOST)
    ap.add_argument("--common", type=int, default=5000,
                    help="words among the LM's this many most probable unigrams are not rare")
    ap.add_argument("--list-size", type=int, default=400,
                    help="pad each hotword list to this many words (0: no padding)")
    ap.add_argument("--every", type=int, default=1, help="use every Nth utterance")
    ap.add_argument("--precision", default="int8")
    args = ap.parse_args(argv)
    if args.choose:
        dirs, boosts = [os.path.join(args.corpus, n) for n in ("cv-valid", "so762-valid")], BOOSTS
    else:
        dirs, boosts = [os.path.join(args.speech, n) for n in ("cv-test", "so762-test")], (args.boost,)
    lexicon = load_lexicon(find_model_file("en-us.asrlex"))
    lm = load_lm(find_model_file("en-us.asrlm"))
    common = common_words(lm, args.common)
    base = Recognizer(precision=args.precision, lexicon=lexicon, lm=lm)
    rows, sizes = {}, {}
    for d in dirs:
        name = os.path.basename(os.path.normpath(d))
        refs, audio = load_set(d, args.every)
        listed = rare_words(refs, common)
        hotwords = pad_list(listed, lexicon, common, refs, args.list_size)
        print("%s: %d utterances, %d rare words of its own, %d hotwords listed"
              % (name, len(refs), len(listed), len(hotwords)), file=sys.stderr, flush=True)
        sizes[name] = (len(listed), len(hotwords))
        without = score(refs, decode_all(base, audio), set(listed))
        rows[name] = [("none", without)]
        for b in boosts:
            rec = Recognizer(model=base.model, lexicon=lexicon, lm=lm,
                             hotwords=[(w, b) for w in hotwords])
            rows[name].append((b, score(refs, decode_all(rec, audio), set(listed))))
    print("| set | list: own rare words + padding | boost | rare-word recall | own words in refs "
          "| WER of the rest | all WER |")
    print("|---|---|---|---|---|---|---|")
    for name, rs in rows.items():
        own, total = sizes[name]
        for b, r in rs:
            print("| %s | %d + %d | %s | %.1f %% | %d | %.2f %% (%d words) | %.2f %% |"
                  % (name, own, total - own, b, r["recall"], r["listed_refs"], r["rest_wer"],
                     r["rest_words"], r["wer"]))
    if args.choose:
        ok = []
        for i, b in enumerate(boosts):
            recall = np.mean([rs[i + 1][1]["recall"] for rs in rows.values()])
            worse = max(rs[i + 1][1]["rest_wer"] - rs[0][1]["rest_wer"] for rs in rows.values())
            if worse <= 0.3:
                ok.append((recall, b))
        print("chosen boost: %s (best mean recall with the rest's WER at most 0.3 points worse)"
              % (max(ok)[1] if ok else "none"))


if __name__ == "__main__":
    main()
