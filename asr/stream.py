"""The recognizer: audio in, words out, incrementally.

``Recognizer`` is immutable and shareable between threads (the model, the
packed network, the lexicon and the LM); each ``stream()`` is independent
mutable state for one audio source::

    rec = Recognizer()                 # bundled model, int8
    s = rec.stream(sample_rate=16000)
    for chunk in chunks:               # any size, int16 or float32 samples
        p = s.accept(chunk)            # p.text: partial transcript, p.endpoint
    final = s.finish()                 # final.text, final.words

Every stage runs incrementally and only on new data: resampling, features,
the acoustic model (with its context carried over) and the decoder. Frames
are bit-identical whatever the chunking, and endpoints are decided per
output frame, so the final results never depend on how audio was chunked.

Endpointing: an utterance ends after ``endpoint_silence_s`` seconds of
frames where the CTC blank has posterior above ``blank_threshold``, once
the utterance holds at least one non-blank frame. Its final result is then
emitted and the decoder starts afresh (the acoustic context continues).
"""
import time
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

from . import decoder as dec
from ._native import check, ffi, lib, new_status
from .audio import to_float32
from .errors import AsrError, AudioError
from .features import Frontend
from .model import Model
from .network import Network
from .resources import PRECISIONS, default_model_path, find_model_file, model_dirs  # noqa: F401



@dataclass
class Word:
    """A recognized word: times in seconds from the start of the stream,
    confidence in [0, 1]."""
    word: str
    start: float
    end: float
    conf: float


@dataclass
class Result:
    """A final result: one utterance (or, from ``Recognizer.recognize``, a
    whole recording)."""
    text: str
    words: List[Word] = field(default_factory=list)
    start: float = 0.0
    end: float = 0.0
    nbest: list = field(default_factory=list)
    latency_s: Optional[float] = None   # wall time from end of speech to this result
    audio_s: float = 0.0                # seconds of audio behind a whole-recording result
    conf: Optional[float] = None        # phrase mode: confidence that it is the phrase
    rejected: str = ""                  # phrase mode: the phrase rejected as out-of-grammar


@dataclass
class Partial:
    """What ``Stream.accept`` returns: the current partial text, whether an
    endpoint was reached in this chunk, and the finals it produced."""
    text: str
    endpoint: bool = False
    finals: List[Result] = field(default_factory=list)


@dataclass(frozen=True)
class EndpointConfig:
    enabled: bool = True
    endpoint_silence_s: float = 0.8
    blank_threshold: float = 0.95
    max_utterance_s: float = 30.0


