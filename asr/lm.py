"""Word language models for the decoder: ARPA n-gram files and phrase grammars.

ARPA: standard back-off models of order 1 to 5 (``\\data\\``, ``\\N-grams:``
sections, log10 probabilities, optional back-off weights), plain or
gzipped. The file is parsed and validated here (every error names the file
and line) into flat arrays that the C decoder (native/src/lm.c) packs into
hash tables. An n-gram whose prefix is missing from the file gets a
context-only entry (no probability, back-off weight 1), so queries behave
as the file says.

Conventions: ``<s>`` and ``</s>`` must be unigrams; a word the model lacks
scores as ``<unk>`` when the model has it, else it is impossible.

Both model kinds also have a small pure-Python scorer in natural-log units
(for tests and tools)::

    state = lm.start()                       # after <s>
    logp, state = lm.advance(state, word)    # -inf when the word is impossible
    logp_end = lm.end(state)                 # log P(</s> | state)
    lm.score(words)                          # the whole sentence
"""
import gzip
import math
import os

import numpy as np

from .errors import LanguageModelError

LN10 = math.log(10.0)
MAX_ORDER = 5
NEG_INF = float("-inf")


class ArpaLM:
    """A back-off n-gram model as arrays, one set per order n:
    ``ids[n-1]`` (count x n int32 word ids, oldest word first),
    ``logp10[n-1]`` and ``bow10[n-1]`` (float32 log10; NaN logp marks a
    context-only entry). ``vocab[i]`` is the word of id i."""

    def __init__(self, vocab, ids, logp10, bow10, name="<arpa>"):
        self.vocab = list(vocab)
        self.word_id = {w: i for i, w in enumerate(self.vocab)}
        self.ids, self.logp10, self.bow10 = ids, logp10, bow10
        self.order = len(ids)
        self.name = name
        for w in ("<s>", "</s>"):
            if w not in self.word_id:
                raise LanguageModelError("%s: the unigrams lack %s" % (name, w))
        self.has_unk = "<unk>" in self.word_id
        self._grams = None
        self._native = None

    # ---------------------------------------------------------- pure Python
    @property
    def grams(self):
        """[{word tuple: (log10 p, log10 bow)}] per order (built on first use)."""
        if self._grams is None:
            self._grams = []
            for ids, lp, bo in zip(self.ids, self.logp10, self.bow10):
                self._grams.append({tuple(self.vocab[i] for i in row): (float(p), float(b))
                                    for row, p, b in zip(ids.tolist(), lp, bo)})
        return self._grams

    def _log10(self, ctx, word):
        bow = 0.0
        grams = self.grams
        while True:
            g = grams[len(ctx)].get(ctx + (word,)) if len(ctx) < self.order else None
            if g is not None and not math.isnan(g[0]):
                return g[0] + bow
            if not ctx:
                return None
            b = grams[len(ctx) - 1].get(ctx)
            bow += b[1] if b is not None else 0.0
            ctx = ctx[1:]

    def unigram(self, word):
        """Natural-log unigram probability (of <unk> for unknown words)."""
        g = self.grams[0].get((word,)) or self.grams[0].get(("<unk>",))
        return g[0] * LN10 if g is not None else NEG_INF

    def start(self):
        return ("<s>",) if self.order > 1 else ()

    def advance(self, state, word):
        w = word if word in self.word_id and word != "<s>" else ("<unk>" if self.has_unk else None)
        if w is None:
            return NEG_INF, state
        lp = self._log10(state, w)
        new = (state + (w,))[-(self.order - 1):] if self.order > 1 else ()
        while new and new not in self.grams[len(new) - 1]:   # longest known context
            new = new[1:]
        return (NEG_INF if lp is None else lp * LN10), new

    def end(self, state):
        lp = self._log10(state, "</s>")
        return NEG_INF if lp is None else lp * LN10

    def score(self, words, bos=True, eos=True):
        """Natural-log probability of a word sequence (pure Python)."""
        state = self.start() if bos else ()
        total = 0.0
        for w in words:
            lp, state = self.advance(state, w)
            total += lp
        return total + (self.end(state) if eos else 0.0)

    # ------------------------------------------------------------------- C
    def native(self):
        """The C model (asr_lm), built once and shared by every decoder."""
        if self._native is None:
            self._native = NativeLM.from_arpa(self)
        return self._native

    def lm_id(self, word):
        """The model's id of a word, or -1 (then it scores as <unk>)."""
        return self.word_id.get(word, -1)

    def typical_unigram10(self):
        """The median log10 unigram probability of the model's words."""
        lp = self.logp10[0]
        real = lp[np.isfinite(lp) & (lp > -99)]
        return float(np.median(real)) if len(real) else -7.0

    def with_unigrams(self, words, logp10=None):
        """A new model that also knows ``words`` as unigrams of log10
        probability ``logp10`` (default :meth:`typical_unigram10`), backing off
        to the unigram from any context. Words it already has are unchanged.
        The probabilities no longer sum to one, as with any added word."""
        value = self.typical_unigram10() if logp10 is None else float(logp10)
        if not (math.isfinite(value) and value <= 0):
            raise LanguageModelError("a unigram log10 probability must be finite and <= 0, got %r"
                                     % (logp10,))
        new = [w for w in dict.fromkeys(words) if w not in self.word_id]
        if not new:
            return self
        ids = [x.copy() for x in self.ids]
        lp = [x.copy() for x in self.logp10]
        bo = [x.copy() for x in self.bow10]
        first = len(self.vocab)
        ids[0] = np.concatenate([ids[0], np.arange(first, first + len(new), dtype=ids[0].dtype)
                                 .reshape(-1, 1)])
        lp[0] = np.concatenate([lp[0], np.full(len(new), value, lp[0].dtype)])
        bo[0] = np.concatenate([bo[0], np.zeros(len(new), bo[0].dtype)])
        return ArpaLM(self.vocab + new, ids, lp, bo, self.name)


