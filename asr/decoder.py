"""CTC decoding: greedy best path, and prefix beam search constrained by a
lexicon trie and scored by a word language model. The search runs in C
(native/src/decoder.c); this module loads the resources and wraps results.

Search: a hypothesis is a word history plus a position in the phone trie
of the lexicon, with CTC blank / non-blank probabilities. Per frame it may
stay (blank, or a repeat of its last phone), advance to a child node of
the trie (a repeated phone needs a blank in between), and where the node
ends words (homophones: several), close each word: ``lm_weight`` times the
word's natural-log LM probability plus ``word_bonus`` are added and the
hypothesis returns to the trie root. Equal hypotheses merge; those more
than ``beam_delta`` nats below the best are dropped and the ``beam`` best
kept; labels more than ``prune`` nats below the frame's best label are not
expanded. A unigram look-ahead through the trie lets partial words compete
with finished ones. With a ``label_log_prior`` (bundled models carry one),
every frame's log-probabilities are lowered by ``prior_weight`` times the
labels' log-priors before the search (asr_decoder_set_label_prior): the
blank, which the network emits on most frames, weighs a little less against
the phones, and frequent phones less against rare ones.

Results, in seconds from the stream's start plus ``time_offset_s``:
  - a word starts at the frame its first phone is emitted and ends after
    the frame its last phone is first emitted;
  - confidence: the posterior share (softmax of the final hypotheses'
    scores) held by the final hypotheses that contain the same word starting
    within two frames of it;
  - ``nbest``: up to ``nbest`` distinct texts with their total scores
    (natural log: acoustic + lm_weight * LM + word bonuses), best first.

Greedy (``greedy=True``, or no lexicon): best path, repeats collapsed,
blanks dropped; the output "words" are the phone labels (e.g. "R EH D"),
each with its frames and the mean posterior of those frames as confidence.
A lexicon or LM given with ``greedy=True`` is ignored: greedy output is
always the phone string.

Every frame is decoded on its own, so feeding frames in any chunking gives
the same result. A Decoder is immutable and shareable between threads;
each stream is used by one thread at a time (the C calls run without the
GIL).
"""
import math
from dataclasses import dataclass, field
from typing import List

import numpy as np

from ._native import check, ffi, lib, new_status
from .errors import AsrError, DecoderError
from .hotwords import scaled_boost
from .lexicon import Lexicon, load_lexicon
from .lm import ArpaLM, PhraseGrammar, load_lm
from .resources import find_model_file


def _c_defaults():
    """The search options of asr_decoder_opts_default (native/src/files.c),
    the one place they are set, so Python and the C programs decode alike."""
    o = ffi.new("asr_decoder_opts *")
    lib.asr_decoder_opts_default(o)
    return {"beam": int(o.beam), "beam_delta": float(o.beam_delta), "prune": float(o.prune),
            "lm_weight": float(o.lm_weight), "word_bonus": float(o.word_bonus),
            "prior_weight": float(o.prior_weight)}


DEFAULTS = dict(_c_defaults(), nbest=5)


@dataclass
class WordInfo:
    """A word (or, greedy, a phone): times in seconds, confidence in [0, 1]."""
    word: str
    start: float
    end: float
    conf: float


@dataclass
class DecodeResult:
    text: str
    words: List[WordInfo] = field(default_factory=list)
    nbest: list = field(default_factory=list)      # [(text, score)], best first


