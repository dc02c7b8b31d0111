"""Pronunciation lexicon (CMU dictionary format) for the decoder.

Format: one ``WORD PH PH ...`` per line; alternates as ``WORD(2) ...``;
lines starting with ``;;;`` or ``#`` are comments, and so is anything after
`` #`` on a line; stress digits on phones are dropped (``AH0`` -> ``AH``).
Words are stored lower-case. Plain or gzipped (``.gz``) UTF-8 text.

The C side (native/src/lexicon.c) stores the pronunciations as a phone
trie; homophones end at the same trie node.

Out-of-vocabulary words are not supported: the decoder can only output
words of its lexicon (there is no grapheme-to-phoneme fallback and no
open-vocabulary phone loop). Add words to the lexicon file to make them
recognizable; a phrase list naming an unknown word is an error.
"""
import gzip
import re

import numpy as np

from .errors import LexiconError

CMU_PHONES = ("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY "
              "P R S SH T TH UH UW V W Y Z ZH").split()
DEFAULT_LABELS = ["<blk>"] + CMU_PHONES

_VARIANT = re.compile(r"\(\d+\)$")
_STRESS = re.compile(r"[012]$")
_PHONE = re.compile(r"[A-Z]+")


class Lexicon:
    """Words and their pronunciations as label ids of a model's label set.

    ``words[i]`` is word id i (first-seen order); ``entries`` is
    [(word id, [label ids])], one per pronunciation."""

    def __init__(self, entries, words, labels, name="<lexicon>"):
        self.labels = list(labels)
        self.words = list(words)
        self.word_id = {w: i for i, w in enumerate(self.words)}
        self.entries = entries
        self.name = name
        if not self.entries:
            raise LexiconError("%s: the lexicon holds no words" % name)
        self.blank = self.labels.index("<blk>") if "<blk>" in self.labels else -1
        self._native = None

    @classmethod
    def from_prons(cls, prons, labels=None, name="<lexicon>"):
        """Build from [(word, [phone names])] (or with a third item, the line
        number, used in errors)."""
        labels = list(labels) if labels is not None else DEFAULT_LABELS
        index = {p: i for i, p in enumerate(labels) if p != "<blk>"}
        words, word_id, entries = [], {}, []
        for item in prons:
            word, phones = item[0], item[1]
            where = "%s:%d" % (name, item[2]) if len(item) > 2 else name
            ids = []
            for p in phones:
                if p not in index:
                    raise LexiconError("%s: phone %r of %r is not a model label" % (where, p, word))
                ids.append(index[p])
            if word not in word_id:
                word_id[word] = len(words)
                words.append(word)
            entries.append((word_id[word], ids))
        return cls(entries, words, labels, name)

    def __len__(self):
        return len(self.words)

    def __contains__(self, word):
        return word in self.word_id

    def prons(self):
        """(word, [phone names]) for every pronunciation."""
        return [(self.words[w], [self.labels[i] for i in ids]) for w, ids in self.entries]

    def extended(self, prons):
        """A new lexicon with the pronunciations ``prons`` ([(word, [phone
        names])]) added: new words get the next ids, known words an extra
        pronunciation (a duplicate is ignored)."""
        index = {p: i for i, p in enumerate(self.labels) if p != "<blk>"}
        words, word_id, entries = list(self.words), dict(self.word_id), list(self.entries)
        known = {word_id[w.lower()] for w, _ in prons if w.lower() in word_id}
        have = {(w, tuple(ids)) for w, ids in self.entries if w in known}
        for word, phones in prons:
            word = word.lower()
            missing = [p for p in phones if p not in index]
            if missing or not phones:
                raise LexiconError("%r: phones %s are not model labels" % (word, missing or "(none)"))
            if word not in word_id:
                word_id[word] = len(words)
                words.append(word)
            key = (word_id[word], tuple(index[p] for p in phones))
            if key not in have:
                have.add(key)
                entries.append((key[0], list(key[1])))
        return Lexicon(entries, words, self.labels, self.name)

    def restricted(self, vocab):
        """A lexicon of only the words in ``vocab`` (all their pronunciations);
        LexiconError listing any word it lacks."""
        keep = set(vocab)
        missing = sorted(keep - set(self.words))
        if missing:
            raise LexiconError("not in the lexicon (out-of-vocabulary words are unsupported): %s"
                               % ", ".join(missing[:20]))
        return Lexicon.from_prons([p for p in self.prons() if p[0] in keep], self.labels, self.name)

    def native(self):
        """The C phone trie (asr_lexicon), built once and shared."""
        if self._native is None:
            from ._native import ffi, lib, new_status, check
            lengths = np.array([len(ids) for _, ids in self.entries], dtype=np.int64)
            start = np.zeros(len(lengths) + 1, dtype=np.uint32)
            start[1:] = np.cumsum(lengths)
            phones = np.fromiter((i for _, ids in self.entries for i in ids), dtype=np.int32,
                                 count=int(lengths.sum()))
            word = np.array([w for w, _ in self.entries], dtype=np.int32)
            out = ffi.new("asr_lexicon **")
            st = new_status()
            check(lib.asr_lexicon_create(
                len(self.labels), self.blank, len(self.words), len(self.entries),
                ffi.cast("int32_t *", ffi.from_buffer(word)),
                ffi.cast("uint32_t *", ffi.from_buffer(start)),
                ffi.cast("int32_t *", ffi.from_buffer(phones)), out, st), st)
            self._native = ffi.gc(out[0], lib.asr_lexicon_free)
        return self._native


def _read(path):
    """[(word, [phones], line number)] of a CMU-format file."""
    opener = gzip.open if str(path).endswith(".gz") else open
    out = []
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                line = line.split(" #", 1)[0].strip()
                if not line or line.startswith(";;;") or line.startswith("#"):
                    continue
                parts = line.split()
                if len(parts) < 2:
                    raise LexiconError("%s:%d: a word needs at least one phone: %r"
                                       % (path, n, line[:80]))
                word = _VARIANT.sub("", parts[0]).lower()
                phones = [_STRESS.sub("", p).upper() for p in parts[1:]]
                if not word or any(not _PHONE.fullmatch(p) for p in phones):
                    raise LexiconError("%s:%d: malformed entry %r" % (path, n, line[:80]))
                out.append((word, phones, n))
    except UnicodeDecodeError as exc:
        raise LexiconError("%s: not UTF-8 text: %s" % (path, exc)) from None
    except (OSError, EOFError) as exc:
        raise LexiconError("%s: cannot read: %s" % (path, exc)) from None
    return out


def read_prons(path):
    """[(word, [phones])] of a CMU-format file; LexiconError with the line
    number for anything malformed."""
    return [(w, p) for w, p, _ in _read(path)]


def load_lexicon(path, labels=None):
    """Read a lexicon for a model's label set (default: blank + the 39 CMU
    phones); every phone must be a label (LexiconError naming the line)."""
    return Lexicon.from_prons(_read(path), labels, str(path))
