"""Word language models for the decoder: ARPA n-gram files and phrase grammars.

Both expose the same small interface, in natural-log units:

    state = lm.start()                       # after <s>
    logp, state = lm.advance(state, word)    # -inf when the word is impossible
    logp_end = lm.end(state)                 # log P(</s> | state)

ARPA: standard back-off models of any order (``\\data\\``, ``\\N-grams:``
sections, log10 probabilities, optional back-off weights). A word missing
from the model scores as ``<unk>`` when the model has it, else it is
impossible. Malformed files raise LanguageModelError naming the line.
"""
import gzip
import math

from .errors import LanguageModelError

LN10 = math.log(10.0)
MAX_ORDER = 10
NEG_INF = float("-inf")


class ArpaLM:
    """A back-off n-gram model held as one dict per order: words -> (log10 p, log10 bow)."""

    def __init__(self, grams, order):
        self.grams = grams            # list indexed by n-1 of {tuple: (logp, bow)}
        self.order = order
        self.vocab = {w[0] for w in grams[0]}
        self.has_unk = "<unk>" in self.vocab
        self._cache = {}

    def _log10(self, ctx, word):
        """log10 P(word | ctx) with back-off (ctx: tuple, most recent last)."""
        bow = 0.0
        while True:
            g = self.grams[len(ctx)].get(ctx + (word,)) if len(ctx) < self.order else None
            if g is not None:
                return g[0] + bow
            if not ctx:
                return None
            b = self.grams[len(ctx) - 1].get(ctx)
            bow += b[1] if b is not None else 0.0
            ctx = ctx[1:]

    def unigram(self, word):
        """Natural-log unigram probability (of <unk> for unknown words)."""
        g = self.grams[0].get((word,)) or self.grams[0].get(("<unk>",))
        return g[0] * LN10 if g is not None else NEG_INF

    def score(self, words, bos=True, eos=True):
        """Total natural-log probability of a word sequence (for checks)."""
        state = self.start() if bos else ()
        total = 0.0
        for w in words:
            lp, state = self.advance(state, w)
            total += lp
        return total + (self.end(state) if eos else 0.0)

    def start(self):
        return ("<s>",)

    def advance(self, state, word):
        key = (state, word)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        w = word if word in self.vocab else ("<unk>" if self.has_unk else None)
        if w is None:
            res = (NEG_INF, state)
        else:
            lp = self._log10(state, w)
            new = (state + (w,))[-(self.order - 1):] if self.order > 1 else ()
            # Keep the longest context the model knows, so states merge.
            while new and new not in self.grams[len(new) - 1]:
                new = new[1:]
            res = (NEG_INF if lp is None else lp * LN10, new)
        if len(self._cache) < 2_000_000:
            self._cache[key] = res
        return res

    def end(self, state):
        lp = self._log10(state, "</s>")
        return NEG_INF if lp is None else lp * LN10