class Decoder:
    """Shared, read-only decoding resources; ``stream()`` makes per-utterance
    state. ``lexicon``: a :class:`Lexicon` (None: greedy). ``lm``: an
    :class:`ArpaLM`, a :class:`PhraseGrammar`, or None. ``label_log_prior``:
    the model's label log-priors (``Model.label_log_prior``), used with
    ``prior_weight``; None: no prior correction."""

    def __init__(self, labels, lexicon=None, lm=None, greedy=False, frame_shift_s=0.03,
                 beam=DEFAULTS["beam"], beam_delta=DEFAULTS["beam_delta"], prune=DEFAULTS["prune"],
                 lm_weight=DEFAULTS["lm_weight"], word_bonus=DEFAULTS["word_bonus"],
                 nbest=DEFAULTS["nbest"], boosts=None, prior_weight=DEFAULTS["prior_weight"],
                 label_log_prior=None):
        self.labels = list(labels)
        if "<blk>" not in self.labels:
            raise DecoderError("the model's labels need a <blk> (CTC blank)")
        self.blank = self.labels.index("<blk>")
        self.greedy = bool(greedy) or lexicon is None
        self.lexicon = None if self.greedy else lexicon
        self.lm = None if self.greedy else lm
        try:
            beam = int(beam)
            beam_delta, prune = float(beam_delta), float(prune)
            lm_weight, word_bonus = float(lm_weight), float(word_bonus)
            prior_weight = float(prior_weight)
            nbest = int(nbest)
            self.frame_shift_s = float(frame_shift_s)
        except (TypeError, ValueError) as exc:
            raise DecoderError("bad decoder option: %s" % exc) from None
        if not (1 <= beam <= 100000 and beam_delta > 0 and prune > 0 and math.isfinite(lm_weight)
                and lm_weight >= 0 and math.isfinite(word_bonus) and nbest >= 0
                and self.frame_shift_s > 0 and 0 <= prior_weight <= lib.ASR_MAX_PRIOR_WEIGHT):
            raise DecoderError("beam must be in 1..100000, beam_delta and prune > 0, lm_weight "
                               "finite and >= 0, word_bonus finite, nbest >= 0, frame_shift_s > 0, "
                               "prior_weight in 0..%d" % lib.ASR_MAX_PRIOR_WEIGHT)
        self.beam, self.beam_delta, self.prune = beam, beam_delta, prune
        self.lm_weight, self.word_bonus, self.nbest = lm_weight, word_bonus, nbest
        self.prior_weight = prior_weight
        if self.lexicon is not None and self.lexicon.labels != self.labels:
            raise DecoderError("the lexicon was read for another label set")

        opts = ffi.new("asr_decoder_opts *", {"beam": beam, "beam_delta": beam_delta, "prune": prune,
                                              "lm_weight": lm_weight, "word_bonus": word_bonus,
                                              "prior_weight": prior_weight})
        out = ffi.new("asr_decoder **")
        st = new_status()
        if self.greedy:
            check(lib.asr_decoder_create(len(self.labels), self.blank, ffi.NULL, ffi.NULL, ffi.NULL,
                                         0, opts, out, st), st)
            self._keep = ()
        else:
            lex = self.lexicon.native()
            if self.lm is not None:
                native_lm = self.lm.native()
                word_lm = ffi.new("int32_t[]", [self.lm.lm_id(w) for w in self.lexicon.words])
                lm_ptr = native_lm.ptr
            else:
                native_lm, word_lm, lm_ptr = None, ffi.NULL, ffi.NULL
            check(lib.asr_decoder_create(len(self.labels), self.blank, lex, lm_ptr, word_lm,
                                         len(self.lexicon.words), opts, out, st), st)
            self._keep = (lex, native_lm)       # the C decoder borrows them
        self._ptr = ffi.gc(out[0], lib.asr_decoder_free)
        self.label_log_prior = None
        if label_log_prior is not None:
            prior = np.ascontiguousarray(label_log_prior, dtype=np.float32)
            if prior.shape != (len(self.labels),):
                raise DecoderError("a label prior of shape %s for %d labels"
                                   % (prior.shape, len(self.labels)))
            check(lib.asr_decoder_set_label_prior(self._ptr, ffi.cast("float *", ffi.from_buffer(prior)),
                                                  len(prior), st), st)
            self.label_log_prior = prior
        self.boosts = {}
        if boosts and not self.greedy:
            self._set_boosts(boosts)

    def _set_boosts(self, boosts):
        """Hotwords: ``boosts`` {word: nats for a word of
        hotwords.REFERENCE_PHONES phones}, scaled by each word's length
        (hotwords.scaled_boost), added when the search closes the word and
        anticipated inside it (asr_decoder_set_word_boost)."""
        boosts = dict(boosts)
        wanted = {self.lexicon.word_id[w] for w in boosts if w in self.lexicon}
        phones = {}
        for w, ids in self.lexicon.entries:
            if w in wanted:
                phones[w] = min(phones.get(w, len(ids)), len(ids))
        arr = np.zeros(len(self.lexicon.words), dtype=np.float32)
        for word, value in boosts.items():
            if word not in self.lexicon:
                raise DecoderError("hotword %r is not in the lexicon" % (word,))
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise DecoderError("hotword %r: boost %r is not a number" % (word, value)) from None
            if not (math.isfinite(value) and abs(value) <= lib.ASR_MAX_WORD_BOOST):
                raise DecoderError("hotword %r: boost %r must be finite, at most %g in size"
                                   % (word, value, lib.ASR_MAX_WORD_BOOST))
            w = self.lexicon.word_id[word]
            limit = lib.ASR_MAX_WORD_BOOST
            arr[w] = min(limit, max(-limit, scaled_boost(value, phones[w])))
            self.boosts[word] = value
        st = new_status()
        check(lib.asr_decoder_set_word_boost(self._ptr, ffi.cast("float *", ffi.from_buffer(arr)),
                                             len(arr), st), st)

    def stream(self, time_offset_s=0.0):
        """A new search; word times are offset by ``time_offset_s`` seconds."""
        return DecoderStream(self, time_offset_s)

    def with_words(self, prons, logp10=None):
        """A new decoder whose lexicon also has ``prons`` ([(word, [phone
        names])]) and whose n-gram LM knows the new words as unigrams of log10
        probability ``logp10`` (see :meth:`ArpaLM.with_unigrams`). This one is
        unchanged: streams already running keep it."""
        if self.greedy:
            raise DecoderError("a greedy decoder has no lexicon to add words to")
        if isinstance(self.lm, PhraseGrammar):
            raise DecoderError("phrase mode: only the phrases' words can be recognized; give new "
                               "words to the Recognizer with words= together with the phrases")
        lexicon = self.lexicon.extended(prons)
        lm = self.lm.with_unigrams([w for w, _ in prons], logp10) if self.lm is not None else None
        return Decoder(self.labels, lexicon, lm, frame_shift_s=self.frame_shift_s, beam=self.beam,
                       beam_delta=self.beam_delta, prune=self.prune, lm_weight=self.lm_weight,
                       word_bonus=self.word_bonus, nbest=self.nbest, boosts=self.boosts,
                       prior_weight=self.prior_weight, label_log_prior=self.label_log_prior)


