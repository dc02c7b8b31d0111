"""Text normalization for scoring, and word error rate.

Normalization, applied to references and hypotheses alike: lower-case;
digit strings are spelled out as cardinal numbers ("42" -> "forty two");
every character other than a-z and the apostrophe becomes a space; leading
and trailing apostrophes are dropped; runs of spaces collapse.
"""
import re
from dataclasses import dataclass

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
