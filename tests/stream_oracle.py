"""Test oracle: the recognizer's stream as it was in Python before the C
recognizer (native/src/recognizer.c) took it over, kept so tests can check
that the C path gives the same results. Features, network and per-utterance
decoder searches are the library's; only the endpointing loop and the
result assembly are here."""
import time
from typing import List

import numpy as np

from asr.audio import to_float32
from asr.errors import AsrError, AudioError
from asr.features import FeatureStream
from asr.stream import Partial, Result, Word


class OracleStream:
    """One audio source being recognized. Not thread-safe; use one per thread."""

    def __init__(self, rec, sample_rate):
        self.rec = rec
        # the recognizer's own frontend: float frames, or integer ones
        # already in the first layer's quantization
        self.features = FeatureStream(rec.model.features, sample_rate, frontend=rec._fe)
        self.net = rec.network.stream()
        self._forward = self.net.forward_q if rec.frontend == "int" else self.net.forward
        self.results: List[Result] = []
        self.timings = {"features": 0.0, "model": 0.0, "decoder": 0.0}
        self.samples_in = 0
        self.sample_rate = sample_rate
        self._finished = False
        self._frame = 0                  # output frames seen
        self._new_utterance()

    def _new_utterance(self):
        self._dec = self.rec.decoder.stream(time_offset_s=self._frame * self.rec.frame_shift_s)
        self._utt_start = self._frame
        self._blank_run = 0
        self._speech = False
        self._speech_end_wall = None
        self._utt_lp = []                # phrase mode: the utterance's frames, for its confidence

    def _feed(self, lp):
        self._dec.accept(lp)
        if self.rec.scorer is not None and len(lp):
            self._utt_lp.append(np.array(lp, dtype=np.float32))

    def accept(self, chunk):
        """Feed samples (1-D int16/float array, or n x channels: mixed down).
        Returns a :class:`Partial`."""
        if self._finished:
            raise AsrError("the stream is finished")
        x = to_float32(chunk)
        if x.ndim == 2:
            x = x.mean(axis=1, dtype=np.float32)
        if x.ndim != 1:
            raise AudioError("expected 1-D samples or samples x channels, got shape %s" % (x.shape,))
        if not np.all(np.isfinite(x)):
            raise AudioError("the audio contains NaN or infinite samples")
        self.samples_in += len(x)
        t0 = time.perf_counter()
        feats = self.features.accept(x)
        t1 = time.perf_counter()
        lp = self._forward(feats)
        t2 = time.perf_counter()
        self.timings["features"] += t1 - t0
        self.timings["model"] += t2 - t1
        finals = self._decode(lp)
        return Partial(text=self._dec.partial().text, endpoint=bool(finals), finals=finals)

    def finish(self):
        """Flush everything; returns the last utterance's final result (all
        of them are in ``self.results``)."""
        if self._finished:
            raise AsrError("the stream is finished")
        self._finished = True
        t0 = time.perf_counter()
        feats = self.features.finish()
        t1 = time.perf_counter()
        lp = self._forward(feats, finish=True)
        t2 = time.perf_counter()
        self.timings["features"] += t1 - t0
        self.timings["model"] += t2 - t1
        self._decode(lp)
        return self._close_utterance(force=True)

    def _decode(self, lp):
        """Feed log-prob frames to the decoder, cutting utterances at endpoints."""
        ep = self.rec.endpoint
        finals = []
        t0 = time.perf_counter()
        need = int(round(ep.endpoint_silence_s / self.rec.frame_shift_s))
        max_frames = int(round(ep.max_utterance_s / self.rec.frame_shift_s))
        start = 0
        if ep.enabled and len(lp):
            blank_lp = lp[:, self.rec.blank]
            thr = np.log(ep.blank_threshold)
            for i in range(len(lp)):
                if blank_lp[i] >= thr:
                    self._blank_run += 1
                    if self._blank_run == 1:
                        self._speech_end_wall = None
                else:
                    self._blank_run = 0
                    self._speech = True
                frame = self._frame + i + 1
                long_utt = frame - self._utt_start >= max_frames
                if (self._speech and self._blank_run >= need) or long_utt:
                    self._feed(lp[start:i + 1])
                    self._frame += i + 1 - start
                    start = i + 1
                    finals.append(self._close_utterance())
                    self._new_utterance()
        if start < len(lp):
            self._feed(lp[start:])
            self._frame += len(lp) - start
        self.timings["decoder"] += time.perf_counter() - t0
        return finals

    def _close_utterance(self, force=False):
        t = time.perf_counter()
        r = self._dec.finish()
        res = Result(text=r.text, words=[Word(w.word, w.start, w.end, w.conf) for w in r.words],
                     start=self._utt_start * self.rec.frame_shift_s,
                     end=self._frame * self.rec.frame_shift_s,
                     nbest=getattr(r, "nbest", []))
        if self.rec.scorer is not None and res.text:
            self._judge(res)
        self.timings["decoder"] += time.perf_counter() - t
        if res.text or not force or not self.results:
            self.results.append(res)
        return res

    def _judge(self, res):
        """Phrase mode: set the result's confidence; below the threshold the
        phrase is moved to ``rejected`` and the result has no text."""
        lp = np.concatenate(self._utt_lp) if self._utt_lp else np.zeros((0, 1), np.float32)
        res.conf = self.rec.scorer.confidence(lp, res.text.split())
        if res.conf < self.rec.reject:
            res.rejected, res.text, res.words, res.nbest = res.text, "", [], []

    @property
    def audio_seconds(self):
        return self.samples_in / float(self.sample_rate)