class DecoderStream:
    """One utterance being decoded. Not thread-safe; use one per thread."""

    def __init__(self, dec, time_offset_s=0.0):
        self.dec = dec
        self.t0 = float(time_offset_s)
        out = ffi.new("asr_search **")
        st = new_status()
        check(lib.asr_search_create(dec._ptr, out, st), st)
        self._ptr = ffi.gc(out[0], lib.asr_search_free)
        self._buf = ffi.new("asr_word[]", 64)
        self._cap = 64

    def accept(self, logprobs):
        """Feed frames: an (n_frames, n_labels) array of natural-log
        probabilities (n_frames may be 0)."""
        lp = np.asarray(logprobs)
        n_labels = len(self.dec.labels)
        if lp.ndim != 2 or (lp.shape[1] != n_labels and lp.size):
            raise DecoderError("expected log-probabilities of shape (frames, %d), got %s"
                               % (n_labels, lp.shape))
        if lp.shape[0] == 0:
            return
        if not np.issubdtype(lp.dtype, np.floating):
            raise DecoderError("log-probabilities must be floating point, got %s" % lp.dtype)
        lp = np.ascontiguousarray(lp, dtype=np.float32)
        # The C search refuses these too (ASR_E_ARG); checked here first so
        # the caller gets a DecoderError, like every other unusable input.
        if np.isnan(lp).any() or np.isposinf(lp).any():
            raise DecoderError("log-probabilities must not be NaN or +inf")
        st = new_status()
        check(lib.asr_search_accept(self._ptr, ffi.cast("float *", ffi.from_buffer(lp)),
                                    lp.shape[0], n_labels, st), st)

    def _hyp(self, rank):
        st = new_status()
        n = ffi.new("size_t *")
        score = ffi.new("double *")
        while True:
            check(lib.asr_search_hyp(self._ptr, rank, self._buf, self._cap, n, score, st), st)
            if n[0] <= self._cap:
                break
            self._cap = max(n[0], 2 * self._cap)
            self._buf = ffi.new("asr_word[]", self._cap)
        names = self.dec.labels if self.dec.greedy else self.dec.lexicon.words
        fs = self.dec.frame_shift_s
        words = [WordInfo(names[w.id], self.t0 + w.start * fs, self.t0 + w.end * fs,
                          min(1.0, max(0.0, float(w.conf))))
                 for w in (self._buf[i] for i in range(n[0]))]
        return words, score[0]

    def _rank(self, final):
        st = new_status()
        n = ffi.new("size_t *")
        check(lib.asr_search_rank(self._ptr, int(final), n, st), st)
        return n[0]

    def partial(self):
        """The best hypothesis so far (words cut off mid-way not included)."""
        if self._rank(False) == 0:
            return DecodeResult(text="")
        words, _ = self._hyp(0)
        return DecodeResult(text=" ".join(w.word for w in words))

    def finish(self):
        """The final result: text, words with times and confidences, n-best."""
        n = self._rank(True)
        if n == 0:
            return DecodeResult(text="")
        words, score = self._hyp(0)
        text = " ".join(w.word for w in words)
        nbest, seen = [], set()
        for r in range(n):
            if len(nbest) >= self.dec.nbest:
                break
            t, s = (text, score) if r == 0 else self._texts(r)
            if t not in seen:
                seen.add(t)
                nbest.append((t, float(s)))
        return DecodeResult(text=text, words=words, nbest=nbest)

    def _texts(self, rank):
        words, score = self._hyp(rank)
        return " ".join(w.word for w in words), score

    @property
    def frames(self):
        """Frames accepted so far."""
        st = new_status()
        n = ffi.new("size_t *")
        check(lib.asr_search_frames(self._ptr, n, st), st)
        return n[0]


