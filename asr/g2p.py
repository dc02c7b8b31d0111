"""Grapheme-to-phoneme conversion: a pronunciation for a word from its
spelling, so that words missing from the lexicon can be added at run time
(``Recognizer.add_words``, ``asr-decode --words``).

The model (trained by ``tools/train_g2p.py`` on CMUdict) is a small
convolutional network with a CTC output over the 39 CMU phones:

    letters -> embedding (C) -> each letter repeated 3 times, plus a learned
    vector per copy -> L residual layers [dilated conv1d (kernel K) + ReLU]
    -> linear
    -> log-softmax over blank + 39 phones -> best path, repeats collapsed

Three output slots per letter leave room for letters that sound as two or
three phones ("x" = K S). Inference is numpy only; a word of 10 letters
costs about 0.1 ms.

File: a numpy ``.npz`` without pickles: ``letters`` (the alphabet, index
0 = unknown), ``phones`` (index 0 = blank), ``emb``, ``sub``,
``conv_w{i}``/``conv_b{i}`` with ``dilations``, ``out_w``/``out_b``, and
``version``.
"""
import numpy as np

from .errors import ModelFormatError
from .resources import find_model_file

VERSION = 1
COPIES = 3


class G2P:
    """A loaded G2P model; ``pronounce(word)`` gives a list of phone names."""

    def __init__(self, arrays, name="<g2p>"):
        self.name = name
        try:
            if int(arrays["version"]) != VERSION:
                raise ModelFormatError("%s: G2P format version %s, this library reads %d"
                                       % (name, arrays["version"], VERSION))
            self.letters = str(arrays["letters"])
            self.phones = [str(p) for p in arrays["phones"]]
            self.emb = np.asarray(arrays["emb"], np.float32)
            self.sub = np.asarray(arrays["sub"], np.float32)
            n = sum(1 for k in arrays if k.startswith("conv_w"))
            self.conv = [(np.asarray(arrays["conv_w%d" % i], np.float32),
                          np.asarray(arrays["conv_b%d" % i], np.float32)) for i in range(n)]
            self.dilations = [int(d) for d in np.asarray(arrays["dilations"]).reshape(-1)]
            self.out_w = np.asarray(arrays["out_w"], np.float32)
            self.out_b = np.asarray(arrays["out_b"], np.float32)
        except KeyError as exc:
            raise ModelFormatError("%s: not a G2P model (missing %s)" % (name, exc)) from None
        self._check()
        self.index = {c: i + 1 for i, c in enumerate(self.letters)}

    def _check(self):
        """Every shape agrees, every weight is finite: ModelFormatError otherwise."""
        c = self.emb.shape[1] if self.emb.ndim == 2 else -1
        ok = (self.emb.ndim == 2 and self.emb.shape[0] == len(self.letters) + 1 and c > 0
              and self.sub.shape == (COPIES, c) and self.out_w.shape == (len(self.phones), c)
              and self.out_b.shape == (len(self.phones),) and self.phones and self.phones[0] == "<blk>"
              and len(self.dilations) == len(self.conv) and all(1 <= d <= 64 for d in self.dilations))
        for w, b in self.conv:
            ok = ok and w.ndim == 3 and w.shape[:2] == (c, c) and w.shape[2] % 2 == 1 and b.shape == (c,)
        if not ok:
            raise ModelFormatError("%s: inconsistent G2P model shapes" % self.name)
        arrays = [self.emb, self.sub, self.out_w, self.out_b] + [a for wb in self.conv for a in wb]
        if not all(np.all(np.isfinite(a)) for a in arrays):
            raise ModelFormatError("%s: the G2P model holds NaN or infinite weights" % self.name)

    def logits(self, word):
        """Per-slot label scores (3 x letters, labels) of a lower-case word."""
        ids = [self.index.get(ch, 0) for ch in word]
        x = np.repeat(self.emb[ids], COPIES, axis=0) + np.tile(self.sub, (len(ids), 1))
        for (w, b), d in zip(self.conv, self.dilations):
            x = x + np.maximum(conv1d(x, w, b, d), 0.0)
        return x @ self.out_w.T + self.out_b

    def pronounce(self, word):
        """Phone names of ``word`` (best CTC path, repeats collapsed, blanks
        dropped); ValueError for an empty word."""
        word = word.strip().lower()
        if not word:
            raise ValueError("cannot pronounce an empty word")
        best = self.logits(word).argmax(axis=1)
        out, prev = [], 0
        for k in best:
            if k != prev and k != 0:
                out.append(self.phones[k])
            prev = k
        return out


def conv1d(x, w, b, dilation=1):
    """'Same' 1-D convolution (zero padded, taps ``dilation`` apart):
    x (T, C_in), w (C_out, C_in, K) -> (T, C_out)."""
    k = w.shape[2]
    pad = dilation * (k // 2)
    xp = np.pad(x, ((pad, pad), (0, 0)))
    cols = np.stack([xp[i * dilation:i * dilation + x.shape[0]] for i in range(k)], axis=2)
    return np.tensordot(cols, w, axes=([1, 2], [1, 2])) + b


def load_g2p(path):
    """Read a G2P model file; ModelFormatError for anything unreadable."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError) as exc:
        raise ModelFormatError("%s: cannot read the G2P model: %s" % (path, exc)) from None
    except Exception as exc:   # zipfile.BadZipFile and friends from a corrupt archive
        raise ModelFormatError("%s: corrupt G2P model: %s" % (path, exc)) from None
    return G2P(arrays, str(path))


_BUNDLED = {}


def bundled_g2p():
    """The bundled English G2P model (models/en-us-g2p.npz), loaded once."""
    if "en-us" not in _BUNDLED:
        _BUNDLED["en-us"] = load_g2p(find_model_file("en-us-g2p.npz"))
    return _BUNDLED["en-us"]


def word_prons(items, g2p=None):
    """[(word, [phone names])] for ``items``: each a word alone (pronounced
    by ``g2p``, default the bundled model), a ``"word PH PH ..."`` line, or a
    ``(word, phones)`` pair with phones as a string or a list. Words are
    lower-cased; phones upper-cased with stress digits dropped."""
    from .errors import LexiconError
    from .lexicon import phone_name
    if isinstance(items, str):
        raise LexiconError("words must be a list of words, not one string")
    if isinstance(items, dict):
        items = list(items.items())
    out = []
    for item in items:
        if isinstance(item, str):
            parts = item.split()
            word, phones = (parts[0], parts[1:]) if parts else ("", [])
        elif isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str):
            word, phones = item[0], item[1].split() if isinstance(item[1], str) else list(item[1] or [])
        else:
            raise LexiconError("a word is a string or a (word, phones) pair, got %r" % (item,))
        word = word.strip().lower()
        if not word:
            raise LexiconError("an empty word cannot be added")
        if not phones:
            phones = (g2p or bundled_g2p()).pronounce(word)
            if not phones:
                raise LexiconError("the G2P model gives no phones for %r; give its pronunciation"
                                   % word)
        out.append((word, [phone_name(p) for p in phones]))
    return out