class Recognizer:
    """Model + network + decoder configuration; makes independent streams.

    ``model``: a path or a :class:`Model` (default: the bundled English model
    at ``precision``). ``lexicon``/``lm``: paths (default: the bundled
    ones); ``lm=False`` decodes without a language model. ``phrases``: a
    list of allowed phrases for command-and-control decoding; a result
    whose confidence (:mod:`asr.rejection`) is below ``reject`` is rejected
    as out-of-grammar speech (default ``asr.rejection.DEFAULT_REJECT``; 0
    keeps every result). ``kernel``: 'auto' or a path name ('ref', 'avx2', ...).
    ``words``: words to add to the lexicon, as for :meth:`add_words` (with
    phrases, the way to use words the lexicon lacks). ``hotwords``: words
    and phrases to favour during the search, with optional boosts in nats
    (:mod:`asr.hotwords`). ``frontend``: 'int' computes the features in
    integers and writes them in the first layer's quantization (integer
    models only), 'float' in double; 'auto' is float for float models and
    ``INT_MODEL_FRONTEND`` for int8/int16 ones. ``beam``, ``lm_weight``,
    ``word_bonus``, ``prior_weight``: search options (None: the defaults,
    asr.decoder.DEFAULTS); the prior correction uses the model's label
    priors when its file has them.
    """

    def __init__(self, model=None, precision="int8", lexicon=None, lm=None, phrases=None,
                 kernel="auto", beam=None, lm_weight=None, word_bonus=None, greedy=False,
                 endpoint=EndpointConfig(), reject=None, words=None, hotwords=None,
                 frontend="auto", prior_weight=None):
        from .rejection import DEFAULT_REJECT, PhraseScorer
        if model is None:
            model = default_model_path(precision)
        self.model = model if isinstance(model, Model) else Model.load(model)
        self.network = Network(self.model, kernel=kernel)
        self.frontend = resolve_frontend(frontend, self.model)
        self._fe = (Frontend(self.model.features, "int", self.network) if self.frontend == "int"
                    else Frontend.get(self.model.features))
        self.endpoint = endpoint
        self.sample_rate = self.model.features.sample_rate
        self.frame_shift_s = self.model.frame_shift_s
        opts = {k: v for k, v in (("beam", beam), ("lm_weight", lm_weight),
                                  ("word_bonus", word_bonus), ("prior_weight", prior_weight))
                if v is not None}
        from .g2p import word_prons
        from .hotwords import parse_hotwords
        decoder = dec.build_decoder(self.model.labels, lexicon=lexicon, lm=lm,
                                         phrases=phrases, greedy=greedy,
                                         words=word_prons(words) if words else None,
                                         boosts=parse_hotwords(hotwords) if hotwords else None,
                                         frame_shift_s=self.frame_shift_s,
                                         label_log_prior=self.model.label_log_prior, **opts)
        self.decoder = decoder          # also builds the C recognizer (_core)
        self.blank = self.model.labels.index("<blk>") if "<blk>" in self.model.labels else 0
        self.scorer = None
        if phrases is not None and not self.decoder.greedy:
            self.scorer = PhraseScorer(self.decoder.lexicon)
        self.reject = DEFAULT_REJECT if reject is None else float(reject)
        if not 0.0 <= self.reject <= 1.0:
            raise AsrError("reject must be a confidence in [0, 1], got %r" % (reject,))

    def add_words(self, words, logp10=None):
        """Make new words recognizable without reloading anything: each item
        of ``words`` is a word (pronounced by the bundled G2P model), a
        ``"word PH PH ..."`` line or a ``(word, phones)`` pair. They join the
        lexicon trie and, as unigrams of log10 probability ``logp10`` (default:
        the LM's median word), the n-gram LM. Takes effect from the next
        utterance of every stream; the decoder is replaced, not changed, so
        threads decoding meanwhile are unaffected. Returns the pronunciations
        used."""
        from .g2p import word_prons
        prons = word_prons(words)
        self.decoder = self.decoder.with_words(prons, logp10)
        return prons

    @property
    def decoder(self):
        return self._decoder

    @decoder.setter
    def decoder(self, decoder):
        # Streams hold the old C recognizer until their next utterance.
        self._core = _Core(self._fe, self.network, decoder, self.endpoint)
        self._decoder = decoder

    @property
    def precision(self):
        return self.model.precision

    def stream(self, sample_rate=None):
        """A new independent stream; audio at ``sample_rate`` Hz (default:
        the model's rate) is resampled as it arrives."""
        return Stream(self, sample_rate or self.sample_rate)

    def recognize(self, samples, sample_rate=None):
        """Whole-recording result: every utterance's words, one text."""
        s = self.stream(sample_rate)
        s.accept(samples)
        s.finish()
        return merge_results(s.results, s.audio_seconds)

    def recognize_file(self, path, block_s=5.0):
        """Whole-file result, read and recognized a few seconds at a time
        (memory stays bounded for hours of audio)."""
        from .audio import iter_audio
        s = None
        for rate, block in iter_audio(path, block_s):
            if s is None:
                s = self.stream(rate)
            s.accept(block)
        s.finish()
        return merge_results(s.results, s.audio_seconds)


# The frontend 'auto' gives int8/int16 models: the integer one, since its
# WER is never more than 0.2 points worse than the float one's on any real
# test set (README, "Integer frontend"); native/src/recognizer.c's
# ASR_FE_AUTO_INTEGER is the same choice for C.
INT_MODEL_FRONTEND = "int"