class NativeLM:
    """Owns an ``asr_lm`` (freed with this object)."""

    def __init__(self, ptr):
        from ._native import ffi, lib
        self.ptr = ffi.gc(ptr, lib.asr_lm_free)

    @classmethod
    def from_arpa(cls, lm):
        from ._native import ffi, lib, new_status, check, as_buffer
        counts = ffi.new("size_t[]", [len(x) for x in lm.logp10])
        ids, ids_arr = as_buffer(np.concatenate([x.reshape(-1) for x in lm.ids]), np.int32)
        lp, lp_arr = as_buffer(np.concatenate(lm.logp10), np.float32)
        bo, bo_arr = as_buffer(np.concatenate(lm.bow10), np.float32)
        out = ffi.new("asr_lm **")
        st = new_status()
        check(lib.asr_lm_create_arpa(lm.order, counts, ids, lp, bo, len(lm.vocab),
                                     lm.word_id["<s>"], lm.word_id["</s>"],
                                     lm.word_id.get("<unk>", -1), out, st), st)
        return cls(out[0])

    def score(self, ids, bos=True, eos=True):
        """Natural-log probability of LM word ids, computed in C."""
        from ._native import ffi, lib, new_status, check
        arr = ffi.new("int32_t[]", [int(i) for i in ids] or [0])
        out = ffi.new("double *")
        st = new_status()
        check(lib.asr_lm_score(self.ptr, arr, len(ids), int(bos), int(eos), out, st), st)
        return out[0]


