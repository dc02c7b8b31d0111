"""CTC decoding: greedy best path, and prefix beam search constrained by a
lexicon trie and scored by a word language model.

A hypothesis is a word history plus a position in the phone trie of the
lexicon. Per frame it may stay (blank, or a repeat of its last phone),
advance to a child node of the trie (a new phone; a repeated phone needs a
blank in between, as CTC requires), and, where the node ends words, close a
word: the LM score (``lm_weight`` times its natural-log probability) and
``word_bonus`` are added and the hypothesis returns to the trie root.
Hypotheses with the same history and trie node are merged (their blank /
non-blank probabilities summed), the ``beam`` best are kept, and labels
more than ``prune`` below the frame's best are not expanded.

Word times: a word starts at the frame its first phone is emitted and
ends after the frame its last phone is first emitted (seconds, offset by
the stream's start). Confidence: the share of the final beam's posterior
mass (softmax of their scores) held by hypotheses that contain the same
word starting within two frames of it.

Everything happens frame by frame, so feeding frames in any chunking gives
the same result.
"""
import math
from dataclasses import dataclass, field
from typing import List

import numpy as np

from .errors import DecoderError
from .lexicon import load_lexicon
from .lm import NEG_INF, PhraseGrammar, load_arpa

DEFAULTS = {"beam": 16, "lm_weight": 0.8, "word_bonus": 1.0, "prune": 8.0}


@dataclass
class WordInfo:
    word: str
    start: float
    end: float
    conf: float


@dataclass
class DecodeResult:
    text: str
    words: List[WordInfo] = field(default_factory=list)
    nbest: list = field(default_factory=list)      # [(text, score)], best first


def _lae(a, b):
    """log(exp(a) + exp(b))."""
    if a < b:
        a, b = b, a
    if b == NEG_INF:
        return a
    return a + math.log1p(math.exp(b - a))


class _Hist:
    """A node of the word-history tree: shared by every hypothesis that has
    the same words so far."""
    __slots__ = ("parent", "word", "start", "end", "lm_state", "depth")

    def __init__(self, parent, word, start, end, lm_state):
        self.parent = parent
        self.word = word
        self.start = start
        self.end = end
        self.lm_state = lm_state
        self.depth = parent.depth + 1 if parent is not None else 0

    def words(self):
        out, h = [], self
        while h is not None and h.word is not None:
            out.append(h)
            h = h.parent
        return out[::-1]


class Decoder:
    """Shared, read-only decoding resources; ``stream()`` makes per-utterance state."""

    def __init__(self, labels, lexicon=None, lm=None, greedy=False, frame_shift_s=0.03,
                 beam=DEFAULTS["beam"], lm_weight=DEFAULTS["lm_weight"],
                 word_bonus=DEFAULTS["word_bonus"], prune=DEFAULTS["prune"], nbest=5):
        self.labels = list(labels)
        if "<blk>" not in self.labels:
            raise DecoderError("the model's labels need a <blk> (CTC blank)")
        self.blank = self.labels.index("<blk>")
        self.lexicon = lexicon
        self.lm = lm
        self.greedy = greedy or lexicon is None
        self.frame_shift_s = float(frame_shift_s)
        if not (int(beam) >= 1 and prune > 0 and math.isfinite(lm_weight) and math.isfinite(word_bonus)):
            raise DecoderError("beam must be >= 1, prune > 0, lm_weight and word_bonus finite")
        self.beam = int(beam)
        self.lm_weight = float(lm_weight)
        self.word_bonus = float(word_bonus)
        self.prune = float(prune)
        self.nbest = int(nbest)
        self.lookahead = self._lookahead() if lexicon is not None else None

    def _lookahead(self):
        """Per trie node, lm_weight times the best unigram log-probability of
        the words below it. A hypothesis carries its node's value until the
        word ends and the true LM score replaces it, so hypotheses inside
        words compete fairly with those that already paid for a word."""
        lex = self.lexicon
        la = [NEG_INF] * len(lex.children)
        uni = getattr(self.lm, "unigram", None)
        for node in range(len(la) - 1, -1, -1):
            best = NEG_INF
            for wid in lex.words_at[node]:
                best = max(best, uni(lex.words[wid]) if uni else 0.0)
            for child in lex.children[node].values():
                best = max(best, la[child])
            la[node] = best
        return [self.lm_weight * (v if v > NEG_INF else 0.0) for v in la]

    def stream(self, time_offset_s=0.0):
        if self.greedy:
            return GreedyStream(self, time_offset_s)
        return BeamStream(self, time_offset_s)