def resolve_frontend(frontend, model):
    """'int' or 'float' for a ``frontend`` choice ('auto', 'int', 'float')
    and a model."""
    if frontend not in ("auto", "int", "float"):
        raise AsrError("frontend must be 'auto', 'int' or 'float', not %r" % (frontend,))
    is_float = model.layers[0].dtype == "float"
    if frontend == "auto":
        return "float" if is_float else INT_MODEL_FRONTEND
    if frontend == "int" and is_float:
        raise AsrError("the integer frontend feeds integer models; this one is float "
                       "(use frontend='float' or an int8/int16 model)")
    return frontend


class _Core:
    """The C recognizer (asr_recognizer.h) over a network and a decoder,
    keeping both alive as long as it lives."""

    def __init__(self, frontend, network, decoder, endpoint):
        self.frontend, self.network, self.decoder = frontend, network, decoder
        names = decoder.labels if decoder.greedy else decoder.lexicon.words
        keep = [ffi.new("char[]", n.encode("utf-8")) for n in names]
        arr = ffi.new("const char *[]", keep) if keep else ffi.NULL
        ep = ffi.new("asr_endpoint_opts *", {
            "enabled": int(endpoint.enabled), "silence_s": endpoint.endpoint_silence_s,
            "blank_threshold": endpoint.blank_threshold, "max_utterance_s": endpoint.max_utterance_s})
        out = ffi.new("asr_recognizer **")
        st = new_status()
        check(lib.asr_recognizer_create(frontend._fe, network._net, decoder._ptr, arr, len(keep), decoder.blank,
                                        decoder.frame_shift_s, ep, decoder.nbest, out, st), st)
        self.ptr = ffi.gc(out[0], lib.asr_recognizer_free)

    def new_stream(self, sample_rate, keep_logprobs=False):
        out = ffi.new("asr_rstream **")
        st = new_status()
        check(lib.asr_rstream_create(self.ptr, sample_rate, int(keep_logprobs), out, st), st)
        # The stream borrows this recognizer: keep it alive with the stream.
        return ffi.gc(out[0], lambda p, _keep=self: lib.asr_rstream_free(p))


def merge_results(results, audio_s=0.0):
    """One result for a whole recording from its utterances' results."""
    words = [w for r in results for w in r.words]
    text = " ".join(r.text for r in results if r.text)
    if not results:
        return Result(text="", audio_s=audio_s)
    confs = [r.conf for r in results if r.conf is not None]
    return Result(text=text, words=words, start=results[0].start, end=results[-1].end,
                  audio_s=audio_s, conf=max(confs) if confs else None,
                  rejected=" ".join(r.rejected for r in results if r.rejected))


