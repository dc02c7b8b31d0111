"""Pronunciation lexicon (CMU dictionary format) and its phone trie.

Format: one ``WORD PH PH ...`` per line; alternates as ``WORD(2) ...``;
``;;;`` starts a comment; stress digits on phones are dropped (``AH0`` ->
``AH``). Words are stored lower-case.

Out-of-vocabulary words are not supported: the decoder can only output
words of its lexicon (there is no grapheme fallback). Add words to the
lexicon file to make them recognizable.
"""
import gzip
import re

from .errors import LexiconError

_VARIANT = re.compile(r"\(\d+\)$")


class Lexicon:
    """Words, their pronunciations, and a trie over phone sequences.

    ``children[node]`` maps a label id to the child node; ``words_at[node]``
    lists the word ids whose pronunciation ends at that node. Node 0 is the
    root."""

    def __init__(self, prons, labels):
        self.labels = list(labels)
        index = {p: i for i, p in enumerate(self.labels)}
        self.words = []
        self.word_id = {}
        self.children = [{}]
        self.words_at = [[]]
        self.last_label = [-1]
        for word, phones in prons:
            ids = []
            for p in phones:
                if p not in index or p == "<blk>":
                    raise LexiconError("phone %r of %r is not a model label" % (p, word))
                ids.append(index[p])
            wid = self.word_id.get(word)
            if wid is None:
                wid = self.word_id[word] = len(self.words)
                self.words.append(word)
            node = 0
            for i in ids:
                nxt = self.children[node].get(i)
                if nxt is None:
                    nxt = len(self.children)
                    self.children[node][i] = nxt
                    self.children.append({})
                    self.words_at.append([])
                    self.last_label.append(i)
                node = nxt
            if wid not in self.words_at[node]:
                self.words_at[node].append(wid)
        if not self.words:
            raise LexiconError("the lexicon holds no words")

    def __len__(self):
        return len(self.words)

    def __contains__(self, word):
        return word in self.word_id

    def restricted(self, vocab):
        """A lexicon of only the words in ``vocab`` (all their pronunciations)."""
        keep = set(vocab)
        missing = sorted(keep - set(self.words))
        if missing:
            raise LexiconError("not in the lexicon (out-of-vocabulary words are unsupported): %s"
                               % ", ".join(missing[:20]))
        return Lexicon([(w, p) for w, p in self.prons() if w in keep], self.labels)

    def prons(self):
        """(word, [phones]) for every pronunciation, by walking the trie."""
        out = []
        stack = [(0, [])]
        while stack:
            node, path = stack.pop()
            for wid in self.words_at[node]:
                out.append((self.words[wid], [self.labels[i] for i in path]))
            for lab, child in self.children[node].items():
                stack.append((child, path + [lab]))
        return out


def read_prons(path):
    """[(word, [phones])] of a CMU-format file; LexiconError with the line
    number for anything malformed."""
    opener = gzip.open if str(path).endswith(".gz") else open
    out = []
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line or line.startswith(";;;") or line.startswith("#"):
                    continue
                parts = line.split()
                if len(parts) < 2:
                    raise LexiconError("%s:%d: a word needs at least one phone: %r" % (path, n, line[:80]))
                word = _VARIANT.sub("", parts[0]).lower()
                phones = [re.sub(r"[012]$", "", p).upper() for p in parts[1:]]
                if not word or any(not re.fullmatch(r"[A-Z]+", p) for p in phones):
                    raise LexiconError("%s:%d: malformed entry %r" % (path, n, line[:80]))
                out.append((word, phones))
    except UnicodeDecodeError as exc:
        raise LexiconError("%s: not UTF-8 text: %s" % (path, exc)) from None
    except OSError as exc:
        raise LexiconError("%s: cannot read: %s" % (path, exc)) from None
    return out


def load_lexicon(path, labels=None):
    """Read a lexicon for a model's label set (default: blank + 39 CMU phones)."""
    if labels is None:
        labels = ["<blk>"] + ("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY "
                              "P R S SH T TH UH UW V W Y Z ZH").split()
    prons = read_prons(path)
    try:
        return Lexicon(prons, labels)
    except LexiconError as exc:
        raise LexiconError("%s: %s" % (path, exc)) from None