def load_arpa(path):
    """Read an ARPA file (plain or .gz) into an :class:`ArpaLM`."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            lines = f.read().split("\n")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise LanguageModelError("%s: cannot read: %s" % (path, exc)) from None
    i = 0
    while i < len(lines) and lines[i].strip() != "\\data\\":
        i += 1
    if i == len(lines):
        raise LanguageModelError("%s: no \\data\\ section: not an ARPA file" % path)
    counts = {}
    i += 1
    while i < len(lines) and lines[i].strip().startswith("ngram "):
        try:
            n, c = (int(v) for v in lines[i].strip()[6:].split("="))
        except ValueError:
            raise LanguageModelError("%s:%d: bad count line %r" % (path, i + 1, lines[i][:80])) from None
        if not 1 <= n <= MAX_ORDER or c < 0:
            raise LanguageModelError("%s:%d: order %d / count %d out of range (orders 1..%d)"
                                     % (path, i + 1, n, c, MAX_ORDER))
        counts[n] = c
        i += 1
    if not counts or sorted(counts) != list(range(1, max(counts) + 1)):
        raise LanguageModelError("%s: the \\data\\ section must count 1..N-grams" % path)
    order = max(counts)
    grams = [dict() for _ in range(order)]
    n = 0
    while i < len(lines):
        s = lines[i].strip()
        i += 1
        if not s:
            continue
        if s == "\\end\\":
            break
        if s.startswith("\\") and s.endswith("-grams:"):
            try:
                n = int(s[1:-7])
            except ValueError:
                raise LanguageModelError("%s:%d: bad section header %r" % (path, i, s[:80])) from None
            if not 1 <= n <= order:
                raise LanguageModelError("%s:%d: %d-grams in a model of order %d" % (path, i, n, order))
            continue
        if n == 0:
            raise LanguageModelError("%s:%d: entry outside an n-gram section" % (path, i))
        parts = s.split()
        if len(parts) not in (n + 1, n + 2):
            raise LanguageModelError("%s:%d: a %d-gram line needs %d or %d fields, got %d"
                                     % (path, i, n, n + 1, n + 2, len(parts)))
        try:
            logp = float(parts[0])
            bow = float(parts[n + 1]) if len(parts) == n + 2 else 0.0
        except ValueError:
            raise LanguageModelError("%s:%d: bad number in %r" % (path, i, s[:80])) from None
        if not (math.isfinite(bow) and (math.isfinite(logp) or logp == NEG_INF)) or logp > 0:
            raise LanguageModelError("%s:%d: impossible probability in %r" % (path, i, s[:80]))
        grams[n - 1][tuple(parts[1:n + 1])] = (logp, bow)
    else:
        raise LanguageModelError("%s: missing \\end\\ (truncated file?)" % path)
    for k in range(order):
        if len(grams[k]) != counts[k + 1]:
            raise LanguageModelError("%s: header says %d %d-grams, found %d"
                                     % (path, counts[k + 1], k + 1, len(grams[k])))
    if ("</s>",) not in grams[0]:
        raise LanguageModelError("%s: the unigrams lack </s>" % path)
    return ArpaLM(grams, order)


def write_arpa(path, grams):
    """Write [{tuple: (log10 p, log10 bow)}] per order as an ARPA file (.gz ok)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8") as f:
        f.write("\n\\data\\\n")
        for n, g in enumerate(grams, 1):
            f.write("ngram %d=%d\n" % (n, len(g)))
        for n, g in enumerate(grams, 1):
            f.write("\n\\%d-grams:\n" % n)
            last = n == len(grams)
            for key in sorted(g):
                lp, bow = g[key]
                lp_s = "-99" if lp == NEG_INF else "%.6f" % lp
                if last or bow == 0.0:
                    f.write("%s\t%s\n" % (lp_s, " ".join(key)))
                else:
                    f.write("%s\t%s\t%.6f\n" % (lp_s, " ".join(key), bow))
        f.write("\n\\end\\\n")


class PhraseGrammar:
    """Only the given phrases, each equally likely: the state is a node of
    the phrase-prefix trie, and a sentence may end only at a phrase end."""

    def __init__(self, phrases):
        self.next = [{}]
        self.final = [False]
        for ph in phrases:
            words = ph.lower().split()
            if not words:
                continue
            node = 0
            for w in words:
                nxt = self.next[node].get(w)
                if nxt is None:
                    nxt = len(self.next)
                    self.next[node][w] = nxt
                    self.next.append({})
                    self.final.append(False)
                node = nxt
            self.final[node] = True
        if len(self.next) == 1:
            raise LanguageModelError("a phrase grammar needs at least one non-empty phrase")
        self.vocab = {w for d in self.next for w in d}

    def start(self):
        return 0

    def advance(self, state, word):
        nxt = self.next[state].get(word)
        if nxt is None:
            return NEG_INF, state
        return -math.log(len(self.next[state]) + self.final[state]), nxt

    def end(self, state):
        return -math.log(len(self.next[state]) + 1) if self.final[state] else NEG_INF