def _open_text(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            return f.read()
    except (OSError, EOFError, UnicodeDecodeError, ValueError) as exc:
        raise LanguageModelError("%s: cannot read: %s" % (path, exc)) from None


def load_arpa(path):
    """Read and validate an ARPA file (plain or .gz) into an :class:`ArpaLM`."""
    return parse_arpa(_open_text(path), str(path))


# ------------------------------------------------------------ binary form
# The same arrays as ArpaLM holds, in the checksummed container of
# asr/container.py: "vocab" (UTF-8 words joined by newlines, uint8) and per
# order n "ids.n" (count x n int32), "logp10.n" and "bow10.n" (float32).
# Loading skips the ARPA parse: the bundled LM loads in milliseconds, and
# scores exactly as the ARPA file it was converted from.
BINARY_MAGIC = b"ASRL\x00\r\n\x1a"
BINARY_VERSION = 1


def save_binary(lm, path):
    """Write ``lm`` (an :class:`ArpaLM`) as a binary LM file, atomically."""
    from . import container
    w = container.Writer()
    header = {"format": "asrlm", "format_version": BINARY_VERSION, "order": lm.order,
              "counts": [len(x) for x in lm.logp10], "source": os.path.basename(str(lm.name)),
              "vocab": w.add_strings("vocab", lm.vocab)}
    for n in range(lm.order):
        w.add("ids.%d" % (n + 1), np.asarray(lm.ids[n], dtype=np.int32))
        w.add("logp10.%d" % (n + 1), np.asarray(lm.logp10[n], dtype=np.float32))
        w.add("bow10.%d" % (n + 1), np.asarray(lm.bow10[n], dtype=np.float32))
    w.write(str(path), BINARY_MAGIC, BINARY_VERSION, header)


def load_binary(path):
    """Read and validate a binary LM file; LanguageModelError naming the
    problem for a damaged one."""
    from . import container
    return container.load(path, BINARY_MAGIC, BINARY_VERSION, "binary LM file",
                          LanguageModelError, _lm_from_arrays)


def _lm_from_arrays(header, tensors, name):
    if header.get("format") != "asrlm":
        raise LanguageModelError("not a binary LM header")
    order = int(header["order"])
    if not 1 <= order <= MAX_ORDER:
        raise LanguageModelError("order %d is not in 1..%d" % (order, MAX_ORDER))
    vocab = tensors.strings(header["vocab"])
    ids, logp10, bow10 = [], [], []
    for n in range(1, order + 1):
        i = tensors.get("ids.%d" % n, np.int32)
        lp = tensors.get("logp10.%d" % n, np.float32)
        bo = tensors.get("bow10.%d" % n, np.float32)
        if i.ndim != 2 or i.shape[1] != n or lp.shape != (len(i),) or bo.shape != (len(i),):
            raise LanguageModelError("the %d-gram arrays disagree in shape" % n)
        if len(i) and (i.min() < 0 or i.max() >= len(vocab)):
            raise LanguageModelError("a %d-gram names a word outside the vocabulary" % n)
        ids.append(i)
        logp10.append(lp)
        bow10.append(bo)
    return ArpaLM(vocab, ids, logp10, bow10, name)


def load_lm(path):
    """An n-gram LM from a binary LM file or an ARPA file (plain or .gz),
    told apart by the first bytes."""
    from .container import has_magic
    return load_binary(path) if has_magic(path, BINARY_MAGIC) else load_arpa(path)


def parse_arpa(text, name="<arpa>"):
    """Parse ARPA text; LanguageModelError naming ``name`` and the line."""
    lines = text.split("\n")
    counts, i = _arpa_counts(lines, name)
    order = max(counts)
    vocab, keys, rows = _arpa_entries(lines, i, order, name)
    for k in range(order):
        if len(rows[k]) != counts[k + 1]:
            raise LanguageModelError("%s: header says %d %d-grams, found %d"
                                     % (name, counts[k + 1], k + 1, len(rows[k])))
    _add_context_prefixes(keys, rows)
    ids, logp10, bow10 = [], [], []
    for k in range(order):
        ids.append(np.array(list(keys[k]), dtype=np.int32).reshape(-1, k + 1))
        vals = np.array(rows[k], dtype=np.float64).reshape(-1, 2)
        logp10.append(vals[:, 0].astype(np.float32))
        bow10.append(vals[:, 1].astype(np.float32))
    return ArpaLM(vocab, ids, logp10, bow10, name)


def _arpa_counts(lines, name):
    """The ``\\data\\`` section: ({order: count} for orders 1..N, index of
    the first line after it)."""
    i = 0
    while i < len(lines) and lines[i].strip() != "\\data\\":    # free text may precede it
        i += 1
    if i == len(lines):
        raise LanguageModelError("%s: no \\data\\ section: not an ARPA file" % name)
    counts = {}
    i += 1
    while i < len(lines) and (lines[i].strip().startswith("ngram ") or not lines[i].strip()):
        s = lines[i].strip()
        i += 1
        if not s:
            if counts:
                break
            continue
        try:
            n, c = (int(v) for v in s[6:].split("="))
        except ValueError:
            raise LanguageModelError("%s:%d: bad count line %r" % (name, i, s[:80])) from None
        if not 1 <= n <= MAX_ORDER or not 0 <= c < 2 ** 30 or n in counts:
            raise LanguageModelError("%s:%d: order %d / count %d out of range (orders 1..%d, once each)"
                                     % (name, i, n, c, MAX_ORDER))
        counts[n] = c
    if not counts or sorted(counts) != list(range(1, max(counts) + 1)):
        raise LanguageModelError("%s: the \\data\\ section must count 1..N-grams" % name)
    return counts, i


def _arpa_entries(lines, i, order, name):
    """The n-gram sections from line index ``i`` to ``\\end\\``: (vocab,
    keys[k]: {word-id tuple: row}, rows[k]: [(logp10, bow10)]) per order k + 1."""
    word_id, vocab = {}, []
    keys = [dict() for _ in range(order)]
    rows = [[] for _ in range(order)]
    n = 0
    while i < len(lines):
        s = lines[i].strip()
        i += 1
        if not s:
            continue
        if s == "\\end\\":
            return vocab, keys, rows
        if s.startswith("\\"):
            n = _arpa_section(s, n, order, name, i)
            continue
        if n == 0:
            raise LanguageModelError("%s:%d: entry outside an n-gram section" % (name, i))
        words, logp, bow = _arpa_line(s, n, name, i)
        if n == 1:
            if words[0] in word_id:
                raise LanguageModelError("%s:%d: unigram %r listed twice" % (name, i, words[0]))
            word_id[words[0]] = len(vocab)
            vocab.append(words[0])
            key = (word_id[words[0]],)
        else:
            try:
                key = tuple(word_id[w] for w in words)
            except KeyError as exc:
                raise LanguageModelError("%s:%d: word %s of a %d-gram is not a unigram"
                                         % (name, i, exc, n)) from None
            if key in keys[n - 1]:
                raise LanguageModelError("%s:%d: %d-gram listed twice" % (name, i, n))
        keys[n - 1][key] = len(rows[n - 1])
        rows[n - 1].append((max(logp, -99.0), bow))
    raise LanguageModelError("%s: missing \\end\\ (truncated file?)" % name)


def _arpa_section(s, n, order, name, i):
    """The order of the section header ``s`` (line ``i``), which must be n + 1."""
    if not s.endswith("-grams:"):
        raise LanguageModelError("%s:%d: bad section header %r" % (name, i, s[:80]))
    try:
        m = int(s[1:-7])
    except ValueError:
        raise LanguageModelError("%s:%d: bad section header %r" % (name, i, s[:80])) from None
    if m != n + 1 or m > order:
        raise LanguageModelError("%s:%d: %d-grams where %d-grams belong (order %d)"
                                 % (name, i, m, n + 1, order))
    return m


def _arpa_line(s, n, name, i):
    """(words, log10 probability, log10 back-off) of the n-gram line ``s``."""
    parts = s.split()
    if len(parts) not in (n + 1, n + 2):
        raise LanguageModelError("%s:%d: a %d-gram line needs %d or %d fields, got %d"
                                 % (name, i, n, n + 1, n + 2, len(parts)))
    try:
        logp = float(parts[0])
        bow = float(parts[n + 1]) if len(parts) == n + 2 else 0.0
    except ValueError:
        raise LanguageModelError("%s:%d: bad number in %r" % (name, i, s[:80])) from None
    if not (math.isfinite(bow) and (math.isfinite(logp) or logp == NEG_INF)) or logp > 1e-4 \
            or abs(bow) > 1e4:
        raise LanguageModelError("%s:%d: impossible probability or back-off in %r"
                                 % (name, i, s[:80]))
    return parts[1:n + 1], logp, bow


def _add_context_prefixes(keys, rows):
    """Context-only entries (NaN probability) for n-gram prefixes the file
    lacks, highest order first so the added ones get their own prefixes
    checked too."""
    for k in range(len(keys) - 1, 0, -1):
        lower = keys[k - 1]
        for key in list(keys[k]):
            p = key[:-1]
            if p not in lower:
                lower[p] = len(rows[k - 1])
                rows[k - 1].append((float("nan"), 0.0))


def write_arpa(path, grams):
    """Write [{word tuple: (log10 p, log10 bow)}] per order as an ARPA file
    (``.gz``: gzipped). Probabilities of 0 are written as -99."""
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
                if isinstance(lp, float) and math.isnan(lp):
                    lp = -99.0                      # a context-only entry
                lp_s = "-99" if lp <= -99.0 else "%.6f" % lp
                if last or bow == 0.0:
                    f.write("%s\t%s\n" % (lp_s, " ".join(key)))
                else:
                    f.write("%s\t%s\t%.6f\n" % (lp_s, " ".join(key), bow))
        f.write("\n\\end\\\n")


class PhraseGrammar:
    """Only the given phrases, each continuation equally likely: the state
    is a node of the phrase-prefix trie, and a sentence may end only where a
    phrase ends. Phrases are split on spaces and lower-cased."""

    def __init__(self, phrases):
        if isinstance(phrases, str):
            raise LanguageModelError("phrases must be a list of strings, not one string")
        self.next = [{}]
        self.final = [False]
        for ph in phrases:
            if not isinstance(ph, str):
                raise LanguageModelError("phrases must be strings, got %r" % (ph,))
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
        self.vocab = sorted({w for d in self.next for w in d})
        self.word_id = {w: i for i, w in enumerate(self.vocab)}
        self._native = None

    def start(self):
        return 0

    def advance(self, state, word):
        nxt = self.next[state].get(word)
        if nxt is None:
            return NEG_INF, state
        return -math.log(len(self.next[state]) + self.final[state]), nxt

    def end(self, state):
        return -math.log(len(self.next[state]) + 1) if self.final[state] else NEG_INF

    def score(self, words, bos=True, eos=True):
        state, total = self.start(), 0.0
        for w in words:
            lp, state = self.advance(state, w)
            total += lp
        return total + (self.end(state) if eos else 0.0)

    def lm_id(self, word):
        return self.word_id.get(word, -1)

    def native(self):
        """The C grammar (asr_lm), built once."""
        if self._native is None:
            from ._native import ffi, lib, new_status, check
            end = [self.end(n) for n in range(len(self.next))]
            arcs = [(n, self.word_id[w], to, self.advance(n, w)[0])
                    for n, d in enumerate(self.next) for w, to in d.items()]
            out = ffi.new("asr_lm **")
            st = new_status()
            check(lib.asr_lm_create_grammar(
                len(end), ffi.new("float[]", end), len(arcs),
                ffi.new("int32_t[]", [a[0] for a in arcs]), ffi.new("int32_t[]", [a[1] for a in arcs]),
                ffi.new("int32_t[]", [a[2] for a in arcs]), ffi.new("float[]", [a[3] for a in arcs]),
                len(self.vocab), out, st), st)
            self._native = NativeLM(out[0])
        return self._native
