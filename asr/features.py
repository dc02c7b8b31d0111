"""Log-mel filterbank features, whole-utterance and incremental.

The computation uses python_speech_features' framing, power spectrum and mel
filterbank, with its pre-emphasis made stateful and its final matrix product
replaced by a per-frame reduction, so that a stream fed in any chunking gives
bit-identical frames to one call on the whole signal (a BLAS product may
round a row differently depending on how many rows it is given).

Times: ``win_s``/``hop_s`` in seconds, frequencies in Hz, samples are float
in [-1, 1]. Output: float32 array (frames x num_filters) of natural-log
energies. Normalization (mean / inverse std) is stored in the model and
applied by the network, not here.

Channel normalization (``cmn_frames`` > 0) subtracts from each frame a
running mean of the frames so far, over an exponentially decaying window,
and adds back ``cmn_prior``: a microphone's or a room's fixed colouration,
an offset on every log energy, cancels, while the output keeps the scale
the model's own mean and variance normalization expects. The running mean
starts from ``cmn_prior`` (the training set's mean) weighted as
``cmn_prior_frames`` frames, so the first frames of a stream are not
normalized by themselves alone. It is causal and computed frame by frame,
so streaming keeps its bit-identical chunking.
"""
from dataclasses import asdict, dataclass

import numpy as np
import python_speech_features as psf
from scipy import signal
from python_speech_features import sigproc


@dataclass(frozen=True)
class FeatureConfig:
    """Everything that defines the features; stored in every model file."""
    sample_rate: int = 16000
    win_s: float = 0.025
    hop_s: float = 0.01
    nfft: int = 512
    num_filters: int = 40
    low_hz: float = 20.0
    high_hz: float = 7600.0
    preemph: float = 0.97
    log_floor: float = 1e-10
    window: str = "hamming"
    cmn_frames: int = 0              # time constant of the running mean, frames (0: off)
    cmn_prior_frames: int = 100      # weight of cmn_prior at the start, frames
    cmn_prior: tuple = ()            # per-filter log energy the running mean starts from

    @property
    def win_len(self):
        """Window length in samples."""
        return int(round(self.win_s * self.sample_rate))

    @property
    def hop_len(self):
        """Frame shift in samples."""
        return int(round(self.hop_s * self.sample_rate))

    def to_dict(self):
        d = asdict(self)
        d["cmn_prior"] = list(self.cmn_prior)
        return d

    @classmethod
    def from_dict(cls, d):
        known = {f: d[f] for f in cls.__dataclass_fields__ if f in d}
        if "cmn_prior" in known:
            known["cmn_prior"] = tuple(float(v) for v in known["cmn_prior"])
        return cls(**known)

    def check(self):
        """Raise ValueError if the channel normalization settings are unusable."""
        if self.cmn_frames < 0 or self.cmn_prior_frames < 0:
            raise ValueError("cmn_frames and cmn_prior_frames must be >= 0")
        if self.cmn_frames and (len(self.cmn_prior) != self.num_filters
                                or not np.all(np.isfinite(self.cmn_prior))):
            raise ValueError("cmn_prior needs %d finite values when cmn_frames > 0"
                             % self.num_filters)


class ChannelNorm:
    """Streaming channel (cepstral-style) mean normalization of log-mel frames.

    With a = 1 - 1/cmn_frames, after frame t the decayed sum and count are
    S_t = a S_{t-1} + f_t and C_t = a C_{t-1} + 1, starting from
    S = cmn_prior_frames * prior and C = cmn_prior_frames; the output frame
    is f_t - S_t / C_t + prior. Sums are float64 and the frames are visited
    in order one at a time, so any chunking gives identical bits.
    """

    def __init__(self, cfg):
        cfg.check()
        self.decay = 1.0 - 1.0 / cfg.cmn_frames
        self.prior = np.asarray(cfg.cmn_prior, dtype=np.float64)
        # [S | C] of the last frame; the filter's state is a times that.
        self.last = np.append(self.prior * cfg.cmn_prior_frames, float(cfg.cmn_prior_frames))

    def apply(self, frames):
        """(n, num_filters) log-mel frames -> normalized float32 frames; updates the state."""
        if len(frames) == 0:
            return np.asarray(frames, dtype=np.float32)
        f = np.asarray(frames, dtype=np.float64)
        x = np.concatenate([f, np.ones((len(f), 1))], axis=1)
        # One first-order recursion per column, y[t] = x[t] + a y[t-1], run
        # frame by frame in C by lfilter; its state carries over between calls.
        y, _ = signal.lfilter([1.0], [1.0, -self.decay], x, axis=0,
                              zi=(self.decay * self.last)[None, :])
        self.last = y[-1]
        return (f - y[:, :-1] / y[:, -1:] + self.prior).astype(np.float32)