class Stream:
    """One audio source being recognized. Not thread-safe; use one per thread.

    Everything after the checks of the input runs in one C stream
    (native/src/recognizer.c): resampling and features, the network, the
    endpointing and the search."""

    def __init__(self, rec, sample_rate):
        self.rec = rec
        if not 0 < int(sample_rate) <= lib.ASR_FE_MAX_RATE:
            raise AudioError("sample rate %r Hz is outside 1..%d" % (sample_rate, lib.ASR_FE_MAX_RATE))
        self._core = rec._core          # the C recognizer of the utterance in progress
        self._next = None               # one set for the next utterance (add_words)
        self._ptr = self._core.new_stream(int(sample_rate), keep_logprobs=rec.scorer is not None)
        self.results: List[Result] = []
        self.samples_in = 0
        self.sample_rate = sample_rate
        self._finished = False

    @property
    def timings(self):
        """Seconds spent so far per stage: features, model, decoder."""
        t = ffi.new("double[3]")
        st = new_status()
        check(lib.asr_rstream_timings(self._ptr, t, st), st)
        return {"features": t[0], "model": t[1], "decoder": t[2]}

    def _follow_recognizer(self):
        """If the recognizer's decoder was replaced (add_words), switch to
        it from the next utterance; the current one keeps its own."""
        core = self.rec._core
        if core is not self._core and core is not self._next:
            st = new_status()
            check(lib.asr_rstream_set_recognizer(self._ptr, core.ptr, st), st)
            self._next = core

    def accept(self, chunk):
        """Feed samples (1-D int16/float array, or n x channels: mixed down).
        Returns a :class:`Partial`."""
        if self._finished:
            raise AsrError("the stream is finished")
        x = np.asarray(chunk)
        # int16 PCM goes to C as it is (scaled there exactly as to_float32 does)
        x = x if x.dtype == np.int16 and x.ndim == 1 else to_float32(x)
        if x.ndim == 2:
            x = x.mean(axis=1, dtype=np.float32)
        if x.ndim != 1:
            raise AudioError("expected 1-D samples or samples x channels, got shape %s" % (x.shape,))
        if x.dtype != np.int16 and not np.all(np.isfinite(x)):
            raise AudioError("the audio contains NaN or infinite samples")
        x = np.ascontiguousarray(x)
        self._follow_recognizer()
        n = ffi.new("size_t *")
        st = new_status()
        if x.dtype == np.int16:
            rc = lib.asr_rstream_accept_s16(self._ptr, ffi.cast("int16_t *", ffi.from_buffer(x)),
                                            len(x), n, st)
        else:
            rc = lib.asr_rstream_accept_f32(self._ptr, ffi.cast("float *", ffi.from_buffer(x)),
                                            len(x), n, st)
        finals = self._collect(n[0], last=False)     # those before an error stay delivered
        check(rc, st)
        self.samples_in += len(x)
        return Partial(text=self._partial(), endpoint=bool(finals), finals=finals)

    def finish(self):
        """Flush everything; returns the last utterance's final result (all
        of them are in ``self.results``)."""
        if self._finished:
            raise AsrError("the stream is finished")
        self._finished = True
        self._follow_recognizer()
        n = ffi.new("size_t *")
        st = new_status()
        rc = lib.asr_rstream_finish(self._ptr, n, st)
        finals = self._collect(n[0], last=True)
        check(rc, st)
        return finals[-1]

    def _partial(self):
        text = ffi.new("const char **")
        st = new_status()
        check(lib.asr_rstream_partial(self._ptr, text, st), st)
        return ffi.string(text[0]).decode("utf-8")

    def _collect(self, n, last):
        """The C stream's n new finals as Results, appended to ``results``
        (with ``last``, an empty final only when it is the stream's only
        result)."""
        out = []
        r = ffi.new("asr_result *")
        st = new_status()
        for i in range(n):
            check(lib.asr_rstream_final(self._ptr, i, r, st), st)
            res = _result(r[0])
            is_last = last and i == n - 1
            if self.rec.scorer is not None and res.text:
                lp = np.frombuffer(ffi.buffer(r.logprobs, 4 * r.n_frames * self.rec.network.n_labels),
                                   dtype=np.float32).reshape(r.n_frames, -1) if r.n_frames else \
                    np.zeros((0, self.rec.network.n_labels), np.float32)
                self._judge(res, lp)
            if res.text or not is_last or not self.results:
                self.results.append(res)
            out.append(res)
        if n and self._next is not None:
            # An utterance ended, so the C stream now uses the new recognizer.
            self._core, self._next = self._next, None
        return out

    def _judge(self, res, lp):
        """Phrase mode: set the result's confidence; below the threshold the
        phrase is moved to ``rejected`` and the result has no text."""
        res.conf = self.rec.scorer.confidence(lp, res.text.split())
        if res.conf < self.rec.reject:
            res.rejected, res.text, res.words, res.nbest = res.text, "", [], []

    @property
    def audio_seconds(self):
        return self.samples_in / float(self.sample_rate)


def _text(p):
    return ffi.string(p).decode("utf-8")


def _result(r):
    """An asr_result (C) as a Result."""
    words = [Word(_text(w.word), w.start, w.end, min(1.0, max(0.0, float(w.conf))))
             for w in (r.words[i] for i in range(r.n_words))]
    nbest = [(_text(r.alternative_text[i]), float(r.alternative_score[i]))
             for i in range(r.n_alternatives)]
    return Result(text=_text(r.text), words=words, start=r.start, end=r.end, nbest=nbest)
