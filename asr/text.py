"""Text normalization for scoring, and word error rate.

Normalization, applied to references and hypotheses alike: lower-case;
digit strings are spelled out as cardinal numbers ("42" -> "forty two");
every character other than a-z and the apostrophe becomes a space; leading
and trailing apostrophes are dropped; runs of spaces collapse.
"""
import re
from dataclasses import dataclass

import numpy as np

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10 ** 9, "billion"), (10 ** 6, "million"), (1000, "thousand"), (100, "hundred"))


def number_words(n):
    """Cardinal English words for a non-negative integer (below 10^12)."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    for value, name in _SCALES:
        if n >= value:
            head = number_words(n // value) + " " + name
            return head if n % value == 0 else head + " " + number_words(n % value)
    raise ValueError(n)


def normalize(text):
    """The scoring normalization described in the module docstring."""
    t = text.lower()
    t = re.sub(r"\d+", lambda m: " " + (number_words(int(m.group()))
                                        if len(m.group()) < 12 else " ".join(_ONES[int(c)] for c in m.group())) + " ", t)
    t = re.sub(r"[^a-z']+", " ", t)
    words = [w.strip("'") for w in t.split()]
    return " ".join(w for w in words if w)


@dataclass
class ErrorCounts:
    """Word-level edit counts of hypotheses against references."""
    ref_words: int = 0
    sub: int = 0
    dele: int = 0
    ins: int = 0
    sentences: int = 0
    sentence_errors: int = 0

    @property
    def errors(self):
        return self.sub + self.dele + self.ins

    @property
    def wer(self):
        return self.errors / self.ref_words if self.ref_words else 0.0

    @property
    def ser(self):
        return self.sentence_errors / self.sentences if self.sentences else 0.0

    def add(self, ref, hyp):
        """Score one normalized reference/hypothesis pair (strings)."""
        s, d, i = align(ref.split(), hyp.split())
        self.ref_words += len(ref.split())
        self.sub, self.dele, self.ins = self.sub + s, self.dele + d, self.ins + i
        self.sentences += 1
        self.sentence_errors += int(s + d + i > 0)
        return s + d + i

    def to_dict(self):
        return {"wer": round(self.wer, 5), "ser": round(self.ser, 5), "ref_words": self.ref_words,
                "substitutions": self.sub, "deletions": self.dele, "insertions": self.ins,
                "sentences": self.sentences}


def align(ref, hyp):
    """(substitutions, deletions, insertions) of a minimum edit alignment;
    among equal-cost alignments, substitutions are preferred."""
    n, m = len(ref), len(hyp)
    # cost, subs, dels, ins per cell; row by row
    prev = [(j, 0, 0, j) for j in range(m + 1)]
    for i in range(1, n + 1):
        cur = [(i, 0, i, 0)]
        for j in range(1, m + 1):
            c, s, d, k = prev[j - 1]
            same = ref[i - 1] == hyp[j - 1]
            best = (c + (0 if same else 1), s + (0 if same else 1), d, k)
            c, s, d, k = prev[j]
            if c + 1 < best[0]:
                best = (c + 1, s, d + 1, k)
            c, s, d, k = cur[j - 1]
            if c + 1 < best[0]:
                best = (c + 1, s, d, k + 1)
            cur.append(best)
        prev = cur
    _, s, d, k = prev[m]
    return s, d, k


def wer_interval(errors, words, base_errors=None, resamples=1000, seed=0, level=0.95):
    """Bootstrap interval of a word error rate over utterances.

    ``errors[i]`` and ``words[i]`` are utterance i's edit count and number
    of reference words. Utterances are drawn with replacement ``resamples``
    times (fixed seed, so the interval is reproducible) and the WER of each
    draw, total errors over total words, is taken; the interval holds the
    central ``level`` of them. With ``base_errors`` (another system's edit
    counts on the same utterances) it is the interval of the WER
    difference errors - base_errors, drawn as pairs, which is much narrower
    than the two intervals side by side when both systems err on the same
    utterances. Returns (low, high) as fractions."""
    e = np.asarray(errors, dtype=np.float64)
    w = np.asarray(words, dtype=np.float64)
    if base_errors is not None:
        e = e - np.asarray(base_errors, dtype=np.float64)
    if e.shape != w.shape or e.ndim != 1:
        raise ValueError("one error count and one word count per utterance")
    if len(e) == 0 or w.sum() == 0:
        return 0.0, 0.0
    rng = np.random.default_rng(seed)
    draws = np.empty(resamples)
    for i in range(0, resamples, 100):      # 100 draws at a time bound the memory
        idx = rng.integers(0, len(e), size=(min(100, resamples - i), len(e)))
        draws[i:i + len(idx)] = e[idx].sum(axis=1) / np.maximum(w[idx].sum(axis=1), 1.0)
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(draws, [tail, 100.0 - tail])
    return float(low), float(high)
