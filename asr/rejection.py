"""Rejection of out-of-grammar speech in phrase (command-and-control) mode.

A phrase grammar forces every utterance onto its nearest phrase. To tell a
spoken command from anything else, the phrase the search chose is scored
against a garbage model: a free phone loop, i.e. the unconstrained best
CTC path (every frame takes its most likely label). Both scores are natural-
log acoustic probabilities of the same frames:

    forced = best CTC alignment of the phrase's phones (any pronunciation of
             each word, blanks allowed anywhere) over every frame
    free   = sum over frames of the frame's best label log-probability

``free >= forced`` always; the gap per speech frame (frames whose best label
is not the blank) is the log-likelihood ratio that the phrase explains the
speech as well as any phone string could. The utterance's confidence is

    conf = exp(-(free - forced) / max(1, speech frames))      in (0, 1]

and a result whose confidence is below the recognizer's ``reject``
threshold is rejected (no text). The threshold's default was chosen on
held-out parts of the training sets with ``tools/oog_report.py``.
"""
import itertools

import numpy as np

from .errors import DecoderError

# Chosen by `tools/oog_report.py --choose --every 2` for the bundled int8
# model and a 20-command list: the grid threshold minimizing false-accept rate
# (cv-valid + so762-valid sentences) + false-reject rate (fsdd + keywords
# training clips); 0.29 for the stage-5 model, 0.33 for stage 6 with 7-bit
# int8 weights, 0.31 with 8-bit ones, before and after the label prior
# correction. The measured rates are in the model card.
DEFAULT_REJECT = 0.31

MAX_PRONUNCIATIONS = 32     # alternatives tried per phrase (product over its words)


def ctc_forced_score(lp, labels, blank):
    """Natural-log probability of the best CTC path over all of ``lp``
    (frames x labels) that emits exactly the label sequence ``labels``
    (repeats need a blank between them). -inf when the frames are too few."""
    T = lp.shape[0]
    S = 2 * len(labels) + 1
    ext = np.full(S, blank, dtype=np.int64)
    ext[1::2] = labels
    # A state may skip the blank before it when its label differs from the
    # label two states back (no blank is needed between different labels).
    skip = np.zeros(S, dtype=bool)
    skip[3::2] = ext[3::2] != ext[1:-2:2]
    neg = -np.inf
    score = np.full(S, neg)
    score[0] = lp[0, blank]
    if S > 1:
        score[1] = lp[0, ext[1]]
    for t in range(1, T):
        prev1 = np.concatenate(([neg], score[:-1]))
        prev2 = np.concatenate(([neg, neg], score[:-2]))
        best = np.maximum(score, prev1)
        best = np.where(skip, np.maximum(best, prev2), best)
        score = best + lp[t, ext]
    return float(max(score[-1], score[-2])) if S > 1 else float(score[-1])


def free_loop_score(lp):
    """Natural-log probability of the unconstrained best path: the sum of
    every frame's best label log-probability."""
    return float(lp.max(axis=1).sum())


def speech_frames(lp, blank):
    """Frames whose most likely label is not the blank."""
    return int(np.count_nonzero(lp.argmax(axis=1) != blank))


class PhraseScorer:
    """Confidence of a phrase-mode result. ``lexicon``: the decoder's
    (restricted) :class:`asr.lexicon.Lexicon`."""

    def __init__(self, lexicon):
        self.blank = lexicon.blank
        self.prons = {}
        for word_id, ids in lexicon.entries:
            self.prons.setdefault(lexicon.words[word_id], []).append(list(ids))

    def sequences(self, words):
        """Label sequences of the phrase ``words``: one per combination of
        pronunciations, at most MAX_PRONUNCIATIONS."""
        try:
            options = [self.prons[w] for w in words]
        except KeyError as exc:
            raise DecoderError("word %s is not in the phrase lexicon" % exc) from None
        combos = itertools.islice(itertools.product(*options), MAX_PRONUNCIATIONS)
        return [[p for pron in combo for p in pron] for combo in combos]

    def confidence(self, lp, words):
        """Confidence in (0, 1] that the frames ``lp`` (natural-log
        probabilities, frames x labels) are the phrase ``words``; 0.0 for
        no words or no frames."""
        lp = np.asarray(lp, dtype=np.float64)
        if not words or lp.ndim != 2 or lp.shape[0] == 0:
            return 0.0
        forced = max(ctc_forced_score(lp, seq, self.blank) for seq in self.sequences(words))
        if not np.isfinite(forced):
            return 0.0
        gap = max(0.0, free_loop_score(lp) - forced)
        return float(np.exp(-gap / max(1, speech_frames(lp, self.blank))))