class GreedyStream:
    """Best path: argmax per frame, repeats collapsed, blanks dropped. The
    output is the label (phone) string."""

    def __init__(self, dec, time_offset_s):
        self.dec = dec
        self.t0 = time_offset_s
        self.frames = 0
        self.last = dec.blank
        self.out = []        # (label, frame)

    def accept(self, logprobs):
        lp = _check(logprobs, len(self.dec.labels))
        for i, b in enumerate(lp.argmax(axis=1) if len(lp) else []):
            if b != self.last and b != self.dec.blank:
                self.out.append((int(b), self.frames + i))
            self.last = b
        self.frames += len(lp)

    def partial(self):
        return DecodeResult(text=" ".join(self.dec.labels[b] for b, _ in self.out))

    def finish(self):
        fs = self.dec.frame_shift_s
        words = [WordInfo(self.dec.labels[b], self.t0 + f * fs, self.t0 + (f + 1) * fs, 1.0)
                 for b, f in self.out]
        return DecodeResult(text=" ".join(w.word for w in words), words=words)


def _check(logprobs, n_labels):
    lp = np.asarray(logprobs, dtype=np.float64)
    if lp.ndim != 2 or (lp.size and lp.shape[1] != n_labels):
        raise DecoderError("expected log-probabilities of shape (frames, %d), got %s"
                           % (n_labels, lp.shape))
    if lp.size and not np.all(np.isfinite(lp) | (lp == -np.inf)):
        raise DecoderError("log-probabilities contain NaN or +inf")
    return lp