def build_decoder(labels, lexicon=None, lm=None, phrases=None, greedy=False, frame_shift_s=0.03,
                  words=None, boosts=None, **opts):
    """The decoder the recognizer uses.

    ``lexicon``: a path or :class:`Lexicon` (None: the bundled
    en-us.asrlex). ``lm``: a path to a binary LM (.asrlm) or ARPA file (.arpa,
    .arpa.gz), or an :class:`ArpaLM` (None: the bundled en-us.asrlm; False: no LM).
    ``phrases``: a list of phrases; only they can be recognized (the lexicon
    is restricted to their words and a phrase grammar replaces the LM; an
    out-of-vocabulary word is a LexiconError). ``greedy``: best-path phone
    output (lexicon and LM unused). ``words``: pronunciations [(word, [phone
    names])] added to the lexicon (and, as unigrams, to an n-gram LM).
    ``boosts``: hotwords {word: nats} (asr.hotwords); those the lexicon
    lacks are pronounced by the G2P model and added like ``words``. ``opts``: beam, beam_delta, prune,
    lm_weight, word_bonus, nbest, prior_weight (see DEFAULTS), label_log_prior (the
    model's, Model.label_log_prior)."""
    if "<blk>" not in list(labels):
        raise DecoderError("the model's labels need a <blk> (CTC blank)")
    if greedy:
        return Decoder(labels, None, None, greedy=True, frame_shift_s=frame_shift_s, **opts)
    if isinstance(lexicon, Lexicon):
        lex = lexicon
    else:
        lex = load_lexicon(lexicon if lexicon else _bundled("en-us.asrlex"), labels)
    if boosts and phrases is None:
        from .g2p import word_prons
        known = set(w for w, _ in words or [])
        missing = [w for w in boosts if w not in lex and w not in known]
        words = list(words or []) + (word_prons(missing) if missing else [])
    if words:
        lex = lex.extended(words)
    if phrases is not None:
        grammar = PhraseGrammar(phrases)
        return Decoder(labels, lex.restricted(grammar.vocab), grammar, frame_shift_s=frame_shift_s,
                       boosts=boosts, **opts)
    if lm is False:
        model = None
    elif isinstance(lm, ArpaLM):
        model = lm
    else:
        model = load_lm(lm if lm else _bundled("en-us.asrlm"))
    if words and model is not None:
        model = model.with_unigrams([w for w, _ in words])
    return Decoder(labels, lex, model, frame_shift_s=frame_shift_s, boosts=boosts, **opts)


def _bundled(name):
    try:
        return find_model_file(name)
    except AsrError as exc:
        raise DecoderError("%s (the bundled %s is built with tools/build_lm.py)" % (exc, name)) from None
