"""Pronunciation lexicon (CMU dictionary format, or its binary form) for the decoder.

Format: one ``WORD PH PH ...`` per line; alternates as ``WORD(2) ...``;
lines starting with ``;;;`` or ``#`` are comments, and so is anything after
`` #`` on a line; stress digits on phones are dropped (``AH0`` -> ``AH``).
Words are stored lower-case. Plain or gzipped (``.gz``) UTF-8 text.

The C side (native/src/lexicon.c) stores the pronunciations as a phone
trie; homophones end at the same trie node.

The decoder can only output words of its lexicon (there is no open-
vocabulary phone loop): words are added at run time with
``Recognizer.add_words`` (pronounced by the G2P model of asr/g2p.py when no
phones are given); a phrase list naming an unknown word is an error unless
the word is given with ``words=``. A binary form (below) holds the same
entries and loads without parsing text.
"""
import gzip
import os
import re

import numpy as np

from .errors import LexiconError

CMU_PHONES = ("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY "
              "P R S SH T TH UH UW V W Y Z ZH").split()
DEFAULT_LABELS = ["<blk>"] + CMU_PHONES

_VARIANT = re.compile(r"\(\d+\)$")
_STRESS = re.compile(r"[012]$")
_PHONE = re.compile(r"[A-Z]+")


def phone_name(phone):
    """A CMU phone as the lexicon stores it: upper case, stress digit dropped
    (``ah0`` -> ``AH``)."""
    return _STRESS.sub("", phone).upper()


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
            start = np.zeros(len(lengths) + 1, dtype=np.int32)
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
                phones = [phone_name(p) for p in parts[1:]]
                if not word or any(not _PHONE.fullmatch(p) for p in phones):
                    raise LexiconError("%s:%d: malformed entry %r" % (path, n, line[:80]))
                out.append((word, phones, n))
    except UnicodeDecodeError as exc:
        raise LexiconError("%s: not UTF-8 text: %s" % (path, exc)) from None
    except (OSError, EOFError) as exc:
        raise LexiconError("%s: cannot read: %s" % (path, exc)) from None
    return out


def read_prons(path):
    """[(word, [phones])] of a CMU-format file or a binary lexicon;
    LexiconError with the line number for anything malformed."""
    if _is_binary(path):
        return load_binary(path).prons()
    return [(w, p) for w, p, _ in _read(path)]


def load_lexicon(path, labels=None):
    """Read a lexicon (CMU-format text or the binary form) for a model's
    label set (default: blank + the 39 CMU phones); every phone must be a
    label (LexiconError naming the line or the problem)."""
    if _is_binary(path):
        lex = load_binary(path)
        if labels is None or list(labels) == lex.labels:
            return lex
        return Lexicon.from_prons(lex.prons(), labels, str(path))
    return Lexicon.from_prons(_read(path), labels, str(path))


# ------------------------------------------------------------ binary form
# The lexicon's arrays in the checksummed container of asr/container.py:
# "words" (UTF-8, newline-joined, uint8), "pron_word" (int32 word id per
# pronunciation), "pron_start" (int32, n_prons + 1 offsets into "phones")
# and "phones" (int32 label ids of the header's "labels"). It loads without
# parsing text, and holds exactly what the text lexicon it came from does.
BINARY_MAGIC = b"ASRX\x00\r\n\x1a"
BINARY_VERSION = 1


def _is_binary(path):
    from .container import has_magic
    return has_magic(path, BINARY_MAGIC)


def save_binary(lex, path):
    """Write ``lex`` as a binary lexicon file, atomically."""
    from . import container
    w = container.Writer()
    lengths = np.array([len(ids) for _, ids in lex.entries], dtype=np.int64)
    start = np.zeros(len(lengths) + 1, dtype=np.int32)
    start[1:] = np.cumsum(lengths)
    header = {"format": "asrlex", "format_version": BINARY_VERSION, "labels": list(lex.labels),
              "source": os.path.basename(str(lex.name)),
              "words": w.add_strings("words", lex.words),
              "pron_word": w.add("pron_word", np.array([wd for wd, _ in lex.entries], np.int32)),
              "pron_start": w.add("pron_start", start),
              "phones": w.add("phones", np.array([i for _, ids in lex.entries for i in ids], np.int32))}
    w.write(str(path), BINARY_MAGIC, BINARY_VERSION, header)


def load_binary(path):
    """Read and validate a binary lexicon; LexiconError naming the problem."""
    from . import container
    return container.load(path, BINARY_MAGIC, BINARY_VERSION, "binary lexicon", LexiconError,
                          _lexicon_from_arrays)


def _lexicon_from_arrays(header, tensors, name):
    if header.get("format") != "asrlex":
        raise LexiconError("not a binary lexicon header")
    labels = [str(x) for x in header["labels"]]
    words = tensors.strings(header["words"])
    pron_word = tensors.get(header["pron_word"], np.int32)
    start = tensors.get(header["pron_start"], np.int32).astype(np.int64)
    phones = tensors.get(header["phones"], np.int32)
    blank = labels.index("<blk>") if "<blk>" in labels else -1
    if len(set(words)) != len(words) or not all(words):
        raise LexiconError("the words are not distinct and non-empty")
    if (pron_word.ndim != 1 or start.shape != (len(pron_word) + 1,) or start[0] != 0
            or start[-1] != len(phones) or np.any(np.diff(start) < 1)):
        raise LexiconError("the pronunciation offsets are inconsistent")
    if len(pron_word) and (pron_word.min() < 0 or pron_word.max() >= len(words)):
        raise LexiconError("a pronunciation names a word outside the word list")
    if len(phones) and (phones.min() < 0 or phones.max() >= len(labels) or np.any(phones == blank)):
        raise LexiconError("a phone is not a label (or is the blank)")
    flat = phones.tolist()
    bounds = start.tolist()
    entries = [(w, flat[bounds[k]:bounds[k + 1]]) for k, w in enumerate(pron_word.tolist())]
    return Lexicon(entries, words, labels, name)