class BeamStream:
    """Lexicon- and LM-constrained prefix beam search over incoming frames."""

    def __init__(self, dec, time_offset_s):
        self.dec = dec
        self.t0 = time_offset_s
        self.frames = 0
        root = _Hist(None, None, 0, 0, dec.lm.start() if dec.lm is not None else None)
        self._hists = {}
        # key (hist, node) -> [p_blank, p_nonblank, last_label, word_start_frame]
        self.hyps = {(root, 0): [0.0, NEG_INF, -1, 0]}

    def _child_hist(self, hist, wid, start, end):
        """The history extended by a word (shared across hypotheses) and the
        LM log-probability of that word."""
        key = (hist, wid)
        got = self._hists.get(key)
        if got is None:
            word = self.dec.lexicon.words[wid]
            if self.dec.lm is not None:
                lp, state = self.dec.lm.advance(hist.lm_state, word)
            else:
                lp, state = 0.0, None
            got = self._hists[key] = (_Hist(hist, word, start, end, state), lp)
        return got

    def accept(self, logprobs):
        lp_all = _check(logprobs, len(self.dec.labels))
        for row in lp_all:
            self._step(row)
            self.frames += 1

    def _step(self, lp):
        dec = self.dec
        lex = dec.lexicon
        blank = dec.blank
        t = self.frames
        cands = [int(c) for c in np.nonzero(lp >= lp.max() - dec.prune)[0] if c != blank]
        new = {}

        def add(key, pb, pnb, last, wstart):
            h = new.get(key)
            if h is None:
                new[key] = [pb, pnb, last, wstart]
            else:
                if max(pb, pnb) > max(h[0], h[1]):     # times follow the likelier path
                    h[2], h[3] = last, wstart
                h[0] = _lae(h[0], pb)
                h[1] = _lae(h[1], pnb)

        lb = lp[blank]
        bonus = dec.word_bonus
        lmw = dec.lm_weight
        la = dec.lookahead
        for (hist, node), (pb, pnb, last, wstart) in self.hyps.items():
            total = _lae(pb, pnb)
            add((hist, node), total + lb, NEG_INF, last, wstart)          # blank
            if last >= 0 and pnb > NEG_INF:
                add((hist, node), NEG_INF, pnb + lp[last], last, wstart)  # repeat
            kids = lex.children[node]
            for c in cands:
                child = kids.get(c)
                if child is None:
                    continue
                p = (pb if c == last else total) + lp[c]
                if p == NEG_INF:
                    continue
                ws = t if node == 0 else wstart
                if lex.children[child]:
                    add((hist, child), NEG_INF, p + la[child] - la[node], c, ws)
                for wid in lex.words_at[child]:
                    h2, lm_lp = self._child_hist(hist, wid, ws, t + 1)
                    if lm_lp == NEG_INF:
                        continue
                    add((h2, 0), NEG_INF, p + lmw * lm_lp + bonus - la[node] + la[0], c, t + 1)
        if len(new) > dec.beam:
            best = sorted(new.items(), key=lambda kv: -_lae(kv[1][0], kv[1][1]))[:dec.beam]
            new = dict(best)
        self.hyps = new
        if len(self._hists) > 200000:          # forget histories no hypothesis uses
            live = {k[0] for k in new}
            self._hists = {k: v for k, v in self._hists.items() if v[0] in live}

    def _ranked(self, final):
        out = []
        for (hist, node), (pb, pnb, _, _) in self.hyps.items():
            s = _lae(pb, pnb)
            if final:
                if node != 0:
                    continue
                if self.dec.lm is not None:
                    e = self.dec.lm.end(hist.lm_state)
                    if e == NEG_INF:
                        continue
                    s += self.dec.lm_weight * e
            out.append((s, hist))
        out.sort(key=lambda x: -x[0])
        return out

    def partial(self):
        r = self._ranked(False)
        return DecodeResult(text=" ".join(h.word for h in r[0][1].words()) if r else "")

    def finish(self):
        ranked = self._ranked(True)
        if not ranked and not isinstance(self.dec.lm, PhraseGrammar):
            ranked = self._ranked(False)       # cut mid-word: keep the words so far
        if not ranked:
            return DecodeResult(text="")
        fs = self.dec.frame_shift_s
        scores = np.array([s for s, _ in ranked])
        post = np.exp(scores - scores.max())
        post /= post.sum()
        all_words = [[(w.word, w.start) for w in h.words()] for _, h in ranked]
        words = []
        for w in ranked[0][1].words():
            conf = sum(p for p, ws in zip(post, all_words)
                       if any(x == w.word and abs(st - w.start) <= 2 for x, st in ws))
            words.append(WordInfo(w.word, self.t0 + w.start * fs, self.t0 + w.end * fs,
                                  float(min(1.0, conf))))
        nbest, seen = [], set()
        for s, h in ranked:
            text = " ".join(x.word for x in h.words())
            if text not in seen:
                seen.add(text)
                nbest.append((text, float(s)))
            if len(nbest) >= self.dec.nbest:
                break
        return DecodeResult(text=" ".join(w.word for w in words), words=words, nbest=nbest)


def build_decoder(labels, lexicon=None, lm=None, phrases=None, greedy=False, frame_shift_s=0.03,
                  **opts):
    """The decoder the recognizer uses.

    ``lexicon``: a path (None: the bundled en-us.lexicon). ``lm``: a path to
    an ARPA file (None: the bundled en-us.arpa.gz; False: no LM).
    ``phrases``: a list of phrases; only they can be recognized (the
    lexicon is restricted to their words and a phrase grammar replaces the
    LM). ``greedy``: best-path phone output, for checks."""
    from .stream import find_model_file
    if greedy:
        return Decoder(labels, None, None, greedy=True, frame_shift_s=frame_shift_s, **opts)
    lex = load_lexicon(lexicon if lexicon else find_model_file("en-us.lexicon"), labels)
    if phrases is not None:
        grammar = PhraseGrammar(phrases)
        return Decoder(labels, lex.restricted(grammar.vocab), grammar, frame_shift_s=frame_shift_s, **opts)
    if lm is False:
        model = None
    else:
        model = load_arpa(lm if lm else find_model_file("en-us.arpa.gz"))
    return Decoder(labels, lex, model, frame_shift_s=frame_shift_s, **opts)