def num_frames(n_samples, cfg):
    """Frames produced for ``n_samples`` samples: python_speech_features'
    rule, one frame for anything up to one window, then one per hop with the
    last frame zero-padded."""
    if n_samples <= 0:
        return 0
    if n_samples <= cfg.win_len:
        return 1
    return 1 + int(np.ceil((n_samples - cfg.win_len) / cfg.hop_len))


class _Bank:
    """The mel filterbank matrix and window for a config (cached per config)."""
    _cache = {}

    @classmethod
    def get(cls, cfg):
        b = cls._cache.get(cfg)
        if b is None:
            fb = psf.get_filterbanks(cfg.num_filters, cfg.nfft, cfg.sample_rate,
                                     cfg.low_hz, cfg.high_hz)
            if cfg.window == "hamming":
                win = np.hamming(cfg.win_len)
            elif cfg.window == "rect":
                win = np.ones(cfg.win_len)
            else:
                raise ValueError("unknown window %r" % cfg.window)
            b = cls._cache[cfg] = (np.ascontiguousarray(fb), win)
        return b


def _frames_to_logmel(frames, cfg):
    """frames: (n, win_len) pre-emphasized samples -> (n, num_filters) float32."""
    fb, win = _Bank.get(cfg)
    pspec = sigproc.powspec(frames * win, cfg.nfft)            # (n, nfft/2+1)
    # Per-row reduction (numpy's pairwise sum on the last axis) rather than
    # pspec @ fb.T: the result of one row never depends on the other rows.
    # Blocks of 64 rows bound the temporary (64 x filters x bins doubles).
    energy = np.empty((len(pspec), fb.shape[0]))
    for i in range(0, len(pspec), 64):
        energy[i:i + 64] = np.add.reduce(pspec[i:i + 64, None, :] * fb[None, :, :], axis=-1)
    return np.log(np.maximum(energy, cfg.log_floor)).astype(np.float32)


def logmel(samples, cfg=FeatureConfig()):
    """Whole-utterance features of mono float samples at cfg.sample_rate."""
    fe = FeatureStream(cfg)
    a = fe.accept(samples)
    b = fe.finish()
    return np.concatenate([a, b]) if len(a) else b


class FeatureStream:
    """Incremental features: ``accept`` chunks of samples, then ``finish``.

    Keeps the last sample (for pre-emphasis) and the samples of the frames
    not yet complete; emits a frame as soon as its window is filled.
    """

    def __init__(self, cfg=FeatureConfig()):
        self.cfg = cfg
        self.cmn = ChannelNorm(cfg) if cfg.cmn_frames else None
        self.prev = 0.0          # last raw sample, for pre-emphasis
        self.pending = np.zeros(0, dtype=np.float64)  # pre-emphasized, from frame `done`
        self.done = 0            # frames emitted
        self.total = 0           # samples seen
        self.finished = False

    def accept(self, samples):
        """Add samples (1-D float); return the frames now complete."""
        if self.finished:
            raise ValueError("the feature stream is finished")
        x = np.asarray(samples, dtype=np.float64).reshape(-1)
        if len(x) == 0:
            return np.zeros((0, self.cfg.num_filters), dtype=np.float32)
        shifted = np.concatenate([[self.prev], x[:-1]])
        emph = x - self.cfg.preemph * shifted
        self.prev = x[-1]
        self.total += len(x)
        self.pending = np.concatenate([self.pending, emph])
        win, hop = self.cfg.win_len, self.cfg.hop_len
        # Only frames that are complete AND that the whole-signal rule would
        # also produce unpadded are emitted early; the tail waits for finish.
        n = 0 if len(self.pending) < win else 1 + (len(self.pending) - win) // hop
        return self._emit(n)

    def finish(self):
        """Flush the remaining frames (zero-padding the last, as the whole
        call does) and close the stream."""
        if self.finished:
            raise ValueError("the feature stream is finished")
        self.finished = True
        n = num_frames(self.total, self.cfg) - self.done
        need = (n - 1) * self.cfg.hop_len + self.cfg.win_len if n > 0 else 0
        if need > len(self.pending):
            self.pending = np.concatenate([self.pending, np.zeros(need - len(self.pending))])
        return self._emit(n)

    def _emit(self, n):
        if n <= 0:
            return np.zeros((0, self.cfg.num_filters), dtype=np.float32)
        win, hop = self.cfg.win_len, self.cfg.hop_len
        idx = np.arange(n)[:, None] * hop + np.arange(win)[None, :]
        out = _frames_to_logmel(self.pending[idx], self.cfg)
        if self.cmn is not None:
            out = self.cmn.apply(out)
        self.pending = self.pending[n * hop:]
        self.done += n
        return out
